"""Distances and the less common losses (gradstep.ops.loss_extra, nn.distance, nn.loss_extra) against torch 2.13.

Every function: values and input gradients in float32 and float64 (with a
float64 gradcheck where the function is differentiable there), each
reduction, the options, the edge cases (margins exactly met, zero and tiny
vectors, eps clamps, overflow), then the modules (repr, attributes, buffers)
and the errors, which must name the loss and the shapes.
"""
import warnings

import numpy as np
import pytest

import gradstep as gs
import gradstep.nn.functional as F
from gradstep import nn
from gradstep.errors import DTypeError, GradError, GradstepError, IndexOutOfRange, InvalidArgument, ShapeError
from gradstep.ops import loss_extra as L
from tests.nn._parity import check_module
from tests.oracle import check

REDUCTIONS = ("mean", "sum", "none")
DTYPES = (np.float32, np.float64)


def _r(rng, *shape, dtype=np.float32, scale=1.0):
    return (rng.standard_normal(shape) * scale).astype(dtype)


def _signs(rng, *shape, dtype=np.float32):
    return rng.choice([-1.0, 1.0], size=shape).astype(dtype)


# ---------------------------------------------------------------- cosine_similarity
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shapes,dim", [
    (((4, 5), (4, 5)), 1),
    (((4, 5), (4, 5)), 0),
    (((2, 3, 4), (2, 3, 4)), -1),
    (((2, 3, 4), (3, 4)), 1),      # broadcast: dim counts in the common shape
    (((1, 5), (4, 5)), 1),
    (((5,), (5,)), 0),
    (((), ()), 0),
], ids=str)
def test_cosine_similarity_matches_torch(shapes, dim, dtype, torch, rng):
    a, b = (_r(rng, *s, dtype=dtype) for s in shapes)
    check(lambda x, y: L.cosine_similarity(x, y, dim=dim), lambda x, y: torch.cosine_similarity(x, y, dim=dim),
          [a, b], torch=torch)


@pytest.mark.parametrize("dtype", DTYPES)
def test_cosine_similarity_zero_and_tiny_vectors(dtype, torch):
    # rows: tiny (norm < eps), zero against nonzero, nonzero against zero, both zero, ordinary
    a = np.array([[1e-9, 2e-9, 0.0], [0, 0, 0], [1, 2, 3], [0, 0, 0], [1, -1, 2]], dtype)
    b = np.array([[1, 2, 3], [1, 1, 1], [0, 0, 0], [0, 0, 0], [2, 0, 1]], dtype)
    # The clamp is invisible to autograd (as torch): not the derivative of the clamped function, so no gradcheck.
    out = check(L.cosine_similarity, torch.cosine_similarity, [a, b], torch=torch, gradcheck=False, rtol=1e-5)
    assert out.detach().numpy()[1] == 0 and out.detach().numpy()[3] == 0
    # eps larger than every norm: each vector is divided by eps
    check(lambda x, y: L.cosine_similarity(x, y, eps=0.5), lambda x, y: torch.cosine_similarity(x, y, eps=0.5),
          [a * 0.01, b * 0.01], torch=torch, gradcheck=False)


def test_cosine_similarity_dtypes_and_errors(torch):
    out = L.cosine_similarity(gs.tensor([1, 2]), gs.tensor([1.0, 2.5], dtype=gs.float64), dim=0)
    want = torch.cosine_similarity(torch.tensor([1, 2]), torch.tensor([1.0, 2.5], dtype=torch.float64), dim=0)
    assert out.dtype == np.float64 and out.item() == pytest.approx(want.item(), rel=1e-12)
    with pytest.raises(DTypeError, match="cosine_similarity: expected floating point inputs"):
        L.cosine_similarity(gs.tensor([1, 2]), gs.tensor([1, 2]), dim=0)
    with pytest.raises(ShapeError, match=r"cosine_similarity: x1 of shape \(2, 3\), x2 of shape \(4, 3\) can't be "
                                         r"broadcast together"):
        L.cosine_similarity(gs.randn(2, 3), gs.randn(4, 3))
    with pytest.raises(IndexOutOfRange, match="cosine_similarity: dim 1 is out of range"):
        L.cosine_similarity(gs.randn(3), gs.randn(3))  # torch: IndexError too (default dim=1 of a 1-d input)


# ---------------------------------------------------------------- pairwise_distance
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("p", [2.0, 1.0, 3.0, 0.5, float("inf"), float("-inf"), 0.0, -1.5])
@pytest.mark.parametrize("keepdim", [False, True])
def test_pairwise_distance_matches_torch(p, keepdim, dtype, torch, rng):
    a, b = _r(rng, 4, 6, dtype=dtype), _r(rng, 4, 6, dtype=dtype)
    check(lambda x, y: L.pairwise_distance(x, y, p=p, keepdim=keepdim),
          lambda x, y: torch.pairwise_distance(x, y, p=p, keepdim=keepdim), [a, b], torch=torch)


@pytest.mark.parametrize("shapes", [((3, 5), (5,)), ((5,), (5,)), ((2, 3, 4), (3, 1)), ((), ()), ((1, 4), (3, 4))],
                         ids=str)
def test_pairwise_distance_broadcasts_over_the_last_dim(shapes, torch, rng):
    a, b = (_r(rng, *s, dtype=np.float64) for s in shapes)
    for keepdim in (False, True):
        check(lambda x, y: L.pairwise_distance(x, y, eps=1e-3, keepdim=keepdim),
              lambda x, y: torch.pairwise_distance(x, y, eps=1e-3, keepdim=keepdim), [a, b], torch=torch)


