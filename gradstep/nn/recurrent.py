"""Recurrent layers ``RNN``, ``LSTM``, ``GRU`` and their one-step cells, with torch.nn's API.

Parameter names, shapes and gate orders are PyTorch's (``weight_ih_l0``, ``bias_hh_l1_reverse``,
LSTM gates i, f, g, o; GRU gates r, z, n), so a torch ``state_dict`` loads unchanged.

Everything is built from differentiable ops, so autograd gives the backward. Per layer and
direction the input projection of the whole sequence is one GEMM; only the hidden-state
recurrence loops over time. A :class:`~gradstep.nn.utils.rnn.PackedSequence` input runs each
sequence over its own length only (``_packed_layers``), as torch's layers do.
"""
from __future__ import annotations

import math
import warnings

from .. import backend, ops
from ..autograd.tensor import Tensor
from ..backend import xp
from ..errors import ArgumentTypeError, DTypeError, InvalidArgument, ShapeError, fmt_shape
from . import functional as F
from . import init
from ._checks import check_probability, check_sizes
from .module import Module
from .parameter import Parameter
from .utils.rnn import PackedSequence

__all__ = ["RNN", "LSTM", "GRU", "RNNCell", "LSTMCell", "GRUCell"]

_GATES = {"RNN_TANH": 1, "RNN_RELU": 1, "LSTM": 4, "GRU": 3}


# ------------------------------------------------------------------ the maths
def _input_projection(mode, x, w_ih, b_ih, b_hh):
    """``x @ W_ih^T`` plus the biases that can be added once for all time steps.

    RNN and LSTM add ``b_ih + b_hh`` here; GRU only ``b_ih``, because its ``b_hn`` sits
    inside ``r * (W_hn h + b_hn)``.
    """
    if b_ih is None:
        return F.linear(x, w_ih)
    if mode == "GRU":
        return F.linear(x, w_ih, b_ih)
    return F.linear(x, w_ih, b_ih + b_hh)


def _step(mode, xw, state, w_hh, b_hh, w_hr):
    """One time step from the projected input ``xw`` (N, gates * H); returns ``(h', state')``.

    ``state`` is ``(h,)``, or ``(h, c)`` for LSTM. ``F.linear(h, W_hh, xw)`` adds ``xw`` as the
    bias, so the recurrent GEMM and the sum of both projections are one node.
    """
    h = state[0]
    if mode == "RNN_TANH":
        h = F.linear(h, w_hh, xw).tanh()
        return h, (h,)
    if mode == "RNN_RELU":
        h = F.linear(h, w_hh, xw).relu()
        return h, (h,)
    if mode == "LSTM":
        i, f, g, o = F.linear(h, w_hh, xw).chunk(4, 1)
        c = f.sigmoid() * state[1] + i.sigmoid() * g.tanh()
        h = o.sigmoid() * c.tanh()
        if w_hr is not None:
            h = F.linear(h, w_hr)
        return h, (h, c)
    # GRU: n = tanh(W_in x + b_in + r * (W_hn h + b_hn)); h' = (1 - z) * n + z * h
    x_r, x_z, x_n = xw.chunk(3, 1)
    h_r, h_z, h_n = F.linear(h, w_hh, b_hh).chunk(3, 1)
    r = (x_r + h_r).sigmoid()
    z = (x_z + h_z).sigmoid()
    n = (x_n + r * h_n).tanh()
    h = n + z * (h - n)
    return h, (h,)


def _time_steps(seq) -> list:
    """The slices ``seq[t]`` of a time-major ``(L, ...)`` tensor.

    Each slice's backward writes its gradient into zeros the size of its source, so slicing
    L steps straight from the sequence costs O(L^2) in backward; slicing blocks of about
    sqrt(L) steps first, then the steps of each block, costs O(L^1.5).
    """
    length = seq.shape[0]
    if length <= 16:
        return list(seq.unbind(0))
    block = math.isqrt(length - 1) + 1
    return [step for part in seq.split(block, 0) for step in part.unbind(0)]


def _packed_steps(data, sizes) -> list:
    """The rows ``data[offset_t : offset_t + sizes[t]]`` of each step of packed ``data``.

    Split in blocks of about sqrt(T) steps first, for the reason given in ``_time_steps``.
    """
    if len(sizes) <= 16:
        return list(data.split(sizes, 0))
    block = math.isqrt(len(sizes) - 1) + 1
    groups = [sizes[i:i + block] for i in range(0, len(sizes), block)]
    parts = data.split([sum(group) for group in groups], 0)
    return [step for part, group in zip(parts, groups) for step in part.split(group, 0)]


