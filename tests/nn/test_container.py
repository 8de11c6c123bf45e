"""Containers: Sequential, ModuleList, ModuleDict, ParameterList, ParameterDict against torch."""
from collections import OrderedDict

import numpy as np
import pytest

import ember
from tests.helpers import torch
from tests.nn.test_module import same_error


def layer_names(container) -> list:
    """Class names of the children, in order: what list-like container operations are compared by."""
    return [type(m).__name__ for m in container]


def three(T):
    return [T.nn.Identity(), T.nn.Flatten(), T.nn.Linear(2, 2)]


def torch_repr(module) -> str:
    return repr(module).replace("torch.", "ember.")


# -- Sequential --------------------------------------------------------------------------------
def test_sequential_forward_matches_torch():
    e = ember.nn.Sequential(ember.nn.Linear(4, 3), ember.nn.Linear(3, 2))
    t = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.Linear(3, 2))
    t.load_state_dict({k: torch.from_numpy(v.numpy().copy()) for k, v in e.state_dict().items()})
    x = np.random.default_rng(0).standard_normal((5, 4)).astype(np.float32)
    np.testing.assert_allclose(e(ember.tensor(x)).detach().numpy(), t(torch.tensor(x)).detach().numpy(),
                               rtol=1e-5, atol=1e-6)
    assert list(e.state_dict()) == ["0.weight", "0.bias", "1.weight", "1.bias"]


def test_sequential_from_ordered_dict():
    e = ember.nn.Sequential(OrderedDict(first=ember.nn.Linear(2, 3), act=ember.nn.Identity()))
    t = torch.nn.Sequential(OrderedDict(first=torch.nn.Linear(2, 3), act=torch.nn.Identity()))
    assert repr(e) == torch_repr(t)
    assert list(e.state_dict()) == list(t.state_dict())
    assert e.first is e[0]


@pytest.mark.parametrize("op", [
    lambda s: s[-1], lambda s: s[1], lambda s: s[0:2], lambda s: s[::-1], lambda s: s[5:],
])
def test_sequential_indexing(op):
    e, t = ember.nn.Sequential(*three(ember)), torch.nn.Sequential(*three(torch))
    re_, rt = op(e), op(t)
    if isinstance(rt, torch.nn.Sequential):
        assert type(re_) is ember.nn.Sequential
        assert repr(re_) == torch_repr(rt)
    else:
        assert type(re_).__name__ == type(rt).__name__


@pytest.mark.parametrize("op", [
    lambda T, s: s.append(T.nn.Identity()),
    lambda T, s: s.insert(1, T.nn.Identity()),
    lambda T, s: s.insert(-1, T.nn.Identity()),
    lambda T, s: s.insert(3, T.nn.Identity()),
    lambda T, s: s.extend([T.nn.Identity(), T.nn.Flatten()]),
    lambda T, s: s.pop(1),
    lambda T, s: s.pop(-1),
    lambda T, s: s.__delitem__(0),
    lambda T, s: s.__delitem__(slice(0, 2)),
    lambda T, s: s.__setitem__(-1, T.nn.Identity()),
    lambda T, s: s.__iadd__(T.nn.Sequential(T.nn.Identity())),
    lambda T, s: s.__imul__(2),
])
def test_sequential_mutation_matches_torch(op):
    e, t = ember.nn.Sequential(*three(ember)), torch.nn.Sequential(*three(torch))
    op(ember, e)
    op(torch, t)
    assert repr(e) == torch_repr(t)
    assert list(e._modules) == list(t._modules)
    assert len(e) == len(t)


def test_sequential_add_mul():
    e, t = ember.nn.Sequential(*three(ember)), torch.nn.Sequential(*three(torch))
    assert repr(e + e) == torch_repr(t + t)
    assert repr(e * 2) == torch_repr(t * 2)
    assert repr(2 * e) == torch_repr(2 * t)
    doubled = e * 2
    assert doubled[0] is doubled[3]  # repetition reuses the same modules


