"""nn.init: formulas, distributions, determinism, dtype and in-place behaviour; layers' default init."""
import math
import warnings

import numpy as np
import pytest

import gradstep as gs
from gradstep import nn
from gradstep.nn import init


def _w(*shape, dtype=np.float32):
    return gs.zeros(*shape, dtype=dtype)


def test_calculate_gain_matches_torch(torch):
    for name, param in [("linear", None), ("conv2d", None), ("sigmoid", None), ("tanh", None), ("relu", None),
                        ("leaky_relu", None), ("leaky_relu", 0.2), ("leaky_relu", math.sqrt(5)), ("selu", None)]:
        assert init.calculate_gain(name, param) == pytest.approx(torch.nn.init.calculate_gain(name, param))
    with pytest.raises(ValueError, match="Unsupported nonlinearity"):
        init.calculate_gain("swish")


def test_in_place_keeps_dtype_identity_and_grad_flag():
    for dtype in (np.float32, np.float64):
        p = nn.Parameter(_w(50, 40, dtype=dtype))
        arr = p.detach().numpy()
        v = p._version[0]
        for fn in (init.uniform_, init.normal_, init.xavier_uniform_, init.xavier_normal_, init.kaiming_uniform_,
                   init.kaiming_normal_, init.trunc_normal_, init.orthogonal_, init.zeros_, init.ones_, init.eye_):
            assert fn(p) is p
            assert p.dtype == dtype and p.detach().numpy() is arr and p.requires_grad and p.grad_fn is None
        assert p._version[0] > v
        init.constant_(p, 0.5)
        assert np.all(arr == 0.5)


def test_seeded_determinism():
    gs.manual_seed(7)
    a = init.kaiming_uniform_(_w(8, 8)).numpy().copy()
    gs.manual_seed(7)
    b = init.kaiming_uniform_(_w(8, 8)).numpy().copy()
    np.testing.assert_array_equal(a, b)
    gs.manual_seed(7)
    l1 = nn.Linear(5, 3)
    gs.manual_seed(7)
    l2 = nn.Linear(5, 3)
    np.testing.assert_array_equal(l1.weight.detach().numpy(), l2.weight.detach().numpy())
    np.testing.assert_array_equal(l1.bias.detach().numpy(), l2.bias.detach().numpy())
    c = init.normal_(_w(4), generator=np.random.default_rng(3)).numpy().copy()
    d = init.normal_(_w(4), generator=np.random.default_rng(3)).numpy()
    np.testing.assert_array_equal(c, d)


def _uniform_checks(values, bound):
    assert values.min() >= -bound and values.max() <= bound
    assert values.min() < -0.95 * bound and values.max() > 0.95 * bound  # fills the range
    assert values.std() == pytest.approx(bound / math.sqrt(3), rel=0.03)
    assert abs(values.mean()) < 0.03 * bound


def test_uniform_and_normal():
    gs.manual_seed(0)
    v = init.uniform_(_w(200, 100), -2.0, 3.0).numpy()
    assert v.min() >= -2 and v.max() <= 3 and v.mean() == pytest.approx(0.5, abs=0.05)
    v = init.normal_(_w(200, 100), 1.0, 0.5).numpy()
    assert v.mean() == pytest.approx(1.0, abs=0.01) and v.std() == pytest.approx(0.5, rel=0.02)


@pytest.mark.parametrize("shape", [(300, 200), (64, 32, 3, 3)], ids=str)
def test_kaiming_and_xavier_distributions(shape):
    gs.manual_seed(1)
    fan_in = shape[1] * math.prod(shape[2:])
    fan_out = shape[0] * math.prod(shape[2:])
    v = init.kaiming_uniform_(_w(*shape), a=math.sqrt(5)).numpy()
    _uniform_checks(v, 1 / math.sqrt(fan_in))
    v = init.kaiming_uniform_(_w(*shape), nonlinearity="relu", mode="fan_out").numpy()
    _uniform_checks(v, math.sqrt(2) * math.sqrt(3 / fan_out))
    v = init.kaiming_normal_(_w(*shape), nonlinearity="relu").numpy()
    assert v.std() == pytest.approx(math.sqrt(2 / fan_in), rel=0.03) and abs(v.mean()) < 0.03 * v.std()
    v = init.xavier_uniform_(_w(*shape), gain=2.0).numpy()
    _uniform_checks(v, 2.0 * math.sqrt(6 / (fan_in + fan_out)))
    v = init.xavier_normal_(_w(*shape)).numpy()
    assert v.std() == pytest.approx(math.sqrt(2 / (fan_in + fan_out)), rel=0.03)


