"""gradstep.distributed in a plain process (a world of one rank, no MPI), buckets, and bad input."""
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import gradstep as gs
import gradstep.distributed as dist
import gradstep.nn as nn
from gradstep.distributed import comm
from gradstep.distributed.buckets import make_buckets

ROOT = Path(__file__).resolve().parents[2]


def _python(code, **env):
    """Run ``code`` in a fresh interpreter with no MPI launcher variables (plus ``env``)."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("PMI_", "PMIX_", "OMPI_", "MPI_LOCAL"))}
    clean["PYTHONPATH"] = str(ROOT)
    clean.update(env)
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=clean, timeout=60)


def test_world_of_one_without_a_launcher():
    assert comm.launcher() is None or pytest.skip("pytest itself runs under an MPI launcher")
    assert dist.init() == 1 and dist.init() == 1
    assert dist.is_initialized() and dist.get_rank() == 0 and dist.get_world_size() == 1 and dist.is_main_process()
    x = np.arange(3, dtype=np.float32)
    assert dist.all_reduce(x) is x and list(x) == [0, 1, 2]
    t = gs.ones(2)
    assert dist.all_reduce(t, op="sum") is t
    assert dist.all_reduce(2.5) == 2.5 and dist.all_reduce(3, op="max") == 3
    assert dist.broadcast(x) is x and dist.broadcast_object({"a": 1}) == {"a": 1}
    assert dist.all_gather_object("me") == ["me"]
    dist.barrier()
    assert dist.reduce_metrics({"loss": gs.tensor(0.25), "acc": np.float32(0.5)}, count=10) == {"loss": 0.25, "acc": 0.5}
    dist.check_world_size(1)


def test_import_and_init_without_mpi4py():
    blocked = "import sys; sys.modules['mpi4py'] = None; sys.modules['mpi4py.MPI'] = None\n"
    ok = _python(blocked + "import gradstep.distributed as d; print(d.init(), d.get_world_size())")
    assert ok.returncode == 0 and ok.stdout.split() == ["1", "1"], ok.stderr
    launched = _python(blocked + "import gradstep.distributed as d; d.init()", PMI_RANK="1", PMI_SIZE="2")
    assert launched.returncode != 0
    assert "ImportError" in launched.stderr
    assert 'pip install "gradstep[mpi]"' in launched.stderr and "PMI_RANK=1" in launched.stderr, launched.stderr


def test_launcher_detection(monkeypatch):
    for var in comm._LAUNCHER_VARS:
        monkeypatch.delenv(var, raising=False)
    assert comm.launcher() is None
    monkeypatch.setenv("OMPI_COMM_WORLD_SIZE", "4")
    assert comm.launcher() == "OMPI_COMM_WORLD_SIZE=4"


def test_timeout_settings(monkeypatch):
    monkeypatch.delenv("GRADSTEP_DIST_TIMEOUT", raising=False)
    assert comm._timeout_from(None) == dist.DEFAULT_TIMEOUT < 60
    monkeypatch.setenv("GRADSTEP_DIST_TIMEOUT", "7.5")
    assert comm._timeout_from(None) == 7.5
    assert comm._timeout_from(0) == 0.0
    monkeypatch.setenv("GRADSTEP_DIST_TIMEOUT", "soon")
    with pytest.raises(ValueError, match="GRADSTEP_DIST_TIMEOUT must be a number of seconds, got 'soon'"):
        comm._timeout_from(None)
    with pytest.raises(ValueError, match="timeout must be a non-negative number"):
        dist.init(timeout=-1)


def test_bad_arguments_are_explained():
    with pytest.raises(ValueError, match='op must be "mean", "sum", "max" or "min", got \'avg\''):
        dist.all_reduce(np.zeros(2, np.float32), op="avg")
    with pytest.raises(TypeError, match='op="mean" needs a floating tensor, got dtype int64'):
        dist.all_reduce(np.zeros(2, np.int64))
    with pytest.raises(TypeError, match="dtype float16 is not supported"):
        dist.all_reduce(np.zeros(2, np.float16), op="sum")
    with pytest.raises(TypeError, match="expected a gradstep Tensor or a NumPy array, got list"):
        dist.all_reduce([1.0, 2.0])
    with pytest.raises(ValueError, match=r"barrier: timeout must be a non-negative number of seconds"):
        dist.barrier(timeout=-1)
    with pytest.raises(ValueError, match=r"root must be a rank in \[0, 0\], got 1"):
        dist.broadcast(np.zeros(2), root=1)
    with pytest.raises(TypeError, match="metric 'name' must be a number or a one-element tensor, got str"):
        dist.reduce_metrics({"name": "resnet"})
    with pytest.raises(ValueError, match="count must be a non-negative number of samples"):
        dist.reduce_metrics({"loss": 1.0}, count=-3)
    with pytest.raises(TypeError, match="expected a dict of metrics"):
        dist.reduce_metrics([1.0])
    with pytest.raises(dist.DistributedError) as err:
        dist.check_world_size(4)
    msg = str(err.value)
    assert "4 ranks" in msg and "a single process" in msg and "mpirun -n 4" in msg
    assert isinstance(err.value, RuntimeError) and isinstance(err.value, gs.GradstepError)
    with pytest.raises(ValueError, match="saved world size must be a positive int"):
        dist.check_world_size(0)


def _mlp():
    gs.manual_seed(0)
    return nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3))


def test_wrapper_in_a_world_of_one():
    net = _mlp()
    model = dist.DistributedDataParallel(net)
    assert model.module is net and list(model.parameters()) == list(net.parameters())
    assert list(model.state_dict()) == list(net.state_dict()) == ["0.weight", "0.bias", "2.weight", "2.bias"]
    x = gs.randn(5, 4)
    np.testing.assert_array_equal(model(x).detach().numpy(), net(x).detach().numpy())
    net(x).sum().backward()
    grads = [p.grad for p in net.parameters()]
    model.sync_gradients()  # nothing to average: the gradients stay as they are
    assert [p.grad for p in net.parameters()] == grads and model.syncs == 0
    other = _mlp()
    other.load_state_dict(model.state_dict())
    model.load_state_dict(other.state_dict(), assign=True)
    assert "world_size=1" in repr(model)
    model.eval()
    assert not net.training


def test_wrapper_rejects_bad_arguments():
    with pytest.raises(TypeError, match="expected a gradstep.nn.Module, got list"):
        dist.DistributedDataParallel([1, 2])
    model = dist.DistributedDataParallel(_mlp())
    with pytest.raises(TypeError, match="already wrapped"):
        dist.DistributedDataParallel(model)
    with pytest.raises(ValueError, match="bucket_cap_mb must be a positive number, got 0"):
        dist.DistributedDataParallel(_mlp(), bucket_cap_mb=0)


def test_buckets_split_by_cap_and_dtype():
    w = [("a", nn.Parameter(gs.zeros(10))), ("b", nn.Parameter(gs.zeros(10))),
         ("c", nn.Parameter(gs.zeros(3, dtype=gs.float64))), ("d", nn.Parameter(gs.zeros(30))),
         ("e", nn.Parameter(gs.zeros(2)))]
    buckets = make_buckets(w, cap_bytes=80)  # 20 float32 fit; a 30-element parameter gets its own bucket
    assert [b.names for b in buckets] == [["a", "b"], ["d"], ["e"], ["c"]]
    assert [b.dtype for b in buckets] == [np.float32, np.float32, np.float32, np.float64]
    for b in buckets:
        assert b.buffer.flags.c_contiguous and b.buffer.size == b.numel + len(b.params)
        for p, view in zip(b.params, b.views):
            assert view.shape == p.shape and np.shares_memory(view, b.buffer)
    assert len(make_buckets(w, cap_bytes=1 << 20)) == 2  # one per dtype


def test_bucket_gather_and_scatter():
    """What one rank puts into the buffer before the Allreduce and takes out after it."""
    params = [("w", nn.Parameter(gs.zeros(2, 3))), ("b", nn.Parameter(gs.zeros(3))), ("u", nn.Parameter(gs.zeros(2)))]
    (bucket,) = make_buckets(params, 1 << 20)
    w, b, u = (p for _, p in params)
    w.grad = gs.full((2, 3), 4.0)
    b.grad = gs.tensor([2.0, 4.0, 6.0])
    bucket.gather(np.float32(0.5))
    np.testing.assert_array_equal(bucket.buffer, [2] * 6 + [1, 2, 3] + [0, 0] + [0.5, 0.5, 0])
    bucket.scatter(as_view=True)  # (here the "sum over ranks" is this rank alone)
    assert u.grad is None, "no rank had a gradient: it stays None"
    assert np.shares_memory(w.grad.numpy(), bucket.buffer) and w.grad.dtype == np.float32
    w.grad._data += 1.0  # backward accumulating straight into the bucket: gathered in place, no copy
    bucket.gather(np.float32(0.5))
    np.testing.assert_array_equal(bucket.views[0], np.full((2, 3), 1.5))
    with pytest.raises(ValueError, match=r"assigned grad has shape \(4,\) but the tensor has shape \(3,\)"):
        b.grad = gs.zeros(4)  # refused at the assignment, before any bucket sees it
    b._grad = gs.zeros(4)  # (forced past the check: the bucket still names the culprit)
    with pytest.raises(ValueError, match=r"parameter 'b' of shape \(3,\) has a gradient of shape \(4,\)"):
        bucket.gather(np.float32(0.5))
    b.grad = gs.ones(3)
    bucket.gather(np.float32(1.0))
    kept = b.grad
    bucket.scatter(as_view=False)  # copy mode: the gradient arrays stay the caller's own
    assert b.grad is kept and not np.shares_memory(b.grad.numpy(), bucket.buffer)
