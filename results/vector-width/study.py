"""numba_simd against the stream probe, with the widest vector registers and with 256-bit ones, from the
first-level cache to beyond the second; and the residual form numba_simd had before it was regrouped.

In one process, on 64-byte-aligned data: ``numba_simd`` and ``stream`` as the suite compiles them
(``widest_vectors``: 512-bit registers where the CPU has AVX-512), both compiled afresh with the
hint replaced by a function that does nothing (LLVM's default for the CPU), and ``residual form``:
numba_simd's earlier loop, four vector operations per sample (r = y − fma(w, x, b), then Σ r·x and
Σ r) where numba_simd now takes three (s = y − w·x, Σ s·x and Σ s; b·Σ x and N·b subtracted once an
epoch). For each N, every kernel's median time per sample and per epoch over ROUNDS calls taken in
turns, and the ratios to stream's. The last column, numba_simd's time at N = 10³ (its data in the
first-level cache, where nothing waits on memory: its arithmetic alone) over stream's at each N,
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
from impls.vector_width import widest_vectors

SAMPLE_EPOCHS = 10**8  # per call: N · epochs
SIZES = (1_000, 10_000, 100_000, 200_000, 1_000_000)
ROUNDS = 11


@numba.njit(cache=False, fastmath=numba_simd.REDUCTION_FASTMATH)
def residual_form(x, y, w, b, learning_rate, epochs):
    """numba_simd before it was regrouped: the residual r = y − fma(w, x, b), then Σ r·x and Σ r."""
    widest_vectors()
    n = x.shape[0]
    for _ in range(epochs):
        sum_rx = 0.0
        sum_r = 0.0
        for i in range(n):
            r = fused_residual(x[i], y[i], w, b)
            sum_rx += r * x[i]
            sum_r += r
        w, b = numba_simd.step(w, b, sum_rx, sum_r, n, learning_rate)
    return w, b


@numba.njit(cache=False, fastmath={"contract"})
def fused_residual(xi, yi, w, b):
    return yi - (w * xi + b)


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
    # numba_simd's loops are in the functions it calls: those are compiled afresh without the hint.
    loops = {
        name: without_hint(getattr(numba_simd, name)) for name in ("deviation_sums", "deviation_sums_and_x")
    }
    contenders = {
        "numba_simd": numba_simd.descend,
        "residual form": residual_form,
        "stream": stream,
        "numba_simd 256": without_hint(numba_simd.descend, **loops),
        "stream 256": without_hint(stream),
    }
    rng = np.random.default_rng(0)
    print(f"{SAMPLE_EPOCHS:.0e} sample-epochs a call, {ROUNDS} calls each, in turns; median ns per sample")
    print(
        f"{'N':>9} {'epochs':>7} {'numba_simd':>11} {'residual':>9} {'stream':>8} {'simd 256':>9}"
        f" {'stream 256':>11} {'simd/stream':>12} {'residual/stream':>16} {'(256-bit)':>10}"
        f" {'simd@10³/stream':>16}"
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
            f"{n:>9,} {epochs:>7,} {m['numba_simd']:11.3f} {m['residual form']:9.3f} {m['stream']:8.3f}"
            f" {m['numba_simd 256']:9.3f} {m['stream 256']:11.3f} {m['numba_simd'] / m['stream']:11.3f}×"
            f" {m['residual form'] / m['stream']:15.3f}× {m['numba_simd 256'] / m['stream 256']:9.3f}×"
            f" {in_l1 / m['stream']:15.3f}×"
        )


if __name__ == "__main__":
    main()
