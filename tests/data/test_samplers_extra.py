"""WeightedRandomSampler, SubsetRandomSampler, IterableDataset, ChainDataset, StackDataset, get_worker_info.

Random draws can't equal torch's (another generator), so the samplers are checked for reproducibility
(gs.manual_seed, generator=, seed=, epochs, a resumed DataLoader) and for their distribution with fixed
seeds; everything deterministic is compared with torch.utils.data directly.
"""
import math

import numpy as np
import pytest

import gradstep as gs
from gradstep.data import DataLoader, Dataset, TensorDataset, default_collate
from gradstep.data import _rng
from gradstep.data.dataloader import get_worker_info
from gradstep.data.dataset import StackDataset, is_batchable
from gradstep.data.iterable import ChainDataset, IterableDataset
from gradstep.data.sampler import SubsetRandomSampler, WeightedRandomSampler
from gradstep.errors import ArgumentTypeError, GradstepError, InvalidArgument, NotSupported


# ------------------------------------------------------------ SubsetRandomSampler
def test_subset_random_sampler_visits_its_indices_once_per_epoch():
    idx = [3, 17, 5, 11, 40, 2]
    s = SubsetRandomSampler(idx, seed=1)
    epochs = [list(s) for _ in range(4)]
    assert len(s) == 6 and s.epoch == 4
    assert all(sorted(e) == sorted(idx) for e in epochs)
    assert len({tuple(e) for e in epochs}) > 1  # a new order each epoch
    s2 = SubsetRandomSampler(idx, seed=1)
    s2.set_epoch(2)
    assert list(s2) == epochs[2]
    assert s.order(3).dtype == np.int64 and s.order(3).tolist() == epochs[3]


def test_subset_random_sampler_is_reproducible():
    idx = list(range(0, 100, 3))
    gs.manual_seed(5)
    a = list(SubsetRandomSampler(idx))
    gs.manual_seed(5)
    assert list(SubsetRandomSampler(idx)) == a
    g1, g2 = np.random.default_rng(9), np.random.default_rng(9)
    assert list(SubsetRandomSampler(idx, g1)) == list(SubsetRandomSampler(idx, generator=g2))
    assert list(SubsetRandomSampler(gs.tensor(idx), seed=4)) == list(SubsetRandomSampler(np.array(idx), seed=4))


def test_subset_random_sampler_errors():
    with pytest.raises(ArgumentTypeError, match="indices must be a 1-D sequence of ints"):
        SubsetRandomSampler([0.5, 1.5])
    with pytest.raises(ArgumentTypeError, match="indices must be a 1-D sequence of ints"):
        SubsetRandomSampler([[0, 1]])
    with pytest.raises(ArgumentTypeError, match="generator must be a numpy.random.Generator"):
        SubsetRandomSampler([0, 1], generator=3)


# ---------------------------------------------------------- WeightedRandomSampler
def test_weighted_sampler_is_reproducible_and_changes_each_epoch():
    w = [0.1, 0.9, 0.4, 0.7, 3.0, 0.6]
    gs.manual_seed(0)
    a = WeightedRandomSampler(w, 20)
    gs.manual_seed(0)
    b = WeightedRandomSampler(w, 20)
    ea, eb = [list(a) for _ in range(3)], [list(b) for _ in range(3)]
    assert ea == eb and ea[0] != ea[1] and len(a) == 20
    c = WeightedRandomSampler(w, 20, generator=np.random.default_rng(3))
    d = WeightedRandomSampler(w, 20, generator=np.random.default_rng(3))
    assert list(c) == list(d)
    e = WeightedRandomSampler(w, 20, seed=a.seed)
    e.set_epoch(2)
    assert list(e) == ea[2]


def test_weighted_sampler_with_replacement_follows_the_weights():
    w = np.array([1.0, 0.0, 2.0, 3.0, 4.0, 0.0])
    s = WeightedRandomSampler(w, 60000, seed=11)
    counts = np.bincount(s.order(0), minlength=w.size)
    assert counts[1] == 0 and counts[5] == 0  # weight 0: never drawn, also at the end of the array
    # 60000 draws: the standard error of each frequency is below 0.002
    np.testing.assert_allclose(counts / counts.sum(), w / w.sum(), atol=0.008)


