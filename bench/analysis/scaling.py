"""How each kernel's cost grows with N and epochs, computed from a report: fits, ratios, crossovers.

Every function takes a validated report's cells (``bench.reports.model.Report.cells``, with at least
``kernel``, ``n``, ``epochs``, ``min_s``, ``median_s``, ``max_s``; one row per cell) and returns a
tidy DataFrame. Nothing here draws or formats: ``bench.present`` does.

Kernels are whatever the report holds. Only two kinds of names are special: the reference kernels
that speedups are taken over (``REFERENCE_KERNELS``), and probes (``PROBE_KERNELS``) that are
measured for scale but compute no descent, so they never "win" a cell or "overtake" a kernel.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pandas as pd
from scipy import optimize

from bench.reports.schema import PROBE_KERNELS, REFERENCE_KERNELS

#: The terms of the model the issue asks for, t = a + c·N·epochs, and of the full model that also
#: has a per-sample and a per-epoch term, t = a + b·N + e·epochs + c·N·epochs (regressors in
#: ``_regressors``).
SIMPLE_TERMS: tuple[str, ...] = ("overhead_s", "per_update_s")
FULL_TERMS: tuple[str, ...] = ("overhead_s", "per_sample_s", "per_epoch_s", "per_update_s")

#: The full model is preferred only when the simple one misses by more than timing noise on a
#: shared machine (a few per cent) AND the extra terms at least halve the error: then they capture
#: structure (a per-epoch dispatch cost, an O(N + epochs) algorithm), not noise.
NOISE_FLOOR = 0.05
IMPROVEMENT_FACTOR = 2.0


def kernels_in(report: pd.DataFrame) -> list[str]:
    """The report's kernels in order of first appearance (the sweep's order)."""
    return list(dict.fromkeys(report["kernel"]))


def competitors(report: pd.DataFrame) -> list[str]:
    """The report's kernels that compute a descent (probes left out)."""
    return [k for k in kernels_in(report) if k not in PROBE_KERNELS]


def _regressors(terms: tuple[str, ...], n: np.ndarray, epochs: np.ndarray) -> np.ndarray:
    columns = {
        "overhead_s": np.ones_like(n),
        "per_sample_s": n,
        "per_epoch_s": epochs,
        "per_update_s": n * epochs,
    }
    return np.column_stack([columns[term] for term in terms])


def fit_model(
    n: np.ndarray, epochs: np.ndarray, seconds: np.ndarray, terms: tuple[str, ...]
) -> tuple[dict[str, float], float]:
    """Fit t = sum of coef·term over cells, minimizing the *relative* error; coefficients >= 0.

    Times span six decades, so plain least squares would fit the slowest cells and ignore the rest;
    weighting each residual by 1/t (i.e. least squares on (model - t)/t) makes a 10 % miss on a 1 µs
    cell count as much as on a 1 s one. Returns the coefficients by term name and the RMS relative
    error of the fit.
    """
    n = np.asarray(n, dtype=float)
    epochs = np.asarray(epochs, dtype=float)
    seconds = np.asarray(seconds, dtype=float)
    design = _regressors(terms, n, epochs)
    # Non-negative least squares: a negative overhead or per-update cost has no physical meaning; it
    # appears when a term is below what the timings resolve (a 1 µs overhead under a 10 ms loop).
    coef, _ = optimize.nnls(design / seconds[:, None], np.ones_like(seconds))
    relative = design @ coef / seconds - 1.0
    return dict(zip(terms, coef.tolist(), strict=True)), float(np.sqrt(np.mean(relative**2)))


def loglog_slopes(n: np.ndarray, epochs: np.ndarray, seconds: np.ndarray) -> tuple[float, float]:
    """Exponents (p, q) of t ≈ k·N^p·epochs^q, by least squares in log space.

    An exponent is NaN when the cells hold a single value of that variable (nothing to fit it on).
    """
    log_t = np.log(np.asarray(seconds, dtype=float))
    variables = [np.log(np.asarray(n, dtype=float)), np.log(np.asarray(epochs, dtype=float))]
    varying = [np.unique(v).size > 1 for v in variables]
    columns = [np.ones_like(log_t)]
    columns += [v for v, vary in zip(variables, varying, strict=True) if vary]
    coef, *_ = np.linalg.lstsq(np.column_stack(columns), log_t, rcond=None)
    slopes = iter(coef[1:].tolist())
    p, q = (next(slopes) if vary else math.nan for vary in varying)
    return p, q


