"""A comparison rendered: a terminal table, Markdown for a pull request or CI job summary, or CSV."""

from __future__ import annotations

import math
import sys
from pathlib import Path

from bench.analysis.compare import (
    ADDED,
    DISTURBED,
    FASTER,
    PROBE,
    REMOVED,
    SLOWER,
    UNCHANGED,
    Comparison,
    spread,
)
from bench.present.formatting import format_seconds
from bench.present.tables import markdown_escape, table_lines
from bench.reports.model import Report
from bench.reports.schema import CELL, cell_name


def regression_lines(comparison: Comparison) -> list[str]:
    """One line per regression: kernel, n, epochs, ratio and interval."""
    return [
        f"regression: {cell_name(row)}: {row.ratio:.2f}x slower (interval {row.ci_low:.2f}-{row.ci_high:.2f})"
        for row in comparison.regressions.itertuples()
    ]


def summary_line(comparison: Comparison) -> str:
    """Verdict counts and the rules behind them, in one sentence."""
    counts = comparison.table["verdict"].value_counts()
    parts = [f"{counts.get(v, 0)} {v}" for v in (SLOWER, FASTER, UNCHANGED)]
    parts += [f"{counts[v]} {v}" for v in (DISTURBED, PROBE, ADDED, REMOVED) if counts.get(v, 0)]
    compared = int(comparison.table["verdict"].isin([SLOWER, FASTER, UNCHANGED]).sum())
    if compared == 0:
        return f"{', '.join(parts)}: no cell was judged (each cell in common is disturbed or a probe)"
    return (
        f"{', '.join(parts)} (a change counts when it is at least {comparison.threshold:.0%} "
        f"and its {comparison.confidence:.2%} interval excludes 1; family-wise false-alarm rate "
        f"{comparison.alpha:g} per direction over {compared} cells)"
    )


#: Base time from which a cell counts as long in the resolution line.
LONG_CELL_S = 1e-3


def resolution_line(comparison: Comparison) -> str:
    """How large a slowdown must be to be flagged: median over the judged cells, and the worst."""
    judged = comparison.table[comparison.table["verdict"].isin([SLOWER, FASTER, UNCHANGED])]
    if judged.empty:
        return "resolution: no cell was judged"
    worst = judged.loc[judged["smallest_slower"].idxmax()]
    line = (
        f"resolution: a cell is called slower from {judged['smallest_slower'].median():.2f}x "
        f"(median over cells) to {worst.smallest_slower:.2f}x ({cell_name(worst)}, the "
        "widest spread)"
    )
    # Cells of a millisecond or more are where a change matters and where timing is easiest.
    long = judged[judged["base_s"] >= LONG_CELL_S]
    if len(long) and len(long) < len(judged):
        line += (
            f"; cells of {LONG_CELL_S * 1e3:g} ms or more: {long['smallest_slower'].median():.2f}x "
            f"(median), {long['smallest_slower'].max():.2f}x at most"
        )
    return line


def _table_rows(comparison: Comparison) -> tuple[list[str], list[list[str]]]:
    header = ["kernel", "n", "epochs", "base", "new", "ratio", "interval", "verdict"]
    rows = []
    for row in comparison.table.itertuples():
        if row.verdict in (ADDED, REMOVED):
            rows.append([row.kernel, str(row.n), str(row.epochs), "", "", "", "", row.verdict])
            continue
        rows.append(
            [
                row.kernel,
                str(row.n),
                str(row.epochs),
                format_seconds(row.base_s),
                format_seconds(row.new_s),
                f"{row.ratio:.2f}x",
                f"{row.ci_low:.2f}-{row.ci_high:.2f}",
                row.verdict,
            ]
        )
    return header, rows


def _geomean_rows(comparison: Comparison) -> tuple[list[str], list[list[str]]]:
    header = ["kernel", "cells", "geometric mean ratio", SLOWER, FASTER, UNCHANGED]
    rows = [
        [
            row["kernel"],
            str(row["cells"]),
            f"{row['geomean_ratio']:.2f}x",
            str(row[SLOWER]),
            str(row[FASTER]),
            str(row[UNCHANGED]),
        ]
        for _, row in comparison.geomeans.iterrows()
    ]
    return header, rows


def render_text(comparison: Comparison) -> str:
    """A plain terminal table, then geometric means, notes, warnings and regressions."""
    lines = [f"warning: {w}" for w in comparison.warnings]
    lines += [f"note: {n}" for n in comparison.notes]
    if lines:
        lines.append("")
    lines += table_lines(*_table_rows(comparison), right={1, 2, 3, 4, 5})
    if len(comparison.geomeans):
        lines += ["", *table_lines(*_geomean_rows(comparison), right={1, 2, 3, 4, 5})]
    lines += ["", summary_line(comparison), resolution_line(comparison)]
    lines += regression_lines(comparison)
    return "\n".join(lines) + "\n"


