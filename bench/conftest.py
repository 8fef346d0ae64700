"""The sweep's pytest wiring: options, parametrization, fixtures, and the report at the end of a run.

``pytest bench --benchmark-only [--sweep quick|default|full] [--n 10,1000] [--epochs 50]
[--kernels numpy,numba] [--python-budget 1000000] [--bench-time SECONDS] [--csv PATH | --no-csv]
[--dask-scheduler tcp://HOST:PORT]``

Every benchmark of ``bench_*.py`` that asks for ``kernel``, ``n`` and ``epochs`` is parametrized over
the plan's kernels × cells; each (n, epochs) cell is one pytest-benchmark group. Finished cells are
recorded as they complete and written to the report in ``pytest_sessionfinish``, which pytest also
runs after Ctrl-C, so an interrupted run keeps what it measured.
"""

from __future__ import annotations

import functools
import importlib
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType

import pytest

from bench import jit, metadata, report, speedup, sweep, timing
from bench.probes import PROBES
from impls.problem import Problem, make_problem
from impls.registry import KERNELS, Descend, get_kernel, kernel_names

_GRID_ARGS = ("kernel", "n", "epochs")


@dataclass
class SweepRun:
    """State of one benchmark run: its plan and metadata, then what finished."""

    plan: sweep.Plan
    metadata: dict[str, object]
    #: Where the report goes; None with --no-csv.
    report_path: Path | None
    results: list[report.CellResult] = field(default_factory=list)
    compile_s: dict[str, float | None] = field(default_factory=dict)
    #: Benchmarks run once, untimed (--benchmark-disable).
    untimed: int = 0
    written: Path | None = None
    interrupted: bool = False


_RUN = pytest.StashKey[SweepRun]()


def pytest_addoption(parser: pytest.Parser) -> None:
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
            f"(default: {sweep.DEFAULT_PYTHON_BUDGET:,}; 0 skips it everywhere)"
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
        "--csv",
        dest="gd_csv",
        default=None,
        metavar="PATH",
        help="write the report to PATH (must end in .csv and not exist; rounds go to PATH.rounds.csv) "
        "instead of results/<UTC time>_<commit>_<host>.csv",
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


def pytest_configure(config: pytest.Config) -> None:
    """Validate the options (a bad value stops the run at once) and prepare the run's state."""
    if not hasattr(config.option, "gd_sweep"):  # options not registered: bench/ is not being run
        return
    available = [*kernel_names(), *PROBES]
    unavailable = {
        name: f"it needs {', '.join(spec.requires)}; install with: pip install -e '.[{spec.extra}]'"
        for name, spec in KERNELS.items()
        if name not in available
    }
    try:
        plan = sweep.resolve(
            sweep=config.option.gd_sweep,
            n=config.option.gd_n,
            epochs=config.option.gd_epochs,
            kernels=config.option.gd_kernels,
            python_budget=config.option.gd_python_budget,
            seconds_per_benchmark=config.option.gd_bench_time,
            available=available,
            unavailable=unavailable,
            by_name_only=_by_name_only(),
        )
    except ValueError as exc:
        raise pytest.UsageError(str(exc)) from None
    if config.option.gd_dask_scheduler is not None and not set(plan.kernels) & set(_by_name_only()):
        raise pytest.UsageError(
            "--dask-scheduler: no Dask kernel is timed; name them, e.g. --kernels numpy,dask,dask_stats"
        )
    csv, no_csv = config.option.gd_csv, config.option.gd_no_csv
    if csv is not None and no_csv:
        raise pytest.UsageError("--csv and --no-csv exclude each other; give one of them")
    if no_csv and config.option.gd_plot:
        raise pytest.UsageError("--plot draws the run's report, so it needs one: drop --no-csv")

    run_metadata = metadata.collect(plan.sweep, config.rootpath, outputs=[report.RESULTS_DIR])
    if no_csv:
        path = None
    elif csv is None:
        path = report.default_path(config.rootpath / report.RESULTS_DIR, str(run_metadata["run_id"]))
    else:
        path = (config.invocation_params.dir / csv).absolute()
        try:
            taken = report.existing_files(path)
        except ValueError as exc:
            raise pytest.UsageError(f"--csv: {exc}") from None
        if taken:
            raise pytest.UsageError(
                f"--csv: {' and '.join(map(str, taken))} already "
                f"{'exists' if len(taken) == 1 else 'exist'}, and reports are never overwritten; "
                "choose another path or move the old report away"
            )
    config.stash[_RUN] = SweepRun(plan=plan, metadata=run_metadata, report_path=path)


def _by_name_only() -> list[str]:
    """Kernels left out unless named: those that run on a cluster (registry flag ``distributed``)."""
    return [name for name in kernel_names() if KERNELS[name].distributed]


