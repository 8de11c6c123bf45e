"""Indexing: ``t[key]``/``t[key] = v``, gather/scatter, index_* ops, masked_* ops, nonzero, take.

``t[key]`` follows PyTorch's two-stage rule: ints, slices, None and Ellipsis are applied first as a
view (SelectBackward0 / SliceBackward0 / UnsqueezeBackward0 / AliasBackward0); index tensors, lists,
arrays and masks are then applied to that view with NumPy's advanced-indexing placement rule (a copy,
IndexBackward0). So ``x[0, :, idx]`` drops dim 0 first, as PyTorch does (NumPy would not).
"""
from __future__ import annotations

import numpy as np

from .. import _dtype as D
from .._backend import array_module, is_cuda_array
from .._tensor import legacy_type_name
from ._util import (Tensor, Node, edge, _GradState, _wrap, _make, wrap_dim, sum_to, inplace,
                    requires_grad_any, _scalar_type_name)
from .shape import _record_view

# ------------------------------------------------------------------------------------------
# Key parsing
# ------------------------------------------------------------------------------------------

class _Key:
    """A parsed index: ``basic`` (NumPy basic index giving a view) then ``adv`` (advanced index on it).

    ``adv`` is None for a pure view. ``kind`` names the last view step (for the grad_fn name) and
    ``is_view`` tells whether a view step was applied at all (for PyTorch's leaf error wording).
    """

    __slots__ = ("basic", "adv", "kind", "is_view")

    def __init__(self, basic, adv, kind, is_view):
        self.basic, self.adv, self.kind, self.is_view = basic, adv, kind, is_view


_INDEX_DTYPE_ERROR = "tensors used as indices must be long, int, byte or bool tensors"


def _sequence_as_tuple(seq: list) -> bool:
    """PyTorch's legacy rule: a list holding sequences, tensors, slices, None or ... is a tuple key."""
    if len(seq) >= 32:
        return False
    for item in seq:
        if item is None or item is Ellipsis or isinstance(item, (slice, Tensor, list, tuple, np.ndarray)):
            return True
    return False


def _index_array(value, xp):
    """An index tensor / array / list as ('mask', bool array) or ('adv', int array) or ('int', n)."""
    if isinstance(value, Tensor):
        arr = value._data
    elif isinstance(value, np.ndarray) or is_cuda_array(value):
        arr = value
    else:
        arr = np.asarray(value)
        if arr.size == 0 and arr.dtype.kind == "f":
            arr = arr.astype(np.int64)
        elif arr.dtype == object:
            arr = np.asarray([int(v) for v in np.ravel(arr)]).reshape(arr.shape)
    kind = arr.dtype.kind
    if kind == "b" or arr.dtype == np.uint8:
        if arr.ndim == 0:
            return "bool", bool(arr)
        return "mask", xp.asarray(arr.astype(bool, copy=False))
    if kind not in "iu" or arr.dtype not in (np.int64, np.int32):
        raise IndexError(_INDEX_DTYPE_ERROR)
    if arr.ndim == 0 and isinstance(value, Tensor):
        return "int", int(arr)
    return "adv", xp.asarray(arr)


def _convert_item(item, xp):
    t = type(item)
    if t is int:
        return "int", item
    if t is slice:
        return "slice", item
    if item is None:
        return "none", None
    if item is Ellipsis:
        return "ellipsis", None
    if t is bool:
        return "bool", item
    if isinstance(item, (np.integer,)):
        return "int", int(item)
    if isinstance(item, np.bool_):
        return "bool", bool(item)
    if isinstance(item, (Tensor, np.ndarray, list, tuple)) or is_cuda_array(item):
        return _index_array(item, xp)
    if isinstance(item, float):
        raise IndexError("only integers, slices (`:`), ellipsis (`...`), None and long or byte Variables are "
                         "valid indices (got float)")
    raise IndexError("only integers, slices (`:`), ellipsis (`...`), None and long or byte Variables are "
                     f"valid indices (got {type(item).__name__})")


def _slice_of(item: slice) -> slice:
    start, stop, step = item.start, item.stop, item.step
    if step is not None:
        step = int(step.__index__())
        if step == 0:
            raise ValueError("slice step cannot be zero")
        if step < 0:  # NOTE: NumPy would reverse; PyTorch rejects negative steps (use flip)
            raise ValueError("step must be greater than zero")
    return slice(None if start is None else start.__index__(), None if stop is None else stop.__index__(), step)


def _parse_key(key, shape) -> _Key:
    """Split ``key`` into PyTorch's view stage and advanced stage, with PyTorch's errors."""
    if type(key) is not tuple:
        key = tuple(key) if type(key) is list and _sequence_as_tuple(key) else (key,)
    xp = np
    items = [_convert_item(item, xp) for item in key]
    ndim = len(shape)
    consumed = 0
    ellipses = 0
    for kind, value in items:
        if kind in ("int", "slice", "adv"):
            consumed += 1
        elif kind == "mask":
            consumed += value.ndim
        elif kind == "ellipsis":
            ellipses += 1
    if ellipses > 1:
        raise IndexError("an index can only have a single ellipsis ('...')")
    if consumed > ndim:
        raise IndexError(f"too many indices for tensor of dimension {ndim}")
    basic = []
    adv = []          # (position in the view, kind, array)
    in_dim = out_dim = 0
    last = "alias"
    is_view = False
    for kind, value in items:
        if kind == "int":
            size = shape[in_dim]
            if not -size <= value < size:
                raise IndexError(f"index {value} is out of bounds for dimension {in_dim} with size {size}")
            basic.append(value)
            in_dim += 1
            last, is_view = "select", True
        elif kind == "slice":
            basic.append(_slice_of(value))
            in_dim += 1
            out_dim += 1
            last, is_view = "slice", True
        elif kind == "none":
            basic.append(None)
            out_dim += 1
            last, is_view = "unsqueeze", True
        elif kind == "ellipsis":
            basic.append(Ellipsis)
            in_dim += ndim - consumed
            out_dim += ndim - consumed
        elif kind == "bool":
            basic.append(None)
            adv.append((out_dim, "adv", np.zeros(1 if value else 0, dtype=np.int64)))
            out_dim += 1
            last, is_view = "unsqueeze", True
        elif kind == "adv":
            basic.append(slice(None))
            adv.append((out_dim, kind, value))
            in_dim += 1
            out_dim += 1
        else:  # mask
            basic.extend([slice(None)] * value.ndim)
            adv.append((out_dim, kind, value))
            in_dim += value.ndim
            out_dim += value.ndim
    if not ellipses:
        basic.append(Ellipsis)  # NOTE: makes NumPy return a 0-d view, not a scalar copy, for x[i, j]
    return _Key(tuple(basic), adv or None, last, is_view)


