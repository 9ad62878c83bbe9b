"""``GraphBuilder``: the ONNX graph under construction, and the helpers converters write with.

A converter (see ``_registry.py``) gets the builder and one :class:`OpRecord`
and returns the name of the ONNX value holding the op's result. It reads its
inputs with ``g.input(i)`` / ``g.ref(param)``, adds nodes with ``g.node``, and
makes constants with ``g.const`` / ``g.scalar`` / ``g.ints`` (``ints`` turns
batch-dependent sizes into shapes computed at run time). ``g.fail`` raises an
error that names the op and the module it ran in.
"""
from __future__ import annotations

import hashlib
import itertools

import numpy

from ._batch import Dyn, Filled, Varying, is_dynamic
from ._trace import Const, Param, Value
from .errors import ExportError

INT64_MAX = numpy.iinfo(numpy.int64).max
INT64_MIN = numpy.iinfo(numpy.int64).min


class GraphBuilder:
    def __init__(self, onnx, trace, opset: int, input_names: list):
        self.onnx, self.helper = onnx, onnx.helper
        self.trace, self.opset = trace, opset
        self.nodes: list = []
        self.initializers: dict = {}  # name -> TensorProto
        self.names: dict = dict(enumerate(input_names))  # value id -> ONNX name
        self._consts: dict = {}  # content key -> initializer name
        self._counter = itertools.count()
        self._batch = None
        self.op = None  # the OpRecord being converted, for error messages

    # ------------------------------------------------------------ errors
    def fail(self, message: str, cls=ExportError):
        op = self.op
        where = f" in module '{op.where}'" if op is not None and op.where else ""
        name = op.name if op is not None else "export"
        raise cls(f"gradstep.onnx.export: can't export op {name}{where}: {message}")

    def static(self, x, what: str):
        """``x`` as a plain value; refuse one that changes with the batch size."""
        if is_dynamic(x):
            self.fail(
                f"its {what} depends on the batch size ({_show(x)}), which this op can't take as a run-time "
                f"value; export with dynamic_batch=False for a fixed batch size"
            )
        return x

    # ------------------------------------------------------------ values
    def fresh(self, hint: str) -> str:
        return f"{hint}_{next(self._counter)}"

    def node(self, op_type: str, inputs, *, out: str | None = None, n_out: int = 1, **attrs):
        """Add an ONNX node; returns its output name (a list when ``n_out > 1``)."""
        outs = [out] if out is not None else [self.fresh(op_type) for _ in range(n_out)]
        prefix = f"{self.op.where}/" if self.op is not None and self.op.where else ""
        self.nodes.append(self.helper.make_node(op_type, list(inputs), outs, name=self.fresh(prefix + op_type),
                                                **attrs))
        return outs[0] if n_out == 1 else outs

    def ref(self, ref, what: str = "input") -> str:
        """The ONNX name of a traced reference (value, parameter or constant)."""
        if isinstance(ref, Value):
            return self.names[ref.id]
        if isinstance(ref, Param):
            if ref.name not in self.initializers:
                arr = self.trace.params[ref.name]
                self.initializers[ref.name] = self.onnx.numpy_helper.from_array(_c_order(arr), ref.name)
            return ref.name
        if isinstance(ref, Filled):  # one value, expanded to a shape that follows the batch
            value = self.const(numpy.asarray(ref.array.flat[0], dtype=ref.array.dtype))
            return self.node("Expand", [value, self.ints(ref.shape)])
        if isinstance(ref, Const):
            return self.const(ref.array)
        if isinstance(ref, Varying):
            self.fail(
                f"its {what} was computed from the model's input outside gradstep's ops (e.g. with NumPy on "
                f".numpy(), from .item() or argmax indices), so it would be frozen to the example's values; "
                f"compute it with tensor ops, or export with dynamic_batch=False if it only depends on the "
                f"batch size"
            )
        raise TypeError(f"not a traced reference: {ref!r}")

    def input(self, i: int) -> str:
        return self.ref(self.op.inputs[i], f"input {i}")

    def shape(self, ref) -> tuple:
        """Shape of a reference as traced (batch-dependent dims are Dyn)."""
        if isinstance(ref, Value):
            return self.trace.shapes[ref.id]
        if isinstance(ref, Param):
            return tuple(self.trace.params[ref.name].shape)
        if isinstance(ref, Filled):
            return tuple(ref.shape)
        if isinstance(ref, Const):
            return tuple(ref.array.shape)
        return self.shape(ref.value)  # Varying

    def dtype(self, ref) -> numpy.dtype:
        if isinstance(ref, Value):
            return self.trace.dtypes[ref.id]
        if isinstance(ref, Param):
            return self.trace.params[ref.name].dtype
        if isinstance(ref, Const):
            return ref.array.dtype
        return self.dtype(ref.value)  # Varying

    def in_shape(self, i: int = 0) -> tuple:
        return self.shape(self.op.inputs[i])

    def in_dtype(self, i: int = 0) -> numpy.dtype:
        return self.dtype(self.op.inputs[i])

    # --------------------------------------------------------- constants
    def const(self, array, hint: str = "const") -> str:
        """An initializer holding ``array`` (identical constants are stored once)."""
        array = _c_order(array)
        key = (array.dtype.str, array.shape, hashlib.sha1(array.tobytes()).hexdigest())
        name = self._consts.get(key)
        if name is None:
            name = self._consts[key] = self.fresh(hint)
            self.initializers[name] = self.onnx.numpy_helper.from_array(array, name)
        return name

    def scalar(self, value, dtype) -> str:
        return self.const(numpy.asarray(value, dtype=dtype))

    def ints(self, values) -> str:
        """A 1-d int64 tensor of ``values``; Dyn entries are computed from the batch size at run time."""
        values = list(values)
        if not is_dynamic(values):
            return self.const(numpy.asarray(values, dtype=numpy.int64).reshape(len(values)))
        self.static([v for v in values if not isinstance(v, Dyn)], "sizes")
        parts, run = [], []
        for v in values:
            if isinstance(v, Dyn):
                if run:
                    parts.append(self.const(numpy.asarray(run, dtype=numpy.int64)))
                    run = []
                parts.append(self._dyn(v))
            else:
                run.append(int(v))
        if run:
            parts.append(self.const(numpy.asarray(run, dtype=numpy.int64)))
        return parts[0] if len(parts) == 1 else self.node("Concat", parts, axis=0)

    def _dyn(self, v: Dyn) -> str:
        out = self.batch()
        if v.k != 1:
            out = self.node("Mul", [out, self.const(numpy.asarray([v.k], dtype=numpy.int64))])
        if v.c:
            out = self.node("Add", [out, self.const(numpy.asarray([v.c], dtype=numpy.int64))])
        return out

    def batch(self) -> str:
        """``[batch]`` (int64, shape (1,)): dim 0 of the first input, computed once."""
        if self._batch is None:
            op, self.op = self.op, None
            self._batch = self.node("Shape", [self.names[0]], start=0, end=1)
            self.op = op
        return self._batch

    def reshape_ints(self, shape) -> str:
        """A Reshape target for ``shape``: one batch-dependent dim becomes -1, so the shape stays constant."""
        dyn = [i for i, s in enumerate(shape) if isinstance(s, Dyn)]
        if len(dyn) == 1:
            shape = list(shape)
            shape[dyn[0]] = -1
        return self.ints(shape)

    def reshape(self, x: str, shape) -> str:
        attrs = {"allowzero": 1} if any(s == 0 for s in shape if not isinstance(s, Dyn)) else {}
        return self.node("Reshape", [x, self.reshape_ints(shape)], **attrs)

    # ------------------------------------------------------- common nodes
    def axes_node(self, op_type: str, x: str, axes, **attrs) -> str:
        """A Reduce*/Squeeze/Unsqueeze node; its axes are an input since opset 13 (18 for most reductions)."""
        as_input = op_type in ("ReduceSum", "Squeeze", "Unsqueeze") or self.opset >= 18
        axes = [int(a) for a in axes]
        if as_input:
            return self.node(op_type, [x, self.ints(axes)], **attrs)
        return self.node(op_type, [x], axes=axes, **attrs)

    def reduce(self, op_type: str, x: str, axes, keepdims: bool) -> str:
        if not axes:  # nothing to reduce (0-d input): ONNX would reduce everything instead
            return x
        return self.axes_node(op_type, x, axes, keepdims=int(bool(keepdims)))

    def unsqueeze(self, x: str, axes) -> str:
        return self.axes_node("Unsqueeze", x, axes) if axes else x

    def squeeze(self, x: str, axes) -> str:
        return self.axes_node("Squeeze", x, axes) if axes else x


def _c_order(array):
    # numpy.ascontiguousarray would turn a 0-d array into shape (1,)
    return numpy.asarray(array, order="C")


def _show(x) -> str:
    if isinstance(x, (Dyn, Varying)):
        return repr(x)
    if isinstance(x, (tuple, list)):
        return "(" + ", ".join(_show(v) for v in x) + ")"
    return repr(x)
