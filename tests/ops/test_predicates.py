"""isnan / isinf / isfinite / isclose / allclose / equal against PyTorch."""
import numpy as np

import gradstep as gs


def test_predicates_match_torch(torch):
    a = np.array([1.0, np.nan, np.inf, -np.inf, 0.0], np.float32)
    for name in ("isnan", "isinf", "isfinite"):
        got = getattr(gs.tensor(a), name)()
        want = getattr(torch.tensor(a), name)()
        assert got.dtype == gs.bool
        np.testing.assert_array_equal(got.numpy(), want.numpy())
        np.testing.assert_array_equal(getattr(gs, name)(gs.tensor(a)).numpy(), want.numpy())
    b = a + np.float32(1e-7)
    np.testing.assert_array_equal(gs.isclose(gs.tensor(a), gs.tensor(b)).numpy(),
                                  torch.isclose(torch.tensor(a), torch.tensor(b)).numpy())
    assert gs.allclose(gs.ones(3), gs.ones(3) + 1e-9)
    assert gs.equal(gs.ones(2), gs.ones(2)) and not gs.equal(gs.ones(2), gs.ones(3))


def test_square_matches_torch(torch):
    from tests.oracle import check

    a = np.array([[1.5, -2.0], [0.5, 3.0]], np.float32)
    check(lambda x: x.square(), lambda x: x.square(), [a], torch=torch)
    assert gs.square(gs.tensor([3])).item() == 9
