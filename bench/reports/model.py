"""One report model: load and validate a report, reduce it to per-batch medians.

Every reader (``bench.compare``, ``bench.plot``, ``bench.targets``, the gate, ``bench.aa``) gets its
reports from ``load``; nothing else in ``bench`` parses a report's columns. A loaded ``Report`` holds
the validated summary (``cells``), its run metadata, and ``batches``: one row per (cell, batch) with
the natural log of that batch's median time, the variance of that log median from the spread of its
rounds (``within_var``), and its round count — what comparisons work on. The batches come from the
rounds file beside the report when there is one (``source`` "rounds"), else from the summary's
median, IQR and rounds columns (``source`` "summary", one batch per cell), or from a batch file of
pooled A/A evidence (``source`` "batches", see ``bench.reports.batch_file``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from bench.reports import files
from bench.reports.schema import (
    BATCH,
    CELL,
    CELL_COLUMNS,
    DISTURBED,
    MATCHED_METADATA,
    METADATA_COLUMNS,
    REQUIRED_COLUMNS,
    ROUNDS_COLUMNS,
    SUFFIX,
    TIME_COLUMNS,
    TRAILING_COLUMNS,
    ReportError,
    cell_name,
)

#: Columns of ``Report.batches``: ``disturbed`` says the batch was measured while other processes
#: took the CPU (False where the report does not say).
BATCH_COLUMNS: tuple[str, ...] = (*CELL, BATCH, "log_median", "within_var", "rounds", DISTURBED)

#: Asymptotic variance of a sample median relative to the mean's, for normal data: pi/2.
_MEDIAN_EFFICIENCY = math.pi / 2
#: IQR of a standard normal distribution.
_NORMAL_IQR = 1.3489795003921634


@dataclass(frozen=True)
class Report:
    """A validated report: its cells, its run metadata, and its per-batch log medians."""

    path: Path
    #: The summary, one row per cell; ``kernel`` str, ``n`` and ``epochs`` int64, times float64.
    cells: pd.DataFrame
    #: One row per (cell, batch), columns ``BATCH_COLUMNS``.
    batches: pd.DataFrame
    #: The run's metadata as text by field (see ``run_metadata``).
    metadata: dict[str, str]
    #: Where ``batches`` came from: "rounds", "summary" or "batches".
    source: str

    def __post_init__(self) -> None:
        if DISTURBED not in self.batches:  # batches built by hand say nothing of disturbance
            object.__setattr__(self, "batches", self.batches.assign(**{DISTURBED: False}))

    def require(self, columns: Sequence[str], purpose: str) -> None:
        """ReportError naming the columns of ``columns`` this report lacks, needed for ``purpose``."""
        missing = [c for c in columns if c not in self.cells.columns]
        if missing:
            raise ReportError(f"{self.path} lacks the column(s) {', '.join(missing)} needed {purpose}")

    @property
    def disturbed_cells(self) -> pd.DataFrame:
        """The cells whose every batch was measured while the machine was disturbed (none for
        reports that do not say)."""
        clean = (~self.batches[DISTURBED]).groupby([self.batches[c] for c in CELL]).any()
        return clean[~clean].reset_index()[list(CELL)]

    @property
    def clean_batches(self) -> pd.DataFrame:
        """``batches`` less the disturbed batches of cells that also have an undisturbed one: the
        evidence a comparison judges (a cell with no clean batch keeps all, and is disturbed)."""
        return clean_batches(self.batches)

    @property
    def set_aside(self) -> int:
        """How many disturbed batches ``clean_batches`` leaves out (re-measured in the same run)."""
        return len(self.batches) - len(self.clean_batches)

    @property
    def matched_metadata(self) -> dict[str, str]:
        """The metadata that must agree between two runs for their ratios to be about code alone."""
        return {k: v for k, v in self.metadata.items() if k in MATCHED_METADATA}


def clean_batches(batches: pd.DataFrame) -> pd.DataFrame:
    """Per-batch rows less the disturbed batches of cells that also have an undisturbed one."""
    disturbed = batches[DISTURBED]
    has_clean = (~disturbed).groupby([batches[c] for c in CELL]).transform("any")
    return batches[~(disturbed & has_clean)].reset_index(drop=True)


def load(path: str | Path) -> Report:
    """Read and validate the report at ``path``: a CSV report (with its rounds file when there is
    one) or the JSON that pytest-benchmark writes for a sweep (``--benchmark-json``,
    ``--benchmark-autosave``).

    ReportError, in one line, for anything that is not a valid report: a missing column, a bad value
    (named with its line), a cell twice, a rounds file that is not this report's.
    """
    path = Path(path)
    if path.suffix == ".json":
        summary, rounds = from_pytest_benchmark(path)
        return _validated(path, summary, rounds, path)
    summary = files.read_table(path)
    extra = files.find_rounds(path) if path.name.endswith(SUFFIX) else None
    rounds = load_rounds(extra) if extra is not None else None
    return _validated(path, summary, rounds, extra)


def _validated(path: Path, summary: pd.DataFrame, rounds: pd.DataFrame | None, extra: Path | None) -> Report:
    missing = [c for c in REQUIRED_COLUMNS if c not in summary.columns]
    if len(missing) == len(REQUIRED_COLUMNS):
        raise ReportError(f"{path} is not a benchmark report (none of the columns {', '.join(missing)})")
    if missing:
        hint = ""
        if set(ROUNDS_COLUMNS) <= set(summary.columns):
            hint = "; it looks like a rounds file: pass the summary report beside it"
        raise ReportError(f"{path} is missing column(s) {', '.join(missing)}{hint}")
    summary = clean_cells(summary, path, [c for c in TIME_COLUMNS if c in summary.columns])
    for low, high in (("min_s", "median_s"), ("median_s", "max_s")):
        if low in summary.columns and high in summary.columns:
            refuse_bad_rows(path, summary, high, ~(summary[low] <= summary[high]), f"at least {low}")
    duplicated = summary.duplicated(list(CELL))
    if duplicated.any():
        raise ReportError(f"{path} has cell {cell_name(summary[duplicated].iloc[0])} twice")
    if DISTURBED in summary:
        summary[DISTURBED] = as_flags(summary[DISTURBED])

    if rounds is not None and len(rounds):
        _check_rounds_match(summary, rounds, path, extra or path)
        if DISTURBED not in rounds:  # written before rounds said it: the cell's flag holds for all
            flags = summary[[*CELL, DISTURBED]] if DISTURBED in summary else summary[list(CELL)]
            rounds = rounds.merge(flags, on=list(CELL), how="left")
        batches = batches_from_rounds(rounds)
        # A cell the rounds file lacks still counts, from its summary line.
        absent = summary.merge(
            batches[list(CELL)].drop_duplicates(), on=list(CELL), how="left", indicator=True
        )
        absent = absent[absent["_merge"] == "left_only"].drop(columns="_merge")
        if len(absent):
            batches = pd.concat([batches, batches_from_summary(absent)], ignore_index=True)
        batches = batches.merge(summary[list(CELL)], on=list(CELL))  # cells of the summary only
        source = "rounds"
    else:
        batches = batches_from_summary(summary)
        source = "summary"
    return Report(path=path, cells=summary, batches=batches, metadata=run_metadata(summary), source=source)


def from_pytest_benchmark(path: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The summary and rounds of a sweep from pytest-benchmark's JSON, through the ``extra_info``
    that the sweep gives every benchmark (the cell, calls per round, compile time, run metadata).

    Rounds come from the JSON's ``stats.data`` when it holds them (its default); a benchmark of
    anything but the sweep is refused by name.
    """
    document = files.read_json(path)
    benchmarks = document.get("benchmarks") if isinstance(document, dict) else None
    if not isinstance(benchmarks, list) or not benchmarks:
        raise ReportError(f"{path} is not pytest-benchmark's JSON with benchmarks in it")
    rows, rounds = [], []
    for bench in benchmarks:
        extra = bench.get("extra_info") or {}
        stats = bench.get("stats") or {}
        if not all(key in extra for key in CELL) or "median" not in stats:
            raise ReportError(
                f"{path}: benchmark {bench.get('name', '?')!r} is not one of this suite's sweep "
                "(its extra_info lacks kernel, n and epochs)"
            )
        metadata = extra.get("gdbench") or {}
        row = {key: extra[key] for key in CELL}
        row.update(
            rounds=stats.get("rounds"),
            min_s=stats.get("min"),
            max_s=stats.get("max"),
            median_s=stats["median"],
            mean_s=stats.get("mean"),
            stddev_s=stats.get("stddev"),
            iqr_s=stats.get("iqr"),
            compile_s=extra.get("compile_s"),
            **metadata,
            iterations=extra.get("iterations", stats.get("iterations", 1)),
            others_cores=extra.get("others_cores"),
            steal_cores=extra.get("steal_cores"),
            disturbed=bool(extra.get(DISTURBED, False)),
        )
        rows.append(row)
        for index, seconds in enumerate(stats.get("data") or []):
            rounds.append((extra["kernel"], extra["n"], extra["epochs"], index, seconds))
    summary = pd.DataFrame(rows)
    if "utc_time" not in summary and isinstance(document.get("datetime"), str):
        summary["utc_time"] = document["datetime"]
    rounds_frame = pd.DataFrame(rounds, columns=list(ROUNDS_COLUMNS))
    if len(rounds_frame):
        rounds_frame = clean_cells(rounds_frame, path, ["seconds"]).assign(**{BATCH: 0})
    return summary, rounds_frame


