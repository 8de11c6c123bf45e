"""SGD with momentum, dampening, Nesterov, weight decay and maximize (``torch.optim.SGD``)."""
from __future__ import annotations

from .optimizer import Optimizer, _check_lr

__all__ = ["SGD"]


class SGD(Optimizer):
    """Stochastic gradient descent, PyTorch's formulation (momentum buffer starts as the first gradient)."""

    def __init__(self, params, lr: float = 1e-3, momentum: float = 0, dampening: float = 0,
                 weight_decay: float = 0, nesterov: bool = False, *, maximize: bool = False,
                 foreach: bool | None = None, differentiable: bool = False, fused: bool | None = None):
        _check_lr(lr)
        if momentum < 0.0:
            raise ValueError(f"Invalid momentum value: {momentum}")
        if weight_decay < 0.0:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        defaults = dict(lr=lr, momentum=momentum, dampening=dampening, weight_decay=weight_decay,
                        nesterov=nesterov, maximize=maximize, foreach=foreach, differentiable=differentiable,
                        fused=fused)
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("Nesterov momentum requires a momentum and zero dampening")
        super().__init__(params, defaults)

    def __setstate__(self, state):
        super().__setstate__(state)
        for group in self.param_groups:
            group.setdefault("nesterov", False)
            group.setdefault("maximize", False)

    def _array_state(self, group) -> dict:
        return {"momentum_buffer": 0.0} if group["momentum"] != 0 else {}

    def _update_batch(self, group, batch) -> None:
        lr, momentum, dampening = group["lr"], group["momentum"], group["dampening"]
        nesterov, xp = group["nesterov"], batch.xp
        for chunk in batch.chunk_updates():
            grad = chunk.grad_for_update(group["maximize"], group["weight_decay"])
            if momentum != 0:
                buf = chunk.state["momentum_buffer"]
                if batch.new:
                    xp.copyto(buf, grad)  # the first step's buffer is the gradient itself (no dampening)
                else:
                    buf *= momentum
                    if dampening == 0:
                        buf += grad
                    else:
                        scaled = chunk.buffer(0)
                        xp.multiply(grad, 1 - dampening, out=scaled)
                        buf += scaled
                if nesterov:
                    update = chunk.buffer(0)
                    xp.multiply(buf, momentum, out=update)
                    update += grad
                else:
                    update = buf
            else:
                update = grad
            delta = chunk.buffer(0)
            xp.multiply(update, -lr, out=delta)
            chunk.add_to_params(delta)
