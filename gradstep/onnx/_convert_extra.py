"""Converters for the extra activations (``ops/activation_extra.py``), unfold / fold (``ops/layers_extra.py``)
and cosine similarity (``ops/loss_extra.py``).

Activations become the ONNX operator of the same name (HardSwish, Selu, PRelu, ...) for float32; those
operators have only float32 kernels in onnxruntime, so other dtypes get the same formula written with
elementwise nodes, in the order gradstep computes it. ``unfold`` is a Gather of every block's pixels from
the flattened image and ``fold`` its adjoint, a ScatterElements that adds each column into the image; both
read one index table, so values are copied (unfold) or summed in gradstep's order (fold) exactly, in every
dtype. pixel_shuffle / pixel_unshuffle / channel_shuffle and pairwise_distance are made of ops that already
have converters.
"""
from __future__ import annotations


import numpy

from ..ops.activation_extra import (
    SELU_ALPHA, SELU_SCALE, Glu, Hardshrink, Hardsigmoid, Hardswish, Prelu, Rrelu, ScaledElu, Softshrink, Softsign,
    Tanhshrink, Threshold,
)
from ..ops.layers_extra import Col2Im, Im2Col
from ..ops.loss_extra import CosineSimilarity
from ._batch import Dyn
from ._registry import converts
from .errors import UnsupportedOpError


def _native(g) -> bool:
    """Whether onnxruntime has a kernel for the dedicated activation operator: float32 only."""
    return g.in_dtype(0) == numpy.float32


# ------------------------------------------------------------------ hard versions
@converts(Hardswish)
def _hardswish(g, op):
    x, dtype = g.input(0), g.in_dtype(0)
    if _native(g):
        return g.node("HardSwish", [x])
    clipped = g.node("Clip", [g.node("Add", [x, g.scalar(3, dtype)]), g.scalar(0, dtype), g.scalar(6, dtype)])
    return g.node("Div", [g.node("Mul", [x, clipped]), g.scalar(6, dtype)])


@converts(Hardsigmoid)
def _hardsigmoid(g, op):
    x, dtype = g.input(0), g.in_dtype(0)
    if _native(g):
        return g.node("HardSigmoid", [x], alpha=1 / 6, beta=0.5)
    clipped = g.node("Clip", [g.node("Add", [x, g.scalar(3, dtype)]), g.scalar(0, dtype), g.scalar(6, dtype)])
    return g.node("Div", [clipped, g.scalar(6, dtype)])


# ------------------------------------------------------------------ ELU family
@converts(ScaledElu)
def _scaled_elu(g, op):
    """SELU and CELU as their operators; otherwise ``x <= 0 ? neg_coef * (exp(x * input_scale) - 1) : scale * x``."""
    x, dtype = g.input(0), g.in_dtype(0)
    scale, neg_coef, input_scale = (float(op.params[k]) for k in ("scale", "neg_coef", "input_scale"))
    if _native(g):
        if (scale, neg_coef, input_scale) == (SELU_SCALE, SELU_ALPHA * SELU_SCALE, 1.0):
            return g.node("Selu", [x], alpha=SELU_ALPHA, gamma=SELU_SCALE)
        if scale == 1.0 and input_scale == 1.0 / neg_coef:  # celu(alpha=neg_coef)
            return g.node("Celu", [x], alpha=neg_coef)
    # exp of the negative part only, as gradstep: the unused branch can't overflow
    z = g.node("Mul", [g.node("Min", [x, g.scalar(0, dtype)]), g.scalar(input_scale, dtype)])
    neg = g.node("Mul", [g.node("Sub", [g.node("Exp", [z]), g.scalar(1, dtype)]), g.scalar(neg_coef, dtype)])
    pos = g.node("Mul", [x, g.scalar(scale, dtype)])
    return g.node("Where", [g.node("LessOrEqual", [x, g.scalar(0, dtype)]), neg, pos])