def _advanced_key(adv, view_shape, xp, check_bounds: bool = False):
    """The NumPy advanced index for the view, after PyTorch's mask-shape and broadcast checks.

    Bounds are left to NumPy (it checks before reading or writing anything); on its IndexError
    ``_bounds_error`` re-checks with ``check_bounds`` to raise PyTorch's message.
    """
    key = [slice(None)] * len(view_shape)
    arrays = []
    for pos, kind, arr in adv:
        if kind == "mask":
            for j in range(arr.ndim):
                if arr.shape[j] != view_shape[pos + j]:
                    raise IndexError(f"The shape of the mask {list(arr.shape)} at index {j} does not match the "
                                     f"shape of the indexed tensor {list(view_shape)} at index {pos + j}")
            for j, part in enumerate(xp.nonzero(arr)):
                key[pos + j] = part
                arrays.append((pos + j, part, False))
        else:
            arr = xp.asarray(arr)
            key[pos] = arr
            arrays.append((pos, arr, True))
    for rank, (pos, arr, check) in enumerate(arrays):
        if check_bounds and check and arr.size:
            size = view_shape[pos]
            low, high = int(arr.min()), int(arr.max())
            if low < -size or high >= size:
                bad = low if low < -size else high
                raise IndexError(f"index {bad} is out of bounds for dimension {rank} with size {size}")
    shapes = [a.shape for _, a, _ in arrays]
    try:
        if len(shapes) > 1:
            np.broadcast_shapes(*shapes)
    except ValueError:
        raise IndexError("shape mismatch: indexing tensors could not be broadcast together with shapes "
                         + ", ".join(str(list(s)) for s in shapes)) from None
    return tuple(key)


def _bounds_error(key: "_Key", view_shape, error: IndexError) -> IndexError:
    """PyTorch's out-of-bounds message for a key NumPy rejected."""
    try:
        _advanced_key(key.adv, view_shape, np, check_bounds=True)
    except IndexError as pt_error:
        return pt_error
    return error


def _advanced_result_shape(view_shape, key2):
    """The shape NumPy's advanced indexing ``view[key2]`` gives, without computing it."""
    positions = [i for i, k in enumerate(key2) if not isinstance(k, slice)]
    index_shape = np.broadcast_shapes(*[key2[i].shape for i in positions])
    rest = [s for i, s in enumerate(view_shape) if i not in positions]
    if positions == list(range(positions[0], positions[-1] + 1)):
        first = positions[0]
        return tuple(view_shape[:first]) + tuple(index_shape) + tuple(view_shape[positions[-1] + 1:])
    return tuple(index_shape) + tuple(rest)


# ------------------------------------------------------------------------------------------
# __getitem__
# ------------------------------------------------------------------------------------------

class _ViewIndexBackward(Node):
    """Gradient of a view step: the incoming gradient embedded in zeros at the key."""

    def apply(self, g):
        return (_embed(g, self._shape, self._key, accumulate=False),)


class SelectBackward0(_ViewIndexBackward):
    pass


class SliceBackward0(_ViewIndexBackward):
    pass


class AliasBackward0(_ViewIndexBackward):
    pass


# NOTE: the same name as shape.UnsqueezeBackward0 (PyTorch's grad_fn for ``x[None]``), another rule.
class UnsqueezeBackward0(_ViewIndexBackward):
    pass


_VIEW_NODES = {"select": SelectBackward0, "slice": SliceBackward0, "alias": AliasBackward0,
               "unsqueeze": UnsqueezeBackward0}


class IndexBackward0(Node):
    def apply(self, g):
        return (_embed(g, self._shape, self._key, accumulate=True),)


def _apply_key(d, key: _Key):
    """(view array, advanced NumPy key or None) for a parsed key."""
    view = d[key.basic]
    if key.adv is None:
        return view, None
    if len(key.adv) == 1 and key.adv[0][0] == 0 and key.adv[0][1] == "adv" and type(view) is np.ndarray:
        return view, (key.adv[0][2],)  # one leading index array: nothing to check before NumPy does
    return view, _advanced_key(key.adv, view.shape, array_module(d))


def _index_parsed(input: Tensor, key: _Key) -> Tensor:
    d = input._data
    view, key2 = _apply_key(d, key)
    if key2 is None:
        return _record_view(input, view, _VIEW_NODES[key.kind], _shape=d.shape, _key=key)
    try:
        res = view[key2]
    except IndexError as error:
        raise _bounds_error(key, view.shape, error) from None
    if _GradState.enabled and input._requires_grad:
        node = IndexBackward0()
        node._next = (edge(input),)
        node._shape, node._key = d.shape, (key, key2)
        return _make(res, node)
    return _wrap(res)


def getitem(input: Tensor, key) -> Tensor:
    """``input[key]`` with PyTorch's semantics: a view for basic keys, a copy for advanced ones."""
    d = input._data
    if type(key) is int and d.ndim:  # fast path: x[i]
        size = d.shape[0]
        if not -size <= key < size:
            raise IndexError(f"index {key} is out of bounds for dimension 0 with size {size}")
        basic = (key, Ellipsis)
        return _record_view(input, d[basic], SelectBackward0, _shape=d.shape, _key=_Key(basic, None, "select", True))
    if type(key) is slice and d.ndim and (key.step is None or type(key.step) is int and key.step > 0):  # x[a:b:c]
        return _record_view(input, d[key], SliceBackward0, _shape=d.shape, _key=_Key((key,), None, "slice", True))
    if type(key) is Tensor and key._data.ndim == 1 and key._data.dtype == np.int64 and d.ndim:
        return _index_parsed(input, _Key((Ellipsis,), [(0, "adv", key._data)], "alias", False))  # x[idx]
    if d.ndim == 0 and type(key) is int:
        raise IndexError("invalid index of a 0-dim tensor. Use `tensor.item()` in Python or `tensor.item<T>()` "
                         "in C++ to convert a 0-dim tensor to a number")
    return _index_parsed(input, _parse_key(key, d.shape))


# ------------------------------------------------------------------------------------------
# index_put: the out-of-place form of ``x[key] = value`` (also the backward of indexing)
# ------------------------------------------------------------------------------------------

def _strip_leading_ones(shape):
    i = 0
    while i < len(shape) and shape[i] == 1:
        i += 1
    return tuple(shape[i:])


