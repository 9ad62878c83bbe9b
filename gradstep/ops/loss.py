"""Loss functions with PyTorch's semantics (``reduction='mean' | 'sum' | 'none'``).

Every loss is one fused ``Function`` whose forward computes the elementwise
loss and its reduction, and whose backward applies the closed-form gradient:
``cross_entropy`` is log-softmax and negative log-likelihood in one node
(gradient ``softmax - onehot``, stable for logits of any size), the
regression and binary losses are one node each.
"""
from __future__ import annotations

from ..autograd.function import Function
from ..autograd.tensor import _as_tensor, result_type
from ..backend import xp
from ..errors import DTypeError, ShapeError, fmt_shape
from ._helpers import binary_operands
from ._registry import public
from ..errors import IndexOutOfRange, InvalidArgument

_REDUCTIONS = ("mean", "sum", "none")


def _reduction(op, size_average, reduce, reduction, allowed=_REDUCTIONS):
    """The reduction string, honouring PyTorch's deprecated ``size_average`` / ``reduce``."""
    if size_average is not None or reduce is not None:
        size_average = True if size_average is None else size_average
        reduce = True if reduce is None else reduce
        return "none" if not reduce else ("mean" if size_average else "sum")
    if reduction not in allowed:
        raise InvalidArgument(f"{op}: reduction must be one of {', '.join(map(repr, allowed))}, got {reduction!r}")
    return reduction


def _reduce(loss, reduction, divisor):
    if reduction == "none":
        return loss
    total = loss.sum()
    if reduction != "sum":
        with xp.errstate(invalid="ignore", divide="ignore"):
            total = total / divisor
    return xp.asarray(total, dtype=loss.dtype)


def _grad_scale(grad_output, reduction, divisor):
    """The gradient reaching each element's loss: broadcastable to the elementwise loss."""
    if reduction == "none" or reduction == "sum":
        return grad_output
    if divisor == 0:  # nothing counted (all targets ignored): no element gets a gradient, like PyTorch
        return xp.zeros_like(grad_output)
    return grad_output / divisor


# ------------------------------------------------------------ pointwise losses
class _Pointwise(Function):
    """Base of the elementwise losses: ``loss(input, target)`` then the reduction.

    Subclasses define ``elementwise(a, b, **params)`` (storing what ``local``
    needs) and ``local(g)`` returning the gradients of ``sum(g * loss)`` with
    respect to ``a`` and ``b``.
    """

    saves_inputs = False

    def forward(self, a, b, reduction, **params):
        loss = self.elementwise(a, b, **params)
        self.reduction = reduction
        if reduction == "batchmean":
            self.divisor = a.shape[0] if a.ndim else 1
        else:
            self.divisor = loss.size
        return _reduce(loss, reduction, self.divisor)

    def backward(self, grad_output):
        ga, gb = self.local(_grad_scale(grad_output, self.reduction, self.divisor))
        need = self.needs_input_grad
        return (ga if need[0] else None), (gb if need[1] else None)


class MSELoss(_Pointwise):
    def elementwise(self, a, b):
        self.d = a - b
        return self.d * self.d

    def local(self, g):
        ga = (2 * g) * self.d
        return ga, -ga


class L1Loss(_Pointwise):
    def elementwise(self, a, b):
        d = a - b
        self.sign = xp.sign(d)
        return xp.abs(d)

    def local(self, g):
        ga = g * self.sign
        return ga, -ga


class SmoothL1Loss(_Pointwise):
    """``0.5 d^2 / beta`` where ``|d| < beta``, else ``|d| - 0.5 beta``."""

    def elementwise(self, a, b, beta):
        d = a - b
        ad = xp.abs(d)
        small = ad < beta
        self.slope = xp.where(small, d / beta, xp.sign(d))
        return xp.where(small, (0.5 / beta) * d * d, ad - 0.5 * beta)

    def local(self, g):
        ga = g * self.slope
        return ga, -ga


class HuberLoss(_Pointwise):
    """``0.5 d^2`` where ``|d| < delta``, else ``delta (|d| - 0.5 delta)``."""

    def elementwise(self, a, b, delta):
        d = a - b
        ad = xp.abs(d)
        self.slope = xp.clip(d, -delta, delta)
        return xp.where(ad < delta, 0.5 * d * d, delta * (ad - 0.5 * delta))

    def local(self, g):
        ga = g * self.slope
        return ga, -ga


