"""The Observatory: watch a network learn, every N steps, without touching its code.

With the Trainer, it is a callback::

    obs = Observatory(every=25, run_dir="runs/mine")
    Trainer(model, opt, callbacks=[obs]).fit(train_loader, epochs=10, val_loader=val_loader)

In a raw loop, give it the model (and optimizer, for the learning rate) and
call :meth:`Observatory.step` after each optimizer step::

    obs = Observatory(model, opt, every=25, run_dir="runs/mine")
    for x, y in loader:
        loss = F.cross_entropy(model(x), y)
        opt.zero_grad(); loss.backward(); opt.step()
        obs.step(loss)
    obs.close()

Step 1 and every ``every``-th step are *observed*: just before such a step,
forward hooks are attached to the layers and the parameters are copied; just
after it, the record below is computed, written and checked by the
:class:`~gradstep.observe.diagnosis.Diagnoser`, and the hooks are removed.
Other steps run the model exactly as without the Observatory.

A record (one line of ``observations.jsonl``)::

    {"step": 50, "epoch": 1, "loss": 0.41, "lr": 0.001, "grad_norm": 1.7, "throughput": 9100.0,
     "params": {"0.weight": {"ndim": 2, "norm": 12.3, "grad_norm": 0.9, "update_ratio": 0.0011}, ...},
     "layers": {"1": {"type": "ReLU", "shape": [128, 512], "mean": 0.3, "std": 0.5, "dead": 0.02,
                      "nonfinite": 0, "grad_norm": 0.05}, ...}}

``throughput`` is samples per second since the previous observation.
"""
from __future__ import annotations

import math
import sys
import time

import numpy

from ..train.callbacks import Callback
from . import snapshots as _snap
from .anomaly import AnomalyError, detect_anomaly
from .diagnosis import Diagnoser, Finding
from .hooks import ActivationCapture
from .recorder import Recorder, read_arrays
from .stats import norm
from ..errors import InvalidArgument

__all__ = ["Observatory", "DEFAULT_EVERY"]

DEFAULT_EVERY = 20
"""Observe every 20th step: under 5% overhead on the ``mlp`` reference workload (benchmarks/observe_overhead.py)."""


