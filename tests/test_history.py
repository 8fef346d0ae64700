"""bench.history: runs ordered by time and machine, steps between commits, the page, bad input, CI.

The reports are copies of the small fixture tests/data/quick_report.csv relabelled as other runs
(another commit, run id and time), some with one kernel's times scaled; the A/A evidence is the
committed batches of results/aa-15-batches and results/aa-confirm.
"""

from __future__ import annotations

import json
import re
import shlex
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from bench import history as command
from bench.aa import load_pairs
from bench.analysis import history as analysis
from bench.reports import files, model

PROJECT = Path(__file__).resolve().parents[1]
DATA = PROJECT / "tests" / "data"
RESULTS = PROJECT / "results"
COMMITS = ("aaaaaaa", "bbbbbbb", "ccccccc", "ddddddd")
#: Summary columns that are times, scaled with the rounds when a kernel is made slower.
TIMES = ("min_s", "max_s", "median_s", "mean_s", "stddev_s", "iqr_s", "ns_per_update")


def write_history(
    folder: Path,
    commits=COMMITS,
    kernel: str = "numba",
    factor: float = 1.5,
    changed_from: int = 2,
    **metadata: str,
) -> list[Path]:
    """The fixture report relabelled as one run per commit, an hour apart; ``kernel`` is ``factor``
    times slower from run ``changed_from`` on. ``metadata`` overrides fields in every run."""
    cells = pd.read_csv(DATA / "quick_report.csv")
    rounds = pd.read_csv(DATA / "quick_report.rounds.csv")
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for index, commit in enumerate(commits):
        when = pd.Timestamp("2026-12-01T08:00:00Z") + pd.Timedelta(hours=index)
        run_id = f"{when:%Y%m%dT%H%M%SZ}_{commit}_fixture"
        these, their_rounds = cells.copy(), rounds.copy()
        if index >= changed_from:
            these.loc[these["kernel"] == kernel, list(TIMES)] *= factor
            their_rounds.loc[their_rounds["kernel"] == kernel, "seconds"] *= factor
        these = these.assign(
            run_id=run_id, utc_time=f"{when:%Y-%m-%dT%H:%M:%SZ}", git_commit=commit, **metadata
        )
        # Named so that file order is not time order: the history must sort by utc_time.
        path = folder / f"{len(commits) - index}-{commit}.csv"
        these.to_csv(path, index=False)
        their_rounds.to_csv(model.files.rounds_path(path), index=False)
        paths.append(path)
    return paths


def run(capsys, *args: str) -> tuple[int, list[str], str]:
    status = command.main([str(a) for a in args])
    out, err = capsys.readouterr()
    return status, out.splitlines(), err


def steps(lines: list[str]) -> list[str]:
    return [line for line in lines if line.startswith("step: ")]


def test_a_kernel_made_slower_at_the_third_commit_is_one_step_per_cell_and_a_page(tmp_path, capsys):
    write_history(tmp_path / "runs")
    status, lines, err = run(capsys, tmp_path / "runs", "--out", tmp_path / "page")
    assert status == 0, err
    run_id = "20261201T100000Z_ccccccc_fixture"
    expected = [
        f"step: numba n={n} epochs={epochs}: 1.50x slower from ccccccc (run {run_id})"
        for n in (10, 1000, 100000)
        for epochs in (10, 100)
    ]
    assert sorted(steps(lines)) == sorted(expected)
    assert "6 step(s) in 17 cells" in lines[-2]
    page = (tmp_path / "page" / "index.html").read_text()
    assert lines[-1] == f"page: {tmp_path / 'page' / 'index.html'}"
    assert all(kernel in page for kernel in ("python_loop", "numpy", "numba"))
    assert page.count("<svg") == 6 and "1.50x slower" in page


def test_a_kernel_made_faster_is_a_faster_step(tmp_path, capsys):
    write_history(tmp_path, kernel="numpy", factor=1 / 1.5)
    status, lines, _ = run(capsys, tmp_path)
    assert status == 0
    assert len(steps(lines)) == 6
    assert all(": 1.50x faster from ccccccc" in line and "step: numpy " in line for line in steps(lines))


def test_unchanged_runs_and_a_change_below_the_threshold_give_no_step(tmp_path, capsys):
    write_history(tmp_path / "same", factor=1.0)
    write_history(tmp_path / "small", factor=1.08)
    for folder in ("same", "small"):
        status, lines, _ = run(capsys, tmp_path / folder)
        assert status == 0 and steps(lines) == []
        assert lines[-1].startswith("0 step(s) in 17 cells")


