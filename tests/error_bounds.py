"""Rigorous floating-point error bounds for a descent trajectory: where the tolerances come from.

Notation (Higham, *Accuracy and Stability of Numerical Algorithms*, ch. 3–4): ``u = 2**-53`` is the unit
roundoff of float64, ``γ(k) = k·u / (1 − k·u)``. Let (w_k, b_k) be the exact-arithmetic iterates and
(ŵ_k, b̂_k) a kernel's computed ones, from the same start.

1. **One term.** ``t_i = ((2/N)·(y_i − (w·x_i + b)))·(−x_i)`` takes six roundings: w·x_i, +b, y_i−,
   the constant 2/N, the product with it, and ·(−x_i) (negation is exact). The subtraction may cancel,
   so its error is relative to |y_i| + |w·x_i| + |b|, not to the residual; carrying that through,
   ``|t̂_i − t_i| ≤ γ(6)·(2/N)·(|y_i| + |w·x_i| + |b|)·|x_i|``. The b-term is the same without |x_i|.
   ``numba_simd`` and ``numba_parallel`` regroup the same monomials: with s_i = y_i − w·x_i (one
   fused multiply-add) they sum Σ s_i·x_i and Σ s_i, then subtract b·Σ x_i and N·b. Counted per
   monomial (step 5 below), y_i·x_i and w·x_i² take the FMA for s_i, the FMA that adds s_i·x_i (its
   product's one rounding), at most N − 1 additions, the subtraction and the two of the scaling by
   2/N: N + 4, where the notebook's take N + 5 (six per term, N − 1 in the sum); b·x_i takes at most
   N − 1 additions in Σ x, the product with b, the subtraction and the scaling: N + 3. The b-gradient's
   monomials take fewer. All are relative to the same magnitudes |y_i|·|x_i|, |w·x_i|·|x_i|,
   |b|·|x_i|, so the bound below, with six roundings per term and depth N − 1, covers them too
   (``TERM_ROUNDINGS`` is an upper bound for every kernel).

2. **The sum.** Summing N terms in *any* order (sequential, pairwise, blocked, SIMD lanes, threads)
   forms a binary tree of depth at most N−1, so ``|Ŝ − Σ t̂_i| ≤ γ(N−1)·Σ|t̂_i|`` (Higham eq. 4.4). A
   correctly rounded sum (``math.fsum``) has depth 1. With step 1:
   ``|ĝ_w − g_w(ŵ, b̂)| ≤ γ(depth + 6)·A_w`` where ``A_w = (2/N)·Σ(|y_i| + |ŵ·x_i| + |b̂|)·|x_i|``, and
   likewise ``A_b`` without the |x_i| factor.

3. **The update.** ``ŵ_{k+1} = fl(ŵ_k − fl(ĝ·lr))`` adds at most ``u·|ŵ_{k+1}| + u·(1+u)·lr·|ĝ|``,
   and |ĝ| ≤ (1 + γ(depth+6))·A ≤ 2A, so the update contributes at most ``γ(2)·(|ŵ_{k+1}| + 2·lr·A)``.

4. **Propagation.** The gradient is affine in (w, b), so the exact map is e ↦ J·e with
   ``J = I − lr·H``, ``H = (2/N)·[[Σx², Σx], [Σx, N]]``, and the error vector e_k obeys
   ``e_{k+1} = J·e_k + δ_k`` with |δ_k| ≤ d_k (the local errors of steps 2–3). Two bounds follow, and
   both hold, so the smaller is used at every epoch:
   (a) componentwise, ``|e_{k+1}| ≤ |J|·|e_k| + d_k`` — tight while both diagonal entries of J are
       positive (small rates), but |J| can have spectral radius > 1 near the critical rate;
   (b) in the 2-norm, ``‖e_{k+1}‖ ≤ ρ(J)·‖e_k‖ + ‖d_k‖`` (J is symmetric, so ‖J‖₂ = ρ(J) ≤ 1 for every
       convergent rate), and |e_w|, |e_b| ≤ ‖e‖.
   J and ρ(J) are themselves computed in floating point. |1 − t| ≤ |1 − t̂| + γ(k)·t for a t
   computed with k roundings; ρ(J) is widened by lr·δ, where δ bounds how far the computed eigenvalues
   of H can be from the exact ones: the entries' own rounding (γ(N+3) relative to Σx² and Σ|x|, by
   Weyl's inequality through the Frobenius norm) plus the eigensolver's backward error, *assumed* at
   most 10·u·‖H‖_F (LAPACK's symmetric eigensolvers are backward stable with a small constant; for a
   2×2 matrix 10 is generous). Every bound is itself computed in floating point and rounded up
   (step 6), each step of either recurrence included.

Two kernels A and B then satisfy ``|ŵ^A_k − ŵ^B_k| ≤ E^A_k + E^B_k`` on every epoch k, where E is the
bound of step 4 evaluated along each kernel's own computed trajectory. No constant here is tuned: each
is a count of roundings.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import mpmath
import numpy as np
from exact_reference import DIGITS, Statistics, exact_from_statistics, exact_statistics, exact_sums

from impls.closed_form import modes, moments, power_terms

UNIT_ROUNDOFF = 2.0**-53

#: Roundings in one gradient term (step 1 above): the notebook's six. Kernels that count fewer
#: (numba_simd, numba_parallel: see step 1) are covered; a bound for more roundings holds for fewer.
TERM_ROUNDINGS = 6


def gamma(k: int | float) -> float:
    """Higham's γ_k = k·u / (1 − k·u): the relative error bound of k successive roundings."""
    ku = k * UNIT_ROUNDOFF
    if ku >= 1:
        raise ValueError(f"gamma({k}) is undefined: k·u >= 1")
    return ku / (1 - ku)


