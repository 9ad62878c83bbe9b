"""In-place ops on slices of a tensor in the graph are replayed into the base, as in PyTorch.

``v = y[0]; v.mul_(2)`` changes ``y``'s values; its gradient must change too, for every
later use of ``y`` and of any other slice of it (before this, later uses of ``y`` silently
missed the op's gradient).
"""
import numpy as np
import pytest

import gradstep as gs


def _case(lib, x, case):
    y = x * 1
    if case == "slice then base":
        y[0].mul_(2)
        return (y * y).sum()
    if case == "two ops on one slice":
        v = y[:, 1:]
        v.add_(x[:, :2] * 3)
        v.relu_()
        return y.exp().sum() + v.sum()
    if case == "slice of a slice":
        y[1][2:].mul_(5)
        return (y ** 3).sum()
    if case == "view and base both used":
        v = y[0]
        v.mul_(2)
        return (y * y).sum() + v.sum()
    if case == "another slice changes the base later":
        v = y[0]
        v.mul_(2)
        w = y[:, 1:]
        w.add_(x[:, :2] * 3)
        return (y * y).sum() + v.sum()
    if case == "two slices, interleaved":
        v, w = y[0], y[1]
        w.mul_(3)
        v.mul_(2)
        return (v * w).sum() + y.sum()
    if case == "setitem on a slice":
        v = y[:, :2]
        v[0] = x[1, 1:] * 4
        return (y * x).sum()
    raise AssertionError(case)


CASES = ["slice then base", "two ops on one slice", "slice of a slice", "view and base both used",
         "another slice changes the base later", "two slices, interleaved", "setitem on a slice"]


@pytest.mark.parametrize("case", CASES)
def test_inplace_on_a_slice_matches_torch(case, torch):
    a = (np.arange(6, dtype=np.float32).reshape(2, 3) - 2) / 2
    x, tx = gs.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
    loss, tloss = _case(gs, x, case), _case(torch, tx, case)
    np.testing.assert_allclose(loss.item(), tloss.item(), rtol=1e-6)
    loss.backward()
    tloss.backward()
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-6, atol=1e-6)


def test_slice_of_a_leaf_that_requires_grad_is_refused():
    x = gs.ones(3, requires_grad=True)
    with pytest.raises(gs.errors.GradError, match="leaf tensor that requires grad"):
        x[:2].mul_(2)


def test_without_grad_the_slice_writes_through():
    x = gs.ones(2, 3)
    x[0].mul_(5)
    np.testing.assert_array_equal(x.numpy(), [[5, 5, 5], [1, 1, 1]])
    with gs.no_grad():
        y = gs.ones(2, 2, requires_grad=True) * 1
        y[1].add_(1)
    np.testing.assert_array_equal(y.numpy(), [[1, 1], [2, 2]])
