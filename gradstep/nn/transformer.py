"""PyTorch's transformer modules with its submodule names.

``TransformerEncoderLayer``/``TransformerEncoder`` (a stack of these with
``is_causal=True`` or a causal ``src_mask`` is the body of a small GPT),
``TransformerDecoderLayer``/``TransformerDecoder`` and the encoder-decoder
``Transformer``. The names (``self_attn``, ``multihead_attn``, ``linear1``,
``norm1``, ``encoder.layers.0...``) match ``torch.nn``, so its state dicts load
here unchanged.
"""
from __future__ import annotations

import copy
import math

from . import functional as F
from . import init
from ._checks import check_sizes
from .attention import MultiheadAttention
from .container import ModuleList
from .dropout import Dropout
from .linear import Linear
from .module import Module
from .normalization import LayerNorm
from ..autograd.tensor import Tensor
from ..backend import xp
from ..creation import _float
from ..errors import ArgumentTypeError, InvalidArgument, ShapeError, fmt_shape

__all__ = ["TransformerEncoderLayer", "TransformerEncoder", "TransformerDecoderLayer", "TransformerDecoder",
           "Transformer"]


def _activation(activation, owner: str = "TransformerEncoderLayer"):
    if activation == "relu":
        return F.relu
    if activation == "gelu":
        return F.gelu
    if callable(activation):
        return activation
    raise InvalidArgument(f"{owner}: activation should be relu/gelu, not {activation} "
                          f"(expected 'relu', 'gelu' or a callable)")


def _check_heads(owner: str, d_model, nhead) -> None:
    """Fail in the constructor, naming ``owner``, before MultiheadAttention would."""
    check_sizes(owner, 1, d_model=d_model, nhead=nhead)
    if d_model % nhead != 0:
        raise InvalidArgument(f"{owner}: d_model ({d_model}) must be divisible by nhead ({nhead}); "
                              f"got d_model={d_model}, nhead={nhead}")


_LETTERS = {"src": "S", "tgt": "T", "memory": "S"}  # the sequence length letters of torch's docs


def _check_sequences(owner: str, d_model: int, batch_first: bool, **seqs):
    """Every named sequence is a Tensor of the first one's rank (2 or 3), with last dim ``d_model`` and the
    same batch size. Returns ``(batched, batch size or None, {name: length})``."""
    names = list(seqs)
    for name, t in seqs.items():
        if not isinstance(t, Tensor):
            raise ArgumentTypeError(f"{owner}: {name} must be a Tensor, got {type(t).__name__}")
    first = seqs[names[0]]
    if first.ndim not in (2, 3):
        raise ShapeError(f"{owner}: {names[0]} should be unbatched 2D or batched 3D, got shape "
                         f"{fmt_shape(first.shape)}")
    batched = first.ndim == 3
    seq_dim = 1 if (batched and batch_first) else 0
    for name, t in seqs.items():
        if t.ndim != first.ndim or t.shape[-1] != d_model:
            letter = _LETTERS.get(name, "L")
            layout = ("(N, {0}, {1})" if batch_first else "({0}, N, {1})") if batched else "({0}, {1})"
            raise ShapeError(f"{owner}(d_model={d_model}) expected {name} {layout.format(letter, d_model)} "
                             f"like {names[0]} {fmt_shape(first.shape)}, got {fmt_shape(t.shape)}")
    n = None
    if batched:
        n = first.shape[1 - seq_dim]
        for name, t in seqs.items():
            if t.shape[1 - seq_dim] != n:
                raise ShapeError(f"{owner}: the batch size of {names[0]} and {name} must be equal, got "
                                 f"{names[0]} {fmt_shape(first.shape)} and {name} {fmt_shape(t.shape)}")
    return batched, n, {name: t.shape[seq_dim] for name, t in seqs.items()}


def _shape_of(mask):
    return tuple(mask.shape) if hasattr(mask, "shape") else xp.shape(mask)