def test_pairwise_distance_equal_vectors_and_errors(torch):
    a = np.array([[1.0, 2.0, 3.0], [0.5, 0.5, 0.5]], np.float64)
    # eps=0 and equal rows: a zero norm, whose gradient is 0 (as torch)
    check(lambda x, y: L.pairwise_distance(x, y, eps=0.0), lambda x, y: torch.pairwise_distance(x, y, eps=0.0),
          [a, a.copy()], torch=torch, gradcheck=False)
    # eps keeps them apart (by a distance of about eps: too close to 0 for finite differences)
    check(L.pairwise_distance, torch.pairwise_distance, [a, a.copy()], torch=torch, gradcheck=False)
    out = L.pairwise_distance(gs.tensor([1, 2]), gs.tensor([1, 3]))
    assert out.dtype == np.float32  # ints + eps: the default float, as torch
    with pytest.raises(ShapeError, match=r"pairwise_distance: x1 of shape \(2, 3\), x2 of shape \(2, 4\)"):
        L.pairwise_distance(gs.randn(2, 3), gs.randn(2, 4))


# ----------------------------------------------------------- margin_ranking_loss
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("margin", [0.0, 0.7, -0.3])
def test_margin_ranking_loss_matches_torch(reduction, margin, dtype, torch, rng):
    x1, x2, y = _r(rng, 8, dtype=dtype), _r(rng, 8, dtype=dtype), _signs(rng, 8, dtype=dtype)
    check(lambda a, b, t: L.margin_ranking_loss(a, b, t, margin=margin, reduction=reduction),
          lambda a, b, t: torch.nn.functional.margin_ranking_loss(a, b, t, margin=margin, reduction=reduction),
          [x1, x2, y], torch=torch)


def test_margin_ranking_loss_margin_met_broadcast_and_int_target(torch, rng):
    # -y (x1 - x2) + margin is exactly 0 in two places: the gradient flows there (clamp_min's >=)
    x1 = np.array([1.0, 2.0, 3.0, 0.5], np.float32)
    x2 = np.array([1.0, 1.0, 1.0, 1.0], np.float32)
    y = np.array([1.0, -1.0, 1.0, 1.0], np.float32)
    check(lambda a, b, t: L.margin_ranking_loss(a, b, t, margin=0.0, reduction="sum"),
          lambda a, b, t: torch.nn.functional.margin_ranking_loss(a, b, t, margin=0.0, reduction="sum"),
          [x1, x2, y], torch=torch, gradcheck=False)
    check(lambda a, b, t: L.margin_ranking_loss(a, b, t, margin=0.5, reduction="none"),
          lambda a, b, t: torch.nn.functional.margin_ranking_loss(a, b, t, margin=0.5, reduction="none"),
          [_r(rng, 2, 3), _r(rng, 1, 3), _signs(rng, 2, 1)], torch=torch)
    t_int = np.array([1, -1, 1, -1], np.int64)
    check(lambda a, b, t: L.margin_ranking_loss(a, b, t, margin=0.2),
          lambda a, b, t: torch.nn.functional.margin_ranking_loss(a, b, t, margin=0.2),
          [x1, x2 * 1.3, t_int], torch=torch, grad=[True, True, False])


# ---------------------------------------------------------- hinge_embedding_loss
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_hinge_embedding_loss_matches_torch(reduction, dtype, torch, rng):
    x = np.abs(_r(rng, 3, 5, dtype=dtype)) * 2
    y = _signs(rng, 3, 5, dtype=dtype)
    for margin in (1.0, 0.4):
        check(lambda a, t: L.hinge_embedding_loss(a, t, margin=margin, reduction=reduction),
              lambda a, t: torch.nn.functional.hinge_embedding_loss(a, t, margin=margin, reduction=reduction),
              [x, y], torch=torch, grad=[True, False])


def test_hinge_embedding_loss_edges(torch):
    # margin exactly met (0.5 - 0.5), a target of 0 (both terms, as torch), an int target, broadcasting
    x = np.array([1.0, 2.0, 0.5, 0.3], np.float64)
    y = np.array([1.0, -1.0, -1.0, 0.0], np.float64)
    check(lambda a, t: L.hinge_embedding_loss(a, t, margin=0.5, reduction="sum"),
          lambda a, t: torch.nn.functional.hinge_embedding_loss(a, t, margin=0.5, reduction="sum"),
          [x, y], torch=torch, grad=[True, False], gradcheck=False)
    check(lambda a, t: L.hinge_embedding_loss(a, t, reduction="none"),
          lambda a, t: torch.nn.functional.hinge_embedding_loss(a, t, reduction="none"),
          [x[:3].astype(np.float32), np.array([[1, -1, -1], [-1, 1, 1]], np.int64)], torch=torch,
          grad=[True, False], gradcheck=False)  # x = 1.0 meets the default margin
    # the target is only a selector: even when it requires grad it gets none (torch: grad None)
    t = gs.tensor(y, requires_grad=True)
    L.hinge_embedding_loss(gs.tensor(x, requires_grad=True), t).backward()
    assert t.grad is None


# --------------------------------------------------------- cosine_embedding_loss
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("margin", [0.0, 0.3, -0.5])
def test_cosine_embedding_loss_matches_torch(reduction, margin, dtype, torch, rng):
    a, b, y = _r(rng, 6, 4, dtype=dtype), _r(rng, 6, 4, dtype=dtype), _signs(rng, 6, dtype=dtype)
    check(lambda x1, x2, t: L.cosine_embedding_loss(x1, x2, t, margin=margin, reduction=reduction),
          lambda x1, x2, t: torch.nn.functional.cosine_embedding_loss(x1, x2, t, margin=margin,
                                                                       reduction=reduction),
          [a, b, y], torch=torch, grad=[True, True, False])


