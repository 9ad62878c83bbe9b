"""Checkpoints: exact round trips, file layout, atomic writes, and one-line errors for bad files."""
import json
import os

import numpy as np
import pytest

import gradstep as gs
from gradstep import nn
from gradstep.errors import CheckpointError
from gradstep.interop.safetensors import load_file, save_file
from gradstep.nn import functional as F
from gradstep.optim import lr_scheduler as S
from gradstep.train import latest_checkpoint, load_checkpoint, model_signature, save_checkpoint

from .helpers import weights

OPTIMIZERS = {
    "sgd": lambda p: gs.optim.SGD(p, lr=0.1, momentum=0.9, nesterov=True, weight_decay=1e-3),
    "adam": lambda p: gs.optim.Adam(p, lr=0.01, amsgrad=True),
    "adamw": lambda p: gs.optim.AdamW(p, lr=0.01),
    "rmsprop": lambda p: gs.optim.RMSprop(p, lr=0.01, momentum=0.5, centered=True),
    "adagrad": lambda p: gs.optim.Adagrad(p, lr=0.1),
}
SCHEDULERS = {
    "none": lambda o: None,
    "step": lambda o: S.StepLR(o, step_size=2, gamma=0.5),
    "cosine": lambda o: S.CosineAnnealingLR(o, T_max=10),
    "onecycle": lambda o: S.OneCycleLR(o, max_lr=0.05, total_steps=20,
                                       cycle_momentum="momentum" in o.defaults or "betas" in o.defaults),
    "plateau": lambda o: S.ReduceLROnPlateau(o, patience=0),
    "sequential": lambda o: S.SequentialLR(o, [S.LinearLR(o, start_factor=0.1, total_iters=2),
                                               S.ExponentialLR(o, gamma=0.9)], milestones=[2]),
}


def _model(seed=0):
    gs.manual_seed(seed)
    return nn.Sequential(nn.Linear(3, 5), nn.ReLU(), nn.Dropout(0.2), nn.Linear(5, 2))


def _steps(model, opt, sched, n, rng_seed):
    rng = np.random.default_rng(rng_seed)
    model.train()
    for _ in range(n):
        x = gs.tensor(rng.standard_normal((4, 3)).astype(np.float32))
        y = gs.tensor(rng.integers(0, 2, 4))
        loss = F.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        if sched is not None:
            sched.step(loss.item()) if isinstance(sched, S.ReduceLROnPlateau) else sched.step()


@pytest.mark.parametrize("opt_name", sorted(OPTIMIZERS))
@pytest.mark.parametrize("sched_name", sorted(SCHEDULERS))
def test_round_trip_continues_identically(tmp_path, opt_name, sched_name):
    model = _model()
    opt = OPTIMIZERS[opt_name](model.parameters())
    sched = SCHEDULERS[sched_name](opt)
    _steps(model, opt, sched, 3, 0)
    save_checkpoint(tmp_path / "c", model, opt, sched)
    _steps(model, opt, sched, 4, 1)  # continues with dropout masks from the global RNG
    expected, expected_lr = weights(model), opt.param_groups[0]["lr"]

    model2 = _model(seed=7)
    opt2 = OPTIMIZERS[opt_name](model2.parameters())
    sched2 = SCHEDULERS[sched_name](opt2)
    load_checkpoint(tmp_path / "c.json", model2, opt2, sched2)
    _steps(model2, opt2, sched2, 4, 1)
    got = weights(model2)
    assert all(np.array_equal(expected[k], got[k]) for k in expected)
    assert opt2.param_groups[0]["lr"] == expected_lr


def test_layout_of_the_two_files(tmp_path):
    model = _model()
    opt = gs.optim.Adam(model.parameters(), lr=0.01)
    _steps(model, opt, None, 1, 0)
    path = save_checkpoint(tmp_path / "c", model, opt, trainer_state={"step": 1, "epoch": 0, "note": (1, 2)},
                           config={"lr": 0.01}, model_name="tiny")
    assert path == str(tmp_path / "c.json")
    arrays = load_file(tmp_path / "c.safetensors")
    assert {"model.0.weight", "model.0.bias", "model.3.weight", "optim.state.0.exp_avg",
            "optim.state.3.exp_avg_sq"} <= set(arrays)
    meta = json.load(open(path))
    assert meta["format"] == "gradstep-checkpoint" and meta["schema"] == 1
    assert meta["model_name"] == "tiny" and meta["config"] == {"lr": 0.01}
    assert meta["model_signature"] == model_signature(model) and len(meta["sha256"]) == 64
    assert meta["optimizer"]["param_groups"][0]["lr"] == 0.01
    assert meta["rng"]["bit_generator"] == "PCG64"
    info = load_checkpoint(tmp_path / "c.safetensors")  # the array file alone is self-describing
    assert info.step == 1 and info.trainer["note"] == (1, 2) and info["model_name"] == "tiny"


def test_rng_state_is_restored(tmp_path):
    model = _model()
    save_checkpoint(tmp_path / "c", model)
    expected = gs.randn(5)._data.copy()
    gs.manual_seed(99)
    load_checkpoint(tmp_path / "c", model)
    assert np.array_equal(gs.randn(5)._data, expected)
    gs.manual_seed(99)
    load_checkpoint(tmp_path / "c", model, restore_rng=False)
    assert not np.array_equal(gs.randn(5)._data, expected)


def test_signature_depends_on_names_and_shapes_only():
    assert model_signature(_model(0)) == model_signature(_model(1))
    other = nn.Sequential(nn.Linear(3, 6), nn.ReLU(), nn.Dropout(0.2), nn.Linear(6, 2))
    assert model_signature(other) != model_signature(_model())


