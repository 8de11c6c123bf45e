"""batch_norm, layer_norm, group_norm, instance_norm, rms_norm, local_response_norm against PyTorch."""
import numpy as np
import pytest

import ember
import ember.nn.functional as EF
from tests.helpers import check, gradcheck, rand, noncontiguous, torch

TF = torch.nn.functional


def F(T):
    return EF if T is ember else TF


def _stats(T, c, dtype="float64"):
    dt = getattr(T, dtype)
    return T.zeros(c, dtype=dt) + 0.5, T.ones(c, dtype=dt) * 2.0


# ------------------------------------------------------------------------------------------
# batch_norm
# ------------------------------------------------------------------------------------------

BN_SHAPES = [(4, 3), (2, 3, 5), (2, 3, 4, 5), (2, 3, 2, 2, 3)]


@pytest.mark.parametrize("shape", BN_SHAPES)
@pytest.mark.parametrize("affine", [True, False])
def test_batch_norm_training_matches_torch(shape, affine):
    c = shape[1]
    params = (rand(c), rand(c)) if affine else ()
    running = {}

    def fn(T, x, *wb):
        rm, rv = _stats(T, c)
        out = F(T).batch_norm(x, rm, rv, *(wb or (None, None)), training=True, momentum=0.3, eps=1e-3)
        running[T.__name__] = (rm, rv)
        return out

    check(fn, rand(*shape), *params)
    for e, t in zip(running["ember"], running["torch"]):
        np.testing.assert_allclose(e.numpy(), t.numpy(), rtol=1e-10)


@pytest.mark.parametrize("shape", BN_SHAPES)
def test_batch_norm_eval_matches_torch(shape):
    c = shape[1]
    check(lambda T, x, w, b: F(T).batch_norm(x, *_stats(T, c), w, b, training=False),
          rand(*shape), rand(c), rand(c))
    check(lambda T, x: F(T).batch_norm(x, *_stats(T, c), training=False), rand(*shape))


def test_batch_norm_noncontiguous_and_transposed():
    check(lambda T, x, w, b: F(T).batch_norm(x, None, None, w, b, training=True), noncontiguous(rand(3, 4, 5)),
          rand(4), rand(4))
    check(lambda T, x, w, b: F(T).batch_norm(x.transpose(0, 2), None, None, w, b, training=True),
          rand(5, 4, 3), rand(4), rand(4))


def test_batch_norm_only_weight_requires_grad():
    x = rand(4, 3)
    check(lambda T, w, b: F(T).batch_norm(T.tensor(x), None, None, w, b, training=True), rand(3), rand(3))


def test_batch_norm_float32_and_half():
    check(lambda T, x, w, b: F(T).batch_norm(x, None, None, w, b, training=True),
          rand(8, 3, 4, dtype=np.float32), rand(3, dtype=np.float32), rand(3, dtype=np.float32), atol=1e-5)

    def half(T, x):
        rm, rv = _stats(T, 3, "float32")
        out = F(T).batch_norm(x.to(T.bfloat16), rm, rv, T.ones(3), T.zeros(3), training=True)
        return out, rm, rv
    check(half, rand(8, 3, dtype=np.float32), atol=2e-2, rtol=2e-2, grad=False)


