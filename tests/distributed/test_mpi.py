"""gradstep.distributed with real ``mpirun`` processes: equivalence with one process, collectives, faults."""
import os
import signal
import textwrap
import time

import numpy as np
import pytest

HEADER = """
import json, os, sys, time
import numpy as np
import gradstep as gs
import gradstep.nn as nn
import gradstep.nn.functional as F
import gradstep.distributed as dist
from gradstep.data import DataLoader, DistributedSampler, TensorDataset
"""

# ---------------------------------------------------------------- equivalence
N, FEATURES, CLASSES, EPOCHS, SEED = 640, 20, 5, 4, 7  # 640 / 128 = 5 steps per epoch: 20 steps in 4 epochs

COMMON = f"""
N, FEATURES, CLASSES, EPOCHS, SEED = {N}, {FEATURES}, {CLASSES}, {EPOCHS}, {SEED}

def dataset():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((N, FEATURES)).astype(np.float32)
    y = rng.integers(0, CLASSES, N)
    return TensorDataset(gs.tensor(x), gs.tensor(y))

def build(seed):
    gs.manual_seed(seed)
    return nn.Sequential(nn.Linear(FEATURES, 32), nn.Tanh(), nn.Linear(32, 32), nn.ReLU(), nn.Linear(32, CLASSES))

def optimizer(name, params):
    if name == "sgd":
        return gs.optim.SGD(params, lr=0.1, momentum=0.9)
    return gs.optim.Adam(params, lr=1e-2)

def train(model, opt, loader, sync=None):
    steps = 0
    for epoch in range(EPOCHS):
        loader.set_epoch(epoch)
        for x, y in loader:
            loss = F.cross_entropy(model(x), y)
            loss.backward()
            if sync is not None:
                sync()
            opt.step()
            opt.zero_grad()
            steps += 1
    return steps
"""

EQUIVALENCE = HEADER + COMMON + """
out = sys.argv[1]
dist.init()
rank = dist.get_rank()
data = dataset()
for name in ("sgd", "adam"):
    net = build(seed=100 + rank)  # different weights on every rank: the wrapper must broadcast rank 0's
    model = dist.DistributedDataParallel(net, bucket_cap_mb=0.005)  # several buckets
    assert len(model.buckets) > 1, model.buckets
    opt = optimizer(name, model.parameters())
    loader = DataLoader(data, batch_size=64, sampler=DistributedSampler(data, seed=SEED, shuffle=True))
    steps = train(model, opt, loader, model.sync_gradients)
    assert steps == 20, steps
    np.savez(os.path.join(out, f"{name}_rank{rank}.npz"), **{k: v.numpy() for k, v in model.state_dict().items()})
print("OK", rank)
"""


def _write(tmp_path, name, source):
    path = tmp_path / name
    path.write_text(textwrap.dedent(source))
    return path


def _reference(name):
    """The same 20 steps in this process: one rank, batch 128, the same data order."""
    import gradstep as gs
    from gradstep.data import DataLoader, DistributedSampler

    scope = {}
    exec(HEADER + COMMON, scope)
    data = scope["dataset"]()
    net = scope["build"](seed=100)  # rank 0's initial weights
    opt = scope["optimizer"](name, net.parameters())
    loader = DataLoader(data, batch_size=128, sampler=DistributedSampler(data, num_replicas=1, rank=0, seed=SEED))
    assert scope["train"](net, opt, loader) == 20
    assert gs.get_default_dtype() == np.float32
    return {k: v.numpy() for k, v in net.state_dict().items()}


