"""Reductions: sum, mean, var/std, prod, max/min, norms, logsumexp, cumsum, all/any."""
from __future__ import annotations

import builtins
import math
import warnings
from collections import namedtuple

import numpy as np

from .. import _dtype as D
from .._backend import array_module
from ._util import Tensor, Node, edge, SavedOutput, _GradState, _wrap, _make, normalize_dims, wrap_dim
from . import elementwise as E


def _expand_grad(g: Tensor, in_shape, dims, keepdim: bool) -> Tensor:
    """Broadcast a reduction's gradient back over the reduced ``dims`` of ``in_shape``."""
    if not keepdim and dims:
        shape = list(in_shape)
        for d in dims:
            shape[d] = 1
        g = g.reshape(tuple(shape))
    return g.expand(in_shape)


class SumBackward0(Node):
    """sum over all elements."""

    def apply(self, g):
        return (g.expand(self._shape),)


class SumBackward1(Node):
    """sum over ``dim``."""

    def apply(self, g):
        return (_expand_grad(g, self._shape, self._dims, self._keepdim),)


def _sum_dtype(np_dtype, dtype):
    if dtype is not None:
        return D.to_dtype(dtype).np
    if np_dtype.kind in "biu":
        return np.dtype(np.int64)
    return None


def sum(input, dim=None, keepdim: bool = False, *, dtype=None):
    """Sum of elements, over ``dim`` if given (``torch.sum``); ints and bools sum to int64."""
    d = input._data
    acc = _sum_dtype(d.dtype, dtype)
    dims = normalize_dims(dim, d.ndim) if dim is not None and not (isinstance(dim, (tuple, list)) and
                                                                   len(dim) == 0) else None
    if d.dtype.itemsize == 2 and d.dtype.kind in "fV" and acc is None:
        res = d.sum(axis=dims, keepdims=keepdim, dtype=np.float32).astype(d.dtype)  # accumulate in float32
    else:
        res = d.sum(axis=dims, keepdims=keepdim, dtype=acc)
    if _GradState.enabled and input._requires_grad:
        if dims is None:
            node = SumBackward0()
            node._shape = d.shape
            if keepdim:
                node = SumBackward1()
                node._shape, node._dims, node._keepdim = d.shape, tuple(range(d.ndim)), True
        else:
            node = SumBackward1()
            node._shape, node._dims, node._keepdim = d.shape, dims, keepdim
        node._next = (edge(input),)
        return _make(res, node)
    return _wrap(res)


class MeanBackward0(Node):
    def apply(self, g):
        return (g.expand(self._shape) / self._count,)


class MeanBackward1(Node):
    def apply(self, g):
        return (_expand_grad(g, self._shape, self._dims, self._keepdim) / self._count,)


def mean(input, dim=None, keepdim: bool = False, *, dtype=None):
    """Arithmetic mean (``torch.mean``); integer inputs need a floating ``dtype``."""
    d = input._data
    if dtype is not None:
        d = d.astype(D.to_dtype(dtype).np)
    elif d.dtype.kind not in "fV":
        raise RuntimeError("mean(): could not infer output dtype. Input dtype must be either a floating point or "
                           f"complex dtype. Got: {_scalar_name(d.dtype)}")
    dims = normalize_dims(dim, d.ndim) if dim is not None and not (isinstance(dim, (tuple, list)) and
                                                                   len(dim) == 0) else None
    count = 1
    for ax in (dims if dims is not None else range(d.ndim)):
        count *= d.shape[ax]
    if d.dtype.itemsize == 2:
        res = d.mean(axis=dims, keepdims=keepdim, dtype=np.float32).astype(d.dtype)
    else:
        with np.errstate(invalid="ignore", divide="ignore"):
            res = d.mean(axis=dims, keepdims=keepdim) if count else \
                array_module(d).full(d.sum(axis=dims, keepdims=keepdim).shape, np.nan, dtype=d.dtype)
    if _GradState.enabled and input._requires_grad:
        if dims is None and not keepdim:
            node = MeanBackward0()
            node._shape = d.shape
        else:
            node = MeanBackward1()
            node._shape, node._keepdim = d.shape, keepdim
            node._dims = dims if dims is not None else tuple(range(d.ndim))
        node._count = count
        node._next = (edge(input),)
        return _make(res.astype(d.dtype, copy=False), node)
    return _wrap(res.astype(d.dtype, copy=False))


def _scalar_name(np_dtype):
    from ._util import _scalar_type_name
    return _scalar_type_name(np_dtype)




# ------------------------------------------------------------------------------------------
# Shared helpers
# ------------------------------------------------------------------------------------------

def _reduce_axes(dim, ndim: int) -> tuple:
    """The axes a reduction over ``dim`` covers (None or () = all); () for a 0-d input."""
    if dim is None or (isinstance(dim, (tuple, list)) and len(dim) == 0):
        return tuple(range(ndim))
    dims = normalize_dims(dim, ndim)
    return dims if ndim else ()


def _count(shape, dims) -> int:
    n = 1
    for ax in dims:
        n *= shape[ax]
    return n


def _unreduce(t: Tensor, shape, dims, keepdim: bool) -> Tensor:
    """``t`` (a reduction's output or its gradient) reshaped to the keepdim form, ready to broadcast."""
    if keepdim or not dims:
        return t
    return t.reshape(tuple(1 if i in dims else s for i, s in enumerate(shape)))


