"""Matrix products: matmul (with mm, bmm, dot, mv) and the fused ``linear`` layer primitive.

``matmul`` follows PyTorch (and NumPy): 1-d operands are promoted to a row
(left) or a column (right) and that dim is removed again; leading "batch"
dims broadcast. Where one operand is a plain matrix, the batch dims of the
other are folded into its rows so the product is one GEMM rather than one per
batch element (about 3x faster in NumPy).
"""
from __future__ import annotations

from .. import native
from ..autograd.function import Function
from ..autograd.tensor import Tensor, _as_tensor
from ..backend import xp
from ..errors import DTypeError, ShapeError, fmt_shape
from ._registry import public
from .elementwise import _NATIVE_FLOATS, relu, relu_grad


def _rows(a):
    """``a`` as a 2-d array of shape (prod(leading dims), last dim): a view when ``a`` is contiguous."""
    n = 1
    for s in a.shape[:-1]:
        n *= s
    return a.reshape(n, a.shape[-1])


def _mm(a, b):
    """``a @ b`` with ``b`` a matrix: batch dims of ``a`` folded into one GEMM."""
    if a.ndim > 2:
        return (_rows(a) @ b).reshape(*a.shape[:-1], b.shape[-1])
    return a @ b


class Matmul(Function):
    fresh_grads = True  # backward returns new arrays: leaves keep them without a copy

    def forward(self, a, b):
        if b.ndim == 2:
            return _mm(a, b)
        out = xp.matmul(a, b)
        return out if a.ndim > 1 or b.ndim > 1 else xp.asarray(out)  # 1-d @ 1-d gives a NumPy scalar

    def backward(self, g):
        a, b = self.inputs[0]._data, self.inputs[1]._data
        need_a, need_b = self.needs_input_grad
        if a.ndim == 1 and b.ndim == 1:  # dot product: g is 0-d
            return (g * b if need_a else None), (g * a if need_b else None)
        # Restore the dims that 1-d operands lost, so every case is a (batched) matrix product.
        a2 = a[None, :] if a.ndim == 1 else a
        b2 = b[:, None] if b.ndim == 1 else b
        if a.ndim == 1:
            g = xp.expand_dims(g, -2)
        if b.ndim == 1:
            g = g[..., None]
        grad_a = grad_b = None
        if need_a:
            grad_a = _mm(g, b2.T) if b2.ndim == 2 else xp.matmul(g, b2.swapaxes(-1, -2))
            if a.ndim == 1:
                grad_a = grad_a.reshape(-1, a.shape[0]).sum(0) if grad_a.ndim > 2 else grad_a[0]
        if need_b:
            if b2.ndim == 2:  # one GEMM over all rows of every batch element
                grad_b = _rows(a2).T @ _rows(g)
            else:
                grad_b = xp.matmul(a2.swapaxes(-1, -2), g)  # the engine sums broadcast batch dims
            if b.ndim == 1:
                grad_b = grad_b[..., 0]
        return grad_a, grad_b


def _operands(op, input, other):
    a, b = _as_tensor(input), _as_tensor(other)
    if a._data.dtype != b._data.dtype:
        raise DTypeError(
            f"{op}: expected both operands to have the same dtype, got {a.dtype} and {b.dtype}; "
            f"convert one, e.g. other.to(input.dtype)"
        )
    return a, b


def _check_matmul(op, sa, sb):
    if not sa or not sb:
        raise ShapeError(
            f"{op}: both arguments need at least 1 dimension, got shapes {fmt_shape(sa)} and {fmt_shape(sb)}; "
            f"use mul for a product with a scalar"
        )
    k_a = sa[-1]
    k_b = sb[0] if len(sb) == 1 else sb[-2]
    if k_a != k_b:
        raise ShapeError(f"{op}: shapes {fmt_shape(sa)} and {fmt_shape(sb)} can't be multiplied ({k_a} != {k_b})")
    if len(sa) > 2 or len(sb) > 2:
        batch_a, batch_b = sa[:-2], sb[:-2]
        try:
            xp.broadcast_shapes(batch_a, batch_b)
        except ValueError:
            raise ShapeError(
                f"{op}: shapes {fmt_shape(sa)} and {fmt_shape(sb)} can't be multiplied: batch dims "
                f"{fmt_shape(batch_a)} and {fmt_shape(batch_b)} don't broadcast (each must match or be 1)"
            ) from None


