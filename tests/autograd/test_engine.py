"""The backward engine: ordering, accumulation, freeing, hooks, grad mode, in-place checks, errors."""
import subprocess
import sys

import numpy as np
import pytest

import gradstep as gs


def test_chain_rule_and_accumulation_across_backward_calls():
    x = gs.tensor([1.0, 2.0], requires_grad=True)
    (x * x).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [2.0, 4.0])
    (x * 3).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [5.0, 7.0])


def test_diamond_graph_sums_both_paths():
    x = gs.tensor([3.0], requires_grad=True)
    a = x * 2
    y = a * a + a  # dy/dx = (2a + 1) * 2 = 26
    y.backward(gs.ones(1))
    assert x.grad.item() == pytest.approx(26.0)


def test_deep_chain_of_100k_ops_backprops_without_recursion():
    x = gs.tensor([1.0], requires_grad=True)
    y = x
    for _ in range(100_000):
        y = y + 1e-6
    y.backward(gs.ones(1))
    assert x.grad.item() == 1.0


def test_graph_is_freed_and_second_backward_raises():
    x = gs.tensor([2.0], requires_grad=True)
    y = (x * x).sum()
    y.backward()
    with pytest.raises(gs.GradError, match="backward through the graph a second time"):
        y.backward()
    with pytest.raises(RuntimeError):  # GradError is a RuntimeError
        y.backward()


def test_retain_graph_allows_second_backward():
    x = gs.tensor([2.0], requires_grad=True)
    y = (x * x).sum()
    y.backward(retain_graph=True)
    y.backward()
    assert x.grad.item() == pytest.approx(8.0)


def test_non_scalar_backward_needs_gradient():
    x = gs.ones(2, 3, requires_grad=True)
    y = x * 2
    with pytest.raises(gs.GradError, match=r"only for a tensor with one element, got shape \(2, 3\)"):
        y.backward()
    y.backward(gs.full((2, 3), 0.5))
    np.testing.assert_allclose(x.grad.numpy(), np.ones((2, 3)))


def test_gradient_shape_mismatch_is_explained():
    y = gs.ones(2, requires_grad=True) * 2
    with pytest.raises(gs.GradError, match=r"gradient has shape \(3,\) but the tensor has shape \(2,\)"):
        y.backward(gs.ones(3))


def test_broadcast_gradient_is_summed_back_to_input_shape():
    a = gs.ones(3, 1, requires_grad=True)
    b = gs.ones(4, requires_grad=True)
    (a * b).sum().backward()
    assert a.grad.shape == (3, 1) and b.grad.shape == (4,)
    np.testing.assert_allclose(a.grad.numpy(), np.full((3, 1), 4.0))
    np.testing.assert_allclose(b.grad.numpy(), np.full((4,), 3.0))


def test_no_grad_records_nothing_and_works_as_decorator():
    x = gs.ones(2, requires_grad=True)
    with gs.no_grad():
        y = x * 2
    assert not y.requires_grad and y.grad_fn is None
    assert gs.is_grad_enabled()

    @gs.no_grad()
    def f(t):
        return t * 2

    assert not f(x).requires_grad
    with gs.no_grad():
        with gs.enable_grad():
            assert (x * 2).requires_grad
    with gs.set_grad_enabled(False):
        assert not (x * 2).requires_grad
    assert gs.is_grad_enabled()


def test_backward_without_graph_is_explained():
    with pytest.raises(gs.GradError, match="does not require grad"):
        gs.ones(1).sum().backward()


def test_int_tensor_cannot_require_grad():
    with pytest.raises(gs.DTypeError, match="only floating point tensors can require gradients, got dtype int64"):
        gs.tensor([1, 2], requires_grad=True)
    with pytest.raises(TypeError):
        gs.arange(3).requires_grad_()


def test_tensor_hook_modifies_gradient_and_can_be_removed():
    x = gs.tensor([1.0, 2.0], requires_grad=True)
    seen = []
    handle = x.register_hook(lambda g: seen.append(g.numpy().copy()) or g * 10)
    (x * 1).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [10.0, 10.0])
    handle.remove()
    x.grad = None
    (x * 1).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [1.0, 1.0])
    assert len(seen) == 1


