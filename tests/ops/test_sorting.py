"""sort, argsort, msort, topk, kthvalue, median, unique against PyTorch."""
import numpy as np
import pytest

import gradstep as gs
from tests.oracle import check


def _distinct(rng, shape, dtype=np.float32):
    """Well-separated values (no ties, so indices are unambiguous and finite differences stay in order)."""
    n = int(np.prod(shape))
    return (rng.permutation(n).reshape(shape) * 0.5 + rng.uniform(0, 0.1, shape)).astype(dtype)


SHAPES_DIMS = [((7,), 0), ((3, 5), -1), ((3, 5), 0), ((2, 3, 4), 1), ((2, 3, 4), -3), ((4, 1), 1)]


@pytest.mark.parametrize("shape,dim", SHAPES_DIMS, ids=str)
@pytest.mark.parametrize("descending", [False, True])
def test_sort(shape, dim, descending, torch, rng):
    a = _distinct(rng, shape)
    check(lambda x: gs.sort(x, dim=dim, descending=descending).values,
          lambda x: torch.sort(x, dim=dim, descending=descending).values, [a], torch=torch)
    got = gs.sort(gs.tensor(a), dim, descending)
    want = torch.sort(torch.tensor(a), dim, descending)
    np.testing.assert_array_equal(got.indices.numpy(), want.indices.numpy())
    assert got.indices.dtype == gs.int64
    np.testing.assert_array_equal(gs.argsort(gs.tensor(a), dim, descending).numpy(),
                                  torch.argsort(torch.tensor(a), dim, descending).numpy())


def test_sort_ties_nan_ints_and_0d(torch):
    for data in ([1, 2, 1, 2, 0], [True, False, True], [3.0, float("nan"), 1.0, float("nan"), 2.0]):
        for desc in (False, True):
            got = gs.sort(gs.tensor(data), descending=desc, stable=True)
            want = torch.sort(torch.tensor(data), descending=desc, stable=True)
            np.testing.assert_array_equal(got.values.numpy(), want.values.numpy())
            np.testing.assert_array_equal(got.indices.numpy(), want.indices.numpy())
    v, i = gs.sort(gs.tensor(3.0))
    assert v.shape == () and i.shape == () and v.item() == 3.0 and i.item() == 0
    assert gs.msort(gs.tensor([[2.0, 1.0], [0.0, 5.0]])).tolist() == [[0.0, 1.0], [2.0, 5.0]]


@pytest.mark.parametrize("shape,dim,k", [((9,), 0, 3), ((3, 40), -1, 4), ((3, 40), -1, 40), ((4, 5), 0, 2), ((2, 3, 4), 1, 0)], ids=str)
@pytest.mark.parametrize("largest", [True, False])
def test_topk(shape, dim, k, largest, torch, rng):
    a = _distinct(rng, shape)
    got = check(lambda x: gs.topk(x, k, dim=dim, largest=largest).values,
                lambda x: torch.topk(x, k, dim=dim, largest=largest).values, [a], torch=torch, gradcheck=k > 0)
    assert got.shape == torch.topk(torch.tensor(a), k, dim=dim).values.shape
    np.testing.assert_array_equal(gs.topk(gs.tensor(a), k, dim, largest).indices.numpy(),
                                  torch.topk(torch.tensor(a), k, dim, largest).indices.numpy())


def test_topk_ints_and_method(torch):
    x = gs.tensor([5, 1, 9, 3, 7, 2, 8, 0, 6, 4, 11, 10, 13, 12, 15, 14, 17, 16])
    values, indices = x.topk(2)
    assert values.tolist() == [17, 16] and indices.tolist() == [16, 17]
    assert gs.topk(x, 2, largest=False).values.tolist() == [0, 1]


@pytest.mark.parametrize("shape,dim,k", [((7,), 0, 3), ((3, 5), -1, 1), ((3, 5), 0, 3)], ids=str)
@pytest.mark.parametrize("keepdim", [False, True])
def test_kthvalue(shape, dim, k, keepdim, torch, rng):
    a = _distinct(rng, shape)
    check(lambda x: gs.kthvalue(x, k, dim, keepdim).values, lambda x: torch.kthvalue(x, k, dim, keepdim).values,
          [a], torch=torch)
    np.testing.assert_array_equal(gs.kthvalue(gs.tensor(a), k, dim, keepdim).indices.numpy(),
                                  torch.kthvalue(torch.tensor(a), k, dim, keepdim).indices.numpy())


