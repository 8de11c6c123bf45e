"""ember.utils.data against torch.utils.data: datasets, samplers, collation and the DataLoader."""
from __future__ import annotations

import collections
import os
import re
import time
import warnings

import numpy as np
import pytest

import ember
from ember.utils import data as edata
from tests.helpers import assert_same, rand

torch = pytest.importorskip("torch")
tdata = torch.utils.data

LIBS = [(ember, edata), (torch, tdata)]
Point = collections.namedtuple("Point", ["x", "y"])


def assert_same_tree(e, t):
    """Compare nested ember/torch results: tensors by shape, dtype and values; containers by type and items."""
    if isinstance(t, torch.Tensor):
        assert_same(e, t)
    elif isinstance(t, dict):
        assert type(e) is dict and list(e) == list(t)
        for key in t:
            assert_same_tree(e[key], t[key])
    elif isinstance(t, (list, tuple)):
        assert type(e).__name__ == type(t).__name__, f"{type(e)} != torch {type(t)}"
        assert len(e) == len(t)
        for a, b in zip(e, t):
            assert_same_tree(a, b)
    elif isinstance(t, np.ndarray):
        np.testing.assert_array_equal(e, t)
    else:
        assert type(e) is type(t) and e == t


def both(fn):
    """Run ``fn(T, data_module)`` for ember and torch; return both results."""
    return [fn(T, D) for T, D in LIBS]


def same_error(fn, exc_type):
    """``fn(T, D)`` raises ``exc_type`` with the same message in ember as in torch."""
    messages = []
    for T, D in LIBS:
        with pytest.raises(exc_type) as info:
            fn(T, D)
        messages.append(str(info.value))
    assert messages[0] == messages[1]
    return messages[0]


# ---------------------------------------------------------------------------------- datasets
def _tensor_dataset(T, D, n=7):
    x = np.arange(n * 3, dtype=np.float32).reshape(n, 3)
    y = np.arange(n, dtype=np.int64)
    return D.TensorDataset(T.from_numpy(x), T.from_numpy(y))


def test_tensor_dataset_items_and_len():
    e, t = both(_tensor_dataset)
    assert len(e) == len(t) == 7
    for i in [0, 3, 6, -1]:
        assert_same_tree(e[i], t[i])
    assert_same_tree(e[1:4], t[1:4])


def test_tensor_dataset_size_mismatch():
    msg = same_error(lambda T, D: D.TensorDataset(T.zeros(3, 2), T.zeros(4)), AssertionError)
    assert msg == "Size mismatch between tensors"


def test_dataset_base_getitem_not_implemented():
    msg = same_error(lambda T, D: D.Dataset()[0], NotImplementedError)
    assert msg == "Subclasses of Dataset should implement __getitem__."


def test_dataset_add_makes_concat():
    e = _tensor_dataset(ember, edata, 3) + _tensor_dataset(ember, edata, 4)
    assert isinstance(e, edata.ConcatDataset)
    assert len(e) == 7 and e.cumulative_sizes == [3, 7]


def test_concat_dataset_indexing_matches_torch():
    e, t = both(lambda T, D: D.ConcatDataset([list(range(3)), list(range(10, 14)), [], list(range(20, 22))]))
    assert e.cumulative_sizes == t.cumulative_sizes == [3, 7, 7, 9]
    for i in range(-9, 9):
        assert e[i] == t[i]


def test_concat_dataset_errors():
    make = lambda T, D: D.ConcatDataset([[1, 2], [3]])  # noqa: E731
    assert same_error(lambda T, D: make(T, D)[-4], ValueError) == \
        "absolute value of index should not exceed dataset length"
    assert same_error(lambda T, D: make(T, D)[3], IndexError) == "list index out of range"
    assert same_error(lambda T, D: D.ConcatDataset([]), AssertionError) == "datasets should not be an empty iterable"
    assert same_error(lambda T, D: D.ConcatDataset([_range_iterable(D, 3)]), AssertionError) == \
        "ConcatDataset does not support IterableDataset"


def _range_iterable(D, n, start=0):
    class RangeIterable(D.IterableDataset):
        def __iter__(self):
            return iter(range(start, start + n))

        def __len__(self):
            return n
    return RangeIterable()


