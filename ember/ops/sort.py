"""Sorting and selection along a dim: sort, argsort, topk, kthvalue; plus tril/triu."""
from __future__ import annotations

import numpy as np

from .._backend import array_module
from ._util import Tensor, Node, edge, _GradState, _wrap, _make, wrap_dim
from .reduce import _SelectBackward, _work_axis, _check_nonempty_dim, _kth_index, _selection_result, return_types


class SortBackward0(_SelectBackward):
    pass


class TopkBackward0(_SelectBackward):
    pass


class KthvalueBackward0(_SelectBackward):
    pass


def _sort_index(work, axis: int, descending: bool):
    """Stable sort order along ``axis``; NaNs count as the largest value (last ascending, first descending)."""
    xp = array_module(work)
    if not descending:
        return xp.argsort(work, axis=axis, kind="stable")
    # a stable ascending sort of the reversed slice, read backwards, is a stable descending sort
    n = work.shape[axis]
    reversed_order = xp.argsort(xp.flip(work, axis), axis=axis, kind="stable")
    return xp.flip(n - 1 - reversed_order, axis)


def sort(input: Tensor, dim: int = -1, descending: bool = False, stable: bool = False):
    """``torch.sort``: (values, indices) along ``dim``; ties keep their input order (always stable)."""
    work, axis = _work_axis(input._data, dim)
    index = _sort_index(work, axis, descending)
    return _selection_result(input, work, axis, index, True, SortBackward0, "sort")


def argsort(input: Tensor, dim: int = -1, descending: bool = False, stable: bool = False) -> Tensor:
    """``torch.argsort``: the indices that sort ``input`` along ``dim`` (stable)."""
    d = input._data
    work, axis = _work_axis(d, dim)
    index = _sort_index(work, axis, descending).astype(np.int64, copy=False)
    return _wrap(index.reshape(d.shape))


def topk(input: Tensor, k: int, dim: int = -1, largest: bool = True, sorted: bool = True):
    """``torch.topk``: the ``k`` largest (or smallest) along ``dim`` as (values, indices), always sorted."""
    if input._data.dtype.kind == "b":
        raise RuntimeError("topk does not support bool dtypes on CPU")
    work, axis = _work_axis(input._data, dim)
    if not 0 <= k <= work.shape[axis]:
        raise RuntimeError("selected index k out of range")
    xp = array_module(work)
    index = _sort_index(work, axis, largest)
    index = xp.take(index, xp.arange(k), axis=axis)
    return _selection_result(input, work, axis, index, True, TopkBackward0, "topk")


def kthvalue(input: Tensor, k: int, dim: int = -1, keepdim: bool = False):
    """``torch.kthvalue``: the ``k``-th smallest (1-based) along ``dim`` as (values, indices)."""
    work, axis = _work_axis(input._data, dim)
    _check_nonempty_dim("kthvalue", work, axis)
    if not 1 <= k <= work.shape[axis]:
        raise RuntimeError(f"kthvalue(): selected number k out of range for dimension {axis}")
    index = _kth_index(work, axis, k - 1, nan_wins=False)
    return _selection_result(input, work, axis, index, keepdim, KthvalueBackward0, "kthvalue")


class TrilBackward0(Node):
    def apply(self, g):
        return (tril(g, self._diagonal),)


class TriuBackward0(Node):
    def apply(self, g):
        return (triu(g, self._diagonal),)


def _triangle(input: Tensor, diagonal: int, name: str, node_cls) -> Tensor:
    d = input._data
    if d.ndim < 2:
        raise RuntimeError(f"{name}: input tensor must have at least 2 dimensions")
    xp = array_module(d)
    res = (xp.tril if name == "tril" else xp.triu)(d, diagonal)
    if _GradState.enabled and input._requires_grad:
        node = node_cls()
        node._next = (edge(input),)
        node._diagonal = diagonal
        return _make(res, node)
    return _wrap(res)


def tril(input: Tensor, diagonal: int = 0) -> Tensor:
    """``torch.tril``: zero the elements above the ``diagonal``-th diagonal of the last two dims."""
    return _triangle(input, diagonal, "tril", TrilBackward0)


def triu(input: Tensor, diagonal: int = 0) -> Tensor:
    """``torch.triu``: zero the elements below the ``diagonal``-th diagonal of the last two dims."""
    return _triangle(input, diagonal, "triu", TriuBackward0)


TENSOR_METHODS = {"sort": sort, "argsort": argsort, "topk": topk, "kthvalue": kthvalue, "tril": tril, "triu": triu}

__all__ = ["sort", "argsort", "topk", "kthvalue", "tril", "triu"]
