"""Progress lines of long runs (bench/run/terminal.py): few lines, each with an estimate of time left."""

from bench.run.terminal import Progress, clock


def test_a_long_run_prints_one_line_per_tenth_with_the_time_left():
    progress = Progress(total=200, start=0.0)
    lines = [progress.tick(now=float(done)) for done in range(1, 201)]
    printed = [line for line in lines if line]
    assert len(printed) == 10  # not one per benchmark: a CI log stays readable
    assert printed[0] == "gdbench progress: 20/200 benchmarks (10%), 0:20 elapsed, ~3:00 left"
    assert printed[-1].startswith("gdbench progress: 200/200 benchmarks (100%), 3:20 elapsed, ~0:00 left")


def test_a_short_run_prints_every_benchmark():
    progress = Progress(total=4, start=10.0)
    assert [progress.tick(now=10.0 + 2 * i) is not None for i in range(1, 5)] == [True] * 4


def test_clock_reads_as_minutes_or_hours():
    assert (clock(59.6), clock(61), clock(3725)) == ("1:00", "1:01", "1:02:05")
