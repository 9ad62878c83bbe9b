"""Factories that make tensors: ``tensor``, ``zeros``, ``randn``, ``arange``, ...

Random factories draw from the global generator in :mod:`gradstep.backend`,
so ``gradstep.manual_seed`` makes them repeatable.
"""
from __future__ import annotations

import numpy

from . import backend
from .autograd.tensor import Tensor
from .backend import xp

__all__ = [
    "tensor", "as_tensor", "from_numpy", "zeros", "ones", "full", "empty", "arange", "linspace",
    "eye", "randn", "rand", "randint", "randperm", "normal", "zeros_like", "ones_like", "full_like",
    "empty_like", "randn_like", "rand_like", "from_dlpack",
]


def _shape(size) -> tuple:
    if len(size) == 1 and isinstance(size[0], (tuple, list)):
        size = tuple(size[0])
    for s in size:
        if not isinstance(s, (int, numpy.integer)) or isinstance(s, bool) or s < 0:
            raise ValueError(f"size must be non-negative integers, got {tuple(size)}")
    return tuple(int(s) for s in size)


def _float(dtype):
    return backend.default_dtype() if dtype is None else numpy.dtype(dtype)


def _finish(arr, requires_grad) -> Tensor:
    t = Tensor._wrap(arr)
    if requires_grad:
        t.requires_grad_(True)
    return t


def tensor(data, dtype=None, requires_grad: bool = False, device=None) -> Tensor:
    """A new tensor holding a copy of ``data`` (Python floats give float32, ints int64)."""
    return Tensor(data, dtype=dtype, requires_grad=requires_grad)


def as_tensor(data, dtype=None, device=None) -> Tensor:
    """Like :func:`tensor` but shares memory with a NumPy array or Tensor when it can."""
    if isinstance(data, Tensor):
        return data if dtype is None else data.to(dtype)
    if isinstance(data, xp.ndarray):
        return Tensor._wrap(data if dtype is None else data.astype(dtype, copy=False))
    return Tensor(data, dtype=dtype)


def from_numpy(array) -> Tensor:
    """A tensor sharing memory with ``array`` (changes to one show in the other)."""
    if not isinstance(array, numpy.ndarray):
        raise TypeError(f"from_numpy: expected a numpy.ndarray, got {type(array).__name__}")
    return Tensor._wrap(array)


def from_dlpack(ext_tensor) -> Tensor:
    """A tensor sharing memory with any DLPack producer (a PyTorch CPU tensor, a NumPy array, ...).

    Example:
        >>> import gradstep, torch
        >>> t = gradstep.from_dlpack(torch.ones(2))  # writes to either show in the other
    """
    try:
        arr = xp.from_dlpack(ext_tensor)
    except (AttributeError, TypeError, BufferError, RuntimeError, ValueError) as err:
        raise TypeError(
            f"from_dlpack: can't import a {type(ext_tensor).__name__} through DLPack ({err}); expected a CPU "
            f"tensor or array that supports __dlpack__ (detach() PyTorch tensors that require grad)"
        ) from None
    return Tensor._wrap(arr)


def zeros(*size, dtype=None, requires_grad: bool = False, device=None) -> Tensor:
    return _finish(xp.zeros(_shape(size), dtype=_float(dtype)), requires_grad)


def ones(*size, dtype=None, requires_grad: bool = False, device=None) -> Tensor:
    return _finish(xp.ones(_shape(size), dtype=_float(dtype)), requires_grad)


def empty(*size, dtype=None, requires_grad: bool = False, device=None) -> Tensor:
    return _finish(xp.empty(_shape(size), dtype=_float(dtype)), requires_grad)


def full(size, fill_value, dtype=None, requires_grad: bool = False, device=None) -> Tensor:
    if dtype is None:
        dtype = Tensor(fill_value).dtype
    return _finish(xp.full(_shape((size,)), fill_value, dtype=dtype), requires_grad)


def zeros_like(input: Tensor, dtype=None, requires_grad: bool = False) -> Tensor:
    return _finish(xp.zeros(input.shape, dtype=dtype or input.dtype), requires_grad)


def ones_like(input: Tensor, dtype=None, requires_grad: bool = False) -> Tensor:
    return _finish(xp.ones(input.shape, dtype=dtype or input.dtype), requires_grad)


def full_like(input: Tensor, fill_value, dtype=None, requires_grad: bool = False) -> Tensor:
    return _finish(xp.full(input.shape, fill_value, dtype=dtype or input.dtype), requires_grad)


def empty_like(input: Tensor, dtype=None, requires_grad: bool = False) -> Tensor:
    return _finish(xp.empty(input.shape, dtype=dtype or input.dtype), requires_grad)


def arange(start, end=None, step=1, dtype=None, requires_grad: bool = False, device=None) -> Tensor:
    """``[start, end)`` by ``step``; int64 when all bounds are ints, else float32."""
    if end is None:
        start, end = 0, start
    if step == 0:
        raise ValueError("arange: step must be nonzero")
    if dtype is None:
        ints = all(isinstance(v, (int, numpy.integer)) for v in (start, end, step))
        dtype = numpy.int64 if ints else backend.default_dtype()
    return _finish(xp.arange(start, end, step).astype(dtype), requires_grad)


def linspace(start, end, steps: int, dtype=None, requires_grad: bool = False, device=None) -> Tensor:
    return _finish(xp.linspace(start, end, steps).astype(_float(dtype)), requires_grad)


def eye(n: int, m: int | None = None, dtype=None, requires_grad: bool = False, device=None) -> Tensor:
    return _finish(xp.eye(n, m, dtype=_float(dtype)), requires_grad)


def randn(*size, dtype=None, requires_grad: bool = False, generator=None, device=None) -> Tensor:
    """Standard normal samples from the seeded global generator (or ``generator``)."""
    rng = generator or backend.generator()
    return _finish(rng.standard_normal(_shape(size), dtype=_float(dtype)), requires_grad)


def rand(*size, dtype=None, requires_grad: bool = False, generator=None, device=None) -> Tensor:
    """Uniform samples in ``[0, 1)`` from the seeded global generator (or ``generator``)."""
    rng = generator or backend.generator()
    return _finish(rng.random(_shape(size), dtype=_float(dtype)), requires_grad)


def randint(low, high=None, size=(), dtype=None, generator=None, device=None) -> Tensor:
    """Integers in ``[low, high)`` (int64), like ``torch.randint(low, high, size)``."""
    if high is None:
        low, high = 0, low
    rng = generator or backend.generator()
    return Tensor._wrap(rng.integers(low, high, size=_shape((size,)), dtype=dtype or numpy.int64))


def randperm(n: int, dtype=None, generator=None, device=None) -> Tensor:
    rng = generator or backend.generator()
    return Tensor._wrap(rng.permutation(n).astype(dtype or numpy.int64))


def normal(mean: float, std: float, size, dtype=None, generator=None) -> Tensor:
    rng = generator or backend.generator()
    return Tensor._wrap((rng.standard_normal(_shape((size,))) * std + mean).astype(_float(dtype)))


def randn_like(input: Tensor, dtype=None) -> Tensor:
    return randn(*input.shape, dtype=dtype or input.dtype)


def rand_like(input: Tensor, dtype=None) -> Tensor:
    return rand(*input.shape, dtype=dtype or input.dtype)
