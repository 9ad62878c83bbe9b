"""Learning-rate schedulers against torch.optim.lr_scheduler: the same rates, epoch after epoch."""
import json
import warnings

import numpy as np
import pytest

import gradstep as gs
from gradstep import optim
from gradstep.optim import lr_scheduler as sched

STEPS = 30


def _optimizers(torch, name="SGD", lrs=(0.1, 0.02), **kwargs):
    """A gradstep and a torch optimizer with one parameter group per lr."""
    g_groups = [{"params": [gs.tensor([1.0, 2.0], requires_grad=True)], "lr": lr} for lr in lrs]
    t_groups = [{"params": [torch.tensor([1.0, 2.0], requires_grad=True)], "lr": lr} for lr in lrs]
    return getattr(optim, name)(g_groups, **kwargs), getattr(torch.optim, name)(t_groups, **kwargs)


def _close(got, want, what):
    np.testing.assert_allclose(np.asarray(got, dtype=float), np.asarray(want, dtype=float), rtol=1e-6, atol=0,
                               err_msg=what)


def _run(g_opt, t_opt, g_sched, t_sched, steps=STEPS, metrics=None, keys=("lr",)):
    _close(g_sched.get_last_lr(), t_sched.get_last_lr(), "after construction")
    for step in range(steps):
        g_opt.step()
        t_opt.step()
        if metrics is None:
            g_sched.step()
            t_sched.step()
        else:
            g_sched.step(metrics[step])
            t_sched.step(metrics[step])
        _close(g_sched.get_last_lr(), t_sched.get_last_lr(), f"get_last_lr at step {step + 1}")
        for key in keys:
            for g_group, t_group in zip(g_opt.param_groups, t_opt.param_groups):
                g_val, t_val = g_group[key], t_group[key]
                _close(np.ravel(g_val), np.ravel(t_val), f"{key} at step {step + 1}")


SCHEDULERS = {
    "StepLR": lambda m, opt: m.StepLR(opt, step_size=4, gamma=0.5),
    "MultiStepLR": lambda m, opt: m.MultiStepLR(opt, milestones=[3, 7, 7, 20], gamma=0.3),
    "ExponentialLR": lambda m, opt: m.ExponentialLR(opt, gamma=0.9),
    "CosineAnnealingLR": lambda m, opt: m.CosineAnnealingLR(opt, T_max=10),
    "CosineAnnealingLR-eta_min": lambda m, opt: m.CosineAnnealingLR(opt, T_max=7, eta_min=0.001),
    "LinearLR": lambda m, opt: m.LinearLR(opt, start_factor=0.1, total_iters=8),
    "LinearLR-decay": lambda m, opt: m.LinearLR(opt, start_factor=1.0, end_factor=0.2, total_iters=12),
    "ConstantLR": lambda m, opt: m.ConstantLR(opt, factor=0.5, total_iters=6),
    "PolynomialLR": lambda m, opt: m.PolynomialLR(opt, total_iters=20, power=2.0),
    "LambdaLR": lambda m, opt: m.LambdaLR(opt, lambda e: 1.0 / (1 + e)),
    "LambdaLR-per-group": lambda m, opt: m.LambdaLR(opt, [lambda e: 0.95 ** e, lambda e: min(1.0, (e + 1) / 5)]),
    "CosineAnnealingWarmRestarts": lambda m, opt: m.CosineAnnealingWarmRestarts(opt, T_0=5, eta_min=0.001),
    "CosineAnnealingWarmRestarts-Tmult": lambda m, opt: m.CosineAnnealingWarmRestarts(opt, T_0=3, T_mult=2),
}


@pytest.mark.parametrize("name", list(SCHEDULERS))
def test_matches_torch(name, torch):
    g_opt, t_opt = _optimizers(torch, momentum=0.9)
    make = SCHEDULERS[name]
    _run(g_opt, t_opt, make(sched, g_opt), make(torch.optim.lr_scheduler, t_opt))


@pytest.mark.parametrize("name", ["StepLR", "MultiStepLR", "ExponentialLR", "CosineAnnealingLR", "LinearLR"])
def test_chained_on_one_optimizer(name, torch):
    """Two chainable schedulers on one optimizer multiply their effects, as in PyTorch."""
    g_opt, t_opt = _optimizers(torch)
    g = [SCHEDULERS[name](sched, g_opt), sched.ExponentialLR(g_opt, gamma=0.97)]
    t = [SCHEDULERS[name](torch.optim.lr_scheduler, t_opt), torch.optim.lr_scheduler.ExponentialLR(t_opt, gamma=0.97)]
    for step in range(STEPS):
        g_opt.step()
        t_opt.step()
        for a, b in zip(g, t):
            a.step()
            b.step()
        _close([grp["lr"] for grp in g_opt.param_groups], [grp["lr"] for grp in t_opt.param_groups], f"step {step}")


