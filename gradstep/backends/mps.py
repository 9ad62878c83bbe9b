"""``gradstep.backends.mps``: Apple's Metal device is not available (gradstep computes with NumPy)."""
from __future__ import annotations

__all__ = ["is_available", "is_built"]


def is_available() -> bool:
    """False: gradstep has no MPS device."""
    return False


def is_built() -> bool:
    """False: gradstep is not built with MPS."""
    return False
