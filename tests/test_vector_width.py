"""``widest_vectors`` gives the vectorized loops the CPU's widest registers, and nothing else changes.

The attribute must reach LLVM (its IR names it) and, where Numba compiles for a CPU with AVX-512,
the machine code must use 512-bit (zmm) registers: llvmlite's IR builder has no supported way to
write the attribute, so a change there would silently fall back to 256-bit loops.
"""

from __future__ import annotations

import re

import llvmlite.binding as llvm
import numba
import numpy as np
import pytest
from numba import njit, typeof

from bench.run.probes import stream
from impls import numba_parallel, numba_simd
from impls.vector_width import PREFER_512_BIT, widest_vectors

ARRAYS = (np.linspace(0.0, 1.0, 1000), np.linspace(1.0, 2.0, 1000))


def compiles_for_avx512() -> bool:
    """Whether Numba compiles for a CPU with AVX-512: the host's, unless NUMBA_CPU_NAME names another."""
    features = numba.config.CPU_FEATURES
    if features is None:
        host = numba.config.CPU_NAME in (None, "host")
        features = llvm.get_host_cpu_features().flatten() if host else ""
    return "+avx512f" in features.split(",")


def compiled(dispatcher, *args) -> tuple[str, str]:
    """(LLVM IR, machine code) of ``dispatcher`` for ``args``' types, compiling it if need be."""
    signature = tuple(typeof(value) for value in args)
    dispatcher.compile(signature)
    return dispatcher.inspect_llvm(signature), dispatcher.inspect_asm(signature)


#: The functions that hold a vectorized loop, and the kernels that call them (where LLVM inlines them).
LOOPS = {
    "numba_simd epoch": (numba_simd.deviation_sums, (*ARRAYS, 0.1)),
    "numba_simd first epoch": (numba_simd.deviation_sums_and_x, (*ARRAYS, 0.1)),
    "stream": (stream, (*ARRAYS, 0.1, 0.2, 0.3, 5)),
}
CALLERS = {
    "numba_simd": (numba_simd.descend, (*ARRAYS, 0.1, 0.2, 0.3, 5)),
    "numba_parallel.block_sums": (numba_parallel.block_sums, (*ARRAYS, 0.1, 3)),
    "numba_parallel.block_sums_and_x": (numba_parallel.block_sums_and_x, (*ARRAYS, 0.1, 3)),
}


@pytest.mark.parametrize("name", [*LOOPS, *CALLERS])
def test_the_vectorized_loops_prefer_the_widest_registers(name):
    dispatcher, args = {**LOOPS, **CALLERS}[name]
    ir, asm = compiled(dispatcher, *args)
    if name in LOOPS:
        assert PREFER_512_BIT in ir
    zmm = re.findall(r"%zmm\d+", asm)
    # Without AVX-512 the preference cannot be met, and must not break the compile.
    assert bool(zmm) == compiles_for_avx512(), f"{len(zmm)} zmm registers"


def test_only_a_function_that_asks_gets_the_attribute():
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

    x = np.arange(1000, dtype=np.float64)
    plain(x)
    widest(x)
    assert PREFER_512_BIT not in plain.inspect_llvm(plain.signatures[0])
    assert PREFER_512_BIT in widest.inspect_llvm(widest.signatures[0])
