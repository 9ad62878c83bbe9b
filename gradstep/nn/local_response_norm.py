"""``LocalResponseNorm``: divide each value by a power of the energy of its neighbouring channels (AlexNet)."""
from __future__ import annotations

from ..ops.layers_extra import _local_response_norm
from ._checks import check_sizes
from .module import Module

__all__ = ["LocalResponseNorm"]


class LocalResponseNorm(Module):
    """``x / (k + alpha * mean of x^2 over `size` neighbouring channels) ** beta`` on ``(N, C, *)``.

    See :func:`gradstep.nn.functional.local_response_norm`.
    """

    def __init__(self, size: int, alpha: float = 1e-4, beta: float = 0.75, k: float = 1.0) -> None:
        super().__init__()
        check_sizes("LocalResponseNorm", 1, size=size)
        self.size, self.alpha, self.beta, self.k = size, alpha, beta, k

    def forward(self, input):
        return _local_response_norm(input, self.size, self.alpha, self.beta, self.k,
                                    op=f"LocalResponseNorm({self.extra_repr()})")

    def extra_repr(self) -> str:
        return f"{self.size}, alpha={self.alpha}, beta={self.beta}, k={self.k}"
