"""``gradstep.autograd``: grad, backward, custom Functions and the torch.autograd namespace, against PyTorch."""
import numpy as np
import pytest

import gradstep as gs
from tests.oracle import check

RNG = np.random.default_rng(7)
X = RNG.standard_normal((3, 4)).astype(np.float32)
W = RNG.standard_normal((4, 2)).astype(np.float32)
G = RNG.standard_normal((3, 2)).astype(np.float32)


def _both(torch, *arrays):
    """The same leaves (requiring grad) in gradstep and in torch."""
    return ([gs.tensor(a, requires_grad=True) for a in arrays], [torch.tensor(a, requires_grad=True) for a in arrays])


def _close(got, want, **tol):
    assert len(got) == len(want)
    for g, w in zip(got, want):
        if w is None:
            assert g is None
        else:
            np.testing.assert_allclose(g.numpy(), w.detach().numpy(), rtol=1e-5, atol=1e-6, **tol)


# ------------------------------------------------------------------------------------------------- grad
def test_grad_of_scalar_output_matches_torch_and_leaves_dot_grad_untouched(torch):
    (x, w), (tx, tw) = _both(torch, X, W)
    got = gs.autograd.grad((x @ w).tanh().sum(), [x, w])
    want = torch.autograd.grad((tx @ tw).tanh().sum(), [tx, tw])
    assert isinstance(got, tuple)
    _close(got, want)
    assert x.grad is None and w.grad is None
    assert not got[0].requires_grad


def test_grad_of_non_scalar_output_needs_grad_outputs(torch):
    (x, w), (tx, tw) = _both(torch, X, W)
    got = gs.autograd.grad(x @ w, w, grad_outputs=gs.tensor(G))
    want = torch.autograd.grad(tx @ tw, tw, grad_outputs=torch.tensor(G))
    _close(got, want)
    with pytest.raises(RuntimeError, match="scalar outputs"):
        torch.autograd.grad(tx @ tw, tw)
    with pytest.raises(gs.GradError, match="grad can be implicitly created only for scalar outputs"):
        gs.autograd.grad(x @ w, w)
    with pytest.raises(gs.GradError, match=r"Mismatch in shape: grad_outputs\[0\] has a shape of \(2, 3\)"):
        gs.autograd.grad(x @ w, w, grad_outputs=gs.ones(2, 3))


def test_grad_with_respect_to_leaves_and_non_leaves(torch):
    (x, w), (tx, tw) = _both(torch, X, W)
    h, th = (x @ w).sigmoid(), (tx @ tw).sigmoid()
    got = gs.autograd.grad((h * h).sum() + h.mean(), [h, x, w])
    want = torch.autograd.grad((th * th).sum() + th.mean(), [th, tx, tw])
    _close(got, want)


def test_grad_of_several_outputs_sums_their_contributions(torch):
    (x, w), (tx, tw) = _both(torch, X, W)
    h, th = x @ w, tx @ tw
    got = gs.autograd.grad([h.sum(), h * 3], [x, w], grad_outputs=[None, gs.tensor(G)])
    want = torch.autograd.grad([th.sum(), th * 3], [tx, tw], grad_outputs=[None, torch.tensor(G)])
    _close(got, want)
    with pytest.raises(gs.GradError, match="got 2 tensors and 1 gradients"):
        gs.autograd.grad([h.sum(), h * 3], x, grad_outputs=[None])


def test_grad_through_slices_and_dict_inputs(torch):
    (x, w), (tx, tw) = _both(torch, X, W)
    got = gs.autograd.grad((x[1:, :2] * 2).sum() + (x[0] @ w).sum(), {"x": x, "w": w})
    want = torch.autograd.grad((tx[1:, :2] * 2).sum() + (tx[0] @ tw).sum(), {"x": tx, "w": tw})
    assert list(got) == ["x", "w"]
    _close(list(got.values()), list(want.values()))


