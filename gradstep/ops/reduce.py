"""Reductions: sum, mean, var, max, prod, logsumexp, cumsum, ... over one or more dims.

``dim`` is an int, a tuple of ints, or None (every dim; an empty tuple means
every dim too, as in PyTorch); ``axis=`` is accepted as NumPy's spelling of it.
Backward rules reinsert the reduced axes and return broadcast views
(``broadcast_to``) where the gradient is the same along the reduced axes, so
they copy nothing.
"""
from __future__ import annotations

import builtins
import collections
import math

import numpy

from ..autograd.function import Function
from ..autograd.tensor import Tensor, _as_tensor
from ..backend import default_dtype, xp
from ..errors import DTypeError, ShapeError, fmt_shape
from ._helpers import normalize_dim
from ._registry import public
from ..errors import InvalidArgument

# `max`, `min`, `sum`, `all`, `any` below shadow the builtins in this module: use builtins.<name>.

# What max(dim=...) and min(dim=...) return, like torch.return_types.max / .min.
max_result = collections.namedtuple("max", ["values", "indices"])
min_result = collections.namedtuple("min", ["values", "indices"])


def _dims(dim, ndim, op):
    """``dim`` argument -> tuple of non-negative axes (None or (): all of them)."""
    if dim is None or (isinstance(dim, (tuple, list)) and len(dim) == 0):
        return tuple(range(ndim))
    if isinstance(dim, (tuple, list)):
        axes = tuple(sorted({normalize_dim(d, ndim, op) for d in dim}))
        if len(axes) != len(dim):
            raise InvalidArgument(f"{op}: dim {tuple(dim)} names the same dimension more than once")
    else:
        axes = (normalize_dim(dim, ndim, op),)
    return axes if ndim else ()  # a 0-d tensor accepts dim 0/-1 but has no axis to reduce


def _dim_arg(dim, axis):
    return axis if dim is None else dim


def _expand_back(g, shape, axes, keepdim):
    """Reinsert the reduced axes into ``g`` (when keepdim was False) so it broadcasts to ``shape``."""
    if not keepdim and axes:
        g = xp.expand_dims(g, axes)
    return g


def _arr(x):
    """NumPy reductions to 0-d give scalars; a Tensor must hold an ndarray (in-place ops write into it)."""
    return x if type(x) is xp.ndarray else xp.asarray(x)


def _count(shape, axes) -> int:
    n = 1
    for ax in axes:
        n *= shape[ax]
    return n


def _require_nonempty(t, axes, op, dim_given):
    """PyTorch refuses max/min-like reductions over nothing; say so instead of NumPy's error."""
    if t._data.size:
        return
    if not dim_given:
        raise ShapeError(
            f"{op}: can't reduce a tensor of shape {fmt_shape(t.shape)} with no elements; "
            f"pass dim= to reduce along a non-empty dimension"
        )
    for ax in axes:
        if t.shape[ax] == 0:
            raise ShapeError(
                f"{op}: can't reduce dimension {ax} of size 0 (input shape {fmt_shape(t.shape)}); "
                f"the result would have no value"
            )


def _floating(t, op, dtype=None):
    """``t`` cast to ``dtype`` if given; ints become float32 (as PyTorch's logsumexp, norm do)."""
    if dtype is not None:
        return t.to(dtype)
    if t._data.dtype.kind not in "fc":
        return t.to(default_dtype())
    return t


# ------------------------------------------------------------------ sum, mean
class Sum(Function):
    saves_inputs = False

    def forward(self, a, axes, keepdim):
        self.shape, self.axes, self.keepdim = a.shape, axes, keepdim
        return _arr(a.sum(axis=axes, keepdims=keepdim))

    def backward(self, g):
        g = _expand_back(g, self.shape, self.axes, self.keepdim)
        return xp.broadcast_to(g, self.shape)


class Mean(Function):
    saves_inputs = False

    def forward(self, a, axes, keepdim):
        self.shape, self.axes, self.keepdim = a.shape, axes, keepdim
        self.count = _count(a.shape, axes)
        if self.count == 0:  # 0 / 0 = nan, as in PyTorch (NumPy's mean would warn)
            return _arr(a.sum(axis=axes, keepdims=keepdim) / a.dtype.type(0))
        return _arr(a.mean(axis=axes, keepdims=keepdim))

    def backward(self, g):
        g = _expand_back(g, self.shape, self.axes, self.keepdim)
        return xp.broadcast_to(g / g.dtype.type(builtins.max(self.count, 1)), self.shape)


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
        raise DTypeError(
            f"mean: expected a floating point tensor, got dtype {t.dtype}; call .float() first or pass dtype="
        )
    axes = _dims(_dim_arg(dim, axis), t.ndim, "mean")
    return Mean.apply(t, axes=axes, keepdim=keepdim)


