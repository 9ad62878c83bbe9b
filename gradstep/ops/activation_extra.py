"""More of PyTorch's activations: hardswish, hardsigmoid, selu, celu, prelu, rrelu, softsign,
tanhshrink, threshold, hardshrink, softshrink, glu.

Each is one ``Function`` (forward and backward side by side) with torch's kink conventions
(which side of ``x == -3``, ``x == threshold`` or ``|x| == lambd`` gets which slope) and torch's
NaN behaviour (the comparisons are written as torch's kernels write them).

Namespaces follow torch: ``selu``, ``celu``, ``rrelu``, ``threshold`` are ``gradstep.<name>``;
``prelu`` and ``hardshrink`` are also Tensor methods; ``hardswish``, ``hardsigmoid``,
``softsign``, ``tanhshrink``, ``softshrink`` and ``glu`` exist only in ``gradstep.nn.functional``
(which finds them in this module). ``inplace=True`` writes the result into the input, as torch does.
"""
from __future__ import annotations

import numbers

from .. import backend
from ..autograd.function import Function
from ..autograd.tensor import Tensor, _as_tensor
from ..backend import xp
from ..errors import ArgumentTypeError, DTypeError, InvalidArgument, ShapeError, fmt_shape
from ._helpers import normalize_dim, require_float
from ._registry import public

# SELU's constants (Klambauer et al. 2017), as torch spells them.
SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946


def _float_input(input, op: str) -> Tensor:
    """``input`` as a Tensor, refused with a DTypeError naming ``op`` unless floating point (torch: no int kernels)."""
    t = _as_tensor(input)
    require_float(t, op)
    return t


def _promoted_input(input, op: str) -> Tensor:
    """``input`` as a floating Tensor: integers become the default float dtype (torch's composites
    ``x / (|x| + 1)`` and ``x - tanh(x)`` do that), bool is refused as torch refuses it."""
    t = _as_tensor(input)
    kind = t._data.dtype.kind
    if kind == "b":
        raise DTypeError(f"{op}: expected a floating point or integer tensor, got dtype {t.dtype}")
    if kind not in "fc":
        t = Tensor._wrap(t._data.astype(backend.default_dtype()))
    return t


def _number(value, op: str, name: str) -> float:
    if isinstance(value, Tensor) and value.numel() == 1:
        value = value.item()
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ArgumentTypeError(f"{op}: {name} must be a number, got {name}={value!r} ({type(value).__name__})")
    return value


def _maybe_inplace(t: Tensor, inplace: bool, compute, op: str) -> Tensor:
    """``compute(t)``, or its result written into ``t`` (torch's ``inplace=True``) and ``t`` returned."""
    if not inplace:
        return compute(t)

    def run(x):
        return compute(x)

    run.__name__ = op
    return t._inplace(run)


# ------------------------------------------------------------------ hard versions
class Hardswish(Function):
    """``x * relu6(x + 3) / 6``; slope 0 for ``x <= -3``, ``x / 3 + 1/2`` below 3, 1 from 3 on."""

    def forward(self, a):
        self.a = a
        return a * xp.clip(a + 3, 0, 6) / 6

    def backward(self, g):
        a = self.a  # torch: x <= -3 ? 0 : (x < 3 ? x / 3 + 1/2 : 1), so NaN gets slope 1
        slope = xp.where(a < 3, a / 3 + 0.5, 1)
        return g * xp.where(a <= -3, 0, slope)


class Hardsigmoid(Function):
    """``relu6(x + 3) / 6``; slope 1/6 strictly inside (-3, 3), 0 elsewhere."""

    def forward(self, a):
        self.a = a
        return xp.clip(a + 3, 0, 6) / 6

    def backward(self, g):
        a = self.a
        return g * ((a > -3) & (a < 3)) / 6


