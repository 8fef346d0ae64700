"""The kernels of issue 6 against ``python_loop`` and the correctly rounded reference, within derived bounds.

Every tolerance here is a bound from ``tests/error_bounds.py`` for the kernel's own order of operations,
evaluated along the computed trajectories; the kernel's module docstring says why that bound applies:

* ``numba_simd``, ``numba_parallel``, ``numpy_fast``, ``jax``: at most the notebook's six roundings per
  term (counted differently, see each module; the first two regroup the terms, step 1 of
  ``error_bounds``), sums in an order the compiler, the blocks, the threads or BLAS choose —
  ``trajectory_bound`` with the any-order depth N − 1.
* ``sufficient_stats``, ``sufficient_stats_parallel``: ``sufficient_stats_trajectory_bound`` (rounding
  counts along the centred recurrence, for any shift and any summation order of the shifted sums).
* ``closed_form``: ``closed_form_bound`` for one call of k epochs (the statistics' errors
  through the exact k-epoch map, plus the evaluation's roundings), and ``closed_form_trajectory_bound``
  for a chain of one-epoch calls. ``test_closed_form.py`` holds the long single calls against exact
  arithmetic.

Two computed trajectories A and B are compared with ``|A − B| ≤ E_A + E_B`` (each kernel's distance to
the exact iterates, bounded). A bound so loose that it could hide a real error would make these tests
unable to fail, so each comparison also checks that the tolerance is informative: below
``INFORMATIVE`` relative to the parameters' size.
"""

from __future__ import annotations

import ast
import importlib
import importlib.util
import math
import os
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
from error_bounds import (
    any_order_depth,
    assert_within,
    closed_form_bound,
    closed_form_trajectory_bound,
    critical_learning_rate,
    gamma,
    sufficient_stats_trajectory_bound,
    trajectory_bound,
)
from hypothesis import given, settings
from hypothesis import strategies as st
from reference import trajectory_fsum

from impls import KERNELS, fit, get_kernel, kernel_names, make_problem
from impls.numba_parallel import PARALLEL_MIN_N
from impls.numpy_blocked import BLOCK
from impls.sufficient_stats import centred_statistics
from impls.sufficient_stats_parallel import centred_statistics as centred_statistics_all_cores

ROOT = Path(__file__).resolve().parents[1]

JAX_INSTALLED = importlib.util.find_spec("jax") is not None

#: Kernels that sum the notebook's monomials in another order (numba_simd, numba_parallel and
#: numpy_fast grouped otherwise too: b·Σ x and N·b subtracted once an epoch), within the any-order bound.
REORDERED_SUMS = ["numba_simd", "numba_parallel", "numpy_fast"] + (["jax"] if JAX_INSTALLED else [])
#: Kernels that compute the same iterates from statistics of the data.
FROM_STATISTICS = ["sufficient_stats", "sufficient_stats_parallel", "closed_form"]
NEW_KERNELS = [
    "numba_simd",
    "numba_parallel",
    "numpy_fast",
    "sufficient_stats",
    "sufficient_stats_parallel",
    "closed_form",
    "jax",
]


def trajectory(kernel, x, y, learning_rate, epochs, w0=0.0, b0=0.0):
    """(w, b) after each epoch, from a chain of one-epoch calls (``fit``'s history)."""
    result = fit(
        x, y, kernel=kernel, learning_rate=learning_rate, epochs=epochs, w0=w0, b0=b0, record_every=1
    )
    return result.history.w, result.history.b


