"""``gradcheck``: compare analytical gradients with float64 finite differences."""
from __future__ import annotations

import warnings

import numpy as np


class GradcheckError(RuntimeError):
    """Raised by gradcheck when the analytical and numerical Jacobians differ (as in PyTorch)."""


def _as_tuple(x):
    return x if isinstance(x, tuple) else (x,)


def _is_diff(x) -> bool:
    return hasattr(x, "_requires_grad") and x._requires_grad


def _tensor_outputs(fn, inputs):
    from .._tensor import Tensor
    return [o for o in _as_tuple(fn(*inputs)) if isinstance(o, Tensor)]


def _flat_outputs(fn, inputs):
    from .._backend import to_numpy
    from .grad_mode import no_grad
    with no_grad():
        return [to_numpy(o._data).astype(np.float64).reshape(-1) for o in _tensor_outputs(fn, inputs)]


def _numerical_jacobians(fn, inputs, eps):
    """jac[i][j]: d output i / d input j by central differences, one input element at a time.

    Elements are perturbed in place through the input's own array, so strided
    (non-contiguous) inputs work as well.
    """
    sizes = [o.size for o in _flat_outputs(fn, inputs)]
    diff = [x for x in inputs if _is_diff(x)]
    jacs = [[np.zeros((n, x._data.size)) for x in diff] for n in sizes]
    for j, x in enumerate(diff):
        data = x._data
        for col, idx in enumerate(np.ndindex(*data.shape)):
            orig = data[idx].item()
            data[idx] = orig + eps
            plus = _flat_outputs(fn, inputs)
            data[idx] = orig - eps
            minus = _flat_outputs(fn, inputs)
            data[idx] = orig
            for i, (p, m) in enumerate(zip(plus, minus)):
                jacs[i][j][:, col] = (p - m) / (2 * eps)
    return jacs


def _analytical_jacobians(fn, inputs):
    """jac[i][j]: d output i / d input j, one ``autograd.grad`` call per output element."""
    from . import grad
    from .._backend import to_numpy, array_module
    from .._tensor import _wrap
    outputs = _tensor_outputs(fn, inputs)
    diff = [x for x in inputs if _is_diff(x)]
    jacs = [[np.zeros((o._data.size, x._data.size)) for x in diff] for o in outputs]
    for i, o in enumerate(outputs):
        if not o._requires_grad:
            continue
        xp = array_module(o._data)
        for row in range(o._data.size):
            g = xp.zeros(o._data.size, dtype=o._data.dtype)
            g[row] = 1
            gs = grad(o, diff, grad_outputs=_wrap(g.reshape(o._data.shape)), retain_graph=True, allow_unused=True)
            for j, gj in enumerate(gs):
                if gj is not None:
                    jacs[i][j][row] = to_numpy(gj._data).astype(np.float64).reshape(-1)
    return jacs


def _check_inputs(inputs) -> None:
    for i, x in enumerate(inputs):
        if not _is_diff(x):
            continue
        if x._data.dtype != np.float64:
            warnings.warn(f"Input #{i} requires gradient and is not a double precision floating point. "
                          "This check will likely fail if all the inputs are not of double precision "
                          "floating point. ", UserWarning, stacklevel=3)
        if not x._data.flags.writeable:
            raise ValueError(f"gradcheck: input #{i} is not writeable (an expanded or read-only array); "
                             "pass a contiguous copy")


def gradcheck(func, inputs, *, eps: float = 1e-6, atol: float = 1e-5, rtol: float = 1e-3,
              raise_exception: bool = True, **kwargs) -> bool:
    """True when analytical and numerical Jacobians of ``func`` agree (``torch.autograd.gradcheck``).

    Raises ``GradcheckError`` (or returns False with ``raise_exception=False``) on a mismatch.
    Inputs that require grad should be float64, as in PyTorch.
    """
    inputs = _as_tuple(inputs)
    _check_inputs(inputs)
    numerical = _numerical_jacobians(func, inputs, eps)
    analytical = _analytical_jacobians(func, inputs)
    diff = [x for x in inputs if _is_diff(x)]
    for i, (a_row, n_row) in enumerate(zip(analytical, numerical)):
        for j, (a, n) in enumerate(zip(a_row, n_row)):
            if not np.allclose(a, n, rtol=rtol, atol=atol):
                if raise_exception:
                    raise GradcheckError(f"Jacobian mismatch for output {i} with respect to input {j},\n"
                                         f"numerical:{_as_printed(n, diff[j])}\n"
                                         f"analytical:{_as_printed(a, diff[j])}\n")
                return False
    return True


def _as_printed(jacobian: np.ndarray, like) -> str:
    """PyTorch prints a Jacobian as a tensor of the input's dtype, one row per input element."""
    from .._tensor import _wrap
    return repr(_wrap(np.ascontiguousarray(jacobian.T).astype(like._data.dtype)))


def gradgradcheck(func, inputs, grad_outputs=None, *, eps: float = 1e-6, atol: float = 1e-5,
                  rtol: float = 1e-3, raise_exception: bool = True, **kwargs) -> bool:
    """gradcheck of the gradient itself: second derivatives through ``create_graph=True``
    (``torch.autograd.gradgradcheck``, with fixed random ``grad_outputs`` when none are given)."""
    from . import grad
    from .grad_mode import enable_grad
    from .._tensor import _wrap
    inputs = _as_tuple(inputs)
    if grad_outputs is None:
        rng = np.random.default_rng(0)
        grad_outputs = tuple(_wrap(rng.standard_normal(o._data.shape).astype(o._data.dtype))
                             for o in _tensor_outputs(func, inputs))
    grad_outputs = _as_tuple(grad_outputs)

    def first_grad(*xs):
        with enable_grad():  # the numerical pass runs under no_grad; the first gradient needs a graph
            outs = _tensor_outputs(func, xs)
            diff = [x for x in xs if _is_diff(x)]
            gs = grad(outs, diff, grad_outputs=grad_outputs, create_graph=True, allow_unused=True)
            return tuple(g for g in gs if g is not None)

    return gradcheck(first_grad, inputs, eps=eps, atol=atol, rtol=rtol, raise_exception=raise_exception)
