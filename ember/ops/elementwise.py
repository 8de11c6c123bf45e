"""Elementwise ops: arithmetic, unary math, comparisons, logic, clamp/where, casts.

Each op is a forward function on arrays and a ``*Backward0`` node beside it whose
``apply`` writes the gradient with ember ops (so ``create_graph=True`` works).
"""
from __future__ import annotations

import math

import numpy as np

from .. import _dtype as D
from .._backend import array_module, special_erf, special_erfc, special_erfinv
from ._parallel import in_chunks
from ._util import (Tensor, Node, edge, SavedOutput, _GradState, _wrap, _make, operands, grad_for,
                    float_array, inplace, inplace_ufunc, requires_grad_any, result_dtype, check_inplace_leaf,
                    as_tensor_like, check_writeable)

# ------------------------------------------------------------------------------------------
# Binary arithmetic
# ------------------------------------------------------------------------------------------


class _BinaryNode(Node):
    """Records the inputs' shapes and dtypes for the broadcast undo and the dtype restore."""

    def _setup(self, a, b):
        ad = a._data
        self._sa, self._da = ad.shape, ad.dtype
        if isinstance(b, Tensor):
            bd = b._data
            self._sb, self._db = bd.shape, bd.dtype
            self._next = (edge(a), edge(b))
        else:
            self._next = (edge(a), None)


def _binary_node(node_cls, a, b):
    """A node for a recorded op on two tensors (the hot path: no isinstance checks)."""
    node = node_cls()
    ad, bd = a._data, b._data
    node._sa, node._da, node._sb, node._db = ad.shape, ad.dtype, bd.shape, bd.dtype
    node._next = (edge(a), edge(b))
    return node


def _binary_result(a, b, out, node_cls, save=False):
    """Wrap ``out``; record ``node_cls`` when ``a`` or ``b`` requires grad."""
    if _GradState.enabled and (a._requires_grad or (isinstance(b, Tensor) and b._requires_grad)):
        node = node_cls()
        node._setup(a, b)
        if save:
            if isinstance(b, Tensor):
                node._save(a, b)
            else:  # a tensor-scalar backward needs only the scalar: y.add_(y, alpha=2) stays legal
                node._save(None, None)
                node._scalar = b
        return _make(out, node)
    return _wrap(out)


class AddBackward0(_BinaryNode):
    _alpha = 1

    def apply(self, g):
        na, nb = self._next
        gd = g._data
        ga = gb = None
        if na is not None:
            ga = g if gd.shape == self._sa and gd.dtype == self._da else grad_for(g, self._sa, self._da)
        if nb is not None:
            gb = g if self._alpha == 1 else g * self._alpha
            if gd.shape != self._sb or gd.dtype != self._db:
                gb = grad_for(gb, self._sb, self._db)
        return ga, gb


class SubBackward0(_BinaryNode):
    _alpha = 1

    def apply(self, g):
        na, nb = self._next
        ga = grad_for(g, self._sa, self._da) if na is not None else None
        gb = grad_for(-g if self._alpha == 1 else g * -self._alpha, self._sb, self._db) if nb is not None else None
        return ga, gb


class RsubBackward1(Node):
    _alpha = 1

    def apply(self, g):
        return (-g if self._alpha == 1 else g * -self._alpha,)


class MulBackward0(_BinaryNode):
    def apply(self, g):
        a, b = self._saved_tensors()
        na, nb = self._next
        if b is None:  # tensor * scalar
            return g * self._scalar, None
        if not _GradState.enabled:  # NOTE: no graph of the backward is recorded: array products
            gd = g._data
            ga = _wrap(gd * b._data) if na is not None else None
            gb = _wrap(gd * a._data) if nb is not None else None
        else:
            ga = g * b if na is not None else None
            gb = g * a if nb is not None else None
        if ga is not None and (ga._data.shape != self._sa or ga._data.dtype != self._da):
            ga = grad_for(ga, self._sa, self._da)
        if gb is not None and (gb._data.shape != self._sb or gb._data.dtype != self._db):
            gb = grad_for(gb, self._sb, self._db)
        return ga, gb


class DivBackward0(_BinaryNode):
    def apply(self, g):
        a, b = self._saved_tensors()
        na, nb = self._next
        if b is None:
            return g / self._scalar, None
        ga = grad_for(g / b, self._sa, self._da) if na is not None else None
        gb = grad_for(-g * a / (b * b), self._sb, self._db) if nb is not None else None
        return ga, gb


def _add(a, b):
    try:
        ad = a._data
        if isinstance(b, Tensor):
            bd = b._data
            if ad.dtype is not bd.dtype or type(ad) is not type(bd):
                ad, bd = operands(a, b)
            out = ad + bd
            if _GradState.enabled and (a._requires_grad or b._requires_grad):
                return _make(out, _binary_node(AddBackward0, a, b))
            return _wrap(out)
        ad, bd = operands(a, b)
        return _binary_result(a, b, ad + bd, AddBackward0)
    except ValueError:
        _raise_broadcast_error(a, b)
        raise


def _raise_broadcast_error(a, b) -> None:
    """PyTorch's message for operands whose shapes do not broadcast (NumPy raises a ValueError)."""
    sa = a._data.shape
    sb = b._data.shape if isinstance(b, Tensor) else ()
    for i in range(1, min(len(sa), len(sb)) + 1):
        da, db = sa[-i], sb[-i]
        if da != db and da != 1 and db != 1:
            raise RuntimeError(f"The size of tensor a ({da}) must match the size of tensor b ({db}) at "
                               f"non-singleton dimension {max(len(sa), len(sb)) - i}")


def _radd(a, b):
    return _add(a, b)


def _check_bool_sub(a, b):
    """PyTorch refuses ``-`` when either operand is bool."""
    a_bool = a._data.dtype.kind == "b"
    b_bool = b._data.dtype.kind == "b" if isinstance(b, Tensor) else type(b) is bool
    if a_bool and b_bool:
        raise RuntimeError("Subtraction, the `-` operator, with two bool tensors is not supported. "
                           "Use the `^` or `logical_xor()` operator instead.")
    if a_bool or b_bool:
        raise RuntimeError("Subtraction, the `-` operator, with a bool tensor is not supported. "
                           "If you are trying to invert a mask, use the `~` or `logical_not()` operator instead.")


def _sub(a, b):
    try:
        ad, bd = operands(a, b)
        if a._data.dtype.kind == "b" or (isinstance(b, Tensor) and b._data.dtype.kind == "b") or type(b) is bool:
            _check_bool_sub(a, b)
        return _binary_result(a, b, ad - bd, SubBackward0)
    except ValueError:
        _raise_broadcast_error(a, b)
        raise


def _rsub(a, b, alpha=1):
    """``b - alpha * a`` for a scalar ``b`` (``2 - t``)."""
    _check_bool_sub(a, b)
    ad, bd = operands(a, b)
    out = bd - ad if alpha == 1 else bd - alpha * ad
    if _GradState.enabled and a._requires_grad:
        node = RsubBackward1()
        node._next = (edge(a),)
        node._alpha = alpha
        return _make(out, node)
    return _wrap(out)


def _mul(a, b):
    try:
        ad = a._data
        if isinstance(b, Tensor):
            bd = b._data
            if ad.dtype is not bd.dtype or type(ad) is not type(bd):
                ad, bd = operands(a, b)
            out = ad * bd
            if _GradState.enabled and (a._requires_grad or b._requires_grad):
                node = _binary_node(MulBackward0, a, b)
                node._save(a, b)
                return _make(out, node)
            return _wrap(out)
        ad, bd = operands(a, b)
        if type(b) is float and ad.dtype.itemsize == 2:
            return _binary_result(a, b, _half_with_exact_scalar(np.multiply, ad, b), MulBackward0, save=True)
        return _binary_result(a, b, ad * bd, MulBackward0, save=True)
    except ValueError:
        _raise_broadcast_error(a, b)
        raise


