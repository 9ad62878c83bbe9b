"""Neighbouring modules that :class:`~gradstep.nn.Sequential` runs as one op.

A ``Linear`` followed by a ``ReLU`` becomes one node whose bias add and ReLU are one
in-place pass over the GEMM's output (see :class:`gradstep.ops.matmul.LinearRelu`):
the same values and gradients, bit for bit, with one pass, one array and one graph
node fewer. A pair fuses only when both modules are exactly the listed classes (a
subclass may have its own forward) and neither has hooks (a hook would see the
intermediate result, which the fused op never makes).

To add a fusion: an entry in ``FUSIONS`` and its test in ``tests/nn/test_fusion.py``.
"""
from __future__ import annotations

from ..ops.matmul import linear_relu
from .activation import ReLU
from .linear import Linear


def _linear_then_relu(linear, relu, input):
    shape = getattr(input, "shape", None)
    if not shape or shape[-1] != linear.in_features:
        return relu(linear(input))  # the modules' own error
    params = linear._parameters
    return linear_relu(input, params["weight"], params["bias"])


# (first module's class, second module's class) -> fused(first, second, input)
FUSIONS = {(Linear, ReLU): _linear_then_relu}
FIRSTS = frozenset(first for first, _ in FUSIONS)


def unhooked(module) -> bool:
    """No hook would miss a call: the module can run inside a fused op."""
    return not (module._forward_pre_hooks or module._forward_hooks or module._backward_hooks)
