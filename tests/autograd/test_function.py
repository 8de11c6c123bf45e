"""ember.autograd.Function: ctx API, node naming, multiple outputs, double backward, errors."""
import numpy as np
import pytest

import ember
from ember.autograd import Function
from ember.autograd.function import once_differentiable
from tests.helpers import gradcheck, rand, torch

LIBS = pytest.mark.parametrize("T", [ember, torch], ids=["ember", "torch"])


def scaled_mul(T):
    class ScaledMul(T.autograd.Function):
        @staticmethod
        def forward(ctx, x, k, y):
            ctx.save_for_backward(x, y)
            ctx.k = k
            ctx.needs = ctx.needs_input_grad
            return x * y * k

        @staticmethod
        def backward(ctx, g):
            x, y = ctx.saved_tensors
            gx = g * y * ctx.k if ctx.needs_input_grad[0] else None
            gy = g * x * ctx.k if ctx.needs_input_grad[2] else None
            return gx, None, gy
    return ScaledMul


@LIBS
def test_save_for_backward_non_tensor_args_and_node_name(T):
    fn = scaled_mul(T)
    x = T.tensor([1.0, 2.0], requires_grad=True)
    y = T.tensor([3.0, 4.0])
    z = fn.apply(x, 2.0, y)
    assert type(z.grad_fn).__name__ == "ScaledMulBackward" == z.grad_fn.name()
    assert z.grad_fn.needs == (True, False, False)
    assert [type(n).__name__ if n is not None else None for n, _ in z.grad_fn.next_functions] == \
        ["AccumulateGrad", None]
    z.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [6.0, 8.0])


@LIBS
def test_double_backward_through_custom_function(T):
    fn = scaled_mul(T)
    x = T.tensor([1.0, 2.0], requires_grad=True)
    y = T.tensor([3.0, 4.0], requires_grad=True)
    (gx,) = T.autograd.grad(fn.apply(x, 2.0, y).sum(), x, create_graph=True)
    assert gx.requires_grad
    (gy,) = T.autograd.grad((gx * gx).sum(), y)
    np.testing.assert_allclose(gy.numpy(), [24.0, 32.0])


def test_custom_function_gradcheck_and_gradgradcheck():
    fn = scaled_mul(ember)
    gradcheck(lambda x, y: fn.apply(x, 1.5, y), rand(3), rand(3), gradgrad=True)