def load_rounds(path: Path) -> pd.DataFrame:
    """A rounds file, validated; a ``batch`` column of 0 is added when it has none."""
    frame = files.read_table(path)
    missing = [c for c in ROUNDS_COLUMNS if c not in frame.columns]
    if missing:
        raise ReportError(f"rounds file {path} is missing column(s) {', '.join(missing)}")
    frame = clean_cells(frame, path, ["seconds"])
    if BATCH not in frame.columns:
        frame = frame.assign(**{BATCH: 0})
    if DISTURBED in frame.columns:
        frame[DISTURBED] = as_flags(frame[DISTURBED])
    return frame


def as_flags(values: pd.Series) -> pd.Series:
    """A column of true/false as written in a CSV (True, true, 1 …) as bool; anything else False."""
    return values.astype(str).str.strip().str.lower().isin(("true", "1", "1.0"))


def clean_cells(frame: pd.DataFrame, path: Path, time_columns: Sequence[str]) -> pd.DataFrame:
    """Cell keys as str / int64 and positive finite times, or ReportError naming the bad value."""
    frame = frame.copy()
    kernel = frame["kernel"]
    refuse_bad_rows(
        path, frame, "kernel", kernel.isna() | (kernel.astype(str).str.strip() == ""), "a kernel name"
    )
    frame["kernel"] = kernel.astype(str)
    for column in ("n", "epochs"):
        values = pd.to_numeric(frame[column], errors="coerce")
        # 2.0**63: the first float an int64 cannot hold (n = 1e30 must not wrap to a negative).
        bad = values.isna() | ~np.isfinite(values) | (values != values.round())
        bad |= (values < 1) | (values >= 2.0**63)
        refuse_bad_rows(path, frame, column, bad, "a positive integer below 2**63")
        frame[column] = values.astype("int64")
    for column in time_columns:
        values = pd.to_numeric(frame[column], errors="coerce")
        refuse_bad_rows(
            path, frame, column, ~(np.isfinite(values) & (values > 0)), "a positive number of seconds"
        )
        frame[column] = values.astype("float64")
    return frame


