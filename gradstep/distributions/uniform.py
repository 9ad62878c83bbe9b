"""Uniform on the half-open interval ``[low, high)``; ``rsample = low + u * (high - low)``."""
from . import constraints
from .distribution import Distribution, broadcast_all

__all__ = ["Uniform"]


def _bound(t):
    return float(t.item()) if t.dim() == 0 else t


class Uniform(Distribution):
    """Elementwise uniform; batch_shape is the broadcast shape of low and high."""
    has_rsample = True

    @property
    def arg_constraints(self):
        return {"low": constraints.less_than(_bound(self.high)), "high": constraints.greater_than(_bound(self.low))}

    @property
    def support(self):
        return constraints.interval(_bound(self.low), _bound(self.high))

    def __init__(self, low, high, validate_args=None):
        self.low, self.high = broadcast_all(low, high)
        super().__init__(tuple(self.low.shape), (), validate_args)

    @property
    def mean(self):
        return (self.high + self.low) / 2

    @property
    def mode(self):
        return self.high * float("nan")

    @property
    def stddev(self):
        return (self.high - self.low) / 12 ** 0.5

    @property
    def variance(self):
        return (self.high - self.low).pow(2) / 12

    def rsample(self, sample_shape=()):
        import gradstep as gs

        u = gs.rand(*self._extended_shape(sample_shape), dtype=self.low.dtype)
        return self.low + u * (self.high - self.low)

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        lb = (self.low <= value).to(self.low.dtype)
        ub = (self.high > value).to(self.low.dtype)
        return (lb * ub).log() - (self.high - self.low).log()

    def cdf(self, value):
        if self._validate_args:
            self._validate_sample(value)
        return ((value - self.low) / (self.high - self.low)).clamp(min=0, max=1)

    def entropy(self):
        return (self.high - self.low).log()
