"""Callbacks: everything optional in training listens to the loop's events.

The :class:`~gradstep.train.Trainer` calls, in this order::

    on_train_begin
      on_epoch_begin
        on_batch_begin                    (once per optimizer step, before the forward pass)
        on_before_step                    (gradients computed and clipped, weights not yet updated)
        on_batch_end                      (after the step)
      on_epoch_end                        (after validation; logs hold the epoch's metrics)
    on_train_end                          (only when training finished normally)
    on_exception                          (instead of on_train_end, when an error stops training)

Every hook receives the trainer (its ``model``, ``optimizer``, ``epoch``,
``step``, ``should_stop``, ...) and a ``logs`` dict of plain numbers. Writing
your own callback means overriding the hooks you need:

>>> class PrintLoss(Callback):
...     def on_batch_end(self, trainer, logs):
...         if logs["step"] % 100 == 0:
...             print(logs["step"], logs["loss"])

A callback with state that matters for an exact resume returns it from
``state_dict()`` (plain JSON-able values); the trainer stores it in checkpoints.
Callbacks run in increasing ``order`` (checkpointing runs last, so it saves
the others' up-to-date state).
"""
from __future__ import annotations

from ..errors import ArgumentTypeError

__all__ = ["Callback", "CallbackList", "History", "LRMonitor"]


class Callback:
    """Base class of training callbacks; every hook is a no-op by default."""

    order = 0

    def on_train_begin(self, trainer, logs: dict) -> None: ...

    def on_train_end(self, trainer, logs: dict) -> None: ...

    def on_epoch_begin(self, trainer, logs: dict) -> None: ...

    def on_epoch_end(self, trainer, logs: dict) -> None: ...

    def on_batch_begin(self, trainer, logs: dict) -> None: ...

    def on_before_step(self, trainer, logs: dict) -> None: ...

    def on_batch_end(self, trainer, logs: dict) -> None: ...

    def on_exception(self, trainer, error: BaseException) -> None: ...

    def state_dict(self) -> dict:
        return {}

    def load_state_dict(self, state: dict) -> None:
        pass

    @property
    def key(self) -> str:
        """Name under which this callback's state is stored in a checkpoint."""
        return type(self).__name__


class CallbackList:
    """Dispatches each event to callbacks sorted by ``order`` (stable)."""

    def __init__(self, callbacks=()):
        for c in callbacks:
            if not isinstance(c, Callback):
                raise ArgumentTypeError(f"callbacks must be Callback instances, got {type(c).__name__}")
        self.callbacks = sorted(callbacks, key=lambda c: c.order)
        # per-batch hooks are looked up once: only callbacks that override them are called every step
        self._batch_begin = [c for c in self.callbacks if type(c).on_batch_begin is not Callback.on_batch_begin]
        self._batch_end = [c for c in self.callbacks if type(c).on_batch_end is not Callback.on_batch_end]
        self._before_step = [c for c in self.callbacks if type(c).on_before_step is not Callback.on_before_step]

    def __iter__(self):
        return iter(self.callbacks)

    def __len__(self) -> int:
        return len(self.callbacks)

    def on_train_begin(self, trainer, logs):
        for c in self.callbacks:
            c.on_train_begin(trainer, logs)

    def on_train_end(self, trainer, logs):
        for c in self.callbacks:
            c.on_train_end(trainer, logs)

    def on_epoch_begin(self, trainer, logs):
        for c in self.callbacks:
            c.on_epoch_begin(trainer, logs)

    def on_epoch_end(self, trainer, logs):
        for c in self.callbacks:
            c.on_epoch_end(trainer, logs)

    def on_batch_begin(self, trainer, logs):
        for c in self._batch_begin:
            c.on_batch_begin(trainer, logs)

    def on_before_step(self, trainer, logs):
        for c in self._before_step:
            c.on_before_step(trainer, logs)

    def on_batch_end(self, trainer, logs):
        for c in self._batch_end:
            c.on_batch_end(trainer, logs)

    def on_exception(self, trainer, error):
        for c in self.callbacks:
            c.on_exception(trainer, error)

    def state_dict(self) -> dict:
        states = {}
        for c in self.callbacks:
            s = c.state_dict()
            if s:
                states[_unique(states, c.key)] = s
        return states

    def load_state_dict(self, states: dict) -> None:
        seen: dict = {}
        for c in self.callbacks:
            k = _unique(seen, c.key)
            seen[k] = True
            if k in states:
                c.load_state_dict(states[k])


def _unique(taken, key: str) -> str:
    name, i = key, 1
    while name in taken:
        i += 1
        name = f"{key}.{i}"
    return name


class History(Callback):
    """Keeps each epoch's logs (``history.epochs``, a list of dicts); ``fit`` returns it.

    Only one entry per epoch is kept, so memory does not grow with the number of steps.
    """

    def __init__(self):
        self.epochs: list[dict] = []

    def on_epoch_end(self, trainer, logs):
        self.epochs.append(dict(logs))

    def __getitem__(self, key: str) -> list:
        """``history["val_loss"]``: that column over the epochs."""
        return [e.get(key) for e in self.epochs]

    def __len__(self) -> int:
        return len(self.epochs)

    @property
    def last(self) -> dict:
        return self.epochs[-1] if self.epochs else {}

    def state_dict(self) -> dict:
        return {"epochs": [dict(e) for e in self.epochs]}

    def load_state_dict(self, state):
        self.epochs = [dict(e) for e in state["epochs"]]

    def __repr__(self) -> str:
        return f"History({len(self.epochs)} epochs, last={self.last})"


class LRMonitor(Callback):
    """Logs every parameter group's learning rate: ``lr`` (group 0), ``lr_group1``, ...

    The rates used by each step are read before the step (a per-step scheduler
    changes them right after) and put into the batch ``logs``, so loggers that
    run after this callback write them; every ``every_n_steps`` steps they are
    also kept in ``self.records`` as ``(step, [lr, ...])``.
    """

    order = -10  # before the loggers that read the logs

    def __init__(self, every_n_steps: int = 1):
        self.every_n_steps = int(every_n_steps)
        self.records: list[tuple[int, list[float]]] = []
        self._current: list[float] = []

    def on_batch_begin(self, trainer, logs):
        self._current = [float(g["lr"]) for g in trainer.optimizer.param_groups]

    def on_batch_end(self, trainer, logs):
        for i, lr in enumerate(self._current):
            logs["lr" if i == 0 else f"lr_group{i}"] = lr
        if self.every_n_steps and logs["step"] % self.every_n_steps == 0:
            self.records.append((logs["step"], self._current))

    def state_dict(self) -> dict:
        return {"records": [[s, lrs] for s, lrs in self.records]}

    def load_state_dict(self, state):
        self.records = [(s, list(lrs)) for s, lrs in state["records"]]
