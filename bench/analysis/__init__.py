"""Analysis: what the reports mean (comparisons, scaling fits, crossovers, speedups, targets, A/A).

Pure functions from the report model's objects to tidy DataFrames and dataclasses; nothing here
formats or prints.
"""
