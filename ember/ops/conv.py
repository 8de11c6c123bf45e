"""Convolutions (1-3 spatial dims, grouped, strided, dilated, transposed), unfold and fold.

Everything stays channels-first (NCHW), so no layout conversion copies are needed.
Stride-1 convolutions (the common case) go by ``_Planes``: on the zero-padded input's grid a
kernel offset is a fixed shift of the flattened planes, so im2col and col2im are one long row
copy/add per channel and offset, block by block of samples. Strided ones are im2col (one
strided slice copy per kernel offset, channels-first columns (C, *kernel, N, *out)) and one
GEMM per group over the whole batch; backward reuses the columns for the weight gradient and
scatters the column gradient back with one strided add per kernel offset (col2im). When
``create_graph`` is on, the backward is written with differentiable convolutions instead, so
higher-order gradients work.
"""
from __future__ import annotations

import itertools
import math

from .._backend import array_module, numpy as _np
from ._util import Tensor, Node, edge, _GradState, _wrap, _make
from ._parallel import in_chunks, in_sample_blocks

__all__ = ["conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d", "conv_transpose3d"]

# not star-exported (torch.unfold is a different function); nn.functional imports them by name
_FUNCTIONAL = ["unfold", "fold"]

TENSOR_METHODS: dict = {}


# ------------------------------------------------------------------------------------------
# Array kernels (NumPy or CuPy): im2col, col2im and the layout changes around them
# ------------------------------------------------------------------------------------------

# Big scratch arrays (columns, column gradients) kept for the next call of the same shape: a
# fresh multi-megabyte array is mapped from the OS and costs a page fault every 4 KiB, which
# here costs as much as the copies that fill it. Only arrays that never reach a user go here.
_SPARE: dict = {}  # (shape, dtype) -> list of arrays
_SPARE_MAX = 2  # per shape
_SPARE_MIN_BYTES = 1 << 20
_BLOCK_BYTES = 8 << 20  # scratch per thread for a block of samples: cnn step 15% slower at 2 or 32 MiB


def _scratch(xp, shape, dtype):
    """An uninitialised array of ``shape``, a spare one when there is one."""
    spares = _SPARE.get((shape, dtype)) if xp is _np else None
    if spares:
        try:
            return spares.pop()
        except IndexError:  # another thread took the last one
            pass
    return xp.empty(shape, dtype=dtype)


def _give_back(arr) -> None:
    """Keep ``arr`` (no longer used by anyone) for a later ``_scratch`` of its shape."""
    if type(arr) is _np.ndarray and arr.base is None and arr.nbytes >= _SPARE_MIN_BYTES:
        spares = _SPARE.setdefault((arr.shape, arr.dtype), [])
        if len(spares) < _SPARE_MAX:
            spares.append(arr)


def _window_slices(offset, stride, dilation, out):
    """The input positions kernel offset ``offset`` reads for every output position."""
    return tuple(slice(i * d, i * d + s * (o - 1) + 1, s) for i, s, d, o in zip(offset, stride, dilation, out))


def _kernel_offsets(kernel):
    return list(itertools.product(*(range(k) for k in kernel)))


def _zero_padded(x, lo, hi):
    """``x`` (N, C, *spatial) with ``lo``/``hi`` zeros around each spatial dim (``x`` itself when none)."""
    if not any(lo) and not any(hi):
        return x
    xp = array_module(x)
    buf = xp.zeros(x.shape[:2] + tuple(s + a + b for s, a, b in zip(x.shape[2:], lo, hi)), dtype=x.dtype)
    buf[(slice(None), slice(None)) + tuple(slice(a, a + s) for a, s in zip(lo, x.shape[2:]))] = x
    return buf


def _cropped(buf, lo, size):
    """Contiguous ``buf[:, :, lo:lo+size, ...]`` (``buf`` itself when nothing is cropped)."""
    if not any(lo) and tuple(buf.shape[2:]) == tuple(size):
        return buf
    crop = (slice(None), slice(None)) + tuple(slice(a, a + s) for a, s in zip(lo, size))
    return array_module(buf).ascontiguousarray(buf[crop])


def _column_key(part, offset, channels_first: bool):
    """Index of kernel offset ``offset`` for rows ``part`` of the columns in either layout."""
    return (part,) + offset if channels_first else (part, slice(None)) + offset


def _im2col(x, kernel, stride, dilation, lo, hi, out, channels_first: bool = False, scratch: bool = False):
    """Contiguous columns of the zero-padded input ``x`` (N, C, *in), one strided copy per kernel offset.

    ``channels_first=False``: (N, C, *kernel, *out), the layout of ``F.unfold``.
    ``channels_first=True``: (C, *kernel, N, *out), a (C*k, N*L) matrix, so that the whole batch
    is one large GEMM (BLAS runs those near peak on every core; many small per-sample GEMMs do not).
    ``scratch``: the columns may come from the spare arrays (the caller gives them back).
    """
    xp = array_module(x)
    buf = _zero_padded(x, lo, hi)
    kernel, out = tuple(kernel), tuple(out)
    n, c = x.shape[:2]
    src = buf.swapaxes(0, 1) if channels_first else buf  # rows of the columns first
    shape = (c,) + kernel + (n,) + out if channels_first else (n, c) + kernel + out
    cols = _scratch(xp, shape, x.dtype) if scratch else xp.empty(shape, dtype=x.dtype)
    offsets = _kernel_offsets(kernel)

    def copy(part):
        for offset in offsets:
            cols[_column_key(part, offset, channels_first)] = \
                src[(part, slice(None)) + _window_slices(offset, stride, dilation, out)]
    in_chunks(copy, xp, shape[0], cols.size)
    return cols


