"""Samplers: the order in which a loader visits a dataset's indices.

Random orders are pure functions of ``(seed, epoch)``: the epoch's permutation
is drawn from ``numpy.random.default_rng([seed, epoch])``. Nothing about the
order lives in a generator's running state, so a run resumed from a checkpoint
(seed, epoch, batches done) sees exactly the order the interrupted run would
have seen, and every rank of a data-parallel job computes the same permutation.
Samplers with ``order(epoch)`` hand the loader a whole epoch as one int64 array.
"""
from __future__ import annotations

import math
import os

import numpy

from .. import backend
from ..errors import ArgumentTypeError, InvalidArgument, NotSupported

__all__ = ["Sampler", "SequentialSampler", "RandomSampler", "BatchSampler", "DistributedSampler", "draw_seed"]


def draw_seed(generator=None) -> int:
    """A fresh 63-bit seed from ``generator`` (default: gradstep's global generator)."""
    if generator is None:
        generator = backend.generator()
    if not isinstance(generator, numpy.random.Generator):
        raise ArgumentTypeError(f"generator must be a numpy.random.Generator or None, got {type(generator).__name__}")
    return int(generator.integers(0, 2**63 - 1))


def _check_seed(seed, who: str) -> int:
    if not isinstance(seed, (int, numpy.integer)) or isinstance(seed, bool) or seed < 0:
        raise ArgumentTypeError(f"{who}: seed must be a non-negative int, got {seed!r}")
    return int(seed)


class Sampler:
    """Base class: ``__iter__`` yields dataset indices, ``__len__`` says how many."""

    def __iter__(self):
        raise NotSupported(f"{type(self).__name__}: a Sampler subclass must define __iter__")

    def __len__(self) -> int:
        raise NotSupported(f"{type(self).__name__}: a Sampler subclass must define __len__")


class SequentialSampler(Sampler):
    """0, 1, ..., len(data_source) - 1."""

    def __init__(self, data_source):
        self.data_source = data_source

    def order(self, epoch: int = 0) -> numpy.ndarray:
        return numpy.arange(len(self.data_source), dtype=numpy.int64)

    def __iter__(self):
        return iter(range(len(self.data_source)))

    def __len__(self) -> int:
        return len(self.data_source)


class RandomSampler(Sampler):
    """A random permutation of the indices, different each epoch.

    Args:
        data_source: the dataset (only its length is used).
        replacement: draw ``num_samples`` indices with replacement.
        num_samples: how many indices per epoch (default ``len(data_source)``).
        generator: a ``numpy.random.Generator`` to draw the seed from; by default
            gradstep's global generator, so ``gradstep.manual_seed(s)`` before
            building the sampler fixes every epoch's order.
        seed: the seed itself (overrides ``generator``).

    The epoch-``e`` order depends on ``(seed, e)`` only. Iterating the sampler
    uses the current ``epoch`` and then advances it; ``set_epoch`` moves it.
    """

    def __init__(self, data_source, replacement: bool = False, num_samples: int | None = None,
                 generator=None, seed: int | None = None):
        self.data_source = data_source
        self.replacement = bool(replacement)
        if num_samples is not None and (not isinstance(num_samples, (int, numpy.integer)) or num_samples <= 0):
            raise InvalidArgument(f"RandomSampler: num_samples must be a positive int, got {num_samples!r}")
        self._num_samples = num_samples
        self.seed = _check_seed(seed, "RandomSampler") if seed is not None else draw_seed(generator)
        self.epoch = 0

    @property
    def num_samples(self) -> int:
        return len(self.data_source) if self._num_samples is None else int(self._num_samples)

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)

    def order(self, epoch: int) -> numpy.ndarray:
        """The indices of epoch ``epoch`` (int64), a pure function of (seed, epoch)."""
        n = len(self.data_source)
        rng = numpy.random.default_rng([self.seed, int(epoch)])
        if self.replacement:
            return rng.integers(0, n, size=self.num_samples, dtype=numpy.int64)
        reps = -(-self.num_samples // n) if n else 0
        perm = numpy.concatenate([rng.permutation(n) for _ in range(reps)]) if reps > 1 else rng.permutation(n)
        return perm[: self.num_samples].astype(numpy.int64, copy=False)

    def __iter__(self):
        order = self.order(self.epoch)
        self.epoch += 1
        return iter(order.tolist())

    def __len__(self) -> int:
        return self.num_samples


class BatchSampler(Sampler):
    """Groups the indices of ``sampler`` into lists of ``batch_size``."""

    def __init__(self, sampler, batch_size: int, drop_last: bool = False):
        if not isinstance(batch_size, (int, numpy.integer)) or isinstance(batch_size, bool) or batch_size <= 0:
            raise InvalidArgument(f"BatchSampler: batch_size must be a positive int, got {batch_size!r}")
        self.sampler = sampler
        self.batch_size = int(batch_size)
        self.drop_last = bool(drop_last)

    def set_epoch(self, epoch: int) -> None:
        if hasattr(self.sampler, "set_epoch"):
            self.sampler.set_epoch(epoch)

    def __iter__(self):
        batch = []
        for i in self.sampler:
            batch.append(int(i))
            if len(batch) == self.batch_size:
                yield batch
                batch = []
        if batch and not self.drop_last:
            yield batch

    def __len__(self) -> int:
        n = len(self.sampler)
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)