def _run_packed(mode, steps, sizes, state, w_hh, b_hh, w_hr, reverse):
    """One direction over packed steps; returns the outputs per step and the final state of every
    sequence (rows in packed order).

    Packed columns are sorted by decreasing length, so the sequences running at step t are the
    first ``sizes[t]`` rows. Forwards, rows whose sequence has ended are set aside as they are
    (their final state); backwards, each sequence joins with its initial state at its last step.
    """
    outputs = [None] * len(sizes)
    if not reverse:
        done = []
        for t, size in enumerate(sizes):
            if size < state[0].shape[0]:
                done.append(tuple(s[size:] for s in state))
                state = tuple(s[:size] for s in state)
            outputs[t], state = _step(mode, steps[t], state, w_hh, b_hh, w_hr)
        parts = [state] + done[::-1]
        final = tuple(ops.cat([part[j] for part in parts], 0) if len(parts) > 1 else state[j]
                      for j in range(len(state)))
        return outputs, final
    initial = state
    state = tuple(s[:sizes[-1]] for s in initial)
    for t in reversed(range(len(sizes))):
        size = sizes[t]
        if size > state[0].shape[0]:
            state = tuple(ops.cat([s, s0[s.shape[0]:size]], 0) for s, s0 in zip(state, initial))
        outputs[t], state = _step(mode, steps[t], state, w_hh, b_hh, w_hr)
    return outputs, state


def _zeros(shape, dtype) -> Tensor:
    return Tensor._wrap(xp.zeros(shape, dtype=dtype))


# ------------------------------------------------------------------ checks
def _check_bool(layer, **flags):
    for name, value in flags.items():
        if not isinstance(value, bool):
            raise ArgumentTypeError(f"{layer}: {name} should be of type bool, got {name}={value!r} "
                                    f"({type(value).__name__})")


def _check_nonlinearity(layer, nonlinearity):
    if nonlinearity not in ("tanh", "relu"):
        raise InvalidArgument(f"{layer}: unknown nonlinearity {nonlinearity!r}; select from 'tanh' or 'relu'")


def _require_tensor(layer, name, value):
    if not isinstance(value, Tensor):
        raise ArgumentTypeError(f"{layer}: expected {name} to be a gradstep Tensor, got {type(value).__name__}")


def _check_dtype(layer, name, value, dtype):
    if value.dtype != dtype:
        raise DTypeError(f"{layer}: {name} dtype ({value.dtype}) does not match weight dtype ({dtype}); "
                         f"convert it with .to({dtype}) or the module with .to({value.dtype})")


def _check_state(layer, name, value, expected, dtype):
    _require_tensor(layer, name, value)
    if tuple(value.shape) != expected:
        raise ShapeError(f"{layer}: expected {name} of shape {fmt_shape(expected)}, got {fmt_shape(value.shape)}")
    _check_dtype(layer, name, value, dtype)


def _empty_param(shape, dtype) -> Parameter:
    return Parameter(Tensor._wrap(xp.empty(shape, dtype=backend.default_dtype() if dtype is None else xp.dtype(dtype))))


def _reset_uniform(module) -> None:
    """PyTorch's reset: every weight and bias from U(-1/sqrt(hidden_size), 1/sqrt(hidden_size))."""
    bound = 1.0 / math.sqrt(module.hidden_size) if module.hidden_size > 0 else 0
    for param in module.parameters():
        init.uniform_(param, -bound, bound)


