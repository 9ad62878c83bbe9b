"""Gradient clipping and parameter/vector conversion (``torch.nn.utils``'s functions).

>>> import gradstep as gs
>>> w = gs.tensor([3.0, 4.0], requires_grad=True)
>>> w.grad = gs.tensor([3.0, 4.0])
>>> clip_grad_norm_([w], max_norm=1.0)
tensor(5.)
>>> w.grad
tensor([0.6, 0.8])
"""
from __future__ import annotations

import math
import numbers

from ...autograd.tensor import Tensor
from ...backend import xp
from ...errors import ArgumentTypeError, GradError, InvalidArgument, ShapeError, fmt_shape

__all__ = ["clip_grad_norm_", "clip_grad_value_", "get_total_norm", "clip_grads_with_norm_",
           "parameters_to_vector", "vector_to_parameters"]


def _as_list(parameters) -> list:
    return [parameters] if isinstance(parameters, Tensor) else list(parameters)


def _check_real(fn: str, name: str, value) -> float:
    if isinstance(value, bool) or not isinstance(value, (numbers.Real, Tensor)):
        raise ArgumentTypeError(f"{fn}: {name} must be a real number, got {name}={value!r} ({type(value).__name__})")
    return float(value)


def get_total_norm(tensors, norm_type: float = 2.0, error_if_nonfinite: bool = False, foreach=None) -> Tensor:
    """The ``norm_type``-norm of all ``tensors`` together, as if concatenated into one vector.

    Args:
        tensors: a Tensor or an iterable of Tensors (typically gradients).
        norm_type: p of the p-norm; ``float('inf')`` for the max norm.
        error_if_nonfinite: raise if the norm is nan or inf.
        foreach: accepted for PyTorch compatibility; ignored.

    Returns:
        a 0-d Tensor in the tensors' dtype (0.0 when there are none).
    """
    arrays = [t._data if isinstance(t, Tensor) else xp.asarray(t) for t in _as_list(tensors)]
    p = _check_real("get_total_norm", "norm_type", norm_type)
    if not arrays:
        return Tensor._wrap(xp.asarray(0.0, dtype=xp.float32))
    dtype = arrays[0].dtype
    if p == math.inf:
        total = max((float(xp.max(xp.abs(a))) for a in arrays if a.size), default=0.0)
    elif p == -math.inf:
        total = min((float(xp.min(xp.abs(a))) for a in arrays if a.size), default=math.inf)
    elif p == 2.0:
        # vdot on the flattened array: one BLAS pass, no |g|² temporary.
        total = math.sqrt(sum(float(xp.vdot(a.ravel(), a.ravel())) for a in arrays))
    elif p == 1.0:
        total = sum(float(xp.abs(a).sum()) for a in arrays)
    elif p == 0.0:
        total = float(sum(int(xp.count_nonzero(a)) for a in arrays))
    else:
        total = sum(float((xp.abs(a) ** p).sum()) for a in arrays) ** (1.0 / p)
    if error_if_nonfinite and not math.isfinite(total):
        raise GradError(
            f"The total norm of order {norm_type} for gradients from `parameters` is non-finite, so it cannot be "
            f"clipped. To disable this error and scale the gradients by the non-finite norm anyway, set "
            f"`error_if_nonfinite=False`"
        )
    return Tensor._wrap(xp.asarray(total, dtype=dtype))


def clip_grads_with_norm_(parameters, max_norm: float, total_norm, foreach=None) -> None:
    """Scale the parameters' gradients in place by ``max_norm / (total_norm + 1e-6)`` when that is below 1."""
    max_norm = _check_real("clip_grads_with_norm_", "max_norm", max_norm)
    grads = [p.grad for p in _as_list(parameters) if p.grad is not None]
    if not grads:
        return
    total = float(total_norm)
    dtype = grads[0]._data.dtype
    # PyTorch computes the coefficient in the gradients' dtype and always multiplies (also by 1).
    coef = xp.asarray(max_norm, dtype) / (xp.asarray(total, dtype) + xp.asarray(1e-6, dtype))
    coef = min(coef, xp.asarray(1.0, dtype))
    with xp.errstate(invalid="ignore"):  # an inf gradient times 0 gives nan, as in PyTorch, without a warning
        for g in grads:
            g._data *= coef
            g._version[0] += 1


def clip_grad_norm_(parameters, max_norm: float, norm_type: float = 2.0, error_if_nonfinite: bool = False,
                    foreach=None) -> Tensor:
    """Rescale gradients in place so that their joint norm is at most ``max_norm``.

    The norm is taken over all gradients together, as if concatenated into one
    vector; parameters without a gradient are skipped.

    Args:
        parameters: a Tensor or an iterable of Tensors whose ``.grad`` is clipped.
        max_norm: the largest allowed norm.
        norm_type: p of the p-norm (default 2); ``float('inf')`` for the max norm.
        error_if_nonfinite: raise ``GradError`` if the norm is nan or inf instead of scaling by it.
        foreach: accepted for PyTorch compatibility; ignored.

    Returns:
        the total norm of the gradients before clipping, a 0-d Tensor.
    """
    params = _as_list(parameters)
    _check_real("clip_grad_norm_", "max_norm", max_norm)
    grads = [p.grad for p in params if p.grad is not None]
    total = get_total_norm(grads, norm_type, error_if_nonfinite)
    clip_grads_with_norm_(params, max_norm, total)
    return total


def clip_grad_value_(parameters, clip_value: float, foreach=None) -> None:
    """Clamp every gradient in place to ``[-clip_value, clip_value]``."""
    clip_value = _check_real("clip_grad_value_", "clip_value", clip_value)
    for p in _as_list(parameters):
        if p.grad is not None:
            xp.clip(p.grad._data, -clip_value, clip_value, out=p.grad._data)
            p.grad._version[0] += 1


def parameters_to_vector(parameters) -> Tensor:
    """All parameters flattened and concatenated into one 1-D tensor (a copy, outside the graph)."""
    arrays = [p._data.reshape(-1) for p in _as_list(parameters)]
    if not arrays:
        raise InvalidArgument("parameters_to_vector: got no parameters")
    return Tensor._wrap(xp.concatenate(arrays))


def vector_to_parameters(vec: Tensor, parameters) -> None:
    """Copy consecutive slices of the 1-D ``vec`` into the parameters (the inverse of :func:`parameters_to_vector`)."""
    if not isinstance(vec, Tensor):
        raise ArgumentTypeError(f"vector_to_parameters: expected vec to be a Tensor, but got {type(vec).__name__}")
    params = _as_list(parameters)
    need = sum(p._data.size for p in params)
    if vec._data.ndim != 1 or vec._data.size != need:
        raise ShapeError(f"vector_to_parameters: vec has shape {fmt_shape(vec.shape)}, but the parameters hold "
                         f"{need} values; expected shape ({need},)")
    start = 0
    for p in params:
        n = p._data.size
        p._data[...] = vec._data[start:start + n].reshape(p._data.shape)
        p._version[0] += 1
        start += n