# ------------------------------------------------------------------ ELU family
class ScaledElu(Function):
    """``neg_coef * expm1(x * input_scale)`` for ``x <= 0``, ``scale * x`` otherwise (torch's ``elu``
    kernel with its three coefficients: SELU and CELU are both this). The node keeps the mask and
    ``expm1``; as in torch, the slope at 0 is the negative side's, -0.0 maps to -0.0, and NaN takes
    the positive side's slope."""

    saves_inputs = False

    def forward(self, a, scale, neg_coef, input_scale):
        self.scale, self.neg_coef, self.input_scale = scale, neg_coef, input_scale
        self.neg = a <= 0
        # expm1 of the negative part only: the unused branch neither overflows nor turns a slope into inf * 0
        self.em1 = xp.expm1(xp.where(self.neg, a, 0) * input_scale)
        return xp.where(self.neg, self.em1 * neg_coef, a * scale)

    def backward(self, g):
        return g * xp.where(self.neg, (self.em1 + 1) * (self.neg_coef * self.input_scale), self.scale)


@public(method=False)
def selu(input, inplace: bool = False):
    """``scale * elu(x, alpha)`` with SELU's fixed ``alpha`` and ``scale`` (self-normalising networks)."""
    t = _float_input(input, "selu")
    return _maybe_inplace(t, inplace, lambda x: ScaledElu.apply(
        x, scale=SELU_SCALE, neg_coef=SELU_ALPHA * SELU_SCALE, input_scale=1.0), "selu")


@public(method=False)
def celu(input, alpha: float = 1.0, inplace: bool = False):
    """``max(0, x) + min(0, alpha * (exp(x / alpha) - 1))`` (continuously differentiable ELU)."""
    alpha = _number(alpha, "celu", "alpha")
    if alpha == 0:
        raise InvalidArgument("celu: alpha cannot be 0 (the function divides by it), got alpha=0")
    t = _float_input(input, "celu")
    return _maybe_inplace(t, inplace, lambda x: ScaledElu.apply(
        x, scale=1.0, neg_coef=alpha, input_scale=1.0 / alpha), "celu")


# ------------------------------------------------------------------ PReLU
class Prelu(Function):
    """``x`` for ``x > 0``, ``weight * x`` otherwise, the weight broadcast over channel dim 1
    (or one value for every element). Its gradient is summed back to the weight's shape here:
    the engine's sum_to_shape aligns from the right, not on dim 1."""

    def forward(self, x, w):
        if w.size == 1 or x.ndim < 2:
            wb = w.reshape(())
        else:
            wb = w.reshape((1, w.size) + (1,) * (x.ndim - 2))
        self.x, self.wb, self.w_shape = x, wb, w.shape
        return xp.where(x > 0, x, wb * x)

    def backward(self, g):
        x, pos = self.x, self.x > 0
        gx = xp.where(pos, g, self.wb * g) if self.needs_input_grad[0] else None
        gw = None
        if self.needs_input_grad[1]:
            contrib = xp.where(pos, 0, x * g)
            if self.wb.ndim == 0:
                gw = contrib.sum(dtype=x.dtype).reshape(self.w_shape)
            else:
                axes = tuple(i for i in range(x.ndim) if i != 1)
                gw = contrib.sum(axis=axes, dtype=x.dtype).reshape(self.w_shape)
        return gx, gw


@public
def prelu(input, weight):
    """``max(0, x) + weight * min(0, x)``: ``weight`` is one value or one per channel (dim 1 of ``input``)."""
    if not isinstance(weight, Tensor):
        raise ArgumentTypeError(f"prelu: weight must be a Tensor, got {type(weight).__name__}")
    x = _float_input(input, "prelu")
    if weight.dtype != x.dtype:
        raise DTypeError(f"prelu: input and weight must have the same dtype (no type promotion), "
                         f"got input {x.dtype} and weight {weight.dtype}")
    if weight.ndim > 1:
        raise ShapeError(f"prelu: expected weight to be a scalar or 1-D tensor, got shape {fmt_shape(weight.shape)}")
    n = weight.numel()
    channels = x.shape[1] if x.ndim >= 2 else 1
    if n != 1 and n != channels:
        raise ShapeError(
            f"prelu: weight has {n} values but input {fmt_shape(x.shape)} has {channels} channel(s) "
            f"(dim 1; 1 for inputs of fewer than 2 dims): expected 1 or {channels} values"
        )
    return Prelu.apply(x, weight)


