"""Padding layers over :func:`gradstep.pad`: ``ZeroPad``, ``ConstantPad``, ``ReflectionPad``,
``ReplicationPad`` and ``CircularPad``, 1-d to 3-d, as ``torch.nn``'s.

``padding`` is one int for every side or a tuple ``(left, right[, top, bottom[, front, back]])``
(last dim first, as :func:`gradstep.pad`); negative sizes crop. Constant and zero
padding take any input with at least as many dims as they pad; the others pad
the last 1, 2 or 3 dims of a batched or unbatched input, so a ``*Pad1d`` takes
2-d or 3-d input, a ``*Pad2d`` 3-d or 4-d, a ``*Pad3d`` 4-d or 5-d.
"""
from __future__ import annotations

import numbers

from ..errors import ArgumentTypeError, GradstepError, InvalidArgument, ShapeError, fmt_shape
from ..ops.padding import pad
from .module import Module

__all__ = ["ZeroPad1d", "ZeroPad2d", "ZeroPad3d", "ConstantPad1d", "ConstantPad2d", "ConstantPad3d",
           "ReflectionPad1d", "ReflectionPad2d", "ReflectionPad3d", "ReplicationPad1d", "ReplicationPad2d",
           "ReplicationPad3d", "CircularPad1d", "CircularPad2d", "CircularPad3d"]


def _is_int(v) -> bool:
    return isinstance(v, numbers.Integral) and not isinstance(v, bool)


def _padding(layer: str, padding, dims: int) -> tuple:
    """``padding`` as a tuple of ``2 * dims`` ints (an int is repeated), refused naming ``layer``."""
    n = 2 * dims
    if _is_int(padding):
        return (int(padding),) * n
    try:
        sizes = tuple(padding)
    except TypeError:
        raise ArgumentTypeError(f"{layer}: padding must be an int or a tuple of {n} ints, got {padding!r} "
                                f"({type(padding).__name__})") from None
    if not all(_is_int(p) for p in sizes):
        raise ArgumentTypeError(f"{layer}: padding must be an int or a tuple of {n} ints, got {padding!r}")
    if len(sizes) != n:
        raise InvalidArgument(f"{layer}: padding must be an int or a tuple of {n} ints "
                              f"({', '.join(('left', 'right', 'top', 'bottom', 'front', 'back')[:n])}), "
                              f"got {len(sizes)}: {padding!r}")
    return tuple(int(p) for p in sizes)


class _PadNd(Module):
    _dims: int
    _mode: str

    def __init__(self, padding) -> None:
        super().__init__()
        self.padding = _padding(type(self).__name__, padding, self._dims)

    def _pad(self, input, value=None):
        shape = getattr(input, "shape", None)
        label = f"{self._get_name()}({self.extra_repr()})"
        if shape is None:
            raise ArgumentTypeError(f"{label} expected a Tensor input, got {type(input).__name__}")
        d = self._dims
        if self._mode == "constant" and len(shape) < d:
            raise ShapeError(f"{label} expected an input with at least {d} dims (got {len(shape)}D input of shape "
                             f"{fmt_shape(shape)})")
        if self._mode != "constant" and len(shape) not in (d + 1, d + 2):
            raise ShapeError(f"{label} expected {d + 1}D or {d + 2}D input (got {len(shape)}D input of shape "
                             f"{fmt_shape(shape)})")
        try:
            return pad(input, self.padding, self._mode, value)
        except GradstepError as e:  # sizes that don't fit this input: say which layer refused them
            raise type(e)(f"{label}: {e}") from None

    def forward(self, input):
        return self._pad(input)

    def extra_repr(self) -> str:
        return f"{self.padding}"


class _ConstantPadNd(_PadNd):
    _mode = "constant"

    def __init__(self, padding, value: float) -> None:
        super().__init__(padding)
        if isinstance(value, bool) or not isinstance(value, numbers.Number):
            raise ArgumentTypeError(f"{type(self).__name__}: value must be a number, got {value!r} "
                                    f"({type(value).__name__})")
        self.value = value

    def forward(self, input):
        return self._pad(input, self.value)

    def extra_repr(self) -> str:
        return f"padding={self.padding}, value={self.value}"


class ConstantPad1d(_ConstantPadNd):
    """Pad the last dim with ``value``: ``(*, W) -> (*, W + left + right)``."""

    _dims = 1


class ConstantPad2d(_ConstantPadNd):
    """Pad the last two dims with ``value``: ``padding = (left, right, top, bottom)``."""

    _dims = 2


class ConstantPad3d(_ConstantPadNd):
    """Pad the last three dims with ``value``: ``padding = (left, right, top, bottom, front, back)``."""

    _dims = 3


class _ZeroPadNd(_ConstantPadNd):
    def __init__(self, padding) -> None:
        super().__init__(padding, 0.0)

    def extra_repr(self) -> str:
        return f"{self.padding}"


class ZeroPad1d(_ZeroPadNd):
    """Pad the last dim with zeros: ``(*, W) -> (*, W + left + right)``."""

    _dims = 1


class ZeroPad2d(_ZeroPadNd):
    """Pad the last two dims with zeros: ``padding = (left, right, top, bottom)``."""

    _dims = 2


class ZeroPad3d(_ZeroPadNd):
    """Pad the last three dims with zeros: ``padding = (left, right, top, bottom, front, back)``."""

    _dims = 3


class ReflectionPad1d(_PadNd):
    """Mirror the last dim of ``(N, C, W)`` or ``(C, W)`` without repeating the edge (sizes < W)."""

    _dims, _mode = 1, "reflect"


class ReflectionPad2d(_PadNd):
    """Mirror the last two dims of ``(N, C, H, W)`` or ``(C, H, W)`` without repeating the edge."""

    _dims, _mode = 2, "reflect"


class ReflectionPad3d(_PadNd):
    """Mirror the last three dims of ``(N, C, D, H, W)`` or ``(C, D, H, W)`` without repeating the edge."""

    _dims, _mode = 3, "reflect"


class ReplicationPad1d(_PadNd):
    """Repeat the edge values of the last dim of ``(N, C, W)`` or ``(C, W)``."""

    _dims, _mode = 1, "replicate"


class ReplicationPad2d(_PadNd):
    """Repeat the edge values of the last two dims of ``(N, C, H, W)`` or ``(C, H, W)``."""

    _dims, _mode = 2, "replicate"


class ReplicationPad3d(_PadNd):
    """Repeat the edge values of the last three dims of ``(N, C, D, H, W)`` or ``(C, D, H, W)``."""

    _dims, _mode = 3, "replicate"


class CircularPad1d(_PadNd):
    """Wrap the last dim of ``(N, C, W)`` or ``(C, W)`` around (periodic padding, at most one turn)."""

    _dims, _mode = 1, "circular"


class CircularPad2d(_PadNd):
    """Wrap the last two dims of ``(N, C, H, W)`` or ``(C, H, W)`` around (periodic padding)."""

    _dims, _mode = 2, "circular"


class CircularPad3d(_PadNd):
    """Wrap the last three dims of ``(N, C, D, H, W)`` or ``(C, D, H, W)`` around (periodic padding)."""

    _dims, _mode = 3, "circular"
