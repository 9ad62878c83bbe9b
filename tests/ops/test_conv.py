"""Convolutions against PyTorch (values, gradients of input, weight and bias) and finite differences."""
import numpy as np
import pytest

import gradstep as gs
from tests.oracle import check

# torch warns that it copies the input for even kernels with padding='same'; the oracle is still right.
pytestmark = pytest.mark.filterwarnings("ignore:Using padding='same'")

# (input shape, weight shape, kwargs): stride, padding (int, tuple, 'same', 'valid'), dilation,
# groups (incl. depthwise), non-square kernels, batch 1, unbatched input.
CONV2D = [
    ((2, 3, 6, 5), (4, 3, 3, 3), {}),
    ((2, 3, 7, 6), (4, 3, 3, 2), dict(stride=2)),
    ((1, 2, 5, 5), (3, 2, 3, 3), dict(padding=1)),
    ((2, 2, 6, 7), (3, 2, 2, 3), dict(padding="same")),
    ((2, 2, 6, 7), (3, 2, 3, 3), dict(padding="same", dilation=2)),
    ((1, 2, 5, 6), (2, 2, 1, 1), dict(padding="valid")),
    ((2, 2, 8, 7), (3, 2, 3, 2), dict(dilation=2, padding=(1, 2))),
    ((2, 4, 5, 5), (6, 2, 3, 3), dict(groups=2, padding=1)),
    ((2, 3, 6, 6), (3, 1, 3, 3), dict(groups=3, stride=2, padding=1)),  # depthwise
    ((1, 2, 5, 5), (4, 1, 2, 2), dict(groups=2, stride=(1, 2))),  # depthwise, multiplier 2
    ((3, 5, 5), (2, 3, 3, 3), dict(padding=1)),  # unbatched
    ((2, 1, 7, 9), (2, 1, 3, 4), dict(stride=(2, 3), padding=(0, 1), dilation=(1, 2))),
    ((0, 2, 5, 5), (3, 2, 3, 3), {}),  # empty batch
]


def _arrays(rng, x_shape, w_shape, bias):
    x = rng.standard_normal(x_shape).astype(np.float32)
    w = (rng.standard_normal(w_shape) * 0.5).astype(np.float32)
    arrays = [x, w]
    if bias:
        arrays.append(rng.standard_normal(w_shape[0] if len(w_shape) else 1).astype(np.float32))
    return arrays


@pytest.mark.parametrize("bias", [True, False], ids=["bias", "nobias"])
@pytest.mark.parametrize("x_shape,w_shape,kw", CONV2D, ids=str)
def test_conv2d(x_shape, w_shape, kw, bias, torch, rng):
    arrays = _arrays(rng, x_shape, w_shape, bias)
    check(lambda *a: gs.conv2d(*a, **kw), lambda *a: torch.nn.functional.conv2d(*a, **kw), arrays, torch=torch)


CONV1D = [
    ((2, 3, 9), (4, 3, 3), {}),
    ((2, 3, 9), (4, 3, 2), dict(stride=2, padding=1)),
    ((1, 2, 8), (3, 2, 4), dict(padding="same")),
    ((2, 2, 10), (2, 2, 3), dict(padding="same", dilation=3)),
    ((2, 4, 7), (4, 1, 3), dict(groups=4, padding=1)),
    ((3, 7), (2, 3, 3), dict(stride=(2,))),  # unbatched, 1-tuple stride
]


@pytest.mark.parametrize("bias", [True, False], ids=["bias", "nobias"])
@pytest.mark.parametrize("x_shape,w_shape,kw", CONV1D, ids=str)
def test_conv1d(x_shape, w_shape, kw, bias, torch, rng):
    arrays = _arrays(rng, x_shape, w_shape, bias)
    check(lambda *a: gs.conv1d(*a, **kw), lambda *a: torch.nn.functional.conv1d(*a, **kw), arrays, torch=torch)


CONV_T2D = [
    ((2, 3, 4, 5), (3, 2, 3, 3), {}),
    ((2, 3, 4, 4), (3, 2, 3, 2), dict(stride=2, padding=1, output_padding=1)),
    ((1, 4, 3, 5), (4, 3, 2, 2), dict(groups=2, stride=(2, 1))),
    ((2, 2, 4, 4), (2, 2, 3, 3), dict(dilation=2, padding=(1, 2))),
    ((2, 4, 4), (2, 3, 3, 3), dict(stride=2, padding=1)),  # unbatched
]


