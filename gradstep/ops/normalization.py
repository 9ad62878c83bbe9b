"""Normalization layers as fused primitives: layer_norm, batch_norm, group_norm.

Each one is a single ``Function``: the forward normalizes (``xhat = (x - mean)
* rstd``, ``rstd = 1 / sqrt(var + eps)``) and applies the affine transform;
the backward uses the closed form of the normalization's vector-Jacobian
product over the ``n`` normalized elements,

    dx = rstd * (gy - mean(gy) - xhat * mean(gy * xhat)),   gy = grad_output * weight,

so no graph of a dozen small ops is built or walked.
"""
from __future__ import annotations

import math

from .. import native
from ..autograd.function import Function
from ..autograd.tensor import Tensor, _as_tensor
from ..backend import xp
from ..errors import ShapeError, fmt_shape
from ._helpers import require_float
from ._registry import public
from ..errors import ArgumentTypeError, InvalidArgument


def _affine_inputs(op, x, weight, bias, shape, what):
    """weight/bias as Tensors of x's dtype, checked against ``shape``; returns (inputs, has_w, has_b)."""
    inputs = [x]
    for name, p in (("weight", weight), ("bias", bias)):
        if p is None:
            continue
        p = _as_tensor(p)
        if tuple(p.shape) != tuple(shape):
            raise ShapeError(
                f"{op}: {name} must have shape {fmt_shape(shape)} ({what}), got {fmt_shape(p.shape)}"
            )
        if p._data.dtype != x._data.dtype:
            p = p.to(x._data.dtype)
        inputs.append(p)
    return inputs, weight is not None, bias is not None


def _split(params, has_w, has_b):
    w = params[0] if has_w else None
    b = params[has_w] if has_b else None
    return w, b


def _ones(n, dtype):
    return xp.ones(n, dtype=dtype)


def _row_stats(x2, eps):
    """``xhat`` and ``rstd`` (shape ``(M, 1)``) normalizing each row of the 2-d ``x2``.

    Row sums go through matrix-vector products, several times faster than
    ``mean(axis=1)`` in NumPy; the variance is the biased one, from the centred rows.
    """
    n = x2.shape[1]
    mean = x2 @ _ones(n, x2.dtype)
    mean /= max(n, 1)
    xc = x2 - mean[:, None]
    var = xp.einsum("ij,ij->i", xc, xc)
    var /= max(n, 1)
    var += eps
    rstd = (1.0 / xp.sqrt(var, out=var))[:, None]
    xc *= rstd  # xc becomes xhat in place
    return xc, rstd


def _row_norm_backward(gy, xhat, rstd, c1, c2, buf=None):
    """``rstd * (gy - mean(gy) - xhat * mean(gy * xhat))`` per row, computed in ``gy``'s storage.

    ``c1`` and ``c2`` are the row sums of ``gy`` and ``gy * xhat``; ``buf`` an
    optional scratch array of ``xhat``'s shape.
    """
    n = max(xhat.shape[1], 1)
    c1 /= n
    c2 /= n
    gy -= c1[:, None]
    buf = xp.multiply(xhat, c2[:, None], out=buf)
    gy -= buf
    gy *= rstd
    return gy


def _col_sum(a2):
    """Sum over the rows of a 2-d array (a vector-matrix product: faster than ``sum(axis=0)``)."""
    return _ones(a2.shape[0], a2.dtype) @ a2


