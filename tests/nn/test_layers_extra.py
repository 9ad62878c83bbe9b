"""Padding, shuffle, fold/unfold, instance norm, adaptive max pool and local response norm layers against
torch: values and gradients (float32, and float64 finite differences), repr, state_dict keys, running
statistics, and errors that name the layer or op."""
import re
import warnings

import numpy as np
import pytest

import gradstep as gs
import gradstep.nn.functional as F
from gradstep import nn
from gradstep.errors import ArgumentTypeError, DTypeError, InvalidArgument, ShapeError
from tests.nn._parity import check_module, copy_to_torch
from tests.oracle import check


def _x(rng, *shape, dtype=np.float32):
    return rng.standard_normal(shape).astype(dtype)


def _pair(torch, name, *args, **kwargs):
    return getattr(nn, name)(*args, **kwargs), getattr(torch.nn, name)(*args, **kwargs)


def _module_check(g, t, arrays, torch, **kw):
    """A parameter-free layer through ``check``: float32 values and gradients vs torch, float64 gradcheck."""
    assert repr(g) == repr(t)
    assert list(g.state_dict()) == list(t.state_dict())
    return check(lambda *xs: g(*xs), lambda *xs: t(*xs), arrays, torch=torch, **kw)


# -------------------------------------------------------------------- padding
PADS = [
    ("ZeroPad1d", (2,), (3, 5)),
    ("ZeroPad1d", ((1, 3),), (5,)),
    ("ZeroPad1d", ((-1, 2),), (2, 2, 3, 5)),
    ("ZeroPad2d", (1,), (2, 3, 4)),
    ("ZeroPad2d", ((1, 0, 2, -1),), (3, 4)),
    ("ZeroPad3d", ((1, 0, 2, 1, 0, 1),), (2, 2, 3, 4)),
    ("ConstantPad1d", (2, 1.5), (2, 3, 5)),
    ("ConstantPad1d", ((0, 3), -2), (5,)),
    ("ConstantPad2d", ((1, 2, 0, 1), 3.5), (2, 2, 3, 4)),
    ("ConstantPad2d", (1, 0.5), (3, 4)),
    ("ConstantPad3d", (1, 2.0), (2, 3, 3, 4)),
    ("ReflectionPad1d", (2,), (2, 3, 5)),
    ("ReflectionPad1d", ((3, 1),), (3, 5)),
    ("ReflectionPad1d", ((-1, 2),), (2, 3, 5)),
    ("ReflectionPad2d", ((1, 2, 0, 3),), (2, 2, 4, 5)),
    ("ReflectionPad2d", (1,), (2, 3, 4)),
    ("ReflectionPad3d", (1,), (1, 2, 3, 3, 4)),
    ("ReplicationPad1d", ((4, 1),), (2, 3, 5)),
    ("ReplicationPad1d", (2,), (3, 2)),
    ("ReplicationPad2d", ((1, 3, 2, 0),), (2, 2, 3, 4)),
    ("ReplicationPad2d", (2,), (2, 3, 4)),
    ("ReplicationPad3d", ((1, 0, 2, 1, 0, 1),), (2, 2, 3, 4)),
    ("CircularPad1d", ((2, 3),), (2, 3, 5)),
    ("CircularPad1d", (1,), (3, 5)),
    ("CircularPad2d", ((1, 2, 3, 0),), (2, 2, 4, 5)),
    ("CircularPad2d", ((-1, 2, 1, 1),), (2, 3, 4)),
    ("CircularPad3d", (1,), (1, 2, 3, 3, 4)),
]


@pytest.mark.parametrize("name,args,shape", PADS, ids=str)
def test_padding_layer_matches_torch(name, args, shape, torch, rng):
    g, t = _pair(torch, name, *args)
    assert g.padding == t.padding
    _module_check(g, t, [_x(rng, *shape)], torch)


