"""The gradstep command through a real subprocess: files, exit codes, one-line errors, eval/predict/runs."""
import csv
import json
import os
import struct
import zlib

import numpy as np
import pytest

from gradstep.interop.safetensors import load_file
from gradstep.train.checkpoint import latest_checkpoint
from gradstep.train.run_dir import read_toml

from .helpers import gradstep, one_line_error

FAST = ("--dataset", "moons", "--epochs", "1")


def _runs(root):
    return sorted(os.listdir(root)) if os.path.isdir(root) else []


@pytest.fixture(scope="module")
def digits_run(tmp_path_factory):
    """One short digits run shared by the eval/predict/runs tests."""
    root = tmp_path_factory.mktemp("shared")
    r = gradstep("train", "--epochs", "3", "--name", "d", "--progress", "none", cwd=root)
    assert r.returncode == 0, r.stderr
    return root, root / "runs" / "d"


def test_help_explains_every_flag(tmp_path):
    r = gradstep("--help", cwd=tmp_path)
    assert r.returncode == 0
    for cmd in ("train", "eval", "predict", "runs"):
        assert cmd in r.stdout
    r = gradstep("train", "--help", cwd=tmp_path)
    assert r.returncode == 0
    for flag in ("--model", "--dataset", "--epochs", "--batch-size", "--optimizer", "--lr", "--scheduler",
                 "--weight-decay", "--seed", "--out", "--config", "--resume", "--clip-grad", "--checkpoint-every"):
        assert flag in r.stdout, flag
    assert "mlp" in r.stdout and "digits" in r.stdout and "adamw" in r.stdout


