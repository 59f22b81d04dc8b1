"""The Cortex-M fault report (boards/common/cortex-m/fault.c) on both QEMU boards: a fault-test
build (EE_FAULT_TEST=ON) faults inside `infer` on request, and the board must print the fault
registers and the stacked PC on its UART, then stay halted."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from edgeperf.sim.qemu import QEMU_BOARDS, QemuProcess

from firmware_support import FIRMWARE, REPO, cmake_build, upload_commands
from test_qemu_boards import SocketStream, _boot

DEBIAN_PACKAGES = {"cmake": "cmake", "arm-none-eabi-gcc": "gcc-arm-none-eabi libnewlib-arm-none-eabi",
                   "arm-none-eabi-nm": "binutils-arm-none-eabi", "qemu-system-arm": "qemu-system-arm"}
REPORT = re.compile(rb"e-\[fault: exception (\d+) CFSR=([0-9a-f]{8}) HFSR=([0-9a-f]{8}) MMFAR=([0-9a-f]{8}) "
                    rb"BFAR=([0-9a-f]{8}) PC=([0-9a-f]{8}) LR=([0-9a-f]{8})\]\r\n")
HFSR_FORCED = 1 << 30       # a configurable fault escalated to HardFault
CFSR_UNDEFINSTR = 1 << 16   # UsageFault: undefined instruction
CFSR_PRECISERR = 1 << 9     # BusFault: precise data bus error
CFSR_BFARVALID = 1 << 15


def _require_debian(*tools: str) -> None:
    missing = [tool for tool in tools if shutil.which(tool) is None]
    if missing:
        packages = " ".join(DEBIAN_PACKAGES[tool] for tool in missing)
        pytest.skip(f"{', '.join(missing)} not installed (Debian: apt-get install {packages})")


@pytest.fixture(scope="module")
def fault_builds(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    _require_debian(*DEBIAN_PACKAGES)
    toolchain = FIRMWARE / "cmake" / "arm-none-eabi.cmake"
    return {name: cmake_build(tmp_path_factory.mktemp(name), f"-DEE_BOARD={name}", f"-DCMAKE_TOOLCHAIN_FILE={toolchain}",
                              "-DEE_FAULT_TEST=ON", "-DEE_MODELS=kws01") / f"{name}-fault-test.elf"
            for name in QEMU_BOARDS}


def _symbol(elf: Path, name: str) -> range:
    """The address range of a function in the image (nm -S: address, size, type, name)."""
    out = subprocess.run(["arm-none-eabi-nm", "-S", str(elf)], capture_output=True, text=True, check=True).stdout
    for line in out.splitlines():
        fields = line.split()
        if len(fields) == 4 and fields[3] == name:
            start = int(fields[0], 16) & ~1
            return range(start, start + int(fields[1], 16))
    raise AssertionError(f"no {name} in {elf}")


def _unmapped_address(board: str) -> int:
    config = (REPO / "boards" / board / "board_config.h").read_text()
    match = re.search(r"#define BOARD_UNMAPPED_ADDRESS (0x[0-9a-fA-F]+)u", config)
    assert match, "board_config.h names no BOARD_UNMAPPED_ADDRESS"
    return int(match.group(1), 16)


def _fault(board: str, elf: Path, first_byte: int) -> tuple[list[int], bytes]:
    """Upload a kws01 input starting with first_byte, infer, and return the report's numbers and
    whatever the board says afterwards when spoken to."""
    with QemuProcess(QEMU_BOARDS[board], elf) as qemu:
        stream = SocketStream(qemu.url)
        try:
            _boot(stream)
            for command in upload_commands(490, bytes([first_byte]) + bytes(489)):
                assert not stream.command(command).startswith(b"e-")
            stream.write(b"infer 1 0%")
            reply = stream.read_until(lambda buf: REPORT.search(buf) is not None, 20)
            match = REPORT.search(reply)
            assert match, reply
            assert b"m-infer-start-1" in reply and b"m-results" not in reply, reply
            stream.write(b"name%")
            after = stream.read_until(lambda buf: False, 1.0)
        finally:
            stream.sock.close()
    return [int(v, 10 if i == 0 else 16) for i, v in enumerate(match.groups())], after


@pytest.mark.parametrize("board", list(QEMU_BOARDS))
def test_undefined_instruction_reports_usage_fault_and_pc(board: str, fault_builds: dict[str, Path]):
    elf = fault_builds[board]
    (exception, cfsr, hfsr, _, _, pc, _), after = _fault(board, elf, 0xFA)
    assert exception == 3  # HardFault: the UsageFault escalates while it is disabled
    assert cfsr == CFSR_UNDEFINSTR and hfsr == HFSR_FORCED
    assert pc == _symbol(elf, "fault_test_undefined").start  # the udf is the function's first instruction
    assert after == b""  # halted: no reply to a command after the report


@pytest.mark.parametrize("board", list(QEMU_BOARDS))
def test_bad_load_reports_bus_fault_address_and_pc(board: str, fault_builds: dict[str, Path]):
    elf = fault_builds[board]
    (exception, cfsr, hfsr, _, bfar, pc, lr), after = _fault(board, elf, 0xFB)
    assert exception == 3 and hfsr == HFSR_FORCED
    assert cfsr == CFSR_BFARVALID | CFSR_PRECISERR and bfar == _unmapped_address(board)
    assert pc in _symbol(elf, "fault_test_infer")  # the load, inside the faulting inference
    assert lr & 1  # a Thumb return address: the frame was read from the right stack
    assert after == b""
