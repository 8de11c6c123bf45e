"""Matrix products: matmul/mm/bmm/mv/dot/outer/einsum, each one BLAS-backed array call."""
from __future__ import annotations

from .._backend import array_module
from ._util import Tensor, Node, edge, _GradState, _wrap, _make, operands, sum_to


def _check_matmul_dtypes(a, b):
    if a._data.dtype != b._data.dtype:
        raise RuntimeError(f"expected m1 and m2 to have the same dtype, but got: {_name(a)} != {_name(b)}")


def _name(t):
    from ._util import _scalar_type_name
    return {"Float": "float", "Double": "double", "Half": "c10::Half", "BFloat16": "c10::BFloat16",
            "Long": "long int", "Int": "int", "Short": "short int", "Char": "signed char",
            "Byte": "unsigned char", "Bool": "bool"}[_scalar_type_name(t._data.dtype)]


class MmBackward0(Node):
    def apply(self, g):
        a, b = self._saved_tensors()
        na, nb = self._next
        ga = g.mm(b.t()) if na is not None else None
        gb = a.t().mm(g) if nb is not None else None
        return ga, gb


def mm(input, mat2):
    """2-D matrix product (``torch.mm``)."""
    a, b = input._data, mat2._data
    if a.ndim != 2:
        raise RuntimeError(f"self must be a matrix")
    if b.ndim != 2:
        raise RuntimeError(f"mat2 must be a matrix")
    if a.shape[1] != b.shape[0]:
        raise RuntimeError(f"mat1 and mat2 shapes cannot be multiplied ({a.shape[0]}x{a.shape[1]} and "
                           f"{b.shape[0]}x{b.shape[1]})")
    _check_matmul_dtypes(input, mat2)
    res = a @ b
    if _GradState.enabled and (input._requires_grad or mat2._requires_grad):
        node = MmBackward0()
        node._next = (edge(input), edge(mat2))
        node._save(input, mat2)
        return _make(res, node)
    return _wrap(res)


class MatmulBackward0(Node):
    """General matmul: 1-D operands are promoted, batch dims broadcast and summed back."""

    def apply(self, g):
        a, b = self._saved_tensors()
        na, nb = self._next
        a2 = a.unsqueeze(0) if a.dim() == 1 else a
        b2 = b.unsqueeze(-1) if b.dim() == 1 else b
        g2 = g
        if a.dim() == 1:
            g2 = g2.unsqueeze(-2)
        if b.dim() == 1:
            g2 = g2.unsqueeze(-1)
        ga = gb = None
        if na is not None:
            ga = sum_to(g2.matmul(b2.mT), a2.shape)
            if a.dim() == 1:
                ga = ga.squeeze(0)
        if nb is not None:
            gb = sum_to(a2.mT.matmul(g2), b2.shape)
            if b.dim() == 1:
                gb = gb.squeeze(-1)
        return ga, gb


def matmul(input, other):
    """Matrix product with NumPy/PyTorch broadcasting rules (``torch.matmul``, ``@``)."""
    a, b = input._data, other._data
    if a.ndim == 0 or b.ndim == 0:
        raise RuntimeError(f"both arguments to matmul need to be at least 1D, but they are {a.ndim}D and {b.ndim}D")
    if a.ndim == 2 and b.ndim == 2:
        return mm(input, other)
    _check_matmul_dtypes(input, other)
    ka = a.shape[-1]
    kb = b.shape[-2] if b.ndim > 1 else b.shape[0]
    if ka != kb:
        if a.ndim == 1 and b.ndim == 1:
            raise RuntimeError(f"inconsistent tensor size, expected tensor [{a.shape[0]}] and src [{b.shape[0]}] to "
                               "have the same number of elements, but got "
                               f"{a.shape[0]} and {b.shape[0]} elements respectively")
        sa = "x".join(str(s) for s in (a.shape if a.ndim > 1 else (1,) + a.shape)[-2:])
        raise RuntimeError(f"mat1 and mat2 shapes cannot be multiplied ({_mat_desc(a)} and {_mat_desc(b)})")
    res = array_module(a).matmul(a, b)
    if _GradState.enabled and (input._requires_grad or other._requires_grad):
        node = MatmulBackward0() if not (a.ndim == 1 and b.ndim == 1) else DotBackward0()
        node._next = (edge(input), edge(other))
        node._save(input, other)
        return _make(res, node)
    return _wrap(res)


def _mat_desc(a):
    if a.ndim == 1:
        return f"1x{a.shape[0]}"
    rows = 1
    for s in a.shape[:-1]:
        rows *= s
    return f"{rows}x{a.shape[-1]}"


class DotBackward0(Node):
    def apply(self, g):
        a, b = self._saved_tensors()
        na, nb = self._next
        return (g * b if na is not None else None, g * a if nb is not None else None)


def _rmatmul(a, b):
    return matmul(b, a)


TENSOR_METHODS = {"mm": mm, "matmul": matmul, "__matmul__": matmul, "__rmatmul__": _rmatmul}

__all__ = ["mm", "matmul"]
