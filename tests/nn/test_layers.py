"""Every layer against torch.nn: same weights (through state_dict and NumPy), same inputs ->
same outputs, input gradients and parameter gradients; train/eval behaviour; error messages."""
import warnings

import numpy as np
import pytest

import gradstep as gs
from gradstep import nn
from tests.nn._parity import check_module, copy_to_torch


def _x(rng, *shape, dtype=np.float32):
    return rng.standard_normal(shape).astype(dtype)


def _pair(torch, name, *args, **kwargs):
    """The gradstep layer and the torch layer of the same name and arguments."""
    return getattr(nn, name)(*args, **kwargs), getattr(torch.nn, name)(*args, **kwargs)


# --------------------------------------------------------------------------- table
# (layer name, constructor args, constructor kwargs, input shapes)
CASES = [
    ("Linear", (4, 3), {}, [(5, 4)]),
    ("Linear", (4, 3), {}, [(2, 3, 4)]),
    ("Linear", (4, 3), {"bias": False}, [(4,)]),
    ("Bilinear", (4, 3, 2), {}, [(5, 4), (5, 3)]),
    ("Conv1d", (3, 4, 3), {}, [(2, 3, 10)]),
    ("Conv1d", (4, 6, 3), {"stride": 2, "padding": 1, "dilation": 2, "groups": 2}, [(2, 4, 11)]),
    ("Conv1d", (3, 2, 4), {"padding": "same", "bias": False}, [(2, 3, 9)]),
    ("Conv1d", (3, 2, 3), {"padding": 2, "padding_mode": "circular"}, [(2, 3, 7)]),
    ("Conv2d", (3, 4, 3), {}, [(2, 3, 7, 6)]),
    ("Conv2d", (3, 6, (3, 2)), {"stride": (2, 1), "padding": (1, 0), "groups": 3}, [(2, 3, 8, 7)]),
    ("Conv2d", (2, 3, 4), {"padding": "same", "dilation": 2}, [(2, 2, 9, 9)]),
    ("Conv2d", (2, 3, 3), {"padding": "valid", "bias": False}, [(2, 6, 5)]),
    ("Conv2d", (2, 3, 3), {"padding": 1, "padding_mode": "reflect"}, [(2, 2, 5, 6)]),
    ("Conv2d", (2, 3, 3), {"padding": (1, 2), "padding_mode": "replicate"}, [(1, 2, 4, 5)]),
    ("ConvTranspose1d", (3, 2, 3), {"stride": 2, "output_padding": 1}, [(2, 3, 5)]),
    ("ConvTranspose2d", (4, 2, 3), {"stride": 2, "padding": 1, "groups": 2}, [(2, 4, 4, 5)]),
    ("ConvTranspose2d", (2, 3, (2, 3)), {"bias": False, "dilation": 2}, [(1, 2, 3, 3)]),
    ("MaxPool1d", (3,), {"stride": 2, "padding": 1}, [(2, 3, 9)]),
    ("MaxPool2d", (2,), {}, [(2, 3, 6, 6)]),
    ("MaxPool2d", (3,), {"stride": 2, "padding": 1, "ceil_mode": True}, [(2, 2, 7, 8)]),
    ("AvgPool1d", (2,), {}, [(2, 3, 8)]),
    ("AvgPool2d", (2,), {}, [(2, 3, 6, 6)]),
    ("AvgPool2d", (3,), {"stride": 2, "padding": 1, "count_include_pad": False}, [(2, 2, 7, 7)]),
    ("AdaptiveAvgPool1d", (3,), {}, [(2, 3, 8)]),
    ("AdaptiveAvgPool2d", ((1, 1),), {}, [(2, 3, 5, 5)]),
    ("AdaptiveAvgPool2d", ((3, 2),), {}, [(2, 3, 7, 5)]),
    ("LayerNorm", (6,), {}, [(3, 4, 6)]),
    ("LayerNorm", ((4, 6),), {"eps": 1e-3}, [(3, 4, 6)]),
    ("LayerNorm", (6,), {"elementwise_affine": False}, [(5, 6)]),
    ("LayerNorm", (6,), {"bias": False}, [(5, 6)]),
    ("GroupNorm", (2, 6), {}, [(3, 6, 4, 4)]),
    ("GroupNorm", (3, 6), {"affine": False}, [(3, 6, 5)]),
    ("RMSNorm", (6,), {}, [(3, 4, 6)]),
    ("RMSNorm", ((4, 6),), {"eps": 1e-5}, [(3, 4, 6)]),
    ("Flatten", (), {}, [(2, 3, 4, 5)]),
    ("Flatten", (0, 2), {}, [(2, 3, 4, 5)]),
    ("Unflatten", (1, (3, 4)), {}, [(2, 12, 5)]),
    ("Identity", (), {}, [(2, 3)]),
    ("ReLU", (), {}, [(3, 5)]),
    ("ReLU6", (), {}, [(3, 5)]),
    ("LeakyReLU", (0.2,), {}, [(3, 5)]),
    ("GELU", (), {}, [(3, 5)]),
    ("GELU", (), {"approximate": "tanh"}, [(3, 5)]),
    ("SiLU", (), {}, [(3, 5)]),
    ("Tanh", (), {}, [(3, 5)]),
    ("Sigmoid", (), {}, [(3, 5)]),
    ("Softplus", (), {}, [(3, 5)]),
    ("Softplus", (2.0, 1.0), {}, [(3, 5)]),
    ("Hardtanh", (-0.5, 0.7), {}, [(3, 5)]),
    ("ELU", (0.5,), {}, [(3, 5)]),
    ("Mish", (), {}, [(3, 5)]),
    ("LogSigmoid", (), {}, [(3, 5)]),
    ("Softmax", (1,), {}, [(3, 5)]),
    ("Softmax", (-1,), {}, [(2, 3, 5)]),
    ("LogSoftmax", (1,), {}, [(3, 5, 2)]),
    ("Softmin", (0,), {}, [(3, 5)]),
]


