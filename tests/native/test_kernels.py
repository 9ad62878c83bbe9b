"""The compiled kernels (gradstep.native): built in CI, equal to the NumPy fallback, equal to PyTorch.

Every kernel has a pure-NumPy twin that runs when the extension is not built
(or ``GRADSTEP_NATIVE=0``). These tests run each op both ways on the same
inputs: the two must agree bit for bit (or, for ReLU/max-pool gradients,
exactly on finite data), and the compiled path is checked against PyTorch.
The inputs are laid out channels-last, as convolution outputs are, because
that is the layout the kernels take.
"""
import os
from contextlib import contextmanager

import numpy as np
import pytest

import gradstep as gs
from gradstep import native
from tests.oracle import check

F = gs.nn.functional


@contextmanager
def numpy_fallback():
    previous = native.set_enabled(False)
    try:
        yield
    finally:
        native.set_enabled(previous)


def both_paths(fn):
    """``fn()`` with the compiled kernels, then with the NumPy fallback."""
    compiled = fn()
    with numpy_fallback():
        fallback = fn()
    return compiled, fallback


def test_kernels_are_built_in_ci():
    if os.environ.get("GRADSTEP_NATIVE") == "0":
        pytest.skip("compiled kernels switched off on purpose (GRADSTEP_NATIVE=0): testing the NumPy fallback")
    if os.environ.get("CI") or native.available():
        assert native.available(), "the C kernels were not built: is a C compiler installed?"
        assert native.kernels is not None
    else:
        pytest.skip("gradstep.native._kernels not built here (no C compiler at install time)")


needs_kernels = pytest.mark.skipif(not native.available() and not os.environ.get("CI"),
                                   reason="compiled kernels not built")


def test_set_enabled_switches_and_reports():
    before = native.kernels is not None
    assert native.set_enabled(False) == before
    assert native.kernels is None
    assert native.set_enabled(before) is False
    assert (native.kernels is not None) == (before and native.available())


# ---------------------------------------------------------------- Adam
ADAM_CASES = [
    ("Adam", {}),
    ("Adam", dict(weight_decay=0.1)),
    ("AdamW", dict(weight_decay=0.1)),
    ("Adam", dict(amsgrad=True)),
    ("AdamW", dict(amsgrad=True, maximize=True)),
    ("Adam", dict(maximize=True, weight_decay=0.01, betas=(0.8, 0.99), eps=1e-6)),
]


def _adam_run(name, kwargs, dtype, steps=6):
    rng = np.random.default_rng(0)
    shapes = [(33, 70), (5,), (3, 4, 2), ()]
    params = [gs.tensor(rng.standard_normal(s).astype(dtype), requires_grad=True) for s in shapes]
    opt = getattr(gs.optim, name)(params, lr=1e-2, **kwargs)
    grads = [[rng.standard_normal(s).astype(dtype) for s in shapes] for _ in range(steps)]
    for step_grads in grads:
        for p, g in zip(params, step_grads):
            p.grad = gs.tensor(g)
        opt.step()
    return [p.detach().numpy().copy() for p in params], grads, opt


@needs_kernels
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name,kwargs", ADAM_CASES)
def test_adam_fused_is_bit_identical_to_numpy(name, kwargs, dtype):
    (compiled, _, opt_c), (fallback, _, opt_f) = both_paths(lambda: _adam_run(name, kwargs, dtype))
    for a, b in zip(compiled, fallback):
        assert a.dtype == dtype
        np.testing.assert_array_equal(a, b)
    for key in ("exp_avg", "exp_avg_sq"):
        for sa, sb in zip(opt_c.state.values(), opt_f.state.values()):
            np.testing.assert_array_equal(np.asarray(sa[key]), np.asarray(sb[key]))


@needs_kernels
@pytest.mark.parametrize("name,kwargs", ADAM_CASES)
def test_adam_fused_matches_torch(name, kwargs, torch):
    got, grads, _ = _adam_run(name, kwargs, np.float32)
    rng = np.random.default_rng(0)
    shapes = [(33, 70), (5,), (3, 4, 2), ()]
    params = [torch.tensor(rng.standard_normal(s).astype(np.float32), requires_grad=True) for s in shapes]
    opt = getattr(torch.optim, name)(params, lr=1e-2, **kwargs)
    for step_grads in grads:
        for p, g in zip(params, step_grads):
            p.grad = torch.tensor(g)
        opt.step()
    for a, p in zip(got, params):
        np.testing.assert_allclose(a, p.detach().numpy(), rtol=1e-5, atol=1e-6)