def _default_world() -> tuple[int, int]:
    try:  # the MPI layer, once it exists and is initialised, knows best
        from .. import distributed as dist  # type: ignore[attr-defined]

        if dist.is_initialized():
            return dist.get_world_size(), dist.get_rank()
        if dist.comm.launcher() is not None:  # under mpirun but not initialised yet: every rank must not read it all
            dist.init()
            return dist.get_world_size(), dist.get_rank()
    except (ImportError, AttributeError):
        pass
    return int(os.environ.get("WORLD_SIZE", 1)), int(os.environ.get("RANK", 0))


class DistributedSampler(Sampler):
    """Each of ``num_replicas`` ranks gets a disjoint shard of the epoch's order.

    As in PyTorch: the (optionally shuffled) order is padded by repeating its
    first indices until it divides evenly (or, with ``drop_last``, cut to the
    largest multiple), then rank ``r`` takes positions ``r, r + R, r + 2R, ...``.
    Shuffling depends on ``(seed, epoch)`` only, so every rank agrees; call
    ``set_epoch(e)`` at the start of each epoch (the :class:`DataLoader` does it).

    Args:
        dataset: the dataset (only its length is used).
        num_replicas: number of ranks (default: gradstep.distributed's world
            size, else ``$WORLD_SIZE``, else 1).
        rank: this process's rank (default likewise, ``$RANK``, else 0).
        shuffle: permute each epoch.
        seed: shared by all ranks.
        drop_last: drop the tail instead of padding.
    """

    def __init__(self, dataset, num_replicas: int | None = None, rank: int | None = None,
                 shuffle: bool = True, seed: int = 0, drop_last: bool = False):
        if num_replicas is None or rank is None:
            world, me = _default_world()
            num_replicas = world if num_replicas is None else num_replicas
            rank = me if rank is None else rank
        if not isinstance(num_replicas, (int, numpy.integer)) or num_replicas < 1:
            raise InvalidArgument(f"DistributedSampler: num_replicas must be a positive int, got {num_replicas!r}")
        if not isinstance(rank, (int, numpy.integer)) or not 0 <= rank < num_replicas:
            raise InvalidArgument(f"DistributedSampler: rank must be in [0, {num_replicas - 1}], got {rank!r}")
        self.dataset = dataset
        self.num_replicas = int(num_replicas)
        self.rank = int(rank)
        self.shuffle = bool(shuffle)
        self.seed = _check_seed(seed, "DistributedSampler")
        self.drop_last = bool(drop_last)
        self.epoch = 0
        n = len(dataset)
        if self.drop_last and n % self.num_replicas:
            self.num_samples = math.ceil((n - self.num_replicas) / self.num_replicas)
        else:
            self.num_samples = math.ceil(n / self.num_replicas)
        self.total_size = self.num_samples * self.num_replicas

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)

    def order(self, epoch: int | None = None) -> numpy.ndarray:
        """This rank's indices for ``epoch`` (default: the current one)."""
        epoch = self.epoch if epoch is None else int(epoch)
        n = len(self.dataset)
        if self.shuffle:
            indices = numpy.random.default_rng([self.seed, epoch]).permutation(n)
        else:
            indices = numpy.arange(n, dtype=numpy.int64)
        if self.drop_last:
            indices = indices[: self.total_size]
        elif self.total_size > n and n:
            indices = numpy.resize(indices, self.total_size)  # repeats from the start, like PyTorch's padding
        return indices[self.rank: self.total_size: self.num_replicas].astype(numpy.int64, copy=False)

    def __iter__(self):
        return iter(self.order().tolist())

    def __len__(self) -> int:
        return self.num_samples
