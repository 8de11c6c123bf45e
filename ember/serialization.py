"""``ember.save`` / ``ember.load`` in PyTorch's checkpoint format, with safe loading by default.

A checkpoint is a zip archive (PyTorch 1.6+ format, what ``torch.save`` writes)::

    <archive>/data.pkl                 the pickled object; tensors refer to storages by key
    <archive>/.format_version          "1"
    <archive>/.storage_alignment       "64"
    <archive>/byteorder                "little"
    <archive>/data/<key>               raw storage bytes, stored uncompressed, 64-byte aligned
    <archive>/version                  "3\\n"
    <archive>/.data/serialization_id   40 digits

Tensors are pickled as ``torch._utils._rebuild_tensor_v2(storage, offset, size, stride,
requires_grad, OrderedDict())`` where ``storage`` is a persistent id
``('storage', torch.FloatStorage, key, location, numel)``. ember never imports torch: the
pickle names torch's globals through :class:`_TorchGlobal` placeholders on save, and maps them
back to ember objects on load. ``load`` uses an allowlist by default (``weights_only=True``),
so a file can only build tensors, containers and plain values, never run its own code.
"""
from __future__ import annotations

import collections
import contextlib
import io
import os
import math
import mmap as mmap_module
import pickle
import secrets
import shutil
import struct
import sys
import zipfile
import zlib
from typing import IO, Any, Callable, Union

import _compat_pickle
import numpy as np

from . import _dtype as D
from ._backend import array_module, cuda_available, is_cuda_array, module_for_device, to_numpy
from ._device import device as _device_cls
from ._tensor import Size, Tensor, _contiguous_strides, _rebuild_tensor
from .nn.parameter import Parameter

__all__ = ["save", "load", "add_safe_globals", "get_safe_globals", "clear_safe_globals", "safe_globals",
           "DEFAULT_PROTOCOL"]

DEFAULT_PROTOCOL = 2
FILE_LIKE = Union[str, os.PathLike, IO[bytes]]

# dtype name -> the legacy typed-storage class name PyTorch writes into the pickle
_STORAGE_NAMES = {
    "float32": "FloatStorage", "float64": "DoubleStorage", "float16": "HalfStorage",
    "bfloat16": "BFloat16Storage", "int64": "LongStorage", "int32": "IntStorage", "int16": "ShortStorage",
    "int8": "CharStorage", "uint8": "ByteStorage", "bool": "BoolStorage",
}
_STORAGE_DTYPES = {name: D._BY_NAME[dtype_name] for dtype_name, name in _STORAGE_NAMES.items()}
# torch dtypes that exist in PyTorch but not in ember: a clear error instead of "unsupported global"
_TORCH_ONLY_DTYPES = {
    "complex32", "complex64", "complex128", "cfloat", "cdouble", "chalf", "uint16", "uint32", "uint64",
    "float8_e4m3fn", "float8_e5m2", "float8_e4m3fnuz", "float8_e5m2fnuz", "qint8", "quint8", "qint32",
}
_TORCH_ONLY_STORAGES = {"ComplexFloatStorage", "ComplexDoubleStorage", "QInt8Storage", "QUInt8Storage",
                        "QInt32Storage", "QUInt4x2Storage", "QUInt2x4Storage"}

_ALIGNMENT = 64
_ZIP64_LIMIT = 0xFFFFFFFF  # sizes/offsets at or above this need zip64 fields (a module constant so tests can lower it)


# ------------------------------------------------------------------------------------------------
# Saving
# ------------------------------------------------------------------------------------------------
class _TorchGlobal:
    """A name in torch's namespace, written into the pickle as ``GLOBAL module name`` (never imported)."""

    __slots__ = ("module", "name")

    def __init__(self, module: str, name: str):
        # interned so that the pickler memoizes the shared module string like PyTorch's pickler does
        self.module = sys.intern(module)
        self.name = sys.intern(name)

    def __repr__(self) -> str:
        return f"{self.module}.{self.name}"

    def __call__(self, *args, **kwargs):
        # only ever written into a pickle; callable because the pickler requires reduce functions to be
        raise TypeError(f"{self!r} is a placeholder for a torch global and cannot be called")


_GLOBALS: dict[tuple[str, str], _TorchGlobal] = {}


def _torch_global(module: str, name: str) -> _TorchGlobal:
    # one object per name: the pickler memoizes it, so a repeated global becomes a BINGET
    key = (module, name)
    if key not in _GLOBALS:
        _GLOBALS[key] = _TorchGlobal(module, name)
    return _GLOBALS[key]


_REBUILD_TENSOR_V2 = _torch_global("torch._utils", "_rebuild_tensor_v2")
_REBUILD_PARAMETER = _torch_global("torch._utils", "_rebuild_parameter")
_TORCH_DEVICE = _torch_global("torch", "device")
_TORCH_SIZE = _torch_global("torch", "Size")
_GET_LAYOUT = _torch_global("torch.serialization", "_get_layout")


class _StorageRef:
    """One storage record of the archive; pickled as its persistent id."""

    __slots__ = ("key", "dtype", "numel", "location", "array", "pid")

    def __init__(self, key: str, dtype: D.dtype, array, location: str):
        self.key = key
        self.dtype = dtype
        self.array = array  # a flat, dense array whose bytes are the storage
        self.numel = int(array.size)
        self.location = location
        self.pid = ("storage", _torch_global("torch", _STORAGE_NAMES[dtype.name]), key, location, self.numel)


class _TensorData:
    """A Parameter's underlying plain tensor: ``_rebuild_parameter`` receives it as its first argument."""

    __slots__ = ("tensor",)

    def __init__(self, tensor: Tensor):
        self.tensor = tensor


def _root_array(array):
    """The array that owns the memory ``array`` views (walking through NumPy's view bases)."""
    root, obj = array, array
    array_type = type(array)
    while (obj := getattr(obj, "base", None)) is not None:
        if isinstance(obj, array_type):
            root = obj
    return root


