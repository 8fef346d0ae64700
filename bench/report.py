"""A run's results as two tidy CSV files, written atomically and never over an existing file.

``PATH.csv`` has one row per (kernel, n, epochs) that finished: its round statistics, ns per update,
the kernel's fresh compile time, then the run's metadata (see ``bench.metadata``). ``PATH.rounds.csv``
has every timed round in long form. A cell that was skipped or did not finish has no row at all.

The statistics are pytest-benchmark's own (its ``Stats`` class), so the report agrees with the table
it prints to the last digit, quartile convention included.
"""

from __future__ import annotations

import contextlib
import errno
import os
import tempfile
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from bench.scaling import PROBE_KERNELS

CELL_COLUMNS = (
    "kernel",
    "n",
    "epochs",
    "rounds",
    "min_s",
    "max_s",
    "median_s",
    "mean_s",
    "stddev_s",
    "iqr_s",
    "ns_per_update",
    "compile_s",
    "x_stream",
)
#: The probe every kernel's time is given as a multiple of (``x_stream``), when the run timed it.
STREAM_PROBE = PROBE_KERNELS[0]
#: Appended after the metadata columns: calls per timed round (each round's time is their mean).
TRAILING_COLUMNS = ("iterations",)
ROUND_COLUMNS = ("kernel", "n", "epochs", "round", "seconds")

#: Where reports go by default, relative to the project root.
RESULTS_DIR = "results"
SUFFIX = ".csv"
ROUNDS_SUFFIX = ".rounds.csv"


@dataclass(frozen=True)
class CellResult:
    """The timed rounds of one kernel in one (n, epochs) cell."""

    kernel: str
    n: int
    epochs: int
    #: Seconds per call of each timed round, in the order they ran.
    seconds: tuple[float, ...]
    #: Calls per round; each entry of ``seconds`` is the mean over them.
    iterations: int = 1


def ns_per_update(median_s: float, n: int, epochs: int) -> float:
    """Nanoseconds per sample-epoch: one gradient term of one sample in one epoch."""
    return median_s / (n * epochs) * 1e9


def cells_frame(
    results: Iterable[CellResult],
    compile_s: Mapping[str, float | None],
    metadata: Mapping[str, object],
) -> pd.DataFrame:
    """One row per result: statistics, compile time, then ``metadata`` (same on every row)."""
    # pytest-benchmark is a dev dependency: only writing a report (inside a benchmark run) needs it;
    # reading one (bench.compare, bench.plot) must work with the runtime dependencies alone.
    from pytest_benchmark.stats import Stats

    rows = []
    for result in results:
        stats = Stats()
        for seconds in result.seconds:
            stats.update(seconds)
        compile_time = compile_s.get(result.kernel)
        rows.append(
            {
                "kernel": result.kernel,
                "n": result.n,
                "epochs": result.epochs,
                "rounds": stats.rounds,
                "min_s": stats.min,
                "max_s": stats.max,
                "median_s": stats.median,
                "mean_s": stats.mean,
                "stddev_s": stats.stddev,
                "iqr_s": stats.iqr,
                "ns_per_update": ns_per_update(stats.median, result.n, result.epochs),
                "compile_s": float("nan") if compile_time is None else compile_time,
                "x_stream": float("nan"),
                **metadata,
                "iterations": result.iterations,
            }
        )
    columns = [*CELL_COLUMNS, *metadata, *TRAILING_COLUMNS]
    frame = pd.DataFrame(rows, columns=columns)
    frame["x_stream"] = times_stream(frame)
    integers = ["n", "epochs", "rounds", "iterations"]
    floats = list(CELL_COLUMNS[4:])
    return frame.astype({**dict.fromkeys(integers, "int64"), **dict.fromkeys(floats, "float64")})


