"""Scaled dot-product attention as one fused primitive.

Forward: ``S = scale * Q K^T`` (+ mask), ``P = softmax(S)`` (rows with every
position masked give 0, as in PyTorch), optional dropout on ``P``, ``O = P V``.
The node keeps ``P`` (and the dropout mask); the backward is the standard
attention vector-Jacobian product with batched matmuls:

    dV = P^T dO,   dP = dO V^T,   dS = P * (dP - rowsum(dP * P)),
    dQ = scale * dS K,   dK = scale * dS^T Q,   d(float mask) = dS.
"""
from __future__ import annotations

import math

from ..autograd.function import Function
from ..autograd.tensor import _as_tensor
from ..backend import xp
from ..errors import DTypeError, ShapeError, fmt_shape
from ._registry import public
from .dropout import _check_p, _mask
from ..errors import InvalidArgument


class ScaledDotProductAttention(Function):
    def forward(self, q, k, v, *float_mask, neg_mask, scale, dropout_p, groups):
        if groups > 1:  # grouped-query attention: query head h reads key/value head h // groups
            k = xp.repeat(k, groups, axis=-3)
            v = xp.repeat(v, groups, axis=-3)
        self.q, self.k, self.v = q, k, v
        self.scale, self.groups = scale, groups
        s = _scores(q, k, scale, float_mask, neg_mask)
        if not _softmax_global_shift(s):  # rare: rows far below the others, or fully masked
            s = _scores(q, k, scale, float_mask, neg_mask)
            _softmax_rows(s)
        self.p = s
        if dropout_p > 0:
            self.drop = _mask(s.shape, dropout_p, s.dtype)
            self.pd = s * self.drop
        else:
            self.drop, self.pd = None, s
        return self.pd @ v

    def backward(self, grad_output):
        need = self.needs_input_grad
        q, k, v, p, scale = self.q, self.k, self.v, self.p, self.scale
        dv = xp.swapaxes(self.pd, -1, -2) @ grad_output if need[2] else None
        dq = dk = dmask = None
        if need[0] or need[1] or (len(need) > 3 and need[3]):
            ds = grad_output @ xp.swapaxes(v, -1, -2)
            if self.drop is not None:
                ds *= self.drop
            rowsum = xp.einsum("...ij,...ij->...i", ds, p)
            ds -= rowsum[..., None]
            ds *= p
            if need[0]:
                dq = ds @ k
                dq *= scale
            if need[1]:
                dk = xp.swapaxes(ds, -1, -2) @ q
                dk *= scale
            if len(need) > 3 and need[3]:
                dmask = ds
        if self.groups > 1:
            dk = _sum_groups(dk, self.groups)
            dv = _sum_groups(dv, self.groups)
        grads = (dq, dk, dv)
        return grads + (dmask,) if len(need) > 3 else grads


def _additive(neg_mask, dtype):
    """A bool "masked out" matrix as 0 / -inf to add to the scores."""
    add = xp.zeros(neg_mask.shape, dtype)
    add[neg_mask] = -xp.inf
    return add


def _scores(q, k, scale, float_mask, neg_mask):
    """``scale * q k^T`` plus the masks (-inf where ``neg_mask`` is True)."""
    s = q @ xp.swapaxes(k, -1, -2)
    s *= scale
    if float_mask:
        s += float_mask[0]  # the public function checked it broadcasts to s's shape
    if neg_mask is not None:
        if neg_mask.shape == s.shape[-2:]:  # causal or a 2-d mask: one broadcast add, not a slow where=
            s += _additive(neg_mask, s.dtype)
        else:
            xp.copyto(s, -xp.inf, where=neg_mask)
    return s


def _softmax_global_shift(s):
    """Softmax over the last axis of the scores ``s`` in place, shifted by their global maximum.

    NumPy's max over a short last axis costs as much as the rest of the softmax, so the shift
    that keeps exp from overflowing is the maximum of all scores rather than each row's. That
    is exact as long as every row's sum of exponentials stays well inside float32's range;
    returns False (``s`` spoiled) when some row's sum is below 1e-20 — a row far below the
    others, or fully masked — and the caller recomputes with per-row maxima.
    """
    width = s.shape[-1]
    if s.size == 0:
        return True
    flat = s.reshape(-1, width)
    shift = flat.max()
    if not xp.isfinite(shift):
        return False
    flat -= shift
    xp.exp(flat, out=flat)
    denom = flat @ xp.ones(width, s.dtype)  # row sums as a matrix-vector product: ~5x faster than sum
    if denom.min() < 1e-20:
        return False
    flat /= denom[:, None]
    return True


def _softmax_rows(s):
    """Softmax over the last axis with each row's own maximum, in place; fully masked rows give 0."""
    with xp.errstate(invalid="ignore"):
        row_max = s.max(axis=-1, keepdims=True)
    row_max[~xp.isfinite(row_max)] = 0
    s -= row_max
    xp.exp(s, out=s)
    denom = s.sum(axis=-1, keepdims=True)
    denom[denom == 0] = 1  # fully masked rows: all zeros (PyTorch's safe softmax)
    s /= denom


