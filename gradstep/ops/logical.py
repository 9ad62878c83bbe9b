"""Comparisons and logic (not differentiable): eq, ne, lt, le, gt, ge, logical_*, bitwise_*, isin, ...

Comparisons promote both operands as arithmetic does (so ``int_tensor == 2.5``
compares in float) and give bool tensors; logical ops read any dtype as
"nonzero is True".
"""
from __future__ import annotations

from ..autograd.tensor import Tensor, _as_tensor, result_type
from ..backend import xp
from ..errors import DTypeError
from ._helpers import check_broadcast
from ._registry import public


def _compare(ufunc, input, other, op):
    dtype = result_type(input, other)
    a, b = _as_tensor(input, dtype)._data, _as_tensor(other, dtype)._data
    if a.shape != b.shape:
        check_broadcast(op, a.shape, b.shape)
    return Tensor._wrap(xp.asarray(ufunc(a, b)))


@public
def eq(input, other):
    """``input == other`` elementwise (broadcasting), a bool tensor."""
    return _compare(xp.equal, input, other, "eq")


@public(aliases=("not_equal",))
def ne(input, other):
    """``input != other`` elementwise, a bool tensor."""
    return _compare(xp.not_equal, input, other, "ne")


@public(aliases=("less",))
def lt(input, other):
    """``input < other`` elementwise, a bool tensor."""
    return _compare(xp.less, input, other, "lt")


@public(aliases=("less_equal",))
def le(input, other):
    """``input <= other`` elementwise, a bool tensor."""
    return _compare(xp.less_equal, input, other, "le")


@public(aliases=("greater",))
def gt(input, other):
    """``input > other`` elementwise, a bool tensor."""
    return _compare(xp.greater, input, other, "gt")


@public(aliases=("greater_equal",))
def ge(input, other):
    """``input >= other`` elementwise, a bool tensor."""
    return _compare(xp.greater_equal, input, other, "ge")


# ----------------------------------------------------------------- logical
def _truth(x):
    a = _as_tensor(x)._data
    return a if a.dtype == xp.bool_ else a != 0


def _logical(ufunc, input, other, op):
    a, b = _truth(input), _truth(other)
    if a.shape != b.shape:
        check_broadcast(op, a.shape, b.shape)
    return Tensor._wrap(xp.asarray(ufunc(a, b)))


@public
def logical_and(input, other):
    """Elementwise AND of the truth values (nonzero is True)."""
    return _logical(xp.logical_and, input, other, "logical_and")


@public
def logical_or(input, other):
    """Elementwise OR of the truth values (nonzero is True)."""
    return _logical(xp.logical_or, input, other, "logical_or")


@public
def logical_xor(input, other):
    """Elementwise XOR of the truth values (nonzero is True)."""
    return _logical(xp.logical_xor, input, other, "logical_xor")


@public
def logical_not(input):
    """Elementwise NOT of the truth values (nonzero is True)."""
    return Tensor._wrap(xp.logical_not(_truth(input)))


# ----------------------------------------------------------------- bitwise
def _bitwise(ufunc, input, other, op):
    dtype = result_type(input, other)
    if dtype.kind not in "biu":
        raise DTypeError(f"{op}: expected bool or integer operands, got dtype {dtype}")
    return _compare(ufunc, input, other, op)


@public
def bitwise_and(input, other):
    return _bitwise(xp.bitwise_and, input, other, "bitwise_and")


@public
def bitwise_or(input, other):
    return _bitwise(xp.bitwise_or, input, other, "bitwise_or")


@public
def bitwise_xor(input, other):
    return _bitwise(xp.bitwise_xor, input, other, "bitwise_xor")


@public
def bitwise_not(input):
    a = _as_tensor(input)._data
    if a.dtype.kind not in "biu":
        raise DTypeError(f"bitwise_not: expected a bool or integer tensor, got dtype {a.dtype}")
    return Tensor._wrap(xp.invert(a))


# ------------------------------------------------------------------ others
@public
def isin(elements, test_elements, *, assume_unique: bool = False, invert: bool = False):
    """Whether each element of ``elements`` occurs in ``test_elements`` (a bool tensor of its shape)."""
    a, b = _as_tensor(elements)._data, _as_tensor(test_elements)._data
    return Tensor._wrap(xp.asarray(xp.isin(a, b, assume_unique=assume_unique, invert=invert)))


@public
def isposinf(input):
    return Tensor._wrap(xp.asarray(xp.isposinf(_as_tensor(input)._data)))


@public
def isneginf(input):
    return Tensor._wrap(xp.asarray(xp.isneginf(_as_tensor(input)._data)))


@public
def signbit(input):
    """Whether the sign bit is set (True for negative numbers and -0.0)."""
    return Tensor._wrap(xp.asarray(xp.signbit(_as_tensor(input)._data)))
