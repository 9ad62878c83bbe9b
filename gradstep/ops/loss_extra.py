"""Distances and the less common losses of ``torch.nn.functional``, with PyTorch 2.13's semantics.

``cosine_similarity``, ``soft_margin_loss`` and ``multi_margin_loss`` are one
``Function`` each (their gradients have quirks a composite wouldn't give:
the eps clamp of the norms is invisible to autograd, the margin counts only
when strictly exceeded). The others are composites of differentiable ops in
the order PyTorch's own implementation applies them, so values, gradients
and their edge cases (a margin exactly hit, a zero vector, NaN gradients of
``full=True`` at a target of 0) are PyTorch's. Every function checks its
shapes first, so a mismatch names the loss, not an inner op.
"""
from __future__ import annotations

import math
import numbers

from ..autograd.function import Function
from ..autograd.grad_mode import is_grad_enabled
from ..autograd.tensor import Tensor, _as_tensor, result_type
from ..backend import xp
from ..errors import ArgumentTypeError, DTypeError, GradError, IndexOutOfRange, InvalidArgument, ShapeError, fmt_shape
from ._helpers import binary_operands, normalize_dim
from ._registry import public
from .elementwise import clamp, exp, log, minimum, where
from .loss import BinaryCrossEntropyWithLogits, _Pointwise, _reduction
from .reduce import VectorNorm

_EPSILON = 1e-12  # cosine_embedding_loss's constant, added to the squared magnitudes (as PyTorch)


# ----------------------------------------------------------------- helpers
def _broadcast(op, **named):
    """The common shape of the named tensors, or a ShapeError naming ``op`` and every shape."""
    try:
        return xp.broadcast_shapes(*(t.shape for t in named.values()))
    except ValueError:
        got = ", ".join(f"{name} of shape {fmt_shape(t.shape)}" for name, t in named.items())
        raise ShapeError(
            f"{op}: {got} can't be broadcast together (expected the same shapes, or sizes of 1 where they differ)"
        ) from None


def _same_ndim(op, **named):
    if len({t.ndim for t in named.values()}) > 1:
        got = ", ".join(f"{name} {fmt_shape(t.shape)}" for name, t in named.items())
        raise ShapeError(f"{op}: {', '.join(named)} should have the same number of dimensions, got {got}")


def _floats(op, *tensors):
    """The tensors as Tensors of their common dtype, made floating (ints become the default float)."""
    dtype = result_type(*tensors)
    if dtype.kind not in "fc":
        from ..backend import default_dtype

        dtype = default_dtype()
    return tuple(_as_tensor(t, dtype) for t in tensors)


def _apply_reduction(loss, reduction):
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    return loss


def _number(op, name, value):
    if isinstance(value, Tensor):
        value = value.item()
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ArgumentTypeError(f"{op}: {name} must be a number, got {name}={value!r} ({type(value).__name__})")
    return float(value)


# ---------------------------------------------------------------- distances
class CosineSimilarity(Function):
    """``sum(x1 / max(||x1||, eps) * x2 / max(||x2||, eps))`` along ``dim``.

    As PyTorch 2.13, the norms are clamped in place without autograd seeing
    it: the backward differentiates ``||x||`` itself (0 for a zero vector) and
    divides by the clamped norm, so a vector shorter than ``eps`` gets large
    gradients rather than the zero gradient of a true ``max``.
    """

    saves_inputs = False

    def forward(self, a, b, dim, eps):
        a, b = xp.broadcast_arrays(a, b)
        n1 = xp.sqrt((a * a).sum(axis=dim, keepdims=True))
        n2 = xp.sqrt((b * b).sum(axis=dim, keepdims=True))
        n1c, n2c = xp.maximum(n1, eps), xp.maximum(n2, eps)
        u, v = a / n1c, b / n2c
        out = (u * v).sum(axis=dim, keepdims=True)
        if any(self.needs_input_grad):
            self.dim, self.a, self.b, self.u, self.v, self.out = dim, a, b, u, v, out
            self.n1, self.n2, self.n1c, self.n2c = n1, n2, n1c, n2c
        return out.squeeze(axis=dim)

    def backward(self, g):
        g = xp.expand_dims(g, self.dim)
        s = self.out
        ga = gb = None
        if self.needs_input_grad[0]:
            da = xp.where(self.n1 == 0, 0, self.a / xp.where(self.n1 == 0, 1, self.n1))  # d||a||/da
            ga = g * (self.v - s * da) / self.n1c
        if self.needs_input_grad[1]:
            db = xp.where(self.n2 == 0, 0, self.b / xp.where(self.n2 == 0, 1, self.n2))
            gb = g * (self.u - s * db) / self.n2c
        return ga, gb


