"""Render a report's results as ``summary.md``: metadata, winners, fits, crossovers, figures.

Only rendering lives here: the numbers come from ``bench.analysis.scaling``. Numbers are shown to three
significant digits, times in engineering units (ns, µs, ms, s).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence

import pandas as pd

from bench.present.formatting import format_count, format_number, format_ratio, format_seconds
from bench.present.tables import markdown_escape, table_lines
from bench.reports.schema import REFERENCE_KERNELS


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    return table_lines(header, rows, fmt="markdown")


def _glance_section(glance: pd.DataFrame) -> list[str]:
    ref = glance.dropna(subset=["ref_n"])
    big = glance.dropna(subset=["big_n"])
    ref_cell = (
        f"N = {format_count(ref['ref_n'].iloc[0])}, {format_count(ref['ref_epochs'].iloc[0])} epochs"
        if len(ref)
        else "no cell with python_loop"
    )
    big_cell = (
        f"N = {format_count(big['big_n'].iloc[0])}, {format_count(big['big_epochs'].iloc[0])} epochs"
        if len(big)
        else "—"
    )
    return [
        "## Kernels at a glance",
        "",
        f"Speedup over `python_loop` in the largest cell it ran ({ref_cell}); cost per sample·epoch and "
        f"time as a multiple of the `stream` probe's in the largest cell ({big_cell}).",
        "",
        *_table(
            ["kernel", "speedup over python_loop", "ns per sample·epoch", "time / stream"],
            [
                [
                    f"`{r.kernel}`",
                    format_ratio(r.vs_python_loop),
                    format_number(r.ns_per_update) if pd.notna(r.ns_per_update) else "—",
                    format_ratio(r.x_stream),
                ]
                for r in glance.itertuples(index=False)
            ],
        ),
    ]


def _fastest_section(fastest: pd.DataFrame) -> list[str]:
    references = [r for r in REFERENCE_KERNELS if f"vs_{r}" in fastest.columns]
    header = ["epochs", "N", "fastest", "median time", "next fastest", "margin"]
    header += [f"speedup over {r}" for r in references]
    rows = []
    for row in fastest.itertuples(index=False):
        margin = format_ratio(row.margin)
        if row.runner_up and not row.clear:
            margin += " (within spread)"
        cells = [
            format_count(row.epochs),
            format_count(row.n),
            f"`{row.fastest}`",
            format_seconds(row.median_s),
            f"`{row.runner_up}`" if row.runner_up else "—",
            margin,
        ]
        cells += [format_ratio(getattr(row, f"vs_{r}")) for r in references]
        rows.append(cells)
    return [
        "## Fastest kernel per cell",
        "",
        "Median time of the fastest kernel in each (epochs, N) cell; *margin* is how much slower "
        'the next fastest is. "Within spread" means the two kernels\' min–max ranges over the '
        "rounds overlap, so the order is not settled.",
        "",
        *_table(header, rows),
    ]


def _fit_section(fits: pd.DataFrame) -> list[str]:
    fitted = fits[fits["note"] == ""]
    simple_rows = [
        [
            f"`{r.kernel}`",
            str(r.cells),
            format_seconds(r.overhead_s),
            format_number(r.per_update_s * 1e9),
            f"{r.rel_rms:.1%}",
            _slope(r.slope_n),
            _slope(r.slope_epochs),
            "t = a + c·N·epochs" if r.better_model == "N·epochs" else "full",
        ]
        for r in fitted.itertuples(index=False)
    ]
    if fitted.empty:
        simple_table = ["No kernel has enough cells to fit."]
    else:
        simple_table = _table(
            [
                "kernel",
                "cells",
                "overhead a",
                "c (ns per sample·epoch)",
                "rel. RMS error",
                "slope in N",
                "slope in epochs",
                "better model",
            ],
            simple_rows,
        )
    lines = [
        "## Scaling fits",
        "",
        "Each kernel's median times fitted by least squares on the *relative* error (the times "
        "span many decades), coefficients constrained to be ≥ 0 (a 0 means below what the timings "
        "resolve). *Slope in N* and *slope in epochs* are the exponents p, q of t ≈ k·N^p·epochs^q "
        "over all of the kernel's cells.",
        "",
        "**t = a + c·N·epochs** (a: fixed cost per call; c: cost per sample per epoch):",
        "",
        *simple_table,
    ]
    full = fitted[fitted["full_rel_rms"].notna()]
    if len(full):
        lines += [
            "",
            "**Full model t = a + b·N + e·epochs + c·N·epochs**, which also catches a cost per "
            "epoch (a dispatch per epoch) and algorithms in O(N + epochs); *better model* above "
            'says "full" when the simple fit misses by more than the noise and this one halves '
            "its error:",
            "",
            *_table(
                [
                    "kernel",
                    "a (per call)",
                    "b (per sample)",
                    "e (per epoch)",
                    "c (ns per sample·epoch)",
                    "rel. RMS error",
                ],
                [
                    [
                        f"`{r.kernel}`",
                        format_seconds(r.full_overhead_s),
                        format_seconds(r.full_per_sample_s),
                        format_seconds(r.full_per_epoch_s),
                        format_number(r.full_per_update_s * 1e9),
                        f"{r.full_rel_rms:.1%}",
                    ]
                    for r in full.itertuples(index=False)
                ],
            ),
        ]
    unfitted = fits[fits["note"] != ""]
    if len(unfitted):
        lines += [
            "",
            *(f"- {markdown_escape(f'{r.kernel}: {r.note}')}" for r in unfitted.itertuples(index=False)),
        ]
    return lines


def _slope(value: float) -> str:
    # + 0.0 turns a rounded -0.00 into 0.00.
    return "—" if not math.isfinite(value) else f"{round(value, 2) + 0.0:.2f}"


def crossover_text(row: Mapping[str, object]) -> str:
    """One pair at one epochs value, in words: who wins where, e.g. 'A below N≈67.4, B above'."""
    a, b = str(row["kernel_a"]), str(row["kernel_b"])
    single = row["n_min"] == row["n_max"]
    span = (
        f"only N = {format_count(row['n_min'])} measured"
        if single
        else f"N {format_count(row['n_min'])}–{format_count(row['n_max'])}"
    )
    crossings = list(row["crossings"])  # type: ignore[call-overload]
    winner = str(row["faster_first"])
    if not winner:
        text = f"tie at every measured N ({span})"
    elif not crossings:
        speedup = (
            format_ratio(row["speedup_min"])
            if row["speedup_min"] == row["speedup_max"]
            else f"{format_number(row['speedup_min'])}–{format_ratio(row['speedup_max'])}"
        )
        where = "faster" if single else "faster everywhere measured"
        text = f"`{winner}` {where}, {speedup} ({span})"
    else:
        other = b if winner == a else a
        parts = [f"`{winner}` below N≈{format_count(crossings[0])}"]
        for low, high in itertools.pairwise(crossings):
            winner, other = other, winner
            parts.append(f"`{winner}` N≈{format_count(low)}–{format_count(high)}")
        parts.append(f"`{other}` above")
        text = ", ".join(parts) + f" ({span})"
    return text if row["resolved"] else text + " (within spread)"


def _crossover_section(crossovers: pd.DataFrame) -> list[str]:
    lines = [
        "## Crossovers",
        "",
        "For each pair of kernels and each epochs value, over the N measured for both: where the "
        "faster one changes (N interpolated in log-log between the measurements around it), or "
        'that one is faster everywhere, by how much. "Within spread" marks verdicts where the '
        "two kernels' min–max ranges overlap at the deciding measurements.",
        "",
    ]
    if crossovers.empty:
        return [*lines, "No pair of kernels shares a measured cell."]
    epochs_values = sorted(crossovers["epochs"].unique())
    pairs = list(dict.fromkeys(zip(crossovers["kernel_a"], crossovers["kernel_b"], strict=True)))
    crossing = {(r.kernel_a, r.kernel_b) for r in crossovers.itertuples(index=False) if r.crossings}
    # Pairs that do cross are what the reader came for: list them first, in report order otherwise.
    pairs.sort(key=lambda pair: pair not in crossing)
    by_key = {(r["kernel_a"], r["kernel_b"], r["epochs"]): r for r in crossovers.to_dict("records")}
    rows = [
        [f"`{a}` vs `{b}`"]
        + [crossover_text(by_key[a, b, e]) if (a, b, e) in by_key else "—" for e in epochs_values]
        for a, b in pairs
    ]
    header = ["pair", *(f"epochs = {format_count(e)}" for e in epochs_values)]
    return [*lines, *_table(header, rows)]


def render_summary(
    title: str,
    report_link: str,
    metadata: Mapping[str, str],
    figures: Sequence[tuple[str, str]],
    fits: pd.DataFrame,
    fastest: pd.DataFrame,
    crossovers: pd.DataFrame,
    notes: Sequence[str],
    glance: pd.DataFrame | None = None,
) -> str:
    """The whole ``summary.md``: ``figures`` are (file name next to the summary, caption) pairs,
    ``report_link`` the report's path relative to the summary, ``notes`` what could not be done."""
    lines = [
        f"# Benchmark summary: {title}",
        "",
        f"Made by `python -m bench.plot` from [`{report_link.rsplit('/', 1)[-1]}`]({report_link}); "
        "every number here is computed from that report.",
        "",
        "## Run",
        "",
        *_table(["", ""], [[key, str(value)] for key, value in metadata.items()]),
        "",
        "## Figures",
        "",
    ]
    for name, caption in figures:
        lines += [f"**{caption}** ([{name}]({name}))", "", f"![{caption}]({name})", ""]
    if glance is not None and not glance.empty:
        lines += [*_glance_section(glance), ""]
    lines += [*_fastest_section(fastest), "", *_fit_section(fits), ""]
    lines += _crossover_section(crossovers)
    if notes:
        lines += ["", "## What could not be shown", "", *(f"- {markdown_escape(note)}" for note in notes)]
    return "\n".join(lines) + "\n"
