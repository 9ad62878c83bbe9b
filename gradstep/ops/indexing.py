"""Indexing: ``x[index]``, ``x[index] = value``, gather/scatter, index_select, masked_fill, tril/triu.

An index is applied in two stages, as PyTorch does: first its basic part
(ints, slices, None, ...), which gives a view, then its advanced part (integer
and bool arrays) on that view. Ints are therefore never "advanced" indices:
for ``x`` of shape (2, 3, 4), ``x[0, :, [0, 1]]`` has shape (3, 2) as in
PyTorch (NumPy would give (2, 3)).

Gradients of gathers are scatter-adds (``xp.add.at``), so repeated indices
accumulate; they run on flat indices into a contiguous buffer, NumPy's fast
path, whenever the index allows it.
"""
from __future__ import annotations

import numbers

import numpy

from ..autograd.engine import SliceGrad
from ..autograd.function import Function
from ..autograd.grad_mode import is_grad_enabled
from ..autograd.tensor import Tensor, _as_tensor
from ..backend import xp
from ._helpers import DTypeError, ShapeError, fmt_shape, normalize_dim
from ._registry import public
from ..errors import ArgumentTypeError, IndexOutOfRange, NotSupported

_FULL = slice(None)


# ------------------------------------------------------------ index parsing
def _index_item(item):
    """One entry of an index -> an int, or an int64/bool array (advanced)."""
    if isinstance(item, bool) or isinstance(item, numpy.bool_):
        return xp.asarray(bool(item))
    if isinstance(item, numbers.Integral):
        return int(item)
    from_tensor = isinstance(item, Tensor)
    if from_tensor:
        arr = item._data
    elif isinstance(item, xp.ndarray):
        arr = item
    elif isinstance(item, (list, tuple)):
        try:
            arr = xp.asarray([x._data if isinstance(x, Tensor) else x for x in item])
        except (ValueError, TypeError):
            raise IndexOutOfRange(f"index: can't use the sequence {item!r} as an index (expected ints or bools)") from None
        if arr.size == 0:
            arr = arr.astype(xp.int64)
    else:
        what = f"a float ({item!r})" if isinstance(item, float) else f"an object of type {type(item).__name__}"
        raise DTypeError(
            f"index: got {what}; valid indices are ints, slices, None, ..., and integer or bool tensors"
        )
    kind = arr.dtype.kind
    if kind == "b" or arr.dtype == xp.uint8:  # PyTorch still reads uint8 indices as masks
        return arr.astype(bool, copy=False)
    if kind in "iu":
        return int(arr) if arr.ndim == 0 else arr
    raise DTypeError(f"index: tensors used as indices must be integer (int64) or bool, got dtype {arr.dtype}")