SGD_CASES = [
    {},
    dict(weight_decay=0.1),
    dict(maximize=True),
    dict(momentum=0.9),
    dict(momentum=0.9, dampening=0.3, weight_decay=0.01),
    dict(momentum=0.8, nesterov=True),
    dict(momentum=0.9, nesterov=True, maximize=True, weight_decay=0.05),
]


def _sgd_run(kwargs, dtype, steps=5):
    rng = np.random.default_rng(0)
    shapes = [(33, 70), (5,), ()]
    params = [gs.tensor(rng.standard_normal(s).astype(dtype), requires_grad=True) for s in shapes]
    opt = gs.optim.SGD(params, lr=0.05, **kwargs)
    grads = [[rng.standard_normal(s).astype(dtype) for s in shapes] for _ in range(steps)]
    for step_grads in grads:
        for p, g in zip(params, step_grads):
            p.grad = gs.tensor(g)
        opt.step()
    return [p.detach().numpy().copy() for p in params], grads


@needs_kernels
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("kwargs", SGD_CASES, ids=str)
def test_sgd_fused_is_bit_identical_to_numpy_and_matches_torch(kwargs, dtype, torch):
    (compiled, grads), (fallback, _) = both_paths(lambda: _sgd_run(kwargs, dtype))
    for a, b in zip(compiled, fallback):
        assert a.dtype == dtype
        np.testing.assert_array_equal(a, b)
    rng = np.random.default_rng(0)
    params = [torch.tensor(rng.standard_normal(s).astype(dtype), requires_grad=True) for s in [(33, 70), (5,), ()]]
    opt = torch.optim.SGD(params, lr=0.05, **kwargs)
    for step_grads in grads:
        for p, g in zip(params, step_grads):
            p.grad = torch.tensor(g)
        opt.step()
    for a, p in zip(compiled, params):
        np.testing.assert_allclose(a, p.detach().numpy(), rtol=1e-5, atol=1e-6)


@needs_kernels
def test_adam_kernel_rejects_bad_buffers():
    k = native._compiled
    f32, f64 = np.zeros(4, np.float32), np.zeros(4, np.float64)
    with pytest.raises(ValueError, match="grad"):
        k.adam(f32, np.zeros(3, np.float32), f32.copy(), f32.copy(), None, .9, .999, 1e-8, -1e-3, 0., 1., False)
    with pytest.raises(ValueError, match="exp_avg"):
        k.adam(f32, f32.copy(), f64, f32.copy(), None, .9, .999, 1e-8, -1e-3, 0., 1., False)
    with pytest.raises(TypeError, match="float32 or float64"):
        k.adam(np.zeros(4, np.int32), f32, f32.copy(), f32.copy(), None, .9, .999, 1e-8, -1e-3, 0., 1., False)
    with pytest.raises(TypeError, match="param"):
        k.adam(np.zeros(4, np.float32)[::-1], f32, f32.copy(), f32.copy(), None, .9, .999, 1e-8, -1e-3, 0., 1.,
               False)


# ---------------------------------------------------------------- max pooling (channels-last)
POOLS = [  # (input NHWC shape, kernel, stride)
    ((2, 8, 8, 3), 2, 2),
    ((3, 7, 9, 5), 2, 2),  # a last row and column no window covers
    ((2, 9, 9, 4), 3, 2),  # overlapping windows
    ((1, 6, 5, 70), (2, 3), (1, 2)),  # more channels than one block of the kernel
    ((2, 5, 5, 2), 1, 1),
]


def _pool_fn(lib_f, kernel, stride):
    return lambda x: lib_f.max_pool2d(x.permute(0, 3, 1, 2), kernel, stride)


@needs_kernels
@pytest.mark.parametrize("shape,kernel,stride", POOLS)
def test_max_pool_channels_last_matches_torch(shape, kernel, stride, rng, torch):
    x = rng.standard_normal(shape).astype(np.float32)
    check(_pool_fn(F, kernel, stride), _pool_fn(torch.nn.functional, kernel, stride), [x], torch=torch)


