"""The process group: who we are (rank, world size) and the collectives over MPI.

Everything here works in a plain ``python`` process as a world of one rank,
with no MPI and no mpi4py imported. Under an MPI launcher (``mpirun -n 4 ...``)
:func:`init` imports mpi4py, duplicates ``COMM_WORLD`` (gradstep's traffic
never mixes with the user's own MPI calls) and arms two safety nets:

* an exception that escapes on one rank prints its traceback and calls
  ``MPI_Abort``, which ends every rank at once (otherwise the others would wait
  in their next collective forever);
* a watchdog thread: a collective that makes no progress for ``timeout``
  seconds (a rank died without the launcher noticing, hung, or took another
  code path) asks the other ranks which of them are waiting too, names the
  ones that are not, and aborts the job with a non-zero exit.

When a rank is killed outright, mpich's ``mpiexec`` already ends the others
within a fraction of a second ("BAD TERMINATION OF ONE OF YOUR APPLICATION
PROCESSES"); the watchdog is the net for the cases it cannot see.
"""
from __future__ import annotations

import os
import sys
import time

import numpy

from ..autograd.tensor import Tensor
from ..backend import xp
from ..errors import DTypeError, GradstepError
from .faults import RESUME_HINT, Watchdog, install_excepthook

__all__ = [
    "DistributedError", "init", "is_initialized", "is_available", "launcher", "get_rank", "get_world_size",
    "is_main_process", "barrier", "broadcast", "broadcast_object", "all_reduce", "all_gather_object",
    "abort", "DEFAULT_TIMEOUT",
]

DEFAULT_TIMEOUT = 50.0
"""Seconds a collective may wait for the other ranks before the job is aborted
(``$GRADSTEP_DIST_TIMEOUT`` overrides it; 0 turns the watchdog off). Below one
minute so that even a death the launcher misses ends the job within 60 s."""

_LAUNCHER_VARS = (
    "PMI_RANK", "PMI_SIZE", "PMI_FD", "PMIX_RANK", "OMPI_COMM_WORLD_SIZE", "OMPI_COMM_WORLD_RANK",
    "MV2_COMM_WORLD_SIZE", "MPI_LOCALNRANKS",
)


class DistributedError(GradstepError, RuntimeError):
    """Ranks that disagree (model structure, metric names, world size on resume), or misuse of the group."""


class _State:
    initialized = False
    rank = 0
    size = 1
    MPI = None          # the mpi4py.MPI module, when running under MPI
    comm = None         # gradstep's own duplicate of COMM_WORLD (None in a world of one)
    watchdog = None
    timeout = DEFAULT_TIMEOUT


_S = _State()


# ----------------------------------------------------------------- set-up
def launcher() -> str | None:
    """``"NAME=value"`` of the environment variable showing an MPI launcher started us, else None."""
    for var in _LAUNCHER_VARS:
        value = os.environ.get(var)
        if value is not None:
            return f"{var}={value}"
    return None


def is_available() -> bool:
    """Whether mpi4py can be imported (without initialising MPI)."""
    import importlib.util

    return importlib.util.find_spec("mpi4py") is not None


def _timeout_from(timeout) -> float:
    if timeout is None:
        env = os.environ.get("GRADSTEP_DIST_TIMEOUT")
        if env is None:
            return DEFAULT_TIMEOUT
        try:
            timeout = float(env)
        except ValueError:
            raise ValueError(f"GRADSTEP_DIST_TIMEOUT must be a number of seconds, got {env!r}") from None
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or timeout < 0 or timeout != timeout:
        raise ValueError(f"init: timeout must be a non-negative number of seconds (0 = no watchdog), got {timeout!r}")
    return float(timeout)


