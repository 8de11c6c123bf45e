"""The backward engine: backward/grad semantics, accumulation, higher order, memory, deep graphs."""
import gc
import tracemalloc
import weakref

import numpy as np
import pytest

import ember
from tests.helpers import check, rand, torch


def _pair(arr, requires_grad=True):
    return (ember.tensor(arr, requires_grad=requires_grad), torch.tensor(arr, requires_grad=requires_grad))


# -- Tensor.backward ------------------------------------------------------------------------

def test_backward_non_scalar_without_gradient_errors():
    x = ember.ones(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="grad can be implicitly created only for scalar outputs"):
        (x * 2).backward()


def test_backward_on_tensor_without_grad_errors():
    with pytest.raises(RuntimeError, match="element 0 of tensors does not require grad and does not have a grad_fn"):
        ember.ones(3).sum().backward()


def test_backward_with_gradient_matches_torch():
    arr, weight = rand(2, 3), rand(2, 3)
    grads = []
    for x in _pair(arr):
        T = ember if isinstance(x, ember.Tensor) else torch
        (x * x).tanh().backward(T.tensor(weight))
        grads.append(x.grad.numpy())
    np.testing.assert_allclose(*grads, rtol=1e-10)


def test_gradient_is_cast_to_output_dtype():
    x = ember.ones(2, requires_grad=True)
    (x * 2).backward(ember.ones(2, dtype=ember.int64))
    assert x.grad.dtype is ember.float32
    np.testing.assert_allclose(x.grad.numpy(), [2.0, 2.0])


def test_gradient_shape_mismatch_errors():
    x = ember.ones(2, requires_grad=True)
    with pytest.raises(RuntimeError, match=r"Mismatch in shape: grad_output\[0\] has a shape of .*\[3\]"):
        (x * 2).backward(ember.ones(3))


def test_leaf_grad_accumulates_across_calls():
    for T in (ember, torch):
        x = T.tensor([1.0, 2.0], requires_grad=True)
        (x * x).sum().backward()
        (x * 3).sum().backward()
        np.testing.assert_allclose(x.grad.numpy(), [5.0, 7.0])


def test_retain_graph_second_backward_doubles_grads():
    x = ember.tensor([1.0, 2.0], requires_grad=True)
    y = (x.exp() * x).sum()
    y.backward(retain_graph=True)
    first = x.grad.numpy().copy()
    y.backward()
    np.testing.assert_allclose(x.grad.numpy(), 2 * first)


def test_second_backward_through_freed_graph_errors():
    x = ember.tensor([1.0, 2.0], requires_grad=True)
    y = (x * x).sum()
    y.backward()
    with pytest.raises(RuntimeError, match="Trying to backward through the graph a second time"):
        y.backward()


def test_graph_without_saved_tensors_can_backward_twice():
    # PyTorch only fails when a freed saved tensor is needed: x + x saves nothing
    x = ember.tensor([1.0, 2.0], requires_grad=True)
    y = (x + x).sum()
    y.backward()
    y.backward()
    np.testing.assert_allclose(x.grad.numpy(), [4.0, 4.0])


def test_backward_inputs_restricts_accumulation():
    x = ember.tensor([1.0, 2.0], requires_grad=True)
    w = ember.tensor([3.0, 4.0], requires_grad=True)
    (x * w).sum().backward(inputs=[x])
    np.testing.assert_allclose(x.grad.numpy(), [3.0, 4.0])
    assert w.grad is None


def test_backward_inputs_non_leaf_gets_grad():
    for T in (ember, torch):
        x = T.tensor([1.0, 2.0], requires_grad=True)
        h = x * 2
        (h * h).sum().backward(inputs=[h])
        np.testing.assert_allclose(h.grad.numpy(), [4.0, 8.0])
        assert h.retains_grad and x.grad is None


def test_backward_inputs_errors():
    x = ember.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="`inputs` argument to `backward\\(\\)` cannot be empty."):
        (x * 2).sum().backward(inputs=[])
    with pytest.raises(RuntimeError, match="can't retain_grad on Tensor that has requires_grad=False"):
        (x * 2).sum().backward(inputs=[ember.ones(2)])


def test_autograd_backward_count_mismatch():
    x = ember.ones(2, requires_grad=True)
    with pytest.raises(RuntimeError, match="got 2 tensors and 1 gradients"):
        ember.autograd.backward([(x * 2).sum(), x.sum()], [ember.tensor(1.0)])


# -- autograd.grad ---------------------------------------------------------------------------

def test_grad_returns_without_touching_dot_grad():
    x = ember.tensor([1.0, 2.0], requires_grad=True)
    (g,) = ember.autograd.grad((x ** 2).sum(), x)
    np.testing.assert_allclose(g.numpy(), [2.0, 4.0])
    assert x.grad is None and not g.requires_grad


