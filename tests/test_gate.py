"""bench.gate on a throwaway git repository: a copy of this project's impls/, bench/ and
pyproject.toml, committed once as is and once with the numpy kernel made three times slower.

The slowed kernel is flagged only if each side really runs its own code: were the base measured with
the working tree's code (or the new side with the installed project's), both sides would run at the
same speed and the gate would pass.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

import pandas as pd
import pytest

from bench import gate
from bench.gating import batches
from bench.reports import pooling

CELL = ["kernel", "n", "epochs"]

PROJECT = Path(__file__).resolve().parents[1]
#: The tiny grid every gate run here measures: one cell, two batches per side, no extra rounds.
GRID = ["--n", "1000", "--epochs", "10", "--kernels", "numpy", "--batches", "2", "--budget", "0"]
SLOW_CELL = "numpy n=1000 epochs=10"

SLOWDOWN = '''

_fast_descend = descend


def descend(x, y, w, b, learning_rate, epochs):
    """The same descent, run three times: a kernel made clearly slower on purpose."""
    for _ in range(2):
        _fast_descend(x, y, w, b, learning_rate, epochs)
    return _fast_descend(x, y, w, b, learning_rate, epochs)
'''


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True, text=True).stdout.strip()


@pytest.fixture(autouse=True)
def _judge_every_cell(monkeypatch):
    # These tests check verdicts on real measurements; on a machine shared with other work every
    # cell could be marked disturbed and left unjudged (tests/test_disturbance.py covers that).
    monkeypatch.setenv("GDBENCH_DISTURBED_CORES", "inf")


@pytest.fixture(scope="module")
def repo(tmp_path_factory) -> Path:
    """HEAD~1: the project as it is; HEAD: the numpy kernel three times slower."""
    root = tmp_path_factory.mktemp("throwaway") / "repo"
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for folder in ("impls", "bench"):
        shutil.copytree(PROJECT / folder, root / folder, ignore=ignore)
    shutil.copy(PROJECT / "pyproject.toml", root / "pyproject.toml")
    (root / ".gitignore").write_text("__pycache__/\nresults/\n")
    git(root, "init", "--quiet")
    git(root, "config", "user.email", "gate@example.invalid")
    git(root, "config", "user.name", "gate test")
    git(root, "add", ".")
    git(root, "commit", "--quiet", "-m", "as is")
    kernel = root / "impls" / "numpy_vectorized.py"
    kernel.write_text(kernel.read_text() + SLOWDOWN)
    git(root, "commit", "--quiet", "-am", "numpy kernel 3x slower")
    return root


@pytest.fixture
def in_repo(repo, tmp_path, monkeypatch) -> Path:
    """Run the gate from inside ``repo``, with its temporary folders under ``tmp_path/tmp``."""
    monkeypatch.chdir(repo)
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    return scratch


def assert_cleaned_up(repo: Path, scratch: Path) -> None:
    worktrees = [
        line
        for line in git(repo, "worktree", "list", "--porcelain").splitlines()
        if line.startswith("worktree ")
    ]
    assert worktrees == [f"worktree {repo}"]
    assert list(scratch.iterdir()) == []


def test_a_kernel_made_slower_in_a_later_commit_is_flagged(repo, in_repo, tmp_path, capsys):
    out = tmp_path / "out"
    # A budget for extra rounds: with two batches a side each look's t has two degrees of freedom,
    # and should one batch thrown off by a busy machine leave the cell open, more batches settle it.
    grid = [*GRID]
    grid[grid.index("--budget") + 1] = "30"
    status = gate.main(["--base", "HEAD~1", *grid, "--out", str(out)])
    stdout, stderr = capsys.readouterr()
    assert status == 1, stdout + stderr
    assert f"regression: {SLOW_CELL}:" in stdout
    assert_cleaned_up(repo, in_repo)

    # Each side was measured from its own commit, in two batches or more, and both reports were kept.
    base, new = (pd.read_csv(out / f"{side}.csv", dtype={"git_commit": str}) for side in ("base", "new"))
    assert base["git_commit"].iloc[0] == git(repo, "rev-parse", "--short", "HEAD~1")
    assert new["git_commit"].iloc[0] == git(repo, "rev-parse", "--short", "HEAD")
    for side in ("base", "new"):
        rounds = pd.read_csv(out / f"{side}.rounds.csv")
        assert sorted(rounds["batch"].unique())[:2] == [0, 1]
    ratio = new["median_s"].iloc[0] / base["median_s"].iloc[0]
    assert ratio > 2  # the kernel runs three times; a gate mixing up sides would see about 1
    assert "**slower**" in (out / "comparison.md").read_text()
    table = pd.read_csv(out / "comparison.csv")
    assert table["verdict"].tolist() == ["slower"]


def test_base_equal_to_head_passes(repo, in_repo, tmp_path, capsys):
    out = tmp_path / "out"
    # Two batches a side, each side's spread its own: with one batch the interval would rest on an
    # assumed spread, and a batch thrown off by other work on the machine could be called slower.
    status = gate.main(["--base", "HEAD", *GRID, "--out", str(out), "--format", "markdown"])
    stdout, stderr = capsys.readouterr()
    assert status == 0, stdout + stderr
    assert stdout.startswith("### Benchmark comparison: no regression")
    assert (out / "base.csv").exists() and (out / "new.csv").exists()
    assert_cleaned_up(repo, in_repo)


def test_an_interrupted_gate_removes_its_worktree(repo, in_repo, tmp_path, capsys, monkeypatch):
    started = []

    def interrupted(tree, *args, **kwargs):
        started.append(tree)
        assert (tree / "impls").is_dir()  # the worktree exists while batches run
        raise KeyboardInterrupt

    monkeypatch.setattr(batches, "run_batch", interrupted)
    status = gate.main(["--base", "HEAD~1", *GRID, "--out", str(tmp_path / "out")])
    assert status == 130
    assert len(started) == 1
    assert "interrupted" in capsys.readouterr().err
    assert_cleaned_up(repo, in_repo)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--base", "no-such-rev"], "is not a commit"),
        (["--base", "HEAD", "--batches", "0"], "--batches must be >= 1"),
        (["--base", "HEAD", "--threshold", "-1"], "--threshold must be a number > 0"),
        (["--base", "HEAD", "--kernels", "bogus"], "unknown kernel 'bogus'"),
        (["--base", "HEAD", "--sweep", "bogus"], "unknown sweep 'bogus'"),
        (["--base", "HEAD", "--out", "pyproject.toml"], "never overwritten"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(repo, in_repo, capsys, options, message):
    try:
        status = gate.main(options)
    except SystemExit as stopped:  # refused by the option parser, before any git or measuring
        status = stopped.code
    err = capsys.readouterr().err
    assert status == 2
    assert err.count("\n") == 1
    assert err.startswith("python -m bench.gate: error: ")
    assert message in err
    assert_cleaned_up(repo, in_repo)


def test_a_base_that_cannot_run_the_sweep_is_exit_2(repo, tmp_path, capsys, monkeypatch):
    # A first commit without the sweep: its pytest does not know --sweep.
    old = tmp_path / "old"
    shutil.copytree(repo, old, ignore=shutil.ignore_patterns(".git"))
    git(old, "init", "--quiet")
    git(old, "config", "user.email", "gate@example.invalid")
    git(old, "config", "user.name", "gate test")
    (old / "bench" / "conftest.py").rename(old / "conftest_later.py")
    git(old, "add", ".")
    git(old, "commit", "--quiet", "-m", "before the sweep")
    (old / "conftest_later.py").rename(old / "bench" / "conftest.py")
    git(old, "add", ".")
    git(old, "commit", "--quiet", "-m", "the sweep")
    monkeypatch.chdir(old)
    status = gate.main(["--base", "HEAD~1", *GRID, "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err.splitlines()
    assert status == 2
    assert err[-1].startswith("python -m bench.gate: error: the benchmark run at ")
    assert "unrecognized arguments" in err[-1]


def test_batches_alternate_which_side_runs_first():
    order = batches.batch_order(["base", "new"], 4)
    assert [side for _, side in order] == ["base", "new", "new", "base"] * 2
    assert [batch for batch, _ in order] == [0, 0, 1, 1, 2, 2, 3, 3]


def test_pooled_batches_keep_every_round_and_take_medians_over_batches(tmp_path):
    data = Path(__file__).parent / "data" / "compare"
    cells = pd.read_csv(data / "base.csv")
    rounds = pd.read_csv(data / "base.rounds.csv").drop(columns="batch")
    dropped = ("numba", 1000, 10)  # missing from the last batch, as after a failed cell
    paths = []
    # Each batch plans its own calls per round, compiles on its own, and runs at its own speed.
    for index, (iterations, compile_s) in enumerate(((8, 0.1), (8, 0.3), (4, 0.2))):
        path = tmp_path / f"batch-{index}.csv"
        times = {c: cells[c] * (1 + index) for c in ("min_s", "max_s", "median_s", "mean_s")}
        mine, mine_rounds = cells.assign(**times), rounds.assign(seconds=rounds["seconds"] * (1 + index))
        if index == 2:
            mine = mine[(mine[CELL] != pd.Series(dropped, index=CELL)).any(axis=1)]
            mine_rounds = mine_rounds[(mine_rounds[CELL] != pd.Series(dropped, index=CELL)).any(axis=1)]
        mine.assign(iterations=iterations, compile_s=compile_s).to_csv(path, index=False)
        mine_rounds.to_csv(tmp_path / f"batch-{index}.rounds.csv", index=False)
        paths.append(path)
    pooled, pooled_rounds = pooling.pool(paths)
    assert len(pooled_rounds) == 3 * len(rounds) - len(
        rounds[(rounds[CELL] == pd.Series(dropped, index=CELL)).all(axis=1)]
    )
    assert sorted(pooled_rounds["batch"].unique()) == [0, 1, 2]
    assert set(pooled["iterations"]) == {8}
    assert pooled["compile_s"].tolist() == pytest.approx([0.2] * len(pooled))
    assert set(pooled["batches"]) == {3}
    # The cell's time is the median over every round of every batch, not the first batch's.
    medians = pooled_rounds.groupby(CELL)["seconds"].median()
    first = rounds.groupby(CELL)["seconds"].median()
    assert pooled.set_index(CELL)["median_s"].to_dict() == medians.to_dict()
    assert (medians > first * 1.4).all()
