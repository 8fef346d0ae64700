"""Nothing measured is lost: the sweep against real faults, each a real ``pytest bench`` process.

A read-only or full destination is a real tmpfs mounted for the test (the suite runs as root, as CI
does); SIGTERM and SIGKILL are real signals to a real sweep. No timing is asserted.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from mounts import fill, tmpfs

from bench import recover
from bench.reports import files, journal

ROOT = Path(__file__).resolve().parent.parent
#: A grid of cells that each take a fraction of a second: long enough to be stopped in the middle.
SLOW_GRID = ["--kernels", "numpy", "--n", "10,100,1000,10000", "--epochs", "10,100", "--bench-time", "0.2"]
FAST_GRID = ["--kernels", "numpy", "--n", "10,100", "--epochs", "10", "--bench-time", "0.01"]


def sweep_command(csv: Path, grid: list[str]) -> list[str]:
    return [
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
        "--csv",
        str(csv),
        *grid,
    ]


def cells_in(path: Path) -> int:
    if not path.exists():
        return 0
    return sum('"cell"' in line for line in path.read_text().splitlines())


def wait_for_cells(process: subprocess.Popen, path: Path, count: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while cells_in(path) < count:
        assert process.poll() is None, "the sweep ended before it was to be stopped"
        assert time.monotonic() < deadline, f"no {count} cells in {path} after {timeout} s"
        time.sleep(0.05)


@pytest.mark.parametrize(("size", "read_only", "why"), [("1m", True, "not writable"), ("16k", False, "free")])
def test_a_destination_that_cannot_take_the_report_stops_the_run_before_measuring(
    tmp_path, size, read_only, why
):
    with tmpfs(tmp_path / "mnt", size, read_only) as mnt:
        result = subprocess.run(
            sweep_command(mnt / "r.csv", FAST_GRID), cwd=ROOT, capture_output=True, text=True, timeout=120
        )
        assert list(mnt.iterdir()) == []
    assert result.returncode == pytest.ExitCode.USAGE_ERROR
    errors = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(errors) == 1 and why in errors[0] and str(mnt) in errors[0]
    assert "passed" not in result.stdout  # nothing was measured


def test_sigterm_keeps_the_cells_that_finished(tmp_path):
    csv = tmp_path / "r.csv"
    process = subprocess.Popen(
        sweep_command(csv, SLOW_GRID), cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        wait_for_cells(process, journal.journal_path(csv), 2)
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=120)
    finally:
        process.kill()
    report = pd.read_csv(csv)
    assert 2 <= len(report) < 8  # the cells that finished, not the whole grid
    assert "run interrupted" in output
    assert not journal.journal_path(csv).exists()  # the report holds it all now


def test_a_killed_sweep_leaves_a_journal_that_recover_turns_into_its_report(tmp_path, capsys):
    csv = tmp_path / "r.csv"
    path = journal.journal_path(csv)
    process = subprocess.Popen(
        sweep_command(csv, SLOW_GRID), cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        wait_for_cells(process, path, 2)
        process.kill()  # SIGKILL: no handler runs
        process.wait(timeout=60)
    finally:
        process.kill()
    assert not csv.exists()
    finished = cells_in(path)
    assert recover.main([str(path)]) == 0
    assert f"report: {csv}" in capsys.readouterr().out
    report = pd.read_csv(csv)
    assert len(report) == finished and not path.exists()
    assert (report["rounds"] > 0).all() and len(pd.read_csv(files.rounds_path(csv))) == report["rounds"].sum()


def test_a_disk_that_fills_during_the_run_saves_the_report_to_the_fallback(tmp_path):
    fallback = tmp_path / "fallback"
    fallback.mkdir()
    with tmpfs(tmp_path / "mnt", "1m") as mnt:
        csv = mnt / "r.csv"
        env = {**os.environ, "TMPDIR": str(fallback)}
        process = subprocess.Popen(
            sweep_command(csv, SLOW_GRID),
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=env,
        )
        try:
            wait_for_cells(process, journal.journal_path(csv), 1)
            fill(mnt)  # for real
            output, _ = process.communicate(timeout=120)
        finally:
            process.kill()
        assert not csv.exists()
    assert process.returncode == 0
    saved = fallback / "r.csv"
    assert f"saved to {saved}" in output
    assert len(pd.read_csv(saved)) == 8  # every cell of the grid


def test_recover_refuses_what_is_not_a_journal_in_one_line(tmp_path, capsys):
    bogus = tmp_path / "r.journal.jsonl"
    bogus.write_text("not json\nnor this\n")
    assert recover.main([str(bogus)]) == 2
    assert recover.main([str(tmp_path / "r.csv")]) == 2
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 2 and all(line.startswith("python -m bench.recover: error: ") for line in err)


def test_a_batched_sweep_killed_among_its_workers_is_recovered_with_every_finished_batch(tmp_path, capsys):
    csv = tmp_path / "r.csv"
    grid = ["--kernels", "numpy", "--n", "10,100", "--epochs", "10,100", "--bench-time", "0.2"]
    command = sweep_command(csv, grid)
    command[command.index("--batches") + 1] = "3"
    # A session of its own: the kill takes the sweep and its worker together, as a dying machine would.
    process = subprocess.Popen(
        command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )
    try:
        deadline = time.monotonic() + 120
        # Batch 1 (index 1, the first worker's) finished, batch 2's worker measuring a cell or two.
        while not (
            list(tmp_path.glob("r.batches-*/batch-1.csv"))
            and cells_in(next(tmp_path.glob("r.batches-*")) / "batch-2.journal.jsonl") >= 2
        ):
            assert process.poll() is None, "the sweep ended before it was to be stopped"
            assert time.monotonic() < deadline, "the workers never got that far"
            time.sleep(0.05)
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=60)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
    assert not csv.exists()
    folder = next(tmp_path.glob("r.batches-*"))
    partial = cells_in(folder / "batch-2.journal.jsonl")
    assert recover.main([str(journal.journal_path(csv))]) == 0
    capsys.readouterr()
    rounds = pd.read_csv(files.rounds_path(csv))
    per_batch = rounds.groupby("batch")[["kernel", "n", "epochs"]].apply(lambda g: len(g.drop_duplicates()))
    assert list(per_batch) == [4, 4, partial]  # two whole batches, and the cells the third finished
    assert not folder.exists() and not journal.journal_path(csv).exists()
