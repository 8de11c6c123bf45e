"""Shape and view ops: view/reshape, expand, transpose/permute, squeeze/unsqueeze, cat/stack, split..."""
from __future__ import annotations

import warnings

import numpy as np

from .._backend import array_module
from .._tensor import _view_of
from ._util import Tensor, Node, edge, _GradState, _wrap, _make, wrap_dim
from ..autograd.graph import OutputSlot, PackedGrad


def _size_args(size):
    """Accept ``f(2, 3)``, ``f((2, 3))`` and ``f([2, 3])``."""
    if len(size) == 1 and isinstance(size[0], (tuple, list)):
        size = tuple(size[0])
    return tuple(int(s) for s in size)


def _infer_shape(shape, numel: int):
    shape = list(shape)
    neg = [i for i, s in enumerate(shape) if s == -1]
    if len(neg) > 1:
        raise RuntimeError("only one dimension can be inferred")
    known = 1
    for s in shape:
        if s != -1:
            if s < 0:
                raise RuntimeError(f"invalid shape dimension {s}")
            known *= s
    if neg:
        if known == 0 or numel % known:
            raise RuntimeError(f"shape '{_fmt(shape)}' is invalid for input of size {numel}")
        shape[neg[0]] = numel // known
    elif known != numel:
        raise RuntimeError(f"shape '{_fmt(shape)}' is invalid for input of size {numel}")
    return tuple(shape)


def _fmt(shape):
    return "[" + ", ".join(str(s) for s in shape) + "]"


class ViewBackward0(Node):
    def apply(self, g):
        return (g.reshape(self._shape),)


class UnsafeViewBackward0(ViewBackward0):
    pass


def _record_view(input, res, node_cls, **attrs):
    if _GradState.enabled and input._requires_grad:
        node = node_cls()
        node._next = (edge(input),)
        for k, v in attrs.items():
            setattr(node, k, v)
        t = _view_of(res, input, node)
    else:
        t = _view_of(res, input, None)
    t._base = input if input._base is None else input._base
    return t


def view(input, *shape):
    """Same storage, new shape; RuntimeError when the strides do not allow it (``Tensor.view``)."""
    if len(shape) == 1 and not isinstance(shape[0], (tuple, list, int, np.integer)):
        return _view_dtype(input, shape[0])
    d = input._data
    new = _infer_shape(_size_args(shape), d.size)
    try:
        res = d.reshape(new, copy=False)
    except ValueError:
        raise RuntimeError("view size is not compatible with input tensor's size and stride (at least one "
                           "dimension spans across two contiguous subspaces). Use .reshape(...) instead.") from None
    return _record_view(input, res, ViewBackward0, _shape=d.shape)


def _view_dtype(input, dtype):
    from .. import _dtype as D
    dt = D.to_dtype(dtype)
    return _view_of(input._data.view(dt.np), input, None)


def reshape(input, *shape):
    """A view when the strides allow it, else a copy (``torch.reshape``)."""
    d = input._data
    new = _infer_shape(_size_args(shape), d.size)
    if new == d.shape:
        return _record_view(input, d.view(), ViewBackward0, _shape=d.shape)
    try:
        res = d.reshape(new, copy=False)
    except ValueError:
        res = d.reshape(new)
        if _GradState.enabled and input._requires_grad:
            node = UnsafeViewBackward0()
            node._next = (edge(input),)
            node._shape = d.shape
            return _make(res, node)
        return _wrap(res)
    return _record_view(input, res, ViewBackward0, _shape=d.shape)


def view_as(input, other):
    return view(input, other.shape)


def reshape_as(input, other):
    return reshape(input, other.shape)


class ExpandBackward0(Node):
    def apply(self, g):
        from ._util import sum_to
        return (sum_to(g, self._shape),)


def expand(input, *sizes):
    """Broadcast to ``sizes`` without copying (-1 keeps a size); ``Tensor.expand``."""
    d = input._data
    sizes = _size_args(sizes)
    if len(sizes) < d.ndim:
        raise RuntimeError(f"expand({_legacy(input)}{{{list(d.shape)}}}, size={list(sizes)}): the number of sizes "
                           f"provided ({len(sizes)}) must be greater or equal to the number of dimensions in the "
                           f"tensor ({d.ndim})")
    lead = len(sizes) - d.ndim
    target = [0] * len(sizes)
    for i in range(len(sizes) - 1, -1, -1):  # PyTorch reports the last mismatching dimension
        s = sizes[i]
        if i < lead:
            if s < 0:
                raise RuntimeError(f"The expanded size of the tensor ({s}) isn't allowed in a leading, "
                                   f"non-existing dimension {i}")
            target[i] = s
            continue
        cur = d.shape[i - lead]
        if s == -1:
            target[i] = cur
        elif cur == 1 or cur == s:
            target[i] = s
        else:
            raise RuntimeError(f"The expanded size of the tensor ({s}) must match the existing size ({cur}) at "
                               f"non-singleton dimension {i}.  Target sizes: {list(sizes)}.  Tensor sizes: "
                               f"{list(d.shape)}")
    target = tuple(target)
    if target == d.shape:
        res = d
    else:
        res = array_module(d).broadcast_to(d, target)
    return _record_view(input, res, ExpandBackward0, _shape=d.shape)