def _acc_dtype(d):
    """Half-precision inputs are reduced in float32, as PyTorch accumulates them."""
    return np.float32 if d.dtype.itemsize == 2 and d.dtype.kind in "fV" else None


def _scan_acc_dtype(d):
    """The dtype cumsum/cumprod accumulate in: PyTorch's CPU accumulate type, float32 for the half
    types and float64 for float32 (so a long float32 cumsum matches PyTorch to the bit)."""
    if d.dtype.kind not in "fV":
        return None
    if d.dtype.itemsize == 2:
        return np.float32
    return np.float64 if d.dtype == np.float32 else None


class _ReturnTypes:
    """``ember.return_types``: the named (values, indices) tuples of max/min/sort/topk/... ."""

    def __repr__(self) -> str:
        return "<module 'ember.return_types'>"


def _return_type(name: str):
    cls = namedtuple(name, ("values", "indices"))
    cls.__module__ = "ember.return_types"
    cls.__repr__ = lambda self: f"ember.return_types.{name}(\nvalues={self.values!r},\nindices={self.indices!r})"
    return cls


return_types = _ReturnTypes()
for _name in ("max", "min", "sort", "topk", "kthvalue", "median", "nanmedian", "mode"):
    setattr(return_types, _name, _return_type(_name))


# ------------------------------------------------------------------------------------------
# Gather / scatter along a dim: the backward of every value-selecting op (max(dim), sort, topk)
# ------------------------------------------------------------------------------------------

def _along_index(xp, index, axis: int) -> tuple:
    """An advanced-indexing tuple that addresses ``index``'s entries along ``axis``."""
    idx = []
    for ax, n in enumerate(index.shape):
        shape = [1] * index.ndim
        shape[ax] = n
        idx.append(xp.arange(n).reshape(shape))
    idx[axis] = index
    return tuple(idx)


class GatherBackward0(Node):
    def apply(self, g):
        return (_scatter_into_zeros(g, self._index, self._axis, self._shape),)


def _gather(x: Tensor, index, axis: int) -> Tensor:
    """``take_along_axis`` recorded for autograd (index is a raw int array)."""
    res = array_module(x._data).take_along_axis(x._data, index, axis=axis)
    if _GradState.enabled and x._requires_grad:
        node = GatherBackward0()
        node._next = (edge(x),)
        node._index, node._axis, node._shape = index, axis, x._data.shape
        return _make(res, node)
    return _wrap(res)


class ScatterBackward0(Node):
    def apply(self, g):
        return (_gather(g, self._index, self._axis),)


def _scatter_into_zeros(src: Tensor, index, axis: int, shape) -> Tensor:
    """Zeros of ``shape`` with ``src`` written at ``index`` along ``axis`` (indices unique per slice)."""
    d = src._data
    xp = array_module(d)
    out = xp.zeros(shape, dtype=d.dtype)
    out[_along_index(xp, index, axis)] = d
    if _GradState.enabled and src._requires_grad:
        node = ScatterBackward0()
        node._next = (edge(src),)
        node._index, node._axis = index, axis
        return _make(out, node)
    return _wrap(out)


class _SelectBackward(Node):
    """Gradient of an op that picks input elements by index along an axis: scatter into zeros."""

    def apply(self, g):
        index = self._index
        if g._data.shape != index.shape:
            g = g.reshape(index.shape)
        out = _scatter_into_zeros(g, index, self._axis, self._work_shape)
        if self._work_shape != self._shape:
            out = out.reshape(self._shape)
        return (out,)


class MaxBackward0(_SelectBackward):
    pass


class MinBackward0(_SelectBackward):
    pass


class MedianBackward1(_SelectBackward):
    pass


def _work_axis(d, dim: int):
    """The array and axis a dim-wise selection runs on: a 0-d input is treated as shape (1,)."""
    if d.ndim == 0:
        wrap_dim(dim, 0)
        return d.reshape(1), 0
    return d, wrap_dim(dim, d.ndim)


def _selection_result(input: Tensor, work, axis: int, index, keepdim: bool, node_cls, type_name: str):
    """Build the (values, indices) named tuple of picking ``work`` at keepdim-shaped ``index``."""
    d = input._data
    xp = array_module(d)
    values = xp.take_along_axis(work, index, axis=axis)
    index = index.astype(np.int64, copy=False)
    if d.ndim == 0:
        out_shape = ()
    elif keepdim:
        out_shape = index.shape
    else:
        out_shape = index.shape[:axis] + index.shape[axis + 1:]
    indices = _wrap(index.reshape(out_shape))
    values = values.reshape(out_shape)
    if _GradState.enabled and input._requires_grad:
        node = node_cls()
        node._next = (edge(input),)
        node._index, node._axis, node._work_shape, node._shape = index, axis, work.shape, d.shape
        result = _make(values, node)
    else:
        result = _wrap(values)
    return getattr(return_types, type_name)(result, indices)


def _check_nonempty_dim(name: str, work, axis: int) -> None:
    if work.shape[axis] == 0:
        raise IndexError(f"{name}(): Expected reduction dim {axis} to have non-zero size.")


# ------------------------------------------------------------------------------------------
# max / min / amax / amin / argmax / argmin
# ------------------------------------------------------------------------------------------

def _evenly_distribute(g: Tensor, x: Tensor, value: Tensor) -> Tensor:
    """Split ``g`` evenly among the elements equal to ``value`` (NaNs if ``value`` is NaN), as PyTorch."""
    value_is_nan = value._data.dtype.kind in "fV" and bool(array_module(value._data).isnan(value._data))
    mask = E.isnan(x) if value_is_nan else x == value
    return mask * (g / mask.sum())


