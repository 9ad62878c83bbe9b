"""layer_norm, batch_norm and group_norm against PyTorch (values, gradients) and finite differences."""
import numpy as np
import pytest

import gradstep as gs
from tests.oracle import check


def _arrays(rng, *shapes):
    return [rng.standard_normal(s).astype(np.float32) for s in shapes]


# ------------------------------------------------------------------ layer_norm
LAYER_NORM = [
    ((4, 6), (6,)),
    ((2, 3, 4, 5), (4, 5)),
    ((7,), (7,)),
    ((2, 3, 4), (2, 3, 4)),
    ((0, 5), (5,)),
    ((3, 1), (1,)),
]


@pytest.mark.parametrize("shape,normalized", LAYER_NORM, ids=str)
@pytest.mark.parametrize("affine", ["both", "weight", "bias", "none"])
def test_layer_norm(shape, normalized, affine, torch, rng):
    x, w, b = _arrays(rng, shape, normalized, normalized)
    F = torch.nn.functional
    arrays = [x] + ([w] if affine in ("both", "weight") else []) + ([b] if affine in ("both", "bias") else [])

    def call(lib, xs, *params):
        w_ = params[0] if affine in ("both", "weight") else None
        b_ = params[-1] if affine in ("both", "bias") else None
        return lib(xs, normalized, w_, b_, eps=1e-5)

    check(lambda *a: call(gs.layer_norm, *a), lambda *a: call(F.layer_norm, *a), arrays, torch=torch,
          atol=2e-5, rtol=1e-4)


def test_layer_norm_int_normalized_shape_and_grad_subsets(torch, rng):
    x, w, b = _arrays(rng, (3, 8), (8,), (8,))
    F = torch.nn.functional
    check(lambda x_, w_, b_: gs.layer_norm(x_, 8, w_, b_), lambda x_, w_, b_: F.layer_norm(x_, (8,), w_, b_),
          [x, w, b], torch=torch, grad=[False, True, True], atol=2e-5)
    check(lambda x_, w_, b_: gs.layer_norm(x_, 8, w_, b_), lambda x_, w_, b_: F.layer_norm(x_, (8,), w_, b_),
          [x, w, b], torch=torch, grad=[True, False, False], atol=2e-5)


def test_layer_norm_float32_and_large_values(torch, rng):
    x = (rng.standard_normal((4, 16)) * 1e3 + 5e3).astype(np.float32)
    y = gs.layer_norm(gs.tensor(x), (16,))
    assert y.dtype == gs.float32
    want = torch.nn.functional.layer_norm(torch.tensor(x), (16,)).numpy()
    np.testing.assert_allclose(y.numpy(), want, atol=1e-4)


def test_layer_norm_under_no_grad(torch, rng):
    x, w, b = _arrays(rng, (3, 8), (8,), (8,))
    with gs.no_grad():
        y = gs.layer_norm(gs.tensor(x), 8, gs.tensor(w, requires_grad=True), gs.tensor(b))
    assert not y.requires_grad
    want = torch.nn.functional.layer_norm(torch.tensor(x), (8,), torch.tensor(w), torch.tensor(b)).numpy()
    np.testing.assert_allclose(y.numpy(), want, atol=1e-5)


def test_layer_norm_errors():
    x = gs.randn(2, 3, 4)
    with pytest.raises(gs.ShapeError, match=r"layer_norm: input of shape \(2, 3, 4\).*normalized_shape \(3,\)"):
        gs.layer_norm(x, (3,))
    with pytest.raises(gs.ShapeError, match=r"layer_norm: weight must have shape \(4,\).*got \(3,\)"):
        gs.layer_norm(x, (4,), gs.ones(3))
    with pytest.raises(gs.DTypeError, match="layer_norm.*int64"):
        gs.layer_norm(gs.tensor([[1, 2]]), (2,))


# ------------------------------------------------------------------ batch_norm
BN_SHAPES = [(5, 3), (4, 3, 6), (2, 3, 4, 5), (3, 2, 2, 2, 2)]


@pytest.mark.parametrize("shape", BN_SHAPES, ids=str)
@pytest.mark.parametrize("affine", [True, False])
def test_batch_norm_training(shape, affine, torch, rng):
    C = shape[1]
    x, w, b = _arrays(rng, shape, (C,), (C,))
    F = torch.nn.functional
    arrays = [x, w, b] if affine else [x]

    def gs_fn(x_, *p):
        rm, rv = gs.zeros(C), gs.ones(C)
        return gs.batch_norm(x_, rm, rv, *p, training=True, momentum=0.2)

    def t_fn(x_, *p):
        return F.batch_norm(x_, torch.zeros(C), torch.ones(C), *p, training=True, momentum=0.2)

    check(gs_fn, t_fn, arrays, torch=torch, atol=3e-5, rtol=1e-4)


