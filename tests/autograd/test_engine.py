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


# -- every differentiable op: grad_fn structure, gradient and second derivative -------------------

_A, _B, _V, _V3 = rand(3, 4, low=0.5, high=2), rand(4, 5, low=0.5, high=2), rand(4, low=0.5, high=2), rand(3, low=0.5, high=2)
_BB, _BC = rand(2, 3, 4, low=0.5, high=2), rand(2, 4, 5, low=0.5, high=2)
_A2 = rand(3, 4, low=0.5, high=2)  # independent of _A: no ties
_IDX = [[0, 0], [1, 3], [2, 2]]

EVERY_OP = {
    "add": (lambda T, a, b: a + b, [_A, _A]), "add scalar": (lambda T, a: 2 + a, [_A]),
    "add alpha": (lambda T, a, b: T.add(a, b, alpha=-3), [_A, _A[:1]]), "sub": (lambda T, a, b: a - b, [_A, _A]),
    "sub alpha": (lambda T, a, b: T.sub(a, b, alpha=2.5), [_A, _A]), "rsub": (lambda T, a: 2 - a, [_A]),
    "mul": (lambda T, a, b: a * b, [_A, _A[:, :1]]), "div": (lambda T, a, b: a / b, [_A, _A]),
    "rdiv": (lambda T, a: 3 / a, [_A]), "pow": (lambda T, a: a ** 3, [_A]), "pow tensor": (lambda T, a, b: a ** b, [_A, _A]),
    "rpow": (lambda T, a: 2 ** a, [_A]), "neg": (lambda T, a: -a, [_A]), "exp": (lambda T, a: a.exp(), [_A]),
    "log": (lambda T, a: a.log(), [_A]), "log1p": (lambda T, a: a.log1p(), [_A]), "sqrt": (lambda T, a: a.sqrt(), [_A]),
    "rsqrt": (lambda T, a: a.rsqrt(), [_A]), "abs": (lambda T, a: (a - 1).abs(), [_A]), "sign": (lambda T, a: a.sign(), [_A]),
    "sin": (lambda T, a: a.sin(), [_A]), "cos": (lambda T, a: a.cos(), [_A]), "tanh": (lambda T, a: a.tanh(), [_A]),
    "sigmoid": (lambda T, a: a.sigmoid(), [_A]), "relu": (lambda T, a, b: (a * b - 1).relu(), [_A, _A]),
    "clamp": (lambda T, a: a.clamp(0.8, 1.5), [_A]), "clamp tensor min": (lambda T, a, b: a.clamp(min=b), [_A, _A2]),
    "clamp_max tensor": (lambda T, a, b: T.clamp_max(a, b), [_A, _A2]),
    "minimum": (lambda T, a, b: T.minimum(a, b), [_A, _A2]), "maximum": (lambda T, a, b: T.maximum(a, b), [_A, _A2]),
    "floor": (lambda T, a: a.floor(), [_A]), "round": (lambda T, a: a.round(), [_A]), "erf": (lambda T, a: a.erf(), [_A]),
    "remainder scalar": (lambda T, a: a % 0.7, [_A]), "where": (lambda T, a, b: T.where(a > 1, a, b), [_A, _A]),
    "matmul": (lambda T, a, b: a @ b, [_A, _B]), "mm": (lambda T, a, b: a.mm(b), [_A, _B]),
    "bmm": (lambda T, a, b: a.bmm(b), [_BB, _BC]), "mv": (lambda T, a, v: a.mv(v), [_A, _V]),
    "dot": (lambda T, u, v: u.dot(v), [_V, _V]), "outer": (lambda T, u, v: T.outer(u, v), [_V, _V3]),
    "einsum": (lambda T, a, b: T.einsum("ij,jk->ik", a, b), [_A, _B]), "matmul batched": (lambda T, a, b: a @ b, [_BB, _B]),
    "sum": (lambda T, a: a.sum(), [_A]), "sum dim": (lambda T, a: a.sum(1), [_A]), "mean": (lambda T, a: a.mean(0, keepdim=True), [_A]),
    "std": (lambda T, a: a.std(1), [_A]), "var": (lambda T, a: a.var(0, correction=0), [_A]), "prod": (lambda T, a: a.prod(1), [_A]),
    "max": (lambda T, a: a.max(), [_A]), "max dim": (lambda T, a: a.max(1)[0], [_A]), "amin": (lambda T, a: a.amin(0), [_A]),
    "logsumexp": (lambda T, a: a.logsumexp(1), [_A]), "cumsum": (lambda T, a: a.cumsum(1), [_A]),
    "norm": (lambda T, a: a.norm(), [_A]), "norm dim": (lambda T, a: a.norm(dim=1), [_A]), "norm 1": (lambda T, a: a.norm(1), [_A]),
    "softmax": (lambda T, a: a.softmax(1), [_A]), "log_softmax": (lambda T, a: a.log_softmax(0), [_A]),
    "sort": (lambda T, a: a.sort(1)[0], [_A]), "topk": (lambda T, a: a.topk(2)[0], [_A]), "tril": (lambda T, a: a.tril(), [_A]),
    "view": (lambda T, a: a.view(4, 3), [_A]), "flatten": (lambda T, a: a.flatten(), [_A]),
    "unflatten": (lambda T, a: a.unflatten(1, (2, 2)), [_A]), "squeeze": (lambda T, a: a.unsqueeze(0).squeeze(0), [_A]),
    "expand": (lambda T, v: v.expand(3, 4), [_V]), "repeat": (lambda T, a: a.repeat(2, 1), [_A]),
    "transpose": (lambda T, a: a.transpose(0, 1), [_A]), "t": (lambda T, a: a.t(), [_A]), "T": (lambda T, a: a.T, [_A]),
    "mT": (lambda T, a: a.mT, [_BB]), "permute": (lambda T, a: a.permute(2, 0, 1), [_BB]),
    "movedim": (lambda T, a: a.movedim(0, 2), [_BB]), "chunk": (lambda T, a: a.chunk(2, 1)[1], [_A]),
    "split": (lambda T, a: a.split([1, 3], 1)[1], [_A]), "narrow": (lambda T, a: a.narrow(1, 1, 2), [_A]),
    "unbind": (lambda T, a: a.unbind(0)[2], [_A]), "cat": (lambda T, a, b: T.cat([a, b]), [_A, _A]),
    "stack": (lambda T, a, b: T.stack([a, b], 1), [_A, _A]), "select": (lambda T, a: a[1], [_A]),
    "slice": (lambda T, a: a[:, 1:3], [_A]), "index list": (lambda T, a: a[[0, 0, 2]], [_A]),
    "index mask": (lambda T, a: a[a > 1], [_A]), "gather": (lambda T, a: a.gather(1, T.tensor(_IDX)), [_A]),
    "scatter_add": (lambda T, a, b: a.scatter_add(1, T.tensor(_IDX), b[:, :2]), [_A, _A]),
    "index_select": (lambda T, a: a.index_select(1, T.tensor([0, 0, 3])), [_A]),
    "index_add": (lambda T, a, b: a.index_add(0, T.tensor([0, 0]), b[:2]), [_A, _A]),
    "masked_fill": (lambda T, a: a.masked_fill(a > 1, 0.0), [_A]), "clone": (lambda T, a: a.clone(), [_A]),
    "setitem": (lambda T, a, b: (lambda y: (y.__setitem__(0, b[1]), y)[1])(a * 1), [_A, _A]),
    "mul_": (lambda T, a, b: (a * 1).mul_(b), [_A, _A]),
}