@pytest.mark.parametrize("shape", [(7,), (6,), (3, 4), (2, 3, 5)], ids=str)
def test_median_all(shape, torch, rng):
    a = _distinct(rng, shape)
    check(lambda x: gs.median(x), lambda x: torch.median(x), [a], torch=torch)


@pytest.mark.parametrize("shape,dim", [((3, 4), -1), ((3, 5), 0), ((2, 3, 4), 1)], ids=str)
@pytest.mark.parametrize("keepdim", [False, True])
def test_median_dim(shape, dim, keepdim, torch, rng):
    a = _distinct(rng, shape)
    check(lambda x: gs.median(x, dim, keepdim).values, lambda x: torch.median(x, dim, keepdim).values, [a], torch=torch)
    np.testing.assert_array_equal(gs.median(gs.tensor(a), dim, keepdim).indices.numpy(),
                                  torch.median(torch.tensor(a), dim, keepdim).indices.numpy())


def test_median_nan_and_0d(torch):
    nan = float("nan")
    assert np.isnan(gs.median(gs.tensor([1.0, nan, 3.0])).item())
    got = gs.median(gs.tensor([[1.0, nan, 3.0, nan], [4.0, 2.0, 3.0, 1.0]]), 1)
    want = torch.median(torch.tensor([[1.0, nan, 3.0, nan], [4.0, 2.0, 3.0, 1.0]]), 1)
    np.testing.assert_array_equal(got.values.numpy(), want.values.numpy())
    np.testing.assert_array_equal(got.indices.numpy(), want.indices.numpy())
    v, i = gs.median(gs.tensor(5.0), 0)
    assert v.item() == 5.0 and i.item() == 0
    assert gs.median(gs.tensor([4, 1, 3, 2])).item() == 2  # the lower median, like PyTorch


def test_unique(torch):
    data = [[3, 1, 2], [1, 3, 3]]
    for kw in ({}, dict(return_inverse=True), dict(return_counts=True), dict(return_inverse=True, return_counts=True)):
        got, want = gs.unique(gs.tensor(data), **kw), torch.unique(torch.tensor(data), **kw)
        got = got if isinstance(got, tuple) else (got,)
        want = want if isinstance(want, tuple) else (want,)
        assert len(got) == len(want)
        for g, w in zip(got, want):
            np.testing.assert_array_equal(g.numpy(), w.numpy())
            assert str(g.dtype) == str(w.dtype).replace("torch.", "")
    rows = [[1, 2], [1, 2], [0, 3]]
    got = gs.unique(gs.tensor(rows), dim=0, return_inverse=True, return_counts=True)
    want = torch.unique(torch.tensor(rows), dim=0, return_inverse=True, return_counts=True)
    for g, w in zip(got, want):
        np.testing.assert_array_equal(g.numpy(), w.numpy())
    assert gs.tensor([2.0, 1.0, 2.0]).unique().tolist() == [1.0, 2.0]


def test_sort_float32_and_graph():
    x = gs.randn(4, 5, requires_grad=True)
    v = x.sort(dim=0).values
    assert v.dtype == gs.float32 and v.requires_grad
    v.sum().backward()
    assert x.grad.dtype == gs.float32
    np.testing.assert_array_equal(x.grad.numpy(), np.ones((4, 5), np.float32))


def test_errors():
    with pytest.raises(gs.ShapeError, match=r"topk: k=4 is out of range for dimension 0 of size 3"):
        gs.topk(gs.ones(3), 4)
    with pytest.raises(gs.ShapeError, match=r"kthvalue: k=0 is out of range .* expected 1 <= k <= 3"):
        gs.kthvalue(gs.ones(3), 0)
    with pytest.raises(IndexError, match=r"sort: dim 2 is out of range"):
        gs.sort(gs.ones(2, 2), dim=2)
    with pytest.raises(gs.DTypeError, match=r"topk: k must be an int, got float"):
        gs.topk(gs.ones(3), 1.5)
    with pytest.raises(gs.ShapeError, match=r"median: can't take the median of a tensor with no elements"):
        gs.median(gs.ones(0))
    with pytest.raises(gs.ShapeError, match=r"median: can't reduce dimension 1 of size 0"):
        gs.median(gs.ones(2, 0), 1)
