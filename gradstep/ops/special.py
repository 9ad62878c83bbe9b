"""Special functions: lgamma, digamma, polygamma, erfinv, i0, sinc, ndtr/ndtri/log_ndtr, entr,
xlog1py, mvlgamma; each with its derivative (lgamma' = digamma, digamma' = polygamma(1), ...).

NumPy has none of the gamma-family functions (and SciPy is not a dependency), so the array
kernels are written here. They compute in float64 and cast back, so float32 stays float32:

* ``lgamma``: Lanczos (g = 7, 9 terms) for ``x >= 0.5``, reflection
  ``log(pi / |sin(pi x)|) - lgamma(1 - x)`` below (``inf`` at the poles ``0, -1, -2, ...``).
* ``digamma``: upward recurrence ``psi(x) = psi(x + 1) - 1/x`` to ``x >= 10``, then the
  asymptotic series; reflection ``psi(1 - x) - pi / tan(pi x)`` below 0.5.
* ``polygamma(n >= 1)``: ``(-1)^(n+1) n! zeta(n + 1, x)`` with the Hurwitz zeta summed directly
  until ``x + k`` is large, then Euler-Maclaurin (as Cephes, which PyTorch uses, does).
* ``erfinv``: Giles' single-precision approximation refined by Newton steps, on ``erf`` in the
  centre and on ``log erfc`` in the tails (where ``1 - |y|`` is exact and erf would lose it).
"""
from __future__ import annotations

import math

from ..autograd.function import Function
from ..autograd.tensor import Tensor
from ..backend import xp
from ..errors import ArgumentTypeError, InvalidArgument
from ._registry import public
from .elementwise import _floating
from .math_extra import _binary

_LOG_2PI_HALF = 0.5 * math.log(2 * math.pi)
_SQRT_PI_HALF = math.sqrt(math.pi) / 2
_SQRT2 = math.sqrt(2.0)
_INV_SQRT_2PI = 1 / math.sqrt(2 * math.pi)

_erf64 = xp.vectorize(math.erf, otypes=[xp.float64])
_erfc64 = xp.vectorize(math.erfc, otypes=[xp.float64])


def _as64(x):
    return xp.asarray(x, dtype=xp.float64)


# ------------------------------------------------------------------ kernels (float64 arrays)
_LANCZOS_G = 7.0
_LANCZOS = (0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313,
            -176.61502916214059, 12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6,
            1.5056327351493116e-7)


def _lgamma_right(x):
    """``lgamma`` for ``x >= 0.5`` (Lanczos)."""
    z = x - 1.0
    a = xp.full_like(z, _LANCZOS[0])
    for i in range(1, len(_LANCZOS)):
        a += _LANCZOS[i] / (z + i)
    t = z + _LANCZOS_G + 0.5
    return _LOG_2PI_HALF + (z + 0.5) * xp.log(t) - t + xp.log(a)


def _abs_sinpi(x):
    """``|sin(pi x)|`` with ``x`` reduced to [-0.5, 0.5] first, so it is exactly 0 at integers."""
    return xp.abs(xp.sin(math.pi * (x - xp.round(x))))


def lgamma_array(x):
    """``log|Gamma(x)|`` of a float64 array."""
    x = _as64(x)
    with xp.errstate(divide="ignore", invalid="ignore", over="ignore"):
        left = x < 0.5
        right = _lgamma_right(xp.where(left, 1.0 - x, x))  # lgamma(1 - x) on the left
        refl = math.log(math.pi) - xp.log(_abs_sinpi(x)) - right
        out = xp.where(left, refl, right)
        out = xp.where(xp.isinf(x), xp.inf, out)  # lgamma(+-inf) = inf
        out = xp.where((x == 1) | (x == 2), 0.0, out)  # exact, as Gamma(1) = Gamma(2) = 1
    return out


_DIGAMMA_SERIES = (1 / 12, -1 / 120, 1 / 252, -1 / 240, 1 / 132, -691 / 32760, 1 / 12)


