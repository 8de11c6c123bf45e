"""``ember.nn.functional``: activations, losses, dropout, embedding and distance helpers.

Activations with a dedicated PyTorch backward (``GeluBackward0``, ``EluBackward0``, ...) are
ops here: the forward is one or two array calls, the backward is written with ember ops so
``create_graph=True`` gives higher-order gradients. Everything else is composed from ember
ops and needs no backward of its own.
"""
from __future__ import annotations

import math
import warnings

import numpy as np

import ember
from .. import _dtype as D
from .._backend import array_module, special_erf, to_numpy
from .._tensor import Tensor
from ..ops._util import (Node, edge, SavedOutput, _GradState, _wrap, _make, grad_for, wrap_dim,
                         _scalar_type_name)
# NOTE: imported under another name: the activations take a boolean argument called ``inplace``
from ..ops._util import inplace as _inplace
from ..ops import nn as _nn_ops
from ..ops import elementwise as _ew
from ..ops.index import _add_at

__all__ = [
    "relu", "relu_", "relu6", "leaky_relu", "leaky_relu_", "prelu", "elu", "elu_", "celu", "celu_", "selu",
    "selu_", "gelu", "silu", "mish", "sigmoid", "tanh", "softplus", "softsign", "hardtanh", "hardtanh_",
    "hardsigmoid", "hardswish", "logsigmoid", "log_sigmoid", "softmax", "log_softmax", "softmin", "threshold",
    "threshold_", "tanhshrink", "softshrink", "hardshrink", "glu", "rrelu",
    "dropout", "dropout1d", "dropout2d", "dropout3d", "alpha_dropout", "feature_alpha_dropout",
    "embedding", "one_hot", "normalize", "cosine_similarity", "pairwise_distance", "linear",
    "l1_loss", "mse_loss", "cross_entropy", "nll_loss", "binary_cross_entropy",
    "binary_cross_entropy_with_logits", "huber_loss", "smooth_l1_loss", "kl_div", "gaussian_nll_loss",
    "cosine_embedding_loss", "margin_ranking_loss", "triplet_margin_loss",
]

_SQRT1_2 = 1.0 / math.sqrt(2.0)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)
_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)
_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946


# ------------------------------------------------------------------------------------------
# Helpers
# ------------------------------------------------------------------------------------------

def _float_data(input: Tensor, kernel: str):
    """``input``'s array; PyTorch has no integer kernel for these activations."""
    d = input._data
    if d.dtype.kind not in "fV":
        raise NotImplementedError(f'"{kernel}" not implemented for \'{_scalar_type_name(d.dtype)}\'')
    return d


def _record(node: Node, input: Tensor, res, save_output: bool = False) -> Tensor:
    """Wrap ``res`` as the output of ``node`` (one input, saved for backward)."""
    node._next = (edge(input),)
    node._save(input)
    out = _make(res, node)
    if save_output:
        node._out = SavedOutput(out)
    return out


def _needs_grad(input: Tensor) -> bool:
    return _GradState.enabled and input._requires_grad


# ------------------------------------------------------------------------------------------
# Activations with their own backward node
# ------------------------------------------------------------------------------------------

def relu(input: Tensor, inplace: bool = False) -> Tensor:
    """max(x, 0) (``F.relu``)."""
    return input.relu_() if inplace else _ew.relu(input)


def relu_(input: Tensor) -> Tensor:
    return input.relu_()


class HardtanhBackward0(Node):
    def apply(self, g):
        (x,) = self._saved_tensors()
        inside = (x > self._min) & (x < self._max)
        return (ember.where(inside, g, 0.0),)


def _hardtanh(input: Tensor, min_val: float, max_val: float) -> Tensor:
    d = input._data
    if d.dtype.kind == "b":
        raise RuntimeError("Bool inputs not supported for hardtanh")
    res = array_module(d).clip(d, min_val, max_val).astype(d.dtype, copy=False)
    if _needs_grad(input):
        node = HardtanhBackward0()
        node._min, node._max = min_val, max_val
        return _record(node, input, res)
    return _wrap(res)


def hardtanh(input: Tensor, min_val: float = -1.0, max_val: float = 1.0, inplace: bool = False) -> Tensor:
    """Clamp to [min_val, max_val] (``F.hardtanh``); the gradient is zero at and beyond the bounds."""
    if min_val > max_val:
        raise ValueError("min_val cannot be greater than max_val")
    if inplace:
        return _inplace(input, _hardtanh, min_val, max_val)
    return _hardtanh(input, min_val, max_val)


def hardtanh_(input: Tensor, min_val: float = -1.0, max_val: float = 1.0) -> Tensor:
    return hardtanh(input, min_val, max_val, inplace=True)


def relu6(input: Tensor, inplace: bool = False) -> Tensor:
    """min(max(x, 0), 6) (``F.relu6``), recorded as hardtanh as PyTorch does."""
    return hardtanh(input, 0.0, 6.0, inplace)


class LeakyReluBackward0(Node):
    def apply(self, g):
        (x,) = self._saved_tensors()
        return (ember.where(x > 0, g, g * self._slope),)


def _leaky_relu(input: Tensor, negative_slope: float) -> Tensor:
    d = _float_data(input, "leaky_relu_cpu")
    res = array_module(d).where(d > 0, d, d * negative_slope).astype(d.dtype, copy=False)
    if _needs_grad(input):
        node = LeakyReluBackward0()
        node._slope = negative_slope
        return _record(node, input, res)
    return _wrap(res)


def leaky_relu(input: Tensor, negative_slope: float = 0.01, inplace: bool = False) -> Tensor:
    """x if x > 0 else negative_slope * x (``F.leaky_relu``)."""
    if inplace:
        return _inplace(input, _leaky_relu, negative_slope)
    return _leaky_relu(input, negative_slope)


def leaky_relu_(input: Tensor, negative_slope: float = 0.01) -> Tensor:
    return leaky_relu(input, negative_slope, inplace=True)


class PreluKernelBackward0(Node):
    def apply(self, g):
        x, w = self._saved_tensors()
        nx, nw = self._next
        positive = x > 0
        wb = w.reshape(self._wshape)
        gx = ember.where(positive, g, g * wb) if nx is not None else None
        gw = None
        if nw is not None:
            gw = grad_for(ember.where(positive, 0.0, g * x), self._wshape, w._data.dtype).reshape(w.shape)
        return gx, gw


def prelu(input: Tensor, weight: Tensor) -> Tensor:
    """x if x > 0 else weight[channel] * x, channels on dim 1 (``F.prelu``)."""
    if weight.dim() > 1:
        raise RuntimeError(f"prelu: Expected `weight` to be a scalar or 1D tensor, but got: ndim = {weight.dim()}")
    channels = input.shape[1] if input.dim() >= 2 else 1
    n = weight.numel()
    if n != 1 and n != channels:
        raise RuntimeError("Mismatch of parameter numbers and input channel size. Found parameter numbers = "
                           f"{n} and channel size = {channels}.")
    d, wd = input._data, weight._data
    # weight broadcast along dim 1 (or everywhere when it has one element)
    wshape = (1, n) + (1,) * (d.ndim - 2) if n > 1 else (1,) * d.ndim
    res = array_module(d).where(d > 0, d, d * wd.reshape(wshape))
    res = res.astype(np.result_type(d.dtype, wd.dtype), copy=False)
    if _GradState.enabled and (input._requires_grad or weight._requires_grad):
        node = PreluKernelBackward0()
        node._next = (edge(input), edge(weight))
        node._save(input, weight)
        node._wshape = wshape
        return _make(res, node)
    return _wrap(res)


class EluBackward0(Node):
    """ELU, SELU (scale) and CELU (input_scale = 1/alpha): x > 0 gives scale * g."""

    _scale = 1.0
    _input_scale = 1.0

    def apply(self, g):
        (x,) = self._saved_tensors()
        negative_slope = (x.clamp(max=0) * self._input_scale).exp() * (self._alpha * self._scale * self._input_scale)
        positive = g * self._scale if self._scale != 1.0 else g
        return (ember.where(x > 0, positive, g * negative_slope),)


class CeluBackward0(EluBackward0):
    pass


def _elu_family(input, alpha, scale, input_scale, node_cls, kernel):
    d = _float_data(input, kernel)
    xp = array_module(d)
    negative = xp.expm1(xp.minimum(d, 0) * input_scale) * (alpha * scale)
    res = xp.where(d > 0, d * scale, negative).astype(d.dtype, copy=False)
    if _needs_grad(input):
        node = node_cls()
        node._alpha, node._scale, node._input_scale = alpha, scale, input_scale
        return _record(node, input, res)
    return _wrap(res)


def _elu(input, alpha):
    return _elu_family(input, alpha, 1.0, 1.0, EluBackward0, "elu_cpu")


