"""Adam and AdamW (Adam with decoupled weight decay)."""
from __future__ import annotations

from .. import native
from ..backend import xp
from ._moments import check_adam_group
from .optimizer import Optimizer, check_torch_flags


class Adam(Optimizer):
    r"""Adam, step for step as ``torch.optim.Adam``.

    .. code-block:: text

        input: lr γ, betas (β1, β2), eps ε, weight_decay λ, amsgrad, maximize, decoupled_weight_decay
        m_0 = 0, v_0 = 0, v̂max_0 = 0
        for t = 1, 2, ...:
            g_t = ∇θ f(θ_{t-1})                (−∇ if maximize)
            if λ ≠ 0:  g_t = g_t + λ θ_{t-1}   (decoupled/AdamW instead: θ_{t-1} = θ_{t-1} (1 − γ λ))
            m_t = β1 m_{t-1} + (1 − β1) g_t
            v_t = β2 v_{t-1} + (1 − β2) g_t²
            if amsgrad:  v̂max_t = max(v̂max_{t-1}, v_t);  v = v̂max_t  else  v = v_t
            θ_t = θ_{t-1} − (γ / (1 − β1^t)) · m_t / (√v / √(1 − β2^t) + ε)

    Args:
        params: parameters or parameter groups.
        lr: learning rate γ (default 1e-3).
        betas: (β1, β2), decay rates of the running averages of the gradient and its square.
        eps: ε added to the denominator for stability (default 1e-8).
        weight_decay: L2 penalty λ added to the gradient (default 0).
        amsgrad: use the running maximum of v (AMSGrad).
        maximize: maximize the objective instead of minimizing.
        decoupled_weight_decay: shrink the parameters directly instead of adding λθ to the gradient
            (then this is AdamW); a parameter group may set it too.
        foreach, fused: accepted as in PyTorch; no effect on the results (gradstep always updates all
            parameters of a group at once on flat buffers, with a compiled fused kernel when built).
        capturable, differentiable: only False; True raises NotSupported (no CUDA graphs, no
            differentiating through the step).

    State per parameter: ``step`` (float), ``exp_avg`` (m), ``exp_avg_sq`` (v)
    and ``max_exp_avg_sq`` (with amsgrad).

    Example:
        >>> import gradstep as gs
        >>> w = gs.tensor([1.0, -2.0], requires_grad=True)
        >>> opt = Adam([w], lr=0.1)
        >>> (w * w).sum().backward()
        >>> opt.step()
        >>> w
        tensor([ 0.9, -1.9], requires_grad=True)
    """

    _decoupled = False
    """True for AdamW: every group decouples, also after loading a state dict (as PyTorch's AdamW)."""

    def __init__(self, params, lr: float = 1e-3, betas: tuple = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0.0, amsgrad: bool = False, *, foreach: bool | None = None,
                 maximize: bool = False, capturable: bool = False, differentiable: bool = False,
                 fused: bool | None = None, decoupled_weight_decay: bool = False):
        check_torch_flags(type(self).__name__, capturable, differentiable)
        defaults = dict(lr=lr, betas=tuple(betas) if isinstance(betas, list) else betas, eps=eps,
                        weight_decay=weight_decay, amsgrad=amsgrad, maximize=maximize,
                        decoupled_weight_decay=decoupled_weight_decay)
        super().__init__(params, defaults)

    def load_state_dict(self, state_dict: dict) -> None:
        """As :meth:`Optimizer.load_state_dict`; a group saved without ``decoupled_weight_decay`` (an older
        checkpoint) gets this class's kind: False for Adam, and AdamW always decouples (as in PyTorch)."""
        super().load_state_dict(state_dict)
        for group in self.param_groups:
            if self._decoupled:
                group["decoupled_weight_decay"] = True
            else:
                group.setdefault("decoupled_weight_decay", False)

    def _check_group(self, group: dict) -> None:
        super()._check_group(group)
        check_adam_group(type(self).__name__, group)

    def _update(self, group: dict, flat) -> None:
        # Python floats: NumPy scalars (float64) would make the float32 maths run in float64.
        lr, eps, wd = float(group["lr"]), float(group["eps"]), float(group["weight_decay"])
        beta1, beta2 = (float(b) for b in group["betas"])
        step = flat.advance()
        m, v = flat.slot("exp_avg"), flat.slot("exp_avg_sq")
        v_max = flat.slot("max_exp_avg_sq") if group["amsgrad"] else None
        bias_correction1 = 1 - beta1 ** step
        bias_correction2_sqrt = (1 - beta2 ** step) ** 0.5
        decoupled = bool(group.get("decoupled_weight_decay", self._decoupled))
        l2, decay = (0.0, 1 - lr * wd) if decoupled else (wd, 1.0)
        # γ/bc1 · m / (√v/√bc2 + ε) = (γ √bc2 / bc1) · m / (√v + ε √bc2): one pass fewer.
        args = (beta1, beta2, eps * bias_correction2_sqrt, -lr * bias_correction2_sqrt / bias_correction1,
                l2, decay, group["maximize"])
        if native.kernels is not None:  # one fused pass over memory (threads don't pay: measured)
            flat.run(_adam_fused, (m, v, v_max), *args, parallel=False)
        else:
            flat.run(_adam, (m, v, v_max, flat.temp(0), flat.temp(1)), *args)


