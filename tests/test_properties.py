"""Property-based tests: the equivalence guarantees hold over N, epochs, learning rate and data scale."""

from __future__ import annotations

import numpy as np
from error_bounds import any_order_depth, assert_within, critical_learning_rate, trajectory_bound
from hypothesis import given
from hypothesis import strategies as st

from impls import fit, get_kernel

SEED_KERNELS = ["python_loop", "numpy", "numba"]


@st.composite
def problems(draw, max_n=60):
    """A descent problem: data at some scale, a start, and a convergent learning rate."""
    n = draw(st.integers(1, max_n))
    scale = 10.0 ** draw(st.integers(-3, 3))
    unit = st.floats(-1.0, 1.0, allow_nan=False, allow_infinity=False)
    x = np.array(draw(st.lists(unit, min_size=n, max_size=n))) * scale
    y = np.array(draw(st.lists(unit, min_size=n, max_size=n))) * scale
    if not np.any(x):
        x[0] = scale  # all-zero x makes H singular in w; keep the critical rate finite
    fraction = draw(st.sampled_from([1e-3, 0.1, 0.5, 0.9, 0.99]))
    lr = fraction * critical_learning_rate(x)
    w0, b0 = draw(st.tuples(unit, unit))
    epochs = draw(st.integers(0, 60))
    return x, y, lr, w0 * scale, b0 * scale, epochs


@given(problems())
def test_numba_equals_python_loop_bitwise(problem):
    x, y, lr, w0, b0, epochs = problem
    expected = get_kernel("python_loop")(x, y, w0, b0, lr, epochs)
    got = fit(x, y, kernel="numba", learning_rate=lr, epochs=epochs, w0=w0, b0=b0)
    assert (got.w, got.b) == expected


@given(problems())
def test_numpy_stays_within_the_summation_bound_of_python_loop(problem):
    x, y, lr, w0, b0, epochs = problem
    runs = [
        fit(x, y, kernel=k, learning_rate=lr, epochs=max(epochs, 1), w0=w0, b0=b0, record_every=1).history
        for k in ("python_loop", "numpy")
    ]
    depth = any_order_depth(x.shape[0])
    bounds = [trajectory_bound(x, y, h.w, h.b, w0, b0, lr, depth) for h in runs]
    assert_within("w", runs[1].w, runs[0].w, bounds[0][0] + bounds[1][0])
    assert_within("b", runs[1].b, runs[0].b, bounds[0][1] + bounds[1][1])


@given(problems(), st.sampled_from(SEED_KERNELS))
def test_the_truth_is_a_fixed_point(problem, kernel):
    # y made by the same expression the kernels evaluate gives residuals of exactly 0 at the truth,
    # so the gradient is exactly 0 and no epoch may move the parameters by even one bit.
    x, _, lr, w_true, b_true, epochs = problem
    y = w_true * x + b_true
    got = fit(x, y, kernel=kernel, learning_rate=lr, epochs=epochs, w0=w_true, b0=b_true)
    assert (got.w, got.b) == (w_true, b_true)


@given(problems(), st.sampled_from(SEED_KERNELS), st.integers(1, 7))
def test_recording_does_not_change_the_result(problem, kernel, every):
    x, y, lr, w0, b0, epochs = problem
    plain = fit(x, y, kernel=kernel, learning_rate=lr, epochs=epochs, w0=w0, b0=b0)
    recorded = fit(x, y, kernel=kernel, learning_rate=lr, epochs=epochs, w0=w0, b0=b0, record_every=every)
    assert (recorded.w, recorded.b) == (plain.w, plain.b)
    assert recorded.history.epoch.tolist() == list(range(0, epochs, every))