# ------------------------------------------------------------------ layers
class _RNNBase(Module):
    """Shared by RNN, LSTM and GRU: parameters named as torch's, argument checks, the layer loop."""

    def __init__(self, mode: str, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                 batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False,
                 proj_size: int = 0, device=None, dtype=None):
        super().__init__()
        layer = type(self).__name__
        check_sizes(layer, 1, input_size=input_size, hidden_size=hidden_size, num_layers=num_layers)
        check_sizes(layer, 0, proj_size=proj_size)
        _check_bool(layer, bias=bias, batch_first=batch_first, bidirectional=bidirectional)
        check_probability(layer, "dropout", dropout, "dropout probability")
        if proj_size >= hidden_size and proj_size:
            raise InvalidArgument(f"{layer}: proj_size has to be smaller than hidden_size, "
                                  f"got proj_size={proj_size}, hidden_size={hidden_size}")
        if dropout > 0 and num_layers == 1:
            warnings.warn(f"{layer}: dropout adds dropout after all but the last recurrent layer, so non-zero "
                          f"dropout expects num_layers greater than 1, but got dropout={dropout} and "
                          f"num_layers={num_layers}", stacklevel=3)
        self.mode = mode
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.bias = bias
        self.batch_first = batch_first
        self.dropout = float(dropout)
        self.bidirectional = bidirectional
        self.proj_size = proj_size

        gate_size = _GATES[mode] * hidden_size
        out_size = proj_size or hidden_size
        directions = 2 if bidirectional else 1
        self._all_weights = []
        for k in range(num_layers):
            layer_input_size = input_size if k == 0 else out_size * directions
            for d in range(directions):
                suffix = f"_l{k}" + ("_reverse" if d else "")
                shapes = [("weight_ih", (gate_size, layer_input_size)), ("weight_hh", (gate_size, out_size))]
                if bias:
                    shapes += [("bias_ih", (gate_size,)), ("bias_hh", (gate_size,))]
                if proj_size:
                    shapes += [("weight_hr", (proj_size, hidden_size))]
                for name, shape in shapes:
                    setattr(self, name + suffix, _empty_param(shape, dtype))
                self._all_weights.append([name + suffix for name, _ in shapes])
        self._flat_weights_names = [name for names in self._all_weights for name in names]
        self.reset_parameters()

    def reset_parameters(self) -> None:
        _reset_uniform(self)

    @property
    def all_weights(self) -> list:
        """The parameters of each layer and direction, in torch's order."""
        return [[getattr(self, name) for name in names] for names in self._all_weights]

    def flatten_parameters(self) -> None:
        """No-op (PyTorch packs the weights for cuDNN here); kept so PyTorch scripts run."""

    # ------------------------------------------------------------ forward
    def _check_input(self, input):
        layer = type(self).__name__
        _require_tensor(layer, "input", input)
        if input.ndim not in (2, 3):
            layout = "(N, L, H_in)" if self.batch_first else "(L, N, H_in)"
            raise ShapeError(f"{layer}: expected input of 2 dims (L, H_in) unbatched or 3 dims {layout}, "
                             f"got {input.ndim} dims, shape {fmt_shape(input.shape)}")
        if input.shape[-1] != self.input_size:
            raise ShapeError(f"{layer}: expected input with {self.input_size} features (input_size) in its last dim, "
                             f"got shape {fmt_shape(input.shape)}")
        weight = self._parameters["weight_ih_l0"]
        _check_dtype(layer, "input", input, weight.dtype)
        if input.shape[0 if input.ndim == 2 or not self.batch_first else 1] == 0:
            raise ShapeError(f"{layer}: expected sequence length to be larger than 0, got input of shape "
                             f"{fmt_shape(input.shape)}")

    def _initial_states(self, hx, batched: bool, batch: int, dtype) -> list:
        """The initial state of each layer and direction: a list of ``(h,)`` or ``(h, c)``."""
        layer = type(self).__name__
        count = self.num_layers * (2 if self.bidirectional else 1)
        sizes = [self.proj_size or self.hidden_size] + ([self.hidden_size] if self.mode == "LSTM" else [])
        if hx is None:
            return [tuple(_zeros((batch, size), dtype) for size in sizes) for _ in range(count)]
        if self.mode == "LSTM":
            if not isinstance(hx, (tuple, list)) or len(hx) != 2:
                raise ArgumentTypeError(f"{layer}: expected hx to be a tuple (h_0, c_0) of two Tensors, "
                                        f"got {type(hx).__name__}")
            names, states = ("h_0", "c_0"), list(hx)
        else:
            names, states = ("hx",), [hx]
        for i, (name, state, size) in enumerate(zip(names, states, sizes)):
            if batched:
                _check_state(layer, name, state, (count, batch, size), dtype)
            else:
                _check_state(layer, name, state, (count, size), dtype)
                states[i] = state.unsqueeze(1)
        return list(zip(*[state.unbind(0) for state in states]))

    def forward(self, input, hx=None):
        """Run the whole sequence; returns ``output, h_n`` (``output, (h_n, c_n)`` for LSTM).

        With a :class:`PackedSequence` input, each sequence runs over its own length: output is
        a PackedSequence like the input, h_n (and c_n) the state at each sequence's last step
        (the reverse direction's at its first), in the original batch order.
        """
        if isinstance(input, PackedSequence):
            return self._forward_packed(input, hx)
        self._check_input(input)
        batched = input.ndim == 3
        if not batched:
            x = input.unsqueeze(1)  # time-major (L, N, H_in) from here on
        else:
            x = input.transpose(0, 1) if self.batch_first else input
        states = self._initial_states(hx, batched, x.shape[1], x.dtype)
        output, finals = self._layers(x, states, stack_dim=1 if batched and self.batch_first else 0)
        final = [ops.stack([state[j] for state in finals], 0) for j in range(len(finals[0]))]
        if not batched:
            output = output.squeeze(1)
            final = [state.squeeze(1) for state in final]
        if self.mode == "LSTM":
            return output, (final[0], final[1])
        return output, final[0]

    def _forward_packed(self, packed, hx):
        layer = type(self).__name__
        data = packed.data
        _require_tensor(layer, "input.data", data)
        if data.ndim != 2 or data.shape[-1] != self.input_size:
            raise ShapeError(f"{layer}: expected packed data of shape (sum of lengths, {self.input_size}), "
                             f"got {fmt_shape(data.shape)}")
        _check_dtype(layer, "input", data, self._parameters["weight_ih_l0"].dtype)
        sizes = [int(n) for n in packed.batch_sizes._data.tolist()]
        if not sizes or sum(sizes) != data.shape[0]:
            raise ShapeError(f"{layer}: packed batch_sizes {sizes} do not add up to the {data.shape[0]} rows of "
                             f"its data")
        sorted_indices, unsorted_indices = packed.sorted_indices, packed.unsorted_indices
        states = self._initial_states(hx, True, sizes[0], data.dtype)
        if hx is not None and sorted_indices is not None:  # hx is in the user's batch order
            states = [tuple(ops.index_select(s, 0, sorted_indices) for s in state) for state in states]
        output, finals = self._packed_layers(data, sizes, states)
        final = [ops.stack([state[j] for state in finals], 0) for j in range(len(finals[0]))]
        if unsorted_indices is not None:
            final = [ops.index_select(state, 1, unsorted_indices) for state in final]
        output = PackedSequence(output, packed.batch_sizes, sorted_indices, unsorted_indices)
        if self.mode == "LSTM":
            return output, (final[0], final[1])
        return output, final[0]

    def _packed_layers(self, x, sizes, states):
        """``_layers`` over packed rows ``x`` with ``sizes[t]`` sequences running at step t."""
        mode, params = self.mode, self._parameters
        directions = 2 if self.bidirectional else 1
        finals = []
        for k in range(self.num_layers):
            outputs = []
            for d in range(directions):
                suffix = f"_l{k}" + ("_reverse" if d else "")
                w_ih, w_hh = params["weight_ih" + suffix], params["weight_hh" + suffix]
                b_ih, b_hh = params.get("bias_ih" + suffix), params.get("bias_hh" + suffix)
                steps = _packed_steps(_input_projection(mode, x, w_ih, b_ih, b_hh), sizes)
                hs, state = _run_packed(mode, steps, sizes, states[k * directions + d], w_hh, b_hh,
                                        params.get("weight_hr" + suffix), reverse=bool(d))
                outputs.append(ops.cat(hs, 0) if len(hs) > 1 else hs[0])
                finals.append(state)
            x = outputs[0] if directions == 1 else ops.cat(outputs, -1)
            if k < self.num_layers - 1 and self.training and self.dropout > 0:
                x = F.dropout(x, self.dropout, True)
        return x, finals

    def _layers(self, x, states, stack_dim):
        """Every layer and direction over the time-major ``x``; returns the last layer's output
        (time stacked along ``stack_dim``) and the final state of each layer and direction."""
        mode, params = self.mode, self._parameters
        directions = 2 if self.bidirectional else 1
        finals = []
        for k in range(self.num_layers):
            last = k == self.num_layers - 1
            outputs = []
            for d in range(directions):
                suffix = f"_l{k}" + ("_reverse" if d else "")
                w_ih, w_hh = params["weight_ih" + suffix], params["weight_hh" + suffix]
                b_ih, b_hh = params.get("bias_ih" + suffix), params.get("bias_hh" + suffix)
                w_hr = params.get("weight_hr" + suffix)
                steps = _time_steps(_input_projection(mode, x, w_ih, b_ih, b_hh))
                state = states[k * directions + d]
                hs = [None] * len(steps)
                for t in (reversed(range(len(steps))) if d else range(len(steps))):
                    hs[t], state = _step(mode, steps[t], state, w_hh, b_hh, w_hr)
                outputs.append(ops.stack(hs, stack_dim if last else 0))
                finals.append(state)
            x = outputs[0] if directions == 1 else ops.cat(outputs, -1)
            if not last and self.training and self.dropout > 0:
                x = F.dropout(x, self.dropout, True)
        return x, finals

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        if self.proj_size != 0:
            s += f", proj_size={self.proj_size}"
        if self.num_layers != 1:
            s += f", num_layers={self.num_layers}"
        if self.bias is not True:
            s += f", bias={self.bias}"
        if self.batch_first is not False:
            s += f", batch_first={self.batch_first}"
        if self.dropout != 0:
            s += f", dropout={self.dropout}"
        if self.bidirectional is not False:
            s += f", bidirectional={self.bidirectional}"
        return s


