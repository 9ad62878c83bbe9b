"""Pooling against PyTorch (values, input gradients, indices) and finite differences."""
import numpy as np
import pytest

import gradstep as gs
from tests.oracle import check

# (input shape, kwargs): tiled windows, overlapping windows (kernel 3 stride 2), padding, ceil_mode,
# dilation, non-square kernels, odd sizes, stride 1, batch 1, unbatched.
MAX2D = [
    ((2, 3, 6, 8), dict(kernel_size=2)),
    ((2, 2, 7, 7), dict(kernel_size=3, stride=2)),
    ((1, 2, 7, 6), dict(kernel_size=3, stride=2, padding=1)),
    ((2, 2, 7, 8), dict(kernel_size=3, stride=2, ceil_mode=True)),
    ((2, 1, 6, 7), dict(kernel_size=2, stride=2, padding=1, ceil_mode=True)),
    ((2, 2, 5, 6), dict(kernel_size=(2, 3), stride=1)),
    ((1, 2, 9, 8), dict(kernel_size=3, stride=(2, 1), padding=(1, 0), dilation=2)),
    ((2, 2, 7, 5), dict(kernel_size=2)),  # odd sizes: the last row/column is dropped
    ((3, 6, 6), dict(kernel_size=2)),  # unbatched
    ((1, 1, 4, 4), dict(kernel_size=4)),
]


def _data(rng, shape):
    return rng.permutation(np.prod(shape)).reshape(shape).astype(np.float32) / 7 - 3  # distinct: no ties


@pytest.mark.parametrize("shape,kw", MAX2D, ids=str)
def test_max_pool2d(shape, kw, torch, rng):
    check(lambda x: gs.max_pool2d(x, **kw), lambda x: torch.nn.functional.max_pool2d(x, **kw),
          [_data(rng, shape)], torch=torch)


@pytest.mark.parametrize("shape,kw", MAX2D, ids=str)
def test_max_pool2d_indices(shape, kw, torch, rng):
    x = _data(rng, shape)
    out, idx = gs.max_pool2d(gs.tensor(x), return_indices=True, **kw)
    t_out, t_idx = torch.nn.functional.max_pool2d(torch.tensor(x), return_indices=True, **kw)
    np.testing.assert_array_equal(out.numpy(), t_out.numpy())
    np.testing.assert_array_equal(idx.numpy(), t_idx.numpy())
    assert idx.dtype == gs.int64


@pytest.mark.parametrize("kw", [dict(kernel_size=2), dict(kernel_size=3, stride=2, padding=1),
                                dict(kernel_size=3, stride=1)], ids=str)
def test_max_pool2d_ties_route_to_first_max(kw, torch, rng):
    """Windows full of equal values (ReLU zeros): PyTorch sends the gradient to the first one only."""
    x = np.maximum(rng.integers(-2, 2, (2, 2, 6, 6)), 0).astype(np.float32)
    check(lambda t: gs.max_pool2d(t, **kw), lambda t: torch.nn.functional.max_pool2d(t, **kw), [x],
          torch=torch, gradcheck=False)
    _, idx = gs.max_pool2d(gs.tensor(x), return_indices=True, **kw)
    np.testing.assert_array_equal(idx.numpy(), torch.nn.functional.max_pool2d(
        torch.tensor(x), return_indices=True, **kw)[1].numpy())


AVG2D = [
    ((2, 3, 6, 8), dict(kernel_size=2)),
    ((2, 2, 7, 7), dict(kernel_size=3, stride=2)),
    ((1, 2, 7, 6), dict(kernel_size=3, stride=2, padding=1)),
    ((1, 2, 7, 6), dict(kernel_size=3, stride=2, padding=1, count_include_pad=False)),
    ((2, 2, 7, 8), dict(kernel_size=3, stride=2, padding=1, ceil_mode=True)),
    ((2, 2, 7, 8), dict(kernel_size=3, stride=2, padding=1, ceil_mode=True, count_include_pad=False)),
    ((2, 2, 5, 6), dict(kernel_size=(2, 3), stride=1, divisor_override=4)),
    ((2, 2, 7, 5), dict(kernel_size=2)),
    ((3, 6, 6), dict(kernel_size=2, stride=1)),  # unbatched
]


