"""A real `edgeperf agent` over real TCP against clients that try to lock it: each is dropped in time and the next
client is served; SIGTERM and SIGINT end it promptly even mid-inference; no half command reaches the next client;
IPv6 loopback works; a bad listen address is one line and exit code 2.

The agent serves one client at a time, so without its limits each attack here would lock it for good.
"""

from __future__ import annotations

import itertools
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from edgeperf.agent import check_listen
from edgeperf.device.eembc import HELP_LINES
from edgeperf.dut import DutSession
from edgeperf.errors import ConfigError
from edgeperf.links import open_link

REPO = Path(__file__).resolve().parents[1]
MODEL = REPO / "models" / "kws01.tflite"
IDLE_S, WRITE_S, MAX_ITERATIONS = 1.5, 1.0, 1000
LIMITS = ["--idle-timeout", str(IDLE_S), "--write-timeout", str(WRITE_S), "--max-iterations", str(MAX_ITERATIONS)]
NAME = "m-name-dut-[edgeperf-agent]"

Address = tuple[str, int]


def _agent_command(*extra: str) -> list[str]:
    return [sys.executable, "-m", "edgeperf.cli", "agent", "--model", str(MODEL), *extra]


def _env() -> dict[str, str]:
    return dict(os.environ, PYTHONPATH=str(REPO / "host"))


@pytest.fixture
def start_agent() -> Iterator[Callable[..., tuple[subprocess.Popen, Address]]]:
    """Start agents with the given options; their boot banner is read off, so later clients see only replies."""
    procs: list[subprocess.Popen] = []

    def start(*extra: str, listen: str = "tcp:127.0.0.1:0") -> tuple[subprocess.Popen, Address]:
        proc = subprocess.Popen(_agent_command("--listen", listen, *extra), stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, env=_env(), text=True)
        procs.append(proc)
        url = json.loads(proc.stdout.readline())["url"]  # type: ignore[union-attr]
        host, _, port = url.removeprefix("socket://").rpartition(":")
        address = (host.strip("[]"), int(port))
        hold(address, replies=2).close()  # the boot banner's m-ready, then the reply to `%`
        return proc, address

    yield start
    for proc in procs:
        proc.terminate()
        proc.wait(timeout=10)


def ask(address: Address, command: str, timeout: float = 5.0) -> list[str] | None:
    """`command%` on a fresh connection: the lines up to its `m-ready`, or None when the agent refused us."""
    try:
        with socket.create_connection(address, timeout=timeout) as sock:
            sock.sendall(command.encode() + b"%")
            received = b""
            while not received.endswith(b"m-ready\r\n"):
                chunk = sock.recv(65536)
                if not chunk:
                    return None
                received += chunk
    except OSError:
        return None
    return received.decode("latin-1").replace("\r", "").splitlines()


def served_after(address: Address, timeout: float) -> tuple[float, list[str]]:
    """Seconds until a new client gets `name` answered (refused connections try again), and its reply."""
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        lines = ask(address, "name", timeout=max(0.5, timeout - (time.monotonic() - start)))
        if lines is not None:
            return time.monotonic() - start, lines
        time.sleep(0.05)
    raise AssertionError(f"no client was served within {timeout} s")


def hold(address: Address, receive_buffer: int | None = None, replies: int = 1) -> socket.socket:
    """A connection that is the agent's host: it sent `%` and got the answer (a refused one tries again).

    The agent notices a closed client at its next poll, so a connection right after another may be refused.
    """
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        sock = socket.socket(socket.AF_INET6 if ":" in address[0] else socket.AF_INET, socket.SOCK_STREAM)
        if receive_buffer:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer)
        sock.settimeout(10)
        sock.connect(address)
        try:
            sock.sendall(b"%")
            received = b""
            while received.count(b"m-ready\r\n") < replies and (chunk := sock.recv(4096)):
                received += chunk
        except OSError:
            received = b""
        if received.count(b"m-ready\r\n") == replies:
            return sock
        sock.close()
        time.sleep(0.05)
    raise AssertionError("the agent never took a client")


