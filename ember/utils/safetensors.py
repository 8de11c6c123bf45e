"""``ember.utils.safetensors``: the safetensors format, with ``safetensors.torch``'s API.

Built on the ``safetensors`` package's NumPy API (the optional ``ember[safetensors]`` extra),
so files written here load with ``safetensors.torch.load_file`` and the reverse, dtypes
included (bfloat16 through ml_dtypes). The format holds only named dense arrays and string
metadata: loading a file never runs code from it. As in ``safetensors.torch``: ``save_file``
refuses tensors that share memory or are not contiguous (``save_model`` keeps one name of a
shared group, such as tied weights, and records the others in the metadata), and
``load_model`` returns ``(missing, unexpected)`` names. ``save_file`` writes a temporary file
and renames it, so an interrupted save leaves the previous file as it was.
"""
from __future__ import annotations

import os
from typing import Dict, List, Optional, Set, Tuple, Union

from .._backend import to_numpy
from .._tensor import Tensor
from ..serialization import _root_array, _data_ptr, _write_atomically

__all__ = ["save", "save_file", "load", "load_file", "save_model", "load_model"]

PathLike = Union[str, "os.PathLike[str]"]


def _numpy_api():
    try:
        import safetensors.numpy as api
    except ImportError as exc:  # an optional extra
        raise ImportError("ember.utils.safetensors needs the safetensors package "
                          "(pip install 'ember[safetensors]')") from exc
    return api


def _storage_key(t: Tensor) -> int:
    return id(_root_array(t._data))  # the array owning the memory; all roots stay alive meanwhile


def _shared_groups(tensors: Dict[str, Tensor]) -> List[Set[str]]:
    """Names grouped by the memory their tensors view (singletons included)."""
    groups: dict = {}
    for name, t in tensors.items():
        if t.numel() == 0:
            groups[("empty", name)] = {name}  # empty tensors own no memory to share
            continue
        groups.setdefault(_storage_key(t), set()).add(name)
    return list(groups.values())


def _check_for_save(tensors) -> None:
    if not isinstance(tensors, dict):
        raise ValueError(f"Expected a dict of [str, torch.Tensor] but received {type(tensors)}")
    for name, t in tensors.items():
        if not isinstance(t, Tensor):
            raise ValueError(f"Key `{name}` is invalid, expected torch.Tensor but received {type(t)}")
    failing = [group for group in _shared_groups(tensors) if len(group) > 1]
    if failing:
        raise RuntimeError(
            "Some tensors share memory, this will lead to duplicate memory on disk and potential differences "
            f"when loading them again: {failing}. A potential way to correctly save your model is to use "
            "`save_model`.")
    for name, t in tensors.items():
        if not t.is_contiguous():
            raise ValueError(
                f"You are trying to save a non contiguous tensor: `{name}` which is not allowed. It either means "
                "you are trying to save tensors which are reference of each other in which case it's recommended "
                "to save only the full tensors, and reslice at load time, or simply call `.contiguous()` on your "
                "tensor to pack it before saving.")


def _arrays(tensors: Dict[str, Tensor]) -> dict:
    return {name: to_numpy(t.detach()._data) for name, t in tensors.items()}


def save(tensors: Dict[str, Tensor], metadata: Optional[Dict[str, str]] = None) -> bytes:
    """The safetensors bytes of ``tensors`` (``safetensors.torch.save``)."""
    _check_for_save(tensors)
    return _numpy_api().save(_arrays(tensors), metadata=metadata)


def save_file(tensors: Dict[str, Tensor], filename: PathLike, metadata: Optional[Dict[str, str]] = None) -> None:
    """Write ``tensors`` to ``filename`` in the safetensors format (``safetensors.torch.save_file``)."""
    data = save(tensors, metadata)
    _write_atomically(os.fspath(filename), lambda out: out.write(data))


