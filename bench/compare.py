"""Compare two benchmark reports cell by cell, with statistics that do not cry wolf.

``python -m bench.compare BASE.csv NEW.csv`` (or ``gd-compare``) prints, for every cell (kernel, n,
epochs) in both reports, the base and new time, the ratio new/base with a confidence interval, and a
verdict: ``slower``, ``faster`` or ``no significant change``. Exit status: 0 no regression, 1 at
least one cell slower, 2 bad input.

The statistics, and why:

* **The unit of replication is the batch, not the round.** Rounds timed in one process share the
  machine's state of that moment (frequency, cache and memory layout, neighbours' load), so their
  spread understates how much two runs differ. Each batch (one separate benchmark process; a plain
  report is one batch, ``bench.gate`` writes several) gives one number per cell: the median of its
  rounds. The analysis works on the logarithm of these batch medians, so ratios become differences
  and a cell's time is the geometric mean of its batch medians.
* **Between-run spread: a floor, and the batches' own spread above it.** The variance of the log
  batch medians is pooled over both reports (under "no change" both scatter alike). It is never
  taken below a floor: an assumed between-run spread, ``BETWEEN_RUN_SD``, plus the within-batch
  uncertainty of the medians; at the floor the interval counts ``FLOOR_DF`` degrees of freedom (the
  floor was measured with ``python -m bench.aa``, see ``BETWEEN_RUN_SD``). Above the floor, each
  cell's variance from its batches is shrunk toward the other cells' (empirical Bayes, Smyth's
  moderated t), which lends the few batches of one cell the degrees of freedom of the whole table
  where the cells agree, and leaves a noisy cell its wide interval rather than a false alarm. With
  one batch per report there is no data on between-run spread and the floor is all there is: such
  comparisons are only as trustworthy as the floor is true for the machine; ``bench.gate`` measures
  several batches.
* **A disturbed batch is set aside.** On a shared machine one process now and then runs while a
  neighbour takes a core: a parallel kernel then waits for its threads and one batch of one cell
  comes out many times slower (569 times, once, in results/aa-15-batches). Kept, such a batch
  inflates the cell's variance until no change there can be seen. With at least
  ``OUTLIER_MIN_BATCHES`` batches on a side, a batch whose log median is more than
  ``OUTLIER_SDS`` robust standard deviations (1.4826 · MAD of the cell's batches on both sides,
  each from its own side's median, but never less than the between-run floor) from its side's
  median is left out, and counted in the table (``base_outliers``, ``new_outliers``) and in a
  note. Both sides alike, and only gross departures: at the floor nothing within a factor
  exp(5 · 8%) = 1.49 of the side's median is touched, and in simulated normal scatter far above
  the floor (tests) fewer than one batch in a thousand is set aside, so the variance is not
  understated.
* **A change counts only when significant and large.** Each cell is tested with a Student t
  statistic on the difference of mean log medians, one-sided in each direction at level alpha/m
  over the m cells in common (Bonferroni): the chance that unchanged code gets any ``slower``
  verdict in the whole table, which is what the exit status rests on, stays below alpha, and so
  does the chance of any false ``faster``. One-sided because a regression gate asks one question
  per cell, "is it slower?"; a two-sided test would spend half of alpha on speedups it never
  reports as regressions, and lose power (measured in ``bench.aa``) for nothing. The interval
  shown has these one-sided bounds as its ends, so its level is 1 - 2·alpha/m. Holm's step-down
  would name more cells when many changed, but its first step is Bonferroni's, so whether the
  table has any regression is the same; Bonferroni keeps every interval consistent with its
  verdict. A cell is ``slower`` when its interval lies above 1 and the ratio is at least
  1 + threshold; ``faster`` when the interval lies below 1 and the ratio is at most
  1 / (1 + threshold) (symmetric: comparing A with B and B with A swaps the two verdicts).
  Anything else is ``no significant change``.
"""

from __future__ import annotations

import argparse
import functools
import math
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import special, stats

from bench import report
from bench.formatting import format_seconds
from bench.scaling import PROBE_KERNELS
from impls.cli import OneLineParser