def _col2im(cols, padded, stride, dilation, channels_first: bool = False):
    """Adjoint of im2col: columns summed into a new (N, C, *padded), or (C, N, *padded) when ``channels_first``."""
    xp = array_module(cols)
    nd = len(padded)
    if channels_first:  # (C, *kernel, N, *out)
        kernel, rows = cols.shape[1:1 + nd], (cols.shape[0], cols.shape[1 + nd])
    else:  # (N, C, *kernel, *out)
        kernel, rows = cols.shape[2:2 + nd], cols.shape[:2]
    out = cols.shape[2 + nd:]
    buf = xp.zeros(rows + tuple(padded), dtype=cols.dtype)
    offsets = _kernel_offsets(kernel)

    def accumulate(part):
        for offset in offsets:
            buf[(part, slice(None)) + _window_slices(offset, stride, dilation, out)] += \
                cols[_column_key(part, offset, channels_first)]
    in_chunks(accumulate, xp, rows[0], cols.size)
    return buf


def _channel_rows(x):
    """(N, C, *spatial) -> contiguous (C, N * prod(spatial)): every channel one row over the whole batch."""
    xp = array_module(x)
    rows = xp.empty((x.shape[1], x.shape[0]) + x.shape[2:], dtype=x.dtype)
    src = x.swapaxes(0, 1)

    def copy(part):
        rows[part] = src[part]
    in_chunks(copy, xp, rows.shape[0], rows.size)
    return rows.reshape(x.shape[1], math.prod(rows.shape[1:]))


def _batch_first(a, bias=None, lo=None, size=None):
    """(C, N, *spatial) -> contiguous (N, C, *size) cropped at ``lo``, plus ``bias`` per channel, in one pass."""
    xp = array_module(a)
    nd = a.ndim - 2
    src = a
    if lo is not None and (any(lo) or tuple(a.shape[2:]) != tuple(size)):
        src = a[(slice(None), slice(None)) + tuple(slice(s, s + n) for s, n in zip(lo, size))]
    src = src.swapaxes(0, 1)
    res = xp.empty(src.shape, dtype=a.dtype)
    b = None if bias is None else bias.reshape((-1,) + (1,) * nd)

    def copy(part):
        if b is None:
            res[part] = src[part]
        else:
            xp.add(src[part], b, out=res[part])
    in_chunks(copy, xp, res.shape[0], res.size)
    return res


