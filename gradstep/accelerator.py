"""``gradstep.accelerator``: PyTorch's accelerator queries, answered for a machine without one.

gradstep computes on the CPU with NumPy, so a script's
``device = torch.accelerator.current_accelerator() if torch.accelerator.is_available() else torch.device("cpu")``
picks the CPU.
"""
from __future__ import annotations

__all__ = ["is_available", "current_accelerator", "device_count"]


def is_available() -> bool:
    """False: gradstep has no accelerator."""
    return False


def current_accelerator(check_available: bool = False):
    """None: there is no accelerator (PyTorch's answer when none was compiled in)."""
    return None


def device_count() -> int:
    """0: gradstep has no accelerator."""
    return 0
