"""gradstep.save / gradstep.load: round trips (tensors, state_dicts, optimizer state, nested checkpoints),
PyTorch interchange through safetensors, atomic writes, and files that must be refused (never unpickled)."""
import collections
import io
import os

import numpy as np
import pytest

import gradstep as gs
from gradstep import nn, optim


def _equal(a, b):
    assert type(a) is type(b) or (isinstance(a, dict) and isinstance(b, dict)), (type(a), type(b))
    if isinstance(a, gs.Tensor):
        assert a.dtype == b.dtype and a.shape == b.shape
        np.testing.assert_array_equal(a.numpy(force=True), b.numpy(force=True))
    elif isinstance(a, dict):
        assert list(a.keys()) == list(b.keys())
        for k in a:
            _equal(a[k], b[k])
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b)
        for x, y in zip(a, b):
            _equal(x, y)
    elif isinstance(a, float) and np.isnan(a):
        assert np.isnan(b)
    else:
        assert a == b


def test_tensor_round_trip(tmp_path):
    for t in (gs.randn(3, 4), gs.tensor(2.5), gs.arange(6).reshape(2, 3), gs.tensor([True, False]),
              gs.zeros(0, 3), gs.randn(2, 3, dtype=gs.float64), gs.randn(4, 3).t()):
        path = tmp_path / "t.safetensors"
        gs.save(t, path)
        got = gs.load(path)
        _equal(got, gs.tensor(t.numpy()))
        assert got._data.flags.writeable
    p = tmp_path / "g.safetensors"
    gs.save(gs.ones(2, requires_grad=True), str(p))
    assert gs.load(str(p)).requires_grad


def test_nested_checkpoint_round_trip(tmp_path):
    ck = {"model": collections.OrderedDict(w=gs.randn(2, 3), b=gs.zeros(3)), "epoch": 3, "lr": 0.1, "name": "run",
          "flags": [True, None, 1.5], "shape": (2, 3), "nan": float("nan"), "inf": -float("inf"),
          "counts": {1: 10, 2: 20, (3, "x"): 7, None: 0, 2.5: 1}, "arr": np.arange(4.0), "np_scalar": np.float32(1.5)}
    gs.save(ck, tmp_path / "ck.safetensors")
    got = gs.load(tmp_path / "ck.safetensors")
    assert isinstance(got["model"], collections.OrderedDict)
    _equal(got["model"], ck["model"])
    for key in ("epoch", "lr", "name", "flags", "shape", "nan", "inf", "counts"):
        _equal(got[key], ck[key])
    _equal(got["arr"], gs.tensor(np.arange(4.0)))
    assert got["np_scalar"] == 1.5


def test_module_and_optimizer_state_round_trip(tmp_path):
    gs.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
    opts = [optim.Adam(model.parameters(), lr=1e-3), optim.SGD(model.parameters(), lr=0.1, momentum=0.9)]
    for _ in range(2):
        for opt in opts:
            opt.zero_grad()
            model(gs.randn(5, 3)).pow(2).mean().backward()
            opt.step()
    gs.save({"model": model.state_dict(), "optimizer": [o.state_dict() for o in opts], "epoch": 2}, tmp_path / "c.pt")
    ck = gs.load(tmp_path / "c.pt")
    for opt, saved in zip(opts, ck["optimizer"]):
        want = opt.state_dict()
        assert list(saved["state"].keys()) == list(want["state"].keys()) and all(isinstance(k, int) for k in saved["state"])
        assert saved["param_groups"] == want["param_groups"]
        for i in want["state"]:
            for k, v in want["state"][i].items():
                np.testing.assert_array_equal(np.asarray(getattr(saved["state"][i][k], "_data", saved["state"][i][k])), v)
    # a fresh model + optimizers resumed from the checkpoint take exactly the same next step
    model2 = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
    model2.load_state_dict(ck["model"])
    opts2 = [optim.Adam(model2.parameters(), lr=1e-3), optim.SGD(model2.parameters(), lr=0.1, momentum=0.9)]
    for o2, saved in zip(opts2, ck["optimizer"]):
        o2.load_state_dict(saved)
    x = gs.randn(5, 3)
    for m, os_ in ((model, opts), (model2, opts2)):
        for opt in os_:
            opt.zero_grad()
            m(x).pow(2).mean().backward()
            opt.step()
    for p, q in zip(model.parameters(), model2.parameters()):
        np.testing.assert_array_equal(p.numpy(force=True), q.numpy(force=True))


