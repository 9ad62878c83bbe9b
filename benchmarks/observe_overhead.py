"""Overhead of the Observatory on the ``mlp`` reference workload (BENCHMARKS.md).

Two identical copies of the mlp step (784 → 512 → 512 → 10, batch 128, Adam
1e-3, same weights and data) run interleaved step by step: one plain, one
with ``Observatory(model, opt, every=N, run_dir=<temp>)`` (statistics,
diagnosis and the JSON-lines file, as in a real run). For each cycle of N
steps (one observed step each) the time ratio is taken; the overhead is the
median ratio minus one. The default N of the Observatory must keep it at or
below 5%.

    python -m benchmarks.observe_overhead                  # default N, plus N = 1, 5, 10, 50
    python -m benchmarks.observe_overhead --every 20 --cycles 60
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time

THREADS = os.environ.get("GRADSTEP_BENCH_THREADS", "2")
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, THREADS)


def _setup(every: int | None, run_dir: str | None):
    import gradstep
    from gradstep.nn import functional as F
    from gradstep.observe import Observatory

    from . import workloads

    gradstep.manual_seed(0)
    model = workloads.make_model(gradstep, "mlp")
    opt = gradstep.optim.Adam(model.parameters(), lr=1e-3)
    x_np, y_np = workloads.make_data("mlp")
    x, y = gradstep.tensor(x_np), gradstep.tensor(y_np)
    obs = Observatory(model, opt, every=every, run_dir=run_dir, log=False) if every else None

    def step():
        loss = F.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        if obs is not None:
            obs.step(loss)

    return step, obs


def measure(every: int, cycles: int = 30, warmup: int = 10) -> dict:
    """Overhead of observing every ``every`` steps: the median over ``cycles`` of (observed / plain) time.

    A cycle is ``every`` steps of each model, interleaved step by step (alternating which runs first), so
    both see the same machine load; it holds exactly one observed step. The median over cycles ignores
    the bursts of other processes on a shared machine.
    """
    with tempfile.TemporaryDirectory() as tmp:
        plain, _ = _setup(None, None)
        observed, obs = _setup(every, tmp)
        for _ in range(warmup):
            plain()
            observed()
        clock = time.perf_counter
        ratios, plain_ms, observed_ms = [], [], []
        for c in range(cycles):
            ta = tb = 0.0
            for i in range(every):
                if (c + i) % 2:
                    t0 = clock(); observed(); t1 = clock(); plain(); t2 = clock()  # noqa: E702
                    tb += t1 - t0
                    ta += t2 - t1
                else:
                    t0 = clock(); plain(); t1 = clock(); observed(); t2 = clock()  # noqa: E702
                    ta += t1 - t0
                    tb += t2 - t1
            ratios.append(tb / ta)
            plain_ms.append(ta / every * 1e3)
            observed_ms.append(tb / every * 1e3)
        obs.close()
    overhead = statistics.median(ratios) - 1.0
    plain = statistics.median(plain_ms)
    return {"every": every, "plain_ms": plain, "observed_ms": statistics.median(observed_ms), "overhead": overhead,
            "per_observation_ms": overhead * plain * every}


def main(argv=None) -> int:
    from gradstep.observe import DEFAULT_EVERY

    p = argparse.ArgumentParser(prog="python -m benchmarks.observe_overhead", description=__doc__.split("\n")[0])
    p.add_argument("--every", type=int, nargs="+", default=None,
                   help=f"observation intervals to measure (default: {DEFAULT_EVERY} (the default), 1, 5, 10, 50)")
    p.add_argument("--cycles", type=int, default=30, help="cycles of N steps each (the median over cycles is reported)")
    args = p.parse_args(argv)
    everies = args.every or [DEFAULT_EVERY, 1, 5, 10, 50]
    print(f"mlp workload (784-512-512-10, batch 128, Adam), {THREADS} BLAS threads, median over {args.cycles} "
          "cycles of N steps, plain and observed interleaved step by step")
    print(f"{'every':>6} {'plain ms/step':>14} {'observed ms/step':>17} {'overhead':>9} {'ms/observation':>15}")
    worst = None
    for n in everies:
        r = measure(n, args.cycles)
        mark = "  <- default" if n == DEFAULT_EVERY else ""
        print(f"{n:>6} {r['plain_ms']:>14.2f} {r['observed_ms']:>17.2f} {r['overhead']:>8.1%} "
              f"{r['per_observation_ms']:>15.2f}{mark}", flush=True)
        if n == DEFAULT_EVERY:
            worst = r["overhead"]
    if worst is not None and worst > 0.05:
        print(f"the default every={DEFAULT_EVERY} costs {worst:.1%} (> 5%): raise DEFAULT_EVERY", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
