"""nn.Module: registration by type, traversal, conversion in place, state_dict, hooks, repr, copying.

Most tests build the same model in ember and in torch (``T`` is the library) and compare
what the two report: names, orders, error types and messages, values and gradients.
"""
import copy
import pickle
import re
from collections import OrderedDict

import numpy as np
import pytest

import ember
from tests.helpers import torch


def ember_text(message: str) -> str:
    return message.replace("torch.", "ember.").replace("torch ", "ember ")


def same_error(fn):
    """Run ``fn(T)`` on both libraries; both must raise the same type with the same message."""
    errors = []
    for lib in (ember, torch):
        with pytest.raises(Exception) as info:
            fn(lib)
        errors.append(info.value)
    e, t = errors
    assert type(e).__name__ == type(t).__name__, (e, t)
    assert str(e) == ember_text(str(t))
    return e


def make_net(T):
    """A small model with nested children, a shared parameter, buffers and a plain tensor attribute."""
    nn = T.nn

    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(4, 3)
            self.register_buffer("running", T.zeros(3))
            self.register_buffer("scratch", T.ones(2), persistent=False)
            self.scale = nn.Parameter(T.ones(()))

        def forward(self, x):
            return self.fc(x) * self.scale + self.running

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.block = Block()
            self.layers = nn.Sequential(nn.Linear(3, 3), nn.Linear(3, 2))
            self.tied = self.block.fc  # the same module twice
            self.plain = T.randn(2, requires_grad=True)  # not registered
            self.register_buffer("steps", T.tensor(0))

        def forward(self, x):
            return self.layers(self.block(x))

    return Net()


def copy_weights(e_model, t_model):
    """Give the torch model the ember model's parameter and buffer values."""
    t_state = t_model.state_dict()
    for name, value in e_model.state_dict().items():
        t_state[name].copy_(torch.from_numpy(value.numpy().copy()))


# -- registration ---------------------------------------------------------------------------
def test_parameter_registers_plain_tensor_does_not():
    m = make_net(ember)
    assert isinstance(m._modules["block"], ember.nn.Module)
    assert "plain" in m.__dict__ and "plain" not in m._parameters
    assert m.plain.requires_grad
    assert all(p is not m.plain for p in m.parameters())
    assert list(m.block._parameters) == ["scale"]
    assert list(m.block._buffers) == ["running", "scratch"]
    assert "fc" not in m.block.__dict__ and "scale" not in m.block.__dict__


def test_module_init_sets_fields_like_torch():
    e, t = ember.nn.Module(), torch.nn.Module()
    assert list(e.__dict__) == list(t.__dict__)
    assert e.training is True


@pytest.mark.parametrize("names", [("parameters", "named_parameters"), ("buffers", "named_buffers")])
def test_named_members_match_torch(names):
    e, t = make_net(ember), make_net(torch)
    plain, named = names
    assert [n for n, _ in getattr(e, named)()] == [n for n, _ in getattr(t, named)()]
    assert len(list(getattr(e, plain)())) == len(list(getattr(t, plain)()))
    assert [n for n, _ in getattr(e, named)(prefix="net", recurse=False)] == \
        [n for n, _ in getattr(t, named)(prefix="net", recurse=False)]
    assert [n for n, _ in getattr(e, named)(remove_duplicate=False)] == \
        [n for n, _ in getattr(t, named)(remove_duplicate=False)]


def test_shared_parameter_listed_once():
    m = make_net(ember)
    ids = [id(p) for p in m.parameters()]
    assert len(ids) == len(set(ids))
    names = [n for n, _ in m.named_parameters(remove_duplicate=False)]
    assert "tied.weight" in names and "block.fc.weight" in names


def test_modules_and_children_match_torch():
    e, t = make_net(ember), make_net(torch)
    assert [n for n, _ in e.named_modules()] == [n for n, _ in t.named_modules()]
    assert [n for n, _ in e.named_modules(remove_duplicate=False)] == \
        [n for n, _ in t.named_modules(remove_duplicate=False)]
    assert [n for n, _ in e.named_children()] == [n for n, _ in t.named_children()]
    assert [type(m).__name__ for m in e.modules()] == [type(m).__name__ for m in t.modules()]
    assert [type(m).__name__ for m in e.children()] == [type(m).__name__ for m in t.children()]


