"""Checkpoints: everything needed to continue a run exactly, in two small files.

``NAME.safetensors`` holds every array under a flat dotted key
(``model.0.weight``, ``optim.state.3.exp_avg``, ...); ``NAME.json`` holds the
rest as plain JSON: scalars, optimizer ``param_groups``, scheduler and trainer
state, the global RNG state, the model's name, config and a signature (hash of
its parameter names and shapes), the schema version, and the SHA-256 of the
``.safetensors`` file. The same JSON (without the hash) is embedded in the
safetensors header, so the array file alone is self-describing.

Both files are written atomically (temporary file, fsync, rename, fsync of
the directory), the arrays first and the JSON last: the JSON is the commit
mark. A checkpoint whose JSON is missing or whose hash does not match is
ignored when resuming, so a crash at any moment leaves the previous
checkpoint usable.

>>> save_checkpoint("ckpt", model, optimizer)               # writes ckpt.safetensors + ckpt.json
>>> info = load_checkpoint("ckpt.json", model, optimizer)   # restores them (and the RNG)
"""
from __future__ import annotations

import glob
import hashlib
import json
import os
import re

import numpy

from .. import backend
from ..errors import CheckpointError, NonFiniteError, fmt_shape
from ..interop.safetensors import atomic_write, load, read_metadata, save
from .callbacks import Callback

__all__ = ["save_checkpoint", "load_checkpoint", "latest_checkpoint", "model_signature", "Checkpoint",
           "ModelCheckpoint", "SCHEMA_VERSION"]

SCHEMA_VERSION = 1
FORMAT = "gradstep-checkpoint"
_MAX_LISTED = 6


# --------------------------------------------------------------------- tree <-> (JSON, arrays)
def _encode(obj, key: str, arrays: dict):
    """JSON-able form of a state tree; arrays are moved to ``arrays`` under dotted keys."""
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    if isinstance(obj, numpy.generic):
        return {"__scalar__": obj.dtype.str, "value": obj.item()}
    if isinstance(obj, numpy.ndarray):
        arrays[key] = obj
        return {"__array__": key}
    if hasattr(obj, "_data") and isinstance(obj._data, numpy.ndarray):  # Tensor / Parameter
        arrays[key] = obj._data
        return {"__tensor__": key}
    if isinstance(obj, dict):
        if all(isinstance(k, str) and not k.startswith("__") for k in obj):
            return {k: _encode(v, f"{key}.{k}", arrays) for k, v in obj.items()}
        return {"__dict__": [[_encode(k, key, {}), _encode(v, f"{key}.{k}", arrays)] for k, v in obj.items()]}
    if isinstance(obj, list):
        return [_encode(v, f"{key}.{i}", arrays) for i, v in enumerate(obj)]
    if isinstance(obj, tuple):
        return {"__tuple__": [_encode(v, f"{key}.{i}", arrays) for i, v in enumerate(obj)]}
    raise CheckpointError(f"checkpoint: cannot store {key!r} of type {type(obj).__name__} "
                          "(only numbers, strings, lists, dicts, arrays and Tensors)")


def _decode(obj, arrays: dict, source: str):
    if isinstance(obj, list):
        return [_decode(v, arrays, source) for v in obj]
    if not isinstance(obj, dict):
        return obj
    if "__scalar__" in obj:
        return numpy.dtype(obj["__scalar__"]).type(obj["value"])
    if "__array__" in obj or "__tensor__" in obj:
        key = obj.get("__array__", obj.get("__tensor__"))
        if key not in arrays:
            raise CheckpointError(f"{source}: array {key!r} listed in the JSON is missing from the safetensors file")
        if "__tensor__" in obj:
            from ..autograd.tensor import Tensor

            return Tensor._wrap(arrays[key])
        return arrays[key]
    if "__tuple__" in obj:
        return tuple(_decode(v, arrays, source) for v in obj["__tuple__"])
    if "__dict__" in obj:
        return {_decode(k, arrays, source): _decode(v, arrays, source) for k, v in obj["__dict__"]}
    return {k: _decode(v, arrays, source) for k, v in obj.items()}


def _array(value) -> numpy.ndarray:
    return value._data if hasattr(value, "_data") else numpy.asarray(value)


def model_signature(model_or_state) -> str:
    """A short hash of a model's state_dict names and shapes: equal iff the architectures match."""
    state = model_or_state.state_dict() if hasattr(model_or_state, "state_dict") else model_or_state
    text = ";".join(f"{k}:{tuple(_array(v).shape)}" for k, v in sorted(state.items()))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


