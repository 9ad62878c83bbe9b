"""Collectives a training loop needs on top of the basic ones: whole modules, metrics, resume checks."""
from __future__ import annotations

import zlib

import numpy

from ..autograd.tensor import Tensor
from ..backend import xp
from . import comm
from .comm import DistributedError

__all__ = ["broadcast_parameters", "check_same_structure", "reduce_metrics", "check_world_size"]


def _state_arrays(module) -> list:
    """Every parameter and buffer array of ``module`` (each once), in state-dict order."""
    arrays, seen = [], set()
    for _, t in list(module.named_parameters()) + list(module.named_buffers()):
        if id(t._data) not in seen:
            seen.add(id(t._data))
            arrays.append(t._data)
    return arrays


def _signature(module) -> tuple:
    """Names, shapes and dtypes of a module's state: equal on every rank of a well-formed job."""
    return tuple((name, tuple(t.shape), str(t.dtype))
                 for name, t in list(module.named_parameters()) + list(module.named_buffers()))


def check_same_structure(module, who: str = "broadcast_parameters") -> None:
    """Raise :class:`DistributedError` on every rank if the ranks' modules differ in names, shapes or dtypes."""
    comm._require_init(who)
    if comm.get_world_size() == 1:
        return
    sig = _signature(module)
    digests = comm.all_gather_object(zlib.crc32(repr(sig).encode()))
    if len(set(digests)) == 1:
        return
    sigs = comm.all_gather_object(sig)  # rare path: fetch the full structures to say what differs
    ref = dict((n, (s, d)) for n, s, d in sigs[0])
    lines = []
    for r, other in enumerate(sigs[1:], 1):
        mine = dict((n, (s, d)) for n, s, d in other)
        for n in sorted(set(ref) | set(mine)):
            if ref.get(n) != mine.get(n):
                lines.append(f"{n}: rank 0 {ref.get(n, 'missing')}, rank {r} {mine.get(n, 'missing')}")
    raise DistributedError(
        f"{who}: the model differs between ranks (every rank must build the same architecture): "
        + "; ".join(lines[:8]) + (f"; ... ({len(lines)} differences)" if len(lines) > 8 else "")
    )


def broadcast_parameters(module, root: int = 0) -> None:
    """Copy rank ``root``'s parameters and buffers into every rank's ``module`` (in place).

    One flat buffer per dtype, one ``Bcast`` each. Raises
    :class:`DistributedError` on every rank if the modules' structures differ.
    """
    comm._require_init("broadcast_parameters")
    comm._check_root(root, "broadcast_parameters")
    if comm.get_world_size() == 1:
        return
    check_same_structure(module)
    _broadcast_arrays(_state_arrays(module), root, "parameter broadcast")


def _broadcast_arrays(arrays, root: int, name: str) -> None:
    """Overwrite ``arrays`` with rank ``root``'s: one flat buffer and one ``Bcast`` per dtype."""
    groups: dict = {}
    for arr in arrays:
        if arr.size:
            groups.setdefault(arr.dtype, []).append(arr)
    for dtype, group in groups.items():
        flat = xp.empty(sum(a.size for a in group), dtype)
        if comm.get_rank() == root:
            _pack(group, flat)
        comm._run(name, comm._S.comm.Bcast, flat.view(numpy.uint8) if dtype == numpy.bool_ else flat, root)
        if comm.get_rank() != root:
            _unpack(flat, group)


def _pack(arrays, flat) -> None:
    start = 0
    for a in arrays:
        flat[start:start + a.size] = a.reshape(-1)
        start += a.size


def _unpack(flat, arrays) -> None:
    start = 0
    for a in arrays:
        a[...] = flat[start:start + a.size].reshape(a.shape)
        start += a.size


def _to_float(value, key):
    if isinstance(value, Tensor):
        value = value._data
    try:
        f = float(value)
    except (TypeError, ValueError):
        raise TypeError(f"reduce_metrics: metric {key!r} must be a number or a one-element tensor, "
                        f"got {type(value).__name__}") from None
    return f


def reduce_metrics(metrics: dict, count=None) -> dict:
    """Average a dict of scalar metrics over all ranks; the same result on every rank.

    Args:
        metrics: ``{name: number}`` (Python/NumPy numbers or one-element
            tensors); every rank must pass the same names.
        count: how many samples this rank's values stand for. Given, the
            average is weighted by it (``sum(v_r * n_r) / sum(n_r)``), which is
            the exact dataset mean when ranks saw different numbers of samples;
            without it every rank weighs the same.

    Returns:
        ``{name: float}`` in the order of ``metrics``.
    """
    comm._require_init("reduce_metrics")
    if not isinstance(metrics, dict):
        raise TypeError(f"reduce_metrics: expected a dict of metrics, got {type(metrics).__name__}")
    values = [_to_float(v, k) for k, v in metrics.items()]
    if count is not None:
        if isinstance(count, bool) or not isinstance(count, (int, float, numpy.number)) or count < 0:
            raise ValueError(f"reduce_metrics: count must be a non-negative number of samples, got {count!r}")
        count = float(count)
    if comm.get_world_size() == 1:
        return dict(zip(metrics, values))
    gathered = comm.all_gather_object((tuple(metrics), values, count))
    keys = tuple(metrics)
    for r, (other_keys, _, other_count) in enumerate(gathered):
        if other_keys != keys:
            raise DistributedError(
                f"reduce_metrics: rank {r} reports metrics {list(other_keys)} but rank {comm.get_rank()} reports "
                f"{list(keys)}; every rank must pass the same names"
            )
        if (other_count is None) != (count is None):
            raise DistributedError("reduce_metrics: some ranks passed count= and others did not")
    weights = numpy.array([1.0 if c is None else c for _, _, c in gathered])
    table = numpy.array([v for _, v, _ in gathered], dtype=numpy.float64).reshape(len(gathered), len(keys))
    total = weights.sum()
    if total == 0:
        mean = numpy.full(len(keys), numpy.nan)
    else:
        mean = (weights[:, None] * table).sum(axis=0) / total  # rank order fixed: identical on every rank
    return {k: float(m) for k, m in zip(keys, mean)}


def check_world_size(saved: int, source: str = "the checkpoint") -> None:
    """Raise a clear :class:`DistributedError` when resuming under a different world size.

    The per-rank shards of each epoch's order and the global batch
    (``world size × batch``) depend on the world size, so a run resumed with a
    different one would not continue the interrupted run.
    """
    comm._require_init("check_world_size")
    if isinstance(saved, bool) or not isinstance(saved, (int, numpy.integer)) or saved < 1:
        raise ValueError(f"check_world_size: saved world size must be a positive int, got {saved!r}")
    if int(saved) != comm.get_world_size():
        now = "a single process" if comm.get_world_size() == 1 else f"{comm.get_world_size()} ranks"
        raise DistributedError(
            f"{source} was written by a job with {saved} rank{'s' if saved != 1 else ''} but this job has {now}: "
            f"each rank's share of every epoch and the global batch (world size x batch size) would change, so "
            f"training would not continue where it stopped. Relaunch with the same size "
            + ("(mpirun -n {0} ... --distributed)".format(saved) if saved > 1 else "(a single process, without mpirun)")
            + ", or start a new run from its weights."
        )
