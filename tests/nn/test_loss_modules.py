"""Loss modules against torch.nn's: values and gradients for each option; buffers, repr, errors."""
import warnings

import numpy as np
import pytest

import gradstep as gs
from gradstep import nn
from tests.nn._parity import check_module


def _x(rng, *shape):
    return rng.standard_normal(shape).astype(np.float32)


def _pair(torch, name, **kwargs):
    """The gradstep and the torch loss module, built with the same (array-valued) options."""
    g_kw = {k: gs.tensor(v) if isinstance(v, np.ndarray) else v for k, v in kwargs.items()}
    t_kw = {k: torch.tensor(v) if isinstance(v, np.ndarray) else v for k, v in kwargs.items()}
    return getattr(nn, name)(**g_kw), getattr(torch.nn, name)(**t_kw)


W3 = np.array([0.2, 1.0, 3.0], np.float32)
W5 = np.array([1.0, 0.5, 2.0, 1.5, 0.1], np.float32)


def _inputs(kind, rng):
    if kind == "logits_idx":
        return [_x(rng, 6, 3), np.array([0, 2, 1, 2, -100, 0], np.int64)], [True, False]
    if kind == "logits_idx_2d":
        return [_x(rng, 2, 3, 4), rng.integers(0, 3, (2, 4)).astype(np.int64)], [True, False]
    if kind == "logits_prob":
        p = rng.random((4, 3)).astype(np.float32)
        return [_x(rng, 4, 3), (p / p.sum(1, keepdims=True)).astype(np.float32)], [True, False]
    if kind == "logprob_idx":
        x = _x(rng, 5, 3)
        x = x - np.log(np.exp(x).sum(1, keepdims=True))
        return [x.astype(np.float32), np.array([1, 0, 2, 2, 1], np.int64)], [True, False]
    if kind == "regression":
        return [_x(rng, 4, 5) * 2, _x(rng, 4, 5) * 2], [True, True]
    if kind == "prob":
        return [rng.uniform(0.05, 0.95, (4, 5)).astype(np.float32),
                rng.uniform(0, 1, (4, 5)).astype(np.float32)], [True, False]
    if kind == "logits_binary":
        return [_x(rng, 4, 5) * 3, rng.uniform(0, 1, (4, 5)).astype(np.float32)], [True, False]
    if kind == "kl":
        x = _x(rng, 4, 5)
        x = x - np.log(np.exp(x).sum(1, keepdims=True))
        t = rng.random((4, 5)).astype(np.float32)
        return [x.astype(np.float32), (t / t.sum(1, keepdims=True)).astype(np.float32)], [True, True]
    raise KeyError(kind)


CASES = [
    ("CrossEntropyLoss", {}, "logits_idx"),
    ("CrossEntropyLoss", {"weight": W3, "reduction": "mean"}, "logits_idx"),
    ("CrossEntropyLoss", {"reduction": "sum", "ignore_index": 1}, "logits_idx_2d"),
    ("CrossEntropyLoss", {"reduction": "none", "label_smoothing": 0.1}, "logits_idx_2d"),
    ("CrossEntropyLoss", {"weight": W3, "label_smoothing": 0.2}, "logits_idx"),
    ("CrossEntropyLoss", {}, "logits_prob"),
    ("CrossEntropyLoss", {"label_smoothing": 0.1, "reduction": "sum"}, "logits_prob"),
    ("NLLLoss", {}, "logprob_idx"),
    ("NLLLoss", {"weight": W3, "reduction": "sum", "ignore_index": 0}, "logprob_idx"),
    ("MSELoss", {}, "regression"),
    ("MSELoss", {"reduction": "none"}, "regression"),
    ("L1Loss", {"reduction": "sum"}, "regression"),
    ("SmoothL1Loss", {"beta": 0.5}, "regression"),
    ("HuberLoss", {"delta": 0.7, "reduction": "sum"}, "regression"),
    ("BCELoss", {}, "prob"),
    ("BCELoss", {"weight": W5, "reduction": "none"}, "prob"),
    ("BCEWithLogitsLoss", {}, "logits_binary"),
    ("BCEWithLogitsLoss", {"pos_weight": W5, "weight": W5, "reduction": "sum"}, "logits_binary"),
    ("KLDivLoss", {"reduction": "batchmean"}, "kl"),
    ("KLDivLoss", {"reduction": "sum", "log_target": True}, "kl"),
]


@pytest.mark.parametrize("name,kwargs,kind", CASES, ids=str)
def test_loss_module_matches_torch(name, kwargs, kind, torch, rng):
    g, t = _pair(torch, name, **kwargs)
    arrays, grad = _inputs(kind, rng)
    if name == "KLDivLoss" and kwargs.get("log_target"):
        arrays[1] = np.log(arrays[1]).astype(np.float32)
    check_module(g, t, arrays, torch=torch, grad=grad)


def test_weights_are_buffers(torch):
    g, t = _pair(torch, "CrossEntropyLoss", weight=W3)
    assert list(g.state_dict()) == list(t.state_dict()) == ["weight"]
    g, t = _pair(torch, "BCEWithLogitsLoss", pos_weight=W5)
    assert list(g.state_dict()) == list(t.state_dict()) == ["pos_weight"]
    assert list(nn.MSELoss().state_dict()) == []
    g = nn.CrossEntropyLoss(weight=gs.tensor(W3)).double()
    assert g.weight.dtype == np.float64


def test_repr_and_attributes(torch):
    for name in ("CrossEntropyLoss", "MSELoss", "BCEWithLogitsLoss", "KLDivLoss", "HuberLoss"):
        assert repr(getattr(nn, name)()) == repr(getattr(torch.nn, name)())
    ce = nn.CrossEntropyLoss(ignore_index=3, label_smoothing=0.1, reduction="sum")
    assert (ce.ignore_index, ce.label_smoothing, ce.reduction) == (3, 0.1, "sum")


def test_legacy_size_average_and_reduce(torch, rng):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for kw in (dict(size_average=False), dict(reduce=False), dict(size_average=True, reduce=True)):
            g, t = nn.MSELoss(**kw), torch.nn.MSELoss(**kw)
            assert g.reduction == t.reduction
    a, b = _x(rng, 3), _x(rng, 3)
    with pytest.warns(UserWarning, match="reduction="):
        loss = nn.L1Loss(size_average=False)(gs.tensor(a), gs.tensor(b))
    assert loss.item() == pytest.approx(np.abs(a - b).sum(), rel=1e-6)


def test_errors():
    with pytest.raises(ValueError, match="reduction must be one of"):
        nn.MSELoss(reduction="avg")
    with pytest.raises(ValueError, match="label_smoothing must be between 0.0 and 1.0"):
        nn.CrossEntropyLoss(label_smoothing=1.5)


def test_cross_entropy_extreme_logits_stay_finite(torch):
    logits = np.array([[1e4, -1e4, 0.0], [-1e4, 1e4, 1e4]], np.float32)
    target = np.array([1, 0], np.int64)
    g, t = nn.CrossEntropyLoss(), torch.nn.CrossEntropyLoss()
    out = check_module(g, t, [logits, target], torch=torch, grad=[True, False])
    assert np.isfinite(out[0].detach().numpy()).all()
