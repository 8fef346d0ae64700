"""bench.compare on the committed fixture reports (tests/data/compare/, built by make_fixtures.py).

Each fixture differs from ``base`` by a known change (one cell 30% slower, one 30% faster, every
cell 5% slower, a cell dropped and a kernel added, another machine); the tests check that the
comparison finds exactly that change, and that bad input is one line on stderr with exit status 2.
"""

from __future__ import annotations

import io
import math
import shutil
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from bench import compare as compare_cli
from bench.analysis import cell_statistics as cs
from bench.analysis import compare as cmp
from bench.present import comparison as present
from bench.reports import model

DATA = Path(__file__).parent / "data" / "compare"
sys.path.insert(0, str(DATA))
# The fixtures' own definitions (which cell changed, by how much) are what the tests expect.
import make_fixtures as fx  # noqa: E402

sys.path.remove(str(DATA))

CELL = ["kernel", "n", "epochs"]
GRID = [(k, n, fx.EPOCHS) for k in fx.KERNELS for n in fx.SIZES]


def run(capsys, *args: str) -> tuple[int, str, str]:
    try:
        status = compare_cli.main([str(a) for a in args])
    except SystemExit as exit_:  # argparse's usage errors
        status = exit_.code
    out, err = capsys.readouterr()
    return status, out, err


def verdicts(base: str, new: str, **options) -> dict[tuple, str]:
    comparison = cmp.compare(model.load(DATA / base), model.load(DATA / new), **options)
    return {(row.kernel, row.n, row.epochs): row.verdict for row in comparison.table.itertuples()}


def geometric_mean_of_batch_medians(name: str, cell: tuple) -> float:
    rounds = pd.read_csv(DATA / f"{name}.rounds.csv")
    mine = rounds[(rounds[CELL] == pd.Series(cell, index=CELL)).all(axis=1)]
    medians = mine.groupby("batch")["seconds"].median()
    return math.exp(np.log(medians).mean())


# --- verdicts on the fixtures ---------------------------------------------------------------------


def test_same_code_twice_has_no_change_and_exits_0(capsys):
    status, out, err = run(capsys, DATA / "base.csv", DATA / "aa.csv")
    assert status == 0
    assert set(verdicts("base.csv", "aa.csv").values()) == {cmp.UNCHANGED}
    assert "regression" not in out
    assert err == ""


def test_one_cell_30_percent_slower_is_named_and_exits_1(capsys):
    status, out, _ = run(capsys, DATA / "base.csv", DATA / "slower.csv")
    assert status == 1
    found = verdicts("base.csv", "slower.csv")
    assert found.pop(fx.SLOW_CELL) == cmp.SLOWER
    assert set(found.values()) == {cmp.UNCHANGED}
    expected = geometric_mean_of_batch_medians("slower", fx.SLOW_CELL) / (
        geometric_mean_of_batch_medians("base", fx.SLOW_CELL)
    )
    kernel, n, epochs = fx.SLOW_CELL
    named = [line for line in out.splitlines() if line.startswith("regression:")]
    assert named == [line for line in named if f"{kernel} n={n} epochs={epochs}" in line]
    assert len(named) == 1
    assert f"{expected:.2f}x" in named[0]


def test_one_cell_faster_is_faster_and_exits_0(capsys):
    status, _, _ = run(capsys, DATA / "base.csv", DATA / "faster.csv")
    assert status == 0
    found = verdicts("base.csv", "faster.csv")
    assert found.pop(fx.FAST_CELL) == cmp.FASTER
    assert set(found.values()) == {cmp.UNCHANGED}


def test_swapping_the_reports_swaps_slower_and_faster():
    assert verdicts("slower.csv", "base.csv")[fx.SLOW_CELL] == cmp.FASTER
    assert verdicts("faster.csv", "base.csv")[fx.FAST_CELL] == cmp.SLOWER


def test_a_change_under_the_threshold_is_no_significant_change(capsys):
    status, _, _ = run(capsys, DATA / "base.csv", DATA / "small_change.csv")
    assert status == 0
    assert set(verdicts("base.csv", "small_change.csv").values()) == {cmp.UNCHANGED}


def test_threshold_above_the_change_clears_it_and_below_keeps_it(capsys):
    assert run(capsys, DATA / "base.csv", DATA / "slower.csv", "--threshold", "0.5")[0] == 0
    assert run(capsys, DATA / "base.csv", DATA / "slower.csv", "--threshold", "0.2")[0] == 1


