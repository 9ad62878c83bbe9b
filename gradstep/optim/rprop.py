"""Rprop: per-weight step sizes that grow while the gradient keeps its sign and shrink when it flips."""
from __future__ import annotations

import numbers

from ..backend import xp
from ..errors import ArgumentTypeError, InvalidArgument
from .optimizer import Optimizer, apply_update, check_torch_flags, gather_grads


class Rprop(Optimizer):
    r"""Resilient backpropagation, step for step as ``torch.optim.Rprop``.

    Only the sign of the gradient is used; each weight has its own step size.

    .. code-block:: text

        input: lr γ, etas (η−, η+), step_sizes (Γmin, Γmax), maximize
        g_prev = 0, η_0 = γ (every weight)
        for t = 1, 2, ...:
            g_t = ∇θ f(θ_{t-1})                (−∇ if maximize)
            for each weight i:
                if g_prev^i g_t^i > 0:  η_t^i = min(η_{t-1}^i η+, Γmax)
                elif g_prev^i g_t^i < 0:  η_t^i = max(η_{t-1}^i η−, Γmin);  g_t^i = 0
                else:  η_t^i = η_{t-1}^i
            θ_t = θ_{t-1} − η_t sign(g_t)
            g_prev = g_t

    Args:
        params: parameters or parameter groups.
        lr: learning rate γ, the initial step size of every weight (default 1e-2). As in
            PyTorch it is read once, when a parameter's state is created: changing it later
            (e.g. with a scheduler) does not change the step sizes already in the state.
        etas: (η−, η+), the factors that shrink and grow the step sizes, 0 < η− < 1 < η+
            (default (0.5, 1.2)).
        step_sizes: (Γmin, Γmax), the bounds of the step sizes (default (1e-6, 50)).
        maximize: maximize the objective instead of minimizing.
        foreach: accepted as in PyTorch; no effect on the results (gradstep always updates all
            parameters of a group at once on flat buffers).
        capturable, differentiable: only False; True raises NotSupported (no CUDA graphs, no
            differentiating through the step).

    State per parameter: ``step`` (float), ``prev`` (g_prev, the previous gradient with the
    flipped entries zeroed), ``step_size`` (η).
    """

    def __init__(self, params, lr: float = 1e-2, etas: tuple = (0.5, 1.2), step_sizes: tuple = (1e-6, 50), *,
                 capturable: bool = False, foreach: bool | None = None, maximize: bool = False,
                 differentiable: bool = False):
        check_torch_flags("Rprop", capturable, differentiable)
        defaults = dict(lr=lr, etas=tuple(etas) if isinstance(etas, list) else etas,
                        step_sizes=tuple(step_sizes) if isinstance(step_sizes, list) else step_sizes,
                        maximize=maximize)
        super().__init__(params, defaults)

    def _check_group(self, group: dict) -> None:
        super()._check_group(group)
        etaminus, etaplus = _pair("etas", group["etas"])
        if not 0.0 < etaminus < 1.0 < etaplus:
            raise InvalidArgument(f"Rprop: invalid eta values: {etaminus}, {etaplus}; expected "
                                  f"0 < etas[0] < 1 < etas[1]")
        _pair("step_sizes", group["step_sizes"])

    def _update(self, group: dict, flat) -> None:
        etaminus, etaplus = (float(e) for e in group["etas"])
        lo, hi = (float(s) for s in group["step_sizes"])
        flat.advance()
        prev = flat.slot("prev")
        step_size = flat.slot("step_size", fill=float(group["lr"]))  # new states start at lr, as torch's full_like
        flat.run(_rprop, (prev, step_size, flat.temp(0), flat.temp(1)), etaminus, etaplus, lo, hi,
                 group["maximize"])


def _pair(name: str, value) -> tuple:
    if not isinstance(value, (tuple, list)) or len(value) != 2:
        raise ArgumentTypeError(f"Rprop: {name} must be a pair of numbers, got {name}={value!r}")
    for i, v in enumerate(value):
        if isinstance(v, bool) or not isinstance(v, numbers.Real):
            raise ArgumentTypeError(f"Rprop: {name}[{i}] must be a real number, got {v!r} ({type(v).__name__})")
    return float(value[0]), float(value[1])


def _rprop(segments, prev, step_size, g, s, etaminus, etaplus, lo, hi, maximize) -> None:
    """Rprop's elementwise update on a range of the flat buffers (see :meth:`_Flat.run`)."""
    gather_grads(segments, g, 0.0, maximize)  # g = ±∇
    # PyTorch's sequence: sign(g · g_prev) in the parameter's dtype (a product that underflows to 0
    # counts as 0), then > 0 → η+, < 0 → η−, 0 → 1 (NaN stays NaN).
    xp.multiply(g, prev, out=s)
    xp.sign(s, out=s)
    xp.copyto(s, s.dtype.type(etaplus), where=s > 0)
    xp.copyto(s, s.dtype.type(etaminus), where=s < 0)
    xp.copyto(s, s.dtype.type(1.0), where=s == 0)
    step_size *= s
    xp.clip(step_size, lo, hi, out=step_size)      # η ← clamp(η · factor, Γmin, Γmax)
    xp.copyto(g, s.dtype.type(0.0), where=s == s.dtype.type(etaminus))  # a flipped sign: no step, forget g
    xp.copyto(prev, g)                             # g_prev ← g
    xp.sign(g, out=g)
    g *= step_size
    g *= -1
    apply_update(segments, g)                      # θ ← θ − η sign(g)
