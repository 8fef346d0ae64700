"""Fresh JIT compile time of the compiled kernels, measured apart from their benchmarks.

For a Numba kernel, a *new* dispatcher is built from the kernel's Python function and options and its
first call on tiny float64 data is timed: that is always a full compile, never a hit in the
dispatcher's in-memory cache (or an on-disk cache: the new dispatcher has none). Numba's own one-time
start-up is paid beforehand by compiling a trivial function, so the number is the kernel's own cost.

A kernel built with another compiler (JAX, …) gives its module a function ``compile_seconds() ->
float`` that does the equivalent; it takes precedence over the Numba path.
"""

from __future__ import annotations

import importlib
import os
import time
import types
import warnings
from functools import cache
from pathlib import Path
from types import ModuleType

import numba
import numpy as np
from numba.core.dispatcher import Dispatcher
from numba.core.errors import NumbaWarning

from bench.run import workers
from impls.registry import KERNELS, Descend

#: Arguments of a tiny descent with the types the benchmarks pass (float64 arrays, floats, an int), so
#: that compiling for them compiles the very specialization the benchmarks run.
_TINY_X = np.array([0.25, 0.75])
_TINY_Y = 2.0 * _TINY_X + 1.0


def tiny_args() -> tuple[np.ndarray, np.ndarray, float, float, float, int]:
    """(x, y, w, b, learning_rate, epochs) of a two-sample, one-epoch descent."""
    return _TINY_X.copy(), _TINY_Y.copy(), 0.0, 0.0, 0.01, 1


def compile_seconds(kernel: str) -> float | None:
    """Seconds of a fresh compile of registered kernel ``kernel``; None for interpreted kernels."""
    spec = KERNELS[kernel]
    if not spec.compiled:
        return None
    return module_compile_seconds(importlib.import_module(spec.module))


def module_compile_seconds(module: ModuleType) -> float:
    """Fresh compile time of a kernel module: its ``compile_seconds()`` hook, or its Numba ``descend``."""
    hook = getattr(module, "compile_seconds", None)
    if callable(hook):
        return float(hook())
    descend = getattr(module, "descend", None)
    if isinstance(descend, Dispatcher):
        return numba_compile_seconds(descend)
    raise TypeError(
        f"{module.__name__}.descend is not a Numba dispatcher and {module.__name__} has no "
        "compile_seconds() function; give the module one that returns the seconds of a fresh compile"
    )


def numba_compile_seconds(dispatcher: Dispatcher) -> float:
    """Seconds to compile a fresh copy of ``dispatcher`` for the benchmarks' argument types.

    The copy's compiled code then becomes ``dispatcher``'s for those types, where it has none: the
    same source and options compile to the same code, so the warm-up that follows (``warm_up``)
    finds it compiled instead of compiling it a second time, as a worker finds it in the run's cache.
    """
    _start_numba()
    fresh = fresh_dispatcher(dispatcher)
    args = tiny_args()
    start = time.perf_counter()
    fresh(*args)
    seconds = time.perf_counter() - start
    adopted = [compiled for key, compiled in fresh.overloads.items() if key not in dispatcher.overloads]
    for compiled in adopted:
        dispatcher.add_overload(compiled)
    if adopted:
        # A dispatcher that is collected withdraws its code from Numba's registry of functions
        # jitted code may call, so the copy must live as long as the kernel that now uses it.
        _ADOPTED.append(fresh)
    return seconds


#: Fresh copies whose compiled code a kernel's dispatcher took over (``numba_compile_seconds``).
_ADOPTED: list[Dispatcher] = []


def fresh_dispatcher(dispatcher: Dispatcher, _copies: dict | None = None) -> Dispatcher:
    """A new, never-compiled dispatcher of the same Python function with the same options.

    Jitted functions it calls by global name get fresh copies too: Numba would otherwise reuse their
    compiled code, and a kernel built from small jitted pieces (``sufficient_stats`` calls its
    statistics function, ``numba_parallel`` the loops of ``numba_simd``) would report only the
    cost of its top-level function — a quarter of the real compile time in one measured case.
    """
    copies = {} if _copies is None else _copies
    if dispatcher in copies:
        return copies[dispatcher]
    function = dispatcher.py_func
    namespace = dict(function.__globals__)
    for name in function.__code__.co_names:
        if isinstance(namespace.get(name), Dispatcher):
            namespace[name] = fresh_dispatcher(namespace[name], copies)
    clone = types.FunctionType(
        function.__code__, namespace, function.__name__, function.__defaults__, function.__closure__
    )
    # targetoptions records nopython=True, which njit implies and warns about when given again.
    options = {key: value for key, value in dispatcher.targetoptions.items() if key != "nopython"}
    copies[dispatcher] = numba.njit(**options)(clone)
    return copies[dispatcher]


def warm_up(descend: Descend) -> None:
    """Call ``descend`` once on tiny data, compiling it for the benchmarks' argument types.

    In a worker process of a batched run (``workers.JIT_CACHE_ENVIRONMENT`` names a folder), a Numba
    kernel first gets an on-disk cache there: the first worker compiles and saves, the later ones
    load the same code instead of compiling it again, seconds each. Batch 1 has measured the fresh
    compile already, and the folder lives only as long as the run, so no stale code is ever loaded
    from another run. A kernel Numba cannot cache (a ctypes pointer in its code), or a folder that
    cannot be written or fills up, only means that this worker compiles for itself.
    """
    folder = os.environ.get(workers.JIT_CACHE_ENVIRONMENT)
    if not folder or not isinstance(descend, Dispatcher) or not _writable(Path(folder)):
        descend(*tiny_args())
        return
    numba.config.CACHE_DIR = folder
    descend.enable_caching()
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Cannot cache compiled function", category=NumbaWarning)
        try:
            descend(*tiny_args())
        except OSError:  # saving failed (a full disk); the code was compiled before it was saved
            descend(*tiny_args())


def _writable(folder: Path) -> bool:
    # Where Numba cannot write the folder it falls back to a __pycache__ beside the kernel's source,
    # which outlives the run: never let it.
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:
        return False
    return os.access(folder, os.W_OK)


@cache
def _start_numba() -> None:
    # The first compile of a process also initialises LLVM and Numba's typing machinery; paying that
    # here keeps it out of whichever kernel happens to be measured first.
    numba.njit(lambda value: value + 1.0)(1.0)