#: Smallest relative change reported as a change (10%).
DEFAULT_THRESHOLD = 0.10
#: Family-wise false-alarm rate per direction: the chance that a comparison of unchanged code flags
#: any cell slower (and, apart, the chance that it flags any cell faster).
DEFAULT_ALPHA = 0.05
#: Standard deviation of the log of one run's median of a cell between runs of unchanged code, beyond
#: the within-run uncertainty of that median: the floor of the between-run spread, all there is to go
#: on when a report has a single batch. Chosen from the committed A/A run (results/aa): of its 50
#: single-batch pairs, a floor of 4% flagged 21, 6% 10, 7% 5, 8% 3 and 10% 2
#: (results/aa/batching_study.txt). 8% keeps the single-batch false-alarm rate near alpha (3 of 50
#: is consistent with 5%). With the gate's 15 batches a side it still sets the width of an interval
#: where the batches agree more closely (about +-9%: 10% at the edge of what is flagged, 30% well
#: within it). Measured on one machine class, with the same runs that judge it: check yours with
#: ``python -m bench.aa``.
BETWEEN_RUN_SD = 0.08
#: A batch further than this many robust standard deviations from its side's median of the same
#: cell is set aside as disturbed (see the module docstring).
OUTLIER_SDS = 5.0
#: Fewest batches of a cell on one side for outliers to be sought. Below it a median and a MAD say
#: too little about what is ordinary: with 5 batches a side the MAD runs low, ordinary batches get
#: cut, and the simulated false-alarm rate on a loaded machine rose above alpha (tests); from 10 it
#: did not.
OUTLIER_MIN_BATCHES = 10
#: MAD of a normal sample over its standard deviation, inverted.
_MAD_TO_SD = 1.4826
#: Degrees of freedom of an interval whose spread is the floor: a measured figure is worth many,
#: unlike an estimate from the few batches at hand.
FLOOR_DF = 30

CELL = ["kernel", "n", "epochs"]
#: Columns a summary report must have; anything else (metadata, later additions) is optional.
REQUIRED_COLUMNS = ("kernel", "n", "epochs", "median_s")
ROUNDS_COLUMNS = ("kernel", "n", "epochs", "seconds")
#: Run metadata whose difference between two reports makes their ratios mix code and machine
#: changes.
MATCHED_METADATA = ("host", "cpu_model", "python_version", "numpy_version", "numba_version")

SLOWER, FASTER, UNCHANGED = "slower", "faster", "no significant change"
ADDED, REMOVED = "added", "removed"
#: The verdict of a probe's cell (``stream``): it measures the machine, not the code, so a change in it
#: is drift, never a regression; it is shown, and left out of the table's false-alarm control.
PROBE = "probe, not judged"

#: Asymptotic variance of a sample median relative to the mean's, for normal data: pi/2.
_MEDIAN_EFFICIENCY = math.pi / 2
#: IQR of a standard normal distribution.
_NORMAL_IQR = 1.3489795003921634


@dataclass(frozen=True)
class Report:
    """A report reduced to what the comparison needs.

    ``batches`` has one row per (kernel, n, epochs, batch): ``log_median`` (natural log of the
    median seconds of that batch's rounds), ``within_var`` (variance of that log median from the
    spread of its rounds) and ``rounds``. ``source`` says where they came from: "rounds" (the
    ``.rounds.csv`` beside the report) or "summary" (its median_s / iqr_s / rounds columns, when no
    rounds file exists).
    """

    path: Path
    batches: pd.DataFrame
    metadata: dict[str, str]
    source: str


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


# --------------------------------------------------------------------------------------------------
# Reading


def read_report(path: str | Path) -> Report:
    """Read a summary report and, when it exists, its rounds file; ReportError on bad input."""
    path = Path(path)
    summary = report.read_table(path)
    missing = [c for c in REQUIRED_COLUMNS if c not in summary.columns]
    if len(missing) == len(REQUIRED_COLUMNS):
        raise report.ReportError(
            f"{path} is not a benchmark report (none of the columns {', '.join(missing)})"
        )
    if missing:
        hint = ""
        if set(ROUNDS_COLUMNS) <= set(summary.columns):
            hint = "; it looks like a rounds file: pass the summary report beside it"
        raise report.ReportError(f"{path} is missing column(s) {', '.join(missing)}{hint}")
    summary = _clean_cells(summary, path, "median_s")
    if summary.duplicated(CELL).any():
        row = summary[summary.duplicated(CELL)].iloc[0]
        raise report.ReportError(f"{path} has cell {_cell_name(row)} twice")

    extra = report.rounds_path(path) if path.suffix == report.SUFFIX else None
    if extra is not None and extra.exists():
        rounds = _read_rounds(extra)
        _check_rounds_match(summary, rounds, path, extra)
        batches = _batches_from_rounds(rounds, extra)
        # A cell the rounds file lacks still counts, from its summary line.
        absent = summary.merge(batches[CELL].drop_duplicates(), on=CELL, how="left", indicator=True)
        absent = absent[absent["_merge"] == "left_only"].drop(columns="_merge")
        if len(absent):
            batches = pd.concat([batches, _batches_from_summary(absent)], ignore_index=True)
        batches = batches.merge(summary[CELL], on=CELL)  # cells of the summary only
        source = "rounds"
    else:
        batches = _batches_from_summary(summary)
        source = "summary"
    metadata = {
        name: str(summary[name].iloc[0]) for name in MATCHED_METADATA if name in summary.columns
    }
    return Report(path=path, batches=batches, metadata=metadata, source=source)


