"""Run metadata: which code, machine and libraries produced a report, collected in one place.

``collect`` returns the metadata columns of the report, in the report's order; every row of a report
carries the same values, so any single row says where its numbers came from.
"""

from __future__ import annotations

import os
import platform
import re
import subprocess
from collections.abc import Sequence
from datetime import datetime, timezone
from pathlib import Path

import numba
import numpy as np
import threadpoolctl

#: Environment variables that change how many threads the libraries use or which code paths they
#: pick; the ones that are set go into the ``env`` column.
THREAD_ENV = (
    "OMP_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "OPENBLAS_CORETYPE",
    "MKL_NUM_THREADS",
    "NUMBA_NUM_THREADS",
    "NUMBA_THREADING_LAYER",
    "NUMBA_OPT",
    "NUMBA_CPU_NAME",
    "NUMBA_CPU_FEATURES",
)

UNKNOWN = "unknown"


def collect(
    sweep: str, repo: Path, now: datetime | None = None, outputs: Sequence[str] = ()
) -> dict[str, object]:
    """The metadata columns of a report of a ``sweep`` run of the code in ``repo``, started ``now``.

    ``outputs`` are folders of ``repo`` that runs write into; they do not make the checkout dirty.
    """
    now = datetime.now(timezone.utc) if now is None else now.astimezone(timezone.utc)
    commit, dirty = git_state(repo, outputs)
    host = platform.node() or UNKNOWN
    blas, blas_threads = blas_state()
    return {
        "run_id": run_id(now, commit, host),
        "utc_time": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "git_commit": commit,
        "git_dirty": dirty,
        "host": host,
        "cpu_model": cpu_model(),
        "cpu_count": cpu_count(),
        "python_version": platform.python_version(),
        "numpy_version": np.__version__,
        "numba_version": numba.__version__,
        "blas": blas,
        "blas_threads": blas_threads,
        # The size of Numba's thread pool (its parallel kernels' default), read without starting it.
        "numba_threads": int(numba.config.NUMBA_NUM_THREADS),
        # The layer asked for ("default" lets Numba choose); the sweep replaces it with the layer
        # that ran once a parallel kernel has started it (bench.run.session).
        "numba_threading_layer": str(numba.config.THREADING_LAYER),
        "sweep": sweep,
        "env": " ".join(f"{name}={os.environ[name]}" for name in THREAD_ENV if name in os.environ) or "none",
    }


def run_id(now: datetime, commit: str, host: str) -> str:
    """``<UTC yyyymmddTHHMMSSZ>_<commit>_<host>``, safe as a file name."""
    stamp = now.astimezone(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    return f"{stamp}_{commit}_{re.sub(r'[^A-Za-z0-9.-]+', '-', host)}"


def git_state(repo: Path, outputs: Sequence[str] = ()) -> tuple[str, bool]:
    """(short commit, dirty) of the git checkout at ``repo``.

    Dirty means the commit alone cannot reproduce the run: a file differs from it or is not in it
    (an untracked new kernel counts too), or there is no commit at all (no git, no repository, no
    commit yet). Files under the folders ``outputs`` do not count, so the reports a run adds to
    ``results/`` do not make the next run dirty.
    """
    excluded = [f":(exclude){folder}" for folder in outputs]
    try:
        commit = _git(repo, "rev-parse", "--short", "HEAD")
        changes = _git(repo, "status", "--porcelain", "--", ".", *excluded)
    except (OSError, subprocess.CalledProcessError):
        return UNKNOWN, True
    return commit, bool(changes)


def _git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(repo), *args], capture_output=True, text=True, check=True, timeout=30
    ).stdout.strip()


def cpu_model(cpuinfo: Path = Path("/proc/cpuinfo")) -> str:
    """The CPU's model name from ``cpuinfo`` (Linux), else what ``platform`` knows, else 'unknown'."""
    try:
        text = cpuinfo.read_text(errors="replace")
    except OSError:
        text = ""
    # x86 says "model name", some ARM kernels "Model" or only "CPU part"; the first one present wins.
    for key in ("model name", "Model", "cpu model", "Processor"):
        match = re.search(rf"^{key}\s*:\s*(.+?)\s*$", text, flags=re.MULTILINE)
        if match:
            return match.group(1)
    return platform.processor() or platform.machine() or UNKNOWN


def cpu_count() -> int:
    """Logical CPUs this process may run on (its affinity mask where the OS has one)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def blas_state() -> tuple[str, int]:
    """('<library> <version> <architecture>', threads) of the BLAS that NumPy loaded."""
    pools = [pool for pool in threadpoolctl.threadpool_info() if pool.get("user_api") == "blas"]
    if not pools:
        return "none", 0
    names = [
        " ".join(
            str(part)
            for part in (pool.get("internal_api"), pool.get("version"), pool.get("architecture"))
            if part
        )
        for pool in pools
    ]
    return "; ".join(names), int(pools[0].get("num_threads") or 0)
