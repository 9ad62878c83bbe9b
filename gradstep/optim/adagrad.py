"""Adagrad: per-coordinate learning rates from the sum of squared gradients."""
from __future__ import annotations

from ..backend import xp
from .optimizer import Optimizer, apply_update, check_number, check_torch_flags, gather_grads


class Adagrad(Optimizer):
    r"""Adagrad, step for step as ``torch.optim.Adagrad``.

    .. code-block:: text

        input: lr γ, lr_decay η, weight_decay λ, initial_accumulator_value s_0, eps ε, maximize
        for t = 1, 2, ...:
            g_t = ∇θ f(θ_{t-1})                 (−∇ if maximize)
            if λ ≠ 0:  g_t = g_t + λ θ_{t-1}
            γ_t = γ / (1 + (t − 1) η)
            s_t = s_{t-1} + g_t²
            θ_t = θ_{t-1} − γ_t g_t / (√s_t + ε)

    Args:
        params: parameters or parameter groups.
        lr: learning rate γ (default 1e-2).
        lr_decay: learning rate decay η (default 0).
        weight_decay: L2 penalty λ (default 0).
        initial_accumulator_value: starting value s_0 of the sums (default 0).
        eps: ε added to the denominator (default 1e-10).
        maximize: maximize the objective instead of minimizing.
        foreach, fused: accepted as in PyTorch; no effect on the results (gradstep always updates all
            parameters of a group at once on flat buffers).
        differentiable: only False; True raises NotSupported (differentiating through the step is
            not available).

    State per parameter (created with the optimizer, as in PyTorch): ``step``, ``sum`` (s).
    """

    def __init__(self, params, lr: float = 1e-2, lr_decay: float = 0.0, weight_decay: float = 0.0,
                 initial_accumulator_value: float = 0.0, eps: float = 1e-10, foreach: bool | None = None, *,
                 maximize: bool = False, differentiable: bool = False, fused: bool | None = None):
        check_torch_flags("Adagrad", differentiable=differentiable)
        defaults = dict(lr=lr, lr_decay=lr_decay, weight_decay=weight_decay,
                        initial_accumulator_value=initial_accumulator_value, eps=eps, maximize=maximize)
        super().__init__(params, defaults)

    def _check_group(self, group: dict) -> None:
        super()._check_group(group)
        check_number("Adagrad", "lr_decay", group["lr_decay"], what="lr_decay value")
        check_number("Adagrad", "weight_decay", group["weight_decay"], what="weight_decay value")
        check_number("Adagrad", "initial_accumulator_value", group["initial_accumulator_value"],
                     what="initial_accumulator_value value")
        check_number("Adagrad", "eps", group["eps"], what="epsilon value")

    def _init_group_state(self, group: dict) -> None:
        for p in group["params"]:
            state = self.state[p]
            if not state:
                state["step"] = 0.0
                state["sum"] = xp.full(p._data.shape, group["initial_accumulator_value"], dtype=p._data.dtype)

    def _update(self, group: dict, flat) -> None:
        lr, eps = float(group["lr"]), float(group["eps"])
        step = flat.advance()
        total = flat.slot("sum", fill=group["initial_accumulator_value"])
        clr = lr / (1 + (step - 1) * float(group["lr_decay"]))
        flat.run(_adagrad, (flat.temp(0), flat.temp(1), total), clr, eps, float(group["weight_decay"]),
                 group["maximize"])


def _adagrad(segments, d, t, total, clr, eps, wd, maximize) -> None:
    """Adagrad's elementwise update on a range of the flat buffers (see :meth:`_Flat.run`)."""
    gather_grads(segments, d, wd, maximize)  # d = ±g + λθ
    xp.multiply(d, d, out=t)
    total += t                              # s ← s + g²
    xp.sqrt(total, out=t)
    t += eps
    d /= t
    d *= -clr
    apply_update(segments, d)
