"""The sweep end to end, each run a real ``pytest bench`` in a subprocess (bench/run/plugin.py).

No timing is asserted here: what is checked is which benchmarks ran, what the report holds, that bad
options stop the run, and that Ctrl-C keeps the cells that finished.
"""

import importlib.util
import os
import re
import signal
import statistics
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pandas as pd
import pytest

from bench.reports import files, model
from bench.run.probes import PROBES
from impls import KERNELS, kernel_names

ROOT = Path(__file__).resolve().parent.parent
# The quick sweep as the issue specifies it, and its python_loop budget, which skips python_loop's
# slowest quick cell as the budget says.
QUICK_N = (10, 1_000, 100_000)
QUICK_EPOCHS = (10, 100)
PYTHON_BUDGET = 10**5
KERNELS_HERE = [*kernel_names(), *PROBES]
# What a sweep times unless --kernels says otherwise: all but the kernels that run on a cluster.
SWEPT = [name for name in KERNELS_HERE if not getattr(KERNELS.get(name), "distributed", False)]
CASE = re.compile(r"test_descent\[(?P<kernel>\w+)-n=(?P<n>\d+)-epochs=(?P<epochs>\d+)\]")


def pytest_bench(*args, timeout=300, env=None):
    return subprocess.run(
        [sys.executable, "-m", "pytest", "bench", "-p", "no:cacheprovider", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
    )


def junit_cases(path):
    """{(kernel, n, epochs): (outcome, message)} from a JUnit XML file."""
    cases = {}
    for case in ET.parse(path).getroot().iter("testcase"):
        match = CASE.fullmatch(case.get("name"))
        assert match, case.get("name")
        outcome, message = "passed", ""
        for child in case:
            if child.tag in ("skipped", "failure", "error"):
                outcome, message = child.tag, child.get("message", "")
        key = (match["kernel"], int(match["n"]), int(match["epochs"]))
        cases[key] = (outcome, message)
    return cases


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory):
    """One timed quick sweep (rounds as short as allowed), its JUnit XML, report and figures: the
    tests below read it, since every sweep compiles every JIT kernel afresh, the slow part."""
    folder = tmp_path_factory.mktemp("quick")
    junit, csv = folder / "junit.xml", folder / "r.csv"
    done = pytest_bench(
        "--benchmark-only",
        "--sweep",
        "quick",
        "--batches",
        "1",
        "--python-budget",
        str(PYTHON_BUDGET),
        "--bench-time",
        "0.001",
        f"--junitxml={junit}",
        "--csv",
        str(csv),
        # What this run checks is the sweep's bookkeeping: no cell is marked disturbed (and measured
        # again) whatever else the machine runs. tests/test_load.py covers the marking.
        env={**os.environ, "GDBENCH_DISTURBED_CORES": "inf"},
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done, junit, csv


def test_quick_sweep_runs_every_kernel_in_every_cell_once(quick_run):
    done, junit, _ = quick_run
    cases = junit_cases(junit)
    expected = {(k, n, e) for k in SWEPT for n in QUICK_N for e in QUICK_EPOCHS}
    assert set(cases) == expected
    for (kernel, n, epochs), (outcome, message) in cases.items():
        if kernel == "python_loop" and n * epochs > PYTHON_BUDGET:
            assert outcome == "skipped"
            assert "--python-budget" in message
        else:
            assert outcome == "passed", (kernel, n, epochs, message)
    compiled = [name for name in kernel_names() if KERNELS[name].compiled]
    for kernel in compiled:
        assert re.search(rf"fresh JIT compile:.*\b{kernel} [0-9.e-]+ s", done.stdout), kernel


def test_an_untimed_run_calls_each_kernel_once_and_writes_no_report(tmp_path):
    csv = tmp_path / "r.csv"
    done = pytest_bench(
        "--benchmark-disable", "--kernels", "numpy", "--n", "10", "--epochs", "10", "--csv", str(csv)
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "ran once, untimed" in done.stdout  # nothing was timed, so there is nothing to report
    assert not csv.exists()


def test_a_timed_run_reports_every_cell_that_ran_and_no_skipped_one(quick_run):
    done, _, csv = quick_run
    assert f"report: {csv}" in done.stdout
    cells = pd.read_csv(csv)
    rounds = pd.read_csv(csv.with_name("r.rounds.csv"))
    assert "batch" not in rounds  # one batch, nothing measured again: no pooling

    # python_loop ran where N · epochs is within its budget, and is absent elsewhere.
    ran = {(k, n, e) for k in SWEPT for n in QUICK_N for e in QUICK_EPOCHS}
    ran -= {("python_loop", n, e) for n in QUICK_N for e in QUICK_EPOCHS if n * e > PYTHON_BUDGET}
    assert set(zip(cells["kernel"], cells["n"], cells["epochs"])) == ran
    assert len(cells) == len(ran)
    assert (cells["sweep"] == "quick").all()
    assert cells["run_id"].nunique() == 1
    for kernel, compile_s in zip(cells["kernel"], cells["compile_s"]):
        compiled = kernel in KERNELS and KERNELS[kernel].compiled
        assert (compile_s > 0) if compiled else pd.isna(compile_s), kernel

    # Each row's statistics are those of its raw rounds.
    for _, row in cells.iterrows():
        own = rounds[
            (rounds["kernel"] == row["kernel"])
            & (rounds["n"] == row["n"])
            & (rounds["epochs"] == row["epochs"])
        ]
        assert own["round"].tolist() == list(range(row["rounds"]))
        assert row["rounds"] >= 3
        assert row["median_s"] == pytest.approx(statistics.median(own["seconds"]), rel=1e-12)
        assert row["min_s"] == pytest.approx(own["seconds"].min(), rel=1e-12)
        assert row["ns_per_update"] == pytest.approx(row["median_s"] / (row["n"] * row["epochs"]) * 1e9)

    # Every kernel's time as a multiple of the stream probe timed in the same cell.
    if "stream" in SWEPT:
        for _, cell in cells.groupby(["n", "epochs"]):
            cell = cell.set_index("kernel")
            expected = cell["median_s"] / cell.loc["stream", "median_s"]
            assert cell["x_stream"].to_numpy() == pytest.approx(expected.to_numpy(), rel=1e-12)


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--sweep", "huge"], ["--sweep", "quick, default, full"]),
        (["--n", "10,abc"], ["--n", "'abc'"]),
        (["--kernels", "numpy,cuda"], ["--kernels", "'cuda'", ", ".join(KERNELS_HERE)]),
        (["--csv", "r.csv", "--no-csv"], ["--csv", "--no-csv"]),
        (["--plot", "--no-csv"], ["--plot", "needs one"]),
    ],
)
def test_bad_options_stop_the_run_at_once(args, words):
    done = pytest_bench("--benchmark-only", *args, timeout=120)
    assert done.returncode == pytest.ExitCode.USAGE_ERROR, done.stdout + done.stderr
    assert "collected" not in done.stdout
    for word in words:
        assert word in done.stderr