# ------------------------------------------------------------------- var, std
class Var(Function):
    """``sum((x - mean)^2) / (N - correction)``, or its square root (``std=True``)."""

    def forward(self, a, axes, correction, keepdim, std):
        self.axes, self.keepdim, self.std = axes, keepdim, std
        self.mean = a.mean(axis=axes, keepdims=True) if a.size else xp.zeros((1,) * a.ndim, a.dtype)
        diff = a - self.mean
        diff *= diff
        dof = builtins.max(_count(a.shape, axes) - correction, 0)
        self.dof = dof
        out = diff.sum(axis=axes, keepdims=keepdim) / a.dtype.type(dof)
        if std:
            out = xp.sqrt(out)
        self.out = out = _arr(out)
        return out

    def backward(self, g):
        a = self.inputs[0]._data
        g = _expand_back(g, a.shape, self.axes, self.keepdim)
        scale = g / g.dtype.type(self.dof)  # d var / dx = 2 (x - mean) / dof
        if self.std:
            # d std = d var / (2 std); PyTorch defines it as 0 where std == 0.
            out = _expand_back(self.out, a.shape, self.axes, self.keepdim)
            scale = xp.where(out == 0, g.dtype.type(0), scale / out)
        else:
            scale = scale * 2
        return (a - self.mean) * scale


class Std(Var):
    saves_output = True  # its backward divides by the output


def _var_args(op, t, dim, unbiased, correction, axis):
    if isinstance(dim, bool):  # the legacy overload var(input, unbiased)
        dim, unbiased = None, dim
    if unbiased is not None and correction is not None:
        raise InvalidArgument(f"{op}: pass either unbiased= or correction=, not both")
    if correction is None:
        correction = 0 if unbiased is False else 1
    if t.dtype.kind != "f":
        raise DTypeError(f"{op}: expected a floating point tensor, got dtype {t.dtype}; call .float() first")
    return _dims(_dim_arg(dim, axis), t.ndim, op), correction


@public
def var(input, dim=None, unbiased=None, keepdim: bool = False, *, correction=None, axis=None):
    """Variance over ``dim`` with Bessel's ``correction`` (1 by default; ``unbiased=False`` means 0)."""
    t = _as_tensor(input)
    axes, correction = _var_args("var", t, dim, unbiased, correction, axis)
    return Var.apply(t, axes=axes, correction=correction, keepdim=keepdim, std=False)


@public
def std(input, dim=None, unbiased=None, keepdim: bool = False, *, correction=None, axis=None):
    """Standard deviation over ``dim`` (the square root of :func:`var`, same arguments)."""
    t = _as_tensor(input)
    axes, correction = _var_args("std", t, dim, unbiased, correction, axis)
    return Std.apply(t, axes=axes, correction=correction, keepdim=keepdim, std=True)


# ------------------------------------------------------- max, min, amax, amin
class Amax(Function):
    """Max (or min) over ``axes``; the gradient is split evenly among tied extremes (as PyTorch)."""

    saves_output = True

    def forward(self, a, axes, keepdim, smallest):
        self.axes, self.keepdim = axes, keepdim
        out = a.min(axis=axes, keepdims=keepdim) if smallest else a.max(axis=axes, keepdims=keepdim)
        self.out = out = _arr(out)
        return out

    def backward(self, g):
        a = self.inputs[0]._data
        out = _expand_back(self.out, a.shape, self.axes, self.keepdim)
        g = _expand_back(g, a.shape, self.axes, self.keepdim)
        mask = a == out
        count = mask.sum(axis=self.axes, keepdims=True, dtype=g.dtype)
        return mask * (g / count)


class MaxDim(Function):
    """Values at precomputed ``indices`` along ``axis``; the gradient goes to those elements only."""

    saves_inputs = False

    def forward(self, a, indices, axis, keepdim):
        self.shape, self.axis, self.keepdim = a.shape, axis, keepdim
        if a.ndim == 0:
            self.indices = None
            return a.copy()
        self.indices = idx = xp.expand_dims(indices, axis) if not keepdim else indices
        out = xp.take_along_axis(a, idx, axis)
        return out if keepdim else out.squeeze(axis)

    def backward(self, g):
        if self.indices is None:
            return g
        grad = xp.zeros(self.shape, dtype=g.dtype)
        g = g if self.keepdim else xp.expand_dims(g, self.axis)
        xp.put_along_axis(grad, self.indices, g, self.axis)
        return grad


