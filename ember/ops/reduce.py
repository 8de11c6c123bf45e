"""Reductions: sum, mean, var/std, prod, max/min, norms, logsumexp, cumsum, all/any."""
from __future__ import annotations

import numpy as np

from .. import _dtype as D
from .._backend import array_module
from ._util import Tensor, Node, edge, _GradState, _wrap, _make, normalize_dims


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


TENSOR_METHODS = {"sum": sum, "mean": mean}

__all__ = ["sum", "mean"]
