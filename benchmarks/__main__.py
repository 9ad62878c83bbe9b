"""``python -m benchmarks``: gradstep vs PyTorch on the reference workloads.

Prints one table: steps/s of each library (median of interleaved repeats),
the ratio gradstep / PyTorch (higher is better), peak memory of each
(measured in fresh subprocesses) and gradstep's step time over the time of
the step's GEMMs alone (1.0 = the hardware limit).

    python -m benchmarks                      # all workloads
    python -m benchmarks --workloads mlp cnn  # some
    python -m benchmarks --sweep              # mlp across batch sizes and widths
    python -m benchmarks --profile mlp        # where gradstep's step time goes

Run with OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE unset if your machine sets
them (they slow current NumPy builds): ``env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE``.
"""
from __future__ import annotations

import argparse
import os
import sys

THREADS = os.environ.get("GRADSTEP_BENCH_THREADS", "2")
for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(var, THREADS)


def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.split("\n")[0])
    p.add_argument("--workloads", nargs="+", default=["mlp", "mlp-infer", "cnn", "gpt"])
    p.add_argument("--repeats", type=int, default=5, help="interleaved repeats (median reported)")
    p.add_argument("--steps", type=int, default=50, help="timed steps per repeat")
    p.add_argument("--warmup", type=int, default=10)
    p.add_argument("--no-memory", action="store_true", help="skip the peak-memory subprocesses")
    p.add_argument("--sweep", action="store_true", help="mlp scaling sweep over batch sizes and widths")
    p.add_argument("--profile", metavar="WORKLOAD", help="split gradstep's step into phases and top ops")
    p.add_argument("--memory-probe", nargs=2, metavar=("LIB", "WORKLOAD"), help=argparse.SUPPRESS)
    args = p.parse_args(argv)

    from . import runner

    if args.memory_probe:
        print(runner.memory_probe(*args.memory_probe))
        return 0
    if args.profile:
        runner.profile(args.profile, steps=args.steps)
        return 0
    if args.sweep:
        runner.sweep(repeats=max(3, args.repeats // 2), steps=max(10, args.steps // 2))
        return 0
    runner.compare(args.workloads, repeats=args.repeats, steps=args.steps, warmup=args.warmup,
                   memory=not args.no_memory)
    return 0


if __name__ == "__main__":
    sys.exit(main())
