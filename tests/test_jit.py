"""Fresh compile times of compiled kernels, and the compiled code the workers of a run share
(bench/run/jit.py)."""

import gc
import importlib
import types
from pathlib import Path

import numba
import pytest
from mounts import fill, tmpfs

from bench.run import jit, workers
from impls import KERNELS, get_kernel, kernel_names, make_problem, numba_parallel, numba_simd

COMPILED = [name for name in kernel_names() if KERNELS[name].compiled]
INTERPRETED = [name for name in kernel_names() if not KERNELS[name].compiled]


@numba.njit(fastmath=False)
def _double(x, y, w, b, learning_rate, epochs):
    return 2.0 * w, 2.0 * b


@pytest.mark.parametrize("kernel", INTERPRETED)
def test_interpreted_kernels_have_no_compile_time(kernel):
    assert jit.compile_seconds(kernel) is None


# That every compiled kernel reports a finite compile time > 0 is checked on a real sweep's report
# (tests/test_bench_smoke.py), which measures each of them anyway.


def test_a_fresh_dispatcher_is_a_new_uncompiled_copy_with_the_same_options():
    fresh = jit.fresh_dispatcher(_double)
    assert fresh is not _double
    assert fresh.py_func is not _double.py_func
    assert fresh.py_func.__code__ is _double.py_func.__code__
    assert fresh.signatures == []
    assert {key: value for key, value in fresh.targetoptions.items() if key != "nopython"} == {
        key: value for key, value in _double.targetoptions.items() if key != "nopython"
    }


def test_measuring_compiles_a_copy_and_leaves_a_compiled_kernel_alone():
    original = jit.fresh_dispatcher(_double)
    jit.warm_up(original)
    before = dict(original.overloads)
    assert jit.numba_compile_seconds(original) > 0
    assert original.overloads == before


def test_a_kernel_not_yet_compiled_is_given_the_measured_copys_code():
    kernel = numba_simd.descend
    original = jit.fresh_dispatcher(kernel)
    assert not original.signatures
    assert jit.numba_compile_seconds(original) > 0
    # Compiled already, for the benchmarks' argument types: the warm-up has nothing to compile.
    assert len(original.signatures) == 1
    jit.warm_up(original)
    assert len(original.signatures) == 1
    problem = make_problem(50, seed=4)
    args = (problem.x, problem.y, 0.1, -0.2, 0.05, 7)
    assert original(*args) == kernel(*args)
    # Jitted code compiled afterwards can still call it (numba_parallel calls numba_simd on few
    # samples), once the measuring's own copy has gone: were that copy collected, Numba would
    # withdraw the code both share, and this compile would fail.
    gc.collect()
    function = numba_parallel.descend.py_func
    namespace = {**function.__globals__, "descend_one_core": original}
    caller = numba.njit(cache=False, parallel=True)(
        types.FunctionType(function.__code__, namespace, function.__name__)
    )
    assert caller(*args) == kernel(*args)


def test_warm_up_compiles_the_specialization_the_benchmarks_call():
    dispatcher = jit.fresh_dispatcher(get_kernel("numba"))
    jit.warm_up(dispatcher)
    assert len(dispatcher.signatures) == 1
    problem = make_problem(7, seed=3)
    # The same argument types as bench/bench_descent.py passes: no second specialization.
    dispatcher(problem.x, problem.y, 0.0, 0.0, 0.01, 3)
    assert len(dispatcher.signatures) == 1


def test_a_modules_compile_seconds_hook_takes_precedence():
    module = types.ModuleType("impls.fake_compiled")
    module.descend = _double
    module.compile_seconds = lambda: 0.25
    assert jit.module_compile_seconds(module) == 0.25


def test_a_compiled_module_without_dispatcher_or_hook_is_refused_by_name():
    module = types.ModuleType("impls.fake_wrapper")
    module.descend = lambda x, y, w, b, learning_rate, epochs: (w, b)
    with pytest.raises(TypeError, match=r"impls\.fake_wrapper.*compile_seconds\(\)"):
        jit.module_compile_seconds(module)


def test_jitted_callees_are_compiled_afresh_too():
    # sufficient_stats calls another jitted function; a fresh copy must not reuse its compiled code.
    from impls import sufficient_stats

    callees = [
        name
        for name in sufficient_stats.descend.py_func.__code__.co_names
        if isinstance(getattr(sufficient_stats, name, None), jit.Dispatcher)
    ]
    assert callees, "sufficient_stats.descend no longer calls a jitted function: pick another kernel"
    jit.warm_up(sufficient_stats.descend)
    fresh = jit.fresh_dispatcher(sufficient_stats.descend)
    for name in callees:
        copy = fresh.py_func.__globals__[name]
        assert copy is not getattr(sufficient_stats, name)
        assert copy.signatures == []
    jit.warm_up(fresh)
    assert fresh(*jit.tiny_args()) == sufficient_stats.descend(*jit.tiny_args())


#: The Numba kernels that call C (``numba_parallel``'s load check, shared by the other): the ones a
#: ctypes pointer once kept out of the cache, beside a plain one. Each costs a fresh compile here.
CACHED_HERE = ["numba", "numba_parallel", "sufficient_stats_parallel"]


def test_worker_processes_compile_each_numba_kernel_once_between_them(tmp_path, monkeypatch):
    # Two fresh dispatchers stand for two worker processes: neither has code in memory, so the second
    # can only get its code from the folder the first one wrote.
    monkeypatch.setenv(workers.JIT_CACHE_ENVIRONMENT, str(tmp_path))
    monkeypatch.setattr(numba.config, "CACHE_DIR", numba.config.CACHE_DIR)  # put back afterwards
    loaded = {}
    for kernel in CACHED_HERE:
        descend = importlib.import_module(KERNELS[kernel].module).descend
        first, second = jit.fresh_dispatcher(descend), jit.fresh_dispatcher(descend)
        jit.warm_up(first)
        jit.warm_up(second)
        loaded[kernel] = (sum(first.stats.cache_hits.values()), sum(second.stats.cache_hits.values()))
    assert loaded == {kernel: (0, 1) for kernel in CACHED_HERE}
    assert any(tmp_path.rglob("*.nbi"))


def test_a_full_disk_under_the_workers_cache_only_means_compiling(tmp_path, monkeypatch):
    monkeypatch.setattr(numba.config, "CACHE_DIR", numba.config.CACHE_DIR)  # put back afterwards
    kernel = importlib.import_module(KERNELS["numba_simd"].module).descend
    args = make_problem(100, seed=3)[:2]
    with tmpfs(tmp_path / "mnt", "256k") as mnt:
        (mnt / "jit").mkdir()
        fill(mnt)
        monkeypatch.setenv(workers.JIT_CACHE_ENVIRONMENT, str(mnt / "jit"))
        descend = jit.fresh_dispatcher(kernel)
        jit.warm_up(descend)  # no error: saving failed, compiling did not
        assert descend(*args, 0.0, 0.0, 0.01, 5) == kernel(*args, 0.0, 0.0, 0.01, 5)
        assert not list(mnt.rglob("*.nbc"))
    # Numba did not fall back to a cache beside the kernel's source, which would outlive the run.
    assert not list(Path(kernel.py_func.__code__.co_filename).parent.rglob("*.nbi"))
