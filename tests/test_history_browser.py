"""The history page in a real browser: headless Chromium renders it, and it loads nothing.

``make test`` installs Chromium first (``make browser``). The browser writes a network log; a request
made by the page (any http or https URL it asks for) would be in it, as the control test shows with
a page that does load an image. The screenshot is kept in ``$GDBENCH_ARTIFACTS`` when that is set,
else in pytest's temporary folder, and its path is printed.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from test_history import write_history

from bench import history as command

#: Looked up on PATH in this order, unless $GDBENCH_BROWSER names one.
BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
#: Headless, and quiet: no sync, no component updates, no name resolution for the browser's own
#: background requests (none of them reaches the network, and none is the page's).
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--host-resolver-rules=MAP * ~NOTFOUND",
)
KERNELS = ("python_loop", "numpy", "numba")


def browser() -> str:
    found = os.environ.get("GDBENCH_BROWSER") or next(filter(None, map(shutil.which, BROWSERS)), None)
    if not found:
        pytest.fail("no Chromium on PATH: run `make browser` (make test does) or set GDBENCH_BROWSER")
    return found


def render(page: Path, profile: Path, screenshot: Path) -> tuple[str, list[str]]:
    """The DOM Chromium builds from ``page`` and the http(s) URLs the page itself requested."""
    log = profile.with_suffix(".netlog.json")
    result = subprocess.run(
        [
            browser(),
            *FLAGS,
            f"--user-data-dir={profile}",
            f"--log-net-log={log}",
            "--dump-dom",
            f"--screenshot={screenshot}",
            "--window-size=1200,2000",
            page.resolve().as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    netlog = json.loads(log.read_text())
    names = {number: name for name, number in netlog["constants"]["logEventTypes"].items()}
    requested = [
        event["params"]["url"]
        for event in netlog["events"]
        if names.get(event["type"]) == "URL_REQUEST_START_JOB"
        and str(event.get("params", {}).get("url", "")).startswith(("http://", "https://"))
        # The browser's own requests (update checks) have no origin; a page's has one, "null" for
        # a file:// page.
        and event["params"].get("initiator") != "not an origin"
    ]
    return result.stdout, requested


def artifacts(tmp_path: Path) -> Path:
    folder = Path(os.environ.get("GDBENCH_ARTIFACTS") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def test_the_page_renders_every_kernel_and_its_charts_and_loads_nothing(tmp_path, capsys):
    write_history(tmp_path / "runs")
    assert command.main([str(tmp_path / "runs"), "--out", str(tmp_path / "page")]) == 0
    capsys.readouterr()
    page = tmp_path / "page" / "index.html"
    html = page.read_text()
    # Nothing to fetch: no URL, no linked file, no script, no external style.
    for forbidden in ("http://", "https://", "<link", "<script", "src=", "url(", "@import"):
        assert forbidden not in html, forbidden
    screenshot = artifacts(tmp_path) / "history-page.png"
    dom, requested = render(page, tmp_path / "profile", screenshot)
    assert requested == []
    assert "Content-Security-Policy" in dom and "default-src 'none'" in dom
    for kernel in KERNELS:
        assert kernel in dom
    assert dom.count("<svg") == 6 and "<polyline" in dom
    assert "step: numba n=100000 epochs=100: 1.50x slower from ccccccc" in dom  # a step mark's tooltip
    assert screenshot.read_bytes().startswith(b"\x89PNG")
    with capsys.disabled():
        print(f"\nhistory page screenshot: {screenshot}")


def test_the_network_check_sees_a_page_that_loads_something(tmp_path):
    # The control: without the page's policy, an image URL is requested, and the log shows it.
    # 127.0.0.1:9 (discard) is refused at once; nothing leaves the machine.
    page = tmp_path / "loads.html"
    page.write_text("<!DOCTYPE html><html><body><img src='http://127.0.0.1:9/x.png'>numba</body></html>")
    dom, requested = render(page, tmp_path / "profile", tmp_path / "loads.png")
    assert "numba" in dom
    assert requested == ["http://127.0.0.1:9/x.png"]
