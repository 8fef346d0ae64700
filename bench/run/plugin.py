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

import contextlib
import functools
import importlib.util
import math
import random
import signal
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from bench.present import plotting
from bench.reports import files
from bench.reports.frames import CellResult
from bench.reports.schema import CELL, RESULTS_DIR, ReportError, ns_per_update
from bench.run import disturbance, jit, metadata, options, placement, replicate, sweep, terminal, timing
from bench.run.load import BusyNeighbours, check_load
from bench.run.probes import PROBES
from bench.run.session import SweepRun
from impls.problem import Problem, make_problem
from impls.registry import KERNELS, Descend, get_kernel, hooks

_GRID_ARGS = CELL
_RUN = pytest.StashKey[SweepRun]()
_PREVIOUS_SIGTERM = pytest.StashKey[object]()
_PROGRESS = pytest.StashKey[terminal.Progress]()
_NEIGHBOURS = pytest.StashKey[BusyNeighbours]()


def pytest_addoption(parser: pytest.Parser) -> None:
    options.add_options(parser)


def pytest_configure(config: pytest.Config) -> None:
    """Validate the options (a bad value stops the run at once) and prepare the run's state."""
    if not hasattr(config.option, "gd_sweep"):  # options not registered: bench/ is not being run
        return
    try:
        plan = options.resolve_plan(
            sweep_name=config.option.gd_sweep,
            n=config.option.gd_n,
            epochs=config.option.gd_epochs,
            kernels=config.option.gd_kernels,
            python_budget=config.option.gd_python_budget,
            bench_time=config.option.gd_bench_time,
            batches=config.option.gd_batches,
        )
        batch_index = (
            None
            if config.option.gd_batch_index is None
            else sweep.parse_count("--batch-index", config.option.gd_batch_index, 0)
        )
    except ValueError as exc:
        raise pytest.UsageError(str(exc)) from None
    if config.option.gd_dask_scheduler is not None and not set(plan.kernels) & set(options.by_name_only()):
        raise pytest.UsageError(
            "--dask-scheduler: no Dask kernel is timed; name them, e.g. --kernels numpy,dask,dask_stats"
        )
    csv, no_csv = config.option.gd_csv, config.option.gd_no_csv
    if csv is not None and no_csv:
        raise pytest.UsageError("--csv and --no-csv exclude each other; give one of them")
    if no_csv and config.option.gd_plot:
        raise pytest.UsageError("--plot draws the run's report, so it needs one: drop --no-csv")

    if getattr(config.option, "benchmark_histogram", None) and not all(
        importlib.util.find_spec(name) for name in ("pygal", "pygaljs")
    ):
        # pytest-benchmark would time every cell first and only then fail to draw.
        raise pytest.UsageError(
            "--benchmark-histogram needs pygal and pygaljs: pip install -e '.[histogram]'"
        )
    if config.option.gd_plot and not plotting.can_plot():
        raise pytest.UsageError(f"--plot: {plotting.PLOT_EXTRA_HINT}")

    run_metadata = metadata.collect(plan.sweep, config.rootpath, outputs=[RESULTS_DIR])
    if no_csv:
        path = None
    elif csv is None:
        path = files.default_path(config.rootpath / RESULTS_DIR, str(run_metadata["run_id"]))
    else:
        path = (config.invocation_params.dir / csv).absolute()
        try:
            taken = files.existing_files(path)
        except ValueError as exc:
            raise pytest.UsageError(f"--csv: {exc}") from None
        if taken:
            raise pytest.UsageError(
                f"--csv: {' and '.join(map(str, taken))} already "
                f"{'exists' if len(taken) == 1 else 'exist'}, and reports are never overwritten; "
                "choose another path or move the old report away"
            )
    args = [*config.invocation_params.args, *config.getini("addopts")]
    try:
        options.check_calibration(args)
        disturbance.disturbed_cores()  # a bad GDBENCH_DISTURBED_CORES stops the run before measuring
    except ValueError as exc:
        raise pytest.UsageError(str(exc)) from None
    try:
        load = 0 if config.option.gd_load is None else sweep.parse_count("--load", config.option.gd_load, 0)
        check_load(load)
    except ValueError as exc:
        raise pytest.UsageError(str(exc)) from None
    run_metadata["load"] = load
    run = SweepRun(plan=plan, metadata=run_metadata, report_path=path, batch_index=batch_index)
    if options.given(options.MIN_ROUNDS_OPTION, args):
        run.min_rounds = max(1, int(config.option.benchmark_min_rounds))
    try:
        run.open_journal()  # before anything is measured: a destination that cannot be written stops here
    except ReportError as exc:
        raise pytest.UsageError(f"--csv: {exc}" if csv is not None else str(exc)) from None
    config.stash[_RUN] = run
    neighbours = BusyNeighbours(load)
    config.stash[_NEIGHBOURS] = neighbours  # stopped in pytest_unconfigure, however the run ends
    # SIGTERM (what CI, timeout and systemd send) ends the run like Ctrl-C: pytest then finishes the
    # session, and the cells measured so far reach the report.
    config.stash[_PREVIOUS_SIGTERM] = signal.signal(signal.SIGTERM, _interrupt)
    neighbours.start()