def _value_array(value, target_shape, dtype, xp, advanced: bool, self_tensor=None):
    """``value`` as an array of ``dtype`` broadcastable to ``target_shape`` (PyTorch's errors)."""
    if not isinstance(value, Tensor):
        return value if isinstance(value, (bool, int, float)) else value.item()
    vd = value._data
    stripped = _strip_leading_ones(vd.shape)
    if advanced:
        try:
            ok = np.broadcast_shapes(stripped, target_shape) == tuple(target_shape)
        except ValueError:
            ok = False
        if not ok:
            raise RuntimeError(f"shape mismatch: value tensor of shape {list(vd.shape)} cannot be broadcast to "
                               f"indexing result of shape {list(target_shape)}")
    elif stripped != tuple(target_shape):
        from .shape import expand
        expand(_wrap(vd.reshape(stripped)), target_shape)  # raises PyTorch's expand error when it must
    vd = vd.reshape(stripped)
    if type(vd) is not type(xp.empty(0)):
        vd = xp.asarray(vd)
    return vd.astype(dtype, copy=False)


def _write(target, key: _Key, key2, varr, accumulate: bool) -> None:
    view = target[key.basic]
    if key2 is None:
        if accumulate:
            view += varr
        else:
            view[...] = varr
        return
    try:
        if accumulate:
            _add_at(view, key2, varr)
        else:
            view[key2] = varr
    except IndexError as error:
        raise _bounds_error(key, view.shape, error) from None


def _add_at(target, key, values) -> None:
    """``target[key] += values`` with repeated indices accumulated (np.add.at / cupyx.scatter_add)."""
    xp = array_module(target)
    if xp is not np:
        import cupyx
        cupyx.scatter_add(target, key, values)
    elif (type(key) is np.ndarray and key.ndim == 1 and key.dtype.kind in "iu" and len(key) > 1 and
          values.shape == key.shape + target.shape[1:]):
        _add_rows_at(target, key, values)
    else:
        np.add.at(target, key, values)


def _add_rows_at(target, rows, values) -> None:
    """``target[rows] += values`` for a 1-D row index (embedding and index_add backward).

    np.add.at goes row by row; sorting the rows and summing each run with one reduceat is
    several times faster. Each row's values are still summed in their original order.
    """
    order = np.argsort(rows, kind="stable")
    ordered = rows[order]
    starts = np.flatnonzero(np.concatenate(([True], ordered[1:] != ordered[:-1])))
    target[ordered[starts]] += np.add.reduceat(values[order], starts, axis=0)


class CopySlices(Node):
    """``x[basic_key] = value``: x's gradient is zeroed where overwritten, value's is the slice."""

    def apply(self, g):
        key, key2 = self._key
        nx, nv = self._next
        gx = gv = None
        if nx is not None:
            gx = g if self._accumulate else _index_put_parsed(g, key, key2, 0.0, False)
        if nv is not None:
            gv = _index_parsed_with(g, key, key2)
            gv = sum_to(gv, _strip_leading_ones(self._vshape)).reshape(self._vshape)
            if gv._data.dtype != self._vdtype:
                gv = gv.to(D._FROM_NP[self._vdtype])
        return gx, gv


class IndexPutBackward0(CopySlices):
    pass


def _index_parsed_with(g: Tensor, key: _Key, key2) -> Tensor:
    """``g[key]`` for an already parsed and checked key."""
    if key2 is None:
        return _index_parsed(g, key)
    view = g._data[key.basic]
    res = view[key2]
    if _GradState.enabled and g._requires_grad:
        node = IndexBackward0()
        node._next = (edge(g),)
        node._shape, node._key = g._data.shape, (key, key2)
        return _make(res, node)
    return _wrap(res)


def _index_put_parsed(x: Tensor, key: _Key, key2, value, accumulate: bool, fresh: bool = False) -> Tensor:
    """A copy of ``x`` with ``value`` written (or added) at the parsed key; recorded when needed."""
    d = x._data
    xp = array_module(d)
    if key2 is None:
        target_shape = d[key.basic].shape
    else:
        target_shape = _advanced_result_shape(d[key.basic].shape, key2)
    varr = _value_array(value, target_shape, d.dtype, xp, key2 is not None)
    res = d if fresh else d.copy()
    _write(res, key, key2, varr, accumulate)
    if requires_grad_any(x, value):
        node = CopySlices() if key2 is None else IndexPutBackward0()
        node._key, node._accumulate = (key, key2), accumulate
        if isinstance(value, Tensor):
            node._vshape, node._vdtype = value._data.shape, value._data.dtype
            node._next = (edge(x), edge(value))
        else:
            node._next = (edge(x), None)
        return _make(res, node)
    return _wrap(res)


def _embed(g: Tensor, shape, key, accumulate: bool) -> Tensor:
    """Zeros of ``shape`` with ``g`` written (or accumulated) at ``key``: the backward of indexing."""
    if isinstance(key, tuple):
        key, key2 = key
    else:
        key2 = None
    zeros = _wrap(array_module(g._data).zeros(shape, dtype=g._data.dtype))
    return _index_put_parsed(zeros, key, key2, g, accumulate, fresh=True)


def _parse_full(d, key):
    parsed = _parse_key(key, d.shape)
    key2 = None
    if parsed.adv is not None:
        key2 = _advanced_key(parsed.adv, d[parsed.basic].shape, array_module(d))
    return parsed, key2


def _check_value_type(self: Tensor, value) -> None:
    if isinstance(value, (Tensor, bool, int, float, np.generic)):
        return
    kind = type(value)
    name = kind.__name__ if kind.__module__ == "builtins" else f"{kind.__module__}.{kind.__name__}"
    raise TypeError(f"can't assign a {name} to a {legacy_type_name(self)}")


def setitem(self: Tensor, key, value) -> None:
    """``self[key] = value``: in place, bumps the version counter, recorded as CopySlices / IndexPutBackward0."""
    _check_value_type(self, value)
    if isinstance(value, np.generic):
        value = value.item()
    d = self._data
    parsed, key2 = _parse_full(d, key)
    recording = _GradState.enabled and (self._requires_grad or (isinstance(value, Tensor) and value._requires_grad))
    if recording:
        if self._requires_grad and self._grad_fn is None:
            what = "a view of a leaf Variable" if parsed.is_view else "a leaf Variable"
            raise RuntimeError(f"{what} that requires grad is being used in an in-place operation.")
        inplace(self, _index_put_parsed, parsed, key2, value, False)
        return
    if isinstance(value, Tensor):
        view_shape = d[parsed.basic].shape
        target_shape = view_shape if key2 is None else _advanced_result_shape(view_shape, key2)
        varr = _value_array(value, target_shape, d.dtype, array_module(d), key2 is not None)
    else:
        varr = value
    _check_writeable(d)
    _write(d, parsed, key2, varr, False)
    self._vbox[0] += 1