def _node_structure(node, depth=2):
    if node is None:
        return None
    if depth == 0:
        return type(node).__name__
    return (type(node).__name__, tuple((_node_structure(n, depth - 1), i) for n, i in node.next_functions))


def _first_and_second_order(T, fn, arrays):
    inputs = [T.tensor(a, requires_grad=True) for a in arrays]
    out = fn(T, *inputs)
    weight = T.tensor(np.random.default_rng(7).standard_normal(tuple(out.shape)))
    grads = T.autograd.grad((out * weight).sum(), inputs, create_graph=True, allow_unused=True)
    second = []
    for g in grads:
        if g is None or not g.requires_grad:
            second.append(None)
            continue
        gg = T.autograd.grad((g * g).sum(), inputs, allow_unused=True, retain_graph=True)
        second.append([None if x is None else x.detach().numpy(force=True) for x in gg])
    return (_node_structure(out.grad_fn), out.detach().numpy(), [None if g is None else g.detach().numpy() for g in grads],
            second)


@pytest.mark.parametrize("name", list(EVERY_OP))
def test_every_op_grad_fn_gradient_and_second_derivative_match_torch(name):
    import warnings
    fn, arrays = EVERY_OP[name]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        mine = _first_and_second_order(ember, fn, arrays)
        ref = _first_and_second_order(torch, fn, arrays)
    if name != "einsum":  # PyTorch decomposes einsum into permutes/bmm; ember records one EinsumBackward0
        assert mine[0] == ref[0]
    np.testing.assert_allclose(mine[1], ref[1], rtol=1e-10)
    for m, r in zip(mine[2], ref[2]):
        assert (m is None) == (r is None)
        if r is not None:
            np.testing.assert_allclose(m, r, rtol=1e-10, atol=1e-12)
    for m, r in zip(mine[3], ref[3]):
        if r is None:
            continue
        assert m is not None, "the gradient is not differentiable (create_graph)"
        for x, y in zip(m, r):
            if y is None or not np.any(y):
                assert x is None or not np.any(x)
            else:
                np.testing.assert_allclose(x, y, rtol=1e-8, atol=1e-10)


@pytest.mark.parametrize("lib", ["ember", "torch"])
def test_grad_reports_an_output_without_grad_before_the_inputs(lib):
    T = ember if lib == "ember" else torch
    x = T.tensor([1.0, 2.0])
    with pytest.raises(RuntimeError, match="element 0 of tensors does not require grad and does not have a grad_fn"):
        T.autograd.grad(x.sum(), x)
    y = T.ones(2, requires_grad=True)
    with pytest.raises(RuntimeError, match="One of the differentiated Tensors does not require grad"):
        T.autograd.grad((y * 2).sum(), x)


@pytest.mark.parametrize("name", list(EVERY_OP))
def test_every_op_passes_gradcheck_and_gradgradcheck(name):
    # float64 finite differences of first and second derivatives; the inputs keep away from kinks
    fn, arrays = EVERY_OP[name]
    inputs = tuple(ember.tensor(a, requires_grad=True) for a in arrays)
    assert ember.autograd.gradcheck(lambda *xs: fn(ember, *xs), inputs, eps=1e-6, atol=1e-6, rtol=1e-4)
    assert ember.autograd.gradgradcheck(lambda *xs: fn(ember, *xs), inputs, eps=1e-6, atol=1e-5, rtol=1e-3)
