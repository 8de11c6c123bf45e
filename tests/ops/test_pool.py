"""Pooling, padding and interpolation against PyTorch."""
import numpy as np
import pytest

import ember
from tests.helpers import check, gradcheck, rand, noncontiguous, torch


def F(T):
    return T.nn.functional


def _distinct(*shape):
    """Random values without ties, so max-pool gradients are well defined for finite differences."""
    return np.random.default_rng(7).permutation(np.prod(shape)).reshape(shape).astype(np.float64) / 10


MAX_POOL_CASES = [
    ("max_pool2d", (2, 3, 8, 8), dict(kernel_size=2)),
    ("max_pool2d", (2, 3, 7, 6), dict(kernel_size=3, stride=2, padding=1, return_indices=True)),
    ("max_pool2d", (2, 3, 7, 6), dict(kernel_size=(3, 2), stride=2, padding=1, dilation=(2, 1), ceil_mode=True,
                                      return_indices=True)),
    ("max_pool2d", (3, 5, 5), dict(kernel_size=2, ceil_mode=True, return_indices=True)),  # unbatched
    ("max_pool2d", (1, 2, 6, 6), dict(kernel_size=3, stride=1, padding=1)),  # overlapping windows
    ("max_pool1d", (2, 3, 9), dict(kernel_size=3, stride=2, ceil_mode=True, return_indices=True)),
    ("max_pool1d", (3, 9), dict(kernel_size=2, padding=1)),
    ("max_pool3d", (1, 2, 4, 5, 4), dict(kernel_size=2, stride=(1, 2, 2), padding=1, return_indices=True)),
]


@pytest.mark.parametrize("fn,shape,kw", MAX_POOL_CASES)
def test_max_pool_matches_torch(fn, shape, kw):
    check(lambda T, x: getattr(F(T), fn)(x, **kw), rand(*shape))


def test_max_pool_ties_and_float32_noncontiguous():
    x = np.round(rand(2, 3, 6, 8, dtype=np.float32))  # many ties: the first max in the window gets the gradient
    check(lambda T, x: F(T).max_pool2d(x, 2, return_indices=True), x)
    check(lambda T, x: F(T).max_pool2d(x, 3, stride=1, padding=1, return_indices=True), noncontiguous(x))


def test_max_pool_all_neg_inf_window_points_at_real_element():
    x = np.full((1, 1, 3, 3), -np.inf)
    check(lambda T, x: F(T).max_pool2d(x, 2, padding=1, return_indices=True), x, grad=False)


def test_max_pool_nan_propagates():
    x = rand(1, 1, 4, 4)
    x[0, 0, 1, 1] = np.nan
    check(lambda T, x: F(T).max_pool2d(x, 2), x, grad=False)


def test_max_pool_output_inplace_relu_keeps_backward():
    for T in (ember, torch):
        x = T.tensor(rand(1, 2, 4, 4), requires_grad=True)
        y = F(T).max_pool2d(x, 2)
        F(T).relu(y, inplace=True).sum().backward()


@pytest.mark.parametrize("fn,shape,kw", MAX_POOL_CASES[:4] + MAX_POOL_CASES[5:])
def test_max_pool_gradcheck(fn, shape, kw):
    kw = {k: v for k, v in kw.items() if k != "return_indices"}
    gradcheck(lambda x: getattr(F(ember), fn)(x, **kw), _distinct(*shape), gradgrad=True)


@pytest.mark.parametrize("fn,shape,kw", [
    ("avg_pool2d", (2, 3, 8, 8), dict(kernel_size=2)),
    ("avg_pool2d", (2, 3, 7, 6), dict(kernel_size=3, stride=2, padding=1)),
    ("avg_pool2d", (2, 3, 7, 6), dict(kernel_size=3, stride=2, padding=1, ceil_mode=True)),
    ("avg_pool2d", (2, 3, 7, 6), dict(kernel_size=3, stride=2, padding=1, ceil_mode=True, count_include_pad=False)),
    ("avg_pool2d", (3, 6, 6), dict(kernel_size=2, divisor_override=3)),  # unbatched
    ("avg_pool1d", (2, 3, 9), dict(kernel_size=3, stride=2, padding=1, ceil_mode=True, count_include_pad=False)),
    ("avg_pool3d", (1, 2, 4, 5, 4), dict(kernel_size=2, stride=1, padding=1)),
])
def test_avg_pool_matches_torch_and_gradcheck(fn, shape, kw):
    x = rand(*shape)
    check(lambda T, x: getattr(F(T), fn)(x, **kw), x)
    gradcheck(lambda x: getattr(F(ember), fn)(x, **kw), x[:1], gradgrad=True)


