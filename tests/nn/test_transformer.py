"""nn.MultiheadAttention and the Transformer layers against PyTorch with the same weights."""
import warnings

import numpy as np
import pytest

import ember
from tests.helpers import rand

torch = pytest.importorskip("torch")


def _copy_weights(e_mod, t_mod):
    state = {k: torch.from_numpy(v.detach().numpy().copy()) for k, v in e_mod.state_dict().items()}
    t_mod.load_state_dict(state)
    assert list(e_mod.state_dict()) == list(t_mod.state_dict())


def _pair(arr, grad=True):
    if arr is None:
        return None, None
    if not isinstance(arr, np.ndarray):
        return arr, arr
    rg = grad and arr.dtype.kind == "f"
    return ember.tensor(arr, requires_grad=rg), torch.tensor(arr, requires_grad=rg)


def _close(e, t, atol=1e-9):
    if t is None:
        assert e is None
        return
    assert tuple(e.shape) == tuple(t.shape)
    np.testing.assert_allclose(e.detach().numpy(), t.detach().numpy(), atol=atol, rtol=1e-7, equal_nan=True)


def compare(make, call, *arrays, train=False, **kwargs):
    """Build ``make(lib)`` in float64 on both sides, share weights, compare outputs and all gradients."""
    e_mod, t_mod = make(ember).double(), make(torch).double()
    _copy_weights(e_mod, t_mod)
    assert repr(e_mod) == repr(t_mod).replace("torch.", "ember.")
    e_mod.train(train)
    t_mod.train(train)
    pairs = [_pair(a) for a in arrays]
    kw_pairs = {k: _pair(v, grad=False) for k, v in kwargs.items()}
    e_out = call(e_mod, *[p[0] for p in pairs], **{k: p[0] for k, p in kw_pairs.items()})
    t_out = call(t_mod, *[p[1] for p in pairs], **{k: p[1] for k, p in kw_pairs.items()})
    e_out = e_out if isinstance(e_out, tuple) else (e_out,)
    t_out = t_out if isinstance(t_out, tuple) else (t_out,)
    for e, t in zip(e_out, t_out):
        _close(e, t)
    weight = rand(*t_out[0].shape)
    (e_out[0] * ember.tensor(weight)).sum().backward()
    (t_out[0] * torch.tensor(weight)).sum().backward()
    for (e_in, t_in) in pairs:
        if t_in is not None and t_in.requires_grad:
            _close(e_in.grad, t_in.grad)
    t_params = dict(t_mod.named_parameters())
    for name, p in e_mod.named_parameters():
        _close(p.grad, t_params[name].grad)
    return e_out


# ------------------------------------------------------------------------------------------
# MultiheadAttention
# ------------------------------------------------------------------------------------------

def _mha(**kw):
    return lambda T: T.nn.MultiheadAttention(8, 2, **kw)


def _bool_mask(*shape):
    mask = rand(*shape, dtype=bool)
    mask[..., 0] = False  # every query keeps at least one key
    return mask


@pytest.mark.parametrize("need_weights,average", [(True, True), (True, False), (False, True)])
@pytest.mark.parametrize("batch_first", [False, True])
def test_mha_self_attention(need_weights, average, batch_first):
    x = rand(3, 4, 8)
    compare(_mha(batch_first=batch_first), lambda m, x: m(x, x, x, need_weights=need_weights,
                                                         average_attn_weights=average), x)


@pytest.mark.parametrize("need_weights", [True, False])
def test_mha_cross_attention_and_masks(need_weights):
    q, kv = rand(3, 2, 8), rand(5, 2, 8)
    call = lambda m, q, kv, **kw: m(q, kv, kv, need_weights=need_weights, **kw)  # noqa: E731
    compare(_mha(), call, q, kv, attn_mask=_bool_mask(3, 5))
    compare(_mha(), call, q, kv, attn_mask=rand(3, 5))
    compare(_mha(), call, q, kv, attn_mask=rand(4, 3, 5))
    compare(_mha(), call, q, kv, key_padding_mask=_bool_mask(2, 5))
    compare(_mha(), call, q, kv, key_padding_mask=rand(2, 5), attn_mask=rand(3, 5))
    compare(_mha(), call, q, kv, key_padding_mask=_bool_mask(2, 5), attn_mask=_bool_mask(4, 3, 5))