def test_get_submodule_parameter_buffer():
    m = make_net(ember)
    assert m.get_submodule("layers.1") is m.layers[1]
    assert m.get_submodule("") is m
    assert m.get_parameter("layers.0.bias") is m.layers[0].bias
    assert m.get_buffer("block.running") is m.block.running
    m.set_submodule("layers.0", ember.nn.Identity())
    assert isinstance(m.layers[0], ember.nn.Identity)


@pytest.mark.parametrize("call", [
    lambda m: m.get_submodule("block.nope"),
    lambda m: m.get_submodule("steps"),
    lambda m: m.get_parameter("block.nope"),
    lambda m: m.get_parameter("steps"),
    lambda m: m.get_buffer("block.scale"),
    lambda m: m.get_buffer("nope"),
    lambda m: m.nope,
])
def test_lookup_errors_match_torch(call):
    same_error(lambda T: call(make_net(T)))


def _bad_registrations():
    return [
        lambda T, m: m.register_parameter("a.b", None),
        lambda T, m: m.register_parameter("", None),
        lambda T, m: m.register_parameter("block", None),
        lambda T, m: m.register_parameter(1, None),
        lambda T, m: m.register_parameter("q", T.zeros(1)),
        lambda T, m: m.register_buffer("a.b", None),
        lambda T, m: m.register_buffer("", None),
        lambda T, m: m.register_buffer("block", None),
        lambda T, m: m.register_buffer("q", 3),
        lambda T, m: m.add_module("a.b", None),
        lambda T, m: m.add_module("", None),
        lambda T, m: m.add_module("steps", None),
        lambda T, m: m.add_module("q", 3),
        lambda T, m: m.add_module(3, None),
        lambda T, m: setattr(m.block.fc, "weight", T.zeros(3, 4)),
        lambda T, m: setattr(m.block.fc, "weight", 3),
        lambda T, m: setattr(m, "block", 3),
        lambda T, m: setattr(m, "steps", 3),
    ]


@pytest.mark.parametrize("call", _bad_registrations())
def test_registration_errors_match_torch(call):
    same_error(lambda T: call(T, make_net(T)))


def test_tensor_as_parameter_error_text():
    m = ember.nn.Linear(4, 3)
    with pytest.raises(TypeError, match=re.escape(
            "cannot assign 'ember.FloatTensor' as parameter 'weight' (ember.nn.Parameter or None expected)")):
        m.weight = ember.zeros(3, 4)
    assert isinstance(m.weight, ember.nn.Parameter)  # unchanged by the failed assignment


@pytest.mark.parametrize("call", [
    lambda T, m: setattr(m, "w", T.nn.Parameter(T.zeros(1))),
    lambda T, m: m.register_parameter("w", None),
    lambda T, m: m.register_buffer("w", None),
    lambda T, m: setattr(m, "child", T.nn.Identity()),
])
def test_registration_before_init_errors(call):
    def fn(T):
        class Early(T.nn.Module):
            def __init__(self):
                pass
        call(T, Early())
    same_error(fn)


def test_assign_none_and_reassign():
    m = ember.nn.Linear(4, 3)
    m.bias = None
    assert "bias" in m._parameters and m._parameters["bias"] is None
    assert [n for n, _ in m.named_parameters()] == ["weight"]
    m.bias = ember.nn.Parameter(ember.zeros(3))
    assert [n for n, _ in m.named_parameters()] == ["weight", "bias"]
    # a parameter slot takes only a Parameter or None, a module slot only a Module or None
    same_error(lambda T: setattr(T.nn.Linear(4, 3), "bias", T.nn.Identity()))
    seq = ember.nn.Sequential(ember.nn.Identity())
    seq.__dict__["_modules"]["0"] = None
    seq.add_module("x", None)
    assert list(seq._modules) == ["0", "x"] and list(seq.children()) == []
    # a plain attribute becomes a parameter when a Parameter is assigned to its name
    m.extra = ember.zeros(1)
    m.extra = ember.nn.Parameter(ember.zeros(1))
    assert "extra" not in m.__dict__ and "extra" in m._parameters


