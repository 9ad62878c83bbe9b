"""RMSprop: divide the gradient by a running root mean square of recent gradients."""
from __future__ import annotations

from ..backend import xp
from .optimizer import Optimizer, apply_update, check_number, check_torch_flags, gather_grads


class RMSprop(Optimizer):
    r"""RMSprop, step for step as ``torch.optim.RMSprop``.

    .. code-block:: text

        input: lr γ, alpha α, eps ε, weight_decay λ, momentum μ, centered, maximize
        v_0 = 0, b_0 = 0, g_avg_0 = 0
        for t = 1, 2, ...:
            g_t = ∇θ f(θ_{t-1})                 (−∇ if maximize)
            if λ ≠ 0:  g_t = g_t + λ θ_{t-1}
            v_t = α v_{t-1} + (1 − α) g_t²
            if centered:
                g_avg_t = α g_avg_{t-1} + (1 − α) g_t
                a = √(v_t − g_avg_t²) + ε
            else:
                a = √v_t + ε
            if μ > 0:
                b_t = μ b_{t-1} + g_t / a
                θ_t = θ_{t-1} − γ b_t
            else:
                θ_t = θ_{t-1} − γ g_t / a

    Args:
        params: parameters or parameter groups.
        lr: learning rate γ (default 1e-2).
        alpha: smoothing constant α (default 0.99).
        eps: ε added to the denominator (default 1e-8).
        weight_decay: L2 penalty λ (default 0).
        momentum: momentum factor μ (default 0).
        centered: normalize by an estimate of the gradient's variance instead of its second moment.
        maximize: maximize the objective instead of minimizing.
        foreach: accepted as in PyTorch; no effect on the results (gradstep always updates all
            parameters of a group at once on flat buffers).
        capturable, differentiable: only False; True raises NotSupported (no CUDA graphs, no
            differentiating through the step).

    State per parameter: ``step``, ``square_avg`` (v), ``momentum_buffer`` (if μ > 0),
    ``grad_avg`` (if centered).
    """

    def __init__(self, params, lr: float = 1e-2, alpha: float = 0.99, eps: float = 1e-8,
                 weight_decay: float = 0.0, momentum: float = 0.0, centered: bool = False,
                 capturable: bool = False, foreach: bool | None = None, maximize: bool = False,
                 differentiable: bool = False):
        check_torch_flags("RMSprop", capturable, differentiable)
        defaults = dict(lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay, momentum=momentum,
                        centered=centered, maximize=maximize)
        super().__init__(params, defaults)

    def _check_group(self, group: dict) -> None:
        super()._check_group(group)
        check_number("RMSprop", "eps", group["eps"], what="epsilon value")
        check_number("RMSprop", "momentum", group["momentum"], what="momentum value")
        check_number("RMSprop", "weight_decay", group["weight_decay"], what="weight_decay value")
        check_number("RMSprop", "alpha", group["alpha"], what="alpha value")

    def _update(self, group: dict, flat) -> None:
        lr, alpha, eps, wd = (float(group[k]) for k in ("lr", "alpha", "eps", "weight_decay"))
        momentum = float(group["momentum"])
        flat.advance()
        square_avg = flat.slot("square_avg")
        buf = flat.slot("momentum_buffer") if momentum > 0 else None
        grad_avg = flat.slot("grad_avg") if group["centered"] else None
        flat.run(_rmsprop, (flat.temp(0), flat.temp(1), square_avg, grad_avg, buf), lr, alpha, eps, wd, momentum,
                 group["maximize"])


def _rmsprop(segments, d, t, square_avg, grad_avg, buf, lr, alpha, eps, wd, momentum, maximize) -> None:
    """RMSprop's elementwise update on a range of the flat buffers (see :meth:`_Flat.run`)."""
    gather_grads(segments, d, wd, maximize)  # d = ±g + λθ
    square_avg *= alpha
    xp.multiply(d, d, out=t)
    t *= 1 - alpha
    square_avg += t                         # v ← α v + (1 − α) g²
    if grad_avg is not None:
        xp.subtract(d, grad_avg, out=t)
        t *= 1 - alpha
        grad_avg += t                       # g_avg ← lerp(g_avg, g, 1 − α)
        xp.multiply(grad_avg, grad_avg, out=t)
        xp.subtract(square_avg, t, out=t)
        xp.sqrt(t, out=t)
    else:
        xp.sqrt(square_avg, out=t)
    t += eps
    d /= t                                  # g / a
    if buf is not None:
        buf *= momentum
        buf += d
        xp.multiply(buf, -lr, out=d)
    else:
        d *= -lr
    apply_update(segments, d)
