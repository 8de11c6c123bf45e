"""Matrix products: matmul/mm/bmm/mv/dot/outer, the addmm family, einsum, tensordot, kron.

Every product is one BLAS-backed array call (``a @ b``). Backward rules are products
again, written with ember ops so that ``create_graph=True`` gives higher-order gradients.
``matmul`` on N-D operands is composed from ``mm``/``mv``/``bmm`` and views the way
PyTorch composes it, so the graph shows the same ``grad_fn`` names.
"""
from __future__ import annotations

import numpy as np

from .._backend import array_module
from ._util import (Tensor, Node, edge, _GradState, _wrap, _make, sum_to, inplace, check_same_device,
                    _scalar_type_name, wrap_dim)
from .shape import UnsafeViewBackward0
from ._parallel import matmul as _split_matmul

# dtypes NumPy's matmul cannot do natively or well: computed in float32 (half types) or refused (bool)
_HALF_KINDS = "fV"


def _cpp_name(arr) -> str:
    """The C++ type name PyTorch prints in some dtype errors ("float", "long int")."""
    return {"Float": "float", "Double": "double", "Half": "c10::Half", "BFloat16": "c10::BFloat16",
            "Long": "long int", "Int": "int", "Short": "short int", "Char": "signed char",
            "Byte": "unsigned char", "Bool": "bool"}[_scalar_type_name(arr.dtype)]


def _type_name(arr) -> str:
    return _scalar_type_name(arr.dtype)


def _special_product(a, b, op_name: str):
    """``a @ b`` for bool (refused, as in PyTorch) and 2-byte floats (accumulated in float32)."""
    if a.dtype.kind == "b":
        raise NotImplementedError(f"\"{op_name}\" not implemented for 'Bool'")
    if type(a) is not type(b):
        check_same_device(a, b)
    if a.dtype.itemsize == 2 and a.dtype.kind in _HALF_KINDS:
        return (a.astype(np.float32) @ b.astype(np.float32)).astype(a.dtype)
    return a @ b


def _blas_operand(a):
    """``a`` as BLAS can read it: NumPy's matmul falls back to a much slower loop (1.7x for 512^2)
    for an operand with a zero or negative stride, such as the broadcast gradient of ``sum()``."""
    if type(a) is np.ndarray and a.ndim >= 2 and min(a.strides[-2:]) <= 0 and a.size > 1:
        return np.ascontiguousarray(a)
    return a


def _product(a, b, op_name: str):
    """The array product; the common float/int case is a single ``@``."""
    dt = a.dtype
    if dt.kind == "b" or dt.itemsize == 2 or type(a) is not type(b):
        return _special_product(a, b, op_name)
    return _split_matmul(_blas_operand(a), _blas_operand(b))


def _record(res, node_cls, inputs, saved=None):
    """Wrap ``res`` as the output of a recorded op whose inputs are ``inputs``."""
    node = node_cls()
    node._next = tuple(edge(t) for t in inputs)
    node._save(*(inputs if saved is None else saved))
    return _make(res, node)


def _needs_graph(*tensors) -> bool:
    if not _GradState.enabled:
        return False
    for t in tensors:
        if t._requires_grad:
            return True
    return False


def _numel(shape) -> int:
    n = 1
    for s in shape:
        n *= s
    return n


def _unsafe_view(t: Tensor, shape) -> Tensor:
    """Reshape a freshly computed (unshared) result; PyTorch shows ``UnsafeViewBackward0``."""
    d = t._data
    res = d.reshape(shape)
    if _GradState.enabled and t._requires_grad:
        node = UnsafeViewBackward0()
        node._next = (edge(t),)
        node._shape = d.shape
        return _make(res, node)
    return _wrap(res)


def _broadcast_batch(sa, sb):
    """Broadcast two batch shapes with PyTorch's error message."""
    n = max(len(sa), len(sb))
    out = []
    for i in range(n, 0, -1):
        x = sa[-i] if i <= len(sa) else 1
        y = sb[-i] if i <= len(sb) else 1
        if x != y and x != 1 and y != 1:
            raise RuntimeError(f"The size of tensor a ({x}) must match the size of tensor b ({y}) at "
                               f"non-singleton dimension {n - i}")
        out.append(y if x == 1 else x)
    return tuple(out)


def _scalar_for(arr, value):
    """``beta``/``alpha`` as the tensor's kind: integer tensors truncate them, as PyTorch does."""
    if arr.dtype.kind in "iub":
        return int(value)
    return value


# -------------------------------------------------------------------------------------------
# mm, bmm, mv, dot, vdot
# -------------------------------------------------------------------------------------------

class MmBackward0(Node):
    def apply(self, g):
        a, b = self._saved_tensors()
        na, nb = self._next
        # exactly two products; transposes are views, BLAS reads them without a copy
        return (_mm_like(g, b.t(), a) if na is not None else None,
                _mm_like(a.t(), g, b) if nb is not None else None)


def _mm_like(x: Tensor, y: Tensor, like: Tensor) -> Tensor:
    """``x @ y`` laid out like ``like``: for a transposed input (``weight.t()`` in Linear) the product
    is computed transposed, so the gradient reaching the leaf is contiguous and needs no copy."""
    ld = like._data
    if ld.flags.f_contiguous and not ld.flags.c_contiguous:
        return mm(y.t(), x.t()).t()
    return mm(x, y)


