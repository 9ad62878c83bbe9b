"""``torch.linalg``'s functions with reverse-mode gradients, public as ``gradstep.linalg.<name>``
(see ``gradstep/linalg.py``; they are not ``gradstep.<name>`` nor Tensor methods, where
``norm``, ``diagonal`` and ``matmul`` already mean PyTorch's top-level functions). The end of the
file adds PyTorch's top-level forms (det, logdet, slogdet, inverse, pinverse, matrix_power, cholesky_solve,
cross, svd, vdot) as thin aliases of them, public as ``gradstep.<name>`` and Tensor methods.

LAPACK runs through NumPy, batched over leading dims, in the input's dtype (float32 stays
float32). A factorization with several outputs (slogdet, qr, eigh, svd) is computed once and each
output gets its own graph node: the backward formulas are linear in the outputs' gradients, so the
engine's sum of the parts is the whole gradient, and only the outputs that are used cost a backward.
Eigenvector and singular vector signs are LAPACK's (NumPy's), which may differ from PyTorch's.

Bad input raises gradstep errors naming the op; a singular or not positive-definite matrix raises
:class:`gradstep.errors.LinAlgError` (like ``torch.linalg.LinAlgError``, a ``RuntimeError``).
"""
from __future__ import annotations

import collections
import math
import warnings

from ..autograd.function import Function
from ..autograd.grad_mode import is_grad_enabled
from ..autograd.tensor import Tensor, _as_tensor
from ..backend import xp
from ..errors import (ArgumentTypeError, DTypeError, InvalidArgument, LinAlgError, NotSupported, ShapeError,
                      fmt_shape)
from ._helpers import normalize_dim
from ._registry import public
from .elementwise import where
from .indexing import tril, triu
from .reduce import VectorNorm, _arr, _dims

slogdet_result = collections.namedtuple("slogdet", ["sign", "logabsdet"])
eigh_result = collections.namedtuple("eigh", ["eigenvalues", "eigenvectors"])
svd_result = collections.namedtuple("svd", ["U", "S", "Vh"])
qr_result = collections.namedtuple("qr", ["Q", "R"])

_LAPACK_DTYPES = (xp.dtype(xp.float32), xp.dtype(xp.float64))


# -------------------------------------------------------------------- helpers
def _mT(a):
    return xp.swapaxes(a, -1, -2)


def _floating(op, A, lapack=True):
    """``A`` as a Tensor, refusing ints and bools (and float16 where LAPACK is needed), as PyTorch does."""
    t = _as_tensor(A)
    dtype = t._data.dtype
    if dtype.kind != "f" or (lapack and dtype not in _LAPACK_DTYPES):
        expected = "a float32 or float64 tensor" if lapack else "a floating point tensor"
        raise DTypeError(f"{op}: expected {expected}, got dtype {dtype}; convert it first, e.g. A.float()")
    return t


def _matrices(op, A, square=True):
    """``A`` as a float Tensor of shape (*, m, n) (square when ``square``), else a clear error."""
    t = _floating(op, A)
    if t.ndim < 2:
        raise ShapeError(f"{op}: expected a matrix or a batch of matrices (*, m, n), got shape {fmt_shape(t.shape)}")
    m, n = t.shape[-2:]
    if square and m != n:
        raise ShapeError(f"{op}: expected square matrices (*, n, n), got shape {fmt_shape(t.shape)} "
                         f"({m} by {n} matrices)")
    return t


def _records(*tensors):
    """Whether an op on these tensors records a graph node (so a backward may need more than the values)."""
    return is_grad_enabled() and any(t.requires_grad for t in tensors)


def _batch_element(a, probe):
    """' (batch element i)' naming the first matrix of ``a`` that ``probe`` fails on; '' for one matrix."""
    if a.ndim == 2:
        return ""
    for idx in xp.ndindex(a.shape[:-2]):
        try:
            probe(a[idx])
        except xp.linalg.LinAlgError:
            return f" (batch element {idx[0] if len(idx) == 1 else idx})"
    return ""


def _inv_array(op, a):
    try:
        return xp.linalg.inv(a)
    except xp.linalg.LinAlgError:
        where = _batch_element(a, xp.linalg.inv)
        raise LinAlgError(
            f"{op}: the matrix{where} is singular, so it has no inverse (input shape {fmt_shape(a.shape)}); "
            f"expected invertible matrices (linalg.pinv gives the pseudo-inverse of any matrix)"
        ) from None


def _or_nan(fn, a, *rest):
    """``fn(a, *rest)``, with NaN for the matrices of the batch LAPACK calls singular (backward of a
    singular matrix, where the gradient is undefined, as in PyTorch)."""
    try:
        return fn(a, *rest)
    except xp.linalg.LinAlgError:
        pass
    shape = xp.broadcast_shapes(a.shape[:-2], *(r.shape[:-2] for r in rest))
    a = xp.broadcast_to(a, shape + a.shape[-2:])
    rest = [xp.broadcast_to(r, shape + r.shape[-2:]) for r in rest]
    out = None
    for idx in xp.ndindex(shape):
        try:
            value = fn(a[idx], *(r[idx] for r in rest))
        except xp.linalg.LinAlgError:
            value = None
        if out is None:
            trailing = (a.shape[-1], rest[0].shape[-1]) if rest else a.shape[-2:]
            out = xp.full(shape + trailing, xp.nan, dtype=a.dtype)
        if value is not None:
            out[idx] = value
    return out


def _lapack(op, fn, a, **kw):
    """``fn(a, **kw)`` with NumPy's convergence failures as gradstep's LinAlgError."""
    try:
        return fn(a, **kw)
    except xp.linalg.LinAlgError as e:
        raise LinAlgError(f"{op}: LAPACK failed on the input of shape {fmt_shape(a.shape)} ({e}); "
                          f"does it hold NaN or inf values?") from None