def pytest_report_header(config: pytest.Config) -> list[str]:
    run = config.stash.get(_RUN, None)
    if run is None:
        return []
    plan = run.plan
    lines = [
        f"gdbench sweep {plan.sweep}: n {', '.join(f'{n:,}' for n in plan.n)} × epochs "
        f"{', '.join(f'{e:,}' for e in plan.epochs)}; kernels {', '.join(plan.kernels)}",
        f"gdbench {sweep.BUDGETED_KERNEL} budget {plan.python_budget:,} sample-epochs per cell; "
        f"~{plan.seconds_per_benchmark:g} s of rounds per benchmark; "
        f"report: {_shown(run.report_path, config) if run.report_path else 'none (--no-csv)'}",
    ]
    by_name = [name for name in _by_name_only() if name not in plan.kernels]
    if by_name:
        lines.append(
            "gdbench distributed kernels, timed only when named with --kernels (each call pays "
            f"cluster round trips): {', '.join(by_name)}"
        )
    missing = [name for name in KERNELS if name not in kernel_names()]
    if missing:
        lines.append(
            "gdbench kernels not installed here, so not timed: "
            + "; ".join(f"{name} (pip install -e '.[{KERNELS[name].extra}]')" for name in missing)
        )
    return lines


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if not set(_GRID_ARGS) <= set(metafunc.fixturenames):
        return
    plan = metafunc.config.stash[_RUN].plan
    params = []
    for index, (n, epochs) in enumerate(plan.cells()):
        # Alternate the kernels' order from cell to cell, so a drift of the machine during a run
        # does not always favour the kernels timed first; probes stay last, after every kernel.
        kernels = [k for k in plan.kernels if k not in PROBES]
        ordered = (kernels if index % 2 == 0 else kernels[::-1]) + [k for k in plan.kernels if k in PROBES]
        for kernel in ordered:
            reason = plan.skip_reason(kernel, n, epochs)
            marks = [pytest.mark.skip(reason=reason)] if reason else []
            params.append(
                pytest.param(kernel, n, epochs, id=f"{kernel}-n={n}-epochs={epochs}", marks=marks)
            )
    metafunc.parametrize(_GRID_ARGS, params)


@pytest.fixture(scope="session")
def sweep_run(pytestconfig: pytest.Config) -> SweepRun:
    """The run's plan, metadata and results so far."""
    return pytestconfig.stash[_RUN]


@pytest.fixture
def problem(request: pytest.FixtureRequest, kernel: str, n: int) -> Problem:
    """The cell's N samples (made once per N; cells run N by N).

    A kernel whose module has ``prepare(x, y)`` gets the data in the form it computes on — on JAX's
    device, on a Dask cluster's workers — because moving data there is preparation, not the descent,
    and must stay outside the timed calls.
    """
    if kernel in KERNELS and KERNELS[kernel].distributed:
        request.getfixturevalue("dask_client")  # the cluster the prepared data will live on
    prepare = getattr(_module(kernel), "prepare", None) if kernel in KERNELS else None
    if prepare is not None:
        return _prepared(prepare, n)
    return _problem(n)


@functools.lru_cache(maxsize=1)
def _problem(n: int) -> Problem:
    return make_problem(n, seed=0)


# Keyed by the prepare function, not the kernel: dask and dask_stats share their data on the workers.
# Two entries, so JAX's and Dask's copies of the cell's data coexist instead of evicting each other.
@functools.lru_cache(maxsize=2)
def _prepared(prepare: Callable, n: int) -> Problem:
    x, y, w, b = _problem(n)
    return Problem(*prepare(x, y), w, b)


def _module(kernel: str) -> ModuleType:
    return importlib.import_module(KERNELS[kernel].module)


@pytest.fixture(scope="session")
def dask_client(pytestconfig: pytest.Config, sweep_run: SweepRun):
    """One Dask cluster for the whole run (every Dask kernel call uses it), closed at the end; its
    worker count and scheduler go into the report as ``dask_workers`` and ``dask_scheduler``."""
    from impls import dask_cluster  # only runs that time a Dask kernel need Dask

    with dask_cluster.using(pytestconfig.option.gd_dask_scheduler) as client:
        sweep_run.metadata.update(dask_cluster.describe(client))
        yield client
        _prepared.cache_clear()  # let go of the scattered data before the cluster closes


@pytest.fixture
def descend(kernel: str, sweep_run: SweepRun) -> Descend:
    """The kernel's descend function, compiled already; its fresh compile time is taken first."""
    if kernel in PROBES:
        return PROBES[kernel]
    function = get_kernel(kernel)
    if KERNELS[kernel].compiled and kernel not in sweep_run.compile_s:
        sweep_run.compile_s[kernel] = jit.compile_seconds(kernel)
        jit.warm_up(function)
    describe_device = getattr(_module(kernel), "device_description", None)
    if describe_device is not None:  # e.g. which device JAX ran on, into every row of the report
        sweep_run.metadata.setdefault(f"{kernel}_device", describe_device())
    return function


