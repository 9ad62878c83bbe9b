"""The README's Python examples run as written (each block on its own)."""
import pathlib
import re
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[1]
BLOCKS = re.findall(r"```python\n(.*?)```", (ROOT / "README.md").read_text(encoding="utf-8"), re.S)


def test_readme_has_examples():
    assert len(BLOCKS) >= 2


def test_each_readme_example_runs_on_its_own():
    for code in BLOCKS:
        r = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
        assert r.returncode == 0, f"README example failed:\n{code}\n{r.stderr}"
        assert float(r.stdout.split()[-1].rstrip(",")) < 0.2  # the loss went down
