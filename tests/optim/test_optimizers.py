"""Optimizers against torch.optim: the same parameters and gradients give the same parameters, step for step."""
import json
import math

import numpy as np
import pytest

import gradstep as gs
from gradstep import optim

SHAPES = [(3, 4), (5,), (), (2, 3, 2), (0, 3), (1, 7)]
STEPS = 20
# PyTorch's CPU kernels fuse multiply-add (one rounding where NumPy makes two), so
# results differ by a few float32 ulps: atol is ~4 ulps of 1.
TOL = dict(rtol=1e-6, atol=5e-7)

CASES = [
    ("SGD", dict(lr=0.1)),
    ("SGD", dict(lr=0.1, weight_decay=0.1)),
    ("SGD", dict(lr=0.1, maximize=True, weight_decay=0.05)),
    ("SGD", dict(lr=0.05, momentum=0.9)),
    ("SGD", dict(lr=0.05, momentum=0.9, dampening=0.3)),
    ("SGD", dict(lr=0.05, momentum=0.9, nesterov=True, weight_decay=0.1)),
    ("SGD", dict(lr=0.05, momentum=0.8, maximize=True)),
    ("Adam", dict(lr=0.01)),
    ("Adam", dict(lr=0.01, betas=(0.8, 0.99), eps=1e-6)),
    ("Adam", dict(lr=0.01, weight_decay=0.1)),
    ("Adam", dict(lr=0.01, amsgrad=True)),
    ("Adam", dict(lr=0.01, amsgrad=True, weight_decay=0.1, maximize=True)),
    ("Adam", dict(lr=0.01, maximize=True)),
    ("AdamW", dict(lr=0.01)),
    ("AdamW", dict(lr=0.01, weight_decay=0.5, amsgrad=True)),
    ("AdamW", dict(lr=0.01, weight_decay=0.1, maximize=True)),
    ("RMSprop", dict(lr=0.01)),
    ("RMSprop", dict(lr=0.01, alpha=0.9, weight_decay=0.1)),
    ("RMSprop", dict(lr=0.01, momentum=0.5)),
    ("RMSprop", dict(lr=0.01, centered=True)),
    ("RMSprop", dict(lr=0.01, centered=True, momentum=0.9, weight_decay=0.1, maximize=True)),
    ("Adagrad", dict(lr=0.1)),
    ("Adagrad", dict(lr=0.1, lr_decay=0.05, weight_decay=0.1)),
    ("Adagrad", dict(lr=0.1, initial_accumulator_value=0.2, eps=1e-6, maximize=True)),
]


def _data(seed=0, shapes=SHAPES, steps=STEPS, dtype=np.float32):
    rng = np.random.default_rng(seed)
    init = [rng.standard_normal(s).astype(dtype) for s in shapes]
    grads = [[rng.standard_normal(s).astype(dtype) for s in shapes] for _ in range(steps)]
    return init, grads


def _pair(torch, init):
    gp = [gs.tensor(a.copy(), requires_grad=True) for a in init]
    tp = [torch.tensor(a.copy(), requires_grad=True) for a in init]
    return gp, tp


def _set_grads(torch, gp, tp, grads):
    for p, g in zip(gp, grads):
        p.grad = None if g is None else gs.tensor(g)
    for p, g in zip(tp, grads):
        p.grad = None if g is None else torch.tensor(g)


def _compare(gp, tp, where):
    for i, (a, b) in enumerate(zip(gp, tp)):
        assert a.dtype == b.detach().numpy().dtype, f"{where}: param {i} dtype {a.dtype}"
        np.testing.assert_allclose(a.numpy(force=True), b.detach().numpy(), **TOL, err_msg=f"{where}: param {i}")


def _groups(params, extra):
    return [{"params": params[:2]}, {"params": params[2:], **extra}]


