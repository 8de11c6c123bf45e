"""Normalization ops: batch_norm, layer_norm, group_norm, instance_norm, rms_norm, local_response_norm.

batch/layer/group/rms norm share one fused forward and one backward rule. The input is viewed
as ``stat_shape`` (group_norm folds channels into groups), normalized over ``axes`` of that
view, and scaled/shifted by parameters broadcast as ``param_shape`` against the input.
Backward, with x_hat the normalized input, dy_hat = dy * weight and N elements per statistic:

    dx = rstd * (dy_hat - mean(dy_hat) - x_hat * mean(dy_hat * x_hat))

(no ``mean(dy_hat)`` term for rms_norm; only ``rstd * dy_hat`` when the statistics are
constants, as in batch_norm's eval mode). Without a graph of the backward (the usual case)
it runs on arrays; under ``create_graph`` the same formula runs on ember ops, with the
statistics recomputed from the saved input so that higher-order gradients are exact.
float16/bfloat16 are computed in float32 and the results cast back.
"""
from __future__ import annotations

import functools
import math

import numpy as np

from .. import _dtype as D
from .._backend import array_module
from ._util import Tensor, Node, edge, _GradState, _wrap, _make, wrap_dim, _scalar_type_name



# ------------------------------------------------------------------------------------------
# The shared backward rule
# ------------------------------------------------------------------------------------------

class _NormBackward(Node):
    """Saved: input and weight; attributes: the layout and the forward's statistics (arrays)."""

    def apply(self, g):
        x, weight = self._saved_tensors()
        nx, nw, nb = self._next
        if not _GradState.enabled:  # NOTE: no graph of the backward is recorded: plain array math
            return self._apply_arrays(g._data, x._data, None if weight is None else weight._data)
        return self._apply_tensors(g, x, weight)

    # -- fast path ---------------------------------------------------------------------
    def _apply_arrays(self, gd, xd, wd):
        nx, nw, nb = self._next
        work = self._work_dtype
        gd = gd.astype(work, copy=False)
        x_hat = self._x_hat_array(xd.astype(work, copy=False))  # a fresh array, reused for dx
        dx = dw = db = None
        if nw is not None:
            dw = _sum_of_products(gd, x_hat.reshape(gd.shape), self._param_axes)
            dw = _wrap(dw.reshape(self._weight_shape).astype(self._w_dtype, copy=False))
        if nb is not None:
            db = _wrap(gd.sum(axis=self._param_axes).reshape(self._bias_shape).astype(self._b_dtype, copy=False))
        if nx is not None:
            dy_hat = gd if wd is None else gd * wd.astype(work, copy=False).reshape(self._param_shape)
            dx = _wrap(self._dx_array(dy_hat, x_hat).reshape(xd.shape).astype(xd.dtype, copy=False))
        return dx, dw, db

    def _x_hat_array(self, x):
        """The normalized input in ``stat_shape`` (recomputed: only x, mean and rstd are saved)."""
        xv = x.reshape(self._stat_shape)
        if self._mean is None:
            return xv * self._rstd
        x_hat = xv - self._mean
        x_hat *= self._rstd
        return x_hat

    def _dx_array(self, dy_hat, x_hat):
        """rstd * (dy_hat - mean(dy_hat) - x_hat * mean(dy_hat * x_hat)), written into ``x_hat``."""
        dyv = dy_hat.reshape(self._stat_shape)
        if not self._batch_stats:
            return dyv * self._rstd
        axes = self._axes
        count = _count(dyv.shape, axes)
        proj = _sum_of_products(dyv, x_hat, axes)
        proj /= max(count, 1)
        dx = x_hat
        dx *= proj
        array_module(dx).subtract(dyv, dx, out=dx)
        if self._mean is not None:
            dx -= _mean(dyv, axes)
        dx *= self._rstd
        return dx

    # -- create_graph path: the same formulas on ember ops ------------------------------
    def _apply_tensors(self, g, x, weight):
        nx, nw, nb = self._next
        work = D._FROM_NP[self._work_dtype]
        g = g.to(work)
        xv = x.to(work).reshape(self._stat_shape)
        x_hat, rstd = self._x_hat_tensor(xv)
        dx = dw = db = None
        if nx is not None:
            dy_hat = g if weight is None else g * weight.to(work).reshape(self._param_shape)
            dyv = dy_hat.reshape(self._stat_shape)
            if self._batch_stats:
                axes = self._axes
                inner = dyv - x_hat * (dyv * x_hat).mean(axes, keepdim=True)
                if self._mean is not None:
                    inner = inner - dyv.mean(axes, keepdim=True)
                dx = (inner * rstd).reshape(x.shape)
            else:
                dx = (dyv * rstd).reshape(x.shape)
            dx = dx.to(D._FROM_NP[x._data.dtype])
        if nw is not None:
            dw = (g * x_hat.reshape(g.shape)).sum(self._param_axes).reshape(self._weight_shape)
            dw = dw.to(D._FROM_NP[self._w_dtype])
        if nb is not None:
            db = g.sum(self._param_axes).reshape(self._bias_shape).to(D._FROM_NP[self._b_dtype])
        return dx, dw, db

    def _x_hat_tensor(self, xv):
        if not self._batch_stats:  # statistics are constants (running stats)
            rstd = _wrap(self._rstd)
            return (xv - _wrap(self._mean)) * rstd, rstd
        axes = self._axes
        if self._mean is None:
            rstd = ((xv * xv).mean(axes, keepdim=True) + self._eps).rsqrt()
            return xv * rstd, rstd
        centered = xv - xv.mean(axes, keepdim=True)
        rstd = ((centered * centered).mean(axes, keepdim=True) + self._eps).rsqrt()
        return centered * rstd, rstd


