"""Gradient clipping and parameter/vector conversion against torch.nn.utils."""
import math

import numpy as np
import pytest

import gradstep as gs
from gradstep.nn.utils import (clip_grad_norm_, clip_grad_value_, get_total_norm, parameters_to_vector,
                               vector_to_parameters)

SHAPES = [(3, 4), (5,), (), (2, 0), (2, 3, 2)]


def _params(torch, seed=0, scale=1.0, shapes=SHAPES, missing=()):
    rng = np.random.default_rng(seed)
    gp, tp = [], []
    for i, shape in enumerate(shapes):
        value = rng.standard_normal(shape).astype(np.float32)
        grad = (scale * rng.standard_normal(shape)).astype(np.float32)
        g, t = gs.tensor(value, requires_grad=True), torch.tensor(value, requires_grad=True)
        if i not in missing:
            g.grad, t.grad = gs.tensor(grad), torch.tensor(grad)
        gp.append(g)
        tp.append(t)
    return gp, tp


def _compare_grads(gp, tp):
    for a, b in zip(gp, tp):
        if b.grad is None:
            assert a.grad is None
            continue
        assert a.grad.dtype == np.float32
        np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("norm_type", [2.0, 1.0, float("inf"), 3.0, 0.5])
@pytest.mark.parametrize("max_norm,scale", [(1.0, 1.0), (100.0, 1.0), (0.5, 10.0), (2.0, 1e-3)])
def test_clip_grad_norm(norm_type, max_norm, scale, torch):
    # torch refuses the inf norm of an empty tensor (gradstep skips it)
    shapes = [s for s in SHAPES if 0 not in s] if math.isinf(norm_type) else SHAPES
    gp, tp = _params(torch, scale=scale, shapes=shapes, missing=(1,))
    got = clip_grad_norm_(gp, max_norm, norm_type=norm_type)
    want = torch.nn.utils.clip_grad_norm_(tp, max_norm, norm_type=norm_type)
    assert isinstance(got, gs.Tensor) and got.shape == () and got.dtype == np.float32
    np.testing.assert_allclose(float(got), float(want), rtol=1e-5)
    _compare_grads(gp, tp)


def test_clip_grad_norm_single_tensor_and_generator(torch):
    gp, tp = _params(torch, shapes=[(4, 3)])
    got = clip_grad_norm_(gp[0], 0.1)
    want = torch.nn.utils.clip_grad_norm_(tp[0], 0.1)
    np.testing.assert_allclose(float(got), float(want), rtol=1e-6)
    _compare_grads(gp, tp)
    gp, tp = _params(torch, seed=1)
    got = clip_grad_norm_((p for p in gp), 0.3)
    want = torch.nn.utils.clip_grad_norm_((p for p in tp), 0.3)
    np.testing.assert_allclose(float(got), float(want), rtol=1e-6)
    _compare_grads(gp, tp)


def test_clip_grad_norm_no_grads(torch):
    gp, _ = _params(torch, missing=range(len(SHAPES)))
    assert float(clip_grad_norm_(gp, 1.0)) == 0.0


def test_clip_grad_norm_nonfinite(torch):
    gp, tp = _params(torch)
    gp[0].grad.numpy()[0, 0] = np.inf
    tp[0].grad[0, 0] = float("inf")
    with pytest.raises(gs.GradError, match="non-finite.*error_if_nonfinite=False"):
        clip_grad_norm_(gp, 1.0, error_if_nonfinite=True)
    assert isinstance(gs.GradError("x"), RuntimeError)
    got = clip_grad_norm_(gp, 1.0)
    want = torch.nn.utils.clip_grad_norm_(tp, 1.0)
    assert math.isinf(float(got)) and math.isinf(float(want))
    for a, b in zip(gp, tp):
        np.testing.assert_array_equal(a.grad.numpy(), b.grad.numpy())


def test_get_total_norm(torch):
    gp, tp = _params(torch, seed=2, shapes=[(3, 4), (5,), ()])
    grads_g = [p.grad for p in gp]
    grads_t = [p.grad for p in tp]
    for norm_type in (2.0, 1.0, float("inf"), 4.0):
        np.testing.assert_allclose(float(get_total_norm(grads_g, norm_type)),
                                   float(torch.nn.utils.get_total_norm(grads_t, norm_type)), rtol=1e-5)


@pytest.mark.parametrize("clip_value", [0.1, 0.5, 10.0])
def test_clip_grad_value(clip_value, torch):
    gp, tp = _params(torch, missing=(2,))
    assert clip_grad_value_(gp, clip_value) is None
    torch.nn.utils.clip_grad_value_(tp, clip_value)
    _compare_grads(gp, tp)


def test_in_place(torch):
    """Clipping rewrites the existing gradient arrays (references held elsewhere see it)."""
    gp, _ = _params(torch, shapes=[(3,)])
    arr = gp[0].grad.numpy()
    clip_grad_norm_(gp, 1e-3)
    assert gp[0].grad.numpy() is arr and np.linalg.norm(arr) <= 1e-3 * (1 + 1e-5)
    clip_grad_value_(gp, 1e-5)
    assert gp[0].grad.numpy() is arr and np.abs(arr).max() <= 1e-5


def test_parameters_vector_round_trip(torch):
    gp, tp = _params(torch, seed=3)
    vec = parameters_to_vector(gp)
    np.testing.assert_array_equal(vec.numpy(), torch.nn.utils.parameters_to_vector(tp).detach().numpy())
    new = gs.tensor(np.arange(vec.shape[0], dtype=np.float32))
    vector_to_parameters(new, gp)
    torch.nn.utils.vector_to_parameters(torch.tensor(new.numpy()), tp)
    for a, b in zip(gp, tp):
        np.testing.assert_array_equal(a.numpy(force=True), b.detach().numpy())


@pytest.mark.parametrize("call,exc,words", [
    (lambda ps: clip_grad_norm_(ps, "1.0"), TypeError, ["max_norm", "'1.0'"]),
    (lambda ps: clip_grad_norm_(ps, 1.0, norm_type=None), TypeError, ["norm_type", "None"]),
    (lambda ps: clip_grad_value_(ps, [1.0]), TypeError, ["clip_value", "list"]),
    (lambda ps: vector_to_parameters(gs.zeros(3), ps), gs.ShapeError, ["(3,)", "expected shape (30,)"]),
    (lambda ps: vector_to_parameters(np.zeros(30), ps), TypeError, ["Tensor", "ndarray"]),
])
def test_errors(call, exc, words, torch):
    gp, _ = _params(torch)
    with pytest.raises(exc) as info:
        call(gp)
    for word in words:
        assert word in str(info.value), (word, str(info.value))