@pytest.mark.parametrize("name,kwargs", CASES, ids=[f"{n}-{k}" for n, k in CASES])
def test_matches_torch(name, kwargs, torch):
    init, grads = _data()
    gp, tp = _pair(torch, init)
    g_opt = getattr(optim, name)(gp, **kwargs)
    t_opt = getattr(torch.optim, name)(tp, **kwargs)
    for step, gr in enumerate(grads):
        _set_grads(torch, gp, tp, gr)
        g_opt.step()
        t_opt.step()
        _compare(gp, tp, f"{name} step {step + 1}")
    # The optimizer state is PyTorch's too.
    g_state, t_state = g_opt.state_dict()["state"], t_opt.state_dict()["state"]
    assert sorted(g_state) == sorted(t_state)
    for i in t_state:
        assert set(g_state[i]) == set(t_state[i]), f"state keys of param {i}"
        for key, t_val in t_state[i].items():
            g_val = g_state[i][key]
            if key == "step":
                assert g_val == float(t_val)
            else:
                np.testing.assert_allclose(g_val, t_val.numpy(), rtol=1e-5, atol=1e-6, err_msg=key)


@pytest.mark.parametrize("name,kwargs,extra", [
    ("SGD", dict(lr=0.1, momentum=0.9), dict(lr=0.01, nesterov=True)),
    ("Adam", dict(lr=0.01), dict(lr=0.002, betas=(0.5, 0.9), weight_decay=0.2)),
    ("AdamW", dict(lr=0.01), dict(lr=0.03, amsgrad=True)),
    ("RMSprop", dict(lr=0.01), dict(lr=0.001, centered=True)),
    ("Adagrad", dict(lr=0.1), dict(lr=0.5, lr_decay=0.1)),
])
def test_param_groups(name, kwargs, extra, torch):
    init, grads = _data(1)
    gp, tp = _pair(torch, init)
    g_opt = getattr(optim, name)(_groups(gp, extra), **kwargs)
    t_opt = getattr(torch.optim, name)(_groups(tp, extra), **kwargs)
    assert g_opt.param_groups[1]["lr"] == extra["lr"] and g_opt.param_groups[0]["lr"] == kwargs["lr"]
    for step, gr in enumerate(grads):
        _set_grads(torch, gp, tp, gr)
        g_opt.step()
        t_opt.step()
        _compare(gp, tp, f"step {step + 1}")


@pytest.mark.parametrize("name,kwargs", [("SGD", dict(lr=0.1, momentum=0.9, dampening=0.2)),
                                         ("Adam", dict(lr=0.01, amsgrad=True)),
                                         ("RMSprop", dict(lr=0.01, momentum=0.3, centered=True)),
                                         ("Adagrad", dict(lr=0.1, lr_decay=0.1))])
def test_missing_gradients(name, kwargs, torch):
    """Parameters without a gradient are skipped (no state, no step count) as in PyTorch."""
    init, grads = _data(2)
    rng = np.random.default_rng(3)
    gp, tp = _pair(torch, init)
    g_opt, t_opt = getattr(optim, name)(gp, **kwargs), getattr(torch.optim, name)(tp, **kwargs)
    for step, gr in enumerate(grads):
        gr = [None if (step < 3 and i == 0) or rng.random() < 0.25 else g for i, g in enumerate(gr)]
        _set_grads(torch, gp, tp, gr)
        g_opt.step()
        t_opt.step()
        _compare(gp, tp, f"step {step + 1}")


@pytest.mark.parametrize("name,kwargs", [("Adam", dict(lr=0.01, amsgrad=True)), ("AdamW", dict(lr=0.01)),
                                         ("SGD", dict(lr=0.1, momentum=0.9, nesterov=True)),
                                         ("SGD", dict(lr=0.1, momentum=0.9, dampening=0.5)),
                                         ("RMSprop", dict(lr=0.01, momentum=0.5, centered=True)),
                                         ("Adagrad", dict(lr=0.1)),
                                         ("NAdam", dict(lr=0.01, weight_decay=0.1, decoupled_weight_decay=True)),
                                         ("RAdam", dict(lr=0.01, weight_decay=0.1, decoupled_weight_decay=True)),
                                         ("Adamax", dict(lr=0.01, maximize=True)),
                                         ("Adadelta", dict(maximize=True))])
