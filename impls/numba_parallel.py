"""Numba on all cores: each epoch's two gradient sums are a ``prange`` reduction.

Cost: O(N · epochs / threads) plus one parallel region per epoch (waking the worker threads and
joining their partial sums: microseconds, independent of N). Below ``PARALLEL_MIN_N`` samples that
fixed cost outweighs the split, so smaller problems run ``numba_simd`` unchanged on one core. The
thread count is Numba's (``numba.get_num_threads()``, set by ``NUMBA_NUM_THREADS``); a benchmark
report records it.

Floating-point order: the terms and the update are exactly ``numba_simd``'s (the same strict
``residual`` and ``step``). Numba's reduction splits the N terms into contiguous chunks, one per thread;
each thread sums its chunk with vector lanes as ``numba_simd`` does, and the partial sums are added at
the end: another summation order, so the results agree with ``python_loop`` within the same any-order
bound of ``tests/error_bounds.py`` (and may change in the last bits with the thread count).
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from impls.numba_simd import REDUCTION_FASTMATH, residual, step
from impls.numba_simd import descend as descend_one_core

#: Fewest samples worth splitting across threads. Every epoch pays a few microseconds to start and join
#: a parallel region, while the split saves only part of a one-core pass; on the two-core machines this
#: suite targets the two break even near this size (the benchmarks show where, per machine).
PARALLEL_MIN_N = 2**15


@njit(cache=False, parallel=True, fastmath=REDUCTION_FASTMATH)
def descend(
    x: np.ndarray, y: np.ndarray, w: float, b: float, learning_rate: float, epochs: int
) -> tuple[float, float]:
    """Run ``epochs`` full-batch updates from (w, b) and return the final (w, b)."""
    n = x.shape[0]
    if n < PARALLEL_MIN_N:
        return descend_one_core(x, y, w, b, learning_rate, epochs)
    for _ in range(epochs):
        sum_rx = 0.0
        sum_r = 0.0
        for i in prange(n):
            r = residual(x[i], y[i], w, b)
            sum_rx += r * x[i]
            sum_r += r
        w, b = step(w, b, sum_rx, sum_r, n, learning_rate)
    return w, b
