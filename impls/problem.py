"""Seeded test problems, made the way the notebook makes them."""

from __future__ import annotations

import math
import numbers
from typing import NamedTuple

import numpy as np


class Problem(NamedTuple):
    """Samples ``x``, targets ``y`` and the true parameters they were made from."""

    x: np.ndarray
    y: np.ndarray
    w: float
    b: float


def make_problem(n: int, seed: int = 0, noise: float = 0.0) -> Problem:
    """Make ``n`` samples as the notebook does: x ~ U[0,1), true w, b ~ U[0,1), y = w·x + b.

    Draws come from ``numpy.random.default_rng(seed)`` in the notebook's order (x, then w, then b, then
    the noise), so the same seed gives the same arrays on any machine. ``noise`` is the standard
    deviation of Gaussian noise added to y (0 for none).
    """
    if isinstance(n, bool) or not isinstance(n, numbers.Integral):
        raise TypeError(f"n must be an integer, got {n!r}")
    if n < 1:
        raise ValueError(f"n must be at least 1, got {n!r}")
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
        raise TypeError(f"seed must be an integer, got {seed!r}")
    if seed < 0:
        raise ValueError(f"seed must be non-negative, got {seed!r}")
    if isinstance(noise, bool) or not isinstance(noise, numbers.Real):
        raise TypeError(f"noise must be a real number, got {noise!r}")
    if not (math.isfinite(noise) and noise >= 0):
        raise ValueError(f"noise must be finite and >= 0, got {noise!r}")

    rng = np.random.default_rng(int(seed))
    x = rng.random(int(n))
    w = float(rng.random())
    b = float(rng.random())
    y = w * x + b
    if noise > 0:
        y = y + rng.normal(0.0, float(noise), int(n))
    return Problem(x, y, w, b)
