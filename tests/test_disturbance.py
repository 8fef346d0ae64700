"""Disturbance (bench/run/disturbance.py): what else the machine did, and what compare makes of it."""

from __future__ import annotations

import math
import shutil
import time
from pathlib import Path

import pandas as pd

from bench import compare as compare_cli
from bench.analysis.compare import DISTURBED, SLOWER, compare
from bench.reports import files, model, pooling
from bench.run import disturbance
from bench.run.disturbance import CpuSample, between
from bench.run.load import BusyNeighbours

DATA = Path(__file__).parent / "data" / "compare"
SLOW_CELL = ("numpy", 1000, 10)  # the cell tests/data/compare/slower.csv makes slower


def test_a_real_busy_neighbour_is_seen_and_marks_the_benchmark_disturbed():
    neighbours = BusyNeighbours(2)
    neighbours.start()
    try:
        time.sleep(0.2)  # let them start spinning
        before = disturbance.sample()
        time.sleep(0.5)
        seen = between(before, disturbance.sample())
    finally:
        neighbours.stop()
    assert seen.others > 1.0  # two spinning processes on this machine's cores
    assert seen.disturbed


def test_own_cpu_time_is_not_counted_as_a_disturbance():
    before = CpuSample(wall=0.0, own=0.0, busy=100.0, steal=0.0)
    after = CpuSample(wall=1.0, own=2.0, busy=102.05, steal=0.0)  # we used both cores ourselves
    seen = between(before, after)
    assert math.isclose(seen.others, 0.05) and not seen.disturbed
    stolen = between(before, CpuSample(wall=2.0, own=0.0, busy=100.0, steal=1.0))
    assert stolen.steal == 0.5 and stolen.disturbed  # the hypervisor took half a core


def test_unknown_counters_never_call_a_benchmark_disturbed():
    seen = between(None, CpuSample(1.0, 0.0, 0.0, 0.0))
    assert math.isnan(seen.others) and not seen.disturbed


def _copy(tmp_path: Path, name: str, disturbed_cells=()) -> Path:
    for suffix in (".csv", ".rounds.csv"):
        shutil.copy(DATA / f"{name}{suffix}", tmp_path / f"{name}{suffix}")
    path = tmp_path / f"{name}.csv"
    report = pd.read_csv(path)
    report["disturbed"] = [tuple(row) in disturbed_cells for row in report[["kernel", "n", "epochs"]].values]
    report.to_csv(path, index=False)
    return path


def test_a_slower_cell_measured_while_disturbed_is_shown_but_never_judged(tmp_path, capsys):
    base = _copy(tmp_path, "base")
    new = _copy(tmp_path, "slower", disturbed_cells={SLOW_CELL})
    assert compare_cli.main([str(base), str(new)]) == 0  # the only slowdown is disturbed evidence
    out = capsys.readouterr().out
    kernel, n, _ = SLOW_CELL
    assert f"new {new} was measured while other processes took the CPU in 1 cell(s): {kernel} n={n}" in out
    row = next(line for line in out.splitlines() if line.startswith(kernel) and f" {n} " in line)
    assert row.rstrip().endswith(DISTURBED) and "x" in row  # its figures are still shown


def test_a_clean_slower_cell_still_fails_beside_a_disturbed_one(tmp_path):
    base = _copy(tmp_path, "base", disturbed_cells={("numba", 10, 10)})
    new = _copy(tmp_path, "slower")
    table = compare(model.load(base), model.load(new)).table.set_index(["kernel", "n", "epochs"])
    assert table.loc[SLOW_CELL, "verdict"] == SLOWER
    assert table.loc[("numba", 10, 10), "verdict"] == DISTURBED  # disturbed on the base side