def _by_others(s):
    """Product of all other entries along the last dim, without division (safe with zeros)."""
    ones = xp.ones(s.shape[:-1] + (1,), dtype=s.dtype)
    left = xp.cumprod(xp.concatenate([ones, s[..., :-1]], -1), -1)
    right = xp.cumprod(xp.concatenate([ones, s[..., :0:-1]], -1), -1)[..., ::-1]
    return left * right


# ---------------------------------------------------------------- det, slogdet
class Det(Function):
    """``det(A)``. Backward: the cofactor matrix ``g * det * A^-T``; for singular matrices through
    the SVD, ``g * det(U) det(Vh) * U diag(prod_{j != i} s_j) Vh`` (no division). PyTorch 2.13
    returns 0 for exactly singular matrices instead, which is not the derivative (det([[0, 0], [0, 1]])
    grows with A[0, 0])."""

    saves_output = True

    def forward(self, a):
        self.det = _arr(xp.linalg.det(a))
        return self.det

    def backward(self, g):
        a, det = self.inputs[0]._data, self.det
        n = a.shape[-1]
        if a.size == 0:
            return xp.zeros(a.shape, g.dtype)
        a3, det1 = a.reshape(-1, n, n), det.reshape(-1)
        scale = (g * det).reshape(-1)
        grad = xp.empty(a3.shape, g.dtype)
        regular = det1 != 0
        if regular.any():
            inv = _or_nan(xp.linalg.inv, a3[regular])
            grad[regular] = scale[regular, None, None] * _mT(inv)
        singular = ~regular
        if singular.any():
            u, s, vh = xp.linalg.svd(a3[singular])
            alpha = xp.linalg.det(u) * xp.linalg.det(vh) * g.reshape(-1)[singular]
            grad[singular] = alpha[:, None, None] * ((u * _by_others(s)[:, None, :]) @ vh)
        return grad.reshape(a.shape)


class LogAbsDet(Function):
    """``logabsdet`` of slogdet (computed with the sign by the public function). Backward: ``g * A^-T``
    (NaN for a singular matrix, where log|det| is -inf)."""

    def forward(self, a, value):
        return value

    def backward(self, g):
        return g[..., None, None] * _mT(_or_nan(xp.linalg.inv, self.inputs[0]._data))


def det(A):
    """Determinant of each square matrix of ``A`` (*, n, n) -> (*)."""
    return Det.apply(_matrices("linalg.det", A))


def slogdet(A):
    """``(sign, logabsdet)`` with ``det(A) = sign * exp(logabsdet)``: finite where det under- or overflows.

    A singular matrix gives sign 0 and logabsdet -inf. Only logabsdet has a gradient.
    """
    t = _matrices("linalg.slogdet", A)
    with xp.errstate(all="ignore"):
        sign, logabsdet = xp.linalg.slogdet(t._data)
    return slogdet_result(Tensor._wrap(_arr(sign)), LogAbsDet.apply(t, value=_arr(logabsdet)))


# ------------------------------------------------------------------ inv, solve
class Inv(Function):
    """``A^-1``. Backward: ``-A^-T g A^-T``."""

    saves_inputs = False
    saves_output = True

    def forward(self, a, op):
        self.out = _inv_array(op, a)
        return self.out

    def backward(self, g):
        xt = _mT(self.out)
        return -(xt @ g @ xt)


def inv(A):
    """Inverse of each square matrix of ``A`` (*, n, n); a singular one raises LinAlgError."""
    return Inv.apply(_matrices("linalg.inv", A), op="linalg.inv")


class Solve(Function):
    """``X = A^-1 B`` for A (*, n, n) and B (*, n, k), batch dims broadcast.
    Backward: ``gB = A^-T g``, ``gA = -gB X^T`` (in the broadcast shape; the engine sums it back)."""

    saves_output = True

    def forward(self, a, b):
        try:
            self.out = xp.linalg.solve(a, b)
        except xp.linalg.LinAlgError:
            where = _batch_element(a, xp.linalg.inv)
            raise LinAlgError(
                f"linalg.solve: A{where} is singular, so AX = B has no unique solution (A of shape "
                f"{fmt_shape(a.shape)}, B of shape {fmt_shape(b.shape)}); expected invertible A "
                f"(linalg.pinv(A) @ B gives the least-squares solution)"
            ) from None
        return self.out

    def backward(self, g):
        need_a, need_b = self.needs_input_grad
        gb = _or_nan(xp.linalg.solve, _mT(self.inputs[0]._data), g)
        return (-(gb @ _mT(self.out)) if need_a else None), (gb if need_b else None)


