"""Beta, Gamma, Dirichlet and Normal.icdf against torch.distributions: log_prob, entropy, moments
and KL with gradients (check = values + grads + float64 gradcheck), shapes, seeded sampling and
its statistics, no rsample, argument validation."""
import numpy as np
import pytest

import gradstep as gs
import gradstep.distributions as D
from gradstep.errors import InvalidArgument, NotSupported
from tests.oracle import check

DTYPES = [np.float32, np.float64]
R = np.random.default_rng(0)
RTOL = {np.float32: 1e-4, np.float64: 1e-7}


@pytest.mark.parametrize("dtype", DTYPES)
def test_gamma(torch, dtype):
    c, r = R.uniform(0.3, 5, (3, 4)).astype(dtype), R.uniform(0.5, 3, (4,)).astype(dtype)
    x = R.uniform(0.05, 6, (2, 3, 4)).astype(dtype)
    TD = torch.distributions
    check(lambda a, b, v: D.Gamma(a, b).log_prob(v), lambda a, b, v: TD.Gamma(a, b).log_prob(v), [c, r, x],
          torch=torch, rtol=RTOL[dtype])
    check(lambda a, b: D.Gamma(a, b).entropy(), lambda a, b: TD.Gamma(a, b).entropy(), [c, r], torch=torch,
          rtol=RTOL[dtype])
    for name in ("mean", "variance", "stddev", "mode"):
        check(lambda a, b: getattr(D.Gamma(a, b), name), lambda a, b: getattr(TD.Gamma(a, b), name), [c, r],
              torch=torch, rtol=RTOL[dtype])
    d = D.Gamma(gs.tensor(c), gs.tensor(r))
    assert d.batch_shape == (3, 4) and d.event_shape == () and not d.has_rsample
    assert d.log_prob(gs.tensor(x)).dtype == gs.tensor(c).dtype
    # log_prob at 0 with concentration 1 is log(rate), as torch's xlogy gives
    np.testing.assert_allclose(D.Gamma(1.0, 2.0).log_prob(gs.tensor(0.0)).numpy(),
                               TD.Gamma(1.0, 2.0).log_prob(torch.tensor(0.0)).numpy(), rtol=1e-6)


@pytest.mark.parametrize("dtype", DTYPES)
def test_beta(torch, dtype):
    a, b = R.uniform(0.3, 5, (3, 4)).astype(dtype), R.uniform(0.3, 5, (4,)).astype(dtype)
    x = R.uniform(0.02, 0.98, (2, 3, 4)).astype(dtype)
    TD = torch.distributions
    check(lambda p, q, v: D.Beta(p, q).log_prob(v), lambda p, q, v: TD.Beta(p, q).log_prob(v), [a, b, x],
          torch=torch, rtol=RTOL[dtype])
    check(lambda p, q: D.Beta(p, q).entropy(), lambda p, q: TD.Beta(p, q).entropy(), [a, b], torch=torch,
          rtol=RTOL[dtype])
    for name in ("mean", "variance", "stddev"):
        check(lambda p, q: getattr(D.Beta(p, q), name), lambda p, q: getattr(TD.Beta(p, q), name), [a, b],
              torch=torch, rtol=RTOL[dtype])
    a2 = np.array([0.5, 2.0, 3.0, 0.7], dtype)
    b2 = np.array([0.6, 4.0, 0.5, 0.2], dtype)
    np.testing.assert_allclose(D.Beta(gs.tensor(a2), gs.tensor(b2)).mode.numpy(),
                               TD.Beta(torch.tensor(a2), torch.tensor(b2)).mode.numpy(), rtol=1e-6)
    d = D.Beta(gs.tensor(a), gs.tensor(b))
    assert d.batch_shape == (3, 4) and d.event_shape == ()
    np.testing.assert_allclose(D.Beta(1.0, 3.0).log_prob(gs.tensor([0.0, 1.0])).numpy(),
                               TD.Beta(1.0, 3.0).log_prob(torch.tensor([0.0, 1.0])).numpy(), rtol=1e-6)


@pytest.mark.parametrize("dtype", DTYPES)
def test_dirichlet(torch, dtype):
    c = R.uniform(0.3, 4, (2, 3, 4)).astype(dtype)
    x = R.uniform(0.1, 1, (5, 2, 3, 4))
    x = (x / x.sum(-1, keepdims=True)).astype(dtype)
    TD = torch.distributions
    check(lambda a, v: D.Dirichlet(a).log_prob(v), lambda a, v: TD.Dirichlet(a).log_prob(v), [c, x], torch=torch,
          rtol=RTOL[dtype], grad=[True, False])
    check(lambda a: D.Dirichlet(a).entropy(), lambda a: TD.Dirichlet(a).entropy(), [c], torch=torch, rtol=RTOL[dtype])
    for name in ("mean", "variance", "mode"):
        check(lambda a: getattr(D.Dirichlet(a), name), lambda a: getattr(TD.Dirichlet(a), name), [c], torch=torch,
              rtol=RTOL[dtype], gradcheck=name != "mode")
    low = np.array([[0.5, 0.3, 0.9], [2.0, 3.0, 0.5]], dtype)
    np.testing.assert_allclose(D.Dirichlet(gs.tensor(low)).mode.numpy(), TD.Dirichlet(torch.tensor(low)).mode.numpy())
    d = D.Dirichlet(gs.tensor(c))
    assert d.batch_shape == (2, 3) and d.event_shape == (4,)