def test_hook_and_retain_grad_on_intermediate_tensor():
    x = gs.tensor([1.0, 2.0], requires_grad=True)
    h = x * 3
    h.retain_grad()
    got = []
    h.register_hook(lambda g: got.append(g.numpy().copy()))
    (h * h).sum().backward()
    np.testing.assert_allclose(h.grad.numpy(), 2 * h.detach().numpy())
    np.testing.assert_allclose(got[0], 2 * h.detach().numpy())
    np.testing.assert_allclose(x.grad.numpy(), 18 * x.detach().numpy())


def test_data_shares_storage_outside_the_graph():
    p = gs.tensor([1.0, 2.0], requires_grad=True)
    (p * p).sum().backward()
    p.data -= 0.1 * p.grad
    np.testing.assert_allclose(p.detach().numpy(), [0.8, 1.6], rtol=1e-6)
    assert p.requires_grad and p.is_leaf
    d = p.detach()
    d.fill_(5.0)
    assert p.detach().numpy()[0] == 5.0


def test_inplace_on_leaf_requiring_grad_is_refused_but_allowed_under_no_grad():
    p = gs.ones(2, requires_grad=True)
    with pytest.raises(gs.GradError, match="leaf tensor that requires grad"):
        p += 1
    with gs.no_grad():
        p -= 0.5
    np.testing.assert_allclose(p.detach().numpy(), [0.5, 0.5])


def test_inplace_change_of_saved_tensor_raises_instead_of_wrong_gradient():
    x = gs.tensor([1.0, -2.0], requires_grad=True)
    y = x * 1
    z = y.exp()  # exp saves its output
    z.mul_(2)
    with pytest.raises(gs.GradError, match="modified by an in-place operation"):
        z.sum().backward()

    a = gs.tensor([1.0, 2.0], requires_grad=True)
    b = a * 1
    c = b * b  # mul saves its inputs
    b.add_(1)
    with pytest.raises(gs.GradError, match="Mul: input 0"):
        c.sum().backward()


def test_inplace_ops_inside_graph_are_differentiable(torch):
    for op in ("add_", "sub_", "mul_", "div_"):
        xs = np.array([1.5, -2.0, 3.0], np.float32)
        w = np.array([0.5, 2.0, -1.0], np.float32)
        gx, gw = gs.tensor(xs, requires_grad=True), gs.tensor(w, requires_grad=True)
        tx, tw = torch.tensor(xs, requires_grad=True), torch.tensor(w, requires_grad=True)
        for x, ww in ((gx, gw), (tx, tw)):
            h = x * 2
            getattr(h, op)(ww)
            (h * h).sum().backward()
        np.testing.assert_allclose(gx.grad.numpy(), tx.grad.numpy(), rtol=1e-6)
        np.testing.assert_allclose(gw.grad.numpy(), tw.grad.numpy(), rtol=1e-6)


def test_inplace_dtype_rules():
    i = gs.tensor([1, 2])
    with pytest.raises(gs.DTypeError, match="can't be cast"):
        i += 1.5
    f = gs.zeros(2)
    f += 1  # int into float is fine
    assert f.dtype == gs.float32


def test_zero_fill_copy():
    t = gs.ones(2, 2)
    t.zero_()
    assert t.sum().item() == 0
    t.fill_(3.0)
    assert t.sum().item() == 12
    t.copy_(gs.tensor([1.0, 2.0]))
    np.testing.assert_allclose(t.numpy(), [[1, 2], [1, 2]])


def test_numpy_refuses_tensor_requiring_grad():
    with pytest.raises(gs.GradError, match="detach"):
        gs.ones(2, requires_grad=True).numpy()


def test_numpy_interop_and_array_protocol():
    a = np.arange(6, dtype=np.float32).reshape(2, 3)
    t = gs.from_numpy(a)
    a[0, 0] = 9
    assert t.numpy()[0, 0] == 9
    assert np.asarray(t) is a
    assert (a * gs.ones(3)).__class__ is gs.Tensor  # NumPy defers to Tensor


def test_default_dtypes_follow_pytorch():
    assert gs.tensor([1.0, 2.0]).dtype == gs.float32
    assert gs.tensor([1, 2]).dtype == gs.int64
    assert gs.tensor([True]).dtype == gs.bool
    assert gs.tensor(np.zeros(2)).dtype == gs.float64  # NumPy arrays keep their dtype
    assert gs.arange(3).dtype == gs.int64 and gs.arange(0.0, 1.0, 0.5).dtype == gs.float32
    assert gs.randn(2).dtype == gs.float32 and gs.zeros(2).dtype == gs.float32
    assert (gs.tensor([1, 2]) < 2).dtype == gs.bool