def _parse_index(index, shape):
    """Split ``index`` into a basic part and an advanced part.

    Returns ``(basic, adv, adv_dims)``: ``basic`` a tuple for the view (ending
    in ``...``; None when it would be a no-op and there is an advanced part),
    ``adv`` the tuple applied to that view (None when there are no arrays),
    ``adv_dims`` the input dim of each array in ``adv`` (for error messages).
    """
    if type(index) is not tuple:
        index = (index,)
    items, used, ellipsis = [], 0, False
    for it in index:
        if it is None:
            items.append(it)
        elif type(it) is slice:
            items.append(it)
            used += 1
        elif it is Ellipsis:
            if ellipsis:
                raise IndexOutOfRange("index: an index can only have a single ellipsis ('...')")
            ellipsis = True
            items.append(it)
        else:
            it = _index_item(it)
            items.append(it)
            used += 1 if type(it) is int or it.dtype != bool else it.ndim
    ndim = len(shape)
    if used > ndim:
        raise IndexOutOfRange(f"index: too many indices ({used}) for tensor of dimension {ndim} (shape {fmt_shape(shape)})")

    basic, adv, scalars = [], [], []  # adv, scalars: (axis of the basic view, array, input dim)
    d = v = 0  # next input dim, next axis of the basic view
    trivial = True
    for it in items:
        if it is None:
            basic.append(None)
            v += 1
            trivial = False
        elif type(it) is slice:
            basic.append(it)
            d += 1
            v += 1
            trivial = trivial and it == _FULL
        elif it is Ellipsis:
            n = ndim - used
            basic.extend([_FULL] * n)
            d += n
            v += n
        elif type(it) is int:
            size = shape[d]
            if not -size <= it < size:
                raise IndexOutOfRange(
                    f"index {it} is out of bounds for dimension {d} with size {size} (tensor of shape {fmt_shape(shape)})"
                )
            basic.append(it)
            d += 1
            trivial = False
        elif it.dtype == bool:
            k = it.ndim
            if k == 0:  # a new dim of size 1, indexed by [0] (True) or [] (False): an advanced index
                basic.append(None)
                trivial = False
                scalars.append((v, xp.zeros(int(it), dtype=xp.int64), None))
                v += 1
                continue
            if it.shape != shape[d:d + k]:
                raise IndexOutOfRange(
                    f"index: the shape of the mask {fmt_shape(it.shape)} at index {d} does not match the shape "
                    f"of the indexed tensor {fmt_shape(shape)} at index {d}"
                )
            basic.extend([_FULL] * k)
            adv.append((v, it, d))
            d += k
            v += k
        else:
            basic.append(_FULL)
            adv.append((v, it, d))
            d += 1
            v += 1
    basic.append(Ellipsis)  # keeps a full integer index from returning a NumPy scalar
    if scalars and (adv or len(scalars) > 1 or not scalars[0][1].size):  # a lone True is just None
        adv = sorted(adv + scalars, key=lambda entry: entry[0])
    if not adv:
        return tuple(basic), None, None
    adv_index, p = [], 0
    for pos, arr, _ in adv:
        adv_index.extend([_FULL] * (pos - p))
        adv_index.append(arr)
        p = pos + (arr.ndim if arr.dtype == bool else 1)
    return (None if trivial else tuple(basic)), tuple(adv_index), [entry[2] for entry in adv]


def _raise_index_error(err, shape, adv, adv_dims):
    """Turn NumPy's IndexError about an advanced index into one naming the input's dim."""
    arrays = [a for a in adv if type(a) is not slice]
    for arr, d in zip(arrays, adv_dims):
        if d is None or arr.dtype == bool or not arr.size:
            continue
        size = shape[d]
        bad = arr[(arr >= size) | (arr < -size)]
        if bad.size:
            raise IndexOutOfRange(
                f"index {int(bad.flat[0])} is out of bounds for dimension {d} with size {size} "
                f"(tensor of shape {fmt_shape(shape)})"
            ) from None
    raise IndexOutOfRange(f"index: {err} (tensor of shape {fmt_shape(shape)})") from None


# ------------------------------------------------------------------ getitem
class BasicIndex(Function):
    """``a[index]`` with ints, slices and None only: a view."""

    saves_inputs = False
    is_view = True
    is_slice = True

    def forward(self, a, index):
        self.shape, self.index = a.shape, index
        return a[index]

    def backward(self, grad_output):
        # Zero except at the slice: the engine adds it into the input's gradient in place.
        return SliceGrad(self.shape, self.index, grad_output)


class AdvancedIndex(Function):
    """``a[basic][adv]`` with integer/bool arrays in ``adv``: a copy; backward scatter-adds."""

    saves_inputs = False

    def forward(self, a, basic, adv):
        self.shape, self.basic, self.adv = a.shape, basic, adv
        view = a if basic is None else a[basic]
        self.view_shape = view.shape
        out = view[adv]
        return out if type(out) is xp.ndarray else xp.asarray(out)

    def backward(self, grad_output):
        grad = xp.zeros(self.shape, dtype=grad_output.dtype)
        basic, adv = self.basic, self.adv
        if all(type(a) is slice or a.dtype == bool for a in adv):
            (grad if basic is None else grad[basic])[adv] = grad_output  # masks never select an element twice
        elif basic is None:
            _scatter_add_index(grad, adv, grad_output)
        else:  # accumulate in a contiguous buffer (fast path), then place it: basic indexing never repeats
            part = xp.zeros(self.view_shape, dtype=grad_output.dtype)
            _scatter_add_index(part, adv, grad_output)
            grad[basic] = part
        return grad


