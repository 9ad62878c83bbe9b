"""Module mechanics: registration, traversal, state dicts, modes, conversion, hooks, repr."""
import copy
import pickle

import numpy as np
import pytest

import gradstep as gs
from gradstep import nn
from tests.nn._parity import copy_to_torch


class MLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(4, 8)
        self.act = nn.ReLU()
        self.fc2 = nn.Linear(8, 3)
        self.register_buffer("steps", gs.zeros(1))
        self.register_buffer("cache", gs.zeros(2), persistent=False)

    def forward(self, x):
        return self.fc2(self.act(self.fc1(x)))


class Nested(nn.Module):
    def __init__(self):
        super().__init__()
        self.layers = nn.ModuleList([nn.Linear(2, 2), nn.Linear(2, 2, bias=False)])
        self.block = nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2), nn.ReLU())
        self.heads = nn.ModuleDict({"a": nn.Linear(2, 1), "b": nn.LayerNorm(2)})
        self.scale = nn.Parameter(gs.ones(1))


# ---------------------------------------------------------------- registration
def test_parameter_basics():
    p = nn.Parameter(gs.zeros(2, 3))
    assert p.requires_grad and p.is_leaf and isinstance(p, gs.Tensor)
    assert repr(p).startswith("Parameter containing:\ntensor(")
    assert not nn.Parameter(gs.zeros(2), requires_grad=False).requires_grad
    t = gs.zeros(3)
    p2 = nn.Parameter(t)
    p2.data[0] = 5.0
    assert t[0].item() == 5.0  # shares storage like torch.nn.Parameter
    assert nn.Parameter().shape == (0,)


def test_registration_and_attribute_access():
    m = MLP()
    assert list(m._parameters) == []
    assert list(m._modules) == ["fc1", "act", "fc2"]
    assert list(m._buffers) == ["steps", "cache"]
    assert m.fc1.weight is m.fc1._parameters["weight"]
    assert isinstance(m.steps, gs.Tensor)
    with pytest.raises(AttributeError, match="'MLP' object has no attribute 'nope'"):
        m.nope
    m.extra = nn.Parameter(gs.ones(2))
    assert "extra" in m._parameters
    del m.extra
    assert "extra" not in m._parameters and not hasattr(m, "extra")
    m.fc1 = nn.Linear(4, 8, bias=False)  # reassignment keeps order
    assert list(m._modules) == ["fc1", "act", "fc2"]
    assert m.fc1.bias is None and "bias" in m.fc1._parameters


def test_registration_errors():
    m = nn.Linear(2, 2)
    with pytest.raises(TypeError, match="cannot assign 'Tensor' as parameter 'weight'"):
        m.weight = gs.zeros(2, 2)
    with pytest.raises(TypeError, match="parameter"):
        m.register_parameter("w2", gs.zeros(2))
    with pytest.raises(KeyError, match="contain"):
        m.register_buffer("a.b", gs.zeros(1))
    with pytest.raises(KeyError, match="already exists"):
        m.register_buffer("in_features", gs.zeros(1))
    with pytest.raises(TypeError, match="is not a Module subclass"):
        m.add_module("x", 3)

    class Early(nn.Module):
        def __init__(self):
            self.w = nn.Parameter(gs.zeros(1))

    with pytest.raises(AttributeError, match="before Module.__init__"):
        Early()
    nonleaf = gs.ones(2, requires_grad=True) * 2
    with pytest.raises(ValueError, match="non-leaf"):
        m.register_parameter("bad", _nonleaf_param(nonleaf))


def _nonleaf_param(t):
    p = nn.Parameter(gs.ones(2))
    p._ctx = t._ctx
    return p


def test_buffer_assignment():
    m = MLP()
    m.steps = gs.ones(1)
    assert m._buffers["steps"].item() == 1.0
    with pytest.raises(TypeError, match="buffer"):
        m.steps = 3
    m.newbuf = nn.Buffer(gs.zeros(2), persistent=False)
    assert "newbuf" in m._buffers and "newbuf" not in m.state_dict()