def test_padding_layers_keep_int_dtype_and_value(torch):
    x = np.arange(12).reshape(3, 4)
    for name, args in (("ConstantPad2d", (1, 7)), ("ReplicationPad1d", (2,)), ("ReflectionPad1d", ((1, 2),))):
        g, t = _pair(torch, name, *args)
        got, want = g(gs.tensor(x)), t(torch.tensor(x))
        assert got.dtype == gs.int64
        np.testing.assert_array_equal(got.numpy(), want.numpy())
    assert nn.ZeroPad2d([1, 2, 3, 4]).padding == (1, 2, 3, 4)
    assert repr(nn.ConstantPad1d(2, 3)) == repr(torch.nn.ConstantPad1d(2, 3))
    assert repr(nn.ConstantPad1d(2, 3)) == "ConstantPad1d(padding=(2, 2), value=3)"


@pytest.mark.parametrize("name,shape,expect", [
    ("ReflectionPad1d", (5,), "expected 2D or 3D input (got 1D input of shape (5,))"),
    ("ReplicationPad1d", (2, 2, 3, 5), "expected 2D or 3D input (got 4D input"),
    ("CircularPad1d", (2, 2, 3, 5), "expected 2D or 3D input (got 4D input"),
    ("ReflectionPad2d", (3, 5), "expected 3D or 4D input (got 2D input"),
    ("ReplicationPad2d", (1, 2, 2, 3, 5), "expected 3D or 4D input (got 5D input"),
    ("CircularPad2d", (3, 5), "expected 3D or 4D input (got 2D input"),
    ("ZeroPad2d", (5,), "expected an input with at least 2 dims (got 1D input"),
    ("ConstantPad3d", (3, 5), "expected an input with at least 3 dims (got 2D input"),
])
def test_padding_layer_input_rank_errors(name, shape, expect, torch):
    g, t = _pair(torch, name, 1, *((0.5,) if "Constant" in name else ()))
    with pytest.raises(ShapeError, match=re.escape(f"{name}(") + ".*" + re.escape(expect)):
        g(gs.zeros(shape))
    with pytest.raises((ValueError, RuntimeError, NotImplementedError)):  # torch refuses the same input
        t(torch.zeros(shape))


def test_padding_layer_size_errors_name_the_layer(torch):
    x = gs.zeros(2, 3, 5)
    with pytest.raises(ShapeError, match=r"ReflectionPad1d\(\(5, 5\)\): pad: reflect padding must be smaller"):
        nn.ReflectionPad1d(5)(x)
    with pytest.raises(ShapeError, match=r"CircularPad1d\(\(6, 6\)\): pad: circular padding can wrap around"):
        nn.CircularPad1d(6)(x)
    with pytest.raises(ShapeError, match=r"ZeroPad1d\(\(-3, -3\)\): .*negative size"):
        nn.ZeroPad1d(-3)(x)
    for torch_layer in (torch.nn.ReflectionPad1d(5), torch.nn.CircularPad1d(6)):  # torch refuses them too
        with pytest.raises(RuntimeError):
            torch_layer(torch.zeros(2, 3, 5))
    with pytest.raises(ArgumentTypeError, match=re.escape("ZeroPad1d((1, 1)) expected a Tensor input, got list")):
        nn.ZeroPad1d(1)([1.0, 2.0])


def test_padding_layer_constructor_errors():
    with pytest.raises(InvalidArgument, match=r"ReflectionPad1d: padding must be an int or a tuple of 2 ints .* got 3"):
        nn.ReflectionPad1d((1, 2, 3))
    with pytest.raises(InvalidArgument, match=r"ZeroPad2d: padding must be an int or a tuple of 4 ints "
                                              r"\(left, right, top, bottom\)"):
        nn.ZeroPad2d((1, 2))
    with pytest.raises(ArgumentTypeError, match="ZeroPad1d: padding must be an int or a tuple of 2 ints, got 1.5"):
        nn.ZeroPad1d(1.5)
    with pytest.raises(ArgumentTypeError, match="CircularPad2d: padding must be"):
        nn.CircularPad2d(None)
    with pytest.raises(ArgumentTypeError, match="ConstantPad1d: value must be a number, got 'a'"):
        nn.ConstantPad1d(1, "a")


