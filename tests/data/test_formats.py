"""IDX and CIFAR-10 binary parsers, download + SHA-256 verification, on files the tests write."""
import gzip
import hashlib
import io
import struct
import tarfile
from pathlib import Path

import numpy as np
import pytest

from gradstep.data import DataLoader
from gradstep.data import datasets
from gradstep.data.datasets import vision
from gradstep.data.datasets._download import ChecksumError, DatasetNotFoundError, download

SHARED_MNIST = [Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "mnist", Path("/work/shared/data/mnist")]


def _idx_bytes(array, code):
    """An IDX file written by hand (independently of gradstep's write_idx)."""
    header = bytes([0, 0, code, array.ndim]) + b"".join(struct.pack(">I", s) for s in array.shape)
    return header + array.astype(array.dtype.newbyteorder(">")).tobytes()


def _write_mnist(folder, n=7, gz=True, prefix="train"):
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)
    labels = rng.integers(0, 10, n, dtype=np.uint8)
    folder.mkdir(parents=True, exist_ok=True)
    for name, data in ((f"{prefix}-images-idx3-ubyte", _idx_bytes(images, 0x08)),
                       (f"{prefix}-labels-idx1-ubyte", _idx_bytes(labels, 0x08))):
        if gz:
            (folder / (name + ".gz")).write_bytes(gzip.compress(data))
        else:
            (folder / name).write_bytes(data)
    return images, labels


@pytest.mark.parametrize("code, dtype", [(0x08, np.uint8), (0x09, np.int8), (0x0B, np.int16), (0x0C, np.int32),
                                         (0x0D, np.float32), (0x0E, np.float64)])
def test_read_idx_types(tmp_path, code, dtype):
    a = (np.arange(24).reshape(2, 3, 4) - 5).astype(dtype)
    (tmp_path / "a.idx").write_bytes(_idx_bytes(a, code))
    out = datasets.read_idx(tmp_path / "a.idx")
    assert out.dtype == dtype and np.array_equal(out, a)
    out[0, 0, 0] = 1  # writable
    datasets.write_idx(tmp_path / "b.idx.gz", a)
    assert np.array_equal(datasets.read_idx(tmp_path / "b.idx.gz"), a)


def test_read_idx_errors(tmp_path):
    a = np.zeros((3, 4), np.uint8)
    good = _idx_bytes(a, 0x08)
    (tmp_path / "trunc").write_bytes(good[:-1])
    with pytest.raises(ValueError, match=r"trunc: IDX shape \(3, 4\) needs 12 data bytes, the file has 11"):
        datasets.read_idx(tmp_path / "trunc")
    (tmp_path / "magic").write_bytes(b"\x00\x01\x08\x02" + good[4:])
    with pytest.raises(ValueError, match="not an IDX file"):
        datasets.read_idx(tmp_path / "magic")
    (tmp_path / "bad.gz").write_bytes(gzip.compress(good)[:-10])
    with pytest.raises(ValueError, match="corrupt or truncated gzip"):
        datasets.read_idx(tmp_path / "bad.gz")


@pytest.mark.parametrize("gz", [True, False])
def test_mnist_from_local_files(tmp_path, gz):
    images, labels = _write_mnist(tmp_path, gz=gz)
    ds = datasets.mnist("train", root=tmp_path, download=False)
    assert len(ds) == 7 and ds.input_shape == (1, 28, 28) and ds.num_classes == 10
    x, y = ds[3]
    assert x.shape == (1, 28, 28) and x.dtype == np.float32 and y.item() == labels[3]
    assert np.allclose(x.numpy()[0], images[3] / 255.0)
    xb, yb = next(iter(DataLoader(ds, batch_size=4)))
    assert xb.shape == (4, 1, 28, 28) and xb.dtype == np.float32 and yb.dtype == np.int64
    flat = datasets.fashion_mnist("train", root=tmp_path, download=False, flatten=True)
    assert flat.get_batch(np.array([0, 1]))[0].shape == (2, 784) and flat.classes[0] == "T-shirt/top"


