"""What happens when a rank fails: an exception aborts the job; a stuck collective is diagnosed, then aborted.

Ranks wait for each other inside every collective, so one rank that stops
leaves the others waiting forever unless something ends the job. Three cases:

* killed: mpich's ``mpiexec`` notices the dead process and ends the others;
* a Python exception: the hook installed here prints the traceback and calls
  ``MPI_Abort`` (every rank ends at once, exit code 1);
* hung, gone without the launcher noticing, or on another code path: the
  :class:`Watchdog` sees a collective waiting past the timeout, asks the other
  ranks on a separate communicator which of them are waiting too, names the
  ones that are not, and aborts.
"""
from __future__ import annotations

import sys
import threading
import time

__all__ = ["RESUME_HINT", "Watchdog", "install_excepthook"]

RESUME_HINT = ("Resume from the last checkpoint with --resume. "
               "If a rank is merely slow (e.g. rank 0 alone writing a large checkpoint), "
               "raise the limit with GRADSTEP_DIST_TIMEOUT=<seconds>.")


def install_excepthook(size: int, abort) -> None:
    """Make an uncaught exception on this rank print its traceback, then ``abort`` the whole job."""
    previous = sys.excepthook

    def hook(exc_type, exc, tb):
        previous(exc_type, exc, tb)
        what = "was interrupted" if issubclass(exc_type, KeyboardInterrupt) else f"stopped with {exc_type.__name__}"
        abort(f"this rank {what} (traceback above); aborting all {size} ranks so none waits forever. "
              f"Resume from the last checkpoint with --resume.")

    sys.excepthook = hook


_ASK, _REPLY = 0x6753, 0x6754


class Watchdog(threading.Thread):
    """Aborts the job when a collective waits longer than ``timeout`` seconds.

    The main thread marks each collective with :meth:`arm`/:meth:`disarm` (two
    attribute writes, nothing else on the hot path). This thread wakes twice a
    second; while a collective has waited a while it answers "who is waiting?"
    questions from other ranks on a separate communicator, and once the limit
    has passed it asks them itself, so the message can name the ranks that are
    not in the collective (dead, hung, or somewhere else in the code).
    """

    def __init__(self, heartbeat, MPI, rank: int, size: int, timeout: float, abort):
        super().__init__(name="gradstep-distributed-watchdog", daemon=True)
        self.heartbeat, self.MPI, self.rank, self.size, self.timeout = heartbeat, MPI, rank, size, timeout
        self.abort = abort
        self.op = None  # (name, start time, limit or None) of the collective in flight
        self._sends: list = []
        self._can_talk = MPI.Query_thread() >= MPI.THREAD_MULTIPLE

    def arm(self, name: str, limit: float | None = None) -> None:
        """A collective starts; ``limit`` overrides the timeout for it (0 = wait forever)."""
        self.op = (name, time.monotonic(), limit)

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
            limit = self.timeout if op[2] is None else op[2]
            try:
                if self._can_talk:
                    self._answer(op[0])
                if 0 < limit <= waited:
                    self._give_up(op[0], limit)
            except Exception as e:  # never let the watchdog die silently: abort with what we know
                self.abort(f"{op[0]} made no progress and the watchdog failed ({e!r}); aborting. {RESUME_HINT}")

    def _answer(self, name: str) -> dict:
        """Reply to every pending question with the collective we wait in; return who asked."""
        MPI, hb, heard = self.MPI, self.heartbeat, {}
        status = MPI.Status()
        while hb.iprobe(source=MPI.ANY_SOURCE, tag=_ASK, status=status):
            source = status.Get_source()
            heard[source] = hb.recv(source=source, tag=_ASK)
            self._sends.append(hb.isend(name, dest=source, tag=_REPLY))
        return heard

    def _give_up(self, name: str, limit: float) -> None:
        others = [r for r in range(self.size) if r != self.rank]
        heard: dict = {}
        if self._can_talk:
            MPI, hb = self.MPI, self.heartbeat
            for r in others:
                self._sends.append(hb.isend(name, dest=r, tag=_ASK))
            deadline = time.monotonic() + min(3.0, max(1.0, limit / 10))
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
            msg = f"{who} stopped responding during {name} ({limit:g} s)"
        elif elsewhere:
            msg = (f"the ranks are in different collectives ({name} here; "
                   + ", ".join(f"rank {r} in {op}" for r, op in sorted(elsewhere.items()))
                   + "): their code paths diverged")
        else:
            msg = f"{name} made no progress for {limit:g} s although every rank is waiting in it"
        self.abort(f"{msg}; aborting. {RESUME_HINT}")