@needs_kernels
@pytest.mark.parametrize("shape,kernel,stride", POOLS)
def test_max_pool_ties_go_to_the_first_maximum_like_torch(shape, kernel, stride, rng, torch):
    x = np.maximum(rng.integers(-2, 3, shape), 0).astype(np.float32)  # ReLU-like: many equal maxima
    check(_pool_fn(F, kernel, stride), _pool_fn(torch.nn.functional, kernel, stride), [x], torch=torch,
          gradcheck=False)


@needs_kernels
@pytest.mark.parametrize("shape,kernel,stride", POOLS)
def test_max_pool_compiled_equals_numpy(shape, kernel, stride, rng):
    x = np.maximum(rng.standard_normal(shape), 0).astype(np.float32)
    g = rng.standard_normal(F.max_pool2d(gs.tensor(x).permute(0, 3, 1, 2), kernel, stride).shape).astype(np.float32)

    def run():
        t = gs.tensor(x, requires_grad=True)
        y = F.max_pool2d(t.permute(0, 3, 1, 2), kernel, stride)
        y.backward(gs.tensor(g))
        return y.detach().numpy(), t.grad.numpy()

    (y1, g1), (y2, g2) = both_paths(run)
    np.testing.assert_array_equal(y1, y2)
    if kernel == stride:  # each input element gets at most one gradient: exact
        np.testing.assert_array_equal(g1, g2)
    else:  # overlapping windows: the two paths add the shares in a different order
        np.testing.assert_allclose(g1, g2, rtol=1e-6, atol=1e-6)


@needs_kernels
def test_max_pool_nan_propagates(torch):
    x = np.arange(2 * 4 * 4 * 3, dtype=np.float32).reshape(2, 4, 4, 3)
    x[0, 1, 0, 2] = np.nan
    got = F.max_pool2d(gs.tensor(x).permute(0, 3, 1, 2), 2)
    want = torch.nn.functional.max_pool2d(torch.tensor(x).permute(0, 3, 1, 2), 2)
    np.testing.assert_array_equal(np.isnan(got.numpy()), np.isnan(want.numpy()))


@needs_kernels
def test_max_pool_gradient_follows_the_maxima_of_the_forward():
    # The offsets of the maxima are kept at forward time: changing the input afterwards
    # cannot move the gradient (and needs no saved input).
    x = gs.tensor(np.arange(1 * 4 * 4 * 2, dtype=np.float32).reshape(1, 4, 4, 2), requires_grad=True)
    a = x * 1
    y = F.max_pool2d(a.permute(0, 3, 1, 2), 2)
    a.detach().mul_(-1)
    y.sum().backward()
    want = np.zeros((1, 4, 4, 2), np.float32)
    want[0, 1::2, 1::2, :] = 1  # the bottom-right element is each window's maximum
    np.testing.assert_array_equal(x.grad.numpy(), want)


# ---------------------------------------------------------------- ReLU backward
@needs_kernels
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_relu_backward_compiled_matches_numpy_and_torch(dtype, rng, torch):
    x = rng.standard_normal((3, 5, 6, 4)).astype(dtype)
    check(lambda t: F.relu(t.permute(0, 3, 1, 2)), lambda t: torch.relu(t.permute(0, 3, 1, 2)), [x], torch=torch)

    def run():
        t = gs.tensor(x, requires_grad=True)
        F.relu(t.permute(0, 3, 1, 2)).backward(gs.ones((3, 4, 5, 6), dtype=t.dtype))
        return t.grad.numpy()

    a, b = both_paths(run)
    np.testing.assert_array_equal(a, b)


@needs_kernels
def test_relu_backward_nan_gradient_where_off_is_zero_like_torch(torch):
    # The compiled path only: the NumPy fallback computes g * (out > 0), which keeps a NaN there
    # (a where() would be ~10x slower in NumPy).
    if native.kernels is None:
        pytest.skip("compiled kernels switched off (GRADSTEP_NATIVE=0)")
    x = np.array([-1.0, 2.0, -3.0], np.float32)
    g = np.array([np.nan, 1.0, 5.0], np.float32)
    t = gs.tensor(x, requires_grad=True)
    F.relu(t).backward(gs.tensor(g))
    tt = torch.tensor(x, requires_grad=True)
    torch.relu(tt).backward(torch.tensor(g))
    np.testing.assert_array_equal(t.grad.numpy(), tt.grad.numpy())


