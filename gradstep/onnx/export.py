"""``export``: write a gradstep model as an ONNX file by tracing one forward pass.

The model runs once in evaluation mode on the example input while every
primitive it calls is recorded (``_trace.py``); with ``dynamic_batch`` it runs
a second time with one more sample, and the difference between the two traces
marks what follows the batch size (``_batch.py``). Each recorded primitive is
then converted to ONNX nodes (``_convert_*.py``); parameters and buffers become
initializers under their state_dict names.
"""
from __future__ import annotations

import contextlib
import json
import os

import numpy

from ..autograd.tensor import Tensor
from ._batch import Dyn, Filled, merge
from ._graph import GraphBuilder
from ._registry import REFUSALS, converter_for, supported_ops
from ._trace import Const, Param, Value, trace
from .errors import ExportError, MissingDependencyError, UnsupportedOpError
from .weights import METADATA_KEY
from . import _convert_extra, _convert_math, _convert_nn, _convert_shape  # noqa: F401  (register the converters)

DEFAULT_OPSET = 20  # Gelu as one node; onnxruntime >= 1.17 runs it
MIN_OPSET = 17  # LayerNormalization
_EXTERNAL_DATA_BYTES = 1_800_000_000  # protobuf files stop at 2 GB: larger weights go to a side file


def export(model, example_input, path, *, opset: int | None = None, dynamic_batch: bool = True,
           input_names=None, output_names=None, check: bool = True):
    """Write ``model`` as an ONNX file at ``path``, traced on ``example_input``.

    Args:
        model: a gradstep ``nn.Module`` (or any callable on tensors). It is traced in
            evaluation mode (dropout off, BatchNorm running statistics) and put back
            in its previous mode afterwards.
        example_input: a Tensor or NumPy array, or a tuple of them for several inputs.
            Its values only need to be valid inputs (e.g. token ids in range).
        path: file to write (``None``: only return the model).
        opset: ONNX opset version (default 20; at least 17).
        dynamic_batch: make dim 0 of every input (and whatever follows it) a symbolic
            ``batch`` dimension, so the file runs on any batch size; False fixes the
            example's shapes. Other dims are always the example's (e.g. a GPT's
            sequence length).
        input_names, output_names: graph input/output names (default ``input`` /
            ``output``, numbered when there are several).
        check: run ``onnx.checker.check_model`` with shape inference on the result.

    Returns:
        The ``onnx.ModelProto``.

    Raises:
        UnsupportedOpError: the forward used an op without ONNX conversion (named
            with the module it ran in).
        ExportError: something else that can't be exported (the message says what).
        MissingDependencyError: the ``onnx`` package is not installed.

    Example:
        >>> import gradstep as gs, gradstep.nn as nn
        >>> model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2))
        >>> proto = gs.onnx.export(model, gs.randn(3, 4), None)
        >>> [i.name for i in proto.graph.input]
        ['input']
    """
    onnx = _import_onnx()
    arrays = _example_arrays(example_input)
    opset = _check_opset(onnx, opset)
    # Tracing patches Function.apply process-wide: ops other threads run meanwhile are recorded too, and
    # then dropped because no output depends on them.
    with _eval_mode(model):
        traced = trace(model, arrays)
        if dynamic_batch:
            batch = _batch_size(arrays)
            grown = [numpy.concatenate([a, a[:1]]) for a in arrays]
            traced = merge(traced, trace(model, grown), batch, batch + 1)
    in_names = _names(input_names, len(arrays), "input")
    out_names = _names(output_names, len(traced.outputs), "output")
    proto = _build(onnx, traced, opset, in_names, out_names, type(model).__name__)
    large = sum(t.ByteSize() for t in proto.graph.initializer) > _EXTERNAL_DATA_BYTES
    if path is not None:
        path = os.fspath(path)
        if large:
            onnx.save_model(proto, path, save_as_external_data=True, location=os.path.basename(path) + ".data")
        else:
            onnx.save_model(proto, path)
    if check:
        if large and path is not None:
            onnx.checker.check_model(path, full_check=True)
        elif not large:
            onnx.checker.check_model(proto, full_check=True)
    return proto


def _import_onnx():
    try:
        import onnx
    except ImportError as err:
        raise MissingDependencyError(
            'gradstep.onnx.export needs the onnx package, an optional dependency: pip install "gradstep[onnx]" '
            "(installs onnx and onnxruntime)"
        ) from err
    return onnx


def _example_arrays(example_input) -> list:
    items = example_input if isinstance(example_input, (tuple, list)) else (example_input,)
    arrays = []
    for i, x in enumerate(items):
        if isinstance(x, Tensor):
            arrays.append(x._data)
        elif isinstance(x, numpy.ndarray):
            arrays.append(x)
        else:
            raise TypeError(
                f"gradstep.onnx.export: example_input {i} must be a Tensor or a NumPy array, got {type(x).__name__}"
            )
    if not arrays:
        raise ValueError("gradstep.onnx.export: example_input is empty; pass one tensor per model input")
    return arrays


def _batch_size(arrays) -> int:
    sizes = [a.shape[0] if a.ndim else None for a in arrays]
    if None in sizes or len(set(sizes)) != 1 or sizes[0] == 0:
        shapes = ", ".join(str(a.shape) for a in arrays)
        raise ValueError(
            f"gradstep.onnx.export: dynamic_batch needs every input to have the same non-zero batch size in "
            f"dim 0, got shapes {shapes}; pass dynamic_batch=False to export these fixed shapes"
        )
    return sizes[0]


