"""state_dict <-> ``.safetensors`` files, through the safetensors package's NumPy API.

A state_dict is a flat mapping from dotted name (``"0.weight"``) to an array or
Tensor; that is exactly what the safetensors format stores, so weights travel
between gradstep, PyTorch and other tools without pickle (loading a file never
runs code). Files are written atomically: a crash mid-write leaves the previous
file intact, never a truncated one.

>>> import gradstep as gs
>>> from gradstep.interop.safetensors import save_file, load_file
>>> save_file({"w": gs.ones(2, 3)}, "/tmp/w.safetensors")
>>> load_file("/tmp/w.safetensors")["w"].shape
(2, 3)
"""
from __future__ import annotations

import errno
import json
import os
import secrets
import struct

import numpy

from ..errors import ArgumentTypeError, CheckpointError, PathNotFound

__all__ = ["save", "load", "save_file", "load_file", "read_metadata", "atomic_write", "create_temp"]


def _to_numpy(value, name: str) -> numpy.ndarray:
    data = getattr(value, "_data", value)  # a gradstep Tensor or Parameter holds its array in _data
    if isinstance(data, numpy.generic):
        data = numpy.asarray(data)
    if not isinstance(data, numpy.ndarray):
        raise ArgumentTypeError(f"safetensors: {name!r} must be a Tensor or NumPy array, got {type(value).__name__}")
    # not ascontiguousarray: it turns a 0-d array into shape (1,)
    return data if data.flags.c_contiguous else data.copy(order="C")


def save(tensors: dict, metadata: dict[str, str] | None = None) -> bytes:
    """Serialise ``{name: Tensor | ndarray}`` (and string metadata) to safetensors bytes."""
    import safetensors.numpy

    if not hasattr(tensors, "items"):
        raise ArgumentTypeError(f"safetensors: expected a dict of name -> tensor (e.g. model.state_dict()), "
                                f"got {type(tensors).__name__}")
    arrays = {str(k): _to_numpy(v, k) for k, v in tensors.items()}
    return _sorted_header(safetensors.numpy.save(arrays, metadata=metadata))


def _sorted_header(data: bytes) -> bytes:
    """``data`` with its JSON header's keys in sorted order, so that equal weights and metadata give
    equal bytes (the safetensors writer orders the metadata differently from run to run)."""
    (n,) = struct.unpack("<Q", data[:8])
    text = json.dumps(json.loads(data[8 : 8 + n]), sort_keys=True, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)  # the format pads the header to a multiple of 8 bytes
    return struct.pack("<Q", len(text)) + text + data[8 + n :]


def load(data: bytes, source: str = "<bytes>") -> dict[str, numpy.ndarray]:
    """Parse safetensors bytes into ``{name: ndarray}``; CheckpointError if they are not a valid file."""
    import safetensors.numpy

    _parse_header(data, source)  # clear message for non-safetensors/truncated input before the Rust parser
    try:
        return safetensors.numpy.load(data)
    except Exception as e:  # the Rust parser raises its own exception type
        raise CheckpointError(f"{source}: not a valid safetensors file ({e})") from None


def atomic_write(path: str | os.PathLike, data: bytes, who: str | None = None) -> None:
    """Write ``data`` to ``path`` so that a crash leaves either the old file or the new one.

    The bytes go to a temporary file in the same directory, are flushed and
    fsync'ed, then renamed over ``path`` (``os.replace`` is atomic on POSIX and
    Windows); finally the directory is fsync'ed so the rename itself is durable.
    """
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = create_temp(directory, os.path.basename(path), ".tmp", target=path, who=who)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    _fsync_dir(directory)


def create_temp(directory: str, name: str, suffix: str = ".tmp", target: str | None = None,
                who: str | None = None) -> tuple[int, str]:
    """``(fd, path)`` of a new hidden file ``.<name>.<random><suffix>`` in ``directory``, open for writing.

    Unlike ``tempfile.mkstemp`` (always mode 0600), the file gets the mode a
    plain ``open()`` would give (0666 minus the umask, usually 0644), so the
    file it is renamed into is readable like the run's other files. Errors
    name ``target`` (the file being written) and ``who`` wrote it, not the hidden temporary.
    """
    target = target or os.path.join(directory, name)
    what = f"{who}: cannot write {target}" if who else f"cannot write {target}"
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0) | getattr(os, "O_CLOEXEC", 0)
    for _ in range(100):
        tmp = os.path.join(directory, f".{name}.{secrets.token_hex(4)}{suffix}")
        try:
            return os.open(tmp, flags, 0o666), tmp
        except FileExistsError:
            continue
        except FileNotFoundError:
            raise PathNotFound(f"{what}: the folder {directory} does not exist") from None
        except NotADirectoryError:
            raise PathNotFound(f"{what}: {directory} is not a folder") from None
        except OSError as e:
            raise type(e)(e.errno, f"{what}: {e.strerror}") from None
    raise FileExistsError(errno.EEXIST, f"{what}: no free temporary name in {directory}")


def _fsync_dir(directory: str) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:  # e.g. Windows cannot open directories; the rename is still atomic
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def save_file(tensors: dict, path: str | os.PathLike, metadata: dict[str, str] | None = None) -> None:
    """Write ``{name: Tensor | ndarray}`` to a ``.safetensors`` file, atomically."""
    atomic_write(path, save(tensors, metadata), who="save_file")


def read_bytes(path, expected: str = "a .safetensors file") -> bytes:
    """The whole file at ``path``; a CheckpointError naming it (and ``expected``) when it can't be read."""
    path = os.fspath(path)
    try:
        with open(path, "rb") as f:
            return f.read()
    except FileNotFoundError:
        raise CheckpointError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise CheckpointError(f"{path}: is a directory, expected {expected}") from None
    except OSError as e:
        raise CheckpointError(f"{path}: cannot read ({e.strerror})") from None


def load_file(path: str | os.PathLike) -> dict[str, numpy.ndarray]:
    """Read a ``.safetensors`` file into ``{name: ndarray}`` (arrays are writable copies)."""
    return load(read_bytes(path), os.fspath(path))


def _parse_header(data: bytes, source: str) -> dict:
    if len(data) < 8:
        raise CheckpointError(f"{source}: not a safetensors file (only {len(data)} bytes)")
    (n,) = struct.unpack("<Q", data[:8])
    if n > len(data) - 8:
        raise CheckpointError(
            f"{source}: not a safetensors file or truncated (header says {n} bytes, file has {len(data) - 8})"
        )
    try:
        header = json.loads(data[8 : 8 + n])
    except (UnicodeDecodeError, ValueError):
        raise CheckpointError(f"{source}: not a safetensors file (header is not JSON)") from None
    if not isinstance(header, dict):
        raise CheckpointError(f"{source}: not a safetensors file (header is not a JSON object)")
    end = max((v["data_offsets"][1] for k, v in header.items() if k != "__metadata__" and isinstance(v, dict)
               and isinstance(v.get("data_offsets"), list) and len(v["data_offsets"]) == 2), default=0)
    if 8 + n + end > len(data):
        raise CheckpointError(f"{source}: truncated safetensors file (needs {8 + n + end} bytes, has {len(data)})")
    return header


def read_metadata(path_or_bytes) -> dict[str, str]:
    """The ``__metadata__`` string map of a safetensors file or bytes (``{}`` if it has none)."""
    if isinstance(path_or_bytes, (bytes, bytearray, memoryview)):
        data, source = bytes(path_or_bytes), "<bytes>"
    else:
        data, source = read_bytes(path_or_bytes), os.fspath(path_or_bytes)
    return dict(_parse_header(data, source).get("__metadata__") or {})
