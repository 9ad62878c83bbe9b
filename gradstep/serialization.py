"""``gradstep.save`` / ``gradstep.load``: PyTorch's checkpoint calls, without pickle.

What ``torch.save`` stores with pickle, ``gradstep.save`` stores in one
``.safetensors`` file: every tensor (or NumPy array) is an entry of the file,
and the structure around them (dicts, lists, tuples, numbers, strings, bools,
None) is JSON in the file's metadata. Loading reads arrays and JSON only, so
a checkpoint can never run code. What can be saved:

* a Tensor;
* a state_dict (``{name: Tensor}``), stored under its own names, so
  ``safetensors.torch.load_file`` reads it as a PyTorch state_dict;
* nested dicts/lists/tuples of tensors and JSON-able values, e.g.
  ``{"model": model.state_dict(), "optimizer": opt.state_dict(), "epoch": 3}``.
  Dict keys may be strings, ints, floats, bools, None or tuples of them
  (an optimizer state_dict's int keys come back as ints).

``load`` returns the same structure with gradstep Tensors (arrays saved as
NumPy arrays come back as Tensors too; tensors that shared storage come back
as separate copies). A plain ``.safetensors`` file from elsewhere loads as
``{name: Tensor}``.

>>> import gradstep as gs
>>> gs.save({"w": gs.ones(2), "epoch": 3}, "/tmp/ckpt.safetensors")
>>> gs.load("/tmp/ckpt.safetensors")["epoch"]
3
"""
from __future__ import annotations

import collections
import json
import math
import os

import numpy

from .autograd.tensor import Tensor
from .errors import ArgumentTypeError, CheckpointError

__all__ = ["save", "load"]

_META_KEY = "gradstep"
_VERSION = 1
_SCALARS = (str, int, bool, type(None))


# ------------------------------------------------------------------- encoding
class _Encoder:
    """Turns an object into JSON-able nodes, collecting its arrays under unique names.

    Nodes: JSON scalars stand for themselves; containers and tensors are
    one-key objects: ``{"T": name}`` a tensor (``"g": 1`` if it required grad,
    ``"p": 1`` if it was a Parameter), ``{"D": {...}}`` a str-keyed dict,
    ``{"M": [[key, value], ...]}`` a dict with other keys, ``{"L": [...]}`` a
    list, ``{"U": [...]}`` a tuple, ``{"F": "nan"}`` a non-finite float;
    ``"o": 1`` marks an OrderedDict.
    """

    def __init__(self):
        self.arrays: dict = {}

    def _name(self, path: str) -> str:
        name, n = path or "tensor", 1
        while name in self.arrays:
            n += 1
            name = f"{path or 'tensor'}#{n}"
        return name

    def encode(self, obj, path: str):
        if isinstance(obj, Tensor):
            name = self._name(path)
            self.arrays[name] = obj._data
            node = {"T": name}
            if obj.requires_grad:
                node["g"] = 1
            if type(obj).__name__ == "Parameter":
                node["p"] = 1
            return node
        if isinstance(obj, numpy.ndarray):
            name = self._name(path)
            self.arrays[name] = obj
            return {"T": name}
        if isinstance(obj, numpy.generic):
            obj = obj.item()
        if isinstance(obj, float):
            return obj if math.isfinite(obj) else {"F": repr(obj)}
        if isinstance(obj, _SCALARS):
            return obj
        if isinstance(obj, dict):
            ordered = {"o": 1} if isinstance(obj, collections.OrderedDict) else {}
            if all(isinstance(k, str) for k in obj):
                return {"D": {k: self.encode(v, _join(path, k)) for k, v in obj.items()}, **ordered}
            items = [[self._key(k, path), self.encode(v, _join(path, str(k)))] for k, v in obj.items()]
            return {"M": items, **ordered}
        if isinstance(obj, list):
            return {"L": [self.encode(v, _join(path, str(i))) for i, v in enumerate(obj)]}
        if isinstance(obj, tuple):
            return {"U": [self.encode(v, _join(path, str(i))) for i, v in enumerate(obj)]}
        raise ArgumentTypeError(
            f"save: can't store {type(obj).__name__} {_where(path)}: gradstep.save stores tensors, "
            f"NumPy arrays, dicts, lists, tuples, numbers, strings, bools and None (it never pickles objects); "
            f"save the object's state_dict() instead"
        )

    def _key(self, key, path):
        if isinstance(key, (*_SCALARS, float, numpy.generic)):
            return self.encode(key, path)
        if isinstance(key, tuple):
            return {"U": [self._key(k, path) for k in key]}
        raise ArgumentTypeError(f"save: can't store a dict key of type {type(key).__name__} {_where(path)}")


def _where(path: str) -> str:
    return f"at {path!r}" if path else "at the top level"


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