# --------------------------------------------------------------------------------- paths
def _paths(path) -> tuple[str, str]:
    """(arrays file, JSON file) for ``x``, ``x.safetensors`` or ``x.json``."""
    path = os.fspath(path)
    base, ext = os.path.splitext(path)
    if ext not in (".safetensors", ".json"):
        base = path
    return base + ".safetensors", base + ".json"


def _step_of(json_path: str) -> int:
    m = re.search(r"(\d+)\.json$", os.path.basename(json_path))
    return int(m.group(1)) if m else -1


def latest_checkpoint(directory) -> str | None:
    """JSON path of the newest *valid* checkpoint in ``directory`` (or its ``checkpoints/``), else None.

    Checkpoints are tried newest first (by the step in their name, then by
    modification time); one whose JSON is unreadable or whose arrays file is
    missing or fails its hash is skipped.
    """
    directory = os.fspath(directory)
    candidates = glob.glob(os.path.join(directory, "*.json")) + glob.glob(os.path.join(directory, "checkpoints", "*.json"))
    candidates.sort(key=lambda p: (_step_of(p), os.path.getmtime(p)), reverse=True)
    for json_path in candidates:
        try:
            _read_verified(json_path)
        except CheckpointError:
            continue
        return json_path
    return None


# ----------------------------------------------------------------------------- save/load
def save_checkpoint(path, model, optimizer=None, scheduler=None, *, trainer_state: dict | None = None,
                    loader_state=None, config: dict | None = None, model_name: str | None = None,
                    extra: dict | None = None, rng: bool = True) -> str:
    """Write ``path.safetensors`` and ``path.json`` atomically; returns the JSON path.

    Args:
        path: the common name (a ``.safetensors`` or ``.json`` suffix is stripped).
        model: its ``state_dict()`` is stored under ``model.*``.
        optimizer, scheduler: their ``state_dict()`` (arrays under ``optim.*`` / ``sched.*``).
        trainer_state, loader_state, extra: any further state trees (numbers, lists, dicts, arrays).
        config, model_name: stored as they are, so a run can be rebuilt from its checkpoint.
        rng: store gradstep's global generator state.
    """
    arrays_path, json_path = _paths(path)
    arrays: dict = {}
    model_state = model.state_dict()
    for k, v in model_state.items():
        arrays["model." + k] = _array(v)
    meta = {
        "format": FORMAT,
        "schema": SCHEMA_VERSION,
        "model_name": model_name,
        "model_class": type(model).__name__,
        "model_signature": model_signature(model_state),
        "model_keys": list(model_state),
        "config": config,
        "optimizer": None if optimizer is None else _encode(optimizer.state_dict(), "optim", arrays),
        "optimizer_class": None if optimizer is None else type(optimizer).__name__,
        "scheduler": None if scheduler is None else _encode(scheduler.state_dict(), "sched", arrays),
        "trainer": _encode(trainer_state, "trainer", arrays),
        "loader": _encode(loader_state, "loader", arrays),
        "extra": _encode(extra, "extra", arrays),
        "rng": backend.get_rng_state() if rng else None,
    }
    try:
        meta_text = json.dumps(meta)
    except (TypeError, ValueError) as e:
        raise CheckpointError(f"checkpoint: state is not JSON-serialisable ({e})") from None
    data = save(arrays, metadata={"format": FORMAT, "schema": str(SCHEMA_VERSION), "gradstep": meta_text})
    atomic_write(arrays_path, data)
    sidecar = dict(meta, file=os.path.basename(arrays_path), sha256=hashlib.sha256(data).hexdigest(), bytes=len(data))
    atomic_write(json_path, (json.dumps(sidecar, indent=1) + "\n").encode())
    return json_path


