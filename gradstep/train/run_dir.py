"""Run folders: where a training run keeps its files, and how to read them back.

A run folder (``runs/mlp-digits-20240501-120000/`` by default) holds::

    config.toml         the settings (the same keys as ``gradstep train``'s flags)
    metrics.csv         one row per logged step and per epoch
    checkpoints/        ckpt-<step>.safetensors + .json (full state, for --resume)
    model.safetensors   the final weights, with the model's name and arguments in its header
    summary.json        status (running / completed / failed), final metrics, timings, files

A new run never reuses an existing folder: :func:`create_run_dir` picks a
fresh name. Everything here is plain files, readable without gradstep.
"""
from __future__ import annotations

import datetime
import json
import math
import os

from ..errors import ArgumentTypeError, GradstepError, InvalidArgument, PathNotFound
from ..interop.safetensors import atomic_write

__all__ = ["create_run_dir", "default_run_name", "write_toml", "read_toml", "write_summary", "read_summary", "list_runs",
           "RunError", "is_run_dir", "RunLock", "lock_owner"]


class RunError(GradstepError, ValueError):
    """A run folder that is missing, incomplete, or not a gradstep run."""


# ------------------------------------------------------------------------------- TOML
def _toml_value(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)  # a JSON string is a valid TOML basic string
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    raise ArgumentTypeError(f"write_toml: cannot write {type(value).__name__} values")


def write_toml(path, values: dict, comment: str | None = None) -> None:
    """Write a flat mapping of numbers, strings, bools and lists as TOML (``None`` values are left out)."""
    lines = [f"# {line}" for line in (comment or "").splitlines()]
    lines += [f"{k} = {_toml_value(v)}" for k, v in values.items() if v is not None]
    atomic_write(path, ("\n".join(lines) + "\n").encode())


def read_toml(path) -> dict:
    """Parse a TOML file; a one-line ValueError names the file and the problem."""
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib
    try:
        with open(path, "rb") as f:
            return tomllib.load(f)
    except FileNotFoundError:
        raise PathNotFound(f"no such config file: {path}") from None
    except tomllib.TOMLDecodeError as e:
        raise InvalidArgument(f"{path}: invalid TOML ({e})") from None


# ------------------------------------------------------------------------ run folders
def create_run_dir(root, name: str) -> str:
    """Create and return a new folder ``root/name`` (or ``name-2``, ``name-3``, ... if taken)."""
    root = os.fspath(root)
    os.makedirs(root, exist_ok=True)
    for i in range(1, 10_000):
        path = os.path.join(root, name if i == 1 else f"{name}-{i}")
        try:
            os.mkdir(path)  # exclusive: never reuse someone else's folder, even when racing
        except FileExistsError:
            continue
        return path
    raise RunError(f"cannot find a free run folder name for {name!r} in {root}")


def default_run_name(model: str, dataset: str) -> str:
    return f"{model}-{dataset}-{datetime.datetime.now().strftime('%Y%m%d-%H%M%S')}"


def is_run_dir(path) -> bool:
    return os.path.isfile(os.path.join(path, "config.toml"))


def write_summary(run_dir, summary: dict) -> None:
    atomic_write(os.path.join(run_dir, "summary.json"), (json.dumps(summary, indent=1) + "\n").encode())


def read_summary(run_dir) -> dict:
    path = os.path.join(run_dir, "summary.json")
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as e:
        raise RunError(f"{path}: unreadable summary ({e})") from None


def list_runs(root) -> list[str]:
    """Run folders directly under ``root``, oldest first."""
    root = os.fspath(root)
    if not os.path.isdir(root):
        return []
    runs = [os.path.join(root, d) for d in os.listdir(root) if is_run_dir(os.path.join(root, d))]
    return sorted(runs, key=lambda p: (os.path.getmtime(os.path.join(p, "config.toml")), p))


# ------------------------------------------------------------------------------ lock
def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True


def lock_owner(run_dir) -> int | None:
    """PID of the live process training in ``run_dir``, or None (a dead owner's lock is stale)."""
    try:
        with open(os.path.join(run_dir, ".lock"), encoding="utf-8") as f:
            pid = int(f.read().strip() or 0)
    except (OSError, ValueError):
        return None
    return pid if pid > 0 and pid != os.getpid() and _alive(pid) else None


class RunLock:
    """``with RunLock(run_dir):`` -- only one process trains in a run folder at a time.

    The lock is a ``.lock`` file holding the owner's PID; a lock left by a
    killed process is stale and taken over.
    """

    def __init__(self, run_dir):
        self.path = os.path.join(os.fspath(run_dir), ".lock")

    def __enter__(self) -> "RunLock":
        owner = lock_owner(os.path.dirname(self.path))
        if owner is not None:
            raise RunError(f"{os.path.dirname(self.path)}: process {owner} is training in this run folder; "
                           "wait for it or stop it first")
        with open(self.path, "w", encoding="utf-8") as f:
            f.write(str(os.getpid()))
        return self

    def __exit__(self, *exc) -> None:
        try:
            os.unlink(self.path)
        except OSError:
            pass
