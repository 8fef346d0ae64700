"""The Dask kernels: agreement with python_loop within derived bounds, and the life of their clusters.

Tolerances are bounds from ``tests/error_bounds.py`` for each kernel's own order of operations:
``dask`` keeps the notebook's terms and only reorders the sum (chunk sums, then dask's tree), so
``trajectory_bound`` with the any-order depth N − 1 applies; ``dask_stats`` runs ``sufficient_stats``'s
recurrence on statistics summed in another order about another shift, so
``sufficient_stats_trajectory_bound`` (any shift, any order) applies with the shift it used.

Most tests share one two-worker LocalCluster (module scope) through ``using(address)``; the tests of
the cluster's life cycle start their own and check that no process outlives it.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import re
import subprocess
import sys
import warnings
from pathlib import Path

import dask.array as da
import numpy as np
import psutil
import pytest
from distributed import LocalCluster
from error_bounds import (
    any_order_depth,
    assert_within,
    critical_learning_rate,
    sufficient_stats_trajectory_bound,
    trajectory_bound,
)
from reference import trajectory_fsum

from impls import KERNELS, dask_cluster, dask_data, dask_descent, dask_stats, fit, kernel_names, make_problem
from impls.cli import main as cli_main

DASK_KERNELS = ["dask", "dask_stats"]
ROOT = Path(__file__).resolve().parent.parent
#: Port 1 on the loopback interface: nothing listens there, so a connection can only time out or fail.
NOBODY = "tcp://127.0.0.1:1"


@pytest.fixture(autouse=True)
def _no_scheduler_from_the_environment(monkeypatch):
    # A developer's own GDBENCH_DASK_SCHEDULER would change which cluster the bare calls use.
    monkeypatch.delenv(dask_cluster.SCHEDULER_ENV, raising=False)


@pytest.fixture(scope="module")
def cluster():
    """Two single-threaded worker processes, shared by the module's tests."""
    with LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0", silence_logs=logging.ERROR
    ) as local:
        yield local


@pytest.fixture
def client(cluster):
    """The shared cluster as the enclosing ``using`` block: every kernel call in the test runs on it."""
    with dask_cluster.using(cluster.scheduler_address) as connected:
        yield connected


@pytest.fixture
def spy(monkeypatch):
    """Every LocalCluster that ``impls.dask_cluster`` starts during the test, with its processes."""
    started = []

    class Spy(LocalCluster):
        def __init__(self, *args, **kwargs):
            before = _descendants()
            super().__init__(*args, **kwargs)
            new = _descendants() - before
            self.processes = [p for p in psutil.Process().children(recursive=True) if p.pid in new]
            started.append(self)

    monkeypatch.setattr(dask_cluster, "LocalCluster", Spy)
    return started


def _descendants() -> set[int]:
    """Live descendants of this process, less multiprocessing's resource tracker (one per interpreter,
    started with the first spawned process and kept until the interpreter exits, by design)."""
    pids = set()
    for process in psutil.Process().children(recursive=True):
        try:
            tracker = "resource_tracker" in " ".join(process.cmdline())
            if process.status() != psutil.STATUS_ZOMBIE and not tracker:
                pids.add(process.pid)
        except psutil.NoSuchProcess:
            pass
    return pids


def _assert_all_ended(processes):
    # Closing returns once the workers have been told to exit and have said so; give their processes
    # a moment to be gone from the process table (a liveness wait, not a speed requirement).
    _, alive = psutil.wait_procs(processes, timeout=10)
    assert not alive, f"processes outlived their cluster: {alive}"


# --- Registry and the absent-Dask path ---------------------------------------------------------------


@pytest.mark.parametrize("kernel", DASK_KERNELS)
def test_the_kernels_are_registered_behind_the_dask_extra(kernel):
    spec = KERNELS[kernel]
    assert spec.requires == ("dask", "distributed")
    assert spec.extra == "dask"
    assert spec.distributed and not spec.compiled
    assert spec.exactness == "bounded"
    assert kernel in kernel_names()  # dask is installed here (the dev extra)


