"""Converters for layer primitives: embedding, convolution, pooling, resampling, normalization, attention, dropout."""
from __future__ import annotations

import numpy

from ..ops.attention import ScaledDotProductAttention
from ..ops.conv import Conv, ConvTranspose
from ..ops.dropout import Dropout
from ..ops.embedding import Embedding
from ..ops.interpolate import NearestResample, SeparableResample
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


# -------------------------------------------------------------- resampling
# interpolate's primitives hold, per spatial axis, the source pixel of each output pixel (nearest modes) or an
# (out, in) weight matrix (linear, cubic, area). Where one ONNX Resize follows the same rule for these sizes, the
# op is that Resize node: nearest picks must be the very same pixels (Resize's picks are computed here in the
# float32 arithmetic onnxruntime uses), linear/cubic weights the same up to float32 rounding of the source
# coordinates (so along axes of hundreds of pixels results differ by about 1e-5 of the input's range, as PyTorch's
# do from onnxruntime's). Otherwise (area, a scale factor that isn't out / in, float64, ...) the op is exported as
# what it computes: per axis a Gather of the source pixels or a MatMul with the weight matrix, exact by construction.
_NEAREST_RESIZE = (("asymmetric", "floor"), ("half_pixel", "round_prefer_ceil"))  # torch nearest, nearest-exact
_CUBIC_A = -0.75  # torch's bicubic constant, also Resize's cubic_coeff_a default


def _resize_coordinates(n_in: int, n_out: int, transform: str):
    """Resize's source coordinate of each output pixel along one axis, in float32 as onnxruntime computes it."""
    f32 = numpy.float32
    i = numpy.arange(n_out, dtype=f32)
    if transform == "align_corners":
        return i * f32(n_in - 1) / f32(n_out - 1) if n_out > 1 else numpy.zeros(n_out, f32)
    scale = f32(n_out) / f32(n_in)  # what Resize derives from its sizes input
    return i / scale if transform == "asymmetric" else (i + f32(0.5)) / scale - f32(0.5)


def _resize_nearest_sources(n_in: int, n_out: int, transform: str, rounding: str):
    x = _resize_coordinates(n_in, n_out, transform).astype(numpy.float64)
    picked = numpy.floor(x) if rounding == "floor" else numpy.floor(x + 0.5)  # std::round: halves away from 0
    return numpy.clip(picked, 0, n_in - 1).astype(numpy.int64)


def _resize_matrix(n_in: int, n_out: int, transform: str, mode: str):
    """The (n_out, n_in) weights of Resize's linear or cubic mode (edge pixels repeated outside)."""
    x = _resize_coordinates(n_in, n_out, transform).astype(numpy.float64)
    rows = numpy.arange(n_out)
    m = numpy.zeros((n_out, n_in))
    if mode == "linear":
        x = numpy.clip(x, 0, n_in - 1)
        i0 = numpy.floor(x).astype(numpy.int64)
        t = x - i0
        numpy.add.at(m, (rows, i0), 1 - t)
        numpy.add.at(m, (rows, numpy.minimum(i0 + 1, n_in - 1)), t)
        return m
    i0 = numpy.floor(x).astype(numpy.int64)
    t, a = x - i0, _CUBIC_A

    def near(d):  # |d| <= 1
        return ((a + 2) * d - (a + 3)) * d * d + 1

    def far(d):  # 1 < |d| < 2
        return ((a * d - 5 * a) * d + 8 * a) * d - 4 * a

    for k, w in enumerate((far(t + 1), near(t), near(1 - t), far(2 - t))):
        numpy.add.at(m, (rows, numpy.clip(i0 + k - 1, 0, n_in - 1)), w)
    return m


def _resize(g, op, attrs: dict) -> str:
    return g.node("Resize", [g.input(0), "", "", g.ints(op.shape)], **attrs)


@converts(NearestResample)
def _nearest_resample(g, op):
    x, spatial = g.input(0), g.static(g.in_shape(0)[2:], "spatial size")
    sources = [None if s is None else g.static(s, "source pixels").array for s in op.params["sources"]]
    axes = [(d, n, src) for d, (n, src) in enumerate(zip(spatial, sources)) if src is not None]
    if not axes:
        return x
    if g.in_dtype(0) == numpy.float32:
        for transform, rounding in _NEAREST_RESIZE:
            if all(numpy.array_equal(_resize_nearest_sources(n, len(src), transform, rounding), src)
                   for _, n, src in axes):
                return _resize(g, op, dict(mode="nearest", coordinate_transformation_mode=transform,
                                           nearest_mode=rounding))
    for d, _, src in axes:
        x = g.node("Gather", [x, g.const(src.astype(numpy.int64))], axis=2 + d)
    return x


@converts(SeparableResample)
def _separable_resample(g, op):
    x, shape, dtype = g.input(0), g.in_shape(0), g.in_dtype(0)
    spatial = g.static(shape[2:], "spatial size")
    matrices = [None if m is None else g.static(m, "weights").array for m in op.params["matrices"]]
    axes = [(d, n, m) for d, (n, m) in enumerate(zip(spatial, matrices)) if m is not None]
    if not axes:
        return x
    cubic_ok = len(shape) == 4  # onnxruntime's cubic Resize takes (N, C, H, W) only
    if dtype == numpy.float32:
        for mode in ("linear", "cubic") if cubic_ok else ("linear",):
            for transform in ("half_pixel", "align_corners"):
                # Agreement within float32 rounding of coordinates up to n: a different rule differs by far more.
                if all(numpy.abs(_resize_matrix(n, len(m), transform, mode) - m).max() <= 2e-6 * max(n, 4)
                       for _, n, m in axes):
                    attrs = dict(mode=mode, coordinate_transformation_mode=transform)
                    if mode == "cubic":
                        attrs.update(cubic_coeff_a=_CUBIC_A, exclude_outside=0)
                    return _resize(g, op, attrs)
    # As gradstep computes it: one product per axis, last axis first.
    shape = list(shape)
    for d, n, m in reversed(axes):
        x = _matmul_along(g, x, shape, 2 + d, m.astype(dtype))
        shape[2 + d] = m.shape[0]
    return x


def _matmul_along(g, x: str, shape: list, axis: int, matrix) -> str:
    """``x`` with dim ``axis`` mapped by ``matrix`` (k, n): the dims after it folded into one for one MatMul."""
    rank = len(shape)
    if axis == rank - 1:
        return g.node("MatMul", [x, g.const(numpy.ascontiguousarray(matrix.T))])
    if axis == rank - 2:
        return g.node("MatMul", [g.const(matrix), x])
    trail = [g.static(s, "spatial size") for s in shape[axis + 1:]]
    folded = g.reshape(x, tuple(shape[:axis + 1]) + (int(numpy.prod(trail)),))
    y = g.node("MatMul", [g.const(matrix), folded])
    return g.reshape(y, tuple(shape[:axis]) + (matrix.shape[0],) + tuple(trail))


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
