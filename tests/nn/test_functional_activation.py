"""Activations (functional and Module forms) and the softmax family against PyTorch."""
import warnings

import numpy as np
import pytest

import ember
from tests.helpers import check, gradcheck, rand, noncontiguous, torch

# name -> lambda(lib.nn.functional, x): one entry per activation, each with non-default arguments too
ACTIVATIONS = {
    "relu": lambda F, x: F.relu(x),
    "relu6": lambda F, x: F.relu6(x * 4),
    "leaky_relu": lambda F, x: F.leaky_relu(x),
    "leaky_relu_0.2": lambda F, x: F.leaky_relu(x, 0.2),
    "elu": lambda F, x: F.elu(x),
    "elu_0.5": lambda F, x: F.elu(x, alpha=0.5),
    "celu": lambda F, x: F.celu(x, 1.5),
    "selu": lambda F, x: F.selu(x),
    "gelu": lambda F, x: F.gelu(x),
    "gelu_tanh": lambda F, x: F.gelu(x, approximate="tanh"),
    "silu": lambda F, x: F.silu(x),
    "mish": lambda F, x: F.mish(x),
    "sigmoid": lambda F, x: F.sigmoid(x),
    "tanh": lambda F, x: F.tanh(x),
    "softplus": lambda F, x: F.softplus(x),
    "softplus_beta": lambda F, x: F.softplus(x, beta=2.0, threshold=3.0),
    "softsign": lambda F, x: F.softsign(x),
    "hardtanh": lambda F, x: F.hardtanh(x),
    "hardtanh_range": lambda F, x: F.hardtanh(x, -0.5, 1.5),
    "hardsigmoid": lambda F, x: F.hardsigmoid(x * 3),
    "hardswish": lambda F, x: F.hardswish(x * 3),
    "logsigmoid": lambda F, x: F.logsigmoid(x),
    "threshold": lambda F, x: F.threshold(x, 0.1, 20.0),
    "tanhshrink": lambda F, x: F.tanhshrink(x),
    "softshrink": lambda F, x: F.softshrink(x, 0.3),
    "hardshrink": lambda F, x: F.hardshrink(x, 0.3),
    "rrelu_eval": lambda F, x: F.rrelu(x),
    "softmax": lambda F, x: F.softmax(x, dim=-1),
    "log_softmax": lambda F, x: F.log_softmax(x, dim=0),
    "softmin": lambda F, x: F.softmin(x, dim=-1),
}

GRAD_NAMES = {
    "relu": "ReluBackward0", "relu6": "HardtanhBackward0", "leaky_relu": "LeakyReluBackward0",
    "elu": "EluBackward0", "celu": "CeluBackward0", "selu": "EluBackward0", "gelu": "GeluBackward0",
    "gelu_tanh": "GeluBackward0", "silu": "SiluBackward0", "mish": "MishBackward0",
    "softplus": "SoftplusBackward0", "hardtanh": "HardtanhBackward0", "hardsigmoid": "HardsigmoidBackward0",
    "hardswish": "HardswishBackward0", "logsigmoid": "LogSigmoidBackward0", "threshold": "ThresholdBackward0",
    "softmax": "SoftmaxBackward0", "softmin": "SoftmaxBackward0", "log_softmax": "LogSoftmaxBackward0",
    "softsign": "DivBackward0",
}


def _F(lib):
    return lib.nn.functional


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
@pytest.mark.parametrize("shape", [(3, 4), (2, 3, 5), (0, 4)])
def test_activation_matches_torch(name, shape):
    fn = ACTIVATIONS[name]
    check(lambda T, x: fn(_F(T), x), rand(*shape, low=-4, high=4))


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_activation_noncontiguous_float32(name):
    fn = ACTIVATIONS[name]
    check(lambda T, x: fn(_F(T), x), noncontiguous(rand(3, 6, dtype=np.float32, low=-4, high=4)),
          atol=1e-5, rtol=1e-4)


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_activation_extreme_values(name):
    # large magnitudes: no NaN or inf where PyTorch is finite
    fn = ACTIVATIONS[name]
    x = np.array([[-1e4, -50.0, -20.5, -3.0, 0.0, 3.0, 20.5, 50.0, 1e4]])
    check(lambda T, x: fn(_F(T), x), x)


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_activation_gradcheck(name):
    fn = ACTIVATIONS[name]
    # keep away from kinks (|x| = 0, 3, 0.3, 0.1, 0.5, 1.5) where finite differences are meaningless
    x = np.array([[-2.7, -1.3, -0.72, -0.41], [0.23, 0.66, 1.21, 2.4]])
    gradcheck(lambda t: fn(ember.nn.functional, t), x)


@pytest.mark.parametrize("name", ["gelu", "gelu_tanh", "softplus", "silu", "elu", "mish", "logsigmoid",
                                  "leaky_relu", "hardswish", "celu"])
def test_activation_gradgradcheck(name):
    fn = ACTIVATIONS[name]
    x = np.array([[-2.7, -1.3, -0.72, -0.41], [0.23, 0.66, 1.21, 2.4]])
    gradcheck(lambda t: fn(ember.nn.functional, t), x, gradgrad=True)


