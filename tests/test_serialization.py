"""ember.save / ember.load against torch.save / torch.load: the same files, both ways, safely."""
from __future__ import annotations

import builtins
import collections
import io
import os
import pickle
import struct
import zipfile

import numpy as np
import pytest

import ember
import ember.serialization as serialization
from ember._tensor import _wrap

torch = pytest.importorskip("torch")

DTYPES = ["float16", "bfloat16", "float32", "float64", "int8", "int16", "int32", "int64", "uint8", "bool"]
RNG = np.random.default_rng(7)


def raw_bytes(t) -> bytes:
    """The bytes of a tensor's elements in row-major order (exact for NaN payloads and bfloat16)."""
    if isinstance(t, torch.Tensor):
        return t.detach().reshape(-1).contiguous().view(torch.uint8).numpy().tobytes()
    return np.ascontiguousarray(t._data).tobytes()


def random_array(shape, dtype_name: str) -> np.ndarray:
    """Random bits for every dtype (floats include NaN/inf payloads); bools are 0/1."""
    dtype = getattr(ember, dtype_name).np
    if dtype_name == "bool":
        return np.asarray(RNG.random(shape) < 0.5)
    bits = RNG.integers(0, 256, size=int(np.prod(shape)) * dtype.itemsize, dtype=np.uint8)
    return bits.view(dtype).reshape(shape)


def ember_tensor(array: np.ndarray):
    return _wrap(np.array(array))


def torch_tensor(array: np.ndarray, dtype_name: str):
    if dtype_name == "bfloat16":
        return torch.from_numpy(array.view(np.int16).copy()).view(torch.bfloat16)
    return torch.from_numpy(array.copy())


def assert_same(e, t) -> None:
    """An ember tensor and a torch tensor agree in type, dtype, shape, strides, grad flag and bits."""
    assert str(t.dtype).replace("torch.", "") == e.dtype.name
    assert tuple(e.shape) == tuple(t.shape)
    assert e.stride() == t.stride()
    assert e.requires_grad == t.requires_grad
    assert isinstance(e, ember.nn.Parameter) == isinstance(t, torch.nn.Parameter)
    assert raw_bytes(e) == raw_bytes(t)


def to_bytes(obj, save) -> bytes:
    buffer = io.BytesIO()
    save(obj, buffer)
    return buffer.getvalue()


def state_dict(T, dtype_name: str, arrays) -> collections.OrderedDict:
    """A checkpoint with a plain tensor, views of it, a Parameter and a 0-d tensor."""
    make = ember_tensor if T is ember else (lambda a: torch_tensor(a, dtype_name))
    base = make(arrays[0])
    sd = collections.OrderedDict()
    sd["base"] = base
    sd["row"] = base[1]
    sd["transposed"] = base.t()
    sd["strided"] = base[:, ::2]
    sd["scalar"] = make(arrays[1])
    is_float = dtype_name.startswith(("float", "bfloat"))
    sd["param"] = T.nn.Parameter(make(arrays[2]), requires_grad=is_float)
    return sd


def sample_arrays(dtype_name: str):
    return random_array((3, 4), dtype_name), random_array((), dtype_name), random_array((5,), dtype_name)


# -- conformance with torch -------------------------------------------------------------------------
@pytest.mark.parametrize("dtype_name", DTYPES)
def test_ember_save_torch_load(dtype_name):
    arrays = sample_arrays(dtype_name)
    loaded = torch.load(io.BytesIO(to_bytes(state_dict(ember, dtype_name, arrays), ember.save)))
    expected = state_dict(ember, dtype_name, arrays)
    assert type(loaded) is collections.OrderedDict and list(loaded) == list(expected)
    for name, tensor in expected.items():
        assert_same(tensor, loaded[name])
    # a view and its base share one storage in the file, so they share memory after loading
    assert loaded["row"].untyped_storage().data_ptr() == loaded["base"].untyped_storage().data_ptr()
    assert loaded["row"].storage_offset() == 4


