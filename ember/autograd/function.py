"""``ember.autograd.Function``: user-defined ops with their own backward.

Usage as in PyTorch: subclass with static ``forward(ctx, *args)`` and
``backward(ctx, *grads)``, call ``MyFn.apply(*args)``. The ctx object is the
graph node itself (``<ClassName>Backward``), as in PyTorch.
"""
from __future__ import annotations

import functools
import warnings

from .grad_mode import _GradState, no_grad
from .graph import Node, OutputSlot, PackedGrad, edge


class FunctionCtx:
    """The ``ctx`` object: ``save_for_backward``, ``saved_tensors``, ``needs_input_grad``, ..."""

    def save_for_backward(self, *tensors) -> None:
        from .._tensor import Tensor
        for i, t in enumerate(tensors):
            if t is not None and not isinstance(t, Tensor):
                raise TypeError(f"save_for_backward can only save variables, but argument {i} is of type "
                                f"{type(t).__name__}")
        self._to_save = tensors

    def mark_non_differentiable(self, *tensors) -> None:
        self._non_differentiable = {id(t) for t in tensors}

    def mark_dirty(self, *tensors) -> None:
        self._dirty = {id(t) for t in tensors}

    def set_materialize_grads(self, value: bool) -> None:
        self._materialize_grads = value


class BackwardCFunction(Node, FunctionCtx):
    """The graph node of a custom Function call; it is also the ``ctx`` (as in PyTorch)."""

    _materialize_grads = True
    _foreign_grads = True  # the engine must not hand its returned arrays to a .grad without a copy
    _to_save = ()
    _non_differentiable = frozenset()
    _dirty = frozenset()
    _output_meta = ()         # per output: (array module, shape, dtype), or None for a non-tensor

    @property
    def saved_tensors(self):
        return self._saved_tensors()

    def __repr__(self) -> str:  # a Python class in PyTorch too: repr names its module
        return f"<{type(self).__module__}.{type(self).__qualname__} object at {id(self):#x}>"

    def apply(self, grad):
        """Run the user's backward on one gradient per forward output; check what it returns."""
        grads = grad.grads if type(grad) is PackedGrad else [grad]
        if self._materialize_grads:
            grads = [_zeros(meta) if (g is None and meta is not None) else g
                     for g, meta in zip(grads, self._output_meta)]
        result = self._forward_cls.backward(self, *grads)
        return self._check_grads(result)

    def _check_grads(self, result) -> tuple:
        """One gradient per tensor input, summed down to the input's shape (PyTorch's validation)."""
        from .._tensor import Tensor
        if not isinstance(result, tuple):
            result = (result,)
        n_in = len(self._input_is_tensor)
        if len(result) > n_in and all(r is None for r in result[n_in:]):
            result = result[:n_in]
        if len(result) != n_in:
            raise RuntimeError(f"function {self.name()} returned an incorrect number of gradients "
                               f"(expected {n_in}, got {len(result)})")
        grads = []
        for i, (r, is_tensor) in enumerate(zip(result, self._input_is_tensor)):
            if not is_tensor:
                if r is not None:
                    raise RuntimeError(f"function {self.name()} returned a gradient different than None at "
                                       f"position {i + 1}, but the corresponding forward input was not a "
                                       "Variable")
                continue
            if r is not None and not isinstance(r, Tensor):
                raise RuntimeError(f"expected Variable or None (got {type(r).__name__})")
            if r is not None:
                r = self._fit_grad(r, len(grads))
            grads.append(r)
        return tuple(grads)

    def _fit_grad(self, r, index: int):
        from .. import _dtype as D
        from ..ops._util import sum_to
        shape, dtype = self._input_meta[index]
        if r._data.shape != shape:
            if not _expandable(shape, r._data.shape):
                raise RuntimeError(f"Function {self.name()} returned an invalid gradient at index {index} - got "
                                   f"{list(r._data.shape)} but expected shape compatible with {list(shape)}")
            r = sum_to(r, shape)
        if r._data.dtype != dtype:
            r = r.to(D._FROM_NP[dtype])
        return r


def _expandable(shape, target) -> bool:
    """Whether ``shape`` broadcasts to ``target``."""
    if len(shape) > len(target):
        return False
    for s, t in zip(reversed(shape), reversed(target)):
        if s != t and s != 1:
            return False
    return True


def _zeros(meta):
    from .._tensor import _wrap
    xp, shape, dtype = meta
    return _wrap(xp.zeros(shape, dtype=dtype))


class _FunctionMeta(type):
    """Give each Function subclass its own node class named ``<Name>Backward``."""

    def __init__(cls, name, bases, attrs):
        backward_cls = type(name + "Backward", (BackwardCFunction,), {"_forward_cls": cls})
        cls._backward_cls = backward_cls
        super().__init__(name, bases, attrs)


