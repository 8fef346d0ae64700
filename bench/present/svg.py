"""A small SVG line chart written by hand: runs along x, time on a log scale along y, markers.

The history page inlines these charts, so the page needs nothing but itself: no plotting library,
no script, no request. Every text that reaches the SVG is escaped here.
"""

from __future__ import annotations

import html
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

#: matplotlib's default colours (tab10), so a kernel looks alike in the figures and on the page.
PALETTE: tuple[str, ...] = (
    "#1f77b4",
    "#ff7f0e",
    "#2ca02c",
    "#d62728",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#7f7f7f",
    "#bcbd22",
    "#17becf",
)
SLOWER_COLOUR = "#c0392b"
FASTER_COLOUR = "#1e8449"


@dataclass(frozen=True)
class Line:
    """One series: its name, colour, and (x, y) points with a tooltip each; points whose index is in
    ``hollow`` are drawn as open circles (a measurement shown but not judged)."""

    name: str
    colour: str
    points: Sequence[tuple[float, float, str]]
    dashed: bool = False
    hollow: frozenset[int] = frozenset()


@dataclass(frozen=True)
class Marker:
    """A vertical mark before run ``x`` (a step), with its tooltip and colour."""

    x: float
    label: str
    colour: str


@dataclass(frozen=True)
class Chart:
    """A chart: title, x tick labels by run index, lines, markers, and how y values are printed."""

    title: str
    x_labels: Sequence[str]
    lines: Sequence[Line]
    markers: Sequence[Marker] = field(default_factory=tuple)
    y_format: Callable[[float], str] = str


WIDTH, HEIGHT = 540, 290
LEFT, RIGHT, TOP, BOTTOM = 62, 130, 28, 66
MAX_X_LABELS = 14


def _esc(text: object) -> str:
    return html.escape(str(text), quote=True)


def _log_ticks(low: float, high: float) -> list[float]:
    """Tick values between ``low`` and ``high`` (positive): 1-2-5 steps per decade, at most ~8;
    over a narrow range, four values evenly spaced in log, to two significant digits."""
    for steps in ((1.0,), (1.0, 2.0, 5.0), (1.0, 1.5, 2.0, 3.0, 5.0, 7.0)):
        ticks = [
            m * 10.0**e
            for e in range(math.floor(math.log10(low)) - 1, math.ceil(math.log10(high)) + 1)
            for m in steps
            if low <= m * 10.0**e <= high
        ]
        if len(ticks) >= 3:
            return ticks[:: max(1, len(ticks) // 8)]
    span = math.log10(high / low)
    return [float(f"{10 ** (math.log10(low) + span * k / 5):.2g}") for k in range(1, 5)]


def render(chart: Chart) -> str:
    """The chart as an ``<svg>`` element (a string), time on a log scale."""
    values = [y for line in chart.lines for _, y, _ in line.points if y > 0 and math.isfinite(y)]
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    parts = [
        f'<svg class="chart" width="{WIDTH}" height="{HEIGHT}" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="{_esc(chart.title)}">',
        f'<text x="{LEFT}" y="16" class="title">{_esc(chart.title)}</text>',
        f'<rect x="{LEFT}" y="{TOP}" width="{plot_w}" height="{plot_h}" class="frame"/>',
    ]
    if not values:
        parts.append(f'<text x="{LEFT + 10}" y="{TOP + 20}">no data</text></svg>')
        return "".join(parts)
    low, high = min(values), max(values)
    if high / low < 1.2:  # a flat series still gets a readable band around it
        low, high = low / 1.1, high * 1.1
    span = math.log10(high) - math.log10(low)
    low, high = 10 ** (math.log10(low) - 0.05 * span), 10 ** (math.log10(high) + 0.05 * span)
    count = max(len(chart.x_labels), 1)

    def x_of(x: float) -> float:
        return LEFT + plot_w * ((x + 0.5) / count)

    def y_of(y: float) -> float:
        return TOP + plot_h * (1 - (math.log10(y) - math.log10(low)) / (math.log10(high) - math.log10(low)))

    for tick in _log_ticks(low, high):
        y = y_of(tick)
        parts.append(f'<line x1="{LEFT}" x2="{LEFT + plot_w}" y1="{y:.1f}" y2="{y:.1f}" class="grid"/>')
        parts.append(
            f'<text x="{LEFT - 6}" y="{y + 4:.1f}" class="ytick">{_esc(chart.y_format(tick))}</text>'
        )
    every = max(1, math.ceil(count / MAX_X_LABELS))
    for index, label in enumerate(chart.x_labels):
        if index % every and index != count - 1:
            continue
        x, y = x_of(index), TOP + plot_h + 12
        rotate = f"rotate(-40 {x:.1f} {y})"
        parts.append(f'<text x="{x:.1f}" y="{y}" class="xtick" transform="{rotate}">{_esc(label)}</text>')
    for marker in chart.markers:
        x = x_of(marker.x - 0.5)
        parts.append(
            f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{TOP}" y2="{TOP + plot_h}" class="step" '
            f'stroke="{_esc(marker.colour)}"><title>{_esc(marker.label)}</title></line>'
        )
    for rank, line in enumerate(chart.lines):
        points = [
            (x_of(x), y_of(y), tip, index in line.hollow)
            for index, (x, y, tip) in enumerate(line.points)
            if y > 0 and math.isfinite(y)
        ]
        dash = ' stroke-dasharray="5 3"' if line.dashed else ""
        path = " ".join(f"{x:.1f},{y:.1f}" for x, y, _, _ in points)
        parts.append(
            f'<polyline points="{path}" fill="none" stroke="{_esc(line.colour)}" stroke-width="1.8"{dash}>'
            f"<title>{_esc(line.name)}</title></polyline>"
        )
        colour = _esc(line.colour)
        parts += [
            f'<circle cx="{x:.1f}" cy="{y:.1f}" r="2.8" fill="{"#ffffff" if hollow else colour}" '
            f'stroke="{colour}"><title>{_esc(tip)}</title></circle>'
            for x, y, tip, hollow in points
        ]
        legend_y = TOP + 12 + 16 * rank
        parts.append(
            f'<line x1="{WIDTH - RIGHT + 12}" x2="{WIDTH - RIGHT + 32}" y1="{legend_y - 4}" '
            f'y2="{legend_y - 4}" stroke="{_esc(line.colour)}" stroke-width="2"{dash}/>'
            f'<text x="{WIDTH - RIGHT + 38}" y="{legend_y}" class="legend">{_esc(line.name)}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)