@pytest.mark.parametrize("dtype_name", DTYPES)
def test_torch_save_ember_load(dtype_name):
    arrays = sample_arrays(dtype_name)
    original = state_dict(torch, dtype_name, arrays)
    loaded = ember.load(io.BytesIO(to_bytes(original, torch.save)))
    assert type(loaded) is collections.OrderedDict and list(loaded) == list(original)
    for name, tensor in original.items():
        assert_same(loaded[name], tensor)
    assert loaded["base"].untyped_storage().data_ptr() == loaded["row"].untyped_storage().data_ptr()


def test_file_is_byte_identical_to_torch_save(tmp_path):
    def checkpoint(T):
        base = T.arange(12.0).reshape(3, 4)
        return collections.OrderedDict(
            weight=T.nn.Parameter(T.ones(2, 3, dtype=T.bfloat16)), base=base, view=base[1:], t=base.t(),
            ints=T.tensor([1, 2], dtype=T.int16), empty=T.zeros(0, 3), flags=T.tensor([True, False]),
            misc=[1, 2.5, "x", None, True, (T.float32, T.device("cpu"), T.Size([2])), {"k": b"abc"}, 2 ** 80])

    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    ember.save(checkpoint(ember), tmp_path / "a" / "model.pt")
    torch.save(checkpoint(torch), tmp_path / "b" / "model.pt")
    ours_bytes, theirs_bytes = (tmp_path / "a" / "model.pt").read_bytes(), (tmp_path / "b" / "model.pt").read_bytes()
    ours, theirs = zipfile.ZipFile(io.BytesIO(ours_bytes)), zipfile.ZipFile(io.BytesIO(theirs_bytes))
    assert ours.namelist() == theirs.namelist()
    assert ours.namelist()[0] == "model/data.pkl"
    # The serialization id is random per save; with PyTorch's id (and its CRC) put in, the files are equal.
    id_name = "model/.data/serialization_id"
    our_id, their_id = ours.read(id_name), theirs.read(id_name)
    assert len(our_id) == 40 and our_id.isdigit()
    crc = [struct.pack("<I", archive.getinfo(id_name).CRC) for archive in (ours, theirs)]
    assert ours_bytes.replace(our_id, their_id).replace(crc[0], crc[1]) == theirs_bytes
    assert torch.load(tmp_path / "a" / "model.pt", mmap=True)["view"].tolist() == [[4.0, 5.0, 6.0, 7.0],
                                                                                 [8.0, 9.0, 10.0, 11.0]]


def test_storages_are_64_byte_aligned():
    data = to_bytes({"a": ember.ones(3), "b": ember.ones(5, dtype=ember.int64)}, ember.save)
    archive = zipfile.ZipFile(io.BytesIO(data))
    for info in archive.infolist():
        name_len, extra_len = np.frombuffer(data[info.header_offset + 26:info.header_offset + 30], np.uint16)
        start = info.header_offset + 30 + int(name_len) + int(extra_len)
        assert start % 64 == 0
        assert info.compress_type == zipfile.ZIP_STORED
        assert data[start:start + info.file_size] == archive.read(info)


def test_round_trip_ember_torch_ember_bit_for_bit():
    original = collections.OrderedDict((name, ember_tensor(random_array((4, 3), name))) for name in DTYPES)
    original["param"] = ember.nn.Parameter(ember_tensor(random_array((2, 2), "float32")))
    via_torch = torch.load(io.BytesIO(to_bytes(original, ember.save)))
    back = ember.load(io.BytesIO(to_bytes(via_torch, torch.save)))
    assert list(back) == list(original)
    for name, tensor in original.items():
        assert back[name].dtype is tensor.dtype
        assert raw_bytes(back[name]) == raw_bytes(tensor)
    assert isinstance(back["param"], ember.nn.Parameter) and back["param"].requires_grad


