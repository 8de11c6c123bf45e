"""The flat layout behind every optimizer but LBFGS: per-parameter state tensors are views into flat
buffers the optimizer owns, and whatever changes between steps (which params have a gradient, a
param's storage, dtype or device, the state itself) still updates like PyTorch."""
from __future__ import annotations

import copy
import io
import pickle

import numpy as np
import pytest

import ember
from ember import optim
from ember.optim import optimizer as flat
from tests.optim.test_optimizers import CASES, STATE_CASES, _case_id, _make_params, _tol, run_against_torch

torch = pytest.importorskip("torch")

NAMES = ["SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "Adamax", "NAdam", "RAdam", "Adadelta"]
# one case per optimizer with its state-carrying options on, plus SGD without state and L2 decay/maximize
RICH_CASES = STATE_CASES + [("SGD", dict(lr=0.1)), ("Adam", dict(lr=0.01, weight_decay=0.1, maximize=True)),
                            ("RMSprop", dict(lr=0.01, momentum=0.9, weight_decay=0.1))]


def _pair(name, kwargs, e_params, t_params):
    return getattr(optim, name)(e_params, **kwargs), getattr(torch.optim, name)(t_params, **kwargs)


def _grads(e_params, t_params, rng, which=None):
    """Identical random gradients for the params whose index is in ``which`` (all by default), None for the rest."""
    for i, (e, t) in enumerate(zip(e_params, t_params)):
        if which is not None and i not in which:
            e.grad, t.grad = None, None
            continue
        g = rng.uniform(-1, 1, size=tuple(e.shape)).astype(e.numpy(force=True).dtype)
        e.grad, t.grad = ember.tensor(g), torch.tensor(g)


def _assert_params_match(e_params, t_params, step=None, tol_dtype=None):
    for i, (e, t) in enumerate(zip(e_params, t_params)):
        expected = t.detach().numpy()
        np.testing.assert_allclose(e.detach().numpy(), expected, err_msg=f"param {i} after step {step}",
                                   **_tol(tol_dtype or expected.dtype))


def _assert_state_matches(e_opt, t_opt, e_params, t_params):
    for i, (e, t) in enumerate(zip(e_params, t_params)):
        e_state, t_state = e_opt.state.get(e, {}), t_opt.state.get(t, {})
        assert list(e_state) == list(t_state), f"param {i}"
        for key, value in t_state.items():
            np.testing.assert_allclose(e_state[key].numpy(), value.numpy(), err_msg=f"param {i} state {key}",
                                       **_tol(value.numpy().dtype))


def _start(case, dtype=np.float32):
    """The same params in ember and torch (see _make_params) and the case's optimizer on each."""
    name, kwargs = case
    e_params, t_params = _make_params(dtype)
    return (*_pair(name, kwargs, e_params, t_params), e_params, t_params)


def _step_both(e_opt, t_opt, e_params, t_params, rng, step, which=None, tol_dtype=None):
    """One step on both sides with the same gradients (see _grads), then the params compared."""
    _grads(e_params, t_params, rng, which)
    e_opt.step()
    t_opt.step()
    _assert_params_match(e_params, t_params, step, tol_dtype)


def _flat_buffer(t):
    """The flat buffer a state tensor is a view of (None when it owns its data)."""
    return t._data.base


# -- chunks: the math runs over cache-sized pieces of the flat buffers ----------------------------

@pytest.mark.parametrize("chunk_bytes", [16, 64])
@pytest.mark.parametrize("case", CASES, ids=_case_id)
@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])
def test_matches_torch_when_parameters_are_cut_into_chunks(case, dtype, chunk_bytes, monkeypatch):
    # 16 bytes: every parameter in pieces of 2-4 elements; 64: small ones share a chunk, larger ones split
    monkeypatch.setitem(flat._CHUNK_BYTES, "cpu", chunk_bytes)
    name, kwargs = case
    run_against_torch(name, kwargs, dtype)


# -- state tensors are views into the optimizer's flat buffers ------------------------------------