class MaxBackward1(Node):
    def apply(self, g):
        (x,) = self._saved_tensors()
        return (_evenly_distribute(g, x, self._result()),)


class MinBackward1(MaxBackward1):
    pass


class MedianBackward0(MaxBackward1):
    pass


def _extreme_all(input: Tensor, name: str) -> Tensor:
    d = input._data
    if d.size == 0:
        raise RuntimeError(f"{name}(): Expected reduction dim to be specified for input.numel() == 0. "
                           "Specify the reduction dim with the 'dim' argument.")
    res = d.max() if name == "max" else d.min()
    if _GradState.enabled and input._requires_grad:
        node = MaxBackward1() if name == "max" else MinBackward1()
        node._next = (edge(input),)
        node._save(input)
        result = _make(res, node)
        node._out = SavedOutput(result)
        return result
    return _wrap(res)


def _extreme_dim(input: Tensor, dim: int, keepdim: bool, name: str):
    work, axis = _work_axis(input._data, dim)
    _check_nonempty_dim(name, work, axis)
    xp = array_module(work)
    index = (xp.argmax if name == "max" else xp.argmin)(work, axis=axis, keepdims=True)
    return _selection_result(input, work, axis, index, keepdim, MaxBackward0 if name == "max" else MinBackward0,
                             name)


def _max_or_min(name: str, input: Tensor, dim, keepdim: bool, other_fn):
    if dim is None:
        return _extreme_all(input, name)
    if isinstance(dim, Tensor):
        return other_fn(input, dim)
    if not isinstance(dim, (int, np.integer)):
        raise TypeError(f"{name}() received an invalid combination of arguments - got (Tensor, "
                        f"{type(dim).__name__}), but expected one of:\n * (Tensor input)\n"
                        " * (Tensor input, Tensor other)\n * (Tensor input, int dim, bool keepdim = False)")
    return _extreme_dim(input, int(dim), keepdim, name)


def max(input: Tensor, dim=None, keepdim: bool = False):
    """``torch.max``: the maximum (MaxBackward1), per-``dim`` (values, indices), or ``maximum`` with a tensor."""
    return _max_or_min("max", input, dim, keepdim, E.maximum)


def min(input: Tensor, dim=None, keepdim: bool = False):
    """``torch.min``: the minimum (MinBackward1), per-``dim`` (values, indices), or ``minimum`` with a tensor."""
    return _max_or_min("min", input, dim, keepdim, E.minimum)


class AmaxBackward0(Node):
    def apply(self, g):
        (x,) = self._saved_tensors()
        dims, keepdim, shape = self._dims, self._keepdim, x._data.shape
        mask = x == _unreduce(self._result(), shape, dims, keepdim)
        # ties share the gradient evenly, as PyTorch's scale_grad_by_count
        return ((_unreduce(g, shape, dims, keepdim) / mask.sum(dims, keepdim=True)) * mask,)


class AminBackward0(AmaxBackward0):
    pass


def _amax_or_amin(name: str, input: Tensor, dim, keepdim: bool) -> Tensor:
    d = input._data
    no_dim = dim is None or (isinstance(dim, (tuple, list)) and len(dim) == 0)
    dims = _reduce_axes(dim, d.ndim)
    if d.size == 0:
        if no_dim:
            raise RuntimeError(f"{name}(): Expected reduction dim to be specified for input.numel() == 0. "
                               "Specify the reduction dim with the 'dim' argument.")
        for ax in dims:
            _check_nonempty_dim(name, d, ax)
    xp = array_module(d)
    res = (xp.amax if name == "amax" else xp.amin)(d, axis=dims, keepdims=keepdim)
    if _GradState.enabled and input._requires_grad:
        node = AmaxBackward0() if name == "amax" else AminBackward0()
        node._next = (edge(input),)
        node._save(input)
        node._dims, node._keepdim = dims, keepdim
        result = _make(res, node)
        node._out = SavedOutput(result)
        return result
    return _wrap(res)


def amax(input: Tensor, dim=(), keepdim: bool = False) -> Tensor:
    """``torch.amax``: maximum over ``dim`` (int or tuple); ties share the gradient evenly."""
    return _amax_or_amin("amax", input, dim, keepdim)


def amin(input: Tensor, dim=(), keepdim: bool = False) -> Tensor:
    """``torch.amin``: minimum over ``dim`` (int or tuple); ties share the gradient evenly."""
    return _amax_or_amin("amin", input, dim, keepdim)


def _arg_extreme(name: str, input: Tensor, dim, keepdim: bool) -> Tensor:
    d = input._data
    if d.dtype.kind == "b":
        raise RuntimeError(f"{name}(): does not support bool input")
    xp = array_module(d)
    fn = xp.argmax if name == "argmax" else xp.argmin
    if dim is None:
        if d.size == 0:
            raise IndexError(f"{name}(): Expected reduction dim to be specified for input.numel() == 0.")
        res = fn(d.reshape(-1))
        if keepdim:
            res = res.reshape((1,) * d.ndim)
    else:
        work, axis = _work_axis(d, dim)
        _check_nonempty_dim(name, work, axis)
        res = fn(work, axis=axis, keepdims=keepdim and d.ndim > 0)
        if d.ndim == 0:
            res = res.reshape(())
    return _wrap(xp.asarray(res).astype(np.int64, copy=False))


