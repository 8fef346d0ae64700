"""What the sweep prints: its header lines before the run, and its summary after pytest-benchmark's."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from bench.analysis import speedup
from bench.present import plotting
from bench.present import speedup as speedup_tables
from bench.reports import files, frames
from bench.reports.schema import STREAM_PROBE, ReportError
from bench.run import disturbance, sweep
from bench.run.options import by_name_only
from bench.run.probes import PROBES
from bench.run.session import SweepRun
from impls.registry import KERNELS, kernel_names

Write = Callable[[str], None]


def header_lines(run: SweepRun, shown: Callable[[Path], str]) -> list[str]:
    """The run's plan in a few lines, for pytest's header."""
    plan = run.plan
    lines = [
        f"gdbench sweep {plan.sweep}: n {', '.join(f'{n:,}' for n in plan.n)} × epochs "
        f"{', '.join(f'{e:,}' for e in plan.epochs)}; kernels {', '.join(plan.kernels)}",
        f"gdbench {sweep.BUDGETED_KERNEL} budget {plan.python_budget:,} sample-epochs per cell; "
        f"~{plan.seconds_per_benchmark:g} s of rounds per benchmark; "
        f"report: {shown(run.report_path) if run.report_path else 'none (--no-csv)'}",
    ]
    busy = disturbance.busy_warning(int(run.metadata.get("cpu_count", 1) or 1))
    if busy and not run.metadata.get("load"):
        lines.append(f"gdbench WARNING: {busy}")
    by_name = [name for name in by_name_only() if name not in plan.kernels]
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


def summary(run: SweepRun, write: Write, shown: Callable[[Path], str]) -> None:
    """Compile times, speedups per cell, time as a multiple of the stream probe, where the report is."""
    timed = {kernel: seconds for kernel, seconds in run.compile_s.items() if seconds is not None}
    if timed:
        write(
            "fresh JIT compile: "
            + ", ".join(f"{kernel} {seconds:.3g} s" for kernel, seconds in timed.items())
        )
    if run.results:
        cells = (
            run.pooled
            if run.pooled is not None
            else frames.cells_frame(run.results, run.compile_s, run.metadata)
        )
        write(
            f"speedup = median time of the baseline / median time of the kernel, per cell "
            f"(baseline {' or '.join(speedup.BASELINES)}, the first that ran)"
        )
        table = speedup.summarize(cells, exclude=PROBES)
        for line in speedup_tables.render(table).splitlines():
            write(line)
        if table["x_stream"].notna().any():
            write(
                f"time as a multiple of the {STREAM_PROBE} probe's in the same cell "
                "(one read of x and y per epoch: the floor for kernels that read all data every epoch)"
            )
            for line in speedup_tables.render(table, value="x_stream").splitlines():
                write(line)
        disturbed = cells.loc[cells["disturbed"], ["kernel", "n", "epochs"]]
        if run.batch_line:
            write(run.batch_line)
        if len(disturbed):
            named = ", ".join(f"{r.kernel} n={r.n} epochs={r.epochs}" for r in disturbed.head(5).itertuples())
            more = f" and {len(disturbed) - 5} more" if len(disturbed) > 5 else ""
            write(
                f"disturbed: {len(disturbed)} of {len(cells)} cells ran while other processes "
                f"took more than {disturbance.disturbed_cores():g} of a core ({named}{more}); the "
                "report marks them, and bench.compare does not judge them"
            )
    elif run.untimed:
        write(f"{run.untimed} benchmarks ran once, untimed (--benchmark-disable)")
    cell_count = f"{len(run.results)} kernel × cell results"
    if run.interrupted:
        cell_count += " (run interrupted: only the cells that finished)"
    if run.write_problem is not None:
        write(f"report: {run.write_problem}")
    if run.written is not None:
        rounds = files.rounds_path(run.written)
        write(f"report: {shown(run.written)} and {shown(rounds)}, {cell_count}")
        if run.written != run.report_path:
            write(f"(not {shown(run.report_path)}, which appeared during the run)")
    elif run.report_path is None:
        write("report: none (--no-csv)")
    elif run.write_problem is None:
        write("report: none written, as no benchmark was timed")


def plot(report_path: Path, write: Write, shown: Callable[[Path], str]) -> None:
    """Draw the report just written (``--plot``); a report that cannot be drawn is said, not raised."""
    out_dir = plotting.default_out_dir(report_path)
    try:
        written, notes = plotting.plot_file(report_path, out_dir)
    except ReportError as exc:
        write(f"figures: none ({exc})")
        return
    write(f"figures and summary: {shown(out_dir)}/ ({', '.join(p.name for p in written)})")
    for note in notes:
        write(f"note: {note}")


class Progress:
    """Progress lines for a long run: benchmarks done of total, elapsed, an estimate of what is left.

    One line each time another tenth of the run is done (every benchmark when there are fewer than
    ten), so a CI log gets a handful of lines, never a redraw per second.
    """

    def __init__(self, total: int, start: float) -> None:
        self.total = total
        self.start = start
        self.done = 0
        self._last_tenth = 0

    def tick(self, now: float) -> str | None:
        """Count one finished benchmark; the line to print, or None."""
        self.done += 1
        if self.total <= 0:
            return None
        tenth = self.done * 10 // self.total
        if tenth == self._last_tenth and self.total >= 10:
            return None
        self._last_tenth = tenth
        elapsed = now - self.start
        left = elapsed / self.done * max(self.total - self.done, 0)
        return (
            f"gdbench progress: {self.done}/{self.total} benchmarks ({self.done / self.total:.0%}), "
            f"{clock(elapsed)} elapsed, ~{clock(left)} left"
        )


def clock(seconds: float) -> str:
    """Seconds as m:ss (or h:mm:ss)."""
    whole = round(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"
