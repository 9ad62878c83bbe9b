"""``gradstep train``: train a model from the zoo on a dataset; a thin layer over :mod:`gradstep.train.recipe`."""
from __future__ import annotations

import math
import os
import sys

__all__ = ["add_parser", "run"]


def positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value > 0):
        import argparse

        raise argparse.ArgumentTypeError(f"must be a positive number, got {text!r}")
    return value


def non_negative_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value >= 0):
        import argparse

        raise argparse.ArgumentTypeError(f"must be a number >= 0, got {text!r}")
    return value


def _int(low: int):
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = low - 1
        if value < low:
            import argparse

            raise argparse.ArgumentTypeError(f"must be an integer >= {low}, got {text!r}")
        return value

    return parse


_TYPES = {
    "lr": positive_float, "momentum": non_negative_float, "weight_decay": non_negative_float,
    "clip_grad": non_negative_float, "epochs": _int(1), "batch_size": _int(1), "block_size": _int(1),
    "seed": _int(0), "checkpoint_every": _int(0), "log_every": _int(0), "max_steps": _int(0), "patience": _int(0),
    "observe_every": _int(0),
}
_METAVARS = {"model": "NAME", "dataset": "NAME", "optimizer": "NAME", "scheduler": "NAME", "data_path": "PATH",
             "target": "COLUMN", "lr": "LR", "momentum": "M", "weight_decay": "WD", "clip_grad": "NORM"}


def add_parser(subparsers):
    from ..data import datasets
    from .. import models
    from ..train.config import DEFAULTS, HELP, OPTIMIZERS, SCHEDULERS

    p = subparsers.add_parser(
        "train", help="train a model (default: an MLP on the bundled digits)",
        description="Train a model. With no options: the MLP on the bundled 8x8 digits with Adam (lr 1e-3); "
                    "each run gets a new folder under --out with config.toml, metrics.csv, checkpoints, "
                    "model.safetensors and summary.json. Precedence: flags > --config file > defaults.")
    names = {"models": ", ".join(models.available()), "datasets": ", ".join(datasets.available()),
             "optimizers": ", ".join(OPTIMIZERS), "schedulers": ", ".join(SCHEDULERS)}
    for key in DEFAULTS:
        p.add_argument("--" + key.replace("_", "-"), dest=key, type=_TYPES.get(key, str), default=None,
                       metavar=_METAVARS.get(key, "N"), help=HELP[key].format(**names))
    p.add_argument("--config", metavar="FILE", help="TOML file with any of the settings above (keys as the flags, "
                                                    "with underscores)")
    p.add_argument("--resume", metavar="RUN_DIR", help="continue the run in RUN_DIR exactly from its last checkpoint "
                                                       "(only --epochs/--max-steps may change)")
    p.add_argument("--out", metavar="DIR", default="runs", help="folder in which run folders are created "
                                                                "(default ./runs)")
    p.add_argument("--name", metavar="NAME", help="name of the run folder (default MODEL-DATASET-TIME; "
                                                  "never overwrites: -2, -3, ... is appended if taken)")
    p.add_argument("--threads", type=_int(1), default=None, metavar="N",
                   help="BLAS threads (default 1, unless OPENBLAS_NUM_THREADS is set: small models only lose "
                        "time to more on a busy machine)")
    p.add_argument("--distributed", action="store_true",
                   help="data-parallel training over MPI: launch with 'mpirun -n N gradstep train --distributed ...' "
                        "(needs pip install \"gradstep[mpi]\"); --batch-size is per rank; rank 0 writes the run")
    p.add_argument("--progress", choices=("auto", "bar", "line", "none"), default="auto",
                   help="progress display: bar in a terminal, a line per epoch otherwise (default auto)")
    p.add_argument("--report", action="store_true",
                   help="write RUN_DIR/report.html at the end (plots need matplotlib: pip install 'gradstep[plot]')")
    p.add_argument("--detect-anomaly", action="store_true",
                   help="stop at the first op that produces NaN/Inf and name it and its layer (slow)")
    p.set_defaults(run=run)
    return p


def _table(rows: list[tuple[str, str]]) -> str:
    width = max(len(k) for k, _ in rows)
    return "\n".join(f"  {k:<{width}}  {v}" for k, v in rows)


def run(args) -> int:
    from ..train import recipe
    from ..train.config import DEFAULTS
    from ..train.run_dir import read_toml

    if args.threads is not None or not (os.environ.get("OPENBLAS_NUM_THREADS") or os.environ.get("OMP_NUM_THREADS")):
        from ._threads import limit_blas_threads

        limit_blas_threads(args.threads or 1)
    values = {}
    if args.config:
        values.update({k.replace("-", "_"): v for k, v in read_toml(args.config).items()})
    values.update({k: getattr(args, k) for k in DEFAULTS if getattr(args, k) is not None})
    progress = False if args.progress == "none" else args.progress
    run_dir, summary = recipe.train(values, out=args.out, name=args.name, resume=args.resume, progress=progress,
                                    report=args.report, detect_anomaly=args.detect_anomaly,
                                    distributed=args.distributed)
    if args.distributed:
        from .. import distributed as dist

        if not dist.is_main_process():
            return 0
    from ..train.progress import format_seconds, format_value

    final = summary.get("final", {})
    rows = [(k, format_value(k, v)) for k, v in final.items() if k not in ("epoch", "step")]
    print()
    head = (f"{summary['model']} on {summary['dataset']}: {summary['epochs']} epochs, {summary['steps']} steps, "
            f"{summary['params']:,} parameters")
    if summary.get("resumed_step") is not None:
        done = summary["steps"] - summary["resumed_step"]
        head += (f"; resumed from step {summary['resumed_step']} (epoch {summary.get('resumed_epoch', '?')}): "
                 f"{done} steps in {format_seconds(summary['seconds'])} this session")
    else:
        head += f", {format_seconds(summary['seconds'])}"
    print(head)
    if rows:
        print(_table(rows))
    print(f"run saved to {os.path.abspath(run_dir)}")
    print("  config.toml  metrics.csv  model.safetensors  checkpoints/  summary.json"
          + ("  observations.jsonl  diagnosis.jsonl" if summary["config"].get("observe_every") else ""))
    if args.report:
        print(f"report: {os.path.join(os.path.abspath(run_dir), 'report.html')}")
    sys.stdout.flush()
    return 0
