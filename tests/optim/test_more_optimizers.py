"""NAdam, RAdam, Adamax, Adadelta, Rprop and ASGD against torch.optim: the same parameters step for step, the same state."""
import inspect
import json

import numpy as np
import pytest

import gradstep as gs
from gradstep import optim
from gradstep.errors import ArgumentTypeError, GradstepError, InvalidArgument, NotSupported
from gradstep.optim import lr_scheduler
from tests.optim.test_optimizers import STEPS, TOL, _data, _groups, _pair, _set_grads

TOL64 = dict(rtol=1e-10, atol=1e-12)
NAMES = ["NAdam", "RAdam", "Adamax", "Adadelta"]
UNSUPPORTED_GROUP_KEYS = ("foreach", "capturable", "differentiable", "fused")

# Every option that changes the maths, alone and together.
CASES = [
    ("NAdam", dict(lr=0.01)),
    ("NAdam", dict(lr=0.01, betas=(0.8, 0.99), eps=1e-6, momentum_decay=0.02)),
    ("NAdam", dict(lr=0.01, betas=(0.3, 0.9))),  # lerp weight ≥ 0.5: PyTorch's other formula
    ("NAdam", dict(lr=0.01, weight_decay=0.1)),
    ("NAdam", dict(lr=0.01, weight_decay=0.1, decoupled_weight_decay=True)),
    ("NAdam", dict(lr=0.01, maximize=True)),
    ("NAdam", dict(lr=0.01, weight_decay=0.1, maximize=True)),
    ("NAdam", dict(lr=0.01, weight_decay=0.1, decoupled_weight_decay=True, maximize=True)),
    ("RAdam", dict(lr=0.01)),
    ("RAdam", dict(lr=0.01, betas=(0.8, 0.99), eps=1e-6)),
    ("RAdam", dict(lr=0.01, betas=(0.9, 0.5))),  # ρ∞ = 3: never rectified, plain momentum steps
    ("RAdam", dict(lr=0.01, betas=(0.3, 0.9))),
    ("RAdam", dict(lr=0.01, weight_decay=0.1)),
    ("RAdam", dict(lr=0.01, weight_decay=0.1, decoupled_weight_decay=True)),
    ("RAdam", dict(lr=0.01, maximize=True)),
    ("RAdam", dict(lr=0.01, weight_decay=0.1, maximize=True)),
    ("RAdam", dict(lr=0.01, weight_decay=0.1, decoupled_weight_decay=True, maximize=True)),
    ("Adamax", dict(lr=0.01)),
    ("Adamax", dict(lr=0.01, betas=(0.3, 0.9), eps=1e-3)),
    ("Adamax", dict(lr=0.01, weight_decay=0.1)),
    ("Adamax", dict(lr=0.01, maximize=True)),
    ("Adamax", dict(lr=0.01, weight_decay=0.1, maximize=True)),
    ("Adadelta", dict()),
    ("Adadelta", dict(lr=0.5, rho=0.5, eps=1e-4)),
    ("Adadelta", dict(rho=1.0)),
    ("Adadelta", dict(weight_decay=0.1)),
    ("Adadelta", dict(maximize=True)),
    ("Adadelta", dict(weight_decay=0.1, maximize=True)),
    ("Rprop", dict()),
    ("Rprop", dict(lr=0.05, etas=(0.3, 1.5), step_sizes=(1e-3, 0.2))),
    ("Rprop", dict(lr=0.05, maximize=True)),
    ("ASGD", dict()),
    ("ASGD", dict(lr=0.05, lambd=0.01, alpha=0.5, t0=5)),  # averaging from step 5: μ < 1
    ("ASGD", dict(lr=0.05, t0=3, weight_decay=0.1)),
    ("ASGD", dict(lr=0.05, t0=3, maximize=True)),
    ("ASGD", dict(lr=0.05, t0=3, weight_decay=0.1, maximize=True)),
]
SCALAR_STATE = ("step", "mu_product", "eta", "mu")  # PyTorch's 0-d tensors, Python floats here
DTYPES = [np.float32, np.float64]


def _tol(dtype):
    return TOL if dtype == np.float32 else TOL64


