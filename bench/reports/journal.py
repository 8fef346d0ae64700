"""A sweep's journal: every finished cell on disk as soon as it finishes, so that nothing measured is
lost to SIGTERM, a kill, a crash or a full disk.

The journal is a JSON Lines file beside the report (``NAME.journal.jsonl``), appended to and flushed
to disk after each record: first the run's metadata, then compile times and finished cells as they
come. At the end of the run the report is written from memory and the journal removed; a run that
could not get that far leaves its journal, and ``read`` (or ``python -m bench.recover``) turns it
into the report.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
from collections.abc import Mapping
from pathlib import Path
from typing import IO

from bench.reports.files import MAX_REPORT_BYTES
from bench.reports.frames import CellResult
from bench.reports.schema import SUFFIX, ReportError

JOURNAL_SUFFIX = ".journal.jsonl"


def journal_path(report_path: Path) -> Path:
    """``NAME.journal.jsonl`` beside ``NAME.csv``."""
    report_path = Path(report_path)
    return report_path.with_name(report_path.name[: -len(SUFFIX)] + JOURNAL_SUFFIX)


def report_path_of(journal: Path) -> Path:
    """The report a journal stands for: ``NAME.csv`` beside ``NAME.journal.jsonl``."""
    journal = Path(journal)
    if not journal.name.endswith(JOURNAL_SUFFIX):
        raise ReportError(f"{journal} is not a journal (its name must end in {JOURNAL_SUFFIX})")
    return journal.with_name(journal.name[: -len(JOURNAL_SUFFIX)] + SUFFIX)


class Journal:
    """An open journal; each ``record_*`` call reaches the disk before it returns."""

    def __init__(self, path: Path, metadata: Mapping[str, object]) -> None:
        self.path = Path(path)
        # "x": a journal is never appended to another run's.
        self._stream: IO[str] | None = open(self.path, "x", encoding="utf-8")  # noqa: SIM115
        self._append({"metadata": {k: _plain(v) for k, v in metadata.items()}})

    def record_metadata(self, updates: Mapping[str, object]) -> None:
        """Metadata learnt during the run (a cluster's workers, a device), merged into the first."""
        self._append({"metadata": {k: _plain(v) for k, v in updates.items()}})

    def record_compile(self, kernel: str, seconds: float | None) -> None:
        """A kernel's fresh compile time."""
        self._append({"compile": {"kernel": kernel, "seconds": seconds}})

    def record_cell(self, result: CellResult) -> None:
        """A finished cell, every round of it."""
        cell = {
            "kernel": result.kernel,
            "n": result.n,
            "epochs": result.epochs,
            "iterations": result.iterations,
            "others_cores": _plain(result.others_cores),
            "steal_cores": _plain(result.steal_cores),
            "disturbed": result.disturbed,
            "seconds": list(result.seconds),
        }
        self._append({"cell": cell})

    def close(self, remove: bool) -> None:
        """Close the journal, and delete it when the report it stands for is safely written."""
        if self._stream is not None:
            with contextlib.suppress(OSError):  # a full disk may refuse the last flush
                self._stream.close()
            self._stream = None
        if remove:
            self.path.unlink(missing_ok=True)

    def _append(self, record: dict) -> None:
        if self._stream is None:
            raise ValueError(f"journal {self.path} is closed")
        self._stream.write(json.dumps(record) + "\n")
        self._stream.flush()
        os.fsync(self._stream.fileno())


def read(path: Path) -> tuple[dict[str, object], dict[str, float | None], list[CellResult]]:
    """A journal's metadata, compile times and finished cells; ReportError when it is not one.

    A last line cut short (the process died while writing it) is ignored: every line before it was
    complete on disk.
    """
    path = Path(path)
    if not path.is_file():
        raise ReportError(f"{path} is not a journal: no such regular file")
    if path.stat().st_size > MAX_REPORT_BYTES:
        raise ReportError(f"{path} is larger than a journal can be ({MAX_REPORT_BYTES:,} bytes)")
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise ReportError(f"{path} cannot be read as a journal ({exc})") from None
    records = []
    for number, line in enumerate(lines, start=1):
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError:
            if number == len(lines):
                break
            raise ReportError(f"{path} line {number} is not a journal record") from None
    if not records or "metadata" not in records[0]:
        raise ReportError(f"{path} is not a journal (no metadata line first)")
    metadata = dict(records[0]["metadata"])
    compile_s: dict[str, float | None] = {}
    results = []
    for record in records[1:]:
        if "metadata" in record:
            metadata.update(record["metadata"])
        elif "compile" in record:
            compile_s[record["compile"]["kernel"]] = record["compile"]["seconds"]
        elif "cell" in record:
            cell = record["cell"]
            results.append(
                CellResult(
                    str(cell["kernel"]),
                    int(cell["n"]),
                    int(cell["epochs"]),
                    tuple(float(s) for s in cell["seconds"]),
                    int(cell["iterations"]),
                    _number(cell.get("others_cores")),
                    _number(cell.get("steal_cores")),
                    bool(cell.get("disturbed", False)),
                )
            )
    return metadata, compile_s, results


def _plain(value: object) -> object:
    """A metadata value as JSON holds it (NumPy scalars as Python ones, NaN as None)."""
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value if isinstance(value, (str, int, float, bool)) or value is None else str(value)


def _number(value: object) -> float:
    return math.nan if value is None else float(value)
