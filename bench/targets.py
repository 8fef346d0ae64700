"""Check a report against the suite's performance targets: how close the kernels come to the machine.

``python -m bench.targets REPORT.csv`` prints one line per target — the ratio measured in each cell it
concerns, and whether it holds — and exits 0 whatever the verdicts (a missed target is information,
not an error; 2 for a report it cannot read). The targets, as ratios of medians in the same cell:

Each cell's line shows the ratio the target is about (a cost ratio or a speedup, as named).

- the fastest single-thread kernel that reads all data every epoch (``numba_simd``) within 1.15× of
  the ``stream`` probe at N ≥ 10^5;
- ``numba_parallel`` at least 1.8× faster than ``numba_simd`` at N = 10^6;
- ``sufficient_stats`` at 100 epochs at most 1.5× its time at 10 epochs, at N = 10^5;
- the fastest kernel at least 2× faster than ``jax`` at every N ≥ 10^3 — shown also for the fastest
  kernel that, like ``jax``, reads all the data every epoch, since the O(N + epochs) kernels win the
  literal target by algebra alone;
- ``numpy_fast`` within 3× of ``numba_simd`` at N ≥ 10^5.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from bench.formatting import format_count, format_ratio
from bench.plot import load_report
from bench.report import ReportError
from bench.scaling import PROBE_KERNELS
from impls.cli import OneLineParser

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
    """Every target's verdict on ``report`` (a validated report, see ``bench.plot.load_report``)."""
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
    growth = ((100_000, 100, float(by_epochs[100] / by_epochs[10])),) if {
        10, 100} <= set(by_epochs.index) else ()  # fmt: skip
    return [
        Verdict("numba_simd ≤ 1.15× stream at N ≥ 10^5",
                _ratio(report, "numba_simd", "stream", lambda n, e: n >= 100_000), 1.15),
        Verdict("numba_parallel ≥ 1.8× faster than numba_simd at N = 10^6",
                _ratio(report, "numba_simd", "numba_parallel", lambda n, e: n == 1_000_000), 1.8,
                at_least=True),
        Verdict("sufficient_stats at 100 epochs ≤ 1.5× its 10-epoch time at N = 10^5", growth, 1.5),
        Verdict("fastest kernel ≥ 2× faster than jax at N ≥ 10^3", vs_jax(kernels), 2.0, at_least=True),
        Verdict("fastest kernel reading all data every epoch ≥ 2× faster than jax at N ≥ 10^3",
                vs_jax(per_epoch), 2.0, at_least=True),
        Verdict("numpy_fast ≤ 3× numba_simd at N ≥ 10^5",
                _ratio(report, "numpy_fast", "numba_simd", lambda n, e: n >= 100_000), 3.0),
    ]  # fmt: skip


def render(verdicts: Sequence[Verdict]) -> str:
    """One block per target: the verdict, then the ratio in each cell."""
    lines = []
    for verdict in verdicts:
        state = {True: "met", False: "NOT met", None: "no data in this report"}[verdict.met]
        lines.append(f"{verdict.target}: {state}")
        for n, epochs, ratio in verdict.cells:
            mark = "" if verdict.holds(ratio) else "  <- misses"
            lines.append(f"  N={format_count(n)} epochs={epochs}: {format_ratio(ratio)}{mark}")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Print the verdicts on one report; 2 with one line on stderr when it cannot be read."""
    parser = OneLineParser(prog="python -m bench.targets", description=__doc__.split("\n\n")[0])
    parser.add_argument("report", type=Path, help="a benchmark report (CSV)")
    args = parser.parse_args(argv)
    try:
        verdicts = evaluate(load_report(args.report))
    except ReportError as exc:
        print(f"{parser.prog}: error: {exc}", file=sys.stderr)
        return 2
    print(render(verdicts))
    return 0


if __name__ == "__main__":
    sys.exit(main())