@pytest.mark.parametrize("shape", BN_SHAPES, ids=str)
def test_batch_norm_running_stats(shape, torch, rng):
    C = shape[1]
    x = (rng.standard_normal(shape) * 2 + 1).astype(np.float32)
    rm0 = rng.standard_normal(C).astype(np.float32)
    rv0 = (rng.random(C) + 0.5).astype(np.float32)
    g_rm, g_rv = gs.tensor(rm0), gs.tensor(rv0)
    t_rm, t_rv = torch.tensor(rm0), torch.tensor(rv0)
    for step in range(3):
        xs = x + step
        gs.batch_norm(gs.tensor(xs), g_rm, g_rv, training=True, momentum=0.1)
        torch.nn.functional.batch_norm(torch.tensor(xs), t_rm, t_rv, training=True, momentum=0.1)
    assert g_rm.dtype == gs.float32 and g_rv.dtype == gs.float32
    np.testing.assert_allclose(g_rm.numpy(), t_rm.numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(g_rv.numpy(), t_rv.numpy(), rtol=1e-5, atol=1e-6)
    assert g_rm._version[0] == 3


@pytest.mark.parametrize("shape", BN_SHAPES, ids=str)
@pytest.mark.parametrize("affine", [True, False])
def test_batch_norm_eval(shape, affine, torch, rng):
    C = shape[1]
    x, w, b = _arrays(rng, shape, (C,), (C,))
    rm = rng.standard_normal(C).astype(np.float32)
    rv = (rng.random(C) + 0.5).astype(np.float32)
    F = torch.nn.functional
    arrays = [x, w, b] if affine else [x]
    check(lambda x_, *p: gs.batch_norm(x_, gs.tensor(rm), gs.tensor(rv), *p),
          lambda x_, *p: F.batch_norm(x_, torch.tensor(rm), torch.tensor(rv), *p), arrays, torch=torch)


def test_batch_norm_no_running_stats_in_training(torch, rng):
    x, w, b = _arrays(rng, (6, 4), (4,), (4,))
    F = torch.nn.functional
    check(lambda *a: gs.batch_norm(a[0], None, None, a[1], a[2], training=True),
          lambda *a: F.batch_norm(a[0], None, None, a[1], a[2], training=True), [x, w, b], torch=torch, atol=2e-5)


def test_batch_norm_errors():
    with pytest.raises(ValueError, match=r"more than 1 value per channel.*\(1, 3\)"):
        gs.batch_norm(gs.randn(1, 3), gs.zeros(3), gs.ones(3), training=True)
    with pytest.raises(ValueError, match="running_mean and running_var must be given"):
        gs.batch_norm(gs.randn(4, 3), None, None)
    with pytest.raises(gs.ShapeError, match=r"running_mean must have shape \(3,\).*got \(4,\)"):
        gs.batch_norm(gs.randn(4, 3), gs.zeros(4), gs.ones(3))
    with pytest.raises(gs.ShapeError, match=r"expected input of shape \(N, C\).*got \(3,\)"):
        gs.batch_norm(gs.randn(3), gs.zeros(3), gs.ones(3))
    with pytest.raises(gs.ShapeError, match=r"batch_norm: weight must have shape \(3,\)"):
        gs.batch_norm(gs.randn(4, 3), gs.zeros(3), gs.ones(3), gs.ones(2))


# ------------------------------------------------------------------ group_norm
@pytest.mark.parametrize("shape,groups", [((2, 6, 4), 3), ((2, 4, 3, 3), 2), ((3, 4), 1), ((2, 4, 5), 4),
                                          ((1, 6, 2, 2, 2), 2), ((0, 4, 3), 2)], ids=str)
@pytest.mark.parametrize("affine", [True, False])
def test_group_norm(shape, groups, affine, torch, rng):
    C = shape[1]
    x, w, b = _arrays(rng, shape, (C,), (C,))
    F = torch.nn.functional
    arrays = [x, w, b] if affine else [x]
    check(lambda x_, *p: gs.group_norm(x_, groups, *p), lambda x_, *p: F.group_norm(x_, groups, *p),
          arrays, torch=torch, atol=2e-5, rtol=1e-4)


def test_group_norm_errors():
    with pytest.raises(ValueError, match=r"C=6 of input \(2, 6, 4\) must be divisible by num_groups, got num_groups=4"):
        gs.group_norm(gs.randn(2, 6, 4), 4)
    with pytest.raises(gs.ShapeError, match=r"group_norm: bias must have shape \(6,\)"):
        gs.group_norm(gs.randn(2, 6, 4), 3, gs.ones(6), gs.ones(3))
