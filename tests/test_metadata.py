"""Run metadata (bench/run/metadata.py): columns, git state, CPU model."""

import subprocess
from datetime import datetime, timezone

import pytest

from bench.run import metadata

# The metadata columns of the report contract, in order, then the appended ``env``.
CONTRACT = [
    "run_id",
    "utc_time",
    "git_commit",
    "git_dirty",
    "host",
    "cpu_model",
    "cpu_count",
    "python_version",
    "numpy_version",
    "numba_version",
    "blas",
    "blas_threads",
    "numba_threads",
    "numba_threading_layer",
    "sweep",
    "env",
]


def git(repo, *args):
    return subprocess.run(
        ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@example.com", *args],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()


def test_collect_gives_the_contract_columns_with_their_types(tmp_path):
    now = datetime(2026, 11, 26, 16, 5, 3, tzinfo=timezone.utc)
    meta = metadata.collect("quick", tmp_path, now=now)
    assert list(meta) == CONTRACT
    assert meta["utc_time"] == "2026-11-26T16:05:03Z"
    assert meta["run_id"].startswith("20261126T160503Z_unknown_")
    assert meta["sweep"] == "quick"
    assert meta["numba_threading_layer"] in (
        "default",
        "safe",
        "threadsafe",
        "forksafe",
        "omp",
        "tbb",
        "workqueue",
    )
    for key in ("cpu_count", "blas_threads", "numba_threads"):
        assert isinstance(meta[key], int)
    assert meta["cpu_count"] >= 1
    assert isinstance(meta["git_dirty"], bool)
    for key in ("host", "cpu_model", "python_version", "numpy_version", "numba_version", "blas", "env"):
        assert isinstance(meta[key], str)
        assert meta[key]


def test_env_lists_the_thread_settings_that_are_set(tmp_path, monkeypatch):
    for name in metadata.THREAD_ENV:
        monkeypatch.delenv(name, raising=False)
    assert metadata.collect("quick", tmp_path)["env"] == "none"
    monkeypatch.setenv("OPENBLAS_CORETYPE", "Haswell")
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    assert metadata.collect("quick", tmp_path)["env"] == "OMP_NUM_THREADS=1 OPENBLAS_CORETYPE=Haswell"


def test_run_id_is_time_commit_and_a_file_safe_host():
    now = datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc)
    assert metadata.run_id(now, "abc1234", "my host/x") == "20260102T030405Z_abc1234_my-host-x"


def test_outside_a_repository_the_commit_is_unknown_and_dirty(tmp_path):
    assert metadata.git_state(tmp_path) == ("unknown", True)


@pytest.fixture
def repo(tmp_path):
    git(tmp_path, "init", "-q")
    (tmp_path / "a.txt").write_text("one\n")
    git(tmp_path, "add", "a.txt")
    git(tmp_path, "commit", "-q", "-m", "first")
    return tmp_path


def test_a_clean_checkout_gives_its_commit(repo):
    commit = git(repo, "rev-parse", "--short", "HEAD")
    assert metadata.git_state(repo) == (commit, False)
    assert metadata.collect("quick", repo)["git_commit"] == commit


def test_a_changed_tracked_file_makes_the_checkout_dirty(repo):
    (repo / "a.txt").write_text("two\n")
    assert metadata.git_state(repo)[1] is True


def test_an_untracked_file_makes_it_dirty_except_in_the_output_folders(repo):
    (repo / "results").mkdir()
    (repo / "results" / "run.csv").write_text("report\n")
    assert metadata.git_state(repo, outputs=["results"])[1] is False
    assert metadata.git_state(repo)[1] is True
    (repo / "new_kernel.py").write_text("def descend(): ...\n")
    assert metadata.git_state(repo, outputs=["results"])[1] is True


@pytest.mark.parametrize(
    ("text", "model"),
    [
        (
            "processor\t: 0\nmodel name\t: Intel(R) Xeon(R) Gold 6248\nflags\t: fpu\n",
            "Intel(R) Xeon(R) Gold 6248",
        ),
        (
            "processor\t: 0\nBogoMIPS\t: 50.00\nModel\t\t: Raspberry Pi 4 Model B Rev 1.4\n",
            "Raspberry Pi 4 Model B Rev 1.4",
        ),
    ],
)
def test_cpu_model_reads_cpuinfo(tmp_path, text, model):
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text(text)
    assert metadata.cpu_model(cpuinfo) == model


def test_cpu_model_without_cpuinfo_still_names_something(tmp_path):
    assert metadata.cpu_model(tmp_path / "missing")
