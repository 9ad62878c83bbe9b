"""Export of interpolate / Upsample (every mode and align_corners) and of the recurrent layers and cells:
exported on a batch of 2, run in onnxruntime on another batch size, equal to gradstep's output (float32:
atol 1e-5, rtol 1e-5). Resize is used where it follows gradstep's rule; the other cases fall back to exact
per-axis Gather / MatMul nodes, and the tests say which one each case must get."""
import numpy as np
import pytest

import gradstep as gs
import gradstep.nn as nn
import gradstep.nn.functional as F

R = np.random.default_rng(11)


def _x(*shape, dtype=np.float32):
    return lambda n: R.standard_normal((n,) + shape).astype(dtype)


def _dims(value_info):
    return [d.dim_param or d.dim_value for d in value_info.type.tensor_type.shape.dim]


def _op_types(proto) -> set:
    return {n.op_type for n in proto.graph.node}


def _resize_attrs(proto) -> dict:
    (node,) = [n for n in proto.graph.node if n.op_type == "Resize"]
    return {a.name: (a.s.decode() if a.s else a.f if a.type == a.FLOAT else a.i) for a in node.attribute}


class _Fn(nn.Module):
    def __init__(self, fn):
        super().__init__()
        self.fn = fn

    def forward(self, *xs):
        return self.fn(*xs)


# ------------------------------------------------------------------ interpolate
def _interp(**kw):
    return lambda x: F.interpolate(x, **kw)


# (id, model, input maker, the node that must carry the resampling, Resize attributes that must be set)
UPSAMPLE_ROWS = [
    ("nearest_x2", nn.Upsample(scale_factor=2), _x(3, 4, 5), "Resize",
     dict(mode="nearest", coordinate_transformation_mode="asymmetric", nearest_mode="floor")),
    ("nearest_size", _interp(size=(7, 3), mode="nearest"), _x(2, 5, 6), "Resize", {}),
    # upsampling by an integer factor, pixel centres pick the same pixels as torch's legacy nearest rule
    ("nearest_exact_x2", nn.Upsample(scale_factor=2, mode="nearest-exact"), _x(3, 4, 5), "Resize",
     dict(mode="nearest")),
    ("nearest_exact_size", _interp(size=(3, 11), mode="nearest-exact"), _x(2, 5, 6), "Resize",
     dict(mode="nearest", coordinate_transformation_mode="half_pixel", nearest_mode="round_prefer_ceil")),
    ("nearest_1d", _interp(scale_factor=3, mode="nearest"), _x(2, 5), "Resize", {}),
    ("nearest_3d", _interp(size=(5, 3, 8), mode="nearest"), _x(2, 3, 4, 5), "Resize", {}),
    ("nearest_int_input", _interp(scale_factor=2), lambda n: R.integers(-9, 9, (n, 2, 3, 4)), "Gather", {}),
    ("nearest_other_scale_rule", _interp(scale_factor=1.7, mode="nearest"), _x(2, 7, 5), "Gather", {}),
    ("nearest_exact_other_scale_rule", _interp(scale_factor=1.7, mode="nearest-exact"), _x(2, 7, 5), "Gather", {}),
    ("linear_half_pixel", nn.Upsample(scale_factor=2, mode="linear"), _x(3, 5), "Resize",
     dict(mode="linear", coordinate_transformation_mode="half_pixel")),
    ("linear_align_corners", _interp(size=9, mode="linear", align_corners=True), _x(3, 5), "Resize",
     dict(mode="linear", coordinate_transformation_mode="align_corners")),
    ("bilinear_half_pixel", nn.Upsample(scale_factor=2, mode="bilinear"), _x(3, 4, 5), "Resize",
     dict(mode="linear", coordinate_transformation_mode="half_pixel")),
    ("bilinear_align_corners", nn.Upsample(scale_factor=2, mode="bilinear", align_corners=True), _x(3, 4, 5),
     "Resize", dict(mode="linear", coordinate_transformation_mode="align_corners")),
    ("bilinear_down_size", _interp(size=(3, 2), mode="bilinear"), _x(2, 7, 5), "Resize", {}),
    ("bilinear_recompute_scale", _interp(scale_factor=1.7, mode="bilinear", recompute_scale_factor=True),
     _x(2, 7, 5), "Resize", {}),
    ("bilinear_other_scale_rule", _interp(scale_factor=1.7, mode="bilinear"), _x(2, 7, 5), "MatMul", {}),
    ("upsampling_bilinear2d", nn.UpsamplingBilinear2d(size=(6, 9)), _x(2, 4, 5), "Resize",
     dict(coordinate_transformation_mode="align_corners")),
    ("upsampling_nearest2d", nn.UpsamplingNearest2d(scale_factor=3), _x(2, 4, 5), "Resize", {}),
    ("bicubic_half_pixel", nn.Upsample(scale_factor=2, mode="bicubic"), _x(3, 4, 5), "Resize",
     dict(mode="cubic", coordinate_transformation_mode="half_pixel", cubic_coeff_a=-0.75, exclude_outside=0)),
    ("bicubic_align_corners", _interp(size=(9, 7), mode="bicubic", align_corners=True), _x(2, 4, 5), "Resize",
     dict(mode="cubic", coordinate_transformation_mode="align_corners")),
    ("bicubic_down", _interp(size=(3, 4), mode="bicubic"), _x(2, 8, 6), "Resize", {}),
    ("bicubic_other_scale_rule", _interp(scale_factor=1.5, mode="bicubic"), _x(2, 5, 5), "MatMul", {}),
    ("trilinear_half_pixel", nn.Upsample(scale_factor=2, mode="trilinear"), _x(2, 3, 4, 2), "Resize",
     dict(mode="linear", coordinate_transformation_mode="half_pixel")),
    ("trilinear_align_corners", _interp(size=(5, 3, 7), mode="trilinear", align_corners=True), _x(2, 3, 4, 2),
     "Resize", dict(coordinate_transformation_mode="align_corners")),
    ("area_1d", _interp(size=3, mode="area"), _x(2, 7), "MatMul", {}),
    ("area_2d", nn.Upsample(size=(3, 5), mode="area"), _x(2, 7, 4), "MatMul", {}),
    ("area_3d", _interp(scale_factor=0.5, mode="area"), _x(2, 4, 5, 6), "MatMul", {}),
    ("bilinear_float64", _interp(scale_factor=2, mode="bilinear"), _x(2, 3, 4, dtype=np.float64), "MatMul", {}),
    ("same_size_is_a_copy", _interp(size=(4, 5), mode="bicubic"), _x(2, 4, 5), None, {}),
]