def any_order_depth(n: int) -> int:
    """Depth of the deepest summation tree of n terms: a bound valid for every summation order."""
    return max(n - 1, 0)


def trajectory_bound(
    x: np.ndarray,
    y: np.ndarray,
    w_traj: np.ndarray,
    b_traj: np.ndarray,
    w0: float,
    b0: float,
    learning_rate: float,
    sum_depth: int,
    term_roundings: int = TERM_ROUNDINGS,
) -> tuple[np.ndarray, np.ndarray]:
    """Bounds on |ŵ_k − w_k| and |b̂_k − b_k| for each epoch of a computed trajectory.

    ``w_traj[k]``, ``b_traj[k]`` are the computed parameters after epoch k (starting from w0, b0);
    ``sum_depth`` is the depth of the kernel's summation tree (``any_order_depth(n)`` when unknown, 1
    for a correctly rounded sum). Returns two arrays, one bound per epoch.
    """
    n = x.shape[0]
    lr = learning_rate
    g_local = gamma(sum_depth + term_roundings)
    g_update = gamma(2)
    abs_x, abs_y = np.abs(x), np.abs(y)
    starts_w = np.concatenate(([w0], w_traj[:-1]))
    starts_b = np.concatenate(([b0], b_traj[:-1]))
    local_w = np.empty_like(w_traj)
    local_b = np.empty_like(b_traj)
    for k in range(w_traj.shape[0]):
        scale = abs_y + abs(starts_w[k]) * abs_x + abs(starts_b[k])
        # Step 6: A_w takes N + 5 roundings (three in ``scale``, one for |x|, N − 1 in the sum, two
        # for 2/N and the product), A_b N + 4; the local bounds six more.
        a_w = _upper((2 / n) * float(np.sum(scale * abs_x)), n + 5)
        a_b = _upper((2 / n) * float(np.sum(scale)), n + 4)
        local_w[k] = _upper(lr * g_local * a_w + g_update * (abs(w_traj[k]) + 2 * lr * a_w), 6)
        local_b[k] = _upper(lr * g_local * a_b + g_update * (abs(b_traj[k]) + 2 * lr * a_b), 6)
    return propagate(x, lr, local_w, local_b)


def critical_learning_rate(x: np.ndarray) -> float:
    """The learning rate above which the descent diverges on samples ``x``: 2 / λ_max(H).

    The MSE's Hessian is ``H = (2/N)·[[Σx², Σx], [Σx, N]]`` whatever y is, and the update contracts
    exactly when every eigenvalue of ``J = I − lr·H`` lies in (−1, 1].
    """
    n = x.shape[0]
    hessian = (2 / n) * np.array([[np.sum(x * x), np.sum(x)], [np.sum(x), n]])
    return 2.0 / float(np.linalg.eigvalsh(hessian)[-1])