@pytest.fixture
def time_call(benchmark, kernel: str, n: int, epochs: int, sweep_run: SweepRun):
    """``time_call(function, *args)``: warm up, plan the rounds, time them, record the cell.

    Each round times ``iterations`` back-to-back calls on the same data (made outside the timed
    region); pytest-benchmark stores a round's time per call.
    """

    def run(function, *args) -> None:
        benchmark.group = f"n={n} epochs={epochs}"
        benchmark.extra_info.update(kernel=kernel, n=n, epochs=epochs)
        if not benchmark.enabled:  # --benchmark-disable: one plain call, nothing to record
            benchmark.pedantic(function, args)
            sweep_run.untimed += 1
            return
        seconds = sweep_run.plan.seconds_per_benchmark
        per_call = timing.seconds_per_call(
            lambda: function(*args),
            timing.target_round_seconds(seconds),
            # A compiled kernel or probe may compile again for a new N (JAX does), so its first call
            # in a cell is never taken as its cost.
            first_call_is_estimate=kernel in KERNELS and not KERNELS[kernel].compiled,
        )
        plan = timing.plan_rounds(per_call, seconds)
        benchmark.pedantic(function, args, rounds=plan.rounds, iterations=plan.iterations)
        stats = benchmark.stats.stats
        benchmark.extra_info["ns_per_update"] = report.ns_per_update(stats.median, n, epochs)
        benchmark.extra_info["iterations"] = plan.iterations
        sweep_run.results.append(
            report.CellResult(kernel, n, epochs, tuple(stats.data), plan.iterations)
        )

    return run


@pytest.hookimpl(wrapper=True)
def pytest_benchmark_group_stats(config, benchmarks, group_by):
    """Order the cells' tables by (n, epochs) numerically rather than by their names as text."""
    groups = yield
    if group_by != "group":
        return groups

    def cell(group):
        params = group[1][0]["params"] or {}
        return (params.get("n", math.inf), params.get("epochs", math.inf))

    return sorted(groups, key=cell)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Write the report of every cell that finished, also after Ctrl-C."""
    run = session.config.stash.get(_RUN, None)
    if run is None:
        return
    run.interrupted = exitstatus == pytest.ExitCode.INTERRUPTED
    if run.report_path is None or not run.results:
        return
    cells = report.cells_frame(run.results, run.compile_s, run.metadata)
    run.written = report.write(run.report_path, cells, report.rounds_frame(run.results))


@pytest.hookimpl(trylast=True)
def pytest_terminal_summary(terminalreporter, exitstatus: int, config: pytest.Config) -> None:
    """After pytest-benchmark's tables: compile times, speedups per cell, and where the report is."""
    run = config.stash.get(_RUN, None)
    if run is None or not (run.results or run.untimed or run.compile_s or run.interrupted):
        return  # no benchmark ran (collect-only, deselected, skipped): nothing to say
    write = terminalreporter.write_line
    terminalreporter.section("gdbench sweep summary")
    if run.compile_s:
        write(
            "fresh JIT compile: "
            + ", ".join(f"{kernel} {seconds:.3g} s" for kernel, seconds in run.compile_s.items())
        )
    if run.results:
        cells = report.cells_frame(run.results, run.compile_s, run.metadata)
        write(
            f"speedup = median time of the baseline / median time of the kernel, per cell "
            f"(baseline {' or '.join(speedup.BASELINES)}, the first that ran)"
        )
        summary = speedup.summarize(cells, exclude=PROBES)
        for line in speedup.render(summary).splitlines():
            write(line)
        if summary["x_stream"].notna().any():
            write(
                f"time as a multiple of the {report.STREAM_PROBE} probe's in the same cell "
                "(one read of x and y per epoch: the floor for kernels that read all data every epoch)"
            )
            for line in speedup.render(summary, value="x_stream").splitlines():
                write(line)
    elif run.untimed:
        write(f"{run.untimed} benchmarks ran once, untimed (--benchmark-disable)")
    cell_count = f"{len(run.results)} kernel × cell results"
    if run.interrupted:
        cell_count += " (run interrupted: only the cells that finished)"
    if run.written is not None:
        rounds = report.rounds_path(run.written)
        write(f"report: {_shown(run.written, config)} and {_shown(rounds, config)}, {cell_count}")
        if run.written != run.report_path:
            write(f"(not {_shown(run.report_path, config)}, which appeared during the run)")
        if config.option.gd_plot:
            _plot(run.written, config, write)
    elif run.report_path is None:
        write("report: none (--no-csv)")
    else:
        write("report: none written, as no benchmark was timed")


def _plot(report_path: Path, config: pytest.Config, write) -> None:
    """Draw the report just written (``--plot``); a report that cannot be drawn is said, not raised."""
    from bench import plot  # matplotlib only for runs that ask for figures

    out_dir = plot.default_out_dir(report_path)
    try:
        written, notes = plot.plot_report(report_path, out_dir)
    except plot.ReportError as exc:
        write(f"figures: none ({exc})")
        return
    write(f"figures and summary: {_shown(out_dir, config)}/ ({', '.join(p.name for p in written)})")
    for note in notes:
        write(f"note: {note}")


def _shown(path: Path, config: pytest.Config) -> str:
    """``path`` relative to where pytest was started, when it lies below it."""
    try:
        return str(path.relative_to(config.invocation_params.dir))
    except ValueError:
        return str(path)