# -------------------------------------------------------------- shuffle layers
@pytest.mark.parametrize("r,shape", [(2, (2, 8, 3, 5)), (3, (9, 2, 4)), (2, (2, 3, 4, 2, 3)), (1, (2, 3, 2, 2))],
                         ids=str)
def test_pixel_shuffle_and_unshuffle(r, shape, torch, rng):
    TF = torch.nn.functional
    x = _x(rng, *shape)
    out = check(lambda a: F.pixel_shuffle(a, r), lambda a: TF.pixel_shuffle(a, r), [x], torch=torch)
    y = out.detach().numpy()
    check(lambda a: F.pixel_unshuffle(a, r), lambda a: TF.pixel_unshuffle(a, r), [y], torch=torch)
    np.testing.assert_array_equal(F.pixel_unshuffle(out, r).detach().numpy(), x)  # inverse of each other
    _module_check(nn.PixelShuffle(r), torch.nn.PixelShuffle(r), [x], torch)
    _module_check(nn.PixelUnshuffle(r), torch.nn.PixelUnshuffle(r), [y], torch)
    assert gs.pixel_shuffle is F.pixel_shuffle and gs.pixel_unshuffle is F.pixel_unshuffle


@pytest.mark.parametrize("groups,shape", [(2, (2, 6, 3, 3)), (3, (4, 6, 5)), (3, (2, 6, 2, 3, 2)), (6, (1, 6, 2)),
                                          (1, (2, 4, 3))], ids=str)
def test_channel_shuffle(groups, shape, torch, rng):
    TF = torch.nn.functional
    x = _x(rng, *shape)
    check(lambda a: F.channel_shuffle(a, groups), lambda a: TF.channel_shuffle(a, groups), [x], torch=torch)
    _module_check(nn.ChannelShuffle(groups), torch.nn.ChannelShuffle(groups), [x], torch)
    assert gs.channel_shuffle is F.channel_shuffle


def test_shuffles_keep_integer_values(torch):
    x = np.arange(2 * 8 * 2 * 2).reshape(2, 8, 2, 2)
    TF = torch.nn.functional
    for fn, arg in (("pixel_shuffle", 2), ("channel_shuffle", 4)):
        got, want = getattr(F, fn)(gs.tensor(x), arg), getattr(TF, fn)(torch.tensor(x), arg)
        assert got.dtype == gs.int64
        np.testing.assert_array_equal(got.numpy(), want.numpy())


def test_shuffle_errors(torch):
    with pytest.raises(ShapeError, match=re.escape("pixel_shuffle: expected input of shape (*, C * r^2, H, W) with at "
                                                   "least 3 dims, got (4, 3)")):
        F.pixel_shuffle(gs.zeros(4, 3), 2)
    with pytest.raises(ShapeError, match=re.escape("PixelShuffle(upscale_factor=2): the channel dim (-3) of input "
                                                   "(2, 6, 3, 5) must be divisible by upscale_factor^2 = 4, got 6")):
        nn.PixelShuffle(2)(gs.zeros(2, 6, 3, 5))
    with pytest.raises(ShapeError, match=re.escape("pixel_unshuffle: the height (dim -2) of input (2, 3, 5, 4) must be "
                                                   "divisible by downscale_factor=2, got 5")):
        F.pixel_unshuffle(gs.zeros(2, 3, 5, 4), 2)
    with pytest.raises(ShapeError, match=re.escape("PixelUnshuffle(downscale_factor=2): the width (dim -1)")):
        nn.PixelUnshuffle(2)(gs.zeros(2, 3, 4, 5))
    with pytest.raises(InvalidArgument, match="pixel_shuffle: upscale_factor must be a positive int, got "
                                              "upscale_factor=0"):
        F.pixel_shuffle(gs.zeros(2, 8, 3, 5), 0)
    with pytest.raises(ArgumentTypeError, match=r"pixel_unshuffle: downscale_factor must be an int, got 2.0 \(float\)"):
        F.pixel_unshuffle(gs.zeros(2, 3, 4, 4), 2.0)
    with pytest.raises(ShapeError, match=re.escape("channel_shuffle: expected input of shape (N, C, *) with more than 2 "
                                                   "dims, got (4, 6)")):
        F.channel_shuffle(gs.zeros(4, 6), 2)
    with pytest.raises(ShapeError, match=re.escape("ChannelShuffle(groups=4): the number of channels of input "
                                                   "(2, 6, 3, 3) must be divisible by groups, got 6 channels and groups=4")):
        nn.ChannelShuffle(4)(gs.zeros(2, 6, 3, 3))
    with pytest.raises(InvalidArgument, match="PixelShuffle: upscale_factor must be an int >= 1, got upscale_factor=0"):
        nn.PixelShuffle(0)
    with pytest.raises(InvalidArgument, match="ChannelShuffle: groups must be an int >= 1"):
        nn.ChannelShuffle(-1)
    with pytest.raises(ArgumentTypeError, match="PixelUnshuffle: downscale_factor must be an int"):
        nn.PixelUnshuffle(1.5)
    for call in (lambda: torch.nn.functional.pixel_shuffle(torch.zeros(2, 6, 3, 5), 2),
                 lambda: torch.nn.functional.channel_shuffle(torch.zeros(4, 6), 2)):
        with pytest.raises(RuntimeError):
            call()


