"""Data-parallel training over MPI (mpi4py): one process per rank, gradients averaged with Allreduce.

Install the optional extra, which brings mpi4py and an MPI implementation from
its PyPI wheel (mpich, with its ``mpirun``/``mpiexec`` in the environment's
``bin``), so no system MPI is needed::

    pip install "gradstep[mpi]"

Without a launcher everything here works as a world of one rank (mpi4py is not
even imported), so the same script runs alone or under ``mpirun``.

Launching
---------
On one machine::

    mpirun -n 2 gradstep train --distributed ...
    mpirun -n 2 python my_script.py

Across hosts with mpich's launcher (hydra, over ssh): every host needs
passwordless ssh from the launching host, the same Python environment at the
same path, the code and the data; list the hosts (and how many ranks each
takes) in a hostfile::

    # hosts
    node1:2
    node2:2

    mpirun -f hosts -n 4 gradstep train --distributed ...

(Open MPI's ``mpirun`` spells it ``--hostfile hosts``.) Only rank 0 writes
checkpoints, so with no shared file system ``--resume`` reads rank 0's copy:
rank 0 loads it and broadcasts it (see "resuming" below).

API
---
- :func:`init` (idempotent; returns the world size), :func:`get_rank`,
  :func:`get_world_size`, :func:`is_initialized`, :func:`is_main_process`.
- Collectives: :func:`barrier`, :func:`broadcast` (in place),
  :func:`broadcast_object`, :func:`all_reduce` (``op="mean"|"sum"|"max"|"min"``,
  in place on tensors/arrays), :func:`all_gather_object`,
  :func:`broadcast_parameters` (module, root=0), :func:`check_same_structure` (module),
  :func:`reduce_metrics` (dict, count=None) -> dict averaged over ranks.
- :class:`DistributedDataParallel` (module, bucket_cap_mb=25): see below.
- :func:`check_world_size` (saved) for resume; :func:`abort` (message) to end
  every rank with a message; :class:`DistributedError`.

A training loop under ``--distributed`` (what ``gradstep train`` does)
---------------------------------------------------------------------
::

    import gradstep.distributed as dist
    from gradstep.data import DataLoader, DistributedSampler

    dist.init()                                   # first, before building data loaders
    gs.manual_seed(seed)                          # same seed everywhere (rank 0's weights win anyway)
    model = dist.DistributedDataParallel(net)     # broadcasts rank 0's parameters and buffers
    opt = gs.optim.Adam(model.parameters(), lr)   # the wrapped module's own parameters
    sampler = DistributedSampler(train_set, seed=seed, shuffle=True)  # rank/world from dist
    loader = DataLoader(train_set, batch_size=per_rank_batch, sampler=sampler)
    for epoch ...:
        loader.set_epoch(epoch)                   # (the DataLoader tells the sampler)
        for x, y in loader:
            loss = F.cross_entropy(model(x), y)   # mean over the local batch
            loss.backward()
            model.sync_gradients()                # explicit: average grads over ranks (one Allreduce per bucket)
            clip_grad_norm_(...)                  # optional, after the sync
            opt.step(); opt.zero_grad()
        stats = dist.reduce_metrics({"loss": loss_sum / n, "acc": correct / n}, count=n)
        if dist.is_main_process():                # rank 0 alone: checkpoints, logs, the report
            save(model.state_dict(), ...)         # keys without "module.": same as a 1-process run

* The batch size is per rank; the global batch is ``world size x batch``. With
  the loss a mean over the local batch, 2 ranks x 64 take exactly the steps of
  1 process x 128 on the same data order (tested).
* Gradient averaging is NOT automatic: call ``model.sync_gradients()`` after
  every ``backward()`` (or after the last micro-step of gradient accumulation).
* Evaluation: give each rank a shard (``DistributedSampler(val_set,
  shuffle=False)``) and combine with ``reduce_metrics(..., count=n)``; the
  sampler pads the last shard by repeating indices (``drop_last=True`` avoids
  that), so the metric is exact when the dataset size divides by the world size.
* Record ``dist.get_world_size()`` in checkpoints. Resuming: call
  ``dist.check_world_size(saved)`` (a clear error when the job size changed),
  then every rank restores the same model, optimizer, sampler and RNG state:
  either every rank reads the file (shared file system), or rank 0 reads it
  and ``state = dist.broadcast_object(state if rank == 0 else None)``.
* Anything that only rank 0 does (writing a checkpoint, the report) happens
  while the other ranks wait in their next collective: keep it under the
  watchdog's timeout (``init(timeout=...)`` / ``$GRADSTEP_DIST_TIMEOUT``,
  default 50 s) or raise it. For long one-rank work whose length is unknown
  (rank 0 downloading a dataset before the others read it), make the others
  wait in ``dist.barrier(timeout=0)`` (no limit for that barrier).
* A training-mode forward of a wrapped model with buffers (BatchNorm) is a
  collective (rank 0's buffers are broadcast): run it on every rank, or call
  ``model.module(x)`` for one rank's own forward.

Faults
------
A rank that dies is noticed by mpich's ``mpiexec``, which ends the others at
once and exits non-zero ("BAD TERMINATION OF ONE OF YOUR APPLICATION
PROCESSES"). A Python exception on one rank prints its traceback and aborts
every rank. A collective that waits longer than the timeout (a hung rank, or
ranks in different code paths) is caught by a watchdog that names the ranks
that are not responding, e.g. ``rank 1 stopped responding during gradient
allreduce (50 s); aborting. Resume from the last checkpoint with --resume.``,
and ends the job with exit 1.
"""
from __future__ import annotations

from .comm import (
    DEFAULT_TIMEOUT,
    DistributedError,
    abort,
    all_gather_object,
    all_reduce,
    barrier,
    broadcast,
    broadcast_object,
    get_rank,
    get_world_size,
    init,
    is_available,
    is_initialized,
    is_main_process,
    launcher,
)
from .training import broadcast_parameters, check_same_structure, check_world_size, reduce_metrics
from .ddp import DistributedDataParallel

__all__ = [
    "init", "is_initialized", "is_available", "launcher", "get_rank", "get_world_size", "is_main_process",
    "barrier", "broadcast", "broadcast_object", "all_reduce", "all_gather_object", "broadcast_parameters",
    "check_same_structure", "reduce_metrics", "check_world_size", "abort", "DistributedError", "DistributedDataParallel",
    "DEFAULT_TIMEOUT",
]
