"""Pooling: max/avg pooling and their adaptive forms, 1-d and 2-d.

A window op visits its ``kh * kw`` kernel offsets: for one offset the
windows' elements form a strided slice of the (padded) input with the output's
shape, so the forward is ``kh * kw`` vectorised maximum/add passes and the
backward ``kh * kw`` strided writes (plain stores when the windows tile the
input, adds when they overlap). Max pooling keeps, per output element, the
offset of the first maximum in window order (PyTorch's tie rule), as a small
integer array. Adaptive average pooling is two small GEMMs with bin-averaging
matrices. 1-d pools and unbatched inputs run as views with a unit height or
batch.
"""
from __future__ import annotations

from typing import NamedTuple

from .. import native
from ..autograd.function import Function
from ..autograd.tensor import Tensor, _as_tensor
from ..backend import xp
from ..errors import DTypeError, ShapeError, fmt_shape
from ._helpers import copy_like
from ._registry import public
from .conv import _ints


class _Geometry(NamedTuple):
    x4: tuple  # input as (N, C, H, W)
    kernel: tuple
    stride: tuple
    dilation: tuple
    pads: tuple  # (top, bottom, left, right); bottom/right include ceil_mode's overhang
    out_hw: tuple
    out_shape: tuple  # the result's shape as the user sees it
    tiled: bool  # windows tile the input exactly: backward can store instead of add


def _windows(x, geom):
    """The ``kh * kw`` strided slices of ``x`` (padded layout) that hold each window's i-th element."""
    (kh, kw), (sh, sw), (dh, dw), (oh, ow) = geom.kernel, geom.stride, geom.dilation, geom.out_hw
    return [x[:, :, i * dh:i * dh + sh * (oh - 1) + 1:sh, j * dw:j * dw + sw * (ow - 1) + 1:sw]
            for i in range(kh) for j in range(kw)]


def _pad(x, pads, value):
    if not any(pads):
        return x
    top, bottom, left, right = pads
    n, c, h, w = x.shape
    out = xp.full((n, c, h + top + bottom, w + left + right), value, x.dtype)
    out[:, :, top:top + h, left:left + w] = x
    return out


def _channels_last(x4):
    """True when the (N, C, H, W) array ``x4`` lives channels-last (as convolution outputs do)."""
    return x4.shape[1] > 1 and not x4.flags.c_contiguous and x4.transpose(0, 2, 3, 1).flags.c_contiguous


def _empty(shape, dtype, channels_last, zeros=False):
    """An (N, C, H, W) array, laid out channels-last if asked (so the gradient matches its input)."""
    make = xp.zeros if zeros else xp.empty
    if channels_last:
        n, c, h, w = shape
        return make((n, h, w, c), dtype).transpose(0, 3, 1, 2)
    return make(shape, dtype)


def _scatter(parts, geom, dtype, channels_last=False):
    """Input gradient (N, C, H, W) from per-offset gradients ``parts(t)`` of the output's shape."""
    top, bottom, left, right = geom.pads
    n, c, h, w = geom.x4
    if geom.tiled:  # every input element belongs to exactly one window: store, don't add
        dx = _empty(geom.x4, dtype, channels_last)
        for t, view in enumerate(_windows(dx, geom)):
            parts(t, view)
        return dx
    dx = _empty((n, c, h + top + bottom, w + left + right), dtype, channels_last, zeros=True)
    for t, view in enumerate(_windows(dx, geom)):
        view += parts(t, None)
    if not any(geom.pads):
        return dx
    return dx[:, :, top:top + h, left:left + w].copy(order="K")


def _first_argmax(views, out):
    """Per output element, the offset of the first window element equal to the max (as PyTorch picks)."""
    miss = views[0] != out  # the first max's offset = how many leading elements are not the max
    idx = miss.astype(xp.uint8 if len(views) < 256 else xp.int32)
    for v in views[1:-1]:
        miss &= v != out
        idx += miss
    return idx