@pytest.mark.parametrize("op", [
    lambda T, s: s[5], lambda T, s: s[-4], lambda T, s: s["a"], lambda T, s: s + 3, lambda T, s: s * 0,
    lambda T, s: s * 1.5, lambda T, s: s.insert(5, T.nn.Identity()), lambda T, s: s.insert(0, 3),
    lambda T, s: s.append(3),
])
def test_sequential_errors(op):
    same_error(lambda T: op(T, T.nn.Sequential(*three(T))))


def test_sequential_dir_hides_indices():
    s = ember.nn.Sequential(*three(ember))
    assert "0" not in dir(s) and "append" in dir(s)


# -- ModuleList ----------------------------------------------------------------------------------
@pytest.mark.parametrize("op", [
    lambda T, m: m.append(T.nn.Identity()),
    lambda T, m: m.extend([T.nn.Identity(), T.nn.Flatten()]),
    lambda T, m: m.insert(1, T.nn.Linear(3, 3)),
    lambda T, m: m.pop(0),
    lambda T, m: m.__delitem__(slice(1, None)),
    lambda T, m: m.__delitem__(-1),
    lambda T, m: m.__setitem__(0, T.nn.Flatten()),
    lambda T, m: m.__iadd__([T.nn.Identity()]),
])
def test_module_list_mutation_matches_torch(op):
    e, t = ember.nn.ModuleList(three(ember)), torch.nn.ModuleList(three(torch))
    op(ember, e)
    op(torch, t)
    assert repr(e) == torch_repr(t)
    assert list(e._modules) == list(t._modules)


def test_module_list_indexing_and_parameters():
    e = ember.nn.ModuleList(ember.nn.Linear(2, 2) for _ in range(3))
    assert isinstance(e[1:], ember.nn.ModuleList) and len(e[1:]) == 2
    assert e[-1] is e[2]
    assert len(list(e.parameters())) == 6
    assert [n for n, _ in e.named_parameters()][:2] == ["0.weight", "0.bias"]
    combined = e + [ember.nn.Identity()]
    assert isinstance(combined, ember.nn.ModuleList) and len(combined) == 4


def test_module_list_repr_groups_repeats():
    e = ember.nn.ModuleList([ember.nn.Linear(2, 2) for _ in range(3)] + [ember.nn.Identity()])
    t = torch.nn.ModuleList([torch.nn.Linear(2, 2) for _ in range(3)] + [torch.nn.Identity()])
    assert repr(e) == torch_repr(t)
    assert repr(ember.nn.ModuleList()) == "ModuleList()"
    nested_e = ember.nn.ModuleList([ember.nn.Sequential(ember.nn.Linear(1, 1)) for _ in range(2)])
    nested_t = torch.nn.ModuleList([torch.nn.Sequential(torch.nn.Linear(1, 1)) for _ in range(2)])
    assert repr(nested_e) == torch_repr(nested_t)


@pytest.mark.parametrize("op", [
    lambda T, m: m[3], lambda T, m: m[-4], lambda T, m: m.extend(3), lambda T, m: m(1),
    lambda T, m: m.append(3),
])
def test_module_list_errors(op):
    same_error(lambda T: op(T, T.nn.ModuleList(three(T))))


# -- ModuleDict ----------------------------------------------------------------------------------
def test_module_dict_api_matches_torch():
    def build(T):
        d = T.nn.ModuleDict({"b": T.nn.Identity(), "a": T.nn.Linear(1, 2)})
        d["c"] = T.nn.Flatten()
        d.update([("z", T.nn.Identity())])
        popped = d.pop("b")
        return d, popped

    (e, ep), (t, tp) = build(ember), build(torch)
    assert repr(e) == torch_repr(t)
    assert list(e.keys()) == list(t.keys()) == list(e)
    assert type(ep).__name__ == type(tp).__name__
    assert "a" in e and "b" not in e and len(e) == len(t)
    assert [type(v).__name__ for v in e.values()] == [type(v).__name__ for v in t.values()]
    assert [k for k, _ in e.items()] == [k for k, _ in t.items()]
    assert list(e.state_dict()) == list(t.state_dict())
    del e["a"]
    e.clear()
    assert len(e) == 0


@pytest.mark.parametrize("op", [
    lambda T, d: d["missing"], lambda T, d: d.update(3), lambda T, d: d.update([(1,)]),
    lambda T, d: d.update([3]), lambda T, d: d.__setitem__("x", 3),
])
def test_module_dict_errors(op):
    same_error(lambda T: op(T, T.nn.ModuleDict({"a": T.nn.Identity()})))