def _data_ptr(array) -> int:
    if is_cuda_array(array):
        return int(array.data.ptr)
    return int(array.__array_interface__["data"][0])


def _location(array) -> str:
    return f"cuda:{int(array.device.id)}" if is_cuda_array(array) else "cpu"


class _StorageTable:
    """Assigns storage keys; a view and its base share one storage, as in PyTorch."""

    def __init__(self):
        self.refs: list[_StorageRef] = []
        self._by_root: dict[int, tuple[Any, _StorageRef]] = {}

    def _new_ref(self, dtype: D.dtype, flat, location: str) -> _StorageRef:
        ref = _StorageRef(str(len(self.refs)), dtype, flat, location)
        self.refs.append(ref)
        return ref

    def tensor_args(self, tensor: Tensor) -> tuple:
        """(storage ref, storage offset, size, stride) for a tensor, sharing storage with its base."""
        array = tensor._data
        shared = self._shared(array, tensor.dtype)
        if shared is not None:
            return shared
        # A layout PyTorch cannot express over the base (negative strides, a reinterpreted dtype):
        # save this tensor's values in a storage of its own.
        flat = array_module(array).ascontiguousarray(array).reshape(-1)
        ref = self._new_ref(tensor.dtype, flat, _location(array))
        return ref, 0, tuple(array.shape), _contiguous_strides(array.shape)

    def _shared(self, array, dtype: D.dtype):
        root = _root_array(array)
        if not (root.flags.c_contiguous or root.flags.f_contiguous):
            return None
        itemsize = array.dtype.itemsize
        entry = self._by_root.get(id(root))
        if entry is None:
            if root.nbytes % itemsize:
                return None
            flat = root.reshape(-1, order="A")
            if flat.dtype != array.dtype:
                flat = flat.view(array.dtype)
            ref = self._new_ref(dtype, flat, _location(array))
            # keep the root alive so its id() cannot be reused by another array during this save
            self._by_root[id(root)] = (root, ref)
        else:
            ref = entry[1]
            if ref.dtype is not dtype:
                return None
        offset_bytes = _data_ptr(array) - _data_ptr(root)
        if offset_bytes < 0 or offset_bytes % itemsize or any(s < 0 or s % itemsize for s in array.strides):
            return None
        offset = offset_bytes // itemsize
        if array.size == 0:
            return ref, min(offset, ref.numel), tuple(array.shape), _contiguous_strides(array.shape)
        strides = tuple(s // itemsize for s in array.strides)
        last = offset + sum((n - 1) * s for n, s in zip(array.shape, strides))
        if last >= ref.numel:
            return None
        return ref, offset, tuple(array.shape), strides


def _save_torch_global(pickler: "_Pickler", obj: _TorchGlobal) -> None:
    if pickler.proto >= 4:
        pickler.save(obj.module)
        pickler.save(obj.name)
        pickler.write(pickle.STACK_GLOBAL)
    else:
        pickler.write(pickle.GLOBAL + obj.module.encode("utf-8") + b"\n" + obj.name.encode("utf-8") + b"\n")
    pickler.memoize(obj)


def _save_dtype(pickler: "_Pickler", obj: D.dtype) -> None:
    pickler.save(_torch_global("torch", obj.name))


class _Pickler(pickle._Pickler):
    """Pickles ember objects as the torch objects they stand for (Tensor, Parameter, dtype, device, Size).

    The pure-Python pickler is used because it lets a placeholder be written as a GLOBAL without
    importing the module it names.
    """

    dispatch = dict(pickle._Pickler.dispatch)
    dispatch[_TorchGlobal] = _save_torch_global
    dispatch[D.dtype] = _save_dtype

    def __init__(self, file, protocol: int, storages: _StorageTable):
        super().__init__(file, protocol)
        self._storages = storages

    def persistent_id(self, obj):
        if type(obj) is _StorageRef:
            # a fresh tuple per reference, as PyTorch writes it (the strings inside are memoized)
            return ("storage",) + obj.pid[1:]
        return None

    def reducer_override(self, obj):
        if isinstance(obj, Tensor):
            if isinstance(obj, Parameter):
                return _REBUILD_PARAMETER, (_TensorData(obj), obj._requires_grad, collections.OrderedDict())
            return self._reduce_tensor(obj, obj._requires_grad)
        kind = type(obj)
        if kind is _TensorData:
            return self._reduce_tensor(obj.tensor, False)
        if kind is _device_cls:
            # NOTE: a fresh string, not memoized with the storages' 'cpu' tags: PyTorch's bytes exactly
            device_type = obj.type.encode().decode()
            return _TORCH_DEVICE, (device_type,) if obj.index is None else (device_type, obj.index)
        if kind is Size:
            return _TORCH_SIZE, (tuple(obj),)
        if kind.__name__ == "layout" and kind.__module__ == "ember":
            return _GET_LAYOUT, ("torch." + obj.name,)
        return NotImplemented

    def _reduce_tensor(self, tensor: Tensor, requires_grad: bool):
        ref, offset, size, stride = self._storages.tensor_args(tensor)
        return _REBUILD_TENSOR_V2, (ref, offset, size, stride, requires_grad, collections.OrderedDict())


def _local_header_size(name: bytes, zip64: bool) -> int:
    return 30 + len(name) + (20 if zip64 else 0)


class _ZipWriter:
    """Writes a zip archive the way PyTorch's writer (miniz) does: stored records, 64-byte aligned
    data, data descriptors, zip64 end records. Offsets count from where writing started."""

    def __init__(self, out, archive_name: str):
        self._out = out
        self._prefix = archive_name + "/"
        self._pos = 0
        self._central: list[bytes] = []
        self._combined_crc = 0

    def _write(self, data) -> None:
        self._out.write(data)
        self._pos += memoryview(data).nbytes

    def write_record(self, name: str, data) -> None:
        data = memoryview(data).cast("B")
        full_name = (self._prefix + name).encode("utf-8")
        size = data.nbytes
        crc = zlib.crc32(data)
        self._combined_crc = zlib.crc32(struct.pack("<I", crc), self._combined_crc)
        offset = self._pos
        zip64 = size >= _ZIP64_LIMIT or offset >= _ZIP64_LIMIT
        # NOTE: like miniz, an empty record has no data descriptor (flag bit 3 clear)
        flags = 0x0808 if size else 0x0800
        start = _local_header_size(full_name, zip64) + 4 + offset
        padding = -start % _ALIGNMENT
        extra = b""
        if zip64:
            extra += struct.pack("<HHQQ", 0x0001, 16, size, size)
        extra += b"FB" + struct.pack("<H", padding) + b"Z" * padding
        self._write(struct.pack("<IHHHHHIIIHH", 0x04034B50, 45 if zip64 else 0, flags, 0, 0, 0, 0, 0, 0,
                                len(full_name), len(extra)) + full_name + extra)
        if size:
            self._write(data)
            if zip64:
                self._write(struct.pack("<IIQQ", 0x08074B50, crc, size, size))
            else:
                self._write(struct.pack("<IIII", 0x08074B50, crc, size, size))
        self._central.append(self._central_entry(full_name, crc, size, offset, flags))

    @staticmethod
    def _central_entry(name: bytes, crc: int, size: int, offset: int, flags: int) -> bytes:
        zip64_fields = b""
        stored_size = size
        if size >= _ZIP64_LIMIT:
            zip64_fields += struct.pack("<QQ", size, size)
            stored_size = 0xFFFFFFFF
        stored_offset = offset
        if offset >= _ZIP64_LIMIT:
            zip64_fields += struct.pack("<Q", offset)
            stored_offset = 0xFFFFFFFF
        extra = struct.pack("<HH", 0x0001, len(zip64_fields)) + zip64_fields if zip64_fields else b""
        version = 45 if zip64_fields else 0
        return struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, version, version, flags, 0, 0, 0, crc,
                           stored_size, stored_size, len(name), len(extra), 0, 0, 0, 0, stored_offset) + name + extra

    def finish(self) -> None:
        serialization_id = f"{self._combined_crc:020d}{secrets.randbits(64):020d}"
        self.write_record(".data/serialization_id", serialization_id.encode("ascii"))
        central_offset = self._pos
        for entry in self._central:
            self._write(entry)
        central_size = self._pos - central_offset
        count = len(self._central)
        zip64_end = self._pos
        self._write(struct.pack("<IQHHIIQQQQ", 0x06064B50, 44, 0x031E, 45, 0, 0, count, count,
                                central_size, central_offset))
        self._write(struct.pack("<IIQI", 0x07064B50, 0, zip64_end, 1))
        self._write(struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, min(count, 0xFFFF), min(count, 0xFFFF),
                                min(central_size, 0xFFFFFFFF), min(central_offset, 0xFFFFFFFF), 0))