# ------------------------------------------------------------- unfold / fold
WINDOWS = [
    ((2, 3, 5, 6), dict(kernel_size=2)),
    ((2, 3, 5, 6), dict(kernel_size=(2, 3), dilation=(1, 2), padding=(1, 0), stride=(2, 1))),
    ((3, 6, 5), dict(kernel_size=3, padding=1)),
    ((1, 2, 7, 7), dict(kernel_size=3, dilation=2, padding=2, stride=2)),
    ((2, 1, 4, 4), dict(kernel_size=(4, 1), stride=(1, 3))),
    ((0, 2, 4, 4), dict(kernel_size=2)),
]


@pytest.mark.parametrize("shape,kw", WINDOWS, ids=str)
def test_unfold_and_fold(shape, kw, torch, rng):
    TF = torch.nn.functional
    x = _x(rng, *shape)
    cols = check(lambda a: F.unfold(a, **kw), lambda a: TF.unfold(a, **kw), [x], torch=torch)
    c = _x(rng, *cols.shape)
    out_size = shape[-2:]
    out = check(lambda a: F.fold(a, out_size, **kw), lambda a: TF.fold(a, out_size, **kw), [c], torch=torch)
    assert tuple(out.shape) == shape
    _module_check(nn.Unfold(**kw), torch.nn.Unfold(**kw), [x], torch)
    _module_check(nn.Fold(out_size, **kw), torch.nn.Fold(out_size, **kw), [c], torch)


def test_fold_of_unfold_counts_block_overlaps(torch, rng):
    """fold(unfold(x)) multiplies each pixel by how many blocks cover it: x itself for tiling blocks."""
    x = gs.tensor(_x(rng, 2, 3, 4, 6))
    np.testing.assert_allclose(F.fold(F.unfold(x, 2, stride=2), (4, 6), 2, stride=2).numpy(), x.numpy())
    ones = gs.ones(1, 1, 3, 3)
    counts = F.fold(F.unfold(ones, 2), (3, 3), 2)
    np.testing.assert_array_equal(counts.numpy()[0, 0], [[1, 2, 1], [2, 4, 2], [1, 2, 1]])


def test_unfold_matmul_is_a_convolution(torch, rng):
    x, w = _x(rng, 2, 3, 6, 5), _x(rng, 4, 3, 3, 3)
    cols = F.unfold(gs.tensor(x), 3, padding=1)
    out = (gs.tensor(w.reshape(4, -1)) @ cols).reshape(2, 4, 6, 5)
    want = torch.nn.functional.conv2d(torch.tensor(x), torch.tensor(w), padding=1)
    np.testing.assert_allclose(out.numpy(), want.numpy(), rtol=1e-5, atol=1e-5)


