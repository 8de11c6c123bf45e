"""Conv modules: parameters, init, repr, and forward/backward against PyTorch with copied weights."""
import math

import numpy as np
import pytest

import ember
from tests.helpers import rand, torch

enn = ember.nn


def _compare(e_mod, t_mod, x, atol=1e-5, **call):
    """Copy e_mod's parameters into t_mod, run both, compare output and every gradient."""
    for name, p in e_mod.named_parameters():
        getattr(t_mod, name).data = torch.from_numpy(p.detach().numpy().copy())
    ex = ember.tensor(x, requires_grad=True)
    tx = torch.tensor(x, requires_grad=True)
    eo, to = e_mod(ex, **call), t_mod(tx, **call)
    np.testing.assert_allclose(eo.detach().numpy(), to.detach().numpy(), atol=atol, rtol=1e-5)
    w = rand(*to.shape, dtype=x.dtype)
    (eo * ember.tensor(w)).sum().backward()
    (to * torch.tensor(w)).sum().backward()
    np.testing.assert_allclose(ex.grad.numpy(), tx.grad.numpy(), atol=atol, rtol=1e-5)
    for name, p in e_mod.named_parameters():
        np.testing.assert_allclose(p.grad.numpy(), getattr(t_mod, name).grad.numpy(), atol=atol, rtol=1e-5)
    assert repr(e_mod) == repr(t_mod).replace("torch.", "ember.")


@pytest.mark.parametrize("cls,args,kw,xshape", [
    ("Conv2d", (1, 32, 3), {}, (4, 1, 28, 28)),
    ("Conv2d", (4, 6, (3, 2)), dict(stride=2, padding=1, dilation=2, groups=2, bias=False), (2, 4, 9, 8)),
    ("Conv2d", (3, 4, 4), dict(padding="same"), (2, 3, 6, 5)),
    ("Conv2d", (3, 4, 3), dict(padding=(1, 2), padding_mode="reflect"), (2, 3, 6, 5)),
    ("Conv2d", (3, 4, 3), dict(padding=1, padding_mode="replicate"), (3, 6, 5)),
    ("Conv2d", (3, 4, 2), dict(padding="same", padding_mode="circular"), (2, 3, 6, 5)),
    ("Conv1d", (3, 4, 3), dict(padding="same", padding_mode="reflect"), (2, 3, 7)),
    ("Conv1d", (3, 6, 3), dict(stride=2, groups=3), (2, 3, 9)),
    ("Conv3d", (2, 3, 2), dict(padding=1), (1, 2, 3, 4, 3)),
    ("ConvTranspose2d", (4, 6, 3), dict(stride=2, padding=1, output_padding=1, groups=2), (2, 4, 4, 5)),
    ("ConvTranspose1d", (3, 2, 3), dict(dilation=2), (2, 3, 5)),
    ("ConvTranspose3d", (2, 3, 2), dict(stride=2), (1, 2, 2, 3, 2)),
])
def test_conv_module_matches_torch(cls, args, kw, xshape):
    e_mod = getattr(enn, cls)(*args, **kw).double()
    t_mod = getattr(torch.nn, cls)(*args, **kw).double()
    _compare(e_mod, t_mod, rand(*xshape))


def test_conv_float32_default_dtype():
    e_mod, t_mod = enn.Conv2d(3, 5, 3, stride=2), torch.nn.Conv2d(3, 5, 3, stride=2)
    assert e_mod.weight.dtype == ember.float32
    _compare(e_mod, t_mod, rand(2, 3, 9, 9, dtype=np.float32))


def test_conv_transpose_output_size():
    e_mod = enn.ConvTranspose2d(2, 3, 3, stride=2).double()
    t_mod = torch.nn.ConvTranspose2d(2, 3, 3, stride=2).double()
    _compare(e_mod, t_mod, rand(1, 2, 4, 4), output_size=(10, 10))
    with pytest.raises(ValueError, match="requested an output size of"):
        e_mod(ember.randn(1, 2, 4, 4, dtype=ember.float64), output_size=(20, 20))


