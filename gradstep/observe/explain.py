"""``gradstep explain``: one learning step on one example, told with the real numbers.

:func:`explain_step` runs forward, loss, backward and one plain gradient
descent update on a single example, records every number on the way, puts the
model back as it was, and returns an :class:`Explanation`;
``str(explanation)`` is the terminal text and :meth:`Explanation.html` a page.

The story follows the four steps of learning:

1. the input;
2. forward: for each layer its output (for a Linear layer, the weighted sum
   ``z = x·Wᵀ + b`` with one unit worked out by hand; for an activation, the
   function applied);
3. the softmax probabilities and the loss;
4. backward: the gradient arriving at each layer's output, from the last layer
   to the first, and the gradient of its weights (one element worked out with
   the chain rule);
5. the update ``w ← w − lr·g`` for a few weights, and the loss on the same
   example before and after.

The model runs in eval mode (dropout off, batch norm with its running
statistics), so the numbers are exactly reproducible.
"""
from __future__ import annotations

import html as _html
import math
from dataclasses import dataclass, field

import numpy

from ..autograd.tensor import Tensor
from ..nn import functional as F
from ..errors import IndexOutOfRange

__all__ = ["explain_step", "Explanation", "LayerStep", "tiny_model", "default_example"]

_SHOW = 6  # values shown per vector


@dataclass
class LayerStep:
    """What one layer did: its input and output (forward), the gradient at its output and of its parameters."""

    name: str
    type: str
    input: numpy.ndarray | None
    output: numpy.ndarray
    grad_output: numpy.ndarray | None = None
    param_grads: dict = field(default_factory=dict)
    params: dict = field(default_factory=dict)


