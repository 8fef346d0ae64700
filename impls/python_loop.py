"""The notebook's per-sample Python loop, kept as written: the reference every other kernel is held to.

Cost: O(N · epochs) interpreted iterations, about half a microsecond per sample-epoch.

Floating-point order: each term is ``(2/N)*(y_true-(w*x+b))*(-x)`` (and ``*(-1)`` for b), evaluated left
to right, and the terms are summed one after another in index order. ``numba`` reproduces this order
exactly, which is why the two agree to the bit.
"""

from __future__ import annotations

import numpy as np


def calculate_gradients(x_data, y_data, w, b, learning_rate, N):  # the notebook's own signature
    """One epoch of the notebook, unchanged: the full-batch gradient at (w, b), then one update."""
    dl_dw = 0.0
    dl_db = 0.0
    # Iterating a NumPy array yields np.float64 scalars, as in the notebook; their arithmetic is plain
    # IEEE double, so the order of operations below fixes every bit of the result.
    for x, y_true in zip(x_data, y_data):
        dl_dw += (2 / N) * (y_true - (w * x + b)) * (-x)
        dl_db += (2 / N) * (y_true - (w * x + b)) * (-1)
    w = w - dl_dw * learning_rate
    b = b - dl_db * learning_rate
    return w, b


def descend(
    x: np.ndarray, y: np.ndarray, w: float, b: float, learning_rate: float, epochs: int
) -> tuple[float, float]:
    """Run ``epochs`` full-batch updates from (w, b) and return the final (w, b)."""
    n = x.shape[0]
    for _ in range(epochs):
        w, b = calculate_gradients(x, y, w, b, learning_rate, n)
    return float(w), float(b)