@pytest.mark.parametrize("shape,kw", AVG2D, ids=str)
def test_avg_pool2d(shape, kw, torch, rng):
    x = rng.standard_normal(shape).astype(np.float32)
    check(lambda t: gs.avg_pool2d(t, **kw), lambda t: torch.nn.functional.avg_pool2d(t, **kw), [x], torch=torch)


POOL1D = [
    ((2, 3, 8), dict(kernel_size=2)),
    ((2, 2, 9), dict(kernel_size=3, stride=2, padding=1)),
    ((1, 2, 9), dict(kernel_size=3, stride=2, ceil_mode=True)),
    ((3, 7), dict(kernel_size=2, stride=1)),  # unbatched
]


@pytest.mark.parametrize("shape,kw", POOL1D, ids=str)
@pytest.mark.parametrize("name", ["max_pool1d", "avg_pool1d"])
def test_pool1d(name, shape, kw, torch, rng):
    check(lambda t: getattr(gs, name)(t, **kw), lambda t: getattr(torch.nn.functional, name)(t, **kw),
          [_data(rng, shape)], torch=torch)


def test_max_pool1d_dilation_and_indices(torch, rng):
    x = _data(rng, (2, 2, 11))
    kw = dict(kernel_size=3, stride=2, padding=1, dilation=2, return_indices=True)
    out, idx = gs.max_pool1d(gs.tensor(x), **kw)
    t_out, t_idx = torch.nn.functional.max_pool1d(torch.tensor(x), **kw)
    np.testing.assert_array_equal(out.numpy(), t_out.numpy())
    np.testing.assert_array_equal(idx.numpy(), t_idx.numpy())


ADAPTIVE = [
    ((2, 3, 6, 8), (1, 1)),  # global
    ((2, 3, 6, 8), (3, 4)),  # divisible
    ((2, 2, 7, 8), (3, 5)),  # bins of different sizes that overlap
    ((1, 2, 5, 4), (7, 6)),  # larger than the input: bins repeat
    ((2, 2, 7, 6), (None, 4)),
    ((3, 7, 5), 3),  # unbatched
]


@pytest.mark.parametrize("shape,size", ADAPTIVE, ids=str)
def test_adaptive_avg_pool2d(shape, size, torch, rng):
    x = rng.standard_normal(shape).astype(np.float32)
    check(lambda t: gs.adaptive_avg_pool2d(t, size), lambda t: torch.nn.functional.adaptive_avg_pool2d(t, size),
          [x], torch=torch)


@pytest.mark.parametrize("shape,size", ADAPTIVE, ids=str)
def test_adaptive_max_pool2d(shape, size, torch, rng):
    x = _data(rng, shape)
    check(lambda t: gs.adaptive_max_pool2d(t, size), lambda t: torch.nn.functional.adaptive_max_pool2d(t, size),
          [x], torch=torch)
    _, idx = gs.adaptive_max_pool2d(gs.tensor(x), size, return_indices=True)
    np.testing.assert_array_equal(idx.numpy(), torch.nn.functional.adaptive_max_pool2d(
        torch.tensor(x), size, return_indices=True)[1].numpy())


@pytest.mark.parametrize("size", [1, 3, 4, 12])
@pytest.mark.parametrize("name", ["adaptive_avg_pool1d", "adaptive_max_pool1d"])
def test_adaptive_pool1d(name, size, torch, rng):
    check(lambda t: getattr(gs, name)(t, size), lambda t: getattr(torch.nn.functional, name)(t, size),
          [_data(rng, (2, 3, 8))], torch=torch)


def test_adaptive_max_pool2d_ties(torch, rng):
    x = np.maximum(rng.integers(-2, 2, (2, 2, 7, 8)), 0).astype(np.float32)
    for size in [(3, 5), (7, 4)]:
        check(lambda t: gs.adaptive_max_pool2d(t, size), lambda t: torch.nn.functional.adaptive_max_pool2d(t, size),
              [x], torch=torch, gradcheck=False)


