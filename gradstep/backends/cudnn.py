"""``gradstep.backends.cudnn``: cuDNN's switches, with PyTorch's defaults; setting them changes nothing.

Scripts write ``cudnn.benchmark = True`` or ``cudnn.deterministic = True``;
gradstep has no cuDNN, so these are plain attributes (gradstep's results are
deterministic anyway).
"""
from __future__ import annotations

__all__ = ["is_available", "enabled", "benchmark", "deterministic"]

enabled = True
benchmark = False
deterministic = False


def is_available() -> bool:
    """False: gradstep has no cuDNN."""
    return False