@dataclass
class Explanation:
    """Every number of one learning step on one example (arrays keep their batch dimension of 1)."""

    title: str
    x: numpy.ndarray
    target: numpy.ndarray
    layers: list
    logits: numpy.ndarray
    probs: numpy.ndarray | None
    loss_before: float
    loss_after: float
    probs_after: numpy.ndarray | None
    grad_logits: numpy.ndarray | None
    lr: float
    updates: list  # (param name, index, before, grad, after)
    classes: list | None = None
    image_shape: tuple | None = None
    notes: list = field(default_factory=list)
    decode: object = None  # ids -> text, for language models

    # ------------------------------------------------------------ rendering
    def sections(self) -> list[tuple[str, list[str]]]:
        return [("The input", self._input_lines()), ("Forward pass, layer by layer", self._forward_lines()),
                ("Probabilities and loss", self._loss_lines()),
                ("Backward pass: the chain rule, from the loss back to the first layer", self._backward_lines()),
                (f"The update w ← w − lr·g (plain gradient descent, lr = {self.lr:g})", self._update_lines()),
                ("The same example after the step", self._after_lines())]

    def __str__(self) -> str:
        out = [self.title, *self.notes, ""]
        for i, (title, lines) in enumerate(self.sections(), 1):
            out.append(f"{i}. {title}")
            out += ["   " + line for line in lines]
            out.append("")
        return "\n".join(out).rstrip() + "\n"

    def html(self) -> str:
        """A self-contained page with the same sections (and the input image when matplotlib is present)."""
        from . import plots

        parts = [f"<h1>{_html.escape(self.title)}</h1>"] + [f"<p>{_html.escape(n)}</p>" for n in self.notes]
        for i, (title, lines) in enumerate(self.sections(), 1):
            parts.append(f"<h2>{i}. {_html.escape(title)}</h2>")
            if i == 1 and self.image_shape is not None:
                b64 = plots.image_grid(self.x.reshape((1, *self.image_shape)), [self._label(self.target)], "input")
                if b64:
                    parts.append(f'<img alt="input" src="data:image/png;base64,{b64}">')
            parts.append("<pre>" + _html.escape("\n".join(lines)) + "</pre>")
        css = ("body{font:14px/1.45 -apple-system,Segoe UI,Helvetica,Arial,sans-serif;max-width:980px;margin:0 auto;"
               "padding:16px 24px}pre{background:#f6f6f6;padding:8px;white-space:pre-wrap;font-size:12.5px}"
               "h2{font-size:17px;border-bottom:1px solid #ddd}img{width:160px;image-rendering:pixelated}")
        return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>gradstep explain</title>'
                f"<style>{css}</style></head><body>{''.join(parts)}</body></html>\n")

    # ------------------------------------------------------------- pieces
    def _label(self, t) -> str:
        t = numpy.asarray(t).reshape(-1)
        if t.size == 1 and t.dtype.kind in "iu":
            k = int(t[0])
            return f"class {k}" + (f" ({self.classes[k]!r})" if self.classes and k < len(self.classes)
                                    and self.classes[k] != str(k) else "")
        return _vec(t)

    def _input_lines(self) -> list[str]:
        x = self.x
        lines = [f"x: shape {_shape(x)}, {_vec(x)}", f"   min {_f(x.min())}, max {_f(x.max())}, mean {_f(x.mean())}",
                 f"target: {self._label(self.target)}"]
        if self.image_shape is not None:
            lines += ["", "the input as an image:"] + _ascii_image(x.reshape(self.image_shape))
        return lines

    def _forward_lines(self) -> list[str]:
        lines = []
        for L in self.layers:
            head = f"{L.name} ({L.type})"
            out = L.output
            if L.type == "Linear" and "weight" in L.params and L.input is not None and L.input.ndim == 2:
                W, b = L.params["weight"], L.params.get("bias")
                x = L.input
                j = int(numpy.argmax(numpy.abs(out[0])))
                contrib = W[j].astype(numpy.float64) * x[0].astype(numpy.float64)
                dot = float(contrib.sum())
                lines.append(f"{head}: weighted sum z = x·Wᵀ + b, W {_shape(W)}, x {_shape(x)} -> z {_shape(out)}")
                top = numpy.argsort(-numpy.abs(contrib), kind="stable")[:3]
                terms = ", ".join(f"W[{j},{i}]·x[{i}] = {_p(W[j, i])}·{_p(x[0, i])}" for i in top)
                lines.append(f"   unit {j}: z[{j}] = Σ_i W[{j},i]·x[i] + b[{j}]; the largest of its {x.shape[1]} "
                             f"terms: {terms}")
                bias = f" + b[{j}] ({_f(b[j])})" if b is not None else ""
                lines.append(f"   sum of the terms {_f(dot)}{bias} = z[{j}] = {_f(out[0, j])}")
                lines.append(f"   z = {_vec(out)}")
            elif L.type in _ACT_TEXT:
                zero = f"; {int((out == 0).sum())} of {out.size} are 0" if L.type in ("ReLU", "ReLU6") else ""
                lines.append(f"{head}: {_ACT_TEXT[L.type]}, shape {_shape(out)}{zero}")
                lines.append(f"   a = {_vec(out)}")
            else:
                params = ", ".join(f"{k} {_shape(v)}" for k, v in L.params.items())
                what = _OTHER_TEXT.get(L.type, "output")
                lines.append(f"{head}: {what} {_shape(out)}" + (f" (parameters: {params})" if params else ""))
                lines.append(f"   = {_vec(out)}")
        lines.append(f"logits (the network's output): {_vec(self.logits)}")
        return lines

    def _target_class(self) -> int | None:
        t = numpy.asarray(self.target).reshape(-1)
        return int(t[-1]) if t.dtype.kind in "iu" else None

    def _loss_lines(self) -> list[str]:
        if self.probs is None:
            return [f"loss = {_f(self.loss_before)}"]
        k = self._target_class()
        p = self.probs.reshape(-1, self.probs.shape[-1])[-1]
        lines = ["p = softmax(logits) = exp(logits) / Σ exp(logits)", f"p = {_vec(p, n=10)}  (sum {_f(p.sum())})"]
        pred = int(p.argmax())
        if self.probs.ndim == 3 and k is not None:
            name = (lambda i: repr(self.decode([i]))) if self.decode else str
            lines[0] = "p = softmax(logits) at every position; at the last one:"
            lines.append(f"after the last input token the network expects {name(pred)} (p = {_f(p[pred])}); the "
                         f"actual next token is {name(k)} (p = {_f(p[k])})")
        else:
            lines.append(f"the network's guess: class {pred} with p = {_f(p[pred])}")
        if k is not None and self.probs.ndim == 2:
            lines.append(f"loss = −log p[{k}] = −log {_f(p[k])} = {_f(self.loss_before)}   (cross-entropy)")
        else:
            lines.append(f"loss = mean over positions of −log p[next token] = {_f(self.loss_before)}")
        return lines

    def _backward_lines(self) -> list[str]:
        lines = []
        if self.grad_logits is not None and self.probs is not None and self.probs.ndim == 2:
            k = self._target_class()
            lines.append(f"dL/dlogits = p − onehot({k}) = {_vec(self.grad_logits, n=10)}")
        for L in reversed(self.layers):
            if L.grad_output is None:
                continue
            g = L.grad_output
            lines.append(f"{L.name} ({L.type}): gradient arriving at its output dL/d{_sym(L)} = {_vec(g)}")
            W = L.params.get("weight")
            gW = L.param_grads.get("weight")
            if L.type == "Linear" and W is not None and gW is not None and L.input is not None and L.input.ndim == 2:
                j, i = numpy.unravel_index(int(numpy.argmax(numpy.abs(gW))), gW.shape)
                lines.append(f"   dL/dW = (dL/dz)ᵀ·x (x: the layer's input), shape {_shape(gW)}; "
                             f"e.g. dL/dW[{j},{i}] = dL/dz[{j}]·x[{i}] = "
                             f"{_p(g[0, j])}·{_p(L.input[0, i])} = {_f(gW[j, i])}")
                if "bias" in L.param_grads:
                    lines.append(f"   dL/db = dL/dz = {_vec(L.param_grads['bias'])}")
                lines.append("   and it passes dL/dx = dL/dz·W back to the layer before")
            elif L.type in ("ReLU", "ReLU6"):
                lines.append("   it passes dL/dz = dL/da · [z > 0] back: units that output 0 get no gradient")
            elif L.type in _ACT_TEXT:
                lines.append(f"   it passes dL/dz = dL/da · {_DERIV.get(L.type, 'f′(z)')} back")
            for k, gv in L.param_grads.items():
                if not (L.type == "Linear" and k in ("weight", "bias")):
                    lines.append(f"   dL/d{k}: shape {_shape(gv)}, norm {_f(_norm(gv))}")
        return lines

    def _update_lines(self) -> list[str]:
        lines = []
        for name, idx, before, grad, after in self.updates:
            where = f"{name}[{', '.join(map(str, idx))}]" if idx else name
            lines.append(f"{where}: {_f(before)} − {self.lr:g} × {_p(grad)} = {_f(after)}")
        lines.append("(every other weight moves the same way, by −lr times its own gradient)")
        return lines

    def _after_lines(self) -> list[str]:
        d = self.loss_after - self.loss_before
        # float32 rounding moves a loss by ~1e-7 relatively: below this it did not change, it did not "go up"
        unchanged = abs(d) <= max(_UNCHANGED_REL * abs(self.loss_before), _UNCHANGED_ABS)
        change = "unchanged" if unchanged else f"{'+' if d > 0 else '−'}{_f(abs(d))}"
        lines = [f"loss before the step: {_f(self.loss_before)}", f"loss after the step:  {_f(self.loss_after)}  "
                 f"({change})"]
        k = self._target_class()
        if self.probs is not None and self.probs_after is not None and k is not None and self.probs.ndim == 2:
            lines.append(f"p[{k}] (the true class): {_f(self.probs[0, k])} -> {_f(self.probs_after[0, k])}")
        if unchanged:
            lines.append("the loss is unchanged: the gradient (or the learning rate) is too small to move it "
                         "measurably on this example")
        elif d < 0:
            lines.append("a step against the gradient makes the loss on this example smaller "
                         "(when lr is small enough)")
        else:
            lines.append("the loss went up: the learning rate is too large for this step")
        return lines


