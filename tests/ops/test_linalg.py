"""gradstep.linalg against torch.linalg: values and gradients (then float64 gradcheck), batched shapes,
empty batches, dtypes and errors.

Each case is one function ``fn(lib, *xs)`` run with ``lib`` = gradstep and torch. Symmetric inputs are
made inside it (``sym``), so that gradcheck's perturbations keep them symmetric; eigenvectors and
singular vectors are sign-normalized (their signs are LAPACK's choice, NumPy's and PyTorch's differ).
"""
import math
import os
import traceback

import numpy as np
import pytest

import gradstep as gs
from gradstep.errors import ArgumentTypeError, DTypeError, InvalidArgument, LinAlgError, NotSupported, ShapeError
from tests.oracle import check

F32 = dict(rtol=1e-4, atol=1e-4)  # LAPACK in float32: a few ulps more than an elementwise op
DTYPES = [np.float32, np.float64]


def both(fn, arrays, torch, dtype=np.float64, **kw):
    tol = F32 if dtype == np.float32 else {}
    return check(lambda *xs: fn(gs, *xs), lambda *xs: fn(torch, *xs), [a.astype(dtype) for a in arrays],
                 torch=torch, **{**tol, **kw})


def sym(x):
    return (x + x.mT) / 2


def invertible(rng, shape):
    return rng.standard_normal(shape) + shape[-1] * np.eye(shape[-1])


def spd(rng, shape):
    r = rng.standard_normal(shape)
    return r @ np.swapaxes(r, -1, -2) + shape[-1] * np.eye(shape[-1])


def flat(lib, *ts):
    return lib.cat([t.reshape(-1) for t in ts])


# ------------------------------------------------------------- det, slogdet, inv
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(3, 3), (2, 4, 4), (1, 1), (2, 1, 2, 2)], ids=str)
def test_det_slogdet_inv(shape, dtype, torch, rng):
    a = rng.standard_normal(shape) + 0.5 * np.eye(shape[-1])  # some dets negative
    both(lambda lib, x: lib.linalg.det(x), [a], torch, dtype)
    both(lambda lib, x: lib.linalg.slogdet(x).logabsdet, [a], torch, dtype)
    sign = gs.linalg.slogdet(gs.tensor(a.astype(dtype))).sign
    assert sign.dtype == dtype
    np.testing.assert_array_equal(sign.numpy(), torch.linalg.slogdet(torch.tensor(a.astype(dtype))).sign.numpy())
    both(lambda lib, x: lib.linalg.inv(x), [invertible(rng, shape)], torch, dtype)


def test_det_gradient_of_singular_matrices_is_the_cofactor_matrix(torch):
    """d det / dA is the cofactor matrix, also where det = 0; PyTorch 2.13 returns 0 there (not the derivative)."""
    a = gs.tensor([[0.0, 0.0], [0.0, 1.0]], requires_grad=True)
    gs.linalg.det(a).backward()
    np.testing.assert_allclose(a.grad.numpy(), [[1.0, 0.0], [0.0, 0.0]], atol=1e-6)
    t = torch.tensor([[0.0, 0.0], [0.0, 1.0]], requires_grad=True)
    torch.linalg.det(t).backward()
    assert (t.grad == 0).all()  # the difference this test documents
    rank2 = gs.tensor(np.array([[[1.0, 2, 3], [4, 5, 6], [7, 8, 9]], [[1, 0, 0], [0, 2, 0], [0, 0, 0]]]), requires_grad=True)
    assert gs.gradcheck(lambda x: gs.linalg.det(x), [rank2])
    rank1 = gs.tensor(np.ones((3, 3)), requires_grad=True)  # all cofactors are 0
    gs.linalg.det(rank1).backward()
    np.testing.assert_allclose(rank1.grad.numpy(), 0, atol=1e-12)


def test_slogdet_of_singular_matrix():
    sign, logabsdet = gs.linalg.slogdet(gs.zeros(2, 2))
    assert sign.item() == 0 and logabsdet.item() == -math.inf


# ------------------------------------------------------------------------ solve
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("sa,sb,left", [((3, 3), (3,), True), ((3, 3), (3, 2), True), ((2, 3, 3), (2, 3), True),
                                        ((2, 3, 3), (3,), True), ((2, 1, 3, 3), (5, 3, 4), True),
                                        ((3, 3), (2, 3, 2), True), ((3, 3), (4, 3), False), ((2, 3, 3), (2, 1, 3), False)],
                         ids=str)
def test_solve(sa, sb, left, dtype, torch, rng):
    arrays = [invertible(rng, sa), rng.standard_normal(sb)]
    both(lambda lib, a, b: lib.linalg.solve(a, b, left=left), arrays, torch, dtype)


# --------------------------------------------------------------------- cholesky
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("upper", [False, True])
@pytest.mark.parametrize("shape", [(3, 3), (2, 4, 4), (1, 1)], ids=str)
def test_cholesky(shape, upper, dtype, torch, rng):
    both(lambda lib, x: lib.linalg.cholesky(sym(x), upper=upper), [spd(rng, shape)], torch, dtype)


def test_cholesky_reads_one_triangle(torch):
    a = np.array([[4.0, 100.0], [2.0, 5.0]])
    np.testing.assert_allclose(gs.linalg.cholesky(gs.tensor(a)).numpy(), torch.linalg.cholesky(torch.tensor(a)).numpy())
    with pytest.raises(LinAlgError):
        gs.linalg.cholesky(gs.tensor(a), upper=True)  # the upper triangle is not positive-definite


