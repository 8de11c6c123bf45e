"""Adam, with AMSGrad, L2 or decoupled weight decay and maximize (``torch.optim.Adam``)."""
from __future__ import annotations

import math

from .._tensor import Tensor
from .optimizer import Optimizer, _check_lr, _decay_, _lerp_

__all__ = ["Adam"]


class Adam(Optimizer):
    """Adam (Kingma & Ba), PyTorch's update order and bias corrections."""

    def __init__(self, params, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0, amsgrad: bool = False, *, foreach: bool | None = None,
                 maximize: bool = False, capturable: bool = False, differentiable: bool = False,
                 fused: bool | None = None, decoupled_weight_decay: bool = False):
        _check_adam_args(lr, betas, eps, weight_decay)
        if isinstance(lr, Tensor) and foreach and not capturable:
            raise ValueError("lr as a Tensor is not supported for capturable=False and foreach=True")
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, amsgrad=amsgrad,
                        maximize=maximize, foreach=foreach, capturable=capturable, differentiable=differentiable,
                        fused=fused, decoupled_weight_decay=decoupled_weight_decay)
        super().__init__(params, defaults)

    def __setstate__(self, state):
        super().__setstate__(state)
        for group in self.param_groups:
            group.setdefault("amsgrad", False)
            group.setdefault("maximize", False)
            group.setdefault("decoupled_weight_decay", False)

    _scalar_state = {"step": 0.0}

    def _array_state(self, group) -> dict:
        keys = {"exp_avg": 0.0, "exp_avg_sq": 0.0}
        if group["amsgrad"]:
            keys["max_exp_avg_sq"] = 0.0
        return keys

    def _update_batch(self, group, batch) -> None:
        lr, eps, weight_decay, amsgrad = group["lr"], group["eps"], group["weight_decay"], group["amsgrad"]
        beta1, beta2 = group["betas"]
        decoupled, xp = group["decoupled_weight_decay"], batch.xp
        step = batch.increment("step")
        step_size = lr / (1 - beta1 ** step)
        bias_correction2_sqrt = math.sqrt(1 - beta2 ** step)
        for chunk in batch.chunk_updates():
            if weight_decay != 0 and decoupled:
                chunk.scale_params(1 - lr * weight_decay)
            grad = chunk.grad_for_update(group["maximize"], 0 if decoupled else weight_decay)
            exp_avg, exp_avg_sq = chunk.state["exp_avg"], chunk.state["exp_avg_sq"]
            buf = chunk.buffer(0)

            _lerp_(exp_avg, grad, 1 - beta1, buf)
            _decay_(exp_avg_sq, grad, beta2, buf)
            if amsgrad:
                max_exp_avg_sq = chunk.state["max_exp_avg_sq"]
                xp.maximum(max_exp_avg_sq, exp_avg_sq, out=max_exp_avg_sq)
                second_moment = max_exp_avg_sq
            else:
                second_moment = exp_avg_sq
            # param -= step_size * exp_avg / (sqrt(second_moment) / bias_correction2_sqrt + eps), with the
            # bias correction moved into the scalars: one pass over the data fewer (Adam is memory-bound).
            denom = buf
            xp.sqrt(second_moment, out=denom)
            denom += eps * bias_correction2_sqrt
            xp.divide(exp_avg, denom, out=denom)
            denom *= -step_size * bias_correction2_sqrt
            chunk.add_to_params(denom)


def _check_adam_args(lr: float, betas, eps: float, weight_decay: float) -> None:
    """The hyperparameter checks Adam, AdamW, Adamax, NAdam and RAdam share (PyTorch's messages)."""
    _check_lr(lr)
    if not 0.0 <= eps:
        raise ValueError(f"Invalid epsilon value: {eps}")
    if not 0.0 <= betas[0] < 1.0:
        raise ValueError(f"Invalid beta parameter at index 0: {betas[0]}")
    if not 0.0 <= betas[1] < 1.0:
        raise ValueError(f"Invalid beta parameter at index 1: {betas[1]}")
    if not 0.0 <= weight_decay:
        raise ValueError(f"Invalid weight_decay value: {weight_decay}")
