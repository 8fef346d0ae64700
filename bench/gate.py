"""A performance gate: measure a base revision and the working tree in one job, then compare them.

``python -m bench.gate --base REV`` checks REV out with ``git worktree`` into a temporary folder and
times each side with its own code: ``pytest bench --benchmark-only`` runs from that side's root with
the side's root first on ``PYTHONPATH``, so ``impls`` and ``bench`` are imported from there and not
from wherever the project happens to be installed. Each side is measured in ``--batches`` separate
processes, interleaved base/new, new/base, base/new, … so that a drift of the machine during the job
(a neighbour starting, the CPU warming up) hits both sides alike. The batches are pooled into one
report per side (rounds carry a ``batch`` column), written under ``--out``, and compared with
``bench.compare``, whose statistics treat the batch as the unit of replication.

Exit status: 0 no regression, 1 at least one cell slower (each named), 2 bad input or a side that
cannot be measured, 130 interrupted. The worktree is removed however the run ends.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import pandas as pd

from bench import compare, report
from impls.cli import OneLineParser

#: Batches per side unless --batches says otherwise, and seconds of timed rounds per benchmark in
#: each. A batch is the unit of replication: its median is already precise after a tenth of a
#: second, while what a cell's verdict needs is many batches. From the committed A/A runs
#: (results/aa/batching_study.txt): halving every batch's rounds left the between-batch spread
#: unchanged (6.83% and 6.79% median SD over cells); 5 + 5 batches missed 36 of 530 injected 30%
#: slowdowns (jax and N=10^5 cells, the noisiest) and 10 + 10 (consecutive runs merged) none of
#: 265. A quick-sweep batch took 22 s at 0.2 s per benchmark and 15 s at 0.1 s (the reports'
#: utc_time stamps: about 10 s of each is start-up and JIT compilation), so 15 + 15 batches of
#: 0.1 s cost about what 10 + 10 of 0.2 s do. Checked with ``python -m bench.aa --repeats 10``:
#: results/aa-15-batches (no false alarm in 10 comparisons, 530 of 530 slowdowns caught).
DEFAULT_BATCHES = 15
DEFAULT_BENCH_TIME = "0.1"
DEFAULT_SWEEP = "quick"


class GateError(Exception):
    """Something that stops the gate before it has a verdict; the message is one line."""


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


# --------------------------------------------------------------------------------------------------
# Running batches


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
        sys.executable, "-m", "pytest", "bench", "--benchmark-only", "-q",
        "-p", "no:cacheprovider", *grid.pytest_options(),
    ]  # fmt: skip


def pool_batches(paths: Sequence[Path]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """One report (cells, rounds) from the reports of several batches of the same code.

    Rounds are concatenated with a ``batch`` column (0, 1, … in the order of ``paths``); the cell
    statistics are recomputed over the pooled rounds the way a single run computes them; the
    metadata come from the first batch, plus a ``batches`` column; compile_s and iterations (calls
    per round, which each batch plans for itself) are the medians over batches.
    """
    rounds_parts, compile_parts, iteration_parts = [], [], []
    first = pd.read_csv(paths[0])
    for batch, path in enumerate(paths):
        cells = pd.read_csv(path)
        compile_parts.append(cells.set_index(["kernel"])["compile_s"].groupby(level=0).first())
        if "iterations" in cells:
            iteration_parts.append(cells.set_index(compare.CELL)["iterations"])
        rounds = pd.read_csv(report.rounds_path(path))
        rounds_parts.append(rounds.assign(batch=batch))
    rounds = pd.concat(rounds_parts, ignore_index=True)
    compile_s = pd.concat(compile_parts, axis=1).median(axis=1)
    iterations = (
        pd.concat(iteration_parts, axis=1).median(axis=1).round() if iteration_parts else pd.Series()
    )
    results = [
        report.CellResult(
            kernel,
            int(n),
            int(epochs),
            tuple(group["seconds"]),
            int(iterations.get((kernel, n, epochs), 1)),
        )
        for (kernel, n, epochs), group in rounds.groupby(compare.CELL, sort=False)
    ]
    skip = {*report.CELL_COLUMNS, *report.TRAILING_COLUMNS}
    metadata = {c: first[c].iloc[0] for c in first.columns if c not in skip}
    metadata["batches"] = len(paths)
    cells = report.cells_frame(
        results,
        {k: (None if pd.isna(v) else float(v)) for k, v in compile_s.items()},
        metadata,
    )
    return cells, rounds


def batch_order(sides: Sequence[str], batches: int) -> list[tuple[int, str]]:
    """(batch, side) in running order: A/B, then B/A, A/B, … (counterbalanced against drift)."""
    order = []
    for batch in range(batches):
        ordered = sides if batch % 2 == 0 else sides[::-1]
        order += [(batch, side) for side in ordered]
    return order


def measure(
    trees: dict[str, Path], grid: Grid, batches: int, work: Path, progress=None
) -> dict[str, list[Path]]:
    """Run ``batches`` batches of each side (name -> code), interleaved; its batch reports."""
    done: dict[str, list[Path]] = {side: [] for side in trees}
    for batch, side in batch_order(list(trees), batches):
        start = time.monotonic()
        csv = work / f"{side}-{batch}.csv"
        done[side].append(run_batch(trees[side], grid, csv, work / "logs" / f"{side}-{batch}.log"))
        if progress:
            progress(f"batch {batch + 1}/{batches} {side}: {time.monotonic() - start:.0f} s")
    return done


# --------------------------------------------------------------------------------------------------
# Git


def git(repo: Path, *args: str) -> str:
    """Output of ``git args`` in ``repo``; GateError with git's own message when it fails."""
    try:
        result = subprocess.run(
            ["git", *args], cwd=repo, capture_output=True, text=True, check=False
        )  # fmt: skip
    except OSError as exc:
        raise GateError(f"cannot run git: {exc}") from None
    if result.returncode != 0:
        message = (result.stderr.strip() or result.stdout.strip()).splitlines()
        raise GateError(f"git {' '.join(args)}: {message[-1] if message else 'failed'}")
    return result.stdout.strip()