# ------------------------------------------------------------------ traversal
def test_named_parameters_order_and_dedup():
    shared = nn.Linear(2, 2)
    m = nn.Sequential(shared, nn.ReLU(), shared)
    names = [n for n, _ in m.named_parameters()]
    assert names == ["0.weight", "0.bias"]
    assert len(list(m.parameters())) == 2
    assert len(list(m.named_parameters(remove_duplicate=False))) == 4
    tied = MLP()
    tied.fc2.weight = nn.Parameter(gs.zeros(3, 8))
    tied.fc3 = nn.Linear(8, 3)
    tied.fc3.weight = tied.fc2.weight
    names = [n for n, _ in tied.named_parameters()]
    assert names == ["fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias", "fc3.bias"]
    assert [n for n, _ in tied.named_parameters(prefix="net")][0] == "net.fc1.weight"
    assert [n for n, _ in tied.named_parameters(recurse=False)] == []


def test_modules_children_buffers():
    m = Nested()
    assert [n for n, _ in m.named_children()] == ["layers", "block", "heads"]
    names = [n for n, _ in m.named_modules()]
    assert names == ["", "layers", "layers.0", "layers.1", "block", "block.0", "block.1", "block.2",
                     "heads", "heads.a", "heads.b"]
    assert [n for n, _ in m.named_buffers()] == ["block.1.running_mean", "block.1.running_var",
                                                 "block.1.num_batches_tracked"]
    assert len(list(m.buffers())) == 3
    assert m.get_submodule("block.1") is m.block[1]
    assert m.get_parameter("heads.a.bias") is m.heads["a"].bias
    assert m.get_buffer("block.1.running_mean") is m.block[1].running_mean
    with pytest.raises(AttributeError, match="nothere"):
        m.get_submodule("block.nothere")


def test_state_dict_keys_match_torch(torch):
    m = Nested()
    t = torch.nn.Module()
    t.layers = torch.nn.ModuleList([torch.nn.Linear(2, 2), torch.nn.Linear(2, 2, bias=False)])
    t.block = torch.nn.Sequential(torch.nn.Conv2d(1, 2, 3), torch.nn.BatchNorm2d(2), torch.nn.ReLU())
    t.heads = torch.nn.ModuleDict({"a": torch.nn.Linear(2, 1), "b": torch.nn.LayerNorm(2)})
    t.scale = torch.nn.Parameter(torch.ones(1))
    assert list(m.state_dict()) == list(t.state_dict())
    assert [n for n, _ in m.named_parameters()] == [n for n, _ in t.named_parameters()]
    copy_to_torch(m, t, torch)
    # and back: a torch state dict (via numpy) loads into gradstep
    sd = {k: v.numpy() for k, v in t.state_dict().items()}
    res = m.load_state_dict(sd)
    assert res.missing_keys == [] and res.unexpected_keys == []
    assert m.block[1].num_batches_tracked.dtype == np.int64


def test_state_dict_values_detached_and_shared():
    m = MLP()
    sd = m.state_dict()
    assert list(sd) == ["steps", "fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"]  # own members first, as torch
    assert not sd["fc1.weight"].requires_grad and not isinstance(sd["fc1.weight"], nn.Parameter)
    assert np.shares_memory(sd["fc1.weight"].numpy(), m.fc1.weight.detach().numpy())
    assert m.state_dict(keep_vars=True)["fc1.weight"] is m.fc1.weight
    assert list(m.state_dict(prefix="model."))[1] == "model.fc1.weight"


def test_load_state_dict_copies_in_place():
    a, b = MLP(), MLP()
    w_before = b.fc1.weight
    arr_before = b.fc1.weight.detach().numpy()
    b.load_state_dict(a.state_dict())
    assert b.fc1.weight is w_before and b.fc1.weight.detach().numpy() is arr_before
    np.testing.assert_array_equal(b.fc1.weight.detach().numpy(), a.fc1.weight.detach().numpy())
    # numpy values of another dtype are cast to the parameter's dtype
    b.load_state_dict({k: v.numpy().astype(np.float64) for k, v in a.state_dict().items()})
    assert b.fc1.weight.dtype == np.float32


