"""MultiplicativeLR, ChainedScheduler and CyclicLR against torch.optim.lr_scheduler: the same rates (and momenta)."""
import copy
import json

import numpy as np
import pytest

import gradstep as gs
from gradstep import optim
from gradstep.optim import lr_scheduler_extra as extra
from gradstep.optim import lr_scheduler as sched
from tests.optim.test_lr_scheduler import STEPS, _close, _optimizers, _run

# torch keeps this flag of its get_lr warning in every scheduler's __dict__; gradstep has no such flag.
TORCH_ONLY_KEYS = {"_get_lr_called_within_step"}


class Halving:
    """A callable object: unlike a lambda, its attributes go into the state dict (torch's rule)."""

    def __init__(self, base=0.5):
        self.base = base

    def __call__(self, x):
        return self.base ** x


def _module(m):
    """The module holding the schedulers: gradstep's extra file, or torch's lr_scheduler."""
    return extra if m is sched else m


MULTIPLICATIVE = {
    "one-lambda": lambda m, opt: _module(m).MultiplicativeLR(opt, lambda e: 0.95),
    "per-group": lambda m, opt: _module(m).MultiplicativeLR(opt, [lambda e: 0.9 if e % 3 else 1.1,
                                                                 lambda e: 1.0 - 0.01 * e]),
}

CYCLIC = {
    "triangular": dict(base_lr=0.01, max_lr=0.1, step_size_up=4),
    "triangular-down": dict(base_lr=0.01, max_lr=0.1, step_size_up=3, step_size_down=7),
    "triangular2": dict(base_lr=0.01, max_lr=0.1, step_size_up=3, mode="triangular2"),
    "exp_range": dict(base_lr=0.01, max_lr=0.1, step_size_up=5, mode="exp_range", gamma=0.95),
    "per-group": dict(base_lr=[0.01, 0.001], max_lr=[0.1, 0.05], step_size_up=4, base_momentum=[0.7, 0.8],
                      max_momentum=[0.95, 0.9]),
    "scale_fn-cycle": dict(base_lr=0.01, max_lr=0.1, step_size_up=3, scale_fn=lambda x: 1 / x),
    "scale_fn-iterations": dict(base_lr=0.01, max_lr=0.1, step_size_up=3, scale_fn=lambda x: 0.97 ** x,
                                scale_mode="iterations"),
    "no-momentum": dict(base_lr=0.01, max_lr=0.1, step_size_up=4, cycle_momentum=False),
}


@pytest.mark.parametrize("name", list(MULTIPLICATIVE))
def test_multiplicative_matches_torch(name, torch):
    g_opt, t_opt = _optimizers(torch, momentum=0.9)
    make = MULTIPLICATIVE[name]
    _run(g_opt, t_opt, make(sched, g_opt), make(torch.optim.lr_scheduler, t_opt))


@pytest.mark.parametrize("name", list(CYCLIC))
@pytest.mark.parametrize("opt_name", ["SGD", "Adam"])
def test_cyclic_matches_torch(name, opt_name, torch):
    """30 steps of every mode: the rates, and the momentum (SGD) or betas[0] (Adam) cycled against them."""
    kwargs = dict(momentum=0.9) if opt_name == "SGD" else {}
    g_opt, t_opt = _optimizers(torch, opt_name, **kwargs)
    g = extra.CyclicLR(g_opt, **CYCLIC[name])
    t = torch.optim.lr_scheduler.CyclicLR(t_opt, **CYCLIC[name])
    key = "momentum" if opt_name == "SGD" else "betas"
    _run(g_opt, t_opt, g, t, keys=("lr", key))
    for group in g_opt.param_groups:
        if CYCLIC[name].get("cycle_momentum", True):
            assert group["max_momentum"] >= group["base_momentum"]
        else:  # left alone
            assert "max_momentum" not in group and np.ravel(group[key])[0] == 0.9


