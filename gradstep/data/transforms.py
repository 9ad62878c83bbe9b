"""Image transforms as vectorised array operations.

Layouts: one image is ``(C, H, W)`` (or ``(H, W)``), a batch is
``(N, C, H, W)``; random transforms draw independently for every image of a
batch, so a dataset can apply them to a whole gathered batch at once (which is
what :class:`~gradstep.data.TensorDataset` does in its ``get_batch`` fast path).
A batch of grey images needs its channel axis: ``(N, 1, H, W)``.

Every transform takes a NumPy array or a gradstep Tensor and returns the same
kind (except :class:`ToTensor`, which returns a Tensor). Randomness comes from
the ``generator`` given, else -- inside a DataLoader -- from the per-batch
generator seeded by (loader seed, epoch, batch) (see :mod:`gradstep.data._rng`),
else from gradstep's global generator (fixed by ``gradstep.manual_seed``).

Example:
    >>> train_tf = Compose([RandomCrop(28, padding=2), RandomHorizontalFlip(), Normalize([0.13], [0.31])])
    >>> x = train_tf(images)    # (N, 1, 28, 28) float32 in, same shape out
"""
from __future__ import annotations

from typing import Callable, Sequence

import numpy
from numpy.lib.stride_tricks import sliding_window_view

from . import _rng
from ..autograd.tensor import Tensor
from ..errors import ArgumentTypeError, DTypeError, InvalidArgument, NotSupported, ShapeError, fmt_shape

__all__ = ["Compose", "Lambda", "ToTensor", "Normalize", "RandomCrop", "RandomHorizontalFlip",
           "RandomVerticalFlip", "RandomShift"]


def _unwrap(x):
    if isinstance(x, Tensor):
        return x._data, True
    return numpy.asarray(x), False


def _rewrap(arr, was_tensor: bool):
    return Tensor._wrap(arr) if was_tensor else arr


def _generator(generator) -> numpy.random.Generator:
    return _rng.current() if generator is None else generator


def _as_batch(arr, who: str):
    """(N, C, H, W) view of a single image or a batch, and whether it was a single image."""
    if arr.ndim == 4:
        return arr, False
    if arr.ndim == 3:
        return arr[None], True
    if arr.ndim == 2:
        return arr[None, None], True
    raise ShapeError(f"{who}: expected an image (H, W) or (C, H, W) or a batch (N, C, H, W), got shape {fmt_shape(arr.shape)}")


def _restore(out, single: bool, ndim: int):
    if not single:
        return out
    return out[0] if ndim == 3 else out[0, 0]


class Transform:
    """Base class: a callable on arrays/Tensors with a readable repr."""

    def __call__(self, x):
        raise NotSupported(f"{type(self).__name__}: a Transform subclass must define __call__(x)")

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in vars(self).items() if not k.startswith("_") and k != "generator")
        return f"{type(self).__name__}({args})"


class Compose(Transform):
    """Apply ``transforms`` one after the other."""

    def __init__(self, transforms: Sequence[Callable]):
        self.transforms = list(transforms)
        for t in self.transforms:
            if not callable(t):
                raise ArgumentTypeError(f"Compose: every transform must be callable, got {type(t).__name__}")

    def __call__(self, x):
        for t in self.transforms:
            x = t(x)
        return x

    def __repr__(self) -> str:
        return "Compose([" + ", ".join(repr(t) for t in self.transforms) + "])"


class Lambda(Transform):
    """Wrap any function as a transform."""

    def __init__(self, fn: Callable):
        if not callable(fn):
            raise ArgumentTypeError(f"Lambda: expected a callable, got {type(fn).__name__}")
        self.fn = fn

    def __call__(self, x):
        return self.fn(x)


