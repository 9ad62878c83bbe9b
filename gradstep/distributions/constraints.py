"""Constraints on distribution parameters and supports (torch.distributions.constraints).

Each constraint's ``check(value)`` returns a bool tensor (NumPy-level, no gradient)
saying where ``value`` is valid; ``event_dim`` says how many rightmost dims form one event.
The reprs match PyTorch's, since they appear in validation error messages.
"""
import numpy as np

from ..errors import InvalidArgument

__all__ = ["Constraint", "real", "real_vector", "positive", "unit_interval", "boolean", "simplex",
           "positive_definite", "lower_cholesky", "one_hot", "interval", "less_than", "greater_than",
           "integer_interval", "dependent", "is_dependent", "independent"]


def _np(value):
    return value._data if hasattr(value, "_data") else np.asarray(value)


class Constraint:
    """A region of valid values; subclasses define ``check``."""
    is_discrete = False
    event_dim = 0

    def check(self, value):
        raise NotImplementedError

    def __repr__(self):
        return type(self).__name__[1:] + "()"


class _Dependent(Constraint):
    """Placeholder for a constraint that depends on other parameters (not checked)."""

    def __init__(self, *, is_discrete=False, event_dim=0):
        self.is_discrete, self.event_dim = is_discrete, event_dim

    def check(self, value):
        raise InvalidArgument("Cannot determine validity of dependent constraint")


def is_dependent(constraint):
    return isinstance(constraint, _Dependent)


class _Real(Constraint):
    def check(self, value):
        v = _np(value)
        return v == v  # False only for NaN


class _Boolean(Constraint):
    is_discrete = True

    def check(self, value):
        v = _np(value)
        return (v == 0) | (v == 1)


class _GreaterThan(Constraint):
    def __init__(self, lower_bound):
        self.lower_bound = lower_bound

    def check(self, value):
        return _np(value) > _np(self.lower_bound)

    def __repr__(self):
        return f"GreaterThan(lower_bound={self.lower_bound})"


class _LessThan(Constraint):
    def __init__(self, upper_bound):
        self.upper_bound = upper_bound

    def check(self, value):
        return _np(value) < _np(self.upper_bound)

    def __repr__(self):
        return f"LessThan(upper_bound={self.upper_bound})"


class _Interval(Constraint):
    def __init__(self, lower_bound, upper_bound):
        self.lower_bound, self.upper_bound = lower_bound, upper_bound

    def check(self, value):
        v = _np(value)
        return (_np(self.lower_bound) <= v) & (v <= _np(self.upper_bound))

    def __repr__(self):
        return f"Interval(lower_bound={self.lower_bound}, upper_bound={self.upper_bound})"


class _IntegerInterval(Constraint):
    is_discrete = True

    def __init__(self, lower_bound, upper_bound):
        self.lower_bound, self.upper_bound = lower_bound, upper_bound

    def check(self, value):
        v = _np(value)
        return (v % 1 == 0) & (self.lower_bound <= v) & (v <= self.upper_bound)

    def __repr__(self):
        return f"IntegerInterval(lower_bound={self.lower_bound}, upper_bound={self.upper_bound})"


class _IndependentConstraint(Constraint):
    """``base`` with its ``reinterpreted_batch_ndims`` rightmost dims treated as one event (all must hold)."""

    def __init__(self, base, reinterpreted_batch_ndims):
        self.base, self.reinterpreted_batch_ndims = base, reinterpreted_batch_ndims
        self.is_discrete = base.is_discrete
        self.event_dim = base.event_dim + reinterpreted_batch_ndims

    def check(self, value):
        ok = self.base.check(value)
        n = self.reinterpreted_batch_ndims
        return ok.reshape(ok.shape[:ok.ndim - n] + (-1,)).all(-1) if n else ok

    def __repr__(self):
        return f"IndependentConstraint({self.base!r}, {self.reinterpreted_batch_ndims})"


class _Simplex(Constraint):
    event_dim = 1

    def check(self, value):
        v = _np(value)
        with np.errstate(invalid="ignore"):
            return (v >= 0).all(-1) & (np.abs(v.sum(-1) - 1) < 1e-6)


class _OneHot(Constraint):
    is_discrete = True
    event_dim = 1

    def check(self, value):
        v = _np(value)
        return ((v == 0) | (v == 1)).all(-1) & (v.sum(-1) == 1)


class _LowerCholesky(Constraint):
    event_dim = 2

    def check(self, value):
        v = _np(value)
        lower = (np.tril(v) == v).reshape(v.shape[:-2] + (-1,)).all(-1)
        return lower & (np.diagonal(v, axis1=-2, axis2=-1) > 0).all(-1)


class _PositiveDefinite(Constraint):
    event_dim = 2

    def check(self, value):
        v = _np(value)
        sym = np.isclose(v, np.swapaxes(v, -1, -2), atol=1e-6).reshape(v.shape[:-2] + (-1,)).all(-1)
        try:
            pos = np.linalg.eigvalsh(v.astype(np.float64)).min(-1) > 0
        except np.linalg.LinAlgError:
            pos = np.zeros(v.shape[:-2], bool)
        return sym & pos


dependent = _Dependent()
real = _Real()
real_vector = _IndependentConstraint(real, 1)
positive = _GreaterThan(0.0)
unit_interval = _Interval(0.0, 1.0)
boolean = _Boolean()
simplex = _Simplex()
one_hot = _OneHot()
lower_cholesky = _LowerCholesky()
positive_definite = _PositiveDefinite()
interval = _Interval
less_than = _LessThan
greater_than = _GreaterThan
integer_interval = _IntegerInterval
independent = _IndependentConstraint


def dependent_property(fn=None, *, is_discrete=False, event_dim=0):
    return _Dependent(is_discrete=is_discrete, event_dim=event_dim)
