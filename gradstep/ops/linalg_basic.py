"""Basic linear algebra: diag, diagonal, diag_embed, trace, tril/triu_indices, cdist, and the
fused multiply-adds addmm, addmv, addr, baddbmm, addbmm."""
from __future__ import annotations

from ..autograd.function import Function
from ..autograd.tensor import Tensor, _as_tensor
from ..backend import xp
from ..errors import DTypeError, InvalidArgument, ShapeError, fmt_shape
from ._helpers import normalize_dim
from ._registry import public


def _diag_positions(n_rows, n_cols, offset):
    """Row and column indices of diagonal ``offset`` of an ``(n_rows, n_cols)`` matrix."""
    length = max(0, min(n_rows + min(offset, 0), n_cols - max(offset, 0)))
    rows = xp.arange(length) - min(offset, 0)
    return rows, rows + offset


# ------------------------------------------------------------------ diagonal
class Diagonal(Function):
    """Diagonal ``offset`` of the planes (dim1, dim2), as a new last dim (a copy)."""

    saves_inputs = False

    def forward(self, a, offset, dim1, dim2):
        self.shape, self.offset, self.dims = a.shape, offset, (dim1, dim2)
        return xp.diagonal(a, offset, dim1, dim2).copy()

    def backward(self, g):
        grad = xp.zeros(self.shape, dtype=g.dtype)
        planes = xp.moveaxis(grad, self.dims, (-2, -1))  # a writeable view
        rows, cols = _diag_positions(planes.shape[-2], planes.shape[-1], self.offset)
        planes[..., rows, cols] = g
        return grad


@public
def diagonal(input, offset: int = 0, dim1: int = 0, dim2: int = 1):
    """The diagonal ``offset`` (above the main one if > 0) of each (dim1, dim2) plane, as the last dim.

    Unlike PyTorch's view, the result is a copy (writing to it doesn't change ``input``).
    """
    t = _as_tensor(input)
    if t.ndim < 2:
        raise ShapeError(f"diagonal: expected a tensor with at least 2 dims, got shape {fmt_shape(t.shape)}")
    d1, d2 = normalize_dim(dim1, t.ndim, "diagonal"), normalize_dim(dim2, t.ndim, "diagonal")
    if d1 == d2:
        raise ShapeError(f"diagonal: dim1 and dim2 must be different dims, got both {d1}")
    return Diagonal.apply(t, offset=int(offset), dim1=d1, dim2=d2)


class DiagEmbed(Function):
    """Put the last dim of ``a`` on diagonal ``offset`` of new (dim1, dim2) planes, zeros elsewhere."""

    saves_inputs = False

    def forward(self, a, offset, dim1, dim2):
        n = a.shape[-1]
        m = n + abs(offset)
        out = xp.zeros(a.shape[:-1] + (m, m), dtype=a.dtype)
        self.pos = _diag_positions(m, m, offset)
        out[(...,) + self.pos] = a
        self.dims = (dim1, dim2)
        return xp.moveaxis(out, (-2, -1), self.dims)

    def backward(self, g):
        return xp.moveaxis(g, self.dims, (-2, -1))[(...,) + self.pos]


@public
def diag_embed(input, offset: int = 0, dim1: int = -2, dim2: int = -1):
    """Matrices (in dims dim1, dim2 of the result) with the last dim of ``input`` on diagonal ``offset``."""
    t = _as_tensor(input)
    if t.ndim == 0:
        raise ShapeError("diag_embed: expected a tensor with at least 1 dim, got a 0-d tensor")
    d1, d2 = normalize_dim(dim1, t.ndim + 1, "diag_embed"), normalize_dim(dim2, t.ndim + 1, "diag_embed")
    if d1 == d2:
        raise ShapeError(f"diag_embed: dim1 and dim2 must be different dims, got both {d1}")
    return DiagEmbed.apply(t, offset=int(offset), dim1=d1, dim2=d2)


@public
def diag(input, diagonal: int = 0):
    """A 1-D tensor -> the square matrix with it on diagonal ``diagonal``; a 2-D tensor -> that diagonal."""
    t = _as_tensor(input)
    if t.ndim == 1:
        return DiagEmbed.apply(t, offset=int(diagonal), dim1=0, dim2=1)
    if t.ndim == 2:
        return Diagonal.apply(t, offset=int(diagonal), dim1=0, dim2=1)
    raise ShapeError(f"diag: expected a 1-D or 2-D tensor, got shape {fmt_shape(t.shape)}; use diagonal() or diag_embed()")


@public
def trace(input):
    """Sum of the main diagonal of a 2-D tensor (ints sum to int64)."""
    t = _as_tensor(input)
    if t.ndim != 2:
        raise ShapeError(f"trace: expected a 2-D tensor, got shape {fmt_shape(t.shape)}")
    return Diagonal.apply(t, offset=0, dim1=0, dim2=1).sum()


def _tri_indices(op, fn, row, col, offset, dtype):
    for name, v in (("row", row), ("col", col), ("offset", offset)):
        if not isinstance(v, int) or isinstance(v, bool):
            raise DTypeError(f"{op}: {name} must be an int, got {type(v).__name__}")
    if row < 0 or col < 0:
        raise InvalidArgument(f"{op}: row and col must be non-negative, got row={row}, col={col}")
    rows, cols = fn(row, offset, col)
    return Tensor._wrap(xp.stack([rows, cols]).astype(xp.int64 if dtype is None else dtype))