def test_allow_unused_and_materialize_grads_as_torch(torch):
    (x, u), (tx, tu) = _both(torch, X, W)
    with pytest.raises(RuntimeError, match="index 1 appears to not have been used"):
        torch.autograd.grad((tx * 2).sum(), [tx, tu])
    with pytest.raises(gs.GradError, match="The differentiated Tensor at index 1 appears to not have been used in "
                                           "the graph. Set allow_unused=True"):
        gs.autograd.grad((x * 2).sum(), [x, u])
    got = gs.autograd.grad((x * 2).sum(), [x, u], allow_unused=True)
    assert got[1] is None and torch.autograd.grad((tx * 2).sum(), [tx, tu], allow_unused=True)[1] is None
    got = gs.autograd.grad((x * 2).sum(), [x, u], materialize_grads=True)
    want = torch.autograd.grad((tx * 2).sum(), [tx, tu], materialize_grads=True)
    _close(got, want)
    with pytest.raises(gs.InvalidArgument, match="allow_unused to be True or not passed"):
        gs.autograd.grad((x * 2).sum(), [x, u], allow_unused=False, materialize_grads=True)


def test_grad_argument_errors():
    x = gs.ones(2, requires_grad=True)
    with pytest.raises(gs.GradError, match="does not require grad"):
        gs.autograd.grad((x * 2).sum(), gs.ones(2))
    with pytest.raises(gs.GradError, match="element 0 of tensors does not require grad"):
        gs.autograd.grad((x * 2).sum().detach(), x)
    with pytest.raises(gs.InvalidArgument, match="cannot be empty"):
        gs.autograd.grad((x * 2).sum(), [])
    with pytest.raises(gs.ArgumentTypeError, match="gradients can be either Tensors or None, but got list"):
        gs.autograd.grad((x * 2).sum(), x, grad_outputs=[[1.0]])
    with pytest.raises(gs.ArgumentTypeError, match="inputs must be a Tensor or a sequence"):
        gs.autograd.grad((x * 2).sum(), 3)


def test_retain_graph_like_tensor_backward():
    x = gs.tensor([1.0, 2.0], requires_grad=True)
    z = (x * x).sum()
    first = gs.autograd.grad(z, x, retain_graph=True)
    second = gs.autograd.grad(z, x)  # retain_graph defaults to create_graph=False: frees the graph
    np.testing.assert_array_equal(first[0].numpy(), second[0].numpy())
    with pytest.raises(gs.GradError, match="backward through the graph a second time") as by_grad:
        gs.autograd.grad(z, x)
    with pytest.raises(gs.GradError, match="backward through the graph a second time") as by_backward:
        z.backward()
    assert str(by_grad.value) == str(by_backward.value)


def test_grad_runs_only_the_nodes_leading_to_the_inputs_and_frees_only_those():
    x = gs.tensor([1.0, 2.0], requires_grad=True)
    w = gs.tensor([3.0, 4.0], requires_grad=True)
    calls = []
    a = x * 2
    b = (w * 3).exp()
    b.register_hook(lambda g: calls.append("b"))
    z = (a * b).sum()
    gs.autograd.grad(z, a)  # b's branch leads to no input: not run, not freed
    assert calls == []
    assert x.grad is None and w.grad is None
    (b * 1).sum().backward()
    assert calls == ["b"] and w.grad is not None


