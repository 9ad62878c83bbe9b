"""The extra activations (gradstep/ops/activation_extra.py, gradstep/nn/activation_extra.py) against
PyTorch: values and gradients in float32 and float64, gradcheck, torch's kink conventions, NaN,
integer inputs, in-place forms, the modules (repr, PReLU's state_dict), RReLU's random slopes."""
import numpy as np
import pytest

import gradstep as gs
from gradstep import nn
from gradstep.errors import ArgumentTypeError, DTypeError, GradError, IndexOutOfRange, InvalidArgument, ShapeError
from gradstep.nn import functional as F
from tests.oracle import check


def _away(x, kinks, margin=0.05):
    """``x`` with the values within ``margin`` of a kink moved 0.1 above it (finite differences need smooth points)."""
    x = np.array(x)  # a copy, 0-d arrays included
    for k in kinks:
        near = np.abs(x - k) < margin
        x[near] = k + 0.1
    return x


# name: (call with (functional module, x), kinks, input scale)
UNARY = {
    "hardswish": (lambda f, x: f.hardswish(x), (-3, 3), 4.0),
    "hardsigmoid": (lambda f, x: f.hardsigmoid(x), (-3, 3), 4.0),
    "selu": (lambda f, x: f.selu(x), (0,), 2.0),
    "celu": (lambda f, x: f.celu(x), (0,), 2.0),
    "celu_alpha": (lambda f, x: f.celu(x, alpha=0.7), (0,), 2.0),
    "celu_negative_alpha": (lambda f, x: f.celu(x, -1.5), (0,), 2.0),
    "rrelu_eval": (lambda f, x: f.rrelu(x), (0,), 2.0),
    "rrelu_eval_bounds": (lambda f, x: f.rrelu(x, 0.1, 0.6, False), (0,), 2.0),
    "softsign": (lambda f, x: f.softsign(x), (), 3.0),
    "tanhshrink": (lambda f, x: f.tanhshrink(x), (), 2.0),
    "threshold": (lambda f, x: f.threshold(x, 0.1, 20.0), (0.1,), 2.0),
    "threshold_negative_value": (lambda f, x: f.threshold(x, -0.5, -3.0), (-0.5,), 2.0),
    "hardshrink": (lambda f, x: f.hardshrink(x), (-0.5, 0.5), 2.0),
    "hardshrink_lambd": (lambda f, x: f.hardshrink(x, lambd=1.2), (-1.2, 1.2), 2.0),
    "softshrink": (lambda f, x: f.softshrink(x), (-0.5, 0.5), 2.0),
    "softshrink_lambd": (lambda f, x: f.softshrink(x, 0.3), (-0.3, 0.3), 2.0),
    "logsigmoid": (lambda f, x: f.logsigmoid(x), (), 4.0),
}


def _unary_input(rng, name, shape, dtype):
    _, kinks, scale = UNARY[name]
    return _away((rng.standard_normal(shape) * scale).astype(dtype), kinks).astype(dtype)


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["float32", "float64"])
@pytest.mark.parametrize("shape", [(7,), (3, 4), (2, 0, 3), ()], ids=str)
@pytest.mark.parametrize("name", list(UNARY))
def test_unary_matches_torch(name, shape, dtype, torch, rng):
    call = UNARY[name][0]
    x = _unary_input(rng, name, shape, dtype)
    check(lambda t: call(F, t), lambda t: call(torch.nn.functional, t), [x], torch=torch)


@pytest.mark.parametrize("name", list(UNARY))
def test_unary_inputs_reach_both_sides_of_every_kink(name):
    """The (3, 4) inputs of the rows above (same seed as the ``rng`` fixture) lie on both sides of each
    kink, so every branch's value and slope is compared with torch."""
    x = _unary_input(np.random.default_rng(1234), name, (3, 4), np.float32)
    for k in UNARY[name][1]:
        assert (x < k).any() and (x > k).any(), (name, k, x)


def _like(x, values):
    """A constant tensor of ``x``'s library (gradstep or torch) and dtype."""
    return gs.tensor(np.asarray(values, dtype=x.dtype)) if isinstance(x, gs.Tensor) else x.new_tensor(values)