def test_cells_in_one_report_only_are_added_or_removed(capsys):
    found = verdicts("base.csv", "added_removed.csv")
    assert found[fx.DROPPED_CELL] == cmp.REMOVED
    added = {cell for cell, verdict in found.items() if verdict == cmp.ADDED}
    assert added == {(fx.ADDED_KERNEL, n, fx.EPOCHS) for n in fx.SIZES}
    status, out, _ = run(capsys, DATA / "base.csv", DATA / "added_removed.csv")
    assert status == 0
    assert "2 added, 1 removed" in out


def test_different_machines_give_one_warning_naming_what_differs(capsys):
    _, out, _ = run(capsys, DATA / "base.csv", DATA / "other_machine.csv")
    warnings = [line for line in out.splitlines() if line.startswith("warning:")]
    assert len(warnings) == 1
    assert "host (runner-1 vs runner-2)" in warnings[0]
    assert "numpy_version (2.1.0 vs 2.4.0)" in warnings[0]
    assert "python_version" not in warnings[0]
    _, same, _ = run(capsys, DATA / "base.csv", DATA / "aa.csv")
    assert "warning" not in same


def test_geometric_means_per_kernel_and_overall():
    comparison = cmp.compare(model.load(DATA / "base.csv"), model.load(DATA / "slower.csv"))
    cells = comparison.table
    means = comparison.geomeans.set_index("kernel")
    for kernel in fx.KERNELS:
        ratios = cells.loc[cells["kernel"] == kernel, "ratio"]
        assert means.loc[kernel, "geomean_ratio"] == pytest.approx(math.prod(ratios) ** 0.5)
    assert means.loc["all", "geomean_ratio"] == pytest.approx(math.prod(cells["ratio"]) ** (1 / 6))
    assert means.loc["all", cmp.SLOWER] == 1
    assert means.loc["all", cmp.UNCHANGED] == 5


def test_single_batch_reports_compare_with_a_note(capsys):
    status, out, _ = run(capsys, DATA / "single_base.csv", DATA / "single_aa.csv")
    assert status == 0
    assert "note: one batch per cell on a side" in out
    # A single batch says nothing about between-run spread: only with the floor of a quiet machine
    # (measured there with bench.aa) is a 30% slowdown distinguishable from run-to-run noise.
    status, out, _ = run(capsys, DATA / "single_base.csv", DATA / "single_slower.csv")
    assert status == 0
    status, out, _ = run(
        capsys, DATA / "single_base.csv", DATA / "single_slower.csv", "--between-run-sd", "0.04"
    )
    assert status == 1
    kernel, n, epochs = fx.SLOW_CELL
    assert f"regression: {kernel} n={n} epochs={epochs}" in out


def test_without_a_rounds_file_the_summary_columns_are_used_and_said_so(capsys):
    status, out, _ = run(capsys, DATA / "base.csv", DATA / "summary_only.csv")
    assert status == 1
    assert "no rounds file" in out
    report = model.load(DATA / "summary_only.csv")
    assert report.source == "summary"
    summary = pd.read_csv(DATA / "summary_only.csv")
    assert np.exp(report.batches["log_median"]).to_numpy() == pytest.approx(summary["median_s"])


def test_a_cell_missing_from_the_rounds_file_comes_from_the_summary(tmp_path):
    shutil.copy(DATA / "aa.csv", tmp_path / "aa.csv")
    rounds = pd.read_csv(DATA / "aa.rounds.csv")
    rounds[rounds["kernel"] != "numba"].to_csv(tmp_path / "aa.rounds.csv", index=False)
    report = model.load(tmp_path / "aa.csv")
    per_cell = report.batches.groupby("kernel")["batch"].nunique()
    assert per_cell["numba"] == 1
    assert per_cell["numpy"] == 3
    comparison = cmp.compare(model.load(DATA / "base.csv"), report)
    assert len(comparison.table) == len(GRID)


# --- output formats -------------------------------------------------------------------------------


