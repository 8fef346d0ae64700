"""Batches: the sweep run once per fresh process on a side's code, interleaved between the sides.

Each batch runs ``pytest bench --benchmark-only`` from that side's root with the root first on
``PYTHONPATH``, so ``impls`` and ``bench`` are imported from there and not from wherever the project
happens to be installed. Sides alternate A/B, B/A, A/B, … so that a drift of the machine during the
job (a neighbour starting, the CPU warming up) hits both sides alike.
"""

from __future__ import annotations

import contextlib
import functools
import shutil
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from bench.gating.git import GateError
from bench.run import workers
from bench.run.options import resolve_plan
from bench.run.terminal import clock

#: Batches per side in the gate's first round unless --batches says otherwise, seconds of timed rounds
#: per benchmark in each, and python_loop's budget. A batch is the unit of replication: its median
#: is precise after a twentieth of a second, while a cell's verdict needs several processes, so
#: short batches; python_loop's largest quick cell alone would take a fifth of a batch.
#: docs/comparing.md gives the A/A evidence behind these defaults.
DEFAULT_BATCHES = 5
DEFAULT_BENCH_TIME = "0.05"
DEFAULT_SWEEP = "quick"
DEFAULT_PYTHON_BUDGET = "100000"
#: Kernels the gate leaves out unless --kernels names them: JAX's times scatter most between
#: processes (the A/A evidence), so its cells need the most batches to judge.
LEFT_OUT_BY_DEFAULT = ("jax",)


def default_kernels() -> str:
    """The gate's kernels unless --kernels says otherwise: the sweep's, less ``LEFT_OUT_BY_DEFAULT``."""
    return ",".join(k for k in resolve_plan().kernels if k not in LEFT_OUT_BY_DEFAULT)


@dataclass(frozen=True)
class Grid:
    """What each batch runs: the sweep options passed through to ``pytest bench``."""

    sweep: str = DEFAULT_SWEEP
    kernels: str | None = None
    n: str | None = None
    epochs: str | None = None
    bench_time: str | None = None
    python_budget: str | None = None

    def pytest_options(self) -> list[str]:
        """The options of ``pytest bench`` that select this grid."""
        options = ["--sweep", self.sweep]
        for flag, value in (
            ("--kernels", self.kernels),
            ("--n", self.n),
            ("--epochs", self.epochs),
            ("--bench-time", self.bench_time),
            ("--python-budget", self.python_budget),
        ):
            if value is not None:
                options += [flag, value]
        return options


def run_batch(
    tree: Path,
    grid: Grid,
    csv: Path,
    log: Path,
    index: int,
    cells: Sequence[tuple[str, int, int]] | None = None,
) -> Path:
    """Run the sweep once in a fresh process on the code at ``tree`` (``bench.run.workers``) as batch
    ``index`` (its own cell order, no fresh-compile timing, no re-measuring: the gate decides what
    to measure again); only ``cells`` (kernel, n, epochs) when given. GateError when it fails."""
    selection = workers.node_ids(cells) if cells is not None else ["bench"]
    options = grid.pytest_options()
    if knows_batches(tree):  # a base revision older than batched sweeps measures one batch anyway
        options += ["--batches", "1", "--batch-index", str(index)]
    jit_cache = csv.parent / workers.JIT_CACHE_FOLDER
    try:
        return workers.run_batch(tree, options, csv, log, selection, jit_cache=jit_cache)
    except workers.BatchError as exc:
        raise GateError(str(exc)) from None


@contextlib.contextmanager
def shared_jit_cache(work: Path) -> Iterator[None]:
    """While measuring into ``work``: its workers share compiled kernels, and the folder goes after."""
    try:
        yield
    finally:
        shutil.rmtree(work / workers.JIT_CACHE_FOLDER, ignore_errors=True)


@functools.cache
def knows_batches(tree: Path) -> bool:
    """Whether the sweep at ``tree`` has the ``--batch-index`` option (added with batched sweeps)."""
    options = tree / "bench" / "run" / "options.py"
    return options.exists() and "--batch-index" in options.read_text()


def batch_order(sides: Sequence[str], batches: int) -> list[tuple[int, str]]:
    """(batch, side) in running order: A/B, then B/A, A/B, … (counterbalanced against drift)."""
    order = []
    for batch in range(batches):
        ordered = sides if batch % 2 == 0 else sides[::-1]
        order += [(batch, side) for side in ordered]
    return order


def measure(
    trees: dict[str, Path],
    grid: Grid,
    batches: int,
    work: Path,
    progress: Callable[[str], None] | None = None,
) -> dict[str, list[Path]]:
    """Run ``batches`` batches of each side (name -> code), interleaved; its batch reports."""
    done: dict[str, list[Path]] = {side: [] for side in trees}
    order = batch_order(list(trees), batches)
    began = time.monotonic()
    for finished, (batch, side) in enumerate(order, start=1):
        start = time.monotonic()
        csv = work / f"{side}-{batch}.csv"
        done[side].append(run_batch(trees[side], grid, csv, work / "logs" / f"{side}-{batch}.log", batch))
        if progress:
            elapsed = time.monotonic() - began
            left = elapsed / finished * (len(order) - finished)
            progress(
                f"batch {batch + 1}/{batches} {side}: {time.monotonic() - start:.0f} s "
                f"({finished}/{len(order)} runs, {clock(elapsed)} elapsed, ~{clock(left)} left)"
            )
    return done


def fresh_folder(repo: Path, out: str | None, prefix: str) -> Path:
    """``out`` (which must not exist or be empty) or a new ``results/<prefix>-<UTC time>``."""
    if out is not None:
        folder = Path(out).absolute()
        if folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
            raise GateError(f"--out {out} exists and is not an empty folder; reports are never overwritten")
        folder.mkdir(parents=True, exist_ok=True)
        return folder
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    base = repo / "results" / f"{prefix}-{stamp}"
    for index in range(1000):
        folder = base if index == 0 else base.with_name(f"{base.name}-{index}")
        try:
            folder.mkdir(parents=True)
            return folder
        except FileExistsError:
            continue
    raise GateError(f"no free folder name beside {base}")


def check_grid(grid: Grid) -> None:
    """ValueError naming the option when the grid is not one the sweep accepts here.

    The same validation as ``pytest bench`` (``bench.run.options.resolve_plan``), run before anything
    is measured.
    """
    resolve_plan(
        sweep_name=grid.sweep,
        n=grid.n,
        epochs=grid.epochs,
        kernels=grid.kernels,
        bench_time=grid.bench_time,
        python_budget=grid.python_budget,
    )
