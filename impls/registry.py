"""The kernels, by name. Adding a kernel is one module with a ``descend`` function plus one line here.

Every kernel has the signature ``descend(x, y, w, b, learning_rate, epochs) -> (w, b)`` on C-contiguous
float64 1-D arrays and Python floats/ints, and does no validation: ``impls.fit`` is the front door.
Modules are imported only when a kernel is first asked for, so an optional kernel whose dependency is
missing costs nothing and is simply not listed.

A kernel module may also define three optional hooks, declared by ``KernelHooks`` and read only
through ``hooks(name)``: ``prepare(x, y)`` puts the data where the kernel computes (a device, a
cluster) outside the timed calls; ``compile_seconds()`` times a fresh compile by a compiler other
than Numba; ``device_description()`` names the device it runs on, for the report.
"""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Any, Literal

import numpy as np

Descend = Callable[[np.ndarray, np.ndarray, float, float, float, int], tuple[float, float]]
#: How a kernel's results relate to ``python_loop``'s: the reference itself; "bitwise" (same
#: floating-point operation order, so the same bits); "bounded" (reordered; agrees within an error
#: bound derived for that order in tests/error_bounds.py).
Exactness = Literal["reference", "bitwise", "bounded"]
EXACTNESS: tuple[str, ...] = ("reference", "bitwise", "bounded")


@dataclass(frozen=True)
class Kernel:
    """What the suite knows about one kernel; ``module`` holds its ``descend`` function."""

    name: str
    module: str
    summary: str
    #: How its results relate to ``python_loop``'s (see ``Exactness``).
    exactness: Exactness
    #: True when ``descend`` is compiled on first call (its compile time is reported apart).
    compiled: bool = False
    #: Third-party modules it needs beyond the core dependencies, and the extra that installs them.
    requires: tuple[str, ...] = ()
    extra: str | None = None
    #: True when it runs on a Dask cluster (``impls.dask_cluster``): each call pays scheduler round
    #: trips, so sweeps time it only when asked for by name, on one cluster for the whole run.
    distributed: bool = False

    def __post_init__(self) -> None:
        if self.exactness not in EXACTNESS:
            raise ValueError(f"exactness must be one of {EXACTNESS}, got {self.exactness!r}")

    def available(self) -> bool:
        """Whether every module this kernel needs can be imported here."""
        return all(importlib.util.find_spec(name) is not None for name in self.requires)


KERNELS: dict[str, Kernel] = {
    kernel.name: kernel
    for kernel in (
        Kernel("python_loop", "impls.python_loop", "the notebook's per-sample Python loop", "reference"),
        Kernel("numpy", "impls.numpy_vectorized", "vectorized NumPy, pairwise np.sum", "bounded"),
        Kernel("numba", "impls.numba_loop", "the loop under @njit, no fastmath", "bitwise", compiled=True),
        Kernel(
            "numba_simd",
            "impls.numba_simd",
            "@njit, sums reassociated into SIMD lanes",
            "bounded",
            compiled=True,
        ),
        Kernel(
            "numba_parallel",
            "impls.numba_parallel",
            "@njit(parallel=True), prange reductions",
            "bounded",
            compiled=True,
        ),
        Kernel(
            "numpy_fast",
            "impls.numpy_blocked",
            "NumPy in cache-sized blocks, BLAS dot, no temporaries",
            "bounded",
        ),
        Kernel(
            "sufficient_stats",
            "impls.sufficient_stats",
            "shifted sums in one pass, then O(1) per epoch",
            "bounded",
            compiled=True,
        ),
        Kernel(
            "sufficient_stats_parallel",
            "impls.sufficient_stats_parallel",
            "sufficient_stats with its one pass split into blocks summed on every core",
            "bounded",
            compiled=True,
        ),
        Kernel(
            "closed_form",
            "impls.closed_form",
            "the epoch map's eigenvalues raised to the power epochs, exact at any epochs",
            "bounded",
            compiled=True,
        ),
        Kernel(
            "jax",
            "impls.jax_jit",
            "jax.jit of the vectorized epoch, lax.fori_loop, float64",
            "bounded",
            compiled=True,
            requires=("jax",),
            extra="jax",
        ),
        Kernel(
            "dask",
            "impls.dask_descent",
            "dask.array on a Dask cluster, one reduction per epoch",
            "bounded",
            requires=("dask", "distributed"),
            extra="dask",
            distributed=True,
        ),
        Kernel(
            "dask_stats",
            "impls.dask_stats",
            "one Dask pass for the statistics, epochs on the client",
            "bounded",
            requires=("dask", "distributed"),
            extra="dask",
            distributed=True,
        ),
    )
}


def kernel_names() -> list[str]:
    """Names of the kernels usable here, in registry order (optional ones only when installed)."""
    return [name for name, kernel in KERNELS.items() if kernel.available()]


@cache
def get_kernel(name: str) -> Descend:
    """The ``descend`` function of kernel ``name`` (imported on first use)."""
    return importlib.import_module(KERNELS[name].module).descend


@dataclass(frozen=True)
class KernelHooks:
    """The optional parts of a kernel module's contract; None where the module does not define one.

    ``prepare(x, y) -> (x', y')``: the data in the form ``descend`` computes on fastest (on JAX's
    device, on a Dask cluster's workers); the sweep calls it once per cell, outside the timed calls.
    ``compile_seconds() -> float``: seconds of a fresh compile, for kernels not compiled by Numba
    (Numba kernels are timed by ``bench.run.jit`` without a hook).
    ``device_description() -> str``: the device the kernel ran on, recorded in the report.
    """

    prepare: Callable[[np.ndarray, np.ndarray], tuple[Any, Any]] | None = None
    compile_seconds: Callable[[], float] | None = None
    device_description: Callable[[], str] | None = None


@cache
def hooks(name: str) -> KernelHooks:
    """The optional hooks of kernel ``name``'s module (imported on first use)."""
    module = importlib.import_module(KERNELS[name].module)
    return KernelHooks(
        prepare=getattr(module, "prepare", None),
        compile_seconds=getattr(module, "compile_seconds", None),
        device_description=getattr(module, "device_description", None),
    )
