"""``widest_vectors`` gives the vectorized loops the CPU's widest registers, and nothing else changes.

The attribute must reach LLVM (its IR names it) and, where the CPU has AVX-512, the machine code
must use 512-bit (zmm) registers: llvmlite's IR builder has no supported way to write the attribute,
so a change there would silently fall back to 256-bit loops.
"""

from __future__ import annotations

import re

import llvmlite.binding as llvm
import numpy as np
import pytest
from numba import njit, typeof

from bench.run.probes import stream
from impls import numba_parallel, numba_simd
from impls.vector_width import PREFER_512_BIT, widest_vectors

HAS_AVX512 = bool(llvm.get_host_cpu_features().get("avx512f", False))
ARRAYS = (np.linspace(0.0, 1.0, 1000), np.linspace(1.0, 2.0, 1000))


def compiled(dispatcher, *args):
    """(LLVM IR, machine code) of ``dispatcher`` for ``args``' types, compiling it if need be."""
    dispatcher.compile(tuple(typeof(a) for a in args))
    signature = dispatcher.signatures[-1]
    return dispatcher.inspect_llvm(signature), dispatcher.inspect_asm(signature)


@pytest.mark.parametrize(
    ("dispatcher", "args"),
    [
        (numba_simd.descend, (*ARRAYS, 0.1, 0.2, 0.3, 5)),
        (stream, (*ARRAYS, 0.1, 0.2, 0.3, 5)),
        (numba_parallel.block_sums, (*ARRAYS, 0.1, 0.2, 3)),
    ],
    ids=["numba_simd", "stream", "numba_parallel.block_sums"],
)
def test_the_vectorized_loops_prefer_the_widest_registers(dispatcher, args):
    ir, asm = compiled(dispatcher, *args)
    assert PREFER_512_BIT in ir
    zmm = re.findall(r"%zmm\d+", asm)
    # Without AVX-512 the preference cannot be met, and must not break the compile.
    assert bool(zmm) == HAS_AVX512, f"{len(zmm)} zmm registers, host AVX-512: {HAS_AVX512}"


def test_a_loop_without_the_hint_gets_no_attribute_and_the_same_sums():
    @njit(cache=False, fastmath={"reassoc"})
    def plain(x):
        total = 0.0
        for value in x:
            total += value
        return total

    @njit(cache=False, fastmath={"reassoc"})
    def widest(x):
        widest_vectors()
        total = 0.0
        for value in x:
            total += value
        return total

    # Small integers: every order of addition is exact, so the lane count cannot change the sum.
    x = np.arange(1000, dtype=np.float64)
    assert plain(x) == widest(x) == 499_500.0
    assert PREFER_512_BIT not in plain.inspect_llvm(plain.signatures[0])
    assert PREFER_512_BIT in widest.inspect_llvm(widest.signatures[0])
