"""Sufficient statistics in one distributed pass over the data, then every epoch on the client in O(1).

Cost: O(N / workers) once — one pass over the data, plus one chunk read again for the shift — then
O(epochs) scalar updates on the client. The data is read once whatever the number of epochs, so it may
exceed every machine's memory when its chunks are drawn or read on the workers
(``impls.dask_data.make_dask_problem``).

The statistics are ``sufficient_stats``'s: the gradient depends on the data only through N and the
sums Σu, Σv, Σu², Σuv of the deviations u = x − k_x, v = y − k_y from a shift (k_x, k_y), exactly for
any shift, and centring keeps a large offset in the data from cancelling. ``sufficient_stats`` shifts by
the mean of its first 1024 samples; here the shift is the mean of the first chunk, known after reading
one chunk, so the sums take a single pass (any value within the data's range centres as well). Each
chunk adds its deviations' terms with ``np.sum`` and dask adds the chunks' sums in a tree; the epochs
then run ``sufficient_stats.epoch`` on the client, unchanged.

Floating-point order: the same per-term roundings as ``sufficient_stats`` (one per deviation, one per
product), sums in an order that is neither its nor the loop's, and the same per-epoch recurrence, so
``sufficient_stats``'s bound in ``tests/error_bounds.py`` (any shift, any summation order) applies.
"""

from __future__ import annotations

from typing import NamedTuple

import dask.array as da
import numpy as np
from distributed import Client

from impls import dask_cluster, dask_data
from impls.sufficient_stats import epoch


class Statistics(NamedTuple):
    """N and ``(k_x, k_y, Σu, Σv, Σu², Σuv)``, the layout ``impls.sufficient_stats.epoch`` takes."""

    n: int
    centred: tuple[float, float, float, float, float, float]


#: Scatters x and y to the current cluster's workers for ``descend``; the sweep calls it once per
#: cell, outside the timed calls. The same function in both Dask kernels, so they share the data.
prepare = dask_data.prepare


def descend(x, y, w: float, b: float, learning_rate: float, epochs: int) -> tuple[float, float]:
    """Run ``epochs`` full-batch updates from (w, b) and return the final (w, b).

    ``x`` and ``y`` are NumPy arrays, or dask arrays from ``impls.dask_data.prepare`` / ``make_dask_problem``.
    """
    if epochs == 0:  # nothing to compute: do not start a cluster for it
        return float(w), float(b)
    with dask_cluster.session() as client:
        x_chunks, y_chunks = dask_data.as_dask(client, x, y)
        stats = statistics(client, x_chunks, y_chunks)
        # Drop data scattered for this call before its cluster closes, so none is reported lost.
        del x_chunks, y_chunks
    return descend_from_statistics(stats, w, b, learning_rate, epochs)


def statistics(client: Client, x: da.Array, y: da.Array) -> Statistics:
    """The sufficient statistics of (x, y), computed on ``client``'s cluster in one pass over the data."""
    shift_x, shift_y = (float(s) for s in client.compute([x.blocks[0].mean(), y.blocks[0].mean()], sync=True))
    sum_u, sum_v, sum_uu, sum_uv = (float(s) for s in client.compute(sums(x, y, shift_x, shift_y), sync=True))
    return Statistics(int(x.shape[0]), (shift_x, shift_y, sum_u, sum_v, sum_uu, sum_uv))


def sums(x: da.Array, y: da.Array, shift_x: float, shift_y: float) -> da.Array:
    """The lazy [Σu, Σv, Σu², Σuv] about the shift: one task per chunk, then a tree of partial sums."""
    partials = da.map_blocks(
        _chunk_sums,
        x,
        y,
        shift_x,
        shift_y,
        new_axis=1,
        chunks=((1,) * x.numblocks[0], (4,)),
        dtype=np.float64,
    )
    return dask_data.quiet_sum(partials, axis=0)


def descend_from_statistics(
    stats: Statistics, w: float, b: float, learning_rate: float, epochs: int
) -> tuple[float, float]:
    """``epochs`` updates from (w, b), each O(1) on the client, from the statistics alone."""
    for _ in range(epochs):
        w, b = epoch(w, b, stats.centred, stats.n, learning_rate)
    return float(w), float(b)


def _chunk_sums(x: np.ndarray, y: np.ndarray, shift_x: float, shift_y: float) -> np.ndarray:
    """This chunk's Σu, Σv, Σu², Σuv about the shift, as a 1×4 block."""
    # As fit does on the client: an overflow gives inf, a result like any other kernel's, not a warning.
    with np.errstate(over="ignore", invalid="ignore"):
        u = x - shift_x
        v = y - shift_y
        return np.array([[np.sum(u), np.sum(v), np.sum(u * u), np.sum(u * v)]])
