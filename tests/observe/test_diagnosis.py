"""Each diagnosis fires on a deliberately broken run and stays quiet on a healthy one."""
import math

import pytest

import gradstep as gs
from gradstep import nn
from gradstep.nn import functional as F
from gradstep.observe import Diagnoser, Observatory, read_findings
from gradstep.train import NonFiniteLossError

from ._runs import digits, fit, mlp, rules


def _scale_weights(model, factor):
    with gs.no_grad():
        for layer in model:
            if isinstance(layer, nn.Linear):
                layer.weight.mul_(factor)


def test_healthy_run_has_no_warnings(tmp_path):
    train, val = digits()
    gs.manual_seed(0)
    model = mlp()
    obs, history = fit(model, gs.optim.Adam(model.parameters(), lr=1e-3), train, val, epochs=12,
                       run_dir=str(tmp_path))
    assert history["val_acc"][-1] > 0.9
    assert obs.findings == []
    assert read_findings(tmp_path) == []


def test_too_large_learning_rate_explodes_gradients(tmp_path):
    train, val = digits()
    gs.manual_seed(0)
    model = mlp()
    obs, _ = fit(model, gs.optim.Adam(model.parameters(), lr=1.0), train, val, epochs=2, run_dir=str(tmp_path))
    found = {f.rule: f for f in obs.findings}
    f = found["exploding-gradients"]
    assert f.value > 100 * 0.2 and "global gradient norm" in f.message and "times its value at the start" in f.message
    assert "lower the learning rate" in f.fix and "clip" in f.fix
    assert "dead-relu" in found  # the huge steps also killed most ReLUs
    assert any(r["rule"] == "exploding-gradients" for r in read_findings(tmp_path))


def test_negative_bias_init_kills_relus_and_stalls_the_loss():
    train, val = digits()
    gs.manual_seed(0)
    model = mlp()
    with gs.no_grad():
        model[0].bias.fill_(-100.0)
    obs, _ = fit(model, gs.optim.Adam(model.parameters(), lr=1e-3), train, val, epochs=5)
    dead = [f for f in obs.findings if f.rule == "dead-relu"]
    assert dead[0].subject == "1" and dead[0].value == 1.0 and "100%" in dead[0].message
    assert "initialisation" in dead[0].fix
    assert {"loss-plateau", "vanishing-gradients"} <= rules(obs)


def test_tiny_init_vanishes_gradients_in_early_layers():
    train, val = digits()
    gs.manual_seed(0)
    model = mlp(depth=4, act=nn.Tanh)
    _scale_weights(model, 0.05)
    obs, _ = fit(model, gs.optim.SGD(model.parameters(), lr=0.01), train, val, epochs=1)
    f = next(f for f in obs.findings if f.rule == "vanishing-gradients")
    assert f.subject == "0.weight" and f.value < 1e-3
    assert "first layer" in f.message and "Kaiming" in f.fix


def test_large_init_saturates_tanh_units():
    train, _ = digits()
    gs.manual_seed(0)
    model = mlp(depth=4, act=nn.Tanh)
    _scale_weights(model, 10.0)
    obs, _ = fit(model, gs.optim.SGD(model.parameters(), lr=0.01), train, epochs=1)
    sat = [f for f in obs.findings if f.rule == "saturated-units"]
    assert sat and all(f.value > 0.5 for f in sat) and "Tanh" in sat[0].message


def test_too_small_learning_rate_gives_tiny_update_ratios_and_a_plateau():
    train, val = digits()
    gs.manual_seed(0)
    model = mlp()
    obs, _ = fit(model, gs.optim.SGD(model.parameters(), lr=1e-5), train, val, epochs=5)
    ratio = [f for f in obs.findings if f.rule == "update-ratio"]
    assert ratio and all(f.value < 1e-5 for f in ratio)
    assert "higher learning rate" in ratio[0].fix and "lr ≈" in ratio[0].fix
    assert "loss-plateau" in rules(obs)


