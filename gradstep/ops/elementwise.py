"""Elementwise ops: arithmetic, math functions and activations.

Each primitive is a ``Function`` with its forward and its vector-Jacobian
product a few lines apart. Gradients of broadcast inputs keep the output's
shape here; the engine sums them back (``engine.sum_to_shape``).
"""
from __future__ import annotations

import math

from .. import native
from ..autograd.function import Function
from ..autograd.tensor import Tensor, _as_tensor
from ..backend import xp
from ._helpers import binary_operands, check_broadcast, copy_like
from ._registry import public
from ..errors import InvalidArgument


def _binary(cls, a, b, op, float_result=False):
    ta, tb = binary_operands(a, b, op, float_result)
    if ta._data.shape != tb._data.shape:
        check_broadcast(op, ta._data.shape, tb._data.shape)
    return cls.apply(ta, tb)


def _floating(x, op):
    """``x`` as a Tensor, with integer inputs promoted to float32 as PyTorch does for math functions."""
    t = _as_tensor(x)
    if t._data.dtype.kind not in "fc":
        from ..backend import default_dtype

        t = Tensor._wrap(t._data.astype(default_dtype()))
    return t


# ------------------------------------------------------------------ arithmetic
class Add(Function):
    saves_inputs = False

    def forward(self, a, b):
        return a + b

    def backward(self, g):
        return g, g


class Sub(Function):
    saves_inputs = False

    def forward(self, a, b):
        return a - b

    def backward(self, g):
        return g, (-g if self.needs_input_grad[1] else None)


class Mul(Function):
    def forward(self, a, b):
        self.a, self.b = a, b
        return a * b

    def backward(self, g):
        ga, gb = self.needs_input_grad
        return (g * self.b if ga else None), (g * self.a if gb else None)


class Div(Function):
    def forward(self, a, b):
        self.a, self.b = a, b
        return a / b

    def backward(self, g):
        ga, gb = self.needs_input_grad
        grad_a = g / self.b if ga else None
        grad_b = -g * self.a / (self.b * self.b) if gb else None
        return grad_a, grad_b


class Pow(Function):
    def forward(self, a, b):
        self.a, self.b = a, b
        self.out = a**b
        return self.out

    def backward(self, g):
        a, b = self.a, self.b
        grad_a = grad_b = None
        if self.needs_input_grad[0]:
            if b.ndim == 0 and b == 2:
                grad_a = g * (2 * a)
            else:
                # d/da a^b = b a^(b-1), defined as 0 where b == 0 (as PyTorch does)
                grad_a = xp.where(b == 0, 0, g * b * a ** (b - 1))
        if self.needs_input_grad[1]:
            grad_b = xp.where((a == 0) & (b >= 0), 0, g * self.out * xp.log(a))
        return grad_a, grad_b


class Neg(Function):
    saves_inputs = False

    def forward(self, a):
        return -a

    def backward(self, g):
        return -g


@public
def add(input, other, *, alpha=1):
    """``input + alpha * other``, broadcasting."""
    if alpha != 1:
        other = mul(other, alpha)
    return _binary(Add, input, other, "add")


@public
def sub(input, other, *, alpha=1):
    """``input - alpha * other``, broadcasting."""
    if alpha != 1:
        other = mul(other, alpha)
    return _binary(Sub, input, other, "sub")


@public
def mul(input, other):
    """Elementwise product, broadcasting."""
    return _binary(Mul, input, other, "mul")


@public(aliases=("true_divide",))
def div(input, other):
    """True division; integer inputs give float32 like PyTorch."""
    return _binary(Div, input, other, "div", float_result=True)


@public
def pow(input, exponent):
    """``input ** exponent``, broadcasting."""
    return _binary(Pow, input, exponent, "pow")


@public
def neg(input):
    return Neg.apply(_as_tensor(input))


# --------------------------------------------------------- unary math functions
class Exp(Function):
    saves_inputs, saves_output = False, True

    def forward(self, a):
        self.out = xp.exp(a)
        return self.out

    def backward(self, g):
        return g * self.out


class Log(Function):
    def forward(self, a):
        self.a = a
        return xp.log(a)

    def backward(self, g):
        return g / self.a


class Sqrt(Function):
    saves_inputs, saves_output = False, True

    def forward(self, a):
        self.out = xp.sqrt(a)
        return self.out

    def backward(self, g):
        return g / (2 * self.out)


