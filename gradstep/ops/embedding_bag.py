"""``embedding_bag``: sums, means or maxima of bags of embedding rows, without the ``(*, D)`` lookup tensor.

Bags are contiguous runs of the flat index array (``offsets`` gives their
starts; a 2-d input is ``B`` bags of equal length). The forward gathers the
used rows once and reduces each bag with ``ufunc.reduceat`` over the starts
of the non-empty bags (empty bags are zeros, as PyTorch). ``padding_idx``
entries take no part: they are masked out of sums and means (and out of the
mean's count) and never win a max. The weight gradient is a scatter-add of
each element's share of its bag's gradient into its row (the sort + reduceat
or ``add.at`` paths of :func:`embedding`); max mode sends each bag's gradient,
per column, to the first element holding the maximum.
"""
from __future__ import annotations

import numpy

from ..autograd.function import Function
from ..autograd.tensor import _as_tensor
from ..backend import xp
from ..errors import DTypeError, InvalidArgument, NotSupported, ShapeError, fmt_shape
from ._registry import public
from .embedding import _check_indices, _renorm_rows, _scatter_rows

_MODES = ("sum", "mean", "max")


class EmbeddingBag(Function):
    """``weight`` (and optionally ``per_sample_weights``) -> ``(num_bags, D)`` bag reductions."""

    saves_inputs = False  # the arrays backward reads are kept on the node
    fresh_grads = True

    def forward(self, weight, *psw, idx, seg, starts, n_used, num_bags, mode, keep, scale_grad_by_freq):
        V, D = weight.shape
        self.idx, self.seg, self.mode, self.keep, self.num_rows = idx, seg, mode, keep, V
        self.scale_grad_by_freq = scale_grad_by_freq
        out = xp.zeros((num_bags, D), weight.dtype)
        nonempty = xp.flatnonzero(xp.bincount(seg, minlength=num_bags)) if n_used else xp.zeros(0, xp.int64)
        rows = xp.take(weight, idx[:n_used], axis=0)
        if mode == "max":
            if keep is not None:
                rows[~keep[:n_used]] = -xp.inf
            if nonempty.size:
                red = xp.maximum.reduceat(rows, starts[nonempty], axis=0)
                # bags of padding only stay zero (their max is -inf)
                out[nonempty] = xp.where(xp.isneginf(red), 0, red)
                if self.needs_input_grad[0]:
                    # first element (in bag order) holding the max, per column
                    hit = rows == red[xp.searchsorted(nonempty, seg)]
                    pos = xp.where(hit, xp.arange(n_used)[:, None], n_used)
                    first = xp.minimum.reduceat(pos, starts[nonempty], axis=0)
                    self.argmax = (first, nonempty)
            return out
        self.psw = psw[0] if psw else None
        self.weight = weight if psw and self.needs_input_grad[1] else None
        scale = xp.ones(n_used, weight.dtype) if self.psw is None else self.psw[:n_used].astype(weight.dtype)
        if keep is not None:
            scale = scale * keep[:n_used]
        if mode == "mean":
            counts = xp.bincount(seg, weights=None if keep is None else keep[:n_used], minlength=num_bags)
            scale = scale / xp.maximum(counts, 1)[seg].astype(weight.dtype)
        self.scale, self.n_used = scale, n_used
        if nonempty.size:
            out[nonempty] = xp.add.reduceat(rows * scale[:, None], starts[nonempty], axis=0)
        return out

    def backward(self, grad_output):
        idx, V = self.idx, self.num_rows
        n_used = self.seg.shape[0]
        gw = gp = None
        if self.needs_input_grad[0]:
            if self.mode == "max":
                gw = xp.zeros((V, grad_output.shape[1]), grad_output.dtype)
                if hasattr(self, "argmax"):
                    first, nonempty = self.argmax
                    g = grad_output[nonempty]
                    xp.add.at(gw, (idx[first], xp.arange(g.shape[1])[None, :]), g)
            else:
                ge = grad_output[self.seg] * self.scale[:, None]
                if self.scale_grad_by_freq:
                    ge = ge / self._freq()[idx[:n_used]][:, None]
                gw = _scatter_rows(idx[:n_used], ge, V)
        if len(self.needs_input_grad) > 1 and self.needs_input_grad[1]:
            per = (grad_output[self.seg] * xp.take(self.weight, idx[:n_used], axis=0)).sum(axis=1)
            if self.keep is not None:
                per = per * self.keep[:n_used]
            gp = xp.zeros(self.psw.shape, grad_output.dtype)
            gp[:n_used] = per
        return (gw, gp) if len(self.needs_input_grad) > 1 else gw

    def _freq(self):
        return xp.bincount(self.idx, minlength=self.num_rows).astype(xp.float64)


