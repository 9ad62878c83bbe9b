"""Convolution layers: ``Conv1d``, ``Conv2d``, ``ConvTranspose1d``, ``ConvTranspose2d``."""
from __future__ import annotations

import numbers

from ..errors import ArgumentTypeError, InvalidArgument, ShapeError, fmt_shape
from . import functional as F
from ._checks import check_sizes
from .linear import _empty, _reset_weight_and_bias
from .module import Module

__all__ = ["Conv1d", "Conv2d", "ConvTranspose1d", "ConvTranspose2d"]

_PADDING_MODES = ("zeros", "reflect", "replicate", "circular")


def _tuple(value, n: int, name: str, layer: str, minimum: int = 0) -> tuple:
    """``value`` as an ``n``-tuple of ints >= ``minimum``; the error names ``layer`` and the argument."""
    values = tuple(value) if isinstance(value, (tuple, list)) else (value,) * n
    if len(values) != n:
        raise InvalidArgument(f"{layer}: {name} must be an int or a tuple of {n} ints, got {name}={value!r}")
    if not all(isinstance(v, numbers.Integral) and not isinstance(v, bool) for v in values):
        raise ArgumentTypeError(f"{layer}: {name} must be an int or a tuple of {n} ints, got {name}={value!r}")
    if any(v < minimum for v in values):
        raise InvalidArgument(f"{layer}: {name} must be >= {minimum}, got {name}={value!r}")
    return tuple(int(v) for v in values)


class _ConvNd(Module):
    _dims: int
    _spatial: str
    _transposed = False

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0, dilation=1,
                 groups: int = 1, bias: bool = True, padding_mode: str = "zeros", output_padding=0,
                 device=None, dtype=None):
        super().__init__()
        name, n = type(self).__name__, self._dims
        check_sizes(name, in_channels=in_channels, out_channels=out_channels)
        check_sizes(name, 1, groups=groups)
        if in_channels % groups != 0:
            raise InvalidArgument(f"{name}: in_channels ({in_channels}) must be divisible by groups ({groups}); "
                                  f"got in_channels={in_channels}, groups={groups}")
        if out_channels % groups != 0:
            raise InvalidArgument(f"{name}: out_channels ({out_channels}) must be divisible by groups ({groups}); "
                                  f"got out_channels={out_channels}, groups={groups}")
        if padding_mode not in _PADDING_MODES:
            raise InvalidArgument(f"{name}: padding_mode must be one of {', '.join(map(repr, _PADDING_MODES))}, "
                                  f"got padding_mode={padding_mode!r}")
        self.in_channels, self.out_channels = in_channels, out_channels
        self.kernel_size = _tuple(kernel_size, n, "kernel_size", name, 1)
        self.stride = _tuple(stride, n, "stride", name, 1)
        self.dilation = _tuple(dilation, n, "dilation", name, 1)
        self.output_padding = _tuple(output_padding, n, "output_padding", name)
        self.groups, self.padding_mode, self.transposed = groups, padding_mode, self._transposed
        if isinstance(padding, str):
            if padding not in ("same", "valid"):
                raise InvalidArgument(f"{name}: Invalid padding string {padding!r}, should be one of {{'valid', 'same'}} "
                                      f"(or ints)")
            if padding == "same" and any(s != 1 for s in self.stride):
                raise InvalidArgument(f"{name}: padding='same' is not supported for strided convolutions "
                                      f"(stride={self.stride})")
            self.padding = padding
        else:
            self.padding = _tuple(padding, n, "padding", name)
        # F.pad order (last dim first, (left, right) each) for the non-zero padding modes.
        if padding == "same":
            total = [d * (k - 1) for d, k in zip(self.dilation, self.kernel_size)]
            self._reversed_padding_repeated_twice = [
                v for t in reversed(total) for v in (t // 2, t - t // 2)
            ]
        elif padding == "valid":
            self._reversed_padding_repeated_twice = [0, 0] * n
        else:
            self._reversed_padding_repeated_twice = [p for p in reversed(self.padding) for _ in range(2)]
        if self._transposed:
            shape = (in_channels, out_channels // groups) + self.kernel_size
        else:
            shape = (out_channels, in_channels // groups) + self.kernel_size
        self.weight = _empty(shape, dtype)
        if bias:
            self.bias = _empty((out_channels,), dtype)
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        _reset_weight_and_bias(self.weight, self.bias)

    def _check_input(self, x) -> None:
        shape = getattr(x, "shape", None)
        n = self._dims
        if shape is None:
            raise ArgumentTypeError(f"{self._label()} expected a Tensor input, got {type(x).__name__}")
        c = self.in_channels
        if len(shape) not in (n + 1, n + 2) or shape[-n - 1] != c:
            raise ShapeError(
                f"{self._label()} expected input (N, {c}, {self._spatial}) or ({c}, {self._spatial}) "
                f"with {c} channels, got {fmt_shape(shape)}"
            )

    def _label(self) -> str:
        return f"{type(self).__name__}({self.extra_repr()})"

    def extra_repr(self) -> str:
        s = f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}"
        if self.padding != (0,) * len(self.padding):
            s += f", padding={self.padding}"
        if self.dilation != (1,) * len(self.dilation):
            s += f", dilation={self.dilation}"
        if self.output_padding != (0,) * len(self.output_padding):
            s += f", output_padding={self.output_padding}"
        if self.groups != 1:
            s += f", groups={self.groups}"
        if self.bias is None:
            s += ", bias=False"
        if self.padding_mode != "zeros":
            s += f", padding_mode={self.padding_mode}"
        return s


class _Conv(_ConvNd):
    _fn = "conv2d"

    def forward(self, input):
        shape = getattr(input, "shape", None)
        if shape is None or len(shape) < self._dims + 1 or shape[-self._dims - 1] != self.in_channels:
            self._check_input(input)
        conv = getattr(F, self._fn)
        params = self._parameters
        if self.padding_mode != "zeros":
            input = F.pad(input, self._reversed_padding_repeated_twice, mode=self.padding_mode)
            return conv(input, params["weight"], params["bias"], self.stride, 0, self.dilation, self.groups)
        return conv(input, params["weight"], params["bias"], self.stride, self.padding, self.dilation, self.groups)


class Conv1d(_Conv):
    """1-d convolution over ``(N, C_in, L)``.

    Args:
        in_channels, out_channels: channels of input and output.
        kernel_size, stride, padding (int, tuple, ``'valid'`` or ``'same'``), dilation, groups, bias:
            as ``torch.nn.Conv1d``.
        padding_mode: ``'zeros'`` (default), ``'reflect'``, ``'replicate'`` or ``'circular'``.

    Shape:
        ``(N, C_in, L)`` -> ``(N, C_out, L_out)``, ``L_out = (L + 2p - d(k-1) - 1) // s + 1``.
    """

    _dims, _spatial, _fn = 1, "L", "conv1d"

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0, dilation=1,
                 groups: int = 1, bias: bool = True, padding_mode: str = "zeros", device=None, dtype=None):
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation, groups, bias,
                         padding_mode, 0, device, dtype)


