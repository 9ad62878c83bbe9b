"""Converters for layer primitives: embedding, convolution, pooling, normalization, attention, dropout."""
from __future__ import annotations

import numpy

from ..ops.attention import ScaledDotProductAttention
from ..ops.conv import Conv, ConvTranspose
from ..ops.dropout import Dropout
from ..ops.embedding import Embedding
from ..ops.normalization import BatchNorm, GroupNorm, LayerNorm
from ..ops.pool import AdaptiveAvgPool, AvgPool, MaxPool
from ._registry import converts, refuses
from ._trace import Const


@converts(Embedding)
def _embedding(g, op):
    return g.node("Gather", [g.input(0), g.ref(op.params["idx"], "indices")], axis=0)


refuses(Dropout, "dropout ran in training mode (a random mask can't be exported); the exporter calls "
                 "model.eval(), so this comes from F.dropout(..., training=True): pass training=self.training")


# ------------------------------------------------------------- convolution
def _conv_attrs(g, geom, dims: int) -> dict:
    top, bottom, left, right = g.static(geom.pads, "padding")
    stride, dilation = g.static(geom.stride, "stride"), g.static(geom.dilation, "dilation")
    if dims == 1:  # gradstep runs 1-d convolutions as 2-d ones of height 1
        return dict(pads=[left, right], strides=list(stride[1:]), dilations=list(dilation[1:]))
    return dict(pads=[top, left, bottom, right], strides=list(stride), dilations=list(dilation))


@converts(Conv, ConvTranspose)
def _conv(g, op):
    geom = op.params["geom"]
    w_shape = g.in_shape(1)
    dims = len(w_shape) - 2
    batched = len(g.in_shape(0)) == dims + 2
    x = g.input(0) if batched else g.unsqueeze(g.input(0), [0])
    inputs = [x, g.input(1)] + ([g.input(2)] if len(op.inputs) > 2 else [])
    attrs = _conv_attrs(g, geom, dims)
    attrs.update(kernel_shape=list(w_shape[2:]), group=int(geom.groups))
    if op.fn is ConvTranspose:
        # The padded output size fixes output_padding: (n - 1) s + d (k - 1) + 1 + output_padding.
        sizes = g.static(list(zip(geom.grid, geom.stride, geom.dilation, geom.w4[2:], geom.padded)), "sizes")
        extra = [p - ((n - 1) * s + d * (k - 1) + 1) for n, s, d, k, p in sizes]
        attrs["output_padding"] = extra[1:] if dims == 1 else extra
    y = g.node("ConvTranspose" if op.fn is ConvTranspose else "Conv", inputs, **attrs)
    return y if batched else g.squeeze(y, [0])


# ---------------------------------------------------------------- pooling
def _as_4d(g, x: str, in_rank: int, x4) -> str:
    # gradstep pools 1-d and unbatched inputs as (N, C, H, W); so does the exported graph
    return x if in_rank == 4 else g.reshape(x, x4)


def _from_4d(g, y: str, in_rank: int, out_shape) -> str:
    return y if in_rank == 4 else g.reshape(y, out_shape)


def _window_attrs(g, geom) -> dict:
    top, bottom, left, right = g.static(geom.pads, "padding")
    return dict(kernel_shape=list(g.static(geom.kernel, "kernel_size")), strides=list(g.static(geom.stride, "stride")),
                pads=[top, left, bottom, right])


@converts(MaxPool)
def _max_pool(g, op):
    geom, rank = op.params["geom"], len(g.in_shape(0))
    x = _as_4d(g, g.input(0), rank, geom.x4)
    y = g.node("MaxPool", [x], dilations=list(g.static(geom.dilation, "dilation")), **_window_attrs(g, geom))
    return _from_4d(g, y, rank, geom.out_shape)


@converts(AvgPool)
def _avg_pool(g, op):
    geom, rank, dtype = op.params["geom"], len(g.in_shape(0)), g.in_dtype(0)
    if dtype.kind != "f":
        g.fail(f"average pooling of a {dtype} tensor (ONNX's AveragePool takes floating point only)")
    x = _as_4d(g, g.input(0), rank, geom.x4)
    # AveragePool divides every window by the kernel area; rescale to gradstep's divisor where it differs.
    y = g.node("AveragePool", [x], count_include_pad=1, **_window_attrs(g, geom))
    area = int(numpy.prod(geom.kernel))
    divisor = op.params["divisor"]
    if isinstance(divisor, Const):
        y = g.node("Mul", [y, g.const((area / divisor.array).astype(dtype))])
    elif g.static(divisor, "divisor") != area:
        y = g.node("Mul", [y, g.scalar(area / divisor, dtype)])
    return _from_4d(g, y, rank, geom.out_shape)


@converts(AdaptiveAvgPool)
def _adaptive_avg_pool(g, op):
    # Bin means are two products with averaging matrices: along W, then along H (as gradstep computes them).
    p, rank = op.params, len(g.in_shape(0))
    x = _as_4d(g, g.input(0), rank, p["x4"])
    cols_t = g.const(g.static(p["cols"], "bins").array.T)
    y = g.node("MatMul", [x, cols_t])
    y = g.node("MatMul", [g.ref(g.static(p["rows"], "bins")), y])
    return _from_4d(g, y, rank, p["out_shape"])