def _check_attn_mask(owner, name, mask, rows, cols, batched, n, nhead, letters) -> None:
    """``mask`` is ``(rows, cols)`` or ``(n * nhead, rows, cols)`` (``(nhead, rows, cols)`` unbatched)."""
    if mask is None:
        return
    r, c = letters
    two = (rows, cols)
    three = ((n * nhead) if batched else nhead, rows, cols)
    if _shape_of(mask) not in (two, three):
        heads = "N*nhead" if batched else "nhead"
        raise ShapeError(f"{owner}: {name} should be ({r}, {c}) = {fmt_shape(two)} or ({heads}, {r}, {c}) = "
                         f"{fmt_shape(three)}, got {fmt_shape(_shape_of(mask))}")


def _check_padding_mask(owner, name, mask, length, batched, n, letter) -> None:
    """``mask`` is ``(n, length)`` (``(length,)`` unbatched)."""
    if mask is None:
        return
    want, layout = ((n, length), f"(N, {letter})") if batched else ((length,), f"({letter})")
    if _shape_of(mask) != want:
        raise ShapeError(f"{owner}: {name} should be {layout} = {fmt_shape(want)}, got "
                         f"{fmt_shape(_shape_of(mask))}")


class TransformerEncoderLayer(Module):
    """Self-attention then a feed-forward block, each with a residual connection and LayerNorm.

    Post-norm (default): ``x = norm1(x + sa(x)); x = norm2(x + ff(x))``.
    Pre-norm (``norm_first=True``): ``x = x + sa(norm1(x)); x = x + ff(norm2(x))``.
    ``ff(x) = linear2(dropout(activation(linear1(x))))``.

    Args:
        d_model: model width E.
        nhead: attention heads.
        dim_feedforward: hidden width of the feed-forward block.
        dropout: dropout after attention, inside and after the feed-forward block.
        activation: ``'relu'``, ``'gelu'`` or a callable.
        layer_norm_eps, batch_first, norm_first, bias: as ``torch.nn.TransformerEncoderLayer``.

    Shape:
        src ``(S, N, E)`` (``(N, S, E)`` with batch_first) -> same.
    """

    def __init__(self, d_model: int, nhead: int, dim_feedforward: int = 2048, dropout: float = 0.1,
                 activation="relu", layer_norm_eps: float = 1e-5, batch_first: bool = False,
                 norm_first: bool = False, bias: bool = True, device=None, dtype=None):
        super().__init__()
        self.self_attn = MultiheadAttention(d_model, nhead, dropout=dropout, bias=bias, batch_first=batch_first,
                                            dtype=dtype)
        self.linear1 = Linear(d_model, dim_feedforward, bias=bias, dtype=dtype)
        self.dropout = Dropout(dropout)
        self.linear2 = Linear(dim_feedforward, d_model, bias=bias, dtype=dtype)
        self.norm_first = norm_first
        self.norm1 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, dtype=dtype)
        self.norm2 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, dtype=dtype)
        self.dropout1 = Dropout(dropout)
        self.dropout2 = Dropout(dropout)
        self.activation = _activation(activation)

    def forward(self, src, src_mask=None, src_key_padding_mask=None, is_causal: bool = False):
        x = src
        if self.norm_first:
            x = x + self._sa_block(self.norm1(x), src_mask, src_key_padding_mask, is_causal)
            x = x + self._ff_block(self.norm2(x))
        else:
            x = self.norm1(x + self._sa_block(x, src_mask, src_key_padding_mask, is_causal))
            x = self.norm2(x + self._ff_block(x))
        return x

    def _sa_block(self, x, attn_mask, key_padding_mask, is_causal):
        x = self.self_attn(x, x, x, attn_mask=attn_mask, key_padding_mask=key_padding_mask,
                           need_weights=False, is_causal=is_causal)[0]
        return self.dropout1(x)

    def _ff_block(self, x):
        x = self.linear2(self.dropout(self.activation(self.linear1(x))))
        return self.dropout2(x)