def test_mha_fully_masked_row():
    x = rand(3, 2, 8)
    mask = np.zeros((3, 3), dtype=bool)
    mask[1] = True
    for need_weights in (True, False):  # NaN with weights (plain softmax), 0 through SDPA
        compare(_mha(), lambda m, x, **kw: m(x, x, x, need_weights=need_weights, **kw)[0], x, attn_mask=mask)


@pytest.mark.parametrize("kw", [dict(kdim=3, vdim=5), dict(bias=False), dict(add_bias_kv=True),
                                dict(add_zero_attn=True), dict(add_bias_kv=True, add_zero_attn=True, kdim=4)])
def test_mha_options(kw):
    q, k, v = rand(3, 2, 8), rand(5, 2, kw.get("kdim", 8)), rand(5, 2, kw.get("vdim", 8))
    compare(_mha(**kw), lambda m, q, k, v, **a: m(q, k, v, **a), q, k, v, key_padding_mask=_bool_mask(2, 5),
            attn_mask=_bool_mask(3, 5))
    compare(_mha(**kw), lambda m, q, k, v: m(q, k, v, need_weights=False), q, k, v)


def test_mha_unbatched_and_causal():
    x = rand(4, 8)
    compare(_mha(), lambda m, x, **kw: m(x, x, x, **kw), x, key_padding_mask=_bool_mask(4),
            attn_mask=_bool_mask(2, 4, 4))
    causal = np.triu(np.ones((4, 4), dtype=bool), 1)
    compare(_mha(), lambda m, x, **kw: m(x, x, x, need_weights=False, is_causal=True, **kw), rand(4, 2, 8),
            attn_mask=causal)


def test_mha_dropout_zero_in_train_mode():
    x = rand(3, 2, 8)
    compare(_mha(dropout=0.0), lambda m, x: m(x, x, x), x, train=True)


def test_mha_dropout_changes_weights_in_training():
    m = ember.nn.MultiheadAttention(8, 2, dropout=0.5)
    x = ember.tensor(rand(3, 2, 8, dtype=np.float32))
    out, w = m(x, x, x, average_attn_weights=False)
    assert np.any(w.detach().numpy() == 0)
    m.eval()
    _, w = m(x, x, x, average_attn_weights=False)
    np.testing.assert_allclose(w.detach().numpy().sum(-1), 1, rtol=1e-5)


def test_mha_init_and_parameters():
    m = ember.nn.MultiheadAttention(8, 2, add_bias_kv=True)
    assert [n for n, _ in m.named_parameters()] == [n for n, _ in
                                                    torch.nn.MultiheadAttention(8, 2, add_bias_kv=True)
                                                    .named_parameters()]
    assert not np.any(m.in_proj_bias.detach().numpy()) and not np.any(m.out_proj.bias.detach().numpy())
    bound = np.sqrt(6 / (8 + 24))
    w = m.in_proj_weight.detach().numpy()
    assert np.abs(w).max() <= bound and w.std() > bound / 3
    sep = ember.nn.MultiheadAttention(8, 2, kdim=3, vdim=5, bias=False)
    assert sep.in_proj_weight is None and tuple(sep.k_proj_weight.shape) == (8, 3)
    assert sep.in_proj_bias is None and sep.out_proj.bias is None


def _both_raise(exc, match, make, call):
    for T in (ember, torch):
        with pytest.raises(exc, match=match):
            call(T, make(T))


