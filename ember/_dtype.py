"""dtype objects, the default dtype and PyTorch's type-promotion rules.

PyTorch promotes by *category* (bool < integer < floating) and gives Python
scalars and zero-dimensional tensors a lower priority than dimensioned tensors,
so ``int_tensor * 2.5`` is float32 (the default dtype) and ``half_tensor + 1.0``
stays float16. NumPy's rules differ; ops ask this module, never NumPy.
"""
from __future__ import annotations

import builtins

import numpy as np

from ._backend import ml_dtypes

__all__ = [
    "dtype", "float16", "half", "bfloat16", "float32", "float", "float64", "double",
    "int8", "int16", "short", "int32", "int", "int64", "long", "uint8", "bool",
    "get_default_dtype", "set_default_dtype", "promote_types", "can_cast", "finfo", "iinfo",
]


class dtype:
    """A tensor element type; prints as ``ember.float32`` like ``torch.float32``."""

    __slots__ = ("name", "np", "is_floating_point", "is_signed", "itemsize", "_category", "_rank")
    is_complex = False

    def __init__(self, name: str, np_dtype, category: int, rank: int, itemsize: int, signed: builtins.bool):
        self.name = name
        self.np = np_dtype
        self._category = category  # 0 bool, 1 integer, 2 floating
        self._rank = rank          # order inside a category, for promotion
        self.is_floating_point = category == 2
        self.is_signed = signed
        self.itemsize = itemsize

    def __repr__(self) -> str:
        return "ember." + self.name

    def __reduce__(self):
        return (_dtype_from_name, (self.name,))

    def __copy__(self):
        return self

    def __deepcopy__(self, memo):
        return self

    def to_real(self) -> "dtype":
        return self


# Print as ``ember.dtype`` (``<class 'torch.dtype'>`` in PyTorch); pickling goes through __reduce__.
dtype.__module__ = "ember"


def _dtype_from_name(name: str) -> dtype:
    return _BY_NAME[name]


_bf16_np = ml_dtypes.bfloat16 if ml_dtypes is not None else None

bool = dtype("bool", np.dtype(np.bool_), 0, 0, 1, False)
uint8 = dtype("uint8", np.dtype(np.uint8), 1, 0, 1, False)
int8 = dtype("int8", np.dtype(np.int8), 1, 0, 1, True)
int16 = dtype("int16", np.dtype(np.int16), 1, 1, 2, True)
int32 = dtype("int32", np.dtype(np.int32), 1, 2, 4, True)
int64 = dtype("int64", np.dtype(np.int64), 1, 3, 8, True)
float16 = dtype("float16", np.dtype(np.float16), 2, 0, 2, True)
bfloat16 = dtype("bfloat16", np.dtype(_bf16_np) if _bf16_np is not None else None, 2, 0, 2, True)
float32 = dtype("float32", np.dtype(np.float32), 2, 1, 4, True)
float64 = dtype("float64", np.dtype(np.float64), 2, 2, 8, True)

half = float16
float = float32
double = float64
short = int16
int = int32
long = int64

_ALL = (bool, uint8, int8, int16, int32, int64, float16, bfloat16, float32, float64)
_BY_NAME = {d.name: d for d in _ALL}
_BY_NAME.update(half=float16, float=float32, double=float64, short=int16, int=int32, long=int64)
_FROM_NP = {d.np: d for d in _ALL if d.np is not None}


def from_numpy_dtype(np_dtype) -> dtype:
    """The ember dtype for a NumPy dtype; TypeError for types ember does not have."""
    try:
        return _FROM_NP[np_dtype]
    except (KeyError, TypeError):
        pass
    np_dtype = np.dtype(np_dtype)
    if np_dtype in _FROM_NP:
        return _FROM_NP[np_dtype]
    raise TypeError(
        f"can't convert np.ndarray of type numpy.{np_dtype.type.__name__}. The only supported types are: "
        "float64, float32, float16, int64, int32, int16, int8, uint8, and bool.")


def to_dtype(obj) -> dtype:
    """Accept an ember dtype, a Python type (float/int/bool), a NumPy dtype or a name."""
    if type(obj) is dtype:
        return obj
    if obj is builtins.float:
        return float64
    if obj is builtins.int:
        return int64
    if obj is builtins.bool:
        return bool
    if isinstance(obj, str):
        name = obj[6:] if obj.startswith("ember.") else obj[6:] if obj.startswith("torch.") else obj
        if name in _BY_NAME:
            return _BY_NAME[name]
        raise TypeError(f"invalid dtype {obj!r}")
    return from_numpy_dtype(obj)


_default_dtype = float32


def get_default_dtype() -> dtype:
    """The floating dtype that Python floats and ``ember.tensor([1.0])`` become."""
    return _default_dtype


def set_default_dtype(d) -> None:
    global _default_dtype
    d = to_dtype(d)
    if not d.is_floating_point:
        raise TypeError("only floating-point types are supported as the default type")
    _default_dtype = d


def promote_types(type1: dtype, type2: dtype) -> dtype:
    """The smallest dtype both can be cast to, as ``torch.promote_types``."""
    if type1 is type2:
        return type1
    try:
        c1, c2 = type1._category, type2._category
    except AttributeError:
        pos, bad = (1, type1) if not isinstance(type1, dtype) else (2, type2)
        raise TypeError(f"promote_types(): argument 'type{pos}' (position {pos}) must be torch.dtype, not "
                        f"{type(bad).__name__}") from None
    if c1 != c2:
        return type1 if c1 > c2 else type2
    if c1 == 1:
        return _FROM_NP[np.promote_types(type1.np, type2.np)]
    # floating: float16 with bfloat16 meets at float32
    if type1._rank == type2._rank:
        return float32
    return type1 if type1._rank > type2._rank else type2


