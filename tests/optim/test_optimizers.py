"""Optimizers against PyTorch: the same weights and gradients, parameters compared after every step."""
from __future__ import annotations

import copy
import itertools
import pickle

import numpy as np
import pytest

import ember
from ember import optim

torch = pytest.importorskip("torch")

SHAPES = [(3, 4), (5,), (), (2, 0)]
STEPS = 5


def _tol(dtype):
    return dict(rtol=1e-5, atol=1e-6) if dtype == np.float32 else dict(rtol=1e-10, atol=1e-12)


def _make_params(dtype, seed=0, noncontiguous=True):
    """The same parameter values in ember and torch; the last one a transposed (non-contiguous) view."""
    rng = np.random.default_rng(seed)
    arrays = [rng.uniform(-1, 1, size=s).astype(dtype) for s in SHAPES]
    e_params = [ember.nn.Parameter(ember.tensor(a)) for a in arrays]
    t_params = [torch.nn.Parameter(torch.tensor(a)) for a in arrays]
    if noncontiguous:
        a = rng.uniform(-1, 1, size=(4, 3)).astype(dtype)
        e_params.append(ember.nn.Parameter(ember.tensor(a).t()))
        t_params.append(torch.nn.Parameter(torch.tensor(a).t()))
        assert not e_params[-1].is_contiguous()
    return e_params, t_params


def _set_grads(e_params, t_params, rng, step, skip_one=True):
    """Random gradients, identical on both sides; one parameter has no gradient on odd steps."""
    for i, (e, t) in enumerate(zip(e_params, t_params)):
        if skip_one and i == 1 and step % 2 == 1:
            e.grad, t.grad = None, None
            continue
        g = rng.uniform(-1, 1, size=tuple(e.shape)).astype(e.numpy(force=True).dtype)
        e.grad = ember.tensor(g)
        t.grad = torch.tensor(g)


def _compare(e_params, t_params, dtype, step):
    for i, (e, t) in enumerate(zip(e_params, t_params)):
        np.testing.assert_allclose(e.detach().numpy(), t.detach().numpy(), err_msg=f"param {i} after step {step}",
                                   **_tol(dtype))


def run_against_torch(name, kwargs, dtype=np.float32, steps=STEPS, groups=False):
    e_params, t_params = _make_params(dtype)
    if groups:  # two groups, the second with its own lr
        e_arg = [{"params": e_params[:2]}, {"params": e_params[2:], "lr": 0.05}]
        t_arg = [{"params": t_params[:2]}, {"params": t_params[2:], "lr": 0.05}]
    else:
        e_arg, t_arg = e_params, t_params
    e_opt = getattr(optim, name)(e_arg, **kwargs)
    t_opt = getattr(torch.optim, name)(t_arg, **kwargs)
    rng = np.random.default_rng(1)
    for step in range(steps):
        _set_grads(e_params, t_params, rng, step)
        e_opt.step()
        t_opt.step()
        _compare(e_params, t_params, dtype, step)
    return e_opt, t_opt, e_params, t_params


def _grid(**options):
    """Every combination of the given option values, as kwargs dicts."""
    keys = list(options)
    return [dict(zip(keys, values)) for values in itertools.product(*options.values())]