def _extreme(op, input, dim, keepdim, axis, smallest):
    t = _as_tensor(input)
    dim = _dim_arg(dim, axis)
    if isinstance(dim, Tensor) or (dim is not None and not isinstance(dim, (int, numpy.integer))):
        if isinstance(dim, Tensor):  # max(input, other): the elementwise maximum
            from .elementwise import maximum, minimum

            return (minimum if smallest else maximum)(t, dim)
        raise DTypeError(
            f"{op}: dim must be an int (or a Tensor for the elementwise form), got {type(dim).__name__}; "
            f"use a{op} to reduce several dims"
        )
    if dim is None:
        _require_nonempty(t, (), op, False)
        return Amax.apply(t, axes=tuple(range(t.ndim)), keepdim=False, smallest=smallest)
    ax = normalize_dim(int(dim), t.ndim, op)
    if t.ndim:
        _require_nonempty(t, (ax,), op, True)
    a = t._data
    idx = (a.argmin if smallest else a.argmax)(axis=ax, keepdims=keepdim) if a.ndim else xp.zeros((), xp.int64)
    values = MaxDim.apply(t, indices=idx, axis=ax, keepdim=keepdim)
    result = min_result if smallest else max_result
    return result(values, Tensor._wrap(idx.astype(xp.int64, copy=False)))


@public
def max(input, dim=None, keepdim: bool = False, *, axis=None):
    """Largest value; with ``dim`` a named tuple ``(values, indices)``; with a Tensor, ``maximum``.

    Without ``dim`` the gradient is shared evenly among tied maxima; with ``dim``
    it goes to the element at ``indices`` (the first maximum), as in PyTorch.
    """
    return _extreme("max", input, dim, keepdim, axis, smallest=False)


@public
def min(input, dim=None, keepdim: bool = False, *, axis=None):
    """Smallest value; with ``dim`` a named tuple ``(values, indices)``; with a Tensor, ``minimum``."""
    return _extreme("min", input, dim, keepdim, axis, smallest=True)


def _amax(op, input, dim, keepdim, axis, smallest):
    t = _as_tensor(input)
    if axis is not None and dim == ():
        dim = axis
    axes = _dims(dim, t.ndim, op)
    _require_nonempty(t, axes, op, dim is not None and dim != ())
    return Amax.apply(t, axes=axes, keepdim=keepdim, smallest=smallest)


@public
def amax(input, dim=(), keepdim: bool = False, *, axis=None):
    """Max over ``dim`` (int or tuple; () means all); ties share the gradient evenly."""
    return _amax("amax", input, dim, keepdim, axis, smallest=False)


@public
def amin(input, dim=(), keepdim: bool = False, *, axis=None):
    """Min over ``dim`` (int or tuple; () means all); ties share the gradient evenly."""
    return _amax("amin", input, dim, keepdim, axis, smallest=True)


def _arg(op, input, dim, keepdim, axis, smallest):
    t = _as_tensor(input)
    dim = _dim_arg(dim, axis)
    a = t._data
    find = a.argmin if smallest else a.argmax
    if dim is None:
        _require_nonempty(t, (), op, False)
        idx = xp.asarray(find())
        if keepdim:
            idx = idx.reshape((1,) * a.ndim)
    else:
        ax = normalize_dim(dim, t.ndim, op)
        if not a.ndim:
            return Tensor._wrap(xp.zeros((), xp.int64))
        _require_nonempty(t, (ax,), op, True)
        idx = find(axis=ax, keepdims=keepdim)
    return Tensor._wrap(idx.astype(xp.int64, copy=False))


@public
def argmax(input, dim=None, keepdim: bool = False, *, axis=None):
    """Index (int64) of the first largest value, over the flattened tensor when ``dim`` is None."""
    return _arg("argmax", input, dim, keepdim, axis, smallest=False)


@public
def argmin(input, dim=None, keepdim: bool = False, *, axis=None):
    """Index (int64) of the first smallest value, over the flattened tensor when ``dim`` is None."""
    return _arg("argmin", input, dim, keepdim, axis, smallest=True)


