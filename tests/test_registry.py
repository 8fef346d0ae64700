"""The kernel registry: names, lazy import, and optional kernels whose dependency is missing."""

from __future__ import annotations

import inspect

import numpy as np
import pytest

import impls
from impls import KERNELS, Kernel, fit, get_kernel, kernel_names


def test_the_seed_kernels_are_registered_first():
    assert kernel_names()[:3] == ["python_loop", "numpy", "numba"]


@pytest.mark.parametrize("name", kernel_names())
def test_every_registered_kernel_has_the_common_signature_and_a_docstring(name):
    module = __import__(KERNELS[name].module, fromlist=["descend"])
    assert module.__doc__ and "Cost" in module.__doc__, "docstring must state the cost"
    descend = module.descend
    params = list(inspect.signature(getattr(descend, "py_func", descend)).parameters)
    assert params == ["x", "y", "w", "b", "learning_rate", "epochs"]


def test_exactness_is_one_of_the_documented_kinds():
    assert {k.exactness for k in KERNELS.values()} <= {"reference", "bitwise", "bounded"}


def test_a_kernel_is_one_module_plus_one_registry_line(monkeypatch):
    # Register an existing module under a new name, as a contributor would add a line: fit finds it.
    monkeypatch.setitem(
        KERNELS, "copy_of_numpy", Kernel("copy_of_numpy", "impls.numpy_vectorized", "test entry", "bounded")
    )
    assert "copy_of_numpy" in kernel_names()
    x, y = np.array([0.0, 1.0]), np.array([1.0, 2.0])
    got = fit(x, y, kernel="copy_of_numpy", epochs=5)
    expected = fit(x, y, kernel="numpy", epochs=5)
    assert (got.w, got.b) == (expected.w, expected.b)


def test_an_optional_kernel_without_its_dependency_is_hidden_and_explained(monkeypatch):
    missing = Kernel(
        "needs_missing",
        "impls.numpy_vectorized",
        "needs an absent package",
        "bounded",
        requires=("a_package_that_is_not_installed",),
        extra="imaginary",
    )
    monkeypatch.setitem(KERNELS, "needs_missing", missing)
    assert "needs_missing" not in kernel_names()
    with pytest.raises(ValueError, match=r"pip install -e '\.\[imaginary\]'") as excinfo:
        fit([1.0], [1.0], kernel="needs_missing")
    assert "a_package_that_is_not_installed" in str(excinfo.value)


def test_get_kernel_returns_the_module_function():
    assert get_kernel("numpy") is impls.numpy_vectorized.descend