def _read_verified(path) -> tuple[dict, bytes, str]:
    """(meta, safetensors bytes, source) for a checkpoint path, checking format, schema and hash."""
    path = os.fspath(path)
    if os.path.isdir(path):
        found = latest_checkpoint(path)
        if found is None:
            raise CheckpointError(f"{path}: no valid checkpoint in this folder")
        path = found
    arrays_path, json_path = _paths(path)
    sidecar = None
    if not path.endswith(".safetensors") and os.path.exists(json_path):
        try:
            with open(json_path, encoding="utf-8") as f:
                sidecar = json.load(f)
        except (OSError, UnicodeDecodeError, ValueError) as e:
            raise CheckpointError(f"{json_path}: unreadable checkpoint JSON ({e})") from None
        if not isinstance(sidecar, dict) or sidecar.get("format") != FORMAT:
            raise CheckpointError(f"{json_path}: not a gradstep checkpoint (no 'format': '{FORMAT}')")
        arrays_path = os.path.join(os.path.dirname(json_path), sidecar.get("file", os.path.basename(arrays_path)))
    try:
        with open(arrays_path, "rb") as f:
            data = f.read()
    except FileNotFoundError:
        raise CheckpointError(f"{arrays_path}: no such checkpoint file") from None
    except OSError as e:
        raise CheckpointError(f"{arrays_path}: cannot read ({e.strerror})") from None
    if sidecar is not None and sidecar.get("sha256") != hashlib.sha256(data).hexdigest():
        raise CheckpointError(f"{arrays_path}: corrupt or truncated checkpoint ({len(data)} bytes, "
                              f"expected {sidecar.get('bytes')}; SHA-256 does not match {os.path.basename(json_path)})")
    header = read_metadata(data) if sidecar is None else {"format": FORMAT, "gradstep": None}
    if header.get("format") != FORMAT:
        raise CheckpointError(f"{arrays_path}: a safetensors file but not a gradstep checkpoint "
                              "(plain weights? use gradstep.interop.safetensors.load_file)")
    if sidecar is None:
        try:
            sidecar = json.loads(header["gradstep"])
        except (KeyError, TypeError, ValueError):
            raise CheckpointError(f"{arrays_path}: gradstep checkpoint header is missing or unreadable") from None
    if not isinstance(sidecar.get("schema"), int) or sidecar["schema"] > SCHEMA_VERSION:
        raise CheckpointError(f"{arrays_path}: checkpoint schema {sidecar.get('schema')!r} is newer than this "
                              f"gradstep understands ({SCHEMA_VERSION}); upgrade gradstep")
    return sidecar, data, arrays_path


def _listing(items: list[str]) -> str:
    shown = ", ".join(items[:_MAX_LISTED])
    return shown + (f" and {len(items) - _MAX_LISTED} more" if len(items) > _MAX_LISTED else "")


def _check_model(meta: dict, arrays: dict, model, source: str) -> dict:
    """The model part of ``arrays`` ({key: array}), after checking it fits ``model`` exactly."""
    saved = {k[len("model."):]: v for k, v in arrays.items() if k.startswith("model.")}
    order = {k: i for i, k in enumerate(meta.get("model_keys") or [])}
    saved = dict(sorted(saved.items(), key=lambda kv: order.get(kv[0], len(order))))  # the model's own order
    current = model.state_dict()
    missing = [k for k in current if k not in saved]
    unexpected = [k for k in saved if k not in current]
    shapes = [f"{k} {fmt_shape(saved[k].shape)} vs {fmt_shape(_array(v).shape)}"
              for k, v in current.items() if k in saved and tuple(saved[k].shape) != tuple(_array(v).shape)]
    if missing or unexpected or shapes:
        parts = []
        if missing:
            parts.append(f"missing {_listing(missing)}")
        if unexpected:
            parts.append(f"unexpected {_listing(unexpected)}")
        if shapes:
            parts.append(f"shape mismatch (checkpoint vs model) {_listing(shapes)}")
        who = f"model {meta.get('model_name')!r} ({meta.get('model_class')})" if meta.get("model_name") else meta.get("model_class")
        raise CheckpointError(f"{source}: checkpoint is from another model ({who}, not this "
                              f"{type(model).__name__}): " + "; ".join(parts))
    return saved


class Checkpoint(dict):
    """What :func:`load_checkpoint` read: a dict of the JSON meta plus ``arrays`` (all arrays by key).

    Handy fields: ``epoch``/``step`` (from the trainer state), ``config``,
    ``model_name``, ``trainer`` (the decoded trainer state), ``loader``.
    """

    @property
    def trainer(self):
        return self.get("trainer_state")

    @property
    def step(self) -> int:
        return int((self.get("trainer_state") or {}).get("step", 0))

    @property
    def epoch(self) -> int:
        return int((self.get("trainer_state") or {}).get("epoch", 0))


