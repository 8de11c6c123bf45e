"""RAdam: Adam with a variance rectification term (``torch.optim.RAdam``)."""
from __future__ import annotations

import math

from .._backend import array_module
from .adam import _check_adam_args
from .optimizer import Optimizer, _decay_, _lerp_, _params_with_grad

__all__ = ["RAdam"]


class RAdam(Optimizer):
    """RAdam (Liu et al.); plain momentum SGD until the rectifier's rho_t exceeds 5."""

    def __init__(self, params, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0, decoupled_weight_decay: bool = False, *, foreach: bool | None = None,
                 maximize: bool = False, capturable: bool = False, differentiable: bool = False):
        _check_adam_args(lr, betas, eps, weight_decay)
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, maximize=maximize,
                        foreach=foreach, capturable=capturable, decoupled_weight_decay=decoupled_weight_decay,
                        differentiable=differentiable)
        super().__init__(params, defaults)

    def _update_group(self, group) -> None:
        lr, eps, weight_decay = group["lr"], group["eps"], group["weight_decay"]
        beta1, beta2 = group["betas"]
        decoupled = group["decoupled_weight_decay"]
        rho_inf = 2 / (1 - beta2) - 1
        for p in _params_with_grad(group):
            state = self.state[p]
            if len(state) == 0:
                state["step"] = self._new_step()
                state["exp_avg"] = self._zeros_like(p)
                state["exp_avg_sq"] = self._zeros_like(p)
            step = self._increment(state["step"])
            param = p._data
            xp = array_module(param)
            if weight_decay != 0 and decoupled:
                param *= 1 - lr * weight_decay
            grad = self._grad_array(p, group["maximize"], 0 if decoupled else weight_decay)
            exp_avg, exp_avg_sq = state["exp_avg"]._data, state["exp_avg_sq"]._data
            update = self._scratch(param, 1)

            _lerp_(exp_avg, grad, 1 - beta1, update)
            _decay_(exp_avg_sq, grad, beta2, update)

            bias_correction1 = 1 - beta1 ** step
            bias_correction2 = 1 - beta2 ** step
            rho_t = rho_inf - 2 * step * (beta2 ** step) / bias_correction2
            # update = exp_avg / bias_correction1 * lr [* adaptive_lr * rectification]
            xp.divide(exp_avg, bias_correction1, out=update)
            update *= lr
            if rho_t > 5.0:
                rect = math.sqrt((rho_t - 4) * (rho_t - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho_t))
                adaptive_lr = self._scratch(param, 2)
                xp.sqrt(exp_avg_sq, out=adaptive_lr)
                adaptive_lr += eps
                xp.divide(bias_correction2 ** 0.5, adaptive_lr, out=adaptive_lr)
                update *= adaptive_lr
                update *= rect
            param -= update
            p._vbox[0] += 1
