"""Observatory statistics against independent NumPy / PyTorch computations on a small model."""
import json
import math

import numpy as np
import pytest

import gradstep as gs
from gradstep import nn
from gradstep.nn import functional as F
from gradstep.observe import Observatory, activation_stats, read_observations, update_ratio
from gradstep.observe.stats import unit_axes

from ._runs import digits, fit, mlp


def _small(seed=0):
    gs.manual_seed(seed)
    return nn.Sequential(nn.Linear(6, 8), nn.ReLU(), nn.Linear(8, 8), nn.Tanh(), nn.Linear(8, 3))


def _batch(rng, n=16):
    return gs.tensor(rng.standard_normal((n, 6)).astype(np.float32)), gs.tensor(rng.integers(0, 3, n))


def _one_step(model, opt, x, y, obs):
    loss = F.cross_entropy(model(x), y)
    opt.zero_grad()
    loss.backward()
    opt.step()
    return obs.step(loss)


def test_dead_fraction_is_one_when_bias_is_minus_100(rng):
    model = _small()
    with gs.no_grad():
        model[0].bias.fill_(-100.0)
    opt = gs.optim.SGD(model.parameters(), lr=0.1)
    obs = Observatory(model, opt, every=1, log=False)
    rec = _one_step(model, opt, *_batch(rng), obs)
    assert rec["layers"]["1"]["type"] == "ReLU"
    assert rec["layers"]["1"]["dead"] == 1.0
    assert rec["layers"]["1"]["mean"] == 0.0 and rec["layers"]["1"]["std"] == 0.0
    assert "dead" not in rec["layers"]["0"]  # a Linear layer has no dead units, only statistics
    assert rec["params"]["0.weight"]["grad_norm"] == 0.0  # no gradient flows through a dead layer
    assert rec["params"]["0.weight"]["update_ratio"] == 0.0


def test_update_ratio_is_lr_times_grad_over_weight_for_plain_sgd(rng):
    model = _small(1)
    lr = 0.05
    opt = gs.optim.SGD(model.parameters(), lr=lr)  # no momentum: Δw = -lr·g exactly
    obs = Observatory(model, opt, every=1, log=False)
    before = {n: p._data.copy() for n, p in model.named_parameters()}
    rec = _one_step(model, opt, *_batch(rng), obs)
    for name, p in model.named_parameters():
        g = p.grad._data.astype(np.float64)
        expected = lr * np.linalg.norm(g) / np.linalg.norm(before[name].astype(np.float64))
        assert rec["params"][name]["update_ratio"] == pytest.approx(expected, rel=1e-4), name
        assert rec["params"][name]["grad_norm"] == pytest.approx(np.linalg.norm(g), rel=1e-5), name
        assert rec["params"][name]["norm"] == pytest.approx(np.linalg.norm(p._data.astype(np.float64)), rel=1e-5)
    assert rec["lr"] == lr


def test_statistics_match_pytorch(torch, rng):
    model = _small(2)
    tmodel = torch.nn.Sequential(torch.nn.Linear(6, 8), torch.nn.ReLU(), torch.nn.Linear(8, 8), torch.nn.Tanh(),
                                 torch.nn.Linear(8, 3))
    tmodel.load_state_dict({k: torch.tensor(v._data) for k, v in model.state_dict().items()})
    opt = gs.optim.SGD(model.parameters(), lr=0.1)
    topt = torch.optim.SGD(tmodel.parameters(), lr=0.1)
    obs = Observatory(model, opt, every=1, log=False)
    x, y = _batch(rng, 32)
    rec = _one_step(model, opt, x, y, obs)

    acts = []

    def keep(module, args, output):
        output.retain_grad()
        acts.append(output)

    hooks = [m.register_forward_hook(keep) for m in tmodel]
    out = tmodel(torch.tensor(x._data))
    tloss = torch.nn.functional.cross_entropy(out, torch.tensor(y._data))
    topt.zero_grad()
    tloss.backward()
    total = math.sqrt(sum(float((p.grad.double() ** 2).sum()) for p in tmodel.parameters()))
    topt.step()
    for h in hooks:
        h.remove()

    assert rec["loss"] == pytest.approx(float(tloss.detach()), rel=1e-5)
    assert rec["grad_norm"] == pytest.approx(total, rel=1e-5)
    for i, a in enumerate(acts):
        s = rec["layers"][str(i)]
        arr = a.detach().double().numpy()
        assert s["shape"] == list(arr.shape)
        assert s["mean"] == pytest.approx(arr.mean(), rel=1e-5, abs=1e-7)
        assert s["std"] == pytest.approx(arr.std(), rel=1e-5)
        assert s["grad_norm"] == pytest.approx(np.linalg.norm(a.grad.double().numpy()), rel=1e-5)
    relu = acts[1].detach().numpy()
    assert rec["layers"]["1"]["dead"] == pytest.approx(float((relu <= 0).all(axis=0).mean()))
    tanh = acts[3].detach().numpy()
    assert rec["layers"]["3"]["saturated"] == pytest.approx(float((np.abs(tanh) > 0.99).mean()))
    for name, p in tmodel.named_parameters():
        assert rec["params"][name]["norm"] == pytest.approx(float(p.detach().double().norm()), rel=1e-5)
        assert rec["params"][name]["grad_norm"] == pytest.approx(float(p.grad.double().norm()), rel=1e-5)


