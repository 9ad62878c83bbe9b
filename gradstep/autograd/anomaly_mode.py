"""``autograd.detect_anomaly`` and ``autograd.set_detect_anomaly``, with PyTorch's signatures.

Both switch on gradstep's anomaly mode (:mod:`gradstep.observe.anomaly`): the
first op, forward or backward, that turns finite values into NaN/Inf raises
an ``AnomalyError`` naming the op and the line that ran it. PyTorch's
``check_nan=False`` (keep only the forward traceback of a failing backward)
checks nothing here: gradstep's errors already say where an op ran. The
observe module is imported on first use, so ``import gradstep`` stays fast.
"""
from __future__ import annotations

__all__ = ["detect_anomaly", "set_detect_anomaly", "is_anomaly_enabled"]


def is_anomaly_enabled() -> bool:
    """True while anomaly mode is on."""
    from ..observe.anomaly import is_anomaly_enabled as enabled

    return enabled()


class detect_anomaly:
    """``with autograd.detect_anomaly():`` raise at the first op that produces NaN/Inf.

    Args:
        check_nan: check results for NaN/Inf (False: do nothing, see the module docstring).
        model: optional Module whose layer and parameter names the errors use
            (gradstep's addition; ``gradstep.observe.detect_anomaly(model)`` is the same).
    """

    def __init__(self, check_nan: bool = True, *, model=None):
        self.check_nan, self.model = bool(check_nan), model
        self._mode = None

    def __enter__(self):
        if self.check_nan:
            from ..observe.anomaly import detect_anomaly as mode

            self._mode = mode(self.model)
            self._mode.__enter__()
        return self

    def __exit__(self, *exc):
        if self._mode is not None:
            self._mode.__exit__(*exc)
            self._mode = None
        return False


_switched_on = []  # the anomaly mode set_detect_anomaly(True) entered, until set_detect_anomaly(False)


class set_detect_anomaly:
    """``autograd.set_detect_anomaly(True)``: anomaly mode on from here on (False: off again).

    Also a context manager that restores the previous setting on exit. It turns off
    only what an earlier ``set_detect_anomaly(True)`` turned on, not a ``detect_anomaly`` block.
    """

    def __init__(self, mode: bool, check_nan: bool = True):
        self._prev = bool(_switched_on)
        _switch(bool(mode) and bool(check_nan))

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        _switch(self._prev)
        return False


def _switch(on: bool) -> None:
    if on and not _switched_on:
        from ..observe.anomaly import detect_anomaly as mode

        ctx = mode()
        ctx.__enter__()
        _switched_on.append(ctx)
    elif not on and _switched_on:
        _switched_on.pop().__exit__(None, None, None)