# ----------------------------------------------------------- normalization
@converts(LayerNorm)
def _layer_norm(g, op):
    p, shape, dtype = op.params, g.in_shape(0), g.in_dtype(0)
    k = p["k"]
    normalized = g.static(shape[len(shape) - k:], "normalized shape")
    scale = g.input(1) if p["has_w"] else g.const(numpy.ones(normalized, dtype))
    inputs = [g.input(0), scale] + ([g.input(1 + p["has_w"])] if p["has_b"] else [])
    return g.node("LayerNormalization", inputs, axis=-k, epsilon=float(p["eps"]))


@converts(BatchNorm)
def _batch_norm(g, op):
    p, dtype = op.params, g.in_dtype(0)
    if p["training"]:
        g.fail("batch norm ran with batch statistics (training mode, or track_running_stats=False); the "
               "exporter calls model.eval(), so use running statistics (track_running_stats=True)")
    channels = g.static(g.in_shape(0)[1], "channels")
    scale = g.input(1) if p["has_w"] else g.const(numpy.ones(channels, dtype))
    bias = g.input(1 + p["has_w"]) if p["has_b"] else g.const(numpy.zeros(channels, dtype))
    mean, var = g.ref(p["running_mean"], "running_mean"), g.ref(p["running_var"], "running_var")
    if g.dtype(p["running_mean"]) != dtype:  # gradstep casts the statistics to the input's dtype
        to = g.helper.np_dtype_to_tensor_dtype(dtype)
        mean, var = g.node("Cast", [mean], to=to), g.node("Cast", [var], to=to)
    return g.node("BatchNormalization", [g.input(0), scale, bias, mean, var], epsilon=float(p["eps"]))


@converts(GroupNorm)
def _group_norm(g, op):
    # (N, G, -1) rows: centre, divide by sqrt(mean square + eps), back to the input's shape, then affine.
    p, shape, dtype = op.params, g.in_shape(0), g.in_dtype(0)
    x = g.input(0)
    rows = g.node("Reshape", [x, g.ints([0, int(p["num_groups"]), -1])])
    centred = g.node("Sub", [rows, g.reduce("ReduceMean", rows, [2], True)])
    var = g.reduce("ReduceMean", g.node("Mul", [centred, centred]), [2], True)
    rstd = g.node("Reciprocal", [g.node("Sqrt", [g.node("Add", [var, g.scalar(p["eps"], dtype)])])])
    y = g.node("Reshape", [g.node("Mul", [centred, rstd]), g.node("Shape", [x])])
    per_channel = [g.static(shape[1], "channels")] + [1] * (len(shape) - 2)
    if p["has_w"]:
        y = g.node("Mul", [y, g.node("Reshape", [g.input(1), g.ints(per_channel)])])
    if p["has_b"]:
        y = g.node("Add", [y, g.node("Reshape", [g.input(1 + p["has_w"]), g.ints(per_channel)])])
    return y


# ---------------------------------------------------------------- attention
@converts(ScaledDotProductAttention)
def _attention(g, op):
    """softmax(scale * Q K^T + mask) V as MatMul / Softmax nodes; fully masked rows give 0 as in gradstep."""
    p, dtype = op.params, g.in_dtype(0)
    if p["dropout_p"] > 0:
        g.fail("attention dropout was active (dropout_p > 0); the exporter calls model.eval(), so pass "
               "dropout_p=self.dropout if self.training else 0.0")
    q, k, v = g.input(0), g.input(1), g.input(2)
    if p["groups"] > 1:
        k, v = (_repeat_heads(g, t, g.in_shape(i), p["groups"]) for i, t in ((1, k), (2, v)))
    rank = len(g.in_shape(1))
    k_t = g.node("Transpose", [k], perm=list(range(rank - 2)) + [rank - 1, rank - 2])
    scores = g.node("Mul", [g.node("MatMul", [q, k_t]), g.scalar(p["scale"], dtype)])
    float_mask = op.inputs[3] if len(op.inputs) > 3 else None
    if float_mask is not None:
        scores = g.node("Add", [scores, g.input(3)])
    neg_mask = p["neg_mask"]
    if neg_mask is not None:
        scores = g.node("Where", [g.ref(neg_mask, "attention mask"), g.scalar(-numpy.inf, dtype), scores])
    weights = g.node("Softmax", [scores], axis=-1)
    if _may_mask_whole_rows(float_mask, neg_mask):
        row_max = g.reduce("ReduceMax", scores, [-1], True)
        weights = g.node("Where", [g.node("IsInf", [row_max]), g.scalar(0, dtype), weights])
    return g.node("MatMul", [weights, v])


def _may_mask_whole_rows(float_mask, neg_mask) -> bool:
    """Whether some query may see no key at all (known for constant masks, assumed otherwise)."""
    if float_mask is None and neg_mask is None:
        return False
    if float_mask is not None and not isinstance(float_mask, Const):
        return True
    if neg_mask is not None and not isinstance(neg_mask, Const):
        return True
    blocked = None
    if float_mask is not None:
        blocked = numpy.isneginf(float_mask.array) | numpy.isnan(float_mask.array)
    if neg_mask is not None:
        blocked = neg_mask.array if blocked is None else blocked | neg_mask.array
    return bool(blocked.all(axis=-1).any()) if blocked.ndim else bool(blocked)


def _repeat_heads(g, t: str, shape, groups: int) -> str:
    # (..., H, S, E) -> (..., H * groups, S, E), head h repeated `groups` times in a row (like xp.repeat)
    rank = len(shape)
    t = g.unsqueeze(t, [rank - 2])
    t = g.node("Expand", [t, g.ints([1] * (rank - 2) + [groups, 1, 1])])
    heads = shape[rank - 3]
    return g.reshape(t, tuple(shape[:rank - 3]) + (g.static(heads, "heads") * groups,) + tuple(shape[rank - 2:]))
