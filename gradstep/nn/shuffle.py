"""Shuffle layers: ``PixelShuffle`` / ``PixelUnshuffle`` (sub-pixel convolution) and ``ChannelShuffle``."""
from __future__ import annotations

from ..ops.layers_extra import _channel_shuffle, _pixel_shuffle, _pixel_unshuffle
from ._checks import check_sizes
from .module import Module

__all__ = ["PixelShuffle", "PixelUnshuffle", "ChannelShuffle"]


class PixelShuffle(Module):
    """``(*, C * r^2, H, W) -> (*, C, H * r, W * r)`` with ``r = upscale_factor``.

    Turns the output of a convolution with ``r^2`` times the channels into an
    ``r`` times larger image (the efficient sub-pixel convolution).
    """

    def __init__(self, upscale_factor: int) -> None:
        super().__init__()
        check_sizes("PixelShuffle", 1, upscale_factor=upscale_factor)
        self.upscale_factor = upscale_factor

    def forward(self, input):
        return _pixel_shuffle(input, self.upscale_factor, op=f"PixelShuffle({self.extra_repr()})")

    def extra_repr(self) -> str:
        return f"upscale_factor={self.upscale_factor}"


class PixelUnshuffle(Module):
    """``(*, C, H * r, W * r) -> (*, C * r^2, H, W)`` with ``r = downscale_factor``.

    The inverse of :class:`PixelShuffle`: an image becomes ``r^2`` times the channels at ``1 / r`` the size.
    """

    def __init__(self, downscale_factor: int) -> None:
        super().__init__()
        check_sizes("PixelUnshuffle", 1, downscale_factor=downscale_factor)
        self.downscale_factor = downscale_factor

    def forward(self, input):
        return _pixel_unshuffle(input, self.downscale_factor, op=f"PixelUnshuffle({self.extra_repr()})")

    def extra_repr(self) -> str:
        return f"downscale_factor={self.downscale_factor}"


class ChannelShuffle(Module):
    """Interleave the channels of ``(N, C, *)`` from ``groups`` groups (ShuffleNet), so that grouped
    convolutions that follow see channels of every group."""

    def __init__(self, groups: int) -> None:
        super().__init__()
        check_sizes("ChannelShuffle", 1, groups=groups)
        self.groups = groups

    def forward(self, input):
        return _channel_shuffle(input, self.groups, op=f"ChannelShuffle({self.extra_repr()})")

    def extra_repr(self) -> str:
        return f"groups={self.groups}"
