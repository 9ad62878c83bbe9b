"""Dataset, TensorDataset, Subset, ConcatDataset, random_split, collate."""
from collections import namedtuple

import numpy as np
import pytest

import gradstep as gs
from gradstep.data import ConcatDataset, Subset, TensorDataset, default_collate, is_batchable, random_split
from gradstep.errors import ShapeError


def _ds(n=10):
    return TensorDataset(np.arange(n * 2, dtype=np.float32).reshape(n, 2), np.arange(n))


def test_tensor_dataset_items_and_batches():
    ds = TensorDataset(gs.arange(12).reshape(6, 2).float(), np.arange(6))
    assert len(ds) == 6
    x, y = ds[2]
    assert isinstance(x, gs.Tensor) and x.tolist() == [4.0, 5.0] and y.item() == 2 and y.shape == ()
    xb, yb = ds.get_batch(np.array([5, 0, 3]))
    assert xb.shape == (3, 2) and xb.dtype == np.float32 and yb.tolist() == [5, 0, 3]
    assert ds[-1][1].item() == 5
    assert is_batchable(ds)


def test_tensor_dataset_python_data_defaults():
    ds = TensorDataset([[0.5, 1.5], [2.5, 3.5]], [1, 0])
    assert ds.arrays[0].dtype == np.float32 and ds.arrays[1].dtype == np.int64


def test_tensor_dataset_length_mismatch():
    with pytest.raises(ShapeError, match=r"same length.*\(3, 2\), \(4,\)"):
        TensorDataset(np.zeros((3, 2)), np.zeros(4))
    with pytest.raises(ValueError, match="at least one"):
        TensorDataset()


def test_tensor_dataset_index_errors():
    ds = _ds(4)
    with pytest.raises(IndexError, match="out of range for a dataset of 4"):
        ds[4]
    with pytest.raises(TypeError, match="get_batch"):
        ds[[0, 1]]


def test_tensor_dataset_transform_applies_to_sample_and_batch():
    ds = TensorDataset(np.ones((4, 3), np.float32), np.arange(4), transform=lambda x: x * 2,
                       target_transform=lambda y: y + 10)
    x, y = ds[1]
    assert x.tolist() == [2.0] * 3 and y.item() == 11
    xb, yb = ds.get_batch(np.array([0, 1]))
    assert xb.tolist() == [[2.0] * 3] * 2 and yb.tolist() == [10, 11]


def test_subset_and_metadata_passthrough():
    ds = _ds(10)
    ds.classes = ["a", "b"]
    sub = Subset(ds, [7, 2, 9])
    assert len(sub) == 3 and sub[0][1].item() == 7
    assert sub.get_batch(np.array([2, 0]))[1].tolist() == [9, 7]
    assert sub.classes == ["a", "b"] and is_batchable(sub)
    with pytest.raises(IndexError):
        Subset(ds, [10])


def test_concat_dataset_items_and_batches():
    a, b = _ds(3), TensorDataset(np.full((2, 2), -1.0, np.float32), np.array([100, 101]))
    cat = a + b
    assert isinstance(cat, ConcatDataset) and len(cat) == 5
    assert cat[3][1].item() == 100 and cat[-1][1].item() == 101 and cat[0][1].item() == 0
    xb, yb = cat.get_batch(np.array([4, 0, 3, 2]))
    assert yb.tolist() == [101, 0, 100, 2]
    assert xb.tolist()[0] == [-1.0, -1.0] and xb.dtype == np.float32
    with pytest.raises(IndexError):
        cat[5]


def test_random_split_lengths_and_fractions():
    ds = _ds(10)
    a, b = random_split(ds, [7, 3], generator=np.random.default_rng(0))
    ia, ib = set(a.indices.tolist()), set(b.indices.tolist())
    assert len(a) == 7 and len(b) == 3 and not ia & ib and ia | ib == set(range(10))
    parts = random_split(ds, [0.5, 0.3, 0.2], generator=1)
    assert [len(p) for p in parts] == [5, 3, 2]
    # same seed -> same split; the global generator is used by default
    assert random_split(ds, [7, 3], generator=np.random.default_rng(0))[0].indices.tolist() == a.indices.tolist()
    gs.manual_seed(3)
    s1 = random_split(ds, [5, 5])[0].indices.tolist()
    gs.manual_seed(3)
    assert random_split(ds, [5, 5])[0].indices.tolist() == s1


def test_random_split_fraction_sizes_match_torch(torch):
    for n, fr in [(10, [0.33, 0.33, 0.34]), (7, [0.5, 0.5]), (101, [0.8, 0.1, 0.1])]:
        ours = [len(p) for p in random_split(_ds(n), fr, generator=0)]
        theirs = [len(p) for p in torch.utils.data.random_split(range(n), fr)]
        assert ours == theirs


def test_random_split_errors():
    with pytest.raises(ValueError, match="sum to 9 but the dataset has 10"):
        random_split(_ds(10), [5, 4])
    with pytest.raises(ValueError, match="non-negative ints"):
        random_split(_ds(10), [0.5, 0.2])


def test_default_collate_structures():
    Pair = namedtuple("Pair", "x y")
    batch = [{"img": np.zeros((2, 2), np.float32), "label": 1, "w": 0.5, "name": "a", "p": Pair(1, True)},
             {"img": np.ones((2, 2), np.float32), "label": 2, "w": 1, "name": "b", "p": Pair(2, False)}]
    out = default_collate(batch)
    assert out["img"].shape == (2, 2, 2) and out["img"].dtype == np.float32
    assert out["label"].dtype == np.int64 and out["label"].tolist() == [1, 2]
    assert out["w"].dtype == np.float32 and out["w"].tolist() == [0.5, 1.0]  # mixed int/float -> float32
    assert out["name"] == ["a", "b"]
    assert isinstance(out["p"], Pair) and out["p"].y.dtype == np.bool_
    tup = default_collate([(gs.tensor([1.0, 2.0]), np.int64(3)), (gs.tensor([3.0, 4.0]), np.int64(4))])
    assert isinstance(tup, tuple) and tup[0].shape == (2, 2) and tup[1].dtype == np.int64
    lst = default_collate([[1, 2.0], [3, 4.0]])
    assert isinstance(lst, list) and lst[0].dtype == np.int64 and lst[1].dtype == np.float32


def test_default_collate_errors():
    with pytest.raises(ShapeError, match=r"samples\[0\] have different shapes \(2,\) and \(3,\)"):
        default_collate([(np.zeros(2), 1), (np.zeros(3), 2)])
    with pytest.raises(TypeError, match="don't know how to batch samples of type object"):
        default_collate([object(), object()])
