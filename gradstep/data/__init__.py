"""gradstep.data: datasets, samplers, the DataLoader, transforms and ready-made datasets.

>>> from gradstep.data import DataLoader, datasets
>>> train = datasets.digits("train")            # bundled, no network
>>> for x, y in DataLoader(train, batch_size=64, shuffle=True):
...     ...                                      # x: (64, 64) float32, y: (64,) int64

``gradstep.data.datasets`` (downloaders, parsers) is imported on first use so
``import gradstep.data`` stays cheap.
"""
from __future__ import annotations

from . import transforms
from .collate import default_collate, default_convert
from .dataloader import DataLoader, get_worker_info
from .dataset import ConcatDataset, Dataset, StackDataset, Subset, TensorDataset, is_batchable, random_split
from .iterable import ChainDataset, IterableDataset
from .sampler import (BatchSampler, DistributedSampler, RandomSampler, Sampler, SequentialSampler, SubsetRandomSampler,
                      WeightedRandomSampler)
from ..errors import AttributeNotFound

__all__ = [
    "Dataset", "TensorDataset", "Subset", "ConcatDataset", "random_split", "is_batchable",
    "Sampler", "SequentialSampler", "RandomSampler", "BatchSampler", "DistributedSampler",
    "DataLoader", "default_collate", "default_convert", "transforms", "datasets",
    "IterableDataset", "ChainDataset", "StackDataset", "SubsetRandomSampler", "WeightedRandomSampler",
    "get_worker_info",
]


def __getattr__(name):
    if name == "datasets":
        import importlib

        return importlib.import_module(".datasets", __name__)
    raise AttributeNotFound(f"module 'gradstep.data' has no attribute {name!r}")
