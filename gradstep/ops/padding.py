"""``pad``: grow (or, with negative sizes, crop) the last dims of a tensor.

Constant padding writes the input into a block filled with ``value``; its
backward slices the gradient back out. Reflect, replicate and circular padding
gather along each padded dim with an index map (output position -> input
position); their backward copies the interior block of the gradient and adds
the few border positions onto the input positions they were read from.
"""
from __future__ import annotations

from ..autograd.function import Function
from ..autograd.tensor import _as_tensor
from ..backend import xp
from ..errors import ShapeError, fmt_shape
from ._registry import public
from ..errors import InvalidArgument

_MODES = ("constant", "reflect", "replicate", "circular")


def _source_index(n, left, right, mode):
    """For each output position along a dim of size ``n``, the input position it copies."""
    pos = xp.arange(-left, n + right)
    if mode == "reflect":
        pos = xp.abs(pos)
        pos = xp.where(pos > n - 1, 2 * (n - 1) - pos, pos)
    elif mode == "replicate":
        pos = xp.clip(pos, 0, n - 1)
    else:  # circular: like PyTorch, crop first (negative sizes), then wrap around what is left
        start = max(-left, 0)
        kept = n - start - max(-right, 0)
        pos = start + (xp.arange(-max(left, 0), kept + max(right, 0)) % kept)
    return pos


class ConstantPad(Function):
    saves_inputs = False

    def forward(self, x, pads, value):
        out_shape, src, dst = list(x.shape), [slice(None)] * x.ndim, [slice(None)] * x.ndim
        for axis, left, right in pads:
            n = x.shape[axis]
            lo, hi = max(-left, 0), n - max(-right, 0)
            start = max(left, 0)
            src[axis] = slice(lo, hi)
            dst[axis] = slice(start, start + max(hi - lo, 0))
            out_shape[axis] = n + left + right
        self.src, self.dst, self.in_shape = tuple(src), tuple(dst), x.shape
        self.cropped = any(left < 0 or right < 0 for _, left, right in pads)
        out = xp.full(out_shape, value, dtype=x.dtype)
        out[self.dst] = x[self.src]
        return out

    def backward(self, grad_output):
        if not self.cropped:
            return grad_output[self.dst]
        grad = xp.zeros(self.in_shape, dtype=grad_output.dtype)
        grad[self.src] = grad_output[self.dst]
        return grad


class IndexPad(Function):
    """Reflect / replicate / circular padding: a gather along each padded dim."""

    saves_inputs = False

    def forward(self, x, pads, mode):
        self.steps = []
        for axis, left, right in pads:
            n = x.shape[axis]
            idx = _source_index(n, left, right, mode)
            self.steps.append((axis, n, left, idx))
            x = xp.take(x, idx, axis=axis)
        return x

    def backward(self, grad_output):
        g = grad_output
        for axis, n, left, idx in reversed(self.steps):
            g = _scatter_axis(g, axis, n, left, idx)
        return g


def _scatter_axis(g, axis, n, left, idx):
    """Adjoint of ``take(x, idx, axis)`` for a pad index map: sum g's positions onto x's ``n`` positions."""
    gm = xp.moveaxis(g, axis, 0)
    out = xp.zeros((n,) + gm.shape[1:], dtype=g.dtype)
    # the interior: output position j reads input position j - left
    j0, j1 = max(left, 0), min(n + left, gm.shape[0])
    if j1 > j0:
        out[j0 - left:j1 - left] = gm[j0:j1]
    for j in [*range(0, j0), *range(max(j1, j0), gm.shape[0])]:  # the few border positions
        out[idx[j]] += gm[j]
    return xp.moveaxis(out, 0, axis)


@public(method=False)
def pad(input, pad, mode: str = "constant", value=None):
    """Pad the last ``len(pad) // 2`` dims of ``input``.

    Args:
        pad: ``(left_last, right_last, left_second_last, right_second_last, ...)``:
            sizes for the last dim first, as in PyTorch. Negative sizes crop.
        mode: ``'constant'`` (any number of dims), ``'reflect'``, ``'replicate'``
            or ``'circular'`` (the last 1, 2 or 3 dims of a batched or unbatched input).
        value: fill value for ``'constant'`` (default 0).
    """
    x = _as_tensor(input)
    if mode not in _MODES:
        raise InvalidArgument(f"pad: mode must be one of {', '.join(map(repr, _MODES))}, got {mode!r}")
    pad = tuple(int(p) for p in pad)
    if len(pad) % 2:
        raise InvalidArgument(f"pad: the padding must have an even length (a (left, right) pair per dim), got {pad}")
    k = len(pad) // 2
    if k > x.ndim:
        raise ShapeError(
            f"pad: padding {pad} covers {k} dims but the input of shape {fmt_shape(x.shape)} has only {x.ndim}"
        )
    pads = [(x.ndim - 1 - i, pad[2 * i], pad[2 * i + 1]) for i in range(k)]
    pads = [(axis, left, right) for axis, left, right in pads if left or right]
    for axis, left, right in pads:
        n = x.shape[axis]
        if n + left + right < 0:
            raise ShapeError(
                f"pad: dimension {axis} of size {n} of input {fmt_shape(x.shape)} with padding ({left}, {right}) "
                f"would have a negative size {n + left + right}"
            )
    if mode == "constant":
        if not pads:
            return x.clone()
        return ConstantPad.apply(x, pads=pads, value=0 if value is None else value)

    if value not in (None, 0):
        raise InvalidArgument(f"pad: value can only be given with mode='constant', got value={value} with mode={mode!r}")
    if k not in (1, 2, 3) or x.ndim not in (k + 1, k + 2):
        raise ShapeError(
            f"pad: mode {mode!r} pads the last 1, 2 or 3 dims of a batched or unbatched input "
            f"(padding of length 2: 2-d or 3-d input; 4: 3-d or 4-d; 6: 4-d or 5-d), got padding {pad} "
            f"for an input of shape {fmt_shape(x.shape)}"
        )
    for axis, left, right in pads:
        n = x.shape[axis]
        if mode == "reflect" and (left >= n or right >= n):
            raise ShapeError(
                f"pad: reflect padding must be smaller than the dimension it pads, got padding ({left}, {right}) "
                f"for dimension {axis} of size {n} (input {fmt_shape(x.shape)})"
            )
        if mode == "circular" and (left > n + min(right, 0) or right > n + min(left, 0)):
            raise ShapeError(
                f"pad: circular padding can wrap around at most once, got padding ({left}, {right}) "
                f"for dimension {axis} of size {n} (input {fmt_shape(x.shape)})"
            )
        if mode == "replicate" and n == 0:
            raise ShapeError(f"pad: can't replicate-pad dimension {axis} of size 0 (input {fmt_shape(x.shape)})")
    if not pads:
        return x.clone()
    return IndexPad.apply(x, pads=pads, mode=mode)
