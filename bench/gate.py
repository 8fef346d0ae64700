"""``python -m bench.gate --base REV`` (or ``gd-gate``): measure a base revision and the working tree in
one job, then compare them.

REV is checked out with ``git worktree`` into a temporary folder and each side is timed with its own
code, in ``--batches`` separate processes per side, interleaved (``bench.gating``); the cells whose
verdict is still open then get more batches while ``--budget`` lasts (``bench.gating.adaptive``).
The batches are pooled into one report per side (rounds carry a ``batch`` column), written under
``--out``, and compared as ``bench.compare`` does, with the batch as the unit of replication.

Exit status: 0 no regression, 1 at least one cell slower (each named), 2 bad input or a side that
cannot be measured, 130 interrupted. The worktree is removed however the run ends.
"""

from __future__ import annotations

import argparse
import signal
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from bench.analysis.compare import Comparison
from bench.compare import add_decision_options, exit_status
from bench.gating import adaptive, batches
from bench.gating.git import GateError, base_worktree, git, resolve_commit
from bench.present import comparison as present
from bench.reports import files
from bench.reports.schema import ReportError
from impls.cli import OneLineParser


def positive_int(name: str) -> Callable[[str], int]:
    """An argparse ``type`` for a whole number >= 1; the error names ``name``."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{name} must be a whole number, got {text!r}") from None
        if value < 1:
            raise argparse.ArgumentTypeError(f"{name} must be >= 1, got {text!r}")
        return value

    return parse


def add_run_options(parser: argparse.ArgumentParser, default_batches: int) -> None:
    """Grid, batching, output and decision options, shared by ``bench.gate`` and ``bench.aa``."""
    parser.add_argument(
        "--sweep", default=batches.DEFAULT_SWEEP, help="preset grid of each batch (default: %(default)s)"
    )
    parser.add_argument(
        "--kernels",
        help="time only these kernels, e.g. numpy,numba (default: every kernel but "
        + ", ".join(batches.LEFT_OUT_BY_DEFAULT)
        + ")",
    )
    parser.add_argument("--n", help="sample counts, e.g. 10,1000 (overrides the sweep's)")
    parser.add_argument("--epochs", help="epoch counts, e.g. 10,100 (overrides the sweep's)")
    parser.add_argument(
        "--bench-time",
        default=batches.DEFAULT_BENCH_TIME,
        help="seconds of timed rounds per benchmark and batch (default: %(default)s; many short "
        "batches tell more than a few long ones)",
    )
    parser.add_argument(
        "--python-budget",
        default=batches.DEFAULT_PYTHON_BUDGET,
        help="skip python_loop in cells with n·epochs above this (default: %(default)s)",
    )
    parser.add_argument(
        "--batches",
        type=positive_int("--batches"),
        default=default_batches,
        help=f"separate processes per side in the first round (default: {default_batches})",
    )
    parser.add_argument(
        "--budget",
        type=seconds_type("--budget"),
        default=adaptive.DEFAULT_BUDGET,
        help="seconds from the start within which to finish measuring: after the first round, the "
        "cells whose verdict is still open get more batches while it lasts (default: %(default)g; "
        "0: the first round only)",
    )
    parser.add_argument(
        "--out", help="folder for the reports, new or empty (default: results/<name>-<UTC time>)"
    )
    add_decision_options(parser)


def seconds_type(name: str) -> Callable[[str], float]:
    """An argparse ``type`` for a finite number of seconds >= 0; the error names ``name``."""

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{name} must be a number of seconds, got {text!r}") from None
        if not 0 <= value < float("inf"):
            raise argparse.ArgumentTypeError(f"{name} must be finite seconds >= 0, got {text!r}")
        return value

    return parse


def grid_from(args: argparse.Namespace) -> batches.Grid:
    """The Grid of the parsed options, validated as the sweep validates them (ValueError)."""
    kernels = args.kernels if args.kernels is not None else batches.default_kernels()
    grid = batches.Grid(args.sweep, kernels, args.n, args.epochs, args.bench_time, args.python_budget)
    batches.check_grid(grid)
    return grid


def save_comparison(comparison: Comparison, folder: Path) -> None:
    """The comparison as Markdown (for a job summary) and CSV beside the reports."""
    files.write_new_text(folder / "comparison.md", present.render_markdown(comparison))
    files.write_new_text(folder / "comparison.csv", present.render_csv(comparison))


def progress_printer(prog: str) -> Callable[[str], None]:
    """A function that prints one progress line on stderr, prefixed with ``prog``."""

    def say(message: str) -> None:
        print(f"{prog}: {message}", file=sys.stderr, flush=True)

    return say


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
    parser.add_argument("--base", required=True, help="the revision to compare against, e.g. origin/main")
    add_run_options(parser, batches.DEFAULT_BATCHES)
    parser.add_argument(
        "--format",
        choices=sorted(present.RENDERERS),
        default="text",
        help="format of the comparison on stdout (default: text); Markdown and CSV are saved too",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the gate; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    progress = progress_printer(parser.prog)
    began = time.monotonic()
    previous = signal.signal(signal.SIGTERM, _interrupt)  # a cancelled CI job cleans up too
    try:
        repo = Path(git(Path.cwd(), "rev-parse", "--show-toplevel"))
        commit = resolve_commit(repo, args.base)
        grid = grid_from(args)
        out = batches.fresh_folder(repo, args.out, "gate")
        progress(f"base {args.base} = {commit[:12]}; new = the working tree of {repo}; out {out}")
        with base_worktree(repo, commit) as tree:
            decision = adaptive.measure_and_decide(
                {"base": tree, "new": repo},
                grid,
                args.batches,
                out / "batches",
                out,
                began=began,
                budget=args.budget,
                threshold=args.threshold,
                alpha=args.alpha,
                between_run_sd=args.between_run_sd,
                progress=progress,
            )
        comparison = decision.comparison
        written = {side: report.path for side, report in decision.reports.items()}
        save_comparison(comparison, out)
    except KeyboardInterrupt:
        print(f"{parser.prog}: interrupted; the base worktree was removed", file=sys.stderr)
        return 130
    except (GateError, ReportError, ValueError, TypeError, OSError) as exc:
        print(f"{parser.prog}: error: {exc}", file=sys.stderr)
        return 2
    finally:
        signal.signal(signal.SIGTERM, previous)
    present.emit(comparison, args.format)
    progress(f"reports: {written['base']}, {written['new']}; comparison: {out / 'comparison.md'}")
    return exit_status(comparison)


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


if __name__ == "__main__":
    sys.exit(main())
