"""Snapshots of what the model does on its data, saved for the report.

* :class:`BoundarySnapshots`: for 2-D inputs, the predicted class (and its
  probability) on a grid covering the data, at several moments of training.
* :func:`class_results`: for classification, the confusion matrix and up to
  ``max_examples`` misclassified examples (with the image shape when the
  inputs are images).
* :func:`generate_samples`: for language models with ``generate()`` and a
  dataset with ``encode``/``decode``, a text sample.

Everything runs in eval mode without gradients and restores the model's mode.
"""
from __future__ import annotations

import numpy

from ..autograd.grad_mode import no_grad
from ..autograd.tensor import Tensor

__all__ = ["BoundarySnapshots", "class_results", "generate_samples", "dataset_arrays", "image_shape"]

_WANTED = {0, 1, 2, 3} | {int(round(3 * 1.5 ** k)) for k in range(1, 40)}
_IMAGE_DATASETS = {"digits": (1, 8, 8), "mnist": (1, 28, 28), "fashion_mnist": (1, 28, 28), "cifar10": (3, 32, 32)}


def dataset_arrays(dataset, limit: int = 2000) -> tuple[numpy.ndarray, numpy.ndarray] | None:
    """The first ``limit`` samples of a dataset as ``(inputs, targets)`` arrays (None when it has no targets)."""
    if dataset is None:
        return None
    n = min(len(dataset), limit)
    if n == 0:
        return None
    idx = numpy.arange(n)
    if hasattr(dataset, "get_batch"):
        batch = dataset.get_batch(idx)
    else:
        items = [dataset[int(i)] for i in idx]
        if not isinstance(items[0], (tuple, list)) or len(items[0]) < 2:
            return None
        batch = tuple(numpy.stack([_np(it[j]) for it in items]) for j in range(len(items[0])))
    if not isinstance(batch, (tuple, list)) or len(batch) < 2:
        return None
    return _np(batch[0]), _np(batch[-1])


def _np(x) -> numpy.ndarray:
    return x._data if isinstance(x, Tensor) else numpy.asarray(x)


def _predict(model, x: numpy.ndarray, batch: int = 512) -> numpy.ndarray:
    was_training = model.training
    model.eval()
    try:
        with no_grad():
            outs = [model(Tensor._wrap(numpy.ascontiguousarray(x[i:i + batch])))._data for i in range(0, len(x), batch)]
    finally:
        model.train(was_training)
    return numpy.concatenate(outs) if outs else numpy.zeros((0,), numpy.float32)


def _softmax(z: numpy.ndarray) -> numpy.ndarray:
    z = z.astype(numpy.float64) - z.max(axis=-1, keepdims=True)
    e = numpy.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


def _class_probs(out: numpy.ndarray) -> numpy.ndarray | None:
    """(N, C) class probabilities from logits; a single logit is read as binary (sigmoid)."""
    if out.ndim != 2:
        return None
    if out.shape[1] == 1:
        p = 1.0 / (1.0 + numpy.exp(-out[:, 0].astype(numpy.float64)))
        return numpy.stack([1 - p, p], axis=1)
    return _softmax(out)


class BoundarySnapshots:
    """Class predictions on a ``size`` × ``size`` grid over 2-D data, taken at chosen epochs.

    Args:
        inputs, targets: the (N, 2) points and their labels (a subset is kept for the plot).
        size: grid points per axis.
    """

    def __init__(self, inputs: numpy.ndarray, targets: numpy.ndarray, size: int = 80, max_points: int = 600):
        lo, hi = inputs.min(axis=0), inputs.max(axis=0)
        pad = 0.1 * numpy.maximum(hi - lo, 1e-6)
        self.xs = numpy.linspace(lo[0] - pad[0], hi[0] + pad[0], size, dtype=numpy.float32)
        self.ys = numpy.linspace(lo[1] - pad[1], hi[1] + pad[1], size, dtype=numpy.float32)
        gx, gy = numpy.meshgrid(self.xs, self.ys)
        self.grid = numpy.stack([gx.ravel(), gy.ravel()], axis=1).astype(inputs.dtype)
        self.points = inputs[:max_points].astype(numpy.float32)
        self.labels = targets[:max_points].astype(numpy.int64)
        self.taken: dict[int, tuple[numpy.ndarray, numpy.ndarray]] = {}

    @staticmethod
    def applies(inputs: numpy.ndarray | None, targets: numpy.ndarray | None) -> bool:
        return (inputs is not None and inputs.ndim == 2 and inputs.shape[1] == 2 and inputs.dtype.kind == "f"
                and targets is not None and targets.ndim == 1 and targets.dtype.kind in "iu")

    @staticmethod
    def wanted(epoch: int) -> bool:
        """Epochs worth a snapshot: 0 (before training), 1, 2, 3, then about every 1.5x (4, 7, 10, 15, 23, ...)."""
        return epoch in _WANTED

    def take(self, model, epoch: int) -> bool:
        probs = _class_probs(_predict(model, self.grid))
        if probs is None:
            return False
        n = len(self.ys)
        self.taken[int(epoch)] = (probs.argmax(axis=1).astype(numpy.uint8).reshape(n, -1),
                                  probs.max(axis=1).astype(numpy.float32).reshape(n, -1))
        return True

    def arrays(self) -> dict:
        out = {"xs": self.xs, "ys": self.ys, "points": self.points, "labels": self.labels}
        for e, (pred, conf) in sorted(self.taken.items()):
            out[f"epoch_{e:05d}.pred"] = pred
            out[f"epoch_{e:05d}.conf"] = conf
        return out

    def load(self, arrays: dict) -> None:
        """Continue from a saved file (a resumed run)."""
        for k in arrays:
            if k.endswith(".pred"):
                e = int(k[len("epoch_"):-len(".pred")])
                self.taken[e] = (arrays[k], arrays[k[:-5] + ".conf"])


