"""3-d pooling: ``max_pool3d``, ``avg_pool3d`` and ``adaptive_avg_pool3d`` over ``(N, C, D, H, W)``.

The same design as the 2-d pools in :mod:`.pool`, one dimension up: for each
of the ``kd * kh * kw`` kernel offsets the windows' elements form a strided
slice of the (padded) input with the output's shape, so the forward is one
vectorised maximum/add pass per offset and the backward one strided add per
offset. Max pooling keeps, per output element, the offset of the first
maximum in window order (PyTorch's tie rule). Adaptive average pooling
contracts each spatial axis with its bin-averaging matrix.
"""
from __future__ import annotations

from typing import NamedTuple

from ..autograd.function import Function
from ..autograd.tensor import Tensor, _as_tensor
from ..backend import xp
from ..errors import DTypeError, ShapeError, fmt_shape
from ._registry import public
from .conv import _ints
from .pool import _bin_matrix, _first_argmax, _out_size


class _Geometry3d(NamedTuple):
    x5: tuple  # input as (N, C, D, H, W)
    kernel: tuple
    stride: tuple
    dilation: tuple
    lo: tuple  # padding before each spatial dim
    hi: tuple  # padding after (includes ceil_mode's overhang)
    out: tuple  # (D_out, H_out, W_out)
    out_shape: tuple  # the result's shape as the user sees it


def _windows(x, g):
    """The strided slices of the padded ``x`` holding each window's t-th element, t in window order."""
    (kd, kh, kw), (sd, sh, sw), (dd, dh, dw), (od, oh, ow) = g.kernel, g.stride, g.dilation, g.out
    return [x[:, :, a * dd:a * dd + sd * (od - 1) + 1:sd, b * dh:b * dh + sh * (oh - 1) + 1:sh,
              c * dw:c * dw + sw * (ow - 1) + 1:sw]
            for a in range(kd) for b in range(kh) for c in range(kw)]


def _padded(x, g, value):
    if not any(g.lo + g.hi):
        return x
    shape = x.shape[:2] + tuple(n + a + b for n, a, b in zip(x.shape[2:], g.lo, g.hi))
    out = xp.full(shape, value, x.dtype)
    out[(slice(None), slice(None)) + tuple(slice(a, a + n) for a, n in zip(g.lo, x.shape[2:]))] = x
    return out


def _scatter(parts, g, dtype):
    """Input gradient (N, C, D, H, W) from per-offset gradients ``parts(t)`` of the output's shape."""
    shape = g.x5[:2] + tuple(n + a + b for n, a, b in zip(g.x5[2:], g.lo, g.hi))
    dx = xp.zeros(shape, dtype)
    for t, view in enumerate(_windows(dx, g)):
        view += parts(t)
    if not any(g.lo + g.hi):
        return dx
    return xp.ascontiguousarray(dx[(slice(None), slice(None)) + tuple(slice(a, a + n) for a, n in zip(g.lo, g.x5[2:]))])


class MaxPool3d(Function):
    """Max over each 3-d window; the gradient goes to the window's first maximum."""

    saves_inputs = False

    def forward(self, x, *, geom, indices=None):
        self.geom, self.x_shape = geom, x.shape
        fill = -xp.inf if x.dtype.kind == "f" else xp.iinfo(x.dtype).min
        views = _windows(_padded(x.reshape(geom.x5), geom, fill), geom)
        out = views[0].copy()
        for v in views[1:]:
            xp.maximum(out, v, out=out)
        if self.needs_input_grad[0] or indices is not None:
            self.idx = _first_argmax(views, out) if len(views) > 1 else xp.zeros(out.shape, xp.uint8)
            if indices is not None:
                indices.append(_flat_indices(self.idx, geom).reshape(geom.out_shape))
        return out.reshape(geom.out_shape)

    def backward(self, grad_output):
        g = grad_output.reshape(self.idx.shape)
        return _scatter(lambda t: g * (self.idx == t), self.geom, g.dtype).reshape(self.x_shape)