@pytest.mark.parametrize("first,second,milestone", [
    ("LinearLR", "CosineAnnealingLR", 8),
    ("ConstantLR", "ExponentialLR", 5),
    ("LinearLR", "StepLR", 3),
])
def test_sequential(first, second, milestone, torch):
    g_opt, t_opt = _optimizers(torch, name="Adam")
    g = sched.SequentialLR(g_opt, [SCHEDULERS[first](sched, g_opt), SCHEDULERS[second](sched, g_opt)], [milestone])
    t_mod = torch.optim.lr_scheduler
    t = t_mod.SequentialLR(t_opt, [SCHEDULERS[first](t_mod, t_opt), SCHEDULERS[second](t_mod, t_opt)], [milestone])
    _run(g_opt, t_opt, g, t)


def test_sequential_three_phases(torch):
    def build(m, opt):
        return m.SequentialLR(opt, [m.LinearLR(opt, start_factor=0.25, total_iters=4), m.ConstantLR(opt, factor=1.0),
                                    m.CosineAnnealingLR(opt, T_max=10, eta_min=1e-4)], milestones=[4, 9])

    g_opt, t_opt = _optimizers(torch)
    _run(g_opt, t_opt, build(sched, g_opt), build(torch.optim.lr_scheduler, t_opt))


@pytest.mark.parametrize("kwargs", [
    dict(max_lr=0.5, total_steps=STEPS),
    dict(max_lr=[0.5, 0.1], total_steps=STEPS, anneal_strategy="linear"),
    dict(max_lr=0.3, epochs=3, steps_per_epoch=10, three_phase=True),
    dict(max_lr=0.3, total_steps=STEPS, pct_start=0.5, div_factor=10.0, final_div_factor=100.0,
         base_momentum=0.8, max_momentum=[0.9, 0.99]),
    dict(max_lr=0.3, total_steps=STEPS, cycle_momentum=False),
])
@pytest.mark.parametrize("opt_name", ["SGD", "Adam"])
def test_one_cycle(kwargs, opt_name, torch):
    """Rates and the cycled momentum (SGD momentum, Adam beta1) follow torch's."""
    extra = dict(momentum=0.9) if opt_name == "SGD" else {}
    g_opt, t_opt = _optimizers(torch, name=opt_name, **extra)
    keys = ("lr", "momentum" if opt_name == "SGD" else "betas")
    _run(g_opt, t_opt, sched.OneCycleLR(g_opt, **kwargs), torch.optim.lr_scheduler.OneCycleLR(t_opt, **kwargs),
         steps=STEPS - 1, keys=keys)


def test_one_cycle_too_many_steps(torch):
    g_opt, _ = _optimizers(torch)
    s = sched.OneCycleLR(g_opt, max_lr=0.1, total_steps=3)
    g_opt.step()
    for _ in range(3):
        s.step()
    with pytest.raises(ValueError, match="tried to step 4 times.*total steps is 3"):
        s.step()


LOSSES = [1.0, 0.9, 0.95, 0.95, 0.96, 0.97, 0.89, 0.9, 0.9, 0.9, 0.9, 0.9, 0.5, 0.5, 0.5, 0.5, 0.5,
          0.49999, 0.5, 0.6, 0.7, 0.7, 0.7, 0.7, 0.7, 0.7, 0.7, 0.7, 0.7, 0.7]


@pytest.mark.parametrize("kwargs", [
    dict(patience=2),
    dict(patience=1, factor=0.5, cooldown=2),
    dict(patience=0, factor=0.5, min_lr=0.01),
    dict(patience=1, factor=0.5, min_lr=[0.02, 0.001], threshold=0.1, threshold_mode="abs"),
    dict(mode="max", patience=2, factor=0.2),
    dict(mode="max", patience=1, threshold_mode="abs", threshold=0.05, cooldown=1),
])
def test_reduce_on_plateau(kwargs, torch):
    g_opt, t_opt = _optimizers(torch)
    g = sched.ReduceLROnPlateau(g_opt, **kwargs)
    t = torch.optim.lr_scheduler.ReduceLROnPlateau(t_opt, **kwargs)
    _run(g_opt, t_opt, g, t, metrics=LOSSES)
    assert g.best == t.best and g.num_bad_epochs == t.num_bad_epochs


def test_reduce_on_plateau_accepts_tensor_metric():
    opt = optim.SGD([gs.tensor([1.0], requires_grad=True)], lr=0.1)
    s = sched.ReduceLROnPlateau(opt, patience=0)
    s.step(gs.tensor(1.0))
    s.step(gs.tensor(2.0))
    assert np.isclose(s.get_last_lr()[0], 0.01)


