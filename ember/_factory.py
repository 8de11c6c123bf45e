"""Tensor creation: ``tensor``, ``zeros``, ``arange``, ..., and the ``*_like`` forms.

Python floats become the default dtype (float32), Python ints int64 and bools
bool, as in PyTorch; NumPy arrays keep their dtype.
"""
from __future__ import annotations

import builtins
import math
import warnings

import numpy as np

from . import _dtype as D
from ._backend import module_for_device, to_numpy, is_cuda_array, array_module
from ._device import device as _device_cls, to_device, CPU
from ._tensor import Tensor, Size, _wrap, _new_tensor

_default_device = CPU


def _xp(dev):
    return np if dev is None or dev.type == "cpu" else module_for_device("cuda")


def _finish(data, requires_grad: bool, cls=Tensor) -> Tensor:
    t = _wrap(data) if cls is Tensor else _rebuild(cls, data)
    if requires_grad:
        if data.dtype.kind not in "fV":  # NOTE: factories capitalise this message, unlike requires_grad_()
            raise RuntimeError("Only Tensors of floating point and complex dtype can require gradients")
        t.requires_grad_(True)
    return t


def _rebuild(cls, data):
    return _new_tensor(cls, data)


def _on_device(arr, dev):
    if dev is None:
        dev = _default_device
    if dev.type == "cpu":
        return to_numpy(arr) if is_cuda_array(arr) else arr
    cp = module_for_device("cuda")
    with cp.cuda.Device(dev.index or 0):
        return cp.asarray(arr)


def _size_args(size, fn_name: str = "new"):
    """``size`` given as ``(2, 3)`` or ``((2, 3),)`` as a tuple of ints, with PyTorch's errors."""
    if len(size) == 1 and isinstance(size[0], (tuple, list, Size)):
        size = tuple(size[0])
    for pos, s in enumerate(size):
        if isinstance(s, Tensor):
            s = int(s)
        if not isinstance(s, (int, np.integer)) or isinstance(s, builtins.bool):
            if len(size) == 1:
                raise TypeError(f"{fn_name}(): argument 'size' (position 1) must be tuple of ints, not "
                                f"{type(s).__name__}")
            raise TypeError(f"{fn_name}(): argument 'size' failed to unpack the object at pos {pos + 1} with "
                            f"error \"type must be tuple of ints,but got {type(s).__name__}\"")
    size = tuple(int(s) for s in size)
    if builtins.any(s < 0 for s in size):
        if fn_name == "zeros":  # NOTE: zeros has its own wording in PyTorch
            raise RuntimeError("zeros: Dimension size must be non-negative.")
        neg = next(s for s in size if s < 0)
        raise RuntimeError(f"Trying to create tensor with negative dimension {neg}: {list(size)}")
    return size


_SEQUENCES = (list, tuple, range)


def _array_from_data(data, dtype=None):
    """A NumPy array of ``data`` with PyTorch's dtype inference; Python numbers convert straight to
    ``dtype`` when given (0.3 as float64 must not pass through float32)."""
    if isinstance(data, Tensor):
        return to_numpy(data._data), True
    if isinstance(data, np.ndarray):
        return data, True
    if is_cuda_array(data):
        return data, True
    if isinstance(data, np.generic):  # before float: np.float64 is a float subclass but keeps its dtype
        return np.asarray(data), True
    if isinstance(data, builtins.bool):
        return np.array(data, dtype=np.bool_), True
    if isinstance(data, builtins.int):
        to_float = dtype is not None and dtype._category == 2
        if not to_float and not -2 ** 63 <= data < 2 ** 63:
            raise ValueError("Overflow when unpacking long long")
        if dtype is not None:
            D.check_scalar_fits(data, dtype)
        return np.array(data, dtype=dtype.np if to_float else np.int64), True
    if isinstance(data, builtins.float):
        if dtype is not None:
            D.check_scalar_fits(data, dtype)
        return np.array(data, dtype=(dtype or D._default_dtype).np), True
    if isinstance(data, _SEQUENCES):
        values, inferred, shape = _flatten_checked(data)
        target = dtype or inferred
        if target._category != 1:
            return np.array(values, dtype=target.np).reshape(shape), True
        try:  # through int64 or float64, so that -1 wraps to 255 in uint8 as in PyTorch (NumPy refuses it)
            wide = np.array(values, dtype=np.int64 if inferred._category < 2 else np.float64)
        except OverflowError:  # a Python int beyond int64
            raise ValueError("Overflow when unpacking long long") from None
        if wide.size and (target is not D.int64 or wide.dtype.kind == "f"):
            for extreme in (wide.min(), wide.max()):  # nan fails the check too
                D.check_scalar_fits(extreme.item(), target)
        return wide.astype(target.np).reshape(shape), True
    if data is None:
        raise RuntimeError("Could not infer dtype of NoneType")
    if hasattr(data, "__array__"):
        return np.asarray(data), True
    raise TypeError(f"new(): invalid data type '{type(data).__name__}'")