def solve(A, B, *, left: bool = True):
    """The solution X of ``A X = B`` (or ``X A = B`` when ``left=False``) for square invertible A.

    Shape:
        A (*, n, n); B (*, n, k) -> X (*, n, k), or B a vector (n,) or (*, n) (A's batch) -> X (*, n);
        with left=False B (*, k, n) -> X (*, k, n). Batch dims broadcast.
    """
    op = "linalg.solve"
    a = _matrices(op, A)
    b = _floating(op, B)
    if a._data.dtype != b._data.dtype:
        raise DTypeError(f"{op}: expected A and B of the same dtype, got {a.dtype} and {b.dtype}")
    n = a.shape[-1]
    vector = b.ndim == 1 or (b.ndim == a.ndim - 1 and b.shape == a.shape[:-1])
    eq = "AX = B" if left else "XA = B"
    if b.ndim == 0 or (not left and vector):
        raise ShapeError(f"{op}: expected B of shape (*, n, k){' or (*, n)' if left else ''} for the equation {eq}, "
                         f"got shape {fmt_shape(b.shape)} with A of shape {fmt_shape(a.shape)}")
    if vector:
        b = b.unsqueeze(-1)
    rows = b.shape[-2] if left else b.shape[-1]
    if rows != n:
        shown = f"{b.shape[-2]}x{b.shape[-1]}"
        raise ShapeError(f"{op}: incompatible shapes of A {fmt_shape(a.shape)} and B {fmt_shape(b.shape)} for the "
                         f"equation {eq} ({n}x{n} and {shown}): B needs {n} {'rows' if left else 'columns'}")
    try:
        xp.broadcast_shapes(a.shape[:-2], b.shape[:-2])
    except ValueError:
        raise ShapeError(f"{op}: batch dims of A {fmt_shape(a.shape)} and B {fmt_shape(b.shape)} don't broadcast "
                         f"(each must match or be 1)") from None
    if left:
        x = Solve.apply(a, b)
    else:
        x = Solve.apply(a.mT, b.mT).mT
    return x.squeeze(-1) if vector else x


# -------------------------------------------------------------------- cholesky
class Cholesky(Function):
    """``L`` with ``A = L L^T`` (reads A's lower triangle; ``upper``: ``U = L^T`` from the upper one).

    Backward (Murray 2016, PyTorch's form): ``P = tril(L^T gL)``, ``S = (P + tril(P, -1)^T) / 2``,
    ``gA = L^-T S L^-1``: symmetric, as for a symmetric input.
    """

    saves_inputs = False
    saves_output = True

    def forward(self, a, upper):
        self.upper = upper
        try:
            self.out = xp.linalg.cholesky(a, upper=upper)
        except xp.linalg.LinAlgError:
            where = _batch_element(a, lambda m: xp.linalg.cholesky(m, upper=upper))
            raise LinAlgError(
                f"linalg.cholesky: the matrix{where} is not positive-definite (input shape {fmt_shape(a.shape)}); "
                f"expected symmetric positive-definite matrices (e.g. A @ A.mT + eps * I)"
            ) from None
        return self.out

    def backward(self, g):
        L = self.out
        if self.upper:
            L, g = _mT(L), _mT(g)
        p = xp.tril(_mT(L) @ g)
        s = (p + _mT(xp.tril(p, -1))) * 0.5
        l_inv = _or_nan(xp.linalg.inv, L)
        return _mT(l_inv) @ s @ l_inv


def cholesky(A, *, upper: bool = False):
    """Cholesky factor of symmetric positive-definite matrices (*, n, n): lower L with ``A = L L^T``,
    or upper U with ``A = U^T U`` when ``upper``. Not positive-definite raises LinAlgError."""
    return Cholesky.apply(_matrices("linalg.cholesky", A), upper=bool(upper))


# --------------------------------------------- outputs of one factorization
class _Part(Function):
    """Output ``part`` of a factorization the public function computed once (``parts``).

    A recorded node hands out a copy, so changing one output in place can't change what the other
    outputs' backward reads.
    """

    saves_inputs = False
    part = 0

    def forward(self, a, parts, **info):
        self.parts, self.info = parts, info
        out = parts[self.part]
        return out.copy() if self.needs_input_grad[0] else out


# ------------------------------------------------------------------------- qr
def _copyltu(m):
    """The symmetric matrix with ``m``'s lower triangle."""
    return xp.tril(m) + _mT(xp.tril(m, -1))


def _qr_grad_tall(q, r, gq, gr):
    """A = QR with m >= n: ``gA = (gQ + Q copyltu(R gR^T - gQ^T Q)) R^-T`` (gQ or gR may be None)."""
    k = r.shape[-1]
    m = xp.zeros(r.shape[:-2] + (k, k), dtype=q.dtype)
    if gr is not None:
        m = m + r @ _mT(gr)
    if gq is not None:
        m = m - _mT(gq) @ q
    b = q @ _copyltu(m)
    if gq is not None:
        b = b + gq
    return _mT(_or_nan(xp.linalg.solve, r, _mT(b)))


def _qr_grad(q, r, gq, gr):
    """Reduced QR's gradient; for m < n, A = [X | Y] with X = Q R1 (square) and Y = Q R2."""
    m, n = q.shape[-2], r.shape[-1]
    if m >= n:
        return _qr_grad_tall(q, r, gq, gr)
    if gr is None:
        gx = _qr_grad_tall(q, r[..., :m], gq, None)
        return xp.concatenate([gx, xp.zeros(gx.shape[:-1] + (n - m,), dtype=gx.dtype)], -1)
    gr2 = gr[..., m:]
    gq_total = (q @ r[..., m:]) @ _mT(gr2)
    if gq is not None:
        gq_total = gq_total + gq
    gx = _qr_grad_tall(q, r[..., :m], gq_total, gr[..., :m])
    return xp.concatenate([gx, q @ gr2], -1)


class _QrPart(_Part):
    def backward(self, g):
        q, r = self.parts
        mode, shape = self.info["mode"], self.inputs[0].shape
        if mode == "r":
            raise NotSupported("linalg.qr: the gradient of R needs Q, which mode='r' doesn't compute; "
                               "use linalg.qr(A, mode='reduced') to differentiate through QR (as PyTorch)")
        if mode == "complete" and shape[-2] > shape[-1]:
            raise NotSupported(f"linalg.qr: the QR decomposition is not differentiable when mode='complete' and the "
                               f"matrices have more rows than columns (input shape {fmt_shape(shape)}); the extra "
                               f"columns of Q are any basis of the complement. Use mode='reduced' (as PyTorch)")
        return _qr_grad(q, r, g, None) if self.part == 0 else _qr_grad(q, r, None, g)


