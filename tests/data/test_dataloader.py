"""DataLoader: batching, shuffling, collate, prefetch, resume."""
import numpy as np
import pytest

import gradstep as gs
from gradstep.data import (BatchSampler, DataLoader, Dataset, DistributedSampler, SequentialSampler,
                           TensorDataset, default_collate)
from gradstep.data.transforms import RandomCrop


def _ds(n=10):
    return TensorDataset(np.arange(n * 2, dtype=np.float32).reshape(n, 2), np.arange(n))


class PlainDataset(Dataset):
    """No get_batch: the per-sample path."""

    def __init__(self, n):
        self.n = n

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        return {"x": np.full(3, i, np.float32), "y": i, "w": float(i) / 2}


def _labels(loader):
    return [b[1].tolist() for b in loader]


def test_batching_sizes_and_drop_last():
    ds = _ds(10)
    loader = DataLoader(ds, batch_size=4)
    batches = list(loader)
    assert len(loader) == 3 and [b[0].shape for b in batches] == [(4, 2), (4, 2), (2, 2)]
    assert batches[0][0].dtype == np.float32 and batches[0][1].dtype == np.int64
    assert _labels(loader) == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]
    loader = DataLoader(ds, batch_size=4, drop_last=True)
    assert len(loader) == 2 and _labels(loader) == [[0, 1, 2, 3], [4, 5, 6, 7]]
    assert [len(b) for b in _labels(DataLoader(ds, batch_size=20))] == [10]


def test_batch_size_none_yields_samples():
    out = list(DataLoader(_ds(3), batch_size=None))
    assert len(out) == 3 and out[1][0].shape == (2,) and out[1][1].item() == 1


def test_shuffle_is_seeded_and_changes_each_epoch():
    ds = _ds(50)
    a = DataLoader(ds, batch_size=8, shuffle=True, seed=7)
    b = DataLoader(ds, batch_size=8, shuffle=True, seed=7)
    e0, e1 = _labels(a), _labels(a)
    assert e0 == _labels(b) and e1 == _labels(b)
    assert e0 != e1
    assert sorted(sum(e0, [])) == list(range(50)) and sorted(sum(e1, [])) == list(range(50))
    assert _labels(DataLoader(ds, batch_size=8, shuffle=True, seed=8)) != e0
    # the global seed fixes the loader's seed
    gs.manual_seed(123)
    c = _labels(DataLoader(ds, batch_size=8, shuffle=True))
    gs.manual_seed(123)
    assert _labels(DataLoader(ds, batch_size=8, shuffle=True)) == c
    # and so does an explicit numpy generator
    d1 = _labels(DataLoader(ds, batch_size=8, shuffle=True, generator=np.random.default_rng(5)))
    assert d1 == _labels(DataLoader(ds, batch_size=8, shuffle=True, generator=np.random.default_rng(5)))


def test_set_epoch_chooses_the_order():
    ds = _ds(30)
    a = DataLoader(ds, batch_size=7, shuffle=True, seed=1)
    epochs = [_labels(a) for _ in range(3)]
    b = DataLoader(ds, batch_size=7, shuffle=True, seed=1)
    b.set_epoch(2)
    assert _labels(b) == epochs[2]


def test_fast_path_equals_per_sample_path():
    ds = _ds(23)
    fast = DataLoader(ds, batch_size=5, shuffle=True, seed=3)
    slow = DataLoader(ds, batch_size=5, shuffle=True, seed=3, collate_fn=lambda s: default_collate(s))
    assert fast._fast and not slow._fast
    for (fx, fy), (sx, sy) in zip(fast, slow):
        assert np.array_equal(fx.numpy(), sx.numpy()) and np.array_equal(fy.numpy(), sy.numpy())
        assert fx.dtype == sx.dtype and fy.dtype == sy.dtype


def test_collate_of_dicts_from_plain_dataset():
    loader = DataLoader(PlainDataset(5), batch_size=2)
    first = next(iter(loader))
    assert set(first) == {"x", "y", "w"}
    assert first["x"].shape == (2, 3) and first["y"].dtype == np.int64 and first["w"].dtype == np.float32
    assert [b["y"].tolist() for b in loader] == [[0, 1], [2, 3], [4]]


def test_custom_collate_fn():
    loader = DataLoader(_ds(4), batch_size=2, collate_fn=lambda samples: len(samples))
    assert list(loader) == [2, 2]


def test_prefetch_gives_identical_batches_including_random_transforms():
    x = np.arange(40 * 1 * 6 * 6, dtype=np.float32).reshape(40, 1, 6, 6)
    ds = TensorDataset(x, np.arange(40), transform=RandomCrop(4, padding=1))
    plain = DataLoader(ds, batch_size=6, shuffle=True, seed=11)
    ahead = DataLoader(ds, batch_size=6, shuffle=True, seed=11, prefetch=3)
    for _ in range(2):  # two epochs
        for (px, py), (ax, ay) in zip(plain, ahead):
            gs.randn(3)  # the model drawing from the global generator must not change the data
            assert np.array_equal(px.numpy(), ax.numpy()) and np.array_equal(py.numpy(), ay.numpy())