# Exactly at the kinks: torch decides which side's slope applies (and the sign of zero outputs).
KINKS = {
    "hardswish": (lambda f, x: f.hardswish(x), [-3.0, 3.0, 0.0, -3.5, 3.5]),
    "hardsigmoid": (lambda f, x: f.hardsigmoid(x), [-3.0, 3.0, 0.0, -3.5, 3.5]),
    "selu": (lambda f, x: f.selu(x), [0.0, -0.0]),
    "celu": (lambda f, x: f.celu(x, 2.0), [0.0, -0.0]),
    "rrelu_eval": (lambda f, x: f.rrelu(x), [0.0, -0.0]),
    "prelu": (lambda f, x: f.prelu(x, _like(x, [0.3])), [0.0, -0.0, -1.0]),
    "softsign": (lambda f, x: f.softsign(x), [0.0]),
    "threshold": (lambda f, x: f.threshold(x, 1.0, 3.0), [1.0, 0.5, 1.5]),
    "hardshrink": (lambda f, x: f.hardshrink(x), [0.5, -0.5, 0.0]),
    "softshrink": (lambda f, x: f.softshrink(x), [0.5, -0.5, 0.0]),
}


@pytest.mark.parametrize("name", list(KINKS))
def test_values_and_slopes_at_the_kinks_match_torch(name, torch):
    call, points = KINKS[name]
    x = np.array(points, dtype=np.float32)
    out = check(lambda t: call(F, t), lambda t: call(torch.nn.functional, t), [x], torch=torch, gradcheck=False)
    want = call(torch.nn.functional, torch.tensor(x)).numpy()
    np.testing.assert_array_equal(np.signbit(out.detach().numpy()), np.signbit(want))  # -0.0 where torch has it


@pytest.mark.parametrize("name", list(KINKS))
def test_nan_values_and_slopes_match_torch(name, torch):
    call = KINKS[name][0]
    x = np.array([np.nan, 2.0, -2.0], dtype=np.float32)
    check(lambda t: call(F, t), lambda t: call(torch.nn.functional, t), [x], torch=torch, gradcheck=False)


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["float32", "float64"])
@pytest.mark.parametrize("shape,dim", [((4,), -1), ((3, 6), -1), ((4, 3), 0), ((2, 4, 5), 1), ((2, 0, 4), 1)], ids=str)
def test_glu_matches_torch(shape, dim, dtype, torch, rng):
    x = (rng.standard_normal(shape) * 2).astype(dtype)
    check(lambda t: F.glu(t, dim), lambda t: torch.nn.functional.glu(t, dim), [x], torch=torch)


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["float32", "float64"])
@pytest.mark.parametrize("x_shape,w_shape", [
    ((2, 3, 4), (3,)), ((2, 3, 4), (1,)), ((2, 3, 4), ()), ((4, 3), (3,)), ((2, 3, 2, 2), (3,)),
    ((5,), (1,)), ((), (1,)), ((), ()), ((0, 3), (3,)),
], ids=str)
def test_prelu_matches_torch_for_input_and_weight(x_shape, w_shape, dtype, torch, rng):
    x = _away(rng.standard_normal(x_shape).astype(dtype), (0,)).astype(dtype)
    w = rng.uniform(0.05, 0.5, w_shape).astype(dtype)
    check(F.prelu, torch.nn.functional.prelu, [x, w], torch=torch)
    check(lambda a, b: a.prelu(b), lambda a, b: a.prelu(b), [x, w], torch=torch, gradcheck=False)


def test_prelu_weight_alone_gets_a_gradient(torch, rng):
    x = _away(rng.standard_normal((2, 3, 4)).astype(np.float32), (0,)).astype(np.float32)
    w = np.array([0.1, 0.2, 0.3], np.float32)
    check(F.prelu, torch.nn.functional.prelu, [x, w], torch=torch, grad=[False, True])


def test_top_level_and_method_forms_match_torch(torch, rng):
    x = _away(rng.standard_normal((3, 4)).astype(np.float32), (0, 0.2, -0.4, 0.4)).astype(np.float32)
    check(gs.selu, torch.selu, [x], torch=torch)
    check(lambda t: gs.celu(t, 0.5), lambda t: torch.celu(t, 0.5), [x], torch=torch)
    check(lambda t: gs.threshold(t, 0.2, -1.0), lambda t: torch.threshold(t, 0.2, -1.0), [x], torch=torch)
    check(lambda t: gs.rrelu(t, 0.2, 0.3), lambda t: torch.rrelu(t, 0.2, 0.3), [x], torch=torch)
    check(gs.hardshrink, torch.hardshrink, [x], torch=torch)
    check(lambda t: t.hardshrink(0.4), lambda t: t.hardshrink(0.4), [x], torch=torch)


