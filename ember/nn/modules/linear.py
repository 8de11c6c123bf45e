"""``Identity``, ``Linear`` and ``Bilinear``, plus the ``linear``/``bilinear`` functions behind them.

``nn.functional`` re-exports ``linear`` and ``bilinear`` from here (they are not in
``__all__`` so that ``ember.nn.modules.linear`` stays the submodule).
"""
from __future__ import annotations

import math

from ..._tensor import Tensor
from ..._factory import empty
from ...ops.linalg import addmm, mm
from .. import init
from ..parameter import Parameter
from .module import Module

__all__ = ["Identity", "Linear", "Bilinear"]


def linear(input: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """``input @ weight.T + bias`` over the last dimension (``torch.nn.functional.linear``)."""
    if input._data.ndim == 2 and weight._data.ndim == 2:  # the hot path: one BLAS call
        return addmm(bias, input, weight.t()) if bias is not None else mm(input, weight.t())
    if input.dim() == 0 or weight.dim() == 0:
        raise RuntimeError(f"both arguments to linear need to be at least 1D, but they are {input.dim()}D "
                           f"and {weight.dim()}D")
    if weight.dim() == 1 and bias is None:  # a 1-D weight is one output feature, dropped: input @ weight
        return input.matmul(weight)
    in_features = input.shape[-1]
    batch_shape = input.shape[:-1]
    rows = math.prod(batch_shape)
    if weight.dim() == 2 and weight.shape[1] != in_features:
        # checked here because the reshape below could otherwise fail with another message
        raise RuntimeError(f"mat1 and mat2 shapes cannot be multiplied ({rows}x{in_features} and "
                           f"{weight.shape[1]}x{weight.shape[0]})")
    flat = input.reshape(rows, in_features)
    out = addmm(bias, flat, weight.t()) if bias is not None else mm(flat, weight.t())
    return out.reshape(*batch_shape, weight.shape[0])


def bilinear(input1: Tensor, input2: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """``y[..., o] = sum_ij x1[..., i] W[o, i, j] x2[..., j] + b[o]`` (``torch.nn.functional.bilinear``)."""
    if input1.dim() != input2.dim():
        raise RuntimeError(f"bilinear(): input dimensions do not match: got {input1.dim()} and {input2.dim()}")
    for d in range(input1.dim() - 1):
        if input1.shape[d] != input2.shape[d]:
            raise RuntimeError(f"bilinear(): input batch dimensions do not match at dim {d}: got "
                               f"{input1.shape[d]} and {input2.shape[d]}")
    out_features, in1, in2 = weight.shape
    if input1.shape[-1] != in1:
        raise RuntimeError(f"bilinear(): input1 size does not match weight size: got {input1.shape[-1]} but "
                           f"expected {in1}")
    if input2.shape[-1] != in2:
        raise RuntimeError(f"bilinear(): input2 size does not match weight size: got {input2.shape[-1]} but "
                           f"expected {in2}")
    batch_shape = input1.shape[:-1]
    rows = math.prod(batch_shape)
    x1 = input1.reshape(rows, in1)
    x2 = input2.reshape(rows, 1, in2)
    # (rows, in1) @ (in1, out*in2): one BLAS call, then contract in2 against x2
    mixed = mm(x1, weight.permute(1, 0, 2).reshape(in1, out_features * in2))
    out = (mixed.reshape(rows, out_features, in2) * x2).sum(-1)
    if bias is not None:
        out = out + bias
    return out.reshape(*batch_shape, out_features)


class Identity(Module):
    """Returns its input unchanged; accepts and ignores any constructor arguments (``torch.nn.Identity``)."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__()

    def forward(self, input: Tensor) -> Tensor:
        return input


class Linear(Module):
    """``y = x W^T + b`` with ``weight`` (out_features, in_features) (``torch.nn.Linear``)."""

    __constants__ = ["in_features", "out_features"]

    def __init__(self, in_features: int, out_features: int, bias: bool = True, device=None, dtype=None) -> None:
        super().__init__()
        self.in_features = in_features
        self.out_features = out_features
        self.weight = Parameter(empty((out_features, in_features), device=device, dtype=dtype))
        if bias:
            self.bias = Parameter(empty(out_features, device=device, dtype=dtype))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """PyTorch's default: weight kaiming_uniform_(a=sqrt(5)), bias U(-1/sqrt(fan_in), 1/sqrt(fan_in))."""
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            fan_in, _ = init._calculate_fan_in_and_fan_out(self.weight)
            bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0
            init.uniform_(self.bias, -bound, bound)

    def forward(self, input: Tensor) -> Tensor:
        return linear(input, self.weight, self.bias)

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}"


class Bilinear(Module):
    """``y = x1^T A x2 + b`` with ``weight`` (out, in1, in2) (``torch.nn.Bilinear``)."""

    __constants__ = ["in1_features", "in2_features", "out_features"]

    def __init__(self, in1_features: int, in2_features: int, out_features: int, bias: bool = True,
                 device=None, dtype=None) -> None:
        super().__init__()
        self.in1_features = in1_features
        self.in2_features = in2_features
        self.out_features = out_features
        self.weight = Parameter(empty((out_features, in1_features, in2_features), device=device, dtype=dtype))
        if bias:
            self.bias = Parameter(empty(out_features, device=device, dtype=dtype))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Weight and bias U(-1/sqrt(in1_features), 1/sqrt(in1_features)), as PyTorch."""
        bound = 1 / math.sqrt(self.weight.size(1))
        init.uniform_(self.weight, -bound, bound)
        if self.bias is not None:
            init.uniform_(self.bias, -bound, bound)

    def forward(self, input1: Tensor, input2: Tensor) -> Tensor:
        return bilinear(input1, input2, self.weight, self.bias)

    def extra_repr(self) -> str:
        return (f"in1_features={self.in1_features}, in2_features={self.in2_features}, "
                f"out_features={self.out_features}, bias={self.bias is not None}")
