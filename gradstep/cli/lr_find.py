"""``gradstep lr-find``: the learning-rate range test, a plot of loss against lr, and a suggested rate."""
from __future__ import annotations

import os
import sys

from ..errors import InvalidArgument, PathNotFound

__all__ = ["add_parser", "run"]

_SETTINGS = ("model", "dataset", "data_path", "target", "optimizer", "batch_size", "momentum", "weight_decay", "seed",
             "block_size")


def add_parser(subparsers):
    p = subparsers.add_parser(
        "lr-find", help="find a good learning rate with a range test",
        description="Train a fresh model for a few hundred steps while the learning rate grows exponentially "
                    "from --start to --end, record the loss, and suggest the rate where the loss falls fastest. "
                    "The model and data are those of RUN_DIR's config, or of the flags (same as 'gradstep "
                    "train'; default: the MLP on digits with Adam). Nothing is trained for real.")
    p.add_argument("run_dir", metavar="RUN_DIR", nargs="?", help="take model, data and optimizer from this run's "
                                                                  "config.toml")
    for key, meta in (("model", "NAME"), ("dataset", "NAME"), ("data_path", "PATH"), ("target", "COLUMN"),
                      ("optimizer", "NAME")):
        p.add_argument("--" + key.replace("_", "-"), dest=key, metavar=meta, help="as for 'gradstep train'")
    for key in ("batch_size", "seed", "block_size"):
        p.add_argument("--" + key.replace("_", "-"), dest=key, type=int, metavar="N", help="as for 'gradstep train'")
    for key in ("momentum", "weight_decay"):
        p.add_argument("--" + key.replace("_", "-"), dest=key, type=float, metavar="X", help="as for 'gradstep train'")
    p.add_argument("--start", type=float, default=1e-7, metavar="LR", help="first learning rate (default 1e-7)")
    p.add_argument("--end", type=float, default=10.0, metavar="LR", help="last learning rate (default 10)")
    p.add_argument("--steps", type=int, default=200, metavar="N", help="number of steps (default 200)")
    p.add_argument("--plot", metavar="FILE", help="where to save the plot (default RUN_DIR/lr_find.png, or "
                                                  "./lr_find.png without RUN_DIR)")
    p.add_argument("--no-plot", action="store_true", help="print the table only")
    p.set_defaults(run=run)
    return p


def run(args) -> int:
    import base64

    from ..observe import plots
    from ..observe.lr_finder import lr_find
    from ..train import recipe
    from ..train.run_dir import read_toml

    if not (0 < args.start < args.end):
        raise InvalidArgument(f"lr-find: need 0 < --start < --end, got --start {args.start} --end {args.end}")
    values = {}
    if args.run_dir:
        path = os.path.join(args.run_dir, "config.toml")
        if not os.path.isfile(path):
            raise PathNotFound(f"{args.run_dir}: not a run folder (no config.toml)")
        values.update({k: v for k, v in read_toml(path).items() if k in _SETTINGS})
    values.update({k: getattr(args, k) for k in _SETTINGS if getattr(args, k) is not None})
    cfg = recipe.resolve_config(values)
    job = recipe.build(cfg)
    print(f"lr range test: {cfg['model']} on {cfg['dataset']} with {cfg['optimizer']}, batch {cfg['batch_size']}, "
          f"{args.steps} steps from {args.start:g} to {args.end:g}")
    result = lr_find(job.model, job.optimizer, job.train_loader, job.loss_fn, start_lr=args.start,
                     end_lr=args.end, steps=args.steps)
    print(result.table())
    if args.no_plot:
        return 0
    png = result.plot()
    if png is None:
        print(f"note: no plot without matplotlib; {plots.INSTALL_HINT}", file=sys.stderr)
        return 0
    out = args.plot or os.path.join(args.run_dir or ".", "lr_find.png")
    with open(out, "wb") as f:
        f.write(base64.b64decode(png))
    print(f"plot written to {os.path.abspath(out)}")
    return 0
