"""How far to trust the gate: A/A comparisons of unchanged code, and a slowdown that must be caught.

``python -m bench.aa --repeats K`` measures the working tree as two sides, A and B, K times over,
the way ``bench.gate`` measures base and new (``--batches`` interleaved processes per side, pooled),
and compares each A with its B. The code is the same on both sides, so every cell flagged slower is
a false alarm. It prints:

* the false-alarm rate: the share of the K comparisons with any cell flagged slower (and, apart,
  flagged faster);
* the spread of the per-cell ratios B/A, and the between-run spread of each cell's log median, which
  is what ``bench.compare.BETWEEN_RUN_SD`` assumes for reports of a single batch;
* the sensitivity: each cell of each B in turn is made ``--slowdown`` times slower (every round
  scaled) and compared with its A again; it should be flagged every time.

Exit status: 0 when there is no false alarm and every injected slowdown is flagged, 1 otherwise, 2
bad input. Reports, a per-cell table (``aa.csv``) and this summary (``aa.txt``) go to ``--out``.
"""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from bench import compare, gate, report
from impls.cli import OneLineParser

DEFAULT_REPEATS = 10
DEFAULT_SLOWDOWN = 1.30


@dataclass(frozen=True)
class AAResult:
    """What the A/A comparisons found.

    ``cells`` has one row per (pair, kernel, n, epochs): ratio B/A, its interval, verdict, and
    ``injected_flagged``, whether the cell was found slower once B's rounds of it were scaled by the
    slowdown. ``between_run_sd`` has one row per cell: the standard deviation of the log of its
    batch medians over every batch of every run, and the number of batches. ``outliers`` has one
    row per disturbed batch that the comparison set aside (pair, side, cell, batch) with
    ``factor``, its median over its side's median of the same cell; ``batch_cells`` counts all
    (batch, cell) medians looked at.
    """

    cells: pd.DataFrame
    between_run_sd: pd.DataFrame
    outliers: pd.DataFrame
    pairs: int
    batches: int
    threshold: float
    alpha: float
    slowdown: float
    batch_cells: int

    @property
    def false_alarms(self) -> int:
        """Comparisons of unchanged code with any cell flagged slower."""
        return int(
            self.cells.groupby("pair")["verdict"].agg(lambda v: (v == compare.SLOWER).any()).sum()
        )

    @property
    def any_change(self) -> int:
        """Comparisons of unchanged code with any cell flagged slower or faster."""
        changed = self.cells["verdict"].isin([compare.SLOWER, compare.FASTER])
        return int(changed.groupby(self.cells["pair"]).any().sum())

    @property
    def caught(self) -> int:
        """Injected slowdowns flagged (out of ``len(cells)``)."""
        return int(self.cells["injected_flagged"].sum())

    @property
    def passed(self) -> bool:
        """No false alarm, and every injected slowdown flagged."""
        return self.false_alarms == 0 and self.caught == len(self.cells)


def with_slowdown(rep: compare.Report, cell: tuple, factor: float) -> compare.Report:
    """``rep`` with every round of ``cell`` multiplied by ``factor``.

    Scaling every round scales each batch's median by ``factor`` and leaves the spread of the log
    rounds, hence the within-batch variance, unchanged; so this shifts the cell's log medians.
    """
    batches = rep.batches.copy()
    mine = (batches[compare.CELL] == pd.Series(cell, index=compare.CELL)).all(axis=1)
    batches.loc[mine, "log_median"] += math.log(factor)
    return replace(rep, batches=batches)


