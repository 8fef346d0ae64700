"""The front door: ``fit`` validates its input once, then hands clean arrays to a kernel."""

from __future__ import annotations

import math
import numbers
from array import array
from dataclasses import dataclass

import numpy as np

from impls.registry import KERNELS, get_kernel, kernel_names

#: Integers beyond this magnitude do not all have an exact float64; converting them would silently
#: change the data, so ``fit`` refuses them instead.
_MAX_EXACT_INT = 2**53

#: ``epochs`` must be below this for every kernel: the compiled ones (Numba, JAX) count epochs in a signed
#: 64-bit integer, so ``fit`` gives all of them that one domain, 0 <= epochs < 2**63.
EPOCHS_LIMIT = 2**63

#: Most points ``record_every`` may record. The history grows as the descent runs (nothing is allocated
#: per recorded point before the work starts), and never beyond this: 10**6 points are 32 MB.
MAX_RECORDED = 10**6

#: ``diverged`` is set when a bound on every value any kernel computes exceeds 2**SAFE_LOG2 (about
#: 1.07e301): a factor 2**24 below float64's largest number, a margin for the bound's rounding.
SAFE_LOG2 = 1000

# The divergence check reads the data in blocks of this many samples, so it allocates O(1), not O(N).
_BLOCK = 1 << 16


@dataclass(frozen=True)
class History:
    """The descent sampled after epochs ``epoch`` (0, k, 2k, …; 0-based, as the notebook prints)."""

    epoch: np.ndarray
    w: np.ndarray
    b: np.ndarray
    #: Mean squared error at (w, b), computed as the notebook does: ``np.sum((y - y_pred)**2 / N)``.
    loss: np.ndarray


@dataclass(frozen=True)
class FitResult:
    """Outcome of ``fit``: the final parameters, whether they blew up, and the recorded history."""

    w: float
    b: float
    diverged: bool
    kernel: str
    epochs: int
    history: History | None = None


def fit(
    x,
    y,
    kernel: str = "numba",
    learning_rate: float = 0.01,
    epochs: int = 500,
    w0: float = 0.0,
    b0: float = 0.0,
    record_every: int | None = None,
) -> FitResult:
    """Fit y ≈ w·x + b by full-batch gradient descent on the mean squared error.

    ``x`` and ``y`` are 1-D array-likes of real numbers. Integer and float16/float32 data are converted
    to float64 (exactly: integers beyond ±2**53, which float64 cannot all hold, are refused); booleans,
    complex numbers, strings, objects and masked arrays (``numpy.ma``: fit has no notion of a missing
    sample, and would silently use the masked values) are refused. ``learning_rate`` is a finite real
    > 0, ``w0`` and ``b0`` finite reals, ``epochs`` an integer with 0 <= epochs < 2**63 (one domain for
    every kernel). ``record_every=k`` records (w, b) and the MSE after epochs 0, k, 2k, … in
    ``result.history``, at most ``MAX_RECORDED`` points; the history grows as the descent runs.

    ``diverged`` is decided here, once, from the problem — the same for every kernel. It is True when
    ``epochs`` > 0 and

    * the learning rate is at or beyond the stability limit 2/λ_max, λ_max the largest eigenvalue of
      the MSE's Hessian H = 2·[[mean(x²), mean(x)], [mean(x), 1]] (``stability_limit``): the error
      along its eigenvector is multiplied by 1 − learning_rate·λ_max, of modulus >= 1, every epoch, so
      the descent cannot converge; or
    * the magnitudes are beyond what float64 can carry: a bound on every value any kernel computes,
      from N, max|x|, max|y| and the farthest the exact descent can get from 0 (‖ζ*‖ + ‖ζ₀ − ζ*‖ for
      the start ζ₀ = (w0, b0) and the least-squares solution ζ*; below the limit every epoch brings ζ
      no farther from ζ*), exceeds 2**SAFE_LOG2 ≈ 1e301 — w0=1e308, say — so that some kernel may
      overflow where another does not; or
    * a returned ``w`` or ``b`` is not finite (a safeguard: below the two thresholds no kernel
      overflows, except that ``closed_form`` run for ~2**60 epochs at a rate within rounding of the
      limit may amplify its own rounding errors).

    When ``diverged`` is False, ``w`` and ``b`` are finite whatever the kernel; when True they are no
    fit (huge, inf or NaN, depending on the kernel and the epochs). Either way it is a result, not an
    error, and no warning is issued.

    Raises ``TypeError`` or ``ValueError`` naming the argument and its value for any bad input.
    """
    x_arr = _as_samples("x", x)
    y_arr = _as_samples("y", y)
    if x_arr.shape != y_arr.shape:
        raise ValueError(
            f"x and y must have the same length, got len(x)={x_arr.shape[0]} and len(y)={y_arr.shape[0]}"
        )
    name = check_kernel(kernel)
    lr = check_learning_rate(learning_rate)
    n_epochs = check_epochs(epochs)
    w = check_start("w0", w0)
    b = check_start("b0", b0)
    every = check_record_every(record_every, n_epochs)
    descend = get_kernel(name)  # only now: no kernel module is imported for bad input

    unstable = n_epochs > 0 and diverges(x_arr, y_arr, lr, w, b)
    # Divergence is a legitimate outcome, not an error: keep NumPy from warning once per overflow.
    with np.errstate(over="ignore", invalid="ignore"):
        if every is None:
            w, b = descend(x_arr, y_arr, w, b, lr, n_epochs)
            history = None
        else:
            w, b, history = _descend_recording(descend, x_arr, y_arr, w, b, lr, n_epochs, every)
    w, b = float(w), float(b)
    return FitResult(
        w=w,
        b=b,
        diverged=unstable or not (math.isfinite(w) and math.isfinite(b)),
        kernel=name,
        epochs=n_epochs,
        history=history,
    )


