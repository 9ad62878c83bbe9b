"""``interpolate``: resize the spatial dims of (N, C, *spatial) tensors, as ``torch.nn.functional.interpolate``.

Every mode is separable: the output is the input mapped along each spatial
axis in turn by a 1-d resampling of that axis alone.

* Nearest modes copy: per axis an index array (output position -> source
  position) gathers along that axis. The sources never decrease, so the
  backward sums each run of equal sources: one vectorised add per position
  within a run (about the scale factor's count), not per pixel.
* Linear modes (linear, bilinear, trilinear, bicubic) and ``area`` are linear
  maps: per axis a small (out, in) weight matrix, applied as a GEMM. The
  backward is the same GEMMs with the transposed matrices, which is the exact
  gradient.

Source positions and weights follow PyTorch's CPU kernels, down to the float
precision they are computed in, so nearest modes pick the same pixels.
"""
from __future__ import annotations

import math
import numbers

from ..autograd.function import Function
from ..autograd.tensor import Tensor, _as_tensor
from ..backend import xp
from ..errors import ArgumentTypeError, DTypeError, InvalidArgument, NotSupported, ShapeError, fmt_shape
from ._registry import public
from .pool import _bin_matrix

_OP = "interpolate"
_NEAREST = ("nearest", "nearest-exact")
_LINEAR = {"linear": 1, "bilinear": 2, "bicubic": 2, "trilinear": 3}  # mode -> the spatial dims it takes
_MODES = _NEAREST + tuple(_LINEAR) + ("area",)
_CUBIC_A = -0.75  # PyTorch's bicubic convolution constant (OpenCV's)


# ------------------------------------------------------------- primitives
def _along(a, axis, matrix):
    """``a`` with dim ``axis`` (size n) mapped by ``matrix`` (k, n): the result has size k there."""
    shape = a.shape
    lead, n, trail = math.prod(shape[:axis]), shape[axis], math.prod(shape[axis + 1:])
    if trail == 1:
        out = a.reshape(lead, n) @ matrix.T
    else:  # one (k, n) @ (n, trail) GEMM per leading index
        out = xp.matmul(matrix, a.reshape(lead, n, trail))
    return out.reshape(shape[:axis] + (matrix.shape[0],) + shape[axis + 1:])


class SeparableResample(Function):
    """Linear resampling: spatial axis ``2 + d`` multiplied by ``matrices[d]`` (None: left as it is)."""

    saves_inputs = False

    def forward(self, x, *, matrices):
        self.matrices = matrices
        out = x
        for d in reversed(range(len(matrices))):
            if matrices[d] is not None:
                out = _along(out, 2 + d, matrices[d])
        return out if out is not x else x.copy()

    def backward(self, grad_output):
        grad = grad_output
        for d, matrix in enumerate(self.matrices):
            if matrix is not None:
                grad = _along(grad, 2 + d, xp.ascontiguousarray(matrix.T))
        return grad if grad is not grad_output else grad_output.copy()


def _add_runs(grad, axis, source, size):
    """Transpose of gathering ``source`` (non-decreasing) along ``axis``: each run of equal sources summed.

    The t-th elements of all runs are added in one vectorised pass per t (t < the longest run, about
    the scale factor); an integer factor's runs are strided slices.
    """
    starts = xp.flatnonzero(xp.concatenate(([True], source[1:] != source[:-1])))
    lengths = xp.diff(xp.append(starts, len(source)))
    lead = (slice(None),) * axis
    k = len(source) // len(starts)
    if (lengths == k).all():
        sums = grad[lead + (slice(0, None, k),)].copy()
        for t in range(1, k):
            sums += grad[lead + (slice(t, None, k),)]
    else:
        sums = xp.take(grad, starts, axis=axis)
        longest = int(lengths.max())
        if longest > 1:
            pad = list(grad.shape)
            pad[axis] = 1
            padded = xp.concatenate((grad, xp.zeros(pad, grad.dtype)), axis=axis)  # position len(source): zeros
            for t in range(1, longest):
                sums += xp.take(padded, xp.where(lengths > t, starts + t, len(source)), axis=axis)
    if len(starts) == size:  # every input position was read: the runs are 0, 1, ..., size - 1
        return sums
    shape = list(grad.shape)
    shape[axis] = size
    out = xp.zeros(shape, grad.dtype)
    out[lead + (source[starts],)] = sums  # positions nobody read get no gradient
    return out


