"""Whole training runs: the same model trained in gradstep and PyTorch from identical initial weights
on identical batches for 50 steps ends at the same loss (1e-4 relative) and the same weights."""
import numpy as np
import pytest

import gradstep as gs
import gradstep.nn.functional as F
from gradstep import nn
from tests.nn._parity import copy_to_torch

STEPS = 50


def _batches(rng, n, x_shape, classes):
    return [(rng.standard_normal((n,) + x_shape).astype(np.float32), rng.integers(0, classes, n).astype(np.int64))
            for _ in range(8)]


def _train(model, batches, step_fn, loss_fn, tensor):
    losses = []
    for i in range(STEPS):
        x, y = batches[i % len(batches)]
        loss = loss_fn(model(tensor(x)), tensor(y))
        step_fn(loss)
        losses.append(float(loss.item()))
    return losses


def _sgd_by_hand(params, lr, no_grad):
    params = list(params)

    def step(loss):
        for p in params:
            p.grad = None
        loss.backward()
        with no_grad():
            for p in params:
                p -= lr * p.grad

    return step


def _optimizer_step(opt):
    def step(loss):
        opt.zero_grad()
        loss.backward()
        opt.step()

    return step


def _compare(g_model, t_model, g_losses, t_losses):
    assert np.isfinite(g_losses).all()
    assert g_losses[-1] < g_losses[0]  # it learned something
    np.testing.assert_allclose(g_losses, t_losses, rtol=1e-4, atol=1e-6)
    t_state = t_model.state_dict()
    for key, value in g_model.state_dict().items():
        np.testing.assert_allclose(value.numpy(), t_state[key].numpy(), rtol=1e-3, atol=1e-5, err_msg=key)


def _mlp(lib):
    return lib.nn.Sequential(lib.nn.Linear(20, 32), lib.nn.ReLU(), lib.nn.Linear(32, 5))


def test_mlp_plain_sgd_by_hand(torch):
    rng = np.random.default_rng(0)
    gs.manual_seed(0)
    g_model, t_model = _mlp(gs), _mlp(torch)
    copy_to_torch(g_model, t_model, torch)
    batches = _batches(rng, 16, (20,), 5)
    g_losses = _train(g_model, batches, _sgd_by_hand(g_model.parameters(), 0.1, gs.no_grad), F.cross_entropy, gs.tensor)
    t_losses = _train(t_model, batches, _sgd_by_hand(t_model.parameters(), 0.1, torch.no_grad),
                      torch.nn.functional.cross_entropy, torch.tensor)
    _compare(g_model, t_model, g_losses, t_losses)


def test_mlp_sgd_momentum_optimizer(torch):
    rng = np.random.default_rng(1)
    gs.manual_seed(1)
    g_model, t_model = _mlp(gs), _mlp(torch)
    copy_to_torch(g_model, t_model, torch)
    batches = _batches(rng, 16, (20,), 5)
    g_opt = gs.optim.SGD(g_model.parameters(), lr=0.05, momentum=0.9, weight_decay=1e-4)
    t_opt = torch.optim.SGD(t_model.parameters(), lr=0.05, momentum=0.9, weight_decay=1e-4)
    g_losses = _train(g_model, batches, _optimizer_step(g_opt), F.cross_entropy, gs.tensor)
    t_losses = _train(t_model, batches, _optimizer_step(t_opt), torch.nn.functional.cross_entropy, torch.tensor)
    _compare(g_model, t_model, g_losses, t_losses)


def _cnn(lib):
    n = lib.nn
    return n.Sequential(
        # no conv bias before BatchNorm: its gradient is pure rounding noise, which Adam would amplify
        n.Conv2d(1, 4, 3, padding=1, bias=False), n.BatchNorm2d(4), n.ReLU(), n.MaxPool2d(2),
        n.Conv2d(4, 8, 3), n.ReLU(), n.AvgPool2d(2), n.Flatten(), n.Linear(8, 10),
    )


