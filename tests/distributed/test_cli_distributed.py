"""``mpirun -n 2 gradstep train --distributed``: the command end to end under a real MPI launch."""
import json
import subprocess
import sys

from tests.distributed.conftest import ROOT


def test_train_distributed_writes_one_run_and_refuses_resume_with_another_world_size(mpi, tmp_path):
    r = mpi.run(2, "-m", "gradstep", "train", "--distributed", "--epochs", "8", "--out", tmp_path, "--name", "d",
                "--progress", "none", timeout=180)
    assert r.returncode == 0, r.stdout + r.stderr
    run = tmp_path / "d"
    summary = json.loads((run / "summary.json").read_text())
    assert summary["status"] == "completed" and summary["world_size"] == 2
    assert summary["final"]["val_acc"] > 0.9  # 8 epochs at batch 2 x 32
    assert (run / "model.safetensors").is_file() and any((run / "checkpoints").iterdir())
    assert sorted(p.name for p in tmp_path.iterdir()) == ["d"]  # only rank 0 made a folder
    assert r.stdout.count("run saved to") == 1  # only rank 0 prints the summary

    single = subprocess.run([sys.executable, "-m", "gradstep", "train", "--resume", str(run), "--epochs", "9"],
                            capture_output=True, text=True, env=mpi.env(), cwd=ROOT, timeout=120)
    assert single.returncode != 0
    assert "world" in single.stderr.lower() and "Traceback" not in single.stderr
