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
import threading
import time
import zlib

import numpy

from ..autograd.tensor import Tensor
from ..backend import xp
from ..errors import DTypeError, GradstepError

__all__ = [
    "DistributedError", "init", "is_initialized", "is_available", "launcher", "get_rank", "get_world_size",
    "is_main_process", "barrier", "broadcast", "broadcast_object", "all_reduce", "all_gather_object",
    "broadcast_parameters", "reduce_metrics", "check_world_size", "abort", "DEFAULT_TIMEOUT",
]

DEFAULT_TIMEOUT = 50.0
"""Seconds a collective may wait for the other ranks before the job is aborted
(``$GRADSTEP_DIST_TIMEOUT`` overrides it; 0 turns the watchdog off). Below one
minute so that even a death the launcher misses ends the job within 60 s."""

_LAUNCHER_VARS = (
    "PMI_RANK", "PMI_SIZE", "PMI_FD", "PMIX_RANK", "OMPI_COMM_WORLD_SIZE", "OMPI_COMM_WORLD_RANK",
    "MV2_COMM_WORLD_SIZE", "MPI_LOCALNRANKS",
)

_RESUME_HINT = ("Resume from the last checkpoint with --resume. "
                "If a rank is merely slow (e.g. rank 0 alone writing a large checkpoint), "
                "raise the limit with GRADSTEP_DIST_TIMEOUT=<seconds>.")


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
        _S.watchdog = _Watchdog(heartbeat, MPI, _S.rank, _S.size, seconds)
        if seconds > 0:
            _S.watchdog.start()
        _install_excepthook()
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


def _require_init(who: str) -> None:
    if not _S.initialized:
        init()


def get_rank() -> int:
    """This process's rank, 0 .. world size - 1 (0 before/without init)."""
    return _S.rank


def get_world_size() -> int:
    """How many ranks the job has (1 before/without init)."""
    return _S.size


def is_main_process() -> bool:
    """True on rank 0: the one rank that writes checkpoints, logs and reports."""
    return _S.rank == 0


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


def _install_excepthook() -> None:
    previous = sys.excepthook

    def hook(exc_type, exc, tb):
        previous(exc_type, exc, tb)
        what = "was interrupted" if issubclass(exc_type, KeyboardInterrupt) else f"stopped with {exc_type.__name__}"
        abort(f"this rank {what} (traceback above); aborting all {_S.size} ranks so none waits forever. "
              f"Resume from the last checkpoint with --resume.")

    sys.excepthook = hook


_ASK, _REPLY = 0x6753, 0x6754


class _Watchdog(threading.Thread):
    """Aborts the job when a collective waits longer than ``timeout`` seconds.

    The main thread marks each collective with :meth:`arm`/:meth:`disarm` (two
    attribute writes, nothing else on the hot path). This thread wakes twice a
    second; while a collective has waited a while it answers "who is waiting?"
    questions from other ranks on a separate communicator, and once the limit
    has passed it asks them itself, so the message can name the ranks that are
    not in the collective (dead, hung, or somewhere else in the code).
    """

    def __init__(self, heartbeat, MPI, rank: int, size: int, timeout: float):
        super().__init__(name="gradstep-distributed-watchdog", daemon=True)
        self.heartbeat, self.MPI, self.rank, self.size, self.timeout = heartbeat, MPI, rank, size, timeout
        self.op = None  # (name, start time) of the collective in flight
        self._sends: list = []
        self._can_talk = MPI.Query_thread() >= MPI.THREAD_MULTIPLE

    def arm(self, name: str) -> None:
        self.op = (name, time.monotonic())

    def disarm(self) -> None:
        self.op = None

    def run(self) -> None:
        while True:
            poll = min(0.5, max(self.timeout, 0.05) / 4)
            time.sleep(poll)
            op = self.op
            if op is None or self.timeout <= 0:
                continue
            waited = time.monotonic() - op[1]
            if waited < poll:
                continue
            try:
                if self._can_talk:
                    self._answer(op[0])
                if waited >= self.timeout:
                    self._give_up(op[0], waited)
            except Exception as e:  # never let the watchdog die silently: abort with what we know
                abort(f"{op[0]} made no progress and the watchdog failed ({e!r}); aborting. {_RESUME_HINT}")

    def _answer(self, name: str) -> dict:
        """Reply to every pending question with the collective we wait in; return who asked."""
        MPI, hb, heard = self.MPI, self.heartbeat, {}
        status = MPI.Status()
        while hb.iprobe(source=MPI.ANY_SOURCE, tag=_ASK, status=status):
            source = status.Get_source()
            heard[source] = hb.recv(source=source, tag=_ASK)
            self._sends.append(hb.isend(name, dest=source, tag=_REPLY))
        return heard

    def _give_up(self, name: str, waited: float) -> None:
        others = [r for r in range(self.size) if r != self.rank]
        heard: dict = {}
        if self._can_talk:
            MPI, hb = self.MPI, self.heartbeat
            for r in others:
                self._sends.append(hb.isend(name, dest=r, tag=_ASK))
            deadline = time.monotonic() + min(3.0, max(1.0, self.timeout / 10))
            status = MPI.Status()
            while len(heard) < len(others) and time.monotonic() < deadline:
                heard.update(self._answer(name))  # a rank that asks us is waiting too
                while hb.iprobe(source=MPI.ANY_SOURCE, tag=_REPLY, status=status):
                    source = status.Get_source()
                    heard[source] = hb.recv(source=source, tag=_REPLY)
                time.sleep(0.02)
            missing = [r for r in others if r not in heard]
        else:
            missing = others
        elsewhere = {r: op for r, op in heard.items() if op != name}
        if missing:
            who = f"rank {missing[0]}" if len(missing) == 1 else "ranks " + ", ".join(map(str, missing))
            msg = f"{who} stopped responding during {name} ({self.timeout:g} s)"
        elif elsewhere:
            msg = (f"the ranks are in different collectives ({name} here; "
                   + ", ".join(f"rank {r} in {op}" for r, op in sorted(elsewhere.items()))
                   + "): their code paths diverged")
        else:
            msg = f"{name} made no progress for {waited:.0f} s although every rank is waiting in it"
        abort(f"{msg}; aborting. {_RESUME_HINT}")