def test_batch_norm_running_stats_over_steps():
    e_rm, e_rv = ember.zeros(3), ember.ones(3)
    t_rm, t_rv = torch.zeros(3), torch.ones(3)
    for _ in range(5):
        x = rand(6, 3, 4, dtype=np.float32)
        EF.batch_norm(ember.tensor(x), e_rm, e_rv, training=True, momentum=0.2)
        TF.batch_norm(torch.tensor(x), t_rm, t_rv, training=True, momentum=0.2)
    np.testing.assert_allclose(e_rm.numpy(), t_rm.numpy(), rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(e_rv.numpy(), t_rv.numpy(), rtol=1e-5, atol=1e-7)


def test_batch_norm_running_stats_bump_version_and_skip_empty():
    rm, rv = ember.zeros(3), ember.ones(3)
    v = rm._version
    EF.batch_norm(ember.randn(4, 3), rm, rv, training=True)
    assert rm._version == v + 1
    rm2, rv2 = ember.zeros(3), ember.ones(3)
    out = EF.batch_norm(ember.randn(0, 3), rm2, rv2, training=True)
    assert out.shape == (0, 3)
    assert rm2.tolist() == [0.0, 0.0, 0.0] and rv2.tolist() == [1.0, 1.0, 1.0]


def test_batch_norm_grad_fn_name():
    x = ember.randn(4, 3, requires_grad=True)
    assert EF.batch_norm(x, None, None, training=True).grad_fn.name() == "NativeBatchNormBackward0"
    y = EF.batch_norm(x, ember.zeros(3), ember.ones(3), training=False)
    assert y.grad_fn.name() == "NativeBatchNormBackward0"
    assert EF.batch_norm(ember.randn(4, 3), None, None, training=True).grad_fn is None
    with ember.no_grad():
        assert EF.batch_norm(x, None, None, training=True).grad_fn is None


def test_batch_norm_gradcheck():
    gradcheck(lambda x, w, b: EF.batch_norm(x, None, None, w, b, training=True), rand(4, 3, 2), rand(3), rand(3),
              gradgrad=True)
    gradcheck(lambda x, w, b: EF.batch_norm(x, ember.zeros(3, dtype=ember.float64) + 0.5,
                                            ember.ones(3, dtype=ember.float64) * 2, w, b, training=False),
              rand(4, 3, 2), rand(3), rand(3), gradgrad=True)
    gradcheck(lambda x: EF.batch_norm(x, None, None, training=True), rand(3, 2), gradgrad=True)


def test_batch_norm_errors():
    x = ember.randn(3, 4, 5)
    with pytest.raises(RuntimeError, match="^running_mean must be defined in evaluation mode$"):
        EF.batch_norm(x, None, None, training=False)
    with pytest.raises(ValueError, match=r"^Expected more than 1 value per channel when training, got input size "
                                         r"ember\.Size\(\[1, 4\]\)$"):
        EF.batch_norm(ember.randn(1, 4), None, None, training=True)
    with pytest.raises(ValueError, match=r"got input size ember\.Size\(\[1, 4, 1\]\)"):
        EF.batch_norm(ember.randn(1, 4, 1), None, None, training=True)
    with pytest.raises(RuntimeError, match="^running_mean should contain 4 elements not 3$"):
        EF.batch_norm(x, ember.zeros(3), ember.ones(3), training=True)
    with pytest.raises(RuntimeError, match="^running_var should contain 4 elements not 3$"):
        EF.batch_norm(x, ember.zeros(4), ember.ones(3), training=True)
    with pytest.raises(RuntimeError, match="^weight should contain 4 elements not 3$"):
        EF.batch_norm(x, None, None, ember.ones(3), training=True)
    with pytest.raises(RuntimeError, match="^bias should contain 4 elements not 3$"):
        EF.batch_norm(x, None, None, None, ember.ones(3), training=True)
    with pytest.raises(RuntimeError, match="^running_mean should contain 0 elements not 4$"):
        EF.batch_norm(ember.randn(4), ember.zeros(4), ember.ones(4), training=True)
    with pytest.raises(IndexError, match=r"Dimension out of range \(expected to be in range of \[-1, 0\], but "
                                         r"got 1\)"):
        EF.batch_norm(ember.randn(4), None, None, training=True)
    with pytest.raises(NotImplementedError, match="\"batch_norm\" not implemented for 'Long'"):
        EF.batch_norm(ember.ones(2, 3, dtype=ember.int64), None, None, training=True)
    with pytest.raises(RuntimeError, match="^mixed dtype \\(CPU\\): expect parameter to have scalar type of "
                                           "Float$"):
        EF.batch_norm(x, ember.zeros(4, dtype=ember.float64), ember.ones(4), training=False)


def test_batch_norm_error_leaves_running_stats_alone():
    rm, rv = ember.zeros(3), ember.ones(3)
    with pytest.raises(RuntimeError):
        EF.batch_norm(ember.randn(4, 3), rm, rv, ember.ones(2), training=True)
    assert rm.tolist() == [0.0, 0.0, 0.0] and rm._version == 0


def test_batch_norm_saved_input_modified_in_place():
    x = ember.randn(4, 3, requires_grad=True)
    y = x * 1
    out = EF.batch_norm(y, None, None, training=True)
    y.add_(1)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        out.sum().backward()


# ------------------------------------------------------------------------------------------
# layer_norm / rms_norm
# ------------------------------------------------------------------------------------------

LN_CASES = [((4, 5), (5,)), ((2, 3, 4), (4,)), ((2, 3, 4), (3, 4)), ((5,), (5,)), ((0, 3), (3,)),
            ((2, 3, 4, 5), (4, 5))]


@pytest.mark.parametrize("shape,norm", LN_CASES)
def test_layer_norm_matches_torch(shape, norm):
    check(lambda T, x, w, b: F(T).layer_norm(x, norm, w, b, eps=1e-4), rand(*shape), rand(*norm), rand(*norm))
    check(lambda T, x: F(T).layer_norm(x, norm), rand(*shape))
    check(lambda T, x, w: F(T).layer_norm(x, norm, w), rand(*shape), rand(*norm))
    check(lambda T, x, b: F(T).layer_norm(x, norm, None, b), rand(*shape), rand(*norm))


def test_layer_norm_noncontiguous_int_shape_and_float32():
    check(lambda T, x, w, b: F(T).layer_norm(x, (6,), w, b), noncontiguous(rand(3, 6)), rand(6), rand(6))
    check(lambda T, x, w, b: F(T).layer_norm(x.transpose(0, 1), [3], w, b), rand(3, 4), rand(3), rand(3))
    check(lambda T, x: T.layer_norm(x, [4]), rand(2, 4))
    check(lambda T, x, w, b: F(T).layer_norm(x, (16,), w, b), rand(4, 16, dtype=np.float32),
          rand(16, dtype=np.float32), rand(16, dtype=np.float32), atol=1e-5, rtol=1e-4)


def test_layer_norm_reduced_precision_keeps_dtype():
    def fn(T, x):
        return F(T).layer_norm(x.to(T.float16), (8,), T.ones(8), T.zeros(8))
    check(fn, rand(4, 8, dtype=np.float32), atol=2e-3, rtol=2e-3, grad_atol=5e-3)


def test_layer_norm_gradcheck():
    gradcheck(lambda x, w, b: EF.layer_norm(x, (4,), w, b), rand(3, 4), rand(4), rand(4), gradgrad=True)
    gradcheck(lambda x, w, b: EF.layer_norm(x, (2, 3), w, b), rand(2, 2, 3), rand(2, 3), rand(2, 3),
              gradgrad=True)
    gradcheck(lambda x: EF.layer_norm(x, (3,)), rand(2, 3), gradgrad=True)


def test_layer_norm_grad_fn_name():
    x = ember.randn(2, 3, requires_grad=True)
    assert EF.layer_norm(x, (3,)).grad_fn.name() == "NativeLayerNormBackward0"
    w = ember.ones(3, requires_grad=True)
    out = EF.layer_norm(ember.randn(2, 3), (3,), w)
    assert out.grad_fn.name() == "NativeLayerNormBackward0" and out.grad_fn.next_functions[0][0] is None


def test_layer_norm_errors():
    x = ember.randn(3, 4, 5)
    with pytest.raises(RuntimeError, match=r"^Given normalized_shape=\[4\], expected input with shape \[\*, 4\], "
                                           r"but got input of size\[3, 4, 5\]$"):
        EF.layer_norm(x, (4,))
    with pytest.raises(RuntimeError, match=r"^Expected weight to be of same shape as normalized_shape, but got "
                                           r"weight of shape \[4\] and normalized_shape = \[5\]$"):
        EF.layer_norm(x, (5,), ember.ones(4))
    with pytest.raises(RuntimeError, match=r"^Expected bias to be of same shape as normalized_shape, but got bias "
                                           r"of shape \[4\] and normalized_shape = \[5\]$"):
        EF.layer_norm(x, (5,), None, ember.ones(4))
    with pytest.raises(RuntimeError, match=r"^Expected normalized_shape to be at least 1-dimensional, i\.e\., "
                                           r"containing at least one element, but got normalized_shape = \[\]$"):
        EF.layer_norm(x, ())
    with pytest.raises(NotImplementedError, match="\"LayerNormKernelImpl\" not implemented for 'Long'"):
        EF.layer_norm(ember.ones(2, 3, dtype=ember.int64), (3,))
    with pytest.raises(RuntimeError, match="^mixed dtype \\(CPU\\): expect parameter to have scalar type of "
                                           "Float$"):
        EF.layer_norm(x, (5,), ember.ones(5, dtype=ember.float64))


@pytest.mark.parametrize("shape,norm", [((4, 5), (5,)), ((2, 3, 4), (3, 4)), ((0, 3), (3,))])
def test_rms_norm_matches_torch(shape, norm):
    check(lambda T, x, w: F(T).rms_norm(x, norm, w), rand(*shape), rand(*norm))
    check(lambda T, x: F(T).rms_norm(x, norm, eps=1e-2), rand(*shape))
    check(lambda T, x: T.rms_norm(x.transpose(0, -1).transpose(0, -1), list(norm)), rand(*shape))


def test_rms_norm_default_eps_is_machine_epsilon():
    x = np.array([[1e-2, 0, 0, 0]])
    check(lambda T, x: F(T).rms_norm(x, (4,)), x)
    check(lambda T, x: F(T).rms_norm(x, (4,)), x.astype(np.float32), rtol=1e-4, grad_atol=1e-4)
    check(lambda T, x: F(T).rms_norm(x.to(T.bfloat16), (4,)), x.astype(np.float32), grad=False)


def test_rms_norm_float32_noncontiguous():
    check(lambda T, x, w: F(T).rms_norm(x, (4,), w), noncontiguous(rand(5, 4, dtype=np.float32)),
          rand(4, dtype=np.float32), atol=1e-5, rtol=1e-4)


def test_rms_norm_gradcheck():
    gradcheck(lambda x, w: EF.rms_norm(x, (4,), w), rand(3, 4), rand(4), gradgrad=True)
    gradcheck(lambda x: EF.rms_norm(x, (2, 2), eps=1e-3), rand(3, 2, 2), gradgrad=True)


def test_rms_norm_errors():
    x = ember.randn(3, 4, 5)
    with pytest.raises(RuntimeError, match=r"^Given normalized_shape=\[4\], expected input with shape \[\*4\], "
                                           r"but got input of size\[3, 4, 5\]$"):
        EF.rms_norm(x, (4,))
    with pytest.raises(RuntimeError, match=r"^Expected weight to be of same shape as normalized_shape, but got "
                                           r"weight of shape \[4\] and normalized_shape = \[5\]$"):
        EF.rms_norm(x, (5,), ember.ones(4))
    with pytest.raises(NotImplementedError, match="\"rms_norm\" not implemented for 'Long'"):
        EF.rms_norm(ember.ones(2, 3, dtype=ember.int64), (3,))


# ------------------------------------------------------------------------------------------
# group_norm / instance_norm
# ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("shape,groups", [((2, 4), 2), ((2, 6, 5), 3), ((2, 4, 3, 3), 1), ((3, 4, 2, 3), 4),
                                          ((0, 4, 2), 2)])
