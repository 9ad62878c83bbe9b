"""Gradients of basic-indexing views are added into their input's gradient in place (engine.SliceGrad).

Checked against PyTorch on the patterns where in-place accumulation could go wrong: many
slices of one tensor, slices mixed with ordinary uses of the same tensor, a gradient that
an op passes on to two inputs (add), leaves with and without an existing .grad, hooks,
retain_graph and a second backward, overlapping and strided slices.
"""
import numpy as np
import pytest

import gradstep as gs


def _both(torch, fn, *arrays):
    g_in = [gs.tensor(a, requires_grad=True) for a in arrays]
    t_in = [torch.tensor(a, requires_grad=True) for a in arrays]
    fn(gs, g_in).backward()
    fn(torch, t_in).backward()
    for g, t in zip(g_in, t_in):
        if t.grad is None:
            assert g.grad is None
        else:
            np.testing.assert_allclose(g.grad.numpy(), t.grad.numpy(), rtol=1e-5, atol=1e-6)


def _weights(n):
    return [0.5 + 0.25 * i for i in range(n)]


CASES = {
    "every step of a sequence": lambda lib, x: sum(((x[0][:, t] * w).sum() for t, w in enumerate(_weights(7))),
                                                     start=x[0].sum() * 0),
    "slices of an intermediate": lambda lib, x: sum(((x[0] * 2)[:, t].exp().sum() for t in range(7)),
                                                      start=x[0].sum() * 0),
    "slices mixed with whole uses": lambda lib, x: ((x[0] * 3)[:, 1:4] ** 2).sum() + (x[0] * 3).tanh().sum()
    + (x[0] * 3)[:, 2].sum(),
    "add passes one gradient to both inputs": lambda lib, x: ((x[0] + x[1])[:, 0] * 2).sum()
    + ((x[0] + x[1])[:, 1:]).sum() + (x[0] + x[1]).sum(),
    "overlapping and strided slices": lambda lib, x: (x[0][:, ::2] * 1.5).sum() + (x[0][:, 1:5] ** 2).sum()
    + x[0][1, 3] * 4 + x[0][..., None][:, 2, 0].sum(),
    "shared intermediate used by two slices then whole": lambda lib, x: _shared(x[0]),
    "a sliced sum whose gradient add passes on twice": lambda lib, x: _passed_on(x[0], first=True),
    "the same, terms in the other order": lambda lib, x: _passed_on(x[0], first=False),
}


def _passed_on(x, first):
    a, b = x * 2, x * 3
    z = a + b  # z's gradient is accumulated from two slices, then handed to a and b as one array
    extra = a[:, 0].sum() * 7  # then a's gradient gets a slice added: b's must not change
    sliced = z[:, :2].sum() * 1.5 + z[:, 2:].sum() * 0.5
    return extra + sliced if first else sliced + extra


def _shared(x):
    y = x.sigmoid()
    a, b = y[:, :3], y[:, 3:]
    return (a * a).sum() + (b * 2).sum() + (y * y).sum()


@pytest.mark.parametrize("name", list(CASES))
def test_slice_gradients_match_torch(name, torch, rng):
    arrays = [rng.standard_normal((3, 7)).astype(np.float32) for _ in range(2)]
    _both(torch, CASES[name], *arrays)


def test_leaf_with_existing_grad_and_hook(torch, rng):
    a = rng.standard_normal((4, 5)).astype(np.float32)
    x, tx = gs.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
    seen = []
    x.register_hook(lambda g: seen.append(g.shape) or g * 2)
    tx.register_hook(lambda g: g * 2)
    for _ in range(2):  # the second backward adds into an existing .grad
        (x[1:3] * 3).sum().backward()
        (tx[1:3] * 3).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy())
    assert seen == [(4, 5), (4, 5)]


def test_retain_graph_second_backward(torch, rng):
    a = rng.standard_normal((3, 6)).astype(np.float32)
    x, tx = gs.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
    y = (x * 2)[:, 1:4].sum() + (x * 2)[:, 2].sum()
    ty = (tx * 2)[:, 1:4].sum() + (tx * 2)[:, 2].sum()
    y.backward(retain_graph=True)
    y.backward()
    ty.backward(retain_graph=True)
    ty.backward()
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy())


def test_slice_of_float64_leaf_keeps_dtype():
    x = gs.zeros(5, dtype=gs.float64, requires_grad=True)
    (x[1:3] * 2).sum().backward()
    assert x.grad.dtype == gs.float64
    np.testing.assert_array_equal(x.grad.numpy(), [0, 2, 2, 0, 0])
