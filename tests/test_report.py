"""Writing reports (bench/reports): columns, types, statistics, atomic and never-overwriting writes."""

import math
import os

import pandas as pd
import pytest

from bench.reports import files, frames, model, pooling

# The report contract, in order: statistics and compile time, then the run metadata.
CELL_COLUMNS = [
    "kernel",
    "n",
    "epochs",
    "rounds",
    "min_s",
    "max_s",
    "median_s",
    "mean_s",
    "stddev_s",
    "iqr_s",
    "ns_per_update",
    "compile_s",
    "x_stream",
]
# After the metadata: calls per round, and what else the machine did while the cell ran.
TRAILING_COLUMNS = ["iterations", "others_cores", "steal_cores", "disturbed"]
METADATA = {
    "run_id": "20261126T160503Z_abc1234_host",
    "utc_time": "2026-11-26T16:05:03Z",
    "git_commit": "abc1234",
    "git_dirty": False,
    "host": "host",
    "cpu_model": "Some CPU",
    "cpu_count": 2,
    "python_version": "3.11.7",
    "numpy_version": "2.0.0",
    "numba_version": "0.60.0",
    "blas": "openblas 0.3.27 Haswell",
    "blas_threads": 2,
    "numba_threads": 2,
    "sweep": "quick",
    "env": "none",
}
RESULTS = [
    frames.CellResult("python_loop", 10, 10, (4e-3, 1e-3, 3e-3, 2e-3)),
    frames.CellResult("numba", 10, 10, (2e-6, 1e-6, 3e-6), iterations=100),
    frames.CellResult("numba", 1000, 100, (5e-4, 6e-4, 4e-4)),
]
COMPILE_S = {"numba": 0.5, "python_loop": None}


@pytest.fixture
def cells():
    return frames.cells_frame(RESULTS, COMPILE_S, METADATA)


@pytest.fixture
def rounds():
    return frames.rounds_frame(RESULTS)


def test_cells_have_the_contract_columns_in_order(cells):
    assert list(cells.columns) == [*CELL_COLUMNS, *METADATA, *TRAILING_COLUMNS]
    assert len(cells) == len(RESULTS)


def test_statistics_of_a_cell(cells):
    row = cells.iloc[0]  # rounds 1, 2, 3, 4 ms
    assert row["rounds"] == 4
    assert (row["min_s"], row["max_s"]) == (1e-3, 4e-3)
    assert row["median_s"] == pytest.approx(2.5e-3)
    assert row["mean_s"] == pytest.approx(2.5e-3)
    assert row["stddev_s"] == pytest.approx(math.sqrt(5 / 3) * 1e-3)  # sample standard deviation
    # Quartiles as medians of the lower and upper halves (1.5 and 3.5 ms), pytest-benchmark's rule.
    assert row["iqr_s"] == pytest.approx(2e-3)
    assert row["ns_per_update"] == pytest.approx(2.5e-3 / (10 * 10) * 1e9)


def test_compile_time_is_per_kernel_and_empty_for_interpreted_ones(cells):
    assert cells.loc[cells["kernel"] == "numba", "compile_s"].tolist() == [0.5, 0.5]
    assert cells.loc[cells["kernel"] == "python_loop", "compile_s"].isna().all()


def test_metadata_is_on_every_row(cells):
    for key, value in METADATA.items():
        assert cells[key].tolist() == [value] * len(RESULTS)


def test_rounds_are_long_form_per_call_seconds(rounds):
    assert list(rounds.columns) == ["kernel", "n", "epochs", "round", "seconds", "disturbed"]
    assert len(rounds) == sum(len(result.seconds) for result in RESULTS)
    numba_small = rounds[(rounds["kernel"] == "numba") & (rounds["n"] == 10)]
    assert numba_small["round"].tolist() == [0, 1, 2]
    assert numba_small["seconds"].tolist() == [2e-6, 1e-6, 3e-6]


def test_written_files_read_back_with_their_types(tmp_path, cells, rounds):
    written = files.write(tmp_path / "run.csv", cells, rounds)
    assert written == tmp_path / "run.csv"
    back = pd.read_csv(written)
    assert list(back.columns) == list(cells.columns)
    for column in ("n", "epochs", "rounds", "cpu_count", "blas_threads", "numba_threads", "iterations"):
        assert pd.api.types.is_integer_dtype(back[column]), column
    for column in CELL_COLUMNS[4:]:
        assert pd.api.types.is_float_dtype(back[column]), column
    assert pd.api.types.is_bool_dtype(back["git_dirty"])
    assert back["compile_s"].isna().tolist() == [True, False, False]
    pd.testing.assert_frame_equal(back, cells, check_dtype=False)
    back_rounds = pd.read_csv(tmp_path / "run.rounds.csv")
    pd.testing.assert_frame_equal(back_rounds, rounds, check_dtype=False)
    assert sorted(os.listdir(tmp_path)) == ["run.csv", "run.rounds.csv"]  # no temporary left


def test_reports_get_the_permissions_of_any_new_file(tmp_path, cells, rounds):
    umask = os.umask(0o022)
    try:
        written = files.write(tmp_path / "run.csv", cells, rounds)
    finally:
        os.umask(umask)
    assert written.stat().st_mode & 0o777 == 0o644
    assert files.rounds_path(written).stat().st_mode & 0o777 == 0o644


def test_missing_folders_are_created(tmp_path, cells, rounds):
    written = files.write(tmp_path / "a" / "b" / "run.csv", cells, rounds)
    assert written.exists()


