"""``ember.nn.utils.rnn``: PackedSequence and the pad/pack helpers (``torch.nn.utils.rnn``).

Packing and unpacking are each one gather (``index_select``) over the rows, so their
backward is one node as well.
"""
from __future__ import annotations

from collections import namedtuple

import numpy as np

from ..._tensor import Tensor

__all__ = ["PackedSequence", "pack_padded_sequence", "pad_packed_sequence", "pad_sequence", "unpad_sequence",
           "pack_sequence", "unpack_sequence", "invert_permutation"]


def _ember():
    import ember
    return ember


def _long(values) -> Tensor:
    return _ember().tensor(np.asarray(values, dtype=np.int64))


def invert_permutation(permutation: Tensor | None) -> Tensor | None:
    """The inverse of an index permutation (None stays None)."""
    if permutation is None:
        return None
    perm = np.asarray(permutation.numpy(), dtype=np.int64)
    inverse = np.empty_like(perm)
    inverse[perm] = np.arange(perm.size, dtype=np.int64)
    return _long(inverse)


class PackedSequence(namedtuple("PackedSequence_", ["data", "batch_sizes", "sorted_indices", "unsorted_indices"])):
    """Variable-length sequences packed time-major: ``data`` holds ``batch_sizes[t]`` rows per step."""

    def __new__(cls, data: Tensor, batch_sizes: Tensor | None = None, sorted_indices: Tensor | None = None,
                unsorted_indices: Tensor | None = None):
        if unsorted_indices is None:
            unsorted_indices = invert_permutation(sorted_indices)
        return super().__new__(cls, data, batch_sizes, sorted_indices, unsorted_indices)

    def to(self, *args, **kwargs) -> "PackedSequence":
        data = self.data.to(*args, **kwargs)
        if data is self.data:
            return self
        return type(self)(data, self.batch_sizes, self.sorted_indices, self.unsorted_indices)

    def cpu(self) -> "PackedSequence":
        return self.to("cpu")

    def double(self) -> "PackedSequence":
        return self.to(_ember().float64)

    def float(self) -> "PackedSequence":
        return self.to(_ember().float32)

    @property
    def is_cuda(self) -> bool:
        return self.data.is_cuda


def _lengths_array(lengths) -> np.ndarray:
    if isinstance(lengths, Tensor):
        return np.asarray(lengths.detach().cpu().numpy()).astype(np.int64).reshape(-1)
    return np.asarray([int(n) for n in lengths], dtype=np.int64)


def pack_padded_sequence(input: Tensor, lengths, batch_first: bool = False,
                         enforce_sorted: bool = True) -> PackedSequence:
    """Pack a padded (T, B, *) batch (or (B, T, *) with batch_first) of sequences of ``lengths``."""
    lengths = _lengths_array(lengths)
    if enforce_sorted:
        if np.any(lengths[1:] > lengths[:-1]):
            raise RuntimeError("`lengths` array must be sorted in decreasing order when `enforce_sorted` is True. "
                               "You can pass `enforce_sorted=False` to pack_padded_sequence and/or pack_sequence "
                               "to sidestep this requirement if you do not need ONNX exportability.")
        order = np.arange(lengths.size, dtype=np.int64)
        sorted_indices = None
    else:
        order = np.argsort(-lengths, kind="stable")
        sorted_indices = _long(order)
    if lengths.size and lengths.min() <= 0:
        raise RuntimeError("Length of all samples has to be greater than 0, but found an element in 'lengths' "
                           "that is <= 0")
    sorted_lengths = lengths[order]
    steps = int(sorted_lengths[0]) if sorted_lengths.size else 0
    batch_sizes = np.array([(sorted_lengths > t).sum() for t in range(steps)], dtype=np.int64)
    time_dim, batch_dim = (1, 0) if batch_first else (0, 1)
    n_time, n_batch = input.shape[time_dim], input.shape[batch_dim]
    # Row of the packed data -> flat (time, batch) position of the padded input, in one gather.
    rows = [t * n_batch + order[j] if not batch_first else order[j] * n_time + t
            for t, b in enumerate(batch_sizes) for j in range(b)]
    flat = input.reshape(n_time * n_batch, *input.shape[2:])
    data = flat.index_select(0, _long(rows))
    return PackedSequence(data, _long(batch_sizes), sorted_indices, None)