class TransformerEncoder(Module):
    """``num_layers`` independent copies of ``encoder_layer`` applied in turn, then optional ``norm``.

    State dict keys are ``layers.0.self_attn.in_proj_weight``, ... as in PyTorch.
    """

    def __init__(self, encoder_layer: TransformerEncoderLayer, num_layers: int, norm: Module | None = None,
                 enable_nested_tensor: bool = True, mask_check: bool = True):
        super().__init__()
        self.layers = ModuleList([copy.deepcopy(encoder_layer) for _ in range(num_layers)])
        self.num_layers = num_layers
        self.norm = norm

    def forward(self, src, mask=None, src_key_padding_mask=None, is_causal: bool | None = None):
        x = src
        for layer in self.layers:
            x = layer(x, src_mask=mask, src_key_padding_mask=src_key_padding_mask, is_causal=bool(is_causal))
        if self.norm is not None:
            x = self.norm(x)
        return x


class TransformerDecoderLayer(Module):
    """Self-attention, attention over ``memory`` (the encoder's output), then a feed-forward block;
    each with a residual connection and LayerNorm.

    Post-norm (default): ``x = norm1(x + sa(x)); x = norm2(x + mha(x, memory)); x = norm3(x + ff(x))``.
    Pre-norm (``norm_first=True``): ``x = x + sa(norm1(x)); x = x + mha(norm2(x), memory);
    x = x + ff(norm3(x))``. ``ff(x) = linear2(dropout(activation(linear1(x))))``.

    Args:
        d_model: model width E (divisible by ``nhead``).
        nhead: attention heads.
        dim_feedforward: hidden width of the feed-forward block.
        dropout: dropout in both attentions, after each block and inside the feed-forward block.
        activation: ``'relu'``, ``'gelu'`` or a callable.
        layer_norm_eps, batch_first, norm_first, bias: as ``torch.nn.TransformerDecoderLayer``.

    Shape:
        tgt ``(T, N, E)`` (``(N, T, E)`` with batch_first, ``(T, E)`` unbatched), memory ``(S, N, E)``
        -> like tgt. ``tgt_mask`` ``(T, T)`` or ``(N * nhead, T, T)``, ``memory_mask`` ``(T, S)`` or
        ``(N * nhead, T, S)`` (bool: True = not allowed; float: added to the scores);
        ``tgt_key_padding_mask`` ``(N, T)``, ``memory_key_padding_mask`` ``(N, S)`` (True = ignore that key).
    """

    def __init__(self, d_model: int, nhead: int, dim_feedforward: int = 2048, dropout: float = 0.1,
                 activation="relu", layer_norm_eps: float = 1e-5, batch_first: bool = False,
                 norm_first: bool = False, bias: bool = True, device=None, dtype=None):
        super().__init__()
        _check_heads("TransformerDecoderLayer", d_model, nhead)
        self.self_attn = MultiheadAttention(d_model, nhead, dropout=dropout, bias=bias, batch_first=batch_first,
                                            dtype=dtype)
        self.multihead_attn = MultiheadAttention(d_model, nhead, dropout=dropout, bias=bias,
                                                 batch_first=batch_first, dtype=dtype)
        self.linear1 = Linear(d_model, dim_feedforward, bias=bias, dtype=dtype)
        self.dropout = Dropout(dropout)
        self.linear2 = Linear(dim_feedforward, d_model, bias=bias, dtype=dtype)
        self.norm_first = norm_first
        self.norm1 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, dtype=dtype)
        self.norm2 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, dtype=dtype)
        self.norm3 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, dtype=dtype)
        self.dropout1 = Dropout(dropout)
        self.dropout2 = Dropout(dropout)
        self.dropout3 = Dropout(dropout)
        self.activation = _activation(activation, "TransformerDecoderLayer")

    def forward(self, tgt, memory, tgt_mask=None, memory_mask=None, tgt_key_padding_mask=None,
                memory_key_padding_mask=None, tgt_is_causal: bool = False, memory_is_causal: bool = False):
        self._check(tgt, memory, tgt_mask, memory_mask, tgt_key_padding_mask, memory_key_padding_mask)
        x = tgt
        if self.norm_first:
            x = x + self._sa_block(self.norm1(x), tgt_mask, tgt_key_padding_mask, tgt_is_causal)
            x = x + self._mha_block(self.norm2(x), memory, memory_mask, memory_key_padding_mask, memory_is_causal)
            x = x + self._ff_block(self.norm3(x))
        else:
            x = self.norm1(x + self._sa_block(x, tgt_mask, tgt_key_padding_mask, tgt_is_causal))
            x = self.norm2(x + self._mha_block(x, memory, memory_mask, memory_key_padding_mask, memory_is_causal))
            x = self.norm3(x + self._ff_block(x))
        return x

    def _check(self, tgt, memory, tgt_mask, memory_mask, tgt_key_padding_mask, memory_key_padding_mask):
        """Shapes of the sequences and masks, in the decoder's words (T, S, tgt_mask, ...)."""
        owner = "TransformerDecoderLayer"
        attn = self.self_attn
        batched, n, lengths = _check_sequences(owner, attn.embed_dim, attn.batch_first, tgt=tgt, memory=memory)
        t, s, h = lengths["tgt"], lengths["memory"], attn.num_heads
        _check_attn_mask(owner, "tgt_mask", tgt_mask, t, t, batched, n, h, "TT")
        _check_attn_mask(owner, "memory_mask", memory_mask, t, s, batched, n, h, "TS")
        _check_padding_mask(owner, "tgt_key_padding_mask", tgt_key_padding_mask, t, batched, n, "T")
        _check_padding_mask(owner, "memory_key_padding_mask", memory_key_padding_mask, s, batched, n, "S")

    def _sa_block(self, x, attn_mask, key_padding_mask, is_causal):
        x = self.self_attn(x, x, x, attn_mask=attn_mask, key_padding_mask=key_padding_mask,
                           need_weights=False, is_causal=bool(is_causal))[0]
        return self.dropout1(x)

    def _mha_block(self, x, memory, attn_mask, key_padding_mask, is_causal):
        x = self.multihead_attn(x, memory, memory, attn_mask=attn_mask, key_padding_mask=key_padding_mask,
                                need_weights=False, is_causal=bool(is_causal))[0]
        return self.dropout2(x)

    def _ff_block(self, x):
        x = self.linear2(self.dropout(self.activation(self.linear1(x))))
        return self.dropout3(x)