def fit_scaling(report: pd.DataFrame) -> pd.DataFrame:
    """One row per kernel: the fit of t = a + c·N·epochs, the full model, log-log slopes, a verdict.

    Columns: kernel, cells; ``overhead_s``, ``per_update_s``, ``rel_rms`` (simple model);
    ``full_overhead_s``, ``full_per_sample_s``, ``full_per_epoch_s``, ``full_per_update_s``,
    ``full_rel_rms`` (full model t = a + b·N + e·epochs + c·N·epochs, NaN when the cells cannot tell
    its terms apart); ``slope_n``, ``slope_epochs``; ``better_model`` ("N·epochs", "full" or "");
    ``note`` (why a kernel was not fitted, else ""). All times in seconds, medians of each cell.
    """
    rows = []
    for kernel in kernels_in(report):
        cells = report[report["kernel"] == kernel]
        n = cells["n"].to_numpy(dtype=float)
        epochs = cells["epochs"].to_numpy(dtype=float)
        seconds = cells["median_s"].to_numpy(dtype=float)
        row: dict[str, object] = {"kernel": kernel, "cells": len(cells), "better_model": ""}
        distinct_updates = np.unique(n * epochs).size
        # Two coefficients need two distinct N·epochs to be told apart, and a third cell to leave
        # anything over to judge the fit by.
        if len(cells) < 3 or distinct_updates < 2:
            row["note"] = (
                f"not enough cells to fit: {len(cells)} cell(s), {distinct_updates} distinct "
                "N·epochs (needs 3 cells and 2 distinct N·epochs)"
            )
            rows.append(row)
            continue
        with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
            scaled = _regressors(FULL_TERMS, n, epochs) / seconds[:, None]
        if not np.isfinite(scaled).all():
            row["note"] = "not fitted: its times are too small or too large for a fit in float64"
            rows.append(row)
            continue
        simple, rel_rms = fit_model(n, epochs, seconds, SIMPLE_TERMS)
        row.update(simple)
        row["rel_rms"] = rel_rms
        row["slope_n"], row["slope_epochs"] = loglog_slopes(n, epochs, seconds)
        row["better_model"] = "N·epochs"
        # The full model separates N from epochs only when both vary, and needs a fifth cell to
        # leave a residual.
        if np.unique(n).size > 1 and np.unique(epochs).size > 1 and len(cells) > len(FULL_TERMS):
            full, full_rms = fit_model(n, epochs, seconds, FULL_TERMS)
            row.update({f"full_{term}": value for term, value in full.items()})
            row["full_rel_rms"] = full_rms
            if rel_rms > NOISE_FLOOR and full_rms * IMPROVEMENT_FACTOR < rel_rms:
                row["better_model"] = "full"
        row["note"] = ""
        rows.append(row)
    columns = [
        "kernel",
        "cells",
        *SIMPLE_TERMS,
        "rel_rms",
        *(f"full_{t}" for t in FULL_TERMS),
        "full_rel_rms",
        "slope_n",
        "slope_epochs",
        "better_model",
        "note",
    ]
    return pd.DataFrame(rows, columns=columns)


def relative_to(report: pd.DataFrame, reference: str) -> pd.DataFrame:
    """Each kernel's time as a multiple of ``reference``'s in the same cell, with its spread.

    Columns: kernel, n, epochs, ratio (median / reference median), ratio_lo (min / reference
    max), ratio_hi (max / reference min): the band holds every ratio the two min–max ranges allow.
    A speedup over the reference is 1/ratio. Cells without a reference row are left out, and so is
    the reference itself.
    """
    keys = ["n", "epochs"]
    ref = report.loc[report["kernel"] == reference, [*keys, "min_s", "median_s", "max_s"]]
    merged = report[report["kernel"] != reference].merge(ref, on=keys, suffixes=("", "_ref"))
    return pd.DataFrame(
        {
            "kernel": merged["kernel"],
            "n": merged["n"],
            "epochs": merged["epochs"],
            "ratio": merged["median_s"] / merged["median_s_ref"],
            "ratio_lo": merged["min_s"] / merged["max_s_ref"],
            "ratio_hi": merged["max_s"] / merged["min_s_ref"],
        }
    ).reset_index(drop=True)