# ------------------------------------------------------------------ layer_norm
class LayerNorm(Function):
    """Row-wise normalization; the compiled kernels (when built) do each direction in one pass per row."""

    saves_inputs = False  # keeps xhat, rstd and its own reference to weight

    fresh_grads = True  # backward returns new arrays: leaves keep them without a copy

    def forward(self, x, *params, n, k, eps, has_w, has_b):
        w, b = _split(params, has_w, has_b)
        shape = x.shape
        x2 = x.reshape(math.prod(shape[:x.ndim - k]), n)
        self.has_w, self.has_b = has_w, has_b
        self.w = None if w is None else w.reshape(n)
        self.native = native.kernels if x.dtype in _NATIVE_FLOATS else None
        if self.native is not None:
            x2 = xp.ascontiguousarray(x2)
            out = xp.empty_like(x2)
            self.xhat = xp.empty_like(x2) if True in self.needs_input_grad else None
            self.rstd = xp.empty(x2.shape[0], x.dtype)
            self.native.layer_norm_forward(x2, _vector(w, n), _vector(b, n), out, self.xhat, self.rstd, float(eps))
            return out.reshape(shape)
        xhat, rstd = _row_stats(x2, eps)
        self.xhat, self.rstd = xhat, rstd
        if True in self.needs_input_grad:  # xhat is saved for backward: the output must be a new array
            out = xhat * self.w if w is not None else xhat.copy()
        else:  # inference: nothing is saved, work in place
            out = xhat
            if w is not None:
                out *= self.w
        if b is not None:
            out += b.reshape(n)
        return out.reshape(shape)

    def backward(self, grad_output):
        if self.native is not None:
            return self._native_backward(grad_output)
        xhat, rstd, w = self.xhat, self.rstd, self.w
        need = self.needs_input_grad
        g = grad_output.reshape(xhat.shape)
        grads = [None]
        gx = gw = gb = None
        if self.has_w and need[1]:
            gx = g * xhat
            gw = _col_sum(gx)
        if self.has_b and need[-1]:
            gb = _col_sum(g)
        if need[0]:
            if w is not None:
                # sum(gy * xhat) with gy = g * w is (g * xhat) @ w: no extra pass when g * xhat exists
                c1 = g @ w
                gy = g * w
                c2 = gx @ w if gx is not None else xp.einsum("ij,ij->i", gy, xhat)
            else:
                c1 = g @ _ones(g.shape[1], g.dtype)
                c2 = xp.einsum("ij,ij->i", g, xhat)
                gy = g.copy()
            grads[0] = _row_norm_backward(gy, xhat, rstd, c1, c2, gx).reshape(grad_output.shape)
        if self.has_w:
            grads.append(gw.reshape(self.inputs[1].shape) if gw is not None else None)
        if self.has_b:
            grads.append(gb.reshape(self.inputs[-1].shape) if gb is not None else None)
        return tuple(grads)

    def _native_backward(self, grad_output):
        xhat, need, n = self.xhat, self.needs_input_grad, self.xhat.shape[1]
        g = xp.ascontiguousarray(grad_output.reshape(xhat.shape))
        dx = xp.empty_like(xhat) if need[0] else None
        gw = xp.zeros(n, xp.float64) if self.has_w and need[1] else None
        gb = xp.zeros(n, xp.float64) if self.has_b and need[-1] else None
        self.native.layer_norm_backward(g, xhat, self.rstd, _vector(self.w, n), dx, gw, gb)
        grads = [None if dx is None else dx.reshape(grad_output.shape)]
        if self.has_w:
            grads.append(None if gw is None else gw.astype(xhat.dtype).reshape(self.inputs[1].shape))
        if self.has_b:
            grads.append(None if gb is None else gb.astype(xhat.dtype).reshape(self.inputs[-1].shape))
        return tuple(grads)


_NATIVE_FLOATS = (xp.dtype(xp.float32), xp.dtype(xp.float64))


def _vector(a, n):
    """A weight or bias as the contiguous (n,) array the kernels take (None stays None)."""
    return None if a is None else xp.ascontiguousarray(a.reshape(n))


@public(method=False)
def layer_norm(input, normalized_shape, weight=None, bias=None, eps: float = 1e-5):
    """Normalize over the trailing ``normalized_shape`` dims, then scale by weight and shift by bias.

    Args:
        input: tensor of shape ``(*, *normalized_shape)``.
        normalized_shape: int or tuple, the trailing dims to normalize over.
        weight, bias: optional tensors of shape ``normalized_shape``.
        eps: added to the (biased) variance.

    Shape:
        output has the shape of ``input``.
    """
    x = _as_tensor(input)
    require_float(x, "layer_norm")
    if isinstance(normalized_shape, int):
        normalized_shape = (normalized_shape,)
    normalized_shape = tuple(int(s) for s in normalized_shape)
    k = len(normalized_shape)
    if k == 0 or x.ndim < k or tuple(x.shape[x.ndim - k:]) != normalized_shape:
        raise ShapeError(
            f"layer_norm: input of shape {fmt_shape(x.shape)} doesn't end with normalized_shape "
            f"{fmt_shape(normalized_shape)}; expected input of shape (*, {', '.join(map(str, normalized_shape))})"
        )
    inputs, has_w, has_b = _affine_inputs("layer_norm", x, weight, bias, normalized_shape, "normalized_shape")
    return LayerNorm.apply(*inputs, n=math.prod(normalized_shape), k=k, eps=eps, has_w=has_w, has_b=has_b)


