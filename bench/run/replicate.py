"""A batched run: more passes over every cell in fresh processes, disturbed cells measured again,
all pooled into one report.

The pytest process the user started measures batch 0 itself (pytest-benchmark's tables show it).
When it is done, batches 1 … B-1 each run the same plan in a fresh process (``bench.run.workers``),
visiting the cells in another order; a process differs from the next in what also differs between
two runs (where the arrays land, the compiled code, the CPU's state), so the spread between batches
stands for the spread between runs. Then every cell with a batch measured while other processes took
the CPU is measured again, in up to ``MAX_RETRY_PASSES`` more processes. The batch reports wait in a
folder beside the report and are pooled into it (``bench.reports.pooling.pool``: rounds keep their
batch and its disturbance flag); the folder goes once the pooled report is written, and stays, with
every batch measured so far, when it cannot be.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import pandas as pd
import pytest

from bench.reports import files, frames, model, pooling
from bench.reports.schema import CELL, DISTURBED, ReportError
from bench.run import options, workers
from bench.run.session import SweepRun
from bench.run.terminal import clock

#: Most extra processes that measure disturbed cells again: on a machine that stays busy, more would
#: only lengthen the run (its cells are then reported as disturbed).
MAX_RETRY_PASSES = 2


def wanted(run: SweepRun) -> bool:
    """Whether this run pools batches: it writes a report, is not itself a worker, measured
    something, and plans several batches or has a disturbed cell to measure again."""
    return (
        run.report_path is not None
        and run.batch_index is None
        and bool(run.results)
        and (run.plan.batches > 1 or any(result.disturbed for result in run.results))
    )


def replicate(run: SweepRun, options: Sequence[str], root: Path, say: Callable[[str], None]) -> None:
    """Measure the run's other batches and re-measure disturbed cells, then write the pooled report.

    ``options`` select the same plan in a worker (``pytest bench`` options); ``root`` is the project
    the workers run in. Ctrl-C or a failing worker stops the batching, and what was measured so far
    is pooled and written.
    """
    assert run.report_path is not None
    began = time.monotonic()
    run.note_threading_layer()
    folder = None
    try:
        folder = Path(tempfile.mkdtemp(prefix=f"{run.report_path.stem}.batches-", dir=run.report_path.parent))
        paths = [
            files.write(
                folder / "batch-0.csv",
                frames.cells_frame(run.results, run.compile_s, run.metadata),
                frames.rounds_frame(run.results),
            )
        ]
    except OSError as exc:  # no room beside the report (a full disk): keep the batch measured
        if folder is not None:
            shutil.rmtree(folder, ignore_errors=True)
        run.write_report()
        run.batch_line = (
            f"batches: 1, as no batch file could be written beside the report ({exc.strerror or exc})"
        )
        return
    problem = None
    passes = run.plan.batches
    retried = 0
    try:
        for index in range(1, passes):
            start = time.monotonic()
            paths.append(_worker(root, options, folder, index))
            say(
                f"gdbench batch {index + 1}/{passes}: {time.monotonic() - start:.0f} s "
                f"({clock(time.monotonic() - began)} since batch 1 ended)"
            )
        for _ in range(MAX_RETRY_PASSES):
            needy = cells_to_measure_again(paths, passes)
            if not needy:
                break
            start = time.monotonic()
            paths.append(_worker(root, options, folder, len(paths), needy))
            retried += len(needy)
            say(f"gdbench {len(needy)} disturbed cell(s) measured again: {time.monotonic() - start:.0f} s")
    except KeyboardInterrupt:
        run.interrupted = True
        problem = "interrupted: the batches measured so far are pooled"
    except (workers.BatchError, ReportError, OSError) as exc:
        problem = f"a batch failed, the batches measured so far are pooled: {exc}"
    cells, rounds = pooling.pool(paths)
    run.pooled = cells
    run.write_tables(cells, rounds)
    still = int(cells[DISTURBED].sum())
    full = min(len(paths), passes)
    again = (
        f", then {len(paths) - full} process(es) measuring {retried} disturbed cell(s) again"
        if len(paths) > full
        else ""
    )
    run.batch_line = (
        f"batches: {full} of {passes} per cell ({full - 1} in worker processes){again} "
        f"({clock(time.monotonic() - began)} after batch 1); {still} cell(s) still disturbed"
    )
    if problem:
        run.batch_line += f"; {problem}"
    if run.written is not None:
        shutil.rmtree(folder, ignore_errors=True)
    else:
        run.batch_line += f"; the batch reports are kept in {folder}"


def worker_options(config: pytest.Config) -> list[str]:
    """The options that give a worker process this run's plan (``bench.run.replicate``)."""
    given = {
        "--sweep": config.option.gd_sweep,
        "--n": config.option.gd_n,
        "--epochs": config.option.gd_epochs,
        "--kernels": config.option.gd_kernels,
        "--python-budget": config.option.gd_python_budget,
        "--bench-time": config.option.gd_bench_time,
        "--dask-scheduler": config.option.gd_dask_scheduler,
    }
    args = [*config.invocation_params.args, *config.getini("addopts")]
    if options.given(options.MIN_ROUNDS_OPTION, args):
        given[options.MIN_ROUNDS_OPTION] = str(config.option.benchmark_min_rounds)
    return [item for flag, value in given.items() if value is not None for item in (flag, str(value))]


def cells_to_measure_again(paths: Sequence[Path], passes: int) -> list[tuple[str, int, int]]:
    """The cells with fewer undisturbed batches than ``passes`` that had a disturbed one, in order."""
    parts = [model.load(path).batches[[*CELL, DISTURBED]] for path in paths]
    flags = pd.concat(parts, ignore_index=True)
    per_cell = flags.groupby(list(CELL), sort=False)[DISTURBED].agg(disturbed="sum", total="size")
    clean = per_cell["total"] - per_cell["disturbed"]
    needy = per_cell[(per_cell["disturbed"] > 0) & (clean < passes)]
    return [(str(k), int(n), int(e)) for k, n, e in needy.index]


def _worker(
    root: Path, options: Sequence[str], folder: Path, index: int, cells: Sequence | None = None
) -> Path:
    selection = workers.node_ids(cells) if cells is not None else ["bench"]
    return workers.run_batch(
        root,
        [*options, "--batches", "1", "--batch-index", str(index)],
        folder / f"batch-{index}.csv",
        folder / "logs" / f"batch-{index}.log",
        selection,
        jit_cache=folder / workers.JIT_CACHE_FOLDER,
    )
