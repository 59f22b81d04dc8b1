"""`edgeperf detect`: find DUTs, IO managers and power monitors by USB VID:PID, and confirm DUTs with `name`.

VID:PID alone is ambiguous (every ST-LINK V3 is 0483:374E, whether it sits on a DUT or on an
STM32H573I-DK IO manager), so a serial port is only called a DUT once it answered the EEMBC `name`
and `profile` commands. The MLCommons runner's devices.yaml can be imported to add its entries.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from ..dut import DutSession, RecoveryPolicy
from ..errors import ConfigError, EdgeperfError
from ..links import open_link
from .registry import BoardDescription


class PortInfo(Protocol):
    """What pyserial's `ListPortInfo` gives; tests pass real ListPortInfo objects for virtual boards."""

    device: str
    vid: int | None
    pid: int | None
    serial_number: str | None
    description: str


@dataclass(frozen=True)
class DeviceSpec:
    """A kind of device recognisable by VID:PID: a DUT board, an IO manager (interface) or a power monitor."""

    name: str
    role: str  # dut | interface | power
    usb: tuple[tuple[int, int], ...]
    baud: dict[str, int] = field(default_factory=dict)
    preference: int = 0
    transport: str = "serial"  # serial | usb (vendor bulk interface, found with pyusb)
    extra: dict[str, Any] = field(default_factory=dict)
    board: BoardDescription | None = None

    def matches(self, vid: int | None, pid: int | None) -> bool:
        return (vid, pid) in self.usb


#: IO managers and power monitors the MLCommons runner knows (devices_*.yaml), plus the PPK2 and Joulescope JS110.
BUILTIN: tuple[DeviceSpec, ...] = (
    DeviceSpec("stm32h573i-dk", "interface", ((0x0483, 0x374E),), {"all": 115200}, preference=2),
    DeviceSpec("arduino", "interface", ((0x2341, 0x0043), (0x2341, 0x0001), (0x2A03, 0x0043), (0x2A03, 0x0243)),
               {"all": 115200}, preference=1),
    DeviceSpec("lpm01a", "power", ((0x0483, 0x5740),), {"all": 3686400}, preference=2, extra={"voltage": 1.8}),
    DeviceSpec("ppk2", "power", ((0x1915, 0xC00A),), {"all": 115200}),
    DeviceSpec("js220", "power", ((0x16D0, 0x10BA),), preference=1, transport="usb"),
    DeviceSpec("js110", "power", ((0x16D0, 0x0E88),), transport="usb"),
)


def board_specs(boards: Iterable[BoardDescription]) -> list[DeviceSpec]:
    """DUT specs from the registry: each board's serial-bridge VID:PIDs and per-mode baud rates."""
    specs = []
    for board in boards:
        ids = tuple((u.vid, u.pid) for u in board.usb if u.role in ("serial", "vendor"))
        if ids:
            baud = {"performance": board.uart.performance, "accuracy": board.uart.accuracy}
            if board.uart.energy:
                baud["energy"] = board.uart.energy
            transport = "usb" if any(u.role == "vendor" for u in board.usb) else "serial"
            specs.append(DeviceSpec(board.name, "dut", ids, baud, transport=transport, board=board))
    return specs


def _hex_id(value: Any, path: Path, where: str) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    try:
        return int(str(value), 16)
    except ValueError:
        raise ConfigError(f"{path}: field '{where}': expected a USB id like 0x0483, got {value!r}") from None


def import_devices_yaml(path: Path) -> list[DeviceSpec]:
    """Read the MLCommons runner's devices.yaml (a list of {name, type, usb: {VID: PID | [PIDs]}, baud, ...})."""
    try:
        import yaml
    except ImportError:
        raise ConfigError("reading devices.yaml needs PyYAML: pip install 'edgeperf[lab]'") from None
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"{path}: cannot read devices YAML: {exc}") from None
    if not isinstance(data, list):
        raise ConfigError(f"{path}: expected a list of devices at the top level")
    specs = []
    for i, entry in enumerate(data):
        where = f"[{i}]"
        if not isinstance(entry, dict):
            raise ConfigError(f"{path}: field '{where}': expected a mapping with name, type and usb")
        entry = dict(entry)
        name = entry.pop("name", None)
        role = entry.pop("type", None)
        if not isinstance(name, str):
            raise ConfigError(f"{path}: field '{where}.name': required string")
        if role not in ("dut", "interface", "power"):
            raise ConfigError(f"{path}: field '{where}.type': must be dut, interface or power, got {role!r}")
        usb = entry.pop("usb", None)
        if not isinstance(usb, dict):
            raise ConfigError(f"{path}: field '{where}.usb': expected a mapping VID: PID or VID: [PID, ...]")
        ids = []
        for vid, pids in usb.items():
            vid_id = _hex_id(vid, path, f"{where}.usb")
            for pid in pids if isinstance(pids, list) else [pids]:
                ids.append((vid_id, _hex_id(pid, path, f"{where}.usb.0x{vid_id:04X}")))
        baud_value = entry.pop("baud", None)
        if isinstance(baud_value, dict):
            baud = {str(k): int(v) for k, v in baud_value.items()}
        elif isinstance(baud_value, int):
            baud = {"all": baud_value}
        elif baud_value is None:
            baud = {}
        else:
            raise ConfigError(f"{path}: field '{where}.baud': expected a number or {{mode: baud}}")
        preference = int(entry.pop("preference", 0))
        transport = "usb" if entry.get("interface") == "direct_usb" else "serial"
        specs.append(DeviceSpec(name, role, tuple(ids), baud, preference, transport, extra=entry))
    return specs