def test_mha_errors():
    with pytest.raises(AssertionError, match="embed_dim must be divisible by num_heads"):
        ember.nn.MultiheadAttention(8, 3)
    with pytest.raises(ValueError, match="embed_dim and num_heads must be greater than 0, got embed_dim=0 and "
                                         "num_heads=3 instead"):
        ember.nn.MultiheadAttention(0, 3)
    make = lambda T: T.nn.MultiheadAttention(8, 2)  # noqa: E731
    x = rand(4, 3, 8, dtype=np.float32)

    def run(*args, **kw):
        return lambda T, m: m(*[T.tensor(a) for a in args], **{k: T.tensor(v) for k, v in kw.items()})

    _both_raise(AssertionError, r"key shape .*\[4, 3, 8\]\) does not match value shape .*\[2, 3, 8\]\)", make,
                run(x, x, x[:2]))
    _both_raise(AssertionError, "was expecting embedding dimension of 8, but got 6", make,
                run(x[..., :6], x[..., :6], x[..., :6]))
    _both_raise(AssertionError, r"For batched \(3-D\) `query`, expected `key` and `value` to be 3-D but found 2-D "
                "and 3-D tensors respectively", make, run(x, x[0], x))
    _both_raise(RuntimeError, r"The shape of the 2D attn_mask is .*\[4, 5\]\), but should be \(4, 4\)\.", make,
                run(x, x, x, attn_mask=np.zeros((4, 5), np.float32)))
    _both_raise(RuntimeError, r"The shape of the 3D attn_mask is .*\[5, 4, 4\]\), but should be \(6, 4, 4\)\.",
                make, run(x, x, x, attn_mask=np.zeros((5, 4, 4), np.float32)))
    _both_raise(AssertionError, r"expected `attn_mask` to be `None`, 2-D or 3-D but found 4-D tensor instead",
                make, run(x, x, x, attn_mask=np.zeros((1, 5, 4, 4), np.float32)))
    _both_raise(AssertionError, r"expected `key_padding_mask` to be `None` or 2-D but found 3-D tensor instead",
                make, run(x, x, x, key_padding_mask=np.zeros((3, 4, 1), np.float32)))
    _both_raise(AssertionError, "only bool and floating types of key_padding_mask are supported", make,
                run(x, x, x, key_padding_mask=np.zeros((3, 4), np.int64)))
    _both_raise(AssertionError, "only bool and floating types of attn_mask are supported", make,
                run(x, x, x, attn_mask=np.zeros((4, 4), np.int64)))
    _both_raise(AssertionError, r"Expected `attn_mask` shape to be \(2, 3, 3\) but got .*\[3, 4, 4\]\)", make,
                run(x[0], x[0], x[0], attn_mask=np.zeros((3, 4, 4), np.float32)))
    _both_raise(AssertionError, r"For unbatched \(2-D\) `query`, expected `key_padding_mask` to be `None` or 1-D "
                "but found 2-D tensor instead", make, run(x[0], x[0], x[0], key_padding_mask=np.zeros((3, 4))))
    _both_raise(AssertionError, "query should be unbatched 2D or batched 3D tensor but received 4-D query tensor",
                make, run(x[None], x[None], x[None]))
    _both_raise(RuntimeError, "Need attn_mask if specifying the is_causal hint", make,
                lambda T, m: m(T.tensor(x), T.tensor(x), T.tensor(x), is_causal=True))


# ------------------------------------------------------------------------------------------
# Transformer layers
# ------------------------------------------------------------------------------------------

def _enc_layer(**kw):
    return lambda T: T.nn.TransformerEncoderLayer(8, 2, dim_feedforward=16, **kw)


@pytest.mark.parametrize("kw", [{}, dict(norm_first=True), dict(activation="gelu"), dict(batch_first=True),
                                dict(bias=False), dict(dropout=0.0, layer_norm_eps=1e-3)])
def test_encoder_layer(kw):
    x = rand(2, 3, 8) if kw.get("batch_first") else rand(3, 2, 8)
    compare(_enc_layer(**kw), lambda m, x, **a: m(x, **a), x, src_mask=_bool_mask(3, 3),
            src_key_padding_mask=_bool_mask(2, 3))


