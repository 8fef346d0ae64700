"""What a report is: its file names, its cell key, its columns, and the kernels with special roles.

A report is two CSV files: ``NAME.csv``, one row per cell (kernel, n, epochs) with its statistics and
the run's metadata, and ``NAME.rounds.csv`` beside it, every timed round in long form (see
docs/reports.md). Every module of ``bench`` that needs one of these names takes it from here.
"""

from __future__ import annotations

#: The key of a cell: one kernel at one (n, epochs).
CELL: tuple[str, ...] = ("kernel", "n", "epochs")

#: Per-cell columns of a summary report, in order; the run's metadata follow them.
CELL_COLUMNS: tuple[str, ...] = (
    *CELL,
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
#: Appended after the metadata columns: calls per timed round (each round's time is their mean), and
#: what else the machine did while the cell was measured: CPU taken by other processes and by the
#: hypervisor, in cores, and whether that made the cell ``disturbed`` (bench/run/disturbance.py).
TRAILING_COLUMNS: tuple[str, ...] = ("iterations", "others_cores", "steal_cores", "disturbed")
#: The column that marks a cell measured while the machine was disturbed.
DISTURBED = "disturbed"
#: Columns every summary report must have; the rest is optional to a reader.
REQUIRED_COLUMNS: tuple[str, ...] = (*CELL, "median_s")
#: Timing columns that must be positive finite seconds where present.
TIME_COLUMNS: tuple[str, ...] = ("min_s", "median_s", "max_s")

#: Columns of a rounds file; ``batch`` (which process timed the round) is optional, 0 when absent.
ROUNDS_COLUMNS: tuple[str, ...] = (*CELL, "round", "seconds")
BATCH = "batch"

#: Run metadata in the order summaries show it, when the report has it.
METADATA_COLUMNS: tuple[str, ...] = (
    "run_id",
    "utc_time",
    "git_commit",
    "git_dirty",
    "host",
    "cpu_model",
    "cpu_count",
    "python_version",
    "numpy_version",
    "numba_version",
    "blas",
    "blas_threads",
    "numba_threads",
    "numba_threading_layer",
    "sweep",
    "load",
)
#: Columns that hold text whatever they look like: a commit "852e450" is not 852·10⁴⁵⁰, a kernel or a
#: host named "1" is not a number, and a version "2.10" is not 2.1.
TEXT_COLUMNS: tuple[str, ...] = (
    "kernel",
    "run_id",
    "utc_time",
    "git_commit",
    "host",
    "cpu_model",
    "python_version",
    "numpy_version",
    "numba_version",
    "blas",
    "numba_threading_layer",
    "sweep",
    "env",
)
#: Run metadata whose difference between two reports makes their ratios mix code and machine.
MATCHED_METADATA: tuple[str, ...] = (
    "host",
    "cpu_model",
    "python_version",
    "numpy_version",
    "numba_version",
)

#: Speedups are reported over these kernels, when the report holds them (in this order of preference).
REFERENCE_KERNELS: tuple[str, ...] = ("python_loop", "numpy")
#: Benchmark-only rows that compute no descent (a memory-bandwidth probe): a yardstick, never a
#: competitor, never judged by a comparison.
PROBE_KERNELS: tuple[str, ...] = ("stream",)
#: The probe every kernel's time is given as a multiple of (``x_stream``).
STREAM_PROBE = PROBE_KERNELS[0]

#: Where reports go by default, relative to the project root.
RESULTS_DIR = "results"
SUFFIX = ".csv"
ROUNDS_SUFFIX = ".rounds.csv"

#: Largest n or epochs a report may hold: what an int64 holds.
MAX_COUNT = 2**63 - 1


class ReportError(ValueError):
    """A file that cannot be read as a benchmark report; the message is one line."""


def ns_per_update(median_s: float, n: int, epochs: int) -> float:
    """Nanoseconds per sample-epoch: one gradient term of one sample in one epoch."""
    return median_s / (n * epochs) * 1e9


def cell_name(row) -> str:
    """``kernel n=N epochs=E`` for a row with those attributes."""
    return f"{row.kernel} n={row.n} epochs={row.epochs}"
