"""Weight initialisation, in place, with PyTorch's formulas (``torch.nn.init``).

Every function fills ``tensor`` in place (keeping its dtype and storage),
outside the graph, drawing from the global generator that
``gradstep.manual_seed`` resets (or from ``generator=``, a NumPy Generator),
and returns ``tensor``.

Fan computation: for a weight of shape ``(out, in, *kernel)``,
``fan_in = in * prod(kernel)`` and ``fan_out = out * prod(kernel)``.
"""
from __future__ import annotations

import math
import warnings

from .. import backend
from ..autograd.tensor import Tensor
from ..backend import xp
from ..errors import ArgumentTypeError, DTypeError, InvalidArgument, ShapeError, fmt_shape

__all__ = [
    "calculate_gain", "uniform_", "normal_", "constant_", "zeros_", "ones_", "eye_", "dirac_",
    "xavier_uniform_", "xavier_normal_", "kaiming_uniform_", "kaiming_normal_", "trunc_normal_",
    "orthogonal_",
]


def _gen(generator):
    return backend.generator() if generator is None else generator


def _fill(tensor: Tensor, values, op: str) -> Tensor:
    """Write ``values`` into ``tensor``'s array in place (cast to its dtype) and bump its version."""
    if not isinstance(tensor, Tensor):
        raise ArgumentTypeError(f"init.{op}: expected a gradstep Tensor, got {type(tensor).__name__}")
    tensor._data[...] = values
    tensor._version[0] += 1
    return tensor


def _require_float(tensor, op):
    if not isinstance(tensor, Tensor):
        raise ArgumentTypeError(f"init.{op}: expected a gradstep Tensor, got {type(tensor).__name__}")
    if tensor._data.dtype.kind != "f":
        raise DTypeError(f"init.{op}: expected a floating point tensor, got dtype {tensor._data.dtype}")


def calculate_gain(nonlinearity: str, param=None) -> float:
    """The recommended gain for a nonlinearity (PyTorch's table).

    linear/conv/sigmoid: 1; tanh: 5/3; relu: sqrt(2);
    leaky_relu: sqrt(2 / (1 + negative_slope^2)) (slope ``param``, default 0.01); selu: 3/4.
    """
    linear_fns = ["linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d", "conv_transpose3d"]
    if nonlinearity in linear_fns or nonlinearity == "sigmoid":
        return 1
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        if param is None:
            negative_slope = 0.01
        elif not isinstance(param, bool) and isinstance(param, (int, float)):
            negative_slope = param
        else:
            raise InvalidArgument(f"init.calculate_gain: negative_slope {param!r} not a valid number "
                                  f"(expected an int or a float for 'leaky_relu')")
        return math.sqrt(2.0 / (1 + negative_slope**2))
    if nonlinearity == "selu":
        return 3.0 / 4
    raise InvalidArgument(f"init.calculate_gain: Unsupported nonlinearity {nonlinearity!r} (expected one of "
                          f"linear, conv1d, conv2d, sigmoid, tanh, relu, leaky_relu, selu)")


def _calculate_fan_in_and_fan_out(tensor: Tensor):
    if tensor.ndim < 2:
        raise ShapeError(
            f"init: fan in and fan out can not be computed for a tensor with fewer than 2 dimensions, "
            f"got shape {fmt_shape(tensor.shape)}"
        )
    receptive = 1
    for s in tensor.shape[2:]:
        receptive *= s
    return tensor.shape[1] * receptive, tensor.shape[0] * receptive


def _calculate_correct_fan(tensor, mode):
    mode = mode.lower()
    if mode not in ("fan_in", "fan_out"):
        raise InvalidArgument(f"init: Mode {mode} not supported, please use one of fan_in, fan_out")
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    return fan_in if mode == "fan_in" else fan_out


def uniform_(tensor: Tensor, a: float = 0.0, b: float = 1.0, generator=None) -> Tensor:
    """Fill with values from U(a, b)."""
    _require_float(tensor, "uniform_")
    return _fill(tensor, _gen(generator).uniform(a, b, tensor.shape), "uniform_")


def normal_(tensor: Tensor, mean: float = 0.0, std: float = 1.0, generator=None) -> Tensor:
    """Fill with values from N(mean, std^2)."""
    _require_float(tensor, "normal_")
    return _fill(tensor, _gen(generator).normal(mean, std, tensor.shape), "normal_")


def trunc_normal_(tensor: Tensor, mean: float = 0.0, std: float = 1.0, a: float = -2.0, b: float = 2.0,
                  generator=None) -> Tensor:
    """Fill with N(mean, std^2) values restricted to [a, b] (redrawn until they fall inside)."""
    _require_float(tensor, "trunc_normal_")
    if not a < b:
        raise InvalidArgument(f"init.trunc_normal_: need a < b, got a={a}, b={b}")
    gen = _gen(generator)
    values = gen.normal(mean, std, tensor.shape)
    bad = (values < a) | (values > b)
    for _ in range(1000):
        n = int(bad.sum())
        if n == 0:
            break
        values[bad] = gen.normal(mean, std, n)
        bad = (values < a) | (values > b)
    else:  # [a, b] far in a tail: clip the few stragglers rather than loop forever
        values = xp.clip(values, a, b)
    return _fill(tensor, values, "trunc_normal_")


def constant_(tensor: Tensor, val: float) -> Tensor:
    """Fill with ``val``."""
    return _fill(tensor, val, "constant_")


