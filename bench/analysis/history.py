"""Follow every cell (kernel, n, epochs) across runs ordered by time, and find where its time steps.

``history(runs)`` returns a ``History``: the runs of each machine in time order, each cell's time in
each run, and the steps found. Runs of different machines (host or CPU model) are never mixed: each
machine is its own series. A step is found by binary segmentation of each cell's series: the split
of a segment of runs whose batches before and after differ most is judged by
``bench.analysis.compare.cell_statistics`` (the comparison's floor, outlier rule, moderated t and
10% threshold) at level alpha / (number of candidate change points over every cell of every series),
so unchanged code gets any step at all with probability at most alpha per direction; a step splits
its segment and both halves are searched again. docs/history.md says more; nothing here reads files
or formats text.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from bench.analysis import scaling, speedup
from bench.analysis.compare import (
    BETWEEN_RUN_SD,
    DEFAULT_ALPHA,
    DEFAULT_THRESHOLD,
    FASTER,
    SLOWER,
    cell_statistics,
)
from bench.reports.model import Report
from bench.reports.schema import CELL, MATCHED_METADATA, PROBE_KERNELS, ReportError, ns_per_update

_KEY = list(CELL)
#: Metadata that tell machines apart: runs that differ in them are separate series.
MACHINE_FIELDS: tuple[str, ...] = ("host", "cpu_model")
#: Columns of ``History.steps``.
STEP_COLUMNS: tuple[str, ...] = (
    "machine",
    *CELL,
    "position",
    "run_id",
    "git_commit",
    "utc_time",
    "verdict",
    "ratio",
    "ci_low",
    "ci_high",
    "p_value",
    "before_runs",
    "after_runs",
)


@dataclass(frozen=True)
class Run:
    """One report as a point of a history: when it ran, of which commit, on which machine."""

    report: Report
    run_id: str
    utc_time: pd.Timestamp
    git_commit: str
    machine: str
    metadata: dict[str, str] = field(default_factory=dict)


def run_of(report: Report) -> Run:
    """The run a loaded report records; ReportError when it has no usable ``utc_time``."""
    metadata = report.metadata
    try:
        when = pd.to_datetime(metadata.get("utc_time", ""), utc=True)
    except (ValueError, TypeError):
        when = pd.NaT
    if pd.isna(when):
        raise ReportError(f"{report.path} has no utc_time to place it in a history")
    machine = " / ".join(metadata.get(name, "unknown") for name in MACHINE_FIELDS)
    return Run(
        report=report,
        run_id=metadata.get("run_id", Path(report.path).stem),
        utc_time=when,
        git_commit=metadata.get("git_commit", "unknown"),
        machine=machine,
        metadata=dict(metadata),
    )


def _batch_prints(run: Run) -> set[frozenset]:
    """Each batch of a run as the set of its cells' log medians: equal for the same measurement."""
    batches = run.report.batches.assign(log_median=run.report.batches["log_median"].round(9))
    return {
        frozenset(zip(group["kernel"], group["n"], group["epochs"], group["log_median"]))
        for _, group in batches.groupby("batch")
    }


def skip_duplicates(runs: Sequence[Run]) -> tuple[list[Run], list[Run]]:
    """(kept, dropped): a run is dropped when it is a measurement already counted.

    That is a report with the run_id of one kept on the same machine (a CSV report and the JSON of
    the same sweep, or a pooled report and its first batch), or one whose every batch is a batch of
    reports kept of the same commit and machine (the batches of a pooled gate or A/A report). Reports
    with more batches are kept first, so the pooled report stands for its batches.
    """
    order = sorted(runs, key=lambda r: (-r.report.batches["batch"].nunique(), str(r.report.path)))
    seen_ids: set[tuple[str, str]] = set()
    seen_batches: dict[tuple[str, str], set[frozenset]] = {}
    kept, dropped = [], []
    for run in order:
        prints = _batch_prints(run)
        known = seen_batches.setdefault((run.machine, run.git_commit), set())
        if (run.machine, run.run_id) in seen_ids or prints <= known:
            dropped.append(run)
            continue
        seen_ids.add((run.machine, run.run_id))
        known |= prints
        kept.append(run)
    return kept, dropped


def by_machine(runs: Sequence[Run]) -> dict[str, list[Run]]:
    """The runs of each machine in time order (ties by run_id), machines in order of first run."""
    ordered = sorted(runs, key=lambda r: (r.utc_time, r.run_id, str(r.report.path)))
    series: dict[str, list[Run]] = {}
    for run in ordered:
        series.setdefault(run.machine, []).append(run)
    return series


