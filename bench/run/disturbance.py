"""What else the machine did while a benchmark ran: CPU taken by other processes and by the
hypervisor (steal), from ``/proc/stat`` against this process's own CPU time.

A benchmark is *disturbed* when others took more than ``disturbed_cores()`` of a core on average
while it ran: enough to take a core from a parallel kernel, or memory bandwidth from any kernel.
Where ``/proc/stat`` does not exist (not Linux), nothing is known and nothing is called disturbed.
"""

from __future__ import annotations

import math
import os
import resource
import time
from dataclasses import dataclass
from pathlib import Path

#: Cores' worth of CPU time taken by others, on average over a benchmark, from which it is disturbed.
#: A quiet machine's own housekeeping stays well below it; one busy neighbour is far above. The
#: environment variable GDBENCH_DISTURBED_CORES sets another ("inf": never disturbed).
DEFAULT_DISTURBED_CORES = 0.25
ENVIRONMENT = "GDBENCH_DISTURBED_CORES"
#: Load average per core from which the machine is called busy when a run starts.
BUSY_LOAD_PER_CORE = 0.5

_PROC_STAT = Path("/proc/stat")
_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


@dataclass(frozen=True)
class CpuSample:
    """A moment's counters: wall time, this process's CPU time, all CPUs' busy and stolen time."""

    wall: float
    own: float
    busy: float
    steal: float


@dataclass(frozen=True)
class Disturbance:
    """CPU taken from a benchmark's time by other processes and by the hypervisor, in cores."""

    others: float
    steal: float

    @property
    def disturbed(self) -> bool:
        """Whether others and steal together took more than ``disturbed_cores()``."""
        return self.others + self.steal > disturbed_cores()


def disturbed_cores() -> float:
    """The threshold in force: GDBENCH_DISTURBED_CORES, else ``DEFAULT_DISTURBED_CORES``."""
    text = os.environ.get(ENVIRONMENT)
    if text is None:
        return DEFAULT_DISTURBED_CORES
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"{ENVIRONMENT} must be a number of cores >= 0, got {text!r}") from None
    if not value >= 0:
        raise ValueError(f"{ENVIRONMENT} must be a number of cores >= 0, got {text!r}")
    return value


def sample() -> CpuSample | None:
    """The counters now; None where ``/proc/stat`` cannot be read."""
    try:
        first = _PROC_STAT.read_text().split("\n", 1)[0].split()
    except OSError:
        return None
    # cpu user nice system idle iowait irq softirq steal guest guest_nice (guest is inside user)
    ticks = [int(v) for v in first[1:9]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = ticks
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return CpuSample(
        wall=time.monotonic(),
        own=usage.ru_utime + usage.ru_stime,
        busy=(user + nice + system + irq + softirq) / _TICKS,
        steal=steal / _TICKS,
    )


def between(before: CpuSample | None, after: CpuSample | None) -> Disturbance:
    """What others took between two samples, in cores; NaN when either is unknown."""
    if before is None or after is None or after.wall <= before.wall:
        return Disturbance(math.nan, math.nan)
    wall = after.wall - before.wall
    # The counters tick at 1/_TICKS s per CPU: below that, others' time is noise, never negative.
    others = max(0.0, (after.busy - before.busy) - (after.own - before.own))
    return Disturbance(others=others / wall, steal=(after.steal - before.steal) / wall)


def busy_warning(cores: int) -> str | None:
    """A pyperf-style warning when the machine is already busy (load average), else None."""
    try:
        one_minute = os.getloadavg()[0]
    except OSError:
        return None
    if one_minute <= BUSY_LOAD_PER_CORE * cores:
        return None
    return (
        f"the machine is busy: load average {one_minute:.2f} on {cores} cores. Timings will be "
        "noisy and cells measured while others run are marked disturbed; close other programs, or "
        "measure contention on purpose with --load"
    )
