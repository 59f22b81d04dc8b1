"""Discovery: VID:PID matching against the registry and the MLCommons devices.yaml, DUTs confirmed by a
real virtual board answering `name` on its pty (ports described by real pyserial ListPortInfo objects)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from serial.tools.list_ports_common import ListPortInfo

from edgeperf.boards.detect import BUILTIN, board_specs, detect, import_devices_yaml, suggestion
from edgeperf.boards.registry import load_registry
from edgeperf.errors import ConfigError

REPO = Path(__file__).resolve().parents[1]

# The MLCommons runner's devices_kws_ic_vww.yaml layout (hex keys, PID lists, per-mode baud).
DEVICES_YAML = """\
- name: stm32h573i-dk
  type: interface
  preference: 2
  baud: 115200
  usb:
    0x0483: 0x374E
- name: arduino
  type: interface
  preference: 1
  baud: 115200
  usb:
    0x2341:
      - 0x0043
      - 0x0001
- name: lpm01a
  type: power
  baud: 3686400
  voltage: 1.8
  usb:
    0x0483: 0x5740
- name: l4r5zi
  type: dut
  baud:
    energy: 9600
    performance: 115200
    accuracy: 115200
  usb:
    0x0483: 0x374B
- name: js220
  type: power
  interface: direct_usb
  usb:
    0x16D0: 0x10BA
"""


def _port(device: str, vid: int | None, pid: int | None, serial: str = "SN1") -> ListPortInfo:
    info = ListPortInfo(device, skip_link_detection=True)
    info.vid, info.pid, info.serial_number = vid, pid, serial
    return info


def test_devices_yaml_import(tmp_path):
    path = tmp_path / "devices.yaml"
    path.write_text(DEVICES_YAML)
    specs = {s.name: s for s in import_devices_yaml(path)}
    assert specs["arduino"].usb == ((0x2341, 0x0043), (0x2341, 0x0001))
    assert specs["l4r5zi"].role == "dut" and specs["l4r5zi"].baud == {"energy": 9600, "performance": 115200,
                                                                        "accuracy": 115200}
    assert specs["lpm01a"].baud == {"all": 3686400} and specs["lpm01a"].extra["voltage"] == 1.8
    assert specs["js220"].transport == "usb"
    path.write_text("- name: x\n  type: monitor\n  usb: {0x1: 0x2}\n")
    with pytest.raises(ConfigError, match=r"devices.yaml: field '\[0\].type'"):
        import_devices_yaml(path)


def test_detect_confirms_a_virtual_board_and_sorts_out_the_rest(start_board, tmp_path):
    board = start_board("kws01", baud=115200, time_scale=0.0)
    silent_master, silent_slave = os.openpty()  # an ST-LINK-like port whose board runs no benchmark firmware
    try:
        path = tmp_path / "devices.yaml"
        path.write_text(DEVICES_YAML)
        specs = board_specs(load_registry(REPO / "boards").values()) + import_devices_yaml(path) + list(BUILTIN)
        ports = [
            _port(board.url, 0x0483, 0x374B),                    # NUCLEO-L4R5ZI's ST-LINK, virtual board behind it
            _port(os.ttyname(silent_slave), 0x0483, 0x374E),      # STLINK-V3: U575 DUT or H573 IO manager?
            _port("/dev/ttyACM7", 0x0483, 0x5740),                # LPM01A
            _port("/dev/ttyS0", None, None),
        ]
        found = detect(ports, specs, timeout=1.0)
    finally:
        os.close(silent_master)
        os.close(silent_slave)
    dut, ambiguous, monitor, plain = found
    assert (dut.role, dut.name, dut.confirmed, dut.model) == ("dut", "nucleo-l4r5zi", True, "kws01")
    assert "answered name" in dut.detail
    # Nobody answered `name`, so the shared ST-LINK V3 id falls back to the IO manager it also names.
    assert (ambiguous.role, ambiguous.name, ambiguous.confirmed) == ("interface", "stm32h573i-dk", False)
    assert "no answer to name" in ambiguous.detail
    assert (monitor.role, monitor.name) == ("power", "lpm01a")
    assert plain.role == "unknown"
    lines = suggestion(found, by_id=tmp_path / "no-udev")
    assert lines[0] == f"edgeperf run --board nucleo-l4r5zi --port {board.url} -b kws01"
    assert "IO manager: stm32h573i-dk" in lines[1] and "power monitor: lpm01a on /dev/ttyACM7" in lines[2]
    # With udev's by-id links the suggestion names the link that follows the adapter, not the tty.
    by_id = tmp_path / "by-id"
    by_id.mkdir()
    stable = by_id / "usb-STMicroelectronics_STLINK-V3_0026003A3133510B37363734-if02"
    stable.symlink_to(board.url)
    assert suggestion(found, by_id=by_id)[0] == f"edgeperf run --board nucleo-l4r5zi --port {stable} -b kws01"


def test_without_confirmation_a_dut_is_only_a_candidate():
    specs = board_specs(load_registry(REPO / "boards").values())
    (item,) = detect([_port("/dev/ttyUSB3", 0x10C4, 0xEA60)], specs, confirm=False)
    assert (item.role, item.name, item.confirmed) == ("dut?", "esp32-s3-devkitc", False)
    assert suggestion([item]) == []


def test_detect_command_runs_on_this_machine(tmp_path):
    import subprocess
    import sys

    env = dict(os.environ, PYTHONPATH=str(REPO / "host"), COLUMNS="250")
    good = tmp_path / "devices.yaml"
    good.write_text(DEVICES_YAML)
    proc = subprocess.run([sys.executable, "-m", "edgeperf.cli", "detect", "--devices-yaml", str(good), "--timeout",
                           "0.5"], env=env, text=True, capture_output=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "connected devices" in proc.stdout
    assert "would use:" in proc.stdout or "no MLPerf Tiny DUT confirmed" in proc.stdout
    bad = tmp_path / "bad.yaml"
    bad.write_text("- name: lpm01a\n  type: power\n  usb:\n    0x0483: STLINK\n")
    proc = subprocess.run([sys.executable, "-m", "edgeperf.cli", "detect", "--devices-yaml", str(bad)], env=env,
                          text=True, capture_output=True, timeout=120)
    assert proc.returncode == 3
    assert "bad.yaml" in proc.stderr and "[0].usb.0x0483" in proc.stderr