class _QrQ(_QrPart):
    part = 0


class _QrR(_QrPart):
    part = 1


def qr(A, mode: str = "reduced"):
    """QR factorization ``A = Q R`` of (*, m, n) matrices, Q with orthonormal columns, R upper triangular.

    mode: 'reduced' (Q (*, m, k), R (*, k, n), k = min(m, n)), 'complete' (Q (*, m, m), R (*, m, n))
    or 'r' (R only; Q is an empty tensor). Gradients as PyTorch's: reduced mode (any m, n), complete
    mode when m <= n; otherwise backward raises NotSupported.
    """
    op = "linalg.qr"
    t = _matrices(op, A, square=False)
    if mode not in ("reduced", "complete", "r"):
        raise InvalidArgument(f"{op}: unknown mode {mode!r}; expected 'reduced' (default), 'complete' or 'r'")
    a = t._data
    if mode == "r":
        r = _lapack(op, xp.linalg.qr, a, mode="r")
        return qr_result(Tensor._wrap(xp.zeros((0,), dtype=a.dtype)), _QrR.apply(t, parts=(None, r), mode=mode))
    q, r = _lapack(op, xp.linalg.qr, a, mode=mode)
    parts = (q, r)
    return qr_result(_QrQ.apply(t, parts=parts, mode=mode), _QrR.apply(t, parts=parts, mode=mode))


# ----------------------------------------------------------------------- eigh
def _differences(w):
    """``E[i, j] = w[j] - w[i]`` with 1 on the diagonal (divided into a matrix with zero diagonal)."""
    e = w[..., None, :] - w[..., :, None]
    n = w.shape[-1]
    e[..., range(n), range(n)] = 1
    return e


class _EighValues(_Part):
    """Backward: ``Q diag(g) Q^T``."""

    part = 0

    def backward(self, g):
        q = self.parts[1]
        return (q * g[..., None, :]) @ _mT(q)


class _EighVectors(_Part):
    """Backward: ``Q (skew(Q^T g) / E) Q^T`` with ``skew(X) = (X - X^T)/2`` and ``E[i, j] = w[j] - w[i]``
    (symmetric, as for a symmetric input); repeated eigenvalues divide by 0 (inf/NaN, as PyTorch)."""

    part = 1

    def backward(self, g):
        w, q = self.parts
        x = _mT(q) @ g
        x = (x - _mT(x)) * 0.5 / _differences(w)
        return q @ x @ _mT(q)


def _uplo(op, UPLO):
    if UPLO not in ("L", "U"):
        raise InvalidArgument(f"{op}: UPLO must be 'L' or 'U', got {UPLO!r}")
    return UPLO


def eigh(A, UPLO: str = "L"):
    """Eigenvalues (ascending) and eigenvectors (columns) of symmetric matrices (*, n, n).

    Reads only the lower (UPLO='L') or upper ('U') triangle. The eigenvectors' gradient is undefined
    for repeated eigenvalues (inf/NaN, as in PyTorch); the eigenvalues' is always defined.
    """
    op = "linalg.eigh"
    t = _matrices(op, A)
    w, q = _lapack(op, xp.linalg.eigh, t._data, UPLO=_uplo(op, UPLO))
    parts = (w, q)
    return eigh_result(_EighValues.apply(t, parts=parts), _EighVectors.apply(t, parts=parts))


def eigvalsh(A, UPLO: str = "L"):
    """Eigenvalues (ascending) of symmetric matrices (*, n, n) -> (*, n)."""
    op = "linalg.eigvalsh"
    t = _matrices(op, A)
    UPLO = _uplo(op, UPLO)
    if not _records(t):
        return Tensor._wrap(_lapack(op, xp.linalg.eigvalsh, t._data, UPLO=UPLO))
    parts = _lapack(op, xp.linalg.eigh, t._data, UPLO=UPLO)
    return _EighValues.apply(t, parts=tuple(parts))


# ------------------------------------------------------------------------ svd
class _SvdPart(_Part):
    def reduced(self):
        u, s, vh = self.parts
        k = s.shape[-1]
        return u[..., :, :k], s, vh[..., :k, :]


class _SvdU(_SvdPart):
    """Backward: ``U [(F o (U^T gU - gU^T U)) S] Vh + (I - U U^T) gU S^-1 Vh`` (the second term when m > k),
    ``F[i, j] = 1 / (s_j^2 - s_i^2)``. With full_matrices, the gradient of U's columns past k is ignored
    (they are any basis of the complement), as PyTorch does."""

    part = 0

    def backward(self, g):
        u, s, vh = self.reduced()
        k = s.shape[-1]
        g = g[..., :, :k]
        utg = _mT(u) @ g
        inner = (utg - _mT(utg)) / _differences(s * s) * s[..., None, :]
        grad = u @ inner
        if u.shape[-2] > k:
            grad = grad + (g - u @ utg) / s[..., None, :]
        return grad @ vh


class _SvdS(_SvdPart):
    """Backward: ``U diag(g) Vh``."""

    part = 1

    def backward(self, g):
        u, _, vh = self.reduced()
        return (u * g[..., None, :]) @ vh


class _SvdVh(_SvdPart):
    """Backward: ``U [S (F o (V^T gV - gV^T V))] Vh + U S^-1 gVh (I - V Vh)`` (the second term when n > k),
    with ``gV = gVh^T``; with full_matrices the gradient of Vh's rows past k is ignored."""

    part = 2

    def backward(self, g):
        u, s, vh = self.reduced()
        k = s.shape[-1]
        g = g[..., :k, :]
        vtgv = vh @ _mT(g)  # V^T gV
        inner = s[..., :, None] * ((vtgv - _mT(vtgv)) / _differences(s * s))
        grad = inner @ vh
        if vh.shape[-1] > k:
            grad = grad + (g - (g @ _mT(vh)) @ vh) / s[..., :, None]
        return u @ grad


