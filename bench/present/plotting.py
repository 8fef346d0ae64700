"""Draw a report file: check that the ``plot`` extra is installed, load the report, draw its figures.

Importing this module does not import matplotlib, so the sweep and the commands can offer figures
and say what to install when they cannot be drawn.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from bench.reports import model
from bench.reports.schema import ReportError

#: What to install when matplotlib is missing.
PLOT_EXTRA_HINT = "figures need matplotlib: pip install 'gdbench[plot]' (or pip install -e '.[plot]')"


def default_out_dir(report_path: Path) -> Path:
    """Where figures go by default: a folder named after the report, next to it."""
    if report_path.suffix:
        return report_path.with_suffix("")
    return report_path.with_name(report_path.name + "_plots")


def can_plot() -> bool:
    """Whether matplotlib, which only the figures need, is installed."""
    return importlib.util.find_spec("matplotlib") is not None


def plot_file(report_path: Path, out_dir: Path) -> tuple[list[Path], list[str]]:
    """Load ``report_path`` and draw it into ``out_dir``; ReportError (one line) when it cannot."""
    if not can_plot():
        raise ReportError(PLOT_EXTRA_HINT)
    from bench.present import figures  # matplotlib only for those who draw

    return figures.plot_report(model.load(report_path), out_dir)
