"""softmax / log_softmax against PyTorch: values, dtypes, stability, gradients."""
import numpy as np
import pytest

import ember
from tests.helpers import check, rand, noncontiguous, gradcheck, torch


@pytest.mark.parametrize("shape,dim", [((3, 4), 1), ((3, 4), 0), ((2, 3, 4), -1), ((2, 3, 4), 1), ((5,), 0),
                                       ((), 0), ((0, 3), 1), ((0, 3), 0)])
def test_softmax_log_softmax(shape, dim):
    check(lambda T, a: (T.softmax(a, dim), a.log_softmax(dim), a.softmax(dim=dim)), rand(*shape))


def test_large_logits_exact():
    x = np.array([[1000.0, 1001.0, 999.0], [-1000.0, -1e4, -1002.0], [0.0, -np.inf, 3.0]])
    out = check(lambda T, a: (a.softmax(1), a.log_softmax(1)), x)
    assert np.isfinite(out[0].detach().numpy()).all()
    check(lambda T, a: (a.softmax(1), a.log_softmax(1)), x.astype(np.float32))


def test_dtype_argument_and_half():
    x = rand(3, 4, dtype=np.float32)
    out = check(lambda T, a: (a.softmax(1, dtype=T.float64), T.log_softmax(a, 0, dtype=T.float64)), x)
    assert out[0].grad_fn.name() == "SoftmaxBackward0" and out[1].grad_fn.name() == "LogSoftmaxBackward0"
    check(lambda T, a: T.softmax(a, -1, dtype=T.float32), rand(2, 3, dtype=np.int64), grad=False)
    check(lambda T, a: (a.softmax(1), a.log_softmax(1)), rand(2, 5, dtype=np.float16), atol=1e-3, rtol=1e-3,
          grad_atol=1e-2)


def test_noncontiguous():
    check(lambda T, a: (a.t().softmax(1), a.t().log_softmax(0)), noncontiguous(rand(3, 4)))


def test_gradcheck():
    gradcheck(lambda a: a.softmax(1), rand(3, 4), gradgrad=True)
    gradcheck(lambda a: a.log_softmax(0), rand(3, 4), gradgrad=True)


def test_errors():
    with pytest.raises(NotImplementedError, match="\"softmax_kernel_impl\" not implemented for 'Long'"):
        ember.tensor([[1, 2]]).softmax(0)
    with pytest.raises(NotImplementedError, match="\"log_softmax_kernel_impl\" not implemented for 'Long'"):
        ember.tensor([[1, 2]]).log_softmax(0)
    with pytest.raises(NotImplementedError, match="\"softmax_lastdim_kernel_impl\" not implemented for 'Long'"):
        ember.tensor([1, 2]).softmax(0)
    with pytest.raises(IndexError, match="Dimension out of range \\(expected to be in range of \\[-1, 0\\], but got 1"):
        ember.ones(3).softmax(1)


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
@pytest.mark.parametrize("fn", ["softmax", "log_softmax"])
@pytest.mark.parametrize("shape,dim", [((4, 17), 1), ((7, 5), 0), ((3, 6, 4), 1), ((40,), 0)])
def test_half_precision_rounds_like_torch(dtype, fn, shape, dim):
    # PyTorch keeps some intermediates in the half type (the last-dim log_softmax's sum and log, the
    # other-dim softmax's exponentials); ember does the same, so the half results agree to the bit
    # (up to a rare double rounding).
    values = np.random.default_rng(3).standard_normal(shape) * 3
    e = getattr(ember.tensor(values).to(getattr(ember, dtype)), fn)(dim).float().numpy()
    t = getattr(torch.tensor(values).to(getattr(torch, dtype)), fn)(dim).float().numpy()
    assert (e != t).mean() < 0.01