def test_large_parameters_on_threads(name, kwargs, torch):
    """Buffers big enough to be cut into pieces updated on several threads: same results, any thread count.

    (No L2 weight decay for the NAdam-family cases: among 300,000 elements some g + λθ cancel to ~1e-9,
    where PyTorch's fused multiply-add and NumPy's two roundings differ far beyond float32 ulps.)
    """
    from gradstep.optim import optimizer as base

    init, grads = _data(10, shapes=[(600, 500), (7,)], steps=4)
    gp, tp = _pair(torch, init)
    single = [gs.tensor(a.copy(), requires_grad=True) for a in init]
    g_opt, t_opt = getattr(optim, name)(gp, **kwargs), getattr(torch.optim, name)(tp, **kwargs)
    s_opt = getattr(optim, name)(single, **kwargs)
    threads = base._threads
    try:
        for gr in grads:
            _set_grads(torch, gp, tp, gr)
            for p, g in zip(single, gr):
                p.grad = gs.tensor(g)
            optim.set_num_threads(3)
            g_opt.step()
            optim.set_num_threads(1)
            s_opt.step()
            t_opt.step()
            _compare(gp, tp, name)
            for a, b in zip(gp, single):
                np.testing.assert_array_equal(a.numpy(force=True), b.numpy(force=True))
    finally:
        optim.set_num_threads(threads)
    with pytest.raises(ValueError, match="positive int, got 0"):
        optim.set_num_threads(0)


@pytest.mark.parametrize("shape", [(4, 3), (600, 500)])
def test_non_contiguous_parameters_and_gradients(shape, torch):
    """A parameter that is a transposed view and Fortran-ordered gradients are updated in place correctly."""
    init, grads = _data(11, shapes=[shape[::-1], (5,)], steps=5)
    gp = [gs.tensor(init[0].copy(), requires_grad=True), gs.tensor(init[1].copy(), requires_grad=True)]
    base = gp[0].numpy(force=True)
    gp[0].data = base.T  # a non-contiguous view of the same memory
    tp = [torch.tensor(init[0].T.copy(), requires_grad=True), torch.tensor(init[1].copy(), requires_grad=True)]
    g_opt = optim.Adam(gp, lr=0.01, weight_decay=0.1)
    t_opt = torch.optim.Adam(tp, lr=0.01, weight_decay=0.1)
    for gr in grads:
        gr = [gr[0].T.copy(), gr[1]]
        gp[0].grad = gs.Tensor._wrap(np.asfortranarray(gr[0]))
        gp[1].grad = gs.tensor(gr[1])
        for p, g in zip(tp, gr):
            p.grad = torch.tensor(g)
        g_opt.step()
        t_opt.step()
        _compare(gp, tp, "non-contiguous")
    assert np.shares_memory(gp[0].numpy(force=True), base)


def test_dtypes_are_kept(torch):
    """float32 and float64 parameters in one group: each keeps its dtype and matches torch."""
    init32, grads32 = _data(4, shapes=[(3, 2), (4,)])
    init64, grads64 = _data(5, shapes=[(2, 2)], dtype=np.float64)
    init = init32 + init64
    gp, tp = _pair(torch, init)
    g_opt, t_opt = optim.Adam(gp, lr=0.01), torch.optim.Adam(tp, lr=0.01)
    for gr32, gr64 in zip(grads32, grads64):
        _set_grads(torch, gp, tp, gr32 + gr64)
        g_opt.step()
        t_opt.step()
        _compare(gp, tp, "mixed dtypes")
    assert [p.dtype for p in gp] == [np.float32, np.float32, np.float64]
    assert all(v.dtype == p.dtype for p in gp for v in g_opt.state[p].values() if isinstance(v, np.ndarray))