def test_existing_softmin_matches_torch(torch, rng):
    """F.softmin was already there (gradstep/nn/functional.py): checked here with the other activations."""
    x = rng.standard_normal((3, 5)).astype(np.float32)
    for dim in (0, 1, -1):
        check(lambda t: F.softmin(t, dim), lambda t: torch.nn.functional.softmin(t, dim), [x], torch=torch)


NAMES = ["hardswish", "hardsigmoid", "selu", "celu", "prelu", "rrelu", "softsign", "tanhshrink", "threshold",
         "hardshrink", "softshrink", "glu", "logsigmoid", "softmin", "selu_", "celu_", "rrelu_", "threshold_"]


@pytest.mark.parametrize("name", NAMES)
def test_namespaces_follow_torch(name, torch):
    """gradstep.<name> and Tensor.<name> exist exactly where torch has them; the functional names all do."""
    assert hasattr(gs, name) == hasattr(torch, name), name
    assert hasattr(gs.Tensor, name) == hasattr(torch.Tensor, name), name
    if hasattr(torch.nn.functional, name):
        assert callable(getattr(F, name)), name


# ------------------------------------------------------------------ integer and bool inputs
def test_softsign_and_tanhshrink_promote_integers_like_torch(torch):
    for dtype in (np.int64, np.int32, np.uint8):
        x = np.array([0, 1, 2, 5], dtype=dtype)
        check(F.softsign, torch.nn.functional.softsign, [x], torch=torch)
        check(F.tanhshrink, torch.nn.functional.tanhshrink, [x], torch=torch)


def test_threshold_takes_integers_and_truncates_its_numbers_like_torch(torch):
    x = np.array([-3, -1, 0, 1, 2, 7], dtype=np.int64)
    for th, value in [(-1.5, 7.9), (0.5, -7.9), (1, 5), (2.0, 0)]:
        check(lambda t: F.threshold(t, th, value), lambda t: torch.nn.functional.threshold(t, th, value), [x],
              torch=torch)


def _raises(fn, exc, *needles):
    with pytest.raises(exc) as info:
        fn()
    for needle in needles:
        assert needle in str(info.value), f"{needle!r} not in {str(info.value)!r}"


INT_REFUSED = {
    "hardswish": lambda f, x: f.hardswish(x),
    "hardsigmoid": lambda f, x: f.hardsigmoid(x),
    "selu": lambda f, x: f.selu(x),
    "celu": lambda f, x: f.celu(x),
    "rrelu": lambda f, x: f.rrelu(x),
    "rrelu_training": lambda f, x: f.rrelu(x, training=True),
    "hardshrink": lambda f, x: f.hardshrink(x),
    "softshrink": lambda f, x: f.softshrink(x),
    "glu": lambda f, x: f.glu(x),
    "logsigmoid": lambda f, x: f.logsigmoid(x),
}


@pytest.mark.parametrize("name", list(INT_REFUSED))
def test_integer_input_is_refused_naming_the_op(name, torch):
    call = INT_REFUSED[name]
    with pytest.raises(Exception):  # torch has no integer kernel either
        call(torch.nn.functional, torch.tensor([1, -2, 3, 4]))
    op = name.split("_")[0]
    _raises(lambda: call(F, gs.tensor([1, -2, 3, 4])), DTypeError, op, "int64", "floating point")


@pytest.mark.parametrize("name", ["threshold", "softsign", "tanhshrink"])
def test_bool_input_is_refused_naming_the_op(name, torch):
    call = {"threshold": lambda f, x: f.threshold(x, 0.5, 0),
            "softsign": lambda f, x: f.softsign(x), "tanhshrink": lambda f, x: f.tanhshrink(x)}[name]
    with pytest.raises(Exception):
        call(torch.nn.functional, torch.tensor([True, False]))
    _raises(lambda: call(F, gs.tensor([True, False])), DTypeError, name, "bool")