@pytest.mark.parametrize("cls,xshape,output_size", [
    ("ConvTranspose2d", (1, 3, 5, 5), (14, 12)),       # too large
    ("ConvTranspose2d", (1, 3, 5, 5), [10, 12]),       # too small
    ("ConvTranspose2d", (1, 3, 5, 5), (1, 4, 14, 12)),  # with the batch and channel sizes
    ("ConvTranspose2d", (1, 3, 5, 5), (4, 14, 12)),    # neither 2 nor 4 sizes
    ("ConvTranspose2d", (3, 5, 5), (2, 3)),           # unbatched: 2 or 3 sizes
    ("ConvTranspose1d", (3, 5), [20]),                # PyTorch prints input.size()[2:] here
])
def test_conv_transpose_output_size_errors_match_torch(cls, xshape, output_size):
    messages = []
    for T in (ember, torch):
        with pytest.raises(ValueError) as info:
            getattr(T.nn, cls)(3, 4, 3, stride=2)(T.ones(xshape), output_size=output_size)
        messages.append(str(info.value))
    assert messages[0] == messages[1].replace("torch.", "ember.")


@pytest.mark.parametrize("cls,xshape,output_size", [
    ("ConvTranspose2d", (1, 3, 5, 5), (1, 4, 12, 11)), ("ConvTranspose2d", (3, 5, 5), (4, 11, 12)),
    ("ConvTranspose3d", (1, 3, 4, 4, 4), [10, 9, 10]),
])
def test_conv_transpose_output_size_forms(cls, xshape, output_size):
    e_mod, t_mod = getattr(enn, cls)(3, 4, 3, stride=2).double(), getattr(torch.nn, cls)(3, 4, 3, stride=2).double()
    _compare(e_mod, t_mod, rand(*xshape), output_size=output_size)


@pytest.mark.parametrize("cls,args,kw,wshape", [
    ("Conv2d", (4, 6, (3, 2)), dict(groups=2), (6, 2, 3, 2)),
    ("Conv1d", (3, 4, 5), {}, (4, 3, 5)),
    ("ConvTranspose2d", (4, 6, 3), dict(groups=2), (4, 3, 3, 3)),
])
def test_weight_shapes_and_kaiming_init(cls, args, kw, wshape):
    m = getattr(enn, cls)(*args, **kw)
    assert tuple(m.weight.shape) == wshape
    fan_in = wshape[1] * math.prod(wshape[2:])
    w = m.weight.detach().numpy()
    bound = 1 / math.sqrt(fan_in)  # kaiming_uniform_(a=sqrt(5)) gives gain*sqrt(3/fan_in) = 1/sqrt(fan_in)
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.5 * bound
    assert np.abs(m.bias.detach().numpy()).max() <= bound
    assert len({float(v) for v in w.ravel()}) == w.size  # random, not constant


def test_init_statistics_large_layer():
    m = enn.Conv2d(64, 64, 3)
    w = m.weight.detach().numpy()
    bound = 1 / math.sqrt(64 * 9)
    assert abs(w.mean()) < 0.05 * bound
    assert abs(w.std() - bound / math.sqrt(3)) < 0.05 * bound  # U(-b, b) has std b/sqrt(3)


@pytest.mark.parametrize("kw,exc,message", [
    (dict(groups=2, in_channels=3), ValueError, "in_channels must be divisible by groups"),
    (dict(groups=2, out_channels=3), ValueError, "out_channels must be divisible by groups"),
    (dict(padding="foo"), ValueError, "Invalid padding string 'foo'"),
    (dict(padding="same", stride=2), ValueError, "padding='same' is not supported for strided convolutions"),
    (dict(padding_mode="bad"), ValueError, "padding_mode must be one of"),
])
def test_conv_module_errors(kw, exc, message):
    args = dict(in_channels=4, out_channels=4, kernel_size=3)
    args.update(kw)
    for nn in (torch.nn, enn):
        with pytest.raises(exc, match=message):
            nn.Conv2d(**args)


def test_conv_module_state_dict_and_parameters():
    m = enn.Conv2d(2, 3, 3, bias=False)
    assert list(m.state_dict().keys()) == ["weight"]
    assert m.bias is None
    assert [n for n, _ in enn.ConvTranspose2d(2, 3, 3).named_parameters()] == ["weight", "bias"]


def test_unfold_fold_modules():
    assert repr(enn.Unfold(2)) == repr(torch.nn.Unfold(2))
    assert repr(enn.Fold((4, 4), 2)) == repr(torch.nn.Fold((4, 4), 2))
    x = rand(1, 2, 4, 4)
    out = enn.Fold((4, 4), 2)(enn.Unfold(2)(ember.tensor(x)))
    ref = torch.nn.Fold((4, 4), 2)(torch.nn.Unfold(2)(torch.tensor(x)))
    np.testing.assert_allclose(out.numpy(), ref.numpy())
