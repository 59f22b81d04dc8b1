"""`edgeperf flash`: put firmware on a board with the flasher its description names.

GPL tools (esptool) and vendor CLIs (OpenOCD, west, STM32CubeProgrammer, arduino-cli) run as subprocesses;
pyOCD (Apache-2.0) is used through its Python API. Every flasher can print its command line first
(`--dry-run`), and a missing tool raises an error that says how to install it.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from ..errors import ConfigError, DeviceError
from .registry import BoardDescription


class ToolMissingError(ConfigError):
    """A flasher program or Python package is not installed."""


class FlashError(DeviceError):
    """The flasher ran but the board was not programmed (no probe, no answer, verify failed)."""


#: How to install each tool, for the error a user sees when it is missing.
INSTALL = {
    "pyocd": "pip install 'edgeperf[lab]' (or pip install pyocd)",
    "esptool": "pip install 'edgeperf[lab]' (or pip install esptool)",
    "openocd": "apt-get install openocd (Debian/Ubuntu) or your distribution's openocd package",
    "west": "pip install west, inside a Zephyr workspace (https://docs.zephyrproject.org/latest/develop/getting_started/)",
    "STM32_Programmer_CLI": "install STM32CubeProgrammer from st.com and put its bin/ folder on PATH",
    "arduino-cli": "install arduino-cli (https://arduino.github.io/arduino-cli/) and the board's core, "
                   "e.g. arduino-cli core install arduino:mbed_nano",
}


@dataclass(frozen=True)
class FlashRequest:
    board: BoardDescription
    firmware: Path
    port: str | None = None  # serial port URL (esptool, arduino-cli)
    probe: str | None = None  # debug probe serial number / unique id
    drive: Path | None = None  # mounted USB mass-storage drive
    build_dir: Path | None = None  # west: the Zephyr build folder


def _address(request: FlashRequest) -> str | None:
    address = request.board.flasher.address
    if request.firmware.suffix == ".bin" and address is None:
        raise ConfigError(f"{request.board.path}: field 'flasher.address' is needed to flash a raw .bin image")
    return None if address is None or request.firmware.suffix != ".bin" else f"0x{address:08X}"


def _need_program(name: str) -> str:
    exe = shutil.which(name)
    if exe is None:
        raise ToolMissingError(f"{name} not found on PATH: {INSTALL[name]}")
    return exe


def _need_port(request: FlashRequest, tool: str) -> str:
    if not request.port:
        raise ConfigError(f"{tool} flashes over the board's serial port: pass --port (e.g. /dev/ttyUSB0 or "
                          "rfc2217://HOST:PORT)")
    return request.port


def esptool_argv(request: FlashRequest) -> list[str]:
    f = request.board.flasher
    address = _address(request) or "0x0"
    return [sys.executable, "-m", "esptool", "--chip", f.target or "auto", "--port", _need_port(request, "esptool"),
            *f.args, "--before", "default-reset", "--after", "hard-reset", "write-flash", address,
            str(request.firmware)]


def openocd_argv(request: FlashRequest) -> list[str]:
    f = request.board.flasher
    if not f.target:
        raise ConfigError(f"{request.board.path}: field 'flasher.target' must name an OpenOCD config, "
                          "e.g. board/st_nucleo_l4.cfg")
    argv = ["openocd", "-f", f.target, *f.args]
    if request.probe:
        argv += ["-c", f"adapter serial {request.probe}"]
    address = _address(request)
    argv += ["-c", f"program {request.firmware}{' ' + address if address else ''} verify reset exit"]
    return argv


def west_argv(request: FlashRequest) -> list[str]:
    kind = {".hex": "--hex-file", ".elf": "--elf-file", ".bin": "--bin-file"}.get(request.firmware.suffix)
    if kind is None:
        raise ConfigError(f"west flash takes .hex, .elf or .bin, not {request.firmware.name}")
    argv = ["west", "flash", *request.board.flasher.args]
    if request.build_dir:
        argv += ["-d", str(request.build_dir)]
    argv += [kind, str(request.firmware)]
    if request.probe:
        argv += ["--dev-id", request.probe]
    return argv


def stm32cube_argv(request: FlashRequest) -> list[str]:
    connect = "port=SWD" + (f" sn={request.probe}" if request.probe else "")
    address = _address(request)
    extra = [a for a in request.board.flasher.args]
    return ["STM32_Programmer_CLI", "-c", *connect.split(" "), "-w", str(request.firmware),
            *([address] if address else []), "-v", *(extra or ["-rst"])]


def arduino_argv(request: FlashRequest) -> list[str]:
    f = request.board.flasher
    return ["arduino-cli", "upload", "-p", _need_port(request, "arduino-cli"), "--fqbn", f.target or "",
            "--input-file", str(request.firmware), *f.args]


def pyocd_equivalent_argv(request: FlashRequest) -> list[str]:
    """The pyOCD CLI line that does what `flash_pyocd` does through the API (shown by --dry-run)."""
    f = request.board.flasher
    argv = ["pyocd", "flash", "-t", f.target or "", *f.args]
    if request.probe:
        argv += ["-u", request.probe]
    address = _address(request)
    if address:
        argv += ["--base-address", address]
    return argv + [str(request.firmware)]


def flash_pyocd(request: FlashRequest) -> str:
    """Program through pyOCD's Python API and reset the core."""
    if importlib.util.find_spec("pyocd") is None:
        raise ToolMissingError(f"pyOCD is not installed: {INSTALL['pyocd']}")
    from pyocd.core.exceptions import Error as PyocdError
    from pyocd.core.helpers import ConnectHelper
    from pyocd.flash.file_programmer import FileProgrammer

    f = request.board.flasher
    try:
        session = ConnectHelper.session_with_chosen_probe(
            blocking=False, unique_id=request.probe, target_override=f.target, return_first=request.probe is None)
        if session is None:
            probes = "" if request.probe is None else f" with unique id {request.probe!r}"
            raise FlashError(f"no debug probe{probes} found by pyOCD for {request.board.name}: plug the board's "
                             "ST-LINK/CMSIS-DAP/J-Link in (check `pyocd list`, udev rules and USB permissions)")
        with session:
            FileProgrammer(session).program(str(request.firmware), base_address=f.address)
            session.target.reset()
    except PyocdError as exc:
        raise FlashError(f"pyOCD could not flash {request.firmware} to {f.target}: {exc}") from exc
    return f"flashed {request.firmware} with pyOCD (target {f.target}) and reset the core"


