"""Run the real ``gradstep`` command in a subprocess."""
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def env(single_thread: bool = True) -> dict:
    e = dict(os.environ)
    e["PYTHONPATH"] = str(REPO) + (os.pathsep + e["PYTHONPATH"] if e.get("PYTHONPATH") else "")
    e.pop("GRADSTEP_DEBUG", None)
    if single_thread:
        # Tiny GEMMs gain nothing from BLAS threads, and threads spinning on a busy 2-core machine slow them 10x.
        e["OPENBLAS_NUM_THREADS"] = "1"
    return e


def command(*args) -> list:
    return [sys.executable, "-m", "gradstep", *map(str, args)]


def gradstep(*args, cwd, timeout: float = 120, single_thread: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(command(*args), cwd=cwd, env=env(single_thread), capture_output=True, text=True,
                          timeout=timeout)


def one_line_error(result) -> str:
    """The failure's stderr, checked to be exactly one line and no traceback."""
    assert result.returncode != 0, result.stdout
    err = result.stderr.strip()
    assert "Traceback" not in err, err
    assert len(err.splitlines()) == 1, err
    return err
