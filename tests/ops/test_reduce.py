"""Reductions against PyTorch: values, dtypes, gradients, empty inputs, errors."""
import math

import numpy as np
import pytest

import ember
from tests.helpers import check, rand, noncontiguous, gradcheck, torch

SHAPES_DIMS = [((3, 4), 1), ((3, 4), -1), ((2, 3, 4), (0, 2)), ((2, 3, 4), (-1, 0)), ((5,), 0), ((), None),
               ((0, 3), 1), ((2, 0, 3), 2)]


# ---------------------------------------------------------------------------- sum / mean
@pytest.mark.parametrize("shape,dim", SHAPES_DIMS)
@pytest.mark.parametrize("keepdim", [False, True])
def test_sum_mean(shape, dim, keepdim):
    x = rand(*shape)
    if dim is None:
        check(lambda T, a: (a.sum(), a.mean()), x)
    else:
        check(lambda T, a: (a.sum(dim, keepdim=keepdim), T.mean(a, dim, keepdim)), x)


def test_sum_int_dtypes_and_half():
    check(lambda T, a: (a.sum(), a.sum(0), a.prod(), a.prod(1)), rand(3, 4, dtype=np.int32))
    check(lambda T, a: (a.sum(), a.prod()), rand(5, dtype=np.bool_))
    check(lambda T, a: a.sum(0, dtype=T.int32), rand(3, 2, dtype=np.int64))
    h = np.full(4096, 0.1, dtype=np.float16)  # float32 accumulation: a float16 running sum would stall
    check(lambda T, a: (a.sum(), a.mean()), h, atol=1e-3, rtol=1e-3, grad=False)


def test_mean_int_raises():
    with pytest.raises(RuntimeError, match="mean\\(\\): could not infer output dtype"):
        ember.tensor([1, 2]).mean()


# ---------------------------------------------------------------------------- var / std
@pytest.mark.parametrize("shape,dim", [s for s in SHAPES_DIMS if s[0] != (2, 0, 3)])
@pytest.mark.parametrize("keepdim", [False, True])
def test_var_std(shape, dim, keepdim):
    x = rand(*shape)
    check(lambda T, a: (T.var(a, dim, keepdim=keepdim), a.std(dim, keepdim=keepdim, correction=0)), x)


def test_var_std_legacy_and_correction():
    x = rand(4, 5)
    check(lambda T, a: (a.var(False), a.std(1, True, True), a.var(1, unbiased=False), a.std(correction=2),
                        a.var(0, correction=0.5)), x)
    check(lambda T, a: (T.var_mean(a, 1), T.std_mean(a, (0, 1), keepdim=True), T.std_mean(a, correction=0)), x)
    check(lambda T, a: a.t().std(0), noncontiguous(x))


def test_var_mean_grad_fn_names():
    x = ember.randn(3, 4, requires_grad=True)
    v, m = ember.var_mean(x, 1)
    assert v.grad_fn.name() == m.grad_fn.name() == "VarMeanBackward0"
    s, m = ember.std_mean(x)
    assert s.grad_fn.name() == m.grad_fn.name() == "StdMeanBackward0"
    assert x.var().grad_fn.name() == "VarBackward0" and x.std(0).grad_fn.name() == "StdBackward0"


def test_var_degenerate():
    check(lambda T, a: (a.var(), a.std(unbiased=False)), rand(1))
    with pytest.warns(UserWarning, match="degrees of freedom is <= 0"):
        check(lambda T, a: a.var(correction=2), rand(2), grad=False)
    with pytest.raises(RuntimeError, match="std and var only support floating point"):
        ember.tensor([1, 2]).std()
    # zero std: PyTorch zeroes the gradient instead of dividing by zero
    check(lambda T, a: a.std(1), np.ones((2, 3)))


def test_var_std_gradcheck():
    gradcheck(lambda a: a.var(1), rand(3, 4), gradgrad=True)
    gradcheck(lambda a: a.std((0, 2), keepdim=True), rand(2, 3, 2), gradgrad=True)
    gradcheck(lambda a: ember.var_mean(a, 0, correction=0)[0] + ember.std_mean(a)[1], rand(3, 2))