@public(method=False)
def tril_indices(row: int, col: int, offset: int = 0, *, dtype=None, device=None):
    """The (2, N) coordinates of the lower triangle (diagonal ``offset`` and below) of a ``row x col`` matrix."""
    return _tri_indices("tril_indices", xp.tril_indices, row, col, offset, dtype)


@public(method=False)
def triu_indices(row: int, col: int, offset: int = 0, *, dtype=None, device=None):
    """The (2, N) coordinates of the upper triangle (diagonal ``offset`` and above) of a ``row x col`` matrix."""
    return _tri_indices("triu_indices", xp.triu_indices, row, col, offset, dtype)


# ---------------------------------------------------------------------- cdist
class EuclideanDist(Function):
    """Pairwise Euclidean distances between the rows of ``x`` (*, P, M) and ``y`` (*, R, M).

    Like PyTorch, large inputs (P or R > 25) use ``|x|^2 + |y|^2 - 2 x y^T`` (GEMMs), small ones
    the exact differences. Backward with ``w = g / d`` (0 where d = 0):
    ``dx = x * rowsum(w) - w y`` and ``dy = y * colsum(w) - w^T x``.
    """

    saves_output = True

    def forward(self, x, y):
        self.x, self.y = x, y
        if x.shape[-2] > 25 or y.shape[-2] > 25:
            sq = (x * x).sum(-1)[..., :, None] + (y * y).sum(-1)[..., None, :] - 2 * (x @ xp.swapaxes(y, -1, -2))
            self.out = xp.sqrt(xp.maximum(sq, 0))
        else:
            diff = x[..., :, None, :] - y[..., None, :, :]
            self.out = xp.sqrt((diff * diff).sum(-1))
        return self.out

    def backward(self, g):
        x, y, d = self.x, self.y, self.out
        w = xp.where(d == 0, 0, g / d).astype(g.dtype, copy=False)
        gx, gy = self.needs_input_grad
        grad_x = x * w.sum(-1)[..., None] - w @ y if gx else None
        grad_y = y * w.sum(-2)[..., None] - xp.swapaxes(w, -1, -2) @ x if gy else None
        return grad_x, grad_y


@public(method=False)
def cdist(x1, x2, p: float = 2.0, compute_mode=None):
    """The p-norm distance between each row of ``x1`` and each row of ``x2``.

    Shape:
        x1 (*, P, M), x2 (*, R, M) -> (*, P, R).
    """
    a, b = _as_tensor(x1), _as_tensor(x2)
    if a.dtype.kind != "f" or b.dtype.kind != "f":
        raise DTypeError(f"cdist: expected floating point tensors, got {a.dtype} and {b.dtype}")
    if a.ndim < 2 or b.ndim < 2 or a.shape[-1] != b.shape[-1]:
        raise ShapeError(
            f"cdist: expected x1 (*, P, M) and x2 (*, R, M) with the same M, got {fmt_shape(a.shape)} and {fmt_shape(b.shape)}"
        )
    if p < 0:
        raise InvalidArgument(f"cdist: p must be non-negative, got {p}")
    if b.dtype != a.dtype:
        b = b.to(a.dtype)
    if p == 2:
        return EuclideanDist.apply(a, b)
    from .reduce import norm

    return norm(a.unsqueeze(-2) - b.unsqueeze(-3), p, dim=-1)


# ------------------------------------------------------ fused multiply-adds
def _scaled_sum(op, input, product, beta, alpha):
    t = _as_tensor(input)
    try:
        fits = xp.broadcast_shapes(t.shape, product.shape) == product.shape
    except ValueError:
        fits = False
    if not fits:
        raise ShapeError(f"{op}: input of shape {fmt_shape(t.shape)} doesn't broadcast to the product's shape "
                         f"{fmt_shape(product.shape)}")
    if alpha != 1:
        product = product * alpha
    if beta == 0:  # PyTorch ignores input then (even NaN in it)
        return product
    return (t if beta == 1 else t * beta) + product


@public
def addmm(input, mat1, mat2, *, beta=1, alpha=1):
    """``beta * input + alpha * (mat1 @ mat2)``."""
    from .matmul import mm

    return _scaled_sum("addmm", input, mm(mat1, mat2), beta, alpha)


@public
def addmv(input, mat, vec, *, beta=1, alpha=1):
    """``beta * input + alpha * (mat @ vec)``."""
    from .matmul import mv

    return _scaled_sum("addmv", input, mv(mat, vec), beta, alpha)


@public
def addr(input, vec1, vec2, *, beta=1, alpha=1):
    """``beta * input + alpha * outer(vec1, vec2)``."""
    from .einsum import outer

    return _scaled_sum("addr", input, outer(vec1, vec2), beta, alpha)


@public
def baddbmm(input, batch1, batch2, *, beta=1, alpha=1):
    """``beta * input + alpha * (batch1 @ batch2)`` for batches of matrices."""
    from .matmul import bmm

    return _scaled_sum("baddbmm", input, bmm(batch1, batch2), beta, alpha)


@public
def addbmm(input, batch1, batch2, *, beta=1, alpha=1):
    """``beta * input + alpha * sum_b(batch1[b] @ batch2[b])``."""
    from .matmul import bmm

    return _scaled_sum("addbmm", input, bmm(batch1, batch2).sum(0), beta, alpha)