def _truediv(a, b):
    try:
        ad, bd = operands(a, b)
        if ad.dtype.kind in "iub" and (type(bd) in (int, bool) or (type(bd) is not float and bd.dtype.kind in "iub")):
            # integer true division computes in the default float from the original values
            # (uint8 4 / int8 -3 is -1.33, not 4 / 253)
            f = D._default_dtype.np
            ad = a._data.astype(f)
            bd = b._data.astype(f) if isinstance(b, Tensor) else f.type(b)
        with np.errstate(divide="ignore", invalid="ignore"):
            if type(b) is float and ad.dtype.itemsize == 2:
                out = _half_with_exact_scalar(np.true_divide, ad, b)
            else:
                out = ad / bd
        return _binary_result(a, b, out, DivBackward0, save=True)
    except ValueError:
        _raise_broadcast_error(a, b)
        raise


def _half_with_exact_scalar(ufunc, ad, scalar: float):
    """``ad * scalar`` / ``ad / scalar`` for a float16/bfloat16 array: PyTorch multiplies and divides by a
    Python float in float32 without first rounding the scalar to the half type (it does round it for
    add/sub/pow, as NumPy does), so 0.1 and 1.1 give different last bits otherwise."""
    return ufunc(ad.astype(np.float32), np.float32(scalar)).astype(ad.dtype)


def _rtruediv(a, b):
    """``b / a`` for a scalar ``b``."""
    return reciprocal(a) * b if not isinstance(b, Tensor) else _truediv(b, a)


def _check_alpha(input, other, alpha) -> None:
    dt = result_dtype(input, other)
    if isinstance(alpha, float) and not dt.is_floating_point:
        raise RuntimeError("For integral input tensors, argument alpha must not be a floating point number.")
    if isinstance(alpha, bool) and dt is not D.bool:
        raise RuntimeError("Boolean alpha only supported for Boolean results.")


def _scaled_binary(a, b, alpha, node_cls):
    """``a + alpha * b`` (AddBackward0) or ``a - alpha * b`` (SubBackward0) for tensors: one node that
    knows alpha, as PyTorch records it, rather than a separate multiplication."""
    try:
        ad, bd = operands(a, b)
        scaled = bd * alpha
        out = ad + scaled if node_cls is AddBackward0 else ad - scaled
    except ValueError:
        _raise_broadcast_error(a, b)
        raise
    t = _binary_result(a, b, out.astype(ad.dtype, copy=False), node_cls)
    if t._grad_fn is not None:
        t._grad_fn._alpha = alpha
    return t


def add(input, other, *, alpha=1, out=None):
    """``input + alpha * other`` (``torch.add``)."""
    if not isinstance(input, Tensor):
        input = as_tensor_like(input, other)
    if type(alpha) is not int or alpha != 1:
        _check_alpha(input, other, alpha)
    if alpha != 1:
        if isinstance(other, Tensor):
            return _out(_scaled_binary(input, other, alpha, AddBackward0), out)
        other = other * alpha
    return _out(_add(input, other), out)


def sub(input, other, *, alpha=1, out=None):
    """``input - alpha * other`` (``torch.sub``)."""
    if not isinstance(input, Tensor):
        input = as_tensor_like(input, other)
    if type(alpha) is not int or alpha != 1:
        _check_alpha(input, other, alpha)
        _check_bool_sub(input, other)
    if alpha != 1:
        if isinstance(other, Tensor):
            return _out(_scaled_binary(input, other, alpha, SubBackward0), out)
        other = other * alpha
    return _out(_sub(input, other), out)


subtract = sub


def rsub(input, other, *, alpha=1):
    """``other - alpha * input``."""
    if isinstance(other, Tensor):
        return sub(other, input, alpha=alpha)
    return _rsub(input, other, alpha)


def mul(input, other, *, out=None):
    if not isinstance(input, Tensor):
        input, other = other, input
    return _out(_mul(input, other), out)


multiply = mul


def div(input, other, *, rounding_mode=None, out=None):
    """True division, or ``rounding_mode`` 'trunc'/'floor' (``torch.div``)."""
    if not isinstance(input, Tensor):
        input = as_tensor_like(input, other)
    if rounding_mode is None:
        return _out(_truediv(input, other), out)
    if rounding_mode not in ("trunc", "floor"):
        raise RuntimeError(f"div expected rounding_mode to be one of None, 'trunc', or 'floor' but found "
                           f"'{rounding_mode}'")
    ad, bd = operands(input, other)
    xp = array_module(ad)
    _reject_bool(ad, f"div_{rounding_mode}_cpu")
    if ad.dtype.kind in "iu":
        if np.any(np.asarray(bd) == 0):
            raise RuntimeError("ZeroDivisionError")
        q = xp.floor_divide(ad, bd)
        if rounding_mode == "trunc":
            q = q + ((ad % bd != 0) & ((ad < 0) != (np.asarray(bd) < 0)))
        out_arr = q.astype(ad.dtype, copy=False)
    else:
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            out_arr = xp.trunc(ad / bd) if rounding_mode == "trunc" else _float_floor_divide(xp, ad, bd)
    result = _wrap(out_arr)
    if requires_grad_any(input, other):  # piecewise constant: zero gradient
        result = _zero_grad_op(result, (input, other), "DivBackward2")
    return _out(result, out)


divide = div
true_divide = div


def _float_floor_divide(xp, a, b):
    """Python's float ``//`` (exact via fmod), as PyTorch computes it; plain floor(a / b) is off by one
    when a / b rounds up to an integer."""
    a, b = xp.broadcast_arrays(xp.asarray(a), xp.asarray(b, dtype=a.dtype))
    mod = xp.fmod(a, b)
    quotient = (a - mod) / b
    quotient = xp.where((mod != 0) & ((b < 0) != (mod < 0)), quotient - 1, quotient)
    floored = xp.floor(quotient)
    floored = xp.where(quotient - floored > 0.5, floored + 1, floored)
    floored = xp.where(quotient == 0, xp.copysign(xp.zeros_like(quotient), a / b), floored)
    return xp.where(b == 0, a / b, floored).astype(a.dtype, copy=False)


class _NoDerivative(Node):
    """Recorded for an op PyTorch does not differentiate (``floor_divide``): backward through it fails."""

    def apply(self, g):
        raise RuntimeError(f"derivative for {self._op} is not implemented")


# PyTorch names this node NotImplemented; built with type() so the module does not shadow the builtin.
_NotImplementedNode = type("NotImplemented", (_NoDerivative,), {"__module__": __name__})


def floor_divide(input, other):
    """``input // other`` (``torch.floor_divide``); backward through it is an error, as in PyTorch."""
    if not isinstance(input, Tensor):
        input = _wrapped_scalar(input, other)
    result = div(input, other, rounding_mode="floor")
    if result._grad_fn is not None:
        node = _NotImplementedNode()
        node._op = "aten::floor_divide"
        node._next = tuple(edge(t) for t in (input, other) if isinstance(t, Tensor))
        result._grad_fn = node
    return result


def _reject_bool(arr, kernel: str) -> None:
    """PyTorch has no bool kernel for arithmetic like pow, remainder or floor division."""
    if arr.dtype.kind == "b":
        raise NotImplementedError(f"\"{kernel}\" not implemented for 'Bool'")


def _wrapped_scalar(value, like: Tensor) -> Tensor:
    """A Python scalar on the left of ``%``/``//``/``**``, as a 0-dim tensor that does not
    raise ``like``'s dtype (PyTorch's wrapped number: ``3 % int8_tensor`` stays int8)."""
    if isinstance(value, Tensor):
        return value
    dt = result_dtype(like, value)
    return _wrap(array_module(like._data).asarray(np.array(value).astype(dt.np)))


class _ModBackward(_BinaryNode):
    """remainder/fmod: d/da = 1, d/db = -round(a / b) with the op's rounding."""

    _mode = "floor"

    def apply(self, g):
        na = self._next[0]
        if len(self._next) == 1:  # the Scalar overload: one input
            return (grad_for(g, self._sa, self._da) if na is not None else None,)
        nb = self._next[1]
        ga = grad_for(g, self._sa, self._da) if na is not None else None
        gb = None
        if nb is not None:
            a, b = self._saved_tensors()
            gb = grad_for(-g * div(a, b, rounding_mode=self._mode), self._sb, self._db)
        return ga, gb