# ------------------------------------------------------------------------ prod
def _prod_of_others(a, axis):
    """For each element, the product of the other elements along ``axis`` (exact with zeros)."""
    m = xp.moveaxis(a, axis, -1)
    left = xp.ones_like(m)
    right = xp.ones_like(m)
    xp.cumprod(m[..., :-1], axis=-1, out=left[..., 1:])
    xp.cumprod(m[..., :0:-1], axis=-1, out=right[..., -2::-1])
    left *= right
    return xp.moveaxis(left, -1, axis)


class Prod(Function):
    saves_output = True

    def forward(self, a, axis, keepdim):
        self.axis, self.keepdim = axis, keepdim
        self.out = _arr(a.prod(axis=axis, keepdims=keepdim))
        return self.out

    def backward(self, g):
        a, axis = self.inputs[0]._data, self.axis
        axes = tuple(range(a.ndim)) if axis is None else (axis,)
        g = _expand_back(g, a.shape, axes, self.keepdim)
        if a.size == 0 or a.ndim == 0:
            return xp.broadcast_to(g, a.shape)
        if (a != 0).all():
            out = _expand_back(self.out, a.shape, axes, self.keepdim)
            return g * (out / a)
        # With zeros out / a is 0/0: take the product of the other elements instead.
        if axis is None:
            return g * _prod_of_others(a.reshape(-1), 0).reshape(a.shape)
        return g * _prod_of_others(a, axis)


@public
def prod(input, dim=None, keepdim: bool = False, *, dtype=None, axis=None):
    """Product over ``dim`` (one int, or None for all). Bools and ints multiply to int64."""
    t = _as_tensor(input)
    if dtype is not None:
        t = t.to(dtype)
    elif t.dtype.kind in "biu":
        t = t.to(xp.int64)
    dim = _dim_arg(dim, axis)
    if dim is None:
        ax = None
    elif isinstance(dim, (tuple, list)):
        raise DTypeError(f"prod: dim must be a single int or None, got {tuple(dim)}; reduce one dim at a time")
    else:
        ax = normalize_dim(dim, t.ndim, "prod") if t.ndim else None
    if ax is None and dim is not None:  # 0-d with dim: keep its 0-d shape
        keepdim = True
    return Prod.apply(t, axis=ax, keepdim=keepdim)


# ------------------------------------------------------------------- logsumexp
class LogSumExp(Function):
    """``log(sum(exp(x)))`` computed around the max; backward is ``g * softmax(x)``."""

    saves_output = True

    def forward(self, a, axes, keepdim):
        self.axes, self.keepdim = axes, keepdim
        if 0 in [a.shape[ax] for ax in axes]:
            out = xp.full([1 if i in axes else n for i, n in enumerate(a.shape)], -xp.inf, a.dtype)
        else:
            m = a.max(axis=axes, keepdims=True)
            m = xp.where(xp.isfinite(m), m, a.dtype.type(0))  # all -inf (or an inf) would give inf - inf
            out = _arr(xp.log(xp.exp(a - m).sum(axis=axes, keepdims=True)) + m)
        self.out = out  # keepdim form, for backward
        return out if keepdim else out.squeeze(axes) if axes else out

    def backward(self, g):
        a = self.inputs[0]._data
        g = _expand_back(g, a.shape, self.axes, self.keepdim)
        return g * xp.exp(a - self.out)


@public
def logsumexp(input, dim, keepdim: bool = False):
    """``log(sum(exp(input), dim))``, stable for large values; ints give float32."""
    t = _floating(_as_tensor(input), "logsumexp")
    return LogSumExp.apply(t, axes=_dims(dim, t.ndim, "logsumexp"), keepdim=keepdim)


# ---------------------------------------------------------------------- cumsum
class Cumsum(Function):
    saves_inputs = False

    def forward(self, a, axis):
        self.axis = axis
        return a.copy() if axis is None else xp.cumsum(a, axis=axis)

    def backward(self, g):
        if self.axis is None:
            return g
        flip = [slice(None)] * g.ndim
        flip[self.axis] = slice(None, None, -1)
        flip = tuple(flip)
        return xp.cumsum(g[flip], axis=self.axis)[flip]


@public
def cumsum(input, dim, *, dtype=None):
    """Running sum along ``dim``. Bools and ints sum to int64."""
    t = _as_tensor(input)
    if dtype is not None:
        t = t.to(dtype)
    elif t.dtype.kind in "biu":
        t = t.to(xp.int64)
    ax = normalize_dim(dim, t.ndim, "cumsum")
    return Cumsum.apply(t, axis=ax if t.ndim else None)


