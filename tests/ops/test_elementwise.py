"""Elementwise ops against PyTorch (values, gradients) and finite differences."""
import numpy as np
import pytest

import gradstep as gs
from tests.oracle import check

SHAPES = [((3, 4), (3, 4)), ((2, 3, 4), (4,)), ((5, 1), (1, 6)), ((), (3,)), ((0, 3), (3,)), ((4, 1, 3), (2, 1))]

BINARY = {
    "add": (lambda a, b: a + b, None),
    "sub": (lambda a, b: a - b, None),
    "mul": (lambda a, b: a * b, None),
    "div": (lambda a, b: a / b, "nonzero_b"),
    "pow": (lambda a, b: a ** b, "positive_a"),
    "maximum": (lambda a, b: gs.maximum(a, b) if isinstance(a, gs.Tensor) else __import__("torch").maximum(a, b), None),
    "minimum": (lambda a, b: gs.minimum(a, b) if isinstance(a, gs.Tensor) else __import__("torch").minimum(a, b), None),
}


def _inputs(rng, sa, sb, kind, dtype=np.float32):
    a = rng.standard_normal(sa).astype(dtype)
    b = rng.standard_normal(sb).astype(dtype)
    if kind == "nonzero_b":
        b = np.where(np.abs(b) < 0.3, 0.5, b).astype(dtype)
    if kind == "positive_a":
        a = (np.abs(a) + 0.5).astype(dtype)
    return a, b


@pytest.mark.parametrize("name", list(BINARY))
@pytest.mark.parametrize("shapes", SHAPES, ids=str)
def test_binary(name, shapes, torch, rng):
    fn, kind = BINARY[name]
    a, b = _inputs(rng, *shapes, kind)
    check(fn, fn, [a, b], torch=torch)


UNARY = {
    "neg": ("neg", None, {}),
    "exp": ("exp", None, {}),
    "log": ("log", "positive", {}),
    "sqrt": ("sqrt", "positive", {}),
    "rsqrt": ("rsqrt", "positive", {}),
    "abs": ("abs", "nonzero", {}),
    "sin": ("sin", None, {}),
    "cos": ("cos", None, {}),
    "tanh": ("tanh", None, {}),
    "sigmoid": ("sigmoid", None, {}),
    "relu": ("relu", "nonzero", {}),
    "clamp": ("clamp", "nonzero", dict(min=-0.5, max=0.7)),
    "clamp_min": ("clamp", "nonzero", dict(min=-0.2)),
}


@pytest.mark.parametrize("name", list(UNARY))
@pytest.mark.parametrize("shape", [(7,), (3, 4), (2, 0, 3), ()], ids=str)
def test_unary(name, shape, torch, rng):
    method, kind, kw = UNARY[name]
    a = rng.standard_normal(shape).astype(np.float32)
    if kind == "positive":
        a = np.abs(a) + 0.2
    if kind == "nonzero":  # keep clear of kinks, where finite differences disagree
        a = np.where(np.abs(a) < 0.05, 0.3, a)
        for edge in kw.values():
            a = np.where(np.abs(a - edge) < 0.02, edge + 0.1, a)
    a = a.astype(np.float32)
    check(lambda x: getattr(x, method)(**kw), lambda x: getattr(x, method)(**kw), [a], torch=torch)


ACTIVATIONS = {
    "gelu": (lambda x: gs.gelu(x), "gelu", {}),
    "gelu_tanh": (lambda x: gs.gelu(x, approximate="tanh"), "gelu", dict(approximate="tanh")),
    "silu": (gs.silu, "silu", {}),
    "softplus": (gs.softplus, "softplus", {}),
    "softplus_beta": (lambda x: gs.softplus(x, beta=2.0, threshold=3.0), "softplus", dict(beta=2.0, threshold=3.0)),
    "leaky_relu": (lambda x: gs.leaky_relu(x, 0.2), "leaky_relu", dict(negative_slope=0.2)),
}


@pytest.mark.parametrize("name", list(ACTIVATIONS))
def test_activations(name, torch, rng):
    gs_fn, tname, kw = ACTIVATIONS[name]
    a = (rng.standard_normal((4, 5)) * 3).astype(np.float32)
    a = np.where(np.abs(a) < 0.05, 0.3, a).astype(np.float32)
    tfn = getattr(torch.nn.functional, tname)
    check(gs_fn, lambda x: tfn(x, **kw), [a], torch=torch)


def test_where(torch, rng):
    cond = rng.standard_normal((3, 4)) > 0
    a = rng.standard_normal((3, 4)).astype(np.float32)
    b = rng.standard_normal((4,)).astype(np.float32)
    check(lambda c, x, y: gs.where(c, x, y), lambda c, x, y: torch.where(c, x, y), [cond, a, b], torch=torch)


def test_maximum_ties_split_gradient(torch):
    a = np.array([1.0, 2.0, 3.0], np.float32)
    check(gs.maximum, torch.maximum, [a, a.copy()], torch=torch, gradcheck=False)


@pytest.mark.parametrize("a,b", [(2, 3), (2, 2.5), (True, 2), (2.5, 1.0)])
def test_dtype_promotion_with_python_scalars(a, b, torch):
    for lhs in (gs.tensor([a]), ):
        got = (lhs * b).dtype
        want = (torch.tensor([a]) * b).dtype
        assert str(got) == str(want).replace("torch.", "")
    assert gs.tensor([1, 2]).__truediv__(gs.tensor([2, 4])).dtype == gs.float32
    f32 = gs.randn(3)
    assert (f32 * 2.5).dtype == gs.float32
    assert (f32 + gs.tensor(1.0, dtype=gs.float64)).dtype == gs.float32  # 0-d tensors don't upcast
    assert (f32 + gs.ones(3, dtype=gs.float64)).dtype == gs.float64


def test_float32_stays_float32():
    x = gs.randn(3, 4, requires_grad=True)
    for f in (gs.exp, gs.tanh, gs.sigmoid, gs.gelu, gs.silu, gs.softplus, lambda t: t ** 2, lambda t: 1.5 / (t.abs() + 1)):
        y = f(x)
        assert y.dtype == gs.float32
        y.sum().backward()
        assert x.grad.dtype == gs.float32
        x.grad = None


def test_broadcast_error_names_op_and_shapes():
    with pytest.raises(gs.ShapeError, match=r"mul: shapes \(2, 3\) and \(4,\) can't be broadcast"):
        gs.ones(2, 3) * gs.ones(4)
    with pytest.raises(ValueError):  # ShapeError is a ValueError
        gs.ones(2, 3) + gs.ones(2)
