"""Diagnosis: rules over the observations that turn numbers into short warnings.

Each :class:`Finding` names the rule, the step, the number that triggered it
and a suggested fix. A rule fires once per subject (a layer, a parameter, or
the whole run), so a long broken run gives one clear line per problem, not a
flood. The rules and their thresholds:

==================  ==========================================================
exploding-gradients  global gradient norm non-finite, above ``explode_norm``, or
                     above ``explode_factor`` × its value at the first observed step
vanishing-gradients  the first weight's relative gradient ‖g‖/‖w‖ is below
                     ``vanish_ratio`` × the last weight's, twice in a row
dead-relu            more than ``dead_fraction`` of a ReLU layer's units output
                     zero for a whole batch, twice in a row
saturated-units      more than ``saturated_fraction`` of a tanh/sigmoid layer's
                     outputs within 0.01 of ±1 / 0 / 1, twice in a row
update-ratio         median ‖Δw‖/‖w‖ of a weight over the last ``ratio_window``
                     observations (step 1 excluded) outside [``ratio_low``,
                     ``ratio_high``] (healthy: ~1e-3)
loss-plateau         the best loss improved by less than ``plateau_tol`` over
                     ``plateau_patience`` epochs (or observation windows) while
                     still above ``plateau_floor`` × the first loss (with
                     validation, the validation loss must have stalled too and
                     still be above ``plateau_floor`` × its first value)
overfitting          validation loss above its best for each of the last
                     ``overfit_patience`` epochs, by ``overfit_rise`` on average
                     (and by ``overfit_min_rise`` at least), while training loss fell
update-ratio (zero)  a weight that stopped changing at all
non-finite           the loss, a gradient or an activation became NaN/Inf
==================  ==========================================================
"""
from __future__ import annotations

import math
import statistics
from collections import deque
from dataclasses import asdict, dataclass, field

__all__ = ["Finding", "Diagnoser", "RULES"]

RULES = ("exploding-gradients", "vanishing-gradients", "dead-relu", "saturated-units", "update-ratio",
         "loss-plateau", "overfitting", "non-finite")


@dataclass
class Finding:
    """One warning: ``rule``, where (``step``, ``epoch``, ``subject``), the number, the message and a fix."""

    rule: str
    step: int
    value: float
    message: str
    fix: str
    subject: str | None = None
    epoch: int | None = None

    def __str__(self) -> str:
        where = f"step {self.step}" if self.epoch is None else f"step {self.step}, epoch {self.epoch}"
        return f"{self.rule} ({where}): {self.message}. Try: {self.fix}"

    def to_dict(self) -> dict:
        return asdict(self)


def _g(x: float) -> str:
    return f"{x:.3g}"


