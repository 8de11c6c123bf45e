"""Gradient clipping and parameter/vector conversion against PyTorch."""
from __future__ import annotations

import math

import numpy as np
import pytest

import ember
from ember.nn import utils as U

torch = pytest.importorskip("torch")

SHAPES = [(3, 4), (5,), (), (2, 0)]


def _pairs(dtype=np.float32, scale=1.0, seed=0, with_none=True):
    """Parameters with gradients, identical in ember and torch; one parameter has no gradient."""
    rng = np.random.default_rng(seed)
    e_params, t_params = [], []
    for i, shape in enumerate(SHAPES + [(2,)]):
        value = rng.uniform(-1, 1, size=shape).astype(dtype)
        e, t = ember.nn.Parameter(ember.tensor(value)), torch.nn.Parameter(torch.tensor(value))
        if not (with_none and i == len(SHAPES)):
            grad = (rng.uniform(-1, 1, size=shape) * scale).astype(dtype)
            e.grad, t.grad = ember.tensor(grad), torch.tensor(grad)
        e_params.append(e)
        t_params.append(t)
    return e_params, t_params


def _assert_grads_equal(e_params, t_params, rtol=1e-6):
    for e, t in zip(e_params, t_params):
        if t.grad is None:
            assert e.grad is None
        else:
            np.testing.assert_allclose(e.grad.numpy(), t.grad.numpy(), rtol=rtol, atol=1e-7)


@pytest.mark.parametrize("norm_type", [2.0, 1, 3.5, math.inf, -math.inf, 0, "inf"])
@pytest.mark.parametrize("max_norm", [0.5, 100.0])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_clip_grad_norm_matches_torch(norm_type, max_norm, dtype):
    e_params, t_params = _pairs(dtype)
    if norm_type in (math.inf, -math.inf, "inf"):  # the infinity norms have no identity on empty tensors
        e_params, t_params = e_params[:3], t_params[:3]
    e_norm = U.clip_grad_norm_(e_params, max_norm, norm_type=norm_type)
    t_norm = torch.nn.utils.clip_grad_norm_(t_params, max_norm, norm_type=norm_type)
    assert isinstance(e_norm, ember.Tensor) and e_norm.shape == () and str(e_norm.dtype) == "ember." + str(
        t_norm.dtype).split(".")[-1]
    assert e_norm.item() == pytest.approx(t_norm.item(), rel=1e-6)
    _assert_grads_equal(e_params, t_params)


def test_clip_grad_norm_single_tensor_and_generator():
    e_params, t_params = _pairs(scale=10.0)
    e_norm = U.clip_grad_norm_(e_params[0], 1.0)
    t_norm = torch.nn.utils.clip_grad_norm_(t_params[0], 1.0)
    assert e_norm.item() == pytest.approx(t_norm.item(), rel=1e-6)
    _assert_grads_equal(e_params, t_params)
    e_norm = U.clip_grad_norm_((p for p in e_params), 1.0)
    assert e_norm.item() == pytest.approx(torch.nn.utils.clip_grad_norm_((p for p in t_params), 1.0).item(),
                                          rel=1e-6)
    _assert_grads_equal(e_params, t_params)
    np.testing.assert_allclose(math.sqrt(sum(float((p.grad ** 2).sum()) for p in e_params if p.grad is not None)),
                               1.0, rtol=1e-5)


def test_clip_grad_norm_scales_grads_in_place():
    p = ember.nn.Parameter(ember.zeros(2))
    p.grad = ember.tensor([3.0, 4.0])
    grad = p.grad
    norm = U.clip_grad_norm_([p], 1.0)
    assert norm.item() == 5.0 and p.grad is grad
    assert p.grad.tolist() == pytest.approx([0.6, 0.8], rel=1e-5)


def test_clip_grad_norm_without_grads_and_empty_generator():
    p = ember.nn.Parameter(ember.zeros(2))
    norm = U.clip_grad_norm_([p], 1.0)
    assert norm.item() == 0.0 and norm.dtype is ember.float32
    with pytest.warns(UserWarning, match="`parameters` is an empty generator, no gradient clipping will occur."):
        U.clip_grad_norm_((q for q in []), 1.0)


@pytest.mark.parametrize("bad", [math.nan, math.inf])
def test_clip_grad_norm_error_if_nonfinite(bad):
    p = ember.nn.Parameter(ember.zeros(2))
    p.grad = ember.tensor([1.0, bad])
    with pytest.raises(RuntimeError, match=r"The total norm of order 2.0 for gradients from `parameters` is "
                                           r"non-finite, so it cannot be clipped. To disable this error and scale "
                                           r"the gradients by the non-finite norm anyway, set "
                                           r"`error_if_nonfinite=False`"):
        U.clip_grad_norm_([p], 1.0, error_if_nonfinite=True)
    assert p.grad.tolist()[0] == 1.0  # nothing changed before the error
    t = torch.nn.Parameter(torch.zeros(2))
    t.grad = torch.tensor([1.0, bad])
    e_norm, t_norm = U.clip_grad_norm_([p], 1.0), torch.nn.utils.clip_grad_norm_([t], 1.0)
    assert str(e_norm.item()) == str(t_norm.item())
    np.testing.assert_array_equal(p.grad.numpy(), t.grad.numpy())


def test_clip_grad_norm_deprecated_alias_warns():
    p = ember.nn.Parameter(ember.zeros(2))
    p.grad = ember.tensor([3.0, 4.0])
    with pytest.warns(FutureWarning, match="clip_grad_norm` is now deprecated"):
        assert U.clip_grad_norm([p], 10.0).item() == 5.0