def test_weighted_sampler_without_replacement_draws_sequentially():
    """torch.multinomial's rule: each draw picks among the remaining indices in proportion to their weights."""
    w = np.array([1.0, 2.0, 3.0, 4.0])
    p = w / w.sum()
    s = WeightedRandomSampler(w, 2, replacement=False, seed=2)
    draws = np.array([s.order(e) for e in range(20000)])
    assert (draws[:, 0] != draws[:, 1]).all()
    first = np.bincount(draws[:, 0], minlength=4) / len(draws)
    second = np.bincount(draws[:, 1], minlength=4) / len(draws)
    want_second = [sum(p[i] * p[j] / (1 - p[i]) for i in range(4) if i != j) for j in range(4)]
    np.testing.assert_allclose(first, p, atol=0.015)
    np.testing.assert_allclose(second, want_second, atol=0.015)


def test_weighted_sampler_without_replacement_takes_zero_weights_last(torch):
    """Like torch.multinomial: with more draws than positive weights, the zero-weight indices come last."""
    w = [0.0, 5.0, 0.0, 1.0]
    for seed in range(20):
        ours = list(WeightedRandomSampler(w, 4, replacement=False, seed=seed))
        assert sorted(ours) == [0, 1, 2, 3] and set(ours[2:]) == {0, 2}
    theirs = list(torch.utils.data.WeightedRandomSampler(w, 4, replacement=False))
    assert set(theirs[2:]) == {0, 2}


BAD_WEIGHTS = [
    ("negative", dict(weights=[1.0, -1.0, 2.0], num_samples=3), InvalidArgument, "probability entry < 0"),
    ("nan", dict(weights=[1.0, float("nan")], num_samples=2), InvalidArgument, "infinity or NaN"),
    ("inf", dict(weights=[1.0, float("inf")], num_samples=2), InvalidArgument, "infinity or NaN"),
    ("zero sum", dict(weights=[0.0, 0.0], num_samples=2), InvalidArgument, "sum of probabilities <= 0"),
    ("empty", dict(weights=[], num_samples=2), InvalidArgument, "sum of probabilities <= 0"),
    ("2-D", dict(weights=[[1.0, 2.0]], num_samples=2), InvalidArgument, "1d sequence"),
    ("too many without replacement", dict(weights=[1.0, 1.0, 2.0], num_samples=4, replacement=False),
     InvalidArgument, "cannot sample n_sample > prob_dist.size(-1) samples without replacement"),
    ("num_samples 0", dict(weights=[1.0], num_samples=0), InvalidArgument, "num_samples=0"),
    ("num_samples float", dict(weights=[1.0], num_samples=2.0), InvalidArgument, "num_samples=2.0"),
    ("num_samples bool", dict(weights=[1.0], num_samples=True), InvalidArgument, "num_samples=True"),
    ("replacement int", dict(weights=[1.0], num_samples=1, replacement=1), InvalidArgument, "replacement=1"),
]


@pytest.mark.parametrize("what,kwargs,exc,words", BAD_WEIGHTS, ids=[b[0] for b in BAD_WEIGHTS])
def test_weighted_sampler_errors(what, kwargs, exc, words, torch):
    """Refused at construction here; torch refuses the same at construction or on the first draw."""
    with pytest.raises(exc) as info:
        WeightedRandomSampler(**kwargs)
    assert isinstance(info.value, GradstepError) and words in str(info.value)
    assert str(info.value).startswith("WeightedRandomSampler:")
    with pytest.raises((ValueError, RuntimeError)):
        list(torch.utils.data.WeightedRandomSampler(**kwargs))


def test_weighted_sampler_accepts_tensors_and_arrays():
    w = np.array([0.2, 0.3, 0.5], dtype=np.float32)
    a = WeightedRandomSampler(gs.tensor(w), 10, seed=0)
    b = WeightedRandomSampler(w, 10, seed=0)
    assert list(a) == list(b) and a.weights.dtype == np.float64


# --------------------------------------------------------- samplers in a DataLoader
def _ds(n=30):
    return TensorDataset(np.arange(n, dtype=np.float32)[:, None], np.arange(n))


@pytest.mark.parametrize("make", [
    lambda: WeightedRandomSampler(np.linspace(0.1, 1.0, 30), 25, seed=77),
    lambda: WeightedRandomSampler(np.linspace(0.1, 1.0, 30), 25, replacement=False, seed=77),
    lambda: SubsetRandomSampler(list(range(0, 30, 2)) + [1, 3], seed=77),
], ids=["weighted", "weighted-no-replacement", "subset"])
@pytest.mark.parametrize("prefetch", [0, 2])
def test_loader_with_new_samplers_resumes_exactly(make, prefetch):
    ref = DataLoader(_ds(), batch_size=4, sampler=make(), seed=5)
    epoch0 = [b[1].tolist() for b in ref]
    epoch1 = [b[1].tolist() for b in ref]
    assert epoch0 != epoch1 and len(epoch0) == len(ref)

    run = DataLoader(_ds(), batch_size=4, sampler=make(), seed=5, prefetch=prefetch)
    it = iter(run)
    for _ in range(3):
        next(it)
    state = run.state_dict()
    assert state == {"seed": 5, "epoch": 0, "batch": 3, "sampler_seed": 77}
    del it

    other = make()
    other.seed = 123  # the sampler's seed comes back from the state
    resumed = DataLoader(_ds(), batch_size=4, sampler=other, seed=6, prefetch=prefetch)
    resumed.load_state_dict(state)
    assert [b[1].tolist() for b in resumed] == epoch0[3:]
    assert [b[1].tolist() for b in resumed] == epoch1


