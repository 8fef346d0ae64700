"""Reports on disk: the one place that reads a report's CSV, and the one atomic writer.

A report is written as a pair, ``PATH.csv`` and ``PATH.rounds.csv``, never over an existing file
(see docs/reports.md). Every file the tools write goes through ``write_atomic``: a reader sees either
no file or the whole file, never half of one.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import shutil
import stat
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pandas as pd

from bench.reports.schema import ROUNDS_SUFFIX, SUFFIX, TEXT_COLUMNS, ReportError

#: Largest file read as a report: far above any real report, far below what exhausts memory.
MAX_REPORT_BYTES = 2**30


def rounds_path(path: Path) -> Path:
    """``PATH.rounds.csv`` beside ``PATH.csv``."""
    path = Path(path)
    if path.suffix != SUFFIX:
        raise ValueError(f"a report path must end in {SUFFIX}, got {str(path)!r}")
    return path.with_name(path.name[: -len(SUFFIX)] + ROUNDS_SUFFIX)


def find_rounds(path: Path) -> Path | None:
    """The rounds file of the report at ``path``: ``PATH.rounds.csv``, or that name compressed
    (``.rounds.csv.gz``, how committed evidence keeps them), or None when there is neither."""
    plain = rounds_path(path)
    for candidate in (plain, plain.with_name(plain.name + ".gz")):
        if candidate.exists():
            return candidate
    return None


def existing_files(path: Path) -> list[Path]:
    """Those of ``path`` and its rounds file that exist already."""
    return [candidate for candidate in (Path(path), rounds_path(path)) if candidate.exists()]


def default_path(results_dir: Path, run_id: str) -> Path:
    """Where a run's report goes unless ``--csv`` says otherwise."""
    return Path(results_dir) / f"{run_id}{SUFFIX}"


def check_destination(path: Path, needed_bytes: int) -> None:
    """ReportError, in one line, when a report cannot be written at ``path``: its folder cannot be
    made, is not writable (a read-only file system), or has less than ``needed_bytes`` free."""
    folder = Path(path).parent
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ReportError(f"cannot create {folder} for the report: {exc.strerror or exc}") from None
    if not os.access(folder, os.W_OK):
        raise ReportError(f"cannot write the report in {folder}: not writable (a read-only file system?)")
    free = shutil.disk_usage(folder).free
    if free < needed_bytes:
        raise ReportError(
            f"cannot write the report in {folder}: {free:,} bytes free, the run needs about {needed_bytes:,}"
        )