def _read_rounds(path: Path) -> pd.DataFrame:
    frame = report.read_table(path)
    missing = [c for c in ROUNDS_COLUMNS if c not in frame.columns]
    if missing:
        raise report.ReportError(f"rounds file {path} is missing column(s) {', '.join(missing)}")
    frame = _clean_cells(frame, path, "seconds")
    if "batch" not in frame.columns:
        frame = frame.assign(batch=0)
    return frame


def _check_rounds_match(summary: pd.DataFrame, rounds: pd.DataFrame, path: Path, extra: Path) -> None:
    """ReportError when the rounds file beside a report is not that report's (say, a stale copy).

    A report's ``median_s`` is the median of its cell's rounds (all batches pooled), so the two files
    must agree on it for every cell they share; otherwise the comparison would silently judge other
    timings than the report shows.
    """
    medians = rounds.groupby(CELL)["seconds"].median().rename("rounds_median")
    both = summary.set_index(CELL)[["median_s"]].join(medians, how="inner")
    if both.empty and len(rounds):
        raise report.ReportError(f"{extra} does not match {path}: no cell in common")
    off = ~np.isclose(both["median_s"], both["rounds_median"], rtol=1e-6, atol=0.0)
    if off.any():
        cell = both.index[np.flatnonzero(off)[0]]
        row = both.loc[cell]
        raise report.ReportError(
            f"{extra} does not match {path}: {cell[0]} n={cell[1]} epochs={cell[2]} has median "
            f"{row['rounds_median']:.6g} s in the rounds but {row['median_s']:.6g} s in the report "
            "(a stale rounds file?)"
        )


def _clean_cells(frame: pd.DataFrame, path: Path, time_column: str) -> pd.DataFrame:
    """Cell keys as str/int and a positive finite time column, or ReportError naming the bad row."""
    frame = frame.copy()
    frame["kernel"] = frame["kernel"].astype(str)
    for column in ("n", "epochs", time_column):
        values = pd.to_numeric(frame[column], errors="coerce")
        bad = values.isna() | ~np.isfinite(values)
        if column != time_column:
            bad |= values != values.round()
        if time_column == column:
            bad |= values <= 0
        if bad.any():
            i = int(np.flatnonzero(bad.to_numpy())[0])
            raise report.ReportError(
                f"{path}: column {column} has a bad value {frame[column].iloc[i]!r} "
                f"on data row {i + 1}"
            )
        frame[column] = values.astype("int64") if column != time_column else values.astype(float)
    return frame


def _batches_from_rounds(rounds: pd.DataFrame, path: Path) -> pd.DataFrame:
    """One row per (cell, batch) from raw rounds: log median and its within-batch variance."""
    logs = rounds.assign(log_s=np.log(rounds["seconds"]))
    grouped = logs.groupby([*CELL, "batch"], sort=True)["log_s"]
    out = grouped.agg(
        log_median="median",
        rounds="size",
        q1=lambda s: s.quantile(0.25),
        q3=lambda s: s.quantile(0.75),
    ).reset_index()
    out["within_var"] = _median_variance(out["q3"] - out["q1"], out["rounds"])
    return out[[*CELL, "batch", "log_median", "within_var", "rounds"]]