class BinaryCrossEntropy(_Pointwise):
    """``-w (t log x + (1 - t) log(1 - x))``, each log clamped at -100 as in PyTorch."""

    saves_inputs = True  # backward reads input and target

    def elementwise(self, x, t, weight):
        with xp.errstate(divide="ignore"):
            log_x = xp.maximum(xp.log(x), -100.0)
            log_1mx = xp.maximum(xp.log1p(-x), -100.0)
        self.x, self.t, self.w, self.log_x, self.log_1mx = x, t, weight, log_x, log_1mx
        loss = t * (log_1mx - log_x)
        loss -= log_1mx
        return loss if weight is None else loss * weight

    def local(self, g):
        x, t, w = self.x, self.t, self.w
        if w is not None:
            g = g * w
        ga = gb = None
        if self.needs_input_grad[0]:
            ga = g * (x - t) / xp.maximum((1 - x) * x, 1e-12)
        if self.needs_input_grad[1]:
            gb = g * (self.log_1mx - self.log_x)
        return ga, gb


class BinaryCrossEntropyWithLogits(_Pointwise):
    """``w ((1 - t) x + (1 + (pw - 1) t) softplus(-x))``, computed without overflow."""

    saves_inputs = True  # backward reads input and target

    def elementwise(self, x, t, weight, pos_weight):
        sp = xp.log1p(xp.exp(-xp.abs(x)))
        sp += xp.maximum(-x, 0)  # softplus(-x) = -log(sigmoid(x))
        self.x, self.t, self.w, self.pw, self.sp = x, t, weight, pos_weight, sp
        loss = (1 - t) * x
        loss += sp if pos_weight is None else (1 + (pos_weight - 1) * t) * sp
        return loss if weight is None else loss * weight

    def local(self, g):
        x, t, pw, sp = self.x, self.t, self.pw, self.sp
        if self.w is not None:
            g = g * self.w
        ga = gb = None
        if self.needs_input_grad[0]:
            sig = xp.exp(-sp)
            ga = g * (sig - t if pw is None else (1 + (pw - 1) * t) * sig - pw * t)
        if self.needs_input_grad[1]:
            gb = g * (-x if pw is None else (pw - 1) * sp - x)
        return ga, gb


class KLDiv(_Pointwise):
    """``t (log t - x)`` (0 where t == 0), or ``exp(t) (t - x)`` with ``log_target``."""

    saves_inputs = True  # backward reads input and target

    def elementwise(self, x, t, log_target):
        self.x, self.t, self.log_target = x, t, log_target
        if log_target:
            self.et = xp.exp(t)
            return self.et * (t - x)
        with xp.errstate(divide="ignore", invalid="ignore"):
            xlogx = xp.where(t == 0, 0, t * xp.log(t))
        return xlogx - t * x

    def local(self, g):
        x, t = self.x, self.t
        if self.log_target:
            return -g * self.et, g * self.et * (t - x + 1)
        with xp.errstate(divide="ignore", invalid="ignore"):
            gb = g * (xp.log(t) + 1 - x) if self.needs_input_grad[1] else None
        return -g * t, gb


def _pair(op, input, target, same_shape=None):
    """input and target as floating Tensors of their common dtype, with broadcastable shapes."""
    a, b = binary_operands(input, target, op, float_result=True)
    if same_shape is not None and a.shape != b.shape:
        raise ShapeError(
            f"{op}: target of shape {fmt_shape(b.shape)} must have the same shape as input {fmt_shape(a.shape)}"
            f"{same_shape}"
        )
    try:
        xp.broadcast_shapes(a.shape, b.shape)
    except ValueError:
        raise ShapeError(
            f"{op}: input of shape {fmt_shape(a.shape)} and target of shape {fmt_shape(b.shape)} can't be "
            f"broadcast together (they should have the same shape)"
        ) from None
    return a, b


def _weighted(op, cls, input, target, weight, reduction, mean_by_weight, **params):
    """PyTorch 2.x's optional elementwise ``weight`` (same shape as input) of mse/l1/huber."""
    a, b = _pair(op, input, target)
    if weight is None:
        return cls.apply(a, b, reduction=reduction, **params)
    w = _as_tensor(weight)
    if w.shape != a.shape:
        raise ShapeError(f"{op}: weight of shape {fmt_shape(w.shape)} must have the input's shape {fmt_shape(a.shape)}")
    loss = cls.apply(a, b, reduction="none", **params) * w
    if reduction == "none":
        return loss
    if reduction == "sum":
        return loss.sum()
    return loss.sum() / w.sum() if mean_by_weight else loss.mean()


