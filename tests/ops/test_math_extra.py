"""Rounding, log/exp variants, trigonometric and hyperbolic functions, remainder/fmod, lerp,
logaddexp, hypot, atan2, xlogy, clamp_min/max, nan_to_num, addcmul/addcdiv against PyTorch."""
import numpy as np
import pytest

import gradstep as gs
from tests.oracle import check

# name -> how to draw inputs the function is smooth on
UNARY = {
    "log1p": "gt_minus_one", "expm1": None, "log2": "positive", "log10": "positive", "exp2": None,
    "erf": None, "erfc": None, "tan": "small", "atan": None, "arctan": None, "asin": "unit", "arcsin": "unit",
    "acos": "unit", "arccos": "unit", "sinh": None, "cosh": None, "asinh": None, "acosh": "gt_one",
    "atanh": "unit", "reciprocal": "nonzero", "logit": "prob", "deg2rad": None, "rad2deg": None,
}


def _draw(rng, shape, kind):
    a = rng.standard_normal(shape)
    if kind == "positive":
        a = np.abs(a) + 0.2
    elif kind == "gt_minus_one":
        a = np.abs(a) - 0.5
    elif kind == "gt_one":
        a = np.abs(a) + 1.2
    elif kind in ("unit", "prob"):
        a = rng.uniform(0.1, 0.9, shape) if kind == "prob" else rng.uniform(-0.8, 0.8, shape)
    elif kind == "small":
        a = rng.uniform(-1.2, 1.2, shape)
    elif kind == "nonzero":
        a = np.where(np.abs(a) < 0.3, 0.5, a)
    return a.astype(np.float32)


@pytest.mark.parametrize("name", list(UNARY))
@pytest.mark.parametrize("shape", [(7,), (3, 4), (2, 0, 3), ()], ids=str)
def test_unary(name, shape, torch, rng):
    a = _draw(rng, shape, UNARY[name])
    check(getattr(gs, name), getattr(torch, name), [a], torch=torch, rtol=1e-4)
    check(lambda x: getattr(x, name)(), lambda x: getattr(x, name)(), [a], torch=torch, gradcheck=False, rtol=1e-4)


@pytest.mark.parametrize("name", ["log1p", "exp2", "erf", "atan", "reciprocal", "sinh"])
def test_unary_int_inputs_give_float32(name, torch):
    data = [1, 2, 3]
    got, want = getattr(gs, name)(gs.tensor(data)), getattr(torch, name)(torch.tensor(data))
    assert got.dtype == gs.float32 and str(want.dtype) == "torch.float32"
    np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-5)


def test_logit_eps(torch, rng):
    a = rng.uniform(-0.2, 1.2, (10,)).astype(np.float32)
    a = np.where(np.abs(a - 0.05) < 0.01, 0.2, a)
    a = np.where(np.abs(a - 0.95) < 0.01, 0.6, a).astype(np.float32)
    check(lambda x: gs.logit(x, eps=0.05), lambda x: torch.logit(x, eps=0.05), [a], torch=torch, rtol=1e-4)


@pytest.mark.parametrize("name", ["floor", "ceil", "round", "trunc", "fix", "frac"])
@pytest.mark.parametrize("shape", [(7,), (3, 4), ()], ids=str)
def test_rounding(name, shape, torch, rng):
    a = (rng.standard_normal(shape) * 3).astype(np.float32)
    a = np.where(np.abs(a - np.round(a)) < 0.05, a + 0.2, a).astype(np.float32)  # keep away from the steps
    check(getattr(gs, name), getattr(torch, name), [a], torch=torch, gradcheck=name == "frac")


def test_round_decimals_and_half_even(torch):
    a = np.array([1.25, -2.5, 3.75, 2.5, 0.5, -0.5, 1234.5], np.float32)
    for d in (0, 1, -2):
        check(lambda x: gs.round(x, decimals=d), lambda x: torch.round(x, decimals=d), [a], torch=torch, gradcheck=False)


def test_rounding_keeps_ints(torch):
    for name in ("floor", "ceil", "round", "trunc"):
        got = getattr(gs, name)(gs.tensor([1, -2]))
        assert got.dtype == gs.int64 and got.tolist() == [1, -2]


BINARY = {
    "atan2": (lambda m: m.atan2, None),
    "remainder": (lambda m: m.remainder, "away_from_steps"),
    "fmod": (lambda m: m.fmod, "away_from_steps"),
    "hypot": (lambda m: m.hypot, None),
    "logaddexp": (lambda m: m.logaddexp, None),
    "logaddexp2": (lambda m: m.logaddexp2, None),
    "xlogy": (lambda m: m.xlogy, "positive_b"),
}