def _compare(gp, tp, where, dtype):
    for i, (a, b) in enumerate(zip(gp, tp)):
        assert a.dtype == b.detach().numpy().dtype == dtype, f"{where}: param {i} dtype {a.dtype}"
        np.testing.assert_allclose(a.numpy(force=True), b.detach().numpy(), **_tol(dtype),
                                   err_msg=f"{where}: param {i}")


def _compare_state(g_opt, t_opt, dtype):
    """The same state entries, in PyTorch's order, with PyTorch's values."""
    g_state, t_state = g_opt.state_dict()["state"], t_opt.state_dict()["state"]
    assert sorted(g_state) == sorted(t_state)
    for i in t_state:
        assert list(g_state[i]) == list(t_state[i]), f"state keys of param {i}"
        for key, t_val in t_state[i].items():
            g_val = g_state[i][key]
            if key in SCALAR_STATE:
                assert isinstance(g_val, float) and g_val == float(t_val), (key, g_val, t_val)
            else:
                assert g_val.dtype == dtype, key
                np.testing.assert_allclose(g_val, t_val.numpy(), **(dict(rtol=1e-5, atol=1e-6) if dtype == np.float32
                                                                     else TOL64), err_msg=key)


def _torch_state_as_numpy(t_sd):
    state = {i: {k: (float(v) if k == "step" else v.numpy()) for k, v in s.items()} for i, s in t_sd["state"].items()}
    groups = [{k: v for k, v in g.items() if k not in UNSUPPORTED_GROUP_KEYS} for g in t_sd["param_groups"]]
    return {"state": state, "param_groups": groups}


@pytest.mark.parametrize("dtype", DTYPES, ids=["float32", "float64"])
@pytest.mark.parametrize("name,kwargs", CASES, ids=[f"{n}-{k}" for n, k in CASES])
def test_matches_torch(name, kwargs, dtype, torch):
    init, grads = _data(0, dtype=dtype, steps=STEPS + 5)
    gp, tp = _pair(torch, init)
    g_opt = getattr(optim, name)(gp, **kwargs)
    t_opt = getattr(torch.optim, name)(tp, **kwargs)
    for step, gr in enumerate(grads):
        _set_grads(torch, gp, tp, gr)
        g_opt.step()
        t_opt.step()
        _compare(gp, tp, f"{name} step {step + 1}", dtype)
    _compare_state(g_opt, t_opt, dtype)


def test_defaults_are_torch_defaults(torch):
    for name in NAMES:
        g_opt = getattr(optim, name)([gs.tensor([1.0], requires_grad=True)])
        t_opt = getattr(torch.optim, name)([torch.tensor([1.0], requires_grad=True)])
        t_defaults = {k: v for k, v in t_opt.defaults.items() if k not in UNSUPPORTED_GROUP_KEYS}
        assert g_opt.defaults == t_defaults, name


@pytest.mark.parametrize("dtype", DTYPES, ids=["float32", "float64"])
@pytest.mark.parametrize("name,kwargs,extra", [
    ("NAdam", dict(lr=0.01, weight_decay=0.1), dict(lr=0.003, decoupled_weight_decay=True, maximize=True,
                                                    momentum_decay=0.01)),
    ("NAdam", dict(lr=0.01), dict(betas=(0.5, 0.9), weight_decay=0.2)),
    ("RAdam", dict(lr=0.01, weight_decay=0.1, decoupled_weight_decay=True), dict(lr=0.03, weight_decay=0.0)),
    ("RAdam", dict(lr=0.01), dict(betas=(0.8, 0.9), weight_decay=0.1, maximize=True)),
    ("Adamax", dict(lr=0.01), dict(lr=0.002, betas=(0.5, 0.9), weight_decay=0.2, maximize=True)),
    ("Adadelta", dict(lr=1.0), dict(lr=0.3, rho=0.6, eps=1e-5, weight_decay=0.1)),
    ("Adadelta", dict(lr=0.5, maximize=True), dict(maximize=False)),
    ("Rprop", dict(lr=0.02), dict(lr=0.05, etas=(0.4, 1.3), step_sizes=(1e-4, 1.0), maximize=True)),
    ("ASGD", dict(lr=0.02, t0=4), dict(lr=0.05, lambd=0.05, alpha=0.6, t0=2, weight_decay=0.1)),
])
def test_param_groups(name, kwargs, extra, dtype, torch):
    init, grads = _data(1, dtype=dtype)
    gp, tp = _pair(torch, init)
    g_opt = getattr(optim, name)(_groups(gp, extra), **kwargs)
    t_opt = getattr(torch.optim, name)(_groups(tp, extra), **kwargs)
    for key, value in extra.items():
        assert g_opt.param_groups[1][key] == value
    for step, gr in enumerate(grads):
        _set_grads(torch, gp, tp, gr)
        g_opt.step()
        t_opt.step()
        _compare(gp, tp, f"step {step + 1}", dtype)
    _compare_state(g_opt, t_opt, dtype)