def mm(input: Tensor, mat2: Tensor) -> Tensor:
    """2-D matrix product (``torch.mm``); operands must share a dtype."""
    a, b = input._data, mat2._data
    if a.ndim != 2:
        raise RuntimeError("self must be a matrix")
    if b.ndim != 2:
        raise RuntimeError("mat2 must be a matrix")
    if a.shape[1] != b.shape[0]:
        raise RuntimeError(f"mat1 and mat2 shapes cannot be multiplied ({a.shape[0]}x{a.shape[1]} and "
                           f"{b.shape[0]}x{b.shape[1]})")
    if a.dtype != b.dtype:
        raise RuntimeError(f"expected m1 and m2 to have the same dtype, but got: {_cpp_name(a)} != {_cpp_name(b)}")
    res = _product(a, b, "addmm_impl_cpu_")
    if _GradState.enabled and (input._requires_grad or mat2._requires_grad):
        node = MmBackward0()
        node._next = (edge(input), edge(mat2))
        node._save(input, mat2)
        return _make(res, node)
    return _wrap(res)


def _check_bmm(batch1: int, k1: int, batch2: int, k2: int) -> None:
    if batch1 != batch2 or k1 != k2:
        raise RuntimeError(f"Expected size for first two dimensions of batch2 tensor to be: [{batch1}, {k1}] but "
                           f"got: [{batch2}, {k2}].")


def _check_same_scalar_type(a, b) -> None:
    if a.dtype != b.dtype:
        raise RuntimeError(f"expected scalar type {_type_name(a)} but found {_type_name(b)}")


class BmmBackward0(Node):
    def apply(self, g):
        a, b = self._saved_tensors()
        na, nb = self._next
        return (bmm(g, b.transpose(1, 2)) if na is not None else None,
                bmm(a.transpose(1, 2), g) if nb is not None else None)


def bmm(input: Tensor, mat2: Tensor) -> Tensor:
    """Batched matrix product of two 3-D tensors with equal batch sizes (``torch.bmm``)."""
    a, b = input._data, mat2._data
    if a.ndim != 3:
        raise RuntimeError("batch1 must be a 3D tensor")
    if b.ndim != 3:
        raise RuntimeError("batch2 must be a 3D tensor")
    _check_bmm(a.shape[0], a.shape[2], b.shape[0], b.shape[1])
    _check_same_scalar_type(a, b)
    res = _product(a, b, "bmm")
    if _needs_graph(input, mat2):
        return _record(res, BmmBackward0, (input, mat2))
    return _wrap(res)


class MvBackward0(Node):
    def apply(self, g):
        m, v = self._saved_tensors()
        nm, nv = self._next
        return (outer(g, v) if nm is not None else None,
                mv(m.t(), g) if nv is not None else None)


def mv(input: Tensor, vec: Tensor) -> Tensor:
    """Matrix-vector product (``torch.mv``)."""
    m, v = input._data, vec._data
    if m.ndim != 2 or v.ndim != 1:
        raise RuntimeError(f"vector + matrix @ vector expected, got 1, {m.ndim}, {v.ndim}")
    if m.shape[1] != v.shape[0]:
        raise RuntimeError(f"size mismatch, got input ({m.shape[0]}), mat ({m.shape[0]}x{m.shape[1]}), "
                           f"vec ({v.shape[0]})")
    if m.dtype != v.dtype:
        # PyTorch allocates the result with the vector's dtype and reports it first
        raise RuntimeError(f"addmv input tensors must have the same dtype, but got {_type_name(v)}, "
                           f"{_type_name(m)}, and {_type_name(v)}")
    res = _product(m, v, "addmv_impl_cpu")
    if _needs_graph(input, vec):
        return _record(res, MvBackward0, (input, vec))
    return _wrap(res)


class DotBackward0(Node):
    def apply(self, g):
        a, b = self._saved_tensors()
        na, nb = self._next
        return (g * b if na is not None else None, g * a if nb is not None else None)


class VdotBackward0(DotBackward0):
    pass


def _dot(input: Tensor, other: Tensor, name: str, node_cls) -> Tensor:
    a, b = input._data, other._data
    if a.ndim != 1 or b.ndim != 1:
        raise RuntimeError(f"1D tensors expected, but got {a.ndim}D and {b.ndim}D tensors")
    if a.dtype != b.dtype:
        raise RuntimeError(f"dot : expected both vectors to have same dtype, but found {_type_name(a)} and "
                           f"{_type_name(b)}")
    if a.shape[0] != b.shape[0]:
        raise RuntimeError(f"inconsistent tensor size, expected tensor [{a.shape[0]}] and src [{b.shape[0]}] to "
                           f"have the same number of elements, but got {a.shape[0]} and {b.shape[0]} elements "
                           "respectively")
    res = _product(a, b, name)
    if _needs_graph(input, other):
        return _record(res, node_cls, (input, other))
    return _wrap(res)


def dot(input: Tensor, other: Tensor) -> Tensor:
    """Inner product of two 1-D tensors of the same dtype (``torch.dot``)."""
    return _dot(input, other, "dot", DotBackward0)


def vdot(input: Tensor, other: Tensor) -> Tensor:
    """Conjugating inner product (``torch.vdot``); ember has no complex dtypes, so it equals ``dot``."""
    return _dot(input, other, "vdot", VdotBackward0)


