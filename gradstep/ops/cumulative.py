"""Running reductions along a dim: cumprod, logcumsumexp, cummax, cummin; and diff.

(``cumsum`` lives with the reductions in ``reduce.py``.)
"""
from __future__ import annotations

import collections

from ..autograd.function import Function
from ..autograd.tensor import Tensor, _as_tensor
from ..backend import default_dtype, xp
from ..errors import InvalidArgument, ShapeError, fmt_shape
from ._helpers import normalize_dim
from ._registry import public

cummax_result = collections.namedtuple("cummax", ["values", "indices"])
cummin_result = collections.namedtuple("cummin", ["values", "indices"])


def _reverse_cumsum(x, axis):
    """``out[i] = sum(x[i:])`` along ``axis``."""
    return xp.flip(xp.cumsum(xp.flip(x, axis), axis=axis), axis)


def _scan_input(op, input, dim, dtype=None):
    t = _as_tensor(input)
    if dtype is not None:
        t = t.to(dtype)
    elif t._data.dtype.kind in "biu" and op == "cumprod":
        t = t.to(xp.int64)  # PyTorch accumulates bools and ints in int64
    return t, normalize_dim(dim, t.ndim, op)


# --------------------------------------------------------------------- cumprod
class Cumprod(Function):
    """Running product. Backward is ``reverse_cumsum(g * out) / x`` where no element is zero;
    rows with a zero use the exact rule below (no division by zero)."""

    saves_output = True

    def forward(self, a, axis):
        self.axis = axis
        self.out = xp.cumprod(a, axis=axis)
        return self.out

    def backward(self, g):
        a, out, ax = self.inputs[0]._data, self.out, self.axis
        if a.size == 0:
            return xp.zeros_like(g)
        if a.all():
            return _reverse_cumsum(g * out, ax) / a
        return xp.moveaxis(_cumprod_grad_with_zeros(xp.moveaxis(a, ax, -1), xp.moveaxis(out, ax, -1),
                                                    xp.moveaxis(g, ax, -1)), -1, ax)


def _cumprod_grad_with_zeros(a, out, g):
    """The gradient of cumprod along the last axis when some elements are zero.

    With ``z`` the first zero of a row: before ``z`` the usual rule holds
    (``x_i`` is not zero); after ``z`` every product still contains ``x_z = 0``,
    so the gradient is 0; at ``z`` it is ``prod(x[:z]) * sum_{k>=z} g_k prod(x[z+1:k+1])``.
    """
    shape, n = a.shape, a.shape[-1]
    a, out, g = a.reshape(-1, n), out.reshape(-1, n), g.reshape(-1, n)
    pos = xp.arange(n)
    is_zero = a == 0
    has_zero = is_zero.any(-1)
    first = xp.where(has_zero, is_zero.argmax(-1), n)
    before = pos < first[..., None]
    safe = xp.where(before, a, 1)
    grad = xp.where(before, _reverse_cumsum(g * out, -1) / safe, 0).astype(g.dtype, copy=False)
    rows = xp.nonzero(has_zero)
    z = first[rows]
    ar, gr, orow = a[rows], g[rows], out[rows]
    after = xp.cumprod(xp.where(pos <= z[:, None], 1, ar), axis=-1)  # prod(x[z+1:k+1]) for k >= z
    s = xp.where(pos >= z[:, None], gr * after, 0).sum(-1)
    k = xp.arange(len(z))
    prefix = xp.where(z > 0, orow[k, xp.maximum(z - 1, 0)], 1)  # prod(x[:z]) = out[z - 1]
    grad[rows + (z,)] = prefix * s
    return grad.reshape(shape)


@public
def cumprod(input, dim: int, *, dtype=None):
    """Running product along ``dim``; the gradient is exact also where elements are zero."""
    t, ax = _scan_input("cumprod", input, dim, dtype)
    if t.ndim == 0:
        return t.clone()
    return Cumprod.apply(t, axis=ax)


# --------------------------------------------------------------- logcumsumexp
class LogCumSumExp(Function):
    """``out_k = log(sum_{j<=k} exp(x_j))``; backward ``grad_j = sum_{k>=j} g_k exp(x_j - out_k)``,
    summed in log space for the positive and the negative parts of ``g`` so nothing overflows."""

    saves_output = True

    def forward(self, a, axis):
        self.axis = axis
        self.out = xp.logaddexp.accumulate(a, axis=axis) if a.size else a.copy()
        return self.out

    def backward(self, g):
        a, out, ax = self.inputs[0]._data, self.out, self.axis
        if a.size == 0:
            return xp.zeros_like(g)
        grad = None
        for sign in (1, -1):
            w = xp.log(xp.maximum(sign * g, 0)) - out
            r = xp.flip(xp.logaddexp.accumulate(xp.flip(w, ax), axis=ax), ax)
            part = xp.exp(a + r)
            grad = part if grad is None else grad - part
        return grad


