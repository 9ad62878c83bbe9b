"""``MultiheadAttention``, with PyTorch's parameter names so state dicts interchange."""
from __future__ import annotations

import math

from ..autograd.tensor import Tensor
from ..creation import tensor as _tensor_of  # keeps the data's dtype (the Tensor class makes float32)
from ..backend import xp
from ..errors import ArgumentTypeError, DTypeError, InvalidArgument, ShapeError, fmt_shape
from . import functional as F
from . import init
from ._checks import check_sizes
from .linear import Linear, _empty
from .module import Module

__all__ = ["MultiheadAttention"]


def _additive_mask(mask, dtype, name: str):
    """A bool mask (True = not allowed) as 0 / -inf, or a float mask as it is (added to the scores)."""
    if mask is None:
        return None
    if not isinstance(mask, Tensor):
        mask = _tensor_of(mask)
    kind = mask.dtype.kind
    if kind == "b":
        arr = xp.where(mask._data, xp.asarray(-math.inf, dtype=dtype), xp.asarray(0, dtype=dtype))
        return Tensor._wrap(arr)
    if kind != "f":
        raise DTypeError(f"MultiheadAttention: only bool and floating types of {name} are supported, got {mask.dtype}")
    return mask if mask.dtype == dtype else mask.to(dtype)


