"""In-place ops on views of tensors in a graph rebase the base's history (PyTorch's CopySlices)."""
import numpy as np
import pytest

import ember
from tests.helpers import check, rand

torch = pytest.importorskip("torch")


def _chain(T, x):
    y = x * 1
    y.view(-1)[2:6].mul_(x.view(-1)[2:6])
    y.t()[1].add_(3)
    return y * y


def test_inplace_on_views_matches_torch():
    check(_chain, np.arange(12.0).reshape(3, 4))


def test_view_after_inplace_carries_gradient():
    def fn(T, x):
        y = x * 3  # (exp would save its output, and modifying it in place is an error, as in torch)
        v = y[1]
        v.mul_(2)
        return v.sum() + y.sum()
    check(fn, rand(3, 4))


def test_base_grad_fn_is_copyslices():
    x = ember.randn(3, 4, requires_grad=True)
    y = x * 1
    y[0].mul_(2)
    assert type(y.grad_fn).__name__ == "CopySlices"


def test_inplace_on_view_of_leaf_raises():
    x = ember.randn(3, 4, requires_grad=True)
    with pytest.raises(RuntimeError, match="a view of a leaf Variable that requires grad is being used in an "
                                           "in-place operation"):
        x[0].mul_(2)


def test_no_grad_view_inplace_writes_through():
    x = ember.zeros(2, 3)
    x[1].add_(5)
    assert x.tolist() == [[0.0, 0.0, 0.0], [5.0, 5.0, 5.0]]
