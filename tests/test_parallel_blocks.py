"""The multicore kernels sum fixed blocks: their results depend neither on the threads nor on the load.

``numba_parallel`` and ``sufficient_stats_parallel`` split the samples into ``BLOCKS`` blocks, sum
them on every core while ``cores_are_free()`` says the cores are free and on one core otherwise, and
add the block sums in block order. Numba freezes a function's globals when it compiles, so each mode
is forced here by compiling the kernel afresh with ``cores_are_free`` (or ``CHECK_SAMPLES``) replaced.
"""

from __future__ import annotations

import itertools
import math
import os
import types

import numba
import numpy as np
import pytest
from error_bounds import gamma
from numba import njit, objmode

from impls import make_problem, numba_parallel, numba_simd, sufficient_stats, sufficient_stats_parallel
from impls.numba_parallel import PARALLEL_MIN_N

#: Answers of ``alternating``, in call order (module level: an objmode block calls it by name).
ANSWERS: list[bool] = []


def next_answer() -> bool:
    ANSWERS.append(len(ANSWERS) % 2 == 0)
    return ANSWERS[-1]


@njit(cache=False)
def alternating() -> bool:
    """Free, busy, free, …: a load that comes and goes between checks."""
    with objmode(free="boolean"):
        free = next_answer()
    return free


@njit(cache=False)
def always_free() -> bool:
    return True


@njit(cache=False)
def never_free() -> bool:
    return False


def recompiled(dispatcher, **globals_):
    """A fresh compile of a Numba function with some of its module's globals replaced."""
    function = dispatcher.py_func
    namespace = {**function.__globals__, **globals_}
    clone = types.FunctionType(
        function.__code__, namespace, function.__name__, function.__defaults__, function.__closure__
    )
    options = {key: value for key, value in dispatcher.targetoptions.items() if key != "nopython"}
    return numba.njit(**options)(clone)


def thread_counts() -> list[int]:
    return sorted({1, numba.config.NUMBA_NUM_THREADS})


@pytest.fixture(scope="module")
def problem():
    # Not a multiple of BLOCKS: blocks of two lengths.
    return make_problem(PARALLEL_MIN_N + 37, seed=11, noise=0.1)


def test_numba_parallel_is_the_same_on_all_cores_one_core_or_both_by_turns(problem):
    x, y = problem.x, problem.y
    n = x.shape[0]
    args = (x, y, 0.25, -0.5, 0.3, 5)
    # Threads whose share outgrows their cache walk it both ways by turns (epochs 1 and 3 backwards):
    # with a cache of 0 bytes every share does. These problems fit, so the kernel itself walks one way.
    on_all_cores = recompiled(numba_parallel.descend, cores_are_free=always_free, L2_BYTES=0)(*args)
    on_one_core = recompiled(numba_parallel.descend, cores_are_free=never_free, L2_BYTES=0)(*args)
    # A check every second epoch, the answers alternating: epochs 0–1 parallel, 2–3 not, 4 parallel.
    ANSWERS.clear()
    by_turns = recompiled(numba_parallel.descend, cores_are_free=alternating, CHECK_SAMPLES=2 * n)(*args)
    assert ANSWERS == [True, False, True]
    in_order = recompiled(numba_parallel.descend, cores_are_free=always_free, thread_blocks=blocks_in_order)
    assert on_all_cores == on_one_core == by_turns == in_order(*args)
    for threads in thread_counts():
        numba.set_num_threads(threads)
        try:
            assert numba_parallel.descend(*args) == on_all_cores
        finally:
            numba.set_num_threads(numba.config.NUMBA_NUM_THREADS)


@njit(cache=False)
def blocks_in_order(x, y, w, partial, t, threads, forward, first):
    """``thread_blocks`` without the alternation: always first block to last."""
    start, stop = t * numba_parallel.BLOCKS // threads, (t + 1) * numba_parallel.BLOCKS // threads
    for k in range(start, stop):
        if first:
            partial[k, 0], partial[k, 1], partial[k, 2] = numba_parallel.block_sums_and_x(x, y, w, k)
        else:
            partial[k, 0], partial[k, 1] = numba_parallel.block_sums(x, y, w, k)


def test_each_threads_share_of_the_blocks_sums_the_same_walked_either_way(problem):
    x, y = problem.x, problem.y
    blocks = numba_parallel.BLOCKS
    for threads, first in [(1, True), (2, False), (3, True), (blocks + 1, False)]:
        forward, backward = np.full((blocks, 3), np.nan), np.full((blocks, 3), np.nan)
        for t in range(threads):
            numba_parallel.thread_blocks(x, y, 0.25, forward, t, threads, True, first)
            numba_parallel.thread_blocks(x, y, 0.25, backward, t, threads, False, first)
        written = forward if first else forward[:, :2]  # Σ x is summed in the first epoch only
        assert not np.isnan(written).any()  # every block written, whatever the thread count
        assert np.array_equal(forward, backward, equal_nan=True)


def cache_entry(caches, index, level, kind, size):
    folder = caches / f"index{index}"
    folder.mkdir(parents=True)
    for name, text in (("level", level), ("type", kind), ("size", size)):
        (folder / name).write_text(f"{text}\n")


