"""pad (constant, reflect, replicate, circular; negative pads) against PyTorch and finite differences."""
import numpy as np
import pytest

import gradstep as gs
from tests.oracle import check


def _pad(lib_pad, pads, **kw):
    return lambda x: lib_pad(x, pads, **kw)


CONSTANT = [
    ((3, 4), (1, 2)),
    ((3, 4), (1, 2, 0, 3)),
    ((2, 3, 4), (1, 1, 1, 1, 2, 0)),
    ((5,), (2, 0)),
    ((2, 3, 4), (0, 0)),
    ((3, 4), (-1, 2)),
    ((3, 4), (-1, -2, 1, -1)),
    ((0, 3), (1, 1, 2, 0)),
    ((2, 3), (-3, 0)),
]


@pytest.mark.parametrize("shape,pads", CONSTANT, ids=str)
@pytest.mark.parametrize("value", [None, 1.5])
def test_pad_constant(shape, pads, value, torch, rng):
    x = rng.standard_normal(shape).astype(np.float32)
    F = torch.nn.functional
    check(_pad(gs.pad, pads, value=value), _pad(F.pad, pads, value=value), [x], torch=torch)


def test_pad_constant_int_tensor(torch):
    x = np.arange(6).reshape(2, 3)
    got = gs.pad(gs.tensor(x), (1, 1), value=7)
    want = torch.nn.functional.pad(torch.tensor(x), (1, 1), value=7)
    assert got.dtype == gs.int64
    np.testing.assert_array_equal(got.numpy(), want.numpy())


INDEXED = [
    ((2, 5), (2, 1)),
    ((2, 3, 5), (1, 3)),
    ((2, 3, 4, 5), (1, 2, 2, 1)),
    ((3, 4, 5), (2, 2, 1, 3)),
    ((1, 2, 3, 4, 5), (1, 1, 2, 0, 1, 2)),
    ((2, 3, 4, 3), (0, 2, 1, 1, 1, 0)),
    ((2, 3, 5), (-1, 2)),
]


@pytest.mark.parametrize("shape,pads", INDEXED, ids=str)
@pytest.mark.parametrize("mode", ["reflect", "replicate", "circular"])
def test_pad_modes(shape, pads, mode, torch, rng):
    x = rng.standard_normal(shape).astype(np.float32)
    F = torch.nn.functional
    check(_pad(gs.pad, pads, mode=mode), _pad(F.pad, pads, mode=mode), [x], torch=torch)


def test_pad_circular_full_wrap(torch, rng):
    x = rng.standard_normal((2, 4)).astype(np.float32)
    F = torch.nn.functional
    check(_pad(gs.pad, (4, 3), mode="circular"), _pad(F.pad, (4, 3), mode="circular"), [x], torch=torch)


def test_pad_returns_new_tensor():
    x = gs.randn(2, 3)
    y = gs.pad(x, (0, 0))
    assert y is not x
    np.testing.assert_array_equal(y.numpy(), x.numpy())


def test_pad_errors():
    x = gs.randn(1, 3, 4)
    with pytest.raises(ValueError, match=r"pad: the padding must have an even length.*\(1,\)"):
        gs.pad(x, (1,))
    with pytest.raises(gs.ShapeError, match=r"covers 4 dims but the input of shape \(1, 3, 4\) has only 3"):
        gs.pad(x, (1,) * 8)
    with pytest.raises(ValueError, match="mode must be one of.*got 'foo'"):
        gs.pad(x, (1, 1), mode="foo")
    with pytest.raises(gs.ShapeError, match=r"reflect padding must be smaller.*\(4, 0\) for dimension 2 of size 4"):
        gs.pad(x, (4, 0), mode="reflect")
    with pytest.raises(gs.ShapeError, match=r"circular padding can wrap around at most once.*\(5, 0\)"):
        gs.pad(x, (5, 0), mode="circular")
    with pytest.raises(gs.ShapeError, match=r"mode 'reflect' pads the last 1, 2 or 3 dims.*\(1, 1\).*\(12,\)"):
        gs.pad(gs.randn(12), (1, 1), mode="reflect")
    with pytest.raises(gs.ShapeError, match=r"dimension 2 of size 4.*\(-3, -2\).*negative size -1"):
        gs.pad(x, (-3, -2))