class _Planes:
    """A stride-1 convolution computed on the zero-padded input's grid, block by block of samples.

    Flatten each sample's padded input to a plane of P = prod(padded) positions. Kernel offset
    ``k`` reads the input ``shift_k`` positions after an output position, for every output, so
    im2col is one contiguous copy per channel and offset, ``cols[c, k, q] = plane_c[q + shift_k]``,
    instead of one short row per output row (NumPy's per-row cost made that 3x slower). The
    products then cover all P positions of the grid, not only the L valid outputs (P/L = 1.17
    for 3x3 on 26x26); the extra outputs are dropped, and get a zero gradient. In backward, col2im
    is the same shifted rows added back. Samples go in blocks (``in_sample_blocks``) whose
    scratch arrays stay in cache, and the columns are rebuilt for the weight gradient instead of
    kept: keeping them (50 MB for the bench's second layer) made the cnn step 5-10% slower.
    """

    __slots__ = ("n", "c", "o", "groups", "nd", "kernel", "padded", "plane", "shifts", "tail",
                 "inner", "valid", "block")

    def __init__(self, xshape, wshape, geo: _Geometry, itemsize: int):
        self.n, self.c = xshape[:2]
        self.o, self.groups = wshape[0], geo.groups
        self.kernel = tuple(wshape[2:])
        self.nd = nd = len(self.kernel)
        self.padded = tuple(s + a + b for s, a, b in zip(xshape[2:], geo.lo, geo.hi))
        self.plane = math.prod(self.padded)
        pitch = [math.prod(self.padded[a + 1:]) for a in range(nd)]
        self.shifts = [sum(i * d * p for i, d, p in zip(offset, geo.dilation, pitch))
                       for offset in _kernel_offsets(self.kernel)]
        self.tail = max(self.shifts)  # zeros after the last plane, read by the last outputs
        out = geo.conv_out(xshape[2:], self.kernel)
        # the input inside the padded grid, and the valid outputs on it
        self.inner = tuple(slice(a, a + s) for a, s in zip(geo.lo, xshape[2:]))
        self.valid = tuple(slice(0, s) for s in out)
        per_sample = (self.c * (1 + len(self.shifts)) + 2 * self.o) * self.plane * itemsize
        self.block = max(1, _BLOCK_BYTES // per_sample)

    def _buffers(self, xp, dtype, rows: int):
        """A zeroed (rows, block*P + tail) array: planes of ``block`` samples, one row per channel."""
        return xp.zeros((rows, self.block * self.plane + self.tail), dtype=dtype)

    def _load(self, buf, x, lo: int, hi: int) -> None:
        """Samples lo:hi of ``x`` (N, C, *in) into the planes ``buf`` (C, block*P + tail); the padding stays zero."""
        grid = buf[:, :(hi - lo) * self.plane].reshape((self.c, hi - lo) + self.padded)
        grid[(slice(None), slice(None)) + self.inner] = x[lo:hi].swapaxes(0, 1)

    def _columns(self, cols, planes, m: int):
        """cols (C, k, block*P) from the planes: one shifted row copy per kernel offset; (C*k, m*P) view."""
        width = m * self.plane

        def copy(part):
            for k, shift in enumerate(self.shifts):
                cols[part, k, :width] = planes[part, shift:shift + width]
        in_chunks(copy, array_module(cols), self.c, self.c * len(self.shifts) * width)
        return cols[:, :, :width].reshape(self.c * len(self.shifts), width)

    def forward(self, x, w, b):
        xp = array_module(x)
        n, nd = self.n, self.nd
        res = xp.empty((n, self.o) + tuple(s.stop for s in self.valid), dtype=x.dtype)
        wm = _grouped_weight(w, self.groups)
        bias = None if b is None else b.reshape((1, -1) + (1,) * nd)
        valid = (slice(None), slice(None)) + self.valid

        def make():
            planes = self._buffers(xp, x.dtype, self.c)
            cols = xp.empty((self.c, len(self.shifts), self.block * self.plane), dtype=x.dtype)

            def work(lo, hi):
                self._load(planes, x, lo, hi)
                prod = xp.matmul(wm, _by_group(self._columns(cols, planes, hi - lo), self.groups))
                res[lo:hi] = prod.reshape((self.o, hi - lo) + self.padded)[valid].swapaxes(0, 1)
                if bias is not None:  # a plain strided copy, then a contiguous add: 1.5x faster than one add
                    res[lo:hi] += bias
            return work

        in_sample_blocks(make, xp, n, self.block)
        return res

    def backward(self, gd, x, w, need_x: bool, need_w: bool, need_b: bool):
        """(gx, gw, gb) arrays (None where not needed) for the output gradient ``gd`` (N, O, *out)."""
        xp = array_module(gd)
        n, c, o, g = self.n, self.c, self.o, self.groups
        kk = len(self.shifts)
        wt = _transposed_weight(w, g) if need_x else None  # (G, Cg*k, Og)
        gx = xp.empty(x.shape, dtype=gd.dtype) if need_x else None
        valid = (slice(None), slice(None)) + self.valid
        inner = (slice(None), slice(None)) + self.inner

        def make():
            grads = self._buffers(xp, gd.dtype, o)  # output gradient on the grid, zero off the outputs
            if need_w:
                planes = self._buffers(xp, x.dtype, c)
                cols = xp.empty((c, kk, self.block * self.plane), dtype=x.dtype)
            if need_x:
                acc = self._buffers(xp, gd.dtype, c)

            def work(lo, hi):
                m = hi - lo
                width = m * self.plane
                grid = grads[:, :width]
                grid.reshape((o, m) + self.padded)[valid] = gd[lo:hi].swapaxes(0, 1)
                partial = [None, None]
                if need_b:
                    partial[1] = grid.sum(axis=1)
                if need_w:
                    self._load(planes, x, lo, hi)
                    colm = _by_group(self._columns(cols, planes, m), g)  # (G, Cg*k, m*P)
                    partial[0] = _product_nt(_by_group(grid, g), colm)  # (G, Og, Cg*k)
                if need_x:
                    gcols = xp.matmul(wt, _by_group(grid, g)).reshape(c, kk, width)
                    acc.fill(0)

                    def accumulate(part):
                        for k, shift in enumerate(self.shifts):
                            acc[part, shift:shift + width] += gcols[part, k]
                    in_chunks(accumulate, xp, c, gcols.size)
                    gx[lo:hi] = acc[:, :width].reshape((c, m) + self.padded)[inner].swapaxes(0, 1)
                return partial if (need_w or need_b) else None
            return work

        total = in_sample_blocks(make, xp, n, self.block)
        gw = gb = None
        if need_w:
            gw = total[0].reshape(w.shape) if total is not None else xp.zeros(w.shape, dtype=w.dtype)
        if need_b:
            gb = total[1] if total is not None else xp.zeros((o,), dtype=gd.dtype)
        return gx, gw, gb


def _transposed_weight(w, groups: int):
    """Weight (G*A, B, *kernel) as a contiguous (G, B*k, A): BLAS runs this product ~40% faster on a
    contiguous copy of the (small) weight than on the transposed view."""
    return array_module(w).ascontiguousarray(_grouped_weight(w, groups).swapaxes(1, 2))


def _product_nt(a, b):
    """``a (G, P, K) @ b (G, Q, K)^T``. With P < Q it is computed as ``(b @ a^T)^T``: for these long-K
    products (weight gradients) BLAS is ~25% faster with the larger side as rows."""
    xp = array_module(a)
    if a.shape[1] < b.shape[1]:
        return xp.matmul(b, a.swapaxes(1, 2)).swapaxes(1, 2)
    return xp.matmul(a, b.swapaxes(1, 2))


def _grouped_weight(w, groups: int):
    """Weight (G*A, B, *kernel) as (G, A, B*k); row order (b, *kernel) matches the columns."""
    return w.reshape(groups, w.shape[0] // groups, math.prod(w.shape[1:]))


def _by_group(rows, groups: int):
    """A (G*R, M) matrix as (G, R, M)."""
    return rows.reshape(groups, rows.shape[0] // groups, rows.shape[1])


def _column_matrix(cols, nd: int):
    """Channels-first columns (C, *kernel, N, *out) as the (C*k, N*L) matrix they are."""
    return cols.reshape(math.prod(cols.shape[:1 + nd]), math.prod(cols.shape[1 + nd:]))


class _Geometry:
    """Stride, asymmetric padding, dilation, output padding and groups of one convolution."""

    __slots__ = ("stride", "lo", "hi", "dilation", "output_padding", "groups", "transposed")

    def __init__(self, stride, lo, hi, dilation, output_padding, groups, transposed):
        self.stride, self.lo, self.hi, self.dilation = tuple(stride), tuple(lo), tuple(hi), tuple(dilation)
        self.output_padding, self.groups, self.transposed = tuple(output_padding), groups, transposed

    def conv_out(self, size, kernel):
        return tuple((s + a + b - d * (k - 1) - 1) // st + 1
                     for s, a, b, d, k, st in zip(size, self.lo, self.hi, self.dilation, kernel, self.stride))

    def transposed_full(self, size, kernel):
        """Size of the col2im buffer of a transposed convolution (before the padding is cropped)."""
        return tuple((s - 1) * st + d * (k - 1) + 1 + op
                     for s, st, d, k, op in zip(size, self.stride, self.dilation, kernel, self.output_padding))

    def transposed_out(self, size, kernel):
        full = self.transposed_full(size, kernel)
        return tuple(f - a - b for f, a, b in zip(full, self.lo, self.hi))


def _conv_forward(x, w, b, geo: _Geometry):
    """Direct convolution on arrays: (output (N, O, *out), columns (C, *kernel, N, *out) or None).

    Stride 1 goes by ``_Planes``. Otherwise one GEMM per group over the whole batch,
    ``weight (G, Og, Cg*k) @ columns (G, Cg*k, N*L)``, then one pass that moves the batch axis
    first and adds the bias; the columns are returned for the weight gradient.
    """
    if all(s == 1 for s in geo.stride):
        return _Planes(x.shape, w.shape, geo, x.dtype.itemsize).forward(x, w, b), None
    kernel = w.shape[2:]
    n, g = x.shape[0], geo.groups
    out = geo.conv_out(x.shape[2:], kernel)
    cols = _im2col(x, kernel, geo.stride, geo.dilation, geo.lo, geo.hi, out, channels_first=True, scratch=True)
    res = array_module(x).matmul(_grouped_weight(w, g), _by_group(_column_matrix(cols, len(kernel)), g))
    return _batch_first(res.reshape((w.shape[0], n) + out), b), cols


def _conv_transpose_forward(x, w, b, geo: _Geometry):
    """Transposed convolution on arrays: product to columns (Cout, *kernel, N, *in), then col2im."""
    kernel = w.shape[2:]
    n, g = x.shape[0], geo.groups
    full = geo.transposed_full(x.shape[2:], kernel)
    out = geo.transposed_out(x.shape[2:], kernel)
    wm = _transposed_weight(w, g)  # (G, Cout_g*k, Cin_g)
    cols = array_module(x).matmul(wm, _by_group(_channel_rows(x), g))  # (G, Cout_g*k, N*Lin)
    cols = cols.reshape((w.shape[1] * g,) + tuple(kernel) + (n,) + tuple(x.shape[2:]))
    return _batch_first(_col2im(cols, full, geo.stride, geo.dilation, channels_first=True), b, geo.lo, out)


# ------------------------------------------------------------------------------------------
# The recorded op
# ------------------------------------------------------------------------------------------

class ConvolutionBackward0(Node):
    """Gradients of a (transposed) convolution for input, weight and bias."""

    _cols = None

    def _release(self) -> None:
        super()._release()
        if self._cols is not None:
            _give_back(self._cols)
            self._cols = None

    def apply(self, g):
        x, w = self._saved_tensors()
        if _GradState.enabled:  # create_graph: differentiable convolutions
            return self._apply_graph(g, x, w)
        geo = self._geo
        nx, nw, nb = self._next
        gd = g._data
        if gd.dtype != x._data.dtype:
            gd = gd.astype(x._data.dtype)
        need_x, need_w, need_b = nx is not None, nw is not None, nb is not None
        if geo.transposed:
            gx, gw, gb = self._transposed_arrays(gd, x._data, w._data, need_x, need_w, need_b)
        else:
            gx, gw, gb = self._direct_arrays(gd, x._data, w._data, need_x, need_w, need_b)
        return tuple(None if a is None else _wrap(a) for a in (gx, gw, gb))

    def _direct_arrays(self, gd, x, w, need_x, need_w, need_b):
        geo = self._geo
        if all(s == 1 for s in geo.stride):
            return _Planes(x.shape, w.shape, geo, x.dtype.itemsize).backward(gd, x, w, need_x, need_w, need_b)
        g = geo.groups
        kernel = w.shape[2:]
        xp = array_module(gd)
        gx = gw = gb = None
        gm = _channel_rows(gd)  # (O, N*L), the layout of the forward's product
        if need_b:
            gb = gm.sum(axis=1)
        if need_w:
            cols = self._cols
            if cols is None:
                _, cols = _conv_forward(x, w, None, geo)
            gw = _product_nt(_by_group(gm, g), _by_group(_column_matrix(cols, len(kernel)), g)).reshape(w.shape)
        if need_x:
            wm = _transposed_weight(w, g)  # (G, Cg*k, Og)
            padded = tuple(s + a + b for s, a, b in zip(x.shape[2:], geo.lo, geo.hi))
            spare = _scratch(xp, (g, wm.shape[1], gm.shape[1]), gd.dtype)
            gcols = xp.matmul(wm, _by_group(gm, g), out=spare)
            gcols = gcols.reshape((x.shape[1],) + tuple(kernel) + (x.shape[0],) + tuple(gd.shape[2:]))
            buf = _col2im(gcols, padded, geo.stride, geo.dilation, channels_first=True)
            _give_back(spare)
            gx = _batch_first(buf, None, geo.lo, x.shape[2:])
        return gx, gw, gb

    def _transposed_arrays(self, gd, x, w, need_x, need_w, need_b):
        geo = self._geo
        g = geo.groups
        kernel = w.shape[2:]
        xp = array_module(gd)
        full = geo.transposed_full(x.shape[2:], kernel)
        hi = tuple(f - a - s for f, a, s in zip(full, geo.lo, gd.shape[2:]))
        gx = gw = gb = None
        if need_b:
            gb = gd.sum(axis=(0,) + tuple(range(2, gd.ndim)))
        if not (need_x or need_w):
            return gx, gw, gb
        gcols = _im2col(gd, kernel, geo.stride, geo.dilation, geo.lo, hi, x.shape[2:], channels_first=True)
        gm = _by_group(_column_matrix(gcols, len(kernel)), g)  # (G, Cout_g*k, N*Lin)
        if need_x:
            gx = xp.matmul(_grouped_weight(w, g), gm)  # (G, Cin_g, N*Lin)
            gx = _batch_first(gx.reshape((x.shape[1], x.shape[0]) + tuple(x.shape[2:])))
        if need_w:
            gw = _product_nt(_by_group(_channel_rows(x), g), gm).reshape(w.shape)
        return gx, gw, gb

    def _apply_graph(self, g, x, w):
        geo = self._geo
        nx, nw, nb = self._next
        gx = gw = gb = None
        if nb is not None:
            gb = g.sum(dim=(0,) + tuple(range(2, g.dim())))
        if geo.transposed:
            direct = _Geometry(geo.stride, geo.lo, geo.hi, geo.dilation, (0,) * len(geo.lo), geo.groups, False)
            if nx is not None:
                gx = _convolution(g, w, None, direct)
            if nw is not None:
                gw = _conv_weight_grad(g, x, tuple(w.shape), direct)
        else:
            if nx is not None:
                produced = geo.transposed_out(g.shape[2:], w.shape[2:])
                extra = tuple(s - p for s, p in zip(x.shape[2:], produced))
                tgeo = _Geometry(geo.stride, geo.lo, geo.hi, geo.dilation, extra, geo.groups, True)
                gx = _convolution(g, w, None, tgeo)
            if nw is not None:
                gw = _conv_weight_grad(x, g, tuple(w.shape), geo)
        return gx, gw, gb


def _conv_weight_grad(x: Tensor, g: Tensor, wshape, geo: _Geometry) -> Tensor:
    """dL/dweight of a direct convolution, as a differentiable convolution of x with g.

    x (N, G*Cg, *in) and g (N, G*Og, *out) become input (Cg, G*N, *in) and weight
    (G*Og, N, *out); the stride and dilation swap roles.
    """
    n = x.shape[0]
    groups = geo.groups
    cg = x.shape[1] // groups
    og = g.shape[1] // groups
    nd = x.dim() - 2
    spatial = tuple(range(3, nd + 3))
    xin = x.reshape((n, groups, cg) + tuple(x.shape[2:])).permute((2, 1, 0) + spatial)
    xin = xin.reshape((cg, groups * n) + tuple(x.shape[2:]))
    gk = g.reshape((n, groups, og) + tuple(g.shape[2:])).permute((1, 2, 0) + spatial)
    gk = gk.reshape((groups * og, n) + tuple(g.shape[2:]))
    wgeo = _Geometry(geo.dilation, geo.lo, geo.hi, geo.stride, (0,) * nd, groups, False)
    res = _convolution(xin, gk, None, wgeo)  # (Cg, O, *>=k)
    crop = (slice(None), slice(None)) + tuple(slice(0, k) for k in wshape[2:])
    return res[crop].transpose(0, 1)


def _convolution(x: Tensor, w: Tensor, b, geo: _Geometry) -> Tensor:
    """The recorded (transposed) convolution of batched ``x``; no argument checks."""
    xd, wd = x._data, w._data
    bd = None if b is None else b._data
    record = _GradState.enabled and (x._requires_grad or w._requires_grad or (b is not None and b._requires_grad))
    if geo.transposed:
        res, cols = _conv_transpose_forward(xd, wd, bd, geo), None
    else:
        res, cols = _conv_forward(xd, wd, bd, geo)
    if not record:
        return _wrap(res)
    node = ConvolutionBackward0()
    node._next = (edge(x), edge(w), edge(b) if b is not None else None)
    node._save(x, w)
    node._geo = geo
    if w._requires_grad and cols is not None:
        node._cols = cols  # the weight gradient reuses the forward's column matrix
    return _make(res, node)


# ------------------------------------------------------------------------------------------
# Argument handling and PyTorch's checks
# ------------------------------------------------------------------------------------------

def _ntuple(value, n: int, name: str):
    if isinstance(value, (list, tuple)):
        vals = tuple(int(v) for v in value)
        if len(vals) == 1:
            return vals * n
        if len(vals) != n:
            raise RuntimeError(f"expected {name} to be a single integer value or a list of {n} values to match "
                               f"the convolution dimensions, but got {name}={list(vals)}")
        return vals
    return (int(value),) * n


def _shape_str(shape) -> str:
    return "[" + ", ".join(str(s) for s in shape) + "]"


def _check_input_dim(input: Tensor, nd: int, name: str) -> bool:
    """True when ``input`` is unbatched; raises PyTorch's error for a wrong rank."""
    dim = input.dim()
    if dim not in (nd + 1, nd + 2):
        raise RuntimeError(f"Expected {nd + 1}D (unbatched) or {nd + 2}D (batched) input to {name}, but got input "
                           f"of size: {_shape_str(input.shape)}")
    return dim == nd + 1


def _resolve_padding(padding, nd: int, kernel, dilation, stride):
    """(lo, hi) per spatial dim for an int/tuple or 'same'/'valid' padding."""
    if isinstance(padding, str):
        if padding == "valid":
            return (0,) * nd, (0,) * nd
        if padding != "same":
            raise RuntimeError(f"Invalid padding string: '{padding}'")
        if any(s != 1 for s in stride):
            raise RuntimeError("padding='same' is not supported for strided convolutions")
        total = tuple(d * (k - 1) for d, k in zip(dilation, kernel))
        lo = tuple(t // 2 for t in total)
        return lo, tuple(t - a for t, a in zip(total, lo))
    pad = _ntuple(padding, nd, "padding")
    return pad, pad


def _check_dtypes(x: Tensor, w: Tensor, b, transposed: bool = False) -> None:
    from ._util import _scalar_type_name
    from .linalg import _cpp_name
    if x._data.dtype != w._data.dtype:
        raise RuntimeError(f"expected scalar type {_scalar_type_name(x._data.dtype)} but found "
                           f"{_scalar_type_name(w._data.dtype)}")
    if b is not None and b._data.dtype != x._data.dtype:
        if transposed:
            raise RuntimeError(f"expected scalar type {_scalar_type_name(x._data.dtype)} but found "
                               f"{_scalar_type_name(b._data.dtype)}")
        raise RuntimeError(f"Input type ({_cpp_name(x._data)}) and bias type ({_cpp_name(b._data)}) should be the "
                           "same")
    if x._data.dtype.kind not in "fV":
        raise RuntimeError(f'"slow_conv2d_cpu" not implemented for \'{_scalar_type_name(x._data.dtype)}\'')


def _conv_nd(input, weight, bias, stride, padding, dilation, groups, nd: int, name: str) -> Tensor:
    unbatched = _check_input_dim(input, nd, name)
    if weight.dim() != nd + 2:
        raise RuntimeError(f"expected stride to be a single integer value or a list of {weight.dim() - 2} values "
                           f"to match the convolution dimensions, but got stride={list(_ntuple(stride, nd, 's'))}")
    stride = _ntuple(stride, nd, "stride")
    dilation = _ntuple(dilation, nd, "dilation")
    kernel = tuple(weight.shape[2:])
    lo, hi = _resolve_padding(padding, nd, kernel, dilation, stride)
    _check_geometry(stride, lo, dilation, groups)
    x_shape = (1,) + tuple(input.shape) if unbatched else tuple(input.shape)
    wshape = tuple(weight.shape)
    if wshape[0] % groups:
        raise RuntimeError(f"Given groups={groups}, expected weight to be divisible by {groups} at dimension 0, but "
                           f"got weight of size [{_shape_str(wshape)}] instead")
    if x_shape[1] != wshape[1] * groups:
        raise RuntimeError(f"Given groups={groups}, weight of size {_shape_str(wshape)}, expected input"
                           f"{_shape_str(x_shape)} to have {wshape[1] * groups} channels, but got {x_shape[1]} "
                           "channels instead")
    _check_bias(bias, wshape, wshape[0])
    padded = tuple(s + a + b for s, a, b in zip(x_shape[2:], lo, hi))
    effective = tuple(d * (k - 1) + 1 for d, k in zip(dilation, kernel))
    if any(p < e for p, e in zip(padded, effective)):
        raise RuntimeError(f"Calculated padded input size per channel: ({' x '.join(map(str, padded))}). Kernel "
                           f"size: ({' x '.join(map(str, effective))}). Kernel size can't be greater than actual "
                           "input size")
    _check_dtypes(input, weight, bias)
    x = input.unsqueeze(0) if unbatched else input
    out = _convolution(x, weight, bias, _Geometry(stride, lo, hi, dilation, (0,) * nd, groups, False))
    return out.squeeze(0) if unbatched else out


def _check_geometry(stride, padding, dilation, groups) -> None:
    if any(s <= 0 for s in stride):
        raise RuntimeError("non-positive stride is not supported")
    if any(p < 0 for p in padding):
        raise RuntimeError("negative padding is not supported")
    if any(d <= 0 for d in dilation):
        raise RuntimeError("non-positive dilation is not supported")
    if groups <= 0:
        raise RuntimeError("non-positive groups is not supported")


def _check_bias(bias, wshape, channels: int) -> None:
    if bias is not None and (bias.dim() != 1 or bias.shape[0] != channels):
        raise RuntimeError(f"Given weight of size {_shape_str(wshape)}, expected bias to be 1-dimensional with "
                           f"{channels} elements, but got bias of size {_shape_str(bias.shape)} instead")


def _axis_names(nd: int):
    return {1: ("width",), 2: ("height", "width"), 3: ("depth", "height", "width")}[nd]


def _conv_transpose_nd(input, weight, bias, stride, padding, output_padding, groups, dilation, nd: int,
                       name: str) -> Tensor:
    if isinstance(padding, str):
        raise TypeError(f"{name}(): argument 'padding' must be tuple of ints, not str")
    unbatched = _check_input_dim(input, nd, name)
    if weight.dim() != nd + 2:
        raise RuntimeError(f"expected stride to be a single integer value or a list of {weight.dim() - 2} values "
                           f"to match the convolution dimensions, but got stride={list(_ntuple(stride, nd, 's'))}")
    stride = _ntuple(stride, nd, "stride")
    dilation = _ntuple(dilation, nd, "dilation")
    pad = _ntuple(padding, nd, "padding")
    output_padding = _ntuple(output_padding, nd, "output_padding")
    _check_geometry(stride, pad, dilation, groups)
    x_shape = (1,) + tuple(input.shape) if unbatched else tuple(input.shape)
    wshape = tuple(weight.shape)
    if wshape[0] % groups:
        raise RuntimeError(f"Given groups={groups}, expected weight to be divisible by {groups} at dimension 0, but "
                           f"got weight of size [{_shape_str(wshape)}] instead")
    if x_shape[1] != wshape[0]:
        raise RuntimeError(f"Given transposed=1, weight of size {_shape_str(wshape)}, expected input"
                           f"{_shape_str(x_shape)} to have {wshape[0]} channels, but got {x_shape[1]} channels "
                           "instead")
    _check_bias(bias, wshape, wshape[1] * groups)
    if any(op >= s and op >= d for op, s, d in zip(output_padding, stride, dilation)):
        names = _axis_names(nd)
        parts = [f"output_padding_{a}: {v}" for a, v in zip(names, output_padding)]
        parts += [f"stride_{a}: {v}" for a, v in zip(names, stride)]
        parts += [f"dilation_{a}: {v}" for a, v in zip(names, dilation)]
        raise RuntimeError("output padding must be smaller than either stride or dilation, but got " +
                           " ".join(parts))
    geo = _Geometry(stride, pad, pad, dilation, output_padding, groups, True)
    out = geo.transposed_out(x_shape[2:], wshape[2:])
    if any(o <= 0 for o in out):
        raise RuntimeError(f"Given input size per channel: ({' x '.join(map(str, x_shape[2:]))}). Calculated "
                           f"output size per channel: ({' x '.join(map(str, out))}). Output size is too small")
    if nd < 3 and bias is not None and bias.is_floating_point() and bias.dtype != input.dtype:
        bias = bias.to(input.dtype)  # NOTE: PyTorch casts the bias of 1-D/2-D transposed convs (not 3-D)
    _check_dtypes(input, weight, bias, transposed=True)
    x = input.unsqueeze(0) if unbatched else input
    res = _convolution(x, weight, bias, geo)
    return res.squeeze(0) if unbatched else res


# ------------------------------------------------------------------------------------------
# Public functions
# ------------------------------------------------------------------------------------------

def conv1d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride=1, padding=0, dilation=1,
           groups: int = 1) -> Tensor:
    """1-D cross-correlation over (N, C, L) or unbatched (C, L) input (``torch.nn.functional.conv1d``)."""
    return _conv_nd(input, weight, bias, stride, padding, dilation, groups, 1, "conv1d")


def conv2d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride=1, padding=0, dilation=1,
           groups: int = 1) -> Tensor:
    """2-D cross-correlation over (N, C, H, W) or (C, H, W) input (``torch.nn.functional.conv2d``)."""
    return _conv_nd(input, weight, bias, stride, padding, dilation, groups, 2, "conv2d")


def conv3d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride=1, padding=0, dilation=1,
           groups: int = 1) -> Tensor:
    """3-D cross-correlation over (N, C, D, H, W) or (C, D, H, W) input (``torch.nn.functional.conv3d``)."""
    return _conv_nd(input, weight, bias, stride, padding, dilation, groups, 3, "conv3d")


def conv_transpose1d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride=1, padding=0,
                     output_padding=0, groups: int = 1, dilation=1) -> Tensor:
    """1-D transposed convolution, weight (Cin, Cout/groups, k) (``torch.nn.functional.conv_transpose1d``)."""
    return _conv_transpose_nd(input, weight, bias, stride, padding, output_padding, groups, dilation, 1,
                              "conv_transpose1d")


