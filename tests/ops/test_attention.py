"""F.scaled_dot_product_attention against PyTorch: values, masks, GQA, dropout, gradients, errors."""
import numpy as np
import pytest

import ember
from tests.helpers import check, rand, noncontiguous, gradcheck

torch = pytest.importorskip("torch")


def _sdpa(T):
    return (ember.nn.functional if T is ember else torch.nn.functional).scaled_dot_product_attention


def _t(T, arr):
    return ember.tensor(arr) if T is ember else torch.tensor(arr)


@pytest.mark.parametrize("qs,ks,vs", [
    ((3, 4), (5, 4), (5, 6)),
    ((2, 3, 4), (2, 5, 4), (2, 5, 6)),
    ((2, 3, 1, 8), (2, 3, 7, 8), (2, 3, 7, 2)),
    ((2, 3, 4), (1, 5, 4), (5, 6)),          # broadcast batch dims
    ((2, 2, 3, 4), (2, 5, 4), (2, 5, 6)),
    ((2, 0, 3, 4), (2, 0, 5, 4), (2, 0, 5, 6)),  # size-0 batch
    ((2, 0, 4), (2, 5, 4), (2, 5, 6)),        # no queries
])
def test_values_and_grads(qs, ks, vs):
    check(lambda T, q, k, v: _sdpa(T)(q, k, v), rand(*qs), rand(*ks), rand(*vs))


def test_float32_and_scale_and_noncontiguous():
    check(lambda T, q, k, v: _sdpa(T)(q, k, v, scale=0.3), rand(2, 4, 8, dtype=np.float32),
          rand(2, 6, 8, dtype=np.float32), rand(2, 6, 3, dtype=np.float32), atol=1e-5, grad_atol=1e-5)
    check(lambda T, q, k, v: _sdpa(T)(q.transpose(0, 1), k, v.mT),
          noncontiguous(rand(4, 2, 8)), rand(2, 6, 8), noncontiguous(rand(2, 3, 6)))


@pytest.mark.parametrize("L,S", [(4, 4), (5, 3), (3, 6)])
def test_causal(L, S):
    check(lambda T, q, k, v: _sdpa(T)(q, k, v, is_causal=True), rand(2, 2, L, 4), rand(2, 2, S, 4),
          rand(2, 2, S, 3))


@pytest.mark.parametrize("mask_shape", [(3, 5), (2, 1, 3, 5), (1, 5), (2, 2, 3, 5)])
def test_bool_mask(mask_shape):
    mask = rand(*mask_shape, dtype=bool)
    mask[..., 0] = True
    check(lambda T, q, k, v: _sdpa(T)(q, k, v, attn_mask=_t(T, mask)), rand(2, 2, 3, 4), rand(2, 2, 5, 4),
          rand(2, 2, 5, 6))


def test_fully_masked_rows_give_zero():
    mask = rand(3, 5, dtype=bool)
    mask[1] = False
    out = check(lambda T, q, k, v: _sdpa(T)(q, k, v, attn_mask=_t(T, mask)), rand(2, 3, 4), rand(2, 5, 4),
                rand(2, 5, 6))
    assert not np.any(out.detach().numpy()[:, 1])
    fmask = np.zeros((3, 5))
    fmask[2] = -np.inf
    fmask[0, :2] = -np.inf
    check(lambda T, q, k, v: _sdpa(T)(q, k, v, attn_mask=_t(T, fmask)), rand(2, 3, 4), rand(2, 5, 4),
          rand(2, 5, 6))


@pytest.mark.parametrize("mask_shape", [(3, 5), (2, 1, 3, 5)])
def test_float_mask_with_grad(mask_shape):
    check(lambda T, q, k, v, m: _sdpa(T)(q, k, v, attn_mask=m), rand(2, 2, 3, 4), rand(2, 2, 5, 4),
          rand(2, 2, 5, 6), rand(*mask_shape))


def test_float32_mask_on_float64_and_half():
    mask = rand(3, 5, dtype=np.float32)
    check(lambda T, q, k, v, m: _sdpa(T)(q, k, v, attn_mask=m), rand(2, 3, 4), rand(2, 5, 4), rand(2, 5, 6), mask)
    check(lambda T, q, k, v: _sdpa(T)(q, k, v, attn_mask=_t(T, mask)), rand(2, 3, 4, dtype=np.float16),
          rand(2, 5, 4, dtype=np.float16), rand(2, 5, 6, dtype=np.float16), atol=2e-3, rtol=2e-3, grad_atol=1e-2)


@pytest.mark.parametrize("hq,hk", [(4, 2), (4, 1), (3, 3)])
def test_gqa(hq, hk):
    check(lambda T, q, k, v: _sdpa(T)(q, k, v, enable_gqa=True, is_causal=True), rand(2, hq, 3, 4),
          rand(2, hk, 5, 4), rand(2, hk, 5, 6))


