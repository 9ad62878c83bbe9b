"""Sequential runs a Linear followed by a ReLU as one op (nn/fusion.py, ops.matmul.LinearRelu).

The fused op must be invisible but for speed: values and gradients equal PyTorch's
and, bit for bit, the two modules run one after the other; hooks, subclasses and
odd operands fall back to the modules themselves.
"""
import numpy as np
import pytest

import gradstep as gs
from gradstep.ops.matmul import linear_relu
from tests.native.test_kernels import both_paths
from tests.oracle import check

nn, F = gs.nn, gs.nn.functional


def _mlp(bias=True, dtype=np.float32, seed=0):
    gs.manual_seed(seed)
    model = nn.Sequential(nn.Linear(6, 5, bias=bias), nn.ReLU(), nn.Linear(5, 3, bias=bias), nn.ReLU())
    return model.to(getattr(gs, np.dtype(dtype).name))


def _unfused(model, x):
    """The same modules called one by one (what Sequential did before fusing)."""
    for m in model:
        x = m(x)
    return x


def _names(out):
    """The ops in ``out``'s graph, output first."""
    names, node = [], out.grad_fn
    while node is not None:
        names.append(node.name)
        node = next((p for p in node.parents if p is not None), None)
    return names


def _run(model, x_np, fused):
    x = gs.tensor(x_np, requires_grad=True)
    out = model(x) if fused else _unfused(model, x)
    out.backward(gs.tensor(np.linspace(-1, 1, out.numel(), dtype=x_np.dtype).reshape(out.shape)))
    grads = [x.grad.numpy()] + [p.grad.numpy().copy() for p in model.parameters()]
    model.zero_grad()
    return out.detach().numpy(), grads


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("shape", [(4, 6), (6,), (2, 3, 6), (0, 6)])
def test_fused_equals_the_modules_one_by_one_bit_for_bit(dtype, bias, shape, rng):
    model = _mlp(bias, dtype)
    x = rng.standard_normal(shape).astype(dtype)
    x.flat[:1] = 0.0
    for path in both_paths(lambda: (_run(model, x, True), _run(model, x, False))):
        (out_f, grads_f), (out_u, grads_u) = path
        np.testing.assert_array_equal(out_f, out_u)
        for a, b in zip(grads_f, grads_u):
            np.testing.assert_array_equal(a, b)


def test_sequential_uses_the_fused_op():
    model = _mlp()
    out = model(gs.randn(4, 6, requires_grad=True))
    assert _names(out) == ["LinearRelu", "LinearRelu"]
    assert _names(_unfused(model, gs.randn(4, 6, requires_grad=True))) == ["Relu", "Linear", "Relu", "Linear"]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_linear_relu_matches_torch(dtype, rng, torch):
    x = rng.standard_normal((7, 5)).astype(dtype)
    w = rng.standard_normal((4, 5)).astype(dtype)
    b = rng.standard_normal(4).astype(dtype)
    check(linear_relu, lambda x, w, b: torch.relu(torch.nn.functional.linear(x, w, b)), [x, w, b], torch=torch)
    check(lambda x, w: linear_relu(x, w), lambda x, w: torch.relu(x @ w.T), [x, w], torch=torch)


def test_sequential_mlp_matches_torch(rng, torch):
    model = _mlp()
    tmodel = torch.nn.Sequential(torch.nn.Linear(6, 5), torch.nn.ReLU(), torch.nn.Linear(5, 3), torch.nn.ReLU())
    tmodel.load_state_dict({k: torch.tensor(v.numpy()) for k, v in model.state_dict().items()})
    x = rng.standard_normal((8, 6)).astype(np.float32)
    out, tout = model(gs.tensor(x)), tmodel(torch.tensor(x))
    np.testing.assert_allclose(out.detach().numpy(), tout.detach().numpy(), rtol=1e-5, atol=1e-6)
    out.sum().backward()
    tout.sum().backward()
    for (name, p), tp in zip(model.named_parameters(), tmodel.parameters()):
        np.testing.assert_allclose(p.grad.numpy(), tp.grad.numpy(), rtol=1e-5, atol=1e-6, err_msg=name)


def test_nan_and_negative_zero_flow_as_in_two_ops():
    w = gs.tensor(np.eye(3, dtype=np.float32))
    b = gs.tensor(np.array([0.0, -0.0, 1.0], np.float32))
    x = gs.tensor(np.array([[np.nan, -0.0, -2.0]], np.float32))
    for fused, two in both_paths(lambda: (linear_relu(x, w, b).numpy(), F.relu(F.linear(x, w, b)).numpy())):
        np.testing.assert_array_equal(fused, two)
        assert np.isnan(fused[0, 0])


def test_hooks_see_the_intermediate_result_so_nothing_fuses():
    model = _mlp()
    seen = []
    handle = model[1].register_forward_hook(lambda m, args, out: seen.append(out.shape))
    out = model(gs.randn(4, 6, requires_grad=True))
    assert seen == [(4, 5)] and _names(out)[-2:] == ["Relu", "Linear"]
    handle.remove()
    pre = model[0].register_forward_pre_hook(lambda m, args: seen.append("pre"))
    out = model(gs.randn(4, 6, requires_grad=True))
    assert seen[-1] == "pre" and _names(out)[-2:] == ["Relu", "Linear"]
    pre.remove()
    assert _names(model(gs.randn(4, 6, requires_grad=True))) == ["LinearRelu", "LinearRelu"]


