"""Samplers, DistributedSampler sharding (checked against PyTorch's padding rule)."""
import pytest

import gradstep as gs
from gradstep.data import BatchSampler, DistributedSampler, RandomSampler, SequentialSampler


def test_sequential_and_batch_sampler():
    assert list(SequentialSampler(range(5))) == [0, 1, 2, 3, 4]
    assert list(BatchSampler(SequentialSampler(range(5)), 2)) == [[0, 1], [2, 3], [4]]
    assert list(BatchSampler(SequentialSampler(range(5)), 2, drop_last=True)) == [[0, 1], [2, 3]]
    assert len(BatchSampler(SequentialSampler(range(5)), 2)) == 3
    with pytest.raises(ValueError, match="batch_size must be a positive int"):
        BatchSampler(SequentialSampler(range(5)), 0)


def test_random_sampler_seeding_and_epochs():
    s = RandomSampler(range(20), seed=3)
    e0, e1 = list(s), list(s)
    assert sorted(e0) == list(range(20)) and e0 != e1 and s.epoch == 2
    s2 = RandomSampler(range(20), seed=3)
    s2.set_epoch(1)
    assert list(s2) == e1
    gs.manual_seed(0)
    a = list(RandomSampler(range(20)))
    gs.manual_seed(0)
    assert list(RandomSampler(range(20))) == a
    r = RandomSampler(range(5), replacement=True, num_samples=50, seed=0)
    out = list(r)
    assert len(out) == 50 and set(out) <= set(range(5))
    more = list(RandomSampler(range(5), num_samples=12, seed=0))
    assert len(more) == 12 and sorted(more[:5]) == list(range(5))


@pytest.mark.parametrize("n, replicas, drop_last", [(10, 3, False), (10, 3, True), (12, 4, False), (5, 8, False)])
def test_distributed_sampler_matches_torch_without_shuffle(torch, n, replicas, drop_last):
    for rank in range(replicas):
        ours = list(DistributedSampler(range(n), replicas, rank, shuffle=False, drop_last=drop_last))
        theirs = list(torch.utils.data.DistributedSampler(range(n), replicas, rank, shuffle=False, drop_last=drop_last))
        assert ours == theirs


@pytest.mark.parametrize("n, replicas", [(12, 3), (100, 4), (10, 3)])
def test_distributed_sampler_shards_are_disjoint_and_cover(n, replicas):
    for epoch in range(2):
        shards = []
        for rank in range(replicas):
            s = DistributedSampler(range(n), replicas, rank, shuffle=True, seed=5)
            s.set_epoch(epoch)
            shards.append(list(s))
        assert len({len(x) for x in shards}) == 1  # equal sizes, so ranks step together
        allidx = sum(shards, [])
        assert set(allidx) == set(range(n))  # coverage
        if n % replicas == 0:
            assert len(allidx) == n  # disjoint
        else:
            assert len(allidx) - n == replicas - n % replicas  # only the padding repeats
    s = DistributedSampler(range(12), 3, 0, seed=5)
    first = list(s)
    s.set_epoch(1)
    assert list(s) != first


def test_distributed_sampler_drop_last_disjoint():
    shards = [set(DistributedSampler(range(10), 3, r, drop_last=True)) for r in range(3)]
    assert sum(len(s) for s in shards) == 9 and len(set.union(*shards)) == 9


def test_distributed_sampler_errors():
    with pytest.raises(ValueError, match=r"rank must be in \[0, 1\]"):
        DistributedSampler(range(4), num_replicas=2, rank=2)
    with pytest.raises(ValueError, match="num_replicas must be a positive int"):
        DistributedSampler(range(4), num_replicas=0, rank=0)
