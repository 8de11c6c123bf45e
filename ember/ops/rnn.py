"""Fused recurrent layers: one graph node per layer and direction, backprop through time on arrays.

``rnn_layer`` runs one direction of one layer of an RNN/LSTM/GRU over a time-major packed
input: ``x`` holds the rows of every time step one after another (``batch_sizes[t]`` rows
for step ``t``, non-increasing), which covers both padded batches (every step has B rows)
and ``PackedSequence`` data. The input projection of all steps is one matmul; each step is
one matmul with the recurrent weights plus a few in-place array calls. The whole loop is
one graph node whose backward runs BPTT on arrays. When a graph of the backward pass is
wanted (``create_graph=True``) the node recomputes the layer with ember ops and
differentiates that instead, so higher-order gradients stay correct.
"""
from __future__ import annotations

from .._backend import array_module
from ..autograd.graph import OutputSlot, PackedGrad
from ._util import Node, edge, _GradState, _wrap, _make

TENSOR_METHODS = {}
__all__ = []

def _steps(batch_sizes, reverse: bool):
    """(first row, rows) of each time step, in the order the layer processes them."""
    steps = []
    start = 0
    for b in batch_sizes:
        steps.append((start, int(b)))
        start += int(b)
    return steps[::-1] if reverse else steps


# ------------------------------------------------------------------------------------------
# LSTM on arrays. Internally the gates are ordered i, f, o, g so that one tanh call covers
# them all: sigmoid(x) = 0.5 * tanh(x / 2) + 0.5, with the 1/2 folded into the weights.
# ------------------------------------------------------------------------------------------

def _lstm_perm(xp, hidden: int):
    """Row order i, f, o, g of PyTorch's i, f, g, o weights."""
    h = hidden
    return xp.concatenate([xp.arange(0, 2 * h), xp.arange(3 * h, 4 * h), xp.arange(2 * h, 3 * h)])


def _half_scale(xp, rows: int, n_sigmoid: int, dtype):
    scale = xp.ones(rows, dtype=dtype)
    scale[:n_sigmoid] = 0.5
    return scale


def _lstm_forward(xd, steps, h0, c0, w_ih, w_hh, bias, w_hr):
    """Returns out, h_n, c_n and the arrays backward needs (w_* in i, f, o, g order)."""
    xp = array_module(xd)
    H = w_ih.shape[0] // 4
    scale = _half_scale(xp, 4 * H, 3 * H, xd.dtype)
    gates = xd @ (w_ih * scale[:, None]).T
    if bias is not None:
        gates += bias * scale
    w_hh_t = xp.ascontiguousarray((w_hh * scale[:, None]).T)  # BLAS is faster on a contiguous operand
    w_hr_t = w_hr.T if w_hr is not None else None
    N, P = xd.shape[0], h0.shape[1]
    hprev, cprev, tanhc = xp.empty((N, P), xd.dtype), xp.empty((N, H), xd.dtype), xp.empty((N, H), xd.dtype)
    hh_all = xp.empty((N, H), xd.dtype) if w_hr is not None else None
    out = xp.empty((N, P), xd.dtype)
    recurrent = xp.empty((h0.shape[0], 4 * H), xd.dtype)
    h, c = h0.copy(), c0.copy()
    for s, b in steps:
        e = s + b
        hp = hprev[s:e]
        hp[...] = h[:b]
        g = gates[s:e]
        g += xp.matmul(hp, w_hh_t, out=recurrent[:b])
        xp.tanh(g, out=g)
        sig = g[:, :3 * H]
        sig *= 0.5
        sig += 0.5
        cp = cprev[s:e]
        cp[...] = c[:b]
        cn = c[:b]
        xp.multiply(g[:, H:2 * H], cp, out=cn)
        cn += g[:, :H] * g[:, 3 * H:]
        tc = tanhc[s:e]
        xp.tanh(cn, out=tc)
        if w_hr is None:
            xp.multiply(g[:, 2 * H:3 * H], tc, out=out[s:e])
        else:
            hh = hh_all[s:e]
            xp.multiply(g[:, 2 * H:3 * H], tc, out=hh)
            xp.matmul(hh, w_hr_t, out=out[s:e])
        h[:b] = out[s:e]
    return out, h, c, (gates, hprev, cprev, tanhc, hh_all)


