"""``python -m impls``: the notebook's output format, its options, and one-line errors."""

from __future__ import annotations

import re
import subprocess
import sys

import numpy as np
import pytest

from impls import KERNELS, fit, kernel_names, make_problem
from impls.cli import main

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
    status, out, _ = run_cli(capsys, "--n", "30", "--epochs", "120", "--every", "40", "--seed", "9",
                             "--learning-rate", "0.05", "--kernel", "numpy")
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


BAD_ARGS = {
    "zero samples": (["--n", "0"], "n must be at least 1, got 0"),
    "non-integer n": (["--n", "ten"], "invalid int value: 'ten'"),
    "negative epochs": (["--epochs", "-5"], "epochs must be >= 0, got -5"),
    "zero learning rate": (["--learning-rate", "0"], "learning_rate must be > 0, got 0.0"),
    "nan learning rate": (["--learning-rate", "nan"], "learning_rate must be finite, got nan"),
    "unknown kernel": (["--kernel", "cobol"], "unknown kernel 'cobol'"),
    "zero every": (["--every", "0"], "record_every must be >= 1 or None, got 0"),
    "negative noise": (["--noise", "-1"], "noise must be finite and >= 0, got -1.0"),
    "negative seed": (["--seed", "-3"], "seed must be non-negative, got -3"),
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
    proc = subprocess.run([sys.executable, "-m", "impls", "--n", "-1"], capture_output=True,
                          text=True, check=False)
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert proc.stderr == "python -m impls: error: n must be at least 1, got -1\n"
    ok = subprocess.run([sys.executable, "-m", "impls", "--help"], capture_output=True, text=True,
                        check=False)
    assert ok.returncode == 0
    for option in ("--n", "--epochs", "--learning-rate", "--seed", "--kernel", "--every", "--noise"):
        assert option in ok.stdout


def test_too_many_samples_for_memory_is_one_line_and_exit_2(capsys):
    # 10^13 float64 samples are 80 TB: NumPy refuses the allocation at once.
    status, out, err = run_cli(capsys, "--n", str(10**13), "--kernel", "numpy")
    assert (status, out) == (2, "")
    assert err == f"python -m impls: error: --n {10**13} samples do not fit in memory\n"


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
