"""ember.utils.safetensors against safetensors.torch: files written by one load in the other."""
import numpy as np
import pytest

import ember
from ember import nn

st = pytest.importorskip("safetensors.torch")
torch = pytest.importorskip("torch")
from ember.utils import safetensors as es  # noqa: E402

DTYPES = ["float32", "float64", "float16", "bfloat16", "int64", "int32", "int8", "uint8", "bool"]


def _tensors(lib, rng):
    out = {}
    for name in DTYPES:
        values = rng.standard_normal((3, 4)) * 10
        t = lib.from_numpy(values.astype(np.float32)).to(getattr(lib, name))
        out[name] = t
    out["scalar"] = lib.tensor(2.5)
    out["empty"] = lib.zeros(0, 3)
    return out


def _same(e, t):
    assert str(e.dtype).split(".")[-1] == str(t.dtype).split(".")[-1]
    assert tuple(e.shape) == tuple(t.shape)
    np.testing.assert_array_equal(e.float().numpy() if e.dtype == ember.bfloat16 else e.numpy(),
                                  t.float().numpy() if t.dtype == torch.bfloat16 else t.numpy())


def test_ember_file_loads_in_safetensors_torch_and_back(tmp_path):
    pytest.importorskip("ml_dtypes")
    tensors = _tensors(ember, np.random.default_rng(0))
    es.save_file(tensors, tmp_path / "e.safetensors", metadata={"format": "pt"})
    loaded = st.load_file(tmp_path / "e.safetensors")
    assert sorted(loaded) == sorted(tensors)
    for name in tensors:
        _same(tensors[name], loaded[name])
    st.save_file(loaded, tmp_path / "t.safetensors")
    back = es.load_file(tmp_path / "t.safetensors")
    for name in tensors:
        _same(back[name], loaded[name])
        assert isinstance(back[name], ember.Tensor)
    back["float32"].add_(1)  # loaded tensors own writable memory
    assert es.load(es.save({"a": ember.ones(2)}))["a"].tolist() == [1.0, 1.0]


def test_save_file_refuses_shared_and_noncontiguous_tensors(tmp_path):
    base = ember.arange(6.0)
    with pytest.raises(RuntimeError, match="Some tensors share memory"):
        es.save_file({"a": base, "b": base[:3]}, tmp_path / "x.safetensors")
    with pytest.raises(ValueError, match="non contiguous tensor: `t`"):
        es.save_file({"t": ember.ones(3, 4).t()}, tmp_path / "x.safetensors")
    with pytest.raises(ValueError, match="Key `a` is invalid"):
        es.save_file({"a": np.ones(2)}, tmp_path / "x.safetensors")
    with pytest.raises(ValueError, match="Expected a dict"):
        es.save([ember.ones(2)])
    assert not list(tmp_path.iterdir())  # nothing half-written


def test_save_model_with_tied_weights_loads_in_both(tmp_path):
    def model(lib):
        m = lib.nn.Sequential(lib.nn.Embedding(5, 3), lib.nn.Linear(3, 5, bias=False))
        m[1].weight = m[0].weight  # tied, as a language model's embedding and head
        return m
    em = model(ember)
    with pytest.raises(RuntimeError, match="share memory"):
        es.save_file(em.state_dict(), tmp_path / "m.safetensors")
    es.save_model(em, tmp_path / "m.safetensors")
    tm = model(torch)
    missing, unexpected = st.load_model(tm, tmp_path / "m.safetensors")
    assert not missing and not unexpected
    np.testing.assert_array_equal(tm[1].weight.detach().numpy(), em[1].weight.detach().numpy())
    fresh = model(ember)
    weight = fresh[0].weight
    assert es.load_model(fresh, tmp_path / "m.safetensors") == (set(), [])
    assert fresh[0].weight is weight and fresh[1].weight is weight  # copied in place, still tied
    np.testing.assert_array_equal(weight.detach().numpy(), em[0].weight.detach().numpy())


def test_load_model_strict_lists_missing_and_unexpected(tmp_path):
    es.save_file({"weight": ember.ones(2, 3), "extra": ember.ones(1)}, tmp_path / "f.safetensors")
    lin = nn.Linear(3, 2)
    with pytest.raises(RuntimeError, match=r'Missing key\(s\) in state_dict: "bias"') as info:
        es.load_model(lin, tmp_path / "f.safetensors")
    assert 'Unexpected key(s) in state_dict: "extra"' in str(info.value)
    missing, unexpected = es.load_model(lin, tmp_path / "f.safetensors", strict=False)
    assert missing == {"bias"} and unexpected == ["extra"]
    assert lin.weight.tolist() == [[1.0] * 3] * 2
