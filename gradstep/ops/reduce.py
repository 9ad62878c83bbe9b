"""Reductions: sum, mean, ... over one or more dims (``dim=``/``axis=``, ``keepdim=``)."""
from __future__ import annotations

from ..autograd.function import Function
from ..autograd.tensor import _as_tensor
from ..backend import xp
from ._helpers import normalize_dim
from ._registry import public


def _dims(dim, ndim, op):
    """``dim`` argument -> tuple of non-negative axes (None: all)."""
    if dim is None:
        return tuple(range(ndim))
    if isinstance(dim, (tuple, list)):
        return tuple(sorted({normalize_dim(d, ndim, op) for d in dim}))
    return (normalize_dim(dim, ndim, op),)


def _expand_back(g, shape, axes, keepdim):
    """Reinsert the reduced axes into ``g`` (when keepdim was False) so it broadcasts to ``shape``."""
    if not keepdim and axes:
        g = xp.expand_dims(g, axes)
    return g


class Sum(Function):
    saves_inputs = False

    def forward(self, a, axes, keepdim):
        self.shape, self.axes, self.keepdim = a.shape, axes, keepdim
        return a.sum(axis=axes, keepdims=keepdim)

    def backward(self, g):
        g = _expand_back(g, self.shape, self.axes, self.keepdim)
        return xp.broadcast_to(g, self.shape)


class Mean(Function):
    saves_inputs = False

    def forward(self, a, axes, keepdim):
        self.shape, self.axes, self.keepdim = a.shape, axes, keepdim
        self.count = 1
        for ax in axes:
            self.count *= a.shape[ax]
        with xp.errstate(invalid="ignore", divide="ignore"):
            return a.mean(axis=axes, keepdims=keepdim)

    def backward(self, g):
        g = _expand_back(g, self.shape, self.axes, self.keepdim)
        return xp.broadcast_to(g / g.dtype.type(max(self.count, 1)), self.shape)


def _dim_arg(dim, axis):
    return axis if dim is None else dim


@public
def sum(input, dim=None, keepdim: bool = False, *, dtype=None, axis=None):
    """Sum over ``dim`` (an int, a tuple, or None for all). Bools and ints sum to int64."""
    t = _as_tensor(input)
    if dtype is not None:
        t = t.to(dtype)
    elif t.dtype.kind in "biu":
        t = t.to(xp.int64)
    axes = _dims(_dim_arg(dim, axis), t.ndim, "sum")
    return Sum.apply(t, axes=axes, keepdim=keepdim)


@public
def mean(input, dim=None, keepdim: bool = False, *, dtype=None, axis=None):
    """Mean over ``dim``; needs a floating tensor, as in PyTorch."""
    t = _as_tensor(input)
    if dtype is not None:
        t = t.to(dtype)
    if t.dtype.kind not in "fc":
        from ._helpers import DTypeError

        raise DTypeError(f"mean: expected a floating point tensor, got dtype {t.dtype}; call .float() first or pass dtype=")
    axes = _dims(_dim_arg(dim, axis), t.ndim, "mean")
    return Mean.apply(t, axes=axes, keepdim=keepdim)
