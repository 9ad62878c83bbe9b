"""Tensor methods that make tensors like this one or fill it: ``new_zeros``, ``new_tensor``,
``uniform_``/``normal_``/``bernoulli_``; in-place forms of unary ops (``relu_``, ``sigmoid_``, ...);
and small queries (``stride``, ``nelement``, ``format(t, '.3f')``, ``gradstep.is_tensor``).

``new_*`` follow PyTorch: the new tensor takes this tensor's dtype unless
``dtype=`` says otherwise, never its data or graph.
"""
from __future__ import annotations

import numpy

from ..autograd.tensor import Tensor, _as_tensor
from ..backend import generator as _global_generator
from ..backend import xp
from ..errors import ArgumentTypeError, DTypeError, InvalidArgument, fmt_shape
from ._registry import PUBLIC, public


def _size(size, op):
    if len(size) == 1 and isinstance(size[0], (tuple, list)):
        size = tuple(size[0])
    if len(size) == 1 and isinstance(size[0], Tensor):
        size = tuple(size[0].tolist())
    for s in size:
        if not isinstance(s, (int, numpy.integer)) or isinstance(s, bool):
            raise DTypeError(f"{op}: size must be ints, got {tuple(size)!r}")
        if s < 0:
            raise InvalidArgument(f"{op}: size must be non-negative, got {tuple(size)}")
    return tuple(int(s) for s in size)


def _new(self, arr, requires_grad):
    t = Tensor._wrap(arr)
    if requires_grad:
        t.requires_grad_(True)
    return t


def _dtype(self, dtype):
    return self._data.dtype if dtype is None else numpy.dtype(dtype)


