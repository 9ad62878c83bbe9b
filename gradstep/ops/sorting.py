"""Sorting and order statistics: sort, argsort, msort, topk, kthvalue, median, unique.

The indices are computed first (a stable NumPy sort, NaN ordered as the
largest value like PyTorch); the values are then a gather along ``dim``
(:class:`TakeAlong`), whose gradient scatters back to the picked positions.
"""
from __future__ import annotations

import collections

from ..autograd.function import Function
from ..autograd.tensor import Tensor, _as_tensor
from ..backend import xp
from ..errors import DTypeError, ShapeError, fmt_shape
from ._helpers import normalize_dim
from ._registry import public

# What the functions return, like torch.return_types.sort / .topk / ...
sort_result = collections.namedtuple("sort", ["values", "indices"])
topk_result = collections.namedtuple("topk", ["values", "indices"])
kthvalue_result = collections.namedtuple("kthvalue", ["values", "indices"])
median_result = collections.namedtuple("median", ["values", "indices"])


class TakeAlong(Function):
    """``take_along_axis(a, indices, axis)`` for indices that are distinct along ``axis``.

    Backward writes the gradient into the picked positions (no accumulation
    is needed because no position is picked twice).
    """

    saves_inputs = False

    def forward(self, a, indices, axis):
        self.shape, self.indices, self.axis = a.shape, indices, axis
        return xp.take_along_axis(a, indices, axis)

    def backward(self, g):
        grad = xp.zeros(self.shape, dtype=g.dtype)
        xp.put_along_axis(grad, self.indices, g, self.axis)
        return grad


def _argsort(a, axis, descending):
    """Stable argsort along ``axis``; NaN counts as the largest value (first when descending)."""
    if not descending:
        return xp.argsort(a, axis=axis, kind="stable")
    # Sort the reversed array ascending, then reverse the order: equal values keep
    # their original order (stable) and NaN, last ascending, comes first.
    n = a.shape[axis]
    rev = xp.flip(a, axis)
    idx = xp.flip(xp.argsort(rev, axis=axis, kind="stable"), axis)
    return (n - 1) - idx


def _values(t, idx, axis):
    return TakeAlong.apply(t, indices=idx, axis=axis)


def _prepare(op, input, dim):
    t = _as_tensor(input)
    if t._data.dtype.kind == "c":
        raise DTypeError(f"{op}: complex tensors can't be ordered, got dtype {t.dtype}")
    return t, normalize_dim(dim, t.ndim, op)


@public
def sort(input, dim: int = -1, descending: bool = False, stable: bool = False):
    """Sort along ``dim``: a named tuple ``(values, indices)``.

    The sort is always stable (``stable`` is accepted for PyTorch's signature);
    NaN sorts as the largest value. The gradient of ``values`` flows back to
    the elements it came from.
    """
    t, ax = _prepare("sort", input, dim)
    if t.ndim == 0:
        return sort_result(_values(t.reshape(1), xp.zeros(1, xp.int64), 0).reshape(()), Tensor._wrap(xp.zeros((), xp.int64)))
    idx = _argsort(t._data, ax, descending)
    return sort_result(_values(t, idx, ax), Tensor._wrap(idx))


@public
def argsort(input, dim: int = -1, descending: bool = False, stable: bool = False):
    """Indices that sort ``input`` along ``dim`` (int64, not differentiable)."""
    t, ax = _prepare("argsort", input, dim)
    if t.ndim == 0:
        return Tensor._wrap(xp.zeros((), xp.int64))
    return Tensor._wrap(_argsort(t._data, ax, descending))


@public
def msort(input):
    """``sort(input, dim=0).values``."""
    return sort(input, 0).values


def _check_k(op, k, size, ax, t, low):
    if isinstance(k, Tensor):
        k = int(k)
    if not isinstance(k, int) or isinstance(k, bool):
        raise DTypeError(f"{op}: k must be an int, got {type(k).__name__}")
    if not low <= k <= size:
        raise ShapeError(
            f"{op}: k={k} is out of range for dimension {ax} of size {size} (input shape {fmt_shape(t.shape)}); "
            f"expected {low} <= k <= {size}"
        )
    return k