def test_cyclic_changes_the_parameters_like_torch(torch):
    """The cycled rate and momentum reach SGD's update: the parameters follow torch's over 30 steps."""
    rng = np.random.default_rng(0)
    init = rng.standard_normal((3, 4)).astype(np.float32)
    gp, tp = gs.tensor(init.copy(), requires_grad=True), torch.tensor(init.copy(), requires_grad=True)
    g_opt, t_opt = optim.SGD([gp], lr=0.1, momentum=0.5), torch.optim.SGD([tp], lr=0.1, momentum=0.5)
    g = extra.CyclicLR(g_opt, base_lr=0.01, max_lr=0.2, step_size_up=5, mode="triangular2")
    t = torch.optim.lr_scheduler.CyclicLR(t_opt, base_lr=0.01, max_lr=0.2, step_size_up=5, mode="triangular2")
    for step in range(STEPS):
        grad = rng.standard_normal((3, 4)).astype(np.float32)
        gp.grad, tp.grad = gs.tensor(grad), torch.tensor(grad)
        g_opt.step()
        t_opt.step()
        g.step()
        t.step()
        np.testing.assert_allclose(gp.numpy(force=True), tp.detach().numpy(), rtol=1e-5, atol=1e-6,
                                   err_msg=f"step {step + 1}")


def test_cyclic_sets_the_groups_like_torch(torch):
    """Construction writes base_lr into lr and max_momentum into momentum / betas[0], as torch does."""
    for opt_name, kwargs in (("SGD", dict(momentum=0.5)), ("Adam", dict(betas=(0.5, 0.99)))):
        g_opt, t_opt = _optimizers(torch, opt_name, **kwargs)
        extra.CyclicLR(g_opt, base_lr=[0.03, 0.004], max_lr=0.1, max_momentum=0.93)
        torch.optim.lr_scheduler.CyclicLR(t_opt, base_lr=[0.03, 0.004], max_lr=0.1, max_momentum=0.93)
        momentum = "momentum" if opt_name == "SGD" else "betas"
        for g_group, t_group in zip(g_opt.param_groups, t_opt.param_groups):
            for key in ("lr", "initial_lr", "max_momentum", "base_momentum", momentum):
                assert g_group[key] == t_group[key], (opt_name, key)


CHAINED = {
    "constant-exponential": lambda m, opt: [m.ConstantLR(opt, factor=0.1, total_iters=20),
                                            m.ExponentialLR(opt, gamma=0.9)],
    "multiplicative-step": lambda m, opt: [_module(m).MultiplicativeLR(opt, lambda e: 0.97),
                                           m.StepLR(opt, step_size=5, gamma=0.5)],
    "linear-cosine": lambda m, opt: [m.LinearLR(opt, start_factor=0.2, total_iters=6),
                                     m.CosineAnnealingLR(opt, T_max=12)],
}


@pytest.mark.parametrize("name", list(CHAINED))
@pytest.mark.parametrize("pass_optimizer", [False, True])
def test_chained_matches_torch(name, pass_optimizer, torch):
    g_opt, t_opt = _optimizers(torch, momentum=0.9)
    g_parts, t_parts = CHAINED[name](sched, g_opt), CHAINED[name](torch.optim.lr_scheduler, t_opt)
    g = extra.ChainedScheduler(g_parts, optimizer=g_opt if pass_optimizer else None)
    t = torch.optim.lr_scheduler.ChainedScheduler(t_parts, optimizer=t_opt if pass_optimizer else None)
    assert g.optimizer is g_opt
    _run(g_opt, t_opt, g, t)


def test_chained_with_cyclic_moves_momentum_too(torch):
    g_opt, t_opt = _optimizers(torch, momentum=0.9)

    def parts(m, opt):
        return [_module(m).CyclicLR(opt, base_lr=0.01, max_lr=0.1, step_size_up=4), m.ExponentialLR(opt, gamma=0.95)]

    g = extra.ChainedScheduler(parts(sched, g_opt))
    t = torch.optim.lr_scheduler.ChainedScheduler(parts(torch.optim.lr_scheduler, t_opt))
    _run(g_opt, t_opt, g, t, keys=("lr", "momentum"))


def test_reexported_from_lr_scheduler():
    for name in ("MultiplicativeLR", "ChainedScheduler", "CyclicLR"):
        assert getattr(sched, name) is getattr(extra, name) and name in sched.__all__
        assert issubclass(getattr(extra, name), sched.LRScheduler)


# ---------------------------------------------------------------- state dicts
def _make(name, m, opt):
    if name == "MultiplicativeLR":
        return _module(m).MultiplicativeLR(opt, [lambda e: 0.95, Halving(0.99)])
    if name == "CyclicLR":
        return _module(m).CyclicLR(opt, base_lr=0.01, max_lr=0.1, step_size_up=3, mode="exp_range", gamma=0.97)
    if name == "CyclicLR-scale_fn":
        return _module(m).CyclicLR(opt, base_lr=0.01, max_lr=0.1, step_size_up=3, scale_fn=Halving(0.8))
    return _module(m).ChainedScheduler([m.ExponentialLR(opt, gamma=0.9),
                                        _module(m).CyclicLR(opt, base_lr=0.01, max_lr=0.1, step_size_up=4)])


