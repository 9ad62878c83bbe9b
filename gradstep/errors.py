"""gradstep's exceptions.

Contract: every error gradstep raises on purpose is a :class:`GradstepError`
*and* a subclass of the Python exception a user would catch anyway:

=====================  =====================  ==========================================
class                  also a                 raised for
=====================  =====================  ==========================================
``ShapeError``         ``ValueError``         shapes that do not fit an op or a layer
``InvalidArgument``    ``ValueError``         a bad value (negative size, p=2, lr=-1, ...)
``CheckpointError``    ``ValueError``         corrupt weights, state dicts of another model
``DTypeError``         ``TypeError``          a tensor of the wrong dtype
``ArgumentTypeError``  ``TypeError``          an argument of the wrong Python type
``IndexOutOfRange``    ``IndexError``         an index, dim or label out of range
``KeyNotFound``        ``KeyError``           a missing key or name
``AttributeNotFound``  ``AttributeError``     a missing attribute, submodule or parameter
``GradError``          ``RuntimeError``       autograd misuse (backward twice, in-place ...)
``StateError``         ``RuntimeError``       a call in the wrong state or order
``PathNotFound``       ``FileNotFoundError``  a file or folder that does not exist
``NotSupported``       ``NotImplementedError``  something gradstep (or a base class) doesn't do
``MissingDependency``  ``ImportError``        an optional package that is not installed
``NonFiniteError``     ``FloatingPointError``  weights or values that became NaN or infinite
``LinAlgError``        ``RuntimeError``       a singular or not positive-definite matrix (as torch.linalg)
=====================  =====================  ==========================================

So ``except ValueError`` keeps working, while ``except gradstep.GradstepError``
catches everything gradstep raises on purpose. Each message names the op,
layer or function, what came and what was expected; no NumPy error or
traceback leaks out of the public API.
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


class InvalidArgument(GradstepError, ValueError):
    """An argument of the right type but a bad value: a negative size, ``p=2.0``, ``lr=-1``, an unknown mode."""


class ArgumentTypeError(GradstepError, TypeError):
    """An argument of the wrong Python type: ``lr='0.1'``, a Tensor where a list of them is expected."""


class IndexOutOfRange(GradstepError, IndexError):
    """An index, a dim or a class label outside the valid range."""


class KeyNotFound(GradstepError, KeyError):
    """A key or a name that is missing (or clashes) in a dict-like container."""

    def __str__(self) -> str:
        # KeyError's str() is the repr of its argument; a sentence reads better unquoted
        return str(self.args[0]) if len(self.args) == 1 else super().__str__()


class AttributeNotFound(GradstepError, AttributeError):
    """A missing attribute, submodule, parameter or buffer."""


class StateError(GradstepError, RuntimeError):
    """A call made in the wrong state or order (e.g. a scheduler resumed before its optimizer)."""


class PathNotFound(GradstepError, FileNotFoundError):
    """A file or folder that does not exist."""


class NotSupported(GradstepError, NotImplementedError):
    """Something gradstep doesn't do, or a method a subclass must define."""


class MissingDependency(GradstepError, ImportError):
    """An optional package (PyTorch, MPI, ...) that a feature needs but that is not installed."""


class NonFiniteError(GradstepError, FloatingPointError):
    """Weights or values that became NaN or infinite where finite ones are needed."""


class LinAlgError(GradstepError, RuntimeError):
    """A matrix a linear algebra op can't take: singular (inv, solve), not positive-definite (cholesky),
    no convergence. A RuntimeError like ``torch.linalg.LinAlgError``."""


def fmt_shape(shape) -> str:
    """``(2, 3)`` for a shape tuple, as users type it."""
    return "(" + ", ".join(str(int(s)) for s in shape) + ("," if len(shape) == 1 else "") + ")"