def _legacy(t):
    from .._tensor import legacy_type_name
    return legacy_type_name(t)


def expand_as(input, other):
    return expand(input, other.shape)


class TransposeBackward0(Node):
    def apply(self, g):
        return (g.transpose(self._d0, self._d1),)


def transpose(input, dim0: int, dim1: int):
    """Swap two dimensions, sharing storage (``torch.transpose``)."""
    d = input._data
    d0, d1 = wrap_dim(dim0, d.ndim), wrap_dim(dim1, d.ndim)
    res = d.swapaxes(d0, d1) if d.ndim else d.view()
    return _record_view(input, res, TransposeBackward0, _d0=d0, _d1=d1)


swapaxes = swapdims = transpose


class TBackward0(Node):
    def apply(self, g):
        return (g.t(),)


def t(input):
    """Transpose a tensor of at most 2 dimensions (``torch.t``)."""
    d = input._data
    if d.ndim > 2:
        raise RuntimeError(f"t() expects a tensor with <= 2 dimensions, but self is {d.ndim}D")
    return _record_view(input, d.T, TBackward0)


class PermuteBackward0(Node):
    def apply(self, g):
        inverse = [0] * len(self._dims)
        for i, p in enumerate(self._dims):
            inverse[p] = i
        return (g.permute(inverse),)


def permute(input, *dims):
    """Reorder dimensions, sharing storage (``torch.permute``)."""
    d = input._data
    if not dims:
        raise TypeError('permute() missing 1 required positional arguments: "dims"')
    dims = _size_args(dims)
    if len(dims) != d.ndim:
        raise RuntimeError(f"permute(sparse_coo): number of dimensions in the tensor input does not match the "
                           f"length of the desired ordering of dimensions i.e. input.dim() = {d.ndim} is not equal "
                           f"to len(dims) = {len(dims)}")
    dims = tuple(wrap_dim(x, d.ndim) for x in dims)
    if len(set(dims)) != len(dims):
        raise RuntimeError("permute(): duplicate dims are not allowed.")
    return _record_view(input, d.transpose(dims), PermuteBackward0, _dims=dims)


class SqueezeBackward0(Node):
    def apply(self, g):
        return (g.reshape(self._shape),)


class SqueezeBackward1(SqueezeBackward0):
    pass


class SqueezeBackward2(SqueezeBackward0):
    pass


def squeeze(input, dim=None):
    """Drop size-1 dimensions (all, one, or a tuple of them)."""
    d = input._data
    if dim is None:
        res = d.reshape(tuple(s for s in d.shape if s != 1))
        cls = SqueezeBackward0
    else:
        dims = (dim,) if isinstance(dim, (int, np.integer)) else tuple(dim)
        dims = {wrap_dim(x, d.ndim) for x in dims}
        res = d.reshape(tuple(s for i, s in enumerate(d.shape) if not (i in dims and s == 1)))
        cls = SqueezeBackward1 if isinstance(dim, (int, np.integer)) else SqueezeBackward2
    return _record_view(input, res, cls, _shape=d.shape)


class UnsqueezeBackward0(Node):
    def apply(self, g):
        return (g.squeeze(self._dim),)


def unsqueeze(input, dim: int):
    """Insert a size-1 dimension at ``dim``."""
    d = input._data
    dim = wrap_dim(dim, d.ndim + 1)
    return _record_view(input, array_module(d).expand_dims(d, dim), UnsqueezeBackward0, _dim=dim)


def flatten(input, start_dim: int = 0, end_dim: int = -1):
    """Merge dimensions ``start_dim..end_dim`` into one (``torch.flatten``)."""
    d = input._data
    s, e = wrap_dim(start_dim, d.ndim), wrap_dim(end_dim, d.ndim)
    if d.ndim == 0:
        return reshape(input, 1)
    if s > e:
        raise RuntimeError("flatten() has invalid args: start_dim cannot come after end_dim")
    if s == e:
        return input
    n = 1
    for x in d.shape[s:e + 1]:
        n *= x
    return reshape(input, d.shape[:s] + (n,) + d.shape[e + 1:])


def _index_key(basic):
    from .index import _Key
    return _Key(tuple(basic), None, "slice", True)


def _embed_slice(g, shape, basic):
    """Zeros of ``shape`` with ``g`` at the basic index ``basic`` (backward of a view piece)."""
    from .index import _embed
    return _embed(g, shape, _index_key(basic), accumulate=False)


# ------------------------------------------------------------------------------------------
# unflatten / movedim / repeat / tile
# ------------------------------------------------------------------------------------------

def unflatten(input, dim: int, sizes):
    """Split dimension ``dim`` into ``sizes`` (one may be -1), as a view (``torch.unflatten``)."""
    d = input._data
    if d.ndim == 0:
        raise IndexError("Dimension specified as 0 but tensor has no dimensions")
    dim = wrap_dim(dim, d.ndim)
    sizes = tuple(int(s) for s in sizes)
    if not sizes:
        raise RuntimeError("unflatten: sizes must be non-empty")
    if sizes.count(-1) > 1:
        raise RuntimeError("only one dimension can be inferred")
    n = d.shape[dim]
    if -1 in sizes:
        known = 1
        for s in sizes:
            if s != -1:
                known *= s
        ok = known != 0 and n % known == 0
    else:
        known = 1
        for s in sizes:
            known *= s
        ok = known == n
    if not ok:
        raise RuntimeError(f"unflatten: Provided sizes {_fmt(sizes)} don't multiply up to the size of dim {dim} "
                           f"({n}) in the input tensor")
    return view(input, d.shape[:dim] + sizes + d.shape[dim + 1:])