def test_markdown_is_a_table_with_one_row_per_cell(capsys):
    status, out, _ = run(capsys, DATA / "base.csv", DATA / "slower.csv", "--format", "markdown")
    assert status == 1
    lines = out.splitlines()
    assert lines[0].startswith("### ") and "1 regression" in lines[0]
    table = [line for line in lines if line.startswith("| ")]
    header = table[0].strip("|").split("|")
    assert [h.strip() for h in header][:3] == CELL
    cell_rows = [r for r in table if r.split("|")[1].strip() in fx.KERNELS]
    assert len(cell_rows) == len(GRID) + len(fx.KERNELS)  # the cell table and the geomean table
    kernel, n, epochs = fx.SLOW_CELL
    slow = [r for r in cell_rows if r.startswith(f"| {kernel} | {n} | {epochs} |")]
    assert len(slow) == 1
    assert slow[0].rstrip().endswith("| **slower** |")
    assert any(line.startswith("- regression:") for line in lines)


def test_csv_is_the_tidy_table_and_notes_go_to_stderr(capsys):
    status, out, err = run(capsys, DATA / "base.csv", DATA / "slower.csv", "--format", "csv")
    assert status == 1
    table = pd.read_csv(io.StringIO(out))
    assert list(table.columns[:4]) == [*CELL, "verdict"]
    assert len(table) == len(GRID)
    slow = table[table["verdict"] == cmp.SLOWER]
    assert [tuple(r) for r in slow[CELL].itertuples(index=False)] == [fx.SLOW_CELL]
    assert (table["ci_low"] <= table["ratio"]).all()
    assert (table["ratio"] <= table["ci_high"]).all()
    assert table["ratio"].to_numpy() == pytest.approx(table["new_s"] / table["base_s"])
    assert err.startswith("regression:")


def test_text_and_markdown_agree_with_the_csv_verdicts(capsys):
    _, text, _ = run(capsys, DATA / "base.csv", DATA / "faster.csv")
    _, markdown, _ = run(capsys, DATA / "base.csv", DATA / "faster.csv", "--format", "markdown")
    _, csv, _ = run(capsys, DATA / "base.csv", DATA / "faster.csv", "--format", "csv")
    counts = pd.read_csv(io.StringIO(csv))["verdict"].value_counts()
    expected = f"{counts.get(cmp.SLOWER, 0)} slower, {counts.get(cmp.FASTER, 0)} faster"
    assert expected in text
    assert expected in markdown


