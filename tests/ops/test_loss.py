"""Functional losses against PyTorch (values, gradients) and finite differences."""
import numpy as np
import pytest

import gradstep as gs
from tests.oracle import check

REDUCTIONS = ["mean", "sum", "none"]


def _F(lib):
    return gs if lib is gs else lib.nn.functional


def _t(lib, a):
    return None if a is None else (gs.tensor(a) if lib is gs else lib.tensor(a))


def _pair(torch, name, **kw):
    """gradstep and torch versions of loss ``name`` with keyword args (arrays become tensors)."""
    def make(lib):
        fn = getattr(_F(lib), name)
        kws = {k: (_t(lib, v) if isinstance(v, np.ndarray) else v) for k, v in kw.items()}
        return lambda *a: fn(*a, **kws)

    return make(gs), make(torch)


# --------------------------------------------------------------- cross entropy
CE_SHAPES = [((4, 5), (4,)), ((3, 4, 2, 3), (3, 2, 3)), ((5,), ())]


def _targets(rng, tshape, C, ignore_index):
    t = rng.integers(0, C, tshape).astype(np.int64)
    if t.ndim == 0 and t == ignore_index:
        t = np.array(0)  # a lone ignored target makes the mean 0/0 (nan), tested separately
    if t.ndim and t.size > 2:
        t.flat[1] = ignore_index if ignore_index != -100 else -100
        t.flat[0] = 2 if ignore_index != 2 else 0
    return t


@pytest.mark.parametrize("xshape,tshape", CE_SHAPES, ids=str)
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("ignore_index", [-100, 2])
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("label_smoothing", [0.0, 0.25])
def test_cross_entropy_class_indices(xshape, tshape, weighted, ignore_index, reduction, label_smoothing, torch, rng):
    C = xshape[-1] if len(xshape) == 1 else xshape[1]
    x = rng.standard_normal(xshape).astype(np.float32)
    t = _targets(rng, tshape, C, ignore_index)
    kw = dict(ignore_index=ignore_index, reduction=reduction, label_smoothing=label_smoothing)
    if weighted:
        kw["weight"] = (rng.random(C) + 0.5).astype(np.float32)
    g, tt = _pair(torch, "cross_entropy", **kw)
    check(g, tt, [x, t], torch=torch, atol=2e-5, rtol=1e-4)


@pytest.mark.parametrize("xshape", [(4, 5), (2, 3, 4), (5,)], ids=str)
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("label_smoothing", [0.0, 0.3])
def test_cross_entropy_probabilities(xshape, weighted, reduction, label_smoothing, torch, rng):
    C = xshape[-1] if len(xshape) == 1 else xshape[1]
    x = rng.standard_normal(xshape).astype(np.float32)
    p = rng.random(xshape).astype(np.float32)
    p /= p.sum(axis=0 if len(xshape) == 1 else 1, keepdims=True)
    kw = dict(reduction=reduction, label_smoothing=label_smoothing)
    if weighted:
        kw["weight"] = (rng.random(C) + 0.5).astype(np.float32)
    g, tt = _pair(torch, "cross_entropy", **kw)
    check(g, tt, [x, p], torch=torch, atol=2e-5, rtol=1e-4)  # gradients for logits and probabilities


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_cross_entropy_huge_logits_are_finite(reduction, torch, rng):
    x = (rng.choice([-1.0, 1.0], (6, 4)) * 1e4).astype(np.float32)
    x[:, 0] += rng.standard_normal(6).astype(np.float32)
    t = rng.integers(0, 4, 6)
    g, tt = _pair(torch, "cross_entropy", reduction=reduction, label_smoothing=0.1)
    out = check(g, tt, [x, t], torch=torch, gradcheck=False, atol=1e-3, rtol=1e-5)
    assert np.isfinite(out.detach().numpy()).all()


def test_cross_entropy_all_ignored_mean_is_nan_like_torch(torch):
    x = np.zeros((3, 4), np.float32)
    t = np.full(3, -100)
    got = gs.cross_entropy(gs.tensor(x), gs.tensor(t)).item()
    want = torch.nn.functional.cross_entropy(torch.tensor(x), torch.tensor(t)).item()
    assert np.isnan(got) and np.isnan(want)
    assert gs.cross_entropy(gs.tensor(x), gs.tensor(t), reduction="sum").item() == 0.0


def test_cross_entropy_empty_batch(torch):
    x, t = np.zeros((0, 4), np.float32), np.zeros(0, np.int64)
    g, tt = _pair(torch, "cross_entropy", reduction="sum")
    check(g, tt, [x, t], torch=torch, gradcheck=False)
    assert gs.cross_entropy(gs.tensor(x), gs.tensor(t), reduction="none").shape == (0,)