def _check_writeable(d) -> None:
    if isinstance(d, np.ndarray) and not d.flags.writeable:
        raise RuntimeError("unsupported operation: more than one element of the written-to tensor refers to a "
                           "single memory location. Please clone() the tensor before performing the operation.")


def _index_tuple(indices) -> tuple:
    if isinstance(indices, Tensor):
        raise TypeError("index_put(): argument 'indices' must be tuple of Tensors, not Tensor")
    key = []
    for t in indices:
        if t is None:
            key.append(slice(None))
            continue
        if not isinstance(t, Tensor):
            raise TypeError(f"index_put(): expected Tensor or None in 'indices', got {type(t).__name__}")
        key.append(t)
    return tuple(key)


def index_put(input: Tensor, indices, values: Tensor, accumulate: bool = False) -> Tensor:
    """Out-of-place ``input[indices] = values`` (``+=`` with repeats summed when ``accumulate``)."""
    parsed, key2 = _parse_full(input._data, _index_tuple(indices))
    return _index_put_parsed(input, parsed, key2, values, accumulate)


def index_put_(self: Tensor, indices, values: Tensor, accumulate: bool = False) -> Tensor:
    """In-place ``index_put``."""
    parsed, key2 = _parse_full(self._data, _index_tuple(indices))
    return inplace(self, _index_put_parsed, parsed, key2, values, accumulate)


# ------------------------------------------------------------------------------------------
# gather / scatter
# ------------------------------------------------------------------------------------------

def _along_dim_key(index_arr, dim: int):
    """The advanced key that pairs ``index_arr`` along ``dim`` with its own positions elsewhere."""
    xp = array_module(index_arr)
    nd = index_arr.ndim
    key = []
    for i, n in enumerate(index_arr.shape):
        if i == dim:
            key.append(index_arr)
        else:
            shape = [1] * nd
            shape[i] = n
            key.append(xp.arange(n).reshape(shape))
    return tuple(key)


def _check_int_index(name: str, index: Tensor) -> None:
    if index._data.dtype not in (np.int64, np.int32):
        raise RuntimeError(f"{name}(): Expected dtype int32/int64 for index")


def _check_bounds_runtime(arr, dim: int, size: int, prefix: str = "") -> None:
    if arr.size:
        low, high = int(arr.min()), int(arr.max())
        if low < 0 or high >= size:
            bad = low if low < 0 else high
            raise RuntimeError(f"{prefix}index {bad} is out of bounds for dimension {dim} with size {size}")


def _as_nd(shape):
    return shape if len(shape) else (1,)


class GatherBackward0(Node):
    def apply(self, g):
        (index,) = self._saved_tensors()
        zeros = _wrap(array_module(g._data).zeros(self._shape, dtype=g._data.dtype))
        return (scatter_add(zeros, self._dim, index, g),)


def gather(input: Tensor, dim: int, index: Tensor, *, sparse_grad: bool = False) -> Tensor:
    """Values of ``input`` picked along ``dim`` by ``index`` (``torch.gather``)."""
    d, idx = input._data, index._data
    _check_int_index("gather", index)
    dim = wrap_dim(dim, d.ndim)
    if idx.ndim != d.ndim and not (idx.ndim <= 1 and d.ndim <= 1):
        raise RuntimeError("Index tensor must have the same number of dimensions as input tensor")
    in_shape, idx_shape = _as_nd(d.shape), _as_nd(idx.shape)
    for i, (a, b) in enumerate(zip(idx_shape, in_shape)):
        if i != dim and a > b:
            raise RuntimeError(f"Size does not match at dimension {i} expected index {list(idx.shape)} to be no "
                               f"larger than self {list(d.shape)} apart from dimension {dim}")
    _check_bounds_runtime(idx, dim, in_shape[dim])
    src = d.reshape(in_shape)
    if any(i != dim and a != b for i, (a, b) in enumerate(zip(idx_shape, in_shape))):
        src = src[tuple(slice(None) if i == dim else slice(0, n) for i, n in enumerate(idx_shape))]
    res = array_module(d).take_along_axis(src, idx.reshape(idx_shape), axis=dim).reshape(idx.shape)
    if _GradState.enabled and input._requires_grad:
        node = GatherBackward0()
        node._next = (edge(input),)
        node._dim, node._shape = dim, d.shape
        node._save(index)
        return _make(res, node)
    return _wrap(res)


def _scatter_checks(name: str, d, dim: int, idx, src) -> int:
    dim = wrap_dim(dim, d.ndim)
    if idx.ndim != d.ndim and not (idx.ndim <= 1 and d.ndim <= 1):
        raise RuntimeError("Index tensor must have the same number of dimensions as self tensor")
    in_shape, idx_shape = _as_nd(d.shape), _as_nd(idx.shape)
    too_big = any(i != dim and a > b for i, (a, b) in enumerate(zip(idx_shape, in_shape)))
    if src is not None:
        src_shape = _as_nd(src.shape)
        if too_big or any(a > b for a, b in zip(idx_shape, src_shape)):
            raise RuntimeError(f"Expected index {list(idx.shape)} to be no larger than self {list(d.shape)} apart "
                               f"from dimension {dim} and to be no larger size than src {list(src.shape)}")
        if src.dtype != d.dtype:
            raise RuntimeError(f"{name}(): Expected self.dtype to be equal to src.dtype")
    elif too_big:
        raise RuntimeError(f"Expected index {list(idx.shape)} to be no larger than self {list(d.shape)} apart "
                           f"from dimension {dim}")
    _check_bounds_runtime(idx, dim, in_shape[dim])
    return dim


def _src_part(src, idx_shape):
    """The leading block of ``src`` that lines up with the index (src may be larger)."""
    src = src.reshape(_as_nd(src.shape))
    return src[tuple(slice(0, n) for n in idx_shape)]


class ScatterBackward0(Node):
    """scatter with a src tensor."""

    def apply(self, g):
        (index,) = self._saved_tensors()
        nx, ns = self._next
        gx = scatter(g, self._dim, index, 0.0) if nx is not None else None
        gs = None
        if ns is not None:
            gs = gather(g, self._dim, index)
            if gs._data.shape != self._src_shape:
                gs = _pad_to(gs, self._src_shape)
        return gx, gs


class ScatterBackward1(Node):
    """scatter with a scalar value."""

    def apply(self, g):
        (index,) = self._saved_tensors()
        return (scatter(g, self._dim, index, 0.0),)