def kernel_bound(kernel, x, y, ws, bs, w0, b0, learning_rate):
    """The derived bound on |computed − exact| along ``kernel``'s computed trajectory (ws, bs)."""
    if kernel == "python_loop" or kernel in REORDERED_SUMS:
        return trajectory_bound(x, y, ws, bs, w0, b0, learning_rate, any_order_depth(x.shape[0]))
    if kernel == "sufficient_stats_parallel":  # the same bound, about the shift this kernel used
        shift_x, shift_y = centred_statistics_all_cores(x, y)[:2]
        return sufficient_stats_trajectory_bound(x, y, ws, bs, w0, b0, learning_rate, shift_x, shift_y)
    statistics = centred_statistics(x, y)
    if kernel == "sufficient_stats":
        shift_x, shift_y = statistics[:2]
        return sufficient_stats_trajectory_bound(x, y, ws, bs, w0, b0, learning_rate, shift_x, shift_y)
    return closed_form_trajectory_bound(x, y, ws, bs, w0, b0, learning_rate, statistics)


def assert_agrees_with_python_loop(kernel, x, y, learning_rate, epochs, w0=0.0, b0=0.0):
    ws, bs = trajectory(kernel, x, y, learning_rate, epochs, w0, b0)
    ref_w, ref_b = trajectory("python_loop", x, y, learning_rate, epochs, w0, b0)
    bound_w, bound_b = kernel_bound(kernel, x, y, ws, bs, w0, b0, learning_rate)
    ref_bound_w, ref_bound_b = kernel_bound("python_loop", x, y, ref_w, ref_b, w0, b0, learning_rate)
    assert_within(f"{kernel} w", ws, ref_w, bound_w + ref_bound_w)
    assert_within(f"{kernel} b", bs, ref_b, bound_b + ref_bound_b)


problems = st.builds(
    make_problem,
    n=st.integers(1, 512),
    seed=st.integers(0, 2**32 - 1),
    noise=st.sampled_from([0.0, 0.1]),
)
#: Learning rates as a fraction of the problem's critical one, so that every descent converges.
fractions = st.sampled_from([1e-3, 0.01, 0.1, 0.5, 0.9, 0.999])
starts = st.floats(-2.0, 2.0)


# --- Agreement with the notebook's loop, whole trajectories -------------------------------------


@pytest.mark.parametrize("kernel", ["numba_simd", "numba_parallel", "numpy_fast", *FROM_STATISTICS])
@settings(max_examples=25, deadline=None)
@given(problem=problems, fraction=fractions, epochs=st.integers(1, 100), w0=starts, b0=starts)
def test_trajectory_agrees_with_python_loop(kernel, problem, fraction, epochs, w0, b0):
    learning_rate = fraction * critical_learning_rate(problem.x)
    assert_agrees_with_python_loop(kernel, problem.x, problem.y, learning_rate, epochs, w0, b0)


@pytest.mark.parametrize(
    ("kernel", "n"),
    [
        # Several blocks, the last one short.
        ("numpy_fast", 2 * BLOCK + 5),
        # Large enough for the threads to split the sums (below it numba_parallel is numba_simd, and
        # sufficient_stats_parallel is sufficient_stats).
        ("numba_parallel", PARALLEL_MIN_N + 17),
        ("sufficient_stats_parallel", PARALLEL_MIN_N + 17),
    ],
)
def test_large_problems_take_the_blocked_and_parallel_paths(kernel, n):
    problem = make_problem(n, seed=n, noise=0.05)
    assert_agrees_with_python_loop(kernel, problem.x, problem.y, 0.4, 3, w0=0.5, b0=-0.25)


@pytest.mark.parametrize(
    "kernel", ["numba_simd", "numba_parallel", "numpy_fast", "sufficient_stats", "sufficient_stats_parallel"]
)
def test_one_call_equals_a_chain_of_one_epoch_calls(kernel):
    # fit's history chains calls; that is only faithful if a kernel's state is nothing but (w, b).
    problem = make_problem(PARALLEL_MIN_N + 3, seed=4)
    descend = get_kernel(kernel)
    w, b = 0.0, 0.0
    for _ in range(5):
        w, b = descend(problem.x, problem.y, w, b, 0.3, 1)
    assert (w, b) == descend(problem.x, problem.y, 0.0, 0.0, 0.3, 5)


