"""``DistributedDataParallel``: one model replica per rank, gradients averaged over ranks.

Every rank runs the same model on its own shard of each batch. After
``loss.backward()`` the caller runs :meth:`DistributedDataParallel.sync_gradients`,
which averages the gradients over the ranks with one ``Allreduce`` per bucket
(a flat contiguous buffer of up to ``bucket_cap_mb``); each rank's optimizer then
takes the same step, so the replicas stay identical. With the loss a mean over
the local batch, the averaged gradient is the gradient of the mean over the
global batch: 2 ranks × 64 samples step exactly like 1 process × 128.
"""
from __future__ import annotations

import time

from ..nn.module import Module
from . import comm, training
from .buckets import make_buckets

__all__ = ["DistributedDataParallel"]


class DistributedDataParallel(Module):
    """Data-parallel wrapper of a :class:`gradstep.nn.Module`.

    On construction it joins the process group (:func:`gradstep.distributed.init`),
    checks that every rank built the same architecture and copies rank 0's
    parameters and buffers to every rank.

    Gradient averaging is explicit: call :meth:`sync_gradients` after
    ``backward()`` and before gradient clipping and ``optimizer.step()`` (skip it
    on the micro-steps of gradient accumulation: gradients keep summing locally
    and the sync after the last one averages the total).

    Args:
        module: the model (its parameters are the ones the optimizer updates).
        bucket_cap_mb: largest bucket in MiB (a bigger parameter gets its own).
        broadcast_buffers: in training mode, copy rank 0's buffers (BatchNorm
            running statistics) to every rank at each forward, so all replicas
            and rank 0's checkpoints agree. That makes a training-mode forward
            of a model with buffers a collective: every rank must run it (for
            a forward on one rank only, call ``ddp.module(x)``).
        gradient_as_bucket_view: after a sync, each ``p.grad`` is a view of its
            bucket instead of a separate array (no copy back; and with
            ``optimizer.zero_grad(set_to_none=False)`` backward accumulates
            straight into the buckets, so no copy in either). A gradient kept
            from an earlier step then changes with the bucket: copy it if you
            keep it.

    ``state_dict``, ``load_state_dict``, ``named_parameters`` and
    ``named_buffers`` are the wrapped module's (no ``module.`` prefix), so
    checkpoints interchange with single-process runs.

    Example:
        >>> model = DistributedDataParallel(net)
        >>> loss = F.cross_entropy(model(x), y)   # x, y: this rank's shard
        >>> loss.backward()
        >>> model.sync_gradients()
        >>> opt.step(); opt.zero_grad()
    """

    def __init__(self, module: Module, bucket_cap_mb: float = 25, broadcast_buffers: bool = True,
                 gradient_as_bucket_view: bool = True):
        super().__init__()
        if not isinstance(module, Module):
            raise TypeError(f"DistributedDataParallel: expected a gradstep.nn.Module, got {type(module).__name__}")
        if isinstance(module, DistributedDataParallel):
            raise TypeError("DistributedDataParallel: the module is already wrapped; wrap the inner model once")
        if isinstance(bucket_cap_mb, bool) or not isinstance(bucket_cap_mb, (int, float)) or not bucket_cap_mb > 0:
            raise ValueError(f"DistributedDataParallel: bucket_cap_mb must be a positive number, got {bucket_cap_mb!r}")
        comm.init()
        self.module = module
        self.bucket_cap_mb = float(bucket_cap_mb)
        self.broadcast_buffers = bool(broadcast_buffers)
        self.gradient_as_bucket_view = bool(gradient_as_bucket_view)
        self.world_size, self.rank = comm.get_world_size(), comm.get_rank()
        training.broadcast_parameters(module, root=0)  # also checks that the architectures agree
        self._build_buckets()
        self.allreduce_seconds = 0.0
        """Wall time spent inside the gradient Allreduce calls (waiting for slower ranks included)."""
        self.sync_seconds = 0.0
        """Wall time of whole :meth:`sync_gradients` calls (packing, Allreduce, unpacking)."""
        self.syncs = 0

    # -------------------------------------------------------------- forward
    def forward(self, *args, **kwargs):
        if self.broadcast_buffers and self.training and self.world_size > 1:
            self._broadcast_buffers()
        return self.module(*args, **kwargs)

    def _broadcast_buffers(self) -> None:
        arrays = [b._data for _, b in self.module.named_buffers()]
        if arrays:
            training._broadcast_arrays(arrays, 0, "buffer broadcast")

    # ------------------------------------------------------------- gradients
    def sync_gradients(self) -> None:
        """Average every trainable parameter's gradient over the ranks (call after ``backward``).

        Parameters that no rank has a gradient for keep ``grad = None``. A
        world of one rank returns at once.
        """
        if self.world_size == 1:
            return
        t0 = time.perf_counter()
        as_view = self.gradient_as_bucket_view
        spent = 0.0
        for bucket in self._buckets:
            bucket.gather(bucket.dtype.type(1.0 / self.world_size))
            t = time.perf_counter()
            comm._allreduce_flat(bucket.buffer, "gradient allreduce")
            spent += time.perf_counter() - t
            bucket.scatter(as_view)
        self.allreduce_seconds += spent
        self.sync_seconds += time.perf_counter() - t0
        self.syncs += 1

    def _build_buckets(self) -> None:
        trainable = [(n, p) for n, p in self.module.named_parameters() if p.requires_grad]
        self._buckets = make_buckets(trainable, int(self.bucket_cap_mb * (1 << 20)))

    @property
    def buckets(self) -> list:
        """The gradient buckets (each: ``params``, ``names``, ``dtype``, flat ``buffer``)."""
        return list(self._buckets)

    # ------------------------------------------------ the wrapped module's names
    def state_dict(self, *args, **kwargs):
        return self.module.state_dict(*args, **kwargs)

    def load_state_dict(self, state_dict, strict: bool = True, assign: bool = False):
        result = self.module.load_state_dict(state_dict, strict=strict, assign=assign)
        if assign:  # the parameters may be new objects: rebuild the buckets around them
            self._build_buckets()
        return result

    def named_parameters(self, prefix: str = "", recurse: bool = True, remove_duplicate: bool = True):
        return self.module.named_parameters(prefix=prefix, recurse=recurse, remove_duplicate=remove_duplicate)

    def named_buffers(self, prefix: str = "", recurse: bool = True, remove_duplicate: bool = True):
        return self.module.named_buffers(prefix=prefix, recurse=recurse, remove_duplicate=remove_duplicate)

    def extra_repr(self) -> str:
        return (f"world_size={self.world_size}, buckets={len(self._buckets)}, "
                f"bucket_cap_mb={self.bucket_cap_mb:g}")