def test_hooks_fire_as_in_torch_and_retain_grad_too(torch):
    results = {}
    for lib in (gs, torch):
        x = lib.tensor([1.0, 2.0], requires_grad=True)
        w = lib.tensor([3.0, 4.0], requires_grad=True)
        fired = []
        x.register_hook(lambda g: fired.append("x") or g * 10)
        w.register_hook(lambda g: fired.append("w"))  # w is not an input: its hook does not fire
        y = x * w
        y.register_hook(lambda g: fired.append("y") or g * 2)
        y.retain_grad()
        z = (y * y).sum()
        gx, = lib.autograd.grad(z, x, retain_graph=True)
        gy, = lib.autograd.grad(z, y, retain_graph=True)
        # torch 2.x fills a retain_grad() tensor's .grad in autograd.grad too (twice here: both calls)
        results[lib.__name__] = fired, gx.tolist(), gy.tolist(), y.grad.tolist(), x.grad, w.grad
    assert results["gradstep"] == results["torch"]
    assert results["gradstep"][0] == ["y", "x", "y"]


def test_leaf_hook_sees_the_summed_gradient_once(torch):
    for lib in (gs, torch):
        x = lib.tensor([1.0, 2.0], requires_grad=True)
        seen = []
        x.register_hook(lambda g: seen.append(g.tolist()))
        lib.autograd.grad((x * 3 + x * x).sum(), x)
        assert seen == [[5.0, 7.0]]


def test_is_grads_batched_matches_torch(torch):
    (x, w), (tx, tw) = _both(torch, X, W)
    batch = RNG.standard_normal((5, 3, 2)).astype(np.float32)
    got = gs.autograd.grad(x @ w, [x, w], grad_outputs=gs.tensor(batch), is_grads_batched=True)
    want = torch.autograd.grad(tx @ tw, [tx, tw], grad_outputs=torch.tensor(batch), is_grads_batched=True)
    _close(got, want)
    assert got[0].shape == (5, 3, 4)


def test_create_graph_is_refused_with_a_clear_message():
    # The WGAN-GP gradient penalty: needs the gradient to be differentiable again.
    critic_w = gs.randn(4, 1, requires_grad=True)
    x = gs.randn(3, 4, requires_grad=True)
    out = x @ critic_w
    with pytest.raises(gs.NotSupported, match="higher-order gradients.*WGAN-GP"):
        gs.autograd.grad(out, x, grad_outputs=gs.ones_like(out), create_graph=True, retain_graph=True)
    with pytest.raises(gs.NotSupported, match="higher-order gradients"):
        gs.autograd.backward(out.sum(), create_graph=True)
    with pytest.raises(gs.NotSupported, match="second-order"):
        gs.autograd.gradgradcheck(lambda a: a * a, (x,))
    gs.autograd.grad(out, x, grad_outputs=gs.ones_like(out))  # the graph is still usable: nothing ran


# --------------------------------------------------------------------------------------------- backward
def test_backward_of_several_tensors_and_of_chosen_inputs(torch):
    grads = {}
    for lib in (gs, torch):
        x, w = lib.tensor(X, requires_grad=True), lib.tensor(W, requires_grad=True)
        h = x @ w
        lib.autograd.backward([h.sum(), h * 2], [None, lib.tensor(G)], retain_graph=True)
        first = x.grad.numpy().copy(), w.grad.numpy().copy()
        lib.autograd.backward((h * h).sum(), inputs=[w])  # x.grad is left alone
        grads[lib.__name__] = first + (x.grad.numpy(), w.grad.numpy())
    for got, want in zip(grads["gradstep"], grads["torch"]):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)


def test_parameters_generator_as_inputs(torch):
    got, want = {}, {}
    for lib, out in ((gs, got), (torch, want)):
        lib.manual_seed(0)
        model = lib.nn.Linear(3, 2)
        with lib.no_grad():
            model.weight.copy_(lib.tensor(W[:3, :2].T.copy()))
            model.bias.fill_(0.5)
        loss = model(lib.tensor(X[:, :3])).tanh().sum()
        out["grad"] = [g.detach().numpy().copy() for g in lib.autograd.grad(loss, model.parameters(),
                                                                             retain_graph=True)]
        lib.autograd.backward(loss, inputs=model.parameters())
        out["backward"] = [p.grad.numpy().copy() for p in model.parameters()]
    for key in ("grad", "backward"):
        for g, w in zip(got[key], want[key]):
            np.testing.assert_allclose(g, w, rtol=1e-5, atol=1e-6)