def _scatter_add_index(dest, adv, values):
    """``dest[adv] += values`` for a C-contiguous ``dest``, accumulating over repeated indices."""
    if not values.size:
        return
    arrays = [i for i, a in enumerate(adv) if type(a) is not slice]
    j, k = arrays[0], len(arrays)
    if arrays[-1] - j + 1 == k and all(adv[i].dtype != bool for i in arrays):
        # Adjacent integer arrays pick entries along one (merged) dim j: the flat fast path.
        if k == 1:
            index = adv[j]
        else:
            shape = dest.shape
            index = xp.ravel_multi_index(xp.broadcast_arrays(*adv[j:]), shape[j:j + k], mode="wrap")
            dest = dest.reshape(shape[:j] + (-1,) + shape[j + k:])
        _scatter_add_along(dest, j, index, values)
        return
    xp.add.at(dest, adv, values)


def _scatter_add_along(dest, dim, index, values):
    """``dest += values`` placed like ``xp.take(dest, index, axis=dim)`` (dest C-contiguous; repeats accumulate).

    ``xp.add.at`` is several times faster on one flat index than on rows, so
    every element gets its flat position.
    """
    if not values.size:
        return
    shape = dest.shape
    n = shape[dim]
    outer = inner = 1
    for s in shape[:dim]:
        outer *= s
    for s in shape[dim + 1:]:
        inner *= s
    pos = index.reshape(-1)
    if pos.size and pos.min() < 0:
        pos = pos % n
    if inner > 1:
        pos = (pos[:, None] * inner + xp.arange(inner)).reshape(-1)
    if outer > 1:
        pos = (xp.arange(outer)[:, None] * (n * inner) + pos).reshape(-1)
    xp.add.at(dest.reshape(-1), pos, values.reshape(-1))


def _getitem(self, index):
    """``x[index]`` with PyTorch's semantics (also NumPy's negative-step slices)."""
    basic, adv, adv_dims = _parse_index(index, self._data.shape)
    if adv is None:
        return BasicIndex.apply(self, index=basic)
    try:
        return AdvancedIndex.apply(self, basic=basic, adv=adv)
    except IndexError as err:
        _raise_index_error(err, self._data.shape, adv, adv_dims)


Tensor.__getitem__ = _getitem


# ------------------------------------------------------------------ setitem
class IndexPut(Function):
    """Out of place ``a[basic][adv] = v`` (or ``+= v`` with ``accumulate``)."""

    saves_inputs = False

    def forward(self, a, v, basic, adv, accumulate):
        self.basic, self.adv, self.accumulate, self.v_ndim = basic, adv, accumulate, v.ndim
        out = a.copy()
        view = out if basic is None else out[basic]
        if adv is None:
            if accumulate:
                view += v
            else:
                view[...] = v
        elif accumulate:
            xp.add.at(view, adv, v)
        else:
            view[adv] = v
        return out

    def backward(self, grad_output):
        basic, adv = self.basic, self.adv
        grad_a = grad_v = None
        if self.needs_input_grad[0]:
            if self.accumulate:
                grad_a = grad_output
            else:
                grad_a = grad_output.copy()
                view = grad_a if basic is None else grad_a[basic]
                view[... if adv is None else adv] = 0
        if self.needs_input_grad[1]:
            grad_v = grad_output if basic is None else grad_output[basic]
            if adv is not None:
                grad_v = grad_v[adv]
            if grad_v.ndim < self.v_ndim:  # v may carry extra leading size-1 dims
                grad_v = grad_v.reshape((1,) * (self.v_ndim - grad_v.ndim) + grad_v.shape)
        return grad_a, grad_v


def _index_put(x: Tensor, parsed, value: Tensor, accumulate=False) -> Tensor:
    basic, adv, adv_dims = parsed
    if adv is None and basic is not None and all(b == _FULL for b in basic[:-1]):
        basic = None
    try:
        return IndexPut.apply(x, value, basic=basic, adv=adv, accumulate=accumulate)
    except IndexError as err:
        _raise_index_error(err, x._data.shape, adv or (), adv_dims or ())
    except ValueError as err:
        raise ShapeError(
            f"index_put: can't assign a value of shape {fmt_shape(value.shape)} to the indexed part of a tensor "
            f"of shape {fmt_shape(x._data.shape)} ({err})"
        ) from None


def _check_writeable(t: Tensor, op: str) -> None:
    if not t._data.flags.writeable:
        from ..errors import GradError

        raise GradError(
            f"{op}: can't write into this tensor: it is an expanded (broadcast) view whose elements share memory; "
            f"call .clone() (or .contiguous()) first"
        )


