"""Convolutions: conv1d, conv2d, conv_transpose1d, conv_transpose2d (im2col + one GEMM per group).

The forward pads the input once, takes a strided sliding-window view of it and
copies that view, once, into a column matrix of shape
``(C_in * kh * kw, N * H_out * W_out)``. That layout makes the copy read input
rows contiguously and lets the GEMM with the ``(C_out, C_in * kh * kw)`` weight
run without a transposed operand; grouped convolutions are one batched
matmul over the groups. The backward reuses the cached columns for the weight
gradient (one GEMM) and scatters the column gradient back onto the input with
``kh * kw`` strided slice adds (col2im). A transposed convolution is the same
pair of kernels with forward and backward swapped.

1-d convolutions and unbatched inputs run through the 2-d kernels as views with
a unit height or a unit batch.
"""
from __future__ import annotations

from typing import NamedTuple

from .. import native
from ..autograd.function import Function
from ..autograd.tensor import Tensor, _as_tensor
from ..backend import xp
from ..errors import DTypeError, ShapeError, fmt_shape
from ._registry import public


class _Geometry(NamedTuple):
    """Everything the kernels need, worked out and checked once by the public function."""

    x4: tuple  # input as (N, C, H, W)
    w4: tuple  # weight as 4-d
    pads: tuple  # (top, bottom, left, right)
    padded: tuple  # (Hp, Wp): size of the zero-padded input (conv) or uncropped output (transpose)
    grid: tuple  # (H, W) of the column grid: the output (conv) or the input (transpose)
    stride: tuple
    dilation: tuple
    groups: int
    out_shape: tuple  # the result's shape as the user sees it (1-d, unbatched)


# ------------------------------------------------------------------ kernels
def _pad(x, pads):
    """``x`` (N, C, H, W) with zeros around it (no copy when there is no padding)."""
    if not any(pads):
        return x
    top, bottom, left, right = pads
    n, c, h, w = x.shape
    out = xp.zeros((n, c, h + top + bottom, w + left + right), x.dtype)
    out[:, :, top:top + h, left:left + w] = x
    return out


def _im2col(x, kernel, geom):
    """Columns ``(C, kh, kw, N, H_grid, W_grid)`` of the padded input ``x`` (N, C, Hp, Wp), contiguous."""
    n, c = x.shape[:2]
    (kh, kw), (sh, sw), (dh, dw), (gh, gw) = kernel, geom.stride, geom.dilation, geom.grid
    s_n, s_c, s_h, s_w = x.strides
    windows = xp.lib.stride_tricks.as_strided(
        x, (c, kh, kw, n, gh, gw), (s_c, dh * s_h, dw * s_w, s_n, sh * s_h, sw * s_w), writeable=False
    )
    return xp.ascontiguousarray(windows)


def _col2im(cols, geom):
    """Sum columns ``(C, kh, kw, N, H_grid, W_grid)`` back onto the padded grid, as (C, N, Hp, Wp)."""
    c, kh, kw, n, gh, gw = cols.shape
    (sh, sw), (dh, dw) = geom.stride, geom.dilation
    # Accumulate channel-major, like the columns, so every add reads and writes whole rows.
    out = xp.zeros((c, n) + geom.padded, cols.dtype)
    # One vectorised add per kernel offset: for a fixed offset the windows hit distinct pixels.
    for i in range(kh):
        rows = slice(i * dh, i * dh + sh * (gh - 1) + 1, sh)
        for j in range(kw):
            out[:, :, rows, j * dw:j * dw + sw * (gw - 1) + 1:sw] += cols[:, i, j]
    return out


def _crop(x, pads):
    """Drop ``pads`` (top, bottom, left, right) from the last two axes (a view)."""
    top, bottom, left, right = pads
    if not any(pads):
        return x
    return x[..., top:x.shape[-2] - bottom, left:x.shape[-1] - right]