def mse(x: np.ndarray, y: np.ndarray, w: float, b: float) -> float:
    """Mean squared error of (w, b) on (x, y), in the notebook's order of operations."""
    y_pred = w * x + b
    return float(np.sum((y - y_pred) ** 2 / x.shape[0], axis=0))


def stability_limit(x: np.ndarray) -> float:
    """The learning rate at and beyond which the descent diverges on samples ``x``: 2 / λ_max(H).

    H = 2·[[s, m], [m, 1]] is the MSE's Hessian (whatever y is), m = mean(x), s = mean(x²) = var(x) + m²
    from the centred sum of squares. Its largest eigenvalue, (s + 1) + hypot(s − 1, 2·m), is a sum of
    non-negative terms: no cancellation, so it is accurate to a few roundings (0.0 when it overflows).
    """
    largest = _largest_eigenvalue(_centred(np.ascontiguousarray(x, dtype=np.float64), None))
    return 2.0 / largest if math.isfinite(largest) else 0.0


def diverges(x: np.ndarray, y: np.ndarray, learning_rate: float, w0: float, b0: float) -> bool:
    """Whether a descent of one epoch or more from (w0, b0) has ``diverged`` (see ``fit``), before it runs.

    ``x`` and ``y`` are float64 1-D arrays and the scalars validated, as ``fit`` passes them.
    """
    stats = _centred(x, y)
    if not learning_rate * _largest_eigenvalue(stats) < 2.0:  # NaN counts as beyond the limit
        return True
    return _log2_magnitude_bound(stats, w0, b0) > SAFE_LOG2


def check_kernel(kernel) -> str:
    """``kernel`` if it names a kernel usable here, else an error naming it (and what to install)."""
    if not isinstance(kernel, str):
        raise TypeError(f"kernel must be a string, got {kernel!r}")
    if kernel not in KERNELS:
        raise ValueError(f"unknown kernel {kernel!r}; known kernels: {', '.join(kernel_names())}")
    spec = KERNELS[kernel]
    if not spec.available():
        raise ValueError(
            f"kernel {kernel!r} needs {', '.join(spec.requires)}, which is not installed here; "
            f"install it with: pip install -e '.[{spec.extra}]'"
        )
    return kernel


def check_learning_rate(learning_rate) -> float:
    """``learning_rate`` as a float, if it is a finite real > 0; else an error naming it."""
    lr = _real("learning_rate", learning_rate)
    if not lr > 0:
        raise ValueError(f"learning_rate must be > 0, got {learning_rate!r}")
    return lr


def check_epochs(epochs) -> int:
    """``epochs`` as an int, if it is an integer with 0 <= epochs < 2**63; else an error naming it."""
    n_epochs = _non_negative_int("epochs", epochs)
    if n_epochs >= EPOCHS_LIMIT:
        raise ValueError(
            f"epochs must be < 2**63 (kernels count epochs in a signed 64-bit integer), "
            f"got {_short_number(epochs)}"
        )
    return n_epochs


def check_start(name: str, value) -> float:
    """A starting parameter (``w0``, ``b0``) as a float, if it is a finite real; else an error naming it."""
    return _real(name, value)