_UNCHANGED_REL = 1e-6
_UNCHANGED_ABS = 1e-9
"""A loss change below max(rel·|loss|, abs) is reported as "unchanged" (float32 noise, a ~0 gradient)."""

_ACT_TEXT = {"ReLU": "activation a = max(0, z)", "ReLU6": "activation a = min(max(0, z), 6)",
             "Tanh": "activation a = tanh(z)", "Sigmoid": "activation a = 1 / (1 + e^−z)",
             "GELU": "activation a = z·Φ(z)", "SiLU": "activation a = z·sigmoid(z)",
             "LeakyReLU": "activation a = max(0, z) + slope·min(0, z)", "ELU": "activation a = z or e^z − 1",
             "Softplus": "activation a = log(1 + e^z)"}
_OTHER_TEXT = {
    "Flatten": "one flat vector per example,",
    "Dropout": "identity in eval mode (drops units only while training), output",
    "Standardize": "(x − mean) / std with the training set's statistics,",
    "Conv1d": "convolution: a weighted sum over each small window of every input channel, plus a bias, output",
    "Conv2d": "convolution: a weighted sum over each small window of every input channel, plus a bias, output",
    "MaxPool1d": "the largest value of each window, output", "MaxPool2d": "the largest value of each window, output",
    "AvgPool2d": "the mean of each window, output",
    "Embedding": "a learned vector looked up for each token id, output",
    "LayerNorm": "normalised to mean 0 and std 1 over the features, then scaled and shifted, output",
    "BatchNorm1d": "normalised with the running mean and std, then scaled and shifted, output",
    "BatchNorm2d": "normalised with the running mean and std, then scaled and shifted, output",
}
_DERIV = {"Tanh": "(1 − a²)", "Sigmoid": "a·(1 − a)"}


