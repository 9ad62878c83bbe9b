"""Neighbouring modules that :class:`~gradstep.nn.Sequential` runs as one op, or in a cheaper order.

* ``Linear`` then ``ReLU``: one node whose bias add and ReLU are one in-place pass over
  the GEMM's output (see :class:`gradstep.ops.matmul.LinearRelu`).
* ``ReLU`` then ``MaxPool``: the pool first, then the ReLU on its (k² times smaller)
  output. ``max(relu(x)) == relu(max(x))`` because the ReLU is monotone, and the
  gradient reaches the same element with the same factor (nothing where the window's
  maximum is <= 0), so only the work changes.

Either way the values and gradients are those of the modules run one by one, bit for
bit. A pair fuses only when both modules are exactly the listed classes (a subclass may
have its own forward), neither has a forward set on the instance, and neither has hooks
(a hook would see the intermediate result, which the fused op never makes).

To add a fusion: an entry in ``FUSIONS`` and its test in ``tests/nn/test_fusion.py``.
"""
from __future__ import annotations

from ..ops.matmul import linear_relu
from .activation import ReLU
from .linear import Linear
from .pooling import MaxPool1d, MaxPool2d


def _linear_then_relu(linear, relu, input):
    shape = getattr(input, "shape", None)
    if not shape or shape[-1] != linear.in_features:
        return relu(linear(input))  # the modules' own error
    params = linear._parameters
    return linear_relu(input, params["weight"], params["bias"])


def _relu_then_max_pool(relu, pool, input):
    if pool.return_indices:  # the indices of an all-negative window would differ
        return pool(relu(input))
    return relu(pool(input))


# (first module's class, second module's class) -> fused(first, second, input)
FUSIONS = {
    (Linear, ReLU): _linear_then_relu,
    (ReLU, MaxPool1d): _relu_then_max_pool,
    (ReLU, MaxPool2d): _relu_then_max_pool,
}
FIRSTS = frozenset(first for first, _ in FUSIONS)


def unhooked(module) -> bool:
    """No hook would miss a call and no forward was set on the instance: the module can run inside a fused op."""
    return not (module._forward_pre_hooks or module._forward_hooks or module._backward_hooks
                or "forward" in module.__dict__)
