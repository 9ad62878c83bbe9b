"""``pad_sequence``: sequences of different lengths as one padded batch (``torch.nn.utils.rnn``'s).

What a seq2seq collate function does with its token ids before an embedding
or a recurrent layer. PackedSequence (``pack_padded_sequence`` & co.) is not
in gradstep: pass the padded batch and masks instead.

>>> import gradstep as gs
>>> pad_sequence([gs.tensor([1, 2, 3]), gs.tensor([4])], padding_value=0)
tensor([[1, 4],
        [2, 0],
        [3, 0]])
"""
from __future__ import annotations

from ... import ops
from ...autograd.tensor import Tensor
from ...errors import ArgumentTypeError, InvalidArgument, ShapeError, fmt_shape

__all__ = ["pad_sequence"]


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
