"""3-d pooling layers: ``MaxPool3d``, ``AvgPool3d``, ``AdaptiveAvgPool3d`` over ``(N, C, D, H, W)``."""
from __future__ import annotations

from ..ops.pool3d import adaptive_avg_pool3d, avg_pool3d, max_pool3d
from .pooling import _AdaptiveAvgPoolNd, _AvgPoolNd, _MaxPoolNd

__all__ = ["MaxPool3d", "AvgPool3d", "AdaptiveAvgPool3d"]


class MaxPool3d(_MaxPoolNd):
    """Maximum over sliding windows of ``(N, C, D, H, W)``; ``stride`` defaults to ``kernel_size``.

    Shape:
        ``D_out = (D + 2p - d(k-1) - 1) // s + 1`` (rounded up with ``ceil_mode``), likewise H and W.
    """

    def forward(self, input):
        return max_pool3d(input, self.kernel_size, self.stride, self.padding, self.dilation,
                          ceil_mode=self.ceil_mode, return_indices=self.return_indices)


class AvgPool3d(_AvgPoolNd):
    """Mean over sliding windows of ``(N, C, D, H, W)``; ``stride`` defaults to ``kernel_size``."""

    def forward(self, input):
        return avg_pool3d(input, self.kernel_size, self.stride, self.padding, self.ceil_mode,
                          self.count_include_pad, self.divisor_override)


class AdaptiveAvgPool3d(_AdaptiveAvgPoolNd):
    """Mean pooling of ``(N, C, D, H, W)`` to a fixed ``output_size`` (``1``: global average pooling)."""

    def forward(self, input):
        return adaptive_avg_pool3d(input, self.output_size)