def _batches_from_summary(summary: pd.DataFrame) -> pd.DataFrame:
    """One batch per cell from the summary columns: median_s, and iqr_s and rounds when present."""
    median = summary["median_s"].astype(float)
    if "iqr_s" in summary.columns and "rounds" in summary.columns:
        rounds = pd.to_numeric(summary["rounds"], errors="coerce").fillna(1).clip(lower=1)
        # For a narrow spread, the IQR of log times is the IQR of times over the median.
        log_iqr = pd.to_numeric(summary["iqr_s"], errors="coerce").fillna(0.0) / median
    else:
        rounds = pd.Series(1, index=summary.index)
        log_iqr = pd.Series(0.0, index=summary.index)
    out = summary[CELL].copy()
    out["batch"] = 0
    out["log_median"] = np.log(median)
    out["within_var"] = _median_variance(log_iqr, rounds)
    out["rounds"] = rounds.astype("int64")
    return out.reset_index(drop=True)


def _median_variance(log_iqr: pd.Series, rounds: pd.Series) -> pd.Series:
    """Variance of a median of ``rounds`` values whose IQR is ``log_iqr`` (normal approximation)."""
    sigma = log_iqr.astype(float) / _NORMAL_IQR
    return (_MEDIAN_EFFICIENCY * sigma**2 / rounds.astype(float)).where(rounds > 1, 0.0)


# --------------------------------------------------------------------------------------------------
# Computing


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
    base_cells = base.batches[CELL].drop_duplicates()
    new_cells = new.batches[CELL].drop_duplicates()
    common = base_cells.merge(new_cells, on=CELL)
    if common.empty:
        raise report.ReportError(f"{base.path} and {new.path} have no cell (kernel, n, epochs) in common")

    judged = common[~common["kernel"].isin(PROBE_KERNELS)]
    if judged.empty:
        raise report.ReportError(
            f"{base.path} and {new.path} have only probe cells ({', '.join(PROBE_KERNELS)}) in common"
        )
    statistics = functools.partial(
        cell_statistics, threshold=threshold, between_run_sd=between_run_sd, floor_df=floor_df
    )
    cells = statistics(
        base.batches.merge(judged, on=CELL), new.batches.merge(judged, on=CELL), alpha=alpha
    )
    probes = common[common["kernel"].isin(PROBE_KERNELS)]
    if len(probes):
        # Same interval as a kernel cell's, at the same simultaneous level, for reading machine drift.
        probe_cells = statistics(
            base.batches.merge(probes, on=CELL),
            new.batches.merge(probes, on=CELL),
            alpha=alpha * len(probes) / len(cells),
        ).assign(verdict=PROBE, smallest_slower=np.nan)
        cells_shown = pd.concat([cells, probe_cells], ignore_index=True)
    else:
        cells_shown = cells
    only = base_cells.merge(new_cells, on=CELL, how="outer", indicator=True)
    lonely = only[only["_merge"] != "both"].copy()
    lonely["verdict"] = np.where(lonely["_merge"] == "left_only", REMOVED, ADDED)
    lonely = lonely.drop(columns="_merge")
    parts = [cells_shown] + ([lonely] if len(lonely) else [])
    table = pd.concat(parts, ignore_index=True).sort_values(CELL, ignore_index=True)

    notes = [
        f"{label} {side.path}: no rounds file; the comparison uses its summary columns "
        "(one median per cell)"
        for label, side in (("base", base), ("new", new))
        if side.source == "summary"
    ]
    disturbed = cells[(cells["base_outliers"] > 0) | (cells["new_outliers"] > 0)]
    if len(disturbed):
        named = [
            f"{_cell_name(row)} ({row.base_outliers} base, {row.new_outliers} new)"
            for row in disturbed.head(5).itertuples()
        ]
        more = f" and {len(disturbed) - 5} more cells" if len(disturbed) > 5 else ""
        total = int(disturbed["base_outliers"].sum() + disturbed["new_outliers"].sum())
        notes.append(
            f"{total} disturbed batch(es) set aside, more than {OUTLIER_SDS:g} robust SDs from "
            f"their side's median: {', '.join(named)}{more}"
        )
    if cells["base_batches"].max() == 1 and cells["new_batches"].max() == 1:
        notes.append(
            f"one batch per report: the intervals rest on an assumed between-run spread of "
            f"{between_run_sd:.0%}, right only on a quiet machine (check it with python -m "
            "bench.aa); python -m bench.gate measures several batches and sees the real spread"
        )
    return Comparison(
        table=table,
        geomeans=geometric_means(cells),
        threshold=threshold,
        alpha=alpha,
        confidence=1 - 2 * alpha / len(cells),
        warnings=_metadata_warnings(base, new),
        notes=notes,
    )


