"""Adadelta: steps scaled by the ratio of running RMS of past updates to running RMS of gradients."""
from __future__ import annotations

from ..backend import xp
from ..errors import InvalidArgument
from .optimizer import Optimizer, apply_update, check_number, check_torch_flags, gather_grads
from ._moments import add_square_


class Adadelta(Optimizer):
    r"""Adadelta, step for step as ``torch.optim.Adadelta``.

    .. code-block:: text

        input: lr γ, rho ρ, eps ε, weight_decay λ, maximize
        v_0 = 0 (square_avg), u_0 = 0 (acc_delta)
        for t = 1, 2, ...:
            g_t = ∇θ f(θ_{t-1})                (−∇ if maximize)
            if λ ≠ 0:  g_t = g_t + λ θ_{t-1}
            v_t = ρ v_{t-1} + (1 − ρ) g_t²
            Δ_t = √(u_{t-1} + ε) / √(v_t + ε) · g_t
            u_t = ρ u_{t-1} + (1 − ρ) Δ_t²
            θ_t = θ_{t-1} − γ Δ_t

    Args:
        params: parameters or parameter groups.
        lr: coefficient γ that scales Δ before it is applied (default 1.0).
        rho: ρ in [0, 1], decay rate of both running averages (default 0.9).
        eps: ε added inside the square roots for stability (default 1e-6).
        weight_decay: L2 penalty λ added to the gradient (default 0).
        maximize: maximize the objective instead of minimizing.
        foreach: accepted as in PyTorch; no effect on the results (gradstep always updates all
            parameters of a group at once on flat buffers).
        capturable, differentiable: only False; True raises NotSupported (no CUDA graphs, no
            differentiating through the step).

    State per parameter: ``step`` (float), ``square_avg`` (v), ``acc_delta`` (u).
    """

    def __init__(self, params, lr: float = 1.0, rho: float = 0.9, eps: float = 1e-6, weight_decay: float = 0.0,
                 foreach: bool | None = None, *, capturable: bool = False, maximize: bool = False,
                 differentiable: bool = False):
        check_torch_flags("Adadelta", capturable, differentiable)
        defaults = dict(lr=lr, rho=rho, eps=eps, weight_decay=weight_decay, maximize=maximize)
        super().__init__(params, defaults)

    def _check_group(self, group: dict) -> None:
        super()._check_group(group)
        rho = group["rho"]
        check_number("Adadelta", "rho", rho, what="rho value")
        if rho > 1.0:
            raise InvalidArgument(f"Adadelta: invalid rho value: rho={rho!r}; expected a number in [0.0, 1.0]")
        check_number("Adadelta", "eps", group["eps"], what="epsilon value")
        check_number("Adadelta", "weight_decay", group["weight_decay"], what="weight_decay value")

    def _update(self, group: dict, flat) -> None:
        lr, rho, eps, wd = (float(group[k]) for k in ("lr", "rho", "eps", "weight_decay"))
        flat.advance()
        square_avg, acc_delta = flat.slot("square_avg"), flat.slot("acc_delta")
        flat.run(_adadelta, (square_avg, acc_delta, flat.temp(0), flat.temp(1), flat.temp(2)), lr, rho, eps, wd,
                 group["maximize"])


def _adadelta(segments, square_avg, acc_delta, d, t, delta, lr, rho, eps, wd, maximize) -> None:
    """Adadelta's elementwise update on a range of the flat buffers (see :meth:`_Flat.run`)."""
    gather_grads(segments, d, wd, maximize)  # d = ±g + λθ
    add_square_(square_avg, d, t, rho)      # v ← ρ v + (1 − ρ) g²
    xp.add(square_avg, eps, out=t)
    xp.sqrt(t, out=t)                       # std = √(v + ε)
    xp.add(acc_delta, eps, out=delta)
    xp.sqrt(delta, out=delta)
    delta /= t
    delta *= d                              # Δ = √(u + ε) / std · g
    add_square_(acc_delta, delta, t, rho)   # u ← ρ u + (1 − ρ) Δ²
    delta *= -lr
    apply_update(segments, delta)           # θ ← θ − γ Δ
