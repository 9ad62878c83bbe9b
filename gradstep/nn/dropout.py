"""``Dropout``: zero random elements while training, scale the rest by ``1 / (1 - p)``."""
from __future__ import annotations

from . import functional as F
from .module import Module
from ._checks import check_probability

__all__ = ["Dropout", "Dropout1d", "Dropout2d"]


class Dropout(Module):
    """During training, zero each element with probability ``p`` and scale the others by ``1 / (1 - p)``.

    In evaluation mode (``model.eval()``) it returns its input unchanged. The mask
    is drawn from the global generator (``gradstep.manual_seed``).
    """

    def __init__(self, p: float = 0.5, inplace: bool = False):
        super().__init__()
        check_probability(type(self).__name__, "p", p, "dropout probability")
        self.p = p
        self.inplace = inplace

    def forward(self, input):
        if not self.training or self.p == 0:
            return input
        return F.dropout(input, self.p, True, self.inplace)

    def extra_repr(self) -> str:
        return f"p={self.p}, inplace={self.inplace}"


class _ChannelDropout(Dropout):
    _fn: str

    def forward(self, input):
        if not self.training or self.p == 0:
            return input
        return getattr(F, self._fn)(input, self.p, True, self.inplace)


class Dropout1d(_ChannelDropout):
    """Zero whole channels of ``(N, C, L)`` with probability ``p`` while training (scale the rest by ``1/(1-p)``)."""

    _fn = "dropout1d"


class Dropout2d(_ChannelDropout):
    """Zero whole channels of ``(N, C, H, W)`` with probability ``p`` while training (scale the rest by ``1/(1-p)``)."""

    _fn = "dropout2d"
