"""QEMU Cortex-M boards running edgeperf's own firmware: build it, start QEMU, hand out a URL.

The UART is a loopback TCP socket (`-chardev socket,...,server=on,wait=on,nodelay=on`): the
guest does not run until the host connects, so no boot output is lost, and nodelay avoids the
~44 ms Nagle/delayed-ACK penalty per reply. With `serial="pty"` it is QEMU's own pty instead
(`-serial pty`), a plain /dev/pts path for tools that open a device path and accept no URL, such
as the MLCommons runner (QEMU drops what the guest prints while the path is not open, the boot
banner included unless it is opened at once; the runner does not wait for the banner). A fixed
`-icount shift` makes device time a function of the instruction count, so the firmware's own
timings repeat exactly run to run.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, Self

from ..errors import ConfigError, SimulatorError
from ..processes import stop_process
from ..resources import CACHE_ENV, cache_root

#: 2^3 ns of device time per instruction (125 MIPS): close to a 120 MHz Cortex-M4, fast on the host.
ICOUNT_SHIFT = 3
#: What every latency measured on a QEMU board says about itself.
EMULATED_NOTE = (f"emulated: instruction count at {2 ** ICOUNT_SHIFT} ns per instruction (QEMU -icount "
                 f"shift={ICOUNT_SHIFT}), not a board's time")
#: Overrides where `--board` firmware builds go (default: $XDG_CACHE_HOME/edgeperf/firmware).
#: What QEMU prints on stderr when `-serial pty` has made its pty.
_PTY_LINE = re.compile(r"char device redirected to (/dev/pts/\d+) \(label")


@dataclass(frozen=True)
class QemuBoard:
    """One emulated board: the QEMU machine and what a results file should say about it."""

    name: str
    machine: str
    processor: str
    core_mhz: float


QEMU_BOARDS = {
    "qemu-mps2-an386": QemuBoard("qemu-mps2-an386", "mps2-an386", "Arm Cortex-M4 (QEMU mps2-an386)", 25.0),
    "qemu-mps3-an547": QemuBoard("qemu-mps3-an547", "mps3-an547", "Arm Cortex-M55 (QEMU mps3-an547)", 32.0),
}


def get_board(name: str) -> QemuBoard:
    try:
        return QEMU_BOARDS[name]
    except KeyError:
        raise ConfigError(f"unknown QEMU board {name!r}; choose one of {', '.join(QEMU_BOARDS)}") from None


def source_root() -> Path:
    """The repository checkout holding firmware/ and boards/ (the package is installed editable)."""
    root = Path(__file__).resolve().parents[3]
    if not (root / "firmware" / "CMakeLists.txt").is_file():
        raise ConfigError(f"no firmware sources next to the edgeperf package ({root}); QEMU boards need a "
                          "repository checkout (pip install -e .)")
    return root


def _require(tool: str, package: str) -> None:
    if shutil.which(tool) is None:
        raise ConfigError(f"{tool} not found: install it (Debian: apt-get install {package})")


def cache_dir() -> Path:
    """Where firmware builds go (see `resources.cache_root`)."""
    return cache_root() / "firmware"


def default_build_dir(board: QemuBoard) -> Path:
    """One build tree per checkout and board (CMake refuses a tree configured from another source)."""
    key = hashlib.sha256(str(source_root()).encode()).hexdigest()[:12]
    return cache_dir() / key / board.name


def elf_path(board: QemuBoard, model: str, build_dir: Path | None = None) -> Path:
    """Where the build puts the board's image for `model` (built or not)."""
    return (build_dir or default_build_dir(board)) / f"{board.name}-{model}.elf"


