"""``ember.autograd.Function``: user-defined ops with their own backward.

Usage as in PyTorch: subclass with static ``forward(ctx, *args)`` and
``backward(ctx, *grads)``, call ``MyFn.apply(*args)``.
"""
from __future__ import annotations

import functools

from .grad_mode import _GradState, no_grad
from .graph import Node, edge


class FunctionCtx:
    """The ``ctx`` object: ``save_for_backward``, ``saved_tensors``, ``needs_input_grad``, ..."""

    def save_for_backward(self, *tensors) -> None:
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
    _to_save = ()
    _non_differentiable = frozenset()
    _dirty = frozenset()

    @property
    def saved_tensors(self):
        return self._saved_tensors()

    def apply(self, *grads):
        from .._tensor import _wrap
        from .._backend import array_module
        if self._materialize_grads:
            grads = tuple(_wrap(array_module(o[0]).zeros(o[1], dtype=o[2])) if (g is None and o is not None) else g
                          for g, o in zip(grads, self._output_meta))
        result = self._forward_cls.backward(self, *grads)
        if not isinstance(result, tuple):
            result = (result,)
        n_in = len(self._input_is_tensor)
        if len(result) < n_in:
            raise RuntimeError(f"function {self.name()} returned an incorrect number of gradients "
                               f"(expected {n_in}, got {len(result)})")
        result = result[:n_in] if all(r is None for r in result[n_in:]) else result
        if len(result) != n_in:
            raise RuntimeError(f"function {self.name()} returned an incorrect number of gradients "
                               f"(expected {n_in}, got {len(result)})")
        grads_out = []
        for r, is_t, shape in zip(result, self._input_is_tensor, self._input_shapes):
            if not is_t:
                if r is not None:
                    raise RuntimeError(f"function {self.name()} returned a gradient different than None at "
                                       "position for an input that is not a Tensor")
                continue
            if r is not None and tuple(r.shape) != shape:
                raise RuntimeError(f"Function {self.name()} returned an invalid gradient at index "
                                   f"{len(grads_out)} - got {list(r.shape)} but expected shape compatible with "
                                   f"{list(shape)}")
            grads_out.append(r)
        return tuple(grads_out)


class _FunctionMeta(type):
    """Give each Function subclass its own node class named ``<Name>Backward``."""

    def __init__(cls, name, bases, attrs):
        backward_cls = type(name + "Backward", (BackwardCFunction,), {"_forward_cls": cls})
        cls._backward_cls = backward_cls
        super().__init__(name, bases, attrs)


class Function(metaclass=_FunctionMeta):
    """Base class for custom differentiable operations."""

    @staticmethod
    def forward(ctx, *args, **kwargs):
        raise NotImplementedError("You must implement the forward function for custom autograd.Function.")

    @staticmethod
    def backward(ctx, *grad_outputs):
        raise NotImplementedError("You must implement either the backward or vjp method for your custom "
                                  "autograd.Function to use it with backward mode AD.")

    vjp = backward

    @staticmethod
    def setup_context(ctx, inputs, output):
        return NotImplemented

    @classmethod
    def apply(cls, *args, **kwargs):
        from .._tensor import Tensor, _make
        tensor_args = [a for a in args if isinstance(a, Tensor)]
        ctx = cls._backward_cls()
        ctx.needs_input_grad = tuple(isinstance(a, Tensor) and a._requires_grad for a in args)
        record = _GradState.enabled and any(t._requires_grad for t in tensor_args)
        uses_setup = cls.setup_context is not Function.setup_context
        with no_grad():
            if uses_setup:
                output = cls.forward(*args, **kwargs)
                cls.setup_context(ctx, args, output)
            else:
                output = cls.forward(ctx, *args, **kwargs)
        is_tuple = isinstance(output, tuple)
        outputs = output if is_tuple else (output,)
        if not record:
            return output
        ctx._next = tuple(edge(a) for a in args if isinstance(a, Tensor))
        ctx._input_is_tensor = tuple(isinstance(a, Tensor) for a in args)
        ctx._input_shapes = tuple(tuple(a.shape) for a in args if isinstance(a, Tensor))
        ctx._output_meta = []
        wrapped = []
        n_diff = 0
        for o in outputs:
            if isinstance(o, Tensor) and id(o) not in ctx._non_differentiable and o._data.dtype.kind in "fV":
                n_diff += 1
        if n_diff > 1:
            # Several differentiable outputs: each gets its own node that forwards into the shared ctx
            return _multi_output(cls, ctx, outputs, is_tuple)
        for o in outputs:
            if isinstance(o, Tensor):
                from .._backend import array_module
                ctx._output_meta.append((o._data, o._data.shape, o._data.dtype))
                if id(o) in ctx._non_differentiable or o._data.dtype.kind not in "fV":
                    wrapped.append(o)
                    continue
                if any(o is a for a in args) and id(o) not in ctx._dirty:
                    o = _alias(o)
                t = _make(o._data, ctx)
                t._vbox = o._vbox
                wrapped.append(t)
            else:
                wrapped.append(o)
        ctx._save(*ctx._to_save)
        ctx._to_save = ()
        return tuple(wrapped) if is_tuple else wrapped[0]