def test_load_state_dict_strict_lists_everything():
    m = MLP()
    sd = {k: v.numpy() for k, v in m.state_dict().items()}
    del sd["fc1.bias"], sd["steps"]
    sd["fc3.weight"] = np.zeros(1, np.float32)
    sd["fc2.weight"] = np.zeros((4, 8), np.float32)
    with pytest.raises(nn.StateDictError) as info:
        m.load_state_dict(sd)
    msg = str(info.value)
    assert "Error(s) in loading state_dict for MLP" in msg
    assert 'Missing key(s) in state_dict: "steps", "fc1.bias".' in msg
    assert 'Unexpected key(s) in state_dict: "fc3.weight".' in msg
    assert "size mismatch for fc2.weight: copying a param with shape (4, 8) from checkpoint, " \
           "the shape in current model is (3, 8)." in msg
    assert isinstance(info.value, RuntimeError) and isinstance(info.value, gs.GradstepError)
    # non-strict: shape errors still raise; missing/unexpected are returned
    sd["fc2.weight"] = np.zeros((3, 8), np.float32)
    result = m.load_state_dict(sd, strict=False)
    assert result.missing_keys == ["steps", "fc1.bias"]
    assert result.unexpected_keys == ["fc3.weight"]
    missing, unexpected = result
    assert missing == ["steps", "fc1.bias"]
    np.testing.assert_array_equal(m.fc2.weight.detach().numpy(), 0)


def test_load_state_dict_torch_tensors(torch):
    t = torch.nn.Linear(3, 2)
    g = nn.Linear(3, 2)
    g.load_state_dict(t.state_dict())  # torch tensors are read through NumPy
    np.testing.assert_array_equal(g.weight.detach().numpy(), t.weight.detach().numpy())


# ---------------------------------------------------------------------- modes
def test_train_eval_recursive():
    m = Nested()
    assert all(x.training for x in m.modules())
    assert m.eval() is m
    assert not any(x.training for x in m.modules())
    m.train()
    assert all(x.training for x in m.modules())
    with pytest.raises(ValueError):
        m.train("yes")


def test_zero_grad_requires_grad_apply():
    m = MLP()
    m(gs.randn(2, 4)).sum().backward()
    assert all(p.grad is not None for p in m.parameters())
    m.zero_grad(set_to_none=False)
    assert all(p.grad is not None and not np.any(p.grad.numpy()) for p in m.parameters())
    m.zero_grad()
    assert all(p.grad is None for p in m.parameters())
    m.requires_grad_(False)
    assert not any(p.requires_grad for p in m.parameters())
    seen = []
    m.apply(lambda mod: seen.append(type(mod).__name__))
    assert seen == ["Linear", "ReLU", "Linear", "MLP"]


def test_to_dtype_keeps_identity():
    m = Nested()
    params = list(m.parameters())
    m.layers[0](gs.randn(1, 2)).sum().backward()
    assert m.to(gs.float64) is m
    assert [id(p) for p in m.parameters()] == [id(p) for p in params]
    assert all(p.dtype == np.float64 for p in m.parameters())
    assert m.layers[0].weight.grad.dtype == np.float64
    assert m.block[1].running_mean.dtype == np.float64
    assert m.block[1].num_batches_tracked.dtype == np.int64  # integer buffers keep their dtype
    m.float()
    assert all(p.dtype == np.float32 for p in m.parameters())
    m.double()
    assert m.scale.dtype == np.float64
    m.to("cpu")
    m.to(gs.device("cpu"), non_blocking=True)
    m.to(device="cpu:0")
    m.to(gs.zeros(1, dtype=gs.float32))
    assert m.scale.dtype == np.float32
    with pytest.raises(TypeError, match="floating point"):
        m.to(gs.int64)
    # a float64 model computes in float64
    lin = nn.Linear(3, 2).double()
    assert lin(gs.randn(4, 3, dtype=gs.float64)).dtype == np.float64


def test_copy_and_pickle():
    m = MLP()
    m2 = copy.deepcopy(m)
    assert m2.fc1.weight is not m.fc1.weight and isinstance(m2.fc1.weight, nn.Parameter)
    np.testing.assert_array_equal(m2.fc1.weight.detach().numpy(), m.fc1.weight.detach().numpy())
    m3 = pickle.loads(pickle.dumps(m))
    np.testing.assert_array_equal(m3.fc2.bias.detach().numpy(), m.fc2.bias.detach().numpy())
    assert m3.fc2.bias.requires_grad
    x = gs.randn(2, 4)
    np.testing.assert_allclose(m3(x).detach().numpy(), m(x).detach().numpy())