def test_cosine_embedding_loss_single_pair_zero_vectors_and_broadcast(torch, rng):
    TF = torch.nn.functional
    check(lambda a, b, t: L.cosine_embedding_loss(a, b, t), lambda a, b, t: TF.cosine_embedding_loss(a, b, t),
          [_r(rng, 5, dtype=np.float64), _r(rng, 5, dtype=np.float64), np.array(-1.0)], torch=torch,
          grad=[True, True, False])
    # zero rows: the 1e-12 in the magnitudes keeps it finite, with torch's (large) gradients
    a = np.zeros((2, 3), np.float32)
    b = _r(rng, 2, 3)
    check(lambda x1, x2, t: L.cosine_embedding_loss(x1, x2, t, margin=-0.5),
          lambda x1, x2, t: TF.cosine_embedding_loss(x1, x2, t, margin=-0.5),
          [a, b, np.array([1.0, -1.0], np.float32)], torch=torch, grad=[True, True, False], gradcheck=False)
    # (N, D) against (1, D), a (1,) target, targets other than +-1 (they add 0), int targets
    check(lambda x1, x2, t: L.cosine_embedding_loss(x1, x2, t, reduction="none"),
          lambda x1, x2, t: TF.cosine_embedding_loss(x1, x2, t, reduction="none"),
          [_r(rng, 3, 4), _r(rng, 1, 4), np.array([1, -1, 0], np.int64)], torch=torch, grad=[True, True, False])
    check(lambda x1, x2, t: L.cosine_embedding_loss(x1, x2, t, reduction="sum"),
          lambda x1, x2, t: TF.cosine_embedding_loss(x1, x2, t, reduction="sum"),
          [_r(rng, 3, 4), _r(rng, 3, 4), np.array([-1.0], np.float32)], torch=torch, grad=[True, True, False])


# ----------------------------------------------------------- triplet_margin_loss
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("p,swap", [(2.0, False), (2.0, True), (1.0, False), (3.0, True), (float("inf"), False)])
def test_triplet_margin_loss_matches_torch(p, swap, reduction, dtype, torch, rng):
    a, pos, neg = (_r(rng, 6, 5, dtype=dtype) for _ in range(3))
    check(lambda x, y, z: L.triplet_margin_loss(x, y, z, margin=1.5, p=p, swap=swap, reduction=reduction),
          lambda x, y, z: torch.nn.functional.triplet_margin_loss(x, y, z, margin=1.5, p=p, swap=swap,
                                                                   reduction=reduction),
          [a, pos, neg], torch=torch)


def test_triplet_margin_loss_shapes_eps_and_swap_ties(torch, rng):
    TF = torch.nn.functional
    for shape in ((5,), (2, 3, 4)):
        arrays = [_r(rng, *shape, dtype=np.float64) for _ in range(3)]
        check(lambda x, y, z: L.triplet_margin_loss(x, y, z, eps=1e-2, reduction="none"),
              lambda x, y, z: TF.triplet_margin_loss(x, y, z, eps=1e-2, reduction="none"), arrays, torch=torch)
    # positive == anchor: d(anchor, negative) == d(positive, negative), a tie that swap's min shares
    a = _r(rng, 4, 3)
    check(lambda x, y, z: L.triplet_margin_loss(x, y, z, margin=5.0, swap=True),
          lambda x, y, z: TF.triplet_margin_loss(x, y, z, margin=5.0, swap=True),
          [a, a.copy(), _r(rng, 4, 3)], torch=torch, gradcheck=False)
    check(lambda x, y, z: L.triplet_margin_loss(x, y, z), lambda x, y, z: TF.triplet_margin_loss(x, y, z),
          [_r(rng, 4, 3), _r(rng, 1, 3), _r(rng, 3)[None]], torch=torch)


# -------------------------------------------------------------- soft_margin_loss
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_soft_margin_loss_matches_torch(reduction, dtype, torch, rng):
    x, y = _r(rng, 4, 5, dtype=dtype, scale=3), _signs(rng, 4, 5, dtype=dtype)
    check(lambda a, t: L.soft_margin_loss(a, t, reduction=reduction),
          lambda a, t: torch.nn.functional.soft_margin_loss(a, t, reduction=reduction),
          [x, y], torch=torch, grad=[True, False])
    # a target broadcast to the input's shape, and int targets
    check(lambda a, t: L.soft_margin_loss(a, t, reduction=reduction),
          lambda a, t: torch.nn.functional.soft_margin_loss(a, t, reduction=reduction),
          [x, _signs(rng, 5, dtype=dtype).astype(np.int64)], torch=torch, grad=[True, False])


def test_soft_margin_loss_overflow_and_target_grad(torch):
    # exp(-x y) overflows to inf: torch gives an inf loss and a NaN gradient there; so do we
    x = np.array([1.0, -100.0, 0.0, 30.0], np.float32)
    y = np.array([1.0, 1.0, -1.0, -4.0], np.float32)
    out = check(lambda a, t: L.soft_margin_loss(a, t, reduction="none"),
                lambda a, t: torch.nn.functional.soft_margin_loss(a, t, reduction="none"),
                [x, y], torch=torch, grad=[True, False], gradcheck=False)
    assert np.isinf(out.detach().numpy()[[1, 3]]).all()
    with pytest.raises(GradError, match="soft_margin_loss: not differentiable with respect to target"):
        L.soft_margin_loss(gs.tensor(x), gs.tensor(y, requires_grad=True))
    with gs.no_grad():
        L.soft_margin_loss(gs.tensor(x), gs.tensor(y, requires_grad=True))


