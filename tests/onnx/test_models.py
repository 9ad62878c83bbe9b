"""Export whole models (the zoo's mlp, cnn, gpt and torch-style transformer layers) and run them in
onnxruntime on a batch size other than the example's: outputs equal gradstep's within 1e-5 (float32)."""
import numpy as np
import pytest

import gradstep as gs
import gradstep.nn as nn
import gradstep.nn.functional as F
from gradstep import models


@pytest.fixture
def data():
    return np.random.default_rng(0)


def _dims(value_info):
    return [d.dim_param or d.dim_value for d in value_info.type.tensor_type.shape.dim]


def test_mlp_from_zoo(roundtrip, onnx, data, tmp_path):
    gs.manual_seed(0)
    model = models.get("mlp", input_shape=(1, 8, 8), num_classes=10, hidden=(32, 16), dropout=0.2,
                       input_dropout=0.2, standardize=True)
    model.norm.fit(gs.tensor(data.standard_normal((50, 64), dtype=np.float32) * 3 + 1))
    example = gs.tensor(data.standard_normal((4, 1, 8, 8), dtype=np.float32))
    proto, _ = roundtrip(model, example, data.standard_normal((9, 1, 8, 8), dtype=np.float32))
    onnx.checker.check_model(onnx.load(str(tmp_path / "model.onnx")), full_check=True)
    assert _dims(proto.graph.input[0]) == ["batch", 1, 8, 8]
    assert _dims(proto.graph.output[0]) == ["batch", 10]
    # parameters and buffers are stored under their state_dict names
    assert {t.name for t in proto.graph.initializer} >= set(model.state_dict())
    assert model.training  # put back in its mode


def test_cnn_from_zoo(roundtrip, data):
    gs.manual_seed(1)
    model = models.get("cnn", input_shape=(1, 12, 12), num_classes=5, channels=(4, 6), hidden=(16, 8),
                       dropout=0.3, standardize=True)
    model.eval()  # exporting from eval mode works too (and leaves it so)
    roundtrip(model, gs.randn(2, 1, 12, 12), data.standard_normal((7, 1, 12, 12), dtype=np.float32))
    assert not model.training


def test_gpt_from_zoo(roundtrip, data):
    gs.manual_seed(2)
    model = models.get("gpt", vocab_size=23, block_size=16, n_layer=2, n_head=4, n_embd=32, dropout=0.1)
    example = gs.tensor(data.integers(0, 23, (3, 10)))
    proto, (logits,) = roundtrip(model, example, data.integers(0, 23, (5, 10)))
    assert logits.shape == (5, 10, 23)
    assert [d.dim_param or d.dim_value for d in proto.graph.output[0].type.tensor_type.shape.dim] == ["batch", 10, 23]


def test_gpt_batch_of_one_example(roundtrip, data):
    # batch 1 makes every size-1 dim look like the batch: the two traces still tell them apart
    gs.manual_seed(3)
    model = models.get("gpt", vocab_size=11, block_size=8, n_layer=1, n_head=1, n_embd=8)
    roundtrip(model, gs.tensor(data.integers(0, 11, (1, 1))), data.integers(0, 11, (4, 1)))


class _Encoder(nn.Module):
    """Token embedding, torch-style TransformerEncoder (nn.MultiheadAttention inside), linear head."""

    def __init__(self, batch_first, norm_first, activation, causal):
        super().__init__()
        self.emb = nn.Embedding(30, 16)
        layer = nn.TransformerEncoderLayer(16, 4, 32, dropout=0.1, activation=activation, batch_first=batch_first,
                                           norm_first=norm_first)
        self.encoder = nn.TransformerEncoder(layer, 2, norm=nn.LayerNorm(16))
        self.head = nn.Linear(16, 30)
        self.batch_first, self.causal = batch_first, causal

    def forward(self, idx):
        x = self.emb(idx)
        if not self.batch_first:
            x = x.transpose(0, 1)
        T = idx.shape[1]
        mask = gs.triu(gs.full((T, T), float("-inf")), 1) if self.causal == "mask" else None
        x = self.encoder(x, mask=mask, is_causal=self.causal == "flag")
        if not self.batch_first:
            x = x.transpose(0, 1)
        return self.head(x)


@pytest.mark.parametrize("batch_first, norm_first, activation, causal", [
    (True, True, "gelu", "flag"),
    (False, False, "relu", "mask"),
    (True, False, "relu", None),
])
def test_transformer_encoder(roundtrip, data, batch_first, norm_first, activation, causal):
    gs.manual_seed(4)
    model = _Encoder(batch_first, norm_first, activation, causal)
    roundtrip(model, gs.tensor(data.integers(0, 30, (2, 7))), data.integers(0, 30, (5, 7)))