def test_shared_storage_and_identity_kept():
    base = ember.arange(6.0)
    obj = {"a": base, "b": base[1:], "again": base, "shape": base.reshape(2, 3)}
    loaded = ember.load(io.BytesIO(to_bytes(obj, ember.save)))
    assert loaded["again"] is loaded["a"]
    loaded["a"][2] = 100.0
    assert loaded["b"][1].item() == 100.0 and loaded["shape"][0, 2].item() == 100.0
    assert len([n for n in zipfile.ZipFile(io.BytesIO(to_bytes(obj, ember.save))).namelist() if "/data/" in n]) == 1

    theirs = torch.load(io.BytesIO(to_bytes(obj, ember.save)))
    theirs["a"][2] = -1.0
    assert theirs["b"][1].item() == -1.0 and theirs["shape"][0, 2].item() == -1.0


def test_layouts_torch_cannot_share_are_saved_as_copies():
    array = np.arange(6.0)
    reversed_view = _wrap(array[::-1])  # negative strides: no torch equivalent over the base
    obj = {"base": _wrap(array), "reversed": reversed_view, "expanded": ember.ones(1, 3).expand(4, 3)}
    loaded = torch.load(io.BytesIO(to_bytes(obj, ember.save)))
    assert loaded["reversed"].tolist() == [5.0, 4.0, 3.0, 2.0, 1.0, 0.0]
    assert loaded["expanded"].stride() == (0, 1) and loaded["expanded"].tolist() == [[1.0] * 3] * 4


def test_requires_grad_and_parameter_type():
    weight = ember.randn(2, 3, requires_grad=True)
    obj = {"leaf": weight, "nonleaf": weight * 2, "frozen": ember.nn.Parameter(ember.ones(2), requires_grad=False),
           "int_param": ember.nn.Parameter(ember.tensor([1, 2]), requires_grad=False), "param": ember.nn.Parameter(ember.ones(1))}
    for loaded in (torch.load(io.BytesIO(to_bytes(obj, ember.save))), ember.load(io.BytesIO(to_bytes(obj, ember.save)))):
        assert loaded["leaf"].requires_grad and loaded["nonleaf"].requires_grad
        assert loaded["nonleaf"].grad_fn is None
        assert not loaded["frozen"].requires_grad and loaded["param"].requires_grad
        assert type(loaded["frozen"]).__name__ == "Parameter" and type(loaded["int_param"]).__name__ == "Parameter"
        assert type(loaded["leaf"]).__name__ == "Tensor"


def test_plain_values_dtypes_devices_sizes():
    obj = {"int": 3, "float": 2.5, "str": "s", "bool": True, "none": None, "big": 2 ** 80, "bytes": b"\x00\xff",
           "nested": [(1, 2), {"x": [ember.ones(2)]}], "set": {1, 2}, "complex": 1 + 2j,
           "dtype": ember.bfloat16, "device": ember.device("cpu"), "size": ember.Size([2, 3])}
    loaded = ember.load(io.BytesIO(to_bytes(obj, ember.save)))
    assert {k: v for k, v in loaded.items() if k != "nested"} == {k: v for k, v in obj.items() if k != "nested"}
    assert loaded["dtype"] is ember.bfloat16 and type(loaded["size"]) is ember.Size
    assert loaded["nested"][0] == (1, 2) and loaded["nested"][1]["x"][0].tolist() == [1.0, 1.0]
    theirs = torch.load(io.BytesIO(to_bytes(obj, ember.save)))
    assert theirs["dtype"] is torch.bfloat16 and theirs["device"] == torch.device("cpu")
    assert type(theirs["size"]) is torch.Size and theirs["bytes"] == b"\x00\xff"
    back = ember.load(io.BytesIO(to_bytes(theirs, torch.save)))
    assert back["dtype"] is ember.bfloat16 and back["device"] == ember.device("cpu") and back["size"] == (2, 3)