CASES = (
    [("SGD", dict(lr=0.1, **kw)) for kw in _grid(momentum=[0, 0.9], dampening=[0, 0.3], weight_decay=[0, 0.1],
                                                  maximize=[False, True])]
    + [("SGD", dict(lr=0.1, momentum=0.9, nesterov=True, **kw)) for kw in _grid(weight_decay=[0, 0.1],
                                                                                  maximize=[False, True])]
    + [("Adam", dict(lr=0.01, **kw)) for kw in _grid(weight_decay=[0, 0.1], amsgrad=[False, True],
                                                     maximize=[False, True], decoupled_weight_decay=[False, True])]
    + [("Adam", dict(lr=0.01, betas=(0.3, 0.5), eps=1e-3))]  # lerp's other branch (weight >= 0.5)
    + [("AdamW", dict(lr=0.01, **kw)) for kw in _grid(weight_decay=[1e-2, 0.5], amsgrad=[False, True],
                                                      maximize=[False, True])]
    + [("RMSprop", dict(lr=0.01, **kw)) for kw in _grid(alpha=[0.99, 0.5], weight_decay=[0, 0.1],
                                                        momentum=[0, 0.9], centered=[False, True],
                                                        maximize=[False, True])]
    + [("Adagrad", dict(lr=0.1, **kw)) for kw in _grid(lr_decay=[0, 0.1], weight_decay=[0, 0.1],
                                                       initial_accumulator_value=[0, 0.5], maximize=[False, True])]
    + [("Adagrad", dict(lr=0.1, eps=1e-3))]
    + [("Adamax", dict(lr=0.01, **kw)) for kw in _grid(betas=[(0.9, 0.999), (0.6, 0.5)], weight_decay=[0, 0.1],
                                                       maximize=[False, True])]
    + [("NAdam", dict(lr=0.01, **kw)) for kw in _grid(weight_decay=[0, 0.1], momentum_decay=[4e-3, 0.1],
                                                      decoupled_weight_decay=[False, True], maximize=[False, True])]
    + [("RAdam", dict(lr=0.01, **kw)) for kw in _grid(weight_decay=[0, 0.1], decoupled_weight_decay=[False, True],
                                                      maximize=[False, True])]
    + [("RAdam", dict(lr=0.01, betas=(0.9, 0.5)))]  # rho_t > 5 from the first steps on: the rectified branch
    + [("Adadelta", dict(**kw)) for kw in _grid(lr=[1.0, 0.5], rho=[0.9, 0.5], weight_decay=[0, 0.1],
                                                maximize=[False, True])]
)


def _case_id(case):
    name, kwargs = case
    return name + "-" + ",".join(f"{k}={v}" for k, v in kwargs.items())


@pytest.mark.parametrize("case", CASES, ids=_case_id)
@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])
def test_matches_torch(case, dtype):
    name, kwargs = case
    run_against_torch(name, kwargs, dtype)


@pytest.mark.parametrize("name", ["SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "Adamax", "NAdam", "RAdam",
                                  "Adadelta"])
def test_param_groups_match_torch(name):
    kwargs = dict(lr=0.01, momentum=0.9) if name == "SGD" else {}
    run_against_torch(name, kwargs, np.float64, groups=True)


def test_radam_rectified_branch_is_reached():
    # With beta2=0.5 rho_inf = 3 < 5 never rectifies; with the default betas it takes ~6 steps.
    run_against_torch("RAdam", dict(lr=0.01), np.float64, steps=8)


# -- state, state_dict ---------------------------------------------------------------------------

STATE_CASES = [("SGD", dict(lr=0.1, momentum=0.9)), ("Adam", dict(amsgrad=True)), ("AdamW", {}),
               ("RMSprop", dict(momentum=0.5, centered=True)), ("Adagrad", {}), ("Adamax", {}), ("NAdam", {}),
               ("RAdam", {}), ("Adadelta", {})]


def _state_summary(state_dict, lib):
    """Keys, param indices, and each state entry's (dtype name, shape)."""
    groups = [{k: (v if k == "params" else type(v).__name__) for k, v in g.items()}
              for g in state_dict["param_groups"]]
    state = {index: {k: (str(v.dtype).split(".")[-1], tuple(v.shape)) if isinstance(v, lib.Tensor) else v
                     for k, v in entry.items()}
             for index, entry in state_dict["state"].items()}
    return groups, state


