"""masked_select, index_add, index_fill (and their in-place forms) against PyTorch."""
import numpy as np
import pytest

import gradstep as gs
from tests.oracle import check


@pytest.mark.parametrize("sx,sm", [((3, 4), (3, 4)), ((3, 4), (4,)), ((3, 1), (2, 3, 4)), ((5,), ()), ((0, 2), (2,))], ids=str)
def test_masked_select(sx, sm, torch, rng):
    a = rng.standard_normal(sx).astype(np.float32)
    m = rng.standard_normal(sm) > 0
    check(gs.masked_select, torch.masked_select, [a, m], torch=torch, gradcheck=True)
    check(lambda x, y: x.masked_select(y), lambda x, y: x.masked_select(y), [a, m], torch=torch, gradcheck=False)


@pytest.mark.parametrize("shape,dim,index", [((4, 3), 0, [0, 2, 0]), ((4, 3), 1, [2, 1]), ((2, 3, 4), -1, [3, 3, 0, 1, 1])], ids=str)
def test_index_add(shape, dim, index, torch, rng):
    a = rng.standard_normal(shape).astype(np.float32)
    src_shape = list(shape)
    src_shape[dim] = len(index)
    s = rng.standard_normal(src_shape).astype(np.float32)
    check(lambda x, y: gs.index_add(x, dim, gs.tensor(index), y, alpha=2.0),
          lambda x, y: torch.index_add(x, dim, torch.tensor(index), y, alpha=2.0), [a, s], torch=torch)


@pytest.mark.parametrize("shape,dim,index", [((4, 3), 0, [0, 2]), ((4, 3), -1, [1]), ((2, 3, 4), 2, [3, 0, 3])], ids=str)
def test_index_fill(shape, dim, index, torch, rng):
    a = rng.standard_normal(shape).astype(np.float32)
    check(lambda x: gs.index_fill(x, dim, gs.tensor(index), -1.5),
          lambda x: torch.index_fill(x, dim, torch.tensor(index), -1.5), [a], torch=torch)


def test_in_place_forms(torch):
    x, t = gs.zeros(3, 2), torch.zeros(3, 2)
    x.index_add_(0, gs.tensor([1, 1, 2]), gs.ones(3, 2))
    t.index_add_(0, torch.tensor([1, 1, 2]), torch.ones(3, 2))
    np.testing.assert_array_equal(x.numpy(), t.numpy())
    x.index_fill_(1, gs.tensor([0]), 7.0)
    t.index_fill_(1, torch.tensor([0]), 7.0)
    np.testing.assert_array_equal(x.numpy(), t.numpy())
    w = gs.ones(3, requires_grad=True)
    y = w * 2
    y.index_add_(0, gs.tensor([0]), w[:1] * 5)
    y.sum().backward()
    assert w.grad.tolist() == [7.0, 2.0, 2.0]


def test_errors():
    with pytest.raises(gs.DTypeError, match=r"masked_select: mask must be a bool tensor, got dtype int64"):
        gs.masked_select(gs.ones(2), gs.tensor([1, 0]))
    with pytest.raises(gs.ShapeError, match=r"masked_select: shapes \(2,\) and \(3,\) can't be broadcast"):
        gs.masked_select(gs.ones(2), gs.tensor([True, False, True]))
    with pytest.raises(IndexError, match=r"index_add: index out of range for dimension 0 of size 3"):
        gs.index_add(gs.ones(3), 0, gs.tensor([3]), gs.ones(1))
    with pytest.raises(gs.ShapeError, match=r"index_add: source must have shape \(2, 2\)"):
        gs.index_add(gs.ones(3, 2), 0, gs.tensor([0, 1]), gs.ones(3, 2))
    with pytest.raises(gs.DTypeError, match=r"index_fill: index must be a 0-d or 1-D int tensor"):
        gs.index_fill(gs.ones(3), 0, gs.tensor([0.5]), 1.0)