@pytest.mark.parametrize("name", sorted(GRAD_NAMES))
def test_grad_fn_names(name):
    x = ember.randn(3, 4, requires_grad=True)
    out = ACTIVATIONS[name](ember.nn.functional, x)
    assert type(out.grad_fn).__name__ == GRAD_NAMES[name]


def test_no_graph_without_grad():
    x = ember.randn(3, 4)
    assert ember.nn.functional.gelu(x).grad_fn is None
    with ember.no_grad():
        assert ember.nn.functional.silu(ember.randn(3, requires_grad=True)).grad_fn is None


@pytest.mark.parametrize("name", ["relu", "relu6", "leaky_relu", "elu", "celu", "selu", "silu", "mish",
                                  "hardtanh", "hardsigmoid", "hardswish", "threshold", "rrelu"])
def test_inplace_forms(name):
    args = {"threshold": (0.1, 20.0)}.get(name, ())

    def fn(T, x):
        y = x * 1.0
        out = getattr(_F(T), name)(y, *args, inplace=True)
        assert out is y
        return out
    check(fn, rand(3, 4, low=-4, high=4))


def test_inplace_on_leaf_requiring_grad_raises():
    x = ember.randn(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="a leaf Variable that requires grad is being used in an in-place"):
        ember.nn.functional.elu(x, inplace=True)