def analyse(
    pairs: Sequence[tuple[compare.Report, compare.Report]],
    threshold: float = compare.DEFAULT_THRESHOLD,
    alpha: float = compare.DEFAULT_ALPHA,
    slowdown: float = DEFAULT_SLOWDOWN,
    between_run_sd: float = compare.BETWEEN_RUN_SD,
) -> AAResult:
    """Compare each (A, B) of unchanged code, and again with each cell of B slowed in turn."""
    rows = []
    for index, (a, b) in enumerate(pairs):
        table = compare.compare(a, b, threshold=threshold, alpha=alpha, between_run_sd=between_run_sd).table
        table = table[table["verdict"].isin([compare.SLOWER, compare.FASTER, compare.UNCHANGED])]
        for row in table.itertuples(index=False):
            cell = (row.kernel, row.n, row.epochs)
            injected = compare.compare(
                a, with_slowdown(b, cell, slowdown), threshold=threshold, alpha=alpha,
                between_run_sd=between_run_sd,
            ).table
            hit = injected[
                (injected[compare.CELL] == pd.Series(cell, index=compare.CELL)).all(axis=1)
            ]
            rows.append(
                {
                    "pair": index,
                    "kernel": row.kernel,
                    "n": row.n,
                    "epochs": row.epochs,
                    "ratio": row.ratio,
                    "ci_low": row.ci_low,
                    "ci_high": row.ci_high,
                    "verdict": row.verdict,
                    "injected_flagged": bool((hit["verdict"] == compare.SLOWER).all()),
                }
            )
    disturbed = []
    for index, pair in enumerate(pairs):
        split = compare.set_aside_outliers(pair[0].batches, pair[1].batches, between_run_sd)
        for label, rep, (_, outliers) in zip("ab", pair, split, strict=True):
            medians = rep.batches.groupby(compare.CELL)["log_median"].median().rename("centre")
            outliers = outliers.join(medians, on=compare.CELL)
            disturbed.append(
                outliers.assign(
                    pair=index, side=label, factor=np.exp(outliers["log_median"] - outliers["centre"])
                )[["pair", "side", *compare.CELL, "batch", "factor"]]
            )
    everything = pd.concat([rep.batches for pair in pairs for rep in pair], ignore_index=True)
    spread = (
        everything.groupby(compare.CELL)["log_median"]
        .agg(between_run_sd="std", batches="size")
        .reset_index()
    )
    return AAResult(
        cells=pd.DataFrame(rows),
        between_run_sd=spread,
        outliers=pd.concat(disturbed, ignore_index=True),
        pairs=len(pairs),
        batches=int(pairs[0][0].batches.groupby(compare.CELL)["batch"].nunique().max()),
        threshold=threshold,
        alpha=alpha,
        slowdown=slowdown,
        batch_cells=len(everything),
    )


def render(result: AAResult) -> str:
    """The A/A summary as text."""
    cells = result.cells
    ratios = cells["ratio"]
    extreme = cells.loc[(np.log(ratios)).abs().idxmax()]
    sd = result.between_run_sd
    widest = sd.loc[sd["between_run_sd"].idxmax()]
    missed = cells[~cells["injected_flagged"]]
    lines = [
        f"A/A: {result.pairs} comparisons of unchanged code, {result.batches} batch(es) per side, "
        f"{cells.groupby('pair').size().iloc[0]} cells each; threshold {result.threshold:.0%}, "
        f"family-wise alpha {result.alpha:g}",
        f"false alarms (any cell flagged slower): {result.false_alarms} of {result.pairs} "
        f"({result.false_alarms / result.pairs:.0%}; 95% confidence interval of the rate "
        f"{_rate_interval(result.false_alarms, result.pairs)})",
        f"any cell flagged slower or faster: {result.any_change} of {result.pairs}",
        f"per-cell ratio B/A over all {len(cells)}: median {ratios.median():.3f}, 90% within "
        f"{ratios.quantile(0.05):.3f}-{ratios.quantile(0.95):.3f}, "
        f"most extreme {extreme.ratio:.3f} "
        f"({extreme.kernel} n={extreme.n} epochs={extreme.epochs}, comparison {extreme.pair})",
        f"between-run SD of a cell's log median over {int(sd['batches'].iloc[0])} batches: median "
        f"{sd['between_run_sd'].median():.1%} over cells, largest {widest.between_run_sd:.1%} "
        f"({widest.kernel} n={widest.n} epochs={widest.epochs}); compare assumes "
        f"{compare.BETWEEN_RUN_SD:.0%} plus the within-run spread for single-batch reports",
        _outlier_line(result),
        f"{result.slowdown - 1:.0%} slowdown injected into each cell in turn: flagged "
        f"{result.caught} of {len(cells)} ({result.caught / len(cells):.0%})",
    ]
    lines += [
        f"  missed: {row.kernel} n={row.n} epochs={row.epochs} in comparison {row.pair}"
        for row in missed.head(10).itertuples()
    ]
    lines.append("verdict: " + ("PASS" if result.passed else "FAIL") + " (goal: no false alarm, "
                 "every injected slowdown flagged)")  # fmt: skip
    return "\n".join(lines) + "\n"


