"""Datasets: things with ``len`` and ``[i]``, plus an optional batch fast path.

A dataset that also has ``get_batch(indices)`` is *batch-indexable*: given a
1-D int64 index array it returns the whole batch at once (the structure of one
sample, every leaf with a leading batch dimension). :class:`DataLoader` uses
it instead of ``len(batch)`` calls to ``__getitem__`` plus a collate, which is
what makes loading from in-memory arrays cheap. :class:`TensorDataset`,
:class:`Subset`, :class:`ConcatDataset` and :class:`StackDataset` of such datasets are
batch-indexable.
"""
from __future__ import annotations

import bisect
import math
from typing import Callable, Sequence

import numpy

from .. import backend
from ..autograd.tensor import Tensor
from ..errors import (
    ArgumentTypeError, AttributeNotFound, IndexOutOfRange, InvalidArgument, NotSupported, ShapeError, fmt_shape,
)

__all__ = ["Dataset", "TensorDataset", "Subset", "ConcatDataset", "StackDataset", "random_split", "is_batchable"]


def is_batchable(dataset) -> bool:
    """True when ``dataset.get_batch(indices)`` can serve whole batches."""
    return callable(getattr(dataset, "get_batch", None)) and getattr(dataset, "batchable", True)


def _array(x, what: str):
    if isinstance(x, Tensor):
        return x._data
    if isinstance(x, numpy.ndarray):
        return x
    arr = numpy.asarray(x)
    if arr.dtype.kind not in "biuf":
        raise ArgumentTypeError(f"{what}: expected Tensors or numeric arrays, got {type(x).__name__} of dtype {arr.dtype}")
    # Python data follows gradstep's defaults (float32 / int64), like gradstep.tensor.
    if arr.dtype == numpy.float64:
        arr = arr.astype(backend.default_dtype())
    return arr


def _wrap(x):
    return x if isinstance(x, Tensor) else Tensor._wrap(numpy.asarray(x))


class Dataset:
    """Base class: subclasses define ``__getitem__(i)`` and ``__len__()``.

    ``a + b`` concatenates two datasets. Define ``get_batch(indices)`` as well
    to let :class:`DataLoader` fetch a whole batch in one call.
    """

    def __getitem__(self, index):
        raise NotSupported(f"{type(self).__name__} must define __getitem__")

    def __len__(self) -> int:
        raise NotSupported(f"{type(self).__name__} must define __len__")

    def __add__(self, other: "Dataset") -> "ConcatDataset":
        return ConcatDataset([self, other])


class TensorDataset(Dataset):
    """Samples are the ``i``-th rows of equally long Tensors or arrays.

    Args:
        *tensors: gradstep Tensors or NumPy arrays with the same first dimension
            (arrays are kept as they are, without a copy).
        transform: optional callable applied to the first tensor's rows: to one
            sample in ``ds[i]`` and to the whole gathered batch (leading batch
            dimension) in ``get_batch``; the transforms in
            :mod:`gradstep.data.transforms` accept both.
        target_transform: the same for the last tensor (when there are two or more).

    Example:
        >>> ds = TensorDataset(gs.randn(100, 3), gs.arange(100))
        >>> x, y = ds[0]          # Tensors of shape (3,) and ()
        >>> xb, yb = ds.get_batch(numpy.array([0, 5, 7]))
    """

    def __init__(self, *tensors, transform: Callable | None = None, target_transform: Callable | None = None):
        if not tensors:
            raise InvalidArgument("TensorDataset: pass at least one tensor")
        arrays = tuple(_array(t, "TensorDataset") for t in tensors)
        for i, a in enumerate(arrays):
            if a.ndim == 0:
                raise ShapeError(f"TensorDataset: tensor {i} is 0-d; every tensor needs a first (sample) dimension")
        sizes = [a.shape[0] for a in arrays]
        if len(set(sizes)) != 1:
            shapes = ", ".join(fmt_shape(a.shape) for a in arrays)
            raise ShapeError(
                f"TensorDataset: all tensors must have the same length (first dimension), got shapes {shapes}"
            )
        self.arrays = arrays
        self.transform = transform
        self.target_transform = target_transform

    @property
    def tensors(self) -> tuple:
        """The stored data as Tensors (sharing memory)."""
        return tuple(Tensor._wrap(a) for a in self.arrays)

    def __len__(self) -> int:
        return self.arrays[0].shape[0]

    def _apply(self, items: list) -> tuple:
        if self.transform is not None:
            items[0] = self.transform(items[0])
        if self.target_transform is not None and len(items) > 1:
            items[-1] = self.target_transform(items[-1])
        return tuple(_wrap(x) for x in items)

    def __getitem__(self, index):
        n = len(self)
        if isinstance(index, (int, numpy.integer)) and not isinstance(index, bool):
            if not -n <= index < n:
                raise IndexOutOfRange(f"TensorDataset: index {index} is out of range for a dataset of {n} samples")
            return self._apply([a[index] for a in self.arrays])
        raise ArgumentTypeError(f"TensorDataset: index must be an int, got {type(index).__name__}; use get_batch for many")

    def get_batch(self, indices) -> tuple:
        """The samples at ``indices`` (1-D ints) stacked: a tuple of Tensors with a leading batch dim."""
        indices = numpy.asarray(indices)
        return self._apply([a.take(indices, axis=0) for a in self.arrays])

    def __repr__(self) -> str:
        shapes = ", ".join(f"{fmt_shape(a.shape)} {a.dtype}" for a in self.arrays)
        return f"TensorDataset({shapes})"


