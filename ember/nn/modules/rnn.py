"""Recurrent layers ``RNN``, ``LSTM``, ``GRU`` and their single-step cells (``torch.nn.modules.rnn``).

A layer runs each direction of each layer as one fused op (``ember.ops.rnn.rnn_layer``)
over time-major packed rows, so padded batches and PackedSequences share one path.
"""
from __future__ import annotations

import math
import numbers
import warnings

from ..._tensor import Tensor
from ..._factory import empty, zeros
from ...ops.rnn import rnn_layer
from ...ops.shape import cat, stack
from .. import init
from ..parameter import Parameter
from ..utils.rnn import PackedSequence
from .linear import linear
from .module import Module

__all__ = ["RNNBase", "RNN", "LSTM", "GRU", "RNNCellBase", "RNNCell", "LSTMCell", "GRUCell"]

_GATES = {"LSTM": 4, "GRU": 3, "RNN_TANH": 1, "RNN_RELU": 1}


def _shape_str(shape) -> str:
    return "(" + ", ".join(str(s) for s in shape) + ")"


class RNNBase(Module):
    """Shared parameters, checks and the layer loop of RNN/LSTM/GRU (``torch.nn.RNNBase``)."""

    def __init__(self, mode: str, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                 batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False, proj_size: int = 0,
                 device=None, dtype=None) -> None:
        super().__init__()
        _check_config(mode, hidden_size, num_layers, dropout, proj_size)
        self.mode, self.input_size, self.hidden_size = mode, input_size, hidden_size
        self.num_layers, self.bias, self.batch_first = num_layers, bias, batch_first
        self.dropout, self.bidirectional, self.proj_size = float(dropout), bidirectional, proj_size
        directions = 2 if bidirectional else 1
        gate_size = _GATES[mode] * hidden_size
        real_hidden = proj_size if proj_size > 0 else hidden_size
        self._flat_weights_names = []
        self._all_weights = []
        for layer in range(num_layers):
            for direction in range(directions):
                layer_input = input_size if layer == 0 else real_hidden * directions
                suffix = "_reverse" if direction == 1 else ""
                shapes = [("weight_ih", (gate_size, layer_input)), ("weight_hh", (gate_size, real_hidden))]
                if bias:
                    shapes += [("bias_ih", (gate_size,)), ("bias_hh", (gate_size,))]
                if proj_size > 0:
                    shapes.append(("weight_hr", (proj_size, hidden_size)))
                names = []
                for kind, shape in shapes:
                    name = f"{kind}_l{layer}{suffix}"
                    setattr(self, name, Parameter(empty(*shape, device=device, dtype=dtype)))
                    names.append(name)
                self._flat_weights_names.extend(names)
                self._all_weights.append(names)
        self.reset_parameters()

    @property
    def _flat_weights(self) -> list:
        return [getattr(self, name) for name in self._flat_weights_names]

    @property
    def all_weights(self) -> list:
        return [[getattr(self, name) for name in names] for names in self._all_weights]

    def flatten_parameters(self) -> None:
        """A no-op kept for API compatibility (there is no cuDNN weight buffer)."""

    def reset_parameters(self) -> None:
        """Every weight and bias ~ U(-1/sqrt(hidden_size), 1/sqrt(hidden_size)), as PyTorch."""
        stdv = 1.0 / math.sqrt(self.hidden_size) if self.hidden_size > 0 else 0
        for weight in self.parameters():
            init.uniform_(weight, -stdv, stdv)

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        if self.proj_size != 0:
            s += f", proj_size={self.proj_size}"
        if self.num_layers != 1:
            s += f", num_layers={self.num_layers}"
        if self.bias is not True:
            s += f", bias={self.bias}"
        if self.batch_first is not False:
            s += f", batch_first={self.batch_first}"
        if self.dropout != 0:
            s += f", dropout={self.dropout}"
        if self.bidirectional is not False:
            s += f", bidirectional={self.bidirectional}"
        return s

    # -- forward -----------------------------------------------------------------------
    def forward(self, input, hx=None):
        """Run all layers; returns (output, h_n) or, for LSTM, (output, (h_n, c_n))."""
        is_lstm = self.mode == "LSTM"
        if isinstance(input, PackedSequence):
            data, batch_sizes = input.data, [int(b) for b in input.batch_sizes.tolist()]
            batched = True
            n_batch = batch_sizes[0]
            self._check_input(data, 2)
            hx = self._permute_hidden(hx, input.sorted_indices)
        else:
            data, batch_sizes, n_batch, batched = self._to_rows(input)
        states = self._initial_states(data, hx, n_batch, batched, is_lstm)
        out, h_n, c_n = self._run_layers(data, batch_sizes, states)
        if isinstance(input, PackedSequence):
            output = PackedSequence(out, input.batch_sizes, input.sorted_indices, input.unsorted_indices)
            h_n = self._permute_hidden(h_n, input.unsorted_indices)
            c_n = self._permute_hidden(c_n, input.unsorted_indices) if is_lstm else None
        else:
            output = out.reshape(len(batch_sizes), n_batch, out.shape[-1])
            if not batched:
                output, h_n = output.squeeze(1), h_n.squeeze(1)
                c_n = c_n.squeeze(1) if is_lstm else None
            elif self.batch_first:
                output = output.transpose(0, 1)
        return (output, (h_n, c_n)) if is_lstm else (output, h_n)

    def _check_input(self, input: Tensor, expected_dim: int) -> None:
        if input.dim() != expected_dim:
            raise RuntimeError(f"input must have {expected_dim} dimensions, got {input.dim()}")
        if input.shape[-1] != self.input_size:
            raise RuntimeError(f"input.size(-1) must be equal to input_size. Expected {self.input_size}, got "
                               f"{input.shape[-1]}")
        weight = self.weight_ih_l0
        if input.dtype != weight.dtype:
            name = "RNN"
            raise ValueError(f"{name} input dtype ({_dtype_str(input.dtype)}) does not match weight dtype "
                             f"({_dtype_str(weight.dtype)}). Convert input: input.to({_dtype_str(weight.dtype)}), "
                             f"or convert model: model.to({_dtype_str(input.dtype)})")

    def _to_rows(self, input: Tensor):
        """A padded batch as time-major rows (T*B, I); also its step sizes and batch size."""
        if input.dim() not in (2, 3):
            raise ValueError(f"{type(self).__name__}: Expected input to be 2D or 3D, got {input.dim()}D instead")
        batched = input.dim() == 3
        if not batched:
            input = input.unsqueeze(1)
        elif self.batch_first:
            input = input.transpose(0, 1)
        self._check_input(input, 3)
        steps, n_batch = input.shape[0], input.shape[1]
        return input.reshape(steps * n_batch, input.shape[2]), [n_batch] * steps, n_batch, batched

    def _permute_hidden(self, hx, permutation):
        if hx is None or permutation is None:
            return hx
        if isinstance(hx, tuple):
            return tuple(h.index_select(1, permutation) for h in hx)
        return hx.index_select(1, permutation)

    def _initial_states(self, data: Tensor, hx, n_batch: int, batched: bool, is_lstm: bool):
        """(h0, c0) of shape (layers * directions, B, ·); zeros when not given; checked as PyTorch."""
        directions = 2 if self.bidirectional else 1
        real_hidden = self.proj_size if self.proj_size > 0 else self.hidden_size
        h_shape = (self.num_layers * directions, n_batch, real_hidden)
        c_shape = (self.num_layers * directions, n_batch, self.hidden_size)
        if hx is None:
            h0 = zeros(*h_shape, dtype=data.dtype, device=data.device)
            c0 = zeros(*c_shape, dtype=data.dtype, device=data.device) if is_lstm else None
            return h0, c0
        if is_lstm:
            h0, c0 = hx
            _check_hidden_dims(batched, h0, c0)
        else:
            h0, c0 = hx, None
            _check_hidden_dims(batched, h0)
        if not batched:
            h0 = h0.unsqueeze(1)
            c0 = c0.unsqueeze(1) if is_lstm else None
        if is_lstm:
            _check_hidden_size(h0, h_shape, "Expected hidden[0] size {}, got {}")
            _check_hidden_size(c0, c_shape, "Expected hidden[1] size {}, got {}")
        else:
            _check_hidden_size(h0, h_shape, "Expected hidden size {}, got {}")
        return h0, c0

    def _run_layers(self, data: Tensor, batch_sizes, states):
        """Each layer and direction as one fused op; dropout between layers while training."""
        from .. import functional as F
        h0, c0 = states
        directions = 2 if self.bidirectional else 1
        h_finals, c_finals = [], []
        x = data
        for layer in range(self.num_layers):
            outs = []
            for direction in range(directions):
                k = layer * directions + direction
                weights = self._layer_weights(layer, direction)
                out, h, c = rnn_layer(self.mode, x, batch_sizes, h0[k], c0[k] if c0 is not None else None,
                                      *weights, reverse=direction == 1)
                outs.append(out)
                h_finals.append(h)
                c_finals.append(c)
            x = outs[0] if directions == 1 else cat(outs, 1)
            if self.dropout > 0 and self.training and layer < self.num_layers - 1:
                x = F.dropout(x, self.dropout, True)
        c_n = stack(c_finals) if c0 is not None else None
        return x, stack(h_finals), c_n

    def _layer_weights(self, layer: int, direction: int):
        """(w_ih, w_hh, b_ih, b_hh, w_hr) of one layer and direction (None where absent)."""
        suffix = f"_l{layer}" + ("_reverse" if direction == 1 else "")
        get = self.__dict__["_parameters"].get
        return (get("weight_ih" + suffix), get("weight_hh" + suffix), get("bias_ih" + suffix),
                get("bias_hh" + suffix), get("weight_hr" + suffix))