def split(T, materialize=True):
    class Split(T.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.set_materialize_grads(materialize)
            return x * 2, x * 3

        @staticmethod
        def backward(ctx, ga, gb):
            ctx.received = (ga is None, gb is None)
            total = 0
            if ga is not None:
                total = total + ga * 2
            if gb is not None:
                total = total + gb * 3
            return total
    return Split


@LIBS
def test_multiple_outputs_share_one_node(T):
    x = T.tensor([1.0, 2.0], requires_grad=True)
    a, b = split(T).apply(x)
    assert a.grad_fn is b.grad_fn and type(a.grad_fn).__name__ == "SplitBackward"
    s = a + b
    assert [(type(n).__name__, i) for n, i in s.grad_fn.next_functions] == [("SplitBackward", 0), ("SplitBackward", 1)]
    (a.sum() + b.sum() * 2).backward()
    np.testing.assert_allclose(x.grad.numpy(), [8.0, 8.0])


@LIBS
@pytest.mark.parametrize("materialize", [True, False])
def test_unused_output_gradient_materialized_or_none(T, materialize):
    x = T.tensor([1.0, 2.0], requires_grad=True)
    a, b = split(T, materialize).apply(x)
    b.sum().backward()
    assert b.grad_fn.received == (not materialize, False)
    np.testing.assert_allclose(x.grad.numpy(), [3.0, 3.0])


@LIBS
def test_hook_and_retain_grad_on_one_output_of_many(T):
    x = T.tensor([1.0, 2.0], requires_grad=True)
    a, b = split(T).apply(x)
    b.retain_grad()
    b.register_hook(lambda g: g * 10)
    (a.sum() + b.sum()).backward()
    np.testing.assert_allclose(b.grad.numpy(), [10.0, 10.0])
    np.testing.assert_allclose(x.grad.numpy(), [32.0, 32.0])


@LIBS
def test_mark_non_differentiable(T):
    class MaxWithIndex(T.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            index = T.tensor(int(np.argmax(x.numpy())))
            mask = (x == x.max()).to(x.dtype)
            ctx.mark_non_differentiable(index)
            ctx.save_for_backward(mask)
            return x.max(), index

        @staticmethod
        def backward(ctx, g_value, g_index):
            (mask,) = ctx.saved_tensors
            return mask * g_value

    x = T.tensor([1.0, 5.0, 2.0], requires_grad=True)
    value, index = MaxWithIndex.apply(x)
    assert value.requires_grad and not index.requires_grad
    value.backward()
    np.testing.assert_allclose(x.grad.numpy(), [0.0, 1.0, 0.0])


@LIBS
def test_mark_dirty_rebases_history(T):
    class DoubleInPlace(T.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            x.mul_(2)
            ctx.mark_dirty(x)
            return x

        @staticmethod
        def backward(ctx, g):
            return g * 2

    x = T.tensor([1.0, 2.0], requires_grad=True)
    y = x * 1
    z = DoubleInPlace.apply(y)
    assert z is y and y.grad_fn.name() == "DoubleInPlaceBackward" and y._version == 2
    z.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [2.0, 2.0])
    with pytest.raises(RuntimeError, match="a leaf Variable that requires grad has been used in an in-place operation."):
        DoubleInPlace.apply(T.ones(2, requires_grad=True))


@LIBS
def test_once_differentiable(T):
    class Double(T.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        @T.autograd.function.once_differentiable
        def backward(ctx, g):
            assert not T.is_grad_enabled()
            return g * 2

    x = T.tensor([1.0, 2.0], requires_grad=True)
    (g,) = T.autograd.grad(Double.apply(x).sum(), x, create_graph=True)
    assert not g.requires_grad
    np.testing.assert_allclose(g.numpy(), [2.0, 2.0])


@LIBS
def test_setup_context_style(T):
    class Scale(T.autograd.Function):
        @staticmethod
        def forward(x, k):
            return x * k

        @staticmethod
        def setup_context(ctx, inputs, output):
            ctx.k = inputs[1]

        @staticmethod
        def backward(ctx, g):
            return g * ctx.k, None

    x = T.tensor([1.0, 2.0], requires_grad=True)
    Scale.apply(x, 3.0).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [3.0, 3.0])


@LIBS
def test_not_recorded_without_grad(T):
    fn = scaled_mul(T)
    x = T.tensor([1.0, 2.0], requires_grad=True)
    with T.no_grad():
        assert not fn.apply(x, 1.0, x).requires_grad
    assert not fn.apply(T.ones(2), 1.0, T.ones(2)).requires_grad


@LIBS
def test_returning_an_input_gives_a_new_tensor(T):
    class Identity(T.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x

        @staticmethod
        def backward(ctx, g):
            return g * 2

    x = T.tensor([1.0, 2.0], requires_grad=True)
    y = Identity.apply(x)
    assert y is not x and not y.is_leaf
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [2.0, 2.0])


@LIBS
def test_saved_tensors_freed_after_backward(T):
    fn = scaled_mul(T)
    x = T.tensor([1.0, 2.0], requires_grad=True)
    z = fn.apply(x, 1.0, x)
    z.sum().backward()
    with pytest.raises(RuntimeError, match="Trying to backward through the graph a second time"):
        z.grad_fn.saved_tensors


@LIBS
def test_gradient_summed_to_input_shape_and_cast(T):
    class Broadcasting(T.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        def backward(ctx, g):
            return g.expand(3, 2).double()

    x = T.ones(2, requires_grad=True)
    Broadcasting.apply(x).sum().backward()
    assert x.grad.dtype == T.float32
    np.testing.assert_allclose(x.grad.numpy(), [3.0, 3.0])


def _bad(T, backward, args=None):
    cls = type("Bad", (T.autograd.Function,), {
        "forward": staticmethod(lambda ctx, x, k=None: x * 2),
        "backward": staticmethod(backward),
    })
    x = T.ones(2, requires_grad=True)
    cls.apply(*(args(x) if args else (x,))).sum().backward()


@LIBS
@pytest.mark.parametrize("backward, args, message", [
    (lambda ctx, g: (g, g), None, r"function BadBackward returned an incorrect number of gradients \(expected 1, got 2\)"),
    (lambda ctx, g: g[:1], None, r"Function BadBackward returned an invalid gradient at index 0 - got \[1\] but "
                                 r"expected shape compatible with \[2\]"),
    (lambda ctx, g: 3, None, r"expected Variable or None \(got int\)"),
    (lambda ctx, g: (g, g), lambda x: (x, 2), "function BadBackward returned a gradient different than None at "
                                              "position 2, but the corresponding forward input was not a Variable"),
])
def test_bad_backward_errors(T, backward, args, message):
    with pytest.raises(RuntimeError, match=message):
        _bad(T, backward, args)


@LIBS
def test_save_for_backward_rejects_non_tensors(T):
    class SaveInt(T.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(3)
            return x

        @staticmethod
        def backward(ctx, g):
            return g

    with pytest.raises(TypeError, match="save_for_backward can only save variables, but argument 0 is of type int"):
        SaveInt.apply(T.ones(2, requires_grad=True))


def test_saved_output_is_checked_for_in_place_changes():
    class Exp(Function):
        @staticmethod
        def forward(ctx, x):
            out = x.exp()
            ctx.save_for_backward(out)
            return out

        @staticmethod
        def backward(ctx, g):
            (out,) = ctx.saved_tensors
            return g * out

    x = ember.tensor([0.0, 1.0], dtype=ember.float64, requires_grad=True)
    y = Exp.apply(x)
    (g,) = ember.autograd.grad(y.sum(), x, create_graph=True)
    (gg,) = ember.autograd.grad(g.sum(), x)  # the saved output carries Exp's history
    np.testing.assert_allclose(gg.numpy(), np.exp([0.0, 1.0]))
    y = Exp.apply(x)
    y.detach().add_(1)
    with pytest.raises(RuntimeError, match="which is output 0 of Exp, is at version 1; expected version 0"):
        y.sum().backward()


@LIBS
def test_node_repr_names_its_module_and_legacy_call_errors(T):
    class Twice(T.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        def backward(ctx, g):
            return g * 2

    y = Twice.apply(T.ones(2, requires_grad=True))
    prefix = "torch" if T is torch else "ember"
    assert repr(y.grad_fn).startswith(f"<{prefix}.autograd.function.TwiceBackward object at 0x")
    assert repr(y.grad_fn.next_functions[0][0]).startswith("<AccumulateGrad object at 0x")
    with pytest.warns(DeprecationWarning, match="should not be instantiated"):
        legacy = Twice()
    with pytest.raises(RuntimeError, match="Legacy autograd function with non-static forward method is deprecated"):
        legacy(T.ones(2))
