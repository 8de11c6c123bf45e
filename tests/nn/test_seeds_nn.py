"""The seed documents' Module/Parameter/container examples, run on ember with ``torch`` -> ``ember``.

Each test keeps the example's code and checks what the text says it shows. Random values
differ from PyTorch's; structure, registration and training behaviour do not. Where a
seed is wrong about PyTorch (004's ``requires_grad=False`` signature line, 002's
``_is_param`` attribute), the test checks PyTorch's real behaviour and says so.
"""
import io
from contextlib import redirect_stdout
from collections import OrderedDict

import numpy as np
import pytest

import ember
import ember.nn as nn
from tests.helpers import torch


def printed(*values) -> str:
    buffer = io.StringIO()
    with redirect_stdout(buffer):
        print(*values)
    return buffer.getvalue()


# -- 000: CustomLinear ---------------------------------------------------------------------------
class CustomLinear(nn.Module):
    def __init__(self, in_features, out_features):
        super().__init__()
        # 定义可学习的权重和偏置参数
        self.weight = nn.Parameter(ember.randn(in_features, out_features))
        self.bias = nn.Parameter(ember.randn(out_features))

    def forward(self, x):
        return x @ self.weight + self.bias


def test_seed000_custom_linear():
    model = CustomLinear(3, 5)
    input = ember.randn(2, 3)
    output = model(input)
    params = list(model.parameters())
    assert [p is q for p, q in zip(params, [model.weight, model.bias])] == [True, True]
    assert output.shape == (2, 5) and output.requires_grad
    text = printed(params)
    assert text.startswith("[Parameter containing:\ntensor([[") and text.count("requires_grad=True") == 2
    # "print 一个 nn.Parameter(torch.ones(2,2)) ... 会包含 requires_grad=True"
    assert printed(nn.Parameter(ember.ones(2, 2))) == (
        "Parameter containing:\ntensor([[1., 1.],\n        [1., 1.]], requires_grad=True)\n")
    # only Parameters are registered: a plain tensor attribute would not be trained
    model.extra = ember.randn(5, requires_grad=True)
    assert len(list(model.parameters())) == 2


# -- 001: Parameter definition, MyModel, Module methods, init ---------------------------------------
class MyModel001(nn.Module):
    def __init__(self):
        super(MyModel001, self).__init__()
        self.weight = nn.Parameter(ember.randn(3, 3))

    def forward(self, x):
        return ember.matmul(x, self.weight)


def test_seed001_parameter_and_model():
    param = nn.Parameter(ember.randn(3, 3))
    assert "requires_grad=True" in printed(param) and printed(param).startswith("Parameter containing:")
    model = MyModel001()
    assert list(model.parameters())[0] is model.weight
    shapes = [param.shape for param in model.parameters()]
    assert shapes == [ember.Size([3, 3])]
    names = [f"Parameter name: {name}, Shape: {param.shape}" for name, param in model.named_parameters()]
    assert names == ["Parameter name: weight, Shape: ember.Size([3, 3])"]
    assert list(model._parameters) == ["weight"] and model._parameters["weight"] is model.weight
    assert model(ember.randn(1, 3)).shape == (1, 3)


def test_seed001_apply_init_weights():
    def init_weights(m):
        if isinstance(m, nn.Linear):
            m.weight.data.fill_(1.0)

    model = nn.Sequential(nn.Linear(3, 4), nn.Sequential(nn.Linear(4, 2)))
    weights = [model[0].weight, model[1][0].weight]
    model.apply(init_weights)  # 初始化所有参数
    assert all((w.detach().numpy() == 1.0).all() for w in weights)
    assert model[0].weight is weights[0] and model[0].weight.requires_grad


def test_seed001_device_and_dtype_moves():
    model = MyModel001()
    weight = model.weight
    device = ember.device("cuda" if ember.cuda.is_available() else "cpu")
    assert model.to(device) is model and model.weight is weight
    assert model.cpu() is model and model.weight.device.type == "cpu"
    model.double()  # 转换为双精度
    assert model.weight is weight and weight.dtype is ember.float64
    assert model(ember.randn(1, 3, dtype=ember.float64)).dtype is ember.float64


