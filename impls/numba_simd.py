"""Numba on one core, sums in SIMD lanes: the notebook's gradient regrouped, three operations a sample.

Cost: O(N · epochs), one pass over x and y per epoch. The sums are spread over SIMD lanes and
several independent accumulators, so the loop runs at the adder's throughput (or at the bandwidth of
the cache or memory the data comes from) instead of at the latency of one serial add chain.

What is summed: with ``s_i = y_i − w·x_i`` (``deviation``, one fused multiply-add), the residual is
``r_i = s_i − b``, so ``Σ r_i·x_i = Σ s_i·x_i − b·Σ x_i`` and ``Σ r_i = Σ s_i − N·b``. Each epoch's
pass (``deviation_sums``) therefore takes three vector operations per sample — the FMA for s_i, an FMA
into ``Σ s·x``, an add into ``Σ s`` — where summing ``r_i`` itself takes four (w·x + b, y −, and the
two sums). ``Σ x`` does not change between epochs: the first epoch's pass adds it up beside the two
others (``deviation_sums_and_x``), and ``gradient_sums`` subtracts the b-terms once per epoch. In the
second-level cache, where the loads come almost as fast as the arithmetic, the operation saved is
what lets the loop keep up with its reading (``results/vector-width/``).

Floating-point order: ``deviation`` is compiled with the ``contract`` flag alone (one rounding for
``y − w·x``); LLVM's fast-math flags belong to each instruction and survive inlining, so this holds
inside the loops. Only the accumulations carry ``reassoc`` and ``contract``: the compiler may add the
terms in any order (lanes of a vector register, then a tree across the lanes) and fuse ``s·x`` into
the addition. ``gradient_sums`` and ``step`` (the notebook's update from ``−(2/N)·Σ``) take no flags.
Without ``nnan``/``ninf``, infinities and NaNs propagate as IEEE arithmetic says, so a diverging
descent comes back non-finite as in every other kernel. (Near the top of the float64 range, where
``fit`` reports a problem ``diverged`` because some kernel's products could overflow, the regrouped
sums can overflow where the notebook's order does not, giving NaN from inf − inf, or the reverse.)
Regrouped, each gradient is still a sum of the notebook's monomials (y_i·x_i, w·x_i², b·x_i) in
*some* order, each carried through at most N + 4 roundings and none magnified: the results agree
with ``python_loop`` within the any-order bound of ``tests/error_bounds.py`` (step 1 there counts
the roundings).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from impls.vector_width import widest_vectors

#: Fast-math flags of the reductions: ``reassoc`` lets the vectorizer split each sum across lanes,
#: ``contract`` fuses s·x into the add. No ``nnan``/``ninf``: they would let the compiler assume
#: away the infinities of a diverging descent, and no ``arcp``/``afn``: nothing here divides.
REDUCTION_FASTMATH = {"reassoc", "contract"}
#: Fast-math flag of the deviation: ``contract`` alone makes y − w·x one FMA (one rounding, one
#: instruction) and allows nothing else.
DEVIATION_FASTMATH = {"contract"}


# cache=False throughout, as in ``numba_loop``: the benchmarks measure a fresh compile.
@njit(cache=False, fastmath=DEVIATION_FASTMATH)
def deviation(xi: float, yi: float, w: float) -> float:
    """``y − w·x`` for one sample, one rounding, in this order even where inlined into fast-math code."""
    return yi - w * xi


# Each loop calls ``widest_vectors`` itself: Numba optimizes a jitted function before inlining it
# into its callers, so the hint must be on the function that holds the loop.
@njit(cache=False, fastmath=REDUCTION_FASTMATH)
def deviation_sums(x: np.ndarray, y: np.ndarray, w: float) -> tuple[float, float]:
    """``(Σ s·x, Σ s)`` with ``s = y − w·x``, summed in vector lanes."""
    widest_vectors()
    sum_sx = 0.0
    sum_s = 0.0
    for i in range(x.shape[0]):
        s = deviation(x[i], y[i], w)
        sum_sx += s * x[i]
        sum_s += s
    return sum_sx, sum_s


@njit(cache=False, fastmath=REDUCTION_FASTMATH)
def deviation_sums_and_x(x: np.ndarray, y: np.ndarray, w: float) -> tuple[float, float, float]:
    """``(Σ s·x, Σ s, Σ x)``: the first epoch's pass, which also adds up x for the epochs to come."""
    widest_vectors()
    sum_sx = 0.0
    sum_s = 0.0
    sum_x = 0.0
    for i in range(x.shape[0]):
        s = deviation(x[i], y[i], w)
        sum_sx += s * x[i]
        sum_s += s
        sum_x += x[i]
    return sum_sx, sum_s, sum_x


@njit(cache=False, fastmath=False)
def gradient_sums(sum_sx: float, sum_s: float, sum_x: float, n: int, b: float) -> tuple[float, float]:
    """``(Σ r·x, Σ r)`` from the deviation sums: ``Σ s·x − b·Σ x`` and ``Σ s − N·b``."""
    return sum_sx - b * sum_x, sum_s - n * b


@njit(cache=False, fastmath=False)
def step(
    w: float, b: float, sum_rx: float, sum_r: float, n: int, learning_rate: float
) -> tuple[float, float]:
    """One update from ``Σ r·x`` and ``Σ r``: gradients ``−(2/N)·Σ``, applied as the notebook does."""
    dl_dw = -(2 / n) * sum_rx
    dl_db = -(2 / n) * sum_r
    return w - dl_dw * learning_rate, b - dl_db * learning_rate


@njit(cache=False, fastmath=False)
def descend(
    x: np.ndarray, y: np.ndarray, w: float, b: float, learning_rate: float, epochs: int
) -> tuple[float, float]:
    """Run ``epochs`` full-batch updates from (w, b) and return the final (w, b)."""
    n = x.shape[0]
    if epochs < 1:
        return w, b
    sum_sx, sum_s, sum_x = deviation_sums_and_x(x, y, w)
    sum_rx, sum_r = gradient_sums(sum_sx, sum_s, sum_x, n, b)
    w, b = step(w, b, sum_rx, sum_r, n, learning_rate)
    for _ in range(epochs - 1):
        sum_sx, sum_s = deviation_sums(x, y, w)
        sum_rx, sum_r = gradient_sums(sum_sx, sum_s, sum_x, n, b)
        w, b = step(w, b, sum_rx, sum_r, n, learning_rate)
    return w, b
