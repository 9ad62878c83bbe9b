"""Table lookups: ``embedding`` (rows of a weight matrix by index) and ``one_hot``.

The embedding backward is a scatter-add of the output gradient into the rows
of the weight gradient. ``np.add.at`` is slow beyond small inputs, so the
accumulation picks one of three ways by size (measured): ``add.at`` for tiny
inputs, a one-hot matrix product for small vocabularies of wide rows (one
GEMM; character-level models), and otherwise a sort of the indices followed
by ``add.reduceat`` over the runs of equal indices.
"""
from __future__ import annotations

import numpy

from ..autograd.function import Function
from ..autograd.tensor import Tensor, _as_tensor
from ..backend import xp
from ..errors import DTypeError, ShapeError, fmt_shape
from ._registry import public
from ..errors import IndexOutOfRange, InvalidArgument, NotSupported


def _scatter_rows(idx, g2, num_rows):
    """``out[idx[i]] += g2[i]`` for every i, into a zero ``(num_rows, D)`` array."""
    M, D = g2.shape
    if M * D <= 4096:
        out = xp.zeros((num_rows, D), dtype=g2.dtype)
        xp.add.at(out, idx, g2)
        return out
    if num_rows <= 128 and 2 * num_rows <= D:  # measured: the GEMM wins for few, wide rows
        onehot = (xp.arange(num_rows)[:, None] == idx[None, :]).astype(g2.dtype)
        return onehot @ g2
    order = xp.argsort(idx, kind="stable")
    sorted_idx = idx[order]
    starts = xp.flatnonzero(xp.concatenate(([True], sorted_idx[1:] != sorted_idx[:-1])))
    sums = xp.add.reduceat(g2[order], starts, axis=0)
    out = xp.zeros((num_rows, D), dtype=g2.dtype)
    out[sorted_idx[starts]] = sums
    return out


class Embedding(Function):
    saves_inputs = False  # backward needs the indices, not the table

    fresh_grads = True  # backward returns new arrays: leaves keep them without a copy

    def forward(self, weight, idx, padding_idx, scale_grad_by_freq):
        self.idx, self.padding_idx, self.scale_grad_by_freq = idx, padding_idx, scale_grad_by_freq
        self.num_rows = weight.shape[0]
        return xp.take(weight, idx, axis=0)

    def backward(self, grad_output):
        idx = self.idx.reshape(-1)
        g2 = grad_output.reshape(idx.shape[0], grad_output.shape[-1])
        if self.scale_grad_by_freq:
            counts = xp.bincount(idx, minlength=self.num_rows)
            g2 = g2 / counts[idx][:, None].astype(g2.dtype)
        grad = _scatter_rows(idx, g2, self.num_rows)
        if self.padding_idx is not None:
            grad[self.padding_idx] = 0
        return grad


def _check_indices(idx, num_rows, op, what):
    if idx.dtype.kind not in "iu":
        raise DTypeError(
            f"{op}: indices must be an integer tensor (int64 or int32), got dtype {idx.dtype}; "
            f"convert with .long()"
        )
    if idx.size:
        lo, hi = idx.min(), idx.max()
        if lo < 0 or hi >= num_rows:
            bad = int(hi) if hi >= num_rows else int(lo)
            pos = tuple(int(i) for i in numpy.argwhere(idx == bad)[0])
            raise IndexOutOfRange(
                f"{op}: index {bad} at position {pos} is out of range for {what} "
                f"(valid indices 0..{num_rows - 1})"
            )


@public(method=False)
def embedding(input, weight, padding_idx=None, max_norm=None, norm_type: float = 2.0,
              scale_grad_by_freq: bool = False, sparse: bool = False):
    """Rows of ``weight`` picked by the integer ``input``.

    Args:
        input: integer tensor of indices into the rows of ``weight``.
        weight: ``(num_embeddings, embedding_dim)`` table.
        padding_idx: this row gets no gradient (negative counts from the end).
        max_norm: rows looked up whose ``norm_type``-norm exceeds it are
            renormalised to ``max_norm`` in place (as in PyTorch).
        scale_grad_by_freq: divide each row's gradient by how often its index
            occurs in ``input``.

    Shape:
        input ``(*)``, weight ``(V, D)`` -> output ``(*, D)``.
    """
    idx = _as_tensor(input)._data
    w = _as_tensor(weight)
    if w.ndim != 2:
        raise ShapeError(
            f"embedding: weight must be 2-d (num_embeddings, embedding_dim), got shape {fmt_shape(w.shape)}"
        )
    if sparse:
        raise NotSupported("embedding: sparse gradients are not supported; use sparse=False")
    num_rows = w.shape[0]
    _check_indices(idx, num_rows, "embedding", f"weight with {num_rows} rows")
    if padding_idx is not None:
        if not -num_rows <= padding_idx < num_rows:
            raise InvalidArgument(
                f"embedding: padding_idx must be within num_embeddings, i.e. in [{-num_rows}, {num_rows}), "
                f"got {padding_idx}"
            )
        padding_idx %= num_rows
    if max_norm is not None:
        _renorm_rows(w, idx, max_norm, norm_type)
    return Embedding.apply(w, idx=idx, padding_idx=padding_idx, scale_grad_by_freq=bool(scale_grad_by_freq))


def _renorm_rows(w, idx, max_norm, norm_type):
    """Scale the rows of ``w`` used by ``idx`` whose norm exceeds ``max_norm`` down to it (in place, no grad)."""
    rows = xp.unique(idx)
    table = w._data
    norms = xp.linalg.norm(table[rows], ord=norm_type, axis=1)
    over = norms > max_norm
    if over.any():
        rows = rows[over]
        table[rows] *= (max_norm / (norms[over] + 1e-7)).astype(table.dtype)[:, None]
        w._version[0] += 1


@public(method=False)
def one_hot(tensor, num_classes: int = -1):
    """``(*) -> (*, num_classes)`` int64 tensor with a 1 at each index.

    ``num_classes=-1`` takes ``max(tensor) + 1``.
    """
    idx = _as_tensor(tensor)._data
    if idx.dtype.kind not in "iu":
        raise DTypeError(f"one_hot: expected an integer (int64) tensor of class indices, got dtype {idx.dtype}")
    if num_classes == -1:
        if idx.size == 0:
            raise InvalidArgument("one_hot: can't infer the number of classes from an empty tensor; pass num_classes")
        num_classes = int(idx.max()) + 1
    if idx.size:
        lo, hi = int(idx.min()), int(idx.max())
        if lo < 0:
            raise InvalidArgument(f"one_hot: class values must be non-negative, got {lo}")
        if hi >= num_classes:
            raise InvalidArgument(f"one_hot: class values must be smaller than num_classes={num_classes}, got {hi}")
    out = idx[..., None] == xp.arange(num_classes)
    return Tensor._wrap(out.astype(numpy.int64))
