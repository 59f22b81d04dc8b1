"""labgrid: a real coordinator and exporter on loopback export a virtual board's pty (through the
exporter's own ser2net); `edgeperf run --labgrid-place` acquires the place, benchmarks it over RFC 2217
and releases it, and a place someone else holds is refused.

labgrid replaces pyserial with its fork, so it runs from its own venv: $EDGEPERF_LABGRID_VENV, else
one this test creates once under ~/.cache/edgeperf/ (pip install labgrid).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from edgeperf.farm.labgrid import parse_show
from edgeperf.farm.ser2net import free_tcp_port

from system_tools import require_tools

REPO = Path(__file__).resolve().parents[1]
LABGRID = "labgrid==26.0.1"

SHOW = """\
Place 'edge1':
  matches:
    exp1/board1/*
  acquired: vm/root
  acquired resources:
    exp1/board1/NetworkSerialPort/RawSerialPort
Acquired resource 'RawSerialPort' (exp1/board1/NetworkSerialPort/RawSerialPort):
  {'acquired': 'edge1',
   'avail': True,
   'cls': 'NetworkSerialPort',
   'params': {'extra': {'path': '/dev/pts/0', 'proxy': 'localhost', 'proxy_required': False},
              'host': '127.0.0.1',
              'port': 33533,
              'speed': 115200}}
"""


def test_parse_show():
    holder, (resource,) = parse_show(SHOW)
    assert holder == "vm/root"
    assert resource.url == "rfc2217://127.0.0.1:33533" and resource.speed == 115200
    assert parse_show(SHOW.replace("acquired: vm/root", "acquired: None"))[0] is None


@pytest.fixture(scope="session")
def labgrid_bin() -> Path:
    require_tools("ser2net")  # the exporter serves each port through its own ser2net
    venv = Path(os.environ.get("EDGEPERF_LABGRID_VENV") or Path.home() / ".cache" / "edgeperf" / "labgrid-26.0.1")
    if not (venv / "bin" / "labgrid-client").exists():
        base = shutil.which("python3") or sys.executable
        subprocess.run([base, "-m", "venv", "--clear", str(venv)], check=True, timeout=300)
        subprocess.run([str(venv / "bin" / "pip"), "install", "-q", LABGRID], check=True, timeout=900)
    return venv / "bin"


def _spawn(argv: list[str], log: Path, env: dict[str, str]) -> subprocess.Popen[bytes]:
    # cwd: the coordinator keeps places.yaml/resources.yaml in its working directory.
    return subprocess.Popen(argv, stdout=log.open("wb"), stderr=subprocess.STDOUT, env=env, start_new_session=True,
                            cwd=log.parent)


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)  # the exporter's ser2net children are in its process group
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


@contextmanager
def _running_lab(labgrid_bin: Path, boards: list, tmp_path: Path) -> Iterator[dict[str, object]]:
    """Coordinator + exporter on loopback; board i is exported as group board<i> and place edge<i>."""
    env = dict(os.environ, PATH=f"{labgrid_bin}:{os.environ.get('PATH', '')}:/usr/sbin:/usr/local/sbin")
    address = f"127.0.0.1:{free_tcp_port()}"
    coordinator = _spawn([str(labgrid_bin / "labgrid-coordinator"), "-l", address], tmp_path / "coordinator.log", env)
    exporter_yaml = tmp_path / "exporter.yaml"
    exporter_yaml.write_text("".join(f"board{i}:\n  RawSerialPort:\n    port: {b.url}\n    speed: 115200\n"
                                     for i, b in enumerate(boards, start=1)))
    exporter = None
    client = [str(labgrid_bin / "labgrid-client"), "-x", address]
    try:
        time.sleep(1.0)
        exporter = _spawn([str(labgrid_bin / "labgrid-exporter"), "-c", address, "-n", "exp1", "--hostname",
                           "127.0.0.1", str(exporter_yaml)], tmp_path / "exporter.log", env)
        deadline = time.monotonic() + 60
        while True:
            out = subprocess.run(client + ["resources"], capture_output=True, text=True, env=env, timeout=60)
            if all(f"exp1/board{i}/NetworkSerialPort" in out.stdout for i in range(1, len(boards) + 1)):
                break
            if time.monotonic() > deadline:
                pytest.fail("exporter never published the boards:\n" + (tmp_path / "exporter.log").read_text()
                            + (tmp_path / "coordinator.log").read_text())
            time.sleep(0.5)
        for i in range(1, len(boards) + 1):
            for args in (["create"], ["add-match", f"exp1/board{i}/*"]):
                subprocess.run(client + ["-p", f"edge{i}", *args], check=True, capture_output=True, env=env,
                               timeout=60)
        yield {"address": address, "client": client, "env": env, "boards": boards}
    finally:
        if exporter is not None:
            _stop(exporter)
        _stop(coordinator)


@pytest.fixture
def lab(labgrid_bin: Path, start_board, tmp_path: Path) -> Iterator[dict[str, object]]:
    """One virtual board exported as place `edge1`."""
    with _running_lab(labgrid_bin, [start_board("kws01", baud=115200, time_scale=0.1)], tmp_path) as running:
        yield running


def _edgeperf(lab: dict[str, object], results: Path, extra_env: dict[str, str] | None = None):
    env = dict(os.environ, PYTHONPATH=str(REPO / "host"), COLUMNS="200",
               EDGEPERF_LABGRID_CLIENT=str(Path(lab["client"][0])), **(extra_env or {}))  # type: ignore[index]
    return subprocess.run([sys.executable, "-m", "edgeperf.cli", "run", "-b", "kws01", "--quick",
                           "--labgrid-place", "edge1", "--labgrid-coordinator", str(lab["address"]),
                           "--board", "virtual", "--model", str(REPO / "models" / "kws01.tflite"),
                           "--results", str(results)], env=env, text=True, capture_output=True, timeout=600)


def _holder(lab: dict[str, object], place: str = "edge1") -> str | None:
    out = subprocess.run(lab["client"] + ["-p", place, "show"], capture_output=True, text=True,  # type: ignore[operator]
                         env=lab["env"], timeout=60, check=True)
    return parse_show(out.stdout)[0]


def test_benchmark_on_a_labgrid_place(lab, tmp_path):
    results = tmp_path / "res"
    proc = _edgeperf(lab, results)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    run = json.loads((results / "results.json").read_text())["runs"][0]
    assert run["board"]["labgrid_place"] == "edge1"
    assert run["board"]["url"].startswith("rfc2217://127.0.0.1:")  # the exporter's ser2net, not the pty
    assert run["board"]["model"] == "kws01" and len(run["performance"]["windows"]) == 5
    assert _holder(lab) is None, "edgeperf must release the place it acquired"


def test_a_place_held_by_someone_else_is_refused(lab, tmp_path):
    env = dict(lab["env"], LG_USERNAME="alice", LG_HOSTNAME="bench7")  # type: ignore[arg-type]
    subprocess.run(lab["client"] + ["-p", "edge1", "acquire"], check=True, capture_output=True, env=env, timeout=60)  # type: ignore[operator]
    results = tmp_path / "res"
    proc = _edgeperf(lab, results)
    assert proc.returncode == 4
    run = json.loads((results / "results.json").read_text())["runs"][0]
    assert "LabgridError" in run["error"] and "acquire" in run["error"]
    assert _holder(lab) == "bench7/alice", "edgeperf must not release a lock it does not hold"
    assert "performance" not in run


def test_reservation_waits_for_a_busy_place(lab, tmp_path):
    alice = dict(lab["env"], LG_USERNAME="alice", LG_HOSTNAME="bench7")  # type: ignore[arg-type]
    client = lab["client"]
    subprocess.run(client + ["-p", "edge1", "acquire"], check=True, capture_output=True, env=alice, timeout=60)  # type: ignore[operator]
    results = tmp_path / "res"
    env = dict(os.environ, PYTHONPATH=str(REPO / "host"), COLUMNS="200", EDGEPERF_LABGRID_CLIENT=str(client[0]))  # type: ignore[index]
    proc = subprocess.Popen([sys.executable, "-m", "edgeperf.cli", "run", "-b", "kws01", "--quick",
                             "--labgrid-place", "edge1", "--labgrid-reserve", "--labgrid-coordinator",
                             str(lab["address"]), "--model", str(REPO / "models" / "kws01.tflite"),
                             "--results", str(results)], env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        time.sleep(4.0)
        assert proc.poll() is None, "edgeperf must wait in the reservation queue, not fail: " + proc.communicate()[1]
        assert _holder(lab) == "bench7/alice"
        subprocess.run(client + ["-p", "edge1", "release"], check=True, capture_output=True, env=alice, timeout=60)  # type: ignore[operator]
        out, err = proc.communicate(timeout=300)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, out + err
    run = json.loads((results / "results.json").read_text())["runs"][0]
    assert run["board"]["model"] == "kws01" and len(run["performance"]["windows"]) == 5
    assert _holder(lab) is None
    reservations = subprocess.run(client + ["reservations"], capture_output=True, text=True, env=lab["env"],  # type: ignore[operator]
                                  timeout=60, check=True).stdout
    assert "Reservation" not in reservations, "edgeperf must cancel its reservation"


def test_two_labgrid_places_in_parallel(labgrid_bin, start_board, tmp_path):
    boards = [start_board("kws01", baud=115200, time_scale=0.5) for _ in range(2)]
    with _running_lab(labgrid_bin, boards, tmp_path) as lab:
        results = tmp_path / "res"
        env = dict(os.environ, PYTHONPATH=str(REPO / "host"), COLUMNS="200",
                   EDGEPERF_LABGRID_CLIENT=str(lab["client"][0]))  # type: ignore[index]
        proc = subprocess.run([sys.executable, "-m", "edgeperf.cli", "run", "--parallel", "--quick",
                               "--labgrid-place", "kws01@edge1", "--labgrid-place", "kws01@edge2",
                               "--labgrid-coordinator", str(lab["address"]), "--model",
                               str(REPO / "models" / "kws01.tflite"), "--results", str(results)],
                              env=env, text=True, capture_output=True, timeout=600)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        document = json.loads((results / "results.json").read_text())
        runs = document["runs"]
        assert [r["board"]["labgrid_place"] for r in runs] == ["edge1", "edge2"]
        assert len({r["board"]["url"] for r in runs}) == 2  # two ser2net ports, one per exported board
        assert all(len(r["performance"]["windows"]) == 5 for r in runs)
        assert document["parallel"]["wall_seconds"] < 0.75 * sum(r["wall_seconds"] for r in runs)
        assert _holder(lab, "edge1") is None and _holder(lab, "edge2") is None