def _alias(t):
    from .._tensor import _wrap
    a = _wrap(t._data)
    a._vbox = t._vbox
    return a


class _OutputSlot(Node):
    """One output of a multi-output custom Function; gathers into the shared ctx node."""

    def apply(self, g):
        return (g,)


def _multi_output(cls, ctx, outputs, is_tuple):
    """Outputs of a Function with several differentiable results.

    ember nodes have one output each, so the ctx node is fed by a stack of per-output
    grads: every output's grad is collected and the ctx's backward runs once, when the
    engine reaches the shared node with all grads summed into one tuple-like buffer.
    """
    from .._tensor import _make, _wrap, Tensor
    from .._backend import array_module
    node = _MultiOutputNode(ctx, len(outputs))
    ctx._save(*ctx._to_save)
    ctx._to_save = ()
    result = []
    for i, o in enumerate(outputs):
        if isinstance(o, Tensor):
            ctx._output_meta.append((o._data, o._data.shape, o._data.dtype))
        else:
            ctx._output_meta.append(None)
    for i, o in enumerate(outputs):
        if not isinstance(o, Tensor) or id(o) in ctx._non_differentiable or o._data.dtype.kind not in "fV":
            result.append(o)
            continue
        slot = _SlotNode(node, i)
        slot._next = (node,)
        result.append(_make(o._data, slot))
    return tuple(result) if is_tuple else result[0]


class _SlotNode(Node):
    def __init__(self, node, index):
        self._node, self._index = node, index

    def name(self):
        return self._node._ctx.name()

    def apply(self, g):
        return (_PackedGrad(self._index, g, self._node._n),)


class _PackedGrad:
    """A sparse tuple of output grads that sums with others of its kind in the engine."""

    def __init__(self, index, g, n):
        self.grads = [None] * n
        self.grads[index] = g
        self._data = g._data

    def __add__(self, other):
        out = _PackedGrad.__new__(_PackedGrad)
        out.grads = [a if b is None else b if a is None else a + b for a, b in zip(self.grads, other.grads)]
        out._data = self._data
        return out


class _MultiOutputNode(Node):
    def __init__(self, ctx, n):
        self._ctx, self._n = ctx, n
        self._next = ctx._next

    def name(self):
        return self._ctx.name()

    def apply(self, packed):
        return BackwardCFunction.apply(self._ctx, *packed.grads)

    def _release(self):
        self._ctx._release()


def once_differentiable(fn):
    """Mark a backward as not differentiable twice: it runs under no_grad."""
    @functools.wraps(fn)
    def wrapper(ctx, *args):
        with no_grad():
            return fn(ctx, *args)
    return wrapper
