"""``gradstep explain [RUN_DIR]``: one learning step on one example, told with the real numbers."""
from __future__ import annotations

import os

from ..errors import IndexOutOfRange
from .train import positive_float

__all__ = ["add_parser", "run"]


def add_parser(subparsers):
    p = subparsers.add_parser(
        "explain", help="walk through one learning step on one example, with the real numbers",
        description="Show one learning step on one example: the input, each layer's weighted sum and activation, "
                    "the softmax probabilities and the loss, the gradient arriving at each layer on the way back, "
                    "the update w <- w - lr*g for a few weights, and the loss before and after. Without RUN_DIR: "
                    "a tiny fresh network (64 -> 16 -> ReLU -> 10) on one of the bundled digits.")
    p.add_argument("run_dir", metavar="RUN_DIR", nargs="?", help="a run folder made by 'gradstep train' "
                                                                  "(default: the tiny network)")
    p.add_argument("--index", type=int, default=0, metavar="N", help="which example of the split (default 0)")
    p.add_argument("--split", choices=("train", "test"), default="train",
                   help="take the example from the training (default) or the test split")
    p.add_argument("--lr", type=positive_float, default=0.1, help="learning rate of the plain gradient-descent step "
                                                             "(default 0.1)")
    p.add_argument("--html", metavar="FILE", help="also write the explanation as an HTML page to FILE")
    p.set_defaults(run=run)
    return p


def _from_run(args):
    import numpy

    from ..observe.snapshots import image_shape
    from ..train import recipe

    model, meta = recipe.load_model(args.run_dir)
    job = recipe.build(recipe.resolve_config(meta["config"]))
    ds = (job.train_loader if args.split == "train" else job.val_loader).dataset
    if not -len(ds) <= args.index < len(ds):
        raise IndexOutOfRange(f"explain: --index {args.index} is out of range for the {args.split} split "
                              f"({len(ds)} examples)")
    x, y = ds[args.index]
    x, y = numpy.asarray(getattr(x, "_data", x))[None], numpy.asarray(getattr(y, "_data", y))[None]
    info = meta.get("data_info") or {}
    cfg = meta["config"]
    notes = [f"model: {meta['model']} from {os.path.abspath(args.run_dir)} (trained weights); example {args.index} "
             f"of the {cfg.get('dataset')} {args.split} split",
             f"(the run trained with {cfg.get('optimizer')} at lr {cfg.get('lr')}; this step is plain gradient "
             f"descent at lr {args.lr:g}; dropout is off)"]
    if hasattr(ds, "decode") and x.dtype.kind in "iu":
        notes.append(f"input text: {ds.decode(x.reshape(-1).tolist())!r}")
    classes = info.get("classes") or None
    shape = image_shape(ds, x[0]) if x.dtype.kind == "f" else None
    return model, x, y, job.loss_fn, classes, shape, notes, getattr(ds, "decode", None)


def run(args) -> int:
    from ..observe.explain import default_example, explain_step, tiny_model

    if args.run_dir:
        model, x, y, loss_fn, classes, shape, notes, decode = _from_run(args)
    else:
        model = tiny_model()
        x, y, classes = default_example(args.index, args.split)
        loss_fn, shape, decode = None, (1, 8, 8), None
        notes = [f"model: a tiny fresh network 64 -> 16 -> ReLU -> 10 (seed 0); example {args.index} of the bundled "
                 f"8x8 digits ({args.split} split)"]
    explanation = explain_step(model, x, y, lr=args.lr, loss_fn=loss_fn, classes=classes, image_shape=shape,
                               notes=notes, decode=decode)
    print(explanation, end="")
    if args.html:
        from ..interop.safetensors import atomic_write

        atomic_write(args.html, explanation.html().encode("utf-8"))
        os.chmod(args.html, 0o644)
        print(f"\nwritten to {os.path.abspath(args.html)}")
    return 0