def test_small_cnn_adam(torch):
    rng = np.random.default_rng(2)
    gs.manual_seed(2)
    g_model, t_model = _cnn(gs), _cnn(torch)
    copy_to_torch(g_model, t_model, torch)
    batches = _batches(rng, 8, (1, 8, 8), 10)
    g_opt = gs.optim.Adam(g_model.parameters(), lr=1e-2)
    t_opt = torch.optim.Adam(t_model.parameters(), lr=1e-2)
    g_losses = _train(g_model, batches, _optimizer_step(g_opt), F.cross_entropy, gs.tensor)
    t_losses = _train(t_model, batches, _optimizer_step(t_opt), torch.nn.functional.cross_entropy, torch.tensor)
    _compare(g_model, t_model, g_losses, t_losses)
    # evaluation mode (running statistics) agrees too
    g_model.eval()
    t_model.eval()
    x = batches[0][0]
    np.testing.assert_allclose(g_model(gs.tensor(x)).detach().numpy(), t_model(torch.tensor(x)).detach().numpy(),
                               rtol=1e-3, atol=1e-4)


class _TinyGPT:
    """A two-block causal transformer language model, written against either library."""

    @staticmethod
    def build(lib, vocab=11, d=16, heads=2, ctx=6):
        n = lib.nn

        class GPT(n.Module):
            def __init__(self):
                super().__init__()
                self.tok = n.Embedding(vocab, d)
                self.pos = n.Embedding(ctx, d)
                self.blocks = n.ModuleList([
                    n.TransformerEncoderLayer(d, heads, 32, dropout=0.0, activation="gelu", batch_first=True,
                                              norm_first=True) for _ in range(2)])
                self.norm = n.LayerNorm(d)
                self.head = n.Linear(d, vocab)
                self.register_buffer("mask", lib.tensor(np.triu(np.ones((ctx, ctx), dtype=bool), 1)),
                                     persistent=False)

            def forward(self, idx):
                T = idx.shape[1]
                x = self.tok(idx) + self.pos(lib.arange(T))
                for block in self.blocks:
                    x = block(x, src_mask=self.mask[:T, :T], is_causal=True)
                return self.head(self.norm(x))

        return GPT()


def test_tiny_gpt_adamw(torch):
    rng = np.random.default_rng(3)
    gs.manual_seed(3)
    g_model, t_model = _TinyGPT.build(gs), _TinyGPT.build(torch)
    copy_to_torch(g_model, t_model, torch)
    data = [rng.integers(0, 11, (4, 7)).astype(np.int64) for _ in range(4)]
    batches = [(d[:, :-1], d[:, 1:]) for d in data]

    def lm_loss(lib_f):
        return lambda logits, y: lib_f.cross_entropy(logits.reshape(-1, 11), y.reshape(-1))

    g_opt = gs.optim.AdamW(g_model.parameters(), lr=3e-3)
    t_opt = torch.optim.AdamW(t_model.parameters(), lr=3e-3)
    steps = 20
    g_losses = _train(g_model, batches, _optimizer_step(g_opt), lm_loss(F), gs.tensor)[:steps]
    t_losses = _train(t_model, batches, _optimizer_step(t_opt), lm_loss(torch.nn.functional), torch.tensor)[:steps]
    np.testing.assert_allclose(g_losses, t_losses, rtol=1e-3)
    assert g_losses[-1] < g_losses[0]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_regression_mse_dtype_preserved(dtype, torch):
    rng = np.random.default_rng(4)
    g_model = nn.Sequential(nn.Linear(3, 8), nn.Tanh(), nn.Linear(8, 1)).to(getattr(gs, dtype))
    t_model = torch.nn.Sequential(torch.nn.Linear(3, 8), torch.nn.Tanh(), torch.nn.Linear(8, 1)).to(
        getattr(torch, dtype))
    copy_to_torch(g_model, t_model, torch)
    x = rng.standard_normal((32, 3)).astype(dtype)
    y = (x.sum(1, keepdims=True) ** 2).astype(dtype)
    g_opt = gs.optim.SGD(g_model.parameters(), lr=0.01)
    t_opt = torch.optim.SGD(t_model.parameters(), lr=0.01)
    for _ in range(20):
        for model, opt, lib, f in ((g_model, g_opt, gs, F), (t_model, t_opt, torch, torch.nn.functional)):
            opt.zero_grad()
            loss = f.mse_loss(model(lib.tensor(x)), lib.tensor(y))
            loss.backward()
            opt.step()
    assert all(str(p.dtype) == dtype for p in g_model.parameters())
    for key, value in g_model.state_dict().items():
        np.testing.assert_allclose(value.numpy(), t_model.state_dict()[key].numpy(), rtol=1e-4, atol=1e-6)