def _run(name: str, fn, *args):
    """Run one collective under the watchdog; an MPI error ends the job with a message."""
    wd = _S.watchdog
    if wd is not None:
        wd.op = (name, time.monotonic())
    try:
        return fn(*args)
    except _S.MPI.Exception as e:
        abort(f"{name} failed: {e.Get_error_string()} (a peer rank has probably died); aborting. {_RESUME_HINT}")
    finally:
        if wd is not None:
            wd.op = None


# ------------------------------------------------------------- collectives
_REDUCE_DTYPES = frozenset(numpy.dtype(t) for t in ("float32", "float64", "int32", "int64", "uint8"))


def _array_of(x, who: str):
    if isinstance(x, Tensor):
        return x._data
    if isinstance(x, xp.ndarray):
        return x
    raise TypeError(f"{who}: expected a gradstep Tensor or a NumPy array, got {type(x).__name__}")


def barrier() -> None:
    """Wait until every rank has called ``barrier``."""
    _require_init("barrier")
    if _S.size > 1:
        _run("barrier", _S.comm.Barrier)


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
    return x


def _allreduce_flat(buf, name: str) -> None:
    """SUM-Allreduce a contiguous buffer in place (the DDP hot path: no checks)."""
    _run(name, _S.comm.Allreduce, _S.MPI.IN_PLACE, buf, _S.MPI.SUM)


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
    _require_init(who)
    if _S.size == 1:
        return
    sig = _signature(module)
    digests = all_gather_object(zlib.crc32(repr(sig).encode()))
    if len(set(digests)) == 1:
        return
    sigs = all_gather_object(sig)  # rare path: fetch the full structures to say what differs
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
    _require_init("broadcast_parameters")
    _check_root(root, "broadcast_parameters")
    if _S.size == 1:
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
        if _S.rank == root:
            _pack(group, flat)
        _run(name, _S.comm.Bcast, flat.view(numpy.uint8) if dtype == numpy.bool_ else flat, root)
        if _S.rank != root:
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
    _require_init("reduce_metrics")
    if not isinstance(metrics, dict):
        raise TypeError(f"reduce_metrics: expected a dict of metrics, got {type(metrics).__name__}")
    values = [_to_float(v, k) for k, v in metrics.items()]
    if count is not None:
        if isinstance(count, bool) or not isinstance(count, (int, float, numpy.number)) or count < 0:
            raise ValueError(f"reduce_metrics: count must be a non-negative number of samples, got {count!r}")
        count = float(count)
    if _S.size == 1:
        return dict(zip(metrics, values))
    gathered = all_gather_object((tuple(metrics), values, count))
    keys = tuple(metrics)
    for r, (other_keys, _, other_count) in enumerate(gathered):
        if other_keys != keys:
            raise DistributedError(
                f"reduce_metrics: rank {r} reports metrics {list(other_keys)} but rank {_S.rank} reports "
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
    _require_init("check_world_size")
    if isinstance(saved, bool) or not isinstance(saved, (int, numpy.integer)) or saved < 1:
        raise ValueError(f"check_world_size: saved world size must be a positive int, got {saved!r}")
    if int(saved) != _S.size:
        now = "a single process" if _S.size == 1 else f"{_S.size} ranks"
        raise DistributedError(
            f"{source} was written by a job with {saved} rank{'s' if saved != 1 else ''} but this job has {now}: "
            f"each rank's share of every epoch and the global batch (world size x batch size) would change, so "
            f"training would not continue where it stopped. Relaunch with the same size "
            + ("(mpirun -n {0} ... --distributed)".format(saved) if saved > 1 else "(a single process, without mpirun)")
            + ", or start a new run from its weights."
        )
