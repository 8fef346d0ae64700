"""``python -m impls``: the notebook's output format, its options, and one-line errors."""

from __future__ import annotations

import re
import subprocess
import sys

import numpy as np
import pytest

from impls import KERNELS, fit, kernel_names, make_problem
from impls.cli import main
from impls.descent import stability_limit

FLOAT = r"-?\d+(\.\d+)?(e[-+]\d+)?"


def run_cli(capsys, *argv):
    status = main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


def test_defaults_replay_the_notebook(capsys):
    status, out, err = run_cli(capsys)
    assert status == 0
    assert err == ""
    lines = out.splitlines()
    # 500 epochs printed every 50 -> epochs 0, 50, ..., 450, then the two "Converged" lines.
    assert len(lines) == 12
    for line, epoch in zip(lines[:10], range(0, 500, 50)):
        assert re.fullmatch(rf"Epoch: {epoch} -- Loss: {FLOAT}", line), line
    assert re.fullmatch(rf"Converged w: {FLOAT} -- Actual w: \[{FLOAT}\]", lines[10])
    assert re.fullmatch(rf"Converged b: {FLOAT} -- Actual b: \[{FLOAT}\]", lines[11])


def test_printed_numbers_are_those_of_fit(capsys):
    status, out, _ = run_cli(
        capsys,
        "--n",
        "30",
        "--epochs",
        "120",
        "--every",
        "40",
        "--seed",
        "9",
        "--learning-rate",
        "0.05",
        "--kernel",
        "numpy",
    )
    assert status == 0
    x, y, w_true, _ = make_problem(30, seed=9)
    result = fit(x, y, kernel="numpy", learning_rate=0.05, epochs=120, record_every=40)
    lines = out.splitlines()
    losses = [float(line.split("Loss: ")[1]) for line in lines[:-2]]
    assert losses == result.history.loss.tolist()  # repr round-trips float64 exactly
    assert float(lines[-2].split()[2]) == result.w
    assert float(lines[-1].split()[2]) == result.b
    assert lines[-2].endswith(f"Actual w: {np.array([w_true])}")


# Kernels on a Dask cluster start one per recorded segment here; tests/test_dask.py runs them on one.
@pytest.mark.parametrize("kernel", [k for k in kernel_names() if not KERNELS[k].distributed])
def test_every_kernel_runs_from_the_command_line(capsys, kernel):
    status, out, _ = run_cli(capsys, "--kernel", kernel, "--epochs", "60")
    assert status == 0
    assert out.splitlines()[-2].startswith("Converged w: ")


def test_divergence_is_a_warning_not_an_error(capsys):
    status, out, err = run_cli(capsys, "--learning-rate", "10", "--epochs", "1000")
    assert status == 0
    assert "Converged w: nan" in out
    assert err.count("\n") == 1 and "diverged" in err


def test_a_learning_rate_beyond_the_limit_is_named_with_the_limit(capsys):
    # lr = 3 on the default data: the iterates are still finite after 366 epochs (|w| ~ 1e307), but
    # the descent cannot converge, and the warning says so, with the limit to stay below.
    x, _, _, _ = make_problem(10, seed=0)
    status, out, err = run_cli(capsys, "--learning-rate", "3", "--epochs", "366", "--kernel", "numba")
    assert status == 0
    assert float(out.splitlines()[-2].split()[2]) != 0.0
    limit = f"{stability_limit(x):.6g}"
    assert err == (
        f"python -m impls: warning: the descent diverged: --learning-rate 3.0 is at or beyond "
        f"this data's stability limit {limit}; use a smaller one\n"
    )


def test_values_too_large_for_float64_are_a_warning_naming_noise(capsys):
    # Noise of 1e300 keeps y finite but the descent's sums out of float64's range; lr stays below the limit.
    status, _, err = run_cli(capsys, "--noise", "1e300", "--epochs", "5", "--every", "1")
    assert status == 0
    assert err.count("\n") == 1
    assert err.startswith("python -m impls: warning: the descent diverged: the values are too large")
    assert "--noise" in err


def test_integer_options_accept_scientific_notation(capsys):
    plain = run_cli(capsys, "--n", "20", "--epochs", "120", "--every", "40", "--kernel", "numpy")
    scientific = run_cli(capsys, "--n", "2e1", "--epochs", "1.2e2", "--every", "4E1", "--kernel", "numpy")
    assert scientific == plain
    assert plain[0] == 0 and plain[1].count("Epoch: ") == 3


