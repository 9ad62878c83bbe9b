"""einsum, tensordot, outer against PyTorch (values, gradients, float64 gradcheck)."""
import numpy as np
import pytest

import gradstep as gs
from tests.oracle import check

EQUATIONS = [
    ("ij,jk->ik", [(2, 3), (3, 4)]),
    ("bij,bjk->bik", [(2, 2, 3), (2, 3, 4)]),
    ("bhqd,bhkd->bhqk", [(2, 3, 4, 5), (2, 3, 6, 5)]),
    ("i,i->", [(5,), (5,)]),
    ("i,j->ij", [(3,), (4,)]),
    ("ij,ij->ij", [(2, 3), (2, 3)]),
    ("bi,bi->b", [(3, 4), (3, 4)]),
    ("ij->ji", [(2, 3)]),
    ("ij->", [(2, 3)]),
    ("ij->j", [(2, 3)]),
    ("ii->i", [(3, 3)]),
    ("ii", [(3, 3)]),
    ("iij->j", [(3, 3, 2)]),
    ("ij,jk", [(2, 3), (3, 4)]),
    ("ba,ca->bc", [(2, 3), (4, 3)]),
    ("...ij,...jk->...ik", [(2, 1, 2, 3), (4, 3, 5)]),
    ("...d,...d->...", [(2, 3, 4), (2, 3, 4)]),
    ("b...,b->...", [(2, 3, 4), (2,)]),
    ("ij,jk->ik", [(2, 1), (3, 4)]),  # size-1 broadcast, as PyTorch allows
    ("ijk,jl,lk->i", [(2, 3, 4), (3, 5), (5, 4)]),
    ("ab,cd->", [(2, 3), (4, 5)]),
    ("ij,jk->ik", [(0, 3), (3, 4)]),
    ("b i j, b j k -> b i k", [(2, 2, 3), (2, 3, 4)]),
    ("iJ,Jk->ik", [(2, 3), (3, 4)]),
]


@pytest.mark.parametrize("equation,shapes", EQUATIONS, ids=[e for e, _ in EQUATIONS])
def test_einsum(equation, shapes, torch, rng):
    arrays = [rng.standard_normal(s).astype(np.float32) for s in shapes]
    check(lambda *xs: gs.einsum(equation, *xs), lambda *xs: torch.einsum(equation, *xs), arrays, torch=torch)


def test_einsum_list_form_ints_and_float32(torch, rng):
    a, b = rng.integers(-3, 3, (2, 3)), rng.integers(-3, 3, (3, 4))
    got = gs.einsum("ij,jk->ik", [gs.tensor(a), gs.tensor(b)])
    np.testing.assert_array_equal(got.numpy(), torch.einsum("ij,jk->ik", torch.tensor(a), torch.tensor(b)).numpy())
    assert got.dtype == gs.int64
    x = gs.randn(3, 3, requires_grad=True)
    y = gs.einsum("ii->i", x)
    assert y.dtype == gs.float32
    y.sum().backward()
    assert x.grad.dtype == gs.float32
    np.testing.assert_array_equal(x.grad.numpy(), np.eye(3, dtype=np.float32))


def test_einsum_output_has_own_memory():
    x = gs.randn(2, 3)
    y = gs.einsum("ij->ji", x)
    y[0, 0] = 100.0
    assert x[0, 0].item() != 100.0


@pytest.mark.parametrize("sa,sb,dims", [((2, 3, 4), (3, 4, 5), 2), ((2, 3), (3, 4), 1), ((2, 3), (4, 5), 0),
                                        ((2, 3, 4), (4, 3, 5), ([1, 2], [1, 0])), ((3, 4), (4, 3), ([-1], [0]))], ids=str)
def test_tensordot(sa, sb, dims, torch, rng):
    a, b = rng.standard_normal(sa).astype(np.float32), rng.standard_normal(sb).astype(np.float32)
    check(lambda x, y: gs.tensordot(x, y, dims), lambda x, y: torch.tensordot(x, y, dims), [a, b], torch=torch)


def test_outer(torch, rng):
    a, b = rng.standard_normal(3).astype(np.float32), rng.standard_normal(4).astype(np.float32)
    check(gs.outer, torch.outer, [a, b], torch=torch)
    check(lambda x, y: x.outer(y), lambda x, y: x.outer(y), [a, b], torch=torch)


def test_errors():
    with pytest.raises(gs.ShapeError, match=r"einsum: equation 'ij,jk->ik' names 2 operand\(s\) but 1 were given"):
        gs.einsum("ij,jk->ik", gs.ones(2, 3))
    with pytest.raises(gs.ShapeError, match=r"einsum: operand 1 has shape \(3,\) \(1 dims\) but its subscripts 'jk'"):
        gs.einsum("ij,jk->ik", gs.ones(2, 3), gs.ones(3))
    with pytest.raises(gs.ShapeError, match=r"einsum: letter 'j' has size 3 in one place but 4 in operand 1"):
        gs.einsum("ij,jk->ik", gs.ones(2, 3), gs.ones(4, 2))
    with pytest.raises(ValueError, match=r"einsum: output letter\(s\) 'z' appear in no input"):
        gs.einsum("ij->z", gs.ones(2, 3))
    with pytest.raises(ValueError, match=r"einsum: invalid subscripts 'i1'"):
        gs.einsum("i1->i", gs.ones(2, 3))
    with pytest.raises(ValueError, match=r"einsum: output subscripts 'ii' repeat a letter"):
        gs.einsum("ij->ii", gs.ones(2, 3))
    with pytest.raises(gs.ShapeError, match=r"tensordot: dim 1 of a \(shape \(2, 3\)\) has size 3 but dim 0 of b"):
        gs.tensordot(gs.ones(2, 3), gs.ones(4, 2), 1)
    with pytest.raises(gs.ShapeError, match=r"outer: expected two 1-D tensors, got shapes \(2, 3\) and \(3,\)"):
        gs.outer(gs.ones(2, 3), gs.ones(3))