@pytest.mark.parametrize("name,kwargs", [("NAdam", dict(lr=0.01, weight_decay=0.1)),
                                         ("RAdam", dict(lr=0.01, betas=(0.9, 0.99))),
                                         ("Adamax", dict(lr=0.01)),
                                         ("Adadelta", dict(weight_decay=0.1)),
                                         ("Rprop", dict(lr=0.05)),
                                         ("ASGD", dict(lr=0.05, t0=2, weight_decay=0.1))])
def test_missing_gradients(name, kwargs, torch):
    """Parameters without a gradient are skipped; their step counts (NAdam's μ-products, ASGD's η, μ) then differ."""
    init, grads = _data(2)
    rng = np.random.default_rng(3)
    gp, tp = _pair(torch, init)
    g_opt, t_opt = getattr(optim, name)(gp, **kwargs), getattr(torch.optim, name)(tp, **kwargs)
    for step, gr in enumerate(grads):
        gr = [None if (step < 3 and i == 0) or rng.random() < 0.25 else g for i, g in enumerate(gr)]
        _set_grads(torch, gp, tp, gr)
        g_opt.step()
        t_opt.step()
        _compare(gp, tp, f"step {step + 1}", np.float32)
    _compare_state(g_opt, t_opt, np.float32)


def test_nadam_mu_product_follows_the_default_dtype(torch):
    """PyTorch keeps NAdam's μ-product in its default dtype: float64 there gives a float64 product here too."""
    init, grads = _data(13, shapes=[(4,), ()], dtype=np.float64, steps=30)
    old_gs, old_torch = gs.get_default_dtype(), torch.get_default_dtype()
    try:
        gs.set_default_dtype(np.float64)
        torch.set_default_dtype(torch.float64)
        gp, tp = _pair(torch, init)
        g_opt, t_opt = optim.NAdam(gp, lr=0.01), torch.optim.NAdam(tp, lr=0.01)
        for gr in grads:
            _set_grads(torch, gp, tp, gr)
            g_opt.step()
            t_opt.step()
        _compare(gp, tp, "float64 default dtype", np.float64)
        assert g_opt.state[gp[0]]["mu_product"] == t_opt.state[tp[0]]["mu_product"].item()
        assert t_opt.state[tp[0]]["mu_product"].dtype == torch.float64
    finally:
        gs.set_default_dtype(old_gs)
        torch.set_default_dtype(old_torch)


# -------------------------------------------------------------- state dicts
@pytest.mark.parametrize("name,kwargs", [
    ("NAdam", dict(lr=0.01, weight_decay=0.1, decoupled_weight_decay=True)),
    ("RAdam", dict(lr=0.01, weight_decay=0.1)),
    ("Adamax", dict(lr=0.01, maximize=True)),
    ("Adadelta", dict(rho=0.8, weight_decay=0.1)),
    ("Rprop", dict(lr=0.05, etas=(0.4, 1.3))),
    ("ASGD", dict(lr=0.05, t0=4, weight_decay=0.1)),
])
def test_state_dict_round_trip(name, kwargs):
    """Save at step 10 (through flat arrays + JSON metadata), load into a fresh optimizer, continue: the same bits."""
    init, grads = _data(6)
    cls = getattr(optim, name)
    lr = kwargs.get("lr", 1.0)
    params = [gs.tensor(a.copy(), requires_grad=True) for a in init]
    opt = cls(_groups(params, dict(lr=lr / 2)), **kwargs)
    for gr in grads[:10]:
        for p, g in zip(params, gr):
            p.grad = gs.tensor(g)
        opt.step()
    saved = opt.state_dict()
    arrays, meta = optim.flatten_state_dict(saved)
    meta = json.loads(json.dumps(meta))  # metadata is JSON (a safetensors header)
    resumed = [gs.tensor(p.numpy(force=True).copy(), requires_grad=True) for p in params]
    opt2 = cls(_groups(resumed, dict(lr=3.0)), **{**kwargs, "lr": 2.0})
    opt2.load_state_dict(optim.unflatten_state_dict(arrays, meta))
    assert opt2.param_groups[1]["lr"] == lr / 2 and opt2.param_groups[0]["lr"] == lr
    for gr in grads[10:]:
        for ps in (params, resumed):
            for p, g in zip(ps, gr):
                p.grad = gs.tensor(g)
        opt.step()
        opt2.step()
        for a, b in zip(params, resumed):
            np.testing.assert_array_equal(a.numpy(force=True), b.numpy(force=True))