class ScatterAddBackward0(ScatterBackward0):
    def apply(self, g):
        (index,) = self._saved_tensors()
        nx, ns = self._next
        gs = None
        if ns is not None:
            gs = gather(g, self._dim, index)
            if gs._data.shape != self._src_shape:
                gs = _pad_to(gs, self._src_shape)
        return (g if nx is not None else None), gs


def _pad_to(t: Tensor, shape) -> Tensor:
    """``t`` in the leading corner of zeros of ``shape`` (src larger than index gets zero gradient there)."""
    key = _Key(tuple(slice(0, n) for n in t._data.shape), None, "slice", True)
    zeros = _wrap(array_module(t._data).zeros(shape, dtype=t._data.dtype))
    return _index_put_parsed(zeros, key, None, t, False, fresh=True)


class _NotImplementedBackward(Node):
    def apply(self, g):
        raise RuntimeError(f"the derivative for '{self._what}' is not implemented.")


def scatter(input: Tensor, dim: int, index: Tensor, src=None, *, value=None, reduce=None) -> Tensor:
    """Write ``src`` (tensor) or a scalar into a copy of ``input`` along ``dim`` at ``index``."""
    if src is None:
        src = value
    d, idx = input._data, index._data
    _check_int_index("scatter", index)
    is_tensor = isinstance(src, Tensor)
    dim = _scatter_checks("scatter", d, dim, idx, src._data if is_tensor else None)
    if reduce is not None and reduce not in ("add", "multiply"):
        raise RuntimeError("reduce argument must be either add or multiply.")
    idx_nd = idx.reshape(_as_nd(idx.shape))
    key = _along_dim_key(idx_nd, dim)
    values = _src_part(src._data, idx_nd.shape) if is_tensor else src
    res = d.reshape(_as_nd(d.shape)).copy()
    if reduce == "add":
        _add_at(res, key, values)
    elif reduce == "multiply":
        xp = array_module(res)
        if xp is np:
            np.multiply.at(res, key, values)
        else:
            raise NotImplementedError("scatter(reduce='multiply') on CUDA")
    else:
        res[key] = values
    res = res.reshape(d.shape)
    if requires_grad_any(input, src):
        if reduce is not None:
            node = _NotImplementedBackward()
            node._what = "scatter with reduce"
        else:
            node = ScatterBackward0() if is_tensor else ScatterBackward1()
        node._dim = dim
        node._save(index)
        if is_tensor:
            node._src_shape = src._data.shape
            node._next = (edge(input), edge(src))
        else:
            node._next = (edge(input),)
        return _make(res, node)
    return _wrap(res)


def scatter_add(input: Tensor, dim: int, index: Tensor, src: Tensor) -> Tensor:
    """A copy of ``input`` with ``src`` added along ``dim`` at ``index`` (repeats accumulate)."""
    d, idx, sd = input._data, index._data, src._data
    if idx.dtype not in (np.int64, np.int32):
        raise RuntimeError("scatter(): Expected dtype int32/int64 for index")
    dim = _scatter_checks("scatter_add", d, dim, idx, sd)
    idx_nd = idx.reshape(_as_nd(idx.shape))
    res = d.reshape(_as_nd(d.shape)).copy()
    _add_at(res, _along_dim_key(idx_nd, dim), _src_part(sd, idx_nd.shape))
    res = res.reshape(d.shape)
    if requires_grad_any(input, src):
        node = ScatterAddBackward0()
        node._dim, node._src_shape = dim, sd.shape
        node._save(index)
        node._next = (edge(input), edge(src))
        return _make(res, node)
    return _wrap(res)


# ------------------------------------------------------------------------------------------
# index_select / index_add / index_fill / index_copy
# ------------------------------------------------------------------------------------------

def _dim_key(dim: int, idx) -> tuple:
    return (slice(None),) * dim + (idx,)


class IndexSelectBackward0(Node):
    def apply(self, g):
        (index,) = self._saved_tensors()
        zeros = _wrap(array_module(g._data).zeros(self._shape, dtype=g._data.dtype))
        return (index_add(zeros, self._dim, index, g),)


def index_select(input: Tensor, dim: int, index: Tensor) -> Tensor:
    """The slices of ``input`` along ``dim`` at the positions in ``index`` (``torch.index_select``)."""
    d, idx = input._data, index._data
    if idx.ndim > 1:
        raise IndexError("index_select(): Index is supposed to be a vector")
    if idx.dtype not in (np.int64, np.int32):
        raise RuntimeError("index_select(): Expected dtype int32 or int64 for index")
    dim = wrap_dim(dim, d.ndim)
    if d.ndim == 0 and idx.size != 1:
        raise RuntimeError(f"index_select(): Index to scalar can have only 1 value, got {idx.size} value(s)")
    size = _as_nd(d.shape)[dim]
    if idx.size and (int(idx.min()) < 0 or int(idx.max()) >= size):  # no negative indices, as in PyTorch
        raise IndexError("index out of range in self")
    xp = array_module(d)
    res = xp.take(d.reshape(_as_nd(d.shape)), idx.reshape(-1), axis=dim)
    if d.ndim == 0:
        res = res.reshape(())
    if _GradState.enabled and input._requires_grad:
        node = IndexSelectBackward0()
        node._next = (edge(input),)
        node._dim, node._shape = dim, d.shape
        node._save(index)
        return _make(res, node)
    return _wrap(res)


def _index_nd_checks(name: str, d, dim: int, idx, source, expected_dtype_msg: str):
    dim = wrap_dim(dim, d.ndim)
    if idx.dtype not in (np.int64, np.int32):
        raise RuntimeError(expected_dtype_msg)
    if idx.ndim > 1:
        raise IndexError(f"{name}(): Index is supposed to be a vector")
    return dim


class IndexAddBackward0(Node):
    def apply(self, g):
        (index,) = self._saved_tensors()
        nx, ns = self._next
        gs = None
        if ns is not None:
            gs = index_select(g, self._dim, index).reshape(self._src_shape)
            if self._alpha != 1:
                gs = gs * self._alpha
        return (g if nx is not None else None), gs


