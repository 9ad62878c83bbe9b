"""GPT: a small decoder-only transformer for character-level language modelling.

Token and learned position embeddings, ``n_layer`` pre-LayerNorm blocks of
causal self-attention and an MLP (d -> 4d -> GELU -> d), a final LayerNorm,
and a linear head to vocabulary logits; initialised as GPT-2 (normal with std
0.02, residual projections scaled by ``1/sqrt(2 n_layer)``).

>>> model = GPT(vocab_size=65, block_size=64)
>>> logits = model(idx)                       # (B, T) ids -> (B, T, 65)
>>> model.generate(idx, max_new_tokens=100, temperature=0.8, top_k=10)
"""
from __future__ import annotations

import math

import numpy

from .. import backend, nn
from ..autograd.grad_mode import no_grad
from ..autograd.tensor import Tensor
from ..errors import IndexOutOfRange, InvalidArgument, ShapeError, fmt_shape
from ..nn import functional as F

__all__ = ["GPT", "CausalSelfAttention", "Block", "lm_loss"]


def lm_loss(logits, targets):
    """Mean next-token cross-entropy: logits ``(B, T, V)`` against target ids ``(B, T)``."""
    return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1))


class CausalSelfAttention(nn.Module):
    """Multi-head self-attention in which position ``t`` only sees positions ``<= t``."""

    def __init__(self, n_embd: int, n_head: int, dropout: float = 0.0):
        super().__init__()
        if n_embd % n_head:
            raise InvalidArgument(f"CausalSelfAttention: n_embd ({n_embd}) must be divisible by n_head ({n_head})")
        self.n_head, self.dropout = n_head, dropout
        self.qkv = nn.Linear(n_embd, 3 * n_embd)
        self.proj = nn.Linear(n_embd, n_embd)
        self.resid_dropout = nn.Dropout(dropout)

    def forward(self, x):
        B, T, C = x.shape
        H = self.n_head
        q, k, v = (t.reshape(B, T, H, C // H).transpose(1, 2) for t in self.qkv(x).split(C, dim=2))  # (B, H, T, hd)
        y = F.scaled_dot_product_attention(q, k, v, dropout_p=self.dropout if self.training else 0.0, is_causal=True)
        return self.resid_dropout(self.proj(y.transpose(1, 2).reshape(B, T, C)))


class Block(nn.Module):
    """``x + attn(ln1(x))`` then ``x + mlp(ln2(x))``."""

    def __init__(self, n_embd: int, n_head: int, dropout: float = 0.0):
        super().__init__()
        self.ln1 = nn.LayerNorm(n_embd)
        self.attn = CausalSelfAttention(n_embd, n_head, dropout)
        self.ln2 = nn.LayerNorm(n_embd)
        self.mlp = nn.Sequential(nn.Linear(n_embd, 4 * n_embd), nn.GELU(), nn.Linear(4 * n_embd, n_embd),
                                 nn.Dropout(dropout))

    def forward(self, x):
        x = x + self.attn(self.ln1(x))
        return x + self.mlp(self.ln2(x))


class GPT(nn.Module):
    """A small causal transformer language model.

    Args:
        vocab_size: number of token ids.
        block_size: longest context (positions with a learned embedding).
        n_layer, n_head, n_embd: depth, attention heads, width.
        dropout: on embeddings, attention weights and residual branches.

    Shape:
        input ids ``(B, T)`` with ``T <= block_size`` -> logits ``(B, T, vocab_size)``.
    """

    def __init__(self, vocab_size: int, block_size: int = 64, n_layer: int = 2, n_head: int = 4, n_embd: int = 64,
                 dropout: float = 0.0):
        super().__init__()
        self.vocab_size, self.block_size = int(vocab_size), int(block_size)
        self.tok_emb = nn.Embedding(vocab_size, n_embd)
        self.pos_emb = nn.Embedding(block_size, n_embd)
        self.drop = nn.Dropout(dropout)
        self.blocks = nn.ModuleList([Block(n_embd, n_head, dropout) for _ in range(n_layer)])
        self.ln_f = nn.LayerNorm(n_embd)
        self.head = nn.Linear(n_embd, vocab_size, bias=False)
        self._init_weights(n_layer)

    def _init_weights(self, n_layer: int) -> None:
        for name, p in self.named_parameters():
            if name.endswith("bias"):
                nn.init.zeros_(p)
            elif p.ndim == 2:  # Linear and Embedding weights
                std = 0.02 / math.sqrt(2 * n_layer) if name.endswith(("attn.proj.weight", "mlp.2.weight")) else 0.02
                nn.init.normal_(p, 0.0, std)

    def forward(self, idx):
        if idx.ndim != 2:
            raise ShapeError(f"GPT: expected token ids of shape (B, T), got {fmt_shape(idx.shape)}")
        B, T = idx.shape
        if T > self.block_size:
            raise ShapeError(f"GPT: sequence length {T} exceeds block_size {self.block_size}")
        pos = Tensor._wrap(numpy.arange(T, dtype=numpy.int64))
        x = self.drop(self.tok_emb(idx) + self.pos_emb(pos))
        for block in self.blocks:
            x = block(x)
        return self.head(self.ln_f(x))

    def generate(self, idx, max_new_tokens: int, temperature: float = 1.0, top_k: int | None = None):
        """Extend ``idx`` (B, T) by ``max_new_tokens`` sampled ids; returns ``(B, T + max_new_tokens)``.

        Each new id is drawn from ``softmax(logits / temperature)`` restricted
        to the ``top_k`` most likely ids (all when None), with gradstep's global
        generator (``gradstep.manual_seed`` makes it repeatable);
        ``temperature=0`` picks the most likely id.
        """
        if temperature < 0:
            raise InvalidArgument(f"generate: temperature must be >= 0, got {temperature}")
        if top_k is not None and not 1 <= top_k:
            raise InvalidArgument(f"generate: top_k must be a positive int or None, got {top_k}")
        ids = numpy.array(getattr(idx, "_data", idx), dtype=numpy.int64)
        if ids.ndim == 1:
            ids = ids[None]
        if ids.ndim != 2 or ids.shape[1] == 0:
            raise ShapeError(f"generate: expected a non-empty (B, T) array of ids, got shape {fmt_shape(ids.shape)}")
        if ids.min() < 0 or ids.max() >= self.vocab_size:
            raise IndexOutOfRange(f"generate: token ids must lie in [0, {self.vocab_size}) (vocab_size), got ids "
                                  f"{int(ids.min())}..{int(ids.max())}")
        rng = backend.generator()
        was_training = self.training
        self.eval()
        try:
            with no_grad():
                for _ in range(int(max_new_tokens)):
                    context = Tensor._wrap(numpy.ascontiguousarray(ids[:, -self.block_size:]))
                    logits = self(context)._data[:, -1, :].astype(numpy.float64)
                    ids = numpy.concatenate([ids, _sample(logits, temperature, top_k, rng)[:, None]], axis=1)
        finally:
            self.train(was_training)
        return Tensor._wrap(ids)


def _sample(logits: numpy.ndarray, temperature: float, top_k: int | None, rng) -> numpy.ndarray:
    """One id per row of ``logits`` (B, V)."""
    if temperature == 0:
        return logits.argmax(axis=-1)
    logits = logits / temperature
    if top_k is not None and top_k < logits.shape[-1]:
        kth = numpy.partition(logits, -top_k, axis=-1)[:, -top_k][:, None]
        logits = numpy.where(logits < kth, -numpy.inf, logits)
    probs = numpy.exp(logits - logits.max(axis=-1, keepdims=True))
    cdf = numpy.cumsum(probs, axis=-1)
    u = rng.random(logits.shape[0]) * cdf[:, -1]
    return numpy.minimum((cdf < u[:, None]).sum(axis=-1), logits.shape[-1] - 1)