def test_backward_into_a_non_leaf_input(torch):
    for lib in (gs, torch):
        x = lib.tensor([1.0, 2.0], requires_grad=True)
        y = x * 3
        lib.autograd.backward((y * y).sum(), inputs=[y])
        assert y.grad.tolist() == [6.0, 12.0] and x.grad is None
    x = gs.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(gs.InvalidArgument, match="cannot be empty"):
        gs.autograd.backward((x * 2).sum(), inputs=[])


# ------------------------------------------------------------------------------------ custom Functions
def _functions(lib):
    F = lib.autograd.Function

    class RoundSTE(F):
        @staticmethod
        def forward(ctx, x):
            return x.round()

        @staticmethod
        def backward(ctx, grad):
            return grad

    class GradReverse(F):
        @staticmethod
        def forward(ctx, x, lambd):
            ctx.lambd = lambd
            return x.view_as(x)

        @staticmethod
        def backward(ctx, grad):
            return -ctx.lambd * grad, None

    class SinCos(F):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x.sin(), x.cos()

        @staticmethod
        def backward(ctx, gs_, gc):
            x, = ctx.saved_tensors
            return gs_ * x.cos() - gc * x.sin()

    class ScaledPow(F):  # tensor and non-tensor arguments, a keyword with a default, saved output
        @staticmethod
        def forward(ctx, x, p, w, mode="mul"):
            ctx.p, ctx.mode = p, mode
            out = x ** p * w
            ctx.save_for_backward(x, w)
            return out

        @staticmethod
        def backward(ctx, grad):
            x, w = ctx.saved_tensors
            gx = grad * ctx.p * x ** (ctx.p - 1) * w if ctx.needs_input_grad[0] else None
            gw = (grad * x ** ctx.p).sum(0) if ctx.needs_input_grad[2] else None
            return gx, None, gw, None

    class Cube(F):  # PyTorch 2 style: forward without ctx, setup_context
        @staticmethod
        def forward(x, scale=1.0):
            return x ** 3 * scale

        @staticmethod
        def setup_context(ctx, inputs, output):
            x, scale = inputs
            ctx.scale = scale
            ctx.save_for_backward(x)

        @staticmethod
        def backward(ctx, grad):
            x, = ctx.saved_tensors
            return grad * 3 * x ** 2 * ctx.scale, None

    return RoundSTE, GradReverse, SinCos, ScaledPow, Cube


def test_straight_through_estimator(torch):
    a = RNG.standard_normal((3, 4)) * 3
    ste, tste = _functions(gs)[0], _functions(torch)[0]
    out = check(lambda x: ste.apply(x) * 2, lambda x: tste.apply(x) * 2, [a], torch=torch, gradcheck=False)
    assert repr(out.grad_fn) == "<MulBackward>" and repr(ste.apply(gs.ones(1, requires_grad=True)).grad_fn) == \
        "<RoundSTEBackward>"


def test_gradient_reversal_with_a_non_tensor_argument(torch):
    rev, trev = _functions(gs)[1], _functions(torch)[1]
    check(lambda x: rev.apply(x, 0.5).exp().sum(1), lambda x: trev.apply(x, 0.5).exp().sum(1),
          [RNG.standard_normal((3, 4))], torch=torch, gradcheck=False)


def test_two_output_function(torch):
    two, ttwo = _functions(gs)[2], _functions(torch)[2]
    check(lambda x: two.apply(x)[0] * 2 + two.apply(x)[1] ** 2, lambda x: ttwo.apply(x)[0] * 2 + ttwo.apply(x)[1] ** 2,
          [RNG.standard_normal((2, 3))], torch=torch)
    x = gs.tensor(RNG.standard_normal(4), requires_grad=True)
    s, c = two.apply(x)
    s.sum().backward()  # only one output used: the other's gradient is zeros (materialized)
    np.testing.assert_allclose(x.grad.numpy(), np.cos(x.detach().numpy()), rtol=1e-6)
    assert gs.autograd.gradcheck(lambda t: two.apply(t), (gs.tensor(RNG.standard_normal(3), requires_grad=True),))


