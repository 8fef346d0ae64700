"""``widest_vectors`` gives the vectorized loops the CPU's widest registers, and nothing else changes.

The attribute must reach LLVM (its IR names it) and, where Numba compiles for a CPU with AVX-512,
the machine code must use 512-bit (zmm) registers: llvmlite's IR builder has no supported way to
write the attribute, so a change there would silently fall back to 256-bit loops.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import llvmlite.binding as llvm
import numba
import numpy as np
import pytest
from numba import njit, typeof

from bench.run.probes import stream
from impls import make_problem, numba_parallel, numba_simd
from impls.vector_width import PREFER_512_BIT, widest_vectors

ROOT = Path(__file__).resolve().parents[1]
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


def test_without_the_jit_the_kernels_run_as_plain_python():
    problem = make_problem(40, seed=2)
    code = (
        "import sys, numpy as np\n"
        "from impls import numba_simd\n"
        "from bench.run.probes import stream\n"
        "x, y = (np.array([float(v) for v in line.split()]) for line in sys.stdin.read().splitlines())\n"
        "print(repr(numba_simd.descend(x, y, 0.1, -0.2, 0.05, 9)))\n"
        "stream(x, y, 0.0, 0.0, 0.1, 2)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        input="\n".join(" ".join(repr(float(v)) for v in a) for a in (problem.x, problem.y)),
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "NUMBA_DISABLE_JIT": "1"},
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    w, b = (float(v) for v in re.findall(r"[-+]?\d[\d.e+-]*", done.stdout.replace("np.float64", "")))
    jitted = numba_simd.descend(problem.x, problem.y, 0.1, -0.2, 0.05, 9)
    # The same terms, summed in the loop's order instead of in lanes: the same to a few roundings.
    assert (w, b) == pytest.approx(jitted, rel=1e-12)
