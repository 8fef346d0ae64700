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
   J and ρ(J) are themselves computed in floating point: the entries of H carry relative error at most
   γ(N+2) (sums of N terms and the products around them), so entries are inflated by 1 + γ(N+3) and ρ by
   lr·γ(N+12)·‖H‖_F (Weyl's inequality, plus the eigensolver's own backward error of a few u·‖H‖).

Two kernels A and B then satisfy ``|ŵ^A_k − ŵ^B_k| ≤ E^A_k + E^B_k`` on every epoch k, where E is the
bound of step 4 evaluated along each kernel's own computed trajectory. No constant here is tuned: each
is a count of roundings.
"""

from __future__ import annotations

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
    inflate = 1 + gamma(n + 3)
    abs_x, abs_y = np.abs(x), np.abs(y)

    sum_x, sum_xx = float(np.sum(x)), float(np.sum(x * x))
    hessian = (2 / n) * np.array([[sum_xx, sum_x], [sum_x, n]])
    # (a): |J|, entries inflated to cover their own rounding.
    j_ww = abs(1 - lr * hessian[0, 0]) * inflate
    j_wb = lr * (2 / n) * float(np.sum(abs_x)) * inflate
    j_bb = abs(1 - lr * hessian[1, 1]) * inflate
    # (b): ρ(J) = max |1 − lr·λ| over the eigenvalues λ of H, widened by their perturbation bound.
    eigenvalues = np.linalg.eigvalsh(hessian)
    rho = float(np.max(np.abs(1 - lr * eigenvalues)))
    rho += lr * gamma(n + 12) * float(np.linalg.norm(hessian))

    starts_w = np.concatenate(([w0], w_traj[:-1]))
    starts_b = np.concatenate(([b0], b_traj[:-1]))
    bound_w = np.empty_like(w_traj)
    bound_b = np.empty_like(b_traj)
    e_w = e_b = e_norm = 0.0
    for k in range(w_traj.shape[0]):
        scale = abs_y + abs(starts_w[k]) * abs_x + abs(starts_b[k])
        a_w = (2 / n) * float(np.sum(scale * abs_x)) * inflate
        a_b = (2 / n) * float(np.sum(scale)) * inflate
        d_w = lr * g_local * a_w + g_update * (abs(w_traj[k]) + 2 * lr * a_w)
        d_b = lr * g_local * a_b + g_update * (abs(b_traj[k]) + 2 * lr * a_b)
        e_w, e_b = j_ww * e_w + j_wb * e_b + d_w, j_wb * e_w + j_bb * e_b + d_b
        # hypot is within 1 ulp of the true norm; the 1 + u covers it.
        e_norm = rho * e_norm + np.hypot(d_w, d_b) * (1 + UNIT_ROUNDOFF)
        # Both recurrences bound the true error; keeping the smaller one going forward is still a bound.
        e_w, e_b = min(e_w, e_norm), min(e_b, e_norm)
        bound_w[k], bound_b[k] = e_w, e_b
    return bound_w, bound_b


def critical_learning_rate(x: np.ndarray) -> float:
    """The learning rate above which the descent diverges on samples ``x``: 2 / λ_max(H).

    The MSE's Hessian is ``H = (2/N)·[[Σx², Σx], [Σx, N]]`` whatever y is, and the update contracts
    exactly when every eigenvalue of ``J = I − lr·H`` lies in (−1, 1].
    """
    n = x.shape[0]
    hessian = (2 / n) * np.array([[np.sum(x * x), np.sum(x)], [np.sum(x), n]])
    return 2.0 / float(np.linalg.eigvalsh(hessian)[-1])