@public
def logcumsumexp(input, dim: int):
    """``log(cumsum(exp(input), dim))``, computed stably."""
    t = _as_tensor(input)
    if t._data.dtype.kind != "f":
        t = t.to(default_dtype())
    ax = normalize_dim(dim, t.ndim, "logcumsumexp")
    if t.ndim == 0:
        return t.clone()
    return LogCumSumExp.apply(t, axis=ax)


# ------------------------------------------------------------ cummax, cummin
class CumExtreme(Function):
    """Running max/min; each output's gradient goes to the element it came from."""

    saves_inputs = False

    def forward(self, a, indices, axis):
        self.indices, self.axis, self.shape = indices, axis, a.shape
        return xp.take_along_axis(a, indices, axis)

    def backward(self, g):
        grad = xp.zeros(self.shape, dtype=g.dtype)
        # Several outputs can come from one element: accumulate along the axis.
        gm, im = xp.moveaxis(g, self.axis, -1), xp.moveaxis(self.indices, self.axis, -1)
        gradm = xp.moveaxis(grad, self.axis, -1)
        n = gradm.shape[-1]
        flat = (xp.arange(gm.size // max(n, 1)).reshape(gm.shape[:-1] + (1,)) * n + im).reshape(-1)
        sums = xp.bincount(flat, weights=gm.reshape(-1), minlength=gradm.size)
        gradm[...] = sums.reshape(gradm.shape)
        return grad


def _cum_extreme(op, input, dim, smallest):
    t = _as_tensor(input)
    ax = normalize_dim(dim, t.ndim, op)
    result = cummin_result if smallest else cummax_result
    if t.ndim == 0:
        return result(t.clone(), Tensor._wrap(xp.zeros((), xp.int64)))
    a = t._data
    if a.size == 0:
        return result(t.clone(), Tensor._wrap(xp.zeros(a.shape, xp.int64)))
    running = (xp.minimum if smallest else xp.maximum).accumulate(a, axis=ax)
    shape = [1] * a.ndim
    shape[ax] = a.shape[ax]
    pos = xp.arange(a.shape[ax]).reshape(shape)
    # The last element equal to the running extreme (PyTorch's choice among ties); NaN sticks.
    hit = (a == running) | (xp.isnan(a) if a.dtype.kind == "f" else False)
    idx = xp.maximum.accumulate(xp.where(hit, pos, 0), axis=ax)
    return result(CumExtreme.apply(t, indices=idx, axis=ax), Tensor._wrap(idx.astype(xp.int64, copy=False)))


@public
def cummax(input, dim: int):
    """Running maximum along ``dim``: a named tuple ``(values, indices)``."""
    return _cum_extreme("cummax", input, dim, False)


@public
def cummin(input, dim: int):
    """Running minimum along ``dim``: a named tuple ``(values, indices)``."""
    return _cum_extreme("cummin", input, dim, True)


# ------------------------------------------------------------------------ diff
@public
def diff(input, n: int = 1, dim: int = -1, prepend=None, append=None):
    """``n``-th forward difference along ``dim`` (``out[i] = x[i + 1] - x[i]``), after concatenating
    ``prepend`` and ``append``. Bools give ``x[i + 1] != x[i]``."""
    from .movement import cat, narrow

    t = _as_tensor(input)
    if t.ndim == 0:
        raise ShapeError("diff: expected a tensor with at least one dimension, got a 0-d tensor")
    if not isinstance(n, int) or n < 0:
        raise InvalidArgument(f"diff: n must be a non-negative int, got {n!r}")
    ax = normalize_dim(dim, t.ndim, "diff")
    parts = []
    for name, extra in (("prepend", prepend), (None, t), ("append", append)):
        if extra is None:
            continue
        extra = _as_tensor(extra)
        if name is not None and extra.ndim != t.ndim:
            raise ShapeError(
                f"diff: {name} must have the same number of dims as input {fmt_shape(t.shape)}, "
                f"got shape {fmt_shape(extra.shape)}"
            )
        parts.append(extra)
    if len(parts) > 1:
        t = cat(parts, ax)
    for _ in range(n):
        size = t.shape[ax]
        if size == 0:
            break
        hi, lo = narrow(t, ax, 1, size - 1), narrow(t, ax, 0, size - 1)
        if t._data.dtype == xp.bool_:
            t = Tensor._wrap(hi._data != lo._data)
        else:
            t = hi - lo
    return t