class TransformerDecoder(Module):
    """``num_layers`` independent copies of ``decoder_layer`` applied in turn (each attending to the
    same ``memory``), then optional ``norm``.

    State dict keys are ``layers.0.self_attn.in_proj_weight``, ..., ``norm.weight`` as in PyTorch.
    """

    def __init__(self, decoder_layer: TransformerDecoderLayer, num_layers: int, norm: Module | None = None):
        super().__init__()
        check_sizes("TransformerDecoder", 0, num_layers=num_layers)
        self.layers = ModuleList([copy.deepcopy(decoder_layer) for _ in range(num_layers)])
        self.num_layers = num_layers
        self.norm = norm

    def forward(self, tgt, memory, tgt_mask=None, memory_mask=None, tgt_key_padding_mask=None,
                memory_key_padding_mask=None, tgt_is_causal: bool | None = None, memory_is_causal: bool = False):
        # torch turns ``tgt_is_causal=None`` into "is tgt_mask causal?"; that is only a hint: with a mask
        # given, MultiheadAttention applies the mask either way.
        x = tgt
        for layer in self.layers:
            x = layer(x, memory, tgt_mask=tgt_mask, memory_mask=memory_mask,
                      tgt_key_padding_mask=tgt_key_padding_mask, memory_key_padding_mask=memory_key_padding_mask,
                      tgt_is_causal=bool(tgt_is_causal), memory_is_causal=memory_is_causal)
        if self.norm is not None:
            x = self.norm(x)
        return x