def load_checkpoint(path, model=None, optimizer=None, scheduler=None, *, restore_rng: bool = True) -> Checkpoint:
    """Read a checkpoint and restore whatever is passed (model, optimizer, scheduler, RNG).

    ``path`` may be the ``.json``, the ``.safetensors``, the common name, or a
    folder (its newest valid checkpoint). Everything is checked before anything
    is changed: a checkpoint of another model, a corrupt or truncated file, or
    a non-gradstep file raises :class:`~gradstep.errors.CheckpointError` with a
    one-line message naming the problem (every mismatched key for a model).
    """
    meta, data, source = _read_verified(path)
    arrays = load(data, source)
    model_arrays = _check_model(meta, arrays, model, source) if model is not None else None
    if optimizer is not None and meta.get("optimizer") is None:
        raise CheckpointError(f"{source}: checkpoint has no optimizer state")
    if optimizer is not None and meta.get("optimizer_class") not in (None, type(optimizer).__name__):
        raise CheckpointError(f"{source}: checkpoint optimizer is {meta['optimizer_class']}, "
                              f"not {type(optimizer).__name__}")
    if scheduler is not None and meta.get("scheduler") is None:
        raise CheckpointError(f"{source}: checkpoint has no scheduler state")
    info = Checkpoint(meta, arrays=arrays, path=source)
    info["trainer_state"] = _decode(meta.get("trainer"), arrays, source)
    info["loader"] = _decode(meta.get("loader"), arrays, source)
    info["extra"] = _decode(meta.get("extra"), arrays, source)
    if model is not None:
        from ..autograd.tensor import Tensor

        try:
            model.load_state_dict({k: Tensor._wrap(v) for k, v in model_arrays.items()})
        except (ValueError, KeyError, TypeError, RuntimeError) as e:
            raise CheckpointError(f"{source}: cannot load model weights ({e})") from None
    try:
        if optimizer is not None:
            optimizer.load_state_dict(_decode(meta["optimizer"], arrays, source))
        if scheduler is not None:
            scheduler.load_state_dict(_decode(meta["scheduler"], arrays, source))
    except (ValueError, KeyError, TypeError, IndexError) as e:
        raise CheckpointError(f"{source}: optimizer/scheduler state does not fit ({e})") from None
    if restore_rng and meta.get("rng") is not None:
        backend.set_rng_state(meta["rng"])
    return info


# ------------------------------------------------------------------------------ callback
class ModelCheckpoint(Callback):
    """Save the trainer's full state every ``every_n_steps`` steps and/or ``every_n_epochs`` epochs.

    Files are ``dirpath/ckpt-<step>.safetensors`` + ``.json``; only the newest
    ``keep_last`` are kept. A final checkpoint is written when training ends.
    Parameters that are no longer finite are never saved: the previous good
    checkpoint stays the newest.
    """

    order = 100  # last: the other callbacks' state is up to date when it is saved

    def __init__(self, dirpath, every_n_steps: int = 0, every_n_epochs: int = 1, keep_last: int = 2):
        self.dirpath = os.fspath(dirpath)
        self.every_n_steps = int(every_n_steps or 0)
        self.every_n_epochs = int(every_n_epochs or 0)
        self.keep_last = max(1, int(keep_last))
        self.last_saved: str | None = None
        self._saved_step = -1

    def on_train_begin(self, trainer, logs):
        os.makedirs(self.dirpath, exist_ok=True)
        for stale in glob.glob(os.path.join(self.dirpath, ".ckpt-*.tmp")):  # left by a process killed mid-write
            try:
                os.unlink(stale)
            except OSError:
                pass

    def save(self, trainer) -> str | None:
        for name, p in trainer.model.named_parameters():
            if not numpy.isfinite(p._data).all():
                raise NonFiniteError(f"parameter {name!r} is no longer finite at step {trainer.step}; "
                                     f"kept the last good checkpoint ({self.last_saved or 'none yet'})")
        path = os.path.join(self.dirpath, f"ckpt-{trainer.step:08d}")
        self.last_saved = trainer.save_checkpoint(path)
        self._saved_step = trainer.step
        self._prune()
        return self.last_saved

    def _prune(self):
        jsons = sorted(glob.glob(os.path.join(self.dirpath, "ckpt-*.json")), key=_step_of)
        kept = jsons[-self.keep_last:]
        oldest_kept = _step_of(kept[0]) if kept else -1
        doomed = jsons[: -self.keep_last]  # the JSON (commit mark) goes first, then its arrays
        # arrays whose JSON is gone (a process killed while pruning) and older than what is kept
        doomed += [p for p in glob.glob(os.path.join(self.dirpath, "ckpt-*.safetensors"))
                   if _step_of(p[: -len(".safetensors")] + ".json") < oldest_kept]
        for old in doomed:
            for p in (old, old.rsplit(".", 1)[0] + ".safetensors"):
                try:
                    os.unlink(p)
                except OSError:
                    pass

    def on_batch_end(self, trainer, logs):
        if self.every_n_steps and trainer.step % self.every_n_steps == 0:
            self.save(trainer)

    def on_epoch_end(self, trainer, logs):
        if self.every_n_epochs and trainer.epoch % self.every_n_epochs == 0:
            self.save(trainer)

    def on_train_end(self, trainer, logs):
        if self._saved_step != trainer.step:
            self.save(trainer)