def test_buffer_assignment_routes_to_buffers():
    m = make_net(ember)
    new = ember.ones(3)
    m.block.running = new
    assert m.block._buffers["running"] is new
    m.block.running = None
    assert m.block._buffers["running"] is None
    assert "running" not in dict(m.named_buffers())


def test_buffer_class_registers_with_its_persistence():
    def build(T):
        m = T.nn.Module()
        m.x = T.nn.Buffer(T.ones(1), persistent=False)
        m.x = T.ones(3)  # stays a non-persistent buffer
        m.q = T.nn.Buffer(T.ones(1))
        m.register_buffer("zz", T.nn.Buffer(T.ones(1), persistent=False))  # the argument wins
        return sorted(m._non_persistent_buffers_set), list(m.state_dict()), [n for n, _ in m.named_buffers()]

    assert build(ember) == build(torch) == (["x"], ["q", "zz"], ["x", "q", "zz"])
    data = ember.ones(2, requires_grad=True) * 2
    buf = ember.nn.Buffer(data, persistent=False)
    assert buf is not data and buf.grad_fn is None and buf.requires_grad and not buf.persistent
    assert isinstance(buf, ember.nn.Buffer) and not isinstance(data, ember.nn.Buffer)
    assert type(buf) is ember.Tensor
    assert ember.nn.Buffer().shape == (0,)


@pytest.mark.parametrize("existing", ["param", "module", "plain"])
def test_buffer_class_over_other_attribute_errors_like_torch(existing):
    def fn(T):
        m = T.nn.Module()
        m.a = {"param": lambda: T.nn.Parameter(T.ones(1)), "module": T.nn.ReLU, "plain": lambda: 1}[existing]()
        m.a = T.nn.Buffer(T.ones(1))
    same_error(fn)


def test_buffer_class_before_init_errors_like_torch():
    def fn(T):
        class A(T.nn.Module):
            def __init__(self):
                self.x = T.nn.Buffer(T.ones(1))
        A()
    same_error(fn)


def test_delattr_and_dir():
    e = make_net(ember)
    assert {"block", "layers", "steps", "plain", "training", "forward", "state_dict"} <= set(dir(e))
    assert dir(e) == sorted(dir(e))
    del e.block.scale
    del e.steps
    del e.layers
    del e.plain
    assert "scale" not in e.block._parameters and "steps" not in e._buffers and "layers" not in e._modules
    assert not hasattr(e, "plain")


def test_forward_missing_error():
    same_error(lambda T: T.nn.Module()(1))


def test_init_rejects_arguments():
    same_error(lambda T: T.nn.Module(3))
    same_error(lambda T: T.nn.Module(foo=3))


# -- modes and grads ---------------------------------------------------------------------------
def test_train_eval_apply():
    m = make_net(ember)
    assert m.eval() is m
    assert not any(sub.training for sub in m.modules())
    m.train()
    assert all(sub.training for sub in m.modules())
    order, t_order = [], []
    assert m.apply(lambda sub: order.append(type(sub).__name__)) is m
    make_net(torch).apply(lambda sub: t_order.append(type(sub).__name__))
    assert order == t_order  # children first, self last
    same_error(lambda T: T.nn.Linear(2, 2).train("yes"))


def test_zero_grad_and_requires_grad_():
    m = ember.nn.Linear(3, 2)
    m(ember.randn(4, 3)).sum().backward()
    grad = m.weight.grad
    m.zero_grad(set_to_none=False)
    assert m.weight.grad is grad and not grad.numpy().any()
    m.zero_grad()
    assert m.weight.grad is None and m.bias.grad is None
    assert m.requires_grad_(False) is m
    assert not any(p.requires_grad for p in m.parameters())


