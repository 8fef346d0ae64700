"""``make_problem``: seeded, notebook-shaped data and clear errors."""

from __future__ import annotations

import numpy as np
import pytest

from impls import make_problem


def test_same_seed_same_arrays():
    first, second = make_problem(1000, seed=42), make_problem(1000, seed=42)
    np.testing.assert_array_equal(first.x, second.x)
    np.testing.assert_array_equal(first.y, second.y)
    assert (first.w, first.b) == (second.w, second.b)


def test_different_seeds_differ():
    assert not np.array_equal(make_problem(100, seed=1).x, make_problem(100, seed=2).x)


def test_draws_follow_the_notebook_order():
    # x first, then w, then b, from one Generator: re-drawing in that order gives the same values.
    rng = np.random.default_rng(5)
    x = rng.random(20)
    w, b = rng.random(), rng.random()
    problem = make_problem(20, seed=5)
    np.testing.assert_array_equal(problem.x, x)
    assert (problem.w, problem.b) == (w, b)


def test_noise_free_targets_lie_on_the_true_line():
    x, y, w, b = make_problem(500, seed=3)
    assert x.dtype == y.dtype == np.float64
    assert x.shape == y.shape == (500,)
    assert np.all((x >= 0) & (x < 1))
    assert 0 <= w < 1 and 0 <= b < 1
    np.testing.assert_array_equal(y, w * x + b)


def test_noise_has_the_requested_spread():
    x, y, w, b = make_problem(100_000, seed=4, noise=0.5)
    residual = y - (w * x + b)
    # The sample std of 10^5 Gaussian draws is within 1% of sigma with overwhelming probability
    # (its standard error is sigma / sqrt(2·10^5) ≈ 0.16%).
    assert residual.std() == pytest.approx(0.5, rel=0.01)
    assert abs(residual.mean()) < 0.01


@pytest.mark.parametrize(
    ("kwargs", "error", "fragment"),
    [
        (dict(n=0), ValueError, "n must be at least 1, got 0"),
        (dict(n=2.5), TypeError, "n must be an integer, got 2.5"),
        (dict(n=10, seed=-1), ValueError, "seed must be non-negative, got -1"),
        (dict(n=10, seed="a"), TypeError, "seed must be an integer, got 'a'"),
        (dict(n=10, noise=-0.1), ValueError, "noise must be finite and >= 0, got -0.1"),
        (dict(n=10, noise=float("nan")), ValueError, "noise must be finite and >= 0, got nan"),
        (dict(n=10, noise="x"), TypeError, "noise must be a real number, got 'x'"),
    ],
)
def test_bad_arguments(kwargs, error, fragment):
    with pytest.raises(error, match=fragment):
        make_problem(**kwargs)
