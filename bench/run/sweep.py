"""What a benchmark run measures: the sweep grids as plain data, and the validation of the options.

A *cell* is one (N, epochs) pair; every selected kernel is timed in every cell. The options of
``pytest bench`` arrive here as raw strings; ``resolve`` turns them into a ``Plan`` or raises
``ValueError`` with a message that names the option and says what is allowed.
"""

from __future__ import annotations

import math
import os
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Sweep:
    """A preset grid, how long to spend measuring each benchmark (one kernel in one cell) per batch,
    and how many batches: passes over every cell, each in its own process (``bench.run.replicate``)."""

    n: tuple[int, ...]
    epochs: tuple[int, ...]
    seconds_per_benchmark: float
    batches: int
    #: python_loop's budget in sample-epochs (N · epochs) per cell (``Plan.skip_reason``).
    python_budget: int = 1_000_000


# quick must finish within 90 s and default within 10 minutes on 2 cores, JIT compilation included,
# with every kernel of the registry. A cell's median moves more from one process to the next than
# within one, so time goes to batches (processes) rather than to longer ones (docs/comparing.md).
SWEEPS: dict[str, Sweep] = {
    # python_loop's N = 10⁵ cell alone would take a sixth of each quick batch.
    "quick": Sweep(
        n=(10, 1_000, 100_000), epochs=(10, 100), seconds_per_benchmark=0.05, batches=8, python_budget=100_000
    ),
    "default": Sweep(
        n=(10, 100, 1_000, 10_000, 100_000, 1_000_000),
        epochs=(10, 100, 500),
        seconds_per_benchmark=0.3,
        batches=3,
    ),
    "full": Sweep(
        n=(10, 100, 1_000, 10_000, 100_000, 1_000_000, 10_000_000),
        epochs=(10, 100, 500, 1_000),
        seconds_per_benchmark=1.0,
        batches=3,
    ),
}
#: Most batches a run may ask for.
MAX_BATCHES = 100
DEFAULT_SWEEP = "default"
#: The ``sweep`` name of a run whose grid was set with --n or --epochs.
CUSTOM_SWEEP = "custom"

#: The one kernel slow enough to need a budget (each preset sets it; --python-budget overrides).
BUDGETED_KERNEL = "python_loop"
#: Rough cost of one python_loop sample-epoch; only used to tell, when a cell is skipped, what it
#: would have cost.
PYTHON_SECONDS_PER_UPDATE = 0.5e-6


#: The largest epoch count every kernel takes (``impls.fit``'s domain: a signed 64-bit counter).
MAX_EPOCHS = 2**63 - 1
#: Bytes of one sample held by a cell: x and y, float64.
BYTES_PER_SAMPLE = 16


def physical_memory() -> int | None:
    """This machine's physical memory in bytes, or None where it cannot be told."""
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, ValueError, OSError):
        return None


@dataclass(frozen=True)
class Plan:
    """A validated run: which grid, which kernels, and the python_loop budget."""

    sweep: str
    n: tuple[int, ...]
    epochs: tuple[int, ...]
    kernels: tuple[str, ...]
    python_budget: int
    seconds_per_benchmark: float
    #: Passes over every cell, each in its own process (1: this process only).
    batches: int = 1

    def cells(self) -> list[tuple[int, int]]:
        """The (n, epochs) cells, N-major, both ascending."""
        return [(n, epochs) for n in self.n for epochs in self.epochs]

    def skip_reason(self, kernel: str, n: int, epochs: int) -> str | None:
        """Why ``kernel`` is not run in cell (n, epochs), or None when it is run."""
        updates = n * epochs
        if kernel != BUDGETED_KERNEL or updates <= self.python_budget:
            return None
        estimate = updates * PYTHON_SECONDS_PER_UPDATE
        return (
            f"{kernel} over budget: n·epochs = {updates:,} > --python-budget {self.python_budget:,} "
            f"(about {estimate:,.0f} s per call at ~0.5 µs per sample-epoch)"
        )


