"""Scaled dot-product attention as one fused op: batched matmuls, a stable softmax, one backward node.

The forward saves the attention probabilities; the backward is the closed-form softmax-attention
gradient (dV = P^T dO, dP = dO V^T, dS = P * (dP - rowsum(dP * P)), dQ = dS K s, dK = dS^T Q s),
on arrays when no graph of the backward is recorded and with ember ops otherwise, so that
``create_graph=True`` gives higher-order gradients.
"""
from __future__ import annotations

import math
import warnings

import numpy as np

from .. import _dtype as D
from .._backend import array_module
from ._util import Tensor, Node, edge, _GradState, _wrap, _make, sum_to, _scalar_type_name
from .linalg import _broadcast_batch, _cpp_name, _numel


# ------------------------------------------------------------------------------------------
# Argument checks (PyTorch's messages)
# ------------------------------------------------------------------------------------------

def _check_inputs(query: Tensor, key: Tensor, value: Tensor, attn_mask, dropout_p: float,
                  is_causal: bool) -> None:
    q, k, v = query._data, key._data, value._data
    if not q.dtype == k.dtype == v.dtype:
        raise RuntimeError("Expected query, key, and value to have the same dtype, but got query.dtype: "
                           f"{_cpp_name(q)} key.dtype: {_cpp_name(k)} and value.dtype: {_cpp_name(v)} instead.")
    if q.ndim < 2 or k.ndim < 2 or v.ndim < 2:
        raise RuntimeError("Expected query, key, and value to all be  at least 2 dimensional, but got query.dim: "
                           f"{q.ndim} key.dim: {k.ndim} and value.dim: {v.ndim} instead.")
    if attn_mask is not None:
        md = attn_mask._data.dtype
        if md.kind != "b" and md != np.float32 and md != q.dtype:
            raise RuntimeError("Expected attn_mask dtype to be bool or float or to match query dtype, but got "
                               f"attn_mask.dtype: {_cpp_name(attn_mask._data)} and  query.dtype: {_cpp_name(q)} "
                               "instead.")
        if is_causal:
            raise RuntimeError("_scaled_dot_product_attention: Explicit attn_mask should not be set when "
                               "is_causal=True")
    if dropout_p > 1.0:
        raise RuntimeError(f"dropout probability has to be between 0 and 1, but got {dropout_p}")
    if q.dtype.kind not in "fV":
        raise RuntimeError(f"expected scalar type Float but found {_scalar_type_name(q.dtype)}")


def _gqa_repeats(q, k, v) -> int:
    """How many query heads share one key/value head (``enable_gqa``); heads are dim -3."""
    if q.ndim < 3 or k.ndim < 3 or v.ndim < 3:
        raise IndexError(f"Dimension out of range (expected to be in range of [-{min(q.ndim, k.ndim, v.ndim)}, "
                         f"{min(q.ndim, k.ndim, v.ndim) - 1}], but got -3)")
    hq, hk, hv = q.shape[-3], k.shape[-3], v.shape[-3]
    if hq % hk or hq % hv:
        # NOTE: PyTorch's message really ends mid-sentence
        raise RuntimeError("Number of heads in key and value must divide the number of heads in ")
    if hk != hv:
        raise RuntimeError(f"The size of tensor a ({hk}) must match the size of tensor b ({hv}) at non-singleton "
                           "dimension 1")
    return hq // hk


def _check_bmm(batch_a, batch_b, inner: int, rows_b: int) -> None:
    """PyTorch runs both products as bmm over the broadcast batch; same message on a size mismatch."""
    count = _numel(_broadcast_batch(batch_a, batch_b))
    if inner != rows_b:
        raise RuntimeError(f"Expected size for first two dimensions of batch2 tensor to be: [{count}, {inner}] but "
                           f"got: [{count}, {rows_b}].")


# ------------------------------------------------------------------------------------------
# Array kernels
# ------------------------------------------------------------------------------------------

def _repeat_heads(arr, rep: int):
    return arr if rep == 1 else array_module(arr).repeat(arr, rep, axis=-3)