def _away_from_kinks(a):
    # keep clear of the kinks of relu/hardtanh/pooling ties, where one-sided derivatives differ
    return np.where(np.abs(a) < 0.05, 0.3, a).astype(a.dtype)


@pytest.mark.filterwarnings("ignore:Using padding='same'")
@pytest.mark.parametrize("name,args,kwargs,shapes", CASES, ids=lambda v: str(v) if not isinstance(v, list) else "")
def test_layer_matches_torch(name, args, kwargs, shapes, torch, rng):
    gs.manual_seed(0)
    g, t = _pair(torch, name, *args, **kwargs)
    arrays = [_away_from_kinks(_x(rng, *s)) for s in shapes]
    if "Hardtanh" in name or "ReLU6" in name:
        arrays = [np.where(np.abs(np.abs(a) - 0.6) < 0.05, 0.2, a * 3).astype(np.float32) for a in arrays]
    check_module(g, t, arrays, torch=torch)


@pytest.mark.filterwarnings("ignore:Using padding='same'")
@pytest.mark.parametrize("name,args,kwargs,shapes", CASES[:17], ids=lambda v: str(v) if not isinstance(v, list) else "")
def test_layer_float64(name, args, kwargs, shapes, torch, rng):
    g, t = _pair(torch, name, *args, **kwargs)
    g.double()
    t.double()
    arrays = [_x(rng, *s, dtype=np.float64) for s in shapes]
    out = check_module(g, t, arrays, torch=torch, rtol=1e-10, atol=1e-10)
    assert out[0].dtype == np.float64


def test_conv_transpose_output_size(torch, rng):
    g, t = _pair(torch, "ConvTranspose2d", 2, 3, 3, stride=2)
    x = _x(rng, 1, 2, 4, 4)
    check_module(g, t, [x], torch=torch, call=lambda m, x: m(x, output_size=(10, 10)))
    assert g(gs.tensor(x), output_size=[1, 3, 10, 10]).shape == (1, 3, 10, 10)
    with pytest.raises(ValueError, match="valid sizes range from 9 to 10"):
        g(gs.tensor(x), output_size=(12, 12))


