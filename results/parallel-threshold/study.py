"""Where numba_parallel starts to pay: numba_simd against numba_parallel forced onto every thread, by N.

In one process, on 64-byte-aligned data: ``numba_simd`` and ``numba_parallel`` compiled afresh with
its one-core threshold (``PARALLEL_MIN_N``) at 0 and its load check answering "free", so that it
opens a parallel region every epoch at every N. Each takes ROUNDS calls in turns of about
SAMPLE_EPOCHS samples·epochs; printed are the median microseconds per epoch and numba_simd's time
over the parallel one (above 1: the threads pay). ``PARALLEL_MIN_N`` is set from this.

    python results/parallel-threshold/study.py > results/parallel-threshold/study.txt
"""

from __future__ import annotations

import time
import types

import numba
import numpy as np

from bench.run.placement import aligned
from impls import numba_parallel, numba_simd

SIZES = (2**14, 2**15, 50_000, 2**16, 80_000, 100_000, 2**17)
SAMPLE_EPOCHS = 2 * 10**7
ROUNDS = 11


@numba.njit(cache=False)
def always_free() -> bool:
    return True


def main() -> None:
    function = numba_parallel.descend.py_func
    namespace = {**function.__globals__, "cores_are_free": always_free, "PARALLEL_MIN_N": 0}
    always_parallel = numba.njit(cache=False, parallel=True)(
        types.FunctionType(function.__code__, namespace, function.__name__)
    )
    contenders = {"numba_simd": numba_simd.descend, "numba_parallel": always_parallel}
    rng = np.random.default_rng(0)
    print(f"{ROUNDS} calls each, in turns, of about {SAMPLE_EPOCHS:.0e} samples·epochs; median µs per epoch")
    print(f"{'N':>8} {'epochs':>7} {'numba_simd':>11} {'numba_parallel':>15} {'simd / parallel':>16}")
    for n in SIZES:
        epochs = SAMPLE_EPOCHS // n
        x, y = aligned(rng.random(n)), aligned(rng.random(n))
        for kernel in contenders.values():
            kernel(x, y, 0.0, 0.0, 1e-3, 2)
        times = {name: [] for name in contenders}
        for _ in range(ROUNDS):
            for name, kernel in contenders.items():
                start = time.perf_counter()
                kernel(x, y, 0.0, 0.0, 1e-3, epochs)
                times[name].append((time.perf_counter() - start) / epochs * 1e6)
        simd, parallel = (float(np.median(times[name])) for name in contenders)
        print(f"{n:>8,} {epochs:>7,} {simd:11.2f} {parallel:15.2f} {simd / parallel:15.2f}×")


if __name__ == "__main__":
    main()
