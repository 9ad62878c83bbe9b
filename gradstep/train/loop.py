"""The training loop: batches -> forward -> loss -> backward -> step, with events for callbacks.

:class:`Trainer` is a convenience, not a cage: it does what the usual
hand-written loop does, and everything optional (progress, logging,
checkpoints, early stopping) is a callback listening to its events. A raw
PyTorch-style loop over a :class:`~gradstep.data.DataLoader` works just as well.

>>> trainer = Trainer(model, gs.optim.Adam(model.parameters(), lr=1e-3), metrics=["accuracy"])
>>> history = trainer.fit(train_loader, epochs=10, val_loader=test_loader)
>>> history["val_acc"][-1]
0.97...
"""
from __future__ import annotations

import copy
import itertools
import math
import numbers

from ..autograd.grad_mode import no_grad
from ..autograd.tensor import Tensor
from ..errors import ArgumentTypeError, GradstepError, InvalidArgument, KeyNotFound
from . import metrics as _metrics
from .callbacks import CallbackList, History
from .checkpoint import load_checkpoint, save_checkpoint
from .progress import ProgressBar

__all__ = ["Trainer", "fit", "NonFiniteLossError", "default_unpack"]


class NonFiniteLossError(GradstepError, FloatingPointError):
    """The loss became NaN or infinite; training stopped before that step changed any weight."""

    def __init__(self, value: float, step: int, epoch: int, last_finite: float | None, last_step: int | None):
        self.value, self.step, self.epoch = value, step, epoch
        self.last_finite, self.last_step = last_finite, last_step
        before = (f"last finite loss {last_finite:.6g} at step {last_step}" if last_finite is not None
                  else "no finite loss before it")
        super().__init__(f"loss became {value} at step {step} (epoch {epoch}); {before}; "
                         "try a lower learning rate or gradient clipping (clip_grad_norm, --clip-grad)")


def _tensor(x):
    return Tensor._wrap(x) if type(x).__module__ == "numpy" and hasattr(x, "shape") else x


def default_unpack(batch) -> tuple[tuple, object]:
    """``(inputs, target)`` of a batch: ``(x, y)``, ``(x1, x2, ..., y)`` or a dict with input/target keys."""
    if isinstance(batch, dict):
        x = next((batch[k] for k in ("input", "inputs", "x", "image", "images") if k in batch), None)
        y = next((batch[k] for k in ("target", "targets", "label", "labels", "y") if k in batch), None)
        if x is None or y is None:
            raise KeyNotFound(f"Trainer: a dict batch needs an input key (input/x/image) and a target key "
                              f"(target/label/y), got {sorted(batch)}; or pass unpack=...")
        return (_tensor(x),), _tensor(y)
    if isinstance(batch, (tuple, list)) and len(batch) >= 2:
        return tuple(_tensor(b) for b in batch[:-1]), _tensor(batch[-1])
    raise ArgumentTypeError(f"Trainer: a batch must be (inputs, target), got {type(batch).__name__}; or pass unpack=...")


def _progress_mode(progress):
    """The ProgressBar mode for Trainer's ``progress`` (None: no progress output), as the CLI's --progress."""
    if progress is None or progress is False or progress == "none":
        return None
    if progress is True:
        return "auto"
    if progress not in ("auto", "bar", "line"):
        raise InvalidArgument(f"Trainer: progress must be 'auto', 'bar', 'line' or 'none' (or True/False), "
                              f"got progress={progress!r}")
    return progress


def _default_loss(output, target):
    from ..nn import functional as F

    return F.cross_entropy(output, target)


def _num(target) -> int:
    """How many values a batch's mean loss averages over (samples, or tokens for sequences)."""
    shape = getattr(target, "shape", ())
    return int(math.prod(shape)) if len(shape) else 1


