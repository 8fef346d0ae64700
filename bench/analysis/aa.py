"""How far to trust a comparison: A/A comparisons of unchanged code, and slowdowns that must be caught.

``analyse`` takes pairs of reports (A, B) of the same code: every cell flagged slower is a false
alarm. It also injects a slowdown into each cell of each B in turn, which must be flagged. The
measuring is ``python -m bench.aa``'s (the gate's machinery); rendering is ``bench.present.aa``'s.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd
from scipy import stats

from bench.analysis import compare
from bench.analysis.cell_statistics import set_aside_outliers
from bench.reports.model import Report
from bench.reports.schema import CELL

_KEY = list(CELL)

DEFAULT_REPEATS = 10
DEFAULT_SLOWDOWN = 1.30


@dataclass(frozen=True)
class AAResult:
    """What the A/A comparisons found.

    ``cells`` has one row per (pair, kernel, n, epochs): ratio B/A, its interval, verdict, A's time
    (``base_s``), the least ratio the comparison could call slower (``smallest_slower``), and
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
        return int(self.cells.groupby("pair")["verdict"].agg(lambda v: (v == compare.SLOWER).any()).sum())

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


def with_slowdown(rep: Report, cell: tuple, factor: float) -> Report:
    """``rep`` with every round of ``cell`` multiplied by ``factor``.

    Scaling every round scales each batch's median by ``factor`` and leaves the spread of the log
    rounds, hence the within-batch variance, unchanged; so this shifts the cell's log medians.
    """
    batches = rep.batches.copy()
    mine = (batches[_KEY] == pd.Series(cell, index=_KEY)).all(axis=1)
    batches.loc[mine, "log_median"] += math.log(factor)
    return replace(rep, batches=batches)


def first_batches(rep: Report, count: int) -> Report:
    """``rep`` as a run of ``count`` batches would have measured it: each cell's first ``count``
    undisturbed batches, in batch order (such a run re-measures its disturbed batches too)."""
    if isinstance(count, bool) or not isinstance(count, int) or count < 1:
        raise ValueError(f"count must be a whole number >= 1, got {count!r}")
    kept = rep.clean_batches.sort_values([*_KEY, "batch"], kind="stable")
    kept = kept[kept.groupby(_KEY).cumcount() < count].reset_index(drop=True)
    return replace(rep, batches=kept)


def analyse(
    pairs: Sequence[tuple[Report, Report]],
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
                a,
                with_slowdown(b, cell, slowdown),
                threshold=threshold,
                alpha=alpha,
                between_run_sd=between_run_sd,
            ).table
            hit = injected[(injected[_KEY] == pd.Series(cell, index=_KEY)).all(axis=1)]
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
                    "base_s": row.base_s,
                    "smallest_slower": row.smallest_slower,
                    "injected_flagged": bool((hit["verdict"] == compare.SLOWER).all()),
                }
            )
    disturbed = []
    for index, pair in enumerate(pairs):
        split = set_aside_outliers(pair[0].batches, pair[1].batches, between_run_sd)
        for label, rep, (_, outliers) in zip("ab", pair, split, strict=True):
            medians = rep.batches.groupby(_KEY)["log_median"].median().rename("centre")
            outliers = outliers.join(medians, on=_KEY)
            disturbed.append(
                outliers.assign(
                    pair=index, side=label, factor=np.exp(outliers["log_median"] - outliers["centre"])
                )[["pair", "side", *_KEY, "batch", "factor"]]
            )
    everything = pd.concat([rep.batches for pair in pairs for rep in pair], ignore_index=True)
    spread = everything.groupby(_KEY)["log_median"].agg(between_run_sd="std", batches="size").reset_index()
    return AAResult(
        cells=pd.DataFrame(rows),
        between_run_sd=spread,
        outliers=pd.concat(disturbed, ignore_index=True),
        pairs=len(pairs),
        batches=int(pairs[0][0].batches.groupby(_KEY)["batch"].nunique().max()),
        threshold=threshold,
        alpha=alpha,
        slowdown=slowdown,
        batch_cells=len(everything),
    )


def rate_interval(hits: int, trials: int) -> tuple[float, float]:
    """Clopper–Pearson 95% interval of a rate seen ``hits`` times in ``trials``: with 0 of 10, the
    true rate may still be up to 31%, which is what 10 comparisons can and cannot show."""
    interval = stats.binomtest(hits, trials).proportion_ci(confidence_level=0.95, method="exact")
    return float(interval.low), float(interval.high)
