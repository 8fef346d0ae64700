"""Numba on all cores while they are free: each epoch's two gradient sums over fixed blocks, in parallel.

Cost: O(N · epochs / threads) while every thread can have a core, plus one parallel region per epoch
(waking the worker threads and joining them: microseconds, independent of N); O(N · epochs) on one
core while other tasks want the cores. Each thread sums a fixed share of the blocks. Where that share
outgrows the core's second-level cache (``L2_BYTES``), it walks it first to last in even epochs and
last to first in odd ones: the blocks it summed last are still in that cache when the next epoch
begins with them, so part of each epoch is read from the core's own cache rather than from the shared
one or from memory. Below ``PARALLEL_MIN_N`` samples the region's fixed cost outweighs the split, so
smaller problems run ``numba_simd`` unchanged. The thread count is Numba's
(``numba.get_num_threads()``, set by ``NUMBA_NUM_THREADS``); a benchmark report records it.

Busy machines: a parallel region ends when its last thread does, so a worker thread that lost its core
to another process holds up the epoch for a scheduler time slice, milliseconds: on a busy machine a
parallel loop can be several times slower than one thread. So before the
first epoch, and then once every ``CHECK_SAMPLES`` samples summed, it asks ``cores_are_free``: are the
tasks running or waiting for a CPU, system-wide, no more than the CPUs (the fourth field of
``/proc/loadavg``, read from compiled code: a microsecond or two), and may this process run on as many
CPUs as it has threads (its affinity when imported)? If not, it sums the same blocks on this thread
alone, at ``numba_simd``'s speed, until the next check. Where ``/proc/loadavg`` cannot be read the
kernel always runs in parallel. The count includes this thread and any worker still spinning after
the last region, which cannot be told from other tasks: on two cores, one busy neighbour goes unseen
while the workers sleep, and a check that catches a short-lived task costs the speed-up until the next.

Floating-point order: the sums are ``numba_simd``'s (Σ s·x and Σ s of the deviations s = y − w·x,
and Σ x in the first epoch). The N samples are split into ``BLOCKS`` contiguous blocks of equal length
(±1) whatever the thread count; each block is summed in vector lanes as ``numba_simd`` sums
(``block_sums``), by whichever thread, in whichever order; the block sums are then added in block
order without fast-math flags, and the b-terms and the update are ``numba_simd``'s
(``gradient_sums``, ``step``). The results therefore depend neither on the thread count nor on which epochs
ran in parallel (the tests check it bitwise), and agree with ``python_loop`` within the any-order
bound of ``tests/error_bounds.py``.
"""

from __future__ import annotations

import ctypes
import os
from pathlib import Path

import numba
import numpy as np
from numba import njit, prange

from impls.numba_simd import descend as descend_one_core
from impls.numba_simd import deviation_sums, deviation_sums_and_x, gradient_sums, step

#: Fewest samples worth splitting across threads. Every epoch pays a few microseconds to start and join
#: a parallel region, while the split saves only part of a one-core pass; on the two-core machines this
#: suite targets the two break even near this size (``results/parallel-threshold/`` measures where).
PARALLEL_MIN_N = 2**16
#: Blocks the samples are split into, whatever the thread count: a multiple of the usual thread counts,
#: and few enough that a block at ``PARALLEL_MIN_N`` still holds 1024 samples of vector code.
BLOCKS = 64
#: Samples summed between two checks of the machine's load: under a millisecond of one core's work, so
#: a neighbour that starts or stops is seen within a millisecond, and the checks cost under 0.5%.
CHECK_SAMPLES = 2**20


