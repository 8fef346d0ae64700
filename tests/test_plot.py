"""``python -m bench.plot``: figures and summary from a committed fixture report, and bad input."""

from __future__ import annotations

import contextlib
import io
import shutil
import subprocess
import sys
from pathlib import Path

import matplotlib.image
import pandas as pd
import pytest

from bench.plot import main
from bench.present.figures import FIGURES, SUMMARY, build_figures
from bench.present.plotting import default_out_dir
from bench.reports import model
from bench.reports.model import run_metadata


def load_report(path):
    return model.load(path).cells


DATA = Path(__file__).parent / "data"
FIXTURE = DATA / "quick_report.csv"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
PROG_ERROR = "python -m bench.plot: error: "


@pytest.fixture(scope="module")
def plotted(tmp_path_factory):
    """The fixture report and its rounds copied to a fresh folder and plotted with default --out.

    Module-scoped because drawing is the slow part: the tests below inspect one run.
    """
    folder = tmp_path_factory.mktemp("run")
    report = folder / FIXTURE.name
    shutil.copy(FIXTURE, report)
    shutil.copy(DATA / "quick_report.rounds.csv", folder)
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    stdout = io.StringIO()
    with contextlib.redirect_stdout(stdout):
        status = main([str(report)])
    return status, report, folder, before, stdout.getvalue()


def _write(tmp_path: Path, frame: pd.DataFrame, name: str = "report.csv") -> Path:
    path = tmp_path / name
    frame.to_csv(path, index=False)
    return path


def _is_png(path: Path) -> bool:
    return path.stat().st_size > 0 and path.read_bytes()[:8] == PNG_SIGNATURE


def test_plot_writes_figures_and_summary_next_to_the_report(plotted):
    status, report, folder, _, _ = plotted
    out = folder / report.stem
    assert status == 0
    for key in ("time", "per_update", "speedup"):
        path = out / FIGURES[key]
        assert _is_png(path), path
        height, width, _ = matplotlib.image.imread(path).shape
        assert width > 600 and height > 300  # a readable size, not a thumbnail
    # The fixture has no stream probe: no figure for it.
    assert not (out / FIGURES["stream"]).exists()
    assert (out / SUMMARY).stat().st_size > 0


def test_plot_never_touches_the_report_files(plotted):
    _, _, folder, before, _ = plotted
    assert {name: (folder / name).read_bytes() for name in before} == before


def test_summary_links_figures_and_holds_every_section(plotted):
    _, report, folder, _, _ = plotted
    summary = (folder / report.stem / SUMMARY).read_text(encoding="utf-8")
    for key in ("time", "per_update", "speedup"):
        assert f"]({FIGURES[key]})" in summary
    assert f"](../{report.name})" in summary
    for section in ("## Run", "## Fastest kernel per cell", "## Scaling fits", "## Crossovers"):
        assert section in summary
    metadata = pd.read_csv(report).iloc[0]
    assert metadata["host"] in summary and metadata["git_commit"] in summary
    for kernel in pd.read_csv(report)["kernel"].unique():
        assert f"`{kernel}`" in summary


def test_plot_stdout_lists_what_it_wrote(plotted):
    _, report, _, _, stdout = plotted
    for name in (FIGURES["time"], FIGURES["per_update"], FIGURES["speedup"], SUMMARY):
        assert f"wrote {report.with_suffix('') / name}" in stdout
    assert "not enough cells" not in stdout


def test_figures_have_titles_units_and_a_legend_per_kernel():
    report = load_report(FIXTURE)
    metadata = run_metadata(report)
    figures, _ = build_figures(report, metadata)
    kernels = set(report["kernel"])
    for name, _, fig in figures:
        title = fig.get_suptitle()
        assert metadata["host"] in title and metadata["git_commit"] in title, name
        (legend,) = fig.legends
        labels = {text.get_text() for text in legend.get_texts()}
        assert labels <= kernels and len(labels) >= 2, name
        for ax in fig.axes:
            assert ax.get_xlabel() == "N (samples)" and ax.get_ylabel(), name
            assert (ax.get_xscale(), ax.get_yscale()) == ("log", "log"), name
            assert ax.get_title().startswith("epochs = "), name
    time_axes = figures[0][2].axes
    assert len(time_axes) == report["epochs"].nunique()
    # One line per kernel in each panel: every kernel is drawn.
    for ax in time_axes:
        assert {line.get_label() for line in ax.get_lines()} == kernels


