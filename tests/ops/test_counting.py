"""bincount, histc, searchsorted, bucketize against PyTorch."""
import numpy as np
import pytest

import gradstep as gs


def _same(got, want):
    assert str(got.dtype) == str(want.dtype).replace("torch.", ""), (got.dtype, want.dtype)
    assert tuple(got.shape) == tuple(want.shape)
    np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-6)


def test_bincount(torch, rng):
    x = rng.integers(0, 5, 20)
    _same(gs.bincount(gs.tensor(x)), torch.bincount(torch.tensor(x)))
    _same(gs.bincount(gs.tensor(x), minlength=9), torch.bincount(torch.tensor(x), minlength=9))
    for w in (rng.standard_normal(20).astype(np.float32), rng.standard_normal(20), rng.integers(0, 3, 20)):
        _same(gs.bincount(gs.tensor(x), gs.tensor(w)), torch.bincount(torch.tensor(x), torch.tensor(w)))
    _same(gs.bincount(gs.tensor(np.zeros(0, np.int64))), torch.bincount(torch.tensor(np.zeros(0, np.int64))))
    _same(gs.tensor(x).bincount(), torch.tensor(x).bincount())


def test_histc(torch, rng):
    x = rng.standard_normal(50).astype(np.float32)
    for kw in (dict(), dict(bins=7), dict(bins=5, min=-1, max=1)):
        _same(gs.histc(gs.tensor(x), **kw), torch.histc(torch.tensor(x), **kw))


def test_searchsorted_and_bucketize(torch, rng):
    seq = np.sort(rng.integers(0, 10, 8))
    values = rng.integers(-1, 12, (3, 4))
    for right in (False, True):
        _same(gs.searchsorted(gs.tensor(seq), gs.tensor(values), right=right),
              torch.searchsorted(torch.tensor(seq), torch.tensor(values), right=right))
        _same(gs.bucketize(gs.tensor(values), gs.tensor(seq), right=right),
              torch.bucketize(torch.tensor(values), torch.tensor(seq), right=right))
    seq2 = np.sort(rng.standard_normal((2, 3, 5)), axis=-1)
    vals2 = rng.standard_normal((2, 3, 4))
    _same(gs.searchsorted(gs.tensor(seq2), gs.tensor(vals2), side="right"),
          torch.searchsorted(torch.tensor(seq2), torch.tensor(vals2), side="right"))
    _same(gs.searchsorted(gs.tensor(seq2), gs.tensor(vals2), out_int32=True),
          torch.searchsorted(torch.tensor(seq2), torch.tensor(vals2), out_int32=True))
    _same(gs.searchsorted(gs.tensor([1.0, 3.0]), 2.0), torch.searchsorted(torch.tensor([1.0, 3.0]), 2.0))


def test_errors():
    with pytest.raises(gs.DTypeError, match=r"bincount: expected a 1-D int tensor, got shape \(2, 2\)"):
        gs.bincount(gs.ones(2, 2, dtype=gs.int64))
    with pytest.raises(ValueError, match=r"bincount: input must be non-negative"):
        gs.bincount(gs.tensor([1, -1]))
    with pytest.raises(gs.ShapeError, match=r"searchsorted: sorted_sequence of shape \(2, 3\) needs input with the same leading"):
        gs.searchsorted(gs.ones(2, 3), gs.ones(3, 3))
    with pytest.raises(gs.DTypeError, match=r"histc: expected a floating point tensor"):
        gs.histc(gs.tensor([1, 2]))
