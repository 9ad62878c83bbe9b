"""Anomaly mode: stop at the first op, forward or backward, that turns finite numbers into NaN/Inf.

Like ``torch.autograd.detect_anomaly``, it is on demand and slow (every op's
result is checked), and it changes nothing outside the ``with`` block::

    with detect_anomaly(model):
        loss = F.cross_entropy(model(x), y)
        loss.backward()          # raises AnomalyError naming the op and the layer

While active it wraps :meth:`Function.apply` (the one door every primitive
goes through) and, for recorded nodes, their ``backward``; a module stack
kept by wrapping :meth:`Module.__call__` says which layer was running. The
error names the op, the layer (``named_modules`` name when ``model`` is
given), the direction, how many values went bad, the input shapes, the line
of user code that ran the op, and a fix that suits the op.
"""
from __future__ import annotations

import os
import traceback

import numpy

from ..autograd.engine import SliceGrad
from ..autograd.function import Function
from ..errors import GradstepError
from .hooks import all_finite

__all__ = ["detect_anomaly", "AnomalyError", "is_anomaly_enabled"]

_GRADSTEP_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

_FIXES = {
    "Log": "the input of log reached 0 or a negative value: add a small epsilon or clamp it (x.clamp(min=1e-12))",
    "Div": "a division by zero: add an epsilon to the denominator",
    "Sqrt": "sqrt of a negative value (or its gradient at 0): add an epsilon or clamp the input",
    "Pow": "a power of a negative base or of zero with a negative exponent: clamp the base",
    "Exp": "exp overflowed: use log-softmax / logsumexp (cross_entropy does) or a lower learning rate",
}
_DEFAULT_FIX = "a lower learning rate or gradient clipping (clip_grad_norm=1.0, --clip-grad 1); check the data for NaN"


class AnomalyError(GradstepError, FloatingPointError):
    """An op produced NaN/Inf from finite inputs; ``op``, ``layer``, ``phase``, ``where`` say which."""

    def __init__(self, message: str, op: str, layer: str | None, phase: str, where: str | None, fix: str):
        super().__init__(message)
        self.op, self.layer, self.phase, self.where, self.fix = op, layer, phase, where, fix


_state = {"depth": 0}


def is_anomaly_enabled() -> bool:
    """True inside a :func:`detect_anomaly` block."""
    return _state["depth"] > 0


def _user_line() -> str | None:
    """``file:line`` of the innermost caller outside gradstep (the user's code that ran the op)."""
    for frame in reversed(traceback.extract_stack()[:-2]):
        if not os.path.abspath(frame.filename).startswith(_GRADSTEP_DIR):
            return f"{frame.filename}:{frame.lineno}"
    return None


def _count_bad(a) -> int:
    return int(a.size - numpy.isfinite(a).sum())


class detect_anomaly:
    """Context manager (and decorator-free): raise :class:`AnomalyError` at the first non-finite result.

    Args:
        model: optional Module, to name layers by their ``named_modules`` names and
            parameters by their ``named_parameters`` names.
        check_forward, check_backward: which direction to check.
    """

    def __init__(self, model=None, check_forward: bool = True, check_backward: bool = True):
        self.model = model
        self.check_forward, self.check_backward = check_forward, check_backward
        self._saved = None

    def __enter__(self):
        from ..nn.module import Module

        names = {id(m): n or type(m).__name__ for n, m in self.model.named_modules()} if self.model else {}
        params = {id(p): n for n, p in self.model.named_parameters()} if self.model else {}
        stack: list[str] = []
        orig_apply = Function.__dict__["apply"].__func__
        orig_call = Module.__call__
        check_fwd, check_bwd = self.check_forward, self.check_backward

        def layer_name() -> str | None:
            return stack[-1] if stack else None

        def call(module, *args, **kwargs):
            stack.append(names.get(id(module), type(module).__name__))
            try:
                return orig_call(module, *args, **kwargs)
            finally:
                stack.pop()

        def apply(cls, *inputs, **params_):
            out = orig_apply(cls, *inputs, **params_)
            arr = out._data
            if check_fwd and arr.dtype.kind in "fc" and not all_finite(arr):
                _forward_anomaly(cls.__name__, inputs, arr, layer_name(), params)
            ctx = out._ctx
            if check_bwd and ctx is not None:
                ctx._anomaly_layer, ctx._anomaly_where = layer_name(), _user_line()
                ctx.backward = _checked_backward(ctx, type(ctx).backward.__get__(ctx))
            return out

        self._saved = (orig_apply, orig_call)
        Function.apply = classmethod(apply)
        Module.__call__ = call
        _state["depth"] += 1
        return self

    def __exit__(self, *exc):
        from ..nn.module import Module

        orig_apply, orig_call = self._saved
        Function.apply = classmethod(orig_apply)
        Module.__call__ = orig_call
        _state["depth"] -= 1
        return False


def _in(layer) -> str:
    return f"in layer {layer!r}" if layer else "outside any layer"


def _forward_anomaly(op: str, inputs, arr, layer, param_names) -> None:
    bad = _count_bad(arr)
    shapes = ", ".join(str(tuple(t.shape)) for t in inputs)
    where = _user_line()
    for i, t in enumerate(inputs):
        if t._data.dtype.kind in "fc" and not all_finite(t._data):
            # the NaN came in from outside any op: a parameter the optimizer broke, or the data
            name = param_names.get(id(t))
            source = f"parameter {name!r}" if name else f"input {i}"
            fix = ("an earlier optimizer step made this parameter non-finite: lower the learning rate or clip "
                   "gradients" if name else "check the data (and any values computed without gradients) for NaN/Inf")
            raise AnomalyError(
                f"anomaly: {source} of {op} (forward, {_in(layer)}) already contains "
                f"{_count_bad(t._data)} NaN/Inf values; input shapes {shapes}" + (f"; at {where}" if where else "")
                + f". Fix: {fix}", op, layer, "forward", where, fix)
    fix = _FIXES.get(op, _DEFAULT_FIX)
    raise AnomalyError(
        f"anomaly: {op} (forward, {_in(layer)}) turned finite inputs into {bad} NaN/Inf values; "
        f"input shapes {shapes}" + (f"; at {where}" if where else "") + f". Fix: {fix}",
        op, layer, "forward", where, fix)


def _checked_backward(ctx, backward):
    def checked(grad_output):
        grads = backward(grad_output)
        tup = grads if type(grads) is tuple else (grads,)
        for i, g in enumerate(tup):
            if type(g) is SliceGrad:
                g = g.values
            if g is not None and g.dtype.kind in "fc" and not all_finite(g) and all_finite(grad_output):
                op, layer, where = type(ctx).__name__, ctx._anomaly_layer, ctx._anomaly_where
                fix = _FIXES.get(op, _DEFAULT_FIX)
                raise AnomalyError(
                    f"anomaly: the backward of {op} ({_in(layer)}) turned a finite gradient into "
                    f"{_count_bad(g)} NaN/Inf values for its input {i} of shape {tuple(g.shape)}"
                    + (f"; forward ran at {where}" if where else "") + f". Fix: {fix}",
                    op, layer, "backward", where, fix)
        return grads

    return checked