def at_a_glance(report: pd.DataFrame) -> pd.DataFrame:
    """One row per kernel: its speed in two telling cells of the report.

    - the *reference cell*: the largest N·epochs where ``python_loop`` ran (ties: the larger N) — the
      kernel's speedup over the notebook's loop, ``vs_python_loop``;
    - the *largest cell*: the largest N, and there the most epochs — ``ns_per_update`` and the time
      as a multiple of the stream probe's, ``x_stream`` (NaN without a stream row there).
    Columns: kernel, ref_n, ref_epochs, vs_python_loop, big_n, big_epochs, ns_per_update, x_stream.
    """
    keys = ["n", "epochs"]

    def cell_of(rows: pd.DataFrame, order: list[str]) -> tuple[int, int] | None:
        if rows.empty:
            return None
        best = rows.assign(work=rows["n"] * rows["epochs"]).sort_values(order).iloc[-1]
        return int(best["n"]), int(best["epochs"])

    ref = cell_of(report[report["kernel"] == "python_loop"], ["work", "n"])
    big = cell_of(report, ["n", "epochs"])
    medians = report.set_index(["kernel", *keys])["median_s"]
    rows = []
    for kernel in kernels_in(report):
        row = {
            "kernel": kernel,
            "ref_n": np.nan,
            "ref_epochs": np.nan,
            "vs_python_loop": np.nan,
            "big_n": np.nan,
            "big_epochs": np.nan,
            "ns_per_update": np.nan,
            "x_stream": np.nan,
        }
        if ref is not None and (kernel, *ref) in medians.index:
            row.update(
                ref_n=ref[0],
                ref_epochs=ref[1],
                vs_python_loop=medians[("python_loop", *ref)] / medians[(kernel, *ref)],
            )
        if big is not None and (kernel, *big) in medians.index:
            time = medians[(kernel, *big)]
            stream = [medians[(probe, *big)] for probe in PROBE_KERNELS if (probe, *big) in medians.index]
            row.update(
                big_n=big[0],
                big_epochs=big[1],
                ns_per_update=time / (big[0] * big[1]) * 1e9,
                x_stream=time / stream[0] if stream else np.nan,
            )
        rows.append(row)
    return pd.DataFrame(rows)


def fastest_per_cell(report: pd.DataFrame) -> pd.DataFrame:
    """For each (epochs, n) cell: the fastest kernel, the runner-up, speedups over the references.

    Columns: epochs, n, fastest, median_s, runner_up, margin (runner-up median / fastest median, NaN
    when alone), clear (the fastest's max is below the runner-up's min: the win is outside the
    spread of the rounds), and ``vs_<reference>`` (reference median / fastest median) for each
    reference kernel in the report. Probes are not candidates.
    """
    candidates = report[~report["kernel"].isin(PROBE_KERNELS)]
    references = [r for r in REFERENCE_KERNELS if r in set(report["kernel"])]
    rows = []
    for (epochs, n), cell in candidates.groupby(["epochs", "n"], sort=True):
        ranked = cell.sort_values("median_s", kind="stable")
        best = ranked.iloc[0]
        row: dict[str, object] = {
            "epochs": epochs,
            "n": n,
            "fastest": best["kernel"],
            "median_s": best["median_s"],
            "runner_up": "",
            "margin": math.nan,
            "clear": True,
        }
        if len(ranked) > 1:
            second = ranked.iloc[1]
            row["runner_up"] = second["kernel"]
            row["margin"] = second["median_s"] / best["median_s"]
            row["clear"] = bool(best["max_s"] < second["min_s"])
        for ref in references:
            ref_rows = cell[cell["kernel"] == ref]
            ref_median = float(ref_rows["median_s"].iloc[0]) if len(ref_rows) else math.nan
            row[f"vs_{ref}"] = ref_median / best["median_s"]
        rows.append(row)
    columns = ["epochs", "n", "fastest", "median_s", "runner_up", "margin", "clear"]
    return pd.DataFrame(rows, columns=columns + [f"vs_{ref}" for ref in references])


