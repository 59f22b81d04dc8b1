"""The C++ TFLite Micro runner, built natively against a TFLM tree, prints exactly the results
line the Python TFLite Micro interpreter and the reference port logic give for the same input.

Runs only when EDGEPERF_TFLM_DIR names a tree made by tflite-micro's create_tflm_tree.py (no
package ships TFLM's C++ sources, so CI cannot build it); see firmware/runners/tflm/README.md."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from edgeperf.ports import ReferencePort
from edgeperf.runtimes import TflmRunner

from conftest import model_path
from firmware_support import NativeDevice, cmake_build, upload_commands
from system_tools import require_tools

TFLM_DIR = os.environ.get("EDGEPERF_TFLM_DIR", "")


@pytest.fixture(scope="module")
def tflm_build_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One build for all models (only the embedded model changes); EDGEPERF_TFLM_BUILD reuses one."""
    return Path(os.environ.get("EDGEPERF_TFLM_BUILD") or tmp_path_factory.mktemp("fw-tflm"))


@pytest.mark.parametrize("profile", ["kws01", "ic01"])
def test_tflm_runner_matches_python_tflite_micro(profile: str, tflm_build_dir: Path):
    if not TFLM_DIR or not (Path(TFLM_DIR) / "tensorflow" / "lite" / "micro").is_dir():
        pytest.skip("set EDGEPERF_TFLM_DIR to a TFLM tree (create_tflm_tree.py output) to build the C++ runner")
    require_tools("cmake", "make", "c++")
    build = cmake_build(tflm_build_dir, f"-DEE_TFLM_DIR={TFLM_DIR}",
                        f"-DEE_MODEL_FILE={model_path(profile)}")
    port = ReferencePort(profile, TflmRunner(model_path(profile)))
    device = NativeDevice(build / "ee_native_tflm", "--model", profile)
    try:
        boot = device.stream.read_until(lambda buf: buf.endswith(b"m-ready\r\n"), 20)
        assert boot.endswith(b"m-init-done\r\nm-ready\r\n"), boot
        assert b"m-runner-[tflite-micro]" in device.stream.command(b"profile%")
        for seed in range(3):
            data = bytes((i * (7 + seed) + seed * 13) % 256 for i in range(port.input_bytes))
            replies = b"".join(device.stream.command(c) for c in upload_commands(len(data), data))
            assert replies.endswith(b"m-load-done\r\nm-ready\r\n")
            reply = device.stream.command(b"infer 1 0%").decode()
            line = next(l for l in reply.splitlines() if l.startswith("m-results-["))
            assert port.load_tensor(data) is None
            port.infer()
            assert line + "\r\n" == port.results_line()
    finally:
        device.close()


@pytest.mark.parametrize("profile", ["kws01", "ic01"])
def test_tflm_in_qemu_matches_python_tflite_micro(profile: str, tmp_path_factory: pytest.TempPathFactory):
    """The TFLM runner cross-compiled for the Cortex-M4 and run in QEMU prints the host's results."""
    if not TFLM_DIR or not (Path(TFLM_DIR) / "tensorflow" / "lite" / "micro").is_dir():
        pytest.skip("set EDGEPERF_TFLM_DIR to a TFLM tree (create_tflm_tree.py output) to build the C++ runner")
    require_tools("cmake", "make", "arm-none-eabi-g++", "newlib", "qemu-system-arm")
    from edgeperf.dut import DutSession
    from edgeperf.links import open_link
    from edgeperf.sim.qemu import QEMU_BOARDS, QemuProcess

    board = QEMU_BOARDS["qemu-mps2-an386"]
    toolchain = Path(__file__).resolve().parents[1] / "firmware" / "cmake" / "arm-none-eabi.cmake"
    build_dir = Path(os.environ.get("EDGEPERF_TFLM_QEMU_BUILD") or tmp_path_factory.mktemp("fw-tflm-qemu"))
    build = cmake_build(build_dir, f"-DEE_BOARD={board.name}", f"-DEE_TFLM_DIR={TFLM_DIR}", "-DEE_MODELS=kws01;ic01",
                        f"-DCMAKE_TOOLCHAIN_FILE={toolchain}")
    port = ReferencePort(profile, TflmRunner(model_path(profile)))
    with QemuProcess(board, build / f"{board.name}-{profile}-tflm.elf") as qemu:
        session = DutSession(open_link(qemu.url))
        try:
            identity = session.identify()
            assert identity.model == profile and "tflite-micro" in identity.vendor
            assert "m-runner-[tflite-micro]" in session.client.profile_lines
            for seed in range(2):
                data = bytes((i * (5 + seed) + seed * 17) % 256 for i in range(port.input_bytes))
                session.upload(data)
                reply = session.infer(1, 0, timeout=300)
                assert port.load_tensor(data) is None
                port.infer()
                expected = [float(v) for v in port.results_line()[len("m-results-["):-3].split(",") if v]
                assert reply.results == expected
            assert session.stats.binary_uploads == 2
        finally:
            session.link.close()
