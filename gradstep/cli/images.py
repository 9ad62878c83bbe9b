"""Tiny image readers for ``gradstep predict``: PNG (8-bit, zlib only) and PGM/PPM, no extra dependency.

:func:`read_image` returns a float32 array in [0, 1] of shape ``(H, W)`` for
grey images or ``(H, W, 3)`` for colour ones (alpha is composited on white).
"""
from __future__ import annotations

import struct
import zlib

import numpy

from ..errors import InvalidArgument

__all__ = ["read_image", "read_png", "read_pnm", "to_model_input"]

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_CHANNELS = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}


def read_image(path) -> numpy.ndarray:
    """Read a PNG, PGM or PPM file into float32 values in [0, 1]."""
    with open(path, "rb") as f:
        data = f.read()
    if data.startswith(_PNG_SIGNATURE):
        return read_png(data, str(path))
    if data[:2] in (b"P2", b"P5", b"P3", b"P6"):
        return read_pnm(data, str(path))
    raise InvalidArgument(f"{path}: not a PNG, PGM or PPM image (for other formats, convert it or save an .npy array)")


def _paeth(a, b, c):
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    return a if pa <= pb and pa <= pc else (b if pb <= pc else c)


def read_png(data: bytes, source: str = "<png>") -> numpy.ndarray:
    """Decode a non-interlaced 8-bit PNG (grey, grey+alpha, RGB, RGBA or palette)."""
    pos, idat, palette, header = 8, [], None, None
    while pos + 8 <= len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        pos += 12 + length
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"PLTE":
            palette = numpy.frombuffer(body, dtype=numpy.uint8).reshape(-1, 3)
        elif kind == b"IDAT":
            idat.append(body)
        elif kind == b"IEND":
            break
    if header is None or not idat:
        raise InvalidArgument(f"{source}: truncated or invalid PNG")
    width, height, depth, color, _, _, interlace = header
    if depth != 8 or interlace or color not in _CHANNELS:
        raise InvalidArgument(f"{source}: only 8-bit non-interlaced PNGs are supported (bit depth {depth}, "
                              f"colour type {color}, interlace {interlace}); re-save it as 8-bit")
    ch = _CHANNELS[color]
    try:
        raw = zlib.decompress(b"".join(idat))
    except zlib.error as e:
        raise InvalidArgument(f"{source}: corrupt PNG data ({e})") from None
    stride = width * ch
    if len(raw) < height * (stride + 1):
        raise InvalidArgument(f"{source}: truncated PNG data")
    out = numpy.zeros((height, stride), dtype=numpy.uint8)
    prev = numpy.zeros(stride, dtype=numpy.int32)
    for y in range(height):
        start = y * (stride + 1)
        ftype = raw[start]
        line = numpy.frombuffer(raw, dtype=numpy.uint8, count=stride, offset=start + 1).astype(numpy.int32)
        if ftype == 0:
            cur = line
        elif ftype == 2:
            cur = (line + prev) & 0xFF
        elif ftype in (1, 3, 4):  # these depend on the already-decoded left neighbour: byte by byte
            cur = numpy.zeros(stride, dtype=numpy.int32)
            for x in range(stride):
                left = cur[x - ch] if x >= ch else 0
                up = prev[x]
                if ftype == 1:
                    pred = left
                elif ftype == 3:
                    pred = (left + up) >> 1
                else:
                    pred = _paeth(left, up, prev[x - ch] if x >= ch else 0)
                cur[x] = (line[x] + pred) & 0xFF
        else:
            raise InvalidArgument(f"{source}: invalid PNG filter type {ftype} in row {y}")
        out[y] = cur
        prev = cur
    img = out.reshape(height, width, ch)
    if color == 3:
        if palette is None:
            raise InvalidArgument(f"{source}: palette PNG without a PLTE chunk")
        img = palette[img[..., 0]]
    img = img.astype(numpy.float32) / 255.0
    if img.shape[-1] in (2, 4):  # composite alpha on white
        alpha = img[..., -1:]
        img = img[..., :-1] * alpha + (1.0 - alpha)
    return img[..., 0] if img.shape[-1] == 1 else img


def read_pnm(data: bytes, source: str = "<pnm>") -> numpy.ndarray:
    """Decode PGM (P2 text, P5 binary) and PPM (P3, P6) images."""
    magic = data[:2]
    tokens, pos = [], 2
    while len(tokens) < 3:  # width, height, maxval, skipping comments
        while pos < len(data) and data[pos:pos + 1].isspace():
            pos += 1
        if data[pos:pos + 1] == b"#":
            while pos < len(data) and data[pos:pos + 1] not in (b"\n", b"\r"):
                pos += 1
            continue
        start = pos
        while pos < len(data) and not data[pos:pos + 1].isspace():
            pos += 1
        if start == pos:
            raise InvalidArgument(f"{source}: truncated PGM/PPM header")
        tokens.append(int(data[start:pos]))
    width, height, maxval = tokens
    ch = 3 if magic in (b"P3", b"P6") else 1
    n = width * height * ch
    if magic in (b"P5", b"P6"):
        dtype = numpy.uint8 if maxval < 256 else numpy.dtype(">u2")
        body = data[pos + 1:]
        if len(body) < n * numpy.dtype(dtype).itemsize:
            raise InvalidArgument(f"{source}: truncated image data")
        values = numpy.frombuffer(body, dtype=dtype, count=n)
    else:
        values = numpy.array(data[pos:].split()[:n], dtype=numpy.int64)
        if values.size < n:
            raise InvalidArgument(f"{source}: truncated image data")
    img = values.astype(numpy.float32).reshape(height, width, ch) / float(maxval)
    return img[..., 0] if ch == 1 else img


def _resize(img: numpy.ndarray, h: int, w: int) -> numpy.ndarray:
    """Area-average when the size divides evenly, else nearest neighbour."""
    H, W = img.shape[:2]
    if (H, W) == (h, w):
        return img
    if H % h == 0 and W % w == 0:
        return img.reshape(h, H // h, w, W // w, *img.shape[2:]).mean(axis=(1, 3))
    rows = (numpy.arange(h) * H // h).astype(int)
    cols = (numpy.arange(w) * W // w).astype(int)
    return img[rows][:, cols]


def to_model_input(img: numpy.ndarray, input_shape) -> numpy.ndarray:
    """Fit an image in [0, 1] to a model's sample shape (``(C, H, W)`` or flat ``(H*W*C,)``).

    Grey/colour is converted to the channels the model expects, the image is
    resized, and a dark-on-light image is inverted so the strokes are bright,
    as in the digits and MNIST data.
    """
    shape = tuple(input_shape)
    if len(shape) == 3:
        c, h, w = shape
    else:
        n = int(numpy.prod(shape))
        c = 3 if n % 3 == 0 and int(round((n // 3) ** 0.5)) ** 2 == n // 3 and int(round(n ** 0.5)) ** 2 != n else 1
        h = w = int(round((n // c) ** 0.5))
        if h * w * c != n:
            raise InvalidArgument(f"cannot map an image onto a model input of shape {shape}; pass an .npy array instead")
    if img.ndim == 3 and c == 1:
        img = img.mean(axis=-1)
    elif img.ndim == 2 and c == 3:
        img = numpy.repeat(img[..., None], 3, axis=-1)
    img = _resize(img, h, w)
    if c == 1 and img.mean() > 0.5:
        img = 1.0 - img
    arr = img[None] if img.ndim == 2 else numpy.moveaxis(img, -1, 0)  # (C, H, W)
    return numpy.ascontiguousarray(arr.reshape(shape), dtype=numpy.float32)