@pytest.mark.parametrize("case", RICH_CASES, ids=_case_id)
def test_state_tensors_stay_views_of_one_flat_buffer_per_key(case):
    e_opt, t_opt, e_params, t_params = _start(case)
    rng = np.random.default_rng(0)
    held = None
    for step in range(8):
        _grads(e_params, t_params, rng)
        e_opt.step()
        t_opt.step()
        if held is None:  # what a user holds after the first step is the live state from then on
            held = {(i, key): value for i, p in enumerate(e_params) for key, value in e_opt.state[p].items()}
    _assert_params_match(e_params, t_params)
    _assert_state_matches(e_opt, t_opt, e_params, t_params)
    keys = {key for _, key in held}
    for key in keys:
        tensors = [e_opt.state[p][key] for p in e_params]
        assert all(held[i, key] is t for i, t in enumerate(tensors))
        bases = {id(_flat_buffer(t)) for t in tensors}
        assert len(bases) == 1 and _flat_buffer(tensors[0]) is not None, key
        base = _flat_buffer(tensors[0])
        expected = len(e_params) if key in ("step", "mu_product") else sum(p.numel() for p in e_params)
        assert base.ndim == 1 and base.size == expected, key


@pytest.mark.parametrize("case", RICH_CASES, ids=_case_id)
def test_loaded_state_becomes_views_and_continues_like_torch(case):
    name, kwargs = case
    e_opt, t_opt, e_params, t_params = _start(case)
    rng = np.random.default_rng(1)
    for step in range(3):
        _grads(e_params, t_params, rng)
        e_opt.step()
        t_opt.step()
    saved = pickle.loads(pickle.dumps(e_opt.state_dict()))  # tensors that own their data
    clones = [ember.nn.Parameter(p.detach().clone()) for p in e_params]
    fresh = getattr(optim, name)(clones, **kwargs)
    fresh.load_state_dict(saved)
    loaded = {(i, key): value for i, p in enumerate(clones) for key, value in fresh.state[p].items()}
    for step in range(3, 7):
        _step_both(fresh, t_opt, clones, t_params, rng, step)
    _assert_state_matches(fresh, t_opt, clones, t_params)
    for (i, key), value in loaded.items():
        assert fresh.state[clones[i]][key] is value  # the loaded tensors themselves, re-pointed
        assert _flat_buffer(value) is not None
    assert not any(np.shares_memory(fresh.state[q][key]._data, e_opt.state[p][key]._data)
                   for p, q in zip(e_params, clones) for key in e_opt.state[p])


def test_layout_and_scratch_are_reused_while_nothing_changes():
    e_params, _ = _make_params(np.float32)
    opt = optim.Adam(e_params, lr=0.01)
    rng = np.random.default_rng(0)

    def step():
        for p in e_params:
            p.grad = ember.tensor(rng.uniform(-1, 1, size=tuple(p.shape)).astype(np.float32))
        opt.step()
        (layout,) = opt._flat_layouts.values()
        return layout, [buf for batch in layout.batches for buf in batch._scratch.values()]

    layout, buffers = step()
    for _ in range(4):
        again, again_buffers = step()
        assert again is layout
        assert len(again_buffers) == len(buffers) and all(a is b for a, b in zip(again_buffers, buffers))


# -- what may change between steps ----------------------------------------------------------------

@pytest.mark.parametrize("case", RICH_CASES, ids=_case_id)
def test_changing_which_params_have_gradients_matches_torch(case):
    e_opt, t_opt, e_params, t_params = _start(case)
    rng = np.random.default_rng(2)
    subsets = [None, {0, 2}, {1}, None, {0, 1, 3, 4}, set(), {4}, None, {2, 3}, None]
    for step, which in enumerate(subsets):
        _step_both(e_opt, t_opt, e_params, t_params, rng, step, which)
        _assert_state_matches(e_opt, t_opt, e_params, t_params)


@pytest.mark.parametrize("case", RICH_CASES, ids=_case_id)
def test_replaced_param_data_is_updated(case):
    e_opt, t_opt, e_params, t_params = _start(case)
    rng = np.random.default_rng(3)
    replaced = []
    for step in range(6):
        if step in (0, 3):  # before the first step, and once the state exists
            for e, t in zip(e_params, t_params):
                values = rng.uniform(-1, 1, size=tuple(e.shape)).astype(np.float32)
                replaced.append((e.data, e.detach().numpy().copy()))
                e.data, t.data = ember.tensor(values), torch.tensor(values)
        _step_both(e_opt, t_opt, e_params, t_params, rng, step)
    for data, values in replaced[len(e_params):]:  # the storage replaced after step 3 is left alone
        np.testing.assert_array_equal(data.numpy(), values)


def _linear_pair(seed=0):
    rng = np.random.default_rng(seed)
    e_model, t_model = ember.nn.Linear(4, 3), torch.nn.Linear(4, 3)
    for e, t in zip(e_model.parameters(), t_model.parameters()):
        values = rng.uniform(-1, 1, size=tuple(e.shape)).astype(np.float32)
        with ember.no_grad():
            e.copy_(ember.tensor(values))
        with torch.no_grad():
            t.copy_(torch.tensor(values))
    return e_model, t_model


