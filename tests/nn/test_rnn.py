"""RNN, LSTM, GRU and their cells against torch: same weights -> same outputs, states and gradients."""
import warnings

import numpy as np
import pytest

import ember
from ember.ops.rnn import rnn_layer, reference_layer
from tests.helpers import torch, assert_same, gradcheck

RNG = np.random.default_rng(7)


def torch_twin(e_module, t_module):
    """Copy the ember module's parameters into the torch module (init streams differ)."""
    for name, param in e_module.named_parameters():
        t_module.get_parameter(name).data = torch.from_numpy(param.detach().numpy().copy())
    return t_module


def pair(shape, dtype=np.float32):
    a = RNG.standard_normal(shape).astype(dtype)
    return ember.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)


def _flat(x):
    if isinstance(x, (tuple, list)):
        return [y for item in x for y in _flat(item)]
    return [x]


def backprop_and_compare(e_outs, t_outs, e_leaves, t_leaves, e_mod=None, t_mod=None, atol=1e-5):
    """Compare outputs, then backprop the same random weights and compare every gradient."""
    e_outs, t_outs = _flat(e_outs), _flat(t_outs)
    for e, t in zip(e_outs, t_outs):
        assert_same(e, t, atol=atol)
    e_loss, t_loss = 0, 0
    for e, t in zip(e_outs, t_outs):
        w = RNG.standard_normal(tuple(t.shape)).astype(np.float32)
        e_loss = e_loss + (e * ember.tensor(w)).sum()
        t_loss = t_loss + (t * torch.tensor(w)).sum()
    e_loss.backward()
    t_loss.backward()
    for e, t in zip(e_leaves, t_leaves):
        assert_same(e.grad, t.grad, atol=atol)
    if e_mod is not None:
        for name, param in e_mod.named_parameters():
            assert_same(param.grad, t_mod.get_parameter(name).grad, atol=atol)


CONFIGS = [
    dict(),
    dict(num_layers=2),
    dict(bidirectional=True),
    dict(batch_first=True),
    dict(num_layers=2, bidirectional=True, batch_first=True),
    dict(bias=False),
]
MODES = ["RNN", "LSTM", "GRU"]


def make(mode, input_size=4, hidden=5, **kw):
    e = getattr(ember.nn, mode)(input_size, hidden, **kw)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t = getattr(torch.nn, mode)(input_size, hidden, **kw)
    return e, torch_twin(e, t)


def state_shapes(mode, kw, batch, hidden=5):
    layers = kw.get("num_layers", 1) * (2 if kw.get("bidirectional") else 1)
    real = kw.get("proj_size", 0) or hidden
    lead = (layers,) if batch is None else (layers, batch)
    shapes = [lead + (real,)]
    if mode == "LSTM":
        shapes.append(lead + (hidden,))
    return shapes


def run_both(mode, kw, with_state, unbatched=False, seq=4, batch=3):
    e, t = make(mode, **kw)
    if unbatched:
        shape = (seq, 4)
    else:
        shape = (batch, seq, 4) if kw.get("batch_first") else (seq, batch, 4)
    ex, tx = pair(shape)
    e_leaves, t_leaves = [ex], [tx]
    e_args, t_args = [ex], [tx]
    if with_state:
        states = [pair(s) for s in state_shapes(mode, kw, None if unbatched else batch)]
        e_leaves += [s[0] for s in states]
        t_leaves += [s[1] for s in states]
        if mode == "LSTM":
            e_args.append((states[0][0], states[1][0]))
            t_args.append((states[0][1], states[1][1]))
        else:
            e_args.append(states[0][0])
            t_args.append(states[0][1])
    backprop_and_compare(e(*e_args), t(*t_args), e_leaves, t_leaves, e, t)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("kw", CONFIGS)
@pytest.mark.parametrize("with_state", [False, True])
def test_layer_matches_torch(mode, kw, with_state):
    run_both(mode, kw, with_state)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("with_state", [False, True])
def test_unbatched_input(mode, with_state):
    run_both(mode, dict(num_layers=2, bidirectional=True), with_state, unbatched=True)


@pytest.mark.parametrize("kw", [dict(proj_size=3), dict(proj_size=2, num_layers=2, bidirectional=True)])
@pytest.mark.parametrize("with_state", [False, True])
def test_lstm_projection(kw, with_state):
    run_both("LSTM", kw, with_state)


