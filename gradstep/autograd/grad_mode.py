"""Whether operations record a graph for backpropagation (``no_grad``, ``enable_grad``)."""
from __future__ import annotations

import functools
import threading

_state = threading.local()


def is_grad_enabled() -> bool:
    """True when new operations are recorded for backward."""
    return getattr(_state, "enabled", True)


def _set(enabled: bool) -> None:
    _state.enabled = bool(enabled)


class _GradModeContext:
    """Base of the context managers below; also usable as decorators."""

    _mode: bool

    def __enter__(self):
        self._prev = is_grad_enabled()
        _set(self._mode)
        return self

    def __exit__(self, *exc):
        _set(self._prev)
        return False

    def __call__(self, fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with self.__class__():
                return fn(*args, **kwargs)

        return wrapper


class no_grad(_GradModeContext):
    """Run without recording a graph: faster, lighter, for evaluation and weight updates.

    Works as ``with gradstep.no_grad():`` and as the decorator ``@gradstep.no_grad()``.
    """

    _mode = False


class enable_grad(_GradModeContext):
    """Record a graph again inside a ``no_grad`` block."""

    _mode = True


class set_grad_enabled:
    """Turn recording on or off: as a plain call, or as a context manager."""

    def __init__(self, mode: bool):
        self._prev = is_grad_enabled()
        _set(mode)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        _set(self._prev)
        return False