def test_fold_unfold_repr_keeps_arguments_as_given(torch):
    for args, kwargs in (((2,), {}), (((2, 3),), dict(dilation=2, padding=1, stride=[1, 2]))):
        assert repr(nn.Unfold(*args, **kwargs)) == repr(torch.nn.Unfold(*args, **kwargs))
    assert repr(nn.Fold((4, 5), 2, stride=(1, 2))) == repr(torch.nn.Fold((4, 5), 2, stride=(1, 2)))
    assert nn.Fold(4, 2).output_size == 4 and nn.Unfold(2).kernel_size == 2


def test_unfold_fold_errors(torch):
    x = gs.zeros(2, 3, 5, 6)
    with pytest.raises(ShapeError, match=re.escape("unfold: expected input of shape (N, C, H, W) or (C, H, W) with "
                                                   "non-zero C, H, W, got (1, 2, 3, 5, 6)")):
        F.unfold(gs.zeros(1, 2, 3, 5, 6), 2)
    with pytest.raises(ShapeError, match=re.escape("Unfold(kernel_size=7, dilation=1, padding=0, stride=1): input of "
                                                   "spatial size (5, 6) with kernel_size=(7, 7)")):
        nn.Unfold(7)(x)
    with pytest.raises(DTypeError, match="unfold: expected a floating point input, got dtype int64"):
        F.unfold(gs.zeros(1, 1, 4, 4, dtype=gs.int64), 2)
    with pytest.raises(ShapeError, match=r"unfold: stride must be >= 1, got 0"):
        F.unfold(x, 2, stride=0)
    with pytest.raises(ShapeError, match=r"Unfold: padding must be >= 0, got -1"):
        nn.Unfold(2, padding=-1)
    with pytest.raises(DTypeError, match=r"Fold: kernel_size must be an int or a tuple of 2 ints, got \(2, 2, 2\)"):
        nn.Fold(4, (2, 2, 2))
    cols = gs.zeros(2, 18, 6)
    with pytest.raises(ShapeError, match=re.escape("fold: output_size=(6, 6) with kernel_size=(2, 3), dilation=(1, 2), "
                                                   "padding=(1, 0), stride=(2, 1) has 4 x 2 = 8 sliding blocks, but the "
                                                   "last dim of input (2, 18, 6) is 6")):
        F.fold(cols, (6, 6), (2, 3), dilation=(1, 2), padding=(1, 0), stride=(2, 1))
    with pytest.raises(ShapeError, match=re.escape("Fold(output_size=5, kernel_size=2, dilation=1, padding=0, stride=1): "
                                                   "dim 1 of input (2, 7, 20) must be divisible by the product of "
                                                   "kernel_size=(2, 2) (4), got 7")):
        nn.Fold(5, 2)(gs.zeros(2, 7, 20))
    with pytest.raises(ShapeError, match=r"fold: expected input of shape \(N, C \* kh \* kw, L\)"):
        F.fold(gs.zeros(1, 2, 18, 6), (5, 6), 2)
    with pytest.raises(RuntimeError):
        torch.nn.functional.fold(torch.zeros(2, 18, 6), (6, 6), (2, 3), dilation=(1, 2), padding=(1, 0), stride=(2, 1))


# ------------------------------------------------------------- instance norm
@pytest.mark.parametrize("shape", [(2, 3, 5), (3, 4, 3, 2), (2, 2, 2, 3, 2), (1, 3, 4)], ids=str)
def test_instance_norm_functional(shape, torch, rng):
    TF = torch.nn.functional
    c = shape[1]
    x, w, b = _x(rng, *shape) * 3 + 1, _x(rng, c), _x(rng, c)
    check(lambda a: F.instance_norm(a), lambda a: TF.instance_norm(a), [x], torch=torch)
    check(lambda a, w_, b_: F.instance_norm(a, weight=w_, bias=b_, eps=1e-3),
          lambda a, w_, b_: TF.instance_norm(a, weight=w_, bias=b_, eps=1e-3), [x, w, b], torch=torch)
    rm, rv = _x(rng, c), np.abs(_x(rng, c)) + 0.5
    check(lambda a, w_: F.instance_norm(a, gs.tensor(rm), gs.tensor(rv), w_, None, use_input_stats=False),
          lambda a, w_: TF.instance_norm(a, torch.tensor(rm), torch.tensor(rv), w_, None, use_input_stats=False),
          [x, w], torch=torch)