# ------------------------------------------------------------------ RReLU
class Rrelu(Function):
    """``x * noise``: ``noise`` is 1 where ``x > 0`` and the (sampled or mean) negative slope elsewhere;
    the gradient is ``grad_output * noise``, so exactly the slope that was used."""

    saves_inputs = False

    def forward(self, x, noise, lower, upper, training):
        # lower, upper and training are not needed here: they say how noise was made (ONNX export reads them)
        self.noise = noise
        return x * noise

    def backward(self, g):
        return g * self.noise


@public(method=False)
def rrelu(input, lower: float = 1.0 / 8, upper: float = 1.0 / 3, training: bool = False, inplace: bool = False):
    """Randomized leaky ReLU: for ``x <= 0`` the slope is drawn uniformly from ``[lower, upper)`` per
    element in training (from gradstep's global generator, so ``gradstep.manual_seed`` fixes it), and is
    ``(lower + upper) / 2`` in evaluation."""
    lower, upper = _number(lower, "rrelu", "lower"), _number(upper, "rrelu", "upper")
    if lower > upper:
        raise InvalidArgument(f"rrelu: lower bound should be less than or equal to the upper bound, "
                              f"got lower={lower}, upper={upper}")
    t = _float_input(input, "rrelu")
    a = t._data
    if training:
        draw_dtype = xp.float64 if a.dtype == xp.float64 else xp.float32
        slope = backend.generator().random(a.shape, dtype=draw_dtype).astype(a.dtype, copy=False)
        slope *= upper - lower
        slope += lower
        noise = xp.where(a <= 0, slope, xp.ones((), dtype=a.dtype))  # torch: NaN keeps slope 1
    else:
        noise = xp.where(a > 0, xp.ones((), dtype=a.dtype), xp.asarray((lower + upper) / 2, dtype=a.dtype))
    return _maybe_inplace(t, inplace, lambda x: Rrelu.apply(x, noise=noise, lower=lower, upper=upper, training=bool(training)), "rrelu")


# ------------------------------------------------------------------ soft versions
class Softsign(Function):
    """``x / (1 + |x|)``; slope ``1 / (1 + |x|)^2``."""

    saves_inputs = False

    def forward(self, a):
        self.d = xp.abs(a) + 1
        return a / self.d

    def backward(self, g):
        return g / (self.d * self.d)


def softsign(input):
    """``x / (1 + |x|)``."""
    return Softsign.apply(_promoted_input(input, "softsign"))


class Tanhshrink(Function):
    """``x - tanh(x)``; slope ``tanh(x)^2``."""

    saves_inputs = False

    def forward(self, a):
        self.t = xp.tanh(a)
        return a - self.t

    def backward(self, g):
        return g * (self.t * self.t)


def tanhshrink(input):
    """``x - tanh(x)``."""
    return Tanhshrink.apply(_promoted_input(input, "tanhshrink"))


# ------------------------------------------------------------------ thresholds and shrinkage
class _MaskedSlope(Function):
    """Backward of the piecewise ops whose slope is 1 where ``keep`` and 0 elsewhere."""

    saves_inputs = False

    def backward(self, g):
        return g * self.keep


class Threshold(_MaskedSlope):
    """``x`` where ``x > threshold``, else ``value`` (written ``x <= threshold ? value : x``: NaN passes)."""

    def forward(self, a, threshold, value):
        self.keep = ~(a <= threshold)
        return xp.where(self.keep, a, xp.asarray(value, dtype=a.dtype))


class Hardshrink(_MaskedSlope):
    """``x`` where ``|x| > lambd``, else 0."""

    def forward(self, a, lambd):
        self.keep = ~((a >= -lambd) & (a <= lambd))
        return xp.where(self.keep, a, xp.zeros((), dtype=a.dtype))


class Softshrink(_MaskedSlope):
    """``x - lambd`` above ``lambd``, ``x + lambd`` below ``-lambd``, ``x * 0`` between (keeps NaN and -0.0 as torch)."""

    def forward(self, a, lambd):
        self.keep = ~((a >= -lambd) & (a <= lambd))
        return xp.where(a > lambd, a - lambd, xp.where(a < -lambd, a + lambd, a * 0))