def _storage_bytes(ref: _StorageRef):
    """The raw bytes of a storage (one device-to-host copy for CUDA storages)."""
    array = to_numpy(ref.array)
    return array.reshape(-1).view(np.uint8)


def _write_archive(out, archive_name: str, pickled: bytes, storages: _StorageTable) -> None:
    writer = _ZipWriter(out, archive_name)
    writer.write_record("data.pkl", pickled)
    writer.write_record(".format_version", b"1")
    writer.write_record(".storage_alignment", str(_ALIGNMENT).encode("ascii"))
    writer.write_record("byteorder", sys.byteorder.encode("ascii"))
    for ref in storages.refs:
        writer.write_record(f"data/{ref.key}", _storage_bytes(ref))
    writer.write_record("version", b"3\n")
    writer.finish()


def _archive_name(path: str) -> str:
    """PyTorch names the archive's folder after the file, without its last extension."""
    base = os.path.basename(path)
    dot = base.rfind(".")
    name = base[:dot] if dot != -1 else base
    if not name:
        raise RuntimeError(f"invalid file name: {path}")
    return name


def _write_atomically(path: str, write: Callable[[IO[bytes]], None]) -> None:
    """Write to a temporary file beside ``path``, then rename it over ``path``.

    An interrupted save leaves the previous checkpoint intact and no temporary file behind.
    """
    # NOTE: a symlink is written through (as torch.save's open() does), not replaced by a file.
    path = os.path.realpath(path)
    folder = os.path.dirname(path)
    if not os.path.isdir(folder):
        raise RuntimeError(f"Parent directory {folder} does not exist.")
    if os.path.isdir(path):
        raise RuntimeError(f"cannot save to {path}: open file failed with strerror: Is a directory")
    tmp_path = os.path.join(folder, f".{os.path.basename(path)}.{secrets.token_hex(6)}.tmp")
    # NOTE: "xb" creates the file with the usual umask-derived mode (mkstemp would force 0600);
    # an existing checkpoint's mode is kept, as overwriting it in place would keep it.
    try:
        with open(tmp_path, "xb") as out:
            write(out)
            out.flush()
            os.fsync(out.fileno())
        with contextlib.suppress(OSError):
            shutil.copymode(path, tmp_path)
        os.replace(tmp_path, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp_path)
        raise
    with contextlib.suppress(OSError, AttributeError):  # make the rename itself durable (POSIX only)
        dir_fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)