def test_the_second_level_cache_is_read_as_linux_describes_it(tmp_path):
    caches = tmp_path / "cache"
    cache_entry(caches, 0, 1, "Data", "48K")
    cache_entry(caches, 1, 1, "Instruction", "32K")
    cache_entry(caches, 2, 2, "Unified", "2048K")
    cache_entry(caches, 3, 3, "Unified", "480M")
    assert numba_parallel.second_level_cache_bytes(caches) == 2 * 2**20
    for size, expected in [("2M", 2 * 2**20), ("1048576", 2**20), ("1.5M", 0), ("big", 0), ("", 0)]:
        (caches / "index2" / "size").write_text(size)
        assert numba_parallel.second_level_cache_bytes(caches) == expected, size
    # No such folder, or a second level without its files: unknown.
    assert numba_parallel.second_level_cache_bytes(tmp_path / "nowhere") == 0
    (caches / "index2" / "type").unlink()
    assert numba_parallel.second_level_cache_bytes(caches) == 0


def test_sufficient_stats_parallel_statistics_are_the_same_on_all_cores_or_one(problem):
    x, y = problem.x, problem.y
    statistics = sufficient_stats_parallel.centred_statistics
    on_all_cores = recompiled(statistics, cores_are_free=always_free)(x, y)
    on_one_core = recompiled(statistics, cores_are_free=never_free)(x, y)
    assert on_all_cores == on_one_core
    for threads in thread_counts():
        numba.set_num_threads(threads)
        try:
            assert statistics(x, y) == on_all_cores
        finally:
            numba.set_num_threads(numba.config.NUMBA_NUM_THREADS)
    # The shift is sufficient_stats'; each sum is of the deviations from it, each rounded once, added in
    # some order: within γ(n + 2) of the correctly rounded sum, relative to the sum of magnitudes.
    shift_x, shift_y = on_all_cores[:2]
    assert (shift_x, shift_y) == sufficient_stats.centred_statistics(x, y)[:2]
    u, v = x - shift_x, y - shift_y
    n = x.shape[0]
    for computed, terms in zip(on_all_cores[2:], [u, v, u * u, u * v]):
        assert abs(computed - math.fsum(terms)) <= gamma(n + 2) * math.fsum(np.abs(terms))


def test_below_the_parallel_size_the_one_core_kernels_run_unchanged():
    problem = make_problem(PARALLEL_MIN_N - 1, seed=12, noise=0.1)
    args = (problem.x, problem.y, 0.1, 0.2, 0.3, 4)
    assert numba_parallel.descend(*args) == numba_simd.descend(*args)
    assert sufficient_stats_parallel.descend(*args) == sufficient_stats.descend(*args)


def test_the_blocks_cover_the_samples_once_in_order():
    blocks = numba_parallel.BLOCKS
    for n in [PARALLEL_MIN_N, PARALLEL_MIN_N + 37, 10**6 + 1]:
        bounds = [numba_parallel.block_bounds(n, k) for k in range(blocks)]
        assert bounds[0][0] == 0 and bounds[-1][1] == n
        assert all(stop == start for (_, stop), (start, _) in itertools.pairwise(bounds))
        assert {stop - start for start, stop in bounds} <= {n // blocks, n // blocks + 1}


@pytest.fixture
def loadavg(tmp_path):
    """``runnable_tasks`` compiled against a fake /proc/loadavg; returns (write its content, it)."""
    path = tmp_path / "loadavg"
    path.write_text("")
    return path.write_text, recompiled(numba_parallel.runnable_tasks, LOADAVG_PATH=c_string(path))


def c_string(path) -> tuple[int, ...]:
    """``path`` as ``numba_parallel.LOADAVG_PATH`` holds it: its bytes, then a NUL."""
    return tuple(os.fsencode(path) + b"\0")


def test_the_cores_are_free_while_runnable_tasks_do_not_outnumber_the_cpus(loadavg):
    write, runnable_tasks = loadavg
    cores_are_free = recompiled(
        numba_parallel.cores_are_free, runnable_tasks=runnable_tasks, ALLOWED_CPUS=numba.get_num_threads()
    )
    cpus = numba_parallel.CPUS
    write(f"0.50 0.40 0.30 {cpus}/120 4242\n")
    assert runnable_tasks() == cpus
    assert cores_are_free() is True
    write(f"3.10 2.80 1.20 {cpus + 1}/120 4242\n")
    assert cores_are_free() is False
    write(f"3.10 2.80 1.20 {cpus + 10}/1200 4242\n")
    assert runnable_tasks() == cpus + 10
    assert cores_are_free() is False
    # Unreadable: no evidence of busy cores, so parallel as before.
    write("garbage\n")
    assert runnable_tasks() == 0
    assert cores_are_free() is True


def test_without_proc_loadavg_the_cores_count_as_free(tmp_path):
    assert recompiled(numba_parallel.runnable_tasks, LOADAVG_PATH=c_string(tmp_path / "absent"))() == 0


def test_a_process_allowed_fewer_cpus_than_it_has_threads_stays_on_one(loadavg):
    write, runnable_tasks = loadavg
    write("0.00 0.00 0.00 1/120 4242\n")
    threads = numba.get_num_threads()
    for allowed, free in [(threads, True), (threads - 1, False)]:
        check = recompiled(numba_parallel.cores_are_free, runnable_tasks=runnable_tasks, ALLOWED_CPUS=allowed)
        assert check() is free


def test_the_real_check_reads_a_count():
    tasks = numba_parallel.runnable_tasks()
    # At least this thread where /proc/loadavg exists; none counted where it does not.
    assert tasks >= 1 if os.path.exists("/proc/loadavg") else tasks == 0
    assert numba_parallel.cores_are_free() in (True, False)