class Observatory(Callback):
    """Per-layer and per-parameter statistics every ``every`` steps, diagnosis, and snapshots for the report.

    Args:
        model, optimizer: for a raw loop (with the Trainer they come from it).
        every: observe step 1 and every ``every``-th step (0: never; diagnosis of epochs still runs).
        run_dir: folder to write to (``observations.jsonl``, ``diagnosis.jsonl``, ``observe/``);
            None keeps the records in memory only (``self.records``).
        diagnose: run the diagnosis rules.
        detect_anomaly: check every op for NaN/Inf during training (slow; on demand).
        snapshots: save weights at start and end, decision boundaries (2-D data), confusion
            matrix and misclassified examples (classification), and text samples (language models).
        data, val_data: datasets for the snapshots in a raw loop (with the Trainer: its loaders' datasets).
        log: where warnings are printed (default ``sys.stderr``; False for silence).
        diagnoser: a :class:`Diagnoser` with other thresholds.
    """

    order = 5  # after LRMonitor, before the loggers and the progress bar

    def __init__(self, model=None, optimizer=None, *, every: int = DEFAULT_EVERY, run_dir=None,
                 diagnose: bool = True, detect_anomaly: bool = False, snapshots: bool = True,
                 data=None, val_data=None, log=None, diagnoser: Diagnoser | None = None):
        if isinstance(every, bool) or not isinstance(every, int) or every < 0:
            raise InvalidArgument(f"Observatory: every must be an int >= 0 (0 = never), got {every!r}")
        self.every = every
        self.run_dir = run_dir
        self.recorder = Recorder(run_dir) if run_dir is not None else None
        self.diagnoser = (diagnoser or Diagnoser()) if diagnose else None
        self.anomaly = bool(detect_anomaly)
        self.snapshots = bool(snapshots)
        self.data, self.val_data = data, val_data
        self.log = log
        self.records: list[dict] = []  # kept only without a run_dir
        self.model = self.optimizer = None
        self.capture: ActivationCapture | None = None
        self._before: dict | None = None
        self._buffers: dict = {}
        self._armed_step: int | None = None
        self._resume: dict | None = None
        self._anomaly_ctx = None
        self._boundary = None
        self._step = 0  # raw loop only
        self._epoch = 0
        self._samples = 0
        self._t_last: float | None = None
        self._open = False
        if model is not None:
            self.begin(model, optimizer)

    # ----------------------------------------------------------------- API
    def observed(self, step: int) -> bool:
        """Whether optimizer step ``step`` (counted from 1) is observed."""
        return self.every > 0 and (step == 1 or step % self.every == 0)

    def begin(self, model, optimizer=None, start_step: int = 0, train_data=None, val_data=None,
              arm: bool = True) -> None:
        """Start watching ``model`` (called by the constructor or by ``on_train_begin``).

        ``arm``: attach the hooks now if the next step is observed (a raw loop); the Trainer arms
        them in ``on_batch_begin`` instead, so nothing else that runs the model in between is observed.
        """
        self.model, self.optimizer = model, optimizer
        self.capture = ActivationCapture(model)
        self._step = start_step
        if train_data is not None:
            self.data = train_data
        if val_data is not None:
            self.val_data = val_data
        if self.recorder is not None:
            self.recorder.open(self._resume)
        self._open = True
        if self.anomaly:
            self._anomaly_ctx = detect_anomaly(model)
            self._anomaly_ctx.__enter__()
        if self.snapshots:
            self._start_snapshots(resumed=self._resume is not None)
        self._resume = None
        self._t_last = time.perf_counter()
        self._samples = 0
        if arm and self.observed(self._step + 1):
            self._arm(self._step + 1)

    def step(self, loss=None, batch_size: int | None = None) -> dict | None:
        """Raw loop: call once after each optimizer step; returns the record on observed steps."""
        self._step += 1
        return self._after_step(self._step, loss, batch_size, None, None)

    def end_epoch(self, **logs) -> list[Finding]:
        """Raw loop: report an epoch's ``train_loss``/``val_loss`` (epoch-level diagnosis and snapshots)."""
        self._epoch += 1
        logs.setdefault("epoch", self._epoch)
        logs.setdefault("step", self._step)
        return self._epoch_done(logs)

    def close(self) -> None:
        """Raw loop: final snapshots, close the files, remove hooks."""
        self._finish()

    @property
    def findings(self) -> list[Finding]:
        return self.diagnoser.findings if self.diagnoser is not None else []

    # ------------------------------------------------------------ internals
    def _arm(self, step: int) -> None:
        self.capture.attach()
        # the copies go into buffers kept from the last observation: no allocation, no page faults
        old = self._buffers
        self._before = {}
        for n, p in self.model.named_parameters():
            buf = old.get(n)
            if buf is None or buf.shape != p._data.shape or buf.dtype != p._data.dtype:
                buf = numpy.empty_like(p._data)
            numpy.copyto(buf, p._data)
            self._before[n] = buf
        self._buffers = self._before
        self._armed_step = step

    def _after_step(self, step: int, loss, batch_size, epoch, lr) -> dict | None:
        size = batch_size if batch_size is not None else (self.capture.batch_size if self.capture else None)
        self._samples += size or 0
        record = None
        if self._armed_step == step:
            record = self._record(step, loss, epoch, lr, size)
        if self.observed(step + 1) and self._armed_step != step + 1:
            self._arm(step + 1)
        return record

    def _record(self, step: int, loss, epoch, lr, size) -> dict:
        self.capture.detach()
        self._armed_step = None
        now = time.perf_counter()
        elapsed = now - self._t_last if self._t_last is not None else 0.0
        throughput = self._samples / elapsed if elapsed > 0 and self._samples else None
        if lr is None and self.optimizer is not None:
            lr = float(self.optimizer.param_groups[0]["lr"])
        params, total = {}, 0.0
        before = self._before or {}
        for name, p in self.model.named_parameters():
            w = p._data
            g = p.grad._data if p.grad is not None else None
            gn = norm(g) if g is not None else None
            if gn is not None:
                total += gn * gn
            entry = {"ndim": int(w.ndim), "norm": norm(w), "grad_norm": gn}
            b = before.get(name)
            if b is not None:
                w0 = norm(b)
                numpy.subtract(w, b, out=b)  # Δw, in the snapshot buffer
                dw = norm(b)
                entry["update_ratio"] = (dw / w0 if w0 else (0.0 if dw == 0 else math.inf))
            params[name] = entry
        record = {"step": int(step), "epoch": epoch,
                  "loss": None if loss is None else float(loss.item() if hasattr(loss, "item") else loss),
                  "lr": lr, "grad_norm": math.sqrt(total) if any(p["grad_norm"] is not None for p in params.values())
                  else None, "throughput": throughput, "params": params, "layers": self.capture.stats}
        self._before = None
        self._t_last, self._samples = time.perf_counter(), 0  # bookkeeping time is not charged to throughput
        if self.recorder is not None:
            self.recorder.observations.write(record)
        else:
            self.records.append(record)
        if self.diagnoser is not None:
            self._report(self._diagnose(self.diagnoser.observe, record))
        return record

    def _diagnose(self, rule, arg) -> list:
        """Run a diagnosis entry point; a failure there must never stop training (it is reported once)."""
        try:
            return rule(arg)
        except Exception as e:  # noqa: BLE001
            print(f"warning: gradstep.observe: diagnosis disabled after an internal error: {e!r}",
                  file=self.log or sys.stderr)
            self.diagnoser = None
            return []

    def _report(self, findings) -> None:
        for f in findings:
            if self.recorder is not None:
                self.recorder.findings.write(f.to_dict())
            if self.log is not False:
                print(f"warning: {f}", file=self.log or sys.stderr, flush=True)

    def _epoch_done(self, logs: dict) -> list[Finding]:
        found = self._diagnose(self.diagnoser.end_epoch, logs) if self.diagnoser is not None else []
        self._report(found)
        epoch = int(logs.get("epoch") or 0)
        if self._boundary is not None and _snap.BoundarySnapshots.wanted(epoch):
            self._save_boundary(epoch)
        return found

    # ------------------------------------------------------------ snapshots
    def _start_snapshots(self, resumed: bool) -> None:
        if self.recorder is not None and not (resumed and read_arrays(self.run_dir, "weights_start") is not None):
            self.recorder.save_arrays("weights_start", _weights(self.model))
        self._boundary = None
        data = _safe(lambda: _snap.dataset_arrays(self.data, limit=5000))
        if data is not None and _snap.BoundarySnapshots.applies(*data):
            self._boundary = _snap.BoundarySnapshots(*data)
            saved = read_arrays(self.run_dir, "boundary") if (resumed and self.run_dir) else None
            if saved:
                self._boundary.load(saved)
            elif not self._save_boundary(self._epoch):
                self._boundary = None

    def _save_boundary(self, epoch: int) -> bool:
        ok = _safe(lambda: self._boundary.take(self.model, epoch))
        if ok and self.recorder is not None:
            self.recorder.save_arrays("boundary", self._boundary.arrays())
        return bool(ok)

    def _final_snapshots(self) -> None:
        if self.model is None:
            return
        if self.recorder is None:
            return
        self.recorder.save_arrays("weights_end", _weights(self.model))
        if self._boundary is not None and self._epoch not in self._boundary.taken:
            self._save_boundary(self._epoch)
        results = _safe(lambda: _snap.class_results(self.model, self.val_data if self.val_data is not None
                                                    else self.data))
        if results is not None:
            summary, arrays = results
            summary["split"] = "validation" if self.val_data is not None else "training"
            self.recorder.save_json("classes", summary)
            self.recorder.save_arrays("misclassified", arrays)
        sample = _safe(lambda: _snap.generate_samples(self.model, self.data))
        if sample is not None:
            sample["epoch"] = self._epoch
            self.recorder.save_json("samples", sample)

    def _finish(self, error: BaseException | None = None) -> None:
        if not self._open:
            return
        self._open = False
        if self.capture is not None:
            self.capture.detach()
        self._armed_step, self._before, self._buffers = None, None, {}
        if self._anomaly_ctx is not None:
            self._anomaly_ctx.__exit__(None, None, None)
            self._anomaly_ctx = None
        if self.snapshots:
            self._final_snapshots()
        if self.recorder is not None:
            self.recorder.close()

    # -------------------------------------------------------- callback
    def on_train_begin(self, trainer, logs):
        self._epoch = trainer.epoch
        train = getattr(trainer.train_loader, "dataset", None)
        val = getattr(trainer.val_loader, "dataset", None) if trainer.val_loader is not None else None
        self.begin(trainer.model, trainer.optimizer, trainer.step, train, val, arm=False)

    def on_batch_begin(self, trainer, logs):
        if self._armed_step != logs["step"] and self.observed(logs["step"]):
            self._arm(logs["step"])

    def on_batch_end(self, trainer, logs):
        size = logs.get("size")
        self._samples += size or 0
        if self._armed_step == logs["step"]:
            self._record(logs["step"], logs.get("loss"), logs.get("epoch"), logs.get("lr"), size)

    def on_epoch_end(self, trainer, logs):
        self._epoch = int(logs.get("epoch") or trainer.epoch)
        self._epoch_done(logs)

    def on_train_end(self, trainer, logs):
        self._finish()

    def on_exception(self, trainer, error):
        if self.diagnoser is not None and isinstance(error, FloatingPointError):
            step, epoch = getattr(error, "step", None) or trainer.step + 1, trainer.epoch + 1
            if isinstance(error, AnomalyError):
                found = self.diagnoser.nonfinite(step, str(error).removeprefix("anomaly: ").split(". Fix:")[0],
                                                 error.fix, subject=error.layer, epoch=epoch)
            else:  # NonFiniteLossError, or a parameter found non-finite by a checkpoint
                what = (f"the loss became {error.value}" if hasattr(error, "value")
                        else " ".join(str(error).split(";")[0].split()))
                found = self.diagnoser.nonfinite(
                    step, what, "a lower learning rate or gradient clipping (--clip-grad 1, or clip_grad_norm=1.0); "
                    "run again with anomaly detection (--detect-anomaly, or Observatory(detect_anomaly=True)) to "
                    "find the first op and layer that produced it", getattr(error, "value", math.nan), epoch=epoch)
            self._report([found] if found else [])
        self._finish(error)

    def state_dict(self) -> dict:
        state = {}
        if self.recorder is not None:
            state["rows"] = self.recorder.state_dict()
        if self.diagnoser is not None:
            state["diagnoser"] = self.diagnoser.state_dict()
        return state

    def load_state_dict(self, state):
        self._resume = state.get("rows")
        if self.diagnoser is not None and "diagnoser" in state:
            self.diagnoser.load_state_dict(state["diagnoser"])


def _weights(model) -> dict:
    return {n: p._data for n, p in model.named_parameters()}


def _safe(fn):
    """Snapshots are a bonus: a model or dataset they don't understand must never stop training."""
    try:
        return fn()
    except Exception:  # noqa: BLE001 - deliberately broad, see above
        return None
