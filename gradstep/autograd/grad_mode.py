"""Whether operations record a graph for backpropagation (``no_grad``, ``enable_grad``, ``inference_mode``)."""
from __future__ import annotations

import functools
import inspect
import threading
from ..errors import ArgumentTypeError

_state = threading.local()


def is_grad_enabled() -> bool:
    """True when new operations are recorded for backward."""
    return getattr(_state, "enabled", True)


def _set(enabled: bool) -> None:
    _state.enabled = bool(enabled)


class _GradModeContext:
    """Base of the context managers below; also usable as decorators, with or without parentheses.

    ``@no_grad`` and ``@no_grad()`` both work, as in PyTorch: called with a
    function instead of nothing, the class returns the decorated function.
    """

    _mode: bool

    def __new__(cls, orig_func=None):
        if orig_func is None:
            return super().__new__(cls)
        if not callable(orig_func):
            raise ArgumentTypeError(f"{cls.__name__}() takes no arguments (or a function to decorate), got {orig_func!r}")
        return cls()(orig_func)

    def _clone(self):
        """A fresh context of the same kind, for each call of a decorated function."""
        return type(self)()

    def __enter__(self):
        self._prev = is_grad_enabled()
        _set(self._mode)
        return self

    def __exit__(self, *exc):
        _set(self._prev)
        return False

    def __call__(self, fn):
        if inspect.isgeneratorfunction(fn):
            return self._wrap_generator(fn)

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with self._clone():
                return fn(*args, **kwargs)

        return wrapper

    def _wrap_generator(self, fn):
        """Run a generator's body in this mode each time it resumes (not while the caller holds control)."""

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            gen = fn(*args, **kwargs)
            try:
                with self._clone():
                    response = gen.send(None)
                while True:
                    try:
                        request = yield response
                    except GeneratorExit:
                        with self._clone():
                            gen.close()
                        raise
                    except BaseException as exc:
                        with self._clone():
                            response = gen.throw(exc)
                    else:
                        with self._clone():
                            response = gen.send(request)
            except StopIteration as stop:
                return stop.value

        return wrapper


class no_grad(_GradModeContext):
    """Run without recording a graph: faster, lighter, for evaluation and weight updates.

    Works as ``with gradstep.no_grad():`` and as the decorator ``@gradstep.no_grad()``
    or ``@gradstep.no_grad``.
    """

    _mode = False


class enable_grad(_GradModeContext):
    """Record a graph again inside a ``no_grad`` block."""

    _mode = True


class inference_mode(_GradModeContext):
    """``no_grad`` under PyTorch's other name: ``with gradstep.inference_mode():`` or ``@gradstep.inference_mode``.

    ``inference_mode(False)`` leaves the current mode unchanged. (gradstep has no
    separate inference tensors: tensors made here are ordinary tensors without a graph.)
    """

    def __new__(cls, mode=True):
        if callable(mode) and not isinstance(mode, bool):
            return cls()(mode)
        return object.__new__(cls)

    def __init__(self, mode: bool = True):
        self.mode = bool(mode)

    def _clone(self):
        return type(self)(self.mode)

    def __enter__(self):
        self._prev = is_grad_enabled()
        if self.mode:
            _set(False)
        return self


class set_grad_enabled:
    """Turn recording on or off: as a plain call, or as a context manager."""

    def __init__(self, mode: bool):
        self._prev = is_grad_enabled()
        self._mode = bool(mode)
        _set(mode)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        _set(self._prev)
        return False

    def __call__(self, fn):
        """As a decorator the mode applies inside ``fn`` only, so undo the switch made in __init__."""
        _set(self._prev)
        mode = self._mode

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with set_grad_enabled(mode):
                return fn(*args, **kwargs)

        return wrapper