@pytest.mark.parametrize("dtype", DTYPES)
def test_kl(torch, dtype):
    TD = torch.distributions
    p1, p0, q1, q0 = (R.uniform(0.3, 5, (3, 2)).astype(dtype) for _ in range(4))
    check(lambda a, b, c, d: D.kl_divergence(D.Beta(a, b), D.Beta(c, d)),
          lambda a, b, c, d: TD.kl_divergence(TD.Beta(a, b), TD.Beta(c, d)), [p1, p0, q1, q0], torch=torch,
          rtol=RTOL[dtype], atol=1e-5 if dtype == np.float32 else 1e-9)
    check(lambda a, b, c, d: D.kl_divergence(D.Gamma(a, b), D.Gamma(c, d)),
          lambda a, b, c, d: TD.kl_divergence(TD.Gamma(a, b), TD.Gamma(c, d)), [p1, p0, q1, q0], torch=torch,
          rtol=RTOL[dtype], atol=1e-5 if dtype == np.float32 else 1e-9)
    cp, cq = R.uniform(0.3, 5, (3, 4)).astype(dtype), R.uniform(0.3, 5, (4,)).astype(dtype)
    check(lambda a, b: D.kl_divergence(D.Dirichlet(a), D.Dirichlet(b)),
          lambda a, b: TD.kl_divergence(TD.Dirichlet(a), TD.Dirichlet(b)), [cp, cq], torch=torch,
          rtol=RTOL[dtype], atol=1e-5 if dtype == np.float32 else 1e-9)


@pytest.mark.parametrize("dtype", DTYPES)
def test_normal_icdf(torch, dtype):
    loc, scale = R.standard_normal((3, 4)).astype(dtype), R.uniform(0.5, 2, (4,)).astype(dtype)
    p = R.uniform(0.01, 0.99, (2, 3, 4)).astype(dtype)
    TD = torch.distributions
    check(lambda l, s, v: D.Normal(l, s).icdf(v), lambda l, s, v: TD.Normal(l, s).icdf(v), [loc, scale, p],
          torch=torch, rtol=RTOL[dtype])
    d = D.Normal(gs.tensor(loc), gs.tensor(scale))
    np.testing.assert_allclose(d.cdf(d.icdf(gs.tensor(p))).numpy(), p, rtol=1e-5 if dtype == np.float32 else 1e-12)


def test_sampling_shapes_seed_and_statistics():
    gs.manual_seed(3)
    g = D.Gamma(gs.tensor([0.5, 2.0, 9.0]), gs.tensor([1.0, 2.0, 0.5]))
    s = g.sample((20000,))
    assert tuple(s.shape) == (20000, 3) and s.dtype == gs.float32 and not s.requires_grad
    assert bool((s > 0).all())
    np.testing.assert_allclose(s.numpy().mean(0), g.mean.numpy(), rtol=0.05)
    np.testing.assert_allclose(s.numpy().var(0), g.variance.numpy(), rtol=0.1)
    gs.manual_seed(3)
    np.testing.assert_array_equal(g.sample((20000,)).numpy(), s.numpy())

    b = D.Beta(gs.tensor([0.5, 2.0], dtype=gs.float64), gs.tensor([3.0, 2.0], dtype=gs.float64))
    s = b.sample((4, 20000))
    assert tuple(s.shape) == (4, 20000, 2) and s.dtype == gs.float64
    assert bool(((s > 0) & (s < 1)).all())
    np.testing.assert_allclose(s.numpy().reshape(-1, 2).mean(0), b.mean.numpy(), rtol=0.03)
    np.testing.assert_allclose(s.numpy().reshape(-1, 2).var(0), b.variance.numpy(), rtol=0.06)

    dr = D.Dirichlet(gs.tensor([[1.0, 2.0, 3.0], [0.5, 0.5, 4.0]]))
    s = dr.sample((20000,))
    assert tuple(s.shape) == (20000, 2, 3)
    np.testing.assert_allclose(s.numpy().sum(-1), 1.0, rtol=1e-5)
    np.testing.assert_allclose(s.numpy().mean(0), dr.mean.numpy(), rtol=0.05)
    assert tuple(D.Beta(2.0, 3.0).sample().shape) == () and tuple(D.Gamma(2.0, 3.0).sample(5).shape) == (5,)


def test_no_rsample_and_validation(torch):
    for d in (D.Gamma(2.0, 1.0), D.Beta(2.0, 3.0), D.Dirichlet(gs.tensor([1.0, 2.0]))):
        assert not d.has_rsample
        with pytest.raises(NotSupported):
            d.rsample()
        with pytest.raises(NotImplementedError):  # as torch's non-reparameterisable distributions
            d.rsample((2,))
    with pytest.raises(InvalidArgument, match="concentration"):
        D.Gamma(gs.tensor([-1.0]), gs.tensor([1.0]))
    with pytest.raises(InvalidArgument, match="rate"):
        D.Gamma(1.0, 0.0)
    with pytest.raises(InvalidArgument, match="Dirichlet.*concentration"):  # torch validates through its Dirichlet too
        D.Beta(1.0, -2.0)
    with pytest.raises(InvalidArgument, match="concentration"):
        D.Dirichlet(gs.tensor([1.0, 0.0]))
    with pytest.raises(InvalidArgument, match="at least one-dimensional"):
        D.Dirichlet(gs.tensor(1.0))
    with pytest.raises(InvalidArgument, match="support"):
        D.Gamma(1.0, 1.0).log_prob(gs.tensor(-1.0))
    with pytest.raises(InvalidArgument, match="support"):
        D.Beta(1.0, 1.0).log_prob(gs.tensor(1.5))
    with pytest.raises(InvalidArgument, match="support"):
        D.Dirichlet(gs.tensor([1.0, 2.0])).log_prob(gs.tensor([0.5, 0.6]))
    assert "GreaterThanEq(lower_bound=0.0)" == repr(D.Gamma(1.0, 1.0).support) == repr(
        torch.distributions.Gamma(1.0, 1.0).support)