def read_until_closed(sock: socket.socket, timeout: float) -> int:
    """Bytes received until the agent closes the connection (fails if it keeps it open past `timeout`)."""
    sock.settimeout(timeout)
    total = 0
    try:
        while chunk := sock.recv(65536):
            total += len(chunk)
    except ConnectionResetError:
        pass  # closed with our unread requests still in its buffer: a reset, not a FIN
    return total


def flood_without_reading(sock: socket.socket) -> int:
    """Ask for far more output than any socket buffer holds (on a thread: the agent stops reading too)."""
    request = b"help%" * 20_000
    threading.Thread(target=lambda: _send_quietly(sock, request), daemon=True).start()
    return len(request) // 5 * sum(len(line) + 2 for line in [*HELP_LINES, "m-ready"])


def _send_quietly(sock: socket.socket, data: bytes) -> None:
    try:
        sock.sendall(data)
    except OSError:
        pass  # the agent dropped us mid-send, as it should


def test_an_idle_client_is_dropped_after_the_idle_timeout_and_the_next_is_served(start_agent):
    _, address = start_agent(*LIMITS)
    idle = hold(address)
    answered = time.monotonic()
    assert ask(address, "name") is None, "a second client was served while the first held the agent"
    _, lines = served_after(address, timeout=IDLE_S + 10)
    elapsed = time.monotonic() - answered
    assert NAME in lines
    assert elapsed >= IDLE_S - 0.3, f"the idle client was dropped after {elapsed:.2f} s, before {IDLE_S} s"
    assert read_until_closed(idle, timeout=1) == 0  # dropped by the agent, not left open
    idle.close()


def test_a_client_that_never_reads_is_dropped_after_the_write_timeout(start_agent):
    _, address = start_agent(*LIMITS)
    reader = hold(address, receive_buffer=4096)
    would_receive = flood_without_reading(reader)
    time.sleep(0.3)
    elapsed, lines = served_after(address, timeout=WRITE_S + 10)
    assert NAME in lines and not [line for line in lines if line.startswith("e-")], lines
    got = read_until_closed(reader, timeout=5)  # what filled the buffers, then the agent's close
    assert got < would_receive, "the agent wrote everything: the test never blocked it"
    reader.close()
    print(f"served {elapsed:.2f} s after the flood; the non-reader received {got} of {would_receive} bytes")


def test_a_slowloris_client_is_dropped_and_its_half_command_never_reaches_the_next(start_agent):
    _, address = start_agent(*LIMITS)
    slow = hold(address)
    stop = threading.Event()

    def drip() -> None:  # one byte every 0.5 s, never a `%`: never a complete command
        for byte in itertools.cycle(b"name"):
            if stop.wait(0.5):
                return
            try:
                slow.sendall(bytes((byte,)))
            except OSError:
                return

    dripper = threading.Thread(target=drip, daemon=True)
    dripper.start()
    try:
        time.sleep(IDLE_S * 0.6)
        assert ask(address, "name") is None, "the slowloris client did not hold the agent"
        elapsed, lines = served_after(address, timeout=IDLE_S + 10)
        assert lines == [NAME, "m-ready"], lines  # not `e-[Unknown command: namename...]`
        assert elapsed < IDLE_S + 5
        dripper.join(timeout=5)
        assert not dripper.is_alive(), "the agent kept the slowloris connection open"
    finally:
        stop.set()
        slow.close()


def test_a_client_that_keeps_asking_is_never_dropped_as_idle(start_agent):
    _, address = start_agent(*LIMITS)
    sock = hold(address)
    received = b""
    for _ in range(4):  # 4.5 s in all, three times the idle timeout, but never IDLE_S without an answer
        sock.sendall(b"name%")
        while not received.endswith(b"m-ready\r\n"):
            received += sock.recv(4096)
        received += b"|"
        time.sleep(IDLE_S * 0.75)
    sock.close()
    assert received.count(NAME.encode()) == 4


