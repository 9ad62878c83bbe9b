"""Special functions (lgamma, digamma, polygamma, erfinv, i0, sinc, ndtr/ndtri/log_ndtr, entr, xlog1py,
mvlgamma) and the gradstep.special namespace against PyTorch: values over wide ranges (negative
non-integers, near poles, large x), gradients with ``check`` and float64 gradcheck, float32 kept."""
import numpy as np
import pytest

import gradstep as gs
from gradstep import special as S
from gradstep.errors import ArgumentTypeError, InvalidArgument
from tests.oracle import check

# wide ranges: negative non-integers, values close to poles, large arguments
WIDE = np.concatenate([
    np.linspace(-30.7, 30.3, 311), [-5.5, -2.999, -2.001, -1.5, -1e-3, -1e-8, 1e-8, 1e-3, 0.5, 1.0, 2.0, 1.4616321],
    [1e2, 1e3, 1e5, 1e10, 1e20, 1e30],
])
POLES = np.array([0.0, -1.0, -2.0, -7.0, -1e20])


def _values(fn_gs, fn_t, x, torch, rtol, atol=0.0):
    got = fn_gs(gs.tensor(x)).numpy()
    want = fn_t(torch.tensor(x)).numpy()
    assert got.dtype == x.dtype
    np.testing.assert_allclose(got, want, rtol=rtol, atol=atol, equal_nan=True)


@pytest.mark.parametrize("dtype, rtol, atol", [(np.float64, 1e-13, 1e-14), (np.float32, 2e-6, 1e-6)])
def test_lgamma_values(torch, dtype, rtol, atol):
    x = WIDE.astype(dtype)
    x = x[np.abs(x) < 3e38]
    _values(gs.lgamma, torch.lgamma, x, torch, rtol, atol)
    _values(lambda t: t.lgamma(), lambda t: t.lgamma(), x, torch, rtol, atol)
    _values(S.gammaln, torch.special.gammaln, x, torch, rtol, atol)
    _values(gs.lgamma, torch.lgamma, np.array([*POLES, np.inf, -np.inf, np.nan], dtype), torch, 0)
    assert gs.lgamma(gs.tensor(np.float32(1e38))).dtype == gs.float32


@pytest.mark.parametrize("dtype, rtol, atol", [(np.float64, 1e-12, 1e-13), (np.float32, 5e-6, 2e-6)])
def test_digamma_values(torch, dtype, rtol, atol):
    x = WIDE.astype(dtype)
    # near poles digamma ~ -1/(x - n): relative accuracy follows the input's rounding
    _values(gs.digamma, torch.digamma, x, torch, rtol, atol)
    _values(S.psi, torch.special.psi, x, torch, rtol, atol)
    _values(gs.digamma, torch.digamma, np.array([*POLES, -0.0, np.inf, -np.inf, np.nan], dtype), torch, 0)


@pytest.mark.parametrize("n", [1, 2, 3, 4, 7])
@pytest.mark.parametrize("dtype, rtol", [(np.float64, 1e-11), (np.float32, 1e-5)])
def test_polygamma_values(torch, n, dtype, rtol):
    x = np.concatenate([np.linspace(-9.7, 30.3, 141), [-2.999, -2.001, -0.5, 1e-3, 0.5, 1.0, 1e2, 1e4]]).astype(dtype)
    got = gs.polygamma(n, gs.tensor(x)).numpy()
    want = torch.polygamma(n, torch.tensor(x)).numpy()
    assert got.dtype == x.dtype
    finite = np.isfinite(want)
    if n == 1:  # torch's trigamma stops its asymptotic series early: ~1e-9 off (see below); in float32 it
        rtol = 2e-9 if dtype == np.float64 else 3e-4  # also computes pi^2 / sin(pi x)^2 in float32 near poles
    np.testing.assert_allclose(got[finite], want[finite], rtol=rtol, atol=1e-300)
    assert np.array_equal(np.isinf(got), np.isinf(want))
    np.testing.assert_allclose(gs.tensor(x).polygamma(n).numpy(), got)
    np.testing.assert_allclose(S.polygamma(n, gs.tensor(x)).numpy(), got)
    at_poles = gs.polygamma(n, gs.tensor(POLES.astype(dtype))).numpy()
    if n == 1:  # torch's trigamma gives pi^2 / sin(pi x)^2 with a rounded sin: huge but finite at -1, -2, ...
        np.testing.assert_array_equal(at_poles, np.inf)
    else:
        np.testing.assert_array_equal(at_poles, torch.polygamma(n, torch.tensor(POLES.astype(dtype))).numpy())


