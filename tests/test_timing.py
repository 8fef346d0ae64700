"""Warm-up, cost estimate and round plans of the benchmarks (bench/run/timing.py), on a fake clock."""

import pytest

from bench.run import timing


class FakeClock:
    """A perf_counter that only advances when the fake kernel runs, by ``cost`` per call."""

    def __init__(self, costs):
        self.now = 0.0
        self.costs = list(costs)
        self.calls = 0

    def perf_counter(self):
        return self.now

    def call(self):
        cost = self.costs[min(self.calls, len(self.costs) - 1)]
        self.calls += 1
        self.now += cost


@pytest.fixture
def clock(monkeypatch):
    def install(*costs):
        fake = FakeClock(costs)
        monkeypatch.setattr(timing.time, "perf_counter", fake.perf_counter)
        return fake

    return install


def test_a_slow_interpreted_first_call_is_an_estimate_confirmed_by_one_more(clock):
    fake = clock(2.0, 2.5)
    assert timing.seconds_per_call(fake.call, 0.5, first_call_is_estimate=True) == 2.0
    assert fake.calls == 2  # the first call, and one more that agrees with it


def test_a_compiled_kernels_first_call_is_only_a_warm_up(clock):
    fake = clock(5.0, 2.0)  # the first call compiles
    assert timing.seconds_per_call(fake.call, 0.5, first_call_is_estimate=False) == 2.0
    assert fake.calls == 3  # warm-up, an estimate, and its confirmation


def test_fast_calls_are_timed_in_doubling_batches(clock):
    fake = clock(1.0)
    # Warm-up, then batches of 1, 2 and 4 calls; the batch of 4 is the first to last 3 s; then 4 more.
    assert timing.seconds_per_call(fake.call, 3.0, first_call_is_estimate=True) == 1.0
    assert fake.calls == 1 + 1 + 2 + 4 + 4


def test_an_interrupted_estimate_is_taken_again(clock):
    # A neighbour stalls the first estimate tenfold: the next two agree, and the plan takes them.
    fake = clock(1e-3, 1e-2, 1e-3, 1e-3)
    assert timing.seconds_per_call(fake.call, 1e-3, first_call_is_estimate=False) == pytest.approx(1e-3)
    assert fake.calls == 4


def test_estimates_that_never_agree_settle_on_their_median(clock):
    fake = clock(1.0, 1.0, 10.0, 1.0, 10.0, 100.0)
    estimate = timing.seconds_per_call(fake.call, 0.5, first_call_is_estimate=False)
    assert estimate == 5.5 and fake.calls == 1 + timing.MAX_ESTIMATES


def test_slow_calls_get_the_minimum_rounds_of_one_call():
    plan = timing.plan_rounds(seconds_per_call=10.0, seconds_per_benchmark=1.0)
    assert plan == timing.RoundPlan(rounds=timing.MIN_ROUNDS, iterations=1)


def test_fast_calls_are_batched_into_at_most_max_rounds():
    budget = 0.5
    plan = timing.plan_rounds(seconds_per_call=1e-7, seconds_per_benchmark=budget)
    round_seconds = plan.iterations * 1e-7
    assert round_seconds >= timing.target_round_seconds(budget)
    assert plan.rounds <= timing.MAX_ROUNDS
    # The rounds fill the budget to within one round.
    assert budget - round_seconds <= plan.rounds * round_seconds <= budget


def test_middling_calls_fill_the_budget_one_call_per_round():
    plan = timing.plan_rounds(seconds_per_call=0.1, seconds_per_benchmark=1.0)
    assert plan.iterations == 1
    assert timing.MIN_ROUNDS <= plan.rounds <= timing.MAX_ROUNDS
    assert 0.9 <= plan.rounds * 0.1 <= 1.0 + 1e-12


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"seconds_per_call": 0.0, "seconds_per_benchmark": 1.0}, "seconds_per_call"),
        ({"seconds_per_call": 1.0, "seconds_per_benchmark": -1.0}, "seconds_per_benchmark"),
        ({"seconds_per_call": 1.0, "seconds_per_benchmark": 1.0, "min_rounds": 0}, "min_rounds"),
        (
            {"seconds_per_call": 1.0, "seconds_per_benchmark": 1.0, "min_rounds": 5, "max_rounds": 4},
            "max_rounds",
        ),
    ],
)
def test_plan_rounds_refuses_impossible_arguments(kwargs, name):
    with pytest.raises(ValueError, match=name):
        timing.plan_rounds(**kwargs)
