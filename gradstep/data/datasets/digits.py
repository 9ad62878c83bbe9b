"""The UCI 8x8 handwritten digits, shipped with gradstep (no network needed).

1,797 images of the digits 0-9 by 43 writers, 8x8 pixels with values 0..16
(E. Alpaydin, C. Kaynak; UCI Machine Learning Repository; CC BY 4.0: see
``files/DIGITS_LICENSE.txt``). Stored as ``files/digits.npz`` (uint8 images
and labels, ~45 KB).
"""
from __future__ import annotations

from pathlib import Path

import numpy

from ..dataset import TensorDataset
from ...errors import InvalidArgument

__all__ = ["digits", "DIGITS_FILE"]

DIGITS_FILE = Path(__file__).parent / "files" / "digits.npz"
_cache: tuple | None = None


def _load() -> tuple[numpy.ndarray, numpy.ndarray]:
    global _cache
    if _cache is None:
        with numpy.load(DIGITS_FILE, allow_pickle=False) as f:
            _cache = f["images"], f["labels"]
    return _cache


def split_indices(labels: numpy.ndarray, test_fraction: float, seed: int) -> tuple[numpy.ndarray, numpy.ndarray]:
    """A stratified split: ``round(test_fraction * count)`` of each class to test, chosen by ``seed``.

    Both index arrays are sorted, so the samples keep the file's order.
    """
    rng = numpy.random.default_rng(seed)
    test = []
    for c in numpy.unique(labels):
        members = numpy.flatnonzero(labels == c)
        k = int(round(test_fraction * members.size))
        test.append(rng.permutation(members)[:k])
    test_idx = numpy.sort(numpy.concatenate(test))
    train_idx = numpy.setdiff1d(numpy.arange(labels.size), test_idx)
    return train_idx, test_idx


def digits(split: str = "train", test_fraction: float = 0.2, seed: int = 0, flatten: bool = True,
           transform=None, target_transform=None) -> TensorDataset:
    """The bundled 8x8 digits as a TensorDataset of float32 pixels in [0, 1] and int64 labels.

    Args:
        split: ``"train"``, ``"test"`` or ``"all"``.
        test_fraction: share of each class held out for ``"test"``.
        seed: which stratified split; the default gives the same train/test
            sets on every machine and run (1,438 / 359 samples).
        flatten: ``(64,)`` vectors (for an MLP) or ``(1, 8, 8)`` images (for a CNN).
        transform, target_transform: as for :class:`~gradstep.data.TensorDataset`.

    The dataset has ``classes`` (``"0"``..``"9"``), ``num_classes`` (10) and
    ``input_shape`` (``(64,)`` or ``(1, 8, 8)``).
    """
    if split not in ("train", "test", "all"):
        raise InvalidArgument(f"digits: split must be 'train', 'test' or 'all', got {split!r}")
    if not isinstance(test_fraction, (int, float)) or not 0.0 < test_fraction < 1.0:
        raise InvalidArgument(f"digits: test_fraction must be between 0 and 1 (exclusive), got {test_fraction!r}")
    images, labels = _load()
    if split == "all":
        idx = numpy.arange(labels.size)
    else:
        train_idx, test_idx = split_indices(labels, float(test_fraction), seed)
        idx = train_idx if split == "train" else test_idx
    x = images[idx].astype(numpy.float32)
    x /= numpy.float32(16)
    x = x.reshape(-1, 64) if flatten else x.reshape(-1, 1, 8, 8)
    ds = TensorDataset(x, labels[idx].astype(numpy.int64), transform=transform, target_transform=target_transform)
    ds.name = "digits"
    ds.classes = [str(i) for i in range(10)]
    ds.num_classes = 10
    ds.input_shape = (64,) if flatten else (1, 8, 8)
    return ds