@pytest.mark.parametrize("fn,shape,size", [
    ("adaptive_avg_pool2d", (2, 3, 7, 6), (4, 5)),
    ("adaptive_avg_pool2d", (2, 3, 8, 6), (1, 1)),
    ("adaptive_avg_pool2d", (3, 7, 6), (3, None)),  # unbatched, None keeps the size
    ("adaptive_avg_pool1d", (2, 3, 9), 4),
    ("adaptive_avg_pool3d", (1, 2, 5, 4, 6), (2, 3, 4)),
    ("adaptive_max_pool2d", (2, 3, 7, 6), (4, 5)),
    ("adaptive_max_pool2d", (3, 7, 6), 3),
    ("adaptive_max_pool1d", (2, 3, 9), 4),
])
def test_adaptive_pools_match_torch(fn, shape, size):
    check(lambda T, x: getattr(F(T), fn)(x, size), rand(*shape))
    gradcheck(lambda x: getattr(F(ember), fn)(x, size), _distinct(*shape), gradgrad=True)


@pytest.mark.parametrize("fn", ["adaptive_max_pool2d", "adaptive_max_pool1d"])
def test_adaptive_max_pool_indices(fn):
    shape = (2, 3, 7, 6) if fn.endswith("2d") else (2, 3, 7)
    check(lambda T, x: getattr(F(T), fn)(x, 3, return_indices=True), rand(*shape))


@pytest.mark.parametrize("shape,pad,mode", [
    ((2, 3, 4, 5), (1, 2, -1, 3), "constant"),
    ((2, 3, 4), (2, 0), "constant"),
    ((2, 3, 4, 5), (1, 2, 3, 3), "reflect"),
    ((3, 5), (2, 4), "reflect"),
    ((2, 3, 4, 5), (1, 2, 3, 3), "replicate"),
    ((1, 2, 3, 4, 5), (1, 0, 2, 1, 1, 1), "replicate"),
    ((2, 3, 4, 5), (1, 2, 3, 4), "circular"),
    ((2, 3, 4), (3, 1), "circular"),
])
def test_pad_matches_torch(shape, pad, mode):
    check(lambda T, x: F(T).pad(x, pad, mode=mode), rand(*shape))
    check(lambda T, x: F(T).pad(x, pad, mode=mode), noncontiguous(rand(*shape)))
    gradcheck(lambda x: F(ember).pad(x, pad, mode=mode), rand(*shape), gradgrad=True)


def test_pad_constant_value_and_names():
    check(lambda T, x: F(T).pad(x, (1, 1), value=3.5), rand(2, 3))
    x = ember.tensor(rand(1, 2, 4, 4), requires_grad=True)
    names = {m: type(F(ember).pad(x, (1, 1, 1, 1), mode=m).grad_fn).__name__ for m in ("constant", "reflect",
                                                                                      "replicate")}
    assert names == {"constant": "ConstantPadNdBackward0", "reflect": "ReflectionPad2DBackward0",
                     "replicate": "ReplicationPad2DBackward0"}


