"""Loss functions (functional and Module forms) against PyTorch: values, gradients, errors."""
import numpy as np
import pytest

import ember
from tests.helpers import check, gradcheck, rand, noncontiguous, torch, RNG

REDUCTIONS = ["none", "mean", "sum"]


def _F(lib):
    return lib.nn.functional


def _targets(*shape, classes=4, ignore=False):
    t = RNG.integers(0, classes, size=shape).astype(np.int64)
    if ignore and t.size:
        t.reshape(-1)[::3] = -100
    return t


def _probs(*shape):
    p = RNG.random(shape)
    return p / p.sum(axis=1 if len(shape) > 1 else 0, keepdims=True)


# ---------------------------------------------------------------------------------------------
# Regression losses
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("name,kwargs", [("l1_loss", {}), ("mse_loss", {}), ("huber_loss", {}),
                                         ("huber_loss", {"delta": 0.5}), ("smooth_l1_loss", {}),
                                         ("smooth_l1_loss", {"beta": 0.5}), ("smooth_l1_loss", {"beta": 0.0})])
@pytest.mark.parametrize("shape", [(3, 4), (2, 3, 2), (0, 3), ()])
def test_regression_losses(name, kwargs, reduction, shape):
    check(lambda T, x, y: getattr(_F(T), name)(x, y, reduction=reduction, **kwargs),
          rand(*shape), rand(*shape))


@pytest.mark.parametrize("name", ["l1_loss", "mse_loss", "huber_loss"])
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_weighted_regression_losses(name, reduction):
    w = rand(3, 4, low=0.1, high=2.0)
    check(lambda T, x, y: getattr(_F(T), name)(x, y, reduction=reduction, weight=T.tensor(w)),
          rand(3, 4), rand(3, 4))


@pytest.mark.parametrize("name", ["l1_loss", "mse_loss", "huber_loss", "smooth_l1_loss"])
def test_regression_noncontiguous_float32(name):
    check(lambda T, x, y: getattr(_F(T), name)(x, y), noncontiguous(rand(3, 4, dtype=np.float32)),
          rand(3, 4, dtype=np.float32).T.copy().T, atol=1e-5)


@pytest.mark.parametrize("name", ["l1_loss", "mse_loss", "huber_loss", "smooth_l1_loss"])
def test_regression_broadcast_warns(name):
    with pytest.warns(UserWarning, match=r"Using a target size \(ember.Size\(\[3\]\)\) that is different to the "
                                         r"input size \(ember.Size\(\[2, 3\]\)\)"):
        getattr(ember.nn.functional, name)(ember.randn(2, 3), ember.randn(3))
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        check(lambda T, x, y: getattr(_F(T), name)(x, y), rand(2, 3), rand(3))


@pytest.mark.parametrize("name", ["mse_loss", "huber_loss", "smooth_l1_loss"])
def test_regression_gradcheck(name):
    x, y = np.array([[0.3, -1.7, 2.2], [0.9, -0.2, 1.4]]), np.array([[0.1, 0.6, -0.5], [2.0, -1.1, 0.25]])
    for reduction in REDUCTIONS:
        gradcheck(lambda a, b: getattr(ember.nn.functional, name)(a, b, reduction=reduction), x, y, gradgrad=True)
    gradcheck(lambda a, b: ember.nn.functional.l1_loss(a, b), x, y)


def test_regression_errors():
    F = ember.nn.functional
    x = ember.randn(3)
    with pytest.raises(ValueError, match="foo is not a valid value for reduction"):
        F.mse_loss(x, x, reduction="foo")
    with pytest.raises(ValueError, match="foo is not a valid value for reduction"):
        F.l1_loss(x, x, reduction="foo")
    with pytest.raises(RuntimeError, match="smooth_l1_loss does not support negative values for beta."):
        F.smooth_l1_loss(x, x, beta=-1)
    with pytest.raises(RuntimeError, match="huber_loss does not support non-positive values for delta."):
        F.huber_loss(x, x, delta=0)
    with pytest.raises(ValueError, match="Weights and input must have the same size."):
        F.mse_loss(x, x, weight=ember.ones(2))
    with pytest.raises(NotImplementedError, match="\"mse_cpu\" not implemented for 'Long'"):
        F.mse_loss(ember.tensor([1, 2]), ember.tensor([1, 3]))