class RNN(_RNNBase):
    """Elman RNN: ``h_t = tanh(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh)`` (or ReLU), stacked ``num_layers`` deep.

    Args:
        input_size, hidden_size: features of x and of h.
        num_layers: stacked layers, each reading the previous one's output (default 1).
        nonlinearity: ``'tanh'`` (default) or ``'relu'``.
        bias: learn ``b_ih`` and ``b_hh`` (default True).
        batch_first: input and output are ``(N, L, *)`` instead of ``(L, N, *)`` (not the states).
        dropout: dropout on each layer's output but the last, in training mode only.
        bidirectional: also run each layer backwards in time; outputs are concatenated.

    Shape:
        input ``(L, N, H_in)`` (``(N, L, H_in)`` batch_first, ``(L, H_in)`` unbatched);
        hx ``(D * num_layers, N, H)`` (``(D * num_layers, H)`` unbatched), zeros by default.
        Returns ``output`` ``(L, N, D * H)`` and ``h_n`` ``(D * num_layers, N, H)``, D = 2 if bidirectional.
    """

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, nonlinearity: str = "tanh",
                 bias: bool = True, batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False,
                 device=None, dtype=None):
        _check_nonlinearity("RNN", nonlinearity)
        self.nonlinearity = nonlinearity
        super().__init__("RNN_TANH" if nonlinearity == "tanh" else "RNN_RELU", input_size, hidden_size, num_layers,
                         bias, batch_first, dropout, bidirectional, device=device, dtype=dtype)