class Rsqrt(Function):
    saves_inputs, saves_output = False, True

    def forward(self, a):
        self.out = 1 / xp.sqrt(a)
        return self.out

    def backward(self, g):
        return -0.5 * g * self.out**3


class Abs(Function):
    def forward(self, a):
        self.a = a
        return xp.abs(a)

    def backward(self, g):
        return g * xp.sign(self.a)


class Sign(Function):
    saves_inputs = False

    def forward(self, a):
        return xp.sign(a)

    def backward(self, g):
        return xp.zeros_like(g)


class Sin(Function):
    def forward(self, a):
        self.a = a
        return xp.sin(a)

    def backward(self, g):
        return g * xp.cos(self.a)


class Cos(Function):
    def forward(self, a):
        self.a = a
        return xp.cos(a)

    def backward(self, g):
        return -g * xp.sin(self.a)


@public
def exp(input):
    return Exp.apply(_floating(input, "exp"))


@public
def log(input):
    return Log.apply(_floating(input, "log"))


@public
def sqrt(input):
    return Sqrt.apply(_floating(input, "sqrt"))


@public
def rsqrt(input):
    return Rsqrt.apply(_floating(input, "rsqrt"))


@public(aliases=("absolute",))
def abs(input):
    return Abs.apply(_as_tensor(input))


@public
def sign(input):
    return Sign.apply(_as_tensor(input))


@public
def sin(input):
    return Sin.apply(_floating(input, "sin"))


@public
def cos(input):
    return Cos.apply(_floating(input, "cos"))


# ----------------------------------------------------------------- activations
class Tanh(Function):
    saves_inputs, saves_output = False, True

    def forward(self, a):
        self.out = xp.tanh(a)
        return self.out

    def backward(self, g):
        return g * (1 - self.out * self.out)


def _sigmoid(a):
    # 0.5 * (1 + tanh(a / 2)) never overflows, unlike 1 / (1 + exp(-a)).
    out = xp.tanh(a * 0.5)
    out *= 0.5
    out += 0.5
    return out


class Sigmoid(Function):
    saves_inputs, saves_output = False, True

    def forward(self, a):
        self.out = _sigmoid(a)
        return self.out

    def backward(self, g):
        return g * self.out * (1 - self.out)


def _dense_rows(a):
    """``a``'s memory as a C-contiguous 2-D array with rows of at least a few hundred values, and the
    function that turns such an array (same memory order) back into ``a``'s shape and layout; None
    when ``a``'s elements are not one dense block.

    NumPy's loops against a broadcast operand (``maximum(a, 0)``) run 2-3x faster on long rows
    against a row of constants than elementwise against a scalar or on short inner dims.
    """
    if a.ndim == 0 or a.size == 0:
        return None
    if a.flags.c_contiguous:
        perm = None
        dense = a
    else:
        perm = sorted(range(a.ndim), key=lambda i: -a.strides[i])
        dense = a.transpose(perm)
        if not dense.flags.c_contiguous:
            return None
    shape = dense.shape
    width, i = 1, len(shape)
    while i > 0 and width < 256:
        i -= 1
        width *= shape[i]
    rows = dense.reshape(-1, width)
    if perm is None:
        return rows, lambda r: r.reshape(shape)
    inverse = [perm.index(i) for i in range(a.ndim)]
    return rows, lambda r: r.reshape(shape).transpose(inverse)


_NATIVE_FLOATS = (xp.dtype(xp.float32), xp.dtype(xp.float64))


def _relu(a):
    if native.kernels is not None and a.dtype in _NATIVE_FLOATS:
        out = xp.empty_like(a)  # same layout as a (channels-last stays channels-last)
        src, dst = native.flat_view(a), native.flat_view(out)
        if src is not None and dst is not None and out.strides == a.strides:
            native.kernels.relu(src, dst)
            return out
    dense = _dense_rows(a) if a.dtype.kind == "f" else None
    if dense is None:
        return xp.maximum(a, 0)
    rows, back = dense
    return back(xp.maximum(rows, xp.zeros(rows.shape[1], a.dtype)))


class Relu(Function):
    saves_inputs, saves_output = False, True

    def forward(self, a):
        self.out = _relu(a)
        return self.out

    def backward(self, g):
        return relu_grad(g, self.out)