def save(obj: Any, f: FILE_LIKE, pickle_module: Any = None, pickle_protocol: int = DEFAULT_PROTOCOL,
         _use_new_zipfile_serialization: bool = True) -> None:
    """Save ``obj`` in PyTorch's zip checkpoint format (``torch.save``); ``torch.load`` reads it.

    A path is written atomically (a temporary file renamed over the target); a binary file
    object is written from its current position.
    """
    if pickle_module is not None and pickle_module is not pickle:
        raise RuntimeError("ember.save supports only the standard pickle module")
    if not _use_new_zipfile_serialization:
        raise RuntimeError("ember.save writes only the zip format (_use_new_zipfile_serialization=True)")
    is_path = isinstance(f, (str, os.PathLike))
    if is_path:
        path = os.fspath(f)
        if isinstance(path, bytes):
            path = os.fsdecode(path)
        archive_name = _archive_name(path)
    elif not hasattr(f, "write"):
        raise AttributeError("expected 'f' to be string, path, or a file-like object with a 'write' attribute")
    else:
        archive_name = "archive"
    # Pickle first: an object that cannot be pickled fails before any byte is written.
    storages = _StorageTable()
    buffer = io.BytesIO()
    _Pickler(buffer, pickle_protocol, storages).dump(obj)
    pickled = buffer.getvalue()
    if is_path:
        _write_atomically(path, lambda out: _write_archive(out, archive_name, pickled, storages))
    else:
        _write_archive(f, archive_name, pickled, storages)
        if hasattr(f, "flush"):
            f.flush()


# ------------------------------------------------------------------------------------------------
# Loading
# ------------------------------------------------------------------------------------------------
_CORRUPT_HINT = ("If you are seeing this error, there is a high likelihood that your checkpoint file is "
                 "corrupted. This can happen if the file was not saved completely (e.g. the save was interrupted).")
_UNSAFE_MESSAGE = (
    "Re-running `ember.load` with `weights_only` set to `False` will likely succeed, but it can result in "
    "arbitrary code execution. Do it only if you got the file from a trusted source.")
_BLOCKED_MODULES = ("sys", "os", "posix", "nt")


class _StorageType:
    """What a ``torch.FloatStorage``-like global unpickles to: the element type of a storage."""

    __slots__ = ("name", "dtype")

    def __init__(self, name: str, dtype: D.dtype | None):
        self.name = name
        self.dtype = dtype  # None for torch.UntypedStorage (bytes)

    def __repr__(self) -> str:
        return f"torch.{self.name}"


_UNTYPED_STORAGE = _StorageType("UntypedStorage", None)


class _LoadedStorage:
    """A storage read from the archive: a flat array on its restored device."""

    __slots__ = ("array", "dtype")

    def __init__(self, array, dtype: D.dtype | None):
        self.array = array
        self.dtype = dtype

    def typed(self, dtype: D.dtype):
        """The storage's array viewed as ``dtype`` (for untyped byte storages)."""
        if self.dtype is dtype:
            return self.array
        if self.array.nbytes % dtype.itemsize:
            raise RuntimeError(f"the storage's size in bytes ({self.array.nbytes}) is not a multiple of the "
                               f"element size of {dtype} ({dtype.itemsize})")
        return self.array.view(np.uint8).view(dtype.np)


def _tensor_from_storage(storage: _LoadedStorage, offset: int, size, stride, dtype: D.dtype | None = None):
    """The array a tensor sees: ``storage[offset:]`` with ``size``/``stride``, bounds-checked."""
    if not isinstance(storage, _LoadedStorage):
        raise pickle.UnpicklingError(f"expected a storage to rebuild a tensor, but got {type(storage).__name__}")
    array = storage.typed(dtype or storage.dtype)
    size, stride, offset = tuple(int(n) for n in size), tuple(int(s) for s in stride), int(offset)
    if len(size) != len(stride) or offset < 0 or any(n < 0 for n in size) or any(s < 0 for s in stride):
        raise RuntimeError(f"invalid tensor layout in checkpoint: sizes {list(size)}, strides {list(stride)}, "
                           f"storage offset {offset}")
    numel = math.prod(size)
    needed = 0 if numel == 0 else offset + 1 + sum((n - 1) * s for n, s in zip(size, stride))
    if needed > array.size or offset > array.size:
        itemsize = array.dtype.itemsize
        raise RuntimeError(
            f"setStorage: sizes {list(size)}, strides {list(stride)}, storage offset {offset}, and itemsize "
            f"{itemsize} requiring a storage size of {needed * itemsize} are out of bounds for storage of size "
            f"{array.size * itemsize}")
    if numel == 0:
        return array_module(array).empty(size, dtype=array.dtype)
    itemsize = array.dtype.itemsize
    xp = array_module(array)
    return xp.lib.stride_tricks.as_strided(array[offset:], size, tuple(s * itemsize for s in stride))


def _check_requires_grad(array, requires_grad) -> bool:
    requires_grad = bool(requires_grad)
    if requires_grad and array.dtype.kind not in "fV":
        raise RuntimeError("Only Tensors of floating point and complex dtype can require gradients")
    return requires_grad


def _rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad=False, backward_hooks=None,
                       metadata=None) -> Tensor:
    """``torch._utils._rebuild_tensor_v2``: a tensor over a loaded storage."""
    array = _tensor_from_storage(storage, storage_offset, size, stride)
    return _rebuild_tensor(Tensor, array, _check_requires_grad(array, requires_grad))


def _rebuild_tensor_v3(storage, storage_offset, size, stride, requires_grad, backward_hooks, dtype,
                       metadata=None) -> Tensor:
    """``torch._utils._rebuild_tensor_v3``: like v2 over an untyped storage, with the dtype given."""
    if not isinstance(dtype, D.dtype):
        raise pickle.UnpicklingError(f"expected a dtype, but got {type(dtype).__name__}")
    array = _tensor_from_storage(storage, storage_offset, size, stride, dtype)
    return _rebuild_tensor(Tensor, array, _check_requires_grad(array, requires_grad))


def _rebuild_tensor_v1(storage, storage_offset, size, stride) -> Tensor:
    """``torch._utils._rebuild_tensor`` (old checkpoints): no requires_grad."""
    return _rebuild_tensor(Tensor, _tensor_from_storage(storage, storage_offset, size, stride), False)


def _rebuild_parameter(data, requires_grad, backward_hooks=None):
    """``torch._utils._rebuild_parameter``: a Parameter sharing the rebuilt tensor's storage."""
    if not isinstance(data, Tensor):
        raise pickle.UnpicklingError(f"expected a tensor to rebuild a Parameter, but got {type(data).__name__}")
    return Parameter(data, bool(requires_grad))