class ToTensor(Transform):
    """uint8 image(s) in ``[0, 255]`` -> float32 Tensor in ``[0, 1]``, channels first.

    ``(H, W)`` -> ``(1, H, W)``; ``(H, W, C)`` -> ``(C, H, W)``; a batch
    ``(N, H, W, C)`` -> ``(N, C, H, W)``. Floating input is only transposed
    (cast to float32), as in torchvision.
    """

    def __call__(self, x):
        arr, _ = _unwrap(x)
        if arr.ndim == 2:
            arr = arr[None]
        elif arr.ndim in (3, 4):
            arr = numpy.moveaxis(arr, -1, -3)
        else:
            raise ShapeError(f"ToTensor: expected (H, W), (H, W, C) or (N, H, W, C), got shape {fmt_shape(arr.shape)}")
        if arr.dtype == numpy.uint8:
            out = arr.astype(numpy.float32)
            out *= numpy.float32(1 / 255)
        elif arr.dtype.kind == "f":
            out = numpy.ascontiguousarray(arr, dtype=numpy.float32)
        else:
            raise DTypeError(f"ToTensor: expected uint8 or floating images, got dtype {arr.dtype}")
        return Tensor._wrap(out)


class Normalize(Transform):
    """``(x - mean) / std`` per channel (axis -3 of an image), in float32.

    Args:
        mean, std: one number per channel (or a single number for all).
    Shape: ``(C, H, W)`` or ``(N, C, H, W)``; 1-D or 2-D feature arrays are
    normalised along their last axis.
    """

    def __init__(self, mean, std):
        try:
            self.mean = numpy.atleast_1d(numpy.asarray(mean, dtype=numpy.float32))
            self.std = numpy.atleast_1d(numpy.asarray(std, dtype=numpy.float32))
        except (TypeError, ValueError):
            raise ArgumentTypeError(f"Normalize: mean and std must be numbers or lists of numbers, "
                                    f"got {mean!r} and {std!r}") from None
        if self.mean.ndim != 1 or self.std.ndim != 1 or self.mean.size != self.std.size:
            raise ShapeError(f"Normalize: mean and std must be equally long lists, got {mean!r} and {std!r}")
        if (self.std <= 0).any():
            raise InvalidArgument(f"Normalize: std must be positive, got {std!r}")
        self._inv_std = (1 / self.std).astype(numpy.float32)

    def __call__(self, x):
        arr, was_tensor = _unwrap(x)
        if arr.dtype.kind != "f":
            arr = arr.astype(numpy.float32)
        mean, inv = self.mean, self._inv_std
        if arr.ndim >= 3:
            if mean.size not in (1, arr.shape[-3]):
                raise ShapeError(f"Normalize: {mean.size} channel means for images of shape {fmt_shape(arr.shape)} "
                                 f"(channels on axis -3: {arr.shape[-3]})")
            mean, inv = mean[:, None, None], inv[:, None, None]
        elif mean.size not in (1, arr.shape[-1]):
            raise ShapeError(f"Normalize: {mean.size} means for features of shape {fmt_shape(arr.shape)}")
        return _rewrap(((arr - mean.astype(arr.dtype)) * inv.astype(arr.dtype)), was_tensor)


def _pair(v, who: str, what: str) -> tuple[int, int]:
    if isinstance(v, (int, numpy.integer)) and not isinstance(v, bool):
        return int(v), int(v)
    if isinstance(v, (tuple, list)) and len(v) == 2 and all(isinstance(i, (int, numpy.integer)) for i in v):
        return int(v[0]), int(v[1])
    raise ArgumentTypeError(f"{who}: {what} must be an int or a pair of ints, got {v!r}")


def _padding(padding, who: str) -> tuple[int, int, int, int]:
    """torchvision's convention -> (left, top, right, bottom)."""
    if padding is None:
        return 0, 0, 0, 0
    if isinstance(padding, (int, numpy.integer)) and not isinstance(padding, bool):
        p = int(padding)
        pads = (p, p, p, p)
    elif isinstance(padding, (tuple, list)) and len(padding) == 2:
        pads = (padding[0], padding[1], padding[0], padding[1])
    elif isinstance(padding, (tuple, list)) and len(padding) == 4:
        pads = tuple(padding)
    else:
        raise ArgumentTypeError(f"{who}: padding must be an int, (left/right, top/bottom) or (left, top, right, bottom), got {padding!r}")
    if any(not isinstance(p, (int, numpy.integer)) or p < 0 for p in pads):
        raise InvalidArgument(f"{who}: padding must be non-negative ints, got {padding!r}")
    return tuple(int(p) for p in pads)


