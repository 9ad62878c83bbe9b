"""The one place that decides what an array is.

Every op gets its array namespace from ``xp`` here; nothing else in gradstep
imports NumPy to *compute* on tensor data. Plugging in an array library with
NumPy's API (CuPy, for instance) means changing this module only.

It also owns the default floating dtype (float32, as in PyTorch) and the
global random generator that ``manual_seed`` resets, so one seed fixes
initialisation, shuffling and dropout alike.
"""
from __future__ import annotations

import numpy
from .errors import ArgumentTypeError

xp = numpy
"""The array namespace every op computes with."""

ndarray = numpy.ndarray

_default_dtype = numpy.dtype(numpy.float32)
_generator = numpy.random.default_rng(0)
_seed = 0


def default_dtype() -> numpy.dtype:
    """The dtype of floating tensors made from Python numbers (float32)."""
    return _default_dtype


def set_default_dtype(dtype) -> None:
    """Change the default floating dtype (float32 or float64), like ``torch.set_default_dtype``."""
    global _default_dtype
    dtype = numpy.dtype(dtype)
    if dtype.kind != "f":
        raise ArgumentTypeError(f"set_default_dtype: only floating dtypes are allowed, got {dtype}")
    _default_dtype = dtype


def manual_seed(seed: int) -> numpy.random.Generator:
    """Reseed the global generator used by rand/randn/randint, init, dropout and shuffling."""
    global _generator, _seed
    if not isinstance(seed, (int, numpy.integer)) or isinstance(seed, bool):
        raise ArgumentTypeError(f"manual_seed: seed must be an int, got {type(seed).__name__}")
    _seed = int(seed)
    _generator = numpy.random.default_rng(_seed)
    return _generator


def generator() -> numpy.random.Generator:
    """The global random generator (reset by :func:`manual_seed`)."""
    return _generator


def initial_seed() -> int:
    return _seed


def get_rng_state() -> dict:
    """A JSON-serialisable snapshot of the global generator, for exact resume."""
    return _generator.bit_generator.state


def set_rng_state(state: dict) -> None:
    """Restore a snapshot taken with :func:`get_rng_state`."""
    _generator.bit_generator.state = state