class LSTM(_RNNBase):
    """Long short-term memory, stacked ``num_layers`` deep, with PyTorch's gates (order i, f, g, o)::

        i, f, o = sigmoid(.), g = tanh(.)   of   x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh
        c_t = f * c_{t-1} + i * g;   h_t = o * tanh(c_t)   (then h_t W_hr^T with proj_size > 0)

    Arguments as :class:`RNN` (without nonlinearity), plus ``proj_size``: project h to this size.

    Shape:
        input as :class:`RNN`; ``hx = (h_0, c_0)``, h_0 ``(D * num_layers, N, H_out)``, c_0
        ``(D * num_layers, N, H)`` (H_out = proj_size or hidden_size). Returns ``output, (h_n, c_n)``.
    """

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                 batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False, proj_size: int = 0,
                 device=None, dtype=None):
        super().__init__("LSTM", input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional,
                         proj_size, device=device, dtype=dtype)


class GRU(_RNNBase):
    """Gated recurrent unit, stacked ``num_layers`` deep, with PyTorch's gates (order r, z, n)::

        r = sigmoid(W_ir x + b_ir + W_hr h + b_hr);   z = sigmoid(W_iz x + b_iz + W_hz h + b_hz)
        n = tanh(W_in x + b_in + r * (W_hn h + b_hn));   h' = (1 - z) * n + z * h

    Arguments and shapes as :class:`RNN` (without nonlinearity).
    """

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                 batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False,
                 device=None, dtype=None):
        super().__init__("GRU", input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional,
                         device=device, dtype=dtype)


