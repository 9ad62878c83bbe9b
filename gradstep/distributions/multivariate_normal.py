"""MultivariateNormal parameterised by exactly one of covariance_matrix, scale_tril, precision_matrix.

Everything goes through the lower Cholesky factor L (cov = L L^T). gradstep has no
triangular solve, so ``L^{-1} x`` uses ``linalg.solve(tril(L), x)``; the ``tril`` keeps
the gradient to L lower triangular, as PyTorch's solve_triangular does.
"""
import math

import numpy as np

from ..autograd.tensor import Tensor
from ..errors import InvalidArgument
from . import constraints
from .distribution import Distribution, lazy_property

__all__ = ["MultivariateNormal"]


def _batch_mv(bmat, bvec):
    return (bmat @ bvec.unsqueeze(-1)).squeeze(-1)


def _batch_mahalanobis(L, x):
    """``x^T (L L^T)^{-1} x`` for batches of x and L."""
    import gradstep as gs

    shape = np.broadcast_shapes(tuple(L.shape[:-2]), tuple(x.shape[:-1]))
    Lb = gs.tril(L).expand(*shape, *L.shape[-2:])
    xb = x.expand(*shape, x.shape[-1]).unsqueeze(-1)
    return gs.linalg.solve(Lb, xb).squeeze(-1).pow(2).sum(-1)


class MultivariateNormal(Distribution):
    """Gaussian over vectors of length n (event_shape = (n,)); ``rsample = loc + L @ eps``."""
    arg_constraints = {"loc": constraints.real_vector, "covariance_matrix": constraints.positive_definite,
                       "precision_matrix": constraints.positive_definite, "scale_tril": constraints.lower_cholesky}
    support = constraints.real_vector
    has_rsample = True

    def __init__(self, loc, covariance_matrix=None, precision_matrix=None, scale_tril=None, validate_args=None):
        import gradstep as gs

        if not isinstance(loc, Tensor):
            raise InvalidArgument(f"MultivariateNormal: loc must be a Tensor, got {type(loc).__name__}")
        if loc.dim() < 1:
            raise InvalidArgument("loc must be at least one-dimensional.")
        if (covariance_matrix is not None) + (scale_tril is not None) + (precision_matrix is not None) != 1:
            raise InvalidArgument(
                "Exactly one of covariance_matrix or precision_matrix or scale_tril may be specified.")
        matrix, name = next((m, n) for m, n in ((scale_tril, "scale_tril"), (covariance_matrix, "covariance_matrix"),
                                                (precision_matrix, "precision_matrix")) if m is not None)
        if matrix.dim() < 2:
            what = "scale_tril matrix" if name == "scale_tril" else f"{name.replace('_matrix', '')} matrix"
            raise InvalidArgument(f"{what} must be at least two-dimensional, with optional leading batch dimensions")
        batch_shape = np.broadcast_shapes(tuple(matrix.shape[:-2]), tuple(loc.shape[:-1]))
        setattr(self, name, matrix.expand(*batch_shape, -1, -1))
        self.loc = loc.expand(*batch_shape, -1)
        super().__init__(batch_shape, tuple(self.loc.shape[-1:]), validate_args)
        if scale_tril is not None:
            self._unbroadcasted_scale_tril = scale_tril
        elif covariance_matrix is not None:
            self._unbroadcasted_scale_tril = gs.linalg.cholesky(covariance_matrix)
        else:
            self._unbroadcasted_scale_tril = gs.linalg.cholesky(gs.linalg.inv(precision_matrix))

    @lazy_property
    def scale_tril(self):
        return self._unbroadcasted_scale_tril.expand(*self._batch_shape, *self._event_shape, *self._event_shape)

    @lazy_property
    def covariance_matrix(self):
        L = self._unbroadcasted_scale_tril
        return (L @ L.mT).expand(*self._batch_shape, *self._event_shape, *self._event_shape)

    @lazy_property
    def precision_matrix(self):
        import gradstep as gs

        L = self._unbroadcasted_scale_tril
        return gs.linalg.inv(L @ L.mT).expand(*self._batch_shape, *self._event_shape, *self._event_shape)

    @property
    def mean(self):
        return self.loc

    @property
    def mode(self):
        return self.loc

    @property
    def variance(self):
        return self._unbroadcasted_scale_tril.pow(2).sum(-1).expand(*self._batch_shape, *self._event_shape)

    def rsample(self, sample_shape=()):
        import gradstep as gs

        eps = gs.randn(*self._extended_shape(sample_shape), dtype=self.loc.dtype)
        return self.loc + _batch_mv(self._unbroadcasted_scale_tril, eps)

    def _half_log_det(self):
        return self._unbroadcasted_scale_tril.diagonal(dim1=-2, dim2=-1).log().sum(-1)

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        diff = value - self.loc
        M = _batch_mahalanobis(self._unbroadcasted_scale_tril, diff)
        return -0.5 * (self._event_shape[0] * math.log(2 * math.pi) + M) - self._half_log_det()

    def entropy(self):
        H = 0.5 * self._event_shape[0] * (1.0 + math.log(2 * math.pi)) + self._half_log_det()
        return H if tuple(H.shape) == self._batch_shape else H.expand(*self._batch_shape)