def resolve_commit(repo: Path, rev: str) -> str:
    """The full sha of revision ``rev``; GateError naming it when it is not a commit here."""
    try:
        return git(
            repo, "rev-parse", "--verify", "--quiet", "--end-of-options", f"{rev}^{{commit}}"
        )
    except GateError:
        raise GateError(f"--base {rev!r} is not a commit in {repo}") from None


@contextlib.contextmanager
def base_worktree(repo: Path, commit: str) -> Iterator[Path]:
    """A detached worktree of ``commit`` in a temporary folder, removed on exit however it ends."""
    folder = Path(tempfile.mkdtemp(prefix="gdbench-gate-"))
    tree = folder / "base"
    try:
        git(repo, "worktree", "add", "--detach", "--quiet", str(tree), commit)
        yield tree
    finally:
        # Ignore SIGINT while cleaning, so a second ^C cannot leave the worktree registered.
        previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
        try:
            with contextlib.suppress(GateError):
                git(repo, "worktree", "remove", "--force", str(tree))
            shutil.rmtree(folder, ignore_errors=True)
            with contextlib.suppress(GateError):
                git(repo, "worktree", "prune")
        finally:
            signal.signal(signal.SIGINT, previous)


# --------------------------------------------------------------------------------------------------
# Output


def fresh_folder(repo: Path, out: str | None, prefix: str) -> Path:
    """``out`` (which must not exist or be empty) or a new ``results/<prefix>-<UTC time>``."""
    if out is not None:
        folder = Path(out).absolute()
        if folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
            raise GateError(
                f"--out {out} exists and is not an empty folder; reports are never overwritten"
            )
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


def save_comparison(comparison: compare.Comparison, folder: Path) -> None:
    """The comparison as Markdown (for a job summary) and CSV beside the reports."""
    report.write_new_text(folder / "comparison.md", compare.render_markdown(comparison))
    report.write_new_text(folder / "comparison.csv", compare.render_csv(comparison))


# --------------------------------------------------------------------------------------------------
# Command line




def add_run_options(parser: argparse.ArgumentParser, default_batches: int) -> None:
    """Grid, batching and output options, shared by ``bench.gate`` and ``bench.aa``."""
    parser.add_argument(
        "--sweep",
        default=DEFAULT_SWEEP,
        help=f"preset grid of each batch (default: {DEFAULT_SWEEP})",
    )
    parser.add_argument(
        "--kernels", help="time only these kernels, e.g. numpy,numba (default: all)"
    )
    parser.add_argument("--n", help="sample counts, e.g. 10,1000 (overrides the sweep's)")
    parser.add_argument("--epochs", help="epoch counts, e.g. 10,100 (overrides the sweep's)")
    parser.add_argument(
        "--bench-time",
        default=DEFAULT_BENCH_TIME,
        help="seconds of timed rounds per benchmark and batch (default: %(default)s; many short "
        "batches tell more than a few long ones)",
    )
    parser.add_argument(
        "--batches",
        type=int,
        default=default_batches,
        help=f"separate processes per side (default: {default_batches})",
    )
    parser.add_argument(
        "--out", help="folder for the reports, new or empty (default: results/<name>-<UTC time>)"
    )
    compare.add_decision_options(parser)


