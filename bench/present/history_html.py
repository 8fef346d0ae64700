"""A history rendered: the lines ``bench.history`` prints, and one self-contained HTML page.

The page holds everything it shows: inline CSS, charts as inline SVG (``bench.present.svg``), no
script, and a Content-Security-Policy that forbids any request, so opening it fetches nothing.
Every string that comes from a report is escaped.
"""

from __future__ import annotations

import html
import math
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from bench.analysis.compare import SLOWER
from bench.analysis.history import History, Latest
from bench.present import svg
from bench.present.formatting import format_count, format_number, format_ratio, format_seconds
from bench.present.tables import html_table
from bench.reports.schema import PROBE_KERNELS, cell_name

#: Marks a page this command wrote, which it may replace (see ``bench.history``).
GENERATOR = "gdbench bench.history"
#: No request of any kind: styles inline, images only as data: URLs (there are none).
CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"
_STYLE = """
body { font-family: sans-serif; margin: 1.5em; color: #222; max-width: 1300px; }
h1 { font-size: 1.5em; } h2 { font-size: 1.25em; margin-top: 1.6em; } h3 { font-size: 1.05em; }
table { border-collapse: collapse; margin: 0.6em 0; font-size: 0.9em; }
th, td { border: 1px solid #ccc; padding: 0.2em 0.5em; text-align: left; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
tr.slower td { background: #fdecea; } tr.faster td { background: #e9f7ef; }
.charts { display: flex; flex-wrap: wrap; gap: 0.5em; }
svg.chart { border: 1px solid #eee; background: #fff; }
svg .title { font-size: 13px; font-weight: bold; } svg .frame { fill: none; stroke: #999; }
svg .grid { stroke: #eee; } svg .ytick { font-size: 10px; text-anchor: end; }
svg .xtick { font-size: 10px; text-anchor: end; } svg .legend { font-size: 11px; }
svg .step { stroke-width: 2; stroke-dasharray: 4 3; }
.note { color: #555; }
"""


def _esc(text: object) -> str:
    return html.escape(str(text), quote=True)


def change_text(row: Any) -> str:
    """'1.50x slower' or '1.50x faster' for a step row."""
    factor = row.ratio if row.verdict == SLOWER else 1 / row.ratio
    return f"{factor:.2f}x {row.verdict}"


def step_line(row: Any) -> str:
    """The line printed for a step: ``step: CELL: 1.50x slower from COMMIT (run RUN_ID)``."""
    return f"step: {cell_name(row)}: {change_text(row)} from {row.git_commit} (run {row.run_id})"


def method_text(history: History) -> str:
    """What a step is, in one sentence, with the numbers in force."""
    return (
        f"a step is a change of at least {history.threshold:.0%} between commits, with at least "
        f"{history.min_versions} commits on each side, significant at a family-wise false-alarm rate "
        f"of {history.alpha:g} per direction over {history.candidates:,} candidate change points"
    )


def reading_line(reports: int, runs: int, duplicates: int, skipped: Sequence[str]) -> str:
    """The first line printed: reports read, runs kept, duplicates set aside, files skipped."""
    line = (
        f"history: {runs} run(s) from {reports} report(s); {duplicates} duplicate(s) set aside (the "
        f"batches of a pooled report, or one run read twice); {len(skipped)} file(s) skipped, not reports"
    )
    if skipped:
        more = f"; and {len(skipped) - 3} more" if len(skipped) > 3 else ""
        line += ": " + "; ".join(skipped[:3]) + more
    return line


def text_lines(history: History) -> list[str]:
    """What ``bench.history`` prints: each machine's series and steps, notes, then a summary."""
    lines = []
    if len(history.series) > 1:
        lines.append(
            f"runs of {len(history.series)} machines (host / CPU) are kept apart, one series each: "
            + "; ".join(history.series)
        )
    for machine, runs in history.series.items():
        commits = len({run.git_commit for run in runs})
        lines.append(
            f"machine {machine}: {len(runs)} runs of {commits} commits, "
            f"{_when(runs[0].utc_time)} to {_when(runs[-1].utc_time)}"
        )
        lines += [step_line(row) for row in history.steps[history.steps["machine"] == machine].itertuples()]
    lines += [f"note: {note}" for note in history.notes]
    shaken = history.points[history.points["disturbed"]]
    if len(shaken):
        lines.append(
            f"note: {len(shaken)} cell measurement(s) were taken while the machine was disturbed: "
            "charted (open circles), never judged, as bench.compare does"
        )
    cells = history.points[~history.points["kernel"].isin(PROBE_KERNELS)]
    followed = len(cells[["machine", "kernel", "n", "epochs"]].drop_duplicates())
    lines.append(f"{len(history.steps)} step(s) in {followed} cells ({method_text(history)})")
    return lines