def _flat_indices(idx, g):
    """Window offsets -> PyTorch's indices: flat positions in each channel's D * H * W volume (int64)."""
    (_, kh, kw), idx = g.kernel, idx.astype(xp.int64)
    pos = []
    for axis, off in enumerate((idx // (kh * kw), idx // kw % kh, idx % kw)):
        shape = [1, 1, 1]
        shape[axis] = g.out[axis]
        start = (xp.arange(g.out[axis]) * g.stride[axis] - g.lo[axis]).reshape(shape)
        pos.append(start + off * g.dilation[axis])
    _, _, _, h, w = g.x5
    return (pos[0] * h + pos[1]) * w + pos[2]


class AvgPool3d(Function):
    """Mean over each 3-d window (``divisor``: a number or a (D_out, H_out, W_out) array)."""

    saves_inputs = False

    def forward(self, x, *, geom, divisor):
        self.geom, self.x_shape, self.divisor = geom, x.shape, divisor
        views = _windows(_padded(x.reshape(geom.x5), geom, 0), geom)
        out = views[0].copy()
        for v in views[1:]:
            out += v
        return (out / divisor).astype(x.dtype, copy=False).reshape(geom.out_shape)

    def backward(self, grad_output):
        g = (grad_output.reshape(self.geom.x5[:2] + self.geom.out) / self.divisor).astype(grad_output.dtype)
        return _scatter(lambda t: g, self.geom, g.dtype).reshape(self.x_shape)


class AdaptiveAvgPool3d(Function):
    """Bin means: each spatial axis contracted with its ``(out, in)`` averaging matrix."""

    saves_inputs = False

    def forward(self, x, *, mats):
        self.mats = mats
        return xp.einsum("...dhw,ad,bh,cw->...abc", x, *mats, optimize=True)

    def backward(self, grad_output):
        return xp.einsum("...abc,ad,bh,cw->...dhw", grad_output, *self.mats, optimize=True)


# --------------------------------------------------------- argument checks
def _input(op, input, kinds="f"):
    x = _as_tensor(input)
    if x.ndim not in (4, 5):
        raise ShapeError(f"{op}: expected input of shape (N, C, D, H, W) or (C, D, H, W), got {fmt_shape(x.shape)}")
    if x.dtype.kind not in kinds:
        want = "a floating point" if kinds == "f" else "a numeric (not bool)"
        raise DTypeError(f"{op}: expected {want} input, got dtype {x.dtype}")
    return x


def _geometry(op, x, kernel_size, stride, padding, dilation, ceil_mode):
    kernel = _ints(kernel_size, 3, "kernel_size", op, 1)
    no_stride = stride is None or (isinstance(stride, (list, tuple)) and len(stride) == 0)
    stride = kernel if no_stride else _ints(stride, 3, "stride", op, 1)
    padding = _ints(padding, 3, "padding", op, 0)
    dilation = _ints(dilation, 3, "dilation", op, 1)
    for k, p, d in zip(kernel, padding, dilation):
        if p > (d * (k - 1) + 1) // 2:
            raise ShapeError(
                f"{op}: padding must be at most half of the (dilated) kernel size, got padding={padding}, "
                f"kernel_size={kernel}" + (f", dilation={dilation}" if max(dilation) > 1 else "")
            )
    x5 = tuple(x.shape) if x.ndim == 5 else (1,) + tuple(x.shape)
    out = tuple(_out_size(n, k, s, p, d, ceil_mode) for n, k, s, p, d in zip(x5[2:], kernel, stride, padding, dilation))
    if min(out) < 1:
        raise ShapeError(
            f"{op}: input {fmt_shape(x.shape)} is too small for kernel_size={kernel}, padding={padding}, "
            f"dilation={dilation}: the output would be {' x '.join(map(str, out))}"
        )
    hi = tuple(max(0, (o - 1) * s + d * (k - 1) + 1 - n - p)
               for n, k, s, p, d, o in zip(x5[2:], kernel, stride, padding, dilation, out))
    out_shape = tuple(x.shape[:-3]) + out
    return _Geometry3d(x5, kernel, stride, dilation, padding, hi, out, out_shape)


def _avg_divisor(g, count_include_pad, divisor_override, dtype):
    """Each window's divisor: a number when all windows share it, else a (D_out, H_out, W_out) array."""
    if divisor_override is not None:
        return divisor_override
    per_dim = []
    for n, k, s, p, o in zip(g.x5[2:], g.kernel, g.stride, g.lo, g.out):
        start = xp.arange(o) * s - p
        end = xp.minimum(start + k, n + p)  # windows may cover padding, not ceil_mode's overhang
        per_dim.append(end - start if count_include_pad else xp.minimum(end, n) - xp.maximum(start, 0))
    divisor = per_dim[0][:, None, None] * per_dim[1][None, :, None] * per_dim[2][None, None, :]
    if (divisor == divisor.flat[0]).all():
        return int(divisor.flat[0])
    return divisor.astype(dtype)


# ------------------------------------------------------------------ public
@public(method=False)
def max_pool3d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode: bool = False,
               return_indices: bool = False):
    """3-d max pooling, as ``torch.nn.functional.max_pool3d``.

    Args:
        input: (N, C, D, H, W) or unbatched (C, D, H, W).
        kernel_size, stride, padding, dilation: int or (d, h, w); stride defaults to kernel_size.
            Padding (at most half the kernel) is -inf, so it is never the maximum.
        ceil_mode: round the output size up (a last partial window) instead of down.
        return_indices: also return each maximum's flat position in its D * H * W volume (int64).
    """
    op = "max_pool3d"
    x = _input(op, input, kinds="fiu")
    geom = _geometry(op, x, kernel_size, stride, padding, dilation, ceil_mode)
    if not return_indices:
        return MaxPool3d.apply(x, geom=geom)
    holder: list = []
    out = MaxPool3d.apply(x, geom=geom, indices=holder)
    return out, Tensor._wrap(holder[0])


@public(method=False)
def avg_pool3d(input, kernel_size, stride=None, padding=0, ceil_mode: bool = False, count_include_pad: bool = True,
               divisor_override=None):
    """3-d average pooling, as ``torch.nn.functional.avg_pool3d``.

    Args:
        input: (N, C, D, H, W) or unbatched (C, D, H, W), floating point.
        kernel_size, stride, padding: int or (d, h, w); stride defaults to kernel_size; zero padding.
        ceil_mode: round the output size up instead of down.
        count_include_pad: divide by the window size including padding (else by the real elements).
        divisor_override: divide every window's sum by this instead.
    """
    op = "avg_pool3d"
    x = _input(op, input)
    geom = _geometry(op, x, kernel_size, stride, padding, 1, ceil_mode)
    if divisor_override is not None and (not isinstance(divisor_override, int) or divisor_override == 0):
        raise ShapeError(f"{op}: divisor_override must be a nonzero int, got {divisor_override!r}")
    return AvgPool3d.apply(x, geom=geom, divisor=_avg_divisor(geom, count_include_pad, divisor_override, x.dtype))


@public(method=False)
def adaptive_avg_pool3d(input, output_size):
    """Average over ``output_size`` bins per volume: bin i spans [floor(i*D/D_out), ceil((i+1)*D/D_out)).

    Args:
        input: (N, C, D, H, W) or unbatched (C, D, H, W), floating point.
        output_size: int or (D_out, H_out, W_out); None keeps that input size.
    """
    op = "adaptive_avg_pool3d"
    x = _input(op, input)
    sizes = output_size
    if isinstance(output_size, (list, tuple)) and len(output_size) == 3:
        sizes = tuple(x.shape[-3 + i] if s is None else s for i, s in enumerate(output_size))
    sizes = _ints(sizes, 3, "output_size", op, 1)
    mats = tuple(_bin_matrix(n, o, x.dtype) for n, o in zip(x.shape[-3:], sizes))
    return AdaptiveAvgPool3d.apply(x, mats=mats)
