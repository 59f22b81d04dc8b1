"""Board descriptions: one `boards/<name>/board.toml` per board, read into typed, validated dataclasses.

Every mistake in a description names the file and the field, and unknown keys are refused, so a typo
never silently falls back to a default when a lab adds a board.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from ..modes import Mode
from ..resources import shipped_dir

#: Flashers `edgeperf flash` knows; see `edgeperf.boards.flash`.
FLASHER_TOOLS = ("pyocd", "esptool", "openocd", "west", "stm32cubeprogrammer", "mass-storage", "arduino-cli",
                 "qemu", "none")
BOARD_KINDS = ("mcu", "mobile", "virtual", "qemu")
MODES = tuple(Mode)
DESCRIPTION_FILE = "board.toml"


@dataclass(frozen=True)
class UsbId:
    """A USB vendor/product pair, as pyserial's list_ports and pyusb report it."""

    vid: int
    pid: int
    role: str = "serial"  # serial: the DUT's UART bridge; debug: probe only; bootloader: shown while flashing

    def __str__(self) -> str:
        return f"{self.vid:04X}:{self.pid:04X}"


@dataclass(frozen=True)
class Mcu:
    part: str
    core: str
    clock_mhz: float
    flash_kib: int
    ram_kib: int


@dataclass(frozen=True)
class Uart:
    """The DUT UART per runner mode (8N1, no flow control, as the reference ports set it)."""

    performance: int
    accuracy: int
    energy: int | None

    def baud(self, mode: str) -> int:
        value = getattr(self, mode, None)
        if value is None:
            raise ConfigError(f"this board has no {mode}-mode UART setting")
        return int(value)


@dataclass(frozen=True)
class Flasher:
    tool: str
    target: str | None = None  # pyOCD/OpenOCD target, esptool chip, FQBN, drive label ...
    args: tuple[str, ...] = ()
    address: int | None = None  # load address for raw .bin images
    formats: tuple[str, ...] = (".elf", ".hex", ".bin")


@dataclass(frozen=True)
class MonitorWiring:
    """How the board is wired to a power monitor in energy mode, by default."""

    monitor: str
    voltage: float
    timestamp_pin: str
    notes: str = ""


@dataclass(frozen=True)
class BoardDescription:
    name: str
    title: str
    kind: str
    mcu: Mcu
    usb: tuple[UsbId, ...]
    uart: Uart
    flasher: Flasher
    timestamp_pin: str | None
    monitor: MonitorWiring | None
    notes: str
    path: Path

    def serial_ids(self) -> tuple[UsbId, ...]:
        return tuple(u for u in self.usb if u.role == "serial")


class _Table:
    """One TOML table being validated: remembers the file and dotted field path for every error."""

    def __init__(self, data: dict[str, Any], path: Path, prefix: str) -> None:
        self.data, self.path, self.prefix = dict(data), path, prefix

    def where(self, key: str) -> str:
        return f"{self.prefix}{key}"

    def fail(self, key: str, why: str) -> ConfigError:
        return ConfigError(f"{self.path}: field '{self.where(key)}': {why}")

    def take(self, key: str, kind: type | tuple[type, ...], required: bool = True, default: Any = None) -> Any:
        if key not in self.data:
            if required:
                raise self.fail(key, "is required")
            return default
        value = self.data.pop(key)
        kinds = kind if isinstance(kind, tuple) else (kind,)
        if isinstance(value, bool) and bool not in kinds or not isinstance(value, kinds):
            names = " or ".join(k.__name__ for k in kinds)
            raise self.fail(key, f"expected {names}, got {type(value).__name__} {value!r}")
        return value

    def table(self, key: str, required: bool = True) -> _Table | None:
        value = self.take(key, dict, required)
        return None if value is None else _Table(value, self.path, f"{self.where(key)}.")

    def done(self) -> None:
        if self.data:
            key = min(self.data)
            raise self.fail(key, "unknown field (check its spelling; allowed fields are documented in boards/README.md)")


def _positive(table: _Table, key: str, kind: type | tuple[type, ...] = int, required: bool = True) -> Any:
    value = table.take(key, kind, required)
    if value is not None and value <= 0:
        raise table.fail(key, f"must be positive, got {value!r}")
    return value


def _usb_id(text: Any, table: _Table, key: str) -> tuple[int, int]:
    try:
        vid, pid = str(text).split(":")
        return int(vid, 16), int(pid, 16)
    except ValueError:
        raise table.fail(key, f"expected 'VVVV:PPPP' in hexadecimal, got {text!r}") from None


