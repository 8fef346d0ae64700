"""A correctly rounded reference descent: every gradient sum is ``math.fsum`` of the notebook's terms."""

from __future__ import annotations

import math

import numpy as np


def descend_fsum(
    x: np.ndarray, y: np.ndarray, w: float, b: float, learning_rate: float, epochs: int
) -> tuple[float, float]:
    """The notebook's descent with each gradient sum correctly rounded (one rounding, not N-1)."""
    n = len(x)
    xs, ys = x.tolist(), y.tolist()
    for _ in range(epochs):
        dl_dw = math.fsum((2 / n) * (y_true - (w * xi + b)) * (-xi) for xi, y_true in zip(xs, ys))
        dl_db = math.fsum((2 / n) * (y_true - (w * xi + b)) * (-1) for xi, y_true in zip(xs, ys))
        w = w - dl_dw * learning_rate
        b = b - dl_db * learning_rate
    return w, b


def trajectory_fsum(
    x: np.ndarray, y: np.ndarray, w: float, b: float, learning_rate: float, epochs: int
) -> tuple[np.ndarray, np.ndarray]:
    """(w, b) after each of ``epochs`` epochs of ``descend_fsum``."""
    ws, bs = np.empty(epochs), np.empty(epochs)
    for k in range(epochs):
        w, b = descend_fsum(x, y, w, b, learning_rate, 1)
        ws[k], bs[k] = w, b
    return ws, bs