# -- conversion in place ------------------------------------------------------------------------
def test_to_dtype_keeps_parameter_identity():
    m = make_net(ember)
    params = list(m.parameters())
    m(ember.randn(2, 4)).sum().backward()
    grad = m.block.fc.weight.grad
    assert m.to(ember.float64) is m
    assert [id(p) for p in m.parameters()] == [id(p) for p in params]
    assert all(p.dtype is ember.float64 and isinstance(p, ember.nn.Parameter) for p in m.parameters())
    assert m.block.fc.weight.grad is grad and grad.dtype is ember.float64
    assert m.block.running.dtype is ember.float64
    assert m.steps.dtype is ember.int64  # only floating point state changes dtype
    m.float()
    assert all(p.dtype is ember.float32 for p in m.parameters())
    m.half()
    assert m.block.fc.weight.dtype is ember.float16 and m.steps.dtype is ember.int64
    m.double()
    assert m.block.fc.bias.dtype is ember.float64
    m.type(ember.float32)
    assert m.steps.dtype is ember.float32  # type() converts everything
    m.to(ember.zeros(1, dtype=ember.float64))
    assert m.block.fc.weight.dtype is ember.float64
    assert m.to("cpu") is m and m.cpu() is m


def test_updates_after_to_reach_the_model():
    m = ember.nn.Linear(3, 2)
    held = list(m.parameters())  # what an optimizer would hold
    m.to(ember.float64)
    with ember.no_grad():
        held[0].fill_(1.5)
    assert float(m.weight.sum()) == pytest.approx(9.0)
    assert m(ember.ones(1, 3, dtype=ember.float64)).dtype is ember.float64


def test_to_integer_dtype_error():
    same_error(lambda T: T.nn.Linear(2, 2).to(T.int64))


def test_type_to_integer_with_grad_parameters_errors_before_changing_anything():
    for lib in (ember, torch):
        m = lib.nn.Sequential(lib.nn.Linear(1, 1), lib.nn.BatchNorm1d(1))
        with pytest.raises(RuntimeError, match="requires gradients must be floating point"):
            m.type(lib.int32)
        assert [str(t.dtype).split(".")[-1] for t in m.state_dict().values()] == \
            ["float32"] * 6 + ["int64"]
    m = ember.nn.Linear(2, 2).requires_grad_(False)
    m.type(ember.int32)  # allowed once nothing requires grad, as in PyTorch
    assert m.weight.dtype is ember.int32 and isinstance(m.weight, ember.nn.Parameter)


# -- state_dict ----------------------------------------------------------------------------------
def test_state_dict_keys_and_metadata_match_torch():
    e, t = make_net(ember), make_net(torch)
    es, ts = e.state_dict(), t.state_dict()
    assert isinstance(es, OrderedDict)
    assert list(es) == list(ts)
    assert es._metadata == ts._metadata
    assert list(e.state_dict(prefix="p.")) == list(t.state_dict(prefix="p."))


def test_state_dict_values_detached_sharing_storage():
    m = ember.nn.Linear(3, 2)
    sd = m.state_dict()
    assert type(sd["weight"]) is ember.Tensor and not sd["weight"].requires_grad
    with ember.no_grad():
        m.weight.fill_(2.0)
    assert (sd["weight"].numpy() == 2.0).all()
    kept = m.state_dict(keep_vars=True)
    assert kept["weight"] is m.weight


def test_load_state_dict_in_place_round_trip():
    source, target = make_net(ember), make_net(ember)
    weight = target.block.fc.weight
    result = target.load_state_dict(source.state_dict())
    assert repr(result) == "<All keys matched successfully>"
    assert result.missing_keys == [] and result.unexpected_keys == []
    assert target.block.fc.weight is weight
    np.testing.assert_array_equal(weight.detach().numpy(), source.block.fc.weight.detach().numpy())
    x = ember.randn(5, 4)
    np.testing.assert_allclose(target(x).detach().numpy(), source(x).detach().numpy())


def test_load_from_torch_values_gives_torch_outputs():
    e, t = make_net(ember), make_net(torch)
    e.load_state_dict({k: ember.tensor(v.numpy()) for k, v in t.state_dict().items()})
    x = np.random.default_rng(0).standard_normal((5, 4)).astype(np.float32)
    np.testing.assert_allclose(e(ember.tensor(x)).detach().numpy(), t(torch.tensor(x)).detach().numpy(),
                               rtol=1e-5, atol=1e-6)


def _broken_state(T, model):
    sd = model.state_dict()
    sd["block.fc.weight"] = T.zeros(5, 4)
    del sd["layers.1.bias"]
    sd["extra"] = T.zeros(1)
    sd["layers.0.nope"] = T.zeros(1)
    sd["block.scale"] = 3
    return sd


