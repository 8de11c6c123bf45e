"""``Optimizer``: the base class holding param groups and per-parameter state (``torch.optim.Optimizer``).

An optimizer keeps references to the very Parameter objects it was given (never copies)
and updates their storage in place, so the model sees every step. Subclasses write their
math once, on flat arrays that span many parameters: the per-parameter state tensors are
views into flat buffers the optimizer owns (``_FlatLayout``), each step gathers the
gradients into one flat array, and the result goes back with one in-place call per
parameter. The math runs over the buffers a cache-sized chunk at a time.
"""
from __future__ import annotations

import functools
from collections import OrderedDict, defaultdict
from copy import deepcopy
from itertools import chain
from operator import is_
from typing import Any, Callable, Iterator

from .. import _dtype as D
from .._backend import array_module, is_cuda_array, module_for_device
from .._tensor import Tensor, _wrap
from ..autograd.grad_mode import _GradState

__all__ = ["Optimizer", "required"]


class _RequiredParameter:
    """Marks a hyperparameter that has no default (SGD's ``lr`` in old PyTorch)."""

    def __repr__(self) -> str:
        return "<required parameter>"


required = _RequiredParameter()

_global_step_pre_hooks: "OrderedDict[int, Callable]" = OrderedDict()
_global_step_post_hooks: "OrderedDict[int, Callable]" = OrderedDict()


class _RemovableHandle:
    """``handle.remove()`` takes a registered hook out of its dict again."""

    _next_id = 0

    def __init__(self, hooks: dict):
        self._hooks = hooks
        self.id = _RemovableHandle._next_id
        _RemovableHandle._next_id += 1

    def remove(self) -> None:
        self._hooks.pop(self.id, None)

    def __enter__(self) -> "_RemovableHandle":
        return self

    def __exit__(self, *args) -> None:
        self.remove()


def _add_hook(hooks: "OrderedDict[int, Callable]", hook: Callable, prepend: bool = False) -> _RemovableHandle:
    handle = _RemovableHandle(hooks)
    hooks[handle.id] = hook
    if prepend:
        hooks.move_to_end(handle.id, last=False)
    return handle


def register_optimizer_step_pre_hook(hook: Callable) -> _RemovableHandle:
    """A hook ``hook(optimizer, args, kwargs)`` run before every optimizer's step."""
    return _add_hook(_global_step_pre_hooks, hook)


def register_optimizer_step_post_hook(hook: Callable) -> _RemovableHandle:
    """A hook ``hook(optimizer, args, kwargs)`` run after every optimizer's step."""
    return _add_hook(_global_step_post_hooks, hook)


def _step_with_hooks(step: Callable) -> Callable:
    """Wrap a subclass's ``step`` so pre/post hooks run around it, as PyTorch's patched step does."""

    @functools.wraps(step)
    def wrapper(self, *args, **kwargs):
        for hook in chain(_global_step_pre_hooks.values(), self._optimizer_step_pre_hooks.values()):
            result = hook(self, args, kwargs)
            if result is not None:
                if not (isinstance(result, tuple) and len(result) == 2):
                    raise RuntimeError(f"{hook} must return None or a tuple of (new_args, new_kwargs), "
                                       f"but got {result}.")
                args, kwargs = result
        out = step(self, *args, **kwargs)
        self._opt_called = True
        for hook in chain(self._optimizer_step_post_hooks.values(), _global_step_post_hooks.values()):
            hook(self, args, kwargs)
        return out

    wrapper._hooked = True
    return wrapper


def _typename(obj) -> str:
    """``torch.typename``: 'ember.FloatTensor' for a float32 tensor, else the qualified class name."""
    if isinstance(obj, Tensor):
        return obj.type()
    module = type(obj).__module__
    name = type(obj).__qualname__
    return name if module in ("builtins", "__builtin__", None) else f"{module}.{name}"


class _NoGrad:
    """Grad mode off for the duration of an update (cheaper than the public context manager)."""

    __slots__ = ("prev",)

    def __enter__(self):
        self.prev = _GradState.enabled
        _GradState.enabled = False

    def __exit__(self, *args):
        _GradState.enabled = self.prev