# ---------------------------------------------------------------------- hooks
def test_forward_hooks_and_removal():
    m = nn.Linear(2, 2)
    calls = []
    h1 = m.register_forward_pre_hook(lambda mod, args: calls.append(("pre", args[0].shape)))
    h2 = m.register_forward_hook(lambda mod, args, out: calls.append(("post", out.shape)))
    m(gs.randn(5, 2))
    assert calls == [("pre", (5, 2)), ("post", (5, 2))]
    h1.remove()
    h2.remove()
    m(gs.randn(5, 2))
    assert len(calls) == 2
    # a pre-hook may replace the input, a forward hook the output
    m.register_forward_pre_hook(lambda mod, args: (args[0] * 0,))
    h = m.register_forward_hook(lambda mod, args, out: out + 1)
    out = m(gs.randn(3, 2))
    np.testing.assert_allclose(out.detach().numpy(), (m.bias.detach().numpy() + 1)[None].repeat(3, 0), rtol=1e-6)
    h.remove()
    # with_kwargs and prepend
    order = []
    m2 = nn.Linear(2, 2)
    m2.register_forward_hook(lambda mod, a, o: order.append(1))
    m2.register_forward_hook(lambda mod, a, o: order.append(0), prepend=True)
    m2.register_forward_pre_hook(lambda mod, a, kw: order.append("kw") or None, with_kwargs=True)
    with m2.register_forward_hook(lambda mod, a, kw, o: order.append("k"), with_kwargs=True):
        m2(gs.randn(1, 2))
    assert order == ["kw", 0, 1, "k"]


def test_full_backward_hook(torch):
    m = nn.Linear(3, 2)
    seen = {}

    def hook(mod, grad_input, grad_output):
        seen["in"] = [g.numpy().copy() if g is not None else None for g in grad_input]
        seen["out"] = [g.numpy().copy() for g in grad_output]

    handle = m.register_full_backward_hook(hook)
    x = gs.randn(4, 3, requires_grad=True)
    m(x).sum().backward()
    np.testing.assert_allclose(seen["out"][0], np.ones((4, 2), np.float32))
    np.testing.assert_allclose(seen["in"][0], x.grad.numpy(), rtol=1e-6)
    # input that doesn't require grad: hook still runs, with grad_input (None,)
    seen.clear()
    m(gs.randn(4, 3)).sum().backward()
    assert seen["in"] == [None] and seen["out"][0].shape == (4, 2)
    handle.remove()
    # a returned grad_input replaces the gradient flowing to the input
    m.register_full_backward_hook(lambda mod, gi, go: (gi[0] * 0,))
    x = gs.randn(4, 3, requires_grad=True)
    m(x).sum().backward()
    assert not np.any(x.grad.numpy())


def test_tensor_hooks_see_parameter_grads():
    m = nn.Linear(2, 2)
    got = []
    m.weight.register_hook(lambda g: got.append(g.shape))
    m(gs.randn(3, 2)).sum().backward()
    assert got == [(2, 2)]


def test_call_without_forward():
    with pytest.raises(NotImplementedError, match="missing the required \"forward\""):
        nn.Module()(1)


# ----------------------------------------------------------------------- repr
def test_repr_matches_torch(torch):
    g = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(), nn.MaxPool2d(2),
                      nn.Flatten(), nn.Dropout(0.2), nn.Linear(4 * 7 * 7, 10, bias=False), nn.GELU("tanh"),
                      nn.LayerNorm(10), nn.Softmax(dim=1), nn.Embedding(5, 3, padding_idx=0),
                      nn.LeakyReLU(0.2), nn.GroupNorm(2, 4), nn.AdaptiveAvgPool2d((1, 1)), nn.AvgPool2d(2),
                      nn.Unflatten(1, (2, 5)), nn.Identity(), nn.Softplus(), nn.Conv1d(2, 3, 2, stride=2, bias=False))
    T = torch.nn
    t = T.Sequential(T.Conv2d(1, 4, 3, padding=1), T.BatchNorm2d(4), T.ReLU(), T.MaxPool2d(2),
                     T.Flatten(), T.Dropout(0.2), T.Linear(4 * 7 * 7, 10, bias=False), T.GELU("tanh"),
                     T.LayerNorm(10), T.Softmax(dim=1), T.Embedding(5, 3, padding_idx=0),
                     T.LeakyReLU(0.2), T.GroupNorm(2, 4), T.AdaptiveAvgPool2d((1, 1)), T.AvgPool2d(2),
                     T.Unflatten(1, (2, 5)), T.Identity(), T.Softplus(), T.Conv1d(2, 3, 2, stride=2, bias=False))
    assert repr(g) == repr(t)
    assert repr(nn.TransformerEncoderLayer(8, 2, 16)) == repr(T.TransformerEncoderLayer(8, 2, 16)).replace(
        "NonDynamicallyQuantizableLinear", "Linear")