def cell_statistics(
    base: pd.DataFrame,
    new: pd.DataFrame,
    threshold: float = DEFAULT_THRESHOLD,
    alpha: float = DEFAULT_ALPHA,
    between_run_sd: float = BETWEEN_RUN_SD,
    floor_df: float = FLOOR_DF,
) -> pd.DataFrame:
    """Ratio, simultaneous interval, p-value and verdict per cell from per-batch log medians.

    ``base`` and ``new`` have one row per (kernel, n, epochs, batch) with ``log_median``,
    ``within_var`` and ``rounds``, for the same cells. See the module docstring for the method.
    """
    side = {}
    split = set_aside_outliers(base, new, between_run_sd)
    for label, (frame, outliers) in zip(("base", "new"), split, strict=True):
        grouped = frame.groupby(CELL, sort=True)
        summary = grouped.agg(
            mean=("log_median", "mean"),
            batches=("log_median", "size"),
            within=("within_var", "mean"),
            rounds=("rounds", "sum"),
        )
        deviations = frame["log_median"] - grouped["log_median"].transform("mean")
        summary["ss"] = (deviations**2).groupby([frame[c] for c in CELL]).sum()
        summary["outliers"] = (
            outliers.groupby(CELL).size().reindex(summary.index, fill_value=0).astype("int64")
        )
        side[label] = summary
    b, w = side["base"], side["new"]
    cells = b.index

    # Under "no change" both runs scatter alike: pool their sums of squares. Rounds within a run
    # understate the spread between runs, so the variance never goes below the floor (assumed
    # between-run spread plus the medians' own within-run uncertainty); batches scattering more than
    # that speak for themselves, with their own degrees of freedom.
    floor = between_run_sd**2 + (b["within"] + w["within"]) / 2
    data_df = b["batches"] + w["batches"] - 2
    observed = (b["ss"] + w["ss"]) / data_df.where(data_df > 0)
    # A handful of batches estimates a cell's variance poorly (its t has few degrees of freedom
    # and a wide interval). The table's other cells say what variances look like here: shrink each
    # cell's variance toward theirs (empirical Bayes, Smyth's moderated t), which gains degrees of
    # freedom where the cells agree and changes little where they scatter widely.
    moderated, df = _moderate(observed, data_df)
    above = moderated > floor  # False where there is no data (NaN)
    var = moderated.where(above, floor)
    df = df.where(above, floor_df).astype(float)
    se = np.sqrt(var * (1 / b["batches"] + 1 / w["batches"]))
    diff = w["mean"] - b["mean"]
    t_stat = diff / se
    # One-sided in the direction observed: each direction is its own family at level alpha.
    p_value = stats.t.sf(np.abs(t_stat), df)
    m = len(cells)
    t_crit = stats.t.ppf(1 - alpha / m, df)
    significant = p_value < alpha / m
    big = math.log1p(threshold)
    verdict = np.where(
        significant & (diff >= big),
        SLOWER,
        np.where(significant & (diff <= -big), FASTER, UNCHANGED),
    )
    out = pd.DataFrame(
        {
            "verdict": verdict,
            "base_s": np.exp(b["mean"]),
            "new_s": np.exp(w["mean"]),
            "ratio": np.exp(diff),
            "ci_low": np.exp(diff - t_crit * se),
            "ci_high": np.exp(diff + t_crit * se),
            "p_value": p_value,
            "significant": significant,
            # The verdict's two conditions, solved for the ratio: the least slowdown this cell's
            # spread lets it call "slower" (its resolution).
            "smallest_slower": np.exp(np.maximum(big, t_crit * se)),
            "base_batches": b["batches"],
            "new_batches": w["batches"],
            "base_rounds": b["rounds"],
            "new_rounds": w["rounds"],
            "base_outliers": b["outliers"],
            "new_outliers": w["outliers"],
        },
        index=cells,
    )
    return out.reset_index()