def write(path: Path, cells: pd.DataFrame, rounds: pd.DataFrame) -> Path:
    """Write ``cells`` to ``path`` and ``rounds`` beside it; returns where ``cells`` went.

    Neither file replaces an existing one: when ``path`` or its rounds file is taken, the pair goes to
    the first free ``NAME-1.csv``, ``NAME-2.csv``, … instead, and a ``run_id`` that named the file
    names the new one. The rounds file is written first, so a report whose ``.csv`` exists always
    has its rounds beside it. Missing folders are created.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    for candidate in _candidates(path):
        if existing_files(candidate):
            continue
        if candidate != path and "run_id" in cells and (cells["run_id"] == path.name[: -len(SUFFIX)]).all():
            cells = cells.assign(run_id=candidate.name[: -len(SUFFIX)])
        rounds_file = rounds_path(candidate)
        try:
            _write_new(rounds_file, rounds)
        except FileExistsError:
            continue  # another process took the name since we looked
        try:
            _write_new(candidate, cells)
        except FileExistsError:
            rounds_file.unlink()  # ours, written just above
            continue
        except BaseException:
            rounds_file.unlink()  # no rounds file without its report
            raise
        return candidate
    raise AssertionError("unreachable: _candidates never ends")


def _candidates(path: Path) -> Iterator[Path]:
    yield path
    stem = path.name[: -len(SUFFIX)]
    index = 1
    while True:
        yield path.with_name(f"{stem}-{index}{SUFFIX}")
        index += 1


def _write_new(path: Path, frame: pd.DataFrame) -> None:
    """Create ``path`` holding ``frame`` as CSV, all at once; FileExistsError if it exists."""
    write_new_text(path, frame.to_csv(index=False, na_rep=""))


def write_new_text(path: Path, text: str) -> None:
    """Create ``path`` holding ``text``; FileExistsError if it exists, never replaced."""
    write_atomic(path, text, replace=False)


def write_atomic(path: Path, content: str | Callable[[Path], None], *, replace: bool) -> None:
    """Write ``path`` all at once: ``content`` is text, or a function that writes the file it is given.

    With ``replace=False`` an existing ``path`` is never touched (FileExistsError); with
    ``replace=True`` it is replaced (figures, which are derived and redrawn).
    """
    path = Path(path)
    # The temporary file sits in the same folder, so the final link is a rename within one file
    # system; a reader sees either no file or the whole file, never a half-written one.
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        # mkstemp makes the file private (0600); what we write gets the permissions of any new file.
        os.chmod(temporary, _new_file_mode())
        with os.fdopen(handle, "w", newline="", encoding="utf-8") as stream:
            if isinstance(content, str):
                stream.write(content)
        if not isinstance(content, str):
            content(Path(temporary))
        with open(temporary, "rb") as stream:
            os.fsync(stream.fileno())
        if replace:
            os.replace(temporary, path)
        else:
            _publish(Path(temporary), path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)


def _new_file_mode() -> int:
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def _publish(temporary: Path, path: Path) -> None:
    # os.link fails if the target exists, where os.replace would overwrite it: no check-then-write
    # race can clobber a report. File systems without hard links fall back to check, then replace.
    try:
        os.link(temporary, path)
    except FileExistsError:
        raise
    except OSError as exc:
        if exc.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EXDEV, errno.EMLINK):
            raise
        if path.exists():
            raise FileExistsError(errno.EEXIST, "report exists", str(path)) from None
        os.replace(temporary, path)


def _check_readable(path: Path) -> None:
    """ReportError unless ``path`` is a regular file no larger than ``MAX_REPORT_BYTES``."""
    try:
        status = path.stat()
    except FileNotFoundError:
        raise ReportError(f"{path}: no such file") from None
    except OSError as exc:
        raise ReportError(f"{path} cannot be read ({exc.strerror or exc})") from None
    if stat.S_ISDIR(status.st_mode):
        raise ReportError(f"{path} is a directory, not a report")
    if not stat.S_ISREG(status.st_mode):
        raise ReportError(f"{path} is not a regular file, not a report")
    if status.st_size > MAX_REPORT_BYTES:
        raise ReportError(
            f"{path} is {status.st_size:,} bytes, more than a report can be ({MAX_REPORT_BYTES:,})"
        )


def read_json(path: Path) -> object:
    """A JSON file (pytest-benchmark's output); ReportError says in one line why it cannot be read."""
    path = Path(path)
    _check_readable(path)
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ReportError(f"{path} cannot be read as JSON ({str(exc).splitlines()[0]})") from None


def read_table(path: Path) -> pd.DataFrame:
    """A report's CSV (plain or ``.gz``) as a DataFrame; ReportError says in one line why not.

    Only regular files are read (not a device such as /dev/zero, nor a FIFO), up to
    ``MAX_REPORT_BYTES``.
    """
    path = Path(path)
    _check_readable(path)
    try:
        frame = pd.read_csv(path, dtype=dict.fromkeys(TEXT_COLUMNS, str))
    except pd.errors.EmptyDataError:
        raise ReportError(f"{path} is empty, not a benchmark report") from None
    except (OSError, UnicodeDecodeError, pd.errors.ParserError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ReportError(f"{path} cannot be read as a CSV report ({first})") from None
    if frame.empty:
        raise ReportError(f"{path} has no rows")
    return frame
