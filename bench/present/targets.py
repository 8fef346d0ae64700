"""The targets' verdicts as text: one block per target, the ratio in each cell it concerns."""

from __future__ import annotations

from collections.abc import Sequence

from bench.analysis.targets import Verdict
from bench.present.formatting import format_count, format_ratio


def render(verdicts: Sequence[Verdict]) -> str:
    """One block per target: the verdict, then the ratio in each cell."""
    lines = []
    for verdict in verdicts:
        state = {True: "met", False: "NOT met", None: "no data in this report"}[verdict.met]
        lines.append(f"{verdict.target}: {state}")
        for n, epochs, ratio in verdict.cells:
            mark = "" if verdict.holds(ratio) else "  <- misses"
            lines.append(f"  N={format_count(n)} epochs={epochs}: {format_ratio(ratio)}{mark}")
    return "\n".join(lines)