def _adam_fused(segments, m, v, v_max, beta1, beta2, eps, scale, l2, decay, maximize) -> None:
    """Adam's update on a range of the flat buffers with the compiled kernel (same maths as :func:`_adam_piece`)."""
    kernel = native.kernels.adam
    for p, g, i in segments:
        kernel(p, g, m[i], v[i], None if v_max is None else v_max[i], beta1, beta2, eps, scale, l2, decay, maximize)


_PIECE = 1 << 16
"""Elements updated at a time. All ~12 passes of Adam run on one piece (with two scratch rows
of this size) while it sits in L2 cache, instead of streaming every whole buffer through
memory 12 times: ~4 memory passes instead of ~30 once the state outgrows the caches."""


def _adam(segments, m, v, v_max, d, sq, beta1, beta2, eps, scale, l2, decay, maximize) -> None:
    """Adam's elementwise update on a range of the flat buffers (see :meth:`_Flat.run`), piece by piece."""
    for p, g, i in segments:
        start, n = i.start, p.shape[0]
        for lo in range(0, n, _PIECE):
            hi = min(n, lo + _PIECE)
            k = slice(start + lo, start + hi)
            _adam_piece(p[lo:hi], g[lo:hi], m[k], v[k], None if v_max is None else v_max[k],
                        d[:hi - lo], sq[:hi - lo], beta1, beta2, eps, scale, l2, decay, maximize)


def _adam_piece(p, g, m, v, v_max, d, sq, beta1, beta2, eps, scale, l2, decay, maximize) -> None:
    # Read the gradient once: d = g − m, sq = g².
    if maximize:
        xp.negative(g, out=sq)
        g = sq
    if decay != 1.0:
        p *= decay          # AdamW: θ ← θ (1 − γλ)
    elif l2 != 0:
        xp.multiply(p, l2, out=d)
        xp.add(g, d, out=sq)
        g = sq
    xp.subtract(g, m, out=d)
    xp.multiply(g, g, out=sq)
    d *= 1 - beta1
    m += d                  # m ← m + (1 − β1)(g − m), PyTorch's lerp
    v *= beta2
    sq *= 1 - beta2
    v += sq                 # v ← β2 v + (1 − β2) g²
    if v_max is not None:
        xp.maximum(v_max, v, out=v_max)
        v = v_max
    xp.sqrt(v, out=d)
    d += eps
    xp.divide(m, d, out=d)
    d *= scale
    p += d


class AdamW(Adam):
    r"""Adam with decoupled weight decay, step for step as ``torch.optim.AdamW``.

    The same algorithm as :class:`Adam`, except that weight decay shrinks the
    parameters directly instead of being added to the gradient:

    .. code-block:: text

        θ_{t-1} = θ_{t-1} (1 − γ λ)      before the Adam update of step t

    Args:
        params: parameters or parameter groups.
        lr: learning rate γ (default 1e-3).
        betas: (β1, β2) (default (0.9, 0.999)).
        eps: ε added to the denominator (default 1e-8).
        weight_decay: decoupled decay coefficient λ (default 1e-2, as in PyTorch).
        amsgrad: use the running maximum of v (AMSGrad).
        maximize: maximize the objective instead of minimizing.
        foreach, fused: accepted as in PyTorch; no effect on the results (see :class:`Adam`).
        capturable, differentiable: only False; True raises NotSupported.
    """

    _decoupled = True

    def __init__(self, params, lr: float = 1e-3, betas: tuple = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 1e-2, amsgrad: bool = False, *, maximize: bool = False,
                 foreach: bool | None = None, capturable: bool = False, differentiable: bool = False,
                 fused: bool | None = None):
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, foreach=foreach, maximize=maximize,
                         capturable=capturable, differentiable=differentiable, fused=fused,
                         decoupled_weight_decay=True)