def render_markdown(comparison: Comparison) -> str:
    """GitHub-flavoured Markdown for a pull-request comment or a CI job summary."""
    regressions = len(comparison.regressions)
    title = f"{regressions} regression(s)" if regressions else "no regression"
    lines = [f"### Benchmark comparison: {title}", ""]
    for warning in comparison.warnings:
        lines.append(f"> **Warning:** {markdown_escape(warning)}")
    for note in comparison.notes:
        lines.append(f"> Note: {markdown_escape(note)}")
    if comparison.warnings or comparison.notes:
        lines.append("")
    header, rows = _table_rows(comparison)
    rows = [[markdown_escape(c) for c in r] for r in rows]
    rows = [[*r[:-1], f"**{r[-1]}**" if r[-1] in (SLOWER, FASTER) else r[-1]] for r in rows]
    lines += [*table_lines(header, rows, fmt="markdown", right={1, 2, 3, 4, 5}, escape=False), ""]
    if len(comparison.geomeans):
        lines += [*table_lines(*_geomean_rows(comparison), fmt="markdown", right={1, 2, 3, 4, 5}), ""]
    lines += [markdown_escape(summary_line(comparison)), "", markdown_escape(resolution_line(comparison))]
    if regressions:
        lines.append("")
        lines += [f"- {markdown_escape(line)}" for line in regression_lines(comparison)]
    return "\n".join(lines) + "\n"


def render_csv(comparison: Comparison) -> str:
    """The tidy verdict table as CSV, one row per cell."""
    return comparison.table.to_csv(index=False)


RENDERERS = {"text": render_text, "markdown": render_markdown, "csv": render_csv}


def emit(comparison: Comparison, fmt: str) -> None:
    """Print ``comparison`` in format ``fmt``; with csv, notes and regressions go to stderr."""
    sys.stdout.write(RENDERERS[fmt](comparison))
    if fmt == "csv":
        side = [f"warning: {w}" for w in comparison.warnings]
        side += [f"note: {n}" for n in comparison.notes]
        side += regression_lines(comparison)
        for line in side:
            print(line, file=sys.stderr)


def render_columns(base: Report, news: list[Report], comparisons: list[Comparison]) -> str:
    """Several reports against the first, benchstat-style: a column of times per report (± the
    spread, in brackets the batches) and, for each later one, its ratio to the base with the
    verdict (``~`` where nothing significant changed); then notes and regressions per report."""
    names = [_short(report.path) for report in [base, *news]]
    table = spread(base).rename(columns={"time_s": "time_0", "spread": "spread_0", "batches": "batches_0"})
    for index, (report, comparison) in enumerate(zip(news, comparisons, strict=True), start=1):
        mine = spread(report).rename(
            columns={"time_s": f"time_{index}", "spread": f"spread_{index}", "batches": f"batches_{index}"}
        )
        verdicts = comparison.table[[*CELL, "ratio", "verdict"]].rename(
            columns={"ratio": f"ratio_{index}", "verdict": f"verdict_{index}"}
        )
        table = table.merge(mine, on=list(CELL), how="outer").merge(verdicts, on=list(CELL), how="left")
    header = ["cell", names[0]]
    for name in names[1:]:
        header += [name, "vs base"]
    rows = []
    for row in table.sort_values(list(CELL)).to_dict("records"):
        cells = [f"{row['kernel']} n={row['n']} epochs={row['epochs']}", _time(row, 0)]
        for index in range(1, len(names)):
            cells += [_time(row, index), _delta(row.get(f"ratio_{index}"), row.get(f"verdict_{index}"))]
        rows.append(cells)
    right = set(range(1, len(header)))
    lines = table_lines(header, rows, right=right)
    for name, comparison in zip(names[1:], comparisons, strict=True):
        lines += ["", f"{name} vs {names[0]}: {summary_line(comparison)}"]
        lines += [f"warning: {w}" for w in comparison.warnings]
        lines += [f"note: {n}" for n in comparison.notes]
        lines += [f"{line} in {name}" for line in regression_lines(comparison)]
    return "\n".join(lines) + "\n"


def _short(path: Path) -> str:
    return Path(path).name


def _time(row: dict, index: int) -> str:
    time = row.get(f"time_{index}")
    if time is None or not math.isfinite(time):
        return "—"
    return f"{format_seconds(time)} ± {row[f'spread_{index}']:.1%} ({int(row[f'batches_{index}'])})"


def _delta(ratio: float | None, verdict: str | None) -> str:
    if verdict in (SLOWER, FASTER):
        return f"{ratio:.2f}x {verdict}"
    if verdict in (ADDED, REMOVED):
        return verdict
    if verdict in (PROBE, DISTURBED):
        return f"{ratio:.2f}x {verdict}"
    return "~" if verdict == UNCHANGED else "—"
