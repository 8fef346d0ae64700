"""The notebook's loop compiled with Numba: same per-sample loop, machine code instead of bytecode.

Cost: O(N · epochs); one serial floating-point add chain per gradient, so it runs at the latency of
an add (not its throughput) per sample.

Floating-point order: identical to ``python_loop`` — the same expression per term, the same left-to-
right sequential sum, no ``fastmath`` (which would let LLVM reassociate the sums or fuse multiply-adds).
The results are therefore bitwise identical to ``python_loop``; the tests check it with ``==``.
"""

from __future__ import annotations

import numpy as np
from numba import njit


# cache=False on purpose: the benchmarks measure compilation as a fresh compile, and an on-disk cache
# would silently turn that into a cache load.
@njit(cache=False, fastmath=False)
def descend(
    x: np.ndarray, y: np.ndarray, w: float, b: float, learning_rate: float, epochs: int
) -> tuple[float, float]:
    """Run ``epochs`` full-batch updates from (w, b) and return the final (w, b)."""
    n = x.shape[0]
    for _ in range(epochs):
        dl_dw = 0.0
        dl_db = 0.0
        for i in range(n):
            dl_dw += (2 / n) * (y[i] - (w * x[i] + b)) * (-x[i])
            dl_db += (2 / n) * (y[i] - (w * x[i] + b)) * (-1)
        w = w - dl_dw * learning_rate
        b = b - dl_db * learning_rate
    return w, b