@pytest.mark.parametrize("name,kwargs", [
    ("SGD", dict(lr=0.1, momentum=0.9, nesterov=True)),
    ("Adam", dict(lr=0.01, amsgrad=True, weight_decay=0.1)),
    ("AdamW", dict(lr=0.01)),
    ("RMSprop", dict(lr=0.01, momentum=0.5, centered=True)),
    ("Adagrad", dict(lr=0.1, lr_decay=0.01)),
])
def test_state_dict_round_trip(name, kwargs):
    """Save at step 10, load into a fresh optimizer over copied parameters, continue: identical results."""
    init, grads = _data(6)
    cls = getattr(optim, name)
    params = [gs.tensor(a.copy(), requires_grad=True) for a in init]
    opt = cls(_groups(params, dict(lr=kwargs["lr"] / 2)), **kwargs)
    for gr in grads[:10]:
        for p, g in zip(params, gr):
            p.grad = gs.tensor(g)
        opt.step()
    saved = opt.state_dict()
    arrays, meta = optim.flatten_state_dict(saved)
    assert all(isinstance(v, np.ndarray) for v in arrays.values())
    meta = json.loads(json.dumps(meta))  # metadata is JSON (a safetensors header)
    resumed = [gs.tensor(p.numpy(force=True).copy(), requires_grad=True) for p in params]
    opt2 = cls(_groups(resumed, dict(lr=1.0)), **kwargs)
    opt2.load_state_dict(optim.unflatten_state_dict(arrays, meta))
    assert opt2.param_groups[1]["lr"] == kwargs["lr"] / 2
    for gr in grads[10:]:
        for ps in (params, resumed):
            for p, g in zip(ps, gr):
                p.grad = gs.tensor(g)
        opt.step()
        opt2.step()
        for a, b in zip(params, resumed):
            np.testing.assert_array_equal(a.numpy(force=True), b.numpy(force=True))


def test_state_dict_layout(torch):
    init, grads = _data(7, shapes=[(2, 3), (3,)])
    gp, tp = _pair(torch, init)
    g_opt = optim.Adam([{"params": gp[:1]}, {"params": gp[1:], "lr": 0.1}], lr=0.01)
    t_opt = torch.optim.Adam([{"params": tp[:1]}, {"params": tp[1:], "lr": 0.1}], lr=0.01)
    _set_grads(torch, gp, tp, grads[0])
    g_opt.step()
    t_opt.step()
    g_sd, t_sd = g_opt.state_dict(), t_opt.state_dict()
    assert [g["params"] for g in g_sd["param_groups"]] == [g["params"] for g in t_sd["param_groups"]] == [[0], [1]]
    for g_group, t_group in zip(g_sd["param_groups"], t_sd["param_groups"]):
        for key, value in g_group.items():
            assert t_group[key] == value, key
    assert list(g_sd["state"][0]) == list(t_sd["state"][0]) == ["step", "exp_avg", "exp_avg_sq"]
    # A snapshot: later steps don't change it.
    before = g_sd["state"][0]["exp_avg"].copy()
    _set_grads(torch, gp, tp, grads[1])
    g_opt.step()
    np.testing.assert_array_equal(g_sd["state"][0]["exp_avg"], before)


def test_load_torch_state(torch):
    """A torch state dict, converted to NumPy, continues the run in gradstep."""
    init, grads = _data(8)
    gp, tp = _pair(torch, init)
    t_opt = torch.optim.Adam(tp, lr=0.01, amsgrad=True)
    for gr in grads[:5]:
        _set_grads(torch, gp, tp, gr)
        t_opt.step()
    t_sd = t_opt.state_dict()
    state = {i: {k: (float(v) if k == "step" else v.numpy()) for k, v in s.items()} for i, s in t_sd["state"].items()}
    groups = [{k: v for k, v in g.items() if k not in ("foreach", "capturable", "differentiable", "fused",
                                                        "decoupled_weight_decay")} for g in t_sd["param_groups"]]
    for a, b in zip(gp, tp):
        a.numpy(force=True)[...] = b.detach().numpy()
    g_opt = optim.Adam(gp, lr=0.5)
    g_opt.load_state_dict({"state": state, "param_groups": groups})
    for gr in grads[5:]:
        _set_grads(torch, gp, tp, gr)
        g_opt.step()
        t_opt.step()
        _compare(gp, tp, "after loading torch state")


def test_zero_grad_and_closure():
    w = gs.tensor([1.0, -2.0], requires_grad=True)
    opt = optim.SGD([w], lr=0.5)

    def closure():
        opt.zero_grad()
        loss = (w * w).sum()
        loss.backward()
        return loss

    loss = opt.step(closure)
    assert float(loss) == 5.0
    np.testing.assert_allclose(w.numpy(force=True), [0.0, 0.0])
    opt.zero_grad(set_to_none=False)
    grad = w.grad
    assert grad is not None and not grad.numpy().any()
    opt.zero_grad()
    assert w.grad is None


