"""``gradstep.backends``: PyTorch's ``torch.backends`` switches that scripts query or set.

Not to be confused with :mod:`gradstep.backend`, which picks the array library.
gradstep has neither MPS nor cuDNN: ``mps.is_available()`` is False, and
``cudnn.benchmark = True`` is accepted and changes nothing.
"""
from . import cudnn, mps

__all__ = ["cudnn", "mps"]