def digamma_array(x):
    """``psi(x) = Gamma'(x) / Gamma(x)`` of a float64 array (PyTorch's -inf at 0, NaN at negative integers)."""
    x = _as64(x)
    with xp.errstate(divide="ignore", invalid="ignore", over="ignore"):
        left = x < 0.5
        y = xp.where(left, 1.0 - x, x)
        acc = xp.zeros_like(y)
        for _ in range(10):  # y >= 0.5, so 10 steps reach 10
            small = y < 10.0
            if not small.any():
                break
            acc -= xp.where(small, 1.0 / y, 0.0)
            y = y + small
        z = 1.0 / (y * y)
        poly = xp.zeros_like(y)
        for c in reversed(_DIGAMMA_SERIES):
            poly = c + z * poly  # the signed coefficients: z/12 - z^2/120 + ...
        out = acc + xp.log(y) - 0.5 / y - z * poly
        r = x - xp.round(x)
        refl = out - math.pi / xp.tan(math.pi * r)
        out = xp.where(left, refl, out)
        out = xp.where((x <= 0) & (r == 0), xp.nan, out)
        out = xp.where(x == 0, xp.copysign(xp.inf, -x), out)
        out = xp.where(x == xp.inf, xp.inf, out)
        out = xp.where(x == -xp.inf, xp.nan, out)
    return out


# B_2j / (2j)!, j = 1..12 (Euler-Maclaurin tail of the Hurwitz zeta)
_B2J = (1 / 6, -1 / 30, 1 / 42, -1 / 30, 5 / 66, -691 / 2730, 7 / 6, -3617 / 510, 43867 / 798,
        -174611 / 330, 854513 / 138, -236364091 / 2730)
_EM = tuple(b / math.factorial(2 * j) for j, b in enumerate(_B2J, start=1))


_MAX_SHIFT = 1e6


def zeta_array(s, q):
    """Hurwitz zeta ``sum_k (q + k)^-s`` for an integer ``s >= 2`` on a float64 array ``q``."""
    q = _as64(q)
    edge = 12.0 + s
    with xp.errstate(divide="ignore", invalid="ignore", over="ignore"):
        pole = (q <= 0) & (q == xp.floor(q))
        # the direct sum takes -q steps: beyond _MAX_SHIFT the result is NaN rather than a long loop
        far = (q < -_MAX_SHIFT) & ~pole
        total = xp.zeros_like(q)
        a = xp.where(pole | far | xp.isnan(q), edge, q)
        while True:
            small = a < edge
            if not small.any():
                break
            total += xp.where(small, a ** -s, 0.0)
            a = a + small
        total += a ** (1 - s) / (s - 1) + 0.5 * a ** -s
        fact = float(s)     # s (s + 1) ... (s + 2j - 2)
        power = a ** (-s - 1)
        inv2 = 1.0 / (a * a)
        for j, coef in enumerate(_EM, start=1):
            total += coef * fact * power
            fact *= (s + 2 * j - 1) * (s + 2 * j)
            power = power * inv2
        total = xp.where(pole, xp.inf, xp.where(far | xp.isnan(q), xp.nan, total))
    return total


def polygamma_array(n, x):
    """``psi^(n)(x)``, the n-th derivative of digamma, of a float64 array."""
    if n == 0:
        return digamma_array(x)
    x = _as64(x)
    sign = 1.0 if n % 2 else -1.0
    with xp.errstate(invalid="ignore", over="ignore"):
        out = sign * math.factorial(n) * zeta_array(n + 1, x)
        out = xp.where(x == xp.inf, 0.0, out)
        out = xp.where(x == -xp.inf, xp.nan, out)
    return out


_GILES_CENTRE = (2.81022636e-08, 3.43273939e-07, -3.5233877e-06, -4.39150654e-06, 0.00021858087,
                 -0.00125372503, -0.00417768164, 0.246640727, 1.50140941)
_GILES_TAIL = (-0.000200214257, 0.000100950558, 0.00134934322, -0.00367342844, 0.00573950773,
               -0.0076224613, 0.00943887047, 1.00167406, 2.83297682)


def _horner(coefs, w):
    p = xp.full_like(w, coefs[0])
    for c in coefs[1:]:
        p = c + p * w
    return p