# ------------------------------------------------------------------ PReLU, RReLU
def _negative_slope(g, x: str, slope: str) -> str:
    """``x > 0 ? x : slope * x`` (NaN gets the slope, which keeps it NaN), for dtypes without a PRelu kernel."""
    zero = g.scalar(0, g.in_dtype(0))
    return g.node("Where", [g.node("Greater", [x, zero]), x, g.node("Mul", [slope, x])])


@converts(Prelu)
def _prelu(g, op):
    # One weight value applies everywhere; C values go along dim 1, so they are shaped (C, 1, ..., 1) to broadcast
    # from the right onto (N, C, ...), as torch's exporter does.
    x, rank = g.input(0), len(g.in_shape(0))
    size = int(numpy.prod(g.in_shape(1)))
    slope_shape = () if size == 1 or rank < 2 else (size,) + (1,) * (rank - 2)
    slope = g.reshape(g.input(1), slope_shape)
    return g.node("PRelu", [x, slope]) if _native(g) else _negative_slope(g, x, slope)


@converts(Rrelu)
def _rrelu(g, op):
    lower, upper = float(op.params["lower"]), float(op.params["upper"])
    if op.params["training"] and lower != upper:
        g.fail("rrelu ran in training mode (its random slopes can't be exported); the exporter calls "
               "model.eval(), so this comes from F.rrelu(..., training=True): pass training=self.training",
               UnsupportedOpError)
    slope = (lower + upper) / 2  # evaluation's slope; with lower == upper also every training draw
    x = g.input(0)
    if _native(g):
        return g.node("LeakyRelu", [x], alpha=slope)
    return _negative_slope(g, x, g.scalar(slope, g.in_dtype(0)))


# ------------------------------------------------------------------ soft versions
@converts(Softsign)
def _softsign(g, op):
    x = g.input(0)
    if _native(g):
        return g.node("Softsign", [x])
    return g.node("Div", [x, g.node("Add", [g.node("Abs", [x]), g.scalar(1, g.in_dtype(0))])])


@converts(Tanhshrink)
def _tanhshrink(g, op):
    x = g.input(0)
    return g.node("Sub", [x, g.node("Tanh", [x])])


# ------------------------------------------------------------------ thresholds and shrinkage
@converts(Threshold)
def _threshold(g, op):
    # x <= threshold ? value : x, as gradstep writes it: NaN passes through (Greater(x, th) would replace it)
    x, dtype = g.input(0), g.in_dtype(0)
    below = g.node("LessOrEqual", [x, g.scalar(op.params["threshold"], dtype)])
    return g.node("Where", [below, g.scalar(op.params["value"], dtype), x])


@converts(Hardshrink, Softshrink)
def _shrink(g, op):
    # Shrink: x - bias above lambd, x + bias below -lambd, 0 between, and 0 for NaN, which gradstep keeps
    x, lambd = g.input(0), float(op.params["lambd"])
    shrunk = g.node("Shrink", [x], lambd=lambd, bias=lambd if op.fn is Softshrink else 0.0)
    return g.node("Where", [g.node("IsNaN", [x]), x, shrunk])


# ------------------------------------------------------------------ GLU
@converts(Glu)
def _glu(g, op):
    x, dim = g.input(0), int(op.params["dim"])
    if g.opset >= 18:
        first, second = g.node("Split", [x], n_out=2, axis=dim, num_outputs=2)
    else:
        half = g.static(g.in_shape(0)[dim], f"size along dim {dim}") // 2
        first, second = g.node("Split", [x, g.ints([half, half])], n_out=2, axis=dim)
    return g.node("Mul", [first, g.node("Sigmoid", [second])])


