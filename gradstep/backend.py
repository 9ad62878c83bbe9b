"""The one place that decides what an array is.

Every op gets its array namespace from ``xp`` here; nothing else in gradstep
imports NumPy to *compute* on tensor data. Plugging in an array library with
NumPy's API (CuPy, for instance) means changing this module only.

It also owns the default floating dtype (float32, as in PyTorch), the
global random generator that ``manual_seed`` resets, so one seed fixes
initialisation, shuffling and dropout alike, and the process-level memory
setting that makes repeated large allocations cheap.
"""
from __future__ import annotations

import os
import sys

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


def _keep_freed_memory() -> bool:
    """Ask glibc's malloc to keep freed memory for reuse instead of returning it to the OS.

    A training step allocates and frees the same large arrays (activations,
    im2col columns, gradients) every step. By default glibc serves blocks above
    a dynamic threshold with fresh ``mmap``s and trims the heap, so every step
    pays the page faults of zeroed pages again: that made the cnn step about
    1.4x slower in the benchmark. With high mmap/trim thresholds a freed array's
    pages are simply reused. Peak memory is unchanged (the memory was in use
    anyway); the process just doesn't shrink after a peak.
    Set ``GRADSTEP_MALLOC_TUNING=0`` to leave malloc alone. No-op outside glibc.
    """
    if os.environ.get("GRADSTEP_MALLOC_TUNING", "1") == "0" or not sys.platform.startswith("linux"):
        return False
    try:
        import ctypes

        libc = ctypes.CDLL(None)
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # musl and friends have no mallopt
        return False
    m_trim_threshold, m_mmap_threshold = -1, -3
    return bool(mallopt(m_mmap_threshold, 1 << 30)) and bool(mallopt(m_trim_threshold, 1 << 30))


_keep_freed_memory()