def _dtype_str(dtype) -> str:
    return str(dtype).replace("ember.", "torch.")


def _check_config(mode: str, hidden_size: int, num_layers: int, dropout, proj_size: int) -> None:
    """PyTorch's constructor checks, in its order."""
    if not isinstance(dropout, numbers.Number) or not 0 <= dropout <= 1 or isinstance(dropout, bool):
        raise ValueError("dropout should be a number in range [0, 1] representing the probability of an element "
                         "being zeroed")
    if dropout > 0 and num_layers == 1:
        warnings.warn("dropout option adds dropout after all but last recurrent layer, so non-zero dropout expects "
                      f"num_layers greater than 1, but got dropout={dropout} and num_layers={num_layers}")
    if not isinstance(hidden_size, int):
        raise TypeError(f"hidden_size should be of type int, got: {type(hidden_size).__name__}")
    if hidden_size <= 0:
        raise ValueError("hidden_size must be greater than zero")
    if num_layers <= 0:
        raise ValueError("num_layers must be greater than zero")
    if proj_size < 0:
        raise ValueError("proj_size should be a positive integer or zero to disable projections")
    if proj_size >= hidden_size:
        raise ValueError("proj_size has to be smaller than hidden_size")
    if proj_size > 0 and mode != "LSTM":
        raise ValueError("proj_size argument is only supported for LSTM, not RNN or GRU")


