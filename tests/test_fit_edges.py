"""``fit`` at the edges of its domain: epochs near 2**63, long histories, and one meaning of ``diverged``.

``diverged`` is decided by ``fit`` from the problem (``impls.descent.diverges``), so it must be the same
for every kernel, and False must mean finite results from every kernel. The kernels on a Dask cluster
are checked the same way in tests/test_dask.py, on its shared cluster.
"""

from __future__ import annotations

import math
import tracemalloc
import warnings

import mpmath
import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from impls import KERNELS as REGISTRY
from impls import descent, fit, kernel_names, make_problem
from impls.descent import MAX_RECORDED, check_record_every, stability_limit

ALL_KERNELS = kernel_names()
KERNELS = [name for name in ALL_KERNELS if not REGISTRY[name].distributed]


def _least_squares(x, y):
    u = x - x.mean()
    w = float(np.dot(u, y - y.mean()) / np.dot(u, u))
    return w, float(y.mean() - w * x.mean())


class FakeKernel:
    """Stands in for a kernel's ``descend``: records the epochs of each call, moves nothing."""

    def __init__(self, fail_after: int | None = None):
        self.epochs: list[int] = []
        self.fail_after = fail_after

    def __call__(self, x, y, w, b, learning_rate, epochs):
        self.epochs.append(epochs)
        if self.fail_after is not None and len(self.epochs) > self.fail_after:
            raise RuntimeError("stop here")
        return w, b


@pytest.fixture
def fake(monkeypatch):
    """Every kernel ``fit`` asks for is ``kernel``; it records what it is asked to do."""
    kernel = FakeKernel()
    monkeypatch.setattr(descent, "get_kernel", lambda name: kernel)
    return kernel


# --- epochs: 0 <= epochs < 2**63 for every kernel ----------------------------------------------------


@pytest.mark.parametrize("kernel", ALL_KERNELS)
@pytest.mark.parametrize("epochs", [2**63, 2**64, 2**63 + 2**62])
def test_epochs_from_2_63_are_refused_before_any_kernel_runs(fake, kernel, epochs):
    with pytest.raises(ValueError, match=rf"epochs must be < 2\*\*63 .*got {epochs}$"):
        fit([0.1, 0.5], [1.0, 2.0], kernel=kernel, epochs=epochs)
    assert fake.epochs == []


@pytest.mark.parametrize("kernel", ALL_KERNELS)
def test_the_largest_epochs_reach_every_kernel_unchanged(fake, kernel):
    result = fit([0.1, 0.5], [1.0, 2.0], kernel=kernel, epochs=2**63 - 1)
    assert fake.epochs == [2**63 - 1]
    assert result.epochs == 2**63 - 1
    # Recorded: the segments add up to the same count, each within the domain.
    fake.epochs.clear()
    result = fit([0.1, 0.5], [1.0, 2.0], kernel=kernel, epochs=2**63 - 1, record_every=2**61)
    assert fake.epochs == [1, 2**61, 2**61, 2**61, 2**61 - 2]
    assert result.history.epoch.tolist() == [0, 2**61, 2**62, 3 * 2**61]


def test_closed_form_runs_2_63_minus_1_epochs_to_the_least_squares_line():
    x, y, _, _ = make_problem(50, seed=2, noise=0.1)
    result = fit(x, y, kernel="closed_form", learning_rate=0.3, epochs=2**63 - 1)
    assert not result.diverged
    w, b = _least_squares(x, y)
    assert result.w == pytest.approx(w, rel=1e-9)
    assert result.b == pytest.approx(b, rel=1e-9)


# --- record_every: bounded, and grown as the work proceeds -------------------------------------------


def test_the_history_is_not_allocated_before_the_work_starts(monkeypatch):
    # MAX_RECORDED points of history: their epoch numbers alone would take tens of MB if made up front.
    kernel = FakeKernel(fail_after=0)
    seen = []

    def first_call(*args):
        seen.append(tracemalloc.get_traced_memory()[0])
        return kernel(*args)

    monkeypatch.setattr(descent, "get_kernel", lambda name: first_call)
    tracemalloc.start()
    try:
        with pytest.raises(RuntimeError, match="stop here"):
            fit([0.1, 0.5], [1.0, 2.0], epochs=50 * MAX_RECORDED, record_every=50)
    finally:
        tracemalloc.stop()
    assert len(seen) == 1
    assert seen[0] < 1_000_000  # bytes allocated by the time the first segment runs


