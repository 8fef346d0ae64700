"""Rigorous floating-point error bounds for a descent trajectory: where the tolerances come from.

Notation (Higham, *Accuracy and Stability of Numerical Algorithms*, ch. 3–4): ``u = 2**-53`` is the unit
roundoff of float64, ``γ(k) = k·u / (1 − k·u)``. Let (w_k, b_k) be the exact-arithmetic iterates and
(ŵ_k, b̂_k) a kernel's computed ones, from the same start.

1. **One term.** ``t_i = ((2/N)·(y_i − (w·x_i + b)))·(−x_i)`` takes six roundings: w·x_i, +b, y_i−,
   the constant 2/N, the product with it, and ·(−x_i) (negation is exact). The subtraction may cancel,
   so its error is relative to |y_i| + |w·x_i| + |b|, not to the residual; carrying that through,
   ``|t̂_i − t_i| ≤ γ(6)·(2/N)·(|y_i| + |w·x_i| + |b|)·|x_i|``. The b-term is the same without |x_i|.

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

import numpy as np

UNIT_ROUNDOFF = 2.0**-53

#: Roundings in one gradient term (step 1 above).
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
        e_norm = _upper(
            rho * min(e_norm, math.hypot(e_w, e_b)) + math.hypot(local_w[k], local_b[k]), 4
        )
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


# 7. **Powers of an affine map (closed_form).** One epoch is ζ ↦ K·ζ + m in the centred coordinates
#    ζ = (w, c), c = (b + w·x̄) − ȳ; with T = [[K, m], [0, 1]] the exact k-epoch result is T^k·(w₀, c₀, 1).
#    The kernel computes T̂ (|T̂ − T| ≤ Δ, by step 5 entry by entry), then P̂ = T̂^k by squaring. A
#    computed product of homogeneous 3×3 matrices has |fl(XY) − XY| ≤ γ₃·|X|·|Y| (each entry is a sum
#    of at most three products), and by induction over the product tree any parenthesization of k
#    factors — squaring reuses subtrees, which changes nothing — gives
#    |P̂ − T̂^k| ≤ ((1 + γ₃)^(k−1) − 1)·|T̂|^k (Higham §3.5). Expanding (T + E)^k, |T̂^k − T^k| ≤
#    (|T| + Δ)^k − |T|^k, which grows with |T|. With B ≥ |T| and B' = B + Δ ≥ |T̂|, applying P̂ to the
#    rounded start (|ĉ₀ − c₀| ≤ γ₃·C₀, C₀ = |b₀| + |w₀·x̄| + |ȳ|) with three more roundings gives
#
#        |ζ̂_k − ζ_k| ≤ ((1 + γ₃)^k·B'^k − B^k)·|ζ̂₀| + B^k·(0, γ₃·C₀, 0),
#
#    a relative error growing like k·γ₃ on the powers of the absolute map. B'^k − B^k is the corner
#    block of [[B', Δ], [0, B]]^k, a power of a non-negative matrix: computed without cancellation.
#    Finally b = (c − w·x̄) + ȳ adds |x̄|·|ŵ − w| and three roundings.
# ---------------------------------------------------------------------------------------------------

#: Roundings in each entry of closed_form's map (K, m) beyond the N − 1 of a centred sum (step 5). The
#: longest paths: a = (2/N)·lr (2); a rounded deviation squared (3) or times x̄ (2) in Σu², x̄·Σu or
#: (1 + x̄²)·Σu; one addition inside the bracket (1); a·(…) (1); 1 − (…) (1) — 2 + 3 + 1 + 1 + 1.
CLOSED_FORM_MAP_ROUNDINGS = 8


def closed_form_map_bounds(
    x: np.ndarray, y: np.ndarray, learning_rate: float, shift_x: float, shift_y: float
) -> tuple[np.ndarray, np.ndarray]:
    """(B, Δ): non-negative 3×3 matrices with |T| ≤ B and |T̂ − T| ≤ Δ for closed_form's one-epoch map.

    T in the centred coordinates (w, c, 1), with a = 2·lr/N, the exact deviations u, v and s = x̄:

        K = [[1 − a·(Σu² + s·Σu),              −a·(Σu + N·s)],
             [−a·((1 + s²)·Σu + s·Σu²),        1 − a·((1 + s²)·N + s·Σu)]],
        m = (a·(Σuv + s·Σv),  a·((1 + s²)·Σv + s·Σuv)).

    Δ is step 5 on each entry (the 1 on the diagonal is rounded once); B is these formulas evaluated on
    correctly rounded centred sums (``math.fsum``, whose own error is within Δ) plus Δ.
    """
    n = x.shape[0]
    sums = centred_sums(x, y, shift_x, shift_y)
    g = gamma(n - 1 + CLOSED_FORM_MAP_ROUNDINGS)
    a = learning_rate * (2 / n)
    s = abs(shift_x)
    stretch = 1 + s * s
    delta = np.zeros((3, 3))
    delta[0, 0] = UNIT_ROUNDOFF + g * a * (sums.uu + s * sums.abs_u)
    delta[0, 1] = g * a * (sums.abs_u + n * s)
    delta[0, 2] = g * a * (sums.abs_uv + s * sums.abs_v)
    delta[1, 0] = g * a * (stretch * sums.abs_u + s * sums.uu)
    delta[1, 1] = UNIT_ROUNDOFF + g * a * (stretch * n + s * sums.abs_u)
    delta[1, 2] = g * a * (stretch * sums.abs_v + s * sums.abs_uv)
    delta = _upper(delta, 8)

    u = x - shift_x
    v = y - shift_y
    sum_u, sum_v = math.fsum(u), math.fsum(v)
    sum_uu, sum_uv = math.fsum(u * u), math.fsum(u * v)
    sx = shift_x
    reference = np.array(
        [
            [1 - a * (sum_uu + sx * sum_u), -a * (sum_u + n * sx), a * (sum_uv + sx * sum_v)],
            [
                -a * ((1 + sx * sx) * sum_u + sx * sum_uu),
                1 - a * ((1 + sx * sx) * n + sx * sum_u),
                a * ((1 + sx * sx) * sum_v + sx * sum_uv),
            ],
            [0.0, 0.0, 0.0],
        ]
    )
    bound = _upper(np.abs(reference) + delta, 1)
    bound[2, 2] = 1.0
    return bound, delta


def closed_form_bound(
    map_bounds: tuple[np.ndarray, np.ndarray],
    shift_x: float,
    shift_y: float,
    w0: float,
    b0: float,
    epochs: int,
    w_out: float,
) -> tuple[float, float]:
    """Bounds on |ŵ_k − w_k|, |b̂_k − b_k| for one closed_form call of ``epochs`` ≥ 1 epochs (step 7).

    ``map_bounds`` is ``closed_form_map_bounds(…)``; ``w_out`` the w the call returned (its size enters
    the rounding of b = (c − w·x̄) + ȳ).
    """
    bound, delta = map_bounds
    k = epochs
    g3 = gamma(3)
    z = np.zeros((6, 6))
    z[:3, :3] = bound + delta
    z[:3, 3:] = delta
    z[3:, 3:] = bound
    # Every entry of a product of non-negative 6×6 matrices is rounded at most six times per product.
    zk = _upper(np.linalg.matrix_power(z, k), 6 * (k - 1))
    power_upper, power_gap, power = zk[:3, :3], zk[:3, 3:], zk[3:, 3:]
    growth = _upper(math.expm1(k * math.log1p(g3)), 3)  # (1 + γ₃)^k − 1
    c0 = _upper(abs(b0) + abs(w0) * abs(shift_x) + abs(shift_y), 3)
    start = np.array([abs(w0), c0 * (1 + g3), 1.0])
    error = (growth * power_upper + power_gap) @ start + power @ np.array([0.0, g3 * c0, 0.0])
    magnitude = (1 + growth) * (power_upper @ start)
    error_w, error_c = _upper(error[0], 12), _upper(error[1], 12)
    error_b = error_c + abs(shift_x) * error_w
    error_b += g3 * (magnitude[1] + abs(w_out) * abs(shift_x) + abs(shift_y))
    return float(error_w), float(_upper(error_b, 8))


def closed_form_trajectory_bound(
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
    """Bounds along a trajectory of one-epoch closed_form calls: step 7 with k = 1, propagated (step 4)."""
    map_bounds = closed_form_map_bounds(x, y, learning_rate, shift_x, shift_y)
    starts_w = np.concatenate(([w0], w_traj[:-1]))
    starts_b = np.concatenate(([b0], b_traj[:-1]))
    local = [
        closed_form_bound(map_bounds, shift_x, shift_y, sw, sb, 1, w_out)
        for sw, sb, w_out in zip(starts_w, starts_b, w_traj)
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