# --------------------------------------------------------------------------- qr
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape,mode", [((4, 3), "reduced"), ((3, 3), "reduced"), ((3, 5), "reduced"),
                                        ((2, 4, 3), "reduced"), ((2, 2, 4), "reduced"), ((3, 3), "complete"),
                                        ((3, 5), "complete")], ids=str)
def test_qr(shape, mode, dtype, torch, rng):
    both(lambda lib, x: flat(lib, *lib.linalg.qr(x, mode=mode)), [rng.standard_normal(shape)], torch, dtype)
    both(lambda lib, x: lib.linalg.qr(x, mode=mode).Q, [rng.standard_normal(shape)], torch, dtype)
    both(lambda lib, x: lib.linalg.qr(x, mode=mode).R, [rng.standard_normal(shape)], torch, dtype)


def test_qr_modes_without_gradient(torch, rng):
    a = rng.standard_normal((2, 5, 3))
    q, r = gs.linalg.qr(gs.tensor(a), mode="complete")
    tq, tr = torch.linalg.qr(torch.tensor(a), mode="complete")
    assert q.shape == tuple(tq.shape) == (2, 5, 5) and r.shape == tuple(tr.shape) == (2, 5, 3)
    np.testing.assert_allclose((q @ r).numpy(), a, atol=1e-12)
    q, r = gs.linalg.qr(gs.tensor(a), mode="r")
    assert q.shape == (0,) and q.dtype == gs.float64
    np.testing.assert_allclose(np.abs(r.numpy()), np.abs(torch.linalg.qr(torch.tensor(a), mode="r").R.numpy()), atol=1e-12)


def test_qr_gradients_pytorch_does_not_have_either(torch):
    x = gs.randn(4, 3, requires_grad=True)
    with pytest.raises(NotSupported, match=r"linalg.qr: .*mode='complete'.*\(4, 3\)"):
        gs.linalg.qr(x, mode="complete").Q.sum().backward()
    with pytest.raises(NotSupported, match=r"linalg.qr: .*mode='r'"):
        gs.linalg.qr(x, mode="r").R.sum().backward()
    t = torch.randn(4, 3, requires_grad=True)
    with pytest.raises(RuntimeError, match="not differentiable when mode='complete'"):
        torch.linalg.qr(t, mode="complete").Q.sum().backward()


# ------------------------------------------------------------------------- eigh
def _eigh(lib, x, uplo="L"):
    w, q = lib.linalg.eigh(sym(x), UPLO=uplo)
    return flat(lib, w, q * q[..., :1, :].sign())


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape,uplo", [((3, 3), "L"), ((2, 4, 4), "L"), ((3, 3), "U"), ((1, 1), "L")], ids=str)
def test_eigh(shape, uplo, dtype, torch, rng):
    a = rng.standard_normal(shape)
    both(lambda lib, x: _eigh(lib, x, uplo), [a], torch, dtype)
    both(lambda lib, x: lib.linalg.eigh(sym(x), UPLO=uplo).eigenvalues, [a], torch, dtype)
    both(lambda lib, x: lib.linalg.eigvalsh(sym(x), UPLO=uplo), [a], torch, dtype)
    for name in ("L", "U"):  # each reads its own triangle of a non-symmetric input
        np.testing.assert_allclose(gs.linalg.eigvalsh(gs.tensor(a), name).numpy(),
                                   torch.linalg.eigvalsh(torch.tensor(a), name).numpy(), atol=1e-12)


def test_eigh_repeated_eigenvalues(torch):
    """The eigenvectors' gradient is undefined for repeated eigenvalues (non-finite, as PyTorch); the values' is not."""
    for lib, make in ((gs, gs.tensor), (torch, torch.tensor)):
        x = make(np.eye(3), requires_grad=True)
        lib.linalg.eigh(x).eigenvalues.sum().backward()
        assert np.isfinite(x.grad.numpy()).all()
        y = make(np.eye(3), requires_grad=True)
        w, q = lib.linalg.eigh(y)
        (q * make(np.arange(9.0).reshape(3, 3))).sum().backward()
        assert not np.isfinite(y.grad.numpy()).all()


# -------------------------------------------------------------------------- svd
def _svd(lib, x, full=False):
    u, s, vh = lib.linalg.svd(x, full_matrices=full)
    k = s.shape[-1]
    sign = u[..., :1, :k].sign()
    return flat(lib, u[..., :, :k] * sign, s, vh[..., :k, :] * sign.mT)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(4, 3), (3, 5), (3, 3), (2, 4, 3), (1, 1)], ids=str)
def test_svd(shape, dtype, torch, rng):
    a = rng.standard_normal(shape)
    both(_svd, [a], torch, dtype)
    both(lambda lib, x: _svd(lib, x, full=True), [a], torch, dtype)
    both(lambda lib, x: lib.linalg.svdvals(x), [a], torch, dtype)
    both(lambda lib, x: lib.linalg.svd(x).S, [a], torch, dtype)


def test_svd_full_matrices_ignores_the_extra_columns_gradient(torch, rng):
    """As PyTorch: the columns past min(m, n) are any basis of the complement; their gradient is dropped."""
    def fn(lib, x):
        u, s, vh = lib.linalg.svd(x)  # (4, 4), (3,), (3, 3): one extra column of U, unique up to sign
        sign = u[..., :1, :3].sign()
        return flat(lib, u[..., :3] * sign, u[..., 3:].abs(), s, vh * sign.mT)

    both(fn, [rng.standard_normal((2, 4, 3))], torch, gradcheck=False)