@pytest.mark.parametrize("case", STATE_CASES, ids=_case_id)
def test_state_dict_layout_matches_torch(case):
    name, kwargs = case
    e_opt, t_opt, _, _ = run_against_torch(name, kwargs, np.float32, steps=2, groups=True)
    e_sd, t_sd = e_opt.state_dict(), t_opt.state_dict()
    assert _state_summary(e_sd, ember) == _state_summary(t_sd, torch)
    assert [list(g) for g in e_sd["param_groups"]] == [list(g) for g in t_sd["param_groups"]]
    for index, entry in t_sd["state"].items():
        for key, value in entry.items():
            np.testing.assert_allclose(e_sd["state"][index][key].numpy(), value.numpy(), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("case", STATE_CASES, ids=_case_id)
def test_state_dict_round_trip_continues_identically(case):
    name, kwargs = case
    # float32 params: a loaded state is cast to the param's dtype (NAdam's mu_product too, as in PyTorch),
    # so only with params of the default dtype is the continuation bit-identical.
    e_params, _ = _make_params(np.float32)
    opt = getattr(optim, name)(e_params, **kwargs)
    rng = np.random.default_rng(3)
    for step in range(3):
        for p in e_params:
            p.grad = ember.tensor(rng.uniform(-1, 1, size=tuple(p.shape)).astype(np.float32))
        opt.step()
    saved = pickle.loads(pickle.dumps(opt.state_dict()))  # a checkpoint: no tensors shared with `opt`
    clones = [ember.nn.Parameter(p.detach().clone()) for p in e_params]
    fresh = getattr(optim, name)(clones, **kwargs)
    fresh.load_state_dict(saved)
    for step in range(3):
        grads = [rng.uniform(-1, 1, size=tuple(p.shape)).astype(np.float32) for p in e_params]
        for p, q, g in zip(e_params, clones, grads):
            p.grad, q.grad = ember.tensor(g), ember.tensor(g)
        opt.step()
        fresh.step()
        for p, q in zip(e_params, clones):
            np.testing.assert_array_equal(p.detach().numpy(), q.detach().numpy())


def test_load_state_dict_from_torch_continues_like_torch():
    e_params, t_params = _make_params(np.float32)
    e_opt, t_opt = optim.Adam(e_params, lr=0.01), torch.optim.Adam(t_params, lr=0.01)
    rng = np.random.default_rng(0)
    for step in range(2):
        _set_grads(e_params, t_params, rng, step, skip_one=False)
        t_opt.step()
    for e, t in zip(e_params, t_params):
        e.data = ember.tensor(t.detach().numpy().copy())
    t_sd = t_opt.state_dict()
    e_opt.load_state_dict({"state": {i: {k: ember.tensor(v.numpy().copy()) for k, v in s.items()}
                                     for i, s in t_sd["state"].items()},
                           "param_groups": copy.deepcopy(t_sd["param_groups"])})
    for step in range(2, 5):
        _set_grads(e_params, t_params, rng, step)
        e_opt.step()
        t_opt.step()
        _compare(e_params, t_params, np.float32, step)


def test_load_state_dict_casts_to_param_dtype_but_not_step():
    p32 = ember.nn.Parameter(ember.randn(3))
    opt = optim.Adam([p32])
    p32.grad = ember.randn(3)
    opt.step()
    p64 = ember.nn.Parameter(ember.randn(3, dtype=ember.float64))
    other = optim.Adam([p64])
    other.load_state_dict(opt.state_dict())
    assert other.state[p64]["exp_avg"].dtype is ember.float64
    assert other.state[p64]["step"].dtype is ember.float32
    assert other.param_groups[0]["params"][0] is p64


def test_load_state_dict_errors():
    a, b = ember.nn.Parameter(ember.randn(2)), ember.nn.Parameter(ember.randn(2))
    opt = optim.SGD([a, b], lr=0.1)
    with pytest.raises(ValueError, match="loaded state dict contains a parameter group that doesn't match the "
                                         "size of optimizer's group"):
        opt.load_state_dict(optim.SGD([a], lr=0.1).state_dict())
    with pytest.raises(ValueError, match="loaded state dict has a different number of parameter groups"):
        opt.load_state_dict(optim.SGD([{"params": [a]}, {"params": [b]}], lr=0.1).state_dict())


def test_step_counter_dtype_follows_default_dtype():
    ember.set_default_dtype(ember.float64)
    p = ember.nn.Parameter(ember.randn(2))
    opt = optim.Adam([p])
    p.grad = ember.ones(2)
    opt.step()
    assert opt.state[p]["step"].dtype is ember.float64
    assert opt.state[p]["step"].item() == 1.0


def test_adagrad_state_exists_before_the_first_step():
    p = ember.nn.Parameter(ember.zeros(2))
    opt = optim.Adagrad([p], initial_accumulator_value=0.25)
    assert opt.state[p]["sum"].tolist() == [0.25, 0.25]
    assert opt.state[p]["step"].item() == 0.0


# -- the seed-002 behaviour: references, in-place updates ---------------------------------------

def test_step_updates_the_same_parameter_object_in_place():
    w = ember.nn.Parameter(ember.tensor([1.0, 2.0, 3.0]))
    other = ember.tensor([5.0, 6.0], requires_grad=True)
    opt = optim.SGD([w], lr=0.1)
    assert opt.param_groups[0]["params"][0] is w
    ident, storage, version = id(w), w.data_ptr(), w._version
    w.sum().backward()
    (other * 2).sum().backward()
    opt.step()
    assert id(opt.param_groups[0]["params"][0]) == ident
    assert w.data_ptr() == storage
    assert w.tolist() == pytest.approx([0.9, 1.9, 2.9])
    assert w._version > version
    assert other.tolist() == [5.0, 6.0]  # not given to the optimizer: untouched
    assert w.grad_fn is None and w.is_leaf


def test_step_does_not_record_a_graph_and_closure_runs_with_grad():
    w = ember.nn.Parameter(ember.tensor([1.0, -2.0]))
    opt = optim.Adam([w], lr=0.1)

    def closure():
        opt.zero_grad()
        assert ember.is_grad_enabled()
        loss = (w * w).sum()
        loss.backward()
        return loss

    with ember.no_grad():
        loss = opt.step(closure)
    assert loss.item() == 5.0
    assert w.grad_fn is None and w.requires_grad


def test_in_place_update_invalidates_saved_tensors():
    w = ember.nn.Parameter(ember.tensor([1.0, 2.0]))
    y = (w * w).sum()  # saves w
    w.grad = ember.ones(2)
    optim.SGD([w], lr=0.1).step()
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.backward()


def test_end_to_end_linear_regression_with_module():
    ember.manual_seed(0)
    model = ember.nn.Linear(3, 1)
    opt = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    rng = np.random.default_rng(0)
    x = ember.tensor(rng.normal(size=(64, 3)).astype(np.float32))
    y = x @ ember.tensor([[1.0], [-2.0], [0.5]]) + 0.3
    weight = model.weight
    for _ in range(200):
        opt.zero_grad()
        loss = ((model(x) - y) ** 2).mean()
        loss.backward()
        opt.step()
    assert model.weight is weight
    assert loss.item() < 1e-4
    np.testing.assert_allclose(model.weight.detach().numpy(), [[1.0, -2.0, 0.5]], atol=1e-2)


# -- zero_grad ---------------------------------------------------------------------------------

def test_zero_grad_set_to_none_and_in_place():
    w = ember.nn.Parameter(ember.ones(2))
    opt = optim.SGD([w], lr=0.1)
    w.grad = ember.tensor([1.0, 2.0])
    grad = w.grad
    opt.zero_grad(set_to_none=False)
    assert w.grad is grad and w.grad.tolist() == [0.0, 0.0]
    opt.zero_grad()
    assert w.grad is None


# -- param groups, errors ------------------------------------------------------------------------

def test_param_groups_hold_the_parameters_and_defaults():
    a, b = ember.nn.Parameter(ember.randn(2)), ember.nn.Parameter(ember.randn(2))
    opt = optim.SGD([{"params": [a]}, {"params": b, "lr": 0.5}], lr=0.1, momentum=0.9)
    assert opt.param_groups[0]["params"][0] is a and opt.param_groups[1]["params"][0] is b
    assert opt.param_groups[0]["lr"] == 0.1 and opt.param_groups[1]["lr"] == 0.5
    assert opt.param_groups[1]["momentum"] == 0.9
    c = ember.nn.Parameter(ember.randn(1))
    opt.add_param_group({"params": [c], "momentum": 0.0})
    assert len(opt.param_groups) == 3 and opt.param_groups[2]["lr"] == 0.1
    assert opt.state_dict()["param_groups"][2]["params"] == [2]


def test_named_parameters_are_accepted():
    a = ember.nn.Parameter(ember.randn(2))
    opt = optim.SGD([("weight", a)], lr=0.1)
    assert opt.param_groups[0]["params"] == [a] and opt.param_groups[0]["param_names"] == ["weight"]


def test_construction_errors():
    p = ember.nn.Parameter(ember.randn(2))
    with pytest.raises(ValueError, match="optimizer got an empty parameter list"):
        optim.SGD([], lr=0.1)
    with pytest.raises(ValueError, match="some parameters appear in more than one parameter group"):
        optim.SGD([{"params": [p]}, {"params": [p]}], lr=0.1)
    with pytest.raises(ValueError, match="can't optimize a non-leaf Tensor"):
        optim.SGD([p * 2], lr=0.1)
    with pytest.raises(TypeError, match="params argument given to the optimizer should be an iterable of Tensors "
                                        "or dicts, but got ember.FloatTensor"):
        optim.SGD(p, lr=0.1)
    with pytest.raises(TypeError, match="optimizer can only optimize Tensors, but one of the params is int"):
        optim.SGD([1], lr=0.1)
    with pytest.raises(TypeError, match="unexpected keyword argument 'momentun'"):
        optim.SGD([p], lr=0.1, momentun=0.9)
    with pytest.raises(TypeError, match="param_group must be a dict"):
        optim.SGD([p], lr=0.1).add_param_group([p])
    with pytest.raises(ValueError, match="Nesterov momentum requires a momentum and zero dampening"):
        optim.SGD([p], lr=0.1, nesterov=True)
    with pytest.raises(ValueError, match="Nesterov momentum requires a momentum and zero dampening"):
        optim.SGD([p], lr=0.1, momentum=0.9, dampening=0.1, nesterov=True)
    with pytest.raises(ValueError, match="LBFGS doesn't support per-parameter options"):
        optim.LBFGS([{"params": [p]}, {"params": [ember.nn.Parameter(ember.randn(1))]}])


BAD_HYPERPARAMETERS = [
    ("SGD", dict(lr=-0.1), "Invalid learning rate: -0.1"),
    ("SGD", dict(lr=0.1, momentum=-1), "Invalid momentum value: -1"),
    ("SGD", dict(lr=0.1, weight_decay=-1), "Invalid weight_decay value: -1"),
    ("Adam", dict(lr=-0.1), "Invalid learning rate: -0.1"),
    ("Adam", dict(eps=-1.0), "Invalid epsilon value: -1.0"),
    ("Adam", dict(betas=(1.0, 0.9)), "Invalid beta parameter at index 0: 1.0"),
    ("AdamW", dict(betas=(0.9, -0.1)), "Invalid beta parameter at index 1: -0.1"),
    ("Adam", dict(weight_decay=-0.5), "Invalid weight_decay value: -0.5"),
    ("RMSprop", dict(alpha=-0.5), "Invalid alpha value: -0.5"),
    ("RMSprop", dict(momentum=-0.5), "Invalid momentum value: -0.5"),
    ("Adagrad", dict(lr_decay=-0.5), "Invalid lr_decay value: -0.5"),
    ("Adagrad", dict(initial_accumulator_value=-0.5), "Invalid initial_accumulator_value value: -0.5"),
    ("Adamax", dict(eps=-0.5), "Invalid epsilon value: -0.5"),
    ("NAdam", dict(momentum_decay=-0.5), "Invalid momentum_decay value: -0.5"),
    ("RAdam", dict(lr=-1.0), "Invalid learning rate: -1.0"),
    ("Adadelta", dict(rho=1.5), "Invalid rho value: 1.5"),
    ("LBFGS", dict(lr=-1.0), "Invalid learning rate: -1.0"),
]


@pytest.mark.parametrize("name, kwargs, message", BAD_HYPERPARAMETERS)
def test_invalid_hyperparameters(name, kwargs, message):
    t_param = torch.nn.Parameter(torch.randn(2))
    with pytest.raises(ValueError) as t_err:
        getattr(torch.optim, name)([t_param], **kwargs)
    assert str(t_err.value) == message  # the oracle agrees with the message asserted
    with pytest.raises(ValueError, match=f"^{message}$".replace("(", r"\(").replace(")", r"\)").replace(".", r"\.")):
        getattr(optim, name)([ember.nn.Parameter(ember.randn(2))], **kwargs)


# -- hooks, repr, pickling ---------------------------------------------------------------------

def test_step_hooks_run_around_step_and_can_be_removed():
    p = ember.nn.Parameter(ember.ones(1))
    p.grad = ember.ones(1)
    opt = optim.SGD([p], lr=0.1)
    calls = []
    pre = opt.register_step_pre_hook(lambda o, args, kwargs: calls.append(("pre", p.item())))
    post = opt.register_step_post_hook(lambda o, args, kwargs: calls.append(("post", p.item())))
    opt.step()
    assert calls == [("pre", 1.0), ("post", pytest.approx(0.9))]
    pre.remove()
    post.remove()
    opt.step()
    assert len(calls) == 2


def test_repr_matches_torch():
    e = optim.Adam([ember.nn.Parameter(ember.randn(2))], lr=0.1)
    t = torch.optim.Adam([torch.nn.Parameter(torch.randn(2))], lr=0.1)
    assert repr(e) == repr(t)


def test_optimizer_pickles_with_its_state():
    p = ember.nn.Parameter(ember.ones(2))
    opt = optim.Adam([p])
    p.grad = ember.ones(2)
    opt.step()
    clone = pickle.loads(pickle.dumps(opt))
    assert isinstance(clone, optim.Adam)
    assert clone.state_dict()["state"][0]["exp_avg"].tolist() == opt.state[p]["exp_avg"].tolist()


def test_custom_optimizer_subclass():
    class Halve(optim.Optimizer):
        def __init__(self, params):
            super().__init__(params, {})

        def step(self, closure=None):
            with ember.no_grad():
                for group in self.param_groups:
                    for p in group["params"]:
                        p.mul_(0.5)

    p = ember.nn.Parameter(ember.ones(2))
    opt = Halve([p])
    seen = []
    opt.register_step_post_hook(lambda *args: seen.append(True))
    opt.step()
    assert p.tolist() == [0.5, 0.5] and seen == [True]


# -- LBFGS ----------------------------------------------------------------------------------------

def _lbfgs_problem(lib, dtype):
    rng = np.random.default_rng(5)
    a = lib.tensor(rng.normal(size=(6, 4)).astype(dtype))
    b = lib.tensor(rng.normal(size=(6,)).astype(dtype))
    x = lib.nn.Parameter(lib.tensor(rng.normal(size=(4,)).astype(dtype)))
    scale = lib.nn.Parameter(lib.tensor(np.array(0.5, dtype=dtype)))

    def loss_fn():
        residual = a @ (x * scale) - b
        return (residual ** 2).sum() + 0.1 * (x ** 4).sum() + (scale - 1) ** 2

    return [x, scale], loss_fn


@pytest.mark.parametrize("line_search_fn", [None, "strong_wolfe"])
@pytest.mark.parametrize("kwargs", [dict(), dict(lr=0.5, max_iter=4, history_size=3),
                                    dict(max_iter=7, max_eval=9, tolerance_change=1e-6)])
def test_lbfgs_matches_torch(line_search_fn, kwargs):
    results = {}
    for lib in (ember, torch):
        params, loss_fn = _lbfgs_problem(lib, np.float64)
        opt = lib.optim.LBFGS(params, line_search_fn=line_search_fn, **kwargs)

        def closure():
            opt.zero_grad()
            loss = loss_fn()
            loss.backward()
            return loss

        trace = []
        for _ in range(4):
            loss = opt.step(closure)
            trace.append((float(loss.detach()), [p.detach().numpy().copy() for p in params]))
        results[lib.__name__] = (trace, opt.state[params[0]]["func_evals"], opt.state[params[0]]["n_iter"])
    (e_trace, e_evals, e_iters), (t_trace, t_evals, t_iters) = results["ember"], results["torch"]
    assert (e_evals, e_iters) == (t_evals, t_iters)
    for (e_loss, e_vals), (t_loss, t_vals) in zip(e_trace, t_trace):
        assert e_loss == pytest.approx(t_loss, rel=1e-9, abs=1e-12)
        for e, t in zip(e_vals, t_vals):
            np.testing.assert_allclose(e, t, rtol=1e-8, atol=1e-10)


def test_lbfgs_state_dict_keys_match_torch():
    keys = {}
    for lib in (ember, torch):
        params, loss_fn = _lbfgs_problem(lib, np.float32)
        opt = lib.optim.LBFGS(params, max_iter=3)

        def closure():
            opt.zero_grad()
            loss = loss_fn()
            loss.backward()
            return loss

        opt.step(closure)
        opt.step(closure)
        keys[lib.__name__] = set(opt.state_dict()["state"][0])
    assert keys["ember"] == keys["torch"]


def test_lbfgs_unknown_line_search():
    p = ember.nn.Parameter(ember.ones(2))
    opt = optim.LBFGS([p], line_search_fn="armijo")

    def closure():
        opt.zero_grad()
        loss = (p * p).sum()
        loss.backward()
        return loss

    with pytest.raises(RuntimeError, match="only 'strong_wolfe' is supported"):
        opt.step(closure)


@pytest.mark.parametrize("name", ["SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "Adamax", "NAdam", "RAdam",
                                  "Adadelta", "LBFGS"])
def test_constructor_options_match_torch(name):
    import inspect

    def options(cls):
        return [(p.name, p.default, p.kind) for p in inspect.signature(cls.__init__).parameters.values()]

    assert options(getattr(optim, name)) == options(getattr(torch.optim, name))


@pytest.mark.parametrize("name", ["SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "Adamax", "NAdam", "RAdam",
                                  "Adadelta"])
def test_tensor_lr_and_betas_match_torch_under_a_scheduler(name):
    """A Tensor lr (and Tensor betas) as PyTorch documents them; the scheduler fills the lr in place."""
    kwargs = {"momentum": 0.9} if name == "SGD" else {}
    results = {}
    for lib in (ember, torch):
        values = np.random.default_rng(0).uniform(-1, 1, size=(3, 4)).astype(np.float32)
        params = [lib.nn.Parameter(lib.tensor(values)), lib.nn.Parameter(lib.tensor(values[0] * 2))]
        if name in ("Adam", "AdamW", "Adamax", "NAdam", "RAdam"):
            kwargs["betas"] = (lib.tensor(0.8), lib.tensor(0.95))
        lr = lib.tensor(0.05)
        opt = getattr(lib.optim, name)(params, lr=lr, **kwargs)
        sched = lib.optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.5)
        rng = np.random.default_rng(2)
        for _ in range(4):
            for p in params:
                p.grad = lib.tensor(rng.uniform(-1, 1, size=tuple(p.shape)).astype(np.float32))
            opt.step()
            sched.step()
        assert opt.param_groups[0]["lr"] is lr and float(lr) == pytest.approx(0.05 / 16)
        results[lib.__name__] = [p.detach().numpy() for p in params]
    for e, t in zip(results["ember"], results["torch"]):
        np.testing.assert_allclose(e, t, rtol=1e-5, atol=1e-6)