# ---------------------------------------------------------------------------------------------------
# Kernels whose order of operations differs beyond the sum: ``sufficient_stats`` and ``closed_form``.
#
# 5. **Counting roundings per monomial.** Expand an expression of +, −, × into monomials of its
#    leaves. Each operation rounds once, so a monomial reaches the result multiplied by one factor
#    (1 + δ), |δ| ≤ u, per operation on its path, and a leaf that was itself rounded k times brings
#    k more. With K the largest count, ``|computed − exact| ≤ γ(K)·Σ|monomials|``, and Σ|monomials| is
#    the expression evaluated with every sign made + and every leaf made |leaf| (Higham §3.1, lemma
#    3.1 applied monomial by monomial). Where the exact expression equals the exact descent step —
#    the centring identities hold for any shift — this bounds the *local* error of one epoch.
#
# 6. **Bounding the bound.** The bound is itself evaluated in floating point. Every such evaluation
#    here adds or multiplies non-negative numbers, so a result computed with k roundings is at least
#    (1 − γ(k)) times its exact value; dividing by that (``_upper``) makes it an upper bound again.
# ---------------------------------------------------------------------------------------------------


def _upper(value: float | np.ndarray, roundings: int) -> float | np.ndarray:
    """An upper bound on the exact value of a non-negative quantity computed with ``roundings`` roundings."""
    return value / (1 - gamma(roundings))


