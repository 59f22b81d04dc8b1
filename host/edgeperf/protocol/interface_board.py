"""The streaming commands of the MLCommons interface board, and the sww firmware behind its `dut` passthrough.

The sww firmware has its own parser (it echoes `Received command: <cmd>`); it is reached only
through `dut <cmd>`, whose `[dut]: ` lines this client collects up to the DUT's `m-ready`. The
board's own commands (`ls`, `play`, `record_detections`, `print_detections`, `print_dutycycle`)
answer with plain lines up to the board's `m-ready`.
"""

from __future__ import annotations

import re
import time

from ..errors import DatasetError, DeviceError, LinkTimeout, ProtocolError
from .iomanager import DUT_PREFIX, IoManager

_INTEGER = re.compile(r"-?\d+")
PLAY_FAILED = "Error playing file"


class InterfaceBoard:
    """The host side of an sww run: plays wav files, timestamps pins, relays the DUT."""

    def __init__(self, manager: IoManager) -> None:
        self.manager = manager
        self.reader = manager.reader

    def _send(self, command: str) -> None:
        self.reader.discard_pending()
        self.reader.log.sent(command + "%")
        self.manager.link.write((command + "%").encode("ascii"))

    def command(self, command: str, timeout: float = 5.0) -> list[str]:
        """A board command; its lines up to the board's m-ready (`timeout` for each line)."""
        self._send(command)
        lines = []
        while (line := self.reader.readline(timeout)) != "m-ready":
            if not line.startswith(DUT_PREFIX):
                lines.append(line)
        return lines

    def dut(self, command: str, timeout: float = 5.0) -> list[str]:
        """`dut <command>`: the DUT's lines (prefix removed) up to its m-ready; its `Received command:` echo is checked."""
        self._send(f"dut {command}")
        relayed, lines = False, []
        deadline = time.monotonic() + timeout
        while True:
            line = self.reader.readline(max(0.1, deadline - time.monotonic()))
            if line.startswith("m-dut-passthrough("):
                relayed = True
            elif line.startswith(DUT_PREFIX):
                text = line[len(DUT_PREFIX):]
                if text == "m-ready":
                    break
                lines.append(text)
        if not relayed:
            raise ProtocolError(f"the interface board did not acknowledge `dut {command}`")
        if f"Received command: {command}" not in lines:
            raise ProtocolError(f"the DUT did not echo `{command}` (got {lines[:3]!r}): is it running the sww firmware?")
        return [line for line in lines if not line.startswith("Received command:")]

    def files(self) -> list[str]:
        """`ls`: the wav files on the SD card."""
        names = []
        for line in self.command("ls"):
            names += [token for token in re.split(r"[\s,]+", line) if token.lower().endswith(".wav")]
        return names

    def check_files(self, wanted: list[str]) -> None:
        """Every wav the truth names must be on the card before anything plays."""
        present = set(self.files())
        missing = [name for name in wanted if name not in present]
        if missing:
            raise DatasetError(f"the interface board's SD card lacks {', '.join(missing)} (it holds "
                               f"{', '.join(sorted(present)) or 'no wav file'}): copy the stream files onto the card")

    def play(self, wav: str, timeout: float) -> None:
        """`play <wav>`: blocks for the file's length; a stall or a refused file is a DeviceError."""
        try:
            lines = self.command(f"play {wav}", timeout)
        except LinkTimeout:
            raise DeviceError(f"the interface board did not finish playing {wav} within {timeout:.1f} s: it stalled "
                              "(check its SD card and reset it)") from None
        if any(PLAY_FAILED in line for line in lines):
            raise DeviceError(f"the interface board could not play {wav}: it must be a 2-channel 16 kHz wav on its card")
        if not any("succeeded" in line for line in lines):
            raise ProtocolError(f"`play {wav}` ended without `succeeded.` ({lines!r})")

    def record_detections(self) -> None:
        """Zero TIM2 and clear the detection and duty-cycle buffers."""
        if not any("recording detections" in line for line in self.command("record_detections")):
            raise ProtocolError("the interface board did not confirm `record_detections`")

    def detections_ms(self) -> list[int]:
        """`print_detections`: WW_DETECTED falling-edge times in ms of TIM2."""
        lines = self.command("print_detections")
        return [int(m.group()) for line in lines if not line.startswith("Detection") for m in _INTEGER.finditer(line)]

    def duty_cycle_ticks(self, timeout: float = 10.0) -> tuple[list[int], list[int]]:
        """`print_dutycycle`: PROCESSING rising and falling edges in 10 us TIM2 ticks (the labels say "(s)")."""
        starts: list[int] = []
        stops: list[int] = []
        target = None
        for line in self.command("print_dutycycle", timeout):
            if line.startswith("Duty cycle start"):
                target = starts
            elif line.startswith("Duty cycle stop"):
                target = stops
            elif target is not None:
                target += [int(m.group()) for m in _INTEGER.finditer(line)]
        if target is None:
            raise ProtocolError("`print_dutycycle` printed no `Duty cycle start times` section")
        return starts, stops


def activations(lines: list[str]) -> list[int] | None:
    """The DUT's per-frame output 0 from its `stop` reply, or None when it printed no `target activations:`.

    The sww firmware prints the header on its own line, then `[`, the values 16 to a line (each
    followed by `, `, the last by two spaces) and `]` on a line of its own. Values on the header's
    line are read too; the list ends at the first `]` or, if that never comes, at the reply's end
    (`m-ready`, which `InterfaceBoard.dut` already took off).
    """
    header = next((i for i, line in enumerate(lines) if line.lstrip().startswith("target activations:")), None)
    if header is None:
        return None
    values: list[int] = []
    for index, line in enumerate(lines[header:]):
        text = line.partition("target activations:")[2] if index == 0 else line
        if text.strip() == "m-ready":
            break
        body, closed, _ = text.partition("]")
        values += [int(m.group()) for m in _INTEGER.finditer(body)]
        if closed:
            break
    return values