def test_metadata_takes_contract_fields_and_constant_text_columns():
    report = load_report(FIXTURE).assign(env="OMP_NUM_THREADS=1", iterations=1, batch_size=4)
    metadata = run_metadata(report)
    assert metadata["host"] == report["host"].iloc[0]
    assert metadata["env"] == "OMP_NUM_THREADS=1"  # a field added after the contract was written
    # Constant numbers outside the contract are per-cell data that happen to agree, not metadata.
    assert "iterations" not in metadata and "batch_size" not in metadata
    assert "median_s" not in metadata and "kernel" not in metadata
    merged = pd.concat([report, report.assign(host="other", n=report["n"] * 10)])
    assert run_metadata(merged)["host"] == f"{report['host'].iloc[0]}, other"


def test_default_out_dir_is_named_after_the_report():
    assert default_out_dir(Path("results/run.csv")) == Path("results/run")
    # A report without a suffix must not collide with its own folder.
    assert default_out_dir(Path("results/run")) == Path("results/run_plots")


def _figure_names(report: pd.DataFrame) -> tuple[list[str], list[str]]:
    figures, notes = build_figures(report, run_metadata(report))
    return [name for name, _, _ in figures], notes


def test_stream_probe_adds_a_figure():
    report = load_report(FIXTURE)
    stream = report[report["kernel"] == "numba"].assign(kernel="stream")
    for column in ("min_s", "median_s", "max_s"):
        stream[column] = stream[column] / 4
    names, notes = _figure_names(pd.concat([report, stream], ignore_index=True))
    assert FIGURES["stream"] in names
    assert not any("stream" in note for note in notes)
    names, notes = _figure_names(report)
    assert FIGURES["stream"] not in names
    assert any("stream" in note for note in notes)


def test_x_stream_column_alone_adds_a_figure():
    names, _ = _figure_names(load_report(FIXTURE).assign(x_stream=3.0))
    assert FIGURES["stream"] in names


def test_missing_reference_drops_only_its_panels():
    report = load_report(FIXTURE)
    names, notes = _figure_names(report[report["kernel"] != "python_loop"])
    assert FIGURES["speedup"] in names
    assert notes == [
        "no speedup over python_loop: the report has no python_loop rows",
        f"no {FIGURES['stream']}: the report has no stream probe rows",
    ]


def test_one_kernel_at_one_n_plots_what_it_can_and_says_what_not(tmp_path, capsys):
    report = pd.read_csv(FIXTURE)
    path = _write(tmp_path, report[(report["kernel"] == "numba") & (report["n"] == 1000)])
    assert main([str(path), "--out", str(tmp_path / "out")]) == 0
    out = capsys.readouterr().out
    assert _is_png(tmp_path / "out" / FIGURES["time"])
    assert _is_png(tmp_path / "out" / FIGURES["per_update"])
    assert not (tmp_path / "out" / FIGURES["speedup"]).exists()
    assert "no speedup over python_loop" in out and "no speedup over numpy" in out
    assert "note: numba: not enough cells to fit" in out
    summary = (tmp_path / "out" / SUMMARY).read_text(encoding="utf-8")
    assert "not enough cells to fit" in summary
    # Plotting again over the same folder is allowed and gives the same summary: everything in
    # it derives from the report alone.
    assert main([str(path), "--out", str(tmp_path / "out")]) == 0
    assert (tmp_path / "out" / SUMMARY).read_text(encoding="utf-8") == summary