@pytest.mark.parametrize("bias", [True, False], ids=["bias", "nobias"])
@pytest.mark.parametrize("x_shape,w_shape,kw", CONV_T2D, ids=str)
def test_conv_transpose2d(x_shape, w_shape, kw, bias, torch, rng):
    groups = kw.get("groups", 1)
    arrays = _arrays(rng, x_shape, w_shape, False)
    if bias:
        arrays.append(rng.standard_normal(w_shape[1] * groups).astype(np.float32))
    check(lambda *a: gs.conv_transpose2d(*a, **kw), lambda *a: torch.nn.functional.conv_transpose2d(*a, **kw),
          arrays, torch=torch)


def test_conv_transpose1d(torch, rng):
    arrays = _arrays(rng, (2, 3, 6), (3, 2, 3), False) + [rng.standard_normal(2).astype(np.float32)]
    kw = dict(stride=2, padding=1, output_padding=1)
    check(lambda *a: gs.conv_transpose1d(*a, **kw), lambda *a: torch.nn.functional.conv_transpose1d(*a, **kw),
          arrays, torch=torch)


def test_conv2d_first_layer_skips_input_grad(torch, rng):
    """Input without requires_grad (first layer): only weight and bias get gradients."""
    x, w, b = _arrays(rng, (2, 3, 6, 6), (4, 3, 3, 3), True)
    check(lambda *a: gs.conv2d(*a, padding=1), lambda *a: torch.nn.functional.conv2d(*a, padding=1),
          [x, w, b], torch=torch, grad=[False, True, True])
    xt = gs.tensor(x)
    y = gs.conv2d(xt, gs.tensor(w, requires_grad=True), padding=1)
    assert not hasattr(y.grad_fn, "w")  # no reference kept for an input gradient nobody wants
    y.sum().backward()
    assert xt.grad is None


def test_conv2d_frozen_weight_keeps_no_columns(torch, rng):
    x, w = _arrays(rng, (2, 3, 6, 6), (4, 3, 3, 3), False)
    y = gs.conv2d(gs.tensor(x, requires_grad=True), gs.tensor(w))
    assert not hasattr(y.grad_fn, "cols")
    check(lambda *a: gs.conv2d(*a, stride=2), lambda *a: torch.nn.functional.conv2d(*a, stride=2),
          [x, w], torch=torch, grad=[True, False])


def test_small_cnn_end_to_end(torch, rng):
    """conv -> relu -> max pool -> conv -> adaptive avg pool, gradients of every parameter."""
    x = rng.standard_normal((2, 1, 9, 9)).astype(np.float32)
    w1, b1 = (rng.standard_normal(s).astype(np.float32) * 0.5 for s in [(4, 1, 3, 3), (4,)])
    w2 = (rng.standard_normal((4, 2, 3, 3)) * 0.5).astype(np.float32)

    def net(conv, relu, pool, gap):
        return lambda x, w1, b1, w2: gap(conv(pool(relu(conv(x, w1, b1, padding=1)), 3, 2),
                                              w2, None, padding=1, groups=2), 1)

    F = torch.nn.functional
    check(net(gs.conv2d, gs.relu, gs.max_pool2d, gs.adaptive_avg_pool2d),
          net(F.conv2d, F.relu, F.max_pool2d, F.adaptive_avg_pool2d),
          [x, w1, b1, w2], torch=torch, gradcheck=False)


def test_conv2d_float32_stays_float32(rng):
    x, w, b = (gs.tensor(a, requires_grad=True) for a in _arrays(rng, (1, 2, 5, 5), (3, 2, 3, 3), True))
    y = gs.conv2d(x, w, b, padding=1)
    assert y.dtype == gs.float32
    y.sum().backward()
    assert x.grad.dtype == w.grad.dtype == b.grad.dtype == gs.float32


def test_conv2d_integer_inputs_like_torch(torch, rng):
    x = rng.integers(-3, 4, (1, 2, 4, 4))
    w = rng.integers(-3, 4, (3, 2, 2, 2))
    got = gs.conv2d(gs.tensor(x), gs.tensor(w)).numpy()
    want = torch.nn.functional.conv2d(torch.tensor(x), torch.tensor(w)).numpy()
    np.testing.assert_array_equal(got, want)
    assert got.dtype == want.dtype


# --------------------------------------------------------------------- errors
def _t(*shape, dtype=np.float32):
    return gs.tensor(np.zeros(shape, dtype))


