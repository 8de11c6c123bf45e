"""Tensor printing that matches ``print(torch_tensor)`` character for character.

The rules reproduced here (observed from PyTorch):

* One formatter per tensor decides a common element width and a mode from
  the nonzero finite values: *integer mode* when they are all whole numbers
  (``1.``), *scientific* when max/min > 1000, max > 1e8 or min < 1e-4 (or
  as ``sci_mode`` forces), otherwise fixed point with ``precision`` digits.
* Rows are wrapped to ``linewidth``; sub-tensors are separated by
  ``ndim - 1`` newlines; tensors with more than ``threshold`` elements show
  only ``edgeitems`` at each end of every dimension, with ``...`` between.
* Suffixes come in the order device, size, dtype, grad_fn/requires_grad, and
  move to a new line when they would pass ``linewidth``.
"""
from __future__ import annotations

import contextlib
import math

import numpy as np

from ._backend import to_numpy
from ._dtype import get_default_dtype

__all__ = ["set_printoptions", "get_printoptions", "printoptions"]


class _PrintOptions:
    precision = 4
    threshold = 1000
    edgeitems = 3
    linewidth = 80
    sci_mode = None


PRINT_OPTS = _PrintOptions()

_PROFILES = {
    "default": dict(precision=4, threshold=1000, edgeitems=3, linewidth=80),
    "short": dict(precision=2, threshold=1000, edgeitems=2, linewidth=80),
    "full": dict(precision=4, threshold=math.inf, edgeitems=3, linewidth=80),
}


def set_printoptions(precision=None, threshold=None, edgeitems=None, linewidth=None,
                     profile=None, sci_mode=None):
    """Set printing options as ``torch.set_printoptions``.

    A profile ("default", "short", "full") is applied first and explicit
    arguments override it; an unknown profile is ignored, as in PyTorch.
    ``sci_mode`` is always assigned, so leaving it out resets it to automatic.
    """
    for name, value in _PROFILES.get(profile, {}).items():
        setattr(PRINT_OPTS, name, value)
    for name, value in (("precision", precision), ("threshold", threshold),
                        ("edgeitems", edgeitems), ("linewidth", linewidth)):
        if value is not None:
            setattr(PRINT_OPTS, name, value)
    PRINT_OPTS.sci_mode = sci_mode


def get_printoptions() -> dict:
    """The current options, as a dict that ``set_printoptions(**d)`` accepts."""
    return {
        "precision": PRINT_OPTS.precision,
        "threshold": PRINT_OPTS.threshold,
        "edgeitems": PRINT_OPTS.edgeitems,
        "linewidth": PRINT_OPTS.linewidth,
        "sci_mode": PRINT_OPTS.sci_mode,
    }


@contextlib.contextmanager
def printoptions(**kwargs):
    """Temporarily change the print options inside a ``with`` block."""
    old = get_printoptions()
    set_printoptions(**kwargs)
    try:
        yield
    finally:
        set_printoptions(**old)


# --------------------------------------------------------------------------- formatting


def _extremes(values: np.ndarray) -> list:
    """The largest and smallest magnitude of each sign.

    Formatted length grows with magnitude for a fixed sign (rounding and the
    exponent are monotonic), so these few values give the widest string
    without formatting every element.
    """
    picks = []
    for part in (values[values > 0], values[values < 0]):
        if part.size:
            mags = np.abs(part)
            picks += [part[np.argmax(mags)], part[np.argmin(mags)]]
    return [v.item() for v in picks]


class _Formatter:
    """Chooses the mode and the common width for every element of one tensor."""

    def __init__(self, values: np.ndarray, floating: bool):
        self.floating = floating
        self.int_mode = True
        self.sci_mode = False
        self.max_width = 1
        if values.size == 0:
            return
        if not floating:
            if values.dtype == np.bool_:
                widest = "False" if not values.all() else "True"
            else:
                widest = max(str(values.max().item()), str(values.min().item()), key=len)
            self.max_width = max(1, len(widest))
            return
        self._choose_float_mode(values)

    def _choose_float_mode(self, values: np.ndarray) -> None:
        finite = values[np.isfinite(values) & (values != 0)]
        if finite.size == 0:  # only zeros, nan and inf: integer mode, whatever sci_mode says
            return
        mags = np.abs(finite)
        lo, hi = float(mags.min()), float(mags.max())  # Python floats: hi / lo may overflow to inf
        self.int_mode = bool(np.all(finite == np.ceil(finite)))
        if PRINT_OPTS.sci_mode is None:
            self.sci_mode = bool(hi / lo > 1000.0 or hi > 1.0e8 or lo < 1.0e-4)
        else:
            self.sci_mode = PRINT_OPTS.sci_mode
        precision = PRINT_OPTS.precision
        if self.sci_mode:
            spec, extra = f".{precision}e", 0
        elif self.int_mode:
            spec, extra = ".0f", 1  # room for the trailing "."
        else:
            spec, extra = f".{precision}f", 0
        for value in _extremes(finite):
            self.max_width = max(self.max_width, len(format(value, spec)) + extra)

    def format(self, value) -> str:
        if not self.floating:
            text = str(value)
        elif self.sci_mode:
            text = format(value, f"{self.max_width}.{PRINT_OPTS.precision}e")
        elif self.int_mode:
            text = format(value, ".0f")
            if math.isfinite(value):
                text += "."
        else:
            text = format(value, f".{PRINT_OPTS.precision}f")
        return text.rjust(self.max_width)