@pytest.mark.parametrize("name, model, make, kind, attrs", UPSAMPLE_ROWS, ids=[r[0] for r in UPSAMPLE_ROWS])
def test_interpolate(roundtrip, name, model, make, kind, attrs):
    model = model if isinstance(model, nn.Module) else _Fn(model)
    proto, (out,) = roundtrip(model, gs.tensor(make(2)), make(5))
    assert out.shape[0] == 5
    resampling = _op_types(proto) & {"Resize", "Gather", "MatMul"}
    assert resampling == ({kind} if kind else set())
    if attrs:
        got = _resize_attrs(proto)
        for key, value in attrs.items():
            assert got[key] == pytest.approx(value) if isinstance(value, float) else got[key] == value, key


def test_upsample_has_a_dynamic_batch(roundtrip, onnx, tmp_path):
    proto, _ = roundtrip(nn.Upsample(scale_factor=2, mode="bilinear"), gs.randn(2, 3, 4, 5),
                         R.standard_normal((7, 3, 4, 5), dtype=np.float32))
    assert _dims(proto.graph.input[0]) == ["batch", 3, 4, 5]
    assert _dims(proto.graph.output[0]) == ["batch", 3, 8, 10]
    onnx.checker.check_model(onnx.load(str(tmp_path / "model.onnx")), full_check=True)


@pytest.mark.parametrize("mode, align_corners", [("nearest", None), ("nearest-exact", None), ("bilinear", False),
                                                 ("bilinear", True), ("bicubic", False), ("bicubic", True)])
def test_resize_over_many_sizes(roundtrip, mode, align_corners):
    # One model, many outputs: crops of 1..8 pixels resized to 1..13 (H) and other sizes (W). Nearest modes must
    # pick torch's pixels exactly; whichever node each pair gets (Resize, or Gather/MatMul), the values agree.
    pairs = [(n, out) for n in range(1, 9) for out in range(1, 14)]

    def fn(x):
        return tuple(F.interpolate(x[:, :, :n, :(n % 5) + 2], size=(out, (out * 3) % 7 + 1), mode=mode,
                                   align_corners=align_corners) for n, out in pairs)

    roundtrip(_Fn(fn), gs.randn(2, 2, 8, 6), R.standard_normal((3, 2, 8, 6), dtype=np.float32))