def test_cross_entropy_nan_input_is_not_an_error():
    x = gs.tensor([[float("nan"), 1.0], [0.0, 1.0]])
    assert np.isnan(gs.cross_entropy(x, gs.tensor([0, 1])).item())


def test_cross_entropy_uint8_and_int32_targets(torch, rng):
    x = rng.standard_normal((4, 3)).astype(np.float32)
    for dt in (np.uint8, np.int32):
        t = np.array([0, 2, 1, 2], dt)
        got = gs.cross_entropy(gs.tensor(x), gs.tensor(t)).item()
        want = torch.nn.functional.cross_entropy(torch.tensor(x), torch.tensor(t.astype(np.int64))).item()
        assert abs(got - want) < 1e-6


@pytest.mark.filterwarnings("ignore")
def test_cross_entropy_legacy_reduction_args(torch, rng):
    x = rng.standard_normal((4, 3)).astype(np.float32)
    t = np.array([0, 2, 1, 2])
    for kw in (dict(size_average=False), dict(reduce=False), dict(size_average=True, reduce=True)):
        g, tt = _pair(torch, "cross_entropy", **kw)
        check(g, tt, [x, t], torch=torch, gradcheck=False)


def test_cross_entropy_errors():
    x = gs.randn(3, 5)
    with pytest.raises(IndexError, match=r"cross_entropy: target label 5 at position \(1,\) is out of range \[0, 5\)"):
        gs.cross_entropy(x, gs.tensor([0, 5, 1]))
    with pytest.raises(IndexError, match=r"target label -1 at position \(2,\)"):
        gs.cross_entropy(x, gs.tensor([0, 1, -1]))
    with pytest.raises(IndexError, match=r"target label 7 at position \(1, 0, 1\).*\[0, 4\)"):
        t = np.zeros((2, 3, 2), np.int64)
        t[1, 0, 1] = 7
        gs.cross_entropy(gs.randn(2, 4, 3, 2), gs.tensor(t))
    with pytest.raises(gs.DTypeError, match=r"cross_entropy: expected class indices of integer dtype \(int64\) or "
                                            r"probabilities of shape \(N, C\), got float32 of shape \(3,\)"):
        gs.cross_entropy(x, gs.tensor([0.0, 1.0, 1.0]))
    with pytest.raises(gs.ShapeError, match=r"expected target of shape \(N, d1, \.\.\.\) = \(3,\).*\(3, 5\).*got target of shape \(2,\)"):
        gs.cross_entropy(x, gs.tensor([0, 1]))
    with pytest.raises(gs.ShapeError, match=r"= \(2, 3, 4\).*got target of shape \(2, 4, 3\)"):
        gs.cross_entropy(gs.randn(2, 5, 3, 4), gs.zeros(2, 4, 3, dtype=gs.int64))
    with pytest.raises(gs.ShapeError, match=r"weight must have one value per class, shape \(5,\), got \(4,\)"):
        gs.cross_entropy(x, gs.tensor([0, 1, 2]), weight=gs.ones(4))
    with pytest.raises(ValueError, match="label_smoothing must be between 0.0 and 1.0, got 1.5"):
        gs.cross_entropy(x, gs.tensor([0, 1, 2]), label_smoothing=1.5)
    with pytest.raises(ValueError, match="reduction must be one of 'mean', 'sum', 'none', got 'avg'"):
        gs.cross_entropy(x, gs.tensor([0, 1, 2]), reduction="avg")
    with pytest.raises(gs.DTypeError, match="floating point input.*int64"):
        gs.cross_entropy(gs.tensor([[1, 2]]), gs.tensor([0]))
    with pytest.raises(gs.DTypeError, match="got bool"):
        gs.cross_entropy(x, gs.tensor([True, False, True]))
    with pytest.raises(ValueError, match="ignore_index is not supported"):
        gs.cross_entropy(x, gs.randn(3, 5).softmax(1) if hasattr(gs.Tensor, "softmax") else gs.rand(3, 5), ignore_index=1)
    with pytest.raises(gs.ShapeError, match=r"0-d target.*unbatched input of shape \(5,\).*\(1,\)"):
        gs.cross_entropy(gs.randn(5), gs.tensor([1]))


# -------------------------------------------------------------------- nll_loss
@pytest.mark.parametrize("xshape,tshape", CE_SHAPES, ids=str)
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("ignore_index", [-100, 2])
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_nll_loss(xshape, tshape, weighted, ignore_index, reduction, torch, rng):
    C = xshape[-1] if len(xshape) == 1 else xshape[1]
    x = rng.standard_normal(xshape).astype(np.float32)
    t = _targets(rng, tshape, C, ignore_index)
    kw = dict(ignore_index=ignore_index, reduction=reduction)
    if weighted:
        kw["weight"] = (rng.random(C) + 0.5).astype(np.float32)
    g, tt = _pair(torch, "nll_loss", **kw)
    check(g, tt, [x, t], torch=torch)