# --------------------------------------------------------- logic and counting
def _logic(op, input, dim, keepdim, axis):
    t = _as_tensor(input)
    axes = _dims(_dim_arg(dim, axis), t.ndim, op)
    a = t._data
    out = (a.all if op == "all" else a.any)(axis=axes, keepdims=keepdim)
    # PyTorch keeps uint8 for uint8 input, gives bool otherwise.
    return Tensor._wrap(xp.asarray(out, dtype=xp.uint8 if a.dtype == xp.uint8 else xp.bool_))


@public
def all(input, dim=None, keepdim: bool = False, *, axis=None):
    """True where every element over ``dim`` is nonzero (not differentiable)."""
    return _logic("all", input, dim, keepdim, axis)


@public
def any(input, dim=None, keepdim: bool = False, *, axis=None):
    """True where some element over ``dim`` is nonzero (not differentiable)."""
    return _logic("any", input, dim, keepdim, axis)


@public
def count_nonzero(input, dim=None):
    """Number of nonzero elements over ``dim`` (int or tuple), as int64."""
    t = _as_tensor(input)
    axes = _dims(dim, t.ndim, "count_nonzero")
    out = xp.count_nonzero(t._data, axis=axes) if t.ndim else xp.count_nonzero(t._data)
    return Tensor._wrap(xp.asarray(out, dtype=xp.int64))


# ------------------------------------------------------------------------ norm
class VectorNorm(Function):
    """``sum(|x|^p)^(1/p)`` over ``axes``; ``p`` = inf/-inf: max/min of |x|; ``p`` = 0: count of nonzeros.

    Backward as PyTorch's: 0 where the norm is 0 (and for p = 0, and at x = 0 for p < 1);
    inf/-inf share the gradient evenly between the elements that reach the norm.
    """

    saves_output = True

    def forward(self, a, p, axes, keepdim):
        self.p, self.axes, self.keepdim = p, axes, keepdim
        if p == 2:
            out = xp.sqrt((a * a).sum(axis=axes, keepdims=keepdim))
        elif math.isinf(p):
            out = (xp.amax if p > 0 else xp.amin)(xp.abs(a), axis=axes, keepdims=keepdim)
        elif p == 0:
            out = (a != 0).sum(axis=axes, keepdims=keepdim).astype(a.dtype)
        elif p == 1:
            out = xp.abs(a).sum(axis=axes, keepdims=keepdim)
        else:
            out = (xp.abs(a) ** p).sum(axis=axes, keepdims=keepdim) ** (1.0 / p)
        self.out = out = _arr(out)
        return out

    def backward(self, g):
        a, p = self.inputs[0]._data, self.p
        if p == 0:
            return xp.zeros(a.shape, g.dtype)
        g = _expand_back(g, a.shape, self.axes, self.keepdim)
        if p == 1:
            return xp.sign(a) * g
        norm = _expand_back(self.out, a.shape, self.axes, self.keepdim)
        zero = norm == 0
        if p == 2:
            return g * xp.where(zero, 0, a / norm)
        size = xp.abs(a)
        if math.isinf(p):
            hit = (size == norm) | xp.isnan(size)
            count = hit.sum(axis=self.axes, keepdims=True).astype(g.dtype)
            return xp.sign(a) * hit * (g / count)
        if p < 1:
            scaled = xp.sign(a) * xp.where(a == 0, 0, size ** (p - 1))
            return scaled * g * norm ** (1 - p)
        scale = xp.where(zero, 0, g / norm ** (p - 1))
        if p < 2:
            return xp.sign(a) * size ** (p - 1) * scale
        return a * size ** (p - 2) * scale


@public
def norm(input, p="fro", dim=None, keepdim: bool = False, dtype=None):
    """Vector p-norm over ``dim`` (all elements when None): p is 'fro' (= 2), any real number, inf or -inf."""
    t = _floating(_as_tensor(input), "norm", dtype)
    if p == "fro" or p is None:
        p = 2
    if isinstance(p, str) or not isinstance(p, (int, float)):
        raise InvalidArgument(f"norm: p must be a number or 'fro', got {p!r} (matrix norms such as 'nuc' are not supported)")
    axes = _dims(dim, t.ndim, "norm")
    return VectorNorm.apply(t, p=p, axes=axes, keepdim=keepdim)
