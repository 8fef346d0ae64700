"""The committed results stay light, and the A/A evidence loads from its batch files.

That every committed report still loads is tests/test_history.py's to show (it reads them all).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.aa import load_pairs

RESULTS = Path(__file__).resolve().parent.parent / "results"
#: What results/ may weigh: the analysis needs the committed runs, not raw per-batch dumps.
BUDGET_BYTES = 20 * 2**20


def test_results_stay_within_their_budget():
    sizes = {path: path.stat().st_size for path in RESULTS.rglob("*") if path.is_file()}
    total = sum(sizes.values())
    biggest = sorted(sizes, key=sizes.get, reverse=True)[:3]
    assert total <= BUDGET_BYTES, f"results/ holds {total:,} bytes; the biggest: {biggest}"


@pytest.mark.parametrize("run", ["aa", "aa-15-batches", "aa-confirm"])
def test_every_committed_aa_run_loads_from_its_batch_file(run):
    pairs = load_pairs(RESULTS / run / "batches.csv.gz")
    assert len(pairs) == 10
    for a, b in pairs:
        assert a.source == b.source == "batches"
        assert set(a.batches["batch"]) == set(b.batches["batch"])