def test_trigamma_exact_values():
    # psi1(1) = pi^2/6, psi1(1/2) = pi^2/2, psi1(-1/2) = pi^2/2 + 4, psi2(1) = -2 zeta(3)
    got = gs.polygamma(1, gs.tensor([1.0, 0.5, -0.5], dtype=gs.float64)).numpy()
    np.testing.assert_allclose(got, [np.pi ** 2 / 6, np.pi ** 2 / 2, np.pi ** 2 / 2 + 4], rtol=2e-15)
    np.testing.assert_allclose(gs.polygamma(2, gs.tensor(1.0, dtype=gs.float64)).item(),
                               -2 * 1.2020569031595942, rtol=2e-15)


def test_polygamma_zero_is_digamma_and_bad_n(torch):
    x = gs.tensor([0.3, 2.5, -1.5])
    np.testing.assert_array_equal(gs.polygamma(0, x).numpy(), gs.digamma(x).numpy())
    with pytest.raises(InvalidArgument, match="negative n"):
        gs.polygamma(-1, x)
    with pytest.raises(ArgumentTypeError, match="polygamma: n must be an int"):
        gs.polygamma(1.5, x)


@pytest.mark.parametrize("dtype, rtol", [(np.float64, 1e-11), (np.float32, 2e-6)])
def test_erfinv_values(torch, dtype, rtol):
    y = np.concatenate([np.linspace(-0.999, 0.999, 201), [0.0, 1e-10, -1e-30, 0.5, 0.4999, 0.9999999,
                        1 - 1e-12, -(1 - 1e-15), 1.0, -1.0, 1.5, -2.0, np.nan]]).astype(dtype)
    _values(gs.erfinv, torch.erfinv, y, torch, rtol)
    _values(lambda t: t.erfinv(), lambda t: t.erfinv(), y, torch, rtol)
    _values(S.erfinv, torch.special.erfinv, y, torch, rtol)
    # round trip through erf, in float64
    y64 = np.linspace(-0.9999, 0.9999, 51)
    np.testing.assert_allclose(gs.erf(gs.erfinv(gs.tensor(y64))).numpy(), y64, rtol=1e-14)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_gradients(torch, dtype, rng):
    pos = rng.uniform(0.3, 8.0, (3, 4)).astype(dtype)
    neg = rng.uniform(-4.9, -0.1, (7,)).astype(dtype)
    neg = np.where(np.abs(neg - np.round(neg)) < 0.1, neg + 0.3, neg).astype(dtype)  # away from poles
    rtol = 2e-4 if dtype == np.float32 else 1e-7
    for x in (pos, neg):
        check(gs.lgamma, torch.lgamma, [x], torch=torch, rtol=rtol)
        check(gs.digamma, torch.digamma, [x], torch=torch, rtol=rtol)
        for n in (1, 2, 3):
            check(lambda t, n=n: gs.polygamma(n, t), lambda t, n=n: torch.polygamma(n, t), [x], torch=torch, rtol=rtol)
    unit = rng.uniform(-0.95, 0.95, (9,)).astype(dtype)
    check(gs.erfinv, torch.erfinv, [unit], torch=torch, rtol=rtol)
    check(lambda t: t.lgamma(), lambda t: t.lgamma(), [pos], torch=torch, rtol=rtol, gradcheck=False)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_special_namespace_new_ops(torch, dtype, rng):
    rtol = 1e-4 if dtype == np.float32 else 1e-7
    x = rng.uniform(-4, 4, (2, 5)).astype(dtype)
    p = rng.uniform(0.02, 0.98, (2, 5)).astype(dtype)
    check(S.i0, torch.special.i0, [x], torch=torch, rtol=rtol)
    check(gs.i0, torch.i0, [x * 8], torch=torch, rtol=rtol, gradcheck=False)  # i0(30) ~ 1e12 drowns gradcheck's sums
    check(S.sinc, torch.special.sinc, [x], torch=torch, rtol=rtol)
    check(S.ndtr, torch.special.ndtr, [x], torch=torch, rtol=rtol)
    check(S.ndtri, torch.special.ndtri, [p], torch=torch, rtol=rtol)
    check(S.log_ndtr, torch.special.log_ndtr, [x * 5], torch=torch, rtol=rtol)
    check(S.entr, torch.special.entr, [np.abs(x) + 0.1], torch=torch, rtol=rtol)
    y = rng.uniform(-0.9, 3, (2, 5)).astype(dtype)
    check(S.xlog1py, torch.special.xlog1py, [x, y], torch=torch, rtol=rtol)
    check(lambda t: S.multigammaln(t, 3), lambda t: torch.special.multigammaln(t, 3), [np.abs(x) + 1.1],
          torch=torch, rtol=rtol)
    check(lambda t: t.mvlgamma(2), lambda t: t.mvlgamma(2), [np.abs(x) + 0.6], torch=torch, rtol=rtol,
          gradcheck=False)


