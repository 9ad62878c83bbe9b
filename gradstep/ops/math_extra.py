"""More elementwise math: logarithms and exponentials, trigonometric and hyperbolic functions,
reciprocal, logit, remainder/fmod, lerp, logaddexp, hypot, atan2, xlogy, nan_to_num, addcmul, ...

Unary functions are table rows: a forward ufunc and the derivative, read
from the input or (cheaper, when it can be) from the output.
(Rounding functions are in ``rounding.py``.)
"""
from __future__ import annotations

import math

from ..autograd.function import Function
from ..autograd.tensor import Tensor, _as_tensor
from ..backend import xp
from ..errors import DTypeError
from ._helpers import binary_operands, check_broadcast
from ._registry import public
from .elementwise import _floating, clamp, erf as _erf


# ------------------------------------------------------------ unary functions
class _Unary(Function):
    """``f(x)`` elementwise, with ``f'`` computed from ``x`` or, when ``saves_output``, from ``f(x)``."""

    @staticmethod
    def f(a):  # pragma: no cover - set by each row
        raise NotImplementedError

    @staticmethod
    def df(a):  # pragma: no cover - set by each row
        raise NotImplementedError

    def forward(self, a):
        out = self.f(a)
        if type(out) is not xp.ndarray or out.dtype != a.dtype:
            out = xp.asarray(out, dtype=a.dtype)
        if self.saves_output:
            self.out = out
        else:
            self.a = a
        return out

    def backward(self, g):
        return g * self.df(self.out if self.saves_output else self.a)


def _row(name, f, df, from_output=False):
    """A ``_Unary`` subclass named after the op (its node shows as ``<Name>Backward``)."""
    return type(name, (_Unary,), dict(
        f=staticmethod(f), df=staticmethod(df), saves_output=from_output, saves_inputs=not from_output,
    ))


_LN2, _LN10 = math.log(2.0), math.log(10.0)
_TWO_OVER_SQRT_PI = 2.0 / math.sqrt(math.pi)

Log1p = _row("Log1p", xp.log1p, lambda a: 1 / (1 + a))
Expm1 = _row("Expm1", xp.expm1, lambda out: out + 1, from_output=True)
Log2 = _row("Log2", xp.log2, lambda a: 1 / (a * _LN2))
Log10 = _row("Log10", xp.log10, lambda a: 1 / (a * _LN10))
Exp2 = _row("Exp2", xp.exp2, lambda out: out * _LN2, from_output=True)
Erf = _row("Erf", _erf, lambda a: _TWO_OVER_SQRT_PI * xp.exp(-(a * a)))
Erfc = _row("Erfc", lambda a: 1 - _erf(a), lambda a: -_TWO_OVER_SQRT_PI * xp.exp(-(a * a)))
Tan = _row("Tan", xp.tan, lambda out: 1 + out * out, from_output=True)
Atan = _row("Atan", xp.arctan, lambda a: 1 / (1 + a * a))
Asin = _row("Asin", xp.arcsin, lambda a: 1 / xp.sqrt(1 - a * a))
Acos = _row("Acos", xp.arccos, lambda a: -1 / xp.sqrt(1 - a * a))
Sinh = _row("Sinh", xp.sinh, xp.cosh)
Cosh = _row("Cosh", xp.cosh, xp.sinh)
Asinh = _row("Asinh", xp.arcsinh, lambda a: 1 / xp.sqrt(a * a + 1))
Acosh = _row("Acosh", xp.arccosh, lambda a: 1 / xp.sqrt(a * a - 1))
Atanh = _row("Atanh", xp.arctanh, lambda a: 1 / (1 - a * a))
Reciprocal = _row("Reciprocal", lambda a: 1 / a, lambda out: -(out * out), from_output=True)
Logit = _row("Logit", lambda a: xp.log(a / (1 - a)), lambda a: 1 / (a * (1 - a)))


def _unary_public(cls, name, aliases=()):
    def op(input):
        return cls.apply(_floating(input, name))

    op.__name__ = op.__qualname__ = name
    op.__doc__ = f"``torch.{name}``, elementwise; integer inputs give float32."
    public(op, aliases=aliases)
    return op