def test_rnn_relu_and_sequence_of_one():
    run_both("RNN", dict(nonlinearity="relu", num_layers=2), True)
    run_both("GRU", dict(), True, seq=1, batch=1)


@pytest.mark.parametrize("mode", MODES)
def test_dropout_zero_in_training_and_dropout_in_eval(mode):
    e, t = make(mode, num_layers=2, dropout=0.0)
    assert e.training
    ex, tx = pair((5, 2, 4))
    backprop_and_compare(e(ex), t(tx), [ex], [tx], e, t)
    e, t = make(mode, num_layers=2, dropout=0.5)
    e.eval()
    t.eval()
    ex, tx = pair((5, 2, 4))
    backprop_and_compare(e(ex), t(tx), [ex], [tx], e, t)


def test_dropout_between_layers_in_training():
    ember.manual_seed(0)
    m = ember.nn.GRU(4, 50, num_layers=2, dropout=0.9)
    x = ember.randn(3, 2, 4)
    a, _ = m(x)
    b, _ = m(x)
    assert not np.allclose(a.detach().numpy(), b.detach().numpy())
    m.eval()
    c, _ = m(x)
    d, _ = m(x)
    np.testing.assert_array_equal(c.detach().numpy(), d.detach().numpy())


def test_double_precision_module():
    e = ember.nn.LSTM(3, 4, dtype=ember.float64)
    t = torch_twin(e, torch.nn.LSTM(3, 4, dtype=torch.float64))
    a = RNG.standard_normal((2, 2, 3))
    ex, tx = ember.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
    backprop_and_compare(e(ex), t(tx), [ex], [tx], e, t, atol=1e-10)


@pytest.mark.parametrize("mode", MODES)
def test_parameter_names_shapes_repr_and_init(mode):
    kw = dict(num_layers=2, bidirectional=True, batch_first=True)
    if mode == "LSTM":
        kw["proj_size"] = 3
    e, t = make(mode, 10, 20, **kw)
    assert [(n, tuple(p.shape)) for n, p in e.named_parameters()] == \
        [(n, tuple(p.shape)) for n, p in t.named_parameters()]
    assert repr(e) == repr(t)
    assert e._flat_weights_names == t._flat_weights_names
    assert [[tuple(w.shape) for w in layer] for layer in e.all_weights] == \
        [[tuple(w.shape) for w in layer] for layer in t.all_weights]
    bound = 1 / np.sqrt(20)
    for p in e.parameters():
        assert np.all(np.abs(p.detach().numpy()) <= bound)
    assert max(np.abs(p.detach().numpy()).max() for p in e.parameters()) > 0.9 * bound


def test_repr_variants():
    cases = [("LSTM", (10, 20), dict(num_layers=2, batch_first=True)),
             ("GRU", (10, 20), dict(bias=False, dropout=0.5, bidirectional=True, num_layers=2)),
             ("RNN", (3, 4), dict(nonlinearity="relu")), ("LSTM", (3, 4), dict(proj_size=2))]
    for name, args, kw in cases:
        assert repr(getattr(ember.nn, name)(*args, **kw)) == repr(getattr(torch.nn, name)(*args, **kw))
    assert repr(ember.nn.LSTM(10, 20, num_layers=2, batch_first=True)) == "LSTM(10, 20, num_layers=2, batch_first=True)"
    for name, kw in [("LSTMCell", {}), ("RNNCell", dict(nonlinearity="relu", bias=False)), ("GRUCell", {})]:
        assert repr(getattr(ember.nn, name)(3, 4, **kw)) == repr(getattr(torch.nn, name)(3, 4, **kw))


@pytest.mark.parametrize("mode", MODES)
def test_hidden_state_is_a_plain_tensor(mode):
    m = getattr(ember.nn, mode)(3, 4)
    n_params = len(list(m.parameters()))
    out, state = m(ember.randn(2, 1, 3))
    states = state if isinstance(state, tuple) else (state,)
    for h in states:
        assert type(h) is ember.Tensor and not isinstance(h, ember.nn.Parameter)
        assert h.grad_fn is not None and not h.is_leaf
    m.hidden = states[0].detach()  # keeping the state on the module does not register it
    assert len(list(m.parameters())) == n_params
    assert "hidden" not in dict(m.named_parameters()) and "hidden" not in m.state_dict()
    out2, _ = m(ember.randn(2, 1, 3), state)  # feeding the state back in works
    assert out2.shape == (2, 1, 4)