def relu_grad(g, out):
    """The gradient through a ReLU whose output was ``out``: ``g`` where ``out > 0``, else 0 (a new array)."""
    kernels = native.kernels
    if kernels is not None and g.dtype == out.dtype and g.dtype in _NATIVE_FLOATS and g.shape == out.shape:
        if g.strides != out.strides:  # e.g. an NCHW gradient of a channels-last output (after a flatten):
            g = copy_like(out, g)
        dx = xp.empty_like(out)
        flats = (native.flat_view(g), native.flat_view(out), native.flat_view(dx))
        if dx.strides == out.strides and all(f is not None for f in flats):
            kernels.relu_backward(*flats)  # one pass: dx = g where out > 0 else 0
            return dx
    return g * (out > 0)


class LeakyRelu(Function):
    def forward(self, a, negative_slope):
        self.mask, self.slope = a > 0, negative_slope
        return xp.where(self.mask, a, a * xp.asarray(negative_slope, dtype=a.dtype))

    def backward(self, g):
        return xp.where(self.mask, g, g * xp.asarray(self.slope, dtype=g.dtype))


class Gelu(Function):
    """GELU, exact ``x Φ(x)`` or the tanh approximation PyTorch offers.

    float32 exact GELU runs the compiled kernel when built, else :func:`_gelu_pieces` (the same
    maths in NumPy: no float64 temporaries, cache-sized pieces); both also compute the derivative
    ``Φ(x) + x φ(x)`` when a gradient is needed: backward is then one multiply, and the node
    keeps that array instead of the input.
    """

    saves_inputs = False  # backward reads only what forward kept on self

    def forward(self, a, approximate):
        self.approximate = approximate
        if approximate == "tanh":
            self.a = a.copy() if self.needs_input_grad[0] else None
            k = math.sqrt(2 / math.pi)
            self.t = xp.tanh(k * (a + 0.044715 * a**3))
            return 0.5 * a * (1 + self.t)
        if a.dtype == xp.float32:
            if native.kernels is not None:  # one pass instead of ~25
                a = xp.ascontiguousarray(a)
                out = xp.empty_like(a)
                self.slope = xp.empty_like(a) if self.needs_input_grad[0] else None
                native.kernels.gelu(a.reshape(-1), out.reshape(-1), None if self.slope is None else self.slope.reshape(-1))
                return out
            out, self.slope = _gelu_pieces(a, self.needs_input_grad[0])
            return out
        self.slope = None
        self.a = a.copy() if self.needs_input_grad[0] else None
        self.cdf = 0.5 * (1 + erf(a * (1 / math.sqrt(2))))
        return a * self.cdf

    def backward(self, g):
        if self.approximate == "tanh":
            a, t = self.a, self.t
            k = math.sqrt(2 / math.pi)
            dt = (1 - t * t) * k * (1 + 3 * 0.044715 * a * a)
            return g * (0.5 * (1 + t) + 0.5 * a * dt)
        if self.slope is not None:
            return g * self.slope
        a = self.a
        pdf = xp.exp(-0.5 * a * a) * (1 / math.sqrt(2 * math.pi))
        return g * (self.cdf + a * pdf)


class Silu(Function):
    def forward(self, a):
        self.a = a
        self.s = _sigmoid(a)
        return a * self.s

    def backward(self, g):
        s = self.s
        return g * (s * (1 + self.a * (1 - s)))


class Softplus(Function):
    def forward(self, a, beta, threshold):
        self.a, self.beta, self.threshold = a, beta, threshold
        z = a * beta
        soft = xp.log1p(xp.exp(xp.minimum(z, threshold))) / beta
        return xp.where(z > threshold, a, soft).astype(a.dtype, copy=False)

    def backward(self, g):
        z = self.a * self.beta
        return g * xp.where(z > self.threshold, 1, _sigmoid(z)).astype(g.dtype, copy=False)


class Clamp(Function):
    def forward(self, a, lo, hi):
        self.a, self.lo, self.hi = a, lo, hi
        return xp.clip(a, lo, hi).astype(a.dtype, copy=False)

    def backward(self, g):
        a, mask = self.a, None
        if self.lo is not None:
            mask = a >= self.lo
        if self.hi is not None:
            mask = (a <= self.hi) if mask is None else mask & (a <= self.hi)
        return g if mask is None else g * mask


@public
def tanh(input):
    return Tanh.apply(_floating(input, "tanh"))


@public
def sigmoid(input):
    return Sigmoid.apply(_floating(input, "sigmoid"))


@public
def relu(input):
    return Relu.apply(_as_tensor(input))


@public
def leaky_relu(input, negative_slope: float = 0.01):
    return LeakyRelu.apply(_as_tensor(input), negative_slope=negative_slope)