def _sum_groups(g, groups):
    """Adjoint of ``repeat(x, groups, axis=-3)``: sum each run of ``groups`` heads."""
    if g is None:
        return None
    h = g.shape[-3] // groups
    return g.reshape(g.shape[:-3] + (h, groups) + g.shape[-2:]).sum(axis=-3)


def _batch_shape(op, q, k, v, groups):
    def heads(shape):  # key/value as seen after repeating their heads for grouped-query attention
        return shape[:-3] + (shape[-3] * groups,) if groups > 1 else shape[:-2]

    try:
        return xp.broadcast_shapes(q.shape[:-2], heads(k.shape), heads(v.shape))
    except ValueError:
        raise ShapeError(
            f"{op}: the batch dims of query {fmt_shape(q.shape)}, key {fmt_shape(k.shape)} and value "
            f"{fmt_shape(v.shape)} (all but the last two) can't be broadcast together"
        ) from None


@public(method=False)
def scaled_dot_product_attention(query, key, value, attn_mask=None, dropout_p: float = 0.0,
                                 is_causal: bool = False, scale=None, enable_gqa: bool = False):
    """``softmax(query @ key^T * scale + mask) @ value``, fused.

    Args:
        query: ``(..., L, E)``; key: ``(..., S, E)``; value: ``(..., S, Ev)``.
        attn_mask: bool (True = takes part) or float (added to the scores),
            broadcastable to ``(..., L, S)``.
        dropout_p: dropout on the attention weights (global generator).
        is_causal: position ``i`` of the query sees key positions ``<= i``
            (top-left aligned, like PyTorch); exclusive with ``attn_mask``.
        scale: defaults to ``1 / sqrt(E)``.
        enable_gqa: key/value may have fewer heads (dim -3) than query,
            dividing it; query head ``h`` uses key/value head ``h // (Hq / Hkv)``.

    Shape:
        output ``(..., L, Ev)``.
    """
    op = "scaled_dot_product_attention"
    q, k, v = _as_tensor(query), _as_tensor(key), _as_tensor(value)
    if q.ndim < 2 or k.ndim < 2 or v.ndim < 2:
        raise ShapeError(
            f"{op}: expected query (..., L, E), key (..., S, E) and value (..., S, Ev) of at least 2 dims, "
            f"got {fmt_shape(q.shape)}, {fmt_shape(k.shape)} and {fmt_shape(v.shape)}"
        )
    dtypes = {q.dtype, k.dtype, v.dtype}
    if len(dtypes) != 1 or q.dtype.kind != "f":
        raise DTypeError(
            f"{op}: expected query, key and value of the same floating dtype, got {q.dtype}, {k.dtype} and {v.dtype}"
        )
    L, E, S = q.shape[-2], q.shape[-1], k.shape[-2]
    if k.shape[-1] != E or v.shape[-2] != S:
        raise ShapeError(
            f"{op}: expected query (..., L, E), key (..., S, E) and value (..., S, Ev), got query "
            f"{fmt_shape(q.shape)}, key {fmt_shape(k.shape)} and value {fmt_shape(v.shape)}"
        )
    groups = 1
    if enable_gqa and q.ndim >= 3 and k.ndim >= 3 and k.shape[-3] != q.shape[-3]:
        hq, hkv = q.shape[-3], k.shape[-3]
        if hkv == 0 or hq % hkv or v.shape[-3] != hkv:
            raise ShapeError(
                f"{op}: with enable_gqa the number of query heads {hq} must be a multiple of the key/value "
                f"heads, got key {fmt_shape(k.shape)} and value {fmt_shape(v.shape)}"
            )
        groups = hq // hkv
    batch = _batch_shape(op, q, k, v, groups)
    _check_p(dropout_p, op)
    scores_shape = tuple(batch) + (L, S)

    inputs = [q, k, v]
    neg_mask = None
    if is_causal:
        if attn_mask is not None:
            raise InvalidArgument(f"{op}: pass either attn_mask or is_causal=True, not both")
        neg_mask = xp.triu(xp.ones((L, S), dtype=bool), 1)
    elif attn_mask is not None:
        m = _as_tensor(attn_mask)
        try:
            fits = xp.broadcast_shapes(m.shape, scores_shape) == scores_shape
        except ValueError:
            fits = False
        if not fits:
            raise ShapeError(
                f"{op}: attn_mask of shape {fmt_shape(m.shape)} can't be broadcast to the attention weights' "
                f"shape (..., L, S) = {fmt_shape(scores_shape)}"
            )
        if m.dtype == bool:
            neg_mask = ~m._data
        elif m.dtype == q.dtype:
            inputs.append(m)
        else:
            raise DTypeError(f"{op}: attn_mask must be bool or of the query's dtype {q.dtype}, got {m.dtype}")
    if scale is None:
        scale = 1.0 / math.sqrt(E) if E else 1.0
    return ScaledDotProductAttention.apply(
        *inputs, neg_mask=neg_mask, scale=float(scale), dropout_p=float(dropout_p), groups=groups
    )
