"""The autograd graph and the backward engine.

A ``Node`` is what ``tensor.grad_fn`` holds: it knows the next nodes (one per
differentiable input, ``None`` where no gradient is needed) and turns the
gradient of its single output into gradients for its inputs. Leaves that
require grad are reached through an ``AccumulateGrad`` node, which adds into
``tensor.grad``.

Backward rules are written with ember ops on Tensors, so running the engine in
grad mode (``create_graph=True``) records a graph of the backward pass for
higher-order gradients; otherwise those ops take their no-graph fast path.
"""
from __future__ import annotations

import traceback
import warnings
import weakref

import numpy as np

from .grad_mode import _GradState


class Node:
    """A recorded operation. Subclasses implement ``apply(grad) -> tuple of grads``.

    Instances use a plain ``__dict__`` with class-level defaults: creating one is a bare
    ``cls()`` plus the few attributes an op sets, which keeps the forward hot path short.
    """

    _next = ()            # one entry per input: the node its gradient flows into, or None
    _saved = ()           # tensors saved for backward (None once freed)
    _versions = ()        # their storage versions at save time
    _out = None           # a SavedOutput when the op saves its own result
    _pre_hooks = None
    _post_hooks = None
    _retain = None        # weakref to the output tensor that called retain_grad()
    _trace = None         # anomaly mode: the forward call's stack

    # -- introspection, as on PyTorch's grad_fn objects -------------------------------
    def name(self) -> str:
        return type(self).__name__

    @property
    def next_functions(self):
        return tuple((n, 0) for n in self._next)

    @property
    def metadata(self) -> dict:
        return {}

    def __repr__(self) -> str:
        return f"<{type(self).__name__} object at {id(self):#x}>"

    def __call__(self, *grads):
        return self.apply(*grads)

    def register_hook(self, fn):
        """fn(grad_inputs, grad_outputs) after this node ran; may return new grad_inputs."""
        if self._post_hooks is None:
            self._post_hooks = {}
        return _add_hook(self._post_hooks, fn)

    def register_prehook(self, fn):
        """fn(grad_outputs) before this node runs; may return new grad_outputs."""
        if self._pre_hooks is None:
            self._pre_hooks = {}
        return _add_hook(self._pre_hooks, lambda g, fn=fn: _first(fn((g,))))

    # -- saved tensors -----------------------------------------------------------------
    def _save(self, *tensors) -> None:
        """Save inputs for backward, remembering their storage version."""
        self._saved = tensors
        self._versions = tuple(t._vbox[0] if t is not None else 0 for t in tensors)

    def _saved_tensors(self):
        saved = self._saved
        if saved is None:
            raise RuntimeError(_FREED_MESSAGE)
        for t, v in zip(saved, self._versions):
            if t is not None and t._vbox[0] != v:
                _raise_modified(t, v)
        return saved

    def _result(self):
        """The op's own output, saved with ``self._out = SavedOutput(result)``."""
        out = self._out
        if out is None:
            raise RuntimeError(_FREED_MESSAGE)
        if out.vbox[0] != out.version:
            raise RuntimeError(
                "one of the variables needed for gradient computation has been modified by an inplace "
                f"operation: output 0 of {self.name()} is at version {out.vbox[0]}; expected version "
                f"{out.version} instead. Hint: enable anomaly detection with "
                "ember.autograd.set_detect_anomaly(True) to find the operation that modified it.")
        return _make_output(out, self)

    def _release(self) -> None:
        if self._saved:
            self._saved = None
        if self._out is not None:
            self._out = None


_FREED_MESSAGE = (
    "Trying to backward through the graph a second time (or directly access saved tensors after "
    "they have already been freed). Saved intermediate values of the graph are freed when you call "
    ".backward() or autograd.grad(). Specify retain_graph=True if you need to backward through the "
    "graph a second time or if you need to access saved tensors after calling backward.")


def _raise_modified(t, expected_version):
    from .._tensor import legacy_type_name
    producer = f"output 0 of {t._grad_fn.name()}" if t._grad_fn is not None else "a leaf"
    shape = ", ".join(str(s) for s in t._data.shape)
    raise RuntimeError(
        "one of the variables needed for gradient computation has been modified by an inplace "
        f"operation: [{legacy_type_name(t)} [{shape}]], which is {producer}, is at version "
        f"{t._vbox[0]}; expected version {expected_version} instead. Hint: the backtrace further "
        "above can help locate the operation that modified it; enable anomaly detection with "
        "ember.autograd.set_detect_anomaly(True) to find it.")