def _check_hidden_dims(batched: bool, h0: Tensor, c0: Tensor | None = None) -> None:
    want = 3 if batched else 2
    kind = "batched 3-D" if batched else "unbatched 2-D"
    if c0 is not None:
        if h0.dim() != want or c0.dim() != want:
            raise RuntimeError(f"For {kind} input, hx and cx should also be {want}-D but got ({h0.dim()}-D, "
                               f"{c0.dim()}-D) tensors")
    elif h0.dim() != want:
        raise RuntimeError(f"For {kind} input, hx should also be {want}-D but got {h0.dim()}-D tensor")


def _check_hidden_size(hx: Tensor, expected, template: str) -> None:
    if tuple(hx.shape) != tuple(expected):
        raise RuntimeError(template.format(_shape_str(expected), "[" + ", ".join(str(s) for s in hx.shape) + "]"))


class RNN(RNNBase):
    """Elman RNN: h_t = tanh(W_ih x_t + b_ih + W_hh h_(t-1) + b_hh) (or relu) (``torch.nn.RNN``)."""

    def __init__(self, *args, **kwargs) -> None:
        if "proj_size" in kwargs:
            raise ValueError("proj_size argument is only supported for LSTM, not RNN or GRU")
        if len(args) > 3:
            self_nonlinearity = args[3]
            args = args[:3] + args[4:]
        else:
            self_nonlinearity = kwargs.pop("nonlinearity", "tanh")
        if self_nonlinearity == "tanh":
            mode = "RNN_TANH"
        elif self_nonlinearity == "relu":
            mode = "RNN_RELU"
        else:
            raise ValueError(f"Unknown nonlinearity '{self_nonlinearity}'. Select from 'tanh' or 'relu'.")
        super().__init__(mode, *args, **kwargs)
        self.nonlinearity = self_nonlinearity