def svd(A, full_matrices: bool = True, *, driver=None):
    """Singular value decomposition ``A = U diag(S) Vh`` of (*, m, n) matrices, S descending.

    full_matrices: U (*, m, m) and Vh (*, n, n); else U (*, m, k), Vh (*, k, n), k = min(m, n).
    Gradients: undefined for repeated or zero singular values (inf/NaN, as PyTorch); with
    full_matrices, the gradient of the columns past k is ignored, as PyTorch does. ``driver`` is
    accepted for PyTorch's signature (CUDA only there).
    """
    op = "linalg.svd"
    t = _matrices(op, A, square=False)
    parts = tuple(_lapack(op, xp.linalg.svd, t._data, full_matrices=bool(full_matrices)))
    return svd_result(_SvdU.apply(t, parts=parts), _SvdS.apply(t, parts=parts), _SvdVh.apply(t, parts=parts))


def svdvals(A, *, driver=None):
    """Singular values (descending) of (*, m, n) matrices -> (*, min(m, n)). Gradient ``U diag(g) Vh``."""
    op = "linalg.svdvals"
    t = _matrices(op, A, square=False)
    if not _records(t):
        return Tensor._wrap(_lapack(op, xp.linalg.svd, t._data, compute_uv=False))
    parts = tuple(_lapack(op, xp.linalg.svd, t._data, full_matrices=False))
    return _SvdS.apply(t, parts=parts)


# ----------------------------------------------------------------------- pinv
class Pinv(Function):
    """Moore-Penrose pseudo-inverse X of A. Backward (Golub & Pereyra, PyTorch's formula; constant rank):
    ``gA = -X^T g X^T + (I - A X) g^T X X^T + X^T X g^T (I - X A)``."""

    saves_output = True

    def forward(self, a, atol, rtol, hermitian):
        if hermitian:
            w, q = _lapack("linalg.pinv", xp.linalg.eigh, a)
            size = xp.abs(w)
            tol = xp.maximum(atol, rtol * size.max(-1, initial=0))
            w_inv = xp.where(size > tol[..., None], 1 / w, 0).astype(a.dtype, copy=False)
            out = (q * w_inv[..., None, :]) @ _mT(q)
        else:
            u, s, vh = _lapack("linalg.pinv", xp.linalg.svd, a, full_matrices=False)
            tol = xp.maximum(atol, rtol * s.max(-1, initial=0))
            s_inv = xp.where(s > tol[..., None], 1 / s, 0).astype(a.dtype, copy=False)
            out = (_mT(vh) * s_inv[..., None, :]) @ _mT(u)
        self.out = out
        return out

    def backward(self, g):
        a, x = self.inputs[0]._data, self.out
        xt, gt = _mT(x), _mT(g)
        grad = -(xt @ g @ xt)
        grad = grad + (gt - a @ (x @ gt)) @ (x @ xt)
        grad = grad + (xt @ x) @ (gt - (gt @ x) @ a)
        return grad


def _tolerance(op, value, dtype, batch):
    if value is None:
        return None
    if isinstance(value, Tensor):
        value = value._data
    arr = xp.asarray(value, dtype=dtype)
    try:
        return xp.broadcast_to(arr, batch)
    except ValueError:
        raise ShapeError(f"{op}: tolerance of shape {fmt_shape(arr.shape)} doesn't broadcast to the batch shape "
                         f"{fmt_shape(batch)}") from None


def pinv(A, *, atol=None, rtol=None, hermitian: bool = False):
    """Pseudo-inverse of (*, m, n) matrices -> (*, n, m), through the SVD (the eigendecomposition when
    ``hermitian``, reading the lower triangle).

    Singular values at most ``max(atol, rtol * largest)`` count as zero. Defaults as PyTorch: atol 0;
    rtol ``eps * max(m, n)``, or 0 when only a positive atol is given.
    """
    op = "linalg.pinv"
    t = _matrices(op, A, square=bool(hermitian))
    dtype, batch = t._data.dtype, t.shape[:-2]
    atol_a, rtol_a = _tolerance(op, atol, dtype, batch), _tolerance(op, rtol, dtype, batch)
    if rtol_a is None:
        default = xp.finfo(dtype).eps * max(t.shape[-2:])
        rtol_a = xp.full(batch, default, dtype=dtype)
        if atol_a is not None:
            rtol_a = xp.where(atol_a > 0, 0, rtol_a).astype(dtype)
    if atol_a is None:
        atol_a = xp.zeros(batch, dtype=dtype)
    return Pinv.apply(t, atol=atol_a, rtol=rtol_a, hermitian=bool(hermitian))


# --------------------------------------------------------------- matrix_power
def matrix_power(A, n: int):
    """``A`` to the integer power ``n`` for square matrices (*, m, m): n = 0 gives the identity,
    n < 0 the power of the inverse. By binary exponentiation of matmuls (as PyTorch), so the
    gradient flows through them."""
    op = "linalg.matrix_power"
    if not isinstance(n, int) or isinstance(n, bool):
        raise ArgumentTypeError(f"{op}: n must be an int, got {type(n).__name__}")
    t = _as_tensor(A)
    if t.ndim < 2 or t.shape[-1] != t.shape[-2]:
        raise ShapeError(f"{op}: expected square matrices (*, m, m), got shape {fmt_shape(t.shape)}")
    if n == 0:
        eye = xp.eye(t.shape[-1], dtype=t._data.dtype)
        return Tensor._wrap(xp.broadcast_to(eye, t.shape).copy())
    if n < 0:
        t = Inv.apply(_matrices(op, t), op=op)
        n = -n
    if n == 1:
        return t.clone()
    if n == 2:
        return t @ t
    if n == 3:
        return (t @ t) @ t
    z = result = None
    while n > 0:
        bit, n = n % 2, n // 2
        z = t if z is None else z @ z
        if bit:
            result = z if result is None else result @ z
    return result


