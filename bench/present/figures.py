"""A report's figures and ``summary.md``: time per call, ns per sample·epoch, speedups and time as a
multiple of the ``stream`` probe against N, drawn with matplotlib (the ``plot`` extra).

Figures and summary are derived from the report alone, so drawing them again replaces the previous
ones with the same content; the report itself is only read.
"""

from __future__ import annotations

import math
import os
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import EngFormatter, FuncFormatter

from bench.analysis import scaling
from bench.present.formatting import format_number
from bench.present.summary_md import render_summary
from bench.reports.files import write_atomic
from bench.reports.model import Report
from bench.reports.schema import PROBE_KERNELS, REFERENCE_KERNELS, STREAM_PROBE, ReportError

#: Columns a report must have for plotting, beyond those every report has.
REQUIRED_COLUMNS = ("min_s", "median_s", "max_s")
#: File names of the figures: what the README, the summary and the tests refer to.
FIGURES = {
    "time": "time_per_call.png",
    "per_update": "ns_per_update.png",
    "speedup": "speedup.png",
    "stream": "x_stream.png",
}
SUMMARY = "summary.md"
DPI = 110
PANEL_SIZE = (4.6, 3.6)  # inches per panel
MIN_WIDTH = 9.5  # inches
MAX_COLUMNS = 3


def figure_title(what: str, metadata: dict[str, str]) -> str:
    """A figure's title: what it shows, then the run's host, commit (dirty or not), sweep, time."""
    commit = metadata.get("git_commit", "unknown")
    if metadata.get("git_dirty", "").lower() == "true":
        commit += " (dirty)"
    details = [f"host {metadata.get('host', 'unknown')}", f"commit {commit}"]
    if "sweep" in metadata:
        details.append(f"{metadata['sweep']} sweep")
    if "utc_time" in metadata:
        details.append(metadata["utc_time"])
    return f"{what}\n{', '.join(details)}"


# --- figures ----------------------------------------------------------------------------------


def kernel_styles(kernels: Sequence[str]) -> dict[str, dict[str, object]]:
    """A colour and marker per kernel, fixed by its place in the report, the same in every figure.

    Probes are drawn black and dashed, so a yardstick never passes for a competitor.
    """
    palette = [f"C{i}" for i in range(10)]
    markers = "osD^v<>phX*"
    styles: dict[str, dict[str, object]] = {}
    rank = 0
    for kernel in kernels:
        if kernel in PROBE_KERNELS:
            styles[kernel] = {"color": "black", "marker": "x", "linestyle": "--"}
        else:
            styles[kernel] = {
                "color": palette[rank % len(palette)],
                "marker": markers[rank % len(markers)],
                "linestyle": "-",
            }
            rank += 1
    return styles