@pytest.mark.parametrize("shape,kw", [
    ((2, 3, 4, 5), dict(scale_factor=2)),
    ((2, 3, 4, 5), dict(size=(5, 11))),
    ((2, 3, 4, 5), dict(size=(3, 7), mode="nearest-exact")),
    ((2, 3, 4, 5), dict(scale_factor=2, mode="bilinear")),
    ((2, 3, 4, 5), dict(scale_factor=1.7, mode="bilinear")),
    ((2, 3, 4, 5), dict(size=(5, 11), mode="bilinear", align_corners=True)),
    ((2, 3, 4, 5), dict(size=(9, 3), mode="bicubic")),
    ((2, 3, 4, 5), dict(size=(9, 3), mode="bicubic", align_corners=True)),
    ((2, 3, 5), dict(size=9, mode="linear")),
    ((2, 3, 5), dict(scale_factor=3)),
    ((1, 2, 3, 4, 5), dict(size=(4, 3, 6), mode="trilinear")),
    ((1, 2, 3, 4, 5), dict(scale_factor=2)),
    ((2, 3, 7, 6), dict(size=(3, 4), mode="area")),
])
def test_interpolate_matches_torch(shape, kw):
    x = rand(*shape)
    check(lambda T, x: F(T).interpolate(x, **kw), x)
    gradcheck(lambda x: F(ember).interpolate(x, **kw), x[:1, :1], gradgrad=True)


def test_interpolate_grad_fn_names():
    x = ember.tensor(rand(1, 1, 3, 3), requires_grad=True)
    assert type(F(ember).interpolate(x, scale_factor=2).grad_fn).__name__ == "UpsampleNearest2DBackward0"
    assert type(F(ember).interpolate(x, scale_factor=2, mode="bilinear").grad_fn).__name__ == \
        "UpsampleBilinear2DBackward0"


def test_pool_grad_fn_names():
    x = ember.tensor(rand(1, 1, 4, 4), requires_grad=True)
    assert type(F(ember).max_pool2d(x, 2).grad_fn).__name__ == "MaxPool2DWithIndicesBackward0"
    assert type(F(ember).avg_pool2d(x, 2).grad_fn).__name__ == "AvgPool2DBackward0"
    assert type(F(ember).adaptive_avg_pool2d(x, 2).grad_fn).__name__ == "AdaptiveAvgPool2DBackward0"
    assert type(F(ember).adaptive_max_pool2d(x, 2).grad_fn).__name__ == "AdaptiveMaxPool2DBackward0"


def _both(fn, exc, message):
    for T in (torch, ember):
        with pytest.raises(exc, match=message):
            fn(T)