@pytest.mark.parametrize("shape", [(16, 5), (4, 3, 6), (4, 3, 5, 5)])
def test_activation_stats_match_numpy(rng, shape):
    a = rng.standard_normal(shape).astype(np.float32)
    relu = np.maximum(a - 0.8, 0)
    feature = 1 if len(shape) != 3 else 2
    axes = tuple(i for i in range(len(shape)) if i != feature)
    assert unit_axes(len(shape)) == axes
    s = activation_stats(relu, "relu")
    assert s["mean"] == pytest.approx(relu.mean(dtype=np.float64), rel=1e-6)
    assert s["std"] == pytest.approx(relu.std(dtype=np.float64), rel=1e-6)
    assert s["dead"] == pytest.approx(float((relu == 0).all(axis=axes).mean()))
    t = np.tanh(3 * a)
    assert activation_stats(t, "tanh")["saturated"] == pytest.approx(float((np.abs(t) > 0.99).mean()))
    sig = 1 / (1 + np.exp(-6 * a))
    assert activation_stats(sig, "sigmoid")["saturated"] == pytest.approx(float(((sig < 0.01) | (sig > 0.99)).mean()))
    assert "dead" not in activation_stats(a, None)


def test_update_ratio_edge_cases():
    z = np.zeros(3, np.float32)
    assert update_ratio(z, z) == 0.0
    assert update_ratio(z, z + 1) == math.inf
    w = np.array([3.0, 4.0], np.float32)
    assert update_ratio(w, w + np.array([0.3, 0.4], np.float32)) == pytest.approx(0.1, rel=1e-6)


def test_hooks_only_on_observed_steps(rng):
    model = _small(3)
    opt = gs.optim.SGD(model.parameters(), lr=0.01)
    obs = Observatory(model, opt, every=3, log=False)
    hooked = lambda: any(m._forward_hooks for m in model.modules())  # noqa: E731
    steps = []
    for step in range(1, 10):
        assert hooked() == (step == 1 or step % 3 == 0), step  # attached just before an observed step only
        rec = _one_step(model, opt, *_batch(rng), obs)
        if rec is not None:
            steps.append(rec["step"])
    obs.close()
    assert steps == [1, 3, 6, 9]
    assert not hooked()
    assert len(obs.records) == 4


def test_trainer_and_raw_loop_record_the_same_numbers(tmp_path):
    train, _ = digits(n_train=96)
    gs.manual_seed(0)
    model = mlp(width=16)
    obs, _ = fit(model, gs.optim.SGD(model.parameters(), lr=0.1), train, epochs=2, every=2, run_dir=str(tmp_path / "a"))
    records = read_observations(tmp_path / "a")
    assert [r["step"] for r in records] == [1, 2, 4, 6]

    gs.manual_seed(0)
    model = mlp(width=16)
    opt = gs.optim.SGD(model.parameters(), lr=0.1)
    raw = Observatory(model, opt, every=2, log=False)
    loader = gs.data.DataLoader(train, batch_size=32, shuffle=True, seed=0)
    for epoch in range(2):
        loader.set_epoch(epoch)
        for x, y in loader:
            loss = F.cross_entropy(model(x), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
            raw.step(loss)
    raw.close()
    for a, b in zip(records, raw.records):
        assert a["loss"] == pytest.approx(b["loss"], rel=1e-6)
        for name in a["params"]:
            assert a["params"][name]["update_ratio"] == pytest.approx(b["params"][name]["update_ratio"], rel=1e-5)
        for name in a["layers"]:
            assert a["layers"][name]["std"] == pytest.approx(b["layers"][name]["std"], rel=1e-5)


def test_run_folder_files_and_resume_truncation(tmp_path):
    train, val = digits(n_train=64)
    gs.manual_seed(0)
    model = mlp(width=16)
    obs, _ = fit(model, gs.optim.Adam(model.parameters(), lr=1e-3), train, val, epochs=2, every=1,
                 run_dir=str(tmp_path))
    lines = (tmp_path / "observations.jsonl").read_text().splitlines()
    assert len(lines) == 4 and all(json.loads(line)["step"] for line in lines)
    for name in ("weights_start", "weights_end", "misclassified"):
        assert (tmp_path / "observe" / f"{name}.safetensors").exists()
    classes = json.loads((tmp_path / "observe" / "classes.json").read_text())
    assert classes["image_shape"] == [1, 8, 8] and np.array(classes["confusion"]).sum() == classes["count"] == 359

    # a resumed run cuts the files back to the checkpointed rows before appending
    again = Observatory(run_dir=str(tmp_path), log=False)
    again.load_state_dict({"rows": {"observations": 2, "findings": 0}})
    again.begin(model, None, start_step=2)
    again.close()
    assert len((tmp_path / "observations.jsonl").read_text().splitlines()) == 2


def test_bad_every_is_refused():
    with pytest.raises(ValueError, match="every must be an int >= 0"):
        Observatory(every=-1)
    with pytest.raises(ValueError, match="every"):
        Observatory(every=2.5)