def test_integer_pools_like_torch(torch, rng):
    x = rng.integers(-9, 10, (2, 2, 7, 7))
    for fn, kw in [("max_pool2d", dict(kernel_size=3, stride=2, padding=1)), ("max_pool2d", dict(kernel_size=2)),
                   ("avg_pool2d", dict(kernel_size=3, stride=2, padding=1)), ("avg_pool2d", dict(kernel_size=2))]:
        got = getattr(gs, fn)(gs.tensor(x), **kw).numpy()
        want = getattr(torch.nn.functional, fn)(torch.tensor(x), **kw).numpy()
        np.testing.assert_array_equal(got, want, err_msg=f"{fn} {kw}")
        assert got.dtype == want.dtype


def test_float32_stays_float32(rng):
    x = gs.tensor(rng.standard_normal((2, 3, 7, 7)).astype(np.float32), requires_grad=True)
    for f in (lambda t: gs.max_pool2d(t, 3, 2, 1), lambda t: gs.avg_pool2d(t, 3, 2, 1, count_include_pad=False),
              lambda t: gs.adaptive_avg_pool2d(t, 3), lambda t: gs.adaptive_max_pool2d(t, 3)):
        y = f(x)
        assert y.dtype == gs.float32
        x.grad = None
        y.sum().backward()
        assert x.grad.dtype == gs.float32


def test_no_graph_no_saved_indices(rng):
    x = gs.tensor(rng.standard_normal((1, 1, 4, 4)).astype(np.float32), requires_grad=True)
    with gs.no_grad():
        y = gs.max_pool2d(x, 2)
    assert y.grad_fn is None and not y.requires_grad


# --------------------------------------------------------------------- errors
def _t(*shape, dtype=np.float32):
    return gs.tensor(np.zeros(shape, dtype))


@pytest.mark.parametrize("call,err,parts", [
    (lambda: gs.max_pool2d(_t(5, 5), 2), ValueError,
     ["max_pool2d: expected input of shape (N, C, H, W) or (C, H, W), got (5, 5)"]),
    (lambda: gs.avg_pool1d(_t(1, 2, 3, 5), 2), ValueError, ["avg_pool1d: expected input of shape (N, C, L)", "(1, 2, 3, 5)"]),
    (lambda: gs.max_pool2d(_t(1, 1, 5, 5), 2, padding=2), ValueError,
     ["max_pool2d", "padding must be at most half", "padding=(2, 2)", "kernel_size=(2, 2)"]),
    (lambda: gs.avg_pool2d(_t(1, 1, 5, 5), 3, padding=2), ValueError, ["avg_pool2d", "at most half"]),
    (lambda: gs.max_pool2d(_t(1, 1, 5, 5), 7), ValueError,
     ["max_pool2d: input (1, 1, 5, 5) is too small for kernel_size=(7, 7)", "would be 0 x 0"]),
    (lambda: gs.max_pool2d(_t(1, 1, 5, 5), 0), ValueError, ["kernel_size must be >= 1"]),
    (lambda: gs.max_pool2d(_t(1, 1, 5, 5), 2, stride=0), ValueError, ["stride must be >= 1"]),
    (lambda: gs.max_pool2d(_t(1, 1, 5, 5), (2, 2, 2)), TypeError, ["kernel_size", "2 ints"]),
    (lambda: gs.max_pool2d(_t(1, 1, 5, 5, dtype=bool), 2), TypeError, ["max_pool2d", "bool"]),
    (lambda: gs.avg_pool2d(_t(1, 1, 5, 5), 2, divisor_override=0), ValueError, ["divisor_override", "nonzero"]),
    (lambda: gs.adaptive_avg_pool2d(_t(1, 1, 5, 5, dtype=np.int64), 2), TypeError,
     ["adaptive_avg_pool2d", "floating point", "int64"]),
    (lambda: gs.adaptive_avg_pool2d(_t(1, 1, 5, 5), 0), ValueError, ["output_size must be >= 1"]),
    (lambda: gs.adaptive_max_pool2d(_t(5,), 2), ValueError, ["adaptive_max_pool2d: expected input", "(5,)"]),
], ids=lambda v: "" if callable(v) or isinstance(v, type) else str(v)[:40])
def test_errors(call, err, parts):
    with pytest.raises(err) as info:
        call()
    assert isinstance(info.value, gs.errors.GradstepError)
    for part in parts:
        assert part in str(info.value), f"{part!r} not in {str(info.value)!r}"