def _value_tensor(value, dtype) -> Tensor:
    if isinstance(value, Tensor):
        return value if value._data.dtype == dtype else value.to(dtype)
    return Tensor._wrap(xp.asarray(value).astype(dtype, copy=False))


def _setitem(self, index, value):
    """``x[index] = value`` in place; differentiable w.r.t. ``x`` (written positions get no gradient) and ``value``."""
    _check_writeable(self, "__setitem__")
    parsed = _parse_index(index, self._data.shape)
    value_grad = isinstance(value, Tensor) and value.requires_grad
    if not (is_grad_enabled() and (self.requires_grad or value_grad)):
        basic, adv, adv_dims = parsed
        raw = value._data if isinstance(value, Tensor) else value
        try:
            self._data[basic if basic is not None else ...][... if adv is None else adv] = raw
        except IndexError as err:
            _raise_index_error(err, self._data.shape, adv or (), adv_dims or ())
        except ValueError as err:
            raise ShapeError(
                f"__setitem__: can't assign a value of shape {fmt_shape(xp.shape(raw))} to the indexed part of a "
                f"tensor of shape {fmt_shape(self._data.shape)} ({err})"
            ) from None
        self._version[0] += 1
        return
    self._inplace(lambda x, v: _index_put(x, parsed, v), _value_tensor(value, self._data.dtype))


Tensor.__setitem__ = _setitem


@public
def index_put(input, indices, values, accumulate: bool = False):
    """Out of place ``input[indices] = values`` (``+=`` with repeats summed when ``accumulate``).

    Args:
        input: tensor.
        indices: a tuple of index tensors (one per leading dim), as in ``torch.index_put``.
        values: tensor broadcastable to the indexed part.
    """
    x = _as_tensor(input)
    parsed = _parse_index(tuple(indices), x._data.shape)
    return _index_put(x, parsed, _value_tensor(values, x._data.dtype), accumulate)


def _index_put_(self, indices, values, accumulate: bool = False):
    parsed = _parse_index(tuple(indices), self._data.shape)
    return self._inplace(lambda x, v: _index_put(x, parsed, v, accumulate), _value_tensor(values, self._data.dtype))


Tensor.index_put_ = _index_put_


# ------------------------------------------------------------ gather/scatter
def _int_index(index, op: str, what: str = "index"):
    t = _as_tensor(index)
    if t._data.dtype.kind not in "iu":
        raise DTypeError(f"{op}: expected an int64 {what} tensor, got dtype {t._data.dtype}")
    return t._data


def _flat_positions(shape, dim, index):
    """Flat (C-order) positions in an array of ``shape`` of the elements ``index`` names along ``dim``."""
    strides, step = [0] * len(shape), 1
    for d in range(len(shape) - 1, -1, -1):
        strides[d] = step
        step *= shape[d]
    flat = index.astype(xp.int64) * strides[dim]
    for d, n in enumerate(index.shape):
        if d != dim and strides[d] and n > 1:
            flat = flat + (xp.arange(n, dtype=xp.int64) * strides[d]).reshape((-1,) + (1,) * (index.ndim - d - 1))
    return flat.reshape(-1)


def _check_gather(op, shape, index, dim, d, *, src_shape=None):
    if index.ndim != len(shape):
        raise ShapeError(
            f"{op}: index must have the same number of dimensions as input ({len(shape)}, shape {fmt_shape(shape)}), "
            f"got an index of shape {fmt_shape(index.shape)}"
        )
    for i, (n, m) in enumerate(zip(index.shape, shape)):
        if i != d and n > m:
            raise ShapeError(
                f"{op}: index of shape {fmt_shape(index.shape)} must be no larger than input {fmt_shape(shape)} "
                f"except in dimension {dim} (dimension {i}: {n} > {m})"
            )
    if src_shape is not None:
        if len(src_shape) != index.ndim or any(n > m for n, m in zip(index.shape, src_shape)):
            raise ShapeError(
                f"{op}: index of shape {fmt_shape(index.shape)} must be no larger than src {fmt_shape(src_shape)} "
                f"in every dimension"
            )
    if index.size:
        lo, hi = index.min(), index.max()
        if lo < 0 or hi >= shape[d]:
            bad = lo if lo < 0 else hi
            raise IndexOutOfRange(
                f"{op}: index {int(bad)} is out of bounds for dimension {dim} with size {shape[d]} "
                f"(input of shape {fmt_shape(shape)})"
            )


