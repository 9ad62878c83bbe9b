"""``gradcheck``: compare a function's backward with central finite differences.

Like ``torch.autograd.gradcheck``: run it in float64 on small inputs. For a
random projection ``v`` of the output it compares the analytical
vector-Jacobian product ``v^T J`` with the numerical one, element by element
for small inputs (so a failure names the input and the element) and along a
few random directions for large ones.
"""
from __future__ import annotations

import numpy

from ..autograd.grad_mode import no_grad
from ..autograd.tensor import Tensor
from ..errors import GradError


def _scalar(fn, inputs, v):
    with no_grad():
        out = fn(*inputs)
    outs = out if isinstance(out, (tuple, list)) else (out,)
    return sum(float((o._data.astype(numpy.float64) * w).sum()) for o, w in zip(outs, v) if w is not None)


def gradcheck(fn, inputs, *, eps: float = 1e-6, atol: float = 1e-5, rtol: float = 1e-3,
              seed: int = 0, max_elements: int = 256, raise_exception: bool = True) -> bool:
    """Check ``fn``'s gradients with respect to every input that requires grad.

    Args:
        fn: function of tensors returning a tensor (or a tuple of tensors).
        inputs: a tensor or a tuple of tensors; float64 recommended.
        eps: finite-difference step.
        atol, rtol: tolerance on ``|analytical - numerical|``.
        max_elements: inputs larger than this are checked along 8 random
            directions instead of element by element.

    Returns:
        True when every gradient matches; otherwise raises :class:`GradError`
        naming the input, the element and both values (or returns False when
        ``raise_exception=False``).
    """
    if isinstance(inputs, Tensor):
        inputs = (inputs,)
    inputs = tuple(inputs)
    rng = numpy.random.default_rng(seed)
    for t in inputs:
        if isinstance(t, Tensor) and t.requires_grad and t.dtype != numpy.float64:
            import warnings

            warnings.warn(f"gradcheck: input of dtype {t.dtype} is not float64; finite differences will be imprecise")

    out = fn(*inputs)
    outs = out if isinstance(out, (tuple, list)) else (out,)
    v = [rng.standard_normal(o.shape) if (isinstance(o, Tensor) and o.requires_grad) else None for o in outs]
    if all(w is None for w in v):
        raise GradError("gradcheck: no output requires grad; did any input have requires_grad=True?")
    for t in inputs:
        if isinstance(t, Tensor):
            t.grad = None
    total = None
    for o, w in zip(outs, v):
        if w is not None:
            term = (o * Tensor(w, dtype=o.dtype)).sum()
            total = term if total is None else total + term
    total.backward()

    for k, t in enumerate(inputs):
        if not (isinstance(t, Tensor) and t.requires_grad):
            continue
        analytical = numpy.zeros(t.shape) if t.grad is None else t.grad._data.astype(numpy.float64)
        flat = t._data.reshape(-1)  # a view: perturb in place
        if t._data.size <= max_elements:
            directions = [None] * t._data.size
        else:
            directions = [rng.standard_normal(t._data.size) for _ in range(8)]
        for j, d in enumerate(directions):
            saved = flat.copy()
            if d is None:
                flat[j] = saved[j] + eps
                plus = _scalar(fn, inputs, v)
                flat[j] = saved[j] - eps
                minus = _scalar(fn, inputs, v)
                expected = analytical.reshape(-1)[j]
                where = f"element {numpy.unravel_index(j, t.shape) if t.ndim else ()}"
            else:
                flat[:] = saved + eps * d
                plus = _scalar(fn, inputs, v)
                flat[:] = saved - eps * d
                minus = _scalar(fn, inputs, v)
                expected = float(analytical.reshape(-1) @ d)
                where = f"random direction {j}"
            flat[:] = saved
            numerical = (plus - minus) / (2 * eps)
            if not abs(numerical - expected) <= atol + rtol * abs(numerical):
                if not raise_exception:
                    return False
                raise GradError(
                    f"gradcheck: gradient mismatch for input {k} (shape {tuple(t.shape)}), {where}: "
                    f"analytical {expected:.8g}, numerical {numerical:.8g}"
                )
    return True