def test_step_bumps_version_and_keeps_dtype():
    w = gs.tensor(np.ones((2, 2), np.float32), requires_grad=True)
    before = w._version[0]
    opt = optim.Adam([w], lr=0.1, weight_decay=0.1)
    w.grad = gs.tensor(np.full((2, 2), 0.5, np.float32))
    opt.step()
    assert w._version[0] > before
    assert w.dtype == np.float32
    assert all(v.dtype == np.float32 for v in opt.state[w].values() if isinstance(v, np.ndarray))


def test_fast_path_follows_reassigned_state_and_data(torch):
    """The flat buffers notice a loaded state, a replaced parameter array and a new param group."""
    init, grads = _data(9, shapes=[(3,), (2, 2)])
    gp, tp = _pair(torch, init)
    g_opt, t_opt = optim.Adam(gp, lr=0.01), torch.optim.Adam(tp, lr=0.01)
    for i, gr in enumerate(grads[:12]):
        _set_grads(torch, gp, tp, gr)
        g_opt.step()
        t_opt.step()
        if i == 4:
            g_opt.load_state_dict(g_opt.state_dict())
        if i == 7:  # reassign a parameter's data (same values, new array)
            gp[0].data = gp[0].numpy(force=True).copy()
    _compare(gp, tp, "after reassignments")
    extra_g = gs.tensor(np.ones(3, np.float32), requires_grad=True)
    extra_t = torch.tensor(np.ones(3, np.float32), requires_grad=True)
    g_opt.add_param_group({"params": [extra_g], "lr": 0.1})
    t_opt.add_param_group({"params": [extra_t], "lr": 0.1})
    for gr in grads[12:]:
        _set_grads(torch, gp + [extra_g], tp + [extra_t], gr + [np.full(3, 0.3, np.float32)])
        g_opt.step()
        t_opt.step()
    _compare(gp + [extra_g], tp + [extra_t], "after add_param_group")


def test_deepcopy_mid_run():
    """A deep copy (parameters and state) continues exactly like the original, independently of it."""
    import copy

    init, grads = _data(12, shapes=[(3, 4), (5,)])
    params = [gs.tensor(a, requires_grad=True) for a in init]
    opt = optim.Adam(params, lr=0.01, amsgrad=True)
    for gr in grads[:5]:
        for p, g in zip(params, gr):
            p.grad = gs.tensor(g)
        opt.step()
    twin = copy.deepcopy(opt)
    twin_params = twin.param_groups[0]["params"]
    assert twin_params[0] is not params[0]
    for gr in grads[5:]:
        for ps in (params, twin_params):
            for p, g in zip(ps, gr):
                p.grad = gs.tensor(g)
        opt.step()
        twin.step()
    for a, b in zip(params, twin_params):
        np.testing.assert_array_equal(a.numpy(force=True), b.numpy(force=True))
    for i, values in opt.state_dict()["state"].items():
        for key, value in values.items():
            np.testing.assert_array_equal(twin.state_dict()["state"][i][key], value, err_msg=key)


def test_named_parameters_and_repr():
    a = gs.tensor([1.0], requires_grad=True)
    b = gs.tensor([2.0], requires_grad=True)
    opt = optim.SGD([("a", a), ("b", b)], lr=0.1)
    assert opt.param_groups[0]["param_names"] == ["a", "b"]
    assert opt.state_dict()["param_groups"][0]["param_names"] == ["a", "b"]
    assert "Parameter Group 0" in repr(opt) and "lr: 0.1" in repr(opt)


# ------------------------------------------------------------------ errors
def _p():
    return gs.tensor([1.0, 2.0], requires_grad=True)