def test_maxpool_return_indices(torch, rng):
    g, t = _pair(torch, "MaxPool2d", 2, return_indices=True)
    x = _x(rng, 2, 3, 4, 4)
    go, gi = g(gs.tensor(x))
    to, ti = t(torch.tensor(x))
    np.testing.assert_array_equal(gi.numpy(), ti.numpy())
    np.testing.assert_allclose(go.numpy(), to.numpy())


def test_softmax_implicit_dim_warns_like_torch(torch, rng):
    for shape in [(5,), (3, 4), (2, 3, 4), (2, 3, 4, 5)]:
        x = _x(rng, *shape)
        with pytest.warns(UserWarning, match="Implicit dimension"):
            got = nn.Softmax()(gs.tensor(x)).numpy()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            want = torch.nn.Softmax()(torch.tensor(x)).numpy()
        np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-7)


# ----------------------------------------------------------------- batch norm
@pytest.mark.parametrize("name,kwargs,shape", [
    ("BatchNorm1d", {}, (8, 4)),
    ("BatchNorm1d", {}, (4, 3, 5)),
    ("BatchNorm2d", {}, (4, 3, 5, 5)),
    ("BatchNorm2d", {"momentum": None}, (4, 3, 3, 3)),
    ("BatchNorm2d", {"affine": False, "eps": 1e-3, "momentum": 0.3}, (2, 3, 4, 4)),
    ("BatchNorm2d", {"bias": False}, (2, 3, 4, 4)),
    ("BatchNorm1d", {"track_running_stats": False}, (6, 4)),
], ids=str)
def test_batchnorm_train_then_eval(name, kwargs, shape, torch, rng):
    g, t = _pair(torch, name, shape[1], **kwargs)
    # perturb the affine parameters so they matter
    if g.weight is not None:
        g.weight.data = gs.tensor(rng.uniform(0.5, 1.5, shape[1]).astype(np.float32))
    copy_to_torch(g, t, torch)
    for step in range(3):
        check_module(g, t, [_x(rng, *shape) * (step + 1) + step], torch=torch, copy=False, seed=step)
        for p_g, p_t in zip(g.parameters(), t.parameters()):
            p_g.grad, p_t.grad = None, None
    for key, want in t.state_dict().items():
        got = g.state_dict()[key].numpy()
        assert got.dtype == want.numpy().dtype, key
        np.testing.assert_allclose(got, want.numpy(), rtol=1e-5, atol=1e-6, err_msg=key)
    g.eval()
    t.eval()
    check_module(g, t, [_x(rng, *shape)], torch=torch, copy=False)
    if kwargs.get("track_running_stats", True):  # eval must not touch the running statistics
        before = g.running_mean.numpy().copy()
        g(gs.tensor(_x(rng, *shape)))
        np.testing.assert_array_equal(g.running_mean.numpy(), before)


def test_batchnorm_state_dict_and_num_batches(torch, rng):
    g = nn.BatchNorm2d(3)
    for _ in range(4):
        g(gs.tensor(_x(rng, 2, 3, 2, 2)))
    assert g.num_batches_tracked.item() == 4 and g.num_batches_tracked.dtype == np.int64
    t = torch.nn.BatchNorm2d(3)
    copy_to_torch(g, t, torch)
    assert t.num_batches_tracked.item() == 4
    g.reset_running_stats()
    assert g.num_batches_tracked.item() == 0 and np.all(g.running_var.numpy() == 1)


# ------------------------------------------------------------------- dropout
def test_dropout_train_and_eval():
    gs.manual_seed(0)
    d = nn.Dropout(0.25)
    x = gs.ones(200, 100, requires_grad=True)
    y = d(x)
    vals = y.detach().numpy()
    zero_frac = (vals == 0).mean()
    assert zero_frac == pytest.approx(0.25, abs=0.02)
    np.testing.assert_allclose(vals[vals != 0], 1 / 0.75, rtol=1e-6)
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy() == 0, vals == 0)  # gradient through the same mask
    d.eval()
    x2 = gs.randn(4, 5)
    assert d(x2) is x2
    assert nn.Dropout(0.0)(x2) is x2
    np.testing.assert_array_equal(nn.Dropout(1.0)(x2).numpy(), 0)
    gs.manual_seed(5)
    a = nn.Dropout(0.5)(gs.ones(10)).numpy()
    gs.manual_seed(5)
    b = nn.Dropout(0.5)(gs.ones(10)).numpy()
    np.testing.assert_array_equal(a, b)
    with pytest.raises(ValueError, match="between 0 and 1, but got 1.5"):
        nn.Dropout(1.5)


