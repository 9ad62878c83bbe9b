"""Metrics: running averages over the batches of an epoch.

Each metric is a small accumulator: ``update(output, target)`` with a batch's
model output and target (Tensors or arrays), ``compute()`` for the value so
far, ``reset()`` at the start of an epoch. Sums are kept as Python ints and
floats, so a metric's ``state_dict()`` is plain JSON and a resumed run reports
exactly the numbers an uninterrupted one would.

The functional forms (:func:`accuracy`, :func:`top_k_accuracy`, ...) are for
hand-written loops:

>>> import numpy as np
>>> accuracy(np.array([[0.1, 0.9], [0.8, 0.2]]), np.array([1, 1]))
0.5
"""
from __future__ import annotations

import numpy

from ..errors import ArgumentTypeError, InvalidArgument, NotSupported

__all__ = [
    "Metric", "Mean", "Accuracy", "TopKAccuracy", "MeanSquaredError", "MeanAbsoluteError",
    "accuracy", "top_k_accuracy", "mse", "mae", "get", "available",
]


def _np(x) -> numpy.ndarray:
    return x._data if hasattr(x, "_data") else numpy.asarray(x)  # a gradstep Tensor or anything array-like


def _class_scores(output: numpy.ndarray, target: numpy.ndarray, who: str) -> tuple[numpy.ndarray, numpy.ndarray]:
    """Move the class dimension last: (N, C) with (N,), (N, T, C) with (N, T), or (N, C, d...) with (N, d...)."""
    if target.dtype.kind == "f" and target.shape == output.shape:  # class probabilities -> indices
        target = target.argmax(axis=-1)
    if output.ndim != target.ndim + 1:
        raise InvalidArgument(f"{who}: output of shape {output.shape} does not fit class targets of shape {target.shape}; "
                              "expected output (N, C) for target (N,)")
    if output.shape[:-1] != target.shape:
        if output.shape[:1] + output.shape[2:] == target.shape:
            output = numpy.moveaxis(output, 1, -1)
        else:
            raise InvalidArgument(f"{who}: output of shape {output.shape} does not fit class targets of shape {target.shape}")
    return output, target


def _correct_top_k(output, target, k: int, who: str) -> tuple[int, int]:
    output, target = _class_scores(_np(output), _np(target), who)
    if k == 1:
        hits = output.argmax(axis=-1) == target
    else:
        if k > output.shape[-1]:
            raise InvalidArgument(f"{who}: k={k} is larger than the number of classes ({output.shape[-1]})")
        top = numpy.argpartition(output, -k, axis=-1)[..., -k:]
        hits = (top == target[..., None]).any(axis=-1)
    return int(hits.sum()), int(hits.size)


def accuracy(output, target) -> float:
    """Fraction of samples whose highest-scoring class is the target."""
    correct, total = _correct_top_k(output, target, 1, "accuracy")
    return correct / total if total else float("nan")


def top_k_accuracy(output, target, k: int = 5) -> float:
    """Fraction of samples whose target is among the ``k`` highest-scoring classes."""
    correct, total = _correct_top_k(output, target, k, "top_k_accuracy")
    return correct / total if total else float("nan")


def _diff(output, target, who: str) -> numpy.ndarray:
    output, target = _np(output), _np(target)
    if output.shape != target.shape:
        if output.size == target.size:  # (N, 1) vs (N,) is the usual regression mismatch
            target = target.reshape(output.shape)
        else:
            raise InvalidArgument(f"{who}: output of shape {output.shape} and target of shape {target.shape} differ")
    return output.astype(numpy.float64) - target.astype(numpy.float64)


def mse(output, target) -> float:
    """Mean squared error."""
    d = _diff(output, target, "mse")
    return float((d * d).mean())


def mae(output, target) -> float:
    """Mean absolute error."""
    return float(numpy.abs(_diff(output, target, "mae")).mean())


class Metric:
    """Base class: accumulate over batches with :meth:`update`, read with :meth:`compute`.

    Subclasses set ``name`` (the column in logs: ``val_<name>``) and keep their
    running sums in ``self.total`` and ``self.count``.
    """

    name = "metric"

    def __init__(self):
        self.reset()

    def reset(self) -> None:
        self.total = 0.0
        self.count = 0

    def update(self, output, target) -> None:
        raise NotSupported(f"{type(self).__name__}: a Metric subclass must define update(output, target)")

    def compute(self) -> float:
        return self.total / self.count if self.count else float("nan")

    def state_dict(self) -> dict:
        return {"total": self.total, "count": self.count}

    def load_state_dict(self, state: dict) -> None:
        self.total, self.count = state["total"], state["count"]

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class Mean(Metric):
    """Weighted mean of a scalar per batch (the loss): ``update(value, weight)``."""

    def __init__(self, name: str = "loss"):
        self.name = name
        super().__init__()

    def update(self, value, weight=1) -> None:
        self.total += float(value) * weight
        self.count += int(weight)


class Accuracy(Metric):
    """Top-1 classification accuracy."""

    name = "acc"

    def update(self, output, target) -> None:
        correct, n = _correct_top_k(output, target, 1, "Accuracy")
        self.total += correct
        self.count += n


class TopKAccuracy(Metric):
    """Fraction of targets among the ``k`` highest scores (``top5_acc`` for k=5)."""

    def __init__(self, k: int = 5):
        self.k = int(k)
        self.name = f"top{self.k}_acc"
        super().__init__()

    def update(self, output, target) -> None:
        correct, n = _correct_top_k(output, target, self.k, "TopKAccuracy")
        self.total += correct
        self.count += n

    def __repr__(self) -> str:
        return f"TopKAccuracy(k={self.k})"


class MeanSquaredError(Metric):
    """Mean squared error over all elements seen."""

    name = "mse"

    def update(self, output, target) -> None:
        d = _diff(output, target, "MeanSquaredError")
        self.total += float((d * d).sum())
        self.count += int(d.size)


class MeanAbsoluteError(Metric):
    """Mean absolute error over all elements seen."""

    name = "mae"

    def update(self, output, target) -> None:
        d = _diff(output, target, "MeanAbsoluteError")
        self.total += float(numpy.abs(d).sum())
        self.count += int(d.size)


_REGISTRY = {
    "accuracy": Accuracy, "acc": Accuracy,
    "mse": MeanSquaredError, "mae": MeanAbsoluteError,
    "top5": lambda: TopKAccuracy(5), "top3": lambda: TopKAccuracy(3),
}


def available() -> list[str]:
    """Names accepted by :func:`get` (plus ``topK`` for any K)."""
    return sorted(_REGISTRY)


def get(metric) -> Metric:
    """A fresh :class:`Metric` from a name (``"accuracy"``, ``"top5"``, ``"mse"``, ``"mae"``) or an instance."""
    if isinstance(metric, Metric):
        return metric
    if isinstance(metric, str):
        key = metric.lower()
        if key in _REGISTRY:
            return _REGISTRY[key]()
        if key.startswith("top") and key[3:].isdigit() and int(key[3:]) > 0:
            return TopKAccuracy(int(key[3:]))
        raise InvalidArgument(f"unknown metric {metric!r}; valid: {', '.join(available())} (or topK)")
    raise ArgumentTypeError(f"metric must be a name or a Metric, got {type(metric).__name__}")
