"""softmax and log_softmax against PyTorch (values, gradients) and finite differences."""
import numpy as np
import pytest

import gradstep as gs
from tests.oracle import check

CASES = [((3, 5), 1), ((3, 5), 0), ((3, 5), -1), ((2, 3, 4), 1), ((2, 3, 4), -3), ((7,), 0), ((4, 1), 1),
         ((0, 3), 1), ((3, 0), 1), ((), 0)]


@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
@pytest.mark.parametrize("shape,dim", CASES, ids=str)
def test_softmax(name, shape, dim, torch, rng):
    a = (rng.standard_normal(shape) * 3).astype(np.float32)
    check(lambda x: getattr(gs, name)(x, dim), lambda x: getattr(torch, name)(x, dim), [a], torch=torch)
    check(lambda x: getattr(x, name)(dim), lambda x: getattr(x, name)(dim), [a], torch=torch, gradcheck=False)


@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
def test_large_logits_stay_finite(name, torch):
    a = np.array([[1e4, -1e4, 0.0, 1e4 - 3], [-1e4, -1e4 + 1, -1e4 + 2, -1e4], [1e4, 1e4, 1e4, 1e4]], np.float32)
    out = check(lambda x: getattr(gs, name)(x, 1), lambda x: getattr(torch, name)(x, 1), [a], torch=torch, gradcheck=False)
    assert np.isfinite(out.detach().numpy()).all()
    x = gs.tensor(a, requires_grad=True)
    getattr(gs, name)(x, -1).sum().backward()
    assert np.isfinite(x.grad.numpy()).all()


def test_functional_matches_torch_nn_functional(torch, rng):
    a = rng.standard_normal((4, 6)).astype(np.float32)
    F = torch.nn.functional
    check(lambda x: gs.log_softmax(x, dim=1), lambda x: F.log_softmax(x, dim=1), [a], torch=torch, gradcheck=False)
    check(lambda x: gs.softmax(x, dim=0), lambda x: F.softmax(x, dim=0), [a], torch=torch, gradcheck=False)


@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
def test_dtype_argument(name, torch, rng):
    a = rng.standard_normal((3, 4)).astype(np.float32)
    check(lambda x: getattr(gs, name)(x, 1, dtype=gs.float64), lambda x: getattr(torch, name)(x, 1, dtype=torch.float64),
          [a], torch=torch, gradcheck=False)
    ints = np.arange(6).reshape(2, 3)
    got = getattr(gs, name)(gs.tensor(ints), -1, dtype=gs.float32)
    want = getattr(torch, name)(torch.tensor(ints), -1, dtype=torch.float32)
    assert got.dtype == gs.float32
    np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-6, atol=1e-7)


def test_default_dim_is_last(rng):
    a = gs.tensor(rng.standard_normal((2, 3, 4)).astype(np.float32))
    np.testing.assert_array_equal(gs.softmax(a).numpy(), gs.softmax(a, -1).numpy())
    np.testing.assert_array_equal(a.log_softmax().numpy(), a.log_softmax(2).numpy())


def test_float32_stays_float32():
    x = gs.randn(3, 4, requires_grad=True)
    for f in (gs.softmax, gs.log_softmax):
        y = f(x, 1)
        assert y.dtype == gs.float32
        (y * gs.randn(3, 4)).sum().backward()
        assert x.grad.dtype == gs.float32
        x.grad = None


def test_errors():
    with pytest.raises(gs.DTypeError, match=r"softmax: expected a floating point tensor, got dtype int64"):
        gs.softmax(gs.tensor([1, 2, 3]), 0)
    with pytest.raises(IndexError, match=r"log_softmax: dim 2 is out of range for a tensor of 2 dimension"):
        gs.log_softmax(gs.ones(2, 3), 2)


@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
def test_changing_the_output_in_place_is_caught(name):
    x = gs.randn(3, 4, requires_grad=True)
    y = getattr(x, name)(1)
    y *= 2
    with pytest.raises(gs.GradError, match=r"its output was modified by an in-place operation"):
        y.sum().backward()