def argmax(input: Tensor, dim=None, keepdim: bool = False) -> Tensor:
    """``torch.argmax``: index of the first maximum (NaN counts as the maximum); dim=None flattens."""
    return _arg_extreme("argmax", input, dim, keepdim)


def argmin(input: Tensor, dim=None, keepdim: bool = False) -> Tensor:
    """``torch.argmin``: index of the first minimum (NaN counts as the minimum); dim=None flattens."""
    return _arg_extreme("argmin", input, dim, keepdim)


# ------------------------------------------------------------------------------------------
# var / std / var_mean / std_mean
# ------------------------------------------------------------------------------------------

def _var_args(name: str, dim, unbiased, correction):
    if isinstance(dim, bool):  # legacy x.var(False): the first positional is `unbiased`
        dim, unbiased = None, dim
    if unbiased is not None and correction is not None:
        raise TypeError(f"{name}() received an invalid combination of arguments - got (correction=, unbiased=): "
                        "pass either correction or unbiased, not both")
    if correction is None:
        correction = 0 if unbiased is False else 1
    return dim, correction


def _var_forward(name: str, input: Tensor, dim, correction, keepdim: bool, take_sqrt: bool = False):
    """The variance (or with ``take_sqrt`` the standard deviation) array, the reduced axes and the degrees
    of freedom; half types compute in float32 and round once, as PyTorch does."""
    d = input._data
    if d.dtype.kind not in "fV":
        raise RuntimeError("std and var only support floating point and complex dtypes")
    dims = _reduce_axes(dim, d.ndim)
    work = d.astype(np.float32) if d.dtype.itemsize == 2 else d
    n = _count(d.shape, dims)
    dof = builtins.max(0, n - correction)
    if work.size:
        centered = work - work.sum(axis=dims, keepdims=True) / n
        centered *= centered
    else:
        centered = work
    var_arr = centered.sum(axis=dims, keepdims=keepdim)
    if dof > 0:
        var_arr = var_arr / dof
    else:
        warnings.warn(f"{name}(): degrees of freedom is <= 0. Correction should be strictly less than the "
                      "reduction factor (input numel divided by output numel).", UserWarning, stacklevel=3)
        with np.errstate(invalid="ignore", divide="ignore"):
            var_arr = var_arr / array_module(d).asarray(0, dtype=var_arr.dtype)
    if take_sqrt:
        var_arr = array_module(d).sqrt(var_arr)
    return array_module(d).asarray(var_arr).astype(d.dtype, copy=False), dims, dof


class VarBackward0(Node):
    def apply(self, g):
        (x,) = self._saved_tensors()
        gk = _unreduce(g, x._data.shape, self._dims, self._keepdim)
        scale = 2.0 / self._dof if self._dof else math.inf
        return ((gk * scale) * (x - x.mean(self._dims, keepdim=True)),)


class StdBackward0(Node):
    def apply(self, g):
        (x,) = self._saved_tensors()
        shape, dims, keepdim = x._data.shape, self._dims, self._keepdim
        sk = _unreduce(self._result(), shape, dims, keepdim)
        gk = _unreduce(g, shape, dims, keepdim)
        scale = 1.0 / self._dof if self._dof else math.inf
        # d std = d var / (2 std); PyTorch zeroes it where std == 0
        g_std = E.where(sk == 0, 0.0, gk / sk)
        return ((g_std * scale) * (x - x.mean(dims, keepdim=True)),)


def _var_like(name: str, input: Tensor, dim, unbiased, keepdim: bool, correction, take_sqrt: bool) -> Tensor:
    dim, correction = _var_args(name, dim, unbiased, correction)
    res, dims, dof = _var_forward(name, input, dim, correction, keepdim, take_sqrt)
    if _GradState.enabled and input._requires_grad:
        node = StdBackward0() if take_sqrt else VarBackward0()
        node._next = (edge(input),)
        node._save(input)
        node._dims, node._keepdim, node._dof = dims, keepdim, dof
        result = _make(res, node)
        if take_sqrt:
            node._out = SavedOutput(result)
        return result
    return _wrap(res)


def var(input: Tensor, dim=None, unbiased=None, keepdim: bool = False, *, correction=None) -> Tensor:
    """``torch.var``: variance over ``dim`` with Bessel's ``correction`` (default 1; legacy ``unbiased``)."""
    return _var_like("var", input, dim, unbiased, keepdim, correction, take_sqrt=False)


def std(input: Tensor, dim=None, unbiased=None, keepdim: bool = False, *, correction=None) -> Tensor:
    """``torch.std``: standard deviation over ``dim`` with ``correction`` (default 1; legacy ``unbiased``)."""
    return _var_like("std", input, dim, unbiased, keepdim, correction, take_sqrt=True)


_RENAMED: dict = {}


def _relabel(t: Tensor, name: str) -> Tensor:
    """Give ``t``'s grad_fn PyTorch's name for a two-output op (``VarMeanBackward0``); same backward."""
    node = t._grad_fn
    if node is not None:
        key = (type(node), name)
        if key not in _RENAMED:
            _RENAMED[key] = type(name, (type(node),), {})
        node.__class__ = _RENAMED[key]
    return t


def _mean_for(input: Tensor, dim, keepdim: bool) -> Tensor:
    if isinstance(dim, bool):
        dim = None
    return mean(input, dim, keepdim) if dim is not None else mean(input, keepdim=keepdim) if keepdim else mean(input)