@pytest.mark.parametrize("kernel", NEW_KERNELS)
def test_zero_epochs_return_the_start(kernel):
    if kernel == "jax" and not JAX_INSTALLED:
        with pytest.raises(ValueError, match=r"\.\[jax\]"):
            fit([0.0, 1.0], [1.0, 2.0], kernel=kernel, epochs=0)
        return
    problem = make_problem(10, seed=1)
    result = fit(problem.x, problem.y, kernel=kernel, epochs=0, w0=0.25, b0=-1.5)
    assert (result.w, result.b) == (0.25, -1.5)


@pytest.mark.parametrize("kernel", NEW_KERNELS)
def test_divergence_is_non_finite_and_silent(kernel):
    problem = make_problem(10, seed=3)
    if kernel == "jax" and not JAX_INSTALLED:
        with pytest.raises(ValueError, match=r"\.\[jax\]"):
            fit(problem.x, problem.y, kernel=kernel, learning_rate=10.0, epochs=2000)
        return
    reference = fit(problem.x, problem.y, kernel="numba", learning_rate=10.0, epochs=2000)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result = fit(problem.x, problem.y, kernel=kernel, learning_rate=10.0, epochs=2000)
    assert reference.diverged
    assert result.diverged
    assert not (math.isfinite(result.w) and math.isfinite(result.b))


# --- Statistics-based kernels: large offsets, long single calls ----------------------------------


def offset_problem(n, seed, offset=1e4):
    """x = offset + U[0,1), y = w·x + b, and a learning rate well inside the converging range."""
    rng = np.random.default_rng(seed)
    x = offset + rng.random(n)
    w, b = rng.random(), rng.random()
    return x, w * x + b, 0.4 * critical_learning_rate(x)


# numba_simd and numba_parallel regroup the residual's terms (Σ s·x − b·Σ x, Σ s − N·b). Started far
# from the line (b0 = 100), b·Σ x and N·b are large beside the gradient sums they are taken from, and
# must cancel within the bound.
@pytest.mark.parametrize("kernel", ["numba_simd", "numba_parallel", *FROM_STATISTICS])
@pytest.mark.parametrize(("seed", "w0", "b0"), [(0, 0.0, 0.0), (1, 0.0, 0.0), (2, -1.0, 100.0)])
def test_large_offset_trajectory_agrees_with_correctly_rounded_reference(kernel, seed, w0, b0):
    x, y, learning_rate = offset_problem(40, seed)
    ws, bs = trajectory(kernel, x, y, learning_rate, 150, w0, b0)
    ref_w, ref_b = trajectory_fsum(x, y, w0, b0, learning_rate, 150)
    bound_w, bound_b = kernel_bound(kernel, x, y, ws, bs, w0, b0, learning_rate)
    ref_bound_w, ref_bound_b = trajectory_bound(x, y, ref_w, ref_b, w0, b0, learning_rate, 1)
    assert_within(f"{kernel} w", ws, ref_w, bound_w + ref_bound_w)
    assert_within(f"{kernel} b", bs, ref_b, bound_b + ref_bound_b)


@pytest.mark.parametrize("kernel", ["numba_parallel", "sufficient_stats_parallel"])
def test_large_offset_on_the_blocked_path_agrees_with_correctly_rounded_reference(kernel):
    # From PARALLEL_MIN_N samples on, the parallel kernels sum blocks (sufficient_stats_parallel all
    # about one shift), and numba_parallel adds up Σ x from its blocks in the first epoch; started far
    # from the line, so that b·Σ x weighs. The trajectory is a chain of one-epoch calls: one call of
    # every epoch, which reuses Σ x, must end where the chain does.
    x, y, learning_rate = offset_problem(PARALLEL_MIN_N + 17, seed=2)
    w0, b0, epochs = -1.0, 100.0, 20
    ws, bs = trajectory(kernel, x, y, learning_rate, epochs, w0, b0)
    ref_w, ref_b = trajectory_fsum(x, y, w0, b0, learning_rate, epochs)
    bound_w, bound_b = kernel_bound(kernel, x, y, ws, bs, w0, b0, learning_rate)
    ref_bound_w, ref_bound_b = trajectory_bound(x, y, ref_w, ref_b, w0, b0, learning_rate, 1)
    assert_within(f"{kernel} w", ws, ref_w, bound_w + ref_bound_w)
    assert_within(f"{kernel} b", bs, ref_b, bound_b + ref_bound_b)
    assert get_kernel(kernel)(x, y, w0, b0, learning_rate, epochs) == (ws[-1], bs[-1])