def outer(input: Tensor, vec2: Tensor) -> Tensor:
    """Outer product of two vectors with type promotion (``torch.outer``); PyTorch shows ``MulBackward0``."""
    if input._data.ndim != 1:
        raise RuntimeError(f"outer: Expected 1-D argument self, but got {input._data.ndim}-D")
    if vec2._data.ndim != 1:
        raise RuntimeError(f"outer: Expected 1-D argument vec2, but got {vec2._data.ndim}-D")
    return input.reshape(-1, 1) * vec2


ger = outer


# -------------------------------------------------------------------------------------------
# matmul
# -------------------------------------------------------------------------------------------

class SqueezeBackward4(Node):
    """The in-place ``squeeze_(0)`` PyTorch applies after a vector @ matrix product."""

    def apply(self, g):
        return (g.unsqueeze(0),)


def _vector_matrix(vec: Tensor, mat: Tensor) -> Tensor:
    if _GradState.enabled and (vec._requires_grad or mat._requires_grad):
        out = mm(vec.unsqueeze(0), mat)
        node = SqueezeBackward4()
        node._next = (edge(out),)
        return _make(out._data[0], node)
    return _wrap(mm(_wrap(vec._data[None]), mat)._data[0])


def _should_fold(input: Tensor, other: Tensor) -> bool:
    """Whether the N-D product folds the larger operand into a matrix (one mm/mv instead of bmm)."""
    na, nb = input._data.ndim, other._data.ndim
    big, small, small_t = (na, nb, other) if na >= nb else (nb, na, input)
    if not (big >= 3 and small <= 2):
        return False
    if small_t._requires_grad:
        # folding keeps the gradient of the small operand one mm instead of a big batched sum
        return True
    if na == 2:
        return False  # folding a 2-D @ N-D product would need a transposed copy of the output
    big_arr = input._data if na >= nb else other._data.swapaxes(-1, -2)
    if big_arr.size == 0:
        return True
    # fold only when flattening the batch dims is a view, not a copy
    shape, strides = big_arr.shape, big_arr.strides
    return all(strides[i] == strides[i + 1] * shape[i + 1] for i in range(big - 2))


def _folded_matmul(input: Tensor, other: Tensor) -> Tensor:
    """N-D @ (1-D or 2-D) as one mm/mv over the flattened batch (and the transposed mirror case)."""
    transpose = other._data.ndim > input._data.ndim
    if transpose:
        t1 = other.mT
        t2 = input.t() if input._data.ndim == 2 else input
    else:
        t1, t2 = input, other
    lead = t1._data.shape[:-1]
    folded = t1.reshape(_numel(lead), t1._data.shape[-1])
    if t2._data.ndim == 2:
        out = _unsafe_view(mm(folded, t2), lead + (t2._data.shape[1],))
        return out.mT.contiguous() if transpose else out
    return _unsafe_view(mv(folded, t2), lead)


def _batched_matmul(input: Tensor, other: Tensor) -> Tensor:
    """Broadcast batch dimensions and run one bmm (PyTorch's general matmul case)."""
    a, b = input._data, other._data
    na, nb = a.ndim, b.ndim
    n = a.shape[-2] if na > 1 else 1
    k1 = a.shape[-1]
    k2 = b.shape[-2] if nb > 1 else b.shape[0]
    p = b.shape[-1] if nb > 1 else 1
    batch1, batch2 = a.shape[:max(na - 2, 0)], b.shape[:max(nb - 2, 0)]
    if na == 3 and nb == 3 and batch1[0] != batch2[0]:
        # a size-1 batch that requires grad is dropped so its gradient needs no batch sum
        if batch1[0] == 1 and input._requires_grad:
            return matmul(input.squeeze(0), other)
        if batch2[0] == 1 and other._requires_grad:
            return matmul(input, other.squeeze(0))
    batch = _broadcast_batch(batch1, batch2)
    count = _numel(batch)
    _check_bmm(count, k1, count, k2)
    _check_same_scalar_type(a, b)
    out_shape = batch + ((n,) if na > 1 else ()) + ((p,) if nb > 1 else ())
    if not _needs_graph(input, other):
        # NumPy broadcasts the batch itself; no expanded copies needed without a graph
        return _wrap(_product(a, b, "bmm").reshape(out_shape))
    t1 = input.expand(batch + (n, k1)).reshape(count, n, k1)
    if nb == 1:
        t2 = other.expand(batch + (k2,)).reshape(count, k2).unsqueeze(2)
        return _unsafe_view(bmm(t1, t2).squeeze(-1), out_shape)
    t2 = other.expand(batch + (k2, p)).reshape(count, k2, p)
    return _unsafe_view(bmm(t1, t2), out_shape)


def matmul(input: Tensor, other: Tensor) -> Tensor:
    """Matrix product with PyTorch's rank rules and batch broadcasting (``torch.matmul``, ``@``)."""
    na, nb = input._data.ndim, other._data.ndim
    if na == 2 and nb == 2:
        return mm(input, other)
    if na == 0 or nb == 0:
        raise RuntimeError(f"both arguments to matmul need to be at least 1D, but they are {na}D and {nb}D")
    if na == 1 and nb == 1:
        return dot(input, other)
    if na == 2 and nb == 1:
        return mv(input, other)
    if na == 1 and nb == 2:
        return _vector_matrix(input, other)
    if _should_fold(input, other):
        return _folded_matmul(input, other)
    return _batched_matmul(input, other)


