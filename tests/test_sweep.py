"""The sweep grids and the validation of the sweep's options (bench/run/sweep.py)."""

import re
import subprocess
import sys
from pathlib import Path

import pytest

from bench.run import sweep

KERNELS = ("python_loop", "numpy", "numba")
ROOT = Path(__file__).resolve().parent.parent


def resolve(**options):
    given = dict.fromkeys(
        ("sweep", "n", "epochs", "kernels", "python_budget", "seconds_per_benchmark", "batches")
    )
    given.update(options)
    return sweep.resolve(**given, available=KERNELS, unavailable={"jax": "install jax"})


def test_presets_are_the_grids_the_issue_specifies():
    assert sweep.SWEEPS["quick"].n == (10, 1_000, 100_000)
    assert sweep.SWEEPS["quick"].epochs == (10, 100)
    assert sweep.SWEEPS["default"].n == (10, 100, 1_000, 10_000, 100_000, 1_000_000)
    assert sweep.SWEEPS["default"].epochs == (10, 100, 500)
    default, full = sweep.SWEEPS["default"], sweep.SWEEPS["full"]
    assert set(full.n) == {*default.n, 10_000_000}
    assert set(full.epochs) == {*default.epochs, 1_000}
    assert sweep.DEFAULT_SWEEP == "default"


@pytest.mark.parametrize("name", list(sweep.SWEEPS))
def test_preset_grids_are_ascending(name):
    preset = sweep.SWEEPS[name]
    assert list(preset.n) == sorted(set(preset.n))
    assert list(preset.epochs) == sorted(set(preset.epochs))
    assert preset.seconds_per_benchmark > 0


def test_no_options_give_the_default_sweep_with_every_kernel():
    plan = resolve()
    assert plan.sweep == "default"
    assert (plan.n, plan.epochs) == (sweep.SWEEPS["default"].n, sweep.SWEEPS["default"].epochs)
    assert plan.kernels == KERNELS
    assert plan.python_budget == 10**6
    assert plan.seconds_per_benchmark == sweep.SWEEPS["default"].seconds_per_benchmark
    assert plan.batches == sweep.SWEEPS["default"].batches > 1
    assert resolve(sweep="quick", batches="1").batches == 1


def test_n_and_epochs_override_the_grid_and_make_it_custom():
    plan = resolve(sweep="quick", n="1000, 10,1000")
    assert plan.n == (10, 1000)
    assert plan.epochs == sweep.SWEEPS["quick"].epochs
    assert plan.sweep == "custom"
    assert resolve(epochs="50").epochs == (50,)
    assert resolve(epochs="50").sweep == "custom"


def test_kernels_run_by_name_only_are_left_out_unless_named():
    def plan(kernels):
        return sweep.resolve(
            sweep=None,
            n=None,
            epochs=None,
            kernels=kernels,
            python_budget=None,
            seconds_per_benchmark=None,
            available=(*KERNELS, "dask"),
            by_name_only={"dask"},
        )

    assert plan(None).kernels == KERNELS
    assert plan("numba,dask").kernels == ("numba", "dask")


def test_kernels_restrict_the_selection_in_registry_order():
    plan = resolve(sweep="quick", kernels="numba,numpy")
    assert plan.kernels == ("numpy", "numba")
    assert plan.sweep == "quick"


def test_counts_accept_integral_spellings():
    assert sweep.parse_count("--n", "1e6", minimum=1) == 1_000_000
    assert sweep.parse_count("--n", "1_000", minimum=1) == 1000
    assert sweep.parse_count("--python-budget", "0", minimum=0) == 0
    assert resolve(python_budget="2e7").python_budget == 20_000_000


