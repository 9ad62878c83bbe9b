"""Fixtures for the ONNX export tests: onnx and onnxruntime (the optional extra), and a round-trip helper."""
import os

import numpy as np
import pytest

import gradstep as gs


def _import_runtime():
    try:
        import onnx
        import onnxruntime
    except ImportError:
        if os.environ.get("CI"):
            raise RuntimeError("CI is set but onnx/onnxruntime are not installed: pip install 'gradstep[onnx]'")
        pytest.skip('onnx/onnxruntime not installed (pip install "gradstep[onnx]")')
    return onnx, onnxruntime


@pytest.fixture(scope="session")
def ort():
    return _import_runtime()[1]


@pytest.fixture(scope="session")
def onnx():
    return _import_runtime()[0]


@pytest.fixture
def roundtrip(ort, tmp_path):
    """``roundtrip(model, example, *inputs, **export_kw)``: export on ``example``, run ``inputs`` in
    onnxruntime and in gradstep (eval mode), assert they agree; returns (proto, onnx outputs)."""

    def run(model, example, *inputs, atol=1e-5, rtol=1e-5, **kw):
        path = tmp_path / "model.onnx"
        proto = gs.onnx.export(model, example, path, **kw)
        session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        names = [i.name for i in session.get_inputs()]
        got = session.run(None, dict(zip(names, inputs)))
        was_training = getattr(model, "training", False)
        if hasattr(model, "eval"):
            model.eval()
        with gs.no_grad():
            want = model(*[gs.tensor(a) for a in inputs])
        if hasattr(model, "train"):
            model.train(was_training)
        want = [want] if isinstance(want, gs.Tensor) else [w for w in want if w is not None]
        assert len(got) == len(want)
        for g, w in zip(got, want):
            w = w.numpy()
            assert g.shape == w.shape and g.dtype == w.dtype
            np.testing.assert_allclose(g, w, atol=atol, rtol=rtol)
        return proto, got

    return run
