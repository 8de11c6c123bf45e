"""sort / argsort / topk / kthvalue / tril / triu against PyTorch."""
import numpy as np
import pytest

import ember
from tests.helpers import check, rand, noncontiguous, gradcheck


@pytest.mark.parametrize("shape,dim", [((3, 4), -1), ((3, 4), 0), ((2, 3, 4), 1), ((5,), 0), ((), 0), ((0, 3), 0),
                                       ((0, 3), 1)])
@pytest.mark.parametrize("descending", [False, True])
def test_sort_argsort(shape, dim, descending):
    out = check(lambda T, a: (T.sort(a, dim, descending), a.argsort(dim, descending)), rand(*shape))
    values, indices = out[0]
    assert out[0].values is values and out[0].indices is indices


def test_sort_stable_ties_nan_and_dtypes():
    x = np.array([[2.0, 1.0, 2.0, 1.0, np.nan, 3.0], [np.nan, 0.0, 0.0, 5.0, np.nan, -1.0]])
    check(lambda T, a: (a.sort(stable=True), a.sort(descending=True, stable=True),
                        T.argsort(a, stable=True), T.argsort(a, descending=True, stable=True)), x)
    check(lambda T, a: (a.sort(dim=0, stable=True), a.sort(descending=True, stable=True)),
          rand(5, 6, dtype=np.int64, low=0, high=3))
    check(lambda T, a: a.sort(stable=True), rand(7, dtype=np.bool_))
    check(lambda T, a: a.t().sort(0), noncontiguous(rand(3, 4)))


def test_sort_grad_fn_and_gradcheck():
    x = ember.randn(3, 4, requires_grad=True)
    assert x.sort()[0].grad_fn.name() == "SortBackward0"
    assert repr(x.detach().sort()).startswith("ember.return_types.sort(\nvalues=")
    gradcheck(lambda a: a.sort(0, descending=True).values, rand(3, 4), gradgrad=True)


@pytest.mark.parametrize("shape,k,dim", [((3, 5), 2, -1), ((3, 5), 3, 0), ((2, 3, 4), 4, 2), ((5,), 0, 0),
                                         ((), 1, 0), ((0, 3), 0, 1), ((0, 3), 2, 1)])
@pytest.mark.parametrize("largest", [True, False])
def test_topk(shape, k, dim, largest):
    check(lambda T, a: T.topk(a, k, dim, largest), rand(*shape))


def test_topk_misc():
    distinct_ints = np.arange(18, dtype=np.int64).reshape(3, 6) * 7 % 18  # no ties: indices are deterministic
    check(lambda T, a: (a.topk(2), a.topk(3, largest=False)), distinct_ints)
    check(lambda T, a: a.t().topk(2, 0), noncontiguous(rand(3, 4)))
    x = ember.randn(3, 4, requires_grad=True)
    assert x.topk(2)[0].grad_fn.name() == "TopkBackward0"
    gradcheck(lambda a: a.topk(2, dim=0).values, rand(4, 3), gradgrad=True)
    with pytest.raises(RuntimeError, match="selected index k out of range"):
        ember.ones(2, 2).topk(3)
    with pytest.raises(RuntimeError, match="selected index k out of range"):
        ember.zeros(0, 3).topk(1, 0)
    # ties: values are deterministic, the indices must point at elements with those values
    t = np.array([2.0, 1.0, 2.0, 1.0, 2.0])
    values, index = ember.tensor(t).topk(2)
    np.testing.assert_array_equal(values.numpy(), [2.0, 2.0])
    np.testing.assert_array_equal(t[index.numpy()], [2.0, 2.0])
    assert len(set(index.tolist())) == 2


@pytest.mark.parametrize("shape,k,dim", [((3, 5), 2, -1), ((3, 5), 3, 0), ((2, 3, 4), 4, 2), ((), 1, 0),
                                         ((0, 3), 1, 1)])
@pytest.mark.parametrize("keepdim", [False, True])
def test_kthvalue(shape, k, dim, keepdim):
    check(lambda T, a: T.kthvalue(a, k, dim, keepdim), rand(*shape))


def test_kthvalue_misc():
    check(lambda T, a: a.kthvalue(2), rand(3, 4, dtype=np.int64, low=-1000, high=1000))
    check(lambda T, a: a.kthvalue(1, 0), np.array([[1.0, np.nan], [np.nan, 2.0], [0.5, 3.0]]))
    gradcheck(lambda a: a.kthvalue(2, 1).values, rand(3, 4), gradgrad=True)
    with pytest.raises(RuntimeError, match="kthvalue\\(\\): selected number k out of range for dimension 1"):
        ember.ones(2, 2).kthvalue(3)
    with pytest.raises(RuntimeError, match="kthvalue\\(\\): selected number k out of range for dimension 1"):
        ember.ones(2, 2).kthvalue(0)
    with pytest.raises(IndexError, match="kthvalue\\(\\): Expected reduction dim 0 to have non-zero size"):
        ember.zeros(0, 3).kthvalue(1, 0)


@pytest.mark.parametrize("name", ["tril", "triu"])
@pytest.mark.parametrize("shape", [(4, 4), (3, 5), (5, 3), (2, 3, 4), (0, 3)])
@pytest.mark.parametrize("diagonal", [0, 1, -2, 7])
def test_tril_triu(name, shape, diagonal):
    check(lambda T, a: getattr(T, name)(a, diagonal), rand(*shape))


def test_tril_triu_misc():
    check(lambda T, a: (a.tril(), a.triu(-1)), rand(3, 3, dtype=np.int64))
    check(lambda T, a: (a.tril(), a.triu(-1)), rand(3, 3, dtype=np.bool_))
    check(lambda T, a: a.t().triu(1), noncontiguous(rand(3, 4)))
    x = ember.randn(3, 3, requires_grad=True)
    assert x.tril().grad_fn.name() == "TrilBackward0" and x.triu(1).grad_fn.name() == "TriuBackward0"
    gradcheck(lambda a: a.tril(1) * a.triu(), rand(3, 4), gradgrad=True)
    with pytest.raises(RuntimeError, match="tril: input tensor must have at least 2 dimensions"):
        ember.ones(3).tril()
    with pytest.raises(RuntimeError, match="triu: input tensor must have at least 2 dimensions"):
        ember.tensor(1.0).triu()