def test_module_state_dict_metadata_round_trips():
    model = ember.nn.Linear(3, 2)
    loaded = torch.load(io.BytesIO(to_bytes(model.state_dict(), ember.save)))
    reference = torch.nn.Linear(3, 2)
    reference.load_state_dict(loaded)
    assert torch.equal(reference.weight, torch.from_numpy(model.weight.detach().numpy()))
    back = ember.load(io.BytesIO(to_bytes(reference.state_dict(), torch.save)))
    assert back._metadata[""]["version"] == 1
    fresh = ember.nn.Linear(3, 2)
    fresh.load_state_dict(back)
    assert fresh.weight.tolist() == model.weight.tolist()


# -- paths, file objects, atomic writes ---------------------------------------------------------------
def test_paths_and_file_objects(tmp_path):
    path = tmp_path / "ckpt.v2.pt"
    ember.save({"a": ember.ones(2)}, str(path))
    assert zipfile.ZipFile(path).namelist()[0] == "ckpt.v2/data.pkl"
    assert ember.load(path)["a"].tolist() == [1.0, 1.0]
    assert torch.load(path)["a"].tolist() == [1.0, 1.0]
    with open(path, "rb") as handle:
        assert ember.load(handle)["a"].tolist() == [1.0, 1.0]
    buffer = io.BytesIO()
    ember.save(ember.zeros(3), buffer)
    assert zipfile.ZipFile(io.BytesIO(buffer.getvalue())).namelist()[0] == "archive/data.pkl"
    buffer.seek(0)
    assert ember.load(buffer).tolist() == [0.0, 0.0, 0.0]


def test_invalid_file_name_raises_before_writing(tmp_path):
    with pytest.raises(RuntimeError, match="invalid file name"):
        ember.save(1, tmp_path / ".pt")
    assert os.listdir(tmp_path) == []


class _Unpicklable:
    def __reduce__(self):
        raise RuntimeError("cannot pickle this")


def test_failed_pickling_keeps_previous_file(tmp_path):
    path = tmp_path / "model.pt"
    ember.save({"step": 1, "w": ember.ones(2)}, path)
    before = path.read_bytes()
    with pytest.raises(RuntimeError, match="cannot pickle this"):
        ember.save({"step": 2, "w": ember.zeros(2), "bad": _Unpicklable()}, path)
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["model.pt"]
    assert ember.load(path)["step"] == 1


def test_failure_mid_write_keeps_previous_file_and_leaves_no_temp(tmp_path, monkeypatch):
    path = tmp_path / "model.pt"
    ember.save({"step": 1, "w": ember.ones(2)}, path)
    before = path.read_bytes()
    calls = []
    real = serialization._storage_bytes

    def failing_storage_bytes(ref):
        calls.append(ref.key)
        if len(calls) == 2:
            raise OSError("disk full")
        return real(ref)

    monkeypatch.setattr(serialization, "_storage_bytes", failing_storage_bytes)
    with pytest.raises(OSError, match="disk full"):
        ember.save({"a": ember.zeros(1000), "b": ember.zeros(3, dtype=ember.int64)}, path)
    assert len(calls) == 2
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["model.pt"]

    monkeypatch.setattr(serialization, "_storage_bytes", real)
    ember.save({"step": 2}, path)
    assert ember.load(path) == {"step": 2} and os.listdir(tmp_path) == ["model.pt"]


def test_zip64_records_are_readable(monkeypatch):
    monkeypatch.setattr(serialization, "_ZIP64_LIMIT", 100)  # every later offset/size takes the zip64 path
    data = to_bytes({"a": ember.arange(100.0), "b": ember.ones(3)}, ember.save)
    assert ember.load(io.BytesIO(data))["a"].tolist() == list(np.arange(100.0))
    assert torch.load(io.BytesIO(data))["b"].tolist() == [1.0, 1.0, 1.0]


# -- safe loading ------------------------------------------------------------------------------------
class _OpensFile:
    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return builtins.open, (self.path, "w")


class _RunsShell:
    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return os.system, (f"touch {self.path}",)