# ------------------------------------------------------------------- decoding
def _decode(node, arrays: dict, source: str):
    if not isinstance(node, (dict, list)):
        return node
    if isinstance(node, dict) and len(node.keys() - {"g", "p", "o"}) == 1:
        (tag,) = node.keys() - {"g", "p", "o"}
        value = node[tag]
        if tag == "T":
            if value not in arrays:
                raise CheckpointError(f"{source}: the checkpoint's structure names a tensor {value!r} the file doesn't hold")
            return _tensor(arrays[value], node)
        if tag == "D":
            out = {k: _decode(v, arrays, source) for k, v in value.items()}
            return collections.OrderedDict(out) if node.get("o") else out
        if tag == "M":
            out = {_hashable(_decode(k, arrays, source)): _decode(v, arrays, source) for k, v in value}
            return collections.OrderedDict(out) if node.get("o") else out
        if tag == "L":
            return [_decode(v, arrays, source) for v in value]
        if tag == "U":
            return tuple(_decode(v, arrays, source) for v in value)
        if tag == "F":
            return float(value)
    raise CheckpointError(f"{source}: the checkpoint's structure is damaged (unexpected entry {str(node)[:80]})")


def _hashable(key):
    return tuple(_hashable(k) for k in key) if isinstance(key, (tuple, list)) else key


def _tensor(array, node) -> Tensor:
    if node.get("p"):
        from .nn.parameter import Parameter

        return Parameter(Tensor._wrap(array), requires_grad=bool(node.get("g")))
    t = Tensor._wrap(array)
    if node.get("g") and array.dtype.kind in "fc":
        t.requires_grad_(True)
    return t


# ----------------------------------------------------------------- save, load
def save(obj, f, pickle_module=None, pickle_protocol=None, _use_new_zipfile_serialization=True,
         _disable_byteorder_record=False) -> None:
    """Write ``obj`` (a Tensor, a state_dict, or nested containers of them) to ``f`` as safetensors.

    Args:
        obj: what to save (see the module docstring for what is allowed).
        f: a path (written atomically: a crash leaves the old file or the new one, never half of
            one) or a binary file object. PyTorch's pickle arguments are accepted and ignored.
    """
    from .interop.safetensors import atomic_write, save as to_bytes

    encoder = _Encoder()
    structure = encoder.encode(obj, "")
    meta = json.dumps({"version": _VERSION, "structure": structure}, allow_nan=False, separators=(",", ":"))
    try:
        data = to_bytes(encoder.arrays, metadata={_META_KEY: meta})
    except Exception as e:  # e.g. a complex dtype safetensors can't store
        if isinstance(e, CheckpointError):
            raise
        raise ArgumentTypeError(f"save: can't write these arrays as safetensors ({e})") from None
    if hasattr(f, "write"):
        f.write(data)
        return
    atomic_write(f, data)


def _read(f) -> tuple[bytes, str]:
    if hasattr(f, "read"):
        return f.read(), getattr(f, "name", "<file object>")
    from .interop.safetensors import read_bytes

    return read_bytes(f, "a file written by gradstep.save"), os.fspath(f)


def _has_safetensors_header(data: bytes) -> bool:
    """True when ``data`` starts as a safetensors file: an 8-byte little-endian length, then that much JSON.

    Checked before the pickle signatures, since a header length such as 0x580 also starts with byte 0x80.
    """
    n = int.from_bytes(data[:8], "little")
    return len(data) >= 8 and 8 + n <= len(data) and data[8:9] == b"{"


def load(f, map_location=None, pickle_module=None, *, weights_only=None, mmap=None, **pickle_load_args):
    """Read what :func:`save` wrote (or any ``.safetensors`` file, as ``{name: Tensor}``).

    Never unpickles: a PyTorch ``.pt``/``.pth`` pickle file raises a CheckpointError
    explaining how to convert it. ``map_location``, ``weights_only`` and ``mmap``
    are accepted for PyTorch's signature and ignored (everything is on the CPU).
    """
    from .interop.safetensors import load as from_bytes, read_metadata

    data, source = _read(f)
    if not _has_safetensors_header(data) and (data[:4] == b"PK\x03\x04" or data[:1] == b"\x80"):
        raise CheckpointError(
            f"{source} looks like a PyTorch pickle file; gradstep never unpickles files: convert it with "
            f"safetensors (safetensors.torch.save_file) and load that"
        )
    arrays = from_bytes(data, source)
    meta = read_metadata(data).get(_META_KEY)
    if meta is None:  # a plain safetensors file
        return {name: Tensor._wrap(a) for name, a in arrays.items()}
    try:
        payload = json.loads(meta)
        structure = payload["structure"]
    except (ValueError, TypeError, KeyError):
        raise CheckpointError(f"{source}: the gradstep metadata of this safetensors file is damaged") from None
    if not isinstance(payload.get("version"), int) or payload["version"] > _VERSION:
        raise CheckpointError(
            f"{source}: written by a newer gradstep (format version {payload.get('version')!r}, this one reads "
            f"up to {_VERSION}); upgrade gradstep"
        )
    return _decode(structure, arrays, source)