def _flat_indices(idx, geom):
    """Offsets -> PyTorch's indices: flat positions in each input channel's H * W plane (int64)."""
    (_, kw), (sh, sw), (dh, dw), (oh, ow) = geom.kernel, geom.stride, geom.dilation, geom.out_hw
    rows = (xp.arange(oh) * sh - geom.pads[0])[:, None] + (idx // kw).astype(xp.int64) * dh
    cols = xp.arange(ow) * sw - geom.pads[2] + (idx % kw).astype(xp.int64) * dw
    return rows * geom.x4[3] + cols


# --------------------------------------------------------------- primitives
class MaxPool(Function):
    """Max over each window; the gradient goes to the window's first maximum.

    Channels-last float inputs without padding or dilation run on the
    compiled kernels when they are built: one pass each way. Either path keeps,
    per output element, the window offset of its maximum as a byte.
    """

    saves_inputs = False

    def forward(self, x, *, geom, indices=None):
        self.geom, self.x_shape = geom, x.shape
        x4 = x.reshape(geom.x4)
        self.channels_last = _channels_last(x4)
        self.native = _native_pool(x4, geom, self.channels_last, indices)
        if self.native is not None:
            xs = _nhwc(x4)
            out = xp.empty((xs.shape[0],) + geom.out_hw + (xs.shape[3],), x.dtype)
            self.idx = xp.empty(out.shape, xp.uint8) if self.needs_input_grad[0] else None
            self.native.maxpool2d_forward(xs, out, self.idx, *geom.kernel, *geom.stride)
            return _nchw(out).reshape(geom.out_shape)
        fill = -xp.inf if x.dtype.kind == "f" else xp.iinfo(x.dtype).min
        views = _windows(_pad(x4, geom.pads, fill), geom)
        out = views[0].copy(order="K")  # keeps a channels-last input's layout
        for v in views[1:]:
            xp.maximum(out, v, out=out)
        if self.needs_input_grad[0] or indices is not None:
            self.idx = _first_argmax(views, out)
            if indices is not None:
                indices.append(_flat_indices(self.idx, geom).reshape(geom.out_shape))
        return out.reshape(geom.out_shape)

    def backward(self, grad_output):
        if self.native is not None:
            n, c = self.geom.x4[:2]
            g = xp.ascontiguousarray(_nhwc(grad_output.reshape((n, c) + self.geom.out_hw)))
            dx = xp.empty((n,) + self.geom.x4[2:] + (c,), g.dtype)
            self.native.maxpool2d_backward(g, self.idx, dx, *self.geom.kernel, *self.geom.stride)
            return _nchw(dx).reshape(self.x_shape)
        g, idx = grad_output.reshape(self.idx.shape), self.idx
        if g.strides != idx.strides and g.ndim == 4 and g.shape[1] > 1:
            g = copy_like(idx, g)  # one copy into idx's layout, not four mixed-layout passes

        def part(t, view):
            return xp.multiply(g, idx == t, out=view) if view is not None else g * (idx == t)

        return _scatter(part, self.geom, g.dtype, self.channels_last).reshape(self.x_shape)


def _native_pool(x4, geom, channels_last, indices):
    """The compiled kernels module if this max pool can run on it, else None."""
    kernels = native.kernels
    if (kernels is None or not channels_last or indices is not None or any(geom.pads)
            or geom.dilation != (1, 1) or x4.dtype not in (xp.float32, xp.float64)):
        return None
    return kernels


def _nhwc(a4):
    """(N, C, H, W) as the channels-last (N, H, W, C) array the kernels take (a view)."""
    return a4.transpose(0, 2, 3, 1)


def _nchw(a):
    """Inverse of :func:`_nhwc`: the (N, C, H, W) view of an (N, H, W, C) array."""
    return a.transpose(0, 3, 1, 2)


class AvgPool(Function):
    """Mean over each window (``divisor``: a number or an (H_out, W_out) array)."""

    saves_inputs = False

    def forward(self, x, *, geom, divisor):
        self.geom, self.x_shape, self.divisor = geom, x.shape, divisor
        x4 = x.reshape(geom.x4)
        self.channels_last = _channels_last(x4)
        views = _windows(_pad(x4, geom.pads, 0), geom)
        out = views[0].copy(order="K")
        for v in views[1:]:
            out += v
        if x.dtype.kind == "f":
            out /= divisor
        else:  # integer average truncates toward zero, as PyTorch's
            out = (xp.abs(out) // divisor * xp.sign(out)).astype(x.dtype)
        return out.reshape(geom.out_shape)

    def backward(self, grad_output):
        g = grad_output.reshape((self.geom.x4[0], self.geom.x4[1]) + self.geom.out_hw) / self.divisor

        def part(t, view):
            return g if view is None else xp.copyto(view, g)

        return _scatter(part, self.geom, g.dtype, self.channels_last).reshape(self.x_shape)


class AdaptiveAvgPool(Function):
    """Bin means as two GEMMs: along W with ``(W_out, W)`` then along H with ``(H_out, H)`` averaging matrices."""

    saves_inputs = False

    def forward(self, x, *, x4, rows, cols, out_shape):
        self.x_shape, self.x4, self.rows, self.cols = x.shape, x4, rows, cols
        n, c, h, w = x4
        oh, ow = rows.shape[0], cols.shape[0]
        y = x.reshape(-1, w) @ cols.T  # (N*C*H, W_out)
        y = y.reshape(n * c, h, ow).transpose(0, 2, 1).reshape(-1, h) @ rows.T  # (N*C*W_out, H_out)
        return xp.ascontiguousarray(y.reshape(n, c, ow, oh).transpose(0, 1, 3, 2)).reshape(out_shape)

    def backward(self, grad_output):
        n, c, h, w = self.x4
        oh, ow = self.rows.shape[0], self.cols.shape[0]
        g = grad_output.reshape(n, c, oh, ow).transpose(0, 1, 3, 2).reshape(-1, oh) @ self.rows  # (N*C*W_out, H)
        g = g.reshape(n * c, ow, h).transpose(0, 2, 1).reshape(-1, ow) @ self.cols  # (N*C*H, W)
        return g.reshape(self.x_shape)


class AdaptiveMaxPool(Function):
    """Max over each adaptive bin (looping over the output cells); gradient to the bin's first maximum."""

    saves_inputs = False

    def forward(self, x, *, x4, row_bins, col_bins, out_shape, indices=None):
        self.x_shape, self.x4 = x.shape, x4
        n, c, h, w = x4
        x3 = x.reshape(n, c, h * w)
        plane = xp.arange(h * w).reshape(h, w)
        flat = xp.empty((n, c, len(row_bins), len(col_bins)), xp.int64)
        for a, (r0, r1) in enumerate(row_bins):
            for b, (c0, c1) in enumerate(col_bins):
                positions = plane[r0:r1, c0:c1].reshape(-1)
                flat[:, :, a, b] = positions[x3[:, :, positions].argmax(axis=2)]
        out = xp.take_along_axis(x3, flat.reshape(n, c, -1), axis=2).reshape(out_shape)
        if self.needs_input_grad[0]:
            self.flat = flat.reshape(n * c, -1)
        if indices is not None:
            indices.append(flat.reshape(out_shape))
        return out

    def backward(self, grad_output):
        n, c, h, w = self.x4
        dx = xp.zeros((n * c, h * w), grad_output.dtype)
        # Bins may overlap (and repeat when upsampling): add.at accumulates repeated positions.
        xp.add.at(dx, (xp.arange(n * c)[:, None], self.flat), grad_output.reshape(n * c, -1))
        return dx.reshape(self.x_shape)


# --------------------------------------------------------- argument checks
_SPATIAL = {1: "L", 2: "H, W"}


def _input(op, dims, input, kinds="fiu"):
    x = _as_tensor(input)
    sp = _SPATIAL[dims]
    if x.ndim not in (dims + 1, dims + 2):
        raise ShapeError(f"{op}: expected input of shape (N, C, {sp}) or (C, {sp}), got {fmt_shape(x.shape)}")
    if x.dtype.kind not in kinds:
        want = "a floating point" if kinds == "f" else "a numeric (not bool)"
        raise DTypeError(f"{op}: expected {want} input, got dtype {x.dtype}")
    return x


def _as_4d(x, dims):
    """The input's shape as (N, C, H, W): unit batch for unbatched inputs, unit height for 1-d."""
    shape = tuple(x.shape) if x.ndim == dims + 2 else (1,) + tuple(x.shape)
    return shape[:2] + (1,) + shape[2:] if dims == 1 else shape


def _user_shape(x, dims, out_hw):
    batch = (x.shape[0],) if x.ndim == dims + 2 else ()
    return batch + (x.shape[-dims - 1],) + tuple(out_hw[2 - dims:])


def _out_size(size, k, s, p, d, ceil_mode):
    """PyTorch's pooling output size (ceil_mode: the last window must start inside the input or left pad)."""
    out = (size + 2 * p - d * (k - 1) - 1 + (s - 1 if ceil_mode else 0)) // s + 1
    if ceil_mode and (out - 1) * s >= size + p:
        out -= 1
    return out


def _window_geometry(op, dims, x, kernel_size, stride, padding, dilation, ceil_mode):
    kernel = _ints(kernel_size, dims, "kernel_size", op, 1)
    no_stride = stride is None or (isinstance(stride, (list, tuple)) and len(stride) == 0)
    stride = kernel if no_stride else _ints(stride, dims, "stride", op, 1)
    padding = _ints(padding, dims, "padding", op, 0)
    dilation = _ints(dilation, dims, "dilation", op, 1)
    for k, p, d in zip(kernel, padding, dilation):
        if p > (d * (k - 1) + 1) // 2:
            raise ShapeError(
                f"{op}: padding must be at most half of the (dilated) kernel size, got padding={padding}, "
                f"kernel_size={kernel}" + (f", dilation={dilation}" if max(dilation) > 1 else "")
            )
    if dims == 1:
        kernel, stride, padding, dilation = (1,) + kernel, (1,) + stride, (0,) + padding, (1,) + dilation
    x4 = _as_4d(x, dims)
    out_hw = tuple(_out_size(n, k, s, p, d, ceil_mode) for n, k, s, p, d in zip(x4[2:], kernel, stride, padding, dilation))
    if min(out_hw) < 1:
        raise ShapeError(
            f"{op}: input {fmt_shape(x.shape)} is too small for kernel_size={kernel[2 - dims:]}, "
            f"padding={padding[2 - dims:]}, dilation={dilation[2 - dims:]}: the output would be "
            f"{' x '.join(map(str, out_hw[2 - dims:]))}"
        )
    # Right/bottom padding: whatever the last window reaches beyond the input (ceil_mode may add some).
    far = tuple(max(0, (o - 1) * s + d * (k - 1) + 1 - n - p)
                for n, k, s, p, d, o in zip(x4[2:], kernel, stride, padding, dilation, out_hw))
    pads = (padding[0], far[0], padding[1], far[1])
    tiled = (stride == kernel and max(dilation) == 1 and not any(pads)
             and all(o * k == n for o, k, n in zip(out_hw, kernel, x4[2:])))
    return _Geometry(x4, kernel, stride, dilation, pads, out_hw, _user_shape(x, dims, out_hw), tiled)


def _avg_divisor(geom, count_include_pad, divisor_override, dtype):
    """The divisor of each window: a number when all windows share it, else an (H_out, W_out) array."""
    if divisor_override is not None:
        return divisor_override
    per_dim = []
    for n, k, s, p, o in zip(geom.x4[2:], geom.kernel, geom.stride, (geom.pads[0], geom.pads[2]), geom.out_hw):
        start = xp.arange(o) * s - p
        end = xp.minimum(start + k, n + p)  # windows may cover padding, not ceil_mode's overhang
        per_dim.append(end - start if count_include_pad else xp.minimum(end, n) - xp.maximum(start, 0))
    divisor = per_dim[0][:, None] * per_dim[1][None, :]
    if (divisor == divisor[0, 0]).all():
        return int(divisor[0, 0])
    return divisor.astype(dtype)


def _output_size(op, dims, x4, output_size):
    if isinstance(output_size, (list, tuple)) and len(output_size) == dims:
        sizes = tuple(x4[4 - dims + i] if s is None else s for i, s in enumerate(output_size))
    else:
        sizes = output_size
    sizes = _ints(sizes, dims, "output_size", op, 1)
    return (1,) + sizes if dims == 1 else sizes


def _bins(size, out):
    """PyTorch's adaptive bins: [floor(i * size / out), ceil((i + 1) * size / out))."""
    return [((i * size) // out, -((-(i + 1) * size) // out)) for i in range(out)]


def _bin_matrix(size, out, dtype):
    m = xp.zeros((out, size), dtype)
    for i, (start, end) in enumerate(_bins(size, out)):
        m[i, start:end] = 1.0 / (end - start)
    return m


def _with_indices(fn_cls, x, return_indices, **params):
    if not return_indices:
        return fn_cls.apply(x, **params)
    holder: list = []
    out = fn_cls.apply(x, indices=holder, **params)
    return out, Tensor._wrap(holder[0])


# ------------------------------------------------------------------ public
def _max_pool(op, dims, input, kernel_size, stride, padding, dilation, ceil_mode, return_indices):
    x = _input(op, dims, input)
    geom = _window_geometry(op, dims, x, kernel_size, stride, padding, dilation, ceil_mode)
    return _with_indices(MaxPool, x, return_indices, geom=geom)


def _avg_pool(op, dims, input, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override):
    x = _input(op, dims, input)
    geom = _window_geometry(op, dims, x, kernel_size, stride, padding, 1, ceil_mode)
    if divisor_override is not None and (not isinstance(divisor_override, int) or divisor_override == 0):
        raise ShapeError(f"{op}: divisor_override must be a nonzero int, got {divisor_override!r}")
    return AvgPool.apply(x, geom=geom, divisor=_avg_divisor(geom, count_include_pad, divisor_override, x.dtype))


def _adaptive_avg_pool(op, dims, input, output_size):
    x = _input(op, dims, input, kinds="f")
    x4 = _as_4d(x, dims)
    oh, ow = _output_size(op, dims, x4, output_size)
    rows, cols = _bin_matrix(x4[2], oh, x.dtype), _bin_matrix(x4[3], ow, x.dtype)
    return AdaptiveAvgPool.apply(x, x4=x4, rows=rows, cols=cols, out_shape=_user_shape(x, dims, (oh, ow)))


def _adaptive_max_pool(op, dims, input, output_size, return_indices):
    x = _input(op, dims, input, kinds="f")
    x4 = _as_4d(x, dims)
    out_hw = _output_size(op, dims, x4, output_size)
    if all(n % o == 0 for n, o in zip(x4[2:], out_hw)) and x4[2] * x4[3] <= 64 * out_hw[0] * out_hw[1]:
        # Equal bins that tile the input: a plain max pool with kernel = stride = size / out.
        kernel = tuple(n // o for n, o in zip(x4[2:], out_hw))
        geom = _Geometry(x4, kernel, kernel, (1, 1), (0, 0, 0, 0), out_hw, _user_shape(x, dims, out_hw), True)
        return _with_indices(MaxPool, x, return_indices, geom=geom)
    bins = [_bins(n, o) for n, o in zip(x4[2:], out_hw)]
    return _with_indices(AdaptiveMaxPool, x, return_indices, x4=x4, row_bins=bins[0], col_bins=bins[1],
                         out_shape=_user_shape(x, dims, out_hw))


@public(method=False)
def max_pool2d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode: bool = False,
               return_indices: bool = False):
    """2-d max pooling, as ``torch.nn.functional.max_pool2d``.

    Args:
        input: (N, C, H, W) or unbatched (C, H, W).
        kernel_size, stride, padding, dilation: int or (h, w); stride defaults to kernel_size.
            Padding (at most half the kernel) is -inf, so it is never the maximum.
        ceil_mode: round the output size up (a last partial window) instead of down.
        return_indices: also return each maximum's flat position in its H * W plane (int64).

    Shape:
        output (N, C, H_out, W_out), ``H_out = (H + 2 * padding - dilation * (kh - 1) - 1) // stride + 1``.
    """
    return _max_pool("max_pool2d", 2, input, kernel_size, stride, padding, dilation, ceil_mode, return_indices)


@public(method=False)
def max_pool1d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode: bool = False,
               return_indices: bool = False):
    """1-d max pooling over (N, C, L) or (C, L), as ``torch.nn.functional.max_pool1d``."""
    return _max_pool("max_pool1d", 1, input, kernel_size, stride, padding, dilation, ceil_mode, return_indices)


@public(method=False)
def avg_pool2d(input, kernel_size, stride=None, padding=0, ceil_mode: bool = False, count_include_pad: bool = True,
               divisor_override=None):
    """2-d average pooling, as ``torch.nn.functional.avg_pool2d``.

    Args:
        input: (N, C, H, W) or unbatched (C, H, W).
        kernel_size, stride, padding: int or (h, w); stride defaults to kernel_size; zero padding.
        ceil_mode: round the output size up instead of down.
        count_include_pad: divide by the window size including padding (else by the real elements).
        divisor_override: divide every window's sum by this instead.
    """
    return _avg_pool("avg_pool2d", 2, input, kernel_size, stride, padding, ceil_mode, count_include_pad,
                     divisor_override)


@public(method=False)
def avg_pool1d(input, kernel_size, stride=None, padding=0, ceil_mode: bool = False, count_include_pad: bool = True):
    """1-d average pooling over (N, C, L) or (C, L), as ``torch.nn.functional.avg_pool1d``."""
    return _avg_pool("avg_pool1d", 1, input, kernel_size, stride, padding, ceil_mode, count_include_pad, None)


@public(method=False)
def adaptive_avg_pool2d(input, output_size):
    """Average over ``output_size`` bins per plane: bin i spans [floor(i*H/H_out), ceil((i+1)*H/H_out)).

    Args:
        input: (N, C, H, W) or unbatched (C, H, W), floating point.
        output_size: int or (H_out, W_out); None keeps that input size.
    """
    return _adaptive_avg_pool("adaptive_avg_pool2d", 2, input, output_size)


@public(method=False)
def adaptive_avg_pool1d(input, output_size):
    """Average over ``output_size`` bins of (N, C, L) or (C, L), as ``torch.nn.functional.adaptive_avg_pool1d``."""
    return _adaptive_avg_pool("adaptive_avg_pool1d", 1, input, output_size)


@public(method=False)
def adaptive_max_pool2d(input, output_size, return_indices: bool = False):
    """Max over ``output_size`` bins per plane (bins as :func:`adaptive_avg_pool2d`)."""
    return _adaptive_max_pool("adaptive_max_pool2d", 2, input, output_size, return_indices)


@public(method=False)
def adaptive_max_pool1d(input, output_size, return_indices: bool = False):
    """Max over ``output_size`` bins of (N, C, L) or (C, L)."""
    return _adaptive_max_pool("adaptive_max_pool1d", 1, input, output_size, return_indices)