def _sym(L) -> str:
    return "a" if L.type in _ACT_TEXT else "z" if L.type == "Linear" else "out"


def _f(v) -> str:
    v = float(v)
    if v == 0:
        return "0"
    if not math.isfinite(v):
        return str(v)
    return f"{v:.4g}" if 1e-3 <= abs(v) < 1e4 else f"{v:.3e}"


def _p(v) -> str:
    """A number as a factor: negative ones in parentheses, so ``a·(−b)`` reads right."""
    text = _f(v)
    return f"({text})" if text.startswith("-") else text


def _shape(a) -> str:
    return "(" + ", ".join(str(d) for d in numpy.shape(a)) + ")"


def _vec(a, n: int = _SHOW) -> str:
    flat = numpy.asarray(a).reshape(-1)
    body = ", ".join(_f(v) for v in flat[:n])
    return f"[{body}{', ...' if flat.size > n else ''}]" + (f" ({flat.size} values)" if flat.size > n else "")


def _norm(a) -> float:
    return float(numpy.sqrt((numpy.asarray(a, dtype=numpy.float64) ** 2).sum()))


def _ascii_image(img: numpy.ndarray) -> list[str]:
    img = numpy.asarray(img, dtype=numpy.float64)
    if img.ndim == 3:
        img = img.mean(axis=0)
    if img.shape[0] > 32:  # keep the drawing terminal-sized
        step = math.ceil(img.shape[0] / 28)
        img = img[::step, ::step]
    lo, hi = img.min(), img.max()
    shades = " .:-=+*#%@"
    norm = (img - lo) / (hi - lo) if hi > lo else img * 0
    return ["|" + "".join(shades[min(9, int(v * 9.999))] * 2 for v in row) + "|" for row in norm]


# -------------------------------------------------------------------------- the step
def _leaf_modules(model) -> list[tuple[str, object]]:
    return [(n or type(m).__name__, m) for n, m in model.named_modules() if next(iter(m.children()), None) is None]


