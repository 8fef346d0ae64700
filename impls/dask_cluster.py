"""Where the Dask kernels run: one cluster per ``using`` block, or one per kernel call outside any block.

>>> from impls import fit, make_problem
>>> from impls.dask_cluster import using
>>> x, y, _, _ = make_problem(1_000, seed=1)
>>> with using(n_workers=2):  # doctest: +SKIP
...     a = fit(x, y, kernel="dask", epochs=50)        # both calls share one cluster
...     b = fit(x, y, kernel="dask_stats", epochs=50)

Which cluster, in order of precedence:

1. the innermost enclosing ``with using(...)`` block, shared by every call inside it;
2. otherwise the scheduler named by the environment variable ``GDBENCH_DASK_SCHEDULER``
   (``tcp://HOST:PORT``), connected to for the one call and disconnected after it;
3. otherwise a ``LocalCluster`` of worker processes on this machine, started for the one call and
   closed after it.

``impls.fit`` has a fixed signature and calls the kernel once per recorded segment (``record_every``),
so a bare ``fit(..., kernel="dask", record_every=k)`` starts a cluster per segment: wrap such calls in
``using()``. Every cluster started here is closed when its block or call ends, also on an exception: no
worker process outlives it. A cluster you connect to is never closed, only disconnected from.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager

from distributed import Client, LocalCluster
from distributed.core import rpc

#: Environment variable naming an existing scheduler (``tcp://HOST:PORT``) to use instead of a
#: LocalCluster.
SCHEDULER_ENV = "GDBENCH_DASK_SCHEDULER"
#: Seconds to wait for an existing scheduler to answer before giving up with a ValueError.
CONNECT_TIMEOUT_S = 5.0
#: What a local cluster is called in reports, in place of its (ephemeral) scheduler address.
LOCAL = "local"

# The clients of the enclosing ``using`` blocks, innermost last. Not thread-safe: one benchmark or
# script drives the kernels from one thread.
_clients: list[Client] = []


@contextmanager
def using(
    address: str | None = None, *, n_workers: int | None = None, timeout: float = CONNECT_TIMEOUT_S
) -> Iterator[Client]:
    """Run every Dask kernel call inside the block on one cluster, and yield its ``Client``.

    ``address`` (``tcp://HOST:PORT``) names an existing scheduler; when None, ``GDBENCH_DASK_SCHEDULER``
    is used if set, else a ``LocalCluster`` with ``n_workers`` single-threaded worker processes
    (default: one per CPU core) is started and closed at the end of the block. A scheduler that does
    not answer within ``timeout`` seconds raises ``ValueError`` naming the address.
    """
    source = "the address argument"
    if address is None and os.environ.get(SCHEDULER_ENV):
        address, source = os.environ[SCHEDULER_ENV], SCHEDULER_ENV
    if address is None:
        workers = _check_workers(n_workers)
        cluster = LocalCluster(
            n_workers=workers,
            threads_per_worker=1,
            processes=True,
            # A free port: None still serves the scheduler's HTTP routes on 8787, and warns when that
            # port is taken (by another run's cluster, for one).
            dashboard_address=":0",
            silence_logs=logging.ERROR,
        )
        try:
            with _entered(Client(cluster, set_as_default=False)) as client:
                yield client
        finally:
            cluster.close()
    else:
        if n_workers is not None:
            raise ValueError(f"n_workers={n_workers!r} only applies to a local cluster, not to {address!r}")
        _check_scheduler(address, source, timeout)
        with _entered(Client(address, timeout=timeout, set_as_default=False)) as client:
            yield client


@contextmanager
def session() -> Iterator[Client]:
    """The client a kernel call uses: the enclosing ``using`` block's, else one opened for this call."""
    if _clients:
        yield _clients[-1]
    else:
        with using() as client:
            yield client


def current_client() -> Client:
    """The client of the innermost enclosing ``using`` block; ``RuntimeError`` outside any block.

    Data placed on a cluster (``impls.dask_data.prepare``) lives only as long as the cluster, so it can
    only be prepared inside a block.
    """
    if not _clients:
        raise RuntimeError(
            "no Dask cluster is open here; call this inside `with impls.dask_cluster.using():`"
        )
    return _clients[-1]


def describe(client: Client) -> dict[str, object]:
    """Report metadata of the cluster behind ``client``: its worker count and scheduler address."""
    local = isinstance(client.cluster, LocalCluster)
    return {
        "dask_workers": len(client.nthreads()),  # asked afresh: scheduler_info()'s list is a cache
        "dask_scheduler": LOCAL if local else client.scheduler.address,
    }


@contextmanager
def _entered(client: Client) -> Iterator[Client]:
    _clients.append(client)
    try:
        yield client
    finally:
        _clients.remove(client)
        client.close()


def _check_workers(n_workers) -> int:
    if n_workers is None:
        return os.cpu_count() or 1
    if isinstance(n_workers, bool) or not isinstance(n_workers, int):
        raise TypeError(f"n_workers must be an integer, got {n_workers!r}")
    if n_workers < 1:
        raise ValueError(f"n_workers must be >= 1, got {n_workers!r}")
    return n_workers


def _check_scheduler(address, source: str, timeout: float) -> None:
    """Ask ``address`` who it is, within ``timeout`` seconds; ``ValueError`` unless a scheduler answers.

    Asking before making a ``Client`` matters: a ``Client`` whose connection failed blocks for twice
    its timeout when it is garbage-collected, and complains from inside ``__del__``.
    """
    if not isinstance(address, str):
        raise TypeError(f"the Dask scheduler address must be a string, got {address!r}")

    async def identify() -> dict:
        async with rpc(address, timeout=timeout) as scheduler:
            return await asyncio.wait_for(scheduler.identity(), timeout)

    # A thread of its own, so this works from code that already runs an event loop (e.g. Jupyter).
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        try:
            identity = pool.submit(asyncio.run, identify()).result()
        except (OSError, ValueError, TypeError, asyncio.TimeoutError) as exc:
            raise ValueError(
                f"cannot reach a Dask scheduler at {address!r} (from {source}) within {timeout:g} s: {exc}"
            ) from None
    if identity.get("type") != "Scheduler":
        raise ValueError(
            f"{address!r} (from {source}) is a Dask {identity.get('type', 'server')}, not a scheduler"
        )