def conv_transpose2d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride=1, padding=0,
                     output_padding=0, groups: int = 1, dilation=1) -> Tensor:
    """2-D transposed convolution (``torch.nn.functional.conv_transpose2d``)."""
    return _conv_transpose_nd(input, weight, bias, stride, padding, output_padding, groups, dilation, 2,
                              "conv_transpose2d")


def conv_transpose3d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride=1, padding=0,
                     output_padding=0, groups: int = 1, dilation=1) -> Tensor:
    """3-D transposed convolution (``torch.nn.functional.conv_transpose3d``)."""
    return _conv_transpose_nd(input, weight, bias, stride, padding, output_padding, groups, dilation, 3,
                              "conv_transpose3d")


# ------------------------------------------------------------------------------------------
# unfold (im2col) and fold (col2im): each one's backward is the other
# ------------------------------------------------------------------------------------------

class Im2ColBackward0(Node):
    def apply(self, g):
        return (_fold(g, self._size, self._kernel, self._dilation, self._padding, self._stride),)


class Col2ImBackward0(Node):
    def apply(self, g):
        return (_unfold(g, self._kernel, self._dilation, self._padding, self._stride),)


def _unfold(x: Tensor, kernel, dilation, padding, stride) -> Tensor:
    """(N, C, H, W) -> (N, C*kh*kw, L) columns in PyTorch's (c, i, j) row order."""
    d = x._data
    out = _Geometry(stride, padding, padding, dilation, (0, 0), 1, False).conv_out(d.shape[2:], kernel)
    cols = _im2col(d, kernel, stride, dilation, padding, padding, out)
    res = cols.reshape(d.shape[0], -1, out[0] * out[1])
    if _GradState.enabled and x._requires_grad:
        node = Im2ColBackward0()
        node._next = (edge(x),)
        node._size, node._kernel, node._dilation = tuple(d.shape[2:]), kernel, dilation
        node._padding, node._stride = padding, stride
        return _make(res, node)
    return _wrap(res)