class Subset(Dataset):
    """The samples of ``dataset`` at ``indices``, in that order."""

    def __init__(self, dataset, indices: Sequence[int]):
        self.dataset = dataset
        idx = numpy.asarray(indices, dtype=numpy.int64).reshape(-1)
        n = len(dataset)
        if idx.size and (idx.min() < -n or idx.max() >= n):
            raise IndexOutOfRange(f"Subset: indices must lie in [-{n}, {n}) for a dataset of {n} samples")
        self.indices = idx

    @property
    def batchable(self) -> bool:
        return is_batchable(self.dataset)

    def __len__(self) -> int:
        return int(self.indices.size)

    def __getitem__(self, index):
        return self.dataset[int(self.indices[index])]

    def get_batch(self, indices):
        return self.dataset.get_batch(self.indices[numpy.asarray(indices)])

    def __getattr__(self, name):
        # Metadata such as ``classes`` or ``num_classes`` stays reachable through a split.
        if name.startswith("_") or name == "dataset":
            raise AttributeNotFound(name)
        return getattr(self.dataset, name)


class ConcatDataset(Dataset):
    """Several datasets one after the other."""

    def __init__(self, datasets):
        self.datasets = list(datasets)
        if not self.datasets:
            raise InvalidArgument("ConcatDataset: pass at least one dataset")
        self.cumulative_sizes = list(numpy.cumsum([len(d) for d in self.datasets]).tolist())

    @property
    def batchable(self) -> bool:
        return all(is_batchable(d) for d in self.datasets)

    def __len__(self) -> int:
        return self.cumulative_sizes[-1]

    def __getitem__(self, index):
        n = len(self)
        if not -n <= index < n:
            raise IndexOutOfRange(f"ConcatDataset: index {index} is out of range for a dataset of {n} samples")
        index = index + n if index < 0 else index
        part = bisect.bisect_right(self.cumulative_sizes, index)
        start = self.cumulative_sizes[part - 1] if part else 0
        return self.datasets[part][index - start]

    def get_batch(self, indices):
        indices = numpy.asarray(indices, dtype=numpy.int64)
        indices = numpy.where(indices < 0, indices + len(self), indices)
        cum = numpy.asarray(self.cumulative_sizes)
        part = numpy.searchsorted(cum, indices, side="right")
        starts = numpy.concatenate([[0], cum[:-1]])
        pieces = []
        for p in numpy.unique(part):
            where = numpy.nonzero(part == p)[0]
            pieces.append((where, self.datasets[p].get_batch(indices[where] - starts[p])))
        if len(pieces) == 1:
            return pieces[0][1]
        return _scatter(pieces, indices.size)



