"""scaled_dot_product_attention against PyTorch (values, gradients) and finite differences."""
import numpy as np
import pytest

import gradstep as gs
from tests.oracle import check


def _sdpa(lib, **kw):
    fn = gs.scaled_dot_product_attention if lib is gs else lib.nn.functional.scaled_dot_product_attention

    def run(q, k, v, *mask):
        return fn(q, k, v, *mask, **kw)

    return run


def _qkv(rng, qs, ks, vs, dtype=np.float32):
    return [rng.standard_normal(s).astype(dtype) for s in (qs, ks, vs)]


SHAPES = [
    ((2, 3, 4, 5), (2, 3, 6, 5), (2, 3, 6, 7)),
    ((2, 4, 5), (2, 4, 5), (2, 4, 3)),
    ((4, 5), (6, 5), (6, 3)),
    ((2, 1, 4, 5), (1, 3, 6, 5), (2, 3, 6, 2)),
    ((1, 1, 5), (1, 3, 5), (1, 3, 4)),
    ((2, 0, 4), (2, 3, 4), (2, 3, 2)),
]


@pytest.mark.parametrize("qs,ks,vs", SHAPES, ids=str)
def test_sdpa(qs, ks, vs, torch, rng):
    check(_sdpa(gs), _sdpa(torch), _qkv(rng, qs, ks, vs), torch=torch)


@pytest.mark.parametrize("L,S", [(5, 5), (4, 6), (6, 4), (1, 3)])
def test_sdpa_causal(L, S, torch, rng):
    arrays = _qkv(rng, (2, 2, L, 4), (2, 2, S, 4), (2, 2, S, 3))
    check(_sdpa(gs, is_causal=True), _sdpa(torch, is_causal=True), arrays, torch=torch)


def test_sdpa_custom_scale(torch, rng):
    arrays = _qkv(rng, (2, 3, 4), (2, 5, 4), (2, 5, 4))
    check(_sdpa(gs, scale=0.3), _sdpa(torch, scale=0.3), arrays, torch=torch)


@pytest.mark.parametrize("mask_shape", [(4, 6), (2, 1, 4, 6), (1, 6), (2, 3, 4, 6)], ids=str)
def test_sdpa_bool_mask(mask_shape, torch, rng):
    q, k, v = _qkv(rng, (2, 3, 4, 5), (2, 3, 6, 5), (2, 3, 6, 2))
    mask = rng.random(mask_shape) > 0.4
    mask[..., 0] = True
    check(_sdpa(gs), _sdpa(torch), [q, k, v, mask], torch=torch)


def test_sdpa_bool_mask_fully_masked_rows_give_zero(torch, rng):
    q, k, v = _qkv(rng, (2, 4, 5), (2, 6, 5), (2, 6, 3))
    mask = rng.random((4, 6)) > 0.4
    mask[1] = False  # a query position that sees nothing
    mask[2, 0] = True
    out = check(_sdpa(gs), _sdpa(torch), [q, k, v, mask], torch=torch)
    assert not out.detach().numpy()[:, 1].any()


@pytest.mark.parametrize("mask_shape", [(4, 6), (3, 1, 6), (2, 3, 4, 6)], ids=str)
def test_sdpa_float_mask_with_grad(mask_shape, torch, rng):
    q, k, v = _qkv(rng, (2, 3, 4, 5), (2, 3, 6, 5), (2, 3, 6, 2))
    mask = rng.standard_normal(mask_shape).astype(np.float32)
    check(_sdpa(gs), _sdpa(torch), [q, k, v, mask], torch=torch)


def test_sdpa_float_mask_with_minus_inf(torch, rng):
    q, k, v = _qkv(rng, (2, 4, 5), (2, 6, 5), (2, 6, 3))
    mask = np.where(rng.random((4, 6)) > 0.5, 0.0, -np.inf).astype(np.float32)
    mask[:, 0] = 0.0
    mask[3] = -np.inf  # fully masked row
    check(_sdpa(gs), _sdpa(torch), [q, k, v, mask], torch=torch, grad=[True, True, True, False])


def test_sdpa_gqa(torch, rng):
    arrays = _qkv(rng, (2, 4, 3, 5), (2, 2, 6, 5), (2, 2, 6, 3))
    check(_sdpa(gs, enable_gqa=True), _sdpa(torch, enable_gqa=True), arrays, torch=torch)


def test_sdpa_large_logits_stable(torch, rng):
    q, k, v = _qkv(rng, (2, 4, 8), (2, 5, 8), (2, 5, 3))
    q *= 300
    check(_sdpa(gs), _sdpa(torch), [q, k, v], torch=torch, gradcheck=False, atol=1e-4, rtol=1e-4)