def _rmatmul(self: Tensor, other) -> Tensor:
    return matmul(other, self)


# -------------------------------------------------------------------------------------------
# addmm, addmv, baddbmm, addbmm: beta * input + alpha * product
# -------------------------------------------------------------------------------------------

def _scaled_sum(prod, inp, beta, alpha):
    """``beta * inp + alpha * prod`` into ``prod`` (a fresh array); beta == 0 ignores ``inp`` (even NaN)."""
    alpha, beta = _scalar_for(prod, alpha), _scalar_for(prod, beta)
    if alpha != 1:
        prod *= alpha
    if beta == 1:
        prod += inp
    elif beta != 0:
        prod += inp * beta
    return prod


def _check_broadcastable(input: Tensor, shape) -> None:
    if input._data.shape != shape:
        input.expand(shape)  # raises PyTorch's expand error when ``input`` does not broadcast


def _scaled(t: Tensor, factor) -> Tensor:
    return t if factor == 1 else t * factor


class _AddProductBackward(Node):
    """Shared backward of ``beta * input + alpha * f(m1, m2)``; subclasses give the two products."""

    def apply(self, g):
        m1, m2 = self._saved_tensors()
        ni, n1, n2 = self._next
        gi = sum_to(_scaled(g, self._beta), self._in_shape) if ni is not None else None
        g1 = _scaled(self._grad1(g, m1, m2), self._alpha) if n1 is not None else None
        g2 = _scaled(self._grad2(g, m1, m2), self._alpha) if n2 is not None else None
        return gi, g1, g2


class AddmmBackward0(_AddProductBackward):
    def _grad1(self, g, m1, m2):
        return _mm_like(g, m2.t(), m1)

    def _grad2(self, g, m1, m2):
        return _mm_like(m1.t(), g, m2)


class AddmvBackward0(_AddProductBackward):
    def _grad1(self, g, _, v):
        return outer(g, v)

    def _grad2(self, g, m, _):
        return mv(m.t(), g)


class BaddbmmBackward0(_AddProductBackward):
    def _grad1(self, g, _, b2):
        return bmm(g, b2.transpose(1, 2))

    def _grad2(self, g, b1, _):
        return bmm(b1.transpose(1, 2), g)


class AddbmmBackward0(_AddProductBackward):
    def _grad1(self, g, _, b2):
        return matmul(g, b2.transpose(1, 2))  # (n, p) @ (B, p, k): broadcast over the batch

    def _grad2(self, g, b1, _):
        return matmul(b1.transpose(1, 2), g)


def _add_product(node_cls, input, m1, m2, prod, beta, alpha):
    _check_broadcastable(input, prod.shape)
    res = _scaled_sum(prod, input._data, beta, alpha)
    if _needs_graph(input, m1, m2):
        node = node_cls()
        node._next = (edge(input), edge(m1), edge(m2))
        node._save(m1, m2)
        node._in_shape, node._beta, node._alpha = input._data.shape, beta, alpha
        return _make(res, node)
    return _wrap(res)


def addmm(input: Tensor, mat1: Tensor, mat2: Tensor, *, beta=1, alpha=1) -> Tensor:
    """``beta * input + alpha * (mat1 @ mat2)`` with ``input`` broadcast (``torch.addmm``)."""
    i, a, b = input._data, mat1._data, mat2._data
    if i.dtype != b.dtype:
        raise RuntimeError(f"self and mat2 must have the same dtype, but got {_type_name(i)} and {_type_name(b)}")
    if a.dtype != b.dtype:
        raise RuntimeError(f"mat1 and mat2 must have the same dtype, but got {_type_name(a)} and {_type_name(b)}")
    if a.ndim != 2:
        raise RuntimeError(f"mat1 must be a matrix, got {a.ndim}-D tensor")
    if b.ndim != 2:
        raise RuntimeError(f"mat2 must be a matrix, got {b.ndim}-D tensor")
    if a.shape[1] != b.shape[0]:
        raise RuntimeError(f"mat1 and mat2 shapes cannot be multiplied ({a.shape[0]}x{a.shape[1]} and "
                           f"{b.shape[0]}x{b.shape[1]})")
    return _add_product(AddmmBackward0, input, mat1, mat2, _product(a, b, "addmm_impl_cpu_"), beta, alpha)


def addmv(input: Tensor, mat: Tensor, vec: Tensor, *, beta=1, alpha=1) -> Tensor:
    """``beta * input + alpha * (mat @ vec)`` (``torch.addmv``)."""
    i, m, v = input._data, mat._data, vec._data
    if m.ndim != 2 or v.ndim != 1 or i.ndim > 1:
        raise RuntimeError(f"vector + matrix @ vector expected, got {i.ndim}, {m.ndim}, {v.ndim}")
    in_size = i.shape[0] if i.ndim else 1
    if m.shape[1] != v.shape[0] or (in_size != m.shape[0] and in_size != 1):
        raise RuntimeError(f"size mismatch, got input ({in_size}), mat ({m.shape[0]}x{m.shape[1]}), "
                           f"vec ({v.shape[0]})")
    if not (i.dtype == m.dtype == v.dtype):
        raise RuntimeError(f"addmv input tensors must have the same dtype, but got {_type_name(i)}, "
                           f"{_type_name(m)}, and {_type_name(v)}")
    return _add_product(AddmvBackward0, input, mat, vec, _product(m, v, "addmv_impl_cpu"), beta, alpha)


