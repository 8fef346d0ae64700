"""Sufficient statistics: one O(N) pass for shifted sums, then each epoch in O(1).

The gradient of the mean squared error depends on the data only through Σx, Σx², Σy, Σxy and N. Used
raw, as Σxy − w·Σx² − b·Σx, they cancel catastrophically when x has a large offset (x = 10⁴ + U[0,1):
Σx² is 10⁸·N while the spread that matters is N/12), so this kernel shifts first: with a shift
(k_x, k_y) inside the data and u_i = x_i − k_x, v_i = y_i − k_y, it keeps Σu, Σv, Σu², Σuv. For any
shift, exactly,

    r_i = y_i − (w·x_i + b) = v_i − w·u_i − c,      c = (b + w·k_x) − k_y,
    Σ r_i·u_i = Σuv − w·Σu² − c·Σu,    Σ r_i = Σv − w·Σu − N·c,    Σ r_i·x_i = Σ r_i·u_i + k_x·Σ r_i,

and the update is ``numba_simd``'s from Σ r·x and Σ r. The iterates equal the per-epoch descent's in
exact arithmetic, whatever the shift. The shift is the mean of the first ``SHIFT_SAMPLES`` samples
(all of them when N is smaller), known after reading that block, so the sums take a single pass over
x and y; for data in no particular order it lies within a few standard deviations/√SHIFT_SAMPLES of
the mean, so the shifted sums are as small as centred ones (Σu² ≈ N·var(x)·(1 + 1/SHIFT_SAMPLES)).
The bound of ``tests/error_bounds.py`` is stated for any shift, on the magnitudes of these sums.

Cost: O(N + epochs): one pass over x and y per call (the first ``SHIFT_SAMPLES`` samples are read
twice; vectorized like ``numba_simd``), then about twenty floating-point operations per epoch.

Floating-point order: the deviations u_i, v_i are rounded once each (``deviation`` is compiled without
fast-math flags, so no reassociation can undo the shift); the sums run in any order (``reassoc`` and
``contract`` on the reductions, as in ``numba_simd``); the per-epoch recurrence (``epoch``) is strict,
in the order written above. The error bound of ``tests/error_bounds.py`` for this kernel counts the
roundings of each product of data along that path (at most N + 10) on the magnitudes of the shifted
quantities.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from impls.numba_simd import REDUCTION_FASTMATH, step

#: Samples whose mean is the shift: enough to land within a few σ/√1024 of the mean for unordered data,
#: few enough (16 KiB of x and y) to stay in the first-level cache for the pass that follows.
SHIFT_SAMPLES = 1024


@njit(cache=False, fastmath=False)
def deviation(value: float, shift: float) -> float:
    """``value − shift`` in strict IEEE order (one rounding), even inlined into fast-math code."""
    return value - shift


@njit(cache=False, fastmath=REDUCTION_FASTMATH)
def head_mean(x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """``(k_x, k_y)``: the mean of the first ``SHIFT_SAMPLES`` samples (all when fewer), sums in any order."""
    head = min(x.shape[0], SHIFT_SAMPLES)
    sum_x = 0.0
    sum_y = 0.0
    for i in range(head):
        sum_x += x[i]
        sum_y += y[i]
    return sum_x / head, sum_y / head


@njit(cache=False, fastmath=REDUCTION_FASTMATH)
def shifted_sums(
    x: np.ndarray, y: np.ndarray, shift_x: float, shift_y: float
) -> tuple[float, float, float, float]:
    """``(Σu, Σv, Σu², Σuv)``, u = x − shift_x, v = y − shift_y: deviations rounded once, any order."""
    sum_u = 0.0
    sum_v = 0.0
    sum_uu = 0.0
    sum_uv = 0.0
    for i in range(x.shape[0]):
        u = deviation(x[i], shift_x)
        v = deviation(y[i], shift_y)
        sum_u += u
        sum_v += v
        sum_uu += u * u
        sum_uv += u * v
    return sum_u, sum_v, sum_uu, sum_uv


@njit(cache=False, fastmath=REDUCTION_FASTMATH)
def centred_statistics(x: np.ndarray, y: np.ndarray) -> tuple[float, float, float, float, float, float]:
    """``(k_x, k_y, Σu, Σv, Σu², Σuv)`` with u = x − k_x, v = y − k_y: one pass, sums in any order.

    (k_x, k_y) is ``head_mean(x, y)``, the mean of the first ``SHIFT_SAMPLES`` samples (rounded, as computed).
    """
    shift_x, shift_y = head_mean(x, y)
    sum_u, sum_v, sum_uu, sum_uv = shifted_sums(x, y, shift_x, shift_y)
    return shift_x, shift_y, sum_u, sum_v, sum_uu, sum_uv


@njit(cache=False, fastmath=False)
def epoch(
    w: float,
    b: float,
    statistics: tuple[float, float, float, float, float, float],
    n: int,
    learning_rate: float,
) -> tuple[float, float]:
    """One full-batch update from the centred statistics, in O(1)."""
    shift_x, shift_y, sum_u, sum_v, sum_uu, sum_uv = statistics
    c = (b + w * shift_x) - shift_y
    sum_ru = (sum_uv - w * sum_uu) - c * sum_u
    sum_r = (sum_v - w * sum_u) - n * c
    sum_rx = sum_ru + shift_x * sum_r
    return step(w, b, sum_rx, sum_r, n, learning_rate)


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