def test_prefetch_propagates_errors_and_stops_on_break():
    class Boom(PlainDataset):
        def __getitem__(self, i):
            if i == 5:
                raise KeyError("broken sample 5")
            return super().__getitem__(i)

    loader = DataLoader(Boom(8), batch_size=2, prefetch=2)
    it = iter(loader)
    assert next(it)["y"].tolist() == [0, 1]
    next(it)
    with pytest.raises(KeyError, match="broken sample 5"):
        next(it)
    # breaking out early leaves no thread running
    import threading
    for _ in DataLoader(_ds(100), batch_size=2, prefetch=2):
        break
    import gc
    gc.collect()
    assert not any(t.name == "gradstep-data-prefetch" and t.is_alive() for t in threading.enumerate())


@pytest.mark.parametrize("prefetch", [0, 2])
def test_resume_mid_epoch_gives_identical_remaining_batches(prefetch):
    x = np.random.default_rng(0).random((37, 1, 5, 5), dtype=np.float32)
    ds = TensorDataset(x, np.arange(37), transform=RandomCrop(3))
    ref = DataLoader(ds, batch_size=4, shuffle=True, seed=99)
    epoch0 = [(b[0].numpy().copy(), b[1].tolist()) for b in ref]
    epoch1 = [(b[0].numpy().copy(), b[1].tolist()) for b in ref]

    run = DataLoader(ds, batch_size=4, shuffle=True, seed=99, prefetch=prefetch)
    assert run.state_dict() == {"seed": 99, "epoch": 0, "batch": 0}
    it = iter(run)
    for _ in range(4):
        next(it)
    state = run.state_dict()
    assert state == {"seed": 99, "epoch": 0, "batch": 4}
    del it

    resumed = DataLoader(ds, batch_size=4, shuffle=True, seed=12345, prefetch=prefetch)  # seed comes from the state
    resumed.load_state_dict(state)
    rest = [(b[0].numpy(), b[1].tolist()) for b in resumed]
    assert len(rest) == len(epoch0) - 4
    for (rx, ry), (ex, ey) in zip(rest, epoch0[4:]):
        assert ry == ey and np.array_equal(rx, ex)
    assert resumed.state_dict() == {"seed": 99, "epoch": 1, "batch": 0}
    nxt = [(b[0].numpy(), b[1].tolist()) for b in resumed]  # the following epoch is the usual epoch 1
    assert all(a[1] == b[1] and np.array_equal(a[0], b[0]) for a, b in zip(nxt, epoch1))


def test_resume_with_custom_batch_sampler():
    ds = _ds(20)
    bs = BatchSampler(SequentialSampler(ds), 3)
    loader = DataLoader(ds, batch_sampler=bs)
    full = _labels(loader)
    loader.load_state_dict({"seed": 0, "epoch": 0, "batch": 5})
    assert _labels(loader) == full[5:]


def test_load_state_dict_errors():
    loader = DataLoader(_ds(10), batch_size=5)
    with pytest.raises(ValueError, match="seed, epoch and batch"):
        loader.load_state_dict({"epoch": 0})
    with pytest.raises(ValueError, match="outside this loader"):
        loader.load_state_dict({"seed": 0, "epoch": 0, "batch": 9})


def test_distributed_sampler_drives_the_loader_epoch():
    ds = _ds(12)
    ranks = [DataLoader(ds, batch_size=2, sampler=DistributedSampler(ds, 3, r, seed=4)) for r in range(3)]
    for _ in range(2):
        seen = [sum(_labels(loader), []) for loader in ranks]
        assert sorted(sum(seen, [])) == list(range(12))
    assert ranks[0].sampler.epoch == 1


def test_argument_errors():
    with pytest.raises(ValueError, match="DataLoader: the dataset is empty"):
        DataLoader(TensorDataset(np.zeros((0, 2))))
    with pytest.raises(ValueError, match="batch_size must be a positive int"):
        DataLoader(_ds(), batch_size=0)
    with pytest.raises(ValueError, match="mutually exclusive with shuffle"):
        DataLoader(_ds(), sampler=SequentialSampler(_ds()), shuffle=True)
    with pytest.raises(ValueError, match="batch_sampler is mutually exclusive"):
        DataLoader(_ds(), batch_size=4, batch_sampler=BatchSampler(SequentialSampler(_ds()), 2))
    with pytest.raises(ValueError, match="prefetch must be a non-negative int"):
        DataLoader(_ds(), prefetch=-1)
    with pytest.raises(TypeError, match="must define __len__"):
        DataLoader(iter([1, 2]))


def test_num_workers_and_pin_memory_give_torchs_batches(torch):
    """PyTorch scripts pass num_workers/pin_memory: accepted, loading ahead in a thread, same batches as torch."""
    x = np.arange(20, dtype=np.float32).reshape(10, 2)
    theirs = list(torch.utils.data.DataLoader(torch.utils.data.TensorDataset(torch.from_numpy(x)), batch_size=4))
    loader = DataLoader(TensorDataset(x), batch_size=4, num_workers=2, pin_memory=True)
    assert (loader.num_workers, loader.pin_memory, loader.prefetch) == (2, True, 4)
    assert DataLoader(_ds(), num_workers=2, prefetch=1).prefetch == 1
    assert DataLoader(_ds(), num_workers=0).prefetch == 0
    ours = list(loader)
    assert len(ours) == len(theirs) == 3
    for (a,), (b,) in zip(ours, theirs):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    for bad in (-1, 1.5, True):
        with pytest.raises(ValueError, match="num_workers must be a non-negative int"):
            DataLoader(_ds(), num_workers=bad)