class NativeBatchNormBackward0(_NormBackward):
    pass


class NativeLayerNormBackward0(_NormBackward):
    pass


class NativeGroupNormBackward0(_NormBackward):
    pass


class FusedRmsNormBackward0(_NormBackward):
    # NOTE: PyTorch's CPU rms_norm is composite (its grad_fn is MulBackward0); ember fuses it and
    # uses the name PyTorch gives its fused kernel's backward.
    pass


# ------------------------------------------------------------------------------------------
# The shared forward
# ------------------------------------------------------------------------------------------

def _float_input(input: Tensor, kernel: str):
    d = input._data
    if d.dtype.kind not in "fV":
        raise NotImplementedError(f'"{kernel}" not implemented for \'{_scalar_type_name(d.dtype)}\'')
    return d


_FLOAT32 = np.dtype(np.float32)


def _work_dtype(np_dtype):
    """float16/bfloat16 (the 2-byte floats) are accumulated in float32, as PyTorch's CPU kernels do."""
    return _FLOAT32 if np_dtype.itemsize == 2 else np_dtype


def _check_param_dtype(d, param: Tensor | None) -> None:
    if param is not None and param._data.dtype != d.dtype and d.dtype.itemsize != 2:
        # NOTE: PyTorch words it two ways: a float32 input names the type, any other input does not
        if d.dtype == _FLOAT32:
            raise RuntimeError("mixed dtype (CPU): expect parameter to have scalar type of Float")
        raise RuntimeError("mixed dtype (CPU): all inputs must share same datatype.")


def _count(shape, axes) -> int:
    return math.prod(shape[i] for i in axes)


@functools.lru_cache(maxsize=256)
def _einsum_spec(ndim: int, axes: tuple) -> str:
    letters = "abcdefghijklmnopqrstuvwxyz"[:ndim]
    kept = "".join(letter for i, letter in enumerate(letters) if i not in axes)
    return f"{letters},{letters}->{kept}"


def _sum_of_products(a, b, axes):
    """sum(a * b) over ``axes`` with keepdims, without the full-size temporary (one einsum)."""
    res = array_module(a).einsum(_einsum_spec(a.ndim, axes), a, b)
    return res.reshape(tuple(1 if i in axes else n for i, n in enumerate(a.shape)))