BAD_ARGUMENTS = [
    ("prelu-int", lambda f, T: f.prelu(T([1, -2]), T([0.25])), DTypeError, ["prelu", "int64"]),
    ("prelu-dtype-mix", lambda f, T: f.prelu(T([1.0, -2.0], "float32"), T([0.25], "float64")), DTypeError,
     ["prelu", "float32", "float64"]),
    ("prelu-channels", lambda f, T: f.prelu(T(np.ones((2, 3), np.float32)), T([0.1, 0.2], "float32")), ShapeError,
     ["prelu", "2 values", "3 channel"]),
    ("prelu-1d-input", lambda f, T: f.prelu(T([1.0, -1.0, 2.0]), T([0.1, 0.2, 0.3])), ShapeError,
     ["prelu", "3 values", "1 channel"]),
    ("prelu-2d-weight", lambda f, T: f.prelu(T(np.ones((3, 2), np.float32)), T([[0.1, 0.2]], "float32")), ShapeError,
     ["prelu", "(1, 2)"]),
    ("glu-odd", lambda f, T: f.glu(T(np.ones((2, 3), np.float32)), 1), ShapeError, ["glu", "even", "size 3"]),
    ("glu-scalar", lambda f, T: f.glu(T(1.0)), ShapeError, ["glu", "0-d"]),
    ("glu-dim", lambda f, T: f.glu(T(np.ones((2, 4), np.float32)), 2), IndexOutOfRange, ["glu", "dim 2"]),
    ("rrelu-bounds", lambda f, T: f.rrelu(T([1.0]), 0.4, 0.3), InvalidArgument, ["rrelu", "lower=0.4", "upper=0.3"]),
    ("rrelu-bounds-training", lambda f, T: f.rrelu(T([1.0]), 0.4, 0.3, True), InvalidArgument, ["rrelu"]),
    ("softshrink-negative", lambda f, T: f.softshrink(T([1.0]), -0.1), InvalidArgument, ["softshrink", "-0.1"]),
    ("celu-alpha-0", lambda f, T: f.celu(T([1.0]), 0.0), InvalidArgument, ["celu", "alpha"]),
]


@pytest.mark.parametrize("fn,exc,needles", [c[1:] for c in BAD_ARGUMENTS], ids=[c[0] for c in BAD_ARGUMENTS])
def test_bad_arguments_are_refused_like_torch(fn, exc, needles, torch):
    def torch_tensor(data, dtype=None):
        return torch.tensor(np.asarray(data, dtype=dtype))

    def gs_tensor(data, dtype=None):
        return gs.tensor(np.asarray(data, dtype=dtype))

    with pytest.raises(Exception):
        fn(torch.nn.functional, torch_tensor)
    _raises(lambda: fn(F, gs_tensor), exc, *needles)


def test_prelu_weight_must_be_a_tensor():
    _raises(lambda: F.prelu(gs.tensor([1.0]), 0.25), ArgumentTypeError, "prelu", "float")


def test_softmax2d_refuses_other_ranks(torch):
    for shape in [(3,), (2, 3), (1, 2, 3, 4, 5)]:
        with pytest.raises(ValueError):
            torch.nn.Softmax2d()(torch.zeros(shape))
        _raises(lambda: nn.Softmax2d()(gs.zeros(shape)), ShapeError, "Softmax2d", f"got {len(shape)}D")


# ------------------------------------------------------------------ in place
INPLACE = {
    "hardswish": lambda f, x: f.hardswish(x, inplace=True),
    "hardsigmoid": lambda f, x: f.hardsigmoid(x, True),
    "selu": lambda f, x: f.selu(x, inplace=True),
    "celu": lambda f, x: f.celu(x, 0.5, True),
    "rrelu": lambda f, x: f.rrelu(x, 0.1, 0.2, False, True),
    "threshold": lambda f, x: f.threshold(x, 0.3, -2.0, inplace=True),
}


@pytest.mark.parametrize("name", list(INPLACE))
def test_inplace_overwrites_the_input_and_backpropagates_like_torch(name, torch, rng):
    call = INPLACE[name]
    x = _away(rng.standard_normal((3, 4)).astype(np.float32) * 3, (-3, 0, 0.3, 3)).astype(np.float32)
    g = rng.standard_normal((3, 4)).astype(np.float32)
    gl, tl = gs.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    ga, ta = gl * 1.0, tl * 1.0  # in-place on a leaf that requires grad is refused (below)
    gout, tout = call(F, ga), call(torch.nn.functional, ta)
    assert gout is ga and tout is ta
    np.testing.assert_allclose(ga.detach().numpy(), ta.detach().numpy(), rtol=1.3e-5, atol=1e-5)
    ga.backward(gs.tensor(g))
    ta.backward(torch.tensor(g))
    np.testing.assert_allclose(gl.grad.numpy(), tl.grad.numpy(), rtol=1.3e-5, atol=1e-5)


