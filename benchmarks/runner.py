"""Timing, memory and profiling of the workloads (called by ``python -m benchmarks``)."""
from __future__ import annotations

import datetime
import json
import os
import platform
import subprocess
import sys
import time

import numpy as np

from . import workloads
from .gemm import gemm_step


def _torch():
    try:
        import torch
    except ImportError:
        return None
    torch.set_num_threads(int(os.environ.get("GRADSTEP_BENCH_THREADS", "2")))
    return torch


SETTLE = float(os.environ.get("GRADSTEP_BENCH_SETTLE", "0.2"))
"""Seconds to pause before each timed block. Both libraries' worker threads (OpenBLAS's,
PyTorch's OpenMP pool) busy-wait for a while after their last parallel call; without a pause
the library timed next shares its cores with the other's spinning threads. After the pause one
untimed step refills the caches."""


def _settle(step):
    if SETTLE > 0:
        time.sleep(SETTLE)
        step()


def _gradstep_threads():
    """Same thread budget for gradstep's own thread pool (the optimizer's) as for BLAS and torch."""
    import gradstep.optim

    gradstep.optim.set_num_threads(int(os.environ.get("GRADSTEP_BENCH_THREADS", "2")))


def _time_steps(step, steps):
    _settle(step)
    t = time.perf_counter()
    for _ in range(steps):
        step()
    return (time.perf_counter() - t) / steps


def _pair(name, torch, **model_kw):
    """The gradstep workload (and the torch one, from the same initial weights)."""
    import gradstep

    _gradstep_threads()
    gradstep.manual_seed(0)
    state = None
    peers = {}
    if torch is not None:
        torch.manual_seed(0)
        peers["torch"] = workloads.build(torch, name)
        state = workloads.state_of(peers["torch"].model)
    peers["gradstep"] = workloads.build(gradstep, name, state)
    return peers


def _sklearn_step():
    """scikit-learn's MLPClassifier doing the mlp step (partial_fit on one batch), if installed."""
    try:
        from sklearn.neural_network import MLPClassifier
    except ImportError:
        return None
    x, y = workloads.make_data("mlp")
    clf = MLPClassifier(hidden_layer_sizes=(512, 512), solver="adam", learning_rate_init=1e-3, batch_size=128)
    clf.partial_fit(x, y, classes=np.arange(10))
    return lambda: clf.partial_fit(x, y)


def memory_probe(lib_name, name):
    """Peak resident memory (MiB) of building and running a workload, above the post-import baseline."""
    if lib_name == "torch":
        lib = _torch()
    else:
        import gradstep as lib
    import gradstep  # noqa: F401  (same imports on both sides)

    def rss(field):
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(field):
                    return int(line.split()[1]) / 1024
        return float("nan")

    base = rss("VmRSS")
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")  # reset the high-water mark
    except OSError:
        pass
    if lib_name != "torch":
        _gradstep_threads()
    w = workloads.build(lib, name)
    for _ in range(10):
        w.step()
    return json.dumps({"peak_mib": rss("VmHWM") - base})


def _memory(lib_name, name):
    out = subprocess.run([sys.executable, "-m", "benchmarks", "--memory-probe", lib_name, name],
                         capture_output=True, text=True, cwd=os.path.dirname(os.path.dirname(__file__)))
    try:
        return json.loads(out.stdout.strip().splitlines()[-1])["peak_mib"]
    except (IndexError, ValueError, KeyError):
        return float("nan")


def header():
    import gradstep

    torch = _torch()
    try:
        from threadpoolctl import threadpool_info

        blas = ", ".join(f"{i['internal_api']} {i.get('version')} ({i.get('architecture')})" for i in threadpool_info())
    except ImportError:
        blas = "threadpoolctl not installed"
    return (f"{datetime.date.today()} · {platform.machine()} · {os.cpu_count()} cores · threads "
            f"{os.environ.get('OPENBLAS_NUM_THREADS')} · Python {platform.python_version()} · "
            f"NumPy {np.__version__} · gradstep {gradstep.__version__} · "
            f"torch {torch.__version__ if torch else 'absent'} · BLAS {blas}")


