"""``gradstep export RUN_DIR --format onnx`` through a real subprocess, checked with onnxruntime."""
import os

import numpy as np
import pytest

import gradstep as gs
from tests.cli.helpers import gradstep, one_line_error


def _ort():
    try:
        import onnxruntime
    except ImportError:
        if os.environ.get("CI"):
            raise
        pytest.skip("onnxruntime not installed (pip install 'gradstep[onnx]')")
    return onnxruntime


@pytest.mark.parametrize("model,extra", [("mlp", []), ("cnn", [])])
def test_export_run_to_onnx_matches_gradstep(model, extra, tmp_path):
    ort = _ort()
    r = gradstep("train", "--model", model, "--epochs", "1", "--out", str(tmp_path), "--name", "run",
                 "--progress", "none", "--observe-every", "0", *extra, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    r = gradstep("export", str(tmp_path / "run"), cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    path = tmp_path / "run" / "model.onnx"
    assert "exported to" in r.stdout and path.is_file()

    from gradstep.train.recipe import load_model

    net, meta = load_model(tmp_path / "run")
    x = np.random.default_rng(0).random((5, *meta["data_info"]["input_shape"]), dtype=np.float32)
    with gs.no_grad():
        want = net(gs.tensor(x)).numpy()
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    got = sess.run(None, {sess.get_inputs()[0].name: x})[0]
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)


def test_export_of_a_missing_run_is_one_line(tmp_path):
    r = gradstep("export", str(tmp_path / "nope"), cwd=tmp_path)
    assert "no such run folder" in one_line_error(r)
