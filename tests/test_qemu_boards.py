"""edgeperf's firmware on the QEMU boards: both ports build with gcc-arm-none-eabi, speak the
EEMBC transcripts over QEMU's socket UART, replay the MLPerf Tiny open-source runner's command
sequence, and give identical device timings in two `edgeperf run --board` runs."""

from __future__ import annotations

import html
import json
import os
import re
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from edgeperf.protocol import transcripts
from edgeperf.sim.qemu import QEMU_BOARDS, QemuProcess, firmware_elf

from firmware_support import REPO, ByteStream, firmware_vectors, replay
from system_tools import require_tools

BOARDS = list(QEMU_BOARDS.values())
# Vectors that need a different build: the name (vendor string) and an energy-mode build.
#: Where the QEMU ports' replies differ from the native build's (their profile says device time is emulated).
QEMU_OWN = REPO / "firmware" / "tests" / "vectors" / "qemu"
QEMU_VECTORS = [transcripts.load(QEMU_OWN / p.name if (QEMU_OWN / p.name).is_file() else p) for p in firmware_vectors()
                if p.stem not in ("name", "energy_mode_boot_and_timestamp")]


@pytest.fixture(scope="session")
def qemu_builds(tmp_path_factory: pytest.TempPathFactory) -> Path:
    require_tools("cmake", "make", "arm-none-eabi-gcc", "newlib", "qemu-system-arm")
    return tmp_path_factory.mktemp("fw-qemu")


class SocketStream(ByteStream):
    def __init__(self, url: str) -> None:
        host, port = url.removeprefix("socket://").rsplit(":", 1)
        self.sock = socket.create_connection((host, int(port)), timeout=10)
        self.sock.setblocking(False)
        super().__init__(self.sock.sendall, self._recv)

    def _recv(self) -> bytes:
        try:
            return self.sock.recv(65536)
        except BlockingIOError:
            return b""


def _boot(stream: ByteStream) -> bytes:
    boot = stream.read_until(lambda buf: buf.endswith(b"m-ready\r\n"), 20)
    assert boot.endswith(b"m-init-done\r\nm-ready\r\n"), boot
    return boot


@pytest.mark.parametrize("board", BOARDS, ids=lambda b: b.name)
def test_port_builds_for_every_model(board, qemu_builds: Path):
    for model in ("kws01", "vww01", "ic01", "ic02", "ad01"):
        elf = firmware_elf(board, model, qemu_builds / board.name)
        assert elf.read_bytes()[:4] == b"\x7fELF"


@pytest.mark.parametrize("vector", QEMU_VECTORS, ids=lambda t: t.name)
def test_qemu_an386_follows_vector(vector: transcripts.Transcript, qemu_builds: Path):
    board = QEMU_BOARDS["qemu-mps2-an386"]
    with QemuProcess(board, firmware_elf(board, vector.settings["profile"], qemu_builds / board.name)) as qemu:
        stream = SocketStream(qemu.url)
        try:
            replay(stream, vector, _boot(stream))
        finally:
            stream.sock.close()


def _mlc_runner_session(stream: ByteStream, data: bytes) -> list[float]:
    """The open-source MLPerf Tiny runner's sequence, as device_under_test.py sends it:
    name, profile, db load, 31-byte db chunks awaiting m-ready, infer N W (both given), results."""
    name = stream.command(b"name%").decode()
    assert re.search(r"^m-name-dut-\[([^]]+)]$", name.splitlines()[0], re.M), name
    profile = stream.command(b"profile%").decode()
    model = re.search(r"^m-model-\[([^]]+)\]\r?$", profile, re.M)
    assert model and model.group(1) == "ic01", profile
    assert "m-[Expecting 3072 bytes]" in stream.command(f"db load {len(data)}%".encode()).decode()
    replies = [stream.command(b"db " + data[i:i + 31].hex().encode() + b"%") for i in range(0, len(data), 31)]
    assert all(not r.startswith(b"e-") for r in replies) and replies[-1] == b"m-load-done\r\nm-ready\r\n"
    infer = stream.command(b"infer 20 0%").decode().splitlines()
    laps = [int(line[len("m-lap-us-"):]) for line in infer if line.startswith("m-lap-us-")]
    assert len(laps) == 2 and laps[1] > laps[0], infer
    results = stream.command(b"results%").decode().splitlines()[0]
    assert results.startswith("m-results-[") and results == [l for l in infer if l.startswith("m-results-")][0]
    return [float(v) for v in results[len("m-results-["):-1].split(",") if v]


@pytest.mark.parametrize("board", BOARDS, ids=lambda b: b.name)
def test_mlc_runner_sequence_runs_unchanged(board, qemu_builds: Path):
    data = bytes((i * 7 + 3) % 256 for i in range(3072))
    with QemuProcess(board, firmware_elf(board, "ic01", qemu_builds / board.name)) as qemu:
        stream = SocketStream(qemu.url)
        try:
            _boot(stream)
            scores = _mlc_runner_session(stream, data)
        finally:
            stream.sock.close()
    assert len(scores) == 10 and all(0 <= s < 1 for s in scores)
    # The synthetic runner depends on every input byte: another input gives other scores.
    assert len(set(scores)) > 1


