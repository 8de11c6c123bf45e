"""Linear, Bilinear, Identity, Flatten, Unflatten against torch: same weights -> same outputs and gradients."""
import math

import numpy as np
import pytest

import ember
from ember.nn.modules.linear import linear
from tests.helpers import torch, rand, noncontiguous, gradcheck, assert_same, check
from tests.nn.test_module import same_error


def torch_twin(e_module, t_module):
    """Copy the ember module's parameters into the torch module (init streams differ)."""
    for name, param in e_module.named_parameters():
        t_module.get_parameter(name).data = torch.from_numpy(param.detach().numpy().copy())
    return t_module


def compare(e_module, t_module, *arrays, atol=1e-5):
    """Forward the same inputs through both; compare outputs, input grads and parameter grads."""
    e_in = [ember.tensor(a, requires_grad=True) for a in arrays]
    t_in = [torch.tensor(a, requires_grad=True) for a in arrays]
    e_out, t_out = e_module(*e_in), t_module(*t_in)
    assert_same(e_out, t_out, atol=atol)
    if t_out.numel() == 0:
        return
    upstream = np.random.default_rng(1).standard_normal(tuple(t_out.shape)).astype(arrays[0].dtype)
    (e_out * ember.tensor(upstream)).sum().backward()
    (t_out * torch.tensor(upstream)).sum().backward()
    for e, t in zip(e_in, t_in):
        assert_same(e.grad, t.grad, atol=atol)
    for name, param in e_module.named_parameters():
        assert_same(param.grad, t_module.get_parameter(name).grad, atol=atol)


@pytest.mark.parametrize("shape", [(2, 4), (4,), (2, 3, 4), (0, 4), (2, 0, 4), (1, 1, 1, 4)])
@pytest.mark.parametrize("bias", [True, False])
def test_linear_matches_torch(shape, bias):
    e = ember.nn.Linear(4, 3, bias=bias)
    t = torch_twin(e, torch.nn.Linear(4, 3, bias=bias))
    compare(e, t, rand(*shape, dtype=np.float32))


def test_linear_noncontiguous_and_float64():
    e = ember.nn.Linear(4, 3, dtype=ember.float64)
    assert e.weight.dtype is ember.float64 and e.bias.dtype is ember.float64
    t = torch_twin(e, torch.nn.Linear(4, 3, dtype=torch.float64))
    compare(e, t, noncontiguous(rand(5, 4)))


def test_linear_grad_fn_names_match_torch():
    for shape, bias in [((2, 4), True), ((2, 4), False), ((2, 5, 4), True), ((4,), True)]:
        e = ember.nn.Linear(4, 3, bias=bias)
        t = torch.nn.Linear(4, 3, bias=bias)
        e_name = e(ember.zeros(*shape)).grad_fn.name()
        t_name = t(torch.zeros(*shape)).grad_fn.name()
        assert e_name == t_name or (e_name, t_name) == ("ViewBackward0", "UnsafeViewBackward0")


def test_linear_gradcheck():
    w, b = rand(3, 4), rand(3)
    gradcheck(lambda x, w, b: linear(x, w, b), rand(2, 4), w, b, gradgrad=True)
    gradcheck(lambda x, w: linear(x, w), rand(2, 5, 4), w, gradgrad=True)


@pytest.mark.parametrize("shape", [(2, 5), (2, 3, 5), (5,)])
def test_linear_shape_error_before_state_changes(shape):
    error = same_error(lambda T: T.nn.Linear(4, 3)(T.zeros(*shape)))
    assert "mat1 and mat2 shapes cannot be multiplied" in str(error)


def test_linear_error_leaves_no_graph_or_grad():
    m = ember.nn.Linear(4, 3)
    version = m.weight._version
    with pytest.raises(RuntimeError, match=r"mat1 and mat2 shapes cannot be multiplied \(2x5 and 4x3\)"):
        m(ember.zeros(2, 5, requires_grad=True))
    assert m.weight.grad is None and m.weight._version == version


def test_linear_other_errors():
    same_error(lambda T: T.nn.Linear(4, 3)(T.zeros(())))
    same_error(lambda T: T.nn.Linear(4, 3)(T.zeros(2, 4, dtype=T.float64)))


def test_linear_reset_parameters_distribution():
    ember.manual_seed(0)
    m = ember.nn.Linear(400, 300)
    bound = 1 / math.sqrt(400)  # kaiming_uniform_(a=sqrt(5)) gives the same bound as the bias
    w, b = m.weight.detach().numpy(), m.bias.detach().numpy()
    assert np.abs(w).max() <= bound and np.abs(b).max() <= bound
    assert np.abs(w).max() > 0.99 * bound
    assert abs(w.std() - bound / math.sqrt(3)) < 0.01 * bound
    weight = m.weight
    m.reset_parameters()
    assert m.weight is weight


def test_linear_zero_in_features():
    with pytest.warns(UserWarning, match="Initializing zero-element tensors is a no-op"):
        m = ember.nn.Linear(0, 3)
    assert (m.bias.detach().numpy() == 0).all()
    assert (m(ember.zeros(2, 0)).detach().numpy() == 0).all()