class RemainderBackward0(_ModBackward):
    pass


class RemainderBackward1(_ModBackward):
    pass


class FmodBackward0(_ModBackward):
    _mode = "trunc"


class FmodBackward1(_ModBackward):
    _mode = "trunc"


def _modulus(input, other, ufunc_name, kernel, node_classes):
    if not isinstance(input, Tensor):
        input = _wrapped_scalar(input, other)
    ad, bd = operands(input, other)
    _reject_bool(ad, kernel)
    xp = array_module(ad)
    if ad.dtype.kind in "iu" and bool((xp.asarray(bd) == 0).any()):
        raise RuntimeError("ZeroDivisionError")
    with np.errstate(divide="ignore", invalid="ignore"):
        out = getattr(xp, ufunc_name)(ad, bd)
    if not isinstance(other, Tensor):  # PyTorch's Scalar overload records one input and saves nothing
        if _GradState.enabled and input._requires_grad:
            node = node_classes[0]()
            node._sa, node._da = ad.shape, input._data.dtype
            node._next = (edge(input),)
            return _make(out, node)
        return _wrap(out)
    return _binary_result(input, other, out, node_classes[1], save=True)


def remainder(input, other):
    """Python-style modulus (sign of the divisor), ``torch.remainder``."""
    return _modulus(input, other, "remainder", "remainder_cpu", (RemainderBackward0, RemainderBackward1))


def fmod(input, other):
    """C-style modulus (sign of the dividend), ``torch.fmod``."""
    return _modulus(input, other, "fmod", "fmod_cpu", (FmodBackward0, FmodBackward1))


class _ZeroGrad(Node):
    """Backward of piecewise-constant ops (floor, sign, round, ...): zeros for every input."""

    def apply(self, g):
        return tuple(None if n is None else _zeros_like_array(s) for n, s in zip(self._next, self._shapes))


def _zeros_like_array(spec):
    shape, dtype, xp = spec
    return _wrap(xp.zeros(shape, dtype=dtype))


def _zero_grad_op(result, inputs, name):
    cls = _ZERO_GRAD_CLASSES.get(name)
    if cls is None:
        cls = _ZERO_GRAD_CLASSES[name] = type(name, (_ZeroGrad,), {})
    node = cls()
    node._next = tuple(edge(t) if isinstance(t, Tensor) else None for t in inputs)
    node._shapes = tuple((t._data.shape, t._data.dtype, array_module(t._data)) if isinstance(t, Tensor) else None
                         for t in inputs)
    return _make(result._data, node)


_ZERO_GRAD_CLASSES: dict = {}


def _out(result, out):
    """Support the ``out=`` argument: copy the result into ``out`` (resized if needed)."""
    if out is None:
        return result
    if out._data.shape != result._data.shape:
        out._data = result._data.astype(out._data.dtype, copy=True)
    else:
        out._data[...] = result._data
    out._vbox[0] += 1
    return out


# ------------------------------------------------------------------------------------------
# pow
# ------------------------------------------------------------------------------------------

class PowBackward0(Node):
    """pow(tensor, scalar)."""

    def apply(self, g):
        (x,) = self._saved_tensors()
        e = self._exponent
        if e == 0:
            return (g * 0,)
        if e == 2:
            return (g * (x * 2),)
        return (g * (x.pow(e - 1) * e),)


class PowBackward1(_BinaryNode):
    """pow(tensor, tensor)."""

    def apply(self, g):
        a, b = self._saved_tensors()
        na, nb = self._next
        ga = gb = None
        if na is not None:
            ga = grad_for(g * b * a.pow(b - 1), self._sa, self._da)
        if nb is not None:
            result = self._result()
            # where a == 0 and b >= 0 the gradient wrt b is 0 (PyTorch's convention), not nan
            la = where(a == 0, zeros_like_scalar(a), log(a))
            gb = grad_for(g * result * la, self._sb, self._db)
        return ga, gb


class PowBackward2(Node):
    """pow(scalar, tensor)."""

    def apply(self, g):
        result = self._result()
        return (g * result * math.log(self._base) if self._base > 0 else g * result * float("nan")
                if self._base < 0 else g * 0,)


def zeros_like_scalar(t):
    return _wrap(array_module(t._data).zeros((), dtype=t._data.dtype))


def pow(input, exponent, *, out=None):
    """``input ** exponent`` with PyTorch's dtype rules (``torch.pow``)."""
    if not isinstance(input, Tensor):
        return _rpow(exponent, input)
    if isinstance(exponent, Tensor):
        ad, bd = operands(input, exponent)
        _reject_bool(ad, "pow")
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            res = _int_pow(ad, bd) if ad.dtype.kind in "iu" else array_module(ad).power(ad, bd)
        if requires_grad_any(input, exponent):
            node = PowBackward1()
            node._setup(input, exponent)
            node._save(input, exponent)
            t = _make(res, node)
            node._out = SavedOutput(t)
            return _out(t, out)
        return _out(_wrap(res), out)
    if input._data.dtype.kind in "iub" and type(exponent) is int and exponent < 0:
        raise RuntimeError("Integers to negative integer powers are not allowed.")
    ad, e = operands(input, exponent)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        if ad.dtype.kind == "b":  # bool ** bool stays bool
            res = ad.copy() if e else array_module(ad).ones_like(ad)
        elif e == 2:
            res = ad * ad
        elif e == 0.5:
            res = array_module(ad).sqrt(ad)
        else:
            res = ad ** e
    if _GradState.enabled and input._requires_grad:
        node = PowBackward0()
        node._next = (edge(input),)
        node._save(input)
        node._exponent = exponent
        return _out(_make(res, node), out)
    return _out(_wrap(res), out)


def _int_pow(base, exponent):
    """Integer power where negative exponents give 0 (or +-1 for bases +-1), as PyTorch computes."""
    xp = array_module(base)
    negative = exponent < 0
    if not bool(xp.any(negative)):
        return xp.power(base, exponent)
    res = xp.power(base, xp.where(negative, 0, exponent))
    odd = (exponent % 2) != 0
    special = xp.where(base == 1, 1, xp.where(base == -1, xp.where(odd, -1, 1), 0)).astype(res.dtype)
    return xp.where(negative, special, res)


def _rpow(base_tensor, base_scalar):
    """``scalar ** tensor``."""
    t = base_tensor
    if t._data.dtype.kind == "b" and type(base_scalar) is bool:
        _reject_bool(t._data, "pow")
    ad, bd = operands(t, base_scalar)
    if ad.dtype.kind in "iu" and not isinstance(bd, float):
        res = _int_pow(array_module(ad).asarray(np.array(bd).astype(ad.dtype)), ad)
        return _rpow_result(t, res, base_scalar)
    if ad.dtype.kind in "iub" and isinstance(bd, float):
        ad = ad.astype(D._default_dtype.np)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        res = array_module(ad).power(bd, ad) if not np.isscalar(bd) else bd ** ad
    res = array_module(ad).asarray(res)
    if res.dtype != ad.dtype and ad.dtype.kind in "fV":
        res = res.astype(ad.dtype)
    return _rpow_result(t, res, base_scalar)


def _rpow_result(t, res, base_scalar):
    if _GradState.enabled and t._requires_grad:
        node = PowBackward2()
        node._next = (edge(t),)
        node._base = base_scalar
        r = _make(res, node)
        node._out = SavedOutput(r)
        return r
    return _wrap(res)


def float_power(input, exponent):
    return pow(input.double() if isinstance(input, Tensor) else input,
               exponent.double() if isinstance(exponent, Tensor) else exponent)


# ------------------------------------------------------------------------------------------
# Unary math
# ------------------------------------------------------------------------------------------

