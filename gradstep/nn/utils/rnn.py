"""Sequences of different lengths for recurrent layers (``torch.nn.utils.rnn``'s).

``pad_sequence`` stacks them into one padded batch (what a seq2seq collate
function does). ``pack_padded_sequence`` / ``pack_sequence`` turn a padded
batch into a :class:`PackedSequence` (time-major rows of the sequences still
running at each step, longest first) that RNN, LSTM and GRU run over each
sequence's own length; ``pad_packed_sequence`` turns it back. All are built
from gathers, so gradients flow between the packed data and the padded input.

>>> import gradstep as gs
>>> pad_sequence([gs.tensor([1, 2, 3]), gs.tensor([4])], padding_value=0)
tensor([[1, 4],
        [2, 0],
        [3, 0]])
"""
from __future__ import annotations

import operator
from typing import NamedTuple, Optional

from ... import ops
from ...autograd.tensor import Tensor
from ...backend import xp
from ...creation import full
from ...errors import ArgumentTypeError, InvalidArgument, ShapeError, fmt_shape

__all__ = ["PackedSequence", "pack_padded_sequence", "pad_packed_sequence", "pack_sequence", "pad_sequence"]


def pad_sequence(sequences, batch_first: bool = False, padding_value: float = 0.0,
                 padding_side: str = "right") -> Tensor:
    """Stack ``sequences`` (tensors of shape ``(L_i, *)``) padded with ``padding_value`` to the longest.

    Args:
        sequences: a list (or tuple) of tensors whose dims after the first are equal.
        batch_first: output ``(B, T, *)`` instead of ``(T, B, *)``.
        padding_value: the value of the padded positions (cast to the sequences' dtype).
        padding_side: "right" pads after each sequence, "left" before it.

    Returns:
        one tensor in the first sequence's dtype; gradients flow back into each sequence.
    """
    if isinstance(sequences, Tensor) or not isinstance(sequences, (list, tuple)):
        raise ArgumentTypeError(f"pad_sequence: expected a list of tensors, got {type(sequences).__name__}")
    if not sequences:
        raise InvalidArgument("pad_sequence: received an empty list of sequences")
    if padding_side not in ("left", "right"):
        raise InvalidArgument(f"pad_sequence: expected padding_side to be one of left or right, "
                              f"but got {padding_side!r}")
    for i, s in enumerate(sequences):
        if not isinstance(s, Tensor):
            raise ArgumentTypeError(f"pad_sequence: sequences[{i}] is a {type(s).__name__}, expected a Tensor")
        if s.ndim == 0:
            raise ShapeError(f"pad_sequence: sequences[{i}] is 0-d; expected shape (L, *)")
        if s.shape[1:] != sequences[0].shape[1:]:
            raise ShapeError(f"pad_sequence: sequences[{i}] has shape {fmt_shape(s.shape)} but sequences[0] has "
                             f"{fmt_shape(sequences[0].shape)}; all dims after the first must match")
    dtype = sequences[0].dtype
    longest = max(s.shape[0] for s in sequences)
    padded = []
    for s in sequences:
        missing = longest - s.shape[0]
        before, after = (missing, 0) if padding_side == "left" else (0, missing)
        # ops.pad counts pairs from the last dim: leave the feature dims, pad dim 0
        padded.append(ops.pad(s.to(dtype), (0, 0) * (s.ndim - 1) + (before, after), value=padding_value))
    return ops.stack(padded, dim=0 if batch_first else 1)


# ------------------------------------------------------------------ packed sequences
def _int64(values) -> Tensor:
    return Tensor._wrap(xp.asarray(values, dtype=xp.int64).reshape(-1))


def _inverse_permutation(order: Tensor) -> Tensor:
    index = order._data
    inverse = xp.empty_like(index)
    inverse[index] = xp.arange(index.shape[0], dtype=index.dtype)
    return Tensor._wrap(inverse)


class _PackedSequenceFields(NamedTuple):
    data: Tensor
    batch_sizes: Tensor
    sorted_indices: Optional[Tensor]
    unsorted_indices: Optional[Tensor]


