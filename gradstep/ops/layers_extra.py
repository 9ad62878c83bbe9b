"""Layers' functional forms that fit no other op family, as ``torch.nn.functional`` has them.

* ``pixel_shuffle`` / ``pixel_unshuffle`` / ``channel_shuffle``: a reshape, a
  permute and a reshape (their gradients are the inverse permutations);
* ``unfold`` / ``fold``: im2col and its adjoint col2im over NCHW, one
  ``Function`` each (the backward of one is the forward of the other);
* ``instance_norm``: group norm with one group per channel (the same fused
  ``Function`` and closed-form gradients) plus torch's running-statistics update;
* ``local_response_norm``: a sum of squares over neighbouring channels, composed
  of pad and average pooling, as PyTorch writes it.

Each public function checks its arguments through an ``_op`` label, so the
modules of ``gradstep.nn`` reuse the same checks with their own name in the message.
"""
from __future__ import annotations

import math
import numbers

from ..autograd.function import Function
from ..autograd.tensor import Tensor, _as_tensor
from ..backend import xp
from ..errors import ArgumentTypeError, DTypeError, InvalidArgument, ShapeError, fmt_shape
from ._registry import public
from .conv import _Geometry, _col2im_nchw, _ints, _pad
from .normalization import BatchNorm, GroupNorm, _affine_inputs
from .padding import pad
from .pool import avg_pool2d


def _factor(op, name, value):
    """A positive int argument (``upscale_factor``, ``groups``, ``size``), refused naming ``op``."""
    if isinstance(value, Tensor) and value.ndim == 0 and value.dtype.kind in "iu":
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ArgumentTypeError(f"{op}: {name} must be an int, got {value!r} ({type(value).__name__})")
    if value < 1:
        raise InvalidArgument(f"{op}: {name} must be a positive int, got {name}={value}")
    return int(value)