def test_seed001_tensor_methods_on_parameter():
    param = nn.Parameter(ember.randn(3, 3))
    with ember.no_grad():
        param.zero_()  # 将参数置零
    assert not param.detach().numpy().any() and isinstance(param, nn.Parameter)
    param = nn.Parameter(ember.randn(3, 3))
    reshaped_param = param.view(9)  # 展平为 1D 张量
    assert reshaped_param.shape == (9,) and type(reshaped_param) is ember.Tensor
    assert param.mean().shape == () and "grad_fn=<MeanBackward0>" in printed(param.mean())
    param_clone = param.clone()
    param_detached = param.detach()
    assert param_clone.requires_grad and not param_detached.requires_grad
    assert type(param_clone) is ember.Tensor


def test_seed001_init_xavier_uniform():
    import ember.nn.init as init
    param = nn.Parameter(ember.randn(3, 3))
    assert init.xavier_uniform_(param) is param  # 使用 Xavier 初始化
    bound = np.sqrt(6 / (3 + 3))
    assert np.abs(param.detach().numpy()).max() <= bound and param.requires_grad and param.is_leaf


def test_seed001_vit_tokens():
    class ViT(nn.Module):
        def __init__(self, num_patches, dim):
            super(ViT, self).__init__()
            self.cls_token = nn.Parameter(ember.randn(1, 1, dim))
            self.pos_embedding = nn.Parameter(ember.randn(1, num_patches + 1, dim))

    vit = ViT(16, 8)
    assert [(n, tuple(p.shape)) for n, p in vit.named_parameters()] == [
        ("cls_token", (1, 1, 8)), ("pos_embedding", (1, 17, 8))]
    assert list(vit.state_dict()) == ["cls_token", "pos_embedding"]


def test_seed001_temporary_state_as_buffer():
    # "如果需要在模型中存储临时状态 ... 应使用普通 torch.Tensor 或 nn.Module.register_buffer()"
    class RNNState(nn.Module):
        def __init__(self):
            super().__init__()
            self.w = nn.Parameter(ember.randn(2))
            self.register_buffer("hidden", ember.zeros(2))
            self.cache = ember.zeros(2)

    m = RNNState()
    assert [n for n, _ in m.named_parameters()] == ["w"]
    assert list(m.state_dict()) == ["w", "hidden"]


# -- 002: structure, Tensor vs Parameter, manual updates ----------------------------------------
def test_seed002_parameter_fields():
    p = nn.Parameter(ember.randn(3, 4))
    assert printed(p).startswith("Parameter containing:\ntensor([[")
    assert p.grad is None and p.requires_grad and p.is_leaf and p.grad_fn is None
    assert type(p.data) is ember.Tensor and p.data.shape == (3, 4)


def test_seed002_tensor_vs_parameter():
    w1 = ember.randn(3, 3, requires_grad=True)
    w2 = nn.Parameter(ember.randn(3, 3))
    assert type(w1) is ember.Tensor  # prints as <class 'ember._tensor.Tensor'> (the class lives there)
    assert printed("w2 类型:", type(w2)) == "w2 类型: <class 'ember.nn.parameter.Parameter'>\n"
    # The seed claims Parameter carries ``_is_param=True``; PyTorch 2.x has no such attribute on either.
    assert hasattr(w1, "_is_param") == hasattr(torch.randn(1), "_is_param") is False
    assert hasattr(w2, "_is_param") == hasattr(torch.nn.Parameter(torch.randn(1)), "_is_param") is False


class MyModel002(nn.Module):
    def __init__(self):
        super().__init__()
        self.w_param = nn.Parameter(ember.randn(3, 3))  # 自动注册
        self.w_tensor = ember.randn(3, 3, requires_grad=True)  # 不会注册


def test_seed002_only_parameter_registered():
    model = MyModel002()
    params = list(model.parameters())
    assert len(params) == 1 and params[0] is model.w_param
    assert list(model._parameters) == ["w_param"]
    assert "w_tensor" in model.__dict__ and "w_param" not in model.__dict__


