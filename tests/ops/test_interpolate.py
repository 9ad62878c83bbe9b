"""interpolate against PyTorch (values, gradients, float64 gradcheck), the nearest modes' source pixels
over many sizes, the Upsample modules, and the errors."""
import numpy as np
import pytest

import gradstep as gs
from gradstep import nn
from gradstep.errors import ArgumentTypeError, DTypeError, GradstepError, InvalidArgument, NotSupported, ShapeError
from gradstep.nn import functional as F
from tests.nn._parity import check_module
from tests.oracle import check

SHAPES = {1: (2, 3, 7), 2: (2, 2, 5, 6), 3: (1, 2, 3, 4, 5)}  # (N, C, *spatial) per number of spatial dims

# How to resize: up and down by size (int, per-dim tuple), by integer, non-integer and per-dim scale factors,
# and with the scale recomputed from the output size.
RESIZE = {
    1: [dict(size=11), dict(size=3), dict(size=(7,)), dict(scale_factor=2), dict(scale_factor=1.7),
        dict(scale_factor=0.6), dict(scale_factor=(2.5,)), dict(scale_factor=1.7, recompute_scale_factor=True),
        dict(scale_factor=0.6, recompute_scale_factor=False)],
    2: [dict(size=8), dict(size=(3, 4)), dict(size=(9, 4)), dict(scale_factor=2), dict(scale_factor=1.7),
        dict(scale_factor=0.6), dict(scale_factor=(1.7, 0.6)), dict(scale_factor=(3, 1)),
        dict(scale_factor=1.7, recompute_scale_factor=True), dict(scale_factor=0.6, recompute_scale_factor=True)],
    3: [dict(size=(4, 2, 7)), dict(scale_factor=2), dict(scale_factor=(1.7, 0.6, 1.3)),
        dict(scale_factor=0.6, recompute_scale_factor=True)],
}
FLOAT64_RESIZE = {1: [dict(size=3), dict(scale_factor=1.7)], 2: [dict(size=(3, 4)), dict(scale_factor=1.7)],
                  3: [dict(scale_factor=(1.7, 0.6, 1.3))]}
ALIGN = {"nearest": [None], "nearest-exact": [None], "area": [None], "linear": [False, True],
         "bilinear": [False, True], "bicubic": [False, True], "trilinear": [False, True]}
DIMS = {"linear": [1], "bilinear": [2], "bicubic": [2], "trilinear": [3], "nearest": [1, 2, 3],
        "nearest-exact": [1, 2, 3], "area": [1, 2, 3]}

GRID = [(mode, dims, align, kw) for mode in DIMS for dims in DIMS[mode] for align in ALIGN[mode]
        for kw in RESIZE[dims]
        if not (mode == "area" and kw.get("recompute_scale_factor") is False)]  # area always recomputes


def _kwargs(mode, align, kw):
    return dict(kw, mode=mode) if align is None else dict(kw, mode=mode, align_corners=align)


@pytest.mark.parametrize("mode,dims,align,kw", GRID, ids=str)
def test_interpolate_matches_torch(mode, dims, align, kw, torch, rng):
    x = rng.standard_normal(SHAPES[dims]).astype(np.float32)
    kwargs = _kwargs(mode, align, kw)
    out = check(lambda t: F.interpolate(t, **kwargs), lambda t: torch.nn.functional.interpolate(t, **kwargs), [x],
                torch=torch)
    assert out.dtype == gs.float32


@pytest.mark.parametrize("mode,dims,align,kw", [g for g in GRID if g[3] in FLOAT64_RESIZE[g[1]]], ids=str)
def test_interpolate_float64_matches_torch(mode, dims, align, kw, torch, rng):
    x = rng.standard_normal(SHAPES[dims])
    kwargs = _kwargs(mode, align, kw)
    out = check(lambda t: F.interpolate(t, **kwargs), lambda t: torch.nn.functional.interpolate(t, **kwargs), [x],
                torch=torch, gradcheck=False)
    assert out.dtype == gs.float64


