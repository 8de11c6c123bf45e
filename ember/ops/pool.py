"""Pooling (max, average, adaptive), padding and interpolation over 1-3 spatial dims.

Window ops loop only over kernel offsets (4 passes for a 2x2 window): each pass reads one
strided slice of the (padded) input for every output position at once. Max pooling keeps
the winning kernel offset per output, so its backward is one masked strided add per
offset. Adaptive average pooling and interpolation are linear and separable: one small
matrix per spatial dim, applied with one GEMM each; their backward applies the transposes.
1-D pools run as 2-D pools on an unsqueezed input, as in PyTorch (grad_fn SqueezeBackward1).
"""
from __future__ import annotations

import itertools
import math

import numpy as np

from .._backend import array_module
from ._util import Tensor, Node, edge, _GradState, _wrap, _make, _scalar_type_name
from ._parallel import in_chunks

__all__: list = []

TENSOR_METHODS: dict = {}

_FUNCTIONAL = ["max_pool1d", "max_pool2d", "max_pool3d", "avg_pool1d", "avg_pool2d", "avg_pool3d",
               "adaptive_avg_pool1d", "adaptive_avg_pool2d", "adaptive_avg_pool3d", "adaptive_max_pool1d",
               "adaptive_max_pool2d", "pad", "interpolate", "upsample", "upsample_nearest", "upsample_bilinear"]


def _shape_str(shape) -> str:
    return "[" + ", ".join(str(s) for s in shape) + "]"


def _ntuple(value, n: int):
    if isinstance(value, (list, tuple)):
        vals = tuple(int(v) for v in value)
        return vals * n if len(vals) == 1 else vals
    return (int(value),) * n


# ------------------------------------------------------------------------------------------
# Window geometry shared by max and average pooling
# ------------------------------------------------------------------------------------------

class _Window:
    """Kernel, stride, padding, dilation and output size of one pooling call."""

    def __init__(self, size, kernel, stride, padding, dilation, ceil_mode: bool):
        self.size, self.kernel, self.stride = tuple(size), tuple(kernel), tuple(stride)
        self.padding, self.dilation = tuple(padding), tuple(dilation)
        self.out = tuple(_pool_out(s, k, st, p, d, ceil_mode)
                         for s, k, st, p, d in zip(size, kernel, stride, padding, dilation))
        # room on the far side for the last window (ceil_mode may run past the padding)
        self.hi = tuple(max(0, (o - 1) * st + d * (k - 1) + 1 - s - p)
                        for o, st, d, k, s, p in zip(self.out, stride, dilation, kernel, size, padding))

    def offsets(self):
        return itertools.product(*(range(k) for k in self.kernel))

    def slices(self, offset):
        spans = zip(offset, self.stride, self.dilation, self.out)
        return (slice(None), slice(None)) + tuple(slice(i * d, i * d + s * (o - 1) + 1, s) for i, s, d, o in spans)

    def padded(self, x, fill):
        """``x`` padded by ``padding`` before and ``hi`` after each spatial dim (no copy when both are 0)."""
        if not any(self.padding) and not any(self.hi):
            return x
        xp = array_module(x)
        shape = x.shape[:2] + tuple(s + p + h for s, p, h in zip(self.size, self.padding, self.hi))
        buf = xp.full(shape, fill, dtype=x.dtype)
        buf[self.inner()] = x
        return buf

    def inner(self):
        return (slice(None), slice(None)) + tuple(slice(p, p + s) for p, s in zip(self.padding, self.size))


