"""Board registry: every shipped description loads, and every kind of mistake names the file and the field."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from edgeperf.boards.registry import load_board_file, load_registry
from edgeperf.errors import ConfigError

REPO = Path(__file__).resolve().parents[1]
SHIPPED = ["nucleo-l4r5zi", "nucleo-u575zi-q", "nrf5340-dk", "esp32-s3-devkitc", "rpi-pico",
           "arduino-nano-33-ble-sense", "raspberry-pi-4", "virtual", "qemu-mps2-an386", "qemu-mps3-an547"]


def test_every_shipped_board_loads():
    registry = load_registry(REPO / "boards")
    assert set(SHIPPED) <= set(registry)
    l4 = registry["nucleo-l4r5zi"]
    # The MLPerf Tiny runner's devices.yaml values for the reference board.
    assert str(l4.serial_ids()[0]) == "0483:374B"
    assert (l4.uart.performance, l4.uart.accuracy, l4.uart.energy) == (115200, 115200, 9600)
    assert l4.flasher.tool == "pyocd" and l4.flasher.address == 0x08000000
    assert registry["esp32-s3-devkitc"].flasher.target == "esp32s3"


GOOD = (REPO / "boards" / "nucleo-l4r5zi" / "board.toml").read_text()


def _write(tmp_path: Path, text: str, name: str = "nucleo-l4r5zi") -> Path:
    path = tmp_path / name / "board.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


@pytest.mark.parametrize("old,new,field", [
    ('performance = 115200', 'performance = "fast"', "uart.performance"),
    ('clock_mhz = 120', 'clock_mhz = -5', "mcu.clock_mhz"),
    ('tool = "pyocd"', 'tool = "jtagulator"', "flasher.tool"),
    ('id = "0483:374B"', 'id = "ST-LINK"', "usb[0].id"),
    ('kind = "mcu"', 'kind = "mcu"\nclok_mhz = 3', "clok_mhz"),
    ('[uart]\n', '[uart]\nparity = "E"\n', "uart.parity"),
    ('name = "nucleo-l4r5zi"', 'name = "nucleo"', "name"),
    ('part = "STM32L4R5ZIT6"\n', '', "mcu.part"),
])
def test_description_errors_name_file_and_field(tmp_path, old, new, field):
    assert old in GOOD
    path = _write(tmp_path, GOOD.replace(old, new, 1))
    with pytest.raises(ConfigError) as info:
        load_board_file(path)
    assert str(path) in str(info.value)
    assert f"field '{field}'" in str(info.value)


def test_invalid_toml_names_the_file(tmp_path):
    path = _write(tmp_path, GOOD + "\n[uart\n")
    with pytest.raises(ConfigError, match="not valid TOML") as info:
        load_board_file(path)
    assert str(path) in str(info.value)


def _cli(*args: str, env_extra: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PYTHONPATH=str(REPO / "host"), COLUMNS="200", **(env_extra or {}))
    return subprocess.run([sys.executable, "-m", "edgeperf.cli", *args], env=env, text=True, capture_output=True,
                          timeout=120)


def test_boards_command_lists_the_registry():
    proc = _cli("boards")
    assert proc.returncode == 0, proc.stderr
    for name in SHIPPED:
        assert name in proc.stdout
    assert "0483:374B" in proc.stdout and "stm32cubeprogrammer" in proc.stdout


def test_boards_command_reports_a_broken_description(tmp_path):
    path = _write(tmp_path, GOOD.replace("energy = 9600", "energy = 0"))
    proc = _cli("boards", env_extra={"EDGEPERF_BOARDS": str(tmp_path)})
    assert proc.returncode == 3
    assert "uart.energy" in proc.stderr and "board.toml" in proc.stderr
