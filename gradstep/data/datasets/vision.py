"""MNIST, Fashion-MNIST and CIFAR-10: downloaded once, verified, parsed without pickle.

Files live in ``root`` (default ``<cache>/<name>``, the cache being
``$GRADSTEP_DATA`` or ``~/.cache/gradstep``). Missing files are downloaded from
the canonical mirrors when ``download=True`` and kept only if their SHA-256
matches the published one; ``download=False`` (or no network) with missing
files gives a one-line error saying where to put them.

CIFAR-10 is read from the dataset's *binary* distribution
(``cifar-10-binary.tar.gz``: fixed 3073-byte records), not the "python"
one, whose batches are pickles: unpickling executes whatever code the file
contains, and gradstep never unpickles files it is given. Both versions hold
the same images and labels.
"""
from __future__ import annotations

import os
import tarfile
from pathlib import Path

import numpy

from ..dataset import TensorDataset
from ..transforms import Compose
from . import _download as _dl
from ._download import DatasetNotFoundError, cache_dir
from .formats import read_cifar_binary, read_idx
from ...errors import InvalidArgument
from ...interop.safetensors import create_temp

__all__ = ["mnist", "fashion_mnist", "cifar10"]

# Published SHA-256 checksums of the canonical files (the same values are
# listed by TensorFlow Datasets, Fashion-MNIST users and others; the MD5s
# published by the authors/torchvision agree with the same files).
MNIST_SHA256 = {
    "train-images-idx3-ubyte.gz": "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
    "train-labels-idx1-ubyte.gz": "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
    "t10k-images-idx3-ubyte.gz": "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
    "t10k-labels-idx1-ubyte.gz": "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
}
MNIST_MIRRORS = [
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
    "http://yann.lecun.com/exdb/mnist/",
]
FASHION_SHA256 = {
    "train-images-idx3-ubyte.gz": "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84",
    "train-labels-idx1-ubyte.gz": "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845",
    "t10k-images-idx3-ubyte.gz": "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073",
    "t10k-labels-idx1-ubyte.gz": "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5",
}
FASHION_MIRRORS = [
    "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
    "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/",
]
CIFAR10_ARCHIVE = "cifar-10-binary.tar.gz"
CIFAR10_SHA256 = "c4a38c50a1bc5f3a1c5537f2155ab9d68f9f25eb1ed8d9ddda3db29a59bca1dd"
CIFAR10_URLS = ["https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz"]
CIFAR10_DIR = "cifar-10-batches-bin"
CIFAR10_CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
FASHION_CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag",
                   "Ankle boot"]

_IDX_FILES = {"train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
              "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")}


class _UnitFloat:
    """uint8 pixels -> float32 in [0, 1] (optionally flattened), applied per batch so the
    dataset keeps its images as uint8 (4x less memory than float32)."""

    def __init__(self, flatten: bool):
        self.flatten = flatten

    def __call__(self, x):
        out = x.astype(numpy.float32)
        out /= numpy.float32(255)
        return out.reshape(out.shape[:-3] + (-1,)) if self.flatten else out

    def __repr__(self) -> str:
        return f"ToUnitFloat(flatten={self.flatten})"


def _check_split(split, who: str) -> str:
    if split not in ("train", "test"):
        raise InvalidArgument(f"{who}: split must be 'train' or 'test', got {split!r}")
    return split


def _image_dataset(images, labels, classes, flatten, transform, target_transform, name):
    tf = _UnitFloat(flatten)
    ds = TensorDataset(images, labels, transform=tf if transform is None else Compose([tf, transform]),
                       target_transform=target_transform)
    ds.name = name
    ds.classes = list(classes)
    ds.num_classes = len(classes)
    c, h, w = images.shape[1:]
    ds.input_shape = (c * h * w,) if flatten else (c, h, w)
    return ds


