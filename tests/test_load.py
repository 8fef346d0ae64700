"""A busy neighbour on demand (``--load K``, bench/run/load.py): real processes, started and stopped."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import psutil
import pytest

from bench.reports import files, journal
from bench.run.load import MAX_LOAD_PER_CPU, BusyNeighbours

ROOT = Path(__file__).resolve().parent.parent
SWEEP = [
    sys.executable,
    "-m",
    "pytest",
    "bench",
    "--benchmark-only",
    "-q",
    "-p",
    "no:cacheprovider",
    "--batches",
    "1",
]


def spinners(parent: int) -> list[psutil.Process]:
    """The neighbours that the sweep with pid ``parent`` started and that still spin, found by what
    they run (their last argument is that pid: other sweeps' neighbours are not ours to count)."""
    found = []
    for process in psutil.process_iter(["cmdline", "status"]):
        cmdline = process.info["cmdline"] or []
        # An exited neighbour stays a zombie until whoever adopted it reaps it: it spins no more.
        if (
            process.info["status"] != psutil.STATUS_ZOMBIE
            and any("os.getppid() == parent" in c for c in cmdline)
            and cmdline[-1] == str(parent)
        ):
            found.append(process)
    return found


def test_neighbours_spin_while_started_and_are_gone_when_stopped():
    neighbours = BusyNeighbours(2)
    neighbours.start()
    try:
        pids = [p.pid for p in neighbours.processes]
        time.sleep(0.3)
        busy = [psutil.Process(pid).cpu_times().user for pid in pids]
        assert all(seconds > 0.05 for seconds in busy)  # they really take CPU
    finally:
        neighbours.stop()
    assert not any(psutil.pid_exists(pid) and psutil.Process(pid).status() != "zombie" for pid in pids)


@pytest.mark.parametrize("count", [-1, 1.5, True])
def test_a_bad_count_is_refused(count):
    with pytest.raises(ValueError, match="count"):
        BusyNeighbours(count)


def test_the_sweep_runs_under_load_and_records_it(tmp_path):
    csv = tmp_path / "r.csv"
    command = [*SWEEP, "--kernels", "numpy", "--n", "10", "--epochs", "10", "--bench-time", "0.05"]
    process = subprocess.Popen(
        [*command, "--load", "2", "--csv", str(csv)], cwd=ROOT, stdout=subprocess.PIPE, text=True
    )
    output, _ = process.communicate(timeout=120)
    result = subprocess.CompletedProcess(process.args, process.returncode, output, "")
    assert result.returncode == 0, result.stdout
    report = pd.read_csv(csv)
    assert set(report["load"]) == {2}
    # Two spinning neighbours on this machine's cores: the cell is marked, and the summary says so.
    assert report["disturbed"].all() and (report["others_cores"] > 0.25).all()
    assert "disturbed: 1 of 1 cells" in result.stdout
    # Measured again, twice and no more, in worker processes that ran beside the same neighbours.
    assert "then 2 process(es) measuring 2 disturbed cell(s) again" in result.stdout
    assert "1 cell(s) still disturbed" in result.stdout
    assert pd.read_csv(files.rounds_path(csv))["batch"].nunique() == 3
    assert spinners(process.pid) == []  # stopped with the run


def test_a_killed_sweep_leaves_no_neighbour_spinning(tmp_path):
    csv = tmp_path / "r.csv"
    process = subprocess.Popen(
        [
            *SWEEP,
            "--kernels",
            "numpy",
            "--n",
            "10,100,1000",
            "--epochs",
            "10,100",
            "--bench-time",
            "0.3",
            "--load",
            "2",
            "--csv",
            str(csv),
        ],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while not journal.journal_path(csv).exists() or len(spinners(process.pid)) < 2:
            assert time.monotonic() < deadline and process.poll() is None
            time.sleep(0.05)
        process.send_signal(signal.SIGKILL)  # no handler runs: the neighbours must notice alone
        process.wait(timeout=30)
    finally:
        process.kill()
    deadline = time.monotonic() + 10
    while spinners(process.pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert spinners(process.pid) == []


def test_a_bad_load_stops_the_run_before_measuring():
    result = subprocess.run(
        [
            *SWEEP,
            "--kernels",
            "numpy",
            "--n",
            "10",
            "--epochs",
            "10",
            "--load",
            "-1",
            "--no-csv",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == pytest.ExitCode.USAGE_ERROR
    assert result.stderr.strip().splitlines() == ["ERROR: --load: '-1' is below 0; give a whole number >= 0"]


def test_a_load_beyond_what_the_machine_can_hold_is_refused():
    too_many = str(MAX_LOAD_PER_CPU * (os.cpu_count() or 1) + 1)
    result = subprocess.run(
        [*SWEEP, "--kernels", "numpy", "--n", "10", "--epochs", "10", "--load", too_many, "--no-csv"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == pytest.ExitCode.USAGE_ERROR
    [line] = result.stderr.strip().splitlines()
    assert line.startswith(f"ERROR: --load: {too_many} busy processes") and "at most" in line
