"""``closed_form`` against gradient descent in exact arithmetic, for every number of epochs up to 2⁶³ − 1.

The reference (``exact_reference.exact_descent``) squares the exact affine epoch map in mpmath on the
same float64 data and learning rate. Each case checks, for w and b:

* the error is within ``error_bounds.closed_form_bound`` (which does not grow with the epochs);
* where the problem allows it — one rounding of each statistic x̄, ȳ, var, cov moves the exact answer
  by at most 1e-12 of itself (``closed_form_sensitivity``) — the relative error is at most 1e-10, and
  so is the bound itself.

``test_repeated_squaring_would_fail`` keeps the previous algorithm (the 3×3 affine map in centred
coordinates raised to the k-th power by squaring, b recovered as (c − w·x̄) + ȳ) to show what these
tests catch.
"""

from __future__ import annotations

import math
from functools import cache

import mpmath
import numpy as np
import pytest
from error_bounds import (
    CLOSED_FORM_MODE_ROUNDINGS,
    INFORMATIVE,
    closed_form_bound,
    closed_form_sensitivity,
    critical_learning_rate,
    gamma,
)
from exact_reference import DIGITS, exact_descent, exact_from_statistics, exact_statistics, exact_sums

from impls import fit
from impls.closed_form import descend, modes, power_terms
from impls.sufficient_stats import centred_statistics

EPOCHS = [0, 1, 2, 3, 10, 1000, 10**6, 10**9, 10**12, 10**15, 2**62, 2**63 - 1]
#: Relative error promised where the problem's conditioning allows it, and what "allows" means: one
#: rounding of each statistic moves the exact answer by at most CONDITIONED of itself.
TARGET = 1e-10
CONDITIONED = 1e-12