def zeros_(tensor: Tensor) -> Tensor:
    return _fill(tensor, 0, "zeros_")


def ones_(tensor: Tensor) -> Tensor:
    return _fill(tensor, 1, "ones_")


def eye_(tensor: Tensor) -> Tensor:
    """Fill a 2-d tensor with the identity matrix (ones on the diagonal)."""
    if tensor.ndim != 2:
        raise ShapeError(f"init.eye_: only 2-dimensional tensors are supported, got shape {fmt_shape(tensor.shape)}")
    return _fill(tensor, xp.eye(*tensor.shape, dtype=tensor.dtype), "eye_")


def dirac_(tensor: Tensor, groups: int = 1) -> Tensor:
    """Fill a conv weight (3-, 4- or 5-d) with the Dirac delta, preserving the identity of the input channels."""
    if tensor.ndim not in (3, 4, 5):
        raise ShapeError(f"init.dirac_: only 3, 4 or 5-dimensional tensors are supported, got shape {fmt_shape(tensor.shape)}")
    if tensor.shape[0] % groups != 0:
        raise InvalidArgument(f"init.dirac_: dim 0 must be divisible by groups, got shape {fmt_shape(tensor.shape)} "
                              f"and groups={groups}")
    out_per_group = tensor.shape[0] // groups
    min_dim = min(out_per_group, tensor.shape[1])
    arr = xp.zeros(tensor.shape, dtype=tensor.dtype)
    centre = tuple(s // 2 for s in tensor.shape[2:])
    for g in range(groups):
        for d in range(min_dim):
            arr[(g * out_per_group + d, d) + centre] = 1
    return _fill(tensor, arr, "dirac_")


def xavier_uniform_(tensor: Tensor, gain: float = 1.0, generator=None) -> Tensor:
    """Glorot uniform: U(-a, a) with ``a = gain * sqrt(6 / (fan_in + fan_out))``."""
    _require_float(tensor, "xavier_uniform_")
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    std = gain * math.sqrt(2.0 / float(fan_in + fan_out))
    bound = math.sqrt(3.0) * std
    return _fill(tensor, _gen(generator).uniform(-bound, bound, tensor.shape), "xavier_uniform_")


def xavier_normal_(tensor: Tensor, gain: float = 1.0, generator=None) -> Tensor:
    """Glorot normal: N(0, std^2) with ``std = gain * sqrt(2 / (fan_in + fan_out))``."""
    _require_float(tensor, "xavier_normal_")
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    std = gain * math.sqrt(2.0 / float(fan_in + fan_out))
    return _fill(tensor, _gen(generator).normal(0.0, std, tensor.shape), "xavier_normal_")


def _kaiming_std(tensor, a, mode, nonlinearity, op):
    _require_float(tensor, op)
    fan = _calculate_correct_fan(tensor, mode)
    gain = calculate_gain(nonlinearity, a)
    return gain / math.sqrt(fan)


def kaiming_uniform_(tensor: Tensor, a: float = 0, mode: str = "fan_in", nonlinearity: str = "leaky_relu",
                     generator=None) -> Tensor:
    """He uniform: U(-bound, bound) with ``bound = gain * sqrt(3 / fan_mode)``.

    ``Linear`` and ``Conv`` use ``a=sqrt(5)``, which gives bound = 1/sqrt(fan_in).
    """
    if 0 in tensor.shape:
        warnings.warn("Initializing zero-element tensors is a no-op")
        return tensor
    std = _kaiming_std(tensor, a, mode, nonlinearity, "kaiming_uniform_")
    bound = math.sqrt(3.0) * std
    return _fill(tensor, _gen(generator).uniform(-bound, bound, tensor.shape), "kaiming_uniform_")


def kaiming_normal_(tensor: Tensor, a: float = 0, mode: str = "fan_in", nonlinearity: str = "leaky_relu",
                    generator=None) -> Tensor:
    """He normal: N(0, std^2) with ``std = gain / sqrt(fan_mode)``."""
    if 0 in tensor.shape:
        warnings.warn("Initializing zero-element tensors is a no-op")
        return tensor
    std = _kaiming_std(tensor, a, mode, nonlinearity, "kaiming_normal_")
    return _fill(tensor, _gen(generator).normal(0.0, std, tensor.shape), "kaiming_normal_")


def orthogonal_(tensor: Tensor, gain: float = 1.0, generator=None) -> Tensor:
    """A (semi-)orthogonal matrix from the QR decomposition of a Gaussian one, times ``gain``.

    Dimensions after the first are flattened, as in PyTorch.
    """
    _require_float(tensor, "orthogonal_")
    if tensor.ndim < 2:
        raise ShapeError(f"init.orthogonal_: only tensors with 2 or more dimensions are supported, got shape {fmt_shape(tensor.shape)}")
    if tensor.numel() == 0:
        return tensor
    rows = tensor.shape[0]
    cols = tensor.numel() // rows
    flat = _gen(generator).normal(0.0, 1.0, (rows, cols))
    if rows < cols:
        flat = flat.T
    q, r = xp.linalg.qr(flat)
    q = q * xp.sign(xp.diag(r))  # make the decomposition unique (uniform over orthogonal matrices)
    if rows < cols:
        q = q.T
    return _fill(tensor, (gain * q).reshape(tensor.shape), "orthogonal_")


# PyTorch's deprecated aliases without the trailing underscore are not provided on purpose.