def test_memorising_a_tiny_dataset_is_overfitting():
    train, val = digits(n_train=20)
    gs.manual_seed(0)
    model = mlp(width=256)
    obs, history = fit(model, gs.optim.Adam(model.parameters(), lr=3e-3), train, val, epochs=40, batch_size=20,
                       every=10)
    assert history["train_loss"][-1] < 0.01
    f = next(f for f in obs.findings if f.rule == "overfitting")
    assert "validation loss rose" in f.message and "training loss fell" in f.message
    assert "EarlyStopping" in f.fix
    assert rules(obs) == {"overfitting"}


class _LogOfNegative(nn.Module):
    """A model whose loss goes NaN: log of (relu(z) - 1), negative for most units."""

    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(64, 10)
        self.act = nn.ReLU()

    def forward(self, x):
        return (self.act(self.fc(x)) - 1.0).log()


def test_nan_with_anomaly_mode_names_the_op_and_layer(tmp_path):
    from gradstep.observe import AnomalyError

    train, _ = digits(n_train=64)
    gs.manual_seed(0)
    model = _LogOfNegative()
    with pytest.raises(AnomalyError) as err:
        fit(model, gs.optim.SGD(model.parameters(), lr=0.1), train, epochs=1, run_dir=str(tmp_path),
            obs_kw={"detect_anomaly": True})
    assert err.value.op == "Log" and err.value.phase == "forward"
    found = read_findings(tmp_path)
    assert found[-1]["rule"] == "non-finite" and "Log" in found[-1]["message"]
    assert "epsilon" in found[-1]["fix"]
    # the anomaly mode is gone after the run
    from gradstep.observe import is_anomaly_enabled

    assert not is_anomaly_enabled()


def test_nan_loss_without_anomaly_mode_suggests_it():
    train, _ = digits(n_train=64)
    gs.manual_seed(0)
    model = _LogOfNegative()
    obs = Observatory(every=5, log=False)
    trainer = gs.train.Trainer(model, gs.optim.SGD(model.parameters(), lr=0.1), callbacks=[obs], progress=False,
                               loss_fn=lambda out, y: F.nll_loss(out, y))
    with pytest.raises(NonFiniteLossError):
        trainer.fit(gs.data.DataLoader(train, batch_size=32), 1)
    f = obs.findings[-1]
    assert f.rule == "non-finite" and "nan" in f.message and "anomaly" in f.fix


def test_warnings_are_printed_once(capsys):
    d = Diagnoser()
    rec = {"step": 3, "loss": 1.0, "grad_norm": math.inf, "params": {}, "layers": {}}
    assert [f.rule for f in d.observe(rec)] == ["exploding-gradients"]
    assert d.observe(dict(rec, step=4)) == []
    obs = Observatory(every=1)
    obs._report(d.findings)
    err = capsys.readouterr().err
    assert err.startswith("warning: exploding-gradients (step 3): the global gradient norm is inf. Try: ")


def test_plateau_in_a_raw_loop_uses_windows_of_observations():
    d = Diagnoser(plateau_window=4, plateau_patience=2)
    found = []
    for step in range(1, 40):
        loss = 2.3 if step > 4 else 2.3 + 0.1 * (5 - step)
        found += d.observe({"step": step, "loss": loss, "params": {}, "layers": {}})
    assert [f.rule for f in found] == ["loss-plateau"]
    d = Diagnoser(plateau_window=4, plateau_patience=2)
    assert not any(d.observe({"step": s, "loss": 2.3 * 0.9 ** s, "params": {}, "layers": {}}) for s in range(1, 40))


def test_diagnoser_state_round_trips():
    d = Diagnoser()
    d.observe({"step": 1, "loss": math.nan, "params": {}, "layers": {}})
    d.end_epoch({"epoch": 1, "step": 10, "train_loss": 1.0, "val_loss": 1.2})
    e = Diagnoser()
    e.load_state_dict(d.state_dict())
    assert [f.to_dict() for f in e.findings] == [f.to_dict() for f in d.findings]
    assert e.observe({"step": 2, "loss": math.nan, "params": {}, "layers": {}}) == []  # already fired