def grid_from(args: argparse.Namespace, repo: Path) -> Grid:
    """The Grid of the parsed options, validated the way the sweep validates them (ValueError)."""
    if args.batches < 1:
        raise ValueError(f"--batches must be >= 1, got {args.batches}")
    grid = Grid(args.sweep, args.kernels, args.n, args.epochs, args.bench_time)
    check = subprocess.run(
        [*_pytest_bench(grid), "--collect-only", "--no-csv"],
        cwd=repo,
        env=importing_from(repo),
        capture_output=True,
        text=True,
        check=False,
    )
    if check.returncode not in (0, 5):
        output = (check.stderr + check.stdout).splitlines()
        raise ValueError(_error_line([line.strip() for line in output if line.strip()]))
    return grid


def build_parser() -> argparse.ArgumentParser:
    """The command-line interface of ``python -m bench.gate``."""
    parser = OneLineParser(
        prog="python -m bench.gate",
        description=(
            "Measure a base revision (in a temporary git worktree, with its own code) and the "
            "working tree in interleaved batches, write both reports, and compare them. Exit "
            "status 0: no regression; 1: at least one cell slower; 2: bad input or a side that "
            "cannot run."
        ),
    )
    parser.add_argument(
        "--base", required=True, help="the revision to compare against, e.g. origin/main"
    )
    add_run_options(parser, DEFAULT_BATCHES)
    parser.add_argument(
        "--format",
        choices=sorted(compare.RENDERERS),
        default="text",
        help="format of the comparison on stdout (default: text); Markdown and CSV are saved too",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the gate; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    progress = progress_printer(parser.prog)
    previous = signal.signal(signal.SIGTERM, _interrupt)  # a cancelled CI job cleans up too
    try:
        repo = Path(git(Path.cwd(), "rev-parse", "--show-toplevel"))
        commit = resolve_commit(repo, args.base)
        grid = grid_from(args, repo)
        out = fresh_folder(repo, args.out, "gate")
        progress(f"base {args.base} = {commit[:12]}; new = the working tree of {repo}; out {out}")
        with base_worktree(repo, commit) as tree:
            work = out / "batches"
            paths = measure({"base": tree, "new": repo}, grid, args.batches, work, progress)
        written = {}
        for side, batch_paths in paths.items():
            cells, rounds = pool_batches(batch_paths)
            written[side] = report.write(out / f"{side}.csv", cells, rounds)
        comparison = compare.compare(
            compare.read_report(written["base"]),
            compare.read_report(written["new"]),
            threshold=args.threshold,
            alpha=args.alpha,
            between_run_sd=args.between_run_sd,
        )
        save_comparison(comparison, out)
    except KeyboardInterrupt:
        print(f"{parser.prog}: interrupted; the base worktree was removed", file=sys.stderr)
        return 130
    except (GateError, report.ReportError, ValueError, TypeError, OSError) as exc:
        print(f"{parser.prog}: error: {exc}", file=sys.stderr)
        return 2
    finally:
        signal.signal(signal.SIGTERM, previous)
    compare.emit(comparison, args.format)
    progress(f"reports: {written['base']}, {written['new']}; comparison: {out / 'comparison.md'}")
    return compare.exit_status(comparison)


def _interrupt(signum, frame) -> None:
    raise KeyboardInterrupt


def progress_printer(prog: str):
    def say(message: str) -> None:
        print(f"{prog}: {message}", file=sys.stderr, flush=True)

    return say


def _last_line(log: Path) -> str:
    """The most telling line of a failed run's output: its last error line, else its last line."""
    with open(log) as stream:
        lines = [line.strip() for line in stream if line.strip()][1:]  # [0] is the command
    return _error_line(lines)


def _error_line(lines: list[str]) -> str:
    errors = [line for line in lines if "error" in line.lower()]
    return (errors or lines or ["no output"])[-1].removeprefix("ERROR: ")


if __name__ == "__main__":
    sys.exit(main())