def _element_dtype(x) -> D.dtype:
    """The dtype PyTorch infers for one leaf of a nested list (a scalar or a one-element tensor)."""
    if isinstance(x, Tensor):
        if x._data.size != 1:
            raise ValueError("only one element tensors can be converted to Python scalars")
        return x.dtype
    if isinstance(x, np.generic):
        return D.from_numpy_dtype(x.dtype)
    if isinstance(x, (builtins.bool, builtins.int, builtins.float)):
        return D.scalar_dtype(x)
    raise TypeError(f"new(): invalid data type '{type(x).__name__}'")


_PY_SCALAR_TYPES = frozenset((builtins.bool, builtins.int, builtins.float))


def _flatten_checked(data):
    """Flatten nested sequences, checking rectangularity; returns (values, dtype, shape).

    The dtype promotes over every element (Python floats count as the default dtype), as
    PyTorch infers it: ``[True, 1]`` is int64, ``[tensor(1.), tensor(2., dtype=float64)]`` float64.
    """
    shape = []
    level = [data]
    depth = 0
    while level and isinstance(level[0], _SEQUENCES):
        n = len(level[0])
        for item in level:
            if not isinstance(item, _SEQUENCES):
                raise TypeError("not a sequence")
            if len(item) != n:
                raise ValueError(f"expected sequence of length {n} at dim {depth} (got {len(item)})")
        shape.append(n)
        level = [x for item in level for x in item]
        depth += 1
    kinds = set(map(type, level))
    if kinds <= _PY_SCALAR_TYPES:  # plain Python numbers (a token list, say): infer once, not per element
        if builtins.float in kinds:
            return level, D._default_dtype, tuple(shape)
        return level, (D.int64 if builtins.int in kinds else D.bool if kinds else D._default_dtype), tuple(shape)
    dtype = None
    values = []
    for x in level:
        if isinstance(x, _SEQUENCES):
            raise TypeError(f"'{type(x).__name__}' object cannot be interpreted as an integer")
        dt = _element_dtype(x)
        dtype = dt if dtype is None else D.promote_types(dtype, dt)
        values.append(x.item() if isinstance(x, Tensor) else x)
    return values, dtype or D._default_dtype, tuple(shape)


def tensor(data, *, dtype=None, device=None, requires_grad: bool = False, pin_memory: bool = False) -> Tensor:
    """A new tensor that copies ``data`` (``torch.tensor``)."""
    if isinstance(data, Tensor):
        warnings.warn("To copy construct from a tensor, it is recommended to use sourceTensor.detach().clone() "
                      "or sourceTensor.detach().clone().requires_grad_(True), rather than "
                      "torch.tensor(sourceTensor).", UserWarning, stacklevel=2)
    arr, _ = _array_from_data(data, None if dtype is None else D.to_dtype(dtype))
    if not is_cuda_array(arr):
        D.from_numpy_dtype(arr.dtype)  # TypeError for unsupported NumPy dtypes
    if dtype is not None:
        dt = D.to_dtype(dtype)
        arr = arr.astype(dt.np)
    else:
        arr = arr.copy()
    dev = to_device(device) if device is not None else None
    return _finish(_on_device(arr, dev), requires_grad)