def test_a_step_needs_min_versions_on_each_side(tmp_path, capsys):
    # Slower only in the last run: one run cannot tell a step from a disturbed run.
    write_history(tmp_path, changed_from=3)
    assert steps(run(capsys, tmp_path)[1]) == []
    assert len(steps(run(capsys, tmp_path, "--min-versions", "1")[1])) == 6


def test_runs_of_one_commit_are_one_version_and_never_a_step(tmp_path, capsys):
    write_history(tmp_path, commits=("aaaaaaa",) * 4, factor=2.0)
    status, lines, _ = run(capsys, tmp_path)
    assert status == 0 and steps(lines) == []
    assert "over 0 candidate change points" in lines[-1]


def test_each_machine_is_its_own_series_and_the_output_says_so(tmp_path, capsys):
    write_history(tmp_path / "one", host="alpha", cpu_model="CPU A")
    write_history(
        tmp_path / "two", commits=("eeeeeee", "fffffff"), factor=3.0, host="beta", cpu_model="CPU B"
    )
    status, lines, _ = run(capsys, tmp_path, "--out", tmp_path / "page")
    assert status == 0
    assert lines[1] == (
        "runs of 2 machines (host / CPU) are kept apart, one series each: alpha / CPU A; beta / CPU B"
    )
    alpha = lines.index(
        "machine alpha / CPU A: 4 runs of 4 commits, 2026-12-01T08:00:00Z to 2026-12-01T11:00:00Z"
    )
    beta = lines.index(
        "machine beta / CPU B: 2 runs of 2 commits, 2026-12-01T08:00:00Z to 2026-12-01T09:00:00Z"
    )
    # The steps of machine alpha are listed under it; beta's two runs are too few for a step.
    assert len(steps(lines[alpha:beta])) == 6 and steps(lines[beta:]) == []
    page = (tmp_path / "page" / "index.html").read_text()
    assert "Machine alpha / CPU A" in page and "Machine beta / CPU B" in page


def test_cells_measured_on_a_disturbed_machine_are_charted_but_never_judged(tmp_path, capsys):
    # As in bench.compare: numba's slower cells in the last two runs were measured while the
    # machine was disturbed, so only one version after the change is left, too few for a step.
    paths = write_history(tmp_path / "runs")
    for path in paths[2:]:
        cells = pd.read_csv(path)
        cells.assign(disturbed=cells["kernel"].eq("numba") & cells["n"].eq(1000)).to_csv(path, index=False)
    status, lines, _ = run(capsys, tmp_path / "runs", "--out", tmp_path / "page")
    assert status == 0
    assert len(steps(lines)) == 4 and not any("numba n=1000 " in line for line in steps(lines))
    assert "note: 4 cell measurement(s) were taken while the machine was disturbed" in "\n".join(lines)
    assert "machine disturbed: shown, not judged" in (tmp_path / "page" / "index.html").read_text()


def test_environment_changes_within_a_series_are_noted(tmp_path, capsys):
    paths = write_history(tmp_path, factor=1.0)
    for path in paths[2:]:
        pd.read_csv(path).assign(numba_version="0.62.0").to_csv(path, index=False)
    lines = run(capsys, tmp_path)[1]
    assert [line for line in lines if line.startswith("note: ")] == [
        "note: synthetic-fixture / synthetic (tests/data/make_quick_report.py): numba_version changes "
        "from 0.61.0 to 0.62.0 at run 20261201T100000Z_ccccccc_fixture: a step there may be the "
        "environment's, not the code's"
    ]


def pytest_benchmark_json(report: Path, target: Path) -> Path:
    """``report`` as pytest-benchmark writes a sweep with ``--benchmark-json``: cells in extra_info."""
    loaded = model.load(report)
    rounds = model.load_rounds(model.files.rounds_path(report))
    benchmarks = []
    for row in loaded.cells.itertuples():
        data = rounds[
            (rounds["kernel"] == row.kernel) & (rounds["n"] == row.n) & (rounds["epochs"] == row.epochs)
        ]
        benchmarks.append(
            {
                "name": f"test_descent[{row.kernel}-{row.n}-{row.epochs}]",
                "extra_info": {
                    "kernel": row.kernel,
                    "n": int(row.n),
                    "epochs": int(row.epochs),
                    "gdbench": loaded.metadata,
                },
                "stats": {
                    "median": row.median_s,
                    "min": row.min_s,
                    "max": row.max_s,
                    "data": list(data["seconds"]),
                },
            }
        )
    target.write_text(json.dumps({"benchmarks": benchmarks, "datetime": "2026-12-01T00:00:00"}))
    return target


