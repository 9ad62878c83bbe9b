"""Speed paths (float32 kernels, cache-sized pieces, fused ops) against PyTorch, and the float32 discipline.

The generic op tests use small shapes; these check the fast kernels where
they differ from the simple code: several pieces, non-contiguous inputs,
extreme values, and that no op turns float32 into float64.
"""
import math

import numpy as np
import pytest

import gradstep as gs
from gradstep.ops import elementwise
from tests.oracle import check


# ------------------------------------------------------------------- GELU
def test_gelu_float32_kernel_over_several_pieces(torch, rng):
    n = elementwise._PIECE * 2 + 77  # three pieces, the last one short
    a = (rng.standard_normal(n) * 3).astype(np.float32)
    check(gs.gelu, torch.nn.functional.gelu, [a], torch=torch, gradcheck=False)


def test_gelu_float32_accuracy_including_tails(torch):
    x = np.linspace(-20, 20, 40001, dtype=np.float32)
    got = gs.gelu(gs.tensor(x)).numpy()
    # x Φ(x) with Φ(x) = erfc(-x / √2) / 2 in float64 (accurate in the tail, unlike 1 + erf(x / √2)).
    ref = np.array([v * 0.5 * math.erfc(-v / math.sqrt(2)) for v in x.astype(np.float64)])
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, ref, rtol=2e-6, atol=3e-7)
    want_torch = torch.nn.functional.gelu(torch.tensor(x)).numpy()
    np.testing.assert_allclose(got, want_torch, rtol=1.3e-5, atol=1e-5)
    # Relative accuracy in the negative tail, where x Φ(x) is tiny but representable.
    tail = (x < -3) & (np.abs(ref) > 1e-30)
    np.testing.assert_allclose(got[tail], ref[tail], rtol=2e-5)


def test_gelu_float32_gradient_in_the_tails(torch):
    x = np.array([-30.0, -12.0, -6.0, -1e-3, 0.0, 1e-3, 6.0, 12.0, 1e6], np.float32)
    x64 = x.astype(np.float64)
    # d/dx x Φ(x) = Φ(x) + x φ(x)
    want = 0.5 * np.array([math.erfc(-v / math.sqrt(2)) for v in x64]) + x64 * np.exp(-0.5 * x64**2) / math.sqrt(2 * math.pi)
    g = gs.tensor(x, requires_grad=True)
    gs.gelu(g).sum().backward()
    assert g.grad.dtype == gs.float32
    np.testing.assert_allclose(g.grad.numpy(), want, rtol=1e-5, atol=1e-7)


def test_gelu_huge_and_infinite_inputs_stay_finite_where_defined():
    y = gs.gelu(gs.tensor([1e30, -1e30, 3e38, float("inf")])).numpy()
    np.testing.assert_array_equal(y[:3], np.array([1e30, 0.0, 3e38], np.float32))
    assert y[3] == np.inf


def test_gelu_non_contiguous_input(torch, rng):
    a = rng.standard_normal((6, 8)).astype(np.float32)
    check(lambda x: gs.gelu(x.T), lambda x: torch.nn.functional.gelu(x.T), [a], torch=torch, gradcheck=False)


# ------------------------------------------------------- float32 discipline
def _f32(rng, *shape):
    return gs.tensor(rng.standard_normal(shape).astype(np.float32), requires_grad=True)


F32_CASES = {
    "gelu": lambda r: gs.gelu(_f32(r, 3, 4)),
    "gelu_tanh": lambda r: gs.gelu(_f32(r, 3, 4), approximate="tanh"),
    "relu": lambda r: gs.relu(_f32(r, 3, 4)),
    "linear": lambda r: gs.nn.functional.linear(_f32(r, 5, 4), _f32(r, 3, 4), _f32(r, 3)),
    "linear_3d": lambda r: gs.nn.functional.linear(_f32(r, 2, 5, 4), _f32(r, 3, 4), _f32(r, 3)),
    "layer_norm": lambda r: gs.nn.functional.layer_norm(_f32(r, 3, 8), (8,), _f32(r, 8), _f32(r, 8)),
    "softmax": lambda r: gs.softmax(_f32(r, 3, 5), dim=-1),
    "log_softmax": lambda r: gs.log_softmax(_f32(r, 3, 5), dim=-1),
    "cross_entropy": lambda r: gs.nn.functional.cross_entropy(_f32(r, 6, 5), gs.tensor([0, 1, 2, 3, 4, 0])),
    "conv2d": lambda r: gs.nn.functional.conv2d(_f32(r, 2, 3, 6, 6), _f32(r, 4, 3, 3, 3), _f32(r, 4), padding=1),
    "max_pool2d": lambda r: gs.nn.functional.max_pool2d(_f32(r, 2, 3, 6, 6), 2),
    "sdpa": lambda r: gs.nn.functional.scaled_dot_product_attention(
        _f32(r, 2, 2, 5, 4), _f32(r, 2, 2, 5, 4), _f32(r, 2, 2, 5, 4), is_causal=True),
    "embedding": lambda r: gs.nn.functional.embedding(gs.tensor([[1, 2], [0, 3]]), _f32(r, 5, 4)),
    "mean_var": lambda r: _f32(r, 4, 5).var(dim=0) + _f32(r, 5).mean(),
}