def test_dropout_uses_ember_rng_and_scales():
    q, k, v = (ember.tensor(rand(2, 3, 4, 8), requires_grad=True) for _ in range(3))
    ember.manual_seed(0)
    a = ember.nn.functional.scaled_dot_product_attention(q, k, v, dropout_p=0.5)
    ember.manual_seed(0)
    b = ember.nn.functional.scaled_dot_product_attention(q, k, v, dropout_p=0.5)
    np.testing.assert_array_equal(a.detach().numpy(), b.detach().numpy())
    full = ember.nn.functional.scaled_dot_product_attention(q, k, v)
    assert not np.allclose(a.detach().numpy(), full.detach().numpy())
    zero = ember.nn.functional.scaled_dot_product_attention(q, k, v, dropout_p=1.0)
    assert not np.any(zero.detach().numpy())


def test_dropout_gradcheck():
    def fn(q, k, v):
        ember.manual_seed(3)
        return ember.nn.functional.scaled_dot_product_attention(q, k, v, dropout_p=0.3)
    gradcheck(fn, rand(2, 3, 4), rand(2, 5, 4), rand(2, 5, 3), gradgrad=True)


def test_gradcheck():
    sdpa = ember.nn.functional.scaled_dot_product_attention
    gradcheck(lambda q, k, v: sdpa(q, k, v), rand(2, 3, 4), rand(2, 5, 4), rand(2, 5, 3), gradgrad=True)
    mask = ember.tensor(np.array([[True, False, True], [False, False, False]]))
    gradcheck(lambda q, k, v: sdpa(q, k, v, attn_mask=mask), rand(2, 2, 4), rand(2, 3, 4), rand(2, 3, 3),
              gradgrad=True)
    gradcheck(lambda q, k, v, m: sdpa(q, k, v, attn_mask=m, scale=0.7), rand(2, 3, 4), rand(2, 5, 4),
              rand(2, 5, 3), rand(3, 5), gradgrad=True)
    gradcheck(lambda q, k, v: sdpa(q, k, v, is_causal=True, enable_gqa=True), rand(1, 4, 3, 2),
              rand(1, 2, 3, 2), rand(1, 2, 3, 2), gradgrad=True)


def test_grad_fn_and_no_graph():
    q = ember.tensor(rand(2, 3, 4), requires_grad=True)
    k, v = ember.tensor(rand(2, 5, 4)), ember.tensor(rand(2, 5, 6))
    out = ember.nn.functional.scaled_dot_product_attention(q, k, v)
    assert out.grad_fn.name() == "ScaledDotProductFlashAttentionForCpuBackward0"
    out.sum().backward()
    assert q.grad is not None and k.grad is None
    with ember.no_grad():
        assert ember.nn.functional.scaled_dot_product_attention(q, k, v).grad_fn is None


def _raises(exc, match, *args, **kwargs):
    for T in (ember, torch):
        with pytest.raises(exc, match=match):
            _sdpa(T)(*[_t(T, a) if isinstance(a, np.ndarray) else a for a in args],
                     **{n: _t(T, a) if isinstance(a, np.ndarray) else a for n, a in kwargs.items()})


def test_errors():
    q, k, v = rand(2, 3, 4, dtype=np.float32), rand(2, 5, 4, dtype=np.float32), rand(2, 5, 6, dtype=np.float32)
    _raises(RuntimeError, r"same dtype, but got query.dtype: float key.dtype: double and value.dtype: float",
            q, k.astype(np.float64), v)
    _raises(RuntimeError, r"at least 2 dimensional, but got query.dim: 1 key.dim: 1 and value.dim: 1",
            q[0, 0], k[0, 0], v[0, 0])
    _raises(RuntimeError, r"bool or float or to match query dtype, but got attn_mask.dtype: long int and  "
            r"query.dtype: float", q, k, v, attn_mask=np.ones((3, 5), dtype=np.int64))
    _raises(RuntimeError, r"attn_mask.dtype: double and  query.dtype: float", q, k, v,
            attn_mask=np.ones((3, 5)))
    _raises(RuntimeError, r"Explicit attn_mask should not be set when is_causal=True", q, k, v,
            attn_mask=np.ones((3, 5), dtype=bool), is_causal=True)
    _raises(RuntimeError, r"batch2 tensor to be: \[2, 4\] but got: \[2, 3\]", q, k[:, :, :3], v)
    _raises(RuntimeError, r"batch2 tensor to be: \[2, 4\] but got: \[2, 5\]", q, k[:, :4], v)
    _raises(RuntimeError, r"The size of tensor a \(3\) must match the size of tensor b \(4\)", q, k, v,
            attn_mask=np.ones((4, 5), dtype=np.float32))
    _raises(RuntimeError, r"dropout probability has to be between 0 and 1, but got 1.5", q, k, v, dropout_p=1.5)
    _raises(RuntimeError, r"expected scalar type Float but found Long", q.astype(np.int64), k.astype(np.int64),
            v.astype(np.int64))
    q4, k4 = rand(2, 4, 3, 8, dtype=np.float32), rand(2, 3, 5, 8, dtype=np.float32)
    _raises(RuntimeError, r"Number of heads in key and value must divide the number of heads in", q4, k4, k4,
            enable_gqa=True)
    _raises(RuntimeError, r"The size of tensor a \(4\) must match the size of tensor b \(3\) at non-singleton "
            r"dimension 1", q4, k4, k4)
    _raises(IndexError, r"Dimension out of range \(expected to be in range of \[-2, 1\], but got -3\)",
            q[0], k[0], v[0], enable_gqa=True)