def build_firmware(board: QemuBoard, build_dir: Path | None = None) -> Path:
    """Configure (once) and build the board's firmware with CMake; returns the build directory."""
    root = source_root()
    build_dir = build_dir or default_build_dir(board)
    try:
        build_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(f"cannot create the firmware build directory {build_dir}: {exc}; set {CACHE_ENV} to a "
                          "writable directory") from exc
    _require("cmake", "cmake")
    _require("arm-none-eabi-gcc", "gcc-arm-none-eabi libnewlib-arm-none-eabi")
    steps = []
    if not (build_dir / "CMakeCache.txt").is_file():
        steps.append(["cmake", "-S", str(root / "firmware"), "-B", str(build_dir), f"-DEE_BOARD={board.name}",
                      "-DCMAKE_BUILD_TYPE=Release",
                      f"-DCMAKE_TOOLCHAIN_FILE={root / 'firmware' / 'cmake' / 'arm-none-eabi.cmake'}"])
    steps.append(["cmake", "--build", str(build_dir), "-j", str(os.cpu_count() or 1)])
    for cmd in steps:
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if proc.returncode:
            raise SimulatorError(f"firmware build failed ({' '.join(cmd)}):\n{(proc.stdout + proc.stderr)[-3000:]}")
    return build_dir


def firmware_elf(board: QemuBoard, model: str, build_dir: Path | None = None) -> Path:
    elf = elf_path(board, model, build_firmware(board, build_dir))
    if not elf.is_file():
        raise SimulatorError(f"the build produced no {elf.name}; is {model!r} in EE_MODELS?")
    return elf


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class QemuProcess:
    """A running qemu-system-arm; a context manager, so no QEMU outlives the run (each busies a core)."""

    board: QemuBoard
    elf: Path
    icount_shift: int = ICOUNT_SHIFT
    startup_timeout: float = 20.0
    extra_args: list[str] = field(default_factory=list)
    #: "socket": a loopback TCP URL (what edgeperf opens); "pty": QEMU's own pty, a plain device path.
    serial: Literal["socket", "pty"] = "socket"
    url: str = ""
    _proc: subprocess.Popen[bytes] | None = None
    _log: tempfile._TemporaryFileWrapper[bytes] | None = None

    def command(self, port: int) -> list[str]:
        uart = (["-serial", "pty"] if self.serial == "pty" else
                ["-chardev", f"socket,id=uart0,host=127.0.0.1,port={port},server=on,wait=on,nodelay=on",
                 "-serial", "chardev:uart0"])
        return ["qemu-system-arm", "-machine", self.board.machine, "-display", "none", "-monitor", "none",
                "-icount", f"shift={self.icount_shift}", "-kernel", str(self.elf), *uart, *self.extra_args]

    def start(self) -> str:
        _require("qemu-system-arm", "qemu-system-arm")
        for _ in range(3):  # the free port can be taken between probing and binding
            port = _free_port()
            self._log = tempfile.NamedTemporaryFile(prefix="edgeperf-qemu-", suffix=".log")  # noqa: SIM115 - closed in stop()
            self._proc = subprocess.Popen(self.command(port), stdin=subprocess.DEVNULL, stdout=self._log,
                                          stderr=subprocess.STDOUT)
            url = self._wait_ready(port)
            if url:
                self.url = url
                return self.url
            self.stop()
        raise SimulatorError(f"QEMU did not start ({' '.join(self.command(0))}): {self._output()[-2000:]}")

    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def _output(self) -> str:
        return Path(self._log.name).read_text(errors="replace") if self._log else ""

    def _wait_ready(self, port: int) -> str | None:
        """The UART's URL once QEMU says on stderr that it is there: the socket held for its first client
        (wait=on), or the pty it made."""
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            output = self._output()
            pty = _PTY_LINE.search(output)
            if self.serial == "pty" and pty:
                return pty.group(1)
            if self.serial == "socket" and "waiting for connection" in output:
                return f"socket://127.0.0.1:{port}"
            if not self.running():
                return None
            time.sleep(0.01)
        return None

    def stop(self) -> None:
        proc, self._proc = self._proc, None
        if proc is not None:
            stop_process(proc)
        if self._log is not None:
            self._log.close()
            self._log = None

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
