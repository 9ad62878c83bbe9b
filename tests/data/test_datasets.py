"""Bundled digits, generated 2-D problems and the registry."""
import numpy as np
import pytest

from gradstep.data import DataLoader, datasets


def test_digits_counts_shapes_and_range():
    full = datasets.digits("all")
    x, y = full.arrays
    assert len(full) == 1797 and x.shape == (1797, 64) and x.dtype == np.float32 and y.dtype == np.int64
    assert x.min() == 0.0 and x.max() == 1.0
    assert np.bincount(y).tolist() == [178, 182, 177, 183, 181, 182, 181, 179, 174, 180]
    assert full.num_classes == 10 and full.classes == [str(i) for i in range(10)] and full.input_shape == (64,)
    img = datasets.digits("test", flatten=False)
    assert img.arrays[0].shape[1:] == (1, 8, 8) and img.input_shape == (1, 8, 8)
    # values are the original 0..16 counts scaled by 1/16
    assert np.allclose(x * 16, np.round(x * 16))


def test_digits_split_is_stable_stratified_and_disjoint():
    train, test = datasets.digits("train"), datasets.digits("test")
    assert len(train) + len(test) == 1797 and len(test) == 359
    assert np.array_equal(train.arrays[0], datasets.digits("train").arrays[0])
    assert np.bincount(test.arrays[1]).min() >= 34  # every class is in the test set
    rows = {r.tobytes() for r in train.arrays[0]}
    assert sum(r.tobytes() in rows for r in test.arrays[0]) < 5  # (a few digits are pixel-identical)
    # a fixed fingerprint: the same split on every machine
    assert test.arrays[1][:10].tolist() == datasets.digits("test").arrays[1][:10].tolist()
    assert not np.array_equal(datasets.digits("test", seed=1).arrays[1], test.arrays[1])
    assert len(datasets.digits("test", test_fraction=0.5)) > 800


def test_digits_errors():
    with pytest.raises(ValueError, match="split must be 'train', 'test' or 'all'"):
        datasets.digits("val")
    with pytest.raises(ValueError, match="test_fraction must be between 0 and 1"):
        datasets.digits(test_fraction=1.5)


def test_digits_file_is_small_and_licensed():
    from gradstep.data.datasets.digits import DIGITS_FILE

    assert DIGITS_FILE.stat().st_size < 200_000
    lic = (DIGITS_FILE.parent / "DIGITS_LICENSE.txt").read_text()
    assert "CC BY 4.0" in lic and "Alpaydin" in lic and "Kaynak" in lic and "UCI" in lic


@pytest.mark.parametrize("name, classes", [("spirals", 3), ("moons", 2), ("circles", 2), ("xor", 2), ("blobs", 3)])
def test_synthetic_shapes_and_determinism(name, classes):
    make = getattr(datasets, name)
    ds = make(n=101, seed=3)
    x, y = ds.arrays
    assert x.shape == (101, 2) and x.dtype == np.float32 and y.dtype == np.int64 and y.shape == (101,)
    assert set(y.tolist()) == set(range(classes)) and ds.num_classes == classes and ds.input_shape == (2,)
    again = make(n=101, seed=3)
    assert np.array_equal(x, again.arrays[0]) and np.array_equal(y, again.arrays[1])
    assert not np.array_equal(x, make(n=101, seed=4).arrays[0])
    assert np.isfinite(x).all()
    xb, yb = next(iter(DataLoader(ds, batch_size=16)))
    assert xb.shape == (16, 2)


def test_synthetic_problem_structure():
    x, y = datasets.circles(n=400, noise=0.0, factor=0.3).arrays
    r = np.linalg.norm(x, axis=1)
    assert np.allclose(r[y == 0], 1.0, atol=1e-5) and np.allclose(r[y == 1], 0.3, atol=1e-5)
    x, y = datasets.xor(n=400).arrays
    assert np.array_equal(y, ((x[:, 0] > 0) != (x[:, 1] > 0)).astype(np.int64))
    x, y = datasets.spirals(n=300, classes=4).arrays
    assert np.bincount(y).tolist() == [75, 75, 75, 75] and np.abs(x).max() <= 1.5
    x, y = datasets.blobs(n=90, centers=[[0, 0], [50, 50]], std=0.1).arrays
    assert np.allclose(x[y == 1].mean(0), [50, 50], atol=0.1)


def test_synthetic_errors():
    with pytest.raises(ValueError, match="n must be an int >= 1"):
        datasets.moons(n=0)
    with pytest.raises(ValueError, match="noise must be a non-negative number"):
        datasets.spirals(noise=-1)
    with pytest.raises(ValueError, match="classes must be an int >= 2"):
        datasets.spirals(classes=1)


def test_registry():
    names = datasets.available()
    for n in ["digits", "spirals", "moons", "circles", "xor", "blobs", "mnist", "fashion_mnist", "cifar10", "text", "csv"]:
        assert n in names
    assert len(datasets.get("digits", split="test")) == 359
    assert len(datasets.get("Moons", n=10)) == 10
    with pytest.raises(ValueError, match="unknown dataset 'imagenet'; available: blobs, cifar10"):
        datasets.get("imagenet")
    datasets.register("tiny", lambda n=3: datasets.xor(n=n))
    assert len(datasets.get("tiny", n=5)) == 5
    del datasets._REGISTRY["tiny"]


def test_import_is_light():
    import subprocess
    import sys

    code = ("import sys, gradstep.data; bad = [m for m in ('urllib.request', 'tarfile', 'gradstep.data.datasets') "
            "if m in sys.modules]; print(bad)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