@pytest.mark.parametrize("name", ["StepLR", "MultiStepLR", "ExponentialLR", "CosineAnnealingLR", "LinearLR",
                                  "PolynomialLR", "ConstantLR"])
def test_step_with_epoch_uses_closed_form(name, torch):
    g_opt, t_opt = _optimizers(torch)
    g, t = SCHEDULERS[name](sched, g_opt), SCHEDULERS[name](torch.optim.lr_scheduler, t_opt)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for epoch in (3, 7, 12, 5, 25):
            g.step(epoch)
            t.step(epoch)
            _close(g.get_last_lr(), t.get_last_lr(), f"epoch {epoch}")


def test_warm_restarts_fractional_epochs(torch):
    g_opt, t_opt = _optimizers(torch)
    g = sched.CosineAnnealingWarmRestarts(g_opt, T_0=4, T_mult=2, eta_min=0.001)
    t = torch.optim.lr_scheduler.CosineAnnealingWarmRestarts(t_opt, T_0=4, T_mult=2, eta_min=0.001)
    for epoch in np.arange(0, 20, 0.25):
        g.step(float(epoch))
        t.step(float(epoch))
        _close(g.get_last_lr(), t.get_last_lr(), f"epoch {epoch}")


@pytest.mark.parametrize("name", ["StepLR", "CosineAnnealingLR", "LinearLR", "LambdaLR"])
def test_state_dict_resume(name, torch):
    """Save the scheduler (and optimizer) halfway, rebuild both, load, continue: the same rates."""
    g_opt, t_opt = _optimizers(torch)
    g = SCHEDULERS[name](sched, g_opt)
    t = SCHEDULERS[name](torch.optim.lr_scheduler, t_opt)
    for _ in range(12):
        g_opt.step(), g.step(), t_opt.step(), t.step()
    saved_opt, saved_sched = g_opt.state_dict(), g.state_dict()
    g_opt2, _ = _optimizers(torch)
    g2 = SCHEDULERS[name](sched, g_opt2)
    g2.load_state_dict(saved_sched)
    g_opt2.load_state_dict(saved_opt)
    for step in range(12):
        g_opt2.step(), g2.step(), t_opt.step(), t.step()
        _close(g2.get_last_lr(), t.get_last_lr(), f"resumed step {step}")


JSON_CASES = {
    "MultiStepLR": lambda opt: sched.MultiStepLR(opt, milestones=[3, 7, 7, 20], gamma=0.3),
    "OneCycleLR": lambda opt: sched.OneCycleLR(opt, max_lr=0.5, total_steps=40, three_phase=True),
    "ReduceLROnPlateau": lambda opt: sched.ReduceLROnPlateau(opt, patience=1, cooldown=1),
    "SequentialLR": lambda opt: sched.SequentialLR(opt, [sched.LinearLR(opt, start_factor=0.1, total_iters=5),
                                                         sched.CosineAnnealingLR(opt, T_max=20)], milestones=[5]),
    "CosineAnnealingWarmRestarts": lambda opt: sched.CosineAnnealingWarmRestarts(opt, T_0=3, T_mult=2),
}


@pytest.mark.parametrize("name", list(JSON_CASES))
def test_state_dict_survives_json(name, torch):
    """Scheduler state written as JSON (as a checkpoint's metadata) resumes the same schedule."""
    def step(opt, s, i):
        opt.step()
        s.step(LOSSES[i]) if name == "ReduceLROnPlateau" else s.step()

    ref_opt, _ = _optimizers(torch, momentum=0.9)
    ref = JSON_CASES[name](ref_opt)
    opt, _ = _optimizers(torch, momentum=0.9)
    s = JSON_CASES[name](opt)
    for i in range(10):
        step(ref_opt, ref, i)
        step(opt, s, i)
    saved_opt = json.loads(json.dumps(optim.flatten_state_dict(opt.state_dict())[1]))
    saved = json.loads(json.dumps(s.state_dict()))
    opt2, _ = _optimizers(torch, momentum=0.9)
    s2 = JSON_CASES[name](opt2)
    s2.load_state_dict(saved)
    arrays = optim.flatten_state_dict(opt.state_dict())[0]
    opt2.load_state_dict(optim.unflatten_state_dict(arrays, saved_opt))
    for i in range(10, 30):
        step(ref_opt, ref, i)
        step(opt2, s2, i)
        _close(s2.get_last_lr(), ref.get_last_lr(), f"step {i}")