def test_instance_norm_updates_running_stats_like_torch(torch, rng):
    x = _x(rng, 4, 3, 5, 2) * 2 + 1
    g_rm, g_rv = gs.zeros(3), gs.ones(3)
    t_rm, t_rv = torch.zeros(3), torch.ones(3)
    for momentum in (0.1, 0.5):
        F.instance_norm(gs.tensor(x), g_rm, g_rv, momentum=momentum)
        torch.nn.functional.instance_norm(torch.tensor(x), t_rm, t_rv, momentum=momentum)
        np.testing.assert_allclose(g_rm.numpy(), t_rm.numpy(), rtol=1e-6, atol=1e-6)
        np.testing.assert_allclose(g_rv.numpy(), t_rv.numpy(), rtol=1e-6, atol=1e-6)
    # float32 buffers, float64 input: updated in place, keeping their dtype
    F.instance_norm(gs.tensor(x.astype(np.float64)), g_rm, g_rv)
    torch.nn.functional.instance_norm(torch.tensor(x.astype(np.float64)), t_rm, t_rv)
    assert g_rm.dtype == gs.float32
    np.testing.assert_allclose(g_rv.numpy(), t_rv.numpy(), rtol=1e-6, atol=1e-6)


INSTANCE = [
    ("InstanceNorm1d", (3,), {}, (2, 3, 5)),
    ("InstanceNorm1d", (3,), {"affine": True}, (2, 3, 5)),
    ("InstanceNorm1d", (3,), {"affine": True}, (3, 6)),  # unbatched
    ("InstanceNorm2d", (4,), {"affine": True, "eps": 1e-3}, (2, 4, 3, 3)),
    ("InstanceNorm2d", (4,), {"affine": True, "bias": False}, (4, 3, 2)),
    ("InstanceNorm2d", (4,), {"track_running_stats": True, "affine": True}, (2, 4, 3, 3)),
    ("InstanceNorm3d", (2,), {"affine": True}, (2, 2, 2, 3, 2)),
]


@pytest.mark.parametrize("name,args,kwargs,shape", INSTANCE, ids=str)
def test_instance_norm_layer_matches_torch(name, args, kwargs, shape, torch, rng):
    g, t = _pair(torch, name, *args, **kwargs)
    assert repr(g) == repr(t)
    if g.weight is not None:  # not the default ones/zeros, so their gradients and use are really checked
        g.weight.data = gs.tensor(_x(rng, *g.weight.shape))
    check_module(g, t, [_x(rng, *shape) * 2 + 0.5], torch=torch)
    g64, t64 = _pair(torch, name, *args, **kwargs)
    g64.double()
    t64.double()
    out = check_module(g64, t64, [_x(rng, *shape, dtype=np.float64)], torch=torch, rtol=1e-10, atol=1e-10)
    assert out[0].dtype == np.float64
    gs.gradcheck(lambda a: g64(a), [gs.tensor(_x(rng, *shape, dtype=np.float64), requires_grad=True)],
                 atol=1e-5, rtol=1e-3)


@pytest.mark.parametrize("momentum", [0.1, 0.3, None])
def test_instance_norm_layer_running_stats_train_then_eval(momentum, torch, rng):
    g, t = _pair(torch, "InstanceNorm2d", 3, momentum=momentum, affine=True, track_running_stats=True)
    assert list(g.state_dict()) == list(t.state_dict()) == [
        "weight", "bias", "running_mean", "running_var", "num_batches_tracked"]
    assert [n for n, _ in g.named_buffers()] == [n for n, _ in t.named_buffers()]
    copy_to_torch(g, t, torch)
    for _ in range(3):
        x = _x(rng, 2, 3, 4, 4) * 2 + 1
        check_module(g, t, [x], torch=torch, copy=False)
    for key in ("running_mean", "running_var", "num_batches_tracked"):
        np.testing.assert_allclose(g.state_dict()[key].numpy(), t.state_dict()[key].numpy(), rtol=1e-5, atol=1e-6)
    assert int(g.num_batches_tracked) == 0  # torch's instance norm doesn't count batches
    g.eval()
    t.eval()
    check_module(g, t, [_x(rng, 2, 3, 4, 4)], torch=torch, copy=False)
    check_module(g, t, [_x(rng, 3, 1, 1)], torch=torch, copy=False)  # one spatial element is fine in eval
    g.reset_running_stats()
    assert g.running_mean.tolist() == [0.0] * 3 and g.running_var.tolist() == [1.0] * 3


