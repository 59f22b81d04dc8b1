"""Emulated IO managers: the relay between host and an energy-mode DUT, in two dialects.

* `arduino`: the EEMBC "io-manager 1.0.3" on an Arduino UNO (name, version, tm, enable-timer, dut ...);
* `interface-board`: the MLCommons STM32H573I-DK interface board (name, dut, setbaud, checkbaud, ...),
  including its prefix-matching table and its reset after `setbaud`.

Both acknowledge `dut <cmd>` with `m-dut-passthrough(<cmd>)` and `m-ready`, forward `<cmd>%` to
the DUT and relay every DUT line as `[dut]: <line>`. Commands that arrive while a passthrough
waits for the DUT's `m-ready` are held, as the real relays block.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from .faults import BenchFaultPlan

DIALECTS = ("arduino", "interface-board")
#: Longest command line the emulated Arduino takes (its sketch reads into a small buffer).
ARDUINO_MAX_COMMAND = 64
ARDUINO_NAME = "m-name-io-[IoTConnect IO Manager 1.0.3]"
BOARD_NAME = "tinyML Enhanced Interface Board"
#: What a relay prints on its own between relayed lines (debug output, a re-sent prompt), for `relay-stray`.
STRAY_LINES = ("m-[Timer disabled after mode change]", "-?#args?", "m-timer-enabled", "IoTConnect IO Manager 1.0.3")
BOARD_TABLE = ("name", "dut", "ls", "play", "setbaud", "checkbaud", "record_detections", "print_detections",
               "print_dutycycle")


class IoManagerEmulator:
    """Host side: `%`-terminated commands; DUT side: a UART at `dut_baud`."""

    def __init__(self, dialect: str, host_write: Callable[[bytes], None], to_dut: Callable[[bytes], None],
                 dut_baud: int = 9600, plan: BenchFaultPlan | None = None) -> None:
        if dialect not in DIALECTS:
            raise ValueError(f"dialect must be one of {DIALECTS}")
        self.dialect = dialect
        self._host_write = host_write
        self._to_dut = to_dut
        self.dut_baud = dut_baud
        self.plan = plan or BenchFaultPlan([], 0)
        #: Baud the DUT's UART really runs at; a mismatch garbles the relay, as on the bench.
        self.dut_uart_baud = 9600
        self._command = bytearray()
        self._held: list[str] = []
        self._waiting = False
        self._from_dut = bytearray()
        self._lock = threading.RLock()
        self.timer_mode = "CHANGE"

    def send(self, text: str) -> None:
        with self._lock:
            self._host_write(text.encode("ascii", errors="replace"))

    # -- host side
    def feed(self, data: bytes) -> None:
        for byte in data:
            if byte == ord("%"):
                command = self._command.decode("latin-1")
                self._command.clear()
                with self._lock:
                    if self._waiting:
                        self._held.append(command)
                    else:
                        self._handle(command)
            elif byte not in (0x0A, 0x0D) and len(self._command) < 512:
                self._command.append(byte)

    def _handle(self, command: str) -> None:
        if self.dialect == "arduino":
            self._arduino(command)
        else:
            self._board(command)

    def _passthrough(self, rest: str) -> None:
        self.send(f"m-dut-passthrough({rest})\r\nm-ready\r\n")
        self._waiting = True
        payload = (rest + "%").encode("latin-1")
        if self.dut_baud != self.dut_uart_baud:
            payload = bytes(b ^ 0x55 for b in payload)  # wrong baud: the DUT reads garbage
        self._to_dut(payload)

    def _arduino(self, command: str) -> None:
        words = command.split(" ")
        verb = words[0]
        if len(command) > ARDUINO_MAX_COMMAND:
            self.send(f"e-[Command too long: {len(command)} > {ARDUINO_MAX_COMMAND}]\r\nm-ready\r\n")
        elif verb == "dut":
            self._passthrough(command[4:])
        elif verb == "name":
            self.send(f"{ARDUINO_NAME}\r\nm-ready\r\n")
        elif verb == "version":
            self.send("m-version-1.0.3\r\nm-ready\r\n")
        elif verb == "tm" and len(words) == 2 and words[1] in ("0", "1"):
            self.timer_mode = "FALLING" if words[1] == "0" else "CHANGE"
            self.send(f"m-timestmp-mode-{self.timer_mode}\r\nm-[Timer disabled after mode change]\r\nm-ready\r\n")
        elif verb in ("enable-timer", "disable-timer"):
            self.send(f"m-timer-{verb.split('-')[0]}d\r\nm-ready\r\n")
        elif verb == "help":
            self.send("IoTConnect IO Manager 1.0.3\r\nname dut version tm enable-timer disable-timer res\r\nm-ready\r\n")
        else:
            self.send("-?#args?\r\nm-ready\r\n")

    def _board(self, command: str) -> None:
        entry = next((e for e in BOARD_TABLE if command.startswith(e)), None)
        rest = command[len(entry):] if entry else ""
        if entry is None:
            self.send("m-ready\r\n")
        elif rest and not rest.startswith(" "):
            return  # the real board's prefix match returns without any reply
        elif entry == "name":
            self.send(f"{BOARD_NAME}\r\nm-ready\r\n")
        elif entry == "dut":
            self._passthrough(rest[1:])
        elif entry == "checkbaud":
            self.send(f"baud is: {self.dut_baud}\nm-ready\r\n")
        elif entry == "setbaud":
            try:
                baud = int(rest.strip())
            except ValueError:
                baud = 0
            self.send(f"set baud to: {baud}\nm-ready\r\n")
            # Written to flash, then NVIC_SystemReset(); an invalid value falls back to the default.
            self.dut_baud = baud if 0 < baud <= 2_000_000 else 9600
        elif entry == "ls":
            self.send("m-ready\r\n")
        elif entry == "print_detections":
            self.send("Detection Timestamps (ms)\r\nm-ready\r\n")
        elif entry == "record_detections":
            self.send("Now recording detections\r\nm-ready\r\n")
        else:
            self.send("m-ready\r\n")

    # -- DUT side
    def from_dut(self, data: bytes) -> None:
        """DUT output: relayed line by line with the `[dut]: ` prefix; its m-ready ends a passthrough."""
        if self.dut_baud != self.dut_uart_baud:
            data = bytes(b ^ 0x55 for b in data)
        self._from_dut += data
        while (newline := self._from_dut.find(b"\r\n")) >= 0:
            line = bytes(self._from_dut[:newline]).decode("latin-1")
            del self._from_dut[: newline + 2]
            with self._lock:
                if self.plan.chance("relay-stray"):
                    self.send(STRAY_LINES[self.plan.rng.randrange(len(STRAY_LINES))] + "\r\n")
                self._host_write(self.plan.mangle(f"[dut]: {line}\r\n".encode("latin-1"), "relay"))
                if line == "m-ready" and self._waiting:
                    self._waiting = False
                    while self._held and not self._waiting:
                        self._handle(self._held.pop(0))

    def dut_reset(self) -> None:
        """The DUT lost power: a passthrough still waiting will never see its m-ready."""
        with self._lock:
            self._from_dut.clear()
            self._waiting = False
            held, self._held = self._held, []
            for command in held:
                self._handle(command)