def _lstm_backward(saved, steps, xd, w_ih, w_hh, w_hr, dout, dh, dc, need_x: bool = True):
    """Gradients (dx, dh0, dc0, dW_ih, dW_hh, dbias, dW_hr) in the internal gate order.

    Every gate's local derivative is computed for all steps at once before the loop, so
    each step only scales them by the incoming gradient: a handful of array calls per step.
    """
    xp = array_module(xd)
    acts, hprev, cprev, tanhc, hh_all = saved
    H = w_ih.shape[0] // 4
    n = acts.shape[0]
    i, f, o, g = (acts[:, k * H:(k + 1) * H] for k in range(4))
    # d gates = coef * dc for i, f, g and coef * dh for o (gate order i, f, o, g)
    coef = xp.empty((n, 4, H), acts.dtype)
    dsig = 1.0 - acts[:, :3 * H]
    dsig *= acts[:, :3 * H]  # sigmoid'(z) = s (1 - s)
    xp.multiply(dsig[:, :H], g, out=coef[:, 0])
    xp.multiply(dsig[:, H:2 * H], cprev, out=coef[:, 1])
    xp.multiply(dsig[:, 2 * H:], tanhc, out=coef[:, 2])
    xp.multiply(g, g, out=coef[:, 3])
    xp.subtract(1.0, coef[:, 3], out=coef[:, 3])
    coef[:, 3] *= i  # tanh'(z) = 1 - t^2
    through_c = 1.0 - tanhc * tanhc  # dh -> dc through h = o tanh(c)
    through_c *= o
    dgates = xp.empty((n, 4, H), acts.dtype)
    dh_all = xp.empty(hprev.shape, acts.dtype) if w_hr is not None else None
    scratch = xp.empty(dc.shape, acts.dtype)
    w_hh_g = w_hh.reshape(4, H, -1)
    for s, b in reversed(steps):
        e = s + b
        dht = dh[:b]
        if dout is not None:
            dht += dout[s:e]
        if w_hr is not None:
            dh_all[s:e] = dht
            dhh = dht @ w_hr
        else:
            dhh = dht
        dct = dc[:b]
        tmp = scratch[:b]
        xp.multiply(through_c[s:e], dhh, out=tmp)
        dct += tmp
        d = dgates[s:e]
        xp.multiply(coef[s:e, 0], dct, out=d[:, 0])  # NOTE: one broadcast multiply for i, f is slower than two
        xp.multiply(coef[s:e, 1], dct, out=d[:, 1])
        xp.multiply(coef[s:e, 2], dhh, out=d[:, 2])
        xp.multiply(coef[s:e, 3], dct, out=d[:, 3])
        dct *= f[s:e]
        xp.matmul(d.reshape(b, 4 * H), w_hh_g.reshape(4 * H, -1), out=dh[:b])
    dgates = dgates.reshape(n, 4 * H)
    dw_hr = dh_all.T @ hh_all if w_hr is not None else None
    dx = dgates @ w_ih if need_x else None
    return (dx, dh, dc, dgates.T @ xd, dgates.T @ hprev, dgates.sum(0), dw_hr)


# ------------------------------------------------------------------------------------------
# GRU on arrays (gates r, z, n; the reset gate multiplies W_hn h + b_hn, as in PyTorch)
# ------------------------------------------------------------------------------------------

def _gru_forward(xd, steps, h0, w_ih, w_hh, b_ih, b_hh):
    xp = array_module(xd)
    H = w_ih.shape[0] // 3
    scale = _half_scale(xp, 3 * H, 2 * H, xd.dtype)
    gates = xd @ (w_ih * scale[:, None]).T
    if b_ih is not None:
        gates += b_ih * scale
        gates[:, :2 * H] += b_hh[:2 * H] * 0.5
    b_hn = b_hh[2 * H:] if b_hh is not None else None
    w_hh_t = xp.ascontiguousarray((w_hh * scale[:, None]).T)  # BLAS is faster on a contiguous operand
    N = xd.shape[0]
    hprev, hn_all, out = (xp.empty((N, H), xd.dtype) for _ in range(3))
    h = h0.copy()
    for s, b in steps:
        e = s + b
        hp = hprev[s:e]
        hp[...] = h[:b]
        hg = hp @ w_hh_t
        g = gates[s:e]
        rz = g[:, :2 * H]
        rz += hg[:, :2 * H]
        xp.tanh(rz, out=rz)
        rz *= 0.5
        rz += 0.5
        hn = hn_all[s:e]
        if b_hn is not None:
            xp.add(hg[:, 2 * H:], b_hn, out=hn)
        else:
            hn[...] = hg[:, 2 * H:]
        n = g[:, 2 * H:]
        n += g[:, :H] * hn
        xp.tanh(n, out=n)
        o = out[s:e]
        xp.subtract(hp, n, out=o)
        o *= g[:, H:2 * H]
        o += n
        h[:b] = o
    return out, h, (gates, hprev, hn_all)