def test_loader_with_weighted_sampler_is_fixed_by_manual_seed():
    def labels():
        gs.manual_seed(42)
        loader = DataLoader(_ds(), batch_size=5, sampler=WeightedRandomSampler([1.0] * 10 + [5.0] * 20, 30))
        return [b[1].tolist() for b in loader]

    a = labels()
    assert a == labels()
    flat = sum(a, [])
    assert len(flat) == 30 and sum(i >= 10 for i in flat) > 15  # heavier indices dominate


# ----------------------------------------------------------------- IterableDataset
class Count(IterableDataset):
    """0, 1, ..., n - 1 as dict samples; no __len__."""

    def __init__(self, n, start=0):
        self.n, self.start = n, start

    def __iter__(self):
        for i in range(self.start, self.start + self.n):
            yield {"x": np.full(2, i, np.float32), "y": i}


class SizedCount(Count):
    def __len__(self):
        return self.n


def _torch_twin(torch, cls, *args):
    """The same stream as a torch IterableDataset."""
    class Twin(torch.utils.data.IterableDataset):
        def __init__(self):
            self.inner = cls(*args)

        def __iter__(self):
            return iter(self.inner)

        def __len__(self):
            return len(self.inner)

    return Twin()


def _plain(batch):
    if isinstance(batch, dict):
        return {k: _plain(v) for k, v in batch.items()}
    if isinstance(batch, (list, tuple)):
        return [_plain(v) for v in batch]
    return np.asarray(batch.numpy() if hasattr(batch, "numpy") else batch).tolist()


@pytest.mark.parametrize("kwargs", [dict(batch_size=4), dict(batch_size=4, drop_last=True), dict(batch_size=None),
                                    dict(batch_size=1), dict(batch_size=20), dict(batch_size=3, num_workers=2)])
@pytest.mark.parametrize("sized", [False, True])
def test_iterable_dataset_batches_like_torch(kwargs, sized, torch):
    cls = SizedCount if sized else Count
    ours = DataLoader(cls(10), **kwargs)
    # num_workers here loads in a background thread, once; torch's worker processes would each read the whole
    # stream (its documented duplication), so torch's reference is the single-process loader.
    t_kwargs = {k: v for k, v in kwargs.items() if k != "num_workers"}
    theirs = torch.utils.data.DataLoader(_torch_twin(torch, cls, 10), **t_kwargs)
    got, want = [_plain(b) for b in ours], [_plain(b) for b in theirs]
    assert got == want
    if kwargs.get("batch_size", 1) is not None:
        assert isinstance(next(iter(ours))["x"], gs.Tensor) and next(iter(ours))["x"].dtype == np.float32
    if sized:
        assert len(ours) == len(theirs) == len(want)
    else:
        with pytest.raises(TypeError, match="no __len__"):
            len(ours)
        with pytest.raises(TypeError):
            len(theirs)
    assert [_plain(b) for b in ours] == want  # a second pass: the next epoch, the same stream


@pytest.mark.parametrize("kwargs,words", [
    (dict(shuffle=True), "expected unspecified shuffle option, but got shuffle=True"),
    (dict(sampler=[0, 1]), "expected unspecified sampler option"),
    (dict(batch_sampler=[[0, 1]]), "expected unspecified batch_sampler option"),
])
def test_iterable_dataset_refuses_orderings_like_torch(kwargs, words, torch):
    with pytest.raises(InvalidArgument, match=words):
        DataLoader(Count(4), **kwargs)
    with pytest.raises(ValueError, match=words):
        torch.utils.data.DataLoader(_torch_twin(torch, Count, 4), **kwargs)
    DataLoader(Count(4), shuffle=False)  # an explicit False is fine, as in torch


