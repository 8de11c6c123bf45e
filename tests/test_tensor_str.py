"""repr/str of tensors must match PyTorch's character for character."""
import math

import numpy as np
import pytest

import ember
from ember import _dtype, _tensor_str

torch = pytest.importorskip("torch")

FLOAT_DTYPES = ["float32", "float64", "float16", "bfloat16"]
INT_DTYPES = ["int64", "int32", "int16", "int8", "uint8"]


@pytest.fixture(autouse=True)
def _restore_defaults():
    yield
    _tensor_str.set_printoptions(profile="default")
    torch.set_printoptions(profile="default")
    _dtype.set_default_dtype(_dtype.float32)
    torch.set_default_dtype(torch.float32)


def _needs_dtype(name):
    if name == "bfloat16":
        pytest.importorskip("ml_dtypes")


def _pair(values, dtype="float32", requires_grad=False):
    """The same values as a torch tensor and an ember tensor of ``dtype``."""
    _needs_dtype(dtype)
    t = torch.from_numpy(np.array(values)).to(getattr(torch, dtype))
    # read the values back from torch so both sides hold exactly the same numbers
    exact = t.double().numpy() if t.dtype.is_floating_point else t.numpy()
    e = ember.tensor(exact, dtype=getattr(ember, dtype), requires_grad=requires_grad)
    return e, t.requires_grad_(requires_grad)


def assert_prints_like_torch(e, t):
    expected = str(t).replace("torch.", "ember.")
    assert str(e) == expected
    assert repr(e) == expected


def _check(values, dtype="float32", requires_grad=False):
    assert_prints_like_torch(*_pair(values, dtype, requires_grad))


def _rng(seed=0):
    return np.random.default_rng(seed)


# name -> values (float64 numpy arrays; the dtype is applied in _pair)
FLOAT_CASES = {
    "small_ints": np.array([1.0, 2.0, 3.0]),
    "negative_ints": np.array([-1.0, 20.0, -300.0]),
    "fixed": np.array([1.5, -2.25, 0.125]),
    "normal": _rng(1).standard_normal(7),
    "normal_2d": _rng(2).standard_normal((4, 5)),
    "normal_3d": _rng(3).standard_normal((2, 3, 4)),
    "normal_4d": _rng(4).standard_normal((2, 2, 2, 3)),
    "tiny_goes_sci": np.array([1e-5, 1.0]),
    "ratio_goes_sci": np.array([0.5, 1234.5]),
    "big_goes_sci": np.array([1.5e9, 2.0]),
    "int_ratio_goes_sci": np.array([1.0, 5000.0]),
    "int_big_goes_sci": np.array([2e8, 3e8]),
    "int_below_ratio": np.array([1.0, 1000.0]),
    "mixed_magnitudes": _rng(5).standard_normal(12) * 10.0 ** _rng(6).integers(-8, 8, 12),
    "nan_inf": np.array([1.5, np.nan, np.inf, -np.inf]),
    "only_nan_inf_zero": np.array([0.0, np.nan, -np.inf]),
    "zeros": np.zeros((2, 3)),
    "negative_zero": np.array([-0.0, 0.0]),
    "rounding_up": np.array([9.99996, 0.5]),
    "wide_row_wraps": _rng(7).standard_normal(40) * 100,
    "wide_2d_wraps": _rng(8).standard_normal((3, 25)),
    "summarised_1d": np.arange(2000.0),
    "summarised_2d": _rng(9).standard_normal((50, 50)),
    "summarised_3d": _rng(10).standard_normal((12, 12, 12)),
    "summarised_one_dim_only": _rng(11).standard_normal((2000, 2)),
    "summarised_wide": _rng(12).standard_normal((3, 2000)),
    "scalar": np.array(3.0),
    "scalar_fraction": np.array(-0.1234567),
    "scalar_nan": np.array(np.nan),
    "empty": np.zeros(0),
    "empty_2d": np.zeros((0, 3)),
    "empty_3d": np.zeros((2, 0, 4)),
}


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
@pytest.mark.parametrize("case", sorted(FLOAT_CASES))
def test_float_values(case, dtype):
    _check(FLOAT_CASES[case], dtype)


INT_CASES = {
    "vector": np.array([1, 2, 3]),
    "mixed_width": np.array([-100, 5, 42]),
    "matrix": np.arange(12).reshape(3, 4),
    "cube": np.arange(24).reshape(2, 3, 4),
    "scalar": np.array(7),
    "empty": np.zeros(0, dtype=np.int64),
    "empty_2d": np.zeros((3, 0), dtype=np.int64),
    "summarised": np.arange(3000).reshape(30, 100),
    "wrapping": np.arange(60) * 1001,
}


