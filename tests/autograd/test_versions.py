"""Version counters: in-place changes of saved tensors, leaf rules, .data versus detach()."""
import numpy as np
import pytest

import ember
from tests.helpers import torch

LIBS = pytest.mark.parametrize("T", [ember, torch], ids=["ember", "torch"])

MODIFIED = "one of the variables needed for gradient computation has been modified by an inplace operation: "


def _message(T, fn):
    with pytest.raises(RuntimeError) as info:
        fn(T)
    return str(info.value).replace("torch.", "ember.")


def _saved_input_modified(T):
    x = T.ones(3, requires_grad=True)
    y = x * 2
    z = y * y
    y.add_(1)
    z.sum().backward()


def _saved_output_modified(T):
    x = T.ones(3, requires_grad=True)
    y = x.exp()
    y.mul_(2)
    y.sum().backward()


def _saved_leaf_modified_through_detach(T):
    x = T.ones(2, 3, requires_grad=True)
    z = x.exp() * x
    x.detach().add_(1)
    z.sum().backward()


def _saved_reduction_modified_through_detach(T):
    x = T.ones(3, requires_grad=True)
    y = x.sum(0)
    z = y * y
    y.detach().add_(1)
    z.backward()


@pytest.mark.parametrize("fn", [_saved_input_modified, _saved_output_modified, _saved_leaf_modified_through_detach,
                                _saved_reduction_modified_through_detach])
def test_modified_saved_tensor_error_matches_torch(fn):
    mine = _message(ember, fn)
    assert mine.startswith(MODIFIED)
    assert mine == _message(torch, fn)


def test_data_changes_are_not_tracked():
    for T in (ember, torch):
        x = T.ones(3, requires_grad=True)
        y = x * 1
        z = y * y
        y.data.add_(1)
        assert y._version == 0
        z.sum().backward()
        np.testing.assert_allclose(x.grad.numpy(), [4.0, 4.0, 4.0])


@LIBS
def test_data_shares_storage_and_is_assignable(T):
    x = T.ones(3, requires_grad=True)
    d = x.data
    assert not d.requires_grad and d.is_leaf
    d.add_(1)
    np.testing.assert_allclose(x.detach().numpy(), [2.0, 2.0, 2.0])
    x.data = T.zeros(2)
    assert x.requires_grad and tuple(x.shape) == (2,)
    with pytest.raises(RuntimeError, match="data set to a tensor that requires gradients must be floating point"):
        x.data = T.zeros(2, dtype=T.int64)


@LIBS
def test_detach_shares_storage_and_version(T):
    x = T.ones(3, requires_grad=True)
    d = x.detach()
    assert not d.requires_grad
    d.add_(1)
    assert x._version == 1 == d._version
    np.testing.assert_allclose(x.detach().numpy(), [2.0, 2.0, 2.0])


@LIBS
def test_in_place_on_leaf_requiring_grad(T):
    x = T.ones(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="a leaf Variable that requires grad is being used in an in-place operation."):
        x.add_(1)
    with T.no_grad():
        x.mul_(2)
    np.testing.assert_allclose(x.detach().numpy(), [2.0, 2.0, 2.0])


@LIBS
def test_requires_grad_rules(T):
    x = T.ones(3, requires_grad=True)
    y = x * 2
    with pytest.raises(RuntimeError, match="you can only change requires_grad flags of leaf variables. If you want to "
                                           "use a computed variable in a subgraph"):
        y.requires_grad = False
    with pytest.raises(RuntimeError, match="you can only change requires_grad flags of leaf variables."):
        y.requires_grad = True
    assert y.requires_grad_(True) is y
    with pytest.raises(RuntimeError, match="only Tensors of floating point and complex dtype can require gradients"):
        T.ones(3, dtype=T.int64).requires_grad = True
    with pytest.raises(RuntimeError, match="only Tensors of floating point dtype can require gradients"):
        T.ones(3, dtype=T.int64).requires_grad_()
    with pytest.raises(RuntimeError, match="Only Tensors of floating point and complex dtype can require gradients"):
        T.tensor([1, 2], requires_grad=True)


def test_in_place_after_use_bumps_version_and_rebases():
    x = ember.ones(3, requires_grad=True)
    y = x * 2
    y.add_(1)
    assert y._version == 1 and y.grad_fn.name() == "AddBackward0"
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [2.0, 2.0, 2.0])
