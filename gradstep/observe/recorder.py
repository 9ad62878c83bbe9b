"""Recorder: the observatory's files in a run folder, and the functions that read them back.

Layout (next to ``metrics.csv``)::

    RUN_DIR/observations.jsonl     one JSON object per observed step (see Observatory)
    RUN_DIR/diagnosis.jsonl        one JSON object per warning (rule, step, value, message, fix, ...)
    RUN_DIR/observe/weights_start.safetensors, weights_end.safetensors   parameters at start and end
    RUN_DIR/observe/boundary.safetensors    2-D datasets: class predictions on a grid at several epochs
    RUN_DIR/observe/classes.json            classification: confusion matrix and misclassified examples
    RUN_DIR/observe/misclassified.safetensors
    RUN_DIR/observe/samples.json            language models: generated text

Lines are flushed as they are written, so the files are complete up to the
moment a process dies; the row counts are part of the checkpoint and a
resumed run first cuts the files back to them (as CSVLogger does).
"""
from __future__ import annotations

import json
import math
import os

import numpy

from ..interop.safetensors import atomic_write, load_file, save

__all__ = ["Recorder", "read_observations", "read_findings", "read_arrays", "read_json",
           "OBSERVATIONS", "DIAGNOSIS", "SUBDIR"]

OBSERVATIONS = "observations.jsonl"
DIAGNOSIS = "diagnosis.jsonl"
SUBDIR = "observe"


def _clean(obj):
    """JSON-able copy: NaN/Inf become strings (strict JSON has neither), NumPy scalars become numbers."""
    if isinstance(obj, dict):
        return {k: _clean(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_clean(v) for v in obj]
    if isinstance(obj, numpy.generic):
        obj = obj.item()
    if isinstance(obj, float) and not math.isfinite(obj):
        return "nan" if obj != obj else ("inf" if obj > 0 else "-inf")
    return obj


def _restore(obj):
    if isinstance(obj, dict):
        return {k: _restore(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_restore(v) for v in obj]
    if obj in ("nan", "inf", "-inf"):
        return float(obj)
    return obj


class _Lines:
    """An append-only JSON-lines file that can be cut back to a number of rows."""

    def __init__(self, path: str):
        self.path = path
        self.rows = 0
        self._file = None

    def open(self, keep_rows: int | None) -> None:
        if keep_rows is not None and os.path.exists(self.path):
            with open(self.path, encoding="utf-8") as f:
                lines = f.readlines()[:keep_rows]
            with open(self.path, "w", encoding="utf-8") as f:
                f.writelines(lines)
            self.rows = len(lines)
        else:
            open(self.path, "w", encoding="utf-8").close()
            self.rows = 0
        self._file = open(self.path, "a", encoding="utf-8")

    def write(self, obj: dict) -> None:
        self._file.write(json.dumps(_clean(obj), separators=(",", ":")) + "\n")
        self._file.flush()
        self.rows += 1

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None


class Recorder:
    """Writes observations, findings, arrays and small JSON files into ``run_dir``."""

    def __init__(self, run_dir):
        self.run_dir = os.fspath(run_dir)
        self.observations = _Lines(os.path.join(self.run_dir, OBSERVATIONS))
        self.findings = _Lines(os.path.join(self.run_dir, DIAGNOSIS))

    def open(self, resume: dict | None = None) -> None:
        """Create the files (or cut them back to ``resume["observations"]``/``["findings"]`` rows)."""
        os.makedirs(os.path.join(self.run_dir, SUBDIR), exist_ok=True)
        self.observations.open(None if resume is None else resume.get("observations"))
        self.findings.open(None if resume is None else resume.get("findings"))

    def close(self) -> None:
        self.observations.close()
        self.findings.close()

    def path(self, name: str) -> str:
        return os.path.join(self.run_dir, SUBDIR, name)

    def save_arrays(self, name: str, arrays: dict) -> None:
        """``observe/<name>.safetensors`` written atomically."""
        atomic_write(self.path(name + ".safetensors"), save({k: numpy.ascontiguousarray(v) for k, v in arrays.items()}))

    def save_json(self, name: str, obj) -> None:
        atomic_write(self.path(name + ".json"), json.dumps(_clean(obj), indent=1).encode("utf-8"))

    def state_dict(self) -> dict:
        return {"observations": self.observations.rows, "findings": self.findings.rows}


# ------------------------------------------------------------------ reading
def _read_lines(path: str) -> list[dict]:
    if not os.path.exists(path):
        return []
    out = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if line:
                try:
                    out.append(_restore(json.loads(line)))
                except json.JSONDecodeError:  # a line cut by a crash: everything before it is good
                    break
    return out


def read_observations(run_dir) -> list[dict]:
    """The observation records of a run (empty when it was trained without an Observatory)."""
    return _read_lines(os.path.join(os.fspath(run_dir), OBSERVATIONS))


def read_findings(run_dir) -> list[dict]:
    """The diagnosis findings of a run, as dicts (rule, step, value, message, fix, subject, epoch)."""
    return _read_lines(os.path.join(os.fspath(run_dir), DIAGNOSIS))


def read_arrays(run_dir, name: str) -> dict | None:
    """``observe/<name>.safetensors`` as ``{key: ndarray}``, or None when absent."""
    path = os.path.join(os.fspath(run_dir), SUBDIR, name + ".safetensors")
    return load_file(path) if os.path.exists(path) else None


def read_json(run_dir, name: str):
    path = os.path.join(os.fspath(run_dir), SUBDIR, name + ".json")
    if not os.path.exists(path):
        return None
    with open(path, encoding="utf-8") as f:
        return _restore(json.load(f))