def test_legacy_size_average_warns():
    with pytest.warns(UserWarning, match="size_average and reduce args will be deprecated, please use "
                                         "reduction='sum' instead."):
        out = ember.nn.functional.mse_loss(ember.ones(3), ember.zeros(3), size_average=False)
    assert out.item() == 3.0


# ---------------------------------------------------------------------------------------------
# Cross entropy and NLL
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("ignore", [False, True])
@pytest.mark.parametrize("smoothing", [0.0, 0.2])
@pytest.mark.parametrize("shape", [(5, 4), (4,), (3, 4, 2), (2, 4, 3, 2), (0, 4)])
def test_cross_entropy_class_indices(reduction, weighted, ignore, smoothing, shape):
    tshape = (shape[0],) + shape[2:] if len(shape) > 1 else ()
    target = _targets(*tshape, ignore=ignore)
    w = rand(4, low=0.2, high=2.0)

    def fn(T, x):
        weight = T.tensor(w) if weighted else None
        return _F(T).cross_entropy(x, T.tensor(target), weight=weight, reduction=reduction,
                                   label_smoothing=smoothing)
    check(fn, rand(*shape, low=-3, high=3))


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("shape", [(5, 4), (4,), (3, 4, 2), (0, 4)])
def test_nll_loss(reduction, weighted, shape):
    tshape = (shape[0],) + shape[2:] if len(shape) > 1 else ()
    target = _targets(*tshape, ignore=True)
    w = rand(4, low=0.2, high=2.0)

    def fn(T, x):
        weight = T.tensor(w) if weighted else None
        return _F(T).nll_loss(x, T.tensor(target), weight=weight, reduction=reduction)
    check(fn, rand(*shape))


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("smoothing", [0.0, 0.3])
@pytest.mark.parametrize("shape", [(5, 4), (4,), (3, 4, 2)])
def test_cross_entropy_probabilities(reduction, weighted, smoothing, shape):
    w = rand(4, low=0.2, high=2.0)

    def fn(T, x, p):
        weight = T.tensor(w) if weighted else None
        return _F(T).cross_entropy(x, p, weight=weight, reduction=reduction, label_smoothing=smoothing)
    check(fn, rand(*shape), _probs(*shape))


def test_cross_entropy_large_logits_finite():
    x = np.array([[1e4, -1e4, 0.0], [-1e4, 1e4, 1e4], [5e3, 5e3, -5e3]])
    t = np.array([1, 0, 2])
    out = check(lambda T, x: _F(T).cross_entropy(x, T.tensor(t)), x)
    assert np.isfinite(out.item())
    check(lambda T, x: _F(T).cross_entropy(x, T.tensor(t), reduction="none"), x.astype(np.float32))
    check(lambda T, x, p: _F(T).cross_entropy(x, p), x, _probs(3, 3))


def test_cross_entropy_noncontiguous_and_uint8_target():
    t = np.array([0, 3, 1], dtype=np.uint8)
    check(lambda T, x: _F(T).cross_entropy(x, T.tensor(t)), noncontiguous(rand(3, 4)))
    check(lambda T, x: _F(T).cross_entropy(x.t(), T.tensor(t)), rand(4, 3))


def test_cross_entropy_grad_structure():
    x = ember.randn(4, 5, requires_grad=True)
    loss = ember.nn.functional.cross_entropy(x, ember.tensor([0, 1, 4, 2]))
    assert type(loss.grad_fn).__name__ == "NllLossBackward0"  # the fused hot path keeps PyTorch's name
    loss = ember.nn.functional.cross_entropy(x, ember.tensor([0, 1, 4, 2]), reduction="sum")
    assert type(loss.grad_fn).__name__ == "NllLossBackward0"
    assert type(loss.grad_fn.next_functions[0][0]).__name__ == "LogSoftmaxBackward0"


def test_cross_entropy_all_ignored_is_nan():
    check(lambda T, x: _F(T).cross_entropy(x, T.tensor([-100, -100])), rand(2, 3))


def test_cross_entropy_ignore_index_custom():
    t = np.array([1, 2, 2, 0])
    check(lambda T, x: _F(T).cross_entropy(x, T.tensor(t), ignore_index=2), rand(4, 3))