@pytest.mark.parametrize(
    ("make", "epochs"),
    [
        # Slow enough that every epoch still moves the parameters far more than the bound.
        (lambda: (lambda p: (p.x, p.y, 0.01))(make_problem(30, seed=7, noise=0.1)), 3000),
        (lambda: offset_problem(30, seed=2), 1000),
    ],
    ids=["unit-interval", "offset-1e4"],
)
def test_closed_form_single_call_agrees_with_correctly_rounded_reference(make, epochs):
    # One call of many epochs is where the closed form differs from stepping; compare its end point.
    x, y, learning_rate = make()
    w, b = get_kernel("closed_form")(x, y, 0.0, 0.0, learning_rate, epochs)
    ref_w, ref_b = trajectory_fsum(x, y, 0.0, 0.0, learning_rate, epochs)
    ref_bound_w, ref_bound_b = trajectory_bound(x, y, ref_w, ref_b, 0.0, 0.0, learning_rate, 1)
    statistics = centred_statistics(x, y)
    bound_w, bound_b = closed_form_bound(x, y, statistics, 0.0, 0.0, learning_rate, epochs)
    assert_within("closed_form w", w, ref_w[-1], bound_w + ref_bound_w[-1])
    assert_within("closed_form b", b, ref_b[-1], bound_b + ref_bound_b[-1])


def test_centred_statistics_against_correctly_rounded_sums():
    x, y, _ = offset_problem(500, seed=3)
    shift_x, shift_y, sum_u, sum_v, sum_uu, sum_uv = centred_statistics(x, y)
    assert x.min() <= shift_x <= x.max()
    assert y.min() <= shift_y <= y.max()
    # The deviations rounded here are the kernel's (the same IEEE subtraction). Against their correctly
    # rounded sum the kernel's differs by its sum (depth ≤ n − 1) and, for products, the product's
    # rounding; fsum adds one rounding and the magnitude Σ|terms| one more.
    u, v = x - shift_x, y - shift_y
    n = x.shape[0]
    for name, computed, terms, roundings in [
        ("Σu", sum_u, u, n + 1),
        ("Σv", sum_v, v, n + 1),
        ("Σu²", sum_uu, u * u, n + 2),
        ("Σuv", sum_uv, u * v, n + 2),
    ]:
        difference = abs(computed - math.fsum(terms))
        assert difference <= gamma(roundings) * math.fsum(np.abs(terms)), name


# --- Registry, documentation, optional JAX --------------------------------------------------------


@pytest.mark.parametrize("kernel", NEW_KERNELS)
def test_kernel_is_registered_and_documents_cost_and_order(kernel):
    spec = KERNELS[kernel]
    assert spec.exactness == "bounded"
    # Read without importing: the optional kernel's module imports JAX.
    source = Path(importlib.util.find_spec(spec.module).origin).read_text(encoding="utf-8")
    docstring = ast.get_docstring(ast.parse(source))
    assert "Cost:" in docstring
    assert "Floating-point order:" in docstring


def test_jax_is_listed_exactly_when_installed():
    assert ("jax" in kernel_names()) == JAX_INSTALLED