def test_group_norm_matches_torch(shape, groups):
    c = shape[1]
    check(lambda T, x, w, b: F(T).group_norm(x, groups, w, b, eps=1e-3), rand(*shape), rand(c), rand(c))
    check(lambda T, x: F(T).group_norm(x, groups), rand(*shape))


def test_group_norm_noncontiguous_and_float32():
    check(lambda T, x, w, b: F(T).group_norm(x, 2, w, b), noncontiguous(rand(2, 4, 6)), rand(4), rand(4))
    check(lambda T, x, w: F(T).group_norm(x.permute(0, 2, 1), 2, w), rand(2, 5, 4), rand(4))
    check(lambda T, x, w, b: T.group_norm(x, 2, w, b), rand(3, 4, 8, dtype=np.float32), rand(4, dtype=np.float32),
          rand(4, dtype=np.float32), atol=1e-5, rtol=1e-4)


def test_group_norm_gradcheck():
    gradcheck(lambda x, w, b: EF.group_norm(x, 2, w, b), rand(2, 4, 3), rand(4), rand(4), gradgrad=True)
    x = ember.randn(2, 4, 3, requires_grad=True)
    assert EF.group_norm(x, 2).grad_fn.name() == "NativeGroupNormBackward0"


def test_group_norm_errors():
    x = ember.randn(3, 4, 5)
    with pytest.raises(RuntimeError, match=r"^Expected number of channels in input to be divisible by num_groups, "
                                           r"but got input of shape \[3, 4, 5\] and num_groups=3$"):
        EF.group_norm(x, 3)
    with pytest.raises(RuntimeError, match=r"^Expected weight to be a vector of size equal to the number of "
                                           r"channels in input, but got weight of shape \[3\] and input of shape "
                                           r"\[3, 4, 5\]$"):
        EF.group_norm(x, 2, ember.ones(3))
    with pytest.raises(RuntimeError, match=r"^Expected bias to be a vector of size equal"):
        EF.group_norm(x, 2, None, ember.ones(3))
    with pytest.raises(RuntimeError, match="^Expected at least 2 dimensions for input tensor but received 1$"):
        EF.group_norm(ember.randn(4), 2)
    with pytest.raises(NotImplementedError, match="\"GroupNormKernelImpl\" not implemented for 'Long'"):
        EF.group_norm(ember.ones(2, 4, dtype=ember.int64), 2)


