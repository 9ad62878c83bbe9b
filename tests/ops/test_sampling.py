"""multinomial, bernoulli, poisson: shapes, dtypes, seeding and the distributions they draw from."""
import numpy as np
import pytest

import gradstep as gs


def test_multinomial_with_replacement_frequencies():
    gs.manual_seed(0)
    s = gs.multinomial(gs.tensor([0.1, 0.2, 0.7, 0.0]), 20000, replacement=True)
    assert s.shape == (20000,) and s.dtype == gs.int64
    freq = np.bincount(s.numpy(), minlength=4) / 20000
    np.testing.assert_allclose(freq, [0.1, 0.2, 0.7, 0.0], atol=0.02)


def test_multinomial_without_replacement():
    gs.manual_seed(1)
    rows = gs.tensor([[1.0, 1.0, 1.0, 1.0], [0.0, 5.0, 1.0, 1.0]])
    s = gs.multinomial(rows, 3)
    assert s.shape == (2, 3)
    for row in s.tolist():
        assert len(set(row)) == 3
    assert 0 not in s[1].tolist()
    firsts = np.array([gs.multinomial(gs.tensor([0.1, 0.2, 0.7]), 1).item() for _ in range(3000)])
    np.testing.assert_allclose(np.bincount(firsts, minlength=3) / 3000, [0.1, 0.2, 0.7], atol=0.03)


def test_seeding_repeats_draws():
    gs.manual_seed(5)
    a = gs.multinomial(gs.ones(10), 4).tolist(), gs.bernoulli(gs.full((6,), 0.5)).tolist()
    gs.manual_seed(5)
    b = gs.multinomial(gs.ones(10), 4).tolist(), gs.bernoulli(gs.full((6,), 0.5)).tolist()
    assert a == b
    g = np.random.default_rng(3)
    assert gs.multinomial(gs.ones(10), 4, generator=g).shape == (4,)


def test_bernoulli_and_poisson():
    gs.manual_seed(0)
    p = gs.tensor([0.0, 1.0, 0.5], dtype=gs.float64)
    draws = np.stack([gs.bernoulli(p).numpy() for _ in range(2000)])
    assert gs.bernoulli(p).dtype == gs.float64
    np.testing.assert_allclose(draws.mean(0), [0.0, 1.0, 0.5], atol=0.04)
    assert gs.bernoulli(gs.zeros(3), 1.0).tolist() == [1.0, 1.0, 1.0]
    x = gs.poisson(gs.full((4000,), 3.0))
    assert x.dtype == gs.float32 and abs(x.mean().item() - 3.0) < 0.15


def test_errors():
    with pytest.raises(ValueError, match=r"multinomial: can't draw 4 samples without replacement from 3 categories"):
        gs.multinomial(gs.ones(3), 4)
    with pytest.raises(ValueError, match=r"multinomial: a row has fewer than num_samples=2 categories of non-zero weight"):
        gs.multinomial(gs.tensor([0.0, 1.0, 0.0]), 2)
    with pytest.raises(ValueError, match=r"multinomial: weights must be finite and non-negative"):
        gs.multinomial(gs.tensor([-1.0, 1.0]), 1)
    with pytest.raises(gs.DTypeError, match=r"multinomial: expected a floating point tensor of weights, got dtype int64"):
        gs.multinomial(gs.tensor([1, 2]), 1)
    with pytest.raises(ValueError, match=r"bernoulli: probabilities must be in \[0, 1\]"):
        gs.bernoulli(gs.tensor([1.5]))