@pytest.mark.parametrize(
    ("options", "words"),
    [
        ({"sweep": "huge"}, ["--sweep", "'huge'", "quick, default, full"]),
        ({"n": "10,abc"}, ["--n", "'abc'", "comma-separated whole numbers >= 1"]),
        ({"n": "0"}, ["--n", "'0'", ">= 1"]),
        ({"n": "-5"}, ["--n", "'-5'", ">= 1"]),
        ({"n": "2.5"}, ["--n", "'2.5'", "whole number"]),
        ({"n": "inf"}, ["--n", "'inf'", "whole number"]),
        ({"n": " , "}, ["--n", "no value"]),
        ({"epochs": "0"}, ["--epochs", "'0'", ">= 1"]),
        ({"epochs": "ten"}, ["--epochs", "'ten'"]),
        ({"kernels": "numpy,cuda"}, ["--kernels", "'cuda'", "python_loop, numpy, numba"]),
        ({"kernels": "jax"}, ["--kernels", "'jax'", "not available", "install jax"]),
        ({"kernels": ","}, ["--kernels", "python_loop, numpy, numba"]),
        ({"python_budget": "-1"}, ["--python-budget", "'-1'", ">= 0"]),
        ({"python_budget": "1.5e6x"}, ["--python-budget", "'1.5e6x'"]),
        ({"seconds_per_benchmark": "0"}, ["--bench-time", "> 0"]),
        ({"seconds_per_benchmark": "nan"}, ["--bench-time", "> 0"]),
        ({"seconds_per_benchmark": "fast"}, ["--bench-time", "'fast'"]),
        ({"batches": "0"}, ["--batches", "'0'", "from 1 to 100"]),
        ({"batches": "101"}, ["--batches", "'101'", "above 100"]),
        ({"batches": "2.5"}, ["--batches", "'2.5'", "whole number"]),
    ],
)
def test_bad_values_are_refused_with_what_is_allowed(options, words):
    with pytest.raises(ValueError, match=re.escape(words[0])) as info:
        resolve(**options)
    for word in words[1:]:
        assert word in str(info.value)


def test_cells_are_n_major_and_ascending():
    plan = resolve(n="1000,10", epochs="100,10")
    assert plan.cells() == [(10, 10), (10, 100), (1000, 10), (1000, 100)]


def test_python_loop_is_skipped_only_above_its_budget():
    plan = resolve(python_budget="1000")
    assert plan.skip_reason("python_loop", 10, 100) is None  # exactly the budget still runs
    reason = plan.skip_reason("python_loop", 10, 101)
    assert reason is not None
    assert "--python-budget 1,000" in reason
    assert "1,010" in reason


def test_no_other_kernel_is_ever_skipped():
    plan = resolve(python_budget="0")
    assert plan.skip_reason("python_loop", 1, 1) is not None
    for kernel in ("numpy", "numba", "anything"):
        assert plan.skip_reason(kernel, 10_000_000, 1_000) is None


def test_epochs_beyond_the_kernels_counter_are_refused():
    assert resolve(epochs=str(2**63 - 1)).epochs == (2**63 - 1,)
    with pytest.raises(ValueError, match=r"--epochs: 9223372036854775808 is not below 2\*\*63"):
        resolve(epochs=str(2**63))


def test_more_samples_than_the_machine_holds_are_refused(monkeypatch):
    monkeypatch.setattr(sweep, "physical_memory", lambda: 16 * 1000)
    assert resolve(n="1000").n == (1000,)  # exactly fits
    with pytest.raises(
        ValueError, match="--n: 1,001 samples take 16,016 bytes, more than this machine's memory"
    ):
        resolve(n="10,1001")


def collected(*options: str) -> list[str]:
    """The benchmark node ids ``pytest bench`` collects with ``options``, in running order."""
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "bench", "--collect-only", "-q", "-p", "no:cacheprovider", *options],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return [line for line in done.stdout.splitlines() if "::test_descent[" in line]


def test_each_worker_batch_visits_the_cells_in_an_order_of_its_own():
    grid = ["--kernels", "numpy,numba,stream", "--n", "10,100,1000", "--epochs", "10,100"]
    first = collected(*grid)
    orders = [collected(*grid, "--batch-index", "1")]
    assert len(first) == 18 and sorted(orders[0]) == sorted(first)
    assert first != orders[0]
    for order in [first, *orders]:
        ns = [int(re.search(r"-n=(\d+)-", node)[1]) for node in order]
        assert [n for i, n in enumerate(ns) if i == 0 or n != ns[i - 1]] == list(dict.fromkeys(ns))  # N by N
        cells = [node.split("[")[1].split("-", 1)[1] for node in order]
        for start in range(0, 18, 3):  # the probe last in each cell
            assert order[start + 2].split("[")[1].startswith("stream-")
            assert len(set(cells[start : start + 3])) == 1
