"""Converters for elementwise maths, activations, matrix products, reductions and softmax."""
from __future__ import annotations

import math

import numpy

from ..ops.elementwise import (
    Abs, Add, Cast, Clamp, Clone, Cos, Div, Exp, Gelu, LeakyRelu, Log, Maximum, Minimum, Mul, Neg, Pow, Relu,
    Rsqrt, Sigmoid, Sign, Silu, Sin, Softplus, Sqrt, Sub, Tanh, Where,
)
from ..ops.matmul import Linear, LinearRelu, Matmul
from ..ops.reduce import Amax, Cumsum, LogSumExp, MaxDim, Mean, Prod, Sum, Var, VectorNorm
from ..ops.softmax import LogSoftmax, Softmax
from ._batch import is_dynamic
from ._registry import converts
from ._trace import Invert, NoGradBinary

_UNARY = {Neg: "Neg", Exp: "Exp", Log: "Log", Sqrt: "Sqrt", Abs: "Abs", Sign: "Sign", Sin: "Sin", Cos: "Cos",
          Tanh: "Tanh", Sigmoid: "Sigmoid", Relu: "Relu"}
_BINARY = {Add: "Add", Sub: "Sub", Mul: "Mul", Div: "Div", Pow: "Pow", Maximum: "Max", Minimum: "Min"}


@converts(*_UNARY)
def _unary(g, op):
    return g.node(_UNARY[op.fn], [g.input(0)])


@converts(*_BINARY)
def _binary(g, op):
    return g.node(_BINARY[op.fn], [g.input(0), g.input(1)])


@converts(Where)
def _where(g, op):
    return g.node("Where", [g.input(0), g.input(1), g.input(2)])


@converts(Rsqrt)
def _rsqrt(g, op):
    return g.node("Reciprocal", [g.node("Sqrt", [g.input(0)])])


@converts(LeakyRelu)
def _leaky_relu(g, op):
    return g.node("LeakyRelu", [g.input(0)], alpha=float(g.static(op.params["negative_slope"], "negative_slope")))


@converts(Gelu)
def _gelu(g, op):
    x, dtype = g.input(0), g.in_dtype(0)
    approximate = op.params["approximate"]
    if g.opset >= 20:
        return g.node("Gelu", [x], approximate=approximate)
    half_x = g.node("Mul", [x, g.scalar(0.5, dtype)])
    if approximate == "tanh":  # 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))
        cube = g.node("Mul", [g.node("Mul", [x, x]), x])
        inner = g.node("Add", [x, g.node("Mul", [cube, g.scalar(0.044715, dtype)])])
        t = g.node("Tanh", [g.node("Mul", [inner, g.scalar(math.sqrt(2 / math.pi), dtype)])])
    else:  # 0.5 x (1 + erf(x / sqrt(2)))
        t = g.node("Erf", [g.node("Mul", [x, g.scalar(1 / math.sqrt(2), dtype)])])
    return g.node("Mul", [half_x, g.node("Add", [t, g.scalar(1.0, dtype)])])


@converts(Silu)
def _silu(g, op):
    x = g.input(0)
    return g.node("Mul", [x, g.node("Sigmoid", [x])])


@converts(Softplus)
def _softplus(g, op):
    # log(1 + exp(beta x)) / beta, and x itself where beta x > threshold (as PyTorch)
    x, dtype = g.input(0), g.in_dtype(0)
    beta, threshold = float(op.params["beta"]), float(op.params["threshold"])
    z = x if beta == 1 else g.node("Mul", [x, g.scalar(beta, dtype)])
    soft = g.node("Softplus", [z])
    if beta != 1:
        soft = g.node("Div", [soft, g.scalar(beta, dtype)])
    return g.node("Where", [g.node("Greater", [z, g.scalar(threshold, dtype)]), x, soft])