def test_an_existing_report_is_refused_and_left_alone(tmp_path):
    csv = tmp_path / "r.csv"
    csv.write_text("an earlier report\n")
    done = pytest_bench("--benchmark-only", "--csv", str(csv), timeout=120)
    assert done.returncode == pytest.ExitCode.USAGE_ERROR
    assert "already exists" in done.stderr
    assert "never overwritten" in done.stderr
    assert csv.read_text() == "an earlier report\n"


def test_ctrl_c_keeps_the_cells_that_finished(tmp_path):
    csv = tmp_path / "r.csv"
    # The default sweep runs for minutes; it is interrupted after its first few benchmarks.
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "pytest",
            "bench",
            "-p",
            "no:cacheprovider",
            "-v",
            "--benchmark-only",
            "--bench-time",
            "0.02",
            "--csv",
            str(csv),
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    lines = []
    try:
        for line in process.stdout:
            lines.append(line)
            if sum(" PASSED" in seen for seen in lines) >= 3:
                process.send_signal(signal.SIGINT)
                break
        out, _ = process.communicate(timeout=120)
    finally:
        if process.poll() is None:
            process.kill()
    output = "".join(lines) + out
    assert process.returncode == pytest.ExitCode.INTERRUPTED, output
    assert "interrupted" in output

    passed = set()
    for line in output.splitlines():
        match = CASE.search(line)
        if match and " PASSED" in line:
            passed.add((match["kernel"], int(match["n"]), int(match["epochs"])))
    cells = pd.read_csv(csv)
    rounds = pd.read_csv(csv.with_name("r.rounds.csv"))
    assert "batch" not in rounds  # one batch, nothing measured again: no pooling
    reported = set(zip(cells["kernel"], cells["n"], cells["epochs"]))
    assert passed <= reported
    default_cells = 6 * 3
    assert len(reported) < default_cells * len(SWEPT)  # the run really was cut short
    assert set(zip(rounds["kernel"], rounds["n"], rounds["epochs"])) == reported
    assert cells["rounds"].sum() == len(rounds)


