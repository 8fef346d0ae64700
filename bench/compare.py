"""``python -m bench.compare BASE NEW [NEW…]`` (or ``gd-compare``): compare benchmark reports.

With two reports: for every cell in both, the base and new time, the ratio new/base with a
confidence interval, and a verdict (the method: docs/comparing.md). With more: one column per report
against the first, benchstat-style. Reports are CSV (with their rounds files) or pytest-benchmark's
JSON of the sweep. Exit status: 0 no regression, 1 at least one cell slower, 2 bad input.
"""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Callable, Sequence

from bench.analysis import compare as analysis
from bench.present import comparison as present
from bench.reports import model
from bench.reports.schema import ReportError
from impls.cli import OneLineParser


def bounded_float(name: str, upper: float | None = None) -> Callable[[str], float]:
    """An argparse ``type`` for a finite number in (0, upper), or above 0; the error names ``name``."""

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{name} must be a number, got {text!r}") from None
        if not math.isfinite(value) or value <= 0 or (upper is not None and value >= upper):
            bound = f"between 0 and {upper:g} (exclusive)" if upper is not None else "a number > 0"
            raise argparse.ArgumentTypeError(f"{name} must be {bound}, got {text!r}")
        return value

    return parse


def add_decision_options(parser: argparse.ArgumentParser) -> None:
    """The options that decide verdicts, shared by ``bench.compare``, ``bench.gate`` and ``bench.aa``.

    Each is checked as it is parsed, so a bad value stops a command before it measures anything.
    """
    parser.add_argument(
        "--threshold",
        type=bounded_float("--threshold"),
        default=analysis.DEFAULT_THRESHOLD,
        help=f"smallest relative change that counts (default: {analysis.DEFAULT_THRESHOLD})",
    )
    parser.add_argument(
        "--alpha",
        type=bounded_float("--alpha", upper=1.0),
        default=analysis.DEFAULT_ALPHA,
        help="family-wise false-alarm rate over the whole table, per direction: the chance that "
        "unchanged code gets any 'slower' verdict (default: %(default)s)",
    )
    parser.add_argument(
        "--between-run-sd",
        type=bounded_float("--between-run-sd"),
        default=analysis.BETWEEN_RUN_SD,
        help="floor of the between-run spread of a cell's log median, all that single-batch "
        "reports rest on; measure yours with python -m bench.aa (default: %(default)s, this "
        "project's machine class)",
    )


def build_parser() -> argparse.ArgumentParser:
    """The command-line interface of ``python -m bench.compare``."""
    parser = OneLineParser(
        prog="python -m bench.compare",
        description=(
            "Compare two benchmark reports cell by cell: ratio new/base with a simultaneous "
            "confidence interval and a verdict. Exit status 0: no regression; 1: at least one cell "
            "slower; 2: bad input."
        ),
    )
    parser.add_argument(
        "base", help="the baseline report (CSV, its .rounds.csv used if present; or pytest-benchmark JSON)"
    )
    parser.add_argument(
        "new",
        nargs="+",
        help="the report(s) to judge against it; with several, each is a column and the false-alarm "
        "rate alpha is shared among them",
    )
    add_decision_options(parser)
    parser.add_argument(
        "--format", choices=sorted(present.RENDERERS), default="text", help="output format (default: text)"
    )
    return parser


def exit_status(comparison: analysis.Comparison) -> int:
    """1 when any cell is slower, else 0."""
    return 1 if len(comparison.regressions) else 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        base = model.load(args.base)
        news = [model.load(path) for path in args.new]
        comparisons = analysis.compare_many(
            base, news, threshold=args.threshold, alpha=args.alpha, between_run_sd=args.between_run_sd
        )
    except (ReportError, TypeError, ValueError) as exc:
        print(f"{parser.prog}: error: {exc}", file=sys.stderr)
        return 2
    if len(news) == 1:
        present.emit(comparisons[0], args.format)
    elif args.format != "text":
        print(
            f"{parser.prog}: error: --format {args.format} compares two reports; give one NEW",
            file=sys.stderr,
        )
        return 2
    else:
        sys.stdout.write(present.render_columns(base, news, comparisons))
    return max(exit_status(comparison) for comparison in comparisons)


if __name__ == "__main__":
    sys.exit(main())
