"""Where data augmentation draws its random numbers.

Inside a :class:`DataLoader` fetch, random transforms draw from a generator
seeded by ``(loader seed, epoch, batch number)``, held per thread. So the
augmentation of batch ``k`` is the same whether it is computed in the main
thread or in the prefetch thread, whatever the model draws meanwhile (dropout
uses the global generator), and a run resumed at batch ``k`` does not need to
replay batches ``0..k-1``. Outside a loader, transforms use gradstep's global
generator, so ``gradstep.manual_seed`` fixes them.
"""
from __future__ import annotations

import threading
from contextlib import contextmanager

import numpy

from .. import backend

_local = threading.local()


@contextmanager
def batch_scope(seed: int, epoch: int, batch: int):
    """Make :func:`current` return the generator of batch ``(seed, epoch, batch)`` in this thread."""
    previous = getattr(_local, "key", None), getattr(_local, "gen", None)
    _local.key, _local.gen = (seed, epoch, batch), None
    try:
        yield
    finally:
        _local.key, _local.gen = previous


def current() -> numpy.random.Generator:
    """The generator random transforms should use right now."""
    key = getattr(_local, "key", None)
    if key is None:
        return backend.generator()
    gen = _local.gen
    if gen is None:  # built on first use: loaders without random transforms never pay for it
        gen = _local.gen = numpy.random.default_rng(list(key))
    return gen
