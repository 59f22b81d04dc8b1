"""The EEMBC conformance transcripts in protocols/eembc/vectors, replayed against the virtual board:
once against the pure DUT state machine, once through a real board process on a real pty."""

from __future__ import annotations

import os
import time
from functools import cache
from pathlib import Path

import pytest

from edgeperf.protocol import transcripts
from edgeperf.protocol.transcripts import Transcript, match_all
from edgeperf.device.clock import DeviceClock
from edgeperf.device.eembc import EembcDut
from edgeperf.ports import MAX_INPUT, ReferencePort
from edgeperf.runtimes import TflmRunner

from conftest import model_path

VECTORS = Path(__file__).resolve().parents[1] / "protocols" / "eembc" / "vectors"
ALL = transcripts.load_all(VECTORS)


@cache
def _runner(profile: str) -> TflmRunner:
    return TflmRunner(model_path(profile))


def _upload_bytes(size: int) -> bytes:
    out = f"db load {size}%".encode()
    data = bytes(size)
    for start in range(0, size, 38):
        out += b"db " + data[start:start + 38].hex().encode() + b"%"
    return out


def _upload_reply(size: int) -> int:
    """Bytes of device output an upload of `size` bytes produces (acknowledge, chunks, done)."""
    chunks = -(-size // 38)
    return len(f"m-[Expecting {size} bytes]\r\n") + 9 * (chunks + 1) + len("m-load-done\r\n")


def test_vectors_exist():
    names = {t.name for t in ALL}
    assert {"over_long_command", "db_load_done_only_on_final_chunk", "infer_sequence", "vww_trailing_comma",
            "db_errors", "empty_command", "crlf_is_part_of_the_command"} <= names


@pytest.mark.parametrize("vector", ALL, ids=lambda t: t.name)
def test_state_machine_follows_vector(vector: Transcript):
    out = bytearray()
    profile = vector.settings["profile"]
    dut = EembcDut(ReferencePort(profile, _runner(profile)), DeviceClock(int(vector.settings.get("timer_start", 0))),
                   out.extend, inference_ns=1_000_000, max_input=MAX_INPUT[profile],
                   energy_mode=vector.settings.get("energy_mode") == "1")
    dut.boot()
    if vector.settings.get("boot") == "1":
        assert match_all(vector.boot, bytes(out)) is None, match_all(vector.boot, bytes(out))
    for step in vector.steps:
        out.clear()
        if step.upload:
            dut.feed(_upload_bytes(step.upload))
            assert out.endswith(b"m-load-done\r\nm-ready\r\n")
            continue
        dut.feed(step.send)
        problem = match_all(step.expect, bytes(out))
        assert problem is None, f"after sending {step.send!r}: {problem}"


def _read_until(fd: int, expects, timeout: float = 20.0) -> bytes:
    data = b""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if match_all(expects, data) is None:
            time.sleep(0.05)  # nothing may follow
            try:
                data += os.read(fd, 65536)
            except BlockingIOError:
                pass
            return data
        try:
            data += os.read(fd, 65536)
        except BlockingIOError:
            time.sleep(0.005)
    return data


def _command(fd: int, command: bytes, timeout: float = 20.0) -> bytes:
    os.write(fd, command)
    data = b""
    deadline = time.monotonic() + timeout
    while not data.endswith(b"m-ready\r\n") and time.monotonic() < deadline:
        try:
            data += os.read(fd, 65536)
        except BlockingIOError:
            time.sleep(0.002)
    return data


@pytest.mark.parametrize("vector", ALL, ids=lambda t: t.name)
def test_board_process_follows_vector_over_pty(vector: Transcript, start_board):
    extra = ["--energy-mode"] if vector.settings.get("energy_mode") == "1" else []
    board = start_board(vector.settings["profile"], extra=extra)
    fd = os.open(board.url, os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK)
    try:
        banner = _read_until(fd, vector.boot if vector.settings.get("boot") == "1" else [
            transcripts.Expect(r"m-timestamp-mode-\w+", regex=True)] + ([] if extra else [
            transcripts.Expect(r"m-lap-us-\d+", regex=True)]) + [transcripts.Expect("m-init-done"),
                                                                  transcripts.Expect("m-ready")])
        assert banner.endswith(b"m-ready\r\n"), banner
        for step in vector.steps:
            if step.upload:
                # One command at a time, each awaited: the UART has no flow control.
                reply = b"".join(_command(fd, cmd + b"%") for cmd in _upload_bytes(step.upload).split(b"%")[:-1])
                assert reply.endswith(b"m-load-done\r\nm-ready\r\n"), reply[-200:]
                assert len(reply) == _upload_reply(step.upload), reply[-200:]
                continue
            os.write(fd, step.send)
            data = _read_until(fd, step.expect)
            problem = match_all(step.expect, data)
            assert problem is None, f"after sending {step.send!r}: {problem}"
    finally:
        os.close(fd)
