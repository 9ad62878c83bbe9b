"""Factories that make tensors: ``tensor``, ``zeros``, ``randn``, ``arange``, ...

Random factories draw from the global generator in :mod:`gradstep.backend`,
so ``gradstep.manual_seed`` makes them repeatable.
"""
from __future__ import annotations

import math

import numpy

from . import backend
from .autograd.tensor import Tensor, _bad_data, _to_array
from .backend import xp
from .errors import ArgumentTypeError, DTypeError, GradstepError, InvalidArgument

__all__ = [
    "tensor", "as_tensor", "from_numpy", "zeros", "ones", "full", "empty", "arange", "linspace",
    "eye", "randn", "rand", "randint", "randperm", "normal", "zeros_like", "ones_like", "full_like",
    "empty_like", "randn_like", "rand_like", "from_dlpack",
]


def _shape(size, fn: str = "size") -> tuple:
    if len(size) == 1 and isinstance(size[0], (tuple, list)):
        size = tuple(size[0])
    for s in size:
        if not isinstance(s, (int, numpy.integer)) or isinstance(s, bool):
            raise ArgumentTypeError(f"{fn}: size must be ints, got {tuple(size)} "
                                    f"(a {type(s).__name__} {s!r} in it)")
        if s < 0:
            raise InvalidArgument(f"{fn}: size must be non-negative, got {tuple(size)}")
    return tuple(int(s) for s in size)


def _dtype(dtype, fn: str):
    try:
        return numpy.dtype(dtype)
    except TypeError:
        raise ArgumentTypeError(f"{fn}: {dtype!r} is not a dtype (e.g. gradstep.float32, gradstep.int64)") from None


def _float(dtype, fn: str = "tensor"):
    if dtype is None:
        return backend.default_dtype()
    dtype = _dtype(dtype, fn)
    if dtype.kind != "f":
        raise DTypeError(f"{fn}: expected a floating point dtype, got {dtype}")
    return dtype


def _dtype_or_default(dtype, fn: str):
    return backend.default_dtype() if dtype is None else _dtype(dtype, fn)


def _float_rng(dtype, fn: str):
    """A dtype NumPy's generators draw directly (float32/float64); others are not floating point."""
    dtype = _float(dtype, fn)
    if dtype not in (numpy.float32, numpy.float64):
        raise DTypeError(f"{fn}: dtype {dtype} is not supported; expected float32 or float64")
    return dtype


def _count(fn: str, name: str, value) -> int:
    """``value`` as a non-negative int (a size argument such as ``steps`` or ``n``)."""
    if isinstance(value, bool) or not isinstance(value, (int, numpy.integer)):
        raise ArgumentTypeError(f"{fn}: {name} must be an int, got {name}={value!r} ({type(value).__name__})")
    if value < 0:
        raise InvalidArgument(f"{fn}: {name} must be non-negative, got {name}={value}")
    return int(value)


def _real(fn: str, name: str, value):
    if isinstance(value, Tensor) and value.ndim == 0:
        value = value.item()
    if isinstance(value, bool) or not isinstance(value, (int, float, numpy.integer, numpy.floating)):
        raise ArgumentTypeError(f"{fn}: {name} must be a number, got {name}={value!r} ({type(value).__name__})")
    return value


def _from_data(fn: str, data, dtype, requires_grad: bool) -> Tensor:
    if dtype is not None:
        dtype = _dtype(dtype, fn)
    try:
        arr = _to_array(data, dtype)
    except GradstepError:
        raise
    except (ValueError, TypeError, OverflowError) as err:
        raise _bad_data(fn, data, err) from None
    return _finish(arr.copy() if arr is data or (isinstance(data, Tensor) and arr is data._data) else arr,
                   requires_grad)


def _finish(arr, requires_grad) -> Tensor:
    t = Tensor._wrap(arr)
    if requires_grad:
        t.requires_grad_(True)
    return t


def tensor(data, dtype=None, requires_grad: bool = False, device=None) -> Tensor:
    """A new tensor holding a copy of ``data`` (Python floats give float32, ints int64)."""
    return _from_data("tensor", data, dtype, requires_grad)


