"""An A/A result as text: false alarms, spread of the ratios, slowdowns caught."""

from __future__ import annotations

import numpy as np

from bench.analysis import cell_statistics as compare
from bench.analysis.aa import AAResult, rate_interval
from bench.present.comparison import LONG_CELL_S


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
        f"{_interval_text(result.false_alarms, result.pairs)})",
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
    lines += _resolution_lines(result)
    lines.append(
        "verdict: " + ("PASS" if result.passed else "FAIL") + " (goal: no false alarm, "
        "every injected slowdown flagged)"
    )
    return "\n".join(lines) + "\n"


def _resolution_lines(result: AAResult) -> list[str]:
    """What each comparison could resolve: the median over its cells of the least ratio it could call
    slower, for all cells and for cells of ``LONG_CELL_S`` or more, and the slowdowns caught there."""
    cells = result.cells
    if "smallest_slower" not in cells:
        return []
    lines = []
    long = cells[cells["base_s"] >= LONG_CELL_S]
    for label, part in (("all cells", cells), (f"cells of {LONG_CELL_S * 1e3:g} ms or more", long)):
        if part.empty:
            continue
        per_pair = part.groupby("pair")["smallest_slower"].median()
        lines.append(
            f"resolution, {label}: the median cell is called slower from {per_pair.median():.2f}x in "
            f"the median comparison ({per_pair.min():.2f}x-{per_pair.max():.2f}x over comparisons); "
            f"the widest cell from {part['smallest_slower'].max():.2f}x"
        )
    if len(long):
        caught = int(long["injected_flagged"].sum())
        lines.append(
            f"{result.slowdown - 1:.0%} slowdown in cells of {LONG_CELL_S * 1e3:g} ms or more: flagged "
            f"{caught} of {len(long)} ({caught / len(long):.0%})"
        )
    return lines


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


def _interval_text(hits: int, trials: int) -> str:
    low, high = rate_interval(hits, trials)
    return f"{low:.0%}-{high:.0%}"
