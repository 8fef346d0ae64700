"""The GitHub workflow .github/workflows/benchmarks.yml: it parses, and what it runs exists.

Every ``make`` target it calls is a target of the Makefile; every ``python -m MODULE`` is importable
and accepts the options the workflow gives it; the gate's output folder is the one the summary and
artifact steps read.
"""

from __future__ import annotations

import importlib
import importlib.util
import re
import shlex
from pathlib import Path

import pytest
import yaml

from bench.run import sweep

PROJECT = Path(__file__).resolve().parents[1]
WORKFLOW = PROJECT / ".github" / "workflows" / "benchmarks.yml"
#: Stand-ins for the GitHub variables the commands use, so they can be parsed here.
GITHUB_ENV = {"BASE_REF": "main", "GITHUB_STEP_SUMMARY": "/tmp/summary.md"}


@pytest.fixture(scope="module")
def workflow() -> dict:
    return yaml.safe_load(WORKFLOW.read_text())


@pytest.fixture(scope="module")
def steps(workflow) -> list[dict]:
    (job,) = workflow["jobs"].values()
    return job["steps"]


def commands(steps: list[dict]) -> list[list[str]]:
    """Each simple command line of the ``run`` steps, split as the shell would, variables filled."""
    found = []
    for step in steps:
        for line in step.get("run", "").splitlines():
            line = line.strip()
            if not line or line.startswith("#") or line.split()[0] in {"if", "else", "fi", "then"}:
                continue
            for name, value in GITHUB_ENV.items():
                line = line.replace(f"${name}", value).replace(f"${{{name}}}", value)
            found.append(shlex.split(line))
    return found


def make_targets() -> set[str]:
    text = (PROJECT / "Makefile").read_text()
    return set(re.findall(r"^([A-Za-z][\w.-]*)\s*:(?!=)", text, flags=re.MULTILINE))


def test_runs_on_pull_requests(workflow):
    # PyYAML reads the bare key `on` as the boolean True (YAML 1.1).
    triggers = workflow.get("on", workflow.get(True))
    assert "pull_request" in triggers


def test_checks_out_full_history_and_sets_up_python(steps):
    uses = [step.get("uses", "") for step in steps]
    checkout = steps[next(i for i, u in enumerate(uses) if u.startswith("actions/checkout@"))]
    assert checkout["with"]["fetch-depth"] == 0  # the base branch must be there for the worktree
    assert any(u.startswith("actions/setup-python@") for u in uses)


def test_every_make_target_exists(steps):
    called = [c[1] for c in commands(steps) if c[0] == "make"]
    assert {"install", "test"} <= set(called)
    assert set(called) <= make_targets()


def test_every_python_module_is_importable_and_accepts_its_options(steps):
    runs = [c for c in commands(steps) if c[0].endswith("python") and c[1] == "-m"]
    assert [c[2] for c in runs] == ["bench.gate"]
    for command in runs:
        module = command[2]
        assert importlib.util.find_spec(module) is not None, module
        parser = importlib.import_module(module).build_parser()
        args = parser.parse_args(command[3:])  # exits with status 2 on an unknown option
        if hasattr(args, "sweep"):
            assert args.sweep in sweep.SWEEPS


def test_the_gate_step_can_fail_the_job(steps):
    (gate,) = [s for s in steps if "bench.gate" in s.get("run", "")]
    assert not gate.get("continue-on-error", False)
    assert "|| true" not in gate["run"]
    assert "--base" in gate["run"] and "github.base_ref" in str(gate.get("env", {}))


def test_summary_and_artifacts_read_the_gate_output_folder(steps):
    (gate,) = [c for c in commands(steps) if "bench.gate" in c]
    out = gate[gate.index("--out") + 1]
    summary = [s for s in steps if "GITHUB_STEP_SUMMARY" in s.get("run", "")]
    assert len(summary) == 1
    assert f"{out}/comparison.md" in summary[0]["run"]
    (upload,) = [s for s in steps if s.get("uses", "").startswith("actions/upload-artifact@")]
    assert upload["with"]["path"].rstrip("/") == out
    # Both run after a failed gate too, which is when they matter most.
    assert "always()" in str(summary[0].get("if")) and "always()" in str(upload.get("if"))
