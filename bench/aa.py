"""``python -m bench.aa`` (or ``gd-aa``): how far to trust the gate, measured.

Measures the working tree as two sides, A and B, ``--repeats`` times over, the way ``bench.gate``
measures base and new (``--batches`` interleaved processes per side, pooled), and compares each A
with its B (``bench.analysis.aa``): the false-alarm rate, the spread of the ratios, and whether a
``--slowdown`` injected into each cell in turn is caught. Writes the pooled reports, ``aa.csv``,
``aa.txt`` and ``batches.csv.gz`` (every report's per-batch medians: all a re-analysis needs) to
``--out``. ``--from`` re-analyses an earlier run (its folder, or its ``batches.csv.gz``) without
measuring.

Exit status: 0 when there is no false alarm and every injected slowdown is flagged, 1 otherwise, 2
bad input, 130 interrupted.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from bench.analysis.aa import DEFAULT_REPEATS, DEFAULT_SLOWDOWN, AAResult, analyse, first_batches
from bench.gate import add_run_options, grid_from, positive_int, progress_printer
from bench.gating import adaptive, batches
from bench.gating.git import GateError, git
from bench.present.aa import render
from bench.reports import batch_file, files, model
from bench.reports.model import Report
from bench.reports.schema import ReportError
from impls.cli import OneLineParser

#: The file of an A/A run that keeps every report's batches, compressed.
BATCH_FILE = "batches.csv.gz"


def load_pairs(source: Path) -> list[tuple[Report, Report]]:
    """The (A, B) reports of an earlier A/A run: a batch file, or a folder holding ``batches.csv.gz``
    or the pooled reports ``a-K.csv``, ``b-K.csv``, in order of K."""
    if source.is_dir() and (source / BATCH_FILE).exists():
        source = source / BATCH_FILE
    if not source.is_dir():
        reports = batch_file.load(source)
        pairs = []
        while f"a-{len(pairs)}" in reports and f"b-{len(pairs)}" in reports:
            pairs.append((reports[f"a-{len(pairs)}"], reports[f"b-{len(pairs)}"]))
    else:
        pairs = []
        while (source / f"a-{len(pairs)}.csv").exists():
            index = len(pairs)
            pairs.append((model.load(source / f"a-{index}.csv"), model.load(source / f"b-{index}.csv")))
    if not pairs:
        raise ReportError(f"{source} holds no A/A reports (a-0, b-0, ...)")
    return pairs


def slowdown_factor(text: str) -> float:
    """An argparse ``type`` for ``--slowdown``: a finite factor > 1."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"--slowdown must be a number, got {text!r}") from None
    if not 1 < value < float("inf"):
        raise argparse.ArgumentTypeError(f"--slowdown must be a finite factor > 1, got {text!r}")
    return value


def build_parser() -> argparse.ArgumentParser:
    """The command-line interface of ``python -m bench.aa``."""
    parser = OneLineParser(
        prog="python -m bench.aa",
        description=(
            "Measure the working tree as two sides K times, the way bench.gate measures base and "
            "new, and report the false-alarm rate of the comparisons, the spread of the ratios, "
            "and whether an injected slowdown of each cell is caught."
        ),
    )
    parser.add_argument(
        "--repeats",
        type=positive_int("--repeats"),
        default=DEFAULT_REPEATS,
        help=f"A/A comparisons to make (default: {DEFAULT_REPEATS})",
    )
    parser.add_argument(
        "--slowdown",
        type=slowdown_factor,
        default=DEFAULT_SLOWDOWN,
        help=f"factor injected into one cell at a time (default: {DEFAULT_SLOWDOWN})",
    )
    parser.add_argument(
        "--from",
        dest="source",
        metavar="PATH",
        help="measure nothing: analyse an earlier A/A run again (its folder or its batches.csv.gz) "
        "with the current comparison and --threshold/--alpha/--slowdown, and print the result",
    )
    parser.add_argument(
        "--looks",
        type=positive_int("--looks"),
        default=1,
        help="with --from: how many looks the comparisons were made at, each at alpha/looks (the gate "
        f"makes {adaptive.LOOKS}; a measuring run uses the gate's)",
    )
    parser.add_argument(
        "--first-batches",
        type=positive_int("--first-batches"),
        metavar="K",
        help="with --from: judge each cell on its first K undisturbed batches a side only, to see what "
        "runs of K batches would resolve",
    )
    add_run_options(parser, batches.DEFAULT_BATCHES)
    return parser


