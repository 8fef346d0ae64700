"""The front door ``impls.fit``: results, history, divergence and every kind of bad input."""

from __future__ import annotations

import math
import warnings
from fractions import Fraction

import numpy as np
import pytest

from impls import KERNELS as REGISTRY
from impls import fit, kernel_names, make_problem, mse

# Kernels on a Dask cluster pay a scheduler round trip per epoch and a cluster start per bare call, too
# slow for 20 000-epoch runs: tests/test_dask.py runs them on one shared cluster. Input validation
# happens before any kernel runs, so the bad-input tests below cover every kernel.
KERNELS = [name for name in kernel_names() if not REGISTRY[name].distributed]
ALL_KERNELS = kernel_names()
GOOD_X = np.array([0.1, 0.5, 0.9])
GOOD_Y = np.array([1.0, 2.0, 3.0])


@pytest.mark.parametrize("kernel", KERNELS)
def test_zero_epochs_returns_the_start(kernel):
    result = fit(GOOD_X, GOOD_Y, kernel=kernel, epochs=0, w0=0.25, b0=-1.5)
    assert (result.w, result.b) == (0.25, -1.5)
    assert not result.diverged


@pytest.mark.parametrize("kernel", KERNELS)
def test_one_sample_is_fitted(kernel):
    # With N=1 the MSE is minimised by any line through the point; the descent must reach one.
    result = fit([2.0], [3.0], kernel=kernel, learning_rate=0.05, epochs=2000)
    assert result.w * 2.0 + result.b == pytest.approx(3.0, abs=1e-9)


@pytest.mark.parametrize("kernel", KERNELS)
def test_noise_free_data_converges_to_the_truth(kernel):
    x, y, w_true, b_true = make_problem(200, seed=7)
    # About 300 epochs take the error below 1e-9 (J's slowest eigenvalue is 0.93 here): 2000 leave room.
    result = fit(x, y, kernel=kernel, learning_rate=0.5, epochs=2_000)
    assert result.w == pytest.approx(w_true, abs=1e-9)
    assert result.b == pytest.approx(b_true, abs=1e-9)


@pytest.mark.parametrize("kernel", KERNELS)
def test_result_types(kernel):
    result = fit(GOOD_X, GOOD_Y, kernel=kernel, epochs=3)
    assert type(result.w) is float
    assert type(result.b) is float
    assert result.diverged is False
    assert result.kernel == kernel
    assert result.history is None


def test_history_samples_the_notebook_epochs():
    x, y, _, _ = make_problem(10, seed=3)
    result = fit(x, y, kernel="numpy", epochs=500, record_every=50)
    assert result.history.epoch.tolist() == list(range(0, 500, 50))
    # Each recorded point is the state after epoch e, i.e. after e + 1 updates from the start.
    for i, epoch in enumerate(result.history.epoch):
        direct = fit(x, y, kernel="numpy", epochs=int(epoch) + 1)
        assert (result.history.w[i], result.history.b[i]) == (direct.w, direct.b)
        assert result.history.loss[i] == mse(x, y, direct.w, direct.b)
    # Recording must not change where the descent ends.
    plain = fit(x, y, kernel="numpy", epochs=500)
    assert (result.w, result.b) == (plain.w, plain.b)


def test_history_loss_decreases_on_a_convergent_run():
    x, y, _, _ = make_problem(50, seed=11)
    loss = fit(x, y, epochs=300, record_every=10).history.loss
    assert np.all(np.diff(loss) < 0)


def test_mse_is_the_mean_of_squared_residuals():
    x = np.array([0.0, 1.0, 2.0])
    y = np.array([1.0, 1.0, 1.0])
    # residuals at w=1, b=0 are 1, 0, -1
    assert mse(x, y, 1.0, 0.0) == pytest.approx(2 / 3)


@pytest.mark.parametrize("kernel", KERNELS)
def test_divergence_is_reported_not_raised(kernel):
    x, y, _, _ = make_problem(20, seed=5)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no flood of overflow warnings: none at all
        result = fit(x, y, kernel=kernel, learning_rate=50.0, epochs=400, record_every=100)
    assert result.diverged
    assert not (math.isfinite(result.w) and math.isfinite(result.b))