def test_trunc_normal_and_orthogonal():
    gs.manual_seed(2)
    v = init.trunc_normal_(_w(200, 200), mean=0.0, std=1.0, a=-1.0, b=1.5).numpy()
    assert v.min() >= -1.0 and v.max() <= 1.5
    # mean of N(0,1) truncated to [-1, 1.5]: (phi(-1) - phi(1.5)) / (Phi(1.5) - Phi(-1))
    phi = lambda x: math.exp(-x * x / 2) / math.sqrt(2 * math.pi)  # noqa: E731
    Phi = lambda x: 0.5 * (1 + math.erf(x / math.sqrt(2)))  # noqa: E731
    assert v.mean() == pytest.approx((phi(-1) - phi(1.5)) / (Phi(1.5) - Phi(-1)), abs=0.01)
    v = init.trunc_normal_(_w(100, 100), std=0.02).numpy()
    assert np.abs(v).max() <= 2.0 and v.std() == pytest.approx(0.02, rel=0.03)
    for shape in [(6, 4), (4, 6), (5, 2, 3)]:
        q = init.orthogonal_(_w(*shape, dtype=np.float64), gain=2.0).numpy().reshape(shape[0], -1)
        if q.shape[0] <= q.shape[1]:
            np.testing.assert_allclose(q @ q.T, 4 * np.eye(q.shape[0]), atol=1e-10)
        else:
            np.testing.assert_allclose(q.T @ q, 4 * np.eye(q.shape[1]), atol=1e-10)


def test_eye_and_dirac(torch):
    np.testing.assert_array_equal(init.eye_(_w(3, 4)).numpy(), np.eye(3, 4))
    w = init.dirac_(_w(4, 2, 3, 3), groups=2).numpy()
    t = torch.nn.init.dirac_(torch.zeros(4, 2, 3, 3), groups=2).numpy()
    np.testing.assert_array_equal(w, t)


def test_errors():
    with pytest.raises(ValueError, match="fewer than 2 dimensions"):
        init.xavier_uniform_(_w(5))
    with pytest.raises(ValueError, match="Mode fan_avg not supported"):
        init.kaiming_uniform_(_w(3, 3), mode="fan_avg")
    with pytest.raises(TypeError, match="floating point"):
        init.normal_(gs.zeros(3, dtype=gs.int64))
    with pytest.raises(TypeError, match="gradstep Tensor"):
        init.zeros_(np.zeros(3))
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        init.kaiming_uniform_(_w(0, 3))
    assert "zero-element" in str(w[0].message)


def test_init_does_not_record_graph():
    p = nn.Parameter(_w(3, 3))
    init.normal_(p)
    (p * 2).sum().backward()  # still a leaf: backward works and grad lands on p
    assert p.grad is not None


# ---------------------------------------------------- default initialisation of layers
def _bound_check(values, bound):
    assert np.abs(values).max() <= bound * (1 + 1e-6)
    assert np.abs(values).max() > 0.9 * bound


def test_layer_default_inits():
    gs.manual_seed(3)
    lin = nn.Linear(400, 300)
    _bound_check(lin.weight.detach().numpy(), 1 / math.sqrt(400))
    _bound_check(lin.bias.detach().numpy(), 1 / math.sqrt(400))
    assert lin.weight.detach().numpy().std() == pytest.approx(1 / math.sqrt(400) / math.sqrt(3), rel=0.03)
    conv = nn.Conv2d(16, 32, 3)
    _bound_check(conv.weight.detach().numpy(), 1 / math.sqrt(16 * 9))
    _bound_check(conv.bias.detach().numpy(), 1 / math.sqrt(16 * 9))
    convt = nn.ConvTranspose2d(16, 32, 3)  # weight (in, out, kh, kw): fan_in is out * k * k
    _bound_check(convt.weight.detach().numpy(), 1 / math.sqrt(32 * 9))
    emb = nn.Embedding(300, 100, padding_idx=2)
    v = emb.weight.detach().numpy()
    assert v.std() == pytest.approx(1.0, rel=0.03) and not np.any(v[2])
    bn, ln, gn = nn.BatchNorm1d(5), nn.LayerNorm(5), nn.GroupNorm(1, 5)
    for m in (bn, ln, gn):
        assert np.all(m.weight.detach().numpy() == 1) and np.all(m.bias.detach().numpy() == 0)
    assert np.all(bn.running_var.numpy() == 1) and bn.num_batches_tracked.item() == 0
    mha = nn.MultiheadAttention(64, 4)
    _bound_check(mha.in_proj_weight.detach().numpy(), math.sqrt(6 / (64 + 3 * 64)))
    assert not np.any(mha.in_proj_bias.detach().numpy()) and not np.any(mha.out_proj.bias.detach().numpy())
    _bound_check(mha.out_proj.weight.detach().numpy(), 1 / math.sqrt(64))
    for m in (lin, conv, emb, bn, mha):
        assert all(p.dtype == np.float32 for p in m.parameters())


def test_layer_dtype_argument():
    lin = nn.Linear(3, 2, dtype=gs.float64)
    assert lin.weight.dtype == np.float64 and lin.bias.dtype == np.float64
    assert nn.Conv2d(1, 1, 1, dtype=gs.float64).weight.dtype == np.float64