def test_subclasses_keep_their_own_forward():
    class Doubling(nn.Linear):
        def forward(self, input):
            return super().forward(input) * 2

    gs.manual_seed(0)
    model = nn.Sequential(Doubling(3, 3), nn.ReLU())
    x = gs.randn(2, 3)
    with gs.no_grad():
        np.testing.assert_array_equal(model(x).numpy(), F.relu(model[0](x)).numpy())


def test_wrong_input_gets_the_linear_layers_error():
    with pytest.raises(gs.ShapeError, match=r"Linear\(in_features=6"):
        _mlp()(gs.randn(4, 7))


def test_changing_the_output_in_place_before_backward_is_an_error():
    model = _mlp()
    hidden = model[:2](gs.randn(4, 6, requires_grad=True))
    loss = hidden.sum()
    hidden.mul_(2)
    with pytest.raises(gs.GradError, match="LinearRelu"):
        loss.backward()


def test_strided_and_broadcast_biases_are_added_right():
    x = gs.randn(3, 4)
    w = gs.randn(5, 4)
    strided = gs.randn(10)[::2]
    one = gs.tensor(np.array([0.5], np.float32))
    for b in (strided, one):
        for fused, two in both_paths(lambda: (linear_relu(x, w, b).numpy(), F.relu(F.linear(x, w, b)).numpy())):
            np.testing.assert_array_equal(fused, two)


def test_no_grad_inference_and_last_module_held():
    model = nn.Sequential(nn.ReLU(), nn.Linear(6, 5))  # a Linear last: held, then run alone
    x = gs.randn(4, 6)
    with gs.no_grad():
        out = model(x)
        np.testing.assert_array_equal(out.numpy(), model[1](F.relu(x)).numpy())
    assert not out.requires_grad


# ------------------------------------------------------------- ReLU then max pool: pooled first
def _pool_input(rng, shape):
    """Values with ties, all-negative windows and exact zeros: the cases where the order could matter."""
    x = rng.integers(-3, 3, shape).astype(np.float32) * 0.5
    x.reshape(-1)[::7] = 0.0
    return x


@pytest.mark.parametrize("pool, shape", [
    (lambda: nn.MaxPool2d(2), (3, 4, 6, 6)),
    (lambda: nn.MaxPool2d(3, stride=2, padding=1, ceil_mode=True), (2, 3, 7, 7)),
    (lambda: nn.MaxPool2d(2, dilation=2), (2, 2, 7, 7)),
    (lambda: nn.MaxPool1d(2), (3, 4, 9)),
])
def test_relu_then_max_pool_runs_pool_first_with_the_same_values_and_gradients(pool, shape, rng):
    model = nn.Sequential(nn.ReLU(), pool())
    x = _pool_input(rng, shape)
    channels_last = x.transpose(0, 2, 3, 1).copy().transpose(0, 3, 1, 2) if x.ndim == 4 else x
    for data in (x, channels_last):  # conv outputs are channels-last
        for path in both_paths(lambda: (_run(model, data, True), _run(model, data, False))):
            (out_f, grads_f), (out_u, grads_u) = path
            np.testing.assert_array_equal(out_f, out_u)
            np.testing.assert_array_equal(grads_f[0], grads_u[0])
    out = model(gs.tensor(x, requires_grad=True))
    assert _names(out)[:2] == ["Relu", "MaxPool"]


def test_relu_then_max_pool_with_indices_keeps_the_order():
    model = nn.Sequential(nn.ReLU(), nn.MaxPool2d(2, return_indices=True))
    x = gs.tensor(-np.arange(16, dtype=np.float32).reshape(1, 1, 4, 4))  # all windows negative
    out, idx = model(x)
    assert out.numpy().max() == 0 and idx.numpy().reshape(-1).tolist() == [0, 2, 8, 10]


def test_small_cnn_matches_torch(rng, torch):
    gs.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(2, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                          nn.Linear(4 * 3 * 3, 5), nn.ReLU(), nn.Linear(5, 3))
    tmodel = torch.nn.Sequential(torch.nn.Conv2d(2, 4, 3, padding=1), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
                                 torch.nn.Flatten(), torch.nn.Linear(36, 5), torch.nn.ReLU(), torch.nn.Linear(5, 3))
    tmodel.load_state_dict({k: torch.tensor(v.numpy()) for k, v in model.state_dict().items()})
    x = rng.standard_normal((4, 2, 6, 6)).astype(np.float32)
    out, tout = model(gs.tensor(x)), tmodel(torch.tensor(x))
    np.testing.assert_allclose(out.detach().numpy(), tout.detach().numpy(), rtol=1e-5, atol=1e-6)
    out.sum().backward()
    tout.sum().backward()
    for (name, p), tp in zip(model.named_parameters(), tmodel.parameters()):
        np.testing.assert_allclose(p.grad.numpy(), tp.grad.numpy(), rtol=1e-5, atol=1e-5, err_msg=name)


def test_a_forward_set_on_the_instance_is_respected():
    model = _mlp()
    original = model[0].forward
    model[0].forward = lambda input: original(input) * 0  # e.g. patched by an adapter library
    with gs.no_grad():
        assert not model[:2](gs.randn(3, 6)).numpy().any()
    del model[0].forward
    assert _names(model(gs.randn(4, 6, requires_grad=True))) == ["LinearRelu", "LinearRelu"]
