"""A run's timed results as the two tables of a report: one row per cell, and every round.

The cell statistics are pytest-benchmark's own (its ``Stats`` class), so the report agrees with the
table it prints to the last digit, quartile convention included.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import pandas as pd
from pytest_benchmark.stats import Stats

from bench.reports.schema import (
    CELL_COLUMNS,
    DISTURBED,
    ROUNDS_COLUMNS,
    STREAM_PROBE,
    TRAILING_COLUMNS,
    ns_per_update,
)


@dataclass(frozen=True)
class CellResult:
    """The timed rounds of one kernel in one (n, epochs) cell."""

    kernel: str
    n: int
    epochs: int
    #: Seconds per call of each timed round, in the order they ran.
    seconds: tuple[float, ...]
    #: Calls per round; each entry of ``seconds`` is the mean over them.
    iterations: int = 1
    #: CPU taken by other processes and by the hypervisor while the cell ran, in cores (NaN: unknown).
    others_cores: float = math.nan
    steal_cores: float = math.nan
    #: Whether that was enough to call the cell disturbed.
    disturbed: bool = False


def cells_frame(
    results: Iterable[CellResult],
    compile_s: Mapping[str, float | None],
    metadata: Mapping[str, object],
) -> pd.DataFrame:
    """One row per result: statistics, compile time, then ``metadata`` (same on every row)."""

    rows = []
    for result in results:
        stats = Stats()
        for seconds in result.seconds:
            stats.update(seconds)
        compile_time = compile_s.get(result.kernel)
        rows.append(
            {
                "kernel": result.kernel,
                "n": result.n,
                "epochs": result.epochs,
                "rounds": stats.rounds,
                "min_s": stats.min,
                "max_s": stats.max,
                "median_s": stats.median,
                "mean_s": stats.mean,
                "stddev_s": stats.stddev,
                "iqr_s": stats.iqr,
                "ns_per_update": ns_per_update(stats.median, result.n, result.epochs),
                "compile_s": float("nan") if compile_time is None else compile_time,
                "x_stream": float("nan"),
                **metadata,
                "iterations": result.iterations,
                "others_cores": result.others_cores,
                "steal_cores": result.steal_cores,
                "disturbed": result.disturbed,
            }
        )
    columns = [*CELL_COLUMNS, *metadata, *TRAILING_COLUMNS]
    frame = pd.DataFrame(rows, columns=columns)
    frame["x_stream"] = times_stream(frame)
    integers = ["n", "epochs", "rounds", "iterations"]
    floats = list(CELL_COLUMNS[4:])
    return frame.astype({**dict.fromkeys(integers, "int64"), **dict.fromkeys(floats, "float64")})


def times_stream(cells: pd.DataFrame) -> pd.Series:
    """Each row's median as a multiple of the stream probe's median in the same (n, epochs) cell.

    NaN where the cell has no stream row (the probe was not timed, or was skipped there).
    """
    stream = cells.loc[cells["kernel"] == STREAM_PROBE, ["n", "epochs", "median_s"]]
    stream = stream.rename(columns={"median_s": "stream_s"})
    merged = cells[["n", "epochs", "median_s"]].merge(stream, on=["n", "epochs"], how="left")
    return pd.Series(merged["median_s"].to_numpy() / merged["stream_s"].to_numpy(), index=cells.index)


def rounds_frame(results: Iterable[CellResult]) -> pd.DataFrame:
    """Every timed round, one row each: kernel, n, epochs, round (0-based), seconds (per call), and
    whether its cell was measured while the machine was disturbed."""
    rows = [
        (result.kernel, result.n, result.epochs, index, seconds, bool(result.disturbed))
        for result in results
        for index, seconds in enumerate(result.seconds)
    ]
    frame = pd.DataFrame(rows, columns=[*ROUNDS_COLUMNS, DISTURBED])
    return frame.astype(
        {"n": "int64", "epochs": "int64", "round": "int64", "seconds": "float64", DISTURBED: "bool"}
    )
