"""nn.Parameter compared with torch."""
import copy
import pickle

import pytest

import ember
from tests.helpers import torch


def test_is_a_tensor_subclass_with_torch_repr():
    for data in ([1.0, 2.0], [[1.5, -2.0]], []):
        e, t = ember.nn.Parameter(ember.tensor(data)), torch.nn.Parameter(torch.tensor(data))
        assert isinstance(e, ember.Tensor) and isinstance(e, ember.nn.Parameter)
        assert repr(e) == repr(t).replace("torch", "ember")
        assert str(e) == str(t).replace("torch", "ember")
    e = ember.nn.Parameter(ember.tensor([1.0]), requires_grad=False)
    assert repr(e) == repr(torch.nn.Parameter(torch.tensor([1.0]), requires_grad=False))
    assert ember.nn.parameter.Parameter is ember.nn.Parameter


def test_defaults():
    p = ember.nn.Parameter()
    assert p.shape == (0,) and p.requires_grad and p.dtype is ember.float32
    assert ember.nn.Parameter(ember.ones(2), requires_grad=False).requires_grad is False
    assert ember.nn.Parameter(data=ember.ones(1, dtype=ember.float64)).dtype is ember.float64


def test_shares_storage_with_data():
    t = ember.zeros(2)
    p = ember.nn.Parameter(t)
    t.add_(1)
    assert p.tolist() == [1.0, 1.0]
    p.data.add_(1)
    assert t.tolist() == [2.0, 2.0]
    assert type(p.data) is ember.Tensor


def test_results_of_ops_are_plain_tensors():
    p = ember.nn.Parameter(ember.ones(2))
    for out in (p * 2, -p, p + p, p.detach(), p.clone(), p.exp(), p.half()):
        assert type(out) is ember.Tensor
    assert p.is_leaf and p.grad_fn is None
    assert type(p.to(ember.float32)) is ember.nn.Parameter  # to() returns self when nothing changes


def test_from_non_leaf_becomes_leaf():
    p = ember.nn.Parameter(ember.ones(2, requires_grad=True) * 2)
    assert p.is_leaf and p.requires_grad and p.grad_fn is None
    (p * p).sum().backward()
    assert p.grad.tolist() == [4.0, 4.0]


def test_integer_data_errors_like_torch():
    msg = "Only Tensors of floating point and complex dtype can require gradients"
    with pytest.raises(RuntimeError, match=msg):
        torch.nn.Parameter(torch.tensor([1, 2]))
    with pytest.raises(RuntimeError, match=msg):
        ember.nn.Parameter(ember.tensor([1, 2]))
    p = ember.nn.Parameter(ember.tensor([1, 2]), requires_grad=False)
    assert repr(p) == repr(torch.nn.Parameter(torch.tensor([1, 2]), requires_grad=False)).replace("torch", "ember")


def test_non_tensor_data_errors_like_torch():
    for lib in (torch, ember):
        with pytest.raises(AttributeError, match="'list' object has no attribute 'detach'"):
            lib.nn.Parameter([1.0, 2.0])


@pytest.mark.parametrize("requires_grad", [True, False])
def test_deepcopy_and_pickle_keep_type(requires_grad):
    p = ember.nn.Parameter(ember.tensor([1.0, 2.0]), requires_grad=requires_grad)
    for c in (copy.deepcopy(p), pickle.loads(pickle.dumps(p))):
        assert type(c) is ember.nn.Parameter and c.requires_grad == requires_grad and c.tolist() == [1.0, 2.0]
    c = copy.deepcopy(p)
    c.data.add_(1)
    assert p.tolist() == [1.0, 2.0]


def test_deepcopy_drops_grad_like_torch():
    p = ember.nn.Parameter(ember.ones(2))
    p.grad = ember.ones(2)
    assert copy.deepcopy(p).grad is None


def test_inplace_on_parameter_requires_no_grad():
    p = ember.nn.Parameter(ember.ones(2))
    with pytest.raises(RuntimeError, match="a leaf Variable that requires grad is being used in an in-place operation."):
        p.add_(1)
    with ember.no_grad():
        p.add_(1)
    assert p.tolist() == [2.0, 2.0] and type(p) is ember.nn.Parameter