# --------------------------------------------------- multilabel_soft_margin_loss
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_multilabel_soft_margin_loss_matches_torch(reduction, dtype, torch, rng):
    x = _r(rng, 4, 3, dtype=dtype, scale=2)
    y = rng.integers(0, 2, (4, 3)).astype(dtype)
    TF = torch.nn.functional
    check(lambda a, t: L.multilabel_soft_margin_loss(a, t, reduction=reduction),
          lambda a, t: TF.multilabel_soft_margin_loss(a, t, reduction=reduction), [x, y], torch=torch)
    # weight per class and per sample; the weight is differentiated too (as torch)
    for w in (np.array([0.2, 1.0, 3.0], dtype), np.array([[0.5], [1.0], [2.0], [0.1]], dtype)):
        check(lambda a, t, ww: L.multilabel_soft_margin_loss(a, t, weight=ww, reduction=reduction),
              lambda a, t, ww: TF.multilabel_soft_margin_loss(a, t, weight=ww, reduction=reduction),
              [x, y, w], torch=torch)


def test_multilabel_soft_margin_loss_shapes_and_extremes(torch, rng):
    TF = torch.nn.functional
    for xs, ts in (((5,), (5,)), ((2, 3, 4), (2, 3, 4)), ((2, 3), (3,)), ((3,), (2, 3))):
        check(lambda a, t: L.multilabel_soft_margin_loss(a, t, reduction="none"),
              lambda a, t: TF.multilabel_soft_margin_loss(a, t, reduction="none"),
              [_r(rng, *xs, dtype=np.float64), rng.random(ts)], torch=torch)
    big = np.array([[100.0, -100.0, 30.0]], np.float32)
    check(lambda a, t: L.multilabel_soft_margin_loss(a, t), lambda a, t: TF.multilabel_soft_margin_loss(a, t),
          [big, np.array([[1.0, 0.0, 0.0]], np.float32)], torch=torch, gradcheck=False)
    check(lambda a: L.multilabel_soft_margin_loss(a, gs.tensor([[1, 0, 1]])),
          lambda a: TF.multilabel_soft_margin_loss(a, torch.tensor([[1, 0, 1]])), [_r(rng, 1, 3)], torch=torch)


# ----------------------------------------------------------- multi_margin_loss
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("p,margin,weighted", [(1, 1.0, False), (2, 1.0, False), (1, 0.5, True), (2, 2.0, True)])
def test_multi_margin_loss_matches_torch(p, margin, weighted, reduction, dtype, torch, rng):
    x = _r(rng, 6, 4, dtype=dtype)
    y = np.array([0, 3, 1, 2, 3, 0], np.int64)
    w = np.array([0.5, 1.0, 2.0, 0.1], dtype) if weighted else None

    def run(mod, F_):
        return lambda a, t: F_.multi_margin_loss(a, t, p=p, margin=margin,
                                                 weight=None if w is None else mod.tensor(w), reduction=reduction)

    check(run(gs, L), run(torch, torch.nn.functional), [x, y], torch=torch, grad=[True, False])


def test_multi_margin_loss_unbatched_and_margin_met(torch):
    TF = torch.nn.functional
    x1 = np.array([0.3, -1.0, 0.8], np.float64)
    for t in (np.array(2), np.array([2])):  # 0-d target: 0-d 'none' loss; (1,) target: (1,)
        for reduction in REDUCTIONS:
            check(lambda a, tt: L.multi_margin_loss(a, tt, reduction=reduction),
                  lambda a, tt: TF.multi_margin_loss(a, tt, reduction=reduction), [x1, t], torch=torch,
                  grad=[True, False])
    check(lambda a, tt: L.multi_margin_loss(a, tt, reduction="none"),
          lambda a, tt: TF.multi_margin_loss(a, tt, reduction="none"), [np.array(0.7), np.array(0)], torch=torch,
          grad=[True, False])
    # margin - x_y + x_j == 0 exactly (second row): adds nothing and has no gradient (torch's z > 0)
    x = np.array([[1.0, 2.0, 0.0], [0.0, 0.0, 1.0]], np.float32)
    for p in (1, 2):
        check(lambda a, tt: L.multi_margin_loss(a, tt, p=p, weight=gs.tensor([1.0, 2.0, 3.0]), reduction="none"),
              lambda a, tt: TF.multi_margin_loss(a, tt, p=p, weight=torch.tensor([1.0, 2.0, 3.0]),
                                                 reduction="none"),
              [x, np.array([0, 2])], torch=torch, grad=[True, False], gradcheck=False)
    out = L.multi_margin_loss(gs.zeros(0, 3), gs.tensor([], dtype=gs.int64), reduction="none")
    assert out.shape == (0,)


# ----------------------------------------------------------- poisson_nll_loss
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("log_input,full", [(True, False), (False, False), (True, True), (False, True)])
def test_poisson_nll_loss_matches_torch(log_input, full, reduction, dtype, torch, rng):
    x = _r(rng, 3, 4, dtype=dtype) if log_input else rng.uniform(0.2, 3.0, (3, 4)).astype(dtype)
    y = rng.uniform(1.2, 6.0, (3, 4)).astype(dtype)  # > 1: the Stirling term is differentiable everywhere
    check(lambda a, t: L.poisson_nll_loss(a, t, log_input=log_input, full=full, reduction=reduction),
          lambda a, t: torch.nn.functional.poisson_nll_loss(a, t, log_input=log_input, full=full,
                                                             reduction=reduction),
          [x, y], torch=torch)


