"""``gradstep.utils.checkpoint``: same losses and gradients as without checkpointing and as PyTorch's."""
import gc
import warnings
import weakref

import numpy as np
import pytest

import gradstep as gs
import gradstep.utils.checkpoint as C
from gradstep.autograd.engine import _topological_order

RNG = np.random.default_rng(3)


def _mlp(dtype="float64", p=0.3):
    gs.manual_seed(11)
    model = gs.nn.Sequential(gs.nn.Linear(6, 16), gs.nn.GELU(), gs.nn.Dropout(p), gs.nn.Linear(16, 16),
                             gs.nn.Tanh(), gs.nn.Dropout(p), gs.nn.Linear(16, 3))
    return model.double() if dtype == "float64" else model


def _run(model, x_array, wrap, seed=5):
    """Loss, input gradient and parameter gradients of one forward/backward; ``wrap(model, x)`` runs the model."""
    model.zero_grad()
    x = gs.tensor(x_array, requires_grad=True)
    gs.manual_seed(seed)
    out = wrap(model, x)
    loss = (out * out).mean()
    loss.backward()
    return loss.item(), x.grad.numpy().copy(), [p.grad.numpy().copy() for p in model.parameters()], gs.get_rng_state()


def _plain(model, x):
    return model(x)


@pytest.mark.parametrize("reentrant", [True, False])
def test_mlp_with_dropout_bit_for_bit_in_float64(reentrant):
    model, x = _mlp(), RNG.standard_normal((4, 6))
    want = _run(model, x, _plain)
    got = _run(model, x, lambda m, a: C.checkpoint(m, a, use_reentrant=reentrant))
    assert got[0] == want[0]
    np.testing.assert_array_equal(got[1], want[1])
    for g, w in zip(got[2], want[2]):
        np.testing.assert_array_equal(g, w)
    assert got[3] == want[3]  # the RNG is left where the forward left it, not where the recomputation did


def test_mlp_float32_close():
    model, x = _mlp("float32"), RNG.standard_normal((4, 6)).astype(np.float32)
    want = _run(model, x, _plain)
    got = _run(model, x, lambda m, a: C.checkpoint(m, a, use_reentrant=False))
    np.testing.assert_allclose(got[0], want[0], rtol=1e-6)
    np.testing.assert_allclose(got[1], want[1], rtol=1e-5, atol=1e-6)
    for g, w in zip(got[2], want[2]):
        assert g.dtype == np.float32
        np.testing.assert_allclose(g, w, rtol=1e-5, atol=1e-6)


def test_without_preserve_rng_state_the_recomputed_dropout_masks_differ():
    model, x = _mlp(p=0.5), RNG.standard_normal((8, 6))
    want = _run(model, x, _plain)
    got = _run(model, x, lambda m, a: C.checkpoint(m, a, use_reentrant=True, preserve_rng_state=False))
    assert got[0] == want[0]  # the forward is the same
    assert not np.array_equal(got[1], want[1])  # but backward went through other masks


def _copy_weights(torch_module, gs_module):
    gs_module.load_state_dict({k: gs.tensor(v.detach().numpy()) for k, v in torch_module.state_dict().items()})