def test_divergence_looks_the_same_for_every_kernel():
    x, y, _, _ = make_problem(20, seed=5)
    outcomes = {kernel: (fit(x, y, kernel=kernel, learning_rate=50.0, epochs=400)) for kernel in KERNELS}
    nan_patterns = {(math.isnan(r.w), math.isnan(r.b)) for r in outcomes.values()}
    assert len(nan_patterns) == 1, outcomes


@pytest.mark.parametrize("dtype", [np.float32, np.float16, np.int64, np.int32, np.uint8])
def test_integer_and_narrow_float_data_are_converted_exactly(dtype):
    x = np.array([0, 1, 2, 3], dtype=dtype)
    y = np.array([1, 3, 5, 7], dtype=dtype)
    converted = fit(x, y, kernel="numpy", epochs=50)
    as_float64 = fit(x.astype(np.float64), y.astype(np.float64), kernel="numpy", epochs=50)
    assert (converted.w, converted.b) == (as_float64.w, as_float64.b)


def test_lists_are_accepted():
    result = fit([0.0, 1.0], [1.0, 3.0], kernel="numpy", epochs=10)
    expected = fit(np.array([0.0, 1.0]), np.array([1.0, 3.0]), kernel="numpy", epochs=10)
    assert (result.w, result.b) == (expected.w, expected.b)


def test_input_arrays_are_not_modified():
    x, y = GOOD_X.copy(), GOOD_Y.copy()
    fit(x, y, epochs=10)
    np.testing.assert_array_equal(x, GOOD_X)
    np.testing.assert_array_equal(y, GOOD_Y)