def test_manual_seed_makes_random_factories_repeatable():
    gs.manual_seed(7)
    a = gs.randn(4).numpy().copy(), gs.rand(3).numpy().copy(), gs.randint(0, 10, (5,)).numpy().copy()
    gs.manual_seed(7)
    b = gs.randn(4).numpy(), gs.rand(3).numpy(), gs.randint(0, 10, (5,)).numpy()
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y)


def test_repr_is_readable():
    assert repr(gs.tensor([1.0, 2.0])) == "tensor([1., 2.])"
    assert "grad_fn=<MulBackward>" in repr(gs.ones(1, requires_grad=True) * 2)
    assert "requires_grad=True" in repr(gs.ones(1, requires_grad=True))


def test_import_is_fast():
    code = "import time; t = time.perf_counter(); import gradstep; print(time.perf_counter() - t)"
    best = min(float(subprocess.check_output([sys.executable, "-c", code])) for _ in range(3))
    assert best < 0.3, f"import gradstep took {best:.3f}s"


def test_node_reached_by_short_and_long_paths_waits_for_all_consumers():
    x = gs.ones(2, requires_grad=True)
    h = x * 2
    (h + h.sum()).backward(gs.ones(2))  # dh = 1 + 2 per element, dx = 2 * 3
    np.testing.assert_allclose(x.grad.numpy(), [6.0, 6.0])


def test_inplace_on_used_tensor_keeps_earlier_paths(torch):
    for lib in (gs, torch):
        a = lib.tensor([1.0, 1.0, 1.0], requires_grad=True)
        w = lib.tensor([1.0, 2.0, 3.0], requires_grad=True)
        x = a * 1
        y = x + w  # uses x before the in-place change (add saves nothing)
        x[1:] += 2.0
        (y.sum() + (x * w).sum()).backward()
        if lib is gs:
            got = a.grad.numpy()
        else:
            want = a.grad.numpy()
    np.testing.assert_allclose(got, want)


def test_inplace_on_expanded_tensor_is_explained():
    e = gs.ones(3).expand(2, 3)
    with pytest.raises(gs.GradError, match="clone"):
        e.add_(1)


def test_to_and_type_accept_strings_like_pytorch():
    x = gs.randn(3)
    assert x.to("float64").dtype == gs.float64 and x.to("torch.float64").dtype == gs.float64
    assert x.to("cpu") is x and x.type() == "gradstep.FloatTensor"
    assert x.type("torch.DoubleTensor").dtype == gs.float64 and x.type_as(gs.arange(2)).dtype == gs.int64
    with pytest.raises(gs.GradError, match="CPU"):
        x.to("cuda")
    with pytest.raises(gs.DTypeError, match="neither a dtype nor the device"):
        x.to("floaty")


def test_tensor_where_method_takes_condition_first(torch):
    a = np.array([-1.0, 2.0, -3.0], np.float32)
    got = gs.tensor(a).where(gs.tensor(a) > 0, 0.0)
    want = torch.tensor(a).where(torch.tensor(a) > 0, 0.0)
    np.testing.assert_array_equal(got.numpy(), want.numpy())


def test_repr_prints_fixed_decimals_like_pytorch():
    assert repr(gs.tensor([1.5, 0.0])) == "tensor([1.5000, 0.0000])"


def test_leaf_hook_runs_once_on_the_summed_gradient_like_torch(torch):
    # a leaf reached by two paths: PyTorch runs its hook once, on the sum (a norm-clipping hook
    # run per path would give another result)
    results = {}
    for lib in (torch, gs):
        x = lib.tensor([1.0, 2.0], requires_grad=True)
        calls = []

        def hook(g, calls=calls):
            calls.append(1)
            return g / g.norm()

        x.register_hook(hook)
        ((x * 3).sum() + (x * x).sum()).backward()
        results[lib.__name__] = (len(calls), x.grad.detach().numpy() if lib is torch else x.grad.numpy())
    assert results["gradstep"][0] == results["torch"][0] == 1
    np.testing.assert_allclose(results["gradstep"][1], results["torch"][1], rtol=1e-6)
