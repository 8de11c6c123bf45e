"""Seeding, generators and the samplers' shapes, dtypes, errors and loose statistics."""
import numpy as np
import pytest

import ember
from tests.helpers import torch

SAMPLERS = {
    "rand": lambda g=None: ember.rand(3, 4, generator=g),
    "randn": lambda g=None: ember.randn(3, 4, generator=g),
    "randint": lambda g=None: ember.randint(0, 10, (5,), generator=g),
    "randperm": lambda g=None: ember.randperm(8, generator=g),
    "normal": lambda g=None: ember.normal(2.0, 3.0, size=(4,), generator=g),
    "bernoulli": lambda g=None: ember.bernoulli(ember.full((6,), 0.5), generator=g),
    "multinomial": lambda g=None: ember.multinomial(ember.tensor([0.2, 0.3, 0.5]), 2, generator=g),
}


@pytest.mark.parametrize("name", list(SAMPLERS))
def test_manual_seed_reproduces(name):
    ember.manual_seed(123)
    first = SAMPLERS[name]().tolist()
    second = SAMPLERS[name]().tolist()
    ember.manual_seed(123)
    assert SAMPLERS[name]().tolist() == first
    assert SAMPLERS[name]().tolist() == second


@pytest.mark.parametrize("name", list(SAMPLERS))
def test_generator_argument_is_independent_of_global_stream(name):
    g = ember.Generator().manual_seed(7)
    first = SAMPLERS[name](g).tolist()
    ember.manual_seed(0)
    SAMPLERS[name]()  # advancing the default generator must not affect g
    g2 = ember.Generator()
    g2.manual_seed(7)
    assert SAMPLERS[name](g2).tolist() == first


def test_rng_state_round_trip():
    ember.manual_seed(5)
    state = ember.get_rng_state()
    a = ember.randn(5).tolist()
    ember.set_rng_state(state)
    assert ember.randn(5).tolist() == a
    g = ember.Generator().manual_seed(1)
    gs = g.get_state()
    b = ember.rand(3, generator=g).tolist()
    g.set_state(gs)
    assert ember.rand(3, generator=g).tolist() == b


def test_initial_seed():
    ember.manual_seed(42)
    assert ember.initial_seed() == 42
    assert ember.Generator().manual_seed(9).initial_seed() == 9


def test_shapes_and_dtypes():
    assert ember.rand(2, 3).shape == (2, 3) and ember.rand(2, 3).dtype is ember.float32
    assert ember.randn([2, 3]).shape == (2, 3)
    assert ember.randn(2, dtype=ember.float64).dtype is ember.float64
    assert ember.randint(3, (2, 3)).dtype is ember.int64
    assert ember.randint(3, (2, 3), dtype=ember.int32).dtype is ember.int32
    assert ember.randperm(4).dtype is ember.int64
    assert ember.rand_like(ember.ones(2, dtype=ember.float64)).dtype is ember.float64
    assert ember.randn_like(ember.ones(2, 2)).shape == (2, 2)
    assert ember.rand(2, requires_grad=True).requires_grad
    assert ember.bernoulli(ember.ones(3, dtype=ember.float64)).dtype is ember.float64
    assert ember.normal(ember.zeros(3), ember.ones(3)).shape == (3,)
    assert ember.multinomial(ember.ones(2, 5), 3).shape == (2, 3)


def test_statistics_loose_bounds():
    ember.manual_seed(0)
    u = ember.rand(20000).numpy()
    assert 0 <= u.min() and u.max() < 1 and abs(u.mean() - 0.5) < 0.02
    n = ember.randn(20000).numpy()
    assert abs(n.mean()) < 0.03 and abs(n.std() - 1) < 0.03
    m = ember.normal(2.0, 3.0, size=(20000,)).numpy()
    assert abs(m.mean() - 2) < 0.1 and abs(m.std() - 3) < 0.1
    r = ember.randint(2, 7, (20000,)).numpy()
    assert r.min() == 2 and r.max() == 6 and abs(r.mean() - 4) < 0.05
    assert sorted(ember.randperm(50).tolist()) == list(range(50))
    b = ember.bernoulli(ember.full((20000,), 0.3)).numpy()
    assert set(np.unique(b)) <= {0.0, 1.0} and abs(b.mean() - 0.3) < 0.02
    counts = np.bincount(ember.multinomial(ember.tensor([0.1, 0.0, 0.9]), 5000, replacement=True).numpy(),
                         minlength=3)
    assert counts[1] == 0 and abs(counts[2] / 5000 - 0.9) < 0.03
    draws = ember.multinomial(ember.tensor([1.0, 0.0, 1.0, 1.0]), 3).tolist()
    assert sorted(draws) == [0, 2, 3]


