"""Tensor creation compared with torch: dtype inference, shapes, values and errors."""
import numpy as np
import pytest

import ember
from tests.helpers import torch, assert_same

CASES = {
    "float list": lambda T: T.tensor([1.0, 2]),
    "int list": lambda T: T.tensor([1, 2]),
    "bool list": lambda T: T.tensor([True, False]),
    "bool and int": lambda T: T.tensor([True, 1]),
    "bool and float": lambda T: T.tensor([True, 2.5]),
    "int and float nested": lambda T: T.tensor([[1, 2], [3, 4.5]]),
    "bool nested": lambda T: T.tensor([[True], [False]]),
    "long token list": lambda T: T.tensor(list(range(-5000, 5000)) * 10),
    "long list dtype": lambda T: T.tensor([i % 7 for i in range(20000)], dtype=T.long),
    "ints and numpy scalar": lambda T: T.tensor([1, np.float64(2.0)]),
    "ints and 0-d tensor": lambda T: T.tensor([1, T.tensor(2.5)]),
    "nested": lambda T: T.tensor([[1, 2], [3, 4]]),
    "tuple": lambda T: T.tensor((1, 2.5)),
    "scalar float": lambda T: T.tensor(3.5),
    "scalar int": lambda T: T.tensor(3),
    "scalar bool": lambda T: T.tensor(True),
    "numpy f16": lambda T: T.tensor(np.ones(2, np.float16)),
    "numpy i32": lambda T: T.tensor(np.arange(3, dtype=np.int32)),
    "numpy f64 scalar": lambda T: T.tensor(np.float64(3.5)),
    "numpy i32 scalar": lambda T: T.tensor(np.int32(3)),
    "0-d tensors": lambda T: T.tensor([T.tensor(1.0), T.tensor(2.0)]),
    "0-d int tensors": lambda T: T.tensor([T.tensor(1), T.tensor(2)]),
    "0-d mixed tensors": lambda T: T.tensor([T.tensor(1.0, dtype=T.float64), T.tensor(2.0)]),
    "empty": lambda T: T.tensor([]),
    "empty nested": lambda T: T.tensor([[], []]),
    "explicit dtype": lambda T: T.tensor([1, 2], dtype=T.float16),
    "as_tensor list": lambda T: T.as_tensor([1, 2]),
    "as_tensor cast": lambda T: T.as_tensor(np.ones(2), dtype=T.float32),
    "zeros": lambda T: T.zeros(2, 3),
    "zeros tuple": lambda T: T.zeros((2, 3), dtype=T.int32),
    "zeros list": lambda T: T.zeros([2, 0]),
    "zeros scalar": lambda T: T.zeros(()),
    "ones bool": lambda T: T.ones(2, dtype=T.bool),
    "full int": lambda T: T.full((2,), 3),
    "full float": lambda T: T.full((2,), 3.0),
    "full bool": lambda T: T.full((2,), True),
    "full dtype": lambda T: T.full((2, 2), 3, dtype=T.float64),
    "eye": lambda T: T.eye(3),
    "eye rect": lambda T: T.eye(2, 3, dtype=T.int64),
    "arange": lambda T: T.arange(5),
    "arange float step": lambda T: T.arange(0, 1, 0.1),
    "arange float": lambda T: T.arange(1.0, 2.5, 0.5),
    "arange negative": lambda T: T.arange(5, 0, -1),
    "arange negative float": lambda T: T.arange(1, 0, -0.3),
    "arange dtype": lambda T: T.arange(5, dtype=T.float32),
    "arange float16": lambda T: T.arange(0, 3, dtype=T.float16),
    "arange float start": lambda T: T.arange(0.5, 3),
    "linspace": lambda T: T.linspace(0, 1, 5),
    "linspace one": lambda T: T.linspace(0, 1, 1),
    "linspace none": lambda T: T.linspace(0, 1, 0),
    "linspace int": lambda T: T.linspace(0, 10, 4, dtype=T.int64),
    "linspace reversed": lambda T: T.linspace(3, -2, 7),
    "linspace many": lambda T: T.linspace(-1.3, 2.7, 101),
    "logspace": lambda T: T.logspace(0, 2, 3),
    "logspace base": lambda T: T.logspace(0, 3, 4, base=2),
    "zeros_like": lambda T: T.zeros_like(T.ones(2, dtype=T.int32)),
    "ones_like dtype": lambda T: T.ones_like(T.ones(2), dtype=T.float64),
    "full_like int": lambda T: T.full_like(T.ones(2, dtype=T.int32), 2.7),
    "full_like float": lambda T: T.full_like(T.ones(2), 7),
    "legacy Tensor data": lambda T: T.Tensor([1, 2]),
    "legacy Tensor sizes": lambda T: T.Tensor(2, 3).zero_(),
    "range": lambda T: T.tensor(range(3)),
    "nested range": lambda T: T.tensor([range(2), range(2)], dtype=T.float32),
    "int wraps into uint8": lambda T: T.tensor([-1, 255], dtype=T.uint8),
    "float overflows float16 to inf": lambda T: T.tensor(1e10, dtype=T.float16),
    "linspace int from float ends": lambda T: T.linspace(0.5, 10.7, 7, dtype=T.int64),
}