def set_aside_outliers(
    base: pd.DataFrame, new: pd.DataFrame, between_run_sd: float = BETWEEN_RUN_SD
) -> tuple[tuple[pd.DataFrame, pd.DataFrame], tuple[pd.DataFrame, pd.DataFrame]]:
    """Split each side's per-batch rows into (kept, outliers); see the module docstring.

    A batch is an outlier when its side has at least ``OUTLIER_MIN_BATCHES`` batches of its cell
    and its log median is more than ``OUTLIER_SDS`` times the cell's scale from the median of them.
    The scale is max(1.4826 · MAD, ``between_run_sd``), the MAD taken over both sides' absolute
    deviations from their own medians: twice the batches of one side, so a cell whose few batches
    happen to agree closely does not get a scale small enough to cut into its ordinary scatter.
    Where half a side's batches of a cell or more would be outliers, none are: every cell keeps most
    of its batches, and a side split in two is not cut down to one of its halves.
    """
    deviations = []
    for frame in (base, new):
        log_median = frame["log_median"]
        centre = log_median.groupby([frame[c] for c in CELL]).transform("median")
        deviations.append((log_median - centre).abs())
    both = pd.concat(
        [frame[CELL].assign(deviation=d) for frame, d in zip((base, new), deviations, strict=True)]
    )
    mad = both.groupby(CELL)["deviation"].median().rename("mad")
    result = []
    for frame, deviation in zip((base, new), deviations, strict=True):
        scale = np.maximum(_MAD_TO_SD * frame[CELL].join(mad, on=CELL)["mad"], between_run_sd)
        count = frame.groupby(CELL)["log_median"].transform("size")
        outlier = (count >= OUTLIER_MIN_BATCHES) & (deviation > OUTLIER_SDS * scale)
        # A side whose batches split into two far-apart groups is not "mostly ordinary": keep it all.
        outlier &= 2 * outlier.groupby([frame[c] for c in CELL]).transform("sum") < count
        result.append((frame[~outlier], frame[outlier]))
    return result[0], result[1]