def test_encoder_layer_train_mode_no_dropout_and_unbatched():
    compare(_enc_layer(dropout=0.0), lambda m, x: m(x), rand(4, 2, 8), train=True)
    compare(_enc_layer(), lambda m, x: m(x), rand(4, 8))
    compare(_enc_layer(activation=lambda x: x.tanh()), lambda m, x: m(x), rand(4, 2, 8))


def test_encoder_stack_names_and_causal_detection():
    def make(T):
        layer = T.nn.TransformerEncoderLayer(8, 2, dim_feedforward=16)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return T.nn.TransformerEncoder(layer, 2, norm=T.nn.LayerNorm(8))
    e_mod = make(ember)
    assert "layers.1.linear2.weight" in e_mod.state_dict()
    assert e_mod.layers[0].linear1.weight is not e_mod.layers[1].linear1.weight
    mask = ember.nn.Transformer.generate_square_subsequent_mask(4).numpy()
    compare(make, lambda m, x, **kw: m(x, **kw), rand(4, 2, 8), mask=mask)
    compare(make, lambda m, x, **kw: m(x, **kw), rand(4, 2, 8), mask=mask, src_key_padding_mask=_bool_mask(2, 4))


@pytest.mark.parametrize("kw", [{}, dict(norm_first=True, activation="gelu"), dict(batch_first=True)])
def test_decoder_layer_and_stack(kw):
    tgt = rand(2, 4, 8) if kw.get("batch_first") else rand(4, 2, 8)
    mem = rand(2, 3, 8) if kw.get("batch_first") else rand(3, 2, 8)
    layer = lambda T: T.nn.TransformerDecoderLayer(8, 2, dim_feedforward=16, **kw)  # noqa: E731
    causal = ember.nn.Transformer.generate_square_subsequent_mask(4).numpy()
    compare(layer, lambda m, t, s, **a: m(t, s, **a), tgt, mem, tgt_mask=causal, memory_mask=_bool_mask(4, 3),
            tgt_key_padding_mask=_bool_mask(2, 4), memory_key_padding_mask=_bool_mask(2, 3))
    stack = lambda T: T.nn.TransformerDecoder(layer(T), 2, norm=T.nn.LayerNorm(8))  # noqa: E731
    compare(stack, lambda m, t, s, **a: m(t, s, **a), tgt, mem, tgt_mask=causal, tgt_is_causal=True)


def test_transformer_full():
    def make(T):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return T.nn.Transformer(d_model=8, nhead=2, num_encoder_layers=2, num_decoder_layers=1,
                                    dim_feedforward=16)
    src, tgt = rand(5, 2, 8), rand(4, 2, 8)
    causal = ember.nn.Transformer.generate_square_subsequent_mask(4).numpy()
    compare(make, lambda m, s, t, **kw: m(s, t, **kw), src, tgt, tgt_mask=causal,
            src_key_padding_mask=_bool_mask(2, 5), memory_key_padding_mask=_bool_mask(2, 5))
    e_mod = make(ember)
    assert list(e_mod.state_dict()) == list(make(torch).state_dict())


def test_generate_square_subsequent_mask():
    e = ember.nn.Transformer.generate_square_subsequent_mask(5)
    t = torch.nn.Transformer.generate_square_subsequent_mask(5)
    np.testing.assert_array_equal(e.numpy(), t.numpy())
    assert e.dtype is ember.float32
    assert ember.nn.Transformer.generate_square_subsequent_mask(3, dtype=ember.float64).dtype is ember.float64


def test_transformer_errors():
    m = ember.nn.Transformer(d_model=8, nhead=2, num_encoder_layers=1, num_decoder_layers=1, dim_feedforward=16)
    with pytest.raises(RuntimeError, match="the batch number of src and tgt must be equal"):
        m(ember.randn(3, 2, 8), ember.randn(3, 4, 8))
    with pytest.raises(RuntimeError, match="the feature number of src and tgt must be equal to d_model"):
        m(ember.randn(3, 2, 6), ember.randn(3, 2, 6))
    with pytest.raises(RuntimeError, match="activation should be relu/gelu, not tanh"):
        ember.nn.TransformerEncoderLayer(8, 2, activation="tanh")