# ------------------------------------------------------------------ containers
def test_sequential():
    a, b, c = nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1)
    s = nn.Sequential(a, b, c)
    assert len(s) == 3 and s[0] is a and s[-1] is c and list(s) == [a, b, c]
    sub = s[1:]
    assert isinstance(sub, nn.Sequential) and list(sub._modules) == ["1", "2"]
    s.append(nn.Sigmoid())
    assert len(s) == 4
    del s[1]
    assert list(s._modules) == ["0", "1", "2"] and s[1] is c
    s.insert(1, nn.Tanh())
    assert isinstance(s[1], nn.Tanh) and len(s) == 4
    s[0] = nn.Linear(2, 3)
    assert s[0] is not a
    with pytest.raises(IndexError):
        s[10]
    from collections import OrderedDict

    named = nn.Sequential(OrderedDict([("fc", nn.Linear(2, 2)), ("act", nn.ReLU())]))
    assert list(named.state_dict()) == ["fc.weight", "fc.bias"] and named.fc is named[0]
    assert named(gs.randn(3, 2)).shape == (3, 2)


def test_module_list_and_dict():
    ml = nn.ModuleList([nn.Linear(1, 1) for _ in range(3)])
    ml.append(nn.ReLU())
    ml += [nn.Tanh()]
    assert len(ml) == 5 and isinstance(ml[-1], nn.Tanh)
    assert isinstance(ml[1:3], nn.ModuleList) and len(ml[1:3]) == 2
    ml.insert(0, nn.Sigmoid())
    assert isinstance(ml[0], nn.Sigmoid) and list(ml._modules)[-1] == "5"
    del ml[0]
    assert len(list(ml.parameters())) == 6
    md = nn.ModuleDict({"x": nn.Linear(1, 2)})
    md["y"] = nn.ReLU()
    assert "x" in md and list(md.keys()) == ["x", "y"] and len(md) == 2
    assert md.pop("y") is not None and len(md) == 1
    pl = nn.ParameterList([nn.Parameter(gs.ones(2)), gs.zeros(3)])
    assert len(list(pl.parameters())) == 2 and isinstance(pl[1], nn.Parameter)
    pd = nn.ParameterDict({"a": nn.Parameter(gs.ones(1))})
    assert list(pd.state_dict()) == ["a"]


def test_fast_call_path_overhead():
    # with no hooks, __call__ adds only a few attribute checks over forward
    import timeit

    m = nn.Identity()
    x = gs.zeros(1)
    direct = min(timeit.repeat(lambda: m.forward(x), number=2000, repeat=5))
    called = min(timeit.repeat(lambda: m(x), number=2000, repeat=5))
    assert called < direct * 4 + 1e-3


def test_to_another_device_raises_like_torch_without_it(torch):
    """PyTorch raises when the model can't move (no CUDA); gradstep too, instead of silently staying put."""
    for device in ("cuda", "cuda:0", "mps"):
        with pytest.raises((AssertionError, RuntimeError)):
            torch.nn.Linear(2, 2).to(device)
    m = nn.Linear(2, 2)
    for args, kwargs in [(("cuda",), {}), ((gs.device("cuda", 1),), {}), (("mps",), {}), ((), {"device": "cuda"})]:
        with pytest.raises(gs.GradError, match="Module.to: gradstep computes on the CPU.*not available"):
            m.to(*args, **kwargs)


def test_module_to_takes_dtype_names_like_tensor_to():
    import gradstep as gs

    m = gs.nn.Linear(2, 2)
    assert m.to("float64") is m and m.weight.dtype == gs.float64 and m.bias.dtype == gs.float64
    m.to("cpu")
    assert m.weight.dtype == gs.float64
    with pytest.raises(TypeError, match="'floaty' is neither a dtype nor the device 'cpu'"):
        m.to("floaty")
