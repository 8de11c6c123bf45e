"""NAdam: Adam with Nesterov momentum and a momentum-decay schedule (``torch.optim.NAdam``)."""
from __future__ import annotations


from .adam import _check_adam_args
from .optimizer import Optimizer, _decay_, _lerp_

__all__ = ["NAdam"]


class NAdam(Optimizer):
    """NAdam (Dozat); ``mu_product`` is kept as a 0-d tensor of the default dtype, as in PyTorch."""

    def __init__(self, params, lr: float = 2e-3, betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0, momentum_decay: float = 4e-3, decoupled_weight_decay: bool = False, *,
                 foreach: bool | None = None, maximize: bool = False, capturable: bool = False,
                 differentiable: bool = False):
        _check_adam_args(lr, betas, eps, weight_decay)
        if not 0.0 <= momentum_decay:
            raise ValueError(f"Invalid momentum_decay value: {momentum_decay}")
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, momentum_decay=momentum_decay,
                        decoupled_weight_decay=decoupled_weight_decay, maximize=maximize, foreach=foreach,
                        capturable=capturable, differentiable=differentiable)
        super().__init__(params, defaults)

    _scalar_state = {"step": 0.0, "mu_product": 1.0}

    def _array_state(self, group) -> dict:
        return {"exp_avg": 0.0, "exp_avg_sq": 0.0}

    def _update_batch(self, group, batch) -> None:
        lr, eps, weight_decay = group["lr"], group["eps"], group["weight_decay"]
        beta1, beta2 = group["betas"]
        momentum_decay, decoupled = group["momentum_decay"], group["decoupled_weight_decay"]
        xp = batch.xp
        step = batch.increment("step")
        mu = beta1 * (1.0 - 0.5 * (0.96 ** (step * momentum_decay)))
        mu_next = beta1 * (1.0 - 0.5 * (0.96 ** ((step + 1) * momentum_decay)))
        mu_product = batch.scale_scalar("mu_product", mu)  # NOTE: in the counter's own precision, like PyTorch
        mu_product_next = mu_product * mu_next
        for chunk in batch.chunk_updates():
            if weight_decay != 0 and decoupled:
                chunk.scale_params(1 - lr * weight_decay)
            grad = chunk.grad_for_update(group["maximize"], 0 if decoupled else weight_decay)
            exp_avg, exp_avg_sq = chunk.state["exp_avg"], chunk.state["exp_avg_sq"]
            buf, denom = chunk.buffer(0), chunk.buffer(1)

            _lerp_(exp_avg, grad, 1 - beta1, buf)
            _decay_(exp_avg_sq, grad, beta2, buf)
            xp.divide(exp_avg_sq, 1 - beta2 ** step, out=denom)
            xp.sqrt(denom, out=denom)
            denom += eps

            # Nesterov look-ahead: a gradient term and a momentum term, each over the same denominator.
            xp.divide(grad, denom, out=buf)
            buf *= -lr * (1.0 - mu) / (1.0 - mu_product)
            chunk.add_to_params(buf)
            xp.divide(exp_avg, denom, out=buf)
            buf *= (-lr * mu_next) / (1.0 - mu_product_next)
            chunk.add_to_params(buf)
