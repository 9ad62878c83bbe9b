"""PyTorch weights <-> gradstep, both ways, with real torch: the same model definition built with either
library reads the other's safetensors file (same key names) and gives the same outputs.

Float32 outputs agree within atol 1e-5 / rtol 1e-4 (the libraries sum in different orders)."""
import numpy as np
import pytest

import gradstep as gs
from gradstep.interop.torch import (
    from_torch, load_torch_state_dict, state_dict_to_numpy, to_torch, to_torch_state_dict,
)
from gradstep.nn.module import StateDictError

TOL = dict(atol=1e-5, rtol=1e-4)


def _models(lib, kind):
    """One architecture, written once against the shared torch/gradstep API."""
    nn = lib.nn

    class Tokens(nn.Module):  # Embedding + LayerNorm + Linear
        def __init__(self):
            super().__init__()
            self.emb = nn.Embedding(20, 8, padding_idx=0)
            self.norm = nn.LayerNorm(8)
            self.out = nn.Linear(8, 5)

        def forward(self, idx):
            return self.out(self.norm(self.emb(idx)))

    class Attention(nn.Module):  # MultiheadAttention, separate k/v projections when kdim/vdim differ
        def __init__(self, kdim=None):
            super().__init__()
            self.attn = nn.MultiheadAttention(8, 2, batch_first=True, kdim=kdim, vdim=kdim, add_bias_kv=kdim is None)

        def forward(self, x):
            kv = x if self.attn.kdim == 8 else x[..., :self.attn.kdim]
            out, weights = self.attn(x, kv, kv, need_weights=True)
            return out + weights.sum(-1, keepdim=True)

    if kind == "mlp":
        return nn.Sequential(nn.Linear(6, 16), nn.ReLU(), nn.Linear(16, 16), nn.Tanh(), nn.Linear(16, 3))
    if kind == "cnn":
        return nn.Sequential(nn.Conv2d(2, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(), nn.MaxPool2d(2),
                             nn.Conv2d(4, 6, 3, stride=2, bias=False), nn.Flatten(), nn.Linear(6, 3))
    if kind == "tokens":
        return Tokens()
    if kind == "mha":
        return Attention()
    if kind == "mha_kdim":
        return Attention(kdim=4)
    if kind == "encoder":
        layer = nn.TransformerEncoderLayer(8, 2, 16, dropout=0.1, batch_first=True, norm_first=True,
                                           activation="gelu")
        return nn.TransformerEncoder(layer, 2, norm=nn.LayerNorm(8), enable_nested_tensor=False)
    if kind == "encoder_layer":
        return nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0, batch_first=False)
    raise ValueError(kind)


def _input(kind, rng):
    if kind == "tokens":
        return rng.integers(0, 20, (3, 5))
    shapes = {"mlp": (4, 6), "cnn": (2, 2, 6, 6), "mha": (2, 5, 8), "mha_kdim": (2, 5, 8), "encoder": (2, 5, 8),
              "encoder_layer": (5, 2, 8)}
    return rng.standard_normal(shapes[kind]).astype(np.float32)


def _warm_up_batch_norm(torch, model):
    # non-trivial running statistics, so buffers are checked too
    model.train()
    with torch.no_grad():
        for _ in range(2):
            model(torch.randn(4, 2, 6, 6) * 2 + 1)


def _outputs(torch, t_model, g_model, x):
    t_model.eval()
    g_model.eval()
    with torch.no_grad():
        want = t_model(torch.from_numpy(x)).numpy()
    with gs.no_grad():
        got = g_model(gs.tensor(x)).numpy()
    return got, want


KINDS = ["mlp", "cnn", "tokens", "mha", "mha_kdim", "encoder", "encoder_layer"]


@pytest.mark.parametrize("kind", KINDS)
def test_torch_weights_into_gradstep(torch, tmp_path, rng, kind):
    import safetensors.numpy
    import safetensors.torch

    torch.manual_seed(0)
    t_model = _models(torch, kind)
    if kind == "cnn":
        _warm_up_batch_norm(torch, t_model)
    path = tmp_path / "torch.safetensors"
    safetensors.torch.save_file(t_model.state_dict(), str(path))
    x = _input(kind, rng)

    g_model = _models(gs, kind)
    load_torch_state_dict(g_model, path)  # the helper
    got, want = _outputs(torch, t_model, g_model, x)
    np.testing.assert_allclose(got, want, **TOL)

    g_plain = _models(gs, kind)
    g_plain.load_state_dict(safetensors.numpy.load_file(str(path)))  # no helper needed
    np.testing.assert_allclose(_outputs(torch, t_model, g_plain, x)[0], want, **TOL)

    g_direct = _models(gs, kind)
    load_torch_state_dict(g_direct, t_model)  # straight from the torch module, no file
    np.testing.assert_allclose(_outputs(torch, t_model, g_direct, x)[0], want, **TOL)