@public
def matmul(input, other):
    """Matrix product with PyTorch's rules for 1-d operands and broadcast batch dims.

    Shape:
        (n,) @ (n,) -> (); (n, k) @ (k, m) -> (n, m); (k,) @ (*, k, m) -> (*, m);
        (*, n, k) @ (k,) -> (*, n); (*a, n, k) @ (*b, k, m) -> (broadcast(*a, *b), n, m).
    """
    a, b = _operands("matmul", input, other)
    sa, sb = a._data.shape, b._data.shape
    if len(sa) != 2 or len(sb) != 2 or sa[1] != sb[0]:
        _check_matmul("matmul", sa, sb)
    return Matmul.apply(a, b)


@public
def mm(input, mat2):
    """Product of two matrices (no broadcasting): (n, k) @ (k, m) -> (n, m)."""
    a, b = _operands("mm", input, mat2)
    if a.ndim != 2 or b.ndim != 2:
        raise ShapeError(
            f"mm: expected two 2-d matrices, got shapes {fmt_shape(a.shape)} and {fmt_shape(b.shape)}; "
            f"use matmul for other ranks"
        )
    _check_matmul("mm", a.shape, b.shape)
    return Matmul.apply(a, b)


@public
def bmm(input, mat2):
    """Batch of matrix products (no broadcasting): (B, n, k) @ (B, k, m) -> (B, n, m)."""
    a, b = _operands("bmm", input, mat2)
    if a.ndim != 3 or b.ndim != 3 or a.shape[0] != b.shape[0]:
        raise ShapeError(
            f"bmm: expected two 3-d tensors with the same batch size, (B, n, k) and (B, k, m), got shapes "
            f"{fmt_shape(a.shape)} and {fmt_shape(b.shape)}"
        )
    _check_matmul("bmm", a.shape, b.shape)
    return Matmul.apply(a, b)


@public
def mv(input, vec):
    """Matrix-vector product: (n, k) @ (k,) -> (n,)."""
    a, b = _operands("mv", input, vec)
    if a.ndim != 2 or b.ndim != 1:
        raise ShapeError(
            f"mv: expected a 2-d matrix and a 1-d vector, got shapes {fmt_shape(a.shape)} and {fmt_shape(b.shape)}"
        )
    _check_matmul("mv", a.shape, b.shape)
    return Matmul.apply(a, b)


@public
def dot(input, tensor):
    """Inner product of two 1-d tensors of the same length."""
    a, b = _operands("dot", input, tensor)
    if a.ndim != 1 or b.ndim != 1:
        raise ShapeError(f"dot: expected two 1-d tensors, got shapes {fmt_shape(a.shape)} and {fmt_shape(b.shape)}")
    _check_matmul("dot", a.shape, b.shape)
    return Matmul.apply(a, b)


# ---------------------------------------------------------------------- linear
def _times_weight(x, w):
    """``x @ w.T`` as one GEMM over every row of ``x`` (a fresh, C-contiguous array)."""
    if x.ndim == 2:
        return x @ w.T
    if x.ndim == 1:
        return w @ x
    return (_rows(x) @ w.T).reshape(*x.shape[:-1], w.shape[0])


class Linear(Function):
    """``y = x @ W^T (+ b)`` as one GEMM; inputs ``(x, weight)`` or ``(x, weight, bias)``.

    Backward, with ``g`` and ``x`` flattened to rows: ``dx = g @ W``,
    ``dW = g^T @ x`` (one GEMM over every row), ``db = g.sum(0)``.
    """

    fresh_grads = True  # backward returns new arrays: leaves keep them without a copy

    def forward(self, x, w, b=None):
        y = _times_weight(x, w)
        if b is not None:
            if b.ndim <= 1 and y.ndim:
                y += b  # y is a fresh array
            else:
                y = y + b
        return y

    def backward(self, g):
        need = self.needs_input_grad
        x, w = self.inputs[0]._data, self.inputs[1]._data
        if x.ndim == 2:
            g2, x2 = g, x
        elif g.ndim == 0 or x.ndim == 1:
            g2, x2 = g.reshape(1, -1), x.reshape(1, -1)
        else:
            g2, x2 = _rows(g), _rows(x)
        grad_x = (g2 @ w).reshape(x.shape) if need[0] else None
        grad_w = g2.T @ x2 if need[1] else None
        grad_b = None
        if len(need) == 3 and need[2]:
            if self.inputs[2]._data.ndim == 1:  # column sums as a GEMV: faster than g2.sum(0)
                grad_b = xp.ones(g2.shape[0], g2.dtype) @ g2
            else:
                grad_b = g.copy()  # fresh_grads: not g itself
        return grad_x, grad_w, grad_b