def test_bilinear_known_values():
    """torch's documented example: 2x2 -> 4x4, corners aligned or not."""
    x = gs.arange(1, 5, dtype=gs.float32).reshape(1, 1, 2, 2)
    np.testing.assert_allclose(F.interpolate(x, scale_factor=2, mode="bilinear").numpy()[0, 0], [
        [1.0, 1.25, 1.75, 2.0], [1.5, 1.75, 2.25, 2.5], [2.5, 2.75, 3.25, 3.5], [3.0, 3.25, 3.75, 4.0]])
    np.testing.assert_allclose(F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=True).numpy()[0, 0], [
        [1.0, 4 / 3, 5 / 3, 2.0], [5 / 3, 2.0, 7 / 3, 8 / 3], [7 / 3, 8 / 3, 3.0, 10 / 3], [3.0, 10 / 3, 11 / 3, 4.0]],
        rtol=1e-6)


@pytest.mark.parametrize("mode", ["nearest", "nearest-exact"])
@pytest.mark.parametrize("dims", [1, 2, 3])
def test_nearest_picks_torchs_source_pixels(mode, dims, torch):
    """The same source pixel as torch for every size pair and scale (float32 and float64): an exact copy."""
    scales = [None, 0.3, 0.6, 0.999, 1.0001, 1.05, 1.3, 1.7, 2.0, 2.1, 3.3, 7 / 3]
    # size pairs where float32 vs float64 positions or the fused multiply-add change a pixel
    hard = [(14, 46), (21, 69), (26, 22), (2, 41), (4, 47)]
    lead = (1, 1) + (1,) * (dims - 1)
    pairs = []
    for dtype in (np.float32, np.float64):
        for n_in in range(1, 14):
            for scale in scales:
                outs = range(1, 30) if scale is None else [int(n_in * scale)]
                for n_out in [o for o in outs if o > 0]:
                    pairs.append((dtype, n_in, n_out, scale))
        pairs += [(dtype, n_in, n_out, None) for n_in, n_out in hard]
    for dtype, n_in, n_out, scale in pairs:
        x = np.arange(n_in, dtype=dtype).reshape(lead + (n_in,))
        if scale is None:
            kw = dict(size=(1,) * (dims - 1) + (n_out,))
        else:
            kw = dict(scale_factor=(1.0,) * (dims - 1) + (scale,))
        got = F.interpolate(gs.tensor(x), mode=mode, **kw).numpy()
        want = torch.nn.functional.interpolate(torch.tensor(x), mode=mode, **kw).numpy()
        np.testing.assert_array_equal(got, want, err_msg=f"{dtype.__name__} {n_in} -> {n_out} {kw}")


@pytest.mark.parametrize("dims", [1, 3])
def test_nearest_gradient_is_the_transpose_of_the_forward(dims, torch, rng):
    """3-d and 5-d inputs: torch's forward picks sources its backward doesn't (size 5 -> 5 with scale 1.05
    reads [0, 0, 1, 2, 3], its backward sends gradients as for a copy). gradstep's gradient is the forward's."""
    shape = SHAPES[dims][:-1] + (5,)
    kw = dict(scale_factor=(1.0,) * (dims - 1) + (1.05,), mode="nearest")
    x = rng.standard_normal(shape).astype(np.float32)
    sources = torch.nn.functional.interpolate(torch.arange(5.0).reshape((1,) * (dims + 1) + (5,)), **kw)
    sources = sources.reshape(-1).long()
    assert sources.tolist() == [0, 0, 1, 2, 3]
    check(lambda t: F.interpolate(t, **kw), lambda t: t.index_select(-1, sources), [x], torch=torch)


@pytest.mark.parametrize("mode", ["nearest", "nearest-exact"])
def test_nearest_keeps_integer_dtypes(mode, torch, rng):
    x = rng.integers(0, 255, (2, 3, 4, 5)).astype(np.uint8)
    got = F.interpolate(gs.tensor(x), scale_factor=1.7, mode=mode)
    want = torch.nn.functional.interpolate(torch.tensor(x), scale_factor=1.7, mode=mode)
    assert got.dtype == gs.uint8
    np.testing.assert_array_equal(got.numpy(), want.numpy())
    # other integer dtypes (torch takes only uint8): the same pixels
    ints = F.interpolate(gs.tensor(x.astype(np.int64)), scale_factor=1.7, mode=mode)
    assert ints.dtype == gs.int64
    np.testing.assert_array_equal(ints.numpy(), want.numpy())