def _erfinv_abs(a, q):
    """``erfinv(a)`` for ``a = |y|`` in [0, 1), given ``q = 1 - a`` exactly."""
    with xp.errstate(divide="ignore", invalid="ignore", over="ignore", under="ignore"):
        w = -xp.log(q * (1.0 + a))
        x = xp.where(w < 5.0, _horner(_GILES_CENTRE, w - 2.5), _horner(_GILES_TAIL, xp.sqrt(w) - 3.0)) * a
        # beyond Giles' float32 range (q < 1e-11), start from erfc(x) ~ exp(-x^2) / (x sqrt(pi))
        lq = -xp.log(q)
        x0 = xp.sqrt(xp.maximum(lq, 1.0))
        deep = xp.sqrt(xp.maximum(lq - xp.log(x0 * math.sqrt(math.pi)), 1.0))
        x = xp.where(w > 25.0, deep, x)
        centre = a < 0.5
        logq = xp.log(q)
        for _ in range(3):
            bell = (2 / math.sqrt(math.pi)) * xp.exp(-x * x)
            # centre: Newton on erf(x) = a; tails: Newton on log erfc(x) = log q
            ec = _erfc64(x)
            step_c = (_erf64(x) - a) / bell
            step_t = (xp.log(ec) - logq) * ec / -bell
            x = x - xp.where(centre, step_c, step_t)
    return x


def erfinv_array(y):
    """The inverse error function of a float64 array: ``erf(erfinv(y)) = y``, +-inf at +-1, NaN beyond."""
    y = _as64(y)
    a = xp.abs(y)
    inside = a < 1.0
    a_in = xp.where(inside, a, 0.0)
    out = xp.sign(y) * _erfinv_abs(a_in, 1.0 - a_in)
    with xp.errstate(invalid="ignore"):
        out = xp.where(a == 1.0, xp.sign(y) * xp.inf, out)
        out = xp.where((a > 1.0) | xp.isnan(y), xp.nan, out)
    return out


def _ndtri_array(p):
    """``Phi^-1(p) = -sqrt(2) erfcinv(2p)``, exact in the lower tail (where ``2p`` is the small ``q``)."""
    p = _as64(p)
    with xp.errstate(invalid="ignore"):
        lower = p < 0.5
        q = xp.where(lower, 2.0 * p, 2.0 * (1.0 - p))  # erfc(|x| / sqrt2) = q
        ok = (q > 0) & (q <= 1)
        qs = xp.where(ok, q, 1.0)
        x = _SQRT2 * _erfinv_abs(1.0 - qs, qs)
        out = xp.where(lower, -x, x)
        out = xp.where(p == 0, -xp.inf, xp.where(p == 1, xp.inf, out))
        out = xp.where((p < 0) | (p > 1) | xp.isnan(p), xp.nan, out)
    return out


def _log_ndtr_array(x):
    """``log Phi(x)``: from erfc down to -20, the asymptotic series below (where erfc underflows)."""
    x = _as64(x)
    with xp.errstate(divide="ignore", invalid="ignore", over="ignore", under="ignore"):
        mid = xp.where(x > 0, xp.log1p(-0.5 * _erfc64(x / _SQRT2)), xp.log(0.5 * _erfc64(-x / _SQRT2)))
        xs = xp.where(x < -20, x, -20.0)
        z = 1.0 / (xs * xs)
        series, term = xp.ones_like(xs), xp.ones_like(xs)
        for k in range(1, 12):
            term = -term * (2 * k - 1) * z
            series = series + term
        tail = -0.5 * xs * xs - xp.log(-xs) - _LOG_2PI_HALF + xp.log(series)
        return xp.where(x < -20, tail, mid)