def test_nll_loss_errors():
    with pytest.raises(IndexError, match=r"nll_loss: target label 3 at position \(0,\) is out of range \[0, 3\)"):
        gs.nll_loss(gs.randn(2, 3), gs.tensor([3, 0]))
    with pytest.raises(gs.DTypeError, match="nll_loss: expected class indices of integer dtype"):
        gs.nll_loss(gs.randn(2, 3), gs.tensor([1.0, 0.0]))


# ----------------------------------------------------------- regression losses
REGRESSION = {
    "mse_loss": {},
    "l1_loss": {},
    "smooth_l1_loss": {"beta": 0.5},
    "smooth_l1_loss_beta2": {"beta": 2.0},
    "smooth_l1_loss_beta0": {"beta": 0.0},
    "huber_loss": {"delta": 0.7},
    "huber_loss_delta2": {"delta": 2.0},
}


@pytest.mark.parametrize("name", list(REGRESSION))
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("shapes", [((3, 4), (3, 4)), ((2, 3, 4), (2, 3, 4)), ((), ()), ((0, 3), (0, 3))], ids=str)
def test_regression_losses(name, reduction, shapes, torch, rng):
    a = (rng.standard_normal(shapes[0]) * 2).astype(np.float32)
    b = rng.standard_normal(shapes[1]).astype(np.float32)
    g, tt = _pair(torch, name.split("_beta")[0].split("_delta")[0], reduction=reduction, **REGRESSION[name])
    check(g, tt, [a, b], torch=torch)


@pytest.mark.filterwarnings("ignore")
@pytest.mark.parametrize("name", ["mse_loss", "l1_loss", "huber_loss"])
def test_regression_broadcast_and_int_target(name, torch, rng):
    a = rng.standard_normal((3, 4)).astype(np.float32)
    b = rng.standard_normal((4,)).astype(np.float32)
    g, tt = _pair(torch, name)
    check(g, tt, [a, b], torch=torch)
    if name != "huber_loss":  # torch's huber backward fails on an int64 target
        ti = rng.integers(-2, 3, (3, 4))
        check(g, tt, [a, ti], torch=torch)


@pytest.mark.parametrize("name", ["mse_loss", "l1_loss", "huber_loss"])
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_regression_weighted(name, reduction, torch, rng):
    a, b = (rng.standard_normal((3, 4)).astype(np.float32) for _ in range(2))
    w = (rng.random((3, 4)) + 0.1).astype(np.float32)
    g, tt = _pair(torch, name, reduction=reduction, weight=w)
    check(g, tt, [a, b], torch=torch)


def test_regression_errors():
    with pytest.raises(gs.ShapeError, match=r"mse_loss: input of shape \(3, 4\) and target of shape \(5,\) can't be broadcast"):
        gs.mse_loss(gs.randn(3, 4), gs.randn(5))
    with pytest.raises(ValueError, match="smooth_l1_loss: beta must be >= 0, got -1"):
        gs.smooth_l1_loss(gs.randn(3), gs.randn(3), beta=-1)
    with pytest.raises(ValueError, match="huber_loss: delta must be > 0, got 0"):
        gs.huber_loss(gs.randn(3), gs.randn(3), delta=0)
    with pytest.raises(gs.ShapeError, match=r"l1_loss: weight of shape \(4,\) must have the input's shape \(3, 4\)"):
        gs.l1_loss(gs.randn(3, 4), gs.randn(3, 4), weight=gs.ones(4))
    with pytest.raises(ValueError, match="mse_loss: reduction must be one of"):
        gs.mse_loss(gs.randn(3), gs.randn(3), reduction="batchmean")


# ---------------------------------------------------------------- binary losses
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weight_shape", [None, (3, 4), (4,)], ids=str)
def test_binary_cross_entropy(reduction, weight_shape, torch, rng):
    x = rng.uniform(0.05, 0.95, (3, 4)).astype(np.float32)
    t = rng.random((3, 4)).astype(np.float32)
    kw = dict(reduction=reduction)
    if weight_shape:
        kw["weight"] = (rng.random(weight_shape) + 0.5).astype(np.float32)
    g, tt = _pair(torch, "binary_cross_entropy", **kw)
    check(g, tt, [x, t], torch=torch, rtol=1e-4)


def test_binary_cross_entropy_clamps_log_at_minus_100(torch):
    x = np.array([0.0, 1.0, 0.0, 1.0, 1e-30], np.float32)
    t = np.array([1.0, 0.0, 0.0, 1.0, 1.0], np.float32)
    g, tt = _pair(torch, "binary_cross_entropy", reduction="none")
    check(g, tt, [x, t], torch=torch, grad=[False, False])
    assert gs.binary_cross_entropy(gs.tensor(x), gs.tensor(t)).item() == pytest.approx((200 - np.log(1e-30)) / 5, rel=1e-5)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("pos_weighted", [False, True])
