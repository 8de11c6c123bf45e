"""Padding layers: constant, zero, reflection, replication and circular (``torch.nn.*Pad*d``)."""
from __future__ import annotations

from ..._tensor import Tensor
from ...ops.pool import pad
from .module import Module

__all__ = ["ConstantPad1d", "ConstantPad2d", "ConstantPad3d", "ZeroPad1d", "ZeroPad2d", "ZeroPad3d",
           "ReflectionPad1d", "ReflectionPad2d", "ReflectionPad3d", "ReplicationPad1d", "ReplicationPad2d",
           "ReplicationPad3d", "CircularPad1d", "CircularPad2d", "CircularPad3d"]


def _padding(padding, nd: int) -> tuple:
    if isinstance(padding, (list, tuple)):
        if len(padding) != 2 * nd:
            raise ValueError(f"Padding length must be {2 * nd}, but got {len(padding)}")
        return tuple(padding)
    return (padding,) * (2 * nd)


class _PadNd(Module):
    __constants__ = ["padding"]
    _nd = 2
    _mode = "constant"

    def __init__(self, padding) -> None:
        super().__init__()
        self.padding = _padding(padding, self._nd)

    def forward(self, input: Tensor) -> Tensor:
        return pad(input, self.padding, self._mode)

    def extra_repr(self) -> str:
        return f"{self.padding}"


class _ConstantPadNd(_PadNd):
    __constants__ = ["padding", "value"]

    def __init__(self, padding, value: float) -> None:
        super().__init__(padding)
        self.value = value

    def forward(self, input: Tensor) -> Tensor:
        return pad(input, self.padding, "constant", self.value)

    def extra_repr(self) -> str:
        return f"padding={self.padding}, value={self.value}"


class ConstantPad1d(_ConstantPadNd):
    """``torch.nn.ConstantPad1d``."""
    _nd = 1


class ConstantPad2d(_ConstantPadNd):
    """``torch.nn.ConstantPad2d``."""
    _nd = 2


class ConstantPad3d(_ConstantPadNd):
    """``torch.nn.ConstantPad3d``."""
    _nd = 3


class _ZeroPadNd(_ConstantPadNd):
    def __init__(self, padding) -> None:
        super().__init__(padding, 0.0)

    def extra_repr(self) -> str:
        return f"{self.padding}"


class ZeroPad1d(_ZeroPadNd):
    """``torch.nn.ZeroPad1d``."""
    _nd = 1


class ZeroPad2d(_ZeroPadNd):
    """``torch.nn.ZeroPad2d``."""
    _nd = 2


class ZeroPad3d(_ZeroPadNd):
    """``torch.nn.ZeroPad3d``."""
    _nd = 3


class ReflectionPad1d(_PadNd):
    """``torch.nn.ReflectionPad1d``."""
    _nd, _mode = 1, "reflect"


class ReflectionPad2d(_PadNd):
    """``torch.nn.ReflectionPad2d``."""
    _nd, _mode = 2, "reflect"


class ReflectionPad3d(_PadNd):
    """``torch.nn.ReflectionPad3d``."""
    _nd, _mode = 3, "reflect"


class ReplicationPad1d(_PadNd):
    """``torch.nn.ReplicationPad1d``."""
    _nd, _mode = 1, "replicate"


class ReplicationPad2d(_PadNd):
    """``torch.nn.ReplicationPad2d``."""
    _nd, _mode = 2, "replicate"


class ReplicationPad3d(_PadNd):
    """``torch.nn.ReplicationPad3d``."""
    _nd, _mode = 3, "replicate"


class CircularPad1d(_PadNd):
    """``torch.nn.CircularPad1d``."""
    _nd, _mode = 1, "circular"


class CircularPad2d(_PadNd):
    """``torch.nn.CircularPad2d``."""
    _nd, _mode = 2, "circular"


class CircularPad3d(_PadNd):
    """``torch.nn.CircularPad3d``."""
    _nd, _mode = 3, "circular"