# ------------------------------------------------------------- cross, vecdot
class Cross(Function):
    """``a x b`` along ``dim`` (length 3). Backward: ``ga = b x g``, ``gb = g x a``."""

    def forward(self, a, b, dim):
        self.dim = dim
        return xp.cross(a, b, axis=dim)

    def backward(self, g):
        a, b = self.inputs[0]._data, self.inputs[1]._data
        need_a, need_b = self.needs_input_grad
        return (xp.cross(b, g, axis=self.dim) if need_a else None), (xp.cross(g, a, axis=self.dim) if need_b else None)


def cross(input, other, *, dim: int = -1):
    """Cross product of 3-vectors along ``dim``; other dims broadcast."""
    op = "linalg.cross"
    a, b = _as_tensor(input), _as_tensor(other)
    if a._data.dtype != b._data.dtype:
        raise DTypeError(f"{op}: expected input and other of the same dtype, got {a.dtype} and {b.dtype}")
    if a.ndim != b.ndim:
        raise ShapeError(f"{op}: expected inputs with the same number of dims, got shapes {fmt_shape(a.shape)} "
                         f"and {fmt_shape(b.shape)}")
    d = normalize_dim(dim, a.ndim, op)
    if a.ndim == 0 or a.shape[d] != 3 or b.shape[d] != 3:
        raise ShapeError(f"{op}: dim {dim} must have length 3 in both inputs, got shapes {fmt_shape(a.shape)} "
                         f"and {fmt_shape(b.shape)}")
    try:
        xp.broadcast_shapes(a.shape, b.shape)
    except ValueError:
        raise ShapeError(f"{op}: shapes {fmt_shape(a.shape)} and {fmt_shape(b.shape)} don't broadcast") from None
    return Cross.apply(a, b, dim=d)


def vecdot(x, y, *, dim: int = -1):
    """Dot product of the vectors along ``dim`` (other dims broadcast): ``(x * y).sum(dim)``."""
    op = "linalg.vecdot"
    a, b = _floating(op, x, lapack=False), _floating(op, y, lapack=False)
    if a._data.dtype != b._data.dtype:
        raise DTypeError(f"{op}: expected x and y of the same dtype, got {a.dtype} and {b.dtype}")
    try:
        shape = xp.broadcast_shapes(a.shape, b.shape)
    except ValueError:
        raise ShapeError(f"{op}: shapes {fmt_shape(a.shape)} and {fmt_shape(b.shape)} don't broadcast") from None
    if not shape:
        raise ShapeError(f"{op}: expected vectors (at least 1 dim), got shapes {fmt_shape(a.shape)} and "
                         f"{fmt_shape(b.shape)}")
    return (a * b).sum(normalize_dim(dim, len(shape), op))


def diagonal(A, *, offset: int = 0, dim1: int = -2, dim2: int = -1):
    """The diagonal ``offset`` of each (dim1, dim2) matrix, as the last dim (gradstep.diagonal with
    torch.linalg's defaults: the last two dims)."""
    from .linalg_basic import diagonal as _diagonal

    return _diagonal(A, offset, dim1, dim2)


# ---------------------------------------------------------------------- norms
def _norm_input(op, A, dtype, lapack=False):
    """The float input, cast to ``dtype`` (which must not narrow it, as in PyTorch)."""
    t = _floating(op, A, lapack=lapack)
    if dtype is not None:
        want = xp.dtype(dtype)
        if want.kind != "f" or want.itemsize < t._data.dtype.itemsize:
            raise DTypeError(f"{op}: dtype {want} would narrow the input's dtype {t.dtype}; expected a floating "
                             f"dtype at least as wide")
        t = t.to(want)
    return t


def _vector_ord(op, ord):
    if isinstance(ord, Tensor):
        ord = ord.item()
    if isinstance(ord, bool) or not isinstance(ord, (int, float)):
        raise ArgumentTypeError(f"{op}: ord must be a number (a real p, 0, inf or -inf), got {ord!r}; "
                                f"for 'fro' or 'nuc' use linalg.matrix_norm or linalg.norm")
    return float(ord)


def vector_norm(x, ord=2, dim=None, keepdim: bool = False, *, dtype=None):
    """Vector ``ord``-norm over ``dim`` (int or tuple; all elements when None): ``sum(|x|^ord)^(1/ord)``,
    max |x| for inf, min |x| for -inf, the count of nonzeros for 0."""
    op = "linalg.vector_norm"
    p = _vector_ord(op, ord)
    t = _norm_input(op, x, dtype)
    axes = _dims(dim, t.ndim, op)
    if math.isinf(p) and t._data.size == 0 and (not axes or any(t.shape[ax] == 0 for ax in axes)):
        raise ShapeError(f"{op}: can't compute the {ord} norm of an empty tensor (shape {fmt_shape(t.shape)}): "
                         f"max and min have no value over no elements")
    return VectorNorm.apply(t, p=p, axes=axes, keepdim=bool(keepdim))


