"""Dropout: zero elements (or whole channels) at random in training, scale the rest by ``1 / (1 - p)``.

Masks come from the global generator in :mod:`gradstep.backend`, so
``gradstep.manual_seed`` makes them repeatable. The node keeps only the
scaled mask; the backward is ``grad_output * mask``.
"""
from __future__ import annotations

import numbers

from .. import backend
from ..autograd.function import Function
from ..autograd.tensor import _as_tensor
from ..backend import xp
from ..errors import ShapeError, fmt_shape
from ._helpers import require_float
from ._registry import public
from ..errors import InvalidArgument


class Dropout(Function):
    saves_inputs = False

    def forward(self, x, mask):
        self.mask = mask
        return x * mask

    def backward(self, grad_output):
        return grad_output * self.mask


def _mask(shape, p, dtype):
    """``1 / (1 - p)`` where kept (probability ``1 - p``), 0 elsewhere; ``shape`` may hold 1s to broadcast."""
    if p == 1:
        return xp.zeros(shape, dtype=dtype)
    keep = backend.generator().random(shape, dtype=xp.float32) >= p
    mask = keep.astype(dtype)
    mask *= 1.0 / (1.0 - p)
    return mask


def _check_p(p, op):
    if not isinstance(p, numbers.Real) or not 0.0 <= p <= 1.0:
        raise InvalidArgument(f"{op}: dropout probability has to be between 0 and 1, but got {p}")


def _apply(input, p, training, inplace, mask_shape, op):
    x = _as_tensor(input)
    if not training or p == 0 or x._data.size == 0:
        return x
    require_float(x, op)
    mask = _mask(mask_shape(x.shape), float(p), x._data.dtype)
    if inplace:
        return x._inplace(lambda t: Dropout.apply(t, mask=mask))
    return Dropout.apply(x, mask=mask)


@public(method=False)
def dropout(input, p: float = 0.5, training: bool = True, inplace: bool = False):
    """Zero each element with probability ``p`` and scale the others by ``1 / (1 - p)``.

    In evaluation (``training=False``) or with ``p == 0`` the input is returned as is.
    """
    _check_p(p, "dropout")
    return _apply(input, p, training, inplace, lambda shape: shape, "dropout")


def _channel_dropout(input, p, training, inplace, op, spatial):
    """Drop whole channels: the mask has shape ``(N, C, 1, ...)`` (or ``(C, 1, ...)`` unbatched)."""
    _check_p(p, op)
    x = _as_tensor(input)
    if x.ndim not in (spatial + 1, spatial + 2):
        raise ShapeError(
            f"{op}: expected an input of {spatial + 1} dims (C, *) or {spatial + 2} dims (N, C, *), "
            f"got shape {fmt_shape(x.shape)}"
        )
    return _apply(x, p, training, inplace, lambda shape: shape[: x.ndim - spatial] + (1,) * spatial, op)


@public(method=False)
def dropout1d(input, p: float = 0.5, training: bool = True, inplace: bool = False):
    """Zero whole channels of ``(N, C, L)`` or ``(C, L)`` inputs with probability ``p``."""
    return _channel_dropout(input, p, training, inplace, "dropout1d", 1)


@public(method=False)
def dropout2d(input, p: float = 0.5, training: bool = True, inplace: bool = False):
    """Zero whole channels of ``(N, C, H, W)`` or ``(C, H, W)`` inputs with probability ``p``.

    Like PyTorch, a 3-d input is read as ``(N, C, L)`` (channel-wise 1-d dropout).
    """
    _check_p(p, "dropout2d")
    x = _as_tensor(input)
    if x.ndim == 3:
        return _channel_dropout(x, p, training, inplace, "dropout2d", 1)
    return _channel_dropout(x, p, training, inplace, "dropout2d", 2)


@public(method=False)
def dropout3d(input, p: float = 0.5, training: bool = True, inplace: bool = False):
    """Zero whole channels of ``(N, C, D, H, W)`` or ``(C, D, H, W)`` inputs with probability ``p``."""
    return _channel_dropout(input, p, training, inplace, "dropout3d", 3)