# ---------------------------------------------------------------------------- prod
@pytest.mark.parametrize("zeros", [0, 1, 2])
@pytest.mark.parametrize("dim", [None, 0, -1])
def test_prod_with_zeros(zeros, dim):
    x = rand(4, 5, low=0.5, high=1.5)
    if zeros >= 1:
        x[1, 2] = 0
        x[3, 3] = 0
    if zeros == 2:
        x[1, 4] = 0
        x[0, 3] = 0
    if dim is None:
        check(lambda T, a: a.prod(), x)
        gradcheck(lambda a: a.prod(), x, gradgrad=True)
    else:
        check(lambda T, a: (a.prod(dim), T.prod(a, dim, keepdim=True)), x)
        gradcheck(lambda a: a.prod(dim), x, gradgrad=True)


def test_prod_misc():
    check(lambda T, a: (a.prod(), a.prod(0), a.prod(1)), rand(0, 3))
    check(lambda T, a: (a.prod(), a.prod(0)), rand())
    check(lambda T, a: a.t().prod(1), noncontiguous(rand(3, 4)))
    assert ember.tensor([1.0, 2.0]).prod().grad_fn is None
    x = ember.randn(2, 3, requires_grad=True)
    assert x.prod().grad_fn.name() == "ProdBackward0" and x.prod(1).grad_fn.name() == "ProdBackward1"
    with pytest.raises(TypeError):
        ember.prod(x, (0, 1))


# ---------------------------------------------------------------------------- max / min
@pytest.mark.parametrize("name", ["max", "min"])
def test_max_min_all(name):
    check(lambda T, a: getattr(a, name)(), rand(3, 4))
    check(lambda T, a: getattr(T, name)(a), rand())
    check(lambda T, a: getattr(a, name)(), rand(4, dtype=np.int64))
    check(lambda T, a: getattr(a, name)(), rand(4, dtype=np.bool_))


@pytest.mark.parametrize("name", ["max", "min"])
@pytest.mark.parametrize("shape,dim", [((3, 4), 1), ((3, 4), -2), ((2, 3, 4), 1), ((), 0), ((0, 3), 1), ((5,), 0)])
@pytest.mark.parametrize("keepdim", [False, True])
def test_max_min_dim(name, shape, dim, keepdim):
    out = check(lambda T, a: getattr(T, name)(a, dim, keepdim), rand(*shape))
    values, indices = out
    assert out.values is values and out.indices is indices
    assert values.grad_fn is None or values.grad_fn.name() == name.capitalize() + "Backward0"


def test_max_min_named_tuple_and_other():
    x = ember.tensor([[1.0, 5.0], [7.0, 2.0]])
    r = x.max(dim=1)
    assert isinstance(r, tuple) and type(r).__name__ == "max"
    assert repr(r).startswith("ember.return_types.max(\nvalues=tensor([5., 7.]),\nindices=tensor([1, 0]))")
    assert ember.return_types.max is type(r)
    check(lambda T, a, b: (T.max(a, b), a.min(b)), rand(3, 4), rand(4))
    check(lambda T, a: a.t().max(1), noncontiguous(rand(3, 4)))


def test_max_ties_and_nan_gradients():
    # no-dim max/min: gradient split evenly among ties (PyTorch's evenly_distribute_backward)
    x = np.array([[1.0, 3.0, 3.0], [3.0, 0.0, -1.0]])
    check(lambda T, a: (a.max(), a.min()), x)
    check(lambda T, a: a.max(), np.array([1.0, np.nan, 2.0, np.nan]))
    check(lambda T, a: (a.max(1), a.min(1)), np.array([[1.0, np.nan, 3.0], [2.0, 5.0, 1.0]]))
    # with dim and ties: the value is deterministic, the index must point at a maximal element
    e = ember.tensor(x)
    values, idx = e.max(1)
    np.testing.assert_array_equal(values.numpy(), [3.0, 3.0])
    np.testing.assert_array_equal(x[np.arange(2), idx.numpy()], values.numpy())


def test_max_errors():
    z = ember.zeros(0, 3)
    with pytest.raises(RuntimeError, match="max\\(\\): Expected reduction dim to be specified for input.numel"):
        z.max()
    with pytest.raises(RuntimeError, match="min\\(\\): Expected reduction dim to be specified"):
        ember.min(z)
    with pytest.raises(IndexError, match="max\\(\\): Expected reduction dim 0 to have non-zero size"):
        z.max(0)
    with pytest.raises(IndexError, match="Dimension out of range \\(expected to be in range of \\[-2, 1\\], but got 5"):
        ember.ones(2, 2).max(5)
    with pytest.raises(TypeError):
        ember.max(ember.ones(2), 1.0)