@dataclass(frozen=True)
class History:
    """The computed history; renderers only format it.

    ``runs``: one row per run: machine, position (0, 1, … in time order within its machine), run_id,
    utc_time, git_commit, git_dirty, batches, path. ``points``: one row per (run, cell): machine,
    position, kernel, n, epochs, time_s (geometric mean of the run's batch medians, as the
    comparison's). ``steps``: ``STEP_COLUMNS``, one row per step, ``position`` being the first run
    after it and ratio the time after over the time before. ``candidates``: the change points tested
    (the Bonferroni family). ``notes``: environment changes within a series.
    """

    runs: pd.DataFrame
    points: pd.DataFrame
    steps: pd.DataFrame
    series: dict[str, list[Run]]
    candidates: int
    threshold: float
    alpha: float
    notes: list[str] = field(default_factory=list)


def history(
    runs: Sequence[Run],
    threshold: float = DEFAULT_THRESHOLD,
    alpha: float = DEFAULT_ALPHA,
    between_run_sd: float = BETWEEN_RUN_SD,
) -> History:
    """The history of ``runs`` (already free of duplicates): series per machine, points, steps."""
    series = by_machine(runs)
    run_rows, point_parts, batch_parts, notes = [], [], [], []
    for machine, ordered in series.items():
        for position, run in enumerate(ordered):
            batches = run.report.batches
            run_rows.append(
                {
                    "machine": machine,
                    "position": position,
                    "run_id": run.run_id,
                    "utc_time": run.utc_time,
                    "git_commit": run.git_commit,
                    "git_dirty": run.metadata.get("git_dirty", "unknown"),
                    "batches": int(batches["batch"].nunique()),
                    "path": str(run.report.path),
                }
            )
            tagged = batches.assign(machine=machine, position=position)
            batch_parts.append(tagged)
            points = tagged.groupby(["machine", "position", *_KEY], sort=False)["log_median"].mean()
            point_parts.append(np.exp(points).rename("time_s").reset_index())
        notes += _environment_notes(machine, ordered)
    points = pd.concat(point_parts, ignore_index=True) if point_parts else pd.DataFrame()
    batches = pd.concat(batch_parts, ignore_index=True)
    batches = batches[~batches["kernel"].isin(PROBE_KERNELS)]
    steps, candidates = _segment(batches, series, threshold, alpha, between_run_sd)
    return History(
        runs=pd.DataFrame(run_rows),
        points=points,
        steps=steps,
        series=series,
        candidates=candidates,
        threshold=threshold,
        alpha=alpha,
        notes=notes,
    )


def _environment_notes(machine: str, ordered: Sequence[Run]) -> list[str]:
    """A note per change of Python, NumPy or Numba version within one machine's series."""
    notes = []
    watched = [name for name in MATCHED_METADATA if name not in MACHINE_FIELDS]
    for before, after in zip(ordered, ordered[1:]):
        for name in watched:
            old, new = before.metadata.get(name), after.metadata.get(name)
            if old is not None and new is not None and old != new:
                notes.append(
                    f"{machine}: {name} changes from {old} to {new} at run {after.run_id}: "
                    "a step there may be the environment's, not the code's"
                )
    return notes


