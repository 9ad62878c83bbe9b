"""Callbacks: event order, History, LRMonitor, CSVLogger, EarlyStopping, ProgressBar, ModelCheckpoint."""
import csv
import io
import os

import pytest

import gradstep as gs
from gradstep.train import (CSVLogger, Callback, CallbackList, EarlyStopping, History, LRMonitor, ModelCheckpoint,
                            ProgressBar, Trainer)

from .helpers import setup


class Recorder(Callback):
    def __init__(self):
        self.events = []

    def on_train_begin(self, trainer, logs):
        self.events.append("train_begin")

    def on_epoch_begin(self, trainer, logs):
        self.events.append(f"epoch_begin {logs['epoch']}")

    def on_batch_begin(self, trainer, logs):
        self.events.append(f"batch_begin {logs['step']}")

    def on_before_step(self, trainer, logs):
        assert all(p.grad is not None for p in trainer.model.parameters()) and "loss" in logs
        self.events.append(f"before_step {logs['step']}")

    def on_batch_end(self, trainer, logs):
        self.events.append(f"batch_end {logs['step']}")

    def on_epoch_end(self, trainer, logs):
        self.events.append(f"epoch_end {logs['epoch']}")

    def on_train_end(self, trainer, logs):
        self.events.append("train_end")

    def on_exception(self, trainer, error):
        self.events.append(f"exception {type(error).__name__}")


def test_event_order():
    model, opt, train, _ = setup(n=32)
    rec = Recorder()
    Trainer(model, opt, callbacks=[rec], progress=False).fit(train, epochs=2)
    assert rec.events == [
        "train_begin",
        "epoch_begin 1", "batch_begin 1", "before_step 1", "batch_end 1",
        "batch_begin 2", "before_step 2", "batch_end 2", "epoch_end 1",
        "epoch_begin 2", "batch_begin 3", "before_step 3", "batch_end 3",
        "batch_begin 4", "before_step 4", "batch_end 4", "epoch_end 2",
        "train_end",
    ]


def test_exception_event_replaces_train_end():
    model, opt, train, _ = setup(n=32)
    rec = Recorder()

    class Boom(Callback):
        def on_batch_end(self, trainer, logs):
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        Trainer(model, opt, callbacks=[rec, Boom()], progress=False).fit(train, epochs=2)
    assert rec.events[-1] == "exception RuntimeError" and "train_end" not in rec.events


def test_callbacks_run_by_order_and_reject_non_callbacks():
    class A(Callback):
        order = 5

    class B(Callback):
        order = -5

    a, b = A(), B()
    assert list(CallbackList([a, b])) == [b, a]
    with pytest.raises(TypeError, match="Callback instances"):
        CallbackList([object()])


def test_history_and_lr_monitor():
    model, opt, train, val = setup()
    sched = gs.optim.lr_scheduler.LinearLR(opt, start_factor=0.5, total_iters=4)
    mon = LRMonitor(every_n_steps=2)
    trainer = Trainer(model, opt, scheduler=sched, scheduler_interval="step", callbacks=[mon], progress=False)
    history = trainer.fit(train, epochs=1, val_loader=val)
    assert isinstance(history, History) and len(history) == 1
    assert [s for s, _ in mon.records] == [2, 4, 6]
    lrs = [lrs[0] for _, lrs in mon.records]
    assert lrs == pytest.approx([0.05 * (0.5 + 0.125), 0.05 * (0.5 + 0.375), 0.05])


def test_csv_logger_rows(tmp_path):
    model, opt, train, val = setup()
    path = tmp_path / "m.csv"
    Trainer(model, opt, callbacks=[CSVLogger(path, every_n_steps=4)], progress=False).fit(train, epochs=2, val_loader=val)
    rows = list(csv.DictReader(open(path)))
    assert list(rows[0]) == ["epoch", "step", "kind", "train_loss", "train_acc", "val_loss", "val_acc", "lr"]
    assert [(r["epoch"], r["step"], r["kind"]) for r in rows] == [
        ("1", "4", "step"), ("1", "6", "epoch"), ("2", "8", "step"), ("2", "12", "step"), ("2", "12", "epoch")]
    assert rows[0]["val_loss"] == "" and rows[1]["val_loss"] != ""
    assert all(float(r["lr"]) == 0.05 for r in rows)