def as_tensor(data, dtype=None, device=None) -> Tensor:
    """Share memory with ``data`` when possible (a tensor or NumPy array of the right dtype/device)."""
    dev = to_device(device) if device is not None else None
    if isinstance(data, Tensor):
        return data.to(dtype=dtype, device=dev) if (dtype is not None or dev is not None) else data
    if isinstance(data, np.ndarray) and (dev is None or dev.type == "cpu"):
        D.from_numpy_dtype(data.dtype)
        arr = data if dtype is None else data.astype(D.to_dtype(dtype).np, copy=False)
        return _wrap(arr)
    return tensor(data, dtype=dtype, device=device)


asarray = as_tensor


def from_numpy(ndarray: np.ndarray) -> Tensor:
    """A tensor sharing memory with a NumPy array (``torch.from_numpy``)."""
    if not isinstance(ndarray, np.ndarray):
        raise TypeError(f"expected np.ndarray (got {type(ndarray).__name__})")
    D.from_numpy_dtype(ndarray.dtype)
    return _wrap(ndarray)


def _resolve_dtype(dtype, default=None) -> D.dtype:
    if dtype is None:
        return default or D._default_dtype
    return D.to_dtype(dtype)


def _filled(fn_name, size, dtype, device, requires_grad, fill=None):
    shape = _size_args(size, fn_name)
    dt = _resolve_dtype(dtype)
    dev = to_device(device) if device is not None else _default_device
    xp = _xp(dev)
    if fn_name == "full":
        D.check_scalar_fits(fill, dt, fill=True)
        arr = xp.full(shape, fill, dtype=dt.np)
    else:
        arr = getattr(xp, fn_name)(shape, dtype=dt.np)
    return _finish(arr, requires_grad)


def _given_size(fn_name: str, sizes: tuple, size):
    """The size passed positionally (``ones(2, 3)``, ``ones((2, 3))``) or as ``size=``; PyTorch's error for none."""
    if size is not None:
        if sizes:
            raise TypeError(f"{fn_name}() got multiple values for argument 'size'")
        return (size,)
    if not sizes:
        raise TypeError(f'{fn_name}() missing 1 required positional arguments: "size"')
    return sizes


def zeros(*sizes, size=None, out=None, dtype=None, layout=None, device=None,
          requires_grad: bool = False) -> Tensor:
    return _filled("zeros", _given_size("zeros", sizes, size), dtype, device, requires_grad)


def ones(*sizes, size=None, out=None, dtype=None, layout=None, device=None,
         requires_grad: bool = False) -> Tensor:
    return _filled("ones", _given_size("ones", sizes, size), dtype, device, requires_grad)


def empty(*sizes, size=None, out=None, dtype=None, layout=None, device=None, requires_grad: bool = False,
          memory_format=None, pin_memory=False) -> Tensor:
    return _filled("empty", _given_size("empty", sizes, size), dtype, device, requires_grad)


def full(size, fill_value, *, out=None, dtype=None, layout=None, device=None, requires_grad: bool = False) -> Tensor:
    """A tensor filled with ``fill_value``; its dtype follows the value (int64/float/bool) by default."""
    if isinstance(fill_value, Tensor):
        fill_value = fill_value.item()
    if dtype is None:
        dtype = D.scalar_dtype(fill_value)
    if not isinstance(size, (tuple, list, Size)):
        raise TypeError(f"full(): argument 'size' (position 1) must be tuple of ints, not {type(size).__name__}")
    return _filled("full", (tuple(size),), dtype, device, requires_grad, fill=fill_value)