class Gather(Function):
    """``out[..., i, ...] = a[..., index[..., i, ...], ...]`` along ``dim``."""

    saves_inputs = False

    def forward(self, a, dim, index):
        self.shape, self.dim, self.index = a.shape, dim, index
        if any(n != m for i, (n, m) in enumerate(zip(index.shape, a.shape)) if i != dim):
            a = a[tuple([_FULL if i == dim else slice(0, n) for i, n in enumerate(index.shape)])]
        return xp.take_along_axis(a, index, axis=dim)

    def backward(self, grad_output):
        grad = xp.zeros(self.shape, dtype=grad_output.dtype)
        if grad_output.size:
            xp.add.at(grad.reshape(-1), _flat_positions(self.shape, self.dim, self.index), grad_output.reshape(-1))
        return grad


@public
def gather(input, dim: int, index):
    """Pick values along ``dim``: ``out[i][j] = input[index[i][j]][j]`` for dim 0 (2-d).

    Shape:
        index has input's number of dims and is no larger than input except along ``dim``;
        the output has index's shape.
    """
    x = _as_tensor(input)
    idx = _int_index(index, "gather")
    d = normalize_dim(dim, x._data.ndim, "gather")
    _check_gather("gather", x._data.shape, idx, dim, d)
    return Gather.apply(x, dim=d, index=idx)


@public
def take_along_dim(input, indices, dim=None):
    """Like gather, but ``input`` and ``indices`` broadcast in the dims other than ``dim``
    (``dim=None``: both are flattened)."""
    x = _as_tensor(input)
    idx = _as_tensor(indices)
    _int_index(idx, "take_along_dim", "indices")
    if dim is None:
        return gather(x.reshape(-1), 0, idx.reshape(-1))
    d = normalize_dim(dim, x._data.ndim, "take_along_dim")
    if idx.ndim != x.ndim:
        raise ShapeError(
            f"take_along_dim: input {fmt_shape(x.shape)} and indices {fmt_shape(idx.shape)} should have the same "
            f"number of dimensions"
        )
    try:
        common = xp.broadcast_shapes(*[tuple(1 if i == d else n for i, n in enumerate(s)) for s in (x.shape, idx.shape)])
    except ValueError:
        raise ShapeError(
            f"take_along_dim: input {fmt_shape(x.shape)} and indices {fmt_shape(idx.shape)} can't be broadcast "
            f"together outside dim {dim}"
        ) from None
    x = x.expand(tuple(-1 if i == d else n for i, n in enumerate(common)))
    idx = idx.expand(tuple(-1 if i == d else n for i, n in enumerate(common)))
    return gather(x, d, idx)


class Scatter(Function):
    """``a`` with ``src`` written (or added, ``accumulate``) at the positions ``index`` names along ``dim``."""

    saves_inputs = False

    def forward(self, a, src, flat, index_shape, accumulate):
        self.flat, self.index_shape, self.src_shape, self.accumulate = flat, index_shape, src.shape, accumulate
        if src.shape != index_shape:
            src = src[tuple([slice(0, n) for n in index_shape])]
        out = a.copy()
        if accumulate:
            xp.add.at(out.reshape(-1), flat, src.reshape(-1))
        else:
            out.reshape(-1)[flat] = src.reshape(-1)
        return out

    def backward(self, grad_output):
        grad_a = grad_src = None
        if self.needs_input_grad[0]:
            grad_a = grad_output
            if not self.accumulate:
                grad_a = grad_output.copy()
                grad_a.reshape(-1)[self.flat] = 0
        if self.needs_input_grad[1]:
            picked = grad_output.reshape(-1)[self.flat].reshape(self.index_shape)
            if self.src_shape == self.index_shape:
                grad_src = picked
            else:
                grad_src = xp.zeros(self.src_shape, dtype=grad_output.dtype)
                grad_src[tuple([slice(0, n) for n in self.index_shape])] = picked
        return grad_a, grad_src


def _scatter(op, input, dim, index, src, accumulate):
    x = _as_tensor(input)
    idx = _int_index(index, op)
    d = normalize_dim(dim, x._data.ndim, op)
    if isinstance(src, Tensor):
        if src._data.dtype != x._data.dtype:
            raise DTypeError(f"{op}: expected src of the input's dtype {x._data.dtype}, got {src._data.dtype}")
        src_t = src
    else:
        src_t = Tensor._wrap(xp.full(idx.shape, src, dtype=x._data.dtype))
    _check_gather(op, x._data.shape, idx, dim, d, src_shape=src_t._data.shape)
    flat = _flat_positions(x._data.shape, d, idx)
    return Scatter.apply(x, src_t, flat=flat, index_shape=idx.shape, accumulate=accumulate)