def test_cross_entropy_gradcheck():
    x = rand(3, 4)
    t = ember.tensor([0, 3, -100])
    w = ember.tensor([0.5, 1.0, 2.0, 1.5], dtype=ember.float64)
    gradcheck(lambda a: ember.nn.functional.cross_entropy(a, t), x, gradgrad=True)
    all_counted = ember.tensor([0, 3, 1])  # the fused (N, C) 'mean' path
    gradcheck(lambda a: ember.nn.functional.cross_entropy(a, all_counted), x, gradgrad=True)
    gradcheck(lambda a: ember.nn.functional.cross_entropy(a, t, weight=w, label_smoothing=0.1), x, gradgrad=True)
    gradcheck(lambda a: ember.nn.functional.cross_entropy(a, t, reduction="none"), x, gradgrad=True)
    gradcheck(lambda a, p: ember.nn.functional.cross_entropy(a, p), x, _probs(3, 4), gradgrad=True)
    gradcheck(lambda a: ember.nn.functional.nll_loss(a, ember.tensor([[1, 0], [3, 2]])), rand(2, 4, 2),
              gradgrad=True)


def test_cross_entropy_errors():
    F = ember.nn.functional
    x = ember.randn(3, 4)
    with pytest.raises(IndexError, match="Target 5 is out of bounds."):
        F.cross_entropy(x, ember.tensor([0, 1, 5]))
    with pytest.raises(IndexError, match="Target -1 is out of bounds."):
        F.cross_entropy(x, ember.tensor([0, 1, -1]))
    with pytest.raises(IndexError, match="Target 7 is out of bounds."):
        F.cross_entropy(x, ember.tensor([0, 1, 7]), label_smoothing=0.1)
    with pytest.raises(IndexError, match="Target 5 is out of bounds."):
        F.nll_loss(x, ember.tensor([0, 1, 5]))
    with pytest.raises(ValueError, match=r"Expected input batch_size \(3\) to match target batch_size \(2\)."):
        F.cross_entropy(x, ember.tensor([0, 1]))
    with pytest.raises(RuntimeError, match="expected target dtype to be Long or Byte, but got Int"):
        F.cross_entropy(x, ember.tensor([0, 1, 2], dtype=ember.int32))
    with pytest.raises(RuntimeError, match="0D or 1D target tensor expected, multi-target not supported"):
        F.cross_entropy(x, ember.rand(3, 5))
    with pytest.raises(RuntimeError, match=r"Expected target size \[2, 4\], got \[2, 5\]"):
        F.cross_entropy(ember.randn(2, 3, 4), ember.zeros(2, 5, dtype=ember.int64))
    with pytest.raises(RuntimeError, match=r"only batches of spatial targets supported \(3D tensors\) but got "
                                           "targets of dimension: 2"):
        F.nll_loss(ember.randn(2, 3, 4, 5), ember.zeros(2, 4, dtype=ember.int64))
    with pytest.raises(RuntimeError, match=r"weight tensor should be defined either for all 4 classes or no classes "
                                           r"but got weight tensor of shape: \[3\]"):
        F.cross_entropy(x, ember.tensor([0, 1, 2]), weight=ember.ones(3))
    with pytest.raises(RuntimeError, match="label_smoothing must be between 0.0 and 1.0. Got: 1.5"):
        F.cross_entropy(x, ember.tensor([0, 1, 2]), label_smoothing=1.5)
    with pytest.raises(ValueError, match="foo is not a valid value for reduction"):
        F.cross_entropy(x, ember.tensor([0, 1, 2]), reduction="foo")
    with pytest.raises(RuntimeError, match="Expected floating point type for target with class probabilities, "
                                           "got Long"):
        F.cross_entropy(x, ember.zeros(3, 4, dtype=ember.int64))
    with pytest.raises(RuntimeError, match="ignore_index is not supported for floating point target"):
        F.cross_entropy(x, ember.rand(3, 4), ignore_index=1)
    with pytest.raises(ValueError, match=r"Expected 1 or more dimensions \(got 0\)"):
        F.nll_loss(ember.tensor(1.0), ember.tensor(0))
    with pytest.raises(RuntimeError, match="The function 'nll_loss_forward' is not differentiable with respect to "
                                           "argument 'weight'"):
        F.nll_loss(x, ember.tensor([0, 1, 2]), weight=ember.ones(4, requires_grad=True))


# ---------------------------------------------------------------------------------------------
# Binary cross entropy
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("shape", [(3, 4), (5,), (0, 2)])
def test_binary_cross_entropy(reduction, weighted, shape):
    w = rand(*shape[1:], low=0.2, high=2.0)

    def fn(T, x, t):
        weight = T.tensor(w) if weighted else None
        return _F(T).binary_cross_entropy(x, t, weight=weight, reduction=reduction)
    check(fn, rand(*shape, low=0.02, high=0.98), rand(*shape, low=0, high=1))


