"""Batch files: the per-batch log medians of several reports in one compressed CSV.

An A/A run keeps its evidence this way (``batches.csv.gz``): every report's batches — what
comparisons read — without the rounds they came from, a few hundred kilobytes instead of hundreds of
megabytes. Loaded back, each report is a ``Report`` whose ``source`` is "batches".
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from bench.reports import files
from bench.reports.model import BATCH_COLUMNS, Report, as_flags, clean_cells, refuse_bad_rows
from bench.reports.schema import CELL, DISTURBED, ReportError

#: Columns of a batch file: the batches of several reports, each named in ``report``; ``disturbed``
#: is optional (files written before batches carried it have none: False).
BATCH_FILE_COLUMNS: tuple[str, ...] = ("report", *BATCH_COLUMNS)
REQUIRED_BATCH_FILE_COLUMNS = tuple(c for c in BATCH_FILE_COLUMNS if c != DISTURBED)


def write(path: Path, reports: Mapping[str, Report]) -> None:
    """The batches of ``reports`` (by name) in one compressed CSV: what comparisons need of them."""
    table = pd.concat(
        [report.batches.assign(report=name) for name, report in reports.items()], ignore_index=True
    )[list(BATCH_FILE_COLUMNS)]
    # Ten significant digits: far below any timing's resolution, and half the size of seventeen.
    files.write_atomic(
        path,
        lambda target: table.to_csv(target, index=False, float_format="%.10g", compression="gzip"),
        replace=False,
    )


def load(path: str | Path) -> dict[str, Report]:
    """The reports of a batch file by name, in file order; ReportError when it is not one."""
    path = Path(path)
    table = files.read_table(path)
    missing = [c for c in REQUIRED_BATCH_FILE_COLUMNS if c not in table.columns]
    if missing:
        raise ReportError(f"{path} is not a batch file (missing column(s) {', '.join(missing)})")
    table = clean_cells(table, path, [])
    for column in ("log_median", "within_var"):
        values = pd.to_numeric(table[column], errors="coerce")
        refuse_bad_rows(
            path,
            table,
            column,
            ~np.isfinite(values) | (values < 0 if column == "within_var" else False),
            "a finite number",
        )
        table[column] = values.astype(float)
    table["report"] = table["report"].astype(str)
    table[DISTURBED] = as_flags(table[DISTURBED]) if DISTURBED in table else False
    reports = {}
    for name, part in table.groupby("report", sort=False):
        batches = part[list(BATCH_COLUMNS)].reset_index(drop=True)
        cells = batches.groupby(list(CELL), sort=False)["log_median"].median().reset_index()
        cells = cells.assign(median_s=np.exp(cells.pop("log_median")))
        reports[str(name)] = Report(
            path=path.with_name(f"{path.name}#{name}"),
            cells=cells,
            batches=batches,
            metadata={},
            source="batches",
        )
    return reports
