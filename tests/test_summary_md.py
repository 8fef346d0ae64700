"""Number formatting and the wording of crossovers in summary.md (bench.summary_md)."""

from __future__ import annotations

import math

import pytest

from bench.summary_md import (
    crossover_text,
    format_count,
    format_number,
    format_ratio,
    format_seconds,
)


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (2.345e-6, "2.35 µs"),  # three significant digits, engineering unit
        (0.5, "500 ms"),
        (12.0, "12 s"),
        (4.2e-9, "4.2 ns"),
        (999.96e-6, "1 ms"),  # rounds up into the next unit instead of "1,000 µs"
        (0.0, "0 s"),
        (math.nan, "—"),
    ],
)
def test_format_seconds(seconds, text):
    assert format_seconds(seconds) == text


@pytest.mark.parametrize(
    ("value", "text"),
    [(1234.5, "1,230"), (0.05, "0.05"), (3.14159, "3.14"), (100.0, "100"), (3.7e-6, "3.7e-06")],
)
def test_format_number(value, text):
    assert format_number(value) == text


@pytest.mark.parametrize(
    ("count", "text"),
    [(10, "10"), (1000, "1k"), (2_345, "2.35k"), (1_000_000, "1M"), (67.44, "67.4")],
)
def test_format_count(count, text):
    assert format_count(count) == text


def test_format_ratio():
    assert format_ratio(41.26) == "41.3×"
    assert format_ratio(math.nan) == "—"


def _row(**changes):
    row = {"kernel_a": "a", "kernel_b": "b", "n_min": 10, "n_max": 10_000, "crossings": [],
           "faster_first": "a", "speedup_min": 2.0, "speedup_max": 40.0,
           "resolved": True}  # fmt: skip
    row.update(changes)
    return row


def test_crossover_text_names_who_wins_where():
    assert crossover_text(_row()) == "`a` faster everywhere measured, 2–40× (N 10–10k)"
    one = crossover_text(_row(crossings=[67.4], faster_first="b"))
    assert one == "`b` below N≈67.4, `a` above (N 10–10k)"
    two = crossover_text(_row(crossings=[31.6, 316.0]))
    assert two == "`a` below N≈31.6, `b` N≈31.6–316, `a` above (N 10–10k)"


def test_crossover_text_flags_spread_and_single_n():
    assert crossover_text(_row(resolved=False)).endswith("(within spread)")
    single = crossover_text(_row(n_max=10, speedup_max=2.0))
    assert single == "`a` faster, 2× (only N = 10 measured)"
    assert crossover_text(_row(faster_first="")).startswith("tie at every measured N")
