"""Gradient clipping by total norm or by value (``torch.nn.utils.clip_grad``).

The total norm is PyTorch's: the norm of the vector of per-tensor norms, so every
``norm_type`` (2, 1, inf, -inf, 0, any p) gives the same number. Gradients are scaled in place.
"""
from __future__ import annotations

import math
import types
import warnings
from typing import Iterable, Union

from ..._backend import array_module
from ..._tensor import Tensor, _wrap

__all__ = ["clip_grad_norm_", "clip_grad_norm", "clip_grad_value_", "get_total_norm", "clip_grads_with_norm_"]

_tensor_or_tensors = Union[Tensor, Iterable[Tensor]]


def _vector_norm(array, p: float, foreach: bool | None = None):
    """``linalg.vector_norm`` of a flat array as a 0-d array of its dtype.

    Half-precision inputs are accumulated in float32 and the result cast back, as PyTorch does.
    """
    xp = array_module(array)
    if p == math.inf or p == -math.inf:
        if array.size == 0:
            # NOTE: PyTorch's default (foreach) path names _foreach_norm for +inf only.
            if p > 0 and foreach is not False:
                raise RuntimeError("_foreach_norm cannot compute the infinity norm on an empty tensor because "
                                   "the operation does not have an identity")
            raise RuntimeError(f"linalg.vector_norm cannot compute the {'inf' if p > 0 else '-inf'} norm on an "
                               "empty tensor because the operation does not have an identity")
        magnitudes = xp.abs(array)
        return magnitudes.max() if p > 0 else magnitudes.min()
    if p == 0:
        return xp.asarray(xp.count_nonzero(array), dtype=array.dtype)
    dtype = array.dtype
    if dtype.itemsize < 4:
        array = array.astype(xp.float32)
    if p == 1:
        result = xp.abs(array).sum()
    elif p == 2:
        flat = array.reshape(-1)
        result = xp.sqrt(xp.dot(flat, flat)) if flat.size else xp.zeros((), array.dtype)
    else:
        result = (xp.abs(array) ** p).sum() ** (1.0 / p)
    return xp.asarray(result).astype(dtype)


def get_total_norm(tensors: _tensor_or_tensors, norm_type: float = 2.0, error_if_nonfinite: bool = False,
                   foreach: bool | None = None) -> Tensor:
    """The norm of all ``tensors`` together, as if concatenated (``torch.nn.utils.get_total_norm``)."""
    tensors = [tensors] if isinstance(tensors, Tensor) else list(tensors)
    norm_type = float(norm_type)
    if len(tensors) == 0:
        from ..._factory import tensor
        return tensor(0.0)
    norms = [_vector_norm(t._data, norm_type, foreach) for t in tensors]
    xp = array_module(norms[0])
    total = _vector_norm(xp.stack([xp.asarray(n) for n in norms]), norm_type, foreach)
    if error_if_nonfinite and not bool(xp.isfinite(total)):
        raise RuntimeError(f"The total norm of order {norm_type} for gradients from `parameters` is non-finite, so "
                           "it cannot be clipped. To disable this error and scale the gradients by the non-finite "
                           "norm anyway, set `error_if_nonfinite=False`")
    return _wrap(xp.asarray(total))


def clip_grads_with_norm_(parameters: _tensor_or_tensors, max_norm: float, total_norm: Tensor,
                          foreach: bool | None = None) -> None:
    """Scale every ``.grad`` by ``min(1, max_norm / (total_norm + 1e-6))`` in place."""
    parameters = [parameters] if isinstance(parameters, Tensor) else parameters
    grads = [p._grad for p in parameters if p._grad is not None]
    if len(grads) == 0:
        return
    total = total_norm._data
    xp = array_module(total)
    # NOTE: computed in the norm's dtype and applied without the 1.0 shortcut, as PyTorch does.
    clip_coef = xp.minimum(float(max_norm) / (total + 1e-6), 1.0).astype(total.dtype)
    for grad in grads:
        grad._data *= clip_coef.astype(grad._data.dtype)
        grad._vbox[0] += 1


def clip_grad_norm_(parameters: _tensor_or_tensors, max_norm: float, norm_type: float = 2.0,
                    error_if_nonfinite: bool = False, foreach: bool | None = None) -> Tensor:
    """Clip the gradients' total norm to ``max_norm`` in place; returns the norm before clipping."""
    if isinstance(parameters, Tensor):
        parameters = [parameters]
    else:
        is_generator = isinstance(parameters, types.GeneratorType)
        parameters = list(parameters)
        if is_generator and len(parameters) == 0:
            warnings.warn("`parameters` is an empty generator, no gradient clipping will occur.", stacklevel=2)
    grads = [p._grad for p in parameters if p._grad is not None]
    total_norm = get_total_norm(grads, norm_type, error_if_nonfinite, foreach)
    clip_grads_with_norm_(parameters, max_norm, total_norm, foreach)
    return total_norm


def clip_grad_norm(parameters: _tensor_or_tensors, max_norm: float, norm_type: float = 2.0,
                   error_if_nonfinite: bool = False, foreach: bool | None = None) -> Tensor:
    """Deprecated spelling of ``clip_grad_norm_``."""
    warnings.warn("`torch.nn.utils.clip_grad_norm` is now deprecated in favor of `torch.nn.utils.clip_grad_norm_`.",
                  FutureWarning, stacklevel=2)
    return clip_grad_norm_(parameters, max_norm, norm_type, error_if_nonfinite, foreach)


def clip_grad_value_(parameters: _tensor_or_tensors, clip_value: float, foreach: bool | None = None) -> None:
    """Clamp every ``.grad`` to ``[-clip_value, clip_value]`` in place."""
    if isinstance(parameters, Tensor):
        parameters = [parameters]
    clip_value = float(clip_value)
    for p in parameters:
        grad = p._grad
        if grad is not None:
            xp = array_module(grad._data)
            xp.clip(grad._data, -clip_value, clip_value, out=grad._data)
            grad._vbox[0] += 1
