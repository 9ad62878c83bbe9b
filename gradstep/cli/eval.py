"""``gradstep eval RUN_DIR``: the loss and metrics of a run's model on its test/validation data."""
from __future__ import annotations

__all__ = ["add_parser", "run"]


def add_parser(subparsers):
    p = subparsers.add_parser("eval", help="evaluate a run's model on its test data",
                              description="Load RUN_DIR's final model (or its newest checkpoint) and report its "
                                          "loss and metrics on the dataset's test/validation split.")
    p.add_argument("run_dir", metavar="RUN_DIR", help="a run folder made by 'gradstep train'")
    p.set_defaults(run=run)
    return p


def run(args) -> int:
    from ..train.recipe import evaluate_run

    results = evaluate_run(args.run_dir)
    width = max(len(k) for k in results)
    print(f"{args.run_dir}:")
    for k, v in results.items():
        print(f"  {k:<{width}}  {v:.4f}")
    return 0
