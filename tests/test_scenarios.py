"""LoadGen scenarios against the virtual board and against the agent over TCP, in child processes."""

from __future__ import annotations

import json
import os
import signal
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

pytest.importorskip("mlperf_loadgen", reason="mlcommons-loadgen has no wheel for this platform")

from edgeperf.agent import check_listen
from edgeperf.benchmarks import get_benchmark
from edgeperf.bundled import bundled_samples
from edgeperf.datasets import read_dataset
from edgeperf.dut import DutSession
from edgeperf.errors import ConfigError, DeviceError
from edgeperf.links import open_link
from edgeperf.rules.scenarios import (EdgeProfile, ScenarioRun, _min_passing, early_stopping_estimate,
                                      loadgen_settings, probe_query_latency)

from conftest import MODELS
from test_accuracy_mode import _golden_metrics

REPO = Path(__file__).resolve().parents[1]
KWS = get_benchmark("kws01")
FILES = read_dataset(bundled_samples(), KWS)


def test_early_stopping_rule_matches_loadgen():
    assert _min_passing(1, 0.90) + 1 == 64
    assert _min_passing(1, 0.99) + 1 == 662
    latencies = [float(i) for i in range(386)]
    assert early_stopping_estimate(latencies, 0.90) == latencies[386 - 25]  # LoadGen: "Would discard 24"
    assert early_stopping_estimate(latencies[:63], 0.90) is None


def test_agent_listens_on_loopback_unless_told():
    check_listen("tcp:127.0.0.1:0", False)
    with pytest.raises(ConfigError, match="--allow-remote"):
        check_listen("tcp:0.0.0.0:7000", False)
    check_listen("tcp:0.0.0.0:7000", True)


@pytest.fixture
def agent():
    env = dict(os.environ, PYTHONPATH=str(REPO / "host"))
    proc = subprocess.Popen([sys.executable, "-m", "edgeperf.cli", "agent", "--model", str(MODELS / "kws01.tflite"),
                             "--listen", "tcp:127.0.0.1:0"], stdout=subprocess.PIPE, env=env, text=True)
    try:
        event = json.loads(proc.stdout.readline())
        assert event["runtime"] in ("litert", "tflite-runtime") and event["profile"] == "kws01"
        yield event["url"]
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def _scenarios(url: str, tmp_path: Path) -> None:
    session = DutSession(open_link(url, 115200))
    identity = session.identify()
    assert identity.model == "kws01"
    latency = probe_query_latency(session, KWS, FILES[0])
    session.link.close()
    runner = ScenarioRun(url, 115200, KWS, bundled_samples(), FILES)
    golden = _golden_metrics("kws01")
    for scenario in ("singlestream", "multistream", "offline", "server"):
        for mode in ("performance", "accuracy"):
            out = tmp_path / f"{scenario}-{mode}"
            settings = loadgen_settings(scenario, mode, latency, EdgeProfile.quick(), len(FILES))
            result = runner.run(scenario, mode, settings, out, deadline_s=300)
            assert {"mlperf_log_summary.txt", "mlperf_log_detail.txt", "mlperf_log_accuracy.json"} <= set(result["files"])
            assert not result["loadgen_errors"], result["loadgen_errors"]
            if mode == "accuracy":
                assert result["metrics"] == pytest.approx(golden)  # the same metric code as accuracy mode
            else:
                device = result["device_latency_ms"]
                assert device["samples"] > 0 and device["mean"] > 0
                assert result["host_e2e_latency_ms"]["mean"] > 0


def test_all_scenarios_on_the_virtual_board(start_board, tmp_path):
    _scenarios(start_board("kws01", baud=921600, time_scale=0.02).url, tmp_path)


def test_all_scenarios_on_the_agent_over_tcp(agent, tmp_path):
    _scenarios(agent, tmp_path)