def test_poisson_nll_loss_counts_zero_input_eps_and_broadcast(torch, rng):
    TF = torch.nn.functional
    # integer counts with 0 and 1: full=True masks the Stirling term there, but target's gradient is NaN at 0
    # (0 * log 0 in torch's backward), finite at 0.5 and 1; an input of 0 with log_input=False uses eps
    x = np.array([0.5, 1.0, 2.0, 0.0, 3.0], np.float32)
    y = np.array([0.0, 1.0, 2.0, 3.0, 0.5], np.float32)
    for log_input in (True, False):
        check(lambda a, t: L.poisson_nll_loss(a, t, log_input=log_input, full=True, reduction="none"),
              lambda a, t: TF.poisson_nll_loss(a, t, log_input=log_input, full=True, reduction="none"),
              [x, y], torch=torch, gradcheck=False)
    check(lambda a, t: L.poisson_nll_loss(a, t, log_input=False, eps=0.1),
          lambda a, t: TF.poisson_nll_loss(a, t, log_input=False, eps=0.1), [x, y], torch=torch, gradcheck=False)
    check(lambda a, t: L.poisson_nll_loss(a, t, reduction="none"),
          lambda a, t: TF.poisson_nll_loss(a, t, reduction="none"),
          [_r(rng, 2, 3), np.array([1, 0, 4], np.int64)], torch=torch, grad=[True, False])


# ----------------------------------------------------------- gaussian_nll_loss
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("var_shape", [(4, 3), (4,), (4, 1), (1, 3)], ids=str)
def test_gaussian_nll_loss_matches_torch(var_shape, reduction, dtype, torch, rng):
    x, y = _r(rng, 4, 3, dtype=dtype), _r(rng, 4, 3, dtype=dtype)
    v = rng.uniform(0.1, 2.0, var_shape).astype(dtype)
    for full in (False, True):
        check(lambda a, t, vv: L.gaussian_nll_loss(a, t, vv, full=full, reduction=reduction),
              lambda a, t, vv: torch.nn.functional.gaussian_nll_loss(a, t, vv, full=full, reduction=reduction),
              [x, y, v], torch=torch)


def test_gaussian_nll_loss_scalar_var_eps_clamp_and_broadcast(torch, rng):
    TF = torch.nn.functional
    x, y = _r(rng, 4, 3, dtype=np.float64), _r(rng, 4, 3, dtype=np.float64)
    check(lambda a, t: L.gaussian_nll_loss(a, t, 0.7), lambda a, t: TF.gaussian_nll_loss(a, t, 0.7),
          [x, y], torch=torch)
    # var below eps: the value uses eps, the gradient passes to var unclamped (torch clamps under no_grad)
    v = np.array([1e-9, 0.5, 0.0], np.float32)
    check(lambda a, t, vv: L.gaussian_nll_loss(a, t, vv, full=True, reduction="none"),
          lambda a, t, vv: TF.gaussian_nll_loss(a, t, vv, full=True, reduction="none"),
          [np.array([1.0, 2.0, 0.1], np.float32), np.zeros(3, np.float32), v], torch=torch, gradcheck=False,
          rtol=1e-5)
    check(lambda a, t, vv: L.gaussian_nll_loss(a, t, vv, eps=0.3, reduction="sum"),
          lambda a, t, vv: TF.gaussian_nll_loss(a, t, vv, eps=0.3, reduction="sum"),
          [x, y, rng.uniform(0.5, 1.0, (4, 3))], torch=torch)
    # target broadcasts; 1-d input with a 0-d var (one short); a float64 var promotes
    check(lambda a, t, vv: L.gaussian_nll_loss(a, t, vv, reduction="none"),
          lambda a, t, vv: TF.gaussian_nll_loss(a, t, vv, reduction="none"),
          [_r(rng, 2, 3), _r(rng, 3), rng.uniform(0.5, 1.0, (2, 3)).astype(np.float32)], torch=torch)
    check(lambda a, t, vv: L.gaussian_nll_loss(a, t, vv, reduction="none"),
          lambda a, t, vv: TF.gaussian_nll_loss(a, t, vv, reduction="none"),
          [_r(rng, 3), _r(rng, 3), np.array(0.8, np.float32)], torch=torch)
    check(lambda a, t, vv: L.gaussian_nll_loss(a, t, vv),
          lambda a, t, vv: TF.gaussian_nll_loss(a, t, vv),
          [_r(rng, 2, 3), _r(rng, 2, 3), rng.uniform(0.5, 1.0, (2, 3))], torch=torch)


# ------------------------------------------------------ legacy size_average / reduce
LEGACY = [dict(size_average=False), dict(reduce=False), dict(size_average=True), dict(size_average=False, reduce=True)]


@pytest.mark.parametrize("legacy", LEGACY, ids=str)
def test_legacy_size_average_and_reduce(legacy, torch, rng):
    x1, x2, y = _r(rng, 5), _r(rng, 5), _signs(rng, 5)
    x2d, idx = _r(rng, 5, 3), np.array([0, 2, 1, 1, 0])
    cases = [
        ("margin_ranking_loss", [x1, x2, y], {}),
        ("hinge_embedding_loss", [x1, y], {}),
        ("soft_margin_loss", [x1, y], {}),
        ("cosine_embedding_loss", [x2d, x2d[::-1].copy(), y], {}),
        ("triplet_margin_loss", [x2d, x2d * 0.5, x2d[::-1].copy()], {}),
        ("multilabel_soft_margin_loss", [x2d, (x2d > 0).astype(np.float32)], {}),
        ("multi_margin_loss", [x2d, idx], {}),
        ("poisson_nll_loss", [x1, np.abs(y) * 2], {}),
    ]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for name, arrays, kw in cases:
            got = getattr(L, name)(*[gs.tensor(a) for a in arrays], **legacy, **kw)
            want = getattr(torch.nn.functional, name)(*[torch.tensor(a) for a in arrays], **legacy, **kw)
            np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-5, atol=1e-6, err_msg=name)