@public(method=False)
def cosine_similarity(x1, x2, dim: int = 1, eps: float = 1e-8):
    """Cosine similarity of ``x1`` and ``x2`` along ``dim`` (of their broadcast shape), which is removed.

    Each vector is divided by ``max(||x||, eps)`` first (PyTorch's formula), so
    the result stays within [-1, 1] and a zero vector gives 0.

    Example:
        >>> cosine_similarity(gradstep.randn(8, 16), gradstep.randn(8, 16)).shape
        (8,)
    """
    op = "cosine_similarity"
    a, b = binary_operands(x1, x2, op)
    if a.dtype.kind != "f":
        raise DTypeError(f"{op}: expected floating point inputs (or one of them), got {a.dtype} and {b.dtype}")
    shape = _broadcast(op, x1=a, x2=b)
    d = normalize_dim(dim, len(shape), op)
    if not shape:  # 0-d: PyTorch's dim 0 / -1 of a scalar is the scalar itself
        a, b = a.reshape(1), b.reshape(1)
    return CosineSimilarity.apply(a, b, dim=d, eps=_number(op, "eps", eps))


@public(method=False)
def pairwise_distance(x1, x2, p: float = 2.0, eps: float = 1e-6, keepdim: bool = False):
    """The ``p``-norm of ``x1 - x2 + eps`` over the last dim (of the broadcast shape).

    ``eps`` is added to the difference (not to the norm), as in PyTorch, so
    equal vectors are at a small positive distance and have a gradient.
    """
    op = "pairwise_distance"
    p = _number(op, "p", p)
    a, b = _floats(op, x1, x2)
    ndim = len(_broadcast(op, x1=a, x2=b))
    diff = a - b + _number(op, "eps", eps)
    return VectorNorm.apply(diff, p=p, axes=(ndim - 1,) if ndim else (), keepdim=bool(keepdim))


# ---------------------------------------------------------- embedding losses
@public(method=False)
def margin_ranking_loss(input1, input2, target, margin: float = 0, size_average=None, reduce=None,
                        reduction: str = "mean"):
    """``max(0, -target * (input1 - input2) + margin)``: ``target`` = 1 wants ``input1`` ranked higher.

    All three must have the same number of dims (then they broadcast); the
    gradient flows at a margin exactly met, as in PyTorch.
    """
    op = "margin_ranking_loss"
    reduction = _reduction(op, size_average, reduce, reduction)
    x1, x2, y = _floats(op, input1, input2, target)
    _same_ndim(op, input1=x1, input2=x2, target=y)
    _broadcast(op, input1=x1, input2=x2, target=y)
    loss = clamp(-y * (x1 - x2) + _number(op, "margin", margin), min=0)
    return _apply_reduction(loss, reduction)


@public(method=False)
def hinge_embedding_loss(input, target, margin: float = 1.0, size_average=None, reduce=None,
                         reduction: str = "mean"):
    """``input`` where ``target`` is 1, ``max(0, margin - input)`` where it is -1 (both terms otherwise).

    ``target`` is not differentiated (it only selects), as in PyTorch.
    """
    op = "hinge_embedding_loss"
    reduction = _reduction(op, size_average, reduce, reduction)
    x = _floats(op, input)[0]
    y = _as_tensor(target)
    _broadcast(op, input=x, target=y)
    yd = y.detach()
    loss = (where(yd != 1, clamp(_number(op, "margin", margin) - x, min=0), 0.0)
            + where(yd != -1, x, 0.0))
    return _apply_reduction(loss, reduction)


