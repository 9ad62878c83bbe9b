"""diag, diagonal, diag_embed, trace, tril/triu_indices, cdist and addmm & co. against PyTorch."""
import numpy as np
import pytest

import gradstep as gs
from tests.oracle import check


@pytest.mark.parametrize("shape,offset", [((4,), 0), ((3,), 1), ((3,), -2), ((3, 3), 0), ((3, 5), 1), ((4, 2), -1), ((2, 3), 5)], ids=str)
def test_diag(shape, offset, torch, rng):
    a = rng.standard_normal(shape).astype(np.float32)
    check(lambda x: gs.diag(x, offset), lambda x: torch.diag(x, offset), [a], torch=torch, gradcheck=a.size > 0)
    check(lambda x: x.diag(offset), lambda x: x.diag(offset), [a], torch=torch, gradcheck=False)


@pytest.mark.parametrize("shape,offset,d1,d2", [((3, 4), 0, 0, 1), ((3, 4), 1, 1, 0), ((2, 3, 4), -1, -1, 0),
                                               ((2, 3, 4), 2, 1, 2), ((2, 3, 3), 0, -2, -1)], ids=str)
def test_diagonal(shape, offset, d1, d2, torch, rng):
    a = rng.standard_normal(shape).astype(np.float32)
    check(lambda x: gs.diagonal(x, offset, d1, d2), lambda x: torch.diagonal(x, offset, d1, d2), [a], torch=torch)
    check(lambda x: x.diagonal(offset, d1, d2), lambda x: x.diagonal(offset, d1, d2), [a], torch=torch, gradcheck=False)


@pytest.mark.parametrize("shape,offset,d1,d2", [((3,), 0, -2, -1), ((2, 3), 1, 0, 2), ((2, 3), -1, 2, 0), ((2, 2, 3), 0, 1, -1)], ids=str)
def test_diag_embed(shape, offset, d1, d2, torch, rng):
    a = rng.standard_normal(shape).astype(np.float32)
    check(lambda x: gs.diag_embed(x, offset, d1, d2), lambda x: torch.diag_embed(x, offset, d1, d2), [a], torch=torch)


def test_trace(torch, rng):
    for shape in ((3, 3), (2, 4), (4, 2)):
        check(gs.trace, torch.trace, [rng.standard_normal(shape).astype(np.float32)], torch=torch)
    got, want = gs.trace(gs.arange(9).reshape(3, 3)), torch.trace(torch.arange(9).reshape(3, 3))
    assert got.dtype == gs.int64 and got.item() == want.item()


@pytest.mark.parametrize("row,col,offset", [(3, 3, 0), (3, 4, 1), (4, 3, -1), (0, 3, 0), (3, 3, 5)], ids=str)
def test_tri_indices(row, col, offset, torch):
    for name in ("tril_indices", "triu_indices"):
        got, want = getattr(gs, name)(row, col, offset), getattr(torch, name)(row, col, offset)
        assert got.dtype == gs.int64 and got.shape == tuple(want.shape)
        np.testing.assert_array_equal(got.numpy(), want.numpy())


@pytest.mark.parametrize("sa,sb,p", [((3, 2), (4, 2), 2.0), ((2, 30, 3), (2, 5, 3), 2.0), ((2, 4, 3), (2, 5, 3), 1.0),
                                     ((4, 3), (5, 3), 3.0)], ids=str)
def test_cdist(sa, sb, p, torch, rng):
    a, b = rng.standard_normal(sa).astype(np.float32), rng.standard_normal(sb).astype(np.float32)
    check(lambda x, y: gs.cdist(x, y, p), lambda x, y: torch.cdist(x, y, p), [a, b], torch=torch, rtol=1e-4, atol=1e-4)


def test_cdist_zero_distance_has_zero_gradient(torch):
    a = np.array([[0.0, 1.0], [2.0, 3.0]], np.float32)
    check(gs.cdist, torch.cdist, [a, a.copy()], torch=torch, gradcheck=False)


@pytest.mark.parametrize("name,shapes", [("addmm", [(4,), (3, 2), (2, 4)]), ("addmv", [(3,), (3, 2), (2,)]),
                                         ("addr", [(3, 4), (3,), (4,)]), ("baddbmm", [(1, 3, 4), (2, 3, 5), (2, 5, 4)]),
                                         ("addbmm", [(3, 4), (2, 3, 5), (2, 5, 4)])])
@pytest.mark.parametrize("beta,alpha", [(1, 1), (0.5, -2.0), (0, 1)])
def test_fused_multiply_adds(name, shapes, beta, alpha, torch, rng):
    arrays = [rng.standard_normal(s).astype(np.float32) for s in shapes]
    check(lambda i, a, b: getattr(gs, name)(i, a, b, beta=beta, alpha=alpha),
          lambda i, a, b: getattr(torch, name)(i, a, b, beta=beta, alpha=alpha), arrays, torch=torch, rtol=1e-4)


def test_errors():
    with pytest.raises(gs.ShapeError, match=r"diag: expected a 1-D or 2-D tensor, got shape \(2, 2, 2\)"):
        gs.diag(gs.ones(2, 2, 2))
    with pytest.raises(gs.ShapeError, match=r"diagonal: dim1 and dim2 must be different dims, got both 1"):
        gs.diagonal(gs.ones(2, 2), 0, 1, -1)
    with pytest.raises(gs.ShapeError, match=r"trace: expected a 2-D tensor, got shape \(3,\)"):
        gs.trace(gs.ones(3))
    with pytest.raises(gs.ShapeError, match=r"cdist: expected x1 \(\*, P, M\) and x2 \(\*, R, M\) with the same M"):
        gs.cdist(gs.ones(2, 3), gs.ones(2, 4))
    with pytest.raises(gs.ShapeError, match=r"addmm: input of shape \(4,\) doesn't broadcast to the product's shape \(3, 3\)"):
        gs.addmm(gs.ones(4), gs.ones(3, 2), gs.ones(2, 3))
    with pytest.raises(gs.DTypeError, match=r"tril_indices: row must be an int, got float"):
        gs.tril_indices(2.0, 3)
