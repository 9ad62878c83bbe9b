"""The tiny PNG/PGM/PPM readers used by ``gradstep predict``, checked against Pillow and hand-made files."""
import struct
import zlib

import numpy as np
import pytest

from gradstep.cli.images import read_image, to_model_input


def _paeth(a, b, c):
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    return a if pa <= pb and pa <= pc else (b if pb <= pc else c)


def _encode_png(img: np.ndarray, color: int, filters) -> bytes:
    """PNG bytes of uint8 ``img`` (H, W, C) with the given filter type per row."""
    h, w, ch = img.shape
    prev = np.zeros(w * ch, np.int32)
    raw = b""
    for y in range(h):
        cur = img[y].reshape(-1).astype(np.int32)
        f = filters[y % len(filters)]
        out = np.zeros_like(cur)
        for x in range(cur.size):
            left = cur[x - ch] if x >= ch else 0
            up = prev[x]
            upleft = prev[x - ch] if x >= ch else 0
            pred = [0, left, up, (left + up) >> 1, _paeth(left, up, upleft)][f]
            out[x] = (cur[x] - pred) & 0xFF
        raw += bytes([f]) + out.astype(np.uint8).tobytes()
        prev = cur

    def chunk(kind, body):
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, color, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


@pytest.mark.parametrize("color, ch", [(0, 1), (2, 3), (4, 2), (6, 4)])
def test_png_every_filter_and_colour_type(tmp_path, color, ch):
    img = np.random.default_rng(color).integers(0, 256, (7, 5, ch), dtype=np.uint8)
    path = tmp_path / "x.png"
    path.write_bytes(_encode_png(img, color, filters=[0, 1, 2, 3, 4]))
    got = read_image(path)
    f = img.astype(np.float32) / 255
    if ch in (2, 4):
        f = f[..., :-1] * f[..., -1:] + (1 - f[..., -1:])
    expected = f[..., 0] if f.shape[-1] == 1 else f
    np.testing.assert_allclose(got, expected, atol=1e-6)


def test_png_written_by_pillow(tmp_path):
    from PIL import Image

    rng = np.random.default_rng(0)
    grey = rng.integers(0, 256, (20, 30), dtype=np.uint8)
    rgb = rng.integers(0, 256, (12, 9, 3), dtype=np.uint8)
    Image.fromarray(grey).save(tmp_path / "g.png")
    Image.fromarray(rgb).save(tmp_path / "c.png")
    Image.fromarray(rgb).convert("P").save(tmp_path / "p.png")
    np.testing.assert_allclose(read_image(tmp_path / "g.png"), grey / 255, atol=1e-6)
    np.testing.assert_allclose(read_image(tmp_path / "c.png"), rgb / 255, atol=1e-6)
    pal = np.asarray(Image.open(tmp_path / "p.png").convert("RGB"))
    np.testing.assert_allclose(read_image(tmp_path / "p.png"), pal / 255, atol=1e-6)


def test_pgm_and_ppm(tmp_path):
    (tmp_path / "a.pgm").write_bytes(b"P2\n# comment\n3 2\n10\n0 5 10\n10 5 0\n")
    np.testing.assert_allclose(read_image(tmp_path / "a.pgm"), [[0, 0.5, 1], [1, 0.5, 0]])
    rgb = np.arange(2 * 2 * 3, dtype=np.uint8).reshape(2, 2, 3)
    (tmp_path / "b.ppm").write_bytes(b"P6 2 2 255\n" + rgb.tobytes())
    np.testing.assert_allclose(read_image(tmp_path / "b.ppm"), rgb / 255)
    (tmp_path / "c.pgm").write_bytes(b"P5 4 4 255\n" + b"\x00" * 3)
    with pytest.raises(ValueError, match="truncated image data"):
        read_image(tmp_path / "c.pgm")


def test_unsupported_and_broken_pngs(tmp_path):
    good = _encode_png(np.zeros((2, 2, 1), np.uint8), 0, [0])
    (tmp_path / "t.png").write_bytes(good[:30])
    with pytest.raises(ValueError, match="truncated or invalid PNG"):
        read_image(tmp_path / "t.png")
    sixteen = good.replace(struct.pack(">IIBB", 2, 2, 8, 0), struct.pack(">IIBB", 2, 2, 16, 0))
    (tmp_path / "s.png").write_bytes(sixteen)
    with pytest.raises(ValueError, match="only 8-bit non-interlaced PNGs"):
        read_image(tmp_path / "s.png")


def test_to_model_input_resizes_inverts_and_fits_channels():
    img = np.ones((32, 32), np.float32)
    img[8:24, 12:20] = 0.0  # a dark stroke on white
    x = to_model_input(img, (64,))
    assert x.shape == (64,) and x.dtype == np.float32
    assert x.reshape(8, 8)[3, 3] == 1.0 and x.reshape(8, 8)[0, 0] == 0.0  # inverted: stroke bright
    assert to_model_input(np.zeros((28, 28, 3), np.float32), (1, 28, 28)).shape == (1, 28, 28)
    assert to_model_input(np.zeros((32, 32), np.float32), (3, 32, 32)).shape == (3, 32, 32)
    assert to_model_input(np.zeros((10, 10), np.float32), (1, 8, 8)).shape == (1, 8, 8)
    with pytest.raises(ValueError, match="cannot map an image"):
        to_model_input(img, (10,))
