"""``gradstep runs``: the run folders under ./runs (or --out) with their status and final metrics."""
from __future__ import annotations

import os

__all__ = ["add_parser", "run"]

_COLUMNS = ("train_loss", "val_loss", "val_acc", "val_mae")


def add_parser(subparsers):
    p = subparsers.add_parser("runs", help="list runs with their final metrics",
                              description="List the run folders in DIR (default ./runs), oldest first. A run "
                                          "that was killed shows as 'stopped': 'gradstep train --resume RUN_DIR' "
                                          "continues it.")
    p.add_argument("--out", metavar="DIR", default="runs", help="folder holding the runs (default ./runs)")
    p.set_defaults(run=run)
    return p


def _cell(v) -> str:
    if v is None:
        return "-"
    return f"{v:.4f}" if isinstance(v, float) else str(v)


def run(args) -> int:
    from ..train.run_dir import RunError, list_runs, lock_owner, read_summary

    runs = list_runs(args.out)
    if not runs:
        print(f"no runs in {os.path.abspath(args.out)} (start one with 'gradstep train')")
        return 0
    shown = [c for c in _COLUMNS if any(c in (_summary(r).get("final") or {}) for r in runs)]
    header = ("run", "status", "model", "dataset", "epochs", "steps", *shown)
    rows = []
    for r in runs:
        try:
            s = read_summary(r)
        except RunError:
            s = {"status": "unreadable"}
        final = s.get("final") or {}
        status = s.get("status", "?")
        if status == "running" and lock_owner(r) is None:
            status = "stopped"  # killed or crashed: 'gradstep train --resume' continues it
        rows.append((os.path.basename(r), status, s.get("model", "?"), s.get("dataset", "?"),
                     _cell(s.get("epochs")), _cell(s.get("steps", s.get("step"))), *(_cell(final.get(c)) for c in shown)))
    widths = [max(len(str(x)) for x in col) for col in zip(header, *rows)]
    for row in (header, *rows):
        print("  ".join(str(x).ljust(w) for x, w in zip(row, widths)).rstrip())
    return 0


def _summary(run_dir) -> dict:
    from ..train.run_dir import RunError, read_summary

    try:
        return read_summary(run_dir)
    except RunError:
        return {}