def _sign_changes(n: np.ndarray, log_ratio: np.ndarray) -> list[tuple[float, int, int]]:
    """Each crossing as (N, index of the measurement before it, index of the one after it)."""
    signs = np.sign(log_ratio)
    changes: list[tuple[float, int, int]] = []
    last = None  # index of the last measurement with a nonzero sign
    for i, sign in enumerate(signs):
        if sign == 0:
            continue
        if last is not None and sign != signs[last]:
            ties = [j for j in range(last + 1, i) if signs[j] == 0]
            if ties:
                changes.append((float(n[ties[0]]), last, i))
            else:
                x0, x1 = math.log(n[last]), math.log(n[i])
                y0, y1 = log_ratio[last], log_ratio[i]
                changes.append((math.exp(x0 + y0 * (x1 - x0) / (y0 - y1)), last, i))
        last = i
    return changes


def crossover_points(n: np.ndarray, log_ratio: np.ndarray) -> list[float]:
    """The N where ``log_ratio`` (measured at increasing ``n``) changes sign, found in log-log.

    Between two adjacent measurements of opposite sign, log_ratio is taken to be linear in log N (a
    power law between the points), so the crossing is exact for kernels whose times are power laws
    in N over that interval. A measurement where the ratio is exactly 1 is itself the crossing
    when the signs on its two sides differ; a touch that does not change the sign is not one.
    """
    n = np.asarray(n, dtype=float)
    log_ratio = np.asarray(log_ratio, dtype=float)
    return [point for point, _, _ in _sign_changes(n, log_ratio)]


def crossovers(report: pd.DataFrame) -> pd.DataFrame:
    """For each epochs value and pair of kernels: where one overtakes the other, or who always wins.

    One row per (epochs, kernel_a, kernel_b) with kernel_a before kernel_b in report order, over the
    N measured for both. Columns: epochs, kernel_a, kernel_b, n_min, n_max (common N range), cells,
    crossings (list of estimated N where the faster kernel changes, ascending), faster_first (the
    faster kernel at the smallest common N where the two differ; "" when they tie everywhere),
    speedup_min / speedup_max (over the common N: slower median / faster median, only when there is
    no crossing), and resolved (the two kernels' min–max ranges are disjoint at the measurements
    bracketing every crossing, or at every N when there is none: the ordering is outside the
    round-to-round spread).
    """
    rows = []
    kernels = competitors(report)
    for epochs, group in report.groupby("epochs", sort=True):
        by_kernel = {k: g.set_index("n").sort_index() for k, g in group.groupby("kernel")}
        for a, b in itertools.combinations([k for k in kernels if k in by_kernel], 2):
            common = by_kernel[a].index.intersection(by_kernel[b].index).sort_values()
            if common.empty:
                continue
            ta, tb = by_kernel[a].loc[common], by_kernel[b].loc[common]
            n = common.to_numpy(dtype=float)
            log_ratio = np.log(ta["median_s"].to_numpy() / tb["median_s"].to_numpy())
            disjoint = (ta["max_s"] < tb["min_s"]) | (tb["max_s"] < ta["min_s"])
            changes = _sign_changes(n, log_ratio)
            differing = log_ratio[log_ratio != 0]
            first = "" if differing.size == 0 else a if differing[0] < 0 else b
            row: dict[str, object] = {
                "epochs": epochs,
                "kernel_a": a,
                "kernel_b": b,
                "n_min": int(n[0]),
                "n_max": int(n[-1]),
                "cells": len(n),
                "crossings": [point for point, _, _ in changes],
                "faster_first": first,
                "speedup_min": math.nan,
                "speedup_max": math.nan,
            }
            if changes:
                row["resolved"] = all(
                    bool(disjoint.iloc[before] and disjoint.iloc[after]) for _, before, after in changes
                )
            else:
                factor = np.exp(np.abs(log_ratio))
                row["speedup_min"], row["speedup_max"] = float(factor.min()), float(factor.max())
                row["resolved"] = bool(disjoint.all())
            rows.append(row)
    columns = [
        "epochs",
        "kernel_a",
        "kernel_b",
        "n_min",
        "n_max",
        "cells",
        "crossings",
        "faster_first",
        "speedup_min",
        "speedup_max",
        "resolved",
    ]
    return pd.DataFrame(rows, columns=columns)
