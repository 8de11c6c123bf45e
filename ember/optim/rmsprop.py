"""RMSprop, plain or centered, with momentum, weight decay and maximize (``torch.optim.RMSprop``)."""
from __future__ import annotations


from .optimizer import Optimizer, _check_lr, _decay_, _lerp_

__all__ = ["RMSprop"]


class RMSprop(Optimizer):
    """RMSprop as PyTorch writes it: eps is added outside the square root."""

    def __init__(self, params, lr: float = 1e-2, alpha: float = 0.99, eps: float = 1e-8, weight_decay: float = 0,
                 momentum: float = 0, centered: bool = False, capturable: bool = False,
                 foreach: bool | None = None, maximize: bool = False, differentiable: bool = False):
        _check_lr(lr)
        if not 0.0 <= eps:
            raise ValueError(f"Invalid epsilon value: {eps}")
        if not 0.0 <= momentum:
            raise ValueError(f"Invalid momentum value: {momentum}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        if not 0.0 <= alpha:
            raise ValueError(f"Invalid alpha value: {alpha}")
        defaults = dict(lr=lr, momentum=momentum, alpha=alpha, eps=eps, centered=centered,
                        weight_decay=weight_decay, capturable=capturable, foreach=foreach, maximize=maximize,
                        differentiable=differentiable)
        super().__init__(params, defaults)

    _scalar_state = {"step": 0.0}

    def _array_state(self, group) -> dict:
        keys = {"square_avg": 0.0}
        if group["momentum"] > 0:
            keys["momentum_buffer"] = 0.0
        if group["centered"]:
            keys["grad_avg"] = 0.0
        return keys

    def _update_batch(self, group, batch) -> None:
        lr, alpha, eps, momentum = group["lr"], group["alpha"], group["eps"], group["momentum"]
        xp = batch.xp
        batch.increment("step")
        for chunk in batch.chunk_updates():
            grad = chunk.grad_for_update(group["maximize"], group["weight_decay"])
            square_avg = chunk.state["square_avg"]
            avg = chunk.buffer(0)

            _decay_(square_avg, grad, alpha, avg)
            if group["centered"]:
                grad_avg = chunk.state["grad_avg"]
                _lerp_(grad_avg, grad, 1 - alpha, avg)
                # avg = sqrt(square_avg - grad_avg ** 2): the variance, not the raw second moment
                xp.multiply(grad_avg, grad_avg, out=avg)
                xp.subtract(square_avg, avg, out=avg)
                xp.sqrt(avg, out=avg)
            else:
                xp.sqrt(square_avg, out=avg)
            avg += eps

            step_dir = avg
            xp.divide(grad, avg, out=step_dir)
            if momentum > 0:
                buf = chunk.state["momentum_buffer"]
                buf *= momentum
                buf += step_dir
                xp.multiply(buf, -lr, out=step_dir)
            else:
                step_dir *= -lr
            chunk.add_to_params(step_dir)