@public(method=False)
def mse_loss(input, target, size_average=None, reduce=None, reduction: str = "mean", weight=None):
    """Mean squared error ``(input - target)^2``, reduced."""
    reduction = _reduction("mse_loss", size_average, reduce, reduction)
    return _weighted("mse_loss", MSELoss, input, target, weight, reduction, True)


@public(method=False)
def l1_loss(input, target, size_average=None, reduce=None, reduction: str = "mean", weight=None):
    """Mean absolute error ``|input - target|``, reduced."""
    reduction = _reduction("l1_loss", size_average, reduce, reduction)
    return _weighted("l1_loss", L1Loss, input, target, weight, reduction, True)


@public(method=False)
def smooth_l1_loss(input, target, size_average=None, reduce=None, reduction: str = "mean", beta: float = 1.0):
    """Quadratic for ``|input - target| < beta``, linear beyond (``beta=0`` is the L1 loss)."""
    reduction = _reduction("smooth_l1_loss", size_average, reduce, reduction)
    if beta < 0:
        raise InvalidArgument(f"smooth_l1_loss: beta must be >= 0, got {beta}")
    if beta == 0:
        return _weighted("smooth_l1_loss", L1Loss, input, target, None, reduction, True)
    return _weighted("smooth_l1_loss", SmoothL1Loss, input, target, None, reduction, True, beta=float(beta))


@public(method=False)
def huber_loss(input, target, reduction: str = "mean", delta: float = 1.0, weight=None):
    """Quadratic for ``|input - target| < delta``, ``delta``-scaled linear beyond."""
    reduction = _reduction("huber_loss", None, None, reduction)
    if delta <= 0:
        raise InvalidArgument(f"huber_loss: delta must be > 0, got {delta}")
    return _weighted("huber_loss", HuberLoss, input, target, weight, reduction, False, delta=float(delta))


def _param_array(op, name, t, dtype, shape):
    """An optional weight-like tensor as a raw array of ``dtype``, checked to broadcast to ``shape``."""
    if t is None:
        return None
    arr = _as_tensor(t)._data.astype(dtype, copy=False)
    try:
        ok = xp.broadcast_shapes(arr.shape, shape) == tuple(shape)
    except ValueError:
        ok = False
    if not ok:
        raise ShapeError(
            f"{op}: {name} of shape {fmt_shape(arr.shape)} can't be broadcast to the input's shape {fmt_shape(shape)}"
        )
    return arr


@public(method=False)
def binary_cross_entropy(input, target, weight=None, size_average=None, reduce=None, reduction: str = "mean"):
    """``-(target log(input) + (1 - target) log(1 - input))`` for probabilities ``input`` in [0, 1].

    The logs are clamped at -100 (as in PyTorch), so ``input`` of exactly 0 or 1
    gives a finite loss. ``weight`` (broadcast to the input) rescales each
    element and is not differentiated.
    """
    op = "binary_cross_entropy"
    reduction = _reduction(op, size_average, reduce, reduction)
    x, t = _pair(op, input, target, same_shape="")
    data = x._data
    if data.size and ((data < 0) | (data > 1)).any():
        raise InvalidArgument(
            f"{op}: all elements of input should be between 0 and 1 (probabilities), got values in "
            f"[{float(xp.nanmin(data)):.4g}, {float(xp.nanmax(data)):.4g}]; for logits use "
            f"binary_cross_entropy_with_logits"
        )
    tdata = t._data
    if tdata.size and ((tdata < 0) | (tdata > 1)).any():
        raise InvalidArgument(
            f"{op}: all elements of target should be between 0 and 1, got values in "
            f"[{float(xp.nanmin(tdata)):.4g}, {float(xp.nanmax(tdata)):.4g}]"
        )
    w = _param_array(op, "weight", weight, data.dtype, data.shape)
    return BinaryCrossEntropy.apply(x, t, reduction=reduction, weight=w)