def test_instance_norm_layer_state_dict_without_tracking(torch, rng):
    for kwargs in ({}, {"affine": True}, {"affine": True, "bias": False}):
        g, t = _pair(torch, "InstanceNorm1d", 3, **kwargs)
        assert list(g.state_dict()) == list(t.state_dict())
        assert repr(g) == repr(t)
        assert g.running_mean is None and g.num_batches_tracked is None
    g, t = _pair(torch, "InstanceNorm1d", 3, affine=True, track_running_stats=True)
    t.running_mean.copy_(torch.arange(3.0))
    g.load_state_dict({k: gs.tensor(v.numpy()) for k, v in t.state_dict().items()})
    assert g.running_mean.tolist() == [0.0, 1.0, 2.0]


def test_instance_norm_errors(torch, rng):
    with pytest.raises(ShapeError, match=re.escape("InstanceNorm1d(3) expected 2D or 3D input (got 4D input of shape "
                                                   "(2, 3, 5, 4))")):
        nn.InstanceNorm1d(3)(gs.zeros(2, 3, 5, 4))
    with pytest.raises(ShapeError, match=re.escape("InstanceNorm2d(4) expected input's size at dim=1 to match "
                                                   "num_features (4), but got: 3")):
        nn.InstanceNorm2d(4, affine=True)(gs.zeros(2, 3, 5, 4))
    x = _x(rng, 2, 3, 5)
    with pytest.warns(UserWarning, match="input's size at dim=1 does not match num_features"):
        out = nn.InstanceNorm1d(4)(gs.tensor(x))
    np.testing.assert_allclose(out.numpy(), torch.nn.functional.instance_norm(torch.tensor(x)).numpy(), atol=1e-5)
    with pytest.raises(ShapeError, match=re.escape("InstanceNorm1d(3): expected more than 1 spatial element when "
                                                   "training, got input of shape (4, 3, 1)")):
        nn.InstanceNorm1d(3)(gs.zeros(4, 3, 1))
    with pytest.raises(ShapeError, match="instance_norm: expected more than 1 spatial element"):
        F.instance_norm(gs.zeros(4, 3))
    with pytest.raises(InvalidArgument, match="instance_norm: running_mean and running_var must either both be None"):
        F.instance_norm(gs.zeros(2, 3, 5), gs.zeros(3), None)
    with pytest.raises(InvalidArgument, match="instance_norm: running_mean and running_var must be given when "
                                              "use_input_stats is False"):
        F.instance_norm(gs.zeros(2, 3, 5), use_input_stats=False)
    with pytest.raises(ShapeError, match=re.escape("instance_norm: running_mean must have shape (3,) (one value per "
                                                   "channel), got (4,)")):
        F.instance_norm(gs.zeros(2, 3, 5), gs.zeros(4), gs.ones(4))
    with pytest.raises(ShapeError, match=re.escape("instance_norm: weight must have shape (3,)")):
        F.instance_norm(gs.zeros(2, 3, 5), weight=gs.ones(4))
    with pytest.raises(DTypeError, match="instance_norm: expected a floating point input, got dtype int64"):
        F.instance_norm(gs.zeros(2, 3, 5, dtype=gs.int64))
    with pytest.raises(InvalidArgument, match="InstanceNorm2d: num_features must be a non-negative int"):
        nn.InstanceNorm2d(-1)
    with pytest.raises(ValueError):
        torch.nn.InstanceNorm1d(3)(torch.zeros(4, 3, 1))