def _sum_groups(arr, rep: int):
    """Undo ``_repeat_heads``: each key/value head receives the sum over the query heads that used it."""
    if rep == 1:
        return arr
    shape = arr.shape
    return arr.reshape(shape[:-3] + (shape[-3] // rep, rep) + shape[-2:]).sum(axis=-3)


def _causal_mask(xp, length: int, source: int):
    """Top-left aligned lower triangle: query i attends keys 0..i (PyTorch's is_causal)."""
    return xp.tril(xp.ones((length, source), dtype=bool))


_CAUSAL_BIAS: dict = {}


def _causal_bias(xp, length: int, source: int, dtype):
    """0 where query i may attend key j (j <= i), -inf elsewhere; cached per shape (read-only)."""
    cache_key = (xp.__name__, length, source, np.dtype(dtype).str)
    bias = _CAUSAL_BIAS.get(cache_key)
    if bias is None:
        bias = xp.where(_causal_mask(xp, length, source), 0.0, -np.inf).astype(dtype)
        if len(_CAUSAL_BIAS) > 64:
            _CAUSAL_BIAS.clear()
        _CAUSAL_BIAS[cache_key] = bias
    return bias


def _safe_softmax_(scores, xp, may_be_empty: bool):
    """Softmax over the last axis in place; rows with every score -inf give 0 (PyTorch's _safe_softmax)."""
    top = scores.max(axis=-1, keepdims=True) if scores.shape[-1] else xp.zeros(scores.shape[:-1] + (1,),
                                                                             scores.dtype)
    if may_be_empty:
        top[xp.isneginf(top)] = 0
    scores -= top
    xp.exp(scores, out=scores)
    total = scores.sum(axis=-1, keepdims=True)
    if may_be_empty:
        total[total == 0] = 1
    scores /= total
    return scores


def _work_dtype(dtype):
    """2-byte floats are computed in float32, as PyTorch's CPU kernels accumulate them."""
    return np.dtype(np.float32) if dtype.itemsize == 2 else dtype


# ------------------------------------------------------------------------------------------
# The op
# ------------------------------------------------------------------------------------------

class ScaledDotProductFlashAttentionForCpuBackward0(Node):
    """Gradients of softmax(Q K^T s + mask) V for query, key, value and a float mask."""

    def apply(self, g):
        query, key, value, mask, probs, keep = self._saved_tensors()
        if not _GradState.enabled:  # NOTE: no graph of the backward is recorded: array math only
            grads = self._array_grads(g._data, query._data, key._data, value._data, probs._data,
                                      keep._data if keep is not None else None)
            return tuple(None if gr is None else self._finish(_wrap(gr), i) for i, gr in enumerate(grads))
        grads = self._tensor_grads(g, query, key, value, mask, probs, keep)
        return tuple(None if gr is None else self._finish(gr, i) for i, gr in enumerate(grads))

    def _finish(self, grad: Tensor, i: int) -> Tensor:
        """Sum a gradient down to its input's shape and cast it to the input's dtype."""
        shape, dtype = self._shapes[i], self._dtypes[i]
        if grad._data.shape != shape:
            grad = sum_to(grad, shape)
        if grad._data.dtype != dtype:
            grad = grad.to(D._FROM_NP[dtype])
        return grad

    def _array_grads(self, g, q, k, v, probs, keep):
        work = probs.dtype
        g, q, k, v = (a.astype(work, copy=False) for a in (g, q, k, v))
        need_q, need_k, need_v, need_mask = (n is not None for n in self._next)
        k, v = _repeat_heads(k, self._rep), _repeat_heads(v, self._rep)
        dv = dq = dk = None
        if need_v:
            weights = probs * keep if keep is not None else probs
            dv = _sum_groups(weights.swapaxes(-1, -2) @ g, self._rep)
        if not (need_q or need_k or need_mask):
            return None, None, dv, None
        dp = g @ v.swapaxes(-1, -2)
        if keep is not None:
            dp *= keep
        ds = dp
        ds -= (dp * probs).sum(axis=-1, keepdims=True)
        ds *= probs
        dmask = ds if need_mask else None
        if need_q:
            dq = (ds @ k) * self._scale
        if need_k:
            dk = _sum_groups((ds.swapaxes(-1, -2) @ q) * self._scale, self._rep)
        return dq, dk, dv, dmask

    def _tensor_grads(self, g, query, key, value, mask, probs, keep):
        """The same formulas with ember ops on a differentiable recomputation of the probabilities."""
        work = D._FROM_NP[probs._data.dtype]
        q, k, v = query.to(work), key.to(work), value.to(work)
        g = g.to(work)
        k, v = _repeat_heads_tensor(k, self._rep), _repeat_heads_tensor(v, self._rep)
        p = self._recompute_probs(q, k, mask, probs)
        weights = p * keep if keep is not None else p
        dv = _sum_groups_tensor(weights.mT @ g, self._rep)
        dp = g @ v.mT
        if keep is not None:
            dp = dp * keep
        ds = p * (dp - (dp * p).sum(-1, keepdim=True))
        dq = (ds @ k) * self._scale
        dk = _sum_groups_tensor((ds.mT @ q) * self._scale, self._rep)
        need = tuple(n is not None for n in self._next)
        return tuple(gr if n else None for gr, n in zip((dq, dk, dv, ds), need))

    def _recompute_probs(self, q, k, mask, probs):
        from .elementwise import where
        from .nn import softmax
        scores = (q @ k.mT) * self._scale
        xp = array_module(probs._data)
        if self._causal:
            scores = where(_wrap(_causal_mask(xp, scores.shape[-2], scores.shape[-1])), scores, float("-inf"))
        elif mask is not None and mask._data.dtype.kind == "b":
            scores = where(mask, scores, float("-inf"))
        elif mask is not None:
            scores = scores + mask
        # rows with nothing to attend to: softmax a row of zeros, then zero it (no NaN in the graph)
        empty = probs._data.sum(axis=-1, keepdims=True) == 0
        if empty.any():
            scores = where(_wrap(empty), 0.0, scores)
            return softmax(scores, -1) * _wrap((~empty).astype(probs._data.dtype))
        return softmax(scores, -1)


def _repeat_heads_tensor(t: Tensor, rep: int) -> Tensor:
    if rep == 1:
        return t
    shape = tuple(t.shape)
    expanded = t.unsqueeze(-3).expand(shape[:-2] + (rep,) + shape[-2:])
    return expanded.reshape(shape[:-3] + (shape[-3] * rep,) + shape[-2:])


def _sum_groups_tensor(t: Tensor, rep: int) -> Tensor:
    if rep == 1:
        return t
    shape = tuple(t.shape)
    return t.reshape(shape[:-3] + (shape[-3] // rep, rep) + shape[-2:]).sum(-3)


def _attention_scores(q, k, mask, is_causal: bool, scale: float, xp):
    """Q K^T * scale with the mask applied: False / -inf entries cannot be attended to."""
    _check_bmm(q.shape[:-2], k.shape[:-2], q.shape[-1], k.shape[-1])
    # scaling q (L x E) is cheaper than scaling the scores (L x S)
    scores = (q * scale) @ k.swapaxes(-1, -2)
    if is_causal:
        scores += _causal_bias(xp, q.shape[-2], k.shape[-2], scores.dtype)
    elif mask is not None:
        shape = mask.shape if mask.shape == scores.shape else _broadcast_batch(scores.shape, mask.shape)
        if mask.dtype.kind == "b":
            scores = xp.where(mask, scores, -np.inf)
        elif shape == scores.shape:
            scores += mask
        else:
            scores = scores + mask
    return scores


def _dropout_keep(shape, dropout_p: float, dtype, device, xp):
    """A scaled keep mask (0 or 1 / (1 - p)) from ember's random stream."""
    if dropout_p >= 1.0:
        return xp.zeros(shape, dtype=dtype)
    from ..random import default_generator
    rng = default_generator._xp_rng(device)
    draw = rng.random(shape, dtype=np.float64 if dtype == np.float64 else np.float32)
    keep = (draw >= dropout_p).astype(dtype)
    keep *= 1.0 / (1.0 - dropout_p)
    return keep


def scaled_dot_product_attention(query: Tensor, key: Tensor, value: Tensor, attn_mask: Tensor | None = None,
                                 dropout_p: float = 0.0, is_causal: bool = False, scale: float | None = None,
                                 enable_gqa: bool = False) -> Tensor:
    """softmax(Q K^T * scale + mask) V (``F.scaled_dot_product_attention``, PyTorch's CPU results).

    Rows where every key is masked give 0, as PyTorch's CPU path does; dropout uses ember's random stream.
    """
    _check_inputs(query, key, value, attn_mask, dropout_p, is_causal)
    qd, kd, vd = query._data, key._data, value._data
    rep = _gqa_repeats(qd, kd, vd) if enable_gqa else 1
    xp = array_module(qd)
    work = _work_dtype(qd.dtype)
    q = qd.astype(work, copy=False)
    k = _repeat_heads(kd.astype(work, copy=False), rep)
    v = _repeat_heads(vd.astype(work, copy=False), rep)
    mask = None
    if attn_mask is not None:
        mask = attn_mask._data
        if mask.dtype.kind != "b":
            mask = mask.astype(work, copy=False)
    scale_factor = 1.0 / math.sqrt(q.shape[-1]) if scale is None else scale
    with np.errstate(invalid="ignore", over="ignore", divide="ignore"):
        scores = _attention_scores(q, k, mask, is_causal, scale_factor, xp)
        probs = _safe_softmax_(scores, xp, mask is not None or is_causal)
    keep = None
    if dropout_p > 0.0:
        keep = _dropout_keep(probs.shape, dropout_p, probs.dtype, query.device, xp)
    _check_bmm(probs.shape[:-2], v.shape[:-2], probs.shape[-1], v.shape[-2])
    out = (probs * keep if keep is not None else probs) @ v
    if out.dtype != qd.dtype:
        out = out.astype(qd.dtype)
    mask_grad = attn_mask is not None and attn_mask._requires_grad
    if _GradState.enabled and (query._requires_grad or key._requires_grad or value._requires_grad or mask_grad):
        return _record(out, query, key, value, attn_mask, probs, keep, scale_factor, rep, is_causal)
    return _wrap(out)


def _record(out, query, key, value, attn_mask, probs, keep, scale, rep, is_causal) -> Tensor:
    node = ScaledDotProductFlashAttentionForCpuBackward0()
    float_mask = attn_mask if attn_mask is not None and attn_mask._data.dtype.kind != "b" else None
    node._next = (edge(query), edge(key), edge(value), edge(float_mask) if float_mask is not None else None)
    inputs = (query, key, value, attn_mask)
    node._shapes = tuple(t._data.shape if t is not None else None for t in inputs)
    node._dtypes = tuple(t._data.dtype if t is not None else None for t in inputs)
    node._save(query, key, value, attn_mask, _wrap(probs), _wrap(keep) if keep is not None else None)
    node._scale, node._rep, node._causal = scale, rep, is_causal
    return _make(out, node)



# ------------------------------------------------------------------------------------------
# multi_head_attention_forward (what nn.MultiheadAttention runs)
# ------------------------------------------------------------------------------------------

def _linear(x: Tensor, weight: Tensor, bias: Tensor | None) -> Tensor:
    """``x @ weight.T + bias`` as one (add)mm over the flattened leading dims (``F.linear``)."""
    from .linalg import addmm, mm
    lead = tuple(x.shape[:-1])
    flat = x.reshape(_numel(lead), x.shape[-1])
    if flat.shape[1] != weight.shape[1]:
        raise RuntimeError(f"mat1 and mat2 shapes cannot be multiplied ({flat.shape[0]}x{flat.shape[1]} and "
                           f"{weight.shape[1]}x{weight.shape[0]})")
    out = addmm(bias, flat, weight.t()) if bias is not None else mm(flat, weight.t())
    return out.reshape(*lead, weight.shape[0])


def _mha_shape_check(query, key, value, key_padding_mask, attn_mask, num_heads: int) -> bool:
    """Whether the call is batched; PyTorch's AssertionErrors for inconsistent ranks."""
    qd, kd, vd = query.dim(), key.dim(), value.dim()
    if qd == 3:
        if kd != 3 or vd != 3:
            raise AssertionError("For batched (3-D) `query`, expected `key` and `value` to be 3-D but found "
                                 f"{kd}-D and {vd}-D tensors respectively")
        if key_padding_mask is not None and key_padding_mask.dim() != 2:
            raise AssertionError("For batched (3-D) `query`, expected `key_padding_mask` to be `None` or 2-D but "
                                 f"found {key_padding_mask.dim()}-D tensor instead")
        if attn_mask is not None and attn_mask.dim() not in (2, 3):
            raise AssertionError("For batched (3-D) `query`, expected `attn_mask` to be `None`, 2-D or 3-D but "
                                 f"found {attn_mask.dim()}-D tensor instead")
        return True
    if qd == 2:
        if kd != 2 or vd != 2:
            raise AssertionError("For unbatched (2-D) `query`, expected `key` and `value` to be 2-D but found "
                                 f"{kd}-D and {vd}-D tensors respectively")
        if key_padding_mask is not None and key_padding_mask.dim() != 1:
            raise AssertionError("For unbatched (2-D) `query`, expected `key_padding_mask` to be `None` or 1-D but "
                                 f"found {key_padding_mask.dim()}-D tensor instead")
        if attn_mask is not None:
            if attn_mask.dim() not in (2, 3):
                raise AssertionError("For unbatched (2-D) `query`, expected `attn_mask` to be `None`, 2-D or 3-D "
                                     f"but found {attn_mask.dim()}-D tensor instead")
            expected = (num_heads, query.shape[0], key.shape[0])
            if attn_mask.dim() == 3 and tuple(attn_mask.shape) != expected:
                raise AssertionError(f"Expected `attn_mask` shape to be {expected} but got {attn_mask.shape}")
        return False
    raise AssertionError(f"query should be unbatched 2D or batched 3D tensor but received {qd}-D query tensor")


def _canonical_mask(mask, name: str, target_dtype):
    """A bool mask (True = masked out) becomes a float mask of 0 / -inf; float masks pass through."""
    if mask is None:
        return None
    if mask._data.dtype.kind == "b":
        from .._factory import zeros_like
        return zeros_like(mask, dtype=target_dtype).masked_fill_(mask, float("-inf"))
    if mask._data.dtype.kind not in "fV":
        raise AssertionError(f"only bool and floating types of {name} are supported")
    return mask


def _check_mha_dims(query, key, value, embed_dim_to_check: int, num_heads: int,
                    use_separate_proj_weight: bool) -> None:
    embed_dim = query.shape[2]
    if embed_dim != embed_dim_to_check:
        raise AssertionError(f"was expecting embedding dimension of {embed_dim_to_check}, but got {embed_dim}")
    if (embed_dim // num_heads) * num_heads != embed_dim:
        raise AssertionError(f"embed_dim {embed_dim} not divisible by num_heads {num_heads}")
    if use_separate_proj_weight:
        if tuple(key.shape[:2]) != tuple(value.shape[:2]):
            raise AssertionError(f"key's sequence and batch dims {key.shape[:2]} do not match value's "
                                 f"{value.shape[:2]}")
    elif tuple(key.shape) != tuple(value.shape):
        raise AssertionError(f"key shape {key.shape} does not match value shape {value.shape}")


def _in_projection(query, key, value, in_proj_weight, in_proj_bias, use_separate_proj_weight,
                   q_proj_weight, k_proj_weight, v_proj_weight):
    """q, k, v = x W^T + b with the packed (3E, E) weight or three separate ones."""
    if not use_separate_proj_weight:
        if in_proj_weight is None:
            raise AssertionError("use_separate_proj_weight is False but in_proj_weight is None")
        if query is key and key is value:  # self-attention: one matmul for all three
            qkv = _linear(query, in_proj_weight, in_proj_bias)
            return qkv.chunk(3, dim=-1)
        w_q, w_k, w_v = in_proj_weight.chunk(3)
    else:
        for name, w in (("q", q_proj_weight), ("k", k_proj_weight), ("v", v_proj_weight)):
            if w is None:
                raise AssertionError(f"use_separate_proj_weight is True but {name}_proj_weight is None")
        w_q, w_k, w_v = q_proj_weight, k_proj_weight, v_proj_weight
    b_q = b_k = b_v = None
    if in_proj_bias is not None:
        b_q, b_k, b_v = in_proj_bias.chunk(3)
    return _linear(query, w_q, b_q), _linear(key, w_k, b_k), _linear(value, w_v, b_v)


def _pad_last(mask):
    """Append one unmasked (0) column, for bias_k / add_zero_attn's extra key."""
    if mask is None:
        return None
    from .shape import cat
    from .._factory import zeros
    return cat([mask, zeros(*mask.shape[:-1], 1, dtype=mask.dtype, device=mask.device)], dim=-1)


def _check_attn_mask(attn_mask, tgt_len: int, src_len: int, bsz: int, num_heads: int):
    if attn_mask.dim() == 2:
        if tuple(attn_mask.shape) != (tgt_len, src_len):
            raise RuntimeError(f"The shape of the 2D attn_mask is {attn_mask.shape}, but should be "
                               f"{(tgt_len, src_len)}.")
        return attn_mask.unsqueeze(0)
    if attn_mask.dim() == 3:
        if tuple(attn_mask.shape) != (bsz * num_heads, tgt_len, src_len):
            raise RuntimeError(f"The shape of the 3D attn_mask is {attn_mask.shape}, but should be "
                               f"{(bsz * num_heads, tgt_len, src_len)}.")
        return attn_mask
    raise RuntimeError(f"attn_mask's dimension {attn_mask.dim()} is not supported")


def _heads(x: Tensor, length: int, batch_heads: int, head_dim: int) -> Tensor:
    """(length, N, E) -> (N * heads, length, head_dim)."""
    return x.reshape(length, batch_heads, head_dim).transpose(0, 1)


def multi_head_attention_forward(query: Tensor, key: Tensor, value: Tensor, embed_dim_to_check: int,
                                 num_heads: int, in_proj_weight, in_proj_bias, bias_k, bias_v,
                                 add_zero_attn: bool, dropout_p: float, out_proj_weight: Tensor,
                                 out_proj_bias, training: bool = True, key_padding_mask=None,
                                 need_weights: bool = True, attn_mask=None, use_separate_proj_weight: bool = False,
                                 q_proj_weight=None, k_proj_weight=None, v_proj_weight=None, static_k=None,
                                 static_v=None, average_attn_weights: bool = True, is_causal: bool = False):
    """Multi-head attention on (L, N, E) inputs (``F.multi_head_attention_forward``, PyTorch's math path).

    Returns ``(attn_output, attn_weights or None)``; bool masks mark positions NOT to attend.
    """
    from .shape import cat
    from .linalg import bmm, baddbmm
    from .nn import softmax
    from .._factory import zeros
    is_batched = _mha_shape_check(query, key, value, key_padding_mask, attn_mask, num_heads)
    if not is_batched:
        query, key, value = query.unsqueeze(1), key.unsqueeze(1), value.unsqueeze(1)
        if key_padding_mask is not None:
            key_padding_mask = key_padding_mask.unsqueeze(0)
    tgt_len, bsz, embed_dim = query.shape
    src_len = key.shape[0]
    if key_padding_mask is not None and attn_mask is not None and key_padding_mask.dtype != attn_mask.dtype:
        warnings.warn("Support for mismatched key_padding_mask and attn_mask is deprecated. Use same type for both "
                      "instead.", stacklevel=3)
    key_padding_mask = _canonical_mask(key_padding_mask, "key_padding_mask", query.dtype)
    if is_causal and attn_mask is None:
        raise RuntimeError("Need attn_mask if specifying the is_causal hint. You may use the Transformer module "
                           "method `generate_square_subsequent_mask` to create this mask.")
    if is_causal and key_padding_mask is None and not need_weights:
        attn_mask = None  # SDPA builds the causal mask itself
    else:
        attn_mask = _canonical_mask(attn_mask, "attn_mask", query.dtype)
        if key_padding_mask is not None:
            is_causal = False
    _check_mha_dims(query, key, value, embed_dim_to_check, num_heads, use_separate_proj_weight)
    head_dim = embed_dim // num_heads
    q, k, v = _in_projection(query, key, value, in_proj_weight, in_proj_bias, use_separate_proj_weight,
                             q_proj_weight, k_proj_weight, v_proj_weight)
    if attn_mask is not None:
        attn_mask = _check_attn_mask(attn_mask, tgt_len, src_len, bsz, num_heads)
    if bias_k is not None and bias_v is not None:
        k = cat([k, bias_k.repeat(1, bsz, 1)])
        v = cat([v, bias_v.repeat(1, bsz, 1)])
        attn_mask, key_padding_mask = _pad_last(attn_mask), _pad_last(key_padding_mask)
    batch_heads = bsz * num_heads
    q = _heads(q, tgt_len, batch_heads, head_dim)
    k = _heads(k, k.shape[0], batch_heads, head_dim) if static_k is None else static_k
    v = _heads(v, v.shape[0], batch_heads, head_dim) if static_v is None else static_v
    if add_zero_attn:
        k = cat([k, zeros(batch_heads, 1, head_dim, dtype=k.dtype, device=k.device)], dim=1)
        v = cat([v, zeros(batch_heads, 1, head_dim, dtype=v.dtype, device=v.device)], dim=1)
        attn_mask, key_padding_mask = _pad_last(attn_mask), _pad_last(key_padding_mask)
    src_len = k.shape[1]
    if key_padding_mask is not None:
        if tuple(key_padding_mask.shape) != (bsz, src_len):
            raise AssertionError(f"expecting key_padding_mask shape of {(bsz, src_len)}, but got "
                                 f"{key_padding_mask.shape}")
        padding = key_padding_mask.reshape(bsz, 1, 1, src_len).expand(-1, num_heads, -1, -1)
        padding = padding.reshape(batch_heads, 1, src_len)
        attn_mask = padding if attn_mask is None else attn_mask + padding
    if not training:
        dropout_p = 0.0
    if need_weights:
        # explicit softmax: rows with every key masked give NaN, as in PyTorch
        q_scaled = q * math.sqrt(1.0 / head_dim)
        if attn_mask is not None:
            weights = baddbmm(attn_mask, q_scaled, k.transpose(-2, -1))
        else:
            weights = bmm(q_scaled, k.transpose(-2, -1))
        weights = softmax(weights, -1)
        if dropout_p > 0.0:
            weights = weights * _wrap(_dropout_keep(tuple(weights.shape), dropout_p, weights._data.dtype,
                                                    weights.device, array_module(weights._data)))
        out = bmm(weights, v)
        out = out.transpose(0, 1).reshape(tgt_len * bsz, embed_dim)
        out = _linear(out, out_proj_weight, out_proj_bias).reshape(tgt_len, bsz, -1)
        weights = weights.reshape(bsz, num_heads, tgt_len, src_len)
        if average_attn_weights:
            weights = weights.mean(dim=1)
        if not is_batched:
            out, weights = out.squeeze(1), weights.squeeze(0)
        return out, weights
    if attn_mask is not None:
        if attn_mask.shape[0] == 1:
            attn_mask = attn_mask.unsqueeze(0)
        else:
            attn_mask = attn_mask.reshape(bsz, num_heads, -1, src_len)
    q = q.reshape(bsz, num_heads, tgt_len, head_dim)
    k = k.reshape(bsz, num_heads, src_len, head_dim)
    v = v.reshape(bsz, num_heads, src_len, head_dim)
    out = scaled_dot_product_attention(q, k, v, attn_mask, dropout_p, is_causal)
    out = out.permute(2, 0, 1, 3).reshape(bsz * tgt_len, embed_dim)
    out = _linear(out, out_proj_weight, out_proj_bias).reshape(tgt_len, bsz, -1)
    if not is_batched:
        out = out.squeeze(1)
    return out, None


TENSOR_METHODS: dict = {}

__all__: list = []