def test_pytest_benchmark_json_reads_like_its_csv_and_the_same_run_counts_once(tmp_path, capsys):
    paths = write_history(tmp_path / "csv")
    autosave = tmp_path / "csv" / ".benchmarks" / "Linux-CPython-3.11-64bit"
    autosave.mkdir(parents=True)
    for index, path in enumerate(paths[:2]):
        pytest_benchmark_json(path, autosave / f"000{index}_run.json")  # the same runs as JSON
    (tmp_path / "csv" / ".venv").mkdir()
    (tmp_path / "csv" / ".venv" / "stray.csv").write_text("not,a\nreport,at all\n")  # not searched
    status, lines, _ = run(capsys, tmp_path / "csv")
    assert status == 0
    assert lines[0].startswith("history: 4 run(s) from 6 report(s); 2 duplicate(s) set aside")
    assert len(steps(lines)) == 6
    # JSON alone, named file by file, is a history too.
    jsons = [pytest_benchmark_json(path, tmp_path / f"{path.stem}.json") for path in paths]
    status, lines, _ = run(capsys, *jsons)
    assert status == 0 and len(steps(lines)) == 6


def test_pooled_reports_stand_for_their_batches_and_other_csvs_are_skipped(tmp_path, capsys):
    # The gate example keeps its pooled reports only: split them back into one report per batch.
    gate = tmp_path / "gate"
    shutil.copytree(RESULTS / "gate-example", gate)
    written = 0
    for side in ("base", "new"):
        cells = pd.read_csv(gate / f"{side}.csv")
        rounds = pd.read_csv(files.find_rounds(gate / f"{side}.csv"))
        for batch, part in rounds.groupby("batch"):
            medians = part.groupby(["kernel", "n", "epochs"], as_index=False)["seconds"].median()
            key = ["kernel", "n", "epochs"]
            one = cells.drop(columns=["median_s", "min_s", "max_s"]).merge(medians, on=key)
            one = one.rename(columns={"seconds": "median_s"})
            files.write(gate / "batches" / f"{side}-{batch}.csv", one, part.drop(columns="batch"))
            written += 1
    assert written >= 10  # the gate's first round alone is 5 batches a side
    status, lines, _ = run(capsys, gate)
    assert status == 0
    expected = f"history: 2 run(s) from {written + 2} report(s); {written} duplicate(s) set aside"
    assert lines[0].startswith(expected)
    assert "1 file(s) skipped, not reports: " in lines[0] and "comparison.csv" in lines[0]


def test_the_gate_reports_as_ci_reads_them_make_a_page(tmp_path, capsys):
    gate = RESULTS / "gate-example"
    status, lines, _ = run(
        capsys, gate / "base.csv", gate / "new.csv", "--min-versions", "1", "--out", tmp_path
    )
    judged = (pd.read_csv(gate / "base.csv")["kernel"] != "stream").sum()
    assert status == 0 and f"over {judged} candidate change points" in lines[-2]
    assert "numba_simd" in (tmp_path / "index.html").read_text()


@pytest.mark.parametrize("run_name", ["aa-15-batches", "aa-confirm"])
def test_committed_aa_runs_as_twenty_commits_give_no_step(run_name):
    # Twenty reports of the same code, each given its own commit in the order they were measured:
    # every boundary is a candidate, and none may be a step.
    reports = [report for pair in load_pairs(RESULTS / run_name / "batches.csv.gz") for report in pair]
    start = pd.Timestamp("2026-11-26T12:00:00Z")
    runs = [
        analysis.Run(report, f"run-{i}", start + pd.Timedelta(minutes=i), f"commit{i:02d}", "vm")
        for i, report in enumerate(reports)
    ]
    found = analysis.history(runs)
    assert found.candidates > 500
    assert found.steps.empty


def test_single_batch_aa_histories_rarely_step():
    # Histories of 30 single-batch runs, each its own commit, drawn from the committed A/A batches
    # of unchanged code (their real scatter, disturbed batches included). Each direction's
    # family-wise rate is at most alpha: allow 2·alpha of the histories any step.
    reports = [
        report
        for name in ("aa-15-batches", "aa-confirm")
        for pair in load_pairs(RESULTS / name / "batches.csv.gz")
        for report in pair
    ]
    batches = pd.concat(
        [r.batches.assign(batch=r.batches["batch"] + 100 * index) for index, r in enumerate(reports)],
        ignore_index=True,
    )
    groups = [group.assign(batch=0) for _, group in batches.groupby("batch")]
    rng = np.random.default_rng(13)
    start = pd.Timestamp("2026-11-26T12:00:00Z")
    trials, alarms = 20, 0
    assert len(groups) == 600  # 40 reports of 15 batches
    for _ in range(trials):
        runs = []
        for i, pick in enumerate(rng.choice(len(groups), size=30, replace=False)):
            report = model.Report(Path(f"r{i}.csv"), groups[pick], groups[pick], {}, "batches")
            runs.append(analysis.Run(report, f"r{i}", start + pd.Timedelta(minutes=i), f"c{i:02d}", "vm"))
        alarms += not analysis.history(runs).steps.empty
    assert alarms <= 2 * analysis.DEFAULT_ALPHA * trials


