"""Comparisons, logical and bitwise ops against PyTorch (bool/int results, broadcasting, promotion)."""
import numpy as np
import pytest

import gradstep as gs

COMPARISONS = ["eq", "ne", "lt", "le", "gt", "ge", "greater", "greater_equal", "less", "less_equal", "not_equal"]


def _same(got, want):
    assert str(got.dtype) == str(want.dtype).replace("torch.", ""), (got.dtype, want.dtype)
    np.testing.assert_array_equal(got.numpy(), want.numpy())


@pytest.mark.parametrize("name", COMPARISONS)
def test_comparisons(name, torch, rng):
    a = rng.integers(-2, 3, (3, 4))
    for other in (rng.integers(-2, 3, (4,)), rng.integers(-2, 3, (2, 1, 1)).astype(np.float32)):
        _same(getattr(gs, name)(gs.tensor(a), gs.tensor(other)), getattr(torch, name)(torch.tensor(a), torch.tensor(other)))
        _same(getattr(gs.tensor(a), name)(gs.tensor(other)), getattr(torch.tensor(a), name)(torch.tensor(other)))
    for scalar in (1, 0.5, True):
        _same(getattr(gs, name)(gs.tensor(a), scalar), getattr(torch, name)(torch.tensor(a), scalar))


@pytest.mark.parametrize("name", ["logical_and", "logical_or", "logical_xor"])
def test_logical_binary(name, torch, rng):
    a = rng.integers(0, 2, (3, 4)).astype(bool)
    for b in (rng.integers(-1, 2, (4,)), rng.standard_normal((3, 1)).astype(np.float32) > 0, np.array([0.0, 2.5, 0.0, -1.0])):
        _same(getattr(gs, name)(gs.tensor(a), gs.tensor(b)), getattr(torch, name)(torch.tensor(a), torch.tensor(b)))
        _same(getattr(gs.tensor(b), name)(gs.tensor(a)), getattr(torch.tensor(b), name)(torch.tensor(a)))


def test_logical_not_and_bitwise(torch, rng):
    for data in ([0, 1, 2], [0.0, -1.5, 3.0], [True, False]):
        _same(gs.logical_not(gs.tensor(data)), torch.logical_not(torch.tensor(data)))
        _same(gs.tensor(data).logical_not(), torch.tensor(data).logical_not())
    a, b = rng.integers(0, 8, (5,)), rng.integers(0, 8, (5,))
    for name in ("bitwise_and", "bitwise_or", "bitwise_xor"):
        _same(getattr(gs, name)(gs.tensor(a), gs.tensor(b)), getattr(torch, name)(torch.tensor(a), torch.tensor(b)))
        _same(getattr(gs, name)(gs.tensor(a > 3), gs.tensor(b > 3)), getattr(torch, name)(torch.tensor(a > 3), torch.tensor(b > 3)))
    _same(gs.bitwise_not(gs.tensor(a)), torch.bitwise_not(torch.tensor(a)))
    _same(gs.bitwise_not(gs.tensor(a > 3)), torch.bitwise_not(torch.tensor(a > 3)))


def test_isin_and_predicates(torch):
    x = [1.0, -0.0, float("inf"), -float("inf"), float("nan"), -2.0]
    for name in ("isposinf", "isneginf", "signbit"):
        _same(getattr(gs, name)(gs.tensor(x)), getattr(torch, name)(torch.tensor(x)))
    _same(gs.isin(gs.tensor([1, 2, 3, 4]), gs.tensor([2, 4, 9])), torch.isin(torch.tensor([1, 2, 3, 4]), torch.tensor([2, 4, 9])))
    _same(gs.isin(gs.tensor([1, 2]), gs.tensor([2]), invert=True), torch.isin(torch.tensor([1, 2]), torch.tensor([2]), invert=True))


def test_results_are_not_differentiable():
    x = gs.randn(3, requires_grad=True)
    assert not gs.gt(x, 0).requires_grad and gs.gt(x, 0).dtype == gs.bool


def test_errors():
    with pytest.raises(gs.ShapeError, match=r"eq: shapes \(2,\) and \(3,\) can't be broadcast together"):
        gs.eq(gs.ones(2), gs.ones(3))
    with pytest.raises(gs.ShapeError, match=r"logical_and: shapes \(2,\) and \(3,\)"):
        gs.logical_and(gs.ones(2), gs.ones(3))
    with pytest.raises(gs.DTypeError, match=r"bitwise_and: expected bool or integer operands, got dtype float32"):
        gs.bitwise_and(gs.ones(2), gs.ones(2))
    with pytest.raises(gs.DTypeError, match=r"bitwise_not: expected a bool or integer tensor, got dtype float32"):
        gs.bitwise_not(gs.ones(2))