def _matrix_dims(op, dim, ndim):
    if isinstance(dim, int) or not isinstance(dim, (tuple, list)) or len(dim) != 2:
        raise InvalidArgument(f"{op}: dim must be a 2-tuple of ints, got {dim!r}")
    d0, d1 = normalize_dim(dim[0], ndim, op), normalize_dim(dim[1], ndim, op)
    if d0 == d1:
        raise InvalidArgument(f"{op}: the two dims must be different, got {tuple(dim)}")
    return d0, d1


def matrix_norm(A, ord="fro", dim=(-2, -1), keepdim: bool = False, *, dtype=None):
    """Matrix norm over the two dims ``dim``: 'fro' (Frobenius), 'nuc' (sum of singular values),
    2 / -2 (largest / smallest singular value), 1 / -1 (max / min column abs sum), inf / -inf (rows)."""
    op = "linalg.matrix_norm"
    t = _norm_input(op, A, dtype)
    if t.ndim < 2:
        raise ShapeError(f"{op}: expected a matrix or a batch of matrices (at least 2 dims), got shape "
                         f"{fmt_shape(t.shape)}")
    d0, d1 = _matrix_dims(op, dim, t.ndim)
    if isinstance(ord, Tensor):
        ord = ord.item()
    if ord == "fro":
        return vector_norm(t, 2, (d0, d1), keepdim)
    spectral = ord == "nuc" or (not isinstance(ord, (str, bool)) and ord in (2, -2))
    columns = not isinstance(ord, (str, bool)) and ord in (1, -1, math.inf, -math.inf)
    if not (spectral or columns):
        raise InvalidArgument(f"{op}: ord {ord!r} is not supported; expected 'fro', 'nuc', 2, -2, 1, -1, inf or -inf")
    positive = ord == "nuc" or ord > 0
    if t._data.size == 0 and positive:
        return vector_norm(t, 2, (d0, d1), keepdim)  # zeros, as PyTorch
    if spectral:
        if t.shape[d0] == 0 or t.shape[d1] == 0:
            raise ShapeError(f"{op}: ord={ord} of empty matrices (shape {fmt_shape(t.shape)}) has no value")
        s = svdvals(_floating(op, t.movedim((d0, d1), (-2, -1))))
        out = s.sum(-1) if ord == "nuc" else s.amax(-1) if ord == 2 else s.amin(-1)
        if keepdim:
            out = out.unsqueeze(min(d0, d1)).unsqueeze(max(d0, d1))
        return out
    if math.isinf(ord):
        d0, d1 = d1, d0  # row sums
    if t.shape[d1] == 0:
        raise ShapeError(f"{op}: ord={ord} of matrices of shape {fmt_shape(t.shape)} has no value (min over no "
                         f"{'rows' if math.isinf(ord) else 'columns'})")
    sums = vector_norm(t, 1, d0, keepdim)
    if not keepdim and d0 < d1:
        d1 -= 1
    return sums.amax(d1, keepdim) if ord > 0 else sums.amin(d1, keepdim)


def norm(A, ord=None, dim=None, keepdim: bool = False, *, dtype=None):
    """A vector or a matrix norm, by PyTorch's rules: a string ``ord``, or ``ord`` with a 2-tuple ``dim``
    (or a 2-D input and no dim), gives ``matrix_norm``; everything else ``vector_norm`` (``ord`` None: 2,
    over all elements when ``dim`` is None)."""
    op = "linalg.norm"
    t = _as_tensor(A)
    if dim is not None:
        dim = (dim,) if isinstance(dim, int) else tuple(dim)
        if len(dim) not in (1, 2):
            raise InvalidArgument(f"{op}: dim must have 1 or 2 dims, got {dim}")
    elif ord is not None and t.ndim not in (1, 2):
        raise ShapeError(f"{op}: with ord and no dim the input must be 1-D or 2-D, got shape {fmt_shape(t.shape)}; "
                         f"pass dim")
    if isinstance(ord, str) or (ord is not None and (len(dim) == 2 if dim is not None else t.ndim == 2)):
        return matrix_norm(t, ord, dim if dim is not None else (-2, -1), keepdim, dtype=dtype)
    return vector_norm(t, 2 if ord is None else ord, dim, keepdim, dtype=dtype)


# ------------------------------------------------ PyTorch's top-level forms
# torch.det, torch.inverse, torch.cross, ... and their Tensor methods, as thin aliases of the functions
# above (which stay torch.linalg's under their own names: gradstep.linalg imports them). Parameter names
# are the top-level ones (input, other, input2), so keyword calls written for PyTorch work.
svd_legacy_result = collections.namedtuple("svd", ["U", "S", "V"])
_cross_warned = False


def _top_level(name):
    """Register the decorated function as ``gradstep.<name>`` and ``Tensor.<name>``."""
    def register(fn):
        fn.__name__ = fn.__qualname__ = name
        return public(fn, name=name)

    return register


@_top_level("det")
def _det(input):
    """Determinant of each square matrix (*, n, n) -> (*): ``linalg.det``."""
    return det(input)


@_top_level("slogdet")
def _slogdet(input):
    """``(sign, logabsdet)`` of each square matrix: ``linalg.slogdet``."""
    return slogdet(input)


@_top_level("logdet")
def _logdet(input):
    """``log(det(A))`` of each square matrix (*, n, n) -> (*), as PyTorch: NaN where det < 0, -inf where
    det = 0. From slogdet, so it stays finite where det under- or overflows; the gradient is ``g * A^-T``
    where det > 0, 0 where det < 0 (a constant NaN) and NaN where det = 0."""
    t = _matrices("logdet", input)
    sign, logabsdet = slogdet(t)
    return where(sign == -1, math.nan, logabsdet)