# ---------------------------------------------------------------- modules
MODULE_CASES = [
    ("CosineSimilarity", {}, lambda r: [_r(r, 3, 4), _r(r, 3, 4)]),
    ("CosineSimilarity", {"dim": 0, "eps": 1e-3}, lambda r: [_r(r, 3, 4), _r(r, 1, 4)]),
    ("PairwiseDistance", {}, lambda r: [_r(r, 3, 4), _r(r, 3, 4)]),
    ("PairwiseDistance", {"p": 1.0, "eps": 1e-3, "keepdim": True}, lambda r: [_r(r, 3, 4), _r(r, 4)]),
    ("MarginRankingLoss", {"margin": 0.3}, lambda r: [_r(r, 5), _r(r, 5), _signs(r, 5)]),
    ("MarginRankingLoss", {"reduction": "none"}, lambda r: [_r(r, 5), _r(r, 5), _signs(r, 5)]),
    ("HingeEmbeddingLoss", {"margin": 0.5, "reduction": "sum"}, lambda r: [_r(r, 2, 3), _signs(r, 2, 3)]),
    ("CosineEmbeddingLoss", {"margin": 0.2}, lambda r: [_r(r, 4, 3), _r(r, 4, 3), _signs(r, 4)]),
    ("TripletMarginLoss", {"margin": 2.0, "p": 1.0, "swap": True, "reduction": "sum"},
     lambda r: [_r(r, 4, 3), _r(r, 4, 3), _r(r, 4, 3)]),
    ("TripletMarginLoss", {}, lambda r: [_r(r, 4, 3), _r(r, 4, 3), _r(r, 4, 3)]),
    ("SoftMarginLoss", {"reduction": "none"}, lambda r: [_r(r, 2, 3), _signs(r, 2, 3)]),
    ("MultiLabelSoftMarginLoss", {}, lambda r: [_r(r, 4, 3), (_r(r, 4, 3) > 0).astype(np.float32)]),
    ("MultiLabelSoftMarginLoss", {"weight": np.array([0.5, 1.0, 2.0], np.float32), "reduction": "sum"},
     lambda r: [_r(r, 4, 3), (_r(r, 4, 3) > 0).astype(np.float32)]),
    ("MultiMarginLoss", {}, lambda r: [_r(r, 4, 3), np.array([0, 2, 1, 2])]),
    ("MultiMarginLoss", {"p": 2, "margin": 0.5, "weight": np.array([0.5, 1.0, 2.0], np.float32),
                         "reduction": "none"}, lambda r: [_r(r, 4, 3), np.array([0, 2, 1, 2])]),
    ("PoissonNLLLoss", {}, lambda r: [_r(r, 4), np.array([0.0, 1.0, 3.0, 2.0], np.float32)]),
    ("PoissonNLLLoss", {"log_input": False, "full": True, "eps": 1e-4, "reduction": "sum"},
     lambda r: [np.abs(_r(r, 4)) + 0.1, np.array([2.0, 5.0, 3.0, 2.5], np.float32)]),
    ("GaussianNLLLoss", {}, lambda r: [_r(r, 4, 2), _r(r, 4, 2), np.abs(_r(r, 4, 1)) + 0.1]),
    ("GaussianNLLLoss", {"full": True, "eps": 1e-2, "reduction": "none"},
     lambda r: [_r(r, 4, 2), _r(r, 4, 2), np.abs(_r(r, 4)) + 0.1]),
]


def _modules(torch, name, kwargs):
    g_kw = {k: gs.tensor(v) if isinstance(v, np.ndarray) else v for k, v in kwargs.items()}
    t_kw = {k: torch.tensor(v) if isinstance(v, np.ndarray) else v for k, v in kwargs.items()}
    return getattr(nn, name)(**g_kw), getattr(torch.nn, name)(**t_kw)


@pytest.mark.parametrize("name,kwargs,make", MODULE_CASES, ids=lambda v: v if isinstance(v, str) else None)
def test_module_matches_torch(name, kwargs, make, torch, rng):
    g, t = _modules(torch, name, kwargs)
    assert repr(g) == repr(t)
    public = {k: v for k, v in vars(t).items() if not k.startswith("_") and k != "training"}
    assert {k: getattr(g, k) for k in public} == public
    arrays = make(rng)
    grad = [a.dtype.kind == "f" for a in arrays]
    if name in ("SoftMarginLoss", "HingeEmbeddingLoss", "CosineEmbeddingLoss", "MultiMarginLoss"):
        grad[-1] = False  # targets torch doesn't differentiate
    check_module(g, t, arrays, torch=torch, grad=grad)


