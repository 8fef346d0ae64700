"""Numba on one core with vectorized reductions: the same terms as ``numba``, summed in SIMD lanes.

Cost: O(N · epochs), one pass over x and y per epoch. The two gradient sums are spread over SIMD lanes
and several independent accumulators, so the loop runs at the adder's throughput (or at the memory
bandwidth, once x and y outgrow the caches) instead of at the latency of one serial add chain.

Floating-point order: the residual ``r_i = y_i − (w·x_i + b)`` is computed by ``residual``, compiled
with the ``contract`` flag alone: ``w·x_i + b`` becomes one fused multiply-add (one rounding where
``numba`` has two), and the subtraction from ``y_i`` follows, in that order. Without ``reassoc``
nothing else may be rearranged; LLVM's fast-math flags belong to each instruction and survive
inlining, so this holds inside the loop below. Only the accumulations ``Σ r_i·x_i`` and ``Σ r_i``
carry the ``reassoc`` and ``contract`` flags: the compiler may add the terms in any order (in practice
lanes of a vector register, then a tree across the lanes) and fuse ``r_i·x_i`` into the addition
(FMA). The loop may use the CPU's widest vector registers (``widest_vectors``): in the caches, the
four operations per sample would otherwise keep the adders busier than the loads. The factor −2/N is
applied once to each sum instead of to every term, and the update is the notebook's (``step``, without
flags). Without ``nnan``/``ninf``, infinities and NaNs propagate as IEEE arithmetic says, so a
diverging descent comes back non-finite as in every other kernel. Each gradient is therefore a sum of
N terms in *some* order, each term within five roundings of the exact one: the results agree with
``python_loop`` within the any-order bound of ``tests/error_bounds.py`` (which counts six roundings
per term, the notebook's, and depth N − 1).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from impls.vector_width import widest_vectors

#: Fast-math flags of the reductions: ``reassoc`` lets the vectorizer split each sum across lanes,
#: ``contract`` fuses r·x into the add. No ``nnan``/``ninf``: they would let the compiler assume
#: away the infinities of a diverging descent, and no ``arcp``/``afn``: nothing here divides.
REDUCTION_FASTMATH = {"reassoc", "contract"}
#: Fast-math flag of the residual: ``contract`` alone fuses w·x + b into one FMA (one rounding fewer,
#: one instruction fewer per sample) and allows nothing else.
RESIDUAL_FASTMATH = {"contract"}


# cache=False throughout, as in ``numba_loop``: the benchmarks measure a fresh compile.
@njit(cache=False, fastmath=RESIDUAL_FASTMATH)
def residual(xi: float, yi: float, w: float, b: float) -> float:
    """``y − fma(w, x, b)`` for one sample, in this order even where inlined into fast-math code."""
    return yi - (w * xi + b)


@njit(cache=False, fastmath=False)
def step(
    w: float, b: float, sum_rx: float, sum_r: float, n: int, learning_rate: float
) -> tuple[float, float]:
    """One update from ``Σ r·x`` and ``Σ r``: gradients ``−(2/N)·Σ``, applied as the notebook does."""
    dl_dw = -(2 / n) * sum_rx
    dl_db = -(2 / n) * sum_r
    return w - dl_dw * learning_rate, b - dl_db * learning_rate


@njit(cache=False, fastmath=REDUCTION_FASTMATH)
def descend(
    x: np.ndarray, y: np.ndarray, w: float, b: float, learning_rate: float, epochs: int
) -> tuple[float, float]:
    """Run ``epochs`` full-batch updates from (w, b) and return the final (w, b)."""
    widest_vectors()
    n = x.shape[0]
    for _ in range(epochs):
        sum_rx = 0.0
        sum_r = 0.0
        for i in range(n):
            r = residual(x[i], y[i], w, b)
            sum_rx += r * x[i]
            sum_r += r
        w, b = step(w, b, sum_rx, sum_r, n, learning_rate)
    return w, b
