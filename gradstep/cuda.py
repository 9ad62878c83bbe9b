"""``gradstep.cuda``: the CUDA queries a PyTorch script makes before choosing its device.

gradstep computes on the CPU with NumPy, so there is no CUDA device: the
answers are PyTorch's on a machine without a GPU, and a script's
``device = torch.device("cuda" if torch.cuda.is_available() else "cpu")``
picks the CPU.
"""
from __future__ import annotations

__all__ = ["is_available", "device_count", "manual_seed", "manual_seed_all"]


def is_available() -> bool:
    """False: gradstep has no CUDA device."""
    return False


def device_count() -> int:
    """0: gradstep has no CUDA device."""
    return 0


def manual_seed(seed) -> None:
    """Seeds the CUDA generator; with no CUDA device there is nothing to seed (PyTorch does nothing either)."""


def manual_seed_all(seed) -> None:
    """Seeds every CUDA generator; with no CUDA device there is nothing to seed."""