def test_max_gradcheck():
    gradcheck(lambda a: a.max(1)[0], rand(3, 4), gradgrad=True)
    gradcheck(lambda a: a.min(0, keepdim=True).values, rand(3, 4))
    gradcheck(lambda a: a.max() + a.min(), rand(3, 4), gradgrad=True)


# ---------------------------------------------------------------------------- amax / amin / argmax
@pytest.mark.parametrize("name", ["amax", "amin"])
@pytest.mark.parametrize("shape,dim", [((3, 4), 1), ((2, 3, 4), (0, 2)), ((2, 3, 4), ()), ((), ()),
                                       ((0, 3), 1), ((3, 4), (-1,))])
@pytest.mark.parametrize("keepdim", [False, True])
def test_amax_amin(name, shape, dim, keepdim):
    check(lambda T, a: getattr(T, name)(a, dim, keepdim), rand(*shape))


def test_amax_ties_split_evenly():
    x = np.array([[1.0, 3.0, 3.0], [2.0, 2.0, 2.0]])
    check(lambda T, a: (a.amax(1), a.amin(), a.amax((0, 1), keepdim=True)), x)
    check(lambda T, a: a.amax(0), rand(4, 3, dtype=np.int64))
    gradcheck(lambda a: a.amax((0, 1)), rand(3, 4), gradgrad=True)
    z = ember.zeros(0, 3)
    with pytest.raises(RuntimeError, match="amax\\(\\): Expected reduction dim to be specified for input.numel"):
        z.amax()
    with pytest.raises(IndexError, match="amin\\(\\): Expected reduction dim 0 to have non-zero size"):
        z.amin((0, 1))


@pytest.mark.parametrize("name", ["argmax", "argmin"])
def test_argmax_argmin(name):
    x = rand(3, 4, 5)
    check(lambda T, a: (getattr(a, name)(), getattr(T, name)(a, 1), getattr(a, name)(-1, keepdim=True),
                        getattr(a, name)(dim=None, keepdim=True)), x)
    check(lambda T, a: getattr(a, name)(0), rand(4, 3, dtype=np.int64))
    check(lambda T, a: (getattr(a, name)(), getattr(a, name)(0)), rand())
    check(lambda T, a: getattr(a, name)(1), rand(0, 3))
    check(lambda T, a: getattr(a, name)(), np.array([1.0, np.nan, 3.0, np.nan]))
    with pytest.raises(IndexError, match=f"{name}\\(\\): Expected reduction dim to be specified for input.numel"):
        getattr(ember.zeros(0, 3), name)()
    with pytest.raises(IndexError, match=f"{name}\\(\\): Expected reduction dim 0 to have non-zero size"):
        getattr(ember.zeros(0, 3), name)(0)


# ---------------------------------------------------------------------------- logsumexp
@pytest.mark.parametrize("shape,dim", [((3, 4), 1), ((2, 3, 4), (0, 2)), ((2, 3), -1), ((0, 3), 0), ((0, 3), 1)])
@pytest.mark.parametrize("keepdim", [False, True])
def test_logsumexp(shape, dim, keepdim):
    check(lambda T, a: T.logsumexp(a, dim, keepdim), rand(*shape))


def test_logsumexp_stable_and_int():
    big = np.array([[1000.0, 1000.0, -1000.0], [-np.inf, -np.inf, -np.inf]])
    check(lambda T, a: a.logsumexp(1), big)
    check(lambda T, a: a.logsumexp(0), rand(3, 2, dtype=np.int64))
    gradcheck(lambda a: a.logsumexp((0, 1)), rand(3, 4), gradgrad=True)


# ---------------------------------------------------------------------------- cumsum / cumprod
@pytest.mark.parametrize("shape,dim", [((3, 4), 1), ((3, 4), -2), ((5,), 0), ((), 0), ((0, 3), 0)])
def test_cumsum_cumprod(shape, dim):
    check(lambda T, a: (a.cumsum(dim), T.cumprod(a, dim)), rand(*shape))