@pytest.mark.parametrize("fn,exc,message", [
    (lambda T: F(T).max_pool2d(T.randn(2, 3, 5, 5), 3, padding=2), RuntimeError,
     "pad should be at most half of effective kernel size, but got pad=2, kernel_size=3 and dilation=1"),
    (lambda T: F(T).max_pool2d(T.randn(3, 1, 1), 2), RuntimeError,
     r"Given input size: \(3x1x1\). Calculated output size: \(3x0x0\). Output size is too small"),
    (lambda T: F(T).avg_pool2d(T.randn(3, 1, 1), 2), RuntimeError,
     r"Given input size: \(3x1x1\). Calculated output size: \(3x0x0\). Output size is too small"),
    (lambda T: F(T).max_pool2d(T.randn(3, 1), 2), RuntimeError,
     r"non-empty 3D or 4D \(batch mode\) tensor expected for input"),
    (lambda T: F(T).max_pool1d(T.randn(3), 2), RuntimeError,
     r"max_pool1d: Expected 2D or 3D \(batch mode\) tensor with optional 0 dim batch size for input, but got:\[3\]"),
    (lambda T: F(T).max_pool2d(T.randn(1, 1, 4, 4), 2, stride=0), RuntimeError, "stride should not be zero"),
    (lambda T: F(T).max_pool2d(T.randn(1, 1, 4, 4), 2, dilation=0), RuntimeError,
     "dilation should be greater than zero, but got dilationH: 0 dilationW: 0"),
    (lambda T: F(T).avg_pool2d(T.randn(2, 3, 5, 5), 3, padding=2), RuntimeError,
     "pad should be at most half of effective kernel size"),
    (lambda T: F(T).adaptive_avg_pool2d(T.randn(3), 2), RuntimeError,
     r"adaptive_avg_pool2d\(\): Expected 3D or 4D tensor, but got \[3\]"),
    (lambda T: F(T).adaptive_max_pool2d(T.randn(3), 2), RuntimeError,
     r"adaptive_max_pool2d\(\): Expected 3D or 4D tensor, but got: \[3\]"),
    (lambda T: F(T).adaptive_avg_pool2d(T.randn(1, 2, 4, 4), (2, 2, 2)), RuntimeError,
     "adaptive_avg_pool2d: output_size must be 2"),
    (lambda T: F(T).pad(T.randn(2, 3), (1,)), RuntimeError, "Padding length must be divisible by 2"),
    (lambda T: F(T).pad(T.randn(2, 3), (1, 1, 1, 1, 1, 1)), RuntimeError,
     "Padding length should be less than or equal to two times the input dimension but got padding length 6 and "
     "input of dimension 2"),
    (lambda T: F(T).pad(T.randn(2, 3, 4, 4), (1, 1), mode="reflect"), NotImplementedError,
     "Padding size 2 is not supported for 4D input tensor"),
    (lambda T: F(T).pad(T.randn(1, 2, 3), (3, 3), mode="reflect"), RuntimeError,
     r"Padding size should be less than the corresponding input dimension, but got: padding \(3, 3\) at dimension 2 "
     r"of input \[1, 2, 3\]"),
    (lambda T: F(T).pad(T.randn(1, 2, 3), (1, 1), mode="foo"), NotImplementedError, "Unrecognised padding mode foo"),
    (lambda T: F(T).interpolate(T.randn(1, 2, 3, 3)), ValueError, "either size or scale_factor should be defined"),
    (lambda T: F(T).interpolate(T.randn(1, 2, 3, 3), size=3, scale_factor=2), ValueError,
     "only one of size or scale_factor should be defined"),
    (lambda T: F(T).interpolate(T.randn(1, 2, 3, 3), size=3, mode="linear"), NotImplementedError,
     "Got 4D input, but linear mode needs 3D input"),
    (lambda T: F(T).interpolate(T.randn(1, 2, 3, 3), size=3, align_corners=True), ValueError,
     "align_corners option can only be set with the interpolating modes"),
    (lambda T: F(T).interpolate(T.randn(1, 2, 3, 3), size=(3, 3, 3)), ValueError,
     "Input and output must have the same number of spatial dimensions"),
    (lambda T: F(T).avg_pool1d(T.randn(2, 3, 4, 7), 2), RuntimeError,
     r"Expected 2 to 3 dimensions, but got 4-dimensional tensor for argument #1 'self' \(while checking arguments for "
     r"avg_pool1d\)"),
    (lambda T: F(T).avg_pool2d(T.randn(3, 7), 2), IndexError,
     r"Dimension out of range \(expected to be in range of \[-2, 1\], but got -3\)"),
    (lambda T: F(T).pad(T.randn(2, 3, 5, 4), (5, 5, 5, 5), mode="reflect"), RuntimeError,
     r"but got: padding \(5, 5\) at dimension 3 of input \[2, 3, 5, 4\]"),
    (lambda T: F(T).pad(T.randn(1, 2, 3, 5, 4), (5,) * 6, mode="reflect"), RuntimeError,
     r"but got: padding \(5, 5\) at dimension 4 of input \[1, 2, 3, 5, 4\]"),
    (lambda T: F(T).interpolate(T.randn(1, 2, 6), size=3, mode="linear", antialias=True), ValueError,
     "Anti-alias option is restricted to bilinear, bicubic, and lanczos modes and requires a 4-D tensor as input"),
    (lambda T: F(T).interpolate(T.randn(1, 2, 6, 6), size=3, mode="lanczos"), ValueError,
     "Lanczos mode requires antialias=True"),
])
def test_pool_errors_match_torch(fn, exc, message):
    _both(fn, exc, message)


def test_max_pool_nan_gradient_goes_to_first_nan():
    x = rand(2, 2, 4, 6)
    x[0, 0, 1, 1] = x[0, 0, 0, 1] = np.nan  # two NaNs in one window: the first in window order wins
    x[1, 1, 3, 5] = np.nan
    check(lambda T, x: F(T).max_pool2d(x, 2, return_indices=True), x)
    check(lambda T, x: F(T).max_pool2d(x, 3, stride=1, padding=1), x)