class PackedSequence(_PackedSequenceFields):
    """A batch of sequences of different lengths, packed time-major (torch's ``PackedSequence``).

    Fields:
        data: ``(sum of lengths, *)``: at step t, the rows of the ``batch_sizes[t]`` sequences
            still running, longest sequence first.
        batch_sizes: int64 ``(max length,)``: how many sequences are running at each step.
        sorted_indices: int64 ``(B,)``: the original batch index of each packed column, or None
            when the batch was already sorted by decreasing length.
        unsorted_indices: its inverse permutation (computed from sorted_indices when not given).

    Make one with :func:`pack_padded_sequence` or :func:`pack_sequence`, not by hand.
    """

    __slots__ = ()

    def __new__(cls, data, batch_sizes=None, sorted_indices=None, unsorted_indices=None):
        if not isinstance(data, Tensor):
            raise ArgumentTypeError(f"PackedSequence: expected data to be a Tensor, got {type(data).__name__}")
        if batch_sizes is None:
            raise InvalidArgument("PackedSequence: batch_sizes is required; build one with pack_padded_sequence "
                                  "or pack_sequence")
        if not isinstance(batch_sizes, Tensor):
            batch_sizes = _int64(batch_sizes)
        if unsorted_indices is None and sorted_indices is not None:
            unsorted_indices = _inverse_permutation(sorted_indices)
        return super().__new__(cls, data, batch_sizes, sorted_indices, unsorted_indices)

    def to(self, *args, **kwargs) -> "PackedSequence":
        """``data.to(...)``; the index tensors stay int64 (as torch's)."""
        data = self.data.to(*args, **kwargs)
        return self if data is self.data else type(self)(data, self.batch_sizes, self.sorted_indices,
                                                         self.unsorted_indices)

    def float(self) -> "PackedSequence":
        return self.to("float32")

    def double(self) -> "PackedSequence":
        return self.to("float64")

    def cpu(self) -> "PackedSequence":
        return self

    @property
    def is_cuda(self) -> bool:
        return False

    def is_pinned(self) -> bool:
        return False


def _lengths_list(lengths, op: str) -> list:
    """``lengths`` (a list/tuple of ints or a 1-d integer tensor) as a list of Python ints."""
    if isinstance(lengths, Tensor):
        if lengths.ndim != 1:
            raise ShapeError(f"{op}: expected lengths to be a 1-d int64 tensor, got shape {fmt_shape(lengths.shape)}")
        if lengths.dtype.kind not in "iu":
            raise ArgumentTypeError(f"{op}: expected lengths to be an int64 tensor, got dtype {lengths.dtype}")
        return [int(n) for n in lengths._data.tolist()]
    if not isinstance(lengths, (list, tuple)):
        raise ArgumentTypeError(f"{op}: expected lengths to be a list of ints or a 1-d int64 tensor, "
                                f"got {type(lengths).__name__}")
    try:
        return [operator.index(n) for n in lengths]
    except TypeError:
        raise ArgumentTypeError(f"{op}: expected lengths to be ints, got {list(lengths)!r}") from None


def pack_padded_sequence(input, lengths, batch_first: bool = False, enforce_sorted: bool = True) -> PackedSequence:
    """Pack a padded batch ``(T, B, *)`` (``(B, T, *)`` batch_first) whose sequence b has ``lengths[b]`` steps.

    Args:
        input: the padded batch; positions past each sequence's length are ignored.
        lengths: a list of ints or a 1-d int64 tensor, one positive length per sequence.
        batch_first: input is ``(B, T, *)``.
        enforce_sorted: lengths must be in decreasing order (no sorted_indices are stored); with
            False any order is accepted and the batch is sorted, the permutation kept in the result.

    Returns:
        a :class:`PackedSequence` whose data is gathered from ``input`` (gradients flow back to it).
    """
    op = "pack_padded_sequence"
    if not isinstance(input, Tensor):
        raise ArgumentTypeError(f"{op}: expected input to be a Tensor, got {type(input).__name__}")
    if input.ndim < 2:
        raise ShapeError(f"{op}: expected input of at least 2 dims {'(B, T, *)' if batch_first else '(T, B, *)'}, "
                         f"got shape {fmt_shape(input.shape)}")
    lengths = _lengths_list(lengths, op)
    steps, batch = (input.shape[1], input.shape[0]) if batch_first else (input.shape[0], input.shape[1])
    if len(lengths) != batch:
        raise InvalidArgument(f"{op}: expected len(lengths) to be equal to batch_size, but got {len(lengths)} "
                              f"(batch_size={batch}, input of shape {fmt_shape(input.shape)})")
    if any(n <= 0 for n in lengths):
        raise InvalidArgument(f"{op}: length of all samples has to be greater than 0, but got lengths={lengths}")
    if max(lengths) > steps:
        raise InvalidArgument(f"{op}: lengths={lengths} has a sequence longer than the input's {steps} time steps "
                              f"(input of shape {fmt_shape(input.shape)}, batch_first={batch_first})")
    if enforce_sorted:
        if any(a < b for a, b in zip(lengths, lengths[1:])):
            raise InvalidArgument(f"{op}: `lengths` array must be sorted in decreasing order when `enforce_sorted` "
                                  f"is True, got lengths={lengths}. You can pass `enforce_sorted=False` to "
                                  f"pack_padded_sequence and/or pack_sequence to sidestep this requirement")
        order = list(range(batch))
        sorted_indices = None
    else:
        order = sorted(range(batch), key=lambda b: -lengths[b])  # stable, like torch.sort on CPU
        sorted_indices = _int64(order)
    sorted_lengths = xp.asarray([lengths[b] for b in order], dtype=xp.int64)
    batch_sizes = (sorted_lengths[None, :] > xp.arange(sorted_lengths[0], dtype=xp.int64)[:, None]).sum(1)
    # row r of the packed data = step t of sorted column j = flat row of (t, order[j]) in the padded input
    rows = [(order[j] * steps + t) if batch_first else (t * batch + order[j])
            for t, size in enumerate(batch_sizes.tolist()) for j in range(size)]
    flat = input.reshape(-1, *input.shape[2:])
    data = ops.index_select(flat, 0, _int64(rows))
    return PackedSequence(data, Tensor._wrap(batch_sizes.astype(xp.int64)), sorted_indices,
                          None if sorted_indices is None else _inverse_permutation(sorted_indices))