def test_module_weights_legacy_args_and_errors(torch):
    g, t = _modules(torch, "MultiMarginLoss", {"weight": np.ones(3, np.float32)})
    assert list(g.state_dict()) == list(t.state_dict()) == ["weight"]
    assert nn.MultiLabelSoftMarginLoss(weight=gs.ones(3)).double().weight.dtype == np.float64
    assert list(nn.MultiLabelSoftMarginLoss().state_dict()) == []
    with pytest.warns(UserWarning, match="reduction="):
        assert nn.PoissonNLLLoss(size_average=False).reduction == "sum"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for name in ("MarginRankingLoss", "HingeEmbeddingLoss", "CosineEmbeddingLoss", "TripletMarginLoss",
                     "SoftMarginLoss", "MultiLabelSoftMarginLoss", "MultiMarginLoss", "PoissonNLLLoss"):
            for kw in LEGACY:
                assert getattr(nn, name)(**kw).reduction == getattr(torch.nn, name)(**kw).reduction, (name, kw)
    for name in ("MarginRankingLoss", "SoftMarginLoss", "GaussianNLLLoss", "MultiMarginLoss"):
        with pytest.raises(InvalidArgument, match=f"{name}: reduction must be one of"):
            getattr(nn, name)(reduction="avg")
    with pytest.raises(TypeError):
        nn.GaussianNLLLoss(True)  # keyword-only options, as torch
    with pytest.raises(InvalidArgument, match="MultiMarginLoss: only p == 1 and p == 2 are supported, got p=3"):
        nn.MultiMarginLoss(p=3)
    with pytest.raises(ShapeError, match="MultiMarginLoss: expected weight to be None or a 1-d tensor"):
        nn.MultiMarginLoss(weight=gs.ones(1, 3))
    with pytest.raises(InvalidArgument, match="TripletMarginLoss: expected margin to be greater than 0"):
        nn.TripletMarginLoss(margin=0.0)


def test_functional_and_nn_exports(torch):
    for name in ("cosine_similarity", "pairwise_distance", "margin_ranking_loss", "hinge_embedding_loss",
                 "cosine_embedding_loss", "triplet_margin_loss", "soft_margin_loss", "multilabel_soft_margin_loss",
                 "multi_margin_loss", "poisson_nll_loss", "gaussian_nll_loss"):
        assert getattr(F, name) is getattr(L, name), name
        if hasattr(torch, name):  # torch.cosine_similarity & co. are top-level names in gradstep too
            assert getattr(gs, name) is getattr(L, name), name
    for name in ("CosineSimilarity", "PairwiseDistance", "MarginRankingLoss", "HingeEmbeddingLoss",
                 "CosineEmbeddingLoss", "TripletMarginLoss", "SoftMarginLoss", "MultiLabelSoftMarginLoss",
                 "MultiMarginLoss", "PoissonNLLLoss", "GaussianNLLLoss"):
        assert name in nn.__all__ and issubclass(getattr(nn, name), nn.Module), name


# ---------------------------------------------------------------- errors
def _t(*shape):
    return gs.randn(*shape)