# -- ParameterList / ParameterDict -----------------------------------------------------------------
def test_parameter_list_wraps_tensors():
    t0 = ember.randn(3, 4)
    p1 = ember.nn.Parameter(ember.randn(2, dtype=ember.float64))
    pl = ember.nn.ParameterList([t0, p1, 5])
    assert isinstance(pl[0], ember.nn.Parameter) and pl[0].requires_grad
    assert pl[1] is p1 and pl[2] == 5
    assert len(pl) == 3 and len(list(pl.parameters())) == 2
    assert [n for n, _ in pl.named_parameters()] == ["0", "1"]
    pl.append(ember.zeros(1))
    pl[0] = ember.ones(3, 4)
    assert isinstance(pl[0], ember.nn.Parameter) and len(pl) == 4
    assert isinstance(pl[1:3], ember.nn.ParameterList) and pl[1:3][0] is p1
    assert list(pl.state_dict()) == ["0", "1", "3"]


def test_parameter_list_repr_matches_torch():
    def build(T):
        return T.nn.ParameterList([T.zeros(3, 4), T.nn.Parameter(T.zeros(2, dtype=T.float64)), 5, T.zeros(())])

    assert repr(build(ember)) == torch_repr(build(torch))
    assert repr(ember.nn.ParameterList([ember.zeros(3, 4)])) == torch_repr(torch.nn.ParameterList([torch.zeros(3, 4)]))
    assert repr(ember.nn.ParameterList()) == "ParameterList()"


@pytest.mark.parametrize("op", [
    lambda T, p: p[3], lambda T, p: p(1), lambda T, p: p.extend(T.zeros(2)), lambda T, p: p.extend(3),
])
def test_parameter_list_errors(op):
    same_error(lambda T: op(T, T.nn.ParameterList([T.zeros(1), T.zeros(2)])))


def test_parameter_dict_api_matches_torch():
    def build(T):
        d = T.nn.ParameterDict({"b": T.zeros(3), "a": T.nn.Parameter(T.ones(2, 2)), "s": "text"})
        d["c"] = T.zeros(1, dtype=T.float64)
        d.update(OrderedDict(z=T.zeros(2), y=T.zeros(1)))
        d.setdefault("w", T.zeros(4))
        return d

    e, t = build(ember), build(torch)
    assert repr(e) == torch_repr(t)
    assert list(e.keys()) == list(t.keys())  # a plain dict is added in sorted order, as torch does
    assert [n for n, _ in e.named_parameters()] == [n for n, _ in t.named_parameters()]
    assert isinstance(e["c"], ember.nn.Parameter)
    assert e.get("nope", 1) == 1 and "a" in e
    assert e.pop("b").shape == (3,) and "b" not in e
    assert e.popitem()[0] == "w"
    merged = e | ember.nn.ParameterDict({"q": ember.zeros(1)})
    assert "q" in merged and "q" not in e
    assert list(reversed(e))[0] == list(e.keys())[-1]
    e.clear()
    assert len(e) == 0


@pytest.mark.parametrize("op", [
    lambda T, d: d[1], lambda T, d: d["missing"], lambda T, d: d(1), lambda T, d: d.update(3),
    lambda T, d: d.update([(1, 2, 3)]),
])
def test_parameter_dict_errors(op):
    same_error(lambda T: op(T, T.nn.ParameterDict({"a": T.zeros(1)})))


def test_containers_register_for_optimizers():
    model = ember.nn.Module()
    model.blocks = ember.nn.ModuleList([ember.nn.Linear(2, 2)])
    model.heads = ember.nn.ModuleDict({"cls": ember.nn.Linear(2, 3)})
    model.extras = ember.nn.ParameterList([ember.zeros(2)])
    model.table = ember.nn.ParameterDict({"emb": ember.zeros(4)})
    assert [n for n, _ in model.named_parameters()] == [
        "blocks.0.weight", "blocks.0.bias", "heads.cls.weight", "heads.cls.bias", "extras.0", "table.emb"]