def test_benchmark_histogram_draws_or_is_refused_before_measuring(tmp_path):
    result = pytest_bench(
        "--benchmark-only",
        "--kernels",
        "numpy",
        "--n",
        "10",
        "--epochs",
        "10",
        "--bench-time",
        "0.01",
        "--no-csv",
        f"--benchmark-histogram={tmp_path / 'hist'}",
    )
    if importlib.util.find_spec("pygal") and importlib.util.find_spec("pygaljs"):
        assert result.returncode == 0
        assert list(tmp_path.glob("hist*.svg"))
    else:
        assert result.returncode == pytest.ExitCode.USAGE_ERROR
        assert result.stderr.strip().splitlines() == [
            "ERROR: --benchmark-histogram needs pygal and pygaljs: pip install -e '.[histogram]'"
        ]
        assert "passed" not in result.stdout  # refused before any cell was measured


@pytest.mark.parametrize("option", ["--benchmark-max-time=2", "--benchmark-warmup=on"])
def test_calibration_options_the_sweep_replaces_are_refused_before_measuring(option):
    result = pytest_bench(
        "--benchmark-only", "--kernels", "numpy", "--n", "10", "--epochs", "10", "--no-csv", option
    )
    assert result.returncode == pytest.ExitCode.USAGE_ERROR
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and option.split("=")[0] in lines[0] and "--bench-time" in lines[0]


@pytest.fixture(scope="module")
def batched_run(tmp_path_factory):
    """A small sweep in two batches that asks for 40 rounds at least, writes pytest-benchmark's JSON
    beside its CSV report, and draws its figures."""
    folder = tmp_path_factory.mktemp("batched")
    csv, json_file = folder / "r.csv", folder / "r.json"
    result = pytest_bench(
        "--benchmark-only",
        "--kernels",
        "numpy,numba",
        "--n",
        "100000",
        "--epochs",
        "10",
        "--bench-time",
        "0.01",
        "--benchmark-min-rounds=40",
        "--batches",
        "2",
        "--csv",
        str(csv),
        f"--benchmark-json={json_file}",
        "--plot",
        env={**os.environ, "GDBENCH_DISTURBED_CORES": "inf"},  # two batches, none measured again
    )
    assert result.returncode == 0, result.stdout[-2000:]
    return result, csv, json_file


def test_plot_draws_the_pooled_report_in_the_folder_named_after_it(batched_run):
    result, csv, _ = batched_run
    # --plot (what make bench passes) draws the report just written, all its batches pooled.
    for name in ("time_per_call.png", "ns_per_update.png", "speedup.png", "summary.md"):
        assert (csv.parent / "r" / name).stat().st_size > 0, name
    assert "figures and summary:" in result.stdout


def test_benchmark_min_rounds_is_honoured_in_every_batch(batched_run):
    _, csv, _ = batched_run
    # The calls far exceed the 0.01 s budget; the worker's batch is held to the minimum too.
    rounds = pd.read_csv(files.rounds_path(csv))
    assert rounds["batch"].nunique() == 2
    assert (rounds.groupby(["kernel", "batch"]).size() >= 40).all()


def test_benchmark_json_of_the_sweep_is_a_report_that_compare_reads(batched_run):
    # One run writes both: pytest-benchmark's JSON, and the sweep's own CSV report and summary.
    result, csv, json_file = batched_run
    assert "gdbench sweep summary" in result.stdout and csv.exists() and json_file.exists()
    from_json, from_csv = model.load(json_file), model.load(csv)
    assert from_json.source == "rounds" and from_json.metadata["run_id"] == from_csv.metadata["run_id"]
    # The JSON is pytest-benchmark's: the batch this process timed (batch 0); the CSV pools all.
    assert from_csv.batches["batch"].nunique() == 2
    rounds = pd.read_csv(files.rounds_path(csv))
    first_batch = rounds[rounds["batch"] == 0].groupby(["kernel", "n", "epochs"])["seconds"].median()
    pd.testing.assert_series_equal(
        from_json.cells.set_index(["kernel", "n", "epochs"])["median_s"].sort_index(),
        first_batch.rename("median_s").sort_index(),
    )
    compared = subprocess.run(
        [sys.executable, "-m", "bench.compare", str(json_file), str(json_file)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert (
        compared.returncode == 0 and "numba" in compared.stdout and "no significant change" in compared.stdout
    )