@pytest.mark.parametrize("args", [(4, 3), (4, 3, False), (1, 1)])
def test_linear_repr_and_state_dict(args):
    e, t = ember.nn.Linear(*args), torch.nn.Linear(*args)
    assert repr(e) == repr(t)
    assert list(e.state_dict()) == list(t.state_dict())
    assert e.weight.shape == tuple(t.weight.shape)


@pytest.mark.parametrize("shapes", [((5, 2), (5, 3)), ((2,), (3,)), ((4, 5, 2), (4, 5, 3)), ((0, 2), (0, 3))])
@pytest.mark.parametrize("bias", [True, False])
def test_bilinear_matches_torch(shapes, bias):
    e = ember.nn.Bilinear(2, 3, 4, bias=bias)
    t = torch_twin(e, torch.nn.Bilinear(2, 3, 4, bias=bias))
    compare(e, t, rand(*shapes[0], dtype=np.float32), rand(*shapes[1], dtype=np.float32))
    assert repr(e) == repr(t)


def test_bilinear_gradcheck():
    from ember.nn.modules.linear import bilinear
    gradcheck(lambda a, b, w, c: bilinear(a, b, w, c), rand(3, 2), rand(3, 3), rand(4, 2, 3), rand(4),
              gradgrad=True)


@pytest.mark.parametrize("shapes", [((5, 2), (4, 3)), ((5, 3), (5, 3)), ((5, 2), (5, 2)), ((5, 2), (5, 1, 3))])
def test_bilinear_errors(shapes):
    same_error(lambda T: T.nn.Bilinear(2, 3, 4)(T.zeros(*shapes[0]), T.zeros(*shapes[1])))


@pytest.mark.parametrize("shapes", [((3, 2), (3, 3)), ((2,), (3,)), ((4, 5, 2), (4, 5, 3))])
@pytest.mark.parametrize("bias", [True, False])
def test_functional_bilinear_matches_torch(shapes, bias):
    args = [rand(*shapes[0]), rand(*shapes[1]), rand(4, 2, 3)] + ([rand(4)] if bias else [])
    check(lambda T, *xs: T.nn.functional.bilinear(*xs), *args)


def test_functional_linear_and_bilinear_are_the_layer_functions():
    from ember.nn.modules.linear import bilinear
    assert ember.nn.functional.linear is linear
    assert ember.nn.functional.bilinear is bilinear


@pytest.mark.parametrize("shape", [(3, 2), (2,), (4, 3, 2)])
def test_functional_linear_one_dimensional_weight(shape):
    # a 1-D weight is a single output feature that is dropped from the result
    check(lambda T, x, w: T.nn.functional.linear(x, w), rand(*shape), rand(2))


@pytest.mark.parametrize("shapes", [((3, 2), (3,), None), ((3, 2), (2,), (3,)), ((3, 2), (2,), ())])
def test_functional_linear_one_dimensional_weight_errors(shapes):
    x, w, b = shapes
    same_error(lambda T: T.nn.functional.linear(T.ones(x), T.ones(w), None if b is None else T.ones(b)))


def test_bilinear_init_bounds():
    m = ember.nn.Bilinear(50, 3, 40)
    bound = 1 / math.sqrt(50)
    assert np.abs(m.weight.detach().numpy()).max() <= bound
    assert np.abs(m.bias.detach().numpy()).max() <= bound


def test_identity():
    x = ember.randn(2, 3, requires_grad=True)
    m = ember.nn.Identity(54, unused="x")
    assert m(x) is x
    assert repr(m) == repr(torch.nn.Identity(54, unused="x")) == "Identity()"


@pytest.mark.parametrize("args", [(), (0,), (1, 2), (-3, -2), (2, -1)])
def test_flatten_matches_torch(args):
    e, t = ember.nn.Flatten(*args), torch.nn.Flatten(*args)
    compare(e, t, rand(2, 3, 4, 5))
    assert repr(e) == repr(t)


def test_flatten_error():
    same_error(lambda T: T.nn.Flatten(1, 5)(T.zeros(2, 3)))


@pytest.mark.parametrize("dim, sizes, shape", [(1, (2, 3), (4, 6)), (-1, (2, -1), (4, 6)), (0, [2, 2], (4, 6, 1))])
def test_unflatten_matches_torch(dim, sizes, shape):
    e, t = ember.nn.Unflatten(dim, sizes), torch.nn.Unflatten(dim, sizes)
    compare(e, t, rand(*shape))
    assert repr(e) == repr(t)


@pytest.mark.parametrize("args", [(1, (2, "a")), (1, 3)])
def test_unflatten_argument_errors(args):
    same_error(lambda T: T.nn.Unflatten(*args))


def test_layers_in_sequential_match_torch():
    e = ember.nn.Sequential(ember.nn.Flatten(), ember.nn.Linear(12, 6), ember.nn.Unflatten(1, (2, 3)),
                            ember.nn.Identity())
    t = torch_twin(e, torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(12, 6), torch.nn.Unflatten(1, (2, 3)),
                                          torch.nn.Identity()))
    compare(e, t, rand(5, 3, 4, dtype=np.float32))
    assert repr(e) == repr(t)