def _gru_backward(saved, steps, xd, w_ih, w_hh, dout, dh, need_x: bool = True):
    xp = array_module(xd)
    acts, hprev, hn_all = saved
    H = w_ih.shape[0] // 3
    dx_gates = xp.empty(acts.shape, acts.dtype)
    dh_gates = xp.empty(acts.shape, acts.dtype)
    for s, b in reversed(steps):
        e = s + b
        dht = dh[:b]
        if dout is not None:
            dht += dout[s:e]
        a = acts[s:e]
        r, z, n = a[:, :H], a[:, H:2 * H], a[:, 2 * H:]
        dn = dx_gates[s:e, 2 * H:]
        xp.multiply(dht, 1.0 - z, out=dn)
        dn *= 1.0 - n * n
        dhg = dh_gates[s:e]
        dr = dhg[:, :H]
        xp.multiply(dn, hn_all[s:e], out=dr)
        dr *= r - r * r
        dz = dhg[:, H:2 * H]
        xp.subtract(hprev[s:e], n, out=dz)
        dz *= dht
        dz *= z - z * z
        xp.multiply(dn, r, out=dhg[:, 2 * H:])
        dht *= z
        dht += dhg @ w_hh
    dx_gates[:, :2 * H] = dh_gates[:, :2 * H]
    dx = dx_gates @ w_ih if need_x else None
    return (dx, dh, dx_gates.T @ xd, dh_gates.T @ hprev, dx_gates.sum(0), dh_gates.sum(0))


# ------------------------------------------------------------------------------------------
# Elman RNN on arrays
# ------------------------------------------------------------------------------------------

def _simple_forward(xd, steps, h0, w_ih, w_hh, bias, relu: bool):
    xp = array_module(xd)
    acts = xd @ w_ih.T
    if bias is not None:
        acts += bias
    w_hh_t = w_hh.T
    hprev = xp.empty((xd.shape[0], w_hh.shape[1]), xd.dtype)
    h = h0.copy()
    for s, b in steps:
        e = s + b
        hp = hprev[s:e]
        hp[...] = h[:b]
        g = acts[s:e]
        g += hp @ w_hh_t
        if relu:
            xp.maximum(g, 0, out=g)
        else:
            xp.tanh(g, out=g)
        h[:b] = g
    return acts.copy(), h, (acts, hprev)


def _simple_backward(saved, steps, xd, w_ih, w_hh, dout, dh, relu: bool, need_x: bool = True):
    xp = array_module(xd)
    acts, hprev = saved
    dacts = xp.empty(acts.shape, acts.dtype)
    for s, b in reversed(steps):
        e = s + b
        dht = dh[:b]
        if dout is not None:
            dht += dout[s:e]
        a = acts[s:e]
        d = dacts[s:e]
        if relu:
            xp.multiply(dht, a > 0, out=d)
        else:
            xp.multiply(dht, 1.0 - a * a, out=d)
        dh[:b] = d @ w_hh
    db = dacts.sum(0)
    return (dacts @ w_ih if need_x else None), dh, dacts.T @ xd, dacts.T @ hprev, db, db


# ------------------------------------------------------------------------------------------
# The graph node
# ------------------------------------------------------------------------------------------

class _RnnLayerBackward(Node):
    """One layer and direction of a recurrent net: outputs (out, h_n, c_n)."""

    _cache = None

    def apply(self, grad):
        grads = list(grad.grads) if type(grad) is PackedGrad else [grad]
        grads += [None] * (3 - len(grads))
        if _GradState.enabled:
            return _differentiable_backward(self, grads)
        return _array_backward(self, self._saved_tensors(), grads)

    def _release(self) -> None:
        super()._release()
        self._cache = None


