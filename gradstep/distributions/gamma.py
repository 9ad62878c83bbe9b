"""Gamma with shape ``concentration`` and inverse scale ``rate``.

``sample`` draws from NumPy's gamma sampler on the global generator. There is no ``rsample``:
PyTorch's reparameterised Gamma differentiates the sampler implicitly (through the incomplete
gamma function), which gradstep does not implement, so ``has_rsample`` is False and ``rsample``
raises NotSupported.
"""
import numpy as np

from . import constraints
from .distribution import Distribution, broadcast_all, finfo

__all__ = ["Gamma"]


class _GreaterThanEq(constraints.Constraint):
    """``value >= lower_bound`` (PyTorch's ``constraints.nonnegative`` when the bound is 0)."""

    def __init__(self, lower_bound):
        self.lower_bound = lower_bound

    def check(self, value):
        return constraints._np(value) >= self.lower_bound

    def __repr__(self):
        return f"GreaterThanEq(lower_bound={self.lower_bound})"


nonnegative = _GreaterThanEq(0.0)


def _draw_standard_gamma(concentration, shape):
    """Standard gamma draws of ``shape`` (broadcasting ``concentration``), without gradient, clamped above 0."""
    import gradstep as gs
    from ..backend import generator

    conc = np.broadcast_to(concentration.detach().numpy().astype(np.float64), shape)
    draw = np.asarray(generator().standard_gamma(conc)).astype(concentration.dtype)
    return gs.tensor(np.maximum(draw, finfo(concentration.dtype).tiny))


class Gamma(Distribution):
    """``p(x) = rate^c x^(c-1) e^(-rate x) / Gamma(c)`` for ``x >= 0``; batch_shape is the broadcast shape."""
    arg_constraints = {"concentration": constraints.positive, "rate": constraints.positive}
    support = nonnegative
    has_rsample = False

    def __init__(self, concentration, rate, validate_args=None):
        self.concentration, self.rate = broadcast_all(concentration, rate)
        super().__init__(tuple(self.concentration.shape), (), validate_args)

    @property
    def mean(self):
        return self.concentration / self.rate

    @property
    def mode(self):
        return ((self.concentration - 1) / self.rate).clamp(min=0)

    @property
    def variance(self):
        return self.concentration / self.rate.pow(2)

    def sample(self, sample_shape=()):
        draw = _draw_standard_gamma(self.concentration, self._extended_shape(sample_shape))
        return (draw / self.rate.detach()).detach().clamp(min=float(finfo(self.rate.dtype).tiny))

    def log_prob(self, value):
        import gradstep as gs

        value = gs.as_tensor(value, dtype=self.rate.dtype) if not isinstance(value, gs.Tensor) else value
        if self._validate_args:
            self._validate_sample(value)
        c, r = self.concentration, self.rate
        return gs.xlogy(c, r) + gs.xlogy(c - 1, value) - r * value - gs.lgamma(c)

    def entropy(self):
        import gradstep as gs

        c = self.concentration
        return c - self.rate.log() + gs.lgamma(c) + (1.0 - c) * gs.digamma(c)