def times_stream(cells: pd.DataFrame) -> pd.Series:
    """Each row's median as a multiple of the stream probe's median in the same (n, epochs) cell.

    NaN where the cell has no stream row (the probe was not timed, or was skipped there).
    """
    stream = cells.loc[cells["kernel"] == STREAM_PROBE, ["n", "epochs", "median_s"]]
    stream = stream.rename(columns={"median_s": "stream_s"})
    merged = cells[["n", "epochs", "median_s"]].merge(stream, on=["n", "epochs"], how="left")
    return pd.Series(merged["median_s"].to_numpy() / merged["stream_s"].to_numpy(), index=cells.index)


def rounds_frame(results: Iterable[CellResult]) -> pd.DataFrame:
    """Every timed round, one row each: kernel, n, epochs, round (0-based), seconds (per call)."""
    rows = [
        (result.kernel, result.n, result.epochs, index, seconds)
        for result in results
        for index, seconds in enumerate(result.seconds)
    ]
    frame = pd.DataFrame(rows, columns=list(ROUND_COLUMNS))
    return frame.astype({"n": "int64", "epochs": "int64", "round": "int64", "seconds": "float64"})


def rounds_path(path: Path) -> Path:
    """``PATH.rounds.csv`` beside ``PATH.csv``."""
    path = Path(path)
    if path.suffix != SUFFIX:
        raise ValueError(f"a report path must end in {SUFFIX}, got {str(path)!r}")
    return path.with_name(path.name[: -len(SUFFIX)] + ROUNDS_SUFFIX)


def existing_files(path: Path) -> list[Path]:
    """Those of ``path`` and its rounds file that exist already."""
    return [candidate for candidate in (Path(path), rounds_path(path)) if candidate.exists()]


def default_path(results_dir: Path, run_id: str) -> Path:
    """Where a run's report goes unless ``--csv`` says otherwise."""
    return Path(results_dir) / f"{run_id}{SUFFIX}"


def write(path: Path, cells: pd.DataFrame, rounds: pd.DataFrame) -> Path:
    """Write ``cells`` to ``path`` and ``rounds`` beside it; returns where ``cells`` went.

    Neither file replaces an existing one: when ``path`` or its rounds file is taken, the pair goes to
    the first free ``NAME-1.csv``, ``NAME-2.csv``, … instead. The rounds file is written first, so a
    report whose ``.csv`` exists always has its rounds beside it. Missing folders are created.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    for candidate in _candidates(path):
        if existing_files(candidate):
            continue
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
    """Create ``path`` holding ``text``, all at once; FileExistsError if it exists, never replaced.

    Every file the tools write that must not clobber an earlier one (reports, comparisons, A/A and
    beyond-memory records) goes through here.
    """
    # The temporary file sits in the same folder, so the final link is a rename within one file
    # system; a reader sees either no file or the whole file, never a half-written one.
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        # mkstemp makes the file private (0600); a report gets the permissions of any new file.
        os.chmod(temporary, _new_file_mode())
        with os.fdopen(handle, "w", newline="", encoding="utf-8") as stream:
            stream.write(text)
            stream.flush()
            os.fsync(stream.fileno())
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


class ReportError(ValueError):
    """A file that cannot be read as a benchmark report; the message is one line."""


def read_table(path: Path) -> pd.DataFrame:
    """A report (or rounds) CSV as a DataFrame; ReportError says in one line why it cannot be read."""
    if not path.exists():
        raise ReportError(f"{path}: no such file")
    if path.is_dir():
        raise ReportError(f"{path} is a directory, not a report")
    try:
        # Kernel names are text whatever they look like (a kernel named "1" stays "1").
        frame = pd.read_csv(path, dtype={"kernel": str})
    except pd.errors.EmptyDataError:
        raise ReportError(f"{path} is empty, not a benchmark report") from None
    except (OSError, UnicodeDecodeError, pd.errors.ParserError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ReportError(f"{path} cannot be read as a CSV report ({first})") from None
    if frame.empty:
        raise ReportError(f"{path} has no rows")
    return frame