def test_load_state_dict_error_lists_every_problem_like_torch():
    def fn(T):
        model = make_net(T)
        model.load_state_dict(_broken_state(T, model))
    error = same_error(fn)
    assert str(error).startswith("Error(s) in loading state_dict for Net:\n\tMissing key(s) in state_dict: "
                                 "\"layers.1.bias\". \n\tUnexpected key(s) in state_dict: ")
    assert "ember.Size([5, 4])" in str(error)


def test_load_state_dict_strict_false_reports_keys():
    e, t = make_net(ember), make_net(torch)
    es, ts = e.state_dict(), t.state_dict()
    for sd, lib in ((es, ember), (ts, torch)):
        del sd["layers.1.bias"]
        sd["extra.thing"] = lib.zeros(1)
    er, tr = e.load_state_dict(es, strict=False), t.load_state_dict(ts, strict=False)
    assert er.missing_keys == tr.missing_keys and er.unexpected_keys == tr.unexpected_keys
    assert repr(er) == repr(tr)
    # a size mismatch is an error even when not strict
    same_error(lambda T: T.nn.Linear(4, 2).load_state_dict({"weight": T.zeros(3, 4)}, strict=False))


def test_load_state_dict_not_a_mapping():
    same_error(lambda T: T.nn.Linear(2, 2).load_state_dict([1]))


def test_load_state_dict_failure_changes_nothing_before_raising():
    m = ember.nn.Linear(4, 2)
    before = m.weight.detach().numpy().copy()
    with pytest.raises(RuntimeError):
        m.load_state_dict({"weight": ember.zeros(3, 4), "bias": ember.zeros(2)})
    np.testing.assert_array_equal(m.weight.detach().numpy(), before)


def test_load_state_dict_assign_and_dtype_cast():
    m = ember.nn.Linear(2, 2)
    new_weight = ember.ones(2, 2, dtype=ember.float64)
    m.load_state_dict({"weight": new_weight, "bias": ember.zeros(2)}, assign=True)
    assert isinstance(m.weight, ember.nn.Parameter) and m.weight.requires_grad
    assert m.weight.dtype is ember.float64
    m2 = ember.nn.Linear(2, 2)
    weight = m2.weight
    m2.load_state_dict({"weight": ember.ones(2, 2, dtype=ember.float64), "bias": ember.zeros(2)})
    assert m2.weight is weight and weight.dtype is ember.float32  # copied and cast in place


def test_load_state_dict_scalar_from_one_element():
    m = make_net(ember)
    sd = m.state_dict()
    sd["block.scale"] = ember.tensor([4.0])
    m.load_state_dict(sd)
    assert float(m.block.scale) == 4.0


def test_subclass_overrides_state_dict_hooks():
    class Renamed(ember.nn.Linear):
        def _save_to_state_dict(self, destination, prefix, keep_vars):
            super()._save_to_state_dict(destination, prefix, keep_vars)
            destination[prefix + "w_old"] = destination.pop(prefix + "weight")

        def _load_from_state_dict(self, state_dict, prefix, *args):
            if prefix + "w_old" in state_dict:
                state_dict[prefix + "weight"] = state_dict.pop(prefix + "w_old")
            super()._load_from_state_dict(state_dict, prefix, *args)

    outer = ember.nn.Sequential(Renamed(2, 2))
    sd = outer.state_dict()
    assert list(sd) == ["0.bias", "0.w_old"]
    assert repr(ember.nn.Sequential(Renamed(2, 2)).load_state_dict(sd)) == "<All keys matched successfully>"


def test_extra_state_round_trip():
    class WithExtra(ember.nn.Module):
        def __init__(self):
            super().__init__()
            self.counter = 7

        def get_extra_state(self):
            return {"counter": self.counter}

        def set_extra_state(self, state):
            self.counter = state["counter"]

    sd = WithExtra().state_dict()
    assert list(sd) == ["_extra_state"]
    other = WithExtra()
    other.counter = 0
    other.load_state_dict(sd)
    assert other.counter == 7


def test_state_dict_hooks():
    m = ember.nn.Linear(2, 2)
    calls = []
    handle = m.register_state_dict_post_hook(lambda mod, sd, prefix, meta: calls.append(list(sd)))
    m.state_dict()
    handle.remove()
    m.state_dict()
    assert calls == [["weight", "bias"]]


