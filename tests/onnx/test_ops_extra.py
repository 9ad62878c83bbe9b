"""Converters of the extra activations, unfold / fold, the shuffles and the distances, one row each as in
test_ops.py: a one-op model exported on a batch of 2 and run in onnxruntime on a batch of 5 must equal
gradstep's output (float32: atol 1e-5, rtol 1e-5). Float64 takes the elementwise formulas instead of the
float32-only operators, and must agree too."""
import numpy as np
import pytest

import gradstep as gs
import gradstep.nn as nn
import gradstep.nn.functional as F
from gradstep.onnx import ExportError, UnsupportedOpError

R = np.random.default_rng(13)
C = {
    "prelu4": gs.tensor(R.uniform(0.05, 0.5, 4).astype(np.float32)),
    "prelu1": gs.tensor([0.3], dtype=gs.float32),
}


def _x(*shape, scale=1.0):
    return lambda n: (R.standard_normal((n,) + shape) * scale).astype(np.float32)


def _with_nan(*shape):
    def make(n):
        x = R.standard_normal((n,) + shape).astype(np.float32) * 3
        x.reshape(-1)[::7] = np.nan
        return x

    return make


ROWS = [
    # activations (inputs scaled to cover every piece: hardswish's kinks are at -3 and 3)
    ("hardswish", lambda x: F.hardswish(x), _x(3, 4, scale=4)),
    ("hardsigmoid", lambda x: F.hardsigmoid(x), _x(3, 4, scale=4)),
    ("selu", lambda x: F.selu(x), _x(3, 4, scale=3)),
    ("celu", lambda x: F.celu(x) + F.celu(x, alpha=0.5), _x(3, 4, scale=3)),
    ("prelu_channels", lambda x: F.prelu(x, C["prelu4"]), _x(4, 3, 2)),
    ("prelu_channels_2d_input", lambda x: F.prelu(x, C["prelu4"]), _x(4)),
    ("prelu_one_weight", lambda x: F.prelu(x, C["prelu1"]), _x(4, 3)),
    ("rrelu_eval", lambda x: F.rrelu(x) + F.rrelu(x, 0.1, 0.6, training=False), _x(3, 4)),
    ("rrelu_training_without_randomness", lambda x: F.rrelu(x, 0.2, 0.2, training=True), _x(3, 4)),
    ("softsign_tanhshrink", lambda x: F.softsign(x) + F.tanhshrink(x), _x(3, 4, scale=3)),
    ("threshold", lambda x: F.threshold(x, 0.1, 20.0), _with_nan(3, 4)),
    ("hardshrink_softshrink", lambda x: (F.hardshrink(x, 0.7), F.softshrink(x), F.softshrink(x, 0.0)),
     _with_nan(3, 4)),
    ("glu", lambda x: F.glu(x) + F.glu(x, 1).transpose(1, 2)[:, :, :2], _x(4, 4)),
    ("glu_along_batch", lambda x: F.glu(gs.cat([x, x * 2]), 0), _x(4)),
    # sliding blocks: stride, dilation and padding; overlapping blocks add up in fold
    ("unfold", lambda x: F.unfold(x, (2, 3), dilation=(2, 1), padding=(1, 2), stride=(2, 1)), _x(3, 5, 6)),
    ("unfold_unbatched", lambda x: F.unfold(x[0], 2) + F.unfold(x, 2)[0], _x(2, 4, 3)),
    ("fold_overlapping", lambda x: F.fold(x, (5, 6), (2, 3), dilation=(2, 1), padding=(1, 2), stride=(2, 1)),
     _x(3 * 6, 3 * 8)),
    ("fold_unbatched_per_sample", lambda x: F.fold(x[0], (4, 4), 3, padding=1), _x(2 * 9, 16)),
    ("unfold_fold_roundtrip", lambda x: F.fold(F.unfold(x, 3, padding=1), (5, 4), 3, padding=1), _x(2, 5, 4)),
    # shuffles: reshape / permute / reshape, already exportable
    ("pixel_shuffle_unshuffle", lambda x: (F.pixel_shuffle(x, 2), F.pixel_unshuffle(x, 2)), _x(8, 4, 6)),
    ("channel_shuffle", lambda x: F.channel_shuffle(x, 3), _x(6, 2, 3)),
    # distances
    ("cosine_similarity", lambda x: F.cosine_similarity(x, x.flip(1)) + F.cosine_similarity(x, x * 0, dim=-1)
     .sum(-1, keepdim=True), _x(4, 5)),
    ("cosine_similarity_broadcast", lambda x: F.cosine_similarity(x, x[:, :1] * 2 + 1, dim=1), _x(4, 3)),
    ("pairwise_distance", lambda x: F.pairwise_distance(x, x.flip(1)) + F.pairwise_distance(x, -x, p=1,
                                                                                            keepdim=True), _x(4)),
]