def test_early_stopping():
    class Feed(Callback):
        order = -1
        values = [1.0, 0.5, 0.6, 0.55, 0.7, 0.4]

        def on_epoch_end(self, trainer, logs):
            logs["val_loss"] = self.values[logs["epoch"] - 1]

    model, opt, train, _ = setup(n=16)
    stop = EarlyStopping("val_loss", patience=2, verbose=False)
    trainer = Trainer(model, opt, callbacks=[Feed(), stop], progress=False)
    trainer.fit(train, epochs=6)
    assert trainer.epoch == 4 and stop.stopped_epoch == 4
    assert stop.best == 0.5 and stop.best_epoch == 2
    assert EarlyStopping("val_acc").mode == "max"
    with pytest.raises(ValueError, match="mode must be"):
        EarlyStopping(mode="up")
    with pytest.raises(KeyError, match="'val_loss' is not in the epoch logs"):
        Trainer(*setup(n=16)[:2], callbacks=[EarlyStopping()], progress=False).fit(setup(n=16)[2], epochs=1)


def test_progress_line_mode_and_bar_mode():
    model, opt, train, val = setup()
    out = io.StringIO()
    Trainer(model, opt, callbacks=[ProgressBar("line", file=out)], progress=False).fit(train, 2, val_loader=val)
    lines = out.getvalue().splitlines()
    assert len(lines) == 2 and lines[0].startswith("epoch 1/2  train_loss ")
    assert "val_acc" in lines[1] and "samples/s" in lines[1]

    class Tty(io.StringIO):
        def isatty(self):
            return True

    tty = Tty()
    model, opt, train, _ = setup()
    Trainer(model, opt, progress=False, callbacks=[ProgressBar("auto", file=tty)]).fit(train, 1)
    assert "epoch 1/1" in tty.getvalue() and "6/6" in tty.getvalue()
    with pytest.raises(ValueError, match="mode must be"):
        ProgressBar("fancy")


def test_model_checkpoint_keeps_the_newest(tmp_path):
    model, opt, train, _ = setup()
    (tmp_path / "ckpt-00000001.safetensors").write_bytes(b"orphan")  # its JSON was pruned, then a kill
    (tmp_path / ".ckpt-00000003.json.abc.tmp").write_bytes(b"half")  # killed mid-write
    ckpt = ModelCheckpoint(tmp_path, every_n_steps=4, keep_last=2)
    Trainer(model, opt, callbacks=[ckpt], progress=False).fit(train, epochs=2)
    names = sorted(os.listdir(tmp_path))
    assert names == ["ckpt-00000008.json", "ckpt-00000008.safetensors",
                     "ckpt-00000012.json", "ckpt-00000012.safetensors"]
    assert ckpt.last_saved.endswith("ckpt-00000012.json")


def test_model_checkpoint_refuses_non_finite_weights(tmp_path):
    model, opt, train, _ = setup()
    ckpt = ModelCheckpoint(tmp_path, every_n_steps=1)

    class Poison(Callback):
        def on_batch_end(self, trainer, logs):
            if logs["step"] == 3:
                next(trainer.model.parameters())._data[0, 0] = float("inf")

    with pytest.raises(FloatingPointError, match="no longer finite at step 3.*ckpt-00000002"):
        Trainer(model, opt, callbacks=[Poison(), ckpt], progress=False).fit(train, epochs=1)
    assert sorted(os.listdir(tmp_path))[-1] == "ckpt-00000002.safetensors"