def var_mean(input: Tensor, dim=None, unbiased=None, keepdim: bool = False, *, correction=None):
    """``torch.var_mean``: (var, mean), both with grad_fn VarMeanBackward0."""
    v = var(input, dim, unbiased, keepdim, correction=correction)
    return _relabel(v, "VarMeanBackward0"), _relabel(_mean_for(input, dim, keepdim), "VarMeanBackward0")


def std_mean(input: Tensor, dim=None, unbiased=None, keepdim: bool = False, *, correction=None):
    """``torch.std_mean``: (std, mean), both with grad_fn StdMeanBackward0."""
    s = std(input, dim, unbiased, keepdim, correction=correction)
    return _relabel(s, "StdMeanBackward0"), _relabel(_mean_for(input, dim, keepdim), "StdMeanBackward0")


# ------------------------------------------------------------------------------------------
# prod
# ------------------------------------------------------------------------------------------

def _prod_factor(x: Tensor, result_k: Tensor, axis) -> Tensor:
    """d prod / d x_i = the product of the other elements; exact (and twice differentiable) with zeros."""
    zero_arr = x._data == 0
    if not zero_arr.any():
        return result_k / x
    zero = _wrap(zero_arr)
    nonzero = E.where(zero, 1.0, x)
    zero_values = E.where(zero, x, 0.0)  # 0 in value, but carries the zeros' own derivative
    if axis is None:
        p, count, zsum = prod(nonzero), zero.sum(), zero_values.sum()
    else:
        p, count = prod(nonzero, axis, keepdim=True), zero.sum(axis, keepdim=True)
        zsum = zero_values.sum(axis, keepdim=True)
    one_zero = E.where(zero, p, zsum * p / nonzero)   # the zero gets p; the others x_z * p / x_i = 0
    two_zeros = E.where(zero, (zsum - x) * p, 0.0)    # each zero gets the other zero times p = 0
    return E.where(count == 0, p / nonzero, E.where(count == 1, one_zero, E.where(count == 2, two_zeros, 0.0)))


class ProdBackward0(Node):
    def apply(self, g):
        (x,) = self._saved_tensors()
        return (g * _prod_factor(x, self._result(), None),)


class ProdBackward1(Node):
    def apply(self, g):
        (x,) = self._saved_tensors()
        shape, dims, keepdim = x._data.shape, self._dims, self._keepdim
        gk = _unreduce(g, shape, dims, keepdim)
        rk = _unreduce(self._result(), shape, dims, keepdim)
        return (gk * _prod_factor(x, rk, dims[0] if dims else None),)


def prod(input: Tensor, dim=None, keepdim: bool = False, *, dtype=None) -> Tensor:
    """``torch.prod``: product of all elements or over one ``dim``; ints and bools give int64."""
    d = input._data
    if isinstance(dim, (tuple, list)):
        raise TypeError("prod() received an invalid combination of arguments - got (tuple), but expected one of:\n"
                        " * (*, torch.dtype dtype = None)\n * (int dim, bool keepdim = False, *, torch.dtype dtype = "
                        "None)")
    acc = _sum_dtype(d.dtype, dtype)
    out_dtype = acc if acc is not None else d.dtype
    dims = () if dim is None or d.ndim == 0 else (wrap_dim(dim, d.ndim),)
    if dim is not None and d.ndim == 0:
        wrap_dim(dim, 0)
    with np.errstate(over="ignore", invalid="ignore"):
        if dim is None:
            res = d.prod(dtype=_acc_dtype(d) or acc)
        else:
            res = d.prod(axis=dims, keepdims=keepdim, dtype=_acc_dtype(d) or acc)
    res = array_module(d).asarray(res).astype(out_dtype, copy=False)
    if _GradState.enabled and input._requires_grad:
        if dim is None:
            node = ProdBackward0()
        else:
            node = ProdBackward1()
            node._dims, node._keepdim = dims, keepdim
        node._next = (edge(input),)
        node._save(input)
        result = _make(res, node)
        node._out = SavedOutput(result)
        return result
    return _wrap(res)


# ------------------------------------------------------------------------------------------
# logsumexp, cumsum, cumprod
# ------------------------------------------------------------------------------------------

class LogsumexpBackward0(Node):
    def apply(self, g):
        (x,) = self._saved_tensors()
        shape, dims, keepdim = x._data.shape, self._dims, self._keepdim
        rk = _unreduce(self._result(), shape, dims, keepdim)
        return (_unreduce(g, shape, dims, keepdim) * E.exp(x - rk),)


def logsumexp(input: Tensor, dim, keepdim: bool = False) -> Tensor:
    """``torch.logsumexp``: log(sum(exp(x))) over ``dim``, stable (the max is subtracted first)."""
    d = input._data
    if d.dtype.kind not in "fV":
        d = d.astype(D._default_dtype.np)
    xp = array_module(d)
    dims = _reduce_axes(dim, d.ndim)
    work = d.astype(np.float32) if d.dtype.itemsize == 2 else d
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        if work.size == 0 or not dims:
            res = xp.log(xp.sum(xp.exp(work), axis=dims, keepdims=keepdim))
        else:
            m = xp.amax(work, axis=dims, keepdims=True)
            m = xp.where(xp.isfinite(m), m, 0)  # an all -inf (or inf) slice must not give inf - inf
            res = xp.log(xp.sum(xp.exp(work - m), axis=dims, keepdims=True)) + m
            if not keepdim:
                res = res.reshape(tuple(s for i, s in enumerate(work.shape) if i not in dims))
    res = xp.asarray(res).astype(d.dtype, copy=False)
    if _GradState.enabled and input._requires_grad:
        node = LogsumexpBackward0()
        node._next = (edge(input),)
        node._save(input)
        node._dims, node._keepdim = dims, keepdim
        result = _make(res, node)
        node._out = SavedOutput(result)
        return result
    return _wrap(res)