def movedim(input, source, destination):
    """Move dims ``source`` to positions ``destination``, the rest keeping their order (``torch.movedim``)."""
    d = input._data
    src = [source] if isinstance(source, (int, np.integer)) else list(source)
    dst = [destination] if isinstance(destination, (int, np.integer)) else list(destination)
    if len(src) != len(dst):
        raise RuntimeError(f"movedim: Invalid source or destination dims: source ({_fmt(src)} dims) should "
                           f"contain the same number of dims as destination ({_fmt(dst)} dims)")
    src = [wrap_dim(int(s), d.ndim) for s in src]
    dst = [wrap_dim(int(s), d.ndim) for s in dst]
    if len(set(src)) != len(src):
        raise RuntimeError(f"movedim: repeated dim in `source` ({_fmt(src)})")
    if len(set(dst)) != len(dst):
        raise RuntimeError(f"movedim: repeated dim in `destination` ({_fmt(dst)})")
    if d.ndim == 0:  # dim 0 / -1 name the only "dim" of a scalar: nothing moves
        return permute(input, ())
    order = [None] * d.ndim
    for s, t in zip(src, dst):
        order[t] = s
    rest = iter(i for i in range(d.ndim) if i not in src)
    order = [next(rest) if o is None else o for o in order]
    return permute(input, order)


moveaxis = movedim


class RepeatBackward0(Node):
    def apply(self, g):
        # g has shape (r0*s0, r1*s1, ...): split each dim into (r, s) and sum the r axes.
        inter = []
        for r, s in zip(self._repeats, self._padded):
            inter.extend((r, s))
        g = g.reshape(inter).sum(dim=tuple(range(0, len(inter), 2))) if inter else g
        return (g.reshape(self._shape),)


def repeat(input, *sizes):
    """Tile the tensor ``sizes[i]`` times along dim i (``Tensor.repeat``; leading new dims allowed)."""
    d = input._data
    repeats = _size_args(sizes)
    if len(repeats) < d.ndim:
        raise RuntimeError("Number of dimensions of repeat dims can not be smaller than number of dimensions "
                           "of tensor")
    padded = (1,) * (len(repeats) - d.ndim) + d.shape
    target = tuple(r * s for r, s in zip(repeats, padded))
    for r in repeats:
        if r < 0:
            raise RuntimeError(f"Trying to create tensor with negative dimension {min(target)}: {_fmt(target)}")
    res = array_module(d).tile(d.reshape(padded), repeats) if repeats else d.copy()
    if _GradState.enabled and input._requires_grad:
        node = RepeatBackward0()
        node._next = (edge(input),)
        node._repeats, node._padded, node._shape = repeats, padded, d.shape
        return _make(res, node)
    return _wrap(res)


def tile(input, dims):
    """``repeat`` with ``dims`` padded by leading ones to the tensor's rank (``torch.tile``)."""
    dims = _size_args((dims,)) if isinstance(dims, (tuple, list)) else (int(dims),)
    nd = input._data.ndim
    if len(dims) < nd:
        dims = (1,) * (nd - len(dims)) + dims
    return repeat(input, dims)


# ------------------------------------------------------------------------------------------
# select / narrow / split / chunk / unbind
# ------------------------------------------------------------------------------------------

def select(input, dim: int, index: int):
    """The slice at ``index`` along ``dim``, as a view (``torch.select``)."""
    from .index import SelectBackward0, _Key
    d = input._data
    dim = wrap_dim(dim, d.ndim)
    index = int(index)
    size = d.shape[dim]
    if not -size <= index < size:
        raise IndexError(f"select(): index {index} out of range for tensor of size {_fmt(d.shape)} at dimension "
                         f"{dim}")
    key = (slice(None),) * dim + (index, Ellipsis)  # Ellipsis: a 0-d view, not a NumPy scalar
    return _record_view(input, d[key], SelectBackward0, _shape=d.shape, _key=_Key(key, None, "select", True))


def narrow(input, dim: int, start, length: int):
    """``length`` elements from ``start`` along ``dim``, as a view (SliceBackward0)."""
    from .index import SliceBackward0
    d = input._data
    if d.ndim == 0:
        raise RuntimeError("narrow() cannot be applied to a 0-dim tensor.")
    dim = wrap_dim(dim, d.ndim)
    start, length = int(start), int(length)
    size = d.shape[dim]
    if not -size <= start <= size:
        raise IndexError(f"start out of range (expected to be in range of [{-size}, {size}], but got {start})")
    if start < 0:
        start += size
    if length < 0:
        raise RuntimeError("narrow(): length must be non-negative.")
    if start + length > size:
        raise RuntimeError(f"start ({start}) + length ({length}) exceeds dimension size ({size}).")
    key = (slice(None),) * dim + (slice(start, start + length),)
    return _record_view(input, d[key], SliceBackward0, _shape=d.shape, _key=_index_key(key))