# ---------------------------------------------------------------- shuffles
def _pixel_shuffle(input, upscale_factor, op="pixel_shuffle"):
    x = _as_tensor(input)
    r = _factor(op, "upscale_factor", upscale_factor)
    if x.ndim < 3:
        raise ShapeError(f"{op}: expected input of shape (*, C * r^2, H, W) with at least 3 dims, "
                         f"got {fmt_shape(x.shape)}")
    *batch, c, h, w = x.shape
    if c % (r * r):
        raise ShapeError(f"{op}: the channel dim (-3) of input {fmt_shape(x.shape)} must be divisible by "
                         f"upscale_factor^2 = {r * r}, got {c} channels")
    b = len(batch)
    y = x.reshape(*batch, c // (r * r), r, r, h, w)
    y = y.permute(*range(b), b, b + 3, b + 1, b + 4, b + 2)  # (*, C, H, r, W, r)
    return y.reshape(*batch, c // (r * r), h * r, w * r)


def _pixel_unshuffle(input, downscale_factor, op="pixel_unshuffle"):
    x = _as_tensor(input)
    r = _factor(op, "downscale_factor", downscale_factor)
    if x.ndim < 3:
        raise ShapeError(f"{op}: expected input of shape (*, C, H * r, W * r) with at least 3 dims, "
                         f"got {fmt_shape(x.shape)}")
    *batch, c, h, w = x.shape
    for what, size in (("height (dim -2)", h), ("width (dim -1)", w)):
        if size % r:
            raise ShapeError(f"{op}: the {what} of input {fmt_shape(x.shape)} must be divisible by "
                             f"downscale_factor={r}, got {size}")
    b = len(batch)
    y = x.reshape(*batch, c, h // r, r, w // r, r)
    y = y.permute(*range(b), b, b + 2, b + 4, b + 1, b + 3)  # (*, C, r, r, H / r, W / r)
    return y.reshape(*batch, c * r * r, h // r, w // r)


def _channel_shuffle(input, groups, op="channel_shuffle"):
    x = _as_tensor(input)
    g = _factor(op, "groups", groups)
    if x.ndim < 3:
        raise ShapeError(f"{op}: expected input of shape (N, C, *) with more than 2 dims, got {fmt_shape(x.shape)}")
    n, c, *rest = x.shape
    if c % g:
        raise ShapeError(f"{op}: the number of channels of input {fmt_shape(x.shape)} must be divisible by "
                         f"groups, got {c} channels and groups={g}")
    return x.reshape(n, g, c // g, *rest).transpose(1, 2).reshape(n, c, *rest)


@public(method=False)
def pixel_shuffle(input, upscale_factor):
    """``(*, C * r^2, H, W) -> (*, C, H * r, W * r)``: channels become sub-pixel positions.

    Output channel ``c``, row ``h * r + i``, column ``w * r + j`` is input channel
    ``c * r^2 + i * r + j`` at ``(h, w)``, as ``torch.nn.functional.pixel_shuffle``.
    """
    return _pixel_shuffle(input, upscale_factor)


@public(method=False)
def pixel_unshuffle(input, downscale_factor):
    """``(*, C, H * r, W * r) -> (*, C * r^2, H, W)``: the inverse of :func:`pixel_shuffle`."""
    return _pixel_unshuffle(input, downscale_factor)


@public(method=False)
def channel_shuffle(input, groups):
    """Interleave the channels of ``(N, C, *)`` from ``groups`` groups: ``(g, C / g) -> (C / g, g)``.

    Channel ``i * (C / g) + j`` moves to ``j * g + i``, as ShuffleNet's channel shuffle.
    """
    return _channel_shuffle(input, groups)


# ------------------------------------------------------------- unfold / fold
def _blocks(x4, kernel, dilation, padding, stride):
    return tuple((n + 2 * p - d * (k - 1) - 1) // s + 1
                 for n, k, d, p, s in zip(x4[2:], kernel, dilation, padding, stride))


def _geometry(x4, kernel, dilation, padding, stride, grid, out_shape):
    (ph, pw), (h, w) = padding, x4[2:]
    return _Geometry(x4, (0, x4[1]) + kernel, (ph, ph, pw, pw), (h + 2 * ph, w + 2 * pw), grid, stride, dilation,
                     1, out_shape)


def _gather(xpad, kernel, geom):
    """im2col of the padded ``xpad`` (N, C, Hp, Wp): contiguous ``(N, C * kh * kw, L)``, torch's layout."""
    n, c = xpad.shape[:2]
    (kh, kw), (sh, sw), (dh, dw), (gh, gw) = kernel, geom.stride, geom.dilation, geom.grid
    s_n, s_c, s_h, s_w = xpad.strides
    windows = xp.lib.stride_tricks.as_strided(
        xpad, (n, c, kh, kw, gh, gw), (s_n, s_c, dh * s_h, dw * s_w, sh * s_h, sw * s_w), writeable=False)
    return xp.ascontiguousarray(windows).reshape(n, c * kh * kw, gh * gw)


def _scatter(cols, kernel, geom):
    """col2im: sum ``(N, C * kh * kw, L)`` blocks onto the (cropped) ``(N, C, H, W)`` image."""
    n, c = geom.x4[:2]
    cols6 = cols.reshape((n, c) + kernel + geom.grid).transpose(1, 2, 3, 0, 4, 5)  # (C, kh, kw, N, gh, gw)
    return _col2im_nchw(cols6, geom)


class Im2Col(Function):
    """``unfold``: sliding blocks of (N, C, H, W) as columns (N, C * kh * kw, L)."""

    saves_inputs = False
    fresh_grads = True

    def forward(self, x, *, geom, kernel):
        self.geom, self.kernel, self.x_shape = geom, kernel, x.shape
        return _gather(_pad(x.reshape(geom.x4), geom.pads), kernel, geom).reshape(geom.out_shape)

    def backward(self, grad_output):
        return _scatter(grad_output, self.kernel, self.geom).reshape(self.x_shape)


class Col2Im(Function):
    """``fold``: sum columns (N, C * kh * kw, L) back into (N, C, H, W), overlaps adding up."""

    saves_inputs = False
    fresh_grads = True

    def forward(self, cols, *, geom, kernel):
        self.geom, self.kernel, self.cols_shape = geom, kernel, cols.shape
        return _scatter(cols, self.kernel, geom).reshape(geom.out_shape)

    def backward(self, grad_output):
        g = _pad(grad_output.reshape(self.geom.x4), self.geom.pads)
        return _gather(g, self.kernel, self.geom).reshape(self.cols_shape)


def _window_args(op, kernel_size, dilation, padding, stride):
    return (_ints(kernel_size, 2, "kernel_size", op, 1), _ints(dilation, 2, "dilation", op, 1),
            _ints(padding, 2, "padding", op, 0), _ints(stride, 2, "stride", op, 1))


def _describe(kernel, dilation, padding, stride):
    return f"kernel_size={kernel}, dilation={dilation}, padding={padding}, stride={stride}"


def _float_input(op, x):
    if x.dtype.kind != "f":
        raise DTypeError(f"{op}: expected a floating point input, got dtype {x.dtype}")


def _unfold(input, kernel_size, dilation=1, padding=0, stride=1, op="unfold"):
    x = _as_tensor(input)
    kernel, dilation, padding, stride = _window_args(op, kernel_size, dilation, padding, stride)
    if x.ndim not in (3, 4) or 0 in x.shape[-3:]:
        raise ShapeError(f"{op}: expected input of shape (N, C, H, W) or (C, H, W) with non-zero C, H, W, "
                         f"got {fmt_shape(x.shape)}")
    _float_input(op, x)
    x4 = tuple(x.shape) if x.ndim == 4 else (1,) + tuple(x.shape)
    grid = _blocks(x4, kernel, dilation, padding, stride)
    if min(grid) < 1:
        raise ShapeError(f"{op}: input of spatial size {x4[2:]} with {_describe(kernel, dilation, padding, stride)} "
                         f"has {grid[0]} x {grid[1]} sliding blocks; each must be at least 1")
    rows, blocks = x4[1] * kernel[0] * kernel[1], grid[0] * grid[1]
    out_shape = (x4[0], rows, blocks) if x.ndim == 4 else (rows, blocks)
    geom = _geometry(x4, kernel, dilation, padding, stride, grid, out_shape)
    return Im2Col.apply(x, geom=geom, kernel=kernel)


def _fold(input, output_size, kernel_size, dilation=1, padding=0, stride=1, op="fold"):
    x = _as_tensor(input)
    out_hw = _ints(output_size, 2, "output_size", op, 1)
    kernel, dilation, padding, stride = _window_args(op, kernel_size, dilation, padding, stride)
    if x.ndim not in (2, 3) or 0 in x.shape[-2:]:
        raise ShapeError(f"{op}: expected input of shape (N, C * kh * kw, L) or (C * kh * kw, L) with non-zero "
                         f"sizes, got {fmt_shape(x.shape)}")
    _float_input(op, x)
    n = x.shape[0] if x.ndim == 3 else 1
    rows, length = x.shape[-2:]
    per_channel = kernel[0] * kernel[1]
    if rows % per_channel:
        raise ShapeError(f"{op}: dim {x.ndim - 2} of input {fmt_shape(x.shape)} must be divisible by the product "
                         f"of kernel_size={kernel} ({per_channel}), got {rows}")
    x4 = (n, rows // per_channel) + out_hw
    grid = _blocks(x4, kernel, dilation, padding, stride)
    if min(grid) < 1 or grid[0] * grid[1] != length:
        raise ShapeError(
            f"{op}: output_size={out_hw} with {_describe(kernel, dilation, padding, stride)} has "
            f"{max(grid[0], 0)} x {max(grid[1], 0)} = {max(grid[0], 0) * max(grid[1], 0)} sliding blocks, "
            f"but the last dim of input {fmt_shape(x.shape)} is {length}")
    geom = _geometry(x4, kernel, dilation, padding, stride, grid, x4 if x.ndim == 3 else x4[1:])
    return Col2Im.apply(x, geom=geom, kernel=kernel)


def unfold(input, kernel_size, dilation=1, padding=0, stride=1):
    """Extract sliding blocks (im2col): ``(N, C, H, W) -> (N, C * kh * kw, L)``, as ``F.unfold``.

    Column ``l`` holds the block at block-grid position ``l`` (row-major), its rows
    ordered channel, then kernel row, then kernel column. ``L`` is the product of
    ``(size + 2 * padding - dilation * (k - 1) - 1) // stride + 1`` over H and W.
    Unbatched ``(C, H, W)`` gives ``(C * kh * kw, L)``. Zero padding.
    """
    return _unfold(input, kernel_size, dilation, padding, stride)


def fold(input, output_size, kernel_size, dilation=1, padding=0, stride=1):
    """Sum sliding blocks back into an image (col2im): ``(N, C * kh * kw, L) -> (N, C, *output_size)``.

    The adjoint of :func:`unfold` (overlapping blocks add up; what lands in the
    padding is dropped), as ``F.fold``; ``L`` must be the number of blocks
    ``output_size`` has for these window arguments.
    """
    return _fold(input, output_size, kernel_size, dilation, padding, stride)


# ------------------------------------------------------------- instance_norm
def _stat_buffer(op, t, name, c):
    t = t if isinstance(t, Tensor) else _as_tensor(t)
    if tuple(t.shape) != (c,):
        raise ShapeError(f"{op}: {name} must have shape ({c},) (one value per channel), got {fmt_shape(t.shape)}")
    return t


def _instance_norm(input, running_mean=None, running_var=None, weight=None, bias=None, use_input_stats=True,
                   momentum=0.1, eps=1e-5, op="instance_norm"):
    x = _as_tensor(input)
    _float_input(op, x)
    if x.ndim < 2:
        raise ShapeError(f"{op}: expected input of shape (N, C, *), got {fmt_shape(x.shape)}")
    if (running_mean is None) != (running_var is None):
        raise InvalidArgument(f"{op}: running_mean and running_var must either both be None or neither be None")
    if not use_input_stats and running_mean is None:
        raise InvalidArgument(f"{op}: running_mean and running_var must be given when use_input_stats is False")
    c = x.shape[1]
    if running_mean is not None:
        running_mean = _stat_buffer(op, running_mean, "running_mean", c)
        running_var = _stat_buffer(op, running_var, "running_var", c)
    inputs, has_w, has_b = _affine_inputs(op, x, weight, bias, (c,), "one value per channel")
    if not use_input_stats:  # normalize with the running statistics: batch norm's evaluation mode
        return BatchNorm.apply(*inputs, training=False, running_mean=running_mean._data,
                               running_var=running_var._data, momentum=0.0, eps=eps, has_w=has_w, has_b=has_b)
    spatial = math.prod(x.shape[2:])
    if spatial == 1:
        raise ShapeError(f"{op}: expected more than 1 spatial element when using the input's statistics, "
                         f"got input of shape {fmt_shape(x.shape)}")
    if running_mean is not None:
        if momentum is None:
            raise ArgumentTypeError(f"{op}: momentum must be a float to update the running statistics, got None")
        # torch: the running stats move towards the batch mean of the per-instance mean and unbiased variance
        x3 = x._data.reshape(x.shape[0], c, spatial)
        for buf, stat in ((running_mean, x3.mean(axis=2)), (running_var, x3.var(axis=2, ddof=1))):
            buf._data *= 1.0 - momentum
            buf._data += (momentum * stat.mean(axis=0)).astype(buf._data.dtype, copy=False)
            buf._version[0] += 1
    return GroupNorm.apply(*inputs, num_groups=c, eps=eps, has_w=has_w, has_b=has_b)


def instance_norm(input, running_mean=None, running_var=None, weight=None, bias=None, use_input_stats: bool = True,
                  momentum: float = 0.1, eps: float = 1e-5):
    """Normalize each channel of each sample of ``(N, C, *)`` over its spatial dims, as ``F.instance_norm``.

    With ``use_input_stats`` (the default) each (sample, channel) plane is
    normalized by its own mean and biased variance, and ``running_mean`` /
    ``running_var`` (if given) are updated in place towards the batch average of
    the per-plane mean and unbiased variance. Without it, the running
    statistics normalize instead. ``weight`` / ``bias``: per channel ``(C,)``.
    """
    return _instance_norm(input, running_mean, running_var, weight, bias, use_input_stats, momentum, eps)


# -------------------------------------------------------- local_response_norm
def _local_response_norm(input, size, alpha=1e-4, beta=0.75, k=1.0, op="local_response_norm"):
    x = _as_tensor(input)
    size = _factor(op, "size", size)
    if x.ndim < 3:
        raise ShapeError(f"{op}: expected input of shape (N, C, *) with 3 or more dims, got {fmt_shape(x.shape)}")
    if x.dtype.kind == "b":
        raise DTypeError(f"{op}: expected a numeric (not bool) input, got dtype {x.dtype}")
    if x._data.size == 0:
        return x
    shape = tuple(x.shape)
    sq = (x * x).reshape(shape[0], 1, shape[1], -1)  # channels as the height of a one-channel image
    sq = pad(sq, (0, 0, size // 2, (size - 1) // 2))
    div = avg_pool2d(sq, (size, 1), stride=1).reshape(shape)
    return x / (div * alpha + k) ** beta


def local_response_norm(input, size: int, alpha: float = 1e-4, beta: float = 0.75, k: float = 1.0):
    """``x / (k + alpha * mean of x^2 over `size` neighbouring channels) ** beta``, as ``F.local_response_norm``.

    Input ``(N, C, *)``; the window covers channels ``c - size // 2 .. c + (size - 1) // 2``
    (zeros beyond the edges), and the mean always divides by ``size``.
    """
    return _local_response_norm(input, size, alpha, beta, k)
