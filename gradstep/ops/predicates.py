"""Elementwise tests that give bool tensors (not differentiable): isnan, isinf, isfinite, ..."""
from __future__ import annotations

from ..autograd.tensor import Tensor, _as_tensor
from ..backend import xp
from ._registry import public


@public
def isnan(input) -> Tensor:
    return Tensor._wrap(xp.isnan(_as_tensor(input)._data))


@public
def isinf(input) -> Tensor:
    return Tensor._wrap(xp.isinf(_as_tensor(input)._data))


@public
def isfinite(input) -> Tensor:
    return Tensor._wrap(xp.isfinite(_as_tensor(input)._data))


@public
def isclose(input, other, rtol: float = 1e-5, atol: float = 1e-8, equal_nan: bool = False) -> Tensor:
    return Tensor._wrap(xp.isclose(_as_tensor(input)._data, _as_tensor(other)._data, rtol, atol, equal_nan))


@public
def allclose(input, other, rtol: float = 1e-5, atol: float = 1e-8, equal_nan: bool = False) -> bool:
    return bool(xp.allclose(_as_tensor(input)._data, _as_tensor(other)._data, rtol, atol, equal_nan))


@public
def equal(input, other) -> bool:
    """True when both have the same shape and elements."""
    a, b = _as_tensor(input)._data, _as_tensor(other)._data
    return a.shape == b.shape and bool((a == b).all())