def pytest_unconfigure(config: pytest.Config) -> None:
    run = config.stash.get(_RUN, None)
    if run is None:
        return
    _restore_sigterm(config)
    neighbours = config.stash.get(_NEIGHBOURS, None)
    if neighbours is not None:
        neighbours.stop()
    if run.journal is not None and run.written is None and not run.results:
        run.journal.close(remove=True)  # nothing was measured: no journal to keep


def _restore_sigterm(config: pytest.Config) -> None:
    previous = config.stash.get(_PREVIOUS_SIGTERM, None)
    if previous is not None:
        signal.signal(signal.SIGTERM, previous)


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def _say(config: pytest.Config, line: str) -> None:
    """Print a line on the terminal from inside a test, past pytest's output capture."""
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    capture = config.pluginmanager.get_plugin("capturemanager")
    if reporter is None:
        return
    with capture.global_and_fixture_disabled() if capture is not None else contextlib.nullcontext():
        # After pytest's progress dots the line is not yet ended; write_line does not see that.
        if getattr(getattr(reporter, "_tw", None), "width_of_current_line", 0):
            reporter.write("\n")
        reporter.write_line(line)


def _plain(value: object) -> object:
    """A metadata value as JSON holds it (NumPy scalars as Python ones)."""
    return value.item() if hasattr(value, "item") else value


def pytest_report_header(config: pytest.Config) -> list[str]:
    run = config.stash.get(_RUN, None)
    if run is None:
        return []
    return terminal.header_lines(run, functools.partial(_shown, config=config))


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if not set(_GRID_ARGS) <= set(metafunc.fixturenames):
        return
    run = metafunc.config.stash[_RUN]
    plan = run.plan
    params = []
    # Batch 0 runs N by N, both ascending; a worker's batch visits the Ns, the epochs within an N,
    # and the kernels within a cell in an order of its own (data is still made once per N).
    shuffle = random.Random(run.batch_index).shuffle if run.batch_index else (lambda items: None)
    ns, cells = list(plan.n), []
    shuffle(ns)
    for n in ns:
        epochs_here = list(plan.epochs)
        shuffle(epochs_here)
        cells += [(n, epochs) for epochs in epochs_here]
    for index, (n, epochs) in enumerate(cells):
        # Alternate the kernels' order from cell to cell, so a drift of the machine during a run
        # does not always favour the kernels timed first; probes stay last, after every kernel.
        kernels = [k for k in plan.kernels if k not in PROBES]
        shuffle(kernels)
        ordered = (kernels if index % 2 == 0 else kernels[::-1]) + [k for k in plan.kernels if k in PROBES]
        for kernel in ordered:
            reason = plan.skip_reason(kernel, n, epochs)
            marks = [pytest.mark.skip(reason=reason)] if reason else []
            params.append(pytest.param(kernel, n, epochs, id=f"{kernel}-n={n}-epochs={epochs}", marks=marks))
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
    prepare = hooks(kernel).prepare if kernel in KERNELS else None
    if prepare is not None:
        return _prepared(prepare, n)
    return _problem(n)


@functools.lru_cache(maxsize=1)
def _problem(n: int) -> Problem:
    x, y, w, b = make_problem(n, seed=0)
    return Problem(placement.aligned(x), placement.aligned(y), w, b)


# Keyed by the prepare function, not the kernel: dask and dask_stats share their data on the workers.
# Two entries, so JAX's and Dask's copies of the cell's data coexist instead of evicting each other.
@functools.lru_cache(maxsize=2)
def _prepared(prepare: Callable, n: int) -> Problem:
    x, y, w, b = _problem(n)
    return Problem(*prepare(x, y), w, b)


@pytest.fixture(scope="session")
def dask_client(pytestconfig: pytest.Config, sweep_run: SweepRun):
    """One Dask cluster for the whole run (every Dask kernel call uses it), closed at the end; its
    worker count and scheduler go into the report as ``dask_workers`` and ``dask_scheduler``."""
    from impls import dask_cluster  # only runs that time a Dask kernel need Dask

    with dask_cluster.using(pytestconfig.option.gd_dask_scheduler) as client:
        sweep_run.update_metadata(dask_cluster.describe(client))
        yield client
        _prepared.cache_clear()  # let go of the scattered data before the cluster closes


