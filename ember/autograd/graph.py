"""The autograd graph and the backward engine.

A ``Node`` is what ``tensor.grad_fn`` holds: it knows the next nodes (one per
differentiable input, ``None`` where no gradient is needed) and turns the
gradient of its single output into gradients for its inputs. Leaves that
require grad are reached through an ``AccumulateGrad`` node, which adds into
``tensor.grad``. An op with several differentiable outputs gives each output an
``OutputSlot`` that packs its gradient for the shared node.

Backward rules are written with ember ops on Tensors, so running the engine in
grad mode (``create_graph=True``) records a graph of the backward pass for
higher-order gradients; otherwise those ops take their no-graph fast path.
"""
from __future__ import annotations

import os
import re
import traceback
import warnings
import weakref

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
    _foreign_grads = False  # True for user-written backward (custom Functions)

    # -- introspection, as on PyTorch's grad_fn objects -------------------------------
    def name(self) -> str:
        name = type(self).__name__
        # NOTE: nodes that are C++ classes in PyTorch carry their namespace in name() (not in repr)
        return "ember::autograd::" + name if name in _NAMESPACED_NODES else name

    @property
    def next_functions(self):
        return tuple(_edge_pair(n) for n in self._next)

    @property
    def metadata(self) -> dict:
        if "_metadata" not in self.__dict__:
            self._metadata = {}
        return self._metadata

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
            _raise_modified_output(out, self)
        return _make_output(out, self)

    def _release(self) -> None:
        """Free what was saved for backward (after a backward without ``retain_graph``)."""
        if self._saved:
            self._saved = None
        if self._out is not None:
            self._out = None


_NAMESPACED_NODES = frozenset({"AccumulateGrad", "CopySlices", "NotImplemented"})

_FREED_MESSAGE = (
    "Trying to backward through the graph a second time (or directly access saved tensors after "
    "they have already been freed). Saved intermediate values of the graph are freed when you call "
    ".backward() or autograd.grad(). Specify retain_graph=True if you need to backward through the "
    "graph a second time or if you need to access saved tensors after calling backward.")


def _short_name(node) -> str:
    """PyTorch names the producing op without its 'Backward' suffix in this message (``Mul``, ``Sum1``)."""
    return re.sub(r"Backward0?", "", node.name())


def _modified_message(description: str, current: int, expected: int) -> str:
    if _Anomaly.enabled:
        hint = ("Hint: the backtrace further above shows the operation that failed to compute its gradient. "
                "The variable in question was changed in there or anywhere later. Good luck!")
    else:
        hint = ("Hint: enable anomaly detection to find the operation that failed to compute its gradient, "
                "with ember.autograd.set_detect_anomaly(True, check_nan=False).")
    return ("one of the variables needed for gradient computation has been modified by an inplace operation: "
            f"{description} is at version {current}; expected version {expected} instead. {hint}")


def _describe(data, type_name: str, producer, output_nr: int = 0) -> str:
    shape = ", ".join(str(s) for s in data.shape)
    text = f"[{type_name} [{shape}]]"
    if producer is not None:
        text += f", which is output {output_nr} of {_short_name(producer)},"
    return text


def _raise_modified(t, expected_version):
    from .._tensor import legacy_type_name
    fn = t._grad_fn
    output_nr = fn._index if isinstance(fn, OutputSlot) else 0
    raise RuntimeError(_modified_message(_describe(t._data, legacy_type_name(t), fn, output_nr),
                                         t._vbox[0], expected_version))


def _raise_modified_output(out, node):
    from .._tensor import _wrap, legacy_type_name
    raise RuntimeError(_modified_message(_describe(out.data, legacy_type_name(_wrap(out.data)), node),
                                         out.vbox[0], out.version))


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


class RemovableHandle:
    """What ``register_hook`` returns: ``handle.remove()`` drops the hook."""

    _next_id = 0

    def __init__(self, hooks: dict):
        self.hooks_ref = hooks
        RemovableHandle._next_id += 1
        self.id = RemovableHandle._next_id

    def remove(self) -> None:
        self.hooks_ref.pop(self.id, None)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.remove()


_Handle = RemovableHandle


def _add_hook(hooks: dict, fn) -> RemovableHandle:
    handle = RemovableHandle(hooks)
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
        """Tensor hooks see the incoming gradient first; then add it into ``.grad`` (in place when safe)."""
        var = self.variable
        hooks = var._hooks
        if hooks:
            for hook in list(hooks.values()):
                result = hook(grad)
                if result is not None:
                    grad = _checked_hook_result(hook, grad, result)
                    owned = False
        old = var._grad
        if old is None:
            if create_graph:
                var._grad = grad
            else:
                data = grad._data
                # NOTE: the engine may only hand over an array nobody else holds
                if not owned or not data.flags.writeable:
                    data = data.copy()
                var._grad = _wrap(data)
        elif create_graph or _GradState.enabled:
            var._grad = old + grad
        else:
            old_data = old._data
            if old_data.shape == grad._data.shape and old_data.flags.writeable and old._grad_fn is None:
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
# Nodes with several outputs
# ------------------------------------------------------------------------------------------