@pytest.mark.parametrize("name,kwargs", [
    ("NAdam", dict(lr=0.01, weight_decay=0.1, decoupled_weight_decay=True, momentum_decay=0.01)),
    ("RAdam", dict(lr=0.01, weight_decay=0.1, decoupled_weight_decay=True)),
    ("Adamax", dict(lr=0.01, weight_decay=0.1)),
    ("Adadelta", dict(lr=0.5, rho=0.8)),
    ("Rprop", dict(lr=0.05, etas=(0.4, 1.3), step_sizes=(1e-4, 1.0), maximize=True)),
    ("ASGD", dict(lr=0.05, lambd=0.01, t0=3, weight_decay=0.1)),
])
def test_load_torch_state(name, kwargs, torch):
    """A torch state dict (tensors turned into NumPy) continues the run in gradstep, options and all."""
    init, grads = _data(8)
    gp, tp = _pair(torch, init)
    t_opt = getattr(torch.optim, name)(_groups(tp, dict(lr=0.002)), **kwargs)
    for gr in grads[:5]:
        _set_grads(torch, gp, tp, gr)
        t_opt.step()
    for a, b in zip(gp, tp):
        a.numpy(force=True)[...] = b.detach().numpy()
    g_opt = getattr(optim, name)(_groups(gp, {}), lr=0.5)  # the other options come from the state dict
    g_opt.load_state_dict(_torch_state_as_numpy(t_opt.state_dict()))
    assert g_opt.param_groups[1]["lr"] == 0.002
    for key, value in kwargs.items():
        assert g_opt.param_groups[0][key] == value
    for gr in grads[5:]:
        _set_grads(torch, gp, tp, gr)
        g_opt.step()
        t_opt.step()
        _compare(gp, tp, "after loading torch state", np.float32)
    _compare_state(g_opt, t_opt, np.float32)


@pytest.mark.parametrize("name,kwargs", [("NAdam", dict(lr=0.01, weight_decay=0.1)), ("RAdam", dict(lr=0.01)),
                                         ("Adamax", dict(lr=0.01)), ("Adadelta", dict()),
                                         ("Rprop", dict(lr=0.05)), ("ASGD", dict(lr=0.05, t0=3))])
def test_torch_loads_our_state(name, kwargs, torch):
    """The other way: torch continues from gradstep's state dict (arrays turned into tensors)."""
    init, grads = _data(9)
    gp, tp = _pair(torch, init)
    g_opt = getattr(optim, name)(gp, **kwargs)
    for gr in grads[:5]:
        _set_grads(torch, gp, tp, gr)
        g_opt.step()
    for a, b in zip(gp, tp):
        b.data.copy_(torch.tensor(a.numpy(force=True)))
    g_sd = g_opt.state_dict()
    state = {i: {k: (torch.tensor(v) if isinstance(v, np.ndarray) else v) for k, v in s.items()}
             for i, s in g_sd["state"].items()}
    t_opt = getattr(torch.optim, name)(tp, lr=0.5)
    t_opt.load_state_dict({"state": state, "param_groups": g_sd["param_groups"]})
    for gr in grads[5:]:
        _set_grads(torch, gp, tp, gr)
        g_opt.step()
        t_opt.step()
        _compare(gp, tp, "torch after loading gradstep state", np.float32)


# ---------------------------------------------------------------- schedulers
@pytest.mark.parametrize("name,kwargs", [("NAdam", dict(lr=0.01, weight_decay=0.1)),
                                         ("RAdam", dict(lr=0.01, decoupled_weight_decay=True, weight_decay=0.1)),
                                         ("Adamax", dict(lr=0.01)), ("Adadelta", dict(lr=1.0)),
                                         ("Rprop", dict(lr=0.05)), ("ASGD", dict(lr=0.05, t0=4))])
