"""Tabular data from a CSV file with a header row.

Features must be numbers; the target column may hold class labels (any
strings or numbers, mapped to ids 0..K-1 in sorted order) or, for
regression, numbers. Every problem is reported as a one-line ValueError
naming the file and the line/column.
"""
from __future__ import annotations

import csv as _csv
from pathlib import Path

import numpy

from ..dataset import TensorDataset
from ...errors import InvalidArgument, PathNotFound

__all__ = ["csv"]


def _column(header: list[str], key, path, what: str) -> int:
    if isinstance(key, (int, numpy.integer)) and not isinstance(key, bool):
        if not -len(header) <= key < len(header):
            raise InvalidArgument(f"csv: {path}: {what} column index {key} is out of range for {len(header)} columns")
        return int(key) % len(header)
    if key not in header:
        raise InvalidArgument(f"csv: {path} has no column {key!r} (columns: {', '.join(header)})")
    return header.index(key)


def _numbers(rows, cols, header, path) -> numpy.ndarray:
    """The given columns as float32; on failure, find and name the first bad cell."""
    cells = [[r[c] for c in cols] for r, _ in rows]
    try:
        return numpy.array(cells, dtype=numpy.float32).reshape(len(rows), len(cols))
    except ValueError:
        pass
    for (row, line), values in zip(rows, cells):
        for c, v in zip(cols, values):
            try:
                float(v)
            except ValueError:
                problem = "missing value" if not v.strip() else f"{v!r} is not a number"
                raise InvalidArgument(f"csv: {path}, line {line}, column {header[c]!r}: {problem}") from None
    raise InvalidArgument(f"csv: {path}: could not read the numeric columns")  # not reached


def csv(path, target=-1, task: str = "auto", features=None, delimiter: str = ",",
        encoding: str = "utf-8") -> TensorDataset:
    """A TensorDataset from a CSV file whose first row names the columns.

    Args:
        path: the file.
        target: the label column, by name or index (default: the last).
        task: ``"classification"`` (labels -> int64 ids), ``"regression"``
            (float32 targets of shape ``(n, 1)``, ready for ``mse_loss`` with a
            one-output model) or ``"auto"``: classification when the labels are
            not numbers or are all whole numbers, else regression.
        features: the feature columns (names or indices); default all others.
        delimiter: field separator.

    Returns a dataset of float32 features ``(n, f)`` with ``feature_names``,
    ``target_name``, ``task``, ``input_shape``, and for classification
    ``classes`` (the original labels as strings) and ``num_classes``.
    """
    if task not in ("auto", "classification", "regression"):
        raise InvalidArgument(f"csv: task must be 'auto', 'classification' or 'regression', got {task!r}")
    path = Path(path).expanduser()
    if path.is_dir():
        raise InvalidArgument(f"csv: {path} is a directory, expected a CSV file (a header row, then one row per "
                              f"sample)")
    if not path.is_file():
        raise PathNotFound(f"csv: no such file: {path}")
    try:
        with open(path, newline="", encoding=encoding) as f:
            lines = [(row, i) for i, row in enumerate(_csv.reader(f, delimiter=delimiter), start=1)
                     if row and any(cell.strip() for cell in row)]
    except UnicodeDecodeError as exc:
        raise InvalidArgument(f"csv: {path} is not valid {encoding} (byte {exc.start})") from None
    except _csv.Error as exc:
        raise InvalidArgument(f"csv: {path}: {exc}") from None
    if not lines:
        raise InvalidArgument(f"csv: {path} is empty (expected a header row and data rows)")
    header = [h.strip() for h in lines[0][0]]
    rows = lines[1:]
    if not rows:
        raise InvalidArgument(f"csv: {path} has a header but no data rows")
    for row, line in rows:
        if len(row) != len(header):
            raise InvalidArgument(f"csv: {path}, line {line}: {len(row)} fields, but the header has {len(header)}")
    t = _column(header, target, path, "target")
    if features is None:
        cols = [c for c in range(len(header)) if c != t]
    else:
        cols = [_column(header, k, path, "feature") for k in features]
        if t in cols:
            raise InvalidArgument(f"csv: {path}: column {header[t]!r} is both the target and a feature")
    if not cols:
        raise InvalidArgument(f"csv: {path}: no feature columns besides the target {header[t]!r}")
    x = _numbers(rows, cols, header, path)

    labels = [r[t].strip() for r, _ in rows]
    for (r, line), v in zip(rows, labels):
        if not v:
            raise InvalidArgument(f"csv: {path}, line {line}, column {header[t]!r}: missing label")
    try:
        values = numpy.array(labels, dtype=numpy.float64)
        whole = bool(numpy.all(numpy.isfinite(values) & (values == numpy.round(values))))
    except ValueError:
        values, whole = None, False
    if task == "auto":
        task = "classification" if values is None or whole else "regression"
    if task == "regression":
        ds = TensorDataset(x, _numbers(rows, [t], header, path))
    else:
        if whole:  # numeric labels: "1" and "1.0" are the same class, sorted by value
            uniq, ids = numpy.unique(values.astype(numpy.int64), return_inverse=True)
            classes = [str(v) for v in uniq.tolist()]
        else:
            classes = sorted(set(labels))
            index = {c: i for i, c in enumerate(classes)}
            ids = numpy.fromiter((index[v] for v in labels), dtype=numpy.int64, count=len(labels))
        ds = TensorDataset(x, ids.astype(numpy.int64))
        ds.classes = classes
        ds.num_classes = len(classes)
    ds.name = path.stem
    ds.task = task
    ds.feature_names = [header[c] for c in cols]
    ds.target_name = header[t]
    ds.input_shape = (len(cols),)
    return ds
