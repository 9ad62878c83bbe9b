"""Reductions against PyTorch (values, gradients) and finite differences."""
import numpy as np
import pytest

import gradstep as gs
from tests.oracle import check

# (method, kwargs, input shape): the same Tensor-method call runs in gradstep and torch.
CASES = [
    ("sum", {}, (3, 4)),
    ("sum", dict(dim=1), (3, 4)),
    ("sum", dict(dim=-1, keepdim=True), (2, 3, 4)),
    ("sum", dict(dim=(0, 2)), (2, 3, 4)),
    ("sum", dict(dim=(-1, 0), keepdim=True), (2, 3, 4)),
    ("sum", dict(dim=()), (2, 3)),
    ("sum", dict(dim=0), (0, 3)),
    ("sum", dict(dim=1), (2, 0, 3)),
    ("sum", dict(dim=0), ()),
    ("sum", dict(dim=1), (4, 1)),
    ("mean", {}, (3, 4)),
    ("mean", dict(dim=(0, 2), keepdim=True), (2, 3, 4)),
    ("mean", dict(dim=-2), (2, 3, 4)),
    ("mean", dict(dim=0), (0, 3)),
    ("var", {}, (3, 4)),
    ("var", dict(dim=1), (3, 4)),
    ("var", dict(dim=(0, 2), keepdim=True), (2, 3, 4)),
    ("var", dict(dim=-1, correction=0), (2, 5)),
    ("var", dict(dim=0, unbiased=False, keepdim=True), (4, 3)),
    ("var", dict(dim=1, correction=2), (3, 5)),
    ("std", {}, (3, 4)),
    ("std", dict(dim=1, keepdim=True), (3, 4)),
    ("std", dict(dim=(0, -1)), (2, 3, 4)),
    ("std", dict(dim=0, correction=0), (4, 3)),
    ("amax", {}, (3, 4)),
    ("amax", dict(dim=(0, 2)), (2, 3, 4)),
    ("amax", dict(dim=-1, keepdim=True), (3, 4)),
    ("amin", dict(dim=1), (3, 4)),
    ("amin", dict(dim=(0, 1), keepdim=True), (2, 3, 2)),
    ("max", {}, (3, 4)),
    ("min", {}, (2, 3, 2)),
    ("prod", {}, (2, 3)),
    ("prod", dict(dim=1), (3, 4)),
    ("prod", dict(dim=-1, keepdim=True), (2, 3, 4)),
    ("prod", dict(dim=0), (0, 3)),
    ("logsumexp", dict(dim=1), (3, 4)),
    ("logsumexp", dict(dim=(0, 2), keepdim=True), (2, 3, 4)),
    ("logsumexp", dict(dim=-1), (5,)),
    ("cumsum", dict(dim=0), (3, 4)),
    ("cumsum", dict(dim=-1), (2, 3, 4)),
    ("cumsum", dict(dim=0), (0,)),
    ("norm", {}, (3, 4)),
    ("norm", dict(dim=1), (3, 4)),
    ("norm", dict(p=1, dim=-1, keepdim=True), (3, 4)),
    ("norm", dict(p=3, dim=(0, 1)), (2, 3, 2)),
    ("norm", dict(p=float("inf"), dim=1), (3, 4)),
    ("norm", dict(p=float("-inf")), (3, 4)),
    ("norm", dict(p="fro", dim=(0, 1)), (3, 4)),
    ("norm", dict(p=0.5, dim=0), (3, 4)),
    ("norm", dict(p=-1.5), (2, 3)),
    ("norm", dict(p=0, dim=1), (2, 3)),
    ("logsumexp", dict(dim=0), ()),
    ("prod", dict(dim=0), ()),
    ("amax", dict(dim=0), ()),
    ("var", dict(dim=0, correction=0), (1,)),
]


def _away_from_zero(rng, shape):
    a = rng.standard_normal(shape)
    return np.where(np.abs(a) < 0.1, 0.5, a).astype(np.float32)  # no kinks of abs/norm p=1 near 0