def test_resize_in_opset_17(roundtrip):
    proto, _ = roundtrip(nn.Upsample(scale_factor=2, mode="bicubic", align_corners=True), gs.randn(2, 1, 3, 4),
                         R.standard_normal((4, 1, 3, 4), dtype=np.float32), opset=17)
    assert "Resize" in _op_types(proto)


def test_conv_upsample_model(roundtrip):
    gs.manual_seed(0)
    model = nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(),
        nn.Upsample(scale_factor=2, mode="bilinear"),
        nn.Conv2d(8, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(),
        nn.Upsample(scale_factor=2),
        nn.Conv2d(4, 2, 1),
    )
    proto, (out,) = roundtrip(model, gs.randn(2, 3, 5, 6), R.standard_normal((3, 3, 5, 6), dtype=np.float32))
    assert out.shape == (3, 2, 20, 24)
    assert _dims(proto.graph.output[0]) == ["batch", 2, 20, 24]
    assert [n.op_type for n in proto.graph.node].count("Resize") == 2


# ------------------------------------------------------------ recurrent layers
class _Recurrent(nn.Module):
    """A recurrent layer on batch-major inputs (the exporter's batch is dim 0 of every input): time-major layers
    and the states, (layers * directions, N, H), are transposed around it. Returns output, h_n[, c_n]."""

    def __init__(self, layer):
        super().__init__()
        self.layer = layer

    def forward(self, x, *states):
        if not self.layer.batch_first:
            x = x.transpose(0, 1)
        states = [s.transpose(0, 1).contiguous() for s in states]
        hx = None if not states else tuple(states) if len(states) == 2 else states[0]
        out, final = self.layer(x, hx)
        if not self.layer.batch_first:
            out = out.transpose(0, 1)
        return (out,) + (tuple(final) if isinstance(final, tuple) else (final,))


def _states(layer, n):
    count = layer.num_layers * (2 if layer.bidirectional else 1)
    h = R.standard_normal((n, count, layer.proj_size or layer.hidden_size), dtype=np.float32)
    if isinstance(layer, nn.LSTM):
        return h, R.standard_normal((n, count, layer.hidden_size), dtype=np.float32)
    return (h,)


RECURRENT_ROWS = [
    ("rnn_tanh", lambda: nn.RNN(4, 5, batch_first=True), False),
    ("rnn_relu_2_layers_bidirectional", lambda: nn.RNN(4, 5, 2, nonlinearity="relu", batch_first=True,
                                                       bidirectional=True), True),
    ("rnn_time_major_no_bias", lambda: nn.RNN(4, 3, bias=False), True),
    ("lstm", lambda: nn.LSTM(4, 5, batch_first=True), False),
    ("lstm_2_layers_bidirectional", lambda: nn.LSTM(4, 5, 2, batch_first=True, bidirectional=True), True),
    ("lstm_time_major_dropout", lambda: nn.LSTM(4, 5, 2, dropout=0.3), False),
    ("lstm_proj_size", lambda: nn.LSTM(4, 6, 2, batch_first=True, bidirectional=True, proj_size=3), True),
    ("gru", lambda: nn.GRU(4, 5, batch_first=True), True),
    ("gru_2_layers_bidirectional_time_major", lambda: nn.GRU(4, 5, 2, bidirectional=True), False),
    ("gru_no_bias", lambda: nn.GRU(4, 5, batch_first=True, bias=False), False),
]


@pytest.mark.parametrize("name, make, with_state", RECURRENT_ROWS, ids=[r[0] for r in RECURRENT_ROWS])
def test_recurrent(roundtrip, name, make, with_state):
    gs.manual_seed(1)
    layer = make()
    model = _Recurrent(layer)
    example = [gs.randn(2, 3, 4)] + [gs.tensor(s) for s in (_states(layer, 2) if with_state else ())]
    inputs = [R.standard_normal((5, 3, 4), dtype=np.float32)] + list(_states(layer, 5) if with_state else ())
    proto, outs = roundtrip(model, tuple(example), *inputs)
    assert outs[0].shape[0] == 5 and all(o.shape[1] == 5 for o in outs[1:])
    assert all(_dims(i)[0] == "batch" for i in proto.graph.input)
    assert layer.training  # the dropout layer is back in training mode


