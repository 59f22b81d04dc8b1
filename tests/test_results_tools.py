"""Report, compare and export on real results folders from the virtual bench."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from edgeperf.results.compare import rank_sum_p_value

from system_tools import require_tools, tool_path

REPO = Path(__file__).resolve().parents[1]


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PYTHONPATH=str(REPO / "host"), COLUMNS="200")
    return subprocess.run([sys.executable, "-m", "edgeperf.cli", *args], cwd=cwd, env=env, text=True,
                          capture_output=True, timeout=600)


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict[str, Path]:
    base = tmp_path_factory.mktemp("runs")
    made = {}
    for name, extra in (("perf", ["run", "-b", "kws01", "-b", "ic01", "--quick"]),
                        ("perf_again", ["run", "-b", "kws01", "-b", "ic01", "--quick"]),
                        ("perf_slow", ["run", "-b", "kws01", "-b", "ic01", "--quick", "--sim-clock-mhz",
                                       str(120 / 1.1)]),
                        ("acc", ["verify", "-b", "kws01", "-b", "vww01", "--baud", "4000000"])):
        proc = _cli(*extra, "--sim-time-scale", "0", "--results", str(base / name), cwd=base)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        made[name] = base / name
    return made


def _chromium(*args: str) -> subprocess.CompletedProcess[str]:
    with tempfile.TemporaryDirectory() as profile:
        return subprocess.run([str(tool_path("chromium")), "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                               "--disable-background-networking", "--disable-component-update", "--disable-sync",
                               f"--user-data-dir={profile}", *args], capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize(("run", "plots"), [("perf", 4), ("acc", 6)])
def test_html_report_opens_in_chromium_with_every_plot(runs, run, plots, tmp_path):
    require_tools("chromium")
    proc = _cli("report", str(runs[run]), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    report = runs[run] / "report.html"
    assert "http" not in re.sub(r"data:image/png;base64,[A-Za-z0-9+/=]+", "", report.read_text())
    page = _chromium("--enable-logging=stderr", "--v=0", "--virtual-time-budget=5000", "--dump-dom", report.as_uri())
    assert f'data-images="{plots}"' in page.stdout and f'data-images-ok="{plots}"' in page.stdout
    assert "Uncaught" not in page.stderr and "CONSOLE" not in page.stderr  # no script errors, no console output
    shot = tmp_path / "shot.png"
    _chromium("--window-size=1200,3200", f"--screenshot={shot}", report.as_uri())
    assert shot.stat().st_size > 50_000  # a page with pictures, not a blank page


def test_compare_sees_noise_and_a_ten_percent_slower_board(runs, tmp_path):
    same = _cli("compare", str(runs["perf"]), str(runs["perf_again"]), "--fail-above", "5", cwd=tmp_path)
    assert same.returncode == 0, same.stdout
    assert "within noise" in same.stdout and "significant" not in same.stdout
    slow = _cli("compare", str(runs["perf"]), str(runs["perf_slow"]), "--fail-above", "5", cwd=tmp_path)
    assert slow.returncode == 1
    assert "x0.909" in slow.stdout and "significant" in slow.stdout and "regression of 9.1 %" in slow.stdout


@pytest.mark.parametrize("damage", ["error", "stub", "killed"])
def test_compare_fails_when_a_benchmark_of_the_base_failed_or_vanished(runs, tmp_path, damage):
    """A failed run (an error entry), a crashed run's stub (`runs: []`) and a killed run (one benchmark missing)."""
    new = tmp_path / "new"
    shutil.copytree(runs["perf"], new)
    document = json.loads((new / "results.json").read_text())
    if damage == "error":
        document["runs"][1] = {**{k: document["runs"][1][k] for k in ("benchmark", "mode", "board")},
                               "error": "DeviceError: the board stopped answering"}
    elif damage == "stub":
        document["runs"] = []
    else:
        document["runs"] = document["runs"][:1]
    (new / "results.json").write_text(json.dumps(document))
    gate = _cli("compare", str(runs["perf"]), str(new), "--fail-above", "5", cwd=tmp_path)
    assert gate.returncode == 1, gate.stdout
    assert "run 2: ic01 performance " in gate.stdout
    assert ("failed: DeviceError" if damage == "error" else "missing") in gate.stdout
    assert _cli("compare", str(runs["perf"]), str(new), cwd=tmp_path).returncode == 0  # no gate asked for


def test_export_to_submission_tree(runs, tmp_path):
    out = tmp_path / "submission"
    for run in ("perf", "acc"):
        proc = _cli("export", str(runs[run]), str(out), "--division", "open", "--org", "Acme", "--system", "vboard",
                    cwd=tmp_path)
        assert proc.returncode == 0, proc.stderr
    base = out / "open" / "Acme" / "results" / "vboard"
    perf = (base / "kws" / "performance" / "results.txt").read_text()
    assert re.search(r".* Median throughput is\s+([\d\.]+) inf\./sec\..*", perf)
    accuracy = (base / "vww" / "accuracy" / "results.txt").read_text()
    assert re.search(r".* Top[- ]1%?\s?[:=] ([\d\.]+).*", accuracy) and re.search(r".* AUC\s?[:=] ([\d\.]+).*", accuracy)
    for folder in (base / "kws" / "performance", base / "ic" / "performance", base / "kws" / "accuracy"):
        assert {"log.txt", "results.txt", "results.json"} <= {p.name for p in folder.iterdir()}
    system = json.loads((out / "open" / "Acme" / "systems" / "vboard.json").read_text())
    assert system["Submitter"] == "Acme" and system["Division"] == "open"
    assert system["Processor(s) Frequencies"] == "120 MHz" and "Cortex-M4" in system["Processor(s) Name"]
    exported = _cli("report", str(base / "kws" / "performance"), cwd=tmp_path)  # each results.json is a document
    assert exported.returncode == 0 and "kws01" in exported.stdout


def test_document_describes_units_board_and_sample_latency(runs):
    perf = json.loads((runs["perf"] / "results.json").read_text())
    assert perf["units"]["elapsed_us"].startswith("us") and perf["units"]["throughput"].startswith("inf/s")
    board = perf["runs"][0]["board"]
    assert board["kind"] == "virtual" and board["clock_mhz"] == 120.0 and board["profile"]
    acc = json.loads((runs["acc"] / "results.json").read_text())
    latencies = [s["latency_us"] for run in acc["runs"] for s in run["accuracy"]["samples"]]
    assert all(100 < latency < 2e6 for latency in latencies)


def test_rank_sum_test_on_five_windows():
    assert rank_sum_p_value([5.0] * 5, [5.0] * 5) == 1.0
    assert rank_sum_p_value([5.0] * 5, [4.5] * 5) == pytest.approx(2 / 252)  # constant windows, different runs
    assert rank_sum_p_value([1, 2, 3, 4, 6], [5, 7, 8, 9, 10]) == pytest.approx(4 / 252)
    assert rank_sum_p_value([1, 2, 3, 5, 7], [4, 6, 8, 9, 10]) > 0.05
