"""ember.nn.init: gains and fans equal torch's; random fills have the right bounds and moments."""
import math

import numpy as np
import pytest

import ember
from ember.nn import init
from tests.helpers import torch
from tests.nn.test_module import same_error

N = 200_000  # elements in the statistical tests: loose tolerances stay far from flaky


@pytest.mark.parametrize("args", [
    ("linear",), ("conv2d",), ("conv_transpose3d",), ("sigmoid",), ("tanh",), ("relu",), ("leaky_relu",),
    ("leaky_relu", 0.2), ("leaky_relu", 1), ("selu",),
])
def test_calculate_gain_matches_torch(args):
    assert init.calculate_gain(*args) == torch.nn.init.calculate_gain(*args)


@pytest.mark.parametrize("args", [("foo",), ("leaky_relu", "x"), ("leaky_relu", True)])
def test_calculate_gain_errors(args):
    same_error(lambda T: T.nn.init.calculate_gain(*args))


@pytest.mark.parametrize("shape", [(3, 4), (5, 2, 3), (6, 3, 2, 2), (2, 3, 1, 2, 2), (0, 3)])
def test_fans_match_torch(shape):
    assert init._calculate_fan_in_and_fan_out(ember.empty(shape)) == \
        torch.nn.init._calculate_fan_in_and_fan_out(torch.empty(shape))


@pytest.mark.parametrize("call", [
    lambda T: T.nn.init._calculate_fan_in_and_fan_out(T.empty(3)),
    lambda T: T.nn.init.xavier_uniform_(T.empty(3)),
    lambda T: T.nn.init.kaiming_normal_(T.empty(3, 3), mode="fan_avg"),
    lambda T: T.nn.init.kaiming_uniform_(T.empty(3, 3), nonlinearity="swish"),
    lambda T: T.nn.init.eye_(T.empty(3)),
    lambda T: T.nn.init.dirac_(T.empty(3, 3)),
    lambda T: T.nn.init.dirac_(T.empty(3, 3, 3), groups=2),
    lambda T: T.nn.init.orthogonal_(T.empty(3)),
    lambda T: T.nn.init.sparse_(T.empty(3), 0.5),
    lambda T: T.nn.init.uniform_(T.zeros(3, 4, dtype=T.int64)),
    lambda T: T.nn.init.normal_(T.zeros(3, 4, dtype=T.int64)),
    lambda T: T.nn.init.kaiming_uniform_(T.zeros(3, 4, dtype=T.int64)),
    lambda T: T.nn.init.xavier_normal_(T.zeros(3, 4, dtype=T.int32)),
])
def test_errors_match_torch(call):
    same_error(call)


def _stats(t):
    a = t.detach().numpy().astype(np.float64)
    return a.min(), a.max(), a.mean(), a.std()