@pytest.mark.parametrize("method,kwargs,shape", CASES, ids=lambda v: str(v))
def test_reduction(method, kwargs, shape, torch, rng):
    a = _away_from_zero(rng, shape)
    fn = lambda x: getattr(x, method)(**kwargs)  # noqa: E731
    check(fn, fn, [a], torch=torch)


@pytest.mark.parametrize("method", ["max", "min"])
@pytest.mark.parametrize("dim,keepdim,shape", [
    (1, False, (3, 4)), (-1, True, (2, 3, 4)), (0, False, (5,)), (0, True, (4, 1)), (1, False, (0, 3)),
    (0, False, ()), (-1, True, ()),
])
def test_max_min_with_dim(method, dim, keepdim, shape, torch, rng):
    a = rng.standard_normal(shape).astype(np.float32)
    out = check(lambda x: getattr(x, method)(dim, keepdim).values,
                lambda x: getattr(x, method)(dim, keepdim).values, [a], torch=torch)
    assert out.shape == getattr(torch.tensor(a), method)(dim, keepdim).values.shape
    got = getattr(gs.tensor(a), method)(dim=dim, keepdim=keepdim)
    want = getattr(torch.tensor(a), method)(dim=dim, keepdim=keepdim)
    assert got.indices.dtype == gs.int64
    np.testing.assert_array_equal(got.indices.numpy(), want.indices.numpy())
    values, indices = got  # unpacks like torch.return_types
    assert values is got.values and indices is got.indices


def test_max_ties_follow_pytorch(torch):
    a = np.array([[1.0, 3.0, 3.0, 0.0], [2.0, 2.0, 0.0, 2.0], [5.0, 5.0, 5.0, 5.0]], np.float32)
    # max(dim): the gradient goes to the one chosen index (the first maximum).
    check(lambda x: x.max(1).values, lambda x: x.max(1).values, [a], torch=torch, gradcheck=False)
    check(lambda x: x.min(0).values, lambda x: x.min(0).values, [a], torch=torch, gradcheck=False)
    # full max(), amax, amin: tied extremes share the gradient evenly.
    check(lambda x: x.max(), lambda x: x.max(), [a], torch=torch, gradcheck=False)
    check(lambda x: x.amax(1), lambda x: x.amax(1), [a], torch=torch, gradcheck=False)
    check(lambda x: x.amin(dim=(0, 1)), lambda x: x.amin(dim=(0, 1)), [a], torch=torch, gradcheck=False)
    np.testing.assert_array_equal(gs.tensor(a).argmax(1).numpy(), torch.tensor(a).argmax(1).numpy())


def test_max_with_tensor_is_maximum(torch, rng):
    a, b = rng.standard_normal((2, 3, 4)).astype(np.float32)
    check(lambda x, y: x.max(y), lambda x, y: x.max(y), [a, b], torch=torch)
    check(lambda x, y: gs.min(x, y), lambda x, y: torch.min(x, y), [a, b], torch=torch)


@pytest.mark.parametrize("method", ["argmax", "argmin"])
@pytest.mark.parametrize("kwargs", [{}, dict(keepdim=True), dict(dim=1), dict(dim=-1, keepdim=True), dict(dim=0)])
def test_argmax_argmin(method, kwargs, torch, rng):
    a = rng.standard_normal((3, 4, 2)).astype(np.float32)
    got = getattr(gs.tensor(a), method)(**kwargs)
    want = getattr(torch.tensor(a), method)(**kwargs)
    assert got.dtype == gs.int64
    assert got.shape == tuple(want.shape)
    np.testing.assert_array_equal(got.numpy(), want.numpy())


@pytest.mark.parametrize("zeros", [[(1, 2)], [(0, 0), (2, 3)], [(1, 0), (1, 3)], [(0, 0), (0, 1), (1, 1)]])
@pytest.mark.parametrize("kwargs", [{}, dict(dim=1), dict(dim=0, keepdim=True)])
def test_prod_with_zeros(zeros, kwargs, torch, rng):
    a = _away_from_zero(rng, (3, 4))
    for idx in zeros:
        a[idx] = 0.0
    fn = lambda x: x.prod(**kwargs)  # noqa: E731
    check(fn, fn, [a], torch=torch)


