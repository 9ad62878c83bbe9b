"""``python -m benchmarks.distributed``: data-parallel throughput over MPI.

For each workload (``mlp``, ``cnn`` of benchmarks/workloads.py) it trains with
the same global batch in two layouts of the same two cores:

* 1 process x 2 threads: the plain step, BLAS and gradstep's optimizer threads set to 2
  (and, for reference, 1 process x 1 thread);
* 2 ranks x 1 thread: ``mpirun -n 2``, each rank half of the batch, the model
  wrapped in ``DistributedDataParallel``, gradients averaged with one Allreduce
  per bucket.

It prints samples/s of each, the speed-up, and where a data-parallel step's
time goes: the share spent inside the gradient Allreduce (including waiting for
the slower rank) and the time of a bare Allreduce of the same buffer.

    python -m benchmarks.distributed                       # mlp and cnn
    python -m benchmarks.distributed --workloads mlp --seconds 2

Needs mpi4py and mpirun (``pip install "gradstep[mpi]"``). Each configuration
runs in fresh processes, since BLAS fixes its thread count when NumPy loads.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


# ------------------------------------------------------------------ one run
def worker(name: str, seconds: float, threads: int) -> dict:
    """Train workload ``name`` in this process (one rank of a job, or alone); return timings on rank 0."""
    import numpy as np

    import gradstep
    import gradstep.distributed as dist
    from gradstep.optim import set_num_threads

    from . import workloads

    set_num_threads(threads)
    world = dist.init(timeout=0)
    rank = dist.get_rank()
    gradstep.manual_seed(0)
    net = workloads.make_model(gradstep, name)
    x_np, y_np = workloads.make_data(name)  # the global batch; each rank takes its share
    x, y = gradstep.tensor(x_np[rank::world].copy()), gradstep.tensor(y_np[rank::world].copy())
    model = dist.DistributedDataParallel(net) if world > 1 else net
    opt = gradstep.optim.Adam(model.parameters(), lr=1e-3)
    F = gradstep.nn.functional

    def step():
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        if world > 1:
            model.sync_gradients()
        opt.step()
        opt.zero_grad()

    for _ in range(3):
        step()
    # calibrate on rank 0 so every rank runs the same number of steps
    t = time.perf_counter()
    for _ in range(3):
        step()
    steps = max(5, int(3 * seconds / max(time.perf_counter() - t, 1e-4)))
    steps = dist.broadcast_object(steps)
    if world > 1:
        dist.barrier()
        model.allreduce_seconds = model.sync_seconds = 0.0
    t = time.perf_counter()
    for _ in range(steps):
        step()
    elapsed = time.perf_counter() - t
    result = {"workload": name, "world": world, "threads": threads, "steps": steps, "seconds": elapsed,
              "samples_per_s": steps * len(x_np) / elapsed}
    if world > 1:
        share = dist.reduce_metrics({"allreduce": model.allreduce_seconds / elapsed,
                                     "sync": model.sync_seconds / elapsed})
        buffers = [b.buffer for b in model.buckets]
        bare = []
        for _ in range(20):
            dist.barrier()
            t = time.perf_counter()
            for buf in buffers:
                dist.comm._allreduce_flat(buf, "benchmark allreduce")
            bare.append(time.perf_counter() - t)
        result.update({"allreduce_share": share["allreduce"], "sync_share": share["sync"],
                       "buckets": len(buffers), "grad_mb": sum(b.nbytes for b in buffers) / 2**20,
                       "bare_allreduce_ms": 1e3 * float(np.median(bare))})
    return result if rank == 0 else {}


# ---------------------------------------------------------------- the driver
def _mpirun() -> str | None:
    for candidate in (Path(sys.executable).parent / "mpirun", Path(sys.executable).parent / "mpiexec"):
        if candidate.exists():
            return str(candidate)
    return shutil.which("mpirun") or shutil.which("mpiexec")


def _env(threads: int) -> dict:
    env = dict(os.environ)
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        env[var] = str(threads)
    env["PYTHONPATH"] = str(ROOT) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    return env


def _launch(prefix: list, name: str, seconds: float, threads: int) -> dict:
    cmd = prefix + [sys.executable, "-m", "benchmarks.distributed", "--worker", name,
                    "--seconds", str(seconds), "--threads", str(threads)]
    out = subprocess.run(cmd, cwd=ROOT, env=_env(threads), capture_output=True, text=True, timeout=600)
    lines = [line for line in out.stdout.splitlines() if line.startswith("{")]
    if out.returncode != 0 or not lines:
        raise RuntimeError(f"{' '.join(cmd)} failed ({out.returncode}):\n{out.stdout}\n{out.stderr}")
    return json.loads(lines[-1])


def main(argv=None) -> None:
    p = argparse.ArgumentParser(prog="python -m benchmarks.distributed", description=__doc__.split("\n")[0])
    p.add_argument("--workloads", nargs="+", default=["mlp", "cnn"], choices=["mlp", "cnn", "gpt"])
    p.add_argument("--seconds", type=float, default=3.0, help="timed seconds per configuration (about)")
    p.add_argument("--worker", metavar="WORKLOAD", help=argparse.SUPPRESS)
    p.add_argument("--threads", type=int, default=1, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.worker:
        result = worker(args.worker, args.seconds, args.threads)
        if result:
            print(json.dumps(result), flush=True)
        return
    mpirun = _mpirun()
    try:
        import mpi4py  # noqa: F401
    except ImportError:
        mpirun = None
    if mpirun is None:
        sys.exit('benchmarks.distributed: needs mpi4py and mpirun: pip install "gradstep[mpi]"')
    import platform

    import numpy

    print(f"{time.strftime('%Y-%m-%d')} · {platform.machine()} · {os.cpu_count()} cores · "
          f"Python {platform.python_version()} · NumPy {numpy.__version__} · {Path(mpirun).name} {mpirun}")
    header = (f"{'workload':<9} {'batch':>5} {'1x1 thr':>10} {'1x2 thr':>10} {'2x1 rank':>10} {'speed-up':>8} "
              f"{'step ms':>8} {'allreduce':>9} {'sync':>6} {'grads':>8} {'bare AR (of step)':>17}")
    print(header)
    print("-" * len(header))
    from .workloads import BATCH

    for name in args.workloads:
        one = _launch([], name, args.seconds, threads=1)
        single = _launch([], name, args.seconds, threads=2)
        multi = _launch([mpirun, "-n", "2"], name, args.seconds, threads=1)
        step_ms = 1e3 * multi["seconds"] / multi["steps"]
        print(f"{name:<9} {BATCH[name]:>5} {one['samples_per_s']:>8.0f}/s {single['samples_per_s']:>8.0f}/s "
              f"{multi['samples_per_s']:>8.0f}/s "
              f"{multi['samples_per_s'] / single['samples_per_s']:>7.2f}x {step_ms:>8.1f} "
              f"{100 * multi['allreduce_share']:>8.1f}% {100 * multi['sync_share']:>5.1f}% "
              f"{multi['grad_mb']:>5.1f} MB {multi['bare_allreduce_ms']:>5.2f} ms "
              f"({100 * multi['bare_allreduce_ms'] / step_ms:.1f}%)", flush=True)
    print("\n1x1 / 1x2 thr: one process, 1 or 2 BLAS and optimizer threads; speed-up: 2x1 over 1x2; 2x1 rank: mpirun -n 2, 1 thread each, half the "
          "batch per rank (samples/s of the same global batch). allreduce: share of a data-parallel step inside "
          "the gradient Allreduce (waiting for the slower rank included); sync: the whole sync_gradients (packing "
          "too); bare AR: one Allreduce of all gradient buckets after a barrier (no waiting), and its share of a step.")


if __name__ == "__main__":
    main()