def _cumsum_array(d, axis: int, reverse: bool, acc):
    xp = array_module(d)
    if d.ndim == 0:
        return d.astype(acc or d.dtype, copy=True)
    wide = _scan_acc_dtype(d) if acc is None else None
    if reverse:
        d = xp.flip(d, axis)
    res = xp.cumsum(d, axis=axis, dtype=wide or acc)
    if wide is not None:
        res = res.astype(d.dtype)
    return xp.flip(res, axis) if reverse else res


class CumsumBackward0(Node):
    def apply(self, g):
        grad = _cumsum(g, self._axis, not self._reverse)
        if grad._data.dtype != self._in_dtype:
            grad = grad.to(D._FROM_NP[self._in_dtype])
        return (grad,)


def _cumsum(input: Tensor, axis: int, reverse: bool = False, acc=None) -> Tensor:
    """Cumulative sum along ``axis``; ``reverse`` sums from the end (the backward of cumsum)."""
    res = _cumsum_array(input._data, axis, reverse, acc)
    if _GradState.enabled and input._requires_grad:
        node = CumsumBackward0()
        node._next = (edge(input),)
        node._axis, node._reverse, node._in_dtype = axis, reverse, input._data.dtype
        return _make(res, node)
    return _wrap(res)


def cumsum(input: Tensor, dim: int, *, dtype=None) -> Tensor:
    """``torch.cumsum``: running sum along ``dim``; ints and bools accumulate in int64."""
    d = input._data
    axis = wrap_dim(dim, d.ndim)
    return _cumsum(input, axis, False, _sum_dtype(d.dtype, dtype))


def _cumprod_grad(x: Tensor, result: Tensor, g: Tensor, axis: int) -> Tensor:
    """Gradient of cumprod, exact when the input holds zeros (then through masks, not a division)."""
    xd = x._data
    zero = xd == 0
    if not zero.any():
        return _cumsum(g * result, axis, reverse=True) / x
    xp = array_module(xd)
    n = xd.shape[axis]
    pos_shape = [1] * xd.ndim
    pos_shape[axis] = n
    k = xp.arange(n).reshape(pos_shape)
    first = xp.where(zero.any(axis=axis, keepdims=True), xp.argmax(zero, axis=axis, keepdims=True), n)
    before, at, after = _wrap(k < first), _wrap(k == first), _wrap(k > first)
    # With z the first zero of a slice: head = prod_{j<z} x_j, tail = sum_{i>=z} g_i prod_{z<j<=i} x_j.
    # x_z is 0 in value, but the terms multiplied by it carry its derivative for double backward.
    x_z = E.where(at, x, 0.0).sum(axis, keepdim=True)
    after_z = E.where(_wrap(k <= first), 1.0, x)
    after_z_prod = cumprod(after_z, axis)
    head = prod(E.where(before, x, 1.0), axis, keepdim=True)
    tail = E.where(_wrap(k >= first), g * after_z_prod, 0.0).sum(axis, keepdim=True)
    # k < z: sum_{k<=i<z} g_i y_i / x_k, plus x_z * head / x_k * tail
    partial = _cumsum(E.where(before, g * result, 0.0), axis, reverse=True)
    term_before = E.where(before, (partial + x_z * head * tail) / E.where(before, x, 1.0), 0.0)
    # k > z: x_z * head * (the cumprod gradient of the part after z)
    term_after = E.where(after, x_z * head * _cumprod_grad(after_z, after_z_prod, g, axis), 0.0)
    return term_before + E.where(at, head * tail, 0.0) + term_after


class CumprodBackward0(Node):
    def apply(self, g):
        (x,) = self._saved_tensors()
        if x._data.ndim == 0 or x._data.size == 0:
            return (g.to(D._FROM_NP[x._data.dtype]),)
        grad = _cumprod_grad(x, self._result(), g, self._axis)
        return (grad.to(D._FROM_NP[x._data.dtype]),)


def cumprod(input: Tensor, dim: int, *, dtype=None) -> Tensor:
    """``torch.cumprod``: running product along ``dim``; gradient exact with zeros in the input."""
    d = input._data
    axis = wrap_dim(dim, d.ndim)
    acc = _sum_dtype(d.dtype, dtype)
    work = d.astype(acc) if acc is not None else d
    with np.errstate(over="ignore", invalid="ignore"):
        if d.ndim == 0:
            res = work.copy()
        elif _scan_acc_dtype(work) is not None:
            res = array_module(d).cumprod(work, axis=axis, dtype=_scan_acc_dtype(work)).astype(work.dtype)
        else:
            res = array_module(d).cumprod(work, axis=axis)
    if _GradState.enabled and input._requires_grad:
        node = CumprodBackward0()
        node._next = (edge(input),)
        node._axis = axis
        x = input if acc is None or acc == d.dtype else input.to(D._FROM_NP[np.dtype(acc)])
        node._save(x)
        result = _make(res, node)
        node._out = SavedOutput(result)
        return result
    return _wrap(res)


# ------------------------------------------------------------------------------------------
# norms
# ------------------------------------------------------------------------------------------