def test_an_existing_report_is_never_overwritten(tmp_path, cells, rounds):
    (tmp_path / "run.csv").write_text("old report\n")
    (tmp_path / "run-1.rounds.csv").write_text("old rounds\n")
    written = files.write(tmp_path / "run.csv", cells, rounds)
    assert written == tmp_path / "run-2.csv"
    assert (tmp_path / "run-2.rounds.csv").exists()
    assert (tmp_path / "run.csv").read_text() == "old report\n"
    assert (tmp_path / "run-1.rounds.csv").read_text() == "old rounds\n"
    assert not (tmp_path / "run.rounds.csv").exists()
    assert not (tmp_path / "run-1.csv").exists()


def test_a_file_appearing_after_the_check_is_not_overwritten(tmp_path, cells, rounds, monkeypatch):
    # Another process creates the report between our look and our write: the final step must fail
    # rather than replace it, and the report goes to the next free name.
    (tmp_path / "run.csv").write_text("theirs\n")
    real = files.existing_files
    monkeypatch.setattr(files, "existing_files", lambda path: [] if path.name == "run.csv" else real(path))
    written = files.write(tmp_path / "run.csv", cells, rounds)
    assert written == tmp_path / "run-1.csv"
    assert (tmp_path / "run.csv").read_text() == "theirs\n"
    assert not (tmp_path / "run.rounds.csv").exists()  # its half of the pair was taken back
    assert sorted(os.listdir(tmp_path)) == ["run-1.csv", "run-1.rounds.csv", "run.csv"]


def test_a_failed_write_leaves_no_partial_file(tmp_path, cells, rounds, monkeypatch):
    real_fsync = os.fsync
    calls = []

    def disk_full_on_the_report(fd):
        # The rounds file is written first; the disk fills up while the report itself is written.
        calls.append(fd)
        if len(calls) == 2:
            raise OSError(28, "No space left on device")
        return real_fsync(fd)

    monkeypatch.setattr(files.os, "fsync", disk_full_on_the_report)
    with pytest.raises(OSError, match="No space left"):
        files.write(tmp_path / "run.csv", cells, rounds)
    assert os.listdir(tmp_path) == []  # no report, no orphaned rounds file, no temporary file


def test_rounds_path_replaces_the_csv_suffix(tmp_path):
    assert files.rounds_path(tmp_path / "r.csv") == tmp_path / "r.rounds.csv"
    with pytest.raises(ValueError, match=r"\.csv"):
        files.rounds_path(tmp_path / "r.txt")


def test_existing_files_names_both_halves(tmp_path):
    assert files.existing_files(tmp_path / "r.csv") == []
    (tmp_path / "r.rounds.csv").write_text("")
    assert files.existing_files(tmp_path / "r.csv") == [tmp_path / "r.rounds.csv"]


def test_default_path_is_the_run_id_under_results(tmp_path):
    assert files.default_path(tmp_path, METADATA["run_id"]) == tmp_path / f"{METADATA['run_id']}.csv"


def test_no_results_give_empty_frames_with_the_columns():
    assert list(frames.cells_frame([], {}, METADATA).columns) == [*CELL_COLUMNS, *METADATA, *TRAILING_COLUMNS]
    assert frames.rounds_frame([]).empty


def test_times_stream_divide_by_the_stream_median_of_the_same_cell():
    results = [
        frames.CellResult("numba", 10, 10, (4e-6, 4e-6, 4e-6)),
        frames.CellResult("stream", 10, 10, (1e-6, 1e-6, 1e-6)),
        frames.CellResult("numba", 1000, 10, (8e-6, 8e-6, 8e-6)),  # no stream timed in this cell
    ]
    frame = frames.cells_frame(results, {}, METADATA)
    assert frame["x_stream"].tolist()[:2] == [4.0, 1.0]
    assert math.isnan(frame["x_stream"].iloc[2])  # absent, not zero


def test_a_report_whose_rounds_are_compressed_loads_the_same(tmp_path, cells, rounds):
    from bench.reports import model

    written = files.write(tmp_path / "r.csv", cells, rounds)
    plain = model.load(written)
    plain_rounds = files.rounds_path(written)
    pd.read_csv(plain_rounds).to_csv(str(plain_rounds) + ".gz", index=False, compression="gzip")
    plain_rounds.unlink()
    packed = model.load(written)
    assert packed.source == "rounds" == plain.source
    pd.testing.assert_frame_equal(packed.batches, plain.batches)


def test_text_that_looks_like_a_number_is_read_back_as_written(tmp_path, cells, rounds):
    # A short commit hash can read as a float ("852e450" would be 852·10⁴⁵⁰, infinite), a host or a
    # run id as an integer, a version as a shorter float: a report keeps them as the text they were.
    odd = {"git_commit": "852e450", "host": "1e3", "run_id": "0042", "numba_version": "0.60"}
    written = [files.write(tmp_path / f"batch-{i}.csv", cells.assign(**odd), rounds) for i in range(2)]
    report = model.load(written[0])
    for key, value in odd.items():
        assert report.metadata[key] == value, key
    # The gate and a batched run pool batch reports and write the result: still the same text.
    pooled_cells, pooled_rounds = pooling.pool(written)
    back = model.load(files.write(tmp_path / "pooled.csv", pooled_cells, pooled_rounds))
    for key, value in odd.items():
        assert back.metadata[key] == value, key
