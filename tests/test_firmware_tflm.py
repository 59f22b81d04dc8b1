"""The C++ TFLite Micro runner, built natively and for the QEMU Cortex-M4 board against a TFLM
tree, prints exactly the results the Python TFLite Micro interpreter and the reference port logic
give for the same input: every bundled model, on its bundled samples and on random inputs, with
the reference kernels and with CMSIS-NN.

Runs only when EDGEPERF_TFLM_DIR names a tree made by tflite-micro's create_tflm_tree.py (reference
kernels) and, for the CMSIS-NN cases, EDGEPERF_TFLM_CMSIS_DIR one made with OPTIMIZED_KERNEL_DIR=cmsis_nn
(no package ships TFLM's C++ sources, so CI cannot build it); see firmware/runners/tflm/README.md.
EDGEPERF_TFLM_RANDOM sets the random inputs per model (default 4; the issue's check used 200)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from edgeperf.benchmarks import get_benchmark
from edgeperf.ports import ReferencePort
from edgeperf.runtimes import TflmRunner

from conftest import MODELS, model_path
from firmware_support import NativeDevice, cmake_build, upload_commands
from system_tools import require_tools

TREES = {"reference": os.environ.get("EDGEPERF_TFLM_DIR", ""),
         "cmsis_nn": os.environ.get("EDGEPERF_TFLM_CMSIS_DIR", "")}
PROFILES = ["kws01", "vww01", "ic01", "ic02", "ad01"]
RANDOM_INPUTS = int(os.environ.get("EDGEPERF_TFLM_RANDOM", "4"))
# ic02 is scored on the ic01 dataset (benchmarks.py), so its bundled samples are ic01's.
SAMPLES = {"ic02": "ic01"}


def tree(kernels: str) -> str:
    path = TREES[kernels]
    variable = "EDGEPERF_TFLM_DIR" if kernels == "reference" else "EDGEPERF_TFLM_CMSIS_DIR"
    if not path or not (Path(path) / "tensorflow" / "lite" / "micro").is_dir():
        pytest.skip(f"set {variable} to a TFLM tree (create_tflm_tree.py output) to build the C++ runner")
    if kernels == "cmsis_nn" and not (Path(path) / "tensorflow" / "lite" / "micro" / "kernels" / "cmsis_nn").is_dir():
        pytest.fail(f"{variable}={path} has no tensorflow/lite/micro/kernels/cmsis_nn: make it with OPTIMIZED_KERNEL_DIR=cmsis_nn")
    return path


def inputs(profile: str, port: ReferencePort) -> list[tuple[str, bytes]]:
    """The bundled samples of the benchmark (ad01: the first and the middle window of each file, as the host
    uploads them), then RANDOM_INPUTS seeded random inputs of the port's size."""
    benchmark = get_benchmark(profile)
    folder = MODELS / "samples" / SAMPLES.get(profile, profile)
    indices = sorted({0, benchmark.windows_per_file // 2})
    found = [(f"{f.name}[{i}]", benchmark.window(f.read_bytes(), i))
             for f in sorted(folder.glob("*.bin")) for i in indices]
    assert found and all(len(data) == port.input_bytes for _, data in found), folder
    rng = np.random.default_rng(17)
    for i in range(RANDOM_INPUTS):
        if profile == "ad01":  # float32 log-mels: random values over the samples' own range
            values = np.concatenate([np.frombuffer(data, "<f4") for _, data in found])
            data = rng.uniform(values.min(), values.max(), 640).astype("<f4").tobytes()
        else:
            data = rng.integers(0, 256, port.input_bytes, dtype=np.uint8).tobytes()
        found.append((f"random-{i}", data))
    return found


def expected_results(port: ReferencePort, data: bytes) -> list[float]:
    assert port.load_tensor(data) is None
    port.infer()
    return [float(v) for v in port.results_line()[len("m-results-["):-3].split(",") if v]


@pytest.fixture(scope="module")
def build_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Build directories, one per kernel set; EDGEPERF_TFLM_BUILD keeps them between runs."""
    return Path(os.environ.get("EDGEPERF_TFLM_BUILD") or tmp_path_factory.mktemp("fw-tflm"))


@pytest.mark.parametrize("kernels", ["reference", "cmsis_nn"])
@pytest.mark.parametrize("profile", PROFILES)
def test_tflm_runner_matches_python_tflite_micro(profile: str, kernels: str, build_root: Path):
    path = tree(kernels)
    require_tools("cmake", "make", "c++")
    build = cmake_build(build_root / f"native-{kernels}", f"-DEE_TFLM_DIR={path}", f"-DEE_TFLM_KERNELS={kernels}",
                        f"-DEE_MODEL_FILE={model_path(profile)}")
    port = ReferencePort(profile, TflmRunner(model_path(profile)))
    device = NativeDevice(build / "ee_native_tflm", "--model", profile)
    try:
        boot = device.stream.read_until(lambda buf: buf.endswith(b"m-ready\r\n"), 20)
        assert boot.endswith(b"m-init-done\r\nm-ready\r\n"), boot
        profile_reply = device.stream.command(b"profile%")
        assert b"m-runner-[tflite-micro]" in profile_reply
        assert f"m-ext-[tflm-kernels={kernels}]".encode() in profile_reply
        for name, data in inputs(profile, port):
            replies = b"".join(device.stream.command(c) for c in upload_commands(len(data), data))
            assert replies.endswith(b"m-load-done\r\nm-ready\r\n"), name
            reply = device.stream.command(b"infer 1 0%").decode()
            line = next(l for l in reply.splitlines() if l.startswith("m-results-["))
            assert port.load_tensor(data) is None
            port.infer()
            assert line + "\r\n" == port.results_line(), name
    finally:
        device.close()


@pytest.fixture(scope="module")
def qemu_images(build_root: Path):
    """The QEMU mps2-an386 TFLM images of every bundled model, built once per kernel set."""
    toolchain = Path(__file__).resolve().parents[1] / "firmware" / "cmake" / "arm-none-eabi.cmake"
    built: dict[str, Path] = {}

    def images(kernels: str) -> Path:
        if kernels not in built:
            built[kernels] = cmake_build(build_root / f"qemu-{kernels}", "-DEE_BOARD=qemu-mps2-an386",
                                         f"-DEE_TFLM_DIR={tree(kernels)}", f"-DEE_TFLM_KERNELS={kernels}",
                                         f"-DEE_MODELS={';'.join(PROFILES)}", f"-DCMAKE_TOOLCHAIN_FILE={toolchain}")
        return built[kernels]

    return images


@pytest.mark.parametrize("kernels", ["reference", "cmsis_nn"])
@pytest.mark.parametrize("profile", PROFILES)
def test_tflm_in_qemu_matches_python_tflite_micro(profile: str, kernels: str, qemu_images):
    """The TFLM runner cross-compiled for the Cortex-M4 at -O2 and run in QEMU prints the host's results."""
    tree(kernels)
    require_tools("cmake", "make", "arm-none-eabi-g++", "newlib", "qemu-system-arm")
    from edgeperf.dut import DutSession
    from edgeperf.links import open_link
    from edgeperf.sim.qemu import QEMU_BOARDS, QemuProcess

    board = QEMU_BOARDS["qemu-mps2-an386"]
    build = qemu_images(kernels)
    port = ReferencePort(profile, TflmRunner(model_path(profile)))
    samples = inputs(profile, port)
    with QemuProcess(board, build / f"{board.name}-{profile}-tflm.elf") as qemu:
        session = DutSession(open_link(qemu.url))
        try:
            identity = session.identify()
            assert identity.model == profile and "tflite-micro" in identity.vendor
            assert "m-runner-[tflite-micro]" in session.client.profile_lines
            assert f"m-ext-[tflm-kernels={kernels}]" in session.client.profile_lines
            for name, data in samples:
                session.upload(data)
                reply = session.infer(1, 0, timeout=300)
                assert reply.results == expected_results(port, data), name
            assert session.stats.binary_uploads == len(samples)
        finally:
            session.link.close()