def _i1_array(x):
    """The modified Bessel function I1 (i0's derivative): power series below |x| = 20, asymptotic above."""
    x = _as64(x)
    ax = xp.abs(x)
    with xp.errstate(over="ignore", invalid="ignore", divide="ignore"):
        small = xp.where(ax < 20, ax, 0.0)
        h = 0.25 * small * small
        term = 0.5 * small
        series = term.copy()
        for k in range(1, 80):
            term = term * h / (k * (k + 1))
            series += term
        big = xp.where(ax >= 20, ax, 20.0)
        inv8 = 1.0 / (8 * big)
        asym, coef = xp.ones_like(big), xp.ones_like(big)
        for k in range(1, 30):
            coef = -coef * (4.0 - (2 * k - 1) ** 2) * inv8 / k
            asym = asym + coef
        large = xp.exp(big) / xp.sqrt(2 * math.pi * big) * asym
        out = xp.where(ax < 20, series, large)
    return xp.sign(x) * out


# ----------------------------------------------------------------- Functions
def _cast_like(out, a):
    return xp.asarray(out, dtype=a.dtype)


class _Special(Function):
    """``f(x)`` elementwise computed in float64 and cast back; ``f'`` likewise, from ``x`` or the output."""
    f = df = None

    def forward(self, a):
        out = _cast_like(self.f(a), a)
        if self.saves_output:
            self.out = out
        else:
            self.a = a
        return out

    def backward(self, g):
        src = self.out if self.saves_output else self.a
        return g * _cast_like(self.df(src), g)


def _special(name, f, df, from_output=False):
    return type(name, (_Special,), dict(f=staticmethod(f), df=staticmethod(df), saves_output=from_output,
                                        saves_inputs=not from_output))


def _sinc(a):
    a = _as64(a)
    with xp.errstate(invalid="ignore", divide="ignore"):
        pa = math.pi * a
        return xp.where(a == 0, 1.0, xp.sin(pa) / pa)


def _dsinc(a):
    a = _as64(a)
    with xp.errstate(invalid="ignore", divide="ignore"):
        pa = math.pi * a
        return xp.where(a == 0, 0.0, (pa * xp.cos(pa) - xp.sin(pa)) / (pa * a))


def _entr(a):
    a = _as64(a)
    with xp.errstate(invalid="ignore", divide="ignore"):
        out = xp.where(a > 0, -a * xp.log(xp.where(a > 0, a, 1.0)), xp.where(a == 0, 0.0, -xp.inf))
    return xp.where(xp.isnan(a), a, out)


def _dentr(a):
    with xp.errstate(invalid="ignore", divide="ignore"):
        return -(1.0 + xp.log(_as64(a)))


def _ndtr(a):
    return 0.5 * _erfc64(-_as64(a) / _SQRT2)


def _dndtr(a):
    a = _as64(a)
    return _INV_SQRT_2PI * xp.exp(-0.5 * a * a)


def _dlog_ndtr(a):
    a = _as64(a)
    with xp.errstate(over="ignore"):
        return _INV_SQRT_2PI * xp.exp(-0.5 * a * a - _log_ndtr_array(a))


Lgamma = _special("Lgamma", lgamma_array, digamma_array)
Digamma = _special("Digamma", digamma_array, lambda a: polygamma_array(1, a))
Erfinv = _special("Erfinv", erfinv_array, lambda out: _SQRT_PI_HALF * xp.exp(_as64(out) ** 2), from_output=True)
I0 = _special("I0", lambda a: xp.i0(_as64(a)), _i1_array)
Sinc = _special("Sinc", _sinc, _dsinc)
Entr = _special("Entr", _entr, _dentr)
Ndtr = _special("Ndtr", _ndtr, _dndtr)
LogNdtr = _special("LogNdtr", _log_ndtr_array, _dlog_ndtr)
Ndtri = _special("Ndtri", _ndtri_array, lambda out: 1.0 / _dndtr(out), from_output=True)


class Polygamma(Function):
    """``psi^(n)(x)``; its derivative is ``psi^(n+1)(x)``."""

    def forward(self, a, n):
        self.a, self.n = a, n
        return _cast_like(polygamma_array(n, a), a)

    def backward(self, g):
        return g * _cast_like(polygamma_array(self.n + 1, self.a), g)