def test_grad_unused_input_error_and_allow_unused():
    x = ember.ones(2, requires_grad=True)
    z = ember.ones(2, requires_grad=True)
    with pytest.raises(RuntimeError, match="The differentiated Tensor at index 1 appears to not have been used in the "
                                           "graph. Set allow_unused=True if this is the desired behavior."):
        ember.autograd.grad((x * 2).sum(), [x, z])
    gx, gz = ember.autograd.grad((x * 2).sum(), [x, z], allow_unused=True)
    assert gz is None
    np.testing.assert_allclose(gx.numpy(), [2.0, 2.0])


def test_grad_materialize_grads():
    x = ember.ones(2, requires_grad=True)
    z = ember.ones(3, requires_grad=True)
    gx, gz = ember.autograd.grad((x * 2).sum(), [x, z], materialize_grads=True)
    np.testing.assert_array_equal(gz.numpy(), np.zeros(3))
    with pytest.raises(ValueError, match="Expected allow_unused to be True or not passed when materialize_grads=True"):
        ember.autograd.grad((x * 2).sum(), [x, z], materialize_grads=True, allow_unused=False)


def test_grad_errors():
    x = ember.ones(2, requires_grad=True)
    with pytest.raises(RuntimeError, match="One of the differentiated Tensors does not require grad"):
        ember.autograd.grad((x * 2).sum(), [x, ember.ones(2)])
    with pytest.raises(RuntimeError, match="`inputs` argument to `grad\\(\\)` cannot be empty."):
        ember.autograd.grad((x * 2).sum(), [])
    with pytest.raises(RuntimeError, match="got 2 tensors and 1 gradients"):
        ember.autograd.grad([x * 2, x * 3], x, [ember.ones(2)])


def test_grad_with_grad_outputs_and_none_entries():
    ex, tx = _pair([1.0, 2.0])
    results = []
    for T, x in ((ember, ex), (torch, tx)):
        (g,) = T.autograd.grad([x * 2, (x * 3).sum()], x, [T.tensor([1.0, 3.0]), None])
        results.append(g.detach().numpy())
    np.testing.assert_allclose(*results)


def test_grad_wrt_non_leaf_and_repeated_inputs():
    for T in (ember, torch):
        x = T.tensor([1.0, 2.0], requires_grad=True)
        y = x * 2
        gx, gy, gx2 = T.autograd.grad((y * y).sum(), [x, y, x])
        np.testing.assert_allclose(gx.numpy(), [8.0, 16.0])
        np.testing.assert_allclose(gy.numpy(), [4.0, 8.0])
        np.testing.assert_allclose(gx2.numpy(), gx.numpy())


def test_grad_of_leaf_itself():
    x = ember.tensor([1.0, 2.0], requires_grad=True)
    (g,) = ember.autograd.grad(x, x, ember.tensor([3.0, 4.0]))
    np.testing.assert_allclose(g.numpy(), [3.0, 4.0])


# -- higher order ----------------------------------------------------------------------------

HIGHER = {
    "cube": lambda T, x: x ** 3,
    "tanh": lambda T, x: x.tanh(),
    "exp": lambda T, x: x.exp(),
    "sigmoid": lambda T, x: T.sigmoid(x),
    "matmul": lambda T, x: (x @ x) * x,
    "sum": lambda T, x: x.sum(0) * x.sum(),
    "chain": lambda T, x: T.sigmoid((x * x).tanh().exp() * x),
}


def _derivatives(T, fn, arr, order):
    x = T.tensor(arr, requires_grad=True)
    out, g = [], fn(T, x)
    for _ in range(order):
        if not g.requires_grad:
            out.append(np.zeros_like(arr))
            continue
        (g,) = T.autograd.grad(g.sum(), x, create_graph=True, allow_unused=True, materialize_grads=True)
        out.append(g.detach().numpy().copy())
    return out


@pytest.mark.parametrize("name", sorted(HIGHER))
def test_second_and_third_derivatives_match_torch(name):
    arr = rand(3, 3, low=-1, high=1)
    mine = _derivatives(ember, HIGHER[name], arr, 3)
    ref = _derivatives(torch, HIGHER[name], arr, 3)
    for k, (m, r) in enumerate(zip(mine, ref)):
        np.testing.assert_allclose(m, r, rtol=1e-6, atol=1e-8, err_msg=f"derivative {k + 1}")


def test_hessian_vector_product_matches_torch():
    arr, v = rand(4), rand(4)
    results = []
    for T in (ember, torch):
        x = T.tensor(arr, requires_grad=True)
        y = (x.tanh() * x.exp()).sum() + (x * x).sum() * x.sum()
        (g,) = T.autograd.grad(y, x, create_graph=True)
        (hv,) = T.autograd.grad(g, x, grad_outputs=T.tensor(v))
        results.append(hv.numpy())
    np.testing.assert_allclose(*results, rtol=1e-10)