def test_every_committed_report_is_read_or_skipped_by_name(capsys):
    runs, skipped = command.collect([RESULTS])
    assert {Path(line.split(" (")[0]).name for line in skipped} <= {
        "aa.csv",
        "comparison.csv",
        "20261126T161733Z_8d2d62c_vm.json",
    }
    kept, duplicates = analysis.skip_duplicates(runs)
    assert len(kept) + len(duplicates) == len(runs) and len(kept) >= 4


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("missing", "no such file or folder"),
        ("comparison", "is missing column(s) median_s"),
        ("rounds", "looks like a rounds file"),
        ("empty", "no report found in"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(tmp_path, capsys, name, message):
    paths = {
        "missing": tmp_path / "nothing-here",
        "comparison": RESULTS / "gate-example" / "comparison.csv",
        "rounds": DATA / "quick_report.rounds.csv",
        "empty": tmp_path,
    }
    status, lines, err = run(capsys, paths[name])
    assert status == 2 and lines == []
    assert len(err.splitlines()) == 1 and message in err and err.startswith("python -m bench.history: error:")


def test_the_page_replaces_its_own_index_but_no_other_file(tmp_path, capsys):
    write_history(tmp_path / "runs")
    out = tmp_path / "page"
    assert run(capsys, tmp_path / "runs", "--out", out)[0] == 0
    assert run(capsys, tmp_path / "runs", "--out", out)[0] == 0  # its own page: replaced
    foreign = tmp_path / "site"
    foreign.mkdir()
    (foreign / "index.html").write_text("<html>someone's page</html>")
    status, _, err = run(capsys, tmp_path / "runs", "--out", foreign)
    assert status == 2 and "was not written by python -m bench.history" in err
    assert (foreign / "index.html").read_text() == "<html>someone's page</html>"


def test_every_string_from_a_report_is_escaped_in_the_page(tmp_path, capsys):
    paths = write_history(tmp_path / "runs", host="<b>host</b>")
    for path in paths:
        for frame_path in (path, model.files.rounds_path(path)):
            frame = pd.read_csv(frame_path)
            frame["kernel"] = frame["kernel"].replace("numba", "<script>alert(1)</script>")
            frame.to_csv(frame_path, index=False)
    assert run(capsys, tmp_path / "runs", "--out", tmp_path / "page")[0] == 0
    page = (tmp_path / "page" / "index.html").read_text()
    assert "<script" not in page and "<b>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and "&lt;b&gt;host&lt;/b&gt;" in page


# --- CI ---------------------------------------------------------------------------------------

WORKFLOW = PROJECT / ".github" / "workflows" / "benchmarks.yml"


def test_ci_runs_the_history_over_the_gate_reports_after_the_gate_and_uploads_it():
    (job,) = yaml.safe_load(WORKFLOW.read_text())["jobs"].values()
    names = [step.get("name", "") for step in job["steps"]]
    gate = next(i for i, step in enumerate(job["steps"]) if "bench.gate" in step.get("run", ""))
    (index,) = [i for i, step in enumerate(job["steps"]) if "gd-history" in step.get("run", "")]
    history = job["steps"][index]
    assert index > gate and "always()" in str(history.get("if")), names
    (line,) = [line.strip() for line in history["run"].splitlines() if "gd-history" in line]
    args = shlex.split(line)
    # gd-history is bench.history's installed script; its arguments parse.
    pyproject = (PROJECT / "pyproject.toml").read_text()
    assert Path(args[0]).name == "gd-history"
    assert re.search(r'^gd-history = "bench\.history:main"$', pyproject, flags=re.MULTILINE)
    parsed = command.build_parser().parse_args(args[1:])
    assert [str(p) for p in parsed.paths] == ["gate-report/base.csv", "gate-report/new.csv"]
    assert str(parsed.out) == "gate-report/history" and parsed.min_versions == 1
    # The upload (of gate-report/) and the job summary's link come after it, also always.
    upload = next(
        i for i, s in enumerate(job["steps"]) if s.get("uses", "").startswith("actions/upload-artifact@")
    )
    summary = next(i for i, s in enumerate(job["steps"]) if "GITHUB_STEP_SUMMARY" in s.get("run", ""))
    assert upload > index and summary > index
    assert job["steps"][upload]["with"]["path"].rstrip("/") == "gate-report"
    link = job["steps"][summary]["run"]
    assert re.search(r"benchmark-gate.*history/index\.html", link)
    assert job["steps"][upload]["with"]["name"] == "benchmark-gate"
