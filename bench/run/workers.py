"""One batch of the sweep in a fresh process: ``pytest bench --benchmark-only`` on a given tree.

A batched run (``bench.run.replicate``) and the gate (``bench.gating``) both measure this way. The
process starts in ``tree`` with ``tree`` first on ``PYTHONPATH``, so it imports that tree's ``impls``
and ``bench`` even where another checkout is installed in the environment; its output goes to a log.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

#: The sweep's benchmark, as pytest names it: ``NODE.format(kernel=…, n=…, epochs=…)`` selects one
#: cell of one kernel (the id ``bench.run.plugin`` gives it).
BENCH_FILE = "bench/bench_descent.py"
NODE = BENCH_FILE + "::test_descent[{kernel}-n={n}-epochs={epochs}]"
#: Environment variable naming the folder where the workers of one run keep their kernels' compiled
#: code, so that they compile each kernel once between them (``bench.run.jit.warm_up``).
JIT_CACHE_ENVIRONMENT = "GDBENCH_JIT_CACHE"
#: That folder's name, beside the batch reports of a run or a gate; it goes when they are done.
JIT_CACHE_FOLDER = "jit-cache"


class BatchError(Exception):
    """A batch that failed or wrote no report; the message is one line and names its log."""


def node_ids(cells: Sequence[tuple[str, int, int]]) -> list[str]:
    """pytest node ids that select exactly these (kernel, n, epochs) benchmarks."""
    return [NODE.format(kernel=kernel, n=int(n), epochs=int(epochs)) for kernel, n, epochs in cells]


def importing_from(tree: Path, jit_cache: Path | None = None) -> dict[str, str]:
    """This process's environment with ``tree`` first on PYTHONPATH, and the workers' shared
    compiled-code folder when given (``bench.run.jit.warm_up``)."""
    env = dict(os.environ)
    if jit_cache is not None:
        env[JIT_CACHE_ENVIRONMENT] = str(jit_cache)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(tree), env.get("PYTHONPATH")]))
    env["PYTHONDONTWRITEBYTECODE"] = "1"  # leave no __pycache__ behind in a worktree we remove
    return env


def command(options: Sequence[str], selection: Sequence[str] = ("bench",)) -> list[str]:
    """The command line of one batch: pytest on ``selection`` (a folder or node ids) with ``options``."""
    return [
        *(sys.executable, "-m", "pytest", *selection, "--benchmark-only", "-q"),
        *("-p", "no:cacheprovider", *options),
    ]


def run_batch(
    tree: Path,
    options: Sequence[str],
    csv: Path,
    log: Path,
    selection: Sequence[str] = ("bench",),
    jit_cache: Path | None = None,
) -> Path:
    """Run one batch in a fresh process on the code at ``tree``; returns the report it wrote.

    Workers given the same ``jit_cache`` folder compile each Numba kernel once between them.

    KeyboardInterrupt when the batch was interrupted (Ctrl-C reaches the whole process group);
    BatchError when it failed or wrote no report.
    """
    env = importing_from(tree, jit_cache)
    line = command([*options, "--csv", str(csv)], selection)
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "w") as stream:
        stream.write(f"$ cd {tree} && PYTHONPATH={env['PYTHONPATH']} {' '.join(line)}\n")
        stream.flush()
        result = subprocess.run(line, cwd=tree, env=env, stdout=stream, stderr=subprocess.STDOUT, check=False)
    if result.returncode == 2 and not csv.exists():  # ^C in the child: pytest says "interrupted"
        with open(log) as stream:
            if "KeyboardInterrupt" in stream.read():
                raise KeyboardInterrupt
    if result.returncode != 0 or not csv.exists():
        raise BatchError(
            f"the benchmark run at {tree} failed (pytest exit {result.returncode}): "
            f"{last_line(log)} (full output: {log})"
        )
    return csv


def last_line(log: Path) -> str:
    """The most telling line of a failed run's output: its last error line, else its last line."""
    with open(log) as stream:
        lines = [line.strip() for line in stream if line.strip()][1:]  # [0] is the command
    errors = [line for line in lines if "error" in line.lower()]
    return (errors or lines or ["no output"])[-1].removeprefix("ERROR: ")