def test_backward_create_graph_leaves_differentiable_grad():
    x = ember.tensor([1.0, 2.0], dtype=ember.float64, requires_grad=True)
    (x ** 3).sum().backward(create_graph=True)
    g = x.grad
    assert g.requires_grad
    (gg,) = ember.autograd.grad(g.sum(), x)
    np.testing.assert_allclose(gg.numpy(), [6.0, 12.0])


# -- graph structure --------------------------------------------------------------------------

def _structure(node):
    if node is None:
        return None
    return (type(node).__name__, tuple((_structure(n), i) for n, i in node.next_functions))


def test_grad_fn_names_and_next_functions_match_torch():
    structures = []
    for T in (ember, torch):
        a, b, c = (T.ones(2, requires_grad=True) for _ in range(3))
        d = T.ones(2)
        out = ((a * b + c).sum() * 2, (a * d + 2).exp().sum(), (a - b) / c)
        structures.append([_structure(o.grad_fn) for o in out])
    assert structures[0] == structures[1]
    assert structures[0][0][0] == "MulBackward0"


def test_leaf_grad_fn_and_accumulate_grad_identity():
    a = ember.ones(2, requires_grad=True)
    y, z = a * 2, a * 3
    assert a.grad_fn is None and a.is_leaf and not y.is_leaf
    assert y.grad_fn.next_functions[0][0] is z.grad_fn.next_functions[0][0]
    assert y.grad_fn.next_functions[0][0].variable is a
    assert y.grad_fn.name() == "MulBackward0"


# -- reused nodes, deep graphs ---------------------------------------------------------------

def test_diamond_graphs_accumulate():
    check(lambda T, x: _diamond(x), rand(3))


def _diamond(x):
    y = x * x
    z = y + y
    return z * y + x


def test_same_tensor_used_many_times():
    check(lambda T, x, w: sum_chain(x, w), rand(4, 4), rand(4, 4))


def sum_chain(x, w):
    y = x
    for _ in range(20):
        y = (y * w + x).tanh()
    return y


def test_deep_chain_does_not_hit_recursion_limit():
    x = ember.ones(3, requires_grad=True)
    y = x
    for _ in range(5000):
        y = y * 1.0001
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), np.full(3, 1.0001 ** 5000), rtol=1e-4)
    del y
    gc.collect()


def test_deep_chain_create_graph():
    x = ember.ones(2, dtype=ember.float64, requires_grad=True)
    y = x
    for _ in range(5000):
        y = y * 1.0
    (g,) = ember.autograd.grad(y.sum(), x, create_graph=True)
    (gg,) = ember.autograd.grad((g * x).sum(), x)
    np.testing.assert_allclose(gg.numpy(), [1.0, 1.0])


# -- memory ----------------------------------------------------------------------------------

def test_saved_arrays_freed_after_backward():
    x = ember.randn(1000, requires_grad=True)
    h = x.exp()
    y = (h * h).sum()
    saved = weakref.ref(h._data) if hasattr(h._data, "__weakref__") else None
    mul_node = y.grad_fn.next_functions[0][0]
    assert mul_node._saved
    del h
    y.backward()
    assert mul_node._saved is None
    if saved is not None:
        assert saved() is None  # exp's output array lived only in saved tensors


def test_saved_arrays_kept_with_retain_graph():
    x = ember.randn(5, requires_grad=True)
    y = (x.exp() * x).sum()
    y.backward(retain_graph=True)
    assert y.grad_fn.next_functions[0][0]._saved


def _train_step(w, b, data):
    y = data
    for _ in range(10):
        y = (y * w + b).tanh()
    y.sum().backward()
    with ember.no_grad():
        w -= 0.01 * w.grad
        b -= 0.01 * b.grad
    w.grad = None
    b.grad = None


def _live_tensors():
    gc.collect()
    return sum(1 for o in gc.get_objects() if type(o) is ember.Tensor)


def test_training_loop_does_not_grow_memory():
    w = ember.randn(4, 4, requires_grad=True)
    b = ember.randn(4, requires_grad=True)
    data = ember.randn(4, 4)
    for _ in range(20):
        _train_step(w, b, data)
    before = _live_tensors()
    tracemalloc.start()
    try:
        _train_step(w, b, data)
        gc.collect()
        start = tracemalloc.get_traced_memory()[0]
        for _ in range(200):
            _train_step(w, b, data)
        gc.collect()
        grown = tracemalloc.get_traced_memory()[0] - start
    finally:
        tracemalloc.stop()
    assert _live_tensors() <= before
    assert grown < 10_000, f"memory grew by {grown} bytes over 200 steps"


def test_graph_collected_without_gc_after_backward():
    x = ember.randn(3, requires_grad=True)
    y = (x.exp() * x).tanh()
    ref = weakref.ref(y.grad_fn)
    y.sum().backward()
    del y
    assert ref() is None  # no reference cycle keeps the graph alive