class LinalgVectorNormBackward0(Node):
    def apply(self, g):
        (x,) = self._saved_tensors()
        shape, dims, keepdim, p = x._data.shape, self._dims, self._keepdim, self._ord
        gk = _unreduce(g, shape, dims, keepdim)
        nk = _unreduce(self._result(), shape, dims, keepdim)
        if p == 0:
            return (_wrap(array_module(x._data).zeros_like(x._data)),)
        if p == 1:
            return (E.sign(x) * gk,)
        if p == 2:
            return (x * E.where(nk == 0, 0.0, gk / nk),)
        if math.isinf(p):
            mask = E.abs(x) == nk
            return (E.sign(x) * ((gk / mask.sum(dims, keepdim=True)) * mask),)
        if p < 1:
            scaled = E.where(x == 0, 0.0, E.sign(x) * E.abs(x).pow(p - 1))
            return (scaled * gk * nk.pow(1 - p),)
        scale = E.where(nk == 0, 0.0, gk / nk.pow(p - 1))
        if p < 2:
            return (E.sign(x) * E.abs(x).pow(p - 1) * scale,)
        return (x * E.abs(x).pow(p - 2) * scale,)


def _ord_name(p) -> str:
    return "inf" if p == math.inf else "-inf" if p == -math.inf else str(p)


def vector_norm(input: Tensor, ord=2, dim=None, keepdim: bool = False, *, dtype=None) -> Tensor:
    """``torch.linalg.vector_norm``: the ``ord``-norm over ``dim`` (all elements by default)."""
    from ._util import _scalar_type_name
    if dtype is not None:
        dtype = D.to_dtype(dtype)
        if D.promote_types(input.dtype, dtype) is not dtype:
            raise RuntimeError(f"linalg.vector_norm: the dtype of the input ({_scalar_type_name(input._data.dtype)}) "
                               "should be convertible without narrowing to the specified dtype "
                               f"({_scalar_type_name(dtype.np)})")
        input = input.to(dtype)
    d = input._data
    if d.dtype.kind not in "fV":
        raise RuntimeError("linalg.vector_norm: Expected a floating point or complex tensor as input. "
                           f"Got {_scalar_type_name(d.dtype)}")
    p = float(ord)
    dims = _reduce_axes(dim, d.ndim)
    if p < 0 or math.isinf(p):
        if dim is None and d.size == 0:
            raise RuntimeError(f"linalg.vector_norm cannot compute the {_ord_name(p)} norm on an empty tensor "
                               "because the operation does not have an identity")
        for ax in dims:
            if d.shape[ax] == 0:
                raise RuntimeError(f"linalg.vector_norm cannot compute the {_ord_name(p)} norm on the dimension "
                                   f"{ax}because this dimension is empty and the operation does not have an identity")
    xp = array_module(d)
    work = d.astype(np.float32) if d.dtype.itemsize == 2 else d
    a = xp.abs(work)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        if p == math.inf:
            res = xp.amax(a, axis=dims, keepdims=keepdim)
        elif p == -math.inf:
            res = xp.amin(a, axis=dims, keepdims=keepdim)
        elif p == 0:
            res = (work != 0).sum(axis=dims, keepdims=keepdim)
        elif p == 1:
            res = a.sum(axis=dims, keepdims=keepdim)
        elif p == 2:
            res = xp.sqrt((a * a).sum(axis=dims, keepdims=keepdim))
        else:
            res = (a ** p).sum(axis=dims, keepdims=keepdim) ** (1.0 / p)
    res = xp.asarray(res).astype(d.dtype, copy=False)
    if _GradState.enabled and input._requires_grad:
        node = LinalgVectorNormBackward0()
        node._next = (edge(input),)
        node._save(input)
        node._dims, node._keepdim, node._ord = dims, keepdim, p
        result = _make(res, node)
        node._out = SavedOutput(result)
        return result
    return _wrap(res)


def norm(input: Tensor, p="fro", dim=None, keepdim: bool = False, dtype=None) -> Tensor:
    """``torch.norm``: vector norms (p = number, inf, -inf, 0) and 'fro'; 'nuc' is not implemented."""
    if p is None or p == "fro":
        if isinstance(dim, (tuple, list)) and len(dim) > 2:
            raise RuntimeError(f"linalg.matrix_norm: dim must be a 2-tuple. Got {' '.join(str(x) for x in dim)}")
        p = 2
    elif isinstance(p, str):
        if p == "nuc":
            raise NotImplementedError("ember: the nuclear norm (p='nuc') is not implemented")
        raise RuntimeError(f"linalg.matrix_norm: Order {p} not supported.")
    return vector_norm(input, p, dim, keepdim, dtype=dtype)


# ------------------------------------------------------------------------------------------
# all / any / count_nonzero / isclose / allclose / equal
# ------------------------------------------------------------------------------------------

def _logical_reduce(input: Tensor, dim, keepdim: bool, name: str) -> Tensor:
    d = input._data
    xp = array_module(d)
    dims = _reduce_axes(dim, d.ndim)
    res = xp.asarray((xp.all if name == "all" else xp.any)(d, axis=dims, keepdims=keepdim))
    if d.dtype == np.uint8:  # PyTorch keeps uint8 for all/any of a uint8 tensor
        res = res.astype(np.uint8)
    return _wrap(res)