def test_step_lr_is_honoured(name, kwargs, torch):
    """StepLR rewrites group["lr"] every few steps: the updates follow the new rates as torch's do.

    (Rprop reads lr only when a parameter's state is created, in torch as here: its run shows that too.)"""
    init, grads = _data(14, steps=STEPS)
    gp, tp = _pair(torch, init)
    g_opt = getattr(optim, name)(_groups(gp, dict(lr=kwargs["lr"] * 3)), **kwargs)
    t_opt = getattr(torch.optim, name)(_groups(tp, dict(lr=kwargs["lr"] * 3)), **kwargs)
    g_sched = lr_scheduler.StepLR(g_opt, step_size=4, gamma=0.3)
    t_sched = torch.optim.lr_scheduler.StepLR(t_opt, step_size=4, gamma=0.3)
    for step, gr in enumerate(grads):
        _set_grads(torch, gp, tp, gr)
        g_opt.step()
        t_opt.step()
        g_sched.step()
        t_sched.step()
        _compare(gp, tp, f"step {step + 1}", np.float32)
        np.testing.assert_allclose(g_sched.get_last_lr(), t_sched.get_last_lr(), rtol=1e-12)
    assert g_opt.param_groups[0]["lr"] < kwargs["lr"] * 0.3 ** 4  # the rate did change


def test_changed_lr_changes_the_step():
    """A rate written into the group between steps is used by the next step (nothing caches it)."""
    for name in NAMES:
        a, b = gs.tensor([1.0, -1.0], requires_grad=True), gs.tensor([1.0, -1.0], requires_grad=True)
        opt_a, opt_b = getattr(optim, name)([a], lr=0.1), getattr(optim, name)([b], lr=0.1)
        for opt, p in ((opt_a, a), (opt_b, b)):
            p.grad = gs.tensor([0.5, 0.25])
            opt.step()
        opt_b.param_groups[0]["lr"] = 0.0
        for opt, p in ((opt_a, a), (opt_b, b)):
            p.grad = gs.tensor([0.5, 0.25])
            before = p.numpy(force=True).copy()
            opt.step()
        np.testing.assert_array_equal(b.numpy(force=True), before, err_msg=name)
        assert not np.array_equal(a.numpy(force=True), before), name


# -------------------------------------------------------------------- errors
def _p():
    return gs.tensor([1.0, 2.0], requires_grad=True)


BAD = [
    (name, kwargs, exc, words)
    for name in NAMES
    for kwargs, exc, words in [
        (dict(lr=-0.1), InvalidArgument, ["learning rate", "lr=-0.1", ">= 0"]),
        (dict(lr=float("nan")), InvalidArgument, ["learning rate", "nan"]),
        (dict(lr="0.1"), ArgumentTypeError, ["lr", "'0.1'", "str"]),
        (dict(eps=-1e-8), InvalidArgument, ["epsilon", "eps=-1e-08"]),
        (dict(weight_decay=-0.5), InvalidArgument, ["weight_decay", "-0.5"]),
    ]
] + [
    (name, kwargs, exc, words)
    for name in ("NAdam", "RAdam", "Adamax")
    for kwargs, exc, words in [
        (dict(betas=(1.0, 0.999)), InvalidArgument, ["beta parameter at index 0", "1.0", "[0.0, 1.0)"]),
        (dict(betas=(0.9, -0.1)), InvalidArgument, ["beta parameter at index 1", "-0.1"]),
        (dict(betas=(0.9, 1.5)), InvalidArgument, ["beta parameter at index 1", "1.5"]),
        (dict(betas=0.9), InvalidArgument, ["betas", "pair", "0.9"]),
        (dict(betas=(0.9, 0.99, 0.5)), InvalidArgument, ["betas", "pair"]),
        (dict(betas=(0.9, None)), ArgumentTypeError, ["betas[1]", "None"]),
    ]
] + [
    ("NAdam", dict(momentum_decay=-0.004), InvalidArgument, ["momentum_decay", "-0.004"]),
    ("Adadelta", dict(rho=-0.1), InvalidArgument, ["rho", "-0.1"]),
    ("Adadelta", dict(rho=1.5), InvalidArgument, ["rho", "1.5", "[0.0, 1.0]"]),
    ("Adadelta", dict(rho=float("nan")), InvalidArgument, ["rho", "nan"]),
]