def test_flat_state_dict_is_a_pytorch_safetensors_file(tmp_path, torch):
    from safetensors.torch import load_file, save_file

    model = nn.Linear(3, 2)
    gs.save(model.state_dict(), tmp_path / "w.safetensors")
    sd = load_file(str(tmp_path / "w.safetensors"))
    tmodel = torch.nn.Linear(3, 2)
    tmodel.load_state_dict(sd)
    np.testing.assert_array_equal(tmodel.weight.detach().numpy(), model.weight.numpy(force=True))
    # and a file written by PyTorch loads as {name: Tensor}
    save_file({k: v.contiguous() for k, v in tmodel.state_dict().items()}, str(tmp_path / "t.safetensors"))
    got = gs.load(tmp_path / "t.safetensors")
    assert sorted(got) == ["bias", "weight"] and isinstance(got["weight"], gs.Tensor)
    model.load_state_dict(got)


def test_file_objects_and_parameters():
    buf = io.BytesIO()
    gs.save({"p": nn.Parameter(gs.ones(2)), "t": gs.zeros(1)}, buf)
    buf.seek(0)
    got = gs.load(buf, map_location="cpu", weights_only=True)
    assert isinstance(got["p"], nn.Parameter) and got["p"].requires_grad
    assert not isinstance(got["t"], nn.Parameter)


def test_atomic_write_keeps_old_file_on_error(tmp_path):
    path = tmp_path / "ck.safetensors"
    gs.save({"a": gs.ones(2)}, path)
    with pytest.raises(TypeError, match=r"save: can't store object at 'b'"):
        gs.save({"a": gs.zeros(2), "b": object()}, path)
    _equal(gs.load(path), {"a": gs.ones(2)})
    assert sorted(os.listdir(tmp_path)) == ["ck.safetensors"]  # no temporary left behind


def test_refuses_pickles_and_other_files(tmp_path, torch):
    pt = tmp_path / "model.pt"
    torch.save({"w": torch.ones(2)}, str(pt))
    with pytest.raises(gs.CheckpointError, match=r"model.pt looks like a PyTorch pickle file; gradstep never unpickles"):
        gs.load(pt)
    legacy = tmp_path / "legacy.pt"
    torch.save({"w": torch.ones(2)}, str(legacy), _use_new_zipfile_serialization=False)
    with pytest.raises(gs.CheckpointError, match=r"legacy.pt looks like a PyTorch pickle file.*safetensors.torch.save_file"):
        gs.load(legacy)
    junk = tmp_path / "junk.bin"
    junk.write_bytes(b"hello, this is not a checkpoint at all")
    with pytest.raises(gs.CheckpointError, match=r"junk.bin"):
        gs.load(junk)
    with pytest.raises(gs.CheckpointError, match=r"missing.safetensors: no such file"):
        gs.load(tmp_path / "missing.safetensors")
    good = tmp_path / "good.safetensors"
    gs.save(gs.ones(3), good)
    good.write_bytes(good.read_bytes()[:-5])
    with pytest.raises(gs.CheckpointError, match=r"good.safetensors"):
        gs.load(good)


@pytest.mark.parametrize("header_length", [0x580, 0x4B50])
def test_header_length_that_starts_like_a_pickle_still_loads(tmp_path, header_length):
    """A safetensors file's 8-byte header length may begin with 0x80 (0x580) or b"PK" (0x4b50), like pickles."""
    path = tmp_path / "ck.safetensors"

    def saved(n):
        state = {"w" * n: gs.ones(2)}
        gs.save(state, path)
        return state, int.from_bytes(path.read_bytes()[:8], "little")

    base = saved(1)[1]
    per_char = (saved(1001)[1] - base) / 1000
    n = max(1, int((header_length - base) / per_char) - 8)  # a little short, then step up to the exact size
    state, got = saved(n)
    while got < header_length:
        n += 1
        state, got = saved(n)
    assert got == header_length, (got, header_length)
    assert path.read_bytes()[:2] in (b"\x80\x05", b"PK")
    _equal(gs.load(path), state)


def test_unsupported_objects_are_named():
    with pytest.raises(TypeError, match=r"save: can't store Linear at the top level.*state_dict\(\)"):
        gs.save(nn.Linear(2, 2), io.BytesIO())
    with pytest.raises(TypeError, match=r"save: can't store a dict key of type frozenset"):
        gs.save({frozenset(): 1}, io.BytesIO())