def _unary(x, out, node_cls, save_input=False, save_output=False):
    if _GradState.enabled and x._requires_grad:
        node = node_cls()
        node._next = (edge(x),)
        if save_input:
            node._save(x)
        t = _make(out, node)
        if save_output:
            node._out = SavedOutput(t)
        return t
    return _wrap(out)


def _def_unary(name, forward, backward, save="input", grad_name=None, int_ok=False):
    """Define op ``name``: ``forward(array)`` (a ufunc or function) and ``backward(grad, x_or_result)``.

    Floating-point warnings (overflow in exp, log of 0, ...) are silenced for ember's modules
    in ember/__init__.py, as PyTorch does not warn; no ``np.errstate`` on this hot path.
    """
    node_cls = type(grad_name or (name.capitalize() + "Backward0"), (Node,), {})
    if save == "input":
        node_cls.apply = lambda self, g: (backward(g, self._saved_tensors()[0]),)
    elif save == "output":
        node_cls.apply = lambda self, g: (backward(g, self._result()),)
    else:
        node_cls.apply = lambda self, g: (backward(g, None),)
    save_input, save_output = save == "input", save == "output"

    def op(input, *, out=None):
        data = input._data
        if not int_ok and data.dtype.kind not in "fV":
            data = float_array(input)
        res = forward(data)
        if _GradState.enabled and input._requires_grad:
            node = node_cls()
            node._next = (edge(input),)
            if save_input:
                node._save(input)
            result = _make(res, node)
            if save_output:
                node._out = SavedOutput(result)
        else:
            result = _wrap(res)
        return result if out is None else _out(result, out)

    op.__name__ = op.__qualname__ = name
    op.__doc__ = f"Elementwise ``{name}`` (``torch.{name}``)."
    return op, node_cls


def _negative(a):
    if a.dtype.kind == "b":
        raise RuntimeError("Negation, the `-` operator, on a bool tensor is not supported. If you are trying "
                           "to invert a mask, use the `~` or `logical_not()` operator instead.")
    return np.negative(a)


def _absolute(a):
    _reject_bool(a, "abs_cpu")
    return np.abs(a)


neg, NegBackward0 = _def_unary("neg", _negative, lambda g, _: -g, save=None, int_ok=True)
exp, ExpBackward0 = _def_unary("exp", np.exp, lambda g, r: g * r, save="output")
exp2, Exp2Backward0 = _def_unary("exp2", np.exp2, lambda g, r: g * r * math.log(2),
                                 save="output")
expm1, Expm1Backward0 = _def_unary("expm1", np.expm1, lambda g, r: g * (r + 1), save="output")
log, LogBackward0 = _def_unary("log", np.log, lambda g, x: g / x)
log2, Log2Backward0 = _def_unary("log2", np.log2, lambda g, x: g / (x * math.log(2)))
log10, Log10Backward0 = _def_unary("log10", np.log10, lambda g, x: g / (x * math.log(10)))
log1p, Log1PBackward0 = _def_unary("log1p", np.log1p, lambda g, x: g / (x + 1),
                                   grad_name="Log1PBackward0")
sqrt, SqrtBackward0 = _def_unary("sqrt", np.sqrt, lambda g, r: g / (r * 2), save="output")
def _in_float32(fn):
    """A composite forward computed in float32 for float16/bfloat16 and rounded once at the end,
    as PyTorch's kernels compute half types (NumPy would round after every step)."""
    def forward(a):
        if a.dtype.itemsize == 2:
            return fn(a.astype(np.float32)).astype(a.dtype)
        return fn(a)
    return forward


rsqrt, RsqrtBackward0 = _def_unary("rsqrt", _in_float32(lambda a: 1 / np.sqrt(a)),
                                   lambda g, r: g * (r * r * r) * -0.5, save="output")
sin, SinBackward0 = _def_unary("sin", np.sin, lambda g, x: g * cos(x))
cos, CosBackward0 = _def_unary("cos", np.cos, lambda g, x: g * -sin(x))
tan, TanBackward0 = _def_unary("tan", np.tan, lambda g, r: g * (r * r + 1), save="output")
asin, AsinBackward0 = _def_unary("asin", np.arcsin, lambda g, x: g * rsqrt(1 - x * x))
acos, AcosBackward0 = _def_unary("acos", np.arccos, lambda g, x: g * -rsqrt(1 - x * x))
atan, AtanBackward0 = _def_unary("atan", np.arctan, lambda g, x: g / (x * x + 1))
sinh, SinhBackward0 = _def_unary("sinh", np.sinh, lambda g, x: g * cosh(x))
cosh, CoshBackward0 = _def_unary("cosh", np.cosh, lambda g, x: g * sinh(x))
def _tanh_backward(g, r):
    if not _GradState.enabled:  # NOTE: no graph of the backward is recorded: one array expression
        rd = r._data
        return _wrap(g._data * (1 - rd * rd))
    return g * (1 - r * r)


tanh, TanhBackward0 = _def_unary("tanh", np.tanh, _tanh_backward, save="output")
asinh, AsinhBackward0 = _def_unary("asinh", np.arcsinh, lambda g, x: g * rsqrt(x * x + 1))
acosh, AcoshBackward0 = _def_unary("acosh", np.arccosh, lambda g, x: g * rsqrt(x * x - 1))
atanh, AtanhBackward0 = _def_unary("atanh", np.arctanh, lambda g, x: g / (1 - x * x))
reciprocal, ReciprocalBackward0 = _def_unary("reciprocal", np.reciprocal, lambda g, r: g * -(r * r),
                                             save="output")
erf, ErfBackward0 = _def_unary("erf", special_erf,
                               lambda g, x: g * exp(-(x * x)) * (2 / math.sqrt(math.pi)))
erfc, ErfcBackward0 = _def_unary("erfc", _in_float32(special_erfc),
                                 lambda g, x: g * exp(-(x * x)) * (-2 / math.sqrt(math.pi)))
erfinv, ErfinvBackward0 = _def_unary("erfinv", special_erfinv,
                                     lambda g, r: g * exp(r * r) * (math.sqrt(math.pi) / 2), save="output")


def _sigmoid_forward(a):
    # exp of a non-positive number only: exact 0/1 saturation, no overflow for large |a|
    e = np.exp(-np.abs(a))
    return np.where(a >= 0, 1 / (1 + e), e / (1 + e)).astype(a.dtype, copy=False)


def _sigmoid_backward(g, r):
    if not _GradState.enabled:  # NOTE: no graph of the backward is recorded: one array expression
        rd = r._data
        return _wrap(g._data * (rd * (1 - rd)))
    return g * (r * (1 - r))


sigmoid, SigmoidBackward0 = _def_unary("sigmoid", _in_float32(_sigmoid_forward), _sigmoid_backward,
                                       save="output")


def _sign_like_backward(g, x):
    return g * 0


abs, AbsBackward0 = _def_unary("abs", _absolute, lambda g, x: g * sign(x), int_ok=True)
absolute = abs


def square(input):
    """``input * input`` recorded as ``pow(input, 2)``, as PyTorch does."""
    if input._data.dtype.kind == "b":
        return pow(input.long(), 2)
    return pow(input, 2)


class ReluBackward0(Node):
    def apply(self, g):
        r = self._result()
        # NOTE: zero where the result is <= 0, so a NaN passes its gradient through, as in PyTorch.
        # The result is >= 0 or NaN, so "not <= 0" is "!= 0": one comparison pass.
        if not _GradState.enabled:  # no graph of the backward is recorded: one ufunc, no bool->float copy
            gd, rd = g._data, r._data
            if gd.shape != rd.shape or gd.ndim == 0:
                return (_wrap(np.multiply(gd, rd != 0, dtype=gd.dtype)),)
            xp = array_module(gd)
            out = xp.empty(gd.shape, dtype=gd.dtype)

            def mask(part):
                xp.multiply(gd[part], rd[part] != 0, out=out[part], dtype=gd.dtype)
            in_chunks(mask, xp, gd.shape[0], gd.size)
            return (_wrap(out),)
        return (g * (r <= 0).logical_not(),)


