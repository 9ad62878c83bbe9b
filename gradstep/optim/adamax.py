"""Adamax: Adam with the infinity norm of past gradients in place of their root mean square."""
from __future__ import annotations

from ..backend import xp
from .optimizer import Optimizer, apply_update, check_torch_flags, gather_grads
from ._moments import check_adam_group, lerp_


class Adamax(Optimizer):
    r"""Adamax, step for step as ``torch.optim.Adamax``.

    .. code-block:: text

        input: lr γ, betas (β1, β2), eps ε, weight_decay λ, maximize
        m_0 = 0, u_0 = 0
        for t = 1, 2, ...:
            g_t = ∇θ f(θ_{t-1})                (−∇ if maximize)
            if λ ≠ 0:  g_t = g_t + λ θ_{t-1}
            m_t = β1 m_{t-1} + (1 − β1) g_t
            u_t = max(β2 u_{t-1}, |g_t| + ε)
            θ_t = θ_{t-1} − γ / (1 − β1^t) · m_t / u_t

    Args:
        params: parameters or parameter groups.
        lr: learning rate γ (default 2e-3).
        betas: (β1, β2), decay rates of the running average of the gradient and of its infinity norm.
        eps: ε added to |g| for stability (default 1e-8).
        weight_decay: L2 penalty λ added to the gradient (default 0).
        maximize: maximize the objective instead of minimizing.
        foreach: accepted as in PyTorch; no effect on the results (gradstep always updates all
            parameters of a group at once on flat buffers).
        capturable, differentiable: only False; True raises NotSupported (no CUDA graphs, no
            differentiating through the step).

    State per parameter: ``step`` (float), ``exp_avg`` (m), ``exp_inf`` (u).
    """

    def __init__(self, params, lr: float = 2e-3, betas: tuple = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0.0, foreach: bool | None = None, *, maximize: bool = False,
                 differentiable: bool = False, capturable: bool = False):
        check_torch_flags("Adamax", capturable, differentiable)
        defaults = dict(lr=lr, betas=tuple(betas) if isinstance(betas, list) else betas, eps=eps,
                        weight_decay=weight_decay, maximize=maximize)
        super().__init__(params, defaults)

    def _check_group(self, group: dict) -> None:
        super()._check_group(group)
        check_adam_group("Adamax", group)

    def _update(self, group: dict, flat) -> None:
        lr, eps, wd = float(group["lr"]), float(group["eps"]), float(group["weight_decay"])
        beta1, beta2 = (float(b) for b in group["betas"])
        step = flat.advance()
        m, u = flat.slot("exp_avg"), flat.slot("exp_inf")
        clr = lr / (1 - beta1 ** step)
        flat.run(_adamax, (m, u, flat.temp(0), flat.temp(1)), beta1, beta2, eps, -clr, wd, group["maximize"])


def _adamax(segments, m, u, d, t, beta1, beta2, eps, scale, wd, maximize) -> None:
    """Adamax's elementwise update on a range of the flat buffers (see :meth:`_Flat.run`)."""
    gather_grads(segments, d, wd, maximize)  # d = ±g + λθ
    lerp_(m, d, t, 1.0 - beta1)             # m ← lerp(m, g, 1 − β1)
    u *= beta2
    xp.abs(d, out=t)
    t += eps
    xp.maximum(u, t, out=u)                 # u ← max(β2 u, |g| + ε)
    xp.multiply(m, scale, out=d)
    d /= u
    apply_update(segments, d)               # θ ← θ − γ/(1 − β1^t) · m / u
