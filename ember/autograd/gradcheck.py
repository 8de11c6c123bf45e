"""``gradcheck``: compare analytical gradients with float64 finite differences."""
from __future__ import annotations

import numpy as np


class GradcheckError(RuntimeError):
    pass


def _as_tuple(x):
    return x if isinstance(x, tuple) else (x,)


def _numerical_jacobian(fn, inputs, eps):
    """Central differences, one input element at a time."""
    from .grad_mode import no_grad
    from .._backend import to_numpy
    with no_grad():
        outputs = [o for o in _as_tuple(fn(*inputs))]
    jacs = []
    for x in inputs:
        if not (hasattr(x, "_requires_grad") and x._requires_grad):
            jacs.append(None)
            continue
        data = x._data
        flat = data.reshape(-1)  # a view: x._data is contiguous-checked by the caller
        cols = []
        for i in range(flat.size):
            orig = flat[i].item()
            flat[i] = orig + eps
            with no_grad():
                plus = [to_numpy(o._data).astype(np.float64).reshape(-1).copy() for o in _as_tuple(fn(*inputs))]
            flat[i] = orig - eps
            with no_grad():
                minus = [to_numpy(o._data).astype(np.float64).reshape(-1).copy() for o in _as_tuple(fn(*inputs))]
            flat[i] = orig
            cols.append(np.concatenate([(p - m) / (2 * eps) for p, m in zip(plus, minus)]))
        jacs.append(np.stack(cols, axis=1) if cols else np.zeros((sum(o._data.size for o in outputs), 0)))
    return jacs


def _analytical_jacobian(fn, inputs):
    from . import grad
    from .._backend import to_numpy
    from .._tensor import _wrap
    outputs = [o for o in _as_tuple(fn(*inputs))]
    diff_inputs = [x for x in inputs if hasattr(x, "_requires_grad") and x._requires_grad]
    total = sum(o._data.size for o in outputs)
    jacs = [np.zeros((total, x._data.size)) for x in diff_inputs]
    row = 0
    for o in outputs:
        if not o._requires_grad:
            row += o._data.size
            continue
        for j in range(o._data.size):
            g = np.zeros(o._data.shape, dtype=o._data.dtype)
            g.reshape(-1)[j] = 1
            gs = grad(o, diff_inputs, grad_outputs=_wrap(g), retain_graph=True, allow_unused=True)
            for k, gk in enumerate(gs):
                if gk is not None:
                    jacs[k][row + j] = to_numpy(gk._data).astype(np.float64).reshape(-1)
        row += o._data.size
    return jacs


def gradcheck(func, inputs, *, eps: float = 1e-6, atol: float = 1e-5, rtol: float = 1e-3,
              raise_exception: bool = True, **kwargs) -> bool:
    """True when analytical and numerical Jacobians of ``func`` agree (``torch.autograd.gradcheck``).

    Inputs that require grad should be float64, as in PyTorch.
    """
    inputs = _as_tuple(inputs)
    for x in inputs:
        if hasattr(x, "_requires_grad") and x._requires_grad:
            if x._data.dtype != np.float64:
                import warnings
                warnings.warn("Input #0 requires gradient and is not a double precision floating point. "
                              "This check will likely fail if all the inputs are not of double precision "
                              "floating point. ", UserWarning, stacklevel=2)
            if not x._data.flags.c_contiguous or not x._data.flags.writeable:
                raise ValueError("gradcheck expects contiguous, writeable inputs that require grad")
    numerical = [j for j in _numerical_jacobian(func, inputs, eps) if j is not None]
    analytical = _analytical_jacobian(func, inputs)
    for i, (a, n) in enumerate(zip(analytical, numerical)):
        if not np.allclose(a, n, rtol=rtol, atol=atol):
            if raise_exception:
                raise GradcheckError(f"Jacobian mismatch for output 0 with respect to input {i},\n"
                                     f"numerical:{n}\nanalytical:{a}\n")
            return False
    return True


def gradgradcheck(func, inputs, grad_outputs=None, *, eps: float = 1e-6, atol: float = 1e-5,
                  rtol: float = 1e-3, raise_exception: bool = True, **kwargs) -> bool:
    """gradcheck of the gradient itself (second derivatives through ``create_graph=True``)."""
    from . import grad
    from .._tensor import _wrap
    inputs = _as_tuple(inputs)
    diff = [x for x in inputs if hasattr(x, "_requires_grad") and x._requires_grad]
    rng = np.random.default_rng(0)
    outs = _as_tuple(func(*inputs))
    if grad_outputs is None:
        grad_outputs = tuple(_wrap(rng.standard_normal(o._data.shape)) for o in outs)

    def first_grad(*xs):
        from .grad_mode import enable_grad
        with enable_grad():  # the numerical pass runs under no_grad; the first gradient needs a graph
            return _first_grad(*xs)

    def _first_grad(*xs):
        os_ = _as_tuple(func(*xs))
        d = [x for x in xs if hasattr(x, "_requires_grad") and x._requires_grad]
        gs = grad(os_, d, grad_outputs=grad_outputs, create_graph=True, allow_unused=True)
        return tuple(g for g in gs if g is not None)

    return gradcheck(first_grad, inputs, eps=eps, atol=atol, rtol=rtol, raise_exception=raise_exception)
