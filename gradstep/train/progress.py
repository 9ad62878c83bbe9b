"""Progress display: a tqdm bar in a terminal, one plain line per epoch otherwise."""
from __future__ import annotations

import shutil
import sys
import time

from .callbacks import Callback
from ..errors import InvalidArgument

__all__ = ["ProgressBar", "format_logs", "format_value", "format_seconds"]

_SKIP = {"epoch", "step", "kind", "batch", "size"}


def format_value(key: str, value) -> str:
    """One logged value as the training log and the summary show it.

    Learning rates with 4 significant digits (``0.001``, ``4e-07``); losses and
    metrics with a fixed 4 decimals (``0.9220``), so columns line up from epoch to
    epoch (very large or tiny values, e.g. a diverging loss, in 4 significant digits).
    """
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, int):
        return str(value)
    if key == "lr" or key.endswith("_lr") or key.startswith("lr_"):
        return f"{value:.4g}"
    if value != value or value in (float("inf"), float("-inf")):
        return str(value)
    if value == 0 or 1e-4 <= abs(value) < 1e6:
        return f"{value:.4f}"
    return f"{value:.4g}"


def format_seconds(seconds: float) -> str:
    """``12 ms``, ``3.4 s``, ``2 min 05 s``: a duration readable at any scale."""
    if seconds < 1.0:
        return f"{seconds * 1000:.0f} ms"
    if seconds < 60.0:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(int(round(seconds)), 60)
    if minutes < 60:
        return f"{minutes} min {secs:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


def format_logs(logs: dict) -> str:
    """``train_loss 0.1234  val_acc 0.9700  lr 0.001`` from an epoch's logs."""
    return "  ".join(f"{k} {format_value(k, v)}" for k, v in logs.items() if k not in _SKIP and v is not None)


class ProgressBar(Callback):
    """Show training progress.

    Args:
        mode: ``"bar"`` (tqdm, updated every step with the running loss and
            samples/s), ``"line"`` (one text line per epoch), or ``"auto"``:
            a bar when ``file`` is a terminal, lines otherwise (logs, CI, pipes).
        file: where to write (default ``sys.stdout``).
    """

    order = 20  # after the loggers, so epoch lines include everything they added

    def __init__(self, mode: str = "auto", file=None):
        if mode not in ("auto", "bar", "line"):
            raise InvalidArgument(f"ProgressBar: mode must be 'auto', 'bar' or 'line', got {mode!r}")
        self.file = file
        self.mode = mode
        self._bar = None

    def _out(self):
        return self.file if self.file is not None else sys.stdout

    def on_train_begin(self, trainer, logs):
        if self.mode == "auto":
            isatty = getattr(self._out(), "isatty", None)
            self.mode = "bar" if isatty is not None and isatty() else "line"

    def on_epoch_begin(self, trainer, logs):
        self._t0 = time.perf_counter()
        self._samples = 0
        self._loss_sum = 0.0
        self._batches = 0
        self._last_refresh = 0.0
        if self.mode == "bar":
            from tqdm.auto import tqdm

            total = trainer.steps_per_epoch
            # a terminal reporting a 0x0 size (some ptys) would hide the bar: fall back to 100x20
            size = shutil.get_terminal_size((100, 20))
            self._bar = tqdm(total=total, initial=trainer.batch_in_epoch, file=self._out(), leave=True,
                             desc=f"epoch {logs['epoch']}/{trainer.epochs}", unit="batch",
                             ncols=size.columns, nrows=size.lines)

    def on_batch_end(self, trainer, logs):
        self._samples += logs.get("size", 0)
        self._loss_sum += logs["loss"]
        self._batches += 1
        if self._bar is not None:
            self._bar.update(1)
            now = time.perf_counter()
            if now - self._last_refresh > 0.2:  # formatting every step would cost more than a small model's step
                self._last_refresh = now
                rate = self._samples / max(now - self._t0, 1e-9)
                self._bar.set_postfix_str(f"loss {format_value('loss', self._loss_sum / self._batches)}, "
                                          f"{rate:.0f} samples/s", refresh=False)

    def on_epoch_end(self, trainer, logs):
        elapsed = time.perf_counter() - self._t0
        rate = self._samples / max(elapsed, 1e-9)
        if self._bar is not None:
            short = {k: v for k, v in logs.items() if k == "train_loss" or k.startswith("val_")}
            self._bar.set_postfix_str(f"{format_logs(short)}, {rate:.0f} samples/s", refresh=True)
            self._bar.close()
            self._bar = None
        else:
            print(f"epoch {logs['epoch']}/{trainer.epochs}  {format_logs(logs)}  {rate:.0f} samples/s  "
                  f"{format_seconds(elapsed)}", file=self._out(), flush=True)

    def _close(self):
        if self._bar is not None:
            self._bar.close()
            self._bar = None

    def on_train_end(self, trainer, logs):
        self._close()

    def on_exception(self, trainer, error):
        self._close()