def elu(input: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    """x if x > 0 else alpha * (exp(x) - 1) (``F.elu``)."""
    return _inplace(input, _elu, alpha) if inplace else _elu(input, alpha)


def elu_(input: Tensor, alpha: float = 1.0) -> Tensor:
    return elu(input, alpha, inplace=True)


def _selu(input):
    return _elu_family(input, _SELU_ALPHA, _SELU_SCALE, 1.0, EluBackward0, "elu_cpu")


def selu(input: Tensor, inplace: bool = False) -> Tensor:
    """scale * elu(x, alpha) with the self-normalising constants (``F.selu``)."""
    return _inplace(input, _selu) if inplace else _selu(input)


def selu_(input: Tensor) -> Tensor:
    return selu(input, inplace=True)


def _celu(input, alpha):
    if alpha == 0:
        raise RuntimeError("ZeroDivisionError: alpha cannot be 0 for CELU")
    return _elu_family(input, alpha, 1.0, 1.0 / alpha, CeluBackward0, "elu_cpu")


def celu(input: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    """max(0, x) + min(0, alpha * (exp(x / alpha) - 1)) (``F.celu``)."""
    return _inplace(input, _celu, alpha) if inplace else _celu(input, alpha)


def celu_(input: Tensor, alpha: float = 1.0) -> Tensor:
    return celu(input, alpha, inplace=True)


# Rational approximation of erf on [-4, 4] in float32 (the one Eigen and XLA use): within 5e-7 of the
# exact value, and about 6x faster than SciPy's erf, which is the cost of GELU on large float32 arrays.
_ERF_NUMERATOR = (-2.72614225801306e-10, 2.77068142495902e-08, -2.10102402082508e-06, -5.69250639462346e-05,
                  -7.34990630326855e-04, -2.95459980854025e-03, -1.60960333262415e-02)
_ERF_DENOMINATOR = (-1.45660718464996e-05, -2.13374055278905e-04, -1.68282697438203e-03,
                    -7.37332916720468e-03, -1.42647390514189e-02)


def _erf(a):
    """erf of an array: the float32 rational approximation for NumPy float32, else the backend's exact erf."""
    if a.dtype != np.float32 or type(a) is not np.ndarray:
        return special_erf(a)
    x = np.clip(a, -4.0, 4.0)
    x2 = x * x
    numerator = x2 * np.float32(_ERF_NUMERATOR[0])
    for c in _ERF_NUMERATOR[1:]:
        numerator += np.float32(c)
        if c is not _ERF_NUMERATOR[-1]:
            numerator *= x2
    numerator *= x
    denominator = x2 * np.float32(_ERF_DENOMINATOR[0])
    for c in _ERF_DENOMINATOR[1:]:
        denominator += np.float32(c)
        if c is not _ERF_DENOMINATOR[-1]:
            denominator *= x2
    numerator /= denominator
    return numerator


# A chain of a dozen elementwise passes (erf's polynomial) over an array larger than a core's
# L2 goes to memory on every pass; run in blocks of this many elements, the block's temporaries
# stay in cache (GELU on 1024x512 float32: 2.7 -> 1.4 ms).
_CACHE_BLOCK = 1 << 16


def _cache_blocks(d):
    """Flat slices of ``d`` a cache block long, or None when ``d`` is small, not NumPy's or not contiguous."""
    if type(d) is not np.ndarray or d.size <= 2 * _CACHE_BLOCK or not d.flags.c_contiguous:
        return None
    return [slice(i, i + _CACHE_BLOCK) for i in range(0, d.size, _CACHE_BLOCK)]


def _phi(x):
    """Phi(x) = (1 + erf(x / sqrt 2)) / 2, a new array."""
    cdf = _erf(x * _SQRT1_2)
    cdf += 1.0
    cdf *= 0.5
    return cdf


def _gelu_exact(d, keep_cdf: bool):
    """(x * Phi(x), Phi(x) when ``keep_cdf`` else None) on arrays, cache block by cache block."""
    blocks = _cache_blocks(d)
    if blocks is None:
        cdf = _phi(d)
        return cdf * d, cdf if keep_cdf else None
    flat = d.reshape(-1)
    res = np.empty_like(flat)
    kept = np.empty_like(flat) if keep_cdf else None
    for part in blocks:
        cdf = _phi(flat[part])
        if keep_cdf:
            kept[part] = cdf
        np.multiply(cdf, flat[part], out=res[part])
    return res.reshape(d.shape), None if kept is None else kept.reshape(d.shape)


def _gelu_exact_grad(x, cdf, g):
    """g * (Phi(x) + x phi(x)) on arrays, given Phi(x); a new array (cache block by cache block)."""
    def grad(x, cdf, g, out=None):
        pdf = array_module(x).exp(x * x * -0.5)
        pdf *= x
        pdf *= _INV_SQRT_2PI
        pdf += cdf
        if out is None:
            pdf *= g  # in place: the gradient keeps x's dtype
            return pdf
        return array_module(x).multiply(pdf, g, out=out)

    blocks = _cache_blocks(x) if cdf.flags.c_contiguous and g.shape == x.shape and g.flags.c_contiguous else None
    if blocks is None:
        return grad(x, cdf, g)
    xf, cf, gf = x.reshape(-1), cdf.reshape(-1), g.reshape(-1)
    res = np.empty_like(xf)
    for part in blocks:
        grad(xf[part], cf[part], gf[part], out=res[part])
    return res.reshape(x.shape)


class GeluBackward0(Node):
    _cdf = None  # Phi(x) of the exact form, kept by the forward

    def _release(self) -> None:
        super()._release()
        self._cdf = None

    def apply(self, g):
        (x,) = self._saved_tensors()
        if self._approximate == "tanh":
            return (g * _gelu_tanh_derivative(x),)
        if not _GradState.enabled:  # NOTE: no graph of the backward is recorded: array expression
            # Phi(x) comes from the forward: erf is most of GELU's cost
            return (_wrap(_gelu_exact_grad(x._data, self._cdf, g._data)),)
        cdf = (x * _SQRT1_2).erf() * 0.5 + 0.5
        pdf = (x * x * -0.5).exp() * _INV_SQRT_2PI
        return (g * (cdf + x * pdf),)


def _gelu_tanh_derivative(x: Tensor) -> Tensor:
    x2 = x * x
    t = ((x + x2 * x * 0.044715) * _SQRT_2_OVER_PI).tanh()
    return (t + 1) * 0.5 + x * (1 - t * t) * ((x2 * (3 * 0.044715) + 1) * (0.5 * _SQRT_2_OVER_PI))


def gelu(input: Tensor, approximate: str = "none") -> Tensor:
    """x * Phi(x), exact via erf or the 'tanh' approximation (``F.gelu``)."""
    if approximate != "none" and approximate != "tanh":
        raise RuntimeError("approximate argument must be either none or tanh.")
    d = _float_data(input, "GeluKernelImpl")
    record = _needs_grad(input)
    if approximate == "none":
        res, cdf = _gelu_exact(d, keep_cdf=record)  # cdf stays for the backward
    else:
        xp = array_module(d)
        res = xp.tanh((d + 0.044715 * d * d * d) * _SQRT_2_OVER_PI)
        res += 1.0
        res *= d
        res *= 0.5
    if record:
        node = GeluBackward0()
        node._approximate = approximate
        if approximate == "none":
            node._cdf = cdf
        return _record(node, input, res)
    return _wrap(res)


class SiluBackward0(Node):
    def apply(self, g):
        (x,) = self._saved_tensors()
        s = x.sigmoid()
        return (g * (s * (1 + x * (1 - s))),)


def _silu(input):
    d = _float_data(input, "silu_cpu")
    res = d * _ew._sigmoid_forward(d)
    if _needs_grad(input):
        return _record(SiluBackward0(), input, res)
    return _wrap(res)


def silu(input: Tensor, inplace: bool = False) -> Tensor:
    """x * sigmoid(x) (``F.silu``)."""
    return _inplace(input, _silu) if inplace else _silu(input)


class MishBackward0(Node):
    def apply(self, g):
        (x,) = self._saved_tensors()
        t = softplus(x).tanh()
        return (g * (t + x * x.sigmoid() * (1 - t * t)),)


def _mish(input):
    d = _float_data(input, "mish_cpu")
    res = d * array_module(d).tanh(_softplus_array(d, 1.0, 20.0))
    if _needs_grad(input):
        return _record(MishBackward0(), input, res)
    return _wrap(res)


def mish(input: Tensor, inplace: bool = False) -> Tensor:
    """x * tanh(softplus(x)) (``F.mish``)."""
    return _inplace(input, _mish) if inplace else _mish(input)


def sigmoid(input: Tensor) -> Tensor:
    """1 / (1 + exp(-x)) (``F.sigmoid``)."""
    return _ew.sigmoid(input)


def tanh(input: Tensor) -> Tensor:
    """``F.tanh``."""
    return _ew.tanh(input)


class SoftplusBackward0(Node):
    def apply(self, g):
        (x,) = self._saved_tensors()
        bx = x * self._beta if self._beta != 1 else x
        return (ember.where(bx > self._threshold, g, g * bx.sigmoid()),)


def _softplus_array(d, beta, threshold):
    xp = array_module(d)
    bx = d * beta if beta != 1 else d
    soft = xp.log1p(xp.exp(bx))
    if beta != 1:
        soft /= beta
    return xp.where(bx > threshold, d, soft).astype(d.dtype, copy=False)


def softplus(input: Tensor, beta: float = 1.0, threshold: float = 20.0) -> Tensor:
    """log(1 + exp(beta * x)) / beta, linear above ``threshold`` (``F.softplus``)."""
    d = _float_data(input, "softplus_cpu")
    res = _softplus_array(d, beta, threshold)
    if _needs_grad(input):
        node = SoftplusBackward0()
        node._beta, node._threshold = beta, threshold
        return _record(node, input, res)
    return _wrap(res)


def softsign(input: Tensor) -> Tensor:
    """x / (1 + |x|) (``F.softsign``)."""
    return input / (input.abs() + 1)


class HardsigmoidBackward0(Node):
    def apply(self, g):
        (x,) = self._saved_tensors()
        return (ember.where((x > -3) & (x < 3), g / 6, 0.0),)


def _hardsigmoid(input):
    d = _float_data(input, "hardsigmoid_cpu")
    res = array_module(d).clip(d / 6 + 0.5, 0, 1).astype(d.dtype, copy=False)
    if _needs_grad(input):
        return _record(HardsigmoidBackward0(), input, res)
    return _wrap(res)


def hardsigmoid(input: Tensor, inplace: bool = False) -> Tensor:
    """relu6(x + 3) / 6 (``F.hardsigmoid``)."""
    return _inplace(input, _hardsigmoid) if inplace else _hardsigmoid(input)


class HardswishBackward0(Node):
    def apply(self, g):
        (x,) = self._saved_tensors()
        middle = ember.where(x > -3, g * (x / 3 + 0.5), 0.0)
        return (ember.where(x >= 3, g, middle),)


def _hardswish(input):
    d = _float_data(input, "hardswish_cpu")
    res = (d * array_module(d).clip(d / 6 + 0.5, 0, 1)).astype(d.dtype, copy=False)
    if _needs_grad(input):
        return _record(HardswishBackward0(), input, res)
    return _wrap(res)


def hardswish(input: Tensor, inplace: bool = False) -> Tensor:
    """x * relu6(x + 3) / 6 (``F.hardswish``)."""
    return _inplace(input, _hardswish) if inplace else _hardswish(input)


class LogSigmoidBackward0(Node):
    def apply(self, g):
        (x,) = self._saved_tensors()
        return (g * (-x).sigmoid(),)


def logsigmoid(input: Tensor) -> Tensor:
    """log(sigmoid(x)) as min(x, 0) - log1p(exp(-|x|)), finite for any x (``F.logsigmoid``)."""
    d = _float_data(input, "log_sigmoid_cpu")
    xp = array_module(d)
    res = (xp.minimum(d, 0) - xp.log1p(xp.exp(-xp.abs(d)))).astype(d.dtype, copy=False)
    if _needs_grad(input):
        return _record(LogSigmoidBackward0(), input, res)
    return _wrap(res)


log_sigmoid = logsigmoid


class ThresholdBackward0(Node):
    def apply(self, g):
        (x,) = self._saved_tensors()
        return (ember.where(x > self._threshold, g, 0.0),)


def _threshold(input, threshold, value):
    d = input._data
    xp = array_module(d)
    res = xp.where(d > threshold, d, xp.asarray(value).astype(d.dtype))
    if _needs_grad(input):
        node = ThresholdBackward0()
        node._threshold = threshold
        return _record(node, input, res)
    return _wrap(res)


def threshold(input: Tensor, threshold: float, value: float, inplace: bool = False) -> Tensor:
    """x if x > threshold else value (``F.threshold``)."""
    return _inplace(input, _threshold, threshold, value) if inplace else _threshold(input, threshold, value)


def threshold_(input: Tensor, threshold: float, value: float) -> Tensor:
    return _inplace(input, _threshold, threshold, value)


def tanhshrink(input: Tensor) -> Tensor:
    """x - tanh(x) (``F.tanhshrink``)."""
    return input - input.tanh()


def softshrink(input: Tensor, lambd: float = 0.5) -> Tensor:
    """x - lambd above lambd, x + lambd below -lambd, 0 between (``F.softshrink``)."""
    shrunk = input - input.sign() * lambd
    return ember.where(input.abs() > lambd, shrunk, 0.0)


def hardshrink(input: Tensor, lambd: float = 0.5) -> Tensor:
    """x where |x| > lambd, else 0 (``F.hardshrink``)."""
    return ember.where(input.abs() > lambd, input, 0.0)


def glu(input: Tensor, dim: int = -1) -> Tensor:
    """a * sigmoid(b) for the two halves of ``dim`` (``F.glu``)."""
    if input.dim() == 0:
        raise RuntimeError("glu does not support scalars because halving size must be even")
    size = input.shape[wrap_dim(dim, input.dim())]
    if size % 2:
        raise RuntimeError(f"Halving dimension must be even, but dimension {wrap_dim(dim, input.dim())} "
                           f"is size {size}")
    a, b = input.chunk(2, dim)
    return a * b.sigmoid()


def rrelu(input: Tensor, lower: float = 1.0 / 8, upper: float = 1.0 / 3, training: bool = False,
          inplace: bool = False) -> Tensor:
    """Randomised leaky ReLU (``F.rrelu``): a random slope per element in training, the mean slope in eval."""
    if not training:
        return leaky_relu(input, (lower + upper) / 2, inplace)
    _float_data(input, "rrelu_with_noise_cpu")
    slopes = ember.empty(input.shape, dtype=input.dtype, device=input.device).uniform_(lower, upper)
    noise = ember.where(input > 0, ember.ones_like(slopes), slopes)
    return input.mul_(noise) if inplace else input * noise


# ------------------------------------------------------------------------------------------
# Softmax family
# ------------------------------------------------------------------------------------------

def _softmax_dim(name: str, ndim: int, stacklevel: int) -> int:
    warnings.warn(f"Implicit dimension choice for {name} has been deprecated. Change the call to include dim=X "
                  "as an argument.", stacklevel=stacklevel)
    return 0 if ndim in (0, 1, 3) else 1


def softmax(input: Tensor, dim: int | None = None, _stacklevel: int = 3, dtype=None) -> Tensor:
    """exp(x) / sum(exp(x)) along ``dim`` (``F.softmax``)."""
    if dim is None:
        dim = _softmax_dim("softmax", input.dim(), _stacklevel)
    return _nn_ops.softmax(input, dim, dtype)


def log_softmax(input: Tensor, dim: int | None = None, _stacklevel: int = 3, dtype=None) -> Tensor:
    """log(softmax(x)) along ``dim``, stable for large logits (``F.log_softmax``)."""
    if dim is None:
        dim = _softmax_dim("log_softmax", input.dim(), _stacklevel)
    return _nn_ops.log_softmax(input, dim, dtype)


def softmin(input: Tensor, dim: int | None = None, _stacklevel: int = 3, dtype=None) -> Tensor:
    """softmax(-x) along ``dim`` (``F.softmin``)."""
    if dim is None:
        dim = _softmax_dim("softmin", input.dim(), _stacklevel)
    if dtype is not None:
        input = input.to(dtype)
    return _nn_ops.softmax(-input, dim)


# ------------------------------------------------------------------------------------------
# Dropout
# ------------------------------------------------------------------------------------------

def _check_p(p: float) -> None:
    if p < 0.0 or p > 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")


def _keep_mask(input: Tensor, shape, p: float):
    """A 0/1 array of ``shape`` in ``input``'s dtype: 1 with probability 1 - p (ember's random stream)."""
    from ..random import default_generator
    rng = default_generator._xp_rng(input.device)
    d = input._data
    draw_dtype = np.float64 if d.dtype == np.float64 else np.float32
    return (rng.random(shape, dtype=draw_dtype) >= p).astype(d.dtype)


def dropout(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:
    """Zero each element with probability p and scale the rest by 1 / (1 - p) (``F.dropout``)."""
    _check_p(p)
    if not training or p == 0.0:
        return input
    return _apply_noise(input, _keep_mask(input, tuple(input.shape), p), p, inplace, alpha=False)


def _feature_noise_shape(input: Tensor, batched: bool):
    """One draw per (batch, channel); spatial dims of size 1 so the draw covers a whole channel."""
    shape = tuple(input.shape)
    if len(shape) < 2 and batched:
        raise RuntimeError("Feature dropout requires at least 2 dimensions in the input")
    lead = 2 if batched else 1
    return shape[:lead] + (1,) * (len(shape) - lead)


def _feature_dropout(input, p, training, inplace, batched, alpha=False):
    if not training or p == 0.0:
        return input
    noise = _keep_mask(input, _feature_noise_shape(input, batched), p)
    return _apply_noise(input, noise, p, inplace, alpha)


def _apply_noise(input: Tensor, keep, p: float, inplace: bool, alpha: bool) -> Tensor:
    """``input * noise`` (+ the alpha-dropout shift): plain ops, so the gradient is MulBackward0."""
    if p == 1.0:
        zero = _wrap(array_module(input._data).zeros((), dtype=input._data.dtype))
        return input.mul_(zero) if inplace else input * zero
    if not alpha:
        noise = _wrap(keep * (1.0 / (1.0 - p)))
        return input.mul_(noise) if inplace else input * noise
    # SELU's fixed point: dropped units take -alpha * scale, then an affine map restores mean/variance
    alpha_prime = 1.7580993408473766
    a = 1.0 / math.sqrt((alpha_prime * alpha_prime * p + 1) * (1 - p))
    shift = _wrap((keep - 1) * (alpha_prime * a) + alpha_prime * a * p)
    noise = _wrap(keep * a)
    if inplace:
        return input.mul_(noise).add_(shift)
    return input * noise + shift


def dropout1d(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:
    """Zero whole channels of (N, C, L) or (C, L) inputs (``F.dropout1d``)."""
    _check_p(p)
    if input.dim() not in (2, 3):
        raise RuntimeError(
            f"dropout1d: Expected 2D or 3D input, but received a {input.dim()}D input. Note that dropout1d exists "
            "to provide channel-wise dropout on inputs with 1 spatial dimension, a channel dimension, and an "
            "optional batch dimension (i.e. 2D or 3D inputs).")
    return _feature_dropout(input, p, training, inplace, batched=input.dim() == 3)


def dropout2d(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:
    """Zero whole channels of (N, C, H, W) inputs (``F.dropout2d``); 3-D inputs are read as (N, C, L)."""
    _check_p(p)
    ndim = input.dim()
    if ndim not in (3, 4):
        warnings.warn(
            f"dropout2d: Received a {ndim}-D input to dropout2d, which is deprecated and will result in an error "
            "in a future release. To retain the behavior and silence this warning, please use dropout instead. "
            "Note that dropout2d exists to provide channel-wise dropout on inputs with 2 spatial dimensions, a "
            "channel dimension, and an optional batch dimension (i.e. 3D or 4D inputs).", stacklevel=2)
    if ndim == 3:
        warnings.warn(
            "dropout2d: Received a 3D input to dropout2d and assuming that channel-wise 1D dropout behavior is "
            "desired - input is interpreted as shape (N, C, L), where C is the channel dim. This behavior will "
            "change in a future release to interpret the input as one without a batch dimension, i.e. shape "
            "(C, H, W). To maintain the 1D channel-wise dropout behavior, please switch to using dropout1d "
            "instead.", stacklevel=2)
    return _feature_dropout(input, p, training, inplace, batched=True)


def dropout3d(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:
    """Zero whole channels of (N, C, D, H, W) or (C, D, H, W) inputs (``F.dropout3d``)."""
    _check_p(p)
    ndim = input.dim()
    if ndim not in (4, 5):
        warnings.warn(
            f"dropout3d: Received a {ndim}-D input to dropout3d, which is deprecated and will result in an error "
            "in a future release. To retain the behavior and silence this warning, please use dropout instead. "
            "Note that dropout3d exists to provide channel-wise dropout on inputs with 3 spatial dimensions, a "
            "channel dimension, and an optional batch dimension (i.e. 4D or 5D inputs).", stacklevel=2)
    return _feature_dropout(input, p, training, inplace, batched=ndim == 5)


def alpha_dropout(input: Tensor, p: float = 0.5, training: bool = False, inplace: bool = False) -> Tensor:
    """Dropout that keeps SELU activations' mean and variance (``F.alpha_dropout``)."""
    _check_p(p)
    if not training or p == 0.0:
        return input
    return _apply_noise(input, _keep_mask(input, tuple(input.shape), p), p, inplace, alpha=True)


def feature_alpha_dropout(input: Tensor, p: float = 0.5, training: bool = False, inplace: bool = False) -> Tensor:
    """Alpha dropout of whole channels (``F.feature_alpha_dropout``)."""
    _check_p(p)
    return _feature_dropout(input, p, training, inplace, batched=True, alpha=True)


# ------------------------------------------------------------------------------------------
# Embedding, one_hot, distances, linear
# ------------------------------------------------------------------------------------------

class EmbeddingBackward0(Node):
    """Scatter-add the output gradient into the rows that were looked up (repeats accumulate)."""

    def apply(self, g):
        idx, coef = self._indices, self._coef
        rows = g.reshape(-1, self._dim)
        if coef is not None:
            rows = rows * _wrap(coef.reshape(-1, 1))
        if not _GradState.enabled:  # NOTE: no graph of the backward is recorded: one scatter-add
            xp = array_module(rows._data)
            out = xp.zeros((self._num, self._dim), dtype=rows._data.dtype)
            _add_at(out, idx, rows._data)
            return (_wrap(out),)
        zeros = _wrap(array_module(rows._data).zeros((self._num, self._dim), dtype=rows._data.dtype))
        return (zeros.index_add(0, _wrap(idx), rows),)


def _check_indices(input: Tensor, fn: str):
    d = input._data
    if d.dtype != np.int64 and d.dtype != np.int32:
        from .._tensor import legacy_type_name
        raise RuntimeError(f"Expected tensor for argument #1 'indices' to have one of the following scalar types: "
                           f"Long, Int; but got {legacy_type_name(input)} instead (while checking arguments for "
                           f"{fn})")
    return d


def _embedding_renorm(weight: Tensor, idx, max_norm: float, norm_type: float) -> None:
    """Rescale the looked-up rows whose norm exceeds ``max_norm``, in place and unrecorded."""
    xp = array_module(weight._data)
    rows = xp.unique(idx)
    w = weight._data
    norms = xp.linalg.norm(w[rows], ord=norm_type, axis=1) if norm_type != 2 else xp.sqrt((w[rows] ** 2).sum(1))
    too_big = norms > max_norm
    if bool(too_big.any()):
        scale = (max_norm / (norms[too_big] + 1e-7)).astype(w.dtype)
        w[rows[too_big]] *= scale[:, None]
        weight._vbox[0] += 1


def embedding(input: Tensor, weight: Tensor, padding_idx: int | None = None, max_norm: float | None = None,
              norm_type: float = 2.0, scale_grad_by_freq: bool = False, sparse: bool = False) -> Tensor:
    """Rows of ``weight`` picked by integer ``input`` (``F.embedding``); the padding row gets no gradient."""
    num = weight.shape[0] if weight.dim() else 0
    if padding_idx is not None:
        if padding_idx > 0 and padding_idx >= num:
            raise AssertionError("Padding_idx must be within num_embeddings")
        if padding_idx < 0:
            if padding_idx < -num:
                raise AssertionError("Padding_idx must be within num_embeddings")
            padding_idx += num
    idx_data = _check_indices(input, "embedding")
    if weight.dim() != 2:
        raise RuntimeError("'weight' must be 2-D")
    idx = idx_data.reshape(-1).astype(np.int64, copy=False)
    if idx.size and bool(((idx < 0) | (idx >= num)).any()):
        raise IndexError("index out of range in self")
    if max_norm is not None:
        _embedding_renorm(weight, idx, max_norm, norm_type)
    wd = weight._data
    res = array_module(wd).take(wd, idx, axis=0).reshape(idx_data.shape + (wd.shape[1],))
    if _needs_grad(weight):
        node = EmbeddingBackward0()
        node._next = (edge(weight),)
        node._indices, node._num, node._dim = idx, num, wd.shape[1]
        node._coef = _embedding_grad_coef(idx, num, padding_idx, scale_grad_by_freq, wd.dtype)
        return _make(res, node)
    return _wrap(res)


def _embedding_grad_coef(idx, num, padding_idx, scale_grad_by_freq, dtype):
    """Per-lookup gradient factor: 0 for the padding row, 1 / count with ``scale_grad_by_freq``; None if all 1."""
    if padding_idx is None and not scale_grad_by_freq:
        return None
    xp = array_module(idx)
    coef = xp.ones(idx.shape, dtype=dtype)
    if scale_grad_by_freq:
        counts = xp.bincount(idx, minlength=num)
        coef /= counts[idx]
    if padding_idx is not None:
        coef[idx == padding_idx] = 0
    return coef


_BAG_MODES = ("sum", "mean", "max")


def _bag_ids(offsets, n: int, include_last_offset: bool):
    """(number of bags, the bag of each of the ``n`` looked-up positions or -1 for none)."""
    starts = offsets[:-1] if include_last_offset else offsets
    ends = np.append(offsets[1:], n) if not include_last_offset else offsets[1:]
    if starts.size > 1 and bool((np.diff(offsets) < 0).any()):
        raise RuntimeError("embedding_bag: offsets have to be non-decreasing")
    positions = np.arange(n)
    bag = np.searchsorted(starts, positions, side="right") - 1
    if starts.size:
        bag[positions >= ends[-1]] = -1  # past the last offset with include_last_offset=True
    return starts.size, bag


def _bag_max(rows: Tensor, bag, n_bags: int) -> Tensor:
    """Per bag and feature the first maximal row entry; empty bags give zeros."""
    values = to_numpy(rows._data)
    counts = np.bincount(bag, minlength=n_bags)
    filled = np.flatnonzero(counts)
    out = ember.zeros(n_bags, rows.shape[1], dtype=rows.dtype, device=rows.device)
    if filled.size:
        starts = np.concatenate(([0], np.cumsum(counts[filled])[:-1]))  # rows come bag by bag
        maxima = np.maximum.reduceat(values, starts, axis=0)
        rank = np.repeat(np.arange(filled.size), counts[filled])
        where = np.where(values == maxima[rank], np.arange(values.shape[0])[:, None], values.shape[0])
        first = np.minimum.reduceat(where, starts, axis=0)
    else:  # still through gather and index_add, so that the result is part of the graph
        first = np.zeros((0, rows.shape[1]), dtype=np.int64)
    picked = rows.gather(0, ember.tensor(first, device=rows.device))
    return out.index_add(0, ember.tensor(filled, device=rows.device), picked)


def embedding_bag(input: Tensor, weight: Tensor, offsets: Tensor | None = None, max_norm: float | None = None,
                  norm_type: float = 2, scale_grad_by_freq: bool = False, mode: str = "mean", sparse: bool = False,
                  per_sample_weights: Tensor | None = None, include_last_offset: bool = False,
                  padding_idx: int | None = None) -> Tensor:
    """Sum, mean or max over bags of ``weight`` rows, without the bags' (N, L, D) intermediate
    (``F.embedding_bag``); entries equal to ``padding_idx`` are left out, empty bags give zeros.

    Composed from ``embedding``, ``index_add`` and ``gather``, so it needs no backward of its own.
    """
    if per_sample_weights is not None and input.size() != per_sample_weights.size():
        raise ValueError(f"embedding_bag: If per_sample_weights ({per_sample_weights.shape}) is not None, then it "
                         f"must have the same shape as the input ({input.shape})")
    if weight.dim() != 2:
        raise ValueError(f"weight has to be a 2D Tensor, but got Tensor of dimension {weight.dim()}")
    if input.dim() == 2:
        if offsets is not None:
            raise ValueError("if input is 2D, then offsets has to be None, as input is treated is a mini-batch of "
                             f"fixed length sequences. However, found offsets of type {type(offsets)}")
        if input.size(1) == 0:
            raise RuntimeError("step must be nonzero")
        offset_data = np.arange(0, input.numel(), input.size(1), dtype=np.int64)
    elif input.dim() == 1:
        if offsets is None:
            raise ValueError("offsets has to be a 1D Tensor but got None")
        if offsets.dim() != 1:
            raise ValueError("offsets has to be a 1D Tensor")
        offset_data = None
    else:
        raise ValueError(f"input has to be 1D or 2D Tensor, but got Tensor of dimension {input.dim()}")
    if mode not in _BAG_MODES:
        raise ValueError("mode has to be one of sum, mean or max")
    if mode == "max" and scale_grad_by_freq:
        raise ValueError("max mode does not support scaling the gradient by the frequency")
    if mode == "max" and sparse:
        raise ValueError("max mode does not support sparse weights")
    if per_sample_weights is not None and mode != "sum":
        raise NotImplementedError("embedding_bag: per_sample_weights was not None. per_sample_weights is only "
                                  f"supported for mode='sum' (got mode='{mode}'). Please open a feature request on "
                                  "GitHub.")
    # every check runs before max_norm rescales weight in place
    idx = to_numpy(_check_indices(input, "embedding_bag")).reshape(-1).astype(np.int64, copy=False)
    if weight._data.dtype.kind not in "fV":
        from .._tensor import legacy_type_name
        raise RuntimeError("Expected tensor for argument #1 'weight' to have one of the following scalar types: "
                           f"Half, BFloat16, Float, Double; but got {legacy_type_name(weight)} instead (while "
                           "checking arguments for embedding_bag)")
    if offset_data is None:
        offset_data = to_numpy(_check_indices(offsets, "embedding_bag")).astype(np.int64, copy=False)
        if offset_data.size and offset_data[0] != 0:
            from .._tensor import legacy_type_name
            raise RuntimeError("offsets[0] has to be 0, i.e., the first sequence in the mini-batch has to start "
                               f"from position 0. However, got {offset_data[0]}\n[ {legacy_type_name(offsets)}{{}} ]")
        if offset_data.size and offset_data[-1] > idx.size:
            raise RuntimeError(f"offsets[-1] can not be greater than input's length {idx.size} but got "
                               f"offsets[-1] of {offset_data[-1]}")
    num = weight.size(0)
    bad = np.flatnonzero((idx < 0) | (idx >= num))
    if bad.size:
        raise RuntimeError(f"Index {bad[0]} of input takes value {idx[bad[0]]} which is not in the valid range "
                           f"[0, {num})")
    if padding_idx is not None:
        if not -num <= padding_idx < num:
            raise RuntimeError(f"padding_idx must be within the number of embeddings, {-num} through {num - 1}, "
                               f"but got {padding_idx}")
        padding_idx = padding_idx + num if padding_idx < 0 else padding_idx
    if per_sample_weights is not None and per_sample_weights.dtype != weight.dtype:
        from .._tensor import legacy_type_name
        raise RuntimeError("Expected tensor for argument #1 'weight' to have the same type as tensor for argument "
                           f"#1 'per_sample_weights'; but type {legacy_type_name(weight)} does not equal "
                           f"{legacy_type_name(per_sample_weights)} (while checking arguments for embedding_bag)")
    n_bags, bag = _bag_ids(offset_data, idx.size, include_last_offset)
    keep = bag >= 0
    if padding_idx is not None:
        keep &= idx != padding_idx
    if max_norm is not None:
        _embedding_renorm(weight, idx, max_norm, norm_type)
    kept = np.flatnonzero(keep)
    rows = embedding(ember.tensor(idx[kept], device=weight.device), weight, scale_grad_by_freq=scale_grad_by_freq)
    bag = bag[kept]
    if mode == "max":
        return _bag_max(rows, bag, n_bags)
    if per_sample_weights is not None:
        rows = rows * per_sample_weights.reshape(-1)[ember.tensor(kept, device=weight.device)].unsqueeze(1)
    out = ember.zeros(n_bags, weight.size(1), dtype=weight.dtype, device=weight.device)
    out = out.index_add(0, ember.tensor(bag, device=weight.device), rows)
    if mode == "mean":
        counts = np.maximum(np.bincount(bag, minlength=n_bags), 1)
        out = out / ember.tensor(counts[:, None], dtype=weight.dtype, device=weight.device)
    return out


def one_hot(tensor: Tensor, num_classes: int = -1) -> Tensor:
    """int64 one-hot encoding with a new last dim of ``num_classes`` (``F.one_hot``)."""
    d = tensor._data
    if d.dtype != np.int64:
        raise RuntimeError("one_hot is only applicable to index tensor of type LongTensor.")
    xp = array_module(d)
    if num_classes == -1:
        if d.size == 0:
            raise RuntimeError("Can not infer total number of classes from empty tensor.")
        num_classes = int(d.max()) + 1
    if d.size:
        if int(d.min()) < 0:
            raise RuntimeError("Class values must be non-negative.")
        if int(d.max()) >= num_classes:
            raise RuntimeError("Class values must be smaller than num_classes.")
    res = (d[..., None] == xp.arange(num_classes)).astype(np.int64)
    return _wrap(res)


def normalize(input: Tensor, p: float = 2.0, dim: int = 1, eps: float = 1e-12, out: Tensor | None = None) -> Tensor:
    """input / max(||input||_p, eps) along ``dim`` (``F.normalize``)."""
    denom = input.norm(p, dim, keepdim=True).clamp_min(eps).expand_as(input)
    result = input / denom
    if out is not None:
        out.copy_(result)
        return out
    return result


def cosine_similarity(x1: Tensor, x2: Tensor, dim: int = 1, eps: float = 1e-8) -> Tensor:
    """Cosine of the angle between x1 and x2 along ``dim`` (``F.cosine_similarity``).

    Each input is divided by its norm first (clamped to ``eps`` without affecting the gradient), as
    PyTorch does, which keeps the result in [-1, 1].
    """
    if x1.shape != x2.shape:
        x1, x2 = ember.broadcast_tensors(x1, x2)
    n1 = x1.norm(2, dim, keepdim=True).clone()
    n2 = x2.norm(2, dim, keepdim=True).clone()
    with ember.no_grad():
        n1.clamp_min_(eps)
        n2.clamp_min_(eps)
    return ((x1 / n1) * (x2 / n2)).sum(dim)


def pairwise_distance(x1: Tensor, x2: Tensor, p: float = 2.0, eps: float = 1e-6, keepdim: bool = False) -> Tensor:
    """||x1 - x2 + eps||_p along the last dim (``F.pairwise_distance``)."""
    last = max(x1.dim(), x2.dim()) - 1
    return (x1 - x2 + eps).norm(p, last, keepdim=keepdim)


# ------------------------------------------------------------------------------------------
# Losses: reduction handling
# ------------------------------------------------------------------------------------------

def _legacy_reduction(size_average, reduce) -> str:
    """PyTorch's mapping of the deprecated ``size_average``/``reduce`` flags to ``reduction``."""
    size_average = True if size_average is None else size_average
    reduce = True if reduce is None else reduce
    if size_average and reduce:
        result = "mean"
    elif reduce:
        result = "sum"
    else:
        result = "none"
    warnings.warn(f"size_average and reduce args will be deprecated, please use reduction='{result}' instead.",
                  stacklevel=3)
    return result


def _get_reduction(reduction: str, size_average=None, reduce=None) -> str:
    if size_average is not None or reduce is not None:
        return _legacy_reduction(size_average, reduce)
    if reduction == "elementwise_mean":
        warnings.warn("reduction='elementwise_mean' is deprecated. Please use reduction='mean' instead.",
                      stacklevel=3)
        return "mean"
    if reduction not in ("none", "mean", "sum"):
        raise ValueError(f"{reduction} is not a valid value for reduction")
    return reduction


def _reduce(loss: Tensor, reduction: str) -> Tensor:
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    return loss


def _reduce_array(loss, reduction: str):
    if reduction == "none":
        return loss
    xp = array_module(loss)
    total = loss.sum()
    if reduction == "mean":
        with np.errstate(invalid="ignore", divide="ignore"):
            total = total / loss.size if loss.size else xp.asarray(np.nan)
    return xp.asarray(total, dtype=loss.dtype)


def _grad_scale(g: Tensor, reduction: str, n: int) -> Tensor:
    """The gradient reaching each element of an elementwise loss reduced by ``reduction``."""
    if reduction == "mean":
        return g / n if n else g
    return g


def _warn_size(input: Tensor, target: Tensor) -> None:
    if target.shape != input.shape:
        warnings.warn(f"Using a target size ({target.size()}) that is different to the input size "
                      f"({input.size()}). This will likely lead to incorrect results due to broadcasting. "
                      "Please ensure they have the same size.", stacklevel=3)


def _weighted(loss: Tensor, weight: Tensor, input: Tensor, reduction: str, mean_by_weight: bool) -> Tensor:
    """The ``weight=`` form of l1/mse/huber: elementwise weight, 'mean' over the weight sum or the count."""
    if weight.shape != input.shape:
        raise ValueError("Weights and input must have the same size.")
    weighted = loss * weight
    if reduction == "none":
        return weighted
    if reduction == "sum":
        return weighted.sum()
    return weighted.sum() / weight.sum() if mean_by_weight else weighted.mean()


def _no_weight_grad(fn: str, name: str, *tensors) -> None:
    for t in tensors:
        if t is not None and _GradState.enabled and t._requires_grad:
            raise RuntimeError(f"The function '{fn}' is not differentiable with respect to argument '{name}'. "
                               "This input cannot have requires_grad True.")


# ------------------------------------------------------------------------------------------
# Regression losses (MSE, Huber, SmoothL1 reduce inside one node, as PyTorch's kernels do)
# ------------------------------------------------------------------------------------------

class _DifferenceLoss(Node):
    """Backward of loss(input - target) reduced in the op: d/dinput = scale * f'(diff), d/dtarget = -that."""

    def apply(self, g):
        x, t = self._saved_tensors()
        nx, nt = self._next
        grad = self._derivative(x - t) * _grad_scale(g, self._reduction, self._n)
        gx = grad_for(grad, self._shape, x._data.dtype) if nx is not None else None
        gt = grad_for(-grad, self._shape, t._data.dtype) if nt is not None else None
        return gx, gt


class MseLossBackward0(_DifferenceLoss):
    def _derivative(self, diff):
        return diff * 2


class HuberLossBackward0(_DifferenceLoss):
    def _derivative(self, diff):
        return diff.clamp(-self._delta, self._delta)


class SmoothL1LossBackward0(_DifferenceLoss):
    def _derivative(self, diff):
        if self._beta == 0:
            return diff.sign()
        return (diff / self._beta).clamp(-1, 1)


def _difference_loss(input, target, reduction, kernel, loss_fn, node_cls, **attrs):
    if input.shape != target.shape:
        input, target = ember.broadcast_tensors(input, target)
    xd, td = input._data, target._data
    if xd.dtype != td.dtype:
        dt = D.promote_types(input.dtype, target.dtype).np
        xd, td = xd.astype(dt), td.astype(dt)
    if xd.dtype.kind not in "fV":
        raise NotImplementedError(f'"{kernel}" not implemented for \'{_scalar_type_name(xd.dtype)}\'')
    res = _reduce_array(loss_fn(xd - td), reduction)
    if _GradState.enabled and (input._requires_grad or target._requires_grad):
        node = node_cls()
        node._next = (edge(input), edge(target))
        node._save(input, target)
        node._reduction, node._n, node._shape = reduction, xd.size, xd.shape
        node.__dict__.update(attrs)
        return _make(res, node)
    return _wrap(res)


def mse_loss(input: Tensor, target: Tensor, size_average=None, reduce=None, reduction: str = "mean",
             weight: Tensor | None = None) -> Tensor:
    """Squared error (``F.mse_loss``)."""
    _warn_size(input, target)
    reduction = _get_reduction(reduction, size_average, reduce)
    if weight is not None:
        loss = _difference_loss(input, target, "none", "mse_cpu", lambda d: d * d, MseLossBackward0)
        return _weighted(loss, weight, input, reduction, mean_by_weight=True)
    return _difference_loss(input, target, reduction, "mse_cpu", lambda d: d * d, MseLossBackward0)


def l1_loss(input: Tensor, target: Tensor, size_average=None, reduce=None, reduction: str = "mean",
            weight: Tensor | None = None) -> Tensor:
    """Absolute error (``F.l1_loss``)."""
    _warn_size(input, target)
    reduction = _get_reduction(reduction, size_average, reduce)
    if input.shape != target.shape:
        input, target = ember.broadcast_tensors(input, target)
    loss = (input - target).abs()
    if weight is not None:
        return _weighted(loss, weight, input, reduction, mean_by_weight=True)
    return _reduce(loss, reduction)


def _huber_array(delta):
    def loss(d):
        xp = array_module(d)
        a = xp.abs(d)
        return xp.where(a < delta, 0.5 * d * d, delta * (a - 0.5 * delta))
    return loss


def huber_loss(input: Tensor, target: Tensor, reduction: str = "mean", delta: float = 1.0,
               weight: Tensor | None = None) -> Tensor:
    """Quadratic below ``delta``, linear above (``F.huber_loss``)."""
    _warn_size(input, target)
    reduction = _get_reduction(reduction)
    if delta <= 0:
        raise RuntimeError("huber_loss does not support non-positive values for delta.")
    if weight is not None:
        loss = _difference_loss(input, target, "none", "huber_cpu", _huber_array(delta), HuberLossBackward0,
                                _delta=delta)
        return _weighted(loss, weight, input, reduction, mean_by_weight=False)
    return _difference_loss(input, target, reduction, "huber_cpu", _huber_array(delta), HuberLossBackward0,
                            _delta=delta)


def smooth_l1_loss(input: Tensor, target: Tensor, size_average=None, reduce=None, reduction: str = "mean",
                   beta: float = 1.0) -> Tensor:
    """0.5 d^2 / beta below ``beta``, |d| - 0.5 beta above (``F.smooth_l1_loss``)."""
    _warn_size(input, target)
    reduction = _get_reduction(reduction, size_average, reduce)
    if beta < 0:
        raise RuntimeError("smooth_l1_loss does not support negative values for beta.")

    def loss(d):
        xp = array_module(d)
        a = xp.abs(d)
        if beta == 0:
            return a
        return xp.where(a < beta, 0.5 * d * d / beta, a - 0.5 * beta)
    return _difference_loss(input, target, reduction, "smooth_l1_cpu", loss, SmoothL1LossBackward0, _beta=beta)


# ------------------------------------------------------------------------------------------
# Classification losses
# ------------------------------------------------------------------------------------------

class NllLossBackward0(Node):
    """-weight[target] / total (mean) at each target position of the class dim, zero elsewhere."""

    def apply(self, g):
        coef = self._xp.zeros(self._shape, dtype=self._dtype)
        if not _GradState.enabled:  # NOTE: no graph of the backward is recorded: one scatter
            coef[self._index] = self._vals * g._data
            return (_wrap(coef),)
        coef[self._index] = self._vals
        if self._reduction == "none" and self._batched_target:
            g = g.unsqueeze(self._axis)
        return (_wrap(coef) * g,)


def _class_index(xp, target, axis: int):
    """Index tuple picking ``target[n, d...]`` along ``axis`` of the input (advanced indexing)."""
    ndim = target.ndim
    grids = [xp.arange(s).reshape([-1 if j == i else 1 for j in range(ndim)]) for i, s in enumerate(target.shape)]
    return tuple(grids[:axis]) + (target,) + tuple(grids[axis:])


def _check_nll_shapes(input: Tensor, target: Tensor) -> None:
    ndim = input.dim()
    if ndim < 1:
        raise ValueError(f"Expected 1 or more dimensions (got {ndim})")
    tshape = tuple(target.shape)
    if ndim != 1 and (not tshape or input.shape[0] != tshape[0]):
        raise ValueError(f"Expected input batch_size ({input.shape[0]}) to match target batch_size "
                         f"({tshape[0] if tshape else 0}).")
    if ndim <= 2:
        if target.dim() > 1:
            raise RuntimeError("0D or 1D target tensor expected, multi-target not supported")
        if ndim == 1 and target.dim() == 1 and tshape[0] != 1:
            raise RuntimeError(f"size mismatch (got input: {list(input.shape)}, target: {list(tshape)})")
        return
    expected = (input.shape[0],) + tuple(input.shape[2:])
    if ndim == 4 and target.dim() != 3:
        raise RuntimeError(f"only batches of spatial targets supported (3D tensors) but got targets of dimension: "
                           f"{target.dim()}")
    if ndim == 4 and tshape != expected:
        raise RuntimeError(f"size mismatch (got input: {list(input.shape)} , target: {list(tshape)}")
    if tshape != expected:
        raise RuntimeError(f"Expected target size {list(expected)}, got {list(tshape)}")


def _check_class_weight(weight: Tensor | None, n_classes: int) -> None:
    if weight is not None and (weight.dim() != 1 or weight.numel() != n_classes):
        raise RuntimeError(f"weight tensor should be defined either for all {n_classes} classes or no classes but "
                           f"got weight tensor of shape: {list(weight.shape)}")


def _targets(target: Tensor, n_classes: int, ignore_index: int):
    """(safe target array, mask of counted targets); raises for out-of-range classes like PyTorch."""
    td = target._data
    if td.dtype != np.int64 and td.dtype != np.uint8:
        raise RuntimeError(f"expected target dtype to be Long or Byte, but got {_scalar_type_name(td.dtype)}")
    td = td.astype(np.int64, copy=False)
    xp = array_module(td)
    counted = td != ignore_index
    bad = counted & ((td < 0) | (td >= n_classes))
    if bool(bad.any()):
        raise IndexError(f"Target {int(td[bad].reshape(-1)[0])} is out of bounds.")
    return xp.where(counted, td, 0), counted


def nll_loss(input: Tensor, target: Tensor, weight: Tensor | None = None, size_average=None,
             ignore_index: int = -100, reduce=None, reduction: str = "mean") -> Tensor:
    """-input[n, target[n]] weighted by ``weight[target]``; 'mean' divides by the summed weights (``F.nll_loss``)."""
    reduction = _get_reduction(reduction, size_average, reduce)
    if weight is None and reduction == "mean":
        fast = _nll_loss_2d_mean(input, target, ignore_index)
        if fast is not None:
            return fast
    _check_nll_shapes(input, target)
    axis = 0 if input.dim() == 1 else 1
    n_classes = input.shape[axis]
    _check_class_weight(weight, n_classes)
    _no_weight_grad("nll_loss_forward", "weight", weight)
    safe, counted = _targets(target, n_classes, ignore_index)
    xd = input._data
    xp = array_module(xd)
    if input.dim() == 1:
        safe, counted = safe.reshape(()), counted.reshape(())
    index = _class_index(xp, safe, axis)
    w = counted.astype(xd.dtype)
    if weight is not None:
        w = w * weight._data.astype(xd.dtype)[safe]
    losses = -xd[index] * w
    if reduction == "none":
        res, vals = losses, -w
    else:
        res = losses.sum()
        vals = -w
        if reduction == "mean":
            total = w.sum()
            with np.errstate(invalid="ignore", divide="ignore"):
                res = res / total
                # ignored targets get no gradient, even when every target is ignored (0 / 0)
                vals = xp.where(counted, vals / total, 0).astype(xd.dtype, copy=False)
        res = xp.asarray(res, dtype=xd.dtype)
    if _needs_grad(input):
        node = NllLossBackward0()
        node._next = (edge(input),)
        node._vals, node._index, node._shape, node._dtype, node._xp = vals, index, xd.shape, xd.dtype, xp
        node._reduction, node._axis, node._batched_target = reduction, axis, input.dim() > 1
        return _make(res, node)
    return _wrap(res)


def _nll_loss_2d_mean(input: Tensor, target: Tensor, ignore_index: int):
    """The hot path (N, C) input, int64 (N,) targets all in range and none ignorable; None otherwise."""
    xd, td = input._data, target._data
    if xd.ndim != 2 or td.ndim != 1 or td.dtype != np.int64 or xd.shape[0] != td.shape[0] or not td.size:
        return None
    n, n_classes = xd.shape
    if 0 <= ignore_index < n_classes or bool((td.view(np.uint64) >= n_classes).any()):
        return None  # negative or too-large classes, or ignorable ones: the general path sorts them out
    xp = array_module(xd)
    index = (xp.arange(n), td)
    res = xp.asarray(-xd[index].sum() / n, dtype=xd.dtype)
    if _needs_grad(input):
        node = NllLossBackward0()
        node._next = (edge(input),)
        node._vals, node._index, node._shape, node._dtype, node._xp = -1.0 / n, index, xd.shape, xd.dtype, xp
        node._reduction, node._axis, node._batched_target = "mean", 1, True
        return _make(res, node)
    return _wrap(res)


class _FusedCrossEntropyBackward(Node):
    """log_softmax + NLL in one node: d loss / d x = (softmax(x) - one_hot(target)) * g / N."""

    def apply(self, g):
        (x,) = self._saved_tensors()
        n = self._shape[0]
        if not _GradState.enabled:  # NOTE: no graph of the backward is recorded: the softmax is reused
            scale = g._data / n
            grad = self._probs * scale
            grad[self._index] -= scale
            return (_wrap(grad.astype(self._dtype, copy=False)),)
        one_hot = self._xp.zeros(self._shape, dtype=self._dtype)
        one_hot[self._index] = 1
        return ((x.softmax(1) - _wrap(one_hot)) * (g / n),)

    def _release(self) -> None:
        super()._release()
        self._probs = None


# PyTorch shows NllLossBackward0 at the top of a cross_entropy graph
_FusedCrossEntropyBackward.__name__ = _FusedCrossEntropyBackward.__qualname__ = "NllLossBackward0"


def _cross_entropy_2d_mean(input: Tensor, target: Tensor, ignore_index: int):
    """The training hot path, fused: (N, C) float32/64 logits, int64 targets all counted; None otherwise."""
    xd, td = input._data, target._data
    if (xd.ndim != 2 or td.ndim != 1 or td.dtype != np.int64 or xd.dtype.kind != "f" or xd.dtype.itemsize < 4
            or xd.shape[0] != td.shape[0] or not td.size):
        return None
    n, n_classes = xd.shape
    if 0 <= ignore_index < n_classes or bool((td.view(np.uint64) >= n_classes).any()):
        return None
    xp = array_module(xd)
    index = (xp.arange(n), td)
    shifted = xd - xd.max(axis=1, keepdims=True)
    exp = xp.exp(shifted)
    total = exp.sum(axis=1)
    # mean over rows of logsumexp - x[target], both taken from the max-shifted logits
    res = xp.asarray((xp.log(total).sum() - shifted[index].sum()) / n, dtype=xd.dtype)
    if _needs_grad(input):
        node = _FusedCrossEntropyBackward()
        node._next = (edge(input),)
        node._save(input)
        exp /= total[:, None]
        node._probs, node._index, node._shape, node._dtype, node._xp = exp, index, xd.shape, xd.dtype, xp
        return _make(res, node)
    return _wrap(res)


def cross_entropy(input: Tensor, target: Tensor, weight: Tensor | None = None, size_average=None,
                  ignore_index: int = -100, reduce=None, reduction: str = "mean",
                  label_smoothing: float = 0.0) -> Tensor:
    """log_softmax over the class dim then NLL, or soft targets when ``target`` has ``input``'s shape
    (``F.cross_entropy``)."""
    reduction = _get_reduction(reduction, size_average, reduce)
    if not 0.0 <= label_smoothing <= 1.0:
        raise RuntimeError(f"label_smoothing must be between 0.0 and 1.0. Got: {label_smoothing}")
    if weight is None and reduction == "mean" and label_smoothing == 0.0:
        fused = _cross_entropy_2d_mean(input, target, ignore_index)
        if fused is not None:
            return fused
    class_dim = 0 if input.dim() == 1 else 1
    if input.shape == target.shape:
        return _cross_entropy_probs(input, target, weight, reduction, label_smoothing, class_dim, ignore_index)
    logp = _nn_ops.log_softmax(input, class_dim)
    nll = nll_loss(logp, target, weight, ignore_index=ignore_index, reduction=reduction)
    if label_smoothing == 0.0:
        return nll
    n_classes = input.shape[class_dim]
    if weight is not None:
        smooth = -(logp * _class_view(weight, input.dim(), class_dim)).sum(class_dim)
    else:
        smooth = -logp.sum(class_dim)
    ignored = target == ignore_index
    smooth = smooth.masked_fill(ignored, 0.0)
    if reduction == "mean":
        if weight is not None:
            counted = target[~ignored]
            smooth = smooth.sum() / weight[counted.reshape(-1).long()].sum()
        else:
            smooth = smooth.sum() / (~ignored).sum()
    elif reduction == "sum":
        smooth = smooth.sum()
    return nll * (1 - label_smoothing) + smooth * (label_smoothing / n_classes)


def _class_view(weight: Tensor, ndim: int, class_dim: int) -> Tensor:
    """``weight`` shaped to broadcast along the class dim of an ``ndim`` input."""
    shape = [1] * ndim
    shape[class_dim] = weight.numel()
    return weight.reshape(shape)


def _cross_entropy_probs(input, target, weight, reduction, label_smoothing, class_dim, ignore_index):
    if not target.is_floating_point():
        raise RuntimeError(f"Expected floating point type for target with class probabilities, got "
                           f"{_scalar_type_name(target._data.dtype)}")
    if ignore_index >= 0:
        raise RuntimeError("ignore_index is not supported for floating point target")
    n_classes = input.shape[class_dim]
    _check_class_weight(weight, n_classes)
    logp = _nn_ops.log_softmax(input, class_dim)
    if label_smoothing > 0.0:
        target = target * (1 - label_smoothing) + label_smoothing / n_classes
    prod = logp * target
    if weight is not None:
        prod = prod * _class_view(weight, input.dim(), class_dim)
    if reduction == "mean":
        count = input.numel() // n_classes if n_classes else 0
        return -prod.sum() / count if count else -prod.sum() / 0.0
    loss = -prod.sum(class_dim)
    return loss.sum() if reduction == "sum" else loss


class BinaryCrossEntropyBackward0(Node):
    def apply(self, g):
        x, t = self._saved_tensors()
        nx, nt = self._next
        scale = _grad_scale(g, self._reduction, self._n)
        if self._weight is not None:
            scale = scale * self._weight
        gx = gt = None
        if nx is not None:
            gx = scale * (x - t) / ((1 - x) * x).clamp_min(1e-12)
        if nt is not None:
            # NOTE: unclamped, unlike the forward's logs: PyTorch's target gradient is +-inf at x = 0 or 1
            gt = scale * ((1 - x).log() - x.log())
        return gx, gt


def binary_cross_entropy(input: Tensor, target: Tensor, weight: Tensor | None = None, size_average=None,
                         reduce=None, reduction: str = "mean") -> Tensor:
    """-w (t log x + (1 - t) log(1 - x)) with each log clamped to >= -100 (``F.binary_cross_entropy``)."""
    reduction = _get_reduction(reduction, size_average, reduce)
    if target.shape != input.shape:
        raise ValueError(f"Using a target size ({target.size()}) that is different to the input size "
                         f"({input.size()}) is deprecated. Please ensure they have the same size.")
    _no_weight_grad("binary_cross_entropy", "weight", weight)
    xd, td = input._data, target._data
    xp = array_module(xd)
    if xd.size and bool(((xd < 0) | (xd > 1)).any()):
        raise RuntimeError("all elements of input should be between 0 and 1")
    if td.size and bool(((td < 0) | (td > 1)).any()):
        raise RuntimeError("all elements of target should be between 0 and 1")
    log_x = xp.maximum(xp.log(xd), -100)
    log_1mx = xp.maximum(xp.log(1 - xd), -100)
    loss = -(td * log_x + (1 - td) * log_1mx)
    wd = None
    if weight is not None:
        wshape = ember.broadcast_shapes(target.shape, weight.shape)
        if tuple(wshape) != tuple(input.shape):
            raise RuntimeError(f"output with shape {list(input.shape)} doesn't match the broadcast shape "
                               f"{list(wshape)}")
        wd = weight._data.astype(xd.dtype, copy=False)
        loss = loss * wd
    res = _reduce_array(loss.astype(xd.dtype, copy=False), reduction)
    if _GradState.enabled and (input._requires_grad or target._requires_grad):
        node = BinaryCrossEntropyBackward0()
        node._next = (edge(input), edge(target))
        node._save(input, target)
        node._reduction, node._n = reduction, xd.size
        node._weight = None if wd is None else _wrap(wd)
        return _make(res, node)
    return _wrap(res)


class BinaryCrossEntropyWithLogitsBackward0(Node):
    def apply(self, g):
        x, t = self._saved_tensors()
        nx, nt = self._next
        scale = _grad_scale(g, self._reduction, self._n)
        if self._weight is not None:
            scale = scale * self._weight
        pw = self._pos_weight
        gx = gt = None
        if nx is not None:
            if pw is None:
                gx = scale * (x.sigmoid() - t)
            else:
                log_weight = (pw - 1) * t + 1
                gx = scale * ((1 - t) - log_weight * (-x).sigmoid())
            gx = grad_for(gx, self._xshape, x._data.dtype)
        if nt is not None:
            gt = -x if pw is None else (pw - 1) * softplus(-x) - x
            gt = grad_for(scale * gt, self._xshape, t._data.dtype)
        return gx, gt


def binary_cross_entropy_with_logits(input: Tensor, target: Tensor, weight: Tensor | None = None,
                                     size_average=None, reduce=None, reduction: str = "mean",
                                     pos_weight: Tensor | None = None) -> Tensor:
    """BCE on logits in the stable form (1 - t) x + lw (log1p(exp(-|x|)) + max(-x, 0))
    (``F.binary_cross_entropy_with_logits``)."""
    reduction = _get_reduction(reduction, size_average, reduce)
    if target.shape != input.shape:
        raise ValueError(f"Target size ({target.size()}) must be the same as input size ({input.size()})")
    _no_weight_grad("binary_cross_entropy_with_logits", "weight", weight)
    _no_weight_grad("binary_cross_entropy_with_logits", "pos_weight", pos_weight)
    xd, td = input._data, target._data
    xp = array_module(xd)
    softplus_neg = xp.log1p(xp.exp(-xp.abs(xd))) + xp.maximum(-xd, 0)
    pwd = wd = None
    if pos_weight is None:
        loss = (1 - td) * xd + softplus_neg
    else:
        pwd = pos_weight._data.astype(xd.dtype, copy=False)
        loss = (1 - td) * xd + ((pwd - 1) * td + 1) * softplus_neg
    if weight is not None:
        wd = weight._data.astype(xd.dtype, copy=False)
        loss = loss * wd
    res = _reduce_array(loss.astype(xd.dtype, copy=False), reduction)
    if _GradState.enabled and (input._requires_grad or target._requires_grad):
        node = BinaryCrossEntropyWithLogitsBackward0()
        node._next = (edge(input), edge(target))
        node._save(input, target)
        node._reduction, node._n, node._xshape = reduction, loss.size, xd.shape
        node._weight = None if wd is None else _wrap(wd)
        node._pos_weight = None if pwd is None else _wrap(pwd)
        return _make(res, node)
    return _wrap(res)


def kl_div(input: Tensor, target: Tensor, size_average=None, reduce=None, reduction: str = "mean",
           log_target: bool = False) -> Tensor:
    """Pointwise KL divergence target * (log target - input), input given as log-probabilities (``F.kl_div``)."""
    if size_average is not None or reduce is not None:
        reduction = _legacy_reduction(size_average, reduce)
    elif reduction == "mean":
        warnings.warn("reduction: 'mean' divides the total loss by both the batch size and the support size."
                      "'batchmean' divides only by the batch size, and aligns with the KL div math definition."
                      "'mean' will be changed to behave the same as 'batchmean' in the next major release.",
                      stacklevel=2)
    if reduction != "batchmean":
        reduction = _get_reduction(reduction)
    if log_target:
        loss = target.exp() * (target - input)
    else:
        loss = ember.xlogy(target, target) - target * input
    if reduction == "batchmean":
        total = loss.sum()
        return total / input.shape[0] if input.dim() != 0 else total
    return _reduce(loss, reduction)


def gaussian_nll_loss(input: Tensor, target: Tensor, var, full: bool = False, eps: float = 1e-6,
                      reduction: str = "mean") -> Tensor:
    """0.5 (log var + (input - target)^2 / var), var clamped to ``eps`` (``F.gaussian_nll_loss``)."""
    if not isinstance(var, Tensor):
        if var < 0:
            raise ValueError("var has negative entry/entries")
        var = ember.ones_like(input) * var
    elif bool((var < 0).any()):
        raise ValueError("var has negative entry/entries")
    if var.shape != input.shape:
        if tuple(input.shape[:-1]) == tuple(var.shape):
            var = var.unsqueeze(-1)
        elif input.dim() == var.dim() and sum(v for i, v in zip(input.shape, var.shape) if i != v) == 1:
            pass  # broadcastable in exactly one dim of size 1: homoscedastic
        else:
            raise ValueError("var is of incorrect size")
    if reduction not in ("none", "mean", "sum"):
        raise ValueError(reduction + " is not valid")
    var = var.clone()
    with ember.no_grad():
        var.clamp_(min=eps)  # stability only: the gradient flows as if unclamped
    loss = (var.log() + (input - target) ** 2 / var) * 0.5
    if full:
        loss = loss + 0.5 * math.log(2 * math.pi)
    return _reduce(loss, reduction)


def cosine_embedding_loss(input1: Tensor, input2: Tensor, target: Tensor, margin: float = 0, size_average=None,
                          reduce=None, reduction: str = "mean") -> Tensor:
    """1 - cos(x1, x2) for target 1, max(0, cos - margin) for target -1 (``F.cosine_embedding_loss``)."""
    reduction = _get_reduction(reduction, size_average, reduce)
    tdim = target.dim()
    if tdim not in (0, 1):
        raise RuntimeError("0D or 1D target tensor expected, multi-target not supported")
    if tdim == 1 and (input1.dim() != 2 or input2.dim() != 2):
        raise RuntimeError(f"1D target tensor expects 2D input tensors, but found inputs with sizes "
                           f"{list(input1.shape)} and {list(input2.shape)}.")
    if tdim == 0 and (input1.dim() != 1 or input2.dim() != 1):
        raise RuntimeError(f"0D target tensor expects 1D input tensors, but found inputs with sizes "
                           f"{list(input1.shape)} and {list(input2.shape)}.")
    eps = 1e-12
    dot = (input1 * input2).sum(tdim)
    mag1 = (input1 * input1).sum(tdim) + eps
    mag2 = (input2 * input2).sum(tdim) + eps
    cos = dot / (mag1 * mag2).sqrt()
    zeros = ember.zeros_like(cos)
    positive = ember.where(target == 1, 1 - cos, zeros)
    negative = ember.where(target == -1, (cos - margin).clamp_min(0), zeros)
    return _reduce(positive + negative, reduction)


def margin_ranking_loss(input1: Tensor, input2: Tensor, target: Tensor, margin: float = 0, size_average=None,
                        reduce=None, reduction: str = "mean") -> Tensor:
    """max(0, -target * (input1 - input2) + margin) (``F.margin_ranking_loss``)."""
    reduction = _get_reduction(reduction, size_average, reduce)
    if input1.dim() != input2.dim() or input1.dim() != target.dim():
        raise RuntimeError(f"margin_ranking_loss : All input tensors should have same dimension but got sizes: "
                           f"input1: {input1.size()}, input2: {input2.size()}, target: {target.size()} ")
    return _reduce((-target * (input1 - input2) + margin).clamp_min(0), reduction)


def triplet_margin_loss(anchor: Tensor, positive: Tensor, negative: Tensor, margin: float = 1.0, p: float = 2,
                        eps: float = 1e-6, swap: bool = False, size_average=None, reduce=None,
                        reduction: str = "mean") -> Tensor:
    """max(0, margin + d(a, p) - d(a, n)) with pairwise_distance (``F.triplet_margin_loss``)."""
    reduction = _get_reduction(reduction, size_average, reduce)
    if margin <= 0:
        raise ValueError(f"margin must be greater than 0, got {margin}")
    a_dim, p_dim, n_dim = anchor.dim(), positive.dim(), negative.dim()
    if not a_dim == p_dim == n_dim:
        raise RuntimeError(f"The anchor, positive, and negative tensors are expected to have the same number of "
                           f"dimensions, but got: anchor {a_dim}D, positive {p_dim}D, and negative {n_dim}D inputs")
    dist_pos = pairwise_distance(anchor, positive, p, eps)
    dist_neg = pairwise_distance(anchor, negative, p, eps)
    if swap:
        dist_neg = ember.minimum(dist_neg, pairwise_distance(positive, negative, p, eps))
    return _reduce((dist_pos - dist_neg + margin).clamp_min(0), reduction)

from ..ops.norm import batch_norm, layer_norm, group_norm, instance_norm, rms_norm, local_response_norm  # noqa: E402,F401
from ..ops.conv import (conv1d, conv2d, conv3d, conv_transpose1d, conv_transpose2d, conv_transpose3d,  # noqa: E402,F401
                        unfold, fold)
from ..ops.pool import (max_pool1d, max_pool2d, max_pool3d, avg_pool1d, avg_pool2d, avg_pool3d,  # noqa: E402,F401
                        adaptive_avg_pool1d, adaptive_avg_pool2d, adaptive_avg_pool3d, adaptive_max_pool1d,
                        adaptive_max_pool2d, pad, interpolate, upsample, upsample_nearest, upsample_bilinear)
from ..ops.attention import scaled_dot_product_attention, multi_head_attention_forward  # noqa: E402,F401
from .modules.linear import linear, bilinear  # noqa: E402,F401 - defined beside the layers that use them



# PyTorch's *_with_indices always return (output, indices), whatever return_indices says.
def max_pool1d_with_indices(input: Tensor, kernel_size, stride=None, padding=0, dilation=1, ceil_mode: bool = False,
                            return_indices: bool = False):
    """``max_pool1d(..., return_indices=True)`` (``torch.nn.functional.max_pool1d_with_indices``)."""
    return max_pool1d(input, kernel_size, stride, padding, dilation, ceil_mode, return_indices=True)


def max_pool2d_with_indices(input: Tensor, kernel_size, stride=None, padding=0, dilation=1, ceil_mode: bool = False,
                            return_indices: bool = False):
    """``max_pool2d(..., return_indices=True)`` (``torch.nn.functional.max_pool2d_with_indices``)."""
    return max_pool2d(input, kernel_size, stride, padding, dilation, ceil_mode, return_indices=True)


def max_pool3d_with_indices(input: Tensor, kernel_size, stride=None, padding=0, dilation=1, ceil_mode: bool = False,
                            return_indices: bool = False):
    """``max_pool3d(..., return_indices=True)`` (``torch.nn.functional.max_pool3d_with_indices``)."""
    return max_pool3d(input, kernel_size, stride, padding, dilation, ceil_mode, return_indices=True)


def adaptive_max_pool1d_with_indices(input: Tensor, output_size, return_indices: bool = False):
    """``adaptive_max_pool1d(..., return_indices=True)`` (``torch.nn.functional.adaptive_max_pool1d_with_indices``)."""
    return adaptive_max_pool1d(input, output_size, return_indices=True)


def adaptive_max_pool2d_with_indices(input: Tensor, output_size, return_indices: bool = False):
    """``adaptive_max_pool2d(..., return_indices=True)`` (``torch.nn.functional.adaptive_max_pool2d_with_indices``)."""
    return adaptive_max_pool2d(input, output_size, return_indices=True)