@public
def scatter_add(input, dim: int, index, src):
    """A copy of ``input`` with ``src`` added at the positions ``index`` names along ``dim`` (repeats accumulate).

    For dim 0 (2-d): ``out[index[i][j]][j] += src[i][j]``.
    """
    return _scatter("scatter_add", input, dim, index, src, True)


@public
def scatter(input, dim: int, index, src=None, *, value=None, reduce=None):
    """A copy of ``input`` with ``src`` (a tensor, or the number ``value``) written at the positions
    ``index`` names along ``dim``. With repeated positions, which write wins is unspecified (as in PyTorch)."""
    if src is None:
        src = value
    if src is None:
        raise ArgumentTypeError("scatter: expected src (a tensor) or value (a number)")
    if reduce is not None:
        if reduce != "add":
            raise NotSupported(f"scatter: reduce={reduce!r} is not supported (only 'add'); use scatter_add")
        return _scatter("scatter", input, dim, index, src, True)
    return _scatter("scatter", input, dim, index, src, False)


def _scatter_add_(self, dim, index, src):
    return self._inplace(lambda x, s: scatter_add(x, dim, index, s), src)


def _scatter_(self, dim, index, src=None, *, value=None, reduce=None):
    return self._inplace(lambda x, *s: scatter(x, dim, index, *s, value=value, reduce=reduce), *([] if src is None else [src]))


Tensor.scatter_add_ = _scatter_add_
Tensor.scatter_ = _scatter_


class IndexSelect(Function):
    """Entries ``index`` (1-d) of ``a`` along ``dim``."""

    saves_inputs = False

    def forward(self, a, dim, index):
        self.shape, self.dim, self.index = a.shape, dim, index
        return xp.take(a, index, axis=dim)

    def backward(self, grad_output):
        grad = xp.zeros(self.shape, dtype=grad_output.dtype)
        _scatter_add_along(grad, self.dim, self.index, grad_output)
        return grad


@public
def index_select(input, dim: int, index):
    """The entries ``index`` (a 1-d integer tensor) of ``input`` along ``dim``; repeats allowed."""
    x = _as_tensor(input)
    idx = _int_index(index, "index_select")
    if idx.ndim > 1:
        raise ShapeError(f"index_select: index must be a 1-d tensor, got shape {fmt_shape(idx.shape)}")
    shape = x._data.shape
    if not shape:
        x = x.reshape(1)
        return index_select(x, dim, idx).reshape(idx.shape)
    d = normalize_dim(dim, len(shape), "index_select")
    idx = idx.reshape(-1)
    if idx.size and (idx.min() < 0 or idx.max() >= shape[d]):
        bad = idx.min() if idx.min() < 0 else idx.max()
        raise IndexOutOfRange(
            f"index_select: index {int(bad)} is out of bounds for dimension {dim} with size {shape[d]} "
            f"(input of shape {fmt_shape(shape)})"
        )
    return IndexSelect.apply(x, dim=d, index=idx)


@public
def take(input, index):
    """``input`` flattened, at positions ``index`` (any shape); the result has index's shape."""
    x = _as_tensor(input)
    idx = _int_index(index, "take")
    return x.reshape(-1)[Tensor._wrap(idx)]


# ------------------------------------------------------------- masked_fill
class MaskedFill(Function):
    """``value`` where ``mask`` is True, ``a`` elsewhere (mask and a broadcast)."""

    saves_inputs = False

    def forward(self, a, mask, value):
        self.mask = mask
        return xp.where(mask, value, a)

    def backward(self, grad_output):
        grad_a = grad_v = None
        zero = xp.zeros((), dtype=grad_output.dtype)
        if self.needs_input_grad[0]:
            grad_a = xp.where(self.mask, zero, grad_output)
        if self.needs_input_grad[2]:
            grad_v = xp.where(self.mask, grad_output, zero).sum()
        return grad_a, None, grad_v


