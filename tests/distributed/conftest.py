"""Fixtures for the MPI tests: an ``mpirun`` that starts ranks of this very Python.

mpi4py and mpich come from the ``mpi`` extra (``pip install -e ".[test,mpi]"``);
the mpich wheel puts ``mpirun`` next to the interpreter. Locally their absence
skips the MPI tests; in CI (``CI`` set) it fails them.
"""
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _find_mpirun():
    try:
        import mpi4py  # noqa: F401
    except ImportError:
        return None, 'mpi4py is not installed (pip install -e ".[mpi]")'
    for candidate in (Path(sys.executable).parent / "mpirun", Path(sys.executable).parent / "mpiexec"):
        if candidate.exists():
            return str(candidate), None
    found = shutil.which("mpirun") or shutil.which("mpiexec")
    if found:
        return found, None
    return None, "mpirun not found next to the interpreter or on PATH (the mpich wheel provides it)"


class MPI:
    """Runs scripts under ``mpirun -n N`` with this interpreter and this checkout on the path."""

    def __init__(self, mpirun):
        self.mpirun = mpirun

    def env(self, **extra):
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("PMI_", "PMIX_", "OMPI_", "MPI_LOCAL", "HYDRA_"))}
        env["PYTHONPATH"] = str(ROOT) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
        for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
            env[var] = "1"  # two ranks on two cores: no oversubscription
        env.update({k: str(v) for k, v in extra.items()})
        return env

    def command(self, n, script, *args):
        return [self.mpirun, "-n", str(n), sys.executable, str(script), *map(str, args)]

    def run(self, n, script, *args, timeout=60, **env):
        """Run to completion; returns the CompletedProcess (stdout and stderr as text)."""
        return subprocess.run(self.command(n, script, *args), env=self.env(**env), capture_output=True,
                              text=True, timeout=timeout)

    def start(self, n, script, *args, **env):
        """Start in the background, in its own session so the test can clean it up."""
        return subprocess.Popen(self.command(n, script, *args), env=self.env(**env), stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True, start_new_session=True)


@pytest.fixture(scope="session")
def mpi():
    mpirun, why = _find_mpirun()
    if mpirun is None:
        if os.environ.get("CI"):
            raise RuntimeError(f"CI is set but the MPI tests cannot run: {why}")
        pytest.skip(why)
    return MPI(mpirun)
