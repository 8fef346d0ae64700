"""Benchmarks of the impls kernels (`pytest bench --benchmark-only`) and the tools that read their reports."""
