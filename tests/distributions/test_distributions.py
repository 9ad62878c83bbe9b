"""gradstep.distributions against torch.distributions: densities, entropies, moments, KL,
gradients of log_prob and of rsample-based losses, sample shapes, seeding, sample statistics
and argument validation."""
import numpy as np
import pytest

import gradstep as gs
import gradstep.distributions as D
from gradstep.errors import InvalidArgument
from tests.oracle import check

DTYPES = [np.float32, np.float64]
R = np.random.default_rng(0)


def _spd(n, batch=()):
    a = R.standard_normal(batch + (n, n))
    return a @ np.swapaxes(a, -1, -2) + n * np.eye(n)


# --- log_prob / entropy / moments with gradients (check = values + grads + float64 gradcheck) ---

@pytest.mark.parametrize("dtype", DTYPES)
def test_normal_log_prob_entropy_cdf(torch, dtype):
    loc, scale = R.standard_normal((3, 4)).astype(dtype), R.uniform(0.5, 2, (4,)).astype(dtype)
    x = R.standard_normal((2, 3, 4)).astype(dtype)
    check(lambda l, s, v: D.Normal(l, s).log_prob(v), lambda l, s, v: torch.distributions.Normal(l, s).log_prob(v),
          [loc, scale, x], torch=torch)
    check(lambda l, s: D.Normal(l, s).entropy(), lambda l, s: torch.distributions.Normal(l, s).entropy(),
          [loc, scale], torch=torch)
    check(lambda l, s, v: D.Normal(l, s).cdf(v), lambda l, s, v: torch.distributions.Normal(l, s).cdf(v),
          [loc, scale, x], torch=torch)
    d, t = D.Normal(gs.tensor(loc), gs.tensor(scale)), torch.distributions.Normal(torch.tensor(loc), torch.tensor(scale))
    for name in ("mean", "variance", "stddev"):
        np.testing.assert_allclose(getattr(d, name).numpy(), getattr(t, name).numpy(), rtol=1e-6)
    assert d.batch_shape == tuple(t.batch_shape) == (3, 4) and d.event_shape == ()


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("param", ["logits", "probs"])
def test_categorical_log_prob_entropy(torch, dtype, param):
    raw = R.standard_normal((2, 5)).astype(dtype) if param == "logits" else R.uniform(0.1, 1, (2, 5)).astype(dtype)
    value = np.array([[0, 4], [3, 1], [2, 2]])  # (3, 2): broadcasts against batch (2,)
    check(lambda p, v: D.Categorical(**{param: p}).log_prob(v),
          lambda p, v: torch.distributions.Categorical(**{param: p}).log_prob(v), [raw, value], torch=torch)
    check(lambda p: D.Categorical(**{param: p}).entropy(),
          lambda p: torch.distributions.Categorical(**{param: p}).entropy(), [raw], torch=torch)
    # the normalisation itself: logits - logsumexp, probs / sum, and the derived parameterisation
    for attr in ("logits", "probs"):
        check(lambda p: getattr(D.Categorical(**{param: p}), attr),
              lambda p: getattr(torch.distributions.Categorical(**{param: p}), attr), [raw], torch=torch)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("param", ["logits", "probs"])
def test_bernoulli_log_prob_entropy_moments(torch, dtype, param):
    raw = R.standard_normal((4,)).astype(dtype) if param == "logits" else R.uniform(0.1, 0.9, (4,)).astype(dtype)
    value = np.array([[0, 1, 1, 0], [1, 1, 0, 0]], dtype=dtype)
    check(lambda p, v: D.Bernoulli(**{param: p}).log_prob(v),
          lambda p, v: torch.distributions.Bernoulli(**{param: p}).log_prob(v), [raw, value], torch=torch,
          grad=[True, False])
    for fn in (lambda d: d.entropy(), lambda d: d.mean, lambda d: d.variance, lambda d: d.logits, lambda d: d.probs):
        check(lambda p: fn(D.Bernoulli(**{param: p})), lambda p: fn(torch.distributions.Bernoulli(**{param: p})),
              [raw], torch=torch)


