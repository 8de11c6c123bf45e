"""RAdam: Adam with a variance rectification term (``torch.optim.RAdam``)."""
from __future__ import annotations

import math

from .adam import _check_adam_args
from .optimizer import Optimizer, _decay_, _lerp_

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

    _scalar_state = {"step": 0.0}

    def _array_state(self, group) -> dict:
        return {"exp_avg": 0.0, "exp_avg_sq": 0.0}

    def _update_batch(self, group, batch) -> None:
        lr, eps, weight_decay = group["lr"], group["eps"], group["weight_decay"]
        beta1, beta2 = group["betas"]
        decoupled, xp = group["decoupled_weight_decay"], batch.xp
        rho_inf = 2 / (1 - beta2) - 1
        step = batch.increment("step")
        bias_correction1 = 1 - beta1 ** step
        bias_correction2 = 1 - beta2 ** step
        rho_t = rho_inf - 2 * step * (beta2 ** step) / bias_correction2
        for chunk in batch.chunk_updates():
            if weight_decay != 0 and decoupled:
                chunk.scale_params(1 - lr * weight_decay)
            grad = chunk.grad_for_update(group["maximize"], 0 if decoupled else weight_decay)
            exp_avg, exp_avg_sq = chunk.state["exp_avg"], chunk.state["exp_avg_sq"]
            update = chunk.buffer(0)

            _lerp_(exp_avg, grad, 1 - beta1, update)
            _decay_(exp_avg_sq, grad, beta2, update)

            # update = exp_avg / bias_correction1 * lr [* adaptive_lr * rectification]
            xp.divide(exp_avg, bias_correction1, out=update)
            update *= lr
            if rho_t > 5.0:
                rect = math.sqrt((rho_t - 4) * (rho_t - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho_t))
                adaptive_lr = chunk.buffer(1)
                xp.sqrt(exp_avg_sq, out=adaptive_lr)
                adaptive_lr += eps
                xp.divide(bias_correction2 ** 0.5, adaptive_lr, out=adaptive_lr)
                update *= adaptive_lr
                update *= rect
            chunk.add_to_params(update, subtract=True)
