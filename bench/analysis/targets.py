"""The suite's performance targets: how close the kernels come to the machine, as ratios of medians
in the same cell of one report (each target is listed in ``evaluate``; docs/running.md says why
each one is set where it is).
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from bench.reports.schema import PROBE_KERNELS, STREAM_PROBE

#: Kernels that read the data once per call, not once per epoch (O(N + epochs) or better).
READ_ONCE_KERNELS = ("sufficient_stats", "sufficient_stats_parallel", "closed_form", "dask_stats")
#: Busy neighbours (``--load``) from which a run counts as measured under contention.
LOADED = 3


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


def _quiet_and_loaded(report: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The rows measured without a deliberate load, and those with at least ``LOADED`` neighbours."""
    if "load" not in report:
        return report, report.iloc[0:0]
    load = pd.to_numeric(report["load"], errors="coerce").fillna(0)
    return report[load == 0], report[load >= LOADED]


def _per_pass(report: pd.DataFrame, contenders: pd.DataFrame, n: int, epochs: int) -> tuple:
    """The fastest of ``contenders`` at (n, epochs) over one pass of the stream probe there."""
    cell = contenders[(contenders["n"] == n) & (contenders["epochs"] == epochs)]
    stream = report[(report["kernel"] == STREAM_PROBE) & (report["n"] == n) & (report["epochs"] == epochs)]
    if cell.empty or stream.empty:
        return ()
    one_pass = float(stream["median_s"].iloc[0]) / epochs
    return ((n, epochs, float(cell["median_s"].min()) / one_pass),)


def evaluate(report: pd.DataFrame) -> list[Verdict]:
    """Every target's verdict on ``report`` (a validated report's cells, ``Report.cells``).

    Rows measured under a deliberate load (the ``load`` column, ``--load``) count only for the
    target about contention; every other target reads the quiet rows.
    """
    report, loaded = _quiet_and_loaded(report)
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
            "numba_simd ≤ 1.10× stream at N ≥ 10^5",
            _ratio(report, "numba_simd", STREAM_PROBE, lambda n, e: n >= 100_000),
            1.10,
        ),
        Verdict(
            "numba_parallel ≥ 1.8× faster than numba_simd at N = 10^6",
            _ratio(report, "numba_simd", "numba_parallel", lambda n, e: n == 1_000_000),
            1.8,
            at_least=True,
        ),
        Verdict(
            f"numba_parallel ≤ 1.3× numba_simd with {LOADED} or more busy neighbours at N = 10^6",
            _ratio(loaded, "numba_parallel", "numba_simd", lambda n, e: n == 1_000_000),
            1.3,
        ),
        Verdict(
            "fastest O(N + epochs) kernel ≤ 1.25× one stream pass at N = 10^6, 10 epochs",
            _per_pass(report, kernels[kernels["kernel"].isin(READ_ONCE_KERNELS)], 1_000_000, 10),
            1.25,
        ),
        Verdict(
            "fastest kernel ≤ 0.7× one stream pass at N = 10^6, 10 epochs",
            _per_pass(report, kernels, 1_000_000, 10),
            0.7,
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