def _like(input, dtype, device):
    return (dtype if dtype is not None else input.dtype), (device if device is not None else input.device)


def zeros_like(input, *, dtype=None, layout=None, device=None, requires_grad=False, memory_format=None):
    dt, dev = _like(input, dtype, device)
    return zeros(input.shape, dtype=dt, device=dev, requires_grad=requires_grad)


def ones_like(input, *, dtype=None, layout=None, device=None, requires_grad=False, memory_format=None):
    dt, dev = _like(input, dtype, device)
    return ones(input.shape, dtype=dt, device=dev, requires_grad=requires_grad)


def empty_like(input, *, dtype=None, layout=None, device=None, requires_grad=False, memory_format=None):
    dt, dev = _like(input, dtype, device)
    return empty(input.shape, dtype=dt, device=dev, requires_grad=requires_grad)


def full_like(input, fill_value, *, dtype=None, layout=None, device=None, requires_grad=False, memory_format=None):
    dt, dev = _like(input, dtype, device)
    return full(input.shape, fill_value, dtype=dt, device=dev, requires_grad=requires_grad)


def eye(n: int, m: int | None = None, *, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    if n < 0:
        raise RuntimeError(f"n must be greater or equal to 0, got {n}")
    if m is not None and m < 0:
        raise RuntimeError(f"m must be greater or equal to 0, got {m}")
    dev = to_device(device) if device is not None else _default_device
    return _finish(_xp(dev).eye(n, m, dtype=_resolve_dtype(dtype).np), requires_grad)


def arange(start, end=None, step=1, *, out=None, dtype=None, layout=None, device=None,
           requires_grad: bool = False) -> Tensor:
    """Values from ``start`` to ``end`` (exclusive) by ``step``; int64 when all arguments are ints."""
    if end is None:
        start, end = 0, start
    vals = [v.item() if isinstance(v, Tensor) else v for v in (start, end, step)]
    start, end, step = vals
    if step == 0:
        raise RuntimeError("step must be nonzero")
    if (end - start) / step < 0:
        raise RuntimeError("upper bound and lower bound inconsistent with step sign")
    all_int = builtins.all(isinstance(v, (builtins.int, np.integer)) for v in vals)
    dt = _resolve_dtype(dtype, D.int64 if all_int else D._default_dtype)
    n = builtins.max(0, math.ceil((end - start) / step))
    dev = to_device(device) if device is not None else _default_device
    xp = _xp(dev)
    if all_int and dt._category == 1:
        arr = xp.arange(start, start + n * step, step, dtype=dt.np)[:n]
    else:
        arr = (start + xp.arange(n, dtype=np.float64) * step).astype(dt.np)
    return _finish(arr, requires_grad)


def range_(start=0, end=None, step=1, *, dtype=None, device=None, requires_grad=False) -> Tensor:
    """Deprecated ``torch.range``: like arange but includes ``end``; float by default."""
    n = builtins.int(math.floor((end - start) / step)) + 1
    dt = _resolve_dtype(dtype)
    arr = (start + np.arange(n, dtype=np.float64) * step).astype(dt.np)
    return _finish(_on_device(arr, to_device(device) if device is not None else None), requires_grad)


def linspace(start, end, steps: int, *, out=None, dtype=None, layout=None, device=None,
             requires_grad: bool = False) -> Tensor:
    """``steps`` evenly spaced values from ``start`` to ``end`` inclusive (``torch.linspace``)."""
    if steps < 0:
        raise RuntimeError("number of steps must be non-negative")
    start = start.item() if isinstance(start, Tensor) else start
    end = end.item() if isinstance(end, Tensor) else end
    dt = _resolve_dtype(dtype)
    i = np.arange(steps, dtype=np.float64)
    if steps > 1 and (dt is D.float32 or dt is D.float64):
        # PyTorch computes in the dtype itself: step rounded to it, then one fused multiply-add per
        # element, the first half from start and the second half back from end
        # (linspace(-1, 1, 7)[3] is -2.9802e-08 in float32, not 0).
        f = dt.np.type
        first, last = builtins.float(f(start)), builtins.float(f(end))
        step = builtins.float(f(f(last) - f(first)) / f(steps - 1))
        from_start = _fma(np.full(steps, step), i, np.full(steps, first))
        from_end = _fma(np.full(steps, -step), steps - 1 - i, np.full(steps, last))
        arr = np.where(i < steps // 2, from_start, from_end)
    elif steps > 1 and dt._category == 1:
        # integers: the ends convert to the dtype first, the step and the fused multiply-adds are double
        first, last = builtins.float(math.trunc(start)), builtins.float(math.trunc(end))
        step = (last - first) / (steps - 1)
        from_start = _fma(np.full(steps, step), i, np.full(steps, first))
        from_end = _fma(np.full(steps, -step), steps - 1 - i, np.full(steps, last))
        arr = np.where(i < steps // 2, from_start, from_end)
    elif steps > 1:
        step = (end - start) / (steps - 1)
        half = steps // 2
        arr = np.where(i < half, start + step * i, end - step * (steps - 1 - i))
    else:
        arr = np.full(steps, start, dtype=np.float64)
    if dt._category == 1:
        arr = np.trunc(arr)
    return _finish(_on_device(arr.astype(dt.np), to_device(device) if device is not None else None),
                   requires_grad)


def _fma(a: np.ndarray, b: np.ndarray, c: np.ndarray) -> np.ndarray:
    """``a * b + c`` in float64 with a single rounding (NumPy has no fma): the product's rounding
    error is recovered exactly by Dekker's splitting, the sum's by Knuth's two-sum."""
    product = a * b
    a_hi, a_lo = _split(a)
    b_hi, b_lo = _split(b)
    product_err = ((a_hi * b_hi - product) + a_hi * b_lo + a_lo * b_hi) + a_lo * b_lo
    total = product + c
    c_part = total - product
    sum_err = (product - (total - c_part)) + (c - c_part)
    return total + (product_err + sum_err)


def _split(a: np.ndarray):
    scaled = 134217729.0 * a  # 2**27 + 1: splits a double's 53-bit mantissa into two 26-bit halves
    hi = scaled - (scaled - a)
    return hi, a - hi


def logspace(start, end, steps: int, base: float = 10.0, *, dtype=None, device=None,
             requires_grad: bool = False) -> Tensor:
    exps = linspace(start, end, steps, dtype=D.float64)._data
    arr = np.power(base, exps).astype(_resolve_dtype(dtype).np)
    return _finish(_on_device(arr, to_device(device) if device is not None else None), requires_grad)


def _legacy_tensor(cls, *args, **kwargs):
    """``ember.Tensor(...)``: sizes make an uninitialised tensor, data is copied; default dtype."""
    device = kwargs.pop("device", None)
    if kwargs:
        raise TypeError(f"new() got an unexpected keyword argument '{next(iter(kwargs))}'")
    dt = D._default_dtype
    if not args:
        arr = np.empty((0,), dtype=dt.np)
    elif builtins.all(isinstance(a, (builtins.int, np.integer)) and not isinstance(a, builtins.bool) for a in args):
        arr = np.zeros(tuple(args), dtype=dt.np)
    elif len(args) == 1 and isinstance(args[0], Tensor):
        src = args[0]
        t = _rebuild(cls, src._data)
        t._vbox = src._vbox
        return t
    elif len(args) == 1:
        arr = _array_from_data(args[0])[0].astype(dt.np)
    else:
        raise TypeError("new(): invalid combination of arguments")
    return _rebuild(cls, _on_device(arr, to_device(device) if device is not None else None))


def is_tensor(obj) -> builtins.bool:
    return isinstance(obj, Tensor)


def numel(input: Tensor) -> builtins.int:
    return input.numel()