# ------------------------------------------------------------------------- pinv
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(3, 3), (4, 3), (3, 5), (2, 4, 3)], ids=str)
def test_pinv(shape, dtype, torch, rng):
    both(lambda lib, x: lib.linalg.pinv(x), [rng.standard_normal(shape)], torch, dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_pinv_hermitian(dtype, torch, rng):
    both(lambda lib, x: lib.linalg.pinv(sym(x), hermitian=True), [rng.standard_normal((2, 3, 3))], torch, dtype)


@pytest.mark.parametrize("kw", [dict(atol=1e-2), dict(rtol=1e-2), dict(atol=1e-2, rtol=0.5), dict(atol=0.0)], ids=str)
def test_pinv_tolerances(kw, torch):
    a = np.diag([3.0, 0.1, 1e-3])
    for hermitian in (False, True):
        got = gs.linalg.pinv(gs.tensor(a), hermitian=hermitian, **kw)
        want = torch.linalg.pinv(torch.tensor(a), hermitian=hermitian, **kw)
        np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-12)


# ----------------------------------------------------------------- matrix_power
@pytest.mark.parametrize("n", [-3, -1, 0, 1, 2, 3, 6])
@pytest.mark.parametrize("shape", [(3, 3), (2, 3, 3)], ids=str)
def test_matrix_power(n, shape, torch, rng):
    a = invertible(rng, shape) / shape[-1]
    both(lambda lib, x: lib.linalg.matrix_power(x, n), [a], torch, np.float32, rtol=1e-4, atol=1e-4)
    both(lambda lib, x: lib.linalg.matrix_power(x, n), [a], torch)


def test_matrix_power_of_integers(torch):
    a = np.array([[1, 2], [3, 4]])
    got = gs.linalg.matrix_power(gs.tensor(a), 3)
    assert got.dtype == gs.int64
    np.testing.assert_array_equal(got.numpy(), torch.linalg.matrix_power(torch.tensor(a), 3).numpy())


# -------------------------------------------------- cross, vecdot, diagonal, matmul
@pytest.mark.parametrize("sa,sb,dim", [((3,), (3,), -1), ((2, 1, 3), (1, 4, 3), -1), ((3, 2), (3, 2), 0)], ids=str)
def test_cross(sa, sb, dim, torch, rng):
    arrays = [rng.standard_normal(sa), rng.standard_normal(sb)]
    both(lambda lib, a, b: lib.linalg.cross(a, b, dim=dim), arrays, torch, np.float32)
    both(lambda lib, a, b: lib.linalg.cross(a, b, dim=dim), arrays, torch)


@pytest.mark.parametrize("sa,sb,dim", [((3,), (3,), -1), ((2, 1, 3), (4, 3), -1), ((3, 2), (3, 2), 0)], ids=str)
def test_vecdot(sa, sb, dim, torch, rng):
    both(lambda lib, a, b: lib.linalg.vecdot(a, b, dim=dim), [rng.standard_normal(sa), rng.standard_normal(sb)],
         torch, np.float32)


def test_diagonal_and_matmul(torch, rng):
    a = rng.standard_normal((2, 3, 4))
    both(lambda lib, x: lib.linalg.diagonal(x), [a], torch, np.float32)
    both(lambda lib, x: lib.linalg.diagonal(x, offset=1, dim1=0, dim2=2), [a], torch, np.float32)
    both(lambda lib, x, y: lib.linalg.matmul(x, y), [a, rng.standard_normal((4, 2))], torch, np.float32)


# ------------------------------------------------------------------------ norms
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("ord", [2, 1, 3, 1.5, 0.5, -1, 0, math.inf, -math.inf])
@pytest.mark.parametrize("dim,keepdim", [(None, False), (-1, False), ((0, 2), True)], ids=str)
def test_vector_norm(ord, dim, keepdim, dtype, torch, rng):
    both(lambda lib, x: lib.linalg.vector_norm(x, ord, dim, keepdim), [rng.standard_normal((2, 3, 4))], torch, dtype)


@pytest.mark.parametrize("ord", [2, 1, 3, 1.5, 0.5, -1, -2, 0, math.inf, -math.inf])
def test_vector_norm_at_zeros_and_ties(ord, torch):
    """Zero vectors, zero entries and tied maxima: PyTorch's subgradients (0 at a zero norm)."""
    x = np.array([[0.0, 1.0, -2.0, 2.0], [0.0, 0.0, 0.0, 0.0]])
    both(lambda lib, t: lib.linalg.vector_norm(t, ord, dim=-1), [x], torch, np.float32, gradcheck=False)


def test_vector_norm_dtype_and_0d(torch):
    both(lambda lib, x: lib.linalg.vector_norm(x, dtype=lib.float64), [np.arange(-3.0, 3.0)], torch, np.float32)
    both(lambda lib, x: lib.linalg.vector_norm(x, 3), [np.array(-3.0)], torch, np.float32)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("ord", ["fro", "nuc", 2, -2, 1, -1, math.inf, -math.inf])
@pytest.mark.parametrize("dim,keepdim", [((-2, -1), False), ((2, 0), True), ((0, 2), False)], ids=str)
def test_matrix_norm(ord, dim, keepdim, dtype, torch, rng):
    both(lambda lib, x: lib.linalg.matrix_norm(x, ord, dim, keepdim), [rng.standard_normal((2, 3, 4))], torch, dtype)


