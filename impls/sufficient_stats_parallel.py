"""Sufficient statistics on all cores: ``sufficient_stats`` with its one pass split into blocks.

Cost: O(N / threads + epochs): one pass over x and y whose blocks are summed on every core while the
cores are free (one parallel region per call: microseconds), then about twenty floating-point
operations per epoch. While other tasks want the cores (``numba_parallel.cores_are_free``, checked
once per call: a region that waits for a thread which lost its core costs a scheduler time slice,
milliseconds), the same blocks are summed on one core. Below ``numba_parallel.PARALLEL_MIN_N`` samples
it is ``sufficient_stats``.

Floating-point order: ``sufficient_stats``'s, with the sums split. The shift is the same
(``head_mean``: the mean of the first ``SHIFT_SAMPLES`` samples). From ``PARALLEL_MIN_N`` samples on,
the samples are split into ``numba_parallel.BLOCKS`` contiguous blocks, whatever the thread count; each
block's four sums are ``shifted_sums`` about that one shift (each deviation rounded once, sums in any
order), and the block sums are added in block order without fast-math flags. Below it, the statistics
are ``sufficient_stats.centred_statistics`` unchanged. The epochs are ``sufficient_stats.epoch``.
The results depend neither on the thread count nor on whether the blocks ran in parallel, and since
the bound of ``tests/error_bounds.py`` for ``sufficient_stats`` holds for any shift and any summation
order of the shifted sums (at most N − 1 additions on any path, however they are grouped), it holds
for this kernel too.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from impls.numba_parallel import BLOCKS, PARALLEL_MIN_N, block_bounds, cores_are_free
from impls.sufficient_stats import centred_statistics as centred_statistics_one_core
from impls.sufficient_stats import epoch, head_mean, shifted_sums


@njit(cache=False, parallel=True)
def centred_statistics(x: np.ndarray, y: np.ndarray) -> tuple[float, float, float, float, float, float]:
    """``(k_x, k_y, Σu, Σv, Σu², Σuv)`` as ``sufficient_stats.centred_statistics``, blocks on every core."""
    n = x.shape[0]
    if n < PARALLEL_MIN_N:
        return centred_statistics_one_core(x, y)
    shift_x, shift_y = head_mean(x, y)
    partial = np.empty((BLOCKS, 4))
    if cores_are_free():
        for k in prange(BLOCKS):
            start, stop = block_bounds(n, k)
            sums = shifted_sums(x[start:stop], y[start:stop], shift_x, shift_y)
            partial[k, 0], partial[k, 1], partial[k, 2], partial[k, 3] = sums
    else:
        for k in range(BLOCKS):
            start, stop = block_bounds(n, k)
            sums = shifted_sums(x[start:stop], y[start:stop], shift_x, shift_y)
            partial[k, 0], partial[k, 1], partial[k, 2], partial[k, 3] = sums
    sum_u = 0.0
    sum_v = 0.0
    sum_uu = 0.0
    sum_uv = 0.0
    for k in range(BLOCKS):
        sum_u += partial[k, 0]
        sum_v += partial[k, 1]
        sum_uu += partial[k, 2]
        sum_uv += partial[k, 3]
    return shift_x, shift_y, sum_u, sum_v, sum_uu, sum_uv


@njit(cache=False, fastmath=False)
def descend(
    x: np.ndarray, y: np.ndarray, w: float, b: float, learning_rate: float, epochs: int
) -> tuple[float, float]:
    """Run ``epochs`` full-batch updates from (w, b) and return the final (w, b)."""
    n = x.shape[0]
    statistics = centred_statistics(x, y)
    for _ in range(epochs):
        w, b = epoch(w, b, statistics, n, learning_rate)
    return w, b