@pytest.mark.parametrize("shape", [(2, 3, 5), (2, 3, 4, 4), (1, 2, 3, 2, 2)])
def test_instance_norm_matches_torch(shape):
    c = shape[1]
    check(lambda T, x, w, b: F(T).instance_norm(x, weight=w, bias=b), rand(*shape), rand(c), rand(c))
    running = {}

    def with_stats(T, x):
        rm, rv = _stats(T, c)
        running[T.__name__] = (rm, rv)
        return F(T).instance_norm(x, rm, rv, momentum=0.4)
    check(with_stats, rand(*shape))
    for e, t in zip(running["ember"], running["torch"]):
        np.testing.assert_allclose(e.numpy(), t.numpy(), rtol=1e-10)
    check(lambda T, x: F(T).instance_norm(x, *_stats(T, c), use_input_stats=False), rand(*shape))


def test_instance_norm_gradcheck_and_grad_fn():
    gradcheck(lambda x, w, b: EF.instance_norm(x, weight=w, bias=b), rand(2, 3, 4), rand(3), rand(3),
              gradgrad=True)
    out = EF.instance_norm(ember.randn(2, 3, 4, requires_grad=True))
    assert out.grad_fn.name() == "ViewBackward0"
    assert out.grad_fn.next_functions[0][0].name() == "NativeBatchNormBackward0"