def test_max_pool_neg_inf_window_with_padding_gradient():
    x = rand(1, 2, 5, 5)
    x[0, 0, :2, :2] = -np.inf  # the top-left padded window holds only -inf: its first real element wins
    check(lambda T, x: F(T).max_pool2d(x, 3, stride=2, padding=1, return_indices=True), x)


def test_max_pool_integer_ties_and_large_kernel():
    x = np.round(rand(1, 2, 8, 8, 8) * 2)  # many ties
    check(lambda T, x: F(T).max_pool3d(x, 7, stride=1, return_indices=True), x)  # 343 offsets per window
    ints = np.random.default_rng(3).integers(-3, 3, size=(2, 3, 6, 6))
    check(lambda T, x: F(T).max_pool2d(x, 2, padding=1, return_indices=True), ints)


def test_max_pool_tiled_and_strided_gradients():
    # windows tile the input exactly (no zero fill), and leave gaps between them (stride > kernel)
    check(lambda T, x: F(T).max_pool2d(x, 2), rand(2, 3, 6, 8, dtype=np.float32))
    check(lambda T, x: F(T).max_pool2d(x, 2, stride=3), rand(2, 3, 8, 7))
    check(lambda T, x: F(T).max_pool2d(x, 2), rand(2, 3, 7, 9))  # the last row/column is read by no window


@pytest.mark.parametrize("threads", [1, 2])
def test_max_pool_split_over_threads_matches_torch(threads):
    from ember.ops import _parallel
    # big enough for the window passes to run in slices of the batch, one per thread
    batch = _parallel._MIN_ELEMENTS // (8 * 80 * 82) + 2
    previous, before = ember.get_num_threads(), _parallel.splits
    ember.set_num_threads(threads)
    try:
        x = rand(batch, 8, 80, 82, dtype=np.float32)
        check(lambda T, x: F(T).max_pool2d(x, 2, return_indices=True), x)
        check(lambda T, x: F(T).max_pool2d(x, 3, stride=2), x)
    finally:
        ember.set_num_threads(previous)
    assert (_parallel.splits > before) == (threads > 1)


@pytest.mark.parametrize("pad", [(-1, 2), (2, -1), (-2, -1), (0, -3), (3, -2)])
def test_circular_pad_with_negative_padding_crops_then_wraps(pad):
    check(lambda T, x: F(T).pad(x, pad, mode="circular"), rand(2, 3, 5))
    check(lambda T, x: F(T).pad(x, pad + (1, -1), mode="circular"), rand(2, 3, 4, 5))


def test_circular_pad_wrapping_a_crop_several_times():
    # (-4, 4) keeps one column and repeats it: PyTorch's values; its backward is off here, so ours is gradchecked
    x = rand(2, 3, 5)
    expected = F(torch).pad(torch.tensor(x), (-4, 4), mode="circular").numpy()
    np.testing.assert_array_equal(F(ember).pad(ember.tensor(x), (-4, 4), mode="circular").numpy(), expected)
    gradcheck(lambda x: F(ember).pad(x, (-4, 4), mode="circular"), x)


@pytest.mark.parametrize("mode", ["bilinear", "bicubic", "lanczos"])
@pytest.mark.parametrize("kw", [dict(size=(4, 3)), dict(size=(12, 5)), dict(scale_factor=0.3),
                                dict(scale_factor=(0.5, 1.7))])
def test_antialiased_interpolate_matches_torch(mode, kw):
    check(lambda T, x: F(T).interpolate(x, mode=mode, antialias=True, **kw), rand(2, 3, 9, 7))
    if mode != "lanczos":
        check(lambda T, x: F(T).interpolate(x, mode=mode, antialias=True, align_corners=True, **kw),
              rand(1, 2, 9, 7))
    x = ember.tensor(rand(1, 1, 9, 7), requires_grad=True)
    name = type(F(ember).interpolate(x, mode=mode, antialias=True, **kw).grad_fn).__name__
    assert name == f"Upsample{mode.capitalize()}2DAaBackward0"
