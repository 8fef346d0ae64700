"""Scaling fits, ratios, winners and crossovers on timings made from models with known answers."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pandas as pd
import pytest

from bench.analysis.scaling import (
    FULL_TERMS,
    SIMPLE_TERMS,
    at_a_glance,
    crossover_points,
    crossovers,
    fastest_per_cell,
    fit_model,
    fit_scaling,
    loglog_slopes,
    relative_to,
)

GRID_N = np.array([10, 100, 1_000, 10_000, 100_000])
GRID_EPOCHS = np.array([10, 100, 1_000])
NOISE = 0.02  # sigma of the multiplicative (lognormal) noise put on synthetic timings


def _grid() -> tuple[np.ndarray, np.ndarray]:
    n, epochs = (np.array(v, dtype=float) for v in zip(*itertools.product(GRID_N, GRID_EPOCHS)))
    return n, epochs


def _model(coef: dict[str, float], n: np.ndarray, epochs: np.ndarray) -> np.ndarray:
    regressors = {"overhead_s": 1.0, "per_sample_s": n, "per_epoch_s": epochs, "per_update_s": n * epochs}
    return sum(value * regressors[term] for term, value in coef.items())


def _standard_errors(terms: tuple[str, ...], coef: dict, n, epochs) -> dict[str, float]:
    """Standard errors of a relative-error least-squares fit under NOISE relative noise.

    With t = model·exp(ε), ε ~ N(0, σ²), the fit's residuals (model - t)/t are ≈ -ε: iid with sd σ.
    Least squares on rows X/t then has covariance σ²·(X̃ᵀX̃)⁻¹ with X̃ = X / model (textbook linear
    regression), which is what bounds how far the estimates may land from the truth.
    """
    t = _model(coef, n, epochs)
    regressors = {
        "overhead_s": np.ones_like(n),
        "per_sample_s": n,
        "per_epoch_s": epochs,
        "per_update_s": n * epochs,
    }
    scaled = np.column_stack([regressors[term] / t for term in terms])
    cov = NOISE**2 * np.linalg.inv(scaled.T @ scaled)
    return dict(zip(terms, np.sqrt(np.diag(cov)), strict=True))


def _report(models: dict[str, dict[str, float]], noise: float = 0.0, seed: int = 7) -> pd.DataFrame:
    """A report whose cells are timed from known models: median = model·noise, min/max ±1 %."""
    rng = np.random.default_rng(seed)
    rows = []
    n, epochs = _grid()
    for kernel, coef in models.items():
        median = (
            _model(coef, n, epochs) * rng.lognormal(0.0, noise, n.size)
            if noise
            else (_model(coef, n, epochs))
        )
        rows += [
            {
                "kernel": kernel,
                "n": int(ni),
                "epochs": int(ei),
                "min_s": m * 0.99,
                "median_s": m,
                "max_s": m * 1.01,
            }
            for ni, ei, m in zip(n, epochs, median, strict=True)
        ]
    return pd.DataFrame(rows)


def _cells(kernel: str, n, median, epochs=10, spread: float = 0.0) -> list[dict]:
    return [
        {
            "kernel": kernel,
            "n": ni,
            "epochs": epochs,
            "min_s": m * (1 - spread),
            "median_s": m,
            "max_s": m * (1 + spread),
        }
        for ni, m in zip(n, median, strict=True)
    ]


# --- fits ------------------------------------------------------------------------------------


def test_fit_recovers_exact_overhead_and_cost_without_noise():
    n, epochs = _grid()
    truth = {"overhead_s": 2e-6, "per_update_s": 1.5e-9}
    coef, rel_rms = fit_model(n, epochs, _model(truth, n, epochs), SIMPLE_TERMS)
    for term, value in truth.items():
        assert coef[term] == pytest.approx(value, rel=1e-9)
    assert rel_rms < 1e-12


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_fit_recovers_overhead_and_cost_within_the_noise(seed):
    n, epochs = _grid()
    truth = {"overhead_s": 2e-6, "per_update_s": 1.5e-9}
    rng = np.random.default_rng(seed)
    seconds = _model(truth, n, epochs) * rng.lognormal(0.0, NOISE, n.size)
    coef, rel_rms = fit_model(n, epochs, seconds, SIMPLE_TERMS)
    errors = _standard_errors(SIMPLE_TERMS, truth, n, epochs)
    # 4 standard errors: a fixed seed makes this deterministic, and a correct fit lands outside
    # 4 sigma with probability 6e-5, so a failure means the fit is biased, not unlucky.
    for term, value in truth.items():
        assert abs(coef[term] - value) < 4 * errors[term], term
    # The residuals are the injected noise: their RMS estimates sigma (15 cells, 2 parameters).
    assert 0.5 * NOISE < rel_rms < 1.5 * NOISE


def test_full_model_recovers_a_per_epoch_cost_within_the_noise():
    n, epochs = _grid()
    truth = {"overhead_s": 3e-6, "per_sample_s": 0.0, "per_epoch_s": 9e-6, "per_update_s": 1.1e-9}
    rng = np.random.default_rng(11)
    seconds = _model(truth, n, epochs) * rng.lognormal(0.0, NOISE, n.size)
    coef, _ = fit_model(n, epochs, seconds, FULL_TERMS)
    nonzero = ("overhead_s", "per_epoch_s", "per_update_s")
    errors = _standard_errors(nonzero, truth, n, epochs)
    for term in nonzero:
        assert abs(coef[term] - truth[term]) < 4 * errors[term], term
    assert coef["per_sample_s"] >= 0


def test_overhead_below_resolution_is_zero_not_negative():
    n, epochs = _grid()
    rng = np.random.default_rng(3)
    seconds = 100e-9 * n * epochs * rng.lognormal(0.0, NOISE, n.size)
    coef, _ = fit_model(n, epochs, seconds, SIMPLE_TERMS)
    assert coef["overhead_s"] >= 0
    assert coef["per_update_s"] == pytest.approx(100e-9, rel=4 * NOISE)


def test_loglog_slopes_of_a_power_law():
    n, epochs = _grid()
    p, q = loglog_slopes(n, epochs, 3e-7 * n**0.8 * epochs**1.1)
    assert p == pytest.approx(0.8, abs=1e-12)
    assert q == pytest.approx(1.1, abs=1e-12)
    p, q = loglog_slopes(GRID_N, np.full(GRID_N.size, 10), 1e-6 * GRID_N**0.5)
    assert p == pytest.approx(0.5, abs=1e-12)
    assert math.isnan(q)


def test_fit_scaling_tells_which_model_describes_each_kernel():
    models = {
        "loop": {"overhead_s": 0.4e-6, "per_update_s": 1.3e-9},
        "dispatching": {"overhead_s": 3e-6, "per_epoch_s": 9e-6, "per_update_s": 1.1e-9},
        "stats": {"overhead_s": 1e-6, "per_sample_s": 0.5e-9, "per_epoch_s": 20e-9},
    }
    fits = fit_scaling(_report(models, noise=NOISE)).set_index("kernel")
    assert fits.loc["loop", "better_model"] == "N·epochs"
    assert fits.loc["loop", "rel_rms"] < 3 * NOISE
    # A per-epoch dispatch and an O(N + epochs) algorithm are not t = a + c·N·epochs: the simple
    # fit misses by far more than the noise, and the full model is chosen.
    for kernel in ("dispatching", "stats"):
        assert fits.loc[kernel, "rel_rms"] > 10 * NOISE
        assert fits.loc[kernel, "full_rel_rms"] < 3 * NOISE
        assert fits.loc[kernel, "better_model"] == "full"
    assert fits.loc["stats", "full_per_sample_s"] == pytest.approx(0.5e-9, rel=0.1)
    # Linear in N at large N, flattened by the fixed overhead at small N: a slope just under 1.
    assert 0.8 < fits.loc["loop", "slope_n"] < 1.0


def test_fit_scaling_says_when_a_kernel_has_too_few_cells():
    report = pd.DataFrame(
        _cells("lonely", [100], [1e-5])
        + _cells("pair", [100, 1000], [1e-5, 1e-4])
        + _cells("enough", [10, 100, 1000], [2e-6, 1e-5, 1e-4])
    )
    fits = fit_scaling(report).set_index("kernel")
    for kernel in ("lonely", "pair"):
        assert "not enough cells" in fits.loc[kernel, "note"]
        assert math.isnan(fits.loc[kernel, "overhead_s"])
    assert fits.loc["enough", "note"] == ""
    # One epochs value cannot separate per-sample from per-update cost: no full model.
    assert math.isnan(fits.loc["enough", "full_rel_rms"])


# --- ratios and winners ------------------------------------------------------------------------


def test_relative_to_gives_ratio_and_the_band_the_ranges_allow():
    report = pd.DataFrame(
        _cells("ref", [10, 100], [1e-5, 2e-5], spread=0.1)
        + _cells("k", [10, 100, 1000], [2e-6, 1e-5, 1e-4], spread=0.2)
    )
    ratios = relative_to(report, "ref")
    assert list(ratios["kernel"]) == ["k", "k"]  # N=1000 has no reference; ref is left out
    assert ratios["ratio"].tolist() == pytest.approx([0.2, 0.5])
    assert ratios["ratio_lo"].tolist() == pytest.approx([0.2 * 0.8 / 1.1, 0.5 * 0.8 / 1.1])
    assert ratios["ratio_hi"].tolist() == pytest.approx([0.2 * 1.2 / 0.9, 0.5 * 1.2 / 0.9])


def test_fastest_per_cell_ignores_probes_and_flags_unclear_wins():
    report = pd.DataFrame(
        _cells("python_loop", [10, 100], [1e-5, 1e-4], spread=0.01)
        + _cells("fast", [10, 100], [1e-6, 1e-5], spread=0.3)
        + _cells("close", [10, 100], [1.1e-6, 5e-5], spread=0.3)
        + _cells("stream", [10, 100], [1e-7, 1e-7])
    )
    table = fastest_per_cell(report).set_index("n")
    assert table["fastest"].tolist() == ["fast", "fast"]
    assert table.loc[10, "runner_up"] == "close"
    assert not table.loc[10, "clear"]  # 1.3e-6 > 0.77e-6: the ranges overlap
    assert table.loc[100, "clear"]
    assert table["vs_python_loop"].tolist() == pytest.approx([10, 10])
    assert "vs_numpy" not in table.columns


# --- crossovers --------------------------------------------------------------------------------


def test_crossover_of_two_power_laws_is_exact():
    # 1e-8·N = 1e-6·√N at √N = 100: N = 10 000, between the measurements 3 000 and 30 000.
    n = np.array([100, 1_000, 3_000, 30_000, 100_000], dtype=float)
    log_ratio = np.log(1e-8 * n / (1e-6 * np.sqrt(n)))
    assert crossover_points(n, log_ratio) == [pytest.approx(10_000, rel=1e-9)]


def test_every_sign_change_is_a_crossover():
    n = np.array([10, 100, 1000], dtype=float)
    # Ratio 2, 1/2, 2: log-linear in log N between points, so crossings at the geometric midpoints.
    points = crossover_points(n, np.log([2, 0.5, 2]))
    assert points == [pytest.approx(math.sqrt(1e3)), pytest.approx(math.sqrt(1e5))]


@pytest.mark.parametrize(
    ("ratios", "expected"),
    [
        ([2, 1, 0.5], [100.0]),  # an exact tie between opposite signs is the crossing
        ([2, 1, 2], []),  # touching without changing sides is not a crossing
        ([3, 2, 1.5], []),  # one side everywhere
        ([1, 1, 1], []),
    ],
)
def test_ties_at_measured_points(ratios, expected):
    assert crossover_points(np.array([10, 100, 1000], dtype=float), np.log(ratios)) == expected


def test_crossovers_per_epochs_value_and_pair():
    n = [10, 100, 1_000, 100_000]
    rows = []
    for epochs in (10, 100):
        # "linear" is 1e-9·N·E, "root" 1e-7·√N·E: equal at N = 10⁴ whatever E is.
        linear = [1e-9 * x * epochs for x in n]
        rows += _cells("linear", n, linear, epochs)
        rows += _cells("root", n, [1e-7 * math.sqrt(x) * epochs for x in n], epochs)
        rows += _cells("slow", n, [10 * t for t in linear], epochs)
        rows += _cells("stream", n, [t / 100 for t in linear], epochs)
    table = crossovers(pd.DataFrame(rows))
    assert set(table["epochs"]) == {10, 100}
    assert "stream" not in set(table["kernel_a"]) | set(table["kernel_b"])
    for _, row in table[(table["kernel_a"] == "linear") & (table["kernel_b"] == "root")].iterrows():
        assert row["crossings"] == [pytest.approx(1e4, rel=1e-9)]
        assert row["faster_first"] == "linear"
        assert row["resolved"]
    always = table[(table["kernel_a"] == "linear") & (table["kernel_b"] == "slow")]
    assert len(always) == 2
    for _, row in always.iterrows():
        assert row["crossings"] == []
        assert row["faster_first"] == "linear"
        assert (row["speedup_min"], row["speedup_max"]) == (pytest.approx(10), pytest.approx(10))
        assert (row["n_min"], row["n_max"]) == (10, 100_000)


def test_crossover_within_the_spread_is_marked_unresolved():
    n = [10, 100]
    report = pd.DataFrame(
        _cells("a", n, [1.0e-6, 1.1e-5], spread=0.2) + _cells("b", n, [1.1e-6, 1.0e-5], spread=0.2)
    )
    (row,) = crossovers(report).to_dict("records")
    assert len(row["crossings"]) == 1
    assert not row["resolved"]


def test_at_a_glance_picks_the_largest_python_loop_cell_and_the_largest_cell():
    def row(kernel, n, epochs, seconds):
        return {
            "kernel": kernel,
            "n": n,
            "epochs": epochs,
            "min_s": seconds,
            "median_s": seconds,
            "max_s": seconds,
        }

    report = pd.DataFrame(
        [
            row("python_loop", 10, 100, 1e-3),
            row("python_loop", 1_000, 10, 1e-2),  # 1e3 vs 1e4 updates
            row("fast", 10, 100, 1e-5),
            row("fast", 1_000, 10, 1e-4),
            row("fast", 10**6, 10, 4e-3),
            row("stream", 10**6, 10, 2e-3),
        ]
    )
    glance = at_a_glance(report).set_index("kernel")
    # Reference cell: python_loop's largest N·epochs (1000 × 10), where fast is 100x faster.
    assert (glance.loc["fast", "ref_n"], glance.loc["fast", "ref_epochs"]) == (1_000, 10)
    assert glance.loc["fast", "vs_python_loop"] == pytest.approx(100.0)
    # Largest cell (N = 10^6): 4 ms over 10^7 updates is 0.4 ns each, twice the stream probe's time.
    assert glance.loc["fast", "ns_per_update"] == pytest.approx(0.4)
    assert glance.loc["fast", "x_stream"] == pytest.approx(2.0)
    # python_loop never ran at N = 10^6: no number there, rather than a made-up one.
    assert math.isnan(glance.loc["python_loop", "x_stream"])
