"""Builds of the edgeperf firmware (native and QEMU boards) for tests, and a transcript replayer
that drives any byte stream (a native process's pipes, a QEMU socket)."""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from edgeperf.protocol.transcripts import Expect, Transcript, match_all
from edgeperf.resources import shipped_dir

REPO = Path(__file__).resolve().parents[1]
FIRMWARE = REPO / "firmware"
REFERENCE_VECTORS = shipped_dir("protocols") / "eembc" / "vectors"
FIRMWARE_VECTORS = FIRMWARE / "tests" / "vectors"


def cmake_build(build_dir: Path, *options: str) -> Path:
    """Configure and build firmware/ into build_dir; a failure shows the compiler output."""
    configure = ["cmake", "-S", str(FIRMWARE), "-B", str(build_dir), "-DCMAKE_BUILD_TYPE=Release", *options]
    for cmd in (configure, ["cmake", "--build", str(build_dir), "-j", "2"]):
        proc = subprocess.run(cmd, capture_output=True, text=True)
        if proc.returncode:
            pytest.fail(f"{' '.join(cmd)} failed:\n{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}")
    return build_dir


def upload_commands(size: int, data: bytes | None = None, chunk: int = 38) -> list[bytes]:
    data = bytes(size) if data is None else data
    return [f"db load {size}%".encode()] + [b"db " + data[i:i + chunk].hex().encode() + b"%"
                                             for i in range(0, size, chunk)]


class ByteStream:
    """Read/write access to a device's byte stream, with an incremental buffer."""

    def __init__(self, write: Callable[[bytes], None], read: Callable[[], bytes]) -> None:
        self.write = write
        self._read = read
        self.buffer = b""

    def read_until(self, done: Callable[[bytes], bool], timeout: float) -> bytes:
        deadline = time.monotonic() + timeout
        while not done(self.buffer) and time.monotonic() < deadline:
            chunk = self._read()
            if chunk:
                self.buffer += chunk
            else:
                time.sleep(0.002)
        data, self.buffer = self.buffer, b""
        return data

    def expect(self, expects: list[Expect], timeout: float = 20.0) -> bytes:
        data = self.read_until(lambda buf: match_all(expects, buf) is None, timeout)
        time.sleep(0.02)  # nothing may follow
        rest = self._read()
        return data + (rest or b"")

    def command(self, command: bytes, timeout: float = 20.0) -> bytes:
        self.write(command)
        return self.read_until(lambda buf: buf.endswith(b"m-ready\r\n"), timeout)


def replay(stream: ByteStream, vector: Transcript, boot_seen: bytes) -> None:
    """Check one transcript against a running device whose boot output was `boot_seen`."""
    if vector.settings.get("boot") == "1":
        problem = match_all(vector.boot, boot_seen)
        assert problem is None, f"boot banner: {problem}"
    for step in vector.steps:
        if step.upload:
            reply = b"".join(stream.command(cmd) for cmd in upload_commands(step.upload))
            assert reply.endswith(b"m-load-done\r\nm-ready\r\n"), reply[-200:]
            continue
        stream.write(step.send)
        data = stream.expect(step.expect)
        problem = match_all(step.expect, data)
        assert problem is None, f"after sending {step.send!r}: {problem}"


def firmware_vectors() -> list[Path]:
    """The reference transcripts, with the ones our firmware deliberately changes replaced by its own."""
    own = {p.name: p for p in FIRMWARE_VECTORS.glob("*.txt")}
    reference = {p.name: p for p in REFERENCE_VECTORS.glob("*.txt")}
    return [own.get(name, reference.get(name)) for name in sorted(set(own) | set(reference))]  # type: ignore[misc]


class NativeDevice:
    """The native firmware build as a process: its stdin/stdout are the UART."""

    def __init__(self, exe: Path, *args: str) -> None:
        self.proc = subprocess.Popen([str(exe), *args], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        assert self.proc.stdout is not None and self.proc.stdin is not None
        os.set_blocking(self.proc.stdout.fileno(), False)
        self.stream = ByteStream(self._write, self._read)

    def _write(self, data: bytes) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(data)
        self.proc.stdin.flush()

    def _read(self) -> bytes:
        assert self.proc.stdout is not None
        try:
            return os.read(self.proc.stdout.fileno(), 65536)
        except BlockingIOError:
            return b""

    def close(self) -> None:
        if self.proc.stdin:
            self.proc.stdin.close()
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        if self.proc.stdout:
            self.proc.stdout.close()