def index_add(input: Tensor, dim: int, index: Tensor, source: Tensor, *, alpha=1) -> Tensor:
    """A copy of ``input`` with ``alpha * source`` added at ``index`` along ``dim`` (repeats accumulate)."""
    d, idx, sd = input._data, index._data, source._data
    if idx.dtype not in (np.int64, np.int32):
        raise RuntimeError(f"index_add_(): Expected dtype int32/int64 for index but got: "
                           f"{_scalar_type_name(idx.dtype)}")
    dim = wrap_dim(dim, d.ndim)
    in_shape = _as_nd(d.shape)
    src_shape = sd.shape if sd.ndim else (1,)
    if idx.ndim > 1:
        raise IndexError("index_add_(): Index is supposed to be a vector")
    n_src = src_shape[dim] if len(src_shape) > dim else 1
    if idx.size != n_src:
        raise RuntimeError(f"index_add_(): Number of indices ({idx.size}) should be equal to source.size(dim): "
                           f"({n_src}), for dim: {dim}")
    if len(src_shape) != len(in_shape) or any(i != dim and a != b for i, (a, b)
                                              in enumerate(zip(src_shape, in_shape))):
        raise RuntimeError("source tensor shape must match self tensor shape, excluding the specified dimension. "
                           f"Got self.shape = {list(d.shape)} source.shape = {list(sd.shape)}")
    if sd.dtype != d.dtype:
        raise RuntimeError(f"index_add_(): self ({_scalar_type_name(d.dtype)}) and source "
                           f"({_scalar_type_name(sd.dtype)}) must have the same scalar type")
    _check_bounds_runtime(idx, dim, in_shape[dim])
    res = d.reshape(in_shape).copy()
    values = sd.reshape(src_shape)
    if alpha != 1:
        values = values * alpha
    _add_at(res, _dim_key(dim, idx.reshape(-1)), values)
    res = res.reshape(d.shape)
    if requires_grad_any(input, source):
        node = IndexAddBackward0()
        node._dim, node._alpha, node._src_shape = dim, alpha, sd.shape
        node._save(index)
        node._next = (edge(input), edge(source))
        return _make(res, node)
    return _wrap(res)


class IndexFillBackward0(Node):
    def apply(self, g):
        (index,) = self._saved_tensors()
        return (index_fill(g, self._dim, index, 0.0),)


class IndexFillBackward1(Node):
    """index_fill with a 0-d value tensor: the value's gradient sums the filled positions."""

    def apply(self, g):
        (index,) = self._saved_tensors()
        nx, nv = self._next
        gx = index_fill(g, self._dim, index, 0.0) if nx is not None else None
        gv = None
        if nv is not None:
            mask = _wrap(array_module(g._data).zeros(g._data.shape, dtype=bool))
            mask = index_fill(mask, self._dim, index, True)
            gv = (g * mask).sum().to(D._FROM_NP[self._vdtype])
        return gx, gv


def _check_value_0d(name: str, value) -> None:
    if isinstance(value, Tensor) and value._data.ndim != 0:
        raise RuntimeError(f"{name} only supports a 0-dimensional value tensor, but got tensor with "
                           f"{value._data.ndim} dimension(s).")


def index_fill(input: Tensor, dim: int, index: Tensor, value) -> Tensor:
    """A copy of ``input`` with the slices at ``index`` along ``dim`` set to ``value``."""
    d, idx = input._data, index._data
    if idx.dtype != np.int64:
        raise IndexError("index_fill_(): Expected dtype int64 for index.")
    _check_value_0d("index_fill_", value)
    dim = wrap_dim(dim, d.ndim)
    in_shape = _as_nd(d.shape)
    size = in_shape[dim]
    if idx.size and (int(idx.min()) < -size or int(idx.max()) >= size):
        bad = int(idx.min()) if int(idx.min()) < -size else int(idx.max())
        raise IndexError(f"index {bad} is out of bounds for dimension {dim} with size {size}")
    fill = value._data.astype(d.dtype) if isinstance(value, Tensor) else value
    res = d.reshape(in_shape).copy()
    res[_dim_key(dim, idx.reshape(-1))] = fill
    res = res.reshape(d.shape)
    if requires_grad_any(input, value):
        if isinstance(value, Tensor):
            node = IndexFillBackward1()
            node._vdtype = value._data.dtype
            node._next = (edge(input), edge(value))
        else:
            node = IndexFillBackward0()
            node._next = (edge(input),)
        node._dim = dim
        node._save(index)
        return _make(res, node)
    return _wrap(res)


class IndexCopyBackward0(Node):
    def apply(self, g):
        (index,) = self._saved_tensors()
        nx, ns = self._next
        gx = index_fill(g, self._dim, index, 0.0) if nx is not None else None
        gs = index_select(g, self._dim, index).reshape(self._src_shape) if ns is not None else None
        return gx, gs


def index_copy(input: Tensor, dim: int, index: Tensor, source: Tensor) -> Tensor:
    """A copy of ``input`` with the slices at ``index`` along ``dim`` replaced by ``source``'s."""
    d, idx, sd = input._data, index._data, source._data
    if idx.dtype != np.int64:
        raise RuntimeError(f"index_copy_(): Expected a long tensor for index, but got "
                           f"{_scalar_type_name(idx.dtype)}")
    dim = wrap_dim(dim, d.ndim)
    in_shape = _as_nd(d.shape)
    src_shape = sd.shape if sd.ndim else (1,)
    n_src = src_shape[dim] if len(src_shape) > dim else 1
    if idx.size != n_src:
        raise IndexError(f"index_copy_(): Number of indices ({idx.size}) should be equal to source.size(dim) "
                         f"({n_src})")
    if len(src_shape) != len(in_shape) or any(i != dim and a != b for i, (a, b)
                                              in enumerate(zip(src_shape, in_shape))):
        raise IndexError(f"index_copy_(): Source/destination tensor must have same slice shapes. Destination "
                         f"slice shape: {list(d.shape)} at dimension {dim} and source slice shape: "
                         f"{list(sd.shape)} at dimension {dim}.")
    if sd.dtype != d.dtype:
        raise RuntimeError(f"index_copy_(): self and source expected to have the same dtype, but got (self) "
                           f"{_scalar_type_name(d.dtype)} and (source) {_scalar_type_name(sd.dtype)}")
    size = in_shape[dim]
    if idx.size and (int(idx.min()) < -size or int(idx.max()) >= size):
        bad = int(idx.min()) if int(idx.min()) < -size else int(idx.max())
        raise IndexError(f"index_copy_(): index {bad} is out of bounds for dimension {dim} with size {size}")
    res = d.reshape(in_shape).copy()
    res[_dim_key(dim, idx.reshape(-1))] = sd.reshape(src_shape)
    res = res.reshape(d.shape)
    if requires_grad_any(input, source):
        node = IndexCopyBackward0()
        node._dim, node._src_shape = dim, sd.shape
        node._save(index)
        node._next = (edge(input), edge(source))
        return _make(res, node)
    return _wrap(res)


