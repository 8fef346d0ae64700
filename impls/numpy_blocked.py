"""NumPy without temporaries: each epoch streams x and y through one small buffer, block by block.

Cost: O(N · epochs); per epoch four NumPy calls per block of ``BLOCK`` samples (two in-place ufuncs and
two BLAS dot products) and a fixed Python overhead per block. Two arrays of ``BLOCK`` floats (the block's
residuals, and ones) are allocated per call, nothing per epoch. The residual buffer stays in the core's
cache, so x and y come from memory once per epoch instead of the several full-length temporaries
``numpy`` writes and reads back.

Floating-point order: per sample ``d_i = y_i − w·x_i`` (two roundings); the sums ``Σ d_i·x_i`` and
``Σ d_i`` are BLAS dot products (with x, and with ones: multiplying by one is exact) whose order inside
a block is the BLAS kernel's and whose block results are added in order; ``b`` enters once per epoch
as ``Σ r·x = Σ d·x − b·Σx`` and ``Σ r = Σ d − N·b`` (``Σx`` summed once per call). The gradients are
``−(2/N)·Σ`` and the update the notebook's. Counting roundings along each product (three before the
sum, at most N − 1 in the sum, one for the subtraction of b, two for −2/N) gives at most the six per
term plus depth N − 1 of ``tests/error_bounds.py``, on the same magnitudes (|y| + |w·x| + |b|)·|x|, so
the results agree with ``python_loop`` within its any-order bound.
"""

from __future__ import annotations

import numpy as np

#: Samples per block. Small enough that three blocks of float64 stay in a core's L2 cache, and below
#: the 10,000 elements above which OpenBLAS splits one dot product across threads: this kernel stays
#: on one core whatever the BLAS thread setting (``numba_parallel`` is the multicore one).
BLOCK = 8192


def descend(
    x: np.ndarray, y: np.ndarray, w: float, b: float, learning_rate: float, epochs: int
) -> tuple[float, float]:
    """Run ``epochs`` full-batch updates from (w, b) and return the final (w, b)."""
    n = x.shape[0]
    size = min(BLOCK, n)
    buffer = np.empty(size)
    ones = np.ones(size)
    blocks = []
    for start in range(0, n, BLOCK):
        stop = min(start + BLOCK, n)
        length = stop - start
        blocks.append((x[start:stop], y[start:stop], buffer[:length], ones[:length]))
    sum_x = float(np.sum(x))
    w, b = float(w), float(b)
    for _ in range(epochs):
        sum_dx = 0.0
        sum_d = 0.0
        minus_w = -w
        for x_block, y_block, d_block, ones_block in blocks:
            np.multiply(x_block, minus_w, out=d_block)
            np.add(d_block, y_block, out=d_block)
            sum_dx += float(np.dot(d_block, x_block))
            sum_d += float(np.dot(d_block, ones_block))
        dl_dw = -(2 / n) * (sum_dx - b * sum_x)
        dl_db = -(2 / n) * (sum_d - n * b)
        w = w - dl_dw * learning_rate
        b = b - dl_db * learning_rate
    return w, b
