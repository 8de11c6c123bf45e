"""Convolutions, transposed convolutions, unfold and fold against PyTorch."""
import warnings

import numpy as np
import pytest

import ember
from tests.helpers import check, gradcheck, rand, noncontiguous, torch


def F(T):
    return T.nn.functional


CONV2D_CASES = [
    # x shape, w shape, kwargs
    ((2, 3, 7, 6), (4, 3, 3, 3), {}),
    ((2, 4, 7, 6), (6, 2, 3, 2), dict(stride=2, padding=1, dilation=(1, 2), groups=2)),
    ((1, 3, 8, 8), (2, 3, 2, 4), dict(padding="same")),  # even kernels pad asymmetrically
    ((2, 3, 6, 5), (4, 3, 3, 3), dict(padding="same", dilation=2)),
    ((2, 3, 6, 5), (4, 3, 1, 1), dict(padding="valid", stride=(2, 1))),
    ((3, 7, 6), (4, 3, 3, 3), dict(padding=(1, 0))),  # unbatched
    ((0, 3, 5, 5), (4, 3, 3, 3), {}),  # empty batch
    ((2, 6, 5, 5), (6, 1, 3, 3), dict(groups=6, padding=1)),  # depthwise
]


@pytest.mark.parametrize("xs,ws,kw", CONV2D_CASES)
def test_conv2d_matches_torch(xs, ws, kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch warns about even kernels with padding="same"
        check(lambda T, x, w, b: F(T).conv2d(x, w, b, **kw), rand(*xs), rand(*ws), rand(ws[0]))


def test_conv2d_float32_no_bias_noncontiguous():
    x = noncontiguous(rand(2, 3, 7, 6, dtype=np.float32))
    check(lambda T, x, w: F(T).conv2d(x, w, stride=2), x, rand(4, 3, 3, 3, dtype=np.float32), atol=1e-5)


def test_conv2d_transposed_input():
    check(lambda T, x, w: F(T).conv2d(x.transpose(2, 3), w, padding=1), rand(2, 3, 5, 6), rand(4, 3, 3, 3))


@pytest.mark.parametrize("xs,ws,kw", [
    ((2, 3, 9), (4, 3, 3), dict(stride=2, padding=2)),
    ((2, 4, 9), (4, 2, 4), dict(padding="same", dilation=2, groups=2)),
    ((3, 9), (5, 3, 3), {}),  # unbatched
])
def test_conv1d_matches_torch(xs, ws, kw):
    check(lambda T, x, w, b: F(T).conv1d(x, w, b, **kw), rand(*xs), rand(*ws), rand(ws[0]))


@pytest.mark.parametrize("xs,ws,kw", [
    ((2, 4, 5, 6, 5), (4, 2, 3, 3, 2), dict(stride=2, padding=1, groups=2)),
    ((2, 4, 5, 4), (3, 2, 2, 2, 2), dict(padding="same")),  # unbatched
])
def test_conv3d_matches_torch(xs, ws, kw):
    check(lambda T, x, w: F(T).conv3d(x, w, **kw), rand(*xs), rand(*ws))


@pytest.mark.parametrize("fn,xs,ws,kw", [
    ("conv_transpose2d", (2, 4, 5, 4), (4, 3, 3, 2), {}),
    ("conv_transpose2d", (2, 4, 5, 4), (4, 3, 3, 2), dict(stride=2, padding=1, output_padding=1, groups=2,
                                                          dilation=(1, 2))),
    ("conv_transpose2d", (4, 5, 4), (4, 2, 3, 3), dict(stride=(1, 3), output_padding=(0, 2))),  # unbatched
    ("conv_transpose1d", (2, 3, 6), (3, 2, 3), dict(stride=3, padding=1)),
    ("conv_transpose3d", (1, 2, 3, 4, 3), (2, 2, 2, 3, 2), dict(stride=2)),
])
def test_conv_transpose_matches_torch(fn, xs, ws, kw):
    groups = kw.get("groups", 1)
    check(lambda T, x, w, b: getattr(F(T), fn)(x, w, b, **kw), rand(*xs), rand(*ws), rand(ws[1] * groups))


def test_conv_grad_fn_names():
    x = ember.tensor(rand(1, 2, 4, 4), requires_grad=True)
    w = ember.tensor(rand(3, 2, 2, 2), requires_grad=True)
    assert type(F(ember).conv2d(x, w).grad_fn).__name__ == "ConvolutionBackward0"
    assert type(F(ember).conv2d(x[0], w).grad_fn).__name__ == "SqueezeBackward1"
    assert type(F(ember).conv_transpose2d(x, w.transpose(0, 1)).grad_fn).__name__ == "ConvolutionBackward0"
    assert F(ember).conv2d(x.detach(), w.detach()).grad_fn is None


def test_conv2d_gradcheck_and_gradgrad():
    gradcheck(lambda x, w, b: F(ember).conv2d(x, w, b, stride=2, padding=1, dilation=(2, 1), groups=2),
              rand(2, 4, 5, 6), rand(4, 2, 2, 3), rand(4), gradgrad=True)


def test_conv2d_same_gradgrad():
    gradcheck(lambda x, w: F(ember).conv2d(x, w, padding="same"), rand(1, 2, 4, 5), rand(2, 2, 2, 3), gradgrad=True)


def test_conv1d_conv3d_gradcheck():
    gradcheck(lambda x, w: F(ember).conv1d(x, w, stride=2, padding=1, dilation=2), rand(2, 3, 7), rand(2, 3, 2),
              gradgrad=True)
    gradcheck(lambda x, w, b: F(ember).conv3d(x, w, b, padding=1, stride=(1, 2, 1)), rand(1, 2, 3, 4, 3),
              rand(2, 2, 2, 2, 2), rand(2))


def test_conv_transpose_gradcheck():
    gradcheck(lambda x, w, b: F(ember).conv_transpose2d(x, w, b, stride=2, padding=1, output_padding=1, groups=2),
              rand(2, 4, 3, 3), rand(4, 1, 2, 3), rand(2), gradgrad=True)
    gradcheck(lambda x, w: F(ember).conv_transpose1d(x, w, stride=2, dilation=2), rand(1, 2, 4), rand(2, 3, 3))


def test_top_level_conv_exports():
    check(lambda T, x, w: T.conv2d(x, w), rand(1, 2, 4, 4), rand(3, 2, 2, 2))
    check(lambda T, x, w: T.conv_transpose1d(x, w), rand(1, 2, 4), rand(2, 3, 2))


def test_saved_columns_released_after_backward():
    x = ember.tensor(rand(1, 2, 5, 5), requires_grad=True)
    w = ember.tensor(rand(3, 2, 2, 2), requires_grad=True)
    assert F(ember).conv2d(x, w).grad_fn._cols is None  # stride 1 rebuilds its columns in backward
    out = F(ember).conv2d(x, w, stride=2)
    node = out.grad_fn
    assert node._cols is not None
    out.sum().backward()
    assert node._cols is None
    with pytest.raises(RuntimeError, match="backward through the graph a second time"):
        out.sum().backward()


@pytest.mark.parametrize("kw", [dict(kernel_size=2), dict(kernel_size=(2, 3), dilation=(1, 2), padding=1,
                                                           stride=(2, 1))])
def test_unfold_fold_match_torch(kw):
    x = rand(2, 3, 6, 7)
    out = check(lambda T, x: F(T).unfold(x, **kw), x)
    blocks = rand(*out.shape)
    check(lambda T, c: F(T).fold(c, (6, 7), **kw), blocks)
    check(lambda T, x: F(T).unfold(x, **kw), x[0])  # unbatched
    gradcheck(lambda x: F(ember).unfold(x, **kw), x[:1, :2], gradgrad=True)
    gradcheck(lambda c: F(ember).fold(c, (6, 7), **kw), blocks[:1], gradgrad=True)


def _raises(fn, exc, message):
    with pytest.raises(exc, match=message):
        fn()


@pytest.mark.parametrize("fn,exc,message", [
    (lambda E: E.conv2d(E_(2, 3), E_(32, 1, 3, 3)), RuntimeError,
     r"Expected 3D \(unbatched\) or 4D \(batched\) input to conv2d, but got input of size: \[2, 3\]"),
    (lambda E: E.conv2d(E_(1, 2, 3, 3, 3), E_(32, 1, 3, 3)), RuntimeError,
     r"Expected 3D \(unbatched\) or 4D \(batched\) input to conv2d, but got input of size: \[1, 2, 3, 3, 3\]"),
    (lambda E: E.conv3d(E_(2, 3), E_(4, 3, 3, 3, 3)), RuntimeError,
     r"Expected 4D \(unbatched\) or 5D \(batched\) input to conv3d"),
    (lambda E: E.conv2d(E_(64, 3, 28, 28), E_(32, 1, 3, 3)), RuntimeError,
     r"Given groups=1, weight of size \[32, 1, 3, 3\], expected input\[64, 3, 28, 28\] to have 1 channels, "
     r"but got 3 channels instead"),
    (lambda E: E.conv1d(E_(2, 3), E_(4, 3, 3)), RuntimeError,
     r"expected input\[1, 2, 3\] to have 3 channels, but got 2 channels instead"),
    (lambda E: E.conv2d(E_(1, 3, 2, 2), E_(4, 3, 3, 3)), RuntimeError,
     r"Calculated padded input size per channel: \(2 x 2\). Kernel size: \(3 x 3\). Kernel size can't be greater "
     r"than actual input size"),
    (lambda E: E.conv2d(E_(2, 4, 8, 8), E_(3, 2, 3, 3), groups=2), RuntimeError,
     r"Given groups=2, expected weight to be divisible by 2 at dimension 0, but got weight of size "
     r"\[\[3, 2, 3, 3\]\] instead"),
    (lambda E: E.conv2d(E_(2, 3, 8, 8), E_(4, 3, 3, 3), E_(3)), RuntimeError,
     r"Given weight of size \[4, 3, 3, 3\], expected bias to be 1-dimensional with 4 elements, but got bias of "
     r"size \[3\] instead"),
    (lambda E: E.conv2d(E_(2, 3, 8, 8), E_(4, 3, 3, 3), stride=0), RuntimeError,
     "non-positive stride is not supported"),
    (lambda E: E.conv2d(E_(2, 3, 8, 8), E_(4, 3, 3, 3), padding=-1), RuntimeError,
     "negative padding is not supported"),
    (lambda E: E.conv2d(E_(2, 3, 8, 8), E_(4, 3, 3, 3), dilation=0), RuntimeError,
     "non-positive dilation is not supported"),
    (lambda E: E.conv2d(E_(2, 3, 8, 8), E_(4, 3, 3, 3), groups=0), RuntimeError,
     "non-positive groups is not supported"),
    (lambda E: E.conv2d(E_(2, 3, 8, 8), E_(4, 3, 3, 3), padding="same", stride=2), RuntimeError,
     "padding='same' is not supported for strided convolutions"),
    (lambda E: E.conv2d(E_(2, 3, 8, 8), E_(4, 3, 3, 3), padding="foo"), RuntimeError,
     "Invalid padding string: 'foo'"),
    (lambda E: E.conv2d(E_(2, 3, 8, 8), E_(4, 3, 3, 3), stride=(1, 1, 1)), RuntimeError,
     r"expected stride to be a single integer value or a list of 2 values to match the convolution dimensions, "
     r"but got stride=\[1, 1, 1\]"),
    (lambda E: E.conv2d(E_(2, 3, 8, 8).double(), E_(4, 3, 3, 3)), RuntimeError,
     "expected scalar type Double but found Float"),
    (lambda E: E.conv_transpose2d(E_(2, 4, 8, 8), E_(3, 2, 3, 3)), RuntimeError,
     r"Given transposed=1, weight of size \[3, 2, 3, 3\], expected input\[2, 4, 8, 8\] to have 3 channels, but got "
     r"4 channels instead"),
    (lambda E: E.conv_transpose2d(E_(2, 3, 8, 8), E_(3, 2, 3, 3), output_padding=1), RuntimeError,
     "output padding must be smaller than either stride or dilation, but got output_padding_height: 1 "
     "output_padding_width: 1 stride_height: 1 stride_width: 1 dilation_height: 1 dilation_width: 1"),
    (lambda E: E.conv_transpose2d(E_(2, 3), E_(3, 2, 3, 3)), RuntimeError,
     r"Expected 3D \(unbatched\) or 4D \(batched\) input to conv_transpose2d"),
    (lambda E: E.conv_transpose2d(E_(2, 3, 8, 8), E_(3, 2, 3, 3), padding="same"), TypeError,
     "argument 'padding' must be tuple of ints, not str"),
    (lambda E: E.unfold(E_(1, 3, 4, 4), 5), RuntimeError,
     r"calculated shape of the array of sliding blocks as \(0, 0\), but its components must be at least one"),
    (lambda E: E.fold(E_(2, 12, 8), (4, 4), 2), RuntimeError,
     r"expected size of input's dimension 2 to match the calculated number of sliding blocks 3 \* 3 = 9, but got "
     r"input.size\(2\)=8"),
    (lambda E: E.fold(E_(2, 11, 9), (4, 4), 2), RuntimeError,
     r"Expected size of input's dimension 1 to be divisible by the product of kernel_size, but got "
     r"input.size\(1\)=11 and kernel_size=\(2, 2\)"),
    (lambda E: E.fold(E_(1, 2, 12, 9), (4, 4), 2), RuntimeError,
     r"Expected 2D or 3D \(batch mode\) tensor for input with possibly 0 batch size and non-zero dimensions for "
     r"input, but got: \[1, 2, 12, 9\]"),
    (lambda E: E.unfold(E_(1, 2, 3, 4, 5), 2), RuntimeError,
     r"Expected 3D or 4D \(batch mode\) tensor with possibly 0 batch size and other non-zero dimensions for input, "
     r"but got: \[1, 2, 3, 4, 5\]"),
    (lambda E: E.conv2d(E_(1, 2, 5, 5).double(), E_(3, 2, 3, 3).double(), E_(3)), RuntimeError,
     r"Input type \(double\) and bias type \(float\) should be the same"),
    (lambda E: E.conv1d(E_(1, 2, 5), E_(3, 2, 3), E_(3).double()), RuntimeError,
     r"Input type \(float\) and bias type \(double\) should be the same"),
    (lambda E: E.conv_transpose3d(E_(1, 2, 4, 4, 4), E_(2, 3, 3, 3, 3), E_(3).double()), RuntimeError,
     "expected scalar type Float but found Double"),
])
def test_conv_errors_match_torch(fn, exc, message):
    global E_
    E_ = lambda *s: torch.randn(*s)  # noqa: E731
    _raises(lambda: fn(F(torch)), exc, message)
    E_ = lambda *s: ember.randn(*s)  # noqa: E731
    _raises(lambda: fn(F(ember)), exc, message)


def test_error_leaves_no_graph_state():
    w = ember.randn(4, 3, 3, 3, requires_grad=True)
    with pytest.raises(RuntimeError):
        F(ember).conv2d(ember.randn(1, 2, 5, 5), w)
    assert w.grad is None and w._vbox[0] == 0


def test_repeated_steps_reuse_scratch_buffers_correctly():
    # columns big enough (> 1 MiB) to be reused between steps; two convolutions of one shape are alive at once
    xs, ws = rand(4, 8, 24, 24), rand(6, 8, 3, 3)
    results = {}
    for T in (ember, torch):
        x = T.tensor(xs, requires_grad=True)
        w = T.tensor(ws, requires_grad=True)
        grads = []
        for step in range(3):
            x.grad = w.grad = None
            a = F(T).conv2d(x, w, padding=1)
            b = F(T).conv2d(x * (step + 2), w, padding=1)
            (a * b).sum().backward()
            grads.append((x.grad.detach().numpy().copy(), w.grad.detach().numpy().copy()))
        results[T] = grads
    for (ex, ew), (tx, tw) in zip(results[ember], results[torch]):
        np.testing.assert_allclose(ex, tx, rtol=1e-9, atol=1e-9)
        np.testing.assert_allclose(ew, tw, rtol=1e-7, atol=1e-7)


def test_grouped_strided_conv3d_and_transpose_match_torch():
    check(lambda T, x, w, b: F(T).conv3d(x, w, b, stride=2, padding=(1, 0, 1), dilation=(1, 2, 1), groups=2),
          rand(2, 4, 5, 6, 5), rand(4, 2, 2, 2, 3), rand(4))
    check(lambda T, x, w: F(T).conv_transpose3d(x, w, stride=(2, 1, 2), padding=1, groups=2, dilation=(1, 2, 1)),
          rand(1, 4, 3, 3, 4), rand(4, 1, 2, 3, 2))


@pytest.mark.parametrize("conv", ["conv_transpose1d", "conv_transpose2d"])
def test_transposed_conv_casts_a_bias_of_another_float_dtype_like_torch(conv):
    # PyTorch casts the bias of 1-D/2-D transposed convolutions (the gradient comes back in the bias's dtype)
    nd = 1 if conv.endswith("1d") else 2
    x, w, b = rand(1, 2, *(5,) * nd), rand(2, 3, *(3,) * nd), rand(3, dtype=np.float32)
    check(lambda T, x, w, b: getattr(F(T), conv)(x, w, b, stride=2), x, w, b)


@pytest.mark.parametrize("nd,kw", [
    (1, dict(padding=2, dilation=2)),
    (2, dict(padding=(1, 2), dilation=(2, 1), groups=2)),
    (2, dict(padding="same")),
    (3, dict(padding=1, groups=2)),
    (2, dict(stride=2, padding=1)),
])
def test_input_gradient_with_frozen_weight_matches_torch(nd, kw):
    # only the input needs a gradient: stride-1 convolutions take the whole-plane col2im
    x, w = rand(2, 4, *(7,) * nd), rand(6, 4 // kw.get("groups", 1), *(3,) * nd)
    results = []
    for T in (ember, torch):
        xt, wt = T.tensor(x, requires_grad=True), T.tensor(w)
        out = getattr(F(T), f"conv{nd}d")(xt, wt, **kw)
        (out * out).sum().backward()
        results.append(xt.grad.numpy())
    np.testing.assert_allclose(results[0], results[1], rtol=1e-10, atol=1e-10)


# Stride-1 convolutions run block by block of samples (ember.ops.conv._Planes), with the blocks
# spread over ember's threads when ember owns BLAS's threads. Small blocks force several blocks
# (and partial weight/bias gradients per thread, added up) on small inputs.
BLOCK_CASES = [
    ((5, 3, 7, 6), (4, 3, 3, 3), dict(padding=1)),
    ((5, 4, 7, 6), (6, 2, 3, 2), dict(padding=(2, 0), dilation=(2, 1), groups=2)),
    ((5, 3, 9), (4, 3, 3), dict(padding="same", dilation=2)),
    ((3, 2, 5, 4, 5), (3, 2, 2, 3, 2), dict(padding=1)),
]


@pytest.fixture(params=[False, True], ids=["blas-threads", "ember-threads"])
def small_blocks(request, monkeypatch):
    from ember.ops import _parallel, conv
    monkeypatch.setattr(conv, "_BLOCK_BYTES", 1)  # one sample per block
    owned = _parallel.own_blas_threads(request.param)
    if request.param and not owned:
        pytest.skip("threadpoolctl is not installed")
    previous = ember.get_num_threads()
    ember.set_num_threads(2)
    yield
    ember.set_num_threads(previous)
    _parallel.own_blas_threads(False)


@pytest.mark.parametrize("xs,ws,kw", BLOCK_CASES)
def test_conv_by_sample_blocks_matches_torch(small_blocks, xs, ws, kw):
    fn = {3: "conv1d", 4: "conv2d", 5: "conv3d"}[len(ws)]
    check(lambda T, x, w, b: getattr(F(T), fn)(x, w, b, **kw), rand(*xs), rand(*ws), rand(ws[0]))


def test_conv_by_sample_blocks_gradcheck(small_blocks):
    x, w, b = rand(3, 2, 5, 4), rand(3, 2, 2, 3), rand(3)
    gradcheck(lambda x, w, b: F(ember).conv2d(x, w, b, padding=(1, 0)), x, w, b, gradgrad=True)


def test_conv_blocks_with_nested_split_passes_finish(monkeypatch):
    """Passes that would split over the threads run inline inside a block already on a thread
    (a nested split would wait for the very thread it runs on)."""
    import threading
    from ember.ops import _parallel, conv
    if not _parallel.own_blas_threads(True):
        pytest.skip("threadpoolctl is not installed")
    previous = ember.get_num_threads()
    try:
        ember.set_num_threads(2)
        monkeypatch.setattr(_parallel, "_MIN_ELEMENTS", 1)  # every column copy would split
        monkeypatch.setattr(conv, "_BLOCK_BYTES", 1)
        x = ember.tensor(rand(4, 3, 6, 6, dtype=np.float32), requires_grad=True)
        w = ember.tensor(rand(5, 3, 3, 3, dtype=np.float32), requires_grad=True)
        done = []
        worker = threading.Thread(target=lambda: done.append(F(ember).conv2d(x, w).sum().backward()), daemon=True)
        worker.start()
        worker.join(60)
        assert done, "convolution did not finish: a nested split waited on its own thread"
        tx, tw = (torch.tensor(a.detach().numpy(), requires_grad=True) for a in (x, w))
        torch.nn.functional.conv2d(tx, tw).sum().backward()
        np.testing.assert_allclose(w.grad.numpy(), tw.grad.numpy(), rtol=1e-4, atol=1e-4)
        np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-4, atol=1e-4)
    finally:
        ember.set_num_threads(previous)
        _parallel.own_blas_threads(False)
