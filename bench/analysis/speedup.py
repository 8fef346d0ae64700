"""The end-of-run summary: per cell, the fastest kernel and every kernel's speedup over a baseline.

``summarize`` computes a tidy table from a report's rows; ``bench.present.speedup`` formats it. The
speedup of a kernel is the baseline's median time over the kernel's, in the same cell: ``python_loop``
where it ran, else ``numpy`` (python_loop is skipped in cells over its budget), else none.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

import pandas as pd

from bench.reports.schema import REFERENCE_KERNELS

#: Baselines in order of preference: the reference kernels of every speedup the suite shows.
BASELINES = REFERENCE_KERNELS

SUMMARY_COLUMNS = (
    "n",
    "epochs",
    "kernel",
    "median_s",
    "ns_per_update",
    "baseline",
    "speedup",
    "fastest",
    "x_stream",
)


def summarize(
    cells: pd.DataFrame,
    exclude: Collection[str] = (),
    baselines: Sequence[str] = BASELINES,
) -> pd.DataFrame:
    """Per (n, epochs, kernel): median, ns per update, baseline, speedup, and whether it is fastest.

    ``cells`` needs the report columns kernel, n, epochs, median_s and ns_per_update. Rows of kernels
    in ``exclude`` (benchmark-only probes) are left out. Cells keep their order of appearance.
    """
    kept = cells.loc[~cells["kernel"].isin(list(exclude))]
    parts = []
    for _, cell in kept.groupby(["n", "epochs"], sort=False):
        present = set(cell["kernel"])
        baseline = next((name for name in baselines if name in present), None)
        part = cell[["n", "epochs", "kernel", "median_s", "ns_per_update"]].copy()
        if baseline is None:
            part["baseline"] = None
            part["speedup"] = float("nan")
        else:
            baseline_s = float(cell.loc[cell["kernel"] == baseline, "median_s"].iloc[0])
            part["baseline"] = baseline
            part["speedup"] = baseline_s / part["median_s"]
        part["fastest"] = part["median_s"] == part["median_s"].min()
        part["x_stream"] = cell["x_stream"] if "x_stream" in cell.columns else float("nan")
        parts.append(part)
    if not parts:
        return pd.DataFrame(columns=list(SUMMARY_COLUMNS))
    return pd.concat(parts, ignore_index=True)[list(SUMMARY_COLUMNS)]
