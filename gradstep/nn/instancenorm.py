"""Instance normalization layers: ``InstanceNorm1d``, ``InstanceNorm2d``, ``InstanceNorm3d``.

Each channel of each sample is normalized over its own spatial dims (style
transfer, GANs). As PyTorch's, they default to no affine parameters and no
running statistics; with ``track_running_stats=True`` training updates
``running_mean`` / ``running_var`` (towards the batch average of the per-sample
statistics) and evaluation normalizes with them. ``num_batches_tracked`` is
kept in the state dict but, as in PyTorch, not counted up, and
``momentum=None`` leaves the running statistics as they are.
"""
from __future__ import annotations

import math
import warnings

from ..errors import ArgumentTypeError, ShapeError, fmt_shape
from ..ops.layers_extra import _instance_norm
from ._checks import check_sizes
from .module import Module
from .normalization import _make_affine, _register_running_stats, _reset_affine

__all__ = ["InstanceNorm1d", "InstanceNorm2d", "InstanceNorm3d"]


class _InstanceNorm(Module):
    _no_batch_dim: int  # dims of an unbatched input (C, *spatial)

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float | None = 0.1, affine: bool = False,
                 track_running_stats: bool = False, device=None, dtype=None, *, bias: bool = True) -> None:
        super().__init__()
        check_sizes(type(self).__name__, num_features=num_features)
        self.num_features, self.eps, self.momentum = num_features, eps, momentum
        self.affine, self.track_running_stats = affine, track_running_stats
        _make_affine(self, (num_features,), affine, bias, dtype)
        _register_running_stats(self, num_features, track_running_stats, dtype)
        self.reset_parameters()

    def reset_running_stats(self) -> None:
        if self.track_running_stats:
            for buf, value in ((self.running_mean, 0), (self.running_var, 1), (self.num_batches_tracked, 0)):
                buf._data[...] = value
                buf._version[0] += 1

    def reset_parameters(self) -> None:
        self.reset_running_stats()
        _reset_affine(self)

    def forward(self, input):
        label = f"{self._get_name()}({self.num_features})"
        shape = getattr(input, "shape", None)
        if shape is None:
            raise ArgumentTypeError(f"{label} expected a Tensor input, got {type(input).__name__}")
        d = self._no_batch_dim
        if len(shape) not in (d, d + 1):
            raise ShapeError(f"{label} expected {d}D or {d + 1}D input (got {len(shape)}D input of shape "
                             f"{fmt_shape(shape)})")
        feature_dim = len(shape) - d
        if shape[feature_dim] != self.num_features:
            if self.affine:
                raise ShapeError(f"{label} expected input's size at dim={feature_dim} to match num_features "
                                 f"({self.num_features}), but got: {shape[feature_dim]} (input of shape "
                                 f"{fmt_shape(shape)})")
            warnings.warn(f"input's size at dim={feature_dim} does not match num_features. You can silence this "
                          f"warning by not passing in num_features, which is not used because affine=False",
                          stacklevel=2)
        use_input_stats = self.training or not self.track_running_stats
        if use_input_stats and math.prod(shape[feature_dim + 1:]) == 1:
            raise ShapeError(f"{label}: expected more than 1 spatial element when training, got input of shape "
                             f"{fmt_shape(shape)}")
        x = input.unsqueeze(0) if len(shape) == d else input
        out = _instance_norm(x, self.running_mean, self.running_var, self.weight, self.bias, use_input_stats,
                             0.0 if self.momentum is None else self.momentum, self.eps, op=label)
        return out.squeeze(0) if len(shape) == d else out

    def extra_repr(self) -> str:
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, affine={self.affine}, "
                f"bias={self.bias is not None}, track_running_stats={self.track_running_stats}")


class InstanceNorm1d(_InstanceNorm):
    """Normalize each channel of ``(N, C, L)`` (or unbatched ``(C, L)``) per sample over ``L``."""

    _no_batch_dim = 2


class InstanceNorm2d(_InstanceNorm):
    """Normalize each channel of ``(N, C, H, W)`` (or unbatched ``(C, H, W)``) per sample over ``H, W``."""

    _no_batch_dim = 3


class InstanceNorm3d(_InstanceNorm):
    """Normalize each channel of ``(N, C, D, H, W)`` (or unbatched ``(C, D, H, W)``) per sample over ``D, H, W``."""

    _no_batch_dim = 4