def test_iterable_dataset_base_class():
    with pytest.raises(TypeError, match="has no len()"):
        len(Count(3))
    assert len(SizedCount(3)) == 3
    with pytest.raises(NotSupported, match="not by index"):
        Count(3)[0]
    with pytest.raises(NotSupported, match="must define __iter__"):
        iter(IterableDataset())
    assert isinstance(Count(1), Dataset)
    chained = Count(2) + Count(2, start=10)
    assert isinstance(chained, ChainDataset) and [s["y"] for s in chained] == [0, 1, 10, 11]


def test_iterable_loader_resumes_mid_epoch():
    class Noisy(IterableDataset):
        """A stream with random augmentation drawn where transforms draw it, and set_epoch."""

        def __init__(self):
            self.epoch = None

        def set_epoch(self, epoch):
            self.epoch = epoch

        def __iter__(self):
            for i in range(23):
                yield np.float32(i + 100 * self.epoch) + _rng.current().random(2).astype(np.float32)

    def batches(loader):
        return [b.numpy().copy() for b in loader]

    ref = DataLoader(Noisy(), batch_size=3, seed=8)
    epoch0, epoch1 = batches(ref), batches(ref)
    assert ref.state_dict() == {"seed": 8, "epoch": 2, "batch": 0}  # both passes complete, though len is unknown
    assert not np.allclose(epoch0[0], epoch1[0])
    assert all(np.array_equal(a, b) for a, b in zip(batches(DataLoader(Noisy(), batch_size=3, seed=8, prefetch=2)),
                                                      epoch0))
    run = DataLoader(Noisy(), batch_size=3, seed=8)
    it = iter(run)
    for _ in range(5):
        next(it)
    state = run.state_dict()
    assert state == {"seed": 8, "epoch": 0, "batch": 5}
    resumed = DataLoader(Noisy(), batch_size=3, seed=1)
    resumed.load_state_dict(state)
    rest = batches(resumed)
    assert len(rest) == len(epoch0) - 5 and all(np.array_equal(a, b) for a, b in zip(rest, epoch0[5:]))
    assert all(np.array_equal(a, b) for a, b in zip(batches(resumed), epoch1))


def test_get_worker_info_is_none_everywhere(torch):
    seen = []

    class Probe(IterableDataset):
        def __iter__(self):
            seen.append(get_worker_info())
            return iter(range(4))

    assert get_worker_info() is None and torch.utils.data.get_worker_info() is None
    list(DataLoader(Probe(), batch_size=2, num_workers=2))  # loads in a background thread, not a worker
    assert seen == [None]


# ------------------------------------------------------------------- ChainDataset
def test_chain_dataset_like_torch(torch):
    parts = [(Count, 3), (Count, 2, 10), (SizedCount, 4, 20)]
    ours = ChainDataset([cls(*args) for cls, *args in parts])
    theirs = torch.utils.data.ChainDataset([_torch_twin(torch, cls, *args) for cls, *args in parts])
    assert [_plain(s) for s in ours] == [_plain(s) for s in theirs]
    assert [_plain(b) for b in DataLoader(ours, batch_size=4)] == \
           [_plain(b) for b in torch.utils.data.DataLoader(theirs, batch_size=4)]
    with pytest.raises(TypeError, match="has no len()"):
        len(ours)
    sized = ChainDataset([SizedCount(3), SizedCount(4)])
    assert len(sized) == len(torch.utils.data.ChainDataset([_torch_twin(torch, SizedCount, n) for n in (3, 4)])) == 7
    assert len(DataLoader(sized, batch_size=2)) == 4


def test_chain_dataset_refuses_map_style_parts(torch):
    ours = ChainDataset([Count(2), TensorDataset(np.arange(3))])
    it = iter(ours)
    assert [next(it)["y"], next(it)["y"]] == [0, 1]  # lazily, as torch: the bad part is met when reached
    with pytest.raises(ArgumentTypeError, match="ChainDataset only supports IterableDataset, but dataset 1"):
        next(it)
    with pytest.raises(ArgumentTypeError, match="only supports IterableDataset, but dataset 1 is a TensorDataset"):
        len(ChainDataset([SizedCount(2), TensorDataset(np.arange(3))]))
    with pytest.raises(AssertionError, match="only supports IterableDataset"):
        list(torch.utils.data.ChainDataset([torch.utils.data.TensorDataset(torch.arange(3))]))


