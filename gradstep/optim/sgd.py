"""Stochastic gradient descent, with momentum, Nesterov momentum and weight decay."""
from __future__ import annotations

from .. import native
from ..backend import xp
from .optimizer import Optimizer, apply_update, check_number, check_torch_flags, gather_grads
from ..errors import InvalidArgument


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
        foreach, fused: accepted as in PyTorch; no effect on the results (gradstep always updates all
            parameters of a group at once on flat buffers, with a compiled fused kernel when built).
        differentiable: only False; True raises NotSupported (differentiating through the step is
            not available).

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
                 weight_decay: float = 0.0, nesterov: bool = False, *, maximize: bool = False,
                 foreach: bool | None = None, differentiable: bool = False, fused: bool | None = None):
        check_torch_flags("SGD", differentiable=differentiable)
        defaults = dict(lr=lr, momentum=momentum, dampening=dampening, weight_decay=weight_decay,
                        nesterov=nesterov, maximize=maximize)
        super().__init__(params, defaults)

    def _check_group(self, group: dict) -> None:
        super()._check_group(group)
        check_number("SGD", "momentum", group["momentum"], what="momentum value")
        check_number("SGD", "dampening", group["dampening"], low=float("-inf"), what="dampening value")
        check_number("SGD", "weight_decay", group["weight_decay"], what="weight_decay value")
        if group["nesterov"] and (group["momentum"] <= 0 or group["dampening"] != 0):
            raise InvalidArgument(
                f"SGD: Nesterov momentum requires a momentum and zero dampening, got "
                f"momentum={group['momentum']!r}, dampening={group['dampening']!r}"
            )

    def _phase(self, state: dict):
        # The momentum buffer starts as a copy of the first gradient, so new and
        # running buffers can't share one update.
        return "momentum_buffer" in state

    def _update(self, group: dict, flat) -> None:
        lr, momentum, wd = float(group["lr"]), float(group["momentum"]), float(group["weight_decay"])
        buf, first, t = None, False, None
        if momentum != 0:
            first = "momentum_buffer" not in flat.states[0]
            buf = flat.slot("momentum_buffer")
        if native.kernels is not None:  # one fused pass over memory (threads don't pay: measured)
            flat.run(_sgd_fused, (buf,), lr, wd, group["maximize"], momentum, float(group["dampening"]),
                     group["nesterov"], first, parallel=False)
            return
        if momentum != 0 and (group["dampening"] != 0 or group["nesterov"]):
            t = flat.temp(1)
        flat.run(_sgd, (flat.temp(0), buf, t), lr, wd, group["maximize"], momentum, float(group["dampening"]),
                 group["nesterov"], first)


def _sgd_fused(segments, buf, lr, wd, maximize, momentum, dampening, nesterov, first) -> None:
    """SGD's update on a range of the flat buffers with the compiled kernel (same maths as :func:`_sgd`)."""
    kernel = native.kernels.sgd
    for p, g, i in segments:
        kernel(p, g, None if buf is None else buf[i], lr, wd, momentum, dampening, nesterov, maximize, first)


def _sgd(segments, d, buf, t, lr, wd, maximize, momentum, dampening, nesterov, first) -> None:
    """SGD's elementwise update on a range of the flat buffers (see :meth:`_Flat.run`)."""
    direct = wd == 0 and not maximize  # use the gradients as they are, without copying them
    if buf is None and wd == 0:  # θ ← θ ∓ γ g: nothing to share across parameters
        for p, g, i in segments:
            xp.multiply(g, lr if maximize else -lr, out=d[i])
            p += d[i]
        return
    if not direct:
        gather_grads(segments, d, wd, maximize)  # d = ±g + λθ
    if buf is None:
        d *= -lr
        apply_update(segments, d)
        return
    grads = [(g if direct else d[i], i) for _, g, i in segments]
    if first:
        for g, i in grads:
            xp.copyto(buf[i], g)
    else:
        buf *= momentum
        for g, i in grads:  # b ← μ b + (1 − τ) g
            if dampening != 0:
                xp.multiply(g, 1 - dampening, out=t[i])
                buf[i] += t[i]
            else:
                buf[i] += g
    if nesterov:
        xp.multiply(buf, momentum, out=t)
        for g, i in grads:
            t[i] += g
        t *= -lr
        apply_update(segments, t)
    else:
        xp.multiply(buf, -lr, out=d)
        apply_update(segments, d)