@pytest.mark.parametrize("name,kwargs,exc,words", BAD, ids=[f"{n}-{k}" for n, k, _, _ in BAD])
def test_constructor_errors(name, kwargs, exc, words):
    with pytest.raises(exc) as info:
        getattr(optim, name)([_p()], **kwargs)
    assert isinstance(info.value, GradstepError)
    message = str(info.value)
    assert message.startswith(name + ":"), message
    for word in words:
        assert word in message, (word, message)


@pytest.mark.parametrize("name", NAMES)
def test_bad_group_is_refused(name):
    opt = getattr(optim, name)([_p()])
    with pytest.raises(InvalidArgument, match="learning rate: lr=-1"):
        opt.add_param_group({"params": [_p()], "lr": -1})
    with pytest.raises(InvalidArgument, match="epsilon value: eps=-1"):
        opt.add_param_group({"params": [_p()], "eps": -1})
    assert len(opt.param_groups) == 1


def test_rho_bounds_are_inclusive():
    for rho in (0.0, 1.0):
        assert optim.Adadelta([_p()], rho=rho).defaults["rho"] == rho


def test_exported():
    for name in NAMES:
        assert name in optim.__all__ and issubclass(getattr(optim, name), optim.Optimizer)
        assert getattr(optim, name).__doc__.count("for t = 1, 2, ...") == 1


# ------------------------------------------------------------- Rprop and ASGD
NEW_NAMES = ["Rprop", "ASGD"]


@pytest.mark.parametrize("name", NEW_NAMES)
def test_new_optimizers_match_torch_signature_and_defaults(name, torch):
    """torch 2.13's constructor: the same parameters in the same order, keyword-only where torch's are."""
    ours = inspect.signature(getattr(optim, name)).parameters
    theirs = inspect.signature(getattr(torch.optim, name)).parameters
    assert list(ours) == list(theirs)
    for key, p in theirs.items():
        assert ours[key].kind == p.kind, key
        if key != "params":
            assert ours[key].default == p.default, key
    g_opt = getattr(optim, name)([gs.tensor([1.0], requires_grad=True)])
    t_opt = getattr(torch.optim, name)([torch.tensor([1.0], requires_grad=True)])
    assert g_opt.defaults == {k: v for k, v in t_opt.defaults.items() if k not in UNSUPPORTED_GROUP_KEYS}
    assert name in optim.__all__ and getattr(optim, name).__doc__.count("for t = 1, 2, ...") == 1


@pytest.mark.parametrize("dtype", DTYPES, ids=["float32", "float64"])
def test_rprop_reaches_both_step_size_bounds(dtype, torch):
    """Steady signs grow the steps to Γmax, alternating signs shrink them to Γmin; tiny gradients whose
    product underflows to 0 in float32 count as 'no sign' (factor 1), as in torch."""
    rng = np.random.default_rng(4)
    shapes = [(6,), (2, 3)]
    init = [rng.standard_normal(s).astype(dtype) for s in shapes]
    grads = []
    for step in range(30):
        sign = 1.0 if step < 10 else (-1.0) ** step
        gr = [(sign * (np.abs(rng.standard_normal(s)) + 0.1)).astype(dtype) for s in shapes]
        if step in (20, 21):
            gr[0][:2] = dtype(1e-30)  # 1e-30 * 1e-30 underflows in float32, not in float64
        grads.append(gr)
    gp, tp = _pair(torch, init)
    kwargs = dict(lr=0.05, etas=(0.3, 1.5), step_sizes=(1e-3, 0.2))
    g_opt, t_opt = optim.Rprop(gp, **kwargs), torch.optim.Rprop(tp, **kwargs)
    seen = set()
    for step, gr in enumerate(grads):
        _set_grads(torch, gp, tp, gr)
        g_opt.step()
        t_opt.step()
        _compare(gp, tp, f"Rprop step {step + 1}", dtype)
        sizes = g_opt.state[gp[1]]["step_size"]
        seen |= {float(dtype(b)) for b in (0.2, 1e-3) if np.any(sizes == dtype(b))}
    _compare_state(g_opt, t_opt, dtype)
    assert seen == {float(dtype(0.2)), float(dtype(1e-3))}  # both clamps were exercised


