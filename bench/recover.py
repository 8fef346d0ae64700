"""``python -m bench.recover NAME.journal.jsonl`` (or ``gd-recover``): the report of a sweep that did not
finish, from its journal.

A sweep writes each finished cell to its journal at once; a run killed before it could write its
report (SIGKILL, out of memory, power) leaves the journal, and this writes ``NAME.csv`` and
``NAME.rounds.csv`` from it (never over an existing report: the next free name is taken), then
removes the journal. Exit status 0, or 2 with one line on stderr.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

from bench.reports import files, frames, journal
from bench.reports.schema import ReportError
from impls.cli import OneLineParser


def recover(path: Path) -> Path:
    """Write the report of the journal at ``path`` and remove the journal; where the report went."""
    metadata, compile_s, results = journal.read(path)
    if not results:
        raise ReportError(f"{path} holds no finished cell: there is no report to make")
    cells = frames.cells_frame(results, compile_s, metadata)
    written = files.write(journal.report_path_of(path), cells, frames.rounds_frame(results))
    Path(path).unlink()
    return written


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    parser = OneLineParser(prog="python -m bench.recover", description=__doc__.split("\n\n")[0])
    parser.add_argument("journal", type=Path, help="a sweep's NAME.journal.jsonl")
    args = parser.parse_args(argv)
    try:
        journal.report_path_of(args.journal)
        written = recover(args.journal)
    except (ReportError, OSError) as exc:
        print(f"{parser.prog}: error: {exc}", file=sys.stderr)
        return 2
    print(f"report: {written} and {files.rounds_path(written)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
