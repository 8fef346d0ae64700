"""The benchmarks' arrays start on a fixed boundary in every process (bench/run/placement.py)."""

import numpy as np
import pytest

from bench.run import placement, plugin
from impls import make_problem


@pytest.mark.parametrize("n", [1, 7, 1000, 100_003])
@pytest.mark.parametrize("offset", [0, 1, 2, 3])
def test_a_copy_starts_on_the_boundary_with_the_same_values(n, offset):
    # A view that starts offset elements into a fresh array: 8-byte steps off whatever numpy chose.
    source = np.arange(n + offset, dtype=np.float64)[offset:]
    copy = placement.aligned(source)
    assert copy.ctypes.data % placement.ALIGNMENT == 0
    assert copy.dtype == source.dtype and copy.flags.c_contiguous
    np.testing.assert_array_equal(copy, source)
    assert not np.shares_memory(copy, source)


def test_other_alignments_and_shapes():
    source = np.ones((3, 5), dtype=np.float32)
    copy = placement.aligned(source, 4096)
    assert copy.ctypes.data % 4096 == 0 and copy.shape == (3, 5)
    np.testing.assert_array_equal(copy, source)


@pytest.mark.parametrize("alignment", [0, -64, 1.5, True])
def test_a_bad_alignment_is_refused_by_name(alignment):
    with pytest.raises(ValueError, match="alignment must be a whole number of bytes >= 1"):
        placement.aligned(np.ones(3), alignment)


def test_the_sweep_times_aligned_copies_of_the_seeded_data():
    problem = plugin._problem(1000)
    expected = make_problem(1000, seed=0)
    for got, want in zip(problem, expected, strict=True):
        np.testing.assert_array_equal(got, want)
    assert problem.x.ctypes.data % placement.ALIGNMENT == 0
    assert problem.y.ctypes.data % placement.ALIGNMENT == 0
