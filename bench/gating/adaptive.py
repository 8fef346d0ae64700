"""The gate's measuring plan: a first round of batches of every cell, then more batches of the cells
whose verdict is still open, for as long as the time budget allows.

After the first round (``first`` batches per side, interleaved) each cell is compared. A cell is
*settled* when it is called slower, or when its interval's upper end is below 1 + threshold (it
cannot be slower by as much as the threshold); it is *open* otherwise, and so is a cell whose
evidence was disturbed on a side. Open cells get more batches, both sides in turn, only they, until
the budget would be overrun. The final verdict of a settled cell is its first-round verdict; of an
open one, its verdict on all its batches. Either look tests at level alpha/2, so the chance of any
false "slower" over both stays at most alpha (a union bound: a cell is only ever judged on its
first-round data or on all of it).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

import pandas as pd

from bench.analysis.compare import DISTURBED, FASTER, SLOWER, UNCHANGED, Comparison, compare, geometric_means
from bench.gating import batches
from bench.reports import files, model, pooling
from bench.reports.model import Report
from bench.reports.schema import CELL

#: Looks at the data: the first round, and all batches once the open cells are measured again.
LOOKS = 2
#: Seconds from the gate's start within which it finishes measuring, unless --budget says otherwise.
DEFAULT_BUDGET = 160.0
#: Most extra rounds of the open cells, whatever the budget.
MAX_EXTRA_ROUNDS = 20
_KEY = list(CELL)


@dataclass
class Decision:
    """What the gate measured and decided."""

    #: The pooled reports, by side.
    reports: dict[str, Report]
    #: The final comparison (settled cells from the first round, open cells from all batches).
    comparison: Comparison
    #: The comparison after the first round.
    first: Comparison
    #: Cells measured again after the first round, and in how many extra rounds.
    reopened: list[tuple[str, int, int]] = field(default_factory=list)
    extra_rounds: int = 0


def open_cells(comparison: Comparison) -> list[tuple[str, int, int]]:
    """Cells whose first-round verdict is still open: possibly slower by the threshold, or disturbed."""
    table = comparison.table
    undecided = (table["verdict"] == UNCHANGED) & (table["ci_high"] >= 1 + comparison.threshold)
    chosen = table[undecided | (table["verdict"] == DISTURBED)]
    return [(str(k), int(n), int(e)) for k, n, e in chosen[_KEY].itertuples(index=False, name=None)]


def measure_and_decide(
    trees: dict[str, Path],
    grid: batches.Grid,
    first: int,
    work: Path,
    out: Path,
    *,
    began: float,
    budget: float,
    threshold: float,
    alpha: float,
    between_run_sd: float,
    progress: Callable[[str], None] | None = None,
) -> Decision:
    """Measure ``trees`` (base first, then new) as above; pooled reports go to ``out`` as
    ``<side>.csv``, batch reports under ``work``. ``began`` is the gate's start (time.monotonic)."""
    say = progress or (lambda line: None)
    level = alpha / LOOKS

    def judge(paths: dict[str, list[Path]], folder: Path) -> tuple[dict[str, Report], Comparison]:
        reports = {
            side: model.load(files.write(folder / f"{side}.csv", *pooling.pool(paths[side])))
            for side in paths
        }
        base, new = reports.values()
        return reports, compare(base, new, threshold=threshold, alpha=level, between_run_sd=between_run_sd)

    with batches.shared_jit_cache(work):
        paths = batches.measure(trees, grid, first, work, progress)
        _, first_look = judge(paths, work / "first-round")
        reopened = open_cells(first_look)
        rounds, round_cost = 0, (time.monotonic() - began) / max(first, 1)
        if reopened:
            say(f"{len(reopened)} cell(s) still open after the first round: measuring them again")
        sides = list(trees)
        while reopened and rounds < MAX_EXTRA_ROUNDS and time.monotonic() - began + round_cost <= budget:
            start = time.monotonic()
            for side in sides if rounds % 2 else sides[::-1]:  # new/base, base/new, … after base/new
                index = first + rounds
                csv = work / f"{side}-{index}.csv"
                log = work / "logs" / f"{side}-{index}.log"
                paths[side].append(batches.run_batch(trees[side], grid, csv, log, index, reopened))
            rounds += 1
            round_cost = time.monotonic() - start
            say(f"extra round {rounds}: {len(reopened)} open cell(s), {round_cost:.0f} s")
    final_reports, final = judge(paths, out)
    if not rounds:  # the same batches as the first look: the same verdicts
        return Decision(final_reports, final, first_look, [], 0)
    final = settled_from_first(final, first_look, reopened)
    return Decision(final_reports, final, first_look, reopened, rounds)


def settled_from_first(
    final: Comparison, first: Comparison, reopened: list[tuple[str, int, int]]
) -> Comparison:
    """``final`` with each cell not measured again given its first-round row and verdict."""
    again = pd.MultiIndex.from_tuples(reopened, names=_KEY)
    table = final.table.set_index(_KEY)
    earlier = first.table.set_index(_KEY)
    settled = earlier.index.difference(again).intersection(table.index)
    table.loc[settled, earlier.columns] = earlier.loc[settled]
    table = table.reset_index()
    judged = table[table["verdict"].isin([SLOWER, UNCHANGED, FASTER])]
    return replace(final, table=table, geomeans=geometric_means(judged))