class StackDataset(Dataset):
    """Several equally long datasets side by side: sample ``i`` is the tuple (or dict) of their ``i``-th samples.

    ``StackDataset(images, labels)[i] == (images[i], labels[i])``;
    ``StackDataset(image=images, text=texts)[i] == {"image": images[i], "text": texts[i]}``
    (PyTorch's ``StackDataset``). When every part is batch-indexable, so is the stack.
    """

    def __init__(self, *args, **kwargs):
        if args and kwargs:
            raise InvalidArgument("StackDataset: supported either tuple- (via args) or dict- (via kwargs) like "
                                  "input/output, but both types are given")
        if not args and not kwargs:
            raise InvalidArgument("StackDataset: at least one dataset should be passed")
        parts = list(args) if args else list(kwargs.values())
        sizes = [len(d) for d in parts]
        if len(set(sizes)) != 1:
            names = [str(i) for i in range(len(args))] if args else list(kwargs)
            raise InvalidArgument("StackDataset: size mismatch between datasets: "
                                  + ", ".join(f"{n}: {k}" for n, k in zip(names, sizes)))
        self.datasets = tuple(args) if args else dict(kwargs)
        self._length = sizes[0]

    @property
    def batchable(self) -> bool:
        parts = self.datasets.values() if isinstance(self.datasets, dict) else self.datasets
        return all(is_batchable(d) for d in parts)

    def __len__(self) -> int:
        return self._length

    def __getitem__(self, index):
        if isinstance(self.datasets, dict):
            return {k: d[index] for k, d in self.datasets.items()}
        return tuple(d[index] for d in self.datasets)

    def get_batch(self, indices):
        if isinstance(self.datasets, dict):
            return {k: d.get_batch(indices) for k, d in self.datasets.items()}
        return tuple(d.get_batch(indices) for d in self.datasets)

def _scatter(pieces, n):
    """Reassemble batches of parts (positions, batch) into one batch in the original order."""
    first = pieces[0][1]
    if isinstance(first, (tuple, list)):
        return type(first)(_scatter([(w, b[i]) for w, b in pieces], n) for i in range(len(first)))
    if isinstance(first, dict):
        return {k: _scatter([(w, b[k]) for w, b in pieces], n) for k in first}
    arrays = [(w, b._data if isinstance(b, Tensor) else numpy.asarray(b)) for w, b in pieces]
    a0 = arrays[0][1]
    out = numpy.empty((n,) + a0.shape[1:], dtype=numpy.result_type(*[a for _, a in arrays]))
    for where, a in arrays:
        out[where] = a
    return Tensor._wrap(out)


def random_split(dataset, lengths: Sequence, generator=None) -> list:
    """Split ``dataset`` into non-overlapping random :class:`Subset` s.

    Args:
        dataset: any dataset with ``len``.
        lengths: the subsets' sizes (summing to ``len(dataset)``), or fractions
            summing to 1; as in PyTorch, ``floor(f * n)`` each and the remainder
            handed out one by one from the first subset on.
        generator: a ``numpy.random.Generator`` or an int seed; by default
            gradstep's global generator (fixed by ``gradstep.manual_seed``).
    """
    n = len(dataset)
    lengths = list(lengths)
    if lengths and all(isinstance(x, float) for x in lengths) and math.isclose(sum(lengths), 1.0, abs_tol=1e-6):
        if any(x < 0 for x in lengths):
            raise InvalidArgument(f"random_split: fractions must be non-negative, got {lengths}")
        sizes = [int(math.floor(n * f)) for f in lengths]
        for i in range(n - sum(sizes)):
            sizes[i % len(sizes)] += 1
    else:
        if not all(isinstance(x, (int, numpy.integer)) and x >= 0 for x in lengths):
            raise InvalidArgument(
                f"random_split: lengths must be non-negative ints summing to {n} or fractions summing to 1, got {lengths}"
            )
        sizes = [int(x) for x in lengths]
    if sum(sizes) != n:
        raise InvalidArgument(f"random_split: lengths sum to {sum(sizes)} but the dataset has {n} samples")
    rng = _generator(generator)
    perm = rng.permutation(n)
    out, start = [], 0
    for size in sizes:
        out.append(Subset(dataset, perm[start:start + size]))
        start += size
    return out


def _generator(generator) -> numpy.random.Generator:
    if generator is None:
        return backend.generator()
    if isinstance(generator, numpy.random.Generator):
        return generator
    if isinstance(generator, (int, numpy.integer)) and not isinstance(generator, bool):
        return numpy.random.default_rng(int(generator))
    raise ArgumentTypeError(f"generator must be a numpy.random.Generator, an int seed or None, got {type(generator).__name__}")
