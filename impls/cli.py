"""``python -m impls``: replay the notebook's run (N=10, 500 epochs, learning rate 0.01) with any kernel."""

from __future__ import annotations

import argparse
import contextlib
import math
import sys
from collections.abc import Callable, Sequence
from decimal import Decimal, InvalidOperation
from typing import Any

import numpy as np

from impls.descent import (
    MAX_RECORDED,
    check_epochs,
    check_kernel,
    check_learning_rate,
    check_record_every,
    fit,
    stability_limit,
)
from impls.problem import make_problem
from impls.registry import KERNELS, kernel_names

#: Most digits an integer option may have (a seed can be large; 1e999999999 is not a number to build).
_MAX_DIGITS = 1000


class OneLineParser(argparse.ArgumentParser):
    """An argparse parser whose usage errors are one line on stderr and exit status 2.

    Every command-line tool of the project (``python -m impls``, ``bench.compare``, ``bench.plot``, …)
    uses it, so they all fail the same way.
    """

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    """The command-line interface; every default is the notebook's.

    Each option's value is checked as it is parsed, so a bad one is reported as ``argument --OPTION:
    …``, naming the option (``--every``, which depends on ``--epochs``, right after parsing).
    """
    parser = OneLineParser(
        prog="python -m impls",
        description=(
            "Replay the notebook: make N samples x ~ U[0,1), y = w*x + b with random true w, b, run "
            "full-batch gradient descent on the mean squared error from w = b = 0, print the loss "
            "every few epochs and the converged parameters next to the true ones."
        ),
    )
    parser.add_argument(
        "--n", type=_option(_integer, _positive("n")), default=10, help="number of samples N (default: 10)"
    )
    parser.add_argument(
        "--epochs",
        type=_option(_integer, check_epochs),
        default=500,
        help="number of epochs, below 2**63; 1e6 and the like are accepted (default: 500)",
    )
    parser.add_argument(
        "--learning-rate",
        type=_option(float, check_learning_rate),
        default=0.01,
        help="step size of each update (default: 0.01)",
    )
    parser.add_argument(
        "--seed",
        type=_option(_integer, _non_negative("seed")),
        default=0,
        help="seed of the random problem; same seed, same data (default: 0)",
    )
    parser.add_argument(
        "--kernel",
        type=_option(str, check_kernel),
        default="numba",
        help=f"implementation to run, one of: {', '.join(kernel_names())} (default: numba)",
    )
    parser.add_argument(
        "--every",
        type=_option(_integer, _positive("record_every")),
        default=50,
        help=f"print the loss after every k-th epoch, at most {MAX_RECORDED} times (default: 50)",
    )
    parser.add_argument(
        "--noise",
        type=_option(float, _noise),
        default=0.0,
        help="std. deviation of Gaussian noise on y (default: 0)",
    )
    return parser


def _option(convert: Callable[[str], Any], check: Callable[[Any], Any]) -> Callable[[str], Any]:
    """An argparse ``type``: ``convert`` the text, then ``check`` the value; errors become usage errors."""

    def parse(text: str) -> Any:
        try:
            value = convert(text)
        except (TypeError, ValueError):
            kind = "int" if convert is _integer else getattr(convert, "__name__", "")
            raise argparse.ArgumentTypeError(f"invalid {kind} value: {text!r}") from None
        try:
            return check(value)
        except (TypeError, ValueError) as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    return parse


def _integer(text: str) -> int:
    """An integer, written as digits or in integer-valued scientific notation (``1e6``, ``2.5e3``)."""
    try:
        return int(text)
    except ValueError:
        pass
    try:
        value = Decimal(text.strip())
    except InvalidOperation:
        raise ValueError(text) from None
    # A bound on the digits keeps 1e999999999 from building a billion-digit integer.
    if not value.is_finite() or value.adjusted() > _MAX_DIGITS or value != value.to_integral_value():
        raise ValueError(text)
    return int(value)


def _positive(name: str) -> Callable[[int], int]:
    def check(value: int) -> int:
        if value < 1:
            raise ValueError(f"{name} must be at least 1, got {value!r}")
        return value

    return check


def _non_negative(name: str) -> Callable[[int], int]:
    def check(value: int) -> int:
        if value < 0:
            raise ValueError(f"{name} must be non-negative, got {value!r}")
        return value

    return check


def _noise(value: float) -> float:
    if not (math.isfinite(value) and value >= 0):
        raise ValueError(f"noise must be finite and >= 0, got {value!r}")
    return value


def _cluster_for(kernel: str) -> contextlib.AbstractContextManager:
    """One Dask cluster for the whole run when ``kernel`` runs on one; nothing otherwise."""
    spec = KERNELS.get(kernel)
    if spec is None or not spec.distributed or not spec.available():
        return contextlib.nullcontext()  # fit reports an unknown or missing kernel itself
    from impls.dask_cluster import using  # Dask only for the runs that need it

    return using()


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status (2 for bad input, with one line on stderr)."""
    parser = build_parser()
    args = parser.parse_args(argv)  # a bad option's value exits here, naming the option
    try:
        every = check_record_every(args.every, args.epochs)
    except (TypeError, ValueError) as exc:
        return _error(parser, f"argument --every: {exc}")
    try:
        problem = make_problem(args.n, seed=args.seed, noise=args.noise)
    except (MemoryError, ValueError, OverflowError):  # n is valid: only its size can fail here
        return _error(parser, f"argument --n: {args.n} samples do not fit in memory")
    if not np.all(np.isfinite(problem.y)):
        return _error(parser, f"argument --noise: noise {args.noise!r} makes y = w*x + b + noise overflow")
    try:
        # A kernel on a Dask cluster is called once per printed segment: one cluster serves them all.
        with _cluster_for(args.kernel):
            result = fit(
                problem.x,
                problem.y,
                kernel=args.kernel,
                learning_rate=args.learning_rate,
                epochs=args.epochs,
                record_every=every,
            )
    except (TypeError, ValueError) as exc:  # every option was checked: what is left is the environment
        return _error(parser, str(exc))
    except MemoryError:
        return _error(parser, f"argument --n: {args.n} samples do not fit in memory")

    # The notebook prints NumPy scalars and 1-element arrays; printing the same types keeps its format.
    for epoch, loss in zip(result.history.epoch, result.history.loss):
        print(f"Epoch: {epoch} -- Loss: {np.float64(loss)}")
    print(f"Converged w: {np.float64(result.w)} -- Actual w: {np.array([problem.w])}")
    print(f"Converged b: {np.float64(result.b)} -- Actual b: {np.array([problem.b])}")
    if result.diverged:
        limit = stability_limit(problem.x)
        if args.learning_rate >= limit:
            why = (
                f"--learning-rate {args.learning_rate} is at or beyond this data's stability limit "
                f"{limit:.6g}; use a smaller one"
            )
        else:
            why = "the values are too large for float64 (try a smaller --noise)"
        print(f"{parser.prog}: warning: the descent diverged: {why}", file=sys.stderr)
    return 0


def _error(parser: argparse.ArgumentParser, message: str) -> int:
    print(f"{parser.prog}: error: {message}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
