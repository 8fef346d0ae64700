"""Where the benchmarks' arrays lie in memory: on a fixed boundary, the same in every process.

A loop over data in the first-level cache runs slower when its arrays start off a 32-byte boundary
(vector loads then straddle cache lines), and where the allocator puts a small array depends on
what the process allocated before, which differs from one process to the next
(``results/placement/`` measures it).
Left to chance, that is a spread between processes that comes in two modes: no number of rounds
averages it down, and two runs of the same code can differ by it. The sweep therefore copies
each cell's data onto ``ALIGNMENT``-byte boundaries before any kernel sees it.
"""

from __future__ import annotations

import numpy as np

#: Bytes: a cache line, and the width of the widest vector loads (AVX-512).
ALIGNMENT = 64


def aligned(array: np.ndarray, alignment: int = ALIGNMENT) -> np.ndarray:
    """A C-contiguous copy of ``array`` whose data starts at a multiple of ``alignment`` bytes."""
    if isinstance(alignment, bool) or not isinstance(alignment, int) or alignment < 1:
        raise ValueError(f"alignment must be a whole number of bytes >= 1, got {alignment!r}")
    source = np.ascontiguousarray(array)
    buffer = np.empty(source.nbytes + alignment, dtype=np.uint8)
    start = -buffer.ctypes.data % alignment
    copy = buffer[start : start + source.nbytes].view(source.dtype).reshape(source.shape)
    copy[...] = source
    return copy
