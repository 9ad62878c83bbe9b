"""Record one forward pass as the list of primitives it ran: the exporter's tracer.

Every gradstep op goes through ``Function.apply``, so wrapping it for the
length of one forward sees the whole computation: each call becomes an
:class:`OpRecord` with the class, references to its inputs and its keyword
parameters. Inputs and array parameters are named by what they are:

* :class:`Value`: a graph input or the output of an earlier recorded op;
* :class:`Param`: a parameter or buffer of the model, by its state_dict name;
* :class:`Const`: anything else (arrays made in ``forward``: causal masks,
  ``arange`` positions, Python scalars turned into tensors).

Tensors are recognised by identity (and by the identity of their array, for
ops that take a raw array as a parameter, e.g. ``embedding``'s indices), so
the tracer keeps every object it named alive until the trace ends. In-place
ops are followed through ``Tensor._inplace``; any other in-place write into a
traced tensor is caught by its version counter when the tensor is read again.
"""
from __future__ import annotations

import contextlib
import threading
from dataclasses import dataclass, field

import numpy

from ..autograd.function import Function
from ..autograd.grad_mode import enable_grad
from .. import ops as ops_package
from ..autograd import tensor as tensor_module
from ..autograd.tensor import Tensor, result_type
from ..ops.elementwise import Cast
from .errors import ExportError

_LOCK = threading.Lock()  # Function.apply is patched process-wide: one trace at a time


@dataclass(frozen=True)
class Value:
    """A tensor computed in the trace: graph input ``i < n_inputs`` or an op's output."""

    id: int


@dataclass(frozen=True)
class Param:
    """A parameter or buffer of the model, by its state_dict name."""

    name: str


class Const:
    """A constant array made during the forward."""

    __slots__ = ("array",)

    def __init__(self, array):
        self.array = array

    def __repr__(self) -> str:
        return f"Const(shape={self.array.shape}, dtype={self.array.dtype})"


class NoGradBinary:
    """Marker for a comparison, logic or integer op (``==``, ``<``, ``&``, ``//``, ``%``) that gradstep
    computes outside ``Function.apply``; params: ``op`` (the NumPy ufunc's name) and ``dtype`` (operands')."""


class Invert:
    """Marker for ``~tensor`` (logical / bitwise not), also computed outside ``Function.apply``."""


@dataclass
class OpRecord:
    """One primitive call of the traced forward."""

    fn: type
    inputs: tuple
    params: dict
    out: int
    shape: tuple
    dtype: numpy.dtype
    where: str  # dotted path of the innermost module running, "" at top level
    hint: dict = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.fn.__name__


@dataclass
class Trace:
    """A recorded forward: inputs are values ``0..len(inputs)-1``, then one value per op."""

    inputs: list  # (shape, dtype) per graph input
    ops: list
    outputs: list  # refs of the returned tensors, in order
    shapes: dict  # value id -> shape
    dtypes: dict  # value id -> dtype
    params: dict  # state_dict name -> array


@dataclass
class _Entry:
    ref: object
    owner: Tensor | None  # the tensor whose version counter guards the ref (None: parameters)
    version: int


