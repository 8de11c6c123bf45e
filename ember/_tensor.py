"""Tensor: a storage array plus autograd metadata.

The array is a NumPy array on the CPU or a CuPy array on a GPU. Operators and
named methods are thin entries into ``ember.ops``: each ops module lists its
methods in ``TENSOR_METHODS`` and ``_bind_methods`` installs them here, the way
PyTorch binds its C++ methods onto ``torch.Tensor``.
"""
from __future__ import annotations

import copy as _copy
import warnings
from typing import Any

import numpy as np

from . import _dtype as D
from ._backend import array_module, is_cuda_array, to_numpy, module_for_device
from ._device import CPU, device as _device_cls, to_device
from .autograd import graph as _graph
from .autograd.grad_mode import _GradState

_ndarray = np.ndarray
_new = object.__new__


class Size(tuple):
    """The shape of a tensor: a tuple that prints as ``ember.Size([2, 3])``."""

    def __repr__(self) -> str:
        return f"ember.Size([{', '.join(str(s) for s in self)}])"

    def numel(self) -> int:
        n = 1
        for s in self:
            n *= s
        return n

    def __getitem__(self, item):
        result = tuple.__getitem__(self, item)
        return Size(result) if isinstance(item, slice) else result

    def __add__(self, other):
        return Size(tuple.__add__(self, tuple(other)))

    def __radd__(self, other):
        return Size(tuple(other) + tuple(self))

    def __reduce__(self):
        return (Size, (tuple(self),))