def test_dropout2d_zeroes_whole_channels():
    gs.manual_seed(1)
    y = nn.Dropout2d(0.5)(gs.ones(8, 16, 3, 3)).numpy()
    per_channel = y.reshape(8, 16, 9)
    assert np.all((per_channel == 0).all(-1) | (per_channel == 2).all(-1))
    assert nn.Dropout2d(0.5).eval()(gs.ones(2, 2, 2, 2)).numpy().sum() == 16


# ------------------------------------------------------------------ embedding
@pytest.mark.parametrize("kwargs", [{}, {"padding_idx": 1}, {"padding_idx": -2}], ids=str)
def test_embedding(kwargs, torch, rng):
    g, t = _pair(torch, "Embedding", 7, 4, **kwargs)
    idx = np.array([[1, 2, 5], [1, 0, 6]], dtype=np.int64)
    check_module(g, t, [idx], torch=torch, grad=[False])
    if "padding_idx" in kwargs:
        assert g.padding_idx == t.padding_idx
        assert not np.any(g.weight.grad.numpy()[g.padding_idx])
        fresh = nn.Embedding(7, 4, **kwargs)
        assert not np.any(fresh.weight.detach().numpy()[fresh.padding_idx])


def test_embedding_from_pretrained():
    table = gs.randn(5, 3)
    e = nn.Embedding.from_pretrained(table)
    assert not e.weight.requires_grad and e.weight.shape == (5, 3)
    np.testing.assert_array_equal(e(gs.tensor([4, 0])).numpy(), table.numpy()[[4, 0]])
    assert nn.Embedding.from_pretrained(table, freeze=False).weight.requires_grad


# --------------------------------------------------------- multi-head attention
def _causal(n):
    return np.triu(np.ones((n, n), dtype=bool), 1)


MHA_CASES = [
    (dict(), dict(need_weights=True)),
    (dict(batch_first=True), dict(need_weights=True, average_attn_weights=False)),
    (dict(batch_first=True), dict(need_weights=False)),
    (dict(bias=False), dict(need_weights=True)),
    (dict(batch_first=True), dict(attn_mask="causal_bool")),
    (dict(batch_first=True), dict(attn_mask="causal_float", need_weights=False)),
    (dict(), dict(key_padding_mask="bool")),
    (dict(batch_first=True), dict(key_padding_mask="float", attn_mask="causal_bool")),
    (dict(batch_first=True), dict(attn_mask="3d")),
    (dict(add_bias_kv=True), dict(key_padding_mask="bool")),
    (dict(add_zero_attn=True, batch_first=True), dict(attn_mask="causal_bool")),
]


@pytest.mark.parametrize("ctor,call", MHA_CASES, ids=str)
@pytest.mark.parametrize("mode", ["self", "cross"])
def test_multihead_attention(ctor, call, mode, torch, rng):
    E, H, N, L = 8, 2, 3, 5
    S = L if mode == "self" else 4
    gs.manual_seed(0)
    g, t = _pair(torch, "MultiheadAttention", E, H, **ctor)
    bf = ctor.get("batch_first", False)
    q = _x(rng, N, L, E) if bf else _x(rng, L, N, E)
    kv = _x(rng, N, S, E) if bf else _x(rng, S, N, E)
    kw = dict(call)
    mask_kind = kw.pop("attn_mask", None)
    kpm_kind = kw.pop("key_padding_mask", None)
    masks = {}
    if mask_kind is not None:
        m = _causal(max(L, S))[:L, :S]
        if mask_kind == "causal_float":
            m = np.where(m, -1e9, 0.0).astype(np.float32)
        elif mask_kind == "3d":
            m = rng.random((N * H, L, S)) < 0.3
            m[..., 0] = False
        masks["attn_mask"] = m
    if kpm_kind is not None:
        k = np.zeros((N, S), dtype=bool)
        k[0, -2:] = True
        k[2, -1] = True
        masks["key_padding_mask"] = k if kpm_kind == "bool" else np.where(k, -1e9, 0.0).astype(np.float32)

    def run(module, query, kv_in):
        lib = torch if isinstance(module, torch.nn.Module) else gs
        extra = {k: lib.tensor(v) for k, v in masks.items()}
        if mode == "self":
            return module(query, query, query, **extra, **kw)
        return module(query, kv_in, kv_in, **extra, **kw)

    check_module(g, t, [q, kv], torch=torch, call=run, rtol=1e-4, atol=1e-5)