def measure_pairs(
    args: argparse.Namespace, out: Path, repo: Path
) -> tuple[list[tuple[Report, Report]], list[int]]:
    """Run ``--repeats`` A/A gates, each exactly as ``bench.gate`` measures and decides; the pooled
    reports and the batch file go to ``out``. Returns the pairs and each gate's count of cells
    called slower (its false alarms)."""
    say = progress_printer("python -m bench.aa")
    grid = grid_from(args)
    pairs, alarms = [], []
    for index in range(args.repeats):
        say(f"comparison {index + 1}/{args.repeats}")
        sides = {f"a-{index}": repo, f"b-{index}": repo}
        decision = adaptive.measure_and_decide(
            sides,
            grid,
            args.batches,
            out / "batches" / f"pair-{index}",
            out,
            began=time.monotonic(),
            budget=args.budget,
            threshold=args.threshold,
            alpha=args.alpha,
            between_run_sd=args.between_run_sd,
            progress=say,
        )
        pairs.append(tuple(decision.reports.values()))
        alarms.append(len(decision.comparison.regressions))
        say(f"gate {index + 1}: {alarms[-1]} cell(s) called slower; {len(decision.reopened)} measured again")
    named = {f"{side}-{index}": rep for index, pair in enumerate(pairs) for side, rep in zip("ab", pair)}
    batch_file.write(out / BATCH_FILE, named)
    return pairs, alarms


def main(argv: Sequence[str] | None = None) -> int:
    """Run the A/A measurement or re-analysis; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    out = None
    try:
        alarms = None
        looks = args.looks
        if args.first_batches is not None and args.source is None:
            raise ValueError("--first-batches re-analyses an earlier run: give --from PATH too")
        if args.source is not None:
            pairs = load_pairs(Path(args.source))
            if args.first_batches is not None:
                count = args.first_batches
                pairs = [(first_batches(a, count), first_batches(b, count)) for a, b in pairs]
        else:
            repo = Path(git(Path.cwd(), "rev-parse", "--show-toplevel"))
            grid_from(args)  # refuse a bad grid before making any folder
            out = batches.fresh_folder(repo, args.out, "aa")
            pairs, alarms = measure_pairs(args, out, repo)
            looks = adaptive.LOOKS
        result: AAResult = analyse(
            pairs,
            threshold=args.threshold,
            alpha=args.alpha / looks,
            slowdown=args.slowdown,
            between_run_sd=args.between_run_sd,
        )
    except KeyboardInterrupt:
        print(f"{parser.prog}: interrupted", file=sys.stderr)
        return 130
    except (GateError, ReportError, ValueError, TypeError, OSError) as exc:
        print(f"{parser.prog}: error: {exc}", file=sys.stderr)
        return 2
    text = render(result)
    if looks > 1:
        text = (
            f"alpha {args.alpha:g} over {looks} looks (the gate's first round and its extra batches): "
            f"each comparison below at {args.alpha / looks:g}\n" + text
        )
    if alarms is not None:
        flagged = sum(1 for count in alarms if count)
        text += (
            f"gates as they decided: {flagged} of {len(alarms)} A/A gates called a cell slower "
            f"(cells per gate: {alarms})\n"
        )
    if out is not None:
        files.write_new_text(out / "aa.txt", text)
        files.write_new_text(out / "aa.csv", result.cells.to_csv(index=False))
    sys.stdout.write(text)
    if out is not None:
        progress_printer(parser.prog)(f"reports, aa.csv and {BATCH_FILE} in {out}")
    if alarms is not None and any(alarms):
        return 1
    return 0 if result.passed else 1


if __name__ == "__main__":
    sys.exit(main())
