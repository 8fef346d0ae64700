"""A descent on more data than fits in memory: ``dask_stats`` over samples drawn on the workers.

``python -m bench.beyond_memory --n 4000000000 --chunk 20000000 --out results/beyond_memory/``

The N samples (16·N bytes of x and y) are never held anywhere at once: each chunk is drawn on a
worker from the seed (``impls.dask_data.make_dask_problem``), reduced to four sums, and dropped. One
distributed pass gives the statistics, then every epoch runs on the client. The run records its wall
time and the peak memory of the client and the workers, and writes ``<run_id>.json`` (the record)
and ``<run_id>.md`` (rendered from it) into ``--out``; existing files are never replaced.
``--render FILE.json`` prints the Markdown of an earlier record.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import shlex
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import dask
import distributed
import psutil
from distributed.diagnostics import MemorySampler

from bench.reports.files import write_new_text
from bench.run import metadata
from impls import dask_cluster
from impls.cli import OneLineParser
from impls.dask_data import make_dask_problem
from impls.dask_stats import descend_from_statistics, statistics

#: Seconds between two memory samples (dask's own sampler uses the same period by default).
SAMPLE_INTERVAL_S = 0.5
#: x ~ U[0,1): the Hessian's eigenvalues are about 0.13 and 2.5, so 0.5 converges (critical ≈ 0.79)
#: and 10 000 epochs shrink the slow direction's error by 0.93**10000: to the rounding level.
DEFAULT_LEARNING_RATE = 0.5
DEFAULT_EPOCHS = 10_000
GIB = 2**30


def build_parser() -> argparse.ArgumentParser:
    """The command line; every default is that of the documented run, except N."""
    parser = OneLineParser(prog="python -m bench.beyond_memory", description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=None, help="number of samples N (required unless --render)")
    parser.add_argument("--chunk", type=int, default=20_000_000, help="samples per chunk (default: 2e7)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the drawn problem (default: 0)")
    parser.add_argument("--noise", type=float, default=0.0, help="std. dev. of noise on y (default: 0)")
    parser.add_argument("--epochs", type=int, default=DEFAULT_EPOCHS, help=f"(default: {DEFAULT_EPOCHS})")
    parser.add_argument(
        "--learning-rate",
        type=float,
        default=DEFAULT_LEARNING_RATE,
        help=f"(default: {DEFAULT_LEARNING_RATE})",
    )
    parser.add_argument("--workers", type=int, default=None, help="local workers (default: one per core)")
    parser.add_argument(
        "--dask-scheduler",
        default=None,
        metavar="tcp://HOST:PORT",
        help=f"use this scheduler (default: ${dask_cluster.SCHEDULER_ENV}, else a LocalCluster)",
    )
    parser.add_argument("--out", type=Path, default=Path("results/beyond_memory"), help="output folder")
    parser.add_argument(
        "--render", type=Path, default=None, metavar="FILE.json", help="print its Markdown; run nothing"
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status (2 for bad input, with one line on stderr)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        if args.render is not None:
            try:
                text = render_markdown(json.loads(args.render.read_text()))
            except (KeyError, TypeError, AttributeError) as exc:  # JSON, but not one of our records
                raise ValueError(f"{args.render} is not a beyond-memory record (missing {exc})") from None
            print(text, end="")
            return 0
        if args.n is None:
            raise ValueError("--n is required (or --render FILE.json)")
        if not (math.isfinite(args.learning_rate) and args.learning_rate > 0):
            raise ValueError(f"--learning-rate must be finite and > 0, got {args.learning_rate!r}")
        if args.epochs < 0:
            raise ValueError(f"--epochs must be >= 0, got {args.epochs!r}")
        record = run(
            n=args.n,
            chunk=args.chunk,
            seed=args.seed,
            noise=args.noise,
            epochs=args.epochs,
            learning_rate=args.learning_rate,
            workers=args.workers,
            address=args.dask_scheduler,
        )
        record["command"] = shlex.join(
            [parser.prog.split()[0], *parser.prog.split()[1:], *(sys.argv[1:] if argv is None else argv)]
        )
        json_path, md_path = write_record(args.out, record)
    except (OSError, TypeError, ValueError) as exc:
        print(f"{parser.prog}: error: {exc}", file=sys.stderr)
        return 2
    print(render_markdown(record), end="")
    print(f"\nrecord: {json_path} and {md_path}")
    return 0


def run(
    n: int,
    chunk: int,
    seed: int,
    noise: float,
    epochs: int,
    learning_rate: float,
    workers: int | None = None,
    address: str | None = None,
) -> dict[str, object]:
    """Draw the problem on the cluster, take its statistics in one pass, descend; return the record."""
    problem = make_dask_problem(n, seed=seed, chunk=chunk, noise=noise)  # validates n, seed, chunk, noise
    repo = Path(__file__).resolve().parent.parent
    record: dict[str, object] = {
        **metadata.collect("beyond_memory", repo, outputs=["results"]),
        "dask_version": dask.__version__,
        "distributed_version": distributed.__version__,
        "ram_bytes": psutil.virtual_memory().total,
        "load_average_before": list(os.getloadavg()),
        "n": n,
        "chunk": chunk,
        "chunks": problem.x.numblocks[0],
        "data_bytes": 16 * n,
        "seed": seed,
        "noise": noise,
        "epochs": epochs,
        "learning_rate": learning_rate,
    }
    with dask_cluster.using(address, n_workers=workers) as client:
        record.update(dask_cluster.describe(client))
        sampler = MemorySampler()
        sampling = sampler.sample("pass", client=client, interval=SAMPLE_INTERVAL_S)
        with _peak_local_rss() as local_peak, sampling:
            start = time.perf_counter()
            stats = statistics(client, problem.x, problem.y)
            record["pass_s"] = time.perf_counter() - start
        record["peak_local_rss_bytes"] = local_peak()
        # A pass shorter than one sampling interval leaves no sample: then there is no figure to give.
        samples = [value for _, value in sampler.samples["pass"]]
        record["peak_cluster_memory_bytes"] = int(max(samples)) if samples else None
    descend_from_statistics(stats, 0.0, 0.0, learning_rate, 1)  # compiles the epoch: not part of its cost
    start = time.perf_counter()
    w, b = descend_from_statistics(stats, 0.0, 0.0, learning_rate, epochs)
    record["epochs_s"] = time.perf_counter() - start
    record["load_average_after"] = list(os.getloadavg())
    shift_x, shift_y, sum_u, sum_v, sum_uu, sum_uv = stats.centred
    record["statistics"] = {
        "n": stats.n,
        "shift_x": shift_x,
        "shift_y": shift_y,
        "sum_u": sum_u,
        "sum_v": sum_v,
        "sum_uu": sum_uu,
        "sum_uv": sum_uv,
    }
    record.update(w_true=problem.w, b_true=problem.b, w_fit=w, b_fit=b)
    return record


@contextmanager
def _peak_local_rss() -> Iterator:
    """Sample the summed RSS of this process and all its descendants; yields a getter of the peak.

    A LocalCluster's scheduler runs in this process and its nannies and workers are its children, so
    this is the whole run's footprint on this machine (workers of a remote cluster are not included:
    dask's MemorySampler, recorded beside it, covers those).
    """
    me = psutil.Process()
    peak = 0
    stop = threading.Event()

    def sample() -> None:
        nonlocal peak
        while True:
            total = 0
            for process in [me, *me.children(recursive=True)]:
                # A process that ended between listing and reading holds nothing now.
                with contextlib.suppress(psutil.Error):
                    total += process.memory_info().rss
            peak = max(peak, total)
            if stop.wait(SAMPLE_INTERVAL_S):
                return

    thread = threading.Thread(target=sample, name="rss-sampler", daemon=True)
    thread.start()
    try:
        yield lambda: peak
    finally:
        stop.set()
        thread.join()


def write_record(folder: Path, record: dict[str, object]) -> tuple[Path, Path]:
    """``<run_id>.json`` and ``<run_id>.md`` in ``folder``; FileExistsError rather than replacing one."""
    folder.mkdir(parents=True, exist_ok=True)
    json_path = folder / f"{record['run_id']}.json"
    md_path = json_path.with_suffix(".md")
    for path in (json_path, md_path):
        if path.exists():
            raise FileExistsError(f"{path} exists, and records are never replaced")
    write_new_text(json_path, json.dumps(record, indent=2) + "\n")
    write_new_text(md_path, render_markdown(record))
    return json_path, md_path


def render_markdown(record: dict) -> str:
    """The record as a short Markdown section: the command, then one table of figures."""
    n = record["n"]
    rows = [
        ("samples N", f"{n:,} ({record['chunks']:,} chunks of {record['chunk']:,})"),
        (
            "x and y",
            f"{record['data_bytes'] / GIB:,.1f} GiB, never held at once "
            f"(RAM {record['ram_bytes'] / GIB:,.1f} GiB)",
        ),
        (
            "cluster",
            f"{record['dask_workers']} workers, scheduler {record['dask_scheduler']} "
            f"(dask {record['dask_version']}); {record['cpu_count']} × {record['cpu_model']}",
        ),
        (
            "statistics pass (draw + reduce)",
            f"{record['pass_s']:,.1f} s ({n / record['pass_s'] / 1e6:,.1f} M samples/s)",
        ),
        (f"{record['epochs']:,} epochs on the client", f"{record['epochs_s']:.3f} s"),
        ("peak RSS, client + local workers", f"{record['peak_local_rss_bytes'] / GIB:.2f} GiB"),
        (
            "peak worker memory (dask)",
            "no sample (the pass was shorter than one sampling interval)"
            if record["peak_cluster_memory_bytes"] is None
            else f"{record['peak_cluster_memory_bytes'] / GIB:.2f} GiB",
        ),
        ("w: fitted / true", f"{record['w_fit']!r} / {record['w_true']!r}"),
        ("b: fitted / true", f"{record['b_fit']!r} / {record['b_true']!r}"),
        (
            "load average before / after",
            " / ".join(
                ", ".join(f"{v:.2f}" for v in record[key])
                for key in ("load_average_before", "load_average_after")
            ),
        ),
    ]
    lines = [
        f"Run `{record['run_id']}` (commit {record['git_commit']}{', dirty' if record['git_dirty'] else ''}, "
        f"{record['utc_time']}, Python {record['python_version']}):",
        "",
        "```",
        record["command"],
        "```",
        "",
        "| | |",
        "|---|---|",
        *(f"| {name} | {value} |" for name, value in rows),
    ]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":  # the guard matters: worker processes are spawned and re-import __main__
    sys.exit(main())
