"""Numbers as reports show them (bench.present.formatting)."""

from __future__ import annotations

import math

import pytest

from bench.present.formatting import format_count, format_number, format_ratio, format_seconds


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


@pytest.mark.parametrize(
    ("ratio", "text"),
    [(41.26, "41.3×"), (1.234, "1.23×"), (789.4, "789×"), (12_345.0, "12,300×"), (math.nan, "—")],
)
def test_format_ratio(ratio, text):
    assert format_ratio(ratio) == text
