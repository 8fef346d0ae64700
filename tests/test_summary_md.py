"""The wording of crossovers in summary.md (bench.present.summary_md)."""

from __future__ import annotations

from bench.present.summary_md import crossover_text


def _row(**changes):
    row = {
        "kernel_a": "a",
        "kernel_b": "b",
        "n_min": 10,
        "n_max": 10_000,
        "crossings": [],
        "faster_first": "a",
        "speedup_min": 2.0,
        "speedup_max": 40.0,
        "resolved": True,
    }
    row.update(changes)
    return row


def test_crossover_text_names_who_wins_where():
    assert crossover_text(_row()) == "`a` faster everywhere measured, 2–40× (N 10–10k)"
    one = crossover_text(_row(crossings=[67.4], faster_first="b"))
    assert one == "`b` below N≈67.4, `a` above (N 10–10k)"
    two = crossover_text(_row(crossings=[31.6, 316.0]))
    assert two == "`a` below N≈31.6, `b` N≈31.6–316, `a` above (N 10–10k)"


def test_crossover_text_flags_spread_and_single_n():
    assert crossover_text(_row(resolved=False)).endswith("(within spread)")
    single = crossover_text(_row(n_max=10, speedup_max=2.0))
    assert single == "`a` faster, 2× (only N = 10 measured)"
    assert crossover_text(_row(faster_first="")).startswith("tie at every measured N")