# ------------------------------------------------------------------------------------------
# masked_fill / masked_select / masked_scatter
# ------------------------------------------------------------------------------------------

_C_TYPE_NAMES = {"int64": "long int", "int32": "int", "int16": "short int", "int8": "signed char",
                 "uint8": "unsigned char", "float32": "float", "float64": "double", "float16": "c10::Half",
                 "bfloat16": "c10::BFloat16"}


def _check_bool_mask(name: str, mask: Tensor) -> None:
    dt = mask._data.dtype
    if dt.kind != "b":
        raise RuntimeError(f"{name} only supports boolean masks, but got mask with dtype "
                           f"{_C_TYPE_NAMES.get(D._FROM_NP[dt].name, str(dt))}")


def _broadcast_error(a_shape, b_shape):
    """PyTorch's broadcast error for two shapes (the first mismatching dim from the right)."""
    n = max(len(a_shape), len(b_shape))
    a = (1,) * (n - len(a_shape)) + tuple(a_shape)
    b = (1,) * (n - len(b_shape)) + tuple(b_shape)
    for i in range(n - 1, -1, -1):
        if a[i] != b[i] and a[i] != 1 and b[i] != 1:
            return RuntimeError(f"The size of tensor a ({a[i]}) must match the size of tensor b ({b[i]}) at "
                                f"non-singleton dimension {i}")
    return RuntimeError("shapes cannot be broadcast")


def _broadcast_shape(a_shape, b_shape):
    try:
        return np.broadcast_shapes(a_shape, b_shape)
    except ValueError:
        raise _broadcast_error(a_shape, b_shape) from None


class MaskedFillBackward0(Node):
    def apply(self, g):
        (mask,) = self._saved_tensors()
        nx = self._next[0]
        gx = sum_to(masked_fill(g, mask, 0.0), self._shape) if nx is not None else None
        if len(self._next) == 1:
            return (gx,)
        gv = None
        if self._next[1] is not None:
            gv = masked_fill(g, mask.logical_not(), 0.0).sum().to(D._FROM_NP[self._vdtype])
        return gx, gv


class MaskedFillBackward1(MaskedFillBackward0):
    pass


def masked_fill(input: Tensor, mask: Tensor, value) -> Tensor:
    """``input`` with ``value`` where ``mask`` is True (broadcast); value is a scalar or 0-d tensor."""
    _check_bool_mask("masked_fill_", mask)
    _check_value_0d("masked_fill_", value)
    if not isinstance(value, Tensor):
        D.check_scalar_fits(value, input.dtype, fill=True)
    d, m = input._data, mask._data
    xp = array_module(d)
    if type(m) is not type(d):
        m = xp.asarray(m)
    if isinstance(value, Tensor):
        fill = xp.asarray(value._data).astype(d.dtype)
    else:
        fill = xp.asarray(value).astype(d.dtype)
    shape = _broadcast_shape(m.shape, d.shape)  # the mask is "tensor a" in PyTorch's message
    res = xp.where(m, fill, d)
    if res.shape != shape:
        res = xp.broadcast_to(res, shape).copy()
    if requires_grad_any(input, value):
        if isinstance(value, Tensor):
            node = MaskedFillBackward1()
            node._vdtype = value._data.dtype
            node._next = (edge(input), edge(value))
        else:
            node = MaskedFillBackward0()
            node._next = (edge(input),)
        node._shape = d.shape
        node._save(mask)
        return _make(res, node)
    return _wrap(res)


def masked_fill_(self: Tensor, mask: Tensor, value) -> Tensor:
    """In-place ``masked_fill`` (the mask must broadcast to ``self``)."""
    if requires_grad_any(self, value) or isinstance(value, Tensor):
        return inplace(self, masked_fill, mask, value)
    _check_bool_mask("masked_fill_", mask)
    D.check_scalar_fits(value, self.dtype, fill=True)
    d, m = self._data, mask._data
    if _broadcast_shape(d.shape, m.shape) != d.shape:
        raise RuntimeError(f"output with shape {list(d.shape)} doesn't match the broadcast shape "
                           f"{list(_broadcast_shape(d.shape, m.shape))}")
    _check_writeable(d)
    xp = array_module(d)
    xp.copyto(d, xp.asarray(value).astype(d.dtype), where=xp.asarray(m))
    self._vbox[0] += 1
    return self


class MaskedSelectBackward0(Node):
    def apply(self, g):
        (mask,) = self._saved_tensors()
        full = _broadcast_shape(self._shape, mask._data.shape)
        mask_b = mask._data if mask._data.shape == full else array_module(mask._data).broadcast_to(mask._data, full)
        key = _Key((), [(0, "mask", mask_b)], "alias", False)
        zeros = _wrap(array_module(g._data).zeros(full, dtype=g._data.dtype))
        put = _index_put_parsed(zeros, key, _advanced_key(key.adv, full, array_module(mask_b)), g, False, fresh=True)
        return (sum_to(put, self._shape),)


def masked_select(input: Tensor, mask: Tensor) -> Tensor:
    """The elements of ``input`` where ``mask`` is True, as a 1-D tensor (both broadcast)."""
    if mask._data.dtype.kind != "b":
        raise RuntimeError("masked_select: expected BoolTensor for mask")
    d, m = input._data, mask._data
    xp = array_module(d)
    shape = _broadcast_shape(d.shape, m.shape)
    db = d if d.shape == shape else xp.broadcast_to(d, shape)
    mb = m if m.shape == shape else xp.broadcast_to(m, shape)
    res = db[mb]
    if _GradState.enabled and input._requires_grad:
        node = MaskedSelectBackward0()
        node._next = (edge(input),)
        node._shape = d.shape
        node._save(mask)
        return _make(res, node)
    return _wrap(res)


class MaskedScatterBackward0(Node):
    def apply(self, g):
        (mask,) = self._saved_tensors()
        nx, ns = self._next
        gx = sum_to(masked_fill(g, mask, 0.0), self._shape) if nx is not None else None
        gs = None
        if ns is not None:
            picked = masked_select(g, mask)
            n = self._src_numel
            if picked._data.size < n:
                from .shape import cat
                zeros = _wrap(array_module(g._data).zeros(n - picked._data.size, dtype=g._data.dtype))
                picked = cat([picked, zeros])
            gs = picked.reshape(self._src_shape)
        return gx, gs


