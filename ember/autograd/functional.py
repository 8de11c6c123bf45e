"""``ember.autograd.functional``: jacobian and hessian built on ``autograd.grad``."""
from __future__ import annotations


def jacobian(func, inputs, create_graph: bool = False, strict: bool = False):
    """d func(inputs) / d inputs, one output row at a time."""
    from .. import stack
    from . import grad
    single = not isinstance(inputs, tuple)
    ins = (inputs,) if single else inputs
    ins = tuple(x.detach().requires_grad_(True) for x in ins)
    out = func(*ins)
    flat = out.reshape(-1)
    rows = [[] for _ in ins]
    for i in range(flat.numel()):
        gs = grad(flat[i], ins, retain_graph=True, create_graph=create_graph, allow_unused=True,
                  materialize_grads=True)
        for r, g in zip(rows, gs):
            r.append(g)
    jac = tuple(stack(r).reshape(tuple(out.shape) + tuple(x.shape)) for r, x in zip(rows, ins))
    return jac[0] if single else jac


def hessian(func, inputs, create_graph: bool = False, strict: bool = False):
    from . import grad

    def gradient(*xs):
        out = func(*xs)
        gs = grad(out, xs, create_graph=True)
        return gs[0] if len(gs) == 1 else gs

    return jacobian(gradient, inputs, create_graph=create_graph)