@pytest.mark.parametrize("make,exc,words", [
    (lambda: optim.SGD([], lr=0.1), ValueError, ["empty parameter list"]),
    (lambda: optim.SGD([_p()], lr=-0.1), ValueError, ["learning rate", "-0.1"]),
    (lambda: optim.SGD([_p()], lr="0.1"), TypeError, ["lr", "'0.1'", "str"]),
    (lambda: optim.Adam([_p()], lr=float("nan")), ValueError, ["learning rate", "nan"]),
    (lambda: optim.SGD([_p()], momentum=-0.5), ValueError, ["momentum", "-0.5"]),
    (lambda: optim.SGD([_p()], weight_decay=-1.0), ValueError, ["weight_decay", "-1.0"]),
    (lambda: optim.SGD([_p()], momentum=0.0, nesterov=True), ValueError, ["Nesterov", "momentum=0.0"]),
    (lambda: optim.Adam([_p()], betas=(1.0, 0.999)), ValueError, ["beta", "index 0", "1.0"]),
    (lambda: optim.Adam([_p()], betas=(0.9, -0.1)), ValueError, ["beta", "index 1", "-0.1"]),
    (lambda: optim.Adam([_p()], betas=0.9), ValueError, ["betas", "pair"]),
    (lambda: optim.AdamW([_p()], eps=-1e-8), ValueError, ["epsilon", "-1e-08"]),
    (lambda: optim.RMSprop([_p()], alpha=-0.1), ValueError, ["alpha", "-0.1"]),
    (lambda: optim.Adagrad([_p()], lr_decay=-1.0), ValueError, ["lr_decay", "-1.0"]),
    (lambda: optim.Adagrad([_p()], initial_accumulator_value=-1.0), ValueError, ["initial_accumulator_value"]),
    (lambda: optim.SGD(_p(), lr=0.1), TypeError, ["iterable", "list"]),
    (lambda: optim.SGD({_p()}, lr=0.1), TypeError, ["sets", "list"]),
    (lambda: optim.SGD([1.0], lr=0.1), TypeError, ["only optimize Tensors", "float"]),
    (lambda: optim.SGD([_p() * 2], lr=0.1), ValueError, ["non-leaf"]),
])
def test_constructor_errors(make, exc, words):
    with pytest.raises(exc) as info:
        make()
    for word in words:
        assert word in str(info.value), (word, str(info.value))


def test_group_errors():
    a, b = _p(), _p()
    with pytest.raises(ValueError, match="more than one parameter group"):
        optim.SGD([{"params": [a, b]}, {"params": [b]}], lr=0.1)
    with pytest.raises(ValueError, match="same parameter twice"):
        optim.SGD([a, a], lr=0.1)
    opt = optim.Adam([a], lr=0.1)
    with pytest.raises(ValueError, match="more than one parameter group"):
        opt.add_param_group({"params": [a]})
    with pytest.raises(ValueError, match="learning rate: lr=-1"):
        opt.add_param_group({"params": [b], "lr": -1})
    assert len(opt.param_groups) == 1


def test_step_and_load_errors():
    a = _p()
    opt = optim.Adam([a], lr=0.1)
    with pytest.raises(gs.ShapeError, match=r"assigned grad has shape \(3,\) but the tensor has shape \(2,\)"):
        a.grad = gs.tensor([1.0, 2.0, 3.0])  # refused where it happens, as in PyTorch
    a._grad = gs.tensor([1.0, 2.0, 3.0])  # forced past that check: step still names the parameter
    with pytest.raises(gs.ShapeError, match=r"shape \(2,\).*gradient of shape \(3,\)"):
        opt.step()
    with pytest.raises(ValueError, match="different number of parameter groups"):
        opt.load_state_dict({"state": {}, "param_groups": []})
    with pytest.raises(ValueError, match="doesn't match the size"):
        opt.load_state_dict({"state": {}, "param_groups": [{"lr": 0.1, "params": [0, 1]}]})
    bad = {"state": {0: {"step": 1.0, "exp_avg": np.zeros(3, np.float32)}},
           "param_groups": opt.state_dict()["param_groups"]}
    with pytest.raises(gs.CheckpointError, match=r"'exp_avg' of parameter 0 has shape \(3,\).*\(2,\)"):
        opt.load_state_dict(bad)


def test_empty_step_is_noop():
    a = _p()
    opt = optim.Adam([a], lr=0.1)
    opt.step()  # no gradients yet
    assert not opt.state[a]
    np.testing.assert_array_equal(a.numpy(force=True), [1.0, 2.0])
    assert math.isclose(opt.param_groups[0]["lr"], 0.1)
