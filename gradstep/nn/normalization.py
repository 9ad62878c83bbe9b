"""Normalization layers: ``BatchNorm1d/2d/3d``, ``LayerNorm``, ``GroupNorm``, ``RMSNorm``."""
from __future__ import annotations

import math
import numbers

import numpy

from .. import backend
from ..autograd.tensor import Tensor
from ..backend import xp
from ..errors import ArgumentTypeError, InvalidArgument, ShapeError, fmt_shape
from . import functional as F
from . import init
from ._checks import check_sizes
from .linear import _empty
from .module import Module

__all__ = ["BatchNorm1d", "BatchNorm2d", "BatchNorm3d", "LayerNorm", "GroupNorm", "RMSNorm"]


def _make_affine(module: Module, shape: tuple, affine: bool, bias: bool, dtype) -> None:
    """Register ``weight`` and ``bias`` of ``shape`` (or None when not affine / no bias), as PyTorch does."""
    module.register_parameter("weight", _empty(shape, dtype) if affine else None)
    module.register_parameter("bias", _empty(shape, dtype) if affine and bias else None)


def _reset_affine(module: Module) -> None:
    """Weight to ones and bias to zeros: a norm layer starts as a pure normalization."""
    if module.weight is not None:
        init.ones_(module.weight)
    if module.bias is not None:
        init.zeros_(module.bias)


def _register_running_stats(module: Module, num_features: int, track: bool, dtype) -> None:
    """``running_mean`` (zeros), ``running_var`` (ones) and ``num_batches_tracked`` buffers, or None
    buffers when not tracking (PyTorch's state_dict keys either way)."""
    if track:
        float_dtype = backend.default_dtype() if dtype is None else xp.dtype(dtype)
        module.register_buffer("running_mean", Tensor._wrap(xp.zeros(num_features, dtype=float_dtype)))
        module.register_buffer("running_var", Tensor._wrap(xp.ones(num_features, dtype=float_dtype)))
        module.register_buffer("num_batches_tracked", Tensor._wrap(xp.zeros((), dtype=numpy.int64)))
    else:
        for name in ("running_mean", "running_var", "num_batches_tracked"):
            module.register_buffer(name, None)


class _BatchNorm(Module):
    _ndims: tuple
    _expect: str

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float | None = 0.1, affine: bool = True,
                 track_running_stats: bool = True, device=None, dtype=None, *, bias: bool = True):
        super().__init__()
        check_sizes(type(self).__name__, num_features=num_features)
        self.num_features = num_features
        self.eps = eps
        self.momentum = momentum
        self.affine = affine
        self.track_running_stats = track_running_stats
        _make_affine(self, (num_features,), affine, bias, dtype)
        _register_running_stats(self, num_features, track_running_stats, dtype)
        self.reset_parameters()

    def reset_running_stats(self) -> None:
        if self.track_running_stats:
            self.running_mean._data[...] = 0
            self.running_var._data[...] = 1
            self.num_batches_tracked._data[...] = 0
            for buf in (self.running_mean, self.running_var, self.num_batches_tracked):
                buf._version[0] += 1

    def reset_parameters(self) -> None:
        self.reset_running_stats()
        _reset_affine(self)

    def _check_input(self, input) -> None:
        shape = getattr(input, "shape", None)
        if shape is None:
            raise ArgumentTypeError(f"{self._get_name()} expected a Tensor input, got {type(input).__name__}")
        if len(shape) not in self._ndims:
            raise ShapeError(
                f"{self._get_name()}({self.num_features}) expected {self._expect} input "
                f"(got {len(shape)}D input of shape {fmt_shape(shape)})"
            )
        if shape[1] != self.num_features:
            raise ShapeError(
                f"{self._get_name()}({self.num_features}) expected input with {self.num_features} channels "
                f"in dim 1, got shape {fmt_shape(shape)}"
            )

    def forward(self, input):
        shape = getattr(input, "shape", None)
        if shape is None or len(shape) not in self._ndims or shape[1] != self.num_features:
            self._check_input(input)
        factor = 0.0 if self.momentum is None else self.momentum
        if self.training and self.track_running_stats and self.num_batches_tracked is not None:
            self.num_batches_tracked._data += 1
            self.num_batches_tracked._version[0] += 1
            if self.momentum is None:  # cumulative moving average
                factor = 1.0 / float(self.num_batches_tracked._data)
        use_batch_stats = self.training or (self.running_mean is None and self.running_var is None)
        if use_batch_stats and shape[0] == 1 and math.prod(shape[2:]) == 1:
            raise ShapeError(
                f"{self._get_name()}({self.num_features}): expected more than 1 value per channel when training, "
                f"got input of shape {fmt_shape(shape)}; use a batch of at least 2 samples, or call model.eval() "
                f"to normalize with the running statistics"
            )
        keep_stats = not self.training or self.track_running_stats
        return F.batch_norm(
            input,
            self.running_mean if keep_stats else None,
            self.running_var if keep_stats else None,
            self.weight, self.bias, use_batch_stats, factor, self.eps,
        )

    def extra_repr(self) -> str:
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, affine={self.affine}, "
                f"bias={self.bias is not None}, track_running_stats={self.track_running_stats}")


class BatchNorm1d(_BatchNorm):
    """Normalize each feature over the batch (and length) of ``(N, C)`` or ``(N, C, L)``.

    Training uses the batch statistics and updates ``running_mean`` / ``running_var``
    (``running = (1 - momentum) * running + momentum * batch``, unbiased batch
    variance; ``momentum=None``: cumulative average); evaluation uses the running ones.
    """

    _ndims, _expect = (2, 3), "2D or 3D"


