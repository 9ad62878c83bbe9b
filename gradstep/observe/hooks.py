"""Activation capture: forward hooks on a model's layers, attached for one observed step only.

The hooks are registered just before an observed step and removed right
after it, so every other step runs the model's hook-free fast path and pays
nothing. While attached, each hook reduces the layer's output to a few numbers
at once (no activation is kept alive), and puts a gradient hook on that output
to measure the gradient arriving at the layer during backward.

Layers observed: every module with parameters of its own (Linear, Conv,
LayerNorm, Embedding, ...) and every activation module (ReLU, Tanh, GELU, ...);
containers, Dropout, Flatten and pooling are skipped. Names are the model's
``named_modules`` names (``"0"``, ``"blocks.1.fc1"``); a module called twice in
one forward gets ``name#2`` for its second call.
"""
from __future__ import annotations

import numpy

from ..autograd.tensor import Tensor
from .stats import activation_stats, kind_of, norm

__all__ = ["ActivationCapture", "observed_layers", "all_finite"]


def _is_activation(module) -> bool:
    return type(module).__module__.endswith("nn.activation") or kind_of(module) is not None


def observed_layers(model) -> list[tuple[str, object]]:
    """``(name, module)`` of the layers whose outputs are observed, in registration order."""
    layers = []
    for name, module in model.named_modules():
        own_params = next(iter(module.parameters(recurse=False)), None) is not None
        leaf = next(iter(module.children()), None) is None
        if own_params or (leaf and _is_activation(module)):
            layers.append((name or type(module).__name__, module))
    return layers


def _first_tensor(output):
    if isinstance(output, Tensor):
        return output
    if isinstance(output, (tuple, list)):
        return next((o for o in output if isinstance(o, Tensor)), None)
    return None


class ActivationCapture:
    """Attach with :meth:`attach`, run one step, read :attr:`stats`, :meth:`detach`.

    ``stats[name]`` holds ``type``, ``shape``, ``mean``, ``std``, ``dead`` or
    ``saturated`` where they apply, ``nonfinite`` (count of NaN/Inf values),
    and after backward ``grad_norm`` (norm of the gradient arriving at the output).
    """

    def __init__(self, model, grads: bool = True):
        self.layers = observed_layers(model)
        self.grads = grads
        self.stats: dict[str, dict] = {}
        self.batch_size: int | None = None
        self._handles: list = []
        self._calls: dict[str, int] = {}

    @property
    def attached(self) -> bool:
        return bool(self._handles)

    def attach(self) -> None:
        self.stats, self._calls, self.batch_size = {}, {}, None
        if self._handles:
            return
        for name, module in self.layers:
            self._handles.append(module.register_forward_hook(self._make_hook(name, kind_of(module))))

    def detach(self) -> None:
        for h in self._handles:
            h.remove()
        self._handles = []

    def _make_hook(self, name: str, kind: str | None):
        def hook(module, args, output):
            out = _first_tensor(output)
            if out is None:
                return None
            calls = self._calls.get(name, 0) + 1
            self._calls[name] = calls
            key = name if calls == 1 else f"{name}#{calls}"
            a = out._data
            if self.batch_size is None and a.ndim:
                self.batch_size = int(a.shape[0])
            if a.dtype.kind not in "fc":  # integer outputs (none among observed layers, but be safe)
                return None
            entry = {"type": type(module).__name__, "shape": list(a.shape)}
            finite = all_finite(a)
            entry["nonfinite"] = 0 if finite else int(a.size - numpy.isfinite(a).sum())
            entry.update(activation_stats(a, kind) if finite else {"mean": float("nan"), "std": float("nan")})
            self.stats[key] = entry
            if self.grads and out.requires_grad:
                out.register_hook(self._make_grad_hook(entry))
            return None

        return hook

    @staticmethod
    def _make_grad_hook(entry: dict):
        def grad_hook(grad):
            entry["grad_norm"] = norm(grad._data)
            return None

        return grad_hook


def all_finite(a: numpy.ndarray) -> bool:
    """True when no element is NaN or Inf (one float64 sum: no boolean temporary in the usual case)."""
    return bool(numpy.isfinite(a.sum(dtype=numpy.float64)))
