"""Samples as chunked dask arrays on the workers: shipped there from the client, or drawn there from a seed.

``prepare`` scatters NumPy arrays to the workers of the open cluster (the benchmark calls it outside the
timed region). ``make_dask_problem`` builds a lazy problem of any size whose chunks are drawn on the
workers when a computation needs them, so N can exceed the memory of every machine involved.
"""

from __future__ import annotations

import math
import numbers
from typing import NamedTuple

import dask
import dask.array as da
import numpy as np
from dask.array import chunk as dask_chunk
from distributed import Client

from impls.dask_cluster import current_client

#: Largest chunk, in samples: 2**22 float64 values are 32 MiB per array, within the 10 MB–1 GB that
#: dask recommends, and small enough that two workers each hold a few chunks of x and y at once.
MAX_CHUNK = 2**22


class DaskProblem(NamedTuple):
    """Lazy samples ``x``, targets ``y`` (chunked dask arrays) and the true parameters they come from."""

    x: da.Array
    y: da.Array
    w: float
    b: float


def chunk_size(n: int, n_workers: int) -> int:
    """Samples per chunk for ``n`` samples on ``n_workers`` workers: one chunk each, at most MAX_CHUNK."""
    return max(1, min(MAX_CHUNK, math.ceil(n / max(n_workers, 1))))


def prepare(x: np.ndarray, y: np.ndarray, chunk: int | None = None) -> tuple[da.Array, da.Array]:
    """``x`` and ``y`` scattered to the workers of the open ``using`` block, as chunked dask arrays.

    Chunk i of x and chunk i of y go to the same worker, so a chunk's work needs no transfer; chunks
    are dealt round-robin over the workers. ``chunk`` defaults to ``chunk_size(N, workers)``. The
    arrays live as long as the cluster; pass them to a Dask kernel's ``descend`` in place of x and y.
    """
    return scatter(current_client(), x, y, chunk)


def as_dask(client: Client, x, y) -> tuple[da.Array, da.Array]:
    """Prepared dask arrays unchanged; NumPy arrays scattered to ``client``'s workers first."""
    if isinstance(x, da.Array) and isinstance(y, da.Array):
        return x, y
    return scatter(client, x, y, None)


def scatter(client: Client, x, y, chunk: int | None) -> tuple[da.Array, da.Array]:
    """``x`` and ``y`` shipped to ``client``'s workers in chunks of ``chunk`` samples (see ``prepare``)."""
    x = np.ascontiguousarray(x, dtype=np.float64)
    y = np.ascontiguousarray(y, dtype=np.float64)
    if x.ndim != 1 or x.shape != y.shape:
        raise ValueError(f"x and y must be 1-D of the same length, got shapes {x.shape} and {y.shape}")
    n = x.shape[0]
    # nthreads() asks the scheduler each time; scheduler_info()'s worker list is a cache that a
    # periodic refresh can leave empty (distributed 2026.x).
    workers = sorted(client.nthreads())
    if chunk is None:
        chunk = chunk_size(n, len(workers))
    _check_positive_int("chunk", chunk)
    bounds = [(start, min(start + chunk, n)) for start in range(0, n, chunk)]
    futures: dict[int, tuple] = {}
    for j, worker in enumerate(workers):
        mine = list(range(j, len(bounds), len(workers)))
        if not mine:
            continue
        blocks = [x[slice(*bounds[i])] for i in mine] + [y[slice(*bounds[i])] for i in mine]
        # Fresh keys every time: content-hashed keys would be shared with an earlier call's data,
        # whose release may still be in flight and would then take this call's data with it.
        scattered = client.scatter(blocks, workers=[worker], hash=False)
        for k, i in enumerate(mine):
            futures[i] = (scattered[k], scattered[len(mine) + k])

    def assemble(which: int) -> da.Array:
        return da.concatenate(
            [
                da.from_delayed(futures[i][which], shape=(stop - start,), dtype=np.float64)
                for i, (start, stop) in enumerate(bounds)
            ]
        )

    return assemble(0), assemble(1)


def make_dask_problem(n: int, seed: int = 0, chunk: int = MAX_CHUNK, noise: float = 0.0) -> DaskProblem:
    """A lazy problem of ``n`` samples drawn on the workers, chunk by chunk, never gathered to the client.

    Same distribution as ``impls.make_problem`` (x ~ U[0,1), true w, b ~ U[0,1), y = w·x + b plus
    optional Gaussian noise of standard deviation ``noise``) but not the same numbers: w and b are the
    first two draws of ``default_rng(seed)``, and chunk i (samples i·chunk onwards) is drawn from the
    i-th child of ``SeedSequence(seed)`` (``spawn_key=(i,)``), x first, then the noise. The same
    (n, seed, chunk, noise) give the same arrays on any cluster; a different chunk gives other numbers.
    """
    _check_positive_int("n", n)
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
        raise TypeError(f"seed must be an integer, got {seed!r}")
    if seed < 0:
        raise ValueError(f"seed must be non-negative, got {seed!r}")
    _check_positive_int("chunk", chunk)
    if isinstance(noise, bool) or not isinstance(noise, numbers.Real):
        raise TypeError(f"noise must be a real number, got {noise!r}")
    if not (math.isfinite(noise) and noise >= 0):
        raise ValueError(f"noise must be finite and >= 0, got {noise!r}")
    w, b = (float(v) for v in np.random.default_rng(int(seed)).random(2))
    blocks = []
    for i, start in enumerate(range(0, int(n), int(chunk))):
        length = min(int(chunk), int(n) - start)
        task = dask.delayed(_draw_chunk, pure=True)(int(seed), i, length, w, b, float(noise))
        blocks.append(da.from_delayed(task, shape=(2, length), dtype=np.float64))
    xy = da.concatenate(blocks, axis=1)
    return DaskProblem(xy[0], xy[1], w, b)


def _draw_chunk(seed: int, index: int, length: int, w: float, b: float, noise: float) -> np.ndarray:
    """Rows x and y of chunk ``index``, drawn on the worker that runs this task."""
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(index,)))
    xy = np.empty((2, length))
    rng.random(out=xy[0])
    # w·x + b in make_problem's order: (w * x) + b, rounded the same way.
    np.multiply(xy[0], w, out=xy[1])
    xy[1] += b
    if noise > 0:
        xy[1] += rng.normal(0.0, noise, length)
    return xy


def quiet_sum(array: da.Array, axis: int = 0) -> da.Array:
    """``array.sum(axis)``, the same reduction tree and bits, without overflow warnings on the workers.

    A diverging descent overflows to inf, a result like any other kernel's; ``fit`` silences NumPy on
    the client, but the workers that add the chunks' partial sums are other processes (or threads,
    whose NumPy error state is their own), so each of their sums silences it itself.
    """
    return da.reduction(array, _quiet_sum, _quiet_sum, axis=axis, dtype=array.dtype)


def _quiet_sum(x, axis=None, keepdims=None, **kwargs):
    """dask's own chunk sum (what ``da.sum`` runs), with overflow to inf or NaN as a result, not a warning."""
    with np.errstate(over="ignore", invalid="ignore"):
        return dask_chunk.sum(x, axis=axis, keepdims=keepdims, **kwargs)


def _check_positive_int(name: str, value) -> None:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer, got {value!r}")
    if value < 1:
        raise ValueError(f"{name} must be >= 1, got {value!r}")