@dataclass
class Diagnoser:
    """Applies the rules to observation records (:meth:`observe`) and epoch logs (:meth:`end_epoch`)."""

    explode_norm: float = 1e4
    explode_factor: float = 100.0
    vanish_ratio: float = 1e-3
    dead_fraction: float = 0.5
    saturated_fraction: float = 0.5
    ratio_low: float = 1e-5
    ratio_high: float = 1e-1
    ratio_window: int = 5
    plateau_tol: float = 0.01
    plateau_patience: int = 4
    plateau_floor: float = 0.3
    plateau_window: int = 10
    overfit_rise: float = 0.25
    overfit_patience: int = 5
    overfit_min_rise: float = 0.05
    findings: list = field(default_factory=list)

    def __post_init__(self):
        self._fired: set = set()
        self._baseline: list[float] = []
        self._streak: dict = {}
        self._ratios: dict = {}
        self._window: list[float] = []
        self._window_means: list[float] = []
        self._epochs: list[dict] = []

    # ------------------------------------------------------------ helpers
    def _fire(self, rule, step, value, message, fix, subject=None, epoch=None) -> Finding | None:
        key = (rule, subject)
        if key in self._fired:
            return None
        self._fired.add(key)
        finding = Finding(rule, int(step), float(value), message, fix, subject, epoch)
        self.findings.append(finding)
        return finding

    def _fired_any(self, *rules) -> bool:
        return any(r in rules for r, _ in self._fired)

    def _twice(self, key, condition: bool) -> bool:
        """True when ``condition`` held at this and the previous observation."""
        n = self._streak.get(key, 0) + 1 if condition else 0
        self._streak[key] = n
        return n >= 2

    # --------------------------------------------------------- per step
    def observe(self, record: dict) -> list[Finding]:
        """Check one observation record (see :class:`~gradstep.observe.Observatory`); returns new findings."""
        step, epoch = record["step"], record.get("epoch")
        before = len(self.findings)
        params = record.get("params", {})
        layers = record.get("layers", {})

        loss = record.get("loss")
        if loss is not None and not math.isfinite(loss):
            self._fire("non-finite", step, loss, f"the loss is {loss}",
                       "a lower learning rate or gradient clipping; run with anomaly detection "
                       "(--detect-anomaly, or Observatory(detect_anomaly=True)) to find the first op that produced it",
                       None, epoch)
        bad_layers = [n for n, s in layers.items() if s.get("nonfinite")]
        if bad_layers:
            n = bad_layers[0]
            self._fire("non-finite", step, layers[n]["nonfinite"],
                       f"layer {n!r} ({layers[n]['type']}) output {layers[n]['nonfinite']} NaN/Inf values",
                       "a lower learning rate or gradient clipping; anomaly detection names the first op", n, epoch)

        gnorm = record.get("grad_norm")
        if gnorm is not None:
            if math.isfinite(gnorm) and gnorm > 0 and not self._baseline:
                self._baseline.append(gnorm)  # the first observation: gradients at the initial weights
            base = self._baseline[0] if self._baseline else None
            if not math.isfinite(gnorm):
                self._fire("exploding-gradients", step, gnorm, f"the global gradient norm is {gnorm}",
                           "lower the learning rate (e.g. 10x) or clip gradients (clip_grad_norm=1.0, --clip-grad 1)",
                           None, epoch)
            elif gnorm > self.explode_norm or (base and gnorm > self.explode_factor * base):
                start = f" ({_g(gnorm / base)} times its value at the start, {_g(base)})" if base else ""
                self._fire("exploding-gradients", step, gnorm, f"global gradient norm {_g(gnorm)}{start}",
                           "lower the learning rate (e.g. 10x) or clip gradients (clip_grad_norm=1.0, --clip-grad 1)",
                           None, epoch)

        weights = [(n, p) for n, p in params.items() if p.get("ndim", 2) >= 2]
        if len(weights) >= 2:
            (first, pf), (last, pl) = weights[0], weights[-1]
            rf, rl = _relative_grad(pf), _relative_grad(pl)
            if rf is not None and rl is not None and rl > 0:
                ratio = rf / rl
                if self._twice("vanish", ratio < self.vanish_ratio):
                    self._fire("vanishing-gradients", step, ratio,
                               f"the first layer's relative gradient ‖g‖/‖w‖ ({_g(rf)} for {first!r}) is {_g(ratio)} "
                               f"times the last layer's ({_g(rl)} for {last!r})",
                               "ReLU/GELU instead of sigmoid/tanh, He (Kaiming) initialisation, normalisation "
                               "layers (BatchNorm/LayerNorm) or residual connections", first, epoch)

        for name, s in layers.items():
            if "dead" in s and self._twice(("dead", name), s["dead"] > self.dead_fraction):
                self._fire("dead-relu", step, s["dead"],
                           f"{s['dead']:.0%} of the ReLU units of layer {name!r} output zero for the whole batch",
                           "a lower learning rate, a different initialisation (check for large negative biases) "
                           "or LeakyReLU/GELU", name, epoch)
            if "saturated" in s and self._twice(("sat", name), s["saturated"] > self.saturated_fraction):
                self._fire("saturated-units", step, s["saturated"],
                           f"{s['saturated']:.0%} of the {s['type']} outputs of layer {name!r} are saturated "
                           "(where its gradient is almost zero)",
                           "smaller initial weights (Xavier/Glorot), normalised inputs, or ReLU/GELU", name, epoch)

        for name, p in weights:
            r = p.get("update_ratio")
            if r is None or not math.isfinite(r):
                continue
            window = self._ratios.setdefault(name, deque(maxlen=self.ratio_window))
            if step > 1:  # the very first update is lr-sized for Adam-like optimizers whatever the weights: skip it
                window.append(r)
            if len(window) < self.ratio_window:
                continue
            med = statistics.median(window)
            lr = record.get("lr")
            if med == 0.0:
                self._fire("update-ratio", step, med, f"{name!r} has stopped changing (its gradient is zero)",
                           "look for dead units or saturated activations before it; a lower learning rate "
                           "keeps units from dying", name, epoch)
            elif med > self.ratio_high:
                self._fire("update-ratio", step, med,
                           f"updates of {name!r} are {_g(med)} of its size per step (healthy is ~1e-3)",
                           f"a lower learning rate (about {_g(med / 1e-3)}x lower{_lr(lr, 1e-3 / med)})", name, epoch)
            elif med < self.ratio_low and not self._fired_any("dead-relu", "saturated-units", "exploding-gradients"):
                # (after those, tiny updates are a symptom of a broken network, not of a small learning rate)
                self._fire("update-ratio", step, med,
                           f"updates of {name!r} are only {_g(med)} of its size per step (healthy is ~1e-3)",
                           f"a higher learning rate (about {_g(1e-3 / med)}x higher{_lr(lr, 1e-3 / med)})", name, epoch)

        if loss is not None and math.isfinite(loss) and not self._epochs:
            # without epochs (a raw loop), the loss is averaged over windows of observations
            self._window.append(loss)
            if len(self._window) == self.plateau_window:
                self._window_means.append(sum(self._window) / len(self._window))
                self._window = []
                self._plateau(self._window_means, step, epoch, f"windows of {self.plateau_window} observations")
        return self.findings[before:]

    def _plateau(self, values: list[float], step, epoch, unit: str) -> None:
        k = self.plateau_patience
        if len(values) <= k:
            return
        best_before, best_recent = min(values[:-k]), min(values[-k:])
        if best_before <= self.plateau_floor * values[0]:
            return  # already learned most of what it can: a low flat loss is convergence, not a plateau
        gain = (best_before - best_recent) / abs(best_before) if best_before else 0.0
        if gain < self.plateau_tol:
            self._fire("loss-plateau", step, gain,
                       f"the loss improved by {gain:.2%} over the last {k} {unit} (best {_g(best_before)} before, "
                       f"{_g(best_recent)} since)",
                       "a higher learning rate or a schedule; check for dead units, vanishing gradients, or "
                       "labels that don't match the inputs", None, epoch)

    # -------------------------------------------------------- per epoch
    def end_epoch(self, logs: dict) -> list[Finding]:
        """Check the epoch-level rules (plateau, overfitting) with an epoch's ``train_loss``/``val_loss``."""
        before = len(self.findings)
        step, epoch = logs.get("step", 0), logs.get("epoch")
        train, val = logs.get("train_loss"), logs.get("val_loss")
        self._epochs.append({"epoch": epoch, "train_loss": train, "val_loss": val})
        trains = [e["train_loss"] for e in self._epochs if _finite(e["train_loss"])]
        vals = [e["val_loss"] for e in self._epochs if _finite(e["val_loss"])]
        # with validation, both must have stalled: a noisy (dropout) training loss alone is not a plateau
        if trains and (not vals or _stalled(vals, self.plateau_patience, self.plateau_tol)):
            learned = vals and min(vals) <= self.plateau_floor * vals[0]  # generalises well: not stuck
            if not learned:
                self._plateau(trains, step, epoch, "epochs")
        self._overfitting(step, epoch)
        return self.findings[before:]

    def _overfitting(self, step, epoch) -> None:
        k = self.overfit_patience
        eps = self._epochs
        vals = [(i, e["val_loss"]) for i, e in enumerate(eps) if _finite(e["val_loss"])]
        if len(vals) <= k or not all(_finite(e["val_loss"]) for e in eps[-k:]):
            return
        best_i, best = min(vals, key=lambda t: t[1])
        if len(eps) - 1 - best_i < k or best <= 0:
            return
        recent = [e["val_loss"] for e in eps[-k:]]
        t_best, t_now = eps[best_i]["train_loss"], eps[-1]["train_loss"]
        # sustained (every recent epoch above best), clearly up on average, and training still improving
        mean = sum(recent) / k
        if (min(recent) > best * (1 + self.overfit_rise / 2) and mean > best * (1 + self.overfit_rise)
                and mean - best > self.overfit_min_rise
                and _finite(t_best) and _finite(t_now) and t_now < t_best):
            e_best = eps[best_i]["epoch"]
            self._fire("overfitting", step, recent[-1] / best,
                       f"validation loss rose from {_g(best)} (epoch {e_best}) to {_g(recent[-1])} while "
                       f"training loss fell from {_g(t_best)} to {_g(t_now)}",
                       f"more data or augmentation, weight decay, dropout, a smaller model, or stop at "
                       f"epoch {e_best} (EarlyStopping, --patience)", None, epoch)

    def nonfinite(self, step: int, message: str, fix: str, value: float = math.nan, subject=None,
                  epoch=None) -> Finding | None:
        """Record a NaN/Inf found outside the observations (a NonFiniteLossError, an anomaly)."""
        return self._fire("non-finite", step, value, message, fix, subject, epoch)

    # ----------------------------------------------------------- state
    def state_dict(self) -> dict:
        return {"fired": [[r, s] for r, s in sorted(self._fired, key=str)], "baseline": self._baseline,
                "epochs": self._epochs, "window": self._window, "window_means": self._window_means,
                "findings": [f.to_dict() for f in self.findings]}

    def load_state_dict(self, state: dict) -> None:
        self._fired = {(r, s) for r, s in state["fired"]}
        self._baseline = list(state["baseline"])
        self._epochs = list(state["epochs"])
        self._window, self._window_means = list(state["window"]), list(state["window_means"])
        self.findings = [Finding(**f) for f in state["findings"]]


def _stalled(values: list, k: int, tol: float) -> bool:
    """True when the best of the last ``k`` values is not ``tol`` (relative) below the best before them."""
    if len(values) <= k:
        return False
    before, recent = min(values[:-k]), min(values[-k:])
    return (before - recent) < tol * abs(before)


def _finite(x) -> bool:
    return x is not None and math.isfinite(x)


def _relative_grad(p: dict) -> float | None:
    g, w = p.get("grad_norm"), p.get("norm")
    if not _finite(g) or not _finite(w) or w == 0:
        return None
    return g / w


def _lr(lr, factor) -> str:
    return f": lr ≈ {_g(lr * factor)} instead of {_g(lr)}" if _finite(lr) and lr > 0 else ""