@pytest.fixture
def descend(kernel: str, sweep_run: SweepRun) -> Descend:
    """The kernel's descend function, compiled already; its fresh compile time is taken first."""
    if kernel in PROBES:
        return PROBES[kernel]
    function = get_kernel(kernel)
    if KERNELS[kernel].compiled and kernel not in sweep_run.compile_s:
        # A worker's batch compiles for itself but leaves the fresh-compile timing to batch 0.
        fresh = None if sweep_run.batch_index is not None else jit.compile_seconds(kernel)
        sweep_run.record_compile(kernel, fresh)
        jit.warm_up(function)
    describe_device = hooks(kernel).device_description
    if describe_device is not None and f"{kernel}_device" not in sweep_run.metadata:
        # e.g. which device JAX ran on, into every row of the report
        sweep_run.update_metadata({f"{kernel}_device": describe_device()})
    return function


@pytest.fixture
def time_call(benchmark, kernel: str, n: int, epochs: int, sweep_run: SweepRun, pytestconfig: pytest.Config):
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
        before = disturbance.sample()
        per_call = timing.seconds_per_call(
            lambda: function(*args),
            timing.target_round_seconds(seconds),
            # A compiled kernel or probe may compile again for a new N (JAX does), so its first call
            # in a cell is never taken as its cost.
            first_call_is_estimate=kernel in KERNELS and not KERNELS[kernel].compiled,
        )
        plan = timing.plan_rounds(
            per_call,
            seconds,
            min_rounds=sweep_run.min_rounds,
            max_rounds=max(timing.MAX_ROUNDS, sweep_run.min_rounds),
        )
        benchmark.pedantic(function, args, rounds=plan.rounds, iterations=plan.iterations)
        stats = benchmark.stats.stats
        benchmark.extra_info["ns_per_update"] = ns_per_update(stats.median, n, epochs)
        benchmark.extra_info["iterations"] = plan.iterations
        # Everything a report row holds besides the timings, so that pytest-benchmark's own JSON
        # (--benchmark-json, --benchmark-autosave) reads as a report (bench.reports.model.load).
        benchmark.extra_info["compile_s"] = sweep_run.compile_s.get(kernel)
        benchmark.extra_info["gdbench"] = {k: _plain(v) for k, v in sweep_run.metadata.items()}
        # Dask's workers are other processes: their CPU time is the kernel's, not a disturbance.
        seen = disturbance.between(before, disturbance.sample())
        if kernel in KERNELS and KERNELS[kernel].distributed:
            seen = disturbance.Disturbance(math.nan, math.nan)
        benchmark.extra_info.update(
            others_cores=seen.others, steal_cores=seen.steal, disturbed=seen.disturbed
        )
        sweep_run.record(
            CellResult(
                kernel, n, epochs, tuple(stats.data), plan.iterations, seen.others, seen.steal, seen.disturbed
            )
        )
        progress = pytestconfig.stash.get(_PROGRESS, None)
        line = progress.tick(time.monotonic()) if progress is not None else None
        if line:
            _say(pytestconfig, line)

    return run


def pytest_collection_finish(session: pytest.Session) -> None:
    """Count the benchmarks that will be timed, for the progress lines."""
    run = session.config.stash.get(_RUN, None)
    if run is None:
        return
    timed = [
        item
        for item in session.items
        if "time_call" in getattr(item, "fixturenames", ()) and not item.get_closest_marker("skip")
    ]
    session.config.stash[_PROGRESS] = terminal.Progress(len(timed), time.monotonic())


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
    if replicate.wanted(run) and not run.interrupted:
        replicate.replicate(
            run,
            replicate.worker_options(session.config),
            session.config.rootpath,
            functools.partial(_say, session.config),
        )
    else:
        run.write_report()
    # The cells are on disk: from here SIGTERM may end the process as it normally does, rather than
    # interrupt the summary with a traceback.
    _restore_sigterm(session.config)


@pytest.hookimpl(trylast=True)
def pytest_terminal_summary(terminalreporter, exitstatus: int, config: pytest.Config) -> None:
    """After pytest-benchmark's tables: compile times, speedups per cell, and where the report is."""
    run = config.stash.get(_RUN, None)
    if run is None or not (run.results or run.untimed or run.compile_s or run.interrupted):
        return  # no benchmark ran (collect-only, deselected, skipped): nothing to say
    terminalreporter.section("gdbench sweep summary")
    shown = functools.partial(_shown, config=config)
    terminal.summary(run, terminalreporter.write_line, shown)
    if run.written is not None and config.option.gd_plot:
        terminal.plot(run.written, terminalreporter.write_line, shown)


def _shown(path: Path, config: pytest.Config) -> str:
    """``path`` relative to where pytest was started, when it lies below it."""
    try:
        return str(path.relative_to(config.invocation_params.dir))
    except ValueError:
        return str(path)