def test_missing_jax_is_left_out_and_its_extra_named(monkeypatch):
    real_find_spec = importlib.util.find_spec

    def find_spec(name, *args, **kwargs):
        return None if name == "jax" else real_find_spec(name, *args, **kwargs)

    monkeypatch.setattr(importlib.util, "find_spec", find_spec)
    assert "jax" not in kernel_names()
    with pytest.raises(ValueError, match=r"pip install -e '\.\[jax\]'"):
        fit([0.0, 1.0], [1.0, 3.0], kernel="jax")


def test_importing_impls_does_not_import_jax():
    code = (
        "import sys, impls\n"
        "impls.kernel_names()\n"
        "impls.fit([0.0, 1.0], [1.0, 3.0], kernel='numpy', epochs=2)\n"
        "print('jax' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


@pytest.mark.parametrize("n", [1, 7, 100])
def test_jax_agrees_with_python_loop_or_is_refused(n):
    problem = make_problem(n, seed=n, noise=0.1)
    if not JAX_INSTALLED:
        with pytest.raises(ValueError, match=r"\.\[jax\]"):
            fit(problem.x, problem.y, kernel="jax")
        return
    assert_agrees_with_python_loop("jax", problem.x, problem.y, 0.3, 20, w0=0.5, b0=-0.5)


def test_jax_device_arrays_compile_time_and_scoped_x64():
    problem = make_problem(50, seed=5)
    if not JAX_INSTALLED:
        with pytest.raises(ValueError, match=r"\.\[jax\]"):
            fit(problem.x, problem.y, kernel="jax")
        return
    import jax

    from impls import jax_jit

    x64_before = jax.config.jax_enable_x64
    on_device = jax_jit.prepare(problem.x, problem.y)
    assert str(on_device[0].dtype) == "float64"
    from_numpy = jax_jit.descend(problem.x, problem.y, 0.1, 0.2, 0.3, 25)
    assert jax_jit.descend(*on_device, 0.1, 0.2, 0.3, 25) == from_numpy
    seconds = jax_jit.compile_seconds()
    assert 0 < seconds < 60
    assert jax_jit.device_description().startswith(jax.devices()[0].platform)
    assert jax.config.jax_enable_x64 == x64_before


def test_without_the_jit_the_fast_kernels_run_as_plain_python(tmp_path):
    # NUMBA_DISABLE_JIT is how one steps through a kernel in a debugger: the compiler hints and the
    # C calls of the load check must then be plain Python too. Large enough for the parallel paths;
    # two epochs, because the first sums differently (Σ x too).
    problem = make_problem(PARALLEL_MIN_N + 5, seed=2)
    kernels = ("numba_simd", "numba_parallel", "sufficient_stats_parallel")
    code = (
        "import sys, numpy as np\n"
        "from impls import numba_simd, numba_parallel, sufficient_stats_parallel\n"
        "from bench.run.probes import stream\n"
        "x, y = np.load(sys.argv[1]), np.load(sys.argv[2])\n"
        f"for module in ({', '.join(kernels)}):\n"
        "    print(*(float(v) for v in module.descend(x, y, 0.1, -0.2, 0.05, 2)))\n"
        "stream(x, y, 0.0, 0.0, 0.1, 1)\n"
    )
    paths = []
    for name, values in (("x", problem.x), ("y", problem.y)):
        paths.append(tmp_path / f"{name}.npy")
        np.save(paths[-1], values)
    done = subprocess.run(
        [sys.executable, "-c", code, *map(str, paths)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "NUMBA_DISABLE_JIT": "1"},
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    for kernel, line in zip(kernels, done.stdout.splitlines(), strict=True):
        jitted = importlib.import_module(f"impls.{kernel}").descend(problem.x, problem.y, 0.1, -0.2, 0.05, 2)
        # The same terms, summed in the loop's order rather than in lanes: the same to a few roundings.
        assert tuple(map(float, line.split())) == pytest.approx(jitted, rel=1e-12), kernel
