"""CSVLogger: the metrics of a run as one CSV row per logged step and per epoch.

Rows have a fixed set of columns (``epoch, step, kind, train_loss, ...,
val_loss, val_acc, ..., lr``); ``kind`` is ``step`` or ``epoch``, and cells
that do not apply are empty. Step rows carry the mean training loss since the
previous step row. Every row is flushed as soon as it is written, so the file
is complete up to the moment a process dies; the number of rows is part of
the checkpoint, and a resumed run first cuts the file back to that point so
it ends identical to an uninterrupted run. No times are written: the same
seed gives the same file byte for byte.
"""
from __future__ import annotations

import os

from .callbacks import Callback

__all__ = ["CSVLogger"]


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return repr(value)  # shortest text that round-trips: exact and reproducible
    return str(value)


class CSVLogger(Callback):
    """Write training metrics to ``path``.

    Args:
        path: the CSV file (created, or truncated to the checkpointed rows on resume).
        every_n_steps: write a step row every this many optimizer steps (0: epoch rows only).
        columns: the columns; by default the trainer's (``trainer.log_columns()``).
    """

    order = 10  # after callbacks that add values to the logs

    def __init__(self, path, every_n_steps: int = 50, columns: list[str] | None = None):
        self.path = os.fspath(path)
        self.every_n_steps = int(every_n_steps)
        self.columns = list(columns) if columns else None
        self.rows = 0
        self._resume_rows: int | None = None
        self._window_sum = 0.0
        self._window_count = 0
        self._file = None

    def on_train_begin(self, trainer, logs):
        if self.columns is None:
            self.columns = trainer.log_columns()
        header = ",".join(self.columns) + "\n"
        if self._resume_rows is not None and os.path.exists(self.path):
            with open(self.path, encoding="utf-8") as f:
                lines = f.readlines()
            kept = lines[: 1 + self._resume_rows]
            if not kept or kept[0] != header:
                kept = [header] + kept[1:]
            with open(self.path, "w", encoding="utf-8") as f:
                f.writelines(kept)
            self.rows = len(kept) - 1
        else:
            with open(self.path, "w", encoding="utf-8") as f:
                f.write(header)
            self.rows = 0
        self._resume_rows = None
        self._file = open(self.path, "a", encoding="utf-8")

    def _write(self, values: dict) -> None:
        self._file.write(",".join(_cell(values.get(c)) for c in self.columns) + "\n")
        self._file.flush()
        self.rows += 1

    def on_batch_end(self, trainer, logs):
        if not self.every_n_steps:
            return
        self._window_sum += logs["loss"]
        self._window_count += 1
        if logs["step"] % self.every_n_steps == 0:
            row = dict(logs, kind="step", train_loss=self._window_sum / self._window_count)
            self._window_sum, self._window_count = 0.0, 0
            self._write(row)

    def on_epoch_end(self, trainer, logs):
        self._write(dict(logs, kind="epoch"))

    def _close(self):
        if self._file is not None:
            self._file.close()
            self._file = None

    def on_train_end(self, trainer, logs):
        self._close()

    def on_exception(self, trainer, error):
        self._close()

    def state_dict(self) -> dict:
        return {"rows": self.rows, "window_sum": self._window_sum, "window_count": self._window_count}

    def load_state_dict(self, state):
        self._resume_rows = state["rows"]
        self._window_sum, self._window_count = state["window_sum"], state["window_count"]