# ------------------------------------------------------------------- atomicity
def test_a_failed_write_keeps_the_previous_checkpoint(tmp_path, monkeypatch):
    model = _model()
    save_checkpoint(tmp_path / "c", model)
    before = {n: open(tmp_path / n, "rb").read() for n in ("c.json", "c.safetensors")}
    model.state_dict()["0.weight"]._data[...] = 42.0

    def boom(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(OSError, match="disk full"):
        save_checkpoint(tmp_path / "c", model)
    monkeypatch.undo()
    assert {n: open(tmp_path / n, "rb").read() for n in ("c.json", "c.safetensors")} == before
    assert sorted(os.listdir(tmp_path)) == ["c.json", "c.safetensors"]  # no temporary file left behind


def test_writes_are_fsynced_and_renamed(tmp_path, monkeypatch):
    synced, renamed = [], []
    real_fsync, real_replace = os.fsync, os.replace
    monkeypatch.setattr(os, "fsync", lambda fd: (synced.append(fd), real_fsync(fd))[1])
    monkeypatch.setattr(os, "replace", lambda a, b: (renamed.append((os.path.dirname(a), b)), real_replace(a, b))[1])
    save_checkpoint(tmp_path / "c", _model())
    assert [os.path.basename(b) for _, b in renamed] == ["c.safetensors", "c.json"]
    assert all(d == str(tmp_path) for d, _ in renamed)  # temp files live in the same directory
    assert len(synced) == 4  # each file, then the directory after each rename


def test_latest_checkpoint_skips_broken_ones(tmp_path):
    model = _model()
    for step in (5, 10, 15):
        save_checkpoint(tmp_path / f"ckpt-{step:08d}", model, trainer_state={"step": step})
    with open(tmp_path / "ckpt-00000015.safetensors", "r+b") as f:  # killed mid-write of a newer file
        f.truncate(100)
    (tmp_path / "ckpt-00000020.json").write_text("{ not json")
    assert latest_checkpoint(tmp_path).endswith("ckpt-00000010.json")
    assert load_checkpoint(tmp_path, model).step == 10
    assert latest_checkpoint(tmp_path / "nothing-here") is None


# ----------------------------------------------------------------------- errors
def _one_line(excinfo):
    msg = str(excinfo.value)
    assert "\n" not in msg
    return msg


def test_checkpoint_from_another_model_lists_mismatches(tmp_path):
    save_checkpoint(tmp_path / "c", _model(), model_name="mlp")
    other = nn.Sequential(nn.Linear(3, 6), nn.ReLU(), nn.Linear(6, 2))
    before = weights(other)
    with pytest.raises(CheckpointError) as e:
        load_checkpoint(tmp_path / "c.json", other)
    msg = _one_line(e)
    assert "another model" in msg and "'mlp'" in msg
    assert "missing 2.weight, 2.bias" in msg and "unexpected 3.weight, 3.bias" in msg
    assert "0.weight (5, 3) vs (6, 3)" in msg
    assert all(np.array_equal(before[k], v) for k, v in weights(other).items())  # nothing changed


def test_corrupt_truncated_and_foreign_files(tmp_path):
    model = _model()
    save_checkpoint(tmp_path / "c", model)
    data = open(tmp_path / "c.safetensors", "rb").read()

    (tmp_path / "c.safetensors").write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError) as e:
        load_checkpoint(tmp_path / "c.json", model)
    assert "corrupt or truncated" in _one_line(e)
    with pytest.raises(CheckpointError) as e:
        load_checkpoint(tmp_path / "c.safetensors", model)
    assert "truncated" in _one_line(e)

    flipped = bytearray(data)
    flipped[-3] ^= 0xFF
    (tmp_path / "c.safetensors").write_bytes(bytes(flipped))
    with pytest.raises(CheckpointError, match="SHA-256 does not match"):
        load_checkpoint(tmp_path / "c.json", model)

    (tmp_path / "junk.safetensors").write_bytes(b"this is not a checkpoint at all")
    with pytest.raises(CheckpointError) as e:
        load_checkpoint(tmp_path / "junk.safetensors", model)
    assert "not a safetensors file" in _one_line(e)

    save_file({"w": np.zeros(3, np.float32)}, tmp_path / "plain.safetensors")
    with pytest.raises(CheckpointError, match="not a gradstep checkpoint"):
        load_checkpoint(tmp_path / "plain.safetensors", model)

    (tmp_path / "bad.json").write_text('{"format": "something-else"}')
    with pytest.raises(CheckpointError, match="not a gradstep checkpoint"):
        load_checkpoint(tmp_path / "bad.json", model)
    with pytest.raises(CheckpointError, match="no such checkpoint file"):
        load_checkpoint(tmp_path / "missing.json", model)
    os.mkdir(tmp_path / "empty-dir")
    with pytest.raises(CheckpointError, match="no valid checkpoint"):
        load_checkpoint(tmp_path / "empty-dir", model)


def test_optimizer_mismatch_is_reported(tmp_path):
    model = _model()
    opt = gs.optim.Adam(model.parameters())
    _steps(model, opt, None, 1, 0)
    save_checkpoint(tmp_path / "c", model, opt)
    with pytest.raises(CheckpointError, match="optimizer is Adam, not SGD"):
        load_checkpoint(tmp_path / "c", model, gs.optim.SGD(model.parameters(), lr=0.1))
    save_checkpoint(tmp_path / "d", model)
    with pytest.raises(CheckpointError, match="no optimizer state"):
        load_checkpoint(tmp_path / "d", model, opt)


def test_unserialisable_state_is_refused(tmp_path):
    with pytest.raises(CheckpointError, match="cannot store 'trainer.fn' of type function"):
        save_checkpoint(tmp_path / "c", _model(), trainer_state={"fn": lambda: 0})
    assert not os.path.exists(tmp_path / "c.json")
