"""Benchmark-only probes: descend-like callables timed in every cell beside the kernels.

A probe is not a kernel (``impls`` does not know it, and it need not compute a descent); it measures
something about the machine that the kernels' times are read against. Each entry maps a name to a
callable with the kernels' signature ``(x, y, w, b, learning_rate, epochs)``. The sweep times it like a
kernel, after the kernels of each cell; ``--kernels`` can name it like a kernel; the end-of-run summary
leaves it out of the race (it is no contender) and gives every kernel's time as a multiple of it; its
``compile_s`` is empty.

``stream`` is the floor for every kernel that reads all the data every epoch: one pass over x and y
per epoch with a trivial reduction, compiled like the fastest such kernel (``numba_simd``: Numba, one
thread, the same fast-math flags on the sum, the same widest vectors). A kernel at 1.0× stream is
limited by reading its data, not by its arithmetic.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from bench.reports.schema import PROBE_KERNELS
from impls.numba_simd import REDUCTION_FASTMATH
from impls.registry import Descend
from impls.vector_width import widest_vectors


# cache=False, as for the kernels: a run never loads a probe from an on-disk cache.
@njit(cache=False, fastmath=REDUCTION_FASTMATH)
def stream(
    x: np.ndarray, y: np.ndarray, w: float, b: float, learning_rate: float, epochs: int
) -> tuple[float, float]:
    """Read x and y once per epoch, summing ``x·w + y``; returns (w, b) of no meaning.

    Cost: O(N · epochs) loads, one fused multiply-add and one add per sample.
    """
    widest_vectors()
    n = x.shape[0]
    for _ in range(epochs):
        total = 0.0
        for i in range(n):
            total += x[i] * w + y[i]
        # The next epoch reads the result of this one: without that dependency the compiler could
        # hoist the (loop-invariant) pass out of the epoch loop and time one pass instead of many.
        w = total / n
    return w, b


PROBES: dict[str, Descend] = {"stream": stream}
# The readers of reports (compare, plot) know the probes by name without importing Numba.
assert tuple(PROBES) == PROBE_KERNELS, "bench.scaling.PROBE_KERNELS must name these probes"
