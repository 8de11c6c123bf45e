"""SGD with momentum, dampening, Nesterov, weight decay and maximize (``torch.optim.SGD``)."""
from __future__ import annotations


from .._backend import array_module
from .optimizer import Optimizer, _check_lr, _params_with_grad

__all__ = ["SGD"]


class SGD(Optimizer):
    """Stochastic gradient descent, PyTorch's formulation (momentum buffer starts as the first gradient)."""

    def __init__(self, params, lr: float = 1e-3, momentum: float = 0, dampening: float = 0,
                 weight_decay: float = 0, nesterov: bool = False, *, maximize: bool = False,
                 foreach: bool | None = None, differentiable: bool = False, fused: bool | None = None):
        _check_lr(lr)
        if momentum < 0.0:
            raise ValueError(f"Invalid momentum value: {momentum}")
        if weight_decay < 0.0:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        defaults = dict(lr=lr, momentum=momentum, dampening=dampening, weight_decay=weight_decay,
                        nesterov=nesterov, maximize=maximize, foreach=foreach, differentiable=differentiable,
                        fused=fused)
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("Nesterov momentum requires a momentum and zero dampening")
        super().__init__(params, defaults)

    def __setstate__(self, state):
        super().__setstate__(state)
        for group in self.param_groups:
            group.setdefault("nesterov", False)
            group.setdefault("maximize", False)

    def _update_group(self, group) -> None:
        lr, momentum, dampening = group["lr"], group["momentum"], group["dampening"]
        nesterov = group["nesterov"]
        for p in _params_with_grad(group):
            param = p._data
            xp = array_module(param)
            grad = self._grad_array(p, group["maximize"], group["weight_decay"])
            if momentum != 0:
                state = self.state[p]
                buf_t = state.get("momentum_buffer")
                if buf_t is None:
                    # The first step's buffer is the gradient itself (no dampening applied).
                    buf_t = state["momentum_buffer"] = self._zeros_like(p)
                    buf_t._data[...] = grad
                else:
                    buf = buf_t._data
                    buf *= momentum
                    if dampening == 0:
                        buf += grad
                    else:
                        scaled = self._scratch(param, 1)
                        xp.multiply(grad, 1 - dampening, out=scaled)
                        buf += scaled
                    buf_t._vbox[0] += 1
                if nesterov:
                    update = self._scratch(param, 1)
                    xp.multiply(buf_t._data, momentum, out=update)
                    update += grad
                else:
                    update = buf_t._data
            else:
                update = grad
            delta = self._scratch(param, 1)
            xp.multiply(update, -lr, out=delta)
            param += delta
            p._vbox[0] += 1
