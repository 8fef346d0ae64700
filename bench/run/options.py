"""The sweep's command-line options: registered with pytest, and validated by one function that the
plugin and the gate both call (``resolve_plan``), so every tool refuses a bad value the same way.
"""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from bench.run import sweep
from bench.run.probes import PROBES
from impls.registry import KERNELS, kernel_names


def add_options(parser: pytest.Parser) -> None:
    """Register the sweep's options with pytest."""
    group = parser.getgroup("gdbench sweep", "the gradient-descent benchmark sweep")
    group.addoption(
        "--sweep",
        dest="gd_sweep",
        default=None,
        metavar="NAME",
        help=f"preset grid: {', '.join(sweep.SWEEPS)} (default: {sweep.DEFAULT_SWEEP})",
    )
    group.addoption(
        "--n",
        dest="gd_n",
        default=None,
        metavar="N,…",
        help="sample counts, e.g. 10,1000 (overrides the preset's)",
    )
    group.addoption(
        "--epochs",
        dest="gd_epochs",
        default=None,
        metavar="E,…",
        help="epoch counts, e.g. 50 (overrides the preset's)",
    )
    group.addoption(
        "--kernels",
        dest="gd_kernels",
        default=None,
        metavar="NAME,…",
        help="time only these kernels, e.g. numpy,numba (default: every kernel available here)",
    )
    group.addoption(
        "--python-budget",
        dest="gd_python_budget",
        default=None,
        metavar="UPDATES",
        help=(
            f"skip {sweep.BUDGETED_KERNEL} in cells with n·epochs above this "
            f"(default: the sweep's, {sweep.SWEEPS['quick'].python_budget:,} for quick and "
            f"{sweep.SWEEPS['default'].python_budget:,} otherwise; 0 skips it everywhere)"
        ),
    )
    group.addoption(
        "--bench-time",
        dest="gd_bench_time",
        default=None,
        metavar="SECONDS",
        help="seconds of timed rounds per benchmark (default per sweep: "
        + ", ".join(f"{name} {preset.seconds_per_benchmark:g}" for name, preset in sweep.SWEEPS.items())
        + ")",
    )
    group.addoption(
        "--batches",
        dest="gd_batches",
        default=None,
        metavar="B",
        help="passes over every cell, each in a fresh process, pooled into one report whose spread "
        "between batches bench.compare uses (default per sweep: "
        + ", ".join(f"{name} {preset.batches}" for name, preset in sweep.SWEEPS.items())
        + ")",
    )
    group.addoption(
        "--batch-index",
        dest="gd_batch_index",
        default=None,
        metavar="K",
        help="internal: run as batch K of a batched run (set by the sweep for its worker processes: "
        "cells in another order, no fresh-compile timing, no further batches)",
    )
    group.addoption(
        "--csv",
        dest="gd_csv",
        default=None,
        metavar="PATH",
        help="write the report to PATH (must end in .csv and not exist; rounds go to PATH.rounds.csv) "
        "instead of results/<UTC time>_<commit>_<host>.csv",
    )
    group.addoption(
        "--load",
        dest="gd_load",
        default=None,
        metavar="K",
        help="run K CPU-bound processes beside the sweep for its whole duration, to measure how the "
        "kernels hold up under contention (recorded in the report's load column; default 0)",
    )
    group.addoption("--no-csv", dest="gd_no_csv", action="store_true", help="write no report")
    group.addoption(
        "--plot",
        dest="gd_plot",
        action="store_true",
        help="after writing the report, draw its figures and summary.md (python -m bench.plot) "
        "into the folder named after it",
    )
    group.addoption(
        "--dask-scheduler",
        dest="gd_dask_scheduler",
        default=None,
        metavar="tcp://HOST:PORT",
        help="time the Dask kernels on this running scheduler (default: $GDBENCH_DASK_SCHEDULER if set, "
        "else a LocalCluster of one worker per core, started for the run and closed after it)",
    )


def by_name_only() -> list[str]:
    """Kernels left out unless named: those that run on a cluster (registry flag ``distributed``)."""
    return [name for name in kernel_names() if KERNELS[name].distributed]


def resolve_plan(
    *,
    sweep_name: str | None = None,
    n: str | None = None,
    epochs: str | None = None,
    kernels: str | None = None,
    python_budget: str | None = None,
    bench_time: str | None = None,
    batches: str | None = None,
) -> sweep.Plan:
    """The run's plan from the options' raw strings (None: not given); ValueError naming the option."""
    available = [*kernel_names(), *PROBES]
    unavailable = {
        name: f"it needs {', '.join(spec.requires)}; install with: pip install -e '.[{spec.extra}]'"
        for name, spec in KERNELS.items()
        if name not in available
    }
    return sweep.resolve(
        sweep=sweep_name,
        n=n,
        epochs=epochs,
        kernels=kernels,
        python_budget=python_budget,
        seconds_per_benchmark=bench_time,
        batches=batches,
        available=available,
        unavailable=unavailable,
        by_name_only=by_name_only(),
    )


#: pytest-benchmark's calibration options that the sweep's own round plan replaces: refused when
#: given, never silently ignored.
REPLACED_CALIBRATION = (
    "--benchmark-min-time",
    "--benchmark-max-time",
    "--benchmark-confidence",
    "--benchmark-calibration-precision",
    "--benchmark-warmup",
    "--benchmark-warmup-iterations",
)
MIN_ROUNDS_OPTION = "--benchmark-min-rounds"


def given(flag: str, args: Sequence[str]) -> bool:
    """Whether ``flag`` appears in the command line ``args`` (alone or as ``flag=value``)."""
    return any(arg == flag or arg.startswith(flag + "=") for arg in args)


def check_calibration(args: Sequence[str]) -> None:
    """ValueError naming the first of pytest-benchmark's calibration options in ``args`` that the
    sweep does not honour. ``--benchmark-min-rounds`` is honoured (the fewest rounds per benchmark),
    and so are ``--benchmark-timer`` and ``--benchmark-disable-gc`` (pytest-benchmark applies them)."""
    for flag in REPLACED_CALIBRATION:
        if given(flag, args):
            raise ValueError(
                f"{flag}: the sweep plans its own rounds (a warm-up call, a checked cost estimate, then "
                "about --bench-time seconds of rounds per benchmark); drop it, or set --bench-time"
            )
