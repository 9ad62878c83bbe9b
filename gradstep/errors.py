"""gradstep's exceptions.

Each one subclasses the Python exception a user would catch anyway
(``ValueError`` for bad values and shapes, ``TypeError`` for wrong types,
``RuntimeError`` for wrong state), so ``except ValueError`` keeps working,
while ``except gradstep.GradstepError`` catches everything gradstep raises on
purpose.
"""
from __future__ import annotations


class GradstepError(Exception):
    """Base class of every error gradstep raises on purpose."""


class ShapeError(GradstepError, ValueError):
    """Shapes that do not fit an op or a layer."""


class DTypeError(GradstepError, TypeError):
    """A tensor of the wrong dtype for an op (e.g. a float index)."""


class GradError(GradstepError, RuntimeError):
    """Autograd misuse: backward twice through a freed graph, in-place change of a saved tensor, ..."""


class CheckpointError(GradstepError, ValueError):
    """A checkpoint or weights file that is corrupt, truncated or from another model."""


def fmt_shape(shape) -> str:
    """``(2, 3)`` for a shape tuple, as users type it."""
    return "(" + ", ".join(str(int(s)) for s in shape) + ("," if len(shape) == 1 else "") + ")"
