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

Worker processes are started the way ``multiprocessing`` starts them ("spawn"): each new process runs
the main script again, as ``__mp_main__``. From a script without an ``if __name__ == "__main__":``
guard, that re-run would call the kernel again inside a process still starting up, and the cluster would
fail ("Nanny failed to start"). So while such a script's unguarded top-level code is running, a local
cluster's workers are threads of this process instead (as many, each single-threaded, with the same
chunks: the same results, bit for bit); guarded scripts, ``python -m``, ``-c``, notebooks and the REPL
get processes.

``impls.fit`` has a fixed signature and calls the kernel once per recorded segment (``record_every``),
so a bare ``fit(..., kernel="dask", record_every=k)`` starts a cluster per segment: wrap such calls in
``using()``. Every cluster started here is closed when its block or call ends, also on an exception: no
worker process outlives it. A cluster you connect to is never closed, only disconnected from.
"""

from __future__ import annotations

import ast
import asyncio
import concurrent.futures
import inspect
import logging
import math
import os
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
from distributed import Client, LocalCluster
from distributed.core import rpc
from distributed.utils import silence_logging_cmgr

#: Environment variable naming an existing scheduler (``tcp://HOST:PORT``) to use instead of a
#: LocalCluster.
SCHEDULER_ENV = "GDBENCH_DASK_SCHEDULER"
#: Seconds to wait for an existing scheduler to answer before giving up with a ValueError, unless
#: ``TIMEOUT_ENV`` or the ``timeout`` argument says otherwise.
CONNECT_TIMEOUT_S = 5.0
#: Environment variable giving that wait in seconds (a scheduler at the end of a slow link, or a
#: check that should fail fast); unset or blank means the default.
TIMEOUT_ENV = "GDBENCH_DASK_TIMEOUT"
#: What a local cluster is called in reports, in place of its (ephemeral) scheduler address.
LOCAL = "local"

# The clients of the enclosing ``using`` blocks, innermost last. Not thread-safe: one benchmark or
# script drives the kernels from one thread.
_clients: list[Client] = []


@contextmanager
def using(
    address: str | None = None, *, n_workers: int | None = None, timeout: float | None = None
) -> Iterator[Client]:
    """Run every Dask kernel call inside the block on one cluster, and yield its ``Client``.

    ``address`` (``tcp://HOST:PORT``) names an existing scheduler; when None, ``GDBENCH_DASK_SCHEDULER``
    is used if set, else a ``LocalCluster`` with ``n_workers`` single-threaded worker processes
    (default: one per CPU core; threads while an unguarded script's top level runs, see the module's
    docstring) is started and closed at the end of the block. A scheduler that does not answer within
    ``timeout`` seconds (default: ``GDBENCH_DASK_TIMEOUT`` if set, else ``CONNECT_TIMEOUT_S``) raises
    ``ValueError`` naming the address.
    """
    if timeout is not None:
        timeout = _seconds(timeout, "timeout")
    source = "the address argument"
    if address is None and os.environ.get(SCHEDULER_ENV):
        address, source = os.environ[SCHEDULER_ENV], SCHEDULER_ENV
    if address is None:
        workers = _check_workers(n_workers)
        # Quiet until the cluster is closed: LocalCluster's own silence_logs ends while its last
        # connections are still closing, and they may then log tracebacks ("Batched Comm Closed").
        with silence_logging_cmgr(logging.ERROR):
            cluster = LocalCluster(
                n_workers=workers,
                threads_per_worker=1,
                processes=not unguarded_script_running(),
                # A free port: None still serves the scheduler's HTTP routes on 8787, and warns when
                # that port is taken (by another run's cluster, for one).
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
        if timeout is None:  # read only where it is used: a local cluster never waits for one
            timeout = _seconds(os.environ.get(TIMEOUT_ENV, "").strip() or CONNECT_TIMEOUT_S, TIMEOUT_ENV)
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


def unguarded_script_running() -> bool:
    """Whether the main thread is running a script's top-level code outside ``if __name__ == "__main__":``.

    Only then would spawned worker processes, which re-run the main module, re-run the code that
    started them. False when the main module is not re-run in a spawned process (``-c``, the REPL,
    ``python -m pkg`` for a package's ``__main__``, IPython) or when the main thread is not in its
    top-level code; True when the main module's source cannot be read to tell.
    """
    main = sys.modules.get("__main__")
    if main is None:
        return False
    spec_name = getattr(getattr(main, "__spec__", None), "name", None)
    if spec_name is not None:
        if spec_name == "__main__" or spec_name.endswith(".__main__"):
            return False
    else:
        path = getattr(main, "__file__", None)
        if path is None or os.path.splitext(os.path.basename(path))[0] == "ipython":
            return False
    line = _main_top_level_line(main)
    if line is None:
        return False
    try:
        source = inspect.getsource(main)
    except (OSError, TypeError):
        return True
    guarded = main_guarded_lines(source)
    return guarded is None or line not in guarded


def main_guarded_lines(source: str) -> set[int] | None:
    """The lines of ``source`` inside an ``if __name__ == "__main__":`` block (None: not Python)."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return None
    lines: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and _is_main_test(node.test):
            for statement in node.body:
                lines.update(range(statement.lineno, (statement.end_lineno or statement.lineno) + 1))
    return lines


def _is_main_test(test: ast.expr) -> bool:
    """``__name__ == "__main__"``, either way round."""
    if not (isinstance(test, ast.Compare) and len(test.ops) == 1 and isinstance(test.ops[0], ast.Eq)):
        return False
    sides = [test.left, test.comparators[0]]
    names = [side for side in sides if isinstance(side, ast.Name) and side.id == "__name__"]
    constants = [side for side in sides if isinstance(side, ast.Constant) and side.value == "__main__"]
    return len(names) == 1 and len(constants) == 1


def _main_top_level_line(main) -> int | None:
    """The line the main thread's top-level frame of ``main`` is executing, if it is executing one."""
    frame = sys._current_frames().get(threading.main_thread().ident)
    line = None
    while frame is not None:
        if frame.f_code.co_name == "<module>" and frame.f_globals is main.__dict__:
            line = frame.f_lineno  # the outermost one: the script's own top level
        frame = frame.f_back
    return line


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


def _seconds(value, name: str) -> float:
    """``value`` as a number of seconds > 0 (a number, or its text); ValueError naming ``name``."""
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        seconds = math.nan
    if isinstance(value, (bool, np.bool_)) or not (0 < seconds < math.inf):
        raise ValueError(f"{name} must be a number of seconds > 0, got {value!r}")
    return seconds


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
