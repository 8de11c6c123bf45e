"""BatchNorm*, InstanceNorm*, LayerNorm, GroupNorm, RMSNorm, LocalResponseNorm against PyTorch's modules."""
import collections
import warnings

import numpy as np
import pytest

import ember
import ember.nn as enn
from tests.helpers import rand, noncontiguous, torch

tnn = torch.nn


def _pair(name, *args, **kwargs):
    """The same module in ember and torch, torch's parameters and buffers copied from ember's."""
    e_mod = getattr(enn, name)(*args, **kwargs)
    t_mod = getattr(tnn, name)(*args, **kwargs).double()
    e_mod.double()
    with torch.no_grad():
        for pname, p in e_mod.named_parameters():
            p.data = ember.tensor(rand(*p.shape))  # non-trivial affine parameters
            getattr(t_mod, pname).data = torch.from_numpy(p.detach().numpy().copy())
    return e_mod, t_mod


def _assert_close(e, t, atol=1e-7):
    np.testing.assert_allclose(e.detach().numpy(), t.detach().numpy(), atol=atol, rtol=1e-6)


def _step(e_mod, t_mod, x: np.ndarray):
    """One forward/backward on the same input; compares outputs, input and parameter gradients, buffers."""
    ex = ember.tensor(x, requires_grad=True)
    tx = torch.tensor(x, requires_grad=True)
    if not x.flags.c_contiguous:  # keep the non-contiguous layout on the ember side
        ex = ember.from_numpy(x).requires_grad_()
    e_out, t_out = e_mod(ex), t_mod(tx)
    _assert_close(e_out, t_out)
    w = rand(*t_out.shape)
    (e_out * ember.tensor(w)).sum().backward()
    (t_out * torch.tensor(w)).sum().backward()
    _assert_close(ex.grad, tx.grad)
    for name, p in t_mod.named_parameters():
        _assert_close(getattr(e_mod, name).grad, p.grad)
    _assert_buffers_equal(e_mod, t_mod)


def _assert_buffers_equal(e_mod, t_mod):
    e_state, t_state = e_mod.state_dict(), t_mod.state_dict()
    assert list(e_state) == list(t_state)
    for key, t_val in t_state.items():
        assert str(e_state[key].dtype).split(".")[-1] == str(t_val.dtype).split(".")[-1]
        _assert_close(e_state[key], t_val)


# ------------------------------------------------------------------------------------------
# BatchNorm
# ------------------------------------------------------------------------------------------

BN_CASES = [("BatchNorm1d", (4, 3)), ("BatchNorm1d", (4, 3, 5)), ("BatchNorm2d", (2, 3, 4, 4)),
            ("BatchNorm3d", (2, 3, 2, 3, 2))]


@pytest.mark.parametrize("name,shape", BN_CASES)
@pytest.mark.parametrize("kwargs", [{}, {"momentum": None}, {"affine": False}, {"track_running_stats": False},
                                    {"bias": False, "eps": 1e-3, "momentum": 0.5}])
def test_batch_norm_train_then_eval_matches_torch(name, shape, kwargs):
    e_mod, t_mod = _pair(name, 3, **kwargs)
    assert repr(e_mod) == repr(t_mod).replace("torch.", "ember.")
    for _ in range(3):
        _step(e_mod, t_mod, rand(*shape))
    e_mod.eval()
    t_mod.eval()
    _step(e_mod, t_mod, rand(*shape))


def test_batch_norm_noncontiguous_input():
    e_mod, t_mod = _pair("BatchNorm1d", 4)
    _step(e_mod, t_mod, noncontiguous(rand(3, 4, 5)))
    e_mod.eval()
    t_mod.eval()
    _step(e_mod, t_mod, noncontiguous(rand(3, 4, 5)))


def test_batch_norm_eval_batch_of_one_uses_running_stats():
    e_mod, t_mod = _pair("BatchNorm1d", 4)
    _step(e_mod, t_mod, rand(5, 4))
    e_mod.eval()
    t_mod.eval()
    _step(e_mod, t_mod, rand(1, 4))


def test_batch_norm_float32_running_stats_after_steps():
    e_mod, t_mod = enn.BatchNorm2d(3, momentum=None), tnn.BatchNorm2d(3, momentum=None)
    for _ in range(4):
        x = rand(4, 3, 5, 5, dtype=np.float32)
        _assert_close(e_mod(ember.tensor(x)), t_mod(torch.tensor(x)), atol=1e-5)
    assert int(e_mod.num_batches_tracked) == 4 and e_mod.num_batches_tracked.dtype is ember.int64
    for key, t_val in t_mod.state_dict().items():
        np.testing.assert_allclose(e_mod.state_dict()[key].numpy(), t_val.numpy(), rtol=1e-5, atol=1e-7)
    e_mod.eval()
    t_mod.eval()
    x = rand(2, 3, 5, 5, dtype=np.float32)
    _assert_close(e_mod(ember.tensor(x)), t_mod(torch.tensor(x)), atol=1e-5)