# ------------------------------------------------------------------ batch_norm
def _chan_sum(a3):
    """Per-channel sum of an ``(N, C, L)`` array -> ``(C,)``, via a vector-matrix product."""
    N, C, L = a3.shape
    s = _ones(N, a3.dtype) @ a3.reshape(N, C * L)
    return s if L == 1 else s.reshape(C, L).sum(axis=1)


def _as3d(a):
    """``(N, C, *)`` viewed as ``(N, C, L)``."""
    return a.reshape(a.shape[0], a.shape[1], math.prod(a.shape[2:]))


class BatchNorm(Function):
    saves_inputs = False

    def forward(self, x, *params, training, running_mean, running_var, momentum, eps, has_w, has_b):
        w, b = _split(params, has_w, has_b)
        x3 = _as3d(x)
        N, C, L = x3.shape
        count = N * L
        self.training, self.count, self.has_w, self.has_b, self.w = training, count, has_w, has_b, w
        if training:
            mean = _chan_sum(x3)
            mean /= count
            xhat = x3 - mean[:, None]
            var = _chan_sum(xhat * xhat)
            var /= count
            rstd = 1.0 / xp.sqrt(var + eps)
            xhat *= rstd[:, None]
            if running_mean is not None:
                # In place, like PyTorch's buffers; the running variance is the unbiased one.
                running_mean *= 1.0 - momentum
                running_mean += (momentum * mean).astype(running_mean.dtype, copy=False)
            if running_var is not None:
                running_var *= 1.0 - momentum
                running_var += (var * (momentum * count / max(count - 1, 1))).astype(running_var.dtype, copy=False)
            self.xhat, self.rstd = xhat, rstd
            out = xhat * w[:, None] if w is not None else xhat.copy()
            if b is not None:
                out += b[:, None]
        else:
            rstd = (1.0 / xp.sqrt(running_var + eps)).astype(x.dtype, copy=False)
            mean = running_mean.astype(x.dtype, copy=False)
            scale = rstd * w if w is not None else rstd
            shift = -mean * scale
            if b is not None:
                shift += b
            out = x3 * scale[:, None]
            out += shift[:, None]
            self.rstd, self.mean, self.scale = rstd, mean, scale
            self.x3 = x3 if has_w else None  # only weight's gradient needs the input
        return out.reshape(x.shape)

    def backward(self, grad_output):
        g3 = _as3d(grad_output)
        need = self.needs_input_grad
        need_w, need_b = self.has_w and need[1], self.has_b and need[-1]
        grads = [None]
        gw = gb = None
        if self.training:
            xhat, n = self.xhat, self.count
            if need[0] or need_w:
                gw = _chan_sum(g3 * xhat)
            if need[0] or need_b:
                gb = _chan_sum(g3)
            if need[0]:
                dx = xhat * (gw / n)[:, None]
                dx -= g3
                dx += (gb / n)[:, None]
                dx *= -(self.rstd * self.w if self.w is not None else self.rstd)[:, None]
                grads[0] = dx.reshape(grad_output.shape)
        else:
            if need[0]:
                grads[0] = (g3 * self.scale[:, None]).reshape(grad_output.shape)
            if need_b or need_w:
                gb = _chan_sum(g3)
            if need_w:
                gw = (_chan_sum(g3 * self.x3) - self.mean * gb) * self.rstd
        if self.has_w:
            grads.append(gw if need_w else None)
        if self.has_b:
            grads.append(gb if need_b else None)
        return tuple(grads)


def _buffer(t, name, C):
    if t is None:
        return None
    if not isinstance(t, Tensor):
        t = _as_tensor(t)
    if tuple(t.shape) != (C,):
        raise ShapeError(f"batch_norm: {name} must have shape ({C},) (one value per channel), got {fmt_shape(t.shape)}")
    return t


