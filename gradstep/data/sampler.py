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
from ..autograd.tensor import Tensor
from ..errors import ArgumentTypeError, InvalidArgument, NotSupported

__all__ = ["Sampler", "SequentialSampler", "RandomSampler", "SubsetRandomSampler", "WeightedRandomSampler",
           "BatchSampler", "DistributedSampler", "draw_seed"]


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


class SubsetRandomSampler(Sampler):
    """The given ``indices`` in a random order, a new one each epoch (PyTorch's ``SubsetRandomSampler``).

    Args:
        indices: the dataset indices to visit (ints; each once per epoch).
        generator: a ``numpy.random.Generator`` to draw the seed from; by default
            gradstep's global generator (fixed by ``gradstep.manual_seed``).
        seed: the seed itself (overrides ``generator``).

    As with :class:`RandomSampler`, epoch ``e``'s order is a pure function of
    ``(seed, e)``: iterating uses the current ``epoch`` and then advances it.
    """

    def __init__(self, indices, generator=None, *, seed: int | None = None):
        idx = numpy.asarray(indices._data if isinstance(indices, Tensor) else indices)
        if idx.ndim != 1 or (idx.size and idx.dtype.kind not in "iu"):
            raise ArgumentTypeError(f"SubsetRandomSampler: indices must be a 1-D sequence of ints, got "
                                    f"{idx.ndim}-D values of dtype {idx.dtype}")
        self.indices = indices
        self._indices = idx.astype(numpy.int64)
        self.seed = _check_seed(seed, "SubsetRandomSampler") if seed is not None else draw_seed(generator)
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)

    def order(self, epoch: int) -> numpy.ndarray:
        """The indices of epoch ``epoch`` (int64), a pure function of (seed, epoch)."""
        rng = numpy.random.default_rng([self.seed, int(epoch)])
        return self._indices[rng.permutation(self._indices.size)]

    def __iter__(self):
        order = self.order(self.epoch)
        self.epoch += 1
        return iter(order.tolist())

    def __len__(self) -> int:
        return int(self._indices.size)


class WeightedRandomSampler(Sampler):
    """Indices ``0 .. len(weights) - 1`` drawn with probability proportional to ``weights``.

    As PyTorch's ``WeightedRandomSampler``: ``num_samples`` draws per epoch,
    with replacement by default; without it, an index is drawn at most once
    (indices of weight 0 come only after every positive one, as
    ``torch.multinomial`` does). The usual use is rebalancing classes:
    ``weights[i] = 1 / count[label[i]]``.

    Args:
        weights: 1-D non-negative finite numbers, not necessarily summing to 1.
        num_samples: how many indices per epoch (a positive int).
        replacement: draw with replacement (default True).
        generator: a ``numpy.random.Generator`` to draw the seed from; by default
            gradstep's global generator (fixed by ``gradstep.manual_seed``).
        seed: the seed itself (overrides ``generator``).

    Bad weights raise here, at construction (PyTorch raises the same cases when
    iterating). Epoch ``e``'s draws are a pure function of ``(seed, e)``, so a
    :class:`DataLoader` using this sampler resumes exactly.
    """

    def __init__(self, weights, num_samples: int, replacement: bool = True, generator=None, *,
                 seed: int | None = None):
        if not isinstance(num_samples, (int, numpy.integer)) or isinstance(num_samples, bool) or num_samples <= 0:
            raise InvalidArgument(f"WeightedRandomSampler: num_samples should be a positive integer value, "
                                  f"but got num_samples={num_samples!r}")
        if not isinstance(replacement, bool):
            raise InvalidArgument(f"WeightedRandomSampler: replacement should be a boolean value, "
                                  f"but got replacement={replacement!r}")
        try:
            w = numpy.asarray(weights._data if isinstance(weights, Tensor) else weights, dtype=numpy.float64)
        except (TypeError, ValueError):
            raise ArgumentTypeError(f"WeightedRandomSampler: weights must be a 1-D sequence of numbers, "
                                    f"got {type(weights).__name__}") from None
        if w.ndim != 1:
            raise InvalidArgument(f"WeightedRandomSampler: weights should be a 1d sequence but given weights have "
                                  f"shape {tuple(w.shape)}")
        if not numpy.isfinite(w).all():
            bad = int(numpy.argmin(numpy.isfinite(w)))
            raise InvalidArgument(f"WeightedRandomSampler: invalid multinomial distribution (encountering "
                                  f"probability entry = infinity or NaN: weights[{bad}] = {w[bad]})")
        if (w < 0).any():
            raise InvalidArgument(f"WeightedRandomSampler: invalid multinomial distribution (encountering probability "
                                  f"entry < 0: weights[{int(numpy.argmax(w < 0))}] = {w[w < 0][0]})")
        if not w.sum() > 0:
            raise InvalidArgument(f"WeightedRandomSampler: invalid multinomial distribution (sum of probabilities "
                                  f"<= 0): the {w.size} weights sum to {w.sum()}")
        if not replacement and num_samples > w.size:
            raise InvalidArgument(f"WeightedRandomSampler: cannot sample n_sample > prob_dist.size(-1) samples "
                                  f"without replacement: num_samples={num_samples} but only {w.size} weights")
        w.flags.writeable = False
        self.weights = w
        self.num_samples = int(num_samples)
        self.replacement = replacement
        self.seed = _check_seed(seed, "WeightedRandomSampler") if seed is not None else draw_seed(generator)
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)

    def order(self, epoch: int) -> numpy.ndarray:
        """The indices drawn in epoch ``epoch`` (int64), a pure function of (seed, epoch)."""
        rng = numpy.random.default_rng([self.seed, int(epoch)])
        w = self.weights
        if self.replacement:
            # Inverse CDF: u in [0, total) lands in index i with probability w[i] / total; side="right"
            # steps over zero-weight indices, whose CDF step is empty.
            cdf = numpy.cumsum(w)
            u = rng.random(self.num_samples) * cdf[-1]
            last = w.size - 1 - int(numpy.argmax(w[::-1] > 0))  # if u rounds up to the total
            return numpy.minimum(numpy.searchsorted(cdf, u, side="right"), last).astype(numpy.int64)
        # Without replacement: the num_samples largest keys w / Exp(1) (the exponential trick that
        # torch.multinomial uses); zero weights tie at 0 and are taken last, in a random order.
        perm = rng.permutation(w.size)
        keys = w[perm] / rng.standard_exponential(w.size)
        return perm[numpy.argsort(-keys, kind="stable")[: self.num_samples]].astype(numpy.int64)

    def __iter__(self):
        order = self.order(self.epoch)
        self.epoch += 1
        return iter(order.tolist())

    def __len__(self) -> int:
        return self.num_samples