def _bags(op, idx, offsets, include_last_offset):
    """Flat indices and per-element bag ids: (idx, seg, starts, n_used, num_bags)."""
    if idx.ndim == 2:
        if offsets is not None:
            raise InvalidArgument(
                f"{op}: a 2-d input is a batch of fixed-length bags, so offsets must be None; "
                f"got offsets of shape {fmt_shape(_as_tensor(offsets).shape)}"
            )
        B, L = idx.shape
        seg = xp.repeat(xp.arange(B), L)
        return idx.reshape(-1), seg, xp.arange(B) * L, B * L, B
    if idx.ndim != 1:
        raise ShapeError(f"{op}: input must be 1-d (with offsets) or 2-d (bags of equal length), "
                         f"got shape {fmt_shape(idx.shape)}")
    if offsets is None:
        raise InvalidArgument(f"{op}: a 1-d input needs offsets (a 1-d tensor of bag starts), got None")
    off = _as_tensor(offsets)._data
    if off.ndim != 1:
        raise ShapeError(f"{op}: offsets must be 1-d, got shape {fmt_shape(off.shape)}")
    if off.dtype.kind not in "iu":
        raise DTypeError(f"{op}: offsets must be an integer tensor (int64 or int32), got dtype {off.dtype}")
    off = off.astype(xp.int64)
    n = idx.shape[0]
    if off.size and off[0] != 0:
        raise InvalidArgument(f"{op}: offsets[0] must be 0 (the first bag starts at position 0), got {int(off[0])}")
    if off.size and (xp.diff(off) < 0).any():
        raise InvalidArgument(f"{op}: offsets must be non-decreasing, got {off.tolist()}")
    if off.size and off[-1] > n:
        raise InvalidArgument(f"{op}: offsets[-1] ({int(off[-1])}) can't be greater than the input's length {n}")
    if include_last_offset and off.size and off[-1] != n:
        # CSR layout: offsets[-1] is the input's length. PyTorch's kernels disagree on any other value (its
        # float32 sum/mean path stops the last bag there, the others run it to the end), so it is refused.
        raise InvalidArgument(f"{op}: with include_last_offset=True, offsets[-1] must equal the input's length "
                              f"{n}, got {int(off[-1])}")
    starts = off[:-1] if include_last_offset else off
    ends = xp.append(starts[1:], n) if starts.size else starts
    num_bags = starts.shape[0]
    n_used = int(ends[-1]) if num_bags else 0
    seg = xp.repeat(xp.arange(num_bags), ends - starts)
    return idx, seg, starts, n_used, num_bags


@public(method=False)
def embedding_bag(input, weight, offsets=None, max_norm=None, norm_type: float = 2, scale_grad_by_freq: bool = False,
                  mode: str = "mean", sparse: bool = False, per_sample_weights=None, include_last_offset: bool = False,
                  padding_idx=None):
    """Reduce bags of rows of ``weight`` (``mode``: 'sum', 'mean' or 'max'), as ``torch.nn.functional.embedding_bag``.

    Args:
        input: ``(B, L)`` indices (B bags of L) or 1-d ``(N,)`` indices cut into bags by ``offsets``.
        offsets: 1-d starts of the bags in a 1-d input (the first is 0); an empty bag gives zeros.
        max_norm: rows used whose ``norm_type``-norm exceeds it are renormalised in place (as embedding).
        scale_grad_by_freq: divide each row's gradient by how often its index occurs in ``input``.
        per_sample_weights: same shape as ``input``; each row is scaled by it before the sum ('sum' only).
        include_last_offset: ``offsets`` ends with the end of the last bag (so ``len(offsets) - 1`` bags).
        padding_idx: entries with this index are left out of the reduction (and of the mean's count).

    Shape:
        weight ``(V, D)`` -> output ``(num_bags, D)``.
    """
    op = "embedding_bag"
    w = _as_tensor(weight)
    if w.ndim != 2:
        raise ShapeError(f"{op}: weight must be 2-d (num_embeddings, embedding_dim), got shape {fmt_shape(w.shape)}")
    if mode not in _MODES:
        raise InvalidArgument(f"{op}: mode must be one of 'sum', 'mean' or 'max', got {mode!r}")
    if mode == "max" and scale_grad_by_freq:
        raise InvalidArgument(f"{op}: mode='max' does not support scale_grad_by_freq (the gradient goes to one "
                              f"row per bag and column, not a frequency-weighted share)")
    if sparse:
        raise NotSupported(f"{op}: sparse gradients are not supported; use sparse=False")
    x = _as_tensor(input)
    idx = x._data
    num_rows = w.shape[0]
    _check_indices(idx, num_rows, op, f"weight with {num_rows} rows")
    psw = None
    if per_sample_weights is not None:
        if mode != "sum":
            raise NotSupported(f"{op}: per_sample_weights is only supported for mode='sum', got mode={mode!r}")
        psw = _as_tensor(per_sample_weights)
        if tuple(psw.shape) != tuple(idx.shape):
            raise ShapeError(f"{op}: per_sample_weights must have the input's shape {fmt_shape(idx.shape)}, "
                             f"got {fmt_shape(psw.shape)}")
        if psw.dtype != w.dtype:
            raise DTypeError(f"{op}: per_sample_weights must have weight's dtype {w.dtype}, got {psw.dtype}")
    if padding_idx is not None:
        if not -num_rows <= padding_idx < num_rows:
            raise InvalidArgument(f"{op}: padding_idx must be within num_embeddings, i.e. in "
                                  f"[{-num_rows}, {num_rows}), got {padding_idx}")
        padding_idx %= num_rows
    flat, seg, starts, n_used, num_bags = _bags(op, idx, offsets, include_last_offset)
    flat = flat.astype(numpy.int64)
    if max_norm is not None:
        _renorm_rows(w, flat, max_norm, norm_type)
    keep = None if padding_idx is None else flat != padding_idx
    tensors = (w,) if psw is None else (w, psw.reshape(-1))
    return EmbeddingBag.apply(*tensors, idx=flat, seg=seg, starts=starts, n_used=n_used, num_bags=num_bags,
                              mode=mode, keep=keep, scale_grad_by_freq=bool(scale_grad_by_freq))