def test_tensor_lr_errors_match_torch():
    for lib in (torch, ember):
        p = lib.nn.Parameter(lib.ones(2))
        with pytest.raises(ValueError, match="^Tensor lr must be 1-element$"):
            lib.optim.SGD([p], lr=lib.tensor([0.1, 0.2]))
        with pytest.raises(ValueError, match="^Tensor lr must be 1-element$"):
            lib.optim.Adam([p], lr=lib.tensor([0.1, 0.2]))
        with pytest.raises(ValueError, match="^lr as a Tensor is not supported for capturable=False and foreach=True$"):
            lib.optim.AdamW([p], lr=lib.tensor(0.1), foreach=True)
        lib.optim.Adagrad([p], lr=lib.tensor([0.1]))  # one element of any shape is fine


def test_lbfgs_accepts_a_tensor_lr():
    results = {}
    for lib in (ember, torch):
        params, loss_fn = _lbfgs_problem(lib, np.float64)
        opt = lib.optim.LBFGS(params, lr=lib.tensor(0.5, dtype=lib.float64), max_iter=5)

        def closure():
            opt.zero_grad()
            loss = loss_fn()
            loss.backward()
            return loss

        opt.step(closure)
        results[lib.__name__] = [p.detach().numpy() for p in params]
    for e, t in zip(results["ember"], results["torch"]):
        np.testing.assert_allclose(e, t, rtol=1e-8, atol=1e-10)


@pytest.mark.parametrize("name", ["SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "Adamax", "NAdam", "RAdam",
                                  "Adadelta"])
def test_differentiable_step_is_refused_not_silently_untracked(name):
    w = ember.tensor([1.0, 2.0], requires_grad=True)
    p = w * 1.0  # differentiable=True accepts a non-leaf tensor, as in PyTorch
    opt = getattr(optim, name)([p], lr=0.1, differentiable=True)
    p.grad = ember.ones(2)
    state_before = {k: v.tolist() for k, v in opt.state[p].items()}  # Adagrad's exists from the start
    with pytest.raises(NotImplementedError, match=rf"{name}\(differentiable=True\) is not supported by ember"):
        opt.step()
    # refused before anything changed
    assert p.tolist() == [1.0, 2.0] and {k: v.tolist() for k, v in opt.state[p].items()} == state_before