@_top_level("inverse")
def _inverse(input):
    """Inverse of each square matrix: ``linalg.inv`` (a singular one raises LinAlgError)."""
    return inv(input)


@_top_level("pinverse")
def _pinverse(input, rcond: float = 1e-15):
    """Pseudo-inverse with PyTorch's legacy signature: ``linalg.pinv(input, rtol=rcond)`` (atol 0), so
    singular values at most ``rcond`` times the largest count as zero."""
    if isinstance(rcond, bool) or not isinstance(rcond, (int, float)):
        raise ArgumentTypeError(f"pinverse: rcond must be a float, got {type(rcond).__name__}; "
                                f"for a tolerance per matrix use linalg.pinv(input, rtol=...)")
    return pinv(input, rtol=float(rcond))


@_top_level("matrix_power")
def _matrix_power(input, n: int):
    """``input`` to the integer power ``n``: ``linalg.matrix_power``."""
    return matrix_power(input, n)


@_top_level("cholesky_solve")
def _cholesky_solve(input, input2, upper: bool = False):
    """The solution X of ``A X = B`` given B (``input``, (*, n, k)) and the Cholesky factor of A
    (``input2``, (*, n, n)): lower L with ``A = L L^T``, or upper U with ``A = U^T U`` when ``upper``.
    Batch dims broadcast.

    Computed as ``linalg.solve(L @ L^T, B)``. As PyTorch, only the factor's triangle is read, and the
    gradient of the factor is PyTorch's (``-(gB X^T + X gB^T) L``, over the whole matrix, as for a
    triangular input). A zero on the factor's diagonal raises LinAlgError (PyTorch returns NaN).
    """
    op = "cholesky_solve"
    factor = _matrices(op, input2)
    b = _floating(op, input)
    if b._data.dtype != factor._data.dtype:
        raise DTypeError(f"{op}: expected B (input) and the factor (input2) of the same dtype, got {b.dtype} and "
                         f"{factor.dtype}")
    n = factor.shape[-1]
    if b.ndim < 2 or b.shape[-2] != n:
        raise ShapeError(f"{op}: expected B of shape (*, {n}, k) for factors of shape {fmt_shape(factor.shape)}, "
                         f"got shape {fmt_shape(b.shape)}")
    try:
        xp.broadcast_shapes(b.shape[:-2], factor.shape[:-2])
    except ValueError:
        raise ShapeError(f"{op}: batch dims of B {fmt_shape(b.shape)} and the factor {fmt_shape(factor.shape)} "
                         f"don't broadcast (each must match or be 1)") from None
    tri = triu(factor) if upper else tril(factor)
    if _records(factor):
        tri = factor - (factor - tri).detach()  # the triangle's values, the gradient of the whole factor
    a = tri.mT @ tri if upper else tri @ tri.mT
    try:
        return solve(a, b)
    except LinAlgError:
        raise LinAlgError(f"{op}: the Cholesky factor (shape {fmt_shape(factor.shape)}) has a zero on its diagonal, "
                          f"so A is singular; expected the factor of a positive-definite matrix "
                          f"(linalg.cholesky(A))") from None


@_top_level("cross")
def _cross(input, other, dim=None):
    """Cross product of 3-vectors along ``dim``: ``linalg.cross``. With ``dim=None``, PyTorch's deprecated
    default: the first dim of ``input`` of length 3 (not the last), with PyTorch's warning, once."""
    if dim is None:
        global _cross_warned
        a = _as_tensor(input)
        dim = next((i for i, size in enumerate(a.shape) if size == 3), None)
        if dim is None:
            raise ShapeError(f"cross: no dim of length 3 in input of shape {fmt_shape(a.shape)}; expected one, "
                             f"or pass dim")
        if not _cross_warned:
            _cross_warned = True
            warnings.warn(f"cross: calling it without dim is deprecated (as in PyTorch): dim defaults to the first "
                          f"dim of length 3 of input (here {dim}, input of shape {fmt_shape(a.shape)}), while "
                          f"linalg.cross takes the last one; pass dim, or use linalg.cross. Warned once.",
                          UserWarning, stacklevel=2)
    return cross(input, other, dim=dim)


@_top_level("svd")
def _svd(input, some: bool = True, compute_uv: bool = True):
    """PyTorch's legacy SVD ``(U, S, V)`` with ``input = U diag(S) V^T``: V, not Vh = V^T as linalg.svd.

    ``some`` is the opposite of linalg.svd's full_matrices (reduced by default). With
    ``compute_uv=False``, U (*, m, m) and V (*, n, n) are zeros and S is ``linalg.svdvals`` (with its
    gradient, as PyTorch 2.13).
    """
    if not compute_uv:
        s = svdvals(input)
        t = _as_tensor(input)
        (m, n), batch = t.shape[-2:], t.shape[:-2]
        dtype = t._data.dtype
        return svd_legacy_result(Tensor._wrap(xp.zeros(batch + (m, m), dtype)), s,
                                 Tensor._wrap(xp.zeros(batch + (n, n), dtype)))
    u, s, vh = svd(input, full_matrices=not some)
    return svd_legacy_result(u, s, vh.mT)


@_top_level("vdot")
def _vdot(input, other):
    """Inner product of two 1-D tensors of the same length; for real tensors the same as ``dot``
    (there is no conjugate to take)."""
    from .matmul import Matmul, _check_matmul, _operands

    a, b = _operands("vdot", input, other)
    if a.ndim != 1 or b.ndim != 1:
        raise ShapeError(f"vdot: expected two 1-D tensors, got shapes {fmt_shape(a.shape)} and {fmt_shape(b.shape)}")
    _check_matmul("vdot", a.shape, b.shape)
    return Matmul.apply(a, b)