def test_logsumexp_is_stable(torch):
    a = np.array([[1e4, 1e4 - 1, -1e4], [-1e4, -1e4 - 2, -1e4 + 1], [0.0, 1.0, 2.0]], np.float32)
    out = check(lambda x: x.logsumexp(1), lambda x: x.logsumexp(1), [a], torch=torch)
    assert np.isfinite(out.detach().numpy()).all()
    inf = np.array([[-np.inf, -np.inf], [np.inf, 1.0], [-np.inf, 0.0]], np.float32)
    np.testing.assert_array_equal(gs.tensor(inf).logsumexp(1).numpy(), torch.tensor(inf).logsumexp(1).numpy())


def test_logsumexp_over_empty_dim_is_minus_inf(torch):
    a = np.zeros((3, 0), np.float32)
    out = check(lambda x: x.logsumexp(1), lambda x: x.logsumexp(1), [a], torch=torch, gradcheck=False)
    assert (out.detach().numpy() == -np.inf).all()


def test_logsumexp_of_ints_is_float(torch):
    a = np.arange(6).reshape(2, 3)
    got, want = gs.tensor(a).logsumexp(1), torch.tensor(a).logsumexp(1)
    assert got.dtype == gs.float32
    np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-6)


@pytest.mark.parametrize("method,kwargs", [
    ("sum", {}), ("sum", dict(dim=1)), ("prod", {}), ("prod", dict(dim=0)), ("cumsum", dict(dim=1)),
    ("max", {}), ("amin", dict(dim=1)), ("all", {}), ("any", dict(dim=1)), ("all", dict(dim=(0, 1), keepdim=True)),
    ("count_nonzero", {}), ("count_nonzero", dict(dim=1)), ("count_nonzero", dict(dim=(0, 1))),
])
@pytest.mark.parametrize("dtype", [np.int64, np.int32, np.bool_])
def test_integer_and_bool_inputs(method, kwargs, dtype, torch, rng):
    a = rng.integers(-2, 3, (3, 4)).astype(dtype)
    got = getattr(gs.tensor(a), method)(**kwargs)
    want = getattr(torch.tensor(a), method)(**kwargs)
    assert str(got.dtype) == str(want.dtype).replace("torch.", "")
    np.testing.assert_array_equal(got.numpy(), want.numpy())


@pytest.mark.parametrize("method,kwargs", [("all", {}), ("any", dict(dim=0)), ("all", dict(dim=1, keepdim=True))])
def test_all_any_on_floats(method, kwargs, torch):
    a = np.array([[0.0, 1.0, 2.0], [0.5, 0.0, 0.0]], np.float32)
    got = getattr(gs.tensor(a, requires_grad=True), method)(**kwargs)
    want = getattr(torch.tensor(a), method)(**kwargs)
    assert got.dtype == gs.bool and not got.requires_grad
    np.testing.assert_array_equal(got.numpy(), want.numpy())


def test_dtype_arguments(torch, rng):
    a = rng.standard_normal((3, 4)).astype(np.float32)
    for method, kw in [("sum", dict(dim=1)), ("prod", {}), ("cumsum", dict(dim=0))]:
        got = getattr(gs.tensor(a), method)(dtype=gs.float64, **kw)
        want = getattr(torch.tensor(a), method)(dtype=torch.float64, **kw)
        assert got.dtype == gs.float64
        np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-6)


def test_axis_alias_and_legacy_var_overload(torch, rng):
    a = rng.standard_normal((3, 4)).astype(np.float32)
    x, t = gs.tensor(a), torch.tensor(a)
    np.testing.assert_allclose(gs.sum(x, axis=1).numpy(), t.sum(1).numpy(), rtol=1e-6)
    np.testing.assert_allclose(x.amax(axis=0).numpy(), t.amax(0).numpy())
    np.testing.assert_allclose(gs.var(x, False).numpy(), torch.var(t, False).numpy(), rtol=1e-6)
    np.testing.assert_allclose(gs.std(x, 1, True, True).numpy(), torch.std(t, 1, True, True).numpy(), rtol=1e-6)


