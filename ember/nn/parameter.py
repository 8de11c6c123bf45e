"""``nn.Parameter``: a Tensor that a Module registers when assigned as an attribute."""
from __future__ import annotations

from .._tensor import Tensor, _rebuild_tensor
from .._backend import to_numpy


class Parameter(Tensor):
    """A tensor that is a module parameter (``torch.nn.Parameter``).

    ``Parameter(data=None, requires_grad=True)`` shares ``data``'s storage. Ops on a
    Parameter return plain Tensors; ``.data`` is a plain Tensor on the same storage;
    ``copy.deepcopy`` and pickle keep the Parameter type.
    """

    __slots__ = ()

    def __new__(cls, data: Tensor | None = None, requires_grad: bool = True):
        if data is None:
            from .._factory import empty
            data = empty(0)
        if not isinstance(data, Tensor):  # PyTorch fails calling data.detach(): the same error
            raise AttributeError(f"'{type(data).__name__}' object has no attribute 'detach'")
        if requires_grad and data._data.dtype.kind not in "fV":
            raise RuntimeError("Only Tensors of floating point and complex dtype can require gradients")
        return Tensor._make_subclass(cls, data, requires_grad)

    def __repr__(self) -> str:
        return "Parameter containing:\n" + super().__repr__()

    def __deepcopy__(self, memo):
        """A Parameter with a copy of the data and the same requires_grad; ``.grad`` is not copied."""
        if id(self) in memo:
            return memo[id(self)]
        result = type(self)(self.data.clone(), self._requires_grad)
        memo[id(self)] = result
        return result

    def __reduce_ex__(self, protocol):
        return (_rebuild_parameter, (to_numpy(self._data), self._requires_grad, str(self.device)))


def _rebuild_parameter(array, requires_grad, device="cpu"):
    return _rebuild_tensor(Parameter, array, requires_grad, device)


class UninitializedParameter(Parameter):
    """Placeholder for lazy modules (shape unknown until the first forward)."""

    def __new__(cls, requires_grad: bool = True, device=None, dtype=None):
        return Parameter.__new__(cls, None, requires_grad)


class _BufferMeta(type):
    # NOTE: ``Buffer(...)`` returns a plain Tensor marked ``_is_buffer``; isinstance looks at the mark.
    def __instancecheck__(cls, instance) -> bool:
        if cls is Buffer:
            return isinstance(instance, Tensor) and getattr(instance, "_is_buffer", False)
        return super().__instancecheck__(instance)


class Buffer(Tensor, metaclass=_BufferMeta):
    """A tensor that a Module registers as a buffer when assigned as an attribute (``torch.nn.Buffer``).

    ``Buffer(data=None, *, persistent=True)`` returns ``data`` detached (same storage, same
    requires_grad), marked so that ``module.name = Buffer(...)`` calls ``register_buffer``
    with this ``persistent`` flag.
    """

    __slots__ = ()

    def __new__(cls, data: Tensor | None = None, *, persistent: bool = True):
        if data is None:
            from .._factory import empty
            data = empty(0)
        tensor = data.detach().requires_grad_(data.requires_grad)
        tensor.persistent = persistent
        tensor._is_buffer = True
        return tensor


def is_lazy(param) -> bool:
    return isinstance(param, UninitializedParameter)
