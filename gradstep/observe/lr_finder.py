"""The learning-rate range test: train briefly while the rate grows exponentially, watch the loss.

At tiny rates the loss barely moves; as the rate grows it starts to fall,
faster and faster; past some rate the steps overshoot and the loss shoots
up. The suggested rate is where the smoothed loss falls fastest (the
steepest downward slope against log lr), before the minimum: large enough
to learn quickly, safely below the rate at which training diverges.

>>> result = lr_find(model, optimizer, train_loader)
>>> result.suggestion
0.0031...
>>> print(result.table())

The model and optimizer are restored afterwards, so the test leaves no trace.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy

from ..errors import InvalidArgument

__all__ = ["lr_find", "LRFindResult", "suggest"]


@dataclass
class LRFindResult:
    """``lrs``, raw ``losses`` and bias-corrected exponentially ``smoothed`` losses, step by step."""

    lrs: list = field(default_factory=list)
    losses: list = field(default_factory=list)
    smoothed: list = field(default_factory=list)
    suggestion: float | None = None
    min_loss_lr: float | None = None
    stopped_early: bool = False

    def table(self, rows: int = 12) -> str:
        """A short text table of lr against smoothed loss, with the suggestion."""
        n = len(self.lrs)
        if n == 0:
            return "no steps were run"
        idx = sorted({int(round(i)) for i in numpy.linspace(0, n - 1, min(rows, n))})
        lines = ["        lr   smoothed loss"]
        lines += [f"{self.lrs[i]:10.3g}   {self.smoothed[i]:.4f}" for i in idx]
        end = " (stopped early: the loss diverged)" if self.stopped_early else ""
        lines.append(f"{n} steps from lr {self.lrs[0]:.3g} to {self.lrs[-1]:.3g}{end}")
        if self.suggestion is not None:
            lines.append(f"suggested lr: {self.suggestion:.3g}  (steepest descent of the loss; the loss was lowest "
                         f"at lr {self.min_loss_lr:.3g})")
        else:
            lines.append("no suggestion: the loss never fell clearly (try a wider range or more steps)")
        return "\n".join(lines)

    def plot(self) -> str | None:
        """The loss-vs-lr figure as a base64 PNG (None without matplotlib)."""
        from . import plots

        return plots.lr_curve(self.lrs, self.losses, self.smoothed, self.suggestion)


def suggest(lrs, smoothed) -> tuple[float | None, float | None]:
    """``(suggested lr, lr at the minimum)`` from a smoothed loss curve."""
    lrs = numpy.asarray(lrs, dtype=numpy.float64)
    loss = numpy.asarray(smoothed, dtype=numpy.float64)
    ok = numpy.isfinite(loss)
    if ok.sum() < 5:
        return None, None
    lrs, loss = lrs[ok], loss[ok]
    lo = int(numpy.argmin(loss))
    if lo < 3:
        return None, float(lrs[lo])
    slope = numpy.gradient(loss[:lo + 1], numpy.log(lrs[:lo + 1]))
    start = max(1, lo // 10)  # the first steps carry the smoothing's warm-up
    best = start + int(numpy.argmin(slope[start:]))
    if slope[best] >= 0:
        return None, float(lrs[lo])
    return float(lrs[best]), float(lrs[lo])


def lr_find(model, optimizer, loader, loss_fn=None, start_lr: float = 1e-7, end_lr: float = 10.0,
            steps: int = 200, beta: float = 0.9, diverge: float = 4.0, unpack=None) -> LRFindResult:
    """Run the range test; ``model`` and ``optimizer`` are restored afterwards.

    Args:
        loader: training batches (cycled if shorter than ``steps``).
        loss_fn: ``loss_fn(output, target)`` (default cross-entropy).
        start_lr, end_lr, steps: the rate grows as ``start_lr·(end_lr/start_lr)^(i/(steps-1))``.
        beta: smoothing of the loss (exponential moving average, bias-corrected).
        diverge: stop once the smoothed loss exceeds ``diverge`` × its minimum.
    """
    from ..train.loop import default_unpack
    from ..nn import functional as F

    if not (0 < start_lr < end_lr):
        raise InvalidArgument(f"lr_find: need 0 < start_lr < end_lr, got start_lr={start_lr!r}, end_lr={end_lr!r}")
    if int(steps) < 5:
        raise InvalidArgument(f"lr_find: steps must be at least 5, got {steps!r}")
    unpack = unpack or default_unpack
    loss_fn = loss_fn or F.cross_entropy
    saved_params = {n: p._data.copy() for n, p in model.named_parameters()}
    saved_buffers = {n: b._data.copy() for n, b in model.named_buffers()}
    saved_opt = optimizer.state_dict()
    saved_opt = {"state": {k: {kk: (vv.copy() if hasattr(vv, "copy") else vv) for kk, vv in v.items()}
                           for k, v in saved_opt["state"].items()},
                 "param_groups": [dict(g) for g in saved_opt["param_groups"]]}
    was_training = model.training
    result = LRFindResult()
    factor = (end_lr / start_lr) ** (1.0 / (int(steps) - 1))
    avg, best = 0.0, math.inf
    model.train()
    try:
        batches = iter(loader)
        for i in range(int(steps)):
            lr = start_lr * factor ** i
            for g in optimizer.param_groups:
                g["lr"] = lr
            try:
                batch = next(batches)
            except StopIteration:
                batches = iter(loader)
                batch = next(batches)
            inputs, target = unpack(batch)
            loss = loss_fn(model(*inputs), target)
            value = float(loss.item())
            optimizer.zero_grad()
            if math.isfinite(value):
                loss.backward()
                optimizer.step()
            avg = beta * avg + (1 - beta) * value
            smooth = avg / (1 - beta ** (i + 1))
            result.lrs.append(lr)
            result.losses.append(value)
            result.smoothed.append(smooth)
            if not math.isfinite(smooth) or (i > 5 and smooth > diverge * best):
                result.stopped_early = i < int(steps) - 1
                break
            best = min(best, smooth)
    finally:
        for n, p in model.named_parameters():
            p._data[...] = saved_params[n]
            p.grad = None
        for n, b in model.named_buffers():
            b._data[...] = saved_buffers[n]
        optimizer.load_state_dict(saved_opt)
        model.train(was_training)
    result.suggestion, result.min_loss_lr = suggest(result.lrs, result.smoothed)
    return result