def test_batch_norm_reset_running_stats_and_parameters():
    bn = enn.BatchNorm1d(3)
    bn(ember.randn(4, 3) * 3 + 1)
    with ember.no_grad():
        bn.weight.mul_(2)
        bn.bias.add_(1)
    bn.reset_running_stats()
    assert bn.running_mean.tolist() == [0.0] * 3 and bn.running_var.tolist() == [1.0] * 3
    assert bn.num_batches_tracked.item() == 0 and bn.weight.tolist() == [2.0] * 3
    bn(ember.randn(4, 3))
    bn.reset_parameters()
    assert bn.weight.tolist() == [1.0] * 3 and bn.bias.tolist() == [0.0] * 3
    assert bn.running_mean.tolist() == [0.0] * 3 and bn.num_batches_tracked.item() == 0


def test_batch_norm_state_dict_round_trip_and_old_checkpoint():
    src = enn.BatchNorm1d(3)
    src(ember.randn(4, 3))
    dst = enn.BatchNorm1d(3)
    dst.load_state_dict(src.state_dict())
    assert dst.running_mean.tolist() == src.running_mean.tolist() and dst.num_batches_tracked.item() == 1
    # a checkpoint from before num_batches_tracked (no version metadata) still loads
    old = collections.OrderedDict((k, v) for k, v in src.state_dict().items() if k != "num_batches_tracked")
    fresh = enn.BatchNorm1d(3)
    fresh.load_state_dict(old)
    assert fresh.num_batches_tracked.item() == 0
    assert fresh.running_var.tolist() == src.running_var.tolist()


def test_batch_norm_module_errors():
    with pytest.raises(ValueError, match=r"^Expected more than 1 value per channel when training, got input size "
                                         r"ember\.Size\(\[1, 4\]\)$"):
        enn.BatchNorm1d(4)(ember.randn(1, 4))
    with pytest.raises(ValueError, match=r"^expected 4D input \(got 3D input\)$"):
        enn.BatchNorm2d(3)(ember.randn(2, 3, 4))
    with pytest.raises(ValueError, match=r"^expected 2D or 3D input \(got 4D input\)$"):
        enn.BatchNorm1d(3)(ember.randn(2, 3, 4, 5))
    with pytest.raises(ValueError, match=r"^expected 5D input \(got 4D input\)$"):
        enn.BatchNorm3d(3)(ember.randn(2, 3, 4, 5))
    bn = enn.BatchNorm1d(3)
    with pytest.raises(RuntimeError, match="^running_mean should contain 4 elements not 3$"):
        bn(ember.randn(2, 4))
    # NOTE: PyTorch counts the batch before batch_norm's size check fails; ember changes no state on
    # bad input (DESIGN.md, issue 3 item 7)
    assert bn.num_batches_tracked.item() == 0
    bn(ember.randn(2, 3))
    assert bn.num_batches_tracked.item() == 1
    bn2 = enn.BatchNorm2d(3)
    with pytest.raises(ValueError):
        bn2(ember.randn(2, 3, 4))
    assert bn2.num_batches_tracked.item() == 0  # the dim check runs before any state changes


# ------------------------------------------------------------------------------------------
# InstanceNorm
# ------------------------------------------------------------------------------------------

IN_CASES = [("InstanceNorm1d", (2, 3, 5)), ("InstanceNorm1d", (3, 5)), ("InstanceNorm2d", (2, 3, 4, 4)),
            ("InstanceNorm2d", (3, 4, 4)), ("InstanceNorm3d", (2, 3, 2, 3, 2))]


@pytest.mark.parametrize("name,shape", IN_CASES)
@pytest.mark.parametrize("kwargs", [{}, {"affine": True}, {"track_running_stats": True},
                                    {"affine": True, "track_running_stats": True, "momentum": 0.3}])
def test_instance_norm_matches_torch(name, shape, kwargs):
    e_mod, t_mod = _pair(name, 3, **kwargs)
    assert repr(e_mod) == repr(t_mod)
    for _ in range(2):
        _step(e_mod, t_mod, rand(*shape))
    e_mod.eval()
    t_mod.eval()
    _step(e_mod, t_mod, rand(*shape))


def test_instance_norm_errors_and_warning():
    with pytest.raises(ValueError, match=r"^expected 2D or 3D input \(got 4D input\)$"):
        enn.InstanceNorm1d(3)(ember.randn(2, 3, 4, 5))
    with pytest.raises(ValueError, match=r"^expected 3D or 4D input \(got 2D input\)$"):
        enn.InstanceNorm2d(3)(ember.randn(2, 3))
    with pytest.raises(ValueError, match=r"^expected 4D or 5D input \(got 2D input\)$"):
        enn.InstanceNorm3d(3)(ember.randn(2, 3))
    with pytest.raises(ValueError, match=r"^expected input's size at dim=1 to match num_features \(3\), but got: "
                                         r"4\.$"):
        enn.InstanceNorm1d(3, affine=True)(ember.randn(2, 4, 5))
    with pytest.warns(UserWarning, match="input's size at dim=1 does not match num_features"):
        out = enn.InstanceNorm1d(3)(ember.randn(2, 4, 5))
    assert out.shape == (2, 4, 5)
    with pytest.raises(ValueError, match="Expected more than 1 spatial element when training"):
        enn.InstanceNorm1d(3)(ember.randn(2, 3, 1))