def _pool_out(size: int, k: int, s: int, p: int, d: int, ceil_mode: bool) -> int:
    span = size + 2 * p - d * (k - 1) - 1
    out = (-(-span // s) if ceil_mode else span // s) + 1
    if ceil_mode and (out - 1) * s >= size + p:
        out -= 1  # the last window must start inside the input or its left padding
    return out


def _window_args(name, nd, input, kernel_size, stride, padding, dilation, ceil_mode):
    kernel = _ntuple(kernel_size, nd)
    stride = kernel if stride is None or (isinstance(stride, (list, tuple)) and len(stride) == 0) \
        else _ntuple(stride, nd)
    padding = _ntuple(padding, nd)
    dilation = _ntuple(dilation, nd)
    if any(k <= 0 for k in kernel):
        raise RuntimeError("stride should not be zero" if any(s == 0 for s in stride) else
                           "kernel size should be greater than zero, but got " +
                           " ".join(f"k{a}: {v}" for a, v in zip("HW" if nd == 2 else "THW", kernel)))
    if any(s <= 0 for s in stride):
        raise RuntimeError("stride should not be zero")
    if any(d <= 0 for d in dilation):
        axes = ("dilationH", "dilationW") if nd == 2 else ("dilationT", "dilationH", "dilationW")
        raise RuntimeError("dilation should be greater than zero, but got " +
                           " ".join(f"{a}: {v}" for a, v in zip(axes, dilation)))
    for p, k, d in zip(padding, kernel, dilation):
        if p < 0 or p > (d * (k - 1) + 1) // 2:
            raise RuntimeError(f"pad should be at most half of effective kernel size, but got pad={p}, "
                               f"kernel_size={k} and dilation={d}")
    if input.dim() not in (nd + 1, nd + 2) or any(s == 0 for s in input.shape[-nd:]):
        raise RuntimeError(f"non-empty {nd + 1}D or {nd + 2}D (batch mode) tensor expected for input")
    size = tuple(input.shape[-nd:])
    win = _Window(size, kernel, stride, padding, dilation, ceil_mode)
    if any(o <= 0 for o in win.out):
        channels = input.shape[-nd - 1]
        raise RuntimeError(f"Given input size: ({'x'.join(map(str, (channels,) + size))}). Calculated output size: "
                           f"({'x'.join(map(str, (channels,) + win.out))}). Output size is too small")
    return win


def _batched(input: Tensor, nd: int):
    """(N, C, *spatial) view of ``input`` and whether it was unbatched."""
    if input.dim() == nd + 1:
        return input.unsqueeze(0), True
    return input, False


def _unbatch(t, unbatched: bool):
    if isinstance(t, tuple):
        return tuple(_unbatch(x, unbatched) for x in t)
    return t.squeeze(0) if unbatched else t


def _lowest(dtype):
    return -np.inf if dtype.kind in "fV" else np.iinfo(dtype).min


# ------------------------------------------------------------------------------------------
# Max pooling
# ------------------------------------------------------------------------------------------

class _MaxPoolBackward(Node):
    _arg = None  # winning kernel offset per window, when the forward could settle it cheaply

    def _offsets(self, x):
        return self._arg if self._arg is not None else _winner_offsets(x._data, self._best, self._win)

    def apply(self, g):
        (x,) = self._saved_tensors()
        win = self._win
        if _GradState.enabled:
            indices = _wrap(_flat_indices(self._offsets(x), win))
            return (_scatter_by_indices(g, indices, x.shape),)
        gd = g._data
        xp = array_module(gd)
        shape = x.shape[:2] + tuple(s + p + h for s, p, h in zip(win.size, win.padding, win.hi))
        disjoint = all(s >= d * (k - 1) + 1 for s, d, k in zip(win.stride, win.dilation, win.kernel))
        # windows that tile the input exactly write every element: no zero fill needed
        tiled = disjoint and not any(win.padding) and not any(win.hi) and all(
            d == 1 and s == k and o * s == n for d, s, k, o, n in zip(win.dilation, win.stride, win.kernel, win.out,
                                                                      win.size))
        buf = xp.empty(shape, dtype=gd.dtype) if tiled else xp.zeros(shape, dtype=gd.dtype)
        arg = self._arg

        def scatter(part):
            gp, bp = gd[part], buf[part]
            if arg is not None:
                hits = ((offset, arg[part] == k) for k, offset in enumerate(win.offsets()))
            else:  # NOTE: the exact winner search runs on whole arrays (part is everything)
                hits = _winners(x._data, self._best, win)
            for offset, hit in hits:
                if disjoint:  # each input element is read by one window at most: write, no read-modify-write
                    xp.multiply(gp, hit, out=bp[win.slices(offset)])
                else:
                    bp[win.slices(offset)] += gp * hit
        if arg is not None:
            in_chunks(scatter, xp, shape[0], buf.size)
        else:
            scatter(slice(None))
        return (_wrap(buf[win.inner()]),)


class MaxPool2DWithIndicesBackward0(_MaxPoolBackward):
    pass


class MaxPool3DWithIndicesBackward0(_MaxPoolBackward):
    pass


def _scatter_by_indices(g: Tensor, indices: Tensor, in_shape) -> Tensor:
    """Gradient of a max pool: ``g`` added at the flat per-plane ``indices`` (differentiable ember ops)."""
    from .._factory import zeros
    n, c = in_shape[:2]
    flat = zeros((n, c, math.prod(in_shape[2:])), dtype=g.dtype, device=g.device)
    return flat.scatter_add(2, indices.reshape(n, c, -1), g.reshape(n, c, -1)).reshape(in_shape)


def _winners(d, best, win: _Window):
    """Yield (kernel offset, mask of the windows it wins): the first maximum in window order, as in PyTorch.

    Padding never wins: a window of -inf values points at its first real element. In a window
    holding NaN the last NaN wins, as PyTorch's ``val > max || isnan(val)`` scan gives.
    """
    xp = array_module(d)
    buf = win.padded(d, _lowest(d.dtype))
    taken = xp.zeros(best.shape, dtype=bool)
    last_nan = None
    if d.dtype.kind in "fV" and xp.isnan(best).any():
        last_nan = xp.full(best.shape, -1, dtype=np.int64)
        for k, offset in enumerate(win.offsets()):
            last_nan[xp.isnan(buf[win.slices(offset)])] = k
    padded = any(win.padding) or any(win.hi)
    for k, offset in enumerate(win.offsets()):
        v = buf[win.slices(offset)]
        hit = v == best
        if last_nan is not None:
            hit |= last_nan == k
        if padded:
            hit &= _real_positions(offset, win, xp)
        hit &= ~taken
        taken |= hit
        yield offset, hit


def _real_positions(offset, win: _Window, xp):
    """Which output windows read a real (not padding) element at kernel ``offset``; broadcastable to (*out)."""
    nd = len(win.kernel)
    mask = True
    for axis in range(nd):
        pos = xp.arange(win.out[axis]) * win.stride[axis] - win.padding[axis] + offset[axis] * win.dilation[axis]
        ok = (pos >= 0) & (pos < win.size[axis])
        mask = mask & ok.reshape((-1,) + (1,) * (nd - 1 - axis))
    return mask


def _winner_offsets(d, best, win: _Window):
    """The winning kernel offset (flat, row-major over the kernel) of every window."""
    xp = array_module(d)
    arg = xp.zeros(best.shape, dtype=np.int64)
    for k, (_, hit) in enumerate(_winners(d, best, win)):
        if k:
            arg += hit * k
    return arg


def _flat_indices(arg, win: _Window):
    """Kernel-offset winners -> PyTorch's flat per-plane input indices."""
    xp = array_module(arg)
    nd = len(win.kernel)
    flat = xp.zeros(arg.shape, dtype=np.int64)
    rest = arg
    plane_stride = 1
    for axis in reversed(range(nd)):
        k = win.kernel[axis]
        i = rest % k
        rest = rest // k
        o = xp.arange(win.out[axis], dtype=np.int64).reshape((-1,) + (1,) * (nd - 1 - axis))
        pos = o * win.stride[axis] - win.padding[axis] + i * win.dilation[axis]
        flat += pos * plane_stride
        plane_stride *= win.size[axis]
    return flat


def _window_max(d, win: _Window, need_arg: bool):
    """Max of every window and, when ``need_arg``, its winning kernel offset (None where not settled here).

    The offset is the first maximum in window order (a strict ``>`` keeps the earlier one), as
    in PyTorch. NaN windows, and padded windows whose maximum equals the padding value, go to
    the exact (slower) ``_winners`` in backward instead.
    """
    xp = array_module(d)
    buf = win.padded(d, _lowest(d.dtype))
    shape = d.shape[:2] + win.out
    best = xp.empty(shape, dtype=d.dtype)
    arg = xp.zeros(shape, dtype=np.uint8 if math.prod(win.kernel) <= 256 else np.int64) if need_arg else None

    def reduce(part):
        bp, src = best[part], buf[part]
        ap = arg[part] if need_arg else None
        for k, offset in enumerate(win.offsets()):
            v = src[win.slices(offset)]
            if k == 0:
                bp[...] = v
                continue
            if need_arg:  # k exceeds every earlier offset, so "k where v > best" is a branch-free maximum
                step = (v > bp).astype(ap.dtype)
                step *= k
                xp.maximum(ap, step, out=ap)
            xp.maximum(bp, v, out=bp)  # maximum propagates NaN, as PyTorch
    in_chunks(reduce, xp, shape[0], buf.size)
    if arg is not None:
        if d.dtype.kind in "fV" and xp.isnan(best).any():
            arg = None
        elif (any(win.padding) or any(win.hi)) and (best == _lowest(d.dtype)).any():
            arg = None
    return best, arg


def _max_pool(x: Tensor, win: _Window, node_cls, return_indices: bool):
    d = x._data
    record = _GradState.enabled and x._requires_grad
    best, arg = _window_max(d, win, record or return_indices)
    indices = None
    if return_indices:
        indices = _wrap(_flat_indices(arg if arg is not None else _winner_offsets(d, best, win), win))
    if record:
        node = node_cls()
        node._next = (edge(x),)
        node._save(x)
        node._win = win
        if arg is not None:
            node._arg = arg
        else:  # a copy: an in-place op on the output (ReLU(inplace=True)) must not change it
            node._best = best.copy()
        out = _make(best, node)
    else:
        out = _wrap(best)
    return (out, indices) if return_indices else out


def _max_pool_nd(input, kernel_size, stride, padding, dilation, ceil_mode, return_indices, nd, node_cls):
    win = _window_args(f"max_pool{nd}d", nd, input, kernel_size, stride, padding, dilation, ceil_mode)
    x, unbatched = _batched(input, nd)
    return _unbatch(_max_pool(x, win, node_cls, return_indices), unbatched)


def max_pool1d(input: Tensor, kernel_size, stride=None, padding=0, dilation=1, ceil_mode: bool = False,
               return_indices: bool = False):
    """1-D max pooling over (N, C, L) or (C, L) (``torch.nn.functional.max_pool1d``)."""
    if input.dim() not in (2, 3):
        raise RuntimeError("max_pool1d: Expected 2D or 3D (batch mode) tensor with optional 0 dim batch size for "
                           f"input, but got:{_shape_str(input.shape)}")
    k, s = _ntuple(kernel_size, 1), None if stride is None else _ntuple(stride, 1)
    res = max_pool2d(input.unsqueeze(-2), (1,) + k, None if s is None else (1,) + s, (0,) + _ntuple(padding, 1),
                     (1,) + _ntuple(dilation, 1), ceil_mode, return_indices)
    return tuple(r.squeeze(-2) for r in res) if return_indices else res.squeeze(-2)


def max_pool2d(input: Tensor, kernel_size, stride=None, padding=0, dilation=1, ceil_mode: bool = False,
               return_indices: bool = False):
    """2-D max pooling; indices are flat per (H, W) plane (``torch.nn.functional.max_pool2d``)."""
    return _max_pool_nd(input, kernel_size, stride, padding, dilation, ceil_mode, return_indices, 2,
                        MaxPool2DWithIndicesBackward0)


def max_pool3d(input: Tensor, kernel_size, stride=None, padding=0, dilation=1, ceil_mode: bool = False,
               return_indices: bool = False):
    """3-D max pooling (``torch.nn.functional.max_pool3d``)."""
    return _max_pool_nd(input, kernel_size, stride, padding, dilation, ceil_mode, return_indices, 3,
                        MaxPool3DWithIndicesBackward0)


# ------------------------------------------------------------------------------------------
# Average pooling: a linear op and its adjoint, each the other's backward
# ------------------------------------------------------------------------------------------

def _avg_divisor(win: _Window, count_include_pad: bool, divisor_override, xp, dtype):
    """The divisor of every output position, broadcastable to (*out)."""
    if divisor_override:
        return dtype.type(divisor_override)
    nd = len(win.kernel)
    total = None
    for axis in range(nd):
        o = xp.arange(win.out[axis])
        start = o * win.stride[axis] - win.padding[axis]
        end = xp.minimum(start + win.kernel[axis], win.size[axis] + win.padding[axis])
        if count_include_pad:
            count = end - start
        else:
            count = xp.minimum(end, win.size[axis]) - xp.maximum(start, 0)
        count = count.reshape((-1,) + (1,) * (nd - 1 - axis))
        total = count if total is None else total * count
    return total.astype(dtype)


def _avg_pool_arrays(d, win: _Window, divisor):
    buf = win.padded(d, 0)
    acc = None
    for offset in win.offsets():
        v = buf[win.slices(offset)]
        acc = v.astype(d.dtype, copy=True) if acc is None else acc.__iadd__(v)
    acc /= divisor
    return acc


def _avg_pool_adjoint_arrays(gd, win: _Window, divisor):
    xp = array_module(gd)
    scaled = gd / divisor
    buf = xp.zeros(gd.shape[:2] + tuple(s + p + h for s, p, h in zip(win.size, win.padding, win.hi)), dtype=gd.dtype)
    for offset in win.offsets():
        buf[win.slices(offset)] += scaled
    return buf[win.inner()]


class _AvgPoolBackward(Node):
    def apply(self, g):
        return (_linear_record(g, _avg_pool_adjoint_arrays, AvgPoolBackwardBackward0, self._win, self._divisor),)


class AvgPool2DBackward0(_AvgPoolBackward):
    pass


class AvgPool3DBackward0(_AvgPoolBackward):
    pass


class AvgPoolBackwardBackward0(Node):
    def apply(self, g):
        return (_linear_record(g, _avg_pool_arrays, AvgPool2DBackward0, self._win, self._divisor),)


def _linear_record(x: Tensor, fn, node_cls, win, divisor) -> Tensor:
    """Apply the linear array map ``fn`` and record ``node_cls`` (which applies the adjoint)."""
    res = fn(x._data, win, divisor)
    if _GradState.enabled and x._requires_grad:
        node = node_cls()
        node._next = (edge(x),)
        node._win, node._divisor = win, divisor
        return _make(res, node)
    return _wrap(res)


def _avg_pool_nd(input, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override, nd,
                 node_cls):
    win = _window_args(f"avg_pool{nd}d", nd, input, kernel_size, stride, padding, 1, ceil_mode)
    if divisor_override is not None and divisor_override == 0:
        raise RuntimeError("divisor must be not zero")
    x, unbatched = _batched(input, nd)
    d = x._data
    if d.dtype.kind not in "fV":
        raise NotImplementedError(f'"avg_pool{nd}d" not implemented for \'{_scalar_type_name(d.dtype)}\'')
    divisor = _avg_divisor(win, count_include_pad, divisor_override, array_module(d), d.dtype)
    return _unbatch(_linear_record(x, _avg_pool_arrays, node_cls, win, divisor), unbatched)


def avg_pool1d(input: Tensor, kernel_size, stride=None, padding=0, ceil_mode: bool = False,
               count_include_pad: bool = True) -> Tensor:
    """1-D average pooling (``torch.nn.functional.avg_pool1d``)."""
    if input.dim() not in (2, 3):
        raise RuntimeError(f"Expected 2 to 3 dimensions, but got {input.dim()}-dimensional tensor for argument #1 "
                           "'self' (while checking arguments for avg_pool1d)")
    k, s = _ntuple(kernel_size, 1), None if stride is None else _ntuple(stride, 1)
    return avg_pool2d(input.unsqueeze(-2), (1,) + k, None if s is None else (1,) + s, (0,) + _ntuple(padding, 1),
                      ceil_mode, count_include_pad).squeeze(-2)


def avg_pool2d(input: Tensor, kernel_size, stride=None, padding=0, ceil_mode: bool = False,
               count_include_pad: bool = True, divisor_override=None) -> Tensor:
    """2-D average pooling (``torch.nn.functional.avg_pool2d``)."""
    if input.dim() < 3:  # PyTorch reads input.size(-3) before any check
        raise IndexError(f"Dimension out of range (expected to be in range of [-{max(input.dim(), 1)}, "
                         f"{max(input.dim(), 1) - 1}], but got -3)")
    return _avg_pool_nd(input, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override, 2,
                        AvgPool2DBackward0)


def avg_pool3d(input: Tensor, kernel_size, stride=None, padding=0, ceil_mode: bool = False,
               count_include_pad: bool = True, divisor_override=None) -> Tensor:
    """3-D average pooling (``torch.nn.functional.avg_pool3d``)."""
    return _avg_pool_nd(input, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override, 3,
                        AvgPool3DBackward0)


# ------------------------------------------------------------------------------------------
# Separable linear maps: one (out, in) matrix per trailing spatial dim
# ------------------------------------------------------------------------------------------

def _apply_matrices(d, mats):
    """Apply ``mats[i]`` (out_i, in_i) along spatial dim i of ``d`` (N, C, *spatial): one GEMM per dim."""
    xp = array_module(d)
    nd = len(mats)
    for i, m in enumerate(mats):
        axis = d.ndim - nd + i
        if m is None:
            continue
        moved = xp.moveaxis(d, axis, -1)
        res = moved.reshape(-1, m.shape[1]) @ m.T.astype(d.dtype, copy=False)
        d = xp.moveaxis(res.reshape(moved.shape[:-1] + (m.shape[0],)), -1, axis)
    return xp.ascontiguousarray(d)


class _SeparableBackward(Node):
    def apply(self, g):
        return (_separable(g, [None if m is None else m.T for m in self._mats], _SeparableBackwardBackward),)


class _SeparableBackwardBackward(_SeparableBackward):
    pass


def _separable(x: Tensor, mats, node_cls) -> Tensor:
    res = _apply_matrices(x._data, mats)
    if _GradState.enabled and x._requires_grad:
        node = node_cls()
        node._next = (edge(x),)
        node._mats = mats
        return _make(res, node)
    return _wrap(res)


def _adaptive_matrix(size: int, out: int, xp):
    """Averaging matrix of adaptive pooling: row i averages [floor(i*size/out), ceil((i+1)*size/out))."""
    i = np.arange(out)
    start = (i * size) // out
    end = -((-(i + 1) * size) // out)
    cols = np.arange(size)
    inside = (cols >= start[:, None]) & (cols < end[:, None])
    return xp.asarray(inside / (end - start)[:, None])


class AdaptiveAvgPool2DBackward0(_SeparableBackward):
    pass


class AdaptiveAvgPool3DBackward0(_SeparableBackward):
    pass


def _adaptive_sizes(name: str, output_size, nd: int, input: Tensor):
    if input.dim() not in (nd + 1, nd + 2):
        raise RuntimeError(f"{name}(): Expected {nd + 1}D or {nd + 2}D tensor, but got {_shape_str(input.shape)}")
    if isinstance(output_size, (list, tuple)):
        if len(output_size) != nd:
            raise RuntimeError(f"{name}: output_size must be {nd}")
        sizes = tuple(output_size)
    else:
        sizes = (output_size,) * nd
    in_sizes = tuple(input.shape[-nd:])
    return tuple(s if o is None else int(o) for o, s in zip(sizes, in_sizes))


def _adaptive_avg_nd(input, output_size, nd, node_cls, name):
    out = _adaptive_sizes(name, output_size, nd, input)
    x, unbatched = _batched(input, nd)
    xp = array_module(x._data)
    mats = [None if o == s else _adaptive_matrix(s, o, xp) for o, s in zip(out, x.shape[2:])]
    return _unbatch(_separable(x, mats, node_cls), unbatched)


def adaptive_avg_pool1d(input: Tensor, output_size) -> Tensor:
    """Adaptive average pooling to length ``output_size`` (``torch.nn.functional.adaptive_avg_pool1d``)."""
    if input.dim() not in (2, 3):
        raise RuntimeError(f"adaptive_avg_pool1d(): Expected 2D or 3D tensor, but got {_shape_str(input.shape)}")
    size = output_size[0] if isinstance(output_size, (list, tuple)) else output_size
    return adaptive_avg_pool2d(input.unsqueeze(-2), (1, size)).squeeze(-2)


def adaptive_avg_pool2d(input: Tensor, output_size) -> Tensor:
    """Adaptive average pooling (``torch.nn.functional.adaptive_avg_pool2d``)."""
    return _adaptive_avg_nd(input, output_size, 2, AdaptiveAvgPool2DBackward0, "adaptive_avg_pool2d")


def adaptive_avg_pool3d(input: Tensor, output_size) -> Tensor:
    """Adaptive average pooling over (D, H, W) (``torch.nn.functional.adaptive_avg_pool3d``)."""
    return _adaptive_avg_nd(input, output_size, 3, AdaptiveAvgPool3DBackward0, "adaptive_avg_pool3d")


# ------------------------------------------------------------------------------------------
# Adaptive max pooling
# ------------------------------------------------------------------------------------------

class AdaptiveMaxPool2DBackward0(Node):
    def apply(self, g):
        (x,) = self._saved_tensors()
        return (_scatter_by_indices(g, self._indices, x.shape),)


def _adaptive_max(x: Tensor, out, return_indices: bool):
    d = x._data
    xp = array_module(d)
    size = d.shape[2:]
    nd = len(out)
    starts, ends = [], []
    for s, o in zip(size, out):
        i = np.arange(o)
        starts.append((i * s) // o)
        ends.append(-((-(i + 1) * s) // o))
    spans = [int((e - b).max()) for b, e in zip(starts, ends)]
    best = flat = None
    for offset in itertools.product(*(range(k) for k in spans)):
        pos = [np.minimum(b + t, e - 1) for b, e, t in zip(starts, ends, offset)]
        grid = np.ix_(*pos)
        v = d[(slice(None), slice(None)) + tuple(xp.asarray(g) for g in grid)]
        index = 0
        for axis in range(nd):
            index = index * size[axis] + grid[axis]
        index = xp.asarray(index)
        if best is None:
            best = v
            flat = xp.broadcast_to(index, v.shape).astype(np.int64)
            continue
        better = v > best
        if d.dtype.kind in "fV":
            better |= xp.isnan(v)
        best = xp.where(better, v, best)
        flat = xp.where(better, index, flat)
    indices = _wrap(flat)
    if _GradState.enabled and x._requires_grad:
        node = AdaptiveMaxPool2DBackward0()
        node._next = (edge(x),)
        node._save(x)
        node._indices = indices
        res = _make(best, node)
    else:
        res = _wrap(best)
    return (res, indices) if return_indices else res


def adaptive_max_pool1d(input: Tensor, output_size, return_indices: bool = False):
    """Adaptive max pooling to length ``output_size`` (``torch.nn.functional.adaptive_max_pool1d``)."""
    if input.dim() not in (2, 3):
        raise RuntimeError(f"adaptive_max_pool1d(): Expected 2D or 3D tensor, but got: {_shape_str(input.shape)}")
    size = output_size[0] if isinstance(output_size, (list, tuple)) else output_size
    res = adaptive_max_pool2d(input.unsqueeze(-2), (1, size), return_indices)
    return tuple(r.squeeze(-2) for r in res) if return_indices else res.squeeze(-2)


def adaptive_max_pool2d(input: Tensor, output_size, return_indices: bool = False):
    """Adaptive max pooling; indices flat per plane (``torch.nn.functional.adaptive_max_pool2d``)."""
    if input.dim() not in (3, 4):
        raise RuntimeError(f"adaptive_max_pool2d(): Expected 3D or 4D tensor, but got: {_shape_str(input.shape)}")
    out = _adaptive_sizes("adaptive_max_pool2d", output_size, 2, input)
    x, unbatched = _batched(input, 2)
    return _unbatch(_adaptive_max(x, out, return_indices), unbatched)


# ------------------------------------------------------------------------------------------
# Padding
# ------------------------------------------------------------------------------------------

class ConstantPadNdBackward0(Node):
    def apply(self, g):
        return (_constant_pad(g, [-p for p in self._pad], 0),)


def _constant_pad(x: Tensor, pad, value) -> Tensor:
    """Pad (or crop, for negative entries) the trailing dims; ``pad`` is last-dim-first, as in PyTorch."""
    d = x._data
    xp = array_module(d)
    nd = len(pad) // 2
    shape = list(d.shape)
    src = [slice(None)] * d.ndim
    dst = [slice(None)] * d.ndim
    for i in range(nd):
        axis = d.ndim - 1 - i
        lo, hi = pad[2 * i], pad[2 * i + 1]
        size = d.shape[axis]
        new = size + lo + hi
        if new < 0:
            raise RuntimeError(f"The input size {size}, plus negative padding {lo} and {hi} resulted in a negative "
                               f"output size, which is invalid. Check dimension {axis} of your input.")
        shape[axis] = new
        src[axis] = slice(max(0, -lo), size - max(0, -hi))
        dst[axis] = slice(max(0, lo), new - max(0, hi))
    res = xp.full(tuple(shape), value, dtype=d.dtype)
    res[tuple(dst)] = d[tuple(src)]
    if _GradState.enabled and x._requires_grad:
        node = ConstantPadNdBackward0()
        node._next = (edge(x),)
        node._pad = tuple(pad)
        return _make(res, node)
    return _wrap(res)


def _pad_index(size: int, lo: int, hi: int, mode: str):
    """For each padded position, the input position it copies."""
    pos = np.arange(-lo, size + hi)
    if mode == "reflect":
        period = 2 * (size - 1) if size > 1 else 1
        pos = np.abs(pos) % period
        return np.where(pos >= size, period - pos, pos)
    if mode == "replicate":
        return np.clip(pos, 0, size - 1)
    # circular: negative padding crops first, then the cropped span wraps around (PyTorch's order)
    start, kept = max(0, -lo), size - max(0, -lo) - max(0, -hi)
    return start + np.arange(-max(lo, 0), kept + max(hi, 0)) % kept


class _GatherPadBackward(Node):
    def apply(self, g):
        return (_scatter_axes(g, self._index, self._sizes, self._node_name),)


class ReflectionPad1DBackward0(_GatherPadBackward):
    pass


class ReflectionPad2DBackward0(_GatherPadBackward):
    pass


class ReflectionPad3DBackward0(_GatherPadBackward):
    pass


class ReplicationPad1DBackward0(_GatherPadBackward):
    pass


class ReplicationPad2DBackward0(_GatherPadBackward):
    pass


class ReplicationPad3DBackward0(_GatherPadBackward):
    pass


class CircularPadBackward0(_GatherPadBackward):
    pass


class _ScatterAxesBackward(Node):
    def apply(self, g):
        return (_gather_axes(g, self._index, self._node_name),)


def _gather_axes(x: Tensor, index, node_name: str) -> Tensor:
    """x[..., index[0], index[1], ...] on the trailing dims, one axis at a time."""
    d = x._data
    xp = array_module(d)
    nd = len(index)
    for i, idx in enumerate(index):
        d = xp.take(d, xp.asarray(idx), axis=d.ndim - nd + i)
    if _GradState.enabled and x._requires_grad:
        node = globals()[node_name]()
        node._next = (edge(x),)
        node._index, node._sizes, node._node_name = index, tuple(x.shape[-nd:]), node_name
        return _make(d, node)
    return _wrap(d)


def _scatter_axes(g: Tensor, index, sizes, node_name: str) -> Tensor:
    """Adjoint of _gather_axes: sum gradient entries that copied the same input position."""
    d = g._data
    xp = array_module(d)
    nd = len(index)
    for i in reversed(range(nd)):
        axis = d.ndim - nd + i
        moved = xp.moveaxis(d, axis, 0)
        acc = xp.zeros((sizes[i],) + moved.shape[1:], dtype=d.dtype)
        xp.add.at(acc, xp.asarray(index[i]), moved)
        d = xp.moveaxis(acc, 0, axis)
    d = xp.ascontiguousarray(d)
    if _GradState.enabled and g._requires_grad:
        node = _ScatterAxesBackward()
        node._next = (edge(g),)
        node._index, node._node_name = index, node_name
        return _make(d, node)
    return _wrap(d)


_PAD_NODES = {("reflect", 1): "ReflectionPad1DBackward0", ("reflect", 2): "ReflectionPad2DBackward0",
              ("reflect", 3): "ReflectionPad3DBackward0", ("replicate", 1): "ReplicationPad1DBackward0",
              ("replicate", 2): "ReplicationPad2DBackward0", ("replicate", 3): "ReplicationPad3DBackward0"}


def pad(input: Tensor, pad, mode: str = "constant", value=None) -> Tensor:
    """Pad the trailing dims by ``pad`` = (last_lo, last_hi, prev_lo, ...) (``torch.nn.functional.pad``)."""
    pad = [int(p) for p in pad]
    if len(pad) % 2:
        raise RuntimeError("Padding length must be divisible by 2")
    if len(pad) // 2 > input.dim():
        raise RuntimeError("Padding length should be less than or equal to two times the input dimension but got "
                           f"padding length {len(pad)} and input of dimension {input.dim()}")
    if mode == "constant":
        return _constant_pad(input, pad, 0 if value is None else value)
    if mode not in ("reflect", "replicate", "circular"):
        raise NotImplementedError(f"Unrecognised padding mode {mode}")
    nd = len(pad) // 2
    if nd not in (1, 2, 3) or input.dim() not in (nd + 1, nd + 2):
        raise NotImplementedError(
            f"Padding size {len(pad)} is not supported for {input.dim()}D input tensor.\n"
            "Supported combinations for non-constant padding:\n"
            "  - 2D or 3D input: padding size = 2 (pads last dimension)\n"
            "  - 3D or 4D input: padding size = 4 (pads last 2 dimensions)\n"
            "  - 4D or 5D input: padding size = 6 (pads last 3 dimensions)")
    sizes = tuple(input.shape[-nd:])
    index = [None] * nd
    for i in reversed(range(nd)):  # PyTorch checks the last dim (the first pad pair) first
        size = sizes[i]
        lo, hi = pad[2 * (nd - 1 - i)], pad[2 * (nd - 1 - i) + 1]
        axis = input.dim() - nd + i
        if mode == "reflect" and (lo >= size or hi >= size):
            raise RuntimeError(f"Argument #4: Padding size should be less than the corresponding input dimension, "
                               f"but got: padding ({lo}, {hi}) at dimension {axis} of input "
                               f"{_shape_str(input.shape)}")
        if mode == "circular" and (lo > size or hi > size):
            raise RuntimeError("Padding value causes wrapping around more than once.")
        if mode == "replicate" and size == 0:
            raise RuntimeError(f"padding size is expected to be non-negative, but got input size {size}")
        index[i] = _pad_index(size, lo, hi, mode)
    return _gather_axes(input, index, _PAD_NODES.get((mode, nd), "CircularPadBackward0"))


# ------------------------------------------------------------------------------------------
# Interpolation
# ------------------------------------------------------------------------------------------

class UpsampleNearest1DBackward0(_SeparableBackward):
    pass


class UpsampleNearest2DBackward0(_SeparableBackward):
    pass


class UpsampleNearest3DBackward0(_SeparableBackward):
    pass


class UpsampleNearestExact2DBackward0(_SeparableBackward):
    pass


class UpsampleLinear1DBackward0(_SeparableBackward):
    pass


class UpsampleBilinear2DBackward0(_SeparableBackward):
    pass


class UpsampleTrilinear3DBackward0(_SeparableBackward):
    pass


class UpsampleBicubic2DBackward0(_SeparableBackward):
    pass


class UpsampleBilinear2DAaBackward0(_SeparableBackward):
    pass


class UpsampleBicubic2DAaBackward0(_SeparableBackward):
    pass


class UpsampleLanczos2DAaBackward0(_SeparableBackward):
    pass


_AA_NODES = {"bilinear": UpsampleBilinear2DAaBackward0, "bicubic": UpsampleBicubic2DAaBackward0,
             "lanczos": UpsampleLanczos2DAaBackward0}
_MODE_DIMS = {"linear": 1, "bilinear": 2, "bicubic": 2, "trilinear": 3, "lanczos": 2}
_INTERP_NODES = {("nearest", 1): UpsampleNearest1DBackward0, ("nearest", 2): UpsampleNearest2DBackward0,
                 ("nearest", 3): UpsampleNearest3DBackward0, ("linear", 1): UpsampleLinear1DBackward0,
                 ("bilinear", 2): UpsampleBilinear2DBackward0, ("trilinear", 3): UpsampleTrilinear3DBackward0,
                 ("bicubic", 2): UpsampleBicubic2DBackward0}


def _source_scale(size: int, out: int, scale_factor, align_corners: bool) -> float:
    if align_corners:
        return (size - 1) / (out - 1) if out > 1 else 0.0
    if scale_factor is not None:
        return 1.0 / scale_factor
    return size / out


def _interp_matrix(size: int, out: int, scale: float, mode: str, align_corners: bool):
    """(out, size) matrix of one spatial dim's interpolation weights."""
    dst = np.arange(out, dtype=np.float64)
    m = np.zeros((out, size))
    rows = np.arange(out)
    if mode in ("nearest", "nearest-exact"):
        scale32 = np.float32(scale)
        shift = np.float32(0.5) if mode == "nearest-exact" else np.float32(0.0)
        src = np.floor((dst.astype(np.float32) + shift) * scale32).astype(np.int64)
        m[rows, np.minimum(src, size - 1)] = 1.0
        return m
    src = dst * scale if align_corners else (dst + 0.5) * scale - 0.5
    if mode == "bicubic":
        base = np.floor(src).astype(np.int64)
        t = src - base
        for k, w in zip(range(-1, 3), _cubic_weights(t)):
            np.add.at(m, (rows, np.clip(base + k, 0, size - 1)), w)
        return m
    src = np.maximum(src, 0.0)
    lo = np.minimum(np.floor(src).astype(np.int64), size - 1)
    hi = np.minimum(lo + 1, size - 1)
    frac = src - lo
    np.add.at(m, (rows, lo), 1.0 - frac)
    np.add.at(m, (rows, hi), frac)
    return m


# Antialiased resampling (PIL's separable filters, as PyTorch's antialias=True): each output
# averages the inputs under a filter stretched by the downscale factor, weights normalised to 1.
_AA_SUPPORT = {"bilinear": 1.0, "bicubic": 2.0, "lanczos": 3.0}


def _aa_filter(mode: str, x):
    x = np.abs(x)
    if mode == "bilinear":
        return np.maximum(0.0, 1.0 - x)
    if mode == "bicubic":
        a = -0.5
        near = ((a + 2) * x - (a + 3)) * x * x + 1
        far = (((x - 5) * x + 8) * x - 4) * a
        return np.where(x < 1, near, np.where(x < 2, far, 0.0))
    return np.where(x < 3, np.sinc(x) * np.sinc(x / 3), 0.0)  # lanczos, a = 3


def _antialias_matrix(size: int, out: int, scale: float, mode: str):
    """(out, size) antialiased interpolation weights of one spatial dim."""
    support = _AA_SUPPORT[mode] * max(scale, 1.0)
    inv = 1.0 / scale if scale >= 1.0 else 1.0
    centers = scale * (np.arange(out) + 0.5)
    lo = np.maximum(np.floor(centers - support + 0.5).astype(np.int64), 0)
    hi = np.minimum(np.floor(centers + support + 0.5).astype(np.int64), size)
    width = max(int((hi - lo).max()), 1) if out else 1
    cols = lo[:, None] + np.arange(width)
    inside = cols < hi[:, None]
    w = np.where(inside, _aa_filter(mode, (cols - centers[:, None] + 0.5) * inv), 0.0)
    total = w.sum(axis=1, keepdims=True)
    w = np.divide(w, total, out=np.zeros_like(w), where=total != 0)
    m = np.zeros((out, size))
    rows = np.broadcast_to(np.arange(out)[:, None], cols.shape)
    m[rows[inside], cols[inside]] = w[inside]
    return m


def _cubic_weights(t):
    a = -0.75

    def near(x):  # |x| <= 1
        return ((a + 2) * x - (a + 3)) * x * x + 1

    def far(x):  # 1 < |x| < 2
        return ((a * x - 5 * a) * x + 8 * a) * x - 4 * a
    return far(t + 1), near(t), near(1 - t), far(2 - t)


def interpolate(input: Tensor, size=None, scale_factor=None, mode: str = "nearest", align_corners=None,
                recompute_scale_factor=None, antialias: bool = False) -> Tensor:
    """Resize the spatial dims by nearest/linear/bilinear/bicubic/trilinear/area (``F.interpolate``)."""
    nd = input.dim() - 2
    modes = ("nearest", "linear", "bilinear", "bicubic", "trilinear", "area", "nearest-exact", "lanczos")
    if mode not in modes or nd not in (1, 2, 3):
        raise NotImplementedError(f"Input Error: Only 3D, 4D and 5D input Tensors supported (got {input.dim()}D) "
                                  "for the modes: nearest | linear | bilinear | bicubic | trilinear | lanczos | area "
                                  f"| nearest-exact (got {mode})")
    if align_corners is not None and mode in ("nearest", "area", "nearest-exact"):
        raise ValueError("align_corners option can only be set with the interpolating modes: linear | bilinear | "
                         "bicubic | trilinear")
    in_sizes = tuple(input.shape[2:])
    if size is not None and scale_factor is not None:
        raise ValueError("only one of size or scale_factor should be defined")
    if size is not None:
        out = tuple(int(s) for s in size) if isinstance(size, (list, tuple)) else (int(size),) * nd
        if len(out) != nd:
            raise ValueError(f"Input and output must have the same number of spatial dimensions, but got input with "
                             f"spatial dimensions of {list(in_sizes)} and output size of {tuple(size)}. Please provide "
                             "input tensor in (N, C, d1, d2, ...,dK) format and output size in (o1, o2, ...,oK) "
                             "format.")
        factors = (None,) * nd
    elif scale_factor is not None:
        factors = tuple(float(f) for f in scale_factor) if isinstance(scale_factor, (list, tuple)) \
            else (float(scale_factor),) * nd
        if len(factors) != nd:
            raise ValueError(f"Input and scale_factor must have the same number of spatial dimensions, but got input "
                             f"with spatial dimensions of {list(in_sizes)} and scale_factor of shape "
                             f"{tuple(scale_factor)}. Please provide input tensor in (N, C, d1, d2, ...,dK) format "
                             "and scale_factor in (s1, s2, ...,sK) format.")
        out = tuple(int(math.floor(s * f)) for s, f in zip(in_sizes, factors))
        if recompute_scale_factor:
            factors = (None,) * nd
    else:
        raise ValueError("either size or scale_factor should be defined")
    if antialias and not (mode in ("bilinear", "bicubic", "lanczos") and input.dim() == 4):
        raise ValueError("Anti-alias option is restricted to bilinear, bicubic, and lanczos modes and requires a 4-D "
                         "tensor as input")
    if mode == "lanczos" and not antialias:
        raise ValueError("Lanczos mode requires antialias=True")
    if mode == "area":
        return _adaptive_avg_nd(input, out, nd, {1: AdaptiveAvgPool2DBackward0, 2: AdaptiveAvgPool2DBackward0,
                                                 3: AdaptiveAvgPool3DBackward0}[nd], f"adaptive_avg_pool{nd}d")
    needed = _MODE_DIMS.get(mode)
    if needed is not None and needed != nd:
        raise NotImplementedError(f"Got {input.dim()}D input, but {mode} mode needs {needed + 2}D input")
    align = bool(align_corners) if mode not in ("nearest", "nearest-exact") else False
    xp = array_module(input._data)
    mats = []
    for s, o, f in zip(in_sizes, out, factors):
        scale = _source_scale(s, o, f, align)
        if antialias:
            mats.append(xp.asarray(_antialias_matrix(s, o, scale, mode)))
        else:
            mats.append(None if (s == o and mode in ("nearest", "nearest-exact") and f in (None, 1.0)) else
                        xp.asarray(_interp_matrix(s, o, scale, mode, align)))
    node_cls = _AA_NODES[mode] if antialias else _INTERP_NODES.get((mode, nd), UpsampleNearestExact2DBackward0)
    return _separable(input, mats, node_cls)


def upsample(input: Tensor, size=None, scale_factor=None, mode: str = "nearest", align_corners=None) -> Tensor:
    """Deprecated alias of interpolate (``torch.nn.functional.upsample``)."""
    return interpolate(input, size, scale_factor, mode, align_corners)


def upsample_nearest(input: Tensor, size=None, scale_factor=None) -> Tensor:
    return interpolate(input, size, scale_factor, mode="nearest")


def upsample_bilinear(input: Tensor, size=None, scale_factor=None) -> Tensor:
    return interpolate(input, size, scale_factor, mode="bilinear", align_corners=True)
