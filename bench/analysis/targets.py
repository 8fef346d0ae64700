"""The suite's performance targets: how close the kernels come to the machine, as ratios of medians
in the same cell of one report (each target is listed in ``evaluate``; docs/running.md says why
each one is set where it is).
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from bench.reports.schema import PROBE_KERNELS

#: Kernels that read the data once per call, not once per epoch (O(N + epochs) or better).
READ_ONCE_KERNELS = ("sufficient_stats", "closed_form", "dask_stats")


@dataclass(frozen=True)
class Verdict:
    """One target: what it asks, the ratio in each cell it concerns, and whether every one holds."""

    target: str
    #: (n, epochs, ratio of medians) per cell.
    cells: tuple[tuple[int, int, float], ...]
    limit: float
    #: The target is ``ratio >= limit`` (a speedup) rather than ``ratio <= limit`` (a cost).
    at_least: bool = False

    def holds(self, ratio: float) -> bool:
        """Whether one cell's ratio meets the target."""
        return ratio >= self.limit if self.at_least else ratio <= self.limit

    @property
    def met(self) -> bool | None:
        """True or False; None when the report has no cell for this target."""
        return None if not self.cells else all(self.holds(ratio) for _, _, ratio in self.cells)


def _ratio(report: pd.DataFrame, top: str, bottom: str, where) -> tuple[tuple[int, int, float], ...]:
    """median(top) / median(bottom) in every cell where both ran and ``where(n, epochs)`` holds."""
    medians = report.pivot_table(index=["n", "epochs"], columns="kernel", values="median_s")
    if top not in medians or bottom not in medians:
        return ()
    ratios = (medians[top] / medians[bottom]).dropna()
    return tuple((int(n), int(e), float(r)) for (n, e), r in ratios.items() if where(n, e))


def evaluate(report: pd.DataFrame) -> list[Verdict]:
    """Every target's verdict on ``report`` (a validated report's cells, ``Report.cells``)."""
    kernels = report[~report["kernel"].isin(PROBE_KERNELS)]
    per_epoch = kernels[~kernels["kernel"].isin(READ_ONCE_KERNELS) & (kernels["kernel"] != "jax")]
    jax = report[report["kernel"] == "jax"].set_index(["n", "epochs"])["median_s"]

    def vs_jax(contenders: pd.DataFrame) -> tuple[tuple[int, int, float], ...]:
        if contenders.empty:
            return ()
        fastest = contenders.loc[contenders.groupby(["n", "epochs"])["median_s"].idxmin()]
        return tuple(
            (int(row.n), int(row.epochs), float(jax[(row.n, row.epochs)] / row.median_s))
            for row in fastest.itertuples()
            if row.n >= 1_000 and (row.n, row.epochs) in jax.index
        )

    suff = report[(report["kernel"] == "sufficient_stats") & (report["n"] == 100_000)]
    by_epochs = suff.set_index("epochs")["median_s"]
    growth = (
        ((100_000, 100, float(by_epochs[100] / by_epochs[10])),) if {10, 100} <= set(by_epochs.index) else ()
    )
    return [
        Verdict(
            "numba_simd ≤ 1.15× stream at N ≥ 10^5",
            _ratio(report, "numba_simd", "stream", lambda n, e: n >= 100_000),
            1.15,
        ),
        Verdict(
            "numba_parallel ≥ 1.8× faster than numba_simd at N = 10^6",
            _ratio(report, "numba_simd", "numba_parallel", lambda n, e: n == 1_000_000),
            1.8,
            at_least=True,
        ),
        Verdict("sufficient_stats at 100 epochs ≤ 1.5× its 10-epoch time at N = 10^5", growth, 1.5),
        Verdict("fastest kernel ≥ 2× faster than jax at N ≥ 10^3", vs_jax(kernels), 2.0, at_least=True),
        Verdict(
            "fastest kernel reading all data every epoch ≥ 2× faster than jax at N ≥ 10^3",
            vs_jax(per_epoch),
            2.0,
            at_least=True,
        ),
        Verdict(
            "numpy_fast ≤ 3× numba_simd at N ≥ 10^5",
            _ratio(report, "numpy_fast", "numba_simd", lambda n, e: n >= 100_000),
            3.0,
        ),
    ]
