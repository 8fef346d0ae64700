"""What numba_parallel's speed-up over numba_simd is made of: two cores, and walking the blocks both ways.

Times, in one process, at N = 10⁶ (16 MB: beyond the second-level caches), on 64-byte-aligned data:
``numba_simd``, the ``stream`` probe, and ``numba_parallel`` on every thread and on one, each as
written (a thread walks its blocks first to last in even epochs, last to first in odd ones) and with
the blocks always walked first to last. The kernels take turns, ROUNDS times, and the medians of
their per-epoch times are printed with their ratios to ``numba_simd``.

    python results/parallel-walk/study.py > results/parallel-walk/study.txt
"""

from __future__ import annotations

import time
import types

import numba
import numpy as np

from bench.run.placement import aligned
from bench.run.probes import stream
from impls import numba_parallel, numba_simd

N = 1_000_000
EPOCHS = 100
ROUNDS = 15


@numba.njit(cache=False)
def blocks_in_order(x, y, w, partial, t, threads, forward, first):
    """``numba_parallel.thread_blocks`` without the alternation: always first block to last."""
    start, stop = t * numba_parallel.BLOCKS // threads, (t + 1) * numba_parallel.BLOCKS // threads
    for k in range(start, stop):
        if first:
            partial[k, 0], partial[k, 1], partial[k, 2] = numba_parallel.block_sums_and_x(x, y, w, k)
        else:
            partial[k, 0], partial[k, 1] = numba_parallel.block_sums(x, y, w, k)


@numba.njit(cache=False)
def always_free() -> bool:
    return True


def variant(**globals_):
    """``numba_parallel.descend`` compiled afresh with some of its globals replaced."""
    function = numba_parallel.descend.py_func
    clone = types.FunctionType(function.__code__, {**function.__globals__, **globals_}, function.__name__)
    return numba.njit(cache=False, parallel=True)(clone)


def per_epoch(kernel, x, y, threads: int) -> float:
    numba.set_num_threads(threads)
    try:
        start = time.perf_counter()
        kernel(x, y, 0.0, 0.0, 1e-3, EPOCHS)
        return (time.perf_counter() - start) / EPOCHS
    finally:
        numba.set_num_threads(numba.config.NUMBA_NUM_THREADS)


def main() -> None:
    rng = np.random.default_rng(0)
    x, y = aligned(rng.random(N)), aligned(rng.random(N))
    threads = numba.config.NUMBA_NUM_THREADS
    # The load check is left out (always_free) so that a passing task cannot switch a variant to one
    # thread in the middle of the study.
    alternating = variant(cores_are_free=always_free)
    in_order = variant(cores_are_free=always_free, thread_blocks=blocks_in_order)
    contenders = {
        "numba_simd": (numba_simd.descend, 1),
        "stream": (stream, 1),
        f"numba_parallel, {threads} threads, both ways (as written)": (alternating, threads),
        f"numba_parallel, {threads} threads, first to last": (in_order, threads),
        "numba_parallel, 1 thread, both ways": (alternating, 1),
        "numba_parallel, 1 thread, first to last": (in_order, 1),
    }
    for kernel, count in contenders.values():  # compile, and warm the caches
        per_epoch(kernel, x, y, count)
    times = {name: [] for name in contenders}
    for _ in range(ROUNDS):
        for name, (kernel, count) in contenders.items():
            times[name].append(per_epoch(kernel, x, y, count))
    simd = float(np.median(times["numba_simd"]))
    print(
        f"N = {N:,}, {EPOCHS} epochs a call, {ROUNDS} calls each, taking turns; threading layer "
        f"{numba.threading_layer()}, {threads} threads"
    )
    print(f"{'kernel':<58} {'µs/epoch':>9} {'numba_simd / it':>16}")
    for name, values in times.items():
        median = float(np.median(values))
        print(f"{name:<58} {median * 1e6:9.1f} {simd / median:15.2f}×")


if __name__ == "__main__":
    main()
