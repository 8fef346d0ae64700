"""Does where an array lies change a kernel's time from one process to the next?

Each of PROCESSES fresh processes allocates a random amount first (as a sweep's batches, visiting
cells in different orders, do), makes the N = 1000 data of the sweep, and times numba_simd over it
for 10 epochs (median of 9 rounds of 300 calls): once on the arrays where numpy put them, once on
copies on 64-byte boundaries (bench.run.placement). It prints each process's time and the arrays'
offsets from a 64-byte boundary, then the spread of each mode.

    python results/placement/study.py > results/placement/study.txt
"""

from __future__ import annotations

import statistics
import subprocess
import sys
from pathlib import Path

PROCESSES = 12
ROOT = Path(__file__).resolve().parents[2]

ONE_PROCESS = """
import sys, time
import numpy as np
from bench.run.placement import aligned
from impls import make_problem, numba_simd
rng = np.random.default_rng(int(sys.argv[2]))
earlier = [np.empty(int(rng.integers(1, 3000))) for _ in range(int(rng.integers(1, 50)))]
x, y = make_problem(1000, seed=0)[:2]
if sys.argv[1] == "aligned":
    x, y = aligned(x), aligned(y)
descend = numba_simd.descend
descend(x, y, 0.0, 0.0, 0.01, 1)
rounds = []
for _ in range(9):
    start = time.perf_counter()
    for _ in range(300):
        descend(x, y, 0.0, 0.0, 0.01, 10)
    rounds.append((time.perf_counter() - start) / 300)
rounds.sort()
print(rounds[4], x.ctypes.data % 64, y.ctypes.data % 64)
"""


def main() -> None:
    for mode in ("as allocated", "aligned"):
        times = []
        print(f"{mode}: time per call (x, y offsets from a 64-byte boundary)")
        for process in range(PROCESSES):
            line = subprocess.run(
                [sys.executable, "-c", ONE_PROCESS, mode.split()[-1], str(process)],
                cwd=ROOT,
                capture_output=True,
                text=True,
                check=True,
            ).stdout.split()
            times.append(float(line[0]))
            print(f"  process {process}: {float(line[0]) * 1e6:.3f} µs ({line[1]}, {line[2]})")
        spread = statistics.stdev(times) / statistics.mean(times)
        print(f"  slowest / fastest: {max(times) / min(times):.3f}; relative SD {spread:.1%}")


if __name__ == "__main__":
    main()
