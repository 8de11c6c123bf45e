"""Dropout: statistics, reproducibility under manual_seed, eval-mode identity, channel masks, errors."""
import warnings

import numpy as np
import pytest

import ember
from tests.helpers import torch

F = ember.nn.functional


@pytest.mark.parametrize("p", [0.2, 0.5, 0.9])
def test_dropout_statistics_and_scale(p):
    ember.manual_seed(0)
    x = ember.ones(200, 500)
    y = F.dropout(x, p).numpy()
    kept = y != 0
    assert abs(1 - kept.mean() - p) < 0.01
    np.testing.assert_allclose(y[kept], 1 / (1 - p), rtol=1e-6)
    assert abs(y.mean() - 1) < 0.05


def test_dropout_reproducible_with_manual_seed():
    x = ember.randn(50, 40)
    ember.manual_seed(123)
    a = F.dropout(x, 0.3).numpy()
    ember.manual_seed(123)
    b = F.dropout(x, 0.3).numpy()
    c = F.dropout(x, 0.3).numpy()
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(b, c)


def test_dropout_gradient_is_the_mask():
    x = ember.randn(30, 20, dtype=ember.float64, requires_grad=True)
    y = F.dropout(x, 0.4)
    assert type(y.grad_fn).__name__ == "MulBackward0"
    y.sum().backward()
    expected = (y.detach().numpy() != 0) / 0.6
    np.testing.assert_allclose(x.grad.numpy(), expected)


def test_dropout_identity_cases_return_input():
    x = ember.randn(3, 4)
    assert F.dropout(x, 0.5, training=False) is x
    assert F.dropout(x, 0.0) is x
    assert F.alpha_dropout(x, 0.5) is x  # training defaults to False here, as in PyTorch
    assert F.dropout2d(ember.randn(2, 3, 4, 4), 0.5, training=False).shape == (2, 3, 4, 4)


def test_dropout_p_one_zeros_and_zero_grad():
    x = ember.randn(3, 4, requires_grad=True)
    y = F.dropout(x, 1.0)
    assert not y.detach().numpy().any()
    y.sum().backward()
    assert not x.grad.numpy().any()
    assert not F.alpha_dropout(ember.randn(5), 1.0, training=True).numpy().any()


def test_dropout_inplace():
    ember.manual_seed(1)
    x = ember.ones(10, 10)
    y = F.dropout(x, 0.5, inplace=True)
    assert y is x
    assert set(np.unique(x.numpy())) <= {0.0, 2.0}


@pytest.mark.parametrize("fn,shape,mask_dims", [
    ("dropout1d", (4, 6, 50), 2), ("dropout1d", (6, 50), 1), ("dropout2d", (4, 6, 5, 10), 2),
    ("dropout3d", (4, 6, 2, 5, 5), 2), ("dropout3d", (6, 2, 5, 5), 1), ("feature_alpha_dropout", (4, 6, 5, 10), 2),
])
def test_feature_dropout_drops_whole_channels(fn, shape, mask_dims):
    ember.manual_seed(3)
    x = ember.randn(*shape).abs() + 1  # strictly positive: a dropped element is 0 (or the alpha constant)
    kwargs = {"training": True} if fn == "feature_alpha_dropout" else {}
    y = getattr(F, fn)(x, 0.5, **kwargs).numpy()
    flat = y.reshape(shape[:mask_dims] + (-1,))
    dropped_value = 0.0 if fn != "feature_alpha_dropout" else flat.min()
    dropped = np.isclose(flat, dropped_value).all(axis=-1)
    kept = ~np.isclose(flat, dropped_value).any(axis=-1)
    assert (dropped | kept).all()  # each channel is dropped entirely or kept entirely
    assert dropped.any() and kept.any()


def test_dropout2d_gradient_matches_mask():
    ember.manual_seed(5)
    x = ember.ones(3, 4, 2, 2, dtype=ember.float64, requires_grad=True)
    y = F.dropout2d(x, 0.25)
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), y.detach().numpy())


def test_alpha_dropout_keeps_mean_and_variance():
    ember.manual_seed(7)
    x = ember.randn(400, 500)
    y = F.alpha_dropout(x, 0.2, training=True).numpy()
    assert abs(y.mean()) < 0.02
    assert abs(y.std() - 1) < 0.02


def test_alpha_dropout_values():
    ember.manual_seed(11)
    p, alpha = 0.3, 1.7580993408473766
    a = 1 / np.sqrt((alpha * alpha * p + 1) * (1 - p))
    x = ember.randn(20, 20, dtype=ember.float64)
    y = F.alpha_dropout(x, p, training=True).numpy()
    kept = np.isclose(y, x.numpy() * a + alpha * a * p)
    dropped = np.isclose(y, -alpha * a + alpha * a * p)
    assert (kept | dropped).all() and dropped.any()


def test_dropout_errors():
    with pytest.raises(ValueError, match="dropout probability has to be between 0 and 1, but got 1.5"):
        F.dropout(ember.randn(3), 1.5)
    with pytest.raises(ValueError, match="dropout probability has to be between 0 and 1, but got -0.1"):
        F.alpha_dropout(ember.randn(3), -0.1)
    with pytest.raises(ValueError, match="dropout probability has to be between 0 and 1, but got 2"):
        ember.nn.Dropout(2)
    with pytest.raises(RuntimeError, match="dropout1d: Expected 2D or 3D input, but received a 1D input. Note that "
                                           "dropout1d exists to provide channel-wise dropout"):
        F.dropout1d(ember.randn(3))
    with pytest.warns(UserWarning, match="dropout2d: Received a 2-D input to dropout2d, which is deprecated"):
        F.dropout2d(ember.randn(3, 3))
    with pytest.warns(UserWarning, match="dropout2d: Received a 3D input to dropout2d and assuming that "
                                         "channel-wise 1D dropout behavior is desired"):
        F.dropout2d(ember.randn(2, 3, 3))
    with pytest.warns(UserWarning, match="dropout3d: Received a 3-D input to dropout3d, which is deprecated"):
        F.dropout3d(ember.randn(2, 3, 3))


@pytest.mark.parametrize("name", ["Dropout", "Dropout1d", "Dropout2d", "Dropout3d", "AlphaDropout",
                                  "FeatureAlphaDropout"])
def test_dropout_modules(name):
    for args in [(), (0.2,), (0.3, True)]:
        assert repr(getattr(ember.nn, name)(*args)) == repr(getattr(torch.nn, name)(*args))
    module = getattr(ember.nn, name)(0.5)
    shapes = {"Dropout1d": (2, 3, 8), "Dropout3d": (2, 3, 2, 4, 4)}
    x = ember.randn(2, 3, 4, 4, 2)[..., 0] if name not in shapes else ember.randn(*shapes[name])
    ember.manual_seed(0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert not np.array_equal(module(x).numpy(), x.numpy())  # training by default
    module.eval()
    assert module(x) is x
    module.train()
    assert module.training


def test_dropout_in_sequential_train_eval():
    net = ember.nn.Sequential(ember.nn.Linear(4, 4), ember.nn.Dropout(0.5))
    x = ember.randn(8, 4)
    net.eval()
    np.testing.assert_allclose(net(x).detach().numpy(), net[0](x).detach().numpy())