def test_rprop_reads_lr_once_like_torch(torch):
    """The step sizes start at the lr of the first step; a later lr change leaves them alone (torch too)."""
    init, grads = _data(21, steps=6)
    gp, tp = _pair(torch, init)
    g_opt, t_opt = optim.Rprop(gp, lr=0.05), torch.optim.Rprop(tp, lr=0.05)
    for step, gr in enumerate(grads):
        if step == 2:
            g_opt.param_groups[0]["lr"] = t_opt.param_groups[0]["lr"] = 10.0
        _set_grads(torch, gp, tp, gr)
        g_opt.step()
        t_opt.step()
        _compare(gp, tp, f"step {step + 1}", np.float32)
    assert float(np.max(g_opt.state[gp[0]]["step_size"])) < 1.0


def test_asgd_average_differs_from_the_iterate_after_t0(torch):
    """Before t0, ax is the last iterate; after it, a running average that lags behind θ (torch's numbers)."""
    init, grads = _data(22, steps=12)
    gp, tp = _pair(torch, init)
    g_opt, t_opt = optim.ASGD(gp, lr=0.1, t0=5), torch.optim.ASGD(tp, lr=0.1, t0=5)
    for step, gr in enumerate(grads):
        _set_grads(torch, gp, tp, gr)
        g_opt.step()
        t_opt.step()
        ax, theta = g_opt.state[gp[0]]["ax"], gp[0].numpy(force=True)
        if step + 1 <= 7:  # step t uses μ_{t-1} = 1 / max(1, t − 1 − t0): 1 through step t0 + 2, so ax copies θ
            np.testing.assert_array_equal(ax, theta)
        else:
            assert not np.allclose(ax, theta)
        assert g_opt.state[gp[0]]["mu"] == t_opt.state[tp[0]]["mu"].item()
        assert g_opt.state[gp[0]]["eta"] == t_opt.state[tp[0]]["eta"].item()
    _compare_state(g_opt, t_opt, np.float32)


@pytest.mark.parametrize("name,kwargs,exc,words", [
    ("Rprop", dict(lr=-0.1), InvalidArgument, ["learning rate", "lr=-0.1"]),
    ("Rprop", dict(etas=(1.5, 1.2)), InvalidArgument, ["invalid eta values: 1.5, 1.2"]),
    ("Rprop", dict(etas=(0.5, 0.9)), InvalidArgument, ["invalid eta values: 0.5, 0.9"]),
    ("Rprop", dict(etas=(0.0, 1.2)), InvalidArgument, ["invalid eta values: 0.0, 1.2"]),
    ("Rprop", dict(etas=0.5), ArgumentTypeError, ["etas must be a pair", "0.5"]),
    ("Rprop", dict(step_sizes=(1e-6, 50, 3)), ArgumentTypeError, ["step_sizes must be a pair"]),
    ("Rprop", dict(step_sizes=(1e-6, "50")), ArgumentTypeError, ["step_sizes[1]", "'50'"]),
    ("Rprop", dict(capturable=True), NotSupported, ["capturable=True"]),
    ("ASGD", dict(lr=-0.1), InvalidArgument, ["learning rate", "lr=-0.1"]),
    ("ASGD", dict(weight_decay=-0.5), InvalidArgument, ["weight_decay", "-0.5"]),
    ("ASGD", dict(lr="0.1"), ArgumentTypeError, ["lr", "'0.1'", "str"]),
    ("ASGD", dict(differentiable=True), NotSupported, ["differentiable=True"]),
])
def test_new_optimizer_errors(name, kwargs, exc, words, torch):
    with pytest.raises(exc) as info:
        getattr(optim, name)([_p()], **kwargs)
    message = str(info.value)
    assert message.startswith(name + ":"), message
    for word in words:
        assert word in message, (word, message)
    if exc is not NotSupported and "step_sizes" not in kwargs:  # torch refuses them too, with the same base class
        with pytest.raises(ValueError if exc is InvalidArgument else TypeError):
            getattr(torch.optim, name)([torch.tensor([1.0, 2.0], requires_grad=True)], **kwargs)
