"""PyTorch idioms a user types from habit: each works in gradstep and gives PyTorch's numbers.

Only idioms that work today are here; the missing ones (topk, sort, einsum,
new_zeros, type_as, ...) are listed in the QA report, not asserted.
"""
import numpy as np
import pytest

import gradstep as gs
from gradstep import nn
from gradstep.nn import functional as F
from tests.oracle import check


@pytest.fixture
def x(rng):
    return rng.standard_normal((4, 5)).astype(np.float32)


# ------------------------------------------------------------ shapes and sizes
def test_view_minus_one_and_size(x, torch):
    check(lambda t: t.view(-1), lambda t: t.view(-1), [x], torch=torch)
    g, t = gs.tensor(x), torch.tensor(x)
    assert g.size(0) == t.size(0) == 4
    assert g.size(-1) == t.size(-1) == 5
    assert tuple(g.size()) == tuple(t.size()) == (4, 5)
    assert g.dim() == t.dim() and g.numel() == t.numel() and len(g) == len(t)


def test_unsqueeze_expand_with_minus_one(rng, torch):
    v = rng.standard_normal(5).astype(np.float32)
    out = check(lambda t: t.unsqueeze(0).expand(3, -1), lambda t: t.unsqueeze(0).expand(3, -1), [v], torch=torch)
    assert out.shape == (3, 5)


def test_cat_and_stack_with_dim(rng, torch):
    a = rng.standard_normal((2, 3)).astype(np.float32)
    b = rng.standard_normal((2, 4)).astype(np.float32)
    check(lambda p, q: gs.cat([p, q], dim=1), lambda p, q: torch.cat([p, q], dim=1), [a, b], torch=torch)
    check(lambda p, q: gs.cat((p, q[:, :3]), dim=0), lambda p, q: torch.cat((p, q[:, :3]), dim=0), [a, b],
          torch=torch)
    check(lambda p: gs.stack([p, p * 2], dim=1), lambda p: torch.stack([p, p * 2], dim=1), [a], torch=torch)


def test_reshape_permute_transpose_idioms(rng, torch):
    a = rng.standard_normal((2, 3, 4)).astype(np.float32)
    check(lambda t: t.permute(2, 0, 1).contiguous().view(4, -1), lambda t: t.permute(2, 0, 1).contiguous().view(4, -1),
          [a], torch=torch)
    check(lambda t: t.transpose(0, 1).reshape(3, -1), lambda t: t.transpose(0, 1).reshape(3, -1), [a], torch=torch)
    check(lambda t: t.flatten(1), lambda t: t.flatten(1), [a], torch=torch)
    check(lambda t: t.mT, lambda t: t.mT, [a], torch=torch)
    check(lambda t: t[:, None, ..., -1], lambda t: t[:, None, ..., -1], [a], torch=torch)


# ------------------------------------------------------------ reductions
def test_max_dim_values_indices_and_tuple_unpacking(x, torch):
    check(lambda t: t.max(dim=1).values, lambda t: t.max(dim=1).values, [x], torch=torch)
    check(lambda t: t.max(dim=1)[0], lambda t: t.max(dim=1)[0], [x], torch=torch)
    check(lambda t: t.min(dim=0, keepdim=True).values, lambda t: t.min(dim=0, keepdim=True).values, [x], torch=torch)
    g_vals, g_idx = gs.tensor(x).max(1)
    t_vals, t_idx = torch.tensor(x).max(1)
    np.testing.assert_array_equal(g_idx.numpy(), t_idx.numpy())
    assert g_idx.dtype == gs.int64
    np.testing.assert_array_equal(gs.tensor(x).max(dim=1).indices.numpy(), t_idx.numpy())


def test_argmax_last_dim_and_accuracy_idiom(x, torch):
    labels = np.array([0, 1, 2, 3])
    g = gs.tensor(x).argmax(dim=-1)
    t = torch.tensor(x).argmax(dim=-1)
    np.testing.assert_array_equal(g.numpy(), t.numpy())
    assert g.dtype == gs.int64
    g_acc = (g == gs.tensor(labels)).float().mean().item()
    t_acc = (t == torch.tensor(labels)).float().mean().item()
    assert g_acc == pytest.approx(t_acc)
    assert (g == gs.tensor(labels)).sum().item() == (t == torch.tensor(labels)).sum().item()


def test_norm_std_softmax_methods(x, torch):
    check(lambda t: t.norm(), lambda t: t.norm(), [x], torch=torch)
    check(lambda t: t.norm(dim=1), lambda t: t.norm(dim=1), [x], torch=torch)
    check(lambda t: t.std(0), lambda t: t.std(0), [x], torch=torch)
    check(lambda t: t.std(0, unbiased=False), lambda t: t.std(0, unbiased=False), [x], torch=torch)
    check(lambda t: t.var(dim=0, keepdim=True), lambda t: t.var(dim=0, keepdim=True), [x], torch=torch)
    check(lambda t: t.softmax(-1), lambda t: t.softmax(-1), [x], torch=torch)
    check(lambda t: F.softmax(t, dim=-1), lambda t: torch.nn.functional.softmax(t, dim=-1), [x], torch=torch)
    check(lambda t: t.log_softmax(dim=1), lambda t: t.log_softmax(dim=1), [x], torch=torch)
    check(lambda t: t.sum(dim=(0, 1)), lambda t: t.sum(dim=(0, 1)), [x], torch=torch)


