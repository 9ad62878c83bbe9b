"""``Unfold`` (im2col: sliding blocks as columns) and ``Fold`` (col2im: columns summed back into an image)."""
from __future__ import annotations

from ..ops.conv import _ints
from ..ops.layers_extra import _fold, _unfold
from .module import Module

__all__ = ["Fold", "Unfold"]


def _check_window(layer: str, kernel_size, dilation, padding, stride) -> None:
    """Refuse bad window arguments at construction, naming the layer (the values are kept as given, as torch's)."""
    _ints(kernel_size, 2, "kernel_size", layer, 1)
    _ints(dilation, 2, "dilation", layer, 1)
    _ints(padding, 2, "padding", layer, 0)
    _ints(stride, 2, "stride", layer, 1)


class Unfold(Module):
    """Sliding blocks of ``(N, C, H, W)`` as columns ``(N, C * kh * kw, L)``; see :func:`gradstep.nn.functional.unfold`.

    ``Unfold`` then a matmul with a ``(C_out, C * kh * kw)`` weight then :class:`Fold`
    (or a reshape) is a convolution.
    """

    def __init__(self, kernel_size, dilation=1, padding=0, stride=1) -> None:
        super().__init__()
        _check_window("Unfold", kernel_size, dilation, padding, stride)
        self.kernel_size, self.dilation, self.padding, self.stride = kernel_size, dilation, padding, stride

    def forward(self, input):
        return _unfold(input, self.kernel_size, self.dilation, self.padding, self.stride,
                       op=f"Unfold({self.extra_repr()})")

    def extra_repr(self) -> str:
        return (f"kernel_size={self.kernel_size}, dilation={self.dilation}, padding={self.padding}, "
                f"stride={self.stride}")


class Fold(Module):
    """Sum columns ``(N, C * kh * kw, L)`` of sliding blocks into ``(N, C, *output_size)``: the adjoint of
    :class:`Unfold` (overlaps add up), see :func:`gradstep.nn.functional.fold`."""

    def __init__(self, output_size, kernel_size, dilation=1, padding=0, stride=1) -> None:
        super().__init__()
        _ints(output_size, 2, "output_size", "Fold", 1)
        _check_window("Fold", kernel_size, dilation, padding, stride)
        self.output_size = output_size
        self.kernel_size, self.dilation, self.padding, self.stride = kernel_size, dilation, padding, stride

    def forward(self, input):
        return _fold(input, self.output_size, self.kernel_size, self.dilation, self.padding, self.stride,
                     op=f"Fold({self.extra_repr()})")

    def extra_repr(self) -> str:
        return (f"output_size={self.output_size}, kernel_size={self.kernel_size}, dilation={self.dilation}, "
                f"padding={self.padding}, stride={self.stride}")
