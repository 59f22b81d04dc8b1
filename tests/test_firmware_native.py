"""The firmware core built natively: its C unit tests, and every EEMBC transcript replayed
against the native executable (stdin/stdout as the UART)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from edgeperf.protocol import transcripts
from edgeperf.protocol.transcripts import Expect

from firmware_support import NativeDevice, REPO, cmake_build, firmware_vectors, replay, require_tools

VECTORS = [transcripts.load(p) for p in firmware_vectors()]
BOOT = [Expect(r"m-timestamp-mode-\w+", regex=True)]


@pytest.fixture(scope="session")
def native_build(tmp_path_factory: pytest.TempPathFactory) -> Path:
    require_tools("cmake", "cc")
    return cmake_build(tmp_path_factory.mktemp("fw-native"))


def test_c_unit_tests(native_build: Path):
    proc = subprocess.run([str(native_build / "ee_unit_tests"),
                           str(REPO / "protocols" / "binary" / "vectors" / "frames.txt")],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "0 failures" in proc.stdout and "frame vectors:" in proc.stdout
    # ee_buf_f3 was compared with this machine's printf("%0.3f") on millions of floats.
    assert "f3 sweep: 2000000 random values" in proc.stdout


def test_firmware_vectors_replace_only_documented_reference_bugs():
    names = {p.parent.name + "/" + p.name for p in firmware_vectors()}
    assert "vectors/infer_sequence.txt" in names
    replaced = {p.name for p in firmware_vectors() if "firmware" in p.parts}
    assert {"over_long_command.txt", "db_load_too_big.txt", "profile.txt"} <= replaced


@pytest.mark.parametrize("vector", VECTORS, ids=lambda t: t.name)
def test_native_firmware_follows_vector(vector: transcripts.Transcript, native_build: Path):
    args = ["--model", vector.settings["profile"]]
    if vector.settings.get("energy_mode") == "1":
        args.append("--energy")
    device = NativeDevice(native_build / "ee_native", *args)
    try:
        boot = device.stream.read_until(lambda buf: buf.endswith(b"m-ready\r\n"), 10)
        assert boot.endswith(b"m-init-done\r\nm-ready\r\n"), boot
        replay(device.stream, vector, boot)
    finally:
        device.close()