def init(timeout: float | None = None) -> int:
    """Join the process group; returns the world size. Idempotent.

    Without an MPI launcher this is a world of one rank (no MPI needed). Under
    ``mpirun``/``mpiexec`` it needs mpi4py (``pip install "gradstep[mpi]"``).

    Args:
        timeout: seconds a collective may wait for the other ranks before the
            watchdog aborts the job (default ``$GRADSTEP_DIST_TIMEOUT`` or
            :data:`DEFAULT_TIMEOUT`; 0 disables the watchdog). Calling ``init``
            again only updates it.
    """
    if _S.initialized:
        if timeout is not None:
            _set_timeout(_timeout_from(timeout))
        return _S.size
    seconds = _timeout_from(timeout)
    started_by = launcher()
    if started_by is None and sys.modules.get("mpi4py.MPI") is None:
        _S.initialized = True  # a plain process: a world of one, no MPI at all
        _S.timeout = seconds
        return 1
    try:
        import mpi4py

        mpi4py.rc.thread_level = "multiple"  # the watchdog thread may talk to MPI while the main thread waits
        from mpi4py import MPI
    except ImportError:
        raise ImportError(
            f"gradstep.distributed.init: this process was started by an MPI launcher ({started_by}) but mpi4py "
            f"is not installed; install the MPI extra: pip install \"gradstep[mpi]\" (mpi4py plus the mpich wheel, "
            f"which also provides mpirun)"
        ) from None
    if not MPI.Is_initialized():
        MPI.Init_thread(MPI.THREAD_MULTIPLE)
    world = MPI.COMM_WORLD
    _S.MPI, _S.rank, _S.size, _S.timeout = MPI, world.Get_rank(), world.Get_size(), seconds
    if _S.size > 1:
        _S.comm = world.Dup()
        _S.comm.Set_name("gradstep")
        heartbeat = world.Dup()
        heartbeat.Set_errhandler(MPI.ERRORS_RETURN)
        _S.watchdog = Watchdog(heartbeat, MPI, _S.rank, _S.size, seconds, abort)
        if seconds > 0:
            _S.watchdog.start()
        install_excepthook(_S.size, abort)
    _S.initialized = True
    return _S.size


def _set_timeout(seconds: float) -> None:
    _S.timeout = seconds
    wd = _S.watchdog
    if wd is not None:
        wd.timeout = seconds
        if seconds > 0 and not wd.is_alive():
            wd.start()


def is_initialized() -> bool:
    """Whether :func:`init` has run."""
    return _S.initialized


def _require_init(who: str = "") -> None:
    if not _S.initialized:
        init()


def get_rank() -> int:
    """This process's rank, 0 .. world size - 1 (joins the group first if :func:`init` has not run)."""
    if not _S.initialized:
        init()
    return _S.rank


def get_world_size() -> int:
    """How many ranks the job has (joins the group first if :func:`init` has not run)."""
    if not _S.initialized:
        init()
    return _S.size


def is_main_process() -> bool:
    """True on rank 0: the one rank that writes checkpoints, logs and reports."""
    return get_rank() == 0


# ------------------------------------------------------------ failure paths
def abort(message: str, code: int = 1):
    """Print ``message`` (prefixed with this rank) to stderr and end the whole job with exit ``code``."""
    sys.stderr.write(f"gradstep.distributed: rank {_S.rank}/{_S.size}: {message}\n")
    sys.stderr.flush()
    sys.stdout.flush()
    if _S.MPI is not None and _S.size > 1:
        time.sleep(0.5)  # let the launcher forward what we printed: MPI_Abort tears its pipes down at once
        _S.MPI.COMM_WORLD.Abort(code)
    os._exit(code)


def _run(name: str, fn, *args, limit: float | None = None):
    """Run one collective under the watchdog; an MPI error ends the job with a message."""
    wd = _S.watchdog
    if wd is not None:
        wd.arm(name, limit)
    try:
        return fn(*args)
    except _S.MPI.Exception as e:
        abort(f"{name} failed: {e.Get_error_string()} (a peer rank has probably died); aborting. {RESUME_HINT}")
    finally:
        if wd is not None:
            wd.disarm()


# ------------------------------------------------------------- collectives
_REDUCE_DTYPES = frozenset(numpy.dtype(t) for t in ("float32", "float64", "int32", "int64", "uint8"))


def _array_of(x, who: str):
    if isinstance(x, Tensor):
        return x._data
    if isinstance(x, xp.ndarray):
        return x
    raise TypeError(f"{who}: expected a gradstep Tensor or a NumPy array, got {type(x).__name__}")


