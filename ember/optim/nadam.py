"""NAdam: Adam with Nesterov momentum and a momentum-decay schedule (``torch.optim.NAdam``)."""
from __future__ import annotations


import numpy as np

from .._backend import array_module
from .._tensor import _wrap
from .. import _dtype as D
from .adam import _check_adam_args
from .optimizer import Optimizer, _decay_, _lerp_, _params_with_grad

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

    def _update_group(self, group) -> None:
        lr, eps, weight_decay = group["lr"], group["eps"], group["weight_decay"]
        beta1, beta2 = group["betas"]
        momentum_decay, decoupled = group["momentum_decay"], group["decoupled_weight_decay"]
        for p in _params_with_grad(group):
            state = self.state[p]
            if len(state) == 0:
                state["step"] = self._new_step()
                state["mu_product"] = _wrap(np.array(1.0, dtype=D.get_default_dtype().np))
                state["exp_avg"] = self._zeros_like(p)
                state["exp_avg_sq"] = self._zeros_like(p)
            step = self._increment(state["step"])
            param = p._data
            xp = array_module(param)
            if weight_decay != 0 and decoupled:
                param *= 1 - lr * weight_decay
            grad = self._grad_array(p, group["maximize"], 0 if decoupled else weight_decay)
            exp_avg, exp_avg_sq = state["exp_avg"]._data, state["exp_avg_sq"]._data
            buf, denom = self._scratch(param, 1), self._scratch(param, 2)

            mu = beta1 * (1.0 - 0.5 * (0.96 ** (step * momentum_decay)))
            mu_next = beta1 * (1.0 - 0.5 * (0.96 ** ((step + 1) * momentum_decay)))
            mu_product_t = state["mu_product"]._data
            mu_product_t *= mu  # NOTE: in the counter's own precision, like PyTorch's 0-d tensor
            mu_product = float(mu_product_t)
            mu_product_next = mu_product * mu_next

            _lerp_(exp_avg, grad, 1 - beta1, buf)
            _decay_(exp_avg_sq, grad, beta2, buf)
            xp.divide(exp_avg_sq, 1 - beta2 ** step, out=denom)
            xp.sqrt(denom, out=denom)
            denom += eps

            # Nesterov look-ahead: a gradient term and a momentum term, each over the same denominator.
            xp.divide(grad, denom, out=buf)
            buf *= -lr * (1.0 - mu) / (1.0 - mu_product)
            param += buf
            xp.divide(exp_avg, denom, out=buf)
            buf *= (-lr * mu_next) / (1.0 - mu_product_next)
            param += buf
            p._vbox[0] += 1
