"""Sufficient statistics: one O(N) pass for centred sums, then each epoch in O(1).

The gradient of the mean squared error depends on the data only through Σx, Σx², Σy, Σxy and N. Used
raw, as Σxy − w·Σx² − b·Σx, they cancel catastrophically when x has a large offset (x = 10⁴ + U[0,1):
Σx² is 10⁸·N while the spread that matters is N/12), so this kernel shifts first: with x̄, ȳ the means
and u_i = x_i − x̄, v_i = y_i − ȳ, it keeps Σu, Σv, Σu², Σuv. For any shift, exactly,

    r_i = y_i − (w·x_i + b) = v_i − w·u_i − c,      c = (b + w·x̄) − ȳ,
    Σ r_i·u_i = Σuv − w·Σu² − c·Σu,    Σ r_i = Σv − w·Σu − N·c,    Σ r_i·x_i = Σ r_i·u_i + x̄·Σ r_i,

and the update is ``numba_simd``'s from Σ r·x and Σ r. The iterates equal the per-epoch descent's in
exact arithmetic (Σu and Σv are zero only then; keeping them makes the identity hold for the rounded
shifts too).

Cost: O(N + epochs): two passes over x and y per call (means, then centred sums; vectorized like
``numba_simd``), then about twenty floating-point operations per epoch.

Floating-point order: the deviations u_i, v_i are rounded once each (``deviation`` is compiled without
fast-math flags, so no reassociation can undo the centring); the sums run in any order; the per-epoch
recurrence (``epoch``) is strict, in the order written above. The error bound of
``tests/error_bounds.py`` for this kernel counts the roundings of each product of data along that
path (at most N + 10) on the magnitudes of the centred quantities.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from impls.numba_simd import REDUCTION_FASTMATH, step


@njit(cache=False, fastmath=False)
def deviation(value: float, shift: float) -> float:
    """``value − shift`` in strict IEEE order (one rounding), even inlined into fast-math code."""
    return value - shift


@njit(cache=False, fastmath=REDUCTION_FASTMATH)
def centred_statistics(
    x: np.ndarray, y: np.ndarray
) -> tuple[float, float, float, float, float, float]:
    """``(x̄, ȳ, Σu, Σv, Σu², Σuv)`` with u = x − x̄, v = y − ȳ: two passes, sums in any order."""
    n = x.shape[0]
    sum_x = 0.0
    sum_y = 0.0
    for i in range(n):
        sum_x += x[i]
        sum_y += y[i]
    shift_x = sum_x / n
    shift_y = sum_y / n
    sum_u = 0.0
    sum_v = 0.0
    sum_uu = 0.0
    sum_uv = 0.0
    for i in range(n):
        u = deviation(x[i], shift_x)
        v = deviation(y[i], shift_y)
        sum_u += u
        sum_v += v
        sum_uu += u * u
        sum_uv += u * v
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