def _mean(a, axes):
    """mean over ``axes`` with keepdims (0 for an empty input: its statistics are never used)."""
    total = a.sum(axis=axes, keepdims=True)
    count = _count(a.shape, axes)
    if count > 1:
        total /= count
    return total


def _batch_moments(xv, axes, centered: bool):
    """(mean or None, biased variance or mean square, x minus mean) over ``axes``, with keepdims."""
    count = max(_count(xv.shape, axes), 1)
    if not centered:
        return None, _sum_of_products(xv, xv, axes) / count, xv
    mean = _mean(xv, axes)
    centered_x = xv - mean
    return mean, _sum_of_products(centered_x, centered_x, axes) / count, centered_x


def _affine(out, weight: Tensor | None, bias: Tensor | None, param_shape, work):
    """``out * weight + bias`` in place (``out`` is a fresh array)."""
    if weight is not None:
        out *= weight._data.astype(work, copy=False).reshape(param_shape)
    if bias is not None:
        out += bias._data.astype(work, copy=False).reshape(param_shape)
    return out


def _record(node_cls, input: Tensor, weight, bias, res, layout: dict, mean, rstd, batch_stats: bool,
            eps: float) -> Tensor:
    """Wrap ``res``; when anything requires grad, as the output of a ``node_cls`` node."""
    if not _GradState.enabled or not (input._requires_grad or (weight is not None and weight._requires_grad)
                                      or (bias is not None and bias._requires_grad)):
        return _wrap(res)
    node = node_cls()
    node._next = (edge(input), None if weight is None else edge(weight), None if bias is None else edge(bias))
    node._save(input, weight)
    node.__dict__.update(layout)
    node._mean, node._rstd, node._batch_stats, node._eps = mean, rstd, batch_stats, eps
    node._work_dtype = _work_dtype(input._data.dtype)
    node._weight_shape = None if weight is None else weight._data.shape
    node._w_dtype = None if weight is None else weight._data.dtype
    node._bias_shape = None if bias is None else bias._data.shape
    node._b_dtype = None if bias is None else bias._data.dtype
    return _make(res, node)


def _normalize(node_cls, input: Tensor, d, weight, bias, eps: float, layout: dict, centered: bool = True):
    """Normalize ``d`` (``input``'s array) with its own statistics; returns (output, mean, biased variance)."""
    work = _work_dtype(d.dtype)
    xv = d.astype(work, copy=False).reshape(layout["_stat_shape"])
    with np.errstate(invalid="ignore", divide="ignore"):
        mean, var, centered_x = _batch_moments(xv, layout["_axes"], centered)
        rstd = (1.0 / array_module(var).sqrt(var + eps)).astype(work, copy=False)
    if centered:  # centered_x is a fresh array
        centered_x *= rstd
        out = centered_x
    else:
        out = centered_x * rstd
    out = _affine(out.reshape(d.shape), weight, bias, layout["_param_shape"], work)
    res = out.astype(d.dtype, copy=False)
    return _record(node_cls, input, weight, bias, res, layout, mean, rstd, True, eps), mean, var


def _param_axes(ndim: int, param_shape) -> tuple:
    """The input axes a parameter broadcast as ``param_shape`` is summed over in backward."""
    lead = ndim - len(param_shape)
    return tuple(range(lead)) + tuple(lead + i for i, s in enumerate(param_shape) if s == 1)


# ------------------------------------------------------------------------------------------
# batch_norm / instance_norm
# ------------------------------------------------------------------------------------------

def _check_channel_vector(name: str, t: Tensor | None, channels: int) -> None:
    if t is not None and t._data.size != channels:
        raise RuntimeError(f"{name} should contain {channels} elements not {t._data.size}")


def _verify_batch_size(input: Tensor) -> None:
    shape = input._data.shape
    values = shape[0] * math.prod(shape[2:])
    if values == 1:
        raise ValueError(f"Expected more than 1 value per channel when training, got input size {input.size()!r}")