def test_seed002_setattr_registers_in_parameters_dict():
    class MyModel(nn.Module):
        def __init__(self):
            super().__init__()
            self.w = nn.Parameter(ember.randn(3, 3))  # 可学习参数

    model = MyModel()
    assert list(model._parameters.keys()) == ["w"] and model._parameters["w"] is model.w
    assert printed({k: v for k, v in model._parameters.items()}).startswith("{'w': Parameter containing:\ntensor(")
    assert [p is model.w for p in model.parameters()] == [True]


@pytest.mark.parametrize("style", ["data", "no_grad"])
def test_seed002_manual_update_by_reference(style):
    class MyModel(nn.Module):
        def __init__(self):
            super().__init__()
            self.w = nn.Parameter(ember.randn(3, 3))

    model = MyModel()
    before = model.w.detach().numpy().copy()
    params = list(model.parameters())  # what an optimizer keeps: references, not copies
    y = model.w.sum()
    y.backward()
    assert (model.w.grad.numpy() == 1).all()
    lr = 0.1
    for param in params:
        if param.grad is None:
            continue
        if style == "data":
            param.data -= lr * param.grad.data
        else:
            with ember.no_grad():
                param -= lr * param.grad
    np.testing.assert_allclose(model.w.detach().numpy(), before - 0.1, rtol=1e-6)
    assert model.w is params[0] and model.w.is_leaf and model.w.grad_fn is None
    model.zero_grad()
    assert model.w.grad is None


def test_seed002_optimizer_step_updates_the_model_through_references():
    """Seed 002 sections 2-3: SGD(model.parameters()) keeps the Parameter objects; step() changes
    them in place, so the model sees the new values; the simplified SGD loops it shows do the same."""
    class MyModel(nn.Module):
        def __init__(self):
            super().__init__()
            self.w = nn.Parameter(ember.randn(3, 3))  # 可学习参数

    model = MyModel()
    optimizer = ember.optim.SGD(model.parameters(), lr=0.1)
    assert optimizer.param_groups[0]["params"][0] is model.w  # a reference, not a copy
    before, storage = model.w.detach().numpy().copy(), model.w.data_ptr()
    y = model.w.sum()
    y.backward()
    optimizer.step()
    np.testing.assert_allclose(model.w.detach().numpy(), before - 0.1, rtol=1e-6)
    assert model.w.data_ptr() == storage and model.w.is_leaf and model.w.grad_fn is None

    lr = 0.1
    for param in optimizer.param_groups[0]["params"]:  # "SGD 的核心代码非常简单（简化版）"
        if param.grad is None:
            continue
        param.data -= lr * param.grad.data
    for p in optimizer.param_groups[0]["params"]:  # the section-3 version with add_(alpha=...)
        d_p = p.grad
        p.data.add_(d_p, alpha=-lr)
    np.testing.assert_allclose(model.w.detach().numpy(), before - 0.3, rtol=1e-6)
    assert next(model.parameters()) is model.w
    optimizer.zero_grad()
    assert model.w.grad is None


def test_seed002_update_without_no_grad_is_recorded():
    # "param -= lr * param.grad" outside no_grad: PyTorch refuses it on a leaf that requires grad.
    w = nn.Parameter(ember.randn(3))
    w.sum().backward()
    with pytest.raises(RuntimeError, match="a leaf Variable that requires grad is being used in an in-place"):
        w -= 0.1 * w.grad


# -- 003: CustomLayer, ExampleModule ------------------------------------------------------------------
class CustomLayer(nn.Module):
    def __init__(self, input_size, output_size):
        super(CustomLayer, self).__init__()
        # Defining a weight matrix as a Parameter
        self.weights = nn.Parameter(ember.randn(input_size, output_size))
        # Defining a bias vector as a Parameter
        self.bias = nn.Parameter(ember.zeros(output_size))


def test_seed003_custom_layer():
    layer = CustomLayer(4, 2)
    assert [n for n, _ in layer.named_parameters()] == ["weights", "bias"]
    assert all(p.requires_grad for p in layer.parameters())
    assert list(layer.state_dict()) == ["weights", "bias"]


class ExampleModule(nn.Module):
    def __init__(self):
        super(ExampleModule, self).__init__()
        self.param = nn.Parameter(ember.randn(5, requires_grad=True))
        self.tensor = ember.randn(5, requires_grad=True)