STATE_CASES = ["MultiplicativeLR", "CyclicLR", "CyclicLR-scale_fn", "ChainedScheduler"]


def _same_state(ours, theirs, where):
    """The same entries as torch's state dict (bar torch's internal flag), with the same values."""
    assert set(theirs) - set(ours) <= TORCH_ONLY_KEYS and set(ours) <= set(theirs), where
    for key, value in ours.items():
        if key == "_schedulers":
            for i, (a, b) in enumerate(zip(value, theirs[key])):
                _same_state(a, b, f"{where}._schedulers[{i}]")
        elif isinstance(value, float) or (isinstance(value, list) and value and isinstance(value[0], float)):
            _close(value, theirs[key], f"{where}.{key}")
        else:
            assert value == theirs[key], (where, key, value, theirs[key])


@pytest.mark.parametrize("name", STATE_CASES)
def test_state_dict_is_torchs(name, torch):
    """Entry for entry torch's state dict: lambdas stored as None, callable objects as their attributes."""
    g_opt, t_opt = _optimizers(torch, momentum=0.9)
    g, t = _make(name, sched, g_opt), _make(name, torch.optim.lr_scheduler, t_opt)
    for _ in range(7):
        g_opt.step(), t_opt.step(), g.step(), t.step()
    ours, theirs = g.state_dict(), t.state_dict()
    _same_state(ours, theirs, name)
    if name == "MultiplicativeLR":
        assert ours["lr_lambdas"] == [None, {"base": 0.99}]
    if name == "CyclicLR-scale_fn":
        assert ours["_scale_fn_custom"] == {"base": 0.8}


@pytest.mark.parametrize("name", STATE_CASES)
@pytest.mark.parametrize("source", ["gradstep-json", "torch"])
def test_state_dict_round_trip(name, source, torch):
    """Save after 12 steps (through JSON, or torch's own state dict), rebuild, load, continue: torch's rates."""
    g_opt, t_opt = _optimizers(torch, momentum=0.9)
    g, t = _make(name, sched, g_opt), _make(name, torch.optim.lr_scheduler, t_opt)
    for _ in range(12):
        g_opt.step(), t_opt.step(), g.step(), t.step()
    saved_opt = g_opt.state_dict()
    saved = json.loads(json.dumps(g.state_dict())) if source == "gradstep-json" else copy.deepcopy(t.state_dict())
    g_opt2, _ = _optimizers(torch, momentum=0.9)
    g2 = _make(name, sched, g_opt2)
    if name == "CyclicLR-scale_fn":
        g2._scale_fn_custom.base = 0.1  # the saved attributes must come back
    g2.load_state_dict(saved)
    g_opt2.load_state_dict(saved_opt)
    for step in range(STEPS - 12):
        g_opt2.step(), t_opt.step(), g2.step(), t.step()
        _close(g2.get_last_lr(), t.get_last_lr(), f"resumed step {step}")
        for g_group, t_group in zip(g_opt2.param_groups, t_opt.param_groups):
            _close(g_group["lr"], t_group["lr"], f"lr at resumed step {step}")
            if "momentum" in g_group:
                _close(g_group["momentum"], t_group["momentum"], f"momentum at resumed step {step}")


def test_load_state_dict_keeps_the_callers_dict():
    """As torch (pytorch#32756): loading doesn't remove the functions' entries from the dict passed in."""
    opt = optim.SGD([gs.tensor([1.0], requires_grad=True)], lr=0.1, momentum=0.9)
    for s in (extra.MultiplicativeLR(opt, lambda e: 0.9), extra.CyclicLR(opt, 0.01, 0.1, step_size_up=3)):
        state = s.state_dict()
        keys = set(state)
        s.load_state_dict(state)
        assert set(state) == keys