class LSTM(RNNBase):
    """Long short-term memory layers with gates i, f, g, o and optional projection (``torch.nn.LSTM``)."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__("LSTM", *args, **kwargs)


class GRU(RNNBase):
    """Gated recurrent unit layers with gates r, z, n (``torch.nn.GRU``)."""

    def __init__(self, *args, **kwargs) -> None:
        if "proj_size" in kwargs:
            raise ValueError("proj_size argument is only supported for LSTM, not RNN or GRU")
        super().__init__("GRU", *args, **kwargs)


# ------------------------------------------------------------------------------------------
# Cells: one time step, written with ember ops (PyTorch composes them the same way)
# ------------------------------------------------------------------------------------------

class RNNCellBase(Module):
    """Parameters and checks shared by the cells (``torch.nn.RNNCellBase``)."""

    def __init__(self, input_size: int, hidden_size: int, bias: bool, num_chunks: int, device=None,
                 dtype=None) -> None:
        super().__init__()
        self.input_size, self.hidden_size, self.bias = input_size, hidden_size, bias
        self.weight_ih = Parameter(empty(num_chunks * hidden_size, input_size, device=device, dtype=dtype))
        self.weight_hh = Parameter(empty(num_chunks * hidden_size, hidden_size, device=device, dtype=dtype))
        if bias:
            self.bias_ih = Parameter(empty(num_chunks * hidden_size, device=device, dtype=dtype))
            self.bias_hh = Parameter(empty(num_chunks * hidden_size, device=device, dtype=dtype))
        else:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        self.reset_parameters()

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        if self.bias is not True:
            s += f", bias={self.bias}"
        if getattr(self, "nonlinearity", "tanh") != "tanh":
            s += f", nonlinearity={self.nonlinearity}"
        return s

    def reset_parameters(self) -> None:
        stdv = 1.0 / math.sqrt(self.hidden_size) if self.hidden_size > 0 else 0
        for weight in self.parameters():
            init.uniform_(weight, -stdv, stdv)

    def _prepare(self, input: Tensor, hx, n_states: int):
        """Batch an unbatched input and default/check the states; returns (input, states, batched)."""
        if input.dim() not in (1, 2):
            raise ValueError(f"{type(self).__name__}: Expected input to be 1D or 2D, got {input.dim()}D instead")
        if hx is not None:
            states = hx if n_states > 1 else (hx,)
            for h in states:
                if h.dim() != input.dim():
                    raise RuntimeError(f"{type(self).__name__}: Expected hidden to be "
                                       f"{input.dim()}D, got {h.dim()}D instead")
        batched = input.dim() == 2
        if not batched:
            input = input.unsqueeze(0)
        if input.shape[1] != self.input_size:
            raise RuntimeError(f"input has inconsistent input_size: got {input.shape[1]} expected "
                               f"{self.input_size}")
        if hx is None:
            states = tuple(zeros(input.shape[0], self.hidden_size, dtype=input.dtype, device=input.device)
                           for _ in range(n_states))
        else:
            states = hx if n_states > 1 else (hx,)
            if not batched:
                states = tuple(h.unsqueeze(0) for h in states)
            for i, h in enumerate(states):
                if h.shape[0] != input.shape[0]:
                    raise RuntimeError(f"Input batch size {input.shape[0]} doesn't match hidden{i} batch size "
                                       f"{h.shape[0]}")
                if h.shape[1] != self.hidden_size:
                    raise RuntimeError(f"hidden{i} has inconsistent hidden_size: got {h.shape[1]}, expected "
                                       f"{self.hidden_size}")
        return input, states, batched

    def _gates(self, input: Tensor, h: Tensor):
        return linear(input, self.weight_ih, self.bias_ih), linear(h, self.weight_hh, self.bias_hh)


class RNNCell(RNNCellBase):
    """One Elman RNN step (``torch.nn.RNNCell``)."""

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, nonlinearity: str = "tanh",
                 device=None, dtype=None) -> None:
        super().__init__(input_size, hidden_size, bias, 1, device, dtype)
        self.nonlinearity = nonlinearity

    def forward(self, input: Tensor, hx: Tensor | None = None) -> Tensor:
        if self.nonlinearity not in ("tanh", "relu"):
            raise RuntimeError(f"Unknown nonlinearity: {self.nonlinearity}")
        input, (h,), batched = self._prepare(input, hx, 1)
        gi, gh = self._gates(input, h)
        pre = gi + gh
        h_new = pre.tanh() if self.nonlinearity == "tanh" else pre.relu()
        return h_new if batched else h_new.squeeze(0)


class LSTMCell(RNNCellBase):
    """One LSTM step; returns (h', c') (``torch.nn.LSTMCell``)."""

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, device=None, dtype=None) -> None:
        super().__init__(input_size, hidden_size, bias, 4, device, dtype)

    def forward(self, input: Tensor, hx=None):
        input, (h, c), batched = self._prepare(input, hx, 2)
        gi, gh = self._gates(input, h)
        i, f, g, o = (gi + gh).chunk(4, 1)
        c_new = f.sigmoid() * c + i.sigmoid() * g.tanh()
        h_new = o.sigmoid() * c_new.tanh()
        if not batched:
            return h_new.squeeze(0), c_new.squeeze(0)
        return h_new, c_new


class GRUCell(RNNCellBase):
    """One GRU step; the reset gate multiplies (W_hn h + b_hn) (``torch.nn.GRUCell``)."""

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, device=None, dtype=None) -> None:
        super().__init__(input_size, hidden_size, bias, 3, device, dtype)

    def forward(self, input: Tensor, hx: Tensor | None = None) -> Tensor:
        input, (h,), batched = self._prepare(input, hx, 1)
        gi, gh = self._gates(input, h)
        xr, xz, xn = gi.chunk(3, 1)
        hr, hz, hn = gh.chunk(3, 1)
        r, z = (xr + hr).sigmoid(), (xz + hz).sigmoid()
        n = (xn + r * hn).tanh()
        h_new = n + z * (h - n)
        return h_new if batched else h_new.squeeze(0)