@public(method=False)
def linear(input, weight, bias=None):
    """Affine map ``input @ weight.T + bias``, the layer of every MLP (torch.nn.functional.linear).

    Args:
        input: (*, in_features).
        weight: (out_features, in_features).
        bias: optional (out_features,) (or any shape broadcasting to the output).

    Shape:
        (*, in_features) -> (*, out_features).
    """
    x, w, b = _linear_operands(input, weight, bias)
    if w._data.ndim == 1:  # PyTorch allows a vector weight: y = input @ weight (+ bias)
        y = matmul(x, w)
        return y if b is None else y + b
    return Linear.apply(x, w) if b is None else Linear.apply(x, w, b)


class LinearRelu(Linear):
    """``relu(x @ W^T + b)`` as one node: after the GEMM, one in-place pass adds the bias and
    applies the ReLU (two passes and a second array when run as two ops).

    What :class:`gradstep.nn.Sequential` runs for a ``Linear`` followed by a ``ReLU``; the
    values and gradients are those of the two ops (same arithmetic, bit for bit).
    """

    saves_output = True

    def forward(self, x, w, b=None):
        y = _times_weight(x, w)
        if not _bias_relu_compiled(y, b):
            if b is not None:
                y += b
            xp.maximum(y, 0, out=y)
        self.out = y
        return y

    def backward(self, g):
        return super().backward(relu_grad(g, self.out))


def _bias_relu_compiled(y, b):
    """``y = relu(y + b)`` in place by the compiled kernel; False where it doesn't apply."""
    if native.kernels is None or y.dtype not in _NATIVE_FLOATS or not y.flags.c_contiguous:
        return False
    if b is not None and (b.dtype != y.dtype or b.ndim != 1 or not b.flags.c_contiguous):
        return False
    if y.size:
        native.kernels.bias_relu(y, b)
    return True


def linear_relu(input, weight, bias=None):
    """``relu(linear(input, weight, bias))`` in one op (see :class:`LinearRelu`)."""
    x, w, b = _linear_operands(input, weight, bias)
    if w._data.ndim == 1 or (b is not None and b._data.ndim != 1):
        return relu(linear(x, w, b))
    return LinearRelu.apply(x, w) if b is None else LinearRelu.apply(x, w, b)


def _linear_operands(input, weight, bias):
    """``(x, weight, bias)`` as tensors that fit one another (else a clear error)."""
    x = input if type(input) is Tensor else _as_tensor(input)
    w = weight if type(weight) is Tensor else _as_tensor(weight)
    xs, ws = x._data.shape, w._data.shape
    if len(ws) != 2 or not xs or xs[-1] != ws[1] or x._data.dtype != w._data.dtype:
        _check_linear(x, w)
    if bias is None:
        return x, w, None
    b = bias if type(bias) is Tensor else _as_tensor(bias)
    if len(ws) == 1:
        return x, w, b
    if b._data.dtype != x._data.dtype or (b._data.ndim == 1 and b._data.shape[0] != ws[0]) or b._data.ndim > 1:
        _check_bias(x, w, b)
    return x, w, b


def _check_linear(x, w):
    if x.dtype != w.dtype:
        raise DTypeError(f"linear: input and weight must have the same dtype, got {x.dtype} and {w.dtype}")
    if w.ndim == 1:
        _check_matmul("linear", x.shape, w.shape)
        return
    if w.ndim != 2:
        raise ShapeError(f"linear: weight must be (out_features, in_features), got shape {fmt_shape(w.shape)}")
    raise ShapeError(
        f"linear: input of shape {fmt_shape(x.shape)} doesn't fit weight of shape {fmt_shape(w.shape)}: "
        f"expected input (..., {w.shape[1]})"
    )


def _check_bias(x, w, b):
    if b.dtype != x.dtype:
        raise DTypeError(f"linear: bias must have the input's dtype {x.dtype}, got {b.dtype}")
    out_shape = (*x.shape[:-1], w.shape[0]) if w.ndim == 2 else x.shape[:-1]
    try:
        ok = xp.broadcast_shapes(b.shape, out_shape) == out_shape
    except ValueError:
        ok = False
    if not ok:
        raise ShapeError(
            f"linear: bias of shape {fmt_shape(b.shape)} doesn't fit the output of shape {fmt_shape(out_shape)}; "
            f"expected ({out_shape[-1] if out_shape else ''},)"
        )
