"""bench.aa's analysis on the committed fixture reports (its measuring is bench.gate's)."""

from __future__ import annotations

import math
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from bench import aa as aa_cli
from bench.analysis import aa, compare
from bench.present.aa import render
from bench.reports import model
from bench.reports.schema import CELL

DATA = Path(__file__).parent / "data" / "compare"
sys.path.insert(0, str(DATA))
# The fixtures' own definitions (which cell changed, by how much) are what the tests expect.
import make_fixtures as fx  # noqa: E402

sys.path.remove(str(DATA))


def report(name: str) -> model.Report:
    return model.load(DATA / f"{name}.csv")


def test_with_slowdown_scales_one_cell_only():
    base = report("base")
    slowed = aa.with_slowdown(base, fx.SLOW_CELL, 1.3)
    ratios = compare.compare(base, slowed).table.set_index(list(CELL))["ratio"]
    assert ratios.loc[fx.SLOW_CELL] == pytest.approx(1.3)
    assert ratios.drop(fx.SLOW_CELL).to_numpy() == pytest.approx(1.0)
    assert base.batches["log_median"].equals(report("base").batches["log_median"])  # a copy


def test_unchanged_pairs_pass_and_every_injected_slowdown_is_caught():
    # The single-batch fixtures were made with a quiet machine's 4% between-run spread.
    result = aa.analyse(
        [(report("base"), report("aa")), (report("single_base"), report("single_aa"))],
        between_run_sd=0.04,
    )
    assert result.false_alarms == 0
    assert result.caught == len(result.cells) == 2 * 6
    assert result.passed
    text = render(result)
    # 0 of 2: the Clopper-Pearson upper limit is 1 - 0.025**(1/2), about 84%.
    assert (
        "false alarms (any cell flagged slower): 0 of 2 (0%; 95% confidence interval of the "
        "rate 0%-84%)" in text
    )
    assert "flagged 12 of 12 (100%)" in text
    assert text.rstrip().endswith("every injected slowdown flagged)")
    per_pair = result.cells.groupby("pair")["smallest_slower"].median()
    assert (
        f"resolution, all cells: the median cell is called slower from {per_pair.median():.2f}x in "
        f"the median comparison ({per_pair.min():.2f}x-{per_pair.max():.2f}x over comparisons)" in text
    )
    long = result.cells[result.cells["base_s"] >= 1e-3]
    assert 0 < len(long) < len(result.cells)
    caught = int(long["injected_flagged"].sum())
    assert f"30% slowdown in cells of 1 ms or more: flagged {caught} of {len(long)}" in text


def test_a_real_difference_counts_as_a_false_alarm():
    result = aa.analyse([(report("base"), report("aa")), (report("base"), report("slower"))])
    assert result.false_alarms == 1
    assert not result.passed
    assert "verdict: FAIL" in render(result)


def test_an_injection_below_the_threshold_is_missed_and_said_so():
    result = aa.analyse([(report("base"), report("aa"))], slowdown=1.05)
    assert result.caught < len(result.cells)
    assert "missed:" in render(result)


def test_a_disturbed_batch_is_counted_and_named():
    # Twelve batches a side (the fixture's batches repeated with a small shift each), one of them
    # 50 times slower in one cell of B: the summary says it was set aside, and where.
    rng = np.random.default_rng(4)

    def batched(rep: model.Report) -> model.Report:
        first = rep.batches[rep.batches["batch"] == 0]
        parts = [
            first.assign(batch=b, log_median=first["log_median"] + rng.normal(0, 0.02, len(first)))
            for b in range(12)
        ]
        return replace(rep, batches=pd.concat(parts, ignore_index=True))

    a, b = batched(report("base")), batched(report("aa"))
    hit = (b.batches[list(CELL)] == pd.Series(fx.SLOW_CELL, index=list(CELL))).all(axis=1)
    b.batches.loc[hit & (b.batches["batch"] == 7), "log_median"] += math.log(50)
    result = aa.analyse([(a, b)])
    assert len(result.outliers) == 1
    row = result.outliers.iloc[0]
    assert (row.side, row.batch) == ("b", 7)
    assert row.factor == pytest.approx(50, rel=0.1)
    kernel, n, epochs = fx.SLOW_CELL
    assert f"1 of {len(a.batches) + len(b.batches)} batch medians; the most extreme" in render(result)
    assert f"({kernel} n={n} epochs={epochs}, comparison 0, side b, batch 7)" in render(result)
    assert result.caught == len(result.cells)  # the disturbed cell's injection is still seen