@converts(Clamp)
def _clamp(g, op):
    x, dtype = g.input(0), g.in_dtype(0)
    lo, hi = op.params["lo"], op.params["hi"]
    if all(b is None or isinstance(b, (int, float, numpy.number)) for b in (lo, hi)):
        bounds = ["" if b is None else g.scalar(b, dtype) for b in (lo, hi)]
        return g.node("Clip", [x] + bounds)
    for bound, op_type in ((lo, "Max"), (hi, "Min")):  # tensor bounds broadcast: clip is max then min
        if bound is None:
            continue
        if isinstance(bound, (int, float, numpy.number)):
            name = g.scalar(bound, dtype)
        else:
            name = g.ref(bound, "bound")
            if g.dtype(bound) != dtype:
                name = g.node("Cast", [name], to=_onnx_type(g, dtype))
        x = g.node(op_type, [x, name])
    return x


@converts(Cast)
def _cast(g, op):
    return g.node("Cast", [g.input(0)], to=_onnx_type(g, numpy.dtype(op.params["dtype"])))


@converts(Clone)
def _clone(g, op):
    return g.input(0)


_COMPARE = {"equal": "Equal", "less": "Less", "less_equal": "LessOrEqual", "greater": "Greater",
            "greater_equal": "GreaterOrEqual"}
_LOGIC = {"bitwise_and": ("And", "BitwiseAnd"), "bitwise_or": ("Or", "BitwiseOr"), "bitwise_xor": ("Xor", "BitwiseXor")}


@converts(NoGradBinary)
def _no_grad_binary(g, op):
    name, dtype = op.params["op"], numpy.dtype(op.params["dtype"])
    a, b = (_as_dtype(g, i, dtype) for i in (0, 1))
    if name in _COMPARE:
        return g.node(_COMPARE[name], [a, b])
    if name == "not_equal":
        return g.node("Not", [g.node("Equal", [a, b])])
    if name in _LOGIC:
        return g.node(_LOGIC[name][dtype.kind != "b"], [a, b]) if _has_bitwise(g, dtype) else None
    if name == "floor_divide":
        quotient = g.node("Div", [a, b])
        if dtype.kind == "f":
            return g.node("Floor", [quotient])
        # ONNX's integer Div truncates toward zero; step down where the remainder and divisor differ in sign
        rest = g.node("Sub", [a, g.node("Mul", [quotient, b])])
        zero = g.scalar(0, dtype)
        off = g.node("And", [g.node("Not", [g.node("Equal", [rest, zero])]),
                             g.node("Xor", [g.node("Less", [rest, zero]), g.node("Less", [b, zero])])])
        return g.node("Sub", [quotient, g.node("Cast", [off], to=_onnx_type(g, dtype))])
    if name == "remainder":  # the sign of the divisor, as Python and PyTorch
        if dtype.kind != "f":
            return g.node("Mod", [a, b], fmod=0)
        return g.node("Sub", [a, g.node("Mul", [g.node("Floor", [g.node("Div", [a, b])]), b])])
    g.fail(f"the operation {name} has no ONNX conversion")


@converts(Invert)
def _invert(g, op):
    dtype = g.in_dtype(0)
    if dtype.kind == "b":
        return g.node("Not", [g.input(0)])
    return g.node("BitwiseNot", [g.input(0)]) if _has_bitwise(g, dtype) else None


def _has_bitwise(g, dtype) -> bool:
    if dtype.kind != "b" and g.opset < 18:
        g.fail(f"bitwise operations on {dtype} tensors need ONNX opset 18 or newer (exporting with opset "
               f"{g.opset}); pass opset=18")
    return True


def _as_dtype(g, i: int, dtype) -> str:
    name = g.input(i)
    return name if g.in_dtype(i) == dtype else g.node("Cast", [name], to=_onnx_type(g, dtype))


def _onnx_type(g, dtype) -> int:
    return g.helper.np_dtype_to_tensor_dtype(numpy.dtype(dtype))


# --------------------------------------------------------------- products
@converts(Matmul)
def _matmul(g, op):
    return g.node("MatMul", [g.input(0), g.input(1)])


@converts(Linear)
def _linear(g, op):
    x, w = g.input(0), g.input(1)
    rank = len(g.in_shape(0))
    bias = g.input(2) if len(op.inputs) > 2 else None
    if rank == 2 and (bias is None or len(g.in_shape(2)) <= 1):
        return g.node("Gemm", [x, w] + ([bias] if bias else []), transB=1)
    y = g.node("MatMul", [w, x]) if rank == 1 else g.node("MatMul", [x, g.node("Transpose", [w], perm=[1, 0])])
    return y if bias is None else g.node("Add", [y, bias])