def expected_files(who: str) -> str:
    """What a ``root`` folder of dataset ``who`` must hold, in words (for error messages)."""
    if who == "cifar10":
        return (f"{CIFAR10_ARCHIVE}, or its unpacked {CIFAR10_DIR}/ folder (data_batch_1.bin ... data_batch_5.bin "
                f"and test_batch.bin)")
    names = [n for pair in _IDX_FILES.values() for n in pair]
    return ", ".join(names[:-1]) + f" and {names[-1]} (gzipped or not)"


def _check_root(root: Path, who: str, download_: bool) -> None:
    """A ``root`` the user gave must be a folder (unless it is to be created for a download)."""
    if root.exists() and not root.is_dir():
        raise InvalidArgument(f"{who}: root {root} is a file, expected a folder with {expected_files(who)}")
    if not root.exists() and not download_:
        raise DatasetNotFoundError(f"{who}: the folder {root} does not exist; expected a folder with "
                                   f"{expected_files(who)}; pass root=DIR, or allow download=True")


def _find(root: Path, name: str):
    """``name`` in ``root``, gzipped or already unpacked (``name`` without .gz)."""
    for candidate in (root / name, root / name.removesuffix(".gz")):
        if candidate.is_file():
            return candidate
    return None


def _idx_dataset(who, split, root, download_, verify_, flatten, transform, target_transform, sha, mirrors, classes):
    split = _check_split(split, who)
    root = Path(root).expanduser() if root is not None else cache_dir() / who
    _check_root(root, who, download_)
    arrays = []
    for name in _IDX_FILES[split]:
        path = _find(root, name)
        if path is None:
            if not download_:
                raise DatasetNotFoundError(
                    f"{who}: {name} is not in {root}; put the {who} files there (gzipped or not), pass root=DIR, "
                    f"or allow download=True")
            path = _dl.download([m + name for m in mirrors], root / name, sha.get(name), who)
        elif verify_ and path.name == name:
            _dl.verify(path, sha.get(name), who)
        arrays.append(read_idx(path))
    images, labels = arrays
    if images.ndim != 3 or labels.ndim != 1 or images.shape[0] != labels.shape[0] or images.dtype != numpy.uint8:
        raise InvalidArgument(f"{who}: unexpected file contents: images {images.shape} {images.dtype}, labels {labels.shape}")
    return _image_dataset(images[:, None], labels.astype(numpy.int64), classes, flatten, transform,
                          target_transform, who)


def mnist(split: str = "train", root=None, download: bool = True, flatten: bool = False,
          transform=None, target_transform=None, verify: bool = False) -> TensorDataset:
    """The MNIST handwritten digits (LeCun, Cortes, Burges; CC BY-SA 3.0): 60,000 train / 10,000 test.

    Args:
        split: ``"train"`` or ``"test"``.
        root: folder with (or for) the four IDX files, gzipped or not
            (default ``<cache>/mnist``).
        download: fetch missing files from the canonical mirrors (SHA-256 checked).
        flatten: give ``(784,)`` vectors instead of ``(1, 28, 28)`` images.
        transform: applied after scaling, to a sample or a whole batch (float32 in [0, 1]).
        target_transform: applied to the int64 labels.
        verify: also check the SHA-256 of files already on disk.

    Returns a TensorDataset (images kept as uint8, scaled per batch) with
    ``classes``, ``num_classes`` and ``input_shape``.
    """
    return _idx_dataset("mnist", split, root, download, verify, flatten, transform, target_transform,
                        MNIST_SHA256, MNIST_MIRRORS, [str(i) for i in range(10)])


def fashion_mnist(split: str = "train", root=None, download: bool = True, flatten: bool = False,
                  transform=None, target_transform=None, verify: bool = False) -> TensorDataset:
    """Fashion-MNIST (Zalando Research, MIT licence): 28x28 clothing images in 10 classes,
    in MNIST's IDX format. Arguments as :func:`mnist` (default root ``<cache>/fashion_mnist``)."""
    return _idx_dataset("fashion_mnist", split, root, download, verify, flatten, transform, target_transform,
                        FASHION_SHA256, FASHION_MIRRORS, FASHION_CLASSES)


