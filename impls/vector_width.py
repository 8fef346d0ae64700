"""A compiler hint for the vectorized Numba kernels: use the CPU's widest vector registers.

LLVM tunes its code for recent Intel cores with "prefer-256-bit": a loop it vectorizes uses 256-bit
registers even where the CPU has 512-bit ones (AVX-512), because on the first such cores the wide
instructions lowered the clock. A loop whose data sits in the caches is then held back by its
arithmetic more than it need be: ``numba_simd``, with more operations per sample than the ``stream``
probe (three against two), gains more from the wider registers than the probe does (``docs/memory-limit.md``).

``widest_vectors()`` called in a jitted function gives that function LLVM's
``"prefer-vector-width"="512"`` attribute, which is what ``clang -mprefer-vector-width=512`` sets:
its loops may then be vectorized in 512-bit registers. It is a preference, not an instruction set:
on a CPU without AVX-512 nothing changes. Numba offers no option for it, and llvmlite's IR builder
accepts only a fixed list of attribute names, so the attribute is added to the function's set as
the text LLVM's parser reads (a test checks the compiled code uses the wide registers where the CPU
has them). With ``NUMBA_DISABLE_JIT`` set it is a function that does nothing.
"""

from __future__ import annotations

import numba
from numba import types
from numba.extending import intrinsic

#: The function attribute, as LLVM's textual IR writes it.
PREFER_512_BIT = '"prefer-vector-width"="512"'


@intrinsic
def _prefer_512_bit(typingctx):
    """Mark the jitted function that calls this to prefer 512-bit vectors."""

    def codegen(context, builder, signature, args):
        # set.add: llvmlite's FunctionAttributes.add refuses names outside its list.
        set.add(builder.function.attributes, PREFER_512_BIT)
        return context.get_dummy_value()

    return types.none(), codegen


def _no_hint() -> None:
    """Plain Python runs the kernels' code as it is written (``NUMBA_DISABLE_JIT``): no compiler."""


#: ``widest_vectors()``: see the module's docstring.
widest_vectors = _no_hint if numba.config.DISABLE_JIT else _prefer_512_bit