def test_binary_cross_entropy_with_logits(reduction, weighted, pos_weighted, torch, rng):
    x = (rng.standard_normal((3, 4)) * 3).astype(np.float32)
    t = rng.random((3, 4)).astype(np.float32)
    kw = dict(reduction=reduction)
    if weighted:
        kw["weight"] = (rng.random((3, 1)) + 0.5).astype(np.float32)
    if pos_weighted:
        kw["pos_weight"] = (rng.random(4) * 3).astype(np.float32)
    g, tt = _pair(torch, "binary_cross_entropy_with_logits", **kw)
    check(g, tt, [x, t], torch=torch)


def test_binary_cross_entropy_with_logits_huge_logits(torch):
    x = np.array([-1e4, -100.0, 0.0, 100.0, 1e4], np.float32)
    t = np.array([1.0, 0.0, 0.5, 1.0, 0.0], np.float32)
    g, tt = _pair(torch, "binary_cross_entropy_with_logits", reduction="none", pos_weight=np.float32([2.0]))
    out = check(g, tt, [x, t], torch=torch, gradcheck=False)
    assert np.isfinite(out.detach().numpy()).all()


def test_binary_errors():
    with pytest.raises(ValueError, match=r"binary_cross_entropy: all elements of input should be between 0 and 1.*1\.5"):
        gs.binary_cross_entropy(gs.tensor([0.5, 1.5]), gs.tensor([1.0, 0.0]))
    with pytest.raises(gs.ShapeError, match=r"target of shape \(1, 2\) must have the same shape as input \(2,\)"):
        gs.binary_cross_entropy(gs.tensor([0.5, 0.5]), gs.tensor([[1.0, 0.0]]))
    with pytest.raises(gs.ShapeError, match=r"binary_cross_entropy_with_logits: target of shape \(1, 2\)"):
        gs.binary_cross_entropy_with_logits(gs.tensor([0.5, 0.5]), gs.tensor([[1.0, 0.0]]))
    with pytest.raises(gs.ShapeError, match=r"pos_weight of shape \(3,\) can't be broadcast to the input's shape \(2, 4\)"):
        gs.binary_cross_entropy_with_logits(gs.randn(2, 4), gs.rand(2, 4), pos_weight=gs.ones(3))


# ---------------------------------------------------------------------- kl_div
@pytest.mark.filterwarnings("ignore")
@pytest.mark.parametrize("reduction", ["mean", "batchmean", "sum", "none"])
@pytest.mark.parametrize("log_target", [False, True])
def test_kl_div(reduction, log_target, torch, rng):
    x = np.log(rng.dirichlet(np.ones(5), 4)).astype(np.float32)
    t = rng.dirichlet(np.ones(5), 4).astype(np.float32)
    if log_target:
        t = np.log(t)
    g, tt = _pair(torch, "kl_div", reduction=reduction, log_target=log_target)
    check(g, tt, [x, t], torch=torch)


def test_kl_div_zero_target(torch):
    x = np.log(np.array([[0.2, 0.3, 0.5]], np.float32))
    t = np.array([[0.0, 0.4, 0.6]], np.float32)
    g, tt = _pair(torch, "kl_div", reduction="sum")
    check(g, tt, [x, t], torch=torch, grad=[True, False])


def test_kl_div_errors():
    with pytest.raises(ValueError, match="kl_div: reduction must be one of 'mean', 'batchmean', 'sum', 'none', got 'avg'"):
        gs.kl_div(gs.randn(3), gs.rand(3), reduction="avg")


def test_losses_keep_float32(rng):
    x = gs.randn(4, 3, requires_grad=True)
    t = gs.tensor([0, 1, 2, 1])
    losses = [gs.cross_entropy(x, t, label_smoothing=0.1), gs.nll_loss(x, t), gs.mse_loss(x, gs.randn(4, 3)),
              gs.binary_cross_entropy_with_logits(x, gs.rand(4, 3)), gs.kl_div(x, gs.rand(4, 3), reduction="batchmean"),
              gs.smooth_l1_loss(x, gs.randn(4, 3)), gs.huber_loss(x, gs.randn(4, 3))]
    for loss in losses:
        assert loss.dtype == gs.float32
        x.grad = None
        loss.backward()
        assert x.grad.dtype == gs.float32


def test_binary_cross_entropy_target_out_of_range_is_explained():
    with pytest.raises(gs.errors.InvalidArgument, match="target should be between 0 and 1"):
        gs.nn.functional.binary_cross_entropy(gs.tensor([0.5]), gs.tensor([2.0]))
