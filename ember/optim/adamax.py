"""Adamax: Adam with an infinity-norm second moment (``torch.optim.Adamax``)."""
from __future__ import annotations


from .adam import _check_adam_args
from .optimizer import Optimizer, _lerp_

__all__ = ["Adamax"]


class Adamax(Optimizer):
    """Adamax; ``exp_inf = max(beta2 * exp_inf, |grad| + eps)`` as PyTorch computes it."""

    def __init__(self, params, lr: float = 2e-3, betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0, foreach: bool | None = None, *, maximize: bool = False,
                 differentiable: bool = False, capturable: bool = False):
        _check_adam_args(lr, betas, eps, weight_decay)
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, foreach=foreach,
                        maximize=maximize, differentiable=differentiable, capturable=capturable)
        super().__init__(params, defaults)

    _scalar_state = {"step": 0.0}

    def _array_state(self, group) -> dict:
        return {"exp_avg": 0.0, "exp_inf": 0.0}

    def _update_batch(self, group, batch) -> None:
        lr, eps, xp = group["lr"], group["eps"], batch.xp
        beta1, beta2 = group["betas"]
        step = batch.increment("step")
        clr = lr / (1 - beta1 ** step)
        for chunk in batch.chunk_updates():
            grad = chunk.grad_for_update(group["maximize"], group["weight_decay"])
            exp_avg, exp_inf = chunk.state["exp_avg"], chunk.state["exp_inf"]
            buf = chunk.buffer(0)

            _lerp_(exp_avg, grad, 1 - beta1, buf)
            exp_inf *= beta2
            xp.abs(grad, out=buf)
            buf += eps
            xp.maximum(exp_inf, buf, out=exp_inf)

            xp.divide(exp_avg, exp_inf, out=buf)
            buf *= -clr
            chunk.add_to_params(buf)
