"""Adadelta with weight decay and maximize (``torch.optim.Adadelta``)."""
from __future__ import annotations


from .._backend import array_module
from .optimizer import Optimizer, _check_lr, _decay_, _params_with_grad

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

    def _update_group(self, group) -> None:
        lr, rho, eps = group["lr"], group["rho"], group["eps"]
        for p in _params_with_grad(group):
            state = self.state[p]
            if len(state) == 0:
                state["step"] = self._new_step()
                state["square_avg"] = self._zeros_like(p)
                state["acc_delta"] = self._zeros_like(p)
            self._increment(state["step"])
            param = p._data
            xp = array_module(param)
            grad = self._grad_array(p, group["maximize"], group["weight_decay"])
            square_avg, acc_delta = state["square_avg"]._data, state["acc_delta"]._data
            delta, std = self._scratch(param, 1), self._scratch(param, 2)

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
            param += delta
            p._vbox[0] += 1
