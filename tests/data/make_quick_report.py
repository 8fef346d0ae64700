"""Write tests/data/quick_report.csv and .rounds.csv: a synthetic report in the contract's format.

The grid and python_loop's budget are the quick sweep's (bench/run/sweep.py). The timings are made up,
not measured: each kernel's rounds come from a cost model t = overhead + per_epoch·epochs +
per_update·N·epochs (magnitudes like a laptop's) times lognormal noise with a fixed seed, so the
files are the same on every run. The host and CPU fields say so, so nobody mistakes the fixture for
a real run. Regenerate with ``python tests/data/make_quick_report.py``.
"""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).parent
GRID_N = (10, 1_000, 100_000)
GRID_EPOCHS = (10, 100)
#: Like the quick sweep, python_loop is not run where N·epochs exceeds its budget.
PYTHON_BUDGET = 1_000_000
ROUNDS = 5
NOISE = 0.03  # sigma of the lognormal round-to-round noise
#: kernel: (overhead s, per-epoch s, per-update s, compile s or None)
MODELS = {
    "python_loop": (1.5e-6, 0.4e-6, 110e-9, None),
    "numpy": (3e-6, 9e-6, 1.1e-9, None),
    "numba": (0.35e-6, 2e-9, 1.3e-9, 0.42),
}
METADATA = {
    "run_id": "20261126T160503Z_fixture",
    "utc_time": "2026-11-26T16:05:03Z",
    "git_commit": "abc1234",
    "git_dirty": False,
    "host": "synthetic-fixture",
    "cpu_model": "synthetic (tests/data/make_quick_report.py)",
    "cpu_count": 2,
    "python_version": "3.11.7",
    "numpy_version": "2.4.6",
    "numba_version": "0.61.0",
    "blas": "openblas 0.3.27 Haswell",
    "blas_threads": 1,
    "numba_threads": 2,
    "sweep": "quick",
}


def main() -> None:
    """Write the two files next to this script."""
    rng = np.random.default_rng(20261126)
    rows, rounds = [], []
    for kernel, n, epochs in itertools.product(MODELS, GRID_N, GRID_EPOCHS):
        if kernel == "python_loop" and n * epochs > PYTHON_BUDGET:
            continue
        overhead, per_epoch, per_update, compile_s = MODELS[kernel]
        model = overhead + per_epoch * epochs + per_update * n * epochs
        seconds = model * rng.lognormal(0.0, NOISE, ROUNDS)
        rounds += [
            {"kernel": kernel, "n": n, "epochs": epochs, "round": i, "seconds": s}
            for i, s in enumerate(seconds)
        ]
        q1, q3 = np.percentile(seconds, [25, 75])
        rows.append(
            {
                "kernel": kernel,
                "n": n,
                "epochs": epochs,
                "rounds": ROUNDS,
                "min_s": seconds.min(),
                "max_s": seconds.max(),
                "median_s": np.median(seconds),
                "mean_s": seconds.mean(),
                "stddev_s": seconds.std(ddof=1),
                "iqr_s": q3 - q1,
                "ns_per_update": np.median(seconds) / (n * epochs) * 1e9,
                "compile_s": compile_s,
                **METADATA,
            }
        )
    pd.DataFrame(rows).to_csv(HERE / "quick_report.csv", index=False, float_format="%.9g")
    pd.DataFrame(rounds).to_csv(HERE / "quick_report.rounds.csv", index=False, float_format="%.9g")


if __name__ == "__main__":
    main()