@public
def gelu(input, approximate: str = "none"):
    """GELU: ``x Φ(x)`` (``approximate='none'``) or its tanh approximation (``'tanh'``)."""
    if approximate not in ("none", "tanh"):
        raise InvalidArgument(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")
    t = _floating(input, "gelu")
    return Gelu.apply(t, approximate=approximate)


@public
def silu(input):
    return Silu.apply(_floating(input, "silu"))


@public
def softplus(input, beta: float = 1.0, threshold: float = 20.0):
    return Softplus.apply(_floating(input, "softplus"), beta=beta, threshold=threshold)


@public(aliases=("clip",))
def clamp(input, min=None, max=None):
    """Limit values to ``[min, max]``; the gradient flows where the value was inside (inclusive)."""
    if min is None and max is None:
        raise InvalidArgument("clamp: at least one of min and max must be given")
    t = _as_tensor(input)
    lo = min._data if isinstance(min, Tensor) else min
    hi = max._data if isinstance(max, Tensor) else max
    return Clamp.apply(t, lo=lo, hi=hi)


# ------------------------------------------------------- selection of values
class Maximum(Function):
    def forward(self, a, b):
        self.a, self.b = a, b
        return xp.maximum(a, b)

    def backward(self, g):
        # Ties split the gradient evenly, as PyTorch does.
        a, b = self.a, self.b
        share = xp.where(a == b, g * 0.5, g)
        return xp.where(a < b, 0, share), xp.where(b < a, 0, share)


class Minimum(Function):
    def forward(self, a, b):
        self.a, self.b = a, b
        return xp.minimum(a, b)

    def backward(self, g):
        a, b = self.a, self.b
        share = xp.where(a == b, g * 0.5, g)
        return xp.where(a > b, 0, share), xp.where(b > a, 0, share)


class Where(Function):
    def forward(self, cond, a, b):
        self.cond = cond
        return xp.where(cond, a, b)

    def backward(self, g):
        _, ga, gb = self.needs_input_grad
        zero = xp.zeros((), dtype=g.dtype)
        return None, (xp.where(self.cond, g, zero) if ga else None), (xp.where(self.cond, zero, g) if gb else None)


@public
def maximum(input, other):
    return _binary(Maximum, input, other, "maximum")


@public
def minimum(input, other):
    return _binary(Minimum, input, other, "minimum")


@public(method=False)
def where(condition, input, other):
    """``input`` where ``condition`` holds, else ``other`` (all three broadcast)."""
    cond = _as_tensor(condition)
    if cond._data.dtype != bool:
        from ._helpers import DTypeError

        raise DTypeError(f"where: condition must be a bool tensor, got dtype {cond._data.dtype}")
    a, b = binary_operands(input, other, "where")
    check_broadcast("where", cond.shape, a.shape, b.shape)
    return Where.apply(cond, a, b)


def _where_method(self, condition, other):
    """``x.where(condition, y)``: x where condition holds, else y (PyTorch's Tensor.where)."""
    return where(condition, self, other)


Tensor.where = _where_method


# -------------------------------------------------------------- dtype and copy
class Cast(Function):
    saves_inputs = False

    def forward(self, a, dtype):
        self.dtype = a.dtype
        return a.astype(dtype)

    def backward(self, g):
        return g.astype(self.dtype)


class Clone(Function):
    saves_inputs = False

    def forward(self, a):
        return a.copy()

    def backward(self, g):
        return g


def cast(input: Tensor, dtype) -> Tensor:
    """``input`` converted to ``dtype``; differentiable between floating dtypes."""
    if xp.dtype(dtype).kind not in "fc":
        with xp.errstate(invalid="ignore"):  # NaN/inf to int is unspecified, as in PyTorch: no warning
            return Tensor._wrap(input._data.astype(dtype))
    return Cast.apply(input, dtype=dtype)


@public
def clone(input):
    """A copy with its own storage; gradients flow back to ``input``."""
    return Clone.apply(_as_tensor(input))


# ------------------------------------------------------- cache-sized pieces
_PIECE = 1 << 16
"""Elements per piece of a long elementwise kernel. A kernel makes ~25 passes;
on pieces this size its few float32 scratch buffers stay in L2, so the passes
run at cache speed instead of memory speed (measured ~1.2x over whole arrays,
3x over pieces of 4096)."""


def _pieces(n):
    return [(lo, min(n, lo + _PIECE)) for lo in range(0, n, _PIECE)]


# GELU: Φ(-|x|) = exp(-x²/2) R(|x|), with R(a) = P(a) / Q(a) a rational fit (our own, relative error
# 4e-7 in float64) of 0.5 exp(a²/2) erfc(a / √2) on [0, 14]; Φ(x) = 1 - Φ(-x). In float32 Φ has
# absolute error below 2.5e-7 and keeps relative accuracy in the tail, where x Φ(x) is tiny
# (PyTorch's float32 gelu loses it there).
_GELU_P = (11.700054087794246, 8.470014453996113, 2.7969636255563377, 0.39889557334431824)
_GELU_Q = (23.400117046287583, 35.61018069489836, 22.310171499310425, 7.0062050301922625)
_GELU_CLAMP = 14.0  # Φ(-14) underflows float32; clamping keeps P and Q finite for huge |x|


def _gelu_pieces(x, slope):
    """Exact GELU of a float32 array in float32: ``(x Φ(x), Φ(x) + x φ(x) or None)``."""
    xf = xp.ascontiguousarray(x).reshape(-1)
    n = xf.size
    y = xp.empty(n, xp.float32)
    d = xp.empty(n, xp.float32) if slope else None
    size = min(n, _PIECE)
    bufs = [xp.empty(size, xp.float32) for _ in range(4)] + [xp.empty(size, xp.bool_)]
    limit = xp.full(size, _GELU_CLAMP, xp.float32)  # two-array minimum/maximum: NumPy's array-scalar ones are
    zero = xp.zeros(size, xp.float32)               # several times slower
    with xp.errstate(over="ignore", invalid="ignore"):  # x² of a huge x is inf, exp(-inf) = 0 is right
        for lo, hi in _pieces(n):
            _gelu_piece(xf[lo:hi], y[lo:hi], None if d is None else d[lo:hi], bufs, limit, zero)
    return y.reshape(x.shape), (None if d is None else d.reshape(x.shape))


def _gelu_piece(v, y, d, bufs, limit, zero):
    p0, p1, p2, p3 = _GELU_P
    q0, q1, q2, q3 = _GELU_Q
    k = v.shape[0]
    a, b, c, e, m = (buf[:k] for buf in bufs)
    xp.abs(v, out=a)
    xp.minimum(a, limit[:k], out=a)  # beyond 14, h below is 0 anyway
    xp.multiply(a, p3, out=b)
    b += p2
    b *= a
    b += p1
    b *= a
    b += p0
    xp.add(a, q3, out=c)
    c *= a
    c += q2
    c *= a
    c += q1
    c *= a
    c += q0
    b /= c                          # R(|x|)
    xp.multiply(v, v, out=e)
    e *= -0.5
    xp.exp(e, out=e)                # exp(-x²/2)
    b *= e                          # h = Φ(-|x|)
    xp.multiply(a, b, out=c)        # |x| h
    xp.maximum(v, zero[:k], out=y)
    y -= c                          # x Φ(x) = max(x, 0) - |x| Φ(-|x|)
    if d is None:
        return
    xp.greater(v, 0, out=m)
    xp.multiply(b, -2.0, out=c)
    c += 1.0
    c *= m
    c += b                          # Φ(x) = h, or 1 - h where x > 0
    e *= v
    e *= 1 / math.sqrt(2 * math.pi)  # x φ(x)
    xp.add(c, e, out=d)


# ------------------------------------------------------------ error function
_ERF_P = 0.3275911
_ERF_A = (0.254829592, -0.284496736, 1.421413741, -1.453152027, 1.061405429)


def erf(x):
    """The error function on an array.

    float64 arrays use ``math.erf`` (exact, for gradient checks); other dtypes
    a vectorised rational approximation (Abramowitz & Stegun 7.1.26, absolute
    error below 1.5e-7, i.e. at float32 precision).
    """
    if x.dtype == xp.float64:
        return xp.vectorize(math.erf, otypes=[xp.float64])(x) if x.size else x.copy()
    ax = xp.abs(x).astype(xp.float64)
    t = 1.0 / (1.0 + _ERF_P * ax)
    poly = t * (_ERF_A[0] + t * (_ERF_A[1] + t * (_ERF_A[2] + t * (_ERF_A[3] + t * _ERF_A[4]))))
    y = 1.0 - poly * xp.exp(-ax * ax)
    return (xp.sign(x) * y).astype(x.dtype)
