"""ember's own threads: split products and the switch that gives BLAS's threads to ember."""
import numpy as np
import pytest

import ember
from ember.ops import _parallel
from tests.helpers import rand


@pytest.fixture
def owned(monkeypatch):
    if not _parallel.own_blas_threads(True):
        pytest.skip("threadpoolctl is not installed")
    monkeypatch.setattr(_parallel, "_MIN_FLOPS", 1)  # split every product
    previous = ember.get_num_threads()
    ember.set_num_threads(2)
    yield
    ember.set_num_threads(previous)
    _parallel.own_blas_threads(False)


@pytest.mark.parametrize("sa,sb", [((7, 5), (5, 9)), ((9, 5), (5, 3)), ((4, 6, 5), (4, 5, 3)),
                                   ((1, 6, 5), (5, 8)), ((3, 6, 5), (5, 2))])
def test_split_products_equal_numpy(owned, sa, sb):
    a, b = rand(*sa), rand(*sb)
    before = _parallel.splits
    np.testing.assert_allclose(_parallel.matmul(a, b), a @ b, rtol=1e-12, atol=1e-12)
    assert _parallel.splits == before + 1
    at = rand(*sa[::-1]).T  # transposed operands are read in place
    np.testing.assert_allclose(_parallel.matmul(at, b), at @ b, rtol=1e-12, atol=1e-12)


def test_mm_backward_with_split_products_matches_unsplit(owned):
    x = ember.tensor(rand(6, 5), requires_grad=True)
    w = ember.tensor(rand(4, 5), requires_grad=True)
    ember.nn.functional.linear(x, w).tanh().sum().backward()
    gx, gw = x.grad.numpy().copy(), w.grad.numpy().copy()
    _parallel.own_blas_threads(False)
    x.grad = w.grad = None
    ember.nn.functional.linear(x, w).tanh().sum().backward()
    np.testing.assert_allclose(gx, x.grad.numpy(), rtol=1e-12)
    np.testing.assert_allclose(gw, w.grad.numpy(), rtol=1e-12)


def test_own_blas_threads_sets_and_restores_blas():
    threadpoolctl = pytest.importorskip("threadpoolctl")
    before = [lib.num_threads for lib in threadpoolctl.ThreadpoolController().select(user_api="blas").lib_controllers]
    assert _parallel.own_blas_threads(True)
    assert _parallel.own_blas_threads(True)  # idempotent
    now = [lib.num_threads for lib in threadpoolctl.ThreadpoolController().select(user_api="blas").lib_controllers]
    assert now == [1] * len(before)
    assert not _parallel.own_blas_threads(False)
    after = [lib.num_threads for lib in threadpoolctl.ThreadpoolController().select(user_api="blas").lib_controllers]
    assert after == before


def test_products_are_not_split_by_default():
    assert not _parallel.own_blas_threads(False)
    a, b = rand(300, 300), rand(300, 300)
    before = _parallel.splits
    np.testing.assert_allclose(_parallel.matmul(a, b), a @ b)
    assert _parallel.splits == before
