"""Counting and binning (not differentiable): bincount, histc, searchsorted, bucketize."""
from __future__ import annotations

from ..autograd.tensor import Tensor, _as_tensor
from ..backend import xp
from ..errors import DTypeError, InvalidArgument, ShapeError, fmt_shape
from ._registry import public


@public
def bincount(input, weights=None, minlength: int = 0):
    """How often each value ``0..max(input)`` occurs in the 1-D non-negative int ``input`` (or the
    sum of its ``weights``). At least ``minlength`` bins."""
    t = _as_tensor(input)
    a = t._data
    if t.ndim != 1 or a.dtype.kind not in "iub":
        raise DTypeError(f"bincount: expected a 1-D int tensor, got shape {fmt_shape(t.shape)} and dtype {t.dtype}")
    if a.size and a.min() < 0:
        raise InvalidArgument(f"bincount: input must be non-negative, got a minimum of {a.min()}")
    if weights is None:
        return Tensor._wrap(xp.bincount(a, minlength=minlength).astype(xp.int64, copy=False))
    w = _as_tensor(weights)._data
    if w.shape != a.shape:
        raise ShapeError(f"bincount: weights must have the input's shape {fmt_shape(a.shape)}, got {fmt_shape(w.shape)}")
    # PyTorch keeps float32/float64 weights' dtype and counts other weights in float64
    dtype = w.dtype if w.dtype in (xp.float32, xp.float64) else xp.float64
    return Tensor._wrap(xp.bincount(a, weights=w, minlength=minlength).astype(dtype, copy=False))


@public
def histc(input, bins: int = 100, min=0, max=0):
    """A histogram of ``bins`` equal-width bins over ``[min, max]`` (the data's range if both are 0).

    Values outside the range are ignored; the last bin includes ``max``.
    """
    t = _as_tensor(input)
    a = t._data
    if a.dtype.kind != "f":
        raise DTypeError(f"histc: expected a floating point tensor, got dtype {t.dtype}")
    if not isinstance(bins, int) or bins <= 0:
        raise InvalidArgument(f"histc: bins must be a positive int, got {bins!r}")
    lo, hi = float(min), float(max)
    if lo == hi and a.size:
        lo, hi = float(a.min()), float(a.max())
    if lo == hi:
        lo, hi = lo - 1, hi + 1
    if lo > hi:
        raise InvalidArgument(f"histc: max must be larger than min, got min={min}, max={max}")
    counts, _ = xp.histogram(a[xp.isfinite(a)], bins=bins, range=(lo, hi))
    return Tensor._wrap(counts.astype(a.dtype))


@public(method=False)
def searchsorted(sorted_sequence, input, *, out_int32: bool = False, right: bool = False, side=None, sorter=None):
    """Indices where the values ``input`` would be inserted into ``sorted_sequence`` (along its last dim)
    to keep it sorted: the first such index, or the last with ``right=True`` / ``side='right'``.

    Shape:
        sorted_sequence (M,) with any ``input``; or (*, M) with ``input`` (*, N) (same leading dims).
    """
    seq = _as_tensor(sorted_sequence)._data
    scalar = not isinstance(input, Tensor) and not isinstance(input, (list, tuple, xp.ndarray))
    values = _as_tensor(input)._data
    if side is not None:
        if side not in ("left", "right"):
            raise InvalidArgument(f"searchsorted: side must be 'left' or 'right', got {side!r}")
        if right and side == "left":
            raise InvalidArgument("searchsorted: side='left' contradicts right=True")
        right = side == "right"
    how = "right" if right else "left"
    srt = None if sorter is None else _as_tensor(sorter)._data
    if seq.ndim == 0:
        raise ShapeError("searchsorted: sorted_sequence must have at least one dimension, got a 0-d tensor")
    if seq.ndim == 1:
        out = xp.searchsorted(seq, values, side=how, sorter=srt)
    else:
        if values.ndim != seq.ndim or values.shape[:-1] != seq.shape[:-1]:
            raise ShapeError(
                f"searchsorted: sorted_sequence of shape {fmt_shape(seq.shape)} needs input with the same leading "
                f"dims (*, N), got {fmt_shape(values.shape)}"
            )
        rows_s, rows_v = seq.reshape(-1, seq.shape[-1]), values.reshape(-1, values.shape[-1])
        rows_o = None if srt is None else srt.reshape(-1, srt.shape[-1])
        out = xp.empty(rows_v.shape, xp.int64)
        for i in range(rows_s.shape[0]):
            out[i] = xp.searchsorted(rows_s[i], rows_v[i], side=how, sorter=None if rows_o is None else rows_o[i])
        out = out.reshape(values.shape)
    out = xp.asarray(out).astype(xp.int32 if out_int32 else xp.int64, copy=False)
    return Tensor._wrap(out.reshape(()) if scalar else out)


@public
def bucketize(input, boundaries, *, out_int32: bool = False, right: bool = False):
    """The bucket of each value given sorted 1-D ``boundaries``: ``searchsorted(boundaries, input, right=right)``."""
    b = _as_tensor(boundaries)
    if b.ndim != 1:
        raise ShapeError(f"bucketize: boundaries must be 1-D, got shape {fmt_shape(b.shape)}")
    return searchsorted(b, input, out_int32=out_int32, right=right)