def test_train_writes_the_run_folder(tmp_path):
    r = gradstep("train", *FAST, "--name", "a", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    run = tmp_path / "runs" / "a"
    assert {"config.toml", "metrics.csv", "model.safetensors", "checkpoints", "summary.json"} <= set(os.listdir(run))
    assert str(run) in r.stdout and "val_acc" in r.stdout
    assert r.stdout.startswith("epoch 1/1  train_loss ")  # not a terminal: a plain line per epoch
    cfg = read_toml(run / "config.toml")
    assert cfg["dataset"] == "moons" and cfg["epochs"] == 1 and cfg["lr"] == 1e-3 and cfg["model"] == "mlp"
    rows = list(csv.DictReader(open(run / "metrics.csv")))
    assert rows[-1]["kind"] == "epoch" and rows[-1]["val_acc"] != ""
    assert {"epoch", "step", "train_loss", "val_loss", "val_acc", "lr"} <= set(rows[0])
    summary = json.load(open(run / "summary.json"))
    assert summary["status"] == "completed" and summary["final"]["epoch"] == 1
    assert latest_checkpoint(run / "checkpoints") is not None


def test_a_new_run_never_overwrites_a_folder(tmp_path):
    assert gradstep("train", *FAST, "--name", "same", cwd=tmp_path).returncode == 0
    before = (tmp_path / "runs" / "same" / "metrics.csv").read_bytes()
    r = gradstep("train", *FAST, "--name", "same", "--seed", "1", cwd=tmp_path)
    assert r.returncode == 0
    assert _runs(tmp_path / "runs") == ["same", "same-2"]
    assert (tmp_path / "runs" / "same" / "metrics.csv").read_bytes() == before
    assert "same-2" in r.stdout


def test_config_file_and_flag_precedence(tmp_path):
    (tmp_path / "c.toml").write_text('dataset = "xor"\nepochs = 2\nlr = 0.01\nbatch-size = 8\n')
    r = gradstep("train", "--config", "c.toml", "--lr", "0.02", "--out", "elsewhere", "--name", "x",
                 "--progress", "none", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    cfg = read_toml(tmp_path / "elsewhere" / "x" / "config.toml")
    assert (cfg["dataset"], cfg["epochs"], cfg["lr"], cfg["batch_size"]) == ("xor", 2, 0.02, 8)


def test_same_seed_same_metrics(tmp_path):
    args = ("train", "--dataset", "digits", "--epochs", "2", "--log-every", "5", "--progress", "none")
    for name, seed in (("a", 3), ("b", 3), ("c", 4)):
        assert gradstep(*args, "--seed", seed, "--name", name, cwd=tmp_path).returncode == 0
    a, b, c = ((tmp_path / "runs" / n / "metrics.csv").read_bytes() for n in "abc")
    assert a == b
    assert a != c


def _write_csv(path, rows):
    path.write_text("\n".join(",".join(map(str, r)) for r in rows) + "\n")


@pytest.mark.parametrize("args, code, expected", [
    (("--model", "resnet"), 2, "unknown model 'resnet'; valid: cnn, gpt, mlp"),
    (("--dataset", "imagenet"), 2, "unknown dataset 'imagenet'; valid: blobs, cifar10, circles, csv, digits"),
    (("--optimizer", "lion"), 2, "unknown optimizer 'lion'; valid: adadelta, adagrad, adam, adamax, adamw, nadam, radam, rmsprop, sgd"),
    (("--scheduler", "warm"), 2, "unknown scheduler 'warm'"),
    (("--lr", "-1"), 2, "argument --lr: must be a positive number, got '-1'"),
    (("--lr", "0"), 2, "must be a positive number"),
    (("--lr", "fast"), 2, "must be a positive number, got 'fast'"),
    (("--lr", "nan"), 2, "must be a positive number"),
    (("--epochs", "0"), 2, "argument --epochs: must be an integer >= 1"),
    (("--frobnicate",), 2, "unrecognized arguments: --frobnicate"),
    (("--model", "gpt"), 2, "dataset 'text' needs a file: pass --data-path FILE"),
    (("--model", "gpt", "--data-path", "missing.txt"), 1, "no such file"),
    (("--dataset", "csv", "--data-path", "nope.csv"), 1, "no such file"),
    (("--dataset", "csv", "--data-path", "bad.csv"), 1, "line 3, column 'b': 'oops' is not a number"),
    (("--dataset", "csv", "--data-path", "good.csv", "--target", "label"), 1, "label"),
    (("--model", "gpt", "--dataset", "digits"), 2, "model 'gpt' needs the text dataset, got 'digits'"),
    (("--dataset", "text", "--data-path", "t.txt"), 2, "the text dataset needs model 'gpt', got 'mlp'"),
    (("--config", "missing.toml"), 1, "no such config file: missing.toml"),
    (("--config", "bad.toml"), 1, "invalid TOML"),
    (("--config", "unknown.toml"), 2, "unknown setting colour"),
    (("--config", "wrongtype.toml"), 2, "epochs must be an integer, got 'many'"),
    (("--resume", "nowhere"), 1, "nowhere: not a run folder"),
])
def test_bad_input_one_line_error_and_no_run_folder(tmp_path, args, code, expected):
    _write_csv(tmp_path / "bad.csv", [("a", "b", "y"), (1, 2, 0), (3, "oops", 1)])
    _write_csv(tmp_path / "good.csv", [("a", "b", "y"), (1, 2, 0), (3, 4, 1)])
    (tmp_path / "bad.toml").write_text("epochs = = 3\n")
    (tmp_path / "unknown.toml").write_text('colour = "blue"\n')
    (tmp_path / "wrongtype.toml").write_text('epochs = "many"\n')
    (tmp_path / "t.txt").write_text("some text " * 50)
    r = gradstep("train", *args, cwd=tmp_path, timeout=60)
    err = one_line_error(r)
    assert r.returncode == code, err
    assert expected in err, err
    assert not (tmp_path / "runs").exists() or _runs(tmp_path / "runs") == []


def test_diverging_loss_stops_with_a_message_and_keeps_the_checkpoint(tmp_path):
    r = gradstep("train", "--dataset", "moons", "--optimizer", "sgd", "--lr", "1e6", "--checkpoint-every", "1",
                 "--epochs", "3", "--progress", "none", "--name", "nan", cwd=tmp_path)
    err = one_line_error(r)
    assert r.returncode == 1
    assert "loss became nan at step 3" in err and "last finite loss" in err and "at step 2" in err
    assert "lower learning rate" in err and "--clip-grad" in err and "last good checkpoint kept" in err
    run = tmp_path / "runs" / "nan"
    summary = json.load(open(run / "summary.json"))
    assert summary["status"] == "failed" and "loss became nan" in summary["error"]
    assert latest_checkpoint(run / "checkpoints").endswith("ckpt-00000002.json")


def test_resume_refuses_corrupt_or_foreign_checkpoints(tmp_path):
    assert gradstep("train", *FAST, "--name", "r", cwd=tmp_path).returncode == 0
    run = tmp_path / "runs" / "r"
    files = {p: p.read_bytes() for p in run.rglob("*") if p.is_file()}
    for p in (run / "checkpoints").glob("*.safetensors"):
        p.write_bytes(p.read_bytes()[:200])
    err = one_line_error(gradstep("train", "--resume", run, cwd=tmp_path))
    assert "no valid checkpoint to resume from" in err
    for p in (run / "checkpoints").glob("*.safetensors"):
        p.write_bytes(files[p])
    err = one_line_error(gradstep("train", "--resume", run, "--lr", "0.5", cwd=tmp_path))
    assert "cannot change lr when resuming" in err
    # a checkpoint of another architecture dropped into the run folder
    assert gradstep("train", *FAST, "--model", "cnn", "--dataset", "digits", "--name", "c", cwd=tmp_path).returncode == 0
    for p in (run / "checkpoints").iterdir():
        p.unlink()
    for p in (tmp_path / "runs" / "c" / "checkpoints").iterdir():
        (run / "checkpoints" / p.name).write_bytes(p.read_bytes())
    err = one_line_error(gradstep("train", "--resume", run, cwd=tmp_path))
    assert "checkpoint is from another model (model 'cnn' (CNN), not this MLP)" in err and "missing layers.0.weight" in err
    assert (run / "config.toml").read_bytes() == files[run / "config.toml"]
    assert (run / "metrics.csv").read_bytes() == files[run / "metrics.csv"]


def test_one_process_per_run_folder(tmp_path):
    assert gradstep("train", *FAST, "--name", "l", cwd=tmp_path).returncode == 0
    run = tmp_path / "runs" / "l"
    assert not (run / ".lock").exists()
    (run / ".lock").write_text(str(os.getpid()))  # a live process "owns" the run
    err = one_line_error(gradstep("train", "--resume", run, cwd=tmp_path))
    assert f"process {os.getpid()} is training in this run folder" in err
    (run / ".lock").write_text("999999999")  # a dead owner: stale, taken over
    assert gradstep("train", "--resume", run, cwd=tmp_path).returncode == 0


def test_resume_of_a_finished_run_is_a_no_op(tmp_path):
    assert gradstep("train", *FAST, "--name", "f", cwd=tmp_path).returncode == 0
    run = tmp_path / "runs" / "f"
    before = (run / "metrics.csv").read_bytes()
    r = gradstep("train", "--resume", run, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert (run / "metrics.csv").read_bytes() == before
    r = gradstep("train", "--resume", run, "--epochs", "2", "--progress", "none", cwd=tmp_path)  # extend it
    assert r.returncode == 0, r.stderr
    rows = list(csv.DictReader(open(run / "metrics.csv")))
    assert [row["epoch"] for row in rows if row["kind"] == "epoch"] == ["1", "2"]


def test_resume_before_the_first_checkpoint_restarts_from_step_0(tmp_path):
    assert gradstep("train", *FAST, "--name", "a", cwd=tmp_path).returncode == 0
    assert gradstep("train", *FAST, "--name", "b", cwd=tmp_path).returncode == 0
    b = tmp_path / "runs" / "b"
    for p in (b / "checkpoints").iterdir():  # as if killed during the first epoch
        p.unlink()
    (b / "model.safetensors").unlink()
    r = gradstep("train", "--resume", b, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "restarting the run from step 0" in r.stdout
    a = tmp_path / "runs" / "a"
    assert (a / "metrics.csv").read_bytes() == (b / "metrics.csv").read_bytes()
    wa, wb = load_file(a / "model.safetensors"), load_file(b / "model.safetensors")
    assert all(np.array_equal(wa[k], wb[k]) for k in wa)


def test_eval(digits_run):
    root, run = digits_run
    r = gradstep("eval", run, cwd=root)
    assert r.returncode == 0, r.stderr
    summary = json.load(open(run / "summary.json"))
    acc = float(r.stdout.split("val_acc")[1].split()[0])
    assert acc == pytest.approx(summary["final"]["val_acc"], abs=1e-4)
    err = one_line_error(gradstep("eval", root / "nothing", cwd=root))
    assert "no such run folder" in err


def _digits_test_sample(index=0):
    from gradstep.data.datasets import digits

    x, y = digits("test", flatten=False)[index]
    return x._data[0], int(y.item())


def _png(path, img):
    """An 8-bit grey PNG written with zlib."""
    h, w = img.shape
    raw = b"".join(bytes([0]) + row.tobytes() for row in img)  # filter 0 (test_images covers the others)

    def chunk(kind, body):
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    data = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0))
    path.write_bytes(data + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def test_predict_npy_image_and_errors(digits_run):
    root, run = digits_run
    img, label = _digits_test_sample(3)
    np.save(root / "one.npy", img.reshape(64))
    r = gradstep("predict", run, "one.npy", cwd=root)
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("predicted ") and "top 3:" in r.stdout
    batch = np.stack([_digits_test_sample(i)[0] for i in range(4)])
    np.save(root / "batch.npy", batch)
    r = gradstep("predict", run, "batch.npy", "--top", "2", cwd=root)
    assert r.returncode == 0 and len(r.stdout.splitlines()) == 4 and "sample 3:" in r.stdout
    # the same digit drawn dark on white at 4x the size, as a PNG and as a PGM
    big = np.kron(255 - np.round(img * 255).astype(np.uint8), np.ones((4, 4), np.uint8))
    _png(root / "digit.png", big)
    (root / "digit.pgm").write_bytes(b"P5\n# a comment\n32 32\n255\n" + big.tobytes())
    outs = [gradstep("predict", run, f, cwd=root) for f in ("one.npy", "digit.png", "digit.pgm")]
    assert all(o.returncode == 0 for o in outs), [o.stderr for o in outs]
    assert len({o.stdout.split()[1] for o in outs}) == 1  # same predicted class from all three forms
    np.save(root / "wrong.npy", np.zeros((3, 5)))
    assert "fits neither one sample (64,)" in one_line_error(gradstep("predict", run, "wrong.npy", cwd=root))
    assert "no such file" in one_line_error(gradstep("predict", run, "nothing.png", cwd=root))
    (root / "fake.png").write_bytes(b"GIF89a....")
    assert "not a PNG, PGM or PPM image" in one_line_error(gradstep("predict", run, "fake.png", cwd=root))


def test_runs_lists_runs_with_metrics(digits_run):
    root, run = digits_run
    r = gradstep("runs", cwd=root)
    assert r.returncode == 0, r.stderr
    header, *rows = r.stdout.splitlines()
    assert header.split()[:6] == ["run", "status", "model", "dataset", "epochs", "steps"] and "val_acc" in header
    assert any(row.split()[:4] == ["d", "completed", "mlp", "digits"] for row in rows)
    empty = gradstep("runs", "--out", "none-here", cwd=root)
    assert empty.returncode == 0 and "no runs" in empty.stdout


def test_gpt_on_a_tiny_text_and_prompt(tmp_path):
    (tmp_path / "t.txt").write_text("the quick brown fox jumps over the lazy dog. " * 40)
    r = gradstep("train", "--model", "gpt", "--data-path", "t.txt", "--block-size", "16", "--epochs", "1",
                 "--name", "g", "--progress", "none", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    run = tmp_path / "runs" / "g"
    r = gradstep("predict", run, "the qu", "--max-new-tokens", "20", "--seed", "1", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    text = r.stdout.rstrip("\n")
    assert text.startswith("the qu") and len(text) == 26
    assert r.stdout == gradstep("predict", run, "the qu", "--max-new-tokens", "20", "--seed", "1",
                                cwd=tmp_path).stdout
    err = one_line_error(gradstep("predict", run, "THE QUICK", cwd=tmp_path))
    assert "characters the model never saw" in err
    assert "val_acc" in gradstep("eval", run, cwd=tmp_path).stdout


def test_csv_regression_train_eval_predict(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((120, 3))
    y = x @ np.array([1.5, -2.0, 0.5]) + 0.3
    _write_csv(tmp_path / "reg.csv", [("a", "b", "c", "target")] + [tuple(f"{v:.5f}" for v in (*r, t))
                                                                     for r, t in zip(x, y)])
    r = gradstep("train", "--dataset", "csv", "--data-path", "reg.csv", "--epochs", "20", "--name", "reg",
                 "--progress", "none", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    run = tmp_path / "runs" / "reg"
    rows = list(csv.DictReader(open(run / "metrics.csv")))
    assert "val_mae" in rows[0] and float(rows[-1]["val_mae"]) < float(rows[0]["val_mae"])
    np.save(tmp_path / "one.npy", np.array([1.0, 0.0, 0.0], np.float32))
    r = gradstep("predict", run, "one.npy", cwd=tmp_path)
    assert r.returncode == 0 and r.stdout.startswith("sample 0: ")
    assert abs(float(r.stdout.split()[-1]) - 1.8) < 1.0
    assert "val_mae" in gradstep("eval", run, cwd=tmp_path).stdout