def barrier(timeout: float | None = None) -> None:
    """Wait until every rank has called ``barrier``.

    Args:
        timeout: how long this barrier may wait before the watchdog aborts the
            job (default: the group's timeout; 0 = forever). For the other
            ranks to wait while rank 0 alone downloads a dataset, say.
    """
    _require_init("barrier")
    if timeout is not None and (isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or timeout < 0):
        raise ValueError(f"barrier: timeout must be a non-negative number of seconds (0 = forever), got {timeout!r}")
    if _S.size > 1:
        _run("barrier", _S.comm.Barrier, limit=timeout)


def broadcast(x, root: int = 0):
    """Overwrite ``x`` (a Tensor or array, same shape and dtype on every rank) with rank ``root``'s values.

    In place; returns ``x``.
    """
    _require_init("broadcast")
    arr = _array_of(x, "broadcast")
    _check_root(root, "broadcast")
    if _S.size > 1 and arr.size:
        if arr.flags.c_contiguous:
            _run("broadcast", _S.comm.Bcast, arr, root)
        else:
            tmp = xp.ascontiguousarray(arr)
            _run("broadcast", _S.comm.Bcast, tmp, root)
            arr[...] = tmp
        _bump(x)
    return x


def broadcast_object(obj, root: int = 0):
    """Rank ``root``'s ``obj`` (any picklable object) on every rank."""
    _require_init("broadcast_object")
    _check_root(root, "broadcast_object")
    if _S.size == 1:
        return obj
    return _run("broadcast_object", _S.comm.bcast, obj, root)


def all_gather_object(obj) -> list:
    """``[obj of rank 0, obj of rank 1, ...]`` on every rank (picklable objects)."""
    _require_init("all_gather_object")
    if _S.size == 1:
        return [obj]
    return _run("all_gather_object", _S.comm.allgather, obj)


def _check_root(root, who):
    if isinstance(root, bool) or not isinstance(root, (int, numpy.integer)) or not 0 <= root < _S.size:
        raise ValueError(f"{who}: root must be a rank in [0, {_S.size - 1}], got {root!r}")


def all_reduce(x, op: str = "mean", _name: str = "all_reduce"):
    """Combine ``x`` over all ranks: ``op`` is ``"mean"`` (default), ``"sum"``, ``"max"`` or ``"min"``.

    A Tensor or array is reduced in place (same shape and dtype on every rank)
    and returned; a Python or NumPy number gives a new Python number.
    ``"mean"`` needs a floating dtype.
    """
    _require_init("all_reduce")
    if op not in ("mean", "sum", "max", "min"):
        raise ValueError(f'all_reduce: op must be "mean", "sum", "max" or "min", got {op!r}')
    if isinstance(x, (bool, int, float, numpy.number)) and not isinstance(x, numpy.bool_):
        arr = numpy.array([x], dtype=numpy.float64 if op == "mean" or isinstance(x, (float, numpy.floating))
                          else numpy.int64)
        all_reduce(arr, op, _name)
        value = arr[0].item()
        return value
    arr = _array_of(x, "all_reduce")
    if arr.dtype not in _REDUCE_DTYPES:
        raise DTypeError(f"all_reduce: dtype {arr.dtype} is not supported (float32, float64, int32, int64 or uint8)")
    if op == "mean" and arr.dtype.kind != "f":
        raise DTypeError(f'all_reduce: op="mean" needs a floating tensor, got dtype {arr.dtype}; use op="sum"')
    if _S.size == 1 or arr.size == 0:
        return x
    MPI = _S.MPI
    mpi_op = {"mean": MPI.SUM, "sum": MPI.SUM, "max": MPI.MAX, "min": MPI.MIN}[op]
    buf = arr if arr.flags.c_contiguous else xp.ascontiguousarray(arr)
    _run(_name, _S.comm.Allreduce, MPI.IN_PLACE, buf, mpi_op)
    if op == "mean":
        buf *= buf.dtype.type(1.0 / _S.size)
    if buf is not arr:
        arr[...] = buf
    _bump(x)
    return x


def _bump(x) -> None:
    """Count an in-place write on a Tensor, so autograd notices if the old values were saved for backward."""
    if isinstance(x, Tensor):
        x._version[0] += 1


def _allreduce_flat(buf, name: str) -> None:
    """SUM-Allreduce a contiguous buffer in place (the DDP hot path: no checks)."""
    _run(name, _S.comm.Allreduce, _S.MPI.IN_PLACE, buf, _S.MPI.SUM)