def test_multihead_attention_kdim_vdim_and_unbatched(torch, rng):
    g, t = _pair(torch, "MultiheadAttention", 8, 4, kdim=6, vdim=5)
    assert [n for n, _ in g.named_parameters()] == [n for n, _ in t.named_parameters()]
    q, k, v = _x(rng, 4, 2, 8), _x(rng, 3, 2, 6), _x(rng, 3, 2, 5)
    check_module(g, t, [q, k, v], torch=torch, rtol=1e-4, atol=1e-5)
    g, t = _pair(torch, "MultiheadAttention", 8, 2, batch_first=True)
    q, kv = _x(rng, 4, 8), _x(rng, 3, 8)
    check_module(g, t, [q, kv, kv], torch=torch, rtol=1e-4, atol=1e-5)
    mask = np.zeros(3, dtype=bool)
    mask[-1] = True
    check_module(g, t, [q, kv, kv], torch=torch, rtol=1e-4, atol=1e-5,
                 call=lambda m, a, b, c: m(a, b, c, key_padding_mask=(torch if isinstance(m, torch.nn.Module) else gs).tensor(mask)))


def test_multihead_attention_is_causal_builds_mask(torch, rng):
    g = nn.MultiheadAttention(8, 2, batch_first=True)
    x = gs.tensor(_x(rng, 2, 5, 8))
    a, _ = g(x, x, x, is_causal=True, need_weights=False)
    b, _ = g(x, x, x, attn_mask=gs.tensor(_causal(5)), need_weights=False)
    np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), rtol=1e-6)
    _, w = g(x, x, x, is_causal=True)
    assert not np.any(np.triu(w.detach().numpy()[0], 1))


def test_multihead_attention_state_dict_from_torch(torch, rng):
    t = torch.nn.MultiheadAttention(8, 2, batch_first=True)
    g = nn.MultiheadAttention(8, 2, batch_first=True)
    g.load_state_dict({k: v.numpy() for k, v in t.state_dict().items()})
    x = _x(rng, 2, 3, 8)
    np.testing.assert_allclose(g(gs.tensor(x), gs.tensor(x), gs.tensor(x))[0].detach().numpy(),
                               t(torch.tensor(x), torch.tensor(x), torch.tensor(x))[0].detach().numpy(),
                               rtol=1e-4, atol=1e-5)


# ------------------------------------------------------------------ transformer
@pytest.mark.parametrize("kwargs", [
    dict(),
    dict(batch_first=True, activation="gelu"),
    dict(batch_first=True, norm_first=True),
    dict(norm_first=True, activation="gelu", layer_norm_eps=1e-6, bias=False),
], ids=str)
@pytest.mark.parametrize("masked", [False, True])
def test_transformer_encoder_layer(kwargs, masked, torch, rng):
    d, h, ff, n, s = 8, 2, 16, 3, 5
    gs.manual_seed(0)
    g, t = _pair(torch, "TransformerEncoderLayer", d, h, ff, dropout=0.0, **kwargs)
    assert list(g.state_dict()) == list(t.state_dict())
    # a torch state dict loads into gradstep as it is
    g.load_state_dict({k: v.numpy() for k, v in t.state_dict().items()})
    x = _x(rng, n, s, d) if kwargs.get("batch_first") else _x(rng, s, n, d)
    kpm = np.zeros((n, s), dtype=bool)
    kpm[1, -2:] = True

    def run(m, src):
        if not masked:
            return m(src)
        lib = torch if isinstance(m, torch.nn.Module) else gs
        return m(src, src_mask=lib.tensor(_causal(s)), src_key_padding_mask=lib.tensor(kpm), is_causal=True)

    check_module(g, t, [x], torch=torch, call=run, copy=False, rtol=1e-4, atol=2e-5)