def _rebuild_parameter_with_state(data, requires_grad, backward_hooks, state):
    """``torch._utils._rebuild_parameter_with_state``: a Parameter with extra Python attributes."""
    param = _rebuild_parameter(data, requires_grad, backward_hooks)
    if isinstance(state, dict):
        for name, value in state.items():
            if isinstance(name, str) and not name.startswith("__"):
                param.__dict__[name] = value
    return param


def _rebuild_from_type_v2(func, new_type, args, state):
    """``torch._tensor._rebuild_from_type_v2``: a tensor rebuilt by ``func``, as ``new_type``."""
    result = func(*args)
    if new_type is Parameter and not isinstance(result, Parameter):
        result = Parameter(result, result.requires_grad)
    if isinstance(state, dict):
        for name, value in state.items():
            if isinstance(name, str) and not name.startswith("__"):
                result.__dict__[name] = value
    return result


def _get_layout(name: str):
    """``torch.serialization._get_layout``: ember has only the strided layout."""
    import ember
    if name != "torch.strided":
        raise RuntimeError(f"ember supports only the strided layout, but the checkpoint uses {name}")
    return ember.strided


def _codecs_encode(obj, encoding="utf-8", errors="strict"):
    """``_codecs.encode`` as protocol-2 pickles use it for bytes: only latin-1 text."""
    if not isinstance(obj, str) or encoding not in ("latin1", "latin-1"):
        raise pickle.UnpicklingError(f"_codecs.encode is allowed only for latin1 strings, got {encoding!r}")
    return obj.encode("latin1", errors)


def _safe_globals() -> dict[str, Any]:
    """Every global a weights-only load may resolve (PyTorch's default allowlist, mapped to ember)."""
    allowed: dict[str, Any] = {
        "collections.OrderedDict": collections.OrderedDict,
        "collections.Counter": collections.Counter,
        "torch.nn.parameter.Parameter": Parameter,
        "torch.serialization._get_layout": _get_layout,
        "torch.Size": Size,
        "torch.Tensor": Tensor,
        "torch.device": _device_cls,
        "_codecs.encode": _codecs_encode,
        "builtins.bytearray": bytearray,
        "builtins.set": set,
        "builtins.complex": complex,
        "torch._utils._rebuild_tensor": _rebuild_tensor_v1,
        "torch._utils._rebuild_tensor_v2": _rebuild_tensor_v2,
        "torch._utils._rebuild_tensor_v3": _rebuild_tensor_v3,
        "torch._utils._rebuild_parameter": _rebuild_parameter,
        "torch._utils._rebuild_parameter_with_state": _rebuild_parameter_with_state,
        "torch._tensor._rebuild_from_type_v2": _rebuild_from_type_v2,
        "torch.storage.UntypedStorage": _UNTYPED_STORAGE,
        "torch.UntypedStorage": _UNTYPED_STORAGE,
    }
    for name, dtype in D._BY_NAME.items():
        allowed["torch." + name] = dtype
    for name, dtype in _STORAGE_DTYPES.items():
        allowed["torch." + name] = allowed["torch.cuda." + name] = _StorageType(name, dtype)
    return allowed


_ALLOWED: dict[str, Any] | None = None
_user_safe_globals: set = set()


def add_safe_globals(safe_globals: list) -> None:
    """Allow these functions/classes (or ``(obj, "module.name")`` pairs) in weights-only loads."""
    _user_safe_globals.update(safe_globals)


def get_safe_globals() -> list:
    return list(_user_safe_globals)


def clear_safe_globals() -> None:
    _user_safe_globals.clear()


@contextlib.contextmanager
def safe_globals(globals_list: list):
    """Context manager form of :func:`add_safe_globals`."""
    added = set(globals_list) - _user_safe_globals
    _user_safe_globals.update(added)
    try:
        yield
    finally:
        _user_safe_globals.difference_update(added)


def _user_allowed() -> dict[str, Any]:
    allowed = {}
    for entry in _user_safe_globals:
        if isinstance(entry, tuple):
            obj, name = entry
            allowed[name] = obj
        else:
            allowed[f"{entry.__module__}.{entry.__qualname__}"] = entry
    return allowed


def _map_py2_name(module: str, name: str) -> tuple[str, str]:
    """Python 2 names in protocol-2 pickles (``__builtin__.set``) as Python 3 names."""
    if (module, name) in _compat_pickle.NAME_MAPPING:
        return _compat_pickle.NAME_MAPPING[(module, name)]
    return _compat_pickle.IMPORT_MAPPING.get(module, module), name


def _unsupported_global_message(module: str, name: str) -> str:
    full_path = f"{module}.{name}"
    if module in _BLOCKED_MODULES:
        return f"Trying to load unsupported GLOBAL {full_path} whose module {module} is blocked."
    shown = name if module == "builtins" else full_path
    return (f"Unsupported global: GLOBAL {shown} was not an allowed global by default. Please use "
            f"`ember.serialization.add_safe_globals([{shown}])` or the `ember.serialization.safe_globals([{shown}])` "
            "context manager to allowlist this global if you trust this class/function.")


class _WeightsOnlyError(pickle.UnpicklingError):
    """A global outside the allowlist: reported with PyTorch's "Weights only load failed." wording."""


def _torch_to_ember(module: str, name: str):
    """Map a torch global to the ember object of the same role; None when ember has none."""
    full_path = f"{module}.{name}"
    global _ALLOWED
    if _ALLOWED is None:
        _ALLOWED = _safe_globals()
    if full_path in _ALLOWED:
        return _ALLOWED[full_path]
    if module == "torch" and name in _TORCH_ONLY_DTYPES:
        raise RuntimeError(f"ember has no dtype torch.{name}; the checkpoint cannot be loaded into ember")
    if module in ("torch", "torch.cuda") and name in _TORCH_ONLY_STORAGES:
        raise RuntimeError(f"ember cannot load a torch.{name}: it has no such dtype")
    return None