def _summarized(array: np.ndarray) -> np.ndarray:
    """Only the elements that will be shown: ``edgeitems`` at both ends of each dim."""
    edge = PRINT_OPTS.edgeitems
    for axis, n in enumerate(array.shape):
        if n > 2 * edge:
            keep = np.r_[0:edge, n - edge:n]
            array = np.take(array, keep, axis=axis)
    return array


def _vector_str(array: np.ndarray, indent: int, summarize: bool, fmt: _Formatter) -> str:
    opts = PRINT_OPTS
    edge = opts.edgeitems
    per_line = max(1, math.floor((opts.linewidth - indent) / (fmt.max_width + 2)))
    if summarize and not edge:
        items = ["..."]
    elif summarize and array.shape[0] > 2 * edge:
        items = ([fmt.format(v) for v in array[:edge].tolist()] + [" ..."]
                 + [fmt.format(v) for v in array[-edge:].tolist()])
    else:
        items = [fmt.format(v) for v in array.tolist()]
    lines = [", ".join(items[i:i + per_line]) for i in range(0, len(items), per_line)]
    return "[" + (",\n" + " " * (indent + 1)).join(lines) + "]"


def _nested_str(array: np.ndarray, indent: int, summarize: bool, fmt: _Formatter) -> str:
    if array.ndim == 0:
        return fmt.format(array.item())
    if array.ndim == 1:
        return _vector_str(array, indent, summarize, fmt)
    n, edge = array.shape[0], PRINT_OPTS.edgeitems
    if summarize and n > 2 * edge:
        parts = ([_nested_str(array[i], indent + 1, summarize, fmt) for i in range(edge)] + ["..."]
                 + [_nested_str(array[i], indent + 1, summarize, fmt) for i in range(n - edge, n)])
    else:
        parts = [_nested_str(array[i], indent + 1, summarize, fmt) for i in range(n)]
    separator = "," + "\n" * (array.ndim - 1) + " " * (indent + 1)
    return "[" + separator.join(parts) + "]"


def _host_values(tensor) -> np.ndarray:
    """The tensor's values on the host; 16-bit floats widened (exactly) to float32."""
    array = np.asarray(to_numpy(tensor._data)).reshape(tuple(tensor.shape))
    if tensor.dtype.is_floating_point and array.dtype.itemsize < 4:
        array = array.astype(np.float32)
    return array


def _contents_str(tensor, indent: int) -> str:
    array = _host_values(tensor)
    summarize = array.size > PRINT_OPTS.threshold
    shown = _summarized(array) if summarize else array
    floating = tensor.dtype.is_floating_point
    fmt = _Formatter(shown.astype(np.float64) if floating else shown, floating)
    return _nested_str(array, indent, summarize, fmt)


def _add_suffixes(text: str, suffixes: list, indent: int) -> str:
    # PyTorch measures the first line two characters longer than it is
    line_len = len(text) - text.rfind("\n") + 1
    pieces = [text]
    for suffix in suffixes:
        if line_len + len(suffix) + 2 > PRINT_OPTS.linewidth:
            pieces.append(",\n" + " " * indent + suffix)
            line_len = indent + len(suffix)
        else:
            pieces.append(", " + suffix)
            line_len += len(suffix) + 2
    pieces.append(")")
    return "".join(pieces)


def _device_str(device) -> str:
    if device.type != "cpu" and getattr(device, "index", None) is None:
        return f"{device.type}:0"
    return str(device)


def _str(tensor, *, tensor_contents=None) -> str:
    """``repr(tensor)``: PyTorch's layout with ``ember.`` dtype names.

    ``tensor_contents`` replaces the bracketed values (the suffixes stay), as
    ``Tensor.__repr__(tensor_contents=...)`` does in PyTorch.
    """
    # PyTorch prints a user subclass under its own name (``P([1., 1.])``); Parameter stays "tensor(".
    from ._tensor import Tensor
    cls = type(tensor)
    user_subclass = isinstance(tensor, Tensor) and not cls.__module__.startswith("ember")
    prefix = cls.__name__ + "(" if user_subclass else "tensor("
    indent = len(prefix)
    suffixes = []
    if tensor.device.type != "cpu":
        suffixes.append(f"device='{_device_str(tensor.device)}'")

    shape = tuple(tensor.shape)
    dtype = tensor.dtype
    default_float = get_default_dtype()
    if math.prod(shape) == 0:
        if len(shape) != 1:
            suffixes.append(f"size={shape}")
        # nothing to infer the dtype from, so even int64/bool are shown
        if dtype != default_float:
            suffixes.append(f"dtype={dtype!r}")
        contents = "[]" if tensor_contents is None else tensor_contents
    else:
        if not PRINT_OPTS.edgeitems:
            suffixes.append(f"size={shape}")
        if dtype.name not in (default_float.name, "int64", "bool"):
            suffixes.append(f"dtype={dtype!r}")
        contents = _contents_str(tensor, indent) if tensor_contents is None else tensor_contents

    grad_fn = getattr(tensor, "grad_fn", None)
    if grad_fn is not None:
        suffixes.append(f"grad_fn=<{type(grad_fn).__name__}>")
    elif tensor.requires_grad:
        suffixes.append("requires_grad=True")
    return _add_suffixes(prefix + contents, suffixes, indent)
