"""Pooling: one report from the reports of several batches of the same code (a batched sweep, the
gate's sides, an A/A run's sides). Rounds keep their batch and its disturbance flag."""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from bench.reports import files, frames
from bench.reports.model import batches_from_rounds, clean_batches, load, load_rounds
from bench.reports.schema import (
    BATCH,
    CELL,
    CELL_COLUMNS,
    DISTURBED,
    ROUNDS_COLUMNS,
    TRAILING_COLUMNS,
    ReportError,
)

#: The pooled report's column of each cell's spread between batches (``batch_spread``).
BATCH_SD = "batch_sd"


def pool(paths: Sequence[Path]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """One report (cells, rounds) from the reports of several batches of the same code.

    Rounds are concatenated with a ``batch`` column (0, 1, … in the order of ``paths``) and a
    ``disturbed`` column (the batch's own flag for that cell); a batch may hold only some cells (a
    re-measurement). The cell statistics are recomputed over the pooled rounds the way a single run
    computes them; the metadata come from the first batch, plus a ``batches`` column; compile_s and
    iterations (calls per round, which each batch plans for itself) are the medians over batches. A
    pooled cell is ``disturbed`` when none of its batches was clean; ``others_cores`` and
    ``steal_cores`` are means over batches; ``batch_sd`` is its spread between batches.
    """
    rounds_parts, compile_parts, iteration_parts, disturbance_parts = [], [], [], []
    loaded = [load(path) for path in paths]
    for batch, one in enumerate(loaded):
        if "compile_s" in one.cells:
            compile_parts.append(one.cells.groupby("kernel")["compile_s"].first())
        if "iterations" in one.cells:
            iteration_parts.append(one.cells.set_index(list(CELL))["iterations"])
        flags = one.batches[[*CELL, DISTURBED]]
        if DISTURBED in one.cells:
            disturbance_parts.append(one.cells.reindex(columns=[*CELL, "others_cores", "steal_cores"]))
        found = files.find_rounds(one.path)
        if found is None:
            raise ReportError(
                f"{one.path} has no rounds file beside it: batches are pooled from their rounds"
            )
        rounds = load_rounds(found).drop(columns=[BATCH, DISTURBED], errors="ignore")
        rounds_parts.append(rounds.merge(flags, on=list(CELL), how="left").assign(**{BATCH: batch}))
    rounds = pd.concat(rounds_parts, ignore_index=True)
    rounds[DISTURBED] = rounds[DISTURBED].eq(True)
    compile_s = pd.concat(compile_parts, axis=1).median(axis=1) if compile_parts else pd.Series()
    iterations = pd.concat(iteration_parts, axis=1).median(axis=1).round() if iteration_parts else pd.Series()
    clean = (~rounds[DISTURBED]).groupby([rounds[c] for c in CELL]).any()
    seen = {}
    if disturbance_parts:
        both = pd.concat(disturbance_parts, ignore_index=True)
        means = both.groupby(list(CELL)).agg(others=("others_cores", "mean"), steal=("steal_cores", "mean"))
        seen = {key: (row.others, row.steal) for key, row in means.iterrows()}
    results = [
        frames.CellResult(
            kernel,
            int(n),
            int(epochs),
            tuple(group["seconds"]),
            int(iterations.get((kernel, n, epochs), 1)),
            *seen.get((kernel, n, epochs), (math.nan, math.nan)),
            disturbed=not clean[(kernel, n, epochs)],
        )
        for (kernel, n, epochs), group in rounds.groupby(list(CELL), sort=False)
    ]
    first = loaded[0].cells
    skip = {*CELL_COLUMNS, *TRAILING_COLUMNS}
    metadata = {c: first[c].iloc[0] for c in first.columns if c not in skip}
    metadata["batches"] = int(rounds[BATCH].nunique())
    cells = frames.cells_frame(
        results, {k: (None if pd.isna(v) else float(v)) for k, v in compile_s.items()}, metadata
    )
    rounds = rounds[[*ROUNDS_COLUMNS, BATCH, DISTURBED]]
    spread = batch_spread(rounds)
    cells[BATCH_SD] = [
        spread.get(key, math.nan) for key in cells[list(CELL)].itertuples(index=False, name=None)
    ]
    return cells, rounds


def batch_spread(rounds: pd.DataFrame) -> dict[tuple, float]:
    """Per cell, the standard deviation of its clean batches' log medians (NaN with fewer than two):
    the relative spread of its time from one process to the next."""
    clean = clean_batches(batches_from_rounds(rounds))
    return clean.groupby(list(CELL))["log_median"].std().to_dict()