class _Tracer:
    def __init__(self, model):
        self.known: dict[int, _Entry] = {}
        self.alive: list = []  # objects whose id() names something: keep them from being freed and reused
        self.ops: list[OpRecord] = []
        self.shapes: dict = {}
        self.dtypes: dict = {}
        self.params: dict = {}
        self.stack: list[str] = []
        self.next_id = 0
        named = []
        if hasattr(model, "named_parameters"):
            named = list(model.named_parameters()) + list(model.named_buffers())
        for name, t in named:
            if id(t) not in self.known:
                self._bind(t, Param(name), owner=None)
                self.params[name] = t._data

    # ----------------------------------------------------------- naming
    def _bind(self, t: Tensor, ref, owner) -> None:
        version = owner._version[0] if owner is not None else 0
        for obj in (t, t._data):
            self.known[id(obj)] = _Entry(ref, owner, version)
            self.alive.append(obj)

    def _unbind(self, t: Tensor) -> None:
        for obj in (t, t._data):
            self.known.pop(id(obj), None)

    def new_value(self, t: Tensor) -> Value:
        ref = Value(self.next_id)
        self.next_id += 1
        self.shapes[ref.id] = tuple(t._data.shape)
        self.dtypes[ref.id] = t._data.dtype
        self._bind(t, ref, owner=t)
        return ref

    def _lookup(self, obj, reader: str):
        entry = self.known.get(id(obj))
        if entry is None and isinstance(obj, Tensor):
            entry = self.known.get(id(obj._data))
        if entry is None:
            return None
        if entry.owner is not None and entry.owner._version[0] != entry.version:
            raise ExportError(
                f"gradstep.onnx.export: {reader} reads a tensor that was changed in place by an operation the "
                f"exporter can't follow{self._where_text()}; use the out-of-place form (e.g. "
                f"`x = x.masked_fill(m, v)` instead of `x.masked_fill_(m, v)` under no_grad)"
            )
        return entry.ref

    def ref_of(self, t: Tensor, reader: str):
        ref = self._lookup(t, reader)
        return ref if ref is not None else Const(t._data.copy())

    def operand(self, x, dtype, reader: str):
        """A reference for an operand that may be a Tensor, an array or a Python number."""
        if isinstance(x, Tensor):
            return self.ref_of(x, reader)
        if isinstance(x, numpy.ndarray):
            return self.walk(x, reader)
        return Const(numpy.asarray(x, dtype=dtype))

    def walk(self, x, reader: str):
        """``x`` (an op parameter) with traced arrays and tensors replaced by references."""
        if isinstance(x, numpy.ndarray):
            ref = self._lookup(x, reader)
            return ref if ref is not None else Const(x.copy())
        if isinstance(x, Tensor):
            return self.ref_of(x, reader)
        if isinstance(x, tuple):
            items = [self.walk(v, reader) for v in x]
            return type(x)._make(items) if hasattr(x, "_make") else tuple(items)
        if isinstance(x, list):
            return [self.walk(v, reader) for v in x]
        if isinstance(x, dict):
            return {k: self.walk(v, reader) for k, v in x.items()}
        return x

    def where(self) -> str:
        return self.stack[-1] if self.stack else ""

    def _where_text(self) -> str:
        return f" (in module '{self.where()}')" if self.stack else ""

    # -------------------------------------------------------- recording
    def capture(self, cls, inputs, params) -> tuple:
        """References to an op's inputs and parameters, taken before it runs."""
        return tuple([self.ref_of(t, cls.__name__) for t in inputs]), self.walk(params, cls.__name__)

    def record(self, cls, captured, inputs, params, out: Tensor) -> None:
        hint = _HINTS[cls](inputs, params) if cls in _HINTS else {}
        ref = self.new_value(out)
        self.ops.append(OpRecord(cls, captured[0], captured[1], ref.id, tuple(out._data.shape), out._data.dtype,
                                 self.where(), hint))

    def rebind(self, t: Tensor, result: Tensor) -> None:
        """After ``t`` took ``result``'s values in place: ``t`` now means whatever ``result`` is."""
        ref = self._lookup(result, "in-place op")
        self._unbind(t)
        if ref is not None:
            self._bind(t, ref, owner=t)


def _max_dim_hint(inputs, params) -> dict:
    # MaxDim takes precomputed indices: whether they came from argmax or argmin isn't in its parameters.
    a, axis, keepdim = inputs[0]._data, params["axis"], params["keepdim"]
    if a.ndim == 0:
        return {"smallest": False}
    return {"smallest": not numpy.array_equal(a.argmax(axis=axis, keepdims=keepdim), params["indices"])}


from ..ops.reduce import MaxDim  # noqa: E402

_HINTS = {MaxDim: _max_dim_hint}