log1p = _unary_public(Log1p, "log1p")
expm1 = _unary_public(Expm1, "expm1")
log2 = _unary_public(Log2, "log2")
log10 = _unary_public(Log10, "log10")
exp2 = _unary_public(Exp2, "exp2")
erf = _unary_public(Erf, "erf")
erfc = _unary_public(Erfc, "erfc")
tan = _unary_public(Tan, "tan")
atan = _unary_public(Atan, "atan", aliases=("arctan",))
asin = _unary_public(Asin, "asin", aliases=("arcsin",))
acos = _unary_public(Acos, "acos", aliases=("arccos",))
sinh = _unary_public(Sinh, "sinh")
cosh = _unary_public(Cosh, "cosh")
asinh = _unary_public(Asinh, "asinh", aliases=("arcsinh",))
acosh = _unary_public(Acosh, "acosh", aliases=("arccosh",))
atanh = _unary_public(Atanh, "atanh", aliases=("arctanh",))
reciprocal = _unary_public(Reciprocal, "reciprocal")


@public
def logit(input, eps=None):
    """``log(p / (1 - p))``; with ``eps``, ``p`` is first clamped to ``[eps, 1 - eps]``."""
    t = _floating(input, "logit")
    if eps is not None:
        t = clamp(t, eps, 1 - eps)
    return Logit.apply(t)


@public
def deg2rad(input):
    return _floating(input, "deg2rad") * (math.pi / 180.0)


@public
def rad2deg(input):
    return _floating(input, "rad2deg") * (180.0 / math.pi)


# ------------------------------------------------------------ binary functions
def _binary(cls, input, other, op, float_result=False, **params):
    a, b = binary_operands(input, other, op, float_result)
    if a.shape != b.shape:
        check_broadcast(op, a.shape, b.shape)
    return cls.apply(a, b, **params)


class Atan2(Function):
    def forward(self, y, x):
        self.y, self.x = y, x
        return xp.arctan2(y, x)

    def backward(self, g):
        y, x = self.y, self.x
        scale = g / (x * x + y * y)
        gy, gx = self.needs_input_grad
        return (scale * x if gy else None), (-scale * y if gx else None)


@public(aliases=("arctan2",))
def atan2(input, other):
    """The angle of the point ``(other, input)``, elementwise: ``atan(input / other)`` in the right quadrant."""
    return _binary(Atan2, input, other, "atan2", float_result=True)


class Remainder(Function):
    """``a - rounder(a / b) * b``: floor (Python's %, sign of ``b``) or trunc (C's fmod, sign of ``a``)."""

    def forward(self, a, b, fn, rounder):
        self.a, self.b, self.rounder = a, b, rounder
        return fn(a, b)

    def backward(self, g):
        ga, gb = self.needs_input_grad
        grad_b = None
        if gb:
            grad_b = -g * self.rounder(self.a / self.b)
        return (g if ga else None), grad_b


def _check_int_divisor(op, b):
    if b._data.dtype.kind in "biu" and not b._data.all():
        raise ZeroDivisionError(f"{op}: integer division by zero")


@public
def remainder(input, other):
    """Python's ``%``: the remainder with the sign of the divisor (``input - floor(input / other) * other``)."""
    a, b = binary_operands(input, other, "remainder")
    _check_int_divisor("remainder", b)
    return _binary(Remainder, a, b, "remainder", fn=xp.remainder, rounder=xp.floor)


@public
def fmod(input, other):
    """C's ``fmod``: the remainder with the sign of the dividend (``input - trunc(input / other) * other``)."""
    a, b = binary_operands(input, other, "fmod")
    _check_int_divisor("fmod", b)
    return _binary(Remainder, a, b, "fmod", fn=xp.fmod, rounder=xp.trunc)


class Hypot(Function):
    saves_output = True

    def forward(self, a, b):
        self.a, self.b = a, b
        self.out = xp.hypot(a, b)
        return self.out

    def backward(self, g):
        ga, gb = self.needs_input_grad
        scale = g / self.out
        return (scale * self.a if ga else None), (scale * self.b if gb else None)


@public
def hypot(input, other):
    """``sqrt(input**2 + other**2)`` without overflow."""
    a, b = binary_operands(input, other, "hypot")
    if a._data.dtype.kind != "f":
        raise DTypeError(f"hypot: expected floating point tensors, got dtype {a.dtype}")
    return _binary(Hypot, a, b, "hypot")


class LogAddExp(Function):
    """``log(exp(a) + exp(b))`` (or base 2); the gradients are the softmax weights ``exp(a - out)``."""

    saves_output = True

    def forward(self, a, b, base2):
        self.a, self.b, self.base2 = a, b, base2
        self.out = (xp.logaddexp2 if base2 else xp.logaddexp)(a, b)
        return self.out

    def backward(self, g):
        ga, gb = self.needs_input_grad
        e = xp.exp2 if self.base2 else xp.exp
        return (g * e(self.a - self.out) if ga else None), (g * e(self.b - self.out) if gb else None)