@pytest.mark.parametrize("dtype", INT_DTYPES)
@pytest.mark.parametrize("case", sorted(INT_CASES))
def test_integer_values(case, dtype):
    values = INT_CASES[case]
    info = np.iinfo(dtype)
    _check(np.clip(values, info.min, info.max), dtype)


def test_int64_extremes():
    _check(np.array([np.iinfo(np.int64).min, 0, np.iinfo(np.int64).max]), "int64")


@pytest.mark.parametrize("values", [
    np.array([True, False, True]),
    np.array([True, True]),
    np.array(False),
    _rng(13).random((40, 40)) > 0.5,
    np.zeros((0, 2), dtype=bool),
], ids=["vector", "all_true", "scalar", "summarised", "empty"])
def test_bool(values):
    _check(values, "bool")


@pytest.mark.parametrize("values", [
    _rng(14).standard_normal(3),
    _rng(15).standard_normal((8, 8)),
    np.array(2.0),
    np.zeros((0, 2)),
    _rng(16).standard_normal(50),
], ids=["vector", "matrix_wraps_suffix", "scalar", "empty", "long"])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_requires_grad_leaf(values, dtype):
    _check(values, dtype, requires_grad=True)


@pytest.mark.parametrize("op", ["mul", "add"])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("shape", [(3,), (8, 8), ()])
def test_grad_fn_suffix(op, dtype, shape):
    values = _rng(17).standard_normal(shape)
    e, t = _pair(values, dtype, requires_grad=True)
    if op == "mul":
        e, t = e * 2, t * 2
    else:
        e, t = e + 1, t + 1
    assert_prints_like_torch(e, t)


PRINT_OPTIONS = {
    "precision_2": dict(precision=2),
    "precision_8": dict(precision=8),
    "precision_0": dict(precision=0),
    "sci_on": dict(sci_mode=True),
    "sci_off": dict(sci_mode=False),
    "threshold_10": dict(threshold=10),
    "linewidth_40": dict(linewidth=40),
    "linewidth_120": dict(linewidth=120),
    "linewidth_tiny": dict(linewidth=5),
    "edgeitems_1": dict(edgeitems=1, threshold=5),
    "edgeitems_0": dict(edgeitems=0, threshold=3),
    "profile_short": dict(profile="short"),
    "profile_full": dict(profile="full"),
    "profile_full_precision_2": dict(profile="full", precision=2),
}

OPTION_VALUES = {
    "normal_2d": _rng(18).standard_normal((6, 7)),
    "integers": np.arange(30.0),
    "sci": np.array([1e-6, 2.5, 3e3]),
    "big_ints": np.array([1e10, -2.0, 3.0]),
    "long": _rng(19).standard_normal(1500),
    "cube": _rng(20).standard_normal((4, 5, 6)),
    "scalar": np.array(1.25),
    "zeros_nan": np.array([0.0, np.nan]),
}


@pytest.mark.parametrize("values", sorted(OPTION_VALUES))
@pytest.mark.parametrize("options", sorted(PRINT_OPTIONS))
def test_print_options(options, values):
    kwargs = PRINT_OPTIONS[options]
    _tensor_str.set_printoptions(**kwargs)
    torch.set_printoptions(**kwargs)
    _check(OPTION_VALUES[values])
    _check(np.arange(24).reshape(2, 3, 4) * 7, "int32")


@pytest.mark.parametrize("calls", [
    [dict(precision=2)],
    [dict(sci_mode=True), dict(precision=3)],  # sci_mode is reset when left out
    [dict(profile="short")],
    [dict(profile="full")],
    [dict(profile="short", edgeitems=5)],
    [dict(threshold=10, linewidth=100), dict(profile="default")],
    [dict(profile="no-such-profile")],
])
def test_set_and_get_printoptions(calls):
    for kwargs in calls:
        _tensor_str.set_printoptions(**kwargs)
        torch.set_printoptions(**kwargs)
    assert _tensor_str.get_printoptions() == torch._tensor_str.get_printoptions()


def test_printoptions_context_manager_restores():
    _tensor_str.set_printoptions(precision=6)
    with _tensor_str.printoptions(precision=2, sci_mode=True):
        assert _tensor_str.get_printoptions()["precision"] == 2
        assert _tensor_str.get_printoptions()["sci_mode"] is True
    assert _tensor_str.get_printoptions() == dict(
        precision=6, threshold=1000, edgeitems=3, linewidth=80, sci_mode=None)


def test_full_profile_prints_everything():
    _tensor_str.set_printoptions(profile="full")
    torch.set_printoptions(profile="full")
    _check(np.arange(1200.0).reshape(40, 30))
    assert math.isinf(_tensor_str.get_printoptions()["threshold"])