def check_record_every(record_every, epochs: int) -> int | None:
    """``record_every`` as an int (or None), if >= 1 and recording at most ``MAX_RECORDED`` points."""
    if record_every is None:
        return None
    every = _non_negative_int("record_every", record_every)
    if every == 0:
        raise ValueError(f"record_every must be >= 1 or None, got {record_every!r}")
    count = -(-epochs // every)  # len(range(0, epochs, every))
    if count > MAX_RECORDED:
        least = -(-epochs // MAX_RECORDED)
        raise ValueError(
            f"record_every={every} would record {count} points over epochs={epochs}, more than the "
            f"{MAX_RECORDED} that fit keeps; use record_every >= {least}"
        )
    return every


def _descend_recording(descend, x, y, w, b, lr, epochs, every):
    # Epochs run in segments that end at the recorded points (after epoch 0, k, 2k, …). A kernel's
    # state is only (w, b), so chaining calls reproduces a single call's iterates exactly. The history
    # is appended to as the segments finish (8 bytes a value), never allocated ahead of the work.
    ws, bs, losses = array("d"), array("d"), array("d")
    done = 0
    for epoch in range(0, epochs, every):
        w, b = descend(x, y, w, b, lr, epoch + 1 - done)
        done = epoch + 1
        ws.append(float(w))
        bs.append(float(b))
        losses.append(mse(x, y, w, b))
    w, b = descend(x, y, w, b, lr, epochs - done)
    history = History(
        epoch=np.fromiter(range(0, epochs, every), dtype=np.int64, count=len(ws)),
        w=np.array(ws, dtype=np.float64),
        b=np.array(bs, dtype=np.float64),
        loss=np.array(losses, dtype=np.float64),
    )
    return w, b, history


@dataclass(frozen=True)
class _Centred:
    """What the divergence rule needs of the data: N, means, centred sums, largest magnitudes."""

    n: int
    x_mean: float
    y_mean: float
    sum_uu: float  # Σ(x − x̄)²
    sum_uv: float  # Σ(x − x̄)(y − ȳ)
    x_abs: float  # max |x|
    y_abs: float  # max |y|
    constant_x: bool


def _centred(x: np.ndarray, y: np.ndarray | None) -> _Centred:
    """Two passes over the data, in blocks (no N-element temporaries); overflow gives inf, silently."""
    n = x.shape[0]
    with np.errstate(all="ignore"):
        x_mean = float(np.mean(x))
        y_mean = float(np.mean(y)) if y is not None else 0.0
        sum_uu = sum_uv = 0.0
        for start in range(0, n, _BLOCK):
            u = x[start : start + _BLOCK] - x_mean
            sum_uu += float(np.dot(u, u))
            if y is not None:
                sum_uv += float(np.dot(u, y[start : start + _BLOCK] - y_mean))
        x_min, x_max = float(np.min(x)), float(np.max(x))
        y_abs = max(float(np.max(y)), -float(np.min(y))) if y is not None else 0.0
    return _Centred(n, x_mean, y_mean, sum_uu, sum_uv, max(x_max, -x_min), y_abs, x_min == x_max)


def _largest_eigenvalue(stats: _Centred) -> float:
    """λ_max of H = 2·[[s, m], [m, 1]], s = var(x) + m², m = mean(x) (inf when it overflows)."""
    m = stats.x_mean
    s = stats.sum_uu / stats.n + m * m
    return (s + 1.0) + math.hypot(s - 1.0, 2.0 * m)


def _log2_magnitude_bound(stats: _Centred, w0: float, b0: float) -> float:
    """log2 of a bound on every value a kernel computes in a descent below the stability limit.

    Below the limit J = I − lr·H is symmetric with eigenvalues in (−1, 1], so each epoch brings
    ζ = (w, b) no farther from a least-squares solution ζ*: |w|, |b| <= R = ‖ζ*‖ + ‖ζ₀ − ζ*‖ throughout
    (for constant x, ζ* is the solution nearest ζ₀). With M = max(1, max|x|) and Q = max|y| + R + 1,
    counting each kernel's operations gives at most 2**8·(N·M³·Q + M⁴·R): residuals and their products
    with x summed over N samples (N·M²·Q), the centred sums and their products with x̄
    (``sufficient_stats``: N·M³·Q), and ``closed_form``'s powers of the epoch map, whose entries are
    those of T·Jᵏ·T⁻¹ for the shear T = [[1, 0], [x̄, 1]] (M⁴·R).
    """
    if stats.constant_x or not stats.sum_uu > 0:
        # Every ζ with w·x̄ + b = ȳ is a solution; the nearest to ζ₀ lies along (x̄, 1).
        shift = (stats.y_mean - w0 * stats.x_mean - b0) / (1.0 + stats.x_mean * stats.x_mean)
        w_star, b_star = w0 + shift * stats.x_mean, b0 + shift
    else:
        w_star = stats.sum_uv / stats.sum_uu
        b_star = stats.y_mean - w_star * stats.x_mean
    reach = math.hypot(w_star, b_star) + math.hypot(w0 - w_star, b0 - b_star)
    big_x = max(1.0, stats.x_abs)
    big_q = stats.y_abs + reach + 1.0
    if not (math.isfinite(reach) and math.isfinite(big_x) and math.isfinite(big_q)):
        return math.inf
    terms = math.log2(stats.n) + 3 * math.log2(big_x) + math.log2(big_q)
    if reach > 0:
        terms = max(terms, 4 * math.log2(big_x) + math.log2(reach))
    return 9 + terms  # 2**8, and a + b <= 2·max(a, b)


def _as_samples(name: str, values) -> np.ndarray:
    """``values`` as a C-contiguous float64 1-D array, or an error naming ``name``."""
    # np.asarray would drop a mask and use the masked values: a masked-out outlier would steer the fit.
    if isinstance(values, np.ma.MaskedArray):
        raise TypeError(
            f"{name} is a masked array (numpy.ma), whose mask fit would ignore; drop the masked samples "
            f"from both x and y first, got {_short(values)}"
        )
    if isinstance(values, (list, tuple)):
        masked = next((i for i, value in enumerate(values) if value is np.ma.masked), None)
        if masked is not None:
            raise TypeError(
                f"{name}[{masked}] is numpy.ma.masked, a missing value; drop that sample from both x and y"
            )
    try:
        arr = np.asarray(values)
    except (TypeError, ValueError) as exc:  # ragged nested lists and the like
        raise TypeError(f"{name} must be a 1-D array of real numbers, got {_short(values)} ({exc})") from None
    if arr.dtype.kind not in "iuf":
        raise TypeError(
            f"{name} must hold real numbers (integer or float), got dtype {arr.dtype} in {_short(values)}"
        )
    if arr.dtype.kind == "f" and arr.dtype.itemsize > 8:
        raise TypeError(
            f"{name} has dtype {arr.dtype}, which float64 cannot hold exactly; convert it explicitly"
        )
    if arr.ndim != 1:
        raise ValueError(f"{name} must be 1-D, got an array of shape {arr.shape}")
    if arr.shape[0] == 0:
        raise ValueError(f"{name} is empty; it needs at least one sample")
    if arr.dtype.kind in "iu":
        too_big = np.flatnonzero((arr > _MAX_EXACT_INT) | (arr < -_MAX_EXACT_INT))
        if too_big.size:
            i = int(too_big[0])
            raise ValueError(
                f"{name}[{i}] = {arr[i]!r} is too large to convert to float64 exactly (|value| > 2**53)"
            )
    arr = np.ascontiguousarray(arr, dtype=np.float64)
    bad = np.flatnonzero(~np.isfinite(arr))
    if bad.size:
        i = int(bad[0])
        raise ValueError(
            f"{name} must be finite, but {name}[{i}] = {arr[i]!r} ({bad.size} non-finite value(s))"
        )
    return arr


def _real(name: str, value) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {value!r}")
    try:
        result = float(value)
    except OverflowError:  # an int or Fraction beyond float64's range
        raise ValueError(
            f"{name} must be finite, got {_short_number(value)}, which is beyond float64's range"
        ) from None
    if not math.isfinite(result):
        raise ValueError(f"{name} must be finite, got {value!r}")
    return result


def _non_negative_int(name: str, value) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer, got {value!r}")
    if value < 0:
        raise ValueError(f"{name} must be >= 0, got {value!r}")
    return int(value)


def _short(values) -> str:
    text = repr(values)
    return text if len(text) <= 60 else text[:57] + "..."


def _short_number(value) -> str:
    """``repr(value)``, with the middle digits of a huge integer left out (10**400 has 401 of them)."""
    text = repr(value)
    if isinstance(value, numbers.Integral) and len(text) > 40:
        return f"{text[:12]}...{text[-4:]} ({len(text.lstrip('-'))} digits)"
    return _short(value)
