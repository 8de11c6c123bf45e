"""Adadelta with weight decay and maximize (``torch.optim.Adadelta``)."""
from __future__ import annotations


from .optimizer import Optimizer, _check_lr, _decay_

__all__ = ["Adadelta"]


class Adadelta(Optimizer):
    """Adadelta (Zeiler); ``lr`` scales the delta (default 1.0), as in PyTorch."""

    def __init__(self, params, lr: float = 1.0, rho: float = 0.9, eps: float = 1e-6, weight_decay: float = 0,
                 foreach: bool | None = None, *, capturable: bool = False, maximize: bool = False,
                 differentiable: bool = False):
        _check_lr(lr)
        if not 0.0 <= rho <= 1.0:
            raise ValueError(f"Invalid rho value: {rho}")
        if not 0.0 <= eps:
            raise ValueError(f"Invalid epsilon value: {eps}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        defaults = dict(lr=lr, rho=rho, eps=eps, weight_decay=weight_decay, maximize=maximize,
                        capturable=capturable, foreach=foreach, differentiable=differentiable)
        super().__init__(params, defaults)

    _scalar_state = {"step": 0.0}

    def _array_state(self, group) -> dict:
        return {"square_avg": 0.0, "acc_delta": 0.0}

    def _update_batch(self, group, batch) -> None:
        lr, rho, eps, xp = group["lr"], group["rho"], group["eps"], batch.xp
        batch.increment("step")
        for chunk in batch.chunk_updates():
            grad = chunk.grad_for_update(group["maximize"], group["weight_decay"])
            square_avg, acc_delta = chunk.state["square_avg"], chunk.state["acc_delta"]
            delta, std = chunk.buffer(0), chunk.buffer(1)

            _decay_(square_avg, grad, rho, std)
            xp.add(square_avg, eps, out=std)
            xp.sqrt(std, out=std)
            # delta = sqrt(acc_delta + eps) / sqrt(square_avg + eps) * grad
            xp.add(acc_delta, eps, out=delta)
            xp.sqrt(delta, out=delta)
            delta /= std
            delta *= grad
            _decay_(acc_delta, delta, rho, std)
            delta *= -lr
            chunk.add_to_params(delta)
