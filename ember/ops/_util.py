"""Shared pieces of every op: operand promotion, the broadcast undo, in-place plumbing."""
from __future__ import annotations

import numpy as np

from .. import _dtype as D
from .._backend import array_module
from .._tensor import Tensor, _wrap, _make
from ..autograd.graph import Node, edge, SavedOutput
from ..autograd.grad_mode import _GradState

__all__ = ["Tensor", "Node", "edge", "SavedOutput", "_GradState", "_wrap", "_make", "operands",
           "sum_to", "grad_for", "float_array", "check_same_device", "is_tensor", "as_tensor_like",
           "inplace", "wrap_dim", "normalize_dims", "requires_grad_any"]

_FLOAT_KINDS = frozenset("fV")  # "V": ml_dtypes' bfloat16


def is_tensor(x) -> bool:
    return isinstance(x, Tensor)


def _device_name(arr) -> str:
    return "cpu" if type(arr) is np.ndarray else f"cuda:{arr.device.id}"


def check_same_device(*arrays) -> None:
    first = type(arrays[0])
    for a in arrays[1:]:
        if type(a) is not first:
            names = sorted({_device_name(x) for x in arrays}, reverse=True)
            raise RuntimeError("Expected all tensors to be on the same device, but found at least two devices, "
                               f"{names[0]} and {names[1]}!")


def operands(a: Tensor, b):
    """The arrays for a binary op on tensor ``a`` and tensor-or-scalar ``b``, cast to PyTorch's result dtype.

    Returns ``(a_array, b_array_or_scalar)``. Same-dtype tensors take the fast path.
    """
    ad = a._data
    if isinstance(b, Tensor):
        bd = b._data
        if ad.dtype == bd.dtype:
            if type(ad) is not type(bd):
                check_same_device(ad, bd)
            return ad, bd
        if type(ad) is not type(bd) and ad.ndim and bd.ndim:
            check_same_device(ad, bd)
        dt = _result_dtype(a, b).np
        if type(ad) is not type(bd):  # a 0-dim CPU tensor may join a CUDA op, as in PyTorch
            from .._backend import array_module
            xp = array_module(ad) if ad.ndim else array_module(bd)
            ad, bd = xp.asarray(ad), xp.asarray(bd)
        return ad.astype(dt, copy=False), bd.astype(dt, copy=False)
    tb = type(b)
    kind = ad.dtype.kind
    if tb is float:
        if kind == "f":
            return ad, b
        if kind == "V":  # ml_dtypes' bfloat16 treats a Python float as float32; PyTorch keeps bfloat16
            return ad, ad.dtype.type(b)
        return ad.astype(D._default_dtype.np), b
    if tb is int:
        if kind == "b":
            return ad.astype(np.int64), b
        if kind in "iu" and not _fits(b, ad.dtype):
            # PyTorch wraps an out-of-range Python int into the tensor's dtype
            return ad, np.array(b).astype(ad.dtype)
        return ad, b
    if tb is bool:
        return ad, b
    if isinstance(b, np.generic) or (isinstance(b, np.ndarray) and b.ndim == 0):
        return operands(a, b.item())
    if isinstance(b, (list, tuple, np.ndarray)):
        from .._factory import tensor
        return operands(a, tensor(b, device=a.device))
    raise TypeError(f"unsupported operand type: Tensor and '{tb.__name__}'")


def _fits(value: int, np_dtype) -> bool:
    info = np.iinfo(np_dtype)
    return info.min <= value <= info.max


def _result_dtype(*args) -> D.dtype:
    dims, zeros, scalars = [], [], []
    for x in args:
        if isinstance(x, Tensor):
            (dims if x._data.ndim else zeros).append(x.dtype)
        elif x is not None:
            scalars.append(x)
    return D.result_type_of(dims, zeros, scalars)


result_dtype = _result_dtype


def float_array(x: Tensor):
    """``x``'s array, cast to the default float dtype when it is integral or bool (exp(int) is float)."""
    d = x._data
    if d.dtype.kind in _FLOAT_KINDS:
        return d
    return d.astype(D._default_dtype.np)


def sum_to(grad: Tensor, shape) -> Tensor:
    """Undo broadcasting: sum ``grad`` down to ``shape`` (the one shared broadcast undo)."""
    gshape = grad._data.shape
    if gshape == shape:
        return grad
    lead = len(gshape) - len(shape)
    axes = tuple(range(lead)) + tuple(
        i + lead for i, s in enumerate(shape) if s == 1 and gshape[i + lead] != 1)
    if axes:
        grad = grad.sum(dim=axes, keepdim=True)
    if lead or grad._data.shape != tuple(shape):
        grad = grad.reshape(shape)
    return grad


