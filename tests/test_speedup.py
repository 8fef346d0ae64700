"""The end-of-run summary (bench/analysis/speedup.py): baselines, speedups, fastest kernel, rendering."""

import pandas as pd
import pytest

from bench.analysis import speedup
from bench.present import speedup as speedup_tables


def cells(rows):
    frame = pd.DataFrame(rows, columns=["kernel", "n", "epochs", "median_s"])
    frame["ns_per_update"] = frame["median_s"] / (frame["n"] * frame["epochs"]) * 1e9
    return frame


ROWS = [
    ("python_loop", 10, 10, 1e-3),
    ("numpy", 10, 10, 2e-3),
    ("numba", 10, 10, 1e-5),
    ("numpy", 1000, 100, 4e-3),  # python_loop skipped in this cell
    ("numba", 1000, 100, 1e-4),
    ("stream", 1000, 100, 1e-6),  # a probe, faster than any kernel
]


@pytest.fixture
def summary():
    return speedup.summarize(cells(ROWS), exclude={"stream"})


def row(summary, kernel, n):
    return summary[(summary["kernel"] == kernel) & (summary["n"] == n)].iloc[0]


def test_speedup_is_over_python_loop_where_it_ran(summary):
    assert row(summary, "numba", 10)["baseline"] == "python_loop"
    assert row(summary, "numba", 10)["speedup"] == pytest.approx(100.0)
    assert row(summary, "numpy", 10)["speedup"] == pytest.approx(0.5)
    assert row(summary, "python_loop", 10)["speedup"] == pytest.approx(1.0)


def test_speedup_falls_back_to_numpy_where_python_loop_was_skipped(summary):
    assert row(summary, "numba", 1000)["baseline"] == "numpy"
    assert row(summary, "numba", 1000)["speedup"] == pytest.approx(40.0)


def test_fastest_is_one_kernel_per_cell_and_probes_are_left_out(summary):
    fastest = summary.loc[summary["fastest"], ["n", "kernel"]].values.tolist()
    assert fastest == [[10, "numba"], [1000, "numba"]]
    assert "stream" not in set(summary["kernel"])


def test_a_cell_without_a_baseline_has_no_speedups():
    summary = speedup.summarize(cells([("numba", 10, 10, 1e-5), ("numba_simd", 10, 10, 5e-6)]))
    assert summary["baseline"].isna().all()
    assert summary["speedup"].isna().all()
    assert summary.loc[summary["fastest"], "kernel"].tolist() == ["numba_simd"]


def test_render_has_a_line_per_cell_and_marks_missing_kernels(summary):
    text = speedup_tables.render(summary)
    lines = text.splitlines()
    del lines[1]  # the rule under the header
    assert len(lines) == 1 + 2  # header and two cells
    for word in ("fastest", "python_loop", "numpy", "numba"):
        assert word in lines[0]
    assert "100×" in lines[1]
    assert "—" in lines[2]  # python_loop did not run at n=1000
    assert "40×" in lines[2]


def test_render_of_nothing_says_so():
    assert speedup_tables.render(speedup.summarize(cells([]))) == "no cell finished"


def test_times_stream_are_carried_and_rendered_per_kernel():
    frame = cells(ROWS)
    frame["x_stream"] = [float("nan")] * 3 + [4000.0, 100.0, 1.0]
    summary = speedup.summarize(frame, exclude={"stream"})
    assert row(summary, "numba", 1000)["x_stream"] == 100.0
    lines = speedup_tables.render(summary, value="x_stream").splitlines()
    del lines[1]  # the rule under the header
    assert "speedup over" not in lines[0]
    assert "100×" in lines[2] and "4,000×" in lines[2]
    assert "—" in lines[1]  # no stream in that cell: no multiple, not zero