@public(method=False)
def binary_cross_entropy_with_logits(input, target, weight=None, size_average=None, reduce=None,
                                     reduction: str = "mean", pos_weight=None):
    """Sigmoid and binary cross-entropy in one stable step, on logits ``input``.

    ``pos_weight`` (broadcast along the last dims, e.g. ``(C,)``) weighs the
    positive term; ``weight`` rescales each element. Neither is differentiated.
    """
    op = "binary_cross_entropy_with_logits"
    reduction = _reduction(op, size_average, reduce, reduction)
    x, t = _pair(op, input, target, same_shape="")
    w = _param_array(op, "weight", weight, x.dtype, x.shape)
    pw = _param_array(op, "pos_weight", pos_weight, x.dtype, x.shape)
    return BinaryCrossEntropyWithLogits.apply(x, t, reduction=reduction, weight=w, pos_weight=pw)


@public(method=False)
def kl_div(input, target, size_average=None, reduce=None, reduction: str = "mean", log_target: bool = False):
    """Kullback-Leibler divergence ``target * (log(target) - input)`` for log-probabilities ``input``.

    ``reduction='batchmean'`` divides the sum by the batch size (the true KL
    divergence per sample); ``'mean'`` divides by the number of elements.
    """
    op = "kl_div"
    reduction = _reduction(op, size_average, reduce, reduction, allowed=("mean", "batchmean", "sum", "none"))
    x, t = _pair(op, input, target)
    return KLDiv.apply(x, t, reduction=reduction, log_target=bool(log_target))


# -------------------------------------------------- cross entropy and nll loss
class CrossEntropy(Function):
    """log-softmax over dim 1 and the (weighted, label-smoothed) NLL of class indices, fused.

    Per element ``i`` with target ``t`` (``w = 1`` without weights, eps = label_smoothing):
    ``loss_i = -(1 - eps) w_t logp_t - (eps / C) sum_c w_c logp_c``; ignored elements give 0;
    ``mean`` divides by the sum of ``w_t`` over the elements not ignored (as PyTorch).
    """

    saves_inputs = False

    def forward(self, x, target, weight, ignore_index, reduction, label_smoothing):
        C = x.shape[1]
        valid = target != ignore_index
        t = xp.where(valid, target, 0)[:, None]
        validf = valid.astype(x.dtype)
        wt = weight[t[:, 0]] * validf if weight is not None else validf
        z = x - x.max(axis=1, keepdims=True)
        eps = label_smoothing
        picked = xp.take_along_axis(z, t, axis=1)[:, 0]
        if eps:
            wsum = weight.sum() if weight is not None else x.dtype.type(C)
            zsum = (z * _on_dim1(weight, x.ndim)).sum(axis=1) if weight is not None else z.sum(axis=1)
        xp.exp(z, out=z)
        se = z.sum(axis=1, keepdims=True)
        lse = xp.log(se)[:, 0]
        loss = (1 - eps) * wt * (lse - picked)
        if eps:
            loss += (eps / C) * validf * (wsum * lse - zsum)
        self.divisor = wt.sum()
        self.reduction = reduction
        if any(self.needs_input_grad):
            z /= se  # softmax, kept for backward
            self.p, self.t, self.wt, self.valid, self.weight, self.eps = z, t, wt, validf, weight, eps
            if eps:
                self.wsum = wsum
        return _reduce(loss, reduction, self.divisor)

    def backward(self, grad_output):
        p, t, wt, eps = self.p, self.t, self.wt, self.eps
        g = _grad_scale(grad_output, self.reduction, self.divisor)
        g = xp.broadcast_to(g, wt.shape)
        C = p.shape[1]
        row = (1 - eps) * wt
        if eps:
            row = row + (eps / C) * self.wsum * self.valid
        grad = p * (g * row)[:, None]
        at_target = xp.take_along_axis(grad, t, axis=1)
        at_target -= (g * ((1 - eps) * wt))[:, None]
        xp.put_along_axis(grad, t, at_target, axis=1)
        if eps:
            w = _on_dim1(self.weight, p.ndim) if self.weight is not None else 1
            grad -= (g * self.valid * (eps / C))[:, None] * w
        return grad


def _on_dim1(v, ndim):
    """A per-class vector shaped to broadcast along dim 1 of an ``ndim``-d array."""
    return v.reshape((1, -1) + (1,) * (ndim - 2))