@pytest.mark.parametrize("name", NAMES)
def test_model_double_after_the_optimizer_exists(name):
    kwargs = dict(lr=0.1, momentum=0.9) if name == "SGD" else {}
    e_model, t_model = _linear_pair()
    e_opt, t_opt = _pair(name, kwargs, e_model.parameters(), t_model.parameters())
    e_model.double()  # before the first step: state is created in float64
    t_model.double()
    rng = np.random.default_rng(4)
    e_params, t_params = list(e_model.parameters()), list(t_model.parameters())
    # (Adagrad's state exists from construction on: it stays float32, and so does the precision)
    tol_dtype = np.float32 if name == "Adagrad" else None
    for step in range(3):
        _step_both(e_opt, t_opt, e_params, t_params, rng, step, tol_dtype=tol_dtype)
    e_model.float()
    t_model.float()
    # Once it exists, state keeps its dtype as in PyTorch, whose single-tensor Adam then refuses the
    # mix: there the state is cast to the params by load_state_dict, here the update just runs.
    t_opt.load_state_dict(t_opt.state_dict())
    for step in range(3, 6):
        _step_both(e_opt, t_opt, e_params, t_params, rng, step)
    for p in e_params:
        assert p.dtype is ember.float32
        for key, value in e_opt.state[p].items():
            float32 = key in ("step", "mu_product") or name == "Adagrad"
            assert value.dtype is (ember.float32 if float32 else ember.float64)
    e_opt.load_state_dict(e_opt.state_dict())
    for step in range(6, 8):
        _step_both(e_opt, t_opt, e_params, t_params, rng, step)
    _assert_state_matches(e_opt, t_opt, e_params, t_params)


@pytest.mark.parametrize("case", RICH_CASES, ids=_case_id)
def test_mixed_dtypes_in_one_group(case):
    name, kwargs = case
    rng = np.random.default_rng(5)
    arrays = [rng.uniform(-1, 1, size=s).astype(d) for s, d in
              [((3, 4), np.float32), ((5,), np.float64), ((2, 2), np.float32), ((), np.float64)]]
    e_params = [ember.nn.Parameter(ember.tensor(a)) for a in arrays]
    t_params = [torch.nn.Parameter(torch.tensor(a)) for a in arrays]
    e_opt, t_opt = _pair(name, kwargs, e_params, t_params)
    for step in range(5):
        _step_both(e_opt, t_opt, e_params, t_params, rng, step)
    _assert_state_matches(e_opt, t_opt, e_params, t_params)
    for p in e_params:
        assert all(v.dtype is p.dtype for k, v in e_opt.state[p].items() if k not in ("step", "mu_product"))


@pytest.mark.parametrize("name", NAMES)
def test_user_held_data_and_views_see_every_update(name):
    kwargs = dict(lr=0.1, momentum=0.9) if name == "SGD" else dict(lr=0.1)
    e_model, _ = _linear_pair()
    opt = getattr(optim, name)(e_model.parameters(), **kwargs)
    weight = e_model.weight
    data, row, detached = weight.data, weight.detach()[1], weight.detach()
    ptr = weight.data_ptr()
    rng = np.random.default_rng(6)
    for _ in range(3):
        for p in e_model.parameters():
            p.grad = ember.tensor(rng.uniform(-1, 1, size=tuple(p.shape)).astype(np.float32))
        before = weight.detach().numpy().copy()
        opt.step()
        assert not np.array_equal(weight.detach().numpy(), before)
        assert weight.data_ptr() == ptr
        np.testing.assert_array_equal(data.numpy(), weight.detach().numpy())
        np.testing.assert_array_equal(row.numpy(), weight.detach().numpy()[1])
        np.testing.assert_array_equal(detached.numpy(), weight.detach().numpy())


def test_sgd_momentum_switched_on_and_off_matches_torch():
    e_params, t_params = _make_params(np.float32)
    e_opt, t_opt = _pair("SGD", dict(lr=0.1, momentum=0.0), e_params, t_params)
    rng = np.random.default_rng(7)
    for step, momentum in enumerate([0.0, 0.9, 0.9, 0.0, 0.5, 0.5]):
        for opt in (e_opt, t_opt):
            opt.param_groups[0]["momentum"] = momentum
        _step_both(e_opt, t_opt, e_params, t_params, rng, step)
        _assert_state_matches(e_opt, t_opt, e_params, t_params)