class OutputSlot(Node):
    """Output ``index`` of a node with several outputs; the output tensor's ``_grad_fn``.

    The engine runs one-output nodes, so each output's gradient goes through its slot,
    which packs it into a ``PackedGrad``; the packs of all outputs sum in the shared
    node's buffer and the shared node runs once. ``tensor.grad_fn`` shows the shared
    node and ``next_functions`` lists ``(shared node, index)``, as in PyTorch.
    """

    def __init__(self, node, index: int, n_outputs: int):
        self._node = node
        self._index = index
        self._n = n_outputs
        self._next = (node,)

    def name(self) -> str:
        return self._node.name()

    def apply(self, grad):
        return (PackedGrad.single(self._index, grad, self._n),)


class PackedGrad:
    """The gradients of all outputs of a multi-output node (None where an output got none)."""

    __slots__ = ("grads",)

    def __init__(self, grads):
        self.grads = grads

    @classmethod
    def single(cls, index: int, grad, n: int) -> "PackedGrad":
        grads = [None] * n
        grads[index] = grad
        return cls(grads)

    def __add__(self, other: "PackedGrad") -> "PackedGrad":
        return PackedGrad([a if b is None else b if a is None else a + b
                           for a, b in zip(self.grads, other.grads)])


def public_node(node):
    """What ``tensor.grad_fn`` shows for a tensor whose ``_grad_fn`` is ``node``."""
    return node._node if type(node) is OutputSlot else node


def _edge_pair(node):
    if type(node) is OutputSlot:
        return (node._node, node._index)
    return (node, 0)


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


def _target_nodes(inputs, accumulate: bool) -> dict:
    """{node: [input positions]} for the tensors whose gradients are wanted."""
    targets = {}
    for i, t in enumerate(inputs):
        node = edge(t)
        if node is None:
            if accumulate:  # PyTorch: backward(inputs=...) retains grads, and fails the same way
                raise RuntimeError("can't retain_grad on Tensor that has requires_grad=False")
            raise RuntimeError("One of the differentiated Tensors does not require grad")
        targets.setdefault(node, []).append(i)
    return targets


def _needed_nodes(order, targets) -> set:
    """Nodes on a path to a target: only those run when specific inputs are asked for."""
    needed = set()
    for node in reversed(order):
        if node in targets or any(c in needed for c in node._next if c is not None):
            needed.add(node)
    return needed


def run_backward(outputs, grad_outputs, retain_graph: bool, create_graph: bool,
                 inputs=None, accumulate: bool = True):
    """Propagate ``grad_outputs`` from ``outputs`` through the graph.

    With ``accumulate`` the leaves' ``.grad`` are updated (``Tensor.backward``); without it
    the gradients w.r.t. ``inputs`` are returned instead (``autograd.grad``).
    """
    global _Tensor
    if _Tensor is None:
        from .._tensor import Tensor as _Tensor
    buffers = {}
    roots = []
    user_arrays = set()   # arrays the caller passed in: never handed to a .grad
    for i, (out, grad) in enumerate(zip(outputs, grad_outputs)):
        node = edge(out)
        if node is None:
            raise RuntimeError(f"element {i} of tensors does not require grad and does not have a grad_fn")
        roots.append(node)
        user_arrays.add(id(_root_array(grad._data)))
        prev = buffers.get(node)
        buffers[node] = grad if prev is None else prev + grad

    targets = _target_nodes(inputs, accumulate) if inputs is not None else None
    order = _topological_order(roots)
    needed = _needed_nodes(order, targets) if targets is not None else None
    captured = [None] * len(inputs) if (inputs is not None and not accumulate) else None

    prev_mode = _GradState.enabled
    _GradState.enabled = create_graph
    try:
        _execute(order, buffers, retain_graph, create_graph, targets, needed, captured, user_arrays)
    finally:
        _GradState.enabled = prev_mode
    return captured