@pytest.mark.parametrize("name", list(F32_CASES))
def test_float32_in_float32_out_and_grads(name, rng):
    out = F32_CASES[name](rng)
    assert out.dtype == gs.float32, f"{name} gave {out.dtype}"
    leaves = []
    stack, seen = [out.grad_fn], set()
    while stack:  # find the leaves that require grad
        node = stack.pop()
        if node is None or id(node) in seen:
            continue
        seen.add(id(node))
        for t, parent in zip(node.inputs, node.parents):
            if parent is None and t.requires_grad:
                leaves.append(t)
            stack.append(parent)
    (out * out).sum().backward()
    assert leaves
    for t in leaves:
        assert t.grad is not None and t.grad.dtype == gs.float32, f"{name}: a gradient is {t.grad.dtype}"


# ------------------------------------------------- channels-last convolutions
@pytest.mark.parametrize("c_in,kw", [(1, dict(padding=1)), (3, dict(stride=2, padding=2, dilation=2)),
                                     (8, dict(padding=1)), (16, dict(padding=(0, 1), stride=(1, 2)))])
def test_conv_pool_chain_channels_last(torch, rng, c_in, kw):
    """conv -> relu -> pool -> conv -> flatten: layouts passed between ops (channels-last) stay correct."""
    x = rng.standard_normal((2, c_in, 9, 10)).astype(np.float32)
    w1 = rng.standard_normal((6, c_in, 3, 3)).astype(np.float32) * 0.3
    b1 = rng.standard_normal(6).astype(np.float32)
    w2 = rng.standard_normal((5, 6, 3, 3)).astype(np.float32) * 0.3

    def run(lib, F, x, w1, b1, w2):
        h = F.max_pool2d(F.relu(F.conv2d(x, w1, b1, **kw)), 2, ceil_mode=True)
        return F.conv2d(h, w2, padding=1).flatten(1) * 1.5

    check(lambda *a: run(gs, gs.nn.functional, *a), lambda *a: run(torch, torch.nn.functional, *a),
          [x, w1, b1, w2], torch=torch, gradcheck=False)