def second_level_cache_bytes(caches: Path = Path("/sys/devices/system/cpu/cpu0/cache")) -> int:
    """Bytes of one core's second-level data cache, as Linux describes it under ``caches``; 0 if unknown."""
    units = {"": 1, "K": 2**10, "M": 2**20, "G": 2**30}
    for index in sorted(caches.glob("index*")):
        try:
            level, kind, size = ((index / name).read_text().strip() for name in ("level", "type", "size"))
        except OSError:
            continue
        if level != "2" or kind not in ("Data", "Unified"):
            continue
        digits, unit = (size[:-1], size[-1].upper()) if size[-1:].isalpha() else (size, "")
        if digits.isdigit() and unit in units:
            return int(digits) * units[unit]
    return 0


#: One core's second-level cache (0 where unknown: then the threads always walk both ways).
L2_BYTES = second_level_cache_bytes()
#: CPUs of the machine, against which ``/proc/loadavg`` counts its tasks, and CPUs this process may use.
CPUS = os.cpu_count() or 1
ALLOWED_CPUS = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else CPUS


#: The file whose fourth field counts the tasks running or waiting for a CPU, as a C string of byte
#: values: a constant compiled into the code, so the kernel can be cached and loaded in another process
#: (an open descriptor or a ctypes pointer would be a different one there).
LOADAVG_PATH = tuple(b"/proc/loadavg\0")
#: The C library's open, pread and close, called from compiled code by name. A Python call (objmode)
#: between two epochs, with the caches full of x and y, took several microseconds: 3% of 20 epochs at
#: N = 10⁶. open is variadic in C, but its third argument is read only when a file is created.
_open = numba.types.ExternalFunction("open", numba.types.intc(numba.types.voidptr, numba.types.intc))
_pread = numba.types.ExternalFunction(
    "pread", numba.types.intp(numba.types.intc, numba.types.voidptr, numba.types.uintp, numba.types.intp)
)
_close = numba.types.ExternalFunction("close", numba.types.intc(numba.types.intc))
_O_RDONLY = os.O_RDONLY
#: The threads a parallel region would use now (``numba.get_num_threads()``): Numba compiles that call
#: through a ctypes pointer, which no cache can hold, so the threading layer's C function it calls is
#: called here by name (the first Python call starts the threads and makes the name known). Its type
#: is the one Numba's parallel loops declare for the same name (a module holds one declaration each).
numba.get_num_threads()
_num_threads = numba.types.ExternalFunction("get_num_threads", numba.types.intp())
if numba.config.DISABLE_JIT:  # plain Python runs the same code: the same C functions, through ctypes
    _libc = ctypes.CDLL(None, use_errno=True)
    _open, _pread, _close = _libc.open, _libc.pread, _libc.close
    _open.argtypes, _open.restype = (ctypes.c_void_p, ctypes.c_int), ctypes.c_int
    _pread.argtypes = (ctypes.c_int, ctypes.c_void_p, ctypes.c_size_t, ctypes.c_ssize_t)
    _pread.restype = ctypes.c_ssize_t
    _num_threads = numba.get_num_threads


@njit(cache=False)
def runnable_tasks() -> int:
    """Tasks running or waiting for a CPU, system-wide, now: /proc/loadavg's 4th field (0 if unread)."""
    path = np.empty(len(LOADAVG_PATH), np.uint8)
    for i in range(len(LOADAVG_PATH)):
        path[i] = LOADAVG_PATH[i]
    descriptor = _open(path.ctypes, _O_RDONLY)
    if descriptor < 0:  # no /proc/loadavg here (not Linux): no evidence of busy cores
        return 0
    text = np.empty(64, np.uint8)
    length = _pread(descriptor, text.ctypes, 64, 0)
    _close(descriptor)
    field = 0
    tasks = 0
    for i in range(length):  # "0.52 0.58 0.59 2/211 12345\n": the number before the slash
        char = text[i]
        if char == ord(" "):
            field += 1
        elif field == 3:
            if char == ord("/"):
                return tasks
            tasks = 10 * tasks + (char - ord("0"))
    return 0


