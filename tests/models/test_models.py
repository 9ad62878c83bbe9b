"""The model zoo: shapes, registry errors, the GPT against a PyTorch reference, sampling."""
import numpy as np
import pytest

import gradstep as gs
from gradstep import models
from gradstep.errors import ShapeError
from gradstep.models import CNN, GPT, MLP, Standardize, lm_loss


def test_registry():
    assert models.available() == ["cnn", "gpt", "mlp"]
    assert isinstance(models.get("MLP", input_shape=(4,), num_classes=2), MLP)
    with pytest.raises(ValueError, match="unknown model 'resnet'; valid: cnn, gpt, mlp"):
        models.get("resnet")
    model, kwargs = models.for_data("mlp", {"input_shape": (64,), "num_classes": 10})
    assert kwargs["hidden"] == [128, 128] and kwargs["standardize"] is True
    assert models.get("mlp", **kwargs).state_dict().keys() == model.state_dict().keys()
    with pytest.raises(ValueError, match="needs a dataset that provides vocab_size, block_size"):
        models.for_data("gpt", {"input_shape": (64,), "num_classes": 10})
    models.register("tiny", lambda input_shape, num_classes: MLP(input_shape, num_classes, hidden=()))
    try:
        assert isinstance(models.for_data("tiny", {"input_shape": (3,), "num_classes": 2})[0], MLP)
    finally:
        models._REGISTRY.pop("tiny")


def test_mlp_shapes_and_standardize():
    gs.manual_seed(0)
    model = MLP((1, 8, 8), 10, hidden=(16,), dropout=0.1, input_dropout=0.1, standardize=True)
    x = np.random.default_rng(0).random((20, 1, 8, 8)).astype(np.float32) * 5 + 3
    model.norm.fit(x.reshape(20, -1))
    assert model(gs.tensor(x)).shape == (20, 10)
    z = model.norm(gs.tensor(x.reshape(20, -1)))._data
    np.testing.assert_allclose(z.mean(0), 0, atol=1e-5)
    np.testing.assert_allclose(z.std(0), 1, atol=1e-4)
    assert {"norm.mean", "norm.std", "layers.0.weight", "layers.3.bias"} <= set(model.state_dict())
    const = Standardize((2,)).fit(np.array([[1.0, 2.0], [1.0, 4.0]]))
    assert const.std._data.tolist() == [1.0, 1.0]  # constant feature: std 1, not 0
    with pytest.raises(ValueError, match="unknown activation 'swish'"):
        MLP(activation="swish")
    with pytest.raises(ValueError, match="batch dimension"):
        Standardize((2,)).fit(np.zeros(2))


@pytest.mark.parametrize("shape", [(1, 8, 8), (1, 28, 28), (3, 32, 32)])
def test_cnn_shapes(shape):
    gs.manual_seed(0)
    model = CNN(shape, num_classes=7, standardize=True, dropout=0.1)
    out = model(gs.randn(2, *shape))
    assert out.shape == (2, 7)
    out.sum().backward()
    assert all(p.grad is not None for p in model.parameters())


def test_cnn_rejects_bad_shapes():
    with pytest.raises(ValueError, match=r"input_shape must be \(channels, height, width\)"):
        CNN((64,))