def _when(stamp: pd.Timestamp) -> str:
    return stamp.strftime("%Y-%m-%dT%H:%M:%SZ")


def _steps_section(history: History) -> str:
    if history.steps.empty:
        return f"<p>No step: {_esc(method_text(history))}.</p>"
    rows = [
        [
            row.machine,
            row.kernel,
            format_count(row.n),
            format_count(row.epochs),
            change_text(row),
            f"{row.ci_low:.2f}–{row.ci_high:.2f}",
            f"{row.p_value:.2g}",
            row.git_commit,
            row.run_id,
            _when(row.utc_time),
            f"{row.before_runs} / {row.after_runs}",
        ]
        for row in history.steps.itertuples()
    ]
    header = ["machine", "kernel", "n", "epochs", "change", "interval", "p", "from commit", "run", "time"]
    return f"<p>{_esc(method_text(history)[0].upper() + method_text(history)[1:])}.</p>" + html_table(
        [*header, "runs before / after"], rows, right=(2, 3, 5, 6), classes=history.steps["verdict"]
    )


def _machine_section(history: History, machine: str, latest: Latest | None) -> str:
    runs = history.runs[history.runs["machine"] == machine]
    parts = [f"<h2>Machine {_esc(machine)}</h2>"]
    if latest is not None:
        metadata = [[name, value] for name, value in latest.run.metadata.items()]
        parts += [
            f"<h3>Metadata of the latest run ({_esc(latest.run.run_id)})</h3>",
            html_table(["field", "value"], metadata),
        ]
    parts += [
        f"<p class='note'>{_esc(note)}</p>" for note in history.notes if note.startswith(f"{machine}: ")
    ]
    parts.append("<h3>Time per call across runs</h3><div class='charts'>")
    parts += [svg.render(chart) for chart in _charts(history, machine)]
    parts.append("</div>")
    if latest is not None:
        parts.append(_latest_section(latest))
    parts.append("<h3>Runs</h3>")
    parts.append(
        html_table(
            ["#", "time (UTC)", "commit", "dirty", "run", "batches", "report"],
            [
                [r.position, _when(r.utc_time), r.git_commit, r.git_dirty, r.run_id, r.batches, r.path]
                for r in runs.itertuples()
            ],
            right=(0, 5),
        )
    )
    return "".join(parts)


def _charts(history: History, machine: str) -> list[svg.Chart]:
    """One chart per (n, epochs): a line per kernel across the machine's runs, steps marked."""
    runs = history.runs[history.runs["machine"] == machine]
    labels = [f"{r.git_commit}{'*' if str(r.git_dirty).lower() == 'true' else ''}" for r in runs.itertuples()]
    points = history.points[history.points["machine"] == machine]
    steps = history.steps[history.steps["machine"] == machine]
    # Kernels in the sweep's order (the reports' rows), so colours follow the figures' convention.
    kernels = list(dict.fromkeys(k for run in history.series[machine] for k in run.report.cells["kernel"]))
    colours, rank = {}, 0
    for kernel in kernels:
        if kernel not in PROBE_KERNELS:
            colours[kernel] = svg.PALETTE[rank % len(svg.PALETTE)]
            rank += 1
    charts = []
    for (n, epochs), cell in points.groupby(["n", "epochs"], sort=True):
        lines = []
        for kernel in [k for k in kernels if k in set(cell["kernel"])]:
            rows = cell[cell["kernel"] == kernel].sort_values("position")
            lines.append(
                svg.Line(
                    name=kernel,
                    colour=colours.get(kernel, "#000000"),
                    dashed=kernel in PROBE_KERNELS,
                    points=[
                        (float(r.position), float(r.time_s), _point_tip(kernel, labels[r.position], r))
                        for r in rows.itertuples()
                    ],
                    hollow=frozenset(i for i, shaken in enumerate(rows["disturbed"]) if shaken),
                )
            )
        here = steps[(steps["n"] == n) & (steps["epochs"] == epochs)]
        markers = [
            svg.Marker(
                x=float(row.position),
                label=step_line(row),
                colour=svg.SLOWER_COLOUR if row.verdict == SLOWER else svg.FASTER_COLOUR,
            )
            for row in here.itertuples()
        ]
        title = f"n={format_count(n)}, epochs={format_count(epochs)}" + (
            f" — {len(here)} step(s)" if len(here) else ""
        )
        charts.append(
            svg.Chart(title=title, x_labels=labels, lines=lines, markers=markers, y_format=format_seconds)
        )
    return charts


