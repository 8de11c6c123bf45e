import numpy as np
import pytest

from tests.helpers import check, rand, noncontiguous, gradcheck


@pytest.mark.parametrize("shapes", [((3, 4), (3, 4)), ((3, 4), (4,)), ((2, 1, 3), (4, 1)), ((0, 3), (3,))])
def test_arith_broadcast(shapes):
    a, b = rand(*shapes[0]), rand(*shapes[1])
    check(lambda T, x, y: (x + y) * (x - y) / (y * y + 1), a, b)


def test_noncontiguous_input():
    check(lambda T, x: T.tanh(x) * 2, noncontiguous(rand(3, 4)))


def test_gradcheck_chain():
    gradcheck(lambda x, y: (x * y).tanh().exp(), rand(2, 3), rand(3), gradgrad=True)