def batch_norm(input: Tensor, running_mean: Tensor | None, running_var: Tensor | None,
               weight: Tensor | None = None, bias: Tensor | None = None, training: bool = False,
               momentum: float = 0.1, eps: float = 1e-5) -> Tensor:
    """Per-channel normalization over (N, *) (``F.batch_norm``).

    In training mode the batch statistics are used and the running statistics (when given) are
    updated in place: ``running = (1 - momentum) * running + momentum * stat``, with the
    unbiased variance. In eval mode the running statistics normalize.
    """
    if training and input._data.ndim >= 2:
        _verify_batch_size(input)
    d = _float_input(input, "batch_norm")
    channels = d.shape[1] if d.ndim >= 2 else 0
    _check_channel_vector("running_mean", running_mean, channels)
    _check_channel_vector("running_var", running_var, channels)
    _check_channel_vector("weight", weight, channels)
    _check_channel_vector("bias", bias, channels)
    if not training and (running_mean is None or running_var is None):
        raise RuntimeError(f"running_{'mean' if running_mean is None else 'var'} must be defined in evaluation mode")
    if d.ndim < 2:
        wrap_dim(1, d.ndim)  # PyTorch's IndexError for a missing channel dimension
    for p in (weight, bias, running_mean, running_var):
        _check_param_dtype(d, p)
    ndim = d.ndim
    param_shape = (channels,) + (1,) * (ndim - 2)
    axes = (0,) + tuple(range(2, ndim))
    layout = {"_stat_shape": d.shape, "_axes": axes, "_param_shape": param_shape, "_param_axes": axes}
    if training:
        out, mean, var = _normalize(NativeBatchNormBackward0, input, d, weight, bias, eps, layout)
        if running_mean is not None or running_var is not None:
            _update_running_stats(running_mean, running_var, mean, var, d.size // max(channels, 1), momentum)
        return out
    return _batch_norm_eval(input, d, running_mean, running_var, weight, bias, eps, layout)


def _update_running_stats(running_mean, running_var, mean, var, count: int, momentum: float) -> None:
    """The in-place, unrecorded momentum update of the running statistics (skipped for empty input)."""
    if count == 0:
        return
    if running_mean is not None:
        rm = running_mean._data
        rm *= 1 - momentum
        rm += mean.reshape(rm.shape).astype(rm.dtype, copy=False) * momentum
        running_mean._vbox[0] += 1
    if running_var is not None:
        rv = running_var._data
        correction = count / (count - 1) if count > 1 else float("nan")  # unbiased variance
        rv *= 1 - momentum
        rv += var.reshape(rv.shape).astype(rv.dtype, copy=False) * (correction * momentum)
        running_var._vbox[0] += 1


def _batch_norm_eval(input: Tensor, d, running_mean: Tensor, running_var: Tensor, weight, bias, eps: float,
                     layout: dict) -> Tensor:
    """``x * alpha + beta`` with per-channel alpha = weight * rstd, beta = bias - mean * alpha: two passes."""
    work = _work_dtype(d.dtype)
    param_shape = layout["_param_shape"]
    mean = running_mean._data.astype(work, copy=False)
    rstd = (1.0 / array_module(d).sqrt(running_var._data.astype(work, copy=False) + eps)).astype(work, copy=False)
    alpha = rstd if weight is None else weight._data.astype(work, copy=False) * rstd
    beta = -mean * alpha
    if bias is not None:
        beta = beta + bias._data.astype(work, copy=False)
    out = d.astype(work, copy=False) * alpha.reshape(param_shape)
    out += beta.reshape(param_shape)
    res = out.astype(d.dtype, copy=False)
    return _record(NativeBatchNormBackward0, input, weight, bias, res, layout, mean.reshape(param_shape),
                   rstd.reshape(param_shape), False, eps)


def _verify_spatial_size(input: Tensor) -> None:
    if math.prod(input._data.shape[2:]) == 1:
        raise ValueError(f"Expected more than 1 spatial element when training, got input size {input.size()!r}")


def instance_norm(input: Tensor, running_mean: Tensor | None = None, running_var: Tensor | None = None,
                  weight: Tensor | None = None, bias: Tensor | None = None, use_input_stats: bool = True,
                  momentum: float = 0.1, eps: float = 1e-5) -> Tensor:
    """Per-sample, per-channel normalization over the spatial dims (``F.instance_norm``).

    As in PyTorch: batch_norm on the input viewed as (1, N*C, *), the running statistics (when
    given) updated with the batch average of the per-instance statistics.
    """
    if use_input_stats:
        _verify_spatial_size(input)
    elif running_mean is None or running_var is None:
        raise RuntimeError("Expected running_mean and running_var to be defined when use_input_stats is false")
    shape = input._data.shape
    n, c = shape[0], shape[1]
    folded = input.reshape(1, n * c, *shape[2:])
    rm = None if running_mean is None else _wrap(_repeat_channels(running_mean._data, n))
    rv = None if running_var is None else _wrap(_repeat_channels(running_var._data, n))
    w = None if weight is None else weight.repeat(n)
    b = None if bias is None else bias.repeat(n)
    out = batch_norm(folded, rm, rv, w, b, use_input_stats, momentum, eps)
    # the running statistics are the mean over the batch of the per-instance updates
    if use_input_stats and running_mean is not None:
        running_mean._data[...] = rm._data.reshape(n, c).mean(axis=0)
        running_mean._vbox[0] += 1
    if use_input_stats and running_var is not None:
        running_var._data[...] = rv._data.reshape(n, c).mean(axis=0)
        running_var._vbox[0] += 1
    return out.view(shape)


def _repeat_channels(arr, n: int):
    return array_module(arr).tile(arr, n)


# ------------------------------------------------------------------------------------------
# layer_norm / rms_norm / group_norm
# ------------------------------------------------------------------------------------------

def _normalized_layout(input: Tensor, normalized_shape, weight, bias, rms: bool) -> dict:
    """Check ``normalized_shape`` against the input and parameters; the layout over the last dims."""
    norm_shape = (int(normalized_shape),) if isinstance(normalized_shape, (int, np.integer)) \
        else tuple(int(s) for s in normalized_shape)
    shape = input._data.shape
    k = len(norm_shape)
    if k == 0:
        raise RuntimeError("Expected normalized_shape to be at least 1-dimensional, i.e., containing at least one "
                           "element, but got normalized_shape = []")
    for name, param in (("weight", weight), ("bias", bias)):
        if param is not None and tuple(param._data.shape) != norm_shape:
            raise RuntimeError(f"Expected {name} to be of same shape as normalized_shape, but got {name} of shape "
                               f"{list(param._data.shape)} and normalized_shape = {list(norm_shape)}")
    if len(shape) < k or tuple(shape[len(shape) - k:]) != norm_shape:
        star = "*" if rms else "*, "
        raise RuntimeError(f"Given normalized_shape={list(norm_shape)}, expected input with shape "
                           f"[{star}{', '.join(map(str, norm_shape))}], but got input of size{list(shape)}")
    axes = tuple(range(len(shape) - k, len(shape)))
    return {"_stat_shape": shape, "_axes": axes, "_param_shape": norm_shape,
            "_param_axes": tuple(range(len(shape) - k))}


def layer_norm(input: Tensor, normalized_shape, weight: Tensor | None = None, bias: Tensor | None = None,
               eps: float = 1e-5) -> Tensor:
    """Normalization over the last ``len(normalized_shape)`` dims (``F.layer_norm``)."""
    d = _float_input(input, "LayerNormKernelImpl")
    layout = _normalized_layout(input, normalized_shape, weight, bias, rms=False)
    _check_param_dtype(d, weight)
    _check_param_dtype(d, bias)
    return _normalize(NativeLayerNormBackward0, input, d, weight, bias, eps, layout)[0]


def rms_norm(input: Tensor, normalized_shape, weight: Tensor | None = None, eps: float | None = None) -> Tensor:
    """``x / sqrt(mean(x**2) + eps) * weight`` over the last dims (``F.rms_norm``).

    ``eps=None`` is the machine epsilon of the computation dtype (float32 for float16/bfloat16).
    """
    d = _float_input(input, "rms_norm")
    layout = _normalized_layout(input, normalized_shape, weight, None, rms=True)
    if eps is None:
        eps = float(np.finfo(_work_dtype(d.dtype)).eps)
    return _normalize(FusedRmsNormBackward0, input, d, weight, None, eps, layout, centered=False)[0]


def group_norm(input: Tensor, num_groups: int, weight: Tensor | None = None, bias: Tensor | None = None,
               eps: float = 1e-5) -> Tensor:
    """Normalization over groups of channels and the spatial dims, per sample (``F.group_norm``)."""
    shape = input._data.shape
    if len(shape) < 2:
        raise RuntimeError(f"Expected at least 2 dimensions for input tensor but received {len(shape)}")
    channels = shape[1]
    if channels % num_groups:
        raise RuntimeError(f"Expected number of channels in input to be divisible by num_groups, but got input of "
                           f"shape {list(shape)} and num_groups={num_groups}")
    for name, param in (("weight", weight), ("bias", bias)):
        if param is not None and (param._data.ndim != 1 or param._data.shape[0] != channels):
            raise RuntimeError(f"Expected {name} to be a vector of size equal to the number of channels in input, "
                               f"but got {name} of shape {list(param._data.shape)} and input of shape {list(shape)}")
    d = _float_input(input, "GroupNormKernelImpl")
    _check_param_dtype(d, weight)
    _check_param_dtype(d, bias)
    param_shape = (channels,) + (1,) * (len(shape) - 2)
    layout = {"_stat_shape": (shape[0], num_groups, (channels // num_groups) * math.prod(shape[2:])),
              "_axes": (2,), "_param_shape": param_shape,
              "_param_axes": _param_axes(len(shape), param_shape)}
    return _normalize(NativeGroupNormBackward0, input, d, weight, bias, eps, layout)[0]


# ------------------------------------------------------------------------------------------
# local_response_norm (composite, as in PyTorch)
# ------------------------------------------------------------------------------------------

def local_response_norm(input: Tensor, size: int, alpha: float = 1e-4, beta: float = 0.75,
                        k: float = 1.0) -> Tensor:
    """``x / (k + alpha * mean of x**2 over ``size`` neighbouring channels) ** beta`` (``F.local_response_norm``)."""
    ndim = input.dim()
    if ndim < 3:
        # NOTE: PyTorch's message has this run of spaces (a line continuation inside its string)
        raise ValueError(f"Expected 3D or higher dimensionality{' ' * 26}input (got {ndim} dimensions)")
    if input.numel() == 0:
        return input
    channels = input.shape[1]
    sq = input * input
    # zero-pad the channel dim by size//2 before and (size-1)//2 after, then a window sum
    pad_before, pad_after = size // 2, (size - 1) // 2
    from .shape import cat
    from .._factory import zeros
    rest = tuple(input.shape[2:])
    parts = []
    if pad_before:
        parts.append(zeros((input.shape[0], pad_before) + rest, dtype=input.dtype, device=input.device))
    parts.append(sq)
    if pad_after:
        parts.append(zeros((input.shape[0], pad_after) + rest, dtype=input.dtype, device=input.device))
    padded = cat(parts, 1) if len(parts) > 1 else sq
    window = padded.narrow(1, 0, channels)
    for offset in range(1, size):
        window = window + padded.narrow(1, offset, channels)
    div = (window * (alpha / size) + k) ** beta
    return input / div


TENSOR_METHODS = {}

# NOTE: torch.batch_norm/torch.instance_norm take their arguments in another order than F's, so only
# the functions whose signatures agree are exported at the top level; nn.functional has them all.
__all__ = ["layer_norm", "group_norm", "rms_norm"]