@pytest.mark.parametrize("name", list(BINARY))
@pytest.mark.parametrize("sa,sb", [((3, 4), (3, 4)), ((2, 3, 4), (4,)), ((5, 1), (1, 6)), ((), (3,))], ids=str)
def test_binary(name, sa, sb, torch, rng):
    fn, kind = BINARY[name]
    a = (rng.standard_normal(sa) * 3).astype(np.float32)
    b = rng.standard_normal(sb).astype(np.float32)
    if kind == "away_from_steps":
        b = np.where(np.abs(b) < 0.5, 1.3, b).astype(np.float32)
        q = a / np.broadcast_to(b, np.broadcast_shapes(a.shape, b.shape))[tuple(slice(0, n) for n in a.shape)] if a.shape else a
        a = np.where(np.abs(q - np.round(q)) < 0.05, a + 0.1, a).astype(np.float32)
    if kind == "positive_b":
        b = (np.abs(b) + 0.2).astype(np.float32)
    check(fn(gs), fn(torch), [a, b], torch=torch, rtol=1e-4)


def test_remainder_fmod_signs_scalars_and_ints(torch):
    a = [5.0, -5.0, 5.5, -5.5]
    for op in ("remainder", "fmod"):
        for other in (3, -3, 2.5):
            got = getattr(gs, op)(gs.tensor(a), other)
            want = getattr(torch, op)(torch.tensor(a), other)
            np.testing.assert_allclose(got.numpy(), want.numpy())
        got = getattr(gs, op)(gs.tensor([5, -5]), 3)
        want = getattr(torch, op)(torch.tensor([5, -5]), 3)
        assert got.dtype == gs.int64 and got.tolist() == want.tolist()
    assert gs.remainder(gs.tensor([5, -5]), 2.5).dtype == gs.float32


@pytest.mark.parametrize("weight_kind", ["scalar", "tensor"])
def test_lerp(weight_kind, torch, rng):
    a, b = rng.standard_normal((3, 4)).astype(np.float32), rng.standard_normal((4,)).astype(np.float32)
    if weight_kind == "scalar":
        for w in (0.3, 0.8):
            check(lambda x, y: gs.lerp(x, y, w), lambda x, y: torch.lerp(x, y, w), [a, b], torch=torch)
    else:
        w = rng.uniform(0, 1, (3, 1)).astype(np.float32)
        check(gs.lerp, torch.lerp, [a, b, w], torch=torch)


def test_clamp_min_max_and_nan_to_num(torch, rng):
    a = rng.standard_normal((3, 4)).astype(np.float32)
    a = np.where(np.abs(a - 0.1) < 0.05, 0.5, a).astype(np.float32)
    check(lambda x: gs.clamp_min(x, 0.1), lambda x: torch.clamp_min(x, 0.1), [a], torch=torch)
    check(lambda x: x.clamp_max(0.1), lambda x: x.clamp_max(0.1), [a], torch=torch)
    b = np.array([[np.nan, np.inf, -np.inf, 1.5], [2.0, -1.0, np.nan, 0.0]], np.float32)
    check(gs.nan_to_num, torch.nan_to_num, [b], torch=torch, gradcheck=False)
    check(lambda x: gs.nan_to_num(x, nan=1.0, posinf=9.0, neginf=-9.0),
          lambda x: torch.nan_to_num(x, nan=1.0, posinf=9.0, neginf=-9.0), [b], torch=torch, gradcheck=False)


def test_addcmul_addcdiv(torch, rng):
    a, b, c = (rng.standard_normal((3, 4)).astype(np.float32) for _ in range(3))
    c = np.where(np.abs(c) < 0.3, 0.7, c).astype(np.float32)
    check(lambda x, y, z: gs.addcmul(x, y, z, value=0.5), lambda x, y, z: torch.addcmul(x, y, z, value=0.5), [a, b, c], torch=torch)
    check(lambda x, y, z: x.addcdiv(y, z, value=-2), lambda x, y, z: x.addcdiv(y, z, value=-2), [a, b, c], torch=torch)


def test_float32_stays_float32():
    x = (gs.rand(3, 4) * 0.5 + 0.2).requires_grad_()
    for f in (gs.log1p, gs.expm1, gs.erf, gs.erfc, gs.atanh, gs.reciprocal, gs.floor, gs.frac, gs.logit,
              lambda t: gs.lerp(t, t * 2, 0.3), lambda t: gs.logaddexp(t, t), lambda t: gs.remainder(t, 0.3)):
        y = f(x)
        assert y.dtype == gs.float32
        y.sum().backward()
        assert x.grad.dtype == gs.float32
        x.grad = None


def test_errors():
    with pytest.raises(gs.DTypeError, match=r"frac: expected a floating point tensor, got dtype int64"):
        gs.frac(gs.tensor([1, 2]))
    with pytest.raises(gs.DTypeError, match=r"logaddexp: expected floating point tensors, got dtype int64"):
        gs.logaddexp(gs.tensor([1]), gs.tensor([2]))
    with pytest.raises(gs.ShapeError, match=r"atan2: shapes \(2,\) and \(3,\) can't be broadcast"):
        gs.atan2(gs.ones(2), gs.ones(3))
    with pytest.raises(ZeroDivisionError, match=r"remainder: integer division by zero"):
        gs.remainder(gs.tensor([1, 2]), 0)
    with pytest.raises(gs.DTypeError, match=r"lerp: weight has dtype float64 but input has dtype float32"):
        gs.lerp(gs.ones(2), gs.ones(2), gs.ones(2, dtype=gs.float64))
    with pytest.raises(gs.DTypeError, match=r"round: decimals must be an int"):
        gs.round(gs.ones(2), decimals=1.5)
