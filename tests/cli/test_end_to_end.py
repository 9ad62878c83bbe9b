"""The product's promises, end to end: the default run hits its targets, and a killed run resumes exactly."""
import json
import os
import random
import signal
import subprocess
import time

import numpy as np
import pytest

from gradstep.interop.safetensors import load_file

from .helpers import command, env, gradstep


@pytest.mark.slow
def test_default_train_reaches_the_targets_in_under_a_minute(tmp_path):
    start = time.perf_counter()
    r = gradstep("train", cwd=tmp_path, timeout=180, single_thread=False)  # exactly what a user types
    elapsed = time.perf_counter() - start
    assert r.returncode == 0, r.stderr
    (run,) = (tmp_path / "runs").iterdir()
    summary = json.load(open(run / "summary.json"))
    assert summary["model"] == "mlp" and summary["dataset"] == "digits"
    assert summary["config"]["optimizer"] == "adam" and summary["config"]["lr"] == 1e-3
    final = summary["final"]
    assert final["train_loss"] < 0.1, final
    assert final["val_acc"] >= 0.97, final
    assert elapsed < 60, f"default training took {elapsed:.1f} s"
    assert "train_loss" in r.stdout and "val_acc" in r.stdout and f"run saved to {run}" in r.stdout


def _rows(path) -> int:
    try:
        with open(path, "rb") as f:
            return f.read().count(b"\n")
    except FileNotFoundError:
        return 0


def _kill_at(args, cwd, csv_path, row):
    """Start ``gradstep train ARGS``, SIGKILL it once metrics.csv has ``row`` lines; True if it was killed."""
    proc = subprocess.Popen(command(*args), cwd=cwd, env=env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 120
        while _rows(csv_path) < row and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.0005)
        if proc.poll() is not None:
            return False
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
        assert proc.returncode == -signal.SIGKILL
        return True
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


@pytest.mark.slow
@pytest.mark.parametrize("every", [7, 1])  # every step: the kill often lands inside a checkpoint write
def test_sigkill_and_resume_gives_bit_identical_weights(tmp_path, every):
    """Kill the run at random steps (twice), resume each time: final weights and metrics.csv equal an
    uninterrupted run with the same seed, bit for bit."""
    base = ("train", "--dataset", "digits", "--epochs", "12", "--batch-size", "24", "--checkpoint-every", every,
            "--log-every", "1", "--scheduler", "cosine", "--seed", "5", "--progress", "none")
    assert gradstep(*base, "--name", "full", cwd=tmp_path).returncode == 0
    full = tmp_path / "runs" / "full"
    total = sum(1 for _ in open(full / "metrics.csv"))  # rows: one per step + one per epoch + header
    rng = random.Random()
    first = rng.randrange(20, total // 2)
    second = rng.randrange(total // 2 + 10, total - 20)
    part = tmp_path / "runs" / "part"
    assert _kill_at((*base, "--name", "part"), tmp_path, part / "metrics.csv", first), "finished before the kill"
    assert json.load(open(part / "summary.json"))["status"] == "running"  # it really died mid-run
    listing = gradstep("runs", cwd=tmp_path).stdout
    assert any(line.split()[:2] == ["part", "stopped"] for line in listing.splitlines()), listing
    assert _kill_at(("train", "--resume", part, "--progress", "none"), tmp_path, part / "metrics.csv", second), \
        "resumed run finished before the kill"
    r = gradstep("train", "--resume", part, "--progress", "none", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    expected, got = load_file(full / "model.safetensors"), load_file(part / "model.safetensors")
    assert expected.keys() == got.keys()
    for k in expected:
        assert np.array_equal(expected[k], got[k]), f"{k} differs after kill at rows {first} and {second}"
    assert (full / "metrics.csv").read_bytes() == (part / "metrics.csv").read_bytes()
    summary = json.load(open(part / "summary.json"))
    assert summary["status"] == "completed" and summary["resumed_from"].startswith("checkpoints/ckpt-")


# Loaded by the killed process through PYTHONPATH: SIGKILL itself at one chosen point of the epoch-end work.
_KILLER = '''
import os, signal
epoch, where = os.environ["GRADSTEP_TEST_KILL"].split(":")
if where == "evaluate":  # during the validation pass that ends epoch EPOCH
    from gradstep.train.loop import Trainer
    evaluate = Trainer.evaluate
    def killing_evaluate(self, *args, **kwargs):
        if self.epoch + 1 == int(epoch):
            os.kill(os.getpid(), signal.SIGKILL)
        return evaluate(self, *args, **kwargs)
    Trainer.evaluate = killing_evaluate
else:  # right after epoch EPOCH's row reached metrics.csv, before its epoch-end checkpoint
    from gradstep.train.csv_logger import CSVLogger
    on_epoch_end = CSVLogger.on_epoch_end
    def killing_on_epoch_end(self, trainer, logs):
        on_epoch_end(self, trainer, logs)
        if logs["epoch"] == int(epoch):
            os.kill(os.getpid(), signal.SIGKILL)
    CSVLogger.on_epoch_end = killing_on_epoch_end
'''


@pytest.mark.slow
@pytest.mark.parametrize("where", ["evaluate", "epoch-row"])
def test_sigkill_between_an_epochs_last_step_and_its_end_resumes_exactly(tmp_path, where):
    """Killed after the epoch's last step was checkpointed but before the epoch-end checkpoint (the window
    of the once-flaky kill at an epoch row): the resume ends that epoch instead of training the next
    epoch's batches inside it, and the run ends bit-identical to an uninterrupted one."""
    base = ("train", "--dataset", "digits", "--epochs", "3", "--batch-size", "24", "--checkpoint-every", "1",
            "--log-every", "1", "--scheduler", "cosine", "--seed", "5", "--progress", "none")
    assert gradstep(*base, "--name", "full", cwd=tmp_path).returncode == 0
    full, part = tmp_path / "runs" / "full", tmp_path / "runs" / "part"
    (tmp_path / "killer").mkdir()
    (tmp_path / "killer" / "sitecustomize.py").write_text(_KILLER)
    killing = env()
    killing["PYTHONPATH"] = str(tmp_path / "killer") + os.pathsep + killing["PYTHONPATH"]
    killing["GRADSTEP_TEST_KILL"] = f"2:{where}"
    r = subprocess.run(command(*base, "--name", "part"), cwd=tmp_path, env=killing, capture_output=True, text=True,
                       timeout=120)
    assert r.returncode == -signal.SIGKILL, r.stderr
    newest = max((part / "checkpoints").glob("ckpt-*.json"))
    state = json.load(open(newest))["trainer"]
    assert (state["step"], state["epoch"], state["batch_in_epoch"]) == (120, 1, 60)  # really inside the window
    r = gradstep("train", "--resume", part, "--progress", "none", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert (full / "metrics.csv").read_bytes() == (part / "metrics.csv").read_bytes()
    expected, got = load_file(full / "model.safetensors"), load_file(part / "model.safetensors")
    assert expected.keys() == got.keys()
    for k in expected:
        assert np.array_equal(expected[k], got[k]), f"{k} differs"
