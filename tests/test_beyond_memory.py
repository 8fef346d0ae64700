"""The beyond-memory run (bench/beyond_memory.py) end to end on a small N: its record and its refusals."""

from __future__ import annotations

import contextlib
import io
import json
import math

import pytest

from bench import beyond_memory
from impls import dask_cluster


@pytest.fixture(autouse=True)
def _no_scheduler_from_the_environment(monkeypatch):
    monkeypatch.delenv(dask_cluster.SCHEDULER_ENV, raising=False)


@pytest.fixture(scope="module")
def recorded(tmp_path_factory):
    """One small run on one local worker: (exit status, stdout, the output folder)."""
    out = tmp_path_factory.mktemp("beyond_memory")
    argv = ["--n", "250000", "--chunk", "40000", "--workers", "1", "--epochs", "3000", "--out", str(out)]
    stdout = io.StringIO()
    with contextlib.redirect_stdout(stdout):
        status = beyond_memory.main(argv)
    return status, stdout.getvalue(), out


def test_a_run_writes_its_record_and_the_markdown_made_from_it(recorded):
    status, stdout, out = recorded
    assert status == 0
    [json_path] = out.glob("*.json")
    [md_path] = out.glob("*.md")
    record = json.loads(json_path.read_text())
    sizes = (record["n"], record["chunk"], record["chunks"], record["data_bytes"])
    assert sizes == (250_000, 40_000, 7, 16 * 250_000)
    assert record["dask_workers"] == 1 and record["dask_scheduler"] == dask_cluster.LOCAL
    assert record["statistics"]["n"] == 250_000
    assert record["peak_local_rss_bytes"] > 0 and record["peak_cluster_memory_bytes"] > 0
    assert all(math.isfinite(record[key]) for key in ("pass_s", "epochs_s"))
    # Noise-free data: the descent ends at the parameters the data were drawn from.
    assert record["w_fit"] == pytest.approx(record["w_true"], abs=1e-9)
    assert record["b_fit"] == pytest.approx(record["b_true"], abs=1e-9)
    assert record["command"].startswith("python -m bench.beyond_memory --n 250000 --chunk 40000")
    assert md_path.read_text() == beyond_memory.render_markdown(record)
    assert stdout.startswith(md_path.read_text())
    assert f"{record['pass_s']:,.1f} s" in md_path.read_text()


def test_render_prints_the_markdown_of_a_record(recorded, capsys):
    _, _, out = recorded
    [json_path] = out.glob("*.json")
    assert beyond_memory.main(["--render", str(json_path)]) == 0
    assert capsys.readouterr().out == json_path.with_suffix(".md").read_text()


def test_a_record_is_never_replaced(recorded):
    _, _, out = recorded
    [json_path] = out.glob("*.json")
    before = json_path.read_text()
    record = json.loads(before)
    with pytest.raises(FileExistsError, match="never replaced"):
        beyond_memory.write_record(out, {**record, "w_fit": 0.0})
    assert json_path.read_text() == before


@pytest.mark.parametrize(
    ("argv", "fragment"),
    [
        (["--n", "0"], "n must be >= 1, got 0"),
        (["--n", "10", "--chunk", "0"], "chunk must be >= 1, got 0"),
        (["--n", "10", "--learning-rate", "-1"], "--learning-rate must be finite and > 0, got -1.0"),
        (["--n", "10", "--epochs", "-1"], "--epochs must be >= 0, got -1"),
        (["--n", "ten"], "invalid int value: 'ten'"),
        ([], "--n is required"),
    ],
)
def test_bad_arguments_give_one_line_and_exit_2(capsys, tmp_path, argv, fragment):
    try:
        status = beyond_memory.main([*argv, "--out", str(tmp_path)])
    except SystemExit as exc:  # argparse's own errors exit from inside parse_args
        status = exc.code
    out, err = capsys.readouterr()
    assert (status, out) == (2, "")
    assert err.startswith("python -m bench.beyond_memory: error: ") and err.count("\n") == 1
    assert fragment in err
    assert not any(tmp_path.iterdir())  # nothing started, nothing written


def test_render_of_json_that_is_not_a_record_is_one_line_and_exit_2(tmp_path, capsys):
    other = tmp_path / "other.json"
    other.write_text('{"name": "something else"}\n')
    assert beyond_memory.main(["--render", str(other)]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.startswith("python -m bench.beyond_memory: error: ")
    assert "is not a beyond-memory record" in err
    assert err.count("\n") == 1


def test_a_record_without_a_memory_sample_still_renders(recorded):
    _, _, out = recorded
    [json_path] = out.glob("*.json")
    record = {**json.loads(json_path.read_text()), "peak_cluster_memory_bytes": None}
    assert "no sample" in beyond_memory.render_markdown(record)