class SavedOutput:
    """An op's own output saved for backward without a reference cycle.

    Holds the array and the shared version box; ``unpack`` rebuilds a tensor whose
    grad_fn is the node, so double backward flows through it (as PyTorch's
    SavedVariable does for outputs).
    """

    __slots__ = ("data", "vbox", "version")

    def __init__(self, tensor):
        self.data = tensor._data
        self.vbox = tensor._vbox
        self.version = tensor._vbox[0]


class _Handle:
    """RemovableHandle: ``handle.remove()`` drops the hook."""

    _next_id = 0

    def __init__(self, hooks: dict):
        self.hooks_ref = weakref.ref(hooks) if not isinstance(hooks, dict) else hooks
        _Handle._next_id += 1
        self.id = _Handle._next_id

    def remove(self) -> None:
        hooks = self.hooks_ref
        if hooks is not None:
            hooks.pop(self.id, None)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.remove()


RemovableHandle = _Handle


def _add_hook(hooks: dict, fn) -> _Handle:
    handle = _Handle(hooks)
    hooks[handle.id] = fn
    return handle


def _first(result):
    if result is None:
        return None
    return result[0] if isinstance(result, (tuple, list)) else result


class AccumulateGrad(Node):
    """The node behind a leaf tensor: adds the incoming gradient into ``variable.grad``."""

    def __init__(self, variable):
        self.variable = variable

    def apply(self, grad):
        raise RuntimeError("AccumulateGrad is run by the engine")

    def _accumulate(self, grad, create_graph: bool, owned: bool) -> None:
        var = self.variable
        hooks = var._hooks
        if hooks:
            for hook in list(hooks.values()):
                result = hook(grad)
                if result is not None:
                    grad = result
                    owned = False
        old = var._grad
        if old is None:
            if create_graph:
                var._grad = grad
            else:
                data = grad._data
                if not owned or not data.flags.writeable or data.base is not None:
                    data = data.copy()
                var._grad = _wrap(data)
        elif create_graph or _GradState.enabled:
            var._grad = old + grad
        else:
            old_data = old._data
            if old_data.shape == grad._data.shape and old_data.flags.writeable:
                old_data += grad._data
                old._vbox[0] += 1
            else:
                var._grad = _wrap(old_data + grad._data)
        posts = var._post_accumulate_hooks
        if posts:
            for hook in list(posts.values()):
                hook(var)


def grad_accumulator(tensor) -> AccumulateGrad:
    """The leaf's AccumulateGrad node; the tensor holds it weakly, the graph strongly."""
    ref = tensor._accum
    node = ref() if ref is not None else None
    if node is None:
        node = AccumulateGrad(tensor)
        tensor._accum = weakref.ref(node)
    return node


def edge(tensor):
    """The node a gradient for ``tensor`` flows into, or None when it needs none."""
    fn = tensor._grad_fn
    if fn is not None:
        return fn
    if tensor._requires_grad:
        return grad_accumulator(tensor)
    return None


# ------------------------------------------------------------------------------------------
# The engine
# ------------------------------------------------------------------------------------------

class _Anomaly:
    enabled = False
    check_nan = True


def _topological_order(roots):
    """Nodes reachable from ``roots``, each before every node it feeds (reverse post-order).

    Iterative, so deep graphs (long RNN unrolls) do not hit the recursion limit.
    """
    order = []
    seen = set()
    for root in roots:
        if root in seen:
            continue
        seen.add(root)
        stack = [(root, iter(root._next))]
        while stack:
            node, children = stack[-1]
            for child in children:
                if child is not None and child not in seen:
                    seen.add(child)
                    stack.append((child, iter(child._next)))
                    break
            else:
                stack.pop()
                order.append(node)
    order.reverse()
    return order