def image_shape(dataset, sample: numpy.ndarray) -> tuple | None:
    """(C, H, W) of the inputs when they are images (stored flat or not), else None."""
    if sample.ndim == 3 and sample.shape[0] in (1, 3):
        return tuple(sample.shape)
    if sample.ndim == 2 and min(sample.shape) >= 4:
        return (1, *sample.shape)
    if sample.ndim == 1:
        raw = getattr(dataset, "arrays", None)
        if raw and raw[0].ndim == 4 and int(numpy.prod(raw[0].shape[1:])) == sample.size:
            return tuple(raw[0].shape[1:])
        known = _IMAGE_DATASETS.get(str(getattr(dataset, "name", "")).lower())
        if known and int(numpy.prod(known)) == sample.size:
            return known
    return None


def class_results(model, dataset, max_examples: int = 36, limit: int = 2000) -> tuple[dict, dict] | None:
    """``(summary, arrays)``: confusion matrix and misclassified examples on ``dataset``, or None.

    ``summary`` has ``classes``, ``confusion`` (rows: true class, columns:
    predicted), ``accuracy``, ``count``, ``image_shape`` and, per kept example,
    ``index``/``label``/``pred``/``prob``; ``arrays`` has the examples' inputs.
    """
    data = dataset_arrays(dataset, limit)
    if data is None:
        return None
    x, y = data
    if y.ndim != 1 or y.dtype.kind not in "iu":
        return None
    probs = _class_probs(_predict(model, x))
    if probs is None or len(probs) != len(y):
        return None
    k = max(probs.shape[1], int(y.max()) + 1)
    pred = probs.argmax(axis=1)
    confusion = numpy.zeros((k, k), dtype=numpy.int64)
    numpy.add.at(confusion, (y, pred), 1)
    wrong = numpy.flatnonzero(pred != y)
    # the most confident mistakes first: they say the most about what the model learned
    wrong = wrong[numpy.argsort(-probs[wrong, pred[wrong]], kind="stable")][:max_examples]
    classes = getattr(dataset, "classes", None) or [str(i) for i in range(k)]
    summary = {
        "classes": [str(c) for c in classes][:k] + [str(i) for i in range(len(classes), k)],
        "confusion": confusion.tolist(), "count": int(len(y)), "accuracy": float((pred == y).mean()),
        "image_shape": image_shape(dataset, x[0]),
        "examples": [{"index": int(i), "label": int(y[i]), "pred": int(pred[i]), "prob": float(probs[i, pred[i]])}
                     for i in wrong],
    }
    return summary, {"inputs": x[wrong].astype(numpy.float32)}


def generate_samples(model, dataset, tokens: int = 120, temperature: float = 0.8) -> dict | None:
    """A text sample from a language model (``model.generate``) prompted with the dataset's first characters."""
    if not hasattr(model, "generate") or not hasattr(dataset, "decode"):
        return None
    first = dataset[0]
    prompt_ids = _np(first[0] if isinstance(first, (tuple, list)) else first).reshape(-1)[:8].astype(numpy.int64)
    from .. import backend

    was_training = model.training
    rng_state = backend.get_rng_state()  # sampling must not change the run's random stream (exact resume)
    model.eval()
    try:
        with no_grad():
            idx = Tensor._wrap(prompt_ids[None, :].copy())
            try:
                out = model.generate(idx, tokens, temperature=temperature)
            except TypeError:
                out = model.generate(idx, max_new_tokens=tokens)
    finally:
        model.train(was_training)
        backend.set_rng_state(rng_state)
    ids = _np(out).reshape(-1).tolist()
    return {"prompt": dataset.decode(prompt_ids.tolist()), "text": dataset.decode(ids), "tokens": tokens,
            "temperature": temperature}
