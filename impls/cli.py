"""``python -m impls``: replay the notebook's run (N=10, 500 epochs, learning rate 0.01) with any kernel."""

from __future__ import annotations

import argparse
import contextlib
import sys
from collections.abc import Sequence

import numpy as np

from impls.descent import fit
from impls.problem import make_problem
from impls.registry import KERNELS, kernel_names


class OneLineParser(argparse.ArgumentParser):
    """An argparse parser whose usage errors are one line on stderr and exit status 2.

    Every command-line tool of the project (``python -m impls``, ``bench.compare``, ``bench.plot``, …)
    uses it, so they all fail the same way.
    """

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    """The command-line interface; every default is the notebook's."""
    parser = OneLineParser(
        prog="python -m impls",
        description=(
            "Replay the notebook: make N samples x ~ U[0,1), y = w*x + b with random true w, b, run "
            "full-batch gradient descent on the mean squared error from w = b = 0, print the loss "
            "every few epochs and the converged parameters next to the true ones."
        ),
    )
    parser.add_argument("--n", type=int, default=10, help="number of samples N (default: 10)")
    parser.add_argument("--epochs", type=int, default=500, help="number of epochs (default: 500)")
    parser.add_argument(
        "--learning-rate", type=float, default=0.01, help="step size of each update (default: 0.01)"
    )
    parser.add_argument(
        "--seed", type=int, default=0, help="seed of the random problem; same seed, same data (default: 0)"
    )
    parser.add_argument(
        "--kernel",
        default="numba",
        help=f"implementation to run, one of: {', '.join(kernel_names())} (default: numba)",
    )
    parser.add_argument(
        "--every", type=int, default=50, help="print the loss after every k-th epoch (default: 50)"
    )
    parser.add_argument(
        "--noise", type=float, default=0.0, help="std. deviation of Gaussian noise on y (default: 0)"
    )
    return parser


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
    args = parser.parse_args(argv)
    try:
        problem = make_problem(args.n, seed=args.seed, noise=args.noise)
        # A kernel on a Dask cluster is called once per printed segment: one cluster serves them all.
        with _cluster_for(args.kernel):
            result = fit(
                problem.x,
                problem.y,
                kernel=args.kernel,
                learning_rate=args.learning_rate,
                epochs=args.epochs,
                record_every=args.every,
            )
    except (TypeError, ValueError) as exc:
        print(f"{parser.prog}: error: {exc}", file=sys.stderr)
        return 2
    except MemoryError:
        print(f"{parser.prog}: error: --n {args.n} samples do not fit in memory", file=sys.stderr)
        return 2

    # The notebook prints NumPy scalars and 1-element arrays; printing the same types keeps its format.
    for epoch, loss in zip(result.history.epoch, result.history.loss):
        print(f"Epoch: {epoch} -- Loss: {np.float64(loss)}")
    print(f"Converged w: {np.float64(result.w)} -- Actual w: {np.array([problem.w])}")
    print(f"Converged b: {np.float64(result.b)} -- Actual b: {np.array([problem.b])}")
    if result.diverged:
        print(
            f"{parser.prog}: warning: the descent diverged; try a smaller --learning-rate "
            f"than {args.learning_rate}",
            file=sys.stderr,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