@pytest.mark.parametrize("dtype, rtol", [(np.float64, 1e-12), (np.float32, 2e-6)])
def test_special_values_wide(torch, dtype, rtol):
    x = np.concatenate([np.linspace(-40, 40, 161), [0.0, -1e-9, 1e-9, 700.0, -700.0]]).astype(dtype)
    p = np.array([0, 1e-300, 1e-30, 1e-10, 0.001, 0.2, 0.5, 0.7, 0.999, 1 - 1e-12, 1, -0.1, 1.1]).astype(dtype)
    ok = np.abs(x) < 700 if dtype == np.float32 else np.ones(x.shape, bool)
    # torch's ndtr is (1 + erf(x / sqrt2)) / 2, which is 0 below x ~ -8.3; ours keeps the tail (0.5 erfc)
    _values(S.ndtr, torch.special.ndtr, x, torch, rtol, 1e-15 if dtype == np.float64 else 1e-7)
    np.testing.assert_allclose(S.ndtr(gs.tensor(np.array([-20.0]))).numpy(), [2.7536241186062337e-89], rtol=1e-10)
    _values(S.log_ndtr, torch.special.log_ndtr, x, torch, rtol if dtype == np.float64 else 2e-5, 1e-300)
    _values(S.ndtri, torch.special.ndtri, p, torch, rtol)
    _values(S.sinc, torch.special.sinc, x, torch, rtol, 1e-15 if dtype == np.float64 else 1e-7)  # sin(pi n) != 0
    _values(S.entr, torch.special.entr, x, torch, rtol)
    xs = x[ok & (np.abs(x) < 80)]
    _values(S.i0, torch.special.i0, xs, torch, rtol)
    x2 = np.array([0.0, 1.0, -1.0, 0.0, 2.0]).astype(dtype)
    y2 = np.array([np.nan, -1.0, 0.5, -1.0, np.inf]).astype(dtype)
    np.testing.assert_allclose(S.xlog1py(gs.tensor(x2), gs.tensor(y2)).numpy(),
                               torch.special.xlog1py(torch.tensor(x2), torch.tensor(y2)).numpy(), rtol=1e-6)


def test_i0_gradient_is_i1(torch):
    x = np.array([-60.0, -25.0, -19.9, -3.0, 0.0, 0.7, 15.0, 20.0, 45.0, 300.0])
    t = torch.tensor(x, requires_grad=True)
    torch.special.i0(t).sum().backward()
    g = gs.tensor(x, requires_grad=True)
    S.i0(g).sum().backward()
    np.testing.assert_allclose(g.grad.numpy(), t.grad.numpy(), rtol=1e-12)


def test_reused_special_names(torch, rng):
    x = rng.standard_normal((3, 4)).astype(np.float32)
    p = rng.uniform(0.1, 0.9, (3, 4)).astype(np.float32)
    pairs = [(S.erf, torch.special.erf, x), (S.erfc, torch.special.erfc, x), (S.expit, torch.special.expit, x),
             (S.logit, torch.special.logit, p), (S.log1p, torch.special.log1p, p), (S.expm1, torch.special.expm1, x),
             (S.exp2, torch.special.exp2, x)]
    for f, tf, a in pairs:
        check(f, tf, [a], torch=torch, rtol=1e-4)
    check(lambda t: S.logsumexp(t, 1), lambda t: torch.special.logsumexp(t, 1), [x], torch=torch)
    check(lambda t: S.softmax(t, 0), lambda t: torch.special.softmax(t, 0), [x], torch=torch)
    check(lambda t: S.log_softmax(t, -1), lambda t: torch.special.log_softmax(t, -1), [x], torch=torch)
    check(lambda t: S.log_softmax(t, -1, dtype=gs.float64), lambda t: torch.special.log_softmax(t, -1, dtype=torch.float64),
          [x], torch=torch)
    check(S.xlogy, torch.special.xlogy, [p, p + 0.5], torch=torch)
    np.testing.assert_array_equal(S.round(gs.tensor(x * 10)).numpy(), torch.special.round(torch.tensor(x * 10)).numpy())
    np.testing.assert_array_equal(S.round(gs.tensor(x), decimals=2).numpy(),
                                  torch.special.round(torch.tensor(x), decimals=2).numpy())
    check(gs.sinc, torch.sinc, [x], torch=torch, rtol=1e-4)
    assert gs.tensor(x).sinc().dtype == gs.float32 and gs.tensor(x).i0().dtype == gs.float32


def test_int_inputs_give_float32(torch):
    for name in ("lgamma", "digamma", "erfinv", "i0", "sinc"):
        got, want = getattr(gs, name)(gs.tensor([1, 2, 3])), getattr(torch, name)(torch.tensor([1, 2, 3]))
        assert got.dtype == gs.float32 and str(want.dtype) == "torch.float32"
        np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-6, atol=1e-7)


def test_mvlgamma_errors():
    with pytest.raises(InvalidArgument, match=r"mvlgamma: all elements must be greater than \(p-1\)/2"):
        gs.mvlgamma(gs.tensor([0.4, 2.0]), 3)
    with pytest.raises(InvalidArgument, match="p has to be greater than or equal to 1"):
        S.multigammaln(gs.tensor([2.0]), 0)