@public(method=False)
def batch_norm(input, running_mean, running_var, weight=None, bias=None, training: bool = False,
               momentum: float = 0.1, eps: float = 1e-5):
    """Normalize each channel (dim 1) over the batch and spatial dims.

    In training mode the batch statistics are used and ``running_mean`` /
    ``running_var`` (if given) are updated in place:
    ``running = (1 - momentum) * running + momentum * batch_stat``, with the
    unbiased batch variance. In evaluation mode the running statistics are used.

    Shape:
        input: ``(N, C)``, ``(N, C, L)``, ``(N, C, H, W)``, ...; output: same.
        running_mean, running_var, weight, bias: ``(C,)``.
    """
    x = _as_tensor(input)
    require_float(x, "batch_norm")
    if x.ndim < 2:
        raise ShapeError(f"batch_norm: expected input of shape (N, C) or (N, C, *), got {fmt_shape(x.shape)}")
    C = x.shape[1]
    running_mean = _buffer(running_mean, "running_mean", C)
    running_var = _buffer(running_var, "running_var", C)
    if not training and (running_mean is None or running_var is None):
        raise InvalidArgument("batch_norm: running_mean and running_var must be given in evaluation mode (training=False)")
    if training:
        count = x._data.size // max(C, 1)
        if count <= 1:
            raise InvalidArgument(
                f"batch_norm: expected more than 1 value per channel when training, got input of shape "
                f"{fmt_shape(x.shape)}"
            )
        if momentum is None:
            raise ArgumentTypeError("batch_norm: momentum must be a float (the module computes the cumulative factor itself)")
    inputs, has_w, has_b = _affine_inputs("batch_norm", x, weight, bias, (C,), "one value per channel")
    out = BatchNorm.apply(
        *inputs, training=bool(training),
        running_mean=None if running_mean is None else running_mean._data,
        running_var=None if running_var is None else running_var._data,
        momentum=float(momentum), eps=eps, has_w=has_w, has_b=has_b,
    )
    if training:
        for buf in (running_mean, running_var):
            if buf is not None:
                buf._version[0] += 1
    return out


# ------------------------------------------------------------------ group_norm
class GroupNorm(Function):
    saves_inputs = False

    def forward(self, x, *params, num_groups, eps, has_w, has_b):
        w, b = _split(params, has_w, has_b)
        x3 = _as3d(x)
        N, C, L = x3.shape
        x2 = x3.reshape(N * num_groups, (C // num_groups) * L)
        xhat2, rstd = _row_stats(x2, eps)
        self.xhat2, self.rstd, self.w, self.has_w, self.has_b = xhat2, rstd, w, has_w, has_b
        xhat3 = xhat2.reshape(N, C, L)
        out = xhat3 * w[:, None] if w is not None else xhat3.copy()
        if b is not None:
            out += b[:, None]
        return out.reshape(x.shape)

    def backward(self, grad_output):
        need, w, xhat2 = self.needs_input_grad, self.w, self.xhat2
        g3 = _as3d(grad_output)
        grads = [None]
        if need[0]:
            gy = (g3 * w[:, None] if w is not None else g3.copy()).reshape(xhat2.shape)
            c1 = gy @ _ones(gy.shape[1], gy.dtype)
            c2 = xp.einsum("ij,ij->i", gy, xhat2)
            dx = _row_norm_backward(gy, xhat2, self.rstd, c1, c2)
            grads[0] = dx.reshape(grad_output.shape)
        if self.has_w:
            grads.append(_chan_sum(g3 * xhat2.reshape(g3.shape)) if need[1] else None)
        if self.has_b:
            grads.append(_chan_sum(g3) if need[-1] else None)
        return tuple(grads)


@public(method=False)
def group_norm(input, num_groups: int, weight=None, bias=None, eps: float = 1e-5):
    """Split the channels into ``num_groups`` groups and normalize each group of each sample.

    Shape:
        input: ``(N, C, *)`` with ``C`` divisible by ``num_groups``; output: same.
        weight, bias: ``(C,)`` (per channel).
    """
    x = _as_tensor(input)
    require_float(x, "group_norm")
    if x.ndim < 2:
        raise ShapeError(f"group_norm: expected input of shape (N, C, *), got {fmt_shape(x.shape)}")
    C = x.shape[1]
    if not isinstance(num_groups, int) or num_groups <= 0 or C % num_groups:
        raise InvalidArgument(
            f"group_norm: the number of channels C={C} of input {fmt_shape(x.shape)} must be divisible "
            f"by num_groups, got num_groups={num_groups}"
        )
    inputs, has_w, has_b = _affine_inputs("group_norm", x, weight, bias, (C,), "one value per channel")
    return GroupNorm.apply(*inputs, num_groups=num_groups, eps=eps, has_w=has_w, has_b=has_b)