def test_recurrent_longer_than_16_steps(roundtrip):
    # past 16 steps the sequence is split into blocks before it is unbound into steps
    gs.manual_seed(2)
    model = _Recurrent(nn.GRU(3, 4, batch_first=True, bidirectional=True))
    roundtrip(model, gs.randn(2, 18, 3), R.standard_normal((4, 18, 3), dtype=np.float32))


def test_time_major_layer_with_a_fixed_batch(roundtrip):
    gs.manual_seed(3)
    model = nn.LSTM(4, 5, 2, bidirectional=True)
    x = R.standard_normal((6, 3, 4), dtype=np.float32)
    proto, _ = roundtrip(_Fn(lambda x: model(x)[0]), gs.tensor(x), x, dynamic_batch=False)
    assert _dims(proto.graph.input[0]) == [6, 3, 4]


def test_unbatched_inputs_with_a_fixed_shape(roundtrip):
    gs.manual_seed(6)
    cell, layer = nn.GRUCell(4, 5), nn.LSTM(4, 5, 2, bidirectional=True)
    x = R.standard_normal((3, 4), dtype=np.float32)  # (L, H_in) for the layer; its first step (H_in,) for the cell
    _, (h, out) = roundtrip(_Fn(lambda x: (cell(x[0]), layer(x)[0])), gs.tensor(x), x, dynamic_batch=False)
    assert h.shape == (5,) and out.shape == (3, 10)


def test_time_major_input_with_dynamic_batch_says_why(tmp_path):
    with pytest.raises(gs.onnx.ExportError, match="batch_first=True"):
        gs.onnx.export(nn.GRU(4, 5), gs.randn(3, 2, 4), tmp_path / "m.onnx")


CELL_ROWS = [
    ("rnn_cell", lambda: nn.RNNCell(4, 5), 1),
    ("rnn_cell_relu_no_bias", lambda: nn.RNNCell(4, 5, bias=False, nonlinearity="relu"), 1),
    ("lstm_cell", lambda: nn.LSTMCell(4, 5), 2),
    ("gru_cell", lambda: nn.GRUCell(4, 5), 1),
]


@pytest.mark.parametrize("name, make, n_states", CELL_ROWS, ids=[r[0] for r in CELL_ROWS])
@pytest.mark.parametrize("given_state", [False, True])
def test_cell(roundtrip, name, make, n_states, given_state):
    gs.manual_seed(4)
    cell = make()

    def step(x, *states):
        hx = None if not states else states if n_states == 2 else states[0]
        out = cell(x, hx)
        return out if isinstance(out, tuple) else (out,)

    shapes = [(4,)] + ([(5,)] * n_states if given_state else [])
    example = tuple(gs.tensor(R.standard_normal((2,) + s, dtype=np.float32)) for s in shapes)
    roundtrip(_Fn(step), example, *[R.standard_normal((5,) + s, dtype=np.float32) for s in shapes])


def test_cell_unrolled_over_a_sequence(roundtrip):
    class Decoder(nn.Module):
        def __init__(self):
            super().__init__()
            self.cell, self.head = nn.LSTMCell(3, 6), nn.Linear(6, 2)

        def forward(self, x):
            state, outs = None, []
            for t in range(x.shape[1]):
                state = self.cell(x[:, t], state)
                outs.append(self.head(state[0]))
            return gs.stack(outs, 1)

    gs.manual_seed(5)
    proto, (out,) = roundtrip(Decoder(), gs.randn(2, 4, 3), R.standard_normal((7, 4, 3), dtype=np.float32))
    assert out.shape == (7, 4, 2) and _dims(proto.graph.output[0]) == ["batch", 4, 2]


# --------------------------------------------------- constants that follow the batch
def test_one_value_constants_follow_the_batch(roundtrip):
    def fn(x):
        return x + gs.zeros(x.shape[0], 4) + gs.full((x.shape[0], 1), 2.5)

    proto, _ = roundtrip(_Fn(fn), gs.randn(2, 4), R.standard_normal((6, 4), dtype=np.float32))
    assert "Expand" in _op_types(proto)


def test_other_constants_that_follow_the_batch_are_refused(tmp_path):
    def fn(x):
        return x + gs.arange(x.shape[0]).float().unsqueeze(1)

    with pytest.raises(gs.onnx.ExportError, match="computed from the model's input outside gradstep's ops"):
        gs.onnx.export(_Fn(fn), gs.randn(2, 4), tmp_path / "m.onnx")