@pytest.mark.parametrize("shape,ord,dim", [((2, 3, 4), None, None), ((3, 4), 2, None), ((3, 4), "fro", None),
                                           ((3, 4), "nuc", None), ((4,), 1, None), ((2, 3, 4), math.inf, (0, 1)),
                                           ((2, 3, 4), 3, 1), ((2, 3, 4), None, (1, 2)), ((3, 4), -1, None)], ids=str)
def test_norm_dispatch(shape, ord, dim, torch, rng):
    both(lambda lib, x: lib.linalg.norm(x, ord, dim), [rng.standard_normal(shape)], torch, np.float32)


# ---------------------------------------------------------------- empty inputs
@pytest.mark.parametrize("name,shape", [("det", (0, 3, 3)), ("det", (0, 0)), ("inv", (0, 3, 3)), ("inv", (0, 0)),
                                        ("cholesky", (0, 3, 3)), ("eigvalsh", (0, 3, 3)), ("svdvals", (0, 3, 2)),
                                        ("pinv", (0, 3)), ("pinv", (2, 0, 3))], ids=str)
def test_empty_inputs(name, shape, torch):
    a = np.ones(shape, np.float32)
    got, want = getattr(gs.linalg, name)(gs.tensor(a)), getattr(torch.linalg, name)(torch.tensor(a))
    assert got.shape == tuple(want.shape) and got.dtype == gs.float32
    np.testing.assert_allclose(got.numpy(), want.numpy())


@pytest.mark.parametrize("name,shape", [("svd", (0, 3, 2)), ("svd", (2, 0, 3)), ("eigh", (0, 3, 3)), ("qr", (0, 3, 2)),
                                        ("slogdet", (0, 2, 2))], ids=str)
def test_empty_factorizations(name, shape, torch):
    a = np.ones(shape, np.float32)
    got, want = getattr(gs.linalg, name)(gs.tensor(a)), getattr(torch.linalg, name)(torch.tensor(a))
    assert [t.shape for t in got] == [tuple(t.shape) for t in want]
    assert all(t.dtype == gs.float32 for t in got)


@pytest.mark.parametrize("ord", ["fro", "nuc", 2, 1, math.inf, -1, -math.inf, -2])
@pytest.mark.parametrize("shape", [(0, 3), (3, 0), (2, 0, 0)], ids=str)
def test_matrix_norm_of_empty_matrices(shape, ord, torch):
    a = np.ones(shape, np.float32)
    try:
        want = torch.linalg.matrix_norm(torch.tensor(a), ord)
    except IndexError:  # a min over nothing
        with pytest.raises(ShapeError, match="linalg.matrix_norm"):
            gs.linalg.matrix_norm(gs.tensor(a), ord)
        return
    got = gs.linalg.matrix_norm(gs.tensor(a), ord)
    assert got.shape == tuple(want.shape)
    np.testing.assert_array_equal(got.numpy(), want.numpy())


# ------------------------------------------------------------------- dtypes
def test_float32_stays_float32(rng):
    a = (rng.standard_normal((2, 3, 3)) + 3 * np.eye(3)).astype(np.float32)
    b = rng.standard_normal((2, 3, 2)).astype(np.float32)
    L = gs.linalg
    cases = [L.det, lambda x: L.slogdet(x).logabsdet, L.inv, lambda x: L.solve(x, gs.tensor(b)),
             lambda x: L.cholesky(x @ x.mT), lambda x: flat(gs, *L.qr(x)), lambda x: flat(gs, *L.eigh(sym(x))),
             lambda x: L.eigvalsh(sym(x)), lambda x: flat(gs, *L.svd(x)), L.svdvals, L.pinv,
             lambda x: L.pinv(sym(x), hermitian=True), lambda x: L.matrix_power(x, -2),
             lambda x: L.cross(x, x.flip(-1)), lambda x: L.vecdot(x, x), L.norm, lambda x: L.vector_norm(x, 0.5),
             lambda x: L.vector_norm(x, math.inf)] + [lambda x, o=o: L.matrix_norm(x, o) for o in ("nuc", 2, -2, 1, -math.inf)]
    for i, fn in enumerate(cases):
        x = gs.tensor(a, requires_grad=True)
        out = fn(x)
        assert out.dtype == gs.float32, f"case {i}: {out.dtype}"
        out.sum().backward()
        assert x.grad.dtype == gs.float32, f"case {i}: grad {x.grad.dtype}"


# -------------------------------------------------------------------- errors
GRADSTEP_DIR = os.path.dirname(gs.__file__)


def _raises(fn, exc, *needles):
    with pytest.raises(exc) as info:
        fn()
    for needle in needles:
        assert needle in str(info.value), f"{needle!r} not in {str(info.value)!r}"
    last = traceback.extract_tb(info.value.__traceback__)[-1]
    assert last.filename.startswith(GRADSTEP_DIR), f"raised outside gradstep: {last.filename}:{last.lineno}"


def _singular_batch():
    return gs.tensor(np.stack([np.eye(2), np.zeros((2, 2))]))