def grad_for(grad: Tensor, like_shape, like_dtype) -> Tensor:
    """The gradient for an input of ``like_shape``/``like_dtype``: broadcast undone, dtype restored."""
    if grad._data.shape != like_shape:
        grad = sum_to(grad, like_shape)
    if grad._data.dtype != like_dtype:
        grad = grad.to(D._FROM_NP[like_dtype])
    return grad


def requires_grad_any(*tensors) -> bool:
    """Whether an op on these inputs must be recorded."""
    if not _GradState.enabled:
        return False
    for t in tensors:
        if isinstance(t, Tensor) and t._requires_grad:
            return True
    return False


def wrap_dim(dim: int, ndim: int) -> int:
    n = ndim if ndim > 0 else 1
    if not -n <= dim < n:
        raise IndexError(f"Dimension out of range (expected to be in range of [{-n}, {n - 1}], but got {dim})")
    return dim + n if dim < 0 else dim


def normalize_dims(dim, ndim: int):
    """A sorted tuple of non-negative axes for ``dim`` (int, sequence or None = all)."""
    if dim is None:
        return tuple(range(ndim))
    if isinstance(dim, (int, np.integer)):
        dims = (wrap_dim(int(dim), ndim),)
        return dims if ndim else ()  # a 0-d tensor accepts dim 0 / -1 and has no axis to reduce
    dims = tuple(wrap_dim(int(d), ndim) for d in dim)
    if not ndim:
        return ()
    if len(set(dims)) != len(dims):
        raise RuntimeError(f"dim {dims[0]} appears multiple times in the list of dims")
    return tuple(sorted(dims))


def as_tensor_like(value, like: Tensor) -> Tensor:
    """``value`` as a tensor on ``like``'s device (scalars keep PyTorch's scalar dtype)."""
    if isinstance(value, Tensor):
        return value
    from .._factory import tensor
    return tensor(value, device=like.device)


def _snapshot(t: Tensor) -> Tensor:
    """The value and history ``t`` had before an in-place op, as a separate tensor."""
    s = _wrap(t._data.copy())
    s._grad_fn = t._grad_fn
    s._requires_grad = t._requires_grad
    return s


def check_writeable(d) -> None:
    """PyTorch's error for writing into an expanded tensor (NumPy marks broadcast views read-only)."""
    if isinstance(d, np.ndarray) and not d.flags.writeable:
        raise RuntimeError("unsupported operation: more than one element of the written-to tensor refers to a "
                           "single memory location. Please clone() the tensor before performing the operation.")


def _check_inplace_result(self: Tensor, result_data) -> None:
    check_writeable(self._data)
    if result_data.shape != self._data.shape:
        raise RuntimeError(f"output with shape {list(self._data.shape)} doesn't match the broadcast shape "
                           f"{list(result_data.shape)}")
    src, dst = result_data.dtype, self._data.dtype
    if src != dst and not D.can_cast(D._FROM_NP[src], D._FROM_NP[dst]):
        raise RuntimeError(f"result type {_scalar_type_name(src)} can't be cast to the desired output type "
                           f"{_scalar_type_name(dst)}")


_SCALAR_NAMES = {"float32": "Float", "float64": "Double", "float16": "Half", "bfloat16": "BFloat16",
                 "int64": "Long", "int32": "Int", "int16": "Short", "int8": "Char", "uint8": "Byte",
                 "bool": "Bool"}


def _scalar_type_name(np_dtype) -> str:
    return _SCALAR_NAMES[D._FROM_NP[np_dtype].name]


def check_inplace_leaf(self: Tensor) -> None:
    if self._requires_grad and self._grad_fn is None and _GradState.enabled:
        raise RuntimeError("a leaf Variable that requires grad is being used in an in-place operation.")


def inplace(self: Tensor, op, *args, **kwargs) -> Tensor:
    """Run the out-of-place ``op(self, *args)`` and write the result into ``self``'s storage.

    When the op is recorded, ``self`` takes over the result's history (its old value and
    history are kept in a snapshot the new node points at); the version counter is bumped
    so saved tensors notice the change, as in PyTorch.
    """
    if _GradState.enabled and (self._requires_grad or any(isinstance(a, Tensor) and a._requires_grad
                                                           for a in args)):
        check_inplace_leaf(self)
        if self._base is not None:
            return _inplace_on_view(self, op, *args, **kwargs)
        result = op(_snapshot(self), *args, **kwargs)
        _check_inplace_result(self, result._data)
        self._data[...] = result._data
        if self._retains_grad and self._grad_fn is not None:
            self._grad_fn._retain = None  # the retained grad now belongs to the new node only
        self._grad_fn = result._grad_fn
        self._requires_grad = result._requires_grad
        if self._retains_grad:  # the retained grad now belongs to the new node
            import weakref
            self._grad_fn._retain = weakref.ref(self)
    else:
        result = op(self, *args, **kwargs)
        _check_inplace_result(self, result._data)
        if result._data is not self._data:
            self._data[...] = result._data
    self._vbox[0] += 1
    return self