@pytest.mark.parametrize("dtype", DTYPES)
def test_uniform_log_prob_entropy_moments(torch, dtype):
    low, high = np.array([0.0, -1.0, 2.0], dtype), np.array([1.0, 3.0, 2.5], dtype)
    x = np.array([0.5, -1.0, 2.2], dtype)
    check(lambda a, b, v: D.Uniform(a, b, validate_args=False).log_prob(v),
          lambda a, b, v: torch.distributions.Uniform(a, b, validate_args=False).log_prob(v), [low, high, x],
          torch=torch, grad=[True, True, False], gradcheck=False)
    outside = D.Uniform(gs.tensor(low), gs.tensor(high), validate_args=False).log_prob(gs.tensor(high))
    assert np.isneginf(outside.numpy()).all()  # [low, high): high itself has zero density
    for fn in (lambda d: d.entropy(), lambda d: d.mean, lambda d: d.variance, lambda d: d.stddev):
        check(lambda a, b: fn(D.Uniform(a, b)), lambda a, b: fn(torch.distributions.Uniform(a, b)), [low, high],
              torch=torch)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kind", ["covariance_matrix", "scale_tril", "precision_matrix"])
def test_multivariate_normal_log_prob_entropy(torch, dtype, kind):
    cov = _spd(3, (2,))
    mat = {"covariance_matrix": cov, "scale_tril": np.linalg.cholesky(cov),
           "precision_matrix": np.linalg.inv(cov)}[kind].astype(dtype)
    loc, x = R.standard_normal((3,)).astype(dtype), R.standard_normal((4, 1, 3)).astype(dtype)
    tol = dict(rtol=1e-4, atol=1e-4) if dtype == np.float32 else {}
    # gradients only w.r.t. loc and x: a finite-difference step would leave the constrained matrix set
    check(lambda l, m, v: D.MultivariateNormal(l, **{kind: m}).log_prob(v),
          lambda l, m, v: torch.distributions.MultivariateNormal(l, **{kind: m}).log_prob(v),
          [loc, mat, x], torch=torch, grad=[True, False, True], **tol)
    check(lambda m: D.MultivariateNormal(gs.tensor(loc), **{kind: m}).entropy(),
          lambda m: torch.distributions.MultivariateNormal(torch.tensor(loc), **{kind: m}).entropy(),
          [mat], torch=torch, grad=[False], **tol)
    d = D.MultivariateNormal(gs.tensor(loc), **{kind: gs.tensor(mat)})
    t = torch.distributions.MultivariateNormal(torch.tensor(loc), **{kind: torch.tensor(mat)})
    assert d.batch_shape == (2,) and d.event_shape == (3,)
    for name in ("mean", "variance", "covariance_matrix", "scale_tril", "precision_matrix"):
        np.testing.assert_allclose(getattr(d, name).numpy(), getattr(t, name).numpy(), rtol=1e-4, atol=1e-4)