def _segment(
    batches: pd.DataFrame,
    series: dict[str, list[Run]],
    threshold: float,
    alpha: float,
    between_run_sd: float,
) -> tuple[pd.DataFrame, int]:
    """Binary segmentation of every cell's series; (steps, number of candidate change points)."""
    keys = ["machine", *_KEY]
    per_run = batches.assign(square=batches["log_median"] ** 2).groupby([*keys, "position"], sort=True)
    totals = per_run.agg(
        count=("log_median", "size"),
        total=("log_median", "sum"),
        square=("square", "sum"),
        within=("within_var", "sum"),
    ).reset_index()
    cells = {key: group.reset_index(drop=True) for key, group in totals.groupby(keys, sort=True)}
    by_position = {key: group for key, group in batches.groupby([*keys, "position"], sort=False)}
    candidates = sum(len(runs) - 1 for runs in cells.values())
    pending = [(key, 0, len(runs)) for key, runs in cells.items() if len(runs) > 1]
    big = math.log1p(threshold)
    steps = []
    while pending:
        chosen = []
        for key, low, high in pending:
            split = _best_split(cells[key].iloc[low:high], big, between_run_sd)
            if split is not None:
                chosen.append((key, low, low + split, high))
        pending = []
        # One cell_statistics call per "slot", each holding a cell at most once (its key must be
        # unique in the call); alpha scaled by the call's size keeps each test at alpha/candidates.
        slots: dict[int, list[tuple]] = {}
        used: dict[tuple, int] = {}
        for item in chosen:
            slot = used.get(item[0], 0)
            used[item[0]] = slot + 1
            slots.setdefault(slot, []).append(item)
        for items in slots.values():
            before, after = [], []
            for key, low, split, high in items:
                positions = cells[key]["position"]
                before += [by_position[(*key, p)] for p in positions.iloc[low:split]]
                after += [by_position[(*key, p)] for p in positions.iloc[split:high]]
            verdicts = cell_statistics(
                pd.concat(before, ignore_index=True),
                pd.concat(after, ignore_index=True),
                threshold=threshold,
                alpha=alpha * len(items) / candidates,
                between_run_sd=between_run_sd,
            ).set_index(_KEY)
            for key, low, split, high in items:
                row = verdicts.loc[key[1:]]
                if row["verdict"] not in (SLOWER, FASTER):
                    continue
                position = int(cells[key]["position"].iloc[split])
                run = series[key[0]][position]
                steps.append(
                    {
                        "machine": key[0],
                        **dict(zip(_KEY, key[1:])),
                        "position": position,
                        "run_id": run.run_id,
                        "git_commit": run.git_commit,
                        "utc_time": run.utc_time,
                        "verdict": row["verdict"],
                        **{name: float(row[name]) for name in ("ratio", "ci_low", "ci_high", "p_value")},
                        "before_runs": split - low,
                        "after_runs": high - split,
                    }
                )
                pending += [(key, low, split), (key, split, high)]
    table = pd.DataFrame(steps, columns=list(STEP_COLUMNS))
    order = ["machine", "utc_time", *_KEY]
    return table.sort_values(order, ignore_index=True), candidates


def _best_split(runs: pd.DataFrame, big: float, between_run_sd: float) -> int | None:
    """Where to split a segment of runs (one row per run, its batches' sums), or None.

    The candidate with the largest |t| among those whose change reaches the threshold, with t as
    the comparison computes it without moderation or outliers: a fast search, whose choice
    ``cell_statistics`` then judges. Choosing among candidates is paid for by counting them all in
    the Bonferroni family.
    """
    if len(runs) < 2:
        return None
    sums = {name: runs[name].to_numpy(dtype=float) for name in ("count", "total", "square", "within")}
    head = {name: np.cumsum(values)[:-1] for name, values in sums.items()}
    tail = {name: values.sum() - head[name] for name, values in sums.items()}
    mean_b, mean_a = head["total"] / head["count"], tail["total"] / tail["count"]
    ss = head["square"] - head["total"] * mean_b + tail["square"] - tail["total"] * mean_a
    df = head["count"] + tail["count"] - 2
    with np.errstate(divide="ignore", invalid="ignore"):
        observed = np.where(df > 0, ss / np.maximum(df, 1), 0.0)
    floor = between_run_sd**2 + (head["within"] / head["count"] + tail["within"] / tail["count"]) / 2
    variance = np.maximum(observed, floor)
    diff = mean_a - mean_b
    t = np.abs(diff) / np.sqrt(variance * (1 / head["count"] + 1 / tail["count"]))
    t[np.abs(diff) < big] = -1.0
    best = int(np.argmax(t))
    return best + 1 if t[best] >= 0 else None


@dataclass(frozen=True)
class Latest:
    """A run's own summary: speedups and time over the stream probe per cell, scaling fits."""

    run: Run
    #: ``bench.analysis.speedup.summarize`` of the run's cells (probes left out).
    speedups: pd.DataFrame
    #: ``bench.analysis.scaling.fit_scaling`` of the run's cells.
    fits: pd.DataFrame


def latest_summary(run: Run) -> Latest:
    """The summary of ``run`` that a history page shows for the latest run of a machine."""
    cells = run.report.cells.copy()
    if "ns_per_update" not in cells:
        # A pytest-benchmark JSON does not carry it in its summary: derive it as the sweep does.
        cells["ns_per_update"] = [
            ns_per_update(row.median_s, row.n, row.epochs) for row in cells.itertuples()
        ]
    return Latest(
        run=run,
        speedups=speedup.summarize(cells, exclude=PROBE_KERNELS),
        fits=scaling.fit_scaling(cells),
    )
