"""roll, repeat_interleave, rot90 against PyTorch."""
import numpy as np
import pytest

import gradstep as gs
from tests.oracle import check


@pytest.mark.parametrize("shape,shifts,dims", [((5,), 2, 0), ((3, 4), 1, None), ((3, 4), -1, -1), ((3, 4), (1, 2), (0, 1)),
                                               ((2, 3, 4), (5, -2), (-1, 0)), ((0, 3), 1, 1)], ids=str)
def test_roll(shape, shifts, dims, torch, rng):
    a = rng.standard_normal(shape).astype(np.float32)
    check(lambda x: gs.roll(x, shifts, dims), lambda x: torch.roll(x, shifts, dims), [a], torch=torch)
    check(lambda x: x.roll(shifts, dims), lambda x: x.roll(shifts, dims), [a], torch=torch, gradcheck=False)


@pytest.mark.parametrize("shape,repeats,dim", [((3,), 2, None), ((2, 3), 2, None), ((2, 3), 3, 1), ((2, 3), 2, -2),
                                               ((2, 3), [1, 0, 2], 1), ((3, 2), [2, 2, 0], 0), ((2, 3), [2], 0)], ids=str)
def test_repeat_interleave(shape, repeats, dim, torch, rng):
    a = rng.standard_normal(shape).astype(np.float32)
    r = repeats if isinstance(repeats, int) else None
    check(lambda x: gs.repeat_interleave(x, r if r is not None else gs.tensor(repeats), dim),
          lambda x: torch.repeat_interleave(x, r if r is not None else torch.tensor(repeats), dim), [a], torch=torch)


def test_repeat_interleave_counts_only(torch):
    got = gs.repeat_interleave(gs.tensor([2, 0, 1]))
    assert got.tolist() == torch.repeat_interleave(torch.tensor([2, 0, 1])).tolist() and got.dtype == gs.int64
    assert gs.tensor([[1, 2], [3, 4]]).repeat_interleave(2, dim=0).tolist() == [[1, 2], [1, 2], [3, 4], [3, 4]]


@pytest.mark.parametrize("k,dims", [(1, (0, 1)), (2, (0, 1)), (3, (0, 1)), (-1, (1, 0)), (1, (-1, 0)), (4, (1, 2))], ids=str)
def test_rot90(k, dims, torch, rng):
    a = rng.standard_normal((2, 3, 4)).astype(np.float32)
    check(lambda x: gs.rot90(x, k, dims), lambda x: torch.rot90(x, k, dims), [a], torch=torch)


def test_errors():
    with pytest.raises(gs.ShapeError, match=r"roll: shifts and dims must have the same length"):
        gs.roll(gs.ones(2, 3), (1, 2), 0)
    with pytest.raises(gs.ShapeError, match=r"repeat_interleave: repeats has 2 counts but dimension 0 of the input has size 3"):
        gs.repeat_interleave(gs.ones(3), gs.tensor([1, 2]), 0)
    with pytest.raises(ValueError, match=r"repeat_interleave: repeats must be non-negative"):
        gs.repeat_interleave(gs.ones(3), -1)
    with pytest.raises(gs.ShapeError, match=r"rot90: dims must be different"):
        gs.rot90(gs.ones(2, 2), 1, (0, 0))