@pytest.mark.parametrize("dtype", [np.float32, np.float16])
def test_gelu_dtypes(dtype):
    check(lambda T, x: _F(T).gelu(x), rand(4, 5, dtype=dtype), atol=2e-3, rtol=2e-3, grad=dtype == np.float32)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_gelu_large_arrays_go_by_cache_blocks(dtype):
    """Arrays over two cache blocks run block by block (a short last block included)."""
    from ember.nn import functional as F
    x = rand(2 * F._CACHE_BLOCK // 100 + 7, 100, dtype=dtype, low=-6, high=6)
    assert F._cache_blocks(x) is not None and x.size % F._CACHE_BLOCK
    tol = dict(atol=1e-5, rtol=1e-5) if dtype == np.float32 else dict(atol=1e-10, rtol=1e-10)
    check(lambda T, x: _F(T).gelu(x), x, **tol)
    check(lambda T, x: _F(T).gelu(x), noncontiguous(x), **tol)  # the unblocked path
    with ember.no_grad():
        check(lambda T, x: _F(T).gelu(x), x, grad=False, **tol)


def test_prelu():
    check(lambda T, x, w: _F(T).prelu(x, w), rand(2, 3, 4), rand(3))
    check(lambda T, x, w: _F(T).prelu(x, w), rand(2, 3), rand(1))
    check(lambda T, x, w: _F(T).prelu(x, w), rand(5), rand(1))
    gradcheck(lambda x, w: ember.nn.functional.prelu(x, w),
              np.array([[-1.2, 0.4, 2.0], [0.7, -0.3, -2.2]]), np.array([0.2, -0.4, 0.6]))


def test_prelu_errors():
    F = ember.nn.functional
    with pytest.raises(RuntimeError, match="Mismatch of parameter numbers and input channel size. Found parameter "
                                           r"numbers = 2 and channel size = 3\."):
        F.prelu(ember.randn(2, 3), ember.randn(2))
    with pytest.raises(RuntimeError, match="prelu: Expected `weight` to be a scalar or 1D tensor, but got: ndim = 2"):
        F.prelu(ember.randn(2, 3), ember.randn(3, 1))


def test_activation_errors():
    F = ember.nn.functional
    ints = ember.tensor([1, -2])
    with pytest.raises(RuntimeError, match="approximate argument must be either none or tanh."):
        F.gelu(ember.randn(3), approximate="foo")
    with pytest.raises(NotImplementedError, match="\"GeluKernelImpl\" not implemented for 'Long'"):
        F.gelu(ints)
    with pytest.raises(NotImplementedError, match="\"leaky_relu_cpu\" not implemented for 'Long'"):
        F.leaky_relu(ints)
    with pytest.raises(NotImplementedError, match="\"elu_cpu\" not implemented for 'Long'"):
        F.elu(ints)
    with pytest.raises(NotImplementedError, match="\"softplus_cpu\" not implemented for 'Long'"):
        F.softplus(ints)
    with pytest.raises(NotImplementedError, match="\"log_sigmoid_cpu\" not implemented for 'Long'"):
        F.logsigmoid(ints)
    with pytest.raises(ValueError, match="min_val cannot be greater than max_val"):
        F.hardtanh(ember.randn(3), 2.0, 1.0)
    with pytest.raises(RuntimeError, match="ZeroDivisionError: alpha cannot be 0 for CELU"):
        F.celu(ember.randn(3), 0.0)
    with pytest.raises(NotImplementedError, match="\"softmax_lastdim_kernel_impl\" not implemented for 'Long'"):
        F.softmax(ints, 0)


def test_integer_relu_hardtanh_threshold_match_torch():
    check(lambda T, x: _F(T).relu(x), np.array([1, -2, 3]), grad=False)
    check(lambda T, x: _F(T).hardtanh(x), np.array([1, -2, 3]), grad=False)
    check(lambda T, x: _F(T).threshold(x, 0, 5), np.array([1, -2, 3]), grad=False)


@pytest.mark.parametrize("fn", ["softmax", "log_softmax", "softmin"])
def test_softmax_implicit_dim_warns(fn):
    for shape in [(4,), (2, 3), (2, 3, 4), (2, 3, 4, 5)]:
        with pytest.warns(UserWarning, match=f"Implicit dimension choice for {fn} has been deprecated"):
            check(lambda T, x: getattr(_F(T), fn)(x), rand(*shape))


@pytest.mark.parametrize("fn", ["softmax", "log_softmax", "softmin"])
def test_softmax_dtype_argument(fn):
    check(lambda T, x: getattr(_F(T), fn)(x, 1, dtype=T.float64), rand(2, 5, dtype=np.float32))


def test_softmax_large_logits_finite():
    x = np.array([[1e4, -1e4, 0.0], [-1e4, -1e4, -1e4]])
    check(lambda T, x: _F(T).log_softmax(x, 1), x)
    check(lambda T, x: _F(T).softmax(x, 1), x)


def test_glu():
    check(lambda T, x: _F(T).glu(x, 1), rand(2, 6, 3))
    with pytest.raises(RuntimeError, match="Halving dimension must be even, but dimension 1 is size 5"):
        ember.nn.functional.glu(ember.randn(2, 5), 1)


def test_rrelu_training_slopes_in_range():
    ember.manual_seed(0)
    x = -ember.ones(1000)
    y = ember.nn.functional.rrelu(x, 0.1, 0.3, training=True)
    slopes = -y.numpy()
    assert slopes.min() >= 0.1 and slopes.max() <= 0.3 and slopes.std() > 0.03


# ---------------------------------------------------------------------------------------------
# Modules
# ---------------------------------------------------------------------------------------------

MODULES = [
    ("ReLU", ()), ("ReLU", (True,)), ("ReLU6", ()), ("ReLU6", (True,)), ("LeakyReLU", ()),
    ("LeakyReLU", (0.2, True)), ("PReLU", ()), ("PReLU", (3, 0.1)), ("ELU", ()), ("ELU", (0.5, True)),
    ("CELU", ()), ("CELU", (2.0, True)), ("SELU", ()), ("SELU", (True,)), ("GELU", ()), ("GELU", ("tanh",)),
    ("SiLU", ()), ("SiLU", (True,)), ("Mish", ()), ("Mish", (True,)), ("Sigmoid", ()), ("Tanh", ()),
    ("Softplus", ()), ("Softplus", (2, 10)), ("Softsign", ()), ("Hardtanh", ()), ("Hardtanh", (-2, 3, True)),
    ("Hardtanh", (0.0, 6.0)), ("Hardsigmoid", ()), ("Hardsigmoid", (True,)), ("Hardswish", ()),
    ("Hardswish", (True,)), ("LogSigmoid", ()), ("Softmax", ()), ("Softmax", (1,)), ("LogSoftmax", (-1,)),
    ("Softmin", (0,)), ("Threshold", (0.1, 20)), ("Threshold", (0.1, 20, True)), ("Tanhshrink", ()),
    ("Softshrink", ()), ("Hardshrink", (0.3,)), ("GLU", ()), ("RReLU", ()),
]


@pytest.mark.parametrize("name,args", MODULES)
def test_module_repr(name, args):
    assert repr(getattr(ember.nn, name)(*args)) == repr(getattr(torch.nn, name)(*args))


@pytest.mark.parametrize("name,args", [m for m in MODULES if m[0] not in ("Softmax", "RReLU") or m[1]])
def test_module_forward(name, args):
    def fn(T, x):
        module = getattr(T.nn, name)(*args)
        if name == "PReLU":
            with T.no_grad():
                module.weight.copy_(T.linspace(-0.5, 0.5, module.weight.numel(), dtype=T.float64))
            module.double()
        if name == "RReLU":
            module.eval()
        return module(x * 1.0)
    check(fn, rand(2, 3, 4, low=-4, high=4))


def test_prelu_module_parameter():
    m = ember.nn.PReLU(3, init=0.1)
    params = list(m.parameters())
    assert len(params) == 1 and params[0].shape == (3,)
    np.testing.assert_allclose(m.weight.detach().numpy(), 0.1)
    x = ember.randn(2, 3, 4)
    m(x).sum().backward()
    assert m.weight.grad is not None and m.weight.grad.shape == (3,)


def test_hardtanh_module_bounds_error():
    with pytest.raises(AssertionError, match=r"max_val \(1\) must be greater than min_val \(2\)"):
        ember.nn.Hardtanh(2, 1)


def test_softmax_module_implicit_dim_warns():
    with pytest.warns(UserWarning, match="Implicit dimension choice for softmax"):
        ember.nn.Softmax()(ember.randn(2, 3))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ember.nn.Softmax(1)(ember.randn(2, 3))
