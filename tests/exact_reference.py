"""The descent in exact arithmetic (mpmath at high precision), on the same float64 data and rate.

``exact_descent`` is the reference: one epoch is the affine map (w, b) ↦ T·(w, b, 1) built from the
*exact* sums Σx, Σx², Σy, Σxy of the float64 samples and the float64 learning rate converted exactly;
it is raised to the power k by repeated squaring (at most 2·log₂ k products of 3×3 affine maps), so
k = 2⁶³ − 1 costs 126 products. The only roundings are mpmath's, at ``DIGITS`` significant digits,
far below anything a float64 kernel can resolve (``test_closed_form`` checks that doubling the digits
changes nothing that matters).

``exact_from_statistics`` computes the same k-epoch map from the four statistics that determine it —
x̄, ȳ, var(x), cov(x, y) — by the eigen-decomposition of the Hessian, at O(1) cost per call. The error
bound of ``closed_form`` (``error_bounds.closed_form_bound``) uses it to carry the statistics' errors
through the exact map; ``test_closed_form`` checks that it agrees with ``exact_descent``.
"""

from __future__ import annotations

from typing import NamedTuple

import mpmath
import numpy as np

#: Significant digits of the reference. The hardest case here (x̄ = 10⁸, learning rate 5·10⁻¹⁷)
#: has 1 − lr·λ_min = 1 − 10⁻³³: 120 digits leave about 85 for everything else.
DIGITS = 120


class ExactSums(NamedTuple):
    """N and the exact Σx, Σx², Σy, Σxy of float64 samples, as mpmath numbers."""

    n: int
    x: mpmath.mpf
    xx: mpmath.mpf
    y: mpmath.mpf
    xy: mpmath.mpf


class Statistics(NamedTuple):
    """The exact mean of x and y, variance of x and covariance of x and y (divided by N)."""

    n: int
    mean_x: mpmath.mpf
    mean_y: mpmath.mpf
    variance: mpmath.mpf
    covariance: mpmath.mpf


def exact_sums(x: np.ndarray, y: np.ndarray, digits: int = DIGITS) -> ExactSums:
    """Σx, Σx², Σy, Σxy of float64 samples, exact (each product of two floats needs 106 bits)."""
    with mpmath.workdps(digits):
        xs = [mpmath.mpf(float(v)) for v in x]
        ys = [mpmath.mpf(float(v)) for v in y]
        return ExactSums(
            len(xs),
            mpmath.fsum(xs),
            mpmath.fsum(v * v for v in xs),
            mpmath.fsum(ys),
            mpmath.fsum(u * v for u, v in zip(xs, ys)),
        )


def exact_statistics(sums: ExactSums, digits: int = DIGITS) -> Statistics:
    """The exact x̄, ȳ, var(x), cov(x, y) of the samples whose sums are ``sums``."""
    with mpmath.workdps(digits):
        n = sums.n
        mean_x, mean_y = sums.x / n, sums.y / n
        return Statistics(n, mean_x, mean_y, sums.xx / n - mean_x**2, sums.xy / n - mean_x * mean_y)


def _compose(outer, inner):
    """outer ∘ inner for affine maps (K, m) of the plane, K as (k00, k01, k10, k11)."""
    (a00, a01, a10, a11), (am0, am1) = outer
    (b00, b01, b10, b11), (bm0, bm1) = inner
    return (
        (a00 * b00 + a01 * b10, a00 * b01 + a01 * b11, a10 * b00 + a11 * b10, a10 * b01 + a11 * b11),
        (a00 * bm0 + a01 * bm1 + am0, a10 * bm0 + a11 * bm1 + am1),
    )


def exact_descent(
    sums: ExactSums, w0: float, b0: float, learning_rate: float, epochs: int, digits: int = DIGITS
) -> tuple[mpmath.mpf, mpmath.mpf]:
    """(w, b) after ``epochs`` exact epochs from (w0, b0): the epoch's affine map, squared repeatedly.

    One epoch: w' = w + a·(Σxy − w·Σx² − b·Σx), b' = b + a·(Σy − w·Σx − N·b), a = 2·lr/N.
    """
    with mpmath.workdps(digits):
        a = 2 * mpmath.mpf(learning_rate) / sums.n
        epoch = (
            (1 - a * sums.xx, -a * sums.x, -a * sums.x, 1 - a * sums.n),
            (a * sums.xy, a * sums.y),
        )
        result = (
            (mpmath.mpf(1), mpmath.mpf(0), mpmath.mpf(0), mpmath.mpf(1)),
            (mpmath.mpf(0), mpmath.mpf(0)),
        )
        square, k = epoch, int(epochs)
        while k:
            if k & 1:
                result = _compose(square, result)
            k >>= 1
            if k:
                square = _compose(square, square)
        (k00, k01, k10, k11), (m0, m1) = result
        w, b = mpmath.mpf(w0), mpmath.mpf(b0)
        return k00 * w + k01 * b + m0, k10 * w + k11 * b + m1


def exact_from_statistics(
    stats: Statistics, w0, b0, learning_rate, epochs: int, digits: int = DIGITS
) -> tuple[mpmath.mpf, mpmath.mpf]:
    """(w, b) after ``epochs`` exact epochs, from the eigen-decomposition of H (O(1) per call).

    θ_k = θ₀ − lr·Σ_i q_i·φ_k(lr·λ_i)·(q_i·g₀), with H = 2·[[var + x̄², x̄], [x̄, 1]] = Q·diag(λ)·Qᵀ,
    g₀ = H·θ₀ − 2·(cov + x̄·ȳ, ȳ) the gradient at the start, φ_k(z) = (1 − (1 − z)^k)/z (k at z = 0).
    Any argument may be an mpmath number (a perturbed statistic) or a float (taken exactly).
    """
    with mpmath.workdps(digits):
        mpf = mpmath.mpf
        mean_x, mean_y = mpf(stats.mean_x), mpf(stats.mean_y)
        h00, h01, h11 = 2 * (mpf(stats.variance) + mean_x**2), 2 * mean_x, mpf(2)
        w, b, lr = mpf(w0), mpf(b0), mpf(learning_rate)
        g = (
            h00 * w + h01 * b - 2 * (mpf(stats.covariance) + mean_x * mean_y),
            h01 * w + h11 * b - 2 * mean_y,
        )
        half_trace, det = (h00 + h11) / 2, h00 * h11 - h01 * h01
        root = mpmath.sqrt(max((h00 - h11) ** 2 / 4 + h01 * h01, mpf(0)))
        large = half_trace + root
        eigen = [large, det / large if large else mpf(0)]
        if h01 == 0:
            vectors = (
                [(mpf(1), mpf(0)), (mpf(0), mpf(1))] if h00 >= h11 else [(mpf(0), mpf(1)), (mpf(1), mpf(0))]
            )
        else:
            first = (h01, large - h00)
            norm = mpmath.sqrt(first[0] ** 2 + first[1] ** 2)
            first = (first[0] / norm, first[1] / norm)
            vectors = [first, (first[1], -first[0])]
        step_w = step_b = mpf(0)
        for lam, (q0, q1) in zip(eigen, vectors):
            z = lr * lam
            phi = mpf(epochs) if z == 0 else (1 - (1 - z) ** int(epochs)) / z
            along = phi * (q0 * g[0] + q1 * g[1])
            step_w += q0 * along
            step_b += q1 * along
        return w - lr * step_w, b - lr * step_b
