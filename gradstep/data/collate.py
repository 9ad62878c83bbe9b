"""Turning a list of samples into one batch of Tensors."""
from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy

from ..autograd.tensor import Tensor
from ..errors import ArgumentTypeError, ShapeError, fmt_shape

__all__ = ["default_collate", "default_convert"]


def _stack(arrays: list, where: str) -> numpy.ndarray:
    shape = arrays[0].shape
    for a in arrays:
        if a.shape != shape:
            raise ShapeError(
                f"collate: samples{where} have different shapes {fmt_shape(shape)} and {fmt_shape(a.shape)}; "
                f"make them equal (crop/pad) or pass a collate_fn"
            )
    return numpy.stack(arrays)


def default_collate(batch: list, _where: str = ""):
    """Stack a list of samples into a batch.

    Tensors and arrays are stacked along a new first dimension (dtypes kept);
    Python floats become float32, ints int64, bools bool; tuples, lists and
    dicts are collated field by field and keep their structure; strings are
    returned as a list.

    Example:
        >>> default_collate([(np.zeros(3, np.float32), 1), (np.ones(3, np.float32), 0)])
        (tensor of shape (2, 3) float32, tensor([1, 0]))
    """
    elem = batch[0]
    if isinstance(elem, Tensor):
        return Tensor._wrap(_stack([b._data for b in batch], _where))
    if isinstance(elem, (numpy.ndarray, numpy.generic)):
        if isinstance(elem, numpy.ndarray) and elem.dtype.kind in "OUS":
            raise ArgumentTypeError(f"collate: samples{_where} are arrays of dtype {elem.dtype}; pass a collate_fn")
        return Tensor._wrap(_stack([numpy.asarray(b) for b in batch], _where))
    if isinstance(elem, bool):
        return Tensor._wrap(numpy.array(batch, dtype=numpy.bool_))
    if isinstance(elem, (int, float)):
        is_float = any(isinstance(b, float) for b in batch)
        return Tensor._wrap(numpy.array(batch, dtype=numpy.float32 if is_float else numpy.int64))
    if isinstance(elem, (str, bytes)):
        return list(batch)
    if isinstance(elem, Mapping):
        return {k: default_collate([d[k] for d in batch], f"{_where}[{k!r}]") for k in elem}
    if isinstance(elem, Sequence):
        n = len(elem)
        if any(len(s) != n for s in batch):
            raise ShapeError(f"collate: samples{_where} are sequences of different lengths; pass a collate_fn")
        fields = [default_collate([s[i] for s in batch], f"{_where}[{i}]") for i in range(n)]
        if isinstance(elem, tuple):
            return type(elem)(*fields) if hasattr(elem, "_fields") else tuple(fields)
        return fields
    raise ArgumentTypeError(
        f"collate: don't know how to batch samples{_where} of type {type(elem).__name__}; "
        f"expected Tensors, arrays, numbers, or tuples/lists/dicts of them (or pass a collate_fn)"
    )


def default_convert(data):
    """Like :func:`default_collate` for an already-batched structure: arrays become Tensors."""
    if isinstance(data, Tensor):
        return data
    if isinstance(data, numpy.ndarray):
        return Tensor._wrap(data) if data.dtype.kind not in "OUS" else data
    if isinstance(data, numpy.generic):
        return Tensor._wrap(numpy.asarray(data))
    if isinstance(data, bool):
        return Tensor._wrap(numpy.array(data))
    if isinstance(data, int):
        return Tensor._wrap(numpy.array(data, dtype=numpy.int64))
    if isinstance(data, float):
        return Tensor._wrap(numpy.array(data, dtype=numpy.float32))
    if isinstance(data, Mapping):
        return {k: default_convert(v) for k, v in data.items()}
    if isinstance(data, tuple):
        fields = [default_convert(v) for v in data]
        return type(data)(*fields) if hasattr(data, "_fields") else tuple(fields)
    if isinstance(data, list):
        return [default_convert(v) for v in data]
    return data