@pytest.mark.parametrize("mode,align", [("nearest", None), ("bilinear", False), ("bicubic", True), ("area", None)])
def test_non_contiguous_input(mode, align, torch, rng):
    """A channels-last layout (as convolutions leave) and a transposed view give the same result."""
    x = rng.standard_normal((2, 4, 5, 3)).astype(np.float32)
    kwargs = _kwargs(mode, align, dict(scale_factor=1.7))
    check(lambda t: F.interpolate(t.permute(0, 3, 1, 2), **kwargs),
          lambda t: torch.nn.functional.interpolate(t.permute(0, 3, 1, 2), **kwargs), [x], torch=torch)


def test_empty_batch_and_tensor_arguments(torch):
    out = F.interpolate(gs.zeros(0, 2, 4, 4), scale_factor=2, mode="bilinear")
    assert out.shape == (0, 2, 8, 8)
    x = gs.arange(8, dtype=gs.float32).reshape(1, 2, 4)
    np.testing.assert_array_equal(F.interpolate(x, size=gs.tensor(6)).numpy(),
                                  torch.nn.functional.interpolate(torch.arange(8.0).reshape(1, 2, 4), size=6).numpy())
    assert F.interpolate(x, scale_factor=gs.tensor(1.5), mode="linear").shape == (1, 2, 6)


def test_equal_size_is_a_copy():
    x = gs.randn(1, 2, 4, 4, requires_grad=True)
    for mode in ("nearest", "bilinear", "area"):
        y = F.interpolate(x, size=4, mode=mode)
        np.testing.assert_array_equal(y.detach().numpy(), x.detach().numpy())
        assert not np.shares_memory(y.detach().numpy(), x.detach().numpy())
        y.sum().backward()
        np.testing.assert_array_equal(x.grad.numpy(), np.ones((1, 2, 4, 4), np.float32))
        x.grad = None


# ------------------------------------------------------------------ modules
MODULES = [
    ("Upsample", dict(scale_factor=2), (2, 3, 4, 5)),
    ("Upsample", dict(scale_factor=1.7, mode="nearest-exact"), (2, 3, 4, 5)),
    ("Upsample", dict(size=(7, 3), mode="bilinear"), (2, 3, 4, 5)),
    ("Upsample", dict(scale_factor=(2, 0.6), mode="bilinear", align_corners=True), (2, 3, 4, 5)),
    ("Upsample", dict(scale_factor=2.5, mode="linear", recompute_scale_factor=True), (2, 3, 6)),
    ("Upsample", dict(size=4, mode="trilinear"), (1, 2, 3, 4, 5)),
    ("Upsample", dict(scale_factor=1.7, mode="bicubic"), (1, 2, 4, 5)),
    ("UpsamplingNearest2d", dict(scale_factor=2), (2, 3, 4, 5)),
    ("UpsamplingNearest2d", dict(size=(5, 9)), (2, 3, 4, 5)),
    ("UpsamplingBilinear2d", dict(scale_factor=2), (2, 3, 4, 5)),
    ("UpsamplingBilinear2d", dict(size=(3, 8)), (2, 3, 4, 5)),
]


@pytest.mark.parametrize("name,kwargs,shape", MODULES, ids=str)
def test_module_matches_torch(name, kwargs, shape, torch, rng):
    g, t = getattr(nn, name)(**kwargs), getattr(torch.nn, name)(**kwargs)
    check_module(g, t, [rng.standard_normal(shape).astype(np.float32)], torch=torch)
    assert repr(g) == repr(t)
    for attr in ("size", "scale_factor", "mode", "align_corners", "recompute_scale_factor", "name"):
        assert getattr(g, attr) == getattr(t, attr), attr
    assert list(g.state_dict()) == [] and list(g.parameters()) == []