@pytest.mark.parametrize("call,err,parts", [
    (lambda: gs.conv2d(_t(3, 28), _t(16, 3, 3, 3)), gs.ShapeError if hasattr(gs, "ShapeError") else ValueError,
     ["conv2d: expected input of shape (N, C_in, H, W) or (C_in, H, W), got (3, 28)"]),
    (lambda: gs.conv2d(_t(8, 1, 28, 28), _t(16, 3, 3, 3)), ValueError,
     ["conv2d: weight expects 3 input channels (x groups=1) but input has 1 channels: "
      "input (8, 1, 28, 28), weight (16, 3, 3, 3)"]),
    (lambda: gs.conv2d(_t(1, 3, 5, 5), _t(2, 3, 5)), ValueError, ["conv2d", "weight", "(2, 3, 5)"]),
    (lambda: gs.conv2d(_t(1, 3, 4, 4), _t(2, 3, 5, 5)), ValueError,
     ["conv2d", "larger than the padded input", "4 x 4", "(2, 3, 5, 5)"]),
    (lambda: gs.conv2d(_t(1, 3, 4, 4), _t(2, 3, 3, 3), dilation=2), ValueError, ["dilated size 5 x 5"]),
    (lambda: gs.conv2d(_t(1, 3, 5, 5), _t(4, 1, 3, 3), groups=2), ValueError,
     ["groups=2 must divide the input channels", "(1, 3, 5, 5)"]),
    (lambda: gs.conv2d(_t(1, 4, 5, 5), _t(3, 2, 3, 3), groups=2), ValueError,
     ["groups=2 must divide the output channels", "(3, 2, 3, 3)"]),
    (lambda: gs.conv2d(_t(1, 4, 5, 5), _t(4, 2, 3, 3), groups=0), ValueError, ["groups must be a positive int"]),
    (lambda: gs.conv2d(_t(1, 3, 5, 5, dtype=np.int64), _t(2, 3, 3, 3)), TypeError,
     ["conv2d", "int64", "float32", "same dtype"]),
    (lambda: gs.conv2d(_t(1, 3, 5, 5), _t(2, 3, 3, 3, dtype=np.float64)), TypeError, ["float32", "float64"]),
    (lambda: gs.conv2d(_t(1, 3, 5, 5), _t(2, 3, 3, 3), _t(3)), ValueError, ["bias of shape (2,)", "(3,)"]),
    (lambda: gs.conv2d(_t(1, 3, 5, 5), _t(2, 3, 3, 3), padding="same", stride=2), ValueError,
     ["padding='same'", "strided"]),
    (lambda: gs.conv2d(_t(1, 3, 5, 5), _t(2, 3, 3, 3), padding="full"), ValueError, ["'valid' or 'same'", "'full'"]),
    (lambda: gs.conv2d(_t(1, 3, 5, 5), _t(2, 3, 3, 3), padding=-1), ValueError, ["padding must be >= 0"]),
    (lambda: gs.conv2d(_t(1, 3, 5, 5), _t(2, 3, 3, 3), stride=0), ValueError, ["stride must be >= 1"]),
    (lambda: gs.conv2d(_t(1, 3, 5, 5), _t(2, 3, 3, 3), stride=(1, 2, 3)), TypeError, ["stride", "2 ints"]),
    (lambda: gs.conv1d(_t(2, 3, 5, 5), _t(2, 3, 3)), ValueError, ["conv1d: expected input of shape (N, C_in, L)"]),
    (lambda: gs.conv1d(_t(2, 3, 2), _t(2, 3, 3)), ValueError, ["conv1d", "larger than the padded input (2)"]),
    (lambda: gs.conv_transpose2d(_t(1, 3, 4, 4), _t(2, 2, 3, 3)), ValueError,
     ["conv_transpose2d: weight expects 2 input channels but input has 3"]),
    (lambda: gs.conv_transpose2d(_t(1, 2, 4, 4), _t(2, 2, 3, 3), output_padding=1), ValueError,
     ["output_padding must be smaller than either stride or dilation"]),
    (lambda: gs.conv_transpose2d(_t(1, 2, 1, 1), _t(2, 2, 1, 1), padding=1), ValueError, ["empty output"]),
], ids=lambda v: "" if callable(v) or isinstance(v, type) else str(v)[:40])
def test_errors(call, err, parts):
    with pytest.raises(err) as info:
        call()
    assert isinstance(info.value, gs.errors.GradstepError)
    for part in parts:
        assert part in str(info.value), f"{part!r} not in {str(info.value)!r}"
