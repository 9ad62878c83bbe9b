"""The hardware limit: the time of a step's matrix multiplications alone.

For each workload, the GEMMs its step cannot avoid (forward, input-gradient
and weight-gradient products; convolutions as im2col GEMMs; the first layer
needs no input gradient), timed with ``numpy.matmul`` on preallocated arrays.
"""
from __future__ import annotations

import time

import numpy as np

from .workloads import BATCH, CONTEXT, D_MODEL, HEADS, LAYERS, VOCAB


def _dense(m, k, n, first=False, backward=True):
    """GEMM shapes of a dense layer: (m,k)@(k,n) forward, then weight grad and input grad."""
    shapes = [((m, k), (k, n))]
    if backward:
        shapes.append(((k, m), (m, n)))  # grad_weight = x^T g
        if not first:
            shapes.append(((m, n), (n, k)))  # grad_input = g W
    return shapes


def gemm_shapes(name):
    b = BATCH[name]
    if name in ("mlp", "mlp-infer"):
        bw = name == "mlp"
        return _dense(b, 784, 512, True, bw) + _dense(b, 512, 512, False, bw) + _dense(b, 512, 10, False, bw)
    if name == "cnn":
        return (_dense(b * 28 * 28, 9, 32, True) + _dense(b * 14 * 14, 288, 64)
                + _dense(b, 3136, 128) + _dense(b, 128, 10))
    m, hd = b * CONTEXT, D_MODEL // HEADS
    shapes = []
    for _ in range(LAYERS):
        shapes += _dense(m, D_MODEL, 3 * D_MODEL) + _dense(m, D_MODEL, D_MODEL)
        shapes += _dense(m, D_MODEL, 4 * D_MODEL) + _dense(m, 4 * D_MODEL, D_MODEL)
        bh = (b, HEADS)
        # scores = q k^T, out = p v, and their backward products (dq, dk, dp, dv)
        shapes += [(bh + (CONTEXT, hd), bh + (hd, CONTEXT)), (bh + (CONTEXT, CONTEXT), bh + (CONTEXT, hd))] * 3
    shapes += _dense(m, D_MODEL, VOCAB)
    return shapes


def gemm_step(name):
    """A function running one step's worth of the workload's GEMMs (for interleaved timing)."""
    rng = np.random.default_rng(0)
    pairs = [(rng.standard_normal(a, dtype=np.float32), rng.standard_normal(b, dtype=np.float32))
             for a, b in gemm_shapes(name)]

    def step():
        for a, b in pairs:
            np.matmul(a, b)

    return step


def gemm_step_time(name, repeats=5, steps=20):
    """Median seconds of one step's worth of GEMMs."""
    rng = np.random.default_rng(0)
    pairs = [(rng.standard_normal(a, dtype=np.float32), rng.standard_normal(b, dtype=np.float32))
             for a, b in gemm_shapes(name)]
    for a, b in pairs:
        np.matmul(a, b)
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        for _ in range(steps):
            for a, b in pairs:
                np.matmul(a, b)
        times.append((time.perf_counter() - t) / steps)
    return float(np.median(times))
