"""TransformerDecoderLayer, TransformerDecoder and Transformer against torch.nn: torch's weights loaded
through its state_dict, then outputs, input gradients (tgt, memory / src) and every parameter gradient;
state_dict names, xavier init, the causal mask helper and the error messages."""
import math
import warnings

import numpy as np
import pytest

import gradstep as gs
from gradstep import errors, nn
from tests.nn._parity import check_module

TOL = dict(rtol=1e-4, atol=2e-5)
D, H, FF, N, T, S = 8, 2, 16, 3, 4, 5  # d_model, heads, feed-forward, batch, tgt length, memory length

# eval: torch's default dropout (0.1) switched off by eval(); train: dropout=0.0 while training
MODES = {"eval": dict(dropout=0.1), "train": dict(dropout=0.0)}


def _x(rng, *shape):
    return rng.standard_normal(shape).astype(np.float32)


def _pair(torch, name, args, kwargs, mode):
    """torch's module (fixed seed, parameters moved off their init so no gradient is trivially 0/1) and
    the gradstep module of the same arguments with torch's state_dict loaded as it is."""
    kwargs = dict(kwargs, **MODES[mode])
    torch.manual_seed(0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch: "enable_nested_tensor is True, but ..." with norm_first
        t = getattr(torch.nn, name)(*args, **kwargs)
    with torch.no_grad():
        for p in t.parameters():
            p.add_(0.2 * torch.randn(p.shape))
    g = getattr(nn, name)(*args, **kwargs)
    assert list(g.state_dict()) == list(t.state_dict())
    g.load_state_dict({k: v.detach().numpy() for k, v in t.state_dict().items()})
    t.train(mode == "train")
    g.train(mode == "train")
    return g, t


def _lib(module, torch):
    return torch if isinstance(module, torch.nn.Module) else gs


def _masks(batched):
    """Bool key padding masks that never hide a whole row (position 0 stays visible)."""
    tgt_kpm = np.zeros((N, T), dtype=bool)
    tgt_kpm[1, -1] = True
    mem_kpm = np.zeros((N, S), dtype=bool)
    mem_kpm[0, -2:] = True
    mem_kpm[2, 1] = True
    if not batched:
        return tgt_kpm[1], mem_kpm[0]
    return tgt_kpm, mem_kpm


# ------------------------------------------------------------------ decoder layer
LAYOUTS = ["seq_first", "batch_first", "unbatched"]


def _seq(rng, layout, length):
    if layout == "unbatched":
        return _x(rng, length, D)
    return _x(rng, N, length, D) if layout == "batch_first" else _x(rng, length, N, D)


@pytest.mark.parametrize("mode", list(MODES))
@pytest.mark.parametrize("padding", [False, True], ids=["no_kpm", "kpm"])
@pytest.mark.parametrize("causal", [False, True], ids=["no_mask", "causal"])
@pytest.mark.parametrize("activation", ["relu", "gelu"])
@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("norm_first", [False, True], ids=["post_norm", "pre_norm"])
def test_decoder_layer(norm_first, layout, activation, causal, padding, mode, torch, rng):
    kwargs = dict(activation=activation, norm_first=norm_first, batch_first=layout != "seq_first")
    g, t = _pair(torch, "TransformerDecoderLayer", (D, H, FF), kwargs, mode)
    tgt, memory = _seq(rng, layout, T), _seq(rng, layout, S)
    tgt_kpm, mem_kpm = _masks(layout != "unbatched")

    def run(m, tgt_in, mem_in):
        lib = _lib(m, torch)
        kw = {}
        if causal:
            kw["tgt_mask"] = lib.nn.Transformer.generate_square_subsequent_mask(T)
        if padding:
            kw.update(tgt_key_padding_mask=lib.tensor(tgt_kpm), memory_key_padding_mask=lib.tensor(mem_kpm))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # torch: float tgt_mask with a bool key padding mask
            return m(tgt_in, mem_in, **kw)

    check_module(g, t, [tgt, memory], torch=torch, call=run, copy=False, **TOL)


@pytest.mark.parametrize("batch_first", [False, True])
def test_decoder_layer_other_masks(batch_first, torch, rng):
    """A 3-D bool tgt_mask (N * nhead, T, T), a float memory_mask (T, S), a float memory key padding mask,
    tgt_is_causal / memory_is_causal hints with their masks, bias=False, layer_norm_eps, a callable activation."""
    kwargs = dict(batch_first=batch_first, bias=False, layer_norm_eps=1e-3)
    g, t = _pair(torch, "TransformerDecoderLayer", (D, H, FF), kwargs, "train")
    g.activation, t.activation = gs.nn.functional.silu, torch.nn.functional.silu
    tgt, memory = (_x(rng, N, T, D), _x(rng, N, S, D)) if batch_first else (_x(rng, T, N, D), _x(rng, S, N, D))
    tgt_mask = rng.random((N * H, T, T)) < 0.4
    tgt_mask[..., 0] = False
    memory_mask = np.where(rng.random((T, S)) < 0.3, -1e9, rng.standard_normal((T, S))).astype(np.float32)
    memory_mask[:, 0] = 0.5
    mem_kpm = np.where(np.arange(S) >= S - 1, -1e9, 0.0).astype(np.float32)[None].repeat(N, 0)
    causal = np.triu(np.ones((T, T), dtype=bool), 1)

    def run(m, tgt_in, mem_in):
        lib = _lib(m, torch)
        warnings.simplefilter("ignore")  # inside check_module's call: torch's mask type notes
        a = m(tgt_in, mem_in, tgt_mask=lib.tensor(tgt_mask), memory_mask=lib.tensor(memory_mask),
              memory_key_padding_mask=lib.tensor(mem_kpm))
        b = m(tgt_in, mem_in, tgt_mask=lib.tensor(causal), tgt_is_causal=True,
              memory_mask=lib.tensor(np.triu(np.ones((T, S), dtype=bool), 1)), memory_is_causal=True)
        return a, b

    check_module(g, t, [tgt, memory], torch=torch, call=run, copy=False, **TOL)


def test_decoder_layer_module_activation_and_dropout(torch, rng):
    g = nn.TransformerDecoderLayer(D, H, FF, dropout=0.5, activation=nn.GELU(), batch_first=True)
    t = torch.nn.TransformerDecoderLayer(D, H, FF, dropout=0.5, activation=torch.nn.GELU(), batch_first=True)
    assert list(g.state_dict()) == list(t.state_dict())
    tgt, memory = gs.tensor(_x(rng, N, T, D)), gs.tensor(_x(rng, N, S, D))
    a, b = g(tgt, memory).detach().numpy(), g(tgt, memory).detach().numpy()
    assert not np.allclose(a, b)  # dropout active while training
    g.eval()
    np.testing.assert_array_equal(g(tgt, memory).detach().numpy(), g(tgt, memory).detach().numpy())


@pytest.mark.parametrize("name", ["dropout", "dropout1", "dropout2", "dropout3"])
@pytest.mark.parametrize("norm_first", [False, True], ids=["post_norm", "pre_norm"])
def test_decoder_layer_dropout_placement(name, norm_first, torch, rng):
    """One dropout at p=1 (deterministic: it zeroes its branch) in train mode: each sits where torch's does."""
    g, t = _pair(torch, "TransformerDecoderLayer", (D, H, FF), dict(norm_first=norm_first), "train")
    getattr(g, name).p = getattr(t, name).p = 1.0
    assert [n for n, _ in g.named_modules()] == [n for n, _ in t.named_modules()]
    check_module(g, t, [_x(rng, T, N, D), _x(rng, S, N, D)], torch=torch, copy=False, **TOL)


# ------------------------------------------------------------------ decoder stack
@pytest.mark.parametrize("mode", list(MODES))
@pytest.mark.parametrize("norm_first,batch_first", [(False, False), (True, True)])
def test_decoder_stack(norm_first, batch_first, mode, torch, rng):
    kwargs = dict(dropout=MODES[mode]["dropout"], norm_first=norm_first, batch_first=batch_first)
    torch.manual_seed(0)
    t = torch.nn.TransformerDecoder(torch.nn.TransformerDecoderLayer(D, H, FF, **kwargs), 2,
                                    norm=torch.nn.LayerNorm(D))
    with torch.no_grad():
        for p in t.parameters():  # the two layers (clones in torch) and the norm differ
            p.add_(0.2 * torch.randn(p.shape))
    g = nn.TransformerDecoder(nn.TransformerDecoderLayer(D, H, FF, **kwargs), 2, norm=nn.LayerNorm(D))
    assert list(g.state_dict()) == list(t.state_dict())
    assert "layers.1.multihead_attn.in_proj_weight" in g.state_dict() and "norm.weight" in g.state_dict()
    assert g.layers[0].linear1.weight is not g.layers[1].linear1.weight
    g.load_state_dict({k: v.detach().numpy() for k, v in t.state_dict().items()})
    t.train(mode == "train")
    g.train(mode == "train")
    tgt, memory = (_x(rng, N, T, D), _x(rng, N, S, D)) if batch_first else (_x(rng, T, N, D), _x(rng, S, N, D))
    tgt_kpm, mem_kpm = _masks(True)

    def run(m, tgt_in, mem_in):
        lib = _lib(m, torch)
        mask = lib.nn.Transformer.generate_square_subsequent_mask(T)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            # tgt_is_causal=None: torch detects the causal mask; gradstep applies it
            return m(tgt_in, mem_in, tgt_mask=mask, tgt_key_padding_mask=lib.tensor(tgt_kpm),
                     memory_key_padding_mask=lib.tensor(mem_kpm))

    check_module(g, t, [tgt, memory], torch=torch, call=run, copy=False, **TOL)


# ------------------------------------------------------------------ full transformer
@pytest.mark.parametrize("layers,kwargs,layout", [
    ((1, 1), dict(), "seq_first"),
    ((2, 2), dict(batch_first=True, activation="gelu"), "batch_first"),
    ((1, 2), dict(batch_first=True, norm_first=True), "batch_first"),
    ((2, 1), dict(norm_first=True, bias=False), "unbatched"),
], ids=str)
@pytest.mark.parametrize("mode", list(MODES))
def test_transformer(layers, kwargs, layout, mode, torch, rng):
    g, t = _pair(torch, "Transformer", (D, H, *layers, FF), kwargs, mode)
    src, tgt = _seq(rng, layout, S), _seq(rng, layout, T)
    tgt_kpm, mem_kpm = _masks(layout != "unbatched")
    src_mask = np.zeros((S, S), dtype=bool)
    src_mask[0, -1] = True

    def run(m, src_in, tgt_in):
        lib = _lib(m, torch)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return m(src_in, tgt_in, src_mask=lib.tensor(src_mask), src_key_padding_mask=lib.tensor(mem_kpm),
                     tgt_mask=lib.nn.Transformer.generate_square_subsequent_mask(T),
                     tgt_key_padding_mask=lib.tensor(tgt_kpm), memory_key_padding_mask=lib.tensor(mem_kpm))

    check_module(g, t, [src, tgt], torch=torch, call=run, copy=False, **TOL)
    assert (g.d_model, g.nhead, g.batch_first) == (t.d_model, t.nhead, t.batch_first)


def test_transformer_state_dict_names(torch):
    g, t = nn.Transformer(D, H, 2, 2, FF), torch.nn.Transformer(D, H, 2, 2, FF)
    names = list(g.state_dict())
    assert names == list(t.state_dict())
    for key in ("encoder.layers.1.self_attn.in_proj_weight", "encoder.norm.weight", "decoder.layers.1.norm3.bias",
                "decoder.layers.0.multihead_attn.out_proj.weight", "decoder.norm.bias"):
        assert key in names
    assert [n for n, _ in g.named_parameters()] == [n for n, _ in t.named_parameters()]
    g.load_state_dict({k: v.detach().numpy() for k, v in t.state_dict().items()})  # strict


def test_transformer_custom_encoder_decoder(torch, rng):
    encoder = nn.TransformerEncoder(nn.TransformerEncoderLayer(D, H, FF, dropout=0.0), 1)
    decoder = nn.TransformerDecoder(nn.TransformerDecoderLayer(D, H, FF, dropout=0.0), 1)
    g = nn.Transformer(D, H, custom_encoder=encoder, custom_decoder=decoder)
    assert g.encoder is encoder and g.decoder is decoder
    assert list(g.state_dict()) == list(torch.nn.Transformer(
        D, H, custom_encoder=torch.nn.TransformerEncoder(torch.nn.TransformerEncoderLayer(D, H, FF), 1,
                                                         enable_nested_tensor=False),
        custom_decoder=torch.nn.TransformerDecoder(torch.nn.TransformerDecoderLayer(D, H, FF), 1)).state_dict())
    src, tgt = gs.tensor(_x(rng, S, N, D)), gs.tensor(_x(rng, T, N, D))
    out = g(src, tgt)
    np.testing.assert_allclose(out.detach().numpy(), decoder(tgt, encoder(src)).detach().numpy(), rtol=1e-6)


def test_transformer_xavier_init():
    """Every parameter with dim > 1 is xavier_uniform_ (independently per layer); the rest keep their init."""
    gs.manual_seed(0)
    g = nn.Transformer(16, 2, 2, 2, 32)
    for name, p in g.named_parameters():
        a = p.detach().numpy()
        if p.ndim > 1:
            fan_out, fan_in = a.shape
            bound = math.sqrt(6.0 / (fan_in + fan_out))
            assert np.abs(a).max() <= bound + 1e-6, name
            # Linear's default bound is 1/sqrt(fan_in): 0.25 here; xavier's is larger for these shapes
            assert np.abs(a).max() > 0.9 * bound, name
        elif name.endswith("in_proj_bias") or name.endswith("out_proj.bias") or ".norm" in name and "bias" in name:
            assert not np.any(a), name
        elif "norm" in name:
            np.testing.assert_array_equal(a, 1.0, err_msg=name)
        else:  # linear1/linear2 biases: Linear's U(-1/sqrt(fan_in), 1/sqrt(fan_in))
            assert 0 < np.abs(a).max() <= 1 / math.sqrt(16 if "linear1" in name else 32), name
        assert p.dtype == np.float32
    assert not np.array_equal(g.encoder.layers[0].linear1.weight.detach().numpy(), g.encoder.layers[1].linear1.weight.detach().numpy())
    assert not np.array_equal(g.decoder.layers[0].self_attn.out_proj.weight.detach().numpy(),
                              g.decoder.layers[1].self_attn.out_proj.weight.detach().numpy())
    # a lone decoder layer keeps Linear's init (only Transformer re-initialises)
    layer = nn.TransformerDecoderLayer(16, 2, 32)
    assert np.abs(layer.linear1.weight.detach().numpy()).max() <= 0.25


def test_generate_square_subsequent_mask(torch):
    for sz in (0, 1, 4):
        got = nn.Transformer.generate_square_subsequent_mask(sz)
        want = torch.nn.Transformer.generate_square_subsequent_mask(sz)
        assert got.dtype == np.float32 and isinstance(got, gs.Tensor)
        np.testing.assert_array_equal(got.numpy(), want.numpy())
    assert nn.Transformer.generate_square_subsequent_mask(3, dtype=gs.float64).dtype == np.float64
    # reachable from an instance too, as a staticmethod
    assert nn.Transformer(D, H, 1, 1, FF).generate_square_subsequent_mask(2).shape == (2, 2)
    with pytest.raises(errors.InvalidArgument, match="generate_square_subsequent_mask: sz must be a non-negative"):
        nn.Transformer.generate_square_subsequent_mask(-1)
    with pytest.raises(errors.DTypeError, match="expected a floating point dtype"):
        nn.Transformer.generate_square_subsequent_mask(3, dtype=gs.int64)


# ------------------------------------------------------------------ errors
def test_constructor_errors():
    with pytest.raises(errors.InvalidArgument, match=r"TransformerDecoderLayer: d_model \(10\) must be divisible "
                                                     r"by nhead \(3\)"):
        nn.TransformerDecoderLayer(10, 3)
    with pytest.raises(ValueError, match=r"Transformer: d_model \(10\) must be divisible by nhead \(4\)"):
        nn.Transformer(10, 4)
    with pytest.raises(errors.InvalidArgument, match="TransformerDecoderLayer: activation should be relu/gelu, "
                                                     "not tanhh"):
        nn.TransformerDecoderLayer(8, 2, activation="tanhh")
    with pytest.raises(errors.InvalidArgument, match="Transformer: activation should be relu/gelu, not swish"):
        nn.Transformer(8, 2, activation="swish")
    with pytest.raises(errors.ArgumentTypeError, match="TransformerDecoderLayer: nhead must be an int"):
        nn.TransformerDecoderLayer(8, 2.0)
    with pytest.raises(errors.InvalidArgument, match="TransformerDecoder: num_layers must be a non-negative int"):
        nn.TransformerDecoder(nn.TransformerDecoderLayer(8, 2), -1)


def test_decoder_shape_errors():
    m = nn.TransformerDecoderLayer(8, 2, 16)  # (T, N, E)
    tgt, memory = gs.zeros(4, 2, 8), gs.zeros(3, 2, 8)
    with pytest.raises(errors.ShapeError, match=r"TransformerDecoderLayer\(d_model=8\) expected memory \(S, N, 8\) "
                                                r"like tgt \(4, 2, 8\), got \(3, 2, 6\)"):
        m(tgt, gs.zeros(3, 2, 6))
    with pytest.raises(ValueError, match=r"expected tgt \(T, N, 8\) like tgt \(4, 2, 6\), got \(4, 2, 6\)"):
        m(gs.zeros(4, 2, 6), memory)
    with pytest.raises(errors.ShapeError, match=r"expected memory \(S, N, 8\) like tgt \(4, 2, 8\), got \(3, 8\)"):
        m(tgt, gs.zeros(3, 8))
    with pytest.raises(errors.ShapeError, match=r"the batch size of tgt and memory must be equal, got tgt "
                                                r"\(4, 2, 8\) and memory \(3, 5, 8\)"):
        m(tgt, gs.zeros(3, 5, 8))
    with pytest.raises(errors.ShapeError, match=r"tgt should be unbatched 2D or batched 3D, got shape \(8,\)"):
        m(gs.zeros(8), memory)
    with pytest.raises(TypeError, match="TransformerDecoderLayer: memory must be a Tensor, got list"):
        m(tgt, [[0.0] * 8])
    with pytest.raises(errors.ShapeError, match=r"tgt_mask should be \(T, T\) = \(4, 4\) or \(N\*nhead, T, T\) = "
                                                r"\(4, 4, 4\), got \(3, 3\)"):
        m(tgt, memory, tgt_mask=nn.Transformer.generate_square_subsequent_mask(3))
    with pytest.raises(errors.ShapeError, match=r"memory_mask should be \(T, S\) = \(4, 3\) or \(N\*nhead, T, S\) = "
                                                r"\(4, 4, 3\), got \(3, 4\)"):
        m(tgt, memory, memory_mask=gs.zeros(3, 4, dtype=gs.bool))
    with pytest.raises(errors.ShapeError, match=r"tgt_key_padding_mask should be \(N, T\) = \(2, 4\), got \(4, 2\)"):
        m(tgt, memory, tgt_key_padding_mask=gs.zeros(4, 2, dtype=gs.bool))
    with pytest.raises(errors.ShapeError, match=r"memory_key_padding_mask should be \(N, S\) = \(2, 3\), "
                                                r"got \(2, 4\)"):
        m(tgt, memory, memory_key_padding_mask=gs.zeros(2, 4, dtype=gs.bool))
    # unbatched: (T, T) or (nhead, T, T) masks, (T,) / (S,) key padding masks
    with pytest.raises(errors.ShapeError, match=r"memory_key_padding_mask should be \(S\) = \(3,\), got \(1, 3\)"):
        m(gs.zeros(4, 8), gs.zeros(3, 8), memory_key_padding_mask=gs.zeros(1, 3, dtype=gs.bool))
    with pytest.raises(errors.ShapeError, match=r"\(nhead, T, T\) = \(2, 4, 4\), got \(4, 4, 4\)"):
        m(gs.zeros(4, 8), gs.zeros(3, 8), tgt_mask=gs.zeros(4, 4, 4))
    m(gs.zeros(4, 8), gs.zeros(3, 8), tgt_mask=gs.zeros(2, 4, 4), memory_key_padding_mask=gs.zeros(3, dtype=gs.bool))
    # the stack checks through its layers
    stack = nn.TransformerDecoder(nn.TransformerDecoderLayer(8, 2, 16, batch_first=True), 2)
    with pytest.raises(errors.ShapeError, match=r"expected memory \(N, S, 8\) like tgt \(2, 4, 8\), got \(2, 3, 4\)"):
        stack(gs.zeros(2, 4, 8), gs.zeros(2, 3, 4))


def test_transformer_shape_errors():
    m = nn.Transformer(8, 2, 1, 1, 16, batch_first=True)
    src, tgt = gs.zeros(2, 5, 8), gs.zeros(2, 4, 8)
    with pytest.raises(errors.ShapeError, match=r"Transformer\(d_model=8\) expected tgt \(N, T, 8\) like src "
                                                r"\(2, 5, 8\), got \(2, 4, 6\)"):
        m(src, gs.zeros(2, 4, 6))
    with pytest.raises(errors.ShapeError, match=r"Transformer: the batch size of src and tgt must be equal, got "
                                                r"src \(2, 5, 8\) and tgt \(3, 4, 8\)"):
        m(src, gs.zeros(3, 4, 8))
    with pytest.raises(errors.ShapeError, match=r"Transformer: src_mask should be \(S, S\) = \(5, 5\)"):
        m(src, tgt, src_mask=gs.zeros(4, 4))
    with pytest.raises(errors.ShapeError, match=r"Transformer: src_key_padding_mask should be \(N, S\) = \(2, 5\)"):
        m(src, tgt, src_key_padding_mask=gs.zeros(2, 4, dtype=gs.bool))
    with pytest.raises(errors.ShapeError, match=r"TransformerDecoderLayer: memory_key_padding_mask should be "
                                                r"\(N, S\) = \(2, 5\), got \(2, 4\)"):
        m(src, tgt, memory_key_padding_mask=gs.zeros(2, 4, dtype=gs.bool))