@public
def topk(input, k: int, dim: int = -1, largest: bool = True, sorted: bool = True):
    """The ``k`` largest (or smallest) elements along ``dim``: a named tuple ``(values, indices)``.

    Results always come sorted (``sorted=False`` allows any order in PyTorch).
    """
    t, ax = _prepare("topk", input, dim)
    size = t.shape[ax] if t.ndim else 1
    k = _check_k("topk", k, size, ax, t, 0)
    if t.ndim == 0:
        return topk_result(*sort(t)) if k else topk_result(t.reshape(1)[:0].reshape(0), Tensor._wrap(xp.zeros(0, xp.int64)))
    a = t._data
    if 0 < k < size // 8 and not xp.isnan(a).any():
        # Partition first: only the k candidates are sorted (O(n + k log k) per row).
        if largest:
            cand = xp.take(xp.argpartition(a, size - k, axis=ax), xp.arange(size - k, size), axis=ax)
        else:
            cand = xp.take(xp.argpartition(a, k - 1, axis=ax), xp.arange(k), axis=ax)
        order = _argsort(xp.take_along_axis(a, cand, ax), ax, largest)
        idx = xp.take_along_axis(cand, order, ax)
    else:
        idx = xp.take(_argsort(a, ax, largest), xp.arange(k), axis=ax)
    return topk_result(_values(t, idx, ax), Tensor._wrap(idx.astype(xp.int64, copy=False)))


def _pick(result, t, ax, idx, keepdim):
    """Values at ``idx`` (one index per row, keepdim form) and the indices, squeezed unless keepdim."""
    values = _values(t, idx, ax)
    if not keepdim:
        values, idx = values.squeeze(ax), idx.squeeze(ax)
    return result(values, Tensor._wrap(idx.astype(xp.int64, copy=False)))


@public
def kthvalue(input, k: int, dim: int = -1, keepdim: bool = False):
    """The ``k``-th smallest element (1-based) along ``dim``: a named tuple ``(values, indices)``."""
    t, ax = _prepare("kthvalue", input, dim)
    if t.ndim == 0:
        _check_k("kthvalue", k, 1, 0, t, 1)
        return kthvalue_result(t.clone(), Tensor._wrap(xp.zeros((), xp.int64)))
    k = _check_k("kthvalue", k, t.shape[ax], ax, t, 1)
    order = _argsort(t._data, ax, False)
    idx = xp.take(order, [k - 1], axis=ax)
    return _pick(kthvalue_result, t, ax, idx, keepdim)


@public
def median(input, dim=None, keepdim: bool = False):
    """The median (the lower one of the two middle values for an even count), NaN if there is any.

    Without ``dim``: a 0-d tensor over all elements. With ``dim``: a named
    tuple ``(values, indices)``. The gradient goes to the chosen element.
    """
    t = _as_tensor(input)
    if dim is None:
        if t._data.size == 0:
            raise ShapeError(f"median: can't take the median of a tensor with no elements (shape {fmt_shape(t.shape)})")
        return median(t.reshape(-1), 0).values
    t, ax = _prepare("median", t, dim)
    if t.ndim == 0:
        return median_result(t.clone(), Tensor._wrap(xp.zeros((), xp.int64)))
    n = t.shape[ax]
    if n == 0:
        raise ShapeError(f"median: can't reduce dimension {ax} of size 0 (input shape {fmt_shape(t.shape)})")
    a = t._data
    idx = xp.take(_argsort(a, ax, False), [(n - 1) // 2], axis=ax)
    if a.dtype.kind == "f":
        nan = xp.isnan(a)
        has_nan = nan.any(axis=ax, keepdims=True)
        if has_nan.any():  # like PyTorch: the result is NaN, at the first NaN's index
            idx = xp.where(has_nan, nan.argmax(axis=ax, keepdims=True), idx)
    return _pick(median_result, t, ax, idx, keepdim)


@public
def unique(input, sorted: bool = True, return_inverse: bool = False, return_counts: bool = False, dim=None):
    """The distinct values (sorted), optionally with the inverse indices and counts. Not differentiable.

    With ``dim``, the distinct slices along that dimension.
    """
    t = _as_tensor(input)
    a = t._data
    axis = None if dim is None else normalize_dim(dim, t.ndim, "unique")
    if axis is not None and t.ndim == 0:
        axis = None
    out = xp.unique(a, return_inverse=return_inverse, return_counts=return_counts, axis=axis, equal_nan=False)
    if not (return_inverse or return_counts):
        return Tensor._wrap(out)
    values, *rest = out
    result = [Tensor._wrap(values)]
    if return_inverse:
        inv = rest.pop(0)
        result.append(Tensor._wrap(inv.reshape(a.shape if axis is None else -1).astype(xp.int64, copy=False)))
    if return_counts:
        result.append(Tensor._wrap(rest.pop(0).astype(xp.int64, copy=False)))
    return tuple(result)