def _fill(fn, shape=(N // 500, 500), **kwargs):
    p = ember.nn.Parameter(ember.empty(shape))
    out = fn(p, **kwargs)
    assert out is p and isinstance(p, ember.nn.Parameter)  # in place, identity kept
    assert p.grad_fn is None and p.requires_grad and p.grad is None
    return _stats(p)


def test_uniform_and_normal():
    lo, hi, mean, std = _fill(init.uniform_, a=-2.0, b=3.0)
    assert -2.0 <= lo and hi <= 3.0 and abs(mean - 0.5) < 0.02 and abs(std - 5 / math.sqrt(12)) < 0.02
    _, _, mean, std = _fill(init.normal_, mean=1.5, std=0.5)
    assert abs(mean - 1.5) < 0.01 and abs(std - 0.5) < 0.01


def test_trunc_normal():
    lo, hi, mean, std = _fill(init.trunc_normal_, mean=0.0, std=1.0, a=-1.0, b=2.0)
    assert -1.0 <= lo and hi <= 2.0
    expected = torch.empty(N).double()
    torch.nn.init.trunc_normal_(expected, a=-1.0, b=2.0)
    assert abs(mean - expected.mean().item()) < 0.02 and abs(std - expected.std().item()) < 0.02
    with pytest.warns(UserWarning, match="mean is more than 2 std from"):
        init.trunc_normal_(ember.empty(10), mean=10.0, std=1.0)


@pytest.mark.parametrize("gain", [1.0, 2.5])
def test_xavier(gain):
    fan_in, fan_out = 500, 400
    std = gain * math.sqrt(2.0 / (fan_in + fan_out))
    lo, hi, mean, got = _fill(init.xavier_uniform_, shape=(fan_out, fan_in), gain=gain)
    assert -math.sqrt(3) * std <= lo and hi <= math.sqrt(3) * std and abs(mean) < 0.05 * std
    assert abs(got - std) < 0.02 * std
    _, _, mean, got = _fill(init.xavier_normal_, shape=(fan_out, fan_in), gain=gain)
    assert abs(got - std) < 0.02 * std and abs(mean) < 0.05 * std


@pytest.mark.parametrize("mode, nonlinearity, a", [
    ("fan_in", "leaky_relu", 0), ("fan_out", "relu", 0), ("fan_in", "leaky_relu", math.sqrt(5)),
    ("fan_out", "tanh", 0),
])
def test_kaiming(mode, nonlinearity, a):
    shape = (400, 50, 3, 3)
    fan = 50 * 9 if mode == "fan_in" else 400 * 9
    std = torch.nn.init.calculate_gain(nonlinearity, a) / math.sqrt(fan)
    lo, hi, mean, got = _fill(init.kaiming_uniform_, shape=shape, a=a, mode=mode, nonlinearity=nonlinearity)
    assert -math.sqrt(3) * std <= lo and hi <= math.sqrt(3) * std and abs(got - std) < 0.02 * std
    _, _, mean, got = _fill(init.kaiming_normal_, shape=shape, a=a, mode=mode, nonlinearity=nonlinearity)
    assert abs(got - std) < 0.02 * std and abs(mean) < 0.05 * std


def test_kaiming_zero_element_warns():
    with pytest.warns(UserWarning, match="Initializing zero-element tensors is a no-op"):
        t = ember.empty(0, 3)
        assert init.kaiming_uniform_(t) is t


@pytest.mark.parametrize("fn, expected", [(init.ones_, 1.0), (init.zeros_, 0.0),
                                          (lambda t: init.constant_(t, 0.25), 0.25)])
def test_constants(fn, expected):
    p = ember.nn.Parameter(ember.empty(3, 4))
    assert fn(p) is p
    assert (p.detach().numpy() == expected).all() and p.grad_fn is None


@pytest.mark.parametrize("shape", [(3, 3), (2, 5), (5, 2)])
def test_eye_matches_torch(shape):
    p = ember.nn.Parameter(ember.empty(shape))
    assert init.eye_(p) is p and p.requires_grad
    np.testing.assert_array_equal(p.detach().numpy(), torch.nn.init.eye_(torch.empty(shape)).numpy())


@pytest.mark.parametrize("shape, groups", [((4, 4, 3), 1), ((6, 3, 3, 3), 1), ((4, 2, 3, 3), 2),
                                           ((2, 4, 2, 3, 3), 1), ((6, 2, 5), 3)])
def test_dirac_matches_torch(shape, groups):
    p = ember.nn.Parameter(ember.empty(shape))
    assert init.dirac_(p, groups) is p
    np.testing.assert_array_equal(p.detach().numpy(), torch.nn.init.dirac_(torch.empty(shape), groups).numpy())


@pytest.mark.parametrize("shape", [(6, 4), (4, 6), (3, 2, 2), (5, 5)])
def test_orthogonal(shape):
    p = ember.nn.Parameter(ember.empty(shape, dtype=ember.float64))
    assert init.orthogonal_(p, gain=2.0) is p
    flat = p.detach().numpy().reshape(shape[0], -1)
    small = min(flat.shape)
    gram = flat @ flat.T if flat.shape[0] <= flat.shape[1] else flat.T @ flat
    np.testing.assert_allclose(gram, 4.0 * np.eye(small), atol=1e-10)


def test_sparse():
    t = ember.empty(100, 40)
    assert init.sparse_(t, sparsity=0.3, std=0.5) is t
    zeros_per_column = (t.numpy() == 0).sum(axis=0)
    assert (zeros_per_column == 30).all()
    nonzero = t.numpy()[t.numpy() != 0]
    assert abs(nonzero.std() - 0.5) < 0.05


def test_generator_reproducible():
    g = ember.Generator().manual_seed(3)
    a = init.kaiming_uniform_(ember.empty(4, 4), generator=g).numpy().copy()
    g.manual_seed(3)
    b = init.kaiming_uniform_(ember.empty(4, 4), generator=g).numpy()
    np.testing.assert_array_equal(a, b)


def test_init_under_grad_mode_records_nothing():
    p = ember.nn.Parameter(ember.empty(3, 3))
    for fn in (init.uniform_, init.normal_, init.xavier_uniform_, init.kaiming_normal_, init.orthogonal_,
               init.eye_, init.zeros_, init.trunc_normal_):
        fn(p)
        assert p.grad_fn is None and p.is_leaf and p.requires_grad


def test_half_precision_fill():
    p = ember.nn.Parameter(ember.empty(64, 64, dtype=ember.float16))
    init.orthogonal_(p)
    init.kaiming_uniform_(p, a=math.sqrt(5))
    assert p.dtype is ember.float16 and np.abs(p.detach().numpy()).max() <= 1 / 8 + 1e-3


# -- every layer's default initialisation: PyTorch's distributions --------------------------------
def _uniform_ok(values: np.ndarray, bound: float) -> None:
    """Samples of U(-bound, bound): inside the bounds, reaching them, mean 0 and std bound/sqrt(3)."""
    n = values.size
    assert np.abs(values).max() <= bound
    assert np.abs(values).max() > bound * (1 - 20 / n)
    assert abs(values.mean()) < 5 * bound / math.sqrt(3 * n)
    assert values.std() == pytest.approx(bound / math.sqrt(3), rel=0.05)


@pytest.mark.parametrize("spec,fan_in", [
    ("Linear(400, 300)", 400), ("Conv1d(16, 32, 5)", 80), ("Conv2d(16, 32, 3, groups=4)", 36),
    ("Conv3d(8, 16, 3)", 216), ("ConvTranspose1d(16, 32, 5)", 160), ("ConvTranspose2d(16, 32, 3, groups=4)", 72),
    ("ConvTranspose3d(8, 16, 3)", 432),
])
def test_default_weight_and_bias_init_is_kaiming_uniform_sqrt5(spec, fan_in):
    ember.manual_seed(0)
    module = eval("ember.nn." + spec)
    bound = 1 / math.sqrt(fan_in)  # kaiming_uniform_(a=sqrt(5)): gain * sqrt(3 / fan_in) = 1 / sqrt(fan_in)
    assert init._calculate_fan_in_and_fan_out(module.weight)[0] == fan_in
    _uniform_ok(module.weight.detach().numpy().astype(np.float64), bound)
    bias = module.bias.detach().numpy().astype(np.float64)
    assert np.abs(bias).max() <= bound and len(set(bias.tolist())) == bias.size


def test_default_bilinear_and_rnn_init_are_uniform():
    ember.manual_seed(0)
    bilinear = ember.nn.Bilinear(64, 30, 50)
    _uniform_ok(bilinear.weight.detach().numpy().astype(np.float64), 1 / math.sqrt(64))
    lstm = ember.nn.LSTM(30, 100)
    for param in lstm.parameters():
        assert np.abs(param.detach().numpy()).max() <= 1 / math.sqrt(100)
    _uniform_ok(lstm.weight_hh_l0.detach().numpy().astype(np.float64), 1 / math.sqrt(100))


def test_default_embedding_init_is_standard_normal_with_zero_padding_row():
    ember.manual_seed(0)
    weight = ember.nn.Embedding(5000, 40, padding_idx=7).weight.detach().numpy().astype(np.float64)
    assert np.all(weight[7] == 0)
    rows = np.delete(weight, 7, axis=0)
    assert abs(rows.mean()) < 0.01 and rows.std() == pytest.approx(1.0, rel=0.02)
    assert np.mean(np.abs(rows) < 1) == pytest.approx(0.6827, abs=0.01)  # normal, not uniform


@pytest.mark.parametrize("spec", ["BatchNorm2d(7)", "LayerNorm(7)", "GroupNorm(1, 7)", "InstanceNorm1d(7, affine=True)",
                                  "RMSNorm(7)", "PReLU(7)", "PReLU()"])
def test_default_constant_inits_equal_torch(spec):
    e_module, t_module = eval("ember.nn." + spec), eval("torch.nn." + spec)
    e_state, t_state = e_module.state_dict(), t_module.state_dict()
    assert list(e_state) == list(t_state)
    for name, value in e_state.items():
        np.testing.assert_array_equal(value.numpy(), t_state[name].numpy())