class NearestResample(Function):
    """Nearest resampling: along spatial axis ``2 + d``, output position i copies ``sources[d][i]``."""

    saves_inputs = False

    def forward(self, x, *, sources):
        self.sources, self.in_spatial = sources, x.shape[2:]
        out = x
        for d, source in enumerate(sources):
            if source is not None:
                out = xp.take(out, source, axis=2 + d)
        return out if out is not x else x.copy()

    def backward(self, grad_output):
        grad = grad_output
        for d, source in enumerate(self.sources):
            if source is not None:
                grad = _add_runs(grad, 2 + d, source, self.in_spatial[d])
        return grad if grad is not grad_output else grad_output.copy()


# ------------------------------------------------------ per-axis resampling
# PyTorch computes source positions in "opmath": float64 for float64 tensors, float32 otherwise.
def _opmath(dtype):
    return xp.float64 if dtype == xp.float64 else xp.float32


def _scale(n_in, n_out, align_corners, scale_factor, op_dtype):
    """Source pixels per output pixel (PyTorch's area_pixel_compute_scale)."""
    if align_corners:
        return op_dtype(n_in - 1) / op_dtype(n_out - 1) if n_out > 1 else op_dtype(0)
    if scale_factor is not None and scale_factor > 0:
        return op_dtype(1.0 / scale_factor)  # the given factor's reciprocal, not n_in / n_out
    return op_dtype(n_in) / op_dtype(n_out)


def _nearest_sources(n_in, n_out, scale_factor, exact, dtype, planar):
    """Output position -> input position along one axis; None when that is the identity.

    PyTorch has two CPU kernels: 4-d inputs (``planar``) take float32 positions with shortcuts for
    equal and doubled sizes; 3-d and 5-d inputs take positions in the input's opmath.
    """
    i = xp.arange(n_out)
    if planar:
        if not exact and n_out in (n_in, 2 * n_in):
            return None if n_out == n_in else i // 2
        scale = _scale(n_in, n_out, False, scale_factor, xp.float32)
        src = (i.astype(xp.float32) + (xp.float32(0.5) if exact else xp.float32(0))) * scale
    else:
        op = _opmath(dtype)
        scale = _scale(n_in, n_out, False, scale_factor, op)
        if not exact:  # floor(i * scale), floored in float32 (floorf) whatever the opmath
            src = (i.astype(op) * scale).astype(xp.float32)
        else:  # floor(max(scale * (i + 0.5) - 0.5, 0) + 0.5)
            half = i.astype(op) + op(0.5)
            if op == xp.float32:  # the kernel contracts scale * (i + 0.5) - 0.5 to one fused multiply-add
                real = (xp.float64(scale) * half.astype(xp.float64) - 0.5).astype(xp.float32)
            else:
                real = scale * half - 0.5
            src = (xp.maximum(real, 0).astype(xp.float64) + 0.5).astype(xp.float32)
    src = xp.minimum(xp.floor(src).astype(xp.int64), n_in - 1)
    return None if n_in == n_out and (src == i).all() else src


def _weight_matrix(n_in, n_out, rows, cols, weights, dtype):
    """(n_out, n_in) matrix with ``weights`` added at (rows, cols): repeated positions accumulate."""
    m = xp.zeros((n_out, n_in), dtype)
    xp.add.at(m, (rows, cols), weights.astype(dtype))
    return m


def _linear_matrix(n_in, n_out, align_corners, scale_factor, dtype):
    """Two-tap linear weights (PyTorch's compute_source_index_and_lambda); None for equal sizes (a copy)."""
    if n_in == n_out:
        return None
    op = _opmath(dtype)
    scale = _scale(n_in, n_out, align_corners, scale_factor, op)
    i = xp.arange(n_out, dtype=op)
    real = scale * i if align_corners else xp.maximum(scale * (i + op(0.5)) - op(0.5), 0)
    i0 = xp.minimum(xp.floor(real).astype(xp.int64), n_in - 1)
    lam1 = xp.clip(real - i0.astype(op), 0, 1)
    i1 = i0 + (i0 < n_in - 1)
    rows = xp.arange(n_out)
    return _weight_matrix(n_in, n_out, xp.concatenate((rows, rows)), xp.concatenate((i0, i1)),
                          xp.concatenate((1 - lam1, lam1)), dtype)