@dataclass
class Found:
    """One device seen on this machine and what detection concluded about it."""

    device: str
    vid: int | None
    pid: int | None
    serial_number: str | None
    candidates: list[DeviceSpec]
    role: str = "unknown"
    name: str = "?"
    confirmed: bool = False
    model: str = ""
    detail: str = ""

    @property
    def usb_id(self) -> str:
        return "-" if self.vid is None or self.pid is None else f"{self.vid:04X}:{self.pid:04X}"


def confirm_dut(device: str, baud: int, timeout: float = 2.0) -> tuple[str, str] | None:
    """Ask a port `name` and `profile`; (vendor, model) if an MLPerf Tiny DUT answered, else None."""
    try:
        link = open_link(device, baud)
    except EdgeperfError:
        return None
    try:
        session = DutSession(link, command_timeout=timeout, policy=RecoveryPolicy(command_attempts=1))
        identity = session.identify(boot_wait=0.2)
        return identity.vendor or "", identity.model or ""
    except EdgeperfError:
        return None
    finally:
        link.close()


def detect(ports: Sequence[PortInfo], specs: Sequence[DeviceSpec], confirm: bool = True,
           timeout: float = 2.0) -> list[Found]:
    """Match ports to specs by VID:PID and confirm DUT candidates (and unknown ports, if asked) with `name`."""
    found = []
    for port in ports:
        candidates = [s for s in specs if s.matches(port.vid, port.pid)]
        item = Found(port.device, port.vid, port.pid, port.serial_number, candidates)
        duts = [s for s in candidates if s.role == "dut"]
        others = sorted((s for s in candidates if s.role != "dut"), key=lambda s: -s.preference)
        if duts and confirm:
            baud = duts[0].baud.get("performance", 115200)
            answer = confirm_dut(port.device, baud, timeout)
            if answer is not None:
                item.role, item.name, item.confirmed, item.model = "dut", duts[0].name, True, answer[1]
                item.detail = f"answered name: vendor {answer[0]!r}, model {answer[1]!r} at {baud} baud"
                found.append(item)
                continue
            item.detail = f"no answer to name at {baud} baud"
        if others:
            item.role, item.name = others[0].role, others[0].name
            item.detail = (item.detail + "; " if item.detail else "") + "by VID:PID"
        elif duts:
            item.role, item.name = "dut?", duts[0].name
            item.detail = item.detail or "by VID:PID only (not confirmed)"
        found.append(item)
    return found


def list_serial_ports() -> list[PortInfo]:
    from serial.tools import list_ports

    return list(list_ports.comports())


@dataclass(frozen=True)
class UsbDevice:
    """A vendor-class USB device seen by pyusb (no serial port), e.g. a Joulescope."""

    device: str
    vid: int
    pid: int
    serial_number: str | None = None
    description: str = ""


def list_usb_devices() -> tuple[list[UsbDevice], str]:
    """Every USB device pyusb sees, and a note when pyusb or its libusb backend is missing."""
    try:
        import usb.core
    except ImportError:
        return [], "pyusb is not installed (pip install 'edgeperf[lab]'): vendor-USB devices were not searched"
    try:
        devices = list(usb.core.find(find_all=True))
    except usb.core.NoBackendError:
        return [], "pyusb found no libusb backend (apt-get install libusb-1.0-0): vendor-USB devices were not searched"
    return [UsbDevice(f"usb://{d.idVendor:04X}:{d.idProduct:04X}@{d.bus}.{d.address}", d.idVendor, d.idProduct)
            for d in devices], ""


#: udev's symlinks named after each adapter's vendor, product and serial number.
BY_ID = Path("/dev/serial/by-id")


def stable_path(device: str, by_id: Path = BY_ID) -> str:
    """The /dev/serial/by-id name of `device` when udev made one: /dev/ttyACM0 can be another board after a
    replug or a reboot, the by-id name cannot (it carries the adapter's serial number)."""
    try:
        target = Path(device).resolve()
        links = sorted(by_id.iterdir()) if by_id.is_dir() else []
    except OSError:
        return device
    return next((str(link) for link in links if link.resolve() == target), device)


def suggestion(found: Sequence[Found], by_id: Path = BY_ID) -> list[str]:
    """What edgeperf would use: the confirmed DUTs, the preferred IO manager and power monitor, each by its stable
    path."""
    lines = []
    for item in found:
        if item.role == "dut" and item.confirmed:
            lines.append(f"edgeperf run --board {item.name} --port {stable_path(item.device, by_id)}"
                         + (f" -b {item.model}" if item.model else ""))
    for role in ("interface", "power"):
        best = [i for i in found if i.role == role]
        if best:
            lines.append(f"{'IO manager' if role == 'interface' else 'power monitor'}: {best[0].name} on "
                         f"{stable_path(best[0].device, by_id)}")
    return lines