def as_tensor(data, dtype=None, device=None) -> Tensor:
    """Like :func:`tensor` but shares memory with a NumPy array or Tensor when it can."""
    if isinstance(data, Tensor):
        return data if dtype is None else data.to(dtype)
    if isinstance(data, xp.ndarray):
        return Tensor._wrap(data if dtype is None else data.astype(_dtype(dtype, "as_tensor"), copy=False))
    return _from_data("as_tensor", data, dtype, False)


def from_numpy(array) -> Tensor:
    """A tensor sharing memory with ``array`` (changes to one show in the other)."""
    if not isinstance(array, numpy.ndarray):
        raise ArgumentTypeError(f"from_numpy: expected a numpy.ndarray, got {type(array).__name__}")
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
        raise ArgumentTypeError(
            f"from_dlpack: can't import a {type(ext_tensor).__name__} through DLPack ({err}); expected a CPU "
            f"tensor or array that supports __dlpack__ (detach() PyTorch tensors that require grad)"
        ) from None
    return Tensor._wrap(arr)


def zeros(*size, dtype=None, requires_grad: bool = False, device=None) -> Tensor:
    return _finish(xp.zeros(_shape(size, "zeros"), dtype=_dtype_or_default(dtype, "zeros")), requires_grad)


def ones(*size, dtype=None, requires_grad: bool = False, device=None) -> Tensor:
    return _finish(xp.ones(_shape(size, "ones"), dtype=_dtype_or_default(dtype, "ones")), requires_grad)


def empty(*size, dtype=None, requires_grad: bool = False, device=None) -> Tensor:
    return _finish(xp.empty(_shape(size, "empty"), dtype=_dtype_or_default(dtype, "empty")), requires_grad)


def full(size, fill_value, dtype=None, requires_grad: bool = False, device=None) -> Tensor:
    dtype = tensor(fill_value).dtype if dtype is None else _dtype(dtype, "full")
    return _finish(xp.full(_shape((size,), "full"), fill_value, dtype=dtype), requires_grad)


def _like(fn: str, input, dtype):
    if not isinstance(input, Tensor):
        raise ArgumentTypeError(f"{fn}: expected a Tensor as input, got {type(input).__name__}")
    return input.dtype if dtype is None else _dtype(dtype, fn)


def zeros_like(input: Tensor, dtype=None, requires_grad: bool = False) -> Tensor:
    dtype = _like("zeros_like", input, dtype)
    return _finish(xp.zeros(input.shape, dtype=dtype), requires_grad)


def ones_like(input: Tensor, dtype=None, requires_grad: bool = False) -> Tensor:
    dtype = _like("ones_like", input, dtype)
    return _finish(xp.ones(input.shape, dtype=dtype), requires_grad)


def full_like(input: Tensor, fill_value, dtype=None, requires_grad: bool = False) -> Tensor:
    dtype = _like("full_like", input, dtype)
    return _finish(xp.full(input.shape, fill_value, dtype=dtype), requires_grad)


def empty_like(input: Tensor, dtype=None, requires_grad: bool = False) -> Tensor:
    dtype = _like("empty_like", input, dtype)
    return _finish(xp.empty(input.shape, dtype=dtype), requires_grad)


def arange(start, end=None, step=1, dtype=None, requires_grad: bool = False, device=None) -> Tensor:
    """``[start, end)`` by ``step``; int64 when all bounds are ints, else float32."""
    if end is None:
        start, end = 0, start
    start, end, step = (_real("arange", n, v) for n, v in (("start", start), ("end", end), ("step", step)))
    if step == 0:
        raise InvalidArgument(f"arange: step must be nonzero, got step={step!r}")
    if (end - start) * step < 0:
        raise InvalidArgument(f"arange: upper bound and lower bound inconsistent with step sign, got start={start}, "
                              f"end={end}, step={step}")
    if dtype is None:
        ints = all(isinstance(v, (int, numpy.integer)) for v in (start, end, step))
        dtype = numpy.int64 if ints else backend.default_dtype()
    else:
        dtype = _dtype(dtype, "arange")
    return _finish(xp.arange(start, end, step).astype(dtype), requires_grad)


