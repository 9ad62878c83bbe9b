"""The learning-rate range test."""
import math

import numpy as np
import pytest

import gradstep as gs
from gradstep.data import DataLoader
from gradstep.observe.lr_finder import lr_find, suggest

from ._runs import digits, mlp


def test_range_test_suggests_a_rate_and_leaves_no_trace():
    train, _ = digits()
    gs.manual_seed(0)
    model = mlp(width=32)
    opt = gs.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    before = {n: p._data.copy() for n, p in model.named_parameters()}
    r = lr_find(model, opt, DataLoader(train, batch_size=64, shuffle=True, seed=0), start_lr=1e-4, end_lr=100,
                steps=120)
    ratios = np.array(r.lrs[1:]) / np.array(r.lrs[:-1])
    np.testing.assert_allclose(ratios, (100 / 1e-4) ** (1 / 119), rtol=1e-9)  # exponential schedule
    assert r.lrs[0] == 1e-4
    assert r.stopped_early and r.smoothed[-1] > 4 * min(r.smoothed)  # an lr of 100 diverges
    assert r.suggestion is not None and 1e-3 < r.suggestion < r.min_loss_lr <= r.lrs[-1]
    assert "suggested lr" in r.table() and "stopped early" in r.table()
    for n, p in model.named_parameters():
        np.testing.assert_array_equal(p._data, before[n])
    assert opt.param_groups[0]["lr"] == 0.01 and not opt.state


def test_suggestion_is_the_steepest_descent_before_the_minimum():
    lrs = np.logspace(-5, 1, 61)
    loss = 2.0 - 1.5 / (1 + np.exp(-(np.log10(lrs) + 2) * 3))  # falls fastest at lr = 1e-2
    loss[50:] += np.linspace(0, 5, 11)
    s, low = suggest(lrs, loss)
    assert s == pytest.approx(1e-2, rel=0.3) and low > s
    assert suggest(lrs, np.linspace(1, 2, 61)) == (None, lrs[0])  # never falls
    assert suggest(lrs[:3], [1.0, math.nan, 2.0]) == (None, None)


def test_bad_arguments():
    model = mlp(width=8)
    with pytest.raises(ValueError, match="need 0 < start_lr < end_lr"):
        lr_find(model, gs.optim.SGD(model.parameters(), lr=0.1), [], start_lr=1.0, end_lr=0.1)
    with pytest.raises(ValueError, match="steps must be at least 5"):
        lr_find(model, gs.optim.SGD(model.parameters(), lr=0.1), [], steps=2)
