"""Benchmarks of the impls kernels (``pytest bench --benchmark-only``) and the tools that read them.

Layers, each a subpackage; imports run one way, from the top of this list down:

- commands (the modules here: ``compare``, ``plot``, ``targets``, ``gate``, ``aa``,
  ``beyond_memory``): parse a command line, call the layers below, print, exit;
- ``gating``: the gate's machinery (git worktrees, batches in separate processes);
- ``run``: the pytest plugin that runs the sweep and writes its report;
- ``present``: number formats, tables, figures, summary.md, comparison tables;
- ``analysis``: comparison statistics, scaling fits, crossovers, speedups, targets, A/A;
- ``reports``: the report model (schema, loading and validating, pooling, writing).
"""