def test_sequential_state_dict(torch):
    g_opt, _ = _optimizers(torch)
    s = sched.SequentialLR(g_opt, [sched.LinearLR(g_opt, total_iters=3), sched.ExponentialLR(g_opt, 0.9)], [3])
    g_opt.step()
    for _ in range(5):
        s.step()
    state = s.state_dict()
    assert isinstance(state["_schedulers"][0], dict)
    s2 = sched.SequentialLR(g_opt, [sched.LinearLR(g_opt, total_iters=3), sched.ExponentialLR(g_opt, 0.9)], [3])
    s2.load_state_dict(state)
    assert s2.last_epoch == s.last_epoch and s2._schedulers[1].last_epoch == s._schedulers[1].last_epoch


@pytest.mark.parametrize("name", ["CosineAnnealingLR", "StepLR", "LinearLR", "ExponentialLR"])
def test_constructed_with_last_epoch(name, torch):
    """Resuming by ``last_epoch=`` (groups already hold ``initial_lr``) follows torch's first-step rule."""
    g_opt, t_opt = _optimizers(torch)
    SCHEDULERS[name](sched, g_opt)
    SCHEDULERS[name](torch.optim.lr_scheduler, t_opt)
    make = {"CosineAnnealingLR": lambda m, o: m.CosineAnnealingLR(o, T_max=10, last_epoch=4),
            "StepLR": lambda m, o: m.StepLR(o, step_size=3, gamma=0.5, last_epoch=4),
            "LinearLR": lambda m, o: m.LinearLR(o, start_factor=0.2, total_iters=8, last_epoch=4),
            "ExponentialLR": lambda m, o: m.ExponentialLR(o, gamma=0.8, last_epoch=4)}[name]
    _run(g_opt, t_opt, make(sched, g_opt), make(torch.optim.lr_scheduler, t_opt), steps=15)


def test_initial_lr_and_resume_errors(torch):
    g_opt, _ = _optimizers(torch)
    s = sched.StepLR(g_opt, step_size=2)
    assert [grp["initial_lr"] for grp in g_opt.param_groups] == [0.1, 0.02] and s.base_lrs == [0.1, 0.02]
    fresh, _ = _optimizers(torch)
    with pytest.raises(KeyError, match="initial_lr"):
        sched.StepLR(fresh, step_size=2, last_epoch=5)


def test_warns_when_stepped_before_optimizer(torch):
    g_opt, _ = _optimizers(torch)
    s = sched.StepLR(g_opt, step_size=2)
    with pytest.warns(UserWarning, match="before `optimizer.step\\(\\)`"):
        s.step()


@pytest.mark.parametrize("make,exc,words", [
    (lambda o: sched.StepLR("not an optimizer", 2), TypeError, ["not an Optimizer"]),
    (lambda o: sched.LinearLR(o, start_factor=0.0), ValueError, ["start_factor=0.0"]),
    (lambda o: sched.LinearLR(o, end_factor=1.5), ValueError, ["end_factor=1.5"]),
    (lambda o: sched.LambdaLR(o, [lambda e: 1.0]), ValueError, ["Expected 2 lr_lambdas"]),
    (lambda o: sched.OneCycleLR(o, max_lr=0.1), ValueError, ["total_steps"]),
    (lambda o: sched.OneCycleLR(o, max_lr=[0.1], total_steps=5), ValueError, ["max_lr", "1 values"]),
    (lambda o: sched.OneCycleLR(o, max_lr=0.1, total_steps=5, anneal_strategy="exp"), ValueError, ["'exp'"]),
    (lambda o: sched.OneCycleLR(o, max_lr=0.1, total_steps=5, pct_start=2.0), ValueError, ["pct_start"]),
    (lambda o: sched.ReduceLROnPlateau(o, factor=1.5), ValueError, ["factor", "1.5"]),
    (lambda o: sched.ReduceLROnPlateau(o, mode="best"), ValueError, ["'best'"]),
    (lambda o: sched.ReduceLROnPlateau(o, threshold_mode="pct"), ValueError, ["'pct'"]),
    (lambda o: sched.ReduceLROnPlateau(o, min_lr=[0.1]), ValueError, ["expected 2 min_lrs"]),
    (lambda o: sched.CosineAnnealingWarmRestarts(o, T_0=0), ValueError, ["T_0", "0"]),
    (lambda o: sched.SequentialLR(o, [sched.StepLR(o, 2)], [3]), ValueError, ["number of milestones"]),
    (lambda o: sched.SequentialLR(o, [sched.ReduceLROnPlateau(o), sched.StepLR(o, 2)], [3]), ValueError,
     ["ReduceLROnPlateau"]),
])
def test_errors(make, exc, words, torch):
    g_opt, _ = _optimizers(torch)
    with pytest.raises(exc) as info:
        make(g_opt)
    for word in words:
        assert word in str(info.value), (word, str(info.value))