def test_module_in_a_model(torch, rng):
    """A decoder step: upsample then convolve, weights shared with torch."""
    g = nn.Sequential(nn.Upsample(scale_factor=2, mode="bilinear"), nn.Conv2d(3, 2, 3, padding=1))
    t = torch.nn.Sequential(torch.nn.Upsample(scale_factor=2, mode="bilinear"), torch.nn.Conv2d(3, 2, 3, padding=1))
    check_module(g, t, [rng.standard_normal((2, 3, 4, 4)).astype(np.float32)], torch=torch)


# ------------------------------------------------------------------- errors
ERRORS = [
    ("neither", lambda x: F.interpolate(x), InvalidArgument, "either size or scale_factor"),
    ("both", lambda x: F.interpolate(x, size=4, scale_factor=2), InvalidArgument, "only one of size"),
    ("align-nearest", lambda x: F.interpolate(x, size=4, align_corners=True), InvalidArgument, "align_corners"),
    ("align-area", lambda x: F.interpolate(x, size=4, mode="area", align_corners=False), InvalidArgument,
     "align_corners"),
    ("linear-4d", lambda x: F.interpolate(x, size=4, mode="linear"), ShapeError, "3-d (N, C, L)"),
    ("bilinear-3d", lambda x: F.interpolate(x[0], size=4, mode="bilinear"), ShapeError, "4-d (N, C, H, W)"),
    ("trilinear-4d", lambda x: F.interpolate(x, size=4, mode="trilinear"), ShapeError, "5-d"),
    ("2d-input", lambda x: F.interpolate(x[0, 0], size=4), ShapeError, "got (3, 5)"),
    ("size-zero", lambda x: F.interpolate(x, size=0), InvalidArgument, "size must be > 0"),
    ("size-negative", lambda x: F.interpolate(x, size=(3, -1)), InvalidArgument, "size must be > 0"),
    ("size-float", lambda x: F.interpolate(x, size=3.0), ArgumentTypeError, "size must be an int"),
    ("size-length", lambda x: F.interpolate(x, size=(3, 4, 5)), ShapeError, "2 spatial dim"),
    ("scale-length", lambda x: F.interpolate(x, scale_factor=(2,)), ShapeError, "scale_factor"),
    ("scale-zero", lambda x: F.interpolate(x, scale_factor=0), InvalidArgument, "positive"),
    ("scale-str", lambda x: F.interpolate(x, scale_factor="2"), ArgumentTypeError, "scale_factor"),
    ("scale-too-small", lambda x: F.interpolate(x, scale_factor=0.1), ShapeError, "output sizes (0, 0)"),
    ("recompute-size", lambda x: F.interpolate(x, size=4, recompute_scale_factor=True), InvalidArgument,
     "recompute_scale_factor"),
    ("unknown-mode", lambda x: F.interpolate(x, size=4, mode="cubic"), InvalidArgument, "'nearest-exact'"),
    ("lanczos", lambda x: F.interpolate(x, size=4, mode="lanczos"), NotSupported, "'bicubic'"),
    ("antialias", lambda x: F.interpolate(x, size=4, mode="bilinear", antialias=True), NotSupported, "antialias"),
    ("int-bilinear", lambda x: F.interpolate(x.long(), size=4, mode="bilinear"), DTypeError, "floating point"),
    ("int-area", lambda x: F.interpolate(x.int(), size=4, mode="area"), DTypeError, "int32"),
    ("bool-nearest", lambda x: F.interpolate(x > 0, size=4), DTypeError, "bool"),
    ("empty-spatial", lambda x: F.interpolate(x[:, :, :0], size=4), ShapeError, "spatial sizes are > 0"),
    ("module-ndim", lambda x: nn.UpsamplingBilinear2d(scale_factor=2)(x[0]), ShapeError, "bilinear"),
]


@pytest.mark.parametrize("case,fn,exc,needle", ERRORS, ids=[e[0] for e in ERRORS])
def test_errors(case, fn, exc, needle):
    with pytest.raises(exc, match="interpolate") as info:
        fn(gs.randn(2, 2, 3, 5))
    assert isinstance(info.value, GradstepError)
    assert needle in str(info.value), str(info.value)