def _check_batches(input, batch1, batch2):
    i, a, b = input._data, batch1._data, batch2._data
    if a.ndim != 3:
        raise RuntimeError("batch1 must be a 3D tensor")
    if b.ndim != 3:
        raise RuntimeError("batch2 must be a 3D tensor")
    return i, a, b


def baddbmm(input: Tensor, batch1: Tensor, batch2: Tensor, *, beta=1, alpha=1) -> Tensor:
    """``beta * input + alpha * bmm(batch1, batch2)`` (``torch.baddbmm``)."""
    i, a, b = _check_batches(input, batch1, batch2)
    if not (i.dtype == a.dtype == b.dtype):
        if a.dtype == b.dtype:
            raise RuntimeError(f"Input dtypes must be the same, got: input {_cpp_name(i)}, batch1: {_cpp_name(a)}, "
                               f"batch2: {_cpp_name(b)}")
        _check_same_scalar_type(a, b)
    _check_bmm(a.shape[0], a.shape[2], b.shape[0], b.shape[1])
    return _add_product(BaddbmmBackward0, input, batch1, batch2, _product(a, b, "bmm"), beta, alpha)


def addbmm(input: Tensor, batch1: Tensor, batch2: Tensor, *, beta=1, alpha=1) -> Tensor:
    """``beta * input + alpha * sum_b batch1[b] @ batch2[b]`` (``torch.addbmm``), one matrix product."""
    i, a, b = _check_batches(input, batch1, batch2)
    if a.shape[0] != b.shape[0]:
        raise RuntimeError(f"batch1 and batch2 must have same number of batches, got {a.shape[0]} and {b.shape[0]}")
    if a.shape[2] != b.shape[1]:
        raise RuntimeError(f"Incompatible matrix sizes for bmm ({a.shape[1]}x{a.shape[2]} and "
                           f"{b.shape[1]}x{b.shape[2]})")
    if i.dtype != b.dtype or a.dtype != b.dtype:
        bad = a if i.dtype == b.dtype else i
        raise RuntimeError(f"self and mat2 must have the same dtype, but got {_type_name(bad)} and "
                           f"{_type_name(b)}")
    count, n, k = a.shape
    # the batch sum is the contraction over (batch, k): one (n, B*k) @ (B*k, p) product
    left = a.transpose(1, 0, 2).reshape(n, count * k)
    right = b.reshape(count * k, b.shape[2])
    return _add_product(AddbmmBackward0, input, batch1, batch2, _product(left, right, "addbmm"), beta, alpha)


# -------------------------------------------------------------------------------------------
# einsum
# -------------------------------------------------------------------------------------------

_LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_LETTER_SET = frozenset(_LETTERS)
_ELLIPSIS = "..."
_SMALL_WORK = 1 << 14  # below this many multiply-adds NumPy's C einsum beats a reshaped matmul


def _invalid_subscript(index: int):
    return RuntimeError(f"einsum(): invalid subscript given at index {index} in the equation string, subscripts "
                        "must be in [a-zA-Z]")


def _parse_inputs(lhs: str, num_ops: int):
    """The subscripts of each operand: lists of letters with ``_ELLIPSIS`` marking an ellipsis."""
    terms, current, found_ell = [], [], False
    i = 0
    while i < len(lhs):
        ch = lhs[i]
        if ch == ".":
            op = len(terms)
            if found_ell:
                raise RuntimeError(f"einsum(): found '.' for operand {op} for which an ellipsis was already found")
            if lhs[i + 1:i + 3] != "..":
                raise RuntimeError(f"einsum(): found '.' for operand {op} that is not part of any ellipsis")
            current.append(_ELLIPSIS)
            found_ell = True
            i += 2
        elif ch == ",":
            terms.append(current)
            current, found_ell = [], False
            if len(terms) >= num_ops:
                raise RuntimeError("einsum(): fewer operands were provided than specified in the equation")
        elif ch in _LETTER_SET:
            current.append(ch)
        elif ch != " ":
            raise _invalid_subscript(i)
        i += 1
    terms.append(current)
    if len(terms) != num_ops:
        raise RuntimeError("einsum(): more operands were provided than specified in the equation")
    return terms


def _parse_output(rhs: str, offset: int, input_letters):
    out, found_ell = [], False
    i = 0
    while i < len(rhs):
        ch = rhs[i]
        if ch == ".":
            if found_ell:
                raise RuntimeError("einsum(): found '.' for output but an ellipsis (...) was already found")
            if rhs[i + 1:i + 3] != "..":
                raise RuntimeError("einsum(): found '.' for output that is not part of any ellipsis (...)")
            out.append(_ELLIPSIS)
            found_ell = True
            i += 2
        elif ch in _LETTER_SET:
            if ch in out:
                raise RuntimeError(f"einsum(): output subscript {ch} appears more than once in the output")
            if ch not in input_letters:
                raise RuntimeError(f"einsum(): output subscript {ch} does not appear in the equation for any input "
                                   "operand")
            out.append(ch)
        elif ch != " ":
            raise _invalid_subscript(offset + i)
        i += 1
    return out