def test_seed003_example_module():
    model = ExampleModule()
    params = list(model.parameters())
    text = printed("Parameters:", params)
    assert text.startswith("Parameters: [Parameter containing:\ntensor([") and text.count("Parameter") == 2
    assert len(params) == 1 and params[0] is model.param
    assert printed("self.param requires grad:", model.param.requires_grad) == "self.param requires grad: True\n"
    assert printed("self.tensor requires grad:", model.tensor.requires_grad) == "self.tensor requires grad: True\n"
    # both get gradients ...
    (model.param * model.tensor).sum().backward()
    assert model.param.grad is not None and model.tensor.grad is not None
    # ... but only the registered one is saved with the model's state
    assert list(model.state_dict()) == ["param"]


# -- 004: M with one Parameter; M with a Parameter and a plain tensor ------------------------------
def test_seed004_parameter_signature_default():
    # The page's signature line says requires_grad=False; its own text and PyTorch say True.
    assert nn.Parameter(ember.randn(2)).requires_grad is True
    assert torch.nn.Parameter(torch.randn(2)).requires_grad is True
    assert nn.Parameter(ember.randn(2), requires_grad=False).requires_grad is False


def test_seed004_first_example():
    class M(nn.Module):
        def __init__(self):
            super().__init__()
            self.weights = nn.Parameter(ember.randn(2, 2))

        def forward(self, x):
            return x @ self.weights

    m = M()
    text = printed(list(m.parameters()))
    assert text.startswith("[Parameter containing:\ntensor([[") and text.endswith("]], requires_grad=True)]\n")
    assert m(ember.randn(3, 2)).shape == (3, 2)


def make_m(T):
    class M(T.nn.Module):
        def __init__(self):
            super().__init__()
            self.weights1 = T.nn.Parameter(T.randn(2, 2))
            self.weights2 = T.randn(2, 2, requires_grad=True)

        def forward(self, x):
            x = x @ self.weights1
            return x @ self.weights2

    return M()


def test_seed004_only_one_parameter():
    m = make_m(ember)
    params = list(m.parameters())
    assert len(params) == 1 and params[0] is m.weights1
    text = printed(params)
    assert text.count("Parameter containing:") == 1


def cross_entropy(T, outputs, labels):
    """CrossEntropyLoss over class dim 1 for (N, C, d) outputs, written with basic ops."""
    log_probs = T.log_softmax(outputs, 1)
    return -T.gather(log_probs, 1, labels.unsqueeze(1)).mean()


def train_seed004(T, w1, w2, x, y):
    """The seed's training loop; SGD(lr=0.1, momentum=0.9) written out (optimizers come later)."""
    m = make_m(T)
    with T.no_grad():
        m.weights1.copy_(T.tensor(w1))
        m.weights2.copy_(T.tensor(w2))
    params = list(m.parameters())
    momentum = [None] * len(params)
    data_x, data_y = T.tensor(x), T.tensor(y)
    history = []
    for epoch in range(2):
        inputs, labels = data_x, data_y
        for p in params:  # optimizer.zero_grad()
            p.grad = None
        outputs = m(inputs)
        history.append((tuple(labels.size()), tuple(outputs.size())))
        loss = cross_entropy(T, outputs, labels)
        loss.backward()
        with T.no_grad():  # optimizer.step()
            for i, p in enumerate(params):
                momentum[i] = p.grad.clone() if momentum[i] is None else momentum[i] * 0.9 + p.grad
                p -= 0.1 * momentum[i]
        history.append((m.weights1.detach().numpy().copy(), m.weights2.detach().numpy().copy(),
                        type(m.weights1).__name__, type(m.weights2).__name__))
    return history