def linspace(start, end, steps: int, dtype=None, requires_grad: bool = False, device=None) -> Tensor:
    """``steps`` evenly spaced values from ``start`` to ``end`` (both included)."""
    steps = _count("linspace", "steps", steps)
    start, end = _real("linspace", "start", start), _real("linspace", "end", end)
    return _finish(xp.linspace(start, end, steps).astype(_dtype_or_default(dtype, "linspace")), requires_grad)


def eye(n: int, m: int | None = None, dtype=None, requires_grad: bool = False, device=None) -> Tensor:
    """A 2-d tensor with ones on the diagonal: ``(n, n)``, or ``(n, m)``."""
    n = _count("eye", "n", n)
    m = n if m is None else _count("eye", "m", m)
    return _finish(xp.eye(n, m, dtype=_dtype_or_default(dtype, "eye")), requires_grad)


def randn(*size, dtype=None, requires_grad: bool = False, generator=None, device=None) -> Tensor:
    """Standard normal samples from the seeded global generator (or ``generator``)."""
    rng = generator or backend.generator()
    return _finish(rng.standard_normal(_shape(size, "randn"), dtype=_float_rng(dtype, "randn")), requires_grad)


def rand(*size, dtype=None, requires_grad: bool = False, generator=None, device=None) -> Tensor:
    """Uniform samples in ``[0, 1)`` from the seeded global generator (or ``generator``)."""
    rng = generator or backend.generator()
    return _finish(rng.random(_shape(size, "rand"), dtype=_float_rng(dtype, "rand")), requires_grad)


def randint(low, high=None, size=None, dtype=None, generator=None, device=None) -> Tensor:
    """Integers in ``[low, high)`` (int64), like PyTorch: ``randint(high, size)`` or ``randint(low, high, size)``.

    Example:
        >>> gradstep.randint(10, (3,))      # low=0, high=10
        >>> gradstep.randint(-5, 5, (2, 2))
    """
    if size is None and isinstance(high, (tuple, list)):
        low, high, size = 0, low, high  # randint(high, size)
    elif high is None:
        low, high = 0, low
    low, high = (_real("randint", n, v) for n, v in (("low", low), ("high", high)))
    if not low < high:
        raise InvalidArgument(f"randint: expected low < high, got low={low}, high={high} (the range [low, high) "
                              f"is empty)")
    shape = _shape((() if size is None else size,), "randint")
    rng = generator or backend.generator()
    out = rng.integers(math.ceil(low), math.ceil(high), size=shape, dtype=numpy.int64)
    if dtype is not None and _dtype(dtype, "randint") != out.dtype:
        out = out.astype(dtype)
    return Tensor._wrap(out)


def randperm(n: int, dtype=None, generator=None, device=None) -> Tensor:
    """A random permutation of ``0 .. n-1`` (int64)."""
    n = _count("randperm", "n", n)
    rng = generator or backend.generator()
    return Tensor._wrap(rng.permutation(n).astype(numpy.int64 if dtype is None else _dtype(dtype, "randperm")))


def normal(mean: float, std: float, size, dtype=None, generator=None) -> Tensor:
    """Samples from N(mean, std²) of shape ``size``."""
    mean, std = _real("normal", "mean", mean), _real("normal", "std", std)
    if not std >= 0:
        raise InvalidArgument(f"normal: expected std >= 0.0, got std={std}")
    shape = _shape((size,), "normal")
    rng = generator or backend.generator()
    return Tensor._wrap((rng.standard_normal(shape) * std + mean).astype(_float(dtype, "normal")))


def randn_like(input: Tensor, dtype=None) -> Tensor:
    dtype = _like("randn_like", input, dtype)
    return randn(*input.shape, dtype=dtype)


def rand_like(input: Tensor, dtype=None) -> Tensor:
    dtype = _like("rand_like", input, dtype)
    return rand(*input.shape, dtype=dtype)
