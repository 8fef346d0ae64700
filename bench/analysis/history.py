"""Follow every cell (kernel, n, epochs) across runs ordered by time, and find where its time steps.

``history(runs)`` returns a ``History``: the runs of each machine in time order, each cell's time in
each run, and the steps found. Runs of different machines (host or CPU model) are never mixed: each
machine is its own series. The unit of replication is a version, a stretch of consecutive runs of
one commit, and a step can only be at a commit boundary. Each cell's series is cut by binary
segmentation: the boundary whose sides differ most is judged by
``bench.analysis.cell_statistics.cell_statistics`` (the comparison's floor, outlier rule, moderated t and
threshold) at level alpha / (candidate boundaries over every cell of every series), so unchanged
code gets any step at all with probability at most alpha per direction; a step splits its segment
and both halves are searched again. docs/history.md says why; nothing here reads files or formats
text.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from bench.analysis import scaling, speedup
from bench.analysis.cell_statistics import (
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
#: Metadata whose change within a series is noted: the software and settings a time depends on.
WATCHED_METADATA: tuple[str, ...] = (*MATCHED_METADATA, "blas", "blas_threads", "numba_threads", "sweep")
#: Fewest versions (stretches of runs of one commit) on each side of a step: one run alone cannot
#: tell a step from a disturbed run, and the committed A/A batches hold some 1.6x off their cell.
MIN_VERSIONS = 2
#: Columns of ``History.steps``.
STEP_COLUMNS: tuple[str, ...] = (
    *("machine", *CELL, "position", "run_id", "git_commit", "utc_time", "verdict", "ratio"),
    *("ci_low", "ci_high", "p_value", "before_runs", "after_runs"),
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
    run_id = metadata.get("run_id", Path(report.path).stem)
    return Run(report, run_id, when, metadata.get("git_commit", "unknown"), machine, dict(metadata))


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
    comparison's), disturbed (measured while the machine was disturbed: charted, never judged).
    ``steps``: ``STEP_COLUMNS``, one row per step, ``position`` being the first run after it and
    ratio the time after over the time before. ``candidates``: the change points tested (the
    Bonferroni family). ``notes``: environment changes within a series.
    """

    runs: pd.DataFrame
    points: pd.DataFrame
    steps: pd.DataFrame
    series: dict[str, list[Run]]
    candidates: int
    threshold: float
    alpha: float
    min_versions: int
    notes: list[str] = field(default_factory=list)


def history(
    runs: Sequence[Run],
    threshold: float = DEFAULT_THRESHOLD,
    alpha: float = DEFAULT_ALPHA,
    between_run_sd: float = BETWEEN_RUN_SD,
    min_versions: int = MIN_VERSIONS,
) -> History:
    """The history of ``runs`` (already free of duplicates): series per machine, points, steps.

    ValueError when ``runs`` is empty or ``min_versions`` is below 1.
    """
    if not runs:
        raise ValueError("a history needs at least one run")
    if min_versions < 1:
        raise ValueError(f"min_versions must be at least 1, got {min_versions}")
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
            shaken = set(run.report.disturbed_cells.itertuples(index=False, name=None))
            tagged = batches.assign(machine=machine, position=position)
            points = tagged.groupby(["machine", "position", *_KEY], sort=False)["log_median"].mean()
            points = np.exp(points).rename("time_s").reset_index()
            points["disturbed"] = [
                cell in shaken for cell in zip(points["kernel"], points["n"], points["epochs"])
            ]
            point_parts.append(points)
            # As in bench.compare, a cell measured while the machine was disturbed is never judged.
            keep = [cell not in shaken for cell in zip(tagged["kernel"], tagged["n"], tagged["epochs"])]
            batch_parts.append(tagged[keep])
        notes += _environment_notes(machine, ordered)
    points = pd.concat(point_parts, ignore_index=True) if point_parts else pd.DataFrame()
    batches = pd.concat(batch_parts, ignore_index=True)
    batches = batches[~batches["kernel"].isin(PROBE_KERNELS)]
    steps, candidates = _segment(batches, series, threshold, alpha, between_run_sd, min_versions)
    return History(
        runs=pd.DataFrame(run_rows),
        points=points,
        steps=steps,
        series=series,
        candidates=candidates,
        threshold=threshold,
        alpha=alpha,
        min_versions=min_versions,
        notes=notes,
    )