class Optimizer:
    """Base class of all optimizers (``torch.optim.Optimizer``).

    Args:
        params: an iterable of Tensors, of ``(name, Tensor)`` pairs, or of dicts (param groups).
        defaults: hyperparameter defaults filled into every group that does not set them.
    """

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        step = cls.__dict__.get("step")
        if step is not None and not getattr(step, "_hooked", False):
            cls.step = _step_with_hooks(step)

    def __init__(self, params, defaults: dict[str, Any]) -> None:
        self.defaults = defaults
        self._optimizer_step_pre_hooks: OrderedDict = OrderedDict()
        self._optimizer_step_post_hooks: OrderedDict = OrderedDict()
        self._optimizer_state_dict_pre_hooks: OrderedDict = OrderedDict()
        self._optimizer_state_dict_post_hooks: OrderedDict = OrderedDict()
        self._optimizer_load_state_dict_pre_hooks: OrderedDict = OrderedDict()
        self._optimizer_load_state_dict_post_hooks: OrderedDict = OrderedDict()
        if isinstance(params, Tensor):
            raise TypeError("params argument given to the optimizer should be an iterable of Tensors or dicts, "
                            "but got " + _typename(params))
        self.state: defaultdict = defaultdict(dict)
        self.param_groups: list[dict[str, Any]] = []
        param_groups = list(params)
        if len(param_groups) == 0:
            raise ValueError("optimizer got an empty parameter list")
        if not isinstance(param_groups[0], dict):
            param_groups = [{"params": param_groups}]
        for param_group in param_groups:
            self.add_param_group(param_group)

    # -- pickling / printing -----------------------------------------------------------------
    def __getstate__(self) -> dict[str, Any]:
        return {"defaults": self.defaults, "state": self.state, "param_groups": self.param_groups}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        for name in ("_optimizer_step_pre_hooks", "_optimizer_step_post_hooks",
                     "_optimizer_state_dict_pre_hooks", "_optimizer_state_dict_post_hooks",
                     "_optimizer_load_state_dict_pre_hooks", "_optimizer_load_state_dict_post_hooks"):
            if name not in self.__dict__:
                setattr(self, name, OrderedDict())
        self.defaults.setdefault("differentiable", False)

    def __repr__(self) -> str:
        text = self.__class__.__name__ + " ("
        for i, group in enumerate(self.param_groups):
            text += "\n" + f"Parameter Group {i}"
            for key in sorted(group.keys()):
                if key != "params":
                    text += "\n" + f"    {key}: {group[key]}"
        return text + "\n)"

    # -- param groups ------------------------------------------------------------------------
    def add_param_group(self, param_group: dict[str, Any]) -> None:
        """Add a group of parameters with its own hyperparameters (``Optimizer.add_param_group``)."""
        if not isinstance(param_group, dict):
            raise TypeError(f"param_group must be a dict, but got {type(param_group)}")
        params = param_group["params"]
        if isinstance(params, Tensor):
            param_group["params"] = [params]
        elif isinstance(params, set):
            raise TypeError("optimizer parameters need to be organized in ordered collections, but the ordering "
                            "of tensors in sets will change between runs. Please use a list instead.")
        else:
            param_group["params"] = list(params)

        tensors, names = [], []
        for param in param_group["params"]:
            if isinstance(param, tuple):
                names.append(param[0])
                tensors.append(param[1])
            else:
                tensors.append(param)
        param_group["params"] = tensors
        if names:
            if len(names) != len(tensors):
                raise ValueError("all optimizer params should be with/without names. Some param names are missing")
            param_group["param_names"] = names

        for param in param_group["params"]:
            if not isinstance(param, Tensor):
                raise TypeError("optimizer can only optimize Tensors, but one of the params is " + _typename(param))
            if not self.defaults.get("differentiable", None) and not (param.is_leaf or param.retains_grad):
                raise ValueError("can't optimize a non-leaf Tensor")

        for name, default in self.defaults.items():
            if default is required and name not in param_group:
                raise ValueError(f"parameter group didn't specify a value of required optimization parameter {name}")
            param_group.setdefault(name, default)

        params = param_group["params"]
        if len(params) != len({id(p) for p in params}):
            import warnings
            warnings.warn("optimizer contains a parameter group with duplicate parameters; in future, this will "
                          "cause an error; see github.com/pytorch/pytorch/issues/40967 for more information",
                          stacklevel=3)

        # NOTE: membership by identity (Tensor.__eq__ is elementwise, __hash__ is id).
        seen: set[int] = set()
        for group in self.param_groups:
            seen.update(id(p) for p in group["params"])
            if ("param_names" in param_group) != ("param_names" in group):
                which = "with names" if "param_names" in param_group else "without names"
                raise ValueError("all optimizer param groups should be with/without names. "
                                 f"cannot add param group {which} to the optimizer")
        if any(id(p) in seen for p in params):
            raise ValueError("some parameters appear in more than one parameter group")
        self.param_groups.append(param_group)

    # -- gradients ---------------------------------------------------------------------------
    def zero_grad(self, set_to_none: bool = True) -> None:
        """Reset the gradients of all optimized tensors: drop them, or zero them in place."""
        for group in self.param_groups:
            for p in group["params"]:
                grad = p._grad
                if grad is None:
                    continue
                if set_to_none:
                    p._grad = None
                else:
                    if grad._grad_fn is not None:
                        grad.detach_()
                    else:
                        grad.requires_grad_(False)
                    grad._data[...] = 0
                    grad._vbox[0] += 1

    def step(self, closure: Callable | None = None):
        """One update of every parameter that has a gradient, in place; returns the closure's loss.

        Optimizers implement ``_update_batch(group, batch)`` (the math on one ``_FlatBatch``) with
        ``_scalar_state`` / ``_array_state`` naming their state, or override ``step`` itself (LBFGS).
        """
        for group in self.param_groups:
            if group.get("differentiable", False):
                # NOTE: refused rather than run under no_grad, which would silently drop the graph
                # through the update that differentiable=True asks for.
                raise NotImplementedError(f"{type(self).__name__}(differentiable=True) is not supported by ember: "
                                          "the update is not recorded by autograd")
        loss = self._evaluate_closure(closure)
        with self._no_grad():
            for group in self.param_groups:
                hyperparameters = _float_hyperparameters(group)
                for batch in self._flat_batches(group):
                    self._update_batch(hyperparameters, batch)
                    batch.finish_step()
        return loss

    # Per-parameter 0-d state and its initial value ({"step": 0.0} for most optimizers).
    _scalar_state: dict[str, float] = {}

    def _array_state(self, group: dict) -> dict[str, float]:
        """The state arrays (shaped like the parameter) this group's update needs, and their fill value."""
        return {}

    def _update_batch(self, group: dict, batch: "_FlatBatch") -> None:
        raise NotImplementedError(f"{type(self).__name__} must implement step() or _update_batch()")

    def _flat_batches(self, group: dict) -> Iterator["_FlatBatch"]:
        """The group's parameters that have a gradient, as flat batches; the layout is rebuilt when
        those parameters, their dtype/device/shape, or the state tensors changed since the last step."""
        params = [p for p in group["params"] if p._grad is not None]
        if len(set(map(id, params))) == len(params):
            yield from self._flat_layout(group, 0, params).batches
            return
        # NOTE: a parameter listed twice (deprecated, warned about) is updated twice, one after the
        # other, as PyTorch does: each repeat gets its own layout, built once the one before has run.
        seen: dict[int, int] = {}
        levels: list[list[Tensor]] = []
        for p in params:
            level = seen[id(p)] = seen.get(id(p), -1) + 1
            if level == len(levels):
                levels.append([])
            levels[level].append(p)
        for level, level_params in enumerate(levels):
            yield from self._flat_layout(group, level, level_params).batches

    def _flat_layout(self, group: dict, level: int, params: list[Tensor]) -> "_FlatLayout":
        layouts = self.__dict__.setdefault("_flat_layouts", {})
        key = (id(group), level)
        layout = layouts.get(key)
        if layout is not None and layout.is_current(self.state, params, tuple(self._array_state(group))):
            return layout
        new_layout = layouts[key] = _FlatLayout(self, group, params)
        if layout is not None:
            layout.release()
        # Groups replaced by load_state_dict: their layouts go (their state tensors are no longer ours).
        current = {id(g) for g in self.param_groups}
        for stale in [k for k in layouts if k[0] not in current]:
            del layouts[stale]
        return new_layout

    def _evaluate_closure(self, closure: Callable | None):
        """Call the closure with grad mode on (PyTorch's step does ``with torch.enable_grad()``)."""
        if closure is None:
            return None
        prev = _GradState.enabled
        _GradState.enabled = True
        try:
            return closure()
        finally:
            _GradState.enabled = prev

    _no_grad = _NoGrad

    @staticmethod
    def _new_step(value: float = 0.0) -> Tensor:
        """The ``step`` counter: a 0-d CPU tensor of the default float dtype, as in PyTorch."""
        return _wrap(module_for_device("cpu").array(value, dtype=D.get_default_dtype().np))

    @staticmethod
    def _zeros_like(p: Tensor, fill: float = 0.0) -> Tensor:
        xp = array_module(p._data)
        return _wrap(xp.full(p._data.shape, fill, dtype=p._data.dtype))

    # -- state dict --------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        """``{'state': {index: {...}}, 'param_groups': [{..., 'params': [indices]}]}`` as PyTorch lays it out."""
        for hook in self._optimizer_state_dict_pre_hooks.values():
            hook(self)
        mapping: dict[int, int] = {}
        start = 0

        def pack_group(group: dict[str, Any]) -> dict[str, Any]:
            nonlocal start
            packed = {k: v for k, v in group.items() if k != "params"}
            mapping.update({id(p): i for i, p in enumerate(group["params"], start) if id(p) not in mapping})
            packed["params"] = [mapping[id(p)] for p in group["params"]]
            start += len(packed["params"])
            return packed

        param_groups = [pack_group(g) for g in self.param_groups]
        packed_state = {(mapping[id(k)] if isinstance(k, Tensor) else k): v for k, v in self.state.items()}
        result = {"state": packed_state, "param_groups": param_groups}
        for hook in self._optimizer_state_dict_post_hooks.values():
            hook_result = hook(self, result)
            if hook_result is not None:
                result = hook_result
        return result

    @staticmethod
    def _cast_state_value(param: Tensor, value, key, fused_or_capturable: bool):
        """A loaded state tensor on the param's device; floats take the param's dtype except ``step``."""
        if isinstance(value, Tensor):
            if key == "step":
                return value.to(dtype=D.float32, device=param.device) if fused_or_capturable else value
            if param.is_floating_point():
                return value.to(dtype=param.dtype, device=param.device)
            return value.to(device=param.device)
        if isinstance(value, dict):
            return {k: Optimizer._cast_state_value(param, v, k, fused_or_capturable) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return type(value)(Optimizer._cast_state_value(param, v, None, fused_or_capturable) for v in value)
        return value

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Load a ``state_dict()`` (PyTorch's layout and checks); state tensors are cast to each param."""
        state_dict = state_dict.copy()
        for hook in self._optimizer_load_state_dict_pre_hooks.values():
            hook_result = hook(self, state_dict)
            if hook_result is not None:
                state_dict = hook_result
        groups = self.param_groups
        saved_groups = deepcopy(state_dict["param_groups"])
        if len(groups) != len(saved_groups):
            raise ValueError("loaded state dict has a different number of parameter groups")
        if any(len(g["params"]) != len(s["params"]) for g, s in zip(groups, saved_groups)):
            raise ValueError("loaded state dict contains a parameter group that doesn't match the size of "
                             "optimizer's group")
        id_map = dict(zip(chain.from_iterable(g["params"] for g in saved_groups),
                          chain.from_iterable(g["params"] for g in groups)))
        flags = {}
        for g in state_dict["param_groups"]:
            for index in g["params"]:
                flags[index] = bool(g.get("fused", False) or g.get("capturable", False))

        state: defaultdict = defaultdict(dict)
        for key, value in state_dict["state"].items():
            if key in id_map:
                param = id_map[key]
                state[param] = self._cast_state_value(param, value, None, flags.get(key, False))
            else:
                state[key] = value

        param_groups = []
        for group, new_group in zip(groups, saved_groups):
            new_group["params"] = group["params"]
            if "param_names" in group and "param_names" not in new_group:
                new_group["param_names"] = group["param_names"]
            param_groups.append(new_group)
        self.__setstate__({"state": state, "param_groups": param_groups})
        for hook in self._optimizer_load_state_dict_post_hooks.values():
            hook(self)

    # -- hooks -------------------------------------------------------------------------------
    def register_step_pre_hook(self, hook: Callable) -> _RemovableHandle:
        """``hook(optimizer, args, kwargs)`` before each step; may return new ``(args, kwargs)``."""
        return _add_hook(self._optimizer_step_pre_hooks, hook)

    def register_step_post_hook(self, hook: Callable) -> _RemovableHandle:
        """``hook(optimizer, args, kwargs)`` after each step."""
        return _add_hook(self._optimizer_step_post_hooks, hook)

    def register_state_dict_pre_hook(self, hook: Callable, prepend: bool = False) -> _RemovableHandle:
        return _add_hook(self._optimizer_state_dict_pre_hooks, hook, prepend)

    def register_state_dict_post_hook(self, hook: Callable, prepend: bool = False) -> _RemovableHandle:
        return _add_hook(self._optimizer_state_dict_post_hooks, hook, prepend)

    def register_load_state_dict_pre_hook(self, hook: Callable, prepend: bool = False) -> _RemovableHandle:
        return _add_hook(self._optimizer_load_state_dict_pre_hooks, hook, prepend)

    def register_load_state_dict_post_hook(self, hook: Callable, prepend: bool = False) -> _RemovableHandle:
        return _add_hook(self._optimizer_load_state_dict_post_hooks, hook, prepend)


def _check_lr(lr) -> None:
    """PyTorch's learning-rate checks: a Tensor lr holds one element, and no lr is negative."""
    if isinstance(lr, Tensor) and lr.numel() != 1:
        raise ValueError("Tensor lr must be 1-element")
    if not 0.0 <= lr:
        raise ValueError(f"Invalid learning rate: {lr}")


def _has_tensor(value) -> bool:
    return isinstance(value, Tensor) or (isinstance(value, tuple) and any(isinstance(v, Tensor) for v in value))


def _as_float(value):
    if isinstance(value, Tensor):
        return float(value)
    return tuple(float(v) if isinstance(v, Tensor) else v for v in value)


def _float_hyperparameters(group: dict[str, Any]) -> dict[str, Any]:
    """The group itself, or for one update a copy whose Tensor hyperparameters (a Tensor lr or
    betas, which schedulers fill in place) are read as Python floats."""
    if not any(_has_tensor(value) for key, value in group.items() if key != "params"):
        return group
    return {key: (_as_float(value) if key != "params" and _has_tensor(value) else value)
            for key, value in group.items()}


def _lerp_(avg, target, weight: float, buf) -> None:
    """``avg.lerp_(target, weight)`` in place, with PyTorch's two-sided formula (exact at weight 0 and 1)."""
    xp = array_module(avg)
    xp.subtract(target, avg, out=buf)
    if weight < 0.5:
        buf *= weight
        avg += buf
    else:
        buf *= 1 - weight
        xp.subtract(target, buf, out=avg)


def _decay_(avg, grad, beta: float, buf) -> None:
    """``avg.mul_(beta).addcmul_(grad, grad, value=1 - beta)``: a running mean of squared gradients."""
    xp = array_module(avg)
    avg *= beta
    xp.multiply(grad, grad, out=buf)
    buf *= 1 - beta
    avg += buf


# -- flat parameter batches ------------------------------------------------------------------
# NOTE: the update is memory-bound. Run over whole flat buffers, each of its ~12 array calls streams
# every buffer through main memory; on bench's `optim` workload (Adam, 5M float32 elements, 1 thread)
# that measured ~1.3x slower than the old per-parameter loop, whose small parameters stayed in
# cache between calls. Chunks of 1 MiB per buffer keep the intermediates in cache (and beat the
# loop by ~10%); on a GPU the chunk only caps the scratch memory.
_CHUNK_BYTES = {"cpu": 1 << 20, "cuda": 1 << 26}


def _array_spec(array) -> tuple:
    """What a flat layout depends on: dtype, shape and device (the array type, numpy/cupy, and its device)."""
    return array.dtype, array.shape, type(array), getattr(array, "device", None)


class _FlatChunk:
    """A cache-sized run of a batch's flat buffers: a slice of each state buffer, the gradient (and
    parameters, on request) as one flat array, and the parameters the update goes back to: either
    whole parameters, or one piece ``lo:hi`` of a large contiguous one (``piece``)."""

    __slots__ = ("batch", "xp", "size", "params", "piece", "state", "grad", "_grad_buffer", "_params_buffer",
                 "_buffers", "_views")

    def __init__(self, batch: "_FlatBatch", start: int, stop: int, params: list[Tensor], piece=None):
        self.batch, self.xp, self.size = batch, batch.xp, stop - start
        self.params, self.piece = params, piece
        self.state = {key: flat[start:stop] for key, flat in batch.state.items()}
        self.grad = self._grad_buffer = batch.scratch("grad")[:self.size]
        self._params_buffer = None
        self._buffers: list = []
        self._views: dict = {}

    def buffer(self, slot: int):
        """Scratch for intermediate results; ``slot`` 0, 1, ... are distinct buffers."""
        while len(self._buffers) <= slot:
            self._buffers.append(self.batch.scratch(len(self._buffers))[:self.size])
        return self._buffers[slot]

    def _gather(self, arrays: list, out):
        """``arrays`` (the chunk's gradients or parameters) as one flat array: the array's own flat
        view when the chunk covers one parameter of the batch's dtype (only read), else a copy."""
        if self.piece is not None:
            lo, hi = self.piece
            flat = arrays[0].reshape(-1)[lo:hi]
        elif len(arrays) == 1:
            flat = arrays[0].reshape(-1)
        else:
            self.xp.concatenate(arrays, axis=None, out=out)
            return out
        if flat.dtype == out.dtype:
            return flat
        self.xp.copyto(out, flat)
        return out

    def gather_grads(self) -> None:
        self.grad = self._gather([p._grad._data for p in self.params], self._grad_buffer)

    def param_values(self):
        """The parameters' current values as one flat array, read-only (for L2 weight decay)."""
        if self._params_buffer is None:
            self._params_buffer = self.batch.scratch("params")[:self.size]
        return self._gather([p._data for p in self.params], self._params_buffer)

    def grad_for_update(self, maximize: bool, weight_decay: float):
        """The gradient, negated when maximizing, plus ``weight_decay * param`` (L2); read-only."""
        grad, out, xp = self.grad, self._grad_buffer, self.xp
        if weight_decay != 0:
            params = self.param_values()
            decay = self._params_buffer
            xp.multiply(params, weight_decay, out=decay)
            (xp.subtract if maximize else xp.add)(decay, grad, out=out)
            return out
        if maximize:
            xp.negative(grad, out=out)
            return out
        return grad

    def _targets(self, delta) -> list:
        """(parameter array, matching view of ``delta``) pairs. ``delta`` is one of the chunk's own
        buffers (``buffer(slot)``, a state slice, the gradient): its views are made once and kept."""
        if self.piece is not None:
            lo, hi = self.piece
            return [(self.params[0]._data.reshape(-1)[lo:hi], delta)]  # a view: split params are contiguous
        cached = self._views.get(id(delta))
        if cached is None or cached[0] is not delta:
            views, start = [], 0
            for p in self.params:
                shape = p._data.shape
                n = p._data.size
                views.append(delta[start:start + n].reshape(shape))
                start += n
            cached = self._views[id(delta)] = (delta, views)
        return list(zip([p._data for p in self.params], cached[1]))

    def add_to_params(self, delta, subtract: bool = False) -> None:
        """``param += delta`` (``-=`` with subtract) for the chunk's parameters, one call each, in place."""
        for target, piece in self._targets(delta):
            if subtract:
                target -= piece
            else:
                target += piece

    def scale_params(self, factor: float) -> None:
        """``param *= factor`` (decoupled weight decay) for the chunk's parameters, in place."""
        if self.piece is not None:
            lo, hi = self.piece
            target = self.params[0]._data.reshape(-1)[lo:hi]
            target *= factor
            return
        for p in self.params:
            target = p._data
            target *= factor


class _FlatBatch:
    """Parameters of one group that share dtype, device and the values of their scalar state
    (``step``...), so one set of scalar factors serves them all. Each array state key lives in one
    flat buffer and each parameter's state Tensor is a view into it; ``scalars`` hold the 0-d
    state the same way, one flat array per key."""

    def __init__(self, params: list[Tensor], new: bool):
        first = params[0]._data
        self.xp, self.dtype, self.params = array_module(first), first.dtype, params
        self.new = new  # no parameter had the array state before (SGD's first momentum step)
        self.sizes = [p._data.size for p in params]
        self.size = sum(self.sizes)
        self.state: dict[str, Any] = {}
        self.scalars: dict[str, Any] = {}
        self.tensors: list[Tensor] = list(params)  # everything an update changes: versions go up
        self.split: list[Tensor] = []  # parameters cut across chunks (their ravel must stay a view)
        self.chunks: list[_FlatChunk] = []
        self._chunk_size = 0
        self._scratch: dict = {}

    def views(self, flat) -> list:
        """``flat`` cut into one view per parameter, shaped like it."""
        views, start = [], 0
        for p, n in zip(self.params, self.sizes):
            views.append(flat[start:start + n].reshape(p._data.shape))
            start += n
        return views

    def plan_chunks(self, chunk_elements: int) -> None:
        """Cut the flat range into chunks of at most about ``chunk_elements``: runs of small parameters
        together, a larger one alone or in equal pieces of its own (then its gradient is read where it
        is, not copied). A non-contiguous parameter stays whole: only a contiguous one has a flat view."""
        plan, run, start, filled = [], [], 0, 0
        for p, n in zip(self.params, self.sizes):
            if n <= chunk_elements or not p._data.flags.c_contiguous:
                if run and filled + n > chunk_elements:
                    plan.append((start, start + filled, run, None))
                    run, start, filled = [], start + filled, 0
                run.append(p)
                filled += n
                continue
            if run:
                plan.append((start, start + filled, run, None))
                run, start, filled = [], start + filled, 0
            step = -(-n // -(-n // chunk_elements))  # equal pieces, none longer than a chunk
            for lo in range(0, n, step):
                hi = min(lo + step, n)
                plan.append((start + lo, start + hi, [p], (lo, hi)))
            start += n
            self.split.append(p)
        if run:
            plan.append((start, start + filled, run, None))
        self._chunk_size = max(stop - begin for begin, stop, _, _ in plan)
        self.chunks = [_FlatChunk(self, begin, stop, params, piece) for begin, stop, params, piece in plan]

    def scratch(self, name):
        """A flat buffer as long as the longest chunk, allocated once per batch."""
        buf = self._scratch.get(name)
        if buf is None:
            buf = self._scratch[name] = self.xp.empty(self._chunk_size, dtype=self.dtype)
        return buf

    def chunk_updates(self):
        """The chunks in order, each with its gradients gathered."""
        for chunk in self.chunks:
            chunk.gather_grads()
            yield chunk

    def increment(self, key: str = "step") -> float:
        """``step += 1`` for every parameter, in the counters' own dtype; returns the new value."""
        values = self.scalars[key]
        values += 1
        return float(values[0])

    def scale_scalar(self, key: str, factor: float) -> float:
        """``value *= factor`` for every parameter's 0-d state ``key``; returns the new value."""
        values = self.scalars[key]
        values *= factor
        return float(values[0])

    def scalars_uniform(self) -> bool:
        return all(values.size < 2 or values.min() == values.max() for values in self.scalars.values())

    def finish_step(self) -> None:
        self.new = False
        for t in self.tensors:
            t._vbox[0] += 1


class _FlatLayout:
    """The flat state of one param group: its parameters that have a gradient, batched by dtype,
    device and scalar state, with every state Tensor re-pointed at a view of its batch's buffers."""

    def __init__(self, optimizer: Optimizer, group: dict, params: list[Tensor]):
        state = optimizer.state
        self.group, self.state = group, state
        self.scalar_keys, self.array_fills = optimizer._scalar_state, optimizer._array_state(group)
        self.array_keys = tuple(self.array_fills)
        has_state = bool(self.scalar_keys or self.array_keys)
        buckets: dict = {}
        for p in params:
            entry = state[p] if has_state else {}  # (SGD without momentum keeps no state, as in PyTorch)
            scalars = tuple(_scalar_key(entry.get(key), init) for key, init in self.scalar_keys.items())
            # NOTE: existing state keeps its dtype when the param is cast later (Module.double()), as in
            # PyTorch; new state takes the param's.
            state_dtypes = tuple(value._data.dtype if isinstance(value, Tensor) else None
                                 for value in map(entry.get, self.array_keys))
            dtype, _, kind, device = _array_spec(p._data)
            buckets.setdefault((dtype, kind, device, state_dtypes, scalars), []).append(p)
        # What must still hold for the layout to serve the next step, checked by is_current:
        self.params, self.specs = params, [_array_spec(p._data) for p in params]
        self.param_entries = [state.get(p) for p in params]
        # every state entry as (state dict, key, state tensor, the view it holds)
        self.entry_dicts, self.entry_keys, self.entry_tensors, self.entry_views = [], [], [], []
        self.batches = [self._build_batch(state, members, state_dtypes, scalars)
                        for (*_, state_dtypes, scalars), members in buckets.items()]

    def _build_batch(self, state, params: list[Tensor], state_dtypes: tuple, scalars: tuple) -> _FlatBatch:
        # NOTE: `any(is None)`, not `None in`: numpy finds dtype('float64') == None true
        batch = _FlatBatch(params, new=any(dtype is None for dtype in state_dtypes))
        for key, (kind, value) in zip(self.scalar_keys, scalars):
            scalar_xp, scalar_dtype = kind or (module_for_device("cpu"), D.get_default_dtype().np)
            flat = batch.scalars[key] = scalar_xp.full(len(params), value, dtype=scalar_dtype)
            for i, p in enumerate(params):
                entry = state[p]
                old = entry.get(key)
                if isinstance(old, Tensor):
                    old._data = flat[i:i + 1].reshape(old._data.shape)
                else:  # missing, or a plain number from an old checkpoint: a 0-d tensor, as PyTorch keeps it
                    old = entry[key] = _wrap(flat[i:i + 1].reshape(()))
                self._track(batch, entry, key, old)
        xp = batch.xp
        for (key, fill), dtype in zip(self.array_fills.items(), state_dtypes):
            flat = batch.state[key] = xp.empty(batch.size, dtype=dtype or batch.dtype)
            for p, view in zip(params, batch.views(flat)):
                entry = state[p]
                old = entry.get(key)
                if isinstance(old, Tensor):
                    if old.shape != p.shape:
                        raise RuntimeError(f"optimizer state '{key}' has shape {tuple(old.shape)} but its "
                                           f"parameter has shape {tuple(p.shape)}")
                    # a parameter moved since (Module.to): its state follows it to the device
                    xp.copyto(view, old.to(device=p.device)._data)
                    old._data = view
                else:
                    view.fill(fill)
                    old = entry[key] = _wrap(view)
                self._track(batch, entry, key, old)
        device_type = "cuda" if is_cuda_array(params[0]._data) else "cpu"
        batch.plan_chunks(max(1, _CHUNK_BYTES[device_type] // batch.dtype.itemsize))
        return batch

    def _track(self, batch: _FlatBatch, entry: dict, key: str, tensor: Tensor) -> None:
        self.entry_dicts.append(entry)
        self.entry_keys.append(key)
        self.entry_tensors.append(tensor)
        self.entry_views.append(tensor._data)
        batch.tensors.append(tensor)

    def is_current(self, state, params: list[Tensor], array_keys: tuple) -> bool:
        """Whether the layout still fits: the same state, params with a gradient (dtype, device,
        shape), array state keys, state tensors holding their views, and uniform scalar state."""
        # NOTE: identity checks through map(operator.is_, ...): Tensor == is elementwise, and a loop
        # of Python comparisons per parameter would cost what the flat update saves.
        if (state is not self.state or len(params) != len(self.params) or array_keys != self.array_keys
                or not all(map(is_, params, self.params))
                or [_array_spec(p._data) for p in params] != self.specs
                or not all(map(is_, map(state.get, params), self.param_entries))
                or not all(map(is_, map(dict.get, self.entry_dicts, self.entry_keys), self.entry_tensors))
                or not all(map(is_, [t._data for t in self.entry_tensors], self.entry_views))):
            return False
        return (all(p._data.flags.c_contiguous for batch in self.batches for p in batch.split)
                and all(batch.scalars_uniform() for batch in self.batches))

    def release(self) -> None:
        """Give state tensors that a newer layout did not take over their own copy, so the old
        flat buffers can be freed (a parameter without a gradient keeps its state as it was)."""
        for tensor, view in zip(self.entry_tensors, self.entry_views):
            if tensor._data is view:
                tensor._data = view.copy()


def _scalar_key(value, init: float) -> tuple:
    """((array module, dtype) or None for the default, value) of one parameter's 0-d state entry."""
    if isinstance(value, Tensor):
        return (array_module(value._data), value._data.dtype), float(value._data)
    return None, float(init if value is None else value)


# The shared step runs the step hooks too (subclasses that define their own step are wrapped
# in __init_subclass__).
Optimizer.step = _step_with_hooks(Optimizer.step)