def test_instance_norm_errors():
    with pytest.raises(ValueError, match=r"^Expected more than 1 spatial element when training, got input size "
                                         r"ember\.Size\(\[2, 3, 1\]\)$"):
        EF.instance_norm(ember.randn(2, 3, 1))
    with pytest.raises(RuntimeError, match="^Expected running_mean and running_var to be defined when "
                                           "use_input_stats is false$"):
        EF.instance_norm(ember.randn(2, 3, 4), use_input_stats=False)
    with pytest.raises(RuntimeError, match="^running_mean should contain 6 elements not 4$"):
        EF.instance_norm(ember.randn(2, 3, 4), ember.zeros(2), ember.ones(2))
    with pytest.raises(RuntimeError, match="^weight should contain 6 elements not 4$"):
        EF.instance_norm(ember.randn(2, 3, 4), weight=ember.ones(2))


# ------------------------------------------------------------------------------------------
# local_response_norm
# ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("shape,size", [((2, 5, 4), 3), ((2, 4, 3, 3), 2), ((1, 3, 2, 2, 2), 5), ((2, 3, 4), 1)])
def test_local_response_norm_matches_torch(shape, size):
    check(lambda T, x: F(T).local_response_norm(x, size, alpha=0.1, beta=0.6, k=2.0), rand(*shape))


def test_local_response_norm_gradcheck_and_errors():
    gradcheck(lambda x: EF.local_response_norm(x, 3, alpha=0.5), rand(2, 4, 3))
    assert EF.local_response_norm(ember.randn(0, 3, 2), 2).shape == (0, 3, 2)
    with pytest.raises(ValueError, match=r"^Expected 3D or higher dimensionality {26}input \(got 2 dimensions\)$"):
        EF.local_response_norm(ember.randn(2, 3), 2)


@pytest.mark.parametrize("input_dtype,param_dtype", [("float64", "float32"), ("float32", "float64")])
@pytest.mark.parametrize("call", [
    lambda T, x, p: T.nn.functional.batch_norm(x, T.zeros(4, dtype=p), T.ones(4, dtype=p), training=True),
    lambda T, x, p: T.nn.functional.batch_norm(x, None, None, T.ones(4, dtype=p), None, training=True),
    lambda T, x, p: T.nn.functional.layer_norm(x, (5,), T.ones(5, dtype=p)),
    lambda T, x, p: T.nn.functional.group_norm(x, 2, T.ones(4, dtype=p), T.zeros(4, dtype=p)),
    lambda T, x, p: T.nn.functional.instance_norm(x, weight=T.ones(4, dtype=p), bias=T.zeros(4, dtype=p)),
])
def test_mixed_dtype_error_wording_matches_torch(call, input_dtype, param_dtype):
    messages = []
    for T in (ember, torch):
        with pytest.raises(RuntimeError) as info:
            call(T, T.ones(3, 4, 5, dtype=getattr(T, input_dtype)), getattr(T, param_dtype))
        messages.append(str(info.value))
    assert messages[0] == messages[1]
    assert messages[0].startswith("mixed dtype (CPU): ")