# --- bad input ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("new", "message"),
    [
        ("nope.csv", "no such file"),
        (".", "is a directory"),
        ("empty.csv", "is empty"),
        ("not_a_report.csv", "is not a benchmark report"),
        ("base.rounds.csv", "looks like a rounds file"),
        ("missing_column.csv", "missing column(s) median_s"),
        ("bad_value.csv", "median_s must be a positive number of seconds, got 'fast'"),
        ("broken_rounds.csv", "missing column(s) seconds"),
        ("disjoint.csv", "no cell (kernel, n, epochs) in common"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(capsys, new, message):
    status, out, err = run(capsys, DATA / "base.csv", DATA / new)
    assert status == 2
    assert out == ""
    assert err.count("\n") == 1
    assert err.startswith("python -m bench.compare: error: ")
    assert message in err


def test_a_rounds_file_of_another_run_is_one_line_and_exit_2(capsys, tmp_path):
    # base.csv beside the rounds of another run: judging those rounds would be a silent wrong answer.
    shutil.copy(DATA / "slower.csv", tmp_path / "stale.csv")
    shutil.copy(DATA / "aa.rounds.csv", tmp_path / "stale.rounds.csv")
    status, out, err = run(capsys, DATA / "base.csv", tmp_path / "stale.csv")
    assert status == 2
    assert out == ""
    assert err.count("\n") == 1
    assert "stale.rounds.csv does not match" in err and "stale rounds file?" in err


def test_a_rounds_file_with_no_cell_of_its_report_is_refused(capsys, tmp_path):
    shutil.copy(DATA / "slower.csv", tmp_path / "other.csv")
    rounds = pd.read_csv(DATA / "slower.rounds.csv").assign(kernel="somebody_else")
    rounds.to_csv(tmp_path / "other.rounds.csv", index=False)
    status, _, err = run(capsys, DATA / "base.csv", tmp_path / "other.csv")
    assert status == 2
    assert "other.rounds.csv does not match" in err and "no cell in common" in err


def test_a_binary_file_is_one_line_and_exit_2(capsys, tmp_path):
    junk = tmp_path / "picture.csv"
    junk.write_bytes(bytes(range(256)) * 4)
    status, _, err = run(capsys, junk, DATA / "base.csv")
    assert status == 2
    assert err.count("\n") == 1
    assert str(junk) in err


@pytest.mark.parametrize(
    "options",
    [
        ["--threshold", "0"],
        ["--threshold", "-0.1"],
        ["--alpha", "1"],
        ["--alpha", "x"],
        ["--format", "xml"],
    ],
)
def test_bad_options_are_one_line_and_exit_2(capsys, options):
    status, _, err = run(capsys, DATA / "base.csv", DATA / "aa.csv", *options)
    assert status == 2
    assert err.count("\n") == 1
    assert "error:" in err


def test_compare_rejects_bad_arguments_naming_them():
    base = model.load(DATA / "base.csv")
    with pytest.raises(ValueError, match="threshold"):
        cmp.compare(base, base, threshold=-1)
    with pytest.raises(ValueError, match="alpha"):
        cmp.compare(base, base, alpha=0)
    with pytest.raises(TypeError, match="alpha"):
        cmp.compare(base, base, alpha="0.05")


# --- the statistics, by simulation ----------------------------------------------------------------


def simulated_batches(rng, batches: int, sds, factors: dict | None = None) -> pd.DataFrame:
    """Log batch medians of 12 cells, each batch off by a normal between-run shift.

    ``sds`` is the shift's standard deviation, one for all cells or one per cell.
    """
    factors = factors or {}
    sds = np.broadcast_to(sds, (12,))
    rows = []
    for i in range(12):
        cell = (f"k{i % 3}", 10 ** (1 + i // 3), 10)
        for batch in range(batches):
            shift = rng.normal(0.0, sds[i]) + math.log(factors.get(cell, 1.0))
            rows.append((*cell, batch, math.log(1e-4) + shift, 0.0, 10))
    columns = [*CELL, "batch", "log_median", "within_var", "rounds"]
    return pd.DataFrame(rows, columns=columns)


def flag_rate(sds, batches: int, slowdown: float, trials: int, seed: int, verdict: str = cmp.SLOWER) -> float:
    """Share of simulated comparisons with any cell ``verdict`` (A/A) or the slowed cell alone slower."""
    rng = np.random.default_rng(seed)
    cell = ("k0", 10, 10)
    flagged = 0
    for _ in range(trials):
        base = simulated_batches(rng, batches, sds)
        new = simulated_batches(rng, batches, sds, {cell: slowdown})
        table = cs.cell_statistics(base, new, between_run_sd=QUIET)
        if slowdown == 1.0:
            flagged += bool((table["verdict"] == verdict).any())
            continue
        slower = table[table["verdict"] == cmp.SLOWER]
        flagged += [tuple(r) for r in slower[CELL].itertuples(index=False)] == [cell]
    return flagged / trials


#: The floor the simulations assume: the between-run spread of a quiet machine.
QUIET = 0.03
#: A loaded machine: most cells scatter more than the floor, some ten times more.
LOADED = [0.03, 0.05, 0.06, 0.1, 0.3, 0.35] * 2


@pytest.mark.parametrize(
    ("sds", "batches"),
    [(QUIET, 1), (QUIET, 5), (LOADED, 5), (LOADED, 15)],
    ids=["quiet-1", "quiet-5", "loaded-5", "loaded-15"],
)
def test_false_alarm_rate_over_the_table_stays_below_alpha(sds, batches):
    rate = flag_rate(sds, batches, slowdown=1.0, trials=200, seed=batches)
    assert rate <= cmp.DEFAULT_ALPHA + 0.035  # 0.035: binomial slack (2.3 SD) for 200 trials


@pytest.mark.parametrize("cell_index", [0, 4, 11])
def test_smallest_slower_is_the_edge_of_the_slower_verdict(cell_index):
    # Shifting every batch of a cell moves its ratio and leaves its spread alone, so the cell must
    # turn "slower" just above its smallest_slower and stay unflagged just below it.
    rng = np.random.default_rng(5)
    base, new = simulated_batches(rng, 5, LOADED), simulated_batches(rng, 5, LOADED)
    cell = tuple(base[CELL].drop_duplicates().iloc[cell_index])
    mine = (new[CELL] == pd.Series(cell, index=CELL)).all(axis=1)
    new.loc[mine, "log_median"] += (
        base.loc[mine.to_numpy(), "log_median"].mean() - new.loc[mine, "log_median"].mean()
    )  # ratio exactly 1 to start from

    def verdict(factor: float) -> tuple[str, float]:
        shifted = new.copy()
        shifted.loc[mine, "log_median"] += math.log(factor)
        table = cs.cell_statistics(base, shifted, between_run_sd=QUIET).set_index(CELL)
        return table.loc[cell, "verdict"], table.loc[cell, "smallest_slower"]

    _, edge = verdict(1.0)
    assert edge >= 1 + cmp.DEFAULT_THRESHOLD
    if cell_index == 11:  # the noisiest cell: its edge is set by its spread, not the threshold
        assert edge > 1.2
    assert verdict(edge * 1.001)[0] == cmp.SLOWER
    assert verdict(edge / 1.001)[0] == cmp.UNCHANGED


def test_the_resolution_line_gives_the_median_and_the_widest_cell(capsys):
    comparison = cmp.compare(model.load(DATA / "base.csv"), model.load(DATA / "aa.csv"))
    smallest = comparison.table.set_index(CELL)["smallest_slower"]
    worst = smallest.idxmax()
    assert compare_cli.main([str(DATA / "base.csv"), str(DATA / "aa.csv")]) == 0
    out = capsys.readouterr().out
    line = next(line for line in out.splitlines() if line.startswith("resolution:"))
    assert f"from {smallest.median():.2f}x (median over cells)" in line
    assert f"to {smallest.max():.2f}x ({worst[0]} n={worst[1]} epochs={worst[2]}," in line
    table = comparison.table
    long = table.loc[table["base_s"] >= 1e-3, "smallest_slower"]
    assert 0 < len(long) < len(table)  # the data has both kinds of cell
    assert f"cells of 1 ms or more: {long.median():.2f}x (median), {long.max():.2f}x at most" in line


def disturbed(frame: pd.DataFrame, cell: tuple, batch: int, factor: float) -> pd.DataFrame:
    """``frame`` with one batch of one cell ``factor`` times slower (a neighbour took a core)."""
    hit = (frame[CELL] == pd.Series(cell, index=CELL)).all(axis=1) & (frame["batch"] == batch)
    out = frame.copy()
    out.loc[hit, "log_median"] += math.log(factor)
    return out


def test_a_disturbed_batch_is_set_aside_and_a_slowdown_beside_it_still_caught():
    # A parallel kernel once ran 570x slower in one batch of 15 of the A/A run: kept, it hides a
    # 30% slowdown of the same cell; set aside, the slowdown is found and the rest is unchanged.
    rng = np.random.default_rng(8)
    cell = ("k1", 10, 10)
    base = simulated_batches(rng, 15, 0.05)
    new = disturbed(simulated_batches(rng, 15, 0.05, {cell: 1.3}), cell, batch=3, factor=570)
    table = cs.cell_statistics(base, new).set_index(CELL)
    assert table.loc[cell, "verdict"] == cmp.SLOWER
    assert table.loc[cell, "new_outliers"] == 1 and table.loc[cell, "new_batches"] == 14
    assert table["new_outliers"].sum() + table["base_outliers"].sum() == 1
    assert (table.drop(cell)["verdict"] == cmp.UNCHANGED).all()
    (_, base_outliers), (kept, outliers) = cs.set_aside_outliers(base, new)
    assert len(base_outliers) == 0
    assert len(outliers) == 1 and int(outliers["batch"].iloc[0]) == 3
    assert len(kept) == len(new) - 1


def test_without_setting_it_aside_the_disturbed_batch_would_hide_the_slowdown(monkeypatch):
    # The counterfactual of the test above: the method, not luck, makes the difference.
    monkeypatch.setattr(cs, "OUTLIER_SDS", math.inf)
    rng = np.random.default_rng(8)
    cell = ("k1", 10, 10)
    base = simulated_batches(rng, 15, 0.05)
    new = disturbed(simulated_batches(rng, 15, 0.05, {cell: 1.3}), cell, batch=3, factor=570)
    assert cs.cell_statistics(base, new).set_index(CELL).loc[cell, "verdict"] == cmp.UNCHANGED


@pytest.mark.parametrize("sd", [0.01, 0.05, 0.3])
def test_ordinary_scatter_is_almost_never_set_aside(sd):
    # 2 x 408 cells of 15 normal batches each: at or under the floor nothing is set aside; far
    # above it (30%, where the scale comes from the batches' own MAD) fewer than 1 in 1000.
    rng = np.random.default_rng(int(sd * 100))
    sides = []
    for _ in range(2):
        frames = []
        for i in range(34):
            frame = simulated_batches(rng, 15, sd)
            frames.append(frame.assign(kernel=frame["kernel"] + f"-{i}"))
        sides.append(pd.concat(frames, ignore_index=True))
    (_, base_outliers), (_, new_outliers) = cs.set_aside_outliers(*sides)
    share = (len(base_outliers) + len(new_outliers)) / (2 * len(sides[0]))
    assert share == 0 if sd <= cmp.BETWEEN_RUN_SD else share < 1e-3


def test_too_few_batches_are_never_set_aside():
    rng = np.random.default_rng(9)
    few = cs.OUTLIER_MIN_BATCHES - 1
    base = simulated_batches(rng, few, 0.05)
    frame = disturbed(simulated_batches(rng, few, 0.05), ("k0", 10, 10), 0, 50)
    assert len(cs.set_aside_outliers(base, frame)[1][1]) == 0
    base = simulated_batches(rng, few + 1, 0.05)
    frame = disturbed(simulated_batches(rng, few + 1, 0.05), ("k0", 10, 10), 0, 50)
    assert len(cs.set_aside_outliers(base, frame)[1][1]) == 1


def test_a_side_split_in_two_is_kept_whole():
    # Seven batches far below, seven far above, one between: no "ordinary" majority to keep.
    rng = np.random.default_rng(10)
    base = simulated_batches(rng, 15, 0.01)
    new = base.copy()
    cell = (new[CELL] == pd.Series(("k0", 10, 10), index=CELL)).all(axis=1)
    new.loc[cell, "log_median"] += np.repeat([-1.0, 0.0, 1.0], [7, 1, 7])
    assert len(cs.set_aside_outliers(base, new)[1][1]) == 0


def test_the_comparison_notes_the_batches_it_set_aside(tmp_path, capsys):
    rounds = pd.read_csv(DATA / "slower.rounds.csv")
    rounds = rounds[rounds["batch"] == 0]
    parts = [rounds.assign(batch=b) for b in range(cs.OUTLIER_MIN_BATCHES)]
    hit = (parts[2][CELL] == pd.Series(fx.SLOW_CELL, index=CELL)).all(axis=1)
    parts[2].loc[hit, "seconds"] *= 100
    pooled = pd.concat(parts, ignore_index=True)
    summary = pd.read_csv(DATA / "slower.csv")
    medians = pooled.groupby(CELL)["seconds"].median()
    summary["median_s"] = summary.set_index(CELL).index.map(medians)
    summary.to_csv(tmp_path / "batched.csv", index=False)
    pooled.to_csv(tmp_path / "batched.rounds.csv", index=False)
    status, out, _ = run(capsys, DATA / "base.csv", tmp_path / "batched.csv")
    kernel, n, epochs = fx.SLOW_CELL
    assert (
        f"note: 1 disturbed batch(es) set aside, more than 5 robust SDs from their side's "
        f"median: {kernel} n={n} epochs={epochs} (0 base, 1 new)" in out
    )
    assert status == 1  # the slowed cell is still found slower


def test_false_faster_verdicts_are_controlled_like_false_slower_ones():
    # One-sided tests, each direction its own family at alpha: unchanged code is rarely "faster".
    rate = flag_rate(LOADED, 5, slowdown=1.0, trials=200, seed=21, verdict=cmp.FASTER)
    assert rate <= cmp.DEFAULT_ALPHA + 0.035


def test_a_loaded_machine_would_cry_wolf_without_the_batches_spread():
    # The same loaded machine judged by the floor alone (one batch a side): false alarms galore.
    assert flag_rate(LOADED, 1, slowdown=1.0, trials=100, seed=3) > 0.3


@pytest.mark.parametrize(
    ("sds", "batches"), [(QUIET, 1), (0.05, 5), (0.10, 15)], ids=["quiet-1", "ci-5", "noisy-15"]
)
def test_a_30_percent_slowdown_is_caught(sds, batches):
    assert flag_rate(sds, batches, slowdown=1.3, trials=200, seed=7) >= 0.95


def test_spread_within_one_run_alone_does_not_make_a_between_run_shift_significant():
    # One batch each, rounds very consistent (within-run spread ~0), but the runs differ by 13%:
    # the floor on between-run spread keeps this from being a "regression".
    frame = simulated_batches(np.random.default_rng(0), 1, 0.0)
    shifted = frame.assign(log_median=frame["log_median"] + math.log(1.13))
    table = cs.cell_statistics(frame, shifted)
    assert set(table["verdict"]) == {cmp.UNCHANGED}


def test_a_probe_cell_is_shown_but_never_judged():
    # The stream probe measures the machine: twice as slow is drift, not a regression of the code.
    rng = np.random.default_rng(3)
    columns = [*CELL, "batch", "log_median", "within_var", "rounds"]

    def with_probe(factor: float) -> model.Report:
        probe = pd.DataFrame(
            [("stream", 1000, 10, b, math.log(1e-5 * factor), 0.0, 10) for b in range(5)],
            columns=columns,
        )
        batches = pd.concat([simulated_batches(rng, 5, QUIET), probe], ignore_index=True)
        return model.Report(
            path=Path(f"x{factor}.csv"), cells=pd.DataFrame(), batches=batches, metadata={}, source="rounds"
        )

    comparison = cmp.compare(with_probe(1.0), with_probe(2.0))
    probe = comparison.table[comparison.table["kernel"] == "stream"].iloc[0]
    assert probe["verdict"] == cmp.PROBE
    assert probe["ratio"] == pytest.approx(2.0)
    assert "stream" not in set(comparison.regressions["kernel"])
    assert "stream" not in set(comparison.geomeans["kernel"])
    # The family-wise level is spread over the 12 kernel cells only.
    assert comparison.confidence == pytest.approx(1 - 2 * cmp.DEFAULT_ALPHA / 12)
    assert "1 probe, not judged" in present.summary_line(comparison)


def test_trigamma_inverse_inverts_trigamma():
    from scipy import special

    for value in (1e-3, 0.1, 1.0, 10.0, 1e3):
        assert float(special.polygamma(1, cs._trigamma_inverse(value))) == pytest.approx(value, rel=1e-6)


def test_moderated_variances_shrink_toward_the_table_and_gain_degrees_of_freedom():
    rng = np.random.default_rng(11)
    df = pd.Series([8] * 40)
    # Sample variances of cells that truly share one variance (0.05²): chi-square with 8 df, scaled.
    variance = pd.Series(0.05**2 * rng.chisquare(8, 40) / 8)
    moderated, total = cs._moderate(variance, df)
    # The common variance is recovered and every cell is pulled toward it: less scatter, more df.
    assert np.median(moderated) == pytest.approx(0.05**2, rel=0.2)
    assert moderated.std() < variance.std()
    assert (total > df).all()
    # A cell far noisier than the rest keeps most of its own variance (no false precision).
    noisy = pd.concat([variance, pd.Series([100 * 0.05**2])], ignore_index=True)
    moderated, _ = cs._moderate(noisy, pd.Series([8] * 41))
    assert moderated[-1] > 10 * 0.05**2


def test_too_few_cells_keep_their_own_variance():
    variance, df = pd.Series([0.01, 0.02]), pd.Series([8, 8])
    moderated, total = cs._moderate(variance, df)
    assert moderated.tolist() == variance.tolist()
    assert total.tolist() == [8.0, 8.0]


def test_several_reports_get_a_column_each_against_the_first(capsys):
    status = compare_cli.main([str(DATA / "base.csv"), str(DATA / "aa.csv"), str(DATA / "slower.csv")])
    out = capsys.readouterr().out
    assert status == 1  # slower.csv holds a real slowdown
    header = out.splitlines()[0].split()
    assert header == ["cell", "base.csv", "aa.csv", "vs", "base", "slower.csv", "vs", "base"]
    kernel, n, epochs = fx.SLOW_CELL
    slow_line = next(line for line in out.splitlines() if line.startswith(f"{kernel} n={n} epochs={epochs} "))
    assert slow_line.rstrip().endswith("slower") and slow_line.count(" ~") == 1  # aa.csv: no change
    assert f"regression: {kernel} n={n} epochs={epochs}:" in out and "in slower.csv" in out
    assert "(3)" in slow_line  # batches shown beside each time
    # alpha is shared between the two columns, so the whole table keeps its false-alarm rate.
    assert out.count(f"family-wise false-alarm rate {cmp.DEFAULT_ALPHA / 2:g}") == 2


def test_several_unchanged_reports_exit_0(capsys):
    assert compare_cli.main([str(DATA / "base.csv"), str(DATA / "aa.csv"), str(DATA / "base.csv")]) == 0
    assert "regression" not in capsys.readouterr().out