def test_state_dict_post_hook_must_return_none_private_hook_may_replace():
    def fn(T):
        m = T.nn.Linear(1, 1)
        m.register_state_dict_post_hook(lambda mod, sd, prefix, meta: {"replaced": T.ones(1)})
        m.state_dict()
    same_error(fn)
    for T in (ember, torch):
        m = T.nn.Linear(1, 1)
        m._register_state_dict_hook(lambda mod, sd, prefix, meta: {"replaced": sd["bias"]})
        assert list(m.state_dict()) == ["replaced"]

        def drop_bias(mod, sd, prefix, meta):
            del sd[prefix + "bias"]

        m = T.nn.Linear(1, 1)
        m.register_state_dict_post_hook(drop_bias)
        assert list(m.state_dict()) == ["weight"]


# -- hooks ------------------------------------------------------------------------------------
def test_forward_hooks_modify_inputs_and_outputs():
    m = ember.nn.Linear(2, 2)
    h1 = m.register_forward_pre_hook(lambda mod, args: (args[0] * 0,))
    h2 = m.register_forward_hook(lambda mod, args, out: out + 1)
    out = m(ember.ones(1, 2))
    np.testing.assert_allclose(out.detach().numpy(), (m.bias + 1).detach().numpy()[None])
    h1.remove()
    h2.remove()
    assert not m._forward_pre_hooks and not m._forward_hooks
    np.testing.assert_allclose(m(ember.zeros(1, 2)).detach().numpy(), m.bias.detach().numpy()[None])


def test_forward_hooks_with_kwargs_and_prepend():
    class Scale(ember.nn.Module):
        def forward(self, x, *, factor=1.0):
            return x * factor

    m = Scale()
    order = []
    m.register_forward_pre_hook(lambda mod, args, kwargs: (args, {"factor": 3.0}), with_kwargs=True)
    m.register_forward_hook(lambda mod, args, kwargs, out: order.append(("kw", kwargs["factor"])),
                            with_kwargs=True)
    m.register_forward_hook(lambda mod, args, out: order.append("first"), prepend=True)
    assert float(m(ember.tensor(2.0))) == 6.0
    assert order == ["first", ("kw", 3.0)]
    m2 = Scale()
    m2.register_forward_pre_hook(lambda mod, args, kwargs: 5, with_kwargs=True)
    with pytest.raises(RuntimeError, match="forward pre-hook must return None or a tuple of"):
        m2(ember.tensor(1.0))


def test_always_call_hook_runs_when_forward_raises():
    m = ember.nn.Linear(4, 3)
    calls = []
    m.register_forward_hook(lambda mod, args, out: calls.append("always"), always_call=True)
    m.register_forward_hook(lambda mod, args, out: calls.append("normal"))
    with pytest.raises(RuntimeError, match="mat1 and mat2 shapes cannot be multiplied"):
        m(ember.zeros(2, 5))
    assert calls == ["always"]
    m(ember.zeros(2, 4))
    assert calls == ["always", "always", "normal"]


def _run_backward_hooks(T, replace):
    nn = T.nn
    lin = nn.Linear(3, 2)
    with T.no_grad():
        lin.weight.copy_(T.tensor(np.arange(6.0).reshape(2, 3)))
        lin.bias.copy_(T.tensor([0.5, -0.5]))
    seen = []

    def hook(mod, grad_input, grad_output):
        seen.append([g.numpy().copy() for g in grad_input + grad_output])
        if replace:
            return (grad_input[0] * 2,)

    lin.register_full_backward_hook(hook)
    lin.register_full_backward_pre_hook(lambda mod, go: seen.append([go[0].numpy().copy()]))
    x = T.tensor(np.arange(6.0).reshape(2, 3), dtype=T.float32, requires_grad=True)
    (lin(x) * T.tensor([[1.0, 2.0], [3.0, 4.0]])).sum().backward()
    return seen, x.grad.numpy().copy(), lin.weight.grad.numpy().copy()