def _cubic_matrix(n_in, n_out, align_corners, scale_factor, dtype):
    """Four-tap cubic convolution weights (A = -0.75); taps beyond the edges read the edge pixel."""
    op = _opmath(dtype)
    scale = _scale(n_in, n_out, align_corners, scale_factor, op)
    i = xp.arange(n_out, dtype=op)
    real = scale * i if align_corners else scale * (i + op(0.5)) - op(0.5)  # not clamped at 0, unlike linear
    i0 = xp.minimum(xp.floor(real).astype(xp.int64), n_in - 1)
    t = xp.clip(real - i0.astype(op), 0, 1)
    a = op(_CUBIC_A)

    def near(x):  # |x| <= 1
        return ((a + 2) * x - (a + 3)) * x * x + 1

    def far(x):  # 1 < |x| < 2
        return ((a * x - 5 * a) * x + 8 * a) * x - 4 * a

    weights = [far(t + 1), near(t), near(1 - t), far(2 - t)]
    rows = xp.tile(xp.arange(n_out), 4)
    cols = xp.concatenate([xp.clip(i0 + k - 1, 0, n_in - 1) for k in range(4)])
    m = _weight_matrix(n_in, n_out, rows, cols, xp.concatenate(weights), dtype)
    return None if n_in == n_out and (m == xp.eye(n_in, dtype=dtype)).all() else m


def _area_matrix(n_in, n_out, dtype):
    """Adaptive average pooling bins as an averaging matrix (None for equal sizes)."""
    return None if n_in == n_out else _bin_matrix(n_in, n_out, dtype)


# --------------------------------------------------------- argument checks
def _is_int(v):
    return isinstance(v, numbers.Integral) and not isinstance(v, bool)


def _plain(value):
    """A 0-d Tensor as its Python number; anything else unchanged."""
    return value.item() if isinstance(value, Tensor) and value.ndim == 0 else value


def _per_axis(value, dims, name, x):
    """``value`` (a number or a sequence of ``dims`` numbers) as a list of ``dims`` numbers."""
    value = _plain(value)
    if isinstance(value, Tensor):
        value = value.tolist()
    if isinstance(value, (list, tuple)):
        if len(value) != dims:
            raise ShapeError(
                f"{_OP}: {name} {tuple(value)} has {len(value)} entries but the input {fmt_shape(x.shape)} has "
                f"{dims} spatial dim(s) after (N, C); give one {name} per spatial dim"
            )
        return [_plain(v) for v in value]
    return [value] * dims


def _output_sizes(x, size, scale_factor, recompute_scale_factor, mode):
    """(output sizes, the scale factors the kernels use: None where the sizes define the scale)."""
    dims, spatial = x.ndim - 2, x.shape[2:]
    if size is not None and scale_factor is not None:
        raise InvalidArgument(f"{_OP}: give only one of size or scale_factor, got size={size!r} and "
                              f"scale_factor={scale_factor!r}")
    if size is None and scale_factor is None:
        raise InvalidArgument(f"{_OP}: give either size or scale_factor (both are None)")
    if size is not None and recompute_scale_factor:
        raise InvalidArgument(f"{_OP}: recompute_scale_factor=True is not meaningful with an explicit size; "
                              f"give scale_factor instead or leave recompute_scale_factor unset")
    if min(spatial) < 1:
        raise ShapeError(f"{_OP}: expected an input whose spatial sizes are > 0, got {fmt_shape(x.shape)}")
    if size is not None:
        sizes = _per_axis(size, dims, "size", x)
        if not all(_is_int(s) for s in sizes):
            raise ArgumentTypeError(f"{_OP}: size must be an int or a tuple of {dims} ints, got {size!r}")
        if min(sizes) < 1:
            raise InvalidArgument(f"{_OP}: size must be > 0, got {size!r}")
        return [int(s) for s in sizes], [None] * dims
    scales = _per_axis(scale_factor, dims, "scale_factor", x)
    if not all(isinstance(s, numbers.Real) and not isinstance(s, bool) for s in scales):
        raise ArgumentTypeError(f"{_OP}: scale_factor must be a number or a tuple of {dims} numbers, "
                                f"got {scale_factor!r}")
    scales = [float(s) for s in scales]
    if not all(s > 0 and math.isfinite(s) for s in scales):
        raise InvalidArgument(f"{_OP}: scale_factor must be positive and finite, got {scale_factor!r}")
    sizes = [int(n * s) for n, s in zip(spatial, scales)]  # floor, in double, as PyTorch
    if min(sizes) < 1:
        raise ShapeError(f"{_OP}: input {fmt_shape(x.shape)} with scale_factor={scale_factor!r} gives output "
                         f"sizes {tuple(sizes)}; every output size must be > 0")
    if recompute_scale_factor or mode == "area":  # the scale is then output / input, from the sizes
        scales = [None] * dims
    return sizes, scales