def compare(names, repeats=5, steps=50, warmup=10, memory=True):
    torch = _torch()
    print(header())
    rows = []
    for name in names:
        peers = _pair(name, torch)
        if name == "mlp":
            sk = _sklearn_step()
            if sk is not None:
                peers["sklearn"] = workloads.Workload(name, "sklearn", sk, None)
        peers["gemm"] = workloads.Workload(name, "numpy.matmul", gemm_step(name), None)
        for w in peers.values():
            for _ in range(warmup):
                w.step()
        times = {k: [] for k in peers}
        for _ in range(repeats):  # interleaved, so drift hits both alike
            for k, w in peers.items():
                times[k].append(_time_steps(w.step, steps if k != "sklearn" else max(5, steps // 5)))
        med = {k: float(np.median(v)) for k, v in times.items()}
        row = {
            "workload": name,
            "gradstep": 1 / med["gradstep"],
            "torch": 1 / med["torch"] if "torch" in med else float("nan"),
            "gemm_limit": 1 / med["gemm"],
            # Ratios are medians of the per-repeat ratios (blocks timed seconds apart), not ratios
            # of the medians: a drift of the machine's speed between repeats then cancels out.
            "overhead": _paired(times, "gradstep", "gemm"),
            "torch_overhead": _paired(times, "torch", "gemm"),
            "sklearn_ratio": _paired(times, "sklearn", "gradstep"),
            "sklearn": 1 / med["sklearn"] if "sklearn" in med else float("nan"),
        }
        row["ratio"] = _paired(times, "torch", "gradstep")
        if memory:
            row["mem_gradstep"] = _memory("gradstep", name)
            row["mem_torch"] = _memory("torch", name) if torch is not None else float("nan")
        rows.append(row)
        _print_row(row, first=len(rows) == 1, memory=memory)
    return rows


def _paired(times, slower, faster):
    """Median over repeats of time[slower] / time[faster] (NaN when either was not timed)."""
    if slower not in times or faster not in times:
        return float("nan")
    return float(np.median(np.array(times[slower]) / np.array(times[faster])))


def _print_row(r, first, memory):
    cols = ["workload", "gradstep steps/s", "torch steps/s", "ratio", "step/GEMM", "torch step/GEMM", "GEMM-limit steps/s"]
    if memory:
        cols += ["gradstep MiB", "torch MiB"]
    if first:
        print("| " + " | ".join(cols) + " |")
        print("|" + "---|" * len(cols))
    vals = [r["workload"], f"{r['gradstep']:.1f}", f"{r['torch']:.1f}", f"{r['ratio']:.2f}",
            f"{r['overhead']:.2f}", f"{r['torch_overhead']:.2f}", f"{r['gemm_limit']:.1f}"]
    if memory:
        vals += [f"{r['mem_gradstep']:.0f}", f"{r['mem_torch']:.0f}"]
    print("| " + " | ".join(vals) + " |", flush=True)
    if r["sklearn"] == r["sklearn"]:
        print(f"  (scikit-learn MLPClassifier: {r['sklearn']:.1f} steps/s; gradstep is {r['sklearn_ratio']:.1f}x)")


def sweep(repeats=3, steps=20):
    """mlp step time and ratio vs torch across batch sizes and hidden widths."""
    import gradstep

    torch = _torch()
    _gradstep_threads()
    print(header())
    print("| batch | width | gradstep ms/step | torch ms/step | ratio |")
    print("|---|---|---|---|---|")
    for width in (128, 512, 2048):
        for batch in (16, 64, 256, 1024):
            x_np = np.random.default_rng(0).standard_normal((batch, 784), dtype=np.float32)
            y_np = np.random.default_rng(1).integers(0, 10, batch)
            res = {}
            for lib in ([gradstep] + ([torch] if torch else [])):
                model = workloads.mlp(lib.nn, width=width)
                opt = lib.optim.Adam(model.parameters(), lr=1e-3)
                x, y = lib.tensor(x_np), lib.tensor(y_np)

                def step(model=model, opt=opt, x=x, y=y, lib=lib):
                    loss = lib.nn.functional.cross_entropy(model(x), y)
                    loss.backward()
                    opt.step()
                    opt.zero_grad()

                for _ in range(3):
                    step()
                res[lib.__name__] = step
            med = {k: np.median([_time_steps(s, steps) for _ in range(repeats)]) for k, s in res.items()}
            t_ms = med.get("torch", float("nan")) * 1e3
            print(f"| {batch} | {width} | {med['gradstep'] * 1e3:.2f} | {t_ms:.2f} | {med.get('torch', float('nan')) / med['gradstep']:.2f} |", flush=True)


def profile(name, steps=50):
    """Where gradstep's step goes: forward / loss / backward / optimizer, and the ten costliest ops."""
    import gradstep
    from gradstep.autograd.function import Function

    _gradstep_threads()
    w = workloads.build(gradstep, name)
    model = w.model
    F = gradstep.nn.functional
    x_np, y_np = workloads.make_data(name)
    x, y = gradstep.tensor(x_np), gradstep.tensor(y_np)
    opt = gradstep.optim.AdamW(model.parameters(), lr=3e-4) if name == "gpt" else gradstep.optim.Adam(model.parameters())

    op_time, depth = {}, [0]

    def subclasses(c):
        for s in c.__subclasses__():
            yield s
            yield from subclasses(s)

    originals = []
    for cls in set(subclasses(Function)):
        for meth in ("forward", "backward"):
            if meth in cls.__dict__:
                orig = cls.__dict__[meth]
                originals.append((cls, meth, orig))

                def timed(self, *a, _orig=orig, _key=f"{cls.__name__}.{meth}", **k):
                    if depth[0]:  # a method calling its parent class's (LinearRelu -> Linear): count once
                        return _orig(self, *a, **k)
                    depth[0] += 1
                    t = time.perf_counter()
                    try:
                        return _orig(self, *a, **k)
                    finally:
                        op_time[_key] = op_time.get(_key, 0.0) + time.perf_counter() - t
                        depth[0] -= 1

                setattr(cls, meth, timed)
    phases = {"forward": 0.0, "loss": 0.0, "backward": 0.0, "optimizer": 0.0}
    try:
        for i in range(steps + 5):
            if i == 5:
                op_time.clear()
                phases = dict.fromkeys(phases, 0.0)
            t0 = time.perf_counter()
            if name == "mlp-infer":  # forward only, no graph: the whole step
                with gradstep.no_grad():
                    model(x)
                phases["forward"] += time.perf_counter() - t0
                continue
            out = model(x)
            t1 = time.perf_counter()
            loss = F.cross_entropy(out.reshape(-1, out.shape[-1]), y.reshape(-1))
            t2 = time.perf_counter()
            loss.backward()
            t3 = time.perf_counter()
            opt.step()
            opt.zero_grad()
            t4 = time.perf_counter()
            for k, a, b in (("forward", t0, t1), ("loss", t1, t2), ("backward", t2, t3), ("optimizer", t3, t4)):
                phases[k] += b - a
    finally:
        for cls, meth, orig in originals:
            setattr(cls, meth, orig)
    total = sum(phases.values())
    print(f"{name}: {total / steps * 1e3:.2f} ms/step (with profiling overhead)")
    for k, v in phases.items():
        print(f"  {k:10s} {v / steps * 1e3:7.2f} ms  {100 * v / total:5.1f}%")
    print("top ops:")
    for k, v in sorted(op_time.items(), key=lambda kv: -kv[1])[:10]:
        print(f"  {k:32s} {v / steps * 1e3:7.2f} ms  {100 * v / total:5.1f}%")
