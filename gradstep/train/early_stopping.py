"""Early stopping: end training when a monitored metric stops improving."""
from __future__ import annotations

import math

from .callbacks import Callback
from ..errors import InvalidArgument, KeyNotFound

__all__ = ["EarlyStopping"]


class EarlyStopping(Callback):
    """Stop after ``patience`` epochs without improvement of ``monitor``.

    Args:
        monitor: a key of the epoch logs, e.g. ``"val_loss"`` or ``"val_acc"``.
        mode: ``"min"`` (lower is better), ``"max"``, or ``"auto"`` (``max`` for
            names containing ``acc``, else ``min``).
        patience: epochs without improvement to tolerate.
        min_delta: an improvement must beat the best value by more than this.
        verbose: print a line when stopping.

    After training, ``best``, ``best_epoch`` and ``stopped_epoch`` tell what happened.
    """

    def __init__(self, monitor: str = "val_loss", mode: str = "auto", patience: int = 5,
                 min_delta: float = 0.0, verbose: bool = True):
        if mode == "auto":
            mode = "max" if "acc" in monitor else "min"
        if mode not in ("min", "max"):
            raise InvalidArgument(f"EarlyStopping: mode must be 'min', 'max' or 'auto', got {mode!r}")
        if patience < 0:
            raise InvalidArgument(f"EarlyStopping: patience must be >= 0, got {patience}")
        self.monitor, self.mode, self.patience = monitor, mode, int(patience)
        self.min_delta, self.verbose = abs(float(min_delta)), verbose
        self.best = math.inf if mode == "min" else -math.inf
        self.best_epoch = 0
        self.wait = 0
        self.stopped_epoch = 0

    def _improved(self, value: float) -> bool:
        if self.mode == "min":
            return value < self.best - self.min_delta
        return value > self.best + self.min_delta

    def on_epoch_end(self, trainer, logs):
        if self.monitor not in logs:
            raise KeyNotFound(f"EarlyStopping: monitored {self.monitor!r} is not in the epoch logs "
                              f"(available: {', '.join(sorted(logs))}); pass a validation loader for val_* metrics")
        value = float(logs[self.monitor])
        if self._improved(value):
            self.best, self.best_epoch, self.wait = value, logs["epoch"], 0
            return
        self.wait += 1
        if self.wait >= self.patience:
            self.stopped_epoch = logs["epoch"]
            trainer.should_stop = True
            if self.verbose:
                print(f"early stopping at epoch {self.stopped_epoch}: {self.monitor} has not improved "
                      f"for {self.wait} epochs (best {self.best:.4g} at epoch {self.best_epoch})")

    def state_dict(self) -> dict:
        return {"best": self.best, "best_epoch": self.best_epoch, "wait": self.wait, "stopped_epoch": self.stopped_epoch}

    def load_state_dict(self, state):
        self.best, self.best_epoch = state["best"], state["best_epoch"]
        self.wait, self.stopped_epoch = state["wait"], state["stopped_epoch"]

    def __repr__(self) -> str:
        return f"EarlyStopping(monitor={self.monitor!r}, mode={self.mode!r}, patience={self.patience})"