def test_multihead_attention_with_weights_and_padding_mask(roundtrip, data):
    class Attn(nn.Module):
        def __init__(self):
            super().__init__()
            self.attn = nn.MultiheadAttention(12, 3, batch_first=True, kdim=8, vdim=6)

        def forward(self, q, kv, v):
            out, weights = self.attn(q, kv, v, need_weights=True)
            return out, weights

    gs.manual_seed(5)
    f32 = np.float32
    example = (gs.randn(2, 5, 12), gs.randn(2, 4, 8), gs.randn(2, 4, 6))
    inputs = [data.standard_normal(s, dtype=f32) for s in ((3, 5, 12), (3, 4, 8), (3, 4, 6))]
    proto, (out, weights) = roundtrip(Attn(), example, *inputs, input_names=["q", "k", "v"],
                                      output_names=["out", "weights"])
    assert [i.name for i in proto.graph.input] == ["q", "k", "v"]
    assert weights.shape == (3, 5, 4)


def test_opset_17_decomposes_gelu(roundtrip, data):
    gs.manual_seed(6)
    model = models.get("gpt", vocab_size=13, block_size=8, n_layer=1, n_head=2, n_embd=8)
    proto, _ = roundtrip(model, gs.tensor(data.integers(0, 13, (2, 8))), data.integers(0, 13, (3, 8)), opset=17)
    assert proto.opset_import[0].version == 17
    assert "Gelu" not in {n.op_type for n in proto.graph.node} and "Erf" in {n.op_type for n in proto.graph.node}


def test_fixed_batch(roundtrip, ort, tmp_path, data):
    model = nn.Sequential(nn.Linear(3, 2), nn.Tanh())
    proto, _ = roundtrip(model, gs.randn(4, 3), data.standard_normal((4, 3), dtype=np.float32), dynamic_batch=False)
    assert _dims(proto.graph.input[0]) == [4, 3] and _dims(proto.graph.output[0]) == [4, 2]


def test_tied_weights_stored_once(roundtrip, data):
    class Tied(nn.Module):
        def __init__(self):
            super().__init__()
            self.emb = nn.Embedding(9, 4)
            self.head = nn.Linear(4, 9, bias=False)
            self.head.weight = self.emb.weight

        def forward(self, idx):
            return self.head(self.emb(idx))

    proto, _ = roundtrip(Tied(), gs.tensor([[1, 2, 3]]), np.array([[4, 5, 6], [7, 8, 0]]))
    assert [t.name for t in proto.graph.initializer if t.name.endswith("weight")] == ["emb.weight"]


def test_in_place_ops_are_followed(roundtrip, data):
    class InPlace(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(5, 5)

        def forward(self, x):
            y = self.fc(x)
            y += 1.0
            y.clamp_(min=0.0)
            y.masked_fill_(gs.tensor([True, False, False, True, False]), -2.0)
            y[:, 0] = -3.0
            y[1:, -2:] = x[1:, :2] * 10
            y[..., None, 2] = y[:, None, 1] + 1
            z = gs.zeros(x.shape[0], 5)
            z.copy_(y)
            return z * 2

    roundtrip(InPlace(), gs.randn(3, 5), data.standard_normal((6, 5), dtype=np.float32))


def test_functional_model_and_several_outputs(roundtrip, data):
    w = gs.randn(3, 4)

    def fn(x, y):
        h = F.linear(x, w)
        return h.softmax(-1), (h * y).sum(-1)

    roundtrip(fn, (gs.randn(2, 4), gs.randn(2, 3)), data.standard_normal((5, 4), dtype=np.float32),
              data.standard_normal((5, 3), dtype=np.float32))


def test_mixed_modes_are_restored(roundtrip, data):
    model = nn.Sequential(nn.Linear(3, 3), nn.Dropout(0.5), nn.Linear(3, 1))
    model[1].eval()  # only the dropout in eval mode
    gs.onnx.export(model, gs.randn(2, 3), None)
    assert [m.training for m in model.modules()] == [True, True, False, True]


def test_large_weights_go_to_an_external_data_file(ort, tmp_path, monkeypatch, data):
    import importlib

    export_module = importlib.import_module("gradstep.onnx.export")  # the module, not the function

    monkeypatch.setattr(export_module, "_EXTERNAL_DATA_BYTES", 0)  # as if the weights passed 2 GB
    model = nn.Sequential(nn.Linear(64, 32), nn.ReLU())  # tensors under 1 kB stay in the .onnx file
    path = tmp_path / "big.onnx"
    gs.onnx.export(model, gs.randn(2, 64), path)
    assert (tmp_path / "big.onnx.data").stat().st_size >= 64 * 32 * 4
    x = data.standard_normal((3, 64), dtype=np.float32)
    got = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]).run(None, {"input": x})[0]
    with gs.no_grad():
        np.testing.assert_allclose(got, model(gs.tensor(x)).numpy(), atol=1e-6)