@pytest.mark.parametrize("case", [c for c in RICH_CASES if c[0] != "SGD"], ids=_case_id)
def test_state_edited_by_the_user_between_steps(case):
    name, kwargs = case
    e_opt, t_opt, e_params, t_params = _start(case)
    rng = np.random.default_rng(8)
    for step in range(7):
        _step_both(e_opt, t_opt, e_params, t_params, rng, step)
        if step == 1:  # one parameter's step counter moved on in place: it can't share the others' any more
            for opt, p in ((e_opt, e_params[0]), (t_opt, t_params[0])):
                opt.state[p]["step"].fill_(10.0)
        if step == 3:  # a state tensor replaced by a new one, and one parameter's state reset
            key = [k for k in t_opt.state[t_params[1]] if k not in ("step", "mu_product")][0]
            e_opt.state[e_params[1]][key] = ember.zeros_like(e_params[1])
            t_opt.state[t_params[1]][key] = torch.zeros_like(t_params[1])
            if name != "Adagrad":  # (Adagrad's state only exists from construction on, as in PyTorch)
                del e_opt.state[e_params[2]]
                del t_opt.state[t_params[2]]
    _assert_state_matches(e_opt, t_opt, e_params, t_params)


# (not SGD: PyTorch's reads every momentum buffer before updating any, so a repeat's first step
# starts from the gradient again; ember's, like before, runs the repeats one after the other)
@pytest.mark.parametrize("name", ["Adam", "NAdam", "RMSprop", "Adadelta"])
def test_a_param_listed_twice_is_updated_twice_like_torch(name):
    kwargs = dict(lr=0.1)
    e_params, t_params = _make_params(np.float32)
    with pytest.warns(UserWarning, match="duplicate parameters"):
        e_opt = getattr(optim, name)(e_params + e_params[:2], **kwargs)
    with pytest.warns(UserWarning, match="duplicate parameters"):
        t_opt = getattr(torch.optim, name)(t_params + t_params[:2], **kwargs)
    rng = np.random.default_rng(9)
    for step in range(4):
        _step_both(e_opt, t_opt, e_params, t_params, rng, step)
    _assert_state_matches(e_opt, t_opt, e_params, t_params)


# -- copies of the optimizer and of its state -----------------------------------------------------

@pytest.mark.parametrize("copier", [copy.deepcopy, lambda opt: pickle.loads(pickle.dumps(opt))],
                         ids=["deepcopy", "pickle"])
def test_a_copied_optimizer_continues_on_its_own(copier):
    e_params, _ = _make_params(np.float32)
    opt = optim.Adam(e_params, lr=0.01)
    rng = np.random.default_rng(10)
    for _ in range(2):
        for p in e_params:
            p.grad = ember.tensor(rng.uniform(-1, 1, size=tuple(p.shape)).astype(np.float32))
        opt.step()
    twin = copier(opt)
    twin_params = twin.param_groups[0]["params"]
    before = {key: value.numpy().copy() for key, value in opt.state[e_params[0]].items()}
    grads = [[rng.uniform(-1, 1, size=tuple(p.shape)).astype(np.float32) for p in e_params] for _ in range(2)]
    for step_grads in grads:
        for q, g in zip(twin_params, step_grads):
            q.grad = ember.tensor(g)
        twin.step()
    for key, value in opt.state[e_params[0]].items():  # the original's state did not move
        np.testing.assert_array_equal(value.numpy(), before[key])
    for step_grads in grads:
        for p, g in zip(e_params, step_grads):
            p.grad = ember.tensor(g)
        opt.step()
    for p, q in zip(e_params, twin_params):
        np.testing.assert_array_equal(p.detach().numpy(), q.detach().numpy())


def test_state_dict_saved_with_ember_loads_into_torch_and_continues_alike():
    e_params, t_params = _make_params(np.float32)
    e_opt = optim.Adam(e_params, lr=0.01, amsgrad=True)
    rng = np.random.default_rng(11)
    for step in range(3):
        _grads(e_params, t_params, rng)
        e_opt.step()
    buffer = io.BytesIO()
    ember.save(e_opt.state_dict(), buffer)
    buffer.seek(0)
    loaded = torch.load(buffer)
    for e, t in zip(e_params, t_params):
        with torch.no_grad():
            t.copy_(torch.tensor(e.detach().numpy()))
    t_opt = torch.optim.Adam(t_params, lr=0.01, amsgrad=True)
    t_opt.load_state_dict(loaded)
    _assert_state_matches(e_opt, t_opt, e_params, t_params)
    for step in range(3, 6):
        _step_both(e_opt, t_opt, e_params, t_params, rng, step)