class _Unpickler(pickle.Unpickler):
    """Reads data.pkl: storages come from the archive; globals go through an allowlist when weights_only."""

    def __init__(self, file, load_storage: Callable, weights_only: bool):
        super().__init__(file, encoding="utf-8")
        self._load_storage = load_storage
        self._weights_only = weights_only

    def find_class(self, module: str, name: str):
        module, name = _map_py2_name(module, name)
        mapped = _torch_to_ember(module, name)
        if mapped is not None:
            return mapped
        if self._weights_only:
            user = _user_allowed().get(f"{module}.{name}")
            if user is not None and module not in _BLOCKED_MODULES:
                return user
            raise _WeightsOnlyError(_unsupported_global_message(module, name))
        if module == "torch" or module.startswith("torch."):
            return self._find_ember_equivalent(module, name)
        return super().find_class(module, name)

    @staticmethod
    def _find_ember_equivalent(module: str, name: str):
        import importlib
        ember_module = "ember" + module[len("torch"):]
        try:
            obj = importlib.import_module(ember_module)
            for part in name.split("."):
                obj = getattr(obj, part)
            return obj
        except (ImportError, AttributeError):
            raise pickle.UnpicklingError(
                f"the checkpoint needs {module}.{name}, which has no ember equivalent ({ember_module}.{name})"
            ) from None

    def persistent_load(self, pid):
        if type(pid) is not tuple or len(pid) < 5:
            raise pickle.UnpicklingError(f"persistent_load id must be a storage tuple, but got {pid!r:.80}")
        kind, storage_type, key, location, numel = pid[:5]
        if isinstance(kind, bytes):
            kind = kind.decode("ascii")
        if kind != "storage":
            raise pickle.UnpicklingError(f"Only persistent_load of storage is allowed, but got {kind!r:.80}")
        if not isinstance(storage_type, _StorageType):
            raise pickle.UnpicklingError(f"expected a storage type in the persistent id, but got {storage_type!r:.80}")
        if not isinstance(key, str) or not isinstance(location, str) or type(numel) is not int or numel < 0:
            raise pickle.UnpicklingError(f"malformed storage persistent id {pid!r:.200}")
        return self._load_storage(storage_type, key, location, numel)


# -- map_location ---------------------------------------------------------------------------------
def _restore_to(array, location: str):
    """Put a CPU storage array on the device named by ``location`` (PyTorch's default_restore_location)."""
    if location == "cpu":
        return array
    if location == "cuda" or location.startswith("cuda:"):
        index = int(location[5:]) if location.startswith("cuda:") and location[5:].isdigit() else 0
        if not cuda_available():
            raise RuntimeError(
                "Attempting to deserialize object on a CUDA device but torch.cuda.is_available() is False. "
                "If you are running on a CPU-only machine, please use torch.load with "
                "map_location=torch.device('cpu') to map your storages to the CPU.")
        from . import cuda
        count = cuda.device_count()
        if index >= count:
            raise RuntimeError(
                f"Attempting to deserialize object on CUDA device {index} but torch.cuda.device_count() is "
                f"{count}. Please use torch.load with map_location to map your storages to an existing device.")
        cupy = module_for_device("cuda")
        with cupy.cuda.Device(index):
            return cupy.asarray(array)
    raise RuntimeError(f"don't know how to restore data location of a storage (tagged with {location})")


def _restore_location(map_location) -> Callable[[Any, str], Any]:
    """A function (cpu array, location tag) -> array on the right device, for any map_location form."""
    if map_location is None:
        return _restore_to
    if isinstance(map_location, (str, bytes)):
        target = map_location.decode() if isinstance(map_location, bytes) else map_location
        return lambda array, location: _restore_to(array, str(_device_cls(target)))
    if isinstance(map_location, _device_cls):
        return lambda array, location: _restore_to(array, str(map_location))
    if isinstance(map_location, dict):
        def remap(array, location):
            target = map_location.get(location, location)
            return _restore_to(array, str(target))
        return remap
    if callable(map_location):
        def call(array, location):
            result = map_location(_rebuild_tensor(Tensor, array, False), location)
            if result is None:
                return _restore_to(array, location)
            if isinstance(result, Tensor):
                return result._data.reshape(-1)
            raise TypeError(f"map_location must return None or a storage (a Tensor), got {type(result).__name__}")
        return call
    raise ValueError("map_location should be either None, a string, a device, a dict or a callable, "
                     f"but got {type(map_location).__name__}")


# -- the archive -----------------------------------------------------------------------------------
def _zip_error(reason: str) -> RuntimeError:
    return RuntimeError(f"PytorchStreamReader failed reading zip archive: {reason}. {_CORRUPT_HINT}")


