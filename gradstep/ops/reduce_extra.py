"""Reductions that skip NaN (nansum, nanmean) and the paired var_mean / std_mean."""
from __future__ import annotations

from ..autograd.function import Function
from ..autograd.tensor import _as_tensor
from ..backend import xp
from ..errors import DTypeError
from ._registry import public
from .reduce import _arr, _dims, _expand_back, mean, std, var


class NanSum(Function):
    """Sum (or mean, ``average``) of the non-NaN elements; NaN elements get a zero gradient."""

    saves_inputs = False

    def forward(self, a, axes, keepdim, average):
        self.shape, self.axes, self.keepdim = a.shape, axes, keepdim
        self.keep = ~xp.isnan(a)
        total = xp.where(self.keep, a, 0).sum(axis=axes, keepdims=keepdim, dtype=a.dtype)
        if not average:
            self.count = None
            return _arr(total)
        self.count = self.keep.sum(axis=axes, keepdims=True).astype(a.dtype)
        count = self.count if keepdim else self.count.reshape(total.shape)
        return _arr(total / count)  # all-NaN slices give NaN (0/0), as in PyTorch

    def backward(self, g):
        g = _expand_back(g, self.shape, self.axes, self.keepdim)
        if self.count is not None:
            g = g / self.count
        return xp.where(self.keep, g, 0).astype(g.dtype, copy=False)


@public
def nansum(input, dim=None, keepdim: bool = False, *, dtype=None):
    """Sum over ``dim`` treating NaN as zero. Bools and ints sum to int64."""
    t = _as_tensor(input)
    if dtype is not None:
        t = t.to(dtype)
    if t._data.dtype.kind != "f":
        from .reduce import sum as _sum

        return _sum(t, dim, keepdim)
    return NanSum.apply(t, axes=_dims(dim, t.ndim, "nansum"), keepdim=keepdim, average=False)


@public
def nanmean(input, dim=None, keepdim: bool = False, *, dtype=None):
    """Mean of the non-NaN elements over ``dim`` (NaN where a slice has none)."""
    t = _as_tensor(input)
    if dtype is not None:
        t = t.to(dtype)
    if t._data.dtype.kind != "f":
        raise DTypeError(f"nanmean: expected a floating point tensor, got dtype {t.dtype}; call .float() first")
    return NanSum.apply(t, axes=_dims(dim, t.ndim, "nanmean"), keepdim=keepdim, average=True)


@public
def var_mean(input, dim=None, unbiased=None, keepdim: bool = False, *, correction=None):
    """``(var(input, dim), mean(input, dim))`` with the arguments of :func:`var`."""
    return (var(input, dim, unbiased, keepdim, correction=correction),
            mean(input, dim, keepdim))


@public
def std_mean(input, dim=None, unbiased=None, keepdim: bool = False, *, correction=None):
    """``(std(input, dim), mean(input, dim))`` with the arguments of :func:`std`."""
    return (std(input, dim, unbiased, keepdim, correction=correction),
            mean(input, dim, keepdim))