class SplitBackward0(Node):
    """The one node shared by all outputs of split/chunk (PyTorch's multi-output node).

    Each output's gradient arrives through its ``OutputSlot``; the engine sums the packs,
    so this runs once and builds the input's gradient with a single allocation.
    """

    _stacked = False  # unbind: pieces lost the split dimension

    def apply(self, grad):
        grads = grad.grads if type(grad) is PackedGrad else [grad]
        if not _GradState.enabled:
            return (_wrap(self._assemble_arrays(grads)),)
        pieces = [g if g is not None else _zeros_like_piece(self, i) for i, g in enumerate(grads)]
        return ((stack if self._stacked else cat)(pieces, self._dim),)

    def _assemble_arrays(self, grads):
        xp = array_module(next(g for g in grads if g is not None)._data)
        full = all(g is not None for g in grads)
        out = (xp.empty if full else xp.zeros)(self._shape, dtype=self._dtype)
        lead = (slice(None),) * self._dim
        start = 0
        for g, n in zip(grads, self._sizes):
            if g is not None:
                key = lead + ((start,) if self._stacked else (slice(start, start + n),))
                out[key] = g._data
            start += n
        return out


def _zeros_like_piece(node, index: int):
    shape = list(node._shape)
    if node._stacked:
        del shape[node._dim]
    else:
        shape[node._dim] = node._sizes[index]
    return _wrap(node._xp.zeros(tuple(shape), dtype=node._dtype))


class SplitWithSizesBackward0(SplitBackward0):
    pass


class UnbindBackward0(SplitBackward0):
    _stacked = True


def _multi_output_node(input, dim: int, sizes, node_cls):
    """The shared backward node of a split/chunk/unbind call (None when nothing is recorded)."""
    if not (_GradState.enabled and input._requires_grad):
        return None
    d = input._data
    node = node_cls()
    node._next = (edge(input),)
    node._shape, node._dtype, node._xp = d.shape, d.dtype, array_module(d)
    node._dim, node._sizes = dim, tuple(sizes)
    return node


def _attach(piece, node, index: int, n: int) -> None:
    """Make ``piece`` output ``index`` of the multi-output ``node``."""
    piece._grad_fn, piece._requires_grad = OutputSlot(node, index, n), True
    piece._multi_view = (type(node).__name__[:-len("Backward0")], index)


def _pieces(input, dim: int, sizes, node_cls):
    """Views of ``input`` along ``dim`` with the given sizes, all outputs of one node."""
    d = input._data
    node = _multi_output_node(input, dim, sizes, node_cls)
    base = input if input._base is None else input._base
    out = []
    start = 0
    lead = (slice(None),) * dim
    for n in sizes:
        key = lead + (slice(start, start + n),)
        piece = _view_of(d[key], input, None)
        if node is not None:
            _attach(piece, node, len(out), len(sizes))
        piece._base = base
        out.append(piece)
        start += n
    return tuple(out)


