"""Why the gate measures many short batches: the evidence in this A/A run, re-analysed.

Run from the project root: ``python results/aa/batching_study.py > results/aa/batching_study.txt``.
It measures nothing; it reads the reports of this folder (10 comparisons, 5 + 5 quick-sweep batches
of 0.2 s per benchmark) and prints

1. the between-batch spread of a cell's log median (median SD over cells), from every round of each
   batch and from only the first half of its rounds (what a shorter --bench-time would have timed);
2. how many injected 30% slowdowns the current ``bench.compare`` catches with the batches of each
   comparison, and with twice as many (each two consecutive comparisons merged into one: the
   second's batches ran after the first's, so the merged sides span more time than a gate's would,
   which if anything widens their spread), over all rounds and over the first half of them;
3. single batch against single batch (batch i of A against batch i of B, 50 pairs): how many pairs
   have a false alarm at each floor ``--between-run-sd``, which is all such comparisons rest on.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd

from bench import aa, compare, report

HERE = Path(__file__).parent


def first_half_of_rounds(rep: compare.Report) -> compare.Report:
    """The report as if each batch had stopped after the first half of its rounds (at least 5).

    Not the same as a shorter ``--bench-time`` (which also plans fewer calls per round), but the
    same question: does timing less in each batch widen the spread between batches?
    """
    rounds = compare._read_rounds(report.rounds_path(rep.path))
    keys = [*compare.CELL, "batch"]
    order = rounds.groupby(keys).cumcount()
    count = rounds.groupby(keys)["seconds"].transform("size")
    kept = rounds[order < np.maximum(5, (count + 1) // 2)]
    return replace(rep, batches=compare._batches_from_rounds(kept, rep.path))


def merged(reports: list[compare.Report]) -> compare.Report:
    """Several reports of one side pooled as one report with their batches renumbered."""
    parts, offset = [], 0
    for rep in reports:
        part = rep.batches.assign(batch=rep.batches["batch"] + offset)
        offset = int(part["batch"].max()) + 1
        parts.append(part)
    return replace(reports[0], batches=pd.concat(parts, ignore_index=True))


def between_batch_sd(pairs) -> float:
    everything = pd.concat([rep.batches for pair in pairs for rep in pair], ignore_index=True)
    return float(everything.groupby(compare.CELL)["log_median"].std().median())


def single_batches(rep: compare.Report) -> list[compare.Report]:
    """Each batch of a pooled report as a report of its own."""
    return [
        replace(rep, batches=group.assign(batch=0))
        for _, group in rep.batches.groupby("batch", sort=True)
    ]


def main() -> None:
    pairs = aa.load_pairs(HERE)
    halved = [tuple(first_half_of_rounds(rep) for rep in pair) for pair in pairs]
    print(f"between-batch SD of a cell's log median, median over cells: all rounds "
          f"{between_batch_sd(pairs):.2%}, first half of the rounds {between_batch_sd(halved):.2%}")
    for label, source in (("all rounds", pairs), ("first half of the rounds", halved)):
        doubled = [
            (merged([source[k][0], source[k + 1][0]]), merged([source[k][1], source[k + 1][1]]))
            for k in range(0, len(source) - 1, 2)
        ]
        for chosen in (source, doubled):
            result = aa.analyse(chosen)
            batches = int(chosen[0][0].batches["batch"].nunique())
            print(f"{label}, {batches} + {batches} batches: {result.false_alarms} false alarm(s) in "
                  f"{result.pairs} comparisons; 30% slowdowns caught {result.caught} of "
                  f"{len(result.cells)}")
    singles = [
        (a, b)
        for pair in pairs
        for a, b in zip(single_batches(pair[0]), single_batches(pair[1]), strict=True)
    ]
    for floor in (0.04, 0.06, 0.07, 0.08, 0.10):
        alarms = sum(
            len(compare.compare(a, b, between_run_sd=floor).regressions) > 0 for a, b in singles
        )
        print(f"one batch against one, floor {floor:.0%}: false alarms in {alarms} of "
              f"{len(singles)} pairs")


if __name__ == "__main__":
    main()
