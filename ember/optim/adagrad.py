"""Adagrad with lr decay, weight decay, an initial accumulator value and maximize (``torch.optim.Adagrad``)."""
from __future__ import annotations


from .optimizer import Optimizer, _check_lr

__all__ = ["Adagrad"]


class Adagrad(Optimizer):
    """Adagrad; like PyTorch its state (``step``, ``sum``) exists from construction on."""

    def __init__(self, params, lr: float = 1e-2, lr_decay: float = 0, weight_decay: float = 0,
                 initial_accumulator_value: float = 0, eps: float = 1e-10, foreach: bool | None = None, *,
                 maximize: bool = False, differentiable: bool = False, fused: bool | None = None):
        _check_lr(lr)
        if not 0.0 <= lr_decay:
            raise ValueError(f"Invalid lr_decay value: {lr_decay}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        if not 0.0 <= initial_accumulator_value:
            raise ValueError(f"Invalid initial_accumulator_value value: {initial_accumulator_value}")
        if not 0.0 <= eps:
            raise ValueError(f"Invalid epsilon value: {eps}")
        defaults = dict(lr=lr, lr_decay=lr_decay, eps=eps, weight_decay=weight_decay,
                        initial_accumulator_value=initial_accumulator_value, foreach=foreach, maximize=maximize,
                        differentiable=differentiable, fused=fused)
        super().__init__(params, defaults)
        for group in self.param_groups:
            for p in group["params"]:
                state = self.state[p]
                state["step"] = self._new_step()
                state["sum"] = self._zeros_like(p, fill=initial_accumulator_value)

    _scalar_state = {"step": 0.0}

    def _array_state(self, group) -> dict:
        # NOTE: a parameter added later through add_param_group starts from the defaults' value, as in PyTorch
        return {"sum": self.defaults["initial_accumulator_value"]}

    def _update_batch(self, group, batch) -> None:
        lr, lr_decay, eps, xp = group["lr"], group["lr_decay"], group["eps"], batch.xp
        step = batch.increment("step")
        clr = lr / (1 + (step - 1) * lr_decay)
        for chunk in batch.chunk_updates():
            grad = chunk.grad_for_update(group["maximize"], group["weight_decay"])
            total = chunk.state["sum"]
            buf = chunk.buffer(0)

            xp.multiply(grad, grad, out=buf)
            total += buf
            # param -= clr * grad / (sqrt(sum) + eps)
            xp.sqrt(total, out=buf)
            buf += eps
            xp.divide(grad, buf, out=buf)
            buf *= -clr
            chunk.add_to_params(buf)
