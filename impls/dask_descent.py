"""The descent on a Dask cluster: x and y as chunked dask arrays, one distributed reduction per epoch.

Cost: per epoch, O(N / workers) on the workers plus a fixed overhead on the client and scheduler
(building the graph, one round trip: milliseconds, whatever N), so distribution can pay only when one
pass over the data takes longer than that. NumPy input is first scattered to the workers, O(N); the
benchmark does that once, outside the timed region, with ``impls.dask_data.prepare``. The cluster is
the enclosing ``impls.dask_cluster.using`` block's, or one started for this call (see that module).

Floating-point order: every term is computed as in ``numpy`` — ``((2/N) * residual) * (-x)`` — so the
terms agree to the bit with ``python_loop``'s; each chunk adds its terms with ``np.sum`` (pairwise) and
dask adds the chunks' sums in a reduction tree. That is one summation tree over the N terms, so the
any-order summation bound of ``tests/error_bounds.py`` applies. (w, b) are updated on the client, as in
every other kernel.
"""

from __future__ import annotations

import dask.array as da
import numpy as np

from impls import dask_cluster, dask_data

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
        for _ in range(epochs):
            dl_dw, dl_db = client.compute(gradient(x_chunks, y_chunks, w, b), sync=True)
            w = w - dl_dw * learning_rate
            b = b - dl_db * learning_rate
        # Drop data scattered for this call before its cluster closes, so none is reported lost.
        del x_chunks, y_chunks
    return float(w), float(b)


def gradient(x: da.Array, y: da.Array, w: float, b: float) -> da.Array:
    """The lazy gradient [dL/dw, dL/db] at (w, b): one task per chunk, then a tree of partial sums."""
    n = x.shape[0]
    partials = da.map_blocks(
        _chunk_gradient,
        x,
        y,
        w,
        b,
        n,
        new_axis=1,
        chunks=((1,) * x.numblocks[0], (2,)),
        dtype=np.float64,
    )
    return dask_data.quiet_sum(partials, axis=0)


def _chunk_gradient(x: np.ndarray, y: np.ndarray, w: float, b: float, n: int) -> np.ndarray:
    """This chunk's share of both gradient sums, as a 1×2 block."""
    # A diverging descent is a result, not an error (fit silences the client the same way); workers
    # are other processes or threads, so fit's setting does not reach them.
    with np.errstate(over="ignore", invalid="ignore"):
        residual = y - (w * x + b)
        return np.array([[np.sum((2 / n) * residual * (-x)), np.sum((2 / n) * residual * (-1))]])