class _Fn(nn.Module):
    def __init__(self, fn):
        super().__init__()
        self.fn = fn

    def forward(self, x):
        return self.fn(x)


@pytest.mark.parametrize("name, fn, make", ROWS, ids=[r[0] for r in ROWS])
def test_op(roundtrip, name, fn, make):
    roundtrip(_Fn(fn), gs.tensor(make(2)), make(5))


_FLOAT64 = ["hardswish", "hardsigmoid", "selu", "celu", "prelu_channels", "prelu_one_weight", "rrelu_eval",
            "softsign_tanhshrink", "hardshrink_softshrink", "fold_overlapping", "unfold", "cosine_similarity"]


@pytest.mark.parametrize("name, fn, make", [r for r in ROWS if r[0] in _FLOAT64],
                         ids=[r[0] for r in ROWS if r[0] in _FLOAT64])
def test_op_float64(roundtrip, name, fn, make):
    consts = dict(C)
    C.update({k: v.double() for k, v in C.items()})
    try:
        roundtrip(_Fn(fn), gs.tensor(make(2).astype(np.float64)), make(5).astype(np.float64), atol=1e-12, rtol=1e-12)
    finally:
        C.update(consts)


def test_glu_before_opset_18_splits_by_sizes(roundtrip):
    # Split's num_outputs needs opset 18: before it the two halves are sizes, so the dim must not be the batch
    proto, _ = roundtrip(_Fn(lambda x: F.glu(x, 1)), gs.randn(2, 6, 3), R.standard_normal((5, 6, 3)).astype(np.float32),
                         opset=17)
    (split,) = [n for n in proto.graph.node if n.op_type == "Split"]
    assert len(split.input) == 2
    with pytest.raises(ExportError, match="op Glu: its size along dim 0 depends on the batch size"):
        gs.onnx.export(_Fn(lambda x: F.glu(gs.cat([x, x]), 0)), gs.randn(2, 3), None, opset=17)


def _op_types(proto) -> list:
    return [n.op_type for n in proto.graph.node]


def test_float32_activations_are_their_onnx_operators(onnx):
    def fn(x):
        return (F.hardswish(x), F.hardsigmoid(x), F.selu(x), F.celu(x, 0.5), F.prelu(x, C["prelu4"]), F.rrelu(x),
                F.softsign(x), F.hardshrink(x))

    ops = _op_types(gs.onnx.export(_Fn(fn), gs.randn(2, 4), None))
    for op in ("HardSwish", "HardSigmoid", "Selu", "Celu", "PRelu", "LeakyRelu", "Softsign", "Shrink"):
        assert op in ops


def test_prelu_weight_stays_a_named_weight(roundtrip):
    gs.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(2, 3, 1), nn.PReLU(3))
    with gs.no_grad():
        model[1].weight.copy_(gs.tensor([0.1, -0.4, 2.0]))
    proto, _ = roundtrip(model, gs.randn(2, 2, 3, 3), R.standard_normal((5, 2, 3, 3)).astype(np.float32))
    assert "1.weight" in [t.name for t in proto.graph.initializer]


def test_rrelu_module_in_training_mode_exports_its_evaluation_slope(roundtrip):
    model = nn.Sequential(nn.Linear(4, 4), nn.RReLU(0.1, 0.5))
    model.train()
    roundtrip(model, gs.randn(2, 4), R.standard_normal((5, 4)).astype(np.float32))
    assert model.training  # put back in its mode


def test_rrelu_inplace(roundtrip):
    roundtrip(_Fn(lambda x: F.rrelu(x * 1.0, 0.1, 0.3, inplace=True)), gs.randn(2, 4),
              R.standard_normal((5, 4)).astype(np.float32))


def test_rrelu_with_no_negative_example_value_still_gets_its_slope(roundtrip):
    # the example's slope array is all ones: the slope comes from rrelu's arguments, not from the data
    roundtrip(_Fn(lambda x: F.rrelu(x, 0.2, 0.4)), gs.rand(2, 4) + 0.1, R.standard_normal((5, 4)).astype(np.float32))


def test_rrelu_in_training_mode_is_refused(onnx):
    with pytest.raises(UnsupportedOpError, match="op Rrelu: rrelu ran in training mode .*pass training=self.training"):
        gs.onnx.export(_Fn(lambda x: F.rrelu(x, training=True)), gs.randn(2, 4), None)

