"""Neural-network ops: softmax and log_softmax (numerically stable, the max is subtracted first)."""
from __future__ import annotations

import numpy as np

from .. import _dtype as D
from .._backend import array_module
from ._util import Tensor, Node, edge, SavedOutput, _GradState, _wrap, _make, wrap_dim, _scalar_type_name


class SoftmaxBackward0(Node):
    def apply(self, g):
        y = self._result()
        grad = y * (g - (g * y).sum(self._axis, keepdim=True))
        return (_restore_dtype(grad, self._in_dtype),)


class LogSoftmaxBackward0(Node):
    def apply(self, g):
        y = self._result()
        grad = g - y.exp() * g.sum(self._axis, keepdim=True)
        return (_restore_dtype(grad, self._in_dtype),)


def _restore_dtype(grad: Tensor, np_dtype) -> Tensor:
    return grad if grad._data.dtype == np_dtype else grad.to(D._FROM_NP[np_dtype])


def _softmax_forward(input: Tensor, dim: int, dtype, log: bool, node_cls, kernel: str) -> Tensor:
    d = input._data
    if dtype is not None:
        d = d.astype(D.to_dtype(dtype).np)
    if d.dtype.kind not in "fV":
        if wrap_dim(dim, d.ndim) == max(d.ndim - 1, 0):  # PyTorch names its last-dim kernel
            kernel = kernel.replace("_lastdim", "").replace("_kernel_impl", "_lastdim_kernel_impl")
        raise NotImplementedError(f'"{kernel}" not implemented for \'{_scalar_type_name(d.dtype)}\'')
    axis = wrap_dim(dim, d.ndim)
    xp = array_module(d)
    work = d.astype(np.float32) if d.dtype.itemsize == 2 else d
    if work.ndim == 0:
        work = work.reshape(1)
    with np.errstate(invalid="ignore", over="ignore", divide="ignore"):
        shifted = work - xp.amax(work, axis=axis, keepdims=True) if work.size else work
        # NOTE: for float16/bfloat16 PyTorch's kernels round some intermediates to the half type: the
        # last-dim log_softmax keeps the sum and its log, the other-dim softmax keeps the exponentials.
        half = work is not d
        last = axis == work.ndim - 1
        if log:
            total = xp.exp(shifted).sum(axis=axis, keepdims=True)
            if half and last:
                res = shifted - _round_through(xp.log(_round_through(total, d.dtype)), d.dtype)
            else:
                res = shifted - xp.log(total)
        else:
            res = xp.exp(shifted)
            total = res.sum(axis=axis, keepdims=True)
            if half and not last:
                res = _round_through(res, d.dtype)
            res /= total
    res = res.astype(d.dtype, copy=False).reshape(d.shape)
    if _GradState.enabled and input._requires_grad:
        node = node_cls()
        node._next = (edge(input),)
        node._axis = axis if d.ndim else None
        node._in_dtype = input._data.dtype
        result = _make(res, node)
        node._out = SavedOutput(result)
        return result
    return _wrap(res)


def _round_through(arr, half_dtype):
    """``arr`` (float32) rounded to ``half_dtype`` and back: a value PyTorch stores in the half type."""
    return arr.astype(half_dtype).astype(arr.dtype)


def softmax(input: Tensor, dim: int, dtype=None) -> Tensor:
    """``torch.softmax``: exp(x) / sum(exp(x)) along ``dim``, computed as exp(x - max) for stability."""
    return _softmax_forward(input, dim, dtype, False, SoftmaxBackward0, "softmax_lastdim_kernel_impl"
                            if dtype is not None else "softmax_kernel_impl")


def log_softmax(input: Tensor, dim: int, dtype=None) -> Tensor:
    """``torch.log_softmax``: x - logsumexp(x) along ``dim``, stable for large logits."""
    return _softmax_forward(input, dim, dtype, True, LogSoftmaxBackward0, "log_softmax_lastdim_kernel_impl"
                            if dtype is not None else "log_softmax_kernel_impl")


TENSOR_METHODS = {"softmax": softmax, "log_softmax": log_softmax}

__all__ = ["softmax", "log_softmax"]