def relu(input):
    """max(input, 0) elementwise (``torch.relu``)."""
    d = input._data
    if d.dtype.kind == "b":
        raise RuntimeError("Boolean inputs not supported for relu")
    xp = array_module(d)
    if d.ndim == 0:
        return _unary(input, xp.maximum(d, 0).astype(d.dtype, copy=False), ReluBackward0, save_output=True)
    out = xp.empty(d.shape, dtype=d.dtype)

    def clamp(part):
        xp.maximum(d[part], 0, out=out[part])
    in_chunks(clamp, xp, d.shape[0], d.size)
    return _unary(input, out, ReluBackward0, save_output=True)


def _def_piecewise(name, forward, int_ok=True):
    """A piecewise-constant op (zero gradient almost everywhere)."""
    grad_name = name.capitalize() + "Backward0"

    def op(input, *, out=None):
        d = input._data
        res = forward(array_module(d), d)
        result = _wrap(res)
        if _GradState.enabled and input._requires_grad:
            result = _zero_grad_op(result, (input,), grad_name)
        return _out(result, out)

    op.__name__ = op.__qualname__ = name
    op.__doc__ = f"Elementwise ``{name}`` (``torch.{name}``); its gradient is zero."
    return op


def _sign(xp, a):
    """-1, 0 or 1; NaN gives 0 in PyTorch (NumPy gives NaN), so abs's gradient at NaN is 0 too."""
    if a.dtype.kind == "b":
        return a.copy()
    res = xp.sign(a)
    if a.dtype.kind in "fV":
        res = xp.where(xp.isnan(res), xp.zeros((), res.dtype), res)
    return res


sign = _def_piecewise("sign", _sign)
sgn = _def_piecewise("sgn", _sign)
def _integral_rounding(ufunc_name):
    """floor/ceil/trunc: identity on integers; PyTorch has no bool kernel for them."""
    def forward(xp, a):
        _reject_bool(a, f"{ufunc_name}_vml_cpu")
        return getattr(xp, ufunc_name)(a) if a.dtype.kind in "fV" else a.copy()
    return forward


floor = _def_piecewise("floor", _integral_rounding("floor"))
ceil = _def_piecewise("ceil", _integral_rounding("ceil"))
trunc = _def_piecewise("trunc", _integral_rounding("trunc"))
fix = trunc


def round(input, *, decimals: int = 0, out=None):
    """Round half to even (``torch.round``), optionally to ``decimals`` places."""
    d = input._data
    xp = array_module(d)
    if decimals != 0 and d.dtype.kind not in "fV":
        raise NotImplementedError(f"\"round_cpu\" not implemented for '{_type_name(d.dtype)}'")
    _reject_bool(d, "round_vml_cpu")
    res = xp.round(d, decimals) if d.dtype.kind in "fV" else d.copy()
    result = _wrap(res)
    if _GradState.enabled and input._requires_grad:
        result = _zero_grad_op(result, (input,), "RoundBackward0" if decimals == 0 else "RoundBackward1")
    return _out(result, out)


class FracBackward0(Node):
    def apply(self, g):
        return (g,)


def frac(input):
    """``input - trunc(input)`` (``torch.frac``); the gradient passes unchanged."""
    d = input._data
    if d.dtype.kind not in "fV":
        raise NotImplementedError(f"\"frac_cpu\" not implemented for '{_type_name(d.dtype)}'")
    return _unary(input, d - array_module(d).trunc(d), FracBackward0)


# ------------------------------------------------------------------------------------------
# Binary elementwise: minimum/maximum, atan2, lerp, addcmul, hypot ...
# ------------------------------------------------------------------------------------------

def _pick_gradients(node, g, a_lost, b_lost, tie):
    """maximum/minimum: each operand gets the gradient except where it lost; ties split it equally.
    Where a NaN made the comparison unordered, both operands get the full gradient, as in PyTorch."""
    na, nb = node._next
    half = tie.to(g.dtype) * 0.5
    ga = grad_for(g * (1 - a_lost.to(g.dtype) - half), node._sa, node._da) if na is not None else None
    gb = grad_for(g * (1 - b_lost.to(g.dtype) - half), node._sb, node._db) if nb is not None else None
    return ga, gb


class MaximumBackward0(_BinaryNode):
    def apply(self, g):
        a, b = self._saved_tensors()
        return _pick_gradients(self, g, a < b, a > b, a == b)


class MinimumBackward0(_BinaryNode):
    def apply(self, g):
        a, b = self._saved_tensors()
        return _pick_gradients(self, g, a > b, a < b, a == b)


def _check_tensor_other(name: str, other) -> None:
    if not isinstance(other, Tensor):  # NOTE: unlike add/mul, these take no Python scalar in PyTorch
        raise TypeError(f"{name}(): argument 'other' (position 2) must be Tensor, not {type(other).__name__}")


def maximum(input, other):
    """Elementwise max, NaN-propagating (``torch.maximum``)."""
    _check_tensor_other("maximum", other)
    ad, bd = operands(input, other)
    return _binary_result(input, other, array_module(ad).maximum(ad, bd), MaximumBackward0, save=True)


def minimum(input, other):
    """Elementwise min, NaN-propagating (``torch.minimum``)."""
    _check_tensor_other("minimum", other)
    ad, bd = operands(input, other)
    return _binary_result(input, other, array_module(ad).minimum(ad, bd), MinimumBackward0, save=True)


class _FmaxFminBackward(_BinaryNode):
    """The whole gradient goes to the operand that was picked (``input`` on ties or when ``other`` is NaN)."""

    def apply(self, g):
        a, b = self._saved_tensors()
        na, nb = self._next
        ad, bd = a._data, b._data
        xp = array_module(ad)
        picked = ((ad >= bd) if self._max else (ad <= bd)) | xp.isnan(bd)
        ga = grad_for(g * _wrap(picked), self._sa, self._da) if na is not None else None
        gb = grad_for(g * _wrap(~picked), self._sb, self._db) if nb is not None else None
        return ga, gb


class FmaxBackward0(_FmaxFminBackward):
    _max = True


class FminBackward0(_FmaxFminBackward):
    _max = False


def fmax(input, other):
    """Elementwise max that ignores NaN (``torch.fmax``)."""
    _check_tensor_other("fmax", other)
    ad, bd = operands(input, other)
    return _binary_result(input, other, array_module(ad).fmax(ad, bd), FmaxBackward0, save=True)


def fmin(input, other):
    """Elementwise min that ignores NaN (``torch.fmin``)."""
    _check_tensor_other("fmin", other)
    ad, bd = operands(input, other)
    return _binary_result(input, other, array_module(ad).fmin(ad, bd), FminBackward0, save=True)


class Atan2Backward0(_BinaryNode):
    def apply(self, g):
        a, b = self._saved_tensors()
        na, nb = self._next
        denom = a * a + b * b
        ga = grad_for(g * b / denom, self._sa, self._da) if na is not None else None
        gb = grad_for(g * -a / denom, self._sb, self._db) if nb is not None else None
        return ga, gb


def atan2(input, other):
    ad, bd = operands(input, other)
    if ad.dtype.kind not in "fV":  # integers: computed in the default float from the original values
        f = D._default_dtype.np
        ad, bd = input._data.astype(f), other._data.astype(f)
    return _binary_result(input, other, array_module(ad).arctan2(ad, bd), Atan2Backward0, save=True)


arctan2 = atan2


def hypot(input, other):
    return sqrt(input * input + other * other)


def lerp(input, end, weight):
    """``input + weight * (end - input)``."""
    return input + weight * (end - input)


def addcmul(input, tensor1, tensor2, *, value=1):
    return input + value * (tensor1 * tensor2) if value != 1 else input + tensor1 * tensor2


def addcdiv(input, tensor1, tensor2, *, value=1):
    return input + value * (tensor1 / tensor2) if value != 1 else input + tensor1 / tensor2


def xlogy(input, other):
    if not isinstance(other, Tensor):
        other = as_tensor_like(other, input)
    if not isinstance(input, Tensor):
        input = as_tensor_like(input, other)
    return where(input == 0, zeros_like_scalar(input * 1.0), input * log(other))


