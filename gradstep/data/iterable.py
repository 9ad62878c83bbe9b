"""Stream datasets: samples come from ``iter(dataset)``, not from ``[i]`` (PyTorch's ``IterableDataset``).

A :class:`DataLoader` over an :class:`IterableDataset` has no sampler: it
takes the samples in the order the dataset yields them and groups
``batch_size`` of them into a batch. Shuffling, samplers and batch samplers
are refused, as in PyTorch (the dataset decides the order). gradstep loads in
the main process, so :func:`~gradstep.data.get_worker_info` is ``None`` and a
dataset needs no per-worker splitting.
"""
from __future__ import annotations

from .dataset import Dataset
from ..errors import ArgumentTypeError, NotSupported

__all__ = ["IterableDataset", "ChainDataset"]


class IterableDataset(Dataset):
    """Base class of stream datasets: subclasses define ``__iter__`` (and ``__len__`` only if they know it).

    ``a + b`` chains two streams (:class:`ChainDataset`). A dataset that
    defines ``set_epoch(epoch)`` is told the epoch by the :class:`DataLoader`
    before each pass, so a shuffling stream can depend on it reproducibly.

    Example:
        >>> class Count(IterableDataset):
        ...     def __init__(self, n):
        ...         self.n = n
        ...     def __iter__(self):
        ...         return iter(range(self.n))
        >>> [b.tolist() for b in DataLoader(Count(5), batch_size=2)]
        [[0, 1], [2, 3], [4]]
    """

    def __iter__(self):
        raise NotSupported(f"{type(self).__name__}: an IterableDataset subclass must define __iter__")

    def __getitem__(self, index):
        raise NotSupported(f"{type(self).__name__} is an IterableDataset: its samples are read by iterating it, "
                           f"not by index ([{index!r}])")

    def __len__(self) -> int:
        # TypeError, as len() of an object without __len__: the DataLoader reads it as "no length".
        raise ArgumentTypeError(f"object of type {type(self).__name__!r} has no len(): an IterableDataset has a "
                                f"length only if its subclass defines __len__")

    def __add__(self, other) -> "ChainDataset":
        return ChainDataset([self, other])


class ChainDataset(IterableDataset):
    """Several :class:`IterableDataset` streams one after the other, chained on the fly.

    ``len()`` is the sum of the parts' lengths (each must define it).
    ``set_epoch`` is passed on to the parts that have it.
    """

    def __init__(self, datasets):
        # A one-shot iterator of datasets is kept as a list, so every epoch (and set_epoch) sees all the parts.
        self.datasets = list(datasets) if iter(datasets) is datasets else datasets

    def _parts(self):
        for i, d in enumerate(self.datasets):
            if not isinstance(d, IterableDataset):
                raise ArgumentTypeError(f"ChainDataset only supports IterableDataset, but dataset {i} is a "
                                        f"{type(d).__name__}; use ConcatDataset for datasets indexed by [i]")
            yield d

    def __iter__(self):
        for d in self._parts():
            yield from d

    def __len__(self) -> int:
        return sum(len(d) for d in self._parts())

    def set_epoch(self, epoch: int) -> None:
        for d in self._parts():
            if callable(getattr(d, "set_epoch", None)):
                d.set_epoch(epoch)