def _execute(order, buffers, retain_graph, create_graph, targets, needed, captured, user_arrays):
    """Run every node that received a gradient, in topological order."""
    handed = set()        # arrays already given to some leaf's .grad
    summed = set()        # nodes whose buffer is an array this engine allocated (safe to add into)
    anomaly = _Anomaly.enabled
    pop = buffers.pop
    get = buffers.get
    for node in order:
        grad = pop(node, None)
        if grad is None:
            continue
        if needed is not None and node not in needed:
            continue
        if node._pre_hooks is not None or node._retain is not None:
            grad = _run_pre_hooks(node, grad, create_graph)
        is_accum = type(node) is AccumulateGrad
        if targets is not None and node in targets:
            if captured is not None:
                for i in targets[node]:
                    captured[i] = grad
                if is_accum:
                    continue
        if is_accum:
            if targets is None or node in targets:
                # A leaf may keep the array itself (no copy) unless its memory is shared: with another
                # leaf's .grad, with a gradient the caller passed in, or with a custom Function's data.
                root = _root_array(grad._data)
                owned = id(root) not in handed and id(root) not in user_arrays
                handed.add(id(root))
                node._accumulate(grad, create_graph, owned)
            continue
        if needed is not None and not any(c in needed for c in node._next if c is not None):
            continue
        grads = _apply_with_anomaly(node, grad) if anomaly else node.apply(grad)
        if node._foreign_grads:  # a user's backward may return arrays it also keeps elsewhere
            user_arrays.update(id(_root_array(g._data)) for g in grads if g is not None and hasattr(g, "_data"))
        if node._post_hooks:
            grads = _run_post_hooks(node, grads, grad)
        if not retain_graph:
            node._release()
        for child, g in zip(node._next, grads):
            if child is None or g is None:
                continue
            prev = get(child)
            if prev is None:
                buffers[child] = g
            elif create_graph or type(g) is not _Tensor:
                buffers[child] = prev + g
            elif child in summed:
                prev._data += g._data
            else:
                # Several gradients meet here (reused tensor): sum the arrays directly,
                # skipping the op machinery; later arrivals add in place.
                pd, gd = prev._data, g._data
                if pd.shape == gd.shape and pd.dtype == gd.dtype:
                    buffers[child] = _wrap(pd + gd)
                    summed.add(child)
                else:
                    buffers[child] = prev + g


def _root_array(arr):
    """The array that owns ``arr``'s memory (``arr`` itself unless it is a view)."""
    base = arr.base
    while base is not None:
        arr, base = base, base.base
    return arr


def _run_pre_hooks(node, grad, create_graph):
    """Tensor hooks of a non-leaf, then its retained grad (so .grad sees the hooks' result)."""
    pre = node._pre_hooks
    if pre:
        for hook in list(pre.values()):
            result = hook(grad)
            if result is not None:
                grad = _checked_hook_result(hook, grad, result)
    if node._retain is not None:
        _retain(node, grad, create_graph)
    return grad


def _checked_hook_result(hook, grad, result):
    """A tensor hook may replace the gradient, but not with another type, dtype or shape (PyTorch's checks)."""
    if not isinstance(result, _Tensor):
        raise TypeError(f"expected Variable, but hook returned '{type(result).__name__}'")
    name = getattr(hook, "__name__", "<unknown>")
    if result._data.dtype != grad._data.dtype:
        from .._tensor import legacy_type_name
        raise RuntimeError(f"hook '{name}' has changed the type of value (was {legacy_type_name(grad)} got "
                           f"{legacy_type_name(result)})")
    if result._data.shape != grad._data.shape:
        raise RuntimeError(f"hook '{name}' has changed the size of value")
    return result


def _run_post_hooks(node, grads, grad):
    for hook in list(node._post_hooks.values()):
        result = hook(grads, (grad,))
        if result is not None:
            grads = tuple(result)
    return grads


def _retain(node, grad, create_graph):
    tensor = node._retain()
    if tensor is None:
        return
    data = grad if create_graph else _wrap(grad._data.copy())
    if tensor._grad is None:
        tensor._grad = data
    else:
        tensor._grad = tensor._grad + data


# ------------------------------------------------------------------------------------------
# Anomaly mode
# ------------------------------------------------------------------------------------------

def _apply_with_anomaly(node, grad):
    """Run ``node`` and, on failure or a NaN gradient, show where its forward op was called."""
    try:
        grads = node.apply(grad)
    except Exception:
        _warn_forward_trace(node)
        raise
    if _Anomaly.check_nan:
        _check_nan(node, grads)
    return grads


def _check_nan(node, grads):
    from .._backend import array_module
    for i, g in enumerate(grads):
        if type(g) is not _Tensor:
            continue
        data = g._data
        if data.dtype.kind in "fc" and bool(array_module(data).isnan(data).any()):
            _warn_forward_trace(node)
            raise RuntimeError(f"Function '{node.name()}' returned nan values in its {i}th output.")


def _warn_forward_trace(node):
    if node._trace:
        warnings.warn(f"Error detected in {node.name()}. Traceback of forward call that caused the error:\n"
                      + "".join(node._trace), UserWarning, stacklevel=4)


_PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def record_trace(node) -> None:
    """Anomaly mode: remember where the forward op was called (user frames, as PyTorch shows)."""
    frames = traceback.extract_stack()
    while frames and os.path.abspath(frames[-1].filename).startswith(_PACKAGE_DIR + os.sep):
        frames.pop()
    node._trace = traceback.format_list(frames)


# Set by ember._tensor (the graph module loads first).
_wrap = None
_make_output = None
_Tensor = None  # ember.Tensor, looked up on the first backward