def _environment_notes(machine: str, ordered: Sequence[Run]) -> list[str]:
    """A note per change of a ``WATCHED_METADATA`` field between consecutive runs of a series."""
    notes = []
    watched = [name for name in WATCHED_METADATA if name not in MACHINE_FIELDS]
    for before, after in itertools.pairwise(ordered):
        for name in watched:
            old, new = before.metadata.get(name), after.metadata.get(name)
            if old is not None and new is not None and old != new:
                notes.append(
                    f"{machine}: {name} changes from {old} to {new} at run {after.run_id}: "
                    "a step there may be the environment's, not the code's"
                )
    return notes


def _collapse(frame: pd.DataFrame, keys: list[str], unit: str) -> pd.DataFrame:
    """One row per (keys, unit) from rows with ``log_median`` and ``within_var``: their mean, and the
    variance of that mean (the rows' scatter, never less than their own uncertainty, over their
    number)."""
    grouped = frame.groupby([*keys, unit], sort=True)
    out = grouped.agg(
        log_median=("log_median", "mean"),
        spread=("log_median", "var"),
        within=("within_var", "mean"),
        count=("log_median", "size"),
        rounds=("rounds", "sum"),
        start=("position", "min"),
        runs=("runs", "sum"),
    ).reset_index()
    out["within_var"] = np.maximum(out["spread"].fillna(0.0), out["within"]) / out["count"]
    return out.assign(position=out["start"]).drop(columns=["spread", "within", "count", "start"])


def version_values(batches: pd.DataFrame, series: dict[str, list[Run]]) -> pd.DataFrame:
    """One row per (machine, cell, version) in ``BATCH_COLUMNS`` form: the unit of replication.

    A version is a stretch of consecutive runs of one commit on one machine. Its ``log_median`` is
    the mean over its runs of each run's mean batch log median, ``within_var`` the variance of that
    mean within the version, ``batch`` the version's number, ``position`` its first run and ``runs``
    how many it has. Runs of one version are pooled, not counted as replicates: they usually come
    from one sitting, and the committed A/A runs drifted by 30% over half an hour, more than their
    batches scatter (docs/history.md).
    """
    keys = ["machine", *_KEY]
    version = {}
    for machine, ordered in series.items():
        commits = [run.git_commit for run in ordered]
        numbers = np.cumsum([i == 0 or commits[i] != commits[i - 1] for i in range(len(commits))]) - 1
        version.update({(machine, p): int(v) for p, v in enumerate(numbers)})
    runs = _collapse(batches.assign(runs=1), keys, "position")
    runs["version"] = [version[(m, p)] for m, p in zip(runs["machine"], runs["position"])]
    versions = _collapse(runs.assign(runs=1), keys, "version")
    return versions.rename(columns={"version": "batch"})