class Conv2d(_Conv):
    """2-d convolution over ``(N, C_in, H, W)``.

    Args:
        in_channels, out_channels: channels of input and output.
        kernel_size, stride, padding (int, pair, ``'valid'`` or ``'same'``), dilation, groups, bias:
            as ``torch.nn.Conv2d``.
        padding_mode: ``'zeros'`` (default), ``'reflect'``, ``'replicate'`` or ``'circular'``.

    Shape:
        ``(N, C_in, H, W)`` -> ``(N, C_out, H_out, W_out)``, ``H_out = (H + 2p - d(k-1) - 1) // s + 1``.
    """

    _dims, _spatial, _fn = 2, "H, W", "conv2d"

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0, dilation=1,
                 groups: int = 1, bias: bool = True, padding_mode: str = "zeros", device=None, dtype=None):
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation, groups, bias,
                         padding_mode, 0, device, dtype)


class _ConvTranspose(_ConvNd):
    _transposed = True
    _fn = "conv_transpose2d"

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0, output_padding=0,
                 groups: int = 1, bias: bool = True, dilation=1, padding_mode: str = "zeros", device=None, dtype=None):
        if padding_mode != "zeros":
            raise InvalidArgument(f"{type(self).__name__}: only padding_mode='zeros' is supported, "
                                  f"got padding_mode={padding_mode!r}")
        if isinstance(padding, str):
            raise InvalidArgument(f"{type(self).__name__}: padding must be an int or a tuple of ints, got {padding!r}")
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation, groups, bias,
                         padding_mode, output_padding, device, dtype)

    def _output_padding(self, input, output_size):
        if output_size is None:
            return self.output_padding
        n = self._dims
        output_size = tuple(output_size)[-n:]
        if len(output_size) != n:
            raise InvalidArgument(f"{type(self).__name__}: output_size must have {n} or {n + 2} elements, got {output_size}")
        spatial = tuple(input.shape[-n:])
        result = []
        for i in range(n):
            smallest = ((spatial[i] - 1) * self.stride[i] - 2 * self.padding[i]
                        + self.dilation[i] * (self.kernel_size[i] - 1) + 1)
            extra = output_size[i] - smallest
            if not 0 <= extra < max(self.stride[i], self.dilation[i]):
                raise InvalidArgument(
                    f"{type(self).__name__}: requested an output size of {output_size}, but valid sizes range from "
                    f"{smallest} to {smallest + max(self.stride[i], self.dilation[i]) - 1} along dim {i}"
                )
            result.append(extra)
        return tuple(result)

    def forward(self, input, output_size=None):
        self._check_input(input)
        output_padding = self._output_padding(input, output_size)
        return getattr(F, self._fn)(input, self.weight, self.bias, self.stride, self.padding, output_padding,
                                    self.groups, self.dilation)


class ConvTranspose1d(_ConvTranspose):
    """1-d transposed convolution (the gradient of ``Conv1d`` w.r.t. its input).

    Shape:
        ``(N, C_in, L)`` -> ``(N, C_out, L_out)``, ``L_out = (L-1)s - 2p + d(k-1) + output_padding + 1``.
    """

    _dims, _spatial, _fn = 1, "L", "conv_transpose1d"


class ConvTranspose2d(_ConvTranspose):
    """2-d transposed convolution (the gradient of ``Conv2d`` w.r.t. its input), e.g. for upsampling.

    Shape:
        ``(N, C_in, H, W)`` -> ``(N, C_out, H_out, W_out)``,
        ``H_out = (H-1)s - 2p + d(k-1) + output_padding + 1``.
    """

    _dims, _spatial, _fn = 2, "H, W", "conv_transpose2d"
