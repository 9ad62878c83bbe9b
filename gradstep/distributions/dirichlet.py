"""Dirichlet over the probability simplex, with ``concentration`` of shape ``batch_shape + (K,)``.

``sample`` normalises K standard gamma draws from the global generator. No ``rsample``
(PyTorch's differentiates the gamma sampler implicitly, which gradstep does not implement).
"""
from . import constraints
from .distribution import Distribution
from .gamma import _draw_standard_gamma
from ..autograd.tensor import Tensor
from ..errors import InvalidArgument

__all__ = ["Dirichlet"]


class Dirichlet(Distribution):
    """``p(x) = Gamma(sum a) / prod Gamma(a_i) * prod x_i^(a_i - 1)`` on the simplex."""
    arg_constraints = {"concentration": constraints.independent(constraints.positive, 1)}
    support = constraints.simplex
    has_rsample = False

    def __init__(self, concentration, validate_args=None):
        if not isinstance(concentration, Tensor) or concentration.dim() < 1:
            raise InvalidArgument("Dirichlet: `concentration` parameter must be at least one-dimensional.")
        self.concentration = concentration
        shape = tuple(concentration.shape)
        super().__init__(shape[:-1], shape[-1:], validate_args)

    @property
    def mean(self):
        return self.concentration / self.concentration.sum(-1, keepdim=True)

    @property
    def mode(self):
        import gradstep as gs

        concm1 = (self.concentration - 1).clamp(min=0.0)
        mode = concm1 / concm1.sum(-1, keepdim=True)
        # all a_i < 1: the density peaks at a vertex, the one of the largest (clamped) entry
        vertex = gs.nn.functional.one_hot(mode.argmax(-1), concm1.shape[-1]).to(mode.dtype)
        all_below = (self.concentration < 1).all(-1, keepdim=True)
        return gs.where(all_below, vertex, mode)

    @property
    def variance(self):
        con0 = self.concentration.sum(-1, keepdim=True)
        return self.concentration * (con0 - self.concentration) / (con0.pow(2) * (con0 + 1))

    def sample(self, sample_shape=()):
        import gradstep as gs

        with gs.no_grad():
            g = _draw_standard_gamma(self.concentration, self._extended_shape(sample_shape))
            x = g / g.sum(-1, keepdim=True)
            return x.clamp(min=float(gs.distributions.distribution.finfo(x.dtype).tiny), max=1.0).detach()

    def log_prob(self, value):
        import gradstep as gs

        if self._validate_args:
            self._validate_sample(value)
        c = self.concentration
        return gs.xlogy(c - 1.0, value).sum(-1) + gs.lgamma(c.sum(-1)) - gs.lgamma(c).sum(-1)

    def entropy(self):
        import gradstep as gs

        c = self.concentration
        k = c.shape[-1]
        a0 = c.sum(-1)
        return (gs.lgamma(c).sum(-1) - gs.lgamma(a0) - (k - a0) * gs.digamma(a0)
                - ((c - 1.0) * gs.digamma(c)).sum(-1))