def _mask_and_value(x, mask, value, op):
    m = _as_tensor(mask)
    if m._data.dtype != bool:
        raise DTypeError(f"{op}: only supports boolean masks, got a mask of dtype {m._data.dtype}; use mask.bool()")
    if isinstance(value, Tensor):
        if value._data.ndim:
            raise ShapeError(
                f"{op}: only supports a 0-dimensional value tensor, got one of shape {fmt_shape(value._data.shape)}"
            )
        v = value if value._data.dtype == x._data.dtype else value.to(x._data.dtype)
    else:
        v = Tensor._wrap(xp.asarray(value).astype(x._data.dtype))
    return m, v


@public
def masked_fill(input, mask, value):
    """``input`` with ``value`` (a number or a 0-d tensor) where the bool ``mask`` is True (broadcasting)."""
    x = _as_tensor(input)
    m, v = _mask_and_value(x, mask, value, "masked_fill")
    if m._data.shape != x._data.shape:
        from ._helpers import check_broadcast

        check_broadcast("masked_fill", x._data.shape, m._data.shape)
    return MaskedFill.apply(x, m, v)


def _masked_fill_(self, mask, value):
    """In place ``masked_fill``; ``mask`` must broadcast to this tensor's shape."""
    _check_writeable(self, "masked_fill_")
    m, v = _mask_and_value(self, mask, value, "masked_fill_")
    try:
        if xp.broadcast_shapes(self._data.shape, m._data.shape) != self._data.shape:
            raise ValueError
    except ValueError:
        raise ShapeError(
            f"masked_fill_: mask of shape {fmt_shape(m._data.shape)} doesn't broadcast to the tensor's shape "
            f"{fmt_shape(self._data.shape)}"
        ) from None
    if not (is_grad_enabled() and (self.requires_grad or v.requires_grad)):
        xp.copyto(self._data, v._data, where=m._data)
        self._version[0] += 1
        return self
    return self._inplace(lambda x, val: MaskedFill.apply(x, m, val), v)


Tensor.masked_fill_ = _masked_fill_


# --------------------------------------------------------------- tril, triu
class Triangle(Function):
    """Keep the lower (``upper=False``) or upper triangle of the last two dims, zero the rest."""

    saves_inputs = False

    def forward(self, a, diagonal, upper):
        self.diagonal, self.upper = diagonal, upper
        return xp.triu(a, diagonal) if upper else xp.tril(a, diagonal)

    def backward(self, grad_output):
        return xp.triu(grad_output, self.diagonal) if self.upper else xp.tril(grad_output, self.diagonal)


def _triangle(input, diagonal, upper, op):
    x = _as_tensor(input)
    if x._data.ndim < 2:
        raise ShapeError(f"{op}: input tensor must have at least 2 dimensions, got shape {fmt_shape(x._data.shape)}")
    return Triangle.apply(x, diagonal=int(diagonal), upper=upper)


@public
def tril(input, diagonal: int = 0):
    """The lower triangle of the last two dims (``j <= i + diagonal``); the rest set to 0."""
    return _triangle(input, diagonal, False, "tril")


@public
def triu(input, diagonal: int = 0):
    """The upper triangle of the last two dims (``j >= i + diagonal``); the rest set to 0."""
    return _triangle(input, diagonal, True, "triu")


def _tril_(self, diagonal: int = 0):
    return self._inplace(lambda x: tril(x, diagonal))


def _triu_(self, diagonal: int = 0):
    return self._inplace(lambda x: triu(x, diagonal))


Tensor.tril_ = _tril_
Tensor.triu_ = _triu_


# ----------------------------------------------------------------- nonzero
@public
def nonzero(input, *, as_tuple: bool = False):
    """Indices of the non-zero elements: an int64 tensor of shape (n, ndim), or a tuple of ndim 1-d tensors."""
    a = _as_tensor(input)._data
    if as_tuple:
        if a.ndim == 0:
            return (Tensor._wrap(xp.zeros(int(a != 0), dtype=xp.int64)),)
        return tuple([Tensor._wrap(i.astype(xp.int64, copy=False)) for i in xp.nonzero(a)])
    return Tensor._wrap(xp.argwhere(a).astype(xp.int64, copy=False))


@public
def argwhere(input):
    """Same as ``nonzero(input)``."""
    return nonzero(input)


__all__ = [
    "gather", "take_along_dim", "scatter", "scatter_add", "index_select", "index_put", "take",
    "masked_fill", "tril", "triu", "nonzero", "argwhere",
]
