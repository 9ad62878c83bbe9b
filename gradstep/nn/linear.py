"""Affine layers: ``Identity``, ``Linear``, ``Bilinear``."""
from __future__ import annotations

import math

from .. import backend
from ..autograd.tensor import Tensor
from ..backend import xp
from ..errors import ArgumentTypeError, ShapeError, fmt_shape
from . import functional as F
from . import init
from ._checks import check_sizes
from .module import Module
from .parameter import Parameter

__all__ = ["Identity", "Linear", "Bilinear"]


def _empty(shape, dtype) -> Parameter:
    return Parameter(Tensor._wrap(xp.empty(shape, dtype=backend.default_dtype() if dtype is None else xp.dtype(dtype))))


def _reset_weight_and_bias(weight, bias) -> None:
    """PyTorch's default for Linear and Conv: weight kaiming_uniform_(a=sqrt(5)), i.e.
    U(-1/sqrt(fan_in), 1/sqrt(fan_in)), and the bias drawn from the same range."""
    init.kaiming_uniform_(weight, a=math.sqrt(5))
    if bias is not None:
        fan_in, _ = init._calculate_fan_in_and_fan_out(weight)
        bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0
        init.uniform_(bias, -bound, bound)


def _check_features(layer: str, x, size: int, what: str = "") -> None:
    """Raise a ShapeError naming ``layer`` when the last dim of ``x`` isn't ``size``."""
    shape = getattr(x, "shape", None)
    if shape is None:
        raise ArgumentTypeError(f"{layer} expected a Tensor as input{what}, got {type(x).__name__}")
    if not shape or shape[-1] != size:
        hint = "; flatten first?" if len(shape) > 2 and math.prod(shape[1:]) == size else ""
        raise ShapeError(f"{layer} expected input{what} (..., {size}), got {fmt_shape(shape)}{hint}")


class Identity(Module):
    """Returns its input unchanged (any constructor arguments are ignored)."""

    def __init__(self, *args, **kwargs):
        super().__init__()

    def forward(self, input):
        return input


class Linear(Module):
    """``y = x @ weight.T + bias``.

    Args:
        in_features: size of each input's last dim.
        out_features: size of each output's last dim.
        bias: learn an additive bias (default True).

    Shape:
        input ``(*, in_features)`` -> output ``(*, out_features)``.

    Weights and bias start as in PyTorch: U(-1/sqrt(in_features), 1/sqrt(in_features))
    (``kaiming_uniform_(a=sqrt(5))`` for the weight).
    """

    def __init__(self, in_features: int, out_features: int, bias: bool = True, device=None, dtype=None):
        super().__init__()
        check_sizes("Linear", in_features=in_features, out_features=out_features)
        self.in_features = in_features
        self.out_features = out_features
        self.weight = _empty((out_features, in_features), dtype)
        if bias:
            self.bias = _empty((out_features,), dtype)
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        _reset_weight_and_bias(self.weight, self.bias)

    def forward(self, input):
        shape = getattr(input, "shape", None)
        if not shape or shape[-1] != self.in_features:
            _check_features(
                f"Linear(in_features={self.in_features}, out_features={self.out_features})", input, self.in_features
            )
        params = self._parameters  # direct lookups: this is on every step's hot path
        return F.linear(input, params["weight"], params["bias"])

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}"


class Bilinear(Module):
    """``y = x1^T A x2 + b`` for each output feature.

    Shape:
        input1 ``(*, in1_features)``, input2 ``(*, in2_features)`` -> ``(*, out_features)``.
        weight: ``(out_features, in1_features, in2_features)``.
    """

    def __init__(self, in1_features: int, in2_features: int, out_features: int, bias: bool = True,
                 device=None, dtype=None):
        super().__init__()
        check_sizes("Bilinear", in1_features=in1_features, in2_features=in2_features, out_features=out_features)
        self.in1_features, self.in2_features, self.out_features = in1_features, in2_features, out_features
        self.weight = _empty((out_features, in1_features, in2_features), dtype)
        if bias:
            self.bias = _empty((out_features,), dtype)
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        bound = 1 / math.sqrt(self.weight.shape[1])
        init.uniform_(self.weight, -bound, bound)
        if self.bias is not None:
            init.uniform_(self.bias, -bound, bound)

    def forward(self, input1, input2):
        _check_features(repr(self), input1, self.in1_features, "1")
        _check_features(repr(self), input2, self.in2_features, "2")
        if tuple(input1.shape[:-1]) != tuple(input2.shape[:-1]):
            raise ShapeError(
                f"{self!r}: input1 and input2 must have the same leading dims, "
                f"got {fmt_shape(input1.shape)} and {fmt_shape(input2.shape)}"
            )
        o, i1, i2 = self.weight.shape
        # x1 @ W viewed as (in1, out * in2), then contract with x2 over in2.
        w = self.weight.permute(1, 0, 2).reshape(i1, o * i2)
        t = (input1 @ w).reshape(*input1.shape[:-1], o, i2)
        out = (t * input2.unsqueeze(-2)).sum(-1)
        return out if self.bias is None else out + self.bias

    def extra_repr(self) -> str:
        return (f"in1_features={self.in1_features}, in2_features={self.in2_features}, "
                f"out_features={self.out_features}, bias={self.bias is not None}")
