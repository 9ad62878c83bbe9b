"""Stochastic gradient descent, with momentum, Nesterov momentum and weight decay."""
from __future__ import annotations

from ..backend import xp
from .optimizer import Optimizer, check_number


class SGD(Optimizer):
    r"""Stochastic gradient descent (optionally with momentum), step for step as ``torch.optim.SGD``.

    .. code-block:: text

        input: lr γ, params θ, momentum μ, dampening τ, weight_decay λ, nesterov, maximize
        for t = 1, 2, ...:
            g_t = ∇θ f(θ_{t-1})              (−∇ if maximize)
            if λ ≠ 0:  g_t = g_t + λ θ_{t-1}
            if μ ≠ 0:
                b_t = g_t                      if t = 1
                b_t = μ b_{t-1} + (1 − τ) g_t  otherwise
                g_t = g_t + μ b_t  if nesterov  else  b_t
            θ_t = θ_{t-1} − γ g_t

    Args:
        params: parameters or parameter groups.
        lr: learning rate (default 1e-3).
        momentum: momentum factor μ (default 0).
        dampening: dampening τ of the momentum (default 0).
        weight_decay: L2 penalty λ (default 0).
        nesterov: use Nesterov momentum (needs momentum > 0 and dampening = 0).
        maximize: maximize the objective instead of minimizing.

    State per parameter: ``momentum_buffer`` (when momentum ≠ 0).

    Example:
        >>> import gradstep as gs
        >>> w = gs.tensor([1.0, 2.0], requires_grad=True)
        >>> opt = SGD([w], lr=0.1)
        >>> (w * w).sum().backward()
        >>> opt.step()
        >>> w
        tensor([0.8, 1.6], requires_grad=True)
    """

    def __init__(self, params, lr: float = 1e-3, momentum: float = 0.0, dampening: float = 0.0,
                 weight_decay: float = 0.0, nesterov: bool = False, *, maximize: bool = False):
        defaults = dict(lr=lr, momentum=momentum, dampening=dampening, weight_decay=weight_decay,
                        nesterov=nesterov, maximize=maximize)
        super().__init__(params, defaults)

    def _check_group(self, group: dict) -> None:
        super()._check_group(group)
        check_number("SGD", "momentum", group["momentum"], what="momentum value")
        check_number("SGD", "dampening", group["dampening"], low=float("-inf"), what="dampening value")
        check_number("SGD", "weight_decay", group["weight_decay"], what="weight_decay value")
        if group["nesterov"] and (group["momentum"] <= 0 or group["dampening"] != 0):
            raise ValueError(
                f"SGD: Nesterov momentum requires a momentum and zero dampening, got "
                f"momentum={group['momentum']!r}, dampening={group['dampening']!r}"
            )

    def _phase(self, state: dict):
        # The momentum buffer starts as a copy of the first gradient, so new and
        # running buffers can't share one update.
        return "momentum_buffer" in state

    def _update(self, group: dict, flat) -> None:
        lr, momentum, wd = group["lr"], group["momentum"], group["weight_decay"]
        maximize = group["maximize"]
        d, d_views = flat.temp(0)
        if momentum == 0 and wd == 0:
            # θ -= γ g (or += when maximizing): nothing to share across parameters.
            for p, g, d_i in zip(flat.arrays(), flat.grads(), d_views):
                xp.multiply(g, lr if maximize else -lr, out=d_i)
                p += d_i
            flat.bump_versions()
            return
        flat.gather_grads(d_views, wd, maximize)  # d = ±g + λθ
        if momentum != 0:
            dampening, nesterov = group["dampening"], group["nesterov"]
            first = "momentum_buffer" not in flat.states[0]
            buf = flat.slot("momentum_buffer")
            t = flat.temp(1)[0] if dampening != 0 or nesterov else None
            flat.map(_sgd_flat, (d, buf, t), first, momentum, dampening, nesterov, lr)
        else:
            d *= -lr
        for p, d_i in zip(flat.arrays(), d_views):
            p += d_i
        flat.bump_versions()


def _sgd_flat(d, buf, t, first: bool, momentum: float, dampening: float, nesterov: bool, lr: float) -> None:
    """The momentum part of SGD on flat buffers; in: d = g; out: d = the update."""
    if first:
        xp.copyto(buf, d)
    elif dampening != 0:
        buf *= momentum
        xp.multiply(d, 1 - dampening, out=t)
        buf += t
    else:
        buf *= momentum
        buf += d
    if nesterov:
        xp.multiply(buf, momentum, out=t)
        d += t
        d *= -lr
    else:
        xp.multiply(buf, -lr, out=d)