ERRORS = [
    ("det-not-square", lambda: gs.linalg.det(gs.ones(2, 3)), ShapeError, ["linalg.det", "(2, 3)", "square"]),
    ("det-1d", lambda: gs.linalg.det(gs.ones(3)), ShapeError, ["linalg.det", "(3,)", "(*, m, n)"]),
    ("inv-int", lambda: gs.linalg.inv(gs.tensor([[1, 2], [3, 4]])), DTypeError, ["linalg.inv", "int64", "float32 or float64"]),
    ("inv-half", lambda: gs.linalg.inv(gs.ones(2, 2, dtype=gs.float16)), DTypeError, ["linalg.inv", "float16"]),
    ("inv-singular", lambda: gs.linalg.inv(_singular_batch()), LinAlgError,
     ["linalg.inv", "batch element 1", "singular", "(2, 2, 2)"]),
    ("solve-singular", lambda: gs.linalg.solve(gs.zeros(2, 2), gs.ones(2)), LinAlgError, ["linalg.solve", "singular"]),
    ("solve-shapes", lambda: gs.linalg.solve(gs.eye(3), gs.ones(4)), ShapeError, ["linalg.solve", "(3, 3)", "(4, 1)", "3 rows"]),
    ("solve-batch", lambda: gs.linalg.solve(gs.ones(2, 3, 3), gs.ones(4, 3, 1)), ShapeError, ["linalg.solve", "broadcast"]),
    ("solve-dtypes", lambda: gs.linalg.solve(gs.eye(3), gs.ones(3, dtype=gs.float64)), DTypeError,
     ["linalg.solve", "float32", "float64"]),
    ("solve-right-vector", lambda: gs.linalg.solve(gs.eye(3), gs.ones(3), left=False), ShapeError, ["linalg.solve", "XA = B"]),
    ("cholesky-not-pd", lambda: gs.linalg.cholesky(gs.tensor(np.stack([np.eye(2), -np.eye(2)]))), LinAlgError,
     ["linalg.cholesky", "batch element 1", "not positive-definite"]),
    ("cholesky-not-square", lambda: gs.linalg.cholesky(gs.ones(2, 3)), ShapeError, ["linalg.cholesky", "(2, 3)", "square"]),
    ("eigh-not-square", lambda: gs.linalg.eigh(gs.ones(2, 3)), ShapeError, ["linalg.eigh", "(2, 3)", "square"]),
    ("eigh-uplo", lambda: gs.linalg.eigh(gs.eye(2), UPLO="X"), InvalidArgument, ["linalg.eigh", "'L' or 'U'", "'X'"]),
    ("svd-int", lambda: gs.linalg.svd(gs.ones(2, 3, dtype=gs.int64)), DTypeError, ["linalg.svd", "int64"]),
    ("qr-mode", lambda: gs.linalg.qr(gs.ones(2, 3), mode="x"), InvalidArgument, ["linalg.qr", "'x'", "'reduced'"]),
    ("pinv-atol", lambda: gs.linalg.pinv(gs.ones(2, 3, 3), atol=gs.ones(3)), ShapeError, ["linalg.pinv", "(3,)", "(2,)"]),
    ("matrix_power-n", lambda: gs.linalg.matrix_power(gs.eye(2), 2.0), ArgumentTypeError, ["linalg.matrix_power", "int", "float"]),
    ("matrix_power-not-square", lambda: gs.linalg.matrix_power(gs.ones(2, 3), 2), ShapeError, ["linalg.matrix_power", "(2, 3)"]),
    ("matrix_power-singular", lambda: gs.linalg.matrix_power(gs.zeros(2, 2), -1), LinAlgError, ["linalg.matrix_power", "singular"]),
    ("vector_norm-int", lambda: gs.linalg.vector_norm(gs.ones(3, dtype=gs.int64)), DTypeError, ["linalg.vector_norm", "int64"]),
    ("vector_norm-ord", lambda: gs.linalg.vector_norm(gs.ones(3), "fro"), ArgumentTypeError,
     ["linalg.vector_norm", "'fro'", "matrix_norm"]),
    ("vector_norm-narrowing", lambda: gs.linalg.vector_norm(gs.ones(3, dtype=gs.float64), dtype=gs.float32), DTypeError,
     ["linalg.vector_norm", "narrow", "float64"]),
    ("vector_norm-inf-empty", lambda: gs.linalg.vector_norm(gs.ones(0), math.inf), ShapeError, ["linalg.vector_norm", "empty", "(0,)"]),
    ("matrix_norm-ord", lambda: gs.linalg.matrix_norm(gs.ones(3, 3), 3), InvalidArgument, ["linalg.matrix_norm", "3", "'nuc'"]),
    ("matrix_norm-dim", lambda: gs.linalg.matrix_norm(gs.ones(3, 3), dim=1), InvalidArgument, ["linalg.matrix_norm", "2-tuple"]),
    ("matrix_norm-same-dims", lambda: gs.linalg.matrix_norm(gs.ones(3, 3), dim=(0, -2)), InvalidArgument,
     ["linalg.matrix_norm", "different"]),
    ("matrix_norm-1d", lambda: gs.linalg.matrix_norm(gs.ones(3)), ShapeError, ["linalg.matrix_norm", "(3,)"]),
    ("norm-3d-ord", lambda: gs.linalg.norm(gs.ones(2, 2, 2), 2), ShapeError, ["linalg.norm", "(2, 2, 2)", "dim"]),
    ("norm-dims", lambda: gs.linalg.norm(gs.ones(2, 2, 2), dim=(0, 1, 2)), InvalidArgument, ["linalg.norm", "1 or 2"]),
    ("cross-length", lambda: gs.linalg.cross(gs.ones(2, 4), gs.ones(2, 4)), ShapeError, ["linalg.cross", "length 3", "(2, 4)"]),
    ("cross-ndim", lambda: gs.linalg.cross(gs.ones(2, 3), gs.ones(3)), ShapeError, ["linalg.cross", "same number of dims"]),
    ("vecdot-shapes", lambda: gs.linalg.vecdot(gs.ones(3), gs.ones(4)), ShapeError, ["linalg.vecdot", "(3,)", "(4,)"]),
    ("vecdot-int", lambda: gs.linalg.vecdot(gs.ones(3, dtype=gs.int64), gs.ones(3, dtype=gs.int64)), DTypeError,
     ["linalg.vecdot", "int64"]),
]


