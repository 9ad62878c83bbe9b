"""Trainer: the loop itself, scheduling, clipping, non-finite losses, evaluation, exact in-process resume."""
import math

import numpy as np
import pytest

import gradstep as gs
from gradstep import nn
from gradstep.nn import functional as F
from gradstep.train import Callback, Trainer, fit, NonFiniteLossError, default_unpack

from .helpers import setup, weights


def test_fit_learns_and_returns_history():
    model, opt, train, val = setup()
    history = Trainer(model, opt, progress=False).fit(train, epochs=8, val_loader=val)
    assert len(history) == 8
    assert history["train_loss"][-1] < history["train_loss"][0] / 3
    assert history["val_acc"][-1] > 0.9
    last = history.last
    assert last["epoch"] == 8 and last["step"] == 8 * 6
    assert set(last) == {"epoch", "step", "train_loss", "train_acc", "val_loss", "val_acc", "lr"}


def test_trainer_matches_a_hand_written_loop():
    """The Trainer is a convenience: it must do exactly what the raw PyTorch-style loop does."""
    model, opt, train, _ = setup(dropout=0.2)
    Trainer(model, opt, progress=False).fit(train, epochs=3)
    expected = weights(model)

    model, opt, train, _ = setup(dropout=0.2)
    model.train()
    for _ in range(3):
        for x, y in train:
            loss = F.cross_entropy(model(x), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
    got = weights(model)
    assert all(np.array_equal(expected[k], got[k]) for k in expected)


def test_evaluate_is_sample_weighted_and_leaves_mode(rng):
    model, opt, train, val = setup(dropout=0.5)
    trainer = Trainer(model, opt, metrics=["accuracy", "top2"], progress=False)
    model.train()
    res = trainer.evaluate(val, prefix="val_")
    assert model.training
    x = gs.tensor(np.concatenate([b[0]._data for b in val]))
    y = gs.tensor(np.concatenate([b[1]._data for b in val]))
    model.eval()
    with gs.no_grad():
        out = model(x)
        assert res["val_loss"] == pytest.approx(F.cross_entropy(out, y).item(), rel=1e-5)
    assert res["val_acc"] == pytest.approx((out._data.argmax(1) == y._data).mean())
    assert "val_top2_acc" in res
    preds = trainer.predict(val)
    assert preds.shape == (48, 3)


def test_scheduler_per_epoch_and_per_step():
    model, opt, train, _ = setup()
    sched = gs.optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.5)
    h = Trainer(model, opt, scheduler=sched, progress=False).fit(train, epochs=3)
    assert h["lr"] == [0.05, 0.025, 0.0125]  # the rate each epoch used
    model, opt, train, _ = setup()
    sched = gs.optim.lr_scheduler.ExponentialLR(opt, gamma=0.9)
    Trainer(model, opt, scheduler=sched, scheduler_interval="step", progress=False).fit(train, epochs=1)
    assert opt.param_groups[0]["lr"] == pytest.approx(0.05 * 0.9 ** 6)
    model, opt, train, val = setup()
    plateau = gs.optim.lr_scheduler.ReduceLROnPlateau(opt, patience=0, factor=0.5)
    Trainer(model, opt, scheduler=plateau, progress=False).fit(train, epochs=2, val_loader=val)
    assert plateau.last_epoch == 2


def test_gradient_clipping_bounds_the_update():
    model, opt, train, _ = setup(lr=1.0)
    opt = gs.optim.SGD(model.parameters(), lr=1.0)
    before = weights(model)
    trainer = Trainer(model, opt, clip_grad_norm=1e-3, progress=False)
    trainer.fit(train, epochs=1, max_steps=1)
    after = weights(model)
    change = math.sqrt(sum(float(((after[k] - before[k]) ** 2).sum()) for k in before))
    assert change == pytest.approx(1e-3, rel=1e-3)
    assert trainer.last_grad_norm > 1e-3  # the norm before clipping
    with pytest.raises(ValueError, match="clip_grad_norm must be a positive number"):
        Trainer(model, opt, clip_grad_norm=-1)