def test_an_infer_above_the_bound_is_refused_on_the_wire_at_once(start_agent):
    _, address = start_agent(*LIMITS)
    start = time.monotonic()
    too_many = ask(address, "infer 100000000 0", timeout=10)
    too_many_warmups = ask(address, "infer 1 100000000", timeout=10)
    refused_in = time.monotonic() - start
    error = f"e-[Inference iterations and warmups must be <={MAX_ITERATIONS}]"
    assert too_many == [error, "m-ready"] and too_many_warmups == [error, "m-ready"], (too_many, too_many_warmups)
    at_the_bound = ask(address, f"infer {MAX_ITERATIONS} 0", timeout=120)
    assert at_the_bound is not None and "m-infer-done" in at_the_bound, at_the_bound
    _, lines = served_after(address, timeout=5)
    assert NAME in lines
    assert refused_in < 10


def test_a_half_command_left_by_one_client_never_reaches_the_next(start_agent):
    _, address = start_agent(*LIMITS)
    for half in (b"name", b"db load 4", b"x" * 200):
        with hold(address) as sock:
            sock.sendall(half)
            time.sleep(0.3)  # the agent has read it
        _, lines = served_after(address, timeout=5)
        assert lines == [NAME, "m-ready"], (half, lines)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_signal_stops_the_agent_within_2_s_in_the_middle_of_an_inference(start_agent, sig):
    proc, address = start_agent()  # the default bound: a million iterations, minutes of work
    sock = hold(address)
    sock.sendall(b"infer 1000000 0%")
    received = b""
    while b"m-infer-start-1000000" not in received:
        received += sock.recv(4096)
    time.sleep(0.5)  # well inside the loop
    start = time.monotonic()
    proc.send_signal(sig)
    code = proc.wait(timeout=30)
    elapsed = time.monotonic() - start
    sock.close()
    assert elapsed < 2.0, f"the agent took {elapsed:.2f} s to stop"
    assert code == 0 and "Traceback" not in proc.stderr.read()  # type: ignore[union-attr]
    print(f"{signal.Signals(sig).name} mid-inference: exited in {elapsed:.3f} s")


def test_sigterm_stops_the_agent_within_2_s_while_it_is_blocked_on_a_client_that_never_reads(start_agent):
    proc, address = start_agent("--write-timeout", "60")
    reader = hold(address, receive_buffer=4096)
    flood_without_reading(reader)
    time.sleep(1.5)  # the agent's writes to it are blocked by now
    start = time.monotonic()
    proc.terminate()
    code = proc.wait(timeout=30)
    elapsed = time.monotonic() - start
    reader.close()
    assert elapsed < 2.0 and code == 0, (elapsed, code)


def _has_ipv6_loopback() -> bool:
    try:
        socket.create_server(("::1", 0), family=socket.AF_INET6).close()
    except OSError:
        return False
    return True


def test_ipv6_loopback_counts_as_loopback_and_the_unspecified_address_does_not():
    check_listen("tcp:[::1]:7000", False)
    check_listen("tcp:::1:7000", False)
    with pytest.raises(ConfigError, match="--allow-remote"):
        check_listen("tcp:[::]:7000", False)


@pytest.mark.skipif(not _has_ipv6_loopback(), reason="this machine has no IPv6 loopback")
def test_the_agent_serves_on_ipv6_loopback_without_allow_remote(start_agent):
    proc, address = start_agent(listen="tcp:[::1]:0")
    assert address[0] == "::1"
    session = DutSession(open_link(f"socket://[::1]:{address[1]}", 115200))
    try:
        assert session.identify().model == "kws01"
    finally:
        session.link.close()


@pytest.mark.parametrize("listen", ["tcp:127.0.0.1:99999", "tcp:127.0.0.1:-1", "tcp:127.0.0.1:http", "tcp:127.0.0.1",
                                    "tcp:[::1]:70000", "udp:127.0.0.1:7000"])
def test_a_bad_listen_address_is_one_line_and_exit_code_3(listen):
    proc = subprocess.run(_agent_command("--listen", listen), env=_env(), capture_output=True, text=True, timeout=60)
    assert proc.returncode == 3, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stdout + proc.stderr and proc.stdout == ""
    assert len(proc.stderr.strip().splitlines()) == 1 and listen in proc.stderr, proc.stderr