def _parse(data: dict[str, Any], path: Path) -> BoardDescription:
    root = _Table(data, path, "")
    name = root.take("name", str)
    if name != path.parent.name:
        raise root.fail("name", f"is {name!r} but the folder is {path.parent.name!r}; they must match")
    title = root.take("title", str)
    kind = root.take("kind", str)
    if kind not in BOARD_KINDS:
        raise root.fail("kind", f"must be one of {', '.join(BOARD_KINDS)}, got {kind!r}")
    notes = root.take("notes", str, required=False, default="")
    timestamp_pin = root.take("timestamp_pin", str, required=False)

    t = root.table("mcu")
    assert t is not None
    mcu = Mcu(t.take("part", str), t.take("core", str), float(_positive(t, "clock_mhz", (int, float))),
              _positive(t, "flash_kib"), _positive(t, "ram_kib"))
    t.done()

    usb: list[UsbId] = []
    for i, entry in enumerate(root.take("usb", list, required=False, default=[])):
        if not isinstance(entry, dict):
            raise root.fail(f"usb[{i}]", "expected a table like {id = \"0483:374B\", role = \"serial\"}")
        u = _Table(entry, path, f"usb[{i}].")
        vid, pid = _usb_id(u.take("id", str), u, "id")
        role = u.take("role", str, required=False, default="serial")
        if role not in ("serial", "debug", "bootloader", "vendor"):
            raise u.fail("role", f"must be serial, debug, bootloader or vendor, got {role!r}")
        u.done()
        usb.append(UsbId(vid, pid, role))

    t = root.table("uart")
    assert t is not None
    uart = Uart(_positive(t, "performance"), _positive(t, "accuracy"), _positive(t, "energy", required=False))
    t.done()

    t = root.table("flasher")
    assert t is not None
    tool = t.take("tool", str)
    if tool not in FLASHER_TOOLS:
        raise t.fail("tool", f"must be one of {', '.join(FLASHER_TOOLS)}, got {tool!r}")
    args = t.take("args", list, required=False, default=[])
    if not all(isinstance(a, str) for a in args):
        raise t.fail("args", "must be a list of strings")
    formats = t.take("formats", list, required=False, default=[".elf", ".hex", ".bin"])
    if not all(isinstance(f, str) and f.startswith(".") for f in formats):
        raise t.fail("formats", "must be a list of file suffixes like \".elf\"")
    address = t.take("address", (int, str), required=False)
    if isinstance(address, str):
        try:
            address = int(address, 0)
        except ValueError:
            raise t.fail("address", f"expected an integer or '0x...' string, got {address!r}") from None
    flasher = Flasher(tool, t.take("target", str, required=False), tuple(args), address, tuple(formats))
    t.done()

    monitor = None
    t = root.table("monitor", required=False)
    if t is not None:
        monitor = MonitorWiring(t.take("monitor", str), float(_positive(t, "voltage", (int, float))),
                                t.take("timestamp_pin", str), t.take("notes", str, required=False, default=""))
        t.done()
    root.done()
    return BoardDescription(name, title, kind, mcu, tuple(usb), uart, flasher, timestamp_pin, monitor, notes, path)


def load_board_file(path: Path) -> BoardDescription:
    """Read and validate one description file."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 text (byte {exc.object[exc.start]:#04x} at offset {exc.start}); "
                          "TOML files must be UTF-8") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read board description: {exc}") from None
    return _parse(data, path)


def boards_dir() -> Path:
    """The board descriptions: $EDGEPERF_BOARDS, the installed package's, or the source checkout's `boards/`."""
    return shipped_dir("boards")


def load_registry(root: Path | None = None) -> dict[str, BoardDescription]:
    """Every `<root>/<name>/board.toml`, by name; folders without a description are skipped (firmware-only)."""
    root = root or boards_dir()
    if not root.is_dir():
        raise ConfigError(f"board registry {root} not found: set EDGEPERF_BOARDS, or reinstall edgeperf (its wheel ships boards/)")
    boards = {}
    for folder in sorted(p for p in root.iterdir() if p.is_dir()):
        file = folder / DESCRIPTION_FILE
        if file.is_file():
            boards[folder.name] = load_board_file(file)
    return boards


def get_board(name: str, root: Path | None = None) -> BoardDescription:
    """The named board's description; only its own file is read, so a broken description of another board
    does not stop this one."""
    root = root or boards_dir()
    file = root / name / DESCRIPTION_FILE
    if "/" in name or name.startswith(".") or not file.is_file():
        known = sorted(p.parent.name for p in root.glob(f"*/{DESCRIPTION_FILE}")) if root.is_dir() else []
        raise ConfigError(f"unknown board {name!r}; known boards: {', '.join(known) or 'none'} "
                          f"(descriptions live in {root}/<name>/{DESCRIPTION_FILE})")
    return load_board_file(file)
