"""Find what depends on the batch size, by tracing at two batch sizes and comparing.

A trace freezes every Python int the forward computed (reshape targets,
slice bounds, expand sizes) at the example's batch size. Tracing again with
one more sample and comparing the two traces field by field tells, without
guessing from coincidences of sizes, which ints follow the batch: those
become :class:`Dyn` (``k * batch + c``) and are emitted as shapes computed at
run time. Anything else that differs between the traces (a constant array made
from the input's values, data-dependent control flow) becomes
:class:`Varying` and is refused by the converter that would have to freeze it.
"""
from __future__ import annotations

import numpy

from ._trace import Const, Param, Trace, Value
from .errors import ExportError


class Dyn:
    """An int that follows the batch size: ``k * batch + c`` (``value`` at the example's batch)."""

    __slots__ = ("value", "k", "c")

    def __init__(self, value: int, k: int, c: int):
        self.value, self.k, self.c = value, k, c

    def __add__(self, other: int) -> "Dyn":
        return Dyn(self.value + other, self.k, self.c + other)

    def __repr__(self) -> str:
        return f"Dyn({self.k}*batch{self.c:+d})" if self.c else f"Dyn({self.k}*batch)"


class Varying:
    """Something that differs between batch sizes in a way an ONNX graph can't express."""

    __slots__ = ("value",)

    def __init__(self, value):
        self.value = value

    def __repr__(self) -> str:
        return f"Varying({self.value!r})"


def is_dynamic(x) -> bool:
    """True when ``x`` (an int, a tuple, ...) holds a Dyn or a Varying anywhere."""
    if isinstance(x, (Dyn, Varying)):
        return True
    if isinstance(x, (tuple, list)):
        return any(is_dynamic(v) for v in x)
    if isinstance(x, dict):
        return any(is_dynamic(v) for v in x.values())
    if isinstance(x, slice):
        return any(is_dynamic(v) for v in (x.start, x.stop, x.step))
    return False


def static_value(x):
    """``x`` with every Dyn replaced by its value at the example's batch size."""
    if isinstance(x, Dyn):
        return x.value
    if isinstance(x, Varying):
        return x.value
    if isinstance(x, tuple):
        items = [static_value(v) for v in x]
        return type(x)._make(items) if hasattr(x, "_make") else tuple(items)
    if isinstance(x, list):
        return [static_value(v) for v in x]
    return x


class Filled(Const):
    """A constant of one repeated value whose shape follows the batch: ``array`` is the example's,
    ``shape`` has a Dyn where the batch size goes (the graph expands the value at run time)."""

    __slots__ = ("shape",)

    def __init__(self, array, shape: tuple):
        super().__init__(array)
        self.shape = shape

    def __repr__(self) -> str:
        return f"Filled(shape={self.shape}, dtype={self.array.dtype})"


class _Merger:
    def __init__(self, batch_a: int, batch_b: int):
        self.batch_a, self.step = batch_a, batch_b - batch_a

    def __call__(self, a, b):
        if type(a) is not type(b):
            return Varying(a)
        if isinstance(a, (bool, numpy.bool_)) or a is None:
            return a if a == b else Varying(a)
        if isinstance(a, (int, numpy.integer)):
            return a if a == b else self._dyn(int(a), int(b))
        if isinstance(a, (Value, Param)):
            return a if a == b else Varying(a)
        if isinstance(a, Const):
            same = a.array.shape == b.array.shape and a.array.dtype == b.array.dtype and numpy.array_equal(
                a.array, b.array, equal_nan=a.array.dtype.kind in "fc")
            return a if same else self._filled(a, b) or Varying(a)
        if isinstance(a, tuple):
            if len(a) != len(b):
                return Varying(a)
            items = [self(x, y) for x, y in zip(a, b)]
            return type(a)._make(items) if hasattr(a, "_make") else tuple(items)
        if isinstance(a, list):
            return [self(x, y) for x, y in zip(a, b)] if len(a) == len(b) else Varying(a)
        if isinstance(a, dict):
            return {k: self(a[k], b[k]) for k in a} if a.keys() == b.keys() else Varying(a)
        if isinstance(a, slice):
            return slice(self(a.start, b.start), self(a.stop, b.stop), self(a.step, b.step))
        try:
            return a if bool(a == b) else Varying(a)
        except (TypeError, ValueError):
            return Varying(a)

    def _filled(self, a: Const, b: Const):
        """``a`` as a Filled constant, when both hold one value throughout and only the batch changes the shape."""
        x, y = a.array, b.array
        if x.dtype != y.dtype or x.ndim != y.ndim or not x.size or not y.size:
            return None
        value = x.flat[0]
        if not ((x == value).all() and (y == value).all()):  # also refuses NaN fills
            return None
        shape = self(x.shape, y.shape)
        return None if any(isinstance(d, Varying) for d in shape) else Filled(x, shape)

    def _dyn(self, a: int, b: int):
        k, rest = divmod(b - a, self.step)
        if rest:
            return Varying(a)
        return Dyn(a, k, a - k * self.batch_a)


def merge(a: Trace, b: Trace, batch_a: int, batch_b: int) -> Trace:
    """Trace ``a`` with every batch-dependent int marked Dyn and every other difference Varying."""
    if len(a.ops) != len(b.ops) or any(x.fn is not y.fn for x, y in zip(a.ops, b.ops)):
        first = next((i for i, (x, y) in enumerate(zip(a.ops, b.ops)) if x.fn is not y.fn), min(len(a.ops), len(b.ops)))
        where = a.ops[first].where if first < len(a.ops) else ""
        raise ExportError(
            f"gradstep.onnx.export: the model runs different operations for batch sizes {batch_a} and {batch_b} "
            f"(first difference at op #{first}{f' in module {where!r}' if where else ''}): its control flow "
            f"depends on the input, which one ONNX graph can't express, or dim 0 of the input is not the batch "
            f"(e.g. a time-major (L, N, H) input of a recurrent layer: use batch_first=True); export with "
            f"dynamic_batch=False"
        )
    m = _Merger(batch_a, batch_b)
    for x, y in zip(a.ops, b.ops):
        x.inputs = m(x.inputs, y.inputs)
        x.params = m(x.params, y.params)
        x.shape = m(x.shape, y.shape)
        a.shapes[x.out] = x.shape
    for i, ((shape_a, _), (shape_b, _)) in enumerate(zip(a.inputs, b.inputs)):
        a.shapes[i] = m(shape_a, shape_b)
    a.outputs = m(a.outputs, b.outputs)
    return a
