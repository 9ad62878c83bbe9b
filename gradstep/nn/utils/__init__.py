"""``gradstep.nn.utils``: ``torch.nn.utils``'s functions.

Gradient clipping and parameter/vector conversion are here; ``rnn`` has
``pad_sequence`` and packed sequences (``from gradstep.nn.utils.rnn import pad_sequence,
pack_padded_sequence, pad_packed_sequence, pack_sequence, PackedSequence``).
"""
from __future__ import annotations

from . import rnn
from .clip_grad import (clip_grad_norm_, clip_grad_value_, clip_grads_with_norm_, get_total_norm,
                        parameters_to_vector, vector_to_parameters)

__all__ = ["clip_grad_norm_", "clip_grad_value_", "get_total_norm", "clip_grads_with_norm_",
           "parameters_to_vector", "vector_to_parameters", "rnn"]
