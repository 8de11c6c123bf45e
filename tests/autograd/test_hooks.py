"""Tensor hooks, node hooks, retain_grad, non-leaf .grad warnings."""
import numpy as np
import pytest

import ember
from tests.helpers import torch

LIBS = pytest.mark.parametrize("T", [ember, torch], ids=["ember", "torch"])


@LIBS
def test_leaf_hook_replaces_gradient_and_is_removable(T):
    x = T.tensor([1.0, 2.0], requires_grad=True)
    seen = []
    handle = x.register_hook(lambda g: seen.append(g.clone()) or g * 10)
    (x * 3).sum().backward()
    handle.remove()
    (x * 3).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [33.0, 33.0])
    assert len(seen) == 1
    np.testing.assert_allclose(seen[0].numpy(), [3.0, 3.0])


@LIBS
def test_leaf_hook_sees_gradient_before_accumulation(T):
    x = T.tensor([1.0, 2.0], requires_grad=True)
    x.grad = T.tensor([5.0, 5.0])
    seen = []
    x.register_hook(lambda g: seen.append((g.clone(), x.grad.clone())))
    (x * 3).sum().backward()
    np.testing.assert_allclose(seen[0][0].numpy(), [3.0, 3.0])
    np.testing.assert_allclose(seen[0][1].numpy(), [5.0, 5.0])
    np.testing.assert_allclose(x.grad.numpy(), [8.0, 8.0])


@LIBS
def test_non_leaf_hooks_chain_in_order(T):
    x = T.tensor([1.0, 2.0], requires_grad=True)
    y = x * 2
    seen = []
    y.register_hook(lambda g: seen.append(g.clone()))
    y.register_hook(lambda g: g * 2)
    y.register_hook(lambda g: seen.append(g.clone()))
    (y * 3).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [12.0, 12.0])
    np.testing.assert_allclose(seen[0].numpy(), [3.0, 3.0])
    np.testing.assert_allclose(seen[1].numpy(), [6.0, 6.0])


@LIBS
def test_retain_grad_sees_hook_result(T):
    x = T.tensor([1.0, 2.0], requires_grad=True)
    y = x * 2
    y.retain_grad()
    y.register_hook(lambda g: g * 2)
    (y * 3).sum().backward()
    assert y.retains_grad and not x.retains_grad
    np.testing.assert_allclose(y.grad.numpy(), [6.0, 6.0])
    np.testing.assert_allclose(x.grad.numpy(), [12.0, 12.0])


@LIBS
def test_retained_grad_accumulates(T):
    x = T.tensor([1.0, 2.0], requires_grad=True)
    y = x * 2
    y.retain_grad()
    z = (y * y).sum()
    z.backward(retain_graph=True)
    z.backward()
    np.testing.assert_allclose(y.grad.numpy(), [8.0, 16.0])


@LIBS
def test_retain_grad_follows_in_place_update(T):
    x = T.tensor([1.0, 2.0], requires_grad=True)
    y = x * 2
    y.retain_grad()
    y.mul_(3)
    y.sum().backward()
    np.testing.assert_allclose(y.grad.numpy(), [1.0, 1.0])
    np.testing.assert_allclose(x.grad.numpy(), [6.0, 6.0])


def test_retain_grad_on_leaf_is_noop_and_errors_without_grad():
    x = ember.ones(2, requires_grad=True)
    x.retain_grad()
    assert not x.retains_grad
    with pytest.raises(RuntimeError, match="can't retain_grad on Tensor that has requires_grad=False"):
        ember.ones(2).retain_grad()


def test_hook_on_tensor_without_grad_errors():
    with pytest.raises(RuntimeError, match="cannot register a hook on a tensor that doesn't require gradient"):
        ember.ones(2).register_hook(lambda g: g)


def test_non_leaf_grad_access_warns_and_returns_none():
    x = ember.ones(2, requires_grad=True)
    y = x * 2
    y.sum().backward()
    with pytest.warns(UserWarning, match="The .grad attribute of a Tensor that is not a leaf Tensor is being accessed"):
        assert y.grad is None


def test_hook_handle_context_manager():
    x = ember.ones(2, requires_grad=True)
    with x.register_hook(lambda g: g * 0):
        (x * 1).sum().backward()
    (x * 1).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [1.0, 1.0])


@LIBS
def test_node_pre_and_post_hooks(T):
    x = T.tensor([1.0, 2.0], requires_grad=True)
    y = x * 3
    calls = []
    y.grad_fn.register_prehook(lambda go: calls.append(("pre", go[0].tolist())) or (go[0] * 2,))
    y.grad_fn.register_hook(lambda gi, go: calls.append(("post", gi[0].tolist(), go[0].tolist())))
    y.sum().backward()
    assert calls == [("pre", [1.0, 1.0]), ("post", [6.0, 6.0], [2.0, 2.0])]
    np.testing.assert_allclose(x.grad.numpy(), [6.0, 6.0])


@LIBS
def test_post_accumulate_grad_hook(T):
    x = T.tensor([1.0, 2.0], requires_grad=True)
    seen = []
    x.register_post_accumulate_grad_hook(lambda t: seen.append(t.grad.clone()))
    (x * 2).sum().backward()
    np.testing.assert_allclose(seen[0].numpy(), [2.0, 2.0])


def test_hooks_run_for_autograd_grad_and_grad_untouched():
    x = ember.tensor([1.0, 2.0], requires_grad=True)
    y = x * 2
    y.register_hook(lambda g: g * 5)
    (g,) = ember.autograd.grad(y.sum(), x)
    np.testing.assert_allclose(g.numpy(), [10.0, 10.0])
    assert x.grad is None


def _size_changing_hook(g):
    return g[:1]


@LIBS
@pytest.mark.parametrize("on_leaf", [True, False], ids=["leaf", "non-leaf"])
def test_hook_may_not_change_type_dtype_or_size(T, on_leaf):
    def target():
        x = T.ones(2, requires_grad=True)
        return x, (x if on_leaf else x * 1)
    x, t = target()
    t.register_hook(_size_changing_hook)
    with pytest.raises(RuntimeError, match="hook '_size_changing_hook' has changed the size of value"):
        (t * 2).sum().backward()
    x, t = target()
    t.register_hook(lambda g: g.double())
    with pytest.raises(RuntimeError, match=r"hook '<lambda>' has changed the type of value \(was \w+.FloatTensor got "
                                           r"\w+.DoubleTensor\)"):
        (t * 2).sum().backward()
    x, t = target()
    t.register_hook(lambda g: 5)
    with pytest.raises(TypeError, match="expected Variable, but hook returned 'int'"):
        (t * 2).sum().backward()
