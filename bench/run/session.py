"""The state of one sweep: its plan and metadata, what has finished, and where the report goes.

Every finished cell is written to the run's journal at once (``bench.reports.journal``), and the
report at the end; a report that cannot be written where it was asked for goes to a fallback path,
and failing that the journal stays, so nothing measured is lost.
"""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numba
import pandas as pd

from bench.reports import files, frames, journal
from bench.reports.schema import ReportError
from bench.run import sweep
from bench.run.timing import MAX_ROUNDS, MIN_ROUNDS

#: Bytes of report, rounds file and journal per timed round, with room to spare: what the destination
#: must have free before the run starts.
BYTES_PER_ROUND = 200
#: The same for the summary row of a cell, its metadata included.
BYTES_PER_CELL = 2_000


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
    #: Why the report is not where it was asked for (a fallback was used, or only the journal is left).
    write_problem: str | None = None
    journal: journal.Journal | None = None
    #: Why the journal stopped being written, if it did.
    journal_problem: str | None = None
    #: Fewest timed rounds per benchmark (--benchmark-min-rounds, else the plan's own minimum).
    min_rounds: int = MIN_ROUNDS
    #: Which batch of a batched run this process measures when it is a worker (--batch-index), else
    #: None: this process measures batch 0 and starts the others (``bench.run.replicate``).
    batch_index: int | None = None
    #: The pooled report's cells once the batches are pooled (the summary shows them), and what the
    #: batching did, in one line.
    pooled: object = None
    batch_line: str | None = None

    def needed_bytes(self) -> int:
        """A generous estimate of the disk space the run's report, rounds and journal take."""
        benchmarks = len(self.plan.cells()) * len(self.plan.kernels)
        return benchmarks * (MAX_ROUNDS * BYTES_PER_ROUND + BYTES_PER_CELL)

    def open_journal(self) -> None:
        """Check the destination and start the journal; ReportError (one line) if it cannot be written."""
        if self.report_path is None:
            return
        files.check_destination(self.report_path, self.needed_bytes())
        path = journal.journal_path(self.report_path)
        try:
            self.journal = journal.Journal(path, self.metadata)
        except FileExistsError:
            raise ReportError(
                f"{path} exists: the journal of an earlier run that did not finish; turn it into its "
                f"report with python -m bench.recover {path}, or move it away"
            ) from None
        except OSError as exc:
            raise ReportError(f"cannot write the report's journal {path}: {exc.strerror or exc}") from None

    def update_metadata(self, updates: Mapping[str, object]) -> None:
        """Metadata learnt during the run, kept for the report and journaled."""
        self.metadata.update(updates)
        self._journal("record_metadata", updates)

    def record_compile(self, kernel: str, seconds: float | None) -> None:
        """A kernel's fresh compile time, kept for the report and journaled."""
        self.compile_s[kernel] = seconds
        self._journal("record_compile", kernel, seconds)

    def record(self, result: frames.CellResult) -> None:
        """A finished cell, kept for the report and journaled at once."""
        self.results.append(result)
        self._journal("record_cell", result)

    def _journal(self, method: str, *args: object) -> None:
        # A journal that can no longer be written (the disk filled up) must not stop the measuring:
        # the cells are still in memory, and the report's writing has its own fallback.
        if self.journal is None or self.journal_problem is not None:
            return
        try:
            getattr(self.journal, method)(*args)
        except OSError as exc:
            self.journal_problem = f"journal {self.journal.path} stopped: {exc.strerror or exc}"

    def write_report(self) -> None:
        """Write every cell that finished to the report (``written`` says where it went)."""
        if self.report_path is None:
            return
        if not self.results:
            if self.journal is not None:
                self.journal.close(remove=True)
            return
        self.note_threading_layer()
        cells = frames.cells_frame(self.results, self.compile_s, self.metadata)
        self.write_tables(cells, frames.rounds_frame(self.results))

    def note_threading_layer(self) -> None:
        """Record Numba's threading layer, once a parallel kernel has started one."""
        with contextlib.suppress(ValueError):  # no parallel kernel ran: nothing started a layer
            self.update_metadata({"numba_threading_layer": numba.threading_layer()})

    def write_tables(self, cells: pd.DataFrame, rounds: pd.DataFrame) -> None:
        """Write ``cells`` and ``rounds`` as the run's report (``written`` says where they went).

        If the report cannot be written where it was asked for (the disk filled up, the folder
        became read-only), it goes to the system's temporary folder instead; if that fails too, the
        journal stays. ``write_problem`` says which, in one line.
        """
        assert self.report_path is not None
        try:
            self.written = files.write(self.report_path, cells, rounds)
        except OSError as exc:
            fallback = Path(tempfile.gettempdir()) / self.report_path.name
            try:
                self.written = files.write(fallback, cells, rounds)
            except OSError:
                kept = "the measured cells could not be saved anywhere"
                if self.journal is not None and self.journal_problem is None:
                    kept = (
                        f"the measured cells are in its journal {self.journal.path} "
                        "(python -m bench.recover turns it into the report)"
                    )
                self.write_problem = (
                    f"could not write {self.report_path} ({exc.strerror or exc}) nor a fallback in "
                    f"{fallback.parent}; {kept}"
                )
                if self.journal is not None:
                    self.journal.close(remove=False)
                return
            reason = exc.strerror or exc
            self.write_problem = f"could not write {self.report_path} ({reason}); saved to {self.written}"
        if self.journal is not None:
            self.journal.close(remove=True)