# ---------------------------------------------------------------- col2im (convolution input gradient)
CONVS = [  # (input NHWC shape, C_out, kernel, stride, padding, dilation)
    ((2, 7, 7, 3), 4, 3, 1, 1, 1),
    ((2, 9, 8, 6), 5, 3, 2, 1, 1),
    ((1, 10, 10, 4), 3, (3, 2), (2, 1), (2, 0), (2, 1)),
    ((2, 6, 6, 8), 2, 1, 1, 0, 1),
    ((1, 8, 8, 2), 3, 4, 3, 0, 1),  # stride leaves the last pixels out of every window
    ((2, 7, 7, 16), 4, 3, 1, 1, 1),  # enough channels for the pixel-major columns (compiled im2col)
    ((1, 9, 11, 8), 3, 3, 2, 2, 2),
]


def _conv_fn(lib_f, stride, padding, dilation):
    return lambda x, w, b: lib_f.conv2d(x.permute(0, 3, 1, 2), w, b, stride, padding, dilation)


@needs_kernels
@pytest.mark.parametrize("shape,c_out,kernel,stride,padding,dilation", CONVS)
def test_conv_compiled_matches_torch_and_numpy(shape, c_out, kernel, stride, padding, dilation, rng,
                                                          torch):
    kh, kw = (kernel, kernel) if isinstance(kernel, int) else kernel
    x = rng.standard_normal(shape).astype(np.float32)
    w = rng.standard_normal((c_out, shape[3], kh, kw)).astype(np.float32)
    b = rng.standard_normal(c_out).astype(np.float32)
    check(_conv_fn(F, stride, padding, dilation), _conv_fn(torch.nn.functional, stride, padding, dilation),
          [x, w, b], torch=torch, rtol=1e-4, atol=1e-4)

    def run():
        t = gs.tensor(x, requires_grad=True)
        y = _conv_fn(F, stride, padding, dilation)(t, gs.tensor(w), gs.tensor(b))
        y.backward(gs.tensor(np.random.default_rng(1).standard_normal(y.shape).astype(np.float32)))
        return y.detach().numpy(), t.grad.numpy()

    (y1, g1), (y2, g2) = both_paths(run)
    np.testing.assert_array_equal(y1, y2)  # same columns, same GEMM
    np.testing.assert_array_equal(g1, g2)  # same products, summed in the same order


# ---------------------------------------------------------------- GELU (float32, exact)
@needs_kernels
def test_gelu_compiled_matches_float64_torch_and_numpy(rng, torch):
    # The reference is PyTorch in float64: PyTorch's own float32 GELU loses ~1e-6 in the tail.
    x = (rng.standard_normal((4, 33, 65)) * 4).astype(np.float32)
    x.flat[:8] = [0.0, -0.0, 12.9, -12.9, 13.5, -13.5, 40.0, -40.0]
    tx = torch.tensor(x.astype(np.float64), requires_grad=True)
    ty = torch.nn.functional.gelu(tx)
    ty.backward(torch.ones_like(ty))

    def run():
        t = gs.tensor(x, requires_grad=True)
        y = F.gelu(t)
        y.backward(gs.ones_like(y))
        return y.detach().numpy(), t.grad.numpy()

    (y1, g1), (y2, g2) = both_paths(run)
    assert y1.dtype == g1.dtype == np.float32
    np.testing.assert_allclose(y1, ty.detach().numpy(), rtol=1e-6, atol=5e-7)
    np.testing.assert_allclose(g1, tx.grad.numpy(), rtol=1e-6, atol=5e-7)
    np.testing.assert_allclose(y1, y2, rtol=1e-6, atol=5e-7)
    np.testing.assert_allclose(g1, g2, rtol=1e-6, atol=5e-7)


@needs_kernels
def test_gelu_compiled_special_values():
    x = np.array([np.nan, np.inf, -np.inf, 0.0, 1e-30, -1e-30], np.float32)
    got = F.gelu(gs.tensor(x)).numpy()  # PyTorch's float32 GELU gives NaN at ±inf; the limits are inf and 0
    np.testing.assert_allclose(got, np.array([np.nan, np.inf, 0.0, 0.0, 5e-31, -5e-31], np.float32), rtol=1e-6)
    with numpy_fallback():
        np.testing.assert_allclose(F.gelu(gs.tensor(x)).numpy(), got, rtol=1e-6)


# ---------------------------------------------------------------- layer norm
LAYER_NORMS = [((6, 16), (16,), True, True), ((2, 3, 5, 7), (5, 7), True, False), ((4, 9), (9,), False, True),
               ((3, 1), (1,), False, False), ((0, 8), (8,), True, True)]


