"""The gate's adaptive plan (bench/gating/adaptive.py) on synthetic batches: which cells are measured
again, which verdicts stand from the first round, and the time budget. No process is started: the
batch runner is replaced by one that writes reports of known times."""

from __future__ import annotations

import math
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from bench.analysis.compare import SLOWER, UNCHANGED, Comparison
from bench.gating import adaptive, batches
from bench.reports import files, frames

KERNELS = ("numpy", "numba", "numba_simd", "numpy_fast")
CELLS = [(kernel, n, 10) for kernel in KERNELS for n in (10, 1000)]
SLOWED = ("numba", 1000, 10)
#: Extra rounds at most, whatever the budget (the gate's own cap is higher; fewer keep the test fast).
EXTRA_ROUNDS = 8


def fake_runner(slowdown: float, seed: int = 0, batch_sd: float = 0.05):
    """A stand-in for ``batches.run_batch``: writes a report whose cells scatter by ``batch_sd`` (log)
    between batches, as processes do; the "new" side's SLOWED cell is ``slowdown`` times slower.
    Records what it measured."""
    measured: list[tuple[str, int, tuple]] = []
    rng = np.random.default_rng(seed)

    def run_batch(tree: Path, grid, csv: Path, log: Path, index: int, cells=None) -> Path:
        side = csv.name.split("-")[0]
        chosen = list(cells) if cells is not None else CELLS
        measured.append((side, index, tuple(chosen)))
        results = []
        for kernel, n, epochs in chosen:
            centre = 1e-5 * n * (1 + KERNELS.index(kernel))
            if side == "new" and (kernel, n, epochs) == SLOWED:
                centre *= slowdown
            batch = centre * math.exp(rng.normal(0, batch_sd))
            rounds = tuple(batch * math.exp(rng.normal(0, 0.01)) for _ in range(20))
            results.append(frames.CellResult(kernel, n, epochs, rounds))
        metadata = {"run_id": f"{side}-{index}", "git_commit": side}
        return files.write(csv, frames.cells_frame(results, {}, metadata), frames.rounds_frame(results))

    return run_batch, measured


def decide(
    tmp_path: Path, monkeypatch, slowdown: float, budget: float, seed: int = 0, first: int = 3, batch_sd=0.05
) -> tuple:
    run_batch, measured = fake_runner(slowdown, seed, batch_sd)
    monkeypatch.setattr(batches, "run_batch", run_batch)
    monkeypatch.setattr(adaptive, "MAX_EXTRA_ROUNDS", EXTRA_ROUNDS)
    decision = adaptive.measure_and_decide(
        {"base": tmp_path, "new": tmp_path},
        batches.Grid(),
        first,
        tmp_path / "work",
        tmp_path / "out",
        began=time.monotonic(),
        budget=budget,
        threshold=0.10,
        alpha=0.05,
        between_run_sd=0.08,
    )
    return decision, measured


def rows(comparison: Comparison) -> pd.DataFrame:
    return comparison.table.set_index(["kernel", "n", "epochs"])


def test_only_open_cells_are_measured_again_and_settled_verdicts_stand(tmp_path, monkeypatch):
    decision, measured = decide(tmp_path, monkeypatch, slowdown=1.5, budget=math.inf)
    first = rows(decision.first)
    # The first round measured every cell on both sides; later batches only the reopened cells.
    assert [m[:2] for m in measured[:6]] == [
        (s, i) for i in range(3) for s in (("base", "new") if i % 2 == 0 else ("new", "base"))
    ]
    assert all(cells == tuple(CELLS) for *_, cells in measured[:6])
    assert decision.extra_rounds == EXTRA_ROUNDS  # an infinite budget: every round allowed
    assert all(set(cells) == set(decision.reopened) for *_, cells in measured[6:])
    assert decision.reopened == adaptive.open_cells(decision.first)
    # Reopened: verdict unchanged and an interval reaching past the threshold; no other cell.
    for cell, row in first.iterrows():
        could_be_slower = row["verdict"] == UNCHANGED and row["ci_high"] >= 1.10
        assert (cell in decision.reopened) == could_be_slower, cell
    final = rows(decision.comparison)
    settled = [cell for cell in first.index if cell not in decision.reopened]
    pd.testing.assert_frame_equal(final.loc[settled, first.columns], first.loc[settled], check_dtype=False)
    assert list(final.index[final["verdict"] == SLOWER]) == [SLOWED]
    # Both looks test at alpha / 2.
    assert decision.first.alpha == pytest.approx(0.025) and decision.comparison.alpha == pytest.approx(0.025)


def test_a_slowdown_missed_by_the_first_round_is_caught_with_more_batches(tmp_path, monkeypatch):
    decision, _ = decide(tmp_path, monkeypatch, slowdown=1.2, budget=math.inf, first=2, batch_sd=0.08)
    assert rows(decision.first).loc[SLOWED, "verdict"] == UNCHANGED  # 2 + 2 batches: not enough
    assert SLOWED in decision.reopened
    assert rows(decision.comparison).loc[SLOWED, "verdict"] == SLOWER


def test_no_budget_means_the_first_round_only(tmp_path, monkeypatch):
    decision, measured = decide(tmp_path, monkeypatch, slowdown=1.2, budget=0.0)
    assert len(measured) == 6 and decision.extra_rounds == 0 and decision.reopened == []
    pd.testing.assert_frame_equal(decision.comparison.table, decision.first.table)


def test_the_pooled_reports_hold_every_batch_of_their_side(tmp_path, monkeypatch):
    decision, measured = decide(tmp_path, monkeypatch, slowdown=1.5, budget=math.inf)
    for side, report in decision.reports.items():
        assert report.path == tmp_path / "out" / f"{side}.csv"
        mine = [index for who, index, _ in measured if who == side]
        assert sorted(report.batches["batch"].unique()) == list(range(len(mine)))
