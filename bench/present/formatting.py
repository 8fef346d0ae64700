"""Numbers as the reports' readers see them: three significant digits, engineering units.

Every table the project prints or writes (the end-of-run summary, ``bench.compare``, ``summary.md``)
formats with these, so a time or a ratio reads the same everywhere.
"""

from __future__ import annotations

import math

_TIME_UNITS = ((1.0, "s"), (1e-3, "ms"), (1e-6, "µs"), (1e-9, "ns"), (1e-12, "ps"))
_COUNT_PREFIXES = ((1e9, "G"), (1e6, "M"), (1e3, "k"))


def format_number(value: float) -> str:
    """``value`` to three significant digits, no exponent or trailing zeros: '1,230', '0.05'."""
    if value == 0:
        return "0"
    if abs(value) < 1e-3:
        return f"{value:.3g}"
    rounded = float(f"{value:.3g}")
    decimals = max(0, 2 - math.floor(math.log10(abs(rounded))))
    return f"{rounded:,.{decimals}f}".rstrip("0").rstrip(".") if decimals else f"{rounded:,.0f}"


def format_seconds(seconds: float) -> str:
    """A duration to three significant digits in the unit that keeps it in [1, 1000): '2.35 µs'."""
    if seconds is None or not math.isfinite(seconds):
        return "—"
    if seconds == 0:
        return "0 s"
    for scale, unit in _TIME_UNITS:
        # Round first, so 999.96e-6 becomes "1 ms", not "1,000 µs".
        if abs(float(f"{seconds:.3g}")) >= scale:
            return f"{format_number(seconds / scale)} {unit}"
    return f"{format_number(seconds / 1e-12)} ps"


def format_count(count: float) -> str:
    """A count (N, epochs) to three significant digits with an SI prefix: 1000 -> '1k'."""
    if not math.isfinite(count):
        return "—"
    for scale, prefix in _COUNT_PREFIXES:
        if abs(float(f"{count:.3g}")) >= scale:
            return f"{format_number(count / scale)}{prefix}"
    return format_number(count)


def format_ratio(ratio: float) -> str:
    """A speed ratio as '3.41×' (three significant digits; '—' when missing)."""
    return "—" if not math.isfinite(ratio) else f"{format_number(ratio)}×"