# ------------------------------------------------------------------ cells
class _CellBase(Module):
    """One time step; parameters ``weight_ih``, ``weight_hh``, ``bias_ih``, ``bias_hh`` as torch's cells."""

    mode: str

    def __init__(self, input_size: int, hidden_size: int, bias: bool, device=None, dtype=None):
        super().__init__()
        layer = type(self).__name__
        check_sizes(layer, 1, input_size=input_size, hidden_size=hidden_size)
        _check_bool(layer, bias=bias)
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.bias = bias
        gate_size = _GATES[self.mode] * hidden_size
        self.weight_ih = _empty_param((gate_size, input_size), dtype)
        self.weight_hh = _empty_param((gate_size, hidden_size), dtype)
        if bias:
            self.bias_ih = _empty_param((gate_size,), dtype)
            self.bias_hh = _empty_param((gate_size,), dtype)
        else:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        _reset_uniform(self)

    def _check(self, input, states, names):
        """Validate input (N, H_in) or (H_in,) and the given states; return them batched."""
        layer = type(self).__name__
        _require_tensor(layer, "input", input)
        if input.ndim not in (1, 2):
            raise ShapeError(f"{layer}: expected input to be 1D (H_in,) or 2D (N, H_in), got {input.ndim}D, "
                             f"shape {fmt_shape(input.shape)}")
        if input.shape[-1] != self.input_size:
            raise ShapeError(f"{layer}: expected input with {self.input_size} features (input_size) in its last dim, "
                             f"got shape {fmt_shape(input.shape)}")
        dtype = self.weight_ih.dtype
        _check_dtype(layer, "input", input, dtype)
        batched = input.ndim == 2
        expected = (input.shape[0], self.hidden_size) if batched else (self.hidden_size,)
        for name, state in zip(names, states):
            _check_state(layer, name, state, expected, dtype)
        if not batched:
            input, states = input.unsqueeze(0), [s.unsqueeze(0) for s in states]
        return input, states, batched

    def _run(self, input, states, names):
        x, states, batched = self._check(input, states, names)
        if not states:
            states = [_zeros((x.shape[0], self.hidden_size), x.dtype) for _ in range(2 if self.mode == "LSTM" else 1)]
        xw = _input_projection(self.mode, x, self.weight_ih, self.bias_ih, self.bias_hh)
        _, new = _step(self.mode, xw, tuple(states), self.weight_hh, self.bias_hh, None)
        return new if batched else tuple(s.squeeze(0) for s in new)

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        if self.bias is not True:
            s += f", bias={self.bias}"
        if getattr(self, "nonlinearity", "tanh") != "tanh":
            s += f", nonlinearity={self.nonlinearity}"
        return s


class RNNCell(_CellBase):
    """One Elman RNN step: ``h' = tanh(x W_ih^T + b_ih + h W_hh^T + b_hh)`` (or ReLU).

    Shape: input ``(N, H_in)`` or ``(H_in,)``; hx ``(N, H)`` or ``(H,)`` (zeros by default) -> h' as hx.
    """

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, nonlinearity: str = "tanh",
                 device=None, dtype=None):
        _check_nonlinearity("RNNCell", nonlinearity)
        self.mode = "RNN_TANH" if nonlinearity == "tanh" else "RNN_RELU"
        self.nonlinearity = nonlinearity
        super().__init__(input_size, hidden_size, bias, device=device, dtype=dtype)

    def forward(self, input, hx=None):
        return self._run(input, [] if hx is None else [hx], ("hx",))[0]


class LSTMCell(_CellBase):
    """One LSTM step (gates i, f, g, o): ``(h', c')`` from input and ``(h, c)``.

    Shape: input ``(N, H_in)`` or ``(H_in,)``; hx = ``(h_0, c_0)`` each ``(N, H)`` or ``(H,)``
    (zeros by default) -> ``(h_1, c_1)`` of the same shapes.
    """

    mode = "LSTM"

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, device=None, dtype=None):
        super().__init__(input_size, hidden_size, bias, device=device, dtype=dtype)

    def forward(self, input, hx=None):
        if hx is not None and (not isinstance(hx, (tuple, list)) or len(hx) != 2):
            raise ArgumentTypeError(f"LSTMCell: expected hx to be a tuple (h_0, c_0) of two Tensors, "
                                    f"got {type(hx).__name__}")
        h, c = self._run(input, [] if hx is None else list(hx), ("h_0", "c_0"))
        return h, c


class GRUCell(_CellBase):
    """One GRU step (gates r, z, n, with ``r * (W_hn h + b_hn)`` as PyTorch).

    Shape: input ``(N, H_in)`` or ``(H_in,)``; hx ``(N, H)`` or ``(H,)`` (zeros by default) -> h' as hx.
    """

    mode = "GRU"

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, device=None, dtype=None):
        super().__init__(input_size, hidden_size, bias, device=device, dtype=dtype)

    def forward(self, input, hx=None):
        return self._run(input, [] if hx is None else [hx], ("hx",))[0]