def test_get_total_norm_and_clip_grads_with_norm_match_torch():
    e_params, t_params = _pairs(scale=3.0)
    e_grads = [p.grad for p in e_params if p.grad is not None]
    t_grads = [p.grad for p in t_params if p.grad is not None]
    e_norm, t_norm = U.get_total_norm(e_grads, 3.0), torch.nn.utils.get_total_norm(t_grads, 3.0)
    assert e_norm.item() == pytest.approx(t_norm.item(), rel=1e-6)
    U.clip_grads_with_norm_(e_params, 0.7, e_norm)
    torch.nn.utils.clip_grads_with_norm_(t_params, 0.7, t_norm)
    _assert_grads_equal(e_params, t_params)


@pytest.mark.parametrize("clip_value", [0.3, 2.0, 0])
def test_clip_grad_value_matches_torch(clip_value):
    e_params, t_params = _pairs(scale=2.0)
    assert U.clip_grad_value_(e_params, clip_value) is None
    torch.nn.utils.clip_grad_value_(t_params, clip_value)
    _assert_grads_equal(e_params, t_params)
    U.clip_grad_value_(e_params[0], 0.1)
    torch.nn.utils.clip_grad_value_(t_params[0], 0.1)
    _assert_grads_equal(e_params, t_params)


def test_clip_then_step_trains():
    ember.manual_seed(0)
    model = ember.nn.Linear(4, 2)
    opt = ember.optim.SGD(model.parameters(), lr=0.1)
    x = ember.randn(8, 4)
    loss = (model(x) ** 2).sum() * 100
    loss.backward()
    norm = U.clip_grad_norm_(model.parameters(), 1.0)
    assert norm.item() > 1.0
    assert U.get_total_norm([p.grad for p in model.parameters()]).item() == pytest.approx(1.0, rel=1e-5)
    opt.step()


# -- parameters_to_vector / vector_to_parameters -------------------------------------------------

def test_parameters_to_vector_matches_torch_and_is_differentiable():
    rng = np.random.default_rng(0)
    values = [rng.normal(size=s) for s in [(2, 3), (4,), (), (0,)]]
    e_params = [ember.nn.Parameter(ember.tensor(v)) for v in values]
    t_params = [torch.nn.Parameter(torch.tensor(v)) for v in values]
    e_vec, t_vec = U.parameters_to_vector(e_params), torch.nn.utils.parameters_to_vector(t_params)
    np.testing.assert_array_equal(e_vec.detach().numpy(), t_vec.detach().numpy())
    weights = rng.normal(size=e_vec.shape)
    (e_vec * ember.tensor(weights)).sum().backward()
    (t_vec * torch.tensor(weights)).sum().backward()
    for e, t in zip(e_params, t_params):
        np.testing.assert_array_equal(e.grad.numpy(), t.grad.numpy())


def test_vector_to_parameters_shares_the_vector_storage():
    a, b = ember.nn.Parameter(ember.zeros(2, 2)), ember.nn.Parameter(ember.zeros(3))
    vec = ember.arange(7, dtype=ember.float32)
    U.vector_to_parameters(vec, [a, b])
    assert a.tolist() == [[0.0, 1.0], [2.0, 3.0]] and b.tolist() == [4.0, 5.0, 6.0]
    assert isinstance(a, ember.nn.Parameter) and a.requires_grad
    vec.mul_(2)  # like PyTorch, the parameters now view the vector's memory
    assert b.tolist() == [8.0, 10.0, 12.0]


def test_vector_to_parameters_rejects_non_tensors():
    with pytest.raises(TypeError, match="expected ember.Tensor, but got: list"):
        U.vector_to_parameters([1.0, 2.0], [ember.nn.Parameter(ember.zeros(2))])


def test_parameters_to_vector_noncontiguous_errors_like_torch():
    e = ember.nn.Parameter(ember.zeros(3, 2).t())
    t = torch.nn.Parameter(torch.zeros(3, 2).t())
    with pytest.raises(RuntimeError) as t_err:
        torch.nn.utils.parameters_to_vector([t])
    with pytest.raises(RuntimeError, match="view size is not compatible"):
        U.parameters_to_vector([e])
    assert "view size is not compatible" in str(t_err.value)


@pytest.mark.parametrize("norm_type", [2.0, 1, 3.0])
@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_clip_grad_norm_half_precision_accumulates_in_float32_like_torch(norm_type, dtype):
    rng = np.random.default_rng(4)
    value = rng.normal(size=(30, 4)).astype(np.float32)
    e = ember.nn.Parameter(ember.tensor(value).to(getattr(ember, dtype)))
    t = torch.nn.Parameter(torch.tensor(value).to(getattr(torch, dtype)))
    e.grad, t.grad = e.detach() * 3, t.detach() * 3
    e_norm = U.clip_grad_norm_([e], 100.0, norm_type)
    t_norm = torch.nn.utils.clip_grad_norm_([t], 100.0, norm_type)
    assert e_norm.dtype is getattr(ember, dtype)
    # summed in half precision the norm is several ulps off; accumulated in float32 it is exact
    assert e_norm.item() == t_norm.item()


@pytest.mark.parametrize("norm_type, foreach, message", [
    (math.inf, None, "_foreach_norm cannot compute the infinity norm on an empty tensor"),
    (math.inf, False, "linalg.vector_norm cannot compute the inf norm on an empty tensor"),
    (-math.inf, None, "linalg.vector_norm cannot compute the -inf norm on an empty tensor"),
])
def test_clip_grad_norm_infinity_norm_of_empty_grad_errors_like_torch(norm_type, foreach, message):
    for lib, utils in ((torch, torch.nn.utils), (ember, U)):
        p = lib.nn.Parameter(lib.zeros(0))
        p.grad = lib.zeros(0)
        with pytest.raises(RuntimeError, match=message):
            utils.clip_grad_norm_([p], 1.0, norm_type, foreach=foreach)
