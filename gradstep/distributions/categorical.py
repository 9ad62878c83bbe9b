"""Categorical and OneHotCategorical: one of K classes, parameterised by probs or logits.

As in PyTorch, ``probs`` are normalised to sum to 1 and ``logits`` become
``logits - logsumexp(logits)``; the other parameterisation is derived lazily.
"""
import numpy as np

from ..autograd.tensor import Tensor
from ..errors import InvalidArgument
from . import constraints
from .distribution import Distribution, lazy_property, logits_to_probs, probs_to_logits, finfo

__all__ = ["Categorical", "OneHotCategorical"]


def _probs_or_logits(probs, logits):
    if (probs is None) == (logits is None):
        raise InvalidArgument("Either `probs` or `logits` must be specified, but not both.")
    return probs if probs is not None else logits


def _tensor_param(name, probs, logits):
    value = _probs_or_logits(probs, logits)
    if not isinstance(value, Tensor):
        raise InvalidArgument(f"{name}: `{'probs' if probs is not None else 'logits'}` must be a Tensor, "
                              f"got {type(value).__name__}")
    return value


class Categorical(Distribution):
    """Class indices ``0..K-1`` with probabilities ``probs[..., k]`` (batch_shape = probs.shape[:-1])."""
    arg_constraints = {"probs": constraints.simplex, "logits": constraints.independent(constraints.real, 1)}
    has_enumerate_support = True

    def __init__(self, probs=None, logits=None, validate_args=None):
        param = _tensor_param("Categorical", probs, logits)
        if probs is not None:
            if probs.dim() < 1:
                raise InvalidArgument("`probs` parameter must be at least one-dimensional.")
            self.probs = probs / probs.sum(-1, keepdim=True)
        else:
            if logits.dim() < 1:
                raise InvalidArgument("`logits` parameter must be at least one-dimensional.")
            self.logits = logits - logits.logsumexp(dim=-1, keepdim=True)
        self._param = self.probs if probs is not None else self.logits
        self._num_events = param.shape[-1]
        super().__init__(tuple(param.shape[:-1]), (), validate_args)

    @property
    def support(self):
        return constraints.integer_interval(0, self._num_events - 1)

    @lazy_property
    def logits(self):
        return probs_to_logits(self.probs)

    @lazy_property
    def probs(self):
        return logits_to_probs(self.logits)

    @property
    def param_shape(self):
        return tuple(self._param.shape)

    @property
    def mean(self):
        import gradstep as gs

        return gs.full(self._extended_shape(), float("nan"), dtype=self.probs.dtype)

    @property
    def mode(self):
        return self.probs.argmax(-1)

    @property
    def variance(self):
        return self.mean

    def sample(self, sample_shape=()):
        import gradstep as gs

        shape = self._extended_shape(sample_shape)
        n = int(np.prod(shape[:len(shape) - len(self._batch_shape)], dtype=np.int64))
        with gs.no_grad():
            probs_2d = self.probs.detach().reshape(-1, self._num_events)
            samples_2d = gs.multinomial(probs_2d, n, True).T
        return samples_2d.reshape(*shape)

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        value = value.long().unsqueeze(-1)
        shape = np.broadcast_shapes(tuple(value.shape), tuple(self.logits.shape))
        value = value.expand(*shape)[..., :1]
        return self.logits.expand(*shape).gather(-1, value).squeeze(-1)

    def entropy(self):
        logits = self.logits.clamp(min=float(finfo(self.logits.dtype).min))
        return -(logits * self.probs).sum(-1)

    def enumerate_support(self, expand=True):
        import gradstep as gs

        values = gs.arange(self._num_events).reshape(-1, *((1,) * len(self._batch_shape)))
        return values.expand(-1, *self._batch_shape) if expand else values


class OneHotCategorical(Distribution):
    """Categorical whose samples are one-hot vectors of length K (event_shape = (K,))."""
    arg_constraints = {"probs": constraints.simplex, "logits": constraints.independent(constraints.real, 1)}
    support = constraints.one_hot
    has_enumerate_support = True

    def __init__(self, probs=None, logits=None, validate_args=None):
        self._categorical = Categorical(probs, logits)
        super().__init__(self._categorical.batch_shape, self._categorical.param_shape[-1:], validate_args)

    @property
    def probs(self):
        return self._categorical.probs

    @property
    def logits(self):
        return self._categorical.logits

    @property
    def param_shape(self):
        return self._categorical.param_shape

    @property
    def mean(self):
        return self._categorical.probs

    @property
    def mode(self):
        import gradstep as gs

        probs = self._categorical.probs
        return gs.nn.functional.one_hot(probs.argmax(-1), probs.shape[-1]).to(probs.dtype)

    @property
    def variance(self):
        probs = self._categorical.probs
        return probs * (1 - probs)

    def sample(self, sample_shape=()):
        import gradstep as gs

        probs = self._categorical.probs
        indices = self._categorical.sample(sample_shape)
        return gs.nn.functional.one_hot(indices, probs.shape[-1]).to(probs.dtype)

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        return self._categorical.log_prob(value.max(-1)[1])

    def entropy(self):
        return self._categorical.entropy()