def test_transformer_encoder_stack(torch, rng):
    gs.manual_seed(0)
    layer = nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0, batch_first=True)
    g = nn.TransformerEncoder(layer, 2, norm=nn.LayerNorm(8))
    t = torch.nn.TransformerEncoder(torch.nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0, batch_first=True), 2,
                                    norm=torch.nn.LayerNorm(8), enable_nested_tensor=False)
    assert list(g.state_dict()) == list(t.state_dict())
    assert g.layers[0].linear1.weight is not g.layers[1].linear1.weight
    check_module(g, t, [_x(rng, 2, 4, 8)], torch=torch, rtol=1e-4, atol=2e-5)


def test_transformer_dropout_train_eval():
    gs.manual_seed(0)
    layer = nn.TransformerEncoderLayer(8, 2, 16, dropout=0.5, batch_first=True)
    x = gs.randn(2, 4, 8)
    a, b = layer(x).detach().numpy(), layer(x).detach().numpy()
    assert not np.allclose(a, b)  # dropout active while training
    layer.eval()
    np.testing.assert_array_equal(layer(x).detach().numpy(), layer(x).detach().numpy())


# ------------------------------------------------------------------ error messages
def test_linear_wrong_features_message():
    with pytest.raises(gs.ShapeError) as info:
        nn.Linear(784, 10)(gs.zeros(32, 100))
    assert str(info.value) == "Linear(in_features=784, out_features=10) expected input (..., 784), got (32, 100)"
    with pytest.raises(ValueError, match=r"got \(128, 28, 28\); flatten first\?"):
        nn.Linear(784, 512)(gs.zeros(128, 28, 28))
    with pytest.raises(gs.ShapeError, match=r"got \(\)"):
        nn.Linear(3, 1)(gs.tensor(1.0))
    with pytest.raises(TypeError, match="expected a Tensor"):
        nn.Linear(3, 1)([1.0, 2.0, 3.0])


def test_conv_errors():
    with pytest.raises(gs.ShapeError) as info:
        nn.Conv2d(3, 16, 3)(gs.zeros(8, 1, 28, 28))
    msg = str(info.value)
    assert msg.startswith("Conv2d(3, 16, kernel_size=(3, 3), stride=(1, 1)) expected input (N, 3, H, W)")
    assert "got (8, 1, 28, 28)" in msg
    with pytest.raises(gs.ShapeError, match=r"Conv1d\(2, 4.*expected input \(N, 2, L\).*got \(5, 2\)"):
        nn.Conv1d(2, 4, 3)(gs.zeros(5, 2))
    with pytest.raises(ValueError, match="not supported for strided convolutions"):
        nn.Conv2d(1, 1, 3, stride=2, padding="same")
    with pytest.raises(ValueError, match="must be divisible by groups"):
        nn.Conv2d(3, 4, 3, groups=2)
    with pytest.raises(ValueError, match="padding_mode must be one of"):
        nn.Conv2d(3, 4, 3, padding_mode="mirror")
    with pytest.raises(ValueError, match="Invalid padding string"):
        nn.Conv2d(3, 4, 3, padding="full")