def test_max_steps_and_should_stop():
    model, opt, train, _ = setup()
    trainer = Trainer(model, opt, progress=False)
    trainer.fit(train, epochs=5, max_steps=8)
    assert trainer.step == 8 and trainer.epoch == 2

    class StopAt(Callback):
        def on_batch_end(self, trainer, logs):
            if logs["step"] == 3:
                trainer.should_stop = True

    model, opt, train, _ = setup()
    trainer = Trainer(model, opt, callbacks=[StopAt()], progress=False)
    trainer.fit(train, epochs=5)
    assert trainer.step == 3


def test_non_finite_loss_stops_before_touching_weights():
    model, opt, train, _ = setup()
    calls = {"n": 0}

    def loss_fn(out, y):
        calls["n"] += 1
        loss = F.cross_entropy(out, y)
        return loss * float("nan") if calls["n"] == 5 else loss

    seen = []

    class Watch(Callback):
        def on_batch_end(self, trainer, logs):
            seen.append(weights(trainer.model))

        def on_exception(self, trainer, error):
            seen.append(error)

    trainer = Trainer(model, opt, loss_fn, callbacks=[Watch()], progress=False)
    with pytest.raises(NonFiniteLossError) as info:
        trainer.fit(train, epochs=2)
    msg = str(info.value)
    assert "loss became nan at step 5 (epoch 1)" in msg
    assert "last finite loss" in msg and "at step 4" in msg
    assert "lower learning rate" in msg and "clip" in msg
    assert "\n" not in msg
    assert isinstance(info.value, FloatingPointError) and isinstance(info.value, gs.GradstepError)
    assert isinstance(seen[-1], NonFiniteLossError)
    now = weights(model)
    assert all(np.array_equal(now[k], seen[-2][k]) for k in now)  # step 5 changed nothing
    assert trainer.step == 4


def test_unpack_forms():
    x, y = gs.zeros(2, 3), gs.tensor([0, 1])
    assert default_unpack((x, y))[1] is y
    inputs, target = default_unpack({"input": x, "label": y})
    assert inputs[0] is x and target is y
    inputs, target = default_unpack((x, x, y))
    assert len(inputs) == 2
    (xa,), ya = default_unpack((np.zeros((2, 3), np.float32), np.array([0, 1])))
    assert isinstance(xa, gs.Tensor) and isinstance(ya, gs.Tensor)
    with pytest.raises(KeyError, match="input key"):
        default_unpack({"foo": x})
    with pytest.raises(TypeError, match=r"\(inputs, target\)"):
        default_unpack(x)


def test_fit_function_and_regression_metrics():
    gs.manual_seed(0)
    from gradstep.data import DataLoader, TensorDataset

    rng = np.random.default_rng(0)
    x = rng.standard_normal((64, 2)).astype(np.float32)
    y = (x @ np.array([[1.5], [-2.0]], dtype=np.float32) + 0.5).astype(np.float32)
    model = nn.Linear(2, 1)
    opt = gs.optim.SGD(model.parameters(), lr=0.1)
    h = fit(model, opt, DataLoader(TensorDataset(x, y), batch_size=16, shuffle=True), 30,
            val_loader=DataLoader(TensorDataset(x, y), batch_size=64), loss_fn=F.mse_loss, metrics=["mse", "mae"],
            progress=False)
    assert h["val_mse"][-1] < 1e-3 and h["val_mae"][-1] < 0.03
    assert h["val_mse"][-1] == pytest.approx(h["val_loss"][-1], rel=1e-4)
    assert Trainer(model, opt, F.mse_loss).metric_specs == []  # no accuracy for a custom loss by default
    assert [m.name for m in Trainer(model, opt).metric_specs] == ["acc"]