def test_sdpa_float32_stays_float32(rng):
    q, k, v = (gs.tensor(a, requires_grad=True) for a in _qkv(rng, (2, 4, 8), (2, 5, 8), (2, 5, 3)))
    out = gs.scaled_dot_product_attention(q, k, v, is_causal=True)
    assert out.dtype == gs.float32
    out.backward(gs.ones(*out.shape))
    assert q.grad.dtype == k.grad.dtype == v.grad.dtype == gs.float32


# -------------------------------------------------------------------- dropout
def _reference(q, k, v, drop, scale):
    s = q @ np.swapaxes(k, -1, -2) * scale
    p = np.exp(s - s.max(-1, keepdims=True))
    p /= p.sum(-1, keepdims=True)
    return (p * drop) @ v


def test_sdpa_dropout_values_and_gradcheck(rng):
    from gradstep.ops.dropout import _mask

    q, k, v = _qkv(rng, (2, 3, 4), (2, 5, 4), (2, 5, 2), dtype=np.float64)
    gs.manual_seed(5)
    drop = _mask((2, 3, 5), 0.3, np.float64)
    gs.manual_seed(5)
    out = gs.scaled_dot_product_attention(gs.tensor(q), gs.tensor(k), gs.tensor(v), dropout_p=0.3)
    np.testing.assert_allclose(out.numpy(), _reference(q, k, v, drop, 0.5), rtol=1e-10)

    def fn(q_, k_, v_):  # same mask on every call, so finite differences apply
        gs.manual_seed(5)
        return gs.scaled_dot_product_attention(q_, k_, v_, dropout_p=0.3)

    gs.gradcheck(fn, [gs.tensor(a, requires_grad=True) for a in (q, k, v)])


def test_sdpa_dropout_deterministic_under_seed(rng):
    q, k, v = (gs.tensor(a) for a in _qkv(rng, (2, 6, 4), (2, 6, 4), (2, 6, 4)))
    gs.manual_seed(0)
    a = gs.scaled_dot_product_attention(q, k, v, dropout_p=0.5).numpy()
    b = gs.scaled_dot_product_attention(q, k, v, dropout_p=0.5).numpy()
    gs.manual_seed(0)
    c = gs.scaled_dot_product_attention(q, k, v, dropout_p=0.5).numpy()
    np.testing.assert_array_equal(a, c)
    assert not np.array_equal(a, b)


# --------------------------------------------------------------------- errors
def test_sdpa_errors():
    f = gs.scaled_dot_product_attention
    q, k, v = gs.randn(3, 8), gs.randn(5, 8), gs.randn(5, 2)
    with pytest.raises(gs.ShapeError, match=r"key \(5, 7\)"):
        f(q, gs.randn(5, 7), v)
    with pytest.raises(gs.ShapeError, match=r"value \(4, 2\)"):
        f(q, k, gs.randn(4, 2))
    with pytest.raises(gs.ShapeError, match="at least 2 dims"):
        f(gs.randn(8), k, v)
    with pytest.raises(ValueError, match="either attn_mask or is_causal=True"):
        f(q, k, v, attn_mask=gs.ones(3, 5, dtype=gs.bool), is_causal=True)
    with pytest.raises(gs.ShapeError, match=r"attn_mask of shape \(4, 5\).*\(3, 5\)"):
        f(q, k, v, attn_mask=gs.ones(4, 5, dtype=gs.bool))
    with pytest.raises(gs.ShapeError, match=r"attn_mask of shape \(2, 3, 5\)"):
        f(q, k, v, attn_mask=gs.ones(2, 3, 5, dtype=gs.bool))
    with pytest.raises(gs.DTypeError, match="attn_mask must be bool or of the query's dtype float32, got int64"):
        f(q, k, v, attn_mask=gs.ones(3, 5, dtype=gs.int64))
    with pytest.raises(gs.DTypeError, match="same floating dtype.*float64"):
        f(q, k.double(), v)
    with pytest.raises(gs.ShapeError, match="batch dims"):
        f(gs.randn(2, 3, 8), gs.randn(3, 5, 8), gs.randn(3, 5, 2))
    with pytest.raises(gs.ShapeError, match="multiple of the key/value heads"):
        f(gs.randn(1, 3, 4, 8), gs.randn(1, 2, 5, 8), gs.randn(1, 2, 5, 2), enable_gqa=True)
    with pytest.raises(ValueError, match="dropout probability has to be between 0 and 1"):
        f(q, k, v, dropout_p=1.5)
