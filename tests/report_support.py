"""Opening a report in headless Chromium and reading what its scripts left in the DOM."""

from __future__ import annotations

import json
import re
import statistics
import subprocess
import tempfile
from pathlib import Path

from system_tools import require_tools, tool_path

#: Bokeh announces its log level once on the console; anything else there is a problem.
BOKEH_LINE = re.compile(r'CONSOLE.*"\[bokeh [0-9.]+\] setting log level')


def chromium(*args: str) -> subprocess.CompletedProcess[str]:
    require_tools("chromium")
    with tempfile.TemporaryDirectory() as profile:
        return subprocess.run([str(tool_path("chromium")), "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                               "--disable-background-networking", "--disable-component-update", "--disable-sync",
                               "--host-resolver-rules=MAP * ~NOTFOUND", f"--user-data-dir={profile}", *args],
                              check=False, capture_output=True, text=True, timeout=120)


def open_page(report: Path) -> tuple[str, str]:
    """The DOM after the page's scripts ran, and the browser's log with bokeh's own line left out."""
    page = chromium("--enable-logging=stderr", "--v=0", "--virtual-time-budget=8000", "--dump-dom", report.as_uri())
    log = "\n".join(line for line in page.stderr.splitlines() if not BOKEH_LINE.search(line))
    return page.stdout, log


def check_energy_report(folder: Path, report: Path) -> dict:
    """The energy report opens offline, shows every window's plot, and its markers repeat the host's integration."""
    text = report.read_text()
    assert not re.search(r"<(script|link|img)[^>]+(src|href)=[\"']?(https?:)?//", text)  # nothing fetched
    assert len(text) < 3_000_000, f"report of {len(text)} bytes"
    energy = json.loads((folder / "results.json").read_text())["runs"][0]["energy"]
    dom, log = open_page(report)
    windows = len(energy["windows"])
    assert f'data-images="{windows}"' in dom and f'data-images-ok="{windows}"' in dom
    assert "Uncaught" not in log and "CONSOLE" not in log, log
    found = re.search(r'data-markers-0="([^"]+)"', dom)
    assert found, "the marker callback never ran"
    markers = json.loads(found.group(1).replace("&quot;", '"'))
    # The markers start on the median window's edges: the page's integration of the trace repeats the host's.
    median = statistics.median(w["uj_per_inference"] for w in energy["windows"])
    window = min(energy["windows"], key=lambda w: abs(w["uj_per_inference"] - median))
    bucket_s = 1 / energy["trace"]["sample_rate_hz"]
    assert abs(markers["dt_s"] - window["seconds"]) < 1e-9
    assert abs(markers["energy_uj"] / window["energy_uj"] - 1) < 2 * bucket_s / window["seconds"] + 1e-4
    assert abs(markers["mean_mw"] / window["average_power_mw"] - 1) < 2 * bucket_s / window["seconds"] + 1e-4
    assert abs(markers["charge_uc"] - markers["energy_uj"] / energy["monitor"]["voltage_v"]) < 1e-6 * markers["charge_uc"]
    return markers