def test_resume_in_process_mid_epoch_is_exact(tmp_path):
    """Checkpoint mid-epoch, rebuild everything, load, continue: same weights as never stopping."""
    model, opt, train, val = setup(dropout=0.3, optimizer="adam", lr=0.01)
    sched = gs.optim.lr_scheduler.StepLR(opt, step_size=2, gamma=0.5)
    full = Trainer(model, opt, scheduler=sched, progress=False)
    full.fit(train, epochs=3, val_loader=val)
    expected = weights(model)

    class SaveAt(Callback):
        def on_batch_end(self, trainer, logs):
            if logs["step"] == 9:
                trainer.save_checkpoint(tmp_path / "mid")
                trainer.should_stop = True

    model, opt, train, val = setup(dropout=0.3, optimizer="adam", lr=0.01)
    sched = gs.optim.lr_scheduler.StepLR(opt, step_size=2, gamma=0.5)
    Trainer(model, opt, scheduler=sched, callbacks=[SaveAt()], progress=False).fit(train, epochs=3, val_loader=val)
    gs.randn(100)  # disturb the global RNG: the checkpoint must restore it

    model, opt, train, val = setup(seed=123, dropout=0.3, optimizer="adam", lr=0.01)  # different init
    sched = gs.optim.lr_scheduler.StepLR(opt, step_size=2, gamma=0.5)
    resumed = Trainer(model, opt, scheduler=sched, progress=False)
    info = resumed.load_checkpoint(tmp_path / "mid.json")
    assert info.step == 9 and resumed.batch_in_epoch == 3
    history = resumed.fit(train, epochs=3, val_loader=val)
    got = weights(model)
    assert all(np.array_equal(expected[k], got[k]) for k in expected)
    assert history.epochs == full.history.epochs


def test_resume_from_a_checkpoint_after_an_epochs_last_batch_is_exact(tmp_path):
    """A checkpoint taken after the epoch's last step but before its end (a run killed during the epoch-end
    evaluation) resumes with that epoch's end, not with a second pass over the next epoch's batches."""
    model, opt, train, val = setup(optimizer="adam", lr=0.01)  # 96 samples / 16: 6 batches per epoch
    full = Trainer(model, opt, progress=False)
    full.fit(train, epochs=3, val_loader=val)
    expected = weights(model)

    class SaveAt(Callback):
        def on_batch_end(self, trainer, logs):
            if logs["step"] == 12:  # the last batch of epoch 2
                trainer.save_checkpoint(tmp_path / "end")
                trainer.should_stop = True

    model, opt, train, val = setup(optimizer="adam", lr=0.01)
    Trainer(model, opt, callbacks=[SaveAt()], progress=False).fit(train, epochs=3, val_loader=val)

    model, opt, train, val = setup(seed=123, optimizer="adam", lr=0.01)
    resumed = Trainer(model, opt, progress=False)
    info = resumed.load_checkpoint(tmp_path / "end.json")
    assert info.step == 12 and (resumed.epoch, resumed.batch_in_epoch) == (1, 6)
    history = resumed.fit(train, epochs=3, val_loader=val)
    assert resumed.step == 18
    got = weights(model)
    assert all(np.array_equal(expected[k], got[k]) for k in expected)
    assert history.epochs == full.history.epochs


def test_memory_stays_flat_over_10000_steps():
    """No graph, hook or metric-history leak: RSS after 10k steps is within a few MB of that after 1k."""
    import gc

    def rss_kb():
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        return 0

    from gradstep.data import DataLoader, TensorDataset

    gs.manual_seed(0)
    rng = np.random.default_rng(0)
    data = TensorDataset(rng.standard_normal((64, 4)).astype(np.float32), rng.integers(0, 3, 64))
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3))
    opt = gs.optim.Adam(model.parameters(), lr=1e-3)
    marks = {}

    class Mark(Callback):
        def on_batch_end(self, trainer, logs):
            if logs["step"] in (1000, 10_000):
                gc.collect()
                marks[logs["step"]] = rss_kb()

    trainer = Trainer(model, opt, callbacks=[Mark()], progress=False)
    trainer.fit(DataLoader(data, batch_size=8, shuffle=True), epochs=1250)
    assert trainer.step == 10_000
    growth = marks[10_000] - marks[1000]
    assert growth < 2048, f"resident memory grew by {growth} kB between step 1,000 and 10,000"