def refuse_bad_rows(path: Path, frame: pd.DataFrame, column: str, bad: pd.Series, what: str) -> None:
    """ReportError naming the first row where ``bad`` holds: its line, its column, what it must be."""
    if bad.any():
        row = int(np.flatnonzero(bad.to_numpy())[0])
        # +2: the header is line 1 and rows count from 0.
        value = frame[column].iloc[row]
        value = value.item() if hasattr(value, "item") else value
        raise ReportError(f"{path} line {row + 2}: {column} must be {what}, got {value!r}")


def _check_rounds_match(summary: pd.DataFrame, rounds: pd.DataFrame, path: Path, extra: Path) -> None:
    """ReportError when the rounds file beside a report is not that report's (say, a stale copy).

    A report's ``median_s`` is the median of its cell's rounds (all batches pooled), so the two files
    must agree on it for every cell they share; otherwise a comparison would judge other timings
    than the report shows.
    """
    medians = rounds.groupby(list(CELL))["seconds"].median().rename("rounds_median")
    both = summary.set_index(list(CELL))[["median_s"]].join(medians, how="inner")
    if both.empty and len(rounds):
        raise ReportError(f"{extra} does not match {path}: no cell in common")
    off = ~np.isclose(both["median_s"], both["rounds_median"], rtol=1e-6, atol=0.0)
    if off.any():
        cell = both.index[np.flatnonzero(off)[0]]
        row = both.loc[cell]
        raise ReportError(
            f"{extra} does not match {path}: {cell[0]} n={cell[1]} epochs={cell[2]} has median "
            f"{row['rounds_median']:.6g} s in the rounds but {row['median_s']:.6g} s in the report "
            "(a stale rounds file?)"
        )