def test_chain_dataset_and_iterable_add():
    e, t = both(lambda T, D: _range_iterable(D, 3) + _range_iterable(D, 2, start=10))
    assert isinstance(e, edata.ChainDataset)
    assert list(e) == list(t) == [0, 1, 2, 10, 11]
    assert len(e) == len(t) == 5
    assert same_error(lambda T, D: list(D.ChainDataset([[1, 2]])), AssertionError) == \
        "ChainDataset only supports IterableDataset"
    assert same_error(lambda T, D: len(D.ChainDataset([[1, 2]])), AssertionError) == \
        "ChainDataset only supports IterableDataset"


def test_subset():
    e, t = both(lambda T, D: D.Subset(list(range(100, 110)), [9, 2, 5]))
    assert len(e) == len(t) == 3
    assert [e[i] for i in range(3)] == [t[i] for i in range(3)] == [109, 102, 105]
    assert e.__getitems__([2, 0]) == t.__getitems__([2, 0])
    inner = both(lambda T, D: D.Subset(_tensor_dataset(T, D), [6, 1]))
    assert_same_tree(inner[0].__getitems__([1, 0]), inner[1].__getitems__([1, 0]))


def test_subset_subclass_must_override_getitems():
    def make(T, D):
        class Doubled(D.Subset):
            def __getitem__(self, idx):
                return 2 * super().__getitem__(idx)
        return Doubled([1, 2], [0])
    assert "Doubled overrides __getitem__ but not __getitems__" in same_error(make, NotImplementedError)


def test_stack_dataset():
    e, t = both(lambda T, D: D.StackDataset(_tensor_dataset(T, D, 4), list("abcd")))
    assert len(e) == len(t) == 4
    assert_same_tree(e[2], t[2])
    assert_same_tree(e.__getitems__([3, 1]), t.__getitems__([3, 1]))
    e, t = both(lambda T, D: D.StackDataset(a=list(range(3)), b=D.Subset(list("xyzw"), [3, 2, 1])))
    assert e[1] == t[1] == {"a": 1, "b": "z"}
    assert e.__getitems__([0, 2]) == t.__getitems__([0, 2])


def test_stack_dataset_errors():
    assert "but both types are given" in same_error(lambda T, D: D.StackDataset([1], b=[2]), ValueError)
    assert same_error(lambda T, D: D.StackDataset(), ValueError) == "At least one dataset should be passed"
    assert same_error(lambda T, D: D.StackDataset([1], [1, 2]), ValueError) == "Size mismatch between datasets"
    assert same_error(lambda T, D: D.StackDataset(a=[1], b=[1, 2]), ValueError) == "Size mismatch between datasets"


@pytest.mark.parametrize("n, lengths", [
    (10, [3, 7]), (10, [0.3, 0.7]), (30, [0.3, 0.3, 0.4]), (11, [0.5, 0.5]), (7, [0.2, 0.2, 0.2, 0.2, 0.2]),
    (5, [5]), (3, [0.1, 0.1, 0.8]), (0, [0, 0]),
])
def test_random_split_lengths_match_torch(n, lengths):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        e, t = both(lambda T, D: D.random_split(list(range(n)), lengths, generator=T.Generator().manual_seed(0)))
    assert [len(s) for s in e] == [len(s) for s in t]
    picked = [s[i] for s in e for i in range(len(s))]
    assert sorted(picked) == list(range(n))


def test_random_split_reproducible_and_default_generator():
    split = lambda: [list(s.indices) for s in edata.random_split(range(20), [0.5, 0.5],  # noqa: E731
                                                                   generator=ember.Generator().manual_seed(3))]
    assert split() == split()
    ember.manual_seed(5)
    first = [list(s.indices) for s in edata.random_split(range(20), [10, 10])]
    ember.manual_seed(5)
    assert first == [list(s.indices) for s in edata.random_split(range(20), [10, 10])]


