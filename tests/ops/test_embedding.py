"""embedding and one_hot against PyTorch (values, gradients) and finite differences."""
import numpy as np
import pytest

import gradstep as gs
from gradstep.ops.embedding import _scatter_rows
from tests.oracle import check


def _emb(lib, **kw):
    F = lib.nn.functional if lib is not gs else gs
    return lambda w, i: F.embedding(i, w, **kw)


@pytest.mark.parametrize("idx_shape,V,D", [((5,), 7, 3), ((2, 3), 4, 5), ((), 6, 2), ((2, 0), 3, 4), ((4, 6), 200, 8)],
                         ids=str)
@pytest.mark.parametrize("kw", [{}, {"padding_idx": 1}, {"padding_idx": -1}, {"scale_grad_by_freq": True}], ids=str)
def test_embedding(idx_shape, V, D, kw, torch, rng):
    w = rng.standard_normal((V, D)).astype(np.float32)
    idx = rng.integers(0, V, idx_shape).astype(np.int64)
    if idx.size:
        idx.flat[0] = 1  # repeated indices and the padding row take part
        idx.flat[-1] = 1
    # padding_idx and scale_grad_by_freq deliberately change the gradient: only torch can judge them
    check(_emb(gs, **kw), _emb(torch, **kw), [w, idx], torch=torch, gradcheck=not kw)


def test_embedding_int32_indices(torch, rng):
    w = rng.standard_normal((5, 3)).astype(np.float32)
    idx = np.array([[0, 4], [4, 2]], np.int32)
    check(_emb(gs), _emb(torch), [w, idx], torch=torch)


@pytest.mark.parametrize("M,V,D", [(10, 5, 3), (600, 20, 64), (600, 50, 40), (3000, 1000, 16), (64, 10000, 200)])
def test_scatter_rows_paths(M, V, D, rng):
    """Each accumulation strategy (add.at, one-hot GEMM, sort + reduceat) gives add.at's result."""
    idx = rng.integers(0, V, M)
    g = rng.standard_normal((M, D)).astype(np.float32)
    want = np.zeros((V, D), np.float32)
    np.add.at(want, idx, g)
    got = _scatter_rows(idx, g, V)
    assert got.dtype == np.float32 and got.shape == (V, D)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)


def test_embedding_large_grad_matches_torch(torch, rng):
    w = rng.standard_normal((300, 64)).astype(np.float32)
    idx = rng.integers(0, 300, (8, 32))
    check(_emb(gs), _emb(torch), [w, idx], torch=torch, gradcheck=False)


def test_embedding_max_norm(torch, rng):
    w = (rng.standard_normal((6, 4)) * 3).astype(np.float32)
    idx = np.array([[0, 1], [1, 5]])
    gw, tw = gs.tensor(w, requires_grad=True), torch.tensor(w, requires_grad=True)
    out = gs.embedding(gs.tensor(idx), gw, max_norm=1.5)
    want = torch.nn.functional.embedding(torch.tensor(idx), tw, max_norm=1.5)
    np.testing.assert_allclose(out.detach().numpy(), want.detach().numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(gw.detach().numpy(), tw.detach().numpy(), rtol=1e-5, atol=1e-6)


def test_embedding_errors():
    w = gs.randn(10, 3, requires_grad=True)
    with pytest.raises(IndexError, match=r"index 10 at position \(1, 0\) is out of range.*10 rows \(valid indices 0\.\.9\)"):
        gs.embedding(gs.tensor([[1, 2], [10, 3]]), w)
    with pytest.raises(IndexError, match=r"index -1 .*valid indices 0\.\.9"):
        gs.embedding(gs.tensor([-1]), w)
    with pytest.raises(gs.DTypeError, match="embedding: indices must be an integer tensor.*float32"):
        gs.embedding(gs.tensor([1.0, 2.0]), w)
    with pytest.raises(gs.DTypeError, match="bool"):
        gs.embedding(gs.tensor([True]), w)
    with pytest.raises(ValueError, match=r"padding_idx must be within num_embeddings.*\[-10, 10\), got 10"):
        gs.embedding(gs.tensor([1]), w, padding_idx=10)
    with pytest.raises(gs.ShapeError, match=r"weight must be 2-d.*\(10,\)"):
        gs.embedding(gs.tensor([1]), gs.randn(10))
    with pytest.raises(NotImplementedError, match="sparse"):
        gs.embedding(gs.tensor([1]), w, sparse=True)


# --------------------------------------------------------------------- one_hot
@pytest.mark.parametrize("shape,num_classes", [((5,), -1), ((2, 3), 6), ((), 4), ((0,), 3)], ids=str)
def test_one_hot(shape, num_classes, torch, rng):
    idx = rng.integers(0, 4, shape).astype(np.int64)
    got = gs.one_hot(gs.tensor(idx), num_classes)
    want = torch.nn.functional.one_hot(torch.tensor(idx), num_classes)
    assert got.dtype == gs.int64
    np.testing.assert_array_equal(got.numpy(), want.numpy())


def test_one_hot_errors():
    with pytest.raises(gs.DTypeError, match="one_hot.*float32"):
        gs.one_hot(gs.tensor([1.0]))
    with pytest.raises(ValueError, match="non-negative, got -1"):
        gs.one_hot(gs.tensor([-1, 2]))
    with pytest.raises(ValueError, match="smaller than num_classes=3, got 3"):
        gs.one_hot(gs.tensor([3, 2]), 3)
    with pytest.raises(ValueError, match="empty tensor"):
        gs.one_hot(gs.tensor([], dtype=gs.int64))