# ------------------------------------------------------------------------------------------
# clamp
# ------------------------------------------------------------------------------------------

class ClampBackward1(Node):
    """clamp with scalar bounds: the gradient passes where the input was inside them."""

    def apply(self, g):
        (x,) = self._saved_tensors()
        mask = _wrap(_inside(x._data, self._min, self._max))
        return (g * mask,)


def _inside(d, lo, hi):
    xp = array_module(d)
    mask = xp.ones(d.shape, dtype=bool)
    if lo is not None:
        mask &= d >= lo
    if hi is not None:
        mask &= d <= hi
    return mask


class ClampBackward0(Node):
    """clamp with tensor bounds."""

    def apply(self, g):
        x, lo, hi = self._saved_tensors()
        nx, nlo, nhi = self._edges()
        inside = _wrap(_inside_t(x._data, lo, hi))
        gx = grad_for(g * inside, self._sx, self._dx) if nx is not None else None
        glo = ghi = None
        if nlo is not None:
            below = _wrap((x._data < lo._data) & ((hi is None) or (lo._data <= hi._data)))
            glo = grad_for(g * below, lo._data.shape, lo._data.dtype)
        if nhi is not None:
            above = _wrap(x._data > hi._data)
            ghi = grad_for(g * above, hi._data.shape, hi._data.dtype)
        return self._pack(gx, glo, ghi)

    def _edges(self):
        return self._next  # one slot per (input, min, max), None for a bound not given

    def _pack(self, gx, glo, ghi):
        return gx, glo, ghi


def _inside_t(d, lo, hi):
    xp = array_module(d)
    mask = xp.ones(d.shape, dtype=bool)
    if lo is not None:
        mask = mask & (d >= lo._data)
    if hi is not None:
        mask = mask & (d <= hi._data)
    return mask


def clamp(input, min=None, max=None, *, out=None):
    """Limit values to [min, max] (``torch.clamp``); scalar or tensor bounds."""
    if min is None and max is None:
        raise RuntimeError("torch.clamp: At least one of 'min' or 'max' must not be None")
    if isinstance(min, Tensor) or isinstance(max, Tensor):
        lo = as_tensor_like(min, input) if min is not None else None
        hi = as_tensor_like(max, input) if max is not None else None
        dt = result_dtype(input, lo, hi)
        d = input._data.astype(dt.np, copy=False)
        xp = array_module(d)
        res = d
        if lo is not None:
            res = xp.maximum(res, lo._data.astype(dt.np, copy=False))
        if hi is not None:
            res = xp.minimum(res, hi._data.astype(dt.np, copy=False))
        if requires_grad_any(input, lo, hi):
            node = ClampBackward0()
            node._next = tuple(edge(t) if t is not None else None for t in (input, lo, hi))
            node._sx, node._dx = input._data.shape, input._data.dtype
            node._save(input, lo, hi)
            return _out(_make(res, node), out)
        return _out(_wrap(res), out)
    d = input._data
    dt = result_dtype(input, min, max)
    if dt.np != d.dtype:
        d = d.astype(dt.np)
    xp = array_module(d)
    if d.dtype.kind == "b":
        kernel = "clamp_scalar_cpu" if min is not None and max is not None else \
            "clamp_min_scalar_cpu" if min is not None else "clamp_max_scalar_cpu"
        _reject_bool(d, kernel)
    if d.dtype.kind in "iu":  # an out-of-range Python int wraps into the dtype, as in PyTorch
        min = None if min is None else np.array(min).astype(d.dtype)
        max = None if max is None else np.array(max).astype(d.dtype)
    if min is not None and max is not None:
        res = xp.minimum(xp.maximum(d, min), max)
    elif min is not None:
        res = xp.maximum(d, min)
    else:
        res = xp.minimum(d, max)
    res = res.astype(d.dtype, copy=False)
    if _GradState.enabled and input._requires_grad:
        node = ClampBackward1()
        node._next = (edge(input),)
        node._save(input)
        node._min, node._max = min, max
        return _out(_make(res, node), out)
    return _out(_wrap(res), out)


clip = clamp


class ClampMinBackward0(ClampBackward1):
    pass


class ClampMinBackward1(ClampBackward0):
    """clamp_min(input, tensor): two inputs in PyTorch."""

    def _edges(self):
        return self._next[0], self._next[1], None

    def _pack(self, gx, glo, ghi):
        return gx, glo


class ClampMaxBackward0(ClampBackward1):
    pass


class ClampMaxBackward1(ClampBackward0):
    """clamp_max(input, tensor): two inputs in PyTorch."""

    def _edges(self):
        return self._next[0], None, self._next[1]

    def _pack(self, gx, glo, ghi):
        return gx, ghi


def _renamed(result, scalar_cls, tensor_cls):
    """clamp_min/clamp_max share clamp's backward but PyTorch names their grad_fn differently."""
    node = result._grad_fn
    if node is not None:
        if isinstance(node, ClampBackward1):
            node.__class__ = scalar_cls
        else:
            node.__class__ = tensor_cls
            bound = 1 if tensor_cls is ClampMinBackward1 else 2
            node._next = (node._next[0], node._next[bound])  # no slot for the bound not given
    return result


def clamp_min(input, min):
    """``clamp(input, min=min)`` (``torch.clamp_min``)."""
    return _renamed(clamp(input, min=min), ClampMinBackward0, ClampMinBackward1)


def clamp_max(input, max):
    """``clamp(input, max=max)`` (``torch.clamp_max``)."""
    return _renamed(clamp(input, max=max), ClampMaxBackward0, ClampMaxBackward1)


# ------------------------------------------------------------------------------------------
# where, comparisons, logic
# ------------------------------------------------------------------------------------------

class WhereBackward0(Node):
    def apply(self, g):
        (cond,) = self._saved_tensors()
        na, nb = self._next
        zero = zeros_like_scalar(g)
        ga = grad_for(where(cond, g, zero), self._sa, self._da) if na is not None else None
        gb = grad_for(where(cond, zero, g), self._sb, self._db) if nb is not None else None
        return ga, gb


def where(condition, input=None, other=None):
    """``input`` where ``condition`` else ``other`` (``torch.where``); one argument: ``nonzero`` tuple."""
    if input is None and other is None:
        from .index import nonzero
        return nonzero(condition, as_tuple=True)
    if not isinstance(input, Tensor) and not isinstance(other, Tensor):
        input = as_tensor_like(input, condition)
    if not isinstance(input, Tensor):
        dt = result_dtype(other, input)
        input = _wrap(array_module(other._data).asarray(np.array(input).astype(dt.np)))
    if not isinstance(other, Tensor):
        dt = result_dtype(input, other)
        other = _wrap(array_module(input._data).asarray(np.array(other).astype(dt.np)))
    cd = condition._data
    if cd.dtype.kind != "b":
        raise RuntimeError(f"where expected condition to be a boolean tensor, but got a tensor with dtype "
                           f"{_type_name(cd.dtype)}")
    ad, bd = operands(input, other)
    res = array_module(ad).where(cd, ad, bd)
    if requires_grad_any(input, other):
        node = WhereBackward0()
        node._sa, node._da = input._data.shape, input._data.dtype
        node._sb, node._db = other._data.shape, other._data.dtype
        node._next = (edge(input), edge(other))
        node._save(condition)
        return _make(res, node)
    return _wrap(res)


def _type_name(np_dtype):
    from ._util import _scalar_type_name
    return _scalar_type_name(np_dtype)


def _compare(ufunc):
    def op(input, other, *, out=None):
        if not isinstance(input, Tensor):
            input, other = as_tensor_like(input, other), other
        ad, bd = operands(input, other)
        return _out(_wrap(ufunc(ad, bd)), out)
    return op