def _check_operand_rank(k: int, term, ndim: int) -> None:
    labels = len(term) - (_ELLIPSIS in term)
    if _ELLIPSIS in term:
        if labels > ndim:
            raise RuntimeError(f"einsum(): the number of subscripts in the equation ({labels}) is more than the "
                               f"number of dimensions ({ndim}) for operand {k}")
    elif labels != ndim:
        raise RuntimeError(f"einsum(): the number of subscripts in the equation ({labels}) does not match the number "
                           f"of dimensions ({ndim}) for operand {k} and no ellipsis was given")


def _expand_ellipses(terms, out, operands):
    """Replace each ellipsis by letters unused in the equation (right-aligned across operands)."""
    used = {ch for term in terms for ch in term} | set(out)
    free = [ch for ch in _LETTERS if ch not in used]
    ell_dims = [op._data.ndim - (len(t) - 1) for t, op in zip(terms, operands) if _ELLIPSIS in t]
    width = max(ell_dims, default=0)
    ell_letters = free[:width]
    subs = []
    for term, op in zip(terms, operands):
        if _ELLIPSIS in term:
            n = op._data.ndim - (len(term) - 1)
            pos = term.index(_ELLIPSIS)
            term = term[:pos] + ell_letters[width - n:] + term[pos + 1:]
        subs.append("".join(term))
    return subs, ell_letters


def _label_sizes(subs, operands, ell_letters):
    """Each letter's size, with size-1 broadcasting; PyTorch's errors for mismatches."""
    sizes = {}
    for k, (sub, op) in enumerate(zip(subs, operands)):
        shape = op._data.shape
        seen = {}
        for j, (ch, size) in enumerate(zip(sub, shape)):
            if ch in seen:
                if size != seen[ch]:
                    raise RuntimeError(f"einsum(): subscript {ch} is repeated for operand {k} but the sizes don't "
                                       f"match, {size} != {seen[ch]}")
                continue
            seen[ch] = size
            prev = sizes.get(ch)
            if prev is None or prev == 1:
                sizes[ch] = size
            elif size != prev and size != 1:
                if ch in ell_letters:
                    dim = ell_letters.index(ch)
                    raise RuntimeError(f"einsum(): dimension {dim} covered by ellipsis in operand {k}has size {size} "
                                       f"which does not broadcast with previously seen ellipsis with size {prev} for "
                                       "the respective dimension")
                raise RuntimeError(f"einsum(): subscript {ch} has size {size} for operand {k} which does not "
                                   f"broadcast with previously seen size {prev}")
    return sizes


def _parse_einsum(equation: str, operands):
    """Canonical subscripts: one letter string per operand and the output, ellipses spelled out."""
    arrow = equation.find("->")
    lhs = equation if arrow < 0 else equation[:arrow]
    terms = _parse_inputs(lhs, len(operands))
    input_letters = {ch for term in terms for ch in term if ch != _ELLIPSIS}
    if arrow >= 0:
        out = _parse_output(equation[arrow + 2:], arrow + 2, input_letters)
    else:
        counts = {}
        for term in terms:
            for ch in term:
                counts[ch] = counts.get(ch, 0) + 1
        has_ell = counts.pop(_ELLIPSIS, 0) > 0
        out = ([_ELLIPSIS] if has_ell else []) + sorted(ch for ch, c in counts.items() if c == 1)
    for k, (term, op) in enumerate(zip(terms, operands)):
        _check_operand_rank(k, term, op._data.ndim)
    subs, ell_letters = _expand_ellipses(terms, out, operands)
    if _ELLIPSIS in out:
        pos = out.index(_ELLIPSIS)
        out = out[:pos] + ell_letters + out[pos + 1:]
    return subs, "".join(out), ell_letters


def _contract_two(sa: str, sb: str, so: str, a, b):
    """Two-operand einsum (no repeated letters) as one batched matrix product."""
    # letters only one operand has and the output lacks are summed out first
    drop_a = tuple(i for i, ch in enumerate(sa) if ch not in sb and ch not in so)
    if drop_a:
        a = a.sum(axis=drop_a)
        sa = "".join(ch for ch in sa if ch in sb or ch in so)
    drop_b = tuple(i for i, ch in enumerate(sb) if ch not in sa and ch not in so)
    if drop_b:
        b = b.sum(axis=drop_b)
        sb = "".join(ch for ch in sb if ch in sa or ch in so)
    batch = [ch for ch in sa if ch in sb and ch in so]
    summed = [ch for ch in sa if ch in sb and ch not in so]
    free_a = [ch for ch in sa if ch not in sb]
    free_b = [ch for ch in sb if ch not in sa]
    size = dict(zip(sa, a.shape))
    size.update(zip(sb, b.shape))
    nbatch = _numel(size[ch] for ch in batch)
    nk = _numel(size[ch] for ch in summed)
    left = a.transpose([sa.index(ch) for ch in batch + free_a + summed]).reshape(
        nbatch, _numel(size[ch] for ch in free_a), nk)
    right = b.transpose([sb.index(ch) for ch in batch + summed + free_b]).reshape(
        nbatch, nk, _numel(size[ch] for ch in free_b))
    res = left @ right
    order = batch + free_a + free_b
    res = res.reshape(tuple(size[ch] for ch in order))
    perm = [order.index(ch) for ch in so]
    return res.transpose(perm) if perm != list(range(len(perm))) else res