class Transformer(Module):
    """Encoder-decoder transformer ("Attention Is All You Need"): ``decoder(tgt, encoder(src))``.

    ``encoder`` is a ``TransformerEncoder`` of ``num_encoder_layers`` layers and a final LayerNorm,
    ``decoder`` a ``TransformerDecoder`` likewise (or ``custom_encoder`` / ``custom_decoder``). Every
    parameter with more than one dimension is initialised with ``xavier_uniform_``, as in PyTorch.

    Args:
        d_model, nhead, num_encoder_layers, num_decoder_layers, dim_feedforward, dropout, activation,
        custom_encoder, custom_decoder, layer_norm_eps, batch_first, norm_first, bias:
        as ``torch.nn.Transformer``.

    Shape:
        src ``(S, N, E)``, tgt ``(T, N, E)`` (``(N, S, E)``, ``(N, T, E)`` with batch_first; ``(S, E)``,
        ``(T, E)`` unbatched) -> like tgt. ``src_mask`` ``(S, S)``, ``tgt_mask`` ``(T, T)``,
        ``memory_mask`` ``(T, S)`` (or with a leading ``N * nhead``); key padding masks ``(N, S)``,
        ``(N, T)``, ``(N, S)``.
    """

    def __init__(self, d_model: int = 512, nhead: int = 8, num_encoder_layers: int = 6,
                 num_decoder_layers: int = 6, dim_feedforward: int = 2048, dropout: float = 0.1,
                 activation="relu", custom_encoder: Module | None = None, custom_decoder: Module | None = None,
                 layer_norm_eps: float = 1e-5, batch_first: bool = False, norm_first: bool = False,
                 bias: bool = True, device=None, dtype=None):
        super().__init__()
        _check_heads("Transformer", d_model, nhead)
        check_sizes("Transformer", 0, num_encoder_layers=num_encoder_layers, num_decoder_layers=num_decoder_layers)
        _activation(activation, "Transformer")
        layer_args = (d_model, nhead, dim_feedforward, dropout, activation, layer_norm_eps, batch_first, norm_first,
                      bias)
        if custom_encoder is not None:
            self.encoder = custom_encoder
        else:
            self.encoder = TransformerEncoder(TransformerEncoderLayer(*layer_args, dtype=dtype), num_encoder_layers,
                                              LayerNorm(d_model, eps=layer_norm_eps, bias=bias, dtype=dtype))
        if custom_decoder is not None:
            self.decoder = custom_decoder
        else:
            self.decoder = TransformerDecoder(TransformerDecoderLayer(*layer_args, dtype=dtype), num_decoder_layers,
                                              LayerNorm(d_model, eps=layer_norm_eps, bias=bias, dtype=dtype))
        self._reset_parameters()
        self.d_model = d_model
        self.nhead = nhead
        self.batch_first = batch_first
        self._own_encoder = custom_encoder is None

    def _reset_parameters(self) -> None:
        for p in self.parameters():
            if p.ndim > 1:
                init.xavier_uniform_(p)

    def forward(self, src, tgt, src_mask=None, tgt_mask=None, memory_mask=None, src_key_padding_mask=None,
                tgt_key_padding_mask=None, memory_key_padding_mask=None, src_is_causal: bool | None = None,
                tgt_is_causal: bool | None = None, memory_is_causal: bool = False):
        batched, n, lengths = _check_sequences("Transformer", self.d_model, self.batch_first, src=src, tgt=tgt)
        if self._own_encoder:  # the decoder layers check tgt's and memory's masks
            s = lengths["src"]
            _check_attn_mask("Transformer", "src_mask", src_mask, s, s, batched, n, self.nhead, "SS")
            _check_padding_mask("Transformer", "src_key_padding_mask", src_key_padding_mask, s, batched, n, "S")
        memory = self.encoder(src, mask=src_mask, src_key_padding_mask=src_key_padding_mask, is_causal=src_is_causal)
        return self.decoder(tgt, memory, tgt_mask=tgt_mask, memory_mask=memory_mask,
                            tgt_key_padding_mask=tgt_key_padding_mask,
                            memory_key_padding_mask=memory_key_padding_mask, tgt_is_causal=tgt_is_causal,
                            memory_is_causal=memory_is_causal)

    @staticmethod
    def generate_square_subsequent_mask(sz: int, device=None, dtype=None) -> Tensor:
        """A ``(sz, sz)`` causal mask: ``-inf`` above the diagonal (future positions), ``0`` elsewhere."""
        check_sizes("Transformer.generate_square_subsequent_mask", 0, sz=sz)
        dtype = _float(dtype, "Transformer.generate_square_subsequent_mask")
        mask = xp.triu(xp.full((sz, sz), -math.inf, dtype=dtype), 1)
        return Tensor._wrap(mask)
