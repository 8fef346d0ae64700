"""Compare two reports cell by cell, with statistics that do not cry wolf.

``compare(base, new)`` returns a ``Comparison``: per cell (kernel, n, epochs) the ratio of times
new/base with a simultaneous confidence interval and a verdict, ``slower``, ``faster`` or ``no
significant change``. The method (batches as the unit of replication, a floor on the between-run
spread, moderated variances, disturbed batches set aside, one-sided Bonferroni tests) is written
once, in docs/comparing.md; the comments here say why each piece is there. Rendering lives in
``bench.present.comparison``.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

from bench.analysis.cell_statistics import (
    BETWEEN_RUN_SD,
    DEFAULT_ALPHA,
    DEFAULT_THRESHOLD,
    FASTER,
    FLOOR_DF,
    OUTLIER_SDS,
    SLOWER,
    UNCHANGED,
    cell_statistics,
)
from bench.reports.model import Report
from bench.reports.schema import CELL, PROBE_KERNELS, ReportError, cell_name

_KEY = list(CELL)

ADDED, REMOVED = "added", "removed"
#: The verdict of a cell measured while the machine was disturbed, in either report: its figures are
#: shown, but evidence taken while another process had the CPU is never called a change.
DISTURBED = "disturbed"
#: The verdict of a probe's cell (``stream``): it measures the machine, not the code, so a change in it
#: is drift, never a regression; it is shown, and left out of the table's false-alarm control.
PROBE = "probe, not judged"


@dataclass(frozen=True)
class Comparison:
    """The computed comparison; renderers only format it.

    ``table`` is tidy, one row per cell in either report, with columns kernel, n, epochs, verdict,
    base_s, new_s (geometric mean over batches of each batch's median seconds), ratio (new_s /
    base_s), ci_low, ci_high (simultaneous interval on the ratio), p_value (one-sided, in the
    direction of the ratio, per cell), significant, smallest_slower (the least ratio that this
    cell's spread would let it call slower), base_batches, new_batches (batches used),
    base_rounds, new_rounds (their rounds), base_outliers, new_outliers (disturbed batches set
    aside). Cells in only one report have verdict "added" or "removed" and NaN statistics.
    """

    table: pd.DataFrame
    geomeans: pd.DataFrame
    threshold: float
    alpha: float
    confidence: float
    warnings: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def regressions(self) -> pd.DataFrame:
        """The cells found slower."""
        return self.table[self.table["verdict"] == SLOWER]


def compare(
    base: Report,
    new: Report,
    threshold: float = DEFAULT_THRESHOLD,
    alpha: float = DEFAULT_ALPHA,
    between_run_sd: float = BETWEEN_RUN_SD,
    floor_df: float = FLOOR_DF,
) -> Comparison:
    """Compare ``new`` against ``base``; ReportError when they have no cell in common."""
    _check_fraction("threshold", threshold, upper=None)
    _check_fraction("alpha", alpha, upper=1.0)
    _check_fraction("between_run_sd", between_run_sd, upper=None)
    base_cells = base.batches[_KEY].drop_duplicates()
    new_cells = new.batches[_KEY].drop_duplicates()
    common = base_cells.merge(new_cells, on=_KEY)
    if common.empty:
        raise ReportError(f"{base.path} and {new.path} have no cell (kernel, n, epochs) in common")

    shaken = pd.concat([base.disturbed_cells, new.disturbed_cells]).drop_duplicates()
    is_shaken = common.merge(shaken.assign(_shaken=True), on=_KEY, how="left")["_shaken"].eq(True).to_numpy()
    is_probe = common["kernel"].isin(PROBE_KERNELS).to_numpy()
    judged = common[~is_probe & ~is_shaken]
    unjudged = common[~is_probe & is_shaken]
    if judged.empty and unjudged.empty:
        raise ReportError(
            f"{base.path} and {new.path} have only probe cells ({', '.join(PROBE_KERNELS)}) in common"
        )
    statistics = functools.partial(
        cell_statistics, threshold=threshold, between_run_sd=between_run_sd, floor_df=floor_df
    )
    family = max(len(judged), 1)
    base_batches, new_batches = base.clean_batches, new.clean_batches
    cells = statistics(base_batches.merge(judged, on=_KEY), new_batches.merge(judged, on=_KEY), alpha=alpha)
    shown = [cells]
    # Probes and disturbed cells get the same interval as a judged cell, at the same simultaneous
    # level, to be read (machine drift, how far off a disturbed cell was) but never judged.
    for others, verdict in ((common[is_probe], PROBE), (unjudged, DISTURBED)):
        if len(others):
            shown.append(
                statistics(
                    base_batches.merge(others, on=_KEY),
                    new_batches.merge(others, on=_KEY),
                    alpha=alpha * len(others) / family,
                ).assign(verdict=verdict, smallest_slower=np.nan, significant=False)
            )
    cells_shown = pd.concat(shown, ignore_index=True)
    only = base_cells.merge(new_cells, on=_KEY, how="outer", indicator=True)
    lonely = only[only["_merge"] != "both"].copy()
    lonely["verdict"] = np.where(lonely["_merge"] == "left_only", REMOVED, ADDED)
    lonely = lonely.drop(columns="_merge")
    parts = [cells_shown] + ([lonely] if len(lonely) else [])
    table = pd.concat(parts, ignore_index=True).sort_values(_KEY, ignore_index=True)

    notes = [
        f"{label} {side.path}: no rounds file; the comparison uses its summary columns (one median per cell)"
        for label, side in (("base", base), ("new", new))
        if side.source == "summary"
    ]
    disturbed = cells[(cells["base_outliers"] > 0) | (cells["new_outliers"] > 0)]
    if len(disturbed):
        named = [
            f"{cell_name(row)} ({row.base_outliers} base, {row.new_outliers} new)"
            for row in disturbed.head(5).itertuples()
        ]
        more = f" and {len(disturbed) - 5} more cells" if len(disturbed) > 5 else ""
        total = int(disturbed["base_outliers"].sum() + disturbed["new_outliers"].sum())
        notes.append(
            f"{total} disturbed batch(es) set aside, more than {OUTLIER_SDS:g} robust SDs from "
            f"their side's median: {', '.join(named)}{more}"
        )
    for label, side in (("base", base), ("new", new)):
        if side.set_aside:
            notes.append(
                f"{label} {side.path}: {side.set_aside} batch(es) measured while other processes took "
                "the CPU are left out; the same cells have undisturbed batches from the same run"
            )
        mine = side.disturbed_cells.merge(common, on=_KEY)
        if len(mine):
            named = ", ".join(cell_name(row) for row in mine.head(5).itertuples())
            more = f" and {len(mine) - 5} more" if len(mine) > 5 else ""
            notes.append(
                f"{label} {side.path} was measured while other processes took the CPU in "
                f"{len(mine)} cell(s): {named}{more}; shown as {DISTURBED}, never judged slower or faster"
            )
    if len(cells) and (cells["base_batches"].min() == 1 or cells["new_batches"].min() == 1):
        notes.append(
            f"one batch per cell on a side: its intervals rest on an assumed between-run spread of "
            f"{between_run_sd:.0%}, right only on a quiet machine (check it with python -m "
            "bench.aa); reports with several batches (pytest bench --batches, bench.gate) carry "
            "their own spread"
        )
    return Comparison(
        table=table,
        geomeans=geometric_means(cells),
        threshold=threshold,
        alpha=alpha,
        confidence=1 - 2 * alpha / family,
        warnings=_metadata_warnings(base, new),
        notes=notes,
    )


def geometric_means(cells: pd.DataFrame) -> pd.DataFrame:
    """Geometric mean of the ratios per kernel and over all cells ("all"), with verdict counts."""
    rows = []
    if cells.empty:  # nothing was judged: no ratio to average
        return pd.DataFrame(columns=["kernel", "cells", "geomean_ratio", SLOWER, FASTER, UNCHANGED])
    groups = [(kernel, group) for kernel, group in cells.groupby("kernel", sort=False)]
    for kernel, group in [*groups, ("all", cells)]:
        counts = group["verdict"].value_counts()
        rows.append(
            {
                "kernel": kernel,
                "cells": len(group),
                "geomean_ratio": float(stats.gmean(group["ratio"])) if len(group) else math.nan,
                SLOWER: int(counts.get(SLOWER, 0)),
                FASTER: int(counts.get(FASTER, 0)),
                UNCHANGED: int(counts.get(UNCHANGED, 0)),
            }
        )
    return pd.DataFrame(rows)


def _metadata_warnings(base: Report, new: Report) -> list[str]:
    ours, theirs = base.matched_metadata, new.matched_metadata
    differ = [
        f"{name} ({ours[name]} vs {theirs[name]})"
        for name in ours
        if name in theirs and ours[name] != theirs[name]
    ]
    if not differ:
        return []
    return ["the two runs differ in " + ", ".join(differ) + "; ratios mix the code change with the machine"]


def _check_fraction(name: str, value: float, upper: float | None) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise TypeError(f"{name} must be a finite number, got {value!r}")
    if value <= 0 or (upper is not None and value >= upper):
        bound = f"between 0 and {upper:g}" if upper is not None else "> 0"
        raise ValueError(f"{name} must be {bound} (exclusive), got {value!r}")


def compare_many(
    base: Report,
    news: list[Report],
    threshold: float = DEFAULT_THRESHOLD,
    alpha: float = DEFAULT_ALPHA,
    between_run_sd: float = BETWEEN_RUN_SD,
) -> list[Comparison]:
    """Each of ``news`` compared with ``base``, at ``alpha / len(news)`` each (Bonferroni across
    the columns), so that the chance of any false "slower" anywhere stays below ``alpha``."""
    if not news:
        raise ValueError("news must hold at least one report to compare with the base")
    level = alpha / len(news)
    return [compare(base, new, threshold, level, between_run_sd) for new in news]


def spread(report: Report) -> pd.DataFrame:
    """Per cell of ``report``: its time (geometric mean of batch medians), the spread of that time
    as a relative standard deviation, and its batches.

    The spread is the SD of the batches' log medians when there are several, else the within-run
    uncertainty of the one median: what a reader needs to judge a difference by eye.
    """
    grouped = report.batches.groupby(_KEY, sort=True)
    out = grouped.agg(
        log_mean=("log_median", "mean"),
        batches=("log_median", "size"),
        log_sd=("log_median", "std"),
        within=("within_var", "mean"),
    )
    relative = np.where(out["batches"] > 1, out["log_sd"], np.sqrt(out["within"]))
    return pd.DataFrame(
        {"time_s": np.exp(out["log_mean"]), "spread": np.expm1(relative), "batches": out["batches"]},
        index=out.index,
    ).reset_index()