def test_inplace_without_graph_and_top_level_underscore_forms(torch, rng):
    x = rng.standard_normal(6).astype(np.float32)
    for gs_fn, torch_fn in [(gs.selu_, torch.selu_), (lambda t: gs.celu_(t, 2.0), lambda t: torch.celu_(t, 2.0)),
                            (lambda t: gs.threshold_(t, 0.0, 5.0), lambda t: torch.threshold_(t, 0.0, 5.0)),
                            (gs.rrelu_, torch.rrelu_)]:
        a, b = gs.tensor(x), torch.tensor(x)
        assert gs_fn(a) is a
        torch_fn(b)
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1.3e-5, atol=1e-6)


def test_inplace_on_a_leaf_that_requires_grad_is_refused(torch):
    with pytest.raises(RuntimeError):
        torch.nn.functional.selu(torch.ones(2, requires_grad=True), inplace=True)
    _raises(lambda: F.selu(gs.ones(2, requires_grad=True), inplace=True), GradError, "leaf")


# ------------------------------------------------------------------ RReLU in training
def test_rrelu_training_is_reproducible_under_manual_seed():
    x = gs.tensor(np.linspace(-3, 3, 50, dtype=np.float32))
    gs.manual_seed(7)
    a = F.rrelu(x, training=True).numpy()
    gs.manual_seed(7)
    b = F.rrelu(x, training=True).numpy()
    gs.manual_seed(8)
    c = F.rrelu(x, training=True).numpy()
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["float32", "float64"])
def test_rrelu_training_slopes_are_uniform_in_bounds_and_the_gradient_is_the_slope(dtype, rng):
    lower, upper = 0.1, 0.4
    x_np = _away(rng.standard_normal(4000).astype(dtype), (0,)).astype(dtype)
    x = gs.tensor(x_np, requires_grad=True)
    gs.manual_seed(0)
    y = F.rrelu(x, lower, upper, training=True)
    assert y.dtype == x.dtype
    y.sum().backward()
    neg, pos = x_np < 0, x_np > 0
    slopes = y.detach().numpy()[neg] / x_np[neg]
    assert slopes.min() >= lower - 1e-6 and slopes.max() < upper + 1e-6
    assert len(np.unique(slopes.round(5))) > 100  # one draw per element, not one per call
    assert abs(slopes.mean() - (lower + upper) / 2) < 0.01  # U(lower, upper): mean 0.25, sd of the mean ~0.002
    np.testing.assert_array_equal(y.detach().numpy()[pos], x_np[pos])
    grad = x.grad.numpy()
    assert grad.dtype == dtype
    np.testing.assert_allclose(grad[neg], slopes, rtol=1e-5 if dtype == np.float32 else 1e-12)
    np.testing.assert_array_equal(grad[pos], 1)


def test_rrelu_training_with_equal_bounds_uses_that_slope(torch):
    x = np.array([-2.0, -0.5, 0.0, 1.0], np.float32)
    got = F.rrelu(gs.tensor(x), 0.3, 0.3, training=True).numpy()
    want = torch.nn.functional.rrelu(torch.tensor(x), 0.3, 0.3, training=True).numpy()
    np.testing.assert_allclose(got, want, rtol=1e-6)


def test_rrelu_training_gradcheck_with_the_slopes_fixed(rng):
    x = _away(rng.standard_normal((3, 5)), (0,))

    def fn(t):
        gs.manual_seed(3)
        return F.rrelu(t, 0.05, 0.5, training=True)

    assert gs.gradcheck(fn, [gs.tensor(x, requires_grad=True)], atol=1e-5, rtol=1e-3)


def test_rrelu_module_is_random_in_training_and_the_mean_slope_in_eval(torch):
    x = np.linspace(-2, 2, 9, dtype=np.float32)
    m, tm = nn.RReLU(0.1, 0.5), torch.nn.RReLU(0.1, 0.5)
    gs.manual_seed(1)
    train_a = m(gs.tensor(x)).numpy()
    train_b = m(gs.tensor(x)).numpy()
    assert not np.array_equal(train_a, train_b)
    m.eval()
    tm.eval()
    np.testing.assert_allclose(m(gs.tensor(x)).numpy(), tm(torch.tensor(x)).numpy(), rtol=1e-6)


