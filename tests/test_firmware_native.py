"""The firmware core built natively: its C unit tests, and every EEMBC transcript replayed
against the native executable (stdin/stdout as the UART)."""

from __future__ import annotations

import subprocess
import zlib
from pathlib import Path

import pytest

from edgeperf.protocol import transcripts
from edgeperf.protocol.transcripts import Expect

from firmware_support import NativeDevice, REPO, cmake_build, firmware_vectors, replay
from system_tools import require_tools

VECTORS = [transcripts.load(p) for p in firmware_vectors()]
BOOT = [Expect(r"m-timestamp-mode-\w+", regex=True)]


@pytest.fixture(scope="session")
def native_build(tmp_path_factory: pytest.TempPathFactory) -> Path:
    require_tools("cmake", "make", "cc")
    return cmake_build(tmp_path_factory.mktemp("fw-native"))


def test_c_unit_tests(native_build: Path):
    proc = subprocess.run([str(native_build / "ee_unit_tests"),
                           str(REPO / "protocols" / "binary" / "vectors" / "frames.txt")],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "0 failures" in proc.stdout and "frame vectors:" in proc.stdout
    # ee_buf_f3 was compared with this machine's printf("%0.3f") on millions of floats.
    assert "f3 sweep: 2000000 random values" in proc.stdout


def _embedded(build: Path) -> str:
    subprocess.run(["cmake", "--build", str(build), "--target", "ee_embed_check"], check=True, capture_output=True)
    return subprocess.run([str(build / "ee_embed_check")], capture_output=True, text=True, check=True).stdout


def test_embedded_model_follows_the_file_without_reconfiguring(tmp_path: Path):
    """The TFLM builds' ee_embed_model, on the native build: a model rewritten in place is
    embedded again by the next build of a reused build directory, and so is another model (older
    than the generated source) when the build is pointed at it."""
    require_tools("cmake", "cc")
    model, older = tmp_path / "model.tflite", tmp_path / "older.tflite"
    older.write_bytes(b"an older model file" * 9)
    model.write_bytes(b"first")
    build = cmake_build(tmp_path / "build", f"-DEE_EMBED_CHECK_FILE={model}")
    for content in (bytes(range(256)) * 3 + b"v1", b"\x00\x01 a retrained model" * 40):
        model.write_bytes(content)
        assert _embedded(build) == f"bytes {len(content)} crc32 {zlib.crc32(content):08x} aligned16 1\n"
    cmake_build(build, f"-DEE_EMBED_CHECK_FILE={older}")
    assert _embedded(build) == f"bytes 171 crc32 {zlib.crc32(older.read_bytes()):08x} aligned16 1\n"


def test_build_type_defaults_to_release_unless_chosen(tmp_path: Path):
    require_tools("cmake", "cc")
    for options, want in (([], "Release"), (["-DCMAKE_BUILD_TYPE=Debug"], "Debug")):
        build = tmp_path / (want or "none")
        subprocess.run(["cmake", "-S", str(REPO / "firmware"), "-B", str(build), *options], check=True, capture_output=True)
        assert f"CMAKE_BUILD_TYPE:STRING={want}\n" in (build / "CMakeCache.txt").read_text()


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