# Each case names the option at fault, as argparse does ("argument --OPTION: ...").
BAD_ARGS = {
    "zero samples": (["--n", "0"], "argument --n: n must be at least 1, got 0"),
    "non-integer n": (["--n", "ten"], "argument --n: invalid int value: 'ten'"),
    "too many samples": (
        ["--n", "99999999999999999999"],
        "argument --n: 99999999999999999999 samples do not fit in memory",
    ),
    "negative epochs": (["--epochs", "-5"], "argument --epochs: epochs must be >= 0, got -5"),
    "fractional epochs": (["--epochs", "2.5"], "argument --epochs: invalid int value: '2.5'"),
    "epochs beyond 2**63": (
        ["--epochs", "99999999999999999999"],
        "argument --epochs: epochs must be < 2**63",
    ),
    "epochs and every 1e20": (
        ["--kernel", "closed_form", "--epochs", "1e20", "--every", "1e20"],
        f"argument --epochs: epochs must be < 2**63 (kernels count epochs in a "
        f"signed 64-bit integer), got {10**20}",
    ),
    "an absurd exponent": (["--epochs", "1e999999999"], "argument --epochs: invalid int value"),
    "too many printed epochs": (
        ["--epochs", "1e10"],
        "argument --every: record_every=50 would record 200000000 points",
    ),
    "zero learning rate": (
        ["--learning-rate", "0"],
        "argument --learning-rate: learning_rate must be > 0, got 0.0",
    ),
    "nan learning rate": (
        ["--learning-rate", "nan"],
        "argument --learning-rate: learning_rate must be finite, got nan",
    ),
    "overflowing learning rate": (
        ["--learning-rate", "1e400"],
        "argument --learning-rate: learning_rate must be finite, got inf",
    ),
    "unknown kernel": (["--kernel", "cobol"], "argument --kernel: unknown kernel 'cobol'"),
    "zero every": (["--every", "0"], "argument --every: record_every must be at least 1, got 0"),
    "negative noise": (["--noise", "-1"], "argument --noise: noise must be finite and >= 0, got -1.0"),
    "overflowing noise": (["--noise", "1e308"], "argument --noise: noise 1e+308 makes y = w*x + b + noise"),
    "negative seed": (["--seed", "-3"], "argument --seed: seed must be non-negative, got -3"),
    "unknown option": (["--fast"], "unrecognized arguments: --fast"),
}


@pytest.mark.parametrize("kernel", kernel_names())
@pytest.mark.parametrize("case", list(BAD_ARGS))
def test_bad_arguments_give_one_line_and_exit_2(capsys, case, kernel):
    argv, fragment = BAD_ARGS[case]
    if "--kernel" not in argv:
        argv = [*argv, "--kernel", kernel]
    try:
        status = main(argv)
    except SystemExit as exc:  # argparse's own errors exit from inside parse_args
        status = exc.code
    out, err = capsys.readouterr()
    assert status == 2
    assert out == ""
    assert err.count("\n") == 1, err
    assert err.startswith("python -m impls: error: ")
    assert fragment in err


def test_module_entry_point_in_a_real_process():
    proc = subprocess.run(
        [sys.executable, "-m", "impls", "--n", "-1"], capture_output=True, text=True, check=False
    )
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert proc.stderr == "python -m impls: error: argument --n: n must be at least 1, got -1\n"
    ok = subprocess.run(
        [sys.executable, "-m", "impls", "--help"], capture_output=True, text=True, check=False
    )
    assert ok.returncode == 0
    for option in ("--n", "--epochs", "--learning-rate", "--seed", "--kernel", "--every", "--noise"):
        assert option in ok.stdout


def test_too_many_samples_for_memory_is_one_line_and_exit_2(capsys):
    # 10^13 float64 samples are 80 TB: NumPy refuses the allocation at once.
    status, out, err = run_cli(capsys, "--n", str(10**13), "--kernel", "numpy")
    assert (status, out) == (2, "")
    assert err == f"python -m impls: error: argument --n: {10**13} samples do not fit in memory\n"


def test_a_dask_kernel_starts_one_cluster_for_all_printed_segments(capsys, monkeypatch):
    from impls import dask_cluster

    started = []
    real = dask_cluster.LocalCluster

    def counting(*args, **kwargs):
        started.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(dask_cluster, "LocalCluster", counting)
    status, out, _ = run_cli(capsys, "--kernel", "dask", "--epochs", "30", "--every", "10")
    assert status == 0
    assert out.count("Epoch: ") == 3
    assert started == [1]
