"""Pooling, padding and upsampling modules against PyTorch: outputs, gradients and repr."""
import numpy as np
import pytest

import ember
from tests.helpers import rand, torch

enn = ember.nn


@pytest.mark.parametrize("spec,xshape", [
    ("MaxPool2d(2)", (2, 3, 8, 8)),
    ("MaxPool2d(3, 2, 1, ceil_mode=True)", (2, 3, 7, 6)),
    ("MaxPool2d((2, 3), stride=1, dilation=(1, 2))", (1, 2, 5, 7)),
    ("MaxPool1d(3, 2, 1, ceil_mode=True)", (2, 3, 9)),
    ("MaxPool3d(2, dilation=1)", (1, 2, 4, 4, 4)),
    ("AvgPool2d(2)", (2, 3, 8, 8)),
    ("AvgPool2d(3, 2, 1, ceil_mode=True, count_include_pad=False)", (2, 3, 7, 6)),
    ("AvgPool2d(2, divisor_override=3)", (2, 3, 6, 6)),
    ("AvgPool1d(3, 2, 1)", (2, 3, 9)),
    ("AvgPool3d(2, stride=1)", (1, 2, 3, 4, 3)),
    ("AdaptiveAvgPool2d((1, 1))", (2, 3, 7, 6)),
    ("AdaptiveAvgPool2d((3, None))", (2, 3, 7, 6)),
    ("AdaptiveAvgPool1d(4)", (2, 3, 9)),
    ("AdaptiveAvgPool3d(2)", (1, 2, 5, 4, 3)),
    ("AdaptiveMaxPool2d(3)", (2, 3, 7, 6)),
    ("AdaptiveMaxPool1d(4)", (2, 3, 9)),
    ("Upsample(scale_factor=2)", (2, 3, 4, 5)),
    ("Upsample(size=(5, 7), mode='bilinear', align_corners=True)", (2, 3, 4, 5)),
    ("Upsample(scale_factor=2, mode='bilinear')", (2, 3, 4, 5)),
    ("UpsamplingNearest2d(scale_factor=3)", (1, 2, 3, 3)),
    ("UpsamplingBilinear2d(size=(4, 6))", (1, 2, 3, 3)),
    ("ZeroPad2d((1, 2, 0, 3))", (2, 3, 4, 5)),
    ("ConstantPad1d(2, 3.5)", (2, 3, 4)),
    ("ConstantPad2d((1, 0, 2, 1), -1.0)", (2, 3, 4, 5)),
    ("ReflectionPad1d(2)", (2, 3, 4)),
    ("ReflectionPad2d((1, 2, 3, 0))", (2, 3, 4, 5)),
    ("ReplicationPad1d((0, 3))", (2, 3, 4)),
    ("ReplicationPad2d(2)", (3, 4, 5)),
    ("CircularPad2d(1)", (2, 3, 4, 5)),
])
def test_module_matches_torch(spec, xshape):
    e_mod, t_mod = eval("enn." + spec), eval("torch.nn." + spec)
    assert repr(e_mod) == repr(t_mod)
    x = rand(*xshape)
    ex, tx = ember.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    eo, to = e_mod(ex), t_mod(tx)
    np.testing.assert_allclose(eo.detach().numpy(), to.detach().numpy(), atol=1e-6, rtol=1e-5)
    w = rand(*to.shape)
    (eo * ember.tensor(w)).sum().backward()
    (to * torch.tensor(w)).sum().backward()
    np.testing.assert_allclose(ex.grad.numpy(), tx.grad.numpy(), atol=1e-6, rtol=1e-5)


@pytest.mark.parametrize("spec,xshape", [
    ("MaxPool2d(2, return_indices=True)", (2, 3, 6, 6)),
    ("MaxPool1d(2, return_indices=True)", (2, 3, 6)),
    ("AdaptiveMaxPool2d(4, return_indices=True)", (2, 3, 7, 6)),
])
def test_return_indices_modules(spec, xshape):
    x = rand(*xshape)
    (eo, ei), (to, ti) = eval("enn." + spec)(ember.tensor(x)), eval("torch.nn." + spec)(torch.tensor(x))
    np.testing.assert_allclose(eo.numpy(), to.numpy())
    assert ei.dtype == ember.int64
    np.testing.assert_array_equal(ei.numpy(), ti.numpy())


@pytest.mark.parametrize("name,args,xshape", [
    ("max_pool1d_with_indices", (2, 1, 1), (2, 3, 7)),
    ("max_pool2d_with_indices", (2,), (2, 3, 6, 5)),
    ("max_pool2d_with_indices", (3, 2, 1, 1, True, False), (2, 3, 7, 7)),  # return_indices=False is ignored
    ("max_pool3d_with_indices", (2,), (1, 2, 4, 4, 4)),
    ("adaptive_max_pool1d_with_indices", (3,), (2, 3, 7)),
    ("adaptive_max_pool2d_with_indices", ((3, 2),), (2, 3, 7, 5)),
])
def test_functional_with_indices_always_return_indices(name, args, xshape):
    x = rand(*xshape)
    ex, tx = ember.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    (eo, ei), (to, ti) = getattr(enn.functional, name)(ex, *args), getattr(torch.nn.functional, name)(tx, *args)
    np.testing.assert_allclose(eo.detach().numpy(), to.detach().numpy())
    assert ei.dtype == ember.int64
    np.testing.assert_array_equal(ei.numpy(), ti.numpy())
    eo.sum().backward()
    to.sum().backward()
    np.testing.assert_allclose(ex.grad.numpy(), tx.grad.numpy())


def test_cnn_pipeline_matches_torch():
    """The benchmark network (smaller batch): Conv-ReLU-Conv-ReLU-MaxPool-Flatten-Linear-ReLU-Linear."""
    def build(nn):
        return nn.Sequential(nn.Conv2d(1, 8, 3), nn.ReLU(), nn.Conv2d(8, 16, 3), nn.ReLU(), nn.MaxPool2d(2),
                             nn.Flatten(), nn.Linear(16 * 12 * 12, 32), nn.ReLU(), nn.Linear(32, 10))
    e_net, t_net = build(enn), build(torch.nn)
    for (name, p) in e_net.named_parameters():
        t_net.get_parameter(name).data = torch.from_numpy(p.detach().numpy().copy())
    x = rand(4, 1, 28, 28, dtype=np.float32)
    eo, to = e_net(ember.tensor(x)), t_net(torch.tensor(x))
    np.testing.assert_allclose(eo.detach().numpy(), to.detach().numpy(), atol=1e-5, rtol=1e-4)
    eo.sum().backward()
    to.sum().backward()
    for name, p in e_net.named_parameters():
        np.testing.assert_allclose(p.grad.numpy(), t_net.get_parameter(name).grad.numpy(), atol=1e-4, rtol=1e-4)
