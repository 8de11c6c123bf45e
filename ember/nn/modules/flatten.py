"""``Flatten`` and ``Unflatten`` (``torch.nn.Flatten`` / ``torch.nn.Unflatten``)."""
from __future__ import annotations

from typing import Any

from ..._tensor import Tensor
from .module import Module

__all__ = ["Flatten", "Unflatten"]


class Flatten(Module):
    """Flatten dims ``start_dim..end_dim`` into one (by default all but the batch dim)."""

    __constants__ = ["start_dim", "end_dim"]

    def __init__(self, start_dim: int = 1, end_dim: int = -1) -> None:
        super().__init__()
        self.start_dim = start_dim
        self.end_dim = end_dim

    def forward(self, input: Tensor) -> Tensor:
        return input.flatten(self.start_dim, self.end_dim)

    def extra_repr(self) -> str:
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"


def _require_tuple_of_ints(sizes: Any) -> None:
    if isinstance(sizes, (tuple, list)):
        for position, element in enumerate(sizes):
            if not isinstance(element, int):
                raise TypeError("unflattened_size must be tuple of ints, "
                                f"but found element of type {type(element).__name__} at pos {position}")
        return
    raise TypeError(f"unflattened_size must be a tuple of ints, but found type {type(sizes).__name__}")


class Unflatten(Module):
    """Split dimension ``dim`` into ``unflattened_size``."""

    __constants__ = ["dim", "unflattened_size"]

    def __init__(self, dim: int, unflattened_size) -> None:
        super().__init__()
        if not isinstance(dim, str):  # str dims are for named tensors, which ember does not have
            _require_tuple_of_ints(unflattened_size)
        self.dim = dim
        self.unflattened_size = unflattened_size

    def forward(self, input: Tensor) -> Tensor:
        return input.unflatten(self.dim, self.unflattened_size)

    def extra_repr(self) -> str:
        return f"dim={self.dim}, unflattened_size={self.unflattened_size}"
