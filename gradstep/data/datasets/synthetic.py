"""Generated 2-D classification problems, the same for the same seed.

Each returns a TensorDataset of float32 points ``(n, 2)`` and int64 labels
``(n,)``, shuffled, with ``classes``, ``num_classes`` and ``input_shape``.
They are small enough to train on in a second and to plot decision
boundaries of.
"""
from __future__ import annotations

import math

import numpy

from ..dataset import TensorDataset
from ...errors import InvalidArgument

__all__ = ["spirals", "moons", "circles", "xor", "blobs"]


def _check(who: str, n, noise=0.0, min_n: int = 1) -> None:
    if not isinstance(n, (int, numpy.integer)) or isinstance(n, bool) or n < min_n:
        raise InvalidArgument(f"{who}: n must be an int >= {min_n}, got {n!r}")
    if not isinstance(noise, (int, float)) or noise < 0:
        raise InvalidArgument(f"{who}: noise must be a non-negative number, got {noise!r}")


def _counts(n: int, k: int) -> list[int]:
    return [n // k + (1 if i < n % k else 0) for i in range(k)]


def _finish(x, y, rng, k: int, name: str) -> TensorDataset:
    perm = rng.permutation(len(y))
    ds = TensorDataset(numpy.ascontiguousarray(x[perm], dtype=numpy.float32), y[perm].astype(numpy.int64))
    ds.name = name
    ds.classes = [str(i) for i in range(k)]
    ds.num_classes = k
    ds.input_shape = (x.shape[1],)
    return ds


def spirals(n: int = 300, classes: int = 3, noise: float = 0.2, seed: int = 0, turns: float = 0.75) -> TensorDataset:
    """``classes`` interleaved spiral arms from the origin out to radius 1.

    Args:
        n: total points (split evenly between the arms).
        noise: standard deviation of the angle jitter, in radians.
        turns: how far each arm winds, in full turns.
    """
    _check("spirals", n, noise)
    if not isinstance(classes, int) or classes < 2:
        raise InvalidArgument(f"spirals: classes must be an int >= 2, got {classes!r}")
    rng = numpy.random.default_rng(seed)
    xs, ys = [], []
    for k, m in enumerate(_counts(n, classes)):
        r = numpy.linspace(0.05, 1.0, m)
        angle = 2 * math.pi * (k / classes + turns * r) + rng.normal(0.0, noise, m) * r
        xs.append(numpy.stack([r * numpy.cos(angle), r * numpy.sin(angle)], axis=1))
        ys.append(numpy.full(m, k))
    return _finish(numpy.concatenate(xs), numpy.concatenate(ys), rng, classes, "spirals")


def moons(n: int = 200, noise: float = 0.1, seed: int = 0) -> TensorDataset:
    """Two interleaving half circles (the upper one is class 0)."""
    _check("moons", n, noise)
    rng = numpy.random.default_rng(seed)
    m0, m1 = _counts(n, 2)
    t0, t1 = numpy.linspace(0, math.pi, m0), numpy.linspace(0, math.pi, m1)
    upper = numpy.stack([numpy.cos(t0), numpy.sin(t0)], axis=1)
    lower = numpy.stack([1 - numpy.cos(t1), 0.5 - numpy.sin(t1)], axis=1)
    x = numpy.concatenate([upper, lower]) + rng.normal(0.0, noise, (n, 2))
    y = numpy.concatenate([numpy.zeros(m0), numpy.ones(m1)])
    return _finish(x, y, rng, 2, "moons")


def circles(n: int = 200, noise: float = 0.05, factor: float = 0.5, seed: int = 0) -> TensorDataset:
    """A circle of radius 1 (class 0) around one of radius ``factor`` (class 1)."""
    _check("circles", n, noise)
    if not 0 < factor < 1:
        raise InvalidArgument(f"circles: factor must be between 0 and 1, got {factor!r}")
    rng = numpy.random.default_rng(seed)
    m0, m1 = _counts(n, 2)
    angle = rng.uniform(0, 2 * math.pi, n)
    radius = numpy.concatenate([numpy.ones(m0), numpy.full(m1, factor)])
    x = numpy.stack([radius * numpy.cos(angle), radius * numpy.sin(angle)], axis=1) + rng.normal(0.0, noise, (n, 2))
    y = numpy.concatenate([numpy.zeros(m0), numpy.ones(m1)])
    return _finish(x, y, rng, 2, "circles")


def xor(n: int = 200, noise: float = 0.0, seed: int = 0) -> TensorDataset:
    """Points uniform in ``[-1, 1]^2``; class 1 where exactly one coordinate is positive."""
    _check("xor", n, noise)
    rng = numpy.random.default_rng(seed)
    x = rng.uniform(-1, 1, (n, 2))
    y = (x[:, 0] > 0) != (x[:, 1] > 0)
    return _finish(x + rng.normal(0.0, noise, (n, 2)), y, rng, 2, "xor")


def blobs(n: int = 300, centers=3, std: float = 1.0, seed: int = 0, box: tuple = (-10.0, 10.0)) -> TensorDataset:
    """Gaussian blobs: ``centers`` clusters (an int, drawn uniformly in ``box``, or a (k, 2) array)."""
    _check("blobs", n, std)
    rng = numpy.random.default_rng(seed)
    if isinstance(centers, (int, numpy.integer)) and not isinstance(centers, bool):
        if centers < 1:
            raise InvalidArgument(f"blobs: centers must be >= 1, got {centers}")
        centers = rng.uniform(box[0], box[1], (int(centers), 2))
    centers = numpy.asarray(centers, dtype=numpy.float64)
    if centers.ndim != 2 or centers.shape[1] != 2:
        raise InvalidArgument(f"blobs: centers must be an int or a (k, 2) array, got shape {centers.shape}")
    k = centers.shape[0]
    counts = _counts(n, k)
    y = numpy.repeat(numpy.arange(k), counts)
    x = centers[y] + rng.normal(0.0, std, (n, 2))
    return _finish(x, y, rng, k, "blobs")
