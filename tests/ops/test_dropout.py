"""dropout and channel dropout: statistics, scaling, determinism, gradients, evaluation mode, errors."""
import numpy as np
import pytest

import gradstep as gs


@pytest.mark.parametrize("p", [0.1, 0.5, 0.8])
def test_dropout_statistics_and_scaling(p):
    gs.manual_seed(0)
    x = gs.ones(200, 500)
    y = gs.dropout(x, p).numpy()
    zeroed = (y == 0).mean()
    assert abs(zeroed - p) < 0.01
    kept = y[y != 0]
    np.testing.assert_allclose(kept, 1 / (1 - p), rtol=1e-6)
    assert abs(y.mean() - 1.0) < 0.03  # the scaling keeps the expectation
    assert y.dtype == np.float32


def test_dropout_deterministic_under_manual_seed():
    x = gs.randn(8, 16)
    gs.manual_seed(123)
    a = gs.dropout(x, 0.4).numpy()
    b = gs.dropout(x, 0.4).numpy()
    gs.manual_seed(123)
    c = gs.dropout(x, 0.4).numpy()
    np.testing.assert_array_equal(a, c)
    assert not np.array_equal(a, b)


@pytest.mark.parametrize("dtype", [gs.float32, gs.float64])
def test_dropout_gradient_is_mask_times_scale(dtype):
    gs.manual_seed(7)
    x = gs.randn(6, 7, dtype=dtype, requires_grad=True)
    y = gs.dropout(x, 0.3)
    g = np.random.default_rng(0).standard_normal((6, 7)).astype(dtype)
    y.backward(gs.tensor(g))
    kept = y.detach().numpy() != 0
    want = np.where(kept, g / 0.7, 0)
    assert x.grad.dtype == dtype
    np.testing.assert_allclose(x.grad.numpy(), want, rtol=1e-6)
    # and the output is the input, masked and scaled
    np.testing.assert_allclose(y.detach().numpy(), np.where(kept, x.detach().numpy() / 0.7, 0), rtol=1e-6)


def test_dropout_eval_and_p0_pass_through():
    x = gs.randn(3, 4, requires_grad=True)
    assert gs.dropout(x, 0.5, training=False) is x
    assert gs.dropout(x, 0.0) is x
    assert gs.dropout2d(gs.randn(2, 3, 4, 4), 0.5, training=False).shape == (2, 3, 4, 4)


def test_dropout_p1_zeroes_everything():
    x = gs.randn(4, 5, requires_grad=True)
    y = gs.dropout(x, 1.0)
    assert not y.detach().numpy().any()
    y.sum().backward()
    assert not x.grad.numpy().any()


def test_dropout_inplace():
    gs.manual_seed(3)
    x = gs.ones(50, 50)
    y = gs.dropout(x, 0.5, inplace=True)
    assert y is x
    assert set(np.unique(x.numpy())) == {0.0, 2.0}
    leaf = gs.randn(3, requires_grad=True)
    with pytest.raises(gs.GradError, match="in-place operation on a leaf"):
        gs.dropout(leaf, 0.5, inplace=True)
    # non-leaf in place keeps the gradient right
    w = gs.randn(20, requires_grad=True)
    h = w * 1.0
    gs.dropout(h, 0.5, inplace=True)
    h.backward(gs.ones(20))
    np.testing.assert_allclose(w.grad.numpy(), np.where(h.detach().numpy() != 0, 2.0, 0.0))


@pytest.mark.parametrize("fn,shape,spatial", [
    (gs.dropout1d, (8, 10, 7), 1), (gs.dropout1d, (10, 7), 1),
    (gs.dropout2d, (8, 10, 3, 4), 2), (gs.dropout2d, (10, 3, 4), 1),
    (gs.dropout3d, (4, 10, 2, 3, 2), 3), (gs.dropout3d, (10, 2, 3, 2), 3),
])
def test_channel_dropout_drops_whole_channels(fn, shape, spatial):
    gs.manual_seed(1)
    x = gs.ones(*shape, requires_grad=True)
    y = fn(x, 0.5)
    out = y.detach().numpy()
    per_channel = out.reshape(out.shape[: len(shape) - spatial] + (-1,))
    assert (per_channel.min(-1) == per_channel.max(-1)).all()  # constant over each channel
    assert set(np.unique(out)) <= {0.0, 2.0} and (out == 0).any() and (out == 2).any()
    y.backward(gs.ones(*shape))
    np.testing.assert_array_equal(x.grad.numpy(), out)


def test_dropout_errors():
    x = gs.randn(3)
    for p in (-0.1, 1.5):
        with pytest.raises(ValueError, match=f"dropout: dropout probability has to be between 0 and 1, but got {p}"):
            gs.dropout(x, p)
    with pytest.raises(ValueError, match="dropout2d: dropout probability"):
        gs.dropout2d(gs.randn(2, 3, 4, 4), 2.0)
    with pytest.raises(gs.ShapeError, match=r"dropout1d: expected an input of 2 dims \(C, \*\) or 3 dims \(N, C, \*\), got shape \(2, 3, 4, 5\)"):
        gs.dropout1d(gs.randn(2, 3, 4, 5))
    with pytest.raises(gs.DTypeError, match="dropout.*int64"):
        gs.dropout(gs.tensor([1, 2, 3]), 0.5)