class CrossEntropyProbs(Function):
    """Cross entropy against class probabilities: ``loss_i = -sum_c w_c t_c logp_c``."""

    saves_inputs = False

    def forward(self, x, target, weight, reduction, label_smoothing):
        C = x.shape[1]
        logp = x - x.max(axis=1, keepdims=True)
        logp -= xp.log(xp.exp(logp).sum(axis=1, keepdims=True))
        t = target * (1 - label_smoothing) + label_smoothing / C if label_smoothing else target
        wt = t * _on_dim1(weight, x.ndim) if weight is not None else t
        loss = -(logp * wt).sum(axis=1)
        self.reduction, self.divisor = reduction, loss.size
        self.logp, self.wt, self.weight, self.eps = logp, wt, weight, label_smoothing
        return _reduce(loss, reduction, self.divisor)

    def backward(self, grad_output):
        g = _grad_scale(grad_output, self.reduction, self.divisor)
        g = xp.broadcast_to(g, self.logp.shape[:1] + self.logp.shape[2:])[:, None]
        gx = gt = None
        if self.needs_input_grad[0]:
            gx = xp.exp(self.logp)
            gx *= self.wt.sum(axis=1, keepdims=True)
            gx -= self.wt
            gx *= g
        if self.needs_input_grad[1]:
            gt = -self.logp * g * (1 - self.eps)
            if self.weight is not None:
                gt *= _on_dim1(self.weight, gt.ndim)
        return gx, gt


class NLLLoss(Function):
    """Negative log-likelihood of class indices on log-probabilities over dim 1."""

    saves_inputs = False

    def forward(self, x, target, weight, ignore_index, reduction):
        valid = target != ignore_index
        t = xp.where(valid, target, 0)[:, None]
        validf = valid.astype(x.dtype)
        wt = weight[t[:, 0]] * validf if weight is not None else validf
        loss = -wt * xp.take_along_axis(x, t, axis=1)[:, 0]
        self.shape, self.t, self.wt, self.reduction, self.divisor = x.shape, t, wt, reduction, wt.sum()
        return _reduce(loss, reduction, self.divisor)

    def backward(self, grad_output):
        g = _grad_scale(grad_output, self.reduction, self.divisor)
        grad = xp.zeros(self.shape, dtype=self.wt.dtype)
        xp.put_along_axis(grad, self.t, (-g * self.wt)[:, None], axis=1)
        return grad


def _class_target(op, x, t, ignore_index):
    """Check class indices ``t`` against logits/log-probs ``x``; returns ``(x, t)`` batched, and if they weren't.

    ``x`` is ``(N, C, d1, ...)`` with ``t`` of shape ``(N, d1, ...)``, or unbatched
    ``(C,)`` with a 0-d ``t`` (then both get a batch dim of 1).
    """
    if x.ndim == 1:
        if t.ndim != 0:
            raise ShapeError(
                f"{op}: expected a 0-d target (one class index) for the unbatched input of shape "
                f"{fmt_shape(x.shape)}, got target of shape {fmt_shape(t.shape)}"
            )
        batched = _check_labels(op, _Unbatch.apply(x), t[None], ignore_index)
        return batched + (True,)
    want = (x.shape[0],) + x.shape[2:]
    if t.shape != want:
        raise ShapeError(
            f"{op}: expected target of shape (N, d1, ...) = {fmt_shape(want)} for input of shape (N, C, d1, ...) = "
            f"{fmt_shape(x.shape)}, got target of shape {fmt_shape(t.shape)}"
        )
    return _check_labels(op, x, t, ignore_index) + (False,)


def _check_labels(op, x, t, ignore_index):
    C = x.shape[1]
    if t.size:
        bad = (t != ignore_index) & ((t < 0) | (t >= C))
        if bad.any():
            pos = tuple(int(i) for i in xp.argwhere(bad)[0])
            raise IndexOutOfRange(
                f"{op}: target label {int(t[pos])} at position {pos} is out of range [0, {C}) "
                f"for an input with {C} classes (ignore_index={ignore_index})"
            )
    return x, t


def _class_weight(op, weight, C, dtype):
    if weight is None:
        return None
    w = _as_tensor(weight)._data
    if w.shape != (C,):
        raise ShapeError(f"{op}: weight must have one value per class, shape ({C},), got {fmt_shape(w.shape)}")
    return w.astype(dtype, copy=False)


def _logits(op, input):
    x = _as_tensor(input)
    if x.dtype.kind != "f":
        raise DTypeError(
            f"{op}: expected a floating point input of shape (N, C) or (N, C, d1, ...), got dtype {x.dtype}"
        )
    if x.ndim == 0:
        raise ShapeError(f"{op}: expected input of shape (C,), (N, C) or (N, C, d1, ...), got a 0-d tensor")
    return x


class _Unbatch(Function):
    """Presents an unbatched ``(C,)`` tensor as ``(1, C)`` (a view)."""

    saves_inputs = False
    is_view = True

    def forward(self, x):
        return x[None]

    def backward(self, grad_output):
        return grad_output[0]


