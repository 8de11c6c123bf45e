"""The seed documents' code examples that need only the core (Tensor, autograd, Parameter).

Each runs with ``torch`` replaced by ``ember`` and behaves as the text says. The examples
that need nn.Module and optim are tested with those issues.
"""
import copy
import pickle
import re

import ember
import ember.nn as nn


def test_002_parameter_attributes(capsys):
    p = nn.Parameter(ember.randn(3, 4))
    print(p)
    print("data:", p.data)
    print("grad:", p.grad)
    print("requires_grad:", p.requires_grad)
    print("is_leaf:", p.is_leaf)
    print("grad_fn:", p.grad_fn)
    out = capsys.readouterr().out
    assert re.match(r"Parameter containing:\ntensor\(\[\[.*\]\], requires_grad=True\)\n", out, re.S)
    assert "\ndata: tensor([[" in out and "requires_grad" not in out.split("data:")[1].split("grad:")[0]
    assert out.endswith("grad: None\nrequires_grad: True\nis_leaf: True\ngrad_fn: None\n")


def test_002_tensor_vs_result_attributes(capsys):
    x = ember.randn(2, 3, requires_grad=True)
    y = x * 2 + 1
    print("shape:", x.shape)
    print("dtype:", x.dtype)
    print("device:", x.device)
    print("requires_grad:", x.requires_grad)
    print("is_leaf:", x.is_leaf)
    print("grad:", x.grad)
    print("grad_fn:", x.grad_fn)
    print("is_leaf:", y.is_leaf)
    print("grad_fn:", y.grad_fn)
    out = capsys.readouterr().out
    assert out.startswith("shape: ember.Size([2, 3])\ndtype: ember.float32\ndevice: cpu\nrequires_grad: True\n"
                          "is_leaf: True\ngrad: None\ngrad_fn: None\nis_leaf: False\n")
    assert re.search(r"grad_fn: <AddBackward0 object at 0x[0-9a-f]+>\n$", out)


def test_002_parameter_written_as_tensor_subclass():
    class Parameter(ember.Tensor):
        def __new__(cls, data=None, requires_grad=True):
            return ember.Tensor._make_subclass(cls, data, requires_grad)

        def __repr__(self):
            return f"Parameter containing:\n{super().__repr__()}"

    data = ember.ones(2)
    p = Parameter(data)
    assert isinstance(p, ember.Tensor) and p.requires_grad and p.is_leaf
    assert repr(p) == "Parameter containing:\nParameter([1., 1.], requires_grad=True)"
    data[0] = 5.0  # _make_subclass shares the storage
    assert p[0].item() == 5.0


def test_002_types_and_is_param():
    w1 = ember.randn(3, 3, requires_grad=True)
    w2 = nn.Parameter(ember.randn(3, 3))
    assert str(type(w1)) == "<class 'ember.Tensor'>" or type(w1) is ember.Tensor
    assert str(type(w2)) == "<class 'ember.nn.parameter.Parameter'>"
    # The seed checks `_is_param`; PyTorch 2.x has no such attribute on either, and neither does ember.
    assert not hasattr(w1, "_is_param") and not hasattr(w2, "_is_param")


def test_002_in_place_updates_keep_the_object():
    """The three update forms of 002's optimizer explanation all change the Parameter in place."""
    lr = 0.1
    for form in ("data_sub_grad_data", "data_add_", "no_grad"):
        param = nn.Parameter(ember.ones(2, 2))
        ident, before = id(param), param.detach().clone()
        y = (param * 3).sum()
        y.backward()
        if form == "data_sub_grad_data":
            param.data -= lr * param.grad.data
        elif form == "data_add_":
            param.data.add_(param.grad, alpha=-lr)
        else:
            with ember.no_grad():
                param -= lr * param.grad
        assert id(param) == ident and isinstance(param, nn.Parameter) and param.is_leaf
        assert ember.allclose(param.detach(), before - 0.3)


def test_parameter_survives_deepcopy_and_pickle():
    p = nn.Parameter(ember.randn(2, 2))
    for q in (copy.deepcopy(p), pickle.loads(pickle.dumps(p))):
        assert type(q) is nn.Parameter and q.requires_grad
        assert ember.equal(q.detach(), p.detach())
    assert type(p * 2) is ember.Tensor and type(p.data) is ember.Tensor