class MultiheadAttention(Module):
    """Attention from ``num_heads`` heads of size ``embed_dim // num_heads`` in parallel.

    ``attention(Q, K, V) = softmax(Q K^T / sqrt(head_dim) + mask) V`` per head, with
    Q, K, V linear projections of ``query``, ``key``, ``value`` (``in_proj_weight``,
    ``in_proj_bias``) and an output projection ``out_proj``.

    Args:
        embed_dim: model width E.
        num_heads: number of heads (must divide E).
        dropout: dropout on the attention weights while training.
        bias: learn the projection biases (initialised to zero).
        add_bias_kv, add_zero_attn: append a learned / a zero key-value position.
        kdim, vdim: feature sizes of key and value (default E).
        batch_first: inputs and outputs are (N, L, E) instead of (L, N, E).

    Shape:
        query ``(L, N, E)`` (``(N, L, E)`` with batch_first, ``(L, E)`` unbatched),
        key ``(S, N, kdim)``, value ``(S, N, vdim)``; ``key_padding_mask`` ``(N, S)``
        (True = ignore that key); ``attn_mask`` ``(L, S)`` or ``(N * num_heads, L, S)``
        (bool: True = not allowed; float: added to the scores).
        Returns the output ``(L, N, E)`` and, with ``need_weights``, the attention
        weights ``(N, L, S)`` (averaged over heads) or ``(N, num_heads, L, S)``.
    """

    def __init__(self, embed_dim: int, num_heads: int, dropout: float = 0.0, bias: bool = True,
                 add_bias_kv: bool = False, add_zero_attn: bool = False, kdim: int | None = None,
                 vdim: int | None = None, batch_first: bool = False, device=None, dtype=None):
        super().__init__()
        check_sizes("MultiheadAttention", 1, embed_dim=embed_dim, num_heads=num_heads)
        if embed_dim % num_heads != 0:
            raise InvalidArgument(f"MultiheadAttention: embed_dim ({embed_dim}) must be divisible by num_heads "
                                  f"({num_heads}); got embed_dim={embed_dim}, num_heads={num_heads}")
        self.embed_dim = embed_dim
        self.kdim = kdim if kdim is not None else embed_dim
        self.vdim = vdim if vdim is not None else embed_dim
        self._qkv_same_embed_dim = self.kdim == embed_dim and self.vdim == embed_dim
        self.num_heads = num_heads
        self.dropout = dropout
        self.batch_first = batch_first
        self.head_dim = embed_dim // num_heads
        if self._qkv_same_embed_dim:
            self.in_proj_weight = _empty((3 * embed_dim, embed_dim), dtype)
            self.register_parameter("q_proj_weight", None)
            self.register_parameter("k_proj_weight", None)
            self.register_parameter("v_proj_weight", None)
        else:
            self.q_proj_weight = _empty((embed_dim, embed_dim), dtype)
            self.k_proj_weight = _empty((embed_dim, self.kdim), dtype)
            self.v_proj_weight = _empty((embed_dim, self.vdim), dtype)
            self.register_parameter("in_proj_weight", None)
        if bias:
            self.in_proj_bias = _empty((3 * embed_dim,), dtype)
        else:
            self.register_parameter("in_proj_bias", None)
        self.out_proj = Linear(embed_dim, embed_dim, bias=bias, dtype=dtype)
        if add_bias_kv:
            self.bias_k = _empty((1, 1, embed_dim), dtype)
            self.bias_v = _empty((1, 1, embed_dim), dtype)
        else:
            self.bias_k = self.bias_v = None
        self.add_zero_attn = add_zero_attn
        self._reset_parameters()

    def _reset_parameters(self) -> None:
        if self._qkv_same_embed_dim:
            init.xavier_uniform_(self.in_proj_weight)
        else:
            init.xavier_uniform_(self.q_proj_weight)
            init.xavier_uniform_(self.k_proj_weight)
            init.xavier_uniform_(self.v_proj_weight)
        if self.in_proj_bias is not None:
            init.constant_(self.in_proj_bias, 0.0)
            init.constant_(self.out_proj.bias, 0.0)
        if self.bias_k is not None:
            init.xavier_normal_(self.bias_k)
        if self.bias_v is not None:
            init.xavier_normal_(self.bias_v)

    # ------------------------------------------------------------ helpers
    def _check(self, query, key, value):
        for name, t in (("query", query), ("key", key), ("value", value)):
            if not isinstance(t, Tensor):
                raise ArgumentTypeError(f"MultiheadAttention: {name} must be a Tensor, got {type(t).__name__}")
        if query.ndim not in (2, 3):
            raise ShapeError(
                f"MultiheadAttention: query should be unbatched 2D or batched 3D, got shape {fmt_shape(query.shape)}"
            )
        dims = (("query", query, self.embed_dim), ("key", key, self.kdim), ("value", value, self.vdim))
        for name, t, size in dims:
            if t.ndim != query.ndim or t.shape[-1] != size:
                layout = "(N, L, E)" if self.batch_first else "(L, N, E)"
                raise ShapeError(
                    f"MultiheadAttention(embed_dim={self.embed_dim}, num_heads={self.num_heads}) expected {name} "
                    f"{layout[:-2]}{size}) with last dim {size}, got {fmt_shape(t.shape)}"
                )
        if key.shape[:-1] != value.shape[:-1]:
            raise ShapeError(
                f"MultiheadAttention: key shape {fmt_shape(key.shape)} does not match value shape {fmt_shape(value.shape)}"
            )

    def _project(self, query, key, value):
        """Q, K, V projections, all (N, len, E)."""
        b = self.in_proj_bias
        if self._qkv_same_embed_dim:
            w = self.in_proj_weight
            if query is key and key is value:  # self-attention: one fused matmul
                return F.linear(query, w, b).chunk(3, dim=-1)
            w_q, w_k, w_v = w.chunk(3)
        else:
            w_q, w_k, w_v = self.q_proj_weight, self.k_proj_weight, self.v_proj_weight
        b_q, b_k, b_v = b.chunk(3) if b is not None else (None, None, None)
        return F.linear(query, w_q, b_q), F.linear(key, w_k, b_k), F.linear(value, w_v, b_v)

    # ------------------------------------------------------------ forward
    def forward(self, query, key, value, key_padding_mask=None, need_weights: bool = True, attn_mask=None,
                average_attn_weights: bool = True, is_causal: bool = False):
        self._check(query, key, value)
        batched = query.ndim == 3
        if not batched:
            query, key, value = query.unsqueeze(0), key.unsqueeze(0), value.unsqueeze(0)
            if key_padding_mask is not None:
                key_padding_mask = key_padding_mask.unsqueeze(0) if key_padding_mask.ndim == 1 else key_padding_mask
            if attn_mask is not None and attn_mask.ndim == 3:
                attn_mask = attn_mask.unsqueeze(0)  # (num_heads, L, S) -> (1, num_heads, L, S)
        elif not self.batch_first:
            # compute in (N, L, E); transposes are views
            same_kv = key is value
            self_attn = query is key and same_kv
            query = query.transpose(0, 1)
            key = query if self_attn else key.transpose(0, 1)
            value = key if same_kv else value.transpose(0, 1)
        N, L, E = query.shape
        S = key.shape[1]
        H, D = self.num_heads, self.head_dim
        dtype = query.dtype

        q, k, v = self._project(query, key, value)
        # A causal mask alone needs no mask tensor on the fused path.
        fused_causal = (is_causal and attn_mask is None and key_padding_mask is None and not need_weights
                        and self.bias_k is None and not self.add_zero_attn)
        mask = None if fused_causal else self._merge_masks(attn_mask, key_padding_mask, is_causal, N, L, S, dtype)

        if self.bias_k is not None:  # one more key/value position, learned
            k = _cat([k, self.bias_k.expand(N, 1, E)], 1)
            v = _cat([v, self.bias_v.expand(N, 1, E)], 1)
            mask = _allow_one_more_key(mask)
            S += 1
        q = q.reshape(N, L, H, D).transpose(1, 2)
        k = k.reshape(N, S, H, D).transpose(1, 2)
        v = v.reshape(N, S, H, D).transpose(1, 2)
        if self.add_zero_attn:  # one more key/value position, all zeros
            zeros = Tensor._wrap(xp.zeros((N, H, 1, D), dtype=dtype))
            k, v = _cat([k, zeros], 2), _cat([v, zeros], 2)
            mask = _allow_one_more_key(mask)
            S += 1

        dropout_p = self.dropout if self.training else 0.0
        if need_weights:
            # PyTorch's explicit path: scale q, add the mask, softmax, (dropout), weights @ v
            scores = (q * math.sqrt(1.0 / D)) @ k.transpose(-2, -1)
            if mask is not None:
                scores = scores + mask
            weights = F.softmax(scores, -1)
            if dropout_p > 0.0:
                weights = F.dropout(weights, dropout_p, True)
            out = weights @ v
        else:
            out = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, dropout_p=dropout_p, is_causal=fused_causal)
        if not need_weights:
            weights = None
        out = self.out_proj(out.transpose(1, 2).reshape(N, L, E))

        if weights is not None and average_attn_weights:
            weights = weights.mean(1)
        if not batched:
            out = out.squeeze(0)
            weights = weights.squeeze(0) if weights is not None else None
        elif not self.batch_first:
            out = out.transpose(0, 1)
        return out, weights

    def _merge_masks(self, attn_mask, key_padding_mask, is_causal, N, L, S, dtype):
        """One additive mask broadcasting to (N, num_heads, L, S), or None."""
        H = self.num_heads
        if is_causal and attn_mask is None:
            causal = xp.triu(xp.ones((L, S), dtype=bool), 1)
            attn_mask = Tensor._wrap(causal)
        mask = _additive_mask(attn_mask, dtype, "attn_mask")
        if mask is not None:
            if mask.ndim == 2:
                if tuple(mask.shape) != (L, S):
                    raise ShapeError(
                        f"MultiheadAttention: the shape of the 2D attn_mask is {fmt_shape(mask.shape)}, but should be "
                        f"{fmt_shape((L, S))}"
                    )
            elif mask.ndim == 3:
                if tuple(mask.shape) != (N * H, L, S):
                    raise ShapeError(
                        f"MultiheadAttention: the shape of the 3D attn_mask is {fmt_shape(mask.shape)}, but should be "
                        f"{fmt_shape((N * H, L, S))}"
                    )
                mask = mask.reshape(N, H, L, S)
            elif mask.ndim == 4 and tuple(mask.shape) == (1, H, L, S):
                pass
            else:
                raise ShapeError(f"MultiheadAttention: attn_mask's dimension {mask.ndim} is not supported")
        kpm = _additive_mask(key_padding_mask, dtype, "key_padding_mask")
        if kpm is not None:
            if tuple(kpm.shape) != (N, S):
                raise ShapeError(
                    f"MultiheadAttention: expected key_padding_mask of shape {fmt_shape((N, S))}, got {fmt_shape(kpm.shape)}"
                )
            kpm = kpm.reshape(N, 1, 1, S)
            mask = kpm if mask is None else mask + kpm
        return mask

    def extra_repr(self) -> str:
        return ""


def _cat(tensors, dim):
    from .. import ops

    return ops.cat(tensors, dim)


def _allow_one_more_key(mask):
    """Extend an additive mask by one key column that every query may attend to."""
    if mask is None:
        return None
    zeros = Tensor._wrap(xp.zeros(tuple(mask.shape[:-1]) + (1,), dtype=mask.dtype))
    return _cat([mask, zeros], -1)
