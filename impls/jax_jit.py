"""JAX: the vectorized epoch under ``jax.jit``, the epochs a ``lax.fori_loop``, in float64.

Needs the optional extra: ``pip install -e '.[jax]'``.

Cost: O(N · epochs) in XLA-compiled code, plus one compilation per array length (the first call for
each N); the epoch count, w, b and the learning rate are traced values, so changing them does not
recompile.

64-bit mode: JAX computes in float32 unless ``jax_enable_x64`` is set. Importing this module does not
flip that process-wide switch; every trace, compile and call here runs inside ``jax.enable_x64(True)``,
so other JAX code in the same process keeps its defaults.

Outside the timed region: ``descend`` accepts NumPy arrays, which JAX copies to its device on every
call, or the device arrays of ``prepare(x, y)``, made once. The first call for a given N compiles;
``compile_seconds()`` measures a fresh trace, lowering and compilation on tiny data, and
``device_description()`` names the device the kernel runs on.

Floating-point order: the terms are ``numpy``'s (((2/N)·r_i)·(−x_i), r_i = y_i − (w·x_i + b)). XLA
computes them element by element as written — it folds the constant (2/N)·(−1) of the b-term into one
number, which only removes a rounding — and marks only the additions of its reductions as
reassociable: it sums in partial windows and then across them, an order of its choosing. The results
agree with ``python_loop`` within the any-order bound of ``tests/error_bounds.py``.
"""

from __future__ import annotations

import time

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax


def _descend(x, y, w, b, learning_rate, epochs):
    n = x.shape[0]

    def one_epoch(_, params):
        w, b = params
        residual = y - (w * x + b)
        dl_dw = jnp.sum((2 / n) * residual * (-x))
        dl_db = jnp.sum((2 / n) * residual * (-1))
        return w - dl_dw * learning_rate, b - dl_db * learning_rate

    return lax.fori_loop(0, epochs, one_epoch, (w, b))


_descend_jit = jax.jit(_descend)


def prepare(x: np.ndarray, y: np.ndarray) -> tuple[jax.Array, jax.Array]:
    """``x`` and ``y`` as float64 arrays on JAX's default device, for ``descend``."""
    with jax.enable_x64(True):
        return jax.device_put(jnp.asarray(x, dtype=jnp.float64)), jax.device_put(
            jnp.asarray(y, dtype=jnp.float64)
        )


def descend(
    x: np.ndarray | jax.Array,
    y: np.ndarray | jax.Array,
    w: float,
    b: float,
    learning_rate: float,
    epochs: int,
) -> tuple[float, float]:
    """Run ``epochs`` full-batch updates from (w, b) and return the final (w, b)."""
    with jax.enable_x64(True):
        w, b = _descend_jit(x, y, w, b, learning_rate, epochs)
        # float() waits for the device, so a timed call includes the whole computation.
        return float(w), float(b)


def compile_seconds() -> float:
    """Seconds to trace, lower and compile a fresh copy of the kernel for an 8-sample problem."""
    x = np.linspace(0.0, 1.0, 8)
    y = 2.0 * x + 1.0

    # A new function object: JAX caches traces per function, so this one starts from nothing.
    def fresh(x, y, w, b, learning_rate, epochs):
        return _descend(x, y, w, b, learning_rate, epochs)

    with jax.enable_x64(True):
        start = time.perf_counter()
        jax.jit(fresh).lower(x, y, 0.0, 0.0, 0.1, 1).compile()
        return time.perf_counter() - start


def device_description() -> str:
    """The device this kernel runs on and the JAX version, e.g. ``"cpu (cpu), jax 0.10.2"``."""
    device = jax.devices()[0]
    return f"{device.platform} ({device.device_kind}), jax {jax.__version__}"