ERRORS = [
    (lambda: L.margin_ranking_loss(_t(3), _t(3), _t(2, 3)), ShapeError,
     r"margin_ranking_loss: input1, input2, target should have the same number of dimensions, "
     r"got input1 \(3,\), input2 \(3,\), target \(2, 3\)"),
    (lambda: L.margin_ranking_loss(_t(3), _t(3), _t(4)), ShapeError,
     r"margin_ranking_loss: input1 of shape \(3,\), input2 of shape \(3,\), target of shape \(4,\) can't be "
     r"broadcast together"),
    (lambda: L.hinge_embedding_loss(_t(3), _t(4)), ShapeError,
     r"hinge_embedding_loss: input of shape \(3,\), target of shape \(4,\) can't be broadcast"),
    (lambda: L.cosine_embedding_loss(_t(2, 3), _t(2, 3), _t(2, 2)), ShapeError,
     r"cosine_embedding_loss: expected a 0-d target .* got target of shape \(2, 2\)"),
    (lambda: L.cosine_embedding_loss(_t(3), _t(3), _t(2)), ShapeError,
     r"cosine_embedding_loss: a 1-d target of shape \(2,\) expects 2-d inputs \(\(N, D\)\), got input1 of shape "
     r"\(3,\) and input2 of shape \(3,\)"),
    (lambda: L.cosine_embedding_loss(_t(2, 3), _t(2, 4), gs.ones(2)), ShapeError,
     r"cosine_embedding_loss: input1 of shape \(2, 3\), input2 of shape \(2, 4\) can't be broadcast"),
    (lambda: L.cosine_embedding_loss(_t(2, 3), _t(2, 3), gs.ones(3)), ShapeError,
     r"cosine_embedding_loss: target of shape \(3,\) doesn't match the 2 pairs .*\(expected target of shape \(2,\)"),
    (lambda: L.triplet_margin_loss(_t(2, 3), _t(3), _t(2, 3)), ShapeError,
     r"triplet_margin_loss: anchor, positive, negative should have the same number of dimensions"),
    (lambda: L.triplet_margin_loss(_t(2, 3), _t(2, 4), _t(2, 3)), ShapeError,
     r"triplet_margin_loss: anchor of shape \(2, 3\), positive of shape \(2, 4\), negative of shape \(2, 3\)"),
    (lambda: L.triplet_margin_loss(_t(2, 3), _t(2, 3), _t(2, 3), margin=0), InvalidArgument,
     r"triplet_margin_loss: margin must be greater than 0, got margin=0"),
    (lambda: L.soft_margin_loss(_t(3), _t(2, 3)), ShapeError,
     r"soft_margin_loss: target of shape \(2, 3\) can't be broadcast to the input's shape \(3,\)"),
    (lambda: L.soft_margin_loss(gs.tensor([1, 2]), _t(2)), DTypeError, "soft_margin_loss: expected a floating"),
    (lambda: L.multilabel_soft_margin_loss(_t(2, 3), _t(2, 4)), ShapeError,
     r"multilabel_soft_margin_loss: input of shape \(2, 3\), target of shape \(2, 4\) can't be broadcast"),
    (lambda: L.multilabel_soft_margin_loss(_t(2, 3), _t(2, 3), weight=_t(4)), ShapeError,
     r"multilabel_soft_margin_loss: input of shape \(2, 3\), weight of shape \(4,\) can't be broadcast"),
    (lambda: L.multilabel_soft_margin_loss(gs.tensor(1.0), gs.tensor(1.0)), ShapeError,
     r"multilabel_soft_margin_loss: expected input of shape \(C,\) or \(N, C\)"),
    (lambda: L.multi_margin_loss(_t(2, 3), gs.tensor([0, 3])), IndexOutOfRange,
     r"multi_margin_loss: target 3 at sample 1 is out of range \[0, 3\)"),
    (lambda: L.multi_margin_loss(_t(2, 3), gs.tensor([0, -1])), IndexOutOfRange, "target -1 at sample 1"),
    (lambda: L.multi_margin_loss(_t(2, 3), gs.tensor([0, 1, 2])), ShapeError,
     r"multi_margin_loss: expected a target of shape \(2,\) .* input of shape \(2, 3\), got target of shape \(3,\)"),
    (lambda: L.multi_margin_loss(_t(2, 3), gs.tensor([[0, 1]])), ShapeError, r"got target of shape \(1, 2\)"),
    (lambda: L.multi_margin_loss(_t(2, 3), gs.tensor([0.0, 1.0])), DTypeError,
     "multi_margin_loss: expected class indices of integer dtype"),
    (lambda: L.multi_margin_loss(_t(2, 3), gs.tensor([0, 1]), p=3), InvalidArgument, "only p == 1 and p == 2"),
    (lambda: L.multi_margin_loss(_t(2, 3), gs.tensor([0, 1]), weight=gs.ones(2)), ShapeError,
     r"multi_margin_loss: weight must have one value per class, shape \(3,\), got \(2,\)"),
    (lambda: L.multi_margin_loss(_t(2, 3), gs.tensor([0, 1]), weight=gs.ones(1, 3)), ShapeError,
     "weight must be one-dimensional"),
    (lambda: L.multi_margin_loss(_t(2, 3, 4), gs.tensor([0, 1])), ShapeError,
     r"multi_margin_loss: expected input of shape \(C,\) or \(N, C\) with C > 0 .* got input of shape \(2, 3, 4\)"),
    (lambda: L.multi_margin_loss(_t(2, 0), gs.tensor([0, 1])), ShapeError, r"got input of shape \(2, 0\)"),
    (lambda: L.multi_margin_loss(gs.tensor([[1, 2]]), gs.tensor([0])), DTypeError, "expected a floating point"),
    (lambda: L.poisson_nll_loss(_t(3), _t(4)), ShapeError,
     r"poisson_nll_loss: input of shape \(3,\), target of shape \(4,\) can't be broadcast"),
    (lambda: L.gaussian_nll_loss(_t(2, 3), _t(2, 3), gs.ones(3)), ShapeError,
     r"gaussian_nll_loss: var of shape \(3,\) doesn't fit input of shape \(2, 3\): expected var of the input's "
     r"shape, of \(2,\)"),
    (lambda: L.gaussian_nll_loss(_t(2, 3), _t(2, 3), gs.ones(1, 1)), ShapeError, r"var of shape \(1, 1\)"),
    (lambda: L.gaussian_nll_loss(_t(2, 3), _t(2, 3), gs.ones(2, 3, 1)), ShapeError, r"var of shape \(2, 3, 1\)"),
    (lambda: L.gaussian_nll_loss(_t(2, 3), _t(2, 3), -1.0), InvalidArgument,
     "gaussian_nll_loss: var has a negative entry, got var=-1.0"),
    (lambda: L.gaussian_nll_loss(_t(2, 3), _t(2, 3), -gs.ones(2, 3)), InvalidArgument,
     "gaussian_nll_loss: var has negative entries"),
    (lambda: L.gaussian_nll_loss(_t(2, 3), _t(4), gs.ones(2, 3)), ShapeError,
     r"gaussian_nll_loss: input of shape \(2, 3\), target of shape \(4,\), var of shape \(2, 3\) can't be broadcast"),
    (lambda: L.gaussian_nll_loss(_t(2, 3), _t(2, 3), "1"), TypeError, "var must be a number or a tensor"),
    (lambda: L.pairwise_distance(_t(2, 3), _t(2, 3), p="fro"), TypeError, "pairwise_distance: p must be a number"),
]


@pytest.mark.parametrize("fn,cls,match", ERRORS)
def test_errors_name_the_loss_and_shapes(fn, cls, match):
    with pytest.raises(cls, match=match) as info:
        fn()
    assert isinstance(info.value, GradstepError)


@pytest.mark.parametrize("name,args", [
    ("margin_ranking_loss", (3, 3, 3)), ("hinge_embedding_loss", (3, 3)),
    ("cosine_embedding_loss", ((2, 3), (2, 3), 2)),
    ("triplet_margin_loss", ((2, 3), (2, 3), (2, 3))), ("soft_margin_loss", (3, 3)),
    ("multilabel_soft_margin_loss", ((2, 3), (2, 3))), ("poisson_nll_loss", (3, 3)),
    ("gaussian_nll_loss", (3, 3, 3)),
])
def test_bad_reduction_is_named(name, args):
    tensors = [gs.randn(*(a if isinstance(a, tuple) else (a,))).abs() for a in args]
    with pytest.raises(InvalidArgument, match=f"{name}: reduction must be one of 'mean', 'sum', 'none', got 'avg'"):
        getattr(L, name)(*tensors, reduction="avg")
    with pytest.raises(InvalidArgument, match="multi_margin_loss: reduction must be one of"):
        L.multi_margin_loss(gs.randn(2, 3), gs.tensor([0, 1]), reduction="avg")