def test_instance_norm_rejects_stale_running_stats_in_state_dict():
    stale = collections.OrderedDict(running_mean=ember.zeros(3), running_var=ember.ones(3))
    with pytest.raises(RuntimeError, match='Unexpected running stats buffer\\(s\\) "running_mean" and '
                                           '"running_var" for InstanceNorm1d with track_running_stats=False'):
        enn.InstanceNorm1d(3).load_state_dict(stale)


# ------------------------------------------------------------------------------------------
# LayerNorm / GroupNorm / RMSNorm / LocalResponseNorm
# ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("args,kwargs,shape", [
    ((4,), {}, (3, 4)), ((4,), {"bias": False}, (2, 3, 4)), (([3, 4],), {"eps": 1e-3}, (2, 3, 4)),
    ((4,), {"elementwise_affine": False}, (5, 4))])
def test_layer_norm_module(args, kwargs, shape):
    e_mod, t_mod = _pair("LayerNorm", *args, **kwargs)
    assert repr(e_mod) == repr(t_mod)
    _step(e_mod, t_mod, rand(*shape))
    _step(e_mod, t_mod, noncontiguous(rand(*shape)))


@pytest.mark.parametrize("args,kwargs,shape", [
    ((2, 4), {}, (3, 4)), ((2, 4), {"affine": False}, (2, 4, 5)), ((1, 4), {"eps": 1e-3}, (2, 4, 3, 3)),
    ((4, 4), {"bias": False}, (2, 4, 3))])
def test_group_norm_module(args, kwargs, shape):
    e_mod, t_mod = _pair("GroupNorm", *args, **kwargs)
    assert repr(e_mod) == repr(t_mod)
    _step(e_mod, t_mod, rand(*shape))


@pytest.mark.parametrize("args,kwargs,shape", [
    ((4,), {}, (3, 4)), (([3, 4],), {"eps": 1e-3}, (2, 3, 4)), ((4,), {"elementwise_affine": False}, (5, 4))])
def test_rms_norm_module(args, kwargs, shape):
    e_mod, t_mod = _pair("RMSNorm", *args, **kwargs)
    assert repr(e_mod) == repr(t_mod)
    _step(e_mod, t_mod, rand(*shape))


def test_local_response_norm_module():
    e_mod, t_mod = _pair("LocalResponseNorm", 3, alpha=0.2, beta=0.5, k=1.5)
    assert repr(e_mod) == repr(t_mod)
    _step(e_mod, t_mod, rand(2, 5, 3, 3))


def test_normalization_state_dict_keys_and_defaults():
    for e_mod, t_mod in [(enn.LayerNorm(4), tnn.LayerNorm(4)), (enn.GroupNorm(2, 4), tnn.GroupNorm(2, 4)),
                         (enn.RMSNorm(4), tnn.RMSNorm(4)), (enn.LayerNorm(4, bias=False), tnn.LayerNorm(4, bias=False)),
                         (enn.BatchNorm1d(4, affine=False), tnn.BatchNorm1d(4, affine=False))]:
        _assert_buffers_equal(e_mod, t_mod)


def test_normalization_module_errors():
    with pytest.raises(ValueError, match=r"^num_channels \(4\) must be divisible by num_groups \(3\)$"):
        enn.GroupNorm(3, 4)
    with pytest.raises(RuntimeError, match=r"^Given normalized_shape=\[3\], expected input with shape \[\*, 3\], "
                                           r"but got input of size\[2, 4\]$"):
        enn.LayerNorm(3)(ember.randn(2, 4))
    with pytest.raises(RuntimeError, match="^Expected weight to be a vector of size equal to the number of "
                                           "channels in input"):
        enn.GroupNorm(1, 3)(ember.randn(2, 4))
    with pytest.raises(ValueError, match="^Expected 3D or higher dimensionality"):
        enn.LocalResponseNorm(2)(ember.randn(2, 4))


def test_modules_in_float32_by_default():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for mod in (enn.BatchNorm1d(3), enn.LayerNorm(3), enn.GroupNorm(1, 3), enn.RMSNorm(3),
                    enn.InstanceNorm1d(3, affine=True)):
            assert mod(ember.randn(2, 3, 4) if isinstance(mod, (enn.InstanceNorm1d, enn.BatchNorm1d))
                       else ember.randn(2, 3)).dtype is ember.float32
