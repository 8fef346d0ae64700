"""Closed form: the k-th power of the epoch's linear part from its eigenvalues, in O(1) after the sums.

One epoch maps θ = (w, b) to θ − lr·∇L(θ), and ∇L is affine with the symmetric Hessian
H = 2·M, M = [[var + x̄², x̄], [x̄, 1]] = R·Rᵀ with R = [[a, x̄], [0, 1]] and a = √var (x̄, var: mean and
variance of x). In the coordinates ξ = (a·(w − w*), c), c = (b + w·x̄) − ȳ — where the loss is
‖ξ‖² + const and w* = cov/var — one epoch is ξ ↦ (I − 2·lr·G)·ξ with the symmetric
G = Rᵀ·R = [[a², a·x̄], [a·x̄, 1 + x̄²]], whose eigenvalues ν₁ ≥ ν₂ are M's. After k epochs, with
G = V·diag(ν)·Vᵀ, F_i = 1 − (1 − 2·lr·ν_i)^k, h_i = F_i/ν_i and p_i = v_i·ξ₀, exactly

    w_k = w₀ − Σ_i (v_i[0]/a)·F_i·p_i,      b_k = b₀ − Σ_i v_i[1]·h_i·p_i,

and ξ₀ = ((var·w₀ − cov)/a, c₀) needs no w*. Every piece is computed without cancellation:

* the statistics (``sufficient_stats.centred_statistics``, one pass over the data): x̄ = k_x + Σu/N,
  ȳ = k_y + Σv/N, var = (Σu² − Σu·Σu/N)/N, cov = (Σuv − Σu·Σv/N)/N;
* the eigenvalues from R, not from G (``modes``): s₁ = (hypot(1 + a, x̄) + hypot(1 − a, x̄))/2 is M's
  larger singular value, ν₁ = s₁², and ν₂ = (a/s₁)² from det G = a² (= var; det H = 4·var);
* the eigenvectors from v₁ ∝ (a·(ν₁ − 1)/ν₁, x̄), v₂ ⟂ v₁, with ν₁ − 1 = (s₁ − 1)·(s₁ + 1) and
  s₁ − 1 = max(a − 1, 0) + (x̄²/(hypot(1 + a, x̄) + 1 + a) + x̄²/(hypot(1 − a, x̄) + |1 − a|))/2, a sum
  of non-negative terms, so that every component, however small, has a small relative error; and
  v_i[0]/a comes out as (ν₁ − 1)/ν₁/‖·‖ and v₂[0]·(a/ν₁) (= ν₂/a), so var = 0 needs no division by 0;
* the powers (``power_terms``) as F = −expm1(k·log1p(−z)), z = 2·lr·ν, with the sign of (1 − z)^k
  taken apart when z ≥ 1 (log1p(z − 2) = log|1 − z|): accurate relative to F for tiny z, for z near
  1 (where 1 − z vanishes), near 2 (where |1 − z| → 1) and for every k up to 2⁶³ − 1 (an int64; the
  power is one exp of k·log, not k products); h = 2·lr·k where z = 0;
* b_k from b₀ directly: no (c − w·x̄) + ȳ, which cancels two numbers of size |ȳ| when x̄ is large.

The iterates equal the per-epoch descent's in exact arithmetic for every k. A learning rate beyond the
stability limit (2·lr·ν₁ > 2) makes |1 − z|^k grow; once the result leaves the float range the kernel
returns (NaN, NaN), silently — where the stepping kernels' iterates end, after overflowing to ±inf
with alternating signs.

Cost: O(N + 1): one pass over x and y for the statistics, then a fixed number of operations
(square roots, a log1p and an expm1 per eigenvalue) whatever the number of epochs.

Floating-point order: the statistics as in ``sufficient_stats`` (one rounding per deviation, sums in
any order), combined in the order written above; ``modes``, ``power_terms`` and the final
combinations are strict IEEE (no fast-math flags), in the order written in the code. The error bound
of ``tests/error_bounds.py`` (``closed_form_bound``, derived in ``docs/bounds-closed-form.md``) adds
the statistics' errors carried through the exact k-epoch map to a count of the roundings of this
evaluation; neither part grows with k.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from impls.sufficient_stats import centred_statistics


@njit(cache=False, fastmath=False)
def moments(
    statistics: tuple[float, float, float, float, float, float], n: int
) -> tuple[float, float, float, float]:
    """(x̄, ȳ, var(x), cov(x, y)) from ``centred_statistics``' shifted sums (var clamped at 0)."""
    shift_x, shift_y, sum_u, sum_v, sum_uu, sum_uv = statistics
    mean_u = sum_u / n
    mean_v = sum_v / n
    variance = (sum_uu - sum_u * mean_u) / n
    covariance = (sum_uv - sum_u * mean_v) / n
    return shift_x + mean_u, shift_y + mean_v, variance if variance > 0.0 else 0.0, covariance