class _ArchiveReader:
    """Records of a checkpoint zip, with corruption reported as RuntimeError."""

    def __init__(self, fileobj, path: str | None, mmap: bool):
        try:
            self._zip = zipfile.ZipFile(fileobj)
            names = self._zip.namelist()
        except (zipfile.BadZipFile, OSError, EOFError, ValueError, struct.error) as error:
            raise _zip_error(str(error) or "not a ZIP archive") from None
        if not names:
            raise _zip_error("the archive is empty")
        self._prefix = names[0].split("/", 1)[0] + "/"
        self._fileobj = fileobj
        self._mmap = None
        if mmap:
            if path is None:
                raise ValueError("f must be a file path in order to use the mmap argument")
            with open(path, "rb") as mapped_file:
                # copy-on-write, like PyTorch's default MAP_PRIVATE: writes never reach the file
                self._mmap = mmap_module.mmap(mapped_file.fileno(), 0, access=mmap_module.ACCESS_COPY)

    def close(self) -> None:
        self._zip.close()

    def _info(self, name: str) -> zipfile.ZipInfo:
        try:
            return self._zip.getinfo(self._prefix + name)
        except KeyError:
            raise RuntimeError(f"PytorchStreamReader failed locating file {name}: file not found. "
                               f"{_CORRUPT_HINT}") from None

    def has(self, name: str) -> bool:
        return (self._prefix + name) in self._zip.NameToInfo

    def read(self, name: str) -> bytes:
        info = self._info(name)
        try:
            return self._zip.read(info)
        except (zipfile.BadZipFile, OSError, EOFError, ValueError, zlib.error, struct.error) as error:
            raise RuntimeError(f"PytorchStreamReader failed reading file {name}: {error}. {_CORRUPT_HINT}") from None

    def read_array(self, name: str, dtype: np.dtype, numel: int):
        """A record as a flat writable array of ``numel`` elements (mapped copy-on-write under mmap)."""
        info = self._info(name)
        nbytes = numel * dtype.itemsize
        if info.file_size != nbytes:
            raise RuntimeError(f"PytorchStreamReader: record {name} holds {info.file_size} bytes, but the "
                               f"checkpoint describes a storage of {numel} elements of {nbytes} bytes. {_CORRUPT_HINT}")
        if self._mmap is not None and info.compress_type == zipfile.ZIP_STORED:
            start = self._data_offset(info)
            if start + nbytes > len(self._mmap):
                raise _zip_error(f"record {name} extends past the end of the file")
            # frombuffer over the mapping itself: the storage array is the root of its views (not a
            # slice of a whole-file array), so re-saving it writes only this storage
            return np.frombuffer(self._mmap, dtype=dtype, count=numel, offset=start)
        array = np.empty(numel, dtype=dtype)
        if info.compress_type == zipfile.ZIP_STORED and hasattr(self._fileobj, "readinto"):
            self._read_stored_into(info, array.view(np.uint8))
        else:
            array.view(np.uint8)[:] = np.frombuffer(self.read(name), dtype=np.uint8)
        return array

    def _read_stored_into(self, info: zipfile.ZipInfo, out: np.ndarray) -> None:
        """Read an uncompressed record straight into ``out`` (one copy), then check its CRC."""
        self._fileobj.seek(self._data_offset(info))
        if self._fileobj.readinto(memoryview(out)) != out.nbytes:
            raise _zip_error(f"record {info.filename} extends past the end of the file")
        if zlib.crc32(out) != info.CRC:
            raise RuntimeError(f"PytorchStreamReader failed reading file {info.filename}: Bad CRC-32 for file "
                               f"{info.filename!r}. {_CORRUPT_HINT}")

    def _data_offset(self, info: zipfile.ZipInfo) -> int:
        """Where a record's bytes start: after its local header, whose extra field holds the padding."""
        if self._mmap is not None:
            header = self._mmap[info.header_offset:info.header_offset + 30]
        else:
            self._fileobj.seek(info.header_offset)
            header = self._fileobj.read(30)
        if len(header) != 30 or header[:4] != b"PK\x03\x04":
            raise _zip_error(f"bad local header for {info.filename}")
        name_len, extra_len = struct.unpack("<HH", header[26:30])
        return info.header_offset + 30 + name_len + extra_len


def _load_zip(reader: _ArchiveReader, map_location, weights_only: bool):
    restore = _restore_location(map_location)
    byteorder = reader.read("byteorder").decode("ascii", "replace") if reader.has("byteorder") else "little"
    if byteorder not in ("little", "big"):
        raise RuntimeError(f"Unknown endianness type: {byteorder}")
    loaded: dict[str, _LoadedStorage] = {}

    def load_storage(storage_type: _StorageType, key: str, location: str, numel: int) -> _LoadedStorage:
        if key in loaded:
            return loaded[key]
        dtype = storage_type.dtype
        np_dtype = np.dtype(np.uint8) if dtype is None else dtype.np
        array = reader.read_array(f"data/{key}", np_dtype, numel)
        if byteorder != sys.byteorder and np_dtype.itemsize > 1:
            array = array.byteswap()
        storage = _LoadedStorage(restore(array, location), dtype)
        loaded[key] = storage
        return storage

    pickled = reader.read("data.pkl")
    unpickler = _Unpickler(io.BytesIO(pickled), load_storage, weights_only)
    return _unpickle(unpickler)


def _unpickle(unpickler: pickle.Unpickler):
    """Run the unpickler; a malformed pickle becomes UnpicklingError, never a stray KeyError/IndexError."""
    try:
        return unpickler.load()
    except _WeightsOnlyError as error:
        raise pickle.UnpicklingError(
            f"Weights only load failed. {_UNSAFE_MESSAGE}\n\n{error}\n\nCheck the documentation of ember.load "
            "(torch.load) to learn more about types accepted by default with weights_only.") from None
    except (RuntimeError, pickle.UnpicklingError):
        raise
    except (EOFError, KeyError, IndexError, ValueError, TypeError, AttributeError, struct.error,
            UnicodeDecodeError, OverflowError, MemoryError) as error:
        raise pickle.UnpicklingError(
            f"corrupt checkpoint: the pickle data is malformed or truncated ({type(error).__name__}: {error})"
        ) from error


# -- the legacy (pre-1.6, non-zip) format -----------------------------------------------------------
_LEGACY_MAGIC = 0x1950A86A20F9469CFC6C
_LEGACY_PROTOCOL = 1001


class _Inert:
    """Stands for every global while the legacy loader scans a pickle for its storages: runs nothing."""

    def __new__(cls, *args, **kwargs):
        return object.__new__(cls)

    def __init__(self, *args, **kwargs):
        pass

    def __call__(self, *args, **kwargs):
        return _Inert()

    def __setstate__(self, state):
        pass

    def append(self, item):
        pass

    def extend(self, items):
        pass

    def __setitem__(self, key, value):
        pass


