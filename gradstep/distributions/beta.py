"""Beta on [0, 1] with ``concentration1`` (alpha) and ``concentration0`` (beta).

A two-category Dirichlet, as in PyTorch. ``sample`` draws from NumPy's beta sampler on the global
generator; no ``rsample`` (PyTorch's differentiates the gamma sampler implicitly, which gradstep
does not implement).
"""
import numpy as np

from . import constraints
from .dirichlet import Dirichlet
from .distribution import Distribution, broadcast_all, finfo

__all__ = ["Beta"]


class Beta(Distribution):
    """``p(x) = x^(a-1) (1-x)^(b-1) / B(a, b)``; batch_shape is the broadcast shape of a and b."""
    arg_constraints = {"concentration1": constraints.positive, "concentration0": constraints.positive}
    support = constraints.unit_interval
    has_rsample = False

    def __init__(self, concentration1, concentration0, validate_args=None):
        import gradstep as gs

        self.concentration1, self.concentration0 = broadcast_all(concentration1, concentration0)
        self._dirichlet = Dirichlet(gs.stack([self.concentration1, self.concentration0], -1),
                                    validate_args=validate_args)
        super().__init__(tuple(self.concentration1.shape), (), validate_args)

    @property
    def mean(self):
        return self.concentration1 / (self.concentration1 + self.concentration0)

    @property
    def mode(self):
        return self._dirichlet.mode[..., 0]

    @property
    def variance(self):
        total = self.concentration1 + self.concentration0
        return self.concentration1 * self.concentration0 / (total.pow(2) * (total + 1))

    def sample(self, sample_shape=()):
        import gradstep as gs
        from ..backend import generator

        shape = self._extended_shape(sample_shape)
        a = np.broadcast_to(self.concentration1.detach().numpy().astype(np.float64), shape)
        b = np.broadcast_to(self.concentration0.detach().numpy().astype(np.float64), shape)
        draw = np.asarray(generator().beta(a, b)).astype(self.concentration1.dtype)
        tiny = finfo(draw.dtype).tiny
        return gs.tensor(np.clip(draw, tiny, 1 - finfo(draw.dtype).eps / 2))

    def log_prob(self, value):
        import gradstep as gs

        if self._validate_args:
            self._validate_sample(value)
        return self._dirichlet.log_prob(gs.stack([value, 1.0 - value], -1))

    def entropy(self):
        return self._dirichlet.entropy()