@pytest.mark.parametrize("case", ERRORS, ids=[c[0] for c in ERRORS])
def test_errors(case):
    _, fn, exc, needles = case
    _raises(fn, exc, *needles)


def test_linalg_error_is_a_runtime_error_like_torchs(torch):
    assert gs.linalg.LinAlgError is LinAlgError and issubclass(LinAlgError, RuntimeError)
    assert issubclass(torch.linalg.LinAlgError, RuntimeError)
    with pytest.raises(RuntimeError):
        gs.linalg.inv(gs.zeros(3, 3))


# ------------------------------------------- top-level forms: gradstep.det, Tensor.det, ...
# PyTorch's torch.det / Tensor.det and the other top-level names are aliases of the linalg functions
# (with the legacy signatures of pinverse, cross and svd); gradstep.linalg keeps torch.linalg's.
def test_top_level_names_leave_linalg_and_existing_ones_alone(torch):
    import gradstep.ops.linalg as ops_linalg

    for name in ("det", "slogdet", "svd", "cross", "matrix_power"):
        assert getattr(gs.linalg, name) is getattr(ops_linalg, name), name
    for name in ("det", "logdet", "slogdet", "inverse", "pinverse", "matrix_power", "cholesky_solve", "cross",
                 "svd", "vdot"):
        assert getattr(gs.Tensor, name) is getattr(gs, name), name
        assert hasattr(torch, name) and hasattr(torch.Tensor, name), name
    x = np.ones((2, 3, 4))
    assert gs.norm(gs.tensor(x), dim=(0, 1)).shape == (4,)  # torch.norm's meaning, not linalg.norm's
    assert gs.diagonal(gs.tensor(x)).shape == tuple(torch.diagonal(torch.tensor(x)).shape) == (4, 2)
    a = np.arange(27.0).reshape(3, 3, 3)
    assert gs.svd(gs.tensor(a))._fields == ("U", "S", "V") and gs.linalg.svd(gs.tensor(a))._fields == ("U", "S", "Vh")
    np.testing.assert_array_equal(gs.linalg.cross(gs.tensor(a), gs.tensor(a[::-1].copy())).numpy(),
                                  torch.linalg.cross(torch.tensor(a), torch.tensor(a[::-1].copy())).numpy())


def _negative_det_batch(rng, shape):
    a = spd(rng, shape)
    a.reshape(-1, shape[-1], shape[-1])[-1, 0, :] *= -1  # the last matrix of the batch has det < 0
    return a


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(3, 3), (2, 4, 4), (2, 1, 2, 2)], ids=str)
def test_top_level_det_logdet_slogdet_inverse(shape, dtype, torch, rng):
    a = rng.standard_normal(shape) + 0.5 * np.eye(shape[-1])
    both(lambda lib, x: lib.det(x), [a], torch, dtype)
    both(lambda lib, x: x.det(), [a], torch, dtype)
    both(lambda lib, x: lib.slogdet(x).logabsdet, [a], torch, dtype)
    both(lambda lib, x: x.slogdet()[1], [a], torch, dtype)
    got, want = gs.slogdet(gs.tensor(a.astype(dtype))), torch.slogdet(torch.tensor(a.astype(dtype)))
    np.testing.assert_array_equal(got.sign.numpy(), want.sign.numpy())
    both(lambda lib, x: lib.inverse(x), [invertible(rng, shape)], torch, dtype)
    both(lambda lib, x: x.inverse(), [invertible(rng, shape)], torch, dtype)
    both(lambda lib, x: lib.logdet(x), [spd(rng, shape)], torch, dtype)
    both(lambda lib, x: x.logdet(), [spd(rng, shape)], torch, dtype)
    if len(shape) > 2:  # NaN where det < 0, with a zero gradient there (as PyTorch)
        out = both(lambda lib, x: lib.logdet(x), [_negative_det_batch(rng, shape)], torch, dtype, gradcheck=False)
        values = out.detach().numpy().reshape(-1)
        assert np.isnan(values[-1]) and np.isfinite(values[:-1]).all()


def test_logdet_of_singular_and_negative_matrices(torch):
    a = np.stack([np.zeros((2, 2)), [[1.0, 2.0], [3.0, 4.0]], 2 * np.eye(2)]).astype(np.float32)
    got, want = gs.logdet(gs.tensor(a)), torch.logdet(torch.tensor(a))
    np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-6)
    assert got.numpy()[0] == -math.inf and np.isnan(got.numpy()[1]) and got.dtype == gs.float32


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(3, 3), (4, 3), (2, 3, 5)], ids=str)
def test_top_level_pinverse(shape, dtype, torch, rng):
    both(lambda lib, x: lib.pinverse(x), [rng.standard_normal(shape)], torch, dtype)
    both(lambda lib, x: x.pinverse(), [rng.standard_normal(shape)], torch, dtype)