@pytest.mark.parametrize("reentrant", [True, False])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_transformer_block_matches_torch_checkpoint(torch, reentrant, dtype):
    torch.manual_seed(0)
    t_block = torch.nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0, batch_first=True).to(getattr(torch, dtype))
    g_block = gs.nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0, batch_first=True).to(getattr(gs, dtype))
    _copy_weights(t_block, g_block)
    x = RNG.standard_normal((2, 5, 8)).astype(dtype)
    gx, tx = gs.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    g_out = C.checkpoint(g_block, gx, use_reentrant=reentrant)
    t_out = torch.utils.checkpoint.checkpoint(t_block, tx, use_reentrant=reentrant)
    g_loss, t_loss = (g_out.tanh() ** 2).sum(), (t_out.tanh() ** 2).sum()
    g_loss.backward()
    t_loss.backward()
    tol = dict(rtol=1e-5, atol=1e-5) if dtype == "float32" else dict(rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(g_loss.item(), t_loss.item(), **tol)
    np.testing.assert_allclose(gx.grad.numpy(), tx.grad.numpy(), **tol)
    t_params = dict(t_block.named_parameters())
    for name, p in g_block.named_parameters():
        assert p.grad is not None, name
        np.testing.assert_allclose(p.grad.numpy(), t_params[name].grad.numpy(), err_msg=name, **tol)


@pytest.mark.parametrize("segments", [2, 3])
def test_checkpoint_sequential_matches_torch(torch, segments):
    torch.manual_seed(1)
    t_model = torch.nn.Sequential(torch.nn.Linear(5, 12), torch.nn.ReLU(), torch.nn.Linear(12, 12), torch.nn.Tanh(),
                                  torch.nn.Linear(12, 7), torch.nn.Sigmoid(), torch.nn.Linear(7, 2)).double()
    g_model = gs.nn.Sequential(gs.nn.Linear(5, 12), gs.nn.ReLU(), gs.nn.Linear(12, 12), gs.nn.Tanh(),
                               gs.nn.Linear(12, 7), gs.nn.Sigmoid(), gs.nn.Linear(7, 2)).double()
    _copy_weights(t_model, g_model)
    x = RNG.standard_normal((3, 5))
    gx, tx = gs.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    g_out = C.checkpoint_sequential(g_model, segments, gx, use_reentrant=False)
    t_out = torch.utils.checkpoint.checkpoint_sequential(t_model, segments, tx, use_reentrant=False)
    # the first segments-1 chunks are one checkpoint node each, in a chain
    names = [type(n).__name__ for n in _topological_order(g_out._ctx)]
    assert names.count("_CheckpointBackward") == segments - 1
    g_out.sum().backward()
    t_out.sum().backward()
    np.testing.assert_allclose(g_out.detach().numpy(), t_out.detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(gx.grad.numpy(), tx.grad.numpy(), rtol=1e-10, atol=1e-12)
    for (name, g), t in zip(g_model.named_parameters(), t_model.parameters()):
        np.testing.assert_allclose(g.grad.numpy(), t.grad.numpy(), rtol=1e-10, atol=1e-12, err_msg=name)


def test_the_checkpointed_region_is_one_node_and_its_activations_are_not_kept():
    model, x = _mlp(p=0.0), gs.tensor(RNG.standard_normal((4, 6)), requires_grad=True)
    kept = []
    model[3].register_forward_hook(lambda m, inp, out: kept.append(weakref.ref(out)))
    plain = model(x).sum()
    gc.collect()
    assert kept[-1]() is not None  # without checkpointing the graph holds the activation
    plain_nodes = _topological_order(plain._ctx)
    ckpt = C.checkpoint(model, x, use_reentrant=False).sum()
    gc.collect()
    assert kept[-1]() is None  # with it, nothing does
    nodes = _topological_order(ckpt._ctx)
    assert [type(n).__name__ for n in nodes][-1] == "_CheckpointBackward"
    assert len(nodes) == 2 and len(plain_nodes) == 6  # sum + the checkpoint, instead of sum + 5 layer nodes
    assert nodes[-1]._gs_ctx.saved_tensors == (x,)  # only the input is saved
    ckpt.backward()
    assert x.grad is not None


def test_several_outputs_non_tensor_arguments_and_outputs_without_grad():
    a = gs.tensor(RNG.standard_normal((3, 4)), requires_grad=True)
    b = gs.tensor(RNG.standard_normal((3, 4)), requires_grad=True)

    def f(x, scale, y, tag):
        assert tag == "hello"
        return (x * y).sin() * scale, (x + y).exp(), (x > 0).long(), y.detach() * 2

    def loss_of(outs):
        return outs[0].sum() + (outs[1] * outs[1]).sum() + outs[3].sum()

    for reentrant in (True, False):
        a.grad = b.grad = None
        loss_of(f(a, 3.0, b, "hello")).backward()
        want = a.grad.numpy().copy(), b.grad.numpy().copy()
        a.grad = b.grad = None
        outs = C.checkpoint(f, a, 3.0, b, "hello", use_reentrant=reentrant)
        assert isinstance(outs, tuple) and len(outs) == 4
        assert outs[2].dtype == gs.int64 and not outs[2].requires_grad
        loss_of(outs).backward()
        np.testing.assert_array_equal(a.grad.numpy(), want[0])
        np.testing.assert_array_equal(b.grad.numpy(), want[1])


def test_kwargs_only_without_reentrant(torch):
    x = gs.tensor(RNG.standard_normal((2, 3)), requires_grad=True)
    w = gs.tensor(RNG.standard_normal((2, 3)), requires_grad=True)

    def f(a, *, weight, power=2):
        return (a * weight) ** power

    C.checkpoint(f, x, weight=w, power=3, use_reentrant=False).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 3 * (x.detach().numpy() * w.detach().numpy()) ** 2 * w.detach().numpy())
    np.testing.assert_allclose(w.grad.numpy(), 3 * (x.detach().numpy() * w.detach().numpy()) ** 2 * x.detach().numpy())
    with pytest.raises(ValueError, match="Unexpected keyword arguments: weight"):
        torch.utils.checkpoint.checkpoint(f, torch.ones(2), weight=torch.ones(2), use_reentrant=True)
    with pytest.raises(ValueError, match="Unexpected keyword arguments: weight"):
        C.checkpoint(f, x, weight=w, use_reentrant=True)


def test_missing_use_reentrant_warns_like_torch_and_defaults_to_reentrant(torch):
    with pytest.warns(UserWarning, match="use_reentrant parameter should be passed explicitly"):
        torch.utils.checkpoint.checkpoint(torch.sin, torch.ones(2, requires_grad=True))
    with pytest.warns(UserWarning, match="use_reentrant parameter should be passed explicitly"):
        out = C.checkpoint(gs.sin, gs.ones(2, requires_grad=True))
    with pytest.raises(ValueError, match="only supported when use_reentrant=False"), pytest.warns(UserWarning):
        C.checkpoint(gs.sin, gs.ones(2, requires_grad=True), debug=True)  # so the default was True
    with pytest.warns(UserWarning, match="checkpoint_sequential: the use_reentrant parameter"):
        C.checkpoint_sequential([gs.sin, gs.cos], 2, gs.ones(2, requires_grad=True))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        C.checkpoint(gs.sin, gs.ones(2, requires_grad=True), use_reentrant=True)
    assert out.requires_grad


def test_no_input_requiring_grad(torch):
    """Reentrant: PyTorch's warning and no gradient; non-reentrant: the parameters inside still get theirs."""
    t_lin = torch.nn.Linear(3, 2).double()
    g_lin = gs.nn.Linear(3, 2).double()
    _copy_weights(t_lin, g_lin)
    x = RNG.standard_normal((4, 3))
    with pytest.warns(UserWarning, match="None of the inputs have requires_grad=True"):
        t_out = torch.utils.checkpoint.checkpoint(t_lin, torch.tensor(x), use_reentrant=True)
    with pytest.warns(UserWarning, match="None of the inputs have requires_grad=True"):
        g_out = C.checkpoint(g_lin, gs.tensor(x), use_reentrant=True)
    assert not t_out.requires_grad and not g_out.requires_grad
    t_out = torch.utils.checkpoint.checkpoint(t_lin, torch.tensor(x), use_reentrant=False)
    g_out = C.checkpoint(g_lin, gs.tensor(x), use_reentrant=False)
    (t_out ** 2).sum().backward()
    (g_out ** 2).sum().backward()
    np.testing.assert_allclose(g_lin.weight.grad.numpy(), t_lin.weight.grad.numpy(), rtol=1e-12)
    np.testing.assert_allclose(g_lin.bias.grad.numpy(), t_lin.bias.grad.numpy(), rtol=1e-12)


@pytest.mark.parametrize("reentrant", [True, False])
def test_nested_checkpoints(reentrant):
    model, x = _mlp(p=0.4), RNG.standard_normal((5, 6))
    inner = gs.nn.Sequential(*list(model.children())[:3])
    outer_rest = gs.nn.Sequential(*list(model.children())[3:])

    def nested(m, a):
        def block(b):
            return outer_rest(C.checkpoint(inner, b, use_reentrant=reentrant))
        return C.checkpoint(block, a, use_reentrant=reentrant)

    want = _run(model, x, _plain)
    got = _run(model, x, nested)
    assert got[0] == want[0]
    np.testing.assert_array_equal(got[1], want[1])
    for g, w in zip(got[2], want[2]):
        np.testing.assert_array_equal(g, w)
    assert got[3] == want[3]


def test_autograd_grad_of_the_input():
    x = gs.tensor(RNG.standard_normal((3,)), requires_grad=True)
    y = C.checkpoint(lambda a: (a.sin() * a).sum(), x, use_reentrant=False)
    (g,) = gs.autograd.grad(y, [x])
    xv = x.detach().numpy()
    np.testing.assert_allclose(g.numpy(), np.cos(xv) * xv + np.sin(xv), rtol=1e-12)
    assert x.grad is None


def test_bad_arguments(torch):
    x = gs.ones(2, requires_grad=True)
    with pytest.raises(ValueError, match="determinism_check should be one of"):
        torch.utils.checkpoint.checkpoint(torch.sin, torch.ones(2), use_reentrant=False, determinism_check="x")
    with pytest.raises(ValueError, match=r"determinism_check should be one of \['default', 'none'\], but got x"):
        C.checkpoint(gs.sin, x, use_reentrant=False, determinism_check="x")
    with pytest.raises(ValueError, match="only supported when use_reentrant=False"):
        C.checkpoint(gs.sin, x, use_reentrant=True, context_fn=lambda: (None, None))
    with pytest.raises(TypeError, match="function must be callable"):
        C.checkpoint(3, x, use_reentrant=False)
    with pytest.raises(ValueError, match="Unexpected keyword arguments: bogus"):
        C.checkpoint_sequential([gs.sin], 1, x, use_reentrant=False, bogus=1)


def test_recomputation_with_other_shapes_is_refused():
    calls = []

    def f(a):
        calls.append(1)
        return a[: len(calls)] * 2

    x = gs.tensor(RNG.standard_normal((4,)), requires_grad=True)
    out = C.checkpoint(f, x, use_reentrant=False)
    with pytest.raises(gs.errors.GradError, match="recomputation gave different outputs"):
        out.sum().backward()


def test_context_fn_wraps_forward_and_recomputation():
    log = []

    class Mark:
        def __init__(self, name):
            self.name = name

        def __enter__(self):
            log.append((self.name, gs.is_grad_enabled()))

        def __exit__(self, *exc):
            return False

    x = gs.tensor(RNG.standard_normal((3,)), requires_grad=True)
    C.checkpoint(gs.exp, x, use_reentrant=False, context_fn=lambda: (Mark("fwd"), Mark("re"))).sum().backward()
    assert log == [("fwd", False), ("re", True)]
    np.testing.assert_allclose(x.grad.numpy(), np.exp(x.detach().numpy()))
