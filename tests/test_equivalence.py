"""Every seed kernel computes the same descent: bitwise where the operation order is the same, within
the derived bound of ``error_bounds.py`` where only the summation order differs."""

from __future__ import annotations

import numpy as np
import pytest
from error_bounds import any_order_depth, assert_within, critical_learning_rate, trajectory_bound
from reference import trajectory_fsum

from impls import KERNELS, fit, get_kernel, make_problem


def _problems():
    """(n, epochs, rate, w0, b0, seed): sizes 1..10^4, epochs 0..1000, several rates and starts.

    The rate is a fraction of the critical learning rate of the problem's x, so every case converges;
    divergence has its own test below."""
    rng = np.random.default_rng(20261126)
    cases = [
        (1, 1000, 0.01, 0.0, 0.0, 1),
        (2, 0, 0.01, 0.3, -0.7, 2),
        (10, 500, 0.01, 0.0, 0.0, 3),
        (10_000, 5, 0.3, 1.0, -1.0, 4),
        (3_000, 20, 0.9, -2.0, 5.0, 5),
        (100, 1000, 0.5, 0.0, 0.0, 6),
    ]
    for seed in range(7, 37):
        n = int(rng.integers(1, 2_000))
        epochs = int(rng.integers(0, max(2, 60_000 // n)))
        lr = float(rng.choice([1e-3, 1e-2, 0.1, 0.5, 0.95, 0.999]))
        w0, b0 = (float(v) for v in rng.normal(0.0, 2.0, 2))
        cases.append((n, epochs, lr, w0, b0, seed))
    return cases


PROBLEMS = _problems()
BITWISE = [name for name, kernel in KERNELS.items() if kernel.exactness == "bitwise"]


@pytest.mark.parametrize("kernel", BITWISE)
@pytest.mark.parametrize(("n", "epochs", "fraction", "w0", "b0", "seed"), PROBLEMS)
def test_same_order_kernels_equal_python_loop_bitwise(kernel, n, epochs, fraction, w0, b0, seed):
    x, y, _, _ = make_problem(n, seed=seed, noise=0.1)
    lr = fraction * critical_learning_rate(x)
    expected = get_kernel("python_loop")(x, y, w0, b0, lr, epochs)
    got = fit(x, y, kernel=kernel, learning_rate=lr, epochs=epochs, w0=w0, b0=b0)
    assert (got.w, got.b) == expected


@pytest.mark.parametrize("kernel", BITWISE)
def test_same_order_kernels_diverge_bitwise_like_python_loop(kernel):
    x, y, _, _ = make_problem(50, seed=8)
    lr = 3.0 * critical_learning_rate(x)  # |1 − lr·λ_max| = 5: overflow within 600 epochs
    expected = fit(x, y, kernel="python_loop", learning_rate=lr, epochs=600, record_every=1)
    got = fit(x, y, kernel=kernel, learning_rate=lr, epochs=600, record_every=1)
    assert got.diverged and expected.diverged
    # assert_array_equal treats NaN as equal to NaN: the blow-up itself must match value for value.
    np.testing.assert_array_equal(got.history.w, expected.history.w)
    np.testing.assert_array_equal(got.history.b, expected.history.b)


@pytest.mark.parametrize("kernel", BITWISE)
@pytest.mark.parametrize(("n", "epochs", "lr", "seed"), [(10, 500, 0.01, 1), (997, 200, 0.5, 2)])
def test_same_order_kernels_equal_python_loop_on_whole_trajectories(kernel, n, epochs, lr, seed):
    x, y, _, _ = make_problem(n, seed=seed, noise=0.05)
    expected = fit(x, y, kernel="python_loop", learning_rate=lr, epochs=epochs, record_every=1)
    got = fit(x, y, kernel=kernel, learning_rate=lr, epochs=epochs, record_every=1)
    np.testing.assert_array_equal(got.history.w, expected.history.w)
    np.testing.assert_array_equal(got.history.b, expected.history.b)


def _trajectory(kernel, x, y, lr, epochs, w0, b0):
    history = fit(x, y, kernel=kernel, learning_rate=lr, epochs=epochs, w0=w0, b0=b0, record_every=1).history
    return history.w, history.b


def _assert_within(got_w, got_b, ref_w, ref_b, bound_w, bound_b):
    assert_within("w", got_w, ref_w, bound_w)
    assert_within("b", got_b, ref_b, bound_b)


TRAJECTORY_CASES = [
    # n, epochs, learning rate as a fraction of the critical one, w0, b0, seed, x scale: tiny and large
    # N, slow and near-critical rates (where errors are damped least), unit and large data scales.
    (1, 300, 0.5, 0.0, 0.0, 1, 1.0),
    (10, 500, 0.01, 0.0, 0.0, 2, 1.0),
    (1_000, 100, 0.99, 3.0, -2.0, 3, 1.0),
    (4_096, 30, 0.2, 0.0, 0.0, 4, 1.0),
    (10_000, 10, 0.9, -1.0, 1.0, 5, 1.0),
    (500, 200, 0.5, 0.0, 0.0, 6, 100.0),
]


def _scaled_problem(n, seed, scale, fraction):
    x, y, _, _ = make_problem(n, seed=seed, noise=0.1)
    x, y = x * scale, y * scale
    return x, y, fraction * critical_learning_rate(x)


@pytest.mark.parametrize(("n", "epochs", "fraction", "w0", "b0", "seed", "scale"), TRAJECTORY_CASES)
def test_numpy_agrees_with_python_loop_within_the_summation_bound(n, epochs, fraction, w0, b0, seed, scale):
    x, y, lr = _scaled_problem(n, seed, scale, fraction)
    loop_w, loop_b = _trajectory("python_loop", x, y, lr, epochs, w0, b0)
    np_w, np_b = _trajectory("numpy", x, y, lr, epochs, w0, b0)
    depth = any_order_depth(n)
    loop_bound = trajectory_bound(x, y, loop_w, loop_b, w0, b0, lr, depth)
    np_bound = trajectory_bound(x, y, np_w, np_b, w0, b0, lr, depth)
    _assert_within(np_w, np_b, loop_w, loop_b, loop_bound[0] + np_bound[0], loop_bound[1] + np_bound[1])


@pytest.mark.parametrize("kernel", ["python_loop", "numpy", "numba"])
@pytest.mark.parametrize(("n", "epochs", "fraction", "w0", "b0", "seed", "scale"), TRAJECTORY_CASES)
def test_kernel_agrees_with_the_correctly_rounded_reference(kernel, n, epochs, fraction, w0, b0, seed, scale):
    x, y, lr = _scaled_problem(n, seed, scale, fraction)
    ref_w, ref_b = trajectory_fsum(x, y, w0, b0, lr, epochs)
    got_w, got_b = _trajectory(kernel, x, y, lr, epochs, w0, b0)
    got_bound = trajectory_bound(x, y, got_w, got_b, w0, b0, lr, any_order_depth(n))
    ref_bound = trajectory_bound(x, y, ref_w, ref_b, w0, b0, lr, sum_depth=1)
    _assert_within(got_w, got_b, ref_w, ref_b, got_bound[0] + ref_bound[0], got_bound[1] + ref_bound[1])


def test_the_bound_is_not_vacuous():
    # A bound so loose that it admits any answer would make the tests above pass for a wrong kernel:
    # check it is far below the size of one gradient step, so a kernel that skipped or repeated a
    # single update on a moving trajectory could not hide under it.
    x, y, _, _ = make_problem(1_000, seed=9, noise=0.1)
    lr, epochs = 0.1, 50
    ws, bs = _trajectory("python_loop", x, y, lr, epochs, 0.0, 0.0)
    bound_w, bound_b = trajectory_bound(x, y, ws, bs, 0.0, 0.0, lr, any_order_depth(1_000))
    steps_w, steps_b = np.abs(np.diff(ws)), np.abs(np.diff(bs))
    assert np.all(bound_w[1:] < 1e-6 * steps_w)
    assert np.all(bound_b[1:] < 1e-6 * steps_b)


def test_a_perturbed_kernel_is_caught():
    # The same check as above, run on a kernel that is wrong by one part in 10^12 per step, must fail:
    # the tolerance is tight enough to see a real reordering bug, not just gross errors.
    x, y, _, _ = make_problem(100, seed=10, noise=0.1)
    lr, epochs = 0.1, 100
    ref_w, ref_b = trajectory_fsum(x, y, 0.0, 0.0, lr, epochs)
    bad_w = ref_w * (1 + 1e-12 * np.arange(1, epochs + 1))
    bound = trajectory_bound(x, y, ref_w, ref_b, 0.0, 0.0, lr, any_order_depth(100))
    with pytest.raises(AssertionError, match="epoch"):
        _assert_within(bad_w, ref_b, ref_w, ref_b, 2 * bound[0], 2 * bound[1])