def resolve(
    *,
    sweep: str | None,
    n: str | None,
    epochs: str | None,
    kernels: str | None,
    python_budget: str | None,
    seconds_per_benchmark: str | None,
    available: Sequence[str],
    batches: str | None = None,
    unavailable: Mapping[str, str] | None = None,
    by_name_only: Collection[str] = (),
) -> Plan:
    """Validate the raw option strings (None: not given) into a ``Plan``.

    ``available`` are the kernel names that can run here, in display order; ``unavailable`` maps
    known-but-not-installed kernels to a hint on how to install them; kernels in ``by_name_only`` run
    only when ``--kernels`` names them.
    """
    name = DEFAULT_SWEEP if sweep is None else sweep
    if name not in SWEEPS:
        raise ValueError(f"--sweep: unknown sweep {name!r}; choose from {', '.join(SWEEPS)}")
    preset = SWEEPS[name]
    grid_n = preset.n if n is None else parse_counts("--n", n, minimum=1)
    grid_epochs = preset.epochs if epochs is None else parse_counts("--epochs", epochs, minimum=1)
    if grid_epochs[-1] > MAX_EPOCHS:
        raise ValueError(
            f"--epochs: {grid_epochs[-1]} is not below 2**63, where the kernels' epoch counter ends; "
            "give fewer epochs"
        )
    memory = physical_memory()
    if memory is not None and BYTES_PER_SAMPLE * grid_n[-1] > memory:
        raise ValueError(
            f"--n: {grid_n[-1]:,} samples take {BYTES_PER_SAMPLE * grid_n[-1]:,} bytes, more than this "
            f"machine's memory ({memory:,} bytes); give a smaller N"
        )
    return Plan(
        sweep=CUSTOM_SWEEP if (n is not None or epochs is not None) else name,
        n=grid_n,
        epochs=grid_epochs,
        kernels=(
            tuple(name for name in available if name not in by_name_only)
            if kernels is None
            else parse_kernels(kernels, available, unavailable or {})
        ),
        python_budget=(
            preset.python_budget
            if python_budget is None
            else parse_count("--python-budget", python_budget, minimum=0)
        ),
        seconds_per_benchmark=(
            preset.seconds_per_benchmark
            if seconds_per_benchmark is None
            else parse_seconds("--bench-time", seconds_per_benchmark)
        ),
        batches=preset.batches if batches is None else parse_batches(batches),
    )


def parse_batches(text: str) -> int:
    """``--batches``: a whole number from 1 to ``MAX_BATCHES``."""
    value = parse_count("--batches", text, 1, f"give a whole number from 1 to {MAX_BATCHES}")
    if value > MAX_BATCHES:
        raise ValueError(
            f"--batches: {text!r} is above {MAX_BATCHES}; give a whole number from 1 to {MAX_BATCHES}"
        )
    return value


def parse_count(option: str, text: str, minimum: int, allowed: str | None = None) -> int:
    """One whole number >= ``minimum``; ``1e6`` and ``1_000_000`` are accepted, ``2.5`` is not.

    ``allowed`` ends the error message (default: "give a whole number >= minimum").
    """
    allowed = allowed or f"give a whole number >= {minimum}"
    item = text.strip()
    try:
        value = int(item)
    except ValueError:
        try:
            real = float(item)
        except ValueError:
            raise ValueError(f"{option}: {text!r} is not a number; {allowed}") from None
        if not (math.isfinite(real) and real.is_integer()):
            raise ValueError(f"{option}: {text!r} is not a whole number; {allowed}") from None
        value = int(real)
    if value < minimum:
        raise ValueError(f"{option}: {text!r} is below {minimum}; {allowed}")
    return value


def parse_counts(option: str, text: str, minimum: int) -> tuple[int, ...]:
    """Comma-separated whole numbers >= ``minimum``, returned sorted and without duplicates."""
    allowed = f"give comma-separated whole numbers >= {minimum}, e.g. {option} 10,1000"
    items = [item for item in text.split(",") if item.strip()]
    if not items:
        raise ValueError(f"{option}: no value given; {allowed}")
    return tuple(sorted({parse_count(option, item, minimum, allowed) for item in items}))


def parse_kernels(text: str, available: Sequence[str], unavailable: Mapping[str, str]) -> tuple[str, ...]:
    """Comma-separated kernel names, returned in the order of ``available``."""
    names = {item.strip() for item in text.split(",") if item.strip()}
    choices = ", ".join(available)
    if not names:
        raise ValueError(f"--kernels: no kernel given; choose from {choices}")
    for name in sorted(names):
        if name in unavailable:
            raise ValueError(f"--kernels: kernel {name!r} is not available here: {unavailable[name]}")
        if name not in available:
            raise ValueError(f"--kernels: unknown kernel {name!r}; choose from {choices}")
    return tuple(name for name in available if name in names)


def parse_seconds(option: str, text: str) -> float:
    """A finite number of seconds > 0."""
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"{option}: {text!r} is not a number; give seconds > 0, e.g. 0.5") from None
    if not (math.isfinite(value) and value > 0):
        raise ValueError(f"{option}: {text!r} is not > 0; give seconds > 0, e.g. 0.5")
    return value