@public(method=False)
def cosine_embedding_loss(input1, input2, target, margin: float = 0, size_average=None, reduce=None,
                          reduction: str = "mean"):
    """``1 - cos(x1, x2)`` where ``target`` is 1, ``max(0, cos(x1, x2) - margin)`` where it is -1.

    Pairs ``(N, D)`` with a target ``(N,)``, or one pair ``(D,)`` with a 0-d
    target. The cosine is ``x1.x2 / sqrt((|x1|^2 + 1e-12)(|x2|^2 + 1e-12))``
    (PyTorch's formula); other target values add nothing.
    """
    op = "cosine_embedding_loss"
    reduction = _reduction(op, size_average, reduce, reduction)
    x1, x2 = _floats(op, input1, input2)
    y = _as_tensor(target)
    if y.ndim > 1:
        raise ShapeError(f"{op}: expected a 0-d target (one pair) or a 1-d target (one label per pair), "
                         f"got target of shape {fmt_shape(y.shape)}")
    want = 2 if y.ndim == 1 else 1
    if x1.ndim != want or x2.ndim != want:
        raise ShapeError(
            f"{op}: a {y.ndim}-d target of shape {fmt_shape(y.shape)} expects {want}-d inputs "
            f"({'(N, D)' if want == 2 else '(D,)'}), got input1 of shape {fmt_shape(x1.shape)} "
            f"and input2 of shape {fmt_shape(x2.shape)}"
        )
    shape = _broadcast(op, input1=x1, input2=x2)
    d = y.ndim
    prod_sum = (x1 * x2).sum(d)
    mag1 = (x1 * x1).sum(d) + _EPSILON
    mag2 = (x2 * x2).sum(d) + _EPSILON
    cos = prod_sum / (mag1 * mag2).sqrt()
    try:
        xp.broadcast_shapes(cos.shape, y.shape)
    except ValueError:
        raise ShapeError(f"{op}: target of shape {fmt_shape(y.shape)} doesn't match the {shape[0]} pairs of "
                         f"input1 {fmt_shape(x1.shape)} and input2 {fmt_shape(x2.shape)} "
                         f"(expected target of shape ({shape[0]},))") from None
    yd = y.detach()
    loss = (where(yd == 1, 1 - cos, 0.0)
            + where(yd == -1, clamp(cos - _number(op, "margin", margin), min=0), 0.0))
    return _apply_reduction(loss, reduction)


@public(method=False)
def triplet_margin_loss(anchor, positive, negative, margin: float = 1.0, p: float = 2, eps: float = 1e-6,
                        swap: bool = False, size_average=None, reduce=None, reduction: str = "mean"):
    """``max(0, margin + d(anchor, positive) - d(anchor, negative))`` with ``d`` = :func:`pairwise_distance`.

    ``swap=True`` uses ``min(d(anchor, negative), d(positive, negative))`` as the
    negative distance (Balntas et al.); ties share the gradient, as in PyTorch.
    """
    op = "triplet_margin_loss"
    reduction = _reduction(op, size_average, reduce, reduction)
    margin = _number(op, "margin", margin)
    if margin <= 0:
        raise InvalidArgument(f"{op}: margin must be greater than 0, got margin={margin}")
    a, pos, neg = _floats(op, anchor, positive, negative)
    _same_ndim(op, anchor=a, positive=pos, negative=neg)
    _broadcast(op, anchor=a, positive=pos, negative=neg)
    dist_pos = pairwise_distance(a, pos, p, eps)
    dist_neg = pairwise_distance(a, neg, p, eps)
    if swap:
        dist_neg = minimum(dist_neg, pairwise_distance(pos, neg, p, eps))
    return _apply_reduction(clamp(margin + dist_pos - dist_neg, min=0), reduction)


# ------------------------------------------------------------ margin losses
class SoftMargin(_Pointwise):
    """``log(1 + exp(-target * input))``, computed as PyTorch does (inf once ``exp`` overflows)."""

    saves_inputs = False

    def elementwise(self, x, t):
        self.x, self.t = x, t
        return xp.log1p(xp.exp(-x * t))

    def local(self, g):
        with xp.errstate(all="ignore"):
            z = xp.exp(-self.t * self.x)
            return -self.t * z / (1 + z) * g, None


def soft_margin_loss(input, target, size_average=None, reduce=None, reduction: str = "mean"):
    """Two-class logistic loss ``log(1 + exp(-target * input))`` for targets in {1, -1}.

    ``target`` must broadcast to the input's shape and can't require grad
    (PyTorch doesn't differentiate it either).
    """
    op = "soft_margin_loss"
    reduction = _reduction(op, size_average, reduce, reduction)
    x = _as_tensor(input)
    if x.dtype.kind != "f":
        raise DTypeError(f"{op}: expected a floating point input, got dtype {x.dtype}")
    t = _as_tensor(target)
    try:
        fits = xp.broadcast_shapes(x.shape, t.shape) == x.shape
    except ValueError:
        fits = False
    if not fits:
        raise ShapeError(f"{op}: target of shape {fmt_shape(t.shape)} can't be broadcast to the input's shape "
                         f"{fmt_shape(x.shape)} (expected target of the input's shape)")
    if t.requires_grad and is_grad_enabled():
        raise GradError(f"{op}: not differentiable with respect to target, which requires grad; "
                        f"pass target.detach()")
    t = Tensor._wrap(xp.broadcast_to(t._data.astype(x.dtype, copy=False), x.shape))
    return SoftMargin.apply(x, t, reduction=reduction)


