"""``gradstep.utils``: PyTorch's ``torch.utils`` path, so ``torch.utils.data.DataLoader`` is found.

``gradstep.utils.data`` is :mod:`gradstep.data` under the name PyTorch scripts use;
``gradstep.utils.checkpoint`` is activation checkpointing.
"""
from . import checkpoint, data

__all__ = ["checkpoint", "data"]
