"""Rounding: floor, ceil, round (with decimals), trunc/fix, frac.

Rounding functions are piecewise constant, so their gradient is zero (as in
PyTorch); ``frac = x - trunc(x)`` passes the gradient through unchanged.
Integer inputs are already whole: they come back as a copy.
"""
from __future__ import annotations

from ..autograd.function import Function
from ..autograd.tensor import Tensor, _as_tensor
from ..backend import xp
from ..errors import DTypeError
from ._registry import public


class _Rounding(Function):
    """A rounding function: piecewise constant, so its gradient is zero (as in PyTorch)."""

    saves_inputs = False

    def forward(self, a, fn):
        return fn(a)

    def backward(self, g):
        return xp.zeros_like(g)


class Floor(_Rounding):
    pass


class Ceil(_Rounding):
    pass


class Round(_Rounding):
    pass


class Trunc(_Rounding):
    pass


def _rounded(cls, input, fn):
    t = _as_tensor(input)
    if t._data.dtype.kind in "biu":  # integers are already whole: a copy, as PyTorch returns
        return Tensor._wrap(t._data.copy())
    return cls.apply(t, fn=fn)


@public
def floor(input):
    """Largest integer not above each element (zero gradient)."""
    return _rounded(Floor, input, xp.floor)


@public
def ceil(input):
    """Smallest integer not below each element (zero gradient)."""
    return _rounded(Ceil, input, xp.ceil)


@public
def round(input, *, decimals: int = 0):
    """Round half to even, to ``decimals`` places (zero gradient)."""
    if not isinstance(decimals, int):
        raise DTypeError(f"round: decimals must be an int, got {type(decimals).__name__}")
    if decimals == 0:
        return _rounded(Round, input, xp.rint)
    return _rounded(Round, input, lambda a: xp.round(a, decimals))


@public(aliases=("fix",))
def trunc(input):
    """Round towards zero (zero gradient)."""
    return _rounded(Trunc, input, xp.trunc)


class Frac(Function):
    saves_inputs = False

    def forward(self, a):
        return a - xp.trunc(a)

    def backward(self, g):
        return g


@public
def frac(input):
    """``input - trunc(input)``, the fractional part with the sign of ``input`` (gradient 1)."""
    t = _as_tensor(input)
    if t._data.dtype.kind != "f":
        raise DTypeError(f"frac: expected a floating point tensor, got dtype {t.dtype}")
    return Frac.apply(t)