def offset_data(offset: float, n: int = 1000, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """x = offset + U[0,1), y = w·x + b with w, b ~ U[0,1) (the issue's data for offset 10³)."""
    rng = np.random.default_rng(seed)
    x = offset + rng.random(n)
    return x, rng.random() * x + rng.random()


def half_critical(x: np.ndarray) -> float:
    """1/λ_max: half the stability limit 2/λ_max."""
    return critical_learning_rate(x) / 2


def _centred_data(scale):
    x = np.array([-2.0, -1.0, 1.0, 2.0]) * scale  # x̄ = 0 exactly: w and b decouple
    return x, 0.5 * x - 0.25 + np.array([0.01, -0.02, 0.0, 0.03])


DATA = {
    "offset-0": lambda: offset_data(0.0),
    "offset-1e2": lambda: offset_data(1e2, seed=1),
    "offset-1e3": lambda: offset_data(1e3),
    "offset-1e4": lambda: offset_data(1e4, seed=2),
    "offset-1e8": lambda: offset_data(1e8, seed=3),
    "one-sample": lambda: (np.array([3.0]), np.array([2.0])),  # var = 0
    "centred-var-below-1": lambda: _centred_data(0.25),
    "centred-var-above-1": lambda: _centred_data(1.0),
}


@cache
def dataset(name: str):
    """(x, y, the kernel's shifted sums, exact sums, exact statistics), computed once per name."""
    x, y = DATA[name]()
    sums = exact_sums(x, y)
    return x, y, centred_statistics(x, y), sums, exact_statistics(sums)


CASES = [
    # data, learning rate from x, start (w0, b0)
    ("offset-0", half_critical, (0.0, 0.0)),
    ("offset-1e2", half_critical, (1.5, -2.0)),
    ("offset-1e3", half_critical, (0.0, 0.0)),
    ("offset-1e3", lambda x: 1.99 * half_critical(x), (0.0, 0.0)),  # 1 − lr·λ_max = −0.99
    ("offset-1e3", lambda x: 1e-3 * half_critical(x), (-1.0, 3.0)),
    ("offset-1e4", half_critical, (0.0, 0.0)),
    ("offset-1e4", lambda x: 1.5 * half_critical(x), (0.25, 0.5)),
    ("offset-1e8", lambda x: 5e-17, (0.0, 0.0)),  # lr·λ_max ≈ 1: one epoch nearly solves for w
    ("one-sample", lambda x: 0.05, (0.5, -1.0)),  # lr·λ_max = 1
    ("centred-var-below-1", lambda x: 0.4, (1.0, 1.0)),
    ("centred-var-above-1", lambda x: 0.15, (1.0, 1.0)),
]


@pytest.mark.parametrize(("name", "rate", "start"), CASES)
def test_closed_form_matches_exact_arithmetic_for_all_epochs(name, rate, start):
    x, y, statistics, sums, stats = dataset(name)
    learning_rate = rate(x)
    w0, b0 = start
    ill_conditioned = []
    for epochs in EPOCHS:
        w, b = descend(x, y, w0, b0, learning_rate, epochs)
        exact_w, exact_b = exact_descent(sums, w0, b0, learning_rate, epochs)
        bound_w, bound_b = closed_form_bound(x, y, statistics, w0, b0, learning_rate, epochs, stats)
        sens_w, sens_b = closed_form_sensitivity(stats, w0, b0, learning_rate, epochs)
        for label, got, exact, bound, sens in [
            ("w", w, exact_w, bound_w, sens_w),
            ("b", b, exact_b, bound_b, sens_b),
        ]:
            where = f"{name}, lr={learning_rate:.3g}, k={epochs}, {label}: {got!r} vs {float(exact)!r}"
            error = float(abs(mpmath.mpf(got) - exact))
            size = float(abs(exact))
            assert error <= bound, f"{where}: error {error:.3g} > bound {bound:.3g}"
            assert bound <= INFORMATIVE * (1 + size), f"{where}: bound {bound:.3g} says nothing"
            if sens <= CONDITIONED * size:
                assert error <= TARGET * size, f"{where}: relative error {error / size:.3g}"
            else:
                ill_conditioned.append((label, epochs))
            if x.shape[0] * sens <= 0.1 * TARGET * size:
                # Even N roundings of each statistic (a worst-case sum) would keep the exact answer
                # within the target: then the bound itself guarantees it.
                assert bound <= TARGET * size, f"{where}: relative bound {bound / size:.3g}"
    # The 1e-10 check above is skipped only where the problem forbids it: b at x̄ = 10⁴ once it nears
    # b* = ȳ − w*·x̄, which cancels about 10⁴-fold (one rounding of ȳ or var moves it by ~1e-11).
    if name != "offset-1e4":
        assert ill_conditioned == []
    assert all(label == "b" and epochs >= 10**15 for label, epochs in ill_conditioned)


def test_the_issues_cases():
    # Issue 14: x = 10³ + U[0,1), 1000 samples, lr = 1/λ_max, where the previous algorithm's relative
    # error in b was 5e-8 at 10³ epochs, 5e-5 at 10⁶, 4% at 10⁹, 21% from 10¹²; and x = 10⁸ + U[0,1),
    # lr = 5e-17, 50 epochs, where it returned b = 0.
    x, y, _, sums, _ = dataset("offset-1e3")
    for epochs in [10**3, 10**6, 10**9, 10**12, 2**63 - 1]:
        w, b = descend(x, y, 0.0, 0.0, half_critical(x), epochs)
        exact_w, exact_b = exact_descent(sums, 0.0, 0.0, half_critical(x), epochs)
        assert abs(mpmath.mpf(b) - exact_b) <= 1e-12 * abs(exact_b)
        assert abs(mpmath.mpf(w) - exact_w) <= 1e-12 * abs(exact_w)
    x, y, _, sums, _ = dataset("offset-1e8")
    w, b = descend(x, y, 0.0, 0.0, 5e-17, 50)
    exact_w, exact_b = exact_descent(sums, 0.0, 0.0, 5e-17, 50)
    assert abs(mpmath.mpf(b) - exact_b) <= 1e-12 * abs(exact_b)
    assert fit(x, y, kernel="closed_form", learning_rate=5e-17, epochs=50).b == b


# --- The previous algorithm, kept here only to show what the tests above catch ------------------


def _compose(outer, inner):
    a_ww, a_wc, a_cw, a_cc, a_w, a_c = outer
    b_ww, b_wc, b_cw, b_cc, b_w, b_c = inner
    return (
        a_ww * b_ww + a_wc * b_cw,
        a_ww * b_wc + a_wc * b_cc,
        a_cw * b_ww + a_cc * b_cw,
        a_cw * b_wc + a_cc * b_cc,
        (a_ww * b_w + a_wc * b_c) + a_w,
        (a_cw * b_w + a_cc * b_c) + a_c,
    )


def repeated_squaring(x, y, w, b, learning_rate, epochs):
    """The previous closed_form: (w, c) ↦ K·(w, c) + m in centred coordinates, squared k times."""
    shift_x, shift_y, sum_u, sum_v, sum_uu, sum_uv = centred_statistics(x, y)
    n = x.shape[0]
    a = (2 / n) * learning_rate
    stretch = 1 + shift_x * shift_x
    epoch = (
        1 - a * (sum_uu + shift_x * sum_u),
        -(a * (sum_u + n * shift_x)),
        -(a * (stretch * sum_u + shift_x * sum_uu)),
        1 - a * (stretch * n + shift_x * sum_u),
        a * (sum_uv + shift_x * sum_v),
        a * (stretch * sum_v + shift_x * sum_uv),
    )
    result, square, k = epoch, epoch, epochs - 1
    while k > 0:
        if k & 1:
            result = _compose(square, result)
        k >>= 1
        if k > 0:
            square = _compose(square, square)
    p_ww, p_wc, p_cw, p_cc, p_w, p_c = result
    c = (b + w * shift_x) - shift_y
    w_k = (p_ww * w + p_wc * c) + p_w
    return w_k, ((p_cw * w + p_cc * c) + p_c - w_k * shift_x) + shift_y


@pytest.mark.parametrize(
    ("name", "rate", "epochs"),
    [
        ("offset-1e3", half_critical, 10**9),
        ("offset-1e3", half_critical, 10**12),
        ("offset-1e4", half_critical, 10**9),
        ("offset-1e8", lambda x: 5e-17, 50),
    ],
)
def test_repeated_squaring_would_fail(name, rate, epochs):
    x, y, statistics, sums, stats = dataset(name)
    learning_rate = rate(x)
    exact_b = exact_descent(sums, 0.0, 0.0, learning_rate, epochs)[1]
    _, old_b = repeated_squaring(x, y, 0.0, 0.0, learning_rate, epochs)
    _, new_b = descend(x, y, 0.0, 0.0, learning_rate, epochs)
    bound_b = closed_form_bound(x, y, statistics, 0.0, 0.0, learning_rate, epochs, stats)[1]
    assert float(abs(mpmath.mpf(old_b) - exact_b)) > 1e-3 * float(abs(exact_b)) > bound_b
    assert float(abs(mpmath.mpf(new_b) - exact_b)) <= bound_b


# --- The pieces ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("a", "c"),
    [
        (0.29, 1e8),
        (0.29, -1e4),
        (0.29, 0.5),
        (1.0, 1e-9),
        (1.0 + 1e-12, 1e-7),
        (3.0, 0.1),
        (0.0, 2.5),
        (0.5, 0.0),
        (1.0, 0.0),
        (2.0, 0.0),
        (1e-9, 1e3),
        (1e5, 1.0),
    ],
)
def test_modes_have_small_relative_errors_componentwise(a, c):
    # Against the eigen-decomposition of G = [[a², a·c], [a·c, 1 + c²]] at 60 digits: every output,
    # however small, within the relative error its rounding count allows.
    nu_1, nu_2, along, across, along_over_a, a_over_nu_1 = modes(a, c)
    with mpmath.workdps(60):
        ma, mc = mpmath.mpf(a), mpmath.mpf(c)
        gram = mpmath.matrix([[ma**2, ma * mc], [ma * mc, 1 + mc**2]])
        trace, det = ma**2 + 1 + mc**2, ma**2
        exact_1 = (trace + mpmath.sqrt(trace**2 - 4 * det)) / 2
        ratio = (exact_1 - 1) / exact_1
        norm = mpmath.sqrt((ma * ratio) ** 2 + mc**2)
        v = (ma * ratio / norm, mc / norm, ratio / norm) if norm else (0, 1, 0)
        vector = mpmath.matrix([v[0], v[1]])
        assert mpmath.norm(gram * vector - exact_1 * vector) <= mpmath.mpf(10) ** -40 * exact_1
        exact = {
            "nu_1": exact_1,
            "nu_2": det / exact_1,
            "along": v[0],
            "across": v[1],
            "along_over_a": v[2],
            "a_over_nu_1": ma / exact_1,
        }
        got = dict(zip(exact, (nu_1, nu_2, along, across, along_over_a, a_over_nu_1)))
        for key, value in exact.items():
            allowed = gamma(CLOSED_FORM_MODE_ROUNDINGS[key]) * abs(value)
            assert abs(got[key] - value) <= allowed, f"{key}: {got[key]!r} vs {mpmath.nstr(value, 20)}"