# Each case: keyword arguments to fit, the exception type, and text its message must contain
# (the argument's name and the offending value).
BAD_INPUTS = {
    "empty x": (dict(x=[], y=[]), ValueError, ["x", "empty"]),
    "different lengths": (dict(x=[1.0, 2.0], y=[1.0]), ValueError, ["len(x)=2", "len(y)=1"]),
    "2-D x": (dict(x=np.ones((2, 2)), y=np.ones(2)), ValueError, ["x", "1-D", "(2, 2)"]),
    "scalar y": (dict(x=[1.0], y=3.0), ValueError, ["y", "1-D", "()"]),
    "NaN in x": (dict(x=[1.0, np.nan], y=[1.0, 2.0]), ValueError, ["x[1]", "nan"]),
    "inf in y": (dict(x=[1.0, 2.0], y=[np.inf, 2.0]), ValueError, ["y[0]", "inf"]),
    "-inf in y": (dict(x=[1.0, 2.0], y=[1.0, -np.inf]), ValueError, ["y[1]", "-inf"]),
    "string x": (dict(x=["a", "b"], y=[1.0, 2.0]), TypeError, ["x", "real numbers", "<U1"]),
    "object x": (dict(x=[1.0, None], y=[1.0, 2.0]), TypeError, ["x", "object"]),
    "complex y": (dict(x=[1.0], y=[1j]), TypeError, ["y", "complex"]),
    "bool x": (dict(x=[True, False], y=[1.0, 2.0]), TypeError, ["x", "bool"]),
    "ragged x": (dict(x=[[1.0], [1.0, 2.0]], y=[1.0, 2.0]), TypeError, ["x", "1-D"]),
    "huge int x": (dict(x=[2**60, 1], y=[1, 2]), ValueError, ["x[0]", str(2**60), "2**53"]),
    "longdouble x": (
        dict(x=np.ones(2, dtype=np.longdouble), y=[1.0, 2.0]),
        TypeError,
        ["x", "float128" if np.dtype(np.longdouble).itemsize == 16 else "float"],
    ),
    "zero learning rate": (dict(learning_rate=0.0), ValueError, ["learning_rate", "0.0"]),
    "negative learning rate": (dict(learning_rate=-0.1), ValueError, ["learning_rate", "-0.1"]),
    "nan learning rate": (dict(learning_rate=float("nan")), ValueError, ["learning_rate", "nan"]),
    "inf learning rate": (dict(learning_rate=float("inf")), ValueError, ["learning_rate", "inf"]),
    "string learning rate": (dict(learning_rate="0.1"), TypeError, ["learning_rate", "'0.1'"]),
    "negative epochs": (dict(epochs=-1), ValueError, ["epochs", "-1"]),
    "float epochs": (dict(epochs=10.0), TypeError, ["epochs", "10.0"]),
    "bool epochs": (dict(epochs=True), TypeError, ["epochs", "True"]),
    "nan w0": (dict(w0=float("nan")), ValueError, ["w0", "nan"]),
    "inf b0": (dict(b0=float("-inf")), ValueError, ["b0", "-inf"]),
    "None w0": (dict(w0=None), TypeError, ["w0", "None"]),
    "zero record_every": (dict(record_every=0), ValueError, ["record_every", "0"]),
    "float record_every": (dict(record_every=2.5), TypeError, ["record_every", "2.5"]),
    # One domain of epochs for every kernel: 0 <= epochs < 2**63.
    "epochs 2**63": (dict(epochs=2**63), ValueError, ["epochs", str(2**63), "< 2**63"]),
    "epochs 2**64": (dict(epochs=2**64), ValueError, ["epochs", str(2**64), "< 2**63"]),
    "uint64 epochs 2**63": (dict(epochs=np.uint64(2**63)), ValueError, ["epochs", str(2**63)]),
    "epochs 10**400": (dict(epochs=10**400), ValueError, ["epochs", "< 2**63", "401 digits"]),
    # The history is bounded: 10**10 epochs recorded every 50 would be 2·10**8 points.
    "record_every records too much": (
        dict(epochs=10**10, record_every=50),
        ValueError,
        ["record_every=50", "200000000 points", "epochs=10000000000", "record_every >= 10000"],
    ),
    # Python ints (and fractions) too large for a float name the argument, not a bare OverflowError.
    "learning rate 10**400": (dict(learning_rate=10**400), ValueError, ["learning_rate", "401 digits"]),
    "w0 -10**400": (dict(w0=-(10**400)), ValueError, ["w0", "-10000000000", "401 digits"]),
    "b0 10**400": (
        dict(b0=10**400),
        ValueError,
        ["b0", "100000000000...0000 (401 digits)", "beyond float64"],
    ),
    "b0 huge fraction": (dict(b0=Fraction(10**400, 3)), ValueError, ["b0", "Fraction(1000"]),
    # A masked array's mask would be dropped and the masked values used: refused, masked or not.
    "masked x": (
        dict(x=np.ma.array([0.1, 50.0, 0.9], mask=[False, True, False])),
        TypeError,
        ["x is a masked array", "numpy.ma"],
    ),
    "masked y, nothing masked": (dict(y=np.ma.array(GOOD_Y)), TypeError, ["y is a masked array"]),
    "masked element in a list": (dict(x=[0.1, np.ma.masked, 0.9]), TypeError, ["x[1]", "numpy.ma.masked"]),
}


@pytest.mark.parametrize("kernel", ALL_KERNELS)
@pytest.mark.parametrize("case", list(BAD_INPUTS))
def test_bad_input_raises_a_clear_error(kernel, case):
    overrides, error, fragments = BAD_INPUTS[case]
    kwargs = dict(x=GOOD_X, y=GOOD_Y, kernel=kernel, epochs=5) | overrides
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # e.g. NumPy's "converting a masked element to nan"
        with pytest.raises(error) as excinfo:
            fit(**kwargs)
    for fragment in fragments:
        assert fragment in str(excinfo.value)


def test_unknown_kernel_lists_the_known_ones():
    with pytest.raises(ValueError, match="unknown kernel 'fortran'") as excinfo:
        fit(GOOD_X, GOOD_Y, kernel="fortran")
    for name in ALL_KERNELS:
        assert name in str(excinfo.value)


def test_kernel_must_be_a_string():
    with pytest.raises(TypeError, match="kernel must be a string, got 3"):
        fit(GOOD_X, GOOD_Y, kernel=3)
