"""Command-line polish, in process: predict's input shapes, explain's wording, the training log's number
formats, the resumed run's summary, file modes of a run folder, Trainer(progress="none")."""
import os
import stat

import numpy as np
import pytest

import gradstep as gs
from gradstep.cli.main import main
from gradstep.train.progress import format_logs, format_seconds, format_value


@pytest.fixture(scope="module")
def digits_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("polish")
    cwd = os.getcwd()
    os.chdir(root)
    try:
        assert main(["train", "--epochs", "2", "--name", "d", "--progress", "none", "--observe-every", "0"]) == 0
    finally:
        os.chdir(cwd)
    return root, root / "runs" / "d"


def _digit(i: int = 0) -> np.ndarray:
    from gradstep.data.datasets.digits import _load

    return _load()[0][i]  # (8, 8) uint8, 0..16


def test_predict_one_image_of_the_dataset_shape(digits_run, tmp_path, capsys):
    _, run = digits_run
    img = _digit(0).astype(np.float32) / 16
    outs = []
    for name, arr in [("hw", img), ("chw", img[None]), ("flat", img.reshape(64)), ("batch1", img.reshape(1, 64))]:
        np.save(tmp_path / f"{name}.npy", arr)
        assert main(["predict", str(run), str(tmp_path / f"{name}.npy")]) == 0
        outs.append(capsys.readouterr().out)
    assert all(o.startswith("predicted ") for o in outs), outs
    assert len(set(outs)) == 1  # the same sample, however it is shaped
    np.save(tmp_path / "raw.npy", _digit(0))  # np.save(images[0]): uint8, as stored
    assert main(["predict", str(run), str(tmp_path / "raw.npy")]) == 0
    np.save(tmp_path / "batch.npy", np.stack([img, img, img]))  # (3, 8, 8): a batch of images
    assert main(["predict", str(run), str(tmp_path / "batch.npy")]) == 0
    assert len(capsys.readouterr().out.splitlines()) == 4
    np.save(tmp_path / "bad.npy", np.zeros((5, 8), np.float32))
    assert main(["predict", str(run), str(tmp_path / "bad.npy")]) == 1
    err = capsys.readouterr().err
    assert "fits neither one sample (64,) (or one 8x8 image: (8, 8)) nor a batch (N, 64)" in err, err
    (tmp_path / "dir.npy").mkdir()
    assert main(["predict", str(run), str(tmp_path / "dir.npy")]) == 1
    assert "is a directory" in capsys.readouterr().err


def test_predict_channels_last_colour_images(tmp_path):
    from gradstep.cli.predict import _inputs

    hwc = np.random.default_rng(0).random((4, 4, 3), dtype=np.float32)
    np.save(tmp_path / "one.npy", hwc)
    np.testing.assert_array_equal(_inputs(str(tmp_path / "one.npy"), [48]), hwc.transpose(2, 0, 1).reshape(1, 48))
    np.testing.assert_array_equal(_inputs(str(tmp_path / "one.npy"), [3, 4, 4]), hwc.transpose(2, 0, 1)[None])
    np.save(tmp_path / "two.npy", np.stack([hwc, hwc]))
    assert _inputs(str(tmp_path / "two.npy"), [3, 4, 4]).shape == (2, 3, 4, 4)


def test_explain_says_unchanged_when_the_loss_does_not_move():
    from gradstep.observe.explain import default_example, explain_step, tiny_model

    model = tiny_model()
    x, y = default_example(0)[:2]
    text = str(explain_step(model, x, y, lr=0.0))
    assert "(unchanged)" in text and "the loss is unchanged" in text
    assert "went up" not in text
    assert "smaller" in str(explain_step(model, x, y, lr=0.1))


def test_number_formats():
    assert format_value("lr", 4e-07) == "4e-07"
    assert format_value("lr", 0.001) == "0.001" and format_value("lr", 0.00123456) == "0.001235"
    assert format_value("val_acc", 0.922) == "0.9220" and format_value("train_loss", 1.0) == "1.0000"
    assert format_value("val_loss", 8.9e29) == "8.9e+29" and format_value("val_loss", float("nan")) == "nan"
    assert format_value("step", 90) == "90"
    assert format_seconds(0.0123) == "12 ms" and format_seconds(3.45) == "3.5 s"
    assert format_seconds(125) == "2 min 05 s"
    assert format_logs({"epoch": 1, "train_loss": 0.5, "lr": 4e-7}) == "train_loss 0.5000  lr 4e-07"


def test_training_log_and_resumed_summary(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    base = ["train", "--dataset", "moons", "--lr", "4e-7", "--observe-every", "0", "--name", "r"]
    assert main([*base, "--epochs", "1"]) == 0
    out = capsys.readouterr().out
    line = out.splitlines()[0]
    assert line.startswith("epoch 1/1  train_loss ") and "lr 4e-07" in line and line.endswith(" ms"), line
    assert "0.0000" not in line and "lr          4e-07" in out
    assert main(["train", "--resume", "runs/r", "--epochs", "2"]) == 0
    out = capsys.readouterr().out
    head = next(li for li in out.splitlines() if li.startswith("mlp on moons"))
    assert "2 epochs" in head and "resumed from step" in head and "this session" in head, head


def test_run_folder_files_are_not_private(digits_run):
    _, run = digits_run
    umask = os.umask(0)
    os.umask(umask)
    want = 0o666 & ~umask
    files = [run / n for n in ("config.toml", "model.safetensors", "summary.json", "metrics.csv")]
    files += list((run / "checkpoints").iterdir())
    for f in files:
        assert stat.S_IMODE(os.stat(f).st_mode) == want, f


def test_save_file_into_a_missing_folder(tmp_path):
    from gradstep.errors import PathNotFound
    from gradstep.interop.safetensors import save_file

    with pytest.raises(PathNotFound, match=r"save_file: cannot write .*x.safetensors: the folder .*nodir does not "
                                           r"exist") as info:
        save_file({"w": gs.ones(2)}, tmp_path / "nodir" / "x.safetensors")
    assert ".tmp" not in str(info.value) and isinstance(info.value, FileNotFoundError)


@pytest.mark.parametrize("progress", ["none", None, False])
def test_trainer_progress_none_prints_nothing(progress, capsys):
    from gradstep.data import DataLoader, TensorDataset
    from gradstep.train import Trainer

    gs.manual_seed(0)
    m = gs.nn.Linear(3, 2)
    loader = DataLoader(TensorDataset(gs.randn(16, 3), gs.randint(2, (16,))), batch_size=8)
    Trainer(m, gs.optim.SGD(m.parameters(), lr=0.1), progress=progress).fit(loader, epochs=1)
    assert capsys.readouterr().out == ""


def test_randint_high_size_form_matches_torch(torch):
    gs.manual_seed(0)
    x = gs.randint(10, (1000,))
    assert x.shape == tuple(torch.randint(10, (1000,)).shape) and x.dtype == gs.int64
    assert x.min().item() >= 0 and x.max().item() <= 9 and len(set(x.tolist())) == 10
    assert gs.randint(5, size=(3,)).shape == (3,) and gs.randint(-3, 3, (2, 2)).shape == (2, 2)
    assert gs.randint(0, 10, (3,), dtype=gs.float32).dtype == gs.float32
