"""``python -m bench.recover NAME.journal.jsonl`` (or ``gd-recover``): the report of a sweep that did not
finish, from its journal.

A sweep writes each finished cell to its journal at once; a run killed before it could write its
report (SIGKILL, out of memory, power) leaves the journal, and this writes ``NAME.csv`` and
``NAME.rounds.csv`` from it (never over an existing report: the next free name is taken), then
removes the journal. A batched run killed while its worker processes measured also leaves the folder
of its batches, ``NAME.batches-*``: every batch in it (a finished report, or an unfinished batch's
journal) is pooled into the report with the journal's, and the folder is removed. Exit status 0, or
2 with one line on stderr.
"""

from __future__ import annotations

import contextlib
import re
import shutil
import sys
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from bench.reports import files, frames, journal, pooling
from bench.reports.schema import ReportError
from impls.cli import OneLineParser


def recover(path: Path) -> Path:
    """Write the report of the journal at ``path`` and remove the journal; where the report went."""
    target = journal.report_path_of(path)
    folders = sorted(target.parent.glob(f"{target.stem}.batches-*"))
    if not folders:
        written = files.write(target, *journal_tables(path))
    else:
        paths = [batch for folder in folders for batch in batches_in(folder)]
        if not paths or paths[0].name != "batch-0.csv":  # killed before batch 0 reached the folder
            paths.insert(0, files.write(folders[0] / "batch-0.csv", *journal_tables(path)))
        written = files.write(target, *pooling.pool(paths))
        for folder in folders:
            shutil.rmtree(folder)
    Path(path).unlink()
    return written


def journal_tables(path: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The report (cells, rounds) of one journal; ReportError when it holds no finished cell."""
    metadata, compile_s, results = journal.read(path)
    if not results:
        raise ReportError(f"{path} holds no finished cell: there is no report to make")
    return frames.cells_frame(results, compile_s, metadata), frames.rounds_frame(results)


def batches_in(folder: Path) -> list[Path]:
    """The batch reports in a batched run's folder, in batch order: finished ones, and the journals
    of unfinished ones turned into reports (a batch killed before its first cell has none)."""
    indices = sorted({int(m[1]) for f in folder.iterdir() if (m := re.fullmatch(r"batch-(\d+)\..*", f.name))})
    found = []
    for index in indices:
        report = folder / f"batch-{index}.csv"
        if not report.exists():
            log = journal.journal_path(report)
            if not log.exists():
                continue
            with contextlib.suppress(ReportError):
                found.append(files.write(report, *journal_tables(log)))
            continue
        found.append(report)
    return found


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