eq = _compare(np.equal)
ne = _compare(np.not_equal)
lt = _compare(np.less)
le = _compare(np.less_equal)
gt = _compare(np.greater)
ge = _compare(np.greater_equal)
greater, greater_equal, less, less_equal, not_equal = gt, ge, lt, le, ne
for _fn, _name in ((eq, "eq"), (ne, "ne"), (lt, "lt"), (le, "le"), (gt, "gt"), (ge, "ge")):
    _fn.__name__ = _fn.__qualname__ = _name
    _fn.__doc__ = f"Elementwise comparison ``{_name}`` giving a bool tensor (``torch.{_name}``)."


def _bool_arrays(input, other):
    ad = input._data
    bd = other._data if isinstance(other, Tensor) else other
    return ad.astype(bool, copy=False), (bd.astype(bool, copy=False) if hasattr(bd, "astype") else bool(bd))


def logical_and(input, other):
    a, b = _bool_arrays(input, other)
    return _wrap(array_module(a).logical_and(a, b))


def logical_or(input, other):
    a, b = _bool_arrays(input, other)
    return _wrap(array_module(a).logical_or(a, b))


def logical_xor(input, other):
    a, b = _bool_arrays(input, other)
    return _wrap(array_module(a).logical_xor(a, b))


def logical_not(input):
    return _wrap(array_module(input._data).logical_not(input._data))


def _bitwise(ufunc, name):
    def op(input, other):
        if not isinstance(input, Tensor):
            input, other = as_tensor_like(input, other), other
        ad, bd = operands(input, other)
        if ad.dtype.kind not in "iub":
            raise NotImplementedError(f"\"{name}_cpu\" not implemented for '{_type_name(ad.dtype)}'")
        return _wrap(ufunc(ad, bd))
    op.__name__ = name
    return op


bitwise_and = _bitwise(np.bitwise_and, "bitwise_and")
bitwise_or = _bitwise(np.bitwise_or, "bitwise_or")
bitwise_xor = _bitwise(np.bitwise_xor, "bitwise_xor")


def bitwise_not(input):
    d = input._data
    if d.dtype.kind not in "iub":
        raise NotImplementedError(f"\"bitwise_not_cpu\" not implemented for '{_type_name(d.dtype)}'")
    return _wrap(array_module(d).invert(d))


def isnan(input):
    return _wrap(array_module(input._data).isnan(input._data))


def isinf(input):
    return _wrap(array_module(input._data).isinf(input._data))


def isfinite(input):
    return _wrap(array_module(input._data).isfinite(input._data))


def isposinf(input):
    d = input._data
    return _wrap(array_module(d).isposinf(d))


def isneginf(input):
    d = input._data
    return _wrap(array_module(d).isneginf(d))


def signbit(input):
    return _wrap(array_module(input._data).signbit(input._data))


class NanToNumBackward0(Node):
    def apply(self, g):
        return (g * _wrap(self._finite),)


def nan_to_num(input, nan=0.0, posinf=None, neginf=None):
    """Replace NaN and infinities (``torch.nan_to_num``); the gradient is zero where they were."""
    d = input._data
    xp = array_module(d)
    res = xp.nan_to_num(d, nan=nan, posinf=posinf, neginf=neginf)
    if _GradState.enabled and input._requires_grad:
        node = NanToNumBackward0()
        node._next = (edge(input),)
        node._finite = xp.isfinite(d)
        return _make(res, node)
    return _wrap(res)


def _invert(input):
    """``~t``: bitwise not; PyTorch's operator refuses floating tensors with a TypeError."""
    if input._data.dtype.kind not in "iub":
        raise TypeError("~ (operator.invert) is only implemented on integer and Boolean-type tensors")
    return bitwise_not(input)


# ------------------------------------------------------------------------------------------
# Copies and casts
# ------------------------------------------------------------------------------------------

class CloneBackward0(Node):
    def apply(self, g):
        return (g,)


def clone(input, *, memory_format=None):
    """A copy with its own storage; gradients flow back unchanged (``torch.clone``).

    PyTorch's default ``preserve_format`` keeps a dense input's stride order (a transposed tensor's
    clone is still transposed) and NumPy's ``order="K"`` copy lays memory out the same way;
    ``memory_format=contiguous_format`` (what ``contiguous()`` uses) gives row-major memory.
    """
    order = "C" if memory_format is not None and memory_format.name == "contiguous_format" else "K"
    return _unary(input, input._data.copy(order=order), CloneBackward0)


class ToCopyBackward0(Node):
    def apply(self, g):
        dt, dev = self._src
        if g._data.dtype != dt.np:
            g = g.to(dt)
        if str(g.device) != dev:
            g = g.to(dev)
        return (g,)


def _to(t, dtype, dev, copy=False):
    """``Tensor.to``: cast and/or move; returns ``t`` itself when nothing changes and ``copy`` is False."""
    d = t._data
    src_dt = D._FROM_NP[d.dtype]
    same_dtype = dtype is None or dtype is src_dt
    cur_dev = t.device
    same_dev = dev is None or _same_device(dev, cur_dev)
    if same_dtype and same_dev and not copy:
        return t
    if dtype is not None and dtype.np is None:
        raise RuntimeError("bfloat16 needs the ml_dtypes package (pip install 'ember[bfloat16]')")
    res = d
    if not same_dev:
        from .._backend import module_for_device, to_numpy
        if dev.type == "cpu":
            res = to_numpy(d)
        else:
            cp = module_for_device("cuda")
            with cp.cuda.Device(dev.index or 0):
                res = cp.asarray(d)
    if not same_dtype:
        res = res.astype(dtype.np)
    elif res is d:
        res = d.copy()
    if _GradState.enabled and t._requires_grad and (dtype is None or dtype.is_floating_point):
        node = ToCopyBackward0()
        node._next = (edge(t),)
        node._src = (src_dt, str(cur_dev))
        return _make(res, node)
    return _wrap(res)


def _same_device(dev, cur):
    if dev.type != cur.type:
        return False
    return dev.index is None or cur.index is None or dev.index == cur.index


# ------------------------------------------------------------------------------------------
# In-place forms
# ------------------------------------------------------------------------------------------

def add_(self, other, *, alpha=1):
    if alpha == 1 and inplace_ufunc(self, np.add if type(self._data) is np.ndarray else array_module(self._data).add,
                                    other):
        return self
    return inplace(self, add, other, alpha=alpha)


def sub_(self, other, *, alpha=1):
    if alpha == 1 and inplace_ufunc(self, array_module(self._data).subtract, other):
        return self
    return inplace(self, sub, other, alpha=alpha)


def mul_(self, other):
    if inplace_ufunc(self, array_module(self._data).multiply, other):
        return self
    return inplace(self, mul, other)


def div_(self, other, *, rounding_mode=None):
    if rounding_mode is None and self._data.dtype.kind in "fV" and inplace_ufunc(
            self, array_module(self._data).true_divide, other):
        return self
    return inplace(self, div, other, rounding_mode=rounding_mode)


def _iadd(self, other):
    return add_(self, other)


def _isub(self, other):
    return sub_(self, other)


def _imul(self, other):
    return mul_(self, other)


def _itruediv(self, other):
    return div_(self, other)


def _make_inplace(fn):
    def method(self, *args, **kwargs):
        return inplace(self, fn, *args, **kwargs)
    method.__name__ = fn.__name__ + "_"
    method.__doc__ = f"In-place ``{fn.__name__}``."
    return method


def zero_(self):
    """Fill with zeros in place (allowed on leaves only under no_grad)."""
    check_inplace_leaf(self)
    if _GradState.enabled and self._requires_grad:
        return inplace(self, lambda t: t * 0)
    check_writeable(self._data)
    self._data[...] = 0
    self._vbox[0] += 1
    return self


def fill_(self, value):
    check_inplace_leaf(self)
    if isinstance(value, Tensor):
        if value._data.ndim != 0:
            raise RuntimeError(f"fill_ only supports 0-dimension value tensor but got tensor with "
                               f"{value._data.ndim} dimensions.")
        if _GradState.enabled and (self._requires_grad or value._requires_grad):
            return inplace(self, lambda t, v: t * 0 + v, value)
        value = value.item()
    D.check_scalar_fits(value, self.dtype, fill=True)
    if _GradState.enabled and self._requires_grad:
        return inplace(self, lambda t: t * 0 + value)
    check_writeable(self._data)
    self._data[...] = value
    self._vbox[0] += 1
    return self


