"""More activation layers, torch's names, arguments and reprs: ``Hardswish``, ``Hardsigmoid``, ``SELU``,
``CELU``, ``PReLU`` (learnable), ``RReLU`` (random in training), ``Softsign``, ``Tanhshrink``,
``Threshold``, ``Hardshrink``, ``Softshrink``, ``GLU``, ``Softmax2d``.

Each forwards to the op in :mod:`gradstep.ops.activation_extra`; ``inplace=True`` is passed on, so
the input is overwritten as in torch.
"""
from __future__ import annotations

from .. import backend
from ..autograd.tensor import Tensor
from ..backend import xp
from ..errors import ShapeError
from ..ops import activation_extra as ops
from ..ops.softmax import softmax
from . import init as nn_init
from ._checks import check_sizes
from .module import Module
from .parameter import Parameter

__all__ = [
    "Hardswish", "Hardsigmoid", "SELU", "CELU", "PReLU", "RReLU", "Softsign", "Tanhshrink", "Threshold",
    "Hardshrink", "Softshrink", "GLU", "Softmax2d",
]


def _inplace_suffix(inplace: bool) -> str:
    return ", inplace=True" if inplace else ""


class Hardswish(Module):
    """``x * relu6(x + 3) / 6``."""

    def __init__(self, inplace: bool = False):
        super().__init__()
        self.inplace = inplace

    def forward(self, input):
        return ops.hardswish(input, self.inplace)


class Hardsigmoid(Module):
    """``relu6(x + 3) / 6``."""

    def __init__(self, inplace: bool = False):
        super().__init__()
        self.inplace = inplace

    def forward(self, input):
        return ops.hardsigmoid(input, self.inplace)


class SELU(Module):
    """``scale * elu(x, alpha)`` with SELU's fixed constants."""

    def __init__(self, inplace: bool = False):
        super().__init__()
        self.inplace = inplace

    def forward(self, input):
        return ops.selu(input, self.inplace)

    def extra_repr(self) -> str:
        return "inplace=True" if self.inplace else ""


class CELU(Module):
    """``max(0, x) + min(0, alpha * (exp(x / alpha) - 1))``."""

    def __init__(self, alpha: float = 1.0, inplace: bool = False):
        super().__init__()
        self.alpha, self.inplace = alpha, inplace

    def forward(self, input):
        return ops.celu(input, self.alpha, self.inplace)

    def extra_repr(self) -> str:
        return f"alpha={self.alpha}" + _inplace_suffix(self.inplace)


class PReLU(Module):
    """``max(0, x) + weight * min(0, x)`` with a learned ``weight``: one value shared by all channels
    (``num_parameters=1``) or one per channel (dim 1 of the input), each starting at ``init``."""

    def __init__(self, num_parameters: int = 1, init: float = 0.25, device=None, dtype=None):
        super().__init__()
        check_sizes("PReLU", num_parameters=num_parameters)
        self.num_parameters, self.init = num_parameters, init
        dt = backend.default_dtype() if dtype is None else xp.dtype(dtype)
        self.weight = Parameter(Tensor._wrap(xp.empty((num_parameters,), dtype=dt)))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        nn_init.constant_(self.weight, self.init)

    def forward(self, input):
        return ops.prelu(input, self.weight)

    def extra_repr(self) -> str:
        return f"num_parameters={self.num_parameters}"


class RReLU(Module):
    """Randomized leaky ReLU: slopes for ``x <= 0`` drawn from ``[lower, upper)`` in training
    (``gradstep.manual_seed`` fixes them), ``(lower + upper) / 2`` in evaluation."""

    def __init__(self, lower: float = 1.0 / 8, upper: float = 1.0 / 3, inplace: bool = False):
        super().__init__()
        self.lower, self.upper, self.inplace = lower, upper, inplace

    def forward(self, input):
        return ops.rrelu(input, self.lower, self.upper, self.training, self.inplace)

    def extra_repr(self) -> str:
        return f"lower={self.lower}, upper={self.upper}" + _inplace_suffix(self.inplace)


class Softsign(Module):
    """``x / (1 + |x|)``."""

    def forward(self, input):
        return ops.softsign(input)


class Tanhshrink(Module):
    """``x - tanh(x)``."""

    def forward(self, input):
        return ops.tanhshrink(input)


class Threshold(Module):
    """``x`` where ``x > threshold``, ``value`` elsewhere."""

    def __init__(self, threshold: float, value: float, inplace: bool = False):
        super().__init__()
        self.threshold, self.value, self.inplace = threshold, value, inplace

    def forward(self, input):
        return ops.threshold(input, self.threshold, self.value, self.inplace)

    def extra_repr(self) -> str:
        return f"threshold={self.threshold}, value={self.value}" + _inplace_suffix(self.inplace)


class Hardshrink(Module):
    """``x`` where ``|x| > lambd``, 0 elsewhere."""

    def __init__(self, lambd: float = 0.5):
        super().__init__()
        self.lambd = lambd

    def forward(self, input):
        return ops.hardshrink(input, self.lambd)

    def extra_repr(self) -> str:
        return f"{self.lambd}"


class Softshrink(Module):
    """``x - lambd`` above ``lambd``, ``x + lambd`` below ``-lambd``, 0 between."""

    def __init__(self, lambd: float = 0.5):
        super().__init__()
        self.lambd = lambd

    def forward(self, input):
        return ops.softshrink(input, self.lambd)

    def extra_repr(self) -> str:
        return str(self.lambd)


class GLU(Module):
    """Gated linear unit: ``first * sigmoid(second)``, the halves of the input along ``dim``."""

    def __init__(self, dim: int = -1):
        super().__init__()
        self.dim = dim

    def forward(self, input):
        return ops.glu(input, self.dim)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


class Softmax2d(Module):
    """Softmax over the channels (dim -3) at every spatial position of ``(N, C, H, W)`` or ``(C, H, W)``."""

    def forward(self, input):
        ndim = len(input.shape)
        if ndim not in (3, 4):
            raise ShapeError(f"Softmax2d: expected input to be 3D or 4D, got {ndim}D instead")
        return softmax(input, -3)
