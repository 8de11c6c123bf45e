"""ember.autograd.functional.jacobian / hessian against PyTorch."""
import numpy as np

import ember
from tests.helpers import rand, torch


def _both(fn):
    return [fn(T) for T in (ember, torch)]


def test_jacobian_single_and_tuple_inputs():
    a, b = rand(3), rand(3)
    single = _both(lambda T: T.autograd.functional.jacobian(lambda x: x.exp() * x.sum(), T.tensor(a)).numpy())
    np.testing.assert_allclose(*single, rtol=1e-10)
    pair = _both(lambda T: [j.numpy() for j in T.autograd.functional.jacobian(
        lambda x, y: x * y.tanh(), (T.tensor(a), T.tensor(b)))])
    for mine, ref in zip(*pair):
        np.testing.assert_allclose(mine, ref, rtol=1e-10)


def test_hessian():
    a = rand(3)
    result = _both(lambda T: T.autograd.functional.hessian(lambda x: (x ** 3).sum() * x.sum(), T.tensor(a)).numpy())
    np.testing.assert_allclose(*result, rtol=1e-10)
