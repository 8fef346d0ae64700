"""The end-of-run summary's tables: one line per cell, one column per kernel."""

from __future__ import annotations

import math

import pandas as pd

from bench.present.formatting import format_ratio
from bench.present.tables import table_lines


def render(summary: pd.DataFrame, value: str = "speedup") -> str:
    """``summary`` as a text table: one line per cell, one column per kernel holding ``value``
    ("speedup" over the cell's baseline, or "x_stream", the time as a multiple of the stream probe's).
    """
    if summary.empty:
        return "no cell finished"
    kernels = list(dict.fromkeys(summary["kernel"]))
    lines = []
    for (n, epochs), cell in summary.groupby(["n", "epochs"], sort=False):
        fastest = cell.loc[cell["fastest"]].iloc[0]
        values = dict(zip(cell["kernel"], cell[value]))
        baseline = cell["baseline"].iloc[0]
        row = {
            "n": f"{n:,}",
            "epochs": f"{epochs:,}",
            "fastest": fastest["kernel"],
            "ns/update": f"{fastest['ns_per_update']:.3g}",
        }
        if value == "speedup":
            row["speedup over"] = baseline if isinstance(baseline, str) else "—"
        for kernel in kernels:
            row[kernel] = format_ratio(values.get(kernel, math.nan))
        lines.append(row)
    header = list(lines[0])
    right = {i for i, name in enumerate(header) if name != "fastest" and name != "speedup over"}
    return "\n".join(table_lines(header, [[row[c] for c in header] for row in lines], right=right))
