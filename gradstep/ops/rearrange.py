"""Moving and repeating elements: roll, repeat_interleave, rot90.

Each output element is one input element, so each backward routes the
gradient back the other way (rolling back, or summing each run of repeats).
"""
from __future__ import annotations

from ..autograd.function import Function
from ..autograd.tensor import Tensor, _as_tensor
from ..backend import xp
from ..errors import DTypeError, InvalidArgument, ShapeError, fmt_shape
from ._helpers import normalize_dim
from ._registry import public


def _int_tuple(x, op, what):
    if isinstance(x, Tensor):
        x = x.tolist()
    items = x if isinstance(x, (tuple, list)) else (x,)
    if not all(isinstance(v, int) and not isinstance(v, bool) for v in items):
        raise DTypeError(f"{op}: {what} must be an int or a tuple of ints, got {x!r}")
    return tuple(items)


# ------------------------------------------------------------------------ roll
class Roll(Function):
    saves_inputs = False

    def forward(self, a, shifts, axes):
        self.shifts, self.axes = shifts, axes
        return xp.roll(a, shifts, axes)

    def backward(self, g):
        return xp.roll(g, tuple(-s for s in self.shifts) if self.axes is not None else -self.shifts[0], self.axes)


@public
def roll(input, shifts, dims=None):
    """Shift elements along ``dims`` cyclically (without ``dims``: over the flattened tensor, shape kept).

    Shape:
        shifts and dims are ints or tuples of the same length.
    """
    t = _as_tensor(input)
    shifts = _int_tuple(shifts, "roll", "shifts")
    if dims is None:
        if len(shifts) != 1:
            raise ShapeError(f"roll: without dims, shifts must be a single int, got {shifts}")
        if t._data.size == 0:
            return t.clone()
        return Roll.apply(t, shifts=shifts, axes=None)
    dims = _int_tuple(dims, "roll", "dims")
    if len(dims) != len(shifts):
        raise ShapeError(f"roll: shifts and dims must have the same length, got shifts={shifts} and dims={dims}")
    axes = tuple(normalize_dim(d, t.ndim, "roll") for d in dims)
    if t.ndim == 0:
        return t.clone()
    return Roll.apply(t, shifts=shifts, axes=axes)


# ----------------------------------------------------------- repeat_interleave
class RepeatInterleave(Function):
    saves_inputs = False

    def forward(self, a, repeats, axis):
        self.repeats, self.axis, self.n = repeats, axis, a.shape[axis]
        return xp.repeat(a, repeats, axis)

    def backward(self, g):
        ax, n, r = self.axis, self.n, self.repeats
        if isinstance(r, int):  # every element repeated r times: sum each run of r
            return g.reshape(g.shape[:ax] + (n, r) + g.shape[ax + 1:]).sum(axis=ax + 1)
        shape = g.shape[:ax] + (n,) + g.shape[ax + 1:]
        grad = xp.zeros(shape, dtype=g.dtype)
        positive = r > 0
        if g.shape[ax]:
            starts = xp.cumsum(r) - r
            sums = xp.add.reduceat(g, starts[positive], axis=ax)
            index = [slice(None)] * g.ndim
            index[ax] = positive
            grad[tuple(index)] = sums
        return grad


@public
def repeat_interleave(input, repeats=None, dim=None, *, output_size=None):
    """Repeat each element ``repeats`` times along ``dim`` (without ``dim``: of the flattened input).

    ``repeats`` is an int or a 1-D int tensor with one count per element.
    ``repeat_interleave(counts)`` alone gives ``arange(len(counts))`` repeated by ``counts``.
    """
    t = _as_tensor(input)
    if repeats is None:
        if t.ndim != 1 or t._data.dtype.kind not in "iu":
            raise ShapeError(f"repeat_interleave: a single argument must be a 1-D int tensor of counts, got "
                             f"shape {fmt_shape(t.shape)} and dtype {t.dtype}")
        return Tensor._wrap(xp.repeat(xp.arange(t.shape[0], dtype=xp.int64), t._data))
    if dim is None:
        t = t.reshape(-1)
        ax = 0
    else:
        ax = normalize_dim(dim, t.ndim, "repeat_interleave")
        if t.ndim == 0:
            t = t.reshape(1)
    n = t.shape[ax]
    if isinstance(repeats, Tensor):
        r = repeats._data
        if r.dtype.kind not in "iu" or r.ndim > 1:
            raise DTypeError(f"repeat_interleave: repeats must be an int or a 0-d/1-D int tensor, got shape "
                             f"{fmt_shape(r.shape)} and dtype {r.dtype}")
        repeats = int(r) if r.ndim == 0 else r.astype(xp.int64, copy=False)
    elif not isinstance(repeats, int) or isinstance(repeats, bool):
        raise DTypeError(f"repeat_interleave: repeats must be an int or an int tensor, got {type(repeats).__name__}")
    if isinstance(repeats, int):
        if repeats < 0:
            raise InvalidArgument(f"repeat_interleave: repeats must be non-negative, got {repeats}")
    else:
        if repeats.shape[0] != n and repeats.shape[0] != 1:
            raise ShapeError(
                f"repeat_interleave: repeats has {repeats.shape[0]} counts but dimension {ax} of the input has size {n}"
            )
        if (repeats < 0).any():
            raise InvalidArgument("repeat_interleave: repeats must be non-negative")
        if repeats.shape[0] == 1:
            repeats = int(repeats[0])
    return RepeatInterleave.apply(t, repeats=repeats, axis=ax)


# ----------------------------------------------------------------------- rot90
@public
def rot90(input, k: int = 1, dims=(0, 1)):
    """Rotate by 90 degrees ``k`` times in the plane of ``dims`` (from the first towards the second)."""
    from .movement import flip, transpose

    t = _as_tensor(input)
    dims = _int_tuple(dims, "rot90", "dims")
    if len(dims) != 2:
        raise ShapeError(f"rot90: dims must name two dimensions, got {dims}")
    d0, d1 = (normalize_dim(d, t.ndim, "rot90") for d in dims)
    if d0 == d1:
        raise ShapeError(f"rot90: dims must be different, got {dims}")
    k %= 4
    if k == 1:
        return transpose(flip(t, d1), d0, d1)
    if k == 2:
        return flip(t, d0, d1)
    if k == 3:
        return flip(transpose(t, d0, d1), d1)
    return t.clone()