class Xlog1py(Function):
    """``x * log1p(y)``, 0 where ``x`` is 0 (unless ``y`` is NaN)."""

    def forward(self, x, y):
        self.x, self.y = x, y
        with xp.errstate(divide="ignore", invalid="ignore"):
            return xp.where(x == 0, xp.where(xp.isnan(y), y, 0), x * xp.log1p(y)).astype(x.dtype, copy=False)

    def backward(self, g):
        gx, gy = self.needs_input_grad
        x, y = self.x, self.y
        with xp.errstate(divide="ignore", invalid="ignore"):
            grad_x = xp.where((x == 0) & (y <= -1), 0, g * xp.log1p(y)).astype(g.dtype, copy=False) if gx else None
            grad_y = g * x / (y + 1) if gy else None
        return grad_x, grad_y


def _unary(cls, name, doc):
    def op(input):
        return cls.apply(_floating(input, name))

    op.__name__ = op.__qualname__ = name
    op.__doc__ = doc
    return op


lgamma = public(_unary(Lgamma, "lgamma", "``log|Gamma(x)|`` elementwise (``inf`` at 0, -1, -2, ...); gradient digamma."))
digamma = public(_unary(Digamma, "digamma", "``psi(x) = d/dx lgamma(x)`` elementwise; gradient polygamma(1, x)."))
erfinv = public(_unary(Erfinv, "erfinv", "The inverse of erf on (-1, 1): +-inf at +-1, NaN outside."))
i0 = public(_unary(I0, "i0", "The modified Bessel function of the first kind, order 0; gradient I1."))
sinc = public(_unary(Sinc, "sinc", "The normalised sinc ``sin(pi x) / (pi x)``, 1 at 0."))
entr = _unary(Entr, "entr", "``-x log x`` elementwise (0 at 0, -inf for negative x).")
ndtr = _unary(Ndtr, "ndtr", "The standard normal CDF ``Phi(x)``.")
ndtri = _unary(Ndtri, "ndtri", "The standard normal quantile ``Phi^-1(p)``, exact in both tails.")
log_ndtr = _unary(LogNdtr, "log_ndtr", "``log Phi(x)``, finite far into the lower tail.")


def _check_n(op, n, what="n"):
    if isinstance(n, Tensor):
        n = n.item()
    if isinstance(n, bool) or not isinstance(n, int):
        raise ArgumentTypeError(f"{op}: {what} must be an int, got {type(n).__name__}")
    return n


@public(method=False)
def polygamma(n, input):
    """The ``n``-th derivative of digamma (``polygamma(0, x) = digamma(x)``), for ``n >= 0``."""
    n = _check_n("polygamma", n)
    if n < 0:
        raise InvalidArgument(f"polygamma: polygamma(n, x) does not support negative n, got n={n}")
    return Polygamma.apply(_floating(input, "polygamma"), n=n)


def _polygamma_method(self, n):
    return polygamma(n, self)


_polygamma_method.__name__ = "polygamma"
_polygamma_method.__doc__ = "``polygamma(n, self)``."
Tensor.polygamma = _polygamma_method


def xlog1py(input, other):
    """``input * log1p(other)``, defined as 0 where ``input`` is 0 (unless ``other`` is NaN)."""
    return _binary(Xlog1py, input, other, "xlog1py", float_result=True)


@public
def mvlgamma(input, p):
    """The multivariate log-gamma ``sum_i lgamma(x - i/2) + p (p-1)/4 log(pi)``, for ``x > (p - 1)/2``."""
    p = _check_n("mvlgamma", p, "p")
    if p < 1:
        raise InvalidArgument(f"mvlgamma: p has to be greater than or equal to 1, got p={p}")
    x = _floating(input, "mvlgamma")
    if x.numel() and not bool((x._data > (p - 1) / 2).all()):
        raise InvalidArgument(f"mvlgamma: all elements must be greater than (p-1)/2 = {(p - 1) / 2}, "
                              f"got min {float(xp.nanmin(x._data)) if not xp.isnan(x._data).all() else 'nan'}")
    offsets = Tensor._wrap(-xp.arange(p, dtype=x.dtype) / 2)
    return lgamma(x.unsqueeze(-1) + offsets).sum(-1) + p * (p - 1) / 4 * math.log(math.pi)