class Tensor:
    """A multi-dimensional array that can record operations for automatic differentiation."""

    __slots__ = ("_data", "_grad_fn", "_requires_grad", "_grad", "_vbox", "__dict__", "__weakref__")

    # Rarely-set state lives in the instance __dict__ with these class defaults, so the
    # hot path (creating op results) only fills the five slots.
    _accum = None            # weakref to this leaf's AccumulateGrad node
    _hooks = None            # {id: fn} from register_hook on a leaf
    _post_accumulate_hooks = None
    _retains_grad = False
    _base = None             # the tensor this one is a view of

    # Let NumPy defer to our reflected operators (np.float32(2) * t is a Tensor); a NumPy ufunc
    # called on a tensor (np.exp(t)) runs on its array and comes back as a tensor (__array_wrap__).
    __array_priority__ = 1000

    def __new__(cls, *args, **kwargs):
        """Legacy constructor ``ember.Tensor(data)`` / ``ember.Tensor(2, 3)``: default dtype."""
        from ._factory import _legacy_tensor
        return _legacy_tensor(cls, *args, **kwargs)

    @staticmethod
    def _make_subclass(cls, data: "Tensor", require_grad: bool = False) -> "Tensor":
        """An instance of the Tensor subclass ``cls`` sharing ``data``'s storage (how Parameter is built)."""
        if not isinstance(data, Tensor):
            raise TypeError(f"_make_subclass(): argument 'data' must be Tensor, not {type(data).__name__}")
        t = _new_tensor(cls, data._data, vbox=data._vbox)
        t.requires_grad = require_grad
        return t

    # -- core attributes -------------------------------------------------------------
    @property
    def shape(self) -> Size:
        return Size(self._data.shape)

    def size(self, dim: int | None = None):
        if dim is None:
            return Size(self._data.shape)
        return self._data.shape[_wrap_dim_of_sizes(dim, self._data.ndim)]

    @property
    def dtype(self) -> D.dtype:
        return D._FROM_NP[self._data.dtype]

    @property
    def device(self) -> _device_cls:
        if type(self._data) is _ndarray:
            return CPU
        return _device_cls("cuda", int(self._data.device.id))

    @property
    def is_cuda(self) -> bool:
        return is_cuda_array(self._data)

    @property
    def is_cpu(self) -> bool:
        return not is_cuda_array(self._data)

    def get_device(self) -> int:
        return int(self._data.device.id) if is_cuda_array(self._data) else -1

    @property
    def layout(self):
        from . import strided
        return strided

    @property
    def ndim(self) -> int:
        return self._data.ndim

    def dim(self) -> int:
        return self._data.ndim

    ndimension = dim

    def numel(self) -> int:
        return int(self._data.size)

    nelement = numel

    def element_size(self) -> int:
        return self._data.dtype.itemsize

    @property
    def itemsize(self) -> int:
        return self._data.dtype.itemsize

    @property
    def nbytes(self) -> int:
        return int(self._data.nbytes)

    def stride(self, dim: int | None = None):
        item = self._data.dtype.itemsize
        strides = tuple(s // item for s in self._data.strides)
        if self._data.size == 0:  # NumPy reports 0 strides for empty arrays; PyTorch's contiguous strides
            strides = _contiguous_strides(self._data.shape)
        if dim is None:
            return strides
        return strides[_wrap_dim_of_sizes(dim, self._data.ndim)]

    def is_contiguous(self, memory_format=None) -> bool:
        return bool(self._data.flags.c_contiguous)

    def is_floating_point(self) -> bool:
        return self.dtype.is_floating_point

    def is_complex(self) -> bool:
        return False

    def data_ptr(self) -> int:
        if is_cuda_array(self._data):
            return int(self._data.data.ptr)
        return int(self._data.__array_interface__["data"][0])

    def untyped_storage(self):
        return _StorageView(self)

    @property
    def _version(self) -> int:
        return self._vbox[0]

    # -- autograd attributes -----------------------------------------------------------
    @property
    def requires_grad(self) -> bool:
        return self._requires_grad

    @requires_grad.setter
    def requires_grad(self, value: bool) -> None:
        value = bool(value)
        if self._grad_fn is not None:
            if value:
                raise RuntimeError("you can only change requires_grad flags of leaf variables.")
            raise RuntimeError(
                "you can only change requires_grad flags of leaf variables. If you want to use a "
                "computed variable in a subgraph that doesn't require differentiation use "
                "var_no_grad = var.detach().")
        if value and self._data.dtype.kind not in "fV":
            raise RuntimeError("only Tensors of floating point and complex dtype can require gradients")
        self._requires_grad = value

    def requires_grad_(self, requires_grad: bool = True) -> "Tensor":
        if requires_grad and self._data.dtype.kind not in "fV":  # NOTE: worded unlike the setter's, as in PyTorch
            raise RuntimeError("only Tensors of floating point dtype can require gradients")
        if requires_grad and self._grad_fn is not None:  # a non-leaf already requires grad: a no-op here
            return self
        self.requires_grad = requires_grad
        return self

    @property
    def is_leaf(self) -> bool:
        return self._grad_fn is None

    @property
    def grad_fn(self):
        fn = self._grad_fn
        return _graph.public_node(fn) if fn is not None else None

    @property
    def grad(self):
        if self._grad_fn is not None and not self._retains_grad and self._grad is None:
            warnings.warn(
                "The .grad attribute of a Tensor that is not a leaf Tensor is being accessed. Its .grad "
                "attribute won't be populated during autograd.backward(). If you indeed want the .grad "
                "field to be populated for a non-leaf Tensor, use .retain_grad() on the non-leaf Tensor. "
                "If you access the non-leaf Tensor by mistake, make sure you access the leaf Tensor "
                "instead.", UserWarning, stacklevel=2)
        return self._grad

    @grad.setter
    def grad(self, value) -> None:
        if value is not None:
            if not isinstance(value, Tensor):
                raise TypeError(f"assigned grad expected to be a Tensor or None but got grad of type "
                                f"{type(value).__name__}")
            if value.dtype is not self.dtype:
                from .ops._util import _scalar_type_name
                raise RuntimeError(
                    f"attempting to assign a gradient with dtype '{_CPP_TYPE_NAMES[value.dtype.name]}' to a "
                    f"tensor with grad_dtype '{_scalar_type_name(self._data.dtype)}'. The gradient must match "
                    "the tensor's grad_dtype (defaults to the tensor's dtype). You can set the tensor's "
                    "grad_dtype attribute with a specific dtype, or None to allow any dtype. Set grad_dtype "
                    "with caution. Diverging the dtypes of a tensor and its gradient may break downstream "
                    "systems that assume they match.")
            if value._data.shape != self._data.shape:
                raise RuntimeError(
                    f"attempting to assign a gradient of size '{list(value.shape)}' to a tensor of size "
                    f"'{list(self.shape)}'. Please ensure that the gradient and the tensor are the same size")
            if value.device != self.device:
                raise RuntimeError(
                    f"attempting to assign a gradient located on device with index '{value.get_device()}' "
                    f"to a tensor located on device with index '{self.get_device()}'. Please ensure that "
                    "the gradient and the tensor are on the same device")
        self._grad = value

    @grad.deleter
    def grad(self) -> None:
        self._grad = None

    def retain_grad(self) -> None:
        """Keep ``.grad`` for this non-leaf after backward (no-op on leaves)."""
        if self._grad_fn is None:
            if not self._requires_grad:
                raise RuntimeError("can't retain_grad on Tensor that has requires_grad=False")
            return
        if self._retains_grad:
            return
        import weakref
        self._grad_fn._retain = weakref.ref(self)
        self._retains_grad = True

    @property
    def retains_grad(self) -> bool:
        return self._retains_grad

    def register_hook(self, hook):
        """Call ``hook(grad)`` when this tensor's gradient is computed; a returned tensor replaces it."""
        if not self._requires_grad:
            raise RuntimeError("cannot register a hook on a tensor that doesn't require gradient")
        if self._grad_fn is not None:
            node = self._grad_fn
            if node._pre_hooks is None:
                node._pre_hooks = {}
            return _graph._add_hook(node._pre_hooks, hook)
        if self._hooks is None:
            self._hooks = {}
        return _graph._add_hook(self._hooks, hook)

    def register_post_accumulate_grad_hook(self, hook):
        """Call ``hook(tensor)`` after the gradient was accumulated into this leaf's ``.grad``."""
        if self._grad_fn is not None:
            raise RuntimeError("post accumulate grad hooks cannot be registered on non-leaf tensors")
        if self._post_accumulate_hooks is None:
            self._post_accumulate_hooks = {}
        return _graph._add_hook(self._post_accumulate_hooks, hook)

    def backward(self, gradient=None, retain_graph: bool | None = None, create_graph: bool = False,
                 inputs=None) -> None:
        """Accumulate d(self)/d(leaf) into every leaf's ``.grad`` (see ``ember.autograd.backward``)."""
        from .autograd import backward
        backward(self, gradient, retain_graph, create_graph, inputs=inputs)

    @property
    def data(self) -> "Tensor":
        """The same storage as a plain tensor outside the graph (version changes not tracked)."""
        return _wrap(self._data)

    @data.setter
    def data(self, value: "Tensor") -> None:
        if not isinstance(value, Tensor):
            raise TypeError(f"Variable data has to be a tensor, but got {type(value).__name__}")
        if self._requires_grad and value._data.dtype.kind not in "fV":
            raise RuntimeError("data set to a tensor that requires gradients must be floating point or complex dtype")
        self._data = value._data

    def detach(self) -> "Tensor":
        """A tensor sharing storage (and version counter) that is not part of any graph."""
        t = _wrap(self._data)
        t._vbox = self._vbox
        return t

    def detach_(self) -> "Tensor":
        if self._base is not None and self._base._requires_grad:
            raise RuntimeError(
                "Can't detach views in-place. Use detach() instead. If you are using DistributedDataParallel "
                "(DDP) for training, and gradient_as_bucket_view is set as True, gradients are views of DDP "
                "buckets, and hence detach_() cannot be called on these gradients. To fix this error, please "
                "refer to the Optimizer.zero_grad() function in torch/optim/optimizer.py as the solution.")
        self._grad_fn = None
        self._requires_grad = False
        return self

    # -- conversion ---------------------------------------------------------------------
    def item(self):
        if self._data.size != 1:
            raise RuntimeError(f"a Tensor with {self._data.size} elements cannot be converted to Scalar")
        return to_numpy(self._data).reshape(()).item() if self._data.dtype.kind != "V" else \
            float(to_numpy(self._data).reshape(()).astype(np.float32))

    def tolist(self):
        arr = to_numpy(self._data)
        if arr.dtype.kind == "V":  # bfloat16: Python floats of the exact values
            arr = arr.astype(np.float32)
        return arr.tolist()

    def numpy(self, *, force: bool = False) -> np.ndarray:
        """The storage as a NumPy array sharing memory (PyTorch's errors otherwise)."""
        if self._requires_grad and not force and _GradState.enabled:  # allowed under no_grad, as in PyTorch
            raise RuntimeError("Can't call numpy() on Tensor that requires grad. Use tensor.detach().numpy() instead.")
        if is_cuda_array(self._data):
            if force:
                return to_numpy(self._data)
            raise TypeError("can't convert cuda:0 device type tensor to numpy. Use Tensor.cpu() to copy the "
                            "tensor to host memory first.")
        return self._data

    def __array__(self, dtype=None, copy=None):
        if self._requires_grad:
            raise RuntimeError("Can't call numpy() on Tensor that requires grad. Use tensor.detach().numpy() instead.")
        arr = to_numpy(self._data)
        return arr if dtype is None else arr.astype(dtype, copy=False)

    def __array_wrap__(self, array, context=None, return_scalar=False):
        """The result of a NumPy ufunc on this tensor, as a tensor (as PyTorch's Tensor does)."""
        array = np.asarray(array)
        if array.dtype == np.bool_:
            array = array.astype(np.uint8)  # NOTE: PyTorch's __array_wrap__ turns bool results into uint8
        D.from_numpy_dtype(array.dtype)  # PyTorch's TypeError for a dtype it has no tensor for
        return _wrap(array)

    def __len__(self) -> int:
        if self._data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self._data.shape[0]

    def __iter__(self):
        if self._data.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        return iter(self.unbind(0))

    def __bool__(self) -> bool:
        if self._data.size == 0:
            raise RuntimeError("Boolean value of Tensor with no values is ambiguous")
        if self._data.size != 1:
            raise RuntimeError(f"Boolean value of Tensor with more than one value is ambiguous")
        return bool(self.item())

    def __float__(self) -> float:
        if self._data.size != 1:
            raise ValueError("only one element tensors can be converted to Python scalars")
        if self._requires_grad and not _warned_scalar_of_grad[0]:  # once per process, as PyTorch warns
            _warned_scalar_of_grad[0] = True
            warnings.warn("Converting a tensor with requires_grad=True to a scalar may lead to unexpected "
                          "behavior.\nConsider using tensor.detach() first.", UserWarning, stacklevel=2)
        return float(self.item())

    def __int__(self) -> int:
        if self._data.size != 1:
            raise ValueError("only one element tensors can be converted to Python scalars")
        return int(self.item())

    def __index__(self) -> int:
        if self._data.dtype.kind not in "iub" or self._data.size != 1:
            raise TypeError("only integer tensors of a single element can be converted to an index")
        return int(self.item())

    def __complex__(self) -> complex:
        return complex(self.item())

    def __hash__(self) -> int:
        return id(self)

    def __repr__(self, *, tensor_contents=None) -> str:
        from ._tensor_str import _str
        return _str(self, tensor_contents=tensor_contents)

    def __format__(self, spec: str) -> str:
        if self._data.ndim == 0:
            return self.item().__format__(spec)
        return object.__format__(self, spec)

    def __reduce_ex__(self, protocol):
        return (_rebuild_tensor, (type(self), to_numpy(self._data), self._requires_grad, str(self.device)))

    def __deepcopy__(self, memo):
        if self._grad_fn is not None:
            raise RuntimeError("Only Tensors created explicitly by the user (graph leaves) support the "
                               "deepcopy protocol at the moment.  If you were attempting to deepcopy a module, "
                               "this may be because of a torch.nn.utils.weight_norm usage, see "
                               "https://github.com/pytorch/pytorch/pull/103001")
        if id(self) in memo:
            return memo[id(self)]
        new = _new(type(self))
        new._data = self._data.copy()
        new._grad_fn = None
        new._requires_grad = self._requires_grad
        new._grad = None if self._grad is None else _copy.deepcopy(self._grad, memo)
        new._vbox = [0]
        for key, value in self.__dict__.items():
            if key not in ("_accum", "_hooks", "_post_accumulate_hooks", "_base"):
                new.__dict__[key] = _copy.deepcopy(value, memo)
        memo[id(self)] = new
        return new

    def __copy__(self):
        raise RuntimeError("copy.copy of a Tensor is not supported; use clone() or copy.deepcopy()")

    # -- copies, casts and moves -----------------------------------------------------------
    def clone(self, *, memory_format=None) -> "Tensor":
        from .ops.elementwise import clone
        return clone(self, memory_format=memory_format)

    def contiguous(self, memory_format=None) -> "Tensor":
        if self._data.flags.c_contiguous:
            return self
        from .ops.elementwise import clone
        from . import contiguous_format
        return clone(self, memory_format=contiguous_format)

    def to(self, *args, **kwargs) -> "Tensor":
        """``to(dtype)``, ``to(device)``, ``to(device, dtype)``, ``to(tensor)``; self when nothing changes."""
        dtype, dev, copy = _parse_to(args, kwargs)
        from .ops.elementwise import _to
        return _to(self, dtype, dev, copy)

    def cpu(self) -> "Tensor":
        return self.to("cpu")

    def cuda(self, device=None, non_blocking: bool = False) -> "Tensor":
        if device is None:
            device = "cuda"
        elif isinstance(device, int):
            device = f"cuda:{device}"
        return self.to(device)

    def type(self, dtype=None, non_blocking: bool = False):
        if dtype is None:
            return legacy_type_name(self)
        if isinstance(dtype, str) and dtype.endswith("Tensor"):
            dtype = _LEGACY_NAMES_REV[dtype.split(".")[-1]]
        return self.to(D.to_dtype(dtype))

    def type_as(self, other: "Tensor") -> "Tensor":
        return self.to(other.dtype)

    def float(self):
        return self.to(D.float32)

    def double(self):
        return self.to(D.float64)

    def half(self):
        return self.to(D.float16)

    def bfloat16(self):
        return self.to(D.bfloat16)

    def long(self):
        return self.to(D.int64)

    def int(self):
        return self.to(D.int32)

    def short(self):
        return self.to(D.int16)

    def char(self):
        return self.to(D.int8)

    def byte(self):
        return self.to(D.uint8)

    def bool(self):
        return self.to(D.bool)

    def new_tensor(self, data, dtype=None, device=None, requires_grad=False):
        from ._factory import tensor
        return tensor(data, dtype=dtype or self.dtype, device=device or self.device, requires_grad=requires_grad)

    def new_zeros(self, *size, dtype=None, device=None, requires_grad=False):
        from ._factory import zeros
        return zeros(*size, dtype=dtype or self.dtype, device=device or self.device, requires_grad=requires_grad)

    def new_ones(self, *size, dtype=None, device=None, requires_grad=False):
        from ._factory import ones
        return ones(*size, dtype=dtype or self.dtype, device=device or self.device, requires_grad=requires_grad)

    def new_empty(self, *size, dtype=None, device=None, requires_grad=False):
        from ._factory import empty
        return empty(*size, dtype=dtype or self.dtype, device=device or self.device, requires_grad=requires_grad)

    def new_full(self, size, fill_value, dtype=None, device=None, requires_grad=False):
        from ._factory import full
        return full(size, fill_value, dtype=dtype or self.dtype, device=device or self.device,
                    requires_grad=requires_grad)


# Print and pickle as ``ember.Tensor`` (PyTorch's class prints as ``torch.Tensor``).
Tensor.__module__ = "ember"
Size.__module__ = "ember"


class _StorageView:
    """Just enough of ``untyped_storage()`` to compare storages (``data_ptr``) and sizes."""

    def __init__(self, tensor: Tensor):
        base = tensor._data
        while getattr(base, "base", None) is not None:
            base = base.base
        self._array = base

    def data_ptr(self) -> int:
        if is_cuda_array(self._array):
            return int(self._array.data.ptr)
        return int(self._array.__array_interface__["data"][0])

    def nbytes(self) -> int:
        return int(self._array.nbytes)

    def size(self) -> int:
        return int(self._array.nbytes)


_warned_scalar_of_grad = [False]

_LEGACY_NAMES = {
    "float32": "FloatTensor", "float64": "DoubleTensor", "float16": "HalfTensor", "bfloat16": "BFloat16Tensor",
    "int64": "LongTensor", "int32": "IntTensor", "int16": "ShortTensor", "int8": "CharTensor",
    "uint8": "ByteTensor", "bool": "BoolTensor",
}
_LEGACY_NAMES_REV = {v: k for k, v in _LEGACY_NAMES.items()}
# C++ element type names, as PyTorch's grad-assignment error prints them
_CPP_TYPE_NAMES = {"float32": "float", "float64": "double", "float16": "c10::Half", "bfloat16": "c10::BFloat16",
                   "int64": "long int", "int32": "int", "int16": "short int", "int8": "signed char",
                   "uint8": "unsigned char", "bool": "bool"}


def legacy_type_name(t: Tensor) -> str:
    """``ember.FloatTensor`` / ``ember.cuda.FloatTensor``, as ``Tensor.type()`` names them."""
    prefix = "ember.cuda." if is_cuda_array(t._data) else "ember."
    return prefix + _LEGACY_NAMES[t.dtype.name]


def _contiguous_strides(shape) -> tuple:
    strides, step = [], 1
    for size in reversed(shape):
        strides.append(step)
        step *= max(size, 1)
    return tuple(reversed(strides))


def _wrap_dim(dim: int, ndim: int) -> int:
    n = ndim if ndim > 0 else 1
    if dim < -n or dim >= n:
        raise IndexError(f"Dimension out of range (expected to be in range of [{-n}, {n - 1}], but got {dim})")
    return dim + n if dim < 0 else dim


def _wrap_dim_of_sizes(dim: int, ndim: int) -> int:
    """``_wrap_dim`` for ``size(dim)``/``stride(dim)``, which a 0-d tensor has none of."""
    if ndim == 0:
        raise IndexError(f"Dimension specified as {dim} but tensor has no dimensions")
    return _wrap_dim(dim, ndim)


def _as_array(data):
    # NumPy returns scalars (np.float32) from ops on 0-d arrays; a tensor always holds an array.
    if isinstance(data, np.generic):
        return np.asarray(data)
    return data


def _wrap(data) -> Tensor:
    """A tensor around ``data`` with no autograd history (the no-graph fast path)."""
    if type(data) is not _ndarray:
        data = _as_array(data)
    t = _new(Tensor)
    t._data = data
    t._grad_fn = None
    t._requires_grad = False
    t._grad = None
    t._vbox = [0]
    return t


def _make(data, node) -> Tensor:
    """The result of a recorded op: ``node`` becomes its grad_fn."""
    if type(data) is not _ndarray:
        data = _as_array(data)
    t = _new(Tensor)
    t._data = data
    t._grad_fn = node
    t._requires_grad = True
    t._grad = None
    t._vbox = [0]
    if _graph._Anomaly.enabled:
        _graph.record_trace(node)
    return t


def _new_tensor(cls, data, grad_fn=None, requires_grad: bool = False, vbox=None) -> Tensor:
    """An instance of ``cls`` around ``data``: the general constructor (``_wrap``/``_make`` inline it)."""
    t = _new(cls)
    t._data = data
    t._grad_fn = grad_fn
    t._requires_grad = requires_grad
    t._grad = None
    t._vbox = [0] if vbox is None else vbox
    return t


def _view_of(data, base: Tensor, node) -> Tensor:
    """A result that shares ``base``'s storage: it shares the version counter too."""
    t = _make(data, node) if node is not None else _wrap(data)
    t._vbox = base._vbox
    t._base = base if base._base is None else base._base
    return t


def _rebuild_tensor(cls, array, requires_grad, device="cpu"):
    data = array if device == "cpu" else module_for_device("cuda").asarray(array)
    return _new_tensor(cls, data, requires_grad=requires_grad)


def _parse_to(args, kwargs):
    dtype = kwargs.pop("dtype", None)
    dev = kwargs.pop("device", None)
    copy = kwargs.pop("copy", False)
    kwargs.pop("non_blocking", None)
    kwargs.pop("memory_format", None)
    if kwargs:
        raise TypeError(f"to() got an unexpected keyword argument '{next(iter(kwargs))}'")
    for arg in args:
        if isinstance(arg, Tensor):
            dtype, dev = arg.dtype, arg.device
        elif isinstance(arg, D.dtype):
            dtype = arg
        elif isinstance(arg, (str, _device_cls, int)) and not isinstance(arg, bool):
            dev = to_device(arg)
        elif isinstance(arg, bool):
            pass  # non_blocking / copy positional flags
        else:
            raise TypeError(f"to() received an invalid combination of arguments - got ({type(arg).__name__})")
    if dev is not None:
        dev = to_device(dev)
    if dtype is not None:
        dtype = D.to_dtype(dtype)
    return dtype, dev, copy


def _bind_methods() -> None:
    """Install every ops module's ``TENSOR_METHODS`` on Tensor."""
    from .ops import ALL_MODULES
    for module in ALL_MODULES:
        for name, fn in module.TENSOR_METHODS.items():
            setattr(Tensor, name, fn)


_graph._wrap = _wrap


def _make_output(saved, node) -> Tensor:
    """Rebuild an op's saved output as a tensor whose grad_fn is that op (for double backward)."""
    return _new_tensor(Tensor, saved.data, node, True, saved.vbox)


_graph._make_output = _make_output
