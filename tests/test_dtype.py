"""dtypes, the default dtype and PyTorch's type promotion, compared with torch over every pair."""
import itertools
import pickle

import numpy as np
import pytest

import ember
from tests.helpers import torch, dtype_name

NAMES = ["bool", "uint8", "int8", "int16", "int32", "int64", "float16", "bfloat16", "float32", "float64"]
if ember.bfloat16.np is None:  # bfloat16 needs ml_dtypes
    NAMES.remove("bfloat16")
SCALARS = [True, 3, -3, 2.5]
BINARY = {
    "add": lambda a, b: a + b, "sub": lambda a, b: a - b, "mul": lambda a, b: a * b, "div": lambda a, b: a / b,
    "rsub": lambda a, b: b - a, "rdiv": lambda a, b: b / a, "radd": lambda a, b: b + a,
    "lt": lambda a, b: a < b, "eq": lambda a, b: a == b, "ge": lambda a, b: a >= b,
    "floordiv": lambda a, b: a // b, "mod": lambda a, b: a % b, "pow": lambda a, b: a ** b,
    "maximum": lambda a, b: a.maximum(b) if hasattr(b, "dtype") else a.clamp(min=b),
    "where": lambda a, b: a.where(a > 0, b),
}


def _outcome(lib, fn, a, b):
    try:
        return dtype_name(fn(a, b).dtype)
    except (RuntimeError, NotImplementedError) as e:
        return type(e).__name__


def _tensor(lib, name, zero_dim):
    shape = () if zero_dim else (3,)
    return lib.full(shape, 2, dtype=getattr(lib, name))


@pytest.mark.parametrize("op", list(BINARY))
def test_promotion_matrix_matches_torch(op):
    fn = BINARY[op]
    mismatches = []
    for n1, n2 in itertools.product(NAMES, NAMES):
        for z1, z2 in itertools.product((False, True), repeat=2):
            got = _outcome(ember, fn, _tensor(ember, n1, z1), _tensor(ember, n2, z2))
            want = _outcome(torch, fn, _tensor(torch, n1, z1), _tensor(torch, n2, z2))
            if got != want:
                mismatches.append((n1, z1, n2, z2, got, want))
    for n1, s in itertools.product(NAMES, SCALARS):
        for z1 in (False, True):
            got = _outcome(ember, fn, _tensor(ember, n1, z1), s)
            want = _outcome(torch, fn, _tensor(torch, n1, z1), s)
            if got != want:
                mismatches.append((n1, z1, s, got, want))
    assert not mismatches, mismatches[:10]


@pytest.mark.parametrize("op", ["add", "sub", "mul", "div", "floordiv", "mod", "rdiv", "maximum"])
def test_mixed_dtype_values_match_torch(op):
    """Values too: operands are cast from their own dtypes (uint8 4 / int8 -3 is -1.33)."""
    fn = BINARY[op]
    rng = np.random.default_rng(0)
    ints = [n for n in NAMES if n not in ("bool", "float16", "bfloat16")]
    for n1, n2 in itertools.product(ints, ints):
        for z2 in (False, True):
            va = rng.integers(1, 5, size=4) * (1 if n1 == "uint8" else rng.choice([-1, 1], size=4))
            vb = rng.integers(1, 5, size=() if z2 else 4) * (1 if n2 == "uint8" else -1)
            e = fn(ember.tensor(va, dtype=getattr(ember, n1)), ember.tensor(vb, dtype=getattr(ember, n2)))
            t = fn(torch.tensor(va, dtype=getattr(torch, n1)), torch.tensor(vb, dtype=getattr(torch, n2)))
            np.testing.assert_allclose(e.double().numpy(), t.double().numpy(), rtol=1e-6, err_msg=f"{n1} {n2}")


def test_spec_examples():
    assert (ember.ones(2, dtype=ember.float16) + 1.5).dtype is ember.float16
    assert (ember.ones(2, dtype=ember.int64) * 2.5).dtype is ember.float32
    assert (ember.ones(2, dtype=ember.int64) / 2).dtype is ember.float32
    assert (ember.tensor([True]) + ember.tensor([True])).dtype is ember.bool
    assert (ember.ones(2, dtype=ember.uint8) + ember.ones(2, dtype=ember.int8)).dtype is ember.int16
    assert (ember.ones(2, dtype=ember.int64) + ember.tensor(1.0, dtype=ember.float64)).dtype is ember.float64
    assert (ember.ones(2) + ember.tensor(1.0, dtype=ember.float64)).dtype is ember.float32


@pytest.mark.skipif(ember.bfloat16.np is None, reason="bfloat16 needs ml_dtypes")
def test_bfloat16_with_python_float_stays_bfloat16():
    e = ember.tensor([1.5, -2.25], dtype=ember.bfloat16) * 2.5 + 1.25
    t = torch.tensor([1.5, -2.25], dtype=torch.bfloat16) * 2.5 + 1.25
    assert e.dtype is ember.bfloat16
    assert e.tolist() == t.tolist()