def test_cumsum_dtypes():
    check(lambda T, a: (a.cumsum(0), a.cumprod(1)), rand(3, 4, dtype=np.int32))
    check(lambda T, a: a.cumsum(0), rand(5, dtype=np.bool_))
    check(lambda T, a: (a.cumsum(1, dtype=T.float32), a.cumprod(0, dtype=T.float32)), rand(3, 4), atol=1e-5)
    check(lambda T, a: a.cumsum(0, dtype=T.float64), rand(3, dtype=np.int64))
    check(lambda T, a: a.t().cumsum(0), noncontiguous(rand(3, 4)))


@pytest.mark.parametrize("zeros", [[], [2], [1, 3], [0]])
def test_cumprod_zeros_gradient(zeros):
    x = rand(2, 5, low=0.5, high=1.5)
    for z in zeros:
        x[0, z] = 0
    x[1, 4] = 0
    check(lambda T, a: (a.cumprod(1), a.cumprod(0)), x)
    gradcheck(lambda a: a.cumprod(1), x, gradgrad=True)


def test_cum_gradcheck():
    gradcheck(lambda a: a.cumsum(0), rand(3, 4), gradgrad=True)


# ---------------------------------------------------------------------------- norm
@pytest.mark.parametrize("p", [2, 1, math.inf, -math.inf, 0, 3, 0.5, 1.5, "fro", -1])
@pytest.mark.parametrize("dim,keepdim", [(None, False), (1, False), ((0, 1), True), (-1, True)])
def test_norm(p, dim, keepdim):
    x = rand(3, 4)
    check(lambda T, a: T.norm(a, p, dim, keepdim), x)


def test_norm_misc():
    check(lambda T, a: (a.norm(), a.norm(1)), rand(0, 3))
    check(lambda T, a: a.norm(dim=1, dtype=T.float64), rand(2, 3, dtype=np.float32), atol=1e-5)
    with pytest.raises(RuntimeError, match="the dtype of the input \\(Double\\) should be convertible without "
                                           "narrowing to the specified dtype \\(Float\\)"):
        ember.ones(2, dtype=ember.float64).norm(dtype=ember.float32)
    check(lambda T, a: a.norm(), np.zeros((2, 3)))  # zero norm: zero gradient, not nan
    check(lambda T, a: a.norm(math.inf, dim=1), np.array([[1.0, -3.0, 3.0], [2.0, 0.5, -2.0]]))
    check(lambda T, a: a.t().norm(3, dim=0), noncontiguous(rand(3, 4)))
    gradcheck(lambda a: a.norm(), rand(3, 4), gradgrad=True)
    gradcheck(lambda a: a.norm(3, dim=1), rand(3, 4), gradgrad=True)
    gradcheck(lambda a: a.norm(1.5, dim=0) + a.norm(math.inf), rand(3, 4))
    x = ember.randn(2, 3, requires_grad=True)
    assert x.norm().grad_fn.name() == "LinalgVectorNormBackward0"
    with pytest.raises(RuntimeError, match="linalg.vector_norm: Expected a floating point or complex tensor as "
                                           "input. Got Long"):
        ember.tensor([1, 2]).norm()
    with pytest.raises(RuntimeError, match="cannot compute the inf norm on an empty tensor"):
        ember.zeros(0, 3).norm(math.inf)
    with pytest.raises(RuntimeError, match="cannot compute the -inf norm on the dimension 0because"):
        ember.zeros(0, 3).norm(-math.inf, dim=0)
    with pytest.raises(RuntimeError, match="linalg.matrix_norm: Order abc not supported"):
        x.norm("abc")
    with pytest.raises(RuntimeError, match="linalg.matrix_norm: dim must be a 2-tuple. Got 0 1 2"):
        ember.ones(2, 2, 2).norm("fro", dim=(0, 1, 2))


# ---------------------------------------------------------------------------- all / any / count_nonzero
@pytest.mark.parametrize("dtype", [np.bool_, np.int64, np.float32, np.uint8])
def test_all_any(dtype):
    x = rand(3, 4, dtype=dtype, low=0, high=2)
    check(lambda T, a: (a.all(), a.any(), T.all(a, 1), a.any(0, keepdim=True), a.all((0, 1)),
                        a.count_nonzero(), T.count_nonzero(a, 0), a.count_nonzero((0, 1))), x)
    check(lambda T, a: (a.all(), a.any(), a.all(1), a.any(0)), rand(0, 3, dtype=dtype))