def _err(fn, exc, match):
    with pytest.raises(exc, match=match):
        fn()


def test_layer_errors_match_torch():
    lstm = ember.nn.LSTM(10, 20, num_layers=2)
    _err(lambda: lstm(ember.randn(3, 4, 5)), RuntimeError,
         r"input.size\(-1\) must be equal to input_size. Expected 10, got 5")
    _err(lambda: lstm(ember.randn(3, 4, 10), (ember.randn(1, 3, 20), ember.randn(2, 3, 20))), RuntimeError,
         r"Expected hidden\[0\] size \(2, 4, 20\), got \[1, 3, 20\]")
    _err(lambda: lstm(ember.randn(3, 4, 10), (ember.randn(2, 4, 20), ember.randn(2, 4, 21))), RuntimeError,
         r"Expected hidden\[1\] size \(2, 4, 20\), got \[2, 4, 21\]")
    _err(lambda: lstm(ember.randn(3, 4, 10), (ember.randn(2, 20), ember.randn(2, 20))), RuntimeError,
         r"For batched 3-D input, hx and cx should also be 3-D but got \(2-D, 2-D\) tensors")
    _err(lambda: lstm(ember.randn(4, 10), (ember.randn(2, 3, 20), ember.randn(2, 3, 20))), RuntimeError,
         r"For unbatched 2-D input, hx and cx should also be 2-D but got \(3-D, 3-D\) tensors")
    _err(lambda: lstm(ember.randn(3, 4, 5, 10)), ValueError, "LSTM: Expected input to be 2D or 3D, got 4D instead")
    _err(lambda: lstm(ember.randn(3, 4, 10, dtype=ember.float64)), ValueError,
         r"RNN input dtype \(torch.float64\) does not match weight dtype \(torch.float32\)")
    gru = ember.nn.GRU(10, 20)
    _err(lambda: gru(ember.randn(3, 3, 10), ember.randn(2, 3, 20)), RuntimeError,
         r"Expected hidden size \(1, 3, 20\), got \[2, 3, 20\]")
    _err(lambda: gru(ember.randn(3, 10), ember.randn(1, 4, 20)), RuntimeError,
         "For unbatched 2-D input, hx should also be 2-D but got 3-D tensor")


def test_constructor_errors_match_torch():
    _err(lambda: ember.nn.RNN(3, 4, nonlinearity="x"), ValueError,
         "Unknown nonlinearity 'x'. Select from 'tanh' or 'relu'.")
    _err(lambda: ember.nn.LSTM(3, 4, dropout=2), ValueError, r"dropout should be a number in range \[0, 1\]")
    _err(lambda: ember.nn.GRU(3, 4, proj_size=2), ValueError, "proj_size argument is only supported for LSTM")
    _err(lambda: ember.nn.LSTM(3, 4, proj_size=4), ValueError, "proj_size has to be smaller than hidden_size")
    _err(lambda: ember.nn.LSTM(3, 4, num_layers=0), ValueError, "num_layers must be greater than zero")
    _err(lambda: ember.nn.LSTM(3, 0), ValueError, "hidden_size must be greater than zero")
    with pytest.warns(UserWarning, match="non-zero dropout expects num_layers greater than 1"):
        ember.nn.LSTM(3, 4, dropout=0.5)


# ------------------------------------------------------------------------------------------
# Cells
# ------------------------------------------------------------------------------------------

CELLS = [("RNNCell", {}), ("RNNCell", dict(nonlinearity="relu")), ("LSTMCell", {}), ("GRUCell", {}),
         ("GRUCell", dict(bias=False))]


@pytest.mark.parametrize("name,kw", CELLS)
@pytest.mark.parametrize("batched", [True, False])
@pytest.mark.parametrize("with_state", [True, False])
def test_cell_matches_torch(name, kw, batched, with_state):
    e = getattr(ember.nn, name)(3, 4, **kw)
    t = torch_twin(e, getattr(torch.nn, name)(3, 4, **kw))
    lead = (2,) if batched else ()
    ex, tx = pair(lead + (3,))
    e_leaves, t_leaves, e_args, t_args = [ex], [tx], [ex], [tx]
    if with_state:
        states = [pair(lead + (4,)) for _ in range(2 if name == "LSTMCell" else 1)]
        e_leaves += [s[0] for s in states]
        t_leaves += [s[1] for s in states]
        e_args.append(tuple(s[0] for s in states) if name == "LSTMCell" else states[0][0])
        t_args.append(tuple(s[1] for s in states) if name == "LSTMCell" else states[0][1])
    backprop_and_compare(e(*e_args), t(*t_args), e_leaves, t_leaves, e, t)