def _logaddexp(op, input, other, base2):
    a, b = binary_operands(input, other, op)
    if a._data.dtype.kind != "f":
        raise DTypeError(f"{op}: expected floating point tensors, got dtype {a.dtype}")
    return _binary(LogAddExp, a, b, op, base2=base2)


@public
def logaddexp(input, other):
    """``log(exp(input) + exp(other))``, stable for large values."""
    return _logaddexp("logaddexp", input, other, False)


@public
def logaddexp2(input, other):
    """``log2(2**input + 2**other)``, stable for large values."""
    return _logaddexp("logaddexp2", input, other, True)


class Xlogy(Function):
    def forward(self, x, y):
        self.x, self.y = x, y
        return xp.where(x == 0, xp.where(xp.isnan(y), y, 0), x * xp.log(y)).astype(x.dtype, copy=False)

    def backward(self, g):
        gx, gy = self.needs_input_grad
        x, y = self.x, self.y
        grad_x = xp.where(x == 0, 0, g * xp.log(y)).astype(g.dtype, copy=False) if gx else None
        grad_y = g * x / y if gy else None
        return grad_x, grad_y


@public
def xlogy(input, other):
    """``input * log(other)``, defined as 0 where ``input`` is 0 (unless ``other`` is NaN)."""
    return _binary(Xlogy, input, other, "xlogy", float_result=True)


class Lerp(Function):
    """``start + weight * (end - start)``, written as PyTorch does for accuracy near ``weight = 1``."""

    def forward(self, a, b, w):
        self.a, self.b, self.w = a, b, w
        diff = b - a
        return xp.where(w < 0.5, a + w * diff, b - diff * (1 - w)).astype(a.dtype, copy=False)

    def backward(self, g):
        ga, gb, gw = self.needs_input_grad
        w = self.w
        return (g * (1 - w) if ga else None), (g * w if gb else None), (g * (self.b - self.a) if gw else None)


@public
def lerp(input, end, weight):
    """Linear interpolation ``input + weight * (end - input)``; ``weight`` is a number or a tensor."""
    a, b = binary_operands(input, end, "lerp")
    if a._data.dtype.kind != "f":
        raise DTypeError(f"lerp: expected floating point tensors, got dtype {a.dtype}")
    w = _as_tensor(weight, a.dtype) if not isinstance(weight, Tensor) else weight
    if w._data.dtype != a._data.dtype:
        raise DTypeError(f"lerp: weight has dtype {w.dtype} but input has dtype {a.dtype}; they must match")
    check_broadcast("lerp", a.shape, b.shape, w.shape)
    return Lerp.apply(a, b, w)


# ------------------------------------------------------------------ clamping
@public
def clamp_min(input, min):
    """``clamp(input, min=min)``."""
    return clamp(input, min=min)


@public
def clamp_max(input, max):
    """``clamp(input, max=max)``."""
    return clamp(input, max=max)


class NanToNum(Function):
    def forward(self, a, nan, posinf, neginf):
        self.finite = xp.isfinite(a)
        return xp.nan_to_num(a, nan=nan, posinf=posinf, neginf=neginf)

    saves_inputs = False

    def backward(self, g):
        return g * self.finite


@public
def nan_to_num(input, nan: float = 0.0, posinf=None, neginf=None):
    """NaN, +inf and -inf replaced by ``nan``, ``posinf`` and ``neginf`` (default: the dtype's extremes).

    The gradient flows through the finite elements only.
    """
    t = _as_tensor(input)
    if t._data.dtype.kind != "f":
        return Tensor._wrap(t._data.copy())
    return NanToNum.apply(t, nan=nan, posinf=posinf, neginf=neginf)


# ------------------------------------------------------ fused multiply-adds
@public
def addcmul(input, tensor1, tensor2, *, value=1):
    """``input + value * tensor1 * tensor2``."""
    prod = tensor1 * tensor2 if isinstance(tensor1, Tensor) else _as_tensor(tensor1) * tensor2
    return _as_tensor(input) + (prod if value == 1 else prod * value)


@public
def addcdiv(input, tensor1, tensor2, *, value=1):
    """``input + value * tensor1 / tensor2``."""
    quot = _as_tensor(tensor1) / tensor2
    return _as_tensor(input) + (quot if value == 1 else quot * value)