def test_non_tensor_args_kwargs_and_ctx_attributes(torch):
    pw, tpw = _functions(gs)[3], _functions(torch)[3]
    w = RNG.standard_normal(4)
    check(lambda x, w: pw.apply(x, 3, w, mode="mul"), lambda x, w: tpw.apply(x, 3, w, mode="mul"),
          [RNG.standard_normal((2, 4)), w], torch=torch)
    check(lambda x, w: pw.apply(x, 2, w), lambda x, w: tpw.apply(x, 2, w),
          [RNG.standard_normal((2, 4)), w], torch=torch, grad=[True, False])


def test_setup_context_style(torch):
    cube, tcube = _functions(gs)[4], _functions(torch)[4]
    check(lambda x: cube.apply(x, scale=2.0), lambda x: tcube.apply(x, scale=2.0),
          [RNG.standard_normal((3,))], torch=torch)
    check(lambda x: cube.apply(x), lambda x: tcube.apply(x), [RNG.standard_normal((3,))], torch=torch)


def test_forward_runs_without_grad_and_backward_gets_plain_tensors(torch):
    for lib in (gs, torch):
        seen = {}

        class Probe(lib.autograd.Function):
            @staticmethod
            def forward(ctx, x, k, y):
                seen["forward"] = lib.is_grad_enabled(), ctx.needs_input_grad, (x * 2).requires_grad
                return x * y * k

            @staticmethod
            def backward(ctx, grad):
                seen["backward"] = lib.is_grad_enabled(), grad.requires_grad, type(grad).__name__
                return grad, None, None  # y needs no gradient: None

        x, y = lib.ones(2, requires_grad=True), lib.ones(2)
        Probe.apply(x, 3, y).sum().backward()
        assert x.grad.tolist() == [1.0, 1.0]
        with lib.no_grad():
            assert not Probe.apply(x, 3, y).requires_grad
        assert seen == {"forward": (False, (True, False, False), False), "backward": (False, False, "Tensor")}


def test_saved_tensor_modified_in_place_is_an_error():
    cube = _functions(gs)[4]
    x = gs.tensor([1.0, 2.0], requires_grad=True)
    h = x * 1
    y = cube.apply(h)
    h.add_(1)
    with pytest.raises(gs.GradError, match=r"CubeBackward: saved tensor 0 of shape \(2,\) was modified by an "
                                           r"in-place operation after it was saved for backward"):
        y.sum().backward()


def test_wrong_gradients_are_errors_named_as_torch(torch):
    for lib, error in ((gs, gs.GradError), (torch, RuntimeError)):
        class WrongShape(lib.autograd.Function):
            @staticmethod
            def forward(ctx, k, a):
                return a * k

            @staticmethod
            def backward(ctx, grad):
                return None, lib.ones(5)

        class WrongCount(lib.autograd.Function):
            @staticmethod
            def forward(ctx, a, k):
                return a * k

            @staticmethod
            def backward(ctx, grad):
                return grad

        class GradForNonTensor(lib.autograd.Function):
            @staticmethod
            def forward(ctx, a, k):
                return a * k

            @staticmethod
            def backward(ctx, grad):
                return grad, grad

        class Broadcast(lib.autograd.Function):  # a gradient of a broadcast shape is summed back
            @staticmethod
            def forward(ctx, a):
                return a * 2

            @staticmethod
            def backward(ctx, grad):
                return lib.ones(2, 3)

        a = lib.ones(2, 3, requires_grad=True)
        with pytest.raises(error, match=r"Function WrongShapeBackward returned an invalid gradient at index 0 - "
                                        r"got \[5\] but expected shape compatible with \[2, 3\]"):
            WrongShape.apply(2, a).sum().backward()
        with pytest.raises(error, match=r"function WrongCountBackward returned an incorrect number of gradients "
                                        r"\(expected 2, got 1\)"):
            WrongCount.apply(a, 2).sum().backward()
        with pytest.raises(error, match="returned a gradient different than None at position 2, but the "
                                        "corresponding forward input was not a"):
            GradForNonTensor.apply(a, 2).sum().backward()
        b = lib.ones(3, requires_grad=True)
        Broadcast.apply(b).sum().backward()
        assert b.grad.tolist() == [2.0, 2.0, 2.0]