@pytest.fixture(scope="module")
def equivalence_run(mpi, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("ddp_equivalence")
    script = _write(tmp, "equivalence.py", EQUIVALENCE)
    result = mpi.run(2, script, tmp, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    return tmp


@pytest.mark.parametrize("opt", ["sgd", "adam"])
def test_two_ranks_of_64_equal_one_process_of_128(equivalence_run, opt):
    ref = _reference(opt)
    rank0 = dict(np.load(equivalence_run / f"{opt}_rank0.npz"))
    rank1 = dict(np.load(equivalence_run / f"{opt}_rank1.npz"))
    assert list(rank0) == list(ref)  # no "module." prefix: checkpoints interchange
    for key in ref:
        assert rank0[key].dtype == np.float32
        np.testing.assert_array_equal(rank0[key], rank1[key], err_msg=f"replicas diverged at {key}")
        np.testing.assert_allclose(rank0[key], ref[key], rtol=1e-5, atol=1e-5, err_msg=key)
    # the 20 steps really moved the weights (the comparison is not between two initial states)
    assert max(np.abs(rank0[k] - _initial()[k]).max() for k in ref) > 1e-2


def _initial():
    scope = {}
    exec(HEADER + COMMON, scope)
    return {k: v.numpy() for k, v in scope["build"](seed=100).state_dict().items()}


# ---------------------------------------------------------------- collectives
COLLECTIVES = HEADER + """
def check(cond, what):
    if not cond:
        raise AssertionError(f"rank {rank}: {what}")

size = dist.init()
rank = dist.get_rank()
check(size == 3 and dist.get_world_size() == 3 and dist.is_initialized(), "world")
check(dist.init() == 3, "init is idempotent")
check(sorted(dist.all_gather_object(rank)) == [0, 1, 2], "ranks")
check(dist.is_main_process() == (rank == 0), "main process")

# all_reduce: in place on arrays and tensors, every op, non-contiguous input, numbers
x = np.full((2, 3), float(rank), np.float32)
check(dist.all_reduce(x) is x and np.all(x == 1.0) and x.dtype == np.float32, f"mean {x}")
x = np.full(4, float(rank + 1), np.float64); dist.all_reduce(x, op="sum"); check(np.all(x == 6.0), "sum")
x = np.array([rank, -rank], np.int64); dist.all_reduce(x, op="max"); check(list(x) == [2, 0], f"max {x}")
x = np.array([rank, -rank], np.int32); dist.all_reduce(x, op="min"); check(list(x) == [0, -2], f"min {x}")
t = gs.full((3,), float(rank)); dist.all_reduce(t, op="sum"); check(np.all(t.numpy() == 3.0), "tensor")
base = np.arange(12, dtype=np.float32).reshape(3, 4) * (rank + 1)
view = base[:, ::2]; dist.all_reduce(view, op="sum")
check(np.all(base[:, ::2] == np.arange(12, dtype=np.float32).reshape(3, 4)[:, ::2] * 6), "non-contiguous")
check(np.all(base[:, 1::2] == np.arange(12, dtype=np.float32).reshape(3, 4)[:, 1::2] * (rank + 1)), "untouched")
check(dist.all_reduce(float(rank)) == 1.0 and dist.all_reduce(rank, op="sum") == 3, "numbers")
try:
    dist.all_reduce(np.zeros(2, np.int64), op="mean")
    check(False, "mean of ints must fail")
except TypeError as e:
    check("floating" in str(e), str(e))

# broadcast
x = np.full(5, float(rank), np.float32); dist.broadcast(x, root=1); check(np.all(x == 1.0), "broadcast")
check(dist.broadcast_object({"run": "r" + str(rank)}, root=2) == {"run": "r2"}, "broadcast_object")

# reduce_metrics: weighted by sample count, plain mean without it; same names required
m = dist.reduce_metrics({"loss": float(rank), "acc": gs.tensor(0.5)}, count=rank + 1)
check(list(m) == ["loss", "acc"] and abs(m["loss"] - 8 / 6) < 1e-12 and m["acc"] == 0.5, f"weighted {m}")
check(dist.reduce_metrics({"loss": float(rank)})["loss"] == 1.0, "unweighted")
try:
    dist.reduce_metrics({"loss": 1.0} if rank != 2 else {"los": 1.0})
    check(False, "mismatched metric names must fail on every rank")
except dist.DistributedError as e:
    check("rank 2" in str(e) and "los" in str(e), str(e))

# broadcast_parameters: rank 0's weights everywhere; a different architecture is named on every rank
gs.manual_seed(rank)
net = nn.Sequential(nn.Linear(4, 6), nn.BatchNorm1d(6), nn.Linear(6, 2))
net[1].running_mean.numpy()[:] = rank
dist.broadcast_parameters(net)
sums = dist.all_gather_object([float(v.numpy().astype(np.float64).sum()) for v in net.state_dict().values()])
check(sums[0] == sums[1] == sums[2], f"broadcast_parameters {sums}")
check(np.all(net[1].running_mean.numpy() == 0), "buffers broadcast too")
odd = nn.Sequential(nn.Linear(4, 6 if rank != 1 else 7), nn.Linear(6 if rank != 1 else 7, 2))
try:
    dist.broadcast_parameters(odd)
    check(False, "different architectures must fail")
except dist.DistributedError as e:
    check("0.weight" in str(e) and "rank 1" in str(e) and "(7, 4)" in str(e), str(e))

# DDP: gradients averaged exactly; unused parameters; views; buckets; buffers; state dict
class Branchy(nn.Module):
    def __init__(self):
        super().__init__()
        self.a = nn.Linear(4, 3)
        self.b = nn.Linear(4, 3)       # used on rank 0 only
        self.never = nn.Linear(4, 3)   # used nowhere
        self.frozen = nn.Linear(4, 3)
        self.frozen.requires_grad_(False)
        self.wide = nn.Parameter(gs.ones(3, dtype=gs.float64))

    def forward(self, x, use_b):
        y = self.a(x) + self.frozen(x) + self.wide.float()
        return y + self.b(x) if use_b else y

gs.manual_seed(0)
model = dist.DistributedDataParallel(Branchy(), bucket_cap_mb=1e-4)
check(all(len({p._data.dtype for p in b.params}) == 1 for b in model.buckets), "one dtype per bucket")
check(not any(n.startswith("frozen") for b in model.buckets for n in b.names), "frozen params excluded")
check("module.a.weight" not in model.state_dict() and "a.weight" in model.state_dict(), "state_dict keys")
names = [n for n, _ in model.named_parameters()]
check("a.weight" in names and not any(n.startswith("module.") for n in names), f"named_parameters {names}")
x = gs.tensor(np.random.default_rng(rank).standard_normal((5, 4)).astype(np.float32))
(model(x, use_b=(rank == 0)) ** 2).sum().backward()
local = {n: (p.grad.numpy().copy() if p.grad is not None else None) for n, p in model.named_parameters()}
everyone = dist.all_gather_object(local)
model.sync_gradients()
for n, p in model.named_parameters():
    grads = [g[n] for g in everyone if g[n] is not None]
    if not grads:
        check(p.grad is None, f"{n}: no rank had a gradient, so none after the sync")
        continue
    expect = sum(grads) / 3  # absent gradients count as zeros in the average, like PyTorch's DDP
    check(p.grad.dtype == p.dtype and np.allclose(p.grad.numpy(), expect, rtol=1e-6, atol=1e-6), n)
    check(any(np.shares_memory(p.grad.numpy(), b.buffer) for b in model.buckets), f"{n}: grad is a bucket view")
check(model.module.b.weight.grad is not None, "b gets rank 0's gradient on every rank")
# accumulating straight into the buckets (zero_grad(set_to_none=False)) and averaging again
opt = gs.optim.SGD(model.parameters(), lr=0.1)
opt.zero_grad(set_to_none=False)
model(x, use_b=True).sum().backward()
local = dist.all_gather_object(model.module.a.weight.grad.numpy().copy())
model.sync_gradients()
check(np.allclose(model.module.a.weight.grad.numpy(), sum(local) / 3, atol=1e-6), "in-bucket accumulation")
copying = dist.DistributedDataParallel(nn.Linear(4, 2), gradient_as_bucket_view=False)
copying(x).sum().backward()
copying.sync_gradients()
check(not any(np.shares_memory(copying.module.weight.grad.numpy(), b.buffer) for b in copying.buckets), "copy mode")
check(copying.syncs == 1 and copying.allreduce_seconds > 0, "timings")
# BatchNorm running stats follow rank 0 in training mode
bn_model = dist.DistributedDataParallel(nn.Sequential(nn.Linear(4, 4), nn.BatchNorm1d(4)))
bn_model.module[1].running_mean.numpy()[:] = rank
same = gs.tensor(np.ones((3, 4), np.float32))
bn_model(same)
means = dist.all_gather_object(bn_model.module[1].running_mean.numpy().copy())
check(all(np.array_equal(means[0], m) for m in means), f"running stats {means}")
plain = nn.Sequential(nn.Linear(4, 4), nn.BatchNorm1d(4))
plain.load_state_dict(bn_model.state_dict())  # interchangeable with a single-process model
bn_model.load_state_dict(plain.state_dict())

# resume under another world size is explained
dist.check_world_size(3)
try:
    dist.check_world_size(2)
    check(False, "world size mismatch must fail")
except dist.DistributedError as e:
    check("2 ranks" in str(e) and "3 ranks" in str(e) and "mpirun -n 2" in str(e), str(e))
dist.barrier()
open(os.path.join(sys.argv[1], f"ok{rank}"), "w").close()
"""


def test_collectives_and_wrapper_with_three_ranks(mpi, tmp_path):
    script = _write(tmp_path, "collectives.py", COLLECTIVES)
    result = mpi.run(3, script, tmp_path, timeout=120)
    out = result.stdout + result.stderr
    assert result.returncode == 0, out
    assert sorted(p.name for p in tmp_path.glob("ok*")) == ["ok0", "ok1", "ok2"], out


# -------------------------------------------------------------------- faults
TRAIN_LOOP = HEADER + """
out, mode = sys.argv[1], sys.argv[2]
dist.init()
rank = dist.get_rank()
with open(os.path.join(out, f"pid{rank}"), "w") as f:
    f.write(str(os.getpid()))
gs.manual_seed(0)
model = dist.DistributedDataParallel(nn.Sequential(nn.Linear(32, 64), nn.ReLU(), nn.Linear(64, 10)))
opt = gs.optim.SGD(model.parameters(), lr=0.01)
x, y = gs.randn(16, 32), gs.zeros(16, dtype=gs.int64)
step = 0
deadline = time.monotonic() + 100  # never outlive a broken test
while time.monotonic() < deadline:
    F.cross_entropy(model(x), y).backward()
    model.sync_gradients()
    opt.step()
    opt.zero_grad()
    step += 1
    if step == 10:
        if os.environ.get("LOOP_TIMEOUT"):  # a short limit only once both ranks run (slow starts are not hangs)
            dist.init(timeout=float(os.environ["LOOP_TIMEOUT"]))
        open(os.path.join(out, f"ready{rank}"), "w").close()
    if mode == "raise" and rank == 1 and step == 20:
        raise ValueError("a bad batch on rank 1")
    time.sleep(0.002)
sys.exit(3)
"""


def _run_fault(mpi, tmp_path, mode, action=None, **env):
    script = _write(tmp_path, "loop.py", TRAIN_LOOP)
    proc = mpi.start(2, script, tmp_path, mode, **env)
    pids = []
    try:
        deadline = time.monotonic() + 60
        while not all((tmp_path / f"ready{r}").exists() for r in (0, 1)):
            if action is None and proc.poll() is not None:
                break  # ended on its own (the "raise" mode may be that quick)
            assert proc.poll() is None, proc.stdout.read()
            assert time.monotonic() < deadline, "the ranks never started training"
            time.sleep(0.05)
        pids = [int(p.read_text()) for p in sorted(tmp_path.glob("pid*"))]
        start = time.monotonic()
        if action is not None:
            os.kill(int((tmp_path / "pid1").read_text()), action)
        output, _ = proc.communicate(timeout=75)
        return proc.returncode, output, time.monotonic() - start
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        for pid in pids:  # ranks started by this test that might outlive their launcher
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


def test_a_killed_rank_ends_the_job(mpi, tmp_path):
    code, output, elapsed = _run_fault(mpi, tmp_path, "loop", signal.SIGKILL)
    assert code != 0, output
    assert elapsed < 60, (elapsed, output)
    # mpich's launcher reports the killed rank; the watchdog would name it otherwise
    assert "signal 9" in output or "KILLED" in output or "stopped responding" in output, output


def test_a_hung_rank_is_named_by_the_watchdog(mpi, tmp_path):
    code, output, elapsed = _run_fault(mpi, tmp_path, "loop", signal.SIGSTOP, LOOP_TIMEOUT=2)
    assert code != 0, output
    assert "rank 1 stopped responding during gradient allreduce (2 s); aborting" in output, output
    assert "--resume" in output and "GRADSTEP_DIST_TIMEOUT" in output, output
    assert elapsed < 30, (elapsed, output)


def test_an_exception_on_one_rank_aborts_all(mpi, tmp_path):
    code, output, elapsed = _run_fault(mpi, tmp_path, "raise")
    assert code != 0, output
    assert "ValueError: a bad batch on rank 1" in output, output
    assert "rank 1/2: this rank stopped with ValueError" in output, output
    assert elapsed < 30, (elapsed, output)


BARRIERS = HEADER + """
dist.init()
rank = dist.get_rank()
if rank == 1:
    time.sleep(1.5)  # longer than the group's 0.5 s limit ...
dist.barrier(timeout=0)  # ... but this barrier may wait forever
print(f"passed the patient barrier {rank}", flush=True)
if rank == 1:
    time.sleep(30)  # now rank 1 is busy elsewhere and rank 0's next barrier gives up on it
dist.barrier()
sys.exit(0 if rank == 1 else 4)
"""


def test_barrier_limits(mpi, tmp_path):
    script = _write(tmp_path, "barriers.py", BARRIERS)
    start = time.monotonic()
    result = mpi.run(2, script, GRADSTEP_DIST_TIMEOUT=0.5, timeout=60)
    out = result.stdout + result.stderr
    assert result.returncode != 0, out
    assert "passed the patient barrier 0" in out and "passed the patient barrier 1" in out, out
    assert "rank 0/2: rank 1 stopped responding during barrier (0.5 s); aborting" in out, out
    assert time.monotonic() - start < 20, out