def _fold(cols: Tensor, size, kernel, dilation, padding, stride) -> Tensor:
    """Adjoint of _unfold: sum (N, C*kh*kw, L) columns into (N, C, *size)."""
    d = cols._data
    n = d.shape[0]
    geo = _Geometry(stride, padding, padding, dilation, (0, 0), 1, False)
    out = geo.conv_out(size, kernel)
    c = d.shape[1] // (kernel[0] * kernel[1])
    blocks = d.reshape((n, c) + tuple(kernel) + tuple(out))
    padded = tuple(s + 2 * p for s, p in zip(size, padding))
    res = _cropped(_col2im(blocks, padded, stride, dilation), padding, size)
    if _GradState.enabled and cols._requires_grad:
        node = Col2ImBackward0()
        node._next = (edge(cols),)
        node._kernel, node._dilation, node._padding, node._stride = kernel, dilation, padding, stride
        return _make(res, node)
    return _wrap(res)


def _pair_args(kernel_size, dilation, padding, stride):
    kernel = _ntuple(kernel_size, 2, "kernel_size")
    dilation = _ntuple(dilation, 2, "dilation")
    padding = _ntuple(padding, 2, "padding")
    stride = _ntuple(stride, 2, "stride")
    for name, vals, low in (("kernel", kernel, 1), ("stride", stride, 1), ("dilation", dilation, 1),
                            ("padding", padding, 0)):
        if vals[0] < low or vals[1] < low:
            what = "greater than zero" if low else "non-negative"
            raise RuntimeError(f"{name} should be {what}, but got {name}_height: {vals[0]} {name}_width: {vals[1]}")
    return kernel, dilation, padding, stride


