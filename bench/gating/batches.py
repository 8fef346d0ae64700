"""Batches: the sweep run once per fresh process on a side's code, interleaved between the sides.

Each batch runs ``pytest bench --benchmark-only`` from that side's root with the root first on
``PYTHONPATH``, so ``impls`` and ``bench`` are imported from there and not from wherever the project
happens to be installed. Sides alternate A/B, B/A, A/B, … so that a drift of the machine during the
job (a neighbour starting, the CPU warming up) hits both sides alike.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from bench.gating.git import GateError
from bench.run.options import resolve_plan
from bench.run.terminal import clock

#: Batches per side unless --batches says otherwise, and seconds of timed rounds per benchmark in
#: each. A batch is the unit of replication: its median is precise after a tenth of a second, while a
#: cell's verdict needs many batches, so many short batches tell more than a few long ones
#: (docs/comparing.md gives the A/A evidence behind these defaults).
DEFAULT_BATCHES = 15
DEFAULT_BENCH_TIME = "0.1"
DEFAULT_SWEEP = "quick"


@dataclass(frozen=True)
class Grid:
    """What each batch runs: the sweep options passed through to ``pytest bench``."""

    sweep: str = DEFAULT_SWEEP
    kernels: str | None = None
    n: str | None = None
    epochs: str | None = None
    bench_time: str | None = None

    def pytest_options(self) -> list[str]:
        """The options of ``pytest bench`` that select this grid."""
        options = ["--sweep", self.sweep]
        for flag, value in (
            ("--kernels", self.kernels),
            ("--n", self.n),
            ("--epochs", self.epochs),
            ("--bench-time", self.bench_time),
        ):
            if value is not None:
                options += [flag, value]
        return options


def run_batch(tree: Path, grid: Grid, csv: Path, log: Path) -> Path:
    """Run the sweep once in a fresh process on the code at ``tree``; returns the report written.

    The process starts in ``tree`` with ``tree`` first on PYTHONPATH, so it imports that tree's
    ``impls`` and ``bench`` even where another checkout is installed in the environment. Its output
    goes to ``log``; GateError when it fails or writes no report.
    """
    env = importing_from(tree)
    command = [*_pytest_bench(grid), "--csv", str(csv)]
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "w") as stream:
        stream.write(f"$ cd {tree} && PYTHONPATH={env['PYTHONPATH']} {' '.join(command)}\n")
        stream.flush()
        result = subprocess.run(
            command, cwd=tree, env=env, stdout=stream, stderr=subprocess.STDOUT, check=False
        )
    if result.returncode == 2 and not csv.exists():  # ^C in the child: pytest says "interrupted"
        with open(log) as stream:
            if "KeyboardInterrupt" in stream.read():
                raise KeyboardInterrupt
    if result.returncode != 0 or not csv.exists():
        raise GateError(
            f"the benchmark run at {tree} failed (pytest exit {result.returncode}): "
            f"{_last_line(log)} (full output: {log})"
        )
    return csv


def importing_from(tree: Path) -> dict[str, str]:
    """This process's environment with ``tree`` first on PYTHONPATH."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(tree), env.get("PYTHONPATH")]))
    env["PYTHONDONTWRITEBYTECODE"] = "1"  # leave no __pycache__ behind in a worktree we remove
    return env


def _pytest_bench(grid: Grid) -> list[str]:
    return [
        *(sys.executable, "-m", "pytest", "bench", "--benchmark-only", "-q"),
        *("-p", "no:cacheprovider", *grid.pytest_options()),
    ]


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
        done[side].append(run_batch(trees[side], grid, csv, work / "logs" / f"{side}-{batch}.log"))
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
        sweep_name=grid.sweep, n=grid.n, epochs=grid.epochs, kernels=grid.kernels, bench_time=grid.bench_time
    )


def _last_line(log: Path) -> str:
    """The most telling line of a failed run's output: its last error line, else its last line."""
    with open(log) as stream:
        lines = [line.strip() for line in stream if line.strip()][1:]  # [0] is the command
    return _error_line(lines)


def _error_line(lines: list[str]) -> str:
    errors = [line for line in lines if "error" in line.lower()]
    return (errors or lines or ["no output"])[-1].removeprefix("ERROR: ")
