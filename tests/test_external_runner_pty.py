"""`edgeperf sim`: simulated boards on plain pty paths, driven by an unchanged pyserial client the way the
MLCommons runner drives a board (`serial.Serial(path, baud)`, no URL): name, db load, infer, results."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import serial
from conftest import model_path
from system_tools import require_tools

from edgeperf.benchmarks import get_benchmark
from edgeperf.bundled import bundled_samples
from edgeperf.datasets import read_dataset
from edgeperf.ports import ReferencePort
from edgeperf.runtimes import TflmRunner

REPO = Path(__file__).resolve().parents[1]


class SimCommand:
    """`edgeperf sim ...` as a user starts it: a real process printing `dut: PATH` and staying up."""

    def __init__(self, *args: str) -> None:
        env = dict(os.environ, PYTHONPATH=str(REPO / "host"))
        self.proc = subprocess.Popen([sys.executable, "-m", "edgeperf.cli", "sim", *args], env=env, text=True,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        assert self.proc.stdout is not None
        self.lines = [self.proc.stdout.readline() for _ in range(2)]  # the port line(s) come first
        match = re.match(r"dut: (\S+)", self.lines[0])
        if match is None:
            self.proc.kill()
            pytest.fail(f"edgeperf sim printed {self.lines!r}; stderr: {self.proc.stderr.read() if self.proc.stderr else ''}")
        self.path = match.group(1)

    def stop(self) -> int:
        self.proc.send_signal(signal.SIGTERM)
        code = self.proc.wait(timeout=30)
        for stream in (self.proc.stdout, self.proc.stderr):
            if stream is not None:
                stream.close()
        return code


@pytest.fixture
def sim() -> Iterator[list[SimCommand]]:
    started: list[SimCommand] = []
    yield started
    for command in started:
        if command.proc.poll() is None:
            command.stop()


def _until_ready(port: serial.Serial) -> str:
    """Read as the runner does: until the board's `m-ready` line."""
    received = b""
    while not received.endswith(b"m-ready\r\n"):
        byte = port.read(1)
        assert byte, f"no m-ready within the timeout; got {received!r}"
        received += byte
    return received.decode()


def _command(port: serial.Serial, text: str) -> str:
    port.write(f"{text}%".encode())
    return _until_ready(port)


def _runner_session(port: serial.Serial, data: bytes, model: str) -> list[float]:
    """The MLCommons runner's sequence: name, profile, db load, 31-byte hex chunks, infer 1 0, results."""
    assert re.search(r"^m-name-dut-\[[^]]+]", _command(port, "name"), re.MULTILINE)
    assert f"m-model-[{model}]" in _command(port, "profile")
    assert f"m-[Expecting {len(data)} bytes]" in _command(port, f"db load {len(data)}")
    replies = [_command(port, "db " + data[i:i + 31].hex()) for i in range(0, len(data), 31)]
    assert replies[-1].startswith("m-load-done") and not any(r.startswith("e-") for r in replies)
    infer = _command(port, "infer 1 0")
    assert len(re.findall(r"^m-lap-us-\d+", infer, re.MULTILINE)) == 2, infer
    results = _command(port, "results").splitlines()[0]
    assert results.startswith("m-results-[") and results in infer
    return [float(v) for v in results[len("m-results-["):-1].split(",") if v]


def test_an_unchanged_pyserial_client_drives_the_virtual_board_on_its_pty_path(sim):
    command = SimCommand("board", "-b", "kws01", "--time-scale", "0")
    sim.append(command)
    assert command.path.startswith("/dev/pts/")
    sample = read_dataset(bundled_samples(), get_benchmark("kws01"))[0].read()
    with serial.Serial(command.path, 115200, timeout=10) as port:  # a plain path, exactly as the runner opens it
        assert "m-init-done" in _until_ready(port)  # the boot banner waited for the first reader
        scores = _runner_session(port, sample, "kws01")
    host = ReferencePort("kws01", TflmRunner(model_path("kws01")))
    host.load_tensor(sample)
    host.infer()
    assert scores == [float(v) for v in host.results_line().strip()[len("m-results-["):-1].split(",")]
    assert command.stop() == 0  # SIGTERM: the board is stopped and the command exits cleanly


def test_an_unchanged_pyserial_client_drives_a_qemu_board_on_its_pty_path(sim):
    require_tools("cmake", "make", "arm-none-eabi-gcc", "newlib", "qemu-system-arm")
    command = SimCommand("qemu", "--board", "qemu-mps2-an386", "-b", "ic01")
    sim.append(command)
    assert command.path.startswith("/dev/pts/")
    data = bytes((i * 7 + 3) % 256 for i in range(3072))
    with serial.Serial(command.path, 115200, timeout=20) as port:
        # QEMU drops what the guest prints while no one holds the pty open: the boot banner is there only if
        # the path was opened within milliseconds of the start. The runner never waits for it; neither do we.
        time.sleep(0.5)
        port.reset_input_buffer()
        first = _runner_session(port, data, "ic01")
        assert _runner_session(port, data, "ic01") == first  # the same input, the same (synthetic) scores
    assert len(first) == 10 and all(0 <= value < 1 for value in first)
    assert command.stop() == 0


def test_the_energy_bench_exposes_its_io_manager_and_monitor_as_paths(sim):
    command = SimCommand("bench", "-b", "kws01")
    sim.append(command)
    monitor = re.match(r"monitor: (\S+) \(lpm01a\)", command.lines[1])
    assert monitor and Path(monitor.group(1)).exists(), command.lines
    with serial.Serial(command.path, 115200, timeout=10) as port:  # the runner's io-manager port
        assert "m-name-io-[" in _command(port, "name")
    assert command.stop() == 0