ERRORS = {
    "rand int": (lambda T: T.rand(2, dtype=T.int64), NotImplementedError,
                 "\"check_uniform_bounds\" not implemented for 'Long'"),
    "randint empty range": (lambda T: T.randint(3, 3, (2,)), RuntimeError,
                            "random_ expects 'from' to be less than 'to', but got from=3 >= to=3"),
    "normal negative std": (lambda T: T.normal(0.0, -1.0, size=(2,)), RuntimeError,
                            "normal expects std >= 0.0, but found std -1"),
    "normal negative scalar std with tensor mean": (lambda T: T.normal(T.zeros(3), -1.0), RuntimeError,
                                                    "normal expects std >= 0.0, but found std -1"),
    "normal negative std tensor": (lambda T: T.normal(T.zeros(3), T.tensor([1.0, -1.0, 1.0])), RuntimeError,
                                   "normal expects all elements of std >= 0.0"),
    "randn int": (lambda T: T.randn(2, dtype=T.int32), NotImplementedError,
                  "\"normal_kernel_cpu\" not implemented for 'Int'"),
    "normal int": (lambda T: T.normal(0.0, 1.0, (2,), dtype=T.int64), NotImplementedError,
                   "\"normal_kernel_cpu\" not implemented for 'Long'"),
    "randint to out of uint8": (lambda T: T.randint(0, 300, (3,), dtype=T.uint8), RuntimeError,
                                "to - 1 is out of bounds for unsigned char"),
    "randint from out of bool": (lambda T: T.randint(-5, 2, (3,), dtype=T.bool), RuntimeError,
                                 "from is out of bounds for bool"),
    "randint float16 range": (lambda T: T.randint(0, 2 ** 20, (3,), dtype=T.float16), RuntimeError,
                              "to - 1 is out of bounds for c10::Half"),
    "randperm negative": (lambda T: T.randperm(-1), RuntimeError,
                          r"Trying to create tensor with negative dimension -1: \[-1\]"),
    "randperm float": (lambda T: T.randperm(3.5), TypeError,
                       r"randperm\(\): argument 'n' \(position 1\) must be int, not float"),
    "bernoulli of ints": (lambda T: T.bernoulli(T.tensor([1, 0])), NotImplementedError,
                          "\"bernoulli_tensor_cpu_p_\" not implemented for 'Long'"),
    "normal broadcast": (lambda T: T.normal(T.zeros(2), T.ones(3)), RuntimeError,
                         r"The size of tensor a \(2\) must match the size of tensor b \(3\) at non-singleton "
                         r"dimension 0"),
    "bernoulli p": (lambda T: T.bernoulli(T.full((3,), 2.0)), RuntimeError, "Expected p_in >= 0 && p_in <= 1"),
    "multinomial too many": (lambda T: T.multinomial(T.tensor([0.0, 1.0, 0.0]), 4), RuntimeError,
                             "cannot sample n_sample > prob_dist.size\\(-1\\) samples without replacement"),
    "multinomial negative": (lambda T: T.multinomial(T.tensor([-1.0, 1.0]), 1), RuntimeError,
                             "probability tensor contains either `inf`, `nan` or element < 0"),
    "uniform_ int": (lambda T: T.zeros(3, dtype=T.int64).uniform_(), NotImplementedError,
                     "\"check_uniform_bounds\" not implemented for 'Long'"),
    "uniform_ bool": (lambda T: T.zeros(3, dtype=T.bool).uniform_(), NotImplementedError,
                      "\"check_uniform_bounds\" not implemented for 'Bool'"),
    "normal_ int": (lambda T: T.zeros(3, dtype=T.int32).normal_(), NotImplementedError,
                    "\"normal_kernel_cpu\" not implemented for 'Int'"),
    "log_normal_ uint8": (lambda T: T.zeros(3, dtype=T.uint8).log_normal_(), NotImplementedError,
                          "\"log_normal_cpu\" not implemented for 'Byte'"),
}


@pytest.mark.parametrize("name", list(ERRORS))
def test_errors_match_torch(name):
    fn, exc, msg = ERRORS[name]
    with pytest.raises(exc, match=msg):
        fn(torch)
    with pytest.raises(exc, match=msg):
        fn(ember)


def test_inplace_samplers_respect_seed_and_leaf_rule():
    ember.manual_seed(3)
    a = ember.empty(4).uniform_(-1, 1).tolist()
    ember.manual_seed(3)
    assert ember.empty(4).uniform_(-1, 1).tolist() == a
    assert all(-1 <= v < 1 for v in a)
    with pytest.raises(RuntimeError, match="a leaf Variable that requires grad"):
        ember.zeros(2, requires_grad=True).normal_()


def test_randint_with_high_as_only_positional_and_in_range_dtypes():
    for lib in (torch, ember):
        x = lib.randint(3, size=(50,))
        assert x.dtype == lib.int64 and int(x.min()) >= 0 and int(x.max()) <= 2
        b = lib.randint(0, 2, (50,), dtype=lib.bool)
        assert b.dtype == lib.bool
        f = lib.randint(0, 2 ** 11 + 1, (5,), dtype=lib.float16)
        assert f.dtype == lib.float16
