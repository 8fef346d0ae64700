"""Benchmark-only probes: descend-like callables timed in every cell beside the kernels.

A probe is not a kernel (``impls`` does not know it, and it need not compute a descent); it measures
something about the machine that the kernels' times are read against, e.g. the time to stream the
data once per epoch. Each entry maps a name to a callable with the kernels' signature
``(x, y, w, b, learning_rate, epochs)``. The sweep times it like a kernel, after the kernels of each
cell; ``--kernels`` can name it like a kernel; the end-of-run summary leaves it out (it is no
contender); its ``compile_s`` is empty.
"""

from __future__ import annotations

from impls.registry import Descend

PROBES: dict[str, Descend] = {}