def test_masked_fill_minus_inf_then_softmax(x, torch):
    """The attention-mask idiom: masked positions get probability 0 and gradient 0."""
    mask = np.triu(np.ones((4, 5), dtype=bool), k=1)
    out = check(lambda t: t.masked_fill(gs.tensor(mask), float("-inf")).softmax(-1),
                lambda t: t.masked_fill(torch.tensor(mask), float("-inf")).softmax(-1), [x], torch=torch)
    assert np.all(out.detach().numpy()[mask] == 0)


# ------------------------------------------------------------ autograd habits
def test_backward_retain_graph_accumulates_like_torch(x, torch):
    g = gs.tensor(x, requires_grad=True)
    t = torch.tensor(x, requires_grad=True)
    gl, tl = (g * g).sum(), (t * t).sum()
    gl.backward(retain_graph=True)
    tl.backward(retain_graph=True)
    gl.backward()
    tl.backward()
    np.testing.assert_allclose(g.grad.numpy(), t.grad.numpy(), rtol=1e-6)
    np.testing.assert_allclose(g.grad.numpy(), 4 * x, rtol=1e-6)


def test_grad_zero_and_set_to_none(x):
    g = gs.tensor(x, requires_grad=True)
    g.sum().backward()
    g.grad.zero_()
    assert np.all(g.grad.numpy() == 0)
    (g * 3).sum().backward()
    np.testing.assert_array_equal(g.grad.numpy(), np.full_like(x, 3))
    g.grad = None
    (g * 2).sum().backward()
    np.testing.assert_array_equal(g.grad.numpy(), np.full_like(x, 2))


def test_no_grad_context_and_decorator(x):
    w = gs.tensor(x, requires_grad=True)
    with gs.no_grad():
        y = w * 2
    assert not y.requires_grad and y.grad_fn is None

    @gs.no_grad()
    def f(t):
        return t * 2

    assert not f(w).requires_grad
    assert gs.is_grad_enabled()
    with gs.set_grad_enabled(False):
        assert not (w * 2).requires_grad
    assert (w * 2).requires_grad


def test_detach_cpu_numpy_item_clone_detach(x):
    w = gs.tensor(x, requires_grad=True)
    arr = (w * 2).detach().cpu().numpy()
    assert isinstance(arr, np.ndarray) and arr.dtype == np.float32
    np.testing.assert_allclose(arr, 2 * x)
    s = w.sum().item()
    assert isinstance(s, float) and s == pytest.approx(float(x.sum()), rel=1e-5)
    assert isinstance(gs.tensor(3).item(), int)
    c = w.clone().detach()
    assert not c.requires_grad and c.grad_fn is None
    c += 1  # a detached clone is free to change in place, and w is untouched
    np.testing.assert_array_equal(w.detach().numpy(), x)
    np.testing.assert_array_equal(np.asarray(c), x + 1)


def test_type_and_to_with_a_dtype(x):
    g = gs.tensor(x)
    assert g.type(gs.float64).dtype == gs.float64
    assert g.to(gs.float64).dtype == gs.float64
    assert g.to("cpu", gs.float64).dtype == gs.float64
    assert g.to(gs.zeros(1, dtype=gs.float64)).dtype == gs.float64
    assert g.double().float().dtype == gs.float32
    assert g.long().dtype == gs.int64 and g.bool().dtype == gs.bool


def test_manual_seed_reproduces_randn_rand_randint():
    gs.manual_seed(123)
    a = (gs.randn(3, 2).numpy().copy(), gs.rand(4).numpy().copy(), gs.randint(0, 10, (5,)).numpy().copy())
    gs.manual_seed(123)
    b = (gs.randn(3, 2).numpy(), gs.rand(4).numpy(), gs.randint(0, 10, (5,)).numpy())
    for p, q in zip(a, b):
        np.testing.assert_array_equal(p, q)
    assert gs.randn(3).dtype == gs.float32 and gs.randint(0, 10, (5,)).dtype == gs.int64


# ------------------------------------------------------------ nn, init, functional
def test_one_hot_like_torch(torch):
    idx = np.array([0, 2, 1, 2])
    np.testing.assert_array_equal(F.one_hot(gs.tensor(idx), 4).numpy(),
                                  torch.nn.functional.one_hot(torch.tensor(idx), 4).numpy())
    np.testing.assert_array_equal(F.one_hot(gs.tensor(idx)).numpy(),
                                  torch.nn.functional.one_hot(torch.tensor(idx)).numpy())
    assert F.one_hot(gs.tensor(idx), 4).dtype == gs.int64


