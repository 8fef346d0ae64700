"""The per-cell statistics behind every comparison: from per-batch log medians of two sides to a
ratio, a simultaneous interval, a p-value and a verdict per cell (the method: docs/comparing.md).

NumPy throughout, over integer cell codes: ``bench.compare``, ``bench.aa`` and ``bench.history`` run
it thousands of times.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy import special, stats

from bench.reports.schema import CELL

_KEY = list(CELL)
#: A normal sample's standard deviation over its median absolute deviation (1.4826). The deviations
#: are taken from each side's own median before they are pooled, so scipy's
#: ``median_abs_deviation``, which re-centres its input, does not apply; its "normal" scale does.
_MAD_TO_SD = 1 / float(stats.norm.ppf(0.75))

#: Smallest relative change reported as a change (10%).
DEFAULT_THRESHOLD = 0.10
#: Family-wise false-alarm rate per direction: the chance that a comparison of unchanged code flags
#: any cell slower (and, apart, the chance that it flags any cell faster).
DEFAULT_ALPHA = 0.05
#: Standard deviation of the log of one run's median of a cell between runs of unchanged code, beyond
#: the within-run uncertainty of that median: all there is to go on when a side has a single batch
#: (with several, their own scatter is used). Chosen from the committed A/A evidence so that single-batch
#: comparisons keep their false-alarm rate near alpha (docs/comparing.md); measured on one machine
#: class: check yours with ``python -m bench.aa``.
BETWEEN_RUN_SD = 0.08
#: A batch further than this many robust standard deviations from its side's median of the same
#: cell is set aside as disturbed (see the module docstring).
OUTLIER_SDS = 5.0
#: Fewest batches of a cell on one side for outliers to be sought. Below it a median and a MAD say
#: too little about what is ordinary: the MAD runs low and ordinary batches get cut.
OUTLIER_MIN_BATCHES = 10
#: Degrees of freedom of an interval whose spread is the floor: a measured figure is worth many,
#: unlike an estimate from the few batches at hand.
FLOOR_DF = 30


SLOWER, FASTER, UNCHANGED = "slower", "faster", "no significant change"


#: The columns ``cell_statistics`` returns after the cell key.
_STATISTICS_COLUMNS = (
    "verdict",
    "base_s",
    "new_s",
    "ratio",
    "ci_low",
    "ci_high",
    "p_value",
    "significant",
    "smallest_slower",
    "base_batches",
    "new_batches",
    "base_rounds",
    "new_rounds",
    "base_outliers",
    "new_outliers",
)


def cell_statistics(
    base: pd.DataFrame,
    new: pd.DataFrame,
    threshold: float = DEFAULT_THRESHOLD,
    alpha: float = DEFAULT_ALPHA,
    between_run_sd: float = BETWEEN_RUN_SD,
    floor_df: float = FLOOR_DF,
    always_floor: bool = False,
) -> pd.DataFrame:
    """Ratio, simultaneous interval, p-value and verdict per cell from per-batch log medians.

    ``base`` and ``new`` have one row per (kernel, n, epochs, batch) with ``log_median``,
    ``within_var`` and ``rounds``, for the same cells. The variance never goes below
    ``between_run_sd`` where a side has a single batch, or everywhere with ``always_floor``. See
    docs/comparing.md for the method.
    """
    if base.empty or new.empty:
        return pd.DataFrame(columns=[*_KEY, *_STATISTICS_COLUMNS])
    # Cells are numbered once and every per-cell sum is a bincount over those integer codes, in
    # NumPy: the comparison runs thousands of times in A/A analyses, history scans and simulations.
    cells, codes = _cell_codes(base, new)
    m = len(cells)
    side = {}
    masks = _outlier_masks(base, new, codes, m, between_run_sd)
    for label, frame, code, outlier in zip(("base", "new"), (base, new), codes, masks, strict=True):
        kept = code[~outlier]
        x = frame["log_median"].to_numpy(dtype=float)[~outlier]
        batches = np.bincount(kept, minlength=m)
        mean = np.bincount(kept, weights=x, minlength=m) / batches
        side[label] = {
            "mean": mean,
            "batches": batches,
            "within": np.bincount(kept, weights=frame["within_var"].to_numpy(float)[~outlier], minlength=m)
            / batches,
            "rounds": np.bincount(kept, weights=frame["rounds"].to_numpy(float)[~outlier], minlength=m),
            "ss": np.bincount(kept, weights=(x - mean[kept]) ** 2, minlength=m),
            "outliers": np.bincount(code[outlier], minlength=m),
        }
    b, w = side["base"], side["new"]

    # Under "no change" both runs scatter alike: pool their sums of squares. A side with one batch
    # says nothing of how much runs differ (rounds within a process understate it), so there the
    # variance never goes below an assumed between-run spread; with batches on both sides, each a
    # process of its own, their scatter is that spread, measured. Below both lies the medians' own
    # within-batch uncertainty.
    single = (b["batches"] < 2) | (w["batches"] < 2) | always_floor
    floor = np.where(single, between_run_sd**2, 0.0) + (b["within"] + w["within"]) / 2
    data_df = (b["batches"] + w["batches"] - 2).astype(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        observed = (b["ss"] + w["ss"]) / np.where(data_df > 0, data_df, np.nan)
    # A handful of batches estimates a cell's variance poorly (its t has few degrees of freedom
    # and a wide interval). The table's other cells say what variances look like here: shrink each
    # cell's variance toward theirs (empirical Bayes, Smyth's moderated t), which gains degrees of
    # freedom where the cells agree and changes little where they scatter widely.
    moderated, df = _moderate(observed, data_df)
    above = moderated > floor  # False where there is no data (NaN)
    var = np.where(above, moderated, floor)
    df = np.where(above, df, floor_df).astype(float)
    se = np.sqrt(var * (1 / b["batches"] + 1 / w["batches"]))
    diff = w["mean"] - b["mean"]
    with np.errstate(divide="ignore", invalid="ignore"):  # batches that agree exactly: se 0
        t_stat = diff / se
    # One-sided in the direction observed: each direction is its own family at level alpha.
    p_value = stats.t.sf(np.abs(t_stat), df)
    t_crit = stats.t.ppf(1 - alpha / m, df)
    significant = p_value < alpha / m
    big = math.log1p(threshold)
    verdict = np.where(
        significant & (diff >= big),
        SLOWER,
        np.where(significant & (diff <= -big), FASTER, UNCHANGED),
    )
    kernels, ns, epochs = zip(*cells, strict=True)
    return pd.DataFrame(
        {
            "kernel": list(kernels),
            "n": np.asarray(ns, dtype="int64"),
            "epochs": np.asarray(epochs, dtype="int64"),
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
            "base_rounds": b["rounds"].astype("int64"),
            "new_rounds": w["rounds"].astype("int64"),
            "base_outliers": b["outliers"],
            "new_outliers": w["outliers"],
        }
    )


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
    cells, codes = _cell_codes(base, new)
    masks = _outlier_masks(base, new, codes, len(cells), between_run_sd)
    (base_out, new_out) = masks
    return (base[~base_out], base[base_out]), (new[~new_out], new[new_out])


def _outlier_masks(
    base: pd.DataFrame, new: pd.DataFrame, codes: tuple[np.ndarray, np.ndarray], m: int, between_run_sd: float
) -> tuple[np.ndarray, np.ndarray]:
    """Which rows of each side ``set_aside_outliers`` sets aside, as boolean arrays."""
    deviations = []
    for frame, code in zip((base, new), codes, strict=True):
        log_median = frame["log_median"].to_numpy(dtype=float)
        deviations.append(np.abs(log_median - _group_median(log_median, code, m)[code]))
    mad = _group_median(np.concatenate(deviations), np.concatenate(codes), m)
    masks = []
    for code, deviation in zip(codes, deviations, strict=True):
        scale = np.maximum(_MAD_TO_SD * mad[code], between_run_sd)
        count = np.bincount(code, minlength=m)[code]
        outlier = (count >= OUTLIER_MIN_BATCHES) & (deviation > OUTLIER_SDS * scale)
        # A side whose batches split into two far-apart groups is not "mostly ordinary": keep it all.
        outlier &= 2 * np.bincount(code, weights=outlier, minlength=m)[code] < count
        masks.append(outlier)
    return masks[0], masks[1]


def _group_median(values: np.ndarray, code: np.ndarray, m: int) -> np.ndarray:
    """The median of ``values`` per code 0 … m-1 (the mean of the two middle values when even)."""
    counts = np.bincount(code, minlength=m)
    if len(values) == 0:
        return np.full(m, np.nan)
    ordered = values[np.lexsort((values, code))]
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    last = len(values) - 1
    low = np.minimum(starts + (counts - 1) // 2, last)
    high = np.minimum(starts + counts // 2, last)
    return np.where(counts > 0, (ordered[low] + ordered[high]) / 2, np.nan)


def _cell_codes(base: pd.DataFrame, new: pd.DataFrame) -> tuple[list[tuple], tuple[np.ndarray, np.ndarray]]:
    """The cells of both frames, sorted, and each side's rows' cells as integer codes into them."""
    keys = [
        (str(k), int(n), int(e))
        for frame in (base, new)
        for k, n, e in zip(frame["kernel"], frame["n"], frame["epochs"], strict=True)
    ]
    cells = sorted(set(keys))
    number = {cell: i for i, cell in enumerate(cells)}
    codes = np.fromiter((number[key] for key in keys), dtype=np.int64, count=len(keys))
    return cells, (codes[: len(base)], codes[len(base) :])


def _moderate(variance: np.ndarray, df: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each cell's variance shrunk toward a prior fitted to all cells, and its degrees of freedom.

    The prior is a scaled inverse chi-square (s0², d0) fitted by moments of log variances (Smyth,
    2004, "Linear models and empirical Bayes methods", eqs. 5-6); the posterior variance is
    ``(d0·s0² + d·s²) / (d0 + d)`` with ``d0 + d`` degrees of freedom. With fewer than three cells
    with data, or variances more scattered than the prior allows, the cells keep their own.
    """
    variance = np.asarray(variance, dtype=float)
    df = np.asarray(df, dtype=float)
    usable = (df > 0) & (variance > 0)
    if usable.sum() < 3:
        return variance, df
    d = df[usable]
    e = np.log(variance[usable]) - special.digamma(d / 2) + np.log(d / 2)
    excess = float(e.var(ddof=1) - special.polygamma(1, d / 2).mean())
    # No more scatter than sampling explains: in effect one common variance (d0 very large).
    d0 = 1e6 if excess <= 0 else 2 * _trigamma_inverse(excess)
    s0 = float(np.exp(e.mean() + special.digamma(d0 / 2) - np.log(d0 / 2)))
    moderated = variance.copy()
    moderated[usable] = (d0 * s0 + d * variance[usable]) / (d0 + d)
    total = df.copy()
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