@pytest.mark.parametrize("payload, message", [
    (_OpensFile, r"Unsupported global: GLOBAL io\.open was not an allowed global by default"),
    (_RunsShell, r"Trying to load unsupported GLOBAL (posix|nt)\.system whose module (posix|nt) is blocked"),
])
def test_malicious_file_is_refused_and_runs_nothing(tmp_path, payload, message):
    marker = tmp_path / "marker"
    data = to_bytes({"weights": ember.ones(2), "evil": payload(str(marker))}, ember.save)
    with pytest.raises(pickle.UnpicklingError, match="Weights only load failed") as info:
        ember.load(io.BytesIO(data))
    assert info.match(message)
    assert not marker.exists()
    with pytest.raises(pickle.UnpicklingError, match="Weights only load failed"):
        torch.load(io.BytesIO(data))  # PyTorch refuses the same file
    assert not marker.exists()


def test_weights_only_false_loads_trusted_objects(tmp_path):
    marker = tmp_path / "marker"
    loaded = ember.load(io.BytesIO(to_bytes({"evil": _OpensFile(str(marker))}, ember.save)), weights_only=False)
    loaded["evil"].close()
    assert marker.exists()  # the payload is real: only weights_only=True stops it

    model = torch.nn.Linear(2, 3)
    module = ember.load(io.BytesIO(to_bytes(model, torch.save)), weights_only=False)
    assert isinstance(module, ember.nn.Linear)
    assert module.weight.tolist() == model.weight.tolist()


def test_add_safe_globals_allows_a_trusted_class():
    data = to_bytes({"counter": collections.Counter("aab"), "frac": _Point(1, 2)}, ember.save)
    with pytest.raises(pickle.UnpicklingError, match=r"GLOBAL tests\.test_serialization\._Point"):
        ember.load(io.BytesIO(data))
    with serialization.safe_globals([_Point]):
        loaded = ember.load(io.BytesIO(data))
    assert loaded["frac"] == _Point(1, 2) and loaded["counter"] == collections.Counter("aab")
    assert serialization.get_safe_globals() == []


class _Point(tuple):
    def __new__(cls, x, y):
        return tuple.__new__(cls, (x, y))

    def __reduce__(self):
        return _Point, tuple(self)


def test_explicit_pickle_module_with_weights_only_raises():
    with pytest.raises(RuntimeError, match="Can not safely load weights when explicit pickle_module is specified"):
        ember.load(io.BytesIO(to_bytes(1, ember.save)), pickle_module=pickle, weights_only=True)


# -- map_location ------------------------------------------------------------------------------------
@pytest.fixture
def cuda_checkpoint(monkeypatch) -> bytes:
    """A checkpoint whose storage is tagged 'cuda:0' (as if saved from a GPU)."""
    monkeypatch.setattr(serialization, "_location", lambda array: "cuda:0")
    data = to_bytes({"w": ember.arange(4.0)}, ember.save)
    monkeypatch.undo()
    return data


@pytest.mark.parametrize("map_location", [
    "cpu", ember.device("cpu"), {"cuda:0": "cpu"}, lambda storage, location: storage,
])
def test_map_location_forms_load_cuda_storages_on_cpu(cuda_checkpoint, map_location):
    loaded = ember.load(io.BytesIO(cuda_checkpoint), map_location=map_location)
    assert loaded["w"].device == ember.device("cpu") and loaded["w"].tolist() == [0.0, 1.0, 2.0, 3.0]
    torch_location = map_location if not isinstance(map_location, ember.device) else torch.device("cpu")
    assert torch.load(io.BytesIO(cuda_checkpoint), map_location=torch_location)["w"].tolist() == [0.0, 1.0, 2.0, 3.0]


def test_map_location_callable_sees_location_tag(cuda_checkpoint):
    seen = []
    loaded = ember.load(io.BytesIO(cuda_checkpoint),
                        map_location=lambda storage, location: seen.append(location) or storage)
    assert seen == ["cuda:0"] and loaded["w"].device == ember.device("cpu")


