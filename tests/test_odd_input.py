"""Odd files and values given to the report readers: one line and exit 2, or a drawing, never a traceback."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from bench import compare as compare_cli
from bench import plot as plot_cli
from bench.analysis.compare import compare
from bench.present.comparison import render_markdown
from bench.reports import files, model

DATA = Path(__file__).parent / "data"
FIXTURE = DATA / "quick_report.csv"
ROOT = Path(__file__).resolve().parent.parent


def one_error_line(capsys, prog: str) -> str:
    captured = capsys.readouterr()
    lines = captured.err.splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"python -m {prog}: error: "), captured.err
    return lines[0]


def test_a_device_is_refused_at_once_not_read_until_memory_runs_out():
    # A real process: /dev/zero never ends, so a reader that tried would never return in time.
    result = subprocess.run(
        [sys.executable, "-m", "bench.compare", "/dev/zero", str(FIXTURE)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        "python -m bench.compare: error: /dev/zero is not a regular file, not a report"
    ]


def test_a_file_too_big_to_be_a_report_is_refused_unread(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(files, "MAX_REPORT_BYTES", 100)
    assert compare_cli.main([str(FIXTURE), str(FIXTURE)]) == 2
    assert "more than a report can be" in one_error_line(capsys, "bench.compare")


@pytest.mark.parametrize(
    ("column", "value", "words"),
    [
        ("n", 1e30, "n must be a positive integer below 2**63"),
        ("n", 2**63, "n must be a positive integer below 2**63"),
        ("epochs", 0, "epochs must be a positive integer"),
        ("median_s", -1.0, "median_s must be a positive number of seconds"),
        ("median_s", float("inf"), "median_s must be a positive number of seconds"),
    ],
)
def test_values_outside_their_domain_are_refused_with_their_line(tmp_path, capsys, column, value, words):
    report = pd.read_csv(FIXTURE)
    report[column] = report[column].astype(object)
    report.loc[3, column] = value
    path = tmp_path / "odd.csv"
    report.to_csv(path, index=False)
    assert plot_cli.main([str(path), "--out", str(tmp_path / "figs")]) == 2
    line = one_error_line(capsys, "bench.plot")
    assert words in line and "line 5" in line  # the header is line 1, row 3 is line 5


def test_a_report_with_only_the_stream_probe_says_why_it_draws_no_ratio(tmp_path, capsys):
    report = pd.read_csv(FIXTURE)
    probe = report.assign(kernel="stream", x_stream=1.0).drop_duplicates(["n", "epochs"])
    path = tmp_path / "probe.csv"
    probe.to_csv(path, index=False)
    assert plot_cli.main([str(path), "--out", str(tmp_path / "figs")]) == 0
    out = capsys.readouterr().out
    assert "no kernel besides the probes" in out
    assert (tmp_path / "figs" / "time_per_call.png").exists()


@pytest.mark.parametrize("scale", [1e-300, 1e300])
def test_extreme_times_draw_and_say_what_could_not_be_fitted(tmp_path, capsys, scale):
    report = pd.read_csv(FIXTURE)
    for column in ("min_s", "median_s", "max_s", "mean_s"):
        report[column] *= scale
    path = tmp_path / "extreme.csv"
    report.to_csv(path, index=False)
    assert plot_cli.main([str(path), "--out", str(tmp_path / "figs")]) == 0
    assert (tmp_path / "figs" / "summary.md").exists()


def test_markdown_output_escapes_table_and_html_characters(tmp_path):
    report = pd.read_csv(FIXTURE)
    report["kernel"] = report["kernel"].replace({"numba": "nu|mba<script>"})
    report["host"] = "<b>host|x</b>"
    path = tmp_path / "odd.csv"
    report.to_csv(path, index=False)
    loaded = model.load(path)
    text = render_markdown(compare(loaded, loaded))
    assert "<script>" not in text and "<b>" not in text
    assert "nu\\|mba&lt;script&gt;" in text
    rows = [line for line in text.splitlines() if line.startswith("| kernel | n |")]
    header = rows[0]
    table = text[text.index(header) :].split("\n\n")[0].splitlines()
    assert len(table) > 3  # every row of the table keeps the header's column count
    assert all(line.replace("\\|", "").count("|") == header.count("|") for line in table)


def test_a_second_report_of_the_same_name_gets_a_run_id_that_matches_its_file(tmp_path):
    cells = pd.read_csv(FIXTURE).assign(run_id="r")
    rounds = pd.DataFrame({"kernel": ["numpy"], "n": [10], "epochs": [10], "round": [0], "seconds": [1e-3]})
    first = files.write(tmp_path / "r.csv", cells, rounds)
    second = files.write(tmp_path / "r.csv", cells, rounds)
    assert (first.name, second.name) == ("r.csv", "r-1.csv")
    assert set(pd.read_csv(first)["run_id"]) == {"r"}
    assert set(pd.read_csv(second)["run_id"]) == {"r-1"}