def test_binary_cross_entropy_clamps_log():
    x = np.array([0.0, 1.0, 0.0, 1.0, 0.5])
    t = np.array([1.0, 0.0, 0.0, 1.0, 0.5])
    check(lambda T, x: _F(T).binary_cross_entropy(x, T.tensor(t), reduction="none"), x)


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_binary_cross_entropy_target_gradient_at_saturated_input(reduction):
    # the forward clamps its logs at -100, the target gradient log(1 - x) - log(x) does not: +-inf at x = 0, 1
    x = np.array([0.0, 1.0, 0.5, 0.25, 1e-300])
    t = np.array([0.0, 1.0, 0.5, 0.3, 0.2])
    check(lambda T, t: _F(T).binary_cross_entropy(T.tensor(x), t, reduction=reduction), t)
    grad = ember.tensor(t, requires_grad=True)
    _F(ember).binary_cross_entropy(ember.tensor(x), grad, reduction="sum").backward()
    assert grad.grad[0].item() == float("inf") and grad.grad[1].item() == float("-inf")


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("pos_weighted", [False, True])
@pytest.mark.parametrize("shape", [(3, 4), (0, 4)])
def test_binary_cross_entropy_with_logits(reduction, weighted, pos_weighted, shape):
    w, pw = rand(4, low=0.2, high=2.0), rand(4, low=0.2, high=3.0)

    def fn(T, x, t):
        return _F(T).binary_cross_entropy_with_logits(
            x, t, weight=T.tensor(w) if weighted else None, pos_weight=T.tensor(pw) if pos_weighted else None,
            reduction=reduction)
    check(fn, rand(*shape, low=-4, high=4), rand(*shape, low=0, high=1))


def test_bce_with_logits_large_logits_finite():
    x = np.array([1e4, -1e4, 50.0, -50.0, 0.0])
    t = np.array([0.0, 1.0, 1.0, 0.0, 0.5])
    out = check(lambda T, x, t: _F(T).binary_cross_entropy_with_logits(x, t, reduction="none",
                                                                       pos_weight=T.tensor([2.0])), x, t)
    assert np.isfinite(out.detach().numpy()).all()


def test_bce_gradcheck():
    x, t = rand(2, 3, low=0.1, high=0.9), rand(2, 3, low=0, high=1)
    gradcheck(lambda a, b: ember.nn.functional.binary_cross_entropy(a, b), x, t, gradgrad=True)
    pw = ember.tensor([1.5, 0.5, 2.0], dtype=ember.float64)
    gradcheck(lambda a, b: ember.nn.functional.binary_cross_entropy_with_logits(a, b, pos_weight=pw), x * 4 - 2, t,
              gradgrad=True)


def test_bce_errors():
    F = ember.nn.functional
    with pytest.raises(ValueError, match=r"Using a target size \(ember.Size\(\[3\]\)\) that is different to the "
                                         r"input size \(ember.Size\(\[3, 1\]\)\) is deprecated. Please ensure they "
                                         "have the same size."):
        F.binary_cross_entropy(ember.rand(3, 1), ember.rand(3))
    with pytest.raises(RuntimeError, match="all elements of input should be between 0 and 1"):
        F.binary_cross_entropy(ember.tensor([1.5]), ember.rand(1))
    with pytest.raises(RuntimeError, match="all elements of target should be between 0 and 1"):
        F.binary_cross_entropy(ember.rand(1), ember.tensor([-0.5]))
    with pytest.raises(ValueError, match=r"Target size \(ember.Size\(\[3\]\)\) must be the same as input size "
                                         r"\(ember.Size\(\[3, 1\]\)\)"):
        F.binary_cross_entropy_with_logits(ember.rand(3, 1), ember.rand(3))
    with pytest.raises(RuntimeError, match="The function 'binary_cross_entropy' is not differentiable with respect "
                                           "to argument 'weight'. This input cannot have requires_grad True."):
        F.binary_cross_entropy(ember.rand(3), ember.rand(3), weight=ember.rand(3, requires_grad=True))
    with pytest.raises(RuntimeError, match="'binary_cross_entropy_with_logits' is not differentiable with respect "
                                           "to argument 'pos_weight'"):
        F.binary_cross_entropy_with_logits(ember.rand(3), ember.rand(3), pos_weight=ember.rand(3, requires_grad=True))