def test_multivariate_normal_gradient_wrt_scale_tril_matches_torch(torch):
    L = np.linalg.cholesky(_spd(3)).astype(np.float64)
    loc, x = R.standard_normal(3), R.standard_normal((5, 3))
    check(lambda l, s, v: D.MultivariateNormal(l, scale_tril=s).log_prob(v).sum(),
          lambda l, s, v: torch.distributions.MultivariateNormal(l, scale_tril=s).log_prob(v).sum(),
          [loc, L, x], torch=torch, gradcheck=False)
    cov = _spd(3)
    check(lambda c: D.MultivariateNormal(gs.tensor(loc), covariance_matrix=c).log_prob(gs.tensor(x)).sum(),
          lambda c: torch.distributions.MultivariateNormal(torch.tensor(loc), covariance_matrix=c).log_prob(
              torch.tensor(x)).sum(), [cov], torch=torch, gradcheck=False, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("dtype", DTYPES)
def test_one_hot_categorical_and_independent(torch, dtype):
    logits = R.standard_normal((2, 4)).astype(dtype)
    onehot = np.eye(4, dtype=dtype)[[1, 3]]
    check(lambda p, v: D.OneHotCategorical(logits=p).log_prob(v),
          lambda p, v: torch.distributions.OneHotCategorical(logits=p).log_prob(v), [logits, onehot], torch=torch,
          grad=[True, False])
    check(lambda p: D.OneHotCategorical(logits=p).entropy(),
          lambda p: torch.distributions.OneHotCategorical(logits=p).entropy(), [logits], torch=torch)
    loc, scale, x = R.standard_normal((2, 3)).astype(dtype), R.uniform(0.5, 2, (2, 3)).astype(dtype), \
        R.standard_normal((5, 2, 3)).astype(dtype)
    check(lambda l, s, v: D.Independent(D.Normal(l, s), 1).log_prob(v),
          lambda l, s, v: torch.distributions.Independent(torch.distributions.Normal(l, s), 1).log_prob(v),
          [loc, scale, x], torch=torch)
    check(lambda l, s: D.Independent(D.Normal(l, s), 2).entropy(),
          lambda l, s: torch.distributions.Independent(torch.distributions.Normal(l, s), 2).entropy(),
          [loc, scale], torch=torch)
    ind = D.Independent(D.Normal(gs.tensor(loc), gs.tensor(scale)), 1)
    assert ind.batch_shape == (2,) and ind.event_shape == (3,) and ind.has_rsample


# --- KL ---

@pytest.mark.parametrize("dtype", DTYPES)
def test_kl_divergence_matches_torch(torch, dtype):
    TD = torch.distributions
    a, b = R.standard_normal((3,)).astype(dtype), R.standard_normal((3,)).astype(dtype)
    s1, s2 = R.uniform(0.5, 2, (3,)).astype(dtype), R.uniform(0.5, 2, (3,)).astype(dtype)
    check(lambda l1, sc1, l2, sc2: D.kl_divergence(D.Normal(l1, sc1), D.Normal(l2, sc2)),
          lambda l1, sc1, l2, sc2: TD.kl_divergence(TD.Normal(l1, sc1), TD.Normal(l2, sc2)),
          [a, s1, b, s2], torch=torch)
    p, q = R.standard_normal((2, 4)).astype(dtype), R.standard_normal((2, 4)).astype(dtype)
    check(lambda x, y: D.kl_divergence(D.Categorical(logits=x), D.Categorical(logits=y)),
          lambda x, y: TD.kl_divergence(TD.Categorical(logits=x), TD.Categorical(logits=y)), [p, q], torch=torch)
    check(lambda x, y: D.kl_divergence(D.Bernoulli(logits=x), D.Bernoulli(logits=y)),
          lambda x, y: TD.kl_divergence(TD.Bernoulli(logits=x), TD.Bernoulli(logits=y)), [p, q], torch=torch)
    check(lambda x, y: D.kl_divergence(D.OneHotCategorical(logits=x), D.OneHotCategorical(logits=y)),
          lambda x, y: TD.kl_divergence(TD.OneHotCategorical(logits=x), TD.OneHotCategorical(logits=y)),
          [p, q], torch=torch)
    check(lambda x, y: D.kl_divergence(D.Independent(D.Normal(x, 1.0), 1), D.Independent(D.Normal(y, 2.0), 1)),
          lambda x, y: TD.kl_divergence(TD.Independent(TD.Normal(x, 1.0), 1), TD.Independent(TD.Normal(y, 2.0), 1)),
          [p, q], torch=torch)
    c1, c2 = _spd(3).astype(dtype), _spd(3, (2,)).astype(dtype)
    tol = dict(rtol=1e-4, atol=1e-4) if dtype == np.float32 else {}
    check(lambda x, y: D.kl_divergence(D.MultivariateNormal(x, gs.tensor(c1).to(x.dtype)),
                                         D.MultivariateNormal(y, gs.tensor(c2).to(x.dtype))),
          lambda x, y: TD.kl_divergence(TD.MultivariateNormal(x, torch.tensor(c1)), TD.MultivariateNormal(y, torch.tensor(c2))),
          [a, b], torch=torch, **tol)


def test_kl_zero_probabilities_like_torch(torch):
    TD = torch.distributions
    p, q = [0.0, 0.5, 0.5], [0.5, 0.5, 0.0]
    for P, Q in ((p, q), (q, p), (p, p)):
        got = D.kl_divergence(D.Categorical(probs=gs.tensor(P)), D.Categorical(probs=gs.tensor(Q))).item()
        want = TD.kl_divergence(TD.Categorical(probs=torch.tensor(P)), TD.Categorical(probs=torch.tensor(Q))).item()
        assert got == pytest.approx(want, abs=1e-6) or (np.isinf(got) and np.isinf(want))
    got = D.kl_divergence(D.Bernoulli(gs.tensor([0.0, 1.0, 0.3])), D.Bernoulli(gs.tensor([0.5, 0.0, 1.0]))).numpy()
    want = TD.kl_divergence(TD.Bernoulli(torch.tensor([0.0, 1.0, 0.3])), TD.Bernoulli(torch.tensor([0.5, 0.0, 1.0]))).numpy()
    np.testing.assert_allclose(got, want, rtol=1e-5)


def test_kl_without_formula_raises_not_implemented():
    with pytest.raises(NotImplementedError, match="Normal.*Categorical"):
        D.kl_divergence(D.Normal(0.0, 1.0), D.Categorical(logits=gs.zeros(2)))


# --- rsample gradients (same noise fed to torch) ---

@pytest.mark.parametrize("dtype", DTYPES)
def test_normal_rsample_gradient_matches_torch(torch, dtype):
    loc = gs.tensor(R.standard_normal((3,)).astype(dtype), requires_grad=True)
    scale = gs.tensor(R.uniform(0.5, 2, (3,)).astype(dtype), requires_grad=True)
    gs.manual_seed(3)
    z = D.Normal(loc, scale).rsample((4,))
    assert z.dtype == loc.dtype and z.shape == (4, 3)
    (z ** 2).mean().backward()
    eps = (z.detach().numpy() - loc.detach().numpy()) / scale.detach().numpy()
    tl, ts = torch.tensor(loc.detach().numpy(), requires_grad=True), torch.tensor(scale.detach().numpy(), requires_grad=True)
    ((tl + torch.tensor(eps.astype(dtype)) * ts) ** 2).mean().backward()
    np.testing.assert_allclose(loc.grad.numpy(), tl.grad.numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(scale.grad.numpy(), ts.grad.numpy(), rtol=1e-5, atol=1e-6)
    # and the noise really is standard normal from the global generator
    gs.manual_seed(3)
    np.testing.assert_allclose(eps, gs.randn(4, 3, dtype=dtype).numpy(), rtol=1e-4, atol=1e-5)


def test_mvn_and_uniform_rsample_are_differentiable():
    loc = gs.zeros(2, requires_grad=True)
    L = gs.tensor([[1.0, 0.0], [0.5, 2.0]], requires_grad=True)
    gs.manual_seed(0)
    z = D.MultivariateNormal(loc, scale_tril=L).rsample((3,))
    z.sum().backward()
    gs.manual_seed(0)
    eps = gs.randn(3, 2).numpy()
    np.testing.assert_allclose(loc.grad.numpy(), [3.0, 3.0])
    np.testing.assert_allclose(L.grad.numpy(), np.ones((2, 1)) * eps.sum(0), rtol=1e-5)  # d/dL_ij sum(L eps) = sum eps_j
    low, high = gs.tensor(0.0, requires_grad=True), gs.tensor(2.0, requires_grad=True)
    u = D.Uniform(low, high).rsample((5,))
    u.sum().backward()
    frac = (u.detach().numpy() - 0.0) / 2.0
    assert low.grad.item() == pytest.approx((1 - frac).sum(), rel=1e-5)
    assert high.grad.item() == pytest.approx(frac.sum(), rel=1e-5)


def test_sample_has_no_gradient_and_distributions_without_rsample_refuse():
    loc = gs.zeros(2, requires_grad=True)
    assert not D.Normal(loc, 1.0).sample().requires_grad
    with pytest.raises(gs.NotSupported, match="rsample"):
        D.Categorical(logits=gs.zeros(3)).rsample()


# --- shapes, dtypes, seeding, statistics ---

@pytest.mark.parametrize("make, event", [
    (lambda: D.Normal(gs.zeros(2, 3), 1.0), ()),
    (lambda: D.Uniform(gs.zeros(2, 3), gs.ones(3)), ()),
    (lambda: D.Bernoulli(gs.full((2, 3), 0.3)), ()),
    (lambda: D.Categorical(logits=gs.zeros(2, 3, 5)), ()),
    (lambda: D.OneHotCategorical(logits=gs.zeros(2, 3, 5)), (5,)),
    (lambda: D.MultivariateNormal(gs.zeros(3, 4), gs.eye(4)), (4,)),
    (lambda: D.Independent(D.Normal(gs.zeros(2, 3, 4), 1.0), 1), (4,)),
])
def test_sample_shapes(make, event):
    d = make()
    assert d.sample().shape == d.batch_shape + d.event_shape
    assert d.sample((7,)).shape == (7,) + d.batch_shape + d.event_shape
    assert d.sample((2, 5)).shape == (2, 5) + d.batch_shape + d.event_shape
    assert d.event_shape == event


def test_sample_dtypes_follow_parameters(torch):
    for dt in (gs.float32, gs.float64):
        assert D.Normal(gs.zeros(2, dtype=dt), 1.0).sample().dtype == dt
        assert D.Normal(gs.zeros(2, dtype=dt), 1.0).log_prob(gs.zeros(2, dtype=dt)).dtype == dt
        assert D.Bernoulli(gs.full((2,), 0.5, dtype=dt)).sample().dtype == dt
        assert D.MultivariateNormal(gs.zeros(2, dtype=dt), gs.eye(2, dtype=dt)).rsample().dtype == dt
    assert D.Categorical(logits=gs.zeros(3)).sample((2,)).dtype == gs.int64
    assert str(torch.distributions.Normal(0.0, 1.0).sample().dtype) == "torch.float32"
    assert D.Normal(0.0, 1.0).sample().dtype == gs.float32


def test_manual_seed_fixes_samples():
    def draw():
        gs.manual_seed(123)
        return [d.sample((6,)).numpy() for d in (D.Normal(0.0, 1.0), D.Categorical(logits=gs.zeros(4)),
                                                 D.Bernoulli(0.5), D.Uniform(0.0, 1.0),
                                                 D.MultivariateNormal(gs.zeros(2), gs.eye(2)))]
    first, second = draw(), draw()
    for a, b in zip(first, second):
        np.testing.assert_array_equal(a, b)
    gs.manual_seed(124)
    assert not np.array_equal(D.Normal(0.0, 1.0).sample((6,)).numpy(), first[0])


def test_sample_statistics():
    gs.manual_seed(0)
    probs = [0.1, 0.2, 0.3, 0.4]
    s = D.Categorical(probs=gs.tensor(probs)).sample((20000,)).numpy()
    np.testing.assert_allclose(np.bincount(s, minlength=4) / 20000, probs, atol=0.015)
    oh = D.OneHotCategorical(probs=gs.tensor(probs)).sample((20000,)).numpy()
    np.testing.assert_allclose(oh.mean(0), probs, atol=0.015)
    b = D.Bernoulli(gs.tensor([0.2, 0.9])).sample((20000,)).numpy()
    np.testing.assert_allclose(b.mean(0), [0.2, 0.9], atol=0.015)
    n = D.Normal(gs.tensor([1.0, -2.0]), gs.tensor([0.5, 3.0])).sample((20000,)).numpy()
    np.testing.assert_allclose(n.mean(0), [1.0, -2.0], atol=0.06)
    np.testing.assert_allclose(n.std(0), [0.5, 3.0], rtol=0.03)
    u = D.Uniform(-1.0, 3.0).sample((20000,)).numpy()
    assert u.min() >= -1.0 and u.max() < 3.0 and abs(u.mean() - 1.0) < 0.05
    cov = np.array([[2.0, 0.8], [0.8, 1.0]], np.float32)
    m = D.MultivariateNormal(gs.tensor([1.0, 0.0]), gs.tensor(cov)).sample((20000,)).numpy()
    np.testing.assert_allclose(np.cov(m.T), cov, atol=0.08)
    np.testing.assert_allclose(m.mean(0), [1.0, 0.0], atol=0.05)


# --- REINFORCE ---

def test_reinforce_gradients_match_torch(torch):
    rng = np.random.default_rng(7)
    w, bias = rng.standard_normal((4, 3)).astype(np.float32), rng.standard_normal(3).astype(np.float32)
    x = rng.standard_normal((8, 4)).astype(np.float32)
    a, r = rng.integers(0, 3, 8), rng.standard_normal(8).astype(np.float32)

    net = gs.nn.Linear(4, 3)
    tnet = torch.nn.Linear(4, 3)
    with gs.no_grad():
        net.weight.copy_(gs.tensor(w.T.copy()))
        net.bias.copy_(gs.tensor(bias))
    with torch.no_grad():
        tnet.weight.copy_(torch.tensor(w.T.copy()))
        tnet.bias.copy_(torch.tensor(bias))
    loss = -(D.Categorical(logits=net(gs.tensor(x))).log_prob(gs.tensor(a)) * gs.tensor(r)).mean()
    tloss = -(torch.distributions.Categorical(logits=tnet(torch.tensor(x))).log_prob(torch.tensor(a))
              * torch.tensor(r)).mean()
    loss.backward()
    tloss.backward()
    assert loss.item() == pytest.approx(tloss.item(), rel=1e-5)
    np.testing.assert_allclose(net.weight.grad.numpy(), tnet.weight.grad.numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(net.bias.grad.numpy(), tnet.bias.grad.numpy(), rtol=1e-5, atol=1e-6)


# --- validation ---

def _both_raise(torch, gs_fn, torch_fn):
    with pytest.raises(ValueError) as t_err:
        torch_fn(torch)
    with pytest.raises(InvalidArgument) as g_err:
        gs_fn()
    return str(g_err.value), str(t_err.value)


def test_constructor_validation_messages_like_torch(torch):
    TD = torch.distributions
    g, t = _both_raise(torch, lambda: D.Normal(gs.tensor([0.0, 1.0]), gs.tensor([1.0, -1.0])),
                       lambda th: TD.Normal(th.tensor([0.0, 1.0]), th.tensor([1.0, -1.0])))
    assert g.startswith("Expected parameter scale (Tensor of shape (2,)) of distribution Normal(")
    assert "to satisfy the constraint GreaterThan(lower_bound=0.0), but found invalid values" in g
    assert t.split(" of distribution")[0] == g.split(" of distribution")[0]
    g, t = _both_raise(torch, lambda: D.Categorical(), lambda th: TD.Categorical())
    assert g == t == "Either `probs` or `logits` must be specified, but not both."
    g, t = _both_raise(torch, lambda: D.Bernoulli(probs=gs.tensor([0.5]), logits=gs.tensor([0.0])),
                       lambda th: TD.Bernoulli(probs=th.tensor([0.5]), logits=th.tensor([0.0])))
    assert g == t
    g, t = _both_raise(torch, lambda: D.Categorical(probs=gs.tensor([0.5, -0.5])),
                       lambda th: TD.Categorical(probs=th.tensor([0.5, -0.5])))
    assert "constraint Simplex()" in g and "constraint Simplex()" in t
    g, t = _both_raise(torch, lambda: D.Bernoulli(gs.tensor([1.5])), lambda th: TD.Bernoulli(th.tensor([1.5])))
    assert "Interval(lower_bound=0.0, upper_bound=1.0)" in g and "Interval(lower_bound=0.0, upper_bound=1.0)" in t
    g, t = _both_raise(torch, lambda: D.Uniform(1.0, 0.0), lambda th: TD.Uniform(1.0, 0.0))
    assert "LessThan(upper_bound=0.0)" in g and "LessThan(upper_bound=0.0)" in t
    g, t = _both_raise(torch, lambda: D.MultivariateNormal(gs.zeros(2)), lambda th: TD.MultivariateNormal(th.zeros(2)))
    assert g == t
    g, t = _both_raise(torch, lambda: D.MultivariateNormal(gs.zeros(2), scale_tril=gs.ones(2, 2)),
                       lambda th: TD.MultivariateNormal(th.zeros(2), scale_tril=th.ones(2, 2)))
    assert "constraint LowerCholesky()" in g and "constraint LowerCholesky()" in t
    g, t = _both_raise(torch, lambda: D.MultivariateNormal(gs.zeros(2), gs.tensor([[1.0, 2.0], [2.0, 1.0]])),
                       lambda th: TD.MultivariateNormal(th.zeros(2), th.tensor([[1.0, 2.0], [2.0, 1.0]])))
    assert "constraint PositiveDefinite()" in g and "constraint PositiveDefinite()" in t
    g, t = _both_raise(torch, lambda: D.MultivariateNormal(gs.tensor(0.0), gs.eye(1)),
                       lambda th: TD.MultivariateNormal(th.tensor(0.0), th.eye(1)))
    assert g == t == "loc must be at least one-dimensional."
    g, t = _both_raise(torch, lambda: D.Categorical(logits=gs.tensor(1.0)), lambda th: TD.Categorical(logits=th.tensor(1.0)))
    assert g == t
    g, t = _both_raise(torch, lambda: D.Independent(D.Normal(gs.zeros(2), 1.0), 2),
                       lambda th: TD.Independent(TD.Normal(th.zeros(2), 1.0), 2))
    assert g == t
    # validate_args=False skips the checks, as in torch
    D.Normal(gs.tensor([0.0]), gs.tensor([-1.0]), validate_args=False)


def test_log_prob_validation_messages_like_torch(torch):
    TD = torch.distributions
    g, t = _both_raise(torch, lambda: D.Normal(0.0, 1.0).log_prob(1.0), lambda th: TD.Normal(0.0, 1.0).log_prob(1.0))
    assert g == t == "The value argument to log_prob must be a Tensor"
    g, t = _both_raise(torch, lambda: D.Bernoulli(gs.tensor([0.3])).log_prob(gs.tensor([0.5])),
                       lambda th: TD.Bernoulli(th.tensor([0.3])).log_prob(th.tensor([0.5])))
    assert g.startswith("Expected value argument (Tensor of shape (1,)) to be within the support (Boolean())")
    assert t.split(" of the distribution")[0] == g.split(" of the distribution")[0]
    g, t = _both_raise(torch, lambda: D.Categorical(logits=gs.zeros(3)).log_prob(gs.tensor(3)),
                       lambda th: TD.Categorical(logits=th.zeros(3)).log_prob(th.tensor(3)))
    assert "IntegerInterval(lower_bound=0, upper_bound=2)" in g and t.split(" of the distribution")[0] == g.split(" of the distribution")[0]
    g, t = _both_raise(torch, lambda: D.Normal(gs.zeros(2), 1.0).log_prob(gs.zeros(3)),
                       lambda th: TD.Normal(th.zeros(2), 1.0).log_prob(th.zeros(3)))
    assert g.startswith("Value is not broadcastable with batch_shape+event_shape")
    g, t = _both_raise(torch, lambda: D.MultivariateNormal(gs.zeros(2), gs.eye(2)).log_prob(gs.zeros(3)),
                       lambda th: TD.MultivariateNormal(th.zeros(2), th.eye(2)).log_prob(th.zeros(3)))
    assert g.startswith("The right-most size of value must match event_shape")
    g, t = _both_raise(torch, lambda: D.OneHotCategorical(logits=gs.zeros(3)).log_prob(gs.tensor([1.0, 1.0, 0.0])),
                       lambda th: TD.OneHotCategorical(logits=th.zeros(3)).log_prob(th.tensor([1.0, 1.0, 0.0])))
    assert "support (OneHot())" in g
    g, t = _both_raise(torch, lambda: D.Uniform(0.0, 1.0).log_prob(gs.tensor(1.5)),
                       lambda th: TD.Uniform(0.0, 1.0).log_prob(th.tensor(1.5)))
    assert "support (Interval(lower_bound=0.0, upper_bound=1.0))" in g


def test_lazy_subpackage_access():
    # in a fresh interpreter: `import gradstep` doesn't load it, `gs.distributions` does
    import subprocess
    import sys
    code = ("import sys, gradstep as gs; assert 'gradstep.distributions' not in sys.modules; "
            "print(gs.distributions.Normal.__name__)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0 and out.stdout.strip() == "Normal", out.stderr