def _random_crop(arr, size, pads, fill, mode, rng, who):
    batch, single = _as_batch(arr, who)
    left, top, right, bottom = pads
    if any(pads):
        width = ((0, 0), (0, 0), (top, bottom), (left, right))
        batch = numpy.pad(batch, width, mode="constant", constant_values=fill) if mode == "constant" \
            else numpy.pad(batch, width, mode=mode)
    n, _, h_in, w_in = batch.shape
    h, w = size
    if h > h_in or w > w_in:
        raise ShapeError(f"{who}: crop size {(h, w)} is larger than the (padded) image {(h_in, w_in)}")
    oy = rng.integers(0, h_in - h + 1, size=n)
    ox = rng.integers(0, w_in - w + 1, size=n)
    windows = sliding_window_view(batch, (h, w), axis=(2, 3))  # (N, C, H', W', h, w), no copy
    out = windows[numpy.arange(n), :, oy, ox]  # one gather: (N, C, h, w)
    return _restore(out, single, arr.ndim)


class RandomCrop(Transform):
    """Crop a random ``size`` window, after optional padding, independently per image.

    Args:
        size: ``int`` or ``(h, w)``.
        padding: added first: an int, ``(left/right, top/bottom)`` or ``(left, top, right, bottom)``.
        fill: value of constant padding.
        padding_mode: ``"constant"``, ``"edge"`` or ``"reflect"``.
        generator: a ``numpy.random.Generator`` (default: see the module docstring).
    """

    def __init__(self, size, padding=None, fill=0, padding_mode: str = "constant", generator=None):
        self.size = _pair(size, "RandomCrop", "size")
        self.padding = _padding(padding, "RandomCrop")
        if padding_mode not in ("constant", "edge", "reflect"):
            raise InvalidArgument(f"RandomCrop: padding_mode must be one of 'constant', 'edge', 'reflect', got {padding_mode!r}")
        self.fill = fill
        self.padding_mode = padding_mode
        self.generator = generator

    def __call__(self, x):
        arr, was_tensor = _unwrap(x)
        out = _random_crop(arr, self.size, self.padding, self.fill, self.padding_mode,
                           _generator(self.generator), "RandomCrop")
        return _rewrap(out, was_tensor)


class RandomShift(Transform):
    """Translate each image by a random whole number of pixels in ``[-max_shift, max_shift]``
    along each axis, filling the uncovered border with ``fill`` (an integer-only RandomAffine)."""

    def __init__(self, max_shift: int, fill=0, generator=None):
        if not isinstance(max_shift, (int, numpy.integer)) or isinstance(max_shift, bool) or max_shift < 0:
            raise InvalidArgument(f"RandomShift: max_shift must be a non-negative int, got {max_shift!r}")
        self.max_shift = int(max_shift)
        self.fill = fill
        self.generator = generator

    def __call__(self, x):
        arr, was_tensor = _unwrap(x)
        m = self.max_shift
        size = arr.shape[-2:]
        out = _random_crop(arr, size, (m, m, m, m), self.fill, "constant", _generator(self.generator), "RandomShift")
        return _rewrap(out, was_tensor)


class _RandomFlip(Transform):
    _axis = -1

    def __init__(self, p: float = 0.5, generator=None):
        if not 0.0 <= p <= 1.0:
            raise InvalidArgument(f"{type(self).__name__}: p must be in [0, 1], got {p!r}")
        self.p = float(p)
        self.generator = generator

    def __call__(self, x):
        arr, was_tensor = _unwrap(x)
        batch, single = _as_batch(arr, type(self).__name__)
        flip = _generator(self.generator).random(batch.shape[0]) < self.p
        out = batch.copy()
        out[flip] = numpy.flip(batch[flip], axis=self._axis)
        return _rewrap(_restore(out, single, arr.ndim), was_tensor)


class RandomHorizontalFlip(_RandomFlip):
    """Mirror each image left-right with probability ``p``."""

    _axis = -1


class RandomVerticalFlip(_RandomFlip):
    """Mirror each image top-bottom with probability ``p``."""

    _axis = -2
