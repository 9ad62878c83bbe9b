"""Parsers for the IDX (MNIST) and CIFAR-10 binary file formats.

Both are parsed from raw bytes with fixed layouts checked exactly (magic
number, declared sizes against the actual byte count), so a truncated or
foreign file gives a one-line ValueError naming it rather than garbage data.
Nothing here unpickles anything.
"""
from __future__ import annotations

import gzip
import zlib
from pathlib import Path

import numpy

from ...errors import ArgumentTypeError, InvalidArgument

__all__ = ["read_idx", "write_idx", "read_cifar_binary", "CIFAR_RECORD"]

# IDX type codes -> big-endian dtypes (http://yann.lecun.com/exdb/mnist/, bottom of the page).
_IDX_TYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
_IDX_CODES = {numpy.dtype(v).newbyteorder("="): k for k, v in _IDX_TYPES.items()}

CIFAR_RECORD = 1 + 3 * 32 * 32
"""Bytes per CIFAR-10 binary record: one label byte, then 1024 red, 1024 green, 1024 blue pixels."""


def _read_bytes(path: Path) -> bytes:
    with open(path, "rb") as f:
        raw = f.read()
    if raw[:2] == b"\x1f\x8b":  # gzip magic: the downloads are gzipped, unpacked copies are not
        try:
            return gzip.decompress(raw)
        except (OSError, EOFError, zlib.error) as exc:
            raise InvalidArgument(f"{path}: corrupt or truncated gzip file ({exc})") from None
    return raw


def read_idx(path) -> numpy.ndarray:
    """Read an IDX file (gzipped or not) into an array of its declared shape and type.

    Layout: two zero bytes, a type code, the number of dimensions ``d``, ``d``
    big-endian uint32 sizes, then the data in big-endian order.
    """
    path = Path(path)
    raw = _read_bytes(path)
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _IDX_TYPES:
        raise InvalidArgument(f"{path}: not an IDX file (bad magic number {raw[:4].hex() or 'empty'})")
    ndim = raw[3]
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise InvalidArgument(f"{path}: truncated IDX header ({len(raw)} bytes, {ndim} dimensions declared)")
    shape = tuple(int(s) for s in numpy.frombuffer(raw, dtype=">u4", count=ndim, offset=4))
    dtype = numpy.dtype(_IDX_TYPES[raw[2]])
    expected = int(numpy.prod(shape, dtype=numpy.int64)) * dtype.itemsize
    if len(raw) - header != expected:
        raise InvalidArgument(f"{path}: IDX shape {shape} needs {expected} data bytes, the file has {len(raw) - header} "
                              f"(truncated or corrupt)")
    data = numpy.frombuffer(raw, dtype=dtype, offset=header).reshape(shape)
    return data.astype(dtype.newbyteorder("="))  # native order, and writable (frombuffer is read-only)


def write_idx(path, array) -> None:
    """Write ``array`` as an IDX file (gzipped if ``path`` ends in .gz); for tests and tools."""
    array = numpy.asarray(array)
    code = _IDX_CODES.get(array.dtype)
    if code is None:
        raise ArgumentTypeError(f"write_idx: IDX has no type for dtype {array.dtype}")
    body = bytes([0, 0, code, array.ndim]) + numpy.asarray(array.shape, dtype=">u4").tobytes()
    body += array.astype(array.dtype.newbyteorder(">")).tobytes()
    path = Path(path)
    path.write_bytes(gzip.compress(body) if path.suffix == ".gz" else body)


def read_cifar_binary(paths) -> tuple[numpy.ndarray, numpy.ndarray]:
    """Read CIFAR-10 binary batches: images ``(N, 3, 32, 32)`` uint8 and labels ``(N,)`` int64.

    Each file is a sequence of 3073-byte records (label byte, then the red,
    green and blue 32x32 planes, row-major), so the pixels are already CHW.
    """
    if isinstance(paths, (str, Path)):
        paths = [paths]
    records = []
    for p in paths:
        p = Path(p)
        raw = numpy.fromfile(p, dtype=numpy.uint8)
        if raw.size == 0 or raw.size % CIFAR_RECORD:
            raise InvalidArgument(f"{p}: not a CIFAR-10 binary batch ({raw.size} bytes is not a positive multiple "
                                  f"of the {CIFAR_RECORD}-byte record)")
        rec = raw.reshape(-1, CIFAR_RECORD)
        if rec[:, 0].max() > 9:
            raise InvalidArgument(f"{p}: not a CIFAR-10 binary batch (label byte {int(rec[:, 0].max())} > 9)")
        records.append(rec)
    rec = records[0] if len(records) == 1 else numpy.concatenate(records)
    images = numpy.ascontiguousarray(rec[:, 1:]).reshape(-1, 3, 32, 32)
    return images, rec[:, 0].astype(numpy.int64)