@pytest.mark.parametrize("name", list(CASES))
def test_creation_matches_torch(name):
    assert_same(CASES[name](ember), CASES[name](torch))


def test_empty_and_empty_like_shapes():
    assert ember.empty(2, 3).shape == (2, 3) and ember.empty(2, 3).dtype is ember.float32
    assert ember.empty_like(ember.ones(2, dtype=ember.int8)).dtype is ember.int8


def test_requires_grad_argument():
    for t in (ember.zeros(2, requires_grad=True), ember.tensor([1.0], requires_grad=True),
              ember.full((2,), 1.0, requires_grad=True), ember.arange(3.0, requires_grad=True)):
        assert t.requires_grad and t.is_leaf


ERRORS = {
    "ragged": (lambda T: T.tensor([[1, 2], [3]]), ValueError, r"expected sequence of length 2 at dim 1 \(got 1\)"),
    "ragged scalar": (lambda T: T.tensor([[1, 2], 3]), TypeError, "not a sequence"),
    "string": (lambda T: T.tensor("a"), TypeError, "new\\(\\): invalid data type 'str'"),
    "none": (lambda T: T.tensor(None), RuntimeError, "Could not infer dtype of NoneType"),
    "non-scalar tensors": (lambda T: T.tensor([T.ones(2), T.ones(2)]), ValueError,
                           "only one element tensors can be converted to Python scalars"),
    "negative size": (lambda T: T.ones(-1), RuntimeError, r"Trying to create tensor with negative dimension -1: \[-1\]"),
    "arange sign": (lambda T: T.arange(0, 5, -1), RuntimeError, "upper bound and lower bound inconsistent with step sign"),
    "arange zero step": (lambda T: T.arange(0, 5, 0), RuntimeError, "step must be nonzero"),
    "linspace negative": (lambda T: T.linspace(0, 1, -1), RuntimeError, "number of steps must be non-negative"),
    "eye negative": (lambda T: T.eye(-1), RuntimeError, "n must be greater or equal to 0, got -1"),
    "zeros negative": (lambda T: T.zeros(2, -3), RuntimeError, "zeros: Dimension size must be non-negative."),
    "float size": (lambda T: T.ones(2.5), TypeError,
                   r"ones\(\): argument 'size' \(position 1\) must be tuple of ints, not float"),
    "float size in tuple": (lambda T: T.zeros((2, 2.5)), TypeError,
                            "zeros\\(\\): argument 'size' failed to unpack the object at pos 2 with error "
                            "\"type must be tuple of ints,but got float\""),
    "full int size": (lambda T: T.full(2, 3), TypeError,
                      r"full\(\): argument 'size' \(position 1\) must be tuple of ints, not int"),
    "int overflow": (lambda T: T.tensor(300, dtype=T.uint8), RuntimeError,
                     "value cannot be converted to type uint8 without overflow"),
    "float overflow in list": (lambda T: T.tensor([1.0, 1e20], dtype=T.int64), RuntimeError,
                               "value cannot be converted to type int64 without overflow"),
    "nan to int": (lambda T: T.tensor(float("nan"), dtype=T.int32), RuntimeError,
                   "value cannot be converted to type int32 without overflow"),
    "beyond int64": (lambda T: T.tensor([1, 2 ** 63]), ValueError, "Overflow when unpacking long long"),
    "full overflow": (lambda T: T.full((2,), 1e20, dtype=T.int64), RuntimeError,
                      "value cannot be converted to type int64_t without overflow"),
    "full float32 overflow": (lambda T: T.full((2,), 1e300), RuntimeError,
                              "value cannot be converted to type float without overflow"),
    "fill_ overflow": (lambda T: T.zeros(2, dtype=T.int32).fill_(2 ** 40), RuntimeError,
                       "value cannot be converted to type int without overflow"),
    "fill_ float16 overflow": (lambda T: T.zeros(2, dtype=T.float16).fill_(1e10), RuntimeError,
                               "value cannot be converted to type c10::Half without overflow"),
    "masked_fill overflow": (lambda T: T.zeros(2, dtype=T.int8).masked_fill(T.tensor([True, False]), 300),
                             RuntimeError, "value cannot be converted to type int8_t without overflow"),
    "is_nonzero empty": (lambda T: T.is_nonzero(T.tensor([])), RuntimeError,
                         "Boolean value of Tensor with no values is ambiguous"),
}