def _tensors(arrays: dict, device) -> Dict[str, Tensor]:
    from .._factory import from_numpy
    # the arrays read from a file are read-only views of it: each tensor gets its own copy
    out = {name: from_numpy(arr.copy()) for name, arr in arrays.items()}
    if device is not None and str(device) != "cpu":
        out = {name: t.to(device if not isinstance(device, int) else f"cuda:{device}") for name, t in out.items()}
    return out


def load(data: bytes) -> Dict[str, Tensor]:
    """Tensors from safetensors bytes (``safetensors.torch.load``)."""
    return _tensors(_numpy_api().load(data), None)


def load_file(filename: PathLike, device: Union[str, int] = "cpu") -> Dict[str, Tensor]:
    """Tensors from a safetensors file, on ``device`` (``safetensors.torch.load_file``)."""
    return _tensors(_numpy_api().load_file(os.fspath(filename)), device)


def _covers_storage(t: Tensor) -> bool:
    root = _root_array(t._data)
    return _data_ptr(t._data) == _data_ptr(root) and t._data.nbytes == root.nbytes


def _duplicate_names(state_dict: Dict[str, Tensor], preferred=()) -> Dict[str, List[str]]:
    """For each group of names sharing memory: the name kept -> the names dropped.

    The kept name views the whole memory (the first in sorted order, or the first of ``preferred``
    among those); a group where no name does cannot be saved without storing more than needed.
    """
    preferred = set(preferred)
    drops: Dict[str, List[str]] = {}
    for group in _shared_groups(state_dict):
        if len(group) < 2:
            continue
        complete = sorted(name for name in group if _covers_storage(state_dict[name]))
        if not complete:
            raise RuntimeError(
                "Error while trying to find names to remove to save state dict, but found no suitable name to keep "
                f"for saving amongst: {group}. None is covering the entire storage.Refusing to save/load the model "
                "since you could be storing much more memory than needed.")
        keep = next((name for name in complete if name in preferred), complete[0])
        drops[keep] = sorted(name for name in group if name != keep)
    return drops


def save_model(model, filename: PathLike, metadata: Optional[Dict[str, str]] = None,
               force_contiguous: bool = True) -> None:
    """Save ``model.state_dict()``, one name per shared tensor (``safetensors.torch.save_model``)."""
    state_dict = model.state_dict()
    metadata = dict(metadata or {})
    for keep, dropped in _duplicate_names(state_dict).items():
        for name in dropped:
            metadata.setdefault(name, keep)
            del state_dict[name]
    if force_contiguous:
        state_dict = {name: t.contiguous() for name, t in state_dict.items()}
    try:
        save_file(state_dict, filename, metadata=metadata or None)
    except ValueError as exc:
        raise ValueError(f"{exc} Or use save_model(..., force_contiguous=True), read the docs for potential "
                         "caveats.") from None


def load_model(model, filename: PathLike, strict: bool = True,
               device: Union[str, int] = "cpu") -> Tuple[Set[str], List[str]]:
    """Load a file written by ``save_model`` into ``model`` (``safetensors.torch.load_model``).

    Returns ``(missing, unexpected)`` (a set and a list, as safetensors does); with ``strict``
    either being non-empty is a RuntimeError.
    """
    state_dict = load_file(filename, device=device)
    dropped = _duplicate_names(model.state_dict(), preferred=state_dict.keys())
    missing, unexpected = model.load_state_dict(state_dict, strict=False)
    missing = set(missing)
    for names in dropped.values():
        for name in names:  # filled through the tensor they share memory with
            if name in missing:
                missing.remove(name)
            else:
                unexpected.append(name)
    if strict and (missing or unexpected):
        error = f"Error(s) in loading state_dict for {model.__class__.__name__}:"
        if missing:
            error += "\n    Missing key(s) in state_dict: " + ", ".join(f'"{k}"' for k in sorted(missing))
        if unexpected:
            error += "\n    Unexpected key(s) in state_dict: " + ", ".join(f'"{k}"' for k in sorted(unexpected))
        raise RuntimeError(error)
    return missing, unexpected