@needs_kernels
@pytest.mark.parametrize("shape,normalized,has_w,has_b", LAYER_NORMS)
def test_layer_norm_compiled_matches_torch(shape, normalized, has_w, has_b, rng, torch):
    arrays = [(rng.standard_normal(shape) * 3 + 1).astype(np.float32)]
    arrays += [rng.standard_normal(normalized).astype(np.float32) for flag in (has_w, has_b) if flag]

    def call(lib_f):
        def fn(x, *wb):
            wb = list(wb)
            w = wb.pop(0) if has_w else None
            b = wb.pop(0) if has_b else None
            return lib_f.layer_norm(x, normalized, w, b, eps=1e-5)
        return fn

    check(call(F), call(torch.nn.functional), arrays, torch=torch, rtol=1e-4, atol=1e-5)


@needs_kernels
def test_layer_norm_compiled_matches_numpy(rng):
    x = (rng.standard_normal((64, 128)) * 2 + 3).astype(np.float32)
    w, b = rng.standard_normal(128).astype(np.float32), rng.standard_normal(128).astype(np.float32)
    g = rng.standard_normal((64, 128)).astype(np.float32)

    def run():
        ts = [gs.tensor(a, requires_grad=True) for a in (x, w, b)]
        y = F.layer_norm(ts[0], (128,), ts[1], ts[2])
        y.backward(gs.tensor(g))
        return [y.detach().numpy()] + [t.grad.numpy() for t in ts]

    for a, c in zip(*both_paths(run)):
        assert a.dtype == np.float32
        np.testing.assert_allclose(a, c, rtol=1e-5, atol=2e-5)


@needs_kernels
def test_layer_norm_compiled_without_grad_keeps_nothing():
    ln = gs.nn.LayerNorm(8)
    with gs.no_grad():
        y = ln(gs.randn(4, 8))
    assert y.grad_fn is None and y.shape == (4, 8)


@needs_kernels
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_relu_forward_compiled_equals_numpy_and_keeps_layout(dtype, rng):
    x = rng.standard_normal((3, 5, 6, 4)).astype(dtype)
    x.flat[:3] = [np.nan, -0.0, 0.0]
    view = gs.tensor(x).permute(0, 3, 1, 2)  # channels-last, as a convolution output
    a, b = both_paths(lambda: F.relu(view).numpy())
    np.testing.assert_array_equal(a, b)
    assert F.relu(view).numpy().strides == view.numpy().strides
    assert np.isnan(a.transpose(0, 2, 3, 1).flat[0])


# ---------------------------------------------------------------- bias + ReLU (the Linear+ReLU epilogue)
@needs_kernels
def test_bias_relu_kernel_checks_its_operands():
    if native.kernels is None:
        pytest.skip("compiled kernels switched off (GRADSTEP_NATIVE=0)")
    y = np.array([[1.0, -2.0, 3.0], [-1.0, 0.5, -0.0]], np.float32)
    want = np.maximum(y + np.float32([0.5, 1.0, -4.0]), 0)
    native.kernels.bias_relu(y, np.float32([0.5, 1.0, -4.0]))
    np.testing.assert_array_equal(y, want)
    with pytest.raises(ValueError, match="bias_relu: bias of 4"):
        native.kernels.bias_relu(y, np.zeros(4, np.float32))
    with pytest.raises(ValueError, match="bias_relu"):
        native.kernels.bias_relu(y, np.zeros(3, np.float64))
    with pytest.raises(TypeError, match="bias_relu: y must be a writable"):
        native.kernels.bias_relu(y.T, None)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_relu_backward_of_a_gradient_in_another_layout(dtype, rng, torch):
    # a channels-last activation flattened NCHW-wise: its gradient comes back NCHW-contiguous
    x = rng.standard_normal((3, 5, 6, 4)).astype(dtype)
    g = rng.standard_normal((3, 4 * 5 * 6)).astype(dtype)

    def run():
        t = gs.tensor(x, requires_grad=True)
        F.relu(t.permute(0, 3, 1, 2)).flatten(1).backward(gs.tensor(g))
        return t.grad.numpy()

    a, b = both_paths(run)
    np.testing.assert_array_equal(a, b)
    tt = torch.tensor(x, requires_grad=True)
    torch.relu(tt.permute(0, 3, 1, 2)).flatten(1).backward(torch.tensor(g))
    np.testing.assert_array_equal(a, tt.grad.numpy())
