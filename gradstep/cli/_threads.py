"""Limit the BLAS library's threads at run time (the env variables only work before NumPy is imported).

Small models' matrix products are too small to gain from BLAS threads, and on a
busy machine threads that spin waiting for a core make each product ~10x slower
(the default ``gradstep train`` took 2 s with one thread and 20-50 s with two
while other processes ran). Finds the OpenBLAS that NumPy loaded and calls its
``set_num_threads``; does nothing (returns False) for other BLAS libraries.
"""
from __future__ import annotations

import ctypes
import os

__all__ = ["limit_blas_threads"]

_SYMBOLS = ("scipy_openblas_set_num_threads64_", "scipy_openblas_set_num_threads",
            "openblas_set_num_threads64_", "openblas_set_num_threads")


def _loaded_blas_libraries() -> list[str]:
    try:
        with open("/proc/self/maps") as f:
            paths = {line.split()[-1] for line in f if "blas" in line.lower() and "/" in line}
    except OSError:  # not Linux: leave the defaults alone
        return []
    return sorted(p for p in paths if os.path.isfile(p))


def limit_blas_threads(n: int) -> bool:
    """Set the number of OpenBLAS threads to ``n``; True if a loaded OpenBLAS accepted it."""
    import numpy  # noqa: F401  (make sure NumPy's BLAS is loaded)

    done = False
    for path in _loaded_blas_libraries():
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        for name in _SYMBOLS:
            fn = getattr(lib, name, None)
            if fn is not None:
                fn(ctypes.c_int(int(n)))
                done = True
                break
    return done