def test_chain_dataset_passes_set_epoch_on_and_keeps_a_generator_of_parts():
    class Epochs(IterableDataset):
        def __init__(self):
            self.epoch = 0

        def set_epoch(self, epoch):
            self.epoch = epoch

        def __iter__(self):
            yield self.epoch

    chain = ChainDataset(d for d in (Epochs(), Count(1), Epochs()))
    loader = DataLoader(chain, batch_size=None)
    out = [[_plain(s) for s in loader] for _ in range(3)]
    assert [o[0] for o in out] == [0, 1, 2] and [o[2] for o in out] == [0, 1, 2]  # all three parts, every epoch


# ------------------------------------------------------------------- StackDataset
def _parts():
    rng = np.random.default_rng(0)
    return rng.random((7, 3), dtype=np.float32), np.arange(7) * 2


def test_stack_dataset_items_like_torch(torch):
    x, y = _parts()
    ours = StackDataset(TensorDataset(x), TensorDataset(y))
    theirs = torch.utils.data.StackDataset(torch.utils.data.TensorDataset(torch.tensor(x)),
                                           torch.utils.data.TensorDataset(torch.tensor(y)))
    assert len(ours) == len(theirs) == 7
    for i in (0, 3, 6, -1):
        assert _plain(ours[i]) == _plain(theirs[i])
    ours_d = StackDataset(image=TensorDataset(x), label=TensorDataset(y))
    theirs_d = torch.utils.data.StackDataset(image=torch.utils.data.TensorDataset(torch.tensor(x)),
                                             label=torch.utils.data.TensorDataset(torch.tensor(y)))
    assert list(ours_d[2]) == ["image", "label"] and _plain(ours_d[2]) == _plain(theirs_d[2])


@pytest.mark.parametrize("form", ["tuple", "dict"])
def test_stack_dataset_in_a_loader(form, torch):
    """Batch-indexable parts make a batch-indexable stack: the fast path equals the per-sample path and torch."""
    x, y = _parts()
    parts = [TensorDataset(x), TensorDataset(y)]
    ds = StackDataset(*parts) if form == "tuple" else StackDataset(a=parts[0], b=parts[1])
    assert is_batchable(ds)
    fast = [_plain(b) for b in DataLoader(ds, batch_size=3)]
    slow = [_plain(b) for b in DataLoader(ds, batch_size=3, collate_fn=default_collate)]
    t_parts = [torch.utils.data.TensorDataset(torch.tensor(x)), torch.utils.data.TensorDataset(torch.tensor(y))]
    t_ds = (torch.utils.data.StackDataset(*t_parts) if form == "tuple"
            else torch.utils.data.StackDataset(a=t_parts[0], b=t_parts[1]))
    want = [_plain(b) for b in torch.utils.data.DataLoader(t_ds, batch_size=3)]
    assert fast == slow == want
    shuffled = DataLoader(ds, batch_size=3, shuffle=True, seed=3)
    for batch in shuffled:  # the parts stay aligned under shuffling
        xs, ys = (batch[0][0], batch[1][0]) if form == "tuple" else (batch["a"][0], batch["b"][0])
        np.testing.assert_array_equal(xs.numpy(), x[ys.numpy() // 2])


def test_stack_dataset_with_a_plain_part_uses_the_per_sample_path():
    class Plain(Dataset):
        def __len__(self):
            return 4

        def __getitem__(self, i):
            return i * 10

    ds = StackDataset(TensorDataset(np.arange(4)), Plain())
    assert not is_batchable(ds)
    assert [_plain(b) for b in DataLoader(ds, batch_size=2)] == [[[[0, 1]], [0, 10]], [[[2, 3]], [20, 30]]]


@pytest.mark.parametrize("args,kwargs,words", [
    ((), {}, "at least one dataset should be passed"),
    ((np.arange(3),), dict(b=np.arange(3)), "but both types are given"),
    ((np.arange(3), np.arange(4)), {}, "size mismatch between datasets: 0: 3, 1: 4"),
    ((), dict(a=np.arange(3), b=np.arange(2)), "size mismatch between datasets: a: 3, b: 2"),
])
def test_stack_dataset_errors_like_torch(args, kwargs, words, torch):
    with pytest.raises(InvalidArgument, match=words):
        StackDataset(*args, **kwargs)
    with pytest.raises(ValueError):
        torch.utils.data.StackDataset(*args, **kwargs)


def test_exported_under_both_names():
    import gradstep.data as data
    import gradstep.utils.data as utils_data

    for name in ("IterableDataset", "ChainDataset", "StackDataset", "SubsetRandomSampler", "WeightedRandomSampler",
                 "get_worker_info"):
        assert name in data.__all__ and getattr(utils_data, name) is getattr(data, name)
    assert data.get_worker_info() is None and math.isfinite(len(data.WeightedRandomSampler([1.0], 3)))