# -------------------------------------------------------- adaptive max pool
@pytest.mark.parametrize("name,size,shape", [
    ("AdaptiveMaxPool1d", 3, (2, 3, 8)),
    ("AdaptiveMaxPool1d", 4, (3, 7)),
    ("AdaptiveMaxPool2d", (3, 2), (2, 3, 7, 5)),
    ("AdaptiveMaxPool2d", 2, (3, 4, 4)),
    ("AdaptiveMaxPool2d", (3, None), (2, 2, 5, 4)),
    ("AdaptiveMaxPool2d", (5, 6), (1, 2, 3, 4)),  # upsampling: bins repeat
], ids=str)
def test_adaptive_max_pool_layers(name, size, shape, torch, rng):
    x = _x(rng, *shape)
    _module_check(*_pair(torch, name, size), [x], torch)
    g, t = _pair(torch, name, size, return_indices=True)
    assert repr(g) == repr(t)
    (go, gi), (to, ti) = g(gs.tensor(x)), t(torch.tensor(x))
    np.testing.assert_array_equal(gi.numpy(), ti.numpy())
    np.testing.assert_array_equal(go.numpy(), to.numpy())
    check_module(g, t, [x], torch=torch)


def test_adaptive_max_pool_layer_errors():
    with pytest.raises(ShapeError, match=re.escape("adaptive_max_pool2d: expected input of shape (N, C, H, W) or "
                                                   "(C, H, W), got (2, 3, 4, 4, 3)")):
        nn.AdaptiveMaxPool2d(2)(gs.zeros(2, 3, 4, 4, 3))
    with pytest.raises(ShapeError, match=re.escape("adaptive_max_pool1d: expected input of shape (N, C, L) or (C, L)")):
        nn.AdaptiveMaxPool1d(2)(gs.zeros(2, 3, 4, 4))


# ------------------------------------------------------- local response norm
@pytest.mark.parametrize("shape,size,kw", [
    ((2, 5, 4), 3, {}),
    ((2, 6, 3, 4), 2, {"alpha": 1e-2, "beta": 0.5, "k": 2.0}),
    ((2, 4, 2, 3, 2), 5, {"alpha": 0.1}),
    ((1, 3, 4), 10, {"alpha": 0.5, "beta": 1.5}),  # the window is wider than the channels
], ids=str)
def test_local_response_norm(shape, size, kw, torch, rng):
    x = _x(rng, *shape) * 3
    check(lambda a: F.local_response_norm(a, size, **kw),
          lambda a: torch.nn.functional.local_response_norm(a, size, **kw), [x], torch=torch)
    _module_check(nn.LocalResponseNorm(size, **kw), torch.nn.LocalResponseNorm(size, **kw), [x], torch)


def test_local_response_norm_int_input_and_errors(torch):
    x = np.arange(24).reshape(2, 3, 4)
    got, want = F.local_response_norm(gs.tensor(x), 3), torch.nn.functional.local_response_norm(torch.tensor(x), 3)
    assert got.dtype == gs.float32 and want.dtype == torch.float32
    np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-6)
    with pytest.raises(ShapeError, match=re.escape("LocalResponseNorm(2, alpha=0.0001, beta=0.75, k=1.0): expected "
                                                   "input of shape (N, C, *) with 3 or more dims, got (3, 4)")):
        nn.LocalResponseNorm(2)(gs.zeros(3, 4))
    with pytest.raises(InvalidArgument, match="local_response_norm: size must be a positive int, got size=0"):
        F.local_response_norm(gs.zeros(2, 3, 4), 0)
    with pytest.raises(InvalidArgument, match="LocalResponseNorm: size must be an int >= 1"):
        nn.LocalResponseNorm(0)
    with pytest.raises(ValueError):
        torch.nn.functional.local_response_norm(torch.zeros(3, 4), 2)


def test_new_functional_names_resolve():
    for name in ("pixel_shuffle", "pixel_unshuffle", "channel_shuffle", "unfold", "fold", "instance_norm",
                 "local_response_norm", "adaptive_max_pool1d", "adaptive_max_pool2d"):
        assert name in F.__all__ and callable(getattr(F, name))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        nn.InstanceNorm1d(3)(gs.zeros(2, 3, 4))  # no warning when the channels match