@pytest.mark.parametrize("dtype", ["float32", "float64", "float16", "int64", "bool"])
@pytest.mark.parametrize("values", [np.array([1.0, 2.5]), np.zeros((0, 3)), np.zeros(0), np.array(4.0)],
                         ids=["vector", "empty_2d", "empty", "scalar"])
def test_changed_default_dtype(dtype, values):
    _dtype.set_default_dtype(_dtype.float64)
    torch.set_default_dtype(torch.float64)
    _check(values, dtype)


class _FakeTensor:
    """Just the attributes ``_str`` reads, to test what the CPU oracle cannot."""

    def __init__(self, data, dtype, device="cpu", requires_grad=False):
        self._data = data
        self.dtype = dtype
        self.shape = data.shape
        self.device = ember._device.device(device)
        self.requires_grad = requires_grad
        self.is_leaf = True
        self.grad_fn = None


def test_device_suffix_comes_first():
    # PyTorch: device, then size, then dtype, then requires_grad/grad_fn
    t = _FakeTensor(np.ones((2, 2), np.float32), _dtype.float32, "cuda:0")
    assert _tensor_str._str(t) == "tensor([[1., 1.],\n        [1., 1.]], device='cuda:0')"
    t = _FakeTensor(np.ones((0, 2), np.float16), _dtype.float16, "cuda:1", requires_grad=True)
    assert _tensor_str._str(t) == ("tensor([], device='cuda:1', size=(0, 2), dtype=ember.float16,\n"
                                   "       requires_grad=True)")


def test_large_tensor_is_summarised_quickly():
    # only the shown corners are formatted; a full pass would take seconds
    values = np.arange(4_000_000, dtype=np.float32).reshape(2000, 2000)
    text = _tensor_str._str(_FakeTensor(values, _dtype.float32))
    assert text == str(torch.from_numpy(values))


@pytest.mark.parametrize("shape,dtype", [((2, 0), "int32"), ((3,), "float32"), ((2, 2), "float64")])
def test_custom_tensor_contents(shape, dtype):
    values = np.ones(shape, dtype=dtype)
    fake = _FakeTensor(values, getattr(_dtype, dtype), requires_grad=dtype != "int32")
    t = torch.from_numpy(values).requires_grad_(dtype != "int32")
    expected = t.__repr__(tensor_contents="[custom]").replace("torch.", "ember.")
    assert _tensor_str._str(fake, tensor_contents="[custom]") == expected


@pytest.mark.filterwarnings("error")
def test_float64_extreme_range_without_overflow_warning():
    _check(np.array([1e300, -1e-300, 1.5, np.nan]), "float64")


def _random_case(rng):
    """Random values of every kind printing distinguishes: magnitudes, integral floats, nan/inf, zeros."""
    ndim = int(rng.integers(0, 4))
    shape = tuple(int(s) for s in rng.integers(0, 6 if ndim > 1 else 12, ndim))
    if rng.random() < 0.05:
        shape = (int(rng.integers(1000, 1300)),)
    n = int(np.prod(shape))
    scale = 10.0 ** rng.integers(-9, 12)
    kind = int(rng.integers(0, 6))
    if kind == 0:
        values = rng.standard_normal(n) * scale
    elif kind == 1:
        values = np.round(rng.standard_normal(n) * scale)
    elif kind == 2:
        values = rng.standard_normal(n) * scale
        u = rng.random(n)
        values[u < 0.2], values[(u > 0.2) & (u < 0.3)], values[(u > 0.3) & (u < 0.35)] = np.nan, np.inf, -np.inf
    elif kind == 3:
        values = rng.choice([0.0, -0.0, 1.0, 0.5, 1e-5, 123456.0, 1e8, 0.1, 1 / 3], n)
    elif kind == 4:
        values = rng.uniform(0.9, 1.1, n) * scale
    else:
        values = np.exp(rng.standard_normal(n) * 10)
    dtype = str(rng.choice(["float32", "float64", "float16", "bfloat16"] if ember.bfloat16.np is not None
                           else ["float32", "float64", "float16"]))
    return values.reshape(shape), dtype


@pytest.mark.parametrize("seed", range(4))
def test_random_values_print_like_torch(seed):
    rng = np.random.default_rng(100 + seed)
    for _ in range(150):
        values, dtype = _random_case(rng)
        e = ember.tensor(values).to(getattr(ember, dtype))
        t = torch.tensor(values).to(getattr(torch, dtype))
        assert repr(e) == repr(t).replace("torch.", "ember."), (values.shape, dtype)
