"""The benchmark suite runs (a smoke run: one tiny block per peer) and its ratios are paired per repeat.

Speed itself is never asserted here (see benchmarks/ and the README's Speed section).
"""
import math

import numpy as np

from benchmarks import runner


def test_paired_ratio_cancels_a_drift_between_repeats():
    # the machine gets 2x slower halfway: both peers' times double, their ratio stays 1.5
    times = {"a": [3.0, 3.0, 6.0, 6.0, 6.0], "b": [2.0, 2.0, 4.0, 4.0, 4.0]}
    assert runner._paired(times, "a", "b") == 1.5
    assert float(np.median(times["a"])) / float(np.median(times["b"])) == 1.5  # here both agree...
    times["b"] = [2.0, 2.0, 2.0, 4.0, 4.0]  # ...but not when the drift hits the blocks unevenly
    assert runner._paired(times, "a", "b") == 1.5
    assert float(np.median(times["a"])) / float(np.median(times["b"])) == 3.0
    assert math.isnan(runner._paired(times, "a", "missing"))


def test_compare_smoke_run_gives_a_full_row(torch, monkeypatch, capsys):
    monkeypatch.setattr(runner, "SETTLE", 0.0)
    (row,) = runner.compare(["mlp-infer"], repeats=2, steps=1, warmup=1, memory=False)
    for key in ("gradstep", "torch", "ratio", "overhead", "torch_overhead", "gemm_limit"):
        assert math.isfinite(row[key]) and row[key] > 0, (key, row[key])
    out = capsys.readouterr().out
    assert "| mlp-infer |" in out and "step/GEMM" in out