def test_seed004_training_updates_only_the_parameter():
    rng = np.random.default_rng(0)
    w1 = rng.standard_normal((2, 2)).astype(np.float32)
    w2 = rng.standard_normal((2, 2)).astype(np.float32)
    x = rng.standard_normal((100, 2, 2)).astype(np.float32)
    y = np.ones((100, 2), dtype=np.int64)
    y[:, 1] = 0
    e_hist, t_hist = train_seed004(ember, w1, w2, x, y), train_seed004(torch, w1, w2, x, y)
    assert e_hist[0] == t_hist[0] == ((100, 2), (100, 2, 2))
    for step in (1, 3):
        e1, e2, e_type1, e_type2 = e_hist[step]
        t1, t2, t_type1, t_type2 = t_hist[step]
        np.testing.assert_allclose(e1, t1, rtol=1e-5, atol=1e-6)
        np.testing.assert_array_equal(e2, w2)  # the plain tensor is never updated
        np.testing.assert_array_equal(t2, w2)
        assert (e_type1, e_type2) == (t_type1, t_type2) == ("Parameter", "Tensor")
    assert not np.allclose(e_hist[3][0], w1)  # the Parameter did train
    # the seed's printout: the trained Parameter prints as one, the plain tensor does not
    m = make_m(ember)
    assert printed("weights1: ", m.weights1).startswith("weights1:  Parameter containing:\ntensor(")
    assert printed("weights2: ", m.weights2).startswith("weights2:  tensor(")


# -- containers (the 004 site's Containers pages) -------------------------------------------------------
def test_seed_containers_register_children():
    model = nn.Sequential(OrderedDict([("fc1", nn.Linear(2, 3)), ("fc2", nn.Linear(3, 1))]))
    assert [n for n, _ in model.named_parameters()] == ["fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"]
    layers = nn.ModuleList([nn.Linear(2, 2) for _ in range(3)])
    heads = nn.ModuleDict({"a": nn.Linear(2, 1)})
    plist = nn.ParameterList([nn.Parameter(ember.randn(2)) for _ in range(2)])
    pdict = nn.ParameterDict({"scale": nn.Parameter(ember.ones(1))})
    holder = nn.Module()
    holder.layers, holder.heads, holder.plist, holder.pdict = layers, heads, plist, pdict
    assert len(list(holder.parameters())) == 6 + 2 + 2 + 1
    # a Python list of modules is NOT registered: that is what ModuleList is for
    holder.plain_list = [nn.Linear(2, 2)]
    assert len(list(holder.parameters())) == 11


def _seed004_program(T, w1, w2, x, y):
    """004's training example nearly verbatim: CrossEntropyLoss, optim.SGD(lr=0.1, momentum=0.9)."""
    nn, optim = T.nn, T.optim
    m = make_m(T)
    with T.no_grad():
        m.weights1.copy_(T.tensor(w1))
        m.weights2.copy_(T.tensor(w2))
    criterion = nn.CrossEntropyLoss()
    optimizer = optim.SGD(m.parameters(), lr=0.1, momentum=0.9)
    data_x, data_y = T.tensor(x), T.tensor(y)
    trained = []
    for epoch in range(2):
        inputs, labels = data_x, data_y
        optimizer.zero_grad()
        outputs = m(inputs)
        loss = criterion(outputs, labels)
        loss.backward()
        optimizer.step()
        trained.append((m.weights1.detach().numpy().copy(), m.weights2.detach().numpy().copy()))
    return trained


def test_seed004_program_with_real_optimizer():
    """With ember's own CrossEntropyLoss and SGD: the Parameter trains exactly as in PyTorch, the
    plain tensor (not registered, so not given to the optimizer) never changes."""
    rng = np.random.default_rng(1)
    w1 = rng.standard_normal((2, 2)).astype(np.float32)
    w2 = rng.standard_normal((2, 2)).astype(np.float32)
    x = rng.standard_normal((100, 2, 2)).astype(np.float32)
    y = np.ones((100, 2), dtype=np.int64)
    y[:, 1] = 0
    ember_steps, torch_steps = _seed004_program(ember, w1, w2, x, y), _seed004_program(torch, w1, w2, x, y)
    for (e1, e2), (t1, t2) in zip(ember_steps, torch_steps):
        np.testing.assert_allclose(e1, t1, rtol=1e-5, atol=1e-6)
        np.testing.assert_array_equal(e2, w2)
        np.testing.assert_array_equal(t2, w2)
    assert not np.allclose(ember_steps[-1][0], w1)
