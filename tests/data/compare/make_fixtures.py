"""Write the small reports under tests/data/compare/ that tests/test_compare.py reads.

Run ``python tests/data/compare/make_fixtures.py`` to rebuild them (the output is deterministic).
The timings are synthetic, drawn from the noise model the comparison assumes: each batch of a cell
is off by a between-run factor (log-normal, 2%), each round by a within-run factor (log-normal, 3%).
Each fixture changes a known thing relative to ``base``, which is what the tests check for.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).parent
KERNELS = ("python_loop", "numpy", "numba")
SIZES = (10, 1000)
EPOCHS = 10
BETWEEN_SD, WITHIN_SD = 0.02, 0.03

#: The changes the tests look for; every other cell of a fixture is unchanged code.
SLOW_CELL = ("numpy", 1000, 10)
FAST_CELL = ("numba", 1000, 10)
SLOWDOWN, SPEEDUP, SMALL_CHANGE = 1.30, 0.70, 1.05
DROPPED_CELL = ("python_loop", 1000, 10)
ADDED_KERNEL = "numba_simd"

METADATA = {
    "run_id": "fixture",
    "utc_time": "2026-11-26T16:05:03Z",
    "git_commit": "abc1234",
    "git_dirty": False,
    "host": "runner-1",
    "cpu_model": "Example CPU @ 2.0GHz",
    "cpu_count": 2,
    "python_version": "3.12.3",
    "numpy_version": "2.1.0",
    "numba_version": "0.60.0",
    "blas": "openblas 0.3.27 Haswell",
    "blas_threads": 1,
    "numba_threads": 2,
    "sweep": "custom",
}


def true_seconds(kernel: str, n: int, epochs: int) -> float:
    """Plausible times: the loop ~100 ns an update, NumPy with per-epoch overhead, Numba ~1 ns."""
    per_update = {"python_loop": 100e-9, "numpy": 2e-9, "numba": 1e-9, ADDED_KERNEL: 0.5e-9}[kernel]
    overhead = {"numpy": 10e-6}.get(kernel, 1e-6)
    return per_update * n * epochs + overhead * epochs


def simulate(seed, factors=None, cells=None, batches=3, rounds=10) -> pd.DataFrame:
    """Rounds of ``cells`` (default: the grid), each cell's time multiplied by ``factors[cell]``."""
    rng = np.random.default_rng(seed)
    factors = factors or {}
    cells = cells or [(k, n, EPOCHS) for k in KERNELS for n in SIZES]
    rows = []
    for cell in cells:
        center = true_seconds(*cell) * factors.get(cell, 1.0)
        for batch in range(batches):
            shift = rng.normal(0.0, BETWEEN_SD)
            noise = rng.normal(0.0, WITHIN_SD, size=rounds)
            for i, seconds in enumerate(center * np.exp(shift + noise)):
                rows.append((*cell, batch, i, seconds))
    return pd.DataFrame(rows, columns=["kernel", "n", "epochs", "batch", "round", "seconds"])


def summarize(rounds: pd.DataFrame, **metadata) -> pd.DataFrame:
    """The summary report of ``rounds`` in the contract's column order."""
    grouped = rounds.groupby(["kernel", "n", "epochs"], sort=False)["seconds"]
    out = grouped.agg(
        rounds="size", min_s="min", max_s="max", median_s="median", mean_s="mean", stddev_s="std"
    ).reset_index()
    out["iqr_s"] = (grouped.quantile(0.75) - grouped.quantile(0.25)).to_numpy()
    out["ns_per_update"] = out["median_s"] / (out["n"] * out["epochs"]) * 1e9
    out["compile_s"] = np.where(out["kernel"].str.startswith("numba"), 0.4, np.nan)
    columns = [
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
    ]
    out = out[columns]
    for name, value in {**METADATA, **metadata}.items():
        out[name] = value
    return out


def write(name: str, rounds: pd.DataFrame, with_rounds: bool = True, **metadata) -> None:
    summarize(rounds, **metadata).to_csv(HERE / f"{name}.csv", index=False)
    if with_rounds:
        rounds.to_csv(HERE / f"{name}.rounds.csv", index=False)


def main() -> None:
    grid = [(k, n, EPOCHS) for k in KERNELS for n in SIZES]
    write("base", simulate(1))
    write("aa", simulate(2))
    write("slower", simulate(2, {SLOW_CELL: SLOWDOWN}))
    write("faster", simulate(2, {FAST_CELL: SPEEDUP}))
    write("small_change", simulate(2, dict.fromkeys(grid, SMALL_CHANGE)))
    kept = [c for c in grid if c != DROPPED_CELL] + [(ADDED_KERNEL, n, EPOCHS) for n in SIZES]
    write("added_removed", simulate(2, cells=kept))
    write("other_machine", simulate(2), host="runner-2", numpy_version="2.4.0")
    # Plain single-process runs: one batch of 20 rounds each, no batch column in the rounds file.
    write("single_base", simulate(3, batches=1, rounds=20).drop(columns="batch"))
    write("single_aa", simulate(4, batches=1, rounds=20).drop(columns="batch"))
    write(
        "single_slower",
        simulate(4, {SLOW_CELL: SLOWDOWN}, batches=1, rounds=20).drop(columns="batch"),
    )
    write("summary_only", simulate(2, {SLOW_CELL: SLOWDOWN}), with_rounds=False)
    # Bad input, one file per way of being bad.
    write("disjoint", simulate(5, cells=[(k, 7, EPOCHS) for k in KERNELS]))
    summarize(simulate(1)).drop(columns="median_s").to_csv(HERE / "missing_column.csv", index=False)
    bad = summarize(simulate(1)).astype({"median_s": object})
    bad.loc[2, "median_s"] = "fast"
    bad.to_csv(HERE / "bad_value.csv", index=False)
    write("broken_rounds", simulate(1))
    simulate(1).drop(columns="seconds").to_csv(HERE / "broken_rounds.rounds.csv", index=False)
    (HERE / "not_a_report.csv").write_text("Dear diary,\ntoday I timed nothing at all.\n")
    (HERE / "empty.csv").write_text("")


if __name__ == "__main__":
    main()