def _extract_cifar(archive: Path, dest: Path, names: list[str], who: str) -> None:
    """Copy the named members of the tarball into ``dest``, by exact name only (no path from the
    archive is ever used as a destination), each through a temp file and rename."""
    dest.mkdir(parents=True, exist_ok=True)
    try:
        with tarfile.open(archive, "r:gz") as tar:
            for name in names:
                try:
                    member = tar.getmember(f"{CIFAR10_DIR}/{name}")
                except KeyError:
                    if name.endswith(".txt"):  # the class names are optional
                        continue
                    raise InvalidArgument(f"{who}: {archive} has no member {CIFAR10_DIR}/{name}; is it the binary "
                                          f"version ({CIFAR10_ARCHIVE})?") from None
                if not member.isfile():
                    raise InvalidArgument(f"{who}: {archive}: {member.name} is not a regular file")
                fd, tmp = create_temp(str(dest), name, ".part", target=str(dest / name))
                try:
                    with os.fdopen(fd, "wb") as out, tar.extractfile(member) as src:
                        for chunk in iter(lambda: src.read(1 << 20), b""):
                            out.write(chunk)
                    os.replace(tmp, dest / name)
                finally:
                    if os.path.exists(tmp):
                        os.unlink(tmp)
    except (tarfile.TarError, EOFError, OSError) as exc:
        raise InvalidArgument(f"{who}: cannot read {archive} ({exc}); delete it and download it again") from None


def cifar10(split: str = "train", root=None, download: bool = True, transform=None,
            target_transform=None, verify: bool = False) -> TensorDataset:
    """CIFAR-10 (Krizhevsky, 2009): 32x32 colour images in 10 classes, 50,000 train / 10,000 test.

    Reads the *binary* distribution (see the module docstring for why not the
    pickled one). ``root`` may hold ``cifar-10-binary.tar.gz``, or the
    ``cifar-10-batches-bin`` folder (or its ``*.bin`` files directly); the batches
    are unpacked from the archive once, beside it. Samples are float32
    ``(3, 32, 32)`` in [0, 1] and int64 labels. Other arguments as :func:`mnist`.
    """
    who = "cifar10"
    split = _check_split(split, who)
    root = Path(root).expanduser() if root is not None else cache_dir() / who
    _check_root(root, who, download)
    names = [f"data_batch_{i}.bin" for i in range(1, 6)] if split == "train" else ["test_batch.bin"]
    folder = root / CIFAR10_DIR
    if not all((folder / n).is_file() for n in names) and all((root / n).is_file() for n in names):
        folder = root  # the user pointed root at the unpacked batches themselves
    if not all((folder / n).is_file() for n in names):
        archive = root / CIFAR10_ARCHIVE
        if not archive.is_file():
            if not download:
                raise DatasetNotFoundError(
                    f"{who}: neither {CIFAR10_DIR}/ nor {CIFAR10_ARCHIVE} is in {root}; put one of them there, "
                    f"pass root=DIR, or allow download=True")
            _dl.download(CIFAR10_URLS, archive, CIFAR10_SHA256, who)
        elif verify:
            _dl.verify(archive, CIFAR10_SHA256, who)
        every = [f"data_batch_{i}.bin" for i in range(1, 6)] + ["test_batch.bin", "batches.meta.txt"]
        _extract_cifar(archive, folder, every, who)  # both splits at once: the archive is read only once
    images, labels = read_cifar_binary([folder / n for n in names])
    classes = CIFAR10_CLASSES
    meta = folder / "batches.meta.txt"
    if meta.is_file():
        listed = meta.read_text(errors="replace").split()
        if len(listed) == 10:
            classes = listed
    return _image_dataset(images, labels, classes, False, transform, target_transform, who)