def _point_tip(kernel: str, label: str, row: Any) -> str:
    shaken = " (machine disturbed: shown, not judged)" if row.disturbed else ""
    return f"{kernel} at {label}: {format_seconds(row.time_s)}{shaken}"


def _latest_section(latest: Latest) -> str:
    parts = [f"<h3>Latest run {_esc(latest.run.run_id)}: speedups, stream multiples, scaling</h3>"]
    summary = latest.speedups
    if summary.empty:
        return parts[0] + "<p>No kernel cell in this run.</p>"
    kernels = list(dict.fromkeys(summary["kernel"]))
    for value, what in (
        ("speedup", "Speedup over the baseline"),
        ("x_stream", "Time as a multiple of the stream probe's"),
    ):
        if not summary[value].map(lambda v: isinstance(v, float) and math.isfinite(v)).any():
            continue
        rows = []
        for (n, epochs), cell in summary.groupby(["n", "epochs"], sort=True):
            by_kernel = dict(zip(cell["kernel"], cell[value]))
            baseline = cell["baseline"].iloc[0]
            rows.append(
                [format_count(n), format_count(epochs), baseline if isinstance(baseline, str) else "—"]
                + [format_ratio(by_kernel.get(k, math.nan)) for k in kernels]
            )
        parts += [
            f"<p>{_esc(what)}, per cell:</p>",
            html_table(["n", "epochs", "baseline", *kernels], rows, right=range(3, 3 + len(kernels))),
        ]
    fits = latest.fits
    rows = [
        [
            r.kernel,
            r.cells,
            format_seconds(r.overhead_s) if r.note == "" else "—",
            format_number(r.per_update_s * 1e9) if r.note == "" else "—",
            f"{r.rel_rms:.1%}" if r.note == "" else "—",
            "—" if not math.isfinite(r.slope_n) else f"{r.slope_n:.2f}",
            "—" if not math.isfinite(r.slope_epochs) else f"{r.slope_epochs:.2f}",
            r.note,
        ]
        for r in fits.itertuples(index=False)
    ]
    parts += [
        "<p>Scaling fit t = a + c·N·epochs per kernel (bench.analysis.scaling):</p>",
        html_table(
            [
                "kernel",
                "cells",
                "overhead a",
                "c (ns per sample·epoch)",
                "rel. RMS",
                "slope in N",
                "slope in epochs",
                "note",
            ],
            rows,
            right=(1, 2, 3, 4, 5, 6),
        ),
    ]
    return "".join(parts)


def render_page(history: History, latest: Mapping[str, Latest], sources: Sequence[str]) -> str:
    """The whole page: steps, then per machine its metadata, runs, charts and latest summary."""
    total = len(history.runs)
    body = [
        "<h1>Benchmark history</h1>",
        f"<p>{total} run(s) on {len(history.series)} machine(s), read from {_esc(', '.join(sources))}. "
        "Each machine is its own series. Runs are ordered by time; a * after a commit marks a dirty "
        "tree; an open circle, a measurement taken while the machine was disturbed (charted, not judged). "
        "Hover a point or a step mark for its details. The method: docs/history.md.</p>",
        "<h2>Steps</h2>",
        _steps_section(history),
        *(_machine_section(history, machine, latest.get(machine)) for machine in history.series),
    ]
    return (
        "<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
        f"<meta http-equiv='Content-Security-Policy' content=\"{CSP}\">"
        f"<meta name='generator' content='{GENERATOR}'>"
        "<title>Benchmark history</title>"
        f"<style>{_STYLE}</style></head><body>{''.join(body)}</body></html>\n"
    )