class Function(metaclass=_FunctionMeta):
    """Base class for custom differentiable operations (``torch.autograd.Function``)."""

    @staticmethod
    def forward(ctx, *args, **kwargs):
        raise NotImplementedError("You must implement the forward function for custom autograd.Function.")

    @staticmethod
    def backward(ctx, *grad_outputs):
        raise NotImplementedError("You must implement either the backward or vjp method for your custom "
                                  "autograd.Function to use it with backward mode AD.")

    vjp = backward

    def __init__(self, *args, **kwargs):
        warnings.warn(f"{type(self)} should not be instantiated. Methods on autograd functions are all static, so "
                      "you should invoke them on the class itself. Instantiating an autograd function will raise an "
                      "error in a future version of PyTorch.", DeprecationWarning, stacklevel=2)

    def __call__(self, *args, **kwargs):
        raise RuntimeError("Legacy autograd function with non-static forward method is deprecated. Please use "
                           "new-style autograd function with static forward method. (Example: "
                           "https://pytorch.org/docs/stable/autograd.html#torch.autograd.Function)")

    @staticmethod
    def setup_context(ctx, inputs, output):
        return NotImplemented

    @classmethod
    def apply(cls, *args, **kwargs):
        """Run ``forward`` without recording, then make its outputs the outputs of one graph node."""
        from .._tensor import Tensor
        ctx = cls._backward_cls()
        ctx.needs_input_grad = tuple(isinstance(a, Tensor) and a._requires_grad for a in args)
        record = _GradState.enabled and any(ctx.needs_input_grad)
        with no_grad():
            if cls.setup_context is not Function.setup_context:
                output = cls.forward(*args, **kwargs)
                cls.setup_context(ctx, args, output)
            else:
                output = cls.forward(ctx, *args, **kwargs)
        if not record:
            ctx._to_save = ()
            return output
        return _record(ctx, args, output)


def _record(ctx, args, output):
    """Connect ``ctx`` into the graph and give the differentiable outputs their history."""
    from .._tensor import Tensor
    from .._backend import array_module
    tensor_args = [a for a in args if isinstance(a, Tensor)]
    ctx._next = tuple(edge(a) for a in tensor_args)
    ctx._input_is_tensor = tuple(isinstance(a, Tensor) for a in args)
    ctx._input_meta = tuple((a._data.shape, a._data.dtype) for a in tensor_args)
    is_tuple = isinstance(output, tuple)
    outputs = output if is_tuple else (output,)
    _check_dirty(ctx, outputs)
    ctx._output_meta = tuple((array_module(o._data), o._data.shape, o._data.dtype) if isinstance(o, Tensor)
                             else None for o in outputs)
    wrapped = [_connect_output(ctx, o, i, len(outputs) if is_tuple else 0, tensor_args)
               for i, o in enumerate(outputs)]
    # Saved outputs are saved as the returned tensors, so double backward flows through ctx.
    returned = {id(o): w for o, w in zip(outputs, wrapped)}
    ctx._save(*(returned.get(id(t), t) if t is not None else None for t in ctx._to_save))
    ctx._to_save = ()
    return tuple(wrapped) if is_tuple else wrapped[0]


def _check_dirty(ctx, outputs) -> None:
    if not ctx._dirty:
        return
    returned = {id(o) for o in outputs}
    if not ctx._dirty <= returned:
        raise RuntimeError("Some elements marked as dirty during the forward method were not returned as output. "
                           "The inputs that are modified inplace must all be outputs of the Function.")


def _connect_output(ctx, o, index: int, n_outputs: int, tensor_args):
    """The tensor the caller gets for output ``o``: its grad_fn is ctx (or ctx's slot ``index``)."""
    from .._tensor import Tensor, _make
    if not isinstance(o, Tensor):
        return o
    if id(o) in ctx._non_differentiable or o._data.dtype.kind not in "fV":
        return o
    node = OutputSlot(ctx, index, n_outputs) if n_outputs else ctx
    if id(o) in ctx._dirty:
        # Modified in place: the input tensor itself takes the new history (PyTorch's rebase).
        if o._grad_fn is None and o._requires_grad:
            raise RuntimeError("a leaf Variable that requires grad has been used in an in-place operation.")
        o._vbox[0] += 1
        o._grad_fn = node
        o._requires_grad = True
        return o
    result = _make(o._data, node)
    result._vbox = o._vbox  # an input returned as is, or a view of one, shares its storage
    return result


def once_differentiable(fn):
    """Mark a backward as not differentiable twice: it runs under no_grad (``torch.autograd.function``)."""
    @functools.wraps(fn)
    def wrapper(ctx, *args):
        with no_grad():
            return fn(ctx, *args)
    return wrapper