def batches_from_rounds(rounds: pd.DataFrame) -> pd.DataFrame:
    """One row per (cell, batch) from raw rounds: log median and its within-batch variance, and
    whether the batch was disturbed (its rounds' ``disturbed``, False where they do not say)."""
    logs = rounds.assign(log_s=np.log(rounds["seconds"]))
    if DISTURBED in logs:
        logs[DISTURBED] = logs[DISTURBED].eq(True)
    else:
        logs[DISTURBED] = False
    grouped = logs.groupby([*CELL, BATCH], sort=True)
    out = grouped["log_s"].median().rename("log_median").to_frame()
    out["rounds"] = grouped["log_s"].size()
    log_iqr = grouped["log_s"].quantile(0.75) - grouped["log_s"].quantile(0.25)
    out["within_var"] = _median_variance(log_iqr, out["rounds"])
    out[DISTURBED] = grouped[DISTURBED].any()
    return out.reset_index()[list(BATCH_COLUMNS)]


def batches_from_summary(summary: pd.DataFrame) -> pd.DataFrame:
    """One batch per cell from the summary columns: median_s, and iqr_s and rounds when present."""
    median = summary["median_s"].astype(float)
    if "iqr_s" in summary.columns and "rounds" in summary.columns:
        rounds = pd.to_numeric(summary["rounds"], errors="coerce").fillna(1).clip(lower=1)
        # For a narrow spread, the IQR of log times is the IQR of times over the median.
        log_iqr = pd.to_numeric(summary["iqr_s"], errors="coerce").fillna(0.0) / median
    else:
        rounds = pd.Series(1, index=summary.index)
        log_iqr = pd.Series(0.0, index=summary.index)
    out = summary[list(CELL)].copy()
    out[BATCH] = 0
    out["log_median"] = np.log(median)
    out["within_var"] = _median_variance(log_iqr, rounds)
    out["rounds"] = rounds.astype("int64")
    out[DISTURBED] = summary[DISTURBED].eq(True) if DISTURBED in summary else False
    return out.reset_index(drop=True)[list(BATCH_COLUMNS)]


def _median_variance(log_iqr: pd.Series, rounds: pd.Series) -> pd.Series:
    """Variance of a median of ``rounds`` values whose IQR is ``log_iqr`` (normal approximation)."""
    sigma = log_iqr.astype(float) / _NORMAL_IQR
    return (_MEDIAN_EFFICIENCY * sigma**2 / rounds.astype(float)).where(rounds > 1, 0.0)


def run_metadata(cells: pd.DataFrame) -> dict[str, str]:
    """The run's metadata as text by field.

    The known fields present (``METADATA_COLUMNS``), then any other text column that holds one value
    on every row (a field added later, e.g. the thread environment). Numbers outside the known
    fields are taken for per-cell data. A field that varies (merged reports) lists its values.
    """
    per_cell = {*CELL_COLUMNS, *TRAILING_COLUMNS}
    names = [c for c in METADATA_COLUMNS if c in cells.columns] + [
        c
        for c in cells.columns
        if c not in METADATA_COLUMNS
        and c not in per_cell
        and cells[c].nunique() <= 1
        and not pd.api.types.is_numeric_dtype(cells[c])
    ]
    metadata = {}
    for name in names:
        values = [str(v) for v in dict.fromkeys(cells[name].dropna())]
        metadata[name] = ", ".join(values) if values else "unknown"
    return metadata