@njit(cache=False)
def cores_are_free() -> bool:
    """Whether each thread can have a CPU: no more runnable tasks than CPUs (this thread and its spinning
    workers included), and no more threads than CPUs this process may use."""
    return _num_threads() <= ALLOWED_CPUS and runnable_tasks() <= CPUS


@njit(cache=False)
def block_bounds(n: int, k: int) -> tuple[int, int]:
    """Start and stop of block k of ``BLOCKS`` over n samples (lengths equal within one)."""
    return k * n // BLOCKS, (k + 1) * n // BLOCKS


@njit(cache=False)
def block_sums(x: np.ndarray, y: np.ndarray, w: float, k: int) -> tuple[float, float]:
    """``(Σ s·x, Σ s)`` over block k, summed in vector lanes as ``numba_simd`` sums."""
    start, stop = block_bounds(x.shape[0], k)
    # Views from index 0: the vectorizer sees indices it knows to be non-negative.
    return deviation_sums(x[start:stop], y[start:stop], w)


@njit(cache=False)
def block_sums_and_x(x: np.ndarray, y: np.ndarray, w: float, k: int) -> tuple[float, float, float]:
    """``(Σ s·x, Σ s, Σ x)`` over block k: the first epoch's, as ``numba_simd`` sums them."""
    start, stop = block_bounds(x.shape[0], k)
    return deviation_sums_and_x(x[start:stop], y[start:stop], w)


@njit(cache=False)
def thread_blocks(
    x: np.ndarray,
    y: np.ndarray,
    w: float,
    partial: np.ndarray,
    t: int,
    threads: int,
    forward: bool,
    first: bool,
) -> None:
    """Thread t's share of the blocks (t·BLOCKS/threads up to (t+1)·BLOCKS/threads), summed into
    ``partial`` first to last if ``forward``, else last to first; Σ x too in the ``first`` epoch."""
    start, stop = t * BLOCKS // threads, (t + 1) * BLOCKS // threads
    for j in range(stop - start):
        k = start + j if forward else stop - 1 - j
        if first:
            partial[k, 0], partial[k, 1], partial[k, 2] = block_sums_and_x(x, y, w, k)
        else:
            partial[k, 0], partial[k, 1] = block_sums(x, y, w, k)


@njit(cache=False, parallel=True)
def descend(
    x: np.ndarray, y: np.ndarray, w: float, b: float, learning_rate: float, epochs: int
) -> tuple[float, float]:
    """Run ``epochs`` full-batch updates from (w, b) and return the final (w, b)."""
    n = x.shape[0]
    if n < PARALLEL_MIN_N:
        return descend_one_core(x, y, w, b, learning_rate, epochs)
    partial = np.empty((BLOCKS, 3))
    sum_x = 0.0
    parallel = False
    unchecked = CHECK_SAMPLES  # samples summed since the last check: check before the first epoch
    for epoch in range(epochs):
        if unchecked >= CHECK_SAMPLES:
            parallel = cores_are_free()
            unchecked = 0
        unchecked += n
        threads = _num_threads() if parallel else 1
        # Both ways only where a thread's share outgrows its L2: a share that fits is read from there
        # whichever way it is walked, and walking back costs the prefetcher a fresh start per block.
        forward = epoch % 2 == 0 or (x.itemsize + y.itemsize) * n <= threads * L2_BYTES
        if parallel:
            for t in prange(threads):
                thread_blocks(x, y, w, partial, t, threads, forward, epoch == 0)
        else:
            thread_blocks(x, y, w, partial, 0, 1, forward, epoch == 0)
        sum_sx = 0.0
        sum_s = 0.0
        for k in range(BLOCKS):
            sum_sx += partial[k, 0]
            sum_s += partial[k, 1]
            if epoch == 0:
                sum_x += partial[k, 2]
        sum_rx, sum_r = gradient_sums(sum_sx, sum_s, sum_x, n, b)
        w, b = step(w, b, sum_rx, sum_r, n, learning_rate)
    return w, b
