"""Selecting and updating elements by mask or index: masked_select, index_add, index_fill (+ in-place forms)."""
from __future__ import annotations

from ..autograd.function import Function
from ..autograd.tensor import Tensor, _as_tensor
from ..backend import xp
from ..errors import DTypeError, IndexOutOfRange, ShapeError, fmt_shape
from ._helpers import check_broadcast, normalize_dim
from ._registry import public


class MaskedSelect(Function):
    saves_inputs = False

    def forward(self, a, mask):
        shape = xp.broadcast_shapes(a.shape, mask.shape)
        self.shape, self.mask = shape, xp.broadcast_to(mask, shape)
        return xp.broadcast_to(a, shape)[self.mask]

    def backward(self, g):
        grad = xp.zeros(self.shape, dtype=g.dtype)
        grad[self.mask] = g
        return grad, None


@public
def masked_select(input, mask):
    """A 1-D tensor of the elements of ``input`` where the bool ``mask`` is True (both broadcast)."""
    t, m = _as_tensor(input), _as_tensor(mask)
    if m._data.dtype != xp.bool_:
        raise DTypeError(f"masked_select: mask must be a bool tensor, got dtype {m.dtype}; use mask.bool()")
    check_broadcast("masked_select", t.shape, m.shape)
    return MaskedSelect.apply(t, m)


def _index_along(op, t, dim, index):
    d = normalize_dim(dim, t.ndim, op)
    idx = _as_tensor(index)._data
    if idx.dtype.kind not in "iu" or idx.ndim > 1:
        raise DTypeError(f"{op}: index must be a 0-d or 1-D int tensor, got shape {fmt_shape(idx.shape)} and dtype {idx.dtype}")
    idx = idx.reshape(-1).astype(xp.int64, copy=False)
    size = t.shape[d] if t.ndim else 1
    if idx.size and (idx.min() < -size or idx.max() >= size):
        raise IndexOutOfRange(f"{op}: index out of range for dimension {d} of size {size} (got values {idx.min()}..{idx.max()})")
    return d, idx % max(size, 1)


@public
def index_add(input, dim: int, index, source, *, alpha=1):
    """A copy of ``input`` with ``alpha * source[i]`` added to slice ``index[i]`` along ``dim`` (repeats accumulate)."""
    from .indexing import scatter_add

    t = _as_tensor(input)
    src = _as_tensor(source, t.dtype)
    d, idx = _index_along("index_add", t, dim, index)
    want = t.shape[:d] + (idx.size,) + t.shape[d + 1:] if t.ndim else ()
    if tuple(src.shape) != tuple(want) and not (t.ndim == 0 and src._data.size == 1):
        raise ShapeError(
            f"index_add: source must have shape {fmt_shape(want)} (input {fmt_shape(t.shape)} with dimension {d} "
            f"replaced by len(index)={idx.size}), got {fmt_shape(src.shape)}"
        )
    if t.ndim == 0:
        return t + src.reshape(()) * alpha
    if alpha != 1:
        src = src * alpha
    shape = [1] * t.ndim
    shape[d] = idx.size
    full = Tensor._wrap(xp.broadcast_to(idx.reshape(shape), src.shape))
    return scatter_add(t, d, full, src)


@public
def index_fill(input, dim: int, index, value):
    """A copy of ``input`` with the slices ``index`` along ``dim`` set to ``value`` (a number or 0-d tensor)."""
    from .indexing import masked_fill

    t = _as_tensor(input)
    d, idx = _index_along("index_fill", t, dim, index)
    if t.ndim == 0:
        mask = xp.asarray(idx.size > 0)
    else:
        shape = [1] * t.ndim
        shape[d] = t.shape[d]
        mask = xp.zeros(shape, dtype=xp.bool_)
        mask.reshape(-1)[idx] = True
    return masked_fill(t, Tensor._wrap(mask), value)


def _index_add_(self, dim, index, source, *, alpha=1):
    return self._inplace(lambda x, s: index_add(x, dim, index, s, alpha=alpha), source)


def _index_fill_(self, dim, index, value):
    if isinstance(value, Tensor):
        return self._inplace(lambda x, v: index_fill(x, dim, index, v), value)
    return self._inplace(lambda x: index_fill(x, dim, index, value))


Tensor.index_add_ = _index_add_
Tensor.index_fill_ = _index_fill_