def _panels(rows: int, cols: int, title: str) -> tuple[Figure, np.ndarray]:
    """A figure of rows × cols panels sharing N; each row shares its y axis (one quantity)."""
    # The legend takes ~1.8 in on the right; a floor on the width keeps the two-line title clear
    # of it when there is a single panel.
    width = max(PANEL_SIZE[0] * cols + 1.8, MIN_WIDTH)
    fig = Figure(figsize=(width, PANEL_SIZE[1] * rows + 0.9), layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(rows, cols, squeeze=False, sharex=True, sharey="row")
    fig.suptitle(title)
    return fig, axes


def _grid(count: int) -> tuple[int, int]:
    cols = min(count, MAX_COLUMNS)
    return math.ceil(count / cols), cols


def _draw_lines(
    ax: Axes,
    data: pd.DataFrame,
    styles: dict[str, dict[str, object]],
    value: str,
    low: str,
    high: str,
) -> None:
    """One line per kernel of ``value`` against N, with a shaded band from ``low`` to ``high``."""
    for kernel, rows in data.groupby("kernel", sort=False):
        rows = rows.sort_values("n")
        style = styles[str(kernel)]
        ax.plot(rows["n"], rows[value], label=str(kernel), markersize=4, **style)
        ax.fill_between(rows["n"], rows[low], rows[high], color=style["color"], alpha=0.15, lw=0)


def _format_axes(ax: Axes, ylabel: str, seconds: bool = False) -> None:
    """Log-log axes; N as 10, 1k, 1M; y in s/ms/µs when ``seconds``, else plain numbers (0.1, 10),
    since an SI prefix on a ratio ("100 m") reads as a unit."""
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.xaxis.set_major_formatter(EngFormatter(sep=""))
    ax.yaxis.set_major_formatter(
        EngFormatter(unit="s") if seconds else FuncFormatter(lambda value, _: format_number(value))
    )
    ax.set_xlabel("N (samples)")
    ax.set_ylabel(ylabel)
    ax.grid(True, which="major", alpha=0.4)
    ax.grid(True, which="minor", alpha=0.12)


def _finish(fig: Figure, axes: np.ndarray, used: int, order: Sequence[str]) -> None:
    """Hide unused panels; put one legend for the figure on the right, kernels in ``order``."""
    flat = axes.ravel()
    for ax in flat[used:]:
        ax.set_visible(False)
    handles = {}
    for ax in flat[:used]:
        for handle, label in zip(*ax.get_legend_handles_labels(), strict=True):
            handles.setdefault(label, handle)
    labels = [kernel for kernel in order if kernel in handles]
    fig.legend([handles[label] for label in labels], labels, loc="outside right upper", title="kernel")


def _per_epochs_figure(
    data: pd.DataFrame,
    styles: dict[str, dict[str, object]],
    title: str,
    value: str,
    low: str,
    high: str,
    ylabel: str,
    seconds: bool = False,
    reference_line: float | None = None,
) -> Figure:
    epochs_values = sorted(data["epochs"].unique())
    fig, axes = _panels(*_grid(len(epochs_values)), title)
    for ax, epochs in zip(axes.ravel(), epochs_values, strict=False):
        _draw_lines(ax, data[data["epochs"] == epochs], styles, value, low, high)
        if reference_line is not None:
            ax.axhline(reference_line, color="grey", linewidth=1, linestyle=":")
        _format_axes(ax, ylabel, seconds)
        ax.set_title(f"epochs = {epochs:,}")
    _finish(fig, axes, len(epochs_values), list(styles))
    return fig


def time_figure(report: pd.DataFrame, styles: dict, metadata: dict[str, str]) -> Figure:
    """Median time per call against N (log-log), a panel per epochs value, min–max bands."""
    return _per_epochs_figure(
        report,
        styles,
        figure_title("Time per call (median; band: min–max over rounds)", metadata),
        "median_s",
        "min_s",
        "max_s",
        "time per call",
        seconds=True,
    )


def per_update_figure(report: pd.DataFrame, styles: dict, metadata: dict[str, str]) -> Figure:
    """Nanoseconds per sample·epoch against N: overhead at small N, memory effects at large N."""
    updates = report["n"] * report["epochs"] / 1e9
    data = report.assign(
        ns=report["median_s"] / updates,
        ns_lo=report["min_s"] / updates,
        ns_hi=report["max_s"] / updates,
    )
    return _per_epochs_figure(
        data,
        styles,
        figure_title("Cost per update: time / (N·epochs) (median; band: min–max)", metadata),
        "ns",
        "ns_lo",
        "ns_hi",
        "ns per sample·epoch",
    )


def ratio_figure(
    report: pd.DataFrame,
    styles: dict,
    metadata: dict[str, str],
    references: Sequence[str],
    speedup: bool,
) -> Figure:
    """Per reference (rows) and epochs value (columns): each kernel's speedup over the reference
    (``speedup``) or its time as a multiple of the reference's, against N; the band follows from
    both kernels' min–max ranges; a dotted line marks parity."""
    epochs_values = sorted(report["epochs"].unique())
    cols = len(epochs_values)
    what = (
        "Speedup over reference (median ratio; band: min–max)"
        if speedup
        else ("Time as a multiple of the stream probe's (median ratio; band: min–max)")
    )
    fig, axes = _panels(len(references), cols, figure_title(what, metadata))
    for row, reference in enumerate(references):
        ratios = scaling.relative_to(report, reference)
        ratios = ratios[~ratios["kernel"].isin(PROBE_KERNELS)]
        if speedup:
            ratios = ratios.assign(
                ratio=1 / ratios["ratio"],
                ratio_lo=1 / ratios["ratio_hi"],
                ratio_hi=1 / ratios["ratio_lo"],
            )
        for col, epochs in enumerate(epochs_values):
            ax = axes[row, col]
            _draw_lines(ax, ratios[ratios["epochs"] == epochs], styles, "ratio", "ratio_lo", "ratio_hi")
            ax.axhline(1.0, color="grey", linewidth=1, linestyle=":")
            label = f"speedup over {reference} (×, >1: faster)" if speedup else f"time / {reference} time (×)"
            _format_axes(ax, label)
            ax.set_title(f"epochs = {epochs:,}")
    _finish(fig, axes, len(references) * cols, list(styles))
    return fig


def stream_column_figure(report: pd.DataFrame, styles: dict, metadata: dict[str, str]) -> Figure:
    """Time as a multiple of the stream probe from the report's ``x_stream`` column (no band: the
    probe's own rows, and so its spread, are not in the report)."""
    data = report.dropna(subset=["x_stream"])
    data = data[~data["kernel"].isin(PROBE_KERNELS)]
    return _per_epochs_figure(
        data.assign(x_stream=pd.to_numeric(data["x_stream"], errors="coerce")).dropna(subset=["x_stream"]),
        styles,
        figure_title("Time as a multiple of the stream probe's (x_stream column)", metadata),
        "x_stream",
        "x_stream",
        "x_stream",
        "time / stream time (×)",
        reference_line=1.0,
    )


def build_figures(
    report: pd.DataFrame, metadata: dict[str, str]
) -> tuple[list[tuple[str, str, Figure]], list[str]]:
    """Every figure the report allows as (file name, caption, figure), and notes on what it does not
    allow (a missing reference kernel, no stream probe)."""
    styles = kernel_styles(scaling.kernels_in(report))
    figures: list[tuple[str, str, Callable[[], Figure]]] = [
        (FIGURES["time"], "Time per call against N", lambda: time_figure(report, styles, metadata)),
        (
            FIGURES["per_update"],
            "Nanoseconds per sample·epoch against N",
            lambda: per_update_figure(report, styles, metadata),
        ),
    ]
    notes = []
    kernels = set(report["kernel"])
    references = [r for r in REFERENCE_KERNELS if r in kernels]
    for missing in sorted(set(REFERENCE_KERNELS) - kernels):
        notes.append(f"no speedup over {missing}: the report has no {missing} rows")
    others = kernels - set(PROBE_KERNELS)
    if references and len(others) > 1:
        figures.append(
            (
                FIGURES["speedup"],
                f"Speedup over {' and '.join(references)} against N",
                lambda: ratio_figure(report, styles, metadata, references, speedup=True),
            )
        )
    elif references:
        notes.append("no speedup figure: the report holds only one kernel")
    probe = STREAM_PROBE
    if not others:
        notes.append(f"no {FIGURES['stream']}: the report holds no kernel besides the probes")
    elif probe in kernels:
        figures.append(
            (
                FIGURES["stream"],
                f"Time as a multiple of the {probe} probe against N",
                lambda: ratio_figure(report, styles, metadata, [probe], speedup=False),
            )
        )
    elif "x_stream" in report.columns and report["x_stream"].notna().any():
        figures.append(
            (
                FIGURES["stream"],
                f"Time as a multiple of the {probe} probe against N",
                lambda: stream_column_figure(report, styles, metadata),
            )
        )
    else:
        notes.append(f"no {FIGURES['stream']}: the report has no {probe} probe rows")
    return [(name, caption, make()) for name, caption, make in figures], notes


# --- writing ----------------------------------------------------------------------------------


def _save(fig: Figure, path: Path) -> None:
    with warnings.catch_warnings():
        # Extreme values (times near 1e300) collapse the axes; the figure is still drawn, and a
        # layout warning on stderr would only alarm.
        warnings.filterwarnings("ignore", message="constrained_layout not applied")
        fig.savefig(path, format="png", dpi=DPI)


def default_out_dir(report_path: Path) -> Path:
    """Where figures go by default: a folder named after the report, next to it."""
    if report_path.suffix:
        return report_path.with_suffix("")
    return report_path.with_name(report_path.name + "_plots")


def plot_report(loaded: Report, out_dir: Path) -> tuple[list[Path], list[str]]:
    """Write the figures and ``summary.md`` of a loaded report into ``out_dir``; return the files
    written and notes on what could not be drawn or fitted. ReportError when it cannot be drawn."""
    loaded.require(REQUIRED_COLUMNS, "for figures")
    report, report_path = loaded.cells, loaded.path
    if out_dir.exists() and not out_dir.is_dir():
        raise ReportError(f"--out {out_dir} exists and is not a folder")
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ReportError(f"cannot create {out_dir}: {exc.strerror or exc}") from None
    metadata = loaded.metadata
    figures, notes = build_figures(report, metadata)
    fits = scaling.fit_scaling(report)
    fastest = scaling.fastest_per_cell(report)
    crossovers = scaling.crossovers(report)
    written = []
    for name, _, fig in figures:
        write_atomic(out_dir / name, lambda tmp, fig=fig: _save(fig, tmp), replace=True)
        written.append(out_dir / name)
    summary = render_summary(
        title=f"`{report_path.name}`",
        report_link=Path(os.path.relpath(report_path.resolve(), out_dir.resolve())).as_posix(),
        metadata=metadata,
        figures=[(name, caption) for name, caption, _ in figures],
        fits=fits,
        fastest=fastest,
        crossovers=crossovers,
        notes=notes,
        glance=scaling.at_a_glance(report),
    )
    write_atomic(out_dir / SUMMARY, summary, replace=True)
    written.append(out_dir / SUMMARY)
    fit_notes = [f"{r.kernel}: {r.note}" for r in fits.itertuples(index=False) if r.note]
    return written, notes + fit_notes