def multilabel_soft_margin_loss(input, target, weight=None, size_average=None, reduce=None,
                                reduction: str = "mean"):
    """One-vs-all logistic loss over the classes (the last dim), averaged over the classes.

    Per sample: ``-mean_c w_c (t_c log sigmoid(x_c) + (1 - t_c) log sigmoid(-x_c))``;
    ``target`` (0/1 per class) and ``weight`` broadcast against the input.
    """
    op = "multilabel_soft_margin_loss"
    reduction = _reduction(op, size_average, reduce, reduction)
    x, t = _floats(op, input, target)
    if x.ndim == 0:
        raise ShapeError(f"{op}: expected input of shape (C,) or (N, C) (classes in the last dim), got a 0-d tensor")
    _broadcast(op, input=x, target=t)
    loss = BinaryCrossEntropyWithLogits.apply(x, t, reduction="none", weight=None, pos_weight=None)
    if weight is not None:
        w = _as_tensor(weight)
        _broadcast(op, input=loss, weight=w)
        loss = loss * w
    class_dim = x.ndim - 1
    loss = loss.sum(class_dim) / x.shape[class_dim]
    return _apply_reduction(loss, reduction)


class MultiMargin(Function):
    """``sum_{j != y} w_y max(0, margin - x_y + x_j)^p / C`` per sample (a margin exactly met adds nothing)."""

    saves_inputs = False

    def forward(self, x, target, p, margin, weight, reduction):
        n, C = x.shape
        rows = xp.arange(n)
        z = margin - x[rows, target][:, None] + x
        active = z > 0
        active[rows, target] = False
        h = xp.where(active, z if p == 1 else z * z, 0)
        wt = weight[target][:, None] if weight is not None else None
        if wt is not None:
            h = h * wt
        loss = h.sum(axis=1) / x.dtype.type(C)
        if any(self.needs_input_grad):
            self.z, self.active, self.rows, self.target, self.wt = z, active, rows, target, wt
            self.p, self.reduction, self.n = p, reduction, n
        if reduction == "none":
            return loss
        total = loss.sum()
        if reduction == "mean":
            with xp.errstate(all="ignore"):
                total = total / x.dtype.type(n)
        return xp.asarray(total, dtype=x.dtype)

    def backward(self, g):
        C = self.z.shape[1]
        scale = g[:, None] if self.reduction == "none" else g / (self.n if self.reduction == "mean" else 1)
        one = self.z.dtype.type(1)
        dz = xp.where(self.active, one if self.p == 1 else 2 * self.z, 0) / self.z.dtype.type(C)
        if self.wt is not None:
            dz = dz * self.wt
        dz = dz * scale
        dz[self.rows, self.target] = -dz.sum(axis=1)
        return dz


def multi_margin_loss(input, target, p: int = 1, margin: float = 1.0, weight=None, size_average=None,
                      reduce=None, reduction: str = "mean"):
    """Multi-class hinge loss of scores ``(N, C)`` (or ``(C,)``) at class indices ``target``.

    Args:
        p: 1 (hinge) or 2 (squared hinge).
        margin: the score gap wanted between the target class and every other.
        weight: ``(C,)`` weights, the target class's scaling its sample's loss.
    """
    op = "multi_margin_loss"
    reduction = _reduction(op, size_average, reduce, reduction)
    if p != 1 and p != 2:
        raise InvalidArgument(f"{op}: only p == 1 and p == 2 are supported, got p={p!r}")
    x = _as_tensor(input)
    if x.dtype.kind != "f":
        raise DTypeError(f"{op}: expected a floating point input (scores), got dtype {x.dtype}")
    if not (x.ndim == 0 or (x.ndim in (1, 2) and x.shape[-1] != 0)):
        raise ShapeError(f"{op}: expected input of shape (C,) or (N, C) with C > 0 (N may be 0), "
                         f"got input of shape {fmt_shape(x.shape)}")
    n, C = (x.shape[0], x.shape[1]) if x.ndim == 2 else (1, x.shape[0] if x.ndim else 1)
    t = _as_tensor(target)
    if t.dtype.kind not in "iu":
        raise DTypeError(f"{op}: expected class indices of integer dtype (int64), got {t.dtype}; "
                         f"for class indices use target.long()")
    if t.ndim > 1 or t._data.size != n:
        raise ShapeError(f"{op}: expected a target of shape ({n},) (one class index per sample) for input of "
                         f"shape {fmt_shape(x.shape)}, got target of shape {fmt_shape(t.shape)}")
    labels = t._data.reshape(n)
    if labels.size and ((labels < 0) | (labels >= C)).any():
        i = int(xp.argwhere((labels < 0) | (labels >= C))[0, 0])
        raise IndexOutOfRange(f"{op}: target {int(labels[i])} at sample {i} is out of range [0, {C}) "
                              f"for an input with {C} classes")
    w = None
    if weight is not None:
        wt = _as_tensor(weight)
        if wt.ndim != 1:
            raise ShapeError(f"{op}: weight must be one-dimensional, shape ({C},), got {fmt_shape(wt.shape)}")
        if wt.shape[0] != C:
            raise ShapeError(f"{op}: weight must have one value per class, shape ({C},), got {fmt_shape(wt.shape)}")
        w = wt._data.astype(x.dtype, copy=False)
    x2 = x.reshape(n, C)
    out = MultiMargin.apply(x2, target=labels, p=int(p), margin=_number(op, "margin", margin), weight=w,
                            reduction=reduction)
    if reduction == "none" and t.ndim == 0:
        return out.reshape(())
    return out


