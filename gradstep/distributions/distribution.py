"""The Distribution base class (torch.distributions.Distribution) and shared helpers.

A distribution has a ``batch_shape`` (independent, differently parameterised copies) and
an ``event_shape`` (the shape of one draw). ``sample`` draws without gradient from the
global generator (so ``gs.manual_seed`` fixes draws); ``rsample`` is the reparameterised,
differentiable draw. With ``validate_args`` (on by default, as in PyTorch) the constructor
checks every parameter against ``arg_constraints`` and ``log_prob`` checks its value
against ``support``, raising :class:`~gradstep.errors.InvalidArgument` (a ValueError).
"""
import math

import numpy as np

from ..autograd.tensor import Tensor
from ..errors import InvalidArgument, NotSupported
from . import constraints

__all__ = ["Distribution"]

_DEFAULT_VALIDATE = __debug__


def _size(shape):
    return tuple(int(s) for s in shape)


def _fmt_size(shape):
    return str(tuple(shape))


def broadcast_all(*values):
    """Tensors of the broadcast shape; Python numbers take the dtype of the first tensor (or the default)."""
    import gradstep as gs

    tensors = [v for v in values if isinstance(v, Tensor)]
    dtype = tensors[0].dtype if tensors else gs.get_default_dtype()
    out = [v if isinstance(v, Tensor) else gs.tensor(float(v), dtype=dtype) for v in values]
    shape = np.broadcast_shapes(*(t.shape for t in out))
    return [t if tuple(t.shape) == shape else t.expand(*shape) for t in out]


def sum_rightmost(value, dim):
    """Sum ``value`` over its ``dim`` rightmost dims."""
    return value.reshape(*value.shape[:value.dim() - dim], -1).sum(-1) if dim > 0 else value


def finfo(dtype):
    return np.finfo(np.dtype(dtype))


def clamp_probs(probs):
    eps = float(finfo(probs.dtype).eps)
    return probs.clamp(min=eps, max=1 - eps)


def probs_to_logits(probs, is_binary=False):
    ps = clamp_probs(probs)
    return (ps.log() - (-ps).log1p()) if is_binary else ps.log()


def logits_to_probs(logits, is_binary=False):
    import gradstep as gs

    return gs.sigmoid(logits) if is_binary else gs.softmax(logits, dim=-1)


class lazy_property:
    """Computed once on first access and stored on the instance (how probs/logits convert lazily)."""

    def __init__(self, fn):
        self.fn = fn
        self.__doc__ = fn.__doc__
        self.__name__ = fn.__name__

    def __get__(self, instance, owner=None):
        if instance is None:
            return self
        value = self.fn(instance)
        instance.__dict__[self.fn.__name__] = value
        return value


class Distribution:
    """Base class: subclasses set ``arg_constraints``, ``support`` and implement the methods they support."""
    has_rsample = False
    has_enumerate_support = False
    arg_constraints = {}
    support = None
    _validate_args = _DEFAULT_VALIDATE

    @staticmethod
    def set_default_validate_args(value):
        """Turn argument validation on or off for distributions created afterwards (PyTorch's switch)."""
        if value not in (True, False):
            raise InvalidArgument(f"set_default_validate_args: expected True or False, got {value!r}")
        Distribution._validate_args = value

    def __init__(self, batch_shape=(), event_shape=(), validate_args=None):
        self._batch_shape = _size(batch_shape)
        self._event_shape = _size(event_shape)
        if validate_args is not None:
            self._validate_args = validate_args
        if self._validate_args:
            for param, constraint in self.arg_constraints.items():
                if constraints.is_dependent(constraint):
                    continue
                if param not in self.__dict__ and isinstance(getattr(type(self), param, None), lazy_property):
                    continue  # the unset one of probs/logits
                value = getattr(self, param)
                if not constraint.check(value).all():
                    raise InvalidArgument(
                        f"Expected parameter {param} ({type(value).__name__} of shape {tuple(value.shape)}) "
                        f"of distribution {self!r} to satisfy the constraint {constraint!r}, "
                        f"but found invalid values:\n{value}")

    # --- shapes -------------------------------------------------------------------------
    @property
    def batch_shape(self):
        return self._batch_shape

    @property
    def event_shape(self):
        return self._event_shape

    def _extended_shape(self, sample_shape=()):
        if isinstance(sample_shape, int):
            sample_shape = (sample_shape,)
        return _size(sample_shape) + self._batch_shape + self._event_shape

    def expand(self, batch_shape, _instance=None):
        raise NotSupported(f"{type(self).__name__}.expand is not implemented")

    # --- statistics ---------------------------------------------------------------------
    @property
    def mean(self):
        raise NotSupported(f"{type(self).__name__} does not implement mean")

    @property
    def mode(self):
        raise NotSupported(f"{type(self).__name__} does not implement mode")

    @property
    def variance(self):
        raise NotSupported(f"{type(self).__name__} does not implement variance")

    @property
    def stddev(self):
        return self.variance.sqrt()

    def entropy(self):
        raise NotSupported(f"{type(self).__name__} does not implement entropy")

    def perplexity(self):
        return self.entropy().exp()

    # --- sampling and density -------------------------------------------------------------
    def sample(self, sample_shape=()):
        """A draw of shape ``sample_shape + batch_shape + event_shape``, without gradient."""
        import gradstep as gs

        with gs.no_grad():
            return self.rsample(sample_shape).detach()

    def rsample(self, sample_shape=()):
        raise NotSupported(f"{type(self).__name__} has no reparameterised sampler (rsample); use sample")

    def sample_n(self, n):
        return self.sample((n,))

    def log_prob(self, value):
        raise NotSupported(f"{type(self).__name__} does not implement log_prob")

    def cdf(self, value):
        raise NotSupported(f"{type(self).__name__} does not implement cdf")

    def icdf(self, value):
        raise NotSupported(f"{type(self).__name__} does not implement icdf")

    def _validate_sample(self, value):
        """PyTorch's checks on a ``log_prob`` argument: a Tensor, of a compatible shape, inside the support."""
        if not isinstance(value, Tensor):
            raise InvalidArgument("The value argument to log_prob must be a Tensor")
        event_dim_start = value.dim() - len(self._event_shape)
        if tuple(value.shape[event_dim_start:]) != self._event_shape:
            raise InvalidArgument(f"The right-most size of value must match event_shape: "
                                  f"{_fmt_size(value.shape)} vs {_fmt_size(self._event_shape)}.")
        actual, expected = tuple(value.shape), self._batch_shape + self._event_shape
        for i, j in zip(reversed(actual), reversed(expected)):
            if i != 1 and j != 1 and i != j:
                raise InvalidArgument(f"Value is not broadcastable with batch_shape+event_shape: "
                                      f"{_fmt_size(actual)} vs {_fmt_size(expected)}.")
        support = self.support
        if support is None or constraints.is_dependent(support):
            return
        if not support.check(value).all():
            raise InvalidArgument(
                f"Expected value argument ({type(value).__name__} of shape {tuple(value.shape)}) "
                f"to be within the support ({support!r}) of the distribution {self!r}, "
                f"but found invalid values:\n{value}")

    def __repr__(self):
        names = [k for k in self.arg_constraints if k in self.__dict__]
        args = ", ".join(
            f"{p}: {self.__dict__[p] if self.__dict__[p].numel() == 1 else _fmt_size(self.__dict__[p].shape)}"
            for p in names)
        return f"{type(self).__name__}({args})"


_LOG_SQRT_2PI = math.log(math.sqrt(2 * math.pi))