def test_pinverse_rcond_is_linalg_pinv_rtol(torch, rng):
    u, _ = np.linalg.qr(rng.standard_normal((4, 4)))
    v, _ = np.linalg.qr(rng.standard_normal((3, 3)))
    a = u[:, :3] @ np.diag([3.0, 1.0, 0.1]) @ v.T
    for rcond in (1e-15, 0.01, 0.1, 0.5):  # 0.1 and 0.5 drop singular values (below 0.3 and 1.5)
        both(lambda lib, x: lib.pinverse(x, rcond=rcond), [a], torch, gradcheck=False)
        both(lambda lib, x: x.pinverse(rcond), [a], torch, np.float32, gradcheck=False)
        np.testing.assert_allclose(gs.pinverse(gs.tensor(a), rcond).numpy(),
                                   gs.linalg.pinv(gs.tensor(a), rtol=rcond).numpy(), rtol=0, atol=0)


@pytest.mark.parametrize("n", [-2, 0, 1, 3])
def test_top_level_matrix_power(n, torch, rng):
    a = invertible(rng, (2, 3, 3)) / 3
    both(lambda lib, x: lib.matrix_power(x, n), [a], torch, np.float32, rtol=1e-4, atol=1e-4)
    both(lambda lib, x: x.matrix_power(n), [a], torch)
    np.testing.assert_array_equal(gs.tensor([[1, 2], [3, 4]]).matrix_power(3).numpy(),
                                  torch.tensor([[1, 2], [3, 4]]).matrix_power(3).numpy())


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("upper", [False, True])
@pytest.mark.parametrize("sb,sl", [((3, 2), (3, 3)), ((2, 4, 1), (2, 4, 4)), ((2, 3, 2), (3, 3)), ((3, 2), (2, 1, 3, 3))],
                         ids=str)
def test_cholesky_solve(sb, sl, upper, dtype, torch, rng):
    factor = np.linalg.cholesky(spd(rng, sl))
    if upper:
        factor = np.swapaxes(factor, -1, -2)
    arrays = [rng.standard_normal(sb), factor]
    # The factor as given: PyTorch's gradient, over the whole matrix (gradcheck can't agree on the unread triangle).
    both(lambda lib, b, f: lib.cholesky_solve(b, f, upper), arrays, torch, dtype, gradcheck=False)
    both(lambda lib, b, f: b.cholesky_solve(f, upper=upper), arrays, torch, dtype, gradcheck=False)
    # Through the read triangle only: also gradchecked.
    both(lambda lib, b, f: lib.cholesky_solve(b, f.triu() if upper else f.tril(), upper), arrays, torch, dtype)


def test_cholesky_solve_reads_one_triangle_and_chains_with_cholesky(torch, rng):
    a = spd(rng, (2, 3, 3))
    b = rng.standard_normal((2, 3, 2))
    noisy = np.linalg.cholesky(a) + np.triu(np.full((3, 3), 5.0), 1)  # the upper triangle is not read
    for upper, f in ((False, noisy), (True, np.swapaxes(noisy, -1, -2))):
        got = gs.cholesky_solve(gs.tensor(b), gs.tensor(f), upper)
        want = torch.cholesky_solve(torch.tensor(b), torch.tensor(f), upper)
        np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-10)
        np.testing.assert_allclose(got.numpy(), np.linalg.solve(a, b), rtol=1e-10)

    def fn(lib, x, y):
        return lib.cholesky_solve(y, lib.linalg.cholesky(x @ x.mT + 3 * lib.eye(3, dtype=x.dtype)))

    both(fn, [rng.standard_normal((2, 3, 3)), b], torch)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("sa,sb,dim", [((3, 4, 3), (3, 4, 3), None), ((2, 3), (2, 3), None), ((1, 3), (4, 3), None),
                                       ((4, 3, 2), (1, 3, 2), None), ((3, 4, 3), (3, 4, 3), -1), ((3, 2), (3, 2), 0)],
                         ids=str)
def test_top_level_cross(sa, sb, dim, dtype, torch, rng):
    """dim=None is PyTorch's deprecated default: the first dim of length 3 of input (dim 0 of (3, 4, 3))."""
    arrays = [rng.standard_normal(sa), rng.standard_normal(sb)]
    both(lambda lib, a, b: lib.cross(a, b, dim), arrays, torch, dtype)
    both(lambda lib, a, b: a.cross(b) if dim is None else a.cross(b, dim=dim), arrays, torch, dtype)


def test_cross_without_dim_warns_once_as_pytorch(monkeypatch):
    import warnings

    import gradstep.ops.linalg as ops_linalg

    monkeypatch.setattr(ops_linalg, "_cross_warned", False)
    a = gs.ones(3, 4, 3)
    with pytest.warns(UserWarning, match=r"cross: .*deprecated.*here 0, input of shape \(3, 4, 3\)"):
        gs.cross(a, a)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        a.cross(a)  # once per process, like PyTorch's TORCH_WARN_ONCE
        monkeypatch.setattr(ops_linalg, "_cross_warned", False)
        gs.cross(a, a, dim=-1)  # an explicit dim never warns
        assert not ops_linalg._cross_warned


def _legacy_svd(lib, x, some=True):
    u, s, v = lib.svd(x, some=some)
    k = s.shape[-1]
    sign = u[..., :1, :k].sign()
    return flat(lib, u[..., :, :k] * sign, s, v[..., :, :k] * sign)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(4, 3), (3, 5), (2, 4, 3), (1, 1)], ids=str)
