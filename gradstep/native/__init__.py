"""Optional compiled kernels for the hottest elementwise loops, with NumPy as the fallback.

``kernels`` is the compiled module ``gradstep.native._kernels`` when it was
built at install time (a C compiler was found) and is not switched off, else
``None``; callers then run the pure-NumPy version of the same maths. Both give
bit-identical results (the kernels repeat NumPy's operations in NumPy's order
and rounding); the compiled ones only make fewer passes over memory.

Set ``GRADSTEP_NATIVE=0`` before importing gradstep to run the NumPy fallback
everywhere (for comparison or debugging), or call :func:`set_enabled`.
"""
from __future__ import annotations

import os

try:
    from . import _kernels as _compiled
except ImportError:  # no compiler at install time, or a source checkout that was never built
    _compiled = None

kernels = _compiled if os.environ.get("GRADSTEP_NATIVE", "1") != "0" else None


def available() -> bool:
    """Whether the compiled kernels were built and can be switched on."""
    return _compiled is not None


def set_enabled(enabled: bool) -> bool:
    """Use the compiled kernels (when built) or the NumPy fallback; returns the previous setting."""
    global kernels
    previous = kernels is not None
    kernels = _compiled if enabled else None
    return previous


def flat_view(a):
    """``a`` as a 1-D view in memory order, or None when it is not one dense block.

    Lets the 1-D kernels take any dense layout (channels-last activations
    included); two arrays with equal strides give matching flat views.
    """
    if a.flags.c_contiguous:
        return a.reshape(-1)
    order = sorted(range(a.ndim), key=lambda d: -abs(a.strides[d]))
    dense = a.transpose(order)
    return dense.reshape(-1) if dense.flags.c_contiguous else None
