"""Full-batch gradient descent for 1-D linear regression, several ways, behind one front door.

>>> from impls import fit, make_problem
>>> x, y, w_true, b_true = make_problem(100, seed=1)
>>> result = fit(x, y, kernel="numpy", learning_rate=0.5, epochs=2000)
>>> abs(result.w - w_true) < 1e-6
True
"""

from impls.descent import FitResult, History, fit, mse, stability_limit
from impls.problem import Problem, make_problem
from impls.registry import KERNELS, Kernel, get_kernel, kernel_names

__all__ = [
    "KERNELS",
    "FitResult",
    "History",
    "Kernel",
    "Problem",
    "fit",
    "get_kernel",
    "kernel_names",
    "make_problem",
    "mse",
    "stability_limit",
]
