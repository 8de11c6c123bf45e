"""gradcheck / gradgradcheck: float64 finite differences against the engine."""
import numpy as np
import pytest

import ember
from ember.autograd.gradcheck import GradcheckError
from tests.helpers import rand


def _t(arr):
    return ember.tensor(arr, dtype=ember.float64, requires_grad=True)


def test_gradcheck_true_for_correct_ops():
    x, y = _t(rand(3, 4)), _t(rand(4))
    assert ember.autograd.gradcheck(lambda a, b: ((a * b).tanh() @ b, a.sum(0).exp()), (x, y))
    assert ember.autograd.gradgradcheck(lambda a, b: (a * b).tanh().sum(1) * b[:3], (x, y))


def test_gradcheck_non_tensor_and_non_contiguous_inputs():
    x = ember.tensor(rand(4, 3), dtype=ember.float64).t().requires_grad_()
    assert not x.is_contiguous()
    assert ember.autograd.gradcheck(lambda a, k: (a * k).sigmoid(), (x, 2.0))
    assert ember.autograd.gradcheck(lambda a: a.exp(), _t(rand(3)))  # a single tensor, not a tuple


class WrongBackward(ember.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * x

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g * x  # should be 2 * g * x


class NoDoubleBackward(ember.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * x

    @staticmethod
    @ember.autograd.function.once_differentiable
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return 2 * g * x


def test_gradcheck_raises_on_wrong_backward():
    x = _t(rand(3))
    with pytest.raises(GradcheckError, match="Jacobian mismatch for output 0 with respect to input 0"):
        ember.autograd.gradcheck(WrongBackward.apply, (x,))
    assert ember.autograd.gradcheck(WrongBackward.apply, (x,), raise_exception=False) is False
    assert issubclass(GradcheckError, RuntimeError)


def test_gradgradcheck_catches_missing_second_derivative():
    x = _t(rand(3))
    assert ember.autograd.gradcheck(NoDoubleBackward.apply, (x,))
    with pytest.raises(GradcheckError):
        ember.autograd.gradgradcheck(NoDoubleBackward.apply, (x,))


def test_gradcheck_names_the_failing_input_and_output():
    x, y = _t(rand(2)), _t(rand(2))
    with pytest.raises(GradcheckError, match="for output 1 with respect to input 1"):
        ember.autograd.gradcheck(lambda a, b: (a * 2, WrongBackward.apply(b)), (x, y))


def test_gradcheck_warns_for_single_precision():
    x = ember.tensor(rand(2), dtype=ember.float32, requires_grad=True)
    with pytest.warns(UserWarning, match="Input #0 requires gradient and is not a double precision"):
        ember.autograd.gradcheck(lambda a: a * 2, (x,), atol=1e-2, rtol=1e-2, eps=1e-2)


def test_gradcheck_leaves_inputs_unchanged():
    arr = rand(3)
    x = _t(arr)
    ember.autograd.gradcheck(lambda a: a.exp(), (x,))
    np.testing.assert_array_equal(x.detach().numpy(), arr)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_mismatch_message_prints_jacobians_like_torch(dtype):
    from tests.helpers import torch

    def message(T):
        class Wrong(T.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                return (x * x).sum()

            @staticmethod
            def backward(ctx, g):
                return g * 3 * T.ones(2, dtype=getattr(T, dtype))
        x = T.tensor([1.0, 2.0], dtype=getattr(T, dtype), requires_grad=True)
        with pytest.warns(UserWarning) if dtype == "float32" else _nothing():
            with pytest.raises(Exception) as info:
                T.autograd.gradcheck(Wrong.apply, (x,), eps=1e-3)
        return type(info.value).__name__, str(info.value).replace("torch.", "ember.")

    assert message(ember) == message(torch)


class _nothing:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False