@pytest.mark.parametrize(
    "z", [0.0, 1e-300, 1e-33, 1e-17, 1e-8, 0.3, 1 - 2**-40, 1.0, 1 + 2**-40, 1.5, 2 - 2**-40, 2.0]
)
@pytest.mark.parametrize("k", [1, 2, 3, 1000, 2**53 + 1, 2**63 - 1])
def test_powers_are_accurate_for_tiny_rates_rates_near_1_and_2_and_every_k(z, k):
    # power_terms(2·lr, ν, k) with 2·lr = 1: F = 1 − (1 − z)^k and h = F/z. Derived (error_bounds step
    # 7, z exact): |F̂ − F| ≤ |1 − z|^k·|t|·γ(4) + γ(3)·|F| ≤ γ(7)·|F|, since |t|·e^t ≤ |1 − e^t| for t ≤ 0.
    f, h = power_terms(1.0, z, k)
    with mpmath.workdps(400):  # 1 − 1e-300 needs 300 digits
        exact_f = 1 - (1 - mpmath.mpf(z)) ** k
        exact_h = exact_f / z if z else mpmath.mpf(k)
        assert abs(f - exact_f) <= gamma(7) * abs(exact_f)
        assert abs(h - exact_h) <= gamma(8) * abs(exact_h)


