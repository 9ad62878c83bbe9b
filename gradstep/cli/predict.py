"""``gradstep predict RUN_DIR INPUT``: run a trained model on an image, an .npy array, or (gpt) a prompt."""
from __future__ import annotations

import os

import numpy

from ..errors import InvalidArgument, PathNotFound, fmt_shape

__all__ = ["add_parser", "run"]


def add_parser(subparsers):
    p = subparsers.add_parser(
        "predict", help="predict with a run's model (image, .npy array, or a prompt for gpt)",
        description="Classify an image (PNG/PGM/PPM) or the samples of an .npy array with RUN_DIR's model, "
                    "or, for a gpt run, continue a prompt string.")
    p.add_argument("run_dir", metavar="RUN_DIR", help="a run folder made by 'gradstep train'")
    p.add_argument("input", metavar="INPUT", help="an .npy file (one sample or a batch), an image file, "
                                                  "or for gpt the prompt text")
    p.add_argument("--top", type=int, default=3, metavar="K", help="classes to show per sample (default 3)")
    p.add_argument("--max-new-tokens", type=int, default=200, metavar="N", help="gpt: characters to generate")
    p.add_argument("--temperature", type=float, default=0.8, metavar="T", help="gpt: sampling temperature "
                                                                              "(0: always the most likely)")
    p.add_argument("--top-k", type=int, default=None, metavar="K", help="gpt: sample among the K most likely only")
    p.add_argument("--seed", type=int, default=0, help="gpt: random seed of the sampling")
    p.set_defaults(run=run)
    return p


def _image_shape(shape: tuple):
    """``(C, H, W)`` of the images behind a model input shape (flat ones too, e.g. 64 -> 1x8x8), or None."""
    if len(shape) == 3:
        return shape
    n = int(numpy.prod(shape))
    for c in (1, 3):
        side = int(round((n // c) ** 0.5))
        if n % c == 0 and side * side * c == n and side > 1:
            return (c, side, side)
    return None


def _inputs(path: str, input_shape) -> numpy.ndarray:
    shape = tuple(input_shape)
    if path.lower().endswith(".npy"):
        try:
            arr = numpy.load(path, allow_pickle=False)
        except FileNotFoundError:
            raise PathNotFound(f"predict: no such file: {path}") from None
        except IsADirectoryError:
            raise InvalidArgument(f"predict: {path} is a directory, expected an .npy file") from None
        except ValueError as e:
            raise InvalidArgument(f"{path}: not a numeric .npy array ({e})") from None
        if arr.dtype.kind not in "biuf":
            raise InvalidArgument(f"{path}: expected a numeric array, got dtype {arr.dtype}")
        arr = arr.astype(numpy.float32)
        size = int(numpy.prod(shape))
        image = _image_shape(shape)
        # A channels-last colour image (H, W, C) is made channels-first, the layout the model was trained on.
        hwc = (image[1], image[2], image[0]) if image and image[0] > 1 else None
        if arr.size == size:  # one sample: flat, (H, W), (C, H, W), (H, W, C), or a batch of one
            if hwc and arr.shape[-3:] == hwc:
                arr = numpy.moveaxis(arr, -1, -3)
            return arr.reshape((1,) + shape)
        if arr.ndim >= 2 and int(numpy.prod(arr.shape[1:])) == size:
            if hwc and arr.shape[1:] == hwc:
                arr = numpy.moveaxis(arr, -1, 1)
            return arr.reshape((arr.shape[0],) + shape)
        one = fmt_shape(shape)
        if image and len(shape) != 3:
            c, h, w = image
            one += f" (or one {h}x{w} image: ({h}, {w})" + (f" or ({h}, {w}, {c})" if c > 1 else "") + ")"
        raise InvalidArgument(f"{path}: array of shape {fmt_shape(arr.shape)} fits neither one sample {one} "
                              f"nor a batch (N, {', '.join(map(str, shape))})")
    from .images import read_image, to_model_input

    if not os.path.exists(path):
        raise PathNotFound(f"predict: no such file: {path}")
    return to_model_input(read_image(path), shape)[None]


def run(args) -> int:
    from .. import backend
    from ..autograd.grad_mode import no_grad
    from ..autograd.tensor import Tensor
    from ..train.recipe import load_model

    model, meta = load_model(args.run_dir)
    info = meta["data_info"]
    if info.get("task") == "lm":
        vocab = info["vocab"]
        stoi = {c: i for i, c in enumerate(vocab)}
        bad = sorted({c for c in args.input if c not in stoi})
        if bad:
            raise InvalidArgument(f"the prompt has characters the model never saw: {''.join(bad)!r}")
        if not args.input:
            raise InvalidArgument("the prompt is empty")
        backend.manual_seed(args.seed)
        ids = numpy.array([[stoi[c] for c in args.input]], dtype=numpy.int64)
        out = model.generate(Tensor._wrap(ids), args.max_new_tokens, temperature=args.temperature, top_k=args.top_k)
        print("".join(vocab[i] for i in out._data[0].tolist()))
        return 0
    x = _inputs(args.input, info["input_shape"])
    with no_grad():
        out = model(Tensor._wrap(x))._data.astype(numpy.float64)
    if info.get("task") == "regression":
        for i, row in enumerate(out):
            print(f"sample {i}: " + " ".join(f"{v:.6g}" for v in row.reshape(-1)))
        return 0
    classes = info.get("classes") or [str(i) for i in range(out.shape[-1])]
    probs = numpy.exp(out - out.max(axis=-1, keepdims=True))
    probs /= probs.sum(axis=-1, keepdims=True)
    k = max(1, min(args.top, probs.shape[-1]))
    for i, p in enumerate(probs):
        order = numpy.argsort(-p)[:k]
        alts = ", ".join(f"{classes[j]} {p[j]:.3f}" for j in order)
        prefix = f"sample {i}: " if len(probs) > 1 else ""
        print(f"{prefix}predicted {classes[order[0]]} (p={p[order[0]]:.3f}); top {k}: {alts}")
    return 0