# ---------------------------------------------------------------------------------------------
# KL divergence, Gaussian NLL, margin losses
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("reduction", ["none", "sum", "batchmean"])
@pytest.mark.parametrize("log_target", [False, True])
def test_kl_div(reduction, log_target):
    p = _probs(3, 4)
    p[0, 0] = 0.0  # xlogy(0, 0) = 0
    target = np.log(p + 1e-3) if log_target else p
    check(lambda T, x, t: _F(T).kl_div(x, t, reduction=reduction, log_target=log_target),
          np.log(_probs(3, 4)), target)


def test_kl_div_mean_warns():
    with pytest.warns(UserWarning, match="reduction: 'mean' divides the total loss by both the batch size"):
        check(lambda T, x, t: _F(T).kl_div(x, t), np.log(_probs(3, 4)), _probs(3, 4))


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("full", [False, True])
@pytest.mark.parametrize("var_shape", [(3, 4), (3,), (3, 1)])
def test_gaussian_nll_loss(reduction, full, var_shape):
    check(lambda T, x, t, v: _F(T).gaussian_nll_loss(x, t, v, full=full, reduction=reduction),
          rand(3, 4), rand(3, 4), rand(*var_shape, low=1e-8, high=2.0))


def test_gaussian_nll_loss_float_var_and_errors():
    check(lambda T, x, t: _F(T).gaussian_nll_loss(x, t, 0.5), rand(3, 2), rand(3, 2))
    F = ember.nn.functional
    with pytest.raises(ValueError, match="var is of incorrect size"):
        F.gaussian_nll_loss(ember.rand(3, 2), ember.rand(3, 2), ember.rand(4))
    with pytest.raises(ValueError, match="var has negative entry/entries"):
        F.gaussian_nll_loss(ember.rand(3, 2), ember.rand(3, 2), -ember.ones(3, 2))
    with pytest.raises(ValueError, match="foo is not valid"):
        F.gaussian_nll_loss(ember.rand(3, 2), ember.rand(3, 2), ember.ones(3, 2), reduction="foo")


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("margin", [0.0, 0.3])
def test_cosine_embedding_loss(reduction, margin):
    y = np.array([1.0, -1.0, 1.0, -1.0])
    check(lambda T, a, b: _F(T).cosine_embedding_loss(a, b, T.tensor(y), margin=margin, reduction=reduction),
          rand(4, 5), rand(4, 5))
    check(lambda T, a, b: _F(T).cosine_embedding_loss(a, b, T.tensor(-1.0), margin=margin, reduction=reduction),
          rand(5), rand(5))


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_margin_ranking_loss(reduction):
    y = np.array([1.0, -1.0, 1.0, -1.0, 1.0])
    check(lambda T, a, b: _F(T).margin_ranking_loss(a, b, T.tensor(y), margin=0.2, reduction=reduction),
          rand(5), rand(5))


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("p,swap", [(2.0, False), (1.0, True), (3.0, False)])
def test_triplet_margin_loss(reduction, p, swap):
    check(lambda T, a, b, c: _F(T).triplet_margin_loss(a, b, c, margin=0.7, p=p, swap=swap, reduction=reduction),
          rand(4, 3), rand(4, 3), rand(4, 3))


def test_composite_losses_gradcheck():
    F = ember.nn.functional
    a, b, c = rand(3, 4), rand(3, 4), rand(3, 4)
    gradcheck(lambda x, y: F.kl_div(x, y, reduction="batchmean"), np.log(_probs(3, 4)), _probs(3, 4))
    gradcheck(lambda x, y, v: F.gaussian_nll_loss(x, y, v), a, b, rand(3, 4, low=0.5, high=2.0))
    gradcheck(lambda x, y: F.cosine_embedding_loss(x, y, ember.tensor([1.0, -1.0, 1.0])), a, b)
    gradcheck(lambda x, y, z: F.triplet_margin_loss(x, y, z, margin=3.0), a, b, c)


