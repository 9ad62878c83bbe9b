"""Normal (Gaussian) with mean ``loc`` and standard deviation ``scale``; ``rsample = loc + eps * scale``."""
import math

from . import constraints
from .distribution import Distribution, broadcast_all, _LOG_SQRT_2PI

__all__ = ["Normal"]


class Normal(Distribution):
    """Elementwise Gaussian; batch_shape is the broadcast shape of loc and scale."""
    arg_constraints = {"loc": constraints.real, "scale": constraints.positive}
    support = constraints.real
    has_rsample = True

    def __init__(self, loc, scale, validate_args=None):
        self.loc, self.scale = broadcast_all(loc, scale)
        super().__init__(tuple(self.loc.shape), (), validate_args)

    @property
    def mean(self):
        return self.loc

    @property
    def mode(self):
        return self.loc

    @property
    def stddev(self):
        return self.scale

    @property
    def variance(self):
        return self.stddev.pow(2)

    def rsample(self, sample_shape=()):
        import gradstep as gs

        shape = self._extended_shape(sample_shape)
        eps = gs.randn(*shape, dtype=self.loc.dtype)
        return self.loc + eps * self.scale

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        var = self.scale ** 2
        return -((value - self.loc) ** 2) / (2 * var) - self.scale.log() - _LOG_SQRT_2PI

    def cdf(self, value):
        import gradstep as gs

        if self._validate_args:
            self._validate_sample(value)
        return 0.5 * (1 + gs.erf((value - self.loc) * self.scale.reciprocal() / math.sqrt(2)))

    def icdf(self, value):
        """The quantile ``loc + scale * sqrt(2) * erfinv(2 value - 1)``."""
        import gradstep as gs

        return self.loc + self.scale * gs.erfinv(2 * value - 1) * math.sqrt(2)

    def entropy(self):
        return 0.5 + 0.5 * math.log(2 * math.pi) + self.scale.log()
