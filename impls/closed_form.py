"""Closed form: one epoch is an affine map of the parameters; apply it ``epochs`` times by squaring.

The update is affine in (w, b). It is written here in the centred coordinates (w, c) of
``sufficient_stats``, c = (b + w·x̄) − ȳ, where its constant part is small for data with a large offset
(in (w, b) it would be about a·N·x̄·ȳ, cancelling against the linear part every epoch). With
a = 2·learning_rate/N and the centred sums of ``sufficient_stats``, one epoch is

    w' = w + a·(Σr·u + x̄·Σr),      c' = c + a·((1 + x̄²)·Σr + x̄·Σr·u),
    Σr·u = Σuv − w·Σu² − c·Σu,     Σr = Σv − w·Σu − N·c,

that is ζ' = K·ζ + m for ζ = (w, c). The pair (K, m) — the 3×3 matrix [[K, m], [0, 1]] — is raised to
the power ``epochs`` by repeated squaring, applied to (w₀, c₀), and b is recovered as
(c − w·x̄) + ȳ. The iterates equal the per-epoch descent's in exact arithmetic.

Cost: O(N + log epochs): the centred sums (two passes over the data, as in ``sufficient_stats``),
then at most 2·log₂(epochs) products of 3×3 affine maps.

Floating-point order: the sums as in ``sufficient_stats``; each entry of (K, m) is rounded in the order
written above; each entry of a product of maps is a sum of at most three products (γ₃ relative to
the product of absolute values, exactly as for any 3×3 matrix product). A product of k maps computed
in any parenthesization — squaring included — is then within ((1 + γ₃)^(k−1) − 1)·|M|^k of the exact
power, a relative error that grows like k·γ₃ on the powers of |M|. ``tests/error_bounds.py`` carries
this through the rounding of (K, m) and the final application.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from impls.sufficient_stats import centred_statistics

#: An affine map ζ ↦ K·ζ + m of the plane, flattened: (K_ww, K_wc, K_cw, K_cc, m_w, m_c).
Affine = tuple[float, float, float, float, float, float]


@njit(cache=False, fastmath=False)
def compose(outer: Affine, inner: Affine) -> Affine:
    """The map ``outer ∘ inner``: ζ ↦ K₁·(K₂·ζ + m₂) + m₁ = (K₁K₂)·ζ + (K₁m₂ + m₁)."""
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


@njit(cache=False, fastmath=False)
def epoch_map(
    statistics: tuple[float, float, float, float, float, float], n: int, learning_rate: float
) -> Affine:
    """One epoch as an affine map of the centred parameters (w, c), from ``centred_statistics``."""
    shift_x, _, sum_u, sum_v, sum_uu, sum_uv = statistics
    a = (2 / n) * learning_rate
    stretch = 1 + shift_x * shift_x
    return (
        1 - a * (sum_uu + shift_x * sum_u),
        -(a * (sum_u + n * shift_x)),
        -(a * (stretch * sum_u + shift_x * sum_uu)),
        1 - a * (stretch * n + shift_x * sum_u),
        a * (sum_uv + shift_x * sum_v),
        a * (stretch * sum_v + shift_x * sum_uv),
    )


@njit(cache=False, fastmath=False)
def power(m: Affine, k: int) -> Affine:
    """``m`` composed with itself ``k`` ≥ 1 times, by repeated squaring (≤ 2·log₂ k compositions)."""
    # One factor is ``result`` itself; the binary digits of the remaining k − 1 pick the squares.
    result = m
    square = m
    k -= 1
    while k > 0:
        if k & 1:
            result = compose(square, result)
        k >>= 1
        if k > 0:
            square = compose(square, square)
    return result


@njit(cache=False, fastmath=False)
def descend(
    x: np.ndarray, y: np.ndarray, w: float, b: float, learning_rate: float, epochs: int
) -> tuple[float, float]:
    """Run ``epochs`` full-batch updates from (w, b) and return the final (w, b)."""
    if epochs == 0:
        return w, b
    n = x.shape[0]
    statistics = centred_statistics(x, y)
    shift_x, shift_y = statistics[0], statistics[1]
    p_ww, p_wc, p_cw, p_cc, p_w, p_c = power(epoch_map(statistics, n, learning_rate), epochs)
    c = (b + w * shift_x) - shift_y
    w_k = (p_ww * w + p_wc * c) + p_w
    c_k = (p_cw * w + p_cc * c) + p_c
    return w_k, (c_k - w_k * shift_x) + shift_y
