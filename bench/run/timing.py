"""How each benchmark is timed: one warm-up call, an estimate of a call's cost, then a round plan.

A benchmark gets about ``seconds_per_benchmark`` of timed rounds. A round times ``iterations``
back-to-back calls (pytest-benchmark records their mean), so that even a call of a few hundred
nanoseconds is timed over a span far above the timer's resolution; slow calls get one call per round
and never fewer than ``MIN_ROUNDS`` rounds.
"""

from __future__ import annotations

import math
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass

#: Fewest rounds of any benchmark: enough for a median and a spread, few enough for slow cells.
MIN_ROUNDS = 3
#: Most rounds of any benchmark; faster calls are batched into longer rounds instead, which keeps
#: the raw rounds file small.
MAX_ROUNDS = 100


@dataclass(frozen=True)
class RoundPlan:
    """``rounds`` timed rounds of ``iterations`` calls each."""

    rounds: int
    iterations: int


def target_round_seconds(seconds_per_benchmark: float, max_rounds: int = MAX_ROUNDS) -> float:
    """The shortest round worth timing: the budget spread over the most rounds allowed."""
    return seconds_per_benchmark / max_rounds


def plan_rounds(
    seconds_per_call: float,
    seconds_per_benchmark: float,
    min_rounds: int = MIN_ROUNDS,
    max_rounds: int = MAX_ROUNDS,
) -> RoundPlan:
    """Rounds and iterations that spend about ``seconds_per_benchmark`` on calls of the given cost."""
    if not seconds_per_call > 0:
        raise ValueError(f"seconds_per_call must be > 0, got {seconds_per_call!r}")
    if not seconds_per_benchmark > 0:
        raise ValueError(f"seconds_per_benchmark must be > 0, got {seconds_per_benchmark!r}")
    if not 1 <= min_rounds <= max_rounds:
        raise ValueError(f"need 1 <= min_rounds <= max_rounds, got {min_rounds} and {max_rounds}")
    target = target_round_seconds(seconds_per_benchmark, max_rounds)
    iterations = max(1, math.ceil(target / seconds_per_call))
    rounds = math.floor(seconds_per_benchmark / (seconds_per_call * iterations))
    return RoundPlan(rounds=min(max(rounds, min_rounds), max_rounds), iterations=iterations)


#: How far two estimates of a call's cost may disagree before they are taken again.
AGREEMENT = 2.0
#: Most estimates taken before the plan settles on their median.
MAX_ESTIMATES = 4


def seconds_per_call(
    call: Callable[[], object], min_batch_seconds: float, first_call_is_estimate: bool
) -> float:
    """Call ``call`` once to warm it up, then estimate the seconds one steady-state call takes.

    The first call may compile, fill caches or touch fresh memory, so it is not a measurement, with
    one exception: when ``first_call_is_estimate`` is true (no JIT compiler involved) and the first
    call alone lasts ``min_batch_seconds``, it is the first estimate. Otherwise batches of 1, 2, 4, …
    calls are timed until one lasts ``min_batch_seconds``. A plan must never rest on one estimate
    that a neighbour interrupted: the estimate is taken again with as many calls, and when the two
    disagree by more than ``AGREEMENT`` times, again (at most ``MAX_ESTIMATES``), and the plan takes
    the lower of two that agree, else the median of all.
    """
    start = time.perf_counter()
    call()
    first = time.perf_counter() - start
    if first_call_is_estimate and first >= min_batch_seconds:
        estimates, loops = [first], 1
    else:
        loops = 1
        while True:
            elapsed = _time_calls(call, loops)
            if elapsed >= min_batch_seconds:
                estimates = [elapsed / loops]
                break
            loops *= 2
    while len(estimates) < MAX_ESTIMATES:
        estimates.append(_time_calls(call, loops) / loops)
        low, high = sorted(estimates[-2:])
        if high <= AGREEMENT * low:
            return low
    return float(statistics.median(estimates))


def _time_calls(call: Callable[[], object], loops: int) -> float:
    start = time.perf_counter()
    for _ in range(loops):
        call()
    return time.perf_counter() - start
