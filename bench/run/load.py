"""A busy neighbour on demand: K CPU-bound processes for the whole of a run (``--load K``).

Robustness under contention is measured like speed: the report records the load it ran under. Each
neighbour spins until it is stopped, or until the process that started it is gone, so a sweep that
is killed leaves no spinning orphan behind.
"""

from __future__ import annotations

import os
import subprocess
import sys

# Spin, and check now and then that the parent lives: an orphan is adopted by another process. The
# parent's pid comes as an argument, so a neighbour orphaned before it even started stops too.
_SPIN = (
    "import os, sys\nparent = int(sys.argv[1])\n"
    "while os.getppid() == parent:\n    for _ in range(100_000): pass\n"
)


#: Most neighbours per CPU: enough to load any machine, few enough never to exhaust its processes.
MAX_LOAD_PER_CPU = 8


def check_load(count: int) -> int:
    """``count`` when a machine with this many CPUs can hold that many neighbours, else ValueError."""
    most = MAX_LOAD_PER_CPU * (os.cpu_count() or 1)
    if count > most:
        raise ValueError(f"--load: {count} busy processes would swamp this machine; give at most {most}")
    return count


class BusyNeighbours:
    """``count`` CPU-bound processes, started by ``start`` and stopped by ``stop``."""

    def __init__(self, count: int) -> None:
        if isinstance(count, bool) or not isinstance(count, int) or count < 0:
            raise ValueError(f"count must be a whole number >= 0, got {count!r}")
        self.count = count
        self.processes: list[subprocess.Popen] = []

    def start(self) -> None:
        """Start the neighbours (none when ``count`` is 0)."""
        for _ in range(self.count):
            command = [sys.executable, "-c", _SPIN, str(os.getpid())]
            self.processes.append(subprocess.Popen(command, stdin=subprocess.DEVNULL))

    def stop(self) -> None:
        """Stop every neighbour and wait for it."""
        for process in self.processes:
            process.kill()
        for process in self.processes:
            process.wait()
        self.processes.clear()