def unfold(input: Tensor, kernel_size, dilation=1, padding=0, stride=1) -> Tensor:
    """Extract sliding local blocks (im2col) from (N, C, H, W) or (C, H, W) (``torch.nn.functional.unfold``)."""
    kernel, dilation, padding, stride = _pair_args(kernel_size, dilation, padding, stride)
    if input.dim() not in (3, 4):
        raise RuntimeError("Expected 3D or 4D (batch mode) tensor with possibly 0 batch size and other non-zero "
                           f"dimensions for input, but got: {_shape_str(input.shape)}")
    unbatched = input.dim() == 3
    x = input.unsqueeze(0) if unbatched else input
    size = tuple(x.shape[2:])
    geo = _Geometry(stride, padding, padding, dilation, (0, 0), 1, False)
    out = geo.conv_out(size, kernel)
    if out[0] < 1 or out[1] < 1:
        raise RuntimeError(f"Given input with spatial size {size}, kernel_size={kernel}, dilation={dilation}, "
                           f"padding={padding}, calculated shape of the array of sliding blocks as {out}, but its "
                           "components must be at least one.")
    res = _unfold(x, kernel, dilation, padding, stride)
    return res.squeeze(0) if unbatched else res


def fold(input: Tensor, output_size, kernel_size, dilation=1, padding=0, stride=1) -> Tensor:
    """Sum sliding blocks (N, C*kh*kw, L) into (N, C, *output_size) (col2im; ``torch.nn.functional.fold``)."""
    size = _ntuple(output_size, 2, "output_size")
    kernel, dilation, padding, stride = _pair_args(kernel_size, dilation, padding, stride)
    if input.dim() not in (2, 3):
        raise RuntimeError("Expected 2D or 3D (batch mode) tensor for input with possibly 0 batch size and non-zero "
                           f"dimensions for input, but got: {_shape_str(input.shape)}")
    unbatched = input.dim() == 2
    x = input.unsqueeze(0) if unbatched else input
    kk = kernel[0] * kernel[1]
    if x.shape[1] % kk:
        raise RuntimeError("Expected size of input's dimension 1 to be divisible by the product of kernel_size, "
                           f"but got input.size(1)={x.shape[1]} and kernel_size={kernel}.")
    out = _Geometry(stride, padding, padding, dilation, (0, 0), 1, False).conv_out(size, kernel)
    if out[0] * out[1] != x.shape[2]:
        raise RuntimeError(f"Given output_size={size}, kernel_size={kernel}, dilation={dilation}, padding={padding}, "
                           f"stride={stride}, expected size of input's dimension 2 to match the calculated number of "
                           f"sliding blocks {out[0]} * {out[1]} = {out[0] * out[1]}, but got input.size(2)="
                           f"{x.shape[2]}.")
    res = _fold(x, size, kernel, dilation, padding, stride)
    return res.squeeze(0) if unbatched else res