def test_mark_non_differentiable_and_materialize_grads(torch):
    results = {}
    for lib in (gs, torch):
        got = []

        class SortWithIndices(lib.autograd.Function):
            @staticmethod
            def forward(ctx, x, materialize):
                ctx.set_materialize_grads(materialize)
                values, idx = x.sort()
                ctx.mark_non_differentiable(idx)
                ctx.save_for_backward(idx)
                ctx.n = x.shape[0]
                return values, idx

            @staticmethod
            def backward(ctx, grad, grad_idx):
                idx, = ctx.saved_tensors
                got.append(None if grad_idx is None else grad_idx.tolist())
                out = lib.zeros(ctx.n, dtype=grad.dtype)
                out[idx] = grad
                return out, None

        for materialize in (True, False):
            x = lib.tensor([3.0, 1.0, 2.0], requires_grad=True)
            values, idx = SortWithIndices.apply(x, materialize)
            assert not idx.requires_grad and values.requires_grad
            (values * lib.tensor([1.0, 2.0, 3.0])).sum().backward()
            got.append(x.grad.tolist())
        results[lib.__name__] = got
    assert results["gradstep"] == results["torch"]


def test_mark_dirty(torch):
    for lib, error in ((gs, gs.GradError), (torch, RuntimeError)):
        class AddOneInPlace(lib.autograd.Function):
            @staticmethod
            def forward(ctx, a):
                a.add_(1)
                ctx.mark_dirty(a)
                return a

            @staticmethod
            def backward(ctx, grad):
                return grad * 2

        x = lib.ones(3, requires_grad=True)
        with pytest.raises(error, match="leaf Variable that requires grad"):
            AddOneInPlace.apply(x)
        x = lib.ones(3, requires_grad=True)
        y = x * 1
        out = AddOneInPlace.apply(y)
        assert out is y and y.tolist() == [2.0, 2.0, 2.0]
        out.sum().backward()
        assert x.grad.tolist() == [2.0, 2.0, 2.0]


def test_custom_outputs_work_with_autograd_grad_hooks_and_retain_graph(torch):
    two, ttwo = _functions(gs)[2], _functions(torch)[2]
    (x,), (tx,) = _both(torch, X)
    s, c = two.apply(x)
    ts, tc = ttwo.apply(tx)
    s.register_hook(lambda g: g * 3)
    ts.register_hook(lambda g: g * 3)
    loss, tloss = (s * c).sum(), (ts * tc).sum()
    _close(gs.autograd.grad(loss, [s, x], retain_graph=True), torch.autograd.grad(tloss, [ts, tx], retain_graph=True))
    _close(gs.autograd.grad(loss, [c, x]), torch.autograd.grad(tloss, [tc, tx]))
    with pytest.raises(gs.GradError, match="second time"):
        loss.backward()


