"""nansum, nanmean, var_mean, std_mean against PyTorch."""
import numpy as np
import pytest

import gradstep as gs
from tests.oracle import check

ARGS = [dict(), dict(dim=1), dict(dim=-1, keepdim=True), dict(dim=(0, 2)), dict(dim=0)]


@pytest.mark.parametrize("name", ["nansum", "nanmean"])
@pytest.mark.parametrize("kwargs", ARGS, ids=str)
def test_nan_reductions(name, kwargs, torch, rng):
    a = rng.standard_normal((2, 3, 4)).astype(np.float32)
    a[0, 1, 2] = a[1, 0, 0] = np.nan
    check(lambda x: getattr(gs, name)(x, **kwargs), lambda x: getattr(torch, name)(x, **kwargs), [a], torch=torch,
          gradcheck=False)
    b = rng.standard_normal((2, 3, 4)).astype(np.float32)  # no NaN: finite differences work
    check(lambda x: getattr(gs, name)(x, **kwargs), lambda x: getattr(torch, name)(x, **kwargs), [b], torch=torch)


def test_nan_reduction_edges(torch):
    x = [[np.nan, np.nan], [1.0, np.nan]]
    np.testing.assert_array_equal(gs.nanmean(gs.tensor(x), 1).numpy(), torch.nanmean(torch.tensor(x), 1).numpy())
    np.testing.assert_array_equal(gs.nansum(gs.tensor(x), 1).numpy(), torch.nansum(torch.tensor(x), 1).numpy())
    assert gs.nansum(gs.tensor([1, 2])).dtype == gs.int64


@pytest.mark.parametrize("name", ["var_mean", "std_mean"])
@pytest.mark.parametrize("kwargs", [dict(), dict(dim=1), dict(dim=(0, -1), keepdim=True), dict(dim=0, correction=0)], ids=str)
def test_var_std_mean(name, kwargs, torch, rng):
    a = rng.standard_normal((3, 4, 2)).astype(np.float32)
    for k in (0, 1):
        check(lambda x: getattr(gs, name)(x, **kwargs)[k], lambda x: getattr(torch, name)(x, **kwargs)[k], [a], torch=torch)


def test_errors():
    with pytest.raises(gs.DTypeError, match=r"nanmean: expected a floating point tensor, got dtype int64"):
        gs.nanmean(gs.tensor([1, 2]))
    with pytest.raises(IndexError, match=r"nansum: dim 3 is out of range"):
        gs.nansum(gs.ones(2, 2), 3)
