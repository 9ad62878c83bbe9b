"""Pieces shared by the Adam family and Adadelta: the betas check and the running averages.

The moment updates repeat PyTorch's kernels operation for operation
(``lerp_``, ``mul_(β).addcmul_(g, g, value=1 − β)``) so that float32 results
round as PyTorch's do. They work in place on ranges of :class:`_Flat` buffers.
"""
from __future__ import annotations

from ..backend import xp
from ..errors import InvalidArgument
from .optimizer import check_number


def check_betas(owner: str, betas) -> None:
    """Raise unless ``betas`` is a pair of numbers in [0, 1)."""
    if not isinstance(betas, (tuple, list)) or len(betas) != 2:
        raise InvalidArgument(f"{owner}: betas must be a pair (beta1, beta2), got betas={betas!r}")
    for i, beta in enumerate(betas):
        check_number(owner, f"betas[{i}]", beta, high=1.0, what=f"beta parameter at index {i}")


def check_adam_group(owner: str, group: dict) -> None:
    """The checks every Adam-family group shares: eps >= 0, betas in [0, 1), weight_decay >= 0."""
    check_number(owner, "eps", group["eps"], what="epsilon value")
    check_betas(owner, group["betas"])
    check_number(owner, "weight_decay", group["weight_decay"], what="weight_decay value")


def lerp_(m, target, t, weight: float) -> None:
    """``m ← m + weight (target − m)`` as ``torch.lerp_`` computes it (``t``: scratch of m's size)."""
    xp.subtract(target, m, out=t)
    if abs(weight) < 0.5:
        t *= weight
        m += t
    else:  # PyTorch's other form, exact at weight = 1: target − (target − m)(1 − weight)
        t *= 1.0 - float(m.dtype.type(weight))
        xp.subtract(target, t, out=m)


def add_square_(v, g, t, beta: float) -> None:
    """``v ← β v + (1 − β) g²`` as ``v.mul_(β).addcmul_(g, g, value=1 − β)`` (``t``: scratch)."""
    v *= beta
    xp.multiply(g, 1.0 - beta, out=t)
    t *= g
    v += t


def decay_params(segments: list, decay: float) -> None:
    """Decoupled weight decay ``θ ← θ (1 − γλ)`` on every segment of a :meth:`_Flat.run` call."""
    if decay != 1.0:
        for p, _, _ in segments:
            p *= decay