@contextlib.contextmanager
def _patched(tracer: _Tracer, model):
    """Route Function.apply, in-place updates and module calls through ``tracer``."""
    apply_descriptor = Function.__dict__["apply"]
    run = apply_descriptor.__func__
    inplace, fill = Tensor._inplace, Tensor.fill_

    def traced_apply(cls, *inputs, **params):
        captured = tracer.capture(cls, inputs, params)
        out = run(cls, *inputs, **params)
        tracer.record(cls, captured, inputs, params, out)
        return out

    def traced_inplace(self, op, *args):
        # Compute out of place (recorded like any op), then store into self and let self name the result.
        tracer.ref_of(self, "in-place op")  # refuse a stale tensor before reading it
        result = op(self, *args)
        self._store(result._data, op)
        tracer.rebind(self, result)
        return self

    def traced_fill(self, value):
        out = fill(self, value)
        tracer._unbind(self)  # its values no longer depend on the input: a constant from now on
        return out

    def enter(name):
        def hook(module, args):
            tracer.stack.append(name)

        return hook

    def leave(module, args, output):
        tracer.stack.pop()  # returns None: the output is left as it is

    # Ops that skip Function.apply: comparisons and integer maths, ~, casts to integer/bool dtypes.
    binary, invert, cast = tensor_module._no_grad_binary, Tensor.__invert__, ops_package.cast

    def traced_binary(ufunc, a, b, bool_out=False):
        dtype = result_type(a, b)
        refs = (tracer.operand(a, dtype, ufunc.__name__), tracer.operand(b, dtype, ufunc.__name__))
        out = binary(ufunc, a, b, bool_out)
        tracer.record(NoGradBinary, (refs, {"op": ufunc.__name__, "dtype": dtype}), (), {}, out)
        return out

    def traced_invert(self):
        refs = (tracer.ref_of(self, "~"),)
        out = invert(self)
        tracer.record(Invert, (refs, {}), (), {}, out)
        return out

    def traced_cast(input, dtype):
        out = cast(input, dtype)
        if id(out) not in tracer.known:  # the integer/bool path returns an unrecorded tensor
            tracer.record(Cast, ((tracer.ref_of(input, "cast"),), {"dtype": dtype}), (), {}, out)
        return out

    handles = []
    if hasattr(model, "named_modules"):
        for name, module in model.named_modules():
            if name:
                handles.append(module.register_forward_pre_hook(enter(name)))
                handles.append(module.register_forward_hook(leave))
    Function.apply = classmethod(traced_apply)
    Tensor._inplace, Tensor.fill_ = traced_inplace, traced_fill
    tensor_module._no_grad_binary, Tensor.__invert__, ops_package.cast = traced_binary, traced_invert, traced_cast
    try:
        yield
    finally:
        Function.apply = apply_descriptor
        Tensor._inplace, Tensor.fill_ = inplace, fill
        tensor_module._no_grad_binary, Tensor.__invert__, ops_package.cast = binary, invert, cast
        for h in handles:
            h.remove()


def _flatten_outputs(out) -> list:
    if isinstance(out, Tensor):
        return [out]
    if isinstance(out, dict):
        out = list(out.values())
    if isinstance(out, (tuple, list)):
        return [t for item in out for t in _flatten_outputs(item)]
    if out is None:
        return []
    raise ExportError(
        f"gradstep.onnx.export: the model returned a {type(out).__name__}; expected a Tensor or a tuple, list "
        f"or dict of Tensors"
    )


def trace(model, arrays) -> Trace:
    """Run ``model(*arrays)`` once (as fresh tensors) and record every primitive it calls."""
    tracer = _Tracer(model)
    inputs = []
    for a in arrays:
        t = Tensor._wrap(a.copy())
        if a.dtype.kind == "f":
            # Everything computed from a float input then needs grad, so in-place ops take the traceable path.
            t.requires_grad = True
        inputs.append(t)
    refs = [tracer.new_value(t) for t in inputs]
    with _LOCK, enable_grad(), _patched(tracer, model):
        out = model(*inputs)
    tensors = _flatten_outputs(out)
    if not tensors:
        raise ExportError("gradstep.onnx.export: the model returned no tensor")
    outputs = [tracer.ref_of(t, "the model's output") for t in tensors]
    return Trace([(tracer.shapes[r.id], tracer.dtypes[r.id]) for r in refs], tracer.ops, outputs,
                 tracer.shapes, tracer.dtypes, tracer.params)
