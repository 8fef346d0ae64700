"""The front door: ``fit`` validates its input once, then hands clean arrays to a kernel."""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass

import numpy as np

from impls.registry import KERNELS, get_kernel, kernel_names

#: Integers beyond this magnitude do not all have an exact float64; converting them would silently
#: change the data, so ``fit`` refuses them instead.
_MAX_EXACT_INT = 2**53


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
    complex numbers, strings and objects are refused. ``record_every=k`` records (w, b) and the MSE
    after epochs 0, k, 2k, … in ``result.history``. A learning rate large enough to make the descent
    diverge is not an error: ``w``/``b`` come back non-finite and ``diverged`` is True.

    Raises ``TypeError`` or ``ValueError`` naming the argument and its value for any bad input.
    """
    x_arr = _as_samples("x", x)
    y_arr = _as_samples("y", y)
    if x_arr.shape != y_arr.shape:
        raise ValueError(
            f"x and y must have the same length, got len(x)={x_arr.shape[0]} and len(y)={y_arr.shape[0]}"
        )
    descend = get_kernel(_check_kernel(kernel))
    lr = _real("learning_rate", learning_rate)
    if not lr > 0:
        raise ValueError(f"learning_rate must be > 0, got {learning_rate!r}")
    n_epochs = _non_negative_int("epochs", epochs)
    w = _real("w0", w0)
    b = _real("b0", b0)
    if record_every is not None:
        record_every = _non_negative_int("record_every", record_every)
        if record_every == 0:
            raise ValueError(f"record_every must be >= 1 or None, got {record_every!r}")

    # Divergence is a legitimate outcome, not an error: keep NumPy from warning once per overflow.
    with np.errstate(over="ignore", invalid="ignore"):
        if record_every is None:
            w, b = descend(x_arr, y_arr, w, b, lr, n_epochs)
            history = None
        else:
            w, b, history = _descend_recording(descend, x_arr, y_arr, w, b, lr, n_epochs, record_every)
    w, b = float(w), float(b)
    return FitResult(
        w=w,
        b=b,
        diverged=not (math.isfinite(w) and math.isfinite(b)),
        kernel=kernel,
        epochs=n_epochs,
        history=history,
    )


def mse(x: np.ndarray, y: np.ndarray, w: float, b: float) -> float:
    """Mean squared error of (w, b) on (x, y), in the notebook's order of operations."""
    y_pred = w * x + b
    return float(np.sum((y - y_pred) ** 2 / x.shape[0], axis=0))


def _descend_recording(descend, x, y, w, b, lr, epochs, every):
    # Epochs run in segments that end at the recorded points (after epoch 0, k, 2k, …). A kernel's
    # state is only (w, b), so chaining calls reproduces a single call's iterates exactly.
    recorded = list(range(0, epochs, every))
    ws, bs, losses = [], [], []
    done = 0
    for epoch in recorded:
        w, b = descend(x, y, w, b, lr, epoch + 1 - done)
        done = epoch + 1
        ws.append(float(w))
        bs.append(float(b))
        losses.append(mse(x, y, w, b))
    w, b = descend(x, y, w, b, lr, epochs - done)
    history = History(
        epoch=np.asarray(recorded, dtype=np.int64),
        w=np.asarray(ws, dtype=np.float64),
        b=np.asarray(bs, dtype=np.float64),
        loss=np.asarray(losses, dtype=np.float64),
    )
    return w, b, history


def _check_kernel(kernel) -> str:
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


def _as_samples(name: str, values) -> np.ndarray:
    """``values`` as a C-contiguous float64 1-D array, or an error naming ``name``."""
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
    result = float(value)
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