@pytest.mark.parametrize("name", ["RNNCell", "LSTMCell", "GRUCell"])
def test_cell_gradcheck(name):
    cell = getattr(ember.nn, name)(2, 3, dtype=ember.float64)
    w_ih, w_hh, b_ih, b_hh = (p.detach().numpy() for p in cell.parameters())

    def fn(x, h, w_ih, w_hh, b_ih, b_hh):
        # the check's input tensors stand in for the parameters (kept in the graph)
        cell._parameters.update(weight_ih=w_ih, weight_hh=w_hh, bias_ih=b_ih, bias_hh=b_hh)
        out = cell(x, (h, h * 0.5) if name == "LSTMCell" else h)
        return out if not isinstance(out, tuple) else out[0] + out[1]
    gradcheck(fn, RNG.standard_normal((2, 2)), RNG.standard_normal((2, 3)), w_ih, w_hh, b_ih, b_hh, gradgrad=True)


def test_cell_errors_match_torch():
    c = ember.nn.LSTMCell(3, 4)
    _err(lambda: c(ember.randn(2, 5)), RuntimeError, "input has inconsistent input_size: got 5 expected 3")
    _err(lambda: c(ember.randn(2, 3), (ember.randn(3, 4), ember.randn(2, 4))), RuntimeError,
         "Input batch size 2 doesn't match hidden0 batch size 3")
    _err(lambda: c(ember.randn(2, 2, 3)), ValueError, "LSTMCell: Expected input to be 1D or 2D, got 3D instead")
    g = ember.nn.GRUCell(3, 4)
    _err(lambda: g(ember.randn(2, 3), ember.randn(2, 5)), RuntimeError,
         "hidden0 has inconsistent hidden_size: got 5, expected 4")


# ------------------------------------------------------------------------------------------
# The fused layer op: gradcheck (array BPTT) and double backward (ember-op recompute)
# ------------------------------------------------------------------------------------------

LAYER_CASES = [("LSTM", 0), ("LSTM", 2), ("GRU", 0), ("RNN_TANH", 0), ("RNN_RELU", 0)]


def _layer_arrays(mode, proj, batch_sizes=(3, 2, 2, 1), input_size=2, hidden=3):
    gates = {"LSTM": 4, "GRU": 3}.get(mode, 1)
    real = proj or hidden
    shapes = [(sum(batch_sizes), input_size), (batch_sizes[0], real), (batch_sizes[0], hidden),
              (gates * hidden, input_size), (gates * hidden, real), (gates * hidden,), (gates * hidden,)]
    if proj:
        shapes.append((proj, hidden))
    return [RNG.standard_normal(s) * 0.7 for s in shapes]


def _layer_fn(mode, proj, reverse, batch_sizes=(3, 2, 2, 1)):
    def fn(x, h0, c0, w_ih, w_hh, b_ih, b_hh, w_hr=None):
        out, h, c = rnn_layer(mode, x, batch_sizes, h0, c0 if mode == "LSTM" else None, w_ih, w_hh, b_ih, b_hh,
                              w_hr, reverse)
        return (out, h) if c is None else (out, h, c)
    return fn


@pytest.mark.parametrize("mode,proj", LAYER_CASES)
@pytest.mark.parametrize("reverse", [False, True])
def test_fused_layer_gradcheck(mode, proj, reverse):
    arrays = _layer_arrays(mode, proj)
    fn = _layer_fn(mode, proj, reverse)
    if mode != "LSTM":
        arrays[2] = RNG.standard_normal(1)  # c0 unused; keep one scalar-ish input in its place
    gradcheck(fn, *arrays)


@pytest.mark.parametrize("mode,proj", [("LSTM", 0), ("GRU", 0), ("RNN_TANH", 0)])
def test_fused_layer_double_backward(mode, proj):
    arrays = _layer_arrays(mode, proj, batch_sizes=(2, 1), hidden=2)
    if mode != "LSTM":
        arrays[2] = RNG.standard_normal(1)
    gradcheck(_layer_fn(mode, proj, True, batch_sizes=(2, 1)), *arrays, gradgrad=True)