def test_top_level_svd_returns_v(shape, dtype, torch, rng):
    a = rng.standard_normal(shape)
    both(_legacy_svd, [a], torch, dtype)
    both(lambda lib, x: _legacy_svd(lib, x, some=False), [a], torch, dtype)
    both(lambda lib, x: x.svd().S, [a], torch, dtype)
    both(lambda lib, x: lib.svd(x, compute_uv=False).S, [a], torch, dtype)  # S keeps its gradient, as PyTorch 2.13
    for some in (True, False):
        got = gs.svd(gs.tensor(a), some=some)
        want = torch.svd(torch.tensor(a), some=some)
        assert [t.shape for t in got] == [tuple(t.shape) for t in want]
        k = got.S.shape[-1]
        np.testing.assert_allclose(((got.U[..., :k] * got.S[..., None, :]) @ got.V[..., :k].mT).numpy(), a, atol=1e-12)
    got, want = gs.svd(gs.tensor(a), compute_uv=False), torch.svd(torch.tensor(a), compute_uv=False)
    assert [t.shape for t in got] == [tuple(t.shape) for t in want]
    assert not got.U.numpy().any() and not got.V.numpy().any()


@pytest.mark.parametrize("dtype", DTYPES)
def test_top_level_vdot(dtype, torch, rng):
    arrays = [rng.standard_normal(5), rng.standard_normal(5)]
    both(lambda lib, a, b: lib.vdot(a, b), arrays, torch, dtype)
    both(lambda lib, a, b: a.vdot(b), arrays, torch, dtype)
    assert gs.vdot(gs.tensor([1, 2]), gs.tensor([3, 4])).item() == torch.vdot(torch.tensor([1, 2]), torch.tensor([3, 4])).item()


TOP_LEVEL_ERRORS = [
    ("det-not-square", lambda: gs.det(gs.ones(2, 3)), ShapeError, ["linalg.det", "(2, 3)", "square"]),
    ("det-method-int", lambda: gs.tensor([[1, 2], [3, 4]]).det(), DTypeError, ["linalg.det", "int64"]),
    ("logdet-not-square", lambda: gs.logdet(gs.ones(2, 3)), ShapeError, ["logdet", "(2, 3)", "square"]),
    ("logdet-int", lambda: gs.logdet(gs.tensor([[1, 2], [3, 4]])), DTypeError, ["logdet", "int64"]),
    ("slogdet-1d", lambda: gs.ones(3).slogdet(), ShapeError, ["linalg.slogdet", "(3,)"]),
    ("inverse-singular", lambda: _singular_batch().inverse(), LinAlgError, ["linalg.inv", "batch element 1", "singular"]),
    ("pinverse-rcond-tensor", lambda: gs.pinverse(gs.ones(2, 2), gs.tensor(0.1)), ArgumentTypeError,
     ["pinverse", "rcond", "Tensor"]),
    ("pinverse-1d", lambda: gs.pinverse(gs.ones(3)), ShapeError, ["linalg.pinv", "(3,)"]),
    ("matrix_power-n", lambda: gs.eye(2).matrix_power(2.0), ArgumentTypeError, ["linalg.matrix_power", "int"]),
    ("cholesky_solve-b-1d", lambda: gs.cholesky_solve(gs.ones(3), gs.eye(3)), ShapeError,
     ["cholesky_solve", "(*, 3, k)", "(3,)"]),
    ("cholesky_solve-rows", lambda: gs.cholesky_solve(gs.ones(4, 2), gs.eye(3)), ShapeError,
     ["cholesky_solve", "(*, 3, k)", "(4, 2)"]),
    ("cholesky_solve-batch", lambda: gs.cholesky_solve(gs.ones(2, 3, 2), gs.ones(3, 3, 3)), ShapeError,
     ["cholesky_solve", "broadcast", "(2, 3, 2)", "(3, 3, 3)"]),
    ("cholesky_solve-dtypes", lambda: gs.cholesky_solve(gs.ones(3, 2, dtype=gs.float64), gs.eye(3)), DTypeError,
     ["cholesky_solve", "float64", "float32"]),
    ("cholesky_solve-not-square", lambda: gs.cholesky_solve(gs.ones(3, 2), gs.ones(3, 2)), ShapeError,
     ["cholesky_solve", "square"]),
    ("cholesky_solve-singular", lambda: gs.cholesky_solve(gs.ones(3, 2), gs.zeros(3, 3)), LinAlgError,
     ["cholesky_solve", "zero on its diagonal"]),
    ("cross-no-length-3", lambda: gs.cross(gs.ones(2, 4), gs.ones(2, 4)), ShapeError, ["cross", "no dim of length 3", "(2, 4)"]),
    ("cross-dim", lambda: gs.ones(2, 3).cross(gs.ones(2, 3), dim=0), ShapeError, ["linalg.cross", "length 3"]),
    ("svd-int", lambda: gs.svd(gs.ones(2, 3, dtype=gs.int64)), DTypeError, ["linalg.svd", "int64"]),
    ("svd-1d", lambda: gs.ones(3).svd(compute_uv=False), ShapeError, ["linalg.svdvals", "(3,)"]),
    ("vdot-2d", lambda: gs.vdot(gs.ones(1, 3), gs.ones(3)), ShapeError, ["vdot", "1-D", "(1, 3)"]),
    ("vdot-lengths", lambda: gs.vdot(gs.ones(3), gs.ones(2)), ShapeError, ["vdot", "(3,)", "(2,)"]),
    ("vdot-dtypes", lambda: gs.vdot(gs.ones(3), gs.ones(3, dtype=gs.float64)), DTypeError, ["vdot", "float32", "float64"]),
]


@pytest.mark.parametrize("case", TOP_LEVEL_ERRORS, ids=[c[0] for c in TOP_LEVEL_ERRORS])
def test_top_level_errors(case):
    _, fn, exc, needles = case
    _raises(fn, exc, *needles)