def propagate(
    x: np.ndarray, learning_rate: float, local_w: np.ndarray, local_b: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Bounds on |ŵ_k − w_k|, |b̂_k − b_k| from bounds ``local_w[k]``, ``local_b[k]`` on each epoch's error.

    Step 4: the exact map is affine with Jacobian J = I − lr·H, so the error obeys
    ``e_{k+1} = J·e_k + δ_k``. Two recurrences bound it and both are run, keeping the smaller bound at
    every epoch: componentwise, ``|e_{k+1}| ≤ |J|·|e_k| + d_k``; and in the 2-norm,
    ``‖e_{k+1}‖ ≤ ρ(J)·‖e_k‖ + ‖d_k‖`` (J is symmetric), which stays finite near the critical rate,
    where |J| — unlike J — can have a spectral radius above 1.
    """
    n = x.shape[0]
    lr = learning_rate
    sum_xx = _upper(float(np.sum(x * x)), n)  # N − 1 additions and N products
    sum_abs_x = _upper(float(np.sum(np.abs(x))), n)
    t = lr * (2 / n) * float(np.sum(x * x))
    j_ww = _upper(abs(1 - t) + gamma(n + 3) * _upper(t, n + 3), 2)
    j_wb = _upper(lr * (2 / n) * sum_abs_x, 2)
    j_bb = _upper(abs(1 - 2 * lr), 1)  # H's b-entry is exactly 2: only 1 − 2·lr rounds

    hessian = (2 / n) * np.array([[np.sum(x * x), np.sum(x)], [np.sum(x), n]])
    eigenvalues = np.linalg.eigvalsh(hessian)
    entry_error = gamma(n + 3) * (2 / n) * math.hypot(sum_xx, math.sqrt(2) * sum_abs_x)
    delta = _upper(entry_error + 10 * UNIT_ROUNDOFF * float(np.linalg.norm(hessian)), 8)
    low, high = float(eigenvalues[0]) - delta, float(eigenvalues[-1]) + delta
    rho = _upper(max(abs(1 - lr * low), abs(1 - lr * high)), 3)

    bound_w = np.empty(len(local_w))
    bound_b = np.empty(len(local_b))
    e_w = e_b = e_norm = 0.0
    for k in range(len(local_w)):
        # The error entering this epoch is at most min(e_norm, ‖(e_w, e_b)‖) in the 2-norm. Each step
        # adds a few roundings (products, sums, a hypot within an ulp) to every path: rounded up.
        e_norm = _upper(rho * min(e_norm, math.hypot(e_w, e_b)) + math.hypot(local_w[k], local_b[k]), 4)
        e_w, e_b = (
            _upper(j_ww * e_w + j_wb * e_b + local_w[k], 3),
            _upper(j_wb * e_w + j_bb * e_b + local_b[k], 3),
        )
        e_w, e_b = min(e_w, e_norm), min(e_b, e_norm)
        bound_w[k], bound_b[k] = e_w, e_b
    return bound_w, bound_b


class CentredSums(NamedTuple):
    """Upper bounds on Σ|u|, Σu², Σ|u·v|, Σ|v| for u = x − shift_x, v = y − shift_y (exact deviations)."""

    abs_u: float
    uu: float
    abs_uv: float
    abs_v: float


def centred_sums(x: np.ndarray, y: np.ndarray, shift_x: float, shift_y: float) -> CentredSums:
    """Rigorous upper bounds on the magnitudes of the centred sums (step 6: one rounding per deviation)."""
    n = x.shape[0]
    u = np.abs(x - shift_x)
    v = np.abs(y - shift_y)
    return CentredSums(
        abs_u=_upper(float(np.sum(u)), n + 1),
        uu=_upper(float(np.sum(u * u)), n + 3),
        abs_uv=_upper(float(np.sum(u * v)), n + 3),
        abs_v=_upper(float(np.sum(v)), n + 1),
    )


#: Roundings on the longest paths of one ``sufficient_stats`` epoch beyond the N − 1 of a centred sum
#: (step 5). Through Σu²: two rounded deviations and their product (3), then w·Σu² (1), the two
#: subtractions of Σr·u (2), the addition giving Σr·x (1), −(2/N)·Σ (2: the constant and the product),
#: ·lr (1) and w − (1). Through c·Σu: c = (b + w·x̄) − ȳ (3), one deviation (1), c·Σu (1), then the
#: same 1 + 1 + 2 + 1 + 1. Both come to N − 1 + 11; every other path, b's included, is shorter.
SUFFICIENT_STATS_ROUNDINGS = 11


def sufficient_stats_local_errors(
    x: np.ndarray,
    y: np.ndarray,
    w: np.ndarray,
    b: np.ndarray,
    learning_rate: float,
    shift_x: float,
    shift_y: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Bounds on the error of one ``sufficient_stats`` epoch from each (w[k], b[k]), against the exact step.

    With u = x − x̄, v = y − ȳ exact for the kernel's shifts (any shift works) and C = |b| + |w·x̄| + |ȳ|,
    the epoch's result is, monomial by monomial (step 5),

        w' = w + lr·(2/N)·(Σuv − w·Σu² − c·Σu + x̄·(Σv − w·Σu − N·c)),   b' = b + lr·(2/N)·(Σv − w·Σu − N·c),

    so ``|ŵ' − w'| ≤ u·|w| + γ(N + 10)·lr·(2/N)·(Σ|uv| + |w|·Σu² + C·Σ|u| + |x̄|·(Σ|v| + |w|·Σ|u| + N·C))``
    and likewise for b' with only the second bracket. The magnitudes are those of the *centred* data:
    a large offset in x enters only through C and x̄, not through N·x̄² inside a sum.
    """
    n = x.shape[0]
    sums = centred_sums(x, y, shift_x, shift_y)
    k = n - 1 + SUFFICIENT_STATS_ROUNDINGS
    abs_w, abs_b = np.abs(w), np.abs(b)
    c = abs_b + abs_w * abs(shift_x) + abs(shift_y)
    sum_ru = sums.abs_uv + abs_w * sums.uu + c * sums.abs_u
    sum_r = sums.abs_v + abs_w * sums.abs_u + n * c
    scale = learning_rate * (2 / n)
    # Ten roundings at most in evaluating any of these bounds (step 6).
    local_w = _upper(UNIT_ROUNDOFF * abs_w + gamma(k) * scale * (sum_ru + abs(shift_x) * sum_r), 10)
    local_b = _upper(UNIT_ROUNDOFF * abs_b + gamma(k) * scale * sum_r, 10)
    return local_w, local_b


def sufficient_stats_trajectory_bound(
    x: np.ndarray,
    y: np.ndarray,
    w_traj: np.ndarray,
    b_traj: np.ndarray,
    w0: float,
    b0: float,
    learning_rate: float,
    shift_x: float,
    shift_y: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Bounds on |ŵ_k − w_k|, |b̂_k − b_k| along a computed ``sufficient_stats`` trajectory (steps 4–5)."""
    starts_w = np.concatenate(([w0], w_traj[:-1]))
    starts_b = np.concatenate(([b0], b_traj[:-1]))
    local_w, local_b = sufficient_stats_local_errors(
        x, y, starts_w, starts_b, learning_rate, shift_x, shift_y
    )
    return propagate(x, learning_rate, local_w, local_b)


# 7. **The closed form (closed_form).** The kernel computes the statistics P̂ = (x̄̂, ȳ̂, vâr, cov̂) from
#    its shifted sums, then evaluates the exact k-epoch map Φ_k (a function of P, lr, w₀, b₀ and k
#    alone) at P̂ by its eigen-decomposition. Its error splits in two (docs/bounds-closed-form.md):
#
#        |θ̂_k − θ_k| ≤ |Φ_k(P̃) − Φ_k(P)|  +  |θ̂_k − Φ_k(P̃)|,      P̃ = (x̄̂, ȳ̂, â², cov̂), â = fl(√vâr),
#
#    (I) the statistics' errors carried through the *exact* map, and (II) the rounding of the
#    evaluation. (I): step 5 on the shifted sums (any order) and on their combination bounds
#    |P̂_j − P_j| ≤ Δ_j for each statistic; Φ_k is then evaluated in exact arithmetic
#    (``exact_reference.exact_from_statistics``) at P ± Δ_j, one statistic at a time, and the
#    largest changes are added — to first order in Δ (cross terms are products of two Δ's). (II):
#    a running error analysis of the kernel's own operations at P̃. ``modes`` evaluates only sums of
#    non-negative terms, products and quotients (its s₁ − 1 is built for that), so each output carries
#    a relative error γ(count) (``CLOSED_FORM_MODE_ROUNDINGS``); the power F = 1 − (1 − z)^k is
#    perturbed by a relative error η of z by at most k·|1 − z|^(k−1)·z·η, and by the roundings of
#    log1p, k·log and expm1 by |1 − z|^k·|t|·γ(4) + γ(3)·|F| (t = k·log|1 − z|); the two dot products
#    p_i = v_i·ξ₀ and the final sums take absolute errors (cancellation is allowed there). As in
#    step 4's eigensolver, one constant is assumed rather than counted: libm's hypot, log1p, expm1,
#    exp and log are within 1 ulp (glibc's documented maximum), counted as 2 roundings each. Like
#    (I), the power's sensitivity k·|1 − z|^(k−1)·z·η is a first-order term.
#
#    Neither part grows with k: sup_k k·|μ|^(k−1)·z ≤ 1 for 0 < z ≤ 1 (μ = 1 − z), and stays finite
#    for 1 < z < 2, growing like 1/(2 − z) — the conditioning of the problem at the stability limit;
#    sup_t |t|·e^t = 1/e; F ≤ 2 and h = F/ν = 2·lr·(1 − μ^k)/z ≤ 2·lr·min(k, 2/z); and the exact
#    map's sensitivity to the statistics is bounded in k for the same reasons (it is made of the same
#    F, h and their derivatives). The data enter only through the four statistics, so (I) with
#    Δ_j = u·|P_j| — one rounding of each statistic — is the problem's own conditioning
#    (``closed_form_sensitivity``), against which the tests judge how small the error can be.
# ---------------------------------------------------------------------------------------------------

#: Relative roundings (counts for γ) of each output of ``impls.closed_form.modes`` given a and x̄ exact,
#: from the order of its operations: hypot ≤ 1 ulp counts 2, every other operation 1, relative errors
#: of a quotient's terms add. 1 ± a: 1; hypot(1 ± a, x̄): 3; s₁: 4; s₂ = a/s₁: 5; s₁ − 1: 8 (each
#: x̄·(x̄/(hypot + …)) 6, their sum 7, plus max(a − 1, 0)); ν₁ = s₁²: 9; ν₂ = s₂²: 11; (ν₁ − 1)/ν₁: 24;
#: along = a·(ν₁ − 1)/ν₁: 25; norm = hypot(along, x̄): 27. Outputs:
CLOSED_FORM_MODE_ROUNDINGS = {
    "nu_1": 9,
    "nu_2": 11,
    "along": 25 + 27 + 1,  # v₁[0] = along/norm
    "across": 27 + 1,  # v₁[1] = x̄/norm
    "along_over_a": 24 + 27 + 1,  # v₁[0]/a = ((ν₁ − 1)/ν₁)/norm
    "a_over_nu_1": 5 + 4 + 1,  # s₂/s₁
}


class StatisticsErrors(NamedTuple):
    """Bounds on |P̃_j − P_j| for closed_form's x̄, ȳ, var(x) (as â²) and cov(x, y) (step 7, part I)."""

    mean_x: float
    mean_y: float
    variance: float
    covariance: float


def closed_form_statistics_errors(
    x: np.ndarray, y: np.ndarray, statistics: tuple[float, ...]
) -> StatisticsErrors:
    """Bounds on the errors of ``impls.closed_form.moments`` from the kernel's shifted sums ``statistics``.

    With exact sums S and computed Ŝ (u = x − k_x, v = y − k_y, one rounding per deviation, any order):
    |Ŝ_u − S_u| ≤ γ(N)·Σ|u|, |Ŝ_v − S_v| ≤ γ(N)·Σ|v|, |Ŝ_uu − S_uu| ≤ γ(N + 2)·Σu², |Ŝ_uv − S_uv| ≤
    γ(N + 2)·Σ|uv|. Then x̄ = k_x + Ŝ_u/N (2 roundings), var = (Ŝ_uu − Ŝ_u·(Ŝ_u/N))/N (4),
    cov = (Ŝ_uv − Ŝ_u·(Ŝ_v/N))/N (4), with the exact ones the same formulas on S; â² = var·(1 + δ)²
    adds γ(2)·var. Where var is 0, the kernel uses no covariance: |cov̂| is added to its error.
    """
    n = x.shape[0]
    shift_x, shift_y, s_u, s_v, s_uu, s_uv = (float(value) for value in statistics)
    sums = centred_sums(x, y, shift_x, shift_y)
    d_u, d_v = gamma(n) * sums.abs_u, gamma(n) * sums.abs_v
    d_uu, d_uv = gamma(n + 2) * sums.uu, gamma(n + 2) * sums.abs_uv
    mean_x, mean_y, variance, covariance = moments(tuple(statistics), n)
    e_x = d_u / n + gamma(2) * (abs(s_u) / n + abs(mean_x))
    e_y = d_v / n + gamma(2) * (abs(s_v) / n + abs(mean_y))
    e_var = (d_uu + d_u * (2 * abs(s_u) + d_u) / n + gamma(4) * (s_uu + s_u * s_u / n)) / n
    e_var += gamma(2) * variance
    e_cov = (
        d_uv + (abs(s_u) * d_v + abs(s_v) * d_u + d_u * d_v) / n + gamma(4) * (abs(s_uv) + abs(s_u * s_v) / n)
    ) / n
    if variance == 0.0:
        e_cov += abs(covariance)
    # Step 6: at most eight roundings in any of these evaluations.
    return StatisticsErrors(*(float(_upper(e, 8)) for e in (e_x, e_y, e_var, e_cov)))


def _exact_changes(stats, deltas, w0, b0, learning_rate, epochs) -> tuple[float, float]:
    """Σ_j max_± |Φ_k(P ± Δ_j·e_j) − Φ_k(P)| for w and b, Φ_k evaluated exactly (step 7, part I)."""
    base_w, base_b = exact_from_statistics(stats, w0, b0, learning_rate, epochs)
    change_w = change_b = 0.0
    for field, delta in zip(StatisticsErrors._fields, deltas):
        worst_w = worst_b = 0.0
        for sign in (1, -1):
            with mpmath.workdps(DIGITS):  # not mpmath's default 15 digits: P ± Δ exactly
                value = getattr(stats, field) + sign * mpmath.mpf(delta)
                if field == "variance":
                    value = max(value, mpmath.mpf(0))
            w, b = exact_from_statistics(stats._replace(**{field: value}), w0, b0, learning_rate, epochs)
            worst_w = max(worst_w, float(abs(w - base_w)))
            worst_b = max(worst_b, float(abs(b - base_b)))
        change_w += worst_w
        change_b += worst_b
    # float() rounds to nearest: one rounding each, then the additions (step 6).
    return float(_upper(change_w, 10)), float(_upper(change_b, 10))


def _one_epoch_changes(statistics, n, errors: StatisticsErrors, w0, b0, learning_rate):
    """Part I for k = 1, in closed form: Φ₁ is w₀ − 2·lr·(var·w₀ − cov + x̄·c₀), b₀ − 2·lr·c₀ with
    c₀ = b₀ + x̄·w₀ − ȳ — linear in ȳ, var, cov and quadratic in x̄ — so its changes are exact sums of
    terms (evaluated at the computed statistics, whose distance to the exact ones is the Δ's)."""
    mean_x, mean_y, _, _ = moments(tuple(statistics), n)
    d_x, d_y, d_var, d_cov = errors
    two_lr = 2 * learning_rate
    x_bar = abs(mean_x) + d_x
    c_0 = abs(b0) + x_bar * abs(w0) + abs(mean_y) + d_y
    change_w = two_lr * (
        abs(w0) * d_var + d_cov + x_bar * d_y + d_x * (c_0 + x_bar * abs(w0)) + d_x * d_x * abs(w0)
    )
    change_b = two_lr * (abs(w0) * d_x + d_y)
    return float(_upper(change_w, 12)), float(_upper(change_b, 6))


def _exp(value: float) -> float:
    """e^value, inf beyond the float range (a diverging rate) instead of OverflowError."""
    return math.inf if value > 709.0 else math.exp(value)


def _power_errors(two_lr: float, nu: float, epochs: int, nu_roundings: int):
    """(F̂, ĥ, bound on |F̂ − F|, bound on |ĥ − h|) for ``power_terms`` at a ν with ``nu_roundings``."""
    f, h = power_terms(two_lr, nu, epochs)
    if not (nu > 0.0 and two_lr * nu != 0.0):
        return f, h, 0.0, gamma(2) * abs(h)  # h = 2·lr·k: float(k) and one product
    z = two_lr * nu
    eta_z = gamma(nu_roundings + 1)
    mu = abs(1 - z)  # one rounding; only its size enters below
    if mu == 0.0:
        power = 0.0
        sensitivity = z * eta_z if epochs == 1 else 0.0
    else:
        log_mu = math.log(mu)
        power = _exp(epochs * log_mu)  # |1 − z|^k
        # k·|1 − z|^(k−1)·z·η, in logarithms: k up to 2⁶³ and |1 − z|^k far below the smallest float.
        sensitivity = _exp(math.log(epochs) + (epochs - 1) * log_mu + math.log(z)) * eta_z
    t = abs(epochs * (math.log(mu) if mu > 0.0 else 0.0))
    error_f = sensitivity + power * t * gamma(4) + gamma(3) * abs(f)
    error_h = error_f / nu + abs(h) * gamma(nu_roundings + 1)
    return f, h, float(_upper(error_f, 8)), float(_upper(error_h, 8))


def _evaluation_errors(statistics, n, w0, b0, learning_rate, epochs) -> tuple[float, float]:
    """Part II of step 7: the kernel's own roundings, evaluating Φ_k at P̃ (its order, strict IEEE)."""
    mean_x, mean_y, variance, covariance = moments(tuple(statistics), n)
    a = math.sqrt(variance)
    nu_1, nu_2, along, across, along_over_a, a_over_nu_1 = modes(a, mean_x)
    r = CLOSED_FORM_MODE_ROUNDINGS
    e_0 = (variance * w0 - covariance) / a if a > 0.0 else 0.0
    c_0 = (b0 + w0 * mean_x) - mean_y
    # ê₀ against (â²·w₀ − cov)/â: |var − â²| ≤ γ(2)·var, the product, the difference and the quotient.
    d_e0 = gamma(3) * (2 * variance * abs(w0) + abs(covariance)) / a + gamma(1) * abs(e_0) if a > 0.0 else 0.0
    d_c0 = gamma(3) * (abs(b0) + abs(w0 * mean_x) + abs(mean_y))
    p_1 = along * e_0 + across * c_0
    p_2 = across * e_0 - along * c_0
    d_p1 = (
        abs(along) * d_e0
        + abs(across) * d_c0
        + gamma(r["along"] + 2) * abs(along * e_0)
        + gamma(r["across"] + 2) * abs(across * c_0)
    )
    d_p2 = (
        abs(across) * d_e0
        + abs(along) * d_c0
        + gamma(r["across"] + 2) * abs(across * e_0)
        + gamma(r["along"] + 2) * abs(along * c_0)
    )
    two_lr = 2.0 * learning_rate
    f_1, h_1, d_f1, d_h1 = _power_errors(two_lr, nu_1, epochs, r["nu_1"])
    _, h_2, _, d_h2 = _power_errors(two_lr, nu_2, epochs, r["nu_2"])
    t_1 = along_over_a * f_1 * p_1
    t_2 = across * h_2 * a_over_nu_1 * p_2
    t_3 = across * h_1 * p_1
    t_4 = along * h_2 * p_2
    d_t1 = (
        abs(along_over_a * p_1) * d_f1
        + abs(along_over_a * f_1) * d_p1
        + gamma(r["along_over_a"] + 2) * abs(t_1)
    )
    d_t2 = (
        abs(across * a_over_nu_1 * p_2) * d_h2
        + abs(across * h_2 * a_over_nu_1) * d_p2
        + gamma(r["across"] + r["a_over_nu_1"] + 3) * abs(t_2)
    )
    d_t3 = abs(across * p_1) * d_h1 + abs(across * h_1) * d_p1 + gamma(r["across"] + 2) * abs(t_3)
    d_t4 = abs(along * p_2) * d_h2 + abs(along * h_2) * d_p2 + gamma(r["along"] + 2) * abs(t_4)
    w_k, b_k = w0 - (t_1 + t_2), b0 - (t_3 - t_4)
    error_w = d_t1 + d_t2 + gamma(1) * abs(t_1 + t_2) + gamma(1) * abs(w_k)
    error_b = d_t3 + d_t4 + gamma(1) * abs(t_3 - t_4) + gamma(1) * abs(b_k)
    return float(_upper(error_w, 12)), float(_upper(error_b, 12))


def closed_form_bound(
    x: np.ndarray,
    y: np.ndarray,
    statistics: tuple[float, ...],
    w0: float,
    b0: float,
    learning_rate: float,
    epochs: int,
    exact_stats: Statistics | None = None,
    errors: StatisticsErrors | None = None,
) -> tuple[float, float]:
    """Bounds on |ŵ_k − w_k|, |b̂_k − b_k| for one closed_form call of ``epochs`` epochs (step 7).

    ``statistics`` is the kernel's ``centred_statistics(x, y)``; ``exact_stats`` the exact statistics
    of (x, y) (``exact_reference.exact_statistics``) and ``errors`` the bounds of
    ``closed_form_statistics_errors``, each computed here when not given. Zero for zero epochs.
    """
    if epochs == 0:
        return 0.0, 0.0
    n = x.shape[0]
    if errors is None:
        errors = closed_form_statistics_errors(x, y, statistics)
    if epochs == 1:
        carried = _one_epoch_changes(statistics, n, errors, w0, b0, learning_rate)
    else:
        if exact_stats is None:
            exact_stats = exact_statistics(exact_sums(x, y))
        carried = _exact_changes(exact_stats, errors, w0, b0, learning_rate, epochs)
    rounded = _evaluation_errors(statistics, n, w0, b0, learning_rate, epochs)
    return float(_upper(carried[0] + rounded[0], 1)), float(_upper(carried[1] + rounded[1], 1))


def closed_form_sensitivity(
    exact_stats: Statistics, w0: float, b0: float, learning_rate: float, epochs: int
) -> tuple[float, float]:
    """How far one rounding of each statistic (x̄, ȳ, var, cov) moves the exact (w_k, b_k): part I with
    Δ_j = u·|P_j|. No method that rounds these statistics can promise less; the tests ask for 1e-10
    relative error where this is at most 1e-12 of the answer."""
    if epochs == 0:
        return 0.0, 0.0
    deltas = [UNIT_ROUNDOFF * abs(float(getattr(exact_stats, field))) for field in StatisticsErrors._fields]
    return _exact_changes(exact_stats, deltas, w0, b0, learning_rate, epochs)


def closed_form_trajectory_bound(
    x: np.ndarray,
    y: np.ndarray,
    w_traj: np.ndarray,
    b_traj: np.ndarray,
    w0: float,
    b0: float,
    learning_rate: float,
    statistics: tuple[float, ...],
) -> tuple[np.ndarray, np.ndarray]:
    """Bounds along a trajectory of one-epoch closed_form calls: step 7 with k = 1, propagated (step 4)."""
    starts_w = np.concatenate(([w0], w_traj[:-1]))
    starts_b = np.concatenate(([b0], b_traj[:-1]))
    errors = closed_form_statistics_errors(x, y, statistics)
    local = [
        closed_form_bound(x, y, statistics, sw, sb, learning_rate, 1, errors=errors)
        for sw, sb in zip(starts_w, starts_b)
    ]
    local_w, local_b = (np.array(column) for column in zip(*local))
    return propagate(x, learning_rate, local_w, local_b)


#: A tolerance must resolve errors this small relative to 1 + |parameter|, or the test says nothing.
INFORMATIVE = 1e-6


def assert_within(name: str, actual, expected, tolerance) -> None:
    """|actual − expected| ≤ tolerance at every epoch, and the tolerance is informative.

    The second condition keeps a bound from passing a wrong kernel by being vacuous.
    """
    actual, expected, tolerance = map(np.atleast_1d, (actual, expected, tolerance))
    assert np.all(np.isfinite(actual)), f"{name}: non-finite values {actual}"
    assert np.all(tolerance <= INFORMATIVE * (1 + np.abs(expected))), (
        f"{name}: tolerance {tolerance.max():.3g} too loose to test anything"
    )
    excess = np.abs(actual - expected) - tolerance
    worst = int(np.argmax(excess))
    assert excess[worst] <= 0, (
        f"{name}: epoch {worst}: {actual[worst]!r} vs {expected[worst]!r}, difference "
        f"{abs(actual[worst] - expected[worst]):.3g} > bound {tolerance[worst]:.3g}"
    )
