"""A board on "another machine": a real ser2net exports a virtual board's pty over RFC 2217 on loopback,
and a real `edgeperf run` process benchmarks it through rfc2217://127.0.0.1:PORT."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from edgeperf.farm.ser2net import Ser2netExport, ser2net_yaml
from edgeperf.links.remote import pyserial_url
from edgeperf.modelinfo import inspect_model
from edgeperf.sim.cost_model import CostModel

from system_tools import require_tools

REPO = Path(__file__).resolve().parents[1]


def test_rfc2217_urls_ignore_unacknowledged_control():
    assert pyserial_url("rfc2217://h:1") == "rfc2217://h:1?ign_set_control"
    assert pyserial_url("rfc2217://h:1?timeout=3") == "rfc2217://h:1?timeout=3&ign_set_control"
    assert pyserial_url("rfc2217://h:1?ign_set_control") == "rfc2217://h:1?ign_set_control"
    assert pyserial_url("socket://h:1") == "socket://h:1"


def test_ser2net_config_matches_labgrids_form():
    text = ser2net_yaml("/dev/ttyACM0", 4001, 921600)
    assert "accepter: telnet(rfc2217,mode=server),tcp,127.0.0.1,4001" in text
    assert "connector: serialdev(nouucplock=true),/dev/ttyACM0,921600n81,local" in text


def test_benchmark_through_ser2net_rfc2217(start_board, tmp_path):
    require_tools("ser2net")
    board = start_board("kws01", baud=115200, time_scale=0.1)
    with Ser2netExport(board.url, baud=115200) as export:
        assert export.url.startswith("rfc2217://127.0.0.1:")
        results = tmp_path / "res"
        env = dict(os.environ, PYTHONPATH=str(REPO / "host"), COLUMNS="200")
        proc = subprocess.run(
            [sys.executable, "-m", "edgeperf.cli", "run", "-b", "kws01", "--quick", "--port", export.url,
             "--model", str(REPO / "models" / "kws01.tflite"), "--results", str(results)],
            env=env, text=True, capture_output=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    run = json.loads((results / "results.json").read_text())["runs"][0]
    assert run["board"]["url"] == export.url
    assert run["board"]["model"] == "kws01"
    perf = run["performance"]
    assert len(perf["windows"]) == 5
    # The device time that came through ser2net must be the bench's modelled latency.
    expected_us = CostModel().latency_us(inspect_model(REPO / "models" / "kws01.tflite"))
    assert abs(perf["latency"]["value"] * 1000 - expected_us) / expected_us < 0.01
    truth = [json.loads(line) for line in board.truth.read_text().splitlines() if line.strip()]
    assert sum(t["n"] for t in truth) >= sum(w["iterations"] for w in perf["windows"])


def test_missing_ser2net_says_how_to_install(monkeypatch):
    from edgeperf.errors import ConfigError
    import edgeperf.farm.ser2net as mod
    monkeypatch.setattr(mod.shutil, "which", lambda *a, **k: None)
    with pytest.raises(ConfigError, match="apt-get install ser2net"):
        Ser2netExport("/dev/null").start()


def test_rfc2217_round_trips_are_not_slowed_by_renegotiation(start_board):
    # pyserial renegotiates the line settings whenever a read timeout is assigned on an rfc2217 port;
    # doing that per read made every command take ~300 ms through ser2net instead of a few ms.
    import statistics
    import time

    from edgeperf.links import open_link

    require_tools("ser2net")
    board = start_board("kws01", baud=115200, time_scale=0.0)
    with Ser2netExport(board.url, baud=115200) as export:
        link = open_link(export.url, 115200)
        try:
            link.read(4096, 0.3)
            times = []
            for _ in range(7):
                started = time.monotonic()
                link.write(b"name%")
                reply = b""
                while b"m-ready" not in reply:
                    chunk = link.read(4096, 2.0)
                    assert chunk, f"no reply through ser2net, got {reply!r}"
                    reply += chunk
                times.append(time.monotonic() - started)
        finally:
            link.close()
    assert statistics.median(times) < 0.1, times
