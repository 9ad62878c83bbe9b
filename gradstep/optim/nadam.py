"""NAdam: Adam with Nesterov momentum (and a momentum schedule)."""
from __future__ import annotations

from ..backend import default_dtype, xp
from .optimizer import Optimizer, apply_update, check_number, check_torch_flags, gather_grads
from ._moments import add_square_, check_adam_group, decay_params, lerp_


class NAdam(Optimizer):
    r"""NAdam, step for step as ``torch.optim.NAdam``.

    .. code-block:: text

        input: lr γ, betas (β1, β2), eps ε, weight_decay λ, momentum_decay ψ,
               decoupled_weight_decay, maximize
        m_0 = 0, v_0 = 0, μ-product Π_0 = 1
        for t = 1, 2, ...:
            g_t = ∇θ f(θ_{t-1})                (−∇ if maximize)
            if λ ≠ 0:  g_t = g_t + λ θ_{t-1}   (decoupled instead: θ_{t-1} = θ_{t-1} (1 − γ λ))
            μ_t = β1 (1 − ½ · 0.96^(t ψ)),  μ_{t+1} = β1 (1 − ½ · 0.96^((t+1) ψ))
            Π_t = Π_{t-1} μ_t
            m_t = β1 m_{t-1} + (1 − β1) g_t
            v_t = β2 v_{t-1} + (1 − β2) g_t²
            d = √(v_t / (1 − β2^t)) + ε
            θ_t = θ_{t-1} − γ (1 − μ_t) / (1 − Π_t) · g_t / d − γ μ_{t+1} / (1 − Π_t μ_{t+1}) · m_t / d

    Args:
        params: parameters or parameter groups.
        lr: learning rate γ (default 2e-3).
        betas: (β1, β2), decay rates of the running averages of the gradient and its square.
        eps: ε added to the denominator for stability (default 1e-8).
        weight_decay: weight decay λ (default 0).
        momentum_decay: ψ, how fast the momentum μ_t rises to β1 (default 4e-3).
        decoupled_weight_decay: shrink the parameters directly (as AdamW) instead of adding λθ
            to the gradient (NAdamW).
        maximize: maximize the objective instead of minimizing.
        foreach: accepted as in PyTorch; no effect on the results (gradstep always updates all
            parameters of a group at once on flat buffers).
        capturable, differentiable: only False; True raises NotSupported (no CUDA graphs, no
            differentiating through the step).

    State per parameter: ``step`` (float), ``mu_product`` (Π, a float rounded like
    PyTorch's float32 scalar), ``exp_avg`` (m), ``exp_avg_sq`` (v).
    """

    def __init__(self, params, lr: float = 2e-3, betas: tuple = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0.0, momentum_decay: float = 4e-3, decoupled_weight_decay: bool = False,
                 *, foreach: bool | None = None, maximize: bool = False, capturable: bool = False,
                 differentiable: bool = False):
        check_torch_flags("NAdam", capturable, differentiable)
        defaults = dict(lr=lr, betas=tuple(betas) if isinstance(betas, list) else betas, eps=eps,
                        weight_decay=weight_decay, momentum_decay=momentum_decay,
                        decoupled_weight_decay=decoupled_weight_decay, maximize=maximize)
        super().__init__(params, defaults)

    def _check_group(self, group: dict) -> None:
        super()._check_group(group)
        check_adam_group("NAdam", group)
        check_number("NAdam", "momentum_decay", group["momentum_decay"], what="momentum_decay value")

    def _phase(self, state: dict):
        # Parameters updated together must share Π as well as the step count.
        return state.get("step", 0.0), float(state.get("mu_product", 1.0))

    def _update(self, group: dict, flat) -> None:
        lr, eps, wd = float(group["lr"]), float(group["eps"]), float(group["weight_decay"])
        beta1, beta2 = (float(b) for b in group["betas"])
        psi = float(group["momentum_decay"])
        step = flat.advance()
        mu = beta1 * (1.0 - 0.5 * (0.96 ** (step * psi)))
        mu_next = beta1 * (1.0 - 0.5 * (0.96 ** ((step + 1) * psi)))
        # PyTorch keeps Π in a scalar tensor of its default dtype (float32 unless float64 is the default).
        scalar = xp.float64 if default_dtype() == xp.float64 else xp.float32
        mu_product = float(scalar(float(flat.states[0].get("mu_product", 1.0))) * scalar(mu))
        for state in flat.states:
            state["mu_product"] = mu_product
        m, v = flat.slot("exp_avg"), flat.slot("exp_avg_sq")
        decoupled = bool(group["decoupled_weight_decay"])
        l2, decay = (0.0, 1.0 - lr * wd) if decoupled else (wd, 1.0)
        grad_scale = -lr * (1.0 - mu) / (1.0 - mu_product)
        avg_scale = (-lr * mu_next) / (1.0 - mu_product * mu_next)
        flat.run(_nadam, (m, v, flat.temp(0), flat.temp(1)), beta1, beta2, 1.0 - beta2 ** step, eps,
                 grad_scale, avg_scale, l2, decay, group["maximize"])


def _nadam(segments, m, v, d, t, beta1, beta2, bias_correction2, eps, grad_scale, avg_scale, l2, decay,
           maximize) -> None:
    """NAdam's elementwise update on a range of the flat buffers (see :meth:`_Flat.run`)."""
    gather_grads(segments, d, l2, maximize)  # d = ±g + λθ
    decay_params(segments, decay)           # decoupled: θ ← θ (1 − γλ)
    lerp_(m, d, t, 1.0 - beta1)             # m ← lerp(m, g, 1 − β1)
    add_square_(v, d, t, beta2)             # v ← β2 v + (1 − β2) g²
    xp.divide(v, bias_correction2, out=t)
    xp.sqrt(t, out=t)
    t += eps                                # denominator √(v / (1 − β2^t)) + ε
    d *= grad_scale
    d /= t
    apply_update(segments, d)               # θ ← θ − γ(1 − μ_t)/(1 − Π_t) · g / denom
    xp.multiply(m, avg_scale, out=d)
    d /= t
    apply_update(segments, d)               # θ ← θ − γ μ_{t+1}/(1 − Π_{t+1}) · m / denom