@pytest.mark.skipif(ember.cuda.is_available(), reason="needs a machine without a GPU")
def test_cuda_storage_without_gpu_raises(cuda_checkpoint):
    message = r"Attempting to deserialize object on a CUDA device but torch\.cuda\.is_available\(\) is False"
    with pytest.raises(RuntimeError, match=message):
        ember.load(io.BytesIO(cuda_checkpoint))
    with pytest.raises(RuntimeError, match=message):
        torch.load(io.BytesIO(cuda_checkpoint))
    with pytest.raises(RuntimeError, match=message):  # a dict that leaves the tag alone
        ember.load(io.BytesIO(cuda_checkpoint), map_location={"cuda:1": "cpu"})
    with pytest.raises(RuntimeError, match=message):  # a callable returning None: default placement
        ember.load(io.BytesIO(cuda_checkpoint), map_location=lambda storage, location: None)


def test_map_location_moves_cpu_storages_to_cuda_only_with_a_gpu():
    data = to_bytes({"w": ember.ones(2)}, ember.save)
    if ember.cuda.is_available():
        assert ember.load(io.BytesIO(data), map_location="cuda")["w"].is_cuda
    else:
        with pytest.raises(RuntimeError, match="Attempting to deserialize object on a CUDA device"):
            ember.load(io.BytesIO(data), map_location="cuda:0")


def test_invalid_map_location_type():
    with pytest.raises(ValueError, match="map_location should be either None, a string, a device"):
        ember.load(io.BytesIO(to_bytes({"w": ember.ones(2)}, ember.save)), map_location=3.5)