def _check_mode(x, mode, align_corners, antialias):
    if not isinstance(mode, str) or mode not in _MODES + ("lanczos",):
        raise InvalidArgument(f"{_OP}: unknown mode {mode!r}; expected one of {', '.join(map(repr, _MODES))}")
    if mode == "lanczos":
        raise NotSupported(f"{_OP}: mode='lanczos' is not supported; supported modes: {', '.join(map(repr, _MODES))}")
    if mode in _NEAREST + ("area",) and align_corners is not None:
        raise InvalidArgument(f"{_OP}: align_corners can only be set with the interpolating modes linear | "
                              f"bilinear | bicubic | trilinear, got mode={mode!r} with align_corners={align_corners!r}")
    if x.ndim not in (3, 4, 5):
        raise ShapeError(f"{_OP}: expected a 3-d (N, C, L), 4-d (N, C, H, W) or 5-d (N, C, D, H, W) input, "
                         f"got {fmt_shape(x.shape)}")
    dims = x.ndim - 2
    if mode in _LINEAR and _LINEAR[mode] != dims:
        want = {1: "3-d (N, C, L)", 2: "4-d (N, C, H, W)", 3: "5-d (N, C, D, H, W)"}[_LINEAR[mode]]
        raise ShapeError(f"{_OP}: mode={mode!r} expects a {want} input, got {fmt_shape(x.shape)}"
                         f"{'; use mode=' + repr(_mode_for(dims)) if dims in (1, 2, 3) else ''}")
    if antialias:
        if mode in ("bilinear", "bicubic"):
            raise NotSupported(f"{_OP}: antialias=True is not supported; resize with antialias=False")
        raise InvalidArgument(f"{_OP}: antialias=True needs mode 'bilinear' or 'bicubic' and a 4-d input, "
                              f"got mode={mode!r}")
    kinds = "fiu" if mode in _NEAREST else "f"
    if x.dtype.kind not in kinds:
        want = "a numeric (not bool)" if mode in _NEAREST else "a floating point"
        raise DTypeError(f"{_OP}: mode={mode!r} expects {want} input, got dtype {x.dtype}")


def _mode_for(dims):
    return {1: "linear", 2: "bilinear", 3: "trilinear"}[dims]


# ------------------------------------------------------------------ public
@public(method=False)
def interpolate(input, size=None, scale_factor=None, mode: str = "nearest", align_corners=None,
                recompute_scale_factor=None, antialias: bool = False):
    """Resize the spatial dims of ``input``, as ``torch.nn.functional.interpolate``.

    Args:
        input: (N, C, L), (N, C, H, W) or (N, C, D, H, W).
        size: output spatial size, an int or one int per spatial dim.
        scale_factor: multiplier of the spatial sizes (a number or one per dim); the output size is
            ``floor(in * scale_factor)`` and, unless ``recompute_scale_factor``, the sampling uses
            ``1 / scale_factor`` as the source step (PyTorch's rule), not ``in / out``.
        mode: 'nearest' (source ``floor(i * step)``, PyTorch's legacy rule), 'nearest-exact' (pixel
            centres, as PIL and scikit-image), 'linear' (3-d), 'bilinear' (4-d), 'bicubic' (4-d),
            'trilinear' (5-d) or 'area' (adaptive average pooling).
        align_corners: linear modes only: True maps the corner pixels' centres onto each other; False
            (the default) maps the corners of the pixel grids, with sources clamped at the edges.
        recompute_scale_factor: with ``scale_factor``, sample with ``in / out`` of the computed size.
        antialias: only False.
    """
    x = _as_tensor(input)
    _check_mode(x, mode, align_corners, antialias)
    sizes, scales = _output_sizes(x, size, scale_factor, recompute_scale_factor, mode)
    if mode in _NEAREST:
        sources = tuple(_nearest_sources(n, o, s, mode == "nearest-exact", x.dtype, planar=x.ndim == 4)
                        for n, o, s in zip(x.shape[2:], sizes, scales))
        return NearestResample.apply(x, sources=sources)
    if mode == "area":
        matrices = tuple(_area_matrix(n, o, x.dtype) for n, o in zip(x.shape[2:], sizes))
    else:
        build = _cubic_matrix if mode == "bicubic" else _linear_matrix
        matrices = tuple(build(n, o, bool(align_corners), s, x.dtype) for n, o, s in zip(x.shape[2:], sizes, scales))
    return SeparableResample.apply(x, matrices=matrices)