def test_pooled_cells_are_disturbed_only_when_no_batch_was_clean(tmp_path):
    everywhere = ("numba", 10, 10)
    paths = []
    for batch, slow_flagged in enumerate([True, True, False]):
        folder = tmp_path / f"b{batch}"
        folder.mkdir()
        flagged = {everywhere, SLOW_CELL} if slow_flagged else {everywhere}
        paths.append(_copy(folder, "base", disturbed_cells=flagged))
    written = files.write(tmp_path / "pooled.csv", *pooling.pool(paths))
    report = model.load(written)
    flagged = report.cells.set_index(["kernel", "n", "epochs"])["disturbed"]
    assert flagged[everywhere] and not flagged[SLOW_CELL]
    assert flagged.sum() == 1
    # The batch flags survive in the rounds: the two disturbed batches of SLOW_CELL are left out of
    # the evidence, while the cell disturbed everywhere keeps all three (and is not judged).
    clean = report.clean_batches.set_index(["kernel", "n", "epochs"])
    assert list(clean.loc[[SLOW_CELL], "batch"]) == [2]
    assert len(clean.loc[[everywhere]]) == 3
    assert report.set_aside == 2
    # The spread between batches counts clean batches only: SLOW_CELL has one, the others three
    # copies of the same report.
    spread = report.cells.set_index(["kernel", "n", "epochs"])["batch_sd"]
    assert math.isnan(spread[SLOW_CELL]) and spread.drop(SLOW_CELL).eq(0).all()
    assert list(report.disturbed_cells.itertuples(index=False, name=None)) == [everywhere]


def test_a_comparison_where_every_cell_is_disturbed_judges_nothing_and_says_so(tmp_path, capsys):
    cells = {tuple(row) for row in pd.read_csv(DATA / "slower.csv")[["kernel", "n", "epochs"]].values}
    base = _copy(tmp_path, "base")
    new = _copy(tmp_path, "slower", disturbed_cells=cells)
    assert compare_cli.main([str(base), str(new)]) == 0
    out = capsys.readouterr().out
    assert "no cell was judged (each cell in common is disturbed or a probe)" in out
    assert "nan" not in out and "resolution: no cell was judged" in out
    table = compare(model.load(base), model.load(new)).table
    assert (table["verdict"] == DISTURBED).all() and not table["significant"].any()


def test_pytest_benchmark_json_keeps_the_disturbance_of_each_cell(tmp_path):
    import json

    benchmarks = [
        {
            "name": f"test_descent[{kernel}]",
            "extra_info": {
                "kernel": kernel,
                "n": 10,
                "epochs": 10,
                "iterations": 1,
                "disturbed": kernel == "numba",
                "others_cores": 0.9 if kernel == "numba" else 0.0,
                "steal_cores": 0.0,
            },
            "stats": {"median": 1e-3, "min": 1e-3, "max": 1e-3, "rounds": 3, "data": [1e-3, 1e-3, 1e-3]},
        }
        for kernel in ("numpy", "numba")
    ]
    path = tmp_path / "run.json"
    path.write_text(json.dumps({"benchmarks": benchmarks, "datetime": "2026-12-01T00:00:00"}))
    report = model.load(path)
    assert report.disturbed_cells.values.tolist() == [["numba", 10, 10]]


def test_a_cell_is_measured_again_until_it_has_as_many_clean_batches_as_planned(tmp_path):
    from bench.run.replicate import cells_to_measure_again

    everywhere, once = ("numba", 10, 10), SLOW_CELL
    paths = []

    def batch(flagged: set) -> None:
        folder = tmp_path / f"b{len(paths)}"
        folder.mkdir()
        paths.append(_copy(folder, "single_base", disturbed_cells=flagged))  # one batch each

    batch({everywhere, once})
    batch({everywhere})
    assert set(cells_to_measure_again(paths, passes=2)) == {everywhere, once}
    batch(set())  # a clean batch: `once` has its two clean batches, `everywhere` one
    assert cells_to_measure_again(paths, passes=2) == [everywhere]
    batch(set())
    assert cells_to_measure_again(paths, passes=2) == []