def test_the_number_of_recorded_points_is_bounded_exactly():
    epochs = 10**10
    every = -(-epochs // MAX_RECORDED)  # the smallest that records at most MAX_RECORDED points
    assert check_record_every(every, epochs) == every
    with pytest.raises(ValueError, match=rf"record_every={every - 1} would record \d+ points"):
        check_record_every(every - 1, epochs)
    assert check_record_every(1, MAX_RECORDED) == 1
    assert check_record_every(None, 2**63 - 1) is None


def test_a_long_history_is_recorded_on_the_closed_form():
    x, y, _, _ = make_problem(20, seed=4, noise=0.1)
    result = fit(x, y, kernel="closed_form", learning_rate=0.5, epochs=2**62, record_every=2**52)
    assert result.history.epoch.tolist() == [k * 2**52 for k in range(1024)]
    assert not result.diverged
    w, b = _least_squares(x, y)
    assert result.history.w[-1] == pytest.approx(w, rel=1e-9)
    assert result.history.b[-1] == pytest.approx(b, rel=1e-9)
    assert result.w == pytest.approx(w, rel=1e-9)


# --- diverged: decided once, from the problem --------------------------------------------------------


def _fits(**kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # fit promises no warnings from any kernel
        return {kernel: fit(kernel=kernel, **kwargs) for kernel in KERNELS}


def _assert_one_flag(results, expected):
    flags = {kernel: result.diverged for kernel, result in results.items()}
    assert set(flags.values()) == {expected}, flags
    if not expected:
        for kernel, result in results.items():
            assert math.isfinite(result.w) and math.isfinite(result.b), (kernel, result)


NOTEBOOK = make_problem(10, seed=0)


def test_a_huge_learning_rate_diverges_for_every_kernel():
    # Still finite after 20 epochs (|w| ~ 1e128), but nowhere near a fit: diverged for every kernel.
    results = _fits(x=NOTEBOOK.x, y=NOTEBOOK.y, learning_rate=1e6, epochs=20)
    _assert_one_flag(results, True)
    assert all(abs(r.w) > 1e100 for r in results.values())


def test_lr_3_for_366_epochs_is_the_same_for_every_kernel():
    # Around 1e307 after 366 epochs: some kernels overflow, others do not; the flag does not care.
    _assert_one_flag(_fits(x=NOTEBOOK.x, y=NOTEBOOK.y, learning_rate=3.0, epochs=366), True)


@pytest.mark.parametrize(("w0", "epochs"), [(1e308, 500), (1e308, 1), (-1e308, 7)])
def test_a_start_near_float64s_limit_is_the_same_for_every_kernel(w0, epochs):
    _assert_one_flag(_fits(x=NOTEBOOK.x, y=NOTEBOOK.y, w0=w0, epochs=epochs), True)


@pytest.mark.parametrize("n", [10, 2_000])
def test_the_notebooks_case_does_not_diverge(n):
    x, y, _, _ = make_problem(n, seed=1)
    _assert_one_flag(_fits(x=x, y=y, learning_rate=0.01, epochs=500), False)


def test_the_flag_turns_at_the_stability_limit():
    x, y = NOTEBOOK.x, NOTEBOOK.y
    limit = stability_limit(x)
    _assert_one_flag(_fits(x=x, y=y, learning_rate=limit, epochs=1), True)
    _assert_one_flag(_fits(x=x, y=y, learning_rate=math.nextafter(limit, 0), epochs=50), False)


def test_zero_epochs_never_diverge():
    _assert_one_flag(_fits(x=NOTEBOOK.x, y=NOTEBOOK.y, learning_rate=1e6, w0=1e308, epochs=0), False)


@pytest.mark.parametrize(
    "x",
    [
        NOTEBOOK.x,
        1e4 + NOTEBOOK.x,  # large offset: mean(x²) ≈ mean(x)², where raw sums cancel
        1e-150 * NOTEBOOK.x,  # x² near underflow
        np.full(7, 3.0),  # constant x: H is singular
        np.array([-2.5]),
        np.linspace(-1e100, 1e100, 9),
    ],
)
def test_the_stability_limit_is_accurate(x):
    with mpmath.workdps(60):
        values = [mpmath.mpf(float(v)) for v in x]
        m = mpmath.fsum(values) / len(values)
        s = mpmath.fsum(v * v for v in values) / len(values)
        exact = 2 / ((s + 1) + mpmath.sqrt((s - 1) ** 2 + 4 * m * m))
        assert abs(stability_limit(x) - exact) <= 1e-14 * exact


@st.composite
def edge_problems(draw):
    """Data, starts and learning rates across float64's range, around both divergence thresholds."""
    n = draw(st.integers(1, 12))
    unit = st.floats(-1.0, 1.0, allow_nan=False)
    # Exponents anywhere, or near the top, where some kernels' sums overflow and others' do not.
    exponent = st.one_of(st.integers(-200, 1020), st.integers(990, 1020))
    x_scale = 2.0 ** draw(st.one_of(st.integers(-200, 300), st.integers(-4, 8)))
    offset = draw(st.sampled_from([0.0, 1.0, 1e3, 1e8]))
    x = (np.array(draw(st.lists(unit, min_size=n, max_size=n))) + offset) * x_scale
    y = np.array(draw(st.lists(unit, min_size=n, max_size=n))) * 2.0 ** draw(exponent)
    w0 = draw(unit) * 2.0 ** draw(exponent)
    b0 = draw(unit) * 2.0 ** draw(exponent)
    fraction = draw(st.sampled_from([1e-6, 0.5, 0.99, 1.0, 1.5]))
    lr = fraction * stability_limit(x)
    assume(lr > 0)
    return dict(x=x, y=y, learning_rate=lr, epochs=draw(st.integers(1, 30)), w0=w0, b0=b0)


@given(edge_problems())
def test_diverged_is_one_flag_and_false_means_finite(problem):
    results = _fits(**problem)
    flags = {result.diverged for result in results.values()}
    assert len(flags) == 1, {k: (r.w, r.b, r.diverged) for k, r in results.items()}
    _assert_one_flag(results, flags.pop())
