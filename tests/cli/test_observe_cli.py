"""``gradstep report``, ``gradstep explain`` and ``gradstep lr-find`` from the command line."""
import os
import subprocess
import sys

import pytest

from gradstep.cli.main import main

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _gradstep(*args, cwd):
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    return subprocess.run([sys.executable, "-m", "gradstep", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=300)


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("runs")
    r = _gradstep("train", "--epochs", "1", "--out", str(out), "--name", "r", "--progress", "none", cwd=out)
    assert r.returncode == 0, r.stderr
    return str(out / "r")


def test_explain_with_no_arguments(tmp_path):
    r = _gradstep("explain", "--html", "explain.html", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    for text in ("model: a tiny fresh network 64 -> 16 -> ReLU -> 10", "2. Forward pass", "4. Backward pass",
                 "loss after the step:", "the input as an image:"):
        assert text in r.stdout
    assert (tmp_path / "explain.html").read_text(encoding="utf-8").startswith("<!DOCTYPE html>")


def test_report_of_a_trained_run(run_dir, tmp_path):
    r = _gradstep("report", run_dir, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    path = os.path.join(run_dir, "report.html")
    assert r.stdout.strip() == f"report written to {os.path.abspath(path)}"
    page = open(path, encoding="utf-8").read()
    assert "<h2>Loss, accuracy and learning rate</h2>" in page and "data:image/png;base64," in page


def test_explain_a_trained_run(run_dir, capsys):
    assert main(["explain", run_dir, "--index", "7", "--split", "test", "--lr", "0.05"]) == 0
    out = capsys.readouterr().out
    assert "model: mlp from" in out and "example 7 of the digits test split" in out
    assert "layers.0 (Linear): weighted sum z = x·Wᵀ + b, W (128, 64)" in out
    assert "plain gradient descent, lr = 0.05" in out


def test_lr_find(run_dir, tmp_path, capsys):
    plot = tmp_path / "lr.png"
    assert main(["lr-find", run_dir, "--steps", "40", "--start", "1e-4", "--end", "1", "--plot", str(plot)]) == 0
    out = capsys.readouterr().out
    assert "lr range test: mlp on digits with adam" in out and "smoothed loss" in out
    assert "suggested lr" in out or "no suggestion" in out
    assert plot.read_bytes()[:4] == b"\x89PNG"
    assert main(["lr-find", "--steps", "10", "--no-plot", "--optimizer", "sgd"]) == 0
    assert "with sgd" in capsys.readouterr().out


@pytest.mark.parametrize("argv, message", [
    (["report", "no/such/run"], "gradstep: error: report: no such run folder: no/such/run"),
    (["explain", "--index", "99999"], "gradstep: error: explain: --index 99999 is out of range"),
    (["explain", "--lr", "-1"], "argument --lr: must be a positive number, got '-1'"),
    (["lr-find", "--start", "1", "--end", "0.1"], "gradstep: error: lr-find: need 0 < --start < --end"),
    (["lr-find", "no/such/run"], "gradstep: error: no/such/run: not a run folder (no config.toml)"),
])
def test_bad_input_is_one_line_and_nonzero(argv, message, capsys):
    code = main(argv)
    err = capsys.readouterr().err
    assert code in (1, 2) and err.count("\n") == 1 and message in err, err


def test_train_with_report_flag_writes_observations_and_report(tmp_path):
    r = _gradstep("train", "--epochs", "2", "--out", str(tmp_path), "--name", "rep", "--progress", "none",
                  "--observe-every", "5", "--report", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    run = tmp_path / "rep"
    assert f"report: {run / 'report.html'}" in r.stdout
    html = (run / "report.html").read_text(encoding="utf-8")
    assert "status: <b>completed" in html and "Gradient flow" in html
    rows = (run / "observations.jsonl").read_text().splitlines()
    assert len(rows) >= 2  # observed at step 1 and every 5 steps