def test_the_reference_is_exact_enough():
    # Twice the digits change nothing a float64 could see, and the O(1) eigen form used by the bound
    # agrees with the squared map.
    x, y, _, sums, stats = dataset("offset-1e8")
    for epochs in [50, 2**63 - 1]:
        low = exact_descent(sums, 0.5, -0.5, 5e-17, epochs)
        high = exact_descent(exact_sums(x, y, 2 * DIGITS), 0.5, -0.5, 5e-17, epochs, 2 * DIGITS)
        eigen = exact_from_statistics(stats, 0.5, -0.5, 5e-17, epochs)
        for a, b, c in zip(low, high, eigen):
            assert abs(a - b) <= 1e-60 * abs(b)
            assert abs(c - b) <= 1e-60 * abs(b)


def test_epochs_up_to_the_int64_limit_through_fit():
    x, y, _, sums, _ = dataset("offset-1e4")
    result = fit(x, y, kernel="closed_form", learning_rate=half_critical(x), epochs=2**63 - 1)
    exact_w, exact_b = exact_descent(sums, 0.0, 0.0, half_critical(x), 2**63 - 1)
    assert not result.diverged
    assert math.isclose(result.w, float(exact_w), rel_tol=TARGET)
    assert math.isclose(result.b, float(exact_b), rel_tol=TARGET)