def all(input: Tensor, dim=None, keepdim: bool = False) -> Tensor:
    """``torch.all``: whether every element (over ``dim``) is nonzero; a bool tensor."""
    return _logical_reduce(input, dim, keepdim, "all")


def any(input: Tensor, dim=None, keepdim: bool = False) -> Tensor:
    """``torch.any``: whether some element (over ``dim``) is nonzero; a bool tensor."""
    return _logical_reduce(input, dim, keepdim, "any")


def count_nonzero(input: Tensor, dim=None) -> Tensor:
    """``torch.count_nonzero``: number of nonzero elements over ``dim`` (int or tuple), int64."""
    d = input._data
    xp = array_module(d)
    dims = _reduce_axes(dim, d.ndim)
    return _wrap(xp.asarray((d != 0).sum(axis=dims)).astype(np.int64, copy=False))


def _check_same_dtype(a: Tensor, b: Tensor) -> None:
    if a._data.dtype != b._data.dtype:
        raise RuntimeError(f"{_scalar_name(a._data.dtype)} did not match {_scalar_name(b._data.dtype)}")


def _broadcast_check(a, b) -> None:
    sa, sb = a.shape, b.shape
    for i in range(1, builtins.min(len(sa), len(sb)) + 1):
        if sa[-i] != sb[-i] and sa[-i] != 1 and sb[-i] != 1:
            raise RuntimeError(f"The size of tensor a ({sa[-i]}) must match the size of tensor b ({sb[-i]}) at "
                               f"non-singleton dimension {builtins.max(len(sa), len(sb)) - i}")


def isclose(input: Tensor, other: Tensor, rtol: float = 1e-05, atol: float = 1e-08,
            equal_nan: bool = False) -> Tensor:
    """``torch.isclose``: |input - other| <= atol + rtol * |other| elementwise; dtypes must match."""
    _check_same_dtype(input, other)
    a, b = input._data, other._data
    _broadcast_check(a, b)
    xp = array_module(a)
    if a.dtype.kind == "b":
        return _wrap(a == b)
    with np.errstate(invalid="ignore", over="ignore"):
        return _wrap(xp.asarray(xp.isclose(a, b, rtol=rtol, atol=atol, equal_nan=equal_nan)))


def allclose(input: Tensor, other: Tensor, rtol: float = 1e-05, atol: float = 1e-08,
             equal_nan: bool = False) -> builtins.bool:
    """``torch.allclose``: whether ``isclose`` holds everywhere (a Python bool)."""
    return builtins.bool(isclose(input, other, rtol, atol, equal_nan)._data.all())


def equal(input: Tensor, other: Tensor) -> builtins.bool:
    """``torch.equal``: same shape and same values (NaN is never equal)."""
    a, b = input._data, other._data
    if a.shape != b.shape:
        return False
    return builtins.bool((a == b).all())


# ------------------------------------------------------------------------------------------
# median
# ------------------------------------------------------------------------------------------

def _median_all(input: Tensor) -> Tensor:
    d = input._data
    xp = array_module(d)
    flat = d.reshape(-1)
    if flat.size == 0:
        res = xp.asarray(np.nan).astype(d.dtype) if d.dtype.kind in "fV" else xp.zeros((), d.dtype)
    else:
        ordered = xp.sort(flat)  # NaNs sort last
        res = ordered[-1] if d.dtype.kind in "fV" and xp.isnan(ordered[-1]) else ordered[(flat.size - 1) // 2]
    if _GradState.enabled and input._requires_grad:
        node = MedianBackward0()
        node._next = (edge(input),)
        node._save(input)
        result = _make(res, node)
        node._out = SavedOutput(result)
        return result
    return _wrap(res)


def _kth_index(work, axis: int, k: int, nan_wins: bool):
    """Indices (keepdim-shaped) of the k-th smallest along ``axis`` (NaN sorts last, or wins if ``nan_wins``)."""
    xp = array_module(work)
    order = xp.argsort(work, axis=axis, kind="stable")
    index = xp.take(order, xp.asarray([k]), axis=axis)
    if nan_wins and work.dtype.kind in "fV":
        nan = xp.isnan(work)
        index = xp.where(nan.any(axis=axis, keepdims=True), xp.argmax(nan, axis=axis, keepdims=True), index)
    return index


def median(input: Tensor, dim=None, keepdim: bool = False):
    """``torch.median``: the lower median (MedianBackward0), or per-``dim`` (values, indices)."""
    if dim is None:
        return _median_all(input)
    work, axis = _work_axis(input._data, dim)
    _check_nonempty_dim("median", work, axis)
    index = _kth_index(work, axis, (work.shape[axis] - 1) // 2, nan_wins=True)
    return _selection_result(input, work, axis, index, keepdim, MedianBackward1, "median")


TENSOR_METHODS = {
    "sum": sum, "mean": mean, "std": std, "var": var, "prod": prod, "max": max, "min": min,
    "amax": amax, "amin": amin, "argmax": argmax, "argmin": argmin, "logsumexp": logsumexp,
    "cumsum": cumsum, "cumprod": cumprod, "norm": norm, "all": all, "any": any,
    "count_nonzero": count_nonzero, "isclose": isclose, "allclose": allclose, "equal": equal, "median": median,
}

__all__ = ["sum", "mean", "std", "var", "std_mean", "var_mean", "prod", "max", "min", "amax", "amin", "argmax",
           "argmin", "logsumexp", "cumsum", "cumprod", "norm", "all", "any", "count_nonzero", "isclose",
           "allclose", "equal", "median", "return_types"]