def test_random_split_errors_and_warning():
    assert same_error(lambda T, D: D.random_split(range(10), [3, 3]), ValueError) == \
        "Sum of input lengths does not equal the length of the input dataset!"
    assert same_error(lambda T, D: D.random_split(range(10), [1.5, -0.5]), ValueError) == \
        "Fraction at index 0 is not between 0 and 1"
    with pytest.warns(UserWarning, match="Length of split at index 1 is 0"):
        edata.random_split(range(2), [0.9, 0.1])


# ---------------------------------------------------------------------------------- samplers
def test_sequential_sampler():
    e, t = both(lambda T, D: D.SequentialSampler(range(6)))
    assert list(e) == list(t) == list(range(6))
    assert len(e) == len(t) == 6


@pytest.mark.parametrize("replacement, num_samples", [(False, None), (False, 25), (False, 4), (True, None),
                                                      (True, 70)])
def test_random_sampler(replacement, num_samples):
    n = 10
    e, t = both(lambda T, D: D.RandomSampler(range(n), replacement, num_samples))
    assert len(e) == len(t) == (num_samples or n)
    ember.manual_seed(0)
    first = list(e)
    assert len(first) == len(e) and all(0 <= i < n for i in first)
    if not replacement:
        # every full pass is a permutation; the tail is part of one
        for start in range(0, len(first) - n + 1, n):
            assert sorted(first[start:start + n]) == list(range(n))
        assert len(set(first[len(first) // n * n:])) == len(first) % n
    ember.manual_seed(0)
    assert list(e) == first


def test_random_sampler_new_order_each_epoch_and_generator():
    sampler = edata.RandomSampler(range(30))
    ember.manual_seed(1)
    assert list(sampler) != list(sampler)
    gen_order = lambda: list(edata.RandomSampler(range(30), generator=ember.Generator().manual_seed(7)))  # noqa: E731
    assert gen_order() == gen_order()


def test_random_sampler_errors():
    assert same_error(lambda T, D: D.RandomSampler(range(3), replacement=1), TypeError) == \
        "replacement should be a boolean value, but got replacement=1"
    assert same_error(lambda T, D: D.RandomSampler(range(3), num_samples=0), ValueError) == \
        "num_samples should be a positive integer value, but got num_samples=0"
    assert same_error(lambda T, D: D.RandomSampler([]), ValueError) == \
        "num_samples should be a positive integer value, but got num_samples=0"


def test_subset_random_sampler():
    indices = [3, 8, 12, 40]
    sampler = edata.SubsetRandomSampler(indices, generator=ember.Generator().manual_seed(2))
    assert len(sampler) == len(tdata.SubsetRandomSampler(indices)) == 4
    drawn = list(sampler)
    assert sorted(drawn) == indices
    assert drawn == list(edata.SubsetRandomSampler(indices, generator=ember.Generator().manual_seed(2)))


def test_weighted_random_sampler():
    weights = [0.0, 1.0, 3.0, 0.0, 2.0]
    e, t = both(lambda T, D: D.WeightedRandomSampler(weights, 50))
    assert len(e) == len(t) == 50
    ember.manual_seed(0)
    drawn = list(e)
    assert len(drawn) == 50 and set(drawn) <= {1, 2, 4}
    ember.manual_seed(0)
    assert list(e) == drawn
    unique = list(edata.WeightedRandomSampler(weights, 3, replacement=False))
    assert sorted(unique) == [1, 2, 4]
    assert_same(e.weights, t.weights)


def test_weighted_random_sampler_errors():
    assert same_error(lambda T, D: D.WeightedRandomSampler([1.0], 0), ValueError) == \
        "num_samples should be a positive integer value, but got num_samples=0"
    assert same_error(lambda T, D: D.WeightedRandomSampler([1.0], True), ValueError) == \
        "num_samples should be a positive integer value, but got num_samples=True"
    assert same_error(lambda T, D: D.WeightedRandomSampler([1.0], 2, replacement=0), ValueError) == \
        "replacement should be a boolean value, but got replacement=0"
    assert same_error(lambda T, D: D.WeightedRandomSampler([[1.0, 2.0]], 2), ValueError) == \
        "weights should be a 1d sequence but given weights have shape (1, 2)"


@pytest.mark.parametrize("n, batch_size, drop_last", [(10, 3, False), (10, 3, True), (9, 3, True), (2, 5, False),
                                                      (2, 5, True), (0, 2, False), (7, 1, False)])
def test_batch_sampler(n, batch_size, drop_last):
    e, t = both(lambda T, D: D.BatchSampler(D.SequentialSampler(range(n)), batch_size, drop_last))
    assert list(e) == list(t)
    assert len(e) == len(t) == len(list(e))


@pytest.mark.parametrize("batch_size", [0, -1, 2.0, True, "3"])
def test_batch_sampler_bad_batch_size(batch_size):
    assert same_error(lambda T, D: D.BatchSampler(range(3), batch_size, False), ValueError) == \
        f"batch_size should be a positive integer value, but got batch_size={batch_size}"


def test_batch_sampler_bad_drop_last():
    assert same_error(lambda T, D: D.BatchSampler(range(3), 2, 0), ValueError) == \
        "drop_last should be a boolean value, but got drop_last=0"


def test_sampler_base():
    with pytest.raises(NotImplementedError):
        iter(edata.Sampler())


# ---------------------------------------------------------------------------------- collation
_TENSOR_VALUES = [rand(2, 3).astype(np.float32) for _ in range(3)]


def _samples(T):
    """Three samples of a nested structure with every kind of leaf default_collate handles."""
    out = []
    for i in range(3):
        out.append({
            "tensor": T.from_numpy(_TENSOR_VALUES[i]),
            "array": np.full((2,), i, dtype=np.int32),
            "np_scalar": np.float32(i) / 2,
            "np_bool": np.bool_(i % 2),
            "int": i,
            "float": i / 3,
            "bool": i == 1,
            "str": f"s{i}",
            "bytes": b"b",
            "tuple": (i, float(i)),
            "list": [np.arange(2.0) * i, [i, i + 1]],
            "point": Point(i, np.float64(i)),
        })
    return out


def test_default_collate_nested_matches_torch():
    e, t = both(lambda T, D: D.default_collate(_samples(T)))
    assert_same_tree(e, t)
    assert e["int"].dtype is ember.int64 and e["float"].dtype is ember.float64 and e["bool"].dtype is ember.bool


@pytest.mark.parametrize("batch", [
    [1, 2, 3], [1.5, 2.0], [True, False], ["a", "b"], [(1, "x"), (2, "y")], [[1, 2], [3, 4]],
    [np.arange(6).reshape(2, 3), np.ones((2, 3), dtype=np.int64)], [np.float64(1), np.float64(2)],
    [np.array(1.5, dtype=np.float32), np.array(2.5, dtype=np.float32)], [Point(1, 2.0), Point(3, 4.0)],
    [{"a": [1, 2]}, {"a": [3, 4]}], [np.zeros((0, 2)), np.zeros((0, 2))],
])
def test_default_collate_leaves(batch):
    e, t = both(lambda T, D: D.default_collate(batch))
    assert_same_tree(e, t)


@pytest.mark.parametrize("shape", [(3,), (2, 0), ()])
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int64, np.uint8, np.bool_])
def test_default_collate_tensors(shape, dtype):
    arrays = [rand(*shape, dtype=dtype, low=0, high=5) for _ in range(4)]
    e, t = both(lambda T, D: D.default_collate([T.from_numpy(np.asarray(a)) for a in arrays]))
    assert_same(e, t)


def test_default_collate_copies_inputs():
    samples = [ember.zeros(3), ember.ones(3)]
    arrays = [np.zeros(2), np.ones(2)]
    batch = edata.default_collate(samples)
    batch_np = edata.default_collate(arrays)
    batch += 5
    batch_np += 5
    assert samples[0].tolist() == [0.0, 0.0, 0.0] and arrays[1].tolist() == [1.0, 1.0]


def test_default_collate_errors():
    msg = same_error(lambda T, D: D.default_collate([T.zeros(2), T.zeros(3)]), RuntimeError)
    assert msg.startswith("stack expects each tensor to be equal size, but got [2] at entry 0 and [3] at entry 1")
    assert same_error(lambda T, D: D.default_collate([np.zeros(2), np.zeros(3)]), RuntimeError) == msg
    assert same_error(lambda T, D: D.default_collate([[1, 2], [3]]), RuntimeError) == \
        "each element in list of batch should be of equal size"
    assert same_error(lambda T, D: D.default_collate([object()]), TypeError) == \
        "default_collate: batch must contain tensors, numpy arrays, numbers, dicts or lists; found <class 'object'>"
    assert same_error(lambda T, D: D.default_collate([np.array(["a"])]), TypeError) == \
        "default_collate: batch must contain tensors, numpy arrays, numbers, dicts or lists; found <U1"


@pytest.mark.parametrize("sample", [
    3, 1.5, "text", np.arange(3), np.float32(2.5), np.array(["a"]), (np.arange(2), 1), [np.ones(2), "x"],
    {"a": np.zeros((2, 2)), "b": [1]}, Point(np.array(0), np.array(1.0)),
])
def test_default_convert(sample):
    e, t = both(lambda T, D: D.default_convert(sample))
    assert_same_tree(e, t)


def test_default_convert_keeps_tensor():
    x = ember.ones(2)
    assert edata.default_convert(x) is x


# ---------------------------------------------------------------------------------- DataLoader, one process
def _batches(loader):
    return [b for b in loader]


@pytest.mark.parametrize("n, batch_size, drop_last", [(10, 3, False), (10, 3, True), (9, 3, False), (4, 8, False),
                                                      (4, 8, True), (5, 1, False)])
def test_dataloader_sequential_matches_torch(n, batch_size, drop_last):
    e, t = both(lambda T, D: D.DataLoader(_tensor_dataset(T, D, n), batch_size=batch_size, drop_last=drop_last))
    assert len(e) == len(t)
    eb, tb = _batches(e), _batches(t)
    assert len(eb) == len(e)
    assert_same_tree(eb, tb)


def test_dataloader_dict_samples_and_collate_fn():
    e, t = both(lambda T, D: _batches(D.DataLoader(_samples(T), batch_size=2)))
    assert_same_tree(e, t)
    e, t = both(lambda T, D: _batches(D.DataLoader(list(range(5)), batch_size=2, collate_fn=lambda b: sum(b))))
    assert e == t == [1, 5, 4]


def test_dataloader_batch_size_none_converts_samples():
    samples = [np.arange(3) + i for i in range(3)] + [7, "x"]
    e, t = both(lambda T, D: _batches(D.DataLoader(samples, batch_size=None)))
    assert_same_tree(e, t)
    loader = edata.DataLoader(samples, batch_size=None)
    assert len(loader) == 5 and loader.batch_sampler is None


def test_dataloader_custom_sampler_and_batch_sampler():
    order = [4, 0, 3]
    e, t = both(lambda T, D: _batches(D.DataLoader(list(range(10, 15)), sampler=order, batch_size=2)))
    assert_same_tree(e, t)
    batches = [[1, 2], [0], [4, 3, 2]]
    e, t = both(lambda T, D: D.DataLoader(list(range(10, 15)), batch_sampler=batches))
    assert len(e) == len(t) == 3
    assert_same_tree(_batches(e), _batches(t))


def test_dataloader_uses_getitems():
    class Batched(edata.Dataset):
        def __init__(self):
            self.calls = []

        def __getitems__(self, indices):
            self.calls.append(list(indices))
            return [i * 10 for i in indices]

        def __len__(self):
            return 5
    ds = Batched()
    assert [b.tolist() for b in edata.DataLoader(ds, batch_size=3)] == [[0, 10, 20], [30, 40]]
    assert ds.calls == [[0, 1, 2], [3, 4]]


@pytest.mark.parametrize("batch_size, drop_last", [(None, False), (1, False), (3, False), (3, True), (20, True)])
def test_dataloader_iterable_dataset_matches_torch(batch_size, drop_last):
    e, t = both(lambda T, D: D.DataLoader(_range_iterable(D, 10), batch_size=batch_size, drop_last=drop_last))
    assert len(e) == len(t)
    assert_same_tree(_batches(e), _batches(t))


def test_dataloader_iterable_without_len():
    class NoLen(edata.IterableDataset):
        def __iter__(self):
            return iter(range(3))
    loader = edata.DataLoader(NoLen(), batch_size=2)
    assert [b.tolist() for b in loader] == [[0, 1], [2]]
    with pytest.raises(TypeError):
        len(loader)


def test_dataloader_iterable_len_warning():
    class Liar(edata.IterableDataset):
        def __iter__(self):
            return iter(range(4))

        def __len__(self):
            return 2
    loader = edata.DataLoader(Liar(), batch_size=None)
    assert len(loader) == 2
    with pytest.warns(UserWarning, match="was reported to be 2"):
        list(loader)


def test_dataloader_shuffle_reproducible_and_new_each_epoch():
    ds = list(range(40))
    loader = edata.DataLoader(ds, batch_size=8, shuffle=True)
    ember.manual_seed(0)
    epoch1 = [b.tolist() for b in loader]
    epoch2 = [b.tolist() for b in loader]
    assert sorted(sum(epoch1, [])) == ds and epoch1 != epoch2
    ember.manual_seed(0)
    assert [b.tolist() for b in loader] == epoch1
    with_gen = lambda: [b.tolist() for b in edata.DataLoader(  # noqa: E731
        ds, batch_size=8, shuffle=True, generator=ember.Generator().manual_seed(3))]
    assert with_gen() == with_gen()


def test_dataloader_len_and_iterator_len():
    loader = edata.DataLoader(list(range(10)), batch_size=4)
    assert len(loader) == 3 and len(iter(loader)) == 3


@pytest.mark.parametrize("kwargs, exc_type", [
    (dict(shuffle=True, sampler=[0, 1]), ValueError),
    (dict(batch_sampler=[[0]], batch_size=2), ValueError),
    (dict(batch_sampler=[[0]], shuffle=True), ValueError),
    (dict(batch_sampler=[[0]], sampler=[0]), ValueError),
    (dict(batch_sampler=[[0]], drop_last=True), ValueError),
    (dict(batch_size=None, drop_last=True), ValueError),
    (dict(num_workers=-1), ValueError),
    (dict(timeout=-1), ValueError),
    (dict(prefetch_factor=2), ValueError),
    (dict(num_workers=1, prefetch_factor=-1), ValueError),
    (dict(persistent_workers=True), ValueError),
    (dict(multiprocessing_context="fork"), ValueError),
    (dict(num_workers=1, multiprocessing_context="nope"), ValueError),
    (dict(num_workers=1, multiprocessing_context=3), TypeError),
    (dict(batch_size=0), ValueError),
])
def test_dataloader_argument_errors(kwargs, exc_type):
    same_error(lambda T, D: D.DataLoader(list(range(4)), **kwargs), exc_type)


@pytest.mark.parametrize("kwargs", [dict(shuffle=True), dict(sampler=[0]), dict(batch_sampler=[[0]])])
def test_dataloader_iterable_dataset_errors(kwargs):
    msg = same_error(lambda T, D: D.DataLoader(_range_iterable(D, 3), **kwargs), ValueError)
    assert msg.startswith("DataLoader with IterableDataset: expected unspecified")


def test_dataloader_attribute_frozen_and_timeout_single_process():
    loader = edata.DataLoader(list(range(4)))
    with pytest.raises(ValueError, match="^batch_size attribute should not be set after DataLoader is initialized$"):
        loader.batch_size = 2
    loader.num_workers = 0  # not guarded
    msg = same_error(lambda T, D: iter(D.DataLoader(list(range(4)), timeout=5)), AssertionError)
    assert msg == "_SingleProcessDataLoaderIter requires timeout == 0"


def test_get_worker_info_is_none_in_main_process():
    assert edata.get_worker_info() is None


# ---------------------------------------------------------------------------------- DataLoader, worker processes
class InfoDataset(edata.Dataset):
    """Each sample records which worker produced it."""

    def __init__(self, n):
        self.n = n

    def __getitem__(self, index):
        info = edata.get_worker_info()
        return {"index": index, "worker": info.id, "num_workers": info.num_workers, "seed": info.seed,
                "same_dataset": type(info.dataset) is InfoDataset, "value": np.full(2, index, np.float32),
                "init_id": _INIT_ID, "draw": ember.randint(0, 2 ** 30, ()).item()}

    def __len__(self):
        return self.n


class FailingDataset(edata.Dataset):
    def __init__(self, bad, exc):
        self.bad, self.exc = bad, exc

    def __getitem__(self, index):
        if index == self.bad:
            raise self.exc
        return index

    def __len__(self):
        return 20


def _assert_stopped(workers):
    assert workers and all(not w.is_alive() for w in workers)


@pytest.mark.parametrize("shuffle, drop_last", [(False, False), (True, True)])
def test_workers_return_same_batches_as_main_process(shuffle, drop_last):
    ds = _tensor_dataset(ember, edata, 203)
    results = []
    for workers in (0, 2):
        ember.manual_seed(11)
        loader = edata.DataLoader(ds, batch_size=16, shuffle=shuffle, drop_last=drop_last, num_workers=workers)
        results.append(_batches(loader))
    assert len(results[0]) == len(results[1]) == (12 if drop_last else 13)
    for a, b in zip(*results):
        assert a[0].tolist() == b[0].tolist() and a[1].tolist() == b[1].tolist()


def _info_batches(seed):
    loader = edata.DataLoader(InfoDataset(40), batch_size=4, num_workers=2,
                              generator=ember.Generator().manual_seed(seed), worker_init_fn=_record_init)
    it = iter(loader)
    return list(it), it


def test_workers_info_seed_init_fn_and_shutdown():
    batches, it = _info_batches(5)
    assert [i for b in batches for i in b["index"].tolist()] == list(range(40))
    workers = {w for b in batches for w in b["worker"].tolist()}
    assert workers == {0, 1}
    for b in batches:
        assert b["num_workers"].tolist() == [2] * 4 and all(b["same_dataset"].tolist())
        # seed = base_seed + worker id; worker_init_fn ran in each worker with its id
        assert len(set((b["seed"] - b["worker"]).tolist())) == 1
        assert b["init_id"].tolist() == b["worker"].tolist()
    assert b["value"].shape == (4, 2) and b["value"].dtype is ember.float32
    _assert_stopped(it._workers)
    # each worker's ember RNG is seeded from the loader's generator: reproducible, different per worker
    draws = [b["draw"].tolist() for b in batches]
    assert draws == [b["draw"].tolist() for b in _info_batches(5)[0]]
    assert draws[0][0] != draws[1][0]
    assert draws != [b["draw"].tolist() for b in _info_batches(6)[0]]


_INIT_ID = -1


def _record_init(worker_id):
    global _INIT_ID
    _INIT_ID = worker_id  # only the worker process's copy of this module changes
    if edata.get_worker_info().id != worker_id:
        raise RuntimeError("worker_init_fn got the wrong worker id")


def test_worker_init_fn_error_propagates():
    def bad_init(worker_id):
        raise KeyError("init failed")
    loader = edata.DataLoader(list(range(8)), batch_size=2, num_workers=2, worker_init_fn=bad_init)
    with pytest.raises(KeyError, match="Caught KeyError in DataLoader worker process 0"):
        list(loader)


@pytest.mark.parametrize("exc", [ValueError("bad item 13"), IndexError("bad item 13"),
                                 ZeroDivisionError("bad item 13")])
def test_worker_exception_propagates_with_type_and_message(exc):
    loader = edata.DataLoader(FailingDataset(13, exc), batch_size=3, num_workers=2)
    it = iter(loader)
    got = []
    with pytest.raises(type(exc), match=r"(?s)Caught \w+ in DataLoader worker process 0.*bad item 13"):
        for batch in it:
            got.append(batch.tolist())
    assert got == [[0, 1, 2], [3, 4, 5], [6, 7, 8], [9, 10, 11]]  # batches before the bad one arrive in order
    workers = it._workers
    del it
    _assert_stopped(workers)


def test_worker_exception_with_unusual_constructor_becomes_runtime_error():
    class TwoArgs(Exception):
        def __init__(self, a, b):
            super().__init__(a, b)
    loader = edata.DataLoader(FailingDataset(1, TwoArgs("x", "y")), batch_size=2, num_workers=1)
    with pytest.raises(RuntimeError, match="Caught TwoArgs in DataLoader worker process 0"):
        list(loader)


def test_unpicklable_batch_becomes_an_error():
    loader = edata.DataLoader(list(range(4)), batch_size=2, num_workers=1, timeout=10,
                              collate_fn=lambda batch: (lambda: batch))
    with pytest.raises(Exception, match="Caught \\w+ in DataLoader worker process 0") as info:
        list(loader)
    assert "pickle" in str(info.value)


def test_workers_stop_when_iterator_deleted_early():
    it = iter(edata.DataLoader(list(range(200)), batch_size=2, num_workers=2))
    assert next(it).tolist() == [0, 1]
    workers = it._workers
    assert all(w.is_alive() for w in workers)
    del it
    _assert_stopped(workers)


class Sharded(edata.IterableDataset):
    """Yields 0..n-1, split between workers when ``shard`` is set."""

    def __init__(self, n, shard):
        self.n, self.shard = n, shard

    def __iter__(self):
        info = edata.get_worker_info()
        if info is None or not self.shard:
            return iter(range(self.n))
        return iter(range(info.id, self.n, info.num_workers))


def test_iterable_dataset_with_workers_replicates_or_shards():
    replicated = [i for b in edata.DataLoader(Sharded(25, False), batch_size=4, num_workers=2) for i in b.tolist()]
    assert sorted(replicated) == sorted(list(range(25)) * 2)
    sharded = [b.tolist() for b in edata.DataLoader(Sharded(25, True), batch_size=4, num_workers=2)]
    # batches alternate between workers until one runs out
    assert sorted(i for b in sharded for i in b) == list(range(25))
    assert sharded[0] == [0, 2, 4, 6] and sharded[1] == [1, 3, 5, 7]
    unbatched = list(edata.DataLoader(Sharded(9, True), batch_size=None, num_workers=2))
    assert unbatched == [0, 1, 2, 3, 4, 5, 6, 7, 8]


def test_persistent_workers_reuse_pool_across_epochs():
    loader = edata.DataLoader(Sharded(10, True), batch_size=3, num_workers=2, persistent_workers=True)
    first = [b.tolist() for b in loader]
    it = loader._iterator
    pids = [w.pid for w in it._workers]
    assert all(w.is_alive() for w in it._workers)
    second = [b.tolist() for b in loader]
    assert first == second and loader._iterator is it and [w.pid for w in it._workers] == pids
    # an epoch abandoned halfway does not leak stale batches into the next one
    partial = iter(loader)
    next(partial)
    assert [b.tolist() for b in loader] == first
    workers = it._workers
    del loader, it, partial
    _assert_stopped(workers)


class Slow(edata.Dataset):
    def __getitem__(self, index):
        if edata.get_worker_info() is not None:
            time.sleep(1.0)
        return index

    def __len__(self):
        return 2


def test_worker_timeout():
    loader = edata.DataLoader(Slow(), num_workers=1, timeout=0.2)
    with pytest.raises(RuntimeError, match=r"^DataLoader timed out after 0.2 seconds$"):
        next(iter(loader))


class Dies(edata.Dataset):
    def __getitem__(self, index):
        os._exit(3)

    def __len__(self):
        return 2


def test_worker_dying_is_reported():
    with pytest.raises(RuntimeError, match=r"^DataLoader worker \(pid\(s\) \d+\) exited unexpectedly$"):
        list(edata.DataLoader(Dies(), num_workers=1))


@pytest.mark.skipif(ember.cuda.is_available(), reason="the warning is for machines without a GPU")
@pytest.mark.parametrize("num_workers", [0, 2])
def test_pin_memory_is_accepted_and_warns_without_an_accelerator_like_torch(num_workers):
    message = "'pin_memory' argument is set as true but no accelerator is found, then device pinned memory won't be used."
    for D in (tdata, edata):
        loader = D.DataLoader(list(range(5)), batch_size=2, pin_memory=True, num_workers=num_workers)
        with pytest.warns(UserWarning, match=re.escape(message)):
            batches = [b.tolist() for b in loader]
        assert batches == [[0, 1], [2, 3], [4]]
