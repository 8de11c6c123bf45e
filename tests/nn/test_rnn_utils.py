"""nn.utils.rnn (pad/pack helpers, PackedSequence) and packed input to RNN/LSTM/GRU, against torch."""
import numpy as np
import pytest

import ember
from ember.nn.utils import rnn as eru
from tests.helpers import torch, assert_same, check, rand
from tests.nn.test_rnn import torch_twin, backprop_and_compare, pair

tru = torch.nn.utils.rnn


@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("side", ["right", "left"])
def test_pad_sequence(batch_first, side):
    check(lambda T, a, b, c: T.nn.utils.rnn.pad_sequence([a, b, c], batch_first, -1.5, side),
          rand(3, 2), rand(1, 2), rand(4, 2))


def test_pad_sequence_error():
    with pytest.raises(RuntimeError, match="Expected padding_side to be one of left or right, but got x."):
        eru.pad_sequence([ember.ones(2)], padding_side="x")


def _same_packed(e, t):
    assert_same(e.data, t.data)
    assert_same(e.batch_sizes, t.batch_sizes)
    for a, b in ((e.sorted_indices, t.sorted_indices), (e.unsorted_indices, t.unsorted_indices)):
        assert (a is None) == (b is None)
        if a is not None:
            assert_same(a, b)


@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("lengths,enforce", [([4, 3, 3, 1], True), ([1, 4, 2, 2], False), ([2, 2, 2, 2], False)])
def test_pack_and_pad_round_trip(batch_first, lengths, enforce):
    x = rand(4, 4, 3).astype(np.float32)
    results = []
    for T in (ember, torch):
        v = T.tensor(x, requires_grad=True)
        packed = T.nn.utils.rnn.pack_padded_sequence(v, lengths, batch_first=batch_first, enforce_sorted=enforce)
        padded, lens = T.nn.utils.rnn.pad_packed_sequence(packed, batch_first=batch_first, padding_value=9.0,
                                                          total_length=5)
        (padded * T.arange(padded.numel()).reshape(padded.shape).float()).sum().backward()
        results.append((packed, padded, lens, v.grad))
    _same_packed(results[0][0], results[1][0])
    for e, t in zip(results[0][1:], results[1][1:]):
        assert_same(e, t)
    assert results[0][0].batch_sizes.dtype is ember.int64 and results[0][0].batch_sizes.device.type == "cpu"


def test_pack_sequence_and_unpack():
    seqs = [rand(3, 2), rand(1, 2), rand(2, 2)]
    e = eru.pack_sequence([ember.tensor(s) for s in seqs], enforce_sorted=False)
    t = tru.pack_sequence([torch.tensor(s) for s in seqs], enforce_sorted=False)
    _same_packed(e, t)
    for a, b in zip(eru.unpack_sequence(e), tru.unpack_sequence(t)):
        assert_same(a, b)
    padded = eru.pad_sequence([ember.tensor(s) for s in seqs], batch_first=True)
    for a, s in zip(eru.unpad_sequence(padded, ember.tensor([3, 1, 2]), batch_first=True), seqs):
        np.testing.assert_array_equal(a.numpy(), s)
    assert isinstance(e, tuple) and e._fields == ("data", "batch_sizes", "sorted_indices", "unsorted_indices")


def test_pack_errors_match_torch():
    x = ember.randn(3, 4, 2)
    with pytest.raises(RuntimeError, match="`lengths` array must be sorted in decreasing order when "
                                           "`enforce_sorted` is True"):
        eru.pack_padded_sequence(x, [1, 3, 2, 2])
    with pytest.raises(RuntimeError, match="Length of all samples has to be greater than 0"):
        eru.pack_padded_sequence(x, [3, 3, 2, 0])
    packed = eru.pack_padded_sequence(x, [1, 3, 2, 2], enforce_sorted=False)
    with pytest.raises(ValueError, match="Expected total_length to be at least the length of the longest sequence "
                                         "in input, but got total_length=2 and max sequence length being 3"):
        eru.pad_packed_sequence(packed, total_length=2)


@pytest.mark.parametrize("mode", ["RNN", "LSTM", "GRU"])
@pytest.mark.parametrize("kw", [dict(), dict(num_layers=2, bidirectional=True)])
@pytest.mark.parametrize("with_state", [False, True])
def test_modules_on_packed_unsorted(mode, kw, with_state):
    e = getattr(ember.nn, mode)(3, 4, **kw)
    t = torch_twin(e, getattr(torch.nn, mode)(3, 4, **kw))
    lengths = [2, 5, 1, 3]
    ex, tx = pair((5, 4, 3))
    e_args = [eru.pack_padded_sequence(ex, lengths, enforce_sorted=False)]
    t_args = [tru.pack_padded_sequence(tx, lengths, enforce_sorted=False)]
    e_leaves, t_leaves = [ex], [tx]
    if with_state:
        layers = kw.get("num_layers", 1) * (2 if kw.get("bidirectional") else 1)
        states = [pair((layers, 4, 4)) for _ in range(2 if mode == "LSTM" else 1)]
        e_leaves += [s[0] for s in states]
        t_leaves += [s[1] for s in states]
        e_args.append(tuple(s[0] for s in states) if mode == "LSTM" else states[0][0])
        t_args.append(tuple(s[1] for s in states) if mode == "LSTM" else states[0][1])
    e_out, e_state = e(*e_args)
    t_out, t_state = t(*t_args)
    assert isinstance(e_out, eru.PackedSequence)
    _same_packed(e_out, t_out)
    e_padded, _ = eru.pad_packed_sequence(e_out, batch_first=True)
    t_padded, _ = tru.pad_packed_sequence(t_out, batch_first=True)
    backprop_and_compare((e_padded, e_state), (t_padded, t_state), e_leaves, t_leaves, e, t)