def test_conv_output_is_an_ordinary_tensor(torch, rng):
    x = rng.standard_normal((2, 4, 5, 5)).astype(np.float32)
    w = rng.standard_normal((3, 4, 3, 3)).astype(np.float32)
    y = gs.nn.functional.conv2d(gs.tensor(x), gs.tensor(w))
    want = torch.nn.functional.conv2d(torch.tensor(x), torch.tensor(w)).numpy()
    np.testing.assert_allclose(y.contiguous().numpy(), want, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(y.view(2, -1).numpy(), want.reshape(2, -1), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(np.asarray(y), want, rtol=1e-5, atol=1e-5)
    y += 1  # in place on channels-last memory
    np.testing.assert_allclose(y.numpy(), want + 1, rtol=1e-5, atol=1e-5)


def test_conv_input_gradient_of_channels_last_input(torch, rng):
    x = rng.standard_normal((2, 5, 6, 6)).astype(np.float32)
    w = rng.standard_normal((4, 5, 3, 3)).astype(np.float32)
    g_out = rng.standard_normal((2, 4, 6, 6)).astype(np.float32)
    xt, wt = torch.tensor(x, requires_grad=True), torch.tensor(w, requires_grad=True)
    torch.nn.functional.conv2d(xt, wt, padding=1).backward(torch.tensor(g_out))
    for g_layout in (g_out, np.ascontiguousarray(g_out.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2)):
        xg = gs.Tensor._wrap(np.ascontiguousarray(x.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2), True)
        wg = gs.tensor(w, requires_grad=True)
        y = gs.nn.functional.conv2d(xg, wg, padding=1)
        y.backward(gs.Tensor._wrap(g_layout))
        np.testing.assert_allclose(xg.grad.numpy(), xt.grad.numpy(), rtol=1e-4, atol=1e-5)
        np.testing.assert_allclose(wg.grad.numpy(), wt.grad.numpy(), rtol=1e-4, atol=1e-4)


# ------------------------------------------- leaves keep fresh gradients (no copy)
def test_fresh_gradients_accumulate_correctly(rng):
    x = gs.tensor(rng.standard_normal((4, 3)).astype(np.float32))
    w = gs.tensor(rng.standard_normal((5, 3)).astype(np.float32), requires_grad=True)
    b = gs.tensor(rng.standard_normal((4, 5)).astype(np.float32), requires_grad=True)  # bias broadcast: 2-d
    y = gs.nn.functional.linear(x, w, b)
    z = gs.nn.functional.linear(x, w)  # w used twice
    loss = (y * 2 + z).sum()
    loss.backward(retain_graph=True)
    first_w = w.grad.numpy().copy()
    np.testing.assert_allclose(first_w, 3 * np.ones((4, 5), np.float32).T @ x.numpy(), rtol=1e-5)
    np.testing.assert_allclose(b.grad.numpy(), 2 * np.ones((4, 5)), rtol=1e-6)
    loss.backward()  # the same node returns new arrays again: accumulation adds, nothing aliases
    np.testing.assert_allclose(w.grad.numpy(), 2 * first_w, rtol=1e-5)
    np.testing.assert_allclose(b.grad.numpy(), 4 * np.ones((4, 5)), rtol=1e-6)


def test_hook_result_is_copied_into_grad(rng):
    w = gs.tensor(rng.standard_normal((2, 3)).astype(np.float32), requires_grad=True)
    mine = gs.tensor(np.full((2, 3), 7.0, np.float32))
    w.register_hook(lambda g: mine)
    gs.nn.functional.linear(gs.ones(1, 3), w).sum().backward()
    mine._data[...] = 0  # the user's tensor changes later: the gradient must not
    np.testing.assert_array_equal(w.grad.numpy(), np.full((2, 3), 7.0, np.float32))
    gs.nn.functional.linear(gs.ones(1, 3), w).sum().backward()
    np.testing.assert_array_equal(mine.numpy(), np.zeros((2, 3), np.float32))


# ------------------------------------------------- attention softmax shift
@pytest.mark.parametrize("spread", [0.0, 30.0, 200.0])
def test_sdpa_rows_of_very_different_scale(torch, rng, spread):
    """The global-maximum shift must agree with per-row softmax even when rows differ by a lot."""
    q = rng.standard_normal((2, 3, 5, 4)).astype(np.float32)
    q[:, :, 0] *= 1 + spread  # some rows with huge scores, others small
    k = rng.standard_normal((2, 3, 6, 4)).astype(np.float32)
    v = rng.standard_normal((2, 3, 6, 4)).astype(np.float32)
    f = "scaled_dot_product_attention"
    check(getattr(gs.nn.functional, f), getattr(torch.nn.functional, f), [q, k, v], torch=torch,
          gradcheck=False, rtol=1e-4, atol=1e-4)


def test_sdpa_fully_masked_rows_and_causal(torch, rng):
    q, k, v = (rng.standard_normal((2, 4, 3)).astype(np.float32) for _ in range(3))
    mask = np.ones((4, 4), bool)
    mask[1] = False  # row 1 sees nothing: output 0, like PyTorch
    f = "scaled_dot_product_attention"
    check(lambda a, b, c: getattr(gs.nn.functional, f)(a, b, c, attn_mask=gs.tensor(mask)),
          lambda a, b, c: getattr(torch.nn.functional, f)(a, b, c, attn_mask=torch.tensor(mask)),
          [q, k, v], torch=torch, gradcheck=False)
    check(lambda a, b, c: getattr(gs.nn.functional, f)(a, b, c, is_causal=True),
          lambda a, b, c: getattr(torch.nn.functional, f)(a, b, c, is_causal=True),
          [q, k, v], torch=torch, gradcheck=False)


# -------------------------------------------------- Adam in cache-sized pieces
@pytest.mark.parametrize("kwargs", [dict(weight_decay=0.1, maximize=True), dict(amsgrad=True), dict()])
def test_adam_pieces_match_torch(torch, rng, kwargs):
    from gradstep.optim import adam

    shapes = [(adam._PIECE + 123,), (3, 5)]  # one parameter spans two pieces
    init = [rng.standard_normal(s).astype(np.float32) for s in shapes]
    gp = [gs.tensor(a.copy(), requires_grad=True) for a in init]
    tp = [torch.tensor(a.copy(), requires_grad=True) for a in init]
    g_opt, t_opt = gs.optim.Adam(gp, lr=0.01, **kwargs), torch.optim.Adam(tp, lr=0.01, **kwargs)
    for _ in range(3):
        for p, t in zip(gp, tp):
            g = rng.standard_normal(p.shape).astype(np.float32)
            p.grad, t.grad = gs.tensor(g), torch.tensor(g)
        g_opt.step()
        t_opt.step()
    for p, t in zip(gp, tp):
        np.testing.assert_allclose(p.detach().numpy(), t.detach().numpy(), rtol=1e-5, atol=1e-6)