def _torch_gpt(torch, model):
    """A PyTorch GPT with the same architecture, loaded with the gradstep model's weights."""
    F = torch.nn.functional

    class Block(torch.nn.Module):
        def __init__(self, d, h):
            super().__init__()
            self.ln1, self.ln2, self.h = torch.nn.LayerNorm(d), torch.nn.LayerNorm(d), h
            self.attn = torch.nn.Module()
            self.attn.qkv, self.attn.proj = torch.nn.Linear(d, 3 * d), torch.nn.Linear(d, d)
            self.mlp = torch.nn.Sequential(torch.nn.Linear(d, 4 * d), torch.nn.GELU(), torch.nn.Linear(4 * d, d))

        def forward(self, x):
            B, T, C = x.shape
            q, k, v = (t.view(B, T, self.h, C // self.h).transpose(1, 2)
                       for t in self.attn.qkv(self.ln1(x)).split(C, dim=2))
            y = F.scaled_dot_product_attention(q, k, v, is_causal=True).transpose(1, 2).reshape(B, T, C)
            x = x + self.attn.proj(y)
            return x + self.mlp(self.ln2(x))

    class TGPT(torch.nn.Module):
        def __init__(self, V, T, L, H, D):
            super().__init__()
            self.tok_emb, self.pos_emb = torch.nn.Embedding(V, D), torch.nn.Embedding(T, D)
            self.blocks = torch.nn.ModuleList([Block(D, H) for _ in range(L)])
            self.ln_f, self.head = torch.nn.LayerNorm(D), torch.nn.Linear(D, V, bias=False)

        def forward(self, idx):
            x = self.tok_emb(idx) + self.pos_emb(torch.arange(idx.shape[1]))
            for b in self.blocks:
                x = b(x)
            return self.head(self.ln_f(x))

    tm = TGPT(model.vocab_size, model.block_size, len(model.blocks), model.blocks[0].attn.n_head,
              model.tok_emb.weight.shape[1])
    state = {k: torch.tensor(v._data) for k, v in model.state_dict().items()}
    tm.load_state_dict(state)
    return tm


def test_gpt_matches_pytorch_reference(torch):
    gs.manual_seed(0)
    model = GPT(vocab_size=11, block_size=8, n_layer=2, n_head=2, n_embd=16)
    for p in model.parameters():  # larger weights than GPT-2's init, so every path matters
        p._data[...] = np.random.default_rng(p.numel()).standard_normal(p.shape).astype(np.float32) * 0.3
    tm = _torch_gpt(torch, model)
    idx = np.random.default_rng(1).integers(0, 11, (3, 8))
    y = np.random.default_rng(2).integers(0, 11, (3, 8))
    logits = model(gs.tensor(idx))
    t_logits = tm(torch.tensor(idx))
    np.testing.assert_allclose(logits._data, t_logits.detach().numpy(), rtol=1e-4, atol=1e-4)
    loss = lm_loss(logits, gs.tensor(y))
    t_loss = torch.nn.functional.cross_entropy(t_logits.reshape(-1, 11), torch.tensor(y).reshape(-1))
    assert loss.item() == pytest.approx(t_loss.item(), rel=1e-5)
    loss.backward()
    t_loss.backward()
    t_params = dict(tm.named_parameters())
    for name, p in model.named_parameters():
        np.testing.assert_allclose(p.grad._data, t_params[name].grad.numpy(), rtol=1e-3, atol=1e-5, err_msg=name)


def test_gpt_is_causal_and_checks_length():
    gs.manual_seed(0)
    model = GPT(vocab_size=7, block_size=6, n_layer=1, n_head=2, n_embd=8)
    a = np.array([[1, 2, 3, 4, 5, 6]])
    b = a.copy()
    b[0, 4:] = 0
    la, lb = model(gs.tensor(a))._data, model(gs.tensor(b))._data
    np.testing.assert_allclose(la[:, :4], lb[:, :4], rtol=1e-6)
    assert not np.allclose(la[:, 4:], lb[:, 4:])
    with pytest.raises(ShapeError, match="sequence length 7 exceeds block_size 6"):
        model(gs.tensor(np.zeros((1, 7), np.int64)))
    with pytest.raises(ShapeError, match=r"expected token ids of shape \(B, T\)"):
        model(gs.tensor(np.zeros(3, np.int64)))
    with pytest.raises(ValueError, match="divisible"):
        GPT(vocab_size=7, n_embd=10, n_head=3)


def test_generate():
    gs.manual_seed(0)
    model = GPT(vocab_size=5, block_size=4, n_layer=1, n_head=1, n_embd=8)
    model.train()
    out = model.generate(gs.tensor([[1, 2]]), max_new_tokens=10)
    assert out.shape == (1, 12) and model.training
    assert out._data[0, :2].tolist() == [1, 2] and out._data.min() >= 0 and out._data.max() < 5
    gs.manual_seed(3)
    a = model.generate([[1]], 8, temperature=0.9)._data
    gs.manual_seed(3)
    b = model.generate([[1]], 8, temperature=0.9)._data
    assert np.array_equal(a, b)
    greedy = model.generate([[1], [2]], 6, temperature=0)._data
    assert np.array_equal(model.generate([[1], [2]], 6, top_k=1)._data, greedy)
    with pytest.raises(ValueError, match="temperature must be >= 0"):
        model.generate([[1]], 2, temperature=-1)


def test_gpt_learns_a_repeating_sequence():
    gs.manual_seed(0)
    model = GPT(vocab_size=4, block_size=8, n_layer=1, n_head=2, n_embd=16)
    opt = gs.optim.AdamW(model.parameters(), lr=1e-2)
    seq = np.tile(np.arange(4), 5)
    x = gs.tensor(np.stack([seq[i:i + 8] for i in range(4)]))
    y = gs.tensor(np.stack([seq[i + 1:i + 9] for i in range(4)]))
    for _ in range(60):
        loss = lm_loss(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert loss.item() < 0.1
    assert model.generate([[0, 1]], 6, temperature=0)._data[0].tolist() == [0, 1, 2, 3, 0, 1, 2, 3]