def _col2im_nchw(cols, geom, bias=None):
    """col2im, cropped and made contiguous (N, C, H, W), adding ``bias`` on the way."""
    acc = _crop(_col2im(cols, geom), geom.pads).transpose(1, 0, 2, 3)
    if bias is None:
        return xp.ascontiguousarray(acc)
    out = xp.empty(acc.shape, acc.dtype)
    xp.add(acc, bias[:, None, None], out=out)
    return out


def _weight_times(w, cols, groups, transpose_w=False):
    """``w (C_out, K) @ cols (C_in*kh*kw, M)`` per group (``transpose_w``: ``w.T @ cols``)."""
    if groups == 1:
        w2 = w.reshape(w.shape[0], -1)
        return (w2.T if transpose_w else w2) @ cols
    w3 = w.reshape(groups, w.shape[0] // groups, -1)
    out = xp.matmul(w3.transpose(0, 2, 1) if transpose_w else w3, cols.reshape(groups, -1, cols.shape[-1]))
    return out.reshape(-1, cols.shape[-1])


def _grad_weight(rows, cols, groups, w_shape):
    """``rows (P, M) @ cols (Q, M).T`` per group: the weight gradient, shaped like the weight."""
    if groups == 1:
        return (rows @ cols.T).reshape(w_shape)
    m = cols.shape[-1]
    out = xp.matmul(rows.reshape(groups, -1, m), cols.reshape(groups, -1, m).transpose(0, 2, 1))
    return out.reshape(w_shape)


def _to_rows(x):
    """(N, C, H, W) -> (C, N * H * W): channels as GEMM rows (a view when N == 1 and contiguous)."""
    n, c = x.shape[:2]
    if n == 1:
        return x.reshape(c, -1)
    return x.transpose(1, 0, 2, 3).reshape(c, -1)


def _from_rows(rows, n, grid, bias):
    """(C, N * H * W) -> contiguous (N, C, H, W), adding ``bias`` in the same pass."""
    c = rows.shape[0]
    if n == 1:
        out = rows.reshape(1, c, *grid)
        if bias is not None:
            out += bias[:, None, None]
        return out
    src = rows.reshape(c, n, *grid).transpose(1, 0, 2, 3)
    out = xp.empty((n, c) + tuple(grid), rows.dtype)
    if bias is None:
        xp.copyto(out, src)
    else:
        xp.add(src, bias[:, None, None], out=out)
    return out


# --------------------------------------------------------------- primitives
class Conv(Function):
    """Cross-correlation of (N, C_in, H, W) with (C_out, C_in / groups, kh, kw), plus bias.

    Ungrouped convolutions run channels-last (see :func:`_conv_nhwc`); grouped
    ones run channel-major with one batched matmul over the groups.
    """

    fresh_grads = True  # backward returns new arrays: leaves keep them without a copy

    def forward(self, x, weight, bias=None, *, geom):
        self.geom, self.x_shape, self.w_shape, self.has_bias = geom, x.shape, weight.shape, bias is not None
        w = weight.reshape(geom.w4)
        if geom.groups == 1:
            self.nhwc = True
            return _conv_nhwc(self, x.reshape(geom.x4), w, bias, geom).reshape(geom.out_shape)
        self.nhwc = False
        cols = _im2col(_pad(x.reshape(geom.x4), geom.pads), geom.w4[2:], geom)
        cols = cols.reshape(cols.shape[0] * cols.shape[1] * cols.shape[2], -1)
        if self.needs_input_grad[1]:
            self.cols = cols  # the weight gradient is one GEMM with these
        if self.needs_input_grad[0]:
            self.w = w
        out = _from_rows(_weight_times(w, cols, geom.groups), geom.x4[0], geom.grid, bias)
        return out.reshape(geom.out_shape)

    def backward(self, grad_output):
        if self.nhwc:
            return _conv_nhwc_backward(self, grad_output)
        geom = self.geom
        n, c = geom.x4[:2]
        g = _to_rows(grad_output.reshape((n, geom.w4[0]) + geom.grid))
        grad_x = grad_w = grad_b = None
        if self.needs_input_grad[1]:
            grad_w = _grad_weight(g, self.cols, geom.groups, self.w_shape)
        if self.needs_input_grad[0]:
            cols = _weight_times(self.w, g, geom.groups, transpose_w=True)
            cols = cols.reshape((c,) + geom.w4[2:] + (n,) + geom.grid)
            grad_x = _col2im_nchw(cols, geom).reshape(self.x_shape)
        if self.has_bias:
            grad_b = g.sum(axis=1) if self.needs_input_grad[2] else None
            return grad_x, grad_w, grad_b
        return grad_x, grad_w


# --------------------------------------------------------- channels-last path
# An ungrouped convolution is computed as rows = output pixels (N * H_out * W_out),
# columns = output channels: ``out (M, C_out) = cols (M, K) @ W (K, C_out)``. The result
# is returned as an (N, C_out, H, W) view of channels-last memory, which elementwise ops
# and pooling keep, so the next convolution reads its input (and the previous one its
# gradient) without a transposing copy. The columns are gathered pixel-major, reading
# runs of kw * C_in contiguous values, unless C_in is so small that the runs would be
# tiny: then they are gathered channel-major as before and used transposed.
_MIN_RUN = 16  # values per contiguous run below which the channel-major gather is faster


def _channels_last(x):
    """(N, C, H, W) -> (N, H, W, C): a view, contiguous when ``x`` lives channels-last."""
    return x.transpose(0, 2, 3, 1)


def _pad_nhwc(x, pads):
    """``x`` (N, C, H, W), any strides, as a zero-padded channels-last array (N, Hp, Wp, C)."""
    top, bottom, left, right = pads
    n, c, h, w = x.shape
    out = xp.empty((n, h + top + bottom, w + left + right, c), x.dtype)
    if top:
        out[:, :top] = 0
    if bottom:
        out[:, top + h:] = 0
    if left:
        out[:, top:top + h, :left] = 0
    if right:
        out[:, top:top + h, left + w:] = 0
    out[:, top:top + h, left:left + w] = _channels_last(x)
    return out


def _im2col_nhwc(xpad, kernel, geom, ones=False):
    """Columns (N * H_grid * W_grid, kh * kw * C) of a padded channels-last input, contiguous.

    ``ones``: append a column of ones (the bias then rides along in the GEMM).
    """
    n, _, _, c = xpad.shape
    (kh, kw), (sh, sw), (dh, dw), (gh, gw) = kernel, geom.stride, geom.dilation, geom.grid
    s_n, s_h, s_w, s_c = xpad.strides
    windows = xp.lib.stride_tricks.as_strided(
        xpad, (n, gh, gw, kh, kw, c), (s_n, sh * s_h, sw * s_w, dh * s_h, dw * s_w, s_c), writeable=False
    )
    k = kh * kw * c
    cols = xp.empty((n * gh * gw, k + ones), xpad.dtype)
    xp.copyto(cols[:, :k].reshape(windows.shape), windows)
    if ones:
        cols[:, k] = 1
    return cols


def _columns_nhwc(x, kernel, geom, ones):
    """:func:`_im2col_nhwc` of ``x`` (N, C, H, W) padded: by the compiled kernel straight from a
    channels-last input when it is built (no padded copy), else with NumPy."""
    nhwc = x.transpose(0, 2, 3, 1)
    if native.kernels is None or x.dtype not in (xp.float32, xp.float64) or not nhwc.flags.c_contiguous:
        return _im2col_nhwc(_pad_nhwc(x, geom.pads), kernel, geom, ones)
    (kh, kw), c = kernel, x.shape[1]
    cols = xp.empty((x.shape[0],) + geom.grid + (kh * kw * c + ones,), x.dtype)
    native.kernels.im2col(nhwc, cols, kh, kw, *geom.stride, *geom.dilation, geom.pads[0], geom.pads[2])
    return cols.reshape(-1, cols.shape[-1])


def _im2col_km(xpad, kernel, geom, ones=False):
    """Channel-major columns (C * kh * kw (+ 1 row of ones), N * H_grid * W_grid) of ``xpad`` (N, C, Hp, Wp)."""
    n, c = xpad.shape[:2]
    (kh, kw), (sh, sw), (dh, dw), (gh, gw) = kernel, geom.stride, geom.dilation, geom.grid
    s_n, s_c, s_h, s_w = xpad.strides
    windows = xp.lib.stride_tricks.as_strided(
        xpad, (c, kh, kw, n, gh, gw), (s_c, dh * s_h, dw * s_w, s_n, sh * s_h, sw * s_w), writeable=False
    )
    k = c * kh * kw
    cols = xp.empty((k + ones, n * gh * gw), xpad.dtype)
    xp.copyto(cols[:k].reshape(windows.shape), windows)
    if ones:
        cols[k] = 1
    return cols


def _conv_nhwc(fn, x, w, bias, geom):
    """Forward of an ungrouped convolution, channels-last; returns (N, C_out, H_out, W_out) (a view).

    With a bias the columns get a column of ones and the weight matrix a row holding the bias:
    the GEMM adds it (no pass over the output), and the weight GEMM of backward yields its gradient.
    """
    n, c = geom.x4[:2]
    c_out, _, kh, kw = geom.w4
    pixel_major = c * kw >= _MIN_RUN
    ones = bias is not None
    if pixel_major:
        cols = _columns_nhwc(x, (kh, kw), geom, ones)  # (M, K), K ordered (kh, kw, C)
        # The weight matrix stored (C_out, K) and used transposed: OpenBLAS runs this
        # tall-skinny product ~7% faster than with a (K, C_out) operand (measured).
        w2t = xp.empty((c_out, cols.shape[1]), w.dtype)
        w2t[:, :kh * kw * c].reshape(c_out, kh, kw, c)[...] = w.transpose(0, 2, 3, 1)
        if ones:
            w2t[:, -1] = bias
        out = cols @ w2t.T
    else:
        cols = _im2col_km(_pad(x, geom.pads), (kh, kw), geom, ones)  # (K, M), K ordered (C, kh, kw)
        w2 = xp.empty((cols.shape[0], c_out), w.dtype)
        w2[:c * kh * kw] = w.reshape(c_out, -1).T
        if ones:
            w2[-1] = bias
        out = cols.T @ w2
    fn.pixel_major = pixel_major
    if fn.needs_input_grad[1] or (ones and fn.needs_input_grad[2]):
        fn.cols = cols
    if fn.needs_input_grad[0]:
        fn.w = w
    return out.reshape((n,) + geom.grid + (c_out,)).transpose(0, 3, 1, 2)


def _conv_nhwc_backward(fn, grad_output):
    geom = fn.geom
    need = fn.needs_input_grad
    n, c = geom.x4[:2]
    c_out, _, kh, kw = geom.w4
    k = c * kh * kw
    g4 = grad_output.reshape((n, c_out) + geom.grid)
    g = _channels_last(g4).reshape(-1, c_out)  # (M, C_out): a view when the gradient lives channels-last
    grad_x = grad_w = grad_b = None
    if need[1] or (fn.has_bias and need[2]):
        cols = fn.cols
        gw2 = cols.T @ g if fn.pixel_major else cols @ g  # (K (+ 1), C_out); the last row is the bias's
        if need[1]:
            if fn.pixel_major:  # K ordered (kh, kw, C)
                grad_w = xp.ascontiguousarray(gw2[:k].reshape(kh, kw, c, c_out).transpose(3, 2, 0, 1))
            else:  # K ordered (C, kh, kw)
                grad_w = xp.ascontiguousarray(gw2[:k].T).reshape(geom.w4)
            grad_w = grad_w.reshape(fn.w_shape)
        if fn.has_bias and need[2]:
            grad_b = gw2[k].copy()
    if need[0]:
        grad_x = _col2im_nhwc(g, fn.w, geom).reshape(fn.x_shape)
    if fn.has_bias:
        return grad_x, grad_w, grad_b
    return grad_x, grad_w


def _col2im_nhwc(g, w, geom):
    """Input gradient from g (M, C_out): per kernel offset ``g @ W[:, :, i, j]``, summed onto the input grid.

    One batched matmul gives the column gradient offset-major, (kh * kw, M, C_in). The compiled
    kernel (when built) gathers it straight into the unpadded, channels-last input gradient;
    NumPy adds each offset's block onto a zeroed padded grid (kh * kw strided slice adds), then crops.
    """
    n, c = geom.x4[:2]
    kh, kw = geom.w4[2:]
    (sh, sw), (dh, dw), (gh, gw) = geom.stride, geom.dilation, geom.grid
    hp, wp = geom.padded
    top, bottom, left, right = geom.pads
    per_offset = xp.matmul(g, w.transpose(2, 3, 0, 1).reshape(kh * kw, w.shape[0], c))
    if native.kernels is not None and g.dtype in (xp.float32, xp.float64):
        out = xp.empty((n, hp - top - bottom, wp - left - right, c), g.dtype)
        native.kernels.col2im(per_offset.reshape(kh * kw, n, gh, gw, c), out, kh, kw, sh, sw, dh, dw, top, left)
        return out.transpose(0, 3, 1, 2)
    out = xp.zeros((n, hp, wp, c), g.dtype)
    for i in range(kh):
        rows = slice(i * dh, i * dh + sh * (gh - 1) + 1, sh)
        for j in range(kw):
            out[:, rows, j * dw:j * dw + sw * (gw - 1) + 1:sw] += per_offset[i * kw + j].reshape(n, gh, gw, c)
    return out[:, top:hp - bottom, left:wp - right].transpose(0, 3, 1, 2)


class ConvTranspose(Function):
    """Transposed convolution of (N, C_in, H, W) with (C_in, C_out / groups, kh, kw), plus bias."""

    def forward(self, x, weight, bias=None, *, geom):
        self.geom, self.x_shape, self.w_shape, self.has_bias = geom, x.shape, weight.shape, bias is not None
        w = weight.reshape(geom.w4)
        rows = _to_rows(x.reshape(geom.x4))
        if self.needs_input_grad[1]:
            self.rows = rows
        if self.needs_input_grad[0]:
            self.w = w
        n, groups = geom.x4[0], geom.groups
        cols = _weight_times(w, rows, groups, transpose_w=True)
        cols = cols.reshape((w.shape[1] * groups,) + w.shape[2:] + (n,) + geom.grid)
        return _col2im_nchw(cols, geom, bias).reshape(geom.out_shape)

    def backward(self, grad_output):
        geom = self.geom
        c_out = geom.w4[1] * geom.groups
        top, bottom, left, right = geom.pads
        out_hw = (geom.padded[0] - top - bottom, geom.padded[1] - left - right)
        g = grad_output.reshape((geom.x4[0], c_out) + out_hw)
        cols = _im2col(_pad(g, geom.pads), geom.w4[2:], geom)
        cols = cols.reshape(cols.shape[0] * cols.shape[1] * cols.shape[2], -1)
        grad_x = grad_w = grad_b = None
        if self.needs_input_grad[0]:
            grad_x = _from_rows(_weight_times(self.w, cols, geom.groups), geom.x4[0], geom.grid, None)
            grad_x = grad_x.reshape(self.x_shape)
        if self.needs_input_grad[1]:
            grad_w = _grad_weight(self.rows, cols, geom.groups, self.w_shape)
        if self.has_bias:
            grad_b = g.sum(axis=(0, 2, 3)) if self.needs_input_grad[2] else None
            return grad_x, grad_w, grad_b
        return grad_x, grad_w


# --------------------------------------------------------- argument checks
_SPATIAL = {1: "L", 2: "H, W"}
_KERNEL = {1: "k", 2: "kh, kw"}


def _ints(value, dims, name, op, minimum):
    """``value`` (int or sequence of ``dims`` ints) as a tuple of ``dims`` ints >= ``minimum``."""
    if isinstance(value, Tensor):
        value = value.tolist()
    if isinstance(value, (list, tuple)) and len(value) == 1:
        value = value[0]
    if isinstance(value, (list, tuple)):
        out = tuple(value)
    else:
        out = (value,) * dims
    if len(out) != dims or not all(isinstance(v, int) and not isinstance(v, bool) for v in out):
        raise DTypeError(f"{op}: {name} must be an int or a tuple of {dims} ints, got {value!r}")
    if min(out) < minimum:
        raise ShapeError(f"{op}: {name} must be >= {minimum}, got {value!r}")
    return out


def _operands(op, dims, input, weight, bias, transposed):
    x, w = _as_tensor(input), _as_tensor(weight)
    b = None if bias is None else _as_tensor(bias)
    sp, kern = _SPATIAL[dims], _KERNEL[dims]
    if x.ndim not in (dims + 1, dims + 2):
        raise ShapeError(f"{op}: expected input of shape (N, C_in, {sp}) or (C_in, {sp}), got {fmt_shape(x.shape)}")
    if w.ndim != dims + 2:
        want = f"(C_in, C_out / groups, {kern})" if transposed else f"(C_out, C_in / groups, {kern})"
        raise ShapeError(f"{op}: expected weight of shape {want}, got {fmt_shape(w.shape)}")
    for t, what in ((w, "weight"), (b, "bias")):
        if t is not None and t.dtype != x.dtype:
            raise DTypeError(
                f"{op}: input ({x.dtype}) and {what} ({t.dtype}) must have the same dtype; "
                f"convert one of them, e.g. input.float()"
            )
    if x.dtype.kind not in "fiu":
        raise DTypeError(f"{op}: expected a floating point input, got dtype {x.dtype}")
    return x, w, b


def _check_groups(op, groups, c_in, channels_out, x, w):
    if not isinstance(groups, int) or isinstance(groups, bool) or groups < 1:
        raise ShapeError(f"{op}: groups must be a positive int, got {groups!r}")
    if c_in % groups:
        raise ShapeError(f"{op}: groups={groups} must divide the input channels, but input {fmt_shape(x.shape)} has {c_in}")
    if channels_out % groups:
        raise ShapeError(
            f"{op}: groups={groups} must divide the output channels, but weight {fmt_shape(w.shape)} has {channels_out}"
        )


def _check_bias(op, b, channels_out):
    if b is not None and b.shape != (channels_out,):
        raise ShapeError(f"{op}: expected bias of shape ({channels_out},) (one per output channel), got {fmt_shape(b.shape)}")


def _as_4d(x, w, dims):
    """Shapes of input and weight as 2-d convolution operands (unit batch / unit height added)."""
    xs = tuple(x.shape) if x.ndim == dims + 2 else (1,) + tuple(x.shape)
    if dims == 1:
        return xs[:2] + (1,) + xs[2:], tuple(w.shape[:2]) + (1,) + tuple(w.shape[2:])
    return xs, tuple(w.shape)


def _user_shape(x, dims, c_out, hw):
    """The result's shape: drop the unit height of 1-d and the unit batch of unbatched inputs."""
    spatial = hw[1:] if dims == 1 else hw
    return ((x.shape[0],) if x.ndim == dims + 2 else ()) + (c_out,) + tuple(spatial)


def _conv(op, dims, input, weight, bias, stride, padding, dilation, groups):
    x, w, b = _operands(op, dims, input, weight, bias, transposed=False)
    x4, w4 = _as_4d(x, w, dims)
    c_out, c_group = w4[:2]
    _check_groups(op, groups, x4[1], c_out, x, w)
    if c_group * groups != x4[1]:
        raise ShapeError(
            f"{op}: weight expects {c_group} input channels (x groups={groups}) but input has {x4[1]} channels: "
            f"input {fmt_shape(x.shape)}, weight {fmt_shape(w.shape)}"
        )
    _check_bias(op, b, c_out)
    stride = _ints(stride, dims, "stride", op, 1)
    dilation = _ints(dilation, dims, "dilation", op, 1)
    kernel = tuple(w.shape[2:])
    if isinstance(padding, str):
        if padding == "valid":
            pads = ((0, 0),) * dims
        elif padding == "same":
            if any(s != 1 for s in stride):
                raise ShapeError(f"{op}: padding='same' is not supported for strided convolutions, got stride={stride}")
            # PyTorch puts the odd pixel of an even total on the bottom/right.
            pads = tuple((d * (k - 1) // 2, d * (k - 1) - d * (k - 1) // 2) for k, d in zip(kernel, dilation))
        else:
            raise ShapeError(f"{op}: padding must be an int, a tuple of ints, 'valid' or 'same', got {padding!r}")
    else:
        pads = tuple((p, p) for p in _ints(padding, dims, "padding", op, 0))
    if dims == 1:
        pads, stride, dilation = ((0, 0),) + pads, (1,) + stride, (1,) + dilation
    padded = tuple(n + lo + hi for n, (lo, hi) in zip(x4[2:], pads))
    span = tuple(d * (k - 1) + 1 for k, d in zip(w4[2:], dilation))
    if any(s > p for s, p in zip(span, padded)):
        raise ShapeError(
            f"{op}: kernel (dilated size {' x '.join(map(str, span[2 - dims:]))}) is larger than the padded input "
            f"({' x '.join(map(str, padded[2 - dims:]))}): input {fmt_shape(x.shape)}, weight {fmt_shape(w.shape)}"
        )
    grid = tuple((p - s) // st + 1 for p, s, st in zip(padded, span, stride))
    geom = _Geometry(x4, w4, pads[0] + pads[1], padded, grid, stride, dilation, groups,
                     _user_shape(x, dims, c_out, grid))
    return Conv.apply(x, w, geom=geom) if b is None else Conv.apply(x, w, b, geom=geom)


def _conv_transpose(op, dims, input, weight, bias, stride, padding, output_padding, groups, dilation):
    x, w, b = _operands(op, dims, input, weight, bias, transposed=True)
    x4, w4 = _as_4d(x, w, dims)
    c_out = w4[1] * (groups if isinstance(groups, int) else 1)
    _check_groups(op, groups, x4[1], c_out, x, w)
    if w4[0] != x4[1]:
        raise ShapeError(
            f"{op}: weight expects {w4[0]} input channels but input has {x4[1]} channels: "
            f"input {fmt_shape(x.shape)}, weight {fmt_shape(w.shape)} (C_in, C_out / groups, {_KERNEL[dims]})"
        )
    _check_bias(op, b, c_out)
    stride = _ints(stride, dims, "stride", op, 1)
    dilation = _ints(dilation, dims, "dilation", op, 1)
    if isinstance(padding, str):
        raise ShapeError(f"{op}: padding must be an int or a tuple of ints, got {padding!r}")
    pads = _ints(padding, dims, "padding", op, 0)
    extra = _ints(output_padding, dims, "output_padding", op, 0)
    if any(e >= max(s, d) for e, s, d in zip(extra, stride, dilation)):
        raise ShapeError(
            f"{op}: output_padding must be smaller than either stride or dilation, got output_padding={extra}, "
            f"stride={stride}, dilation={dilation}"
        )
    if dims == 1:
        pads, extra, stride, dilation = (0,) + pads, (0,) + extra, (1,) + stride, (1,) + dilation
    padded = tuple((n - 1) * s + d * (k - 1) + 1 + e for n, s, d, k, e in zip(x4[2:], stride, dilation, w4[2:], extra))
    out_hw = tuple(p - 2 * q for p, q in zip(padded, pads))
    if min(out_hw) < 1:
        raise ShapeError(
            f"{op}: padding {pads[2 - dims:]} leaves an empty output ({' x '.join(map(str, out_hw[2 - dims:]))}): "
            f"input {fmt_shape(x.shape)}, weight {fmt_shape(w.shape)}"
        )
    geom = _Geometry(x4, w4, (pads[0], pads[0], pads[1], pads[1]), padded, x4[2:], stride, dilation, groups,
                     _user_shape(x, dims, c_out, out_hw))
    return ConvTranspose.apply(x, w, geom=geom) if b is None else ConvTranspose.apply(x, w, b, geom=geom)


# ------------------------------------------------------------------ public
@public(method=False)
def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups: int = 1) -> Tensor:
    """2-d convolution (cross-correlation) over an image batch, as ``torch.nn.functional.conv2d``.

    Args:
        input: (N, C_in, H, W) or unbatched (C_in, H, W).
        weight: (C_out, C_in / groups, kh, kw).
        bias: optional (C_out,).
        stride, dilation: int or (h, w).
        padding: int, (h, w), ``'valid'`` (none) or ``'same'`` (output as big as the input; stride 1).
        groups: split the channels into this many independent convolutions.

    Shape:
        output (N, C_out, H_out, W_out) with
        ``H_out = (H + 2 * padding - dilation * (kh - 1) - 1) // stride + 1``.
    """
    return _conv("conv2d", 2, input, weight, bias, stride, padding, dilation, groups)


@public(method=False)
def conv1d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups: int = 1) -> Tensor:
    """1-d convolution over a sequence batch, as ``torch.nn.functional.conv1d``.

    Args:
        input: (N, C_in, L) or unbatched (C_in, L).
        weight: (C_out, C_in / groups, k).
        bias, stride, padding, dilation, groups: as :func:`conv2d`, one spatial dim.

    Shape:
        output (N, C_out, L_out), ``L_out = (L + 2 * padding - dilation * (k - 1) - 1) // stride + 1``.
    """
    return _conv("conv1d", 1, input, weight, bias, stride, padding, dilation, groups)


@public(method=False)
def conv_transpose2d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups: int = 1,
                     dilation=1) -> Tensor:
    """2-d transposed convolution (the gradient of :func:`conv2d` w.r.t. its input), as PyTorch's.

    Args:
        input: (N, C_in, H, W) or unbatched (C_in, H, W).
        weight: (C_in, C_out / groups, kh, kw).
        bias: optional (C_out,).
        output_padding: extra rows/columns on the bottom/right of the output (< stride or dilation).

    Shape:
        output (N, C_out, H_out, W_out) with
        ``H_out = (H - 1) * stride - 2 * padding + dilation * (kh - 1) + output_padding + 1``.
    """
    return _conv_transpose("conv_transpose2d", 2, input, weight, bias, stride, padding, output_padding, groups,
                           dilation)


@public(method=False)
def conv_transpose1d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups: int = 1,
                     dilation=1) -> Tensor:
    """1-d transposed convolution, as ``torch.nn.functional.conv_transpose1d``.

    Args:
        input: (N, C_in, L) or unbatched (C_in, L).
        weight: (C_in, C_out / groups, k).
    """
    return _conv_transpose("conv_transpose1d", 1, input, weight, bias, stride, padding, output_padding, groups,
                           dilation)