def explain_step(model, x, target, lr: float = 0.1, loss_fn=None, classes=None, image_shape=None,
                 title: str | None = None, notes=(), show_updates: int = 3, decode=None) -> Explanation:
    """Run one learning step of ``model`` on one example and record every number; the model is left unchanged.

    Args:
        model: any Module (run in eval mode for the step, then restored).
        x: one example with a batch dimension of 1 (Tensor or array), e.g. shape (1, 64).
        target: its target with a batch dimension of 1, e.g. ``[3]``.
        lr: the learning rate of the plain gradient descent update.
        loss_fn: ``loss_fn(output, target)`` (default cross-entropy; ``(1, T, V)`` outputs are flattened).
        classes, image_shape: for the text (class names; draw the input as an image).
        decode: for language models, ``decode(ids) -> str`` to show tokens as text.
        show_updates: weights shown per parameter tensor in the update section.
    """
    xt = x if isinstance(x, Tensor) else Tensor._wrap(numpy.ascontiguousarray(x))
    tt = target if isinstance(target, Tensor) else Tensor._wrap(numpy.ascontiguousarray(target))
    loss_fn = loss_fn or _default_loss
    params = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
    saved = {n: p._data.copy() for n, p in params}
    saved_grads = {n: p.grad for n, p in params}
    was_training = model.training
    model.eval()
    records: list[LayerStep] = []
    outputs: list = []
    calls: dict = {}

    def make_hook(name):
        def hook(module, args, output):
            if not isinstance(output, Tensor):
                return None
            calls[name] = calls.get(name, 0) + 1
            key = name if calls[name] == 1 else f"{name}#{calls[name]}"
            inp = args[0]._data.copy() if args and isinstance(args[0], Tensor) else None
            own = {k: v._data.copy() for k, v in module.named_parameters(recurse=False)}
            records.append(LayerStep(key, type(module).__name__, inp, output._data.copy(), params=own))
            outputs.append((output, module))
            if output.requires_grad:
                output.retain_grad()
            return None

        return hook

    handles = [m.register_forward_hook(make_hook(n)) for n, m in _leaf_modules(model)]
    try:
        for _, p in params:
            p.grad = None
        logits = model(xt)
        loss = loss_fn(logits, tt)
        loss_before = float(loss.item())
        for h in handles:
            h.remove()
        handles = []
        if logits.requires_grad:
            logits.retain_grad()
        loss.backward()
        for rec, (out, module) in zip(records, outputs):
            rec.grad_output = None if out.grad is None else out.grad._data.copy()
            rec.param_grads = {k: v.grad._data.copy() for k, v in module.named_parameters(recurse=False)
                               if v.grad is not None}
        logit_arr = logits._data.copy()
        probs = _softmax(logit_arr) if _is_classification(logit_arr, tt._data) else None
        grad_logits = None if logits.grad is None else logits.grad._data.copy()
        updates = []
        for n, p in params:
            if p.grad is None:
                continue
            g = p.grad._data
            before = p._data.copy()
            p._data -= (lr * g).astype(p._data.dtype)
            for flat in numpy.argsort(-numpy.abs(g).reshape(-1), kind="stable")[:show_updates]:
                idx = tuple(int(i) for i in numpy.unravel_index(int(flat), g.shape)) if g.ndim else ()
                updates.append((n, idx, float(before[idx]), float(g[idx]), float(p._data[idx])))
        from ..autograd.grad_mode import no_grad

        with no_grad():
            after = model(xt)
            loss_after = float(loss_fn(after, tt).item())
        probs_after = _softmax(after._data) if probs is not None else None
    finally:
        for h in handles:
            h.remove()
        for n, p in params:  # leave the model exactly as it came
            p._data[...] = saved[n]
            p.grad = saved_grads[n]
        model.train(was_training)
    return Explanation(title or "gradstep explain: one learning step on one example", xt._data.copy(),
                       tt._data.copy(), records, logit_arr, probs, loss_before, loss_after, probs_after, grad_logits,
                       float(lr), updates, classes=classes, image_shape=image_shape, notes=list(notes), decode=decode)


def _default_loss(output, target):
    if output.ndim == 3:  # (B, T, V) language-model logits
        return F.cross_entropy(output.reshape(-1, output.shape[-1]), target.reshape(-1))
    return F.cross_entropy(output, target)


def _is_classification(logits, target) -> bool:
    return logits.ndim >= 2 and logits.shape[-1] > 1 and numpy.asarray(target).dtype.kind in "iu"


def _softmax(z):
    z = z.astype(numpy.float64)
    e = numpy.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


# ------------------------------------------------------------------------ defaults
def tiny_model(seed: int = 0, hidden: int = 16):
    """The network ``gradstep explain`` uses with no arguments: 64 → ``hidden`` → ReLU → 10, seeded."""
    from .. import backend, nn

    backend.manual_seed(seed)
    return nn.Sequential(nn.Linear(64, hidden), nn.ReLU(), nn.Linear(hidden, 10))


def default_example(index: int = 0, split: str = "train"):
    """``(x (1, 64), target (1,), classes)``: one example of the bundled 8×8 digits."""
    from ..data import datasets

    ds = datasets.digits(split)
    if not -len(ds) <= index < len(ds):
        raise IndexOutOfRange(f"explain: --index {index} is out of range for the digits {split} split "
                              f"({len(ds)} examples)")
    x, y = ds.arrays[0][index], ds.arrays[1][index]
    return x[None].copy(), numpy.asarray([y], dtype=numpy.int64), list(ds.classes)
