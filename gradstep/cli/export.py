"""``gradstep export RUN_DIR --format onnx``: a run's model as an ONNX file (dynamic batch)."""
from __future__ import annotations

import os

from ..errors import InvalidArgument

__all__ = ["add_parser", "run"]


def add_parser(subparsers):
    p = subparsers.add_parser("export", help="export a run's model (ONNX)",
                              description="Write RUN_DIR's model as an ONNX file with a dynamic batch dimension, "
                                          "checked with onnx.checker. Needs the onnx extra: "
                                          "pip install 'gradstep[onnx]'.")
    p.add_argument("run_dir", metavar="RUN_DIR", help="a run folder made by 'gradstep train'")
    p.add_argument("--format", choices=("onnx",), default="onnx", help="file format (default onnx)")
    p.add_argument("-o", "--output", metavar="FILE", help="where to write it (default RUN_DIR/model.onnx)")
    p.add_argument("--opset", type=int, default=None, help="ONNX opset (default: gradstep's current one)")
    p.set_defaults(run=run)
    return p


def example_input(meta: dict):
    """One example of the model's input, from what the run recorded about its data."""
    import gradstep as gs

    info, cfg = meta.get("data_info", {}), meta.get("config", {})
    if meta.get("model") == "gpt":
        return gs.zeros(1, int(info.get("block_size") or cfg.get("block_size", 64)), dtype=gs.int64)
    shape = info.get("input_shape")
    if not shape:
        raise InvalidArgument(f"export: the run does not record its input shape (model {meta.get('model')!r})")
    return gs.zeros(1, *[int(s) for s in shape])


def run(args) -> int:
    from .. import onnx
    from ..train.recipe import load_model

    model, meta = load_model(args.run_dir)
    out = args.output or os.path.join(args.run_dir, "model.onnx")
    onnx.export(model, example_input(meta), out, opset=args.opset)
    print(f"{meta['model']} exported to {os.path.abspath(out)} (ONNX, dynamic batch)")
    return 0
