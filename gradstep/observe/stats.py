"""Statistics of one observed step, computed on raw arrays.

Every function here takes NumPy arrays and returns plain Python floats, so
the numbers can go straight into a JSON line and be checked against an
independent computation.

* Activations: mean, standard deviation, the fraction of *dead* units (a ReLU
  unit whose output is zero for every example of the batch) and the fraction
  of *saturated* outputs (tanh at ``|y| > 0.99``, sigmoid below 0.01 or above
  0.99: where their gradient is almost zero).
* Parameters: weight norm ``‖w‖``, gradient norm ``‖g‖`` and the update ratio
  ``‖Δw‖ / ‖w‖`` (``Δw`` is the change one optimizer step made).

A *unit* is one feature of a layer's output: column ``j`` of an ``(N, C)``
output, channel ``c`` of an ``(N, C, H, W)`` image (over every position),
feature ``c`` of an ``(N, T, C)`` sequence (over every token).
"""
from __future__ import annotations

import math

import numpy

__all__ = ["norm", "unit_axes", "activation_stats", "update_ratio", "ACTIVATION_KINDS", "kind_of"]

SATURATION = 0.99
"""|tanh| above this, or sigmoid below 1 - this / above this, counts as saturated."""

# which activation family a module class belongs to (by class name, so user subclasses of nn.ReLU count too)
ACTIVATION_KINDS = {
    "ReLU": "relu", "ReLU6": "relu",
    "Tanh": "tanh", "Hardtanh": "tanh",
    "Sigmoid": "sigmoid", "Hardsigmoid": "sigmoid",
}


def kind_of(module) -> str | None:
    """``"relu"``, ``"tanh"``, ``"sigmoid"`` or None for a module (looks along its class hierarchy)."""
    for cls in type(module).__mro__:
        kind = ACTIVATION_KINDS.get(cls.__name__)
        if kind is not None:
            return kind
    return None


def norm(a: numpy.ndarray) -> float:
    """The L2 norm of all elements, as a Python float.

    One BLAS dot product in the array's own precision (no float64 copy: this
    runs on every parameter of every observed step); a float32 norm is good
    to about 1e-6 relative, far more than a statistic needs.
    """
    flat = a.reshape(-1)
    if flat.dtype.kind != "f":
        flat = flat.astype(numpy.float64)
    return math.sqrt(float(numpy.dot(flat, flat)))


def unit_axes(ndim: int) -> tuple[int, ...]:
    """The axes a unit is reduced over: all but the feature axis (1 for (N, C, ...), last for (N, T, C))."""
    if ndim <= 1:
        return tuple(range(ndim))
    feature = ndim - 1 if ndim == 3 else 1
    return tuple(i for i in range(ndim) if i != feature)


def activation_stats(a: numpy.ndarray, kind: str | None = None) -> dict:
    """``{"mean", "std"}`` of an activation, plus ``"dead"`` (relu units) or ``"saturated"`` (tanh/sigmoid outputs).

    Args:
        a: a layer's output, batch first.
        kind: ``"relu"``, ``"tanh"``, ``"sigmoid"`` or None (plain statistics).
    """
    out = {"mean": float("nan"), "std": float("nan")}
    if a.size:
        flat = a.reshape(-1)
        if flat.dtype.kind != "f":
            flat = flat.astype(numpy.float64)
        mean = float(flat.sum(dtype=numpy.float64)) / flat.size
        centred = flat - flat.dtype.type(mean)  # centred first: no cancellation in the variance
        out["mean"], out["std"] = mean, math.sqrt(float(numpy.dot(centred, centred)) / flat.size)
    if kind is None or a.ndim < 2 or a.size == 0:
        return out
    axes = unit_axes(a.ndim)
    if kind == "relu":
        alive = (a > 0).any(axis=axes)
        out["dead"] = float(1.0 - alive.mean())
    elif kind == "tanh":
        out["saturated"] = float((numpy.abs(a) > SATURATION).mean())
    elif kind == "sigmoid":
        out["saturated"] = float(((a < 1.0 - SATURATION) | (a > SATURATION)).mean())
    return out


def update_ratio(before: numpy.ndarray, after: numpy.ndarray) -> float:
    """``‖after - before‖ / ‖before‖``: how much one step changed a parameter, relative to its size.

    Infinite when the parameter was all zeros and changed (a bias at its
    first step), 0 when it was zero and stayed zero.
    """
    w = norm(before)
    dw = norm(after - before)  # (the subtraction is the one allocation: Δw must be formed to be measured exactly)
    if w == 0.0:
        return 0.0 if dw == 0.0 else math.inf
    return dw / w