def test_without_dask_the_kernels_are_hidden_and_fit_says_how_to_install(monkeypatch):
    real_find_spec = importlib.util.find_spec

    def find_spec(name, *args, **kwargs):
        return None if name in ("dask", "distributed") else real_find_spec(name, *args, **kwargs)

    monkeypatch.setattr(importlib.util, "find_spec", find_spec)
    assert not set(DASK_KERNELS) & set(kernel_names())
    for kernel in DASK_KERNELS:
        with pytest.raises(ValueError, match=r"pip install -e '\.\[dask\]'") as excinfo:
            fit([1.0], [1.0], kernel=kernel)
        assert "dask, distributed" in str(excinfo.value)


def test_importing_impls_and_listing_kernels_does_not_import_dask():
    code = (
        "import sys, impls; impls.kernel_names(); print(*(m in sys.modules for m in ('dask', 'distributed')))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.split() == ["False", "False"]


# --- Agreement with the notebook's loop, whole trajectories -------------------------------------------


def _trajectory(kernel, x, y, learning_rate, epochs, w0=0.0, b0=0.0):
    history = fit(
        x, y, kernel=kernel, learning_rate=learning_rate, epochs=epochs, w0=w0, b0=b0, record_every=1
    ).history
    return history.w, history.b


def _chained(step, learning_rate, epochs, w0=0.0, b0=0.0):
    """(w, b) after each epoch from one-epoch calls ``step(w, b, learning_rate, 1)``."""
    ws, bs = np.empty(epochs), np.empty(epochs)
    w, b = w0, b0
    for k in range(epochs):
        w, b = step(w, b, learning_rate, 1)
        ws[k], bs[k] = w, b
    return ws, bs


def _stepper(kernel, client, prepared):
    """One-epoch calls of ``kernel`` on prepared data; for dask_stats the statistics are taken once
    (its ``descend`` is ``statistics`` then ``descend_from_statistics``, checked equal below)."""
    if kernel == "dask":
        return lambda *args: dask_descent.descend(*prepared, *args)
    stats = dask_stats.statistics(client, *prepared)
    return lambda *args: dask_stats.descend_from_statistics(stats, *args)


def _bound(kernel, client, x, y, ws, bs, w0, b0, learning_rate, prepared=None):
    """The derived bound on |computed − exact| along ``kernel``'s trajectory (ws, bs)."""
    if kernel in ("python_loop", "dask"):
        return trajectory_bound(x, y, ws, bs, w0, b0, learning_rate, any_order_depth(x.shape[0]))
    x_chunks, y_chunks = prepared if prepared is not None else dask_data.as_dask(client, x, y)
    shift_x, shift_y = dask_stats.statistics(client, x_chunks, y_chunks).centred[:2]
    return sufficient_stats_trajectory_bound(x, y, ws, bs, w0, b0, learning_rate, shift_x, shift_y)


def _assert_agrees_with_python_loop(kernel, client, x, y, lr, ws, bs, w0, b0, prepared=None):
    ref_w, ref_b = _trajectory("python_loop", x, y, lr, len(ws), w0, b0)
    bound_w, bound_b = _bound(kernel, client, x, y, ws, bs, w0, b0, lr, prepared)
    ref_bound_w, ref_bound_b = _bound("python_loop", client, x, y, ref_w, ref_b, w0, b0, lr)
    assert_within(f"{kernel} w", ws, ref_w, bound_w + ref_bound_w)
    assert_within(f"{kernel} b", bs, ref_b, bound_b + ref_bound_b)


@pytest.mark.parametrize("kernel", DASK_KERNELS)
@pytest.mark.parametrize(
    ("n", "epochs", "fraction", "w0", "b0", "seed"),
    [
        (1, 15, 0.5, 0.0, 0.0, 1),  # one sample: one chunk, one worker idle
        (1_000, 12, 0.99, 3.0, -2.0, 3),  # near the critical rate, where errors are damped least
    ],
)
def test_fit_trajectory_agrees_with_python_loop(client, kernel, n, epochs, fraction, w0, b0, seed):
    x, y, _, _ = make_problem(n, seed=seed, noise=0.1)
    lr = fraction * critical_learning_rate(x)
    ws, bs = _trajectory(kernel, x, y, lr, epochs, w0, b0)
    _assert_agrees_with_python_loop(kernel, client, x, y, lr, ws, bs, w0, b0)


@pytest.mark.parametrize("kernel", DASK_KERNELS)
@pytest.mark.parametrize(("n", "chunk", "scale"), [(1_000, 97, 1.0), (500, 64, 100.0)])
def test_prepared_uneven_chunks_agree_with_python_loop(client, kernel, n, chunk, scale):
    # Many chunks, the last one short, dealt over both workers: the reduction tree has several levels.
    x, y, _, _ = make_problem(n, seed=n, noise=0.1)
    x, y = x * scale, y * scale
    lr = 0.5 * critical_learning_rate(x)
    prepared = dask_data.prepare(x, y, chunk=chunk)
    assert prepared[0].chunks[0] == (chunk,) * (n // chunk) + (n % chunk,)
    ws, bs = _chained(_stepper(kernel, client, prepared), lr, 10, 1.0, -1.0)
    _assert_agrees_with_python_loop(kernel, client, x, y, lr, ws, bs, 1.0, -1.0, prepared)


def test_dask_stats_centres_a_large_offset(client):
    # x = 10⁴ + U[0,1): raw Σx² would lose the spread to cancellation; against the correctly rounded
    # reference the centred statistics must stay within their bound, which is informative here.
    rng = np.random.default_rng(5)
    x = 1e4 + rng.random(60)
    y = 0.3 * x + 0.7
    lr = 0.4 / (1 + float(np.mean(x * x)))
    prepared = dask_data.prepare(x, y, chunk=16)
    ws, bs = _chained(_stepper("dask_stats", client, prepared), lr, 100)
    ref_w, ref_b = trajectory_fsum(x, y, 0.0, 0.0, lr, 100)
    bound_w, bound_b = _bound("dask_stats", client, x, y, ws, bs, 0.0, 0.0, lr, prepared)
    ref_bound_w, ref_bound_b = trajectory_bound(x, y, ref_w, ref_b, 0.0, 0.0, lr, sum_depth=1)
    assert_within("w", ws, ref_w, bound_w + ref_bound_w)
    assert_within("b", bs, ref_b, bound_b + ref_bound_b)


@pytest.mark.parametrize("kernel", DASK_KERNELS)
def test_one_call_equals_a_chain_of_one_epoch_calls(client, kernel):
    # The state between epochs is (w, b) alone and the reduction order is fixed by the chunks.
    x, y, _, _ = make_problem(300, seed=4, noise=0.1)
    prepared = dask_data.prepare(x, y, chunk=50)
    descend = dask_descent.descend if kernel == "dask" else dask_stats.descend
    ws, bs = _chained(lambda *args: descend(*prepared, *args), 0.3, 6)
    assert descend(*prepared, 0.0, 0.0, 0.3, 6) == (ws[-1], bs[-1])


# --- The front door, as tests/test_descent.py checks it for the single-node kernels ------------------


@pytest.mark.parametrize("kernel", DASK_KERNELS)
def test_zero_epochs_return_the_start_without_starting_a_cluster(spy, kernel):
    result = fit([0.1, 0.5], [1.0, 2.0], kernel=kernel, epochs=0, w0=0.25, b0=-1.5)
    assert (result.w, result.b) == (0.25, -1.5)
    assert spy == []


@pytest.mark.parametrize("kernel", DASK_KERNELS)
def test_results_are_floats_and_noise_free_data_is_fitted(client, kernel):
    x, y, w_true, b_true = make_problem(200, seed=7)
    epochs = 20 if kernel == "dask" else 20_000  # dask pays a round trip per epoch
    result = fit(x, y, kernel=kernel, learning_rate=0.7, epochs=epochs)
    assert type(result.w) is float and type(result.b) is float
    assert result.kernel == kernel and not result.diverged
    expected = fit(x, y, kernel="numpy", learning_rate=0.7, epochs=epochs)
    assert result.w == pytest.approx(expected.w, rel=1e-9)
    if kernel == "dask_stats":
        assert result.w == pytest.approx(w_true, abs=1e-9)
        assert result.b == pytest.approx(b_true, abs=1e-9)


@pytest.mark.parametrize("kernel", DASK_KERNELS)
def test_divergence_is_reported_silently_and_looks_like_numpy(client, kernel):
    x, y, _, _ = make_problem(20, seed=5)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no overflow warnings on the client (workers have their own)
        result = fit(x, y, kernel=kernel, learning_rate=1e12, epochs=30)
    expected = fit(x, y, kernel="numpy", learning_rate=1e12, epochs=30)
    assert result.diverged and expected.diverged
    assert (np.isnan(result.w), np.isnan(result.b)) == (np.isnan(expected.w), np.isnan(expected.b))


@pytest.mark.parametrize("kernel", DASK_KERNELS)
@pytest.mark.parametrize(
    ("overrides", "diverged"),
    [
        (dict(learning_rate=1e6, epochs=20), True),  # still finite (|w| ~ 1e128), far beyond the limit
        # About 1e307 after 366 epochs: some kernels overflow, some do not. dask pays a round trip per
        # epoch (366 of them would take seconds); its flag is decided before it runs, so 30 show it.
        (dict(learning_rate=3.0, epochs=366), True),
        (dict(w0=1e308, epochs=3), True),  # below the limit, but beyond float64's safe range
        (dict(learning_rate=0.01, epochs=10), False),  # the notebook's case
    ],
)
def test_diverged_at_the_edges_is_the_flag_of_every_other_kernel(client, kernel, overrides, diverged):
    x, y, _, _ = make_problem(10, seed=0)
    if kernel == "dask":
        overrides = overrides | dict(epochs=min(overrides["epochs"], 30))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result = fit(x, y, kernel=kernel, **overrides)
    assert result.diverged is diverged
    assert fit(x, y, kernel="numpy", **overrides).diverged is diverged
    if not diverged:
        assert np.isfinite(result.w) and np.isfinite(result.b)


def test_overflowing_partial_sums_are_inf_without_a_warning():
    # Each chunk's sum is finite (1e308); adding the two overflows, on whichever worker adds them.
    # Computed here, in this thread, so a warning would reach the filter below.
    x = da.from_array(np.ones(1_000), chunks=500)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        gradient = dask_descent.gradient(x, x, 1e308, 0.0).compute(scheduler="sync")
        sums = dask_stats.sums(x * 3e305, x, 0.0, 0.0).compute(scheduler="sync")
    assert gradient.tolist() == [np.inf, np.inf]
    assert sums.tolist() == [np.inf, 1_000.0, np.inf, np.inf]  # Σu, Σv, Σu², Σuv with u = 3e305, v = 1
    # The same reduction tree as dask's own sum: the same bits where nothing overflows.
    rng = np.random.default_rng(3)
    values = da.from_array(rng.standard_normal((997, 2)), chunks=(13, 2))
    np.testing.assert_array_equal(
        dask_data.quiet_sum(values).compute(scheduler="sync"), values.sum(axis=0).compute(scheduler="sync")
    )


@pytest.mark.parametrize("kernel", DASK_KERNELS)
def test_the_command_line_runs_the_kernel(client, capsys, kernel):
    status = cli_main(["--kernel", kernel, "--epochs", "10", "--every", "5"])
    out = capsys.readouterr().out.splitlines()
    assert status == 0
    assert out[-2].startswith("Converged w: ") and out[-1].startswith("Converged b: ")


# --- The cluster's life cycle ------------------------------------------------------------------------


def test_a_bare_call_starts_its_own_cluster_and_leaves_no_process_behind(spy):
    x, y, _, _ = make_problem(50, seed=2)
    result = fit(x, y, kernel="dask", learning_rate=0.5, epochs=2)
    assert len(spy) == 1 and spy[0].status.name == "closed"
    assert len(spy[0].processes) >= 2  # the workers really were processes of their own
    _assert_all_ended(spy[0].processes)
    assert result.w == pytest.approx(fit(x, y, kernel="numpy", learning_rate=0.5, epochs=2).w, rel=1e-12)


def test_a_failing_bare_call_still_closes_its_cluster(spy):
    with pytest.raises(ValueError, match="same length"):
        dask_descent.descend(np.ones(3), np.ones(4), 0.0, 0.0, 0.1, 5)
    assert len(spy) == 1 and spy[0].status.name == "closed"
    _assert_all_ended(spy[0].processes)


def test_a_using_block_shares_one_cluster_and_closes_it_on_an_exception(spy):
    x, y, _, _ = make_problem(100, seed=3)
    described = []

    def work_then_fail():
        with dask_cluster.using(n_workers=2) as client:
            described.append(dask_cluster.describe(client))
            fit(x, y, kernel="dask", epochs=3)
            fit(x, y, kernel="dask_stats", epochs=30, record_every=10)  # four calls, one cluster
            raise RuntimeError("raised inside the block")

    with pytest.raises(RuntimeError, match="raised inside the block"):
        work_then_fail()
    assert described == [{"dask_workers": 2, "dask_scheduler": dask_cluster.LOCAL}]
    assert len(spy) == 1 and spy[0].status.name == "closed"
    _assert_all_ended(spy[0].processes)
    with pytest.raises(RuntimeError, match="no Dask cluster is open"):
        dask_cluster.current_client()


def test_an_existing_scheduler_from_the_environment_is_used_and_left_running(spy, cluster, monkeypatch):
    monkeypatch.setenv(dask_cluster.SCHEDULER_ENV, cluster.scheduler_address)
    x, y, _, _ = make_problem(100, seed=6)
    result = fit(x, y, kernel="dask_stats", learning_rate=0.5, epochs=100)
    assert spy == []  # no LocalCluster of its own
    assert result.w == pytest.approx(fit(x, y, kernel="numpy", learning_rate=0.5, epochs=100).w, rel=1e-12)
    with dask_cluster.using() as client:  # the environment variable again: still there, still whole
        assert dask_cluster.describe(client) == {
            "dask_workers": 2,
            "dask_scheduler": cluster.scheduler_address,
        }


UNGUARDED_SCRIPT = """\
import numpy as np
from impls import fit, make_problem

# No `if __name__ == "__main__":` guard: worker processes would run this file again.
x, y, _, _ = make_problem(50, seed=1)
result = fit(x, y, kernel="dask", learning_rate=0.5, epochs=3)
expected = fit(x, y, kernel="numpy", learning_rate=0.5, epochs=3)
assert abs(result.w - expected.w) <= 1e-12 * abs(expected.w), (result, expected)
# Chunk sums of 1e308 each overflow where the workers add them: inf, and no warning (-W error).
ones = np.ones(1_000)
print(fit(ones, ones, kernel="dask", w0=1e308, epochs=1))
"""


def test_an_unguarded_script_runs_a_dask_kernel(tmp_path):
    script = tmp_path / "unguarded.py"
    script.write_text(UNGUARDED_SCRIPT)
    env = {key: value for key, value in os.environ.items() if key != dask_cluster.SCHEDULER_ENV}
    done = subprocess.run(
        [sys.executable, "-W", "error", str(script)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    assert done.stdout == "FitResult(w=-inf, b=-inf, diverged=True, kernel='dask', epochs=1, history=None)\n"


@pytest.mark.parametrize(
    ("source", "guarded"),
    [
        ('fit()\nif __name__ == "__main__":\n    fit()\n    fit(\n        1)\n', {3, 4, 5}),
        ("if '__main__' == __name__:\n    fit()\nelse:\n    fit()\n", {2}),
        ('def main():\n    if __name__ == "__main__":\n        fit()\n', {3}),
        ('if __name__ != "__main__":\n    fit()\n', set()),
        ("fit(\n", None),
    ],
)
def test_the_lines_under_a_main_guard(source, guarded):
    assert dask_cluster.main_guarded_lines(source) == guarded


def test_an_unreachable_scheduler_is_one_clear_line_not_a_hang():
    # The real command in a process of its own: a hang would end in TimeoutExpired, failing the test.
    # A short wait, as an impatient user would set it: the check gives up after it, not after 5 s.
    env = {**os.environ, dask_cluster.SCHEDULER_ENV: NOBODY, dask_cluster.TIMEOUT_ENV: "0.5"}
    done = subprocess.run(
        [sys.executable, "-m", "impls", "--kernel", "dask"],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=120,
        check=False,
    )
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.count("\n") == 1, done.stderr
    assert done.stderr.startswith(
        f"python -m impls: error: cannot reach a Dask scheduler at '{NOBODY}' "
        f"(from {dask_cluster.SCHEDULER_ENV}) within 0.5 s"
    )


@pytest.mark.parametrize("value", ["0", "-1", "abc", "inf", "nan", "1 s"])
def test_a_bad_timeout_in_the_environment_is_refused_by_name(spy, monkeypatch, value):
    monkeypatch.setenv(dask_cluster.TIMEOUT_ENV, value)
    message = f"{dask_cluster.TIMEOUT_ENV} must be a number of seconds > 0, got {value!r}"
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"), dask_cluster.using(NOBODY):
        pass
    assert spy == []


@pytest.mark.parametrize("value", [0, -1.5, True, np.bool_(True), "abc", float("nan"), []])
def test_a_bad_timeout_argument_is_refused_by_name(spy, value):
    message = re.escape(f"timeout must be a number of seconds > 0, got {value!r}")
    with pytest.raises(ValueError, match=f"^{message}$"), dask_cluster.using(NOBODY, timeout=value):
        pass
    assert spy == []


@pytest.mark.parametrize("value", ["", "  ", "nonsense"])
def test_the_environments_timeout_is_read_only_to_reach_a_scheduler(cluster, monkeypatch, value):
    monkeypatch.setenv(dask_cluster.TIMEOUT_ENV, value)
    if value.strip():  # a local cluster never waits for a scheduler: its timeout is not read
        with dask_cluster.using(n_workers=1, timeout=None) as client:
            assert client.submit(abs, -2).result() == 2
    else:  # blank is unset: the default wait, and a scheduler that answers is reached
        with dask_cluster.using(cluster.scheduler_address) as client:
            assert client.submit(abs, -3).result() == 3


def test_a_timeout_argument_outranks_the_environment(spy, monkeypatch):
    monkeypatch.setenv(dask_cluster.TIMEOUT_ENV, "0.2")
    with pytest.raises(ValueError, match=r"within 0\.3 s"), dask_cluster.using(NOBODY, timeout=0.3):
        pass
    with pytest.raises(ValueError, match=r"within 0\.2 s"), dask_cluster.using(NOBODY):
        pass


@pytest.mark.parametrize(
    ("address", "error", "fragment"),
    [
        (NOBODY, ValueError, f"cannot reach a Dask scheduler at '{NOBODY}' (from the address argument)"),
        ("nonsense", ValueError, "'nonsense'"),
        ("tcp://127.0.0.1:port", ValueError, "'tcp://127.0.0.1:port'"),
        ("ftp://127.0.0.1:1", ValueError, "unknown address scheme"),
        (8786, TypeError, "must be a string, got 8786"),
    ],
)
def test_a_bad_address_names_itself(spy, address, error, fragment):
    with pytest.raises(error) as excinfo, dask_cluster.using(address, timeout=0.5):
        pass
    assert fragment in str(excinfo.value)
    assert spy == []


def test_a_worker_is_not_a_scheduler(client):
    worker = next(iter(client.nthreads()))
    with pytest.raises(ValueError, match="is a Dask Worker, not a scheduler"), dask_cluster.using(worker):
        pass


@pytest.mark.parametrize(
    ("kwargs", "error", "fragment"),
    [
        (dict(n_workers=0), ValueError, "n_workers must be >= 1, got 0"),
        (dict(n_workers=1.5), TypeError, "n_workers must be an integer, got 1.5"),
        (dict(address=NOBODY, n_workers=2), ValueError, "only applies to a local cluster"),
    ],
)
def test_bad_cluster_arguments_are_refused_before_anything_starts(spy, kwargs, error, fragment):
    with pytest.raises(error, match=fragment), dask_cluster.using(**kwargs):
        pass
    assert spy == []


# --- Data on the workers -----------------------------------------------------------------------------


def test_a_drawn_problem_is_the_documented_streams(client):
    n, chunk, seed = 1_000, 300, 11
    problem = dask_data.make_dask_problem(n, seed=seed, chunk=chunk)
    assert problem.x.chunks[0] == (300, 300, 300, 100)
    assert (problem.w, problem.b) == tuple(np.random.default_rng(seed).random(2))
    x, y = client.compute([problem.x, problem.y], sync=True)
    for i, start in enumerate(range(0, n, chunk)):
        stream = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(i,)))
        np.testing.assert_array_equal(x[start : start + chunk], stream.random(min(chunk, n - start)))
    np.testing.assert_array_equal(y, problem.w * x + problem.b)  # make_problem's formula, bit for bit
    again = client.compute(dask_data.make_dask_problem(n, seed=seed, chunk=chunk).x, sync=True)
    np.testing.assert_array_equal(again, x)


def test_a_drawn_problem_with_noise_is_fitted_by_dask_stats(client):
    problem = dask_data.make_dask_problem(200_000, seed=3, chunk=30_000, noise=0.01)
    stats = dask_stats.statistics(client, problem.x, problem.y)
    w, b = dask_stats.descend_from_statistics(stats, 0.0, 0.0, 0.5, 5_000)
    # The noise moves the least-squares line by about 0.01·sqrt(12 / N) ≈ 8e-5 at most.
    assert w == pytest.approx(problem.w, abs=1e-3) and b == pytest.approx(problem.b, abs=1e-3)
    assert (w, b) == dask_stats.descend(problem.x, problem.y, 0.0, 0.0, 0.5, 5_000)


@pytest.mark.parametrize(
    ("kwargs", "error", "fragment"),
    [
        (dict(n=0), ValueError, "n must be >= 1, got 0"),
        (dict(n=10.0), TypeError, "n must be an integer, got 10.0"),
        (dict(n=10, seed=-1), ValueError, "seed must be non-negative, got -1"),
        (dict(n=10, chunk=0), ValueError, "chunk must be >= 1, got 0"),
        (dict(n=10, noise=float("nan")), ValueError, "noise must be finite and >= 0, got nan"),
        (dict(n=10, noise="0.1"), TypeError, "noise must be a real number, got '0.1'"),
    ],
)
def test_a_drawn_problem_refuses_bad_arguments(kwargs, error, fragment):
    with pytest.raises(error, match=fragment):
        dask_data.make_dask_problem(**kwargs)


def test_prepare_needs_an_open_cluster_and_keeps_the_values(client):
    x, y, _, _ = make_problem(10, seed=1)
    x_chunks, y_chunks = dask_data.prepare(x, y, chunk=3)
    assert x_chunks.chunks[0] == (3, 3, 3, 1)
    np.testing.assert_array_equal(client.compute(x_chunks, sync=True), x)
    np.testing.assert_array_equal(client.compute(y_chunks, sync=True), y)


def test_prepare_outside_a_block_says_what_to_do():
    with pytest.raises(RuntimeError, match=r"inside `with impls.dask_cluster.using\(\):`"):
        dask_data.prepare(np.ones(3), np.ones(3))