# -- corrupt files -----------------------------------------------------------------------------------
def test_truncated_files_raise_clear_errors():
    data = to_bytes({"a": ember.arange(100.0), "b": [1, 2]}, ember.save)
    for cut in (0, 1, 4, 30, 100, len(data) // 2, len(data) - 100, len(data) - 22, len(data) - 1):
        with pytest.raises((RuntimeError, pickle.UnpicklingError)) as info:
            ember.load(io.BytesIO(data[:cut]))
        assert type(info.value) in (RuntimeError, pickle.UnpicklingError)
        assert str(info.value)


@pytest.mark.parametrize("garbage", [b"garbage bytes, not a checkpoint", bytes(range(256)), b"PK\x03\x04 broken"])
def test_garbage_bytes_raise_clear_errors(garbage):
    with pytest.raises((RuntimeError, pickle.UnpicklingError)):
        ember.load(io.BytesIO(garbage))


def test_flipped_storage_byte_fails_the_crc():
    data = bytearray(to_bytes({"a": ember.arange(100.0)}, ember.save))
    data[data.index(b"archive/data/0") + 100] ^= 0xFF
    with pytest.raises(RuntimeError, match="Bad CRC-32"):
        ember.load(io.BytesIO(bytes(data)))


def rewrite_archive(data: bytes, replace: dict) -> bytes:
    """A copy of a checkpoint zip with some records replaced (None drops a record)."""
    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as target:
        for name in source.namelist():
            content = replace.get(name.split("/", 1)[1], source.read(name))
            if content is not None:
                target.writestr(name, content)
    return out.getvalue()


def test_corrupt_pickle_inside_a_valid_archive():
    data = to_bytes({"a": ember.arange(4.0), "b": [1, 2, 3]}, ember.save)
    pickled = zipfile.ZipFile(io.BytesIO(data)).read("archive/data.pkl")
    for cut in (1, 10, len(pickled) // 2, len(pickled) - 1):
        with pytest.raises(pickle.UnpicklingError):
            ember.load(io.BytesIO(rewrite_archive(data, {"data.pkl": pickled[:cut]})))
    with pytest.raises(pickle.UnpicklingError):  # a BINGET of a memo slot that was never filled
        ember.load(io.BytesIO(rewrite_archive(data, {"data.pkl": b"\x80\x02h\x05."})))


def test_missing_or_short_storage_record():
    data = to_bytes({"a": ember.arange(4.0)}, ember.save)
    with pytest.raises(RuntimeError, match="failed locating file data/0: file not found"):
        ember.load(io.BytesIO(rewrite_archive(data, {"data/0": None})))
    with pytest.raises(RuntimeError, match="holds 8 bytes"):
        ember.load(io.BytesIO(rewrite_archive(data, {"data/0": b"\x00" * 8})))


def test_out_of_bounds_layout_is_refused():
    data = to_bytes({"a": ember.arange(4.0)}, ember.save)
    pickled = zipfile.ZipFile(io.BytesIO(data)).read("archive/data.pkl")
    # sizes (4,) -> (9,): would read past the 4-element storage
    bad = pickled.replace(b"K\x00K\x04\x85", b"K\x00K\x09\x85")
    assert bad != pickled
    with pytest.raises(RuntimeError, match="out of bounds for storage of size 16"):
        ember.load(io.BytesIO(rewrite_archive(data, {"data.pkl": bad})))
    with pytest.raises(RuntimeError):  # PyTorch: "Trying to resize storage that is not resizable"
        torch.load(io.BytesIO(rewrite_archive(data, {"data.pkl": bad})))


# -- other formats and modes -------------------------------------------------------------------------
def test_legacy_format_from_torch():
    base = torch.arange(6.0)
    data = to_bytes({"a": base, "b": base[2:], "p": torch.nn.Parameter(torch.ones(2, dtype=torch.float16)),
                     "i": torch.tensor([3], dtype=torch.int64)},
                    lambda obj, f: torch.save(obj, f, _use_new_zipfile_serialization=False))
    loaded = ember.load(io.BytesIO(data))
    assert loaded["b"].tolist() == [2.0, 3.0, 4.0, 5.0] and loaded["i"].dtype is ember.int64
    assert isinstance(loaded["p"], ember.nn.Parameter) and loaded["p"].dtype is ember.float16
    loaded["a"][3] = 9.0
    assert loaded["b"][1].item() == 9.0
    with pytest.raises(pickle.UnpicklingError, match="Weights only load failed"):
        evil = to_bytes({"x": _OpensFile("/nonexistent/marker")},
                        lambda obj, f: torch.save(obj, f, _use_new_zipfile_serialization=False))
        ember.load(io.BytesIO(evil))


def test_mmap_load_is_copy_on_write(tmp_path):
    path = tmp_path / "m.pt"
    torch.save({"a": torch.arange(10.0), "b": torch.ones(3, dtype=torch.bfloat16)}, path)
    before = path.read_bytes()
    loaded = ember.load(path, mmap=True)
    assert loaded["a"].tolist() == list(np.arange(10.0)) and loaded["b"].dtype is ember.bfloat16
    loaded["a"][0] = 5.0
    assert loaded["a"][0].item() == 5.0 and path.read_bytes() == before
    resaved = to_bytes(loaded, ember.save)  # only the storages, not the whole mapped file
    assert len(resaved) < len(before) + 200
    with pytest.raises(ValueError, match="f must be a file path in order to use the mmap argument"):
        ember.load(io.BytesIO(before), mmap=True)


def test_save_into_a_missing_folder_or_onto_a_folder_raises_like_torch(tmp_path):
    missing = tmp_path / "nodir" / "x.pt"
    for lib in (torch, ember):
        with pytest.raises(RuntimeError, match=f"Parent directory {tmp_path / 'nodir'} does not exist."):
            lib.save({"a": lib.ones(2)}, missing)
    (tmp_path / "folder").mkdir()
    for lib in (torch, ember):
        with pytest.raises(RuntimeError, match="Is a directory"):
            lib.save({"a": lib.ones(2)}, tmp_path / "folder")
    assert sorted(os.listdir(tmp_path)) == ["folder"] and os.listdir(tmp_path / "folder") == []


def test_save_writes_through_a_symlink_and_keeps_the_file_mode(tmp_path):
    target = tmp_path / "ckpt_10.pt"
    ember.save({"step": 10}, target)
    os.chmod(target, 0o640)
    link = tmp_path / "latest.pt"
    link.symlink_to(target.name)
    ember.save({"step": 11, "w": ember.ones(2)}, link)
    assert link.is_symlink()  # still the link, now pointing at the new contents
    assert ember.load(target)["step"] == 11 and torch.load(link)["step"] == 11
    assert (target.stat().st_mode & 0o777) == 0o640
    assert sorted(os.listdir(tmp_path)) == ["ckpt_10.pt", "latest.pt"]


def _training_checkpoint(lib):
    """A real resumable checkpoint after a few Adam steps: model, optimizer, scheduler, epoch, history."""
    lib.manual_seed(0)
    model = lib.nn.Sequential(lib.nn.Linear(6, 5), lib.nn.BatchNorm1d(5), lib.nn.ReLU(), lib.nn.Linear(5, 3))
    opt = lib.optim.Adam(model.parameters(), lr=1e-2, amsgrad=True)
    sched = lib.optim.lr_scheduler.StepLR(opt, step_size=2, gamma=0.5)
    rng = np.random.default_rng(0)
    x = lib.tensor(rng.normal(size=(16, 6)).astype(np.float32))
    y = lib.tensor(rng.integers(0, 3, size=16))
    for _ in range(3):
        opt.zero_grad()
        lib.nn.functional.cross_entropy(model(x), y).backward()
        opt.step()
        sched.step()
    return {"epoch": 3, "model": model.state_dict(), "optimizer": opt.state_dict(),
            "scheduler": sched.state_dict(), "history": {"loss": [1.25, 0.5]}}


def _records(data: bytes) -> dict:
    archive = zipfile.ZipFile(io.BytesIO(data))
    return {name: archive.read(name) for name in archive.namelist() if not name.endswith("serialization_id")}


def test_training_checkpoint_round_trips_ember_torch_ember_bit_for_bit():
    first = to_bytes(_training_checkpoint(ember), ember.save)
    in_torch = torch.load(io.BytesIO(first))  # PyTorch's default, weights_only=True
    # PyTorch can resume from it: the state dicts fit its own model, optimizer and scheduler
    reference = _training_checkpoint(torch)
    model = torch.nn.Sequential(torch.nn.Linear(6, 5), torch.nn.BatchNorm1d(5), torch.nn.ReLU(), torch.nn.Linear(5, 3))
    model.load_state_dict(in_torch["model"])
    opt = torch.optim.Adam(model.parameters(), lr=1e-2, amsgrad=True)
    opt.load_state_dict(in_torch["optimizer"])
    torch.optim.lr_scheduler.StepLR(opt, step_size=2).load_state_dict(in_torch["scheduler"])
    assert opt.state_dict()["param_groups"] == reference["optimizer"]["param_groups"]
    assert list(in_torch["optimizer"]["state"][0]) == list(reference["optimizer"]["state"][0])

    back = ember.load(io.BytesIO(to_bytes(in_torch, torch.save)))
    original = _training_checkpoint(ember)
    assert back["epoch"] == 3 and back["history"] == original["history"]
    assert back["scheduler"] == original["scheduler"]
    assert back["optimizer"]["param_groups"] == original["optimizer"]["param_groups"]
    for name, tensor in original["model"].items():
        assert back["model"][name].dtype is tensor.dtype and raw_bytes(back["model"][name]) == raw_bytes(tensor)
    for index, entry in original["optimizer"]["state"].items():
        for key, tensor in entry.items():
            assert raw_bytes(back["optimizer"]["state"][index][key]) == raw_bytes(tensor), (index, key)
    # saved again by ember, every record of the archive is the same bytes as the first file
    assert _records(to_bytes(back, ember.save)) == _records(first)
