"""Shared test configuration: Hypothesis profiles, and what the tests' own `pytest` processes load."""

import os

from hypothesis import settings

# Numba compiles on first call, so a per-example deadline would measure the compiler, not the code.
settings.register_profile("dev", deadline=None, max_examples=40)
# CI runs the same examples every time: a red build must be reproducible, never a roll of the dice.
settings.register_profile("ci", deadline=None, max_examples=40, derandomize=True, database=None)
settings.load_profile("ci" if os.environ.get("CI") else "dev")

# Many tests run the sweep, the gate or their workers as real `pytest bench` processes. None of them
# uses Hypothesis, whose plugin pytest would otherwise import in each (a tenth of a second apiece).
os.environ["PYTEST_ADDOPTS"] = " ".join(
    filter(None, [os.environ.get("PYTEST_ADDOPTS", ""), "-p no:hypothesispytest"])
)