@pytest.mark.parametrize("replace", [False, True])
def test_full_backward_hook_matches_torch(replace):
    e_seen, e_grad, e_wgrad = _run_backward_hooks(ember, replace)
    t_seen, t_grad, t_wgrad = _run_backward_hooks(torch, replace)
    assert len(e_seen) == len(t_seen) == 2
    for e_list, t_list in zip(e_seen, t_seen):
        for a, b in zip(e_list, t_list):
            np.testing.assert_allclose(a, b)
    np.testing.assert_allclose(e_grad, t_grad)
    np.testing.assert_allclose(e_wgrad, t_wgrad)


def test_full_backward_hook_without_input_grad():
    m = ember.nn.Linear(3, 2)
    seen = []
    handle = m.register_full_backward_hook(lambda mod, gi, go: seen.append((gi, go)))
    with pytest.warns(UserWarning, match="Full backward hook is firing"):
        m(ember.ones(1, 3)).sum().backward()
    assert seen[0][0] == (None,) and seen[0][1][0].shape == (1, 2)
    handle.remove()
    m(ember.ones(1, 3)).sum().backward()
    assert len(seen) == 1


def test_full_backward_hook_reports_zeros_for_inputs_without_grad():
    def run(T):
        class Mul(T.nn.Module):
            def forward(self, a, b, scale, c):
                return a * b * scale

        m = Mul()
        seen = []
        m.register_full_backward_hook(lambda mod, gi, go: seen.append(
            [None if g is None else g.detach().numpy().tolist() for g in gi]))
        b = T.tensor([[1.0, 2.0]], requires_grad=True)
        m(T.tensor([[3.0, 4.0]]), b, 2.0, T.ones(3)).sum().backward()  # a and c do not require grad
        m(b, T.tensor([[3.0, 4.0]]), 2.0, T.ones(3, requires_grad=True)).sum().backward()  # c unused
        return seen

    assert run(ember) == run(torch) == [[[[0.0, 0.0]], [[6.0, 8.0]], None, [0.0, 0.0, 0.0]],
                                        [[[6.0, 8.0]], [[0.0, 0.0]], None, [0.0, 0.0, 0.0]]]


def test_backward_hook_wrong_count_error():
    m = ember.nn.Linear(3, 2)
    m.register_full_backward_hook(lambda mod, gi, go: (gi[0], gi[0]))
    with pytest.raises(RuntimeError, match="Backward hook returned an invalid number of grad_input, got 2, "
                                           "but expected 1"):
        m(ember.ones(1, 3, requires_grad=True)).sum().backward()


# -- repr, copying ------------------------------------------------------------------------------
def test_repr_matches_torch():
    e, t = make_net(ember), make_net(torch)
    assert repr(e) == repr(t).replace("torch.", "ember.")

    class WithExtra(ember.nn.Module):
        def extra_repr(self):
            return "a=1\nb=2"

    assert repr(WithExtra()) == "WithExtra(\n  a=1\n  b=2\n)"


def test_deepcopy_keeps_parameters_and_sharing():
    m = make_net(ember)
    m(ember.randn(2, 4)).sum().backward()
    c = copy.deepcopy(m)
    assert c.tied is c.block.fc and c.block.fc is not m.block.fc
    assert all(isinstance(p, ember.nn.Parameter) for p in c.parameters())
    for (n1, p1), (n2, p2) in zip(m.named_parameters(), c.named_parameters()):
        assert n1 == n2 and p1 is not p2
        np.testing.assert_array_equal(p1.detach().numpy(), p2.detach().numpy())
    with ember.no_grad():
        c.block.fc.weight.fill_(0.0)
    assert m.block.fc.weight.detach().numpy().any()
    assert list(c.state_dict()) == list(m.state_dict())


def test_pickle_round_trip():
    m = ember.nn.Sequential(ember.nn.Linear(3, 2), ember.nn.Flatten())
    m.register_buffer("counter", ember.tensor([1, 2]))
    m.eval()
    c = pickle.loads(pickle.dumps(m))
    assert repr(c) == repr(m) and not c.training
    assert isinstance(c[0].weight, ember.nn.Parameter) and c[0].weight.requires_grad
    np.testing.assert_array_equal(c[0].weight.detach().numpy(), m[0].weight.detach().numpy())
    assert c.counter.tolist() == [1, 2]
    x = ember.randn(4, 3)
    np.testing.assert_array_equal(c(x).detach().numpy(), m(x).detach().numpy())