def copy_(self, src, non_blocking: bool = False):
    """Copy ``src`` (broadcast, cast, moved across devices) into ``self`` in place."""
    if not isinstance(src, Tensor):
        raise TypeError(f"copy_(): argument 'src' must be Tensor, not {type(src).__name__}")
    check_inplace_leaf(self)
    if _GradState.enabled and (self._requires_grad or src._requires_grad):
        dt, dev = self.dtype, self.device
        return inplace(self, lambda t, s: t * 0 + s.to(dtype=dt, device=dev), src)
    sd = src._data
    if type(sd) is not type(self._data):
        from .._backend import to_numpy
        sd = to_numpy(sd) if type(self._data) is np.ndarray else array_module(self._data).asarray(sd)
    try:
        np.broadcast_shapes(sd.shape, self._data.shape)
    except ValueError:
        raise RuntimeError(f"The size of tensor a ({self._data.shape[-1] if self._data.ndim else 1}) must match "
                           f"the size of tensor b ({sd.shape[-1] if sd.ndim else 1}) at non-singleton dimension "
                           f"{max(self._data.ndim - 1, 0)}") from None
    if np.broadcast_shapes(sd.shape, self._data.shape) != self._data.shape:
        raise RuntimeError(f"output with shape {list(self._data.shape)} doesn't match the broadcast shape "
                           f"{list(np.broadcast_shapes(sd.shape, self._data.shape))}")
    check_writeable(self._data)
    self._data[...] = sd
    self._vbox[0] += 1
    return self


def _clamp_(self, min=None, max=None):
    return inplace(self, clamp, min, max)


TENSOR_METHODS = {
    "__add__": _add, "__radd__": _radd, "__iadd__": _iadd,
    "__sub__": _sub, "__rsub__": lambda a, b: _rsub(a, b), "__isub__": _isub,
    "__mul__": _mul, "__rmul__": _mul, "__imul__": _imul,
    "__truediv__": _truediv, "__rtruediv__": _rtruediv, "__itruediv__": _itruediv,
    "__floordiv__": floor_divide, "__rfloordiv__": lambda a, b: floor_divide(_wrapped_scalar(b, a), a),
    "__mod__": remainder, "__rmod__": lambda a, b: remainder(_wrapped_scalar(b, a), a),
    "__pow__": pow, "__rpow__": lambda a, b: _rpow(a, b),
    "__ipow__": lambda a, b: inplace(a, pow, b),
    "__neg__": neg, "__pos__": lambda a: a, "__abs__": abs,
    "__eq__": eq, "__ne__": ne, "__lt__": lt, "__le__": le, "__gt__": gt, "__ge__": ge,
    "__and__": bitwise_and, "__or__": bitwise_or, "__xor__": bitwise_xor, "__invert__": _invert,
    "__rand__": bitwise_and, "__ror__": bitwise_or, "__rxor__": bitwise_xor,
    "__iand__": lambda a, b: inplace(a, bitwise_and, b), "__ior__": lambda a, b: inplace(a, bitwise_or, b),
    "__ixor__": lambda a, b: inplace(a, bitwise_xor, b),
    "add": add, "sub": sub, "subtract": sub, "mul": mul, "multiply": mul, "div": div, "divide": div,
    "true_divide": div, "floor_divide": floor_divide, "remainder": remainder, "fmod": fmod, "pow": pow,
    "float_power": float_power, "rsub": rsub,
    "add_": add_, "sub_": sub_, "subtract_": sub_, "mul_": mul_, "multiply_": mul_, "div_": div_,
    "divide_": div_, "true_divide_": div_, "zero_": zero_, "fill_": fill_, "copy_": copy_,
    "clamp_": _clamp_, "clip_": _clamp_,
    "maximum": maximum, "minimum": minimum, "fmax": fmax, "fmin": fmin, "atan2": atan2, "arctan2": atan2,
    "hypot": hypot, "lerp": lerp, "addcmul": addcmul, "addcdiv": addcdiv, "xlogy": xlogy,
    "clamp": clamp, "clip": clamp, "clamp_min": clamp_min, "clamp_max": clamp_max,
    "where": lambda self, condition, other: where(condition, self, other),
    "eq": eq, "ne": ne, "lt": lt, "le": le, "gt": gt, "ge": ge, "greater": gt, "greater_equal": ge,
    "less": lt, "less_equal": le, "not_equal": ne,
    "logical_and": logical_and, "logical_or": logical_or, "logical_xor": logical_xor, "logical_not": logical_not,
    "bitwise_and": bitwise_and, "bitwise_or": bitwise_or, "bitwise_xor": bitwise_xor, "bitwise_not": bitwise_not,
    "isnan": isnan, "isinf": isinf, "isfinite": isfinite, "isposinf": isposinf, "isneginf": isneginf,
    "signbit": signbit, "nan_to_num": nan_to_num,
    "relu": relu, "sigmoid": sigmoid, "square": square, "round": round, "frac": frac, "sgn": sgn,
    "absolute": abs, "fix": trunc, "arcsin": asin, "arccos": acos, "arctan": atan,
}
for _name in ("neg", "exp", "exp2", "expm1", "log", "log2", "log10", "log1p", "sqrt", "rsqrt", "sin", "cos",
              "tan", "asin", "acos", "atan", "sinh", "cosh", "tanh", "asinh", "acosh", "atanh", "reciprocal",
              "erf", "erfc", "erfinv", "abs", "sign", "floor", "ceil", "trunc"):
    TENSOR_METHODS[_name] = globals()[_name]
# In-place forms of the unary ops and a few binary ones: out-of-place op, result written back.
for _name in ("neg", "exp", "expm1", "log", "log2", "log10", "log1p", "sqrt", "rsqrt", "sin", "cos", "tan",
              "asin", "acos", "atan", "sinh", "cosh", "tanh", "reciprocal", "erf", "erfc", "erfinv", "abs",
              "sign", "floor", "ceil", "trunc", "round", "frac", "relu", "sigmoid", "square", "pow",
              "remainder", "fmod", "lerp", "addcmul", "addcdiv", "clamp_min", "clamp_max", "nan_to_num",
              "atan2", "exp2", "logical_not", "logical_and", "logical_or", "logical_xor", "eq", "ne", "lt",
              "le", "gt", "ge", "floor_divide", "maximum", "minimum", "hypot", "xlogy"):
    TENSOR_METHODS[_name + "_"] = _make_inplace(globals()[_name])

__all__ = [
    "add", "sub", "subtract", "rsub", "mul", "multiply", "div", "divide", "true_divide", "floor_divide",
    "remainder", "fmod", "pow", "float_power", "neg", "negative", "exp", "exp2", "expm1", "log", "log2", "log10",
    "log1p", "sqrt", "rsqrt", "square", "sin", "cos", "tan", "asin", "acos", "atan", "arcsin", "arccos", "arctan",
    "sinh", "cosh", "tanh", "asinh", "acosh", "atanh", "reciprocal", "erf", "erfc", "erfinv", "sigmoid", "relu",
    "abs", "absolute", "sign", "sgn", "floor", "ceil", "trunc", "fix", "round", "frac", "maximum", "minimum",
    "fmax", "fmin", "atan2", "arctan2", "hypot", "lerp", "addcmul", "addcdiv", "xlogy", "clamp", "clip",
    "clamp_min", "clamp_max", "where", "eq", "ne", "lt", "le", "gt", "ge", "greater", "greater_equal", "less",
    "less_equal", "not_equal", "logical_and", "logical_or", "logical_xor", "logical_not", "bitwise_and",
    "bitwise_or", "bitwise_xor", "bitwise_not", "isnan", "isinf", "isfinite", "isposinf", "isneginf", "signbit",
    "nan_to_num", "clone",
]
negative = neg
arcsin, arccos, arctan = asin, acos, atan