def test_between_run_spread_is_the_spread_of_batch_medians():
    pairs = [(report("base"), report("aa"))]
    spread = aa.analyse(pairs).between_run_sd.set_index(list(CELL))
    medians = []
    for name in ("base", "aa"):
        batches = report(name).batches.set_index(list(CELL)).loc[fx.SLOW_CELL]
        medians += list(batches["log_median"])
    assert spread.loc[fx.SLOW_CELL, "between_run_sd"] == pytest.approx(np.std(medians, ddof=1))
    assert spread.loc[fx.SLOW_CELL, "batches"] == 6
    # The fixtures were drawn with 2% between batches and 3% within, 10 rounds: about 2.2% in all.
    assert spread["between_run_sd"].median() == pytest.approx(
        math.hypot(fx.BETWEEN_SD, fx.WITHIN_SD * math.sqrt(math.pi / 2 / 10)), rel=0.5
    )


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--repeats", "0"], "--repeats must be >= 1"),
        (["--slowdown", "0.9"], "--slowdown must be a finite factor > 1"),
        (["--alpha", "5"], "--alpha must be between 0 and 1"),
    ],
)
def test_bad_options_are_one_line_and_exit_2(capsys, options, message):
    # Refused as the options are parsed, before anything is measured.
    with pytest.raises(SystemExit) as stopped:
        aa_cli.main(options)
    assert stopped.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert message in err


def test_an_earlier_run_is_analysed_again_from_its_reports(tmp_path, capsys):
    for index, (a, b) in enumerate([("base", "aa"), ("base", "slower")]):
        for side, name in (("a", a), ("b", b)):
            for suffix in (".csv", ".rounds.csv"):
                (tmp_path / f"{side}-{index}{suffix}").write_bytes((DATA / f"{name}{suffix}").read_bytes())
    assert aa_cli.main(["--from", str(tmp_path)]) == 1  # the second pair holds a real slowdown
    out = capsys.readouterr().out
    assert "false alarms (any cell flagged slower): 1 of 2" in out
    assert sorted(p.name for p in tmp_path.iterdir())[:2] == ["a-0.csv", "a-0.rounds.csv"]
    assert len(list(tmp_path.iterdir())) == 8  # nothing written


def test_a_run_judged_at_two_looks_tests_each_at_half_alpha(tmp_path, capsys):
    for side, name in (("a", "base"), ("b", "aa")):
        for suffix in (".csv", ".rounds.csv"):
            (tmp_path / f"{side}-0{suffix}").write_bytes((DATA / f"{name}{suffix}").read_bytes())
    assert aa_cli.main(["--from", str(tmp_path), "--looks", "2"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("alpha 0.05 over 2 looks")
    assert "family-wise alpha 0.025" in out


def test_from_a_folder_without_reports_is_exit_2(tmp_path, capsys):
    assert aa_cli.main(["--from", str(tmp_path)]) == 2
    assert "holds no A/A reports" in capsys.readouterr().err


def test_first_batches_keeps_each_cells_first_undisturbed_batches():
    base = report("base")
    cell = (base.batches[list(CELL)] == pd.Series(fx.SLOW_CELL, index=list(CELL))).all(axis=1)
    shaken = replace(base, batches=base.batches.assign(disturbed=cell & (base.batches["batch"] == 1)))
    assert base.batches.groupby(list(CELL))["batch"].nunique().min() >= 3
    kept = aa.first_batches(shaken, 2).batches
    per_cell = kept.groupby(list(CELL))["batch"].apply(list)
    assert per_cell.loc[fx.SLOW_CELL] == [0, 2]  # the disturbed batch 1 makes way for batch 2
    assert all(batches == [0, 1] for batches in per_cell.drop(fx.SLOW_CELL))
    assert len(aa.first_batches(base, 1000).batches) == len(base.batches)
    with pytest.raises(ValueError, match="count must be a whole number >= 1, got 0"):
        aa.first_batches(base, 0)


def test_an_earlier_run_is_judged_again_on_fewer_batches(tmp_path, capsys):
    for side, name in (("a", "base"), ("b", "aa")):
        for suffix in (".csv", ".rounds.csv"):
            (tmp_path / f"{side}-0{suffix}").write_bytes((DATA / f"{name}{suffix}").read_bytes())
    assert aa_cli.main(["--from", str(tmp_path), "--first-batches", "2"]) == 0
    assert "2 batch(es) per side" in capsys.readouterr().out
    assert aa_cli.main(["--first-batches", "2"]) == 2  # measuring runs have no earlier batches
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--first-batches re-analyses an earlier run" in err
