"""DataLoader: batches from a dataset, shuffled reproducibly, resumable mid-epoch."""
from __future__ import annotations

import itertools
import queue
import threading
from typing import Callable

import numpy

from . import _rng
from .collate import default_collate, default_convert
from .dataset import is_batchable
from .iterable import IterableDataset
from .sampler import BatchSampler, RandomSampler, SequentialSampler, _check_seed, draw_seed
from ..errors import ArgumentTypeError, InvalidArgument

__all__ = ["DataLoader", "get_worker_info"]

_END = object()


def get_worker_info():
    """``None``: gradstep loads every batch in the main process (PyTorch returns ``None`` there too).

    Code written for PyTorch's worker processes (``if info is None: read
    everything``) therefore reads the whole dataset once, as it should.
    """
    return None


class DataLoader:
    """Iterate over ``dataset`` in batches of Tensors.

    Args:
        dataset: anything with ``len`` and ``[i]``; one with ``get_batch(indices)``
            (TensorDataset, the bundled datasets, their Subsets) is fetched a
            whole batch at a time by fancy-indexing its arrays, with no
            per-sample Python work. Or an :class:`IterableDataset`: its samples
            are taken in the order it yields them (no shuffle, sampler or
            batch_sampler), ``batch_size`` at a time; ``len(loader)`` exists
            only if the dataset defines ``__len__``.
        batch_size: samples per batch; ``None`` yields single samples.
        shuffle: a new random order every epoch.
        sampler: an explicit order (a Sampler or iterable of indices); excludes ``shuffle``.
        batch_sampler: yields whole lists of indices; excludes batch_size, shuffle, sampler, drop_last.
        drop_last: drop the last, smaller batch.
        collate_fn: turns a list of samples into a batch (default
            :func:`~gradstep.data.default_collate`; giving one disables the
            ``get_batch`` fast path).
        generator: a ``numpy.random.Generator`` from which the loader's seed is drawn.
        prefetch: prepare this many batches ahead in a background thread (0: none).
        num_workers: PyTorch's worker processes; here ``num_workers > 0`` loads
            in the background thread, ``2 * num_workers`` batches ahead (PyTorch's
            default ``prefetch_factor`` of 2 per worker) unless ``prefetch`` is
            given. The batches are the same for every value.
        pin_memory: accepted for PyTorch scripts; no effect (there is no device
            memory to copy to).
        seed: the loader's seed itself (else drawn from ``generator`` or, by
            default, from gradstep's global generator, so ``gradstep.manual_seed``
            before building the loader fixes everything below).

    Determinism and resume (the design):
        Everything random about epoch ``e`` is a pure function of
        ``(seed, e)``: the shuffled order is ``default_rng([seed, e])``'s
        permutation, and random transforms run while fetching batch ``k`` draw
        from a generator seeded with ``(seed, e, k)`` (see
        :mod:`gradstep.data._rng`). Nothing depends on how many random numbers
        were drawn before, so

        * each ``for batch in loader`` runs the next epoch (0, 1, 2, ...) in a
          new order; ``set_epoch(e)`` chooses the epoch the next pass runs;
        * batches are identical with and without ``prefetch``;
        * ``state_dict()`` is just ``{"seed", "epoch", "batch"}`` (``batch`` =
          batches already handed out in that epoch) and, after
          ``load_state_dict(state)``, the next pass yields exactly the remaining
          batches of that epoch, without loading the skipped ones; the pass
          after that is epoch ``e + 1`` as usual.

        A custom ``sampler``/``batch_sampler`` is told the epoch through its
        ``set_epoch`` if it has one; on resume its first batches are drawn and
        discarded (not loaded), which is exact when its order depends only on
        the epoch. An :class:`IterableDataset` likewise gets ``set_epoch`` if
        it has it, and on resume the samples of the batches already handed
        out are read again from a new ``iter(dataset)`` and dropped (not
        collated): exact when the stream an epoch yields depends only on the
        epoch.

    Example:
        >>> gs.manual_seed(0)
        >>> loader = DataLoader(TensorDataset(X, y), batch_size=32, shuffle=True)
        >>> for xb, yb in loader:
        ...     loss = F.cross_entropy(model(xb), yb)
    """

    def __init__(self, dataset, batch_size: int | None = 1, shuffle: bool = False, sampler=None,
                 batch_sampler=None, drop_last: bool = False, collate_fn: Callable | None = None,
                 generator=None, prefetch: int = 0, seed: int | None = None, *, num_workers: int = 0,
                 pin_memory: bool = False):
        self._iterable = isinstance(dataset, IterableDataset)
        if self._iterable:
            # As PyTorch: the stream sets the order, so nothing else may.
            if shuffle not in (False, None):
                raise InvalidArgument(f"DataLoader with IterableDataset: expected unspecified shuffle option, but got "
                                      f"shuffle={shuffle!r}")
            if sampler is not None:
                raise InvalidArgument(f"DataLoader with IterableDataset: expected unspecified sampler option, but "
                                      f"got sampler={sampler!r}")
            if batch_sampler is not None:
                raise InvalidArgument(f"DataLoader with IterableDataset: expected unspecified batch_sampler option, "
                                      f"but got batch_sampler={batch_sampler!r}")
        else:
            try:
                n = len(dataset)
            except TypeError:
                raise ArgumentTypeError(f"DataLoader: the dataset ({type(dataset).__name__}) must define __len__ "
                                        f"(or be an IterableDataset)") from None
            if n == 0:
                raise InvalidArgument("DataLoader: the dataset is empty")
        if batch_size is not None and (not isinstance(batch_size, (int, numpy.integer))
                                       or isinstance(batch_size, bool) or batch_size <= 0):
            raise InvalidArgument(f"DataLoader: batch_size must be a positive int or None, got {batch_size!r}")
        if not isinstance(prefetch, (int, numpy.integer)) or isinstance(prefetch, bool) or prefetch < 0:
            raise InvalidArgument(f"DataLoader: prefetch must be a non-negative int, got {prefetch!r}")
        if not isinstance(num_workers, (int, numpy.integer)) or isinstance(num_workers, bool) or num_workers < 0:
            raise InvalidArgument(f"DataLoader: num_workers must be a non-negative int (0 loads in the main process), "
                                  f"got {num_workers!r}")
        if collate_fn is not None and not callable(collate_fn):
            raise ArgumentTypeError(f"DataLoader: collate_fn must be callable, got {type(collate_fn).__name__}")
        if sampler is not None and shuffle:
            raise InvalidArgument("DataLoader: sampler is mutually exclusive with shuffle=True (the sampler sets the order)")
        if batch_sampler is not None and (batch_size != 1 or shuffle or sampler is not None or drop_last):
            raise InvalidArgument("DataLoader: batch_sampler is mutually exclusive with batch_size, shuffle, sampler and drop_last")
        if batch_size is None and drop_last:
            raise InvalidArgument("DataLoader: drop_last needs a batch_size")

        self.dataset = dataset
        self.seed = _check_seed(seed, "DataLoader") if seed is not None else draw_seed(generator)
        self.num_workers, self.pin_memory = int(num_workers), bool(pin_memory)
        self.prefetch = int(prefetch) if prefetch or not num_workers else 2 * self.num_workers
        self.drop_last = bool(drop_last)
        if self._iterable:
            self.sampler = self.batch_sampler = None
            self.batch_size = None if batch_size is None else int(batch_size)
        elif batch_sampler is not None:
            self.batch_size = None
            self.sampler = getattr(batch_sampler, "sampler", None)
            self.batch_sampler = batch_sampler
        else:
            if sampler is None:
                sampler = RandomSampler(dataset, seed=self.seed) if shuffle else SequentialSampler(dataset)
            self.sampler = sampler
            self.batch_size = None if batch_size is None else int(batch_size)
            self.batch_sampler = None if batch_size is None else BatchSampler(sampler, self.batch_size, self.drop_last)
        batched = self.batch_sampler is not None or (self._iterable and self.batch_size is not None)
        self.collate_fn = collate_fn if collate_fn is not None else (default_collate if batched else default_convert)
        self._fast = self.batch_sampler is not None and self.collate_fn is default_collate and is_batchable(dataset)
        self._next = (0, 0)  # (epoch, batches to skip) of the next pass
        self._progress = None  # [epoch, batches handed out, batches in the epoch] of the current pass

    # ------------------------------------------------------------------ size
    def __len__(self) -> int:
        if self._iterable:
            try:
                n = len(self.dataset)
            except (TypeError, NotImplementedError):
                raise ArgumentTypeError(f"DataLoader: len() of a loader over an IterableDataset needs the dataset's "
                                        f"length, and {type(self.dataset).__name__} defines no __len__") from None
            if self.batch_size is None:
                return n
            return n // self.batch_size if self.drop_last else -(-n // self.batch_size)
        if self.batch_sampler is not None:
            return len(self.batch_sampler)
        return len(self.sampler)

    # ----------------------------------------------------------------- state
    def set_epoch(self, epoch: int) -> None:
        """Make the next pass over the loader run epoch ``epoch`` from its start."""
        self._next = (int(epoch), 0)
        self._progress = None

    def state_dict(self) -> dict:
        """Where the loader is: ``{"seed", "epoch", "batch"}`` (JSON-serialisable).

        Mid-pass it is the running epoch and how many of its batches were handed
        out; otherwise the epoch the next pass will run, from batch 0.
        """
        p = self._progress
        epoch, batch = (p[0], p[1]) if p is not None and p[1] < p[2] else self._next
        state = {"seed": self.seed, "epoch": int(epoch), "batch": int(batch)}
        sampler_seed = getattr(self.sampler, "seed", None)
        if sampler_seed is not None and sampler_seed != self.seed:
            state["sampler_seed"] = int(sampler_seed)
        return state

    def load_state_dict(self, state: dict) -> None:
        """Resume from :meth:`state_dict`: the next pass yields that epoch's remaining batches."""
        try:
            seed, epoch, batch = state["seed"], int(state["epoch"]), int(state["batch"])
        except (KeyError, TypeError, ValueError):
            raise InvalidArgument(f"DataLoader.load_state_dict: expected a dict with seed, epoch and batch, got {state!r}") from None
        total = self._length()
        if epoch < 0 or not 0 <= batch <= total:
            raise InvalidArgument(f"DataLoader.load_state_dict: epoch {epoch}, batch {batch} is outside this loader "
                                  f"({total} batches per epoch); was it saved from another dataset or batch size?")
        self.seed = _check_seed(seed, "DataLoader.load_state_dict")
        if hasattr(self.sampler, "seed"):
            self.sampler.seed = int(state.get("sampler_seed", self.seed))
        self._next = (epoch, batch)
        self._progress = None

    # ------------------------------------------------------------- iteration
    def _length(self):
        """Batches per epoch, or infinity when that can't be known (a stream without ``__len__``)."""
        try:
            return len(self)
        except (TypeError, NotImplementedError):
            return float("inf")

    def __iter__(self):
        epoch, skip = self._next
        self._next = (epoch + 1, 0)
        if self._iterable:
            total, batches = self._length(), self._stream(epoch, skip)
        else:
            total, jobs = self._plan(epoch, skip)
            batches = (self._fetch(epoch, k, idx) for k, idx in jobs)
        progress = self._progress = [epoch, skip, total]
        if self.prefetch:
            batches = _prefetched(batches, self.prefetch)
        return self._count(batches, progress)

    def _count(self, batches, progress):
        for batch in batches:
            progress[1] += 1
            yield batch
        progress[2] = progress[1]  # the pass is over, even when its length wasn't known

    def _stream(self, epoch: int, skip: int):
        """The batches of an IterableDataset's epoch ``epoch`` from batch ``skip`` on."""
        if callable(getattr(self.dataset, "set_epoch", None)):
            self.dataset.set_epoch(epoch)
        size = 1 if self.batch_size is None else self.batch_size
        samples = iter(self.dataset)
        for k in itertools.count():
            with _rng.batch_scope(self.seed, epoch, k):  # random draws inside the stream: per batch, as for indices
                items = list(itertools.islice(samples, size))
                if not items or (len(items) < size and self.drop_last):
                    return
                if k < skip:  # resuming: already handed out, read again but not collated
                    continue
                batch = self.collate_fn(items) if self.batch_size is not None else self.collate_fn(items[0])
            yield batch

    def _plan(self, epoch: int, skip: int):
        """(batches in the epoch, iterator of (batch number, indices)) starting at batch ``skip``."""
        bs = self.batch_sampler
        order = getattr(self.sampler, "order", None)
        if isinstance(bs, BatchSampler) and bs.sampler is self.sampler and callable(order):
            # Our own samplers: the whole epoch's order as one array, sliced per batch.
            if hasattr(self.sampler, "set_epoch"):
                self.sampler.set_epoch(epoch)  # keep the sampler's own notion of the epoch in step
            idx = order(epoch)
            size = bs.batch_size
            total = idx.size // size if bs.drop_last else -(-idx.size // size)
            return total, ((k, idx[k * size:(k + 1) * size]) for k in range(skip, total))
        target = bs if bs is not None else self.sampler
        if hasattr(target, "set_epoch"):
            target.set_epoch(epoch)
        elif hasattr(self.sampler, "set_epoch"):
            self.sampler.set_epoch(epoch)
        try:
            total = len(self)
        except TypeError:
            total = float("inf")
        return total, itertools.islice(enumerate(target), skip, None)

    def _fetch(self, epoch: int, k: int, indices):
        with _rng.batch_scope(self.seed, epoch, k):
            if self._fast:
                return default_convert(self.dataset.get_batch(numpy.asarray(indices, dtype=numpy.int64)))
            if self.batch_sampler is None:
                return self.collate_fn(self.dataset[indices])
            return self.collate_fn([self.dataset[int(i)] for i in indices])

    def __repr__(self) -> str:
        total = self._length()
        try:
            size = f" of {len(self.dataset)}"
        except (TypeError, NotImplementedError):
            size = ""
        return (f"DataLoader({type(self.dataset).__name__}{size}, batch_size={self.batch_size}, "
                f"batches={total if total != float('inf') else '?'}, prefetch={self.prefetch})")


def _prefetched(batches, depth: int):
    """Run ``batches`` (a lazy generator of fetched batches) in a thread, ``depth`` ahead."""
    q: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(item) -> bool:
        while not stop.is_set():
            try:
                q.put(item, timeout=0.05)
                return True
            except queue.Full:
                continue
        return False

    def work():
        try:
            for batch in batches:
                if not put((True, batch)):
                    return
        except BaseException as exc:  # handed to the consumer, raised there at the same position
            put((False, exc))
            return
        put((True, _END))

    worker = threading.Thread(target=work, name="gradstep-data-prefetch", daemon=True)
    worker.start()
    try:
        while True:
            ok, item = q.get()
            if not ok:
                raise item
            if item is _END:
                return
            yield item
    finally:
        stop.set()
        worker.join(timeout=10)