@public(method=False)
def threshold(input, threshold, value, inplace: bool = False):
    """``input`` where it is greater than ``threshold``, ``value`` elsewhere (integer inputs too: both
    numbers are then truncated to integers, as torch does)."""
    threshold = _number(threshold, "threshold", "threshold")
    value = _number(value, "threshold", "value")
    t = _as_tensor(input)
    kind = t._data.dtype.kind
    if kind not in "fiu":
        raise DTypeError(f"threshold: expected a floating point or integer tensor, got dtype {t.dtype}")
    if kind in "iu":
        threshold, value = int(threshold), int(value)
    return _maybe_inplace(t, inplace, lambda x: Threshold.apply(x, threshold=threshold, value=value), "threshold")


_threshold = threshold  # for threshold_, whose argument named threshold hides the function


@public
def hardshrink(input, lambd: float = 0.5):
    """``x`` where ``|x| > lambd``, 0 elsewhere."""
    lambd = _number(lambd, "hardshrink", "lambd")
    return Hardshrink.apply(_float_input(input, "hardshrink"), lambd=lambd)


def softshrink(input, lambd: float = 0.5):
    """Shrink towards 0 by ``lambd``: ``x - lambd`` above it, ``x + lambd`` below ``-lambd``, 0 between."""
    lambd = _number(lambd, "softshrink", "lambd")
    if lambd < 0:
        raise InvalidArgument(f"softshrink: lambd must be >= 0, got lambd={lambd}")
    return Softshrink.apply(_float_input(input, "softshrink"), lambd=lambd)


# ------------------------------------------------------------------ GLU
class Glu(Function):
    """``a * sigmoid(b)`` where ``a`` and ``b`` are the two halves of the input along ``dim``."""

    saves_inputs = False

    def forward(self, x, dim):
        half = x.shape[dim] // 2
        first, second = xp.split(x, [half], axis=dim)
        self.first, self.dim = first, dim
        self.s = xp.tanh(second * 0.5) * 0.5 + 0.5  # sigmoid, without overflow
        return first * self.s

    def backward(self, g):
        s, first = self.s, self.first
        gs = g * s
        return xp.concatenate([gs, gs * first * (1 - s)], axis=self.dim)


def glu(input, dim: int = -1):
    """Gated linear unit: split ``input`` in two halves along ``dim``, return ``first * sigmoid(second)``."""
    t = _float_input(input, "glu")
    if t.ndim == 0:
        raise ShapeError("glu: does not take a 0-d tensor (a scalar can't be split in two halves)")
    d = normalize_dim(dim, t.ndim, "glu")
    if t.shape[d] % 2:
        raise ShapeError(f"glu: the halving dimension must be even, but dimension {dim} of input "
                         f"{fmt_shape(t.shape)} has size {t.shape[d]}")
    return Glu.apply(t, dim=d)


# ------------------------------------------------------------------ hard versions (public names)
def hardswish(input, inplace: bool = False):
    """``x * relu6(x + 3) / 6`` (MobileNetV3)."""
    t = _float_input(input, "hardswish")
    return _maybe_inplace(t, inplace, Hardswish.apply, "hardswish")


def hardsigmoid(input, inplace: bool = False):
    """``relu6(x + 3) / 6``."""
    t = _float_input(input, "hardsigmoid")
    return _maybe_inplace(t, inplace, Hardsigmoid.apply, "hardsigmoid")


# torch's in-place forms at top level: torch.selu_, torch.celu_, torch.rrelu_, torch.threshold_
@public(method=False)
def selu_(input):
    """In-place :func:`selu`."""
    return selu(input, inplace=True)


@public(method=False)
def celu_(input, alpha: float = 1.0):
    """In-place :func:`celu`."""
    return celu(input, alpha, inplace=True)


@public(method=False)
def rrelu_(input, lower: float = 1.0 / 8, upper: float = 1.0 / 3, training: bool = False):
    """In-place :func:`rrelu`."""
    return rrelu(input, lower, upper, training, inplace=True)


@public(method=False)
def threshold_(input, threshold, value):
    """In-place :func:`threshold`."""
    return _threshold(input, threshold, value, inplace=True)
