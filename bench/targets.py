"""``python -m bench.targets REPORT.csv`` (or ``gd-targets``): check a report against the targets.

Prints one line per target (``bench.analysis.targets``) — the ratio measured in each cell it
concerns, and whether it holds — and exits 0 whatever the verdicts (a missed target is information,
not an error); 2 with one line on stderr for a report it cannot read.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

from bench.analysis.targets import evaluate
from bench.present.targets import render
from bench.reports import model
from bench.reports.schema import ReportError
from impls.cli import OneLineParser


def main(argv: Sequence[str] | None = None) -> int:
    """Print the verdicts on one report; 2 with one line on stderr when it cannot be read."""
    parser = OneLineParser(prog="python -m bench.targets", description=__doc__.split("\n\n")[0])
    parser.add_argument("report", type=Path, help="a benchmark report (CSV)")
    args = parser.parse_args(argv)
    try:
        verdicts = evaluate(model.load(args.report).cells)
    except ReportError as exc:
        print(f"{parser.prog}: error: {exc}", file=sys.stderr)
        return 2
    print(render(verdicts))
    return 0


if __name__ == "__main__":
    sys.exit(main())