# ------------------------------------------------------------------ modules
MODULES = [
    ("Hardswish", (), {}), ("Hardswish", (True,), {}), ("Hardsigmoid", (), {}), ("Hardsigmoid", (), dict(inplace=True)),
    ("SELU", (), {}), ("SELU", (True,), {}), ("CELU", (), {}), ("CELU", (2.0, True), {}), ("CELU", (2,), {}),
    ("PReLU", (), {}), ("PReLU", (3, 0.1), {}), ("RReLU", (), {}), ("RReLU", (0.1, 0.3, True), {}), ("RReLU", (0, 1), {}),
    ("Softsign", (), {}), ("Tanhshrink", (), {}), ("Threshold", (0.1, 20), {}), ("Threshold", (1, 2.0, True), {}),
    ("Hardshrink", (), {}), ("Hardshrink", (1,), {}), ("Softshrink", (), {}), ("Softshrink", (0.25,), {}),
    ("GLU", (), {}), ("GLU", (1,), {}), ("Softmax2d", (), {}),
]


@pytest.mark.parametrize("name,args,kwargs", MODULES, ids=[f"{m[0]}{m[1]}{m[2]}" for m in MODULES])
def test_module_repr_matches_torch(name, args, kwargs, torch):
    assert repr(getattr(nn, name)(*args, **kwargs)) == repr(getattr(torch.nn, name)(*args, **kwargs))


@pytest.mark.parametrize("name,args,kwargs", [m for m in MODULES if not m[1][-1:] == (True,) and "inplace" not in m[2]],
                         ids=[f"{m[0]}{m[1]}" for m in MODULES if not m[1][-1:] == (True,) and "inplace" not in m[2]])
def test_module_forward_and_backward_match_torch(name, args, kwargs, torch, rng):
    m, tm = getattr(nn, name)(*args, **kwargs), getattr(torch.nn, name)(*args, **kwargs)
    m.eval()  # RReLU: the deterministic slope (training is covered above)
    tm.eval()
    shape = (2, 3, 4, 2) if name == "PReLU" else (2, 4, 3, 2)  # PReLU(3): 3 channels; GLU(1): even dim 1
    x = _away(rng.standard_normal(shape).astype(np.float32) * 3,
              (-3, -1, -0.5, -0.25, 0, 0.1, 0.25, 0.5, 1, 3)).astype(np.float32)
    # PReLU's float32 weight refuses the float64 gradcheck input (as torch's would): checked functionally above
    check(m, tm, [x], torch=torch, gradcheck=name != "PReLU")


def test_prelu_state_dict_and_gradient_match_torch(torch, rng):
    m, tm = nn.PReLU(3, 0.1), torch.nn.PReLU(3, 0.1)
    assert list(m.state_dict()) == list(tm.state_dict()) == ["weight"]
    assert [n for n, _ in m.named_parameters()] == ["weight"]
    np.testing.assert_array_equal(m.state_dict()["weight"].numpy(), tm.state_dict()["weight"].numpy())
    assert m.weight.dtype == gs.float32 and m.weight.requires_grad
    tm.weight.data.copy_(torch.tensor([0.05, 0.2, 0.4]))
    m.load_state_dict({"weight": gs.tensor(tm.weight.detach().numpy())})
    x = _away(rng.standard_normal((4, 3, 5)).astype(np.float32), (0,)).astype(np.float32)
    m(gs.tensor(x)).sum().backward()
    tm(torch.tensor(x)).sum().backward()
    np.testing.assert_allclose(m.weight.grad.numpy(), tm.weight.grad.numpy(), rtol=1e-5, atol=1e-5)
    m.reset_parameters()
    np.testing.assert_array_equal(m.weight.detach().numpy(), np.full(3, 0.1, np.float32))


def test_prelu_module_dtype_and_single_parameter(torch):
    m = nn.PReLU(dtype=gs.float64)
    assert m.weight.dtype == gs.float64 and tuple(m.weight.shape) == (1,)
    np.testing.assert_array_equal(nn.PReLU().weight.detach().numpy(), torch.nn.PReLU().weight.detach().numpy())
    _raises(lambda: nn.PReLU(2.0), ArgumentTypeError, "PReLU", "num_parameters")


def test_softmax2d_is_softmax_over_dim_minus_3(torch, rng):
    for shape in [(3, 4, 5), (2, 3, 4, 5)]:
        x = rng.standard_normal(shape).astype(np.float32)
        check(nn.Softmax2d(), torch.nn.Softmax2d(), [x], torch=torch)


def test_modules_are_exported_from_nn():
    for name, _, _ in MODULES:
        assert name in nn.__all__ and issubclass(getattr(nn, name), nn.Module)
