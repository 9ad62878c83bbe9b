"""RAdam: Adam whose adaptive step is switched on only once the variance of its estimate is bounded."""
from __future__ import annotations

from ..backend import xp
from .optimizer import Optimizer, check_torch_flags, gather_grads
from ._moments import add_square_, check_adam_group, decay_params, lerp_


class RAdam(Optimizer):
    r"""RAdam (rectified Adam), step for step as ``torch.optim.RAdam``.

    .. code-block:: text

        input: lr γ, betas (β1, β2), eps ε, weight_decay λ, decoupled_weight_decay, maximize
        m_0 = 0, v_0 = 0, ρ_∞ = 2 / (1 − β2) − 1
        for t = 1, 2, ...:
            g_t = ∇θ f(θ_{t-1})                (−∇ if maximize)
            if λ ≠ 0:  g_t = g_t + λ θ_{t-1}   (decoupled instead: θ_{t-1} = θ_{t-1} (1 − γ λ))
            m_t = β1 m_{t-1} + (1 − β1) g_t
            v_t = β2 v_{t-1} + (1 − β2) g_t²
            m̂ = m_t / (1 − β1^t)
            ρ_t = ρ_∞ − 2 t β2^t / (1 − β2^t)
            if ρ_t > 5:
                r_t = √((ρ_t − 4)(ρ_t − 2) ρ_∞ / ((ρ_∞ − 4)(ρ_∞ − 2) ρ_t))
                θ_t = θ_{t-1} − γ m̂ · √(1 − β2^t) / (√v_t + ε) · r_t
            else:                              (the first few steps: plain momentum SGD)
                θ_t = θ_{t-1} − γ m̂

    Args:
        params: parameters or parameter groups.
        lr: learning rate γ (default 1e-3).
        betas: (β1, β2), decay rates of the running averages of the gradient and its square.
        eps: ε added to the denominator for stability (default 1e-8).
        weight_decay: weight decay λ (default 0).
        decoupled_weight_decay: shrink the parameters directly (as AdamW) instead of adding λθ
            to the gradient (RAdamW).
        maximize: maximize the objective instead of minimizing.
        foreach: accepted as in PyTorch; no effect on the results (gradstep always updates all
            parameters of a group at once on flat buffers).
        capturable, differentiable: only False; True raises NotSupported (no CUDA graphs, no
            differentiating through the step).

    State per parameter: ``step`` (float), ``exp_avg`` (m), ``exp_avg_sq`` (v).
    """

    def __init__(self, params, lr: float = 1e-3, betas: tuple = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0.0, decoupled_weight_decay: bool = False, *, foreach: bool | None = None,
                 maximize: bool = False, capturable: bool = False, differentiable: bool = False):
        check_torch_flags("RAdam", capturable, differentiable)
        defaults = dict(lr=lr, betas=tuple(betas) if isinstance(betas, list) else betas, eps=eps,
                        weight_decay=weight_decay, maximize=maximize, decoupled_weight_decay=decoupled_weight_decay)
        super().__init__(params, defaults)

    def _check_group(self, group: dict) -> None:
        super()._check_group(group)
        check_adam_group("RAdam", group)

    def _update(self, group: dict, flat) -> None:
        lr, eps, wd = float(group["lr"]), float(group["eps"]), float(group["weight_decay"])
        beta1, beta2 = (float(b) for b in group["betas"])
        step = flat.advance()
        m, v = flat.slot("exp_avg"), flat.slot("exp_avg_sq")
        bias_correction1 = 1 - beta1 ** step
        bias_correction2 = 1 - beta2 ** step
        rho_inf = 2 / (1 - beta2) - 1
        rho_t = rho_inf - 2 * step * (beta2 ** step) / bias_correction2
        rect = None
        if rho_t > 5.0:
            rect = ((rho_t - 4) * (rho_t - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho_t)) ** 0.5
        decoupled = bool(group["decoupled_weight_decay"])
        l2, decay = (0.0, 1.0 - lr * wd) if decoupled else (wd, 1.0)
        flat.run(_radam, (m, v, flat.temp(0), flat.temp(1)), lr, beta1, beta2, eps, bias_correction1,
                 bias_correction2 ** 0.5, rect, l2, decay, group["maximize"])


def _radam(segments, m, v, d, t, lr, beta1, beta2, eps, bias_correction1, bias_correction2_sqrt, rect, l2, decay,
           maximize) -> None:
    """RAdam's elementwise update on a range of the flat buffers (see :meth:`_Flat.run`)."""
    gather_grads(segments, d, l2, maximize)  # d = ±g + λθ
    decay_params(segments, decay)           # decoupled: θ ← θ (1 − γλ)
    lerp_(m, d, t, 1.0 - beta1)             # m ← lerp(m, g, 1 − β1)
    add_square_(v, d, t, beta2)             # v ← β2 v + (1 − β2) g²
    xp.divide(m, bias_correction1, out=d)
    d *= lr                                 # γ m̂
    if rect is not None:
        xp.sqrt(v, out=t)
        t += eps
        xp.reciprocal(t, out=t)
        t *= bias_correction2_sqrt          # adaptive lr √(1 − β2^t) / (√v + ε)
        d *= t
        d *= rect
    for p, _, i in segments:
        p -= d[i]