@pytest.mark.parametrize("mode,proj", LAYER_CASES)
def test_fused_layer_matches_reference(mode, proj):
    """The array BPTT and the step-by-step ember-op version agree (packed steps, both directions)."""
    arrays = _layer_arrays(mode, proj)
    for reverse in (False, True):
        a = [ember.tensor(x, requires_grad=True) for x in arrays]
        b = [ember.tensor(x, requires_grad=True) for x in arrays]
        c_a, c_b = (a[2], b[2]) if mode == "LSTM" else (None, None)
        extra_a, extra_b = (a[7],) if proj else (), (b[7],) if proj else ()
        outs_a = rnn_layer(mode, a[0], (3, 2, 2, 1), a[1], c_a, *a[3:7], *extra_a, reverse=reverse)
        outs_b = reference_layer(mode, b[0], (3, 2, 2, 1), b[1], c_b, *b[3:7], *extra_b, reverse=reverse)
        sum(o.sin().sum() for o in outs_a if o is not None).backward()
        sum(o.sin().sum() for o in outs_b if o is not None).backward()
        for o, r in zip(outs_a, outs_b):
            if o is not None:
                np.testing.assert_allclose(o.detach().numpy(), r.detach().numpy(), atol=1e-12)
        for x, y in zip(a, b):
            if y.grad is None:
                assert x.grad is None
            else:
                np.testing.assert_allclose(x.grad.numpy(), y.grad.numpy(), atol=1e-10)


def test_layer_graph_is_one_node_per_layer_and_direction():
    m = ember.nn.LSTM(3, 4, num_layers=2, bidirectional=True)
    out, (h, c) = m(ember.randn(50, 2, 3))
    seen, stack = set(), [out.grad_fn]
    while stack:
        node = stack.pop()
        if node is None or node in seen:
            continue
        seen.add(node)
        stack.extend(n for n, _ in node.next_functions)
    fused = [n for n in seen if n.name() == "MkldnnRnnLayerBackward0"]
    assert len(fused) == 4
    assert len(seen) < 40  # independent of the 50 time steps


def test_backward_twice_needs_retain_graph():
    m = ember.nn.GRU(3, 4)
    out, _ = m(ember.randn(4, 2, 3))
    out.sum().backward(retain_graph=True)
    first = m.weight_hh_l0.grad.numpy().copy()
    out.sum().backward()
    np.testing.assert_allclose(m.weight_hh_l0.grad.numpy(), 2 * first, rtol=1e-5)
    with pytest.raises(RuntimeError, match="Trying to backward through the graph a second time"):
        out.sum().backward()


def test_no_graph_under_no_grad():
    m = ember.nn.LSTM(3, 4)
    with ember.no_grad():
        out, (h, c) = m(ember.randn(4, 2, 3))
    assert out.grad_fn is None and h.grad_fn is None and not out.requires_grad


# ------------------------------------------------------------------------------------------
# unbind / split / chunk: one shared backward node for all outputs
# ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("op", [lambda T, x: T.unbind(x, 1), lambda T, x: T.split(x, 2, 1),
                                lambda T, x: T.split(x, [1, 3, 1], 1), lambda T, x: T.chunk(x, 3, 1)])
def test_multi_output_views_share_one_node(op):
    ex, tx = pair((2, 5, 3))
    e_parts, t_parts = op(ember, ex), op(torch, tx)
    assert e_parts[0].grad_fn is e_parts[-1].grad_fn
    assert e_parts[0].grad_fn.name() == t_parts[0].grad_fn.name()
    # only some outputs get a gradient: the rest count as zeros
    (e_parts[0].sum() * 2 + e_parts[-1].exp().sum()).backward()
    (t_parts[0].sum() * 2 + t_parts[-1].exp().sum()).backward()
    assert_same(ex.grad, tx.grad)


def test_unbind_create_graph():
    x = ember.tensor(RNG.standard_normal((3, 2)), requires_grad=True)
    tx = torch.tensor(x.detach().numpy(), requires_grad=True)
    results = []
    for T, v in ((ember, x), (torch, tx)):
        a, b, c = v.unbind(0)
        (g,) = T.autograd.grad((a * b * c).sum() + (a ** 3).sum(), v, create_graph=True)
        (gg,) = T.autograd.grad((g * g).sum(), v)
        results.append((g, gg))
    assert_same(results[0][0], results[1][0])
    assert_same(results[0][1], results[1][1])