def _bad_reports(tmp_path: Path) -> dict[str, tuple[Path, str]]:
    """Each bad input: (path, a word the error message must contain)."""
    good = pd.read_csv(FIXTURE)
    cases: dict[str, tuple[Path, str]] = {
        "missing": (tmp_path / "nope.csv", "no such file"),
        "directory": (tmp_path, "is a directory"),
    }
    (tmp_path / "empty.csv").write_bytes(b"")
    cases["empty"] = (tmp_path / "empty.csv", "empty")
    cases["header only"] = (_write(tmp_path, good.iloc[:0], "header.csv"), "no rows")
    (tmp_path / "binary.csv").write_bytes(PNG_SIGNATURE + bytes(range(256)))
    cases["binary"] = (tmp_path / "binary.csv", "cannot be read as a CSV")
    (tmp_path / "quoted.csv").write_text('kernel,n,epochs,min_s,median_s,max_s\nx,"1\n')
    cases["unterminated quote"] = (tmp_path / "quoted.csv", "cannot be read as a CSV")
    cases["missing column"] = (_write(tmp_path, good.drop(columns="max_s"), "cols.csv"), "max_s")
    cases["rounds file"] = (DATA / "quick_report.rounds.csv", "rounds file")
    bad_median = good.astype({"median_s": object})
    bad_median.loc[3, "median_s"] = "fast"
    cases["non-numeric time"] = (_write(tmp_path, bad_median, "text.csv"), "median_s")
    cases["fractional n"] = (_write(tmp_path, good.assign(n=good["n"] + 0.5), "frac.csv"), "n must")
    negative = good.assign(min_s=-good["min_s"])
    cases["negative time"] = (_write(tmp_path, negative, "neg.csv"), "min_s")
    swapped = good.assign(min_s=good["max_s"], max_s=good["min_s"])
    cases["min above median"] = (_write(tmp_path, swapped, "swap.csv"), "min_s")
    duplicated = pd.concat([good, good.iloc[:1]])
    cases["duplicate cell"] = (_write(tmp_path, duplicated, "dup.csv"), "twice")
    return cases


BAD_CASES = [
    "missing",
    "directory",
    "empty",
    "header only",
    "binary",
    "unterminated quote",
    "missing column",
    "rounds file",
    "non-numeric time",
    "fractional n",
    "negative time",
    "min above median",
    "duplicate cell",
]


@pytest.mark.parametrize("case", BAD_CASES)
def test_bad_report_exits_2_with_one_line(case, tmp_path, capsys):
    path, word = _bad_reports(tmp_path)[case]
    out = tmp_path / "out"
    assert main([str(path), "--out", str(out)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith(PROG_ERROR)
    assert captured.err.count("\n") == 1
    assert word in captured.err
    assert not out.exists()  # nothing written for a report that could not be read


def test_out_that_is_a_file_exits_2(tmp_path, capsys):
    taken = tmp_path / "taken"
    taken.write_text("keep me")
    assert main([str(FIXTURE), "--out", str(taken)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(PROG_ERROR) and "not a folder" in err
    assert taken.read_text() == "keep me"


def test_missing_argument_exits_2(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main([])
    assert exit_info.value.code == 2
    assert capsys.readouterr().err.startswith(PROG_ERROR)


def test_command_line_bad_report_without_traceback(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "bench.plot", str(tmp_path / "missing.csv")],
        capture_output=True,
        text=True,
        check=False,
        cwd=Path(__file__).parent.parent,
    )
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.startswith(PROG_ERROR) and result.stderr.count("\n") == 1
    assert "Traceback" not in result.stderr


def test_a_disk_that_refuses_the_figures_is_one_line_and_exit_2(tmp_path, capsys, monkeypatch):
    import errno

    from bench.present import figures

    def full_disk(path, content, replace):
        raise OSError(errno.ENOSPC, "No space left on device", str(path))

    monkeypatch.setattr(figures, "write_atomic", full_disk)
    out = tmp_path / "figs"
    assert main([str(FIXTURE), "--out", str(out)]) == 2
    captured = capsys.readouterr()
    assert captured.err == f"{PROG_ERROR}cannot write to {out}: No space left on device\n"
