"""device objects: ``ember.device("cuda:0")`` behaves like ``torch.device``."""
from __future__ import annotations

_TYPES = ("cpu", "cuda")


class device:
    """Where a tensor's storage lives: type 'cpu' or 'cuda' and an optional index."""

    __slots__ = ("type", "index")

    def __init__(self, type, index: int | None = None):
        if isinstance(type, device):
            if index is not None:
                raise RuntimeError("device(): an index cannot be given together with a device object")
            self.type, self.index = type.type, type.index
            return
        if isinstance(type, int) and not isinstance(type, bool):
            # PyTorch treats a bare integer as a CUDA ordinal
            self.type, self.index = "cuda", type
            return
        if not isinstance(type, str):
            raise TypeError(f"device() received an invalid combination of arguments - got ({type!r})")
        spec = type
        if ":" in spec:
            if index is not None:
                raise RuntimeError(f"type (string) must not include an index because index was passed explicitly: {spec}")
            spec, _, idx = spec.partition(":")
            if not idx.isdigit():
                raise RuntimeError(f"Invalid device string: '{type}'")
            index = int(idx)
        if spec not in _TYPES:
            raise RuntimeError(
                "Expected one of cpu, cuda device type at start of device string: " + type)
        if index is not None and index < 0:
            raise RuntimeError(f"Device index must not be negative")
        self.type = spec
        self.index = index

    def __repr__(self) -> str:
        if self.index is None:
            return f"device(type='{self.type}')"
        return f"device(type='{self.type}', index={self.index})"

    def __str__(self) -> str:
        return self.type if self.index is None else f"{self.type}:{self.index}"

    def __eq__(self, other) -> bool:
        # NOTE: as in PyTorch, a device never equals a string (device("cpu") == "cpu" is False)
        if not isinstance(other, device):
            return NotImplemented
        return self.type == other.type and self.index == other.index

    def __hash__(self) -> int:
        return hash((self.type, self.index))

    def __reduce__(self):
        return (device, (self.type, self.index))


CPU = device("cpu")


def to_device(obj) -> device:
    if type(obj) is device:
        return obj
    if obj is None:
        return CPU
    return device(obj)
