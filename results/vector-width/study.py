"""numba_simd against the stream probe, with the widest vector registers and with 256-bit ones, from the
first-level cache to beyond the second.

In one process, on 64-byte-aligned data: ``numba_simd`` and ``stream`` as the suite compiles them
(``widest_vectors``: 512-bit registers where the CPU has AVX-512), and both compiled afresh with the
hint replaced by a function that does nothing (LLVM's default for the CPU). For each N, every
kernel's median time per sample and per epoch over ROUNDS calls taken in turns, and the ratios
numba_simd / stream with either width. The last column, numba_simd's time at N = 10³ (its data in
the first-level cache, where nothing waits on memory: its arithmetic alone) over stream's at each N,
shows how near the arithmetic's own cost comes to the reading's.

    python results/vector-width/study.py > results/vector-width/study.txt
"""

from __future__ import annotations

import time
import types

import numba
import numpy as np

from bench.run.placement import aligned
from bench.run.probes import stream
from impls import numba_simd

SAMPLE_EPOCHS = 10**8  # per call: N · epochs
SIZES = (1_000, 10_000, 100_000, 200_000, 1_000_000)
ROUNDS = 11


@numba.njit(cache=False)
def no_hint() -> None:
    """Stands in for ``widest_vectors``: the compiler's default vector width."""


def without_hint(dispatcher, **replaced):
    """A fresh compile of ``dispatcher`` with ``widest_vectors`` (and ``replaced``) swapped out."""
    function = dispatcher.py_func
    namespace = {**function.__globals__, "widest_vectors": no_hint, **replaced}
    clone = types.FunctionType(function.__code__, namespace, function.__name__)
    options = {key: value for key, value in dispatcher.targetoptions.items() if key != "nopython"}
    return numba.njit(**options)(clone)


def ns_per_sample(kernel, x, y, epochs: int) -> float:
    start = time.perf_counter()
    kernel(x, y, 0.0, 0.0, 1e-3, epochs)
    return (time.perf_counter() - start) / (epochs * x.shape[0]) * 1e9


def main() -> None:
    contenders = {
        "numba_simd": numba_simd.descend,
        "stream": stream,
        "numba_simd 256": without_hint(numba_simd.descend),
        "stream 256": without_hint(stream),
    }
    rng = np.random.default_rng(0)
    print(f"{SAMPLE_EPOCHS:.0e} sample-epochs a call, {ROUNDS} calls each, in turns; median ns per sample")
    print(
        f"{'N':>9} {'epochs':>7} {'numba_simd':>11} {'stream':>8} {'simd 256':>9} {'stream 256':>11}"
        f" {'simd/stream':>12} {'(256-bit)':>10} {'simd@10³/stream':>16}"
    )
    in_l1 = None
    for n in SIZES:
        epochs = SAMPLE_EPOCHS // n
        x, y = aligned(rng.random(n)), aligned(rng.random(n))
        for kernel in contenders.values():
            kernel(x, y, 0.0, 0.0, 1e-3, 1)
        times = {name: [] for name in contenders}
        for _ in range(ROUNDS):
            for name, kernel in contenders.items():
                times[name].append(ns_per_sample(kernel, x, y, epochs))
        m = {name: float(np.median(values)) for name, values in times.items()}
        in_l1 = m["numba_simd"] if in_l1 is None else in_l1
        print(
            f"{n:>9,} {epochs:>7,} {m['numba_simd']:11.3f} {m['stream']:8.3f} {m['numba_simd 256']:9.3f}"
            f" {m['stream 256']:11.3f} {m['numba_simd'] / m['stream']:11.3f}× "
            f"{m['numba_simd 256'] / m['stream 256']:9.3f}× {in_l1 / m['stream']:15.3f}×"
        )


if __name__ == "__main__":
    main()