def test_cyclic_constructed_with_last_epoch(torch):
    """Resuming by last_epoch= (groups already hold initial_lr): torch's rates from batch 6 on, base lr untouched."""
    g_opt, t_opt = _optimizers(torch, momentum=0.9)
    extra.CyclicLR(g_opt, base_lr=0.01, max_lr=0.1, step_size_up=4)
    torch.optim.lr_scheduler.CyclicLR(t_opt, base_lr=0.01, max_lr=0.1, step_size_up=4)
    g = extra.CyclicLR(g_opt, base_lr=0.02, max_lr=0.1, step_size_up=4, last_epoch=5)
    t = torch.optim.lr_scheduler.CyclicLR(t_opt, base_lr=0.02, max_lr=0.1, step_size_up=4, last_epoch=5)
    _run(g_opt, t_opt, g, t, steps=15, keys=("lr", "momentum"))


# --------------------------------------------------------------------- errors
ERRORS = [
    ("MultiplicativeLR not callable", lambda m, o: _module(m).MultiplicativeLR(o, 0.9), TypeError,
     ["lr_lambda should be a function", "float"]),
    ("MultiplicativeLR count", lambda m, o: _module(m).MultiplicativeLR(o, [lambda e: 0.9]), ValueError,
     ["2 lr_lambdas", "1"]),
    ("ChainedScheduler empty", lambda m, o: _module(m).ChainedScheduler([]), ValueError, ["at least one scheduler"]),
    ("ChainedScheduler plateau", lambda m, o: _module(m).ChainedScheduler([m.ReduceLROnPlateau(o)]), ValueError,
     ["ReduceLROnPlateau", "index 0"]),
    ("ChainedScheduler optimizers", lambda m, o: _module(m).ChainedScheduler(
        [m.ExponentialLR(o, 0.9), m.ExponentialLR(type(o)([p for g in o.param_groups for p in g["params"]], lr=0.1),
                                                  0.9)]), ValueError, ["same optimizer", "index 1"]),
    ("ChainedScheduler no optimizer", lambda m, o: _module(m).ChainedScheduler([m.ExponentialLR(o, 0.9), object()]),
     TypeError, ["index 1", "`optimizer`"]),
    ("CyclicLR mode", lambda m, o: _module(m).CyclicLR(o, 0.01, 0.1, mode="cosine"), ValueError,
     ["mode is invalid and scale_fn is None"]),
    ("CyclicLR base_lr count", lambda m, o: _module(m).CyclicLR(o, [0.01, 0.02, 0.03], 0.1), ValueError,
     ["base_lr", "3 values"]),
    ("CyclicLR max_momentum count", lambda m, o: _module(m).CyclicLR(o, 0.01, 0.1, max_momentum=[0.9]), ValueError,
     ["max_momentum", "1 values"]),
]


@pytest.mark.parametrize("what,make,exc,words", ERRORS, ids=[e[0] for e in ERRORS])
def test_errors_like_torch(what, make, exc, words, torch):
    g_opt, t_opt = _optimizers(torch, momentum=0.9)
    with pytest.raises(exc) as info:
        make(sched, g_opt)
    assert isinstance(info.value, gs.errors.GradstepError)
    for word in words:
        assert word in str(info.value), (word, str(info.value))
    with pytest.raises(exc):
        make(torch.optim.lr_scheduler, t_opt)


@pytest.mark.parametrize("opt_name", ["Adagrad", "Rprop", "ASGD"])
def test_cyclic_momentum_needs_momentum_or_betas(opt_name, torch):
    """An optimizer with neither option: cycle_momentum=True raises as in torch; False works."""
    g_opt, t_opt = _optimizers(torch, opt_name)
    with pytest.raises(ValueError, match="must support momentum or beta1") as info:
        extra.CyclicLR(g_opt, base_lr=0.01, max_lr=0.1)
    assert opt_name in str(info.value) and "cycle_momentum=False" in str(info.value)
    with pytest.raises(ValueError, match="must support momentum or beta1"):
        torch.optim.lr_scheduler.CyclicLR(t_opt, base_lr=0.01, max_lr=0.1)
    g = extra.CyclicLR(g_opt, base_lr=0.01, max_lr=0.1, step_size_up=3, cycle_momentum=False)
    t = torch.optim.lr_scheduler.CyclicLR(t_opt, base_lr=0.01, max_lr=0.1, step_size_up=3, cycle_momentum=False)
    _run(g_opt, t_opt, g, t, steps=10)


def test_cyclic_empty_cycle_is_refused():
    opt = optim.SGD([gs.tensor([1.0], requires_grad=True)], lr=0.1, momentum=0.9)
    with pytest.raises(ValueError, match="at least one step"):
        extra.CyclicLR(opt, 0.01, 0.1, step_size_up=0, step_size_down=0)
