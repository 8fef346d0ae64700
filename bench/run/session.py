"""The state of one sweep: its plan and metadata, what has finished, and where the report goes."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from bench.reports import files, frames
from bench.run import sweep


@dataclass
class SweepRun:
    """State of one benchmark run: its plan and metadata, then what finished."""

    plan: sweep.Plan
    metadata: dict[str, object]
    #: Where the report goes; None with --no-csv.
    report_path: Path | None
    results: list[frames.CellResult] = field(default_factory=list)
    compile_s: dict[str, float | None] = field(default_factory=dict)
    #: Benchmarks run once, untimed (--benchmark-disable).
    untimed: int = 0
    written: Path | None = None
    interrupted: bool = False

    def write_report(self) -> None:
        """Write every cell that finished to the report (``written`` says where it went)."""
        if self.report_path is None or not self.results:
            return
        cells = frames.cells_frame(self.results, self.compile_s, self.metadata)
        self.written = files.write(self.report_path, cells, frames.rounds_frame(self.results))
