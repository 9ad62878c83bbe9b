"""state_dict <-> .safetensors: round trips, PyTorch compatibility, atomic writes, clear errors."""
import os

import numpy as np
import pytest

import gradstep as gs
from gradstep import nn
from gradstep.errors import CheckpointError
from gradstep.interop.safetensors import atomic_write, load, load_file, read_metadata, save, save_file


def test_round_trip_keeps_dtypes_shapes_and_values(tmp_path, rng):
    tensors = {
        "w": rng.standard_normal((3, 4)).astype(np.float32),
        "d": rng.standard_normal(5),
        "i": np.arange(6, dtype=np.int64).reshape(2, 3),
        "b": np.array([True, False]),
        "h": np.ones(2, np.float16),
        "s": np.asarray(np.float32(2.5)),
        "e": np.zeros((0, 3), np.float32),
        "t": np.arange(6, dtype=np.float32).reshape(2, 3).T,  # not contiguous
    }
    save_file({**tensors, "g": gs.ones(2)}, tmp_path / "x.safetensors", metadata={"k": "v"})
    back = load_file(tmp_path / "x.safetensors")
    for k, v in tensors.items():
        assert back[k].dtype == v.dtype and back[k].shape == v.shape and np.array_equal(back[k], v)
        assert back[k].flags.writeable
    assert np.array_equal(back["g"], np.ones(2, np.float32))
    assert read_metadata(tmp_path / "x.safetensors") == {"k": "v"}
    assert load(save({"a": np.ones(1, np.float32)}))["a"][0] == 1


def test_model_weights_round_trip_through_pytorch(tmp_path, torch):
    import safetensors.torch

    gs.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2))
    save_file(model.state_dict(), tmp_path / "m.safetensors")
    tm = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.ReLU(), torch.nn.Linear(3, 2))
    tm.load_state_dict(safetensors.torch.load_file(str(tmp_path / "m.safetensors")))
    x = np.random.default_rng(0).standard_normal((5, 4)).astype(np.float32)
    np.testing.assert_allclose(tm(torch.tensor(x)).detach().numpy(), model(gs.tensor(x))._data, rtol=1e-6)
    safetensors.torch.save_file(tm.state_dict(), str(tmp_path / "t.safetensors"))
    back = {k: gs.tensor(v) for k, v in load_file(tmp_path / "t.safetensors").items()}
    model.load_state_dict(back)


def test_atomic_write_replaces_whole_files_only(tmp_path, monkeypatch):
    path = tmp_path / "f.bin"
    atomic_write(path, b"old")
    monkeypatch.setattr(os, "fsync", lambda fd: (_ for _ in ()).throw(OSError("I/O error")))
    with pytest.raises(OSError, match="I/O error"):
        atomic_write(path, b"new content")
    monkeypatch.undo()
    assert path.read_bytes() == b"old" and os.listdir(tmp_path) == ["f.bin"]
    atomic_write(path, b"new")
    assert path.read_bytes() == b"new"


def test_bad_files_raise_checkpoint_error(tmp_path):
    good = save({"w": np.ones((10, 10), np.float32)})
    cases = {
        "empty": b"",
        "short": b"\x01\x02",
        "huge header": (10**9).to_bytes(8, "little") + b"{}",
        "not json": (4).to_bytes(8, "little") + b"\xff\xfe\x00\x01",
        "truncated": good[:-50],
    }
    for name, data in cases.items():
        (tmp_path / name).write_bytes(data)
        with pytest.raises(CheckpointError) as e:
            load_file(tmp_path / name)
        assert str(tmp_path / name) in str(e.value) and "\n" not in str(e.value), name
    with pytest.raises(CheckpointError, match="no such file"):
        load_file(tmp_path / "missing.safetensors")
    with pytest.raises(CheckpointError, match="is a directory"):
        load_file(tmp_path)
    with pytest.raises(TypeError, match="'x' must be a Tensor or NumPy array"):
        save({"x": [1, 2]})


def test_equal_weights_and_metadata_give_equal_bytes_across_processes():
    # the safetensors writer orders metadata differently from process to process (hash seeds)
    import subprocess
    import sys

    code = ("import sys, numpy as np; from gradstep.interop.safetensors import save; "
            "sys.stdout.buffer.write(save({'w': np.arange(6, dtype=np.float32).reshape(2, 3), 'b': np.ones(2)}, "
            "metadata={k: str(i) for i, k in enumerate(['model', 'config', 'a', 'zeta', 'epoch', 'b'])}))")
    outs = {subprocess.run([sys.executable, "-c", code], capture_output=True, check=True).stdout for _ in range(4)}
    assert len(outs) == 1
    from gradstep.interop.safetensors import load, read_metadata

    data = outs.pop()
    assert len(data[8:8 + int.from_bytes(data[:8], "little")]) % 8 == 0
    assert load(data)["w"].tolist() == [[0, 1, 2], [3, 4, 5]]
    assert read_metadata(data)["zeta"] == "3"
