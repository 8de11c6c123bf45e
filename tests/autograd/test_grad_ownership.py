"""The engine hands gradient arrays to leaves without copying only when nothing else holds them."""
import numpy as np

import ember


def _shares(a, b):
    return np.shares_memory(a.grad.numpy(), b.grad.numpy())


def test_add_of_two_leaves_gives_separate_grads():
    a = ember.randn(3, requires_grad=True)
    b = ember.randn(3, requires_grad=True)
    (a + b).sum().backward()
    assert not _shares(a, b)
    a.grad.mul_(2)  # an in-place change of one grad (clip_grad_norm_ does this) leaves the other alone
    assert b.grad.tolist() == [1.0, 1.0, 1.0]


def test_view_and_plain_leaf_gradients_do_not_alias():
    a = ember.randn(2, 3, requires_grad=True)
    b = ember.randn(6, requires_grad=True)
    (a.view(-1) * 1 + b).sum().backward()
    assert not _shares(a, b)


def test_user_gradient_is_never_kept_as_grad():
    x = ember.randn(3, requires_grad=True)
    g = ember.ones(3)
    (x * 1).backward(g)
    x.grad.add_(1)
    assert g.tolist() == [1.0, 1.0, 1.0]


def test_custom_function_gradient_is_copied_into_grad():
    saved = ember.full((3,), 5.0)

    class ReturnsSaved(ember.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        def backward(ctx, g):
            return saved  # a tensor the user keeps

    x = ember.randn(3, requires_grad=True)
    ReturnsSaved.apply(x).sum().backward()
    x.grad.zero_()
    assert saved.tolist() == [5.0, 5.0, 5.0]


def test_linear_weight_grad_is_contiguous_like_torch():
    lin = ember.nn.Linear(4, 3)
    lin(ember.randn(5, 4)).sum().backward()
    assert lin.weight.grad.is_contiguous() and lin.weight.grad.stride() == (4, 1)