def test_identity_forward_returns_a_view_and_legacy_use_is_refused():
    class Ident(gs.autograd.Function):
        @staticmethod
        def forward(ctx, a):
            return a

        @staticmethod
        def backward(ctx, grad):
            return grad * 5

    a = gs.ones(3, requires_grad=True)
    out = Ident.apply(a)
    assert out is not a and out.requires_grad and repr(out.grad_fn) == "<IdentBackward>"
    out.sum().backward()
    assert a.grad.tolist() == [5.0, 5.0, 5.0]
    with pytest.warns(DeprecationWarning):
        instance = Ident()
    with pytest.raises(gs.GradError, match="apply"):
        instance(a)
    with pytest.raises(gs.ArgumentTypeError, match="Ident.apply"):
        Ident.apply(a, b=2)


# ------------------------------------------------------------------------------------------- namespace
def test_namespace_is_torch_autograds(torch):
    ag = gs.autograd
    for name in ("grad", "backward", "Function", "no_grad", "enable_grad", "set_grad_enabled", "inference_mode",
                 "detect_anomaly", "set_detect_anomaly", "gradcheck", "gradgradcheck", "Variable"):
        assert hasattr(torch.autograd, name) and hasattr(ag, name), name
    assert ag.no_grad is gs.no_grad and ag.enable_grad is gs.enable_grad
    assert ag.set_grad_enabled is gs.set_grad_enabled and ag.inference_mode is gs.inference_mode
    v = ag.Variable(gs.ones(2), requires_grad=True)
    assert isinstance(v, gs.Tensor) and v.requires_grad
    from gradstep.autograd import Function, grad  # from-imports resolve too

    assert Function is ag.Function and grad is ag.grad


def test_anomaly_mode_through_the_autograd_namespace():
    from gradstep.observe import AnomalyError

    x = gs.tensor([0.0, 1.0], requires_grad=True)
    with gs.autograd.detect_anomaly():
        assert gs.autograd.is_anomaly_enabled()
        with pytest.raises(AnomalyError, match="Log"):
            x.log()
    assert not gs.autograd.is_anomaly_enabled()
    gs.autograd.set_detect_anomaly(True)
    try:
        assert gs.autograd.is_anomaly_enabled()
        with gs.autograd.set_detect_anomaly(False):
            assert not gs.autograd.is_anomaly_enabled()
            x.log()  # off: no error
        assert gs.autograd.is_anomaly_enabled()
    finally:
        gs.autograd.set_detect_anomaly(False)
    assert not gs.autograd.is_anomaly_enabled()
    with gs.autograd.detect_anomaly(check_nan=False):
        x.log()


def test_gradcheck_takes_torch_arguments_and_leaves_grad_alone():
    x = gs.tensor(RNG.standard_normal(3), requires_grad=True)
    x.grad = gs.ones(3, dtype=x.dtype)
    assert gs.autograd.gradcheck(lambda t: (t * t).sin(), (x,), eps=1e-6, atol=1e-5, nondet_tol=0.0, fast_mode=True)
    assert x.grad.tolist() == [1.0, 1.0, 1.0]
    with pytest.raises(gs.NotSupported, match="check_forward_ad"):
        gs.autograd.gradcheck(lambda t: t * 2, (x,), check_forward_ad=True)


def test_tensor_backward_takes_inputs_and_refuses_create_graph(torch):
    a = np.array([1.0, 2.0], np.float32)
    x, w = gs.tensor(a, requires_grad=True), gs.tensor(a * 3, requires_grad=True)
    tx, tw = torch.tensor(a, requires_grad=True), torch.tensor(a * 3, requires_grad=True)
    (x * w).sum().backward(inputs=[x])
    (tx * tw).sum().backward(inputs=[tx])
    np.testing.assert_array_equal(x.grad.numpy(), tx.grad.numpy())
    assert w.grad is None and tw.grad is None
    with pytest.raises(gs.NotSupported, match="higher-order"):
        (x * w).sum().backward(create_graph=True)


def test_torch_autograd_function_module_names():
    from gradstep.autograd.function import FunctionCtx, once_differentiable

    assert once_differentiable is gs.autograd.once_differentiable and FunctionCtx is gs.autograd.FunctionCtx