def test_margin_losses_errors():
    F = ember.nn.functional
    with pytest.raises(RuntimeError, match="0D or 1D target tensor expected, multi-target not supported"):
        F.cosine_embedding_loss(ember.rand(3, 2), ember.rand(3, 2), ember.ones(3, 1))
    with pytest.raises(RuntimeError, match=r"1D target tensor expects 2D input tensors, but found inputs with "
                                           r"sizes \[3, 2, 1\] and \[3, 2, 1\]."):
        F.cosine_embedding_loss(ember.rand(3, 2, 1), ember.rand(3, 2, 1), ember.ones(3))
    with pytest.raises(RuntimeError, match=r"margin_ranking_loss : All input tensors should have same dimension but "
                                           r"got sizes: input1: ember.Size\(\[3\]\), input2: "
                                           r"ember.Size\(\[3, 1\]\), target: ember.Size\(\[3\]\)"):
        F.margin_ranking_loss(ember.rand(3), ember.rand(3, 1), ember.ones(3))
    with pytest.raises(RuntimeError, match="The anchor, positive, and negative tensors are expected to have the same "
                                           "number of dimensions, but got: anchor 2D, positive 1D, and negative 2D"):
        F.triplet_margin_loss(ember.rand(3, 2), ember.rand(3), ember.rand(3, 2))
    with pytest.raises(ValueError, match="margin must be greater than 0, got 0"):
        F.triplet_margin_loss(ember.rand(3, 2), ember.rand(3, 2), ember.rand(3, 2), margin=0)


# ---------------------------------------------------------------------------------------------
# Modules
# ---------------------------------------------------------------------------------------------

LOSS_MODULES = [
    ("L1Loss", {}, "reg"), ("MSELoss", {"reduction": "sum"}, "reg"), ("HuberLoss", {"delta": 0.5}, "reg"),
    ("SmoothL1Loss", {"beta": 0.5}, "reg"), ("CrossEntropyLoss", {"label_smoothing": 0.1}, "cls"),
    ("CrossEntropyLoss", {"ignore_index": 1, "reduction": "none"}, "cls"), ("NLLLoss", {}, "cls"),
    ("BCELoss", {}, "bce"), ("BCEWithLogitsLoss", {}, "reg"), ("KLDivLoss", {"reduction": "batchmean"}, "kl"),
    ("MarginRankingLoss", {"margin": 0.1}, "rank"), ("CosineEmbeddingLoss", {"margin": 0.1}, "rank"),
    ("TripletMarginLoss", {"margin": 0.5}, "triplet"), ("GaussianNLLLoss", {"full": True}, "gauss"),
]


@pytest.mark.parametrize("name,kwargs,kind", LOSS_MODULES)
def test_loss_modules(name, kwargs, kind):
    target = _targets(4)
    y = np.array([1.0, -1.0, 1.0, -1.0])

    def fn(T, x, t):
        loss = getattr(T.nn, name)(**kwargs)
        if kind == "cls":
            return loss(x, T.tensor(target))
        if kind == "bce":
            return loss(x.sigmoid(), t.sigmoid())
        if kind == "kl":
            return loss(x.log_softmax(1), t.softmax(1))
        if kind == "rank":
            return loss(x, t, T.tensor(y)) if name == "CosineEmbeddingLoss" else loss(x[:, 0], t[:, 0],
                                                                                     T.tensor(y))
        if kind == "triplet":
            return loss(x, t, x * 0.5 + 1)
        if kind == "gauss":
            return loss(x, t, (t * t) + 0.1)
        return loss(x, t)
    check(fn, rand(4, 4), rand(4, 4))


@pytest.mark.parametrize("name,kwargs,kind", LOSS_MODULES)
def test_loss_module_repr(name, kwargs, kind):
    assert repr(getattr(ember.nn, name)(**kwargs)) == repr(getattr(torch.nn, name)(**kwargs))


def test_weighted_loss_registers_buffer():
    w = ember.tensor([1.0, 2.0, 0.5])
    loss = ember.nn.CrossEntropyLoss(weight=w)
    assert dict(loss.named_buffers())["weight"] is w
    assert "weight" in loss.state_dict()
    check(lambda T, x: T.nn.CrossEntropyLoss(weight=T.tensor([1.0, 2.0, 0.5], dtype=T.float64))(
        x, T.tensor([0, 2, 1, 1])), rand(4, 3))
    pw = ember.nn.BCEWithLogitsLoss(pos_weight=ember.tensor([2.0]))
    assert "pos_weight" in dict(pw.named_buffers())


def test_loss_module_legacy_args_and_errors():
    with pytest.warns(UserWarning, match="size_average and reduce args will be deprecated"):
        assert ember.nn.L1Loss(reduce=False).reduction == "none"
    with pytest.raises(ValueError, match="TripletMarginLoss: expected margin to be greater than 0, got 0 instead"):
        ember.nn.TripletMarginLoss(margin=0)
