"""``python -m bench.plot REPORT.csv [--out DIR]`` (or ``gd-plot``): figures and summary.md of a report.

Writes PNG figures and ``summary.md`` (``bench.present.figures``) into DIR, by default a folder named
after the report next to it (``results/<stem>/``). Needs the ``plot`` extra (matplotlib). A missing
or malformed report is one line on stderr and exit status 2.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from bench.present.plotting import default_out_dir, plot_file
from bench.reports.schema import ReportError
from impls.cli import OneLineParser

PROG = "python -m bench.plot"


def build_parser() -> argparse.ArgumentParser:
    """The command-line interface."""
    parser = OneLineParser(
        prog=PROG,
        description=(
            "Draw a benchmark report: time per call, ns per sample·epoch and speedups against N, "
            "and write summary.md with the run's metadata, the fastest kernel per cell, a scaling "
            "fit per kernel and the crossovers between kernels."
        ),
    )
    parser.add_argument("report", type=Path, help="a report CSV written by the benchmark sweep")
    parser.add_argument(
        "--out",
        type=Path,
        default=None,
        help="folder for the figures and summary.md (default: next to the report, named after it)",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status (2 for bad input, with one line on stderr)."""
    args = build_parser().parse_args(argv)
    out_dir = args.out if args.out is not None else default_out_dir(args.report)
    try:
        written, notes = plot_file(args.report, out_dir)
    except ReportError as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:  # a read-only or full --out: the figures could not be written
        print(f"{PROG}: error: cannot write to {out_dir}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    for path in written:
        print(f"wrote {path}")
    for note in notes:
        print(f"note: {note}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