@converts(LinearRelu)
def _linear_relu(g, op):
    return g.node("Relu", [_linear(g, op)])


# -------------------------------------------------------------- reductions
@converts(Sum)
def _sum(g, op):
    return g.reduce("ReduceSum", g.input(0), op.params["axes"], op.params["keepdim"])


@converts(Mean)
def _mean(g, op):
    return g.reduce("ReduceMean", g.input(0), op.params["axes"], op.params["keepdim"])


@converts(Amax)
def _amax(g, op):
    kind = "ReduceMin" if op.params["smallest"] else "ReduceMax"
    return g.reduce(kind, g.input(0), op.params["axes"], op.params["keepdim"])


@converts(MaxDim)
def _max_dim(g, op):
    if not g.in_shape(0):
        return g.input(0)
    kind = "ReduceMin" if op.hint.get("smallest") else "ReduceMax"
    return g.reduce(kind, g.input(0), [op.params["axis"]], op.params["keepdim"])


@converts(Var)
def _var(g, op):
    # sum((x - mean)^2) / (count - correction), then sqrt for std
    x, dtype, shape = g.input(0), g.in_dtype(0), g.in_shape(0)
    axes, keepdim, correction = op.params["axes"], op.params["keepdim"], op.params["correction"]
    mean = g.reduce("ReduceMean", x, axes, True)
    diff = g.node("Sub", [x, mean])
    out = g.reduce("ReduceSum", g.node("Mul", [diff, diff]), axes, keepdim)
    sizes = [shape[a] for a in axes]
    if is_dynamic(sizes):  # the batch is among the reduced dims: count the elements at run time
        count = g.node("Cast", [g.node("Div", [g.node("Size", [x]), g.node("Size", [mean])])],
                       to=_onnx_type(g, dtype))
        dof = g.node("Max", [g.node("Sub", [count, g.scalar(correction, dtype)]), g.scalar(0, dtype)])
    else:
        dof = g.scalar(max(math.prod(sizes) - correction, 0), dtype)
    out = g.node("Div", [out, dof])
    return g.node("Sqrt", [out]) if op.params["std"] else out


@converts(LogSumExp)
def _logsumexp(g, op):
    return g.reduce("ReduceLogSumExp", g.input(0), op.params["axes"], op.params["keepdim"])


@converts(Prod)
def _prod(g, op):
    axis = op.params["axis"]
    axes = list(range(len(g.in_shape(0)))) if axis is None else [axis]
    return g.reduce("ReduceProd", g.input(0), axes, op.params["keepdim"])


@converts(Cumsum)
def _cumsum(g, op):
    axis = op.params["axis"]
    if axis is None:
        return g.input(0)
    return g.node("CumSum", [g.input(0), g.const(numpy.asarray(axis, dtype=numpy.int64))])


@converts(VectorNorm)
def _norm(g, op):
    x, dtype = g.input(0), g.in_dtype(0)
    p, axes, keepdim = op.params["p"], op.params["axes"], op.params["keepdim"]
    if p == 2:
        return g.reduce("ReduceL2", x, axes, keepdim)
    if p == 1:
        return g.reduce("ReduceL1", x, axes, keepdim)
    if math.isinf(p):
        return g.reduce("ReduceMax" if p > 0 else "ReduceMin", g.node("Abs", [x]), axes, keepdim)
    if p == 0:
        nonzero = g.node("Not", [g.node("Equal", [x, g.scalar(0, dtype)])])
        return g.reduce("ReduceSum", g.node("Cast", [nonzero], to=_onnx_type(g, dtype)), axes, keepdim)
    powered = g.node("Pow", [g.node("Abs", [x]), g.scalar(p, dtype)])
    return g.node("Pow", [g.reduce("ReduceSum", powered, axes, keepdim), g.scalar(1.0 / p, dtype)])


# ---------------------------------------------------------------- softmax
@converts(Softmax, LogSoftmax)
def _softmax(g, op):
    axis = op.params["axis"]
    if axis is None:
        g.fail("softmax of a 0-d tensor has no axis in ONNX")
    return g.node("Softmax" if op.fn is Softmax else "LogSoftmax", [g.input(0)], axis=int(axis))