def _segment(
    batches: pd.DataFrame,
    series: dict[str, list[Run]],
    threshold: float,
    alpha: float,
    between_run_sd: float,
    min_versions: int,
) -> tuple[pd.DataFrame, int]:
    """Binary segmentation of every cell's series; (steps, number of candidate change points)."""
    keys = ["machine", *_KEY]
    values = version_values(batches, series)
    values["commit"] = [series[m][p].git_commit for m, p in zip(values["machine"], values["position"])]
    cells = {key: group.reset_index(drop=True) for key, group in values.groupby(keys, sort=True)}
    # A step can only be where the code changed: between versions of different commits (a commit
    # run again after another is a new version of the same code, not a candidate).
    boundaries = {}
    for key, runs in cells.items():
        before = np.arange(1, len(runs))  # split k: versions [0, k) before, [k, n) after
        changed = (runs["commit"] != runs["commit"].shift()).to_numpy()[1:]
        boundaries[key] = changed & (before >= min_versions) & (len(runs) - before >= min_versions)
    candidates = int(sum(bounds.sum() for bounds in boundaries.values()))
    pending = [(key, 0, len(runs)) for key, runs in cells.items() if boundaries[key].any()]
    big = math.log1p(threshold)
    steps = []
    while pending:
        chosen = []
        for key, low, high in pending:
            split = _best_split(
                cells[key]["log_median"].to_numpy()[low:high],
                cells[key]["within_var"].to_numpy()[low:high],
                boundaries[key][low : high - 1],
                big,
                between_run_sd,
                min_versions,
            )
            if split is not None:
                chosen.append((key, low, low + split, high))
        pending = []
        # cell_statistics keys its rows by (kernel, n, epochs): one call per "slot", which holds each
        # such cell at most once (two machines' series of one cell go to different slots).
        slots: dict[int, list[tuple]] = {}
        used: dict[tuple, int] = {}
        for item in chosen:
            slot = used.get(item[0][1:], 0)
            used[item[0][1:]] = slot + 1
            slots.setdefault(slot, []).append(item)
        for items in slots.values():
            verdicts = cell_statistics(
                pd.concat([cells[key].iloc[low:split] for key, low, split, _ in items]),
                pd.concat([cells[key].iloc[split:high] for key, _, split, high in items]),
                threshold=threshold,
                # cell_statistics tests each cell at alpha / (cells in the call).
                alpha=alpha * len(items) / candidates,
                between_run_sd=between_run_sd,
                # Versions are few, and runs of one sitting drift together: keep the floor.
                always_floor=True,
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
                        "before_runs": int(cells[key]["runs"].iloc[low:split].sum()),
                        "after_runs": int(cells[key]["runs"].iloc[split:high].sum()),
                    }
                )
                pending += [(key, low, split), (key, split, high)]
    table = pd.DataFrame(steps, columns=list(STEP_COLUMNS))
    order = ["machine", "utc_time", *_KEY]
    return table.sort_values(order, ignore_index=True), candidates


def _best_split(
    values: np.ndarray,
    within: np.ndarray,
    allowed: np.ndarray,
    big: float,
    between_run_sd: float,
    min_versions: int,
) -> int | None:
    """Where to split a segment of versions (log times, within variances), or None: among the
    allowed boundaries with a change at the threshold, the largest |t| computed as the comparison
    does without moderation or outliers. A fast search, whose choice ``cell_statistics`` judges; the
    choice is paid for by counting every candidate in the Bonferroni family."""
    if len(values) < 2 or not allowed.any():
        return None
    count = np.arange(1, len(values), dtype=float)
    rest = len(values) - count
    head_sum, head_square = np.cumsum(values)[:-1], np.cumsum(values**2)[:-1]
    tail_sum, tail_square = values.sum() - head_sum, (values**2).sum() - head_square
    head_within = np.cumsum(within)[:-1]
    tail_within = within.sum() - head_within
    diff = tail_sum / rest - head_sum / count
    ss = head_square - head_sum**2 / count + tail_square - tail_sum**2 / rest
    df = len(values) - 2
    observed = ss / df if df > 0 else np.zeros_like(ss)
    floor = between_run_sd**2 + (head_within / count + tail_within / rest) / 2
    t = np.abs(diff) / np.sqrt(np.maximum(observed, floor) * (1 / count + 1 / rest))
    edge = (count < min_versions) | (rest < min_versions)
    t[(np.abs(diff) < big) | ~allowed | edge] = -1.0
    best = int(np.argmax(t))
    return best + 1 if t[best] >= 0 else None


@dataclass(frozen=True)
class Latest:
    """A run's own summary: ``speedups`` (``bench.analysis.speedup.summarize`` of its cells, probes
    left out: speedups and time over the stream probe per cell) and ``fits``
    (``bench.analysis.scaling.fit_scaling``)."""

    run: Run
    speedups: pd.DataFrame
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