def test_zero_std_and_norm_have_zero_gradient(torch):
    for fn in (lambda x: x.std(), lambda x: x.norm(), lambda x: x.norm(p=3), lambda x: x.std(1)):
        check(fn, fn, [np.zeros((2, 3), np.float32)], torch=torch, gradcheck=False)


def test_float32_stays_float32():
    x = gs.randn(3, 4, requires_grad=True)
    fns = [lambda t: t.sum(), lambda t: t.mean(1), lambda t: t.var(0), lambda t: t.std(), lambda t: t.max(),
           lambda t: t.max(1).values, lambda t: t.amin(0), lambda t: t.prod(1), lambda t: t.logsumexp(1),
           lambda t: t.cumsum(0), lambda t: t.norm(), lambda t: t.norm(p=3, dim=1)]
    for f in fns:
        y = f(x)
        assert y.dtype == gs.float32
        y.sum().backward()
        assert x.grad.dtype == gs.float32
        x.grad = None


def test_zero_dim_results_are_arrays():
    x = gs.randn(3, requires_grad=True)
    for y in (x.sum(), x.mean(), x.var(), x.max(), x.prod(), x.logsumexp(0), x.norm()):
        assert isinstance(y._data, np.ndarray) and y.shape == ()


def test_sum_and_mean_backward_are_broadcast_views():
    x = gs.randn(50, 40, requires_grad=True)
    for y in (x.sum(1), x.mean(), x.sum(0, keepdim=True)):
        g = y._ctx.backward(np.ones(y.shape, np.float32))
        assert g.shape == (50, 40) and 0 in g.strides  # a view of the small gradient, no copy


def test_errors():
    x = gs.randn(2, 3)
    with pytest.raises(gs.ShapeError, match=r"max: can't reduce a tensor of shape \(0, 3\)"):
        gs.zeros(0, 3).max()
    with pytest.raises(gs.ShapeError, match=r"amax: can't reduce dimension 0 of size 0"):
        gs.zeros(0, 3).amax(0)
    with pytest.raises(gs.ShapeError, match=r"argmin: can't reduce dimension 1 of size 0"):
        gs.zeros(2, 0).argmin(1)
    with pytest.raises(IndexError, match=r"sum: dim 2 is out of range"):
        x.sum(2)
    with pytest.raises(gs.DTypeError, match=r"mean: expected a floating point tensor, got dtype int64"):
        gs.tensor([1, 2]).mean()
    with pytest.raises(gs.DTypeError, match=r"var: expected a floating point tensor"):
        gs.tensor([1, 2]).var()
    with pytest.raises(gs.DTypeError, match=r"prod: dim must be a single int"):
        x.prod((0, 1))
    with pytest.raises(ValueError, match=r"names the same dimension more than once"):
        x.sum((1, -1))
    with pytest.raises(ValueError, match=r"either unbiased= or correction="):
        x.var(0, unbiased=True, correction=0)
    with pytest.raises(gs.DTypeError, match=r"max: dim must be an int"):
        x.max((0, 1))
    with pytest.raises(ValueError, match=r"norm: p must be a number or 'fro'"):
        x.norm(p="nuc")


@pytest.mark.parametrize("method,kwargs", [("amax", dict(dim=1)), ("std", dict(dim=1)), ("logsumexp", dict(dim=1)),
                                           ("prod", dict(dim=1)), ("norm", dict(dim=1)), ("max", {})])
def test_changing_a_saved_output_in_place_is_caught(method, kwargs):
    x = gs.randn(3, 4, requires_grad=True)
    y = getattr(x, method)(**kwargs)
    y += 1
    with pytest.raises(gs.GradError, match=r"its output was modified by an in-place operation"):
        y.sum().backward()