def _einsum_arrays(subs, out: str, arrays):
    xp = array_module(arrays[0])
    dtype = arrays[0].dtype
    if dtype.itemsize == 2 and dtype.kind in _HALF_KINDS:
        res = _einsum_arrays(subs, out, [x.astype(np.float32) for x in arrays])
        return res.astype(dtype)
    if len(arrays) == 2 and len(set(subs[0])) == len(subs[0]) and len(set(subs[1])) == len(subs[1]) \
            and arrays[0].size * arrays[1].size > _SMALL_WORK:
        return _contract_two(subs[0], subs[1], out, arrays[0], arrays[1])
    equation = ",".join(subs) + "->" + out
    if len(arrays) == 1:
        res = xp.einsum(equation, arrays[0])
        # NumPy may return a view of the input; an op result owns its storage
        return res.copy() if xp.may_share_memory(res, arrays[0]) else res
    return xp.einsum(equation, *arrays, optimize=len(arrays) > 2)


class EinsumBackward0(Node):
    """The gradient of each operand is an einsum of the output grad with the other operands.

    PyTorch decomposes einsum into permutes/bmm/sum, so its grad_fn name varies; ember keeps one node.
    """

    def apply(self, g):
        tensors = self._saved_tensors()
        return tuple(None if nxt is None else _einsum_grad(k, g, tensors, self._subs, self._out)
                     for k, nxt in enumerate(self._next))


def _einsum_grad(k: int, g: Tensor, tensors, subs, out: str) -> Tensor:
    target = subs[k]
    terms = [out] + [s for i, s in enumerate(subs) if i != k]
    ops = [g] + [t for i, t in enumerate(tensors) if i != k]
    sizes = dict(zip(target, tensors[k]._data.shape))
    used = set("".join(subs)) | set(out)
    fresh = iter(ch for ch in _LETTERS if ch not in used)
    xp, dtype = array_module(g._data), g._data.dtype
    available = set("".join(terms))
    result, seen = [], set()
    for ch in target:
        if ch in seen:
            # a repeated letter is a diagonal: the gradient lives on it, spread by an identity matrix
            other = next(fresh)
            result.append(other)
            terms.append(ch + other)
            ops.append(_wrap(xp.eye(sizes[ch], dtype=dtype)))
        else:
            seen.add(ch)
            result.append(ch)
    for ch in seen:
        if ch not in available:
            # summed within this operand only: the gradient is broadcast along it
            terms.append(ch)
            ops.append(_wrap(xp.ones(sizes[ch], dtype=dtype)))
    return _einsum_core(terms, "".join(result), ops)


def _einsum_core(subs, out: str, tensors) -> Tensor:
    res = _einsum_arrays(subs, out, [t._data for t in tensors])
    if _GradState.enabled and any(t._requires_grad for t in tensors):
        node = EinsumBackward0()
        node._next = tuple(edge(t) for t in tensors)
        node._save(*tensors)
        node._subs, node._out = tuple(subs), out
        return _make(res, node)
    return _wrap(res)


def _sublist_equation(args):
    """``einsum(op0, [0, 1], op1, [1, 2], [0, 2])`` as an equation string and operands."""
    operands, terms = [], []
    items = list(args)
    output = items.pop() if len(items) % 2 == 1 else None

    def spell(sublist):
        return "".join("..." if s is Ellipsis else _LETTERS[s] for s in sublist)

    for op, sub in zip(items[0::2], items[1::2]):
        operands.append(op)
        terms.append(spell(sub))
    equation = ",".join(terms) + ("" if output is None else "->" + spell(output))
    return equation, operands


def einsum(*args) -> Tensor:
    """Einstein summation (``torch.einsum``): explicit/implicit output, ellipsis, diagonals, broadcasting."""
    if len(args) < 2:
        raise ValueError("einsum(): must specify the equation string and at least one operand, or at least one "
                         "operand and its subscripts list")
    if isinstance(args[0], str):
        equation, operands = args[0], list(args[1:])
        if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
            operands = list(operands[0])
    else:
        equation, operands = _sublist_equation(args)
    subs, out, ell_letters = _parse_einsum(equation, operands)
    first = operands[0]._data
    for op in operands[1:]:
        _check_same_scalar_type(first, op._data)
    sizes = _label_sizes(subs, operands, ell_letters)
    for k, (sub, op) in enumerate(zip(subs, operands)):
        target = tuple(sizes[ch] for ch in sub)
        if op._data.shape != target:
            operands[k] = op.expand(target)  # size-1 broadcasting; ExpandBackward0 sums the gradient back
    if len(operands) == 1 and first.dtype.kind in "biu" and set(subs[0]) - set(out):
        # a single-operand reduction is a sum in PyTorch, which accumulates integers in int64
        operands[0] = operands[0].long()
    return _einsum_core(subs, out, operands)


# -------------------------------------------------------------------------------------------
# tensordot, kron
# -------------------------------------------------------------------------------------------