# -------------------------------------------------------- likelihood losses
@public(method=False)
def poisson_nll_loss(input, target, log_input: bool = True, full: bool = False, size_average=None,
                     eps: float = 1e-8, reduce=None, reduction: str = "mean"):
    """Negative log-likelihood of ``target`` under a Poisson distribution of rate ``input``.

    ``log_input=True``: ``exp(input) - target * input`` (input is the log-rate);
    else ``input - target * log(input + eps)``. ``full`` adds Stirling's
    approximation of ``log(target!)`` where ``target > 1``.
    """
    op = "poisson_nll_loss"
    reduction = _reduction(op, size_average, reduce, reduction)
    x, t = _floats(op, input, target)
    _broadcast(op, input=x, target=t)
    if log_input:
        loss = exp(x) - t * x
    else:
        loss = x - t * log(x + _number(op, "eps", eps))
    if full:
        stirling = t * log(t) - t + 0.5 * log(2 * math.pi * t)
        loss = loss + where(t.detach() <= 1, 0.0, stirling)
    return _apply_reduction(loss, reduction)


class _ClampMinForward(Function):
    """``max(x, lo)`` whose backward is the identity: PyTorch clamps ``var`` under ``no_grad``."""

    saves_inputs = False

    def forward(self, a, lo):
        return xp.maximum(a, a.dtype.type(lo))

    def backward(self, g):
        return g


def gaussian_nll_loss(input, target, var, full: bool = False, eps: float = 1e-6, reduction: str = "mean"):
    """Negative log-likelihood of ``target`` under Gaussians of mean ``input`` and variance ``var``.

    ``0.5 (log(max(var, eps)) + (input - target)^2 / max(var, eps))`` (+ ``0.5 log(2 pi)``
    with ``full``). ``var`` is a number, a tensor of the input's shape, of its
    shape without the last dim, or of its shape with one dim of size 1. The
    clamp at ``eps`` is not differentiated (as in PyTorch): ``var`` gets the
    gradient of the clamped value.
    """
    op = "gaussian_nll_loss"
    reduction = _reduction(op, None, None, reduction)
    x, t = _floats(op, input, target)
    if isinstance(var, numbers.Real) and not isinstance(var, bool):
        if var < 0:
            raise InvalidArgument(f"{op}: var has a negative entry, got var={var} (variances must be >= 0)")
        v = _as_tensor(xp.full(x.shape, var, dtype=x.dtype))
    else:
        if not isinstance(var, Tensor):
            raise ArgumentTypeError(f"{op}: var must be a number or a tensor, got {type(var).__name__}")
        v = var if var.dtype.kind == "f" else _floats(op, var)[0]
        if v._data.size and (v._data < 0).any():
            raise InvalidArgument(f"{op}: var has negative entries (variances must be >= 0)")
    if v.shape != x.shape:
        if x.shape[:-1] == v.shape:
            v = v.unsqueeze(-1)
        elif not (x.ndim == v.ndim and sum(s for n, s in zip(x.shape, v.shape) if n != s) == 1):
            raise ShapeError(
                f"{op}: var of shape {fmt_shape(v.shape)} doesn't fit input of shape {fmt_shape(x.shape)}: "
                f"expected var of the input's shape, of {fmt_shape(x.shape[:-1])} (one variance per row), or of "
                f"the input's shape with one dim of size 1"
            )
    _broadcast(op, input=x, target=t, var=v)
    v = _ClampMinForward.apply(v, lo=_number(op, "eps", eps))
    d = x - t
    loss = 0.5 * (log(v) + d * d / v)
    if full:
        loss = loss + 0.5 * math.log(2 * math.pi)
    return _apply_reduction(loss, reduction)