@njit(cache=False, fastmath=False)
def modes(a: float, c: float) -> tuple[float, float, float, float, float, float]:
    """Eigenvalues and eigenvectors of G = [[a², a·c], [a·c, 1 + c²]] (a ≥ 0), without cancellation.

    Returns (ν₁, ν₂, v₁[0], v₁[1], v₁[0]/a, a/ν₁) with ν₁ ≥ ν₂; v₂ = (v₁[1], −v₁[0]).
    """
    plus = 1.0 + a
    minus = abs(1.0 - a)
    hyp_plus = math.hypot(plus, c)
    hyp_minus = math.hypot(minus, c)
    large = 0.5 * (hyp_plus + hyp_minus)
    small = a / large
    large_minus_one = max(a - 1.0, 0.0)
    if c != 0.0:
        large_minus_one += 0.5 * (c * (c / (hyp_plus + plus)) + c * (c / (hyp_minus + minus)))
    nu_1 = large * large
    ratio = large_minus_one * (large + 1.0) / nu_1  # (ν₁ − 1)/ν₁
    along = a * ratio
    norm = math.hypot(along, c)
    if norm == 0.0:  # c = 0 and a ≤ 1: G = diag(a², 1), v₁ = (0, 1)
        return nu_1, small * small, 0.0, 1.0, 0.0, small / large
    return nu_1, small * small, along / norm, c / norm, ratio / norm, small / large


@njit(cache=False, fastmath=False)
def power_terms(two_lr: float, nu: float, k: int) -> tuple[float, float]:
    """(F, h) = (1 − (1 − z)^k, F/ν) for z = 2·lr·ν and k ≥ 1, each with a small relative error."""
    z = two_lr * nu
    if z < 1.0:
        f = -math.expm1(k * math.log1p(-z))
    else:  # 1 − z ≤ 0: (1 − z)^k = (−1)^k·exp(k·log(z − 1)), and z − 2 is exact for 1 ≤ z ≤ 4
        t = k * math.log1p(z - 2.0)
        f = 1.0 + math.exp(t) if k & 1 else -math.expm1(t)
    if nu > 0.0 and z != 0.0:
        return f, f / nu
    return f, two_lr * k  # ν = 0 (or z below the smallest float): h = lim F/ν = 2·lr·k


@njit(cache=False, fastmath=False)
def descend(
    x: np.ndarray, y: np.ndarray, w: float, b: float, learning_rate: float, epochs: int
) -> tuple[float, float]:
    """Run ``epochs`` full-batch updates from (w, b) and return the final (w, b)."""
    if epochs == 0:
        return w, b
    mean_x, mean_y, variance, covariance = moments(centred_statistics(x, y), x.shape[0])
    a = math.sqrt(variance)
    nu_1, nu_2, along, across, along_over_a, a_over_nu_1 = modes(a, mean_x)
    e_0 = (variance * w - covariance) / a if a > 0.0 else 0.0
    c_0 = (b + w * mean_x) - mean_y
    p_1 = along * e_0 + across * c_0
    p_2 = across * e_0 - along * c_0
    two_lr = 2.0 * learning_rate
    f_1, h_1 = power_terms(two_lr, nu_1, epochs)
    _, h_2 = power_terms(two_lr, nu_2, epochs)
    step_w = along_over_a * f_1 * p_1 + across * h_2 * a_over_nu_1 * p_2
    step_b = across * h_1 * p_1 - along * h_2 * p_2
    w_k, b_k = w - step_w, b - step_b
    if math.isfinite(w_k) and math.isfinite(b_k):
        return w_k, b_k
    return math.nan, math.nan  # beyond the float range: as the stepping kernels' ±inf iterates end