def test_mnist_missing_files_message(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(DatasetNotFoundError, match=r"mnist: t10k-images-idx3-ubyte.gz is not in .*empty; put"):
        datasets.mnist("test", root=tmp_path / "empty", download=False)
    with pytest.raises(FileNotFoundError):  # DatasetNotFoundError is a FileNotFoundError
        datasets.mnist("test", root=tmp_path / "empty", download=False)


def test_image_dataset_root_that_is_missing_or_a_file(tmp_path):
    with pytest.raises(DatasetNotFoundError, match=r"mnist: the folder .*nowhere does not exist; expected a folder "
                                                   r"with train-images-idx3-ubyte.gz, .*t10k-labels-idx1-ubyte.gz"):
        datasets.mnist("test", root=tmp_path / "nowhere", download=False)
    (tmp_path / "f").write_text("x")
    with pytest.raises(ValueError, match=r"cifar10: root .*f is a file, expected a folder with cifar-10-binary"):
        datasets.cifar10("test", root=tmp_path / "f", download=False)


def test_download_verifies_sha256_atomically(tmp_path):
    src = tmp_path / "src.bin"
    src.write_bytes(b"gradstep" * 100)
    good = hashlib.sha256(src.read_bytes()).hexdigest()
    dest = tmp_path / "cache" / "file.bin"
    with pytest.raises(ChecksumError, match=r"did not match its published SHA-256 0{64}.*nothing was saved"):
        download([src.as_uri()], dest, "0" * 64, "test", quiet=True)
    assert not dest.exists() and list(dest.parent.iterdir()) == []  # no partial file left behind
    missing = (tmp_path / "nope.bin").as_uri()
    assert download([missing, src.as_uri()], dest, good, "test", quiet=True) == dest  # falls back to the next mirror
    assert dest.read_bytes() == src.read_bytes()
    with pytest.raises(DatasetNotFoundError, match=r"test: other.bin is not in .* could not be downloaded .*put it in"):
        download([missing], tmp_path / "cache" / "other.bin", good, "test", quiet=True)


def test_mnist_download_path_with_bad_hash(tmp_path, monkeypatch):
    mirror = tmp_path / "mirror"
    _write_mnist(mirror, prefix="t10k")
    monkeypatch.setattr(vision, "MNIST_MIRRORS", [mirror.as_uri() + "/"])
    monkeypatch.setenv("GRADSTEP_DATA", str(tmp_path / "cache"))
    # the real (published) hashes do not match our fake files
    with pytest.raises(ChecksumError, match="t10k-images-idx3-ubyte.gz did not match"):
        datasets.mnist("test", download=True)
    assert not (tmp_path / "cache" / "mnist" / "t10k-images-idx3-ubyte.gz").exists()
    sums = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in mirror.iterdir()}
    monkeypatch.setattr(vision, "MNIST_SHA256", sums)
    ds = datasets.mnist("test")
    assert len(ds) == 7 and (tmp_path / "cache" / "mnist" / "t10k-images-idx3-ubyte.gz").is_file()
    # verify=True re-hashes files already on disk
    (tmp_path / "cache" / "mnist" / "t10k-labels-idx1-ubyte.gz").write_bytes(gzip.compress(b"x"))
    with pytest.raises(ChecksumError, match="has SHA-256"):
        datasets.mnist("test", verify=True)


def _cifar_records(n, seed):
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 10, n, dtype=np.uint8)
    images = rng.integers(0, 256, (n, 3, 32, 32), dtype=np.uint8)
    raw = b"".join(bytes([labels[i]]) + images[i].tobytes() for i in range(n))
    return raw, images, labels


def test_read_cifar_binary(tmp_path):
    raw, images, labels = _cifar_records(4, 0)
    (tmp_path / "b.bin").write_bytes(raw)
    x, y = datasets.read_cifar_binary(tmp_path / "b.bin")
    assert x.shape == (4, 3, 32, 32) and x.dtype == np.uint8 and np.array_equal(x, images)
    assert y.dtype == np.int64 and y.tolist() == labels.tolist()
    (tmp_path / "short.bin").write_bytes(raw[:-1])
    with pytest.raises(ValueError, match="not a positive multiple of the 3073-byte record"):
        datasets.read_cifar_binary(tmp_path / "short.bin")
    (tmp_path / "lab.bin").write_bytes(b"\x0c" + raw[1:])
    with pytest.raises(ValueError, match="label byte 12 > 9"):
        datasets.read_cifar_binary(tmp_path / "lab.bin")


def test_cifar10_from_archive_and_folder(tmp_path):
    buf = io.BytesIO()
    expected = {}
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        members = [f"data_batch_{i}.bin" for i in range(1, 6)] + ["test_batch.bin"]
        for k, name in enumerate(members):
            raw, images, labels = _cifar_records(2, k)
            expected[name] = (images, labels)
            info = tarfile.TarInfo(f"cifar-10-batches-bin/{name}")
            info.size = len(raw)
            tar.addfile(info, io.BytesIO(raw))
        meta = "\n".join(f"class{i}" for i in range(10)).encode()
        info = tarfile.TarInfo("cifar-10-batches-bin/batches.meta.txt")
        info.size = len(meta)
        tar.addfile(info, io.BytesIO(meta))
    (tmp_path / "cifar-10-binary.tar.gz").write_bytes(buf.getvalue())
    train = datasets.cifar10("train", root=tmp_path, download=False)
    assert len(train) == 10 and train.classes[3] == "class3" and train.input_shape == (3, 32, 32)
    x, y = train.get_batch(np.array([2, 3]))
    assert x.shape == (2, 3, 32, 32) and x.dtype == np.float32
    assert np.allclose(x.numpy(), expected["data_batch_2.bin"][0] / 255.0)
    assert y.tolist() == expected["data_batch_2.bin"][1].tolist()
    assert (tmp_path / "cifar-10-batches-bin" / "data_batch_5.bin").is_file()  # unpacked once
    test = datasets.cifar10("test", root=tmp_path / "cifar-10-batches-bin", download=False)  # the folder itself
    assert len(test) == 2 and test[0][1].item() == expected["test_batch.bin"][1][0]
    (tmp_path / "nothing").mkdir()
    with pytest.raises(DatasetNotFoundError, match="cifar10: neither cifar-10-batches-bin/ nor cifar-10-binary.tar.gz"):
        datasets.cifar10("test", root=tmp_path / "nothing", download=False)
    with pytest.raises(DatasetNotFoundError, match="cifar10: the folder .*missing does not exist"):
        datasets.cifar10("test", root=tmp_path / "missing", download=False)


def test_real_mnist_test_set_if_present():
    root = next((p for p in SHARED_MNIST if (p / "t10k-images-idx3-ubyte.gz").is_file()), None)
    if root is None:
        pytest.skip("the MNIST test files are not in ../shared/data/mnist (optional check)")
    ds = datasets.mnist("test", root=root, download=False)
    assert len(ds) == 10000
    assert np.bincount(ds.arrays[1]).tolist() == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
    x = ds.get_batch(np.arange(100))[0].numpy()
    assert x.shape == (100, 1, 28, 28) and 0.0 <= x.min() and x.max() == 1.0
