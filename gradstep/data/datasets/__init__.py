"""Ready-made datasets, by function or by name.

No network needed: ``digits`` (bundled), ``spirals``, ``moons``, ``circles``,
``xor``, ``blobs`` (generated), ``text`` and ``csv`` (from your files).
Downloaded once into ``$GRADSTEP_DATA`` or ``~/.cache/gradstep`` and verified
by SHA-256: ``mnist``, ``fashion_mnist``, ``cifar10``.

>>> from gradstep.data import datasets
>>> datasets.available()
['blobs', 'cifar10', 'circles', 'csv', 'digits', 'fashion_mnist', 'mnist', 'moons', 'spirals', 'text', 'xor']
>>> train = datasets.get("digits", split="train")
"""
from __future__ import annotations

from typing import Callable

from ._download import ChecksumError, DatasetNotFoundError, cache_dir
from .digits import digits
from .formats import read_cifar_binary, read_idx, write_idx
from .synthetic import blobs, circles, moons, spirals, xor
from .tabular import csv
from .text import CharDataset, text
from .vision import cifar10, fashion_mnist, mnist
from ...errors import ArgumentTypeError, InvalidArgument

__all__ = [
    "get", "available", "register", "digits", "spirals", "moons", "circles", "xor", "blobs", "mnist",
    "fashion_mnist", "cifar10", "text", "csv", "CharDataset", "read_idx", "write_idx", "read_cifar_binary",
    "cache_dir", "ChecksumError", "DatasetNotFoundError",
]

_REGISTRY: dict[str, Callable] = {
    "digits": digits, "spirals": spirals, "moons": moons, "circles": circles, "xor": xor, "blobs": blobs,
    "mnist": mnist, "fashion_mnist": fashion_mnist, "cifar10": cifar10, "text": text, "csv": csv,
}


def _key(name: str) -> str:
    return name.strip().lower().replace("-", "_")


def available() -> list[str]:
    """The names :func:`get` accepts."""
    return sorted(_REGISTRY)


def register(name: str, factory: Callable) -> None:
    """Make ``get(name, **kw)`` call ``factory(**kw)`` (for your own datasets)."""
    if not callable(factory):
        raise ArgumentTypeError(f"register: factory must be callable, got {type(factory).__name__}")
    _REGISTRY[_key(name)] = factory


def get(name: str, **kwargs):
    """The dataset called ``name`` (see :func:`available`), built with ``kwargs``.

    ``"fashion-mnist"`` and ``"fashion_mnist"`` are the same name.
    """
    if not isinstance(name, str):
        raise ArgumentTypeError(f"datasets.get: name must be a string, got {type(name).__name__}")
    factory = _REGISTRY.get(_key(name))
    if factory is None:
        raise InvalidArgument(f"unknown dataset {name!r}; available: {', '.join(available())}")
    return factory(**kwargs)