class _Squeeze0(Function):
    """The ``(1,)`` per-element loss of an unbatched input back to 0-d."""

    saves_inputs = False
    is_view = True

    def forward(self, x):
        return x[0]

    def backward(self, grad_output):
        return grad_output[None]


@public(method=False)
def cross_entropy(input, target, weight=None, size_average=None, ignore_index: int = -100, reduce=None,
                  reduction: str = "mean", label_smoothing: float = 0.0):
    """Cross entropy between logits ``input`` and ``target`` (fused log-softmax + NLL).

    Args:
        input: logits, ``(N, C)``, ``(N, C, d1, ...)`` or unbatched ``(C,)``.
        target: class indices (integer) of shape ``(N,)`` / ``(N, d1, ...)`` / ``()``,
            or class probabilities (float) of the input's shape.
        weight: ``(C,)`` rescaling of each class.
        ignore_index: class-index targets equal to it add nothing (and don't count in the mean).
        label_smoothing: mix the target with the uniform distribution by this amount.

    Example:
        >>> logits = gradstep.randn(4, 10, requires_grad=True)
        >>> loss = cross_entropy(logits, gradstep.tensor([1, 0, 9, 3]))
    """
    op = "cross_entropy"
    reduction = _reduction(op, size_average, reduce, reduction)
    x = _logits(op, input)
    t = _as_tensor(target)
    if not 0.0 <= label_smoothing <= 1.0:
        raise InvalidArgument(f"{op}: label_smoothing must be between 0.0 and 1.0, got {label_smoothing}")
    C = x.shape[-1] if x.ndim == 1 else x.shape[1]
    if t.dtype.kind == "f":
        if t.shape != x.shape:
            raise DTypeError(
                f"{op}: expected class indices of integer dtype (int64) or probabilities of shape (N, C), got "
                f"{t.dtype} of shape {fmt_shape(t.shape)} for input of shape {fmt_shape(x.shape)}; "
                f"for class indices use target.long()"
            )
        if ignore_index != -100:
            raise InvalidArgument(f"{op}: ignore_index is not supported for class-probability (float) targets")
        dtype = result_type(x, t)
        x, t = x.to(dtype), t.to(dtype)
        w = _class_weight(op, weight, C, dtype)
        unbatched = x.ndim == 1
        xb, tb = (_Unbatch.apply(x), _Unbatch.apply(t)) if unbatched else (x, t)
        out = CrossEntropyProbs.apply(xb, tb, weight=w, reduction=reduction, label_smoothing=float(label_smoothing))
    elif t.dtype.kind in "iu":
        xb, tb, unbatched = _class_target(op, x, t._data, ignore_index)
        w = _class_weight(op, weight, C, x.dtype)
        out = CrossEntropy.apply(xb, target=tb, weight=w, ignore_index=ignore_index, reduction=reduction,
                                 label_smoothing=float(label_smoothing))
    else:
        raise DTypeError(
            f"{op}: expected class indices of integer dtype (int64) or probabilities of shape (N, C), got "
            f"{t.dtype} of shape {fmt_shape(t.shape)}"
        )
    if unbatched and reduction == "none":
        return _Squeeze0.apply(out)
    return out


@public(method=False)
def nll_loss(input, target, weight=None, size_average=None, ignore_index: int = -100, reduce=None,
             reduction: str = "mean"):
    """Negative log-likelihood of class indices ``target`` given log-probabilities ``input``.

    Shape:
        input ``(N, C)``, ``(N, C, d1, ...)`` or ``(C,)``; target ``(N,)``, ``(N, d1, ...)`` or ``()``.
    """
    op = "nll_loss"
    reduction = _reduction(op, size_average, reduce, reduction)
    x = _logits(op, input)
    t = _as_tensor(target)
    if t.dtype.kind not in "iu":
        raise DTypeError(
            f"{op}: expected class indices of integer dtype (int64), got {t.dtype} of shape {fmt_shape(t.shape)}"
        )
    xb, tb, _ = _class_target(op, x, t._data, ignore_index)
    w = _class_weight(op, weight, xb.shape[1], x.dtype)
    out = NLLLoss.apply(xb, target=tb, weight=w, ignore_index=ignore_index, reduction=reduction)
    if x.ndim == 1 and reduction == "none":
        return _Squeeze0.apply(out)
    return out