def inplace_ufunc(self: Tensor, ufunc, other) -> bool:
    """No-graph fast path for ``self op= other``: one ufunc call with ``out=``. False when not applicable."""
    if _GradState.enabled and (self._requires_grad or (isinstance(other, Tensor) and other._requires_grad)):
        return False
    ad = self._data
    if isinstance(other, Tensor):
        od = other._data
        if od.dtype != ad.dtype or type(od) is not type(ad):
            return False
    elif type(other) is float:
        if ad.dtype.kind not in _FLOAT_KINDS or ad.dtype.itemsize == 2:  # half: the op's own scalar rule
            return False
        od = other
    elif type(other) is int and ad.dtype.kind in "fV":
        od = other
    else:
        return False
    if not ad.flags.writeable:
        return False
    try:
        ufunc(ad, od, out=ad)
    except ValueError:
        return False
    self._vbox[0] += 1
    return True


# ------------------------------------------------------------------------------------------
# In-place ops on views (PyTorch's CopySlices)
# ------------------------------------------------------------------------------------------

class CopySlices(Node):
    """The base's new history after an in-place op on one of its views.

    Inputs: the base's old value and the op's result on the view. The gradient for the
    old base is the incoming gradient with the view's window zeroed; the gradient for
    the result is the incoming gradient seen through the window.
    """

    def apply(self, g):
        na, nr = self._next
        ga = gr = None
        if na is not None:
            buf = array_module(g._data).array(g._data, order="C")
            _window(buf, self._window_spec)[...] = 0
            ga = _wrap(buf)
        if nr is not None:
            gr = _wrap(_window(array_module(g._data).ascontiguousarray(g._data), self._window_spec).copy())
        return ga, gr


class AsStridedBackward0(Node):
    """A view's history after an in-place op on it: its gradient lands in the base's window."""

    def apply(self, g):
        buf = array_module(g._data).zeros(self._base_shape, dtype=g._data.dtype)
        _window(buf, self._window_spec)[...] = g._data
        return (_wrap(buf),)


def _window(buf, window_spec):
    """The view's elements inside ``buf``, a C-contiguous array of the base's shape."""
    offset, shape, elem_strides = window_spec
    item = buf.dtype.itemsize
    return array_module(buf).lib.stride_tricks.as_strided(
        buf.reshape(-1)[offset:], shape=shape, strides=tuple(s * item for s in elem_strides))


def _view_geometry(view: Tensor, base: Tensor):
    """(offset, shape, strides) in elements of ``view``'s window inside ``base``'s storage."""
    ba, va = base._data, view._data
    item = ba.dtype.itemsize
    if not ba.flags.c_contiguous:
        raise RuntimeError("ember supports in-place operations on views that require grad only when the base "
                           "tensor is contiguous; call .contiguous() on the base first")
    offset_bytes = _pointer(va) - _pointer(ba)
    if va.dtype != ba.dtype or offset_bytes % item or any(s % item for s in va.strides):
        raise RuntimeError("an in-place operation on a view with a different dtype than its base is not supported")
    return offset_bytes // item, va.shape, tuple(s // item for s in va.strides)


def _pointer(arr) -> int:
    if type(arr) is np.ndarray:
        return arr.__array_interface__["data"][0]
    return int(arr.data.ptr)


def _inplace_on_view(self: Tensor, op, *args, **kwargs) -> Tensor:
    """``view.op_(...)`` while recording: rebase the base's history through CopySlices."""
    base = self._base
    multi = self.__dict__.get("_multi_view")  # (op name, output index) set by split/chunk/unbind
    if multi is not None:
        raise RuntimeError(f"Output {multi[1]} of {multi[0]} is a view and is being modified inplace. This view is "
                           "the output of a function that returns multiple views. Such functions do not allow the "
                           "output views to be modified inplace. You should replace the inplace operation by an "
                           "out-of-place one.")
    if base._grad_fn is None and base._requires_grad:
        raise RuntimeError("a view of a leaf Variable that requires grad is being used in an in-place operation.")
    window_spec = _view_geometry(self, base)
    result = op(_snapshot(self), *args, **kwargs)
    _check_inplace_result(self, result._data)
    old_base = _wrap(base._data)
    old_base._grad_fn, old_base._requires_grad = base._grad_fn, base._requires_grad
    self._data[...] = result._data
    node = CopySlices()
    node._next = (edge(old_base), edge(result))
    node._window_spec = window_spec
    base._grad_fn, base._requires_grad = node, True
    view_node = AsStridedBackward0()
    view_node._next = (node,)
    view_node._base_shape, view_node._window_spec = base._data.shape, window_spec
    self._grad_fn, self._requires_grad = view_node, True
    self._vbox[0] += 1
    return self
