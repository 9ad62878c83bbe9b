"""Standardize: the input scaling a model learned its weights with, stored inside the model."""
from __future__ import annotations

import numpy

from .. import nn
from ..autograd.tensor import Tensor
from ..errors import InvalidArgument

__all__ = ["Standardize"]


class Standardize(nn.Module):
    """``(x - mean) / std`` with fixed ``mean`` and ``std`` buffers (saved in the state_dict).

    Keeping the statistics in the model means a checkpoint carries them:
    predictions on raw inputs need no separate preprocessing step.

    Args:
        shape: the buffers' shape, broadcast against one sample: ``(features,)``
            for vectors, ``(channels, 1, 1)`` for images (per-channel statistics).

    Call :meth:`fit` with training inputs to set the statistics; until then it is the identity.
    """

    def __init__(self, shape):
        super().__init__()
        shape = tuple(int(s) for s in shape)
        self.register_buffer("mean", Tensor._wrap(numpy.zeros(shape, dtype=numpy.float32)))
        self.register_buffer("std", Tensor._wrap(numpy.ones(shape, dtype=numpy.float32)))

    def fit(self, x) -> "Standardize":
        """Set mean and std from a batch of samples ``x`` (N, *sample shape); constant features get std 1."""
        data = numpy.asarray(getattr(x, "_data", x), dtype=numpy.float64)
        shape = self.mean.shape
        if data.ndim != len(shape) + 1:
            raise InvalidArgument(f"Standardize.fit: expected samples of {len(shape)} dims with a batch dimension "
                                  f"in front, got shape {data.shape}")
        axes = (0,) + tuple(i + 1 for i, s in enumerate(shape) if s == 1)
        mean = data.mean(axis=axes, keepdims=True)[0]
        std = data.std(axis=axes, keepdims=True)[0]
        std[std < 1e-3] = 1.0  # a constant feature carries no information; don't blow it up
        self.mean._data[...] = mean.astype(numpy.float32)
        self.std._data[...] = std.astype(numpy.float32)
        return self

    def forward(self, x):
        return (x - self.mean) / self.std

    def extra_repr(self) -> str:
        return f"shape={tuple(self.mean.shape)}"