def split(tensor, split_size_or_sections, dim: int = 0):
    """Views of equal ``split_size`` (last one smaller) or of the listed sizes along ``dim``."""
    d = tensor._data
    if d.ndim == 0:
        raise RuntimeError("split expects at least a 1-dimensional tensor")
    dim = wrap_dim(dim, d.ndim)
    n = d.shape[dim]
    if isinstance(split_size_or_sections, (list, tuple)):
        sizes = [int(s) for s in split_size_or_sections]
        if sum(sizes) != n or any(s < 0 for s in sizes):
            raise RuntimeError(f"split_with_sizes expects split_sizes to sum exactly to {n} (input tensor's size "
                               f"at dimension {dim}), but got split_sizes={_fmt(sizes)}")
        return _pieces(tensor, dim, sizes, SplitWithSizesBackward0)
    size = int(split_size_or_sections)
    if size < 0:
        raise RuntimeError(f"split expects split_size be non-negative, but got split_size={size}")
    if size == 0 and n != 0:
        raise RuntimeError(f"split_size can only be 0 if dimension size is 0, but got dimension size of {n}")
    if size == 0 or n == 0:
        return _pieces(tensor, dim, [n], SplitBackward0)
    sizes = [size] * (n // size) + ([n % size] if n % size else [])
    return _pieces(tensor, dim, sizes, SplitBackward0)


def chunk(input, chunks: int, dim: int = 0):
    """At most ``chunks`` views of size ceil(n / chunks) along ``dim`` (``torch.chunk``)."""
    chunks = int(chunks)
    if chunks <= 0:
        raise RuntimeError(f"chunk expects `chunks` to be greater than 0, got: {chunks}")
    d = input._data
    if d.ndim == 0:
        raise RuntimeError("chunk expects at least a 1-dimensional tensor")
    dim = wrap_dim(dim, d.ndim)
    n = d.shape[dim]
    size = -(-n // chunks)
    if size == 0:
        return _pieces(input, dim, [0] * chunks, SplitBackward0)
    return split(input, size, dim)


def unbind(input, dim: int = 0):
    """The slices along ``dim`` as a tuple of views, all outputs of one UnbindBackward0."""
    d = input._data
    if d.ndim == 0:
        raise IndexError("Dimension specified as 0 but tensor has no dimensions")
    dim = wrap_dim(dim, d.ndim)
    n = d.shape[dim]
    node = _multi_output_node(input, dim, [1] * n, UnbindBackward0)
    base = input if input._base is None else input._base
    lead = (slice(None),) * dim
    out = []
    for i in range(n):
        piece = _view_of(d[lead + (i, Ellipsis)], input, None)
        if node is not None:
            _attach(piece, node, i, n)
        piece._base = base
        out.append(piece)
    return tuple(out)


# ------------------------------------------------------------------------------------------
# cat / stack and friends
# ------------------------------------------------------------------------------------------

def _tensor_list(name: str, tensors):
    if isinstance(tensors, Tensor):
        raise TypeError(f"{name}(): argument 'tensors' (position 1) must be tuple of Tensors, not Tensor")
    tensors = list(tensors)
    for t in tensors:
        if not isinstance(t, Tensor):
            raise TypeError(f"{name}(): argument 'tensors' (position 1) must be tuple of Tensors, not "
                            f"{type(t).__name__}")
    return tensors


def _promoted(tensors):
    """The common dtype of ``tensors`` (PyTorch's promotion); all must be on one device."""
    first = tensors[0]._data
    kind, dtype = type(first), first.dtype
    same = True
    for t in tensors:
        a = t._data
        if type(a) is not kind:
            from ._util import check_same_device
            check_same_device(*[x._data for x in tensors])
        if a.dtype != dtype:
            same = False
    if same:
        return dtype
    from .. import _dtype as D
    return D.result_type_of([t.dtype for t in tensors], [], []).np


class CatBackward0(Node):
    def apply(self, g):
        grads = []
        start = 0
        lead = (slice(None),) * self._dim
        for size, shape, dtype, used in zip(self._sizes, self._shapes, self._dtypes, self._used):
            if not used:
                grads.append(None)
                start += size  # the skipped input still occupies its slice of g
                continue
            piece = g[lead + (slice(start, start + size),)] if shape != (0,) or g._data.ndim == 1 else None
            start += size
            if piece is None:
                grads.append(_wrap(array_module(g._data).zeros(shape, dtype=dtype)))
                continue
            if piece._data.dtype != dtype:
                from .. import _dtype as D
                piece = piece.to(D._FROM_NP[dtype])
            grads.append(piece)
        return tuple(grads)


def cat(tensors, dim: int = 0, *, out=None):
    """Join tensors along ``dim`` (``torch.cat``); legacy rule: 1-D empty tensors are skipped."""
    if type(tensors) not in (list, tuple):
        tensors = _tensor_list("cat", tensors)
    if not tensors:
        raise ValueError("ember.cat(): expected a non-empty list of Tensors")
    arrays = []
    kept = []
    for i, t in enumerate(tensors):
        if type(t) is not Tensor and not isinstance(t, Tensor):
            _tensor_list("cat", tensors)
        a = t._data
        if a.ndim == 0:
            raise RuntimeError(f"zero-dimensional tensor (at position {i}) cannot be concatenated")
        if a.shape != (0,):
            arrays.append(a)
            kept.append(i)
    dtype = _promoted(tensors)
    if not arrays:
        res = array_module(tensors[0]._data).zeros((0,), dtype=dtype)
        dim = 0
    else:
        ref = arrays[0]
        dim = wrap_dim(dim, ref.ndim)
        ref_shape = ref.shape
        for i, a in zip(kept, arrays):
            shp = a.shape
            if shp[:dim] == ref_shape[:dim] and shp[dim + 1:] == ref_shape[dim + 1:]:
                continue
            if len(shp) != ref.ndim:
                raise RuntimeError(f"Tensors must have same number of dimensions: got {ref.ndim} and {len(shp)}")
            for k in range(ref.ndim):
                if k != dim and shp[k] != ref.shape[k]:
                    raise RuntimeError(f"Sizes of tensors must match except in dimension {dim}. Expected size "
                                       f"{ref.shape[k]} but got size {shp[k]} for tensor number {i} in the list.")
        xp = array_module(ref)
        if len(arrays) == 1:
            res = arrays[0].astype(dtype)
        elif all(a.dtype == dtype for a in arrays):
            res = xp.concatenate(arrays, axis=dim)
        else:
            res = xp.concatenate([a.astype(dtype, copy=False) for a in arrays], axis=dim)
    if out is not None:
        _resize_out(out, res)
        return out
    if _GradState.enabled and any(t._requires_grad for t in tensors):
        node = CatBackward0()
        node._next = tuple(edge(t) for t in tensors)
        node._dim = dim
        node._used = tuple(t._requires_grad for t in tensors)
        node._shapes = tuple(t._data.shape for t in tensors)
        node._dtypes = tuple(t._data.dtype for t in tensors)
        node._sizes = tuple(t._data.shape[dim] if t._data.shape != (0,) else 0 for t in tensors)
        return _make(res, node)
    return _wrap(res)


def _resize_out(out, res):
    out._data = res
    out._vbox[0] += 1


concat = concatenate = cat


class StackBackward0(Node):
    def apply(self, g):
        grads = []
        for i, (dtype, used) in enumerate(zip(self._dtypes, self._used)):
            if not used:
                grads.append(None)
                continue
            piece = select(g, self._dim, i)
            if piece._data.dtype != dtype:
                from .. import _dtype as D
                piece = piece.to(D._FROM_NP[dtype])
            grads.append(piece)
        return tuple(grads)


def stack(tensors, dim: int = 0, *, out=None):
    """Join equally shaped tensors along a new dimension ``dim`` (``torch.stack``)."""
    tensors = _tensor_list("stack", tensors)
    if not tensors:
        raise RuntimeError("stack expects a non-empty TensorList")
    first = tensors[0]._data.shape
    for i, t in enumerate(tensors):
        if t._data.shape != first:
            raise RuntimeError(f"stack expects each tensor to be equal size, but got {_fmt(first)} at entry 0 and "
                               f"{_fmt(t._data.shape)} at entry {i}")
    dim = wrap_dim(dim, len(first) + 1)
    dtype = _promoted(tensors)
    xp = array_module(tensors[0]._data)
    res = xp.stack([t._data if t._data.dtype == dtype else t._data.astype(dtype) for t in tensors], axis=dim)
    if out is not None:
        _resize_out(out, res)
        return out
    if _GradState.enabled and any(t._requires_grad for t in tensors):
        node = StackBackward0()
        node._next = tuple(edge(t) for t in tensors)
        node._dim = dim
        node._used = tuple(t._requires_grad for t in tensors)
        node._dtypes = tuple(t._data.dtype for t in tensors)
        return _make(res, node)
    return _wrap(res)


def _one_or_many(fn, tensors):
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        return tuple(fn(t) for t in tensors[0])
    if len(tensors) == 1:
        return fn(tensors[0])
    return tuple(fn(t) for t in tensors)


def _atleast_1d(t):
    return reshape(t, 1) if t._data.ndim == 0 else t


def _atleast_2d(t):
    nd = t._data.ndim
    if nd == 0:
        return reshape(t, 1, 1)
    return unsqueeze(t, 0) if nd == 1 else t


def _atleast_3d(t):
    nd = t._data.ndim
    if nd == 0:
        return reshape(t, 1, 1, 1)
    if nd == 1:
        return unsqueeze(unsqueeze(t, 0), -1)
    return unsqueeze(t, -1) if nd == 2 else t


def atleast_1d(*tensors):
    """0-d tensors become 1-D; a tuple for several inputs (``torch.atleast_1d``)."""
    return _one_or_many(_atleast_1d, tensors)


def atleast_2d(*tensors):
    """Tensors with fewer than 2 dims get leading size-1 dims (``torch.atleast_2d``)."""
    return _one_or_many(_atleast_2d, tensors)


def atleast_3d(*tensors):
    """Tensors with fewer than 3 dims get size-1 dims as NumPy's atleast_3d (``torch.atleast_3d``)."""
    return _one_or_many(_atleast_3d, tensors)


def hstack(tensors, *, out=None):
    """Concatenate column-wise: along dim 0 for 1-D inputs, else dim 1 (``torch.hstack``)."""
    tensors = [_atleast_1d(t) for t in _tensor_list("hstack", tensors)]
    if not tensors:
        raise RuntimeError("hstack expects a non-empty TensorList")
    return cat(tensors, 0 if tensors[0]._data.ndim == 1 else 1, out=out)


def vstack(tensors, *, out=None):
    """Concatenate row-wise after ``atleast_2d`` (``torch.vstack``)."""
    tensors = [_atleast_2d(t) for t in _tensor_list("vstack", tensors)]
    if not tensors:
        raise RuntimeError("vstack expects a non-empty TensorList")
    return cat(tensors, 0, out=out)


row_stack = vstack


def dstack(tensors, *, out=None):
    """Concatenate depth-wise (dim 2) after ``atleast_3d`` (``torch.dstack``)."""
    tensors = [_atleast_3d(t) for t in _tensor_list("dstack", tensors)]
    if not tensors:
        raise RuntimeError("dstack expects a non-empty TensorList")
    return cat(tensors, 2, out=out)


# ------------------------------------------------------------------------------------------
# flip / roll / broadcast
# ------------------------------------------------------------------------------------------

class FlipBackward0(Node):
    def apply(self, g):
        return (flip(g, self._dims),)


def flip(input, *dims):
    """A copy with the order of elements reversed along ``dims`` (``torch.flip``)."""
    from ._util import normalize_dims
    if len(dims) == 1 and isinstance(dims[0], (tuple, list)):
        dims = tuple(dims[0])
    d = input._data
    dims = normalize_dims(tuple(int(x) for x in dims), d.ndim) if dims else ()
    res = array_module(d).flip(d, axis=dims).copy() if dims and d.ndim else d.copy()
    if _GradState.enabled and input._requires_grad:
        node = FlipBackward0()
        node._next = (edge(input),)
        node._dims = dims
        return _make(res, node)
    return _wrap(res)


class RollBackward0(Node):
    def apply(self, g):
        return (roll(g, tuple(-s for s in self._shifts), self._dims),)


def roll(input, shifts, dims=None):
    """Rotate elements along ``dims`` by ``shifts`` (flattened when dims is None; ``torch.roll``)."""
    d = input._data
    shifts_t = (int(shifts),) if isinstance(shifts, (int, np.integer)) else tuple(int(s) for s in shifts)
    if dims is None:
        dims_t = None
        if len(shifts_t) != 1:
            raise RuntimeError(f"shifts and dimensions must align. shifts: {len(shifts_t)}, dims:0")
        res = array_module(d).roll(d.reshape(-1), shifts_t[0]).reshape(d.shape)
    else:
        dims_t = (int(dims),) if isinstance(dims, (int, np.integer)) else tuple(int(x) for x in dims)
        if len(shifts_t) != len(dims_t):
            raise RuntimeError(f"shifts and dimensions must align. shifts: {len(shifts_t)}, dims:{len(dims_t)}")
        dims_t = tuple(wrap_dim(x, d.ndim) for x in dims_t)
        res = array_module(d).roll(d, shifts_t, axis=dims_t) if d.ndim else d.copy()
    if _GradState.enabled and input._requires_grad:
        node = RollBackward0()
        node._next = (edge(input),)
        node._shifts, node._dims = shifts_t, dims_t
        return _make(res, node)
    return _wrap(res)


def broadcast_to(input, size):
    """``input.expand(size)`` (``torch.broadcast_to``)."""
    return expand(input, size)


def broadcast_shapes(*shapes):
    """The shape all ``shapes`` broadcast to (``torch.broadcast_shapes``)."""
    from .._tensor import Size
    result = []
    for shape in shapes:
        shape = (shape,) if isinstance(shape, (int, np.integer)) else tuple(shape)
        result = _broadcast_pair(result, shape)
    return Size(result)


def _broadcast_pair(a, b):
    n = max(len(a), len(b))
    a = (1,) * (n - len(a)) + tuple(a)
    b = (1,) * (n - len(b)) + tuple(b)
    out = []
    for i, (x, y) in enumerate(zip(a, b)):
        if x != y and x != 1 and y != 1:
            raise RuntimeError(f"The size of tensor a ({x}) must match the size of tensor b ({y}) at "
                               f"non-singleton dimension {i}")
        out.append(y if x == 1 else x)
    return tuple(out)


def broadcast_tensors(*tensors):
    """Expand all tensors to their common broadcast shape, as views (``torch.broadcast_tensors``)."""
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        tensors = tuple(tensors[0])
    shape = ()
    for t in tensors:
        shape = _broadcast_pair(shape, t._data.shape)
    return tuple(expand(t, shape) for t in tensors)


# ------------------------------------------------------------------------------------------
# diagonal / diag_embed / diag
# ------------------------------------------------------------------------------------------

def _diagonal_view(d, offset: int, dim1: int, dim2: int):
    """A writeable strided view of the diagonal (dims dim1, dim2 removed, diagonal appended)."""
    key = [slice(None)] * d.ndim
    if offset >= 0:
        key[dim2] = slice(offset, None)
    else:
        key[dim1] = slice(-offset, None)
    part = d[tuple(key)]
    length = max(min(part.shape[dim1], part.shape[dim2]), 0)
    others = [i for i in range(d.ndim) if i not in (dim1, dim2)]
    shape = tuple(part.shape[i] for i in others) + (length,)
    strides = tuple(part.strides[i] for i in others) + (part.strides[dim1] + part.strides[dim2],)
    return array_module(d).lib.stride_tricks.as_strided(part, shape, strides)


def _diag_dims(ndim: int, dim1: int, dim2: int):
    d1, d2 = wrap_dim(dim1, ndim), wrap_dim(dim2, ndim)
    if d1 == d2:
        raise RuntimeError(f"diagonal dimensions cannot be identical {dim1}, {dim2}")
    return d1, d2


class DiagonalBackward0(Node):
    def apply(self, g):
        zeros = _wrap(array_module(g._data).zeros(self._shape, dtype=g._data.dtype))
        return (diagonal_scatter(zeros, g, self._offset, self._dim1, self._dim2),)


class DiagonalBackward0_copy(DiagonalBackward0):  # noqa: N801 - PyTorch's name for diag() of a matrix
    pass


def diagonal(input, offset: int = 0, dim1: int = 0, dim2: int = 1):
    """The diagonal of the (dim1, dim2) planes as a view, appended as the last dim (``torch.diagonal``)."""
    d = input._data
    d1, d2 = _diag_dims(d.ndim, dim1, dim2)
    res = _diagonal_view(d, int(offset), d1, d2)
    return _record_view(input, res, DiagonalBackward0, _shape=d.shape, _offset=int(offset), _dim1=d1, _dim2=d2)


class DiagonalScatterBackward0(Node):
    def apply(self, g):
        nx, ns = self._next
        gx = gs = None
        if nx is not None:
            zeros = _wrap(array_module(g._data).zeros(self._src_shape, dtype=g._data.dtype))
            gx = diagonal_scatter(g, zeros, self._offset, self._dim1, self._dim2)
        if ns is not None:
            gs = diagonal(g, self._offset, self._dim1, self._dim2)
        return gx, gs


def diagonal_scatter(input, src, offset: int = 0, dim1: int = 0, dim2: int = 1):
    """A copy of ``input`` with ``src`` written on the diagonal (``torch.diagonal_scatter``)."""
    d = input._data
    d1, d2 = _diag_dims(d.ndim, dim1, dim2)
    res = d.copy()
    target = _diagonal_view(res, int(offset), d1, d2)
    if target.shape != src._data.shape:
        raise RuntimeError(f"expected src to have a size equal to the slice of self. src size = "
                           f"{_fmt(src._data.shape)}, slice size = {_fmt(target.shape)}")
    target[...] = src._data
    if _GradState.enabled and (input._requires_grad or src._requires_grad):
        node = DiagonalScatterBackward0()
        node._next = (edge(input), edge(src))
        node._offset, node._dim1, node._dim2, node._src_shape = int(offset), d1, d2, src._data.shape
        return _make(res, node)
    return _wrap(res)


class DiagEmbedBackward0(Node):
    def apply(self, g):
        return (diagonal(g, self._offset, self._dim1, self._dim2),)


def diag_embed(input, offset: int = 0, dim1: int = -2, dim2: int = -1):
    """Square matrices (over new dims dim1, dim2) with ``input``'s last dim on the diagonal."""
    d = input._data
    nd = d.ndim + 1
    d1, d2 = _diag_dims(nd, dim1, dim2)
    n = d.shape[-1] + abs(int(offset))
    batch = list(d.shape[:-1])
    shape = []
    for i in range(nd):
        shape.append(n if i in (d1, d2) else batch.pop(0))
    res = array_module(d).zeros(shape, dtype=d.dtype)
    _diagonal_view(res, int(offset), d1, d2)[...] = d
    if _GradState.enabled and input._requires_grad:
        node = DiagEmbedBackward0()
        node._next = (edge(input),)
        node._offset, node._dim1, node._dim2 = int(offset), d1, d2
        return _make(res, node)
    return _wrap(res)


def diag(input, diagonal: int = 0):
    """A 1-D input becomes a diagonal matrix; a matrix gives its diagonal as a copy (``torch.diag``)."""
    d = input._data
    if d.ndim == 1:
        return diag_embed(input, diagonal, 0, 1)
    if d.ndim != 2:
        raise RuntimeError(f"diag(): Supports 1D or 2D tensors. Got {d.ndim}D")
    res = _diagonal_view(d, int(diagonal), 0, 1).copy()
    if _GradState.enabled and input._requires_grad:
        node = DiagonalBackward0_copy()
        node._next = (edge(input),)
        node._shape, node._offset, node._dim1, node._dim2 = d.shape, int(diagonal), 0, 1
        return _make(res, node)
    return _wrap(res)


def _t_prop(self):
    """``x.T``: PyTorch records it as a permute at every rank, and warns off ranks other than 2."""
    ndim = self._data.ndim
    if ndim == 0:
        warnings.warn("Tensor.T is deprecated on 0-D tensors. This function is the identity in these cases.",
                      UserWarning, stacklevel=2)
    elif ndim != 2:
        warnings.warn("The use of `x.T` on tensors of dimension other than 2 to reverse their shape is deprecated "
                      "and it will throw an error in a future release. Consider `x.mT` to transpose batches of "
                      "matrices or `x.permute(*torch.arange(x.ndim - 1, -1, -1))` to reverse the dimensions of a "
                      "tensor.", UserWarning, stacklevel=2)
    return permute(self, tuple(reversed(range(ndim)))) if ndim else permute(self, ())


def _mT(self):
    if self._data.ndim == 0:
        warnings.warn("Tensor.mT is deprecated on 0-D tensors. This function is the identity in these cases.",
                      UserWarning, stacklevel=2)
        return self
    if self._data.ndim < 2:
        raise RuntimeError(f"tensor.mT is only supported on matrices or batches of matrices. Got "
                           f"{self._data.ndim}-D tensor.")
    return transpose(self, -2, -1)


TENSOR_METHODS = {
    "view": view, "reshape": reshape, "view_as": view_as, "reshape_as": reshape_as, "expand": expand,
    "expand_as": expand_as, "transpose": transpose, "swapaxes": transpose, "swapdims": transpose, "t": t,
    "permute": permute, "squeeze": squeeze, "unsqueeze": unsqueeze, "flatten": flatten,
    "T": property(_t_prop), "mT": property(_mT),
    "unflatten": unflatten, "movedim": movedim, "moveaxis": movedim, "repeat": repeat, "tile": tile,
    "select": select, "narrow": narrow, "split": split, "chunk": chunk, "unbind": unbind, "flip": flip,
    "roll": roll, "broadcast_to": broadcast_to, "diagonal": diagonal, "diagonal_scatter": diagonal_scatter,
    "diag_embed": diag_embed, "diag": diag,
}

__all__ = ["reshape", "transpose", "swapaxes", "swapdims", "t", "permute", "squeeze", "unsqueeze", "flatten",
           "unflatten", "movedim", "moveaxis", "tile", "select", "narrow",
           "split", "chunk", "unbind", "cat", "concat", "concatenate", "stack", "hstack", "vstack", "row_stack",
           "dstack", "atleast_1d", "atleast_2d", "atleast_3d", "flip", "roll", "broadcast_to", "broadcast_shapes",
           "broadcast_tensors", "diagonal", "diagonal_scatter", "diag_embed", "diag"]