def pad_packed_sequence(sequence, batch_first: bool = False, padding_value: float = 0.0,
                        total_length: Optional[int] = None):
    """Inverse of :func:`pack_padded_sequence`: the padded batch and each sequence's length.

    Args:
        sequence: a :class:`PackedSequence`.
        batch_first: return ``(B, T, *)`` instead of ``(T, B, *)``.
        padding_value: the value of the positions past each sequence's length.
        total_length: pad to this many steps (at least the longest sequence) instead of the longest.

    Returns:
        ``(padded, lengths)``: padded in the original batch order (gradients flow back into
        ``sequence.data``) and lengths an int64 tensor in that order.
    """
    op = "pad_packed_sequence"
    if not isinstance(sequence, PackedSequence):
        raise ArgumentTypeError(f"{op}: expected a PackedSequence, got {type(sequence).__name__}")
    data = sequence.data
    sizes = [int(n) for n in sequence.batch_sizes._data.tolist()]
    steps = len(sizes)
    if total_length is not None:
        total_length = operator.index(total_length)
        if total_length < steps:
            raise InvalidArgument(f"{op}: expected total_length to be at least the length of the longest sequence "
                                  f"in input, but got total_length={total_length} and max sequence length being "
                                  f"{steps}")
        steps = total_length
    batch = sizes[0]
    if sum(sizes) != data.shape[0]:
        raise ShapeError(f"{op}: batch_sizes sum to {sum(sizes)} but data has {data.shape[0]} rows "
                         f"(shape {fmt_shape(data.shape)})")
    unsorted = (list(range(batch)) if sequence.unsorted_indices is None
                else [int(b) for b in sequence.unsorted_indices._data.tolist()])
    pad_row = data.shape[0]  # the index of the padding row appended below
    index = xp.full((steps, batch), pad_row, dtype=xp.int64)
    row = 0
    for t, size in enumerate(sizes):
        index[t, :size] = xp.arange(row, row + size)
        row += size
    index = index[:, unsorted]  # column b of the output is packed column unsorted[b]
    if batch_first:
        index = index.T
    padding = full((1, *data.shape[1:]), padding_value, dtype=data.dtype)
    padded = ops.index_select(ops.cat([data, padding], 0), 0, _int64(index))
    padded = padded.reshape(*index.shape, *data.shape[1:])
    sorted_lengths = (xp.asarray(sizes, dtype=xp.int64)[None, :] > xp.arange(batch)[:, None]).sum(1)
    return padded, Tensor._wrap(sorted_lengths[unsorted].astype(xp.int64))


def pack_sequence(sequences, enforce_sorted: bool = True) -> PackedSequence:
    """Pack a list of tensors ``(L_i, *)`` (decreasing lengths unless ``enforce_sorted=False``)."""
    if isinstance(sequences, Tensor) or not isinstance(sequences, (list, tuple)):
        raise ArgumentTypeError(f"pack_sequence: expected a list of tensors, got {type(sequences).__name__}")
    lengths = [s.shape[0] if isinstance(s, Tensor) and s.ndim else 0 for s in sequences]
    return pack_padded_sequence(pad_sequence(sequences), lengths, enforce_sorted=enforce_sorted)