def _moderate(variance: pd.Series, df: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Each cell's variance shrunk toward a prior fitted to all cells, and its degrees of freedom.

    The prior is a scaled inverse chi-square (s0², d0) fitted by moments of log variances (Smyth,
    2004, "Linear models and empirical Bayes methods", eqs. 5-6); the posterior variance is
    ``(d0·s0² + d·s²) / (d0 + d)`` with ``d0 + d`` degrees of freedom. With fewer than three cells
    with data, or variances more scattered than the prior allows, the cells keep their own.
    """
    usable = (df > 0) & (variance > 0)
    if usable.sum() < 3:
        return variance, df.astype(float)
    d = df[usable].astype(float)
    e = np.log(variance[usable]) - special.digamma(d / 2) + np.log(d / 2)
    excess = float(e.var(ddof=1) - special.polygamma(1, d / 2).mean())
    # No more scatter than sampling explains: in effect one common variance (d0 very large).
    d0 = 1e6 if excess <= 0 else 2 * _trigamma_inverse(excess)
    s0 = float(np.exp(e.mean() + special.digamma(d0 / 2) - np.log(d0 / 2)))
    moderated = variance.copy()
    moderated[usable] = (d0 * s0 + d * variance[usable]) / (d0 + d)
    total = df.astype(float).copy()
    total[usable] = d0 + d
    return moderated, total


def _trigamma_inverse(value: float) -> float:
    """y with trigamma(y) = value, by Newton's method as in limma's ``trigammaInverse``."""
    if value > 1e7:
        return 1 / math.sqrt(value)
    if value < 1e-6:
        return 1 / value
    y = 0.5 + 1 / value
    for _ in range(50):
        tri = float(special.polygamma(1, y))
        step = tri * (1 - tri / value) / float(special.polygamma(2, y))
        y += step
        if -step / y < 1e-8:
            break
    return y


def geometric_means(cells: pd.DataFrame) -> pd.DataFrame:
    """Geometric mean of the ratios per kernel and over all cells ("all"), with verdict counts."""
    rows = []
    groups = [(kernel, group) for kernel, group in cells.groupby("kernel", sort=False)]
    for kernel, group in [*groups, ("all", cells)]:
        counts = group["verdict"].value_counts()
        rows.append(
            {
                "kernel": kernel,
                "cells": len(group),
                "geomean_ratio": float(np.exp(np.log(group["ratio"]).mean())),
                SLOWER: int(counts.get(SLOWER, 0)),
                FASTER: int(counts.get(FASTER, 0)),
                UNCHANGED: int(counts.get(UNCHANGED, 0)),
            }
        )
    return pd.DataFrame(rows)


def _metadata_warnings(base: Report, new: Report) -> list[str]:
    differ = [
        f"{name} ({base.metadata[name]} vs {new.metadata[name]})"
        for name in MATCHED_METADATA
        if name in base.metadata
        and name in new.metadata
        and base.metadata[name] != new.metadata[name]
    ]
    if not differ:
        return []
    return [
        "the two runs differ in "
        + ", ".join(differ)
        + "; ratios mix the code change with the machine"
    ]


def _check_fraction(name: str, value: float, upper: float | None) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise TypeError(f"{name} must be a finite number, got {value!r}")
    if value <= 0 or (upper is not None and value >= upper):
        bound = f"between 0 and {upper:g}" if upper is not None else "> 0"
        raise ValueError(f"{name} must be {bound} (exclusive), got {value!r}")


# --------------------------------------------------------------------------------------------------
# Rendering


def regression_lines(comparison: Comparison) -> list[str]:
    """One line per regression: kernel, n, epochs, ratio and interval."""
    return [
        f"regression: {_cell_name(row)}: {row.ratio:.2f}x slower "
        f"(interval {row.ci_low:.2f}-{row.ci_high:.2f})"
        for row in comparison.regressions.itertuples()
    ]


def summary_line(comparison: Comparison) -> str:
    """Verdict counts and the rules behind them, in one sentence."""
    counts = comparison.table["verdict"].value_counts()
    parts = [f"{counts.get(v, 0)} {v}" for v in (SLOWER, FASTER, UNCHANGED)]
    parts += [f"{counts[v]} {v}" for v in (PROBE, ADDED, REMOVED) if counts.get(v, 0)]
    compared = int(comparison.table["verdict"].isin([SLOWER, FASTER, UNCHANGED]).sum())
    return (
        f"{', '.join(parts)} (a change counts when it is at least {comparison.threshold:.0%} "
        f"and its {comparison.confidence:.2%} interval excludes 1; family-wise false-alarm rate "
        f"{comparison.alpha:g} per direction over {compared} cells)"
    )


def resolution_line(comparison: Comparison) -> str:
    """How large a slowdown must be to be flagged: median over the judged cells, and the worst."""
    judged = comparison.table[comparison.table["verdict"].isin([SLOWER, FASTER, UNCHANGED])]
    worst = judged.loc[judged["smallest_slower"].idxmax()]
    return (
        f"resolution: a cell is called slower from {judged['smallest_slower'].median():.2f}x "
        f"(median over cells) to {worst.smallest_slower:.2f}x ({_cell_name(worst)}, the "
        "widest spread)"
    )


def _table_rows(comparison: Comparison) -> tuple[list[str], list[list[str]]]:
    header = ["kernel", "n", "epochs", "base", "new", "ratio", "interval", "verdict"]
    rows = []
    for row in comparison.table.itertuples():
        if row.verdict in (ADDED, REMOVED):
            rows.append([row.kernel, str(row.n), str(row.epochs), "", "", "", "", row.verdict])
            continue
        rows.append(
            [
                row.kernel,
                str(row.n),
                str(row.epochs),
                format_seconds(row.base_s),
                format_seconds(row.new_s),
                f"{row.ratio:.2f}x",
                f"{row.ci_low:.2f}-{row.ci_high:.2f}",
                row.verdict,
            ]
        )
    return header, rows


def _geomean_rows(comparison: Comparison) -> tuple[list[str], list[list[str]]]:
    header = ["kernel", "cells", "geometric mean ratio", SLOWER, FASTER, UNCHANGED]
    rows = [
        [
            row["kernel"],
            str(row["cells"]),
            f"{row['geomean_ratio']:.2f}x",
            str(row[SLOWER]),
            str(row[FASTER]),
            str(row[UNCHANGED]),
        ]
        for _, row in comparison.geomeans.iterrows()
    ]
    return header, rows


def render_text(comparison: Comparison) -> str:
    """A plain terminal table, then geometric means, notes, warnings and regressions."""
    lines = [f"warning: {w}" for w in comparison.warnings]
    lines += [f"note: {n}" for n in comparison.notes]
    if lines:
        lines.append("")
    lines += _aligned(*_table_rows(comparison), numeric={1, 2, 3, 4, 5})
    lines += ["", *_aligned(*_geomean_rows(comparison), numeric={1, 2, 3, 4, 5})]
    lines += ["", summary_line(comparison), resolution_line(comparison)]
    lines += regression_lines(comparison)
    return "\n".join(lines) + "\n"


def render_markdown(comparison: Comparison) -> str:
    """GitHub-flavoured Markdown for a pull-request comment or a CI job summary."""
    regressions = len(comparison.regressions)
    title = f"{regressions} regression(s)" if regressions else "no regression"
    lines = [f"### Benchmark comparison: {title}", ""]
    for warning in comparison.warnings:
        lines.append(f"> **Warning:** {warning}")
    for note in comparison.notes:
        lines.append(f"> Note: {note}")
    if comparison.warnings or comparison.notes:
        lines.append("")
    header, rows = _table_rows(comparison)
    rows = [[*r[:-1], f"**{r[-1]}**" if r[-1] in (SLOWER, FASTER) else r[-1]] for r in rows]
    lines += [*_markdown_table(header, rows, right={1, 2, 3, 4, 5}), ""]
    lines += [*_markdown_table(*_geomean_rows(comparison), right={1, 2, 3, 4, 5}), ""]
    lines += [summary_line(comparison), "", resolution_line(comparison)]
    if regressions:
        lines.append("")
        lines += [f"- {line}" for line in regression_lines(comparison)]
    return "\n".join(lines) + "\n"


def render_csv(comparison: Comparison) -> str:
    """The tidy verdict table as CSV, one row per cell."""
    return comparison.table.to_csv(index=False)


RENDERERS = {"text": render_text, "markdown": render_markdown, "csv": render_csv}


def _aligned(header: list[str], rows: list[list[str]], numeric: set[int]) -> list[str]:
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]

    def line(cells: list[str]) -> str:
        return "  ".join(
            c.rjust(widths[i]) if i in numeric else c.ljust(widths[i]) for i, c in enumerate(cells)
        ).rstrip()

    return [line(header), line(["-" * w for w in widths]), *(line(r) for r in rows)]


def _markdown_table(header: list[str], rows: list[list[str]], right: set[int]) -> list[str]:
    rule = ["---:" if i in right else "---" for i in range(len(header))]
    return ["| " + " | ".join(r) + " |" for r in [header, rule, *rows]]


def _cell_name(row) -> str:
    return f"{row.kernel} n={row.n} epochs={row.epochs}"


# --------------------------------------------------------------------------------------------------
# Command line




def add_decision_options(parser: argparse.ArgumentParser) -> None:
    """The options that decide verdicts, shared by ``bench.compare`` and ``bench.gate``."""
    parser.add_argument(
        "--threshold",
        type=float,
        default=DEFAULT_THRESHOLD,
        help=f"smallest relative change that counts (default: {DEFAULT_THRESHOLD})",
    )
    parser.add_argument(
        "--alpha",
        type=float,
        default=DEFAULT_ALPHA,
        help="family-wise false-alarm rate over the whole table, per direction: the chance that "
        "unchanged code gets any 'slower' verdict (default: %(default)s)",
    )
    parser.add_argument(
        "--between-run-sd",
        type=float,
        default=BETWEEN_RUN_SD,
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
        "base", help="the baseline report (CSV; its .rounds.csv is used if present)"
    )
    parser.add_argument("new", help="the report to judge against it")
    add_decision_options(parser)
    parser.add_argument(
        "--format", choices=sorted(RENDERERS), default="text", help="output format (default: text)"
    )
    return parser


def exit_status(comparison: Comparison) -> int:
    """1 when any cell is slower, else 0."""
    return 1 if len(comparison.regressions) else 0


def emit(comparison: Comparison, fmt: str) -> None:
    """Print ``comparison`` in format ``fmt``; with csv, notes and regressions go to stderr."""
    sys.stdout.write(RENDERERS[fmt](comparison))
    if fmt == "csv":
        side = [f"warning: {w}" for w in comparison.warnings]
        side += [f"note: {n}" for n in comparison.notes]
        side += regression_lines(comparison)
        for line in side:
            print(line, file=sys.stderr)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        comparison = compare(
            read_report(args.base),
            read_report(args.new),
            threshold=args.threshold,
            alpha=args.alpha,
            between_run_sd=args.between_run_sd,
        )
    except (report.ReportError, TypeError, ValueError) as exc:
        print(f"{parser.prog}: error: {exc}", file=sys.stderr)
        return 2
    emit(comparison, args.format)
    return exit_status(comparison)


if __name__ == "__main__":
    sys.exit(main())