class Trainer:
    """Train ``model`` with ``optimizer`` on batches from a loader.

    Args:
        model: any Module; called as ``model(*inputs)``.
        optimizer: a gradstep optimizer over the model's parameters.
        loss_fn: ``loss_fn(output, target)`` -> scalar Tensor (default: cross-entropy).
        scheduler: an LR scheduler, stepped every ``scheduler_interval``
            (``"epoch"`` or ``"step"``); ``ReduceLROnPlateau`` is given ``val_loss``
            (or ``train_loss`` without validation).
        metrics: names (``"accuracy"``, ``"top5"``, ``"mse"``, ``"mae"``) or
            :class:`~gradstep.train.metrics.Metric` objects, computed on training
            batches (``train_*``) and on validation (``val_*``); the loss always is.
            Default: ``["accuracy"]`` with the default loss, none with your own ``loss_fn``.
        clip_grad_norm: clip the gradients' global L2 norm to this before each step.
        callbacks: extra :class:`~gradstep.train.callbacks.Callback` objects.
        progress: ``"auto"`` (a bar in a terminal, a line per epoch otherwise),
            ``"bar"``, ``"line"``, or ``"none"`` / ``False`` / ``None`` for no output.
        unpack: ``unpack(batch) -> (inputs tuple, target)``; by default ``(x, y)``
            tuples and dicts with ``input``/``target`` keys are understood.
        config, model_name: stored in checkpoints so a run can be rebuilt.
        distributed: data-parallel over MPI (run under ``mpirun``): the model is
            wrapped in :class:`~gradstep.distributed.DistributedDataParallel`
            (rank 0's weights broadcast), gradients are averaged after each
            backward, and epoch metrics and evaluations are summed over ranks.
            Give each rank its shard (``DistributedSampler``); per-batch logs
            are the local rank's.

    State: ``epoch`` (completed epochs), ``step`` (optimizer steps),
    ``batch_in_epoch``, ``last_loss``, ``last_lr``, ``last_grad_norm``,
    ``should_stop`` (set it to end training after the current batch), ``history``.
    """

    def __init__(self, model, optimizer, loss_fn=None, *, scheduler=None, scheduler_interval: str = "epoch",
                 metrics=None, clip_grad_norm: float | None = None, callbacks=(),
                 progress="auto", unpack=None, config: dict | None = None, model_name: str | None = None,
                 distributed: bool = False):
        if scheduler_interval not in ("epoch", "step"):
            raise InvalidArgument(f"Trainer: scheduler_interval must be 'epoch' or 'step', got {scheduler_interval!r}")
        if clip_grad_norm is not None and not clip_grad_norm > 0:
            raise InvalidArgument(f"Trainer: clip_grad_norm must be a positive number, got {clip_grad_norm!r}")
        if distributed:
            from ..distributed import DistributedDataParallel

            if not isinstance(model, DistributedDataParallel):
                model = DistributedDataParallel(model)
        self.distributed = bool(distributed)
        self.model, self.optimizer = model, optimizer
        self.loss_fn = loss_fn if loss_fn is not None else _default_loss
        self.scheduler, self.scheduler_interval = scheduler, scheduler_interval
        if metrics is None:  # accuracy only makes sense for the default (classification) loss
            metrics = ["accuracy"] if loss_fn is None else []
        self.metric_specs = [_metrics.get(m) for m in metrics]
        self.train_loss = _metrics.Mean("loss")
        self.train_metrics = [copy.deepcopy(m) for m in self.metric_specs]
        self.clip_grad_norm = clip_grad_norm
        self.unpack = unpack or default_unpack
        self.config, self.model_name = config, model_name
        self.history = History()
        extra = [ProgressBar(_progress_mode(progress))] if _progress_mode(progress) else []
        self.callbacks = CallbackList([*callbacks, self.history, *extra])
        self.epoch = self.step = self.batch_in_epoch = 0
        self.epochs = 0
        self.last_loss: float | None = None
        self.last_lr: float | None = None
        self.last_grad_norm: float | None = None  # before clipping; set when clip_grad_norm is used
        self.should_stop = False
        self.train_loader = self.val_loader = None
        self.steps_per_epoch: int | None = None
        self._loader_state = None
        self._params = [p for p in model.parameters() if p.requires_grad]

    # ------------------------------------------------------------------ loop
    def fit(self, train_loader, epochs: int, val_loader=None, max_steps: int | None = None) -> History:
        """Train until ``epochs`` epochs (or ``max_steps`` optimizer steps) are done; returns the history.

        Called again after :meth:`load_checkpoint`, it continues where the
        checkpoint left off, mid-epoch included.
        """
        for name, value in (("epochs", epochs), ("max_steps", max_steps)):
            if value is None and name == "max_steps":
                continue
            if isinstance(value, bool) or not isinstance(value, numbers.Integral):
                raise ArgumentTypeError(f"Trainer.fit: {name} must be an int, got {name}={value!r} "
                                        f"({type(value).__name__})")
            if value < 0:
                raise InvalidArgument(f"Trainer.fit: {name} must be >= 0, got {name}={value}")
        for name, loader in (("train_loader", train_loader), ("val_loader", val_loader)):
            if loader is None and name == "val_loader":
                continue
            if not (hasattr(loader, "__iter__") or hasattr(loader, "__getitem__")):
                raise ArgumentTypeError(f"Trainer.fit: {name} must be a DataLoader or an iterable of batches, "
                                        f"got {type(loader).__name__}")
        self.train_loader, self.val_loader, self.epochs, self.max_steps = train_loader, val_loader, int(epochs), max_steps
        try:
            self.steps_per_epoch = len(train_loader)
        except TypeError:
            self.steps_per_epoch = None
        self.should_stop = False
        try:
            self.callbacks.on_train_begin(self, {"epoch": self.epoch, "step": self.step})
            while self.epoch < self.epochs and not self._done():
                self._run_epoch()
            self.callbacks.on_train_end(self, dict(self.history.last, epoch=self.epoch, step=self.step))
        except BaseException as error:
            self.callbacks.on_exception(self, error)
            raise
        return self.history

    def _done(self) -> bool:
        return self.should_stop or (self.max_steps is not None and self.step >= self.max_steps)

    def _run_epoch(self) -> None:
        epoch = self.epoch + 1  # logs count epochs from 1
        if self.batch_in_epoch == 0:
            for m in (self.train_loss, *self.train_metrics):
                m.reset()
        batches = self._batches()
        self.model.train()
        self.callbacks.on_epoch_begin(self, {"epoch": epoch, "step": self.step})
        for batch in batches:
            logs = {"epoch": epoch, "step": self.step + 1, "batch": self.batch_in_epoch + 1}
            self.callbacks.on_batch_begin(self, logs)
            logs["loss"], logs["size"] = self.train_step(batch, logs)
            logs["lr"] = self.last_lr
            self.callbacks.on_batch_end(self, logs)
            if self._done():
                break
        values = self._compute([self.train_loss, *self.train_metrics])
        logs = {"epoch": epoch, "step": self.step, "train_loss": values[0]}
        logs.update({"train_" + m.name: v for m, v in zip(self.train_metrics, values[1:])})
        if self.val_loader is not None:
            logs.update(self.evaluate(self.val_loader, prefix="val_"))
        logs["lr"] = self.last_lr
        self.epoch, self.batch_in_epoch = epoch, 0
        if self.scheduler is not None and self.scheduler_interval == "epoch":
            self._step_scheduler(logs)
        self.callbacks.on_epoch_end(self, logs)

    def _batches(self):
        """This epoch's batches, starting after ``batch_in_epoch`` when resuming mid-epoch."""
        loader = self.train_loader
        if self._loader_state is not None and hasattr(loader, "load_state_dict"):
            loader.load_state_dict(self._loader_state)
            self._loader_state = None
            if self.steps_per_epoch is not None and self.batch_in_epoch >= self.steps_per_epoch:
                # Saved after the epoch's last step, before its end (epoch-end checkpoint, evaluation): the
                # loader had handed out every batch and its state already names the *next* epoch's start,
                # so iterating it now would train that epoch inside this one. Nothing of this epoch is left.
                return iter(())
            return iter(loader)
        self._loader_state = None
        if hasattr(loader, "set_epoch"):
            loader.set_epoch(self.epoch)
        return itertools.islice(iter(loader), self.batch_in_epoch, None)

    def train_step(self, batch, logs: dict | None = None) -> tuple[float, int]:
        """One optimizer step on ``batch``; returns (loss value, number of samples).

        ``logs`` (the batch's event dict) is handed to ``on_before_step``, with ``loss`` set.
        """
        inputs, target = self.unpack(batch)
        output = self.model(*inputs)
        loss = self.loss_fn(output, target)
        value = float(loss.item())
        if not math.isfinite(value):  # checked before backward: the weights are still those of the last good step
            raise NonFiniteLossError(value, self.step + 1, self.epoch + 1, self.last_loss,
                                     self.step if self.last_loss is not None else None)
        self.optimizer.zero_grad()
        loss.backward()
        if self.distributed:
            self.model.sync_gradients()  # average over ranks before clipping and stepping
        if self.clip_grad_norm is not None:
            from ..nn.utils import clip_grad_norm_

            self.last_grad_norm = float(clip_grad_norm_(self._params, self.clip_grad_norm))
        self.last_lr = float(self.optimizer.param_groups[0]["lr"])
        if logs is not None:
            logs["loss"] = value
            self.callbacks.on_before_step(self, logs)
        self.optimizer.step()
        if self.scheduler is not None and self.scheduler_interval == "step":
            self.scheduler.step()
        self.step += 1
        self.batch_in_epoch += 1
        self.last_loss = value
        n = _num(target)
        self.train_loss.update(value, n)
        if self.train_metrics:
            out, tgt = output._data, getattr(target, "_data", target)
            for m in self.train_metrics:
                m.update(out, tgt)
        return value, (target.shape[0] if getattr(target, "ndim", 0) else 1)

    def _step_scheduler(self, logs: dict) -> None:
        if type(self.scheduler).__name__ == "ReduceLROnPlateau":
            self.scheduler.step(logs.get("val_loss", logs["train_loss"]))
        else:
            self.scheduler.step()

    def evaluate(self, loader, prefix: str = "") -> dict:
        """Mean loss and metrics over ``loader`` in eval mode without gradients: ``{prefix+"loss": ...}``."""
        was_training = self.model.training
        self.model.eval()
        loss = _metrics.Mean("loss")
        metrics = [copy.deepcopy(m) for m in self.metric_specs]
        for m in metrics:
            m.reset()
        try:
            with no_grad():
                for batch in loader:
                    inputs, target = self.unpack(batch)
                    output = self.model(*inputs)
                    loss.update(float(self.loss_fn(output, target).item()), _num(target))
                    for m in metrics:
                        m.update(output._data, getattr(target, "_data", target))
        finally:
            self.model.train(was_training)
        values = self._compute([loss, *metrics])
        return {prefix + "loss": values[0], **{prefix + m.name: v for m, v in zip(metrics, values[1:])}}

    def _compute(self, metrics) -> list:
        """Each metric's value; distributed, over every rank's samples (totals and counts summed)."""
        if not self.distributed:
            return [m.compute() for m in metrics]
        import numpy

        from .. import distributed as dist

        sums = dist.all_reduce(numpy.array([[m.total, m.count] for m in metrics], dtype=numpy.float64), op="sum")
        return [float(t / c) if c else float("nan") for t, c in sums]

    def predict(self, loader):
        """The model's outputs over ``loader`` (inputs only or ``(x, y)`` batches), concatenated."""
        import numpy

        was_training = self.model.training
        self.model.eval()
        outputs = []
        try:
            with no_grad():
                for batch in loader:
                    inputs = self.unpack(batch)[0] if isinstance(batch, (tuple, list, dict)) else (_tensor(batch),)
                    outputs.append(self.model(*inputs)._data)
        finally:
            self.model.train(was_training)
        return Tensor._wrap(numpy.concatenate(outputs))

    def log_columns(self) -> list[str]:
        """The metric columns this trainer logs (what :class:`CSVLogger` writes)."""
        names = [m.name for m in self.metric_specs]
        cols = ["epoch", "step", "kind", "train_loss", *("train_" + n for n in names)]
        if self.val_loader is not None:
            cols += ["val_loss", *("val_" + n for n in names)]
        return cols + ["lr"]

    # ------------------------------------------------------------ state
    def state_dict(self) -> dict:
        """The loop's own state (counters, running metrics, callbacks) as plain JSON values."""
        return {
            "epoch": self.epoch, "step": self.step, "batch_in_epoch": self.batch_in_epoch,
            "last_loss": self.last_loss, "last_lr": self.last_lr,
            "train_loss": self.train_loss.state_dict(),
            "train_metrics": [m.state_dict() for m in self.train_metrics],
            "callbacks": self.callbacks.state_dict(),
        }

    def load_state_dict(self, state: dict) -> None:
        self.epoch, self.step, self.batch_in_epoch = state["epoch"], state["step"], state["batch_in_epoch"]
        self.last_loss, self.last_lr = state["last_loss"], state["last_lr"]
        self.train_loss.load_state_dict(state["train_loss"])
        for m, s in zip(self.train_metrics, state["train_metrics"]):
            m.load_state_dict(s)
        self.callbacks.load_state_dict(state["callbacks"])

    def save_checkpoint(self, path) -> str:
        """Write model, optimizer, scheduler, loop, data-loader and RNG state to ``path`` (.safetensors + .json)."""
        loader_state = self.train_loader.state_dict() if hasattr(self.train_loader, "state_dict") else None
        return save_checkpoint(path, self.model, self.optimizer, self.scheduler, trainer_state=self.state_dict(),
                               loader_state=loader_state, config=self.config, model_name=self.model_name)

    def load_checkpoint(self, path):
        """Restore everything :meth:`save_checkpoint` wrote; the next :meth:`fit` continues exactly."""
        info = load_checkpoint(path, self.model, self.optimizer, self.scheduler)
        if info.trainer is not None:
            self.load_state_dict(info.trainer)
        self._loader_state = info.get("loader")
        return info


def fit(model, optimizer, train_loader, epochs: int, val_loader=None, loss_fn=None, **kwargs) -> History:
    """One call: ``Trainer(model, optimizer, loss_fn, **kwargs).fit(train_loader, epochs, val_loader)``."""
    return Trainer(model, optimizer, loss_fn, **kwargs).fit(train_loader, epochs, val_loader)