def can_cast(from_: dtype, to: dtype) -> builtins.bool:
    """Same-kind casting as ``torch.can_cast``: no float->int, no number->bool."""
    return from_._category <= to._category


def scalar_dtype(value) -> dtype:
    """The dtype PyTorch gives a Python scalar on its own (``torch.tensor(value)``)."""
    t = type(value)
    if t is builtins.bool or t is np.bool_:
        return bool
    if t is builtins.float:
        return _default_dtype
    if t is builtins.int:
        return int64
    if isinstance(value, np.generic):
        return from_numpy_dtype(value.dtype)
    if isinstance(value, complex):
        raise TypeError("ember does not support complex numbers")
    raise TypeError(f"expected a number, got {type(value).__name__}")


# C++ element names, as PyTorch's fill/full overflow errors print them
_FILL_NAMES = {"int8": "int8_t", "int16": "int16_t", "int32": "int", "int64": "int64_t", "uint8": "uint8_t",
               "float16": "c10::Half", "float32": "float"}


def check_scalar_fits(value, to: dtype, fill: builtins.bool = False) -> None:
    """RuntimeError when the Python number ``value`` overflows ``to``, as PyTorch checks a scalar it
    converts (``tensor(300, dtype=uint8)``; with ``fill`` also ``full``/``fill_`` into float32/float16).

    Integers wrap when within the unsigned range's negative mirror (-1 -> 255 for uint8), as in PyTorch.
    """
    t = type(value)
    if to._category == 1:
        info = np.iinfo(to.np)
        if t is builtins.int or isinstance(value, np.integer):
            low = -builtins.int(info.max) if info.min == 0 else builtins.int(info.min)
            ok = low <= value <= info.max
        elif t is builtins.float or isinstance(value, np.floating):
            ok = info.min <= value <= info.max  # False for nan and inf too
        else:
            return
    elif fill and (to is float32 or to is float16) and (t is builtins.float or t is builtins.int):
        as_float = builtins.float(value)
        if to is float16:  # PyTorch narrows to float first: what overflows float32 becomes inf
            as_float = builtins.float(np.float32(as_float))
        ok = not (np.isfinite(as_float) and builtins.abs(as_float) > np.finfo(to.np).max)
    else:
        return
    if not ok:
        name = _FILL_NAMES[to.name] if fill else to.name
        raise RuntimeError(f"value cannot be converted to type {name} without overflow")


def result_type_of(tensors_dim, tensors_zero, scalars) -> dtype:
    """PyTorch's promotion over three priority groups.

    Dimensioned tensors decide the dtype; a zero-dim tensor or a Python scalar
    only matters when its category is higher (then a Python float becomes the
    default dtype, a Python int int64).
    """
    result = None
    for d in tensors_dim:
        result = d if result is None else promote_types(result, d)
    zero = None
    for d in tensors_zero:
        zero = d if zero is None else promote_types(zero, d)
    if zero is not None:
        if result is None:
            result = zero
        elif zero._category > result._category:
            result = zero
    if scalars:
        cat = max(_scalar_category(s) for s in scalars)
        if result is None:
            result = (bool, int64, _default_dtype)[cat]
        elif cat > result._category:
            result = (bool, int64, _default_dtype)[cat]
    return result


def _scalar_category(value) -> builtins.int:
    t = type(value)
    if t is builtins.float:
        return 2
    if t is builtins.int:
        return 1
    if t is builtins.bool:
        return 0
    return scalar_dtype(value)._category


class finfo:
    """Machine limits of a floating dtype (``torch.finfo``)."""

    def __init__(self, type: dtype | None = None):
        type = _default_dtype if type is None else to_dtype(type)
        if not type.is_floating_point:
            raise TypeError("torch.finfo() requires a floating point input type. Use torch.iinfo to handle "
                            "'torch.finfo'")
        info = np.finfo(type.np) if type is not bfloat16 else ml_dtypes.finfo(type.np)
        self.dtype = type.name
        self.bits = type.itemsize * 8
        self.eps = builtins.float(info.eps)
        self.max = builtins.float(info.max)
        self.min = builtins.float(info.min)
        self.tiny = builtins.float(info.tiny)
        self.smallest_normal = self.tiny
        self.resolution = 10.0 ** -builtins.int(info.precision)

    def __repr__(self) -> str:
        return (f"finfo(resolution={self.resolution}, min={self.min:g}, max={self.max:g}, eps={self.eps:g}, "
                f"smallest_normal={self.smallest_normal:g}, tiny={self.tiny:g}, dtype={self.dtype})")


class iinfo:
    """Machine limits of an integer dtype (``torch.iinfo``)."""

    def __init__(self, type: dtype):
        type = to_dtype(type)
        if type is bool:
            raise TypeError("torch.bool is not supported by torch.iinfo")
        if type._category != 1:
            raise TypeError("torch.iinfo() requires an integer input type. Use torch.finfo to handle 'torch.iinfo'")
        info = np.iinfo(type.np)
        self.dtype = type.name
        self.bits = type.itemsize * 8
        self.max = builtins.int(info.max)
        self.min = builtins.int(info.min)

    def __repr__(self) -> str:
        return f"iinfo(min={self.min}, max={self.max}, dtype={self.dtype})"