def test_kaiming_normal_statistics():
    gs.manual_seed(0)
    w = nn.Parameter(gs.zeros(256, 512))
    out = nn.init.kaiming_normal_(w, mode="fan_in", nonlinearity="relu")
    assert out is w and w.dtype == gs.float32
    std = float(w.detach().numpy().std())
    assert std == pytest.approx(np.sqrt(2.0 / 512), rel=0.03)
    assert abs(float(w.detach().numpy().mean())) < 3e-3


def test_model_to_cpu_and_dtype_return_the_module():
    m = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
    assert m.to("cpu") is m
    assert m.cpu() is m
    assert m.to(gs.float64) is m and all(p.dtype == gs.float64 for p in m.parameters())
    m.float()
    assert all(p.dtype == gs.float32 for p in m.parameters())
    assert m.train() is m and m.training and not m.eval().training


def test_param_groups_lr_change_takes_effect_like_torch(torch):
    rng = np.random.default_rng(0)
    w0 = rng.standard_normal((2, 3)).astype(np.float32)
    g_w = nn.Parameter(gs.tensor(w0))
    t_w = torch.nn.Parameter(torch.tensor(w0))
    g_opt = gs.optim.SGD([g_w], lr=0.1, momentum=0.9)
    t_opt = torch.optim.SGD([t_w], lr=0.1, momentum=0.9)
    for step in range(4):
        if step == 2:
            g_opt.param_groups[0]["lr"] = 0.01
            t_opt.param_groups[0]["lr"] = 0.01
        for w, opt in ((g_w, g_opt), (t_w, t_opt)):
            opt.zero_grad()
            (w * w).sum().backward()
            opt.step()
    np.testing.assert_allclose(g_w.detach().numpy(), t_w.detach().numpy(), rtol=1e-6, atol=1e-7)
    assert g_opt.param_groups[0]["lr"] == 0.01


def test_state_dict_to_safetensors_and_back(tmp_path):
    from gradstep.interop.safetensors import load_file, save_file

    gs.manual_seed(0)
    m = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
    save_file(m.state_dict(), tmp_path / "m.safetensors")
    m2 = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
    result = m2.load_state_dict(load_file(tmp_path / "m.safetensors"))
    assert list(result.missing_keys) == [] and list(result.unexpected_keys) == []
    xin = gs.randn(5, 3)
    np.testing.assert_array_equal(m(xin).detach().numpy(), m2(xin).detach().numpy())


def test_state_dict_safetensors_loads_in_torch(tmp_path, torch):
    """A gradstep state_dict saved as safetensors has PyTorch's keys and shapes."""
    from gradstep.interop.safetensors import load_file, save_file

    gs.manual_seed(0)
    m = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
    save_file(m.state_dict(), tmp_path / "m.safetensors")
    tm = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.ReLU(), torch.nn.Linear(4, 2))
    tm.load_state_dict({k: torch.from_numpy(np.array(v)) for k, v in load_file(tmp_path / "m.safetensors").items()})
    xin = np.random.default_rng(1).standard_normal((5, 3)).astype(np.float32)
    np.testing.assert_allclose(m(gs.tensor(xin)).detach().numpy(), tm(torch.tensor(xin)).detach().numpy(),
                               rtol=1e-5, atol=1e-6)


def test_training_loop_idioms_match_torch(torch):
    """The usual loop: zero_grad / cross_entropy / backward / clip / step, with CrossEntropyLoss and Adam."""
    rng = np.random.default_rng(3)
    X = rng.standard_normal((16, 4)).astype(np.float32)
    y = rng.integers(0, 3, 16)
    gm = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3))
    tm = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 3))
    tm.load_state_dict({k: torch.from_numpy(np.array(v.detach().numpy())) for k, v in gm.state_dict().items()})
    g_opt, t_opt = gs.optim.Adam(gm.parameters(), lr=1e-2), torch.optim.Adam(tm.parameters(), lr=1e-2)
    g_crit, t_crit = nn.CrossEntropyLoss(), torch.nn.CrossEntropyLoss()
    for _ in range(5):
        g_opt.zero_grad()
        t_opt.zero_grad()
        gl = g_crit(gm(gs.tensor(X)), gs.tensor(y))
        tl = t_crit(tm(torch.tensor(X)), torch.tensor(y))
        gl.backward()
        tl.backward()
        nn.utils.clip_grad_norm_(gm.parameters(), 0.5)
        torch.nn.utils.clip_grad_norm_(tm.parameters(), 0.5)
        g_opt.step()
        t_opt.step()
        assert gl.item() == pytest.approx(tl.item(), rel=1e-5)
    for (gk, gv), (tk, tv) in zip(gm.state_dict().items(), tm.state_dict().items()):
        assert gk == tk
        np.testing.assert_allclose(gv.detach().numpy(), tv.numpy(), rtol=1e-5, atol=1e-6)