class MkldnnRnnLayerBackward0(_RnnLayerBackward):
    """LSTM layer (PyTorch's CPU LSTM shows this grad_fn name)."""


class GruLayerBackward0(_RnnLayerBackward):
    pass


class RnnTanhLayerBackward0(_RnnLayerBackward):
    pass


class RnnReluLayerBackward0(_RnnLayerBackward):
    pass


_NODES = {"LSTM": MkldnnRnnLayerBackward0, "GRU": GruLayerBackward0, "RNN_TANH": RnnTanhLayerBackward0,
          "RNN_RELU": RnnReluLayerBackward0}


def _data(t):
    return t._data if t is not None else None


def _forward_arrays(mode, xd, steps, h0, c0, w_ih, w_hh, b_ih, b_hh, w_hr):
    """(out, h_n, c_n or None, saved arrays) with weights in PyTorch's gate order."""
    if mode == "LSTM":
        perm = _lstm_perm(array_module(xd), w_ih.shape[0] // 4)
        bias = (b_ih + b_hh)[perm] if b_ih is not None else None
        return _lstm_forward(xd, steps, h0, c0, w_ih[perm], w_hh[perm], bias, w_hr)
    if mode == "GRU":
        out, h, saved = _gru_forward(xd, steps, h0, w_ih, w_hh, b_ih, b_hh)
        return out, h, None, saved
    bias = b_ih + b_hh if b_ih is not None else None
    out, h, saved = _simple_forward(xd, steps, h0, w_ih, w_hh, bias, mode == "RNN_RELU")
    return out, h, None, saved


def _array_backward(node, saved_tensors, grads):
    """BPTT on arrays: one gradient per input of the node (None where none is needed)."""
    x, h0, c0, w_ih, w_hh, b_ih, b_hh, w_hr = saved_tensors
    xd = x._data
    xp = array_module(xd)
    dout, dhn, dcn = grads
    dout = _data(dout)
    dh = dhn._data.copy() if dhn is not None else xp.zeros(h0._data.shape, xd.dtype)
    mode, steps, saved = node._mode, node._steps, node._cache
    need_x = node._next[0] is not None  # no input gradient: skip its (N, 4H) x (4H, I) product
    if mode == "LSTM":
        perm = _lstm_perm(xp, w_ih._data.shape[0] // 4)
        dc = dcn._data.copy() if dcn is not None else xp.zeros(c0._data.shape, xd.dtype)
        dx, dh0, dc0, dw_ih, dw_hh, db, dw_hr = _lstm_backward(
            saved, steps, xd, w_ih._data[perm], w_hh._data[perm], _data(w_hr), dout, dh, dc, need_x)
        dw_ih, dw_hh, db = _unpermute(dw_ih, perm), _unpermute(dw_hh, perm), _unpermute(db, perm)
        result = (dx, dh0, dc0, dw_ih, dw_hh, db, db, dw_hr)
    elif mode == "GRU":
        dx, dh0, dw_ih, dw_hh, db_ih, db_hh = _gru_backward(saved, steps, xd, w_ih._data, w_hh._data, dout, dh, need_x)
        result = (dx, dh0, None, dw_ih, dw_hh, db_ih, db_hh, None)
    else:
        dx, dh0, dw_ih, dw_hh, db_ih, db_hh = _simple_backward(saved, steps, xd, w_ih._data, w_hh._data, dout, dh,
                                                               mode == "RNN_RELU", need_x)
        result = (dx, dh0, None, dw_ih, dw_hh, db_ih, db_hh.copy(), None)
    return tuple(_wrap(g) if (g is not None and nxt is not None) else None for g, nxt in zip(result, node._next))


def _unpermute(arr, perm):
    out = array_module(arr).empty_like(arr)
    out[perm] = arr
    return out


def _differentiable_backward(node, grads):
    """create_graph: recompute the layer with ember ops and differentiate that graph."""
    from .. import autograd
    saved = node._saved_tensors()
    # Fresh aliases make each input its own target in the inner backward, so paths between inputs
    # (h0 computed from x, say) are not mixed into each other's gradient.
    aliases = [t.view_as(t) if (t is not None and nxt is not None) else t for t, nxt in zip(saved, node._next)]
    outs = reference_layer(node._mode, aliases[0], node._batch_sizes, *aliases[1:], reverse=node._reverse)
    pairs = [(o, g) for o, g in zip(outs, grads) if o is not None and g is not None]
    wanted = [a for a, nxt in zip(aliases, node._next) if nxt is not None]
    found = autograd.grad([o for o, _ in pairs], wanted, [g for _, g in pairs], create_graph=True,
                          allow_unused=True)
    found = iter(found)
    return tuple(next(found) if nxt is not None else None for nxt in node._next)


def rnn_layer(mode: str, x, batch_sizes, h0, c0, w_ih, w_hh, b_ih, b_hh, w_hr=None, reverse: bool = False):
    """One direction of one recurrent layer over time-major packed rows ``x`` (N, input_size).

    Returns (out (N, P), h_n (B, P), c_n (B, H) or None); B = batch_sizes[0].
    """
    inputs = (x, h0, c0, w_ih, w_hh, b_ih, b_hh, w_hr)
    steps = _steps(batch_sizes, reverse)
    out, h, c, saved = _forward_arrays(mode, x._data, steps, _data(h0), _data(c0), w_ih._data, w_hh._data,
                                       _data(b_ih), _data(b_hh), _data(w_hr))
    if not (_GradState.enabled and any(t is not None and t._requires_grad for t in inputs)):
        return _wrap(out), _wrap(h), (_wrap(c) if c is not None else None)
    node = _NODES[mode]()
    node._next = tuple(edge(t) if t is not None else None for t in inputs)
    node._save(*inputs)
    node._mode, node._steps, node._cache = mode, steps, saved
    node._batch_sizes, node._reverse = tuple(batch_sizes), reverse
    n_out = 3 if c is not None else 2
    results = [_make(out, OutputSlot(node, 0, n_out)), _make(h, OutputSlot(node, 1, n_out))]
    results.append(_make(c, OutputSlot(node, 2, n_out)) if c is not None else None)
    return tuple(results)


# ------------------------------------------------------------------------------------------
# The same computation with ember ops (for double backward)
# ------------------------------------------------------------------------------------------

def _cell_step(mode, gates_x, h, c, w_hh, b_hh, w_hr):
    """One time step from the projected input ``gates_x``; returns (h', c')."""
    from .linalg import matmul
    gates_h = matmul(h, w_hh.t())
    if b_hh is not None:
        gates_h = gates_h + b_hh
    if mode == "LSTM":
        i, f, g, o = (gates_x + gates_h).chunk(4, 1)
        c_new = f.sigmoid() * c + i.sigmoid() * g.tanh()
        h_new = o.sigmoid() * c_new.tanh()
        if w_hr is not None:
            h_new = matmul(h_new, w_hr.t())
        return h_new, c_new
    if mode == "GRU":
        xr, xz, xn = gates_x.chunk(3, 1)
        hr, hz, hn = gates_h.chunk(3, 1)
        r, z = (xr + hr).sigmoid(), (xz + hz).sigmoid()
        n = (xn + r * hn).tanh()
        return n + z * (h - n), None
    pre = gates_x + gates_h
    return (pre.relu() if mode == "RNN_RELU" else pre.tanh()), None


def reference_layer(mode, x, batch_sizes, h0, c0, w_ih, w_hh, b_ih, b_hh, w_hr=None, reverse: bool = False):
    """``rnn_layer`` written step by step with ember ops (differentiable any number of times)."""
    from .linalg import matmul
    from .shape import cat
    gates_x = matmul(x, w_ih.t())
    if b_ih is not None:
        gates_x = gates_x + b_ih
    h, c = h0, c0
    outs = {}
    for s, b in _steps(batch_sizes, reverse):
        h_new, c_new = _cell_step(mode, gates_x[s:s + b], h[:b], c[:b] if c is not None else None, w_hh, b_hh,
                                  w_hr)
        outs[s] = h_new
        h = cat([h_new, h[b:]]) if b < h.shape[0] else h_new
        if c is not None:
            c = cat([c_new, c[b:]]) if b < c.shape[0] else c_new
    out = cat([outs[s] for s in sorted(outs)])
    return out, h, c