class _StorageScanner(pickle.Unpickler):
    """Unpickles with every global inert, only to learn each storage's type and size."""

    def __init__(self, file):
        super().__init__(file, encoding="utf-8")
        self.storages: dict[str, tuple[_StorageType, str, int]] = {}

    def find_class(self, module: str, name: str):
        module, name = _map_py2_name(module, name)
        found = _torch_to_ember(module, name)
        return found if isinstance(found, _StorageType) else _Inert

    def persistent_load(self, pid):
        if type(pid) is not tuple or len(pid) < 5 or not isinstance(pid[1], _StorageType):
            raise pickle.UnpicklingError(f"malformed storage persistent id {pid!r:.200}")
        self.storages[str(pid[2])] = (pid[1], str(pid[3]), int(pid[4]))
        return _Inert()


class _LegacyUnpickler(_Unpickler):
    """The object pickle of a legacy file; persistent ids may carry view metadata."""

    def __init__(self, file, storages: dict[str, _LoadedStorage], weights_only: bool):
        super().__init__(file, None, weights_only)
        self._storages = storages

    def persistent_load(self, pid):
        if type(pid) is not tuple or len(pid) < 5 or str(pid[2]) not in self._storages:
            raise pickle.UnpicklingError(f"malformed storage persistent id {pid!r:.200}")
        storage = self._storages[str(pid[2])]
        view = pid[5] if len(pid) > 5 else None
        if view is None:
            return storage
        _view_key, offset, size = view
        return _LoadedStorage(storage.array[int(offset):int(offset) + int(size)], storage.dtype)


def _load_legacy(fileobj, map_location, weights_only: bool):
    """Read ``torch.save(..., _use_new_zipfile_serialization=False)`` files.

    The layout is: magic number, protocol version, system info, the object pickle, the list of
    storage keys, then each storage as an int64 element count and raw bytes. The storages come
    after the object, so the object pickle is first scanned inertly for storage types and sizes.
    """
    restore = _restore_location(map_location)
    buffer = io.BytesIO(fileobj.read())
    try:
        magic = _unpickle(_Unpickler(buffer, None, True))
    except pickle.UnpicklingError as error:
        raise pickle.UnpicklingError(f"not a PyTorch/ember checkpoint (neither a zip archive nor a legacy "
                                     f"checkpoint), or a corrupt or truncated one: {error}") from None
    if magic != _LEGACY_MAGIC:
        raise RuntimeError("Invalid magic number; corrupt file?")
    protocol = _unpickle(_Unpickler(buffer, None, True))
    if protocol != _LEGACY_PROTOCOL:
        raise RuntimeError(f"Invalid protocol version: {protocol}")
    sys_info = _unpickle(_Unpickler(buffer, None, True))
    if isinstance(sys_info, dict) and not sys_info.get("little_endian", True):
        raise RuntimeError("ember cannot load big-endian legacy checkpoints")
    object_start = buffer.tell()
    scanner = _StorageScanner(buffer)
    _unpickle(scanner)
    keys = _unpickle(_Unpickler(buffer, None, True))
    if not isinstance(keys, list):
        raise pickle.UnpicklingError("corrupt checkpoint: the storage key list is missing")
    storages: dict[str, _LoadedStorage] = {}
    for key in keys:
        if str(key) not in scanner.storages:
            raise RuntimeError(f"corrupt checkpoint: unknown storage key {key!r}")
        storage_type, location, numel = scanner.storages[str(key)]
        dtype = np.dtype(np.uint8) if storage_type.dtype is None else storage_type.dtype.np
        header = buffer.read(8)
        raw = buffer.read(numel * dtype.itemsize)
        if len(header) != 8 or struct.unpack("<q", header)[0] != numel or len(raw) != numel * dtype.itemsize:
            raise RuntimeError("corrupt checkpoint: the storage data is truncated or does not match its description")
        array = np.frombuffer(raw, dtype=dtype).copy()
        storages[str(key)] = _LoadedStorage(restore(array, location), storage_type.dtype)
    buffer.seek(object_start)
    return _unpickle(_LegacyUnpickler(buffer, storages, weights_only))


# -- load --------------------------------------------------------------------------------------------
@contextlib.contextmanager
def _open_for_reading(f: FILE_LIKE):
    if isinstance(f, (str, os.PathLike)):
        with open(f, "rb") as fileobj:
            yield fileobj, os.fspath(f)
    else:
        if not hasattr(f, "read"):
            raise AttributeError("expected 'f' to be string, path, or a file-like object with a 'read' attribute")
        yield f, None


def load(f: FILE_LIKE, map_location=None, pickle_module: Any = None, *, weights_only: bool | None = None,
         mmap: bool | None = None, **pickle_load_args) -> Any:
    """Load a checkpoint written by ``torch.save`` or ``ember.save`` into ember objects (``torch.load``).

    ``weights_only=True`` (the default) only lets the file build tensors, Parameters, containers
    and plain values; any other global raises ``pickle.UnpicklingError`` without running code.
    ``map_location`` may be None, a device or device string, a dict remapping location tags, or a
    callable ``(storage, location) -> storage or None``.
    """
    if weights_only is None:
        weights_only = pickle_module is None
    if weights_only and pickle_module is not None:
        raise RuntimeError("Can not safely load weights when explicit pickle_module is specified")
    with _open_for_reading(f) as (fileobj, path):
        start = fileobj.tell() if hasattr(fileobj, "tell") else 0
        magic = fileobj.read(4)
        if hasattr(fileobj, "seek"):
            fileobj.seek(start)
        if not magic:
            raise RuntimeError("cannot load an empty file: it is not a PyTorch/ember checkpoint")
        if magic == b"PK\x03\x04":
            reader = _ArchiveReader(fileobj, path, bool(mmap))
            try:
                return _load_zip(reader, map_location, weights_only)
            finally:
                reader.close()
        if mmap:
            raise RuntimeError("mmap can only be used with files saved with "
                               "`torch.save(_use_new_zipfile_serialization=True)`")
        return _load_legacy(fileobj, map_location, weights_only)