def masked_scatter(input: Tensor, mask: Tensor, source: Tensor) -> Tensor:
    """``input`` with the True positions of ``mask`` filled by consecutive elements of ``source``."""
    if mask._data.dtype.kind != "b":
        raise RuntimeError(f"masked_scatter_ only supports boolean masks, but got mask with dtype "
                           f"{D._FROM_NP[mask._data.dtype].name.capitalize().replace('Int64', 'Long')}")
    d, m, sd = input._data, mask._data, source._data
    xp = array_module(d)
    shape = _broadcast_shape(d.shape, m.shape)
    mb = m if m.shape == shape else xp.broadcast_to(m, shape)
    count = int(mb.sum())
    if count > sd.size:
        raise RuntimeError("Number of elements of source < number of ones in mask")
    res = xp.broadcast_to(d, shape).copy()
    res[mb] = sd.reshape(-1)[:count].astype(d.dtype, copy=False)
    if requires_grad_any(input, source):
        node = MaskedScatterBackward0()
        node._src_shape, node._src_numel, node._shape = sd.shape, sd.size, d.shape
        node._save(mask)
        node._next = (edge(input), edge(source))
        return _make(res, node)
    return _wrap(res)


# ------------------------------------------------------------------------------------------
# nonzero / argwhere / take / take_along_dim
# ------------------------------------------------------------------------------------------

def nonzero(input: Tensor, *, as_tuple: bool = False):
    """Indices of the non-zero elements: an (n, ndim) int64 tensor, or one 1-D tensor per dim."""
    d = input._data
    xp = array_module(d)
    if as_tuple:
        parts = xp.nonzero(d.reshape(_as_nd(d.shape)))
        return tuple(_wrap(p.astype(np.int64, copy=False)) for p in parts)
    res = xp.argwhere(d).astype(np.int64, copy=False)
    return _wrap(res.reshape(res.shape[0], d.ndim))


def argwhere(input: Tensor) -> Tensor:
    """``nonzero(input)`` (``torch.argwhere``)."""
    return nonzero(input)


class TakeBackward0(Node):
    def apply(self, g):
        (index,) = self._saved_tensors()
        n = 1
        for s in self._shape:
            n *= s
        zeros = _wrap(array_module(g._data).zeros(n, dtype=g._data.dtype))
        key = _Key((), [(0, "adv", index._data.reshape(-1))], "alias", False)
        flat = _index_put_parsed(zeros, key, (index._data.reshape(-1),), g.reshape(-1), True, fresh=True)
        return (flat.reshape(self._shape),)


def take(input: Tensor, index: Tensor) -> Tensor:
    """Elements of ``input`` viewed as 1-D at ``index`` (result shaped like ``index``)."""
    d, idx = input._data, index._data
    if idx.dtype != np.int64:
        raise RuntimeError(f"take(): Expected a long tensor for index, but got {_scalar_type_name(idx.dtype)}")
    n = d.size
    if idx.size:
        low, high = int(idx.min()), int(idx.max())
        if low < -n or high >= n:
            bad = low if low < -n else high
            raise IndexError(f"out of range: tried to access index {bad} on a tensor of {n} elements.")
    res = d.reshape(-1)[idx]
    if _GradState.enabled and input._requires_grad:
        node = TakeBackward0()
        node._next = (edge(input),)
        node._shape = d.shape
        node._save(index)
        return _make(res, node)
    return _wrap(res)


def take_along_dim(input: Tensor, indices: Tensor, dim=None) -> Tensor:
    """``gather`` with ``input`` and ``indices`` broadcast except along ``dim`` (flattened when dim is None)."""
    d, idx = input._data, indices._data
    if idx.dtype != np.int64:
        raise RuntimeError(f"torch.take_along_dim(): dtype of indices should be Long but got "
                           f"{_scalar_type_name(idx.dtype)}")
    if dim is None:
        return gather(input.reshape(-1), 0, indices.reshape(-1))
    if d.ndim != idx.ndim:
        raise RuntimeError(f"torch.take_along_dim(): input and indices should have the same number of "
                           f"dimensions, but got {d.ndim} dimensions for input, and {idx.ndim} dimensions for "
                           "indices")
    dim = wrap_dim(dim, d.ndim)
    in_shape = list(d.shape)
    idx_shape = list(idx.shape)
    in_shape[dim] = idx_shape[dim] = 1
    common = list(_broadcast_shape(tuple(in_shape), tuple(idx_shape)))
    target_in, target_idx = list(common), list(common)
    target_in[dim], target_idx[dim] = d.shape[dim], idx.shape[dim]
    if tuple(target_in) != d.shape:
        input = input.expand(target_in)
    if tuple(target_idx) != idx.shape:
        indices = indices.expand(target_idx)
    return gather(input, dim, indices)


# ------------------------------------------------------------------------------------------
# In-place forms
# ------------------------------------------------------------------------------------------

def scatter_(self: Tensor, dim: int, index: Tensor, src=None, *, value=None, reduce=None) -> Tensor:
    return inplace(self, scatter, dim, index, src, value=value, reduce=reduce)


def scatter_add_(self: Tensor, dim: int, index: Tensor, src: Tensor) -> Tensor:
    return inplace(self, scatter_add, dim, index, src)


def index_add_(self: Tensor, dim: int, index: Tensor, source: Tensor, *, alpha=1) -> Tensor:
    return inplace(self, index_add, dim, index, source, alpha=alpha)


def index_fill_(self: Tensor, dim: int, index: Tensor, value) -> Tensor:
    return inplace(self, index_fill, dim, index, value)


def index_copy_(self: Tensor, dim: int, index: Tensor, source: Tensor) -> Tensor:
    return inplace(self, index_copy, dim, index, source)


def masked_scatter_(self: Tensor, mask: Tensor, source: Tensor) -> Tensor:
    return inplace(self, masked_scatter, mask, source)


TENSOR_METHODS = {
    "__getitem__": getitem, "__setitem__": setitem,
    "gather": gather, "scatter": scatter, "scatter_add": scatter_add, "index_select": index_select,
    "index_add": index_add, "index_fill": index_fill, "index_copy": index_copy, "index_put": index_put,
    "masked_fill": masked_fill, "masked_select": masked_select, "masked_scatter": masked_scatter,
    "nonzero": nonzero, "argwhere": argwhere, "take": take, "take_along_dim": take_along_dim,
    "scatter_": scatter_, "scatter_add_": scatter_add_, "index_add_": index_add_, "index_fill_": index_fill_,
    "index_copy_": index_copy_, "index_put_": index_put_, "masked_fill_": masked_fill_,
    "masked_scatter_": masked_scatter_,
}

__all__ = ["gather", "scatter", "scatter_add", "index_select", "index_add", "index_fill", "index_copy",
           "index_put", "masked_fill", "masked_select", "masked_scatter", "nonzero", "argwhere", "take",
           "take_along_dim"]
