"""Reach an energy-mode DUT through an IO manager: the EEMBC Arduino or the MLCommons interface board.

`PassthroughLink` is a `Link`, so the DUT session and its protocol client run unchanged:
each `<cmd>%` written becomes `dut <cmd>%`, the relay's own acknowledgement
(`m-dut-passthrough(<cmd>)`, `m-ready`) is checked and removed, and the `[dut]: ` lines
come back as the DUT's own bytes. Lines the relay prints for itself are logged, not lost.
"""

from __future__ import annotations

import time

from ..errors import ConfigError, LinkTimeout, ProtocolError
from ..links import Link
from .lines import LineReader, decode_line
from .transcript import DeviceLog

DUT_PREFIX = "[dut]: "
#: Host-to-relay rates: the Arduino sketch and the H573 board's ST-LINK VCP both run at 115200.
HOST_BAUD = 115200
#: The Arduino reads commands into a small buffer: keep `dut <cmd>` short enough (MLCommons sends 26-byte db chunks).
ARDUINO_MAX_COMMAND = 64
UPLOAD_CHUNK_BYTES = 26
ENERGY_DUT_BAUD = 9600


class IoManager:
    """The relay board itself: which dialect it speaks, and its DUT-side baud rate."""

    def __init__(self, link: Link, log: DeviceLog | None = None) -> None:
        self.link = link
        self.reader = LineReader(link, log)
        self.dialect = ""
        self.name = ""

    def command(self, command: str, timeout: float = 3.0) -> list[str]:
        """A command for the relay itself; returns its lines up to its `m-ready`."""
        self.reader.discard_pending()
        self.reader.log.sent(command + "%")
        self.link.write((command + "%").encode("ascii"))
        lines = []
        while (line := self.reader.readline(timeout)) != "m-ready":
            if not line.startswith(DUT_PREFIX):  # a late DUT line (its boot banner) is not the relay's answer
                lines.append(line)
        return lines

    def identify(self) -> str:
        self.reader.drain(quiet=0.2)
        try:
            lines = self.command("name")
        except LinkTimeout as exc:
            raise ConfigError(f"no IO manager answered 'name' on {self.link.url}: check the port and that the "
                              "relay runs the EEMBC io-manager sketch or the MLCommons interface firmware") from exc
        for line in lines:
            if line.startswith("m-name-io"):
                self.dialect, self.name = "arduino", line
            elif "Interface Board" in line:
                self.dialect, self.name = "interface-board", line
        if not self.dialect:
            raise ProtocolError(f"the device on {self.link.url} is not an IO manager (name: {lines!r})")
        return self.dialect

    def ensure_dut_baud(self, baud: int = ENERGY_DUT_BAUD) -> None:
        """The interface board keeps its DUT baud in flash; set it (the board then resets) when it differs."""
        if self.dialect != "interface-board":
            return
        current = next((int(line.split(":")[1]) for line in self.command("checkbaud") if line.startswith("baud is:")),
                       None)
        if current == baud:
            return
        self.command(f"setbaud {baud}")
        time.sleep(1.0)  # the board resets after writing its flash
        self.reader.drain(quiet=0.3)
        if not any(line == f"baud is: {baud}" for line in self.command("checkbaud")):
            raise ProtocolError(f"the interface board did not take DUT baud {baud}")

    def passthrough(self) -> PassthroughLink:
        return PassthroughLink(self)


class PassthroughLink(Link):
    """The DUT behind the relay, as a byte link."""

    def __init__(self, manager: IoManager) -> None:
        self.manager = manager
        self.inner = manager.link
        self.url = f"{self.inner.url} (via {manager.dialect or 'IO manager'})"
        self.max_command = ARDUINO_MAX_COMMAND if manager.dialect == "arduino" else 512
        self.relay_lines: list[str] = []
        self._command = bytearray()
        self._raw = bytearray(manager.reader.discard_pending())  # bytes the relay's reader already took
        self._out = bytearray()
        self._awaiting: list[str] = []

    def write(self, data: bytes) -> None:
        for byte in data:
            if byte != ord("%"):
                self._command.append(byte)
                continue
            command = self._command.decode("latin-1")
            self._command.clear()
            line = f"dut {command}%"
            if len(line) - 1 > self.max_command:
                raise ConfigError(f"'{line[:-1]}' is longer than the {self.manager.dialect} IO manager takes "
                                  f"({self.max_command} characters)")
            self._awaiting.append(command)
            self.inner.write(line.encode("latin-1"))

    def read(self, max_bytes: int, timeout: float) -> bytes:
        deadline = time.monotonic() + max(timeout, 0.0)
        while not self._out:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return b""
            self._raw += self.inner.read(4096, remaining)
            self._split()
        data = bytes(self._out[:max_bytes])
        del self._out[:max_bytes]
        return data

    def _split(self) -> None:
        while (newline := self._raw.find(b"\n")) >= 0:
            raw = bytes(self._raw[:newline]).replace(b"\r", b"").replace(b"\0", b"")
            del self._raw[: newline + 1]
            line = decode_line(raw)
            if raw.startswith(DUT_PREFIX.encode()):
                self._out += raw[len(DUT_PREFIX):] + b"\r\n"  # the DUT's own bytes, whatever they are
            elif line.startswith("m-dut-passthrough("):
                self._echo(line[len("m-dut-passthrough("):].removesuffix(")"))
            elif line and line != "m-ready":
                self.relay_lines.append(line)
                self.manager.reader.log.note(f"IO manager: {line}")

    def _echo(self, echoed: str) -> None:
        """Match the relay's echo with what was sent; an echo of a command abandoned in a resync is only noted."""
        if echoed in self._awaiting:
            del self._awaiting[: self._awaiting.index(echoed) + 1]
        elif self._awaiting:
            expected = self._awaiting[0]
            self._awaiting.clear()  # the next command starts from a clean slate
            raise ProtocolError(f"the IO manager relayed {echoed!r} but the host sent {expected!r}")
        else:
            self.manager.reader.log.note(f"IO manager relayed {echoed!r}, a command given up before a resync")

    def resync(self) -> None:
        """Forget every partial line and expected echo: after a DUT reboot nothing in flight will complete."""
        self._command.clear()
        self._raw.clear()
        self._out.clear()
        self._awaiting.clear()

    def close(self) -> None:
        self.inner.close()