def test_norm_and_attention_errors():
    with pytest.raises(gs.ShapeError, match=r"BatchNorm2d\(3\) expected 4D input \(got 2D input of shape \(4, 3\)\)"):
        nn.BatchNorm2d(3)(gs.zeros(4, 3))
    with pytest.raises(gs.ShapeError, match=r"BatchNorm1d\(3\) expected input with 3 channels.*\(4, 5\)"):
        nn.BatchNorm1d(3)(gs.zeros(4, 5))
    with pytest.raises(gs.ShapeError, match=r"LayerNorm\(\(6,\)\) expected input \(\.\.\., 6\), got \(2, 5\)"):
        nn.LayerNorm(6)(gs.zeros(2, 5))
    with pytest.raises(gs.ShapeError, match=r"GroupNorm\(2, 4\) expected input \(N, 4, \*\), got \(2, 3, 5\)"):
        nn.GroupNorm(2, 4)(gs.zeros(2, 3, 5))
    with pytest.raises(ValueError, match="must be divisible by num_groups"):
        nn.GroupNorm(3, 4)
    with pytest.raises(ValueError, match="divisible by num_heads"):
        nn.MultiheadAttention(10, 3)
    m = nn.MultiheadAttention(8, 2)
    with pytest.raises(gs.ShapeError, match=r"expected query .*last dim 8, got \(3, 2, 6\)"):
        m(gs.zeros(3, 2, 6), gs.zeros(3, 2, 8), gs.zeros(3, 2, 8))
    with pytest.raises(gs.ShapeError, match=r"2D attn_mask is \(2, 2\), but should be \(3, 3\)"):
        m(gs.zeros(3, 2, 8), gs.zeros(3, 2, 8), gs.zeros(3, 2, 8), attn_mask=gs.zeros(2, 2))
    with pytest.raises(gs.ShapeError, match=r"key_padding_mask of shape \(2, 3\), got \(3, 2\)"):
        m(gs.zeros(3, 2, 8), gs.zeros(3, 2, 8), gs.zeros(3, 2, 8), key_padding_mask=gs.zeros(3, 2, dtype=gs.bool))
    with pytest.raises(gs.DTypeError, match="only bool and floating types of key_padding_mask"):
        m(gs.zeros(3, 2, 8), gs.zeros(3, 2, 8), gs.zeros(3, 2, 8), key_padding_mask=gs.zeros(2, 3, dtype=gs.int64))
    # a bad value: ValueError (PyTorch raises RuntimeError here), a gradstep error naming the layer
    with pytest.raises(gs.errors.InvalidArgument, match="TransformerEncoderLayer: activation should be relu/gelu, not tanhh"):
        nn.TransformerEncoderLayer(8, 2, activation="tanhh")
    with pytest.raises(ValueError, match="padding_idx must be within num_embeddings"):
        nn.Embedding(4, 2, padding_idx=4)


# ------------------------------------------------------------------ functional
def test_functional_namespace_resolves_every_name():
    import gradstep.nn.functional as F

    missing = [name for name in F.__all__ if not callable(getattr(F, name, None))]
    assert missing == [], f"gradstep.nn.functional names without an op: {missing}"
    assert F.linear is gs.ops.linear and F.relu is gs.relu  # re-exports, not wrappers
    with pytest.raises(AttributeError, match="has no attribute 'no_such_fn'"):
        F.no_such_fn


def test_functional_composites(torch, rng):
    import gradstep.nn.functional as F
    from tests.oracle import check

    x = _x(rng, 4, 5)
    TF = torch.nn.functional
    check(lambda a: F.normalize(a, dim=1), lambda a: TF.normalize(a, dim=1), [x], torch=torch)
    check(lambda a: F.normalize(a, p=3.0, dim=0), lambda a: TF.normalize(a, p=3.0, dim=0), [x], torch=torch)
    check(lambda a: F.softmin(a, 1), lambda a: TF.softmin(a, 1), [x], torch=torch)
    check(F.logsigmoid, TF.logsigmoid, [x * 10], torch=torch)
    check(lambda a: F.elu(a, 0.7), lambda a: TF.elu(a, 0.7), [np.where(np.abs(x) < 0.05, 0.3, x)], torch=torch)
    check(F.mish, TF.mish, [x], torch=torch)
    big = np.array([-100.0, -30.0, 30.0], np.float32)
    assert np.isfinite(F.elu(gs.tensor(big)).numpy()).all() and np.isfinite(F.logsigmoid(gs.tensor(big)).numpy()).all()