class BatchNorm2d(_BatchNorm):
    """Normalize each channel of ``(N, C, H, W)`` over batch and space; see :class:`BatchNorm1d`."""

    _ndims, _expect = (4,), "4D"


class BatchNorm3d(_BatchNorm):
    """Normalize each channel of ``(N, C, D, H, W)``; see :class:`BatchNorm1d`."""

    _ndims, _expect = (5,), "5D"


def _normalized_shape(layer: str, shape) -> tuple:
    dims = (shape,) if isinstance(shape, numbers.Integral) else shape
    try:
        dims = tuple(dims)
    except TypeError:
        raise ArgumentTypeError(f"{layer}: normalized_shape must be an int or a tuple of ints, "
                                f"got {shape!r} ({type(shape).__name__})") from None
    for i, d in enumerate(dims):
        check_sizes(layer, **{f"normalized_shape[{i}]": d})
    return tuple(int(d) for d in dims)


def _check_trailing(label: str, input, normalized_shape: tuple) -> None:
    shape = getattr(input, "shape", None)
    if shape is None:
        raise ArgumentTypeError(f"{label} expected a Tensor input, got {type(input).__name__}")
    k = len(normalized_shape)
    if tuple(shape[len(shape) - k:]) != normalized_shape or len(shape) < k:
        want = ", ".join(str(s) for s in normalized_shape)
        raise ShapeError(f"{label} expected input (..., {want}), got {fmt_shape(shape)}")


class LayerNorm(Module):
    """Normalize over the last ``len(normalized_shape)`` dims of each sample, then scale and shift.

    Args:
        normalized_shape: the trailing shape to normalize over (an int for the last dim).
        eps: added to the variance.
        elementwise_affine: learn ``weight`` (ones) and ``bias`` (zeros) of that shape.
        bias: learn the bias (when ``elementwise_affine``).
    """

    def __init__(self, normalized_shape, eps: float = 1e-5, elementwise_affine: bool = True, bias: bool = True,
                 device=None, dtype=None):
        super().__init__()
        self.normalized_shape = _normalized_shape("LayerNorm", normalized_shape)
        self.eps = eps
        self.elementwise_affine = elementwise_affine
        _make_affine(self, self.normalized_shape, elementwise_affine, bias, dtype)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        _reset_affine(self)

    def forward(self, input):
        shape = getattr(input, "shape", None)
        k = len(self.normalized_shape)
        if shape is None or tuple(shape[len(shape) - k:]) != self.normalized_shape or len(shape) < k:
            _check_trailing(f"LayerNorm({self.normalized_shape})", input, self.normalized_shape)
        params = self._parameters
        return F.layer_norm(input, self.normalized_shape, params["weight"], params["bias"], self.eps)

    def extra_repr(self) -> str:
        return (f"{self.normalized_shape}, eps={self.eps}, elementwise_affine={self.elementwise_affine}, "
                f"bias={self.bias is not None}")


class GroupNorm(Module):
    """Split the channels of ``(N, C, *)`` into ``num_groups`` groups and normalize each group per sample.

    ``weight`` (ones) and ``bias`` (zeros) are per channel, learned when ``affine``.
    """

    def __init__(self, num_groups: int, num_channels: int, eps: float = 1e-5, affine: bool = True,
                 device=None, dtype=None, *, bias: bool = True):
        super().__init__()
        check_sizes("GroupNorm", 1, num_groups=num_groups)
        check_sizes("GroupNorm", num_channels=num_channels)
        if num_channels % num_groups != 0:
            raise InvalidArgument(f"GroupNorm: num_channels ({num_channels}) must be divisible by num_groups ({num_groups})")
        self.num_groups, self.num_channels, self.eps, self.affine = num_groups, num_channels, eps, affine
        _make_affine(self, (num_channels,), affine, bias, dtype)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        _reset_affine(self)

    def forward(self, input):
        shape = getattr(input, "shape", None)
        if shape is None or len(shape) < 2 or shape[1] != self.num_channels:
            got = fmt_shape(shape) if shape is not None else type(input).__name__
            raise ShapeError(
                f"GroupNorm({self.num_groups}, {self.num_channels}) expected input (N, {self.num_channels}, *), got {got}"
            )
        return F.group_norm(input, self.num_groups, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return f"{self.num_groups}, {self.num_channels}, eps={self.eps}, affine={self.affine}, bias={self.bias is not None}"


class RMSNorm(Module):
    """``x / sqrt(mean(x^2 over normalized_shape) + eps) * weight``.

    ``eps=None`` uses the machine epsilon of the input's dtype, as PyTorch does.
    """

    def __init__(self, normalized_shape, eps: float | None = None, elementwise_affine: bool = True,
                 device=None, dtype=None):
        super().__init__()
        self.normalized_shape = _normalized_shape("RMSNorm", normalized_shape)
        self.eps = eps
        self.elementwise_affine = elementwise_affine
        if elementwise_affine:
            self.weight = _empty(self.normalized_shape, dtype)
        else:
            self.register_parameter("weight", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        if self.elementwise_affine:
            init.ones_(self.weight)

    def forward(self, input):
        _check_trailing(f"RMSNorm({self.normalized_shape})", input, self.normalized_shape)
        eps = self.eps if self.eps is not None else float(numpy.finfo(input.dtype).eps)
        dims = tuple(range(-len(self.normalized_shape), 0))
        out = input * ((input * input).mean(dims, keepdim=True) + eps).rsqrt()
        return out if self.weight is None else out * self.weight

    def extra_repr(self) -> str:
        return f"{self.normalized_shape}, eps={self.eps}, elementwise_affine={self.elementwise_affine}"