def find_drive(label: str) -> Path | None:
    """A mounted USB drive with this volume label (e.g. RPI-RP2), in the usual mount places."""
    user = os.environ.get("USER", "")
    for base in (Path("/media") / user, Path("/run/media") / user, Path("/media"), Path("/mnt"), Path("/Volumes")):
        candidate = base / label
        if candidate.is_dir():
            return candidate
    return None


def flash_mass_storage(request: FlashRequest) -> str:
    """Copy the image onto the board's USB drive (UF2 bootloaders, mbed DAPLink); the board reboots itself."""
    label = request.board.flasher.target or ""
    drive = request.drive or find_drive(label)
    if drive is None or not drive.is_dir():
        raise FlashError(f"no mounted drive {label or '(label not set)'} for {request.board.name}: put the board in "
                         "its bootloader (e.g. hold BOOTSEL while plugging it in) or pass --drive MOUNTPOINT")
    destination = drive / request.firmware.name
    with request.firmware.open("rb") as src, destination.open("wb") as dst:
        shutil.copyfileobj(src, dst)
        dst.flush()
        os.fsync(dst.fileno())
    return f"copied {request.firmware} to {destination}"


SUBPROCESS_FLASHERS = {
    "esptool": esptool_argv, "openocd": openocd_argv, "west": west_argv,
    "stm32cubeprogrammer": stm32cube_argv, "arduino-cli": arduino_argv,
}


def flash_command(request: FlashRequest) -> list[str]:
    """The command line that flashing runs (or its pyOCD CLI equivalent), after checking the request."""
    board, firmware = request.board, request.firmware
    tool = board.flasher.tool
    if tool in ("none", "qemu"):
        how = ("the QEMU launcher loads it with -kernel" if tool == "qemu"
               else "see its notes in " + str(board.path))
        raise ConfigError(f"{board.name} is not flashed: {how}")
    if firmware.suffix not in board.flasher.formats:
        raise ConfigError(f"{board.name} ({tool}) takes {', '.join(board.flasher.formats)} images, not {firmware.name}")
    if tool == "pyocd":
        return pyocd_equivalent_argv(request)
    if tool == "mass-storage":
        return ["cp", str(firmware), str(request.drive or f"<drive {board.flasher.target}>")]
    return SUBPROCESS_FLASHERS[tool](request)


def flash(request: FlashRequest, timeout: float = 600.0) -> str:
    """Flash and return a one-line account of what was done."""
    if not request.firmware.is_file():
        raise ConfigError(f"firmware {request.firmware} not found")
    argv = flash_command(request)
    tool = request.board.flasher.tool
    if tool == "pyocd":
        return flash_pyocd(request)
    if tool == "mass-storage":
        return flash_mass_storage(request)
    if tool == "esptool":
        if importlib.util.find_spec("esptool") is None:
            raise ToolMissingError(f"esptool is not installed: {INSTALL['esptool']}")
    else:
        argv[0] = _need_program(argv[0])
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False)
    if proc.returncode != 0:
        tail = (proc.stdout + proc.stderr).strip().splitlines()[-6:]
        raise FlashError(f"{tool} failed (exit {proc.returncode}) flashing {request.firmware} to "
                         f"{request.board.name}:\n  " + "\n  ".join(tail))
    return f"flashed {request.firmware} with {tool}"
