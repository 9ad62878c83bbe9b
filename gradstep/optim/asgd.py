"""ASGD: SGD with a decaying step size that also keeps a running average of the iterates."""
from __future__ import annotations

from ..backend import default_dtype, xp
from .optimizer import Optimizer, apply_update, check_number, check_torch_flags, gather_grads


class ASGD(Optimizer):
    r"""Averaged stochastic gradient descent, step for step as ``torch.optim.ASGD``.

    The parameters follow SGD with the step size η_t; ``state[p]["ax"]`` holds
    the average of the iterates from step ``t0`` on (before that, the last
    iterate), the estimate the method is named for.

    .. code-block:: text

        input: lr γ, lambd λ, alpha α, t0, weight_decay w, maximize
        η_0 = γ, μ_0 = 1, ax_0 = 0
        for t = 1, 2, ...:
            g_t = ∇θ f(θ_{t-1})                (−∇ if maximize)
            if w ≠ 0:  g_t = g_t + w θ_{t-1}
            θ_t = θ_{t-1} (1 − λ η_{t-1}) − η_{t-1} g_t
            ax_t = ax_{t-1} + μ_{t-1} (θ_t − ax_{t-1})     (= θ_t while μ = 1)
            η_t = γ / (1 + λ γ t)^α
            μ_t = 1 / max(1, t − t0)

    Args:
        params: parameters or parameter groups.
        lr: learning rate γ (default 1e-2).
        lambd: decay term λ (default 1e-4).
        alpha: power α of the step-size decay (default 0.75).
        t0: the step from which the iterates are averaged (default 1e6).
        weight_decay: L2 penalty w (default 0).
        maximize: maximize the objective instead of minimizing.
        foreach: accepted as in PyTorch; no effect on the results (gradstep always updates all
            parameters of a group at once on flat buffers).
        capturable, differentiable: only False; True raises NotSupported (no CUDA graphs, no
            differentiating through the step).

    State per parameter: ``step`` (float), ``eta`` (η) and ``mu`` (μ) (floats rounded like
    PyTorch's scalar tensors: float32 unless float64 is the default dtype), ``ax`` (the average).
    """

    def __init__(self, params, lr: float = 1e-2, lambd: float = 1e-4, alpha: float = 0.75, t0: float = 1e6,
                 weight_decay: float = 0, foreach: bool | None = None, maximize: bool = False,
                 differentiable: bool = False, capturable: bool = False):
        check_torch_flags("ASGD", capturable, differentiable)
        defaults = dict(lr=lr, lambd=lambd, alpha=alpha, t0=t0, weight_decay=weight_decay, maximize=maximize)
        super().__init__(params, defaults)

    def _check_group(self, group: dict) -> None:
        super()._check_group(group)
        check_number("ASGD", "weight_decay", group["weight_decay"], what="weight_decay value")

    def _phase(self, state: dict):
        # Parameters updated together must share η and μ as well as the step count.
        return state.get("step", 0.0), float(state.get("eta", -1.0)), float(state.get("mu", 1.0))

    def _update(self, group: dict, flat) -> None:
        lr, lambd, alpha, t0, wd = (float(group[k]) for k in ("lr", "lambd", "alpha", "t0", "weight_decay"))
        # PyTorch keeps η and μ in scalar tensors of its default dtype (float32 unless float64 is the default).
        scalar = xp.float64 if default_dtype() == xp.float64 else xp.float32
        step = flat.advance()
        if "eta" not in flat.states[0]:  # new state, in PyTorch's key order: step, eta, mu, ax
            for state in flat.states:
                state["eta"], state["mu"] = float(scalar(lr)), 1.0
        eta, mu = float(flat.states[0]["eta"]), float(flat.states[0]["mu"])
        ax = flat.slot("ax")
        flat.run(_asgd, (ax, flat.temp(0), flat.temp(1)), 1.0 - lambd * eta, -eta, mu, wd, group["maximize"])
        eta_next = float(scalar(lr / ((1.0 + lambd * lr * step) ** alpha)))
        mu_next = float(scalar(1.0 / max(1.0, step - t0)))
        for state in flat.states:
            state["eta"], state["mu"] = eta_next, mu_next


def _asgd(segments, ax, d, t, decay, scale, mu, wd, maximize) -> None:
    """ASGD's elementwise update on a range of the flat buffers (see :meth:`_Flat.run`)."""
    gather_grads(segments, d, wd, maximize)  # d = ±g + wθ
    d *= scale
    for p, _, i in segments:
        p *= decay                          # θ ← θ (1 − λη)
    apply_update(segments, d)               # θ ← θ − η g
    for p, _, i in segments:
        a = ax[i]
        if mu != 1.0:
            xp.subtract(p, a, out=t[i])
            t[i] *= mu
            a += t[i]                       # ax ← ax + μ (θ − ax)
        else:
            xp.copyto(a, p)                 # ax ← θ