def test_promote_types_and_can_cast_all_pairs():
    for n1, n2 in itertools.product(NAMES, NAMES):
        e1, e2, t1, t2 = getattr(ember, n1), getattr(ember, n2), getattr(torch, n1), getattr(torch, n2)
        assert dtype_name(ember.promote_types(e1, e2)) == dtype_name(torch.promote_types(t1, t2)), (n1, n2)
        assert ember.can_cast(e1, e2) == torch.can_cast(t1, t2), (n1, n2)


@pytest.mark.parametrize("args", [
    ("int32", 1.0), ("int64", ("float64", 0)), ("float32", ("float64", 0)), (2, 3.0), (("uint8", 0), 1),
    (True, "uint8"), ("int8", ("uint8", 0)), (("int8", 0), ("uint8", 0)), ("float16", 1), (1, 2), (True, False),
])
def test_result_type(args):
    def build(lib, spec):
        if isinstance(spec, str):
            return lib.ones(2, dtype=getattr(lib, spec))
        if isinstance(spec, tuple):
            return lib.ones((), dtype=getattr(lib, spec[0]))
        return spec
    got = ember.result_type(*(build(ember, a) for a in args))
    assert dtype_name(got) == dtype_name(torch.result_type(*(build(torch, a) for a in args)))


def test_default_dtype_affects_creation_and_division():
    ember.set_default_dtype(ember.float64)
    assert ember.get_default_dtype() is ember.float64
    assert ember.tensor([1.0]).dtype is ember.float64
    assert ember.zeros(2).dtype is ember.float64
    assert ember.rand(2).dtype is ember.float64
    assert (ember.tensor([1]) / ember.tensor([2])).dtype is ember.float64
    assert (ember.tensor([1]) * 2.5).dtype is ember.float64
    assert ember.arange(0.0, 1.0).dtype is ember.float64
    ember.set_default_dtype(ember.float32)
    assert ember.tensor([1.0]).dtype is ember.float32


def test_set_default_dtype_rejects_integers():
    with pytest.raises(TypeError, match="only floating-point types are supported as the default type"):
        ember.set_default_dtype(ember.int64)


def test_dtype_attributes_and_aliases():
    for name in NAMES:
        e, t = getattr(ember, name), getattr(torch, name)
        assert (e.is_floating_point, e.is_signed, e.itemsize) == (t.is_floating_point, t.is_signed, t.itemsize)
        assert repr(e) == repr(t).replace("torch", "ember")
    assert ember.float is ember.float32 and ember.double is ember.float64 and ember.half is ember.float16
    assert ember.long is ember.int64 and ember.int is ember.int32 and ember.short is ember.int16
    assert pickle.loads(pickle.dumps(ember.float16)) is ember.float16


@pytest.mark.parametrize("name", ["float16", "bfloat16", "float32", "float64"])
def test_finfo(name):
    if name not in NAMES:
        pytest.skip("bfloat16 needs ml_dtypes")
    e, t = ember.finfo(getattr(ember, name)), torch.finfo(getattr(torch, name))
    for attr in ("bits", "eps", "max", "min", "tiny", "resolution"):
        assert getattr(e, attr) == getattr(t, attr), attr


@pytest.mark.parametrize("name", ["uint8", "int8", "int16", "int32", "int64"])
def test_iinfo(name):
    e, t = ember.iinfo(getattr(ember, name)), torch.iinfo(getattr(torch, name))
    assert (e.bits, e.min, e.max) == (t.bits, t.min, t.max)


DTYPE_ERRORS = {
    "finfo of int": (lambda T: T.finfo(T.int32), TypeError,
                     r"torch.finfo\(\) requires a floating point input type. Use torch.iinfo to handle 'torch.finfo'"),
    "iinfo of float": (lambda T: T.iinfo(T.float32), TypeError,
                       r"torch.iinfo\(\) requires an integer input type. Use torch.finfo to handle 'torch.iinfo'"),
    "iinfo of bool": (lambda T: T.iinfo(T.bool), TypeError, "torch.bool is not supported by torch.iinfo"),
    "promote_types str": (lambda T: T.promote_types(T.float32, "a"), TypeError,
                          r"promote_types\(\): argument 'type2' \(position 2\) must be torch.dtype, not str"),
    "promote_types int": (lambda T: T.promote_types(1, T.float32), TypeError,
                          r"promote_types\(\): argument 'type1' \(position 1\) must be torch.dtype, not int"),
}


@pytest.mark.parametrize("name", list(DTYPE_ERRORS))
def test_dtype_errors_match_torch(name):
    fn, exc, msg = DTYPE_ERRORS[name]
    with pytest.raises(exc, match=msg):
        fn(torch)
    with pytest.raises(exc, match=msg):
        fn(ember)


def test_dtype_class_prints_as_ember_dtype():
    assert repr(ember.dtype) == "<class 'ember.dtype'>" and isinstance(ember.float32, ember.dtype)