def _tensordot_dims(dims, nda: int, ndb: int):
    if isinstance(dims, Tensor):
        dims = dims.tolist()
    if isinstance(dims, (int, np.integer)):
        dims = int(dims)
        if dims < 0:
            raise RuntimeError(f"tensordot expects dims >= 0, but got dims={dims}")
        if dims > nda or dims > ndb:
            raise RuntimeError(f"tensordot expects dims < ndim_a or ndim_b, but got dims={dims}")
        return list(range(-dims, 0)), list(range(dims))
    dims_a, dims_b = dims
    if isinstance(dims_a, (int, np.integer)):
        dims_a = [dims_a]
    if isinstance(dims_b, (int, np.integer)):
        dims_b = [dims_b]
    if len(dims_a) != len(dims_b):
        raise RuntimeError("both dimension lists should have same length")
    return [int(d) for d in dims_a], [int(d) for d in dims_b]


def _unique_dims(dims, ndim: int):
    wrapped = [wrap_dim(d, ndim) for d in dims]
    seen = set()
    for d in wrapped:
        if d in seen:
            raise RuntimeError(f"dim {d} appears multiple times in the list of dims")
        seen.add(d)
    return wrapped


def tensordot(a: Tensor, b: Tensor, dims=2, out=None) -> Tensor:
    """Contract ``dims`` (a count, or two lists of dimensions) of ``a`` and ``b`` (``torch.tensordot``)."""
    nda, ndb = a._data.ndim, b._data.ndim
    given_a, given_b = _tensordot_dims(dims, nda, ndb)
    if a._data.dtype != b._data.dtype:
        raise RuntimeError("both inputs should have same dtype")
    dims_a, dims_b = _unique_dims(given_a, nda), _unique_dims(given_b, ndb)
    shape_a, shape_b = list(a._data.shape), list(b._data.shape)
    for da, db, ga, gb in zip(dims_a, dims_b, given_a, given_b):
        sa, sb = shape_a[da], shape_b[db]
        if sa != sb and sa != 1 and sb != 1:
            raise RuntimeError(f"contracted dimensions need to match, but first has size {sa} in dim {ga} and second "
                               f"has size {sb} in dim {gb}")
        shape_a[da] = shape_b[db] = max(sa, sb) if sa and sb else 0
    if tuple(shape_a) != a._data.shape:
        a = a.expand(shape_a)
    if tuple(shape_b) != b._data.shape:
        b = b.expand(shape_b)
    free_a = [d for d in range(nda) if d not in dims_a]
    free_b = [d for d in range(ndb) if d not in dims_b]
    k = _numel(shape_a[d] for d in dims_a)
    left = _permuted(a, free_a + dims_a).reshape(_numel(shape_a[d] for d in free_a), k)
    right = _permuted(b, dims_b + free_b).reshape(k, _numel(shape_b[d] for d in free_b))
    res = mm(left, right).reshape([shape_a[d] for d in free_a] + [shape_b[d] for d in free_b])
    if out is not None:
        out.copy_(res)
        return out
    return res


def _permuted(t: Tensor, order) -> Tensor:
    return t if order == list(range(len(order))) else t.permute(order)


def kron(input: Tensor, other: Tensor) -> Tensor:
    """Kronecker product with type promotion (``torch.kron``)."""
    sa, sb = input._data.shape, other._data.shape
    nd = max(len(sa), len(sb))
    sa, sb = (1,) * (nd - len(sa)) + sa, (1,) * (nd - len(sb)) + sb
    # interleave: a as (a0, 1, a1, 1, ...), b as (1, b0, 1, b1, ...); their product is the block layout
    left = input.reshape([s for d in sa for s in (d, 1)])
    right = other.reshape([s for d in sb for s in (1, d)])
    return _unsafe_view(left * right, tuple(x * y for x, y in zip(sa, sb)))


# -------------------------------------------------------------------------------------------
# in-place variants and registration
# -------------------------------------------------------------------------------------------

def addmm_(self: Tensor, mat1: Tensor, mat2: Tensor, *, beta=1, alpha=1) -> Tensor:
    return inplace(self, addmm, mat1, mat2, beta=beta, alpha=alpha)


def addmv_(self: Tensor, mat: Tensor, vec: Tensor, *, beta=1, alpha=1) -> Tensor:
    return inplace(self, addmv, mat, vec, beta=beta, alpha=alpha)


def baddbmm_(self: Tensor, batch1: Tensor, batch2: Tensor, *, beta=1, alpha=1) -> Tensor:
    return inplace(self, baddbmm, batch1, batch2, beta=beta, alpha=alpha)


def addbmm_(self: Tensor, batch1: Tensor, batch2: Tensor, *, beta=1, alpha=1) -> Tensor:
    return inplace(self, addbmm, batch1, batch2, beta=beta, alpha=alpha)


TENSOR_METHODS = {
    "mm": mm, "bmm": bmm, "mv": mv, "dot": dot, "vdot": vdot, "outer": outer, "ger": ger,
    "matmul": matmul, "__matmul__": matmul, "__rmatmul__": _rmatmul,
    "addmm": addmm, "addmv": addmv, "baddbmm": baddbmm, "addbmm": addbmm,
    "addmm_": addmm_, "addmv_": addmv_, "baddbmm_": baddbmm_, "addbmm_": addbmm_,
    "kron": kron,
}

__all__ = ["mm", "bmm", "mv", "dot", "vdot", "outer", "ger", "matmul", "addmm", "addmv", "baddbmm", "addbmm",
           "einsum", "tensordot", "kron"]
