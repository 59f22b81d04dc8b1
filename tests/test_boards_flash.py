"""Flashing: each flasher's command line from the board descriptions, and the real pyOCD and esptool
run against a missing probe / a port with no chip behind it, so the error paths are the tools' own."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from edgeperf.boards.flash import FlashError, FlashRequest, ToolMissingError, flash, flash_command
from edgeperf.boards.registry import load_registry
from edgeperf.boards.reset import serial_line_reset
from edgeperf.errors import ConfigError

REPO = Path(__file__).resolve().parents[1]
BOARDS = load_registry(REPO / "boards")


@pytest.fixture
def firmware(tmp_path: Path) -> dict[str, Path]:
    files = {}
    for suffix in (".bin", ".hex", ".elf", ".uf2"):
        path = tmp_path / f"app{suffix}"
        path.write_bytes(b"\x00\x01\x02\x03" * 64)
        files[suffix] = path
    return files


def test_command_lines(firmware):
    fw = firmware
    assert flash_command(FlashRequest(BOARDS["nucleo-l4r5zi"], fw[".bin"], probe="0671FF")) == [
        "pyocd", "flash", "-t", "stm32l4r5zitx", "-u", "0671FF", "--base-address", "0x08000000", str(fw[".bin"])]
    assert flash_command(FlashRequest(BOARDS["nucleo-l4r5zi"], fw[".elf"])) == [
        "pyocd", "flash", "-t", "stm32l4r5zitx", str(fw[".elf"])]
    esp = flash_command(FlashRequest(BOARDS["esp32-s3-devkitc"], fw[".bin"], port="rfc2217://lab2:4001"))
    assert esp[1:] == ["-m", "esptool", "--chip", "esp32s3", "--port", "rfc2217://lab2:4001", "--baud", "921600",
                       "--before", "default-reset", "--after", "hard-reset", "write-flash", "0x00000000",
                       str(fw[".bin"])]
    assert flash_command(FlashRequest(BOARDS["nrf5340-dk"], fw[".hex"], probe="1050012345")) == [
        "west", "flash", "--runner", "nrfjprog", "--hex-file", str(fw[".hex"]), "--dev-id", "1050012345"]
    assert flash_command(FlashRequest(BOARDS["nucleo-u575zi-q"], fw[".bin"], probe="003A")) == [
        "STM32_Programmer_CLI", "-c", "port=SWD", "sn=003A", "-w", str(fw[".bin"]), "0x08000000", "-v", "--start"]
    assert flash_command(FlashRequest(BOARDS["arduino-nano-33-ble-sense"], fw[".bin"], port="/dev/ttyACM0")) == [
        "arduino-cli", "upload", "-p", "/dev/ttyACM0", "--fqbn", "arduino:mbed_nano:nano33ble",
        "--input-file", str(fw[".bin"])]
    ocd_board = replace(BOARDS["nucleo-l4r5zi"], flasher=replace(BOARDS["nucleo-l4r5zi"].flasher, tool="openocd",
                                                                 target="board/st_nucleo_l4.cfg"))
    assert flash_command(FlashRequest(ocd_board, fw[".elf"], probe="0671FF")) == [
        "openocd", "-f", "board/st_nucleo_l4.cfg", "-c", "adapter serial 0671FF",
        "-c", f"program {fw['.elf']} verify reset exit"]
    assert flash_command(FlashRequest(ocd_board, fw[".bin"]))[-1] == f"program {fw['.bin']} 0x08000000 verify reset exit"


def test_requests_that_cannot_work_are_refused(firmware):
    with pytest.raises(ConfigError, match="takes .uf2"):
        flash_command(FlashRequest(BOARDS["rpi-pico"], firmware[".elf"]))
    with pytest.raises(ConfigError, match="--port"):
        flash_command(FlashRequest(BOARDS["esp32-s3-devkitc"], firmware[".bin"]))
    with pytest.raises(ConfigError, match="-kernel"):
        flash_command(FlashRequest(BOARDS["qemu-mps2-an386"], firmware[".elf"]))
    with pytest.raises(ConfigError, match="not flashed"):
        flash_command(FlashRequest(BOARDS["raspberry-pi-4"], firmware[".bin"]))


def test_pyocd_without_a_probe_reports_it(firmware):
    # The real pyOCD enumerates the real USB bus of this machine, where no probe is attached.
    with pytest.raises(FlashError, match="no debug probe with unique id 'EDGEPERF-NO-SUCH-PROBE'"):
        flash(FlashRequest(BOARDS["nucleo-l4r5zi"], firmware[".elf"], probe="EDGEPERF-NO-SUCH-PROBE"))


def test_esptool_against_a_port_with_no_chip(firmware):
    # A real pty with nothing behind it: esptool opens it, tries to sync with the ROM bootloader and gives up.
    master, slave = os.openpty()
    try:
        board = BOARDS["esp32-s3-devkitc"]
        quick = replace(board, flasher=replace(board.flasher, args=("--connect-attempts", "1")))
        with pytest.raises(FlashError) as info:
            flash(FlashRequest(quick, firmware[".bin"], port=os.ttyname(slave)))
    finally:
        os.close(master)
        os.close(slave)
    assert "esptool failed (exit 2)" in str(info.value)
    assert "Failed to connect to ESP32-S3" in str(info.value)


def test_esptool_against_a_missing_port(firmware):
    with pytest.raises(FlashError, match="Could not open /dev/ttyEDGEPERF-missing"):
        flash(FlashRequest(BOARDS["esp32-s3-devkitc"], firmware[".bin"], port="/dev/ttyEDGEPERF-missing"))


@pytest.mark.parametrize("board,suffix,tool,hint", [
    ("nucleo-u575zi-q", ".hex", "STM32_Programmer_CLI", "STM32CubeProgrammer"),
    ("nrf5340-dk", ".hex", "west", "pip install west"),
    ("arduino-nano-33-ble-sense", ".bin", "arduino-cli", "arduino-cli core install"),
])
def test_missing_tools_say_how_to_install(firmware, monkeypatch, board, suffix, tool, hint, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))  # an empty PATH: none of the vendor tools can be found
    with pytest.raises(ToolMissingError) as info:
        flash(FlashRequest(BOARDS[board], firmware[suffix], port="/dev/ttyACM0"))
    assert tool in str(info.value) and hint in str(info.value)


def test_mass_storage_copies_onto_the_drive(firmware, tmp_path):
    drive = tmp_path / "RPI-RP2"
    drive.mkdir()
    message = flash(FlashRequest(BOARDS["rpi-pico"], firmware[".uf2"], drive=drive))
    assert (drive / "app.uf2").read_bytes() == firmware[".uf2"].read_bytes()
    assert str(drive) in message
    with pytest.raises(FlashError, match="BOOTSEL"):
        flash(FlashRequest(BOARDS["rpi-pico"], firmware[".uf2"], drive=tmp_path / "not-mounted"))


def test_rts_reset_pulses_the_line(caplog):
    # pyserial's loop:// port logs every control-line change it is given.
    with caplog.at_level(logging.INFO, logger="pySerial.loop"):
        serial_line_reset("loop://?logging=info", "rts")
    changes = [r.getMessage().split(" ->")[0] for r in caplog.records if "_update_" in r.getMessage()]
    assert changes[-3:] == ["_update_dtr_state(False)", "_update_rts_state(True)", "_update_rts_state(False)"]


def test_flash_cli_dry_run_and_error(firmware):
    env = dict(os.environ, PYTHONPATH=str(REPO / "host"), COLUMNS="300")
    proc = subprocess.run([sys.executable, "-m", "edgeperf.cli", "flash", "--board", "nucleo-l4r5zi",
                           str(firmware[".hex"]), "--dry-run"], env=env, text=True, capture_output=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert f"pyocd flash -t stm32l4r5zitx {firmware['.hex']}" in proc.stdout
    proc = subprocess.run([sys.executable, "-m", "edgeperf.cli", "flash", "--board", "qemu-mps3-an547",
                           str(firmware[".elf"])], env=env, text=True, capture_output=True, timeout=60)
    assert proc.returncode == 3 and "not flashed" in proc.stderr


def _run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PYTHONPATH=str(REPO / "host"), COLUMNS="300")
    return subprocess.run([sys.executable, "-m", "edgeperf.cli", *args], env=env, text=True, capture_output=True,
                          timeout=120)


def test_a_silent_board_is_reset_before_the_run(tmp_path):
    # A real pty with no firmware behind it: edgeperf tries RTS (ESP32 DevKit), which a pty cannot do.
    master, slave = os.openpty()
    try:
        proc = _run_cli("run", "-b", "kws01", "--quick", "--board", "esp32-s3-devkitc", "--port", os.ttyname(slave),
                        "--results", str(tmp_path / "res"))
    finally:
        os.close(master)
        os.close(slave)
    assert proc.returncode == 4
    import json
    error = json.loads((tmp_path / "res" / "results.json").read_text())["runs"][0]["error"]
    assert "did not answer `name`" in error and "cannot reset through RTS" in error
    # With the probe-reset board the real pyOCD is asked, and finds no probe on this machine.
    proc = _run_cli("run", "-b", "kws01", "--quick", "--board", "nucleo-l4r5zi", "--port", "loop://",
                    "--results", str(tmp_path / "res2"))
    error = json.loads((tmp_path / "res2" / "results.json").read_text())["runs"][0]["error"]
    assert "no debug probe found by pyOCD to reset nucleo-l4r5zi" in error