def _outlier_line(result: AAResult) -> str:
    """How many batch medians the comparison set aside as disturbed, and the worst of them."""
    outliers = result.outliers
    line = (
        f"disturbed batches set aside (more than {compare.OUTLIER_SDS:g} robust SDs from their "
        f"side's median): {len(outliers)} of {result.batch_cells} batch medians"
    )
    if len(outliers):
        worst = outliers.loc[np.log(outliers["factor"]).abs().idxmax()]
        line += (
            f"; the most extreme {worst.factor:.3g}x its side's median ({worst.kernel} "
            f"n={worst.n} epochs={worst.epochs}, comparison {worst.pair}, side {worst.side}, "
            f"batch {worst.batch})"
        )
    return line


def _rate_interval(hits: int, trials: int) -> str:
    """Clopper–Pearson 95% interval of a rate seen ``hits`` times in ``trials``: with 0 of 10, the
    true rate may still be up to 31%, which is what 10 comparisons can and cannot show."""
    low = 0.0 if hits == 0 else float(stats.beta.ppf(0.025, hits, trials - hits + 1))
    high = 1.0 if hits == trials else float(stats.beta.ppf(0.975, hits + 1, trials - hits))
    return f"{low:.0%}-{high:.0%}"


def load_pairs(folder: Path) -> list[tuple[compare.Report, compare.Report]]:
    """The pooled reports ``a-K.csv``, ``b-K.csv`` of an earlier A/A run, in order of K."""
    pairs = []
    while (folder / f"a-{len(pairs)}.csv").exists():
        index = len(pairs)
        pairs.append(tuple(compare.read_report(folder / f"{side}-{index}.csv") for side in "ab"))
    if not pairs:
        raise report.ReportError(f"{folder} holds no A/A reports (a-0.csv, b-0.csv, ...)")
    return pairs


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
        type=int,
        default=DEFAULT_REPEATS,
        help=f"A/A comparisons to make (default: {DEFAULT_REPEATS})",
    )
    parser.add_argument(
        "--slowdown",
        type=float,
        default=DEFAULT_SLOWDOWN,
        help=f"factor injected into one cell at a time (default: {DEFAULT_SLOWDOWN})",
    )
    parser.add_argument(
        "--from",
        dest="source",
        metavar="DIR",
        help="measure nothing: analyse the reports of an earlier A/A run in DIR again (with the "
        "current comparison and --threshold/--alpha/--slowdown) and print the result",
    )
    gate.add_run_options(parser, gate.DEFAULT_BATCHES)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the A/A measurement; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    say = gate.progress_printer(parser.prog)
    try:
        if args.repeats < 1:
            raise ValueError(f"--repeats must be >= 1, got {args.repeats}")
        if not args.slowdown > 1:
            raise ValueError(f"--slowdown must be > 1, got {args.slowdown}")
        if args.source is not None:
            result = analyse(load_pairs(Path(args.source)), threshold=args.threshold,
                             alpha=args.alpha, slowdown=args.slowdown,
                             between_run_sd=args.between_run_sd)  # fmt: skip
            sys.stdout.write(render(result))
            return 0 if result.passed else 1
        repo = Path(gate.git(Path.cwd(), "rev-parse", "--show-toplevel"))
        grid = gate.grid_from(args, repo)
        out = gate.fresh_folder(repo, args.out, "aa")
        pairs = []
        for index in range(args.repeats):
            say(f"comparison {index + 1}/{args.repeats}")
            work = out / "batches" / f"pair-{index}"
            paths = gate.measure({"a": repo, "b": repo}, grid, args.batches, work, say)
            written = [
                report.write(out / f"{side}-{index}.csv", *gate.pool_batches(paths[side]))
                for side in ("a", "b")
            ]
            pairs.append(tuple(compare.read_report(path) for path in written))
        result = analyse(pairs, threshold=args.threshold, alpha=args.alpha, slowdown=args.slowdown,
                         between_run_sd=args.between_run_sd)
    except KeyboardInterrupt:
        print(f"{parser.prog}: interrupted", file=sys.stderr)
        return 130
    except (gate.GateError, report.ReportError, ValueError, TypeError, OSError) as exc:
        print(f"{parser.prog}: error: {exc}", file=sys.stderr)
        return 2
    text = render(result)
    report.write_new_text(out / "aa.txt", text)
    report.write_new_text(out / "aa.csv", result.cells.to_csv(index=False))
    sys.stdout.write(text)
    say(f"reports and aa.csv in {out}")
    return 0 if result.passed else 1


if __name__ == "__main__":
    sys.exit(main())