# ------------------------------------------------------------------ unfold / fold
def _block_index(g, geom, kernel):
    """(kh * kw, L) int64: where each kernel position of each block reads in the flattened (H * W) image;
    H * W (one past the end) where it falls into the zero padding."""
    (kh, kw), (sh, sw), (dh, dw) = kernel, g.static(geom.stride, "stride"), g.static(geom.dilation, "dilation")
    (gh, gw), (h, w) = g.static(geom.grid, "block grid"), g.static(geom.x4[2:], "spatial size")
    ph, pw = g.static(geom.pads, "padding")[::2]
    rows = (numpy.arange(gh) * sh)[None, :] + (numpy.arange(kh) * dh)[:, None] - ph  # (kh, gh)
    cols = (numpy.arange(gw) * sw)[None, :] + (numpy.arange(kw) * dw)[:, None] - pw  # (kw, gw)
    r, c = rows[:, None, :, None], cols[None, :, None, :]  # -> (kh, kw, gh, gw)
    inside = (r >= 0) & (r < h) & (c >= 0) & (c < w)
    index = numpy.where(inside, r * w + c, h * w)
    return index.reshape(kh * kw, gh * gw).astype(numpy.int64), h * w


def _n(geom):
    n = geom.x4[0]
    return n if isinstance(n, Dyn) else int(n)


@converts(Im2Col)
def _unfold(g, op):
    # (N, C, H * W) with one zero appended, gathered at the blocks' positions: (N, C, kh * kw, L), then
    # (N, C * kh * kw, L): channel, then kernel row, then kernel column, as torch's layout
    geom, kernel = op.params["geom"], tuple(op.params["kernel"])
    index, hw = _block_index(g, geom, kernel)
    c = g.static(geom.x4[1], "channels")
    flat = g.reshape(g.input(0), (_n(geom), c, hw))
    padded = g.node("Pad", [flat, g.ints([0, 0, 0, 0, 0, 1])], mode="constant")  # zero value by default
    blocks = g.node("Gather", [padded, g.const(index)], axis=2)
    return g.reshape(blocks, op.shape)


@converts(Col2Im)
def _fold(g, op):
    # Each column value added at its block position of an (N, C, H * W + 1) zero image (the extra slot
    # collects what lands in the padding, and is dropped), kernel positions in gradstep's order.
    geom, kernel, dtype = op.params["geom"], tuple(op.params["kernel"]), g.in_dtype(0)
    index, hw = _block_index(g, geom, kernel)
    n, c = _n(geom), g.static(geom.x4[1], "channels")
    updates = g.reshape(g.input(0), (n, c, index.size))
    positions = g.node("Expand", [g.const(index.reshape(1, 1, -1)), g.node("Shape", [updates])])
    zeros = g.node("Expand", [g.scalar(0, dtype), g.ints([n, c, hw + 1])])
    image = g.node("ScatterElements", [zeros, positions, updates], axis=2, reduction="add")
    image = g.node("Slice", [image, g.ints([0]), g.ints([hw]), g.ints([2])])
    return g.reshape(image, op.shape)


# ------------------------------------------------------------------ cosine similarity
@converts(CosineSimilarity)
def _cosine_similarity(g, op):
    """``sum(x1 / max(||x1||, eps) * x2 / max(||x2||, eps))`` along ``dim``, the norms taken after broadcasting."""
    dim, dtype = int(op.params["dim"]), op.dtype
    a, b = g.input(0), g.input(1)
    if not _same_shape(g.in_shape(0), g.in_shape(1)):  # Expand broadcasts both ways
        a, b = g.node("Expand", [a, g.node("Shape", [b])]), g.node("Expand", [b, g.node("Shape", [a])])
    eps = g.scalar(op.params["eps"], dtype)

    def unit(t):
        norm = g.node("Sqrt", [g.reduce("ReduceSum", g.node("Mul", [t, t]), [dim], True)])
        return g.node("Div", [t, g.node("Max", [norm, eps])])

    return g.reduce("ReduceSum", g.node("Mul", [unit(a), unit(b)]), [dim], False)


def _same_shape(s, t) -> bool:
    if len(s) != len(t):
        return False
    for m, n in zip(s, t):
        if isinstance(m, Dyn) or isinstance(n, Dyn):
            if not (isinstance(m, Dyn) and isinstance(n, Dyn) and (m.k, m.c) == (n.k, n.c)):
                return False
        elif m != n:
            return False
    return True
