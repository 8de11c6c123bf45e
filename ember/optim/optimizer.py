"""``Optimizer``: the base class holding param groups and per-parameter state (``torch.optim.Optimizer``).

An optimizer keeps references to the very Parameter objects it was given (never copies)
and updates their storage in place, so the model sees every step. Subclasses write their
math on raw arrays (``p._data``, ``p._grad._data``) with in-place ufuncs, one parameter at
a time, reusing a scratch buffer instead of allocating temporaries.
"""
from __future__ import annotations

import functools
from collections import OrderedDict, defaultdict
from copy import deepcopy
from itertools import chain
from typing import Any, Callable, Iterable

from .. import _dtype as D
from .._backend import array_module
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

        Optimizers implement ``_update_group(group)`` (the math of one parameter group) or
        override ``step`` itself (LBFGS).
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
                self._update_group(_float_hyperparameters(group))
        return loss

    def _update_group(self, group: dict) -> None:
        raise NotImplementedError(f"{type(self).__name__} must implement step() or _update_group()")

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

    # -- scratch memory ----------------------------------------------------------------------
    def _scratch(self, like, slot: int = 0):
        """A reusable buffer shaped like ``like`` for intermediate results (never part of the state)."""
        buffers = self.__dict__.get("_scratch_buffers")
        if buffers is None:
            buffers = self.__dict__["_scratch_buffers"] = {}
        key = (slot, like.dtype, str(getattr(like, "device", "cpu")))
        buf = buffers.get(key)
        n = like.size
        if buf is None or buf.size < n:
            buf = array_module(like).empty(n, dtype=like.dtype)
            buffers[key] = buf
        return buf[:n].reshape(like.shape)

    def _grad_array(self, p: Tensor, maximize: bool, weight_decay: float):
        """The gradient the update uses: negated when maximizing, plus ``weight_decay * param`` (L2)."""
        g = p._grad._data
        if weight_decay == 0:
            if not maximize:
                return g
            out = self._scratch(g, 0)
            array_module(g).negative(g, out=out)
            return out
        xp = array_module(g)
        out = self._scratch(g, 0)
        xp.multiply(p._data, weight_decay, out=out)
        if maximize:
            xp.subtract(out, g, out=out)
        else:
            xp.add(out, g, out=out)
        return out

    @staticmethod
    def _new_step(value: float = 0.0) -> Tensor:
        """The ``step`` counter: a 0-d CPU tensor of the default float dtype, as in PyTorch."""
        import numpy as np
        return _wrap(np.array(value, dtype=D.get_default_dtype().np))

    @staticmethod
    def _zeros_like(p: Tensor, fill: float = 0.0) -> Tensor:
        xp = array_module(p._data)
        return _wrap(xp.full(p._data.shape, fill, dtype=p._data.dtype))

    @staticmethod
    def _increment(step: Tensor) -> float:
        """``step += 1`` in the counter's own dtype; returns the new value as a Python float."""
        step._data += 1
        step._vbox[0] += 1
        return float(step._data)

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


def _params_with_grad(group: dict[str, Any]) -> Iterable[Tensor]:
    """The group's parameters that have a gradient this step (the others are skipped, as in PyTorch)."""
    return [p for p in group["params"] if p._grad is not None]


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


# The shared step runs the step hooks too (subclasses that define their own step are wrapped
# in __init_subclass__).
Optimizer.step = _step_with_hooks(Optimizer.step)
