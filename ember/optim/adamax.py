"""Adamax: Adam with an infinity-norm second moment (``torch.optim.Adamax``)."""
from __future__ import annotations


from .._backend import array_module
from .adam import _check_adam_args
from .optimizer import Optimizer, _lerp_, _params_with_grad

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

    def _update_group(self, group) -> None:
        lr, eps = group["lr"], group["eps"]
        beta1, beta2 = group["betas"]
        for p in _params_with_grad(group):
            state = self.state[p]
            if len(state) == 0:
                state["step"] = self._new_step()
                state["exp_avg"] = self._zeros_like(p)
                state["exp_inf"] = self._zeros_like(p)
            step = self._increment(state["step"])
            param = p._data
            xp = array_module(param)
            grad = self._grad_array(p, group["maximize"], group["weight_decay"])
            exp_avg, exp_inf = state["exp_avg"]._data, state["exp_inf"]._data
            buf = self._scratch(param, 1)

            _lerp_(exp_avg, grad, 1 - beta1, buf)
            exp_inf *= beta2
            xp.abs(grad, out=buf)
            buf += eps
            xp.maximum(exp_inf, buf, out=exp_inf)

            clr = lr / (1 - beta1 ** step)
            xp.divide(exp_avg, exp_inf, out=buf)
            buf *= -clr
            param += buf
            p._vbox[0] += 1