def pad_packed_sequence(sequence: PackedSequence, batch_first: bool = False, padding_value: float = 0.0,
                        total_length: int | None = None) -> tuple:
    """Undo ``pack_padded_sequence``: (padded batch in the original order, lengths as int64)."""
    ember = _ember()
    data = sequence.data
    batch_sizes = _lengths_array(sequence.batch_sizes)
    max_len = batch_sizes.size
    if total_length is not None:
        if total_length < max_len:
            raise ValueError("Expected total_length to be at least the length of the longest sequence in input, "
                             f"but got total_length={total_length} and max sequence length being {max_len}")
        max_len = total_length
    n_batch = int(batch_sizes[0]) if batch_sizes.size else 0
    sorted_lengths = np.array([(batch_sizes > j).sum() for j in range(n_batch)], dtype=np.int64)
    unsorted = (np.arange(n_batch) if sequence.unsorted_indices is None
                else _lengths_array(sequence.unsorted_indices))
    offsets = np.concatenate([[0], np.cumsum(batch_sizes)]).astype(np.int64)
    pad_row = data.shape[0]
    # Each padded position takes its packed row, or the extra padding row appended at the end.
    index = np.full((n_batch, max_len) if batch_first else (max_len, n_batch), pad_row, dtype=np.int64)
    for b_orig in range(n_batch):
        j = unsorted[b_orig]
        for t in range(sorted_lengths[j]):
            row = offsets[t] + j
            if batch_first:
                index[b_orig, t] = row
            else:
                index[t, b_orig] = row
    padding = ember.full((1, *data.shape[1:]), padding_value, dtype=data.dtype, device=data.device)
    rows = ember.cat([data, padding]).index_select(0, _long(index.reshape(-1)))
    padded = rows.reshape(*index.shape, *data.shape[1:])
    return padded, _long(sorted_lengths[unsorted])


def pad_sequence(sequences, batch_first: bool = False, padding_value: float = 0.0,
                 padding_side: str = "right") -> Tensor:
    """Stack sequences of shape (L_i, *) into (T, B, *) (or (B, T, *)), padding with ``padding_value``."""
    ember = _ember()
    if padding_side not in ("left", "right"):
        raise RuntimeError(f"Expected padding_side to be one of left or right, but got {padding_side}.")
    if isinstance(sequences, Tensor):
        sequences = list(sequences.unbind(0))
    sequences = list(sequences)
    max_len = max(s.shape[0] for s in sequences)
    padded = []
    for s in sequences:
        missing = max_len - s.shape[0]
        if missing:
            fill = ember.full((missing, *s.shape[1:]), padding_value, dtype=s.dtype, device=s.device)
            s = ember.cat([s, fill] if padding_side == "right" else [fill, s])
        padded.append(s)
    return ember.stack(padded, 0 if batch_first else 1)


def unpad_sequence(padded_sequences: Tensor, lengths, batch_first: bool = False) -> list:
    """The list of unpadded sequences of a padded batch."""
    lengths = _lengths_array(lengths)
    if not batch_first:
        padded_sequences = padded_sequences.transpose(0, 1)
    return [padded_sequences[i, :int(n)] for i, n in enumerate(lengths)]


def pack_sequence(sequences, enforce_sorted: bool = True) -> PackedSequence:
    """Pack a list of variable-length sequences (``torch.nn.utils.rnn.pack_sequence``)."""
    lengths = [s.shape[0] for s in sequences]
    return pack_padded_sequence(pad_sequence(sequences), lengths, enforce_sorted=enforce_sorted)


def unpack_sequence(packed_sequences: PackedSequence) -> list:
    """The list of sequences of a PackedSequence, in the original order."""
    padded, lengths = pad_packed_sequence(packed_sequences, batch_first=True)
    return unpad_sequence(padded, lengths, batch_first=True)