def _run_cli(results: Path) -> dict[str, object]:
    env = {**os.environ, "PYTHONPATH": str(REPO / "host")}
    proc = subprocess.run([sys.executable, "-m", "edgeperf.cli", "run", "--board", "qemu-mps2-an386",
                           "--mode", "performance", "--quick", "--results", str(results)],
                          capture_output=True, text=True, env=env, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return json.loads((results / "results.json").read_text())


def test_edgeperf_run_on_qemu_is_deterministic(tmp_path: Path):
    require_tools("cmake", "make", "arm-none-eabi-gcc", "newlib", "qemu-system-arm")
    first, second = _run_cli(tmp_path / "a"), _run_cli(tmp_path / "b")
    timings = []
    for document in (first, second):
        runs = document["runs"]
        assert [r["benchmark"] for r in runs] == ["kws01", "vww01", "ic01", "ic02", "ad01"]
        for run in runs:
            assert "error" not in run, run.get("error")
            assert run["board"]["self_test"] is True and "HARNESS SELF-TEST" in run["board"]["description"]
            assert "self-test" in run["board"]["vendor"]
            assert run["session"]["binary_uploads"] >= 5  # the session chose the binary protocol
        timings.append([[w["elapsed_us"] for w in r["performance"]["windows"]] for r in runs])
    assert timings[0] == timings[1]
    assert all(t > 0 for bench in timings[0] for t in bench)


def test_binary_protocol_in_qemu(qemu_builds: Path):
    """The C binary protocol on the emulated Cortex-M55: switch, baud change, upload, infer, exit."""
    from edgeperf.dut import DutSession
    from edgeperf.links import open_link
    from edgeperf.protocol.binary import BinaryClient, switch_to_binary

    board = QEMU_BOARDS["qemu-mps3-an547"]
    data = bytes((i * 5 + 1) % 256 for i in range(27648))
    with QemuProcess(board, firmware_elf(board, "vww01", qemu_builds / board.name)) as qemu:
        session = DutSession(open_link(qemu.url), binary=False)
        try:
            session.identify()
            session.upload(data[:1000] + bytes(26648))  # ASCII first, to a different input
            ascii_scores = session.infer(1, 0, timeout=30).results
            assert switch_to_binary(session.client.command)
            client = BinaryClient(session.link, session.log)
            hello = client.change_baud(921600)
            assert (hello.model, hello.runner, hello.self_test, hello.buffer_size) == ("vww01", "synthetic", True, 27648)
            client.upload(data)
            first, second = client.infer(3, 1, timeout=60), client.infer(3, 1, timeout=60)
            assert first.elapsed_us == second.elapsed_us > 0  # -icount: the same work, the same time
            assert len(first.values) == 2 and [float(f"{v:0.3f}") for v in first.values] != ascii_scores
            client.exit()
            session.upload(data)  # ASCII again: the same input gives the binary scores
            assert session.infer(1, 0, timeout=30).results == [float(f"{v:0.3f}") for v in first.values]
        finally:
            session.link.close()


def _cli(*args: str, cache: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO / "host"), "COLUMNS": "200", "EDGEPERF_CACHE_DIR": str(cache)}
    return subprocess.run([sys.executable, "-m", "edgeperf.cli", *args], capture_output=True, text=True, env=env,
                          timeout=600)


def test_profile_on_qemu_times_layers_reads_the_elf_and_says_emulated(tmp_path: Path):
    """`edgeperf profile --board`: the C layer table on an emulated Cortex-M4, flash/RAM from the ELF the host
    built (in the cache, not the checkout), and the emulated-timing note wherever the latency is printed."""
    require_tools("cmake", "make", "arm-none-eabi-gcc", "newlib", "qemu-system-arm")
    from edgeperf.sim.qemu import EMULATED_NOTE

    results, cache = tmp_path / "res", tmp_path / "cache"
    proc = _cli("profile", "--board", "qemu-mps2-an386", "-b", "kws01", "--quick", "--results", str(results),
                cache=cache)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    run = json.loads((results / "results.json").read_text())["runs"][0]
    elf = Path(run["memory"]["elf"])
    assert elf.is_relative_to(cache) and elf.is_file()
    size = subprocess.run(["arm-none-eabi-size", str(elf)], capture_output=True, text=True, check=True)
    text, data, bss = (int(x) for x in size.stdout.splitlines()[1].split()[:3])
    assert (run["memory"]["flash_bytes"], run["memory"]["ram_bytes"]) == (text + data, data + bss)
    profile = run["performance"]["layers"]
    assert [layer["op"] for layer in profile["layers"]] == ["SYNTHETIC_MAC"] * 12
    # Timed by the firmware's SysTick counter: the operators hold almost all of the loop, never more.
    assert 0.95 < profile["sum_us"] / profile["loop_latency_us"] <= 1.0
    assert run["board"]["extensions"]["timing"] == "emulated-icount"
    assert EMULATED_NOTE in proc.stdout and "SYNTHETIC_MAC" in proc.stdout and "flash" in proc.stdout
    assert EMULATED_NOTE in (results / "results.txt").read_text()
    assert _cli("report", str(results), cache=cache).returncode == 0
    assert html.escape(EMULATED_NOTE) in (results / "report.html").read_text()


def test_emulated_note_reaches_a_run_over_port(tmp_path: Path, qemu_builds: Path):
    """A QEMU board reached with --port: the host learns from `profile` that its time is emulated."""
    from edgeperf.facts import EMULATED_PORT_NOTE

    board = QEMU_BOARDS["qemu-mps3-an547"]
    with QemuProcess(board, firmware_elf(board, "ad01", qemu_builds / board.name)) as qemu:
        proc = _cli("run", "--port", qemu.url, "-b", "ad01", "--quick", "--results", str(tmp_path / "res"),
                    cache=tmp_path / "cache")
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert EMULATED_PORT_NOTE in proc.stdout
    assert EMULATED_PORT_NOTE in (tmp_path / "res" / "results.txt").read_text()
