"""``sufficient_stats``: its one-pass shifted sums, and long descents against exact arithmetic."""

from __future__ import annotations

import math

import mpmath
import numpy as np
import pytest
from error_bounds import (
    assert_within,
    critical_learning_rate,
    gamma,
    sufficient_stats_trajectory_bound,
    trajectory_bound,
)
from exact_reference import exact_descent, exact_sums
from reference import trajectory_fsum

from impls import closed_form, fit, sufficient_stats
from impls.sufficient_stats import SHIFT_SAMPLES, centred_statistics


def offset_data(offset: float, n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """x = offset + U[0,1), y = w·x + b with w, b ~ U[0,1)."""
    rng = np.random.default_rng(seed)
    x = offset + rng.random(n)
    return x, rng.random() * x + rng.random()


def test_both_statistics_kernels_share_one_statistics_function():
    assert closed_form.centred_statistics is sufficient_stats.centred_statistics


@pytest.mark.parametrize("offset", [1e4, 1e8])
def test_one_pass_sums_about_the_first_blocks_mean(offset):
    x, y = offset_data(offset, 3 * SHIFT_SAMPLES + 17, seed=5)
    shift_x, shift_y, sum_u, sum_v, sum_uu, sum_uv = centred_statistics(x, y)
    # The shift is the mean of the first SHIFT_SAMPLES samples, as computed (any summation order).
    for shift, data in [(shift_x, x), (shift_y, y)]:
        head = data[:SHIFT_SAMPLES]
        assert abs(shift - math.fsum(head) / SHIFT_SAMPLES) <= gamma(SHIFT_SAMPLES + 1) * abs(shift)
    # The sums are those of the deviations from it, each rounded once, added in any order.
    u, v = x - shift_x, y - shift_y
    n = x.shape[0]
    for name, computed, terms, roundings in [
        ("Σu", sum_u, u, n + 1),
        ("Σv", sum_v, v, n + 1),
        ("Σu²", sum_uu, u * u, n + 2),
        ("Σuv", sum_uv, u * v, n + 2),
    ]:
        assert abs(computed - math.fsum(terms)) <= gamma(roundings) * math.fsum(np.abs(terms)), name
    # Shifted by a mean, not by a sample: Σu² is within a few percent of N·var(x).
    assert sum_uu <= 1.05 * n * np.var(x)


def test_large_offset_trajectory_longer_than_the_shift_block():
    # x = 10⁸ + U[0,1): the sums run past the block that fixes the shift; the trajectory stays within
    # the derived bound (any shift, any summation order) of the correctly rounded descent.
    x, y = offset_data(1e8, SHIFT_SAMPLES + 500, seed=6)
    learning_rate = 0.4 * critical_learning_rate(x)
    result = fit(
        x,
        y,
        kernel="sufficient_stats",
        learning_rate=learning_rate,
        epochs=20,
        w0=0.5,
        b0=-0.5,
        record_every=1,
    )
    ws, bs = result.history.w, result.history.b
    ref_w, ref_b = trajectory_fsum(x, y, 0.5, -0.5, learning_rate, 20)
    shift_x, shift_y = centred_statistics(x, y)[:2]
    bound_w, bound_b = sufficient_stats_trajectory_bound(
        x, y, ws, bs, 0.5, -0.5, learning_rate, shift_x, shift_y
    )
    ref_bound_w, ref_bound_b = trajectory_bound(x, y, ref_w, ref_b, 0.5, -0.5, learning_rate, 1)
    assert_within("w", ws, ref_w, bound_w + ref_bound_w)
    assert_within("b", bs, ref_b, bound_b + ref_bound_b)


def test_hundred_million_epochs_stay_within_1e_8_of_exact_arithmetic():
    # Issue 14's data (x = 10³ + U[0,1), 1000 samples, lr = 1/λ_max), 10⁸ epochs one by one (about
    # half a second), against the exact map raised to the 10⁸-th power.
    x, y = offset_data(1e3, 1000)
    learning_rate = critical_learning_rate(x) / 2
    w, b = sufficient_stats.descend(x, y, 0.0, 0.0, learning_rate, 10**8)
    exact_w, exact_b = exact_descent(exact_sums(x, y), 0.0, 0.0, learning_rate, 10**8)
    assert abs(mpmath.mpf(w) - exact_w) <= 1e-8 * abs(exact_w)
    assert abs(mpmath.mpf(b) - exact_b) <= 1e-8 * abs(exact_b)
