"""Image transforms: values against straightforward loops, seeding, batch vs single image."""
import numpy as np
import pytest

import gradstep as gs
from gradstep.data import transforms as T
from gradstep.errors import DTypeError, ShapeError


def _imgs(n=5, c=2, h=6, w=7):
    return np.random.default_rng(0).random((n, c, h, w), dtype=np.float32)


def test_to_tensor_layouts():
    hw = np.arange(12, dtype=np.uint8).reshape(3, 4)
    out = T.ToTensor()(hw)
    assert isinstance(out, gs.Tensor) and out.shape == (1, 3, 4) and out.dtype == np.float32
    assert np.allclose(out.numpy()[0], hw / 255)
    hwc = np.random.default_rng(0).integers(0, 256, (5, 4, 3), dtype=np.uint8)
    out = T.ToTensor()(hwc).numpy()
    assert out.shape == (3, 5, 4) and np.allclose(out, hwc.transpose(2, 0, 1) / 255) and out.max() <= 1.0
    nhwc = np.stack([hwc, hwc])
    assert T.ToTensor()(nhwc).shape == (2, 3, 5, 4)
    with pytest.raises(DTypeError, match="uint8 or floating"):
        T.ToTensor()(np.zeros((3, 3), np.int32))


def test_normalize_per_channel():
    x = _imgs()
    out = T.Normalize([0.5, 0.2], [0.25, 2.0])(x)
    assert out.dtype == np.float32 and out.shape == x.shape
    assert np.allclose(out[:, 0], (x[:, 0] - 0.5) / 0.25, atol=1e-6)
    assert np.allclose(out[:, 1], (x[:, 1] - 0.2) / 2.0, atol=1e-6)
    single = T.Normalize([0.5, 0.2], [0.25, 2.0])(gs.tensor(x[0]))
    assert isinstance(single, gs.Tensor) and np.allclose(single.numpy(), out[0])
    with pytest.raises(ShapeError, match="3 channel means"):
        T.Normalize([0, 0, 0], [1, 1, 1])(x)
    with pytest.raises(ValueError, match="std must be positive"):
        T.Normalize([0], [0])


def test_random_crop_matches_loop_and_is_seeded():
    x = _imgs()
    crop = T.RandomCrop((4, 5), padding=2, generator=np.random.default_rng(1))
    out = crop(x)
    assert out.shape == (5, 2, 4, 5) and out.dtype == np.float32
    rng = np.random.default_rng(1)
    padded = np.pad(x, ((0, 0), (0, 0), (2, 2), (2, 2)))
    oy, ox = rng.integers(0, 10 - 4 + 1, 5), rng.integers(0, 11 - 5 + 1, 5)
    for i in range(5):
        assert np.array_equal(out[i], padded[i, :, oy[i]:oy[i] + 4, ox[i]:ox[i] + 5])
    # a single image: same as a batch of one
    one = T.RandomCrop(3, generator=np.random.default_rng(2))(x[0])
    assert one.shape == (2, 3, 3)
    # default randomness follows gradstep.manual_seed
    gs.manual_seed(4)
    a = T.RandomCrop(3, padding=1)(x)
    gs.manual_seed(4)
    assert np.array_equal(a, T.RandomCrop(3, padding=1)(x))
    with pytest.raises(ShapeError, match="larger than the"):
        T.RandomCrop(9)(x)


def test_random_crop_padding_modes():
    x = np.arange(9, dtype=np.float32).reshape(1, 1, 3, 3)
    out = T.RandomCrop(5, padding=1, padding_mode="edge")(x)
    assert np.array_equal(out[0, 0], np.pad(x[0, 0], 1, mode="edge"))
    out = T.RandomCrop(5, padding=1, fill=-1)(x)
    assert out[0, 0, 0, 0] == -1


def test_random_shift_moves_content_and_fills():
    x = np.zeros((200, 1, 5, 5), np.float32)
    x[:, 0, 2, 2] = 1.0
    out = T.RandomShift(2, generator=np.random.default_rng(0))(x)
    assert out.shape == x.shape
    pos = np.argwhere(out[:, 0] == 1.0)
    assert len(pos) == 200  # the single bright pixel stays inside with |shift| <= 2
    dy, dx = pos[:, 1] - 2, pos[:, 2] - 2
    assert dy.min() == -2 and dy.max() == 2 and dx.min() == -2 and dx.max() == 2
    assert out.sum() == 200


def test_flips():
    x = _imgs(n=400, c=1, h=2, w=3)
    out = T.RandomHorizontalFlip(0.5, generator=np.random.default_rng(0))(x)
    flipped = np.all(out == x[..., ::-1], axis=(1, 2, 3))
    kept = np.all(out == x, axis=(1, 2, 3))
    assert np.all(flipped | kept) and 150 < flipped.sum() < 250
    assert np.array_equal(T.RandomHorizontalFlip(1.0)(x), x[..., ::-1])
    assert np.array_equal(T.RandomVerticalFlip(1.0)(x), x[..., ::-1, :])
    assert np.array_equal(T.RandomHorizontalFlip(0.0)(x), x)
    with pytest.raises(ValueError, match=r"p must be in \[0, 1\]"):
        T.RandomHorizontalFlip(2)


def test_compose_and_repr():
    tf = T.Compose([T.RandomCrop(4, padding=1), T.RandomHorizontalFlip(), T.Normalize([0.5], [0.5])])
    out = tf(_imgs(c=1))
    assert out.shape == (5, 1, 4, 4)
    assert "RandomCrop" in repr(tf) and "Normalize" in repr(tf)
    with pytest.raises(ShapeError, match=r"got shape \(3,\)"):
        T.RandomHorizontalFlip()(np.zeros(3))