def run_backward(outputs, grad_outputs, retain_graph: bool, create_graph: bool,
                 inputs=None, accumulate: bool = True):
    """Propagate ``grad_outputs`` from ``outputs`` through the graph.

    With ``accumulate`` the leaves' ``.grad`` are updated (``Tensor.backward``); without it
    the gradients w.r.t. ``inputs`` are returned instead (``autograd.grad``).
    """
    buffers = {}
    roots = []
    user_arrays = set()
    for i, (out, grad) in enumerate(zip(outputs, grad_outputs)):
        node = edge(out)
        if node is None:
            raise RuntimeError(f"element {i} of tensors does not require grad and does not have a grad_fn")
        roots.append(node)
        user_arrays.add(id(grad._data))
        prev = buffers.get(node)
        buffers[node] = grad if prev is None else prev + grad

    targets = None
    if inputs is not None:
        targets = {}
        for i, t in enumerate(inputs):
            node = t._grad_fn if t._grad_fn is not None else (grad_accumulator(t) if t._requires_grad else None)
            if node is None:
                if accumulate:
                    raise RuntimeError("One of the differentiated Tensors does not require grad")
                raise RuntimeError("One of the differentiated Tensors does not require grad")
            targets.setdefault(node, []).append(i)

    order = _topological_order(roots)
    if targets is not None:
        needed = set()
        for node in reversed(order):
            if node in targets or any(c in needed for c in node._next if c is not None):
                needed.add(node)
    else:
        needed = None

    captured = [None] * len(inputs) if (inputs is not None and not accumulate) else None
    handed = set()
    owned = set()  # ids of buffer tensors this engine created by summing (safe to add into)
    pop = buffers.pop
    get = buffers.get
    anomaly = _Anomaly.enabled
    prev_mode = _GradState.enabled
    _GradState.enabled = create_graph
    try:
        for node in order:
            grad = pop(node, None)
            if grad is None:
                if not retain_graph:
                    node._release()
                continue
            if needed is not None and node not in needed:
                continue
            if node._pre_hooks is not None or node._retain is not None:
                grad = _pre_hooks_and_retain(node, grad, create_graph)
            if targets is not None and captured is not None and node in targets:
                for i in targets[node]:
                    captured[i] = grad
            if node.__class__ is AccumulateGrad:
                if captured is None and (targets is None or node in targets):
                    gid = id(grad._data)
                    node._accumulate(grad, create_graph, gid not in handed and gid not in user_arrays)
                    handed.add(gid)
                continue
            nxt = node._next
            if needed is not None and not any(c in needed for c in nxt if c is not None):
                continue
            grads = node.apply(grad)
            if node._post_hooks:
                for hook in list(node._post_hooks.values()):
                    result = hook(grads, (grad,))
                    if result is not None:
                        grads = tuple(result)
            if anomaly:
                _check_anomaly(node, grads)
            if not retain_graph:
                node._release()
            for child, g in zip(nxt, grads):
                if child is None or g is None:
                    continue
                prev = get(child)
                if prev is None:
                    buffers[child] = g
                elif create_graph:
                    buffers[child] = prev + g
                elif id(prev) in owned:
                    # a sum this engine made earlier: accumulate in place, no new array
                    np.add(prev._data, g._data, out=prev._data, casting="unsafe")
                else:
                    total = _wrap(prev._data + g._data)
                    owned.add(id(total))
                    buffers[child] = total
    finally:
        _GradState.enabled = prev_mode
    return captured


def _pre_hooks_and_retain(node, grad, create_graph):
    pre = node._pre_hooks
    if pre:
        for hook in list(pre.values()):
            result = hook(grad)
            if result is not None:
                grad = result
    if node._retain is not None:
        _retain(node, grad, create_graph)
    return grad


def _retain(node, grad, create_graph):
    tensor = node._retain()
    if tensor is None:
        return
    data = grad if create_graph else _wrap(grad._data.copy())
    if tensor._grad is None:
        tensor._grad = data
    else:
        tensor._grad = tensor._grad + data


def _check_anomaly(node, grads):
    from .._backend import array_module
    for i, g in enumerate(grads):
        if g is None:
            continue
        xp = array_module(g._data)
        if g._data.dtype.kind in "fc" and bool(xp.isnan(g._data).any()):
            if node._trace:
                warnings.warn(
                    "Error detected in " + node.name() + ". Traceback of forward call that caused the error:\n"
                    + "".join(node._trace), RuntimeWarning, stacklevel=2)
            raise RuntimeError(f"Function '{node.name()}' returned nan values in its {i}th output.")


def record_trace(node) -> None:
    """Anomaly mode: remember where the forward op was called."""
    node._trace = traceback.format_stack()[:-2]


# Set by ember._tensor (the graph module loads first).
_wrap = None
_make_output = None