@pytest.mark.parametrize("name", list(ERRORS))
def test_creation_errors_match_torch(name):
    fn, exc, msg = ERRORS[name]
    with pytest.raises(exc, match=msg):
        fn(torch)
    with pytest.raises(exc, match=msg):
        fn(ember)


def test_from_numpy_shares_memory_both_ways():
    arr = np.zeros(3, dtype=np.float32)
    t = ember.from_numpy(arr)
    arr[0] = 5.0
    assert t.tolist() == [5.0, 0.0, 0.0]
    t.add_(1)
    assert arr.tolist() == [6.0, 1.0, 1.0]
    assert t.dtype is ember.float32


def test_from_numpy_keeps_dtype_and_rejects_unsupported():
    assert ember.from_numpy(np.arange(3, dtype=np.int16)).dtype is ember.int16
    with pytest.raises(TypeError, match="can't convert np.ndarray of type numpy.str_"):
        ember.from_numpy(np.array(["a"]))
    with pytest.raises(TypeError, match="expected np.ndarray"):
        ember.from_numpy([1, 2])


def test_tensor_copies_but_as_tensor_shares():
    arr = np.zeros(2)
    copied, shared = ember.tensor(arr), ember.as_tensor(arr)
    arr[0] = 1.0
    assert copied.tolist() == [0.0, 0.0] and shared.tolist() == [1.0, 0.0]
    t = ember.ones(2)
    assert ember.as_tensor(t) is t


def test_tensor_from_tensor_warns_and_copies():
    src = ember.ones(2)
    with pytest.warns(UserWarning, match="To copy construct from a tensor"):
        copy = ember.tensor(src)
    src.add_(1)
    assert copy.tolist() == [1.0, 1.0]


@pytest.mark.parametrize("dtype", ["float32", "float64", "int64", "int32"])
@pytest.mark.parametrize("start,end,steps", [(-1, 1, 7), (3.769, -2.222, 8), (-10.0, -2.0, 38), (-9.67, 6.27, 73),
                                              (0.1, 0.7, 1000), (688.462, -215.191, 246)])
def test_linspace_bit_exact(dtype, start, end, steps):
    # PyTorch rounds the step to the dtype and uses one fused multiply-add per element:
    # linspace(-1, 1, 7)[3] is -2.9802e-08 in float32, which printing shows.
    e = ember.linspace(start, end, steps, dtype=getattr(ember, dtype)).numpy()
    t = torch.linspace(start, end, steps, dtype=getattr(torch, dtype)).numpy()
    np.testing.assert_array_equal(e, t)


def test_linspace_prints_like_torch():
    assert str(ember.linspace(-1, 1, steps=7)) == str(torch.linspace(-1, 1, steps=7))


@pytest.mark.parametrize("name", ["zeros", "ones", "empty"])
def test_size_by_keyword_and_missing_size_like_torch(name):
    for T in (torch, ember):
        fn = getattr(T, name)
        assert tuple(fn(size=(2, 3)).shape) == (2, 3) and tuple(fn(()).shape) == ()
        with pytest.raises(TypeError, match=f'{name}\\(\\) missing 1 required positional arguments: "size"'):
            fn()
        with pytest.raises(TypeError, match=f"{name}\\(\\) got multiple values for argument 'size'"):
            fn(2, size=(3,))
