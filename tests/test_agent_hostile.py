"""A real `edgeperf agent` process over TCP, fed hostile and random bytes: it answers, bounds its memory, keeps working.

Seeded random streams (a process per hypothesis example would be slow) plus hand-made
attacks: a command that never ends, a `db load` far beyond the buffer followed by a hex
flood, malformed numbers, NULs and non-ASCII bytes, a second connection while one is open.
"""

from __future__ import annotations

import json
import os
import random
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
MODEL = REPO / "models" / "kws01.tflite"


def _env() -> dict[str, str]:
    return dict(os.environ, PYTHONPATH=str(REPO / "host"))


@pytest.fixture
def agent() -> Iterator[tuple[subprocess.Popen, tuple[str, int]]]:
    proc = subprocess.Popen([sys.executable, "-m", "edgeperf.cli", "agent", "--model", str(MODEL),
                             "--listen", "tcp:127.0.0.1:0"], stdout=subprocess.PIPE, env=_env(), text=True)
    try:
        url = json.loads(proc.stdout.readline())["url"]  # type: ignore[union-attr]
        host, _, port = url.removeprefix("socket://").rpartition(":")
        yield proc, (host, int(port))
    finally:
        proc.terminate()
        proc.wait(timeout=10)


class Client:
    """One TCP connection whose replies are drained on a thread, so the agent never blocks on us."""

    def __init__(self, address: tuple[str, int]) -> None:
        self.sock = socket.create_connection(address, timeout=10)
        self.received = bytearray()
        self.closed_by_peer = threading.Event()
        self._thread = threading.Thread(target=self._drain, daemon=True)
        self._thread.start()

    def _drain(self) -> None:
        while True:
            try:
                data = self.sock.recv(65536)
            except OSError:
                data = b""
            if not data:
                self.closed_by_peer.set()
                return
            self.received += data

    def send(self, data: bytes) -> None:
        for start in range(0, len(data), 65536):
            self.sock.sendall(data[start: start + 65536])

    def lines(self) -> list[str]:
        return bytes(self.received).decode("latin-1").replace("\r", "").split("\n")

    def wait_for_ready(self, count: int, timeout: float = 60.0) -> list[str]:
        deadline = time.monotonic() + timeout
        while self.lines().count("m-ready") < count and time.monotonic() < deadline:
            time.sleep(0.02)
        return self.lines()

    def close(self) -> None:
        try:
            self.sock.shutdown(socket.SHUT_RDWR)  # wakes our reader and really ends the connection
        except OSError:
            pass  # the agent already closed it
        self.sock.close()
        self._thread.join(timeout=5)
        # The agent serves one host at a time and notices a closed peer at its next poll (0.2 s);
        # a host that reconnects sooner is refused as a second host would be.
        time.sleep(0.5)


def rss_kib(proc: subprocess.Popen) -> int:
    status = Path(f"/proc/{proc.pid}/status").read_text()
    return int(next(line.split()[1] for line in status.splitlines() if line.startswith("VmRSS:")))


def name_answers(address: tuple[str, int]) -> list[str]:
    """A fresh connection: `%` ends whatever half command the last peer left, then `name`."""
    client = Client(address)
    try:
        client.send(b"%name%")
        return client.wait_for_ready(2, timeout=10)
    finally:
        client.close()


def test_agent_refuses_a_non_loopback_address_without_allow_remote():
    proc = subprocess.run([sys.executable, "-m", "edgeperf.cli", "agent", "--model", str(MODEL),
                           "--listen", "tcp:0.0.0.0:0"], env=_env(), capture_output=True, text=True, timeout=60)
    assert proc.returncode != 0 and "--allow-remote" in proc.stdout + proc.stderr


def test_agent_answers_every_malformed_command_with_an_error_line(agent):
    _, address = agent
    attacks = [b"db load -5", b"db load 99999999999", b"db zz", b"db abc", b"infer abc", b"infer 1 -1", b"",
               b"\x00\xff\xfe", "caf\u00e9".encode(), b"x" * 500, b"binary 1", b"db", b"db load"]
    client = Client(address)
    try:
        client.send(b"%".join(attacks) + b"%")
        lines = client.wait_for_ready(len(attacks) + 1)
    finally:
        client.close()
    assert lines.count("m-ready") == len(attacks) + 1, lines  # the boot banner's, then every command's
    errors = [line for line in lines if line.startswith("e-")]
    assert "e-[Command 'db load' must be >0 bytes]" in errors and "e-[Invalid hex digit 'zz']" in errors
    assert "e-[Inference iterations must be >0]" in errors and "e-[Inference warmup must be >=0]" in errors
    assert "e-[Unknown command: binary]" in errors and "e-[Command 'db' requires a subcommand]" in errors
    assert "m-name-dut-[edgeperf-agent]" in name_answers(address)


def test_agent_survives_random_and_oversized_streams_with_bounded_memory(agent):
    proc, address = agent
    warm = Client(address)
    warm.send(b"db load 490%" + b"db " + b"00" * 38 + b"%infer 1 0%")
    warm.wait_for_ready(3)
    warm.close()
    before = rss_kib(proc)
    rng = random.Random(8)
    streams = [
        b"y" * 4_000_000,                                                   # a command that never ends
        b"%db load 4294967295%db " + b"ab" * 1_000_000 + b"%",              # far beyond the input buffer
        bytes(rng.getrandbits(8) for _ in range(200_000)),                  # noise
        b"".join(rng.choice([b"%", b"db ", b"ab", b"load ", b"infer 0 ", b"\x00", b"zz", b" "])
                 for _ in range(100_000)),                                  # protocol-shaped noise
    ]
    for stream in streams:
        client = Client(address)
        intruder = Client(address)  # one host at a time, like a serial port: refused at once
        try:
            assert intruder.closed_by_peer.wait(5), "a second connection was not refused"
            client.send(stream)
            client.send(b"%")
            expected = stream.count(b"%") + 1
            assert client.wait_for_ready(expected, timeout=120).count("m-ready") >= expected
        finally:
            intruder.close()
            client.close()
        assert "m-name-dut-[edgeperf-agent]" in name_answers(address)
    growth = rss_kib(proc) - before
    assert growth < 2048, f"the agent's memory grew by {growth} KiB over {sum(map(len, streams))} hostile bytes"
