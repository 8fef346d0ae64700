"""``python -m bench.history PATH... [--out DIR]`` (or ``gd-history``): follow every cell across runs.

Reads every report under the given folders (recursively) and files: CSV reports with their rounds
files, and the pytest-benchmark JSON of a sweep. Orders the runs by time, one series per machine,
and prints one ``step:`` line per step found (the method: docs/history.md). With ``--out DIR`` it
writes ``DIR/index.html``, one self-contained page with charts and the latest run's summary.

Exit status: 0 (steps are information; the gate, ``bench.gate``, is what fails a change); 2 with one
line on stderr for bad input: a path that does not exist, a file named on the command line that is
not a report, no report found, or an ``index.html`` in DIR that this command did not write.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path

from bench.analysis import history as analysis
from bench.compare import add_decision_options
from bench.present import history_html as present
from bench.reports import files, model
from bench.reports.schema import ROUNDS_SUFFIX, SUFFIX, ReportError
from impls.cli import OneLineParser

PROG = "python -m bench.history"
PAGE = "index.html"
#: Hidden folders are not searched (a virtual environment holds CSV and JSON files), except this one,
#: where ``pytest --benchmark-autosave`` keeps its JSON.
AUTOSAVE_DIR = ".benchmarks"


def build_parser() -> argparse.ArgumentParser:
    """The command-line interface."""
    parser = OneLineParser(
        prog=PROG,
        description=(
            "Follow every cell (kernel, n, epochs) across benchmark runs ordered by time, one series "
            "per machine, and print each step: a change between commits that is significant given "
            "the runs' spread. Exit status 0; 2 for bad input."
        ),
    )
    parser.add_argument("paths", nargs="+", type=Path, help="report files (CSV or JSON) or folders of them")
    parser.add_argument("--out", type=Path, default=None, help="write DIR/index.html, the history page")
    add_decision_options(parser)
    parser.add_argument(
        "--min-versions",
        type=int,
        default=analysis.MIN_VERSIONS,
        help="fewest commits on each side of a step (default: %(default)s)",
    )
    return parser


def _walk(folder: Path) -> Iterator[Path]:
    for entry in sorted(folder.iterdir()):
        if entry.is_dir():
            # Not into links to folders: a link back up would never end.
            if not entry.is_symlink() and (not entry.name.startswith(".") or entry.name == AUTOSAVE_DIR):
                yield from _walk(entry)
        elif entry.suffix == ".json" or (
            entry.name.endswith(SUFFIX) and not entry.name.endswith(ROUNDS_SUFFIX)
        ):
            yield entry


def collect(paths: Sequence[Path]) -> tuple[list[analysis.Run], list[str]]:
    """The runs of every report at or under ``paths``, and a line per file skipped as no report.

    ReportError for a path that does not exist, a file named itself that is not a report, or no
    report at all.
    """
    runs, skipped = [], []
    for path in paths:
        if path.is_dir():
            found = [(candidate, False) for candidate in _walk(path)]
        elif path.exists():
            found = [(path, True)]
        else:
            raise ReportError(f"{path}: no such file or folder")
        for candidate, named in found:
            try:
                runs.append(analysis.run_of(model.load(candidate)))
            except ReportError as exc:
                if named:
                    raise
                skipped.append(f"{candidate} ({str(exc).removeprefix(str(candidate)).strip(' :')})")
    if not runs:
        raise ReportError(f"no report found in {', '.join(str(p) for p in paths)}")
    return runs, skipped


def write_page(out: Path, page: str) -> Path:
    """Write ``out/index.html``; ReportError when an index.html there is not one this command wrote.

    The page is derived from reports, so one written by this command is replaced; any other file of
    that name is left alone.
    """
    out.mkdir(parents=True, exist_ok=True)
    target = out / PAGE
    if target.exists():
        head = target.read_text(encoding="utf-8", errors="replace")[:2000]
        if present.GENERATOR not in head:
            raise ReportError(f"{target} exists and was not written by {PROG}; choose another --out")
    files.write_atomic(target, page, replace=True)
    return target


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.min_versions < 1:
        parser.error(f"argument --min-versions: must be at least 1, got {args.min_versions}")
    try:
        runs, skipped = collect(args.paths)
        kept, duplicates = analysis.skip_duplicates(runs)
        found = analysis.history(
            kept,
            threshold=args.threshold,
            alpha=args.alpha,
            between_run_sd=args.between_run_sd,
            min_versions=args.min_versions,
        )
        page = None
        if args.out is not None:
            latest = {
                machine: analysis.latest_summary(series[-1]) for machine, series in found.series.items()
            }
            page = write_page(args.out, present.render_page(found, latest, [str(p) for p in args.paths]))
    except (ReportError, OSError) as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return 2
    print(present.reading_line(len(runs), len(kept), len(duplicates), skipped))
    for line in present.text_lines(found):
        print(line)
    if page is not None:
        print(f"page: {page}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
