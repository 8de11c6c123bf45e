"""Shape and view ops: view/reshape, expand, transpose/permute, squeeze/unsqueeze, cat/stack, split..."""
from __future__ import annotations

import numpy as np

from .._backend import array_module
from .._tensor import _view_of
from ._util import Tensor, Node, edge, _GradState, _wrap, _make, wrap_dim


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
        from .. import _dtype as D
        return input.to(D.to_dtype(shape[0])) if False else _view_dtype(input, shape[0])
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
    target = []
    for i, s in enumerate(sizes):
        if i < lead:
            if s < 0:
                raise RuntimeError(f"The expanded size of the tensor ({s}) isn't allowed in a leading, "
                                   "non-existing dimension 0")
            target.append(s)
            continue
        cur = d.shape[i - lead]
        if s == -1:
            target.append(cur)
        elif cur == 1 or cur == s:
            target.append(s)
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
    return legacy_type_name(t).replace("ember.", "")


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
    if d.ndim == 0:
        return reshape(input, 1)
    s, e = wrap_dim(start_dim, d.ndim), wrap_dim(end_dim, d.ndim)
    if s > e:
        raise RuntimeError("flatten() has invalid args: start_dim cannot come after end_dim")
    if s == e:
        return input
    n = 1
    for x in d.shape[s:e + 1]:
        n *= x
    return reshape(input, d.shape[:s] + (n,) + d.shape[e + 1:])


def _t_prop(self):
    return t(self) if self._data.ndim <= 2 else permute(self, tuple(reversed(range(self._data.ndim))))


def _mT(self):
    if self._data.ndim < 2:
        raise RuntimeError("tensor.mT is only supported on matrices or batches of matrices. Got 1-D tensor.")
    return transpose(self, -2, -1)


TENSOR_METHODS = {
    "view": view, "reshape": reshape, "view_as": view_as, "reshape_as": reshape_as, "expand": expand,
    "expand_as": expand_as, "transpose": transpose, "swapaxes": transpose, "swapdims": transpose, "t": t,
    "permute": permute, "squeeze": squeeze, "unsqueeze": unsqueeze, "flatten": flatten,
    "T": property(_t_prop), "mT": property(_mT),
}

__all__ = ["reshape", "transpose", "swapaxes", "swapdims", "t", "permute", "squeeze", "unsqueeze", "flatten"]
