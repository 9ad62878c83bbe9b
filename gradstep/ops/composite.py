"""Ops built from other ops: their gradients come for free from the primitives."""
from __future__ import annotations

from ._registry import public


@public
def square(input):
    """``input * input`` (like ``torch.square``)."""
    from .elementwise import mul

    return mul(input, input)