def test_a_board_that_stops_answering_ends_the_test_with_a_clear_error(start_board, tmp_path):
    board = start_board("kws01")
    runner = ScenarioRun(board.url, 115200, KWS, bundled_samples(), FILES, infer_timeout=2.0)
    settings = loadgen_settings("singlestream", "performance", 0.01, EdgeProfile(min_duration_ms=8_000), len(FILES))
    threading.Timer(3.0, lambda: os.kill(board._proc.pid, signal.SIGSTOP)).start()
    started = time.monotonic()
    try:
        with pytest.raises(DeviceError, match="failed during LoadGen|did not finish"):
            runner.run("singlestream", "performance", settings, tmp_path / "hung", deadline_s=90)
    finally:
        os.kill(board._proc.pid, signal.SIGCONT)
    assert time.monotonic() - started < 90


def _cli(*args: str, cwd: Path) -> subprocess.Popen[str]:
    env = dict(os.environ, PYTHONPATH=str(REPO / "host"), COLUMNS="200")
    return subprocess.Popen([sys.executable, "-m", "edgeperf.cli", *args], cwd=cwd, env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def test_singlestream_device_p90_matches_cost_model_and_host_adds_the_link(tmp_path):
    from edgeperf.modelinfo import inspect_model
    from edgeperf.sim.cost_model import CostModel

    results = tmp_path / "res"
    proc = _cli("run", "-b", "kws01", "--scenario", "singlestream", "--quick", "--baud", "921600",
                "--sim-time-scale", "1", "--sim-profile", "ideal", "--require", "quality",  # quick: LoadGen calls it INVALID
                "--results", str(results), cwd=tmp_path)
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, out + err
    run = json.loads((results / "results.json").read_text())["runs"][0]
    lg = run["loadgen"]
    expected_ms = CostModel().latency_us(inspect_model(MODELS / "kws01.tflite")) / 1000
    device_p90, host_p90 = lg["device_latency_ms"]["p90"], lg["host_e2e_latency_ms"]["p90"]
    assert abs(device_p90 - expected_ms) / expected_ms < 0.01
    assert host_p90 > device_p90
    # Every query's host latency holds its device latency plus the link and host stack (command, result line,
    # pty hops): a few ms at 921600 baud. The median is bounded, not a tail a loaded CI machine stretches.
    per_query = lg["per_query"]
    overheads = [h - d for h, d in zip(per_query["host_ms"], per_query["device_ms"])]
    assert min(overheads) > 0 and statistics.median(overheads) < 40, overheads
    for name in ("mlperf_log_summary.txt", "mlperf_log_detail.txt", "mlperf_log_accuracy.json"):
        assert (results / "kws01" / "singlestream-performance" / name).is_file()
    report = _cli("report", str(results), cwd=tmp_path)
    report.communicate(timeout=120)
    page = (results / "report.html").read_text()
    assert "host_e2e_latency_ms" in page and "device_latency_ms" in page
    # Every query's latencies are recorded and plotted; the quick run is flagged above the summary table.
    queries = lg["per_query"]
    assert len(queries["device_ms"]) == len(queries["host_ms"]) == lg["device_latency_ms"]["samples"]
    assert all(h > d for h, d in zip(queries["host_ms"], queries["device_ms"]))  # the host time includes the board's
    assert 'alt="per-query latency"' in page and "class=quick" in page and page.index("class=quick") < page.index("<h2")


def test_cli_reports_the_failed_query_of_a_stopped_board(start_board, tmp_path):
    board = start_board("kws01", time_scale=0.05)
    results = tmp_path / "res"
    proc = _cli("run", "-b", "kws01", "--port", board.url, "--model", str(MODELS / "kws01.tflite"),
                "--scenario", "singlestream", "--query-timeout", "2", "--results", str(results), cwd=tmp_path)
    time.sleep(5)
    os.kill(board._proc.pid, signal.SIGSTOP)
    try:
        out, err = proc.communicate(timeout=120)
    finally:
        os.kill(board._proc.pid, signal.SIGCONT)
    assert proc.returncode == 4, out + err
    error = json.loads((results / "results.json").read_text())["runs"][0]["error"]
    assert "failed during LoadGen singlestream/performance: sample" in error
    assert "exit code" not in error  # the LoadGen child finished normally: no abort, no core dump