def new_zeros(self, *size, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """Zeros of ``size`` with this tensor's dtype (or ``dtype``)."""
    return _new(self, xp.zeros(_size(size, "new_zeros"), _dtype(self, dtype)), requires_grad)


def new_ones(self, *size, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """Ones of ``size`` with this tensor's dtype (or ``dtype``)."""
    return _new(self, xp.ones(_size(size, "new_ones"), _dtype(self, dtype)), requires_grad)


def new_empty(self, *size, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """An uninitialised tensor of ``size`` with this tensor's dtype (or ``dtype``)."""
    return _new(self, xp.empty(_size(size, "new_empty"), _dtype(self, dtype)), requires_grad)


def new_full(self, size, fill_value, *, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """``fill_value`` everywhere, of ``size``, with this tensor's dtype (or ``dtype``)."""
    value = fill_value._data if isinstance(fill_value, Tensor) else fill_value
    return _new(self, xp.full(_size((size,), "new_full"), value, _dtype(self, dtype)), requires_grad)


def new_tensor(self, data, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """A copy of ``data`` (outside any graph) with this tensor's dtype (or ``dtype``)."""
    arr = data._data if isinstance(data, Tensor) else xp.asarray(data)
    return _new(self, xp.array(arr, dtype=_dtype(self, dtype)), requires_grad)


# ------------------------------------------------------------ random fills
def _fill_random(self, op, draw):
    """Write ``draw(shape, float dtype)`` into this tensor in place, like ``fill_``."""
    if self._data.dtype.kind != "f":
        raise DTypeError(f"{op}: expected a floating point tensor, got dtype {self._data.dtype}")
    self._check_inplace_leaf()
    dtype = self._data.dtype if self._data.dtype in (xp.float32, xp.float64) else xp.float32
    self._data[...] = draw(self._data.shape, dtype)
    self._version[0] += 1
    if self._ctx is not None:  # the new values don't depend on the graph
        self._ctx = None
        self.requires_grad = False
    return self


def uniform_(self, a: float = 0.0, b: float = 1.0, *, generator=None, **kwargs) -> Tensor:
    """Fill in place with U(a, b) samples (PyTorch's ``from=``/``to=`` keywords are accepted)."""
    a, b = kwargs.pop("from", a), kwargs.pop("to", b)
    if kwargs:
        raise ArgumentTypeError(f"uniform_: unexpected keyword argument(s) {sorted(kwargs)}")
    rng = generator or _global_generator()
    return _fill_random(self, "uniform_", lambda shape, dt: rng.random(shape, dtype=dt) * (b - a) + a)


def normal_(self, mean: float = 0.0, std: float = 1.0, *, generator=None) -> Tensor:
    """Fill in place with N(mean, std^2) samples."""
    if std < 0:
        raise InvalidArgument(f"normal_: std must be non-negative, got {std}")
    rng = generator or _global_generator()
    return _fill_random(self, "normal_", lambda shape, dt: rng.standard_normal(shape, dtype=dt) * std + mean)


def bernoulli_(self, p=0.5, *, generator=None) -> Tensor:
    """Fill in place with 1 (probability ``p``, a number or a tensor) or 0."""
    prob = p._data if isinstance(p, Tensor) else p
    rng = generator or _global_generator()
    return _fill_random(self, "bernoulli_", lambda shape, dt: (rng.random(shape) < prob).astype(dt))


def exponential_(self, lambd: float = 1.0, *, generator=None) -> Tensor:
    """Fill in place with exponential samples of rate ``lambd``."""
    rng = generator or _global_generator()
    return _fill_random(self, "exponential_", lambda shape, dt: rng.standard_exponential(shape, dtype=dt) / lambd)


# ---------------------------------------------------------- in-place unary
def _inplace_method(name):
    def method(self, *args, **kwargs):
        op = PUBLIC[name]

        def apply(x, *a):
            return op(x, *a, **kwargs)

        apply.__name__ = name + "_"  # in-place errors name the method
        return self._inplace(apply, *args)

    method.__name__ = method.__qualname__ = name + "_"
    method.__doc__ = f"In-place ``{name}``: this tensor's storage takes the result."
    return method


_INPLACE = ("relu", "sigmoid", "tanh", "exp", "log", "sqrt", "rsqrt", "abs", "neg", "sin", "cos", "sign", "floor",
            "ceil", "round", "trunc", "frac", "reciprocal", "square", "log1p", "expm1", "clamp_min", "clamp_max",
            "lerp", "addcmul", "addcdiv", "remainder", "fmod", "nan_to_num", "logical_not", "leaky_relu",
            "erf", "atan2", "hypot", "sinh", "cosh", "tan", "atan", "asin", "acos", "log2", "log10", "exp2",
            "maximum", "minimum")

# ------------------------------------------------------------------ queries
def _stride(self, dim=None):
    """Element strides like PyTorch's (NumPy's byte strides divided by the item size)."""
    strides = tuple(s // self._data.itemsize for s in self._data.strides)
    if dim is None:
        return strides
    from ._helpers import normalize_dim

    return strides[normalize_dim(dim, self.ndim, "stride")]


def _format(self, spec: str) -> str:
    """``f"{t:.3f}"`` for a tensor of one element formats its value; others only take an empty spec."""
    if spec and self._data.size == 1:
        return format(self._data.reshape(()).item(), spec)
    if spec:
        raise ArgumentTypeError(
            f"unsupported format string {spec!r} for a tensor of shape {fmt_shape(self.shape)}; only tensors "
            f"with one element take a format spec (use t.item())"
        )
    return repr(self)


def _ndimension(self) -> int:
    return self.ndim


_METHODS = {
    "new_zeros": new_zeros, "new_ones": new_ones, "new_empty": new_empty, "new_full": new_full,
    "new_tensor": new_tensor, "uniform_": uniform_, "normal_": normal_, "bernoulli_": bernoulli_,
    "exponential_": exponential_, "stride": _stride, "nelement": Tensor.numel, "ndimension": _ndimension,
    "nbytes": property(lambda self: self._data.nbytes), "itemsize": property(lambda self: self._data.itemsize),
    "is_cuda": property(lambda self: False), "__format__": _format,
}
for _name, _fn in _METHODS.items():  # a method Tensor defines itself wins
    if _name not in Tensor.__dict__:
        setattr(Tensor, _name, _fn)


for _name in _INPLACE:  # the op is looked up when called, so the order modules are imported in doesn't matter
    if not hasattr(Tensor, _name + "_"):
        setattr(Tensor, _name + "_", _inplace_method(_name))


@public(method=False)
def is_tensor(obj) -> bool:
    """True if ``obj`` is a gradstep Tensor."""
    return isinstance(obj, Tensor)


@public(method=False)
def numel(input) -> int:
    """The number of elements of ``input``."""
    return _as_tensor(input).numel()


@public(method=False)
def is_floating_point(input) -> bool:
    return _as_tensor(input)._data.dtype.kind == "f"
