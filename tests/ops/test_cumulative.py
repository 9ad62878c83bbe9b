"""cumprod (incl. zeros), logcumsumexp, cummax, cummin, diff against PyTorch."""
import numpy as np
import pytest

import gradstep as gs
from tests.oracle import check

SHAPES_DIMS = [((6,), 0), ((3, 4), -1), ((3, 4), 0), ((2, 3, 4), 1), ((2, 3, 4), -3), ((2, 0), 1)]


@pytest.mark.parametrize("shape,dim", SHAPES_DIMS, ids=str)
def test_cumprod(shape, dim, torch, rng):
    a = rng.uniform(0.5, 1.5, shape).astype(np.float32) * rng.choice([-1, 1], shape).astype(np.float32)
    check(lambda x: gs.cumprod(x, dim), lambda x: torch.cumprod(x, dim), [a], torch=torch)
    check(lambda x: x.cumprod(dim), lambda x: x.cumprod(dim), [a], torch=torch, gradcheck=False)


@pytest.mark.parametrize("data", [[2.0, 0.0, 3.0, 0.0, 4.0], [0.0, 2.0, 3.0], [3.0, 2.0, 0.0], [0.0, 0.0, 1.0], [1.5, -2.0, 0.0, 0.5]])
def test_cumprod_with_zeros_is_exact(data, torch):
    a = np.array(data, np.float32)
    check(lambda x: gs.cumprod(x, 0), lambda x: torch.cumprod(x, 0), [a], torch=torch)
    b = np.stack([a, a[::-1], np.ones_like(a)])  # rows with and without zeros together
    check(lambda x: gs.cumprod(x, 1), lambda x: torch.cumprod(x, 1), [b], torch=torch)
    check(lambda x: gs.cumprod(x, 0), lambda x: torch.cumprod(x, 0), [b.T.copy()], torch=torch)


def test_cumprod_ints(torch):
    got, want = gs.cumprod(gs.tensor([1, 2, 3]), 0), torch.cumprod(torch.tensor([1, 2, 3]), 0)
    assert got.dtype == gs.int64 and got.tolist() == want.tolist()
    assert gs.cumprod(gs.tensor([True, True, False]), 0).dtype == gs.int64


@pytest.mark.parametrize("shape,dim", SHAPES_DIMS, ids=str)
def test_logcumsumexp(shape, dim, torch, rng):
    a = (rng.standard_normal(shape) * 3).astype(np.float32)
    check(lambda x: gs.logcumsumexp(x, dim), lambda x: torch.logcumsumexp(x, dim), [a], torch=torch)


def test_logcumsumexp_is_stable(torch):
    a = np.array([1.0, 300.0, -3.0, 2.0, 1000.0, 5.0], np.float32)
    check(lambda x: gs.logcumsumexp(x, 0), lambda x: torch.logcumsumexp(x, 0), [a], torch=torch, gradcheck=False)


@pytest.mark.parametrize("name", ["cummax", "cummin"])
@pytest.mark.parametrize("shape,dim", SHAPES_DIMS[:5], ids=str)
def test_cummax_cummin(name, shape, dim, torch, rng):
    n = int(np.prod(shape))
    a = (rng.permutation(n).reshape(shape) * 0.5).astype(np.float32)
    check(lambda x: getattr(gs, name)(x, dim).values, lambda x: getattr(torch, name)(x, dim).values, [a], torch=torch)
    np.testing.assert_array_equal(getattr(gs, name)(gs.tensor(a), dim).indices.numpy(),
                                  getattr(torch, name)(torch.tensor(a), dim).indices.numpy())


def test_cummax_ties_take_the_last_index(torch):
    for name, data in (("cummax", [1.0, 3.0, 3.0, 2.0, 3.0, 5.0]), ("cummin", [1.0, 3.0, 1.0, 2.0, 1.0, 5.0])):
        got, want = getattr(gs, name)(gs.tensor(data), 0), getattr(torch, name)(torch.tensor(data), 0)
        assert got.indices.tolist() == want.indices.tolist()
        check(lambda x: getattr(gs, name)(x, 0).values, lambda x: getattr(torch, name)(x, 0).values,
              [np.array(data, np.float32)], torch=torch, gradcheck=False)


@pytest.mark.parametrize("shape,n,dim", [((6,), 1, 0), ((6,), 2, -1), ((3, 4), 1, 0), ((2, 3, 4), 3, 1), ((3, 4), 0, 1), ((2, 3), 5, 1)], ids=str)
def test_diff(shape, n, dim, torch, rng):
    a = rng.standard_normal(shape).astype(np.float32)
    check(lambda x: gs.diff(x, n, dim), lambda x: torch.diff(x, n, dim), [a], torch=torch)


def test_diff_prepend_append_ints_bools(torch, rng):
    a, p, q = (rng.standard_normal(s).astype(np.float32) for s in ((3, 4), (3, 1), (3, 2)))
    check(lambda x, y, z: gs.diff(x, 2, 1, prepend=y, append=z), lambda x, y, z: torch.diff(x, 2, 1, prepend=y, append=z),
          [a, p, q], torch=torch)
    assert gs.diff(gs.tensor([1, 3, 6])).tolist() == [2, 3]
    assert gs.diff(gs.tensor([True, False, False])).tolist() == torch.diff(torch.tensor([True, False, False])).tolist()


def test_errors():
    with pytest.raises(IndexError, match=r"cumprod: dim 1 is out of range"):
        gs.cumprod(gs.ones(3), 1)
    with pytest.raises(gs.ShapeError, match=r"diff: expected a tensor with at least one dimension"):
        gs.diff(gs.tensor(1.0))
    with pytest.raises(gs.ShapeError, match=r"diff: prepend must have the same number of dims as input \(2, 3\)"):
        gs.diff(gs.ones(2, 3), prepend=gs.ones(3))
