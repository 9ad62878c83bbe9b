"""softmax and log_softmax along one dim, as fused primitives.

Both subtract the max along ``dim`` first, so logits of any size stay finite
(``exp`` of a value <= 0 can't overflow), and both backward rules are one line
on the saved output:

* softmax ``s``: ``dx = s * (g - sum(g * s))``;
* log_softmax ``y``: ``dx = g - exp(y) * sum(g)``.
"""
from __future__ import annotations

from ..autograd.function import Function
from ..autograd.tensor import _as_tensor
from ..backend import xp
from ..errors import DTypeError
from ._helpers import normalize_dim
from ._registry import public


def _shifted(a, axis):
    """``a - max(a, axis)`` as a fresh array (``a`` itself is never changed)."""
    if not a.ndim:  # 0-d: NumPy arithmetic would give a scalar, not an array
        return xp.array(a - a)
    if a.shape[axis] == 0:  # nothing to take the max of
        return a.copy()
    return a - a.max(axis=axis, keepdims=True)


class Softmax(Function):
    saves_inputs, saves_output = False, True

    def forward(self, a, axis):
        self.axis = axis
        e = _shifted(a, axis)
        xp.exp(e, out=e)
        e /= e.sum(axis=axis, keepdims=True)
        self.out = e
        return e

    def backward(self, g):
        s = self.out
        gs = g * s
        gs -= s * gs.sum(axis=self.axis, keepdims=True)
        return gs


class LogSoftmax(Function):
    saves_inputs, saves_output = False, True

    def forward(self, a, axis):
        self.axis = axis
        y = _shifted(a, axis)
        y -= xp.log(xp.exp(y).sum(axis=axis, keepdims=True))
        self.out = y
        return y

    def backward(self, g):
        return g - xp.exp(self.out) * g.sum(axis=self.axis, keepdims=True)


def _prepare(op, input, dim, dtype):
    t = _as_tensor(input)
    if dtype is not None:
        t = t.to(dtype)
    if t._data.dtype.kind != "f":
        raise DTypeError(
            f"{op}: expected a floating point tensor, got dtype {t.dtype}; call .float() first or pass dtype="
        )
    if dim is None:  # PyTorch guesses a dim (with a warning); gradstep takes the last one
        dim = -1
    axis = normalize_dim(dim, t._data.ndim, op)
    return t, (axis if t._data.ndim else None)  # a 0-d tensor is its own (only) slice


@public
def softmax(input, dim=None, _stacklevel: int = 3, dtype=None):
    """``exp(x) / sum(exp(x))`` along ``dim`` (the last dim when None), computed stably.

    Args:
        input: floating tensor (pass ``dtype=`` to convert first).
        dim: the dim whose slices sum to 1.
        dtype: cast ``input`` to this dtype before the operation.
    """
    t, axis = _prepare("softmax", input, dim, dtype)
    return Softmax.apply(t, axis=axis)


@public
def log_softmax(input, dim=None, _stacklevel: int = 3, dtype=None):
    """``x - logsumexp(x)`` along ``dim`` (the last dim when None), computed stably."""
    t, axis = _prepare("log_softmax", input, dim, dtype)
    return LogSoftmax.apply(t, axis=axis)