@pytest.mark.parametrize("kind", KINDS)
def test_gradstep_weights_into_torch(torch, tmp_path, rng, kind):
    import safetensors.numpy
    import safetensors.torch

    gs.manual_seed(1)
    g_model = _models(gs, kind)
    if kind == "cnn":
        g_model.train()
        for _ in range(2):
            g_model(gs.randn(4, 2, 6, 6) * 2 + 1)
    path = tmp_path / "gradstep.safetensors"
    safetensors.numpy.save_file({k: v.numpy() for k, v in g_model.state_dict().items()}, str(path))
    x = _input(kind, rng)

    torch.manual_seed(2)
    t_model = _models(torch, kind)
    t_model.load_state_dict(safetensors.torch.load_file(str(path)))
    got, want = _outputs(torch, t_model, g_model, x)
    np.testing.assert_allclose(got, want, **TOL)

    t_direct = _models(torch, kind)
    t_direct.load_state_dict(to_torch_state_dict(g_model))  # in memory
    np.testing.assert_allclose(_outputs(torch, t_direct, g_model, x)[1], got, **TOL)


def test_other_architecture_lists_names_and_shapes(torch, tmp_path):
    import safetensors.torch

    t_model = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 2), torch.nn.Linear(2, 2))
    path = tmp_path / "other.safetensors"
    safetensors.torch.save_file(t_model.state_dict(), str(path))
    g_model = gs.nn.Sequential(gs.nn.Linear(4, 6), gs.nn.ReLU(), gs.nn.Linear(6, 2), gs.nn.ReLU(), gs.nn.Linear(2, 3))
    with pytest.raises(StateDictError) as info:
        load_torch_state_dict(g_model, path)
    msg = str(info.value)
    assert str(path) in msg
    assert "size mismatch for 0.weight: copying a param with shape (8, 4) from checkpoint, the shape in current " \
           "model is (6, 4)" in msg
    assert "size mismatch for 2.weight" in msg and "(2, 8)" in msg and "(2, 6)" in msg
    assert 'Missing key(s) in state_dict: "4.weight", "4.bias"' in msg
    unexpected = msg.split("Unexpected key(s) in state_dict: ")[1].split("\n")[0]
    assert '"3.weight"' in unexpected and '"3.bias"' in unexpected
    with pytest.raises(StateDictError, match="Unexpected key"):
        load_torch_state_dict(g_model, t_model.state_dict())  # in memory: same listing
    missing, unexpected = load_torch_state_dict(gs.nn.Sequential(gs.nn.Linear(4, 8)), t_model, strict=False)
    assert missing == [] and unexpected == ["2.weight", "2.bias", "3.weight", "3.bias"]


def test_state_dict_to_numpy_sources(torch, tmp_path):
    state = {"a": torch.ones(2, dtype=torch.bfloat16), "b": gs.zeros(3), "c": np.arange(2), "d": torch.tensor(5)}
    out = state_dict_to_numpy(state)
    assert out["a"].dtype == np.float32 and out["b"].dtype == np.float32 and out["d"].shape == ()
    with pytest.raises(TypeError, match="expected a .safetensors path, a state_dict or a torch module, got int"):
        state_dict_to_numpy(3)
    with pytest.raises(TypeError, match="entry 'x' is a str"):
        state_dict_to_numpy({"x": "nope"})
    from gradstep.errors import CheckpointError

    with pytest.raises(CheckpointError, match="no such file"):
        load_torch_state_dict(gs.nn.Linear(2, 2), tmp_path / "missing.safetensors")


def test_tensor_helpers_share_memory(torch):
    g = gs.ones(3, requires_grad=True)
    t = to_torch(g)
    t[0] = 5.0
    assert g[0].item() == 5.0
    src = torch.zeros(2, requires_grad=True)
    back = from_torch(src)
    assert isinstance(back, gs.Tensor) and not back.requires_grad
    back.numpy()[1] = 3.0
    assert src[1].item() == 3.0