# ---------------------------------------------------------------------------- isclose / allclose / equal
def test_isclose_allclose_equal():
    a = rand(3, 4)
    b = a + np.where(rand(3, 4) > 0, 1e-9, 1e-3)
    b[0, 0] = np.nan
    a[0, 0] = np.nan
    check(lambda T, x, y: (T.isclose(x, y), x.isclose(y, equal_nan=True), T.isclose(x, y, rtol=0, atol=1e-2)),
          a, b, grad=False)
    for T, cast in ((ember, ember.tensor), (torch, torch.tensor)):
        x, y = cast(a), cast(b)
        assert T.allclose(x, y) is False
        assert T.allclose(x, x, equal_nan=True) is True
        assert T.allclose(x, y + 0, atol=1e-2, equal_nan=True) is True
        assert T.equal(x, x) is False  # NaN != NaN
        assert T.equal(cast([1.0, 2.0]), cast([1, 2])) is True
        assert T.equal(cast([1.0, 2.0]), cast([1.0, 2.0, 3.0])) is False
    with pytest.raises(RuntimeError, match="Float did not match Double"):
        ember.allclose(ember.ones(2), ember.ones(2, dtype=ember.float64))
    with pytest.raises(RuntimeError, match="The size of tensor a \\(2\\) must match the size of tensor b \\(3\\) at "
                                           "non-singleton dimension 0"):
        ember.isclose(ember.ones(2), ember.ones(3))


# ---------------------------------------------------------------------------- median
def test_median():
    x = rand(3, 5)
    check(lambda T, a: (a.median(), T.median(a, 1), a.median(0, keepdim=True)), x)
    check(lambda T, a: (a.median(), a.median(1)), rand(4, 6))  # even count: the lower of the middle two
    check(lambda T, a: a.median(), rand(4, dtype=np.int64))
    check(lambda T, a: (a.median(), a.median(0)), rand())
    check(lambda T, a: (a.median(), a.median(1)), rand(0, 3))
    check(lambda T, a: (a.median(), a.median(1)), np.array([[1.0, np.nan, 3.0, np.nan], [4.0, 1.0, 2.0, 3.0]]))
    with pytest.raises(IndexError, match="median\\(\\): Expected reduction dim 0 to have non-zero size"):
        ember.zeros(0, 3).median(0)
    gradcheck(lambda a: a.median(1).values + a.median(), rand(3, 5))
    # ties: PyTorch's index choice is unspecified; the value and a valid index are deterministic
    t = ember.tensor([2.0, 1.0, 2.0, 1.0])
    values, index = t.median(0)
    assert values.item() == 1.0 and t[index].item() == 1.0


@pytest.mark.parametrize("fn", [
    lambda T, x: x.sum(0), lambda T, x: x.sum(-1, keepdim=True), lambda T, x: x.mean(-1), lambda T, x: x.mean((0,)),
    lambda T, x: x.prod(0), lambda T, x: x.amax(0), lambda T, x: x.amin(-1), lambda T, x: x.logsumexp(0),
    lambda T, x: x.cumsum(0), lambda T, x: x.softmax(0), lambda T, x: x.log_softmax(-1), lambda T, x: x.norm(dim=0),
    lambda T, x: x.max(0), lambda T, x: x.argmax(0), lambda T, x: x.var(0, correction=0),
], ids=lambda f: "")
def test_reductions_accept_dim_0_of_a_0d_tensor(fn):
    check(fn, rand())


@pytest.mark.parametrize("name,dtype", [(n, d) for n in ("cumsum", "cumprod") for d in
                                        ("float16", "bfloat16", "float32", "float64")] +
                         [(n, d) for n in ("std", "var") for d in ("float16", "bfloat16")])
def test_accumulation_dtype_matches_torch_bit_for_bit(name, dtype):
    # PyTorch accumulates cumsum/cumprod of float32 in double (its CPU accumulate type) and of the half
    # types in float32; std takes the square root before rounding a half result. (Its float32/float64
    # variance uses Welford's update, equal to ember's two-pass result within a few ulp only.)
    values = np.random.default_rng(11).standard_normal((6, 57))
    e = getattr(ember.tensor(values).to(getattr(ember, dtype)), name)(1).double().numpy()
    t = getattr(torch.tensor(values).to(getattr(torch, dtype)), name)(1).double().numpy()
    np.testing.assert_array_equal(e, t)