def _check_opset(onnx, opset) -> int:
    newest = onnx.defs.onnx_opset_version()
    if opset is None:
        return min(DEFAULT_OPSET, newest)
    if not isinstance(opset, int) or not MIN_OPSET <= opset <= newest:
        raise ValueError(
            f"gradstep.onnx.export: opset must be an int from {MIN_OPSET} to {newest} (the newest this onnx "
            f"{onnx.__version__} knows), got {opset!r}"
        )
    return opset


def _names(names, n: int, default: str) -> list:
    if names is None:
        return [default] if n == 1 else [f"{default}_{i}" for i in range(n)]
    names = [names] if isinstance(names, str) else list(names)
    if len(names) != n or len(set(names)) != n:
        raise ValueError(f"gradstep.onnx.export: expected {n} distinct {default} names, got {names}")
    return names


@contextlib.contextmanager
def _eval_mode(model):
    modules = list(model.modules()) if hasattr(model, "modules") else []
    modes = [m.training for m in modules]
    if modules:
        model.eval()
    try:
        yield
    finally:
        for m, mode in zip(modules, modes):  # each module's own flag, even where they differed
            m.__dict__["training"] = mode


# -------------------------------------------------------------- building
def _live_ops(traced) -> list:
    """The recorded ops the outputs depend on (the rest, e.g. unused attention weights, is dropped)."""
    needed = {r.id for r in traced.outputs if isinstance(r, Value)}
    live = []
    for op in reversed(traced.ops):
        if op.out in needed:
            live.append(op)
            needed.update(_values_in((op.inputs, op.params)))
    return live[::-1]


def _values_in(x):
    if isinstance(x, Value):
        yield x.id
    elif isinstance(x, (tuple, list)):
        for v in x:
            yield from _values_in(v)
    elif isinstance(x, dict):
        for v in x.values():
            yield from _values_in(v)
    elif hasattr(x, "value"):  # Varying
        yield from _values_in(x.value)


def _build(onnx, traced, opset, in_names, out_names, graph_name):
    g = GraphBuilder(onnx, traced, opset, in_names)
    for op in _live_ops(traced):
        g.op = op
        convert = converter_for(op.fn)
        if convert is None:
            why = REFUSALS.get(op.fn) or (f"{op.fn.__module__}.{op.name} has no ONNX conversion yet (supported: "
                                          f"{', '.join(supported_ops())})")
            g.fail(why, UnsupportedOpError)
        g.names[op.out] = convert(g, op)
    g.op = None
    for ref, name in zip(traced.outputs, out_names):
        g.node("Identity", [g.ref(ref, "output")], out=name)
    helper = onnx.helper
    inputs = [_value_info(helper, name, dtype, traced.shapes[i]) for i, (name, (_, dtype)) in
              enumerate(zip(in_names, traced.inputs))]
    outputs = [_value_info(helper, name, _ref_dtype(traced, ref), _ref_shape(traced, ref))
               for name, ref in zip(out_names, traced.outputs)]
    graph = helper.make_graph(g.nodes, graph_name, inputs, outputs, initializer=list(g.initializers.values()))
    from .. import __version__

    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)], producer_name="gradstep",
                              producer_version=__version__, ir_version=_ir_version(helper, opset))
    weights = [name for name in traced.params if name in g.initializers]
    helper.set_model_props(model, {METADATA_KEY: json.dumps(weights)})
    return model


def _ref_shape(traced, ref) -> tuple:
    ref = getattr(ref, "value", ref) if not isinstance(ref, (Value, Param, Const)) else ref
    if isinstance(ref, Value):
        return traced.shapes[ref.id]
    if isinstance(ref, Param):
        return traced.params[ref.name].shape
    return ref.shape if isinstance(ref, Filled) else ref.array.shape


def _ref_dtype(traced, ref):
    ref = getattr(ref, "value", ref) if not isinstance(ref, (Value, Param, Const)) else ref
    if isinstance(ref, Value):
        return traced.dtypes[ref.id]
    if isinstance(ref, Param):
        return traced.params[ref.name].dtype
    return ref.array.dtype


def _value_info(helper, name, dtype, shape):
    dims = []
    for d in shape:
        if isinstance(d, Dyn):
            dims.append("batch" if (d.k, d.c) == (1, 0) else f"{d.k}*batch{d.c:+d}" if d.c else f"{d.k}*batch")
        elif isinstance(d, (int, numpy.integer)):
            dims.append(int(d))
        else:
            dims.append(None)  # varies in a way that isn't a multiple of the batch: unknown
    return helper.make_tensor_value_info(name, helper.np_dtype_to_tensor_dtype(numpy.dtype(dtype)), dims)


def _ir_version(helper, opset: int) -> int:
    # The oldest IR version that knows this opset, so older runtimes can load the file.
    for _, ir, ops, *_ in helper.VERSION_TABLE:
        if ops >= opset:
            return ir
    return helper.VERSION_TABLE[-1][1]


__all__ = ["export", "DEFAULT_OPSET", "ExportError", "UnsupportedOpError"]
